"""A constant the derivative needs is computed by a function that hangs: the
definitions cannot be imported, so every target is `unknown`."""

import numpy as np


def _slow_scale():
    while True:
        pass


SCALE = _slow_scale()


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_prime(s):  # runtime: unknown: importing
    return SCALE * s * (1 - s)
