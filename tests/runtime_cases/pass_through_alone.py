"""A pass-through softmax with no fused loss in the module: judged against the softmax Jacobian
as before, the diagnosis saying what would make it right (sirius911/multilayer-perceptron
srcs/activations.py:39 `softmax_prime(dA, Z) = dA`; aew61/mlpy softmax.py:20 `ones`)."""

import numpy as np


def softmax(inputs):
    e = np.exp(inputs - np.max(inputs, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_prime(dA, Z):  # runtime: confirmed: passes the upstream gradient through unchanged
    return dA


def stable_softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def stable_softmax_prime(x):  # runtime: confirmed: it returns ones
    return np.ones(x.shape)
