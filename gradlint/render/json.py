"""`json`: ruff's JSON report shape, a bare array of diagnostic objects.

Each object has `cell`, `code`, `end_location`, `filename` (absolute), `fix`,
`location`, `message`, `name`, `noqa_row`, `severity`, `url`, and, when the
runtime checker ran, `runtime`. The shape is pinned by the JSON Schema shipped
in `gradlint/schemas/report.schema.json`. Only the JSON goes to `out`. Text goes
through `render.lossy` (a file name that is not UTF-8 shows U+FFFD for its
undecodable bytes), so the output is always valid UTF-8.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, TextIO

from gradlint.diagnostics import Diagnostic, Position
from gradlint.render import RenderOptions, lossy

if TYPE_CHECKING:
    from gradlint.api import Report


def _location(position: Position) -> dict[str, int]:
    return {"row": position.row, "column": position.column}


def diagnostic_to_dict(d: Diagnostic) -> dict[str, Any]:
    fix = None
    if d.fix is not None:
        fix = {
            "applicability": d.fix.applicability.value,
            "message": lossy(d.fix.message),
            "edits": [
                {"content": lossy(e.content), "location": _location(e.start), "end_location": _location(e.end)}
                for e in d.fix.edits
            ],
        }
    data: dict[str, Any] = {
        "cell": None,
        "code": d.code,
        "end_location": _location(d.end),
        "filename": lossy(d.filename),
        "fix": fix,
        "location": _location(d.start),
        "message": lossy(d.message),
        "name": d.name,
        "noqa_row": d.noqa_row,
        "severity": d.severity.value,
        "url": d.url,
    }
    if d.runtime is not None:
        data["runtime"] = plain(d.runtime.as_dict())
    return data


def plain(value: Any) -> Any:
    """`value` as strict JSON data: numpy values become Python ones, and a
    non-finite float (not valid JSON) becomes its name as a string."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return lossy(value)
    if isinstance(value, dict):
        return {lossy(str(key)): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if value is None or isinstance(value, (int, bool)):
        return value
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return plain(tolist())
    return lossy(str(value))


def dumps(data: Any, indent: "int | None" = None, ascii_only: bool = False) -> str:
    """JSON text; `ascii_only` (a stream that cannot write all of Unicode) escapes the rest as
    \\uXXXX, still valid JSON."""
    return json.dumps(data, indent=indent, ensure_ascii=ascii_only, allow_nan=False)


def render(report: "Report", out: TextIO, options: RenderOptions) -> None:
    out.write(dumps([diagnostic_to_dict(d) for d in report.diagnostics], indent=2, ascii_only=options.ascii_only))
    out.write("\n")
