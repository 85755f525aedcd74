"""gradlint's light position pass gives exactly libcst's PositionProvider ranges."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from gradlint import registry
from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.positions import spans_of

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STDLIB = Path(sysconfig.get_paths()["stdlib"])


def _sources() -> list:
    sources = [pytest.param(p.read_text(encoding="utf-8"), id=f"fixture-{p.name}") for p in sorted(FIXTURES.glob("*.py"))]
    for code in registry.all_codes():
        for number, case in enumerate(registry.load_rule(code).INVALID):
            sources.append(pytest.param(case.source, id=f"{code}-invalid-{number}"))
    for name in ("argparse.py", "textwrap.py", "asyncio/tasks.py"):
        if (STDLIB / name).exists():
            sources.append(pytest.param((STDLIB / name).read_text(encoding="utf-8"), id=f"stdlib-{name}"))
    base = "def f(s):  # c\r\n    x = (1 +\r\n         2)\r    return [s,\n            x]\n\n\n@d\nclass K: pass"
    sources += [
        pytest.param(base, id="crlf-cr-mixed-no-trailing-newline"),
        pytest.param("", id="empty"),
        pytest.param("\t\n# only a comment", id="comment-only"),
        pytest.param('x = """a\r\nb\rc\n"""; y = f"{x!r:>{3}}"\n', id="strings-with-newlines"),
    ]
    return sources


@pytest.mark.parametrize("source", _sources())
def test_spans_equal_libcst_positions(source: str) -> None:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        pytest.skip("not parseable by libcst")
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    spans = spans_of(module)
    assert set(map(id, spans)) == set(map(id, expected))
    analysis = ModuleAnalysis(module, "/tmp/x.py", source)
    for node, code_range in expected.items():
        assert spans[node] == (code_range.start.line, code_range.start.column, code_range.end.line, code_range.end.column)
        assert analysis.range_of(node) == code_range


NESTED = (
    "import numpy as np\n\n\nclass Layer:\n    '''doc'''\n\n    # a comment\n    @staticmethod\n"
    "    @other(\n        1)\n    def f(s):\n        pass\n\n    async def g(self, s):  # c\n"
    "        # lead\n\n        x = s; y = s * (1 - s)\n        if x:\n            return np.diag(y)\n"
    "        def inner(t): return t * (1 - t)\n        class K:\n          z = 1\n"
    "          def h(self):\n              return self.z\n        return inner\n\n\ndef t(s):\n\tif s:\n\t\treturn s\n"
)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(NESTED, id="nested-lf"),
        pytest.param(NESTED.replace("\n", "\r\n"), id="nested-crlf"),
        pytest.param(NESTED.rstrip("\n"), id="nested-no-trailing-newline"),
        pytest.param((FIXTURES / "softmax_question.py").read_text(encoding="utf-8"), id="fixture-softmax_question"),
        pytest.param((FIXTURES / "jacobian_from_preactivation.py").read_text(encoding="utf-8"), id="fixture-preactivation"),
    ],
)
def test_a_nested_statement_alone_gives_libcst_positions(source: str) -> None:
    """Asking for one node generates only the innermost statement around it (a function's
    or a class's body statement), and its spans are libcst's."""
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    names = [node for node in expected if type(node) is cst.Name]
    assert names
    for node in names:
        analysis = ModuleAnalysis(module, "/tmp/x.py", source)
        code_range = expected[node]
        assert analysis.range_of(node) == code_range
        assert not analysis._spans_complete  # no fallback to the whole module's pass
    nested = ModuleAnalysis(module, "/tmp/x.py", source)
    inner = [node for node in names if nested._innermost_statement(node) not in module.body]
    assert inner  # some names are found inside a body statement, not only in a top-level one
