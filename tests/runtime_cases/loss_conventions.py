"""Loss classes as real libraries write them:

- snn: a cross-entropy whose softmax is applied only `if self.from_logits` (off by
  default): the backward is the gradient with respect to the probabilities, judged
  against its own forward, not against the fused p - y;
- vanillanets / the nnfs book: `forward` returns per-sample (or per-entry) losses and a
  base class's `calculate` takes their mean: that reduction is the training loss.
"""

import numpy as np


class CategoricalCrossentropy:
    def __init__(self, from_logits=False, eps=1e-7):
        self.from_logits = from_logits
        self.eps = eps

    def _softmax(self, x):
        shifted = x - np.max(x, axis=-1, keepdims=True)
        exp_x = np.exp(shifted)
        return exp_x / np.sum(exp_x, axis=-1, keepdims=True)

    def forward(self, y_pred, y_true):
        if self.from_logits:
            y_pred = self._softmax(y_pred)
        y_pred = np.clip(y_pred, self.eps, 1.0 - self.eps)
        return -np.mean(np.sum(y_true * np.log(y_pred), axis=-1))

    def backward(self, y_pred, y_true):  # runtime: passed
        n = y_pred.shape[0]
        if self.from_logits:
            probs = self._softmax(y_pred)
            return (probs - y_true) / n
        y_pred = np.clip(y_pred, self.eps, 1.0 - self.eps)
        return -(y_true / y_pred) / n


class CategoricalCrossentropySignFlipped(CategoricalCrossentropy):
    def backward(self, y_pred, y_true):  # runtime: confirmed: sign flipped
        n = y_pred.shape[0]
        if self.from_logits:
            return (y_true - self._softmax(y_pred)) / n
        y_pred = np.clip(y_pred, self.eps, 1.0 - self.eps)
        return (y_true / y_pred) / n


class Loss:
    def calculate(self, output, y):
        sample_losses = self.forward(output, y)
        return np.mean(sample_losses)


class BinaryCrossEntropy(Loss):
    def forward(self, y_pred, y_true):
        y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
        return -(y_true * np.log(y_pred_clipped) + (1 - y_true) * np.log(1 - y_pred_clipped))

    def backward(self, dvalues, y_true):  # runtime: passed
        samples = len(dvalues)
        outputs = len(dvalues[0])
        clipped_dvalues = np.clip(dvalues, 1e-7, 1 - 1e-7)
        self.dinputs = -(y_true / clipped_dvalues - (1 - y_true) / (1 - clipped_dvalues)) / outputs
        self.dinputs = self.dinputs / samples


class BinaryCrossEntropySignFlipped(BinaryCrossEntropy):
    def backward(self, dvalues, y_true):  # runtime: confirmed
        samples = len(dvalues)
        outputs = len(dvalues[0])
        clipped_dvalues = np.clip(dvalues, 1e-7, 1 - 1e-7)
        self.dinputs = (y_true / clipped_dvalues - (1 - y_true) / (1 - clipped_dvalues)) / outputs / samples


class CategoricalCrossEntropy(Loss):
    """The nnfs book's: per-sample losses, averaged by `calculate`."""

    def forward(self, y_pred, y_true):
        y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
        if len(y_true.shape) == 1:
            correct_confidences = y_pred_clipped[range(len(y_pred)), y_true]
        else:
            correct_confidences = np.sum(y_pred_clipped * y_true, axis=1)
        return -np.log(correct_confidences)

    def backward(self, dvalues, y_true):  # runtime: passed
        samples = len(dvalues)
        labels = len(dvalues[0])
        if len(y_true.shape) == 1:
            y_true = np.eye(labels)[y_true]
        self.dinputs = -y_true / dvalues
        self.dinputs = self.dinputs / samples


class MeanSquaredErrorSumGradient(Loss):
    """fphunt2 fp/runtime_reducer_sum_gradient.py: the class defines its training loss as the mean
    over samples (`calculate`), but the backward omits the book's `/ samples`: the gradient of the
    sum, batch-size times the gradient of the loss the class reports (kept: nothing in the code
    says the sum is meant)."""

    def forward(self, y_pred, y_true):
        return np.mean((y_true - y_pred) ** 2, axis=-1)

    def backward(self, dvalues, y_true):  # runtime: confirmed: batch size
        outputs = len(dvalues[0])
        self.dinputs = -2 * (y_true - dvalues) / outputs


class MeanSquaredErrorNoReducer:
    """The same per-sample loss with no reduction in the class: summing over samples is a fair reading."""

    def forward(self, y_pred, y_true):
        return np.mean((y_true - y_pred) ** 2, axis=-1)

    def backward(self, dvalues, y_true):  # runtime: passed
        outputs = len(dvalues[0])
        self.dinputs = -2 * (y_true - dvalues) / outputs
