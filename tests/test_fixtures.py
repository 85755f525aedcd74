"""The fixtures gallery: each `# expect: CODE` line is reported, and nothing else.

A bug module sits beside its corrected twin (`*_fixed.py`), which must be clean.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gradlint.api import check_paths
from gradlint.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXPECT = re.compile(r"#.*\bexpect:\s*(?P<codes>GL\d{3}(?:\s*,\s*GL\d{3})*)")


def _expected(path: Path) -> set[tuple[int, str]]:
    expected = set()
    for row, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            expected |= {(row, code.strip()) for code in match.group("codes").split(",")}
    return expected


FILES = sorted(FIXTURES.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(FIXTURES).as_posix() for p in FILES])
def test_fixture_reports_exactly_its_expectations(path: Path) -> None:
    report = check_paths([path], Settings())
    assert not report.crashes, report.crashes
    found = {(d.start.row, d.code) for d in report.diagnostics}
    assert found == _expected(path), [(d.start.row, d.code, d.message) for d in report.diagnostics]
    if path.stem.endswith("_fixed"):
        assert not found


def test_every_bug_fixture_has_a_fixed_twin() -> None:
    for path in FILES:
        if not path.stem.endswith("_fixed"):
            assert path.with_name(path.stem + "_fixed.py").exists(), f"{path.name} has no corrected twin"
