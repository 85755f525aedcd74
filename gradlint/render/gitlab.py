"""`gitlab`: a GitLab Code Quality report (a JSON array), as `ruff --output-format gitlab` writes.

    [{"description": "...", "check_name": "GL101", "fingerprint": "...", "severity": "major",
      "location": {"path": "pkg/x.py", "lines": {"begin": 3, "end": 4}}}]

Paths are relative to `$CI_PROJECT_DIR` when GitLab CI sets it (else to the current directory),
shown (and hashed) as `render.display_path` shows them: undecodable bytes of a name as U+FFFD.
A finding whose gradient value is wrong (`error`) is `major`, a robustness one (`warning`)
`minor`. The fingerprint hashes the code, the path and the finding's line as SARIF's does (its
content and which occurrence of that content it is; `sarif.LineHashes`), plus the finding's rank
among identical ones: not the row or the message (which names rows), so a finding keeps it when
code above it moves.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gradlint.diagnostics import Severity
from gradlint.render import RenderOptions, display_path, lossy, sources_by_file
from gradlint.render.json import dumps
from gradlint.render.sarif import LineHashes

if TYPE_CHECKING:
    from gradlint.api import Report


def code_quality(report: "Report", options: RenderOptions) -> list[dict[str, Any]]:
    root = Path(os.environ["CI_PROJECT_DIR"]) if os.environ.get("CI_PROJECT_DIR") else options.root
    sources = sources_by_file(report)
    hashes: dict[str, LineHashes] = {}
    seen: dict[tuple[str, str, str], int] = {}
    issues = []
    for diagnostic in report.diagnostics:
        path = display_path(diagnostic.filename, root).replace(os.sep, "/")
        if diagnostic.filename not in hashes:
            hashes[diagnostic.filename] = LineHashes(sources.get(diagnostic.filename))
        key = (diagnostic.code, path, hashes[diagnostic.filename].of_row(diagnostic.start.row))
        rank = seen[key] = seen.get(key, -1) + 1
        fingerprint = hashlib.blake2b("\0".join((*key, str(rank))).encode("utf-8"), digest_size=16).hexdigest()
        issues.append({
            "description": f"{diagnostic.code} ({diagnostic.name}): {lossy(diagnostic.message)}",
            "check_name": diagnostic.code,
            "fingerprint": fingerprint,
            "severity": "minor" if diagnostic.severity is Severity.WARNING else "major",
            "location": {"path": path, "lines": {"begin": diagnostic.start.row, "end": diagnostic.end.row}},
        })
    return issues


def render(report: "Report", out: TextIO, options: RenderOptions) -> None:
    out.write(dumps(code_quality(report, options), indent=2, ascii_only=options.ascii_only) + "\n")
