"""Applying fixes: `gradlint check --fix [--unsafe-fixes]` and `--diff`.

The rules attach a `Fix` (text edits) to a diagnostic; this module turns them into a new file:

- only *applicable* fixes are used: safe ones always, unsafe ones only with `unsafe=True`
  (ruff's `--unsafe-fixes`); the others are counted as hidden;
- a file's fixes are applied together when their edits do not overlap (an overlapping fix waits
  for the next pass); the result is checked again and the passes repeat until nothing changes;
- every result is parsed with libcst before it is kept: a fix that would produce invalid Python
  is refused and the text stays as it was;
- the new text is written atomically (a temporary file in the same folder, then `os.replace`),
  keeping the file's permission bits, its encoding (coding cookie, UTF-8 byte order mark) and its
  line endings (edits are written with the ending of the line they start on); if anything fails
  the original file is left untouched. A file that changed on disk since it was read is not
  overwritten;
- applying the fixes a second time changes nothing (the fixed code no longer triggers them).

Nothing here writes unless asked (`write=True`, only from `--fix`).
"""

from __future__ import annotations

import codecs
import difflib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Optional, Sequence, TextIO, Union

from gradlint.api import NO_FILES_WARNING, FileReport, Report, check_source, report_read_problem, stdin_is_excluded
from gradlint.diagnostics import Diagnostic, Edit, Severity, fix_applies, hidden_fix
from gradlint.files import ReadResult, decode_source, read_source
from gradlint.render import LogLevel
from gradlint.settings import Settings
from gradlint.suppression import UNCHECKED_CODES

MAX_PASSES = 10
_NEWLINE = re.compile(r"\r\n|\r|\n")


class FixError(Exception):
    """A fix could not be applied or written; the file was left unchanged."""


@dataclass(frozen=True)
class FixOutcome:
    """What fixing one file did (or, with `write=False`, would do)."""

    filename: str
    original: str
    fixed: str
    applied: int  # diagnostics whose fix was applied
    report: FileReport  # the diagnostics that remain in the fixed text
    hidden: int = 0  # remaining diagnostics with an unsafe fix not applied (no --unsafe-fixes)
    error: Optional[str] = None  # why (part of) the fixes were refused or not written
    written: bool = False
    encoding: str = "utf-8"
    bom: bool = False
    write_failed: bool = False  # --fix could not write the file (it is unchanged)
    fixed_warnings: int = 0  # how many of the `applied` were warnings (the summary names them so)
    fixed_codes: tuple[str, ...] = ()  # the code of each applied fix (--show-fixes)

    @classmethod
    def of(cls, filename: str, read: ReadResult, bom: bool, result: TextFix, unsafe: bool, written: bool = False) -> "FixOutcome":
        """The outcome of `fix_text` on the decoded file `read` (nothing written yet unless `written`)."""
        return cls(
            filename, read.text or "", result.text, len(result.fixed), result.report, _hidden(result.report, unsafe),
            result.refusal, written, read.encoding, bom, fixed_warnings=result.warnings,
            fixed_codes=tuple(diagnostic.code for diagnostic in result.fixed),
        )

    @property
    def changed(self) -> bool:
        return self.fixed != self.original

    def diff(self, label: Optional[str] = None) -> str:
        """A unified diff from the original to the fixed text ('' when unchanged). Each line keeps
        its own ending (CRLF too, as ruff's diff does), so the patch applies to the file; a BOM
        shows on the first line; a last line without an ending says so."""
        if not self.changed:
            return ""
        name = label or self.filename
        bom = "\ufeff" if self.bom else ""
        lines = difflib.unified_diff(
            _lines(bom + self.original), _lines(bom + self.fixed), fromfile=name, tofile=name, lineterm=""
        )
        out = []
        for line in lines:
            if line.startswith(("---", "+++", "@@")) and not line.endswith("\n"):
                out.append(line + "\n")  # headers: difflib leaves them without an ending
            elif line.endswith(("\n", "\r")):
                out.append(line)
            else:
                out.append(line + "\n\\ No newline at end of file\n")
        return "".join(out)

    def diff_bytes(self, label: Optional[str] = None) -> bytes:
        """`diff` as bytes: the header in UTF-8, the file's lines in the file's own encoding,
        so that `patch` and `git apply` match them byte for byte."""
        text = self.diff(label)
        if not text:
            return b""
        header, _, body = text.partition("\n@@")
        codec = "utf-8" if self.encoding.lower().replace("_", "-") in ("utf-8-sig", "utf8-sig") else self.encoding
        try:
            encoded = ("@@" + body).encode(codec, "surrogateescape") if body else b""
        except (UnicodeError, LookupError, ValueError):
            encoded = ("@@" + body).encode("utf-8", "surrogateescape")
        return (header + "\n").encode("utf-8", "surrogateescape") + encoded


@dataclass(frozen=True)
class FixRun:
    """The outcome of `--fix` / `--diff` over many files."""

    report: Report  # the remaining diagnostics of every file (fixed files re-checked)
    outcomes: tuple[FixOutcome, ...] = ()

    @property
    def applied(self) -> int:
        return sum(outcome.applied for outcome in self.outcomes)

    @property
    def fixed_warnings(self) -> int:
        return sum(outcome.fixed_warnings for outcome in self.outcomes)

    @property
    def changed_files(self) -> list[FixOutcome]:
        return [outcome for outcome in self.outcomes if outcome.changed]

    @property
    def errors(self) -> list[FixOutcome]:
        return [outcome for outcome in self.outcomes if outcome.error]

    @property
    def hidden(self) -> int:
        return _hidden(self.report, unsafe=False)

    def summary(self, unsafe: bool, diff: bool = False) -> list[str]:
        """Lines for the user, in ruff's words: what was (or would be) fixed, and in the same line
        how many more fixes `--unsafe-fixes` would enable (the errors are `error_lines`)."""
        applied, files = self.applied, len(self.changed_files)
        hidden = 0 if unsafe else self.hidden
        if diff:
            if applied:
                extra = f" ({_unsafe_available(hidden, additional=True)})" if hidden else ""
                return [f"Would fix {_counted(applied, self.fixed_warnings)} in {_plural(files, 'file')}{extra}."]
            return [f"No errors would be fixed ({_unsafe_available(hidden)})."] if hidden else ["No fixes available."]
        if applied:
            remaining = len(self.report.diagnostics)
            extra = f"; {_unsafe_available(hidden, additional=True)}" if hidden else ""
            return [f"Fixed {_counted(applied, self.fixed_warnings)} in {_plural(files, 'file')} ({remaining} remaining{extra})."]
        return [f"No errors fixed ({_unsafe_available(hidden)})."] if hidden else []

    def fix_only_summary(self, unsafe: bool) -> list[str]:
        """`--fix-only`'s one line (ruff's): what was fixed, and how many more fixes
        `--unsafe-fixes` would enable; nothing when there was nothing to fix."""
        if not self.applied:
            return self.summary(unsafe)  # `No errors fixed (...)`, or nothing
        hidden = 0 if unsafe else self.hidden
        extra = f" ({_unsafe_available(hidden, additional=True)})" if hidden else ""
        return [f"Fixed {_counted(self.applied, self.fixed_warnings)}{extra}."]

    def listing(self, root: Optional[Path] = None) -> str:
        """`--show-fixes` (ruff's): the fixes applied, counted per file and code; '' for none."""
        from collections import Counter

        from gradlint import registry
        from gradlint.render import display_path

        if not self.applied:
            return ""
        base = root or Path.cwd()
        lines = ["", f"Fixed {_counted(self.applied, self.fixed_warnings)}:"]
        for outcome in sorted(self.outcomes, key=lambda outcome: outcome.filename):
            if outcome.fixed_codes:
                lines.append(f"- {display_path(outcome.filename, base)}:")
                for code, count in sorted(Counter(outcome.fixed_codes).items()):
                    lines.append(f"    {count} \u00d7 {code} ({registry.RULES[code].name})")
        return "\n".join(lines) + "\n\n"

    def error_lines(self) -> list[str]:
        """One line per file that could not be fixed or written."""
        return [f"gradlint: error: {outcome.filename}: {outcome.error}" for outcome in self.errors]

    def unchecked_lines(self) -> list[str]:
        """One line per file that could not be read or parsed, so has no fixes to show (--diff
        prints no findings: without these lines it would pass over them in silence)."""
        return [
            f"gradlint: error: {d.filename}: not checked: {d.code} {d.message}"
            for d in self.report.diagnostics
            if d.code in UNCHECKED_CODES
        ]


# -- applying edits to text --------------------------------------------------------------------
def line_starts(text: str) -> list[int]:
    """The offset where each row starts (rows split at \\r\\n, \\r and \\n, like Python)."""
    starts = [0]
    starts.extend(match.end() for match in _NEWLINE.finditer(text))
    return starts


def _offset(starts: list[int], text: str, row: int, column: int) -> int:
    if row < 1 or row > len(starts):
        raise FixError(f"an edit points at row {row}, outside the file ({len(starts)} rows)")
    offset = starts[row - 1] + column - 1
    end_of_row = starts[row] if row < len(starts) else len(text)
    if column < 1 or offset > end_of_row:
        raise FixError(f"an edit points at column {column} of row {row}, outside the row")
    return offset


def _ending_at(text: str, starts: list[int], row: int) -> Optional[str]:
    """The line ending of `row` (None for a last row without one)."""
    if row < len(starts):
        end = starts[row]
        return "\r\n" if text[end - 2 : end] == "\r\n" else text[end - 1 : end]
    return None


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """`text` with the non-overlapping `edits` applied. Newlines in an edit's content are written
    with the line ending of the row the edit starts on (the file's own ending for that spot)."""
    starts = line_starts(text)
    default = _ending_at(text, starts, 1) or "\n"
    spans = []
    for edit in edits:
        start = _offset(starts, text, edit.start.row, edit.start.column)
        end = _offset(starts, text, edit.end.row, edit.end.column)
        if end < start:
            raise FixError(f"an edit ends (row {edit.end.row}) before it starts (row {edit.start.row})")
        ending = _ending_at(text, starts, edit.start.row) or default
        spans.append((start, end, _NEWLINE.sub(ending.replace("\\", "\\\\"), edit.content)))
    spans.sort(key=lambda span: (span[0], span[1]))
    pieces = []
    position = 0
    for start, end, content in spans:
        if start < position:
            raise FixError("two edits overlap")
        pieces.append(text[position:start])
        pieces.append(content)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


applicable = fix_applies  # this module's public name for it (see __all__)


def _non_overlapping(diagnostics: Iterable[Diagnostic], unsafe: bool) -> list[Diagnostic]:
    """The diagnostics whose fixes can be applied together (first come, first served)."""
    chosen: list[Diagnostic] = []
    taken: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key):
        if not fix_applies(diagnostic.fix, unsafe):
            continue
        assert diagnostic.fix is not None
        spans = [((e.start.row, e.start.column), (e.end.row, e.end.column)) for e in diagnostic.fix.edits]
        if any(start < other_end and other_start < end for start, end in spans for other_start, other_end in taken):
            continue
        if any(start == end and (start == other_start or start == other_end) for start, end in spans for other_start, other_end in taken):
            continue  # two insertions at one point: order would be ambiguous
        chosen.append(diagnostic)
        taken.extend(spans)
    return chosen


def _parses(text: str) -> Optional[str]:
    """None when `text` parses, else the parser's message."""
    import libcst as cst

    try:
        cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        return f"line {error.raw_line}: {error.message}"
    except (RecursionError, MemoryError) as error:  # pragma: no cover - pathological input
        return type(error).__name__
    return None


@dataclass(frozen=True)
class TextFix:
    """What `fix_text` did to one text."""

    text: str  # the fixed text
    fixed: tuple[Diagnostic, ...]  # the findings whose fix was applied
    report: FileReport  # the diagnostics of the fixed text
    refusal: Optional[str] = None  # why some fixes were refused

    @property
    def warnings(self) -> int:
        """How many of the fixed findings were warnings (the summary names them so)."""
        return sum(1 for diagnostic in self.fixed if diagnostic.severity is Severity.WARNING)


def fix_text(text: str, filename: str, settings: Settings, unsafe: bool) -> TextFix:
    """Apply the applicable fixes to `text` (in passes, until nothing changes)."""
    report = check_source(text, filename, settings)
    fixed: list[Diagnostic] = []
    refusal: Optional[str] = None
    seen = {text}
    for _ in range(MAX_PASSES):
        batch = _non_overlapping(report.diagnostics, unsafe)
        if not batch:
            break
        candidate, done, problem = _apply_batch(text, batch)
        if problem is not None:
            refusal = problem
        if not done or candidate in seen:
            break
        seen.add(candidate)
        text = candidate
        fixed.extend(done)
        report = check_source(text, filename, settings)
    return TextFix(text, tuple(fixed), report, refusal)


def _apply_batch(text: str, batch: list[Diagnostic]) -> tuple[str, list[Diagnostic], Optional[str]]:
    """Apply the batch together; if the result does not parse, apply the fixes one by one and keep
    only those whose result parses. Returns (text, the findings fixed, refusal message or None)."""
    edits = [edit for diagnostic in batch for edit in diagnostic.fix.edits]  # type: ignore[union-attr]
    try:
        candidate = apply_edits(text, edits)
        if _parses(candidate) is None:
            return candidate, batch, None
    except FixError:
        pass
    refused = []
    done: list[Diagnostic] = []
    for diagnostic in batch:
        try:
            candidate = apply_edits(text, diagnostic.fix.edits)  # type: ignore[union-attr]
        except FixError as error:
            refused.append(f"the fix for {diagnostic.code} at {diagnostic.start.row}:{diagnostic.start.column} ({error})")
            continue
        problem = _parses(candidate)
        if problem is not None:
            refused.append(
                f"the fix for {diagnostic.code} at {diagnostic.start.row}:{diagnostic.start.column} would not parse ({problem})"
            )
            continue
        text = candidate
        done.append(diagnostic)
        break  # positions of the remaining fixes refer to the old text: next pass
    message = "; ".join(refused) + "; refused, that code is left as it was" if refused else None
    return text, done, message


# -- files -------------------------------------------------------------------------------------
def fix_file(path: Union[str, Path], settings: Settings, unsafe: bool, write: bool) -> FixOutcome:
    """Fix one file; write it (atomically) only when `write` and something changed."""
    filename = os.path.abspath(str(path))
    read = read_source(filename)  # as the check read it: never blocks, only regular files, size-limited
    if read.problem is not None or read.text is None or read.data is None:
        assert read.problem is not None
        return FixOutcome(filename, "", "", 0, report_read_problem(filename, read.problem, settings))
    data = read.data
    bom = data.startswith(codecs.BOM_UTF8)
    result = fix_text(read.text, filename, settings, unsafe)
    outcome = FixOutcome.of(filename, read, bom, result, unsafe)
    if not write or not outcome.changed:
        return outcome
    try:
        payload = encode(result.text, read.encoding, bom)
        write_atomically(filename, payload, expected=data)
    except FixError as error:
        # Nothing was written: report the original text's diagnostics.
        original_report = check_source(read.text, filename, settings)
        return FixOutcome(
            filename, read.text, read.text, 0, original_report, _hidden(original_report, unsafe), str(error),
            False, read.encoding, bom, write_failed=True,
        )
    return FixOutcome.of(filename, read, bom, result, unsafe, written=True)


def _hidden(report: "FileReport | Report", unsafe: bool) -> int:
    """The remaining findings whose fix only `--unsafe-fixes` would apply (0 when it was given)."""
    return 0 if unsafe else sum(1 for d in report.diagnostics if hidden_fix(d.fix))


def encode(text: str, encoding: str, bom: bool) -> bytes:
    """The bytes to write: the original encoding, with the UTF-8 BOM when the file had one."""
    codec = "utf-8" if encoding.lower().replace("_", "-") in ("utf-8-sig", "utf8-sig") else encoding
    try:
        body = text.encode(codec)
    except UnicodeEncodeError as error:
        raise FixError(
            f"the fixed text cannot be encoded as {encoding} ({error.reason} at character {error.start}); file left unchanged"
        ) from None
    except LookupError as error:  # pragma: no cover - the file was decoded with it
        raise FixError(f"unknown encoding {encoding}: {error}") from None
    except (UnicodeError, ValueError) as error:  # codecs that fail otherwise (`idna`: "label empty or too long")
        raise FixError(f"the fixed text cannot be encoded as {encoding} ({error}); file left unchanged") from None
    payload = (codecs.BOM_UTF8 if bom else b"") + body
    check = decode_source(payload, "<fixed>")
    if check.problem is not None or check.text != text:
        raise FixError(f"the fixed text does not survive encoding as {encoding}; file left unchanged")
    return payload


def write_atomically(filename: str, payload: bytes, expected: Optional[bytes] = None) -> None:
    """Replace the file's content by `payload` atomically (temporary file in the same folder, then
    os.replace), keeping its permission bits, owner and extended attributes. A symbolic link is
    followed (its target is written). With `expected`, refuse when the file no longer holds those
    bytes (changed since it was read).

    Written in place instead (as ruff writes), when a rename would lose what the file is: a file
    with other hard links (they would keep the old text), a file owned by another user (the new
    one would be ours), or a file in a folder we cannot write. The original bytes are then put
    back if the write fails."""
    target = os.path.realpath(filename)
    folder = os.path.dirname(target) or "."
    try:
        status = os.stat(target)
    except OSError as error:
        raise FixError(f"cannot write the fix: {error.strerror or error}; file left unchanged") from None
    if not (status.st_mode & stat.S_IWUSR) or not os.access(target, os.W_OK):
        # Replacing the file would succeed (only the folder's permission counts), but a read-only
        # file says "do not modify": respect it.
        raise FixError("the file is read-only; file left unchanged")
    if expected is not None:
        try:
            with open(target, "rb") as current:
                if current.read() != expected:
                    raise FixError("the file changed on disk while it was being checked; file left unchanged")
        except OSError as error:
            raise FixError(f"cannot re-read the file before writing: {error.strerror or error}; file left unchanged") from None
    if _must_write_in_place(status, folder):
        _write_in_place(target, payload, expected)
        return
    temporary = None
    try:
        # A short name: the file's own name may already be near the 255-byte limit.
        descriptor, temporary = tempfile.mkstemp(prefix=".gradlint-", suffix=".tmp", dir=folder)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, stat.S_IMODE(status.st_mode))
        if hasattr(os, "chown"):
            try:
                os.chown(temporary, status.st_uid, status.st_gid)
            except OSError:
                pass  # the group may not be ours to give: the mode bits are what matter
        _copy_extended_attributes(target, temporary)
        os.replace(temporary, target)
        temporary = None
    except OSError as error:
        raise FixError(f"cannot write the fix: {error.strerror or error}; file left unchanged") from None
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def _must_write_in_place(status: os.stat_result, folder: str) -> bool:
    """Whether replacing the file by a new one would split its hard links, change its owner, or
    cannot be done (a folder we may not write)."""
    if status.st_nlink > 1:
        return True
    euid = os.geteuid() if hasattr(os, "geteuid") else None
    if euid not in (None, 0) and status.st_uid != euid:
        return True
    return not os.access(folder, os.W_OK | os.X_OK)


def _write_in_place(target: str, payload: bytes, expected: Optional[bytes]) -> None:
    """Overwrite the file itself, never leaving it damaged without saying so: its original bytes
    are first saved in a backup in the temporary folder (no backup, no write), then the new bytes
    are written unbuffered; when that fails (a full disk, a file-size limit) the original bytes
    are written back. Only if that fails too is the backup kept, and the error names it."""
    original = expected if expected is not None else _read_bytes(target)
    try:
        descriptor, backup = tempfile.mkstemp(prefix="gradlint-original-", suffix=".py")
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(original)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise FixError(f"cannot write the fix in place (no room for a backup of the original: "
                       f"{error.strerror or error}); file left unchanged") from None
    try:
        _overwrite(target, payload)
    except BaseException as error:  # a full disk, or Ctrl-C in the middle: put the original back
        reason = error.strerror or error if isinstance(error, OSError) else type(error).__name__
        try:
            _overwrite(target, original)
        except BaseException:
            raise FixError(
                f"cannot write the fix in place ({reason}), nor put the original back: the file may "
                f"be damaged; its original bytes are in {backup}"
            ) from None
        _remove_quietly(backup)
        if not isinstance(error, OSError):
            raise  # interrupted: the file holds its original bytes again
        raise FixError(f"cannot write the fix in place: {reason}; file left unchanged") from None
    _remove_quietly(backup)


def _overwrite(target: str, data: bytes) -> None:
    """Write `data` over the file's content with unbuffered writes (so a failure is seen where it
    happens), cut it to that length and flush it to disk."""
    descriptor = os.open(target, os.O_WRONLY | getattr(os, "O_BINARY", 0))
    try:
        view = memoryview(data)
        written = 0
        while written < len(view):
            written += os.write(descriptor, view[written:])
        os.ftruncate(descriptor, len(data))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_bytes(target: str) -> bytes:
    try:
        with open(target, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise FixError(f"cannot re-read the file before writing: {error.strerror or error}; file left unchanged") from None


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _copy_extended_attributes(source: str, destination: str) -> None:
    """Best effort (Linux): the new file keeps the old one's extended attributes."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(source)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(destination, name, os.getxattr(source, name))
        except OSError:
            pass


# -- runs ----------------------------------------------------------------------------------------
def fix_paths(
    paths: Sequence[Union[str, Path]],
    settings: Settings,
    *,
    unsafe: bool = False,
    write: bool = True,
    jobs: Optional[int] = 1,
    cache: bool = False,
) -> FixRun:
    """Check `paths`, then fix every file that has an applicable fix (`write=False`: compute the
    fixes only, for `--diff`). The report holds the diagnostics that remain."""
    from gradlint.api import check_paths

    checked = check_paths(paths, settings, jobs=jobs, cache=cache)
    outcomes = []
    files = []
    for file_report in checked.files:
        if not any(fix_applies(d.fix, unsafe) for d in file_report.diagnostics):
            files.append(file_report)
            continue
        try:
            outcome = fix_file(file_report.filename, settings, unsafe, write)
        except Exception as error:  # noqa: BLE001 - one file's failure never stops the others' fixes
            outcome = FixOutcome(
                file_report.filename, "", "", 0, file_report, error=f"internal error while fixing it ({type(error).__name__}: "
                f"{error}); file left unchanged", write_failed=True,
            )
        outcomes.append(outcome)
        files.append(outcome.report)
    return FixRun(Report(tuple(files), checked.problems, checked.warnings), tuple(outcomes))


def fix_stdin(stream: BinaryIO, stdin_filename: Optional[str], settings: Settings, *, unsafe: bool = False) -> tuple[FixRun, bytes]:
    """Fix source read from stdin: (the run, the fixed source as bytes in its own encoding).
    Like ruff, the caller prints the fixed source to stdout and the diagnostics elsewhere."""
    filename = os.path.abspath(stdin_filename or "-")
    data = stream.read()
    if stdin_is_excluded(stdin_filename, settings):
        return FixRun(Report()), data  # excluded: passed through unchanged, as ruff does
    read = decode_source(data, filename)
    if read.problem is not None or read.text is None:
        assert read.problem is not None
        return FixRun(Report((report_read_problem(filename, read.problem, settings),))), data
    bom = data.startswith(codecs.BOM_UTF8)
    result = fix_text(read.text, filename, settings, unsafe)
    outcome = FixOutcome.of(filename, read, bom, result, unsafe)
    try:
        payload = encode(result.text, read.encoding, bom) if outcome.changed else data
    except FixError as error:
        original = check_source(read.text, filename, settings)
        outcome = FixOutcome(filename, read.text, read.text, 0, original, _hidden(original, unsafe), str(error))
        payload = data
    return FixRun(Report((outcome.report,)), (outcome,)), payload


def run_cli(
    paths: Sequence[str],
    settings: Settings,
    *,
    unsafe: bool,
    diff: bool,
    output_format: str,
    out: TextIO,
    err: TextIO,
    stdin: Optional[BinaryIO] = None,
    stdin_filename: Optional[str] = None,
    jobs: Optional[int] = None,
    cache: bool = True,
    exit_zero: bool = False,
    statistics: bool = False,
    report_to: Optional[TextIO] = None,
    exit_non_zero_on_fix: bool = False,
    log_level: LogLevel = LogLevel.DEFAULT,
    color: Optional[bool] = None,
    fix_only: bool = False,
    show_fixes: bool = False,
) -> int:
    """`gradlint check --fix [--unsafe-fixes]`, `--fix-only` and `--diff`; returns the exit code.

    --diff: print unified diffs, write nothing; exit 1 when a file would change (0 with
    --exit-zero), else 0.
    --fix: write the fixed files, report what remains; exit as `check` does on the remaining
    findings (2 when a rule crashed or a file could not be written).
    stdin (`-`): with --fix the fixed source goes to stdout and the findings to stderr (ruff).
    `report_to` (--output-file): where the findings go instead, written without colour.
    `exit_non_zero_on_fix`: exit 1 when a file was fixed, even with nothing left (not with --exit-zero).
    `log_level`: under -q and -s the summaries and warnings on stderr are dropped (errors stay).
    `color`: --color always (True) or never (False); None: on a terminal, never in a report file.
    `fix_only`: fix, but do not report the findings left (`_report_fix_only`).
    `show_fixes`: list the fixes applied, per file and code, before the summary (ruff's --show-fixes)."""
    from gradlint.render import EXIT_ERROR, emit, notices, write_warnings

    told = notices(err, log_level)
    if color is None and report_to is not None:
        color = False
    from_stdin = list(paths) == ["-"]
    payload = b""
    if from_stdin:
        assert stdin is not None
        run, payload = fix_stdin(stdin, stdin_filename, settings, unsafe=unsafe)
    else:
        run = fix_paths(paths, settings, unsafe=unsafe, write=not diff, jobs=jobs, cache=cache)
        if not run.report.checked and not run.report.problems:
            _write_lines(told, [NO_FILES_WARNING])
    write_warnings(run.report, told)
    if diff:
        write_diffs(run, out)
        _write_lines(told, run.summary(unsafe, diff=True))
        _write_lines(err, run.error_lines() + run.unchecked_lines())
        return _diff_exit(run, exit_zero)
    if from_stdin:
        _write_bytes(out, payload)
    report_out = report_to or (err if from_stdin else out)
    listing = run.listing() if show_fixes else ""
    if fix_only:
        code = _report_fix_only(run, unsafe, output_format, statistics, report_out, err, log_level, color, listing)
    else:
        code = emit(
            run.report, output_format, report_out, err, statistics=statistics, exit_zero=exit_zero, color=color,
            unsafe_fixes=unsafe, applying_fixes=True, fixed=run.applied, fixed_warnings=run.fixed_warnings,
            log_level=log_level, fixes_listing=listing,
        )
        _write_fix_lines(run, unsafe, output_format, statistics, err, told)
    if any(outcome.write_failed for outcome in run.outcomes):
        return EXIT_ERROR
    return _fix_exit(run, code, exit_zero, exit_non_zero_on_fix)


def _report_fix_only(
    run: FixRun, unsafe: bool, output_format: str, statistics: bool, out: TextIO, err: TextIO,
    log_level: LogLevel, color: Optional[bool], listing: str,
) -> int:
    """`--fix-only`, as ruff: the findings left are not reported (with --statistics, only
    counted), and exit 0 for them; the text formats end with `Fixed N errors.` (and
    `--show-fixes`' list before it). Exit 2 when a rule crashed."""
    from gradlint.render import EXIT_CLEAN, EXIT_ERROR, TEXT_REPORT_FORMATS, emit, notices, write_crashes

    if statistics:
        quieter = LogLevel.QUIET if log_level is LogLevel.DEFAULT else log_level  # the table, not its summary
        emit(run.report, output_format, out, err, statistics=True, color=color, unsafe_fixes=unsafe,
             applying_fixes=True, log_level=quieter)
    else:
        write_crashes(run.report, err)
    _write_lines(err, run.error_lines())
    if output_format in TEXT_REPORT_FORMATS:
        told = notices(out, log_level)
        told.write(listing)
        _write_lines(told, run.fix_only_summary(unsafe))
    return EXIT_ERROR if run.report.crashes else EXIT_CLEAN


def _write_fix_lines(
    run: FixRun, unsafe: bool, output_format: str, statistics: bool, err: TextIO, told: TextIO
) -> None:
    """What --fix says on stderr: the errors (to `err`), and after a machine format, which has
    no summary, the fix summary (to `told`: nowhere under -q). A text report (the text formats,
    and statistics in any format but JSON) already counts what was fixed
    (`Found 3 errors (2 fixed, 1 remaining).`, as ruff)."""
    from gradlint.render import JSON_STATISTICS_FORMATS, TEXT_REPORT_FORMATS

    text_report = output_format in TEXT_REPORT_FORMATS or (statistics and output_format not in JSON_STATISTICS_FORMATS)
    if not text_report:
        _write_lines(told, run.summary(unsafe))
    _write_lines(err, run.error_lines())


def _fix_exit(run: FixRun, code: int, exit_zero: bool, exit_non_zero_on_fix: bool) -> int:
    """--fix: `code` (as `check` exits on what remains), or 1 when a file was fixed and
    --exit-non-zero-on-fix asks for it (pre-commit: the commit must be redone); --exit-zero wins."""
    if exit_non_zero_on_fix and run.changed_files and not exit_zero and code == 0:
        return 1
    return code


def _diff_exit(run: FixRun, exit_zero: bool) -> int:
    """--diff: 1 when a file would change (0 with --exit-zero), 2 when a rule crashed or a file
    could not be read or parsed."""
    from gradlint.render import EXIT_ERROR

    if run.report.crashes or run.unchecked_lines():
        return EXIT_ERROR
    return 1 if run.changed_files and not exit_zero else 0


def _write_lines(stream: TextIO, lines: list[str]) -> None:
    for line in lines:
        stream.write(line + "\n")
    stream.flush()


def _write_bytes(stream: TextIO, payload: bytes) -> None:
    stream.flush()
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        buffer.write(payload)
        buffer.flush()
    else:  # a text-only stream (tests): decode as the payload was encoded
        read = decode_source(payload, "<stdout>")
        stream.write(read.text if read.text is not None else payload.decode("utf-8", "replace"))
        stream.flush()


def write_diffs(run: FixRun, out: TextIO, root: Optional[Path] = None) -> None:
    """Print one unified diff per file that would change (paths relative to `root`)."""
    from gradlint.render import display_path

    base = root or Path.cwd()
    for outcome in run.changed_files:
        label = display_path(outcome.filename, base)
        if getattr(out, "buffer", None) is not None:
            _write_bytes(out, outcome.diff_bytes(label))
        else:  # a text-only stream
            out.write(outcome.diff(label))


def _lines(text: str) -> list[str]:
    return [match.group(0) for match in re.finditer(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)]


def _unsafe_available(hidden: int, additional: bool = False) -> str:
    """Ruff's words for the fixes only `--unsafe-fixes` applies: `2 additional fixes available with ...`."""
    fixes = "fix" if hidden == 1 else "fixes"
    return f"{hidden}{' additional' if additional else ''} {fixes} available with `--unsafe-fixes`"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _counted(fixed: int, warnings: int) -> str:
    """`2 errors`, `1 warning`, `1 error and 2 warnings`: fixed findings named as the `Found` line names them."""
    errors = fixed - warnings
    parts = ([_plural(errors, "error")] if errors else []) + ([_plural(warnings, "warning")] if warnings else [])
    return " and ".join(parts) or _plural(0, "error")


__all__ = [
    "FixError",
    "FixOutcome",
    "FixRun",
    "applicable",
    "apply_edits",
    "encode",
    "fix_file",
    "fix_paths",
    "fix_stdin",
    "fix_text",
    "run_cli",
    "write_atomically",
    "write_diffs",
]
