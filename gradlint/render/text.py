"""`concise` and `full` text output, in ruff's style.

concise: one line per finding, `path:row:col: GL101 message`. A finding whose fix
applies in this run (safe; unsafe only with `--unsafe-fixes`; none while `--fix` applies
them) shows `[*]` after the code, and a warning says so (`GL301 warning: message`);
an error, the usual case, shows nothing more.

full: the same line, then the source lines of the finding with two lines of
context, the span underlined with carets, and the fix as `= help:`.

Both end with a summary: `Found N errors.` and how many can be fixed (ruff's wording:
those `--fix` would apply, and the hidden ones `--unsafe-fixes` would enable), or
`All checks passed!`; after `--fix`, `Found 3 errors (2 fixed, 1 remaining).` and only the
hidden ones. Colour only when `options.color` says so (a terminal).
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Optional, TextIO

from gradlint.diagnostics import Diagnostic, Severity
from gradlint.engine import source_lines
from gradlint.render import RenderOptions, display_path, fix_counts, lossy, sources_by_file

if TYPE_CHECKING:
    from gradlint.api import Report

CONTEXT_LINES = 2
MAX_SPAN_LINES = 8  # longer spans show their first and last lines around a `...`
TAB_WIDTH = 4

_RESET = "\x1b[0m"
_STYLES = {
    "path": "\x1b[1m",
    "dim": "\x1b[2m",
    "error": "\x1b[1;31m",
    "warning": "\x1b[1;33m",
    "fix": "\x1b[36m",
    "gutter": "\x1b[1;34m",
    "help": "\x1b[1;36m",
    "ok": "\x1b[1;32m",
}


class _Painter:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, style: str) -> str:
        if not self.enabled or not text:
            return text
        return f"{_STYLES[style]}{text}{_RESET}"


def render(report: "Report", out: TextIO, options: RenderOptions) -> None:
    paint = _Painter(options.color)
    full = options.output_format == "full"
    sources = sources_by_file(report) if full else {}
    diagnostics = report.diagnostics
    for diagnostic in diagnostics:
        out.write(headline(diagnostic, options, paint) + "\n")
        if full:
            out.write(_snippet(diagnostic, sources.get(diagnostic.filename), paint))
    write_summary(diagnostics, out, options, paint)


def write_summary(diagnostics: list[Diagnostic], out: TextIO, options: RenderOptions, paint: _Painter) -> None:
    """After the findings: --show-fixes' listing and the summary lines (neither under -q)."""
    if options.quiet:
        return
    out.write(options.fixes_listing)
    if options.crashed and not diagnostics and not options.fixed:
        out.write("No findings, but a rule crashed (see the error below): the check is incomplete.\n")
        return
    out.write(summary(
        diagnostics, paint, unsafe_fixes=options.unsafe_fixes, applying_fixes=options.applying_fixes, fixed=options.fixed,
        fixed_warnings=options.fixed_warnings,
    ))


def headline(diagnostic: Diagnostic, options: RenderOptions, paint: Optional[_Painter] = None) -> str:
    """`path:row:col: GL101 [*] message` (plus `warning:` for a warning)."""
    paint = paint or _Painter(False)
    path = display_path(diagnostic.filename, options.root)
    where = paint(path, "path") + paint(f":{diagnostic.start.row}:{diagnostic.start.column}:", "dim")
    return f"{where} {finding(diagnostic, options, paint)}"


def finding(diagnostic: Diagnostic, options: RenderOptions, paint: _Painter) -> str:
    """What follows the position: `GL101 [*] message` (plus `warning:` for a warning)."""
    code = paint(diagnostic.code, diagnostic.severity.value)
    fixable = " " + paint("[*]", "fix") if options.shows_fix(diagnostic) else ""
    tag = paint("warning:", "warning") + " " if diagnostic.severity is Severity.WARNING else ""
    return f"{code}{fixable} {tag}{lossy(diagnostic.message)}"


def summary(
    diagnostics: list[Diagnostic],
    paint: Optional[_Painter] = None,
    *,
    unsafe_fixes: bool = False,
    applying_fixes: bool = False,
    fixed: int = 0,
    fixed_warnings: int = 0,
) -> str:
    """Ruff's summary lines: `Found 2 errors.` (`Found 1 error and 2 warnings.`; after --fix,
    `Found 3 errors (2 fixed, 1 remaining).`), then what `--fix` would do with what is left
    (after --fix, `applying_fixes`, only what `--unsafe-fixes` would add: a fix left over there
    was refused, not waiting)."""
    paint = paint or _Painter(False)
    if not diagnostics and not fixed:
        return paint("All checks passed!", "ok") + "\n"
    warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING) + fixed_warnings
    errors = len(diagnostics) + fixed - warnings
    parts = []
    if errors or not warnings:
        parts.append(_plural(errors, "error"))
    if warnings:
        parts.append(_plural(warnings, "warning"))
    counts = f" ({fixed} fixed, {len(diagnostics)} remaining)" if fixed else ""
    lines = [f"Found {' and '.join(parts)}{counts}."]
    fixes = _fix_summary(diagnostics, paint, unsafe_fixes, applying_fixes)
    if fixes:
        lines.append(fixes)
    return "\n".join(lines) + "\n"


def _fix_summary(diagnostics: list[Diagnostic], paint: _Painter, unsafe_fixes: bool, applying_fixes: bool = False) -> str:
    """Ruff's line after `Found ...`: what `--fix` would fix, and what `--unsafe-fixes` would add."""
    applicable, hidden = fix_counts(diagnostics, unsafe_fixes)
    if applying_fixes:
        applicable = 0
    mark = paint("[*]", "fix")
    if unsafe_fixes:  # nothing is hidden; ruff writes the option without backticks here
        return f"{mark} {applicable} fixable with the --fix option." if applicable else ""
    enable = f"{hidden} hidden fix{'' if hidden == 1 else 'es'} can be enabled with the `--unsafe-fixes` option"
    if applicable and hidden:
        return f"{mark} {applicable} fixable with the `--fix` option ({enable})."
    if applicable:
        return f"{mark} {applicable} fixable with the `--fix` option."
    if hidden:
        return f"No fixes available ({enable})."
    return ""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _snippet(diagnostic: Diagnostic, source: Optional[str], paint: _Painter) -> str:
    """The finding's lines with context, the span underlined, and the fix hint."""
    lines = source_lines(source) if source is not None else []  # rows end at Python's line breaks only
    first, last = diagnostic.start.row, max(diagnostic.end.row, diagnostic.start.row)
    if lines and first == len(lines) + 1:
        lines.append("")  # a position at the very end of the file (an unexpected EOF)
    out: list[str] = []
    width = 0
    if lines and 1 <= first <= len(lines):
        last = min(last, len(lines))
        shown = _shown_rows(first, last, lines)
        width = len(str(max(row for row in shown if row is not None)))
        bar = paint(" " * width + " |", "gutter")
        out.append(bar)
        for row in shown:
            if row is None:
                out.append(paint("." * width + " |", "gutter") + " ...")
                continue
            text = lines[row - 1]
            gutter = paint(f"{row:>{width}} |", "gutter")
            out.append(f"{gutter} {_expand(text)}".rstrip())
            if first <= row <= last:
                start_col = diagnostic.start.column if row == first else _indent_column(text)
                end_col = diagnostic.end.column if row == last else len(text) + 1
                label = f" {diagnostic.code}" if row == last else ""
                out.append(f"{bar} {paint(_underline(text, start_col, end_col) + label, diagnostic.severity.value)}")
        out.append(bar)
    notes = []
    if diagnostic.fix is not None:
        notes.append(("help", lossy(diagnostic.fix.message)))
    if diagnostic.runtime is not None:
        verdict = diagnostic.runtime
        detail = verdict.diagnosis or verdict.reason
        notes.append(("runtime", lossy(verdict.status + (f": {detail}" if detail else ""))))
    for label, text in notes:
        out.append(paint(" " * (width + 1) + f"= {label}:", "help") + f" {text}")
    return "\n".join(out) + "\n\n" if out else ""


def _shown_rows(first: int, last: int, lines: list[str]) -> list[Optional[int]]:
    """Rows to print: context before, the span (elided in the middle when long), context after."""
    span: list[Optional[int]] = list(range(first, last + 1))
    if len(span) > MAX_SPAN_LINES:
        keep = MAX_SPAN_LINES // 2
        span = span[:keep] + [None] + span[-keep:]
    before = list(range(max(1, first - CONTEXT_LINES), first))
    while before and not lines[before[0] - 1].strip():
        before.pop(0)  # leading blank context says nothing
    after = list(range(last + 1, min(len(lines), last + CONTEXT_LINES) + 1))
    while after and not lines[after[-1] - 1].strip():
        after.pop()  # nor does trailing blank context
    return [*before, *span, *after]


def _expand(text: str) -> str:
    return lossy(text).replace("\t", " " * TAB_WIDTH)


def _display_width(text: str) -> int:
    width = 0
    for char in text:
        if char == "\t":
            width += TAB_WIDTH
        elif unicodedata.combining(char):
            continue
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            width += 2
        else:
            width += 1
    return width


def _indent_column(text: str) -> int:
    return len(text) - len(text.lstrip()) + 1


def _underline(text: str, start_col: int, end_col: int) -> str:
    """Carets under columns [start_col, end_col) of `text` (1-based, end exclusive)."""
    start = max(start_col - 1, 0)
    end = max(end_col - 1, start)
    start = min(start, len(text))
    end = min(end, len(text))
    pad = _display_width(text[:start])
    width = max(_display_width(text[start:end]), 1)
    return " " * pad + "^" * width
