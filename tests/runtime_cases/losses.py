"""Loss gradients: MSE, cross-entropy, binary cross-entropy, fused softmax + CE."""

import numpy as np


def mse(y_true, y_pred):
    return np.mean((y_true - y_pred) ** 2)


def mse_prime(y_true, y_pred):  # runtime: passed
    return 2 * (y_pred - y_true) / np.size(y_true)


def mse_derivative(y_true, y_pred):  # runtime: confirmed: off by a constant factor of 1/2
    return (y_pred - y_true) / np.size(y_true)


def mse_grad(y_true, y_pred):  # runtime: confirmed: sign flipped
    return 2 * (y_true - y_pred) / np.size(y_true)


def cross_entropy(probs, targets):
    return -np.sum(targets * np.log(probs)) / probs.shape[0]


def cross_entropy_prime(probs, targets):  # runtime: passed
    return -targets / probs / probs.shape[0]


def cross_entropy_derivative(probs, targets):  # runtime: confirmed: batch size
    return -targets / probs


def binary_cross_entropy(y_true, y_pred):
    return np.mean(-y_true * np.log(y_pred) - (1 - y_true) * np.log(1 - y_pred))


def binary_cross_entropy_prime(y_true, y_pred):  # runtime: passed
    return ((1 - y_true) / (1 - y_pred) - y_true / y_pred) / np.size(y_true)


def binary_cross_entropy_derivative(y_true, y_pred):  # runtime: confirmed
    return ((1 - y_true) / (1 - y_pred) + y_true / y_pred) / np.size(y_true)


def softmax(z):
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_cross_entropy_gradient(logits, labels):  # runtime: passed
    probs = softmax(logits)
    return (probs - labels) / logits.shape[0]


def softmax_cross_entropy_backward(logits, labels):  # runtime: confirmed: batch size
    probs = softmax(logits)
    return (probs - labels) / logits.shape[0] / logits.shape[0]


class SoftmaxCrossEntropyLoss:
    """A fused softmax + cross-entropy: forward takes logits, backward the cached probabilities."""

    def forward(self, inputs, y_true):
        self.output = softmax(inputs)
        samples = len(inputs)
        correct = self.output[range(samples), y_true] if y_true.ndim == 1 else np.sum(self.output * y_true, axis=1)
        return np.mean(-np.log(correct))

    def backward(self, dvalues, y_true):  # runtime: passed
        samples = len(dvalues)
        if y_true.ndim == 2:
            y_true = np.argmax(y_true, axis=1)
        dinputs = dvalues.copy()
        dinputs[range(samples), y_true] -= 1
        self.dinputs = dinputs / samples


class SoftmaxCrossEntropyLossTwice(SoftmaxCrossEntropyLoss):
    """The fused gradient p - y passed through the softmax Jacobian again (GL203)."""

    def backward(self, dvalues, y_true):  # runtime: confirmed
        samples = len(dvalues)
        if y_true.ndim == 2:
            y_true = np.argmax(y_true, axis=1)
        fused = dvalues.copy()
        fused[range(samples), y_true] -= 1
        out = np.empty_like(fused)
        for index, (s, g) in enumerate(zip(dvalues, fused)):
            s = s.reshape(-1, 1)
            out[index] = (np.diagflat(s) - s @ s.T) @ g
        self.dinputs = out / samples
