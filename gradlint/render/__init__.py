"""One renderer per output format, all over the same `Report`.

Each format module defines `render(report, out, options)`; `FORMATS` maps the
`--output-format` names to those modules, imported only when used. `emit` is
what the CLI calls: it renders the report (or its statistics), reports rule
crashes on stderr and returns the exit code.

Two conventions every renderer shares, both from ruff:

- Names and messages are shown through `lossy` (`display_path` for a file name): a file name
  that is not valid UTF-8 (Python holds its undecodable bytes as surrogate escapes) is shown
  with U+FFFD in their place, so every format writes valid UTF-8. The `Diagnostic` keeps the
  real name (fixes write the real file; sources are read from it).
- A finding is marked fixable (`[*]`, the statistics' `fixable`) only when its fix applies
  under this run's applicability (`fix_applies`): safe fixes always, unsafe ones only with
  `--unsafe-fixes`; and never while fixes are being applied (`--fix`: what remains was not fixed).
"""

from __future__ import annotations

import enum
import importlib
import io
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional, Protocol, TextIO

from gradlint.diagnostics import fix_applies, hidden_fix

if TYPE_CHECKING:
    from gradlint.api import Report
    from gradlint.diagnostics import Diagnostic

FORMATS: dict[str, str] = {
    "concise": "text",
    "full": "text",
    "json": "json",
    "json-lines": "json_lines",
    "github": "github",
    "gitlab": "gitlab",
    "junit": "junit",
    "pylint": "pylint",
    "sarif": "sarif",
    "grouped": "grouped",
    "azure": "azure",
    "rdjson": "rdjson",
}

# Formats whose `--statistics` output is JSON rather than the text table.
JSON_STATISTICS_FORMATS = frozenset({"json", "json-lines"})
# Formats for people, that end with the summary lines (`Found 2 errors.`, --fix's counts): with
# --fix and --fix-only they say what was fixed on stdout, as ruff's do; the others on stderr.
TEXT_REPORT_FORMATS = frozenset({"concise", "full", "grouped"})

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class LogLevel(enum.Enum):
    """How much `check` says, as ruff's `-q` and `-s` set it. DEFAULT: everything. QUIET: the
    findings only (no summary lines, warnings or notices on stderr). SILENT: not even the
    findings; `--statistics`, `--diff` and a fixed stdin are still written, and the exit code
    still says what was found. Errors (a crash, a file that could not be written) always show."""

    DEFAULT = "default"
    QUIET = "quiet"
    SILENT = "silent"


class _Discard(io.TextIOBase):
    """A text stream that drops what is written to it."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


def notices(stream: TextIO, log_level: LogLevel) -> TextIO:
    """Where warnings and summaries on stderr go: `stream`, or nowhere under `-q` and `-s`."""
    return stream if log_level is LogLevel.DEFAULT else _Discard()  # type: ignore[return-value]


@dataclass(frozen=True)
class RenderOptions:
    """What a renderer needs besides the report."""

    output_format: str = "concise"
    color: bool = False
    root: Path = field(default_factory=Path.cwd)  # paths are shown relative to it
    show_fixes: bool = False
    unsafe_fixes: bool = False  # --unsafe-fixes: unsafe fixes apply too
    applying_fixes: bool = False  # --fix: this run applied the fixes; what remains is not fixable
    fixed: int = 0  # --fix: how many findings this run fixed (ruff's `Found 3 errors (2 fixed, 1 remaining).`)
    fixed_warnings: int = 0  # how many of those were warnings
    quiet: bool = False  # -q / -s: no summary lines after the findings or statistics
    fixes_listing: str = ""  # --show-fixes: the fixes applied, written before the summary lines
    crashed: bool = False  # a rule crashed: no finding does not mean "All checks passed!"
    ascii_only: bool = False  # the stream cannot write all of Unicode: JSON escapes the rest

    def shows_fix(self, diagnostic: "Diagnostic") -> bool:
        """Whether `diagnostic` is marked fixable (`[*]`) in this run."""
        return not self.applying_fixes and fix_applies(diagnostic.fix, self.unsafe_fixes)


class Renderer(Protocol):
    def __call__(self, report: "Report", out: TextIO, options: RenderOptions) -> None: ...


class UnknownFormatError(ValueError):
    """An `--output-format` name that no renderer answers to."""


def check_format(output_format: str) -> None:
    if output_format not in FORMATS:
        raise UnknownFormatError(f"unknown output format {output_format!r} (choose from {', '.join(FORMATS)})")


def renderer_for(output_format: str) -> Renderer:
    check_format(output_format)
    module = importlib.import_module(f"gradlint.render.{FORMATS[output_format]}")
    return module.render  # type: ignore[no-any-return]


def writes_unicode(stream: TextIO) -> bool:
    """Whether `stream`'s encoding can write every character (UTF-8 can; ASCII, a legacy code
    page cannot: there, text formats show escapes and JSON escapes as JSON does)."""
    encoding = getattr(stream, "encoding", None)
    if not encoding:
        return True
    try:
        "\U0010ffff\u00e9".encode(encoding)
    except (UnicodeError, LookupError):
        return False
    return True


def use_color(stream: TextIO, environ: Optional[Mapping[str, str]] = None) -> bool:
    """Colour only on a terminal; `NO_COLOR` turns it off, `FORCE_COLOR` on
    (https://no-color.org, https://force-color.org); NO_COLOR wins."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # a closed or detached stream
        return False


# Surrogates that are not escapes of undecodable bytes (U+DC80..U+DCFF), and all surrogates.
_NOT_BYTE_ESCAPES = re.compile("[\ud800-\udc7f\udd00-\udfff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
# Where file names hold undecodable bytes as surrogate escapes (POSIX; Windows names are UTF-16).
_BYTE_ESCAPES = sys.getfilesystemencodeerrors() == "surrogateescape"


def lossy(text: str) -> str:
    """`text` as valid Unicode for output: the bytes of a file name that are not UTF-8 (held as
    surrogate escapes, as `os.fsdecode` gives them) become U+FFFD, as ruff's lossy conversion
    shows them, and so does any other lone surrogate. Valid text is returned as it is."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return text
    if not _BYTE_ESCAPES:
        return _SURROGATES.sub("\ufffd", text)
    raw = _NOT_BYTE_ESCAPES.sub("\ufffd", text).encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "replace")


def display_path(filename: str, root: Path) -> str:
    """`filename` relative to `root` when it lies under it, else as given; through `lossy`.
    Every renderer shows a file name through this (or `lossy` for an absolute one)."""
    try:
        relative = os.path.relpath(filename, root)
    except ValueError:  # another drive on Windows
        return lossy(filename)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return lossy(filename)
    return lossy(relative)


def exit_code(report: "Report", exit_zero: bool = False) -> int:
    """0 no findings, 1 findings (0 with `--exit-zero`), 2 when a rule crashed."""
    if report.crashes:
        return EXIT_ERROR
    if report.diagnostics and not exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def emit(
    report: "Report",
    output_format: str,
    out: TextIO,
    err: TextIO,
    *,
    statistics: bool = False,
    exit_zero: bool = False,
    root: Optional[Path] = None,
    color: Optional[bool] = None,
    unsafe_fixes: bool = False,
    applying_fixes: bool = False,
    fixed: int = 0,
    fixed_warnings: int = 0,
    log_level: LogLevel = LogLevel.DEFAULT,
    fixes_listing: str = "",
) -> int:
    """Write the report in `output_format` to `out`, crashes to `err`; return the exit code.

    `unsafe_fixes`: `--unsafe-fixes` was given, so unsafe fixes count as applicable.
    `applying_fixes`: this run applied the fixes (`--fix`): nothing left is marked fixable.
    `fixed`: how many findings it fixed (`fixed_warnings` of them warnings), for the text summary.
    `log_level`: QUIET drops the summary lines, SILENT the report too (not the statistics).
    `fixes_listing`: --show-fixes' list of the fixes applied, for the text formats."""
    check_format(output_format)
    options = RenderOptions(
        output_format=output_format,
        color=use_color(out) if color is None else color,
        root=root or Path.cwd(),
        unsafe_fixes=unsafe_fixes,
        applying_fixes=applying_fixes,
        fixed=fixed,
        fixed_warnings=fixed_warnings,
        quiet=log_level is not LogLevel.DEFAULT,
        fixes_listing=fixes_listing,
        crashed=bool(report.crashes),
        ascii_only=not writes_unicode(out),
    )
    if statistics:
        from gradlint.render import stats

        if output_format in JSON_STATISTICS_FORMATS:
            stats.render_json(report, out, options)
        else:
            stats.render_text(report, out, options)
    elif log_level is not LogLevel.SILENT:
        renderer_for(output_format)(report, out, options)
    out.flush()
    write_crashes(report, err)
    return exit_code(report, exit_zero)


def write_warnings(report: "Report", err: TextIO, root: Optional[Path] = None) -> None:
    """The run's warnings on stderr, before the report: about the run itself, then, as ruff, one
    for each suppression directive that names no code (`# noqa:` hides nothing)."""
    for warning in report.warnings:
        err.write(lossy(warning) + "\n")
    base = root or Path.cwd()
    for file in report.files:
        for directive in file.invalid_directives:
            where = f"{display_path(file.filename, base)}:{directive.row}"
            err.write(f"gradlint: warning: Invalid `{directive.kind}` directive on {where}: {directive.warning}.\n")
    err.flush()


def write_crashes(report: "Report", err: TextIO) -> None:
    """One line on stderr per rule that crashed on a file (its findings elsewhere are kept)."""
    for crash in report.crashes:
        err.write(f"gradlint: error: {lossy(str(crash))}\n")
    if report.crashes:
        err.write(
            "gradlint: all other results are kept; please report this crash with the file that triggers it\n"
        )
    err.flush()


class Sources:
    """The checked text of each file, for context lines and fingerprints.

    A report holds the text of the files it checked; a report from the result
    cache does not, so those are read again from disk (only for files with a
    finding, only by the formats that show source)."""

    def __init__(self, report: "Report") -> None:
        self._texts: dict[str, Optional[str]] = {
            file.filename: file.source for file in report.files if file.source is not None
        }

    def get(self, filename: str) -> Optional[str]:
        if filename not in self._texts:
            from gradlint.files import read_source

            self._texts[filename] = read_source(Path(filename)).text if os.path.isfile(filename) else None
        return self._texts[filename]


def sources_by_file(report: "Report") -> Sources:
    return Sources(report)


def fix_counts(diagnostics: "list[Diagnostic]", unsafe_fixes: bool = False) -> tuple[int, int]:
    """(applicable, hidden): how many diagnostics have a fix that applies in this run, and how
    many an unsafe fix that applies only with `--unsafe-fixes` (0 when it was given)."""
    applicable = sum(1 for d in diagnostics if fix_applies(d.fix, unsafe_fixes))
    hidden = 0 if unsafe_fixes else sum(1 for d in diagnostics if hidden_fix(d.fix))
    return applicable, hidden
