"""GL304 unguarded-division: a gradient divides by a probability with no guard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.index import child_nodes
from gradlint.analysis.numerics import (
    Numerics,
    TRANSPARENT,
    Scope,
    cross_entropy_weights,
    in_loss_term,
    is_number,
    numerics,
    reciprocal_of,
    reciprocal_product,
    target_name,
    unwrap,
)
from gradlint.analysis.syntax import argument_for, call_name, dotted_name, last_part, literal_number, positional_parameters
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid


class UnguardedDivision(Rule):
    code = "GL304"
    name = "unguarded-division"
    severity = Severity.WARNING
    summary = "A cross-entropy gradient divides by a probability with no guard: inf/nan once it saturates."
    what_it_does = """
        Finds a division by a probability `p`, by `1 - p` or by `p * (1 - p)` in a gradient
        (`-y / p`, `(1 - y) / (1 - p)`, `(p - y) / (p * (1 - p))`, also written with a reciprocal,
        `-y * (1 / p)`) when nothing bounds `p` away from 0 and 1. `p` is known to be a probability when it is a softmax/sigmoid output (by body)
        or the mean of one (a sparse autoencoder's mean activation `rho_hat = np.mean(a2, axis=1)`, also
        `np.sum(a2, axis=1) / m` or repeated by `np.tile`: 1.0 once the unit saturates on every example), when
        the expression is the binary cross-entropy derivative itself (it divides by both `p` and
        `1 - p`, or by `p * (1 - p)`), or when a loss in the same class or module takes `log(p)` of
        the same parameter (directly, or of each row's probability selected from it by
        `p[range(n), y]` or `np.sum(p * y, axis=1)`). In a class, the loss's parameter may have
        another name when it stands in the same position and the two methods share the target
        parameter that weights the log and appears in the gradient's numerator (the nnfs book's
        `forward(self, y_pred, y_true)` and `backward(self, dvalues, y_true)`). When that matching
        loss clips `p` but the gradient does not, the message says so (naming the function). A
        prediction read from an attribute of the class (`y_pred = self.last_y_pred`) counts when every
        store of that attribute in the class is provably raw (a parameter of the storing method, or a
        softmax/sigmoid computed by body, with no clip on the way; a helper's or `np.where`'s result is
        doubt) and the statement divides by both `p` and `1 - p`; a loss's log bound to a name counts
        when the name is weighted by the target (`logs = np.log(p); -logs @ target`). A clip that keeps
        0 in range (`np.clip(p, 0.0, 1.0)`, `np.maximum(p, 0)`) is no guard for a division by `p`. A division
        inside the logs of a divergence's value (`x * np.log(x / y) + (1 - x) * np.log((1 - x) / (1 - y))`)
        is reported as such, not as a derivative. Silent
        in a private helper (`_focal_loss_derivative`) whose every caller in the module clips the
        probability it passes on every path to the call (away from 0). A division inside
        `np.nan_to_num(...)` is still reported: that maps the inf to +-1.8e308, not to a usable
        gradient (the message says so). Silent on REINFORCE's `dsoftmax / p[0, a]` when the action `a`
        was drawn from that same `p` (`np.random.choice(n, p=p[0])`) or is its argmax: its probability
        is above 0 (at least 1/n for the argmax), and a clip would bias the log-derivative.
        """
    why_bad = """
        Probabilities saturate to exactly 0.0 or 1.0 in floating point. `y / 0` is inf and `0 / 0` is
        nan; one saturated sample poisons the whole gradient. Clipping only in the loss does not help
        the gradient, which sees the raw `p`.
        """
    example = """
        def bce_grad(p, y):
            return -(y / p - (1 - y) / (1 - p))
        """
    use_instead = """
        def bce_grad(p, y, eps=1e-12):
            p = np.clip(p, eps, 1 - eps)
            return -(y / p - (1 - y) / (1 - p))

        # or fuse with the sigmoid/softmax and use p - y with respect to the logits
        """
    references = ("Cross-entropy: https://en.wikipedia.org/wiki/Cross-entropy",)

    INVALID = (
        Invalid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            def sparse_delta2(W1, b1, W2, b2, data, rho, beta):
                m = data.shape[1]
                a2 = sigmoid(W1 @ data + b1)
                a3 = sigmoid(W2 @ a2 + b2)
                rho_hat = np.sum(a2, axis=1) / m
                sparsity_delta = -rho / rho_hat + (1 - rho) / (1 - rho_hat)
                delta3 = -(data - a3) * a3 * (1 - a3)
                return (W2.T @ delta3 + beta * sparsity_delta) * a2 * (1 - a2)

            def sparsity_penalty_grad(W1, x, rho, m):
                a2 = sigmoid(x @ W1)
                rho_hat = np.tile((1.0 / m) * np.sum(a2, axis=0), (m, 1))
                return (1 - rho) / (1 - rho_hat) - rho / rho_hat

            def kl_divergence(x, y):
                return x * np.log(x / y) + (1 - x) * np.log((1 - x) / (1 - y))
            """,
            line=11,
            count=3,
            message="divides by `rho_hat`, the mean of the sigmoid output `a2`, with no guard",
            why="review 6 (rw6b miss/04, fp/02: the UFLDL sparse autoencoder in six repositories): the sparsity "
            "penalty's gradient divides by the mean activation, 1.0 once a unit saturates on every example; the "
            "penalty's own value, a divergence whose logs divide by it",
        ),
        Invalid(
            """
            import numpy as np

            def policy(state, weight):
                z = state.dot(weight)
                e = np.exp(z - np.max(z))
                return e / np.sum(e)

            def jacobian(s):
                s = s.reshape(-1, 1)
                return np.diagflat(s) - np.dot(s, s.T)

            def uniform_action(state, weight):
                probs = policy(state, weight)
                action = np.random.randint(probs.shape[1])
                return jacobian(probs)[action, :] / probs[0, action]

            def other_policy(state, weight, behaviour):
                probs = policy(state, weight)
                action = np.random.choice(probs.shape[1], p=behaviour[0])
                return jacobian(probs)[action, :] / probs[0, action]

            def argmax_of_other(state, weight, q):
                probs = policy(state, weight)
                action = np.argmax(q)
                return jacobian(probs)[action, :] / probs[0, action]

            def next_state(state, next_state, weight):
                probs = policy(state, weight)
                action = np.random.choice(probs.shape[1], p=probs[0])
                probs = policy(next_state, weight)
                return jacobian(probs)[action, :] / probs[0, action]

            def other_row(states, weight):
                probs = policy(states, weight)
                action = np.random.choice(probs.shape[1], p=probs[0])
                return jacobian(probs[1])[action, :] / probs[1, action]
            """,
            line=15,
            count=5,
            message="divides by the softmax output `probs[0, action]` with no guard",
            why="near misses of REINFORCE's dsoftmax / p[a]: an action drawn uniformly, from another policy, or the argmax of another array, "
            "or drawn from p before p is rebound to the next state's policy or from another row, can have a probability of 0",
        ),
        Invalid(
            """
            import numpy as np

            def bce_grad(p, y):
                p = np.maximum(0.0, p)
                return -y / p + (1 - y) / (1 - p)

            def bce_grad_in_place(p, y):
                np.clip(p, 0.0, 1.0, out=p)
                return -y / p + (1 - y) / (1 - p)

            def loss(p, y):
                return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))

            def _grad(p, y):
                return -y / p + (1 - y) / (1 - p)

            def train(p, y):
                return _grad(np.maximum(0.0, p), y)
            """,
            line=5,
            count=3,
            message="keeps 0 in its range",
            why="a floor of 0 is no guard against y / 0: np.maximum with the floor first (ReLU's order), a clip written in place, "
            "a caller's np.maximum(0.0, p)",
        ),
        Invalid(
            """
            import numpy as np

            def bce_grad(p, y):
                return -(y / p - (1 - y) / (1 - p))
            """,
            line=4,
            message="`y / p`",
            why="free function: the binary cross-entropy derivative",
        ),
        Invalid(
            """
            import numpy as np

            class CrossEntropy:
                def forward(self, y_pred, y_true):
                    y_pred = np.clip(y_pred, 1e-7, 1 - 1e-7)
                    return -np.sum(y_true * np.log(y_pred), axis=1).mean()

                def backward(self, y_pred, y_true):
                    return -y_true / y_pred / len(y_pred)
            """,
            line=9,
            message="the matching loss `forward` clips",
            why="layer class: the loss clips, the gradient does not",
        ),
        Invalid(
            """
            import numpy as np

            def cost(a, y):
                return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

            def cost_derivative(a, y):
                return np.nan_to_num(-y / a + (1 - y) / (1 - a))
            """,
            line=7,
            message="np.nan_to_num turns the inf into +-1.8e308",
            why="Nielsen-style: nan_to_num is a fair guard for the loss's 0 * log(0), not for the gradient's y / 0",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(z):
                return 1.0 / (1.0 + np.exp(-z))

            def backward(W, X, Y):
                A = sigmoid(W @ X)
                dA = (A - Y) / (A * (1 - A))
                return dA * A * (1 - A)
            """,
            line=8,
            message="sigmoid output",
            why="column layout: divides by the variance of a sigmoid output",
        ),
        Invalid(
            """
            import numpy as np

            def loss(probs, targets):
                return -np.sum(targets * np.log(probs))

            def loss_grad(probs, targets):
                return -targets / probs
            """,
            line=7,
            why="module-level pair: the loss takes log(probs) of the same parameter",
        ),
        Invalid(
            """
            import numpy as np

            def linear_activation_backward_start(AL, Y):
                dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
                return dAL
            """,
            line=4,
            message="np.divide(Y, AL)",
            why="np.divide spelling, column layout (units x examples)",
        ),
        Invalid(
            """
            import numpy as np

            class Loss_CategoricalCrossentropy:
                def forward(self, y_pred, y_true):
                    y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
                    correct_confidences = np.sum(y_pred_clipped * y_true, axis=1)
                    return np.mean(-np.log(correct_confidences))

                def backward(self, dvalues, y_true):
                    samples = len(dvalues)
                    self.dinputs = -y_true / dvalues
                    self.dinputs = self.dinputs / samples
            """,
            line=11,
            message="the matching loss `forward` clips `y_pred`, the prediction it receives in the position of `dvalues`",
            why="nnfs book loss with its backward's clip removed: forward(y_pred, y_true) / backward(dvalues, y_true)",
        ),
        Invalid(
            """
            import numpy as np

            class CategoricalCrossEntropy:
                def forward(self, y_pred, y_true):
                    samples = len(y_pred)
                    if len(y_true.shape) == 1:
                        confidences = y_pred[range(samples), y_true]
                    else:
                        confidences = np.sum(y_pred * y_true, axis=1)
                    return -np.log(confidences)

                def backward(self, dvalues, y_true):
                    if len(y_true.shape) == 1:
                        y_true = np.eye(len(dvalues[0]))[y_true]
                    return -y_true / dvalues / len(dvalues)
            """,
            line=15,
            message="takes the log of `y_pred`, the prediction it receives in the position of `dvalues`",
            why="layer class, sparse or one-hot labels: neither the loss nor its gradient clips",
        ),
        Invalid(
            """
            import numpy as np

            class BinaryCrossEntropyLoss:
                def __call__(self, y, y_pred):
                    self.last_y_pred = y_pred
                    self.last_y = y
                    p = np.clip(y_pred, 1e-12, 1 - 1e-12)
                    return np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))

                def gradient(self):
                    y = self.last_y
                    y_pred = self.last_y_pred
                    n = y.shape[0]
                    return (-(y / y_pred) + ((1 - y) / (1 - y_pred))) / n
            """,
            line=14,
            message="read from `self.last_y_pred` unclipped",
            why="real code (numpy-nn BinaryCrossEntropyLoss.gradient): the prediction cached unclipped by the loss "
            "(which clips only its own copy), divided by `y_pred` and `1 - y_pred`",
        ),
        Invalid(
            """
            import numpy as np

            class CceLoss:
                def call(self, prediction, target):
                    logs = np.log(prediction, where=prediction > 0)
                    return -logs @ target

                def deriv(self, input, target):
                    return sum(target) / sum(input) - target / input
            """,
            line=9,
            message="the matching loss `call` takes the log of `prediction`",
            why="real code (numpynet losses.py CceLoss.deriv): the loss's log is bound to a name and weighted by "
            "the target in `-logs @ target`",
        ),
        Invalid(
            """
            import numpy as np

            EPSILON = 1e-7

            def _focal_loss_derivative(y_true, y_pred, gamma, alpha):
                d_ce = -y_true / y_pred + (1 - y_true) / (1 - y_pred)
                return alpha * d_ce

            class FocalLoss:
                def derivative(self, y_true, y_pred):
                    y_pred = np.clip(y_pred, EPSILON, 1 - EPSILON)
                    return _focal_loss_derivative(y_true, y_pred, 2.0, 0.25)

            class BinaryFocalLoss:
                def derivative(self, y_true, y_pred):
                    return _focal_loss_derivative(y_true, y_pred, 2.0, 0.25)

            def focal_loss_derivative(y_true, y_pred):
                return -y_true / y_pred + (1 - y_true) / (1 - y_pred)

            class PublicFocal:
                def derivative(self, y_true, y_pred):
                    return focal_loss_derivative(y_true, np.clip(y_pred, EPSILON, 1 - EPSILON))
            """,
            line=6,
            count=2,
            message="divides by the probability `y_pred`",
            why="near misses of a helper clipped by its callers: one caller passes the raw prediction; a public "
            "function (callers outside the module may pass anything)",
        ),
        Invalid(
            """
            import numpy as np

            def _bce_derivative(y, p):
                return -(y / p) + (1 - y) / (1 - p)

            class BCE:
                def backward(self, y, p):
                    p = np.clip(p, 0.0, 1.0)
                    return _bce_derivative(y, p)

            def _bce_derivative_opt(y, p):
                return -(y / p) + (1 - y) / (1 - p)

            def bce_backward(y, p, clip=False):
                if clip:
                    p = np.clip(p, 1e-7, 1 - 1e-7)
                return _bce_derivative_opt(y, p)
            """,
            line=4,
            count=2,
            message="divides by the probability `p`",
            why="near misses of the every-caller exemption (fphunt2 lost/gl304_helper_caller_clips_to_zero.py): the "
            "caller's clip keeps 0 in range; the caller clips on one branch only (off by default)",
        ),
        Invalid(
            """
            import numpy as np

            def bce_grad(p, y):
                p = np.clip(p, 0.0, 1.0)
                return -(y / p) + (1 - y) / (1 - p)

            class Loss:
                def backward(self, p, y):
                    p = np.maximum(p, 0)
                    return (p - y) / (p * (1 - p))
            """,
            line=5,
            count=2,
            message="`np.clip(p, 0.0, 1.0)` keeps 0 in its range",
            why="a clip to the probability range [0, 1] bounds nothing away from 0 (single function, layer class)",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            def bce_grad(z, y):
                out = sigmoid(z).astype(np.float32)
                dL_l = -y * (1 / out)
                dL_r = (1 - y) * (1 / (1 - out))
                return (dL_l + dL_r) * out * (1 - out)
            """,
            line=8,
            count=2,
            message="`-y * (1 / out)` divides by the sigmoid output `out` with no guard",
            why="real code (kwj2104/Simple-Variational-Autoencoder vae.py, rw5b miss/05): the BCE gradient written "
            "with reciprocals, of a sigmoid output cast to float32 (a cast keeps its values)",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            def sparse_delta2(W1, b1, data, rho):
                a2 = sigmoid(W1 @ data + b1)
                rho_hat = np.clip(np.mean(a2, axis=1), 1e-6, 1 - 1e-6)
                return -rho / rho_hat + (1 - rho) / (1 - rho_hat)

            def scaled(W1, data, z_scale):
                z = W1 @ data
                z_hat = np.mean(z, axis=1)
                return -z_scale / z_hat
            """,
            why="the sparse autoencoder's mean activation clipped; the mean of an affine map, no probability",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            def bce_grad(z, y, n, eps=1e-7):
                out = np.clip(sigmoid(z).astype(np.float32), eps, 1 - eps)
                return -y * (1 / out) + (1 - y) * (1 / (1 - out))

            def scaled(z, y, n):
                out = sigmoid(z)
                return (out - y) * (1 / n)
            """,
            why="the reciprocal forms of a clipped prediction; a reciprocal of a count",
        ),
        Valid(
            """
            import numpy as np

            def policy(matrix, weight):
                z = matrix.dot(weight)
                exp = np.exp(z - np.max(z))
                return exp / np.sum(exp)

            def softmax_grad(softmax):
                s = softmax.reshape(-1, 1)
                return np.diagflat(s) - np.dot(s, s.T)

            def policy_gradient(state, weight):
                probs = policy(state, weight)
                action = np.random.choice(len(probs[0]), p=probs[0])
                dsoftmax = softmax_grad(probs)[action, :]
                dlog = dsoftmax / probs[0, action]
                return action, np.dot(state.T, dlog[None, :])

            def greedy_gradient(state, weight):
                probs = policy(state, weight)
                action = probs.argmax()
                return softmax_grad(probs)[action, :] / probs[0, action]
            """,
            why="the Holberton policy_gradient task (many student copies) and a greedy variant: the action is drawn "
            "from probs (np.random.choice never returns an outcome of probability 0) or is its argmax (at least 1/n), "
            "so REINFORCE's dsoftmax / p[a] = e_a - p cannot meet a 0, and a clip would bias it",
        ),
        Valid(
            """
            import numpy as np

            def loss(p, y):
                return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))

            def _grad(p, y):
                return -y / p + (1 - y) / (1 - p)

            def train(p, y):
                q = p.copy()
                q.clip(1e-7, 1 - 1e-7, q)
                return _grad(q, y)
            """,
            why="the caller clips in place with ndarray.clip's positional out (q.clip(lo, hi, q))",
        ),
        Valid(
            """
            import numpy as np

            EPSILON = 1e-7

            def _focal_loss_derivative(y_true, y_pred, gamma, alpha):
                p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
                alpha_factor = y_true * alpha + (1 - y_true) * (1 - alpha)
                ce = -y_true * np.log(y_pred) - (1 - y_true) * np.log(1 - y_pred)
                d_ce = -y_true / y_pred + (1 - y_true) / (1 - y_pred)
                modulating_factor = np.power(1 - p_t, gamma)
                d_modulating_factor = -gamma * np.power(1 - p_t, gamma - 1) * (2 * y_true - 1)
                return alpha_factor * (modulating_factor * d_ce + d_modulating_factor * ce)

            class FocalLoss:
                def __call__(self, y_true, y_pred):
                    y_pred = np.clip(y_pred, EPSILON, 1 - EPSILON)
                    return np.mean(-y_true * np.log(y_pred) - (1 - y_true) * np.log(1 - y_pred))

                def derivative(self, y_true, y_pred):
                    y_pred = np.clip(y_pred, EPSILON, 1 - EPSILON)
                    derivative = _focal_loss_derivative(y_true, y_pred, 2.0, 0.25)
                    return derivative / derivative.size

            class BinaryFocalLossPerLabel:
                def derivative(self, y_true, y_pred):
                    return _focal_loss_derivative(y_true, np.clip(y_pred, EPSILON, 1 - EPSILON), 2.0, 0.25)
            """,
            why="real code (neuralnetlib losses.py _focal_loss_derivative): a private helper whose every caller in "
            "the module clips the prediction right before the call",
        ),
        Valid(
            """
            import numpy as np

            EPS = 1e-7

            def sigmoid(z):
                return np.clip(1.0 / (1.0 + np.exp(-z)), EPS, 1 - EPS)

            class LogisticOutput:
                def forward(self, z, y):
                    self.last_y_pred = sigmoid(z)
                    self.last_y = y
                    p = self.last_y_pred
                    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

                def gradient(self):
                    y = self.last_y
                    y_pred = self.last_y_pred
                    return (-(y / y_pred) + (1 - y) / (1 - y_pred)) / y.shape[0]

            class BinaryCrossEntropy:
                def __call__(self, y, y_pred):
                    self.last_y_pred = self._safe(y_pred)
                    self.last_y = y
                    return np.mean(-y * np.log(self.last_y_pred) - (1 - y) * np.log(1 - self.last_y_pred))

                @staticmethod
                def _safe(p):
                    return np.clip(p, 1e-12, 1 - 1e-12)

                def gradient(self):
                    y = self.last_y
                    y_pred = self.last_y_pred
                    return (-(y / y_pred) + (1 - y) / (1 - y_pred)) / y.shape[0]

            class BCEWhere:
                def forward(self, y, y_pred):
                    self.y = y
                    self.y_pred = np.where(y_pred < EPS, EPS, np.where(y_pred > 1 - EPS, 1 - EPS, y_pred))
                    return -np.mean(y * np.log(self.y_pred) + (1 - y) * np.log(1 - self.y_pred))

                def backward(self):
                    y = self.y
                    p = self.y_pred
                    return -(y / p) + (1 - y) / (1 - p)

            class Unseen:
                def forward(self, y, z):
                    self.p = self.activation.forward(z)
                    return self.p

                def backward(self, y):
                    p = self.p
                    return -(y / p) + (1 - y) / (1 - p)
            """,
            why="fphunt2 fp/gl304_cached_prediction_clipped_elsewhere.py: the cached prediction is stored through a "
            "module sigmoid that clips, a clipping helper method, np.where, or a call not seen through (doubt: silent)",
        ),
        Valid(
            """
            import numpy as np

            def _bce_derivative(y, p):
                return -(y / p) + (1 - y) / (1 - p)

            def bce_backward(y, p, clip=True):
                if clip:
                    p = np.clip(p, 1e-7, 1 - 1e-7)
                else:
                    p = np.clip(p, 1e-6, 1 - 1e-6)
                return _bce_derivative(y, p)

            def one_minus_only(p, y):
                p = np.clip(p, 0.0, 1 - 1e-7)
                return (1 - y) / (1 - p)

            def optional_clip(p, y, clip=True):
                if clip:
                    p = np.clip(p, 1e-7, 1 - 1e-7)
                return -(y / p) + (1 - y) / (1 - p)
            """,
            why="near misses of the zero-floor clip: the caller clips on both branches; a clip to [0, 1 - eps] "
            "guards a division by 1 - p; a function that clips on its own (default) branch is given the benefit",
        ),
        Valid(
            """
            import numpy as np

            class BinaryCrossEntropyLoss:
                def __call__(self, y, y_pred):
                    self.last_y_pred = np.clip(y_pred, 1e-12, 1 - 1e-12)
                    self.last_y = y
                    return np.mean(-y * np.log(self.last_y_pred) - (1 - y) * np.log(1 - self.last_y_pred))

                def gradient(self):
                    y = self.last_y
                    y_pred = self.last_y_pred
                    return (-(y / y_pred) + ((1 - y) / (1 - y_pred))) / y.shape[0]

            class CachedOnce:
                def gradient(self):
                    y, y_pred = self.y, self.p
                    return -(y / y_pred) + (1 - y) / (1 - y_pred)

            class ClippedInPlaceAfter:
                def loss(self, y, y_pred):
                    self.y, self.y_pred = y, y_pred
                    self.last = y_pred
                    np.clip(y_pred, 1e-7, 1 - 1e-7, y_pred)
                    return -np.sum(y * np.log(y_pred) + (1 - y) * np.log(1 - y_pred))

                def grad(self):
                    y = self.y
                    preds = self.last.flatten()
                    return ((1 - y) / (1 - preds)) - (y / preds)

            class NCE:
                def loss(self, y_pred):
                    self.derived_variables = {"y_pred": []}
                    self.derived_variables["y_pred"].append(y_pred)

                def _grad(self, y_true, i):
                    y_pred = self.derived_variables["y_pred"][i]
                    preds = y_pred.flatten()
                    return ((1 - y_true) / (1 - preds)) - (y_true / preds)
            """,
            why="near misses of the cached prediction: the loss caches it clipped, or clips the cached array in place "
            "afterwards (a positional `out`); an attribute the class never stores; a slot of a cached dict "
            "(numpy-ml's NCE loss: what the slots hold is not followed)",
        ),
        Valid(
            """
            import numpy as np

            def bce_grad(p, y, eps=1e-12):
                p = np.clip(p, eps, 1 - eps)
                return -(y / p - (1 - y) / (1 - p))

            def bce_grad2(p, y, eps=1e-12):
                return -(y / (p + eps) - (1 - y) / (1 - p + eps))
            """,
            why="clipped or epsilon-guarded",
        ),
        Valid(
            """
            def split(total, p):
                return total / p

            def normalise(x, s):
                return (x - s) / (s * (1 - s)) if 0 < s < 1 else x
            """,
            why="no evidence that the divisor is a probability / a guard by comparison",
        ),
        Valid(
            """
            import numpy as np

            class SoftmaxCE:
                def forward(self, z, y):
                    e = np.exp(z - z.max(axis=1, keepdims=True))
                    self.p = e / e.sum(axis=1, keepdims=True)
                    return -np.log(np.clip(self.p[np.arange(len(y)), y], 1e-12, 1))

                def backward(self, y):
                    d = self.p.copy()
                    d[np.arange(len(y)), y] -= 1
                    return d / len(y)
            """,
            why="the fused gradient divides by the batch size, not by a probability",
        ),
        Valid(
            """
            import numpy as np

            class Loss_CategoricalCrossentropy:
                def forward(self, y_pred, y_true):
                    samples = len(y_pred)
                    y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
                    if len(y_true.shape) == 1:
                        correct_confidences = y_pred_clipped[range(samples), y_true]
                    elif len(y_true.shape) == 2:
                        correct_confidences = np.sum(y_pred_clipped * y_true, axis=1)
                    return -np.log(correct_confidences)

                def backward(self, dvalues, y_true):
                    samples = len(dvalues)
                    labels = len(dvalues[0])
                    if len(y_true.shape) == 1:
                        y_true = np.eye(labels)[y_true]
                    dvalues = np.clip(dvalues, 1e-7, 1 - 1e-7)
                    self.dinputs = -y_true / dvalues
                    self.dinputs = self.dinputs / samples
            """,
            why="the nnfs book's own loss: its backward clips dvalues too",
        ),
        Valid(
            """
            import numpy as np

            class SwappedPositions:
                def forward(self, y_pred, y_true):
                    return -np.mean(np.log(np.clip(y_pred[range(len(y_pred)), y_true], 1e-7, 1)))

                def backward(self, y_true, dvalues):
                    return -y_true / dvalues

            class NoSharedTarget:
                def forward(self, y_pred, y_true):
                    return -np.mean(np.log(np.clip(y_pred[range(len(y_pred)), y_true], 1e-7, 1)))

                def backward(self, dvalues, labels):
                    return -labels / dvalues

            class LogOfTheSoftmax:
                def forward(self, inputs, y_true):
                    e = np.exp(inputs - inputs.max(axis=1, keepdims=True))
                    p = e / e.sum(axis=1, keepdims=True)
                    return -np.log(np.clip(p[range(len(inputs)), y_true], 1e-7, 1)).mean()

                def backward(self, dvalues, y_true):
                    return y_true / dvalues

            class NotACrossEntropy:
                def forward(self, x, scale):
                    return np.log(x) * 2

                def backward(self, dvalues, scale):
                    return -scale / dvalues
            """,
            why="near misses of the positional match: the positions differ, no target shared, the loss takes the log "
            "of a softmax it computes (not of the parameter in that position), a log that is no cross-entropy",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        model = numerics(analysis)
        reported: set[tuple[int, str]] = set()
        for node, numerator, denominator in _all_divisions(model):
            divisor = _probability_divisor(model, denominator)
            if divisor is None:
                continue
            probability, form = divisor
            scope = model.scope_of(node)
            order = scope.order_of(node, analysis)
            if form == "p" and _picked_by_its_own_draw(model, scope, order, probability):
                continue
            evidence = self._evidence(model, scope, order, node, numerator, denominator, probability, form)
            if evidence is None:
                continue
            reason, extra = evidence
            if _every_caller_clips(model, scope, probability, form):
                continue  # the guard is one call up: every caller in the module clips what it passes
            zero_floor = _zero_floor_clip(model, scope, order, probability, form)
            if zero_floor is not None:
                kept = f"`{model.code(zero_floor)}` keeps 0 in its range"
                extra = f" ({kept}; {extra[2:]}" if extra.startswith(" (") else f" ({kept})"
            statement = analysis.index.statement_of(node)
            key = (id(statement), model.code(probability))
            if key in reported:
                continue
            reported.add(key)
            saturates = "0 or 1" if form != "p" else "0"
            if model.inside_nan_to_num(node):
                outcome = (
                    f"once it saturates to {saturates}, np.nan_to_num turns the inf into +-1.8e308, "
                    "a gradient that still wrecks the update"
                )
            else:
                outcome = f"inf or nan once it saturates to {saturates}"
            yield Finding(
                node,
                f"`{model.code(node)}` divides by {reason} with no guard{extra}: {outcome} "
                f"(clip `{model.code(probability)}` to [eps, 1 - eps] first)",
            )

    def _evidence(
        self,
        model: Numerics,
        scope: Scope,
        order: int,
        division: cst.CSTNode,
        numerator: cst.BaseExpression,
        denominator: cst.BaseExpression,
        probability: cst.BaseExpression,
        form: str,
    ) -> Optional[tuple[str, str]]:
        """(what the divisor is, an optional remark) when it is known to be a probability."""
        name = model.code(probability)
        if not _numerator_is_gradient(numerator, probability):
            return None
        source = model.probability_source(probability, scope, order)
        if source is not None:
            return f"the {source} output `{name}`", ""
        averaged = _average_of_probability(model, probability, scope, order)
        if averaged is not None:
            mean = f"the mean of the {averaged[0]} output `{averaged[1]}`"
            if form == "p":
                return f"`{name}`, {mean},", ""
            return f"`{model.code(denominator)}`, with `{name}` {mean},", ""
        cached = None
        if not model.is_unguarded_parameter(probability, scope, order) and _zero_floor_clip(model, scope, order, probability, form) is None:
            cached = _unguarded_attribute(model, scope, order, probability)
            if cached is None:
                return None
        if form == "p(1-p)":
            if not _is_difference_with(model, numerator, name):
                return None  # the binary cross-entropy gradient divides p - y by p(1 - p)
            return f"`{model.code(denominator)}`, the variance of the probability `{name}`,", ""
        loss = _matching_loss(model, scope, name) if cached is None else None
        if loss is not None and not _names_in(numerator) & loss.targets:
            loss = None
        here = f"`{scope.function.name.value}`" if scope.function is not None else "this gradient"
        if loss is not None and loss.clipped:
            if loss.parameter != name:
                return f"the probability `{name}`", (
                    f" (the matching loss `{loss.name}` clips `{loss.parameter}`, the prediction it receives in the "
                    f"position of `{name}` beside the same target, but {here} does not)"
                )
            return f"the probability `{name}`", f" (the matching loss `{loss.name}` clips `{name}`, but {here} does not)"
        statement = model.analysis.index.statement_of(division)
        other_form = "1-p" if form == "p" else "p"
        for _, _, other in _divisions_in(model, statement):
            found = _probability_divisor(model, other)
            if found is not None and found[1] == other_form and model.code(found[0]) == name:
                read = f", read from `{cached}` unclipped" if cached is not None else ""
                if _inside_log(model, division, statement):
                    # `x * np.log(x / y) + (1 - x) * np.log((1 - x) / (1 - y))`: a divergence's value, not a derivative
                    return f"the probability `{name}`", f" (this divergence's logs divide by `{name}` and by `1 - {name}`{read})"
                return f"the probability `{name}`", f" (this cross-entropy derivative divides by `{name}` and by `1 - {name}`{read})"
        if cached is not None:
            return None  # a cached attribute: only the derivative's own shape is evidence
        if loss is not None:
            if loss.parameter != name:
                return f"the probability `{name}`", (
                    f" (the matching loss `{loss.name}` takes the log of `{loss.parameter}`, the prediction it "
                    f"receives in the position of `{name}` beside the same target)"
                )
            return f"the probability `{name}`", f" (the matching loss `{loss.name}` takes log({name}))"
        return None


def _average_of_probability(model: Numerics, probability: cst.BaseExpression, scope: Scope, order: int) -> Optional[tuple[str, str]]:
    """(kind, the output's code) when `probability` is a name bound only to the mean of a softmax/sigmoid output
    (`rho_hat = np.mean(a2, axis=1)`, `np.sum(a2, axis=1) / m`, `(1.0 / m) * np.sum(a2, axis=0)`, then perhaps
    `np.tile(rho_hat, (m, 1))`): a sparse autoencoder's mean activation, 1.0 once the unit saturates on every
    example."""
    node = unwrap(probability)
    for _ in range(3):
        if type(node) is not cst.Name or scope.mutated_before(node.value, order) or scope.compared_before(node.value, order):
            return None
        bindings = scope.before(node.value, order)
        if len(bindings) != 1 or bindings[0].value is None or bindings[0].augmented is not None:
            return None
        order = bindings[0].order
        value = unwrap(bindings[0].value)
        while type(value) is cst.Call and last_part(call_name(value)) in ("tile", "repeat") and value.args:
            value = unwrap(value.args[0].value)  # `np.tile(rho_hat, (m, 1))`: the same means, repeated
        if type(value) is cst.Name:
            node = value
            continue
        averaged = _averaged(value)
        if averaged is None:
            return None
        kind = model.probability_source(averaged, scope, order)
        return (kind, model.code(averaged)) if kind is not None else None
    return None


def _averaged(value: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """The array `value` averages: `np.mean(a, ...)`, `a.mean(...)`, `np.sum(a, ...) / m`, `(1 / m) * np.sum(a, ...)`."""
    if type(value) is cst.BinaryOperation:
        if type(value.operator) is cst.Divide:
            return _summed(unwrap(value.left))
        if type(value.operator) is cst.Multiply:
            for factor, other in ((value.left, value.right), (value.right, value.left)):
                factor = unwrap(factor)
                if type(factor) is cst.BinaryOperation and type(factor.operator) is cst.Divide and literal_number(unwrap(factor.left)) == 1:
                    return _summed(unwrap(other))
        return None
    if type(value) is cst.Call and last_part(call_name(value)) in ("mean", "average"):
        return _reduced_array(value)
    return None


def _summed(value: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`a` of `np.sum(a, ...)` or `a.sum(...)`."""
    if type(value) is cst.Call and last_part(call_name(value)) == "sum":
        return _reduced_array(value)
    return None


def _reduced_array(call: cst.Call) -> Optional[cst.BaseExpression]:
    """The array a reduction call reads: `a` of `a.mean()`, or the first positional argument of `np.mean(a)`."""
    func = call.func
    if type(func) is cst.Attribute and dotted_name(func.value) not in ("np", "numpy", "torch"):
        return func.value
    positional = [argument.value for argument in call.args if argument.keyword is None and not argument.star]
    return unwrap(positional[0]) if positional else None


def _inside_log(model: Numerics, division: cst.CSTNode, statement: Optional[cst.CSTNode]) -> bool:
    """The division is (within its statement) inside the argument of a log call."""
    for ancestor in model.analysis.index.ancestors(division):
        if ancestor is statement:
            break
        if type(ancestor) is cst.Call and last_part(call_name(ancestor)) in ("log", "log2", "log10"):
            return True
    return False


def _picked_by_its_own_draw(model: Numerics, scope: Scope, order: int, probability: cst.BaseExpression) -> bool:
    """`p[0, a]` where `a` was drawn from `p` (`a = np.random.choice(n, p=p[0])`) or is its argmax
    (`a = np.argmax(p)`): REINFORCE's `dsoftmax / p[a]`. A sampled outcome has a probability above 0
    and the argmax one at least 1/n, so the division cannot meet a 0 (and a clip would bias it)."""
    if type(probability) is not cst.Subscript or not probability.slice:
        return False
    base = _root(probability)
    last = probability.slice[-1].slice
    if base is None or type(last) is not cst.Index or type(last.value) is not cst.Name:
        return False
    bindings = scope.before(last.value.value, order)
    if len(bindings) != 1 or bindings[0].value is None:
        return False
    drawn_at = bindings[0].order
    if any(drawn_at < binding.order < order for binding in scope.bindings.get(base, ())) or any(
        drawn_at < at < order for at in scope.mutations.get(base, ())
    ):
        return False  # `probs` rebound (the next state's policy) or written between the draw and the division
    draw = unwrap(bindings[0].value)
    if type(draw) is not cst.Call:
        return False
    # the row the division reads: `probs[0, a]` reads `probs[0]`, `probs[a]` reads `probs`
    row = model.code(probability.value) if len(probability.slice) == 1 else (
        model.code(probability.value) + "[" + ", ".join(model.code(e.slice) for e in probability.slice[:-1]) + "]"
    )
    operation = last_part(call_name(draw))
    if operation == "choice":
        weights = [arg.value for arg in draw.args if arg.keyword is not None and arg.keyword.value == "p"]
        return bool(weights) and _root(unwrap(weights[0])) == base and model.code(unwrap(weights[0])) in (row, model.code(probability.value))
    if operation == "argmax":
        receiver = draw.func.value if type(draw.func) is cst.Attribute and not _is_module(draw.func.value) else None
        subject = receiver if receiver is not None else (draw.args[0].value if draw.args else None)
        return subject is not None and _root(unwrap(subject)) == base and model.code(unwrap(subject)) in (row, model.code(probability.value))
    return False


def _is_module(node: cst.BaseExpression) -> bool:
    """`np` in `np.argmax(p)` (a library module, not an array method's receiver)."""
    return dotted_name(node) in ("np", "numpy", "cp", "cupy", "jnp", "torch")


def _probability_divisor(model: Numerics, node: cst.BaseExpression) -> Optional[tuple[cst.BaseExpression, str]]:
    """(p, form) when the divisor is `p`, `1 - p` or `p * (1 - p)` with `p` a name (or subscript)."""
    node = unwrap(node)
    if _is_array_name(node):
        return node, "p"
    complement = _complement(node)
    if complement is not None:
        return complement, "1-p"
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.Multiply:
        for first, second in ((node.left, node.right), (node.right, node.left)):
            if _is_array_name(first) and (c := _complement(second)) is not None and model.code(c) == model.code(first):
                return first, "p(1-p)"
    return None


def _complement(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    if (
        type(node) is cst.BinaryOperation
        and type(node.operator) is cst.Subtract
        and is_number(node.left, 1)
        and _is_array_name(node.right)
    ):
        return node.right
    return None


def _is_array_name(node: cst.BaseExpression) -> bool:
    if type(node) is cst.Subscript:
        return _is_array_name(node.value)
    return type(node) is cst.Name


def _numerator_is_gradient(numerator: cst.BaseExpression, probability: cst.BaseExpression) -> bool:
    """The numerator involves another array (the target): `-y`, `1 - y`, `p - y`, `y`."""
    own = _root(probability)
    stack: list[cst.CSTNode] = [numerator]
    while stack:
        current = stack.pop()
        if type(current) is cst.Name and current.value != own:
            return True
        if type(current) is cst.Call:
            return False
        if type(current) is cst.Attribute:
            continue
        stack.extend(child_nodes(current))
    return False


def _root(node: cst.BaseExpression) -> Optional[str]:
    while type(node) is cst.Subscript:
        node = node.value
    return node.value if type(node) is cst.Name else None


def _division(model: Numerics, node: cst.CSTNode) -> Optional[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """(numerator, denominator) of `a / b` or `np.divide(a, b)`, or of a product with a reciprocal,
    `a * (1 / b)` or `np.multiply(a, 1 / b)` (a VAE's `-y * (1 / out)`)."""
    if type(node) is cst.BinaryOperation:
        if type(node.operator) is cst.Divide:
            return node.left, node.right
        if type(node.operator) is cst.Multiply:
            for factor, other in ((node.right, node.left), (node.left, node.right)):
                denominator = reciprocal_of(factor)
                if denominator is not None:
                    return other, denominator
        return None
    if type(node) is cst.Call and model.operation(node) in ("divide", "true_divide") and not model.is_method_call(node):
        positional = [arg.value for arg in node.args if arg.keyword is None and not arg.star]
        if len(positional) == 2:
            return positional[0], positional[1]
    if type(node) is cst.Call:
        return reciprocal_product(model, node)
    return None


def _all_divisions(model: Numerics) -> Iterator[tuple[cst.CSTNode, cst.BaseExpression, cst.BaseExpression]]:
    index = model.analysis.index
    for node in (*index.nodes(cst.BinaryOperation), *index.nodes(cst.Call)):
        parts = _division(model, node)
        if parts is not None:
            yield node, parts[0], parts[1]


def _divisions_in(model: Numerics, statement: cst.CSTNode) -> Iterator[tuple[cst.CSTNode, cst.BaseExpression, cst.BaseExpression]]:
    stack = [statement]
    while stack:
        current = stack.pop()
        if type(current) in (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.IndentedBlock):
            continue
        parts = _division(model, current)
        if parts is not None:
            yield current, parts[0], parts[1]
        stack.extend(child_nodes(current))


@dataclass(frozen=True)
class MatchingLoss:
    """A sibling loss that takes the log of the probability a gradient divides by."""

    name: str  # the loss function's name
    clipped: bool  # it clips (or otherwise guards) the probability before the log
    targets: frozenset[str]  # the target names weighting its log
    parameter: str  # its parameter holding the probability (the gradient's own name, or the one in that position)


def _matching_loss(model: Numerics, scope: Scope, name: str) -> Optional[MatchingLoss]:
    """The sibling loss (same class, or module level) whose cross-entropy takes `log` of the
    probability the parameter `name` holds, possibly after clipping it or selecting from it
    (`p[range(n), y]`, `np.sum(p * y, axis=1)`): a sibling with a parameter called `name`, or, for a
    method, a sibling method with another name in the same position that shares a target parameter
    (same name, same position) with this one, the target that weights its log (the nnfs book's
    `forward(self, y_pred, y_true)` / `backward(self, dvalues, y_true)`)."""
    function = scope.function
    if function is None or name not in scope.params:
        return None
    key = ("GL304-matching-loss", function, name)
    if key not in model.memo:
        model.memo[key] = _find_matching_loss(model, function, name)
    return model.memo[key]  # type: ignore[return-value]


def _find_matching_loss(model: Numerics, function: cst.FunctionDef, name: str) -> Optional[MatchingLoss]:
    index = model.analysis.index
    owner = index.class_of(function)
    if owner is not None:
        siblings = list(index.methods(owner).values())
    else:
        siblings = [f for f in index.nodes_in(None, cst.FunctionDef)]
    for sibling in siblings:
        if sibling is function or name not in model.scope(sibling).params:
            continue
        found = _log_of_parameter(model, sibling, name)
        if found is not None:
            return found
    if owner is None:
        return None
    mine = positional_parameters(function, is_method=True)
    if name not in mine:
        return None
    position = mine.index(name)
    for sibling in siblings:
        if sibling is function:
            continue
        theirs = positional_parameters(sibling, is_method=True)
        if len(theirs) <= position or theirs[position] == name or theirs[position] in mine:
            continue
        shared = frozenset(target for target, other in zip(mine, theirs) if target == other)
        if not shared:
            continue
        found = _log_of_parameter(model, sibling, theirs[position])
        if found is not None and found.targets & shared:
            return MatchingLoss(found.name, found.clipped, found.targets & shared, found.parameter)
    return None


def _log_of_parameter(model: Numerics, sibling: cst.FunctionDef, name: str) -> Optional[MatchingLoss]:
    """A cross-entropy log in `sibling` of the probability its parameter `name` holds: the log's
    argument is written `p`, `p[...]`, `1 - p` or a clip of one of these (the registry's _GL304_LOG),
    and reaches the parameter through names, clips and per-row selections (numerics.probability_paths)."""
    key = ("GL304-log-of-parameter", sibling, name)
    if key not in model.memo:
        model.memo[key] = _find_log_of_parameter(model, sibling, name)
    return model.memo[key]  # type: ignore[return-value]


def _find_log_of_parameter(model: Numerics, sibling: cst.FunctionDef, name: str) -> Optional[MatchingLoss]:
    index = model.analysis.index
    sibling_scope = model.scope(sibling)
    for call in index.nodes_in(sibling, cst.Call):
        if model.operation(call) != "log" or model.is_method_call(call):
            continue
        argument = model.operand(call)
        if argument is None:
            continue
        probability = _strip_complement(argument)
        clipped = False
        if type(probability) is cst.Call and model.operation(probability) in ("clip", "maximum", "clamp"):
            inner = model.operand(probability)
            if inner is None:
                continue
            probability, clipped = _strip_complement(inner), True
        root = _root(probability)
        if root is None:
            continue
        paths = model.probability_paths(probability, sibling_scope, sibling_scope.order_of(call, model.analysis))
        reaching = [path for path in paths or () if type(path.end) is cst.Name and path.end.value == name]
        if not reaching and root != name:
            continue
        weights = set(cross_entropy_weights(model, call, argument) or ())
        if in_loss_term(model, call):
            for path in reaching:
                weights |= path.weights
        if not weights:
            weights = _weights_through_name(model, sibling_scope, call, root)
        if not weights:
            continue
        guarded = bool(reaching) and all(path.guarded for path in reaching)
        clipped = clipped or guarded or _rebound_by_guard(model, sibling_scope, name)
        return MatchingLoss(sibling.name.value, clipped, frozenset(weights), name)
    return None


def _rebound_by_guard(model: Numerics, scope: Scope, name: str) -> bool:
    """`p = np.clip(p, ...)`, `p = helper(p)`, an in-place clip, or any mutation of `p`."""
    if scope.mutations.get(name):
        return True
    for binding in scope.bindings.get(name, ()):
        if binding.value is not None and type(binding.value) is cst.Call:
            return True
    return False


def _names_in(node: cst.CSTNode) -> set[str]:
    found = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if type(current) is cst.Name:
            found.add(current.value)
        elif type(current) is cst.Attribute:
            dotted = dotted_name(current)
            if dotted:
                found.add(dotted)
            continue
        stack.extend(child_nodes(current))
    return found


def _is_difference_with(model: Numerics, node: cst.BaseExpression, name: str) -> bool:
    """`p - y` or `y - p` (a prediction minus its target)."""
    node = unwrap(node)
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:
        node = node.expression
    if not (type(node) is cst.BinaryOperation and type(node.operator) is cst.Subtract):
        return False
    sides = {model.code(node.left), model.code(node.right)}
    return name in sides and not any(is_number(side) for side in (node.left, node.right))


def _strip_complement(node: cst.BaseExpression) -> cst.BaseExpression:
    c = _complement(node) if type(node) is cst.BinaryOperation else None
    return c if c is not None else node


def _weights_through_name(model: Numerics, scope: Scope, call: cst.Call, own: str) -> set[str]:
    """The targets weighting a log bound to a name first and weighted where the name is read:
    `logs = np.log(prediction, where=prediction > 0)` then `return -logs @ target` (numpynet's
    CceLoss.call); the read must be negated or reduced in its statement (a negative log-likelihood)."""
    index = model.analysis.index
    assign = index.parent(call)
    if type(assign) is not cst.Assign or len(assign.targets) != 1 or type(assign.targets[0].target) is not cst.Name:
        return set()
    name = assign.targets[0].target.value
    bound_at = scope.order.get(assign)
    if bound_at is None or scope.function is None:
        return set()
    found: set[str] = set()
    for use in index.nodes_in(scope.function, cst.Name):
        if use.value != name or use is assign.targets[0].target:
            continue
        order = scope.order_of(use, model.analysis)
        bindings = scope.before(name, order)
        if not bindings or bindings[-1].statement is not assign:
            continue
        child: cst.CSTNode = use
        parent = index.parent(use)
        if type(parent) is cst.UnaryOperation and type(parent.operator) is cst.Minus:
            child, parent = parent, index.parent(parent)
        if type(parent) is cst.BinaryOperation and type(parent.operator) in (cst.Multiply, cst.MatrixMultiply):
            other = parent.right if parent.left is child else parent.left
            target = target_name(other)
            if target is not None and target != own and in_loss_term(model, use):  # type: ignore[arg-type]
                found.add(target)
    return found


def _unguarded_attribute(model: Numerics, scope: Scope, order: int, probability: cst.BaseExpression) -> Optional[str]:
    """`self.last_y_pred` when `probability` (a local name) is that attribute of the method's class,
    bound once through plain names and value-keeping conversions (`y_pred = self.last_y_pred`,
    `p = y_pred.flatten()`: no subscript, no branch, nothing written into it on the way), and every
    store of the attribute in the class stores an unclipped value (numpy-nn's BinaryCrossEntropyLoss
    caches `self.last_y_pred = y_pred` in `__call__` and divides by it in `gradient`); else None.
    Unsure (a container's slot, a write into the attribute, a store that cannot be followed): None."""
    node = unwrap(probability)
    function = scope.function
    if type(node) is not cst.Name or function is None:
        return None
    attribute = None
    for _ in range(6):
        name = node.value  # type: ignore[union-attr]
        if name in scope.params or scope.mutated_before(name, order) or scope.compared_before(name, order):
            return None
        bindings = scope.before(name, order)
        if len(bindings) != 1 or bindings[0].value is None or bindings[0].augmented is not None:
            return None
        value = unwrap(bindings[0].value)
        order = bindings[0].order
        while type(value) is cst.Call and model.operation(value) in TRANSPARENT and model.is_method_call(value):
            value = unwrap(value.func.value)  # type: ignore[attr-defined]
        if type(value) is cst.Attribute:
            attribute = dotted_name(value)
            break
        if type(value) is not cst.Name:
            return None
        node = value
    owner = model.analysis.index.class_of(function)
    if attribute is None or not attribute.startswith("self.") or attribute.count(".") != 1 or owner is None:
        return None
    key = ("GL304-unguarded-attribute", owner, attribute)
    if key not in model.memo:
        model.memo[key] = _stored_unguarded(model, owner, attribute)
    return attribute if model.memo[key] else None


# Method calls that keep an array's values (a cached prediction followed through them).


def _stored_unguarded(model: Numerics, owner: cst.ClassDef, attribute: str) -> bool:
    """Whether the class stores `attribute` somewhere, always as a plain value with no clip on its way
    (followed through the storing method's names), never clips what it stored afterwards (`np.clip(p,
    eps, 1 - eps, p)` writes into the same array), and never writes into it or through a property."""
    methods = model.analysis.index.methods(owner)
    if attribute.split(".", 1)[1] in methods or "__setattr__" in methods:
        return False
    stores = 0
    for method in methods.values():
        method_scope = model.scope(method)
        if method_scope.mutations.get(attribute):
            return False
        for binding in method_scope.bindings.get(attribute, ()):
            if binding.value is None:
                return False  # `self.p += ...`, a loop target: not followed
            paths = model.probability_paths(binding.value, method_scope, binding.order)
            if not paths or any(path.guarded or path.selection is not None for path in paths):
                return False
            for path in paths:
                if not _raw_value(model, method_scope, path):
                    return False  # `sigmoid(z)`, `self._safe(p)`, `np.where(...)`: may clip
                if type(path.end) is cst.Name and _may_be_clipped(model, method, method_scope, path.end.value):
                    return False
            stores += 1
    return stores > 0


def _raw_value(model: Numerics, scope: Scope, path) -> bool:
    """Whether a stored value is provably unclipped where the path ends: a parameter of the storing
    method (not compared before), or a softmax/sigmoid computed by body with nothing clipping it
    (`1 / (1 + np.exp(-z))`, a module helper returning that). A call that cannot be seen through (a
    helper that clips, `np.where(p < eps, eps, p)`) is doubt."""
    end = path.end
    if end is None:
        return False
    if type(end) is cst.Name:
        name = end.value
        return name in scope.params and name not in ("self", "cls") and not scope.compared_before(name, path.order)
    return model.kind_of(end, scope, path.order) is not None


def _may_be_clipped(model: Numerics, method: cst.FunctionDef, scope: Scope, name: str) -> bool:
    """Whether the method writes into `name` (`p[p == 0] = eps`, `out=p`, numpy's positional `out`:
    `np.clip(p, eps, 1 - eps, p)`, all in the scope's mutations), clips it in place (`p.clamp_(...)`)
    or calls a clip whose result it drops."""
    if scope.mutations.get(name):
        return True
    index = model.analysis.index
    for call in index.nodes_in(method, cst.Call):
        operation = model.operation(call)
        receiver = call.func.value if type(call.func) is cst.Attribute else None
        if operation in ("clamp_", "clip_") and type(receiver) is cst.Name and receiver.value == name:
            return True
        if operation not in ("clip", "clamp", "maximum", "minimum", "fmax", "fmin"):
            continue
        if type(index.parent(call)) is cst.Expr and any(type(arg.value) is cst.Name and arg.value.value == name for arg in call.args):
            return True
    return False


def _zero_floor_clip(model: Numerics, scope: Scope, order: int, probability: cst.BaseExpression, form: str) -> Optional[cst.Call]:
    """The clip, when `probability` is a parameter of this function whose only guards on every path
    are clips keeping 0 in range (`p = np.clip(p, 0.0, 1.0)`, `np.maximum(p, 0)`) and the division is
    by `p` (or `p * (1 - p)`); else None."""
    if form == "1-p":
        return None
    node = unwrap(probability)
    if type(node) is cst.Subscript:
        node = unwrap(node.value)
    if type(node) is not cst.Name or node.value not in scope.params or scope.compared_before(node.value, order):
        return None
    paths = model.probability_paths(node, scope, order)
    found = None
    for path in paths or ():
        end = path.end
        if type(end) is not cst.Name or end.value not in scope.params or end.value in ("self", "cls") or path.selection is not None:
            return None
        if path.guarded and path.zero_floor is None:
            return None
        found = found or path.zero_floor
    return found


def _every_caller_clips(model: Numerics, scope: Scope, probability: cst.BaseExpression, form: str = "p") -> bool:
    """Whether the probability is a parameter of a private function (`_name`) that the module calls at
    least once, only by its plain name (or as `self._name(...)` in its class), and every call passes, in that parameter's
    place, a value clipped on its way (neuralnetlib's `_focal_loss_derivative(y_true, y_pred, ...)`,
    called by `FocalLoss.derivative` right after `y_pred = np.clip(y_pred, EPSILON, 1 - EPSILON)`)."""
    node = unwrap(probability)
    if type(node) is cst.Subscript:
        node = unwrap(node.value)
    function = scope.function
    if type(node) is not cst.Name or function is None or node.value not in scope.params:
        return False
    key = ("GL304-callers-clip", function, node.value, form == "1-p")
    if key not in model.memo:
        model.memo[key] = _callers_clip(model, function, node.value, form == "1-p")
    return bool(model.memo[key])


def _callers_clip(model: Numerics, function: cst.FunctionDef, name: str, zero_floor_guards: bool) -> bool:
    called = function.name.value
    if not called.startswith("_") or called.startswith("__"):
        return False  # a public function or method: callers outside the module may pass anything
    index = model.analysis.index
    owner = index.class_of(function)
    params = positional_parameters(function, is_method=owner is not None)
    position = params.index(name) if name in params else None
    calls: list[cst.Call] = []
    for use in _names_by_value(model).get(called, ()):
        if use is function.name:
            continue
        parent = index.parent(use)
        if owner is None and type(parent) is cst.Call and parent.func is use:
            calls.append(parent)
        elif owner is not None and type(parent) is cst.Attribute and parent.attr is use:
            outer = index.parent(parent)
            if type(outer) is cst.Call and outer.func is parent and type(parent.value) is cst.Name and parent.value.value == "self":
                calls.append(outer)
            else:
                return False  # the method escapes (`f = self.derivative`): unknown callers
        else:
            return False  # passed on, stored, shadowed or a method called elsewhere: unknown callers
    if not calls:
        return False
    for call in calls:
        if model.local_function(call) is not function:
            return False
        argument = argument_for(call, name, position)
        if argument is None:
            return False
        caller_scope = model.scope_of(call)
        paths = model.probability_paths(argument, caller_scope, caller_scope.order_of(call, model.analysis), entry_value=True)
        if not paths or not all(path.guarded and (zero_floor_guards or path.zero_floor is None) for path in paths):
            return False  # a path with no clip (`if clip: p = np.clip(...)`), a clip keeping 0 (`np.clip(p, 0.0, 1.0)`)
    return True


def _names_by_value(model: Numerics) -> "dict[str, list[cst.Name]]":
    """Every Name node of the module by its text (built once per module, on demand)."""
    key = "GL304-names-by-value"
    found = model.memo.get(key)
    if found is None:
        found = {}
        for use in model.analysis.index.nodes(cst.Name):
            found.setdefault(use.value, []).append(use)
        model.memo[key] = found
    return found  # type: ignore[return-value]
