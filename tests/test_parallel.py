"""`--jobs`: a parallel run reports exactly what a serial run does, in the same order."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from gradlint import api, parallel
from gradlint.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork-based pool tests")


def _dense_tree(tmp_path: Path, copies: int = 6) -> Path:
    root = tmp_path / "dense"
    for copy in range(copies):
        folder = root / f"pkg{copy}"
        folder.mkdir(parents=True)
        for source in sorted(FIXTURES.glob("*.py")):
            (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        (folder / "broken.py").write_text("def f(:\n    pass\n", encoding="utf-8")
        (folder / "plain.py").write_text("import os\n", encoding="utf-8")
        (folder / "latin.py").write_bytes(b"\xff\xfe not utf-8 \x81\n")
    return root


def _key(report: api.Report) -> list:
    return [(r.filename, r.diagnostics, r.crashes) for r in report.files]


@pytest.fixture
def always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_MIN_CHARS", 0)


def test_parallel_equals_serial(tmp_path: Path, always_parallel: None) -> None:
    root = _dense_tree(tmp_path)
    serial = api.check_paths([root], Settings(), jobs=1)
    assert serial.diagnostics
    for jobs in (2, 3, None):
        parallel_report = api.check_paths([root], Settings(), jobs=jobs)
        assert _key(parallel_report) == _key(serial)
        assert parallel_report.diagnostics == serial.diagnostics
        assert all(r.source is not None for r in parallel_report.files if r.diagnostics and r.diagnostics[0].code != "GL002")


def test_parallel_with_cache_equals_serial(tmp_path: Path, always_parallel: None) -> None:
    root = _dense_tree(tmp_path)
    serial = api.check_paths([root], Settings(project_root=root), jobs=1)
    cold = api.check_paths([root], Settings(project_root=root), jobs=2, cache=True)
    warm = api.check_paths([root], Settings(project_root=root), jobs=2, cache=True)
    assert _key(cold) == _key(serial) == _key(warm)


def test_little_to_parse_stays_serial(tmp_path: Path) -> None:
    root = _dense_tree(tmp_path, copies=1)
    files = sorted(root.rglob("*.py"))
    pending = [parallel._Pending(i, str(p), p.read_text(errors="replace"), None, None) for i, p in enumerate(files)]
    many = len(pending) * 1000
    assert parallel._worker_count(8, pending, len(pending)) == 1
    assert parallel._worker_count(1, pending * 1000, many) == 1
    assert parallel._worker_count(4, pending * 1000, many) == 4
    assert parallel._worker_count(100_000, pending * 1000, 3) == 3  # no more workers than files to parse
    assert parallel._worker_count(100_000, pending * 1000, many) == parallel.MAX_WORKERS_PER_CORE * parallel.default_jobs()


def _die_on_broken(task: tuple[int, str, str]):  # type: ignore[no-untyped-def]
    if task[1].endswith("softmax_question.py") and "pkg1" in task[1]:
        os._exit(3)  # a native crash in a worker
    return _original(task)


_original = parallel._check_in_worker


def test_a_dying_worker_loses_only_its_file(tmp_path: Path, always_parallel: None, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _dense_tree(tmp_path, copies=3)
    serial = api.check_paths([root], Settings(), jobs=1)
    monkeypatch.setattr(parallel, "_check_in_worker", _die_on_broken)
    report = api.check_paths([root], Settings(), jobs=2)
    assert [r.filename for r in report.files] == [r.filename for r in serial.files]
    victim = str(root / "pkg1" / "softmax_question.py")
    for got, expected in zip(report.files, serial.files):
        if got.filename == victim:
            assert got.crashes and "worker process" in got.crashes[0].error
        else:
            assert got.diagnostics == expected.diagnostics and not got.crashes


def test_default_jobs_is_at_least_one() -> None:
    assert parallel.default_jobs() >= 1


def test_a_run_prechecks_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver asks with a file's enabled codes (GL001/GL002 included), the engine without
    them: both must reach the same pre-checker, which remembers its last text."""
    from gradlint.precheck import Prechecker

    root = _dense_tree(tmp_path, copies=1)
    evaluated: list[int] = []
    original = Prechecker._candidates

    def counting(self: Prechecker, text: str, skip_costly: bool) -> frozenset[str]:
        evaluated.append(id(text))
        return original(self, text, skip_costly)

    monkeypatch.setattr(Prechecker, "_candidates", counting)
    report = api.check_paths([root], Settings(), jobs=1)
    assert report.diagnostics
    readable = [r for r in report.files if not any(d.code == "GL002" for d in r.diagnostics)]
    unparsable = [r for r in report.files if any(d.code == "GL001" for d in r.diagnostics)]
    # one evaluation per readable file, plus the complete needs asked before a GL001 is reported
    assert len(evaluated) == len(readable) + len(unparsable)


@pytest.fixture
def scan_in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers read and pre-check whatever the tree's size, a few files per task."""
    monkeypatch.setattr(parallel, "PARALLEL_SCAN_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "SCAN_CHUNK_FILES", 3)


def test_reading_in_workers_equals_serial(tmp_path: Path, scan_in_workers: None) -> None:
    root = _dense_tree(tmp_path, copies=2)
    serial = api.check_paths([root], Settings(), jobs=1)
    assert parallel._scan_worker_count(2, [parallel._ToRead(0, p, None) for p in root.rglob("*.py")]) == 2
    for jobs in (2, 3):
        report = api.check_paths([root], Settings(), jobs=jobs)
        assert _key(report) == _key(serial)
        with_findings = [r for r in report.files if r.diagnostics and r.diagnostics[0].code != "GL002"]
        assert with_findings and all(r.source == Path(r.filename).read_text(errors="replace") for r in with_findings)


def test_reading_in_workers_with_cache(tmp_path: Path, scan_in_workers: None) -> None:
    root = _dense_tree(tmp_path, copies=2)
    settings = Settings(project_root=root)
    serial = api.check_paths([root], settings, jobs=1)
    cold = api.check_paths([root], settings, jobs=2, cache=True)
    for path in root.rglob("*.py"):  # new mtimes, same contents: hits by content hash, in the workers
        os.utime(path, (1_000_000_000, 1_000_000_000))

    def not_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("a file the cache knows by its content was checked again")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api, "check_source", not_again)
        by_content = api.check_paths([root], settings, jobs=2, cache=True)
        warm = api.check_paths([root], settings, jobs=1, cache=True)  # hits by the refreshed mtimes
    assert _key(cold) == _key(serial) == _key(by_content) == _key(warm)


def _die_in_a_worker(main_pid: int, victim: str):  # type: ignore[no-untyped-def]
    original = api.check_source

    def check_source(text, filename, *args, **kwargs):  # type: ignore[no-untyped-def]
        if filename == victim and os.getpid() != main_pid:
            os._exit(3)  # a native crash while a worker checks this file
        return original(text, filename, *args, **kwargs)

    return check_source


def test_a_dying_reader_loses_only_its_file(tmp_path: Path, scan_in_workers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files of the dead worker's tasks go back to the main process, which parses them in
    workers again (however few), so the one that kills a worker is checked in a process of its
    own and the main process survives."""
    root = _dense_tree(tmp_path, copies=2)
    serial = api.check_paths([root], Settings(), jobs=1)
    victim = str(root / "pkg1" / "softmax_question.py")
    monkeypatch.setattr(api, "check_source", _die_in_a_worker(os.getpid(), victim))
    report = api.check_paths([root], Settings(), jobs=2)
    assert [r.filename for r in report.files] == [r.filename for r in serial.files]
    for got, expected in zip(report.files, serial.files):
        if got.filename == victim:
            assert got.crashes and "worker process" in got.crashes[0].error
        else:
            assert got.diagnostics == expected.diagnostics and not got.crashes


def test_reading_in_workers_imports_no_libcst_when_nothing_is_parsed(tmp_path: Path) -> None:
    import subprocess

    for index in range(8):
        (tmp_path / f"plain{index}.py").write_text("import os\nprint(os.sep)\n" * 50, encoding="utf-8")
    program = (
        "import sys\nfrom gradlint import api, parallel\nfrom gradlint.settings import Settings\n"
        "parallel.PARALLEL_SCAN_MIN_BYTES = 0\n"
        f"report = api.check_paths([{str(tmp_path)!r}], Settings(), jobs=2)\n"
        "assert report.checked == 8 and not report.diagnostics\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('libcst', 'numpy')))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _pool_sizes(monkeypatch: pytest.MonkeyPatch) -> "list[int]":
    """The size of every process pool the run starts (recorded, then started as asked)."""
    import concurrent.futures

    sizes: list[int] = []
    real = concurrent.futures.ProcessPoolExecutor

    def recording(max_workers=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        sizes.append(max_workers)
        return real(max_workers, *args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", recording)
    return sizes


@pytest.mark.parametrize("reading_in_workers", [False, True])
def test_a_huge_jobs_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, always_parallel: None, reading_in_workers: bool) -> None:
    # `-j 100000` once forked a process per job and exhausted the machine's memory
    if reading_in_workers:
        monkeypatch.setattr(parallel, "PARALLEL_SCAN_MIN_BYTES", 0)
        monkeypatch.setattr(parallel, "SCAN_CHUNK_FILES", 3)
    root = _dense_tree(tmp_path, copies=2)
    sizes = _pool_sizes(monkeypatch)
    report = api.check_paths([root], Settings(), jobs=100_000)
    assert _key(report) == _key(api.check_paths([root], Settings(), jobs=1))
    files = len(list(root.rglob("*.py")))
    assert sizes and max(sizes) <= min(files, parallel.MAX_WORKERS_PER_CORE * parallel.default_jobs())


def test_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    root = tmp_path / "big"
    root.mkdir()
    body = (FIXTURES / "softmax_question.py").read_text(encoding="utf-8")
    for number in range(300):
        (root / f"m{number}.py").write_text(body * 4, encoding="utf-8")
    run = subprocess.Popen([sys.executable, "-m", "gradlint", "check", "--no-cache", "-j", "2", str(root)], stdout=subprocess.DEVNULL)
    workers: list[int] = []
    deadline = time.monotonic() + 30
    while not workers and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
        children = Path(f"/proc/{run.pid}/task/{run.pid}/children")
        workers = [int(pid) for pid in children.read_text().split()] if children.exists() else []
    if not workers:
        run.kill()
        pytest.skip("the run ended before its workers could be seen")
    run.send_signal(signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "workers outlived their killed parent"
