"""The numeric model's tuple bindings, shape-only comparisons and probability paths (GL303-GL305, GL401)."""

from __future__ import annotations

import textwrap

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.numerics import numerics
from gradlint.api import check_source
from gradlint.settings import Settings


def _model(source: str):
    source = textwrap.dedent(source).lstrip("\n")
    analysis = ModuleAnalysis(cst.parse_module(source), "<test>", source)
    return numerics(analysis)


def _function(model, name: str) -> cst.FunctionDef:
    return next(f for f in model.index.nodes(cst.FunctionDef) if f.name.value == name)


def _codes(source: str, select: str) -> list[tuple[str, int]]:
    report = check_source(textwrap.dedent(source).lstrip("\n"), "m.py", Settings(select=(select,)))
    return [(d.code, d.start.row) for d in report.diagnostics]


def test_a_tuple_assignment_binds_each_element_to_its_value() -> None:
    model = _model(
        """
        def f(x, y):
            a, b = x + 1, y
            a, b = b, a
            return a
        """
    )
    scope = model.scope(_function(model, "f"))
    first, swap = scope.bindings["a"]
    assert model.code(first.value) == "x + 1"
    assert model.code(swap.value) == "b"
    # the swap reads the values bound before it: `b` there is still `y`
    assert model.code(model.value_of(swap.value, scope, swap.order)) == "y"


def test_an_unpacked_call_or_starred_target_binds_no_value() -> None:
    model = _model(
        """
        def f(x):
            a, b = g(x)
            c, *d = x, x, x
            return a
        """
    )
    scope = model.scope(_function(model, "f"))
    assert all(scope.bindings[name][0].value is None for name in ("a", "b", "c", "d"))


def test_a_shape_check_does_not_guard_values() -> None:
    model = _model(
        """
        def f(p, y):
            if len(y.shape) == 2 and p.ndim > 1:
                pass
            if p[0] > 0:
                pass
        """
    )
    scope = model.scope(_function(model, "f"))
    assert "y" not in scope.comparisons
    assert len(scope.comparisons["p"]) == 1  # only `p[0] > 0`


def test_probability_paths_follow_selections_clips_and_branches() -> None:
    model = _model(
        """
        import numpy as np

        def f(y_pred, y_true, sparse):
            clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
            if sparse:
                picked = clipped[range(len(y_pred)), y_true]
            else:
                picked = np.sum(y_pred * y_true, axis=1)
            return -np.log(picked)
        """
    )
    function = _function(model, "f")
    scope = model.scope(function)
    log = next(c for c in model.index.nodes_in(function, cst.Call) if model.operation(c) == "log")
    paths = model.probability_paths(log.args[0].value, scope, scope.order_of(log, model.analysis))
    ends = sorted((model.code(path.end), path.guarded, tuple(sorted(path.weights))) for path in paths)
    assert ends == [("y_pred", False, ("y_true",)), ("y_pred", True, ("y_true",)), ("y_true", False, ("y_pred",))]


def test_gl303_follows_a_selection_in_either_branch_and_names_the_unclipped_one() -> None:
    unclipped = """
        import numpy as np

        def nll(y_pred, y_true):
            if len(y_true.shape) == 1:
                picked = y_pred[range(len(y_pred)), y_true]
            else:
                picked = np.sum(y_pred * y_true, axis=1)
            return -np.log(picked)
        """
    assert _codes(unclipped, "GL303") == [("GL303", 8)]
    # the sparse branch clips, the one-hot branch does not (DhruvK0's cat_cross_entropy.py): the
    # one-hot selection is still -inf once its probability saturates
    half_clipped = unclipped.replace("picked = y_pred[", "picked = np.clip(y_pred, 1e-7, 1)[")
    assert _codes(half_clipped, "GL303") == [("GL303", 8)]
    both_clipped = half_clipped.replace("np.sum(y_pred *", "np.sum(np.clip(y_pred, 1e-7, 1) *")
    assert _codes(both_clipped, "GL303") == []
    # one selection, clipped when the caller asks: the author's option, not a slip
    optional = """
        import numpy as np

        def nll(y_pred, y_true, clip=True):
            picked = np.sum(y_pred * y_true, axis=1)
            if clip:
                picked = np.clip(picked, 1e-7, 1)
            return -np.log(picked)
        """
    assert _codes(optional, "GL303") == []


def test_gl304_positional_match_needs_the_shared_target_in_the_numerator() -> None:
    source = """
        import numpy as np

        class Loss:
            def forward(self, y_pred, y_true):
                return -np.log(y_pred[range(len(y_pred)), y_true]).mean()

            def backward(self, dvalues, y_true):
                return {numerator} / dvalues
        """
    assert _codes(source.format(numerator="-y_true"), "GL304") == [("GL304", 8)]
    assert _codes(source.format(numerator="-np.ones_like(dvalues)"), "GL304") == []
