"""`concise` and `full` text output: `path:row:col: CODE message`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TextIO

from gradlint.render import RenderOptions

if TYPE_CHECKING:
    from gradlint.api import Report


def _relative(filename: str, options: RenderOptions) -> str:
    try:
        return os.path.relpath(filename, options.root)
    except ValueError:
        return filename


def render(report: "Report", out: TextIO, options: RenderOptions) -> None:
    diagnostics = report.diagnostics
    for d in diagnostics:
        out.write(f"{_relative(d.filename, options)}:{d.start.row}:{d.start.column}: {d.code} {d.message}\n")
    count = len(diagnostics)
    if count:
        out.write(f"Found {count} error{'s' if count != 1 else ''}.\n")
    else:
        out.write("All checks passed!\n")
