"""The sandboxed side of the runtime checker: import one generated module,
probe each target's calling convention, compare it with its reference.

The probes live in `activations`, `losses` and `forwards` (shared pieces in
`probing`). Run as `python -I -c "...main(PAYLOAD.json)"` by
`gradlint.runtime.sandbox`, in a temporary working directory with resource
limits. It writes one JSON line per target to the payload's `results` file
(flushed as it goes, so a hang in one target keeps the others' verdicts), and
a `{"running": id}` line before each target, so the parent knows which one
hung. The user's prints go to a buffer, never to the protocol.
"""

from __future__ import annotations

import json
import signal
import sys
import traceback
from typing import Any

import numpy as np

from gradlint.runtime.activations import ActivationProbe
from gradlint.runtime.forwards import ForwardProbe, MutationProbe
from gradlint.runtime.losses import FlowProbe, LossProbe
from gradlint.runtime.probing import TargetTimeout, Unknown, _quiet, _verdict


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
            trials = probe.run()
        return _verdict(trials, probe.errors)
    except Unknown as why:
        return {"status": "unknown", "reason": str(why)}
    except RecursionError:
        return {"status": "unknown", "reason": "it recursed without end (RecursionError)"}
    except MemoryError:
        return {"status": "unknown", "reason": "it ran out of memory (the sandbox's limit)"}


def main(payload_path: str) -> int:
    with open(payload_path, encoding="utf-8") as handle:
        payload = json.load(handle)
    results = open(payload["results"], "a", encoding="utf-8")

    def emit(record: dict) -> None:
        results.write(json.dumps(record) + "\n")
        results.flush()

    for path in reversed(payload.get("sys_path", [])):
        if path not in sys.path:
            sys.path.insert(0, path)
    if ALARMS:
        signal.signal(signal.SIGALRM, _on_alarm)
    timeout = float(payload.get("timeout", 10.0))
    import importlib.util

    emit({"running": "<import>"})
    _arm(timeout)
    try:
        spec = importlib.util.spec_from_file_location(payload["module_name"], payload["module_path"])
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[payload["module_name"]] = module
        with _quiet():
            spec.loader.exec_module(module)  # type: ignore[union-attr]
    except TargetTimeout:
        emit({"import_error": f"importing the module's definitions took more than {timeout:g} s"})
        return 0
    except BaseException as error:  # noqa: BLE001 - report, never crash
        frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
        where = f" (line {frame.lineno})" if frame and frame.filename == payload["module_path"] else ""
        emit({"import_error": f"importing the module's definitions raised {type(error).__name__}: {error}{where}"})
        return 0
    finally:
        _arm(0)
    for target in payload["targets"]:
        emit({"running": target["id"]})
        _arm(timeout)
        try:
            record = check_target(module, target, int(payload.get("seed", 0)))
        except TargetTimeout:
            record = {"status": "unknown", "reason": f"it did not finish within {timeout:g} s (hang?)"}
        except BaseException as error:  # noqa: BLE001 - SystemExit, KeyboardInterrupt from user code
            record = {"status": "unknown", "reason": f"it raised {type(error).__name__}: {error}"}
        finally:
            _arm(0)
        record["id"] = target["id"]
        emit(record)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

