"""ReLU and leaky ReLU derivatives, as functions and as (dA, cache) backward passes."""

import numpy as np


def relu(x):
    return np.maximum(0, x)


def relu_prime(x):  # runtime: passed
    return (x > 0).astype(float)


def relu_derivative(x):  # runtime: confirmed: returns the forward's value
    return np.maximum(0, x)


def relu_backward(dA, Z):  # runtime: passed
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    return dZ


def relu_grad(dA, Z):  # runtime: confirmed: modifies its argument `dA` in place
    dZ = dA
    dZ[Z <= 0] = 0
    return dZ


def relu_back(dA, cache):  # runtime: confirmed: upstream gradient `dA` is not used
    Z = cache
    return (Z > 0).astype(float)


def leaky_relu(x, alpha=0.1):
    return np.where(x > 0, x, alpha * x)


def leaky_relu_prime(x, alpha=0.1):  # runtime: passed
    return np.where(x > 0, 1.0, alpha)


def leaky_relu_derivative(x):  # runtime: confirmed
    # a different slope than the forward's
    return np.where(x > 0, 1.0, 0.01)
