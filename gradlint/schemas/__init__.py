"""JSON Schemas of gradlint's machine-readable output, shipped in the package.

- `report`: `gradlint check --output-format json` (ruff's shape); each line of
  `json-lines` is one item of it (`$defs/diagnostic`).
- `statistics`: `gradlint check --statistics --output-format json`.
- `rules`: `gradlint rule --all --output-format json`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

NAMES = ("report", "statistics", "rules")


@lru_cache(maxsize=None)
def load_schema(name: str = "report") -> dict[str, Any]:
    """The schema `name` (one of `NAMES`), read from the installed package."""
    if name not in NAMES:
        raise ValueError(f"unknown schema {name!r} (choose from {', '.join(NAMES)})")
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]
