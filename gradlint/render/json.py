"""`json`: ruff's JSON report shape, a bare array of diagnostic objects."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TextIO

from gradlint.diagnostics import Diagnostic
from gradlint.render import RenderOptions

if TYPE_CHECKING:
    from gradlint.api import Report


def diagnostic_to_dict(d: Diagnostic) -> dict[str, Any]:
    fix = None
    if d.fix is not None:
        fix = {
            "applicability": d.fix.applicability.value,
            "message": d.fix.message,
            "edits": [
                {
                    "content": e.content,
                    "location": {"row": e.start.row, "column": e.start.column},
                    "end_location": {"row": e.end.row, "column": e.end.column},
                }
                for e in d.fix.edits
            ],
        }
    data: dict[str, Any] = {
        "cell": None,
        "code": d.code,
        "end_location": {"row": d.end.row, "column": d.end.column},
        "filename": d.filename,
        "fix": fix,
        "location": {"row": d.start.row, "column": d.start.column},
        "message": d.message,
        "name": d.name,
        "noqa_row": d.noqa_row,
        "severity": d.severity.value,
        "url": d.url,
    }
    if d.runtime is not None:
        data["runtime"] = d.runtime.as_dict()
    return data


def render(report: "Report", out: TextIO, options: RenderOptions) -> None:
    json.dump([diagnostic_to_dict(d) for d in report.diagnostics], out, indent=2)
    out.write("\n")
