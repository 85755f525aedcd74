"""A pass-through softmax derivative beside a loss gradient that applies the softmax itself
(`delta(z, y)`: the fused p - y): the pass-through is that design, not a mismatch
(sirius911/multilayer-perceptron: `softmax_prime(dA, Z) = dA` with a fused `dscores = p - y`)."""

import numpy as np


def softmax(inputs):
    e = np.exp(inputs - np.max(inputs, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_prime(dA, Z):  # runtime: unknown: the fused gradient p - y that `delta`
    return dA


def delta(logits, y):  # runtime: passed
    return softmax(logits) - y
