"""One renderer per output format, all over the same `Report`.

Each format module defines `render(report, out, options)`; `FORMATS` maps the
`--output-format` names to those modules, imported only when used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from gradlint.api import Report

FORMATS: dict[str, str] = {
    "concise": "text",
    "full": "text",
    "json": "json",
}


@dataclass(frozen=True)
class RenderOptions:
    """What a renderer needs besides the report."""

    output_format: str = "concise"
    color: bool = False
    root: Path = Path(".")
    show_fixes: bool = False


class Renderer(Protocol):
    def __call__(self, report: "Report", out: TextIO, options: RenderOptions) -> None: ...


def renderer_for(output_format: str) -> Renderer:
    module = importlib.import_module(f"gradlint.render.{FORMATS[output_format]}")
    return module.render  # type: ignore[no-any-return]
