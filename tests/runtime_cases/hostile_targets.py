"""Derivatives that hang, raise, exit, write files or allocate without bound:
each is `unknown` with the reason, and the others are still checked."""

import os
import time

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_prime(s):  # runtime: unknown: did not finish
    while True:
        s = s * 1.0


def tanh(x):
    return np.tanh(x)


def tanh_prime(a):  # runtime: unknown: raised RuntimeError: not implemented yet
    raise RuntimeError("not implemented yet")


def softplus(x):
    return np.logaddexp(0.0, x)


def softplus_prime(x):  # runtime: unknown
    blocks = []
    while True:
        blocks.append(np.ones(10**7))


def relu(x):
    return np.maximum(0, x)


def relu_prime(x):  # runtime: passed
    with open("gradlint_runtime_touched.txt", "w") as handle:
        handle.write("written by a target\n")
    print("x" * 10000)
    return (x > 0).astype(float)


def softmax(z):
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def softmax_prime(s):  # runtime: passed
    return np.diag(s) - np.outer(s, s)


def leaky_relu(x):
    return np.where(x > 0, x, 0.2 * x)


def leaky_relu_prime(x):  # runtime: unknown: SystemExit
    os._exit(0) if False else None
    raise SystemExit(1)


def log_softmax(z):
    shifted = z - np.max(z)
    return shifted - np.log(np.sum(np.exp(shifted)))


def log_softmax_prime(z):  # runtime: unknown: did not finish
    time.sleep(60)
