"""Run the worker on one generated module in a separate, limited process.

One process per module: a temporary working directory, resource limits
(address space, CPU seconds, file size, no core dumps), a wall-clock deadline,
and its own process group, killed with everything it started when the run ends
(normally or not). Whatever happens, every target gets a result; gradlint
itself never hangs. A crash in one target (a segmentation fault, `os._exit`)
costs only that target: a new sandbox checks the targets after it.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import gradlint
from gradlint.runtime.text import shown

POSIX = os.name == "posix"
DEFAULT_MEMORY_MB = 2048
FILE_SIZE_LIMIT = 64 * 1024 * 1024
STARTUP_SLACK = 10.0  # seconds for the interpreter and numpy to start


@dataclass(frozen=True)
class SandboxLimits:
    """The limits one worker process runs under."""

    timeout: float = 10.0  # per target (and for importing the definitions)
    memory_mb: int = DEFAULT_MEMORY_MB


def _limit_values(limits: SandboxLimits, cpu_seconds: int) -> dict[str, int]:
    """The resource limits the keeper sets on the worker (gradlint.runtime.keeper)."""
    return {
        "RLIMIT_AS": limits.memory_mb * 1024 * 1024,
        "RLIMIT_CPU": cpu_seconds,
        "RLIMIT_FSIZE": FILE_SIZE_LIMIT,
        "RLIMIT_CORE": 0,
    }


def _environment() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        NUMEXPR_NUM_THREADS="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        MPLBACKEND="Agg",
    )
    return env


# `-I` ignores every PYTHON* variable (PYTHONDONTWRITEBYTECODE too), hence `-B` and
# `sys.dont_write_bytecode`: no `__pycache__` is ever written into the user's tree.
# `run` ends the process with os._exit once the results are flushed.
_BOOTSTRAP = (
    "import sys; sys.dont_write_bytecode = True; sys.path.insert(0, {root!r}); "
    "from gradlint.runtime.worker import run; run({payload!r})"
)

# A PEP 263 coding declaration (only honoured on the first two lines).
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")


def utf8_source(source: str) -> str:
    """`source` as it is written for the sandbox (UTF-8): a coding declaration in its
    first two lines would make Python decode those UTF-8 bytes as another encoding
    (Latin-1 text would change), so such a line becomes a plain `#`, keeping the
    line count."""
    lines = source.split("\n", 2)
    for i in range(min(2, len(lines))):
        if _CODING.match(lines[i]):
            lines[i] = "#"
    return "\n".join(lines)


def run_module(
    source: str,
    sys_path: Sequence[str],
    targets: Sequence[dict[str, Any]],
    limits: SandboxLimits = SandboxLimits(),
    seed: int = 0,
    stubs: Sequence[tuple[str, Sequence[str]]] = (),
    lines: Sequence[tuple[int, int]] = (),
) -> dict[str, dict[str, Any]]:
    """Check `targets` of the generated module `source`; a result per target id.

    When the sandbox ends inside one target (a crash, or a hang that ignored the
    worker's own timeout and was stopped), that target gets the reason and a new
    sandbox checks the targets it never reached."""
    results: dict[str, dict[str, Any]] = {}
    remaining = list(targets)
    retried: set[str] = set()  # targets checked again once (see _collect): the second verdict stands
    while remaining:
        batch = _run_once(source, sys_path, remaining, limits, seed, stubs, lines)
        results.update(batch.results)
        if batch.ended_in is None:
            break
        first_retry = False
        if results[batch.ended_in].get("not_reached"):
            if batch.ended_in in retried:
                del results[batch.ended_in]["not_reached"]
            else:
                retried.add(batch.ended_in)
                first_retry = True
        done = {ident for ident, record in batch.results.items() if not record.get("not_reached")}
        rest = [t for t in remaining if t["id"] not in done]
        if len(rest) >= len(remaining) and not first_retry:
            break  # no progress (a target is checked again at most once): never loop
        remaining = rest
    for record in results.values():
        record.pop("not_reached", None)
    return results


@dataclass(frozen=True)
class _Batch:
    """One sandbox process's results, and the target it ended in, if it ended
    inside one (crashed, or stopped as hung) rather than after the last."""

    results: dict[str, dict[str, Any]]
    ended_in: Optional[str]


def _run_once(
    source: str,
    sys_path: Sequence[str],
    targets: Sequence[dict[str, Any]],
    limits: SandboxLimits,
    seed: int,
    stubs: Sequence[tuple[str, Sequence[str]]] = (),
    lines: Sequence[tuple[int, int]] = (),
) -> _Batch:
    gradlint_root = str(Path(gradlint.__file__).resolve().parent.parent)
    deadline_seconds = limits.timeout * (1 + len(targets)) + STARTUP_SLACK
    with tempfile.TemporaryDirectory(prefix="gradlint-runtime-") as folder:
        work = Path(folder)
        module_path = work / "gradlint_target_module.py"
        module_path.write_text(utf8_source(source), encoding="utf-8")
        results_path = work / "results.jsonl"
        payload_path = work / "payload.json"
        status_path = work / "status"
        payload = {
            "module_path": str(module_path),
            "module_name": "gradlint_target_module",
            "sys_path": list(sys_path),
            "stubs": [[name, list(names)] for name, names in stubs],
            "lines": [list(pair) for pair in lines],  # generated module line -> the file's line
            "targets": list(targets),
            "timeout": limits.timeout,
            "seed": seed,
            "results": str(results_path),
        }
        payload_path.write_text(json.dumps(payload), encoding="utf-8")
        worker = [sys.executable, "-I", "-B", "-c", _BOOTSTRAP.format(root=gradlint_root, payload=str(payload_path))]
        log_path = work / "output.log"
        started = time.monotonic()
        with open(log_path, "wb") as log:
            try:
                process = _start(worker, folder, log, _limit_values(limits, int(deadline_seconds) + 1), status_path)
            except OSError as error:
                reason = f"could not start the sandbox: {error}"
                return _Batch({t["id"]: {"status": "unknown", "reason": reason} for t in targets}, None)
            progress = _Progress(results_path)
            try:
                ending = _watch(process, progress, deadline_seconds, limits.timeout + HANG_GRACE, len(targets))
            finally:
                # Every case (a normal end too): what the user's code started dies with the sandbox.
                _stop(process)
        elapsed = time.monotonic() - started
        records, running, import_error = _read_results(results_path)
        returncode, keeper_killed = _worker_returncode(process, status_path)
        death = _Death(returncode, _tail(log_path), keeper_killed)
        stop = _Stop(ending, elapsed, progress.seconds_running(time.monotonic()))
        results = _collect(targets, records, running, import_error, death, stop)
        inside_target = running not in (None, "<import>") and import_error is None
        ended_in = running if inside_target and ending != "deadline" else None
        return _Batch(results, ended_in)


# A target that ignores the worker's own alarm (a C loop, a handler that swallows it)
# is stopped by the parent this long after its timeout; a new sandbox checks the rest.
HANG_GRACE = 2.0
_POLL_SECONDS = 0.2  # how often the parent reads the worker's progress
KEEPER = Path(__file__).resolve().with_name("keeper.py")
_KEEPER_GRACE = 3.0  # seconds the keeper has to kill and reap what the sandbox left
_SETTLE_SECONDS = 1.0  # after the last verdict: the sandbox ends by itself well within this


def _start(worker: list[str], folder: str, log: Any, limits: dict[str, int], status_path: Path) -> subprocess.Popen:
    """Start the worker: on POSIX through the keeper (gradlint.runtime.keeper), in a
    new session whose process group is the keeper's; elsewhere directly."""
    if not POSIX:
        return subprocess.Popen(worker, cwd=folder, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=_environment())
    command = [sys.executable, "-I", "-B", str(KEEPER), str(status_path), json.dumps(limits), "--", *worker]
    return subprocess.Popen(
        command, cwd=folder, stdin=subprocess.PIPE, stdout=log, stderr=log, env=_environment(), start_new_session=True
    )


class _Progress:
    """What the worker's results file says so far: which target runs, and since when
    (by the parent's clock, from the moment it read the `running` line)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._pending = b""
        self.running: Optional[str] = None
        self.since = 0.0
        self.finished = 0  # targets with a verdict
        self.import_failed = False

    def read(self, now: float) -> None:
        try:
            with open(self._path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except OSError:
            return
        self._offset += len(data)
        *lines, self._pending = (self._pending + data).split(b"\n")
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "running" in record:
                self.running, self.since = str(record["running"]), now
            elif isinstance(record, dict) and ("id" in record or "import_error" in record):
                self.running = None
                self.finished += "id" in record
                self.import_failed = self.import_failed or "import_error" in record

    def seconds_running(self, now: float) -> float:
        return now - self.since if self.running is not None else 0.0


def _watch(process: subprocess.Popen, progress: _Progress, deadline_seconds: float, per_target: float, targets: int) -> str:
    """Wait for the sandbox: "ended" when it ended by itself, or a moment after every one of
    the `targets` has its verdict (a keeper the user's code stopped never ends); "hung" when one
    target (or the import) ran `per_target` seconds; "deadline" at the whole run's deadline."""
    deadline = time.monotonic() + deadline_seconds
    settled: Optional[float] = None  # when the last verdict came in
    while True:
        now = time.monotonic()
        progress.read(now)
        if settled is None and (progress.finished >= targets or progress.import_failed):
            settled = now
        if settled is not None and now - settled >= _SETTLE_SECONDS:
            return "ended"  # every verdict is in: _stop ends what is left
        hang_at = progress.since + per_target if progress.running is not None else deadline
        if min(hang_at, deadline) <= now:
            return "hung" if hang_at < deadline else "deadline"
        if _wait_unreaped(process, min(min(hang_at, deadline) - now, _POLL_SECONDS)):
            return "ended"


def _wait_unreaped(process: subprocess.Popen, timeout: float) -> bool:
    """Wait up to `timeout` seconds for the sandbox to end, WITHOUT reaping it: while
    it is an unreaped zombie its pid (its process group's id) cannot be reused, so the
    group kill that follows cannot hit an unrelated process. True when it ended."""
    if not POSIX:
        try:
            process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + timeout
    pidfd = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(process.pid)
        except OSError:
            pidfd = None
    try:
        if pidfd is not None:
            ready, _, _ = select.select([pidfd], [], [], max(0.0, timeout))
            return bool(ready)
        pause = 0.002
        while True:
            try:
                state = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return True  # already reaped
            if state is not None:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.05)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _stop(process: subprocess.Popen) -> None:
    """End the sandbox and everything the user's code started. On POSIX: closing the
    keeper's stdin tells it to kill the worker and every process re-parented to it
    (a detached daemon too, on Linux); then the keeper's process group is killed, for
    whatever is left in it (a stopped keeper, a process not yet re-parented), and the
    keeper reaped. A process that left both the group and the keeper's care (it
    detached after the keeper itself was killed) escapes; only a cgroup would catch it."""
    if not POSIX:
        if process.poll() is None:
            process.kill()
    else:
        try:
            os.killpg(process.pid, signal.SIGCONT)  # a keeper the user's code stopped cannot sweep
        except (ProcessLookupError, PermissionError):
            pass
        if process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:
                pass
        _wait_unreaped(process, _KEEPER_GRACE)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            if process.poll() is None:
                process.kill()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _worker_returncode(process: subprocess.Popen, status_path: Path) -> tuple[Optional[int], bool]:
    """The worker's return code, and whether the keeper was killed before it could
    write it (only the user's code, signalling its parent, does that)."""
    if not POSIX:
        return process.returncode, False
    try:
        return int(status_path.read_text(encoding="ascii")), False
    except (OSError, ValueError):
        return process.returncode, process.returncode not in (None, 0)


def _read_results(path: Path) -> tuple[dict[str, dict], Optional[str], Optional[str]]:
    records: dict[str, dict] = {}
    running: Optional[str] = None
    import_error: Optional[str] = None
    if not path.exists():
        return records, running, import_error
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "running" in record:
            running = record["running"]
        elif "import_error" in record:
            import_error = record["import_error"]
        elif "id" in record:
            records[record["id"]] = record
            running = None
    return records, running, import_error


def _tail(path: Path) -> str:
    try:
        data = path.read_bytes()[-2000:].decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line for line in data.strip().splitlines() if line.strip()]
    return shown(lines[-1], 200) if lines else ""


@dataclass(frozen=True)
class _Death:
    """How the sandbox's worker ended: its return code, its output's last line, and
    whether the user's code killed the keeper instead (then the code is the keeper's)."""

    returncode: Optional[int]
    tail: str
    keeper_killed: bool = False

    def reason(self) -> str:
        if self.keeper_killed:
            return f"it killed the sandbox's parent process ({_signal_name(self.returncode)})"
        return _death(self.returncode, self.tail)


@dataclass(frozen=True)
class _Stop:
    """How the parent ended the sandbox: "ended" (it ended by itself), "hung" (one
    target ran past its timeout and grace) or "deadline"; after how long."""

    ending: str
    elapsed: float
    target_seconds: float  # how long the target (or import) it was running had run


def _collect(
    targets: Sequence[dict[str, Any]],
    records: dict[str, dict],
    running: Optional[str],
    import_error: Optional[str],
    death: _Death,
    stop: _Stop,
) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    stopped = stop.ending != "ended"
    for target in targets:
        ident = target["id"]
        if ident in records:
            results[ident] = _safe_record(records[ident])
            continue
        reached = True
        if import_error is not None:
            reason = import_error
        elif stop.ending == "hung" and running == ident:
            reason = f"it did not finish: stopped after {stop.target_seconds:.0f} s, ignoring its timeout (hang?)"
        elif stopped and running == "<import>":
            reason = f"importing the module's definitions did not finish: killed after {stop.elapsed:.0f} s"
        elif stop.ending == "deadline" and running == ident:
            reason = f"it did not finish: the sandbox was killed after {stop.elapsed:.0f} s (hang?)"
        elif stop.ending == "deadline":
            reason = f"not reached: the sandbox was killed after {stop.elapsed:.0f} s while checking `{running}`"
        elif running == ident:
            reason = death.reason()
            # The keeper's death reaches the worker a moment late: the target that
            # killed it may be the one before. This one is checked again, once.
            reached = not death.keeper_killed
        elif running == "<import>":
            reason = "importing the module's definitions " + death.reason().replace("it ", "", 1)
        else:
            reason = f"not reached: the sandbox stopped while checking `{running}`" if running else death.reason()
            reached = not running
        results[ident] = {"status": "unknown", "reason": shown(reason), "id": ident}
        if not reached:
            results[ident]["not_reached"] = True
    return results


def _safe_record(record: dict[str, Any]) -> dict[str, Any]:
    """A worker record with its texts bounded and control characters made visible
    (the worker does this too; the parent does not rely on it)."""
    safe = dict(record)
    for key in ("reason", "diagnosis", "convention"):
        if isinstance(safe.get(key), str):
            safe[key] = shown(safe[key])
    return safe


def _signal_name(returncode: Optional[int]) -> str:
    """`SIGKILL` for -9; an exit code otherwise."""
    if returncode is not None and returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def _death(returncode: Optional[int], tail: str) -> str:
    if returncode is not None and returncode < 0:
        name = _signal_name(returncode)
        why = {
            "SIGXCPU": " (CPU time limit)",
            "SIGXFSZ": " (file size limit: it wrote too much)",
            "SIGKILL": " (killed: memory or time limit)",
            "SIGSEGV": " (segmentation fault)",
        }.get(name, "")
        return f"it crashed the sandbox process: {name}{why}"
    detail = f": {tail}" if tail else ""
    return f"it ended the sandbox process (exit code {returncode}){detail}"
