"""Run the worker on one generated module in a separate, limited process.

One process per module: a temporary working directory, resource limits
(address space, CPU seconds, file size, no core dumps), a wall-clock deadline,
and its own process group so a hang is killed with everything it started.
Whatever happens, every target gets a result; gradlint itself never hangs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import gradlint

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


_BOOTSTRAP = (
    "import sys; sys.path.insert(0, {root!r}); "
    "from gradlint.runtime.worker import main; sys.exit(main({payload!r}))"
)


def run_module(
    source: str,
    sys_path: Sequence[str],
    targets: Sequence[dict[str, Any]],
    limits: SandboxLimits = SandboxLimits(),
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Check `targets` of the generated module `source`; a result per target id."""
    if not targets:
        return {}
    gradlint_root = str(Path(gradlint.__file__).resolve().parent.parent)
    deadline_seconds = limits.timeout * (1 + len(targets)) + STARTUP_SLACK
    with tempfile.TemporaryDirectory(prefix="gradlint-runtime-") as folder:
        work = Path(folder)
        module_path = work / "gradlint_target_module.py"
        module_path.write_text(source, encoding="utf-8")
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
        command = [sys.executable, "-I", "-c", _BOOTSTRAP.format(root=gradlint_root, payload=str(payload_path))]
        log_path = work / "output.log"
        cpu = int(deadline_seconds) + 1
        started = time.monotonic()
        killed = False
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
                return {t["id"]: {"status": "unknown", "reason": f"could not start the sandbox: {error}"} for t in targets}
            try:
                process.wait(timeout=deadline_seconds)
            except subprocess.TimeoutExpired:
                killed = True
                _kill_group(process)
        elapsed = time.monotonic() - started
        records, running, import_error = _read_results(results_path)
        tail = _tail(log_path)
        return _collect(targets, records, running, import_error, process.returncode, killed, elapsed, tail)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        if POSIX:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except (ProcessLookupError, PermissionError):
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
    return lines[-1] if lines else ""


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
            results[ident] = records[ident]
            continue
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
        results[ident] = {"status": "unknown", "reason": reason, "id": ident}
    return results


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
