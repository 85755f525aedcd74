"""The sandboxed side of the runtime checker: import one generated module,
probe each target's calling convention, compare it with its reference.

The probes live in `activations`, `losses` and `forwards` (shared pieces in
`probing`); `self_gradients` checks `loss, dW = f(W, X, y, reg)`, `layer_pairs`
CS231n's `f_forward` / `f_backward(dout, cache)` pairs. Run as
`python -I -c "...main(PAYLOAD.json)"` by `gradlint.runtime.sandbox`, in a
temporary working directory with resource limits. It writes one JSON line per
target to the payload's `results` file
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

import importlib.abc
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
from gradlint.runtime import layer_pairs, loss_classes, objectives, probing, self_gradients
from gradlint.runtime.probing import TargetTimeout, Unknown, _quiet, _verdict, only_original
from gradlint.runtime.text import error_text, shown, source_line


class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on sys.meta_path: a module of the checked file's own project that no other finder
    found (the file was taken out of its project) becomes a module of empty classes, for the
    names the file uses only as base classes (`gradlint.runtime.extract._base_stubs`); the
    packages above it become empty packages. Asked only after every real finder failed."""

    def __init__(self, stubs: dict[str, list[str]]) -> None:
        self.stubs = stubs
        self.packages = {name.rsplit(".", i)[0] for name in stubs for i in range(1, name.count(".") + 1)}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname in self.stubs or fullname in self.packages:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=fullname in self.packages)
        return None

    def create_module(self, spec: Any) -> None:
        return None  # the default module

    def exec_module(self, module: Any) -> None:
        for name in self.stubs.get(module.__name__, ()):
            doc = f"gradlint's empty stand-in for {module.__name__}.{name}, which is not in the checked tree"
            setattr(module, name, type(name, (), {"__module__": module.__name__, "__doc__": doc}))


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
        if role in ("self_gradient", "self_gradient_x"):
            return self_gradients.check(module, spec, rng)  # (loss, dW) = f(W, X, y, reg); (loss, dx) = f(x, y)
        if role == "objective":
            return objectives.check(module, spec, rng)  # J, grad = costFunction(theta, X, y); minimize(f, x0, jac=g)
        if role in ("loss_class", "loss_class_hess", "boosting", "catboost"):
            return loss_classes.check(module, spec, rng)  # a loss class's gradient/hess; grad, hess = obj(preds, dtrain)
        if role == "layer_pair":
            return layer_pairs.check(module, spec, rng)  # dx, dw, db = f_backward(dout, cache) against f_forward(x, w, b)
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
    self_gradients.python2_names()  # `from past.builtins import xrange` without the `future` package
    if payload.get("stubs"):
        sys.meta_path.append(StubFinder({name: list(names) for name, names in payload["stubs"]}))
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
            line = source_line(payload.get("lines", []), frame.lineno) if frame and frame.lineno and frame.filename == payload["module_path"] else None
            where = f" (line {line})" if line else ""
        except Exception:  # noqa: BLE001
            where = ""
        missing = ""
        if isinstance(error, ModuleNotFoundError) and error.name:
            # neither the project's own module (beside the file, under its package root) nor installed
            missing = (
                f": no module `{shown(error.name, 80)}` is beside the file or under its project's folders, "
                f"nor installed for the Python gradlint runs in ({shown(sys.executable, 120)})"
            )
        emit({"import_error": f"importing the module's definitions raised {error_text(error)}{where}{missing}"})
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

