"""Adding suppression comments: `gradlint check --add-noqa` (ruff's `--add-noqa`).

For a project adopting gradlint with findings it cannot fix at once: every finding that no
comment suppresses yet gets a `# noqa: CODE` directive, so that the next run is clean and new
findings stand out.

- The directive goes at the end of a row where it counts (the finding's own row, or its
  statement's first or last row: `Diagnostic.suppression_rows`) and where a comment can end the
  line: not inside a string, not after a backslash continuation.
- An existing `# noqa: CODES` on that row gets the new codes appended; any other comment keeps
  its text and the directive follows it.
- GL001 and GL002 (a file that was not checked) get nothing: there is nothing to suppress.
- The new text is kept only when checking it again reports none of those findings (and so still
  parses); it is written atomically, with the file's encoding and line endings
  (`fixes.write_atomically`). A file that changed on disk meanwhile is left alone.
"""

from __future__ import annotations

import codecs
import os
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, TextIO, Union

from gradlint.api import NO_FILES_WARNING, UNUSED_NOQA, check_paths, check_source
from gradlint.diagnostics import Diagnostic
from gradlint.files import read_source
from gradlint.render import LogLevel
from gradlint.settings import Settings
from gradlint.suppression import GRADLINT_NOQA_COMMENT, NOQA_COMMENT, UNCHECKED_CODES, noqa_row, rows_a_comment_can_end

_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")  # rows as Python counts them (CR LF, CR or LF ends one)


@dataclass(frozen=True)
class NoqaOutcome:
    """What adding directives to one file did."""

    filename: str
    added: int = 0
    problem: Optional[str] = None  # why some or all of its findings got no directive


def _takes_a_directive(diagnostic: Diagnostic) -> bool:
    """Not a file that was not checked (GL001, GL002), nor an unused directive (GL003: a
    `# noqa: GL003` beside it would be one more directive, never the one that hides it)."""
    return diagnostic.code not in UNCHECKED_CODES and diagnostic.code != UNUSED_NOQA


def add_directives(text: str, filename: str, settings: Settings) -> tuple[str, int, Optional[str]]:
    """`text` with a directive for each unsuppressed finding: (new text, directives added, problem)."""
    findings = [d for d in check_source(text, filename, settings).diagnostics if _takes_a_directive(d)]
    if not findings:
        return text, 0, None
    endable = rows_a_comment_can_end(text)
    codes_by_row: dict[int, list[str]] = {}
    placed: list[Diagnostic] = []
    unplaced = 0
    for finding in findings:
        row = noqa_row(finding.start.row, finding.suppression_rows, endable)
        if row not in endable:
            unplaced += 1
            continue
        codes = codes_by_row.setdefault(row, [])
        if finding.code not in codes:
            codes.append(finding.code)
        placed.append(finding)
    problem = f"{unplaced} finding(s) have no row where a comment can end the line" if unplaced else None
    if not placed:
        return text, 0, problem
    new_text = _with_directives(text, codes_by_row, endable)
    rechecked = check_source(new_text, filename, settings).diagnostics
    remaining = {(d.code, d.start) for d in rechecked}
    if any(d.code == "GL001" for d in rechecked) or any((d.code, d.start) in remaining for d in placed):
        return text, 0, "the directives would not silence its findings; file left unchanged"
    return new_text, sum(len(codes) for codes in codes_by_row.values()), problem


def _with_directives(text: str, codes_by_row: dict[int, list[str]], endable: dict[int, Optional[tokenize.TokenInfo]]) -> str:
    parts = []
    for row, match in enumerate(_LINE.finditer(text), start=1):
        content, ending = match.group(1), match.group(2)
        if row in codes_by_row:
            content = _with_directive(content, codes_by_row[row], endable.get(row))
        parts.append(content + ending)
        if not ending:
            break
    return "".join(parts)


def _with_directive(line: str, codes: list[str], comment: Optional[tokenize.TokenInfo]) -> str:
    """`line` with `codes` added to the directive its comment holds (the one suppression reads: a
    `# gradlint: noqa`, else a `# noqa`), else with a `# noqa: CODES` appended."""
    if comment is not None:
        start = comment.start[1]
        existing = GRADLINT_NOQA_COMMENT.search(line, start) or NOQA_COMMENT.search(line, start)
        if existing is not None and existing.group("codes"):
            end = existing.end("codes")
            return line[:end] + ", " + ", ".join(codes) + line[end:]
        if existing is not None and existing.group("colon"):  # a colon and no code (invalid): name them there
            end = existing.end("colon")
            gap = "" if line[end - 1 : end].isspace() else " "
            after = line[end:]
            return line[:end] + gap + ", ".join(codes) + (" " if after and not after[0].isspace() else "") + after
    return line + "  # noqa: " + ", ".join(codes)


def add_noqa_file(path: Union[str, Path], settings: Settings) -> NoqaOutcome:
    """Add the directives to one file and write it (atomically) when something was added."""
    from gradlint.fixes import FixError, encode, write_atomically

    filename = os.path.abspath(str(path))
    read = read_source(filename)  # as the check read it: never blocks, only regular files, size-limited
    if read.problem is not None or read.text is None or read.data is None:
        return NoqaOutcome(filename, problem=read.problem.message if read.problem else "cannot read the file")
    data = read.data
    new_text, added, problem = add_directives(read.text, filename, settings)
    if not added:
        return NoqaOutcome(filename, 0, problem)
    try:
        write_atomically(filename, encode(new_text, read.encoding, data.startswith(codecs.BOM_UTF8)), expected=data)
    except FixError as error:
        return NoqaOutcome(filename, 0, str(error))
    return NoqaOutcome(filename, added, problem)


def add_noqa_paths(
    paths: Sequence[Union[str, Path]], settings: Settings, jobs: Optional[int] = 1
) -> tuple[list[NoqaOutcome], bool]:
    """Check `paths`, then add directives to every file with an unsuppressed finding: (what each
    of those files got, whether `paths` held any file to check at all)."""
    report = check_paths(paths, settings, jobs=jobs)
    outcomes = [
        _add_noqa_safely(file_report.filename, settings)
        for file_report in report.files
        if any(_takes_a_directive(d) for d in file_report.diagnostics)
    ]
    # A file that could not be read or parsed gets no directive: say so, never in silence.
    outcomes += [
        NoqaOutcome(d.filename, 0, f"not checked: {d.code} {d.message}") for d in report.diagnostics if d.code in UNCHECKED_CODES
    ]
    return outcomes, bool(report.checked or report.problems)


def _add_noqa_safely(filename: str, settings: Settings) -> NoqaOutcome:
    """`add_noqa_file`, where one file's failure never stops the others (it is reported)."""
    try:
        return add_noqa_file(filename, settings)
    except Exception as error:  # noqa: BLE001
        return NoqaOutcome(filename, 0, f"internal error while adding directives ({type(error).__name__}: {error}); file left unchanged")


def run_cli(
    paths: Sequence[str], settings: Settings, err: TextIO, jobs: Optional[int] = None, log_level: LogLevel = LogLevel.DEFAULT
) -> int:
    """`gradlint check --add-noqa`: exit 0, or 2 when a file could not be given all its directives.
    Under -q and -s (`log_level`) only the errors are written."""
    from gradlint.render import EXIT_CLEAN, EXIT_ERROR, notices

    told = notices(err, log_level)
    outcomes, found_files = add_noqa_paths(paths, settings, jobs=jobs)
    if not found_files:
        told.write(NO_FILES_WARNING + "\n")
    for outcome in outcomes:
        if outcome.problem:
            err.write(f"gradlint: error: {outcome.filename}: {outcome.problem}\n")
    added = sum(outcome.added for outcome in outcomes)
    told.write(f"Added {added} noqa directive{'' if added == 1 else 's'}.\n")
    err.flush()
    return EXIT_ERROR if any(outcome.problem for outcome in outcomes) else EXIT_CLEAN
