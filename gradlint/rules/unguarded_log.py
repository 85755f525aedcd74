"""GL303 unguarded-log: the log of a probability in a loss, with no clip or epsilon."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.numerics import Numerics, ProbabilityPath, Scope, cross_entropy_weights, in_loss_term, is_number, numerics
from gradlint.analysis.syntax import last_part
from gradlint.diagnostics import Severity
from gradlint.naming import is_target_name
from gradlint.rule import Finding, Invalid, Rule, Valid


class UnguardedLog(Rule):
    code = "GL303"
    name = "unguarded-log"
    severity = Severity.WARNING
    summary = "log(p) of a probability with no clip or epsilon: -inf, then nan, once a probability saturates to 0."
    what_it_does = """
        Finds `log(p)` (and `log(1 - p)`) where `p` is a probability: the output of a softmax or a
        sigmoid computed in the same function (also stored on `self` earlier in the same method, with no
        call of a method of `self` in between) or returned by a function whose body computes one
        (also a function imported from another module of the package whose name says softmax,
        sigmoid or expit: `from sigmoid import sigmoid`, `utils.sigmoid(z)`), or the prediction parameter of a cross-entropy (`-sum(y * log(p))`, `-log(p[range(n), y])`;
        `-y * log(p)` when `(1 - y) * log(1 - p)` stands beside it, so both logs of a BCE line count),
        also when the log takes each row's probability selected from such a prediction, by a name
        (`correct = p[range(n), y]` or `correct = np.sum(p * y, axis=1)`, then `-log(correct)`) or
        inline (`-log(np.sum(p * y, axis=1))`; an entry stored this step, `ps[t] = softmax; -log(ps[t][y[t], 0])`;
        a sum of two parameters only when one is named as the
        targets, `y`, `labels`, `onehot`: `np.sum(pi * pdfs, axis=1)` is a mixture's likelihood; when
        branches select it differently, from the branch that selects from unclipped predictions), when
        nothing bounds it away from 0: no `np.clip`, no
        `+ eps`, no `np.maximum(p, eps)` (also in place: `np.clip(p, eps, 1 - eps, p)`), no helper it
        went through, no comparison that guards it.
        A log inside `np.nan_to_num(...)` is taken as guarded: the author maps `0 * log(0)` to a
        finite value on purpose (Nielsen's `CrossEntropyCost.fn`); so is one inside numpy's
        `np.nansum(...)` or `np.nanmean(...)`, which drops that nan (not jax's or autograd's: their
        gradient of the dropped term is still nan).
        """
    why_bad = """
        A softmax or sigmoid saturates to exactly 0.0 in floating point (a logit gap above ~745 in
        float64, ~104 in float32). `log(0)` is -inf, `0 * -inf` is nan, and one saturated sample turns
        the loss into inf or nan, and with it every gradient taken through the log (by autograd, or
        by a hand-written chain through `1/p`); a fused `p - y` gradient survives, the loss curve does not.
        """
    example = """
        def cross_entropy(p, y):
            return -np.mean(np.sum(y * np.log(p), axis=1))
        """
    use_instead = """
        def cross_entropy(p, y, eps=1e-12):
            return -np.mean(np.sum(y * np.log(np.clip(p, eps, 1.0)), axis=1))

        # or, better, compute log-softmax from the logits:
        def cross_entropy_from_logits(z, y):
            log_p = z - logsumexp(z, axis=1, keepdims=True)
            return -np.mean(np.sum(y * log_p, axis=1))
        """
    references = ("Cross-entropy: https://en.wikipedia.org/wiki/Cross-entropy",)

    INVALID = (
        Invalid(
            """
            import numpy as np

            def lossFun(inputs, targets, hprev, Wxh, Whh, Why, bh, by):
                xs, hs, ys, ps = {}, {}, {}, {}
                hs[-1] = np.copy(hprev)
                loss = 0
                for t in range(len(inputs)):
                    hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)
                    ys[t] = np.dot(Why, hs[t]) + by
                    ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
                    loss += -np.log(ps[t][targets[t], 0])
                return loss
            """,
            line=11,
            message="takes the log of the softmax output `ps[t][targets[t], 0]`",
            why="Karpathy's min-char-rnn.py: the softmax kept per step in a dict, its target entry's log unclipped",
        ),
        Invalid(
            """
            import numpy as np

            def cross_entropy(p, y):
                return -np.mean(np.sum(y * np.log(p), axis=1))
            """,
            line=4,
            message="`np.log(p)`",
            why="free function: the prediction parameter of a cross-entropy",
        ),
        Invalid(
            """
            import numpy as np

            def cross_entropy(p, y):
                return -np.mean(np.log(np.sum(p * y, axis=1)))
            """,
            line=4,
            message="the predicted probability of each row's target, and neither it nor",
            why="the one-hot selection written inline in the log (no exp, softmax or sigmoid in the file)",
        ),
        Invalid(
            """
            import torch

            class NLL:
                def forward(self, logits, onehot):
                    probs = torch.softmax(logits, dim=1)
                    return -torch.log((probs * onehot).sum(dim=1)).mean()
            """,
            line=6,
            message="`torch.log((probs * onehot).sum(dim=1))`",
            why="layer class, torch: the selection as a method sum of a parenthesised product",
        ),
        Invalid(
            """
            import numpy as np

            class SoftmaxCrossEntropy:
                def forward(self, logits, labels):
                    e = np.exp(logits - logits.max(axis=1, keepdims=True))
                    self.probs = probs = e / e.sum(axis=1, keepdims=True)
                    n = logits.shape[0]
                    return -np.log(probs[np.arange(n), labels]).mean()
            """,
            line=8,
            message="softmax output",
            why="layer class: log of the softmax output picked per label",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(z):
                return 1 / (1 + np.exp(-z))

            def bce(W, X, Y):
                A = sigmoid(W @ X)
                m = Y.shape[1]
                return -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
            """,
            line=9,
            message="sigmoid output",
            count=2,
            why="column layout: a sigmoid output from a helper, both logs of a binary cross-entropy",
        ),
        Invalid(
            """
            import numpy as np

            class Loss_CategoricalCrossentropy:
                def forward(self, y_pred, y_true):
                    samples = len(y_pred)
                    correct_confidences = y_pred[range(samples), y_true]
                    negative_log_likelihoods = -np.log(correct_confidences)
                    return np.mean(negative_log_likelihoods)
            """,
            line=7,
            message="`y_pred[range(samples), y_true]` on line 6 selects",
            why="nnfs book loss without its clip: the labels pick each row's probability, then -log of it",
        ),
        Invalid(
            """
            import numpy as np

            class Loss_CategoricalCrossentropy:
                def forward(self, y_pred, y_true):
                    correct_confidences = np.sum(y_pred * y_true, axis=1)
                    negative_log_likelihoods = -np.log(correct_confidences)
                    return np.mean(negative_log_likelihoods)
            """,
            line=6,
            message="`np.sum(y_pred * y_true, axis=1)` on line 5 selects",
            why="nnfs book loss without its clip: one-hot targets select each row's probability by a sum",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=1, keepdims=True))
                return e / np.sum(e, axis=1, keepdims=True)

            def nll(logits, labels):
                probs = softmax(logits)
                if labels.ndim == 2:
                    picked = np.sum(probs * labels, axis=1)
                else:
                    picked = probs[np.arange(len(labels)), labels]
                return np.mean(-np.log(picked))
            """,
            line=13,
            message="the softmax probability of each row's target",
            why="free functions: a softmax output picked per row in either branch (sparse or one-hot labels)",
        ),
        Invalid(
            """
            import numpy as np

            class Categorical_Cross_Entropy:
                def forward(self, y_pred, y_true):
                    samples = len(y_pred)
                    y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
                    if len(y_true.shape) == 1:
                        correct_confidences = y_pred_clipped[range(samples), y_true]
                    elif len(y_true.shape) == 2:
                        correct_confidences = np.sum(y_pred * y_true, axis=1)
                    negative_log_likelihoods = -np.log(correct_confidences)
                    return negative_log_likelihoods

            class Mirror:
                def forward(self, y_pred, y_true):
                    samples = len(y_pred)
                    y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
                    if len(y_true.shape) == 1:
                        correct_confidences = y_pred[range(samples), y_true]
                    elif len(y_true.shape) == 2:
                        correct_confidences = np.sum(y_pred_clipped * y_true, axis=1)
                    return np.mean(-np.log(correct_confidences))
            """,
            line=11,
            count=2,
            message="`np.sum(y_pred * y_true, axis=1)` on line 10 selects from predictions that are not clipped",
            why="DhruvK0/Neural-Networks-From-Scratch cat_cross_entropy.py: the clip is made, but the one-hot branch selects from the unclipped y_pred",
        ),
        Invalid(
            """
            import numpy as np
            import jax.numpy as jnp

            def bce(y, y_pred):
                n = y.shape[0]
                return np.sum(-y * np.log(y_pred) - (1 - y) * np.log(1 - y_pred)) / n

            def jax_ce(p, y):
                return -jnp.nansum(y * jnp.log(p))
            """,
            line=6,
            count=3,
            message="takes the log of the predicted probability of this cross-entropy",
            why="near misses of numpy-nn's np.nansum loss: a plain sum (both logs of the line, the first weighted "
            "by `-y`), and jax's nansum, whose gradient of the dropped 0 * log(0) term is still nan",
        ),
        Invalid(
            """
            import numpy as np

            class SigmoidWithLoss:
                def forward(self, x, t):
                    self.sig_out = 1 / (1 + np.exp(-x))
                    self.t = t
                    return -t * np.log(self.sig_out) - (1 - t) * np.log(1 - self.sig_out)
            """,
            line=7,
            count=2,
            message="takes the log of the sigmoid output `self.sig_out` with no clip or epsilon",
            why="real code (rw5b miss/04, SigmoidWithLoss.forward of index id 16669687239; also DEVLOKER's "
            "CrossEntropy `self.p = softmax(X)`): the output cached on self earlier in the same method",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            class Guarded:
                def forward(self, x, t, eps=1e-7):
                    self.out = 1 / (1 + np.exp(-x))
                    self.out[self.out < eps] = eps
                    return -t * np.log(self.out)

            class ClippedOut:
                def forward(self, x, t, eps=1e-7):
                    self.out = 1 / (1 + np.exp(-x))
                    np.clip(self.out, eps, 1 - eps, out=self.out)
                    return -t * np.log(self.out)

            class Base:
                def clip_probs(self):
                    self.out = np.clip(self.out, 1e-7, 1 - 1e-7)

            class Child(Base):
                def forward(self, x, t):
                    self.out = 1 / (1 + np.exp(-x))
                    super().clip_probs()
                    return -t * np.log(self.out)

            def loss(utils, x, t):
                p = utils.sigmoid(x)
                return -t * np.log(p)
            """,
            why="the adversarial review (rev12a fp/01, 03, 07): a stored output guarded in place, or through super(); "
            "a module name shadowed by a parameter",
        ),
        Valid(
            """
            import numpy as np

            class SigmoidWithLoss:
                def forward(self, x, t):
                    self.sig_out = 1 / (1 + np.exp(-x))
                    self.clip_output()
                    return -t * np.log(self.sig_out) - (1 - t) * np.log(1 - self.sig_out)

                def clip_output(self):
                    self.sig_out = np.clip(self.sig_out, 1e-7, 1 - 1e-7)

            class Clipped:
                def forward(self, x, t):
                    self.p = np.clip(1 / (1 + np.exp(-x)), 1e-7, 1 - 1e-7)
                    return -t * np.log(self.p)

            class Other:
                def forward(self, x, t):
                    self.p = 1 / (1 + np.exp(-x))
                    clip_in_place(self)
                    return -t * np.log(self.p)
            """,
            why="a method of self (or a call handed self) between the store and the log may re-bind it; a clipped store",
        ),
        Valid(
            """
            import numpy as np

            def loss_clipped(inputs, targets, ys):
                ps = {}
                loss = 0
                for t in range(len(inputs)):
                    ps[t] = np.exp(ys[t] - np.max(ys[t])) / np.sum(np.exp(ys[t] - np.max(ys[t])))
                    ps[t] = np.clip(ps[t], 1e-12, 1.0)
                    loss += -np.log(ps[t][targets[t], 0])
                return loss

            def loss_other_step(inputs, targets, ys):
                ps = {}
                loss = 0
                for t in range(1, len(inputs)):
                    ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
                    loss += -np.log(ps[t - 1][targets[t], 0])
                return loss
            """,
            why="near misses of min-char-rnn's loss: the stored entry clipped before its log, another step's entry read",
        ),
        Valid(
            """
            import numpy as np

            class BinaryCrossEntropyLoss:
                def __call__(self, y, y_pred):
                    self.last_y_pred = y_pred
                    self.last_y = y
                    n = y.shape[0]
                    loss = np.nansum(-y * np.log(y_pred) - (1 - y) * np.log(1 - y_pred)) / n
                    return loss

            class CrossEntropyLoss:
                def __call__(self, y, y_pred):
                    return np.nanmean(-np.sum(y * np.log(y_pred), axis=1))
            """,
            why="real code (numpy-nn losses): np.nansum / np.nanmean drop the nan of 0 * log(0) on purpose (a "
            "saturated correct prediction adds 0, a wrong one +inf, the loss's true value); numpy computes no "
            "gradient through it",
        ),
        Valid(
            """
            import numpy as np

            def nce_loss(y_true, y_pred, eps=1e-7):
                np.clip(y_pred, eps, 1 - eps, y_pred)
                return -np.sum(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))

            def logpdf_pos_b(x, b, c):
                return np.log(b) - np.log(-np.expm1(-b * np.log(c))) - (b + 1) * np.log(x)
            """,
            why="real code: numpy-ml's NCE loss clips in place with numpy's positional `out`; scipy's truncated "
            "Pareto logpdf, where `-b * np.log(c)` (a negated factor with no `(1 - b) * log` beside it) is no "
            "cross-entropy",
        ),
        Valid(
            """
            import numpy as np

            class CrossEntropyCost(object):
                @staticmethod
                def fn(a, y):
                    return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

                @staticmethod
                def delta(z, a, y):
                    return (a - y)
            """,
            why="real code (Nielsen's network2.py): np.nan_to_num maps 0 * log(0) to a finite value on purpose",
        ),
        Valid(
            """
            import numpy as np

            def cross_entropy(p, y, eps=1e-12):
                return -np.mean(np.log(np.sum(p * y, axis=1) + eps))

            def cross_entropy_clipped(p, y):
                return -np.mean(np.log(np.clip(np.sum(p * y, axis=1), 1e-12, 1.0)))

            def log_partition(scores):
                return np.log(np.sum(scores * scores, axis=1))
            """,
            why="the inline selection offset or clipped; and a log of a sum of squares (no selection)",
        ),
        Valid(
            """
            import numpy as np

            def gmm_nll(weights, densities):
                return -np.sum(np.log(np.sum(weights * densities, axis=1)))

            def mdn_loss(alpha, gauss):
                likelihood = np.sum(alpha * gauss, axis=1)
                return -np.mean(np.log(likelihood))

            def cox_partial_nll(risk, events, risk_matrix):
                return -np.mean(events * (np.log(risk) - np.log(np.sum(risk * risk_matrix, axis=1))))
            """,
            why="a mixture's likelihood (GMM, mixture density network) and a Cox risk-set total: a weighted sum of densities, no one-hot target",
        ),
        Valid(
            """
            import numpy as np
            from scipy.special import logsumexp

            def cross_entropy(z, y):
                log_p = z - logsumexp(z, axis=1, keepdims=True)
                return -np.mean(np.sum(y * log_p, axis=1))

            def nll(z, y):
                m = z.max(axis=1, keepdims=True)
                log_p = z - m - np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
                return -log_p[np.arange(len(y)), y].mean()
            """,
            why="catalog trap: log-softmax via logsumexp (log of a sum of exps, not of a probability)",
        ),
        Valid(
            """
            import numpy as np

            def clip_probs(p, eps=1e-12):
                return np.clip(p, eps, 1 - eps)

            def cross_entropy(p, y):
                p = clip_probs(p)
                return -np.sum(y * np.log(p))
            """,
            why="catalog trap: clipping done by a helper function",
        ),
        Valid(
            """
            import numpy as np

            def bce(p, y, eps=1e-7):
                return -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))

            def ce(p, y):
                return -np.sum(y * np.log(np.maximum(p, 1e-12)))

            def ce2(p, y):
                np.clip(p, 1e-12, 1.0, out=p)
                return -np.sum(y * np.log(p))
            """,
            why="+ eps, np.maximum, in-place clip",
        ),
        Valid(
            """
            import math

            def entropy_bits(counts, total):
                return -sum(c / total * math.log(c / total, 2) for c in counts if c)

            def log_likelihood(rate, k):
                return k * math.log(rate) - rate
            """,
            why="ordinary log in statistics code: no probability known to come from a softmax/sigmoid",
        ),
        Valid(
            """
            import numpy as np

            def ce(p, y):
                if np.any(p <= 0):
                    raise ValueError("probabilities must be positive")
                return -np.sum(y * np.log(p))
            """,
            why="the input is checked before the log",
        ),
        Valid(
            """
            import numpy as np

            class Loss_CategoricalCrossentropy:
                def calculate(self, output, y):
                    return np.mean(self.forward(output, y))

                def forward(self, y_pred, y_true):
                    samples = len(y_pred)
                    y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
                    if len(y_true.shape) == 1:
                        correct_confidences = y_pred_clipped[range(samples), y_true]
                    elif len(y_true.shape) == 2:
                        correct_confidences = np.sum(y_pred_clipped * y_true, axis=1)
                    negative_log_likelihoods = -np.log(correct_confidences)
                    return negative_log_likelihoods
            """,
            why="the nnfs book's own loss: y_pred is clipped before either selection",
        ),
        Valid(
            """
            import numpy as np

            def nll_clip_after(y_pred, y_true):
                picked = y_pred[range(len(y_pred)), y_true]
                picked = np.clip(picked, 1e-12, 1.0)
                return -np.log(picked).mean()

            def nll_eps(y_pred, y_true):
                picked = np.sum(y_pred * y_true, axis=1)
                return -np.mean(np.log(picked + 1e-12))

            def nll_offset(y_pred, y_true):
                safe = y_pred + 1e-9
                picked = np.sum(safe * y_true, axis=1)
                return -np.mean(np.log(picked))

            def nll_checked(y_pred, y_true):
                assert (y_pred > 0).all()
                picked = np.sum(y_pred * y_true, axis=1)
                return -np.mean(np.log(picked))

            def nll_optional_clip(y_pred, y_true, clip=True):
                picked = y_pred[range(len(y_pred)), y_true]
                if clip:
                    picked = np.maximum(picked, 1e-9)
                return -np.log(picked)

            def nll_optional_clip_first(y_pred, y_true, clip=True):
                probs = np.clip(y_pred, 1e-9, 1.0) if clip else y_pred
                picked = np.sum(probs * y_true, axis=1)
                return -np.log(picked)
            """,
            why="near misses: the selection clipped after, an epsilon before or inside the log, a positivity check, "
            "a clip on a branch the log may follow",
        ),
        Valid(
            """
            import numpy as np

            def log_picked(y_pred, y_true):
                picked = y_pred[range(len(y_pred)), y_true]
                return np.log(picked)

            def nll_of_global(y_true):
                picked = PREDICTIONS[range(len(y_true)), y_true]
                return -np.log(picked).mean()

            def nll_helper(p, y):
                picked = np.sum(smooth(p) * y, axis=1)
                return -np.log(picked).mean()

            def collision_entropy(p):
                total = np.sum(p * p, axis=1)
                return -np.log(total)
            """,
            why="near misses: a log that is no loss term, a selection from a global, from a helper's result (it may clip), "
            "the Renyi-2 entropy -log(sum p^2) (a sum of squares, no selection)",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        model = numerics(analysis)
        for call in analysis.index.nodes(cst.Call):
            if model.operation(call) != "log":
                continue
            if any(arg.keyword is not None for arg in call.args):
                continue  # `where=`, `out=`: handled by the caller
            if model.is_method_call(call) and call.args:
                continue  # `logger.log(level, msg)`
            argument = model.operand(call)
            if argument is None:
                continue
            finding = self._judge(model, call, argument)
            if finding is not None:
                yield finding

    def _judge(self, model: Numerics, call: cst.Call, argument: cst.BaseExpression) -> Optional[Finding]:
        analysis = model.analysis
        if model.inside_nan_to_num(call) or model.inside_numpy_nan_reduction(call):
            return None  # `0 * log(0)` mapped to 0 (Nielsen's `CrossEntropyCost.fn`) or dropped by np.nansum on purpose
        scope = model.scope_of(call)
        order = scope.order_of(call, analysis)
        probability = _complement_of(argument) or argument
        source = model.probability_source(probability, scope, order, imported=True)
        if source is None and type(probability) is cst.BinaryOperation:
            source = model.kind_of(probability, scope, order, imported=True)
        name = model.code(probability)
        if source is not None:
            subject = f"the {source} output `{name}` with no clip or epsilon"
        elif model.is_unguarded_parameter(probability, scope, order) and cross_entropy_weights(model, call, probability):
            subject = f"the predicted probability of this cross-entropy `{name}` with no clip or epsilon"
        elif probability is argument and type(argument) in (cst.Name, cst.Call, cst.Subscript):
            selected = _selected_probability(model, call, argument, scope, order)
            if selected is None:
                return None
            subject = f"`{name}`, {selected}"
        else:
            return None
        softmax = source == "softmax" or "softmax probability" in subject
        remedy = (
            f"take the log-softmax from the logits, z - max(z) - log(sum(exp(z - max(z)))), or clip: np.clip({name}, eps, 1.0)"
            if softmax
            else f"use np.clip({name}, eps, 1.0), or log-softmax or log-sigmoid from the logits"
        )
        return Finding(
            call,
            f"`{model.code(call)}` takes the log of {subject}: it is -inf once a probability saturates to 0, so the "
            f"loss becomes inf (nan where a zero target multiplies it), and so does any gradient taken through this "
            f"log ({remedy})",
        )


def _complement_of(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`p` for `1 - p`."""
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.Subtract and is_number(node.left, 1):
        return node.right
    return None


def _selected_probability(model: Numerics, call: cst.Call, argument: cst.BaseExpression, scope: Scope, order: int) -> Optional[str]:
    """How `argument` (the log's: a name or the selection itself) holds a probability picked per row from unclipped predictions:
    every value that reaches it is a selection (`p[range(n), y]`, `np.sum(p * y, axis=1)`) of arrays
    that are each an unguarded parameter or a softmax/sigmoid output, nothing on the way clips, and
    the log is a negative log-likelihood term (negated or reduced). None otherwise."""
    if not in_loss_term(model, call):
        return None
    paths = model.probability_paths(argument, scope, order)
    if not paths:
        return None
    kinds: set[str] = set()
    unguarded = []
    for path in paths:
        if path.guarded:
            continue  # `if sparse: c = p_clipped[range(n), y] else: c = np.sum(p * y, axis=1)`: the other branch may not be
        if path.selection is None or not path.weights:
            return None
        if type(path.selection) is cst.Call and type(path.end) is cst.Name and is_target_name(path.end.value, within=True):
            continue  # the one-hot sum's target factor (`np.sum(p_clipped * y_true, axis=1)` reaches y_true too)
        kind = _unguarded_source(model, scope, path)
        if kind is None:
            return None
        kinds.add(kind)
        unguarded.append(path)
    if not unguarded:
        return None
    clipped_after = {id(path.selection) for path in paths if path.guarded}
    if any(id(path.selection) in clipped_after for path in unguarded):
        return None  # the same selection clipped on one way only (`if clip: picked = np.maximum(picked, eps)`): the author's option
    if kinds == {"input"} and any(type(path.selection) is cst.Call for path in unguarded):
        # `np.sum(p * y, axis=1)` of two parameters picks each row's probability only when one of
        # them holds the one-hot targets: `np.sum(pi * pdfs, axis=1)` is a mixture's likelihood
        if not any(is_target_name(last_part(weight) or "", within=True) for path in unguarded for weight in path.weights):
            return None
    selections = {id(path.selection): path.selection for path in unguarded if path.selection is not None}
    first = next(iter(selections.values()))
    computed = kinds - {"input"}  # the one-hot sum traces its target factor too, a parameter
    what = f"the {computed.pop()} probability" if len(computed) == 1 else "the predicted probability"
    partial = any(path.guarded for path in paths)  # another selection reaching it reads clipped predictions
    if first is argument and len(selections) == 1 and not partial:
        return f"{what} of each row's target, and neither it nor the predictions it is selected from is clipped or offset by an epsilon"
    where = f"`{model.code(first)}` on line {model.analysis.line_of(first)}"
    if len(selections) > 1:
        others = len(selections) - 1
        where += f" (or {others} other selection{'s' if others > 1 else ''})"
    if partial:
        return (
            f"{what} of each row's target that {where} selects from predictions that are not clipped or offset "
            "by an epsilon (another selection that reaches it reads clipped ones; this one does not)"
        )
    return (
        f"{what} of each row's target that {where} selects, and neither it nor the predictions it is "
        "selected from is clipped or offset by an epsilon"
    )


def _unguarded_source(model: Numerics, scope: Scope, path: ProbabilityPath) -> Optional[str]:
    """'input' for a parameter not compared before it is read, 'softmax'/'sigmoid' for such an output
    (by body); None for anything else (a global, a helper's result, arithmetic like `p + eps`)."""
    end = path.end
    if end is None:
        return None
    if type(end) is cst.Name:
        if end.value not in scope.params or end.value in ("self", "cls") or scope.compared_before(end.value, path.order):
            return None
        return "input"
    return model.kind_of(end, scope, path.order, imported=True)
