"""`rdjson`: reviewdog's Diagnostic JSON (a `DiagnosticResult`), as `ruff --output-format rdjson`.

    {"diagnostics": [{"code": {"url": "...", "value": "GL101"},
                      "location": {"path": "/abs/pkg/x.py",
                                   "range": {"end": {"column": 9, "line": 3}, "start": {"column": 5, "line": 3}}},
                      "message": "...", "severity": "ERROR", "suggestions": [...]}],
     "source": {"name": "gradlint", "url": "https://github.com/gradlint/gradlint"}}

Only the fields of reviewdog's schema (proto/rdf/reviewdog.proto): reviewdog reads it with
protojson, which rejects any other. Each diagnostic has its own severity (`ERROR`,
`WARNING`), so the result has no overall one. Paths are absolute, as ruff writes them.

Positions: rdjson's lines and columns are 1-based with the end exclusive, like gradlint's,
but its columns count UTF-8 bytes while gradlint's count characters; each column is
converted through the file's text (on a line of ASCII the two agree; without the text,
the character column is kept). A fix is given as `suggestions` (one per edit) only when it
applies in this run, as `[*]` marks it: safe fixes, unsafe ones with `--unsafe-fixes`, none
after `--fix`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, TextIO

from gradlint.diagnostics import Diagnostic, Position, Severity
from gradlint.engine import source_lines
from gradlint.render import RenderOptions, Sources, lossy, sources_by_file
from gradlint.render.json import dumps
from gradlint.render.sarif import PROJECT_URI

if TYPE_CHECKING:
    from gradlint.api import Report


class ByteColumns:
    """Converts gradlint's character columns to UTF-8 byte columns, file by file."""

    def __init__(self, sources: Sources) -> None:
        self._sources = sources
        self._lines: dict[str, Optional[list[str]]] = {}

    def _line(self, filename: str, row: int) -> Optional[str]:
        if filename not in self._lines:
            text = self._sources.get(filename)
            self._lines[filename] = source_lines(text) if text is not None else None  # rows as gradlint counts them
        lines = self._lines[filename]
        if lines is None or not 1 <= row <= len(lines):
            return None
        return lines[row - 1]

    def position(self, filename: str, position: Position) -> dict[str, int]:
        line = self._line(filename, position.row)
        column = position.column
        if line is not None and not line.isascii():
            before = line[: column - 1]
            past_end = max(column - 1 - len(line), 0)  # a column after the line's end (its line break)
            column = len(before.encode("utf-8", "surrogatepass")) + past_end + 1
        return {"column": column, "line": position.row}


def _range(filename: str, start: Position, end: Position, columns: ByteColumns) -> dict[str, Any]:
    return {"end": columns.position(filename, end), "start": columns.position(filename, start)}


def rdjson_diagnostic(diagnostic: Diagnostic, options: RenderOptions, columns: ByteColumns) -> dict[str, Any]:
    filename = diagnostic.filename
    code: dict[str, str] = {"value": diagnostic.code}
    if diagnostic.url:
        code = {"url": diagnostic.url, **code}
    data: dict[str, Any] = {
        "code": code,
        "location": {"path": lossy(filename), "range": _range(filename, diagnostic.start, diagnostic.end, columns)},
        "message": lossy(diagnostic.message),
        "severity": "WARNING" if diagnostic.severity is Severity.WARNING else "ERROR",
    }
    if diagnostic.fix is not None and options.shows_fix(diagnostic):
        data["suggestions"] = [
            {"range": _range(filename, edit.start, edit.end, columns), "text": lossy(edit.content)}
            for edit in diagnostic.fix.edits
        ]
    return data


def diagnostic_result(report: "Report", options: RenderOptions) -> dict[str, Any]:
    columns = ByteColumns(sources_by_file(report))
    return {
        "diagnostics": [rdjson_diagnostic(diagnostic, options, columns) for diagnostic in report.diagnostics],
        "source": {"name": "gradlint", "url": PROJECT_URI},
    }


def render(report: "Report", out: TextIO, options: RenderOptions) -> None:
    out.write(dumps(diagnostic_result(report, options), indent=2, ascii_only=options.ascii_only) + "\n")
