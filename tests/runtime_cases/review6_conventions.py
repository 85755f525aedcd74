"""Review 6 (rw6c): conventions the runtime must read before it judges.

A derivative switch named `derv` and tested negated (`if not derv: return x`; Kudo-kun/ML-Assignments
NN/NonLinearizers.py, fp/02); a loss class whose parameters put the targets first under longer names
(`forward(true_values, predicted_values)`; Sarvesh810/NeuralNetworksDIY mse.py, fp/03); a softmax
backward that returns its argument, beside a loss whose backward is the fused p - y (JakobHavtorn/nn
activation.py, fp/04): whatever the runtime feeds it, it hands it back."""

import numpy as np


def sigmoid(s, derv=False):  # runtime: passed
    x = 1 / (1 + np.exp(-s))
    if not derv:
        return x
    else:
        return x * (1 - x)


def tanh(s, derv=False):  # runtime: confirmed
    x = np.tanh(s)
    if not derv:
        return x
    return x * (1 - x)


class MSE:
    def forward(self, true_values, predicted_values):
        return np.mean(np.power(predicted_values - true_values, 2))

    def backward(self, true_values, predicted_values):  # runtime: passed
        return 2 * (predicted_values - true_values) / np.size(predicted_values)


class MSEWrongSign:
    def forward(self, true_values, predicted_values):
        return np.mean(np.power(predicted_values - true_values, 2))

    def backward(self, true_values, predicted_values):  # runtime: confirmed: sign
        return 2 * (true_values - predicted_values) / np.size(predicted_values)


class Softmax:
    def forward(self, x):
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        self.a = e / e.sum(axis=-1, keepdims=True)
        return self.a

    def backward(self, din, cache=None):  # runtime: unknown: which loss feeds it
        return din


class CrossEntropyLoss:
    def forward(self, y, t, eps=1e-8):
        return -np.mean(np.sum(t * np.log(y + eps), axis=-1))

    def backward(self, y, t):  # runtime: passed
        return (1.0 / y.shape[0]) * (y - t)


# Review 6 (rw6a fp/01, fp/02): `forward`/`backward` that name directions, not a function and its derivative.
class LinearTranslation:
    """pyrieef's DifferentiableMap shape: backward is the inverse map, jacobian the derivative."""

    def __init__(self, p0=np.array([0.5, -1.0, 2.0, 0.25, 1.5])):
        self._p = p0

    def forward(self, q):
        return self._p + q

    def backward(self, p):  # runtime: unknown: an inverse map
        return p - self._p

    def jacobian(self, q):
        return np.eye(q.shape[0])


LAM = -2.0


def euler_forward(y, h=0.05):
    return y + h * LAM * y


def euler_backward(y, h=0.05):  # runtime: unknown: two directions of one computation
    return y / (1.0 - h * LAM)


# The adversarial review (rev13b): conventions read more narrowly.
def mse(expected_output, network_output):
    return np.mean((network_output - expected_output) ** 2)


def mse_prime(expected_output, network_output):  # runtime: passed
    return 2 * (network_output - expected_output) / np.size(network_output)


class Rescale:
    """A backward named by its gradient parameter is a VJP, whatever it computes: not an inverse map."""

    def __init__(self, scale=4.0):
        self.scale = scale

    def forward(self, x):
        return self.scale * x

    def backward(self, grad):  # runtime: confirmed: off by a constant factor
        return grad / self.scale


def swish_forward(x):
    return x / (1 + np.exp(-x))


def swish_backward(x):  # runtime: confirmed
    s = 1 / (1 + np.exp(-x))
    return s + x * s


def affine_forward(x, w, b):
    out = x @ w + b
    return out, x, w


def affine_backward(dout, x, w):
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)
