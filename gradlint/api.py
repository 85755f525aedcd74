"""The core API: what the CLI, the pre-commit hook, editors and tests call.

    check_source(text, filename, settings) -> FileReport
    check_paths(paths, settings) -> Report
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

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
        codes = settings.codes_for(str(path))
        kept = (read.problem,) if read.problem.code in codes else ()
        return FileReport(str(path), kept)
    assert read.text is not None
    return check_source(read.text, str(path), settings)


def check_paths(paths: Sequence[Union[str, Path]], settings: Optional[Settings] = None) -> Report:
    """Discover the Python files under `paths` and check each."""
    settings = settings or Settings()
    discovery = discover(paths or ["."], settings)
    reports = tuple(check_file(path, settings) for path in discovery.files)
    return Report(reports, discovery.problems)


def check_many(files: Iterable[Path], settings: Settings) -> list[FileReport]:
    return [check_file(path, settings) for path in files]
