"""Correct derivatives called with the wrong kind of value (GL201): the
runtime runs the derivative on what the call passes, and the finding carries
the numbers. The functions themselves pass."""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_prime(s):  # runtime: passed
    return s * (1 - s)


def tanh_derivative(z):  # runtime: passed
    return 1 - np.tanh(z) ** 2


def hidden_delta(W, x, b, upstream):
    z = W @ x + b
    return upstream * sigmoid_prime(z)  # runtime: confirmed: activation and pre-activation swapped


def output_delta(W, x, b, upstream):
    a = sigmoid(W @ x + b)
    return upstream * sigmoid_prime(a)
