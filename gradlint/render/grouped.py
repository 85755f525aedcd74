"""`grouped`: the findings grouped by file, as `ruff --output-format grouped` writes them.

    pkg/layers.py:
       6:5  GL101 warning: ...
      10:17 GL101 [*] the diagonal ...

    Found 1 error and 1 warning.

A line `path:` per file, then its findings indented by two spaces as `row:col CODE message`,
the rows right-aligned and the columns left-aligned to the widest of that file, as ruff
aligns them; a blank line after each file. The rest of a finding (`[*]`, `warning:`, the
message), the colours and the closing lines (--show-fixes' listing, the summary; neither
under -q) are the concise format's (`render.text`).
"""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING, TextIO

from gradlint.render import RenderOptions, display_path
from gradlint.render.text import _Painter, finding, write_summary

if TYPE_CHECKING:
    from gradlint.api import Report


def render(report: "Report", out: TextIO, options: RenderOptions) -> None:
    paint = _Painter(options.color)
    diagnostics = report.diagnostics  # sorted by file name, so each file's findings are adjacent
    for filename, group in groupby(diagnostics, key=lambda diagnostic: diagnostic.filename):
        found = list(group)
        row_width = max(len(str(d.start.row)) for d in found)
        column_width = max(len(str(d.start.column)) for d in found)
        out.write(paint(display_path(filename, options.root), "path") + ":\n")
        for diagnostic in found:
            row, column = str(diagnostic.start.row), str(diagnostic.start.column)
            where = " " * (row_width - len(row)) + paint(f"{row}:{column}", "dim") + " " * (column_width - len(column))
            out.write(f"  {where} {finding(diagnostic, options, paint)}\n")
        out.write("\n")
    write_summary(diagnostics, out, options, paint)
