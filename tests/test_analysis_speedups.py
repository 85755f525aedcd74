"""The cheaper paths of the analysis give exactly what the slower ones gave.

- Positions: a reported node's statement is placed by finding its generated code in the
  source when that code occurs there once (no `ast` parse of the file); otherwise by the
  `ast` first lines, or by the whole module's code generation. Every path must give
  libcst's PositionProvider ranges, whichever node is asked first.
- The index skips the fields of unparenthesised names (leaves).
- Polynomials keep integral coefficients as ints; float literals' values are shared.
"""

from __future__ import annotations

from fractions import Fraction

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from gradlint.analysis import ModuleAnalysis, algebra
from gradlint.analysis.index import ModuleIndex, child_nodes
from gradlint.analysis.syntax import fast_code, last_part

# Statements that recur verbatim (only the `ast` placement can tell them apart), statements
# nested in if/elif/else/for/while/try/with bodies, an `elif` whose text, read as an `if`,
# occurs elsewhere at the same indentation (it must never be placed there), comments,
# decorators, blank lines and a multi-line statement.
NESTED = '''import numpy as np


def first(s):
    grad = s * (1 - s)
    return grad


def second(s):
    grad = s * (1 - s)
    return grad


class Layer:
    # a comment
    @staticmethod
    def backward(x, s):
        if x > 0:
            y = 1
        for row in s:
            if row:
                total = np.sum(row,
                               axis=0)
            elif x > 0:
                y = 1
            if x > 0:
                y = 1
            else:
                total = -row  # trailing comment
        while x:
            x -= 1
        try:
            z = np.diag(s) - np.outer(s, s)
        except ValueError:
            z = None
        with open(x) as handle:
            data = handle.read()
        return (y), total, z, data
'''

SOURCES = [
    pytest.param(NESTED, id="nested-and-duplicated"),
    pytest.param(NESTED.replace("\n", "\r\n"), id="crlf"),
    pytest.param(NESTED.replace("\n", "\r"), id="cr"),
    pytest.param(NESTED.rstrip("\n"), id="no-final-newline"),
    pytest.param("x = 1\nx = 1\nif x:\n    x = 1\nx = 1", id="all-alike-no-final-newline"),
    # the last statement's code (libcst adds a newline) is the first line's text
    pytest.param("y = 2\nx = 1\ny = 2", id="last-line-reads-as-first"),
    pytest.param("\ufeffx = (a)\n", id="bom"),
    pytest.param("def f(s):\n    return s\n\n\ndef g(s):\n    return s\n", id="identical-bodies"),
]


def _expected(source: str) -> "tuple[cst.Module, dict[cst.CSTNode, object]]":
    module = cst.parse_module(source)
    return module, dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))


@pytest.mark.parametrize("source", SOURCES)
def test_every_node_asked_first_gets_libcst_position(source: str) -> None:
    """A fresh analysis per node: each node's own placement path is the one taken."""
    module, expected = _expected(source)
    for node, code_range in expected.items():
        analysis = ModuleAnalysis(module, "/tmp/x.py", source)
        assert analysis.range_of(node) == code_range, analysis.code_for(node) if not isinstance(node, cst.Module) else "module"


@pytest.mark.parametrize("source", SOURCES)
def test_nodes_asked_innermost_first_get_libcst_positions(source: str) -> None:
    """One analysis, deepest nodes first: later answers come from spans recorded earlier."""
    module, expected = _expected(source)
    analysis = ModuleAnalysis(module, "/tmp/x.py", source)
    for node in reversed(list(expected)):
        assert analysis.range_of(node) == expected[node]


def _statement_holding(module: cst.Module, text: str) -> cst.CSTNode:
    for node in ModuleIndex(module).nodes(cst.SimpleStatementLine):
        if module.code_for_node(node).strip() == text:
            return node
    raise AssertionError(text)


def test_unique_statement_is_placed_without_ast() -> None:
    module = cst.parse_module(NESTED)
    analysis = ModuleAnalysis(module, "/tmp/x.py", NESTED)
    statement = _statement_holding(module, "z = np.diag(s) - np.outer(s, s)")
    assert analysis.line_of(statement) == 33
    assert "_statement_first_lines" not in analysis.__dict__  # found by its text alone


def test_recurring_statement_falls_back_to_ast_and_is_right() -> None:
    module = cst.parse_module(NESTED)
    index = ModuleIndex(module)
    returns = [r for r in index.nodes(cst.Return) if module.code_for_node(r) == "return grad"]
    assert len(returns) == 2
    analysis = ModuleAnalysis(module, "/tmp/x.py", NESTED)
    assert [analysis.line_of(r) for r in returns] == [6, 11]
    assert "_statement_first_lines" in analysis.__dict__  # `return grad` occurs twice: ast placed it


def test_elif_is_never_placed_at_a_lookalike_if() -> None:
    module, expected = _expected(NESTED)
    index = ModuleIndex(module)
    elif_branch = next(n for n in index.nodes(cst.If) if type(index.parent(n)) is cst.If)
    # generated alone, the elif reads as the `if` that follows it, at the same indentation
    assert "            " + module.code_for_node(elif_branch).replace("\n    ", "\n                ") in NESTED
    for node in (elif_branch, elif_branch.test, elif_branch.body.body[0]):  # type: ignore[attr-defined]
        analysis = ModuleAnalysis(module, "/tmp/x.py", NESTED)
        assert analysis.range_of(node) == expected[node]
    assert expected[elif_branch].start.line == 24


def test_parenthesised_names_keep_their_parentheses_in_the_index() -> None:
    module = cst.parse_module("y = ((x)) + z\n")
    index = ModuleIndex(module)
    names = {n.value: n for n in index.nodes(cst.Name)}
    parens = index.nodes(cst.LeftParen) + index.nodes(cst.RightParen)
    assert len(parens) == 4 and all(index.parent(p) is names["x"] for p in parens)
    assert child_nodes(names["z"]) == [] and index.end_order(names["z"]) == index.order[names["z"]]


def test_polynomial_coefficients_compare_like_fractions() -> None:
    s = cst.parse_expression("2 * s * (1 - s) - 0.5 * s")
    polynomial = algebra.expand(s, lambda node: cst.Module([]).code_for_node(node))
    assert polynomial is not None
    assert polynomial.as_dict() == {("s",): Fraction(3, 2), ("s", "s"): Fraction(-2)}
    assert all(type(c) in (int, Fraction) for _, c in polynomial.terms)
    assert algebra.logistic_form(algebra.expand(cst.parse_expression("2 * s * (1 - s)"), lambda n: "s"))[0].atom == "s"


def test_float_literal_values_are_exact_and_shared() -> None:
    first = algebra._number(cst.Float("0.1"))
    assert first == Fraction("0.1") and algebra._number(cst.Float("0.1")) is first
    assert algebra._number(cst.Float("1e400")) is None  # inf has no exact value: no normal form


@pytest.mark.parametrize("name", [None, "", "exp", "np.exp", "np.linalg.norm", "trailing.", ".leading"])
def test_last_part_is_the_text_after_the_last_dot(name: "str | None") -> None:
    assert last_part(name) == (name.rsplit(".", 1)[-1] if name else None)


@pytest.mark.parametrize("code", ["x", "(x)", "( x )", "f((x), y)", "(a).b", "-(s)"])
def test_fast_code_of_names_matches_libcst(code: str) -> None:
    expression = cst.parse_expression(code)
    assert fast_code(expression) == cst.Module([]).code_for_node(expression)


def test_package_resolves_paths_like_pathlib(tmp_path: "Path") -> None:
    """Directories' resolutions are remembered; the answers stay `Path.resolve()`'s."""
    from pathlib import Path

    from gradlint.analysis.package import PackageModules

    (tmp_path / "real" / "pkg").mkdir(parents=True)
    (tmp_path / "real" / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "pkg" / "b.py").symlink_to(tmp_path / "real" / "pkg" / "a.py")
    package = PackageModules()
    names = ["link/pkg/a.py", "link/pkg/b.py", "link/pkg/./a.py", "link//pkg/a.py", "link/pkg/../pkg/a.py", "gone/x.py", "link/pkg/"]
    for name in names * 2:  # the second time from the remembered directories
        path = f"{tmp_path}/{name}"
        assert package._resolved(path) == str(Path(path).resolve())
    assert package._resolved("relative/x.py") == str(Path("relative/x.py").resolve())


def test_nodes_of_a_type_are_gathered_in_source_order() -> None:
    """`nodes(t)` is built on demand from the per-function lists: still every node of the type,
    in pre-order, nested functions and lambdas included."""
    module = cst.parse_module(NESTED + "\nf = lambda s: s * (1 - s)\n\n\ndef outer(a):\n    def inner(b):\n        return b(a)\n    return inner(a) + a\n")
    index = ModuleIndex(module)
    for node_type in {type(node) for node in index.preorder}:
        assert index.nodes(node_type) == [node for node in index.preorder if type(node) is node_type]
    assert index.nodes(cst.Yield) == []
