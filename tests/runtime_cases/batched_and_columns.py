"""Batched (N, n) -> (N, n, n), column (n, 1) and log-softmax Jacobians."""

import numpy as np


def softmax(x):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def softmax_backward(a):  # runtime: passed
    # a: (batch, classes) softmax outputs -> (batch, classes, classes)
    eye = np.eye(a.shape[1])
    return np.einsum("bi,ij->bij", a, eye) - np.einsum("bi,bj->bij", a, a)


def softmax_prime(d):  # runtime: passed
    def jacobian_of(f):
        f = f.reshape(-1, 1)
        return np.diagflat(f) - f @ f.T

    return np.apply_along_axis(jacobian_of, 1, d)


def softmax_derivative(d):  # runtime: confirmed: the diagonal holds -s_i*s_i
    def jacobian_of(f):
        jacobian = np.diag(f)
        for i in range(len(jacobian)):
            for j in range(len(jacobian)):
                if i == j:
                    jacobian[i][j] = f[i] * (1 - f[i])
                    jacobian[i][j] = -f[i] * f[j]
        return jacobian

    return np.apply_along_axis(jacobian_of, 1, d)


def softmax_grad(a):  # runtime: confirmed: diagonal only
    return np.einsum("bi,ij->bij", a * (1 - a), np.eye(a.shape[1]))


def column_softmax(z):
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def column_softmax_prime(s):  # runtime: passed
    # s: one sample as a column (n, 1)
    return np.diagflat(s) - np.dot(s, s.T)


def column_softmax_derivative(s):  # runtime: confirmed: outer product s s^T is added
    return np.diagflat(s) + np.dot(s, s.T)


def log_softmax(z):
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def log_softmax_prime(z):  # runtime: passed
    s = np.exp(log_softmax(z))
    return np.eye(s.shape[-1]) - s[None, :]


def log_softmax_derivative(z):  # runtime: passed
    # one sample (n,), in the denominator layout: entry (i, j) = d log s_j / d z_i = delta_ij - s_i
    # (a convention, not a bug: its caller computes J @ g)
    s = np.exp(log_softmax(z))
    return np.eye(len(s)) - np.outer(s, np.ones(len(s)))


def log_softmax_backward(z, grad):  # runtime: passed
    s = np.exp(log_softmax(z))
    return grad - s * np.sum(grad, axis=-1, keepdims=True)


def log_softmax_grad(z, grad):  # runtime: confirmed: transposed
    # J @ g instead of J.T @ g: subtracts s.g from every entry
    s = np.exp(log_softmax(z))
    return grad - np.sum(s * grad, axis=-1, keepdims=True)
