"""`gradlint verify PATH.py::name` names what is wrong with a bad target path: a folder is not a
Python file, a named pipe is not a regular file (and is never opened: that would block), an empty
path before `::` is a usage error naming the expected form; a missing file or a broken link says
so. Always exit 2, never a traceback."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from gradlint import files
from gradlint.cli import main
from gradlint.runtime import VerifyError, check_target_file, parse_target, verify_target

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")


def _verify_error(spec: str) -> str:
    with pytest.raises(VerifyError) as error:
        verify_target(spec)
    return str(error.value)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_an_empty_path_is_a_usage_error_naming_the_form() -> None:
    for spec in ("::df2", "::Softmax.backward"):
        with pytest.raises(VerifyError) as error:
            parse_target(spec)
        message = str(error.value)
        assert "PATH.py::function" in message and spec in message
        assert "no such file" not in message


def test_a_folder_is_not_a_python_file(here: Path) -> None:
    (here / "d.py").mkdir()
    message = _verify_error("d.py::f")
    assert message.startswith("d.py: ") and "folder" in message and "not a Python file" in message
    assert "no such file" not in message


@needs_fifo
def test_a_named_pipe_is_not_a_regular_file_and_is_never_opened(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    os.mkfifo(here / "p.py")

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the named pipe was read")

    monkeypatch.setattr(files, "read_source", never)
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            verify_target("p.py::f")
        except BaseException as error:  # noqa: BLE001 - inspected below
            outcome.append(error)

    worker = threading.Thread(target=attempt, daemon=True)  # opening the pipe would block: never join forever
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "verify blocked on the named pipe"
    (error,) = outcome
    assert isinstance(error, VerifyError), error
    message = str(error)
    assert message.startswith("p.py: ") and "named pipe" in message and "not a regular file" in message


def test_a_missing_file_and_a_broken_link_say_so(here: Path) -> None:
    assert _verify_error("missing.py::f") == "missing.py: no such file or directory"
    os.symlink("nowhere.py", here / "link.py")
    assert "broken symbolic link" in _verify_error("link.py::f")


def test_a_regular_file_and_a_link_to_one_pass_the_check(here: Path) -> None:
    (here / "m.py").write_text("def f(x):\n    return x\n", encoding="utf-8")
    os.symlink("m.py", here / "alias.py")
    check_target_file(Path("m.py"))
    check_target_file(Path("alias.py"))


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["gradlint", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return int(exit_info.value.code or 0), err


def test_the_command_line_exits_2_with_the_reason(here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (here / "d.py").mkdir()
    expected = {"d.py::f": "d.py: a folder, not a Python file", "::df2": "no file named before '::'"}
    if hasattr(os, "mkfifo"):
        os.mkfifo(here / "p.py")
        expected["p.py::f"] = "p.py: a named pipe, not a regular file"
    for spec, reason in expected.items():
        code, err = _cli(monkeypatch, capsys, "verify", "--isolated", spec)
        assert code == 2, (spec, err)
        assert err.startswith("gradlint: error: ") and reason in err, (spec, err)
        assert "no such file" not in err
