"""GL301 unstable-softmax: exp(x) / sum(exp(x)) without subtracting the max first."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.numerics import EXP, SUM, Numerics, Scope, SoftmaxShape, Stability, divisions, numerics
from gradlint.analysis.syntax import dotted_name
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Replacement, Rule, Valid


class UnstableSoftmax(Rule):
    code = "GL301"
    name = "unstable-softmax"
    severity = Severity.WARNING
    other_severities = (Severity.ERROR,)  # only the numerator shifted: the values are wrong, not just unstable
    fixable = True
    summary = "A softmax exponentiates raw logits: exp overflows above ~709 (float32: 88) and the result is nan."
    what_it_does = """
        Finds a softmax, `exp(x) / sum(exp(x))` in any of its spellings (`np.exp(z) / np.sum(np.exp(z))`,
        `e = np.exp(z); e / e.sum(axis=1, keepdims=True)`, `e /= e.sum()`, scikit-learn's in-place
        `np.exp(X, out=X); X /= X.sum(axis=1)[:, np.newaxis]`, a reciprocal normaliser
        `e * (1 / e.sum(axis=1, keepdims=True))` or `np.multiply(e, 1 / s)`), whose exponent is a raw input:
        a parameter that was never shifted (also a lambda's, `lambda x: np.exp(x) / np.sum(np.exp(x))`;
        also after a dtype cast, torch's `x = x.to(torch.float32)`;
        or the method's `self` when the class is a namespace called with the array, `np.exp(self)` in a
        method that reads no attribute of it), or logits computed as `W @ x + b`.
        The logits may come from a local function's tuple (`Z, cache = linear_forward(A, W, b)`, also a
        staticmethod called through its class or a method called on self) when every return of that
        function gives an affine map at that position (read from its body; an imported helper's is
        unknown). The numerator may also be an entry or the transpose of the exp (`scores[y[i]] / np.sum(scores)`
        in a per-sample loop, `(e.T / e.sum(axis=1)).T`) or a product with one exp
        (`np.exp(X[i].dot(W[:, j])) * X[i] / np.sum(np.exp(X[i].dot(W)))`). Logits kept per step in a
        dict or list are read back from the store to the same entry (min-char-rnn's
        `ys[t] = np.dot(Why, hs[t]) + by; ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))`).
        It also finds the inconsistent form where only the numerator is shifted,
        `np.exp(z - np.max(z)) / np.sum(np.exp(z))`: that one changes the values (an error).
        """
    why_bad = """
        `np.exp(710.0)` is `inf` in float64 (`np.exp(89.0)` in float32), and `inf / inf` is `nan`:
        one large logit turns the whole output, the loss and every gradient into nan. Subtracting the
        max leaves the softmax unchanged mathematically (the factor exp(-max) cancels) and caps every
        exponent at 0. Shifting only the numerator does not cancel: every probability is scaled by
        exp(-max) and the outputs no longer sum to 1.
        """
    example = """
        def softmax(z):
            e = np.exp(z)
            return e / np.sum(e, axis=1, keepdims=True)
        """
    use_instead = """
        def softmax(z):
            e = np.exp(z - np.max(z, axis=1, keepdims=True))
            return e / np.sum(e, axis=1, keepdims=True)
        """
    references = (
        "Softmax, numerical stability: https://en.wikipedia.org/wiki/Softmax_function#Numerical_algorithms",
        "scipy.special.softmax: https://docs.scipy.org/doc/scipy/reference/generated/scipy.special.softmax.html",
    )

    INVALID = (
        Invalid(
            """
            import numpy as np

            sigma = lambda x: 1. / (1 + np.exp(-x))
            softmax = lambda x: np.exp(x) / np.sum(np.exp(x))
            """,
            line=4,
            message="softmax exponentiates `x` without subtracting its max",
            why="younesslanda/LSTM-Numpy utils.py: a softmax written as a lambda (its parameter is a raw input)",
        ),
        Invalid(
            """
            import numpy as np

            def lossFun(inputs, targets, hprev, Wxh, Whh, Why, bh, by, vocab_size):
                xs, hs, ys, ps = {}, {}, {}, {}
                hs[-1] = np.copy(hprev)
                loss = 0
                for t in range(len(inputs)):
                    xs[t] = np.zeros((vocab_size, 1))
                    xs[t][inputs[t]] = 1
                    hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)
                    ys[t] = np.dot(Why, hs[t]) + by
                    ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
                    loss += -np.log(ps[t][targets[t], 0])
                return loss, ps
            """,
            line=12,
            message="softmax exponentiates `ys[t]` without subtracting its max",
            why="Karpathy's min-char-rnn.py (copied in dozens of repositories): the logits kept per step in a dict",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(z):
                return np.exp(z) / np.sum(np.exp(z))
            """,
            line=4,
            message="exponentiates `z` without subtracting its max",
            why="free function, the textbook one-liner",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, inputs):
                    exps = np.exp(inputs)
                    self.output = exps / np.sum(exps, axis=1, keepdims=True)
                    return self.output
            """,
            line=5,
            message="overflows",
            why="layer class, batched rows",
        ),
        Invalid(
            """
            import numpy as np

            def output_layer(W, X, b):
                Z = W @ X + b
                A = np.exp(Z)
                A /= A.sum(axis=0, keepdims=True)
                return A
            """,
            line=5,
            message="`Z`",
            why="column layout (classes x batch), logits from an affine map, in-place normalisation",
        ),
        Invalid(
            """
            import torch

            def probabilities(logits):
                e = torch.exp(logits)
                return e / e.sum(dim=-1, keepdim=True)
            """,
            line=4,
            why="torch spelling",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(x):
                shifted = np.exp(x - np.max(x, axis=-1, keepdims=True))
                return shifted / np.sum(np.exp(x), axis=-1, keepdims=True)
            """,
            line=5,
            message="only the numerator is shifted",
            why="numerator-only shift: the result no longer sums to 1 (error)",
        ),
        Invalid(
            """
            from numpy import exp, sum as total

            def attention_weights(scores, temperature):
                weights = exp(scores / temperature)
                return weights / weights.sum(axis=1, keepdims=True)
            """,
            line=4,
            why="imported exp, scaled by a temperature",
        ),
        Invalid(
            """
            import numpy as np

            def inplace_softmax(X):
                np.exp(X, out=X)
                X /= X.sum(axis=1)[:, np.newaxis]
            """,
            line=4,
            message="exponentiates `X` without subtracting its max: `np.exp(X, out=X)` overflows",
            why="scikit-learn's in-place spelling without its max shift: exp written into X by `out=`, then "
            "normalised in place",
        ),
        Invalid(
            """
            import torch

            def _softmax(x, dim):
                x = x.to(torch.float32)
                unnormalized = torch.exp(x)
                return unnormalized / torch.sum(unnormalized, dim, keepdim=True)

            def _softmax_half(x, dim, computation_dtype):
                x = x.to(computation_dtype, non_blocking=True)
                unnormalized = torch.exp(x)
                return unnormalized / torch.sum(unnormalized, dim, keepdim=True)
            """,
            line=5,
            count=2,
            message="softmax exponentiates `x` without subtracting its max",
            why="torch's `_softmax` decomposition with its max shift removed: a dtype cast `x.to(...)` keeps the values",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self):
                    soft = np.exp(self) / np.sum(np.exp(self), axis=0)
                    return soft
            """,
            line=5,
            message="softmax exponentiates `self`",
            why="real code (neowise activations.py): the class is a namespace, `Softmax.forward(z)` is called with the "
            "array as `self`",
        ),
        Invalid(
            """
            import numpy as np

            def linear_forward(A, W, b):
                Z = np.dot(W, A) + b
                return Z, (A, W, b)

            def softmax_forward(A, W, b):
                Z, cache = linear_forward(A, W, b)
                S = np.exp(Z) / np.sum(np.exp(Z), axis=0, keepdims=True)
                return S, cache

            class LinearLayer:
                @staticmethod
                def forward(A, W, b):
                    return W @ A + b, (A, W, b)

            class SoftmaxLayer:
                @staticmethod
                def forward(A, W, b):
                    Z, cache = LinearLayer.forward(A, W, b)
                    return np.exp(Z) / np.sum(np.exp(Z), axis=0, keepdims=True), cache

            class Net:
                def affine(self, x):
                    return x @ self.W + self.b, x

                def probabilities(self, x):
                    scores, _ = self.affine(x)
                    e = np.exp(scores)
                    return e / e.sum(axis=1, keepdims=True)
            """,
            line=9,
            count=3,
            message="softmax exponentiates `Z` without subtracting its max",
            why="real code (mofeiyu/dnn softmax.py, rw4a miss/07; the Coursera idiom): the logits unpacked from a local "
            "function's tuple, `Z, cache = linear_forward(A, W, b)`, whose body returns an affine map; also a "
            "staticmethod called through its class and a method called on self",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_loss_naive(W, X, y, reg):
                loss = 0.0
                dW = np.zeros_like(W)
                for i in range(X.shape[0]):
                    hepoes = np.dot(X[i], W)
                    scores = np.exp(hepoes)
                    correct_score = scores[y[i]]
                    sum_score = np.sum(scores)
                    loss -= np.log(correct_score / sum_score)
                    dW += np.outer(X[i], scores) / sum_score
                    dW[:, y[i]] -= X[i]
                return loss / X.shape[0], dW / X.shape[0]

            def softmax_grad_naive(W, X, y):
                dW = np.zeros_like(W)
                for i in range(X.shape[0]):
                    for j in range(W.shape[1]):
                        dW[:, j] += np.exp(X[i].dot(W[:, j])) * X[i] / np.sum(np.exp(X[i].dot(W)))
                return dW
            """,
            line=8,
            count=2,
            message="overflows to inf",
            why="real code (CalciferZh and AlexMa011 cs231n softmax_loss_naive, rw4a miss/06): a per-sample softmax in "
            "a loop, the numerator an entry of the exp (`scores[y[i]]` through a name) or a product with one exp",
        ),
        Invalid(
            """
            import numpy as np

            def focal_loss_probs(y_pred, n, num_class):
                pred = np.reshape(y_pred, (n, num_class), order='F')
                pred = np.exp(pred)
                return np.multiply(pred, 1 / np.sum(pred, axis=1)[:, np.newaxis])

            def softmax(x):
                e = np.exp(x)
                return e * (1.0 / np.sum(e, axis=1, keepdims=True))
            """,
            line=5,
            count=2,
            why="real code (y2019xcj/focalloss-for-lightgbm-xgboost lossfunction.py, rw5b miss/03): the normaliser "
            "written as a reciprocal, `np.multiply(e, 1 / sum)` or `e * (1 / sum)`",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x, axis=1, keepdims=True))
                return e * (1 / np.sum(e, axis=1, keepdims=True))

            def decay(x, n):
                return np.exp(-x) * (1 / n)
            """,
            why="a reciprocal normaliser after the max shift; an exp times a reciprocal that is no sum of it",
        ),
        Valid(
            """
            import numpy as np

            softmax = lambda x: np.exp(x - np.max(x)) / np.sum(np.exp(x - np.max(x)))
            scaled = lambda x, t=1.0: np.exp(x / t - np.max(x / t)) / np.sum(np.exp(x / t - np.max(x / t)))
            """,
            why="lambdas that shift by the max",
        ),
        Valid(
            """
            import numpy as np

            def shifted(inputs, Why, hs, by):
                ys, ps = {}, {}
                for t in range(len(inputs)):
                    ys[t] = np.dot(Why, hs[t]) + by
                    ys[t] = ys[t] - np.max(ys[t])
                    ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
                return ps

            def previous_step(inputs, Why, hs, by):
                ys, ps = {}, {}
                for t in range(1, len(inputs)):
                    ys[t] = np.dot(Why, hs[t]) + by
                    ps[t] = np.exp(ys[t - 1]) / np.sum(np.exp(ys[t - 1]))
                return ps

            def rebound_index(inputs, Why, hs, by, order):
                ys, ps = {}, {}
                for t in range(len(inputs)):
                    ys[t] = np.dot(Why, hs[t]) + by
                    t = order[t]
                    ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
                return ps
            """,
            why="near misses of min-char-rnn's per-step softmax: the stored logits shifted, another step's entry "
            "read, the index rebound between the store and the read",
        ),
        Valid(
            """
            import numpy as np
            import torch

            def softmax_units(q, u):
                x = q.to(u.dimensionless)
                e = np.exp(x)
                return e / e.sum()

            def softmax_like(x, other):
                x = x.to(other)
                e = torch.exp(x)
                return e / e.sum()

            class Scores:
                def softmax(self):
                    e = np.exp(self - self.max())
                    return e / e.sum()

                def weights(self):
                    e = np.exp(self.logits)
                    return e / e.sum()
            """,
            why="near misses: a `.to` that is no dtype cast (a unit conversion, another tensor), a `self` array "
            "shifted by its max, an instance's attribute (unknown values)",
        ),
        Valid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x, axis=1, keepdims=True))
                return e / np.sum(e, axis=1, keepdims=True)
            """,
            why="catalog trap: x - np.max(x, axis=..., keepdims=True)",
        ),
        Valid(
            """
            import numpy as np

            def softmax(x):
                x = np.clip(x, -500, 500)
                e = np.exp(x)
                return e / e.sum()
            """,
            why="catalog trap: np.clip(x, -500, 500) before exp",
        ),
        Valid(
            """
            from scipy.special import softmax, logsumexp
            import numpy as np

            def probs(z):
                return softmax(z, axis=1)

            def probs2(z):
                return np.exp(z - logsumexp(z, axis=1, keepdims=True))
            """,
            why="catalog trap: scipy.special.softmax / logsumexp",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                z -= np.max(z)
                return np.exp(z) / np.sum(np.exp(z))
            """,
            why="shifted in place before the exp (GL402's business, not this rule's)",
        ),
        Valid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    m = x.max(axis=-1, keepdims=True)
                    shifted = x - m
                    e = np.exp(shifted)
                    self.out = e / e.sum(axis=-1, keepdims=True)
                    return self.out
            """,
            why="shift through intermediate names",
        ),
        Valid(
            """
            import numpy as np

            def normalise(weights, log_w):
                w = np.exp(log_w - logsumexp(log_w))
                return w / w.sum()

            def mixture(a, b):
                return np.exp(a) / (np.exp(a) + np.exp(b))
            """,
            why="shifted by a log-normaliser; a two-term ratio that is not a sum over an array",
        ),
        Valid(
            """
            import math

            def weights(self):
                raw = [math.exp(v) for v in self.values]
                total = sum(raw)
                return [w / total for w in raw]
            """,
            why="list comprehension over attributes: the input's range is unknown, stay silent",
        ),
        Valid(
            """
            import numpy as np

            def inplace_softmax(X):
                tmp = X - X.max(axis=1)[:, np.newaxis]
                np.exp(tmp, out=X)
                X /= X.sum(axis=1)[:, np.newaxis]

            def inplace_softmax_clipped(X):
                np.clip(X, -500, 500, out=X)
                np.exp(X, out=X)
                X /= X.sum(axis=1)[:, np.newaxis]
            """,
            why="real code (scikit-learn neural_network/_base.py softmax): shifted by the row max before "
            "`np.exp(tmp, out=X)`; and clipped in place before the exp",
        ),
        Valid(
            """
            import numpy as np

            def maybe_exp(X, z, log_space):
                if log_space:
                    np.exp(X, out=X)
                X /= X.sum(axis=1)[:, np.newaxis]
                np.exp(z, out=z)
                z[z > 1e300] = 1e300
                z /= z.sum(axis=1, keepdims=True)
                return X, z
            """,
            why="the exp written into X on one path only; written again between the exp and the division: unsure",
        ),
        Valid(
            """
            import numpy as np
            from layers import linear_forward

            def stabilise(Z):
                return np.clip(Z, -500, 500), Z

            def passthrough(Z, W):
                return Z, W

            def mixed(A, W, b):
                if A is None:
                    return W, b
                return np.dot(W, A) + b, b

            def softmax_imported(A, W, b):
                Z, cache = linear_forward(A, W, b)
                return np.exp(Z) / np.sum(np.exp(Z), axis=0, keepdims=True)

            def softmax_clipped(Z):
                Z, raw = stabilise(Z)
                return np.exp(Z) / np.sum(np.exp(Z), axis=0, keepdims=True)

            def softmax_passed(Z, W):
                Z, W = passthrough(Z - np.max(Z, axis=0), W)
                return np.exp(Z) / np.sum(np.exp(Z), axis=0, keepdims=True)

            def softmax_mixed(A, W, b):
                Z, cache = mixed(A, W, b)
                return np.exp(Z) / np.sum(np.exp(Z), axis=0, keepdims=True)

            def softmax_starred(A, W, b):
                Z, *rest = linear_forward(A, W, b)
                return np.exp(Z) / np.sum(np.exp(Z), axis=0, keepdims=True)
            """,
            why="near misses of the unpacked logits: an imported helper (its body is unknown), a local helper that clips, "
            "one that passes a (shifted) argument through, one whose returns are not all affine, a starred target",
        ),
        Valid(
            """
            import numpy as np

            def softmax_loss_naive(W, X, y):
                loss = 0.0
                for i in range(X.shape[0]):
                    f = X[i].dot(W)
                    f -= np.max(f)
                    scores = np.exp(f)
                    loss -= np.log(scores[y[i]] / np.sum(scores))
                return loss

            def capped(z, k):
                e = np.exp(z)
                e[e > 1e300] = 1e300
                return e[k] / np.sum(e)

            def two_exps(a, b, c):
                return np.exp(a) * np.exp(b) / np.sum(np.exp(c))

            def weighted(W, X, i, j):
                return np.exp(X[i].dot(W[:, j]) - np.max(X[i].dot(W))) * X[i] / np.sum(np.exp(X[i].dot(W) - np.max(X[i].dot(W))))
            """,
            why="near misses of the loop softmax: shifted by the row max before the exp, an entry of an exp capped in "
            "place, a product of two exps (no one exponent to judge), a product numerator shifted like its normaliser",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        model = numerics(analysis)
        reported: set[int] = set()
        for numerator, denominator, node in divisions(analysis):
            scope = model.scope_of(node)
            order = scope.order_of(node, analysis)
            shape = model.softmax_parts(numerator, denominator, scope, order, loose=True) or exp_out_softmax_parts(
                model, numerator, denominator, node, scope, order
            )
            if shape is None:
                continue
            finding = self._judge(model, scope, shape)
            if finding is not None and id(finding.node) not in reported:
                reported.add(id(finding.node))
                yield finding

    def _judge(self, model: Numerics, scope: Scope, shape: SoftmaxShape) -> Optional[Finding]:
        analysis = model.analysis
        top_arg = model.exp_argument(shape.numerator_exp)
        bottom_arg = model.exp_argument(shape.denominator_exp)
        if top_arg is None or bottom_arg is None:
            return None
        top_order = scope.order_of(shape.numerator_exp, analysis)
        bottom_order = scope.order_of(shape.denominator_exp, analysis)
        top = model.stability(top_arg, scope, top_order)
        if model.code(top_arg) != model.code(bottom_arg) or top_order != bottom_order:
            bottom = model.stability(bottom_arg, scope, bottom_order)
            inconsistent = _one_sided_shift(model, top_arg, bottom_arg)
            if inconsistent is not None:
                shifted, plain = inconsistent
                side = "numerator" if shifted is top_arg else "normaliser"
                other = shape.denominator_exp if shifted is top_arg else shape.numerator_exp
                return Finding(
                    other,
                    f"softmax: only the {side} is shifted (`{model.code(shifted)}`) while "
                    f"`{model.code(other)}` is not; the factor exp(-max) no longer cancels, so the "
                    "outputs do not sum to 1 (shift both by the same max)",
                    fix=_match_shift_fix(model, other, shifted),
                    severity=Severity.ERROR,
                )
            if top is not Stability.RAW or bottom is not Stability.RAW:
                return None
        elif top is not Stability.RAW:
            return None
        name = model.code(top_arg)
        return Finding(
            shape.numerator_exp,
            f"softmax exponentiates `{name}` without subtracting its max: "
            f"`{model.code(shape.numerator_exp)}` overflows to inf for entries above ~709 (float32: 88) "
            f"and the normalisation by `{model.code(shape.total)}` returns nan",
            fix=_shift_fix(model, shape),
        )


def exp_out_softmax_parts(
    model: Numerics,
    numerator: cst.BaseExpression,
    denominator: cst.BaseExpression,
    division: cst.CSTNode,
    scope: Scope,
    order: int,
) -> Optional[SoftmaxShape]:
    """The softmax shape of scikit-learn's in-place spelling, `np.exp(a, out=X)` then
    `X /= X.sum(axis=1)[:, np.newaxis]` (or `X / np.sum(X, ...)`): the exp written into the array the
    division normalises, by a call that runs on every path to the division, with no other write to
    or binding of that array in between; None otherwise."""
    if type(numerator) is not cst.Name:
        return None
    name = numerator.value
    writes = scope.mutations.get(name)
    if not writes or not any(at < order for at in writes):
        return None  # no `out=X` (or any in-place write) before the division: the common case, cheap
    analysis = model.analysis
    index = analysis.index
    found: Optional[tuple[int, cst.Call]] = None
    for call in index.nodes_in(scope.function, cst.Call):
        if model.operation(call) not in EXP or model.exp_argument(call) is None:
            continue
        if not any(
            arg.keyword is not None and arg.keyword.value == "out" and type(arg.value) is cst.Name and arg.value.value == name
            for arg in call.args
        ):
            continue
        call_order = scope.order_of(call, analysis)
        if 0 <= call_order < order and (found is None or call_order > found[0]):
            found = (call_order, call)
    if found is None:
        return None
    exp_order, exp_call = found
    if any(exp_order < at < order for at in writes) or any(exp_order < b.order < order for b in scope.bindings.get(name, ())):
        return None  # written again (`X[X > 50] = 50`) or re-bound between the exp and the division
    if index.parent(exp_call) is not index.statement_of(exp_call) and type(index.parent(exp_call)) is not cst.Expr:
        return None  # the exp is part of a larger expression (its statement may not run it first)
    block = index.parent(index.statement_of(exp_call))
    if block is None or not any(ancestor is block for ancestor in index.ancestors(division)):
        return None  # the exp runs on some paths only (`if ...: np.exp(X, out=X)`)
    total = model.value_of(denominator, scope, order)
    if type(total) is cst.Subscript:
        total = total.value  # `X.sum(axis=1)[:, np.newaxis]`
    if type(total) is cst.Call and model.operation(total) in ("reshape", "expand_dims", "unsqueeze", "view"):
        inner = model.operand(total) if model.operation(total) in ("reshape", "view") else _first_positional(total)
        if inner is not None:
            total = inner
    if type(total) is not cst.Call or model.operation(total) not in SUM:
        return None
    summed = model.operand(total)
    if summed is None or dotted_name(summed) != name:
        return None
    return SoftmaxShape(exp_call, exp_call, total)


def _first_positional(call: cst.Call) -> Optional[cst.BaseExpression]:
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    return positional[0].value if positional else None


def _one_sided_shift(
    model: Numerics, top: cst.BaseExpression, bottom: cst.BaseExpression
) -> Optional[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """(shifted, plain) when one exponent is `plain - something` and the other is `plain`."""
    for shifted, plain in ((top, bottom), (bottom, top)):
        if (
            type(shifted) is cst.BinaryOperation
            and type(shifted.operator) is cst.Subtract
            and model.code(shifted.left) == model.code(plain)
        ):
            return shifted, plain
    return None


def _shift_fix(model: Numerics, shape: SoftmaxShape) -> Optional[Replacement]:
    """Insert `- np.max(x, axis=..., keepdims=True)` into the exponent (numpy spellings only)."""
    exp_call = shape.numerator_exp
    if type(exp_call) is not cst.Call or model.numpy_prefix(exp_call) is None:
        return None
    argument = model.exp_argument(exp_call)
    if type(argument) not in (cst.Name, cst.Attribute):
        return None
    if shape.denominator_exp is not exp_call and model.code(shape.denominator_exp) != model.code(exp_call):
        return None
    if _keyword(exp_call, "where") is not None:
        # `np.exp(x, where=mask)`: the entries left out may hold anything (padding, inf); the max over
        # all of `x` may then exceed every entry that counts, so the shifted exp underflows to 0 and
        # the softmax returns nan. The right shift (a max over the masked entries) is the user's call.
        return None
    prefix = model.numpy_prefix(exp_call)
    axis = model.reduction_axis(shape.total)
    axis_text = f", axis={model.code(axis)}, keepdims=True" if axis is not None else ""
    name = model.code(argument)
    shifted = cst.parse_expression(f"{name} - {prefix}.max({name}{axis_text})")
    new_call = _with_exponent(exp_call, argument, shifted)
    if new_call is None:
        return None
    if shape.denominator_exp is exp_call or type(shape.denominator_exp) is not cst.Call:
        return Replacement(f"Subtract the max of `{name}` before exponentiating", exp_call, new_call)
    # Both the numerator and the normaliser spell the exp: shift both in the division. With an
    # output array (`np.exp(x, out=x) / np.exp(x, out=x).sum()`) the first call overwrites what the
    # second one's shift reads: no fix.
    if _keyword(exp_call, "out") is not None or sum(1 for arg in exp_call.args if arg.keyword is None) > 1:
        return None
    division = model.analysis.index.parent(exp_call)
    if type(division) is not cst.BinaryOperation or division.left is not exp_call:
        return None
    new_division = division.deep_replace(shape.denominator_exp, new_call)
    new_division = new_division.with_changes(left=new_call)  # type: ignore[union-attr]
    return Replacement(f"Subtract the max of `{name}` before exponentiating", division, new_division)


def _match_shift_fix(model: Numerics, plain_exp: cst.BaseExpression, shifted: cst.BaseExpression) -> Optional[Replacement]:
    """Give the unshifted exp the same exponent as the shifted one."""
    if type(plain_exp) is not cst.Call or not plain_exp.args or model.exp_argument(plain_exp) is None:
        return None
    if model.is_method_call(plain_exp):
        return None
    new_call = _with_exponent(plain_exp, model.exp_argument(plain_exp), shifted)
    if new_call is None:
        return None
    return Replacement("Shift the numerator and the normaliser by the same max", plain_exp, new_call)


def _keyword(call: cst.Call, name: str) -> Optional[cst.Arg]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def _with_exponent(call: cst.Call, argument: Optional[cst.BaseExpression], exponent: cst.BaseExpression) -> Optional[cst.Call]:
    """`call` with its exponent argument (`x` in `np.exp(x, out=buf, dtype=d)`) replaced by
    `exponent`, every other argument kept as written; None when the exponent is not the first
    argument or a `*args`/`**kwargs` may hide what the call does (a `where=`)."""
    if not call.args or argument is None or call.args[0].value is not argument or call.args[0].keyword is not None:
        return None
    if any(arg.star for arg in call.args):
        return None
    return call.with_changes(args=[call.args[0].with_changes(value=exponent), *call.args[1:]])
