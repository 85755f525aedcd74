"""A column-layout softmax (normalised over axis 0) whose backward keeps only the Jacobian's
diagonal (review 4: a Coursera-style dnn_utils.py). On a (1, n) input every output is 1 and
both derivatives are 0, which shows nothing: that trial must not count as a pass."""

import numpy as np


def softmax(Z):
    cache = Z
    Z = Z - np.max(Z, axis=0, keepdims=True)
    sm = np.exp(Z) / np.sum(np.exp(Z), axis=0, keepdims=True)
    return sm, cache


def softmax_backward(dA, cache):  # runtime: confirmed: diagonal only
    z = cache
    z = z - np.max(z, axis=0, keepdims=True)
    s = np.exp(z) / np.sum(np.exp(z), axis=0, keepdims=True)
    return dA * s * (1 - s)
