"""`pylint`: `path:row: [CODE] message`, the line format of pylint's parseable output, which
editors and CI log parsers read (as `ruff --output-format pylint`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from gradlint.render import RenderOptions, display_path, lossy

if TYPE_CHECKING:
    from gradlint.api import Report


def render(report: "Report", out: TextIO, options: RenderOptions) -> None:
    for diagnostic in report.diagnostics:
        message = " ".join(lossy(diagnostic.message).split())  # one line per finding
        out.write(f"{display_path(diagnostic.filename, options.root)}:{diagnostic.start.row}: [{diagnostic.code}] {message}\n")
