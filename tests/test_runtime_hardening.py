"""The runtime sandbox against hostile or careless user code.

Each test is one defect a reviewer reproduced: processes that outlive the run,
bytecode written into the user's tree, a local module hijacking the sandbox, a
coding cookie that lies, a leftover thread holding the sandbox open, a fork
that reports, unbounded or raw user text, NaN results without evidence, a
near-miss given a false diagnosis, a crash that loses the next targets.
Short timeouts keep them fast; every process a test may leave is killed.
"""

from __future__ import annotations

import os
import signal
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from gradlint.runtime.sandbox import SandboxLimits, run_module
from gradlint.runtime.text import shown

SIGMOID = {"qualname": "sigmoid_prime", "role": "activation", "forward_kind": "sigmoid", "forward": None}
TANH = {"qualname": "tanh_prime", "role": "activation", "forward_kind": "tanh", "forward": None}
FAST = SandboxLimits(timeout=2.0)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the sandbox's process handling is POSIX")


def _targets(*specs: dict) -> list[dict]:
    return [{**spec, "id": spec["qualname"]} for spec in specs]


def _source(body: str) -> str:
    return "import numpy as np\n" + textwrap.dedent(body)


def _gone(pid: int) -> bool:
    """The process no longer runs (absent, or a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def _dies_soon(pid: int, seconds: float = 2.0) -> bool:
    """Whether the process is gone (or a zombie) within `seconds`."""
    deadline = time.monotonic() + seconds
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def test_processes_the_target_starts_die_when_the_sandbox_ends_normally(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    source = _source(
        f"""
        import os, time
        def sigmoid_prime(s):
            if not os.path.exists({str(pid_file)!r}):
                if os.fork() == 0:
                    with open({str(pid_file)!r} + ".tmp", "w") as f:
                        f.write(str(os.getpid()))
                    os.rename({str(pid_file)!r} + ".tmp", {str(pid_file)!r})
                    time.sleep(30)
                    os._exit(0)
                for _ in range(200):
                    if os.path.exists({str(pid_file)!r}):
                        break
                    time.sleep(0.01)
            return s * (1 - s)
        """
    )
    results = run_module(source, [], _targets(SIGMOID), FAST)
    pid = int(pid_file.read_text())
    try:
        assert results["sigmoid_prime"]["status"] == "passed"
        assert _dies_soon(pid), "the process the target forked outlived the sandbox"
    finally:
        _kill(pid)


def test_the_sandbox_writes_no_bytecode_into_the_users_tree(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("SCALE = 1.0\n")
    source = _source(
        """
        from helpers import SCALE
        def sigmoid_prime(s):
            return SCALE * s * (1 - s)
        """
    )
    results = run_module(source, [str(tmp_path)], _targets(SIGMOID), FAST)
    assert results["sigmoid_prime"]["status"] == "passed"
    assert not (tmp_path / "__pycache__").exists()


def test_a_local_module_named_like_a_stdlib_one_cannot_hijack_the_sandbox(tmp_path: Path) -> None:
    # numpy.random imports `secrets` and `random` lazily: they must come from the standard library.
    for name in ("random", "secrets", "hashlib"):
        (tmp_path / f"{name}.py").write_text("import os\nos._exit(9)\n")
    source = _source(
        """
        def sigmoid_prime(s):
            return s * (1 - s)
        """
    )
    results = run_module(source, [str(tmp_path)], _targets(SIGMOID), FAST)
    assert results["sigmoid_prime"]["status"] == "passed", results


def test_a_latin1_module_with_a_coding_cookie_is_checked_as_written(tmp_path: Path) -> None:
    from gradlint.runtime import check_module
    from gradlint.settings import Settings

    text = (
        "# -*- coding: latin-1 -*-\n"
        "import numpy as np\n\n"
        'UNIT = "\u00e9"  # one character\n\n\n'
        "def sigmoid(x):\n    return 1.0 / (1.0 + np.exp(-x))\n\n\n"
        "def sigmoid_prime(s):\n    return len(UNIT) * s * (1 - s)\n"
    )
    path = tmp_path / "lat.py"
    path.write_bytes(text.encode("latin-1"))
    targets, verdicts = check_module(path.read_bytes().decode("latin-1"), str(path), Settings(runtime_timeout=2.0))
    by_name = {t.qualname: verdicts[t.ident] for t in targets if t.ident in verdicts}
    assert by_name["sigmoid_prime"].status == "passed", by_name


def test_the_cookie_is_blanked_in_the_first_two_lines_only() -> None:
    from gradlint.runtime.sandbox import utf8_source

    source = "# generated\n# -*- coding: latin-1 -*-\nx = 1\n# coding: latin-1\n"
    assert utf8_source(source) == "# generated\n#\nx = 1\n# coding: latin-1\n"
    assert utf8_source("# vim: set fileencoding=cp1252 :\n") == "#\n"
    assert utf8_source("x = 1\n") == "x = 1\n"


def test_a_leftover_thread_does_not_hold_the_sandbox_until_the_deadline() -> None:
    source = _source(
        """
        import threading, time
        def sigmoid_prime(s):
            threading.Thread(target=time.sleep, args=(1000,)).start()
            return s * (1 - s)
        """
    )
    started = time.monotonic()
    results = run_module(source, [], _targets(SIGMOID), SandboxLimits(timeout=1.0))  # deadline 12 s
    elapsed = time.monotonic() - started
    assert results["sigmoid_prime"]["status"] == "passed"
    assert elapsed < 6, f"the sandbox waited {elapsed:.1f} s for a thread the target left"


def test_a_fork_that_does_not_exit_never_reports() -> None:
    # The forked copy returns a wrong derivative; the original waits for it, then dies.
    source = _source(
        """
        import os
        def sigmoid_prime(s):
            pid = os.fork()
            if pid == 0:
                return 3 * s * (1 - s)
            os.waitpid(pid, 0)
            os._exit(5)

        def tanh_prime(a):
            return 1 - a * a
        """
    )
    results = run_module(source, [], _targets(SIGMOID, TANH), FAST)
    assert results["sigmoid_prime"]["status"] == "unknown", results["sigmoid_prime"]
    assert "exit code 5" in results["sigmoid_prime"]["reason"]
    assert results["tanh_prime"]["status"] == "passed"


def _printable(text: str) -> bool:
    return not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text)


def test_user_text_in_verdicts_is_bounded_and_escaped() -> None:
    source = _source(
        """
        import os
        def sigmoid_prime(s):
            raise ValueError("\\x1b]0;title\\x07\\x1b[31m" + "m" * 2_000_000)

        def tanh_prime(a):
            os.write(2, b"\\x1b[31mRED\\x1b]0;pwned title\\x07\\n")
            os._exit(3)
        """
    )
    results = run_module(source, [], _targets(SIGMOID, TANH), FAST)
    raised, ended = results["sigmoid_prime"]["reason"], results["tanh_prime"]["reason"]
    assert raised.startswith("it raised ValueError: \\x1b]0;title\\x07\\x1b[31mmmm") and raised.endswith("...")
    assert "exit code 3" in ended and "\\x1b[31mRED\\x1b]0;pwned title\\x07" in ended
    for reason in (raised, ended):
        assert len(reason) < 600 and _printable(reason), reason


def test_shown_bounds_escapes_and_is_idempotent() -> None:
    assert shown("a\x1bb\x07c\u202ed\td") == "a\\x1bb\\x07c\\u202ed\\td"
    long = shown("\x1b" + "x" * 10_000, 50)
    assert len(long) <= 53 and long.endswith("...") and long.startswith("\\x1bxxx")
    assert shown(long, 50) == long
    assert shown("caf\u00e9 \u03c3(z)") == "caf\u00e9 \u03c3(z)"


@pytest.mark.parametrize(
    ("value", "kind"),
    [("np.full_like(s, np.nan)", "NaN"), ("s * np.inf", "inf"), ("np.where(s > 0.6, -np.inf, s * (1 - s))", "-inf")],
)
def test_a_nan_or_inf_result_is_named_with_its_first_entry(value: str, kind: str) -> None:
    from gradlint.runtime import _verdict, mismatch_message

    source = _source(f"def sigmoid_prime(s):\n    return {value}\n")
    record = run_module(source, [], _targets(SIGMOID), FAST)["sigmoid_prime"]
    assert record["status"] == "confirmed"
    assert record["diagnosis"].startswith(f"the result holds {kind} (first at entry [")
    assert record["worst_index"], record
    target = SimpleNamespace(qualname="sigmoid_prime", reference=lambda: "the analytic sigmoid derivative")
    message = mismatch_message(target, _verdict(record))  # type: ignore[arg-type]
    assert f"the result holds {kind} (first at entry [" in message and "likely the result" not in message


def test_a_nearly_right_derivative_is_inconclusive_without_a_false_diagnosis() -> None:
    source = _source("def sigmoid_prime(s):\n    return s * (1 - s) + 1e-5\n")
    record = run_module(source, [], _targets(SIGMOID), FAST)["sigmoid_prime"]
    assert record["status"] == "inconclusive", record
    assert record["diagnosis"] is None
    assert "(s)" in record["convention"]


def test_a_crash_in_one_target_does_not_lose_the_next_ones() -> None:
    source = _source(
        """
        import os, signal
        def sigmoid_prime(s):
            os.kill(os.getpid(), signal.SIGSEGV)

        def tanh_prime(a):
            return 1 - a * a

        def relu_prime(z):
            os._exit(4)

        def softplus_prime(z):
            return 1 / (1 + np.exp(-z))
        """
    )
    relu = {"qualname": "relu_prime", "role": "activation", "forward_kind": "relu", "forward": None}
    softplus = {"qualname": "softplus_prime", "role": "activation", "forward_kind": "softplus", "forward": None}
    results = run_module(source, [], _targets(SIGMOID, TANH, relu, softplus), FAST)
    assert "SIGSEGV" in results["sigmoid_prime"]["reason"]
    assert results["tanh_prime"]["status"] == "passed"
    assert "exit code 4" in results["relu_prime"]["reason"]
    assert results["softplus_prime"]["status"] in ("passed", "unknown")
    assert "not reached" not in results["softplus_prime"].get("reason", "")
    assert all("not_reached" not in record for record in results.values())


RELU = {"qualname": "relu_prime", "role": "activation", "forward_kind": "relu", "forward": None}

# Runs run_module in a child interpreter and prints its results as JSON, so a sandbox
# that reached this test's own process (a signal to its parent) fails the test, not pytest.
_RUN_IN_CHILD = """
import json, sys
from gradlint.runtime.sandbox import SandboxLimits, run_module
source, targets, timeout = json.load(sys.stdin)
print(json.dumps(run_module(source, [], targets, SandboxLimits(timeout=timeout))))
"""


def _run_in_child(source: str, targets: list[dict], timeout: float) -> tuple[int, dict]:
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _RUN_IN_CHILD],
        input=json.dumps([source, targets, timeout]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, (json.loads(done.stdout) if done.returncode == 0 else {})


def test_a_derivative_that_signals_its_parent_cannot_end_the_run() -> None:
    # The sandbox's parent is its keeper, which ignores SIGTERM and SIGINT; SIGKILL ends
    # only the keeper, and that target alone is reported.
    source = _source(
        """
        import os, signal
        def sigmoid_prime(s):
            os.kill(os.getppid(), signal.SIGTERM)
            os.kill(os.getppid(), signal.SIGINT)
            return s * (1 - s)

        def tanh_prime(a):
            os.kill(os.getppid(), signal.SIGKILL)
            return 1 - a * a

        def relu_prime(z):
            return (z > 0).astype(float)
        """
    )
    code, results = _run_in_child(source, _targets(SIGMOID, TANH, RELU), 2.0)
    assert code == 0, "the signal reached the process running the sandbox"
    assert results["sigmoid_prime"]["status"] == "passed", results
    # SIGKILL reaches the keeper asynchronously: tanh_prime may finish first (its values are right).
    tanh = results["tanh_prime"]
    assert tanh["status"] == "passed" or "killed the sandbox's parent process (SIGKILL)" in tanh["reason"], tanh
    assert results["relu_prime"]["status"] == "passed", results


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux's child subreaper")
def test_a_process_the_target_detaches_dies_with_the_sandbox(tmp_path: Path) -> None:
    # A daemonising double fork into a new session leaves the sandbox's process group.
    pid_file = tmp_path / "daemon.pid"
    source = _source(
        f"""
        import os, time
        def sigmoid_prime(s):
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    with open({str(pid_file)!r} + ".tmp", "w") as f:
                        f.write(str(os.getpid()))
                    os.rename({str(pid_file)!r} + ".tmp", {str(pid_file)!r})
                    time.sleep(60)
                os._exit(0)
            for _ in range(300):
                if os.path.exists({str(pid_file)!r}):
                    break
                time.sleep(0.01)
            return s * (1 - s)
        """
    )
    results = run_module(source, [], _targets(SIGMOID), FAST)
    pid = int(pid_file.read_text())
    try:
        assert results["sigmoid_prime"]["status"] == "passed", results
        assert _dies_soon(pid), "the detached process outlived the sandbox"
    finally:
        _kill(pid)


def test_a_target_that_ignores_its_timeout_costs_only_itself() -> None:
    # The worker's alarm cannot end these; the parent stops the sandbox a grace after
    # the timeout and a new one checks the rest, instead of waiting for the deadline.
    source = _source(
        """
        import signal
        def sigmoid_prime(s):
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            while True:
                pass

        def tanh_prime(a):
            return 1 - a * a

        def relu_prime(z):
            while True:
                try:
                    while True:
                        pass
                except BaseException:
                    pass
        """
    )
    started = time.monotonic()
    results = run_module(source, [], _targets(SIGMOID, TANH, RELU), SandboxLimits(timeout=1.0))
    elapsed = time.monotonic() - started
    for name in ("sigmoid_prime", "relu_prime"):
        assert results[name]["status"] == "unknown"
        assert "ignoring its timeout (hang?)" in results[name]["reason"], results[name]
    assert results["tanh_prime"]["status"] == "passed", results
    assert all("not_reached" not in record for record in results.values())
    assert elapsed < 12, f"{elapsed:.1f} s: the hung targets were not stopped on their own timeouts"


def test_the_sandbox_does_not_outlive_the_process_that_started_it(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    pid_file = tmp_path / "worker.pid"
    source = _source(
        f"""
        import os, signal, time
        def sigmoid_prime(s):
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            with open({str(pid_file)!r} + ".tmp", "w") as f:
                f.write(str(os.getpid()))
            os.rename({str(pid_file)!r} + ".tmp", {str(pid_file)!r})
            time.sleep(120)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", _RUN_IN_CHILD], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert parent.stdin is not None
    parent.stdin.write(json.dumps([source, _targets(SIGMOID), 60.0]))
    parent.stdin.close()
    pid = None
    try:
        for _ in range(1500):
            if pid_file.exists():
                pid = int(pid_file.read_text())
                break
            time.sleep(0.02)
        assert pid is not None, "the target never ran"
        parent.kill()
        parent.wait()
        assert _dies_soon(pid, 5.0), "the sandbox ran on after the process that started it was killed"
    finally:
        parent.kill()
        if pid is not None:
            _kill(pid)


def test_the_keeper_shields_every_signal_it_can_and_a_first_target_killer_costs_only_itself() -> None:
    source = _source(
        """
        import os, signal
        def sigmoid_prime(s):
            for name in ("SIGPROF", "SIGVTALRM", "SIGIO", "SIGSYS", "SIGTRAP", "SIGXCPU", "SIGXFSZ"):
                if hasattr(signal, name):
                    os.kill(os.getppid(), getattr(signal, name))
            os.kill(os.getppid(), signal.SIGRTMIN)
            return s * (1 - s)

        def tanh_prime(a):
            os.kill(os.getppid(), signal.SIGKILL)
            return 1 - a * a

        def relu_prime(z):
            return (z > 0).astype(float)
        """
    )
    code, results = _run_in_child(source, _targets(SIGMOID, TANH, RELU), 2.0)
    assert code == 0 and results["sigmoid_prime"]["status"] == "passed", results
    # The killer first in line: it is checked again once, then the others go on.
    first = _source(
        """
        import os, signal
        def tanh_prime(a):
            os.kill(os.getppid(), signal.SIGKILL)
            return 1 - a * a

        def relu_prime(z):
            return (z > 0).astype(float)
        """
    )
    code, results = _run_in_child(first, _targets(TANH, RELU), 2.0)
    assert code == 0 and results["relu_prime"]["status"] == "passed", results


def test_a_target_that_stops_its_parent_does_not_hold_the_run_to_its_deadline() -> None:
    source = _source(
        """
        import os, signal
        def sigmoid_prime(s):
            os.kill(os.getppid(), signal.SIGSTOP)
            return s * (1 - s)

        def tanh_prime(a):
            return 1 - a * a
        """
    )
    started = time.monotonic()
    code, results = _run_in_child(source, _targets(SIGMOID, TANH), 3.0)  # the deadline: 19 s
    elapsed = time.monotonic() - started
    assert code == 0 and results["tanh_prime"]["status"] == "passed", results
    assert elapsed < 12, f"{elapsed:.1f} s: the run waited for a stopped keeper"
