"""Gradient-boosting custom objectives (rw5b): xgboost / lightgbm `obj(preds, dtrain)` and
`(y_true, y_pred)` returning `grad, hess`, and catboost `calc_ders_range`.

The hess (der2) is checked against central differences of the grad (der1) the same call
returns, entry by entry; `dtrain` is a stub whose `get_label()` returns the labels. With two
arrays, which one is the prediction is not trusted to the names (the sklearn API passes
`(y_true, y_pred)`, and authors name them after the native one): a mismatch needs both
orderings to disagree. A constant hess (the surrogate of a piecewise-linear loss) and a
piecewise-constant grad are never reported; xgboost's own multi-class demo uses 2 p (1 - p).
Confirmed: rw5b miss/14 (y2019xcj's lightgbm "focal" hess), rw5b miss/13 (a catboost focal
objective's der2, not the derivative of its der1), and a hess with the wrong sign.
"""

import math

import numpy as np


def huber_approx_obj(preds, dtrain):  # runtime: passed
    d = preds - dtrain.get_label()
    h = 1
    scale = 1 + (d / h) ** 2
    scale_sqrt = np.sqrt(scale)
    grad = d / scale_sqrt
    hess = 1 / scale / scale_sqrt
    return grad, hess


def sklearn_huber_obj(preds, dtrain):  # runtime: passed
    # the sklearn API passes (y_true, y_pred): here `dtrain` is the prediction (pankracy40i4)
    d = dtrain - preds
    scale = 1 + d ** 2
    grad = d / np.sqrt(scale)
    hess = 1 / scale / np.sqrt(scale)
    return grad, hess


def custom_loss_treshold(y_pred, y_true):  # runtime: passed
    # named after the native API, called with the sklearn one: `y_true` holds the predictions
    grad = np.where(y_true <= 30, 2.5 * (y_true - y_pred), 1)
    hess = np.where(y_true <= 30, 2.5, 0)
    return grad, hess


def log_cosh_obj(preds, dtrain):  # runtime: passed
    x = preds - dtrain.get_label()
    grad = np.tanh(x)
    hess = 1 / np.cosh(x) ** 2
    return grad, hess


def logloss_obj(preds, dtrain):  # runtime: passed
    labels = dtrain.get_label()
    preds = 1.0 / (1.0 + np.exp(-preds))
    grad = preds - labels
    hess = preds * (1.0 - preds)
    return grad, hess


def logloss_hess_sign(preds, dtrain):  # runtime: confirmed: sign flipped
    labels = dtrain.get_label()
    p = 1.0 / (1.0 + np.exp(-preds))
    grad = p - labels
    hess = -p * (1.0 - p)
    return grad, hess


def quantile_obj(y_true, y_pred):  # runtime: unknown: flat
    residual = y_true - y_pred
    grad = np.where(residual < 0, 0.3, -0.7)
    hess = np.ones_like(y_pred)
    return grad, hess


def custom_asymmetric_train(y_pred, y_true):  # runtime: passed
    y_true = y_true.get_label()
    residual = (y_true - y_pred).astype("float")
    grad = np.where(residual < 0, -2 * residual, -2 * residual * 1.15)
    hess = np.where(residual < 0, 2, 2 * 1.15)
    return grad, hess


def custom_asymmetric_valid(y_pred, y_true):
    y_true = y_true.get_label()
    residual = (y_true - y_pred).astype("float")
    loss = np.where(residual < 0, (residual ** 2), (residual ** 2) * 1.15)
    return "custom_asymmetric_eval", np.mean(loss), False


def softprob_obj(predt, data):  # runtime: passed
    labels = data.get_label()
    e = np.exp(predt - predt.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    grad = p - np.eye(predt.shape[1])[labels.astype(int)]
    hess = np.maximum(2.0 * p * (1.0 - p), 1e-6)
    return grad, hess


class ComplexLoss:
    """rw5b miss/14 (y2019xcj lossfunction.py): (1-p)^g p - t is not the derivative of a focal loss,
    and 2 q (1 - q) is not the derivative of that grad."""

    def __init__(self, gamma=0.5, smoothing_value=0.1, num_class=3):
        self.gamma = gamma
        self.smoothing_value = smoothing_value
        self.num_class = num_class

    def focal_loss(self, y_true, y_pred):  # runtime: confirmed
        target = np.eye(self.num_class)[y_true.astype('int')]
        pred = np.reshape(y_pred, (len(target), self.num_class), order='F')
        target = (1 - self.smoothing_value) * target + self.smoothing_value / self.num_class
        eps = 1e-6
        pred = np.exp(pred)
        softmax_p = np.multiply(pred, 1 / np.sum(pred, axis=1)[:, np.newaxis])
        softmax_p = ((1 - softmax_p) ** self.gamma) * softmax_p
        grad = (softmax_p - target)
        hess = 2.0 * softmax_p * (1.0 - softmax_p) + eps
        hess[hess <= eps] = eps
        return grad.flatten('F'), hess.flatten('F')


class LoglossObjective(object):
    """The catboost documentation's example."""

    def calc_ders_range(self, approxes, targets, weights):  # runtime: passed
        assert len(approxes) == len(targets)
        if weights is not None:
            assert len(weights) == len(approxes)
        result = []
        for index in range(len(targets)):
            e = np.exp(approxes[index])
            p = e / (1 + e)
            der1 = targets[index] - p
            der2 = -p * (1 - p)
            if weights is not None:
                der1 *= weights[index]
                der2 *= weights[index]
            result.append((der1, der2))
        return result


class FocalLossObjective(object):
    """rw5b miss/13: der1 is -dFL/dp (not -dFL/dz) and der2 is not its derivative either."""

    def calc_ders_range(self, approxes, targets, weights):  # runtime: confirmed
        gamma = 2.
        exponents = []
        for index in range(len(approxes)):
            exponents.append(math.exp(approxes[index]))
        result = []
        for index in range(len(targets)):
            p = exponents[index] / (1 + exponents[index])
            if targets[index] > 0.0:
                der1 = -((1 - p) ** (gamma - 1)) * (gamma * math.log(p) * p + p - 1) / p
                der2 = gamma * ((1 - p) ** gamma) * ((gamma * p - 1) * math.log(p) + 2 * (p - 1))
            else:
                der1 = (p ** (gamma - 1)) * (gamma * math.log(1 - p) - p) / (1 - p)
                der2 = p ** (gamma - 2) * ((p * (2 * gamma * (p - 1) - p)) / (p - 1) ** 2 + (gamma - 1) * gamma * math.log(1 - p))
            result.append((der1, der2))
        return result


class ThresholdSE:
    """A constant der2 (a surrogate) and an array needed to construct it: unknown."""

    def __init__(self, classes, error=1e-3):
        self.classes = classes
        self.error = error

    def calc_ders_range(self, approxes, targets, weights):  # runtime: unknown: cannot construct
        result = []
        for ind in range(len(approxes)):
            der1 = targets[ind] - approxes[ind] if self.classes[ind] == 1 else 0
            result.append((der1, 1))
        return result
