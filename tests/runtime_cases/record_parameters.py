"""deeplearning.ai style backward functions (nnlib): `cache` is the tuple (Z, A) the
forward pass built. Fed an array, `cache[1]` would be one number and the result
nonsense: a parameter read only as a record gives `unknown`, never a mismatch."""

import numpy as np


def sigmoid_backward(dA, cache):  # runtime: unknown: read only as a record (cache[1])
    """cache -- (Z, A), the pre/post-activation matrix"""
    A = cache[1]
    dZ = dA * A * (1 - A)
    return dZ


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_prime(s):  # runtime: passed
    return s * (1 - s)


def sigmoid_derivative(s):  # runtime: confirmed
    """Reads `s[0]` but uses `s` as an array too: an array, checked as before."""
    scale = 1 if s[0] is not None else 0
    return scale * s * (1 + s)
