"""The sandboxed side of the runtime checker: import one generated module,
probe each target's calling convention, compare it with its reference.

The probes live in `activations`, `losses` and `forwards` (shared pieces in
`probing`). Run as `python -I -c "...main(PAYLOAD.json)"` by
`gradlint.runtime.sandbox`, in a temporary working directory with resource
limits. It writes one JSON line per target to the payload's `results` file
(flushed as it goes, so a hang in one target keeps the others' verdicts), and
a `{"running": id}` line before each target, so the parent knows which one
hung. The user's prints go to a buffer, never to the protocol.

Everything the worker needs is imported before the user's folders go on
sys.path (a local `random.py` must not replace the one numpy.random imports);
texts from the user's code are bounded and escaped (`text.shown`); only the
original process reports (a fork made by the user's code exits at once), and
`run` ends the process with os._exit once the results are written, so a thread
or child the user's code left behind cannot keep it alive.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import signal
import sys
import traceback
from typing import Any

import numpy as np
import numpy.linalg  # noqa: F401 - numpy loads these lazily: before the user's folders shadow what they import
import numpy.random  # noqa: F401 - (numpy.random imports secrets, hashlib, random...)

from gradlint.runtime.activations import ActivationProbe
from gradlint.runtime.forwards import ForwardProbe, MutationProbe
from gradlint.runtime.losses import FlowProbe, LossProbe
from gradlint.runtime import probing
from gradlint.runtime.probing import TargetTimeout, Unknown, _quiet, _verdict, only_original
from gradlint.runtime.text import error_text, shown


ALARMS = hasattr(signal, "SIGALRM")  # per-target timeouts (POSIX); the parent's deadline holds anyway


def _on_alarm(signum: int, frame: Any) -> None:
    raise TargetTimeout()


def _arm(seconds: float) -> None:
    if ALARMS:
        signal.setitimer(signal.ITIMER_REAL, seconds)


def check_target(module: Any, spec: dict, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    try:
        role = spec.get("role", "activation")
        if role == "flow":
            probe: Any = FlowProbe(module, spec, rng)
        elif role == "forward":
            probe = ForwardProbe(module, spec, rng)
        elif role == "mutation":
            probe = MutationProbe(module, spec, rng)
        else:
            probe = LossProbe(module, spec, rng) if role == "loss" else ActivationProbe(module, spec, rng)
        with np.errstate(all="ignore"):
            trials = probe.stamp(probe.run())  # the dtypes the code computed in set the tolerances
        return _verdict(trials, probe.errors)
    except Unknown as why:
        return {"status": "unknown", "reason": str(why)}
    except RecursionError:
        return {"status": "unknown", "reason": "it recursed without end (RecursionError)"}
    except MemoryError:
        return {"status": "unknown", "reason": "it ran out of memory (the sandbox's limit)"}


def _safe(record: dict) -> dict:
    """The record with user-derived texts bounded and made printable."""
    for key in ("reason", "diagnosis", "convention", "import_error"):
        if isinstance(record.get(key), str):
            record[key] = shown(record[key])
    return record


def main(payload_path: str) -> int:
    probing.SANDBOX_PID = os.getpid()
    with open(payload_path, encoding="utf-8") as handle:
        payload = json.load(handle)
    results = open(payload["results"], "a", encoding="utf-8")

    def emit(record: dict) -> None:
        only_original()
        results.write(json.dumps(_safe(record)) + "\n")
        results.flush()

    # Only now, with all the worker needs imported, do the user's folders go first.
    for path in reversed(payload.get("sys_path", [])):
        if path not in sys.path:
            sys.path.insert(0, path)
    if ALARMS:
        signal.signal(signal.SIGALRM, _on_alarm)
    timeout = float(payload.get("timeout", 10.0))

    emit({"running": "<import>"})
    _arm(timeout)
    try:
        spec = importlib.util.spec_from_file_location(payload["module_name"], payload["module_path"])
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[payload["module_name"]] = module
        with _quiet():
            spec.loader.exec_module(module)  # type: ignore[union-attr]
    except TargetTimeout:
        only_original()
        emit({"import_error": f"importing the module's definitions took more than {timeout:g} s"})
        return 0
    except BaseException as error:  # noqa: BLE001 - report, never crash
        only_original()
        try:
            frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
            where = f" (line {frame.lineno})" if frame and frame.filename == payload["module_path"] else ""
        except Exception:  # noqa: BLE001
            where = ""
        emit({"import_error": f"importing the module's definitions raised {error_text(error)}{where}"})
        return 0
    finally:
        _arm(0)
    only_original()
    for target in payload["targets"]:
        emit({"running": target["id"]})
        _arm(timeout)
        try:
            record = check_target(module, target, int(payload.get("seed", 0)))
        except TargetTimeout:
            record = {"status": "unknown", "reason": f"it did not finish within {timeout:g} s (hang?)"}
        except BaseException as error:  # noqa: BLE001 - SystemExit, KeyboardInterrupt from user code
            only_original()
            record = {"status": "unknown", "reason": f"it raised {error_text(error)}"}
        finally:
            _arm(0)
        only_original()
        record["id"] = target["id"]
        emit(record)
    return 0


def run(payload_path: str) -> None:
    """The sandbox's entry point: `main`, then os._exit once the results are
    flushed, whatever the user's code left running (non-daemon threads, children
    waited for at exit, atexit handlers)."""
    code = 2
    try:
        code = main(payload_path)
    except BaseException:  # noqa: BLE001 - the parent reports a missing verdict
        code = 3
        try:
            traceback.print_exc()
        except BaseException:  # noqa: BLE001
            pass
    finally:
        only_original()
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                if stream is not None:
                    stream.flush()
            except BaseException:  # noqa: BLE001
                pass
        os._exit(code)


if __name__ == "__main__":
    run(sys.argv[1])

