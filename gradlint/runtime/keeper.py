"""The sandbox's keeper: the process between gradlint and the user's code (POSIX).

Run by path (`python -I -B keeper.py STATUS LIMITS -- COMMAND...`), importing
only the standard library. It starts COMMAND (the sandbox worker) under the
resource limits in LIMITS (JSON), so that

- `os.getppid()` in the user's code names the keeper, never gradlint: a
  derivative that signals its parent reaches a process that ignores every
  signal it can (SIGKILL takes it down, and gradlint reports the sandbox dead);
- on Linux the keeper is a child subreaper: a process the user's code detaches
  from the sandbox (`os.setsid()`, a daemonising double fork) is re-parented to
  the keeper instead of init, and killed with the rest when the sandbox ends;
- the sandbox never outlives gradlint: when gradlint closes the keeper's stdin
  (to stop the sandbox early, or because gradlint itself died) the keeper kills
  the worker and everything left.

When the worker has ended it writes the worker's return code to STATUS.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from typing import Optional

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_SWEEP_ROUNDS = 200  # rounds of "kill every child, reap": ends even a fork loop
# Signals the keeper cannot ignore, or must not: SIGCHLD ignored would reap its children
# behind subprocess's back. It ignores every other one (the user's code may send any to its
# parent); the worker gets their default handling back.
_NOT_SHIELDED = ("SIGKILL", "SIGSTOP", "SIGCHLD")


def _shielded() -> list[signal.Signals]:
    unshieldable = {getattr(signal, name) for name in _NOT_SHIELDED if hasattr(signal, name)}
    return [number for number in signal.valid_signals() if number not in unshieldable]


def _prctl(option: int, value: int) -> bool:
    """Linux's prctl(2); False where there is none."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def apply_limits(limits: dict[str, int]) -> None:
    """Set each named resource limit (soft and hard; the CPU one's hard limit a
    second later, so SIGXCPU comes before SIGKILL). Unknown names are skipped."""
    import resource

    for name, value in limits.items():
        kind = getattr(resource, name, None)
        if kind is None:
            continue
        try:
            _, hard = resource.getrlimit(kind)
            soft = value if hard == resource.RLIM_INFINITY else min(value, hard)
            new_hard = soft + 1 if name == "RLIMIT_CPU" and hard == resource.RLIM_INFINITY else soft
            resource.setrlimit(kind, (soft, new_hard))
        except (ValueError, OSError):
            pass


def children(parent: int) -> list[int]:
    """The live (not zombie) processes whose parent is `parent`, read from /proc."""
    found: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if len(fields) > 1 and fields[0] not in (b"Z", b"X") and int(fields[1]) == parent:
            found.append(int(entry))
    return found


def _reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def sweep(worker: Optional[subprocess.Popen]) -> None:
    """Kill the worker, then every process left re-parented to the keeper, and reap them."""
    if worker is not None and worker.poll() is None:
        try:
            os.kill(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    me = os.getpid()
    for _ in range(_SWEEP_ROUNDS):
        _reap_all()
        left = children(me)
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.005)


def _wait(worker: subprocess.Popen) -> None:
    """Until the worker ends, or gradlint closes the keeper's stdin."""
    watched = [sys.stdin.fileno()]
    pidfd = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(worker.pid)
            watched.append(pidfd)
        except OSError:
            pidfd = None
    try:
        while worker.poll() is None:
            try:
                ready, _, _ = select.select(watched, [], [], 0.05 if pidfd is None else 1.0)
            except (OSError, ValueError):
                ready = []
            if watched[0] in ready:
                try:
                    if not os.read(watched[0], 4096):
                        return  # EOF: gradlint wants the sandbox stopped, or is gone
                except OSError:
                    return
    finally:
        if pidfd is not None:
            os.close(pidfd)


def main(argv: list[str]) -> int:
    status_path, limits_json, separator, *command = argv
    if separator != "--" or not command:
        print("usage: keeper.py STATUS LIMITS -- COMMAND...", file=sys.stderr)
        return 2
    _handle(signal.SIG_IGN)
    # Linux: orphaned descendants are re-parented to the keeper, not to init.
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    limits = json.loads(limits_json)
    worker: Optional[subprocess.Popen] = None
    try:
        worker = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda: _in_worker(limits),  # noqa: PLW1509 - POSIX only
        )
        _wait(worker)
        code = worker.poll()
        if code is not None:
            with open(status_path, "w", encoding="ascii") as handle:
                handle.write(str(code))
    finally:
        sweep(worker)
    return 0


def _handle(handler: signal.Handlers) -> None:
    """Every signal the keeper shields handled by `handler` (some cannot be set: skipped)."""
    for number in _shielded():
        try:
            signal.signal(number, handler)
        except (OSError, ValueError, RuntimeError):
            pass


def _in_worker(limits: dict[str, int]) -> None:
    """In the worker, before exec: default signal handling back; on Linux, killed as
    soon as the keeper dies (so the target that killed it is, nearly always, the one
    still running); the limits."""
    _handle(signal.SIG_DFL)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    apply_limits(limits)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
