"""The core API: what the CLI, the pre-commit hook, editors and tests call.

    check_source(text, filename, settings) -> FileReport
    check_paths(paths, settings) -> Report
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, Optional, Sequence, Union

from gradlint.diagnostics import Diagnostic
from gradlint.engine import RuleCrash, check_text
from gradlint.files import discover, read_source
from gradlint.settings import Settings
from gradlint.suppression import filter_suppressed


@dataclass(frozen=True)
class FileReport:
    """The results for one file."""

    filename: str
    diagnostics: tuple[Diagnostic, ...] = ()
    crashes: tuple[RuleCrash, ...] = ()
    source: Optional[str] = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Report:
    """The results of one run over many files."""

    files: tuple[FileReport, ...] = ()
    problems: tuple[Diagnostic, ...] = ()  # paths that could not be discovered

    @property
    def diagnostics(self) -> list[Diagnostic]:
        found = [d for report in self.files for d in report.diagnostics] + list(self.problems)
        return sorted(found, key=lambda d: d.sort_key)

    @property
    def crashes(self) -> list[RuleCrash]:
        return [crash for report in self.files for crash in report.crashes]

    @property
    def checked(self) -> int:
        return len(self.files)


def check_source(text: str, filename: str, settings: Optional[Settings] = None) -> FileReport:
    """Check one source text as if it were the file `filename`."""
    settings = settings or Settings()
    filename = os.path.abspath(filename)
    result = check_text(text, filename, settings.codes_for(filename))
    diagnostics = filter_suppressed(result.diagnostics, text)
    return FileReport(filename, tuple(diagnostics), result.crashes, source=text)


def check_file(path: Path, settings: Settings) -> FileReport:
    """Read and check one file; read problems become diagnostics."""
    read = read_source(path)
    if read.problem is not None:
        return report_read_problem(str(path), read.problem, settings)
    assert read.text is not None
    return check_source(read.text, str(path), settings)


def check_stdin(stream: BinaryIO, stdin_filename: Optional[str], settings: Settings) -> Report:
    """Check source read from a binary stream (stdin) as the file `stdin_filename`
    (`-` without one). With `force_exclude`, an excluded name is not checked."""
    from gradlint.files import is_force_excluded, read_stdin

    filename = os.path.abspath(stdin_filename or "-")
    if stdin_filename and settings.force_exclude and is_force_excluded(filename, settings):
        return Report()
    read = read_stdin(stream, filename)
    if read.problem is not None:
        return Report((report_read_problem(filename, read.problem, settings),))
    assert read.text is not None
    return Report((check_source(read.text, filename, settings),))


def report_read_problem(filename: str, problem: Diagnostic, settings: Settings) -> FileReport:
    """The report of a file that could not be read (kept when its code is enabled)."""
    kept = (problem,) if problem.code in settings.codes_for(filename) else ()
    return FileReport(filename, kept)


def check_paths(
    paths: Sequence[Union[str, Path]],
    settings: Optional[Settings] = None,
    *,
    jobs: Optional[int] = 1,
    cache: bool = False,
) -> Report:
    """Discover the Python files under `paths` and check each.

    `jobs`: worker processes (None or 0: every core; serial anyway when there is
    little to parse). `cache`: reuse and store results in `.gradlint_cache/` at
    the project root. Either way the report is the same as a serial, uncached run.
    """
    from gradlint import parallel

    settings = settings or Settings()
    discovery = discover(paths or ["."], settings)
    result_cache = None
    if cache:
        from gradlint.cache import ResultCache, cache_root

        result_cache = ResultCache(cache_root(settings), settings)
    reports = tuple(parallel.check_files(discovery.files, settings, jobs=jobs, cache=result_cache))
    return Report(reports, discovery.problems)


def check_many(files: Iterable[Path], settings: Settings) -> list[FileReport]:
    return [check_file(path, settings) for path in files]
