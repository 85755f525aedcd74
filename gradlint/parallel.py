"""Checking many files: the result cache, the pre-check, and worker processes.

The main process goes through the files in order. For each it asks the cache
(by size and mtime, then by content hash), reads and decodes it, and runs the
cheap pre-check. Files no enabled rule can fire on are finished on the spot
(no parse, no libcst import). The remaining *candidates* are parsed and
analysed: in this process when there is little to parse, otherwise in a pool
of worker processes (`--jobs`, default: every core available to the process),
started as soon as the candidates met so far are worth it, so the workers parse
while the main process goes on reading and pre-checking the files after them.
A worker is told which rules the pre-check left for its file: it does not
pre-check the text again.

The reports come back in the order of the files given, and each report is
exactly what `api.check_source` returns for the file in a serial run: workers
call the same function on the same text with the same settings.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from gradlint import registry

if TYPE_CHECKING:
    from gradlint.analysis.package import PackageModules
    from gradlint.api import FileReport
    from gradlint.cache import ResultCache
    from gradlint.settings import Settings

# Below this much candidate source (characters) a pool costs more than it saves:
# each worker process imports libcst (~0.15 s) before it parses anything, and
# libcst parses roughly 1 MB of source a second per core.
PARALLEL_MIN_CHARS = 150_000
PARALLEL_MIN_FILES = 2


def default_jobs() -> int:
    """Every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass
class _Pending:
    """A candidate file waiting to be parsed."""

    position: int
    filename: str
    text: str
    stat: Optional[os.stat_result]
    digest: Optional[str]
    candidates: frozenset[str] = frozenset()  # the rules its pre-check left


def check_files(
    files: Sequence[Path],
    settings: "Settings",
    jobs: Optional[int] = 1,
    cache: "Optional[ResultCache]" = None,
) -> "list[FileReport]":
    """Check `files` (absolute paths); reports in the same order.

    `jobs`: worker processes to use (None or 0: all cores; 1: this process only).
    """
    from gradlint.engine import relaxed_gc

    with relaxed_gc():  # for the whole run; forked workers inherit it
        return _check_files(files, settings, jobs, cache)


def _check_files(
    files: Sequence[Path],
    settings: "Settings",
    jobs: Optional[int],
    cache: "Optional[ResultCache]",
) -> "list[FileReport]":
    from gradlint import api
    from gradlint.files import read_source

    reports: list[Optional[FileReport]] = [None] * len(files)
    pending: list[_Pending] = []
    pool: Optional[_Pool] = None
    for position, path in enumerate(files):
        filename = str(path)
        stat = _stat(path) if cache is not None else None
        if cache is not None and stat is not None:
            hit = cache.lookup_stat(filename, stat)
            if hit is not None:
                reports[position] = hit
                continue
        read = read_source(path)
        if read.problem is not None:
            reports[position] = api.report_read_problem(filename, read.problem, settings)
            continue
        assert read.text is not None
        digest = None
        if cache is not None and read.data is not None:
            from gradlint.cache import content_hash

            digest = content_hash(read.data)
            hit = cache.lookup_content(filename, digest)
            if hit is not None:
                cache.refresh(filename, stat, digest)
                reports[position] = hit
                continue
        candidates = registry.candidates(read.text, settings.codes_for(filename))
        item = _Pending(position, filename, read.text, stat, digest, candidates)
        if not candidates:
            # Nothing to parse: finish it here (the same call a worker would make).
            _finish(reports, cache, item, settings)
        elif pool is not None:
            pool.submit(item)
        else:
            pending.append(item)
            workers = _worker_count(jobs, pending)
            if workers > 1:
                pool = _Pool(settings, workers, reports, cache)
                for waiting in pending:
                    pool.submit(waiting)
                pending = []

    if pool is not None:
        pool.finish()
    else:
        package = _new_package() if pending else None
        for item in pending:
            _finish(reports, cache, item, settings, package=package)
    if cache is not None:
        cache.save()
    return [report for report in reports if report is not None]


def _stat(path: Path) -> Optional[os.stat_result]:
    try:
        return os.stat(path)
    except OSError:
        return None


def _worker_count(jobs: Optional[int], pending: list[_Pending]) -> int:
    """1 while the candidates so far are too few or too small for a pool; else the workers wanted."""
    wanted = default_jobs() if not jobs else jobs
    if wanted <= 1 or len(pending) < PARALLEL_MIN_FILES:
        return 1
    if sum(len(item.text) for item in pending) < PARALLEL_MIN_CHARS:
        return 1
    return wanted


def _finish(
    reports: "list[Optional[FileReport]]",
    cache: "Optional[ResultCache]",
    item: _Pending,
    settings: "Settings",
    report: "Optional[FileReport]" = None,
    package: "Optional[PackageModules]" = None,
) -> None:
    import dataclasses

    from gradlint import api

    if report is None:
        # Pre-checked when it was read: the engine is told the verdict instead of pre-checking again.
        registry.remember_candidates(item.text, settings.codes_for(item.filename), item.candidates)
        report = api.check_source(item.text, item.filename, settings, package=package, follow_imports=package is not None)
    elif report.source is None:
        report = dataclasses.replace(report, source=item.text)
    reports[item.position] = report
    if cache is not None and item.digest is not None:
        cache.store(item.filename, item.stat, item.digest, report)


# -- the pool -------------------------------------------------------------------
_WORKER_SETTINGS: "Optional[Settings]" = None
_WORKER_PACKAGE: "Optional[PackageModules]" = None


def _new_package() -> "PackageModules":
    """The package model of one run (one per worker process): imported sibling
    modules are parsed at most once, and only when a rule follows an import."""
    from gradlint.analysis.package import PackageModules

    return PackageModules()


def _init_worker(settings: "Settings") -> None:
    global _WORKER_SETTINGS, _WORKER_PACKAGE
    _WORKER_SETTINGS = settings
    _WORKER_PACKAGE = _new_package()


def _check_in_worker(task: "tuple[int, str, str, frozenset[str]]") -> "tuple[int, FileReport]":
    from gradlint import api

    position, filename, text, candidates = task
    assert _WORKER_SETTINGS is not None
    registry.remember_candidates(text, _WORKER_SETTINGS.codes_for(filename), candidates)  # pre-checked by the parent
    report = api.check_source(text, filename, _WORKER_SETTINGS, package=_WORKER_PACKAGE)
    # The text is already in the parent: do not ship it back.
    return position, api.FileReport(report.filename, report.diagnostics, report.crashes, dependencies=report.dependencies)


def _context():  # type: ignore[no-untyped-def]
    import multiprocessing

    # fork is the cheapest start on Linux, and this process holds no threads
    # or heavy state at this point; elsewhere use the platform's safe default.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _import_checking_modules(settings: "Settings") -> None:
    """Import what checking a file needs (libcst, the analysis, the enabled rules) in this
    process, before the workers fork from it."""
    import gradlint.analysis.parse  # noqa: F401 - imports libcst
    import gradlint.analysis.semantics  # noqa: F401

    registry.load_rules(settings.enabled)


class _Pool:
    """Worker processes checking candidates while the main process reads and pre-checks the rest."""

    def __init__(
        self, settings: "Settings", workers: int, reports: "list[Optional[FileReport]]", cache: "Optional[ResultCache]"
    ) -> None:
        from concurrent.futures import ProcessPoolExecutor

        self.settings = settings
        self.reports = reports
        self.cache = cache
        context = _context()
        if context.get_start_method() == "fork":
            _import_checking_modules(settings)  # once here, not once per worker: forked workers share them
        self.executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(settings,))
        self.submitted: dict[object, _Pending] = {}  # future -> its file
        self.unsent: list[_Pending] = []  # files met after the pool broke

    def submit(self, item: _Pending) -> None:
        from concurrent.futures.process import BrokenProcessPool

        if not self.unsent:
            try:
                task = (item.position, item.filename, item.text, item.candidates)
                self.submitted[self.executor.submit(_check_in_worker, task)] = item
                return
            except BrokenProcessPool:
                pass
        self.unsent.append(item)

    def finish(self) -> None:
        """Collect every report. When a worker died (killed, out of memory, a crash in native
        code), the files left are retried one at a time, each in a fresh process, so that
        the one file that kills a process is reported and the others are kept."""
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        left = list(self.unsent)
        pending = dict(self.submitted)
        try:
            for future in as_completed(list(pending)):
                position, report = future.result()  # type: ignore[attr-defined]
                _finish(self.reports, self.cache, pending.pop(future), self.settings, report)
        except BrokenProcessPool:
            left += pending.values()
        finally:
            self.executor.shutdown(wait=True, cancel_futures=True)
        for item in sorted(left, key=lambda item: item.position):
            _finish(self.reports, self.cache, item, self.settings, _isolated(item, self.settings))


def _isolated(item: _Pending, settings: "Settings") -> "FileReport":
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from gradlint import api
    from gradlint.engine import RuleCrash

    try:
        with ProcessPoolExecutor(1, mp_context=_context(), initializer=_init_worker, initargs=(settings,)) as pool:
            return pool.submit(_check_in_worker, (item.position, item.filename, item.text, item.candidates)).result()[1]
    except BrokenProcessPool:
        crash = RuleCrash("engine", item.filename, "the worker process checking this file died (native crash or out of memory)")
        return api.FileReport(item.filename, (), (crash,))
