"""Checking many files: the result cache, the pre-check, and worker processes.

The main process first asks the cache about every file by size and mtime. When
the files left to read are many (PARALLEL_SCAN_MIN_BYTES of source), worker
processes read them too: each reads a chunk of files, asks the cache by content
hash, pre-checks each text and checks its candidates, so reading and
pre-checking, which would otherwise hold up the main process, are shared by
every core; a worker imports libcst only when one of its files is a candidate.

Otherwise, and for what is left when a worker died, the main process goes
through the files in order. For each it reads and decodes it, asks the cache by
content hash and runs the cheap pre-check. Files no enabled rule can fire on
are finished on the spot (no parse, no libcst import). The remaining
*candidates* are parsed and analysed: in this process when there is little to
parse, otherwise in a pool of worker processes (`--jobs`, default: every core
available to the process), started as soon as the candidates met so far are
worth it, so the workers parse while the main process goes on reading and
pre-checking the files after them. A worker is told which rules the pre-check
left for its file: it does not pre-check the text again.

The reports come back in the order of the files given, and each report is
exactly what `api.check_source` returns for the file in a serial run: workers
call the same function on the same text with the same settings.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from gradlint import registry

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from gradlint.analysis.package import PackageModules
    from gradlint.api import FileReport
    from gradlint.cache import ResultCache
    from gradlint.settings import Settings

# Below this much candidate source (characters) a pool costs more than it saves:
# each worker process imports libcst (~0.15 s) before it parses anything, and
# libcst parses roughly 1 MB of source a second per core.
PARALLEL_MIN_CHARS = 150_000
PARALLEL_MIN_FILES = 2
# Candidates go to the workers in batches of about this much source (at most BATCH_FILES files):
# sending a task and its result costs a few tenths of a millisecond, a tenth of checking a small file.
BATCH_CHARS = 64_000
BATCH_FILES = 16
# Above this much source left to read (bytes), workers read and pre-check it too. The pre-check
# reads about 13 MB of source a second, and starting a worker that has not imported libcst costs
# a few milliseconds: a tree of a few hundred files is worth it.
PARALLEL_SCAN_MIN_BYTES = 2_000_000
# A worker's share of the files at a time: small enough to balance the load, large enough that
# sending the task and its results costs little next to reading the files.
SCAN_CHUNK_BYTES = 400_000
SCAN_CHUNK_FILES = 64
# The work is CPU-bound: worker processes beyond this many per core only cost memory (each holds
# libcst and its analysis, tens of MB), so a larger --jobs is capped, as is a pool larger than
# its tasks (`-j 100000` had started thousands of processes and exhausted the machine's memory).
MAX_WORKERS_PER_CORE = 4


def default_jobs() -> int:
    """Every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _capped(wanted: int, tasks: int) -> int:
    """`wanted` workers, but at most one per task and MAX_WORKERS_PER_CORE per core."""
    return max(1, min(wanted, tasks, MAX_WORKERS_PER_CORE * default_jobs()))


def _exit_with_parent(parent: int) -> None:
    """End this worker process once `parent`, the process that started it, is gone (killed,
    say, even before this worker got here): an orphaned worker would wait for tasks forever."""
    import threading
    import time

    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="gradlint-parent-watch", daemon=True).start()


@dataclass
class _Pending:
    """A candidate file waiting to be parsed."""

    position: int
    filename: str
    text: str
    stat: Optional[os.stat_result]
    digest: Optional[str]
    candidates: frozenset[str] = frozenset()  # the rules its pre-check left


@dataclass(frozen=True)
class _ToRead:
    """A file the result cache could not answer by its size and mtime."""

    position: int
    path: Path
    stat: Optional[os.stat_result]


@dataclass(frozen=True)
class _Read:
    """A file read for checking: either its text, or the report reading alone settled
    (a file that cannot be read, or a result cache hit by content hash)."""

    text: Optional[str] = None
    digest: Optional[str] = None
    report: "Optional[FileReport]" = None
    cache_hit: bool = False


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
    reports: list[Optional[FileReport]] = [None] * len(files)
    to_read: list[_ToRead] = []
    for position, path in enumerate(files):
        stat = _stat(path)  # the cache's key, and the size the work is shared out by
        if cache is not None and stat is not None:
            hit = cache.lookup_stat(str(path), stat)
            if hit is not None:
                reports[position] = hit
                continue
        to_read.append(_ToRead(position, path, stat))
    workers = _scan_worker_count(jobs, to_read)
    a_worker_died = False
    if workers > 1:
        to_read = _scan_in_pool(to_read, settings, workers, reports, cache)
        a_worker_died = bool(to_read)
    _read_and_check(to_read, settings, jobs, reports, cache, parse_in_workers=a_worker_died)
    if cache is not None:
        cache.save()
    return [report for report in reports if report is not None]


def _read(path: Path, settings: "Settings", cache: "Optional[ResultCache]") -> _Read:
    """Read and decode a file, and ask the cache about its content hash."""
    from gradlint import api
    from gradlint.files import io_error, read_source

    filename = str(path)
    try:
        read = read_source(path)
    except Exception as error:  # noqa: BLE001 - a file nobody foresaw costs that file only
        problem = io_error(filename, f"cannot read the file: internal error ({type(error).__name__}: {error})")
        return _Read(report=api.report_read_problem(filename, problem, settings))
    if read.problem is not None:
        return _Read(report=api.report_read_problem(filename, read.problem, settings))
    assert read.text is not None
    digest = None
    if cache is not None and read.data is not None:
        from gradlint.cache import content_hash

        digest = content_hash(read.data)
        hit = cache.lookup_content(filename, digest)
        if hit is not None:
            return _Read(digest=digest, report=hit, cache_hit=True)
    return _Read(read.text, digest)


def _read_and_check(
    to_read: "list[_ToRead]",
    settings: "Settings",
    jobs: Optional[int],
    reports: "list[Optional[FileReport]]",
    cache: "Optional[ResultCache]",
    parse_in_workers: bool = False,
) -> None:
    """Read and pre-check the files in this process; parse the candidates here or in a pool
    (always in a pool with `parse_in_workers`: one of the files is known to kill a process)."""
    pending: list[_Pending] = []
    pool: Optional[_Pool] = None
    for index, file in enumerate(to_read):
        filename = str(file.path)
        read = _read(file.path, settings, cache)
        if read.report is not None:
            _record_scanned(reports, cache, file, _Scanned(read.report, read.digest, read.cache_hit))
            continue
        assert read.text is not None
        candidates = registry.candidates(read.text, settings.codes_for(filename))
        item = _Pending(file.position, filename, read.text, file.stat, read.digest, candidates)
        if not candidates:
            # Nothing to parse: finish it here (the same call a worker would make).
            _finish(reports, cache, item, settings)
        elif pool is not None:
            pool.submit(item)
        else:
            pending.append(item)
            workers = _worker_count(jobs, pending, len(pending) + len(to_read) - index - 1)
            if workers > 1 or parse_in_workers:
                pool = _Pool(settings, max(workers, 2), reports, cache)
                for waiting in pending:
                    pool.submit(waiting)
                pending = []

    if pool is not None:
        pool.finish()
    else:
        package = _new_package() if pending else None
        for item in pending:
            _finish(reports, cache, item, settings, package=package)


def _stat(path: Path) -> Optional[os.stat_result]:
    try:
        return os.stat(path)
    except OSError:
        return None


def _worker_count(jobs: Optional[int], pending: list[_Pending], most_candidates: int) -> int:
    """1 while the candidates so far are too few or too small for a pool; else the workers wanted
    (capped: no more than `most_candidates`, the candidates there can be)."""
    wanted = default_jobs() if not jobs else jobs
    if wanted <= 1 or len(pending) < PARALLEL_MIN_FILES:
        return 1
    if sum(len(item.text) for item in pending) < PARALLEL_MIN_CHARS:
        return 1
    return _capped(wanted, most_candidates)


def _finish(
    reports: "list[Optional[FileReport]]",
    cache: "Optional[ResultCache]",
    item: _Pending,
    settings: "Settings",
    report: "Optional[FileReport]" = None,
    package: "Optional[PackageModules]" = None,
) -> None:
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
    from gradlint._startup import save_code_caches
    from gradlint.analysis.package import PackageModules

    save_code_caches()  # what a worker compiled (libcst's dataclass methods, the needs' patterns), saved once
    return PackageModules()


def _init_worker(settings: "Settings", parent: int) -> None:
    global _WORKER_SETTINGS, _WORKER_PACKAGE
    _exit_with_parent(parent)
    _WORKER_SETTINGS = settings
    _WORKER_PACKAGE = _new_package()


def _check_in_worker(task: "tuple[int, str, str, frozenset[str]]") -> "tuple[int, FileReport]":
    from gradlint import api

    position, filename, text, candidates = task
    assert _WORKER_SETTINGS is not None
    registry.remember_candidates(text, _WORKER_SETTINGS.codes_for(filename), candidates)  # pre-checked by the parent
    report = api.check_source(text, filename, _WORKER_SETTINGS, package=_WORKER_PACKAGE)
    # The text is already in the parent: do not ship it back.
    return position, dataclasses.replace(report, source=None)


def _check_batch_in_worker(tasks: "list[tuple[int, str, str, frozenset[str]]]") -> "list[tuple[int, FileReport]]":
    return [_check_in_worker(task) for task in tasks]


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
    from gradlint._startup import save_code_caches

    registry.load_rules(settings.enabled)
    save_code_caches()  # before the fork: the workers inherit nothing left to save


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
        self.executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(settings, os.getpid()))
        self.submitted: dict[object, list[_Pending]] = {}  # future -> its batch of files
        self.unsent: list[_Pending] = []  # files met after the pool broke
        self.batch: list[_Pending] = []
        self.batch_chars = 0

    def submit(self, item: _Pending) -> None:
        self.batch.append(item)
        self.batch_chars += len(item.text)
        if self.batch_chars >= BATCH_CHARS or len(self.batch) >= BATCH_FILES:
            self._send()

    def _send(self) -> None:
        from concurrent.futures.process import BrokenProcessPool

        batch, self.batch, self.batch_chars = self.batch, [], 0
        if not batch:
            return
        if not self.unsent:
            try:
                tasks = [(item.position, item.filename, item.text, item.candidates) for item in batch]
                self.submitted[self.executor.submit(_check_batch_in_worker, tasks)] = batch
                return
            except BrokenProcessPool:
                pass
        self.unsent.extend(batch)

    def finish(self) -> None:
        """Collect every report. When a worker died (killed, out of memory, a crash in native
        code), the files left are retried one at a time, each in a fresh process, so that
        the one file that kills a process is reported and the others are kept."""
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        self._send()
        left = list(self.unsent)
        pending = dict(self.submitted)
        try:
            for future in as_completed(list(pending)):
                results = future.result()  # type: ignore[attr-defined]
                for item, (_position, report) in zip(pending.pop(future), results):
                    _finish(self.reports, self.cache, item, self.settings, report)
        except BrokenProcessPool:
            left += [item for batch in pending.values() for item in batch]
        except BaseException:
            _abandon(self.executor)  # interrupted: do not wait for the batches still running
            raise
        self.executor.shutdown(wait=True, cancel_futures=True)
        for item in sorted(left, key=lambda item: item.position):
            _finish(self.reports, self.cache, item, self.settings, _isolated(item, self.settings))


def _abandon(executor: "ProcessPoolExecutor") -> None:
    """Kill an executor's workers and let it go without waiting for the tasks they were running
    (a run being interrupted: `shutdown(wait=True)` would finish every running task first)."""
    for process in list(getattr(executor, "_processes", {}).values()):  # the executor has no public way
        try:
            process.kill()
        except (OSError, ValueError, AttributeError):
            pass
    executor.shutdown(wait=False, cancel_futures=True)


def _isolated(item: _Pending, settings: "Settings") -> "FileReport":
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from gradlint import api
    from gradlint.engine import RuleCrash

    try:
        with ProcessPoolExecutor(1, mp_context=_context(), initializer=_init_worker, initargs=(settings, os.getpid())) as pool:
            return pool.submit(_check_in_worker, (item.position, item.filename, item.text, item.candidates)).result()[1]
    except BrokenProcessPool:
        crash = RuleCrash("engine", item.filename, "the worker process checking this file died (native crash or out of memory)")
        return api.FileReport(item.filename, (), (crash,))


# -- the scan pool: workers that read and pre-check too --------------------------------
_SCAN_CACHE: "Optional[ResultCache]" = None


def _scan_worker_count(jobs: Optional[int], to_read: "list[_ToRead]") -> int:
    """The workers to read and pre-check `to_read` with, or 1 when there is too little to read,
    or when the workers could not share the main process's cache and settings by forking."""
    wanted = _capped(default_jobs() if not jobs else jobs, len(to_read))
    if wanted <= 1 or len(to_read) < 2 * wanted or _context().get_start_method() != "fork":
        return 1
    size = 0
    for file in to_read:
        size += file.stat.st_size if file.stat is not None else 0
        if size >= PARALLEL_SCAN_MIN_BYTES:
            return wanted
    return 1


def _chunks(to_read: "list[_ToRead]") -> "list[list[_ToRead]]":
    """`to_read` in order, cut into tasks of about SCAN_CHUNK_BYTES (at most SCAN_CHUNK_FILES files)."""
    chunks: list[list[_ToRead]] = []
    chunk: list[_ToRead] = []
    size = 0
    for file in to_read:
        chunk.append(file)
        size += file.stat.st_size if file.stat is not None else 0
        if size >= SCAN_CHUNK_BYTES or len(chunk) >= SCAN_CHUNK_FILES:
            chunks.append(chunk)
            chunk, size = [], 0
    if chunk:
        chunks.append(chunk)
    return chunks


def _scan_in_pool(
    to_read: "list[_ToRead]",
    settings: "Settings",
    workers: int,
    reports: "list[Optional[FileReport]]",
    cache: "Optional[ResultCache]",
) -> "list[_ToRead]":
    """Read, pre-check and check `to_read` in forked workers; the files left (in order) when a
    worker died, for the main process to go through (where a file that kills a worker again
    is checked in a process of its own)."""
    from concurrent.futures import Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # The pre-checker and its plans are built once here, not once per worker.
    registry.candidates("", settings.enabled)
    chunks = _chunks(to_read)
    workers = _capped(workers, len(chunks))
    executor = ProcessPoolExecutor(workers, mp_context=_context(), initializer=_init_scan_worker, initargs=(settings, cache, os.getpid()))
    submitted: list[tuple[Optional[Future], list[_ToRead]]] = []
    try:
        for chunk in chunks:
            try:
                submitted.append((executor.submit(_scan_in_worker, chunk), chunk))
            except BrokenProcessPool:
                submitted.append((None, chunk))
        wait([future for future, _chunk in submitted if future is not None])
    except BaseException:
        _abandon(executor)  # interrupted (Ctrl-C, SIGINT to this process alone): do not wait for the workers
        raise
    executor.shutdown(wait=True, cancel_futures=True)
    left: list[_ToRead] = []
    for future, chunk in submitted:
        try:
            if future is None:
                raise BrokenProcessPool("not submitted")
            results = future.result()
        except BrokenProcessPool:
            left.extend(chunk)
            continue
        for file, scanned in zip(chunk, results):
            _record_scanned(reports, cache, file, scanned)
    return left


@dataclass(frozen=True)
class _Scanned:
    """What a scan worker made of one file."""

    report: "FileReport"
    digest: Optional[str] = None
    cache_hit: bool = False
    checked: bool = False  # checked in the worker (not a read problem or a cache hit)
    text: Optional[str] = None  # the checked text, sent back only with a finding (for context lines)


def _record_scanned(
    reports: "list[Optional[FileReport]]", cache: "Optional[ResultCache]", file: _ToRead, scanned: _Scanned
) -> None:
    report = scanned.report
    if scanned.text is not None:
        report = dataclasses.replace(report, source=scanned.text)
    reports[file.position] = report
    if cache is None or scanned.digest is None:
        return
    if scanned.cache_hit:
        cache.refresh(str(file.path), file.stat, scanned.digest)
    elif scanned.checked:
        cache.store(str(file.path), file.stat, scanned.digest, report)


def _init_scan_worker(settings: "Settings", cache: "Optional[ResultCache]", parent: int) -> None:
    global _WORKER_SETTINGS, _WORKER_PACKAGE, _SCAN_CACHE
    _exit_with_parent(parent)
    _WORKER_SETTINGS, _WORKER_PACKAGE, _SCAN_CACHE = settings, None, cache


def _scan_in_worker(chunk: "list[_ToRead]") -> "list[_Scanned]":
    """Read, pre-check and check each file of `chunk`, as the main process's loop would."""
    from gradlint import api

    global _WORKER_PACKAGE
    settings = _WORKER_SETTINGS
    assert settings is not None
    results: list[_Scanned] = []
    for file in chunk:
        read = _read(file.path, settings, _SCAN_CACHE)
        if read.report is not None:
            results.append(_Scanned(read.report, read.digest, read.cache_hit))
            continue
        assert read.text is not None
        filename = str(file.path)
        if registry.candidates(read.text, settings.codes_for(filename)):
            if _WORKER_PACKAGE is None:
                _WORKER_PACKAGE = _new_package()  # imports libcst: only once a file is a candidate
            report = api.check_source(read.text, filename, settings, package=_WORKER_PACKAGE)
        else:
            report = api.check_source(read.text, filename, settings, follow_imports=False)
        shipped = dataclasses.replace(report, source=None)
        results.append(_Scanned(shipped, read.digest, checked=True, text=read.text if report.diagnostics else None))
    return results
