"""The index's derived views (subtree ends, subtree walks, nodes by function) agree with
the plain definitions computed from its parents, and libcst nodes keep identity semantics."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import libcst as cst
import pytest

from gradlint.analysis.index import ModuleIndex

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

_NESTED = (cst.Lambda, cst.FunctionDef)

_ZOO = (
    "def outer(x, f=lambda y: y * 2):\n"
    "    def inner(z):\n"
    "        return [lambda w: w + z for _ in range(3)]\n"
    "    g = lambda q: (lambda r: r - q)(x)\n"
    "    class C:\n"
    "        def m(self):\n"
    "            return self\n"
    "    return inner(x) + g(x)\n"
    "h = lambda: outer(1)\n"
    "x = [1, 2,\n     3]  # comment\n"
)


def _sources() -> list:
    sources = [pytest.param(p.read_text(encoding="utf-8"), id=p.name) for p in sorted(FIXTURES.glob("*.py"))[:12]]
    sources.append(pytest.param(_ZOO, id="nested-scopes"))
    return sources


def _children(index: ModuleIndex) -> dict[cst.CSTNode, list[cst.CSTNode]]:
    children: dict[cst.CSTNode, list[cst.CSTNode]] = defaultdict(list)
    for child, parent in index.parents.items():  # pre-order: children in source order
        children[parent].append(child)
    return children


@pytest.mark.parametrize("source", _sources())
def test_end_order_is_the_last_node_of_the_subtree(source: str) -> None:
    index = ModuleIndex(cst.parse_module(source))
    children = _children(index)
    for node in index.order:
        last = node
        while children.get(last):
            last = children[last][-1]
        assert index.end_order(node) == index.order[last]
    assert index.end_order(cst.Name("not_indexed")) == 0


@pytest.mark.parametrize("source", _sources())
def test_walk_subtree_is_the_pre_order_walk(source: str) -> None:
    index = ModuleIndex(cst.parse_module(source))
    children = _children(index)

    def reference(root: cst.CSTNode) -> list[cst.CSTNode]:
        found, stack = [], [root]
        while stack:
            node = stack.pop()
            found.append(node)
            if node is not root and type(node) in _NESTED:
                continue
            stack.extend(reversed(children.get(node, ())))
        return found

    for root in index.order:
        assert [id(n) for n in index.walk_subtree(root, _NESTED)] == [id(n) for n in reference(root)]
        assert [id(n) for n in index.walk_subtree(root)] == [
            id(n) for n in index.preorder[index.order[root] : index.end_order(root) + 1]
        ]
    loose = cst.Name("not_indexed")
    assert list(index.walk_subtree(loose)) == [loose]


@pytest.mark.parametrize("source", _sources())
def test_nodes_in_groups_by_nearest_enclosing_def(source: str) -> None:
    index = ModuleIndex(cst.parse_module(source))
    expected: dict[tuple[object, type], list[int]] = defaultdict(list)
    for node in index.order:
        function = None
        for ancestor in index.ancestors(node):
            if type(ancestor) is cst.FunctionDef:
                function = ancestor
                break
        assert index.function_containing(node) is function
        expected[(function, type(node))].append(id(node))
    for (function, node_type), ids in expected.items():
        assert [id(n) for n in index.nodes_in(function, node_type)] == ids  # type: ignore[arg-type]
    assert {key: [id(n) for n in nodes] for key, nodes in index.by_function_type.items()} == dict(expected)
    assert index.nodes_in(cst.FunctionDef(cst.Name("f"), cst.Parameters(), cst.IndentedBlock([])), cst.Name) == []


def test_nodes_hash_and_compare_by_identity() -> None:
    first, second = cst.Name("x"), cst.Name("x")
    same = first
    assert first == same and first != second and (first == second) is False
    assert hash(first) == hash(same) and len({first, second, same}) == 2
    assert first != "x" and (first == None) is False
    table = {first: 1, second: 2}
    assert table[first] == 1 and table[second] == 2
    assert first.deep_equals(second)
