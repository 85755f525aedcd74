"""`--statistics`: how many findings each rule reported.

Text, like ruff: `count<TAB>code<TAB>[*] name` per rule, most frequent first
(`[*]` when a fix is available for some of them, as ruff marks it).
With `--output-format json` (or `json-lines`): `[{code, name, count, fixable}]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from gradlint.diagnostics import Applicability
from gradlint.render import RenderOptions

if TYPE_CHECKING:
    from gradlint.api import Report


@dataclass(frozen=True)
class RuleCount:
    """The findings of one rule in a run."""

    code: str
    name: str
    count: int
    fixable: bool

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "count": self.count, "fixable": self.fixable}


def rule_counts(report: "Report") -> list[RuleCount]:
    """Counts per rule, most frequent first, then by code."""
    counts: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for d in report.diagnostics:
        entry = counts.setdefault(d.code, [0, 0])
        entry[0] += 1
        if d.fix is not None and d.fix.applicability is not Applicability.DISPLAY_ONLY:
            entry[1] += 1
        names.setdefault(d.code, d.name)
    rows = [RuleCount(code, names[code], total, fixed > 0) for code, (total, fixed) in counts.items()]
    return sorted(rows, key=lambda row: (-row.count, row.code))


def render_text(report: "Report", out: TextIO, options: RenderOptions) -> None:
    rows = rule_counts(report)
    if not rows:
        return
    count_width = max(len(str(row.count)) for row in rows)
    code_width = max(len(row.code) for row in rows)
    for row in rows:
        mark = "[*]" if row.fixable else "[ ]"
        out.write(f"{row.count:>{count_width}}\t{row.code:<{code_width}}\t{mark} {row.name}\n")


def render_json(report: "Report", out: TextIO, options: RenderOptions) -> None:
    from gradlint.render.json import dumps

    rows = [row.as_dict() for row in rule_counts(report)]
    if options.output_format == "json-lines":
        for row in rows:
            out.write(dumps(row) + "\n")
        return
    out.write(dumps(rows, indent=2) + "\n")
