"""GL302 global-max-shift: a batched softmax shifted by the max of the whole batch."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.gradient_flow import callers_arguments
from gradlint.analysis.jacobians import Layout, layout
from gradlint.analysis.numerics import Stability, divisions, numerics, unwrap
from gradlint.analysis.syntax import literal_int, names_in
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid
from gradlint.rules.unstable_softmax import exp_out_softmax_parts


class GlobalMaxShift(Rule):
    code = "GL302"
    name = "global-max-shift"
    severity = Severity.WARNING
    summary = "A batched softmax is shifted by the max of the whole batch: rows far below it underflow to 0/0."
    what_it_does = """
        Finds a softmax normalised per row or per column (its sum has an `axis`/`dim`) whose exponent
        is shifted by a max taken over the whole array (`np.max(x)`, `x.max()`, no axis), in any
        spelling of the softmax, scikit-learn's in-place one included (`tmp = X - X.max()`,
        `np.exp(tmp, out=X)`, `X /= X.sum(axis=1)[:, np.newaxis]`), and with the exp's transpose or
        each row's picked entry as the numerator (`(e.T / np.sum(e, axis=1)).T`,
        `e[range(n), y] / e.sum(axis=1)`). Silent when the sum is over axis 0 or -1 and every call of the
        function in the module passes a 1-D array (`softmax(np.array([1.0, 2.0]))`): a vector's only row is the
        whole array.
        """
    why_bad = """
        The global max avoids overflow, but every row is shifted by the same number. A row whose
        entries all lie more than ~745 below the batch max (float32: ~104) exponentiates to zeros,
        and its normalisation is 0/0 = nan. Each row needs its own max.
        """
    example = """
        def softmax(x):
            e = np.exp(x - np.max(x))
            return e / np.sum(e, axis=1, keepdims=True)
        """
    use_instead = """
        def softmax(x):
            e = np.exp(x - np.max(x, axis=1, keepdims=True))
            return e / np.sum(e, axis=1, keepdims=True)
        """
    references = ("Softmax, numerical stability: https://en.wikipedia.org/wiki/Softmax_function#Numerical_algorithms",)

    INVALID = (
        Invalid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x))
                return e / np.sum(e, axis=1, keepdims=True)
            """,
            line=4,
            message="`np.max(x)`",
            why="free function, batched rows",
        ),
        Invalid(
            """
            import numpy as np

            class SoftmaxLayer:
                def forward(self, logits):
                    logits = logits - logits.max()
                    exps = np.exp(logits)
                    self.probs = exps / exps.sum(axis=-1, keepdims=True)
                    return self.probs
            """,
            line=5,
            why="layer class, shift rebound before the exp",
        ),
        Invalid(
            """
            import numpy as np

            def output(W, A, b):
                Z = W @ A + b
                Z -= np.max(Z)
                E = np.exp(Z)
                return E / E.sum(axis=0)
            """,
            line=5,
            why="column layout (classes x batch), in-place shift",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(X):
                e_X = np.exp(X - np.max(X))
                return e_X / np.sum(e_X, axis=0)

            demo = softmax(np.array([1.0, 2.0, 3.0]))
            probs = softmax(np.random.randn(10, 32))
            """,
            line=4,
            why="the adversarial review (rev13a miss/01): a demo call on a vector beside a call on a batch",
        ),
        Invalid(
            """
            import numpy as np

            def inplace_softmax(X):
                tmp = X - X.max()
                np.exp(tmp, out=X)
                X /= X.sum(axis=1)[:, np.newaxis]
            """,
            line=4,
            message="shifted by `X.max()`, the max of the whole batch",
            why="scikit-learn's in-place spelling (`np.exp(tmp, out=X)`, a `[:, np.newaxis]` row sum) with a global max",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_loss_vectorized(W, X, y, reg):
                num_train = X.shape[0]
                scores = np.dot(X, W)
                scores -= np.max(scores)
                exp_scores = np.exp(scores)
                norm_scores = (exp_scores.T / np.sum(exp_scores, axis=1)).T
                return np.sum(-np.log(norm_scores[range(num_train), y])) / num_train

            def softmax_loss_picked(W, X, y):
                scores = X.dot(W)
                scores -= np.max(scores)
                expscores = np.exp(scores)
                denoms = expscores.sum(axis=1)
                numers = expscores[range(X.shape[0]), y]
                return -1 * np.log(numers / denoms).sum()
            """,
            line=6,
            count=2,
            message="shifted by `np.max(scores)`, the max of the whole batch",
            why="real code (174high and AdaWang33 cs231n softmax_loss_vectorized, rw4a miss/05): the per-row normaliser "
            "divides the transposed exp, or each row's picked entry reached through another name",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def softmax_loss_naive(W, X, y, reg):
                loss = 0.0
                for i in range(X.shape[0]):
                    scores = X[i].dot(W)
                    scores -= np.max(scores)
                    exp_scores = np.exp(scores)
                    loss += -np.log(exp_scores[y[i]] / np.sum(exp_scores, axis=-1))
                return loss / X.shape[0]
            """,
            why="the adversarial review: CS231n's per-sample loop, one entry of one sample's scores over a sum with "
            "axis -1 (a vector's own max is the global one)",
        ),
        Valid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x))
                return e / np.sum(e)
            """,
            why="a 1-D softmax: the global max is the row's max",
        ),
        Valid(
            """
            import numpy as np

            def softmax(X):
                e_X = np.exp(X - np.max(X))
                return e_X / np.sum(e_X, axis=0)

            probs = softmax(np.array([1.0, 2.0, 3.0]))
            """,
            why="review 6 (rw6c fp/05, an activations.py): summed over axis 0, but the module calls it on a vector, "
            "whose only axis is 0: the global max is the row's",
        ),
        Valid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x, axis=1, keepdims=True))
                return e / np.sum(e, axis=1, keepdims=True)
            """,
            why="a max per row",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                z = z - np.max(z, axis=-1)[..., None]
                e = np.exp(z)
                return e / e.sum(axis=-1, keepdims=True)
            """,
            why="a max per row, re-expanded by indexing",
        ),
        Valid(
            """
            import numpy as np

            def inplace_softmax(X):
                tmp = X - X.max(axis=1)[:, np.newaxis]
                np.exp(tmp, out=X)
                X /= X.sum(axis=1)[:, np.newaxis]

            def inplace_softmax_1d(x):
                tmp = x - x.max()
                np.exp(tmp, out=x)
                x /= x.sum()
            """,
            why="real code (scikit-learn neural_network/_base.py softmax): the row max; a 1-D softmax with the global max",
        ),
        Valid(
            """
            import numpy as np

            def pick(x, k):
                e = np.exp(x - np.max(x))
                return e[k] / np.sum(e)

            def rows(scores, y):
                scores = scores - np.max(scores, axis=1, keepdims=True)
                e = np.exp(scores)
                return (e.T / np.sum(e, axis=1)).T, e[range(len(y)), y] / e.sum(axis=1)
            """,
            why="near misses of the picked and transposed forms: a 1-D softmax (no axis: the global max is the row's), "
            "and the row max",
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
            if shape is None or model.reduction_axis(shape.total) is None:
                continue  # not known to be batched
            if _one_entry_of_a_vector(unwrap(numerator), literal_int(model.reduction_axis(shape.total))):
                continue  # `e[y[i]] / np.sum(e, axis=-1)`: one entry of a vector (CS231n's per-sample loop)
            argument = model.exp_argument(shape.numerator_exp)
            if argument is None or model.code(argument) != model.code(model.exp_argument(shape.denominator_exp)):
                continue
            exp_order = scope.order_of(shape.numerator_exp, analysis)
            if model.stability(argument, scope, exp_order) is not Stability.SHIFTED_GLOBAL:
                continue
            shift = model.shift_call(argument, scope, exp_order)
            if shift is None or id(shift) in reported:
                continue
            if literal_int(model.reduction_axis(shape.total)) in (0, -1) and _called_with_a_vector(analysis, scope.function, shift):
                continue  # a vector's only axis: its global max is the row's
            reported.add(id(shift))
            axis = model.code(model.reduction_axis(shape.total))
            yield Finding(
                shift,
                f"batched softmax normalised over axis {axis} by `{model.code(shape.total)}` is shifted by "
                f"`{model.code(shift)}`, the max of the whole batch: a row far below it underflows to "
                f"0/0 = nan; take the max over axis {axis} with keepdims=True",
            )


def _called_with_a_vector(analysis: ModuleAnalysis, function: Optional[cst.FunctionDef], shift: cst.Call) -> bool:
    """Every call in the module hands `function` a 1-D array (`softmax(np.array([1.0, 2.0]))`) for a parameter
    the max `shift` reads (and there is one): summed over axis 0 or -1, that vector's global max is its only
    row's max. A demo call on a vector beside a call on a batch exempts nothing."""
    if function is None:
        return False
    read = names_in(shift)
    for param in function.params.params:
        if param.name.value in read:
            arguments = [argument for _, argument in callers_arguments(analysis, function, param.name.value)]
            if arguments and all(layout(analysis, argument) is Layout.FLAT for argument in arguments):
                return True
    return False


def _one_entry_of_a_vector(numerator: cst.BaseExpression, axis: "Optional[int]") -> bool:
    """The numerator picks one entry with a single index (`e[y[i]]`, not `e[range(n), y]`) and the sum's
    axis is one a vector has (0 or -1): the exp is then most likely one sample's scores, whose own max
    is the global one (a single index of a 2-D exp would pick a whole row as the numerator)."""
    if type(numerator) is not cst.Subscript or len(numerator.slice) != 1 or type(numerator.slice[0].slice) is not cst.Index:
        return False
    return axis in (0, -1)
