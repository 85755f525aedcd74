"""The one diagnostic model every stage produces and every renderer reads.

Positions follow ruff's JSON report: rows and columns are 1-based and an end
position is exclusive.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any, Optional


class Severity(str, enum.Enum):
    """How bad a finding is: `error` when the gradient's value is wrong."""

    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value


class Applicability(str, enum.Enum):
    """Ruff's fix applicability levels."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, order=True)
class Position:
    """A 1-based row and 1-based column."""

    row: int
    column: int


@dataclass(frozen=True)
class Edit:
    """Replace the text between `start` (inclusive) and `end` (exclusive) by `content`."""

    content: str
    start: Position
    end: Position


@dataclass(frozen=True)
class Fix:
    """A set of edits that together repair one finding."""

    message: str
    edits: tuple[Edit, ...]
    applicability: Applicability = Applicability.UNSAFE


def fix_applies(fix: Optional[Fix], unsafe_fixes: bool) -> bool:
    """Whether `--fix` applies `fix` (`unsafe_fixes`: `--unsafe-fixes` was given): a safe fix
    always, an unsafe one only then, a display-only one (or one without edits) never. The one
    place this is decided: fixing, the `[*]` marks and the summaries all ask it."""
    if fix is None or not fix.edits:
        return False
    return fix.applicability is Applicability.SAFE or (unsafe_fixes and fix.applicability is Applicability.UNSAFE)


def hidden_fix(fix: Optional[Fix]) -> bool:
    """Whether `fix` applies only with `--unsafe-fixes` (a fix the summaries call hidden)."""
    return fix_applies(fix, True) and not fix_applies(fix, False)


@dataclass(frozen=True)
class RuntimeVerdict:
    """What the runtime checker found for the function a diagnostic points at."""

    status: str  # "confirmed" | "passed" | "unknown" | "inconclusive"
    convention: Optional[str] = None
    reason: Optional[str] = None
    worst_index: Optional[tuple[int, ...]] = None
    expected: Optional[float] = None
    got: Optional[float] = None
    abs_error: Optional[float] = None
    rel_error: Optional[float] = None
    diagnosis: Optional[str] = None
    input: Optional[Any] = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "convention": self.convention,
            "reason": self.reason,
            "worst_index": list(self.worst_index) if self.worst_index is not None else None,
            "expected": self.expected,
            "got": self.got,
            "abs_error": self.abs_error,
            "rel_error": self.rel_error,
            "diagnosis": self.diagnosis,
            "input": self.input,
        }


@dataclass(frozen=True)
class Diagnostic:
    """One finding in one file."""

    code: str
    name: str
    message: str
    filename: str
    start: Position
    end: Position
    severity: Severity
    url: Optional[str] = None
    fix: Optional[Fix] = None
    noqa_row: Optional[int] = None
    # Rows on which a suppression comment also counts (first and last row of
    # the enclosing statement), besides the reported row itself.
    suppression_rows: tuple[int, ...] = field(default=(), compare=False)
    runtime: Optional[RuntimeVerdict] = None

    def with_runtime(self, verdict: RuntimeVerdict) -> "Diagnostic":
        return replace(self, runtime=verdict)

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.filename, self.start.row, self.start.column, self.code)
