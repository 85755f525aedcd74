"""Sigmoid, tanh and softplus derivatives: both conventions, the usual slips."""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_prime(s):  # runtime: passed
    return s * (1 - s)


def sigmoid_derivative(z):  # runtime: passed
    return sigmoid(z) * (1 - sigmoid(z))


def sigmoid_grad(z):  # runtime: confirmed: sign flipped
    s = sigmoid(z)
    return s * (s - 1)


def sigmoid_deriv(s):  # runtime: confirmed
    # the tanh formula inside a sigmoid derivative
    return 1 - s**2


def sigmoid_der(z):  # runtime: confirmed
    s = sigmoid(z)
    return s * (1 - z)


def sigmoid_diff(z):  # runtime: confirmed
    # shifted by its max: valid for softmax only, it changes a sigmoid's values
    s = 1.0 / (1.0 + np.exp(-(z - np.max(z))))
    return s * (1 - s)


def sigmoid_backward(dA, Z):  # runtime: passed
    s = 1 / (1 + np.exp(-Z))
    return dA * s * (1 - s)


def tanh(x):
    return np.tanh(x)


def tanh_prime(a):  # runtime: passed
    return 1 - a**2


def tanh_derivative(x):  # runtime: confirmed: off by a constant factor of 2
    return 2 * (1 - np.tanh(x) ** 2)


def tanh_grad(a):  # runtime: confirmed
    return a * (1 - a)


def tanh_deriv(x):  # runtime: passed
    # the exponential formula: unstable for |x| > ~710, but right at ordinary values
    t = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
    return 1 - t**2


def tanh_backward(dA, cache):  # runtime: confirmed: not linear in the upstream gradient
    Z = cache
    return 1 - np.tanh(dA) ** 2


def softplus(x):
    return np.logaddexp(0.0, x)


def softplus_prime(x):  # runtime: passed
    return 1.0 / (1.0 + np.exp(-x))


def softplus_derivative(x):  # runtime: confirmed
    return 1.0 / (1.0 + np.exp(x))


def sigmoid_d(s):  # runtime: inconclusive
    # off by 2e-5 relative: between the pass (1e-6) and mismatch (1e-3) tolerances
    return s * (1 - s) * (1 + 2e-5)
