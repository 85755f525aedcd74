"""`github`: GitHub Actions workflow commands, one annotation per finding.

    ::error title=gradlint (GL101),file=pkg/x.py,line=3,col=5,endLine=3,endColumn=9::pkg/x.py:3:5: GL101 message

A warning-severity finding is a `::warning`. Values are escaped by GitHub's
rules: in the message `%`, CR and LF; in properties also `:` and `,`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from gradlint.diagnostics import Diagnostic, Severity
from gradlint.render import RenderOptions, display_path, lossy

if TYPE_CHECKING:
    from gradlint.api import Report


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(diagnostic: Diagnostic, options: RenderOptions) -> str:
    command = "warning" if diagnostic.severity is Severity.WARNING else "error"
    path = display_path(diagnostic.filename, options.root)
    properties = {
        "title": f"gradlint ({diagnostic.code})",
        "file": path,
        "line": str(diagnostic.start.row),
        "col": str(diagnostic.start.column),
        "endLine": str(diagnostic.end.row),
        "endColumn": str(diagnostic.end.column),
    }
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    text = f"{path}:{diagnostic.start.row}:{diagnostic.start.column}: {diagnostic.code} {lossy(diagnostic.message)}"
    return f"::{command} {props}::{escape_data(text)}"


def render(report: "Report", out: TextIO, options: RenderOptions) -> None:
    for diagnostic in report.diagnostics:
        out.write(annotation(diagnostic, options) + "\n")
