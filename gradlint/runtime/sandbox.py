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


def _limit(limits: SandboxLimits, cpu_seconds: int) -> None:
    import resource

    memory = limits.memory_mb * 1024 * 1024
    for name, value in (
        ("RLIMIT_AS", memory),
        ("RLIMIT_CPU", cpu_seconds),
        ("RLIMIT_FSIZE", FILE_SIZE_LIMIT),
        ("RLIMIT_CORE", 0),
    ):
        kind = getattr(resource, name, None)
        if kind is None:
            continue
        try:
            _, hard = resource.getrlimit(kind)
            soft = value if hard == resource.RLIM_INFINITY else min(value, hard)
            # Hard limits lowered too, so the target cannot raise them again;
            # the CPU one a second later (SIGXCPU first, then SIGKILL).
            new_hard = soft + 1 if name == "RLIMIT_CPU" and hard == resource.RLIM_INFINITY else soft
            resource.setrlimit(kind, (soft, new_hard))
        except (ValueError, OSError):
            pass


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
) -> dict[str, dict[str, Any]]:
    """Check `targets` of the generated module `source`; a result per target id.

    When the sandbox dies inside one target (a crash, not the deadline), that
    target gets the reason and a new sandbox checks the targets it never reached."""
    results: dict[str, dict[str, Any]] = {}
    remaining = list(targets)
    while remaining:
        batch = _run_once(source, sys_path, remaining, limits, seed)
        results.update(batch.results)
        if batch.killed or batch.crashed_in is None:
            break
        done = {ident for ident, record in batch.results.items() if not record.get("not_reached")}
        rest = [t for t in remaining if t["id"] not in done]
        if len(rest) >= len(remaining):
            break  # no progress: never loop
        remaining = rest
    for record in results.values():
        record.pop("not_reached", None)
    return results


@dataclass(frozen=True)
class _Batch:
    """One sandbox process's results, and how it ended."""

    results: dict[str, dict[str, Any]]
    killed: bool
    crashed_in: Optional[str]  # the target the process died in (not killed by the deadline)


def _run_once(
    source: str,
    sys_path: Sequence[str],
    targets: Sequence[dict[str, Any]],
    limits: SandboxLimits,
    seed: int,
) -> _Batch:
    gradlint_root = str(Path(gradlint.__file__).resolve().parent.parent)
    deadline_seconds = limits.timeout * (1 + len(targets)) + STARTUP_SLACK
    with tempfile.TemporaryDirectory(prefix="gradlint-runtime-") as folder:
        work = Path(folder)
        module_path = work / "gradlint_target_module.py"
        module_path.write_text(utf8_source(source), encoding="utf-8")
        results_path = work / "results.jsonl"
        payload_path = work / "payload.json"
        payload = {
            "module_path": str(module_path),
            "module_name": "gradlint_target_module",
            "sys_path": list(sys_path),
            "targets": list(targets),
            "timeout": limits.timeout,
            "seed": seed,
            "results": str(results_path),
        }
        payload_path.write_text(json.dumps(payload), encoding="utf-8")
        command = [sys.executable, "-I", "-B", "-c", _BOOTSTRAP.format(root=gradlint_root, payload=str(payload_path))]
        log_path = work / "output.log"
        cpu = int(deadline_seconds) + 1
        started = time.monotonic()
        with open(log_path, "wb") as log:
            try:
                process = subprocess.Popen(
                    command,
                    cwd=folder,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    env=_environment(),
                    start_new_session=POSIX,
                    # Limits are set in the child (POSIX only; elsewhere the timeout still holds).
                    preexec_fn=(lambda: _limit(limits, cpu)) if POSIX else None,  # noqa: PLW1509
                )
            except OSError as error:
                reason = f"could not start the sandbox: {error}"
                return _Batch({t["id"]: {"status": "unknown", "reason": reason} for t in targets}, False, None)
            try:
                killed = not _wait_unreaped(process, deadline_seconds)
            finally:
                # Every case (normal exit too): what the user's code started dies with the sandbox.
                _kill_group(process)
        elapsed = time.monotonic() - started
        records, running, import_error = _read_results(results_path)
        tail = _tail(log_path)
        results = _collect(targets, records, running, import_error, process.returncode, killed, elapsed, tail)
        crashed_in = running if running not in (None, "<import>") and import_error is None and not killed else None
        return _Batch(results, killed, crashed_in)


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


def _kill_group(process: subprocess.Popen) -> None:
    """Kill the sandbox's process group (the sandbox and every process the user's
    code started in it), then reap the sandbox. A process that left the group
    (`os.setsid()`, a daemonising double fork into a new session) escapes this;
    only a cgroup or container would catch it, which gradlint does not set up."""
    try:
        if POSIX:
            os.killpg(process.pid, signal.SIGKILL)
        elif process.poll() is None:
            process.kill()
    except (ProcessLookupError, PermissionError):
        if process.poll() is None:
            process.kill()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


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


def _collect(
    targets: Sequence[dict[str, Any]],
    records: dict[str, dict],
    running: Optional[str],
    import_error: Optional[str],
    returncode: Optional[int],
    killed: bool,
    elapsed: float,
    tail: str,
) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for target in targets:
        ident = target["id"]
        if ident in records:
            results[ident] = _safe_record(records[ident])
            continue
        reached = True
        if import_error is not None:
            reason = import_error
        elif killed and running == ident:
            reason = f"it did not finish: the sandbox was killed after {elapsed:.0f} s (hang?)"
        elif killed and running == "<import>":
            reason = f"importing the module's definitions did not finish: killed after {elapsed:.0f} s"
        elif killed:
            reason = f"not reached: the sandbox was killed after {elapsed:.0f} s while checking `{running}`"
        elif running == ident:
            reason = _death(returncode, tail)
        elif running == "<import>":
            reason = "importing the module's definitions " + _death(returncode, tail).replace("it ", "", 1)
        else:
            reason = f"not reached: the sandbox stopped while checking `{running}`" if running else _death(returncode, tail)
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


def _death(returncode: Optional[int], tail: str) -> str:
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        why = {
            "SIGXCPU": " (CPU time limit)",
            "SIGXFSZ": " (file size limit: it wrote too much)",
            "SIGKILL": " (killed: memory or time limit)",
            "SIGSEGV": " (segmentation fault)",
        }.get(name, "")
        return f"it crashed the sandbox process: {name}{why}"
    detail = f": {tail}" if tail else ""
    return f"it ended the sandbox process (exit code {returncode}){detail}"
