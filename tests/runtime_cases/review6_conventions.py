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
