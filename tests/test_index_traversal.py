"""The fast index traversal sees exactly what libcst's visitor sees (minus layout)."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import libcst as cst
import pytest

from gradlint import registry
from gradlint.analysis.index import _LAYOUT_TYPES, ModuleIndex

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STDLIB = Path(sysconfig.get_paths()["stdlib"])


class _Reference(cst.CSTVisitor):
    """Pre-order and parents of the non-layout nodes, through libcst's own visitor."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[cst.CSTNode] = []
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self.stack: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, _LAYOUT_TYPES):
            return False
        if self.stack:
            self.parents[node] = self.stack[-1]
        self.order.append(node)
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if not isinstance(original_node, _LAYOUT_TYPES):
            self.stack.pop()


def _sources() -> list:
    sources = [pytest.param(p.read_text(encoding="utf-8"), id=f"fixture-{p.name}") for p in sorted(FIXTURES.rglob("*.py"))]
    for code in registry.all_codes():
        rule = registry.load_rule(code)
        for number, case in enumerate((*rule.VALID, *rule.INVALID)):
            sources.append(pytest.param(case.source, id=f"{code}-case-{number}"))
    for name in ("dataclasses.py", "argparse.py", "asyncio/base_events.py", "typing.py", "re/_parser.py"):
        if (STDLIB / name).exists():
            sources.append(pytest.param((STDLIB / name).read_text(encoding="utf-8"), id=f"stdlib-{name}"))
    sources.append(
        pytest.param(
            "async def f[T](x: T, /, *a, k=1, **kw) -> T:\n"
            "    match x:\n        case [1, *rest] if rest: return {**kw}\n        case _: pass\n"
            "    async with a as b, c: yield f'{x!r:>{k}}'\n"
            "    try:\n        pass\n    except* ValueError as e:\n        raise e from None\n"
            "    else:\n        del x[1:2, ::3]\n    finally:\n        lambda *, y=2: (y := 3)\n"
            "@dec\nclass C(B, metaclass=M):\n    x: int = 1; y = [i for i in range(3) if i]\n",
            id="syntax-zoo",
        )
    )
    return sources


@pytest.mark.parametrize("source", _sources())
def test_index_matches_libcst_visitor(source: str) -> None:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        pytest.skip("not parseable by libcst")
    index = ModuleIndex(module)
    reference = _Reference()
    module.visit(reference)
    ordered = sorted(index.order, key=index.order.__getitem__)
    assert [id(n) for n in ordered] == [id(n) for n in reference.order]
    assert {id(k): id(v) for k, v in index.parents.items()} == {id(k): id(v) for k, v in reference.parents.items()}
    for node in ordered:
        assert node in index.nodes(type(node))
    functions = index.nodes(cst.FunctionDef)
    for function in functions:
        for call in index.nodes_in(function, cst.Call):
            assert index.function_containing(call) is function


def test_deep_nesting_does_not_recurse() -> None:
    source = "x = (\n" + "".join(f"    'piece {i}'\n" for i in range(3000)) + ")\n"
    index = ModuleIndex(cst.parse_module(source))
    assert len(index.nodes(cst.ConcatenatedString)) == 2999
