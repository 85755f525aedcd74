"""Suppression comments, as flake8/ruff and Fixit users write them.

- `# noqa` (all codes) or `# noqa: GL101, GL201` on a reported line;
- `# gradlint: ignore` or `# gradlint: ignore[GL101, overwritten-diagonal]`;
- file level, on a line of its own: `# gradlint: noqa` (every finding in the
  file) or `# gradlint: noqa: GL101` (those codes only).

A line comment counts on the reported row and on the first or last row of the
statement that holds the finding, so a finding inside a multi-line expression
can be silenced where the statement starts or ends. Comments are read with
`tokenize`, so `# noqa` inside a string does not count.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from gradlint.diagnostics import Diagnostic

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9_\-]+(?:[\s,]+[A-Za-z0-9_\-]+)*))?", re.IGNORECASE)
_IGNORE = re.compile(r"#\s*gradlint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
_FILE = re.compile(r"^\s*#\s*gradlint:\s*noqa(?::\s*(?P<codes>[A-Za-z0-9_\-]+(?:[\s,]+[A-Za-z0-9_\-]+)*))?\s*$", re.IGNORECASE)

ALL = None  # a directive that covers every code


@dataclass
class Directives:
    """The suppression comments of one file."""

    by_row: dict[int, Optional[set[str]]] = field(default_factory=dict)
    file_level: Optional[set[str]] = field(default_factory=set)  # None: the whole file

    def add_row(self, row: int, codes: Optional[set[str]]) -> None:
        if row in self.by_row and (self.by_row[row] is None or codes is None):
            self.by_row[row] = None
        else:
            self.by_row.setdefault(row, set())
            self.by_row[row] |= codes  # type: ignore[operator]


def _split(codes: Optional[str]) -> Optional[set[str]]:
    if codes is None:
        return ALL
    parts = {part.strip() for part in re.split(r"[\s,]+", codes) if part.strip()}
    return parts or ALL


def _comments(text: str) -> Iterable[tuple[int, str, bool]]:
    """(row, comment, alone on its line) for each comment in `text`."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # Fall back to a line scan for files tokenize rejects.
        for row, line in enumerate(text.splitlines(), start=1):
            position = line.find("#")
            if position >= 0:
                yield row, line[position:], not line[:position].strip()
        return
    code_on_row: set[int] = set()
    for token in tokens:
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            code_on_row.add(token.start[0])
        if token.type == tokenize.COMMENT:
            row = token.start[0]
            yield row, token.string, row not in code_on_row


def parse_directives(text: str) -> Directives:
    directives = Directives()
    for row, comment, alone in _comments(text):
        file_match = _FILE.match(comment) if alone else None
        if file_match:
            codes = _split(file_match.group("codes"))
            if codes is ALL or directives.file_level is None:
                directives.file_level = None
            else:
                directives.file_level |= codes
            continue
        for pattern in (_NOQA, _IGNORE):
            match = pattern.search(comment)
            if match:
                directives.add_row(row, _split(match.group("codes")))
    return directives


def _covers(codes: Optional[set[str]], diagnostic: Diagnostic) -> bool:
    return codes is ALL or diagnostic.code in codes or diagnostic.name in codes  # type: ignore[operator]


def filter_suppressed(
    diagnostics: Iterable[Diagnostic], text: str, directives_for: Callable[[str], Directives] = parse_directives
) -> list[Diagnostic]:
    """The diagnostics that no suppression comment in `text` covers."""
    diagnostics = list(diagnostics)
    if not diagnostics or ("noqa" not in text.lower() and "gradlint" not in text.lower()):
        return diagnostics
    directives = directives_for(text)
    kept = []
    for diagnostic in diagnostics:
        file_level = directives.file_level
        if file_level is None or (file_level and _covers(file_level, diagnostic)):
            continue
        rows = {diagnostic.start.row, *diagnostic.suppression_rows}
        if any(row in directives.by_row and _covers(directives.by_row[row], diagnostic) for row in rows):
            continue
        kept.append(diagnostic)
    return kept
