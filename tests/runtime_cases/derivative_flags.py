"""Derivative switches: `def sigmoid(x, derivative=False)` returns the forward unless the flag
is set (kalupad/LSTM-numpy, the DTU 02456 LSTM notebook; the "11-line network"'s
`nonlin(x, deriv=False)`). The runtime calls them with the flag set, never judges the
forward branch as a derivative, and leaves a switch it cannot read unknown."""

import numpy as np


def sigmoid(x, derivative=False):  # runtime: passed
    f = 1 / (1 + np.exp(-x))
    if derivative:
        return f * (1 - f)
    return f


def nonlin(x, deriv=False):  # runtime: passed
    if deriv == True:
        return x * (1 - x)
    return 1 / (1 + np.exp(-x))


def tanh(x, d=0):  # runtime: passed
    return 1 - np.tanh(x) ** 2 if d else np.tanh(x)


def sigmoid_positional(x, prime=False, /):  # runtime: passed
    s = 1 / (1 + np.exp(-x))
    if not prime:
        return s
    return s * (1 - s)


def sigmoid_doubled(x, derivative=False):  # runtime: confirmed: constant factor of 2
    s = 1 / (1 + np.exp(-x))
    if derivative:
        return 2 * s * (1 - s)
    return s


def sigmoid_unclear(x, derivative=False):  # runtime: unknown: switches what it returns
    s = 1 / (1 + np.exp(-x))
    if derivative and s.ndim > 0:
        return s * (1 - s)
    return s


class Activations:
    def sigmoid(self, s, deriv=False):  # runtime: passed
        if deriv:
            return s * (1 - s)
        return 1 / (1 + np.exp(-s))

    @staticmethod
    def tanh(x, grad=False):  # runtime: passed
        t = np.tanh(x)
        if grad:
            return 1 - t ** 2
        return t


def gate_backward(W_o, z, dh):
    o = sigmoid(np.dot(W_o, z))
    return sigmoid(o, derivative=True) * dh  # runtime: confirmed: applied twice
