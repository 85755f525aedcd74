"""Forwards holding a static finding are run too: against the reference forward,
at extreme logits, and for argument mutation or a lost reduction axis."""

import numpy as np


def softmax_unshifted(z):  # runtime: confirmed: nan/inf for large logits
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_rows(z):  # runtime: confirmed: another row's sum
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1)


def sigmoid(x):  # runtime: confirmed: shifted by its max
    x = x - np.max(x)
    return 1.0 / (1.0 + np.exp(-x))


def stable_softmax(logits):  # runtime: confirmed: modifies its argument `logits`
    logits -= np.max(logits, axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / np.sum(e, axis=-1, keepdims=True)


def centre_rows(x):  # runtime: confirmed: a reduction lost its axis
    mean = x.mean(axis=1)
    return x - mean
