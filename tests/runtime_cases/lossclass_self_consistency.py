"""Loss classes that carry their own derivatives (ML-From-Scratch and its imitations; rw5a, rw5b).

The gradient method is checked against central differences of the class's own loss with respect
to the prediction, the hess against those of the gradient: no guess of the math. Right code
passes under the conventions real code uses (per-entry losses, a scalar mean whose gradient is per
sample); a gradient that fits only with the opposite sign (a `loss` returning the log-likelihood)
is unknown; the real slips are confirmed: rw5a miss/14's hess with the wrong sign, rw5a miss/13's
L1 penalty whose value is the L2 norm, rw5b miss/17's MAPE backward that drops the sign of
1 - x/t, and a cross-entropy gradient with a sign slip inside.
"""

import numpy as np


def expit(x):
    return 1 / (1 + np.exp(-x))


class SquareLoss:
    def loss(self, y, y_pred):
        return 0.5 * np.power((y - y_pred), 2)

    def gradient(self, y, y_pred):  # runtime: passed
        return -(y - y_pred)


class SquareLossFlipped:
    def loss(self, y, y_pred):
        return 0.5 * np.power((y - y_pred), 2)

    def gradient(self, y, y_pred):  # runtime: unknown: opposite sign
        return y - y_pred


class CrossEntropy:
    def loss(self, y, p):
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return - y * np.log(p) - (1 - y) * np.log(1 - p)

    def gradient(self, y, p):  # runtime: passed
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return - (y / p) + (1 - y) / (1 - p)


class CrossEntropySlip:
    def loss(self, y, p):
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return - y * np.log(p) - (1 - y) * np.log(1 - p)

    def gradient(self, y, p):  # runtime: confirmed
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return (y / p) + (1 - y) / (1 - p)


class LogisticLoss:
    """ML-From-Scratch xgboost.py: `loss` is the log-likelihood (plus sign), `gradient` that of the
    negative log-likelihood: unknown, never a mismatch; the hess is the derivative of the gradient."""

    def loss(self, y, y_pred):
        p = expit(y_pred)
        return y * np.log(p) + (1 - y) * np.log(1 - p)

    def gradient(self, y, y_pred):  # runtime: unknown: opposite sign
        p = expit(y_pred)
        return -(y - p)

    def hess(self, y, y_pred):  # runtime: passed
        p = expit(y_pred)
        return p * (1 - p)


class ProbabilityLogisticLoss:
    """rw5a miss/14 (an ML-From-Scratch XGBoost rewrite): the hess has the wrong sign."""

    def loss(self, y, y_pred):
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        return -y * np.log(y_pred) - (1 - y) * np.log(1 - y_pred)

    def gradient(self, y, y_pred):  # runtime: passed
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        return - y / y_pred + (1 - y) / (1 - y_pred)

    def hess(self, y, y_pred):  # runtime: confirmed: sign flipped
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        return - y / (y_pred ** 2) - (1 - y) / ((1 - y_pred) ** 2)


class Quadratic:
    """A scalar mean whose gradient is per sample (the caller averages): a convention, passed."""

    def __call__(self, y_true, y_pred):
        return np.mean(0.5 * (y_true - y_pred) ** 2)

    def gradient(self, y_true, y_pred):  # runtime: passed
        return y_pred - y_true


class Loss:
    def loss(self, y_true, y_pred):
        return NotImplementedError()

    def gradient(self, y, y_pred):
        raise NotImplementedError()


class GbdtLogistic(Loss):
    def gradient(self, y, y_pred):  # runtime: passed
        p = expit(y_pred)
        return p - y

    def hess(self, y, y_pred):  # runtime: passed
        p = expit(y_pred)
        return p * (1 - p)


class GbdtSquare(Loss):
    def gradient(self, y, y_pred):
        return y_pred - y

    def hess(self, y, y_pred):  # runtime: passed
        return np.ones_like(y)


class l1_regularization():
    """rw5a miss/13 (ML-From-Scratch regression.py): the value is the L2 norm, the gradient that of the L1 norm."""

    def __init__(self, alpha):
        self.alpha = alpha

    def __call__(self, w):
        return self.alpha * np.linalg.norm(w)

    def grad(self, w):  # runtime: confirmed: the gradient of an L1 norm
        return self.alpha * np.sign(w)


class l2_regularization():
    def __init__(self, alpha):
        self.alpha = alpha

    def __call__(self, w):
        return self.alpha * 0.5 * w.T.dot(w)

    def grad(self, w):  # runtime: passed
        return self.alpha * w


class Weighted:
    """Needs an array to be built: unknown."""

    def __init__(self, class_weights):
        self.class_weights = np.asarray(class_weights)

    def loss(self, y, y_pred):
        return self.class_weights[0] * (y - y_pred) ** 2

    def gradient(self, y, y_pred):  # runtime: unknown: cannot construct
        return -2 * self.class_weights[0] * (y - y_pred)


class SmoothL1:
    """rw5b miss/17: forward caches, backward() reads the cache; per sample (no 1/N) at beta = 1."""

    def forward(self, input, target, beta=1.0):
        self.input, self.target, self.beta = input, target, beta
        ln = np.abs(input - target)
        return np.mean(np.where(ln < beta, 0.5 * (ln ** 2) / beta, ln - 0.5 * beta))

    def backward(self):  # runtime: passed
        ln = self.input - self.target
        return np.where(np.abs(ln) < self.beta, ln, np.sign(ln))


class MAPE:
    """rw5b miss/17: the backward drops the sign of 1 - x/t."""

    def forward(self, input, target):
        self.input, self.target = input, target
        return np.mean(np.abs(1 - input / (target + 1e-9)))

    def backward(self):  # runtime: confirmed
        return -1 / (self.target + 1e-9) / self.input.shape[0]


def focal(y, p):
    return -(y * (1 - p) ** 2 * np.log(p) + (1 - y) * p ** 2 * np.log(1 - p))


def focal_grad(y, p):  # runtime: passed
    return -(y * (-2 * (1 - p) * np.log(p) + (1 - p) ** 2 / p) + (1 - y) * (2 * p * np.log(1 - p) - p ** 2 / (1 - p)))


def logcosh(y_true, y_pred):
    return np.log(np.cosh(y_pred - y_true))


def logcosh_prime(y_true, y_pred):  # runtime: confirmed
    return 1 - np.tanh(y_pred - y_true) ** 2


class FusedCrossEntropy:
    """The fused design: the loss of probabilities, the gradient with respect to the logits (p - y),
    the hess too (p (1 - p)), both written in terms of p: passed, never a mismatch."""

    def loss(self, y, p):
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return - y * np.log(p) - (1 - y) * np.log(1 - p)

    def gradient(self, y, p):  # runtime: passed
        return p - y

    def hess(self, y, p):  # runtime: passed
        return p * (1 - p)


class SoftmaxCrossEntropy:
    def loss(self, y, p):
        return -np.sum(y * np.log(p), axis=1)

    def gradient(self, y, p):  # runtime: passed
        return p - y
