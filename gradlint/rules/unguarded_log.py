"""GL303 unguarded-log: the log of a probability in a loss, with no clip or epsilon."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.numerics import Numerics, cross_entropy_weights, is_number, numerics
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid


class UnguardedLog(Rule):
    code = "GL303"
    name = "unguarded-log"
    severity = Severity.WARNING
    summary = "log(p) of a probability with no clip or epsilon: -inf, then nan, once a probability saturates to 0."
    what_it_does = """
        Finds `log(p)` (and `log(1 - p)`) where `p` is a probability: the output of a softmax or a
        sigmoid computed in the same function or returned by a function whose body computes one,
        or the prediction parameter of a cross-entropy (`-sum(y * log(p))`, `-log(p[range(n), y])`),
        when nothing bounds it away from 0: no `np.clip`, no `+ eps`, no `np.maximum(p, eps)`, no
        helper it went through, no comparison that guards it.
        """
    why_bad = """
        A softmax or sigmoid saturates to exactly 0.0 in floating point (a logit gap above ~745 in
        float64, ~104 in float32). `log(0)` is -inf, `0 * -inf` is nan, and one saturated sample turns
        the loss and every gradient into nan.
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
    )
    VALID = (
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
        scope = model.scope_of(call)
        order = scope.order_of(call, analysis)
        probability = _complement_of(argument) or argument
        source = model.probability_source(probability, scope, order)
        if source is None and type(probability) is cst.BinaryOperation:
            source = model.kind_of(probability, scope, order)
        if source is not None:
            origin = f"the {source} output"
        elif model.is_unguarded_parameter(probability, scope, order) and cross_entropy_weights(model, call, probability):
            origin = "the predicted probability of this cross-entropy"
        else:
            return None
        return Finding(
            call,
            f"`{model.code(call)}` takes the log of {origin} `{model.code(probability)}` with no clip or "
            "epsilon: it is -inf once a probability saturates to 0, and the loss and its gradient become nan "
            f"(use np.clip({model.code(probability)}, eps, 1.0), or log-softmax from the logits)",
        )


def _complement_of(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`p` for `1 - p`."""
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.Subtract and is_number(node.left, 1):
        return node.right
    return None
