"""The core API: what the CLI, the pre-commit hook, editors and tests call.

    check_source(text, filename, settings) -> FileReport
    check_paths(paths, settings) -> Report
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterable, Mapping, Optional, Sequence, Union

from gradlint import registry
from gradlint.diagnostics import Diagnostic
from gradlint.engine import RuleCrash, check_text
from gradlint.files import Discovery, discover, read_source
from gradlint.settings import Settings
from gradlint.suppression import InvalidDirective, Written, filter_suppressed, invalid_directives, may_hold_directives, written_directives

if TYPE_CHECKING:
    from gradlint.analysis.package import PackageModules

UNUSED_NOQA = "GL003"  # judged here, once the file's other findings are known
# Said (on stderr, exit 0) when the paths given hold no file to check, as ruff says it.
NO_FILES_WARNING = "gradlint: warning: no Python files found under the given paths"


@dataclass(frozen=True)
class FileReport:
    """The results for one file."""

    filename: str
    diagnostics: tuple[Diagnostic, ...] = ()
    crashes: tuple[RuleCrash, ...] = ()
    source: Optional[str] = field(default=None, compare=False, repr=False)
    # The sibling modules (absolute paths) whose analysis these findings consulted
    # (GL203 across a package): a result cache keys the file on their contents too.
    dependencies: tuple[str, ...] = field(default=(), compare=False, repr=False)
    # Their states as the analysis saw them (content hash or "absent"), where known: see
    # PackageModules.dependency_states.
    dependency_states: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)
    # Directives that name no code (a noqa colon with nothing after it): they hide nothing, and a warning says so.
    invalid_directives: tuple[InvalidDirective, ...] = ()


@dataclass(frozen=True)
class Report:
    """The results of one run over many files."""

    files: tuple[FileReport, ...] = ()
    problems: tuple[Diagnostic, ...] = ()  # paths that could not be discovered
    warnings: tuple[str, ...] = ()  # about the run itself (a cache folder it would not use)

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


def check_source(
    text: str,
    filename: str,
    settings: Optional[Settings] = None,
    *,
    package: "Optional[PackageModules]" = None,
    sources: Optional[Mapping[str, str]] = None,
    follow_imports: bool = True,
) -> FileReport:
    """Check one source text as if it were the file `filename`.

    Imports of sibling modules are followed through `package` (one per run,
    shared by the files of the run). Without one, a package of its own is made
    when `filename` exists on disk or `sources` (path -> unsaved text, e.g. an
    editor's buffers) are given: imports then resolve from the file's folder
    (`follow_imports=False`: never, e.g. for a file known to fail the pre-check).
    """
    settings = settings or Settings()
    filename = os.path.abspath(filename)
    codes = settings.codes_for(filename)
    if package is None and follow_imports and (sources or os.path.isfile(filename)) and registry.candidates(text, codes):
        # imports libcst: only for a file that will be parsed
        from gradlint.analysis.package import PackageModules

        package = PackageModules(dict(sources) if sources else None)
    result = check_text(text, filename, codes, package=package)
    found = list(result.diagnostics)
    written: Optional[list[Written]] = None  # the file's directives, read once for GL003 and suppression
    if UNUSED_NOQA in codes and result.complete:
        from gradlint.rules.unused_noqa import unused_directives

        written = written_directives(text) if may_hold_directives(text) else []
        crashed = {crash.code for crash in result.crashes}
        found += unused_directives(text, filename, result.diagnostics, codes - crashed, written)
    dropped = settings.dropped_for(filename)  # findings of a severity a selector left out (`ignore = ["warning"]`)
    if dropped:
        found = [d for d in found if (d.code, d.severity.value) not in dropped]
    diagnostics = found if settings.ignore_noqa else filter_suppressed(found, text, written)
    dependencies: tuple[str, ...] = ()
    states: tuple[tuple[str, str], ...] = ()
    if package is not None and result.parsed:
        dependencies = tuple(sorted(path for path in package.dependencies(filename) if path != filename))
        seen = package.dependency_states(filename)
        states = tuple((path, seen[path]) for path in dependencies if path in seen)
    return FileReport(
        filename, tuple(diagnostics), result.crashes, source=text, dependencies=dependencies, dependency_states=states,
        invalid_directives=invalid_directives(text, written),
    )


def check_file(path: Path, settings: Settings, package: "Optional[PackageModules]" = None) -> FileReport:
    """Read and check one file; read problems become diagnostics."""
    read = read_source(path)
    if read.problem is not None:
        return report_read_problem(str(path), read.problem, settings)
    assert read.text is not None
    return check_source(read.text, str(path), settings, package=package)


def check_stdin(stream: BinaryIO, stdin_filename: Optional[str], settings: Settings) -> Report:
    """Check source read from a binary stream (stdin) as the file `stdin_filename`
    (`-` without one). With `force_exclude`, an excluded name is not checked."""
    from gradlint.files import read_stdin

    filename = os.path.abspath(stdin_filename or "-")
    if stdin_is_excluded(stdin_filename, settings):
        return Report()
    read = read_stdin(stream, filename)
    if read.problem is not None:
        return Report((report_read_problem(filename, read.problem, settings),))
    assert read.text is not None
    return Report((check_source(read.text, filename, settings),))


def stdin_is_excluded(stdin_filename: Optional[str], settings: Settings) -> bool:
    """True when stdin, named `stdin_filename`, is excluded with `force_exclude` (ruff: such
    input is not checked, and with --fix it passes through unchanged)."""
    if not stdin_filename:
        return False
    from gradlint.files import is_force_excluded

    filename = os.path.abspath(stdin_filename)
    governing = settings.for_file(filename)
    return governing.force_exclude and is_force_excluded(filename, governing)


def report_read_problem(filename: str, problem: Diagnostic, settings: Settings) -> FileReport:
    """The report of a file that could not be read (kept when its code is enabled)."""
    kept = (problem,) if problem.code in settings.codes_for(filename) else ()
    return FileReport(filename, kept)


def discover_files(paths: Sequence[Union[str, Path]], settings: Optional[Settings] = None) -> Discovery:
    """The files `check_paths` would check under `paths` (`check --show-files`), and the problems
    with the paths themselves."""
    return discover(paths or ["."], settings or Settings())


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
    Raises SettingsError when a configuration file that governs a checked path is broken.
    """
    from gradlint import parallel

    settings = settings or Settings()
    discovery = discover_files(paths, settings)
    result_cache = None
    if cache:
        from gradlint.cache import ResultCache

        result_cache = ResultCache(settings.cache_directory, settings)
    reports = tuple(parallel.check_files(discovery.files, settings, jobs=jobs, cache=result_cache))
    warnings = ()
    if result_cache is not None and not result_cache.usable:
        warnings = (
            f"gradlint: warning: {settings.cache_directory} holds other files, so it is not used as the cache folder "
            "(choose a new or empty one with --cache-dir or cache-dir); this run is not cached",
        )
    return Report(reports, discovery.problems, warnings)


def check_many(files: Iterable[Path], settings: Settings) -> list[FileReport]:
    from gradlint.analysis.package import PackageModules

    package = PackageModules()
    return [check_file(path, settings, package) for path in files]
