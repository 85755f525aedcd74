"""The fixtures gallery under the runtime checker (`check --runtime fixtures/`).

- every corrected twin (`*_fixed.py`): no derivative is confirmed wrong (or
  inconclusive), and each one checked passes unless it cannot be called;
- every bug module: each value-changing finding (`# expect: GLxxx`) that lies in
  a derivative the checker runs, or on a call to one (GL201/GL202), is
  confirmed numerically. Findings elsewhere (a training loop's flow, say) are
  out of a per-function check's reach and listed by `coverage()`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pytest

from gradlint.api import check_paths
from gradlint.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXPECT = re.compile(r"#.*\bexpect:\s*(?P<codes>GL\d{3}(?:\s*,\s*GL\d{3})*)")
# Families whose bug changes the derivative's value at ordinary inputs (the
# stability rules GL301-GL305 change it only at extreme ones, and are left out).
VALUE_CHANGING = frozenset(
    {"GL101", "GL102", "GL103", "GL104", "GL105", "GL201", "GL202", "GL203", "GL204", "GL205", "GL401", "GL402"}
)
FILES = sorted(FIXTURES.rglob("*.py"))
BUGGY = [p for p in FILES if not p.stem.endswith("_fixed")]
FIXED = [p for p in FILES if p.stem.endswith("_fixed")]


@lru_cache(maxsize=1)
def _result():
    from gradlint.runtime import runtime_check

    return runtime_check(check_paths(FILES, Settings()), Settings())


def _verdicts(path: Path) -> list:
    return [v for v in _result().verdicts if Path(v.filename) == path.resolve()]


def coverage() -> list[tuple[str, int, str, str]]:
    """(file, row, code, runtime status or 'not reached') for every value-changing expectation."""
    rows = []
    report = _result().report
    for path in BUGGY:
        for diagnostic in report.diagnostics:
            if Path(diagnostic.filename) == path.resolve() and diagnostic.code in VALUE_CHANGING:
                status = diagnostic.runtime.status if diagnostic.runtime is not None else "not reached"
                rows.append((path.name, diagnostic.start.row, diagnostic.code, status))
    return rows


@pytest.mark.parametrize("path", FIXED, ids=[p.name for p in FIXED])
def test_corrected_twin_passes(path: Path) -> None:
    verdicts = _verdicts(path)
    wrong = [(v.qualname, v.status, v.verdict.diagnosis, v.verdict.convention) for v in verdicts if v.status in ("confirmed", "inconclusive")]
    assert not wrong, wrong
    assert not [d for d in _result().report.diagnostics if Path(d.filename) == path.resolve() and d.code == "GL901"]


@pytest.mark.parametrize("path", BUGGY, ids=[p.name for p in BUGGY])
def test_value_changing_bugs_in_checked_derivatives_are_confirmed(path: Path) -> None:
    report = _result().report
    unconfirmed = [
        (d.start.row, d.code, d.runtime.status, d.runtime.reason or d.runtime.convention)
        for d in report.diagnostics
        if Path(d.filename) == path.resolve() and d.code in VALUE_CHANGING and d.runtime is not None and d.runtime.status != "confirmed"
    ]
    assert not unconfirmed, unconfirmed


def test_the_bug_fixtures_hold_at_least_one_confirmed_derivative_between_them() -> None:
    assert any(v.status == "confirmed" for path in BUGGY for v in _verdicts(path))


if __name__ == "__main__":  # a coverage table for the report
    for file, row, code, status in coverage():
        print(f"{file}:{row} {code} {status}")
