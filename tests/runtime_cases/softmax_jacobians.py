"""Softmax Jacobians as free functions: activation and logit conventions,
vector, column and batched layouts. Expectations: `# runtime: STATUS[: diagnosis]`."""

import numpy as np


def softmax(z):
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_prime(s):  # runtime: passed
    return np.diag(s) - np.outer(s, s)


def softmax_derivative(s):  # runtime: confirmed: diagonal only
    return s * (1 - s)


def softmax_deriv(f):  # runtime: confirmed: the diagonal holds -s_i*s_i
    jacobian = np.diag(f)
    for i in range(len(jacobian)):
        for j in range(len(jacobian)):
            if i == j:
                jacobian[i][j] = f[i] * (1 - f[i])
                jacobian[i][j] = -f[i] * f[j]
    return jacobian


def softmax_der(s):  # runtime: confirmed: outer product s s^T is added
    return np.diag(s) + np.outer(s, s)


def softmax_jacobian(z):  # runtime: passed
    s = softmax(z).reshape(-1, 1)
    return np.diagflat(s) - np.dot(s, s.T)


def softmax_jac(s):  # runtime: confirmed: indexed the same way
    n = len(s)
    m = np.repeat(s, n).reshape(n, n)
    return m * (np.identity(n) - m)


def softmax_grad(s):  # runtime: confirmed: the scalar s.s
    return np.diag(s) - np.dot(s, s.T)


def softmax_gradient(z):  # runtime: confirmed: returns the forward's value
    s = softmax(z)
    return s


def softmax_dx(z):  # runtime: passed
    s = softmax(z)
    return np.einsum("...i,ij->...ij", s, np.eye(s.shape[-1])) - np.einsum("...i,...j->...ij", s, s)


def softmax_diff(z):  # runtime: confirmed: the diagonal is right but the off-diagonal entries are wrong
    s = softmax(z)
    n = s.shape[0]
    jacobian = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            jacobian[i, j] = s[i] * ((i == j) - s[j]) * (1.0 + (i < j))
    return jacobian


def dsoftmax(z):  # runtime: passed
    # Named `z` but correct for activations: the body decides, not the name.
    return np.diag(z) - np.outer(z, z)
