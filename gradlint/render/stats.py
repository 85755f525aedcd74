"""`--statistics`: how many findings each rule reported.

Text, like ruff: `count<TAB>code<TAB>[*] name` per rule, most frequent first
(`[*]` when some of them have a fix that applies in this run, as ruff marks it: a safe
fix, an unsafe one only with `--unsafe-fixes`, none after `--fix` applied them; else `[ ]`).
With `--output-format json` (or `json-lines`): `[{code, name, count, fixable}]`, `fixable`
in the same sense.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, TextIO

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


def rule_counts(report: "Report", options: Optional[RenderOptions] = None) -> list[RuleCount]:
    """Counts per rule, most frequent first, then by code; `fixable` as `options` applies fixes
    (by default: without `--unsafe-fixes`, not applying them)."""
    options = options or RenderOptions(root=Path("."))
    counts: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for d in report.diagnostics:
        entry = counts.setdefault(d.code, [0, 0])
        entry[0] += 1
        if options.shows_fix(d):
            entry[1] += 1
        names.setdefault(d.code, d.name)
    rows = [RuleCount(code, names[code], total, fixed > 0) for code, (total, fixed) in counts.items()]
    return sorted(rows, key=lambda row: (-row.count, row.code))


def render_text(report: "Report", out: TextIO, options: RenderOptions) -> None:
    from gradlint.render.text import summary

    rows = rule_counts(report, options)
    if rows:
        count_width = max(len(str(row.count)) for row in rows)
        code_width = max(len(row.code) for row in rows)
        for row in rows:
            mark = "[*]" if row.fixable else "[ ]"
            out.write(f"{row.count:>{count_width}}\t{row.code:<{code_width}}\t{mark} {row.name}\n")
    if not options.quiet:
        out.write(options.fixes_listing)
    if (rows or options.fixed) and not options.quiet:  # then, as ruff, the summary lines (and what --fix did, even with nothing left)
        out.write(summary(
            report.diagnostics, unsafe_fixes=options.unsafe_fixes, applying_fixes=options.applying_fixes, fixed=options.fixed,
            fixed_warnings=options.fixed_warnings,
        ))


def render_json(report: "Report", out: TextIO, options: RenderOptions) -> None:
    from gradlint.render.json import dumps

    rows = [row.as_dict() for row in rule_counts(report, options)]
    if options.output_format == "json-lines":
        for row in rows:
            out.write(dumps(row, ascii_only=options.ascii_only) + "\n")
        return
    out.write(dumps(rows, indent=2, ascii_only=options.ascii_only) + "\n")
