"""`json-lines`: one diagnostic object per line, each shaped as in `json`."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from gradlint.render import RenderOptions
from gradlint.render.json import diagnostic_to_dict, dumps

if TYPE_CHECKING:
    from gradlint.api import Report


def render(report: "Report", out: TextIO, options: RenderOptions) -> None:
    for diagnostic in report.diagnostics:
        out.write(dumps(diagnostic_to_dict(diagnostic), ascii_only=options.ascii_only) + "\n")
