"""The `gradlint` command ends with a hard exit (gradlint.cli.run): the process status and every
byte written must be the same as with a normal exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradlint.cli import _exit_status

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "softmax_question.py"


def _gradlint(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradlint", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def _in_process(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The same run through `main()`, which exits normally."""
    code = f"import sys; sys.argv = ['gradlint', *{list(args)!r}]; from gradlint.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--no-cache", "model.py"),  # findings: 1
        ("check", "--no-cache", "--exit-zero", "model.py"),  # 0
        ("check", "--no-cache", "--select", "GL999", "model.py"),  # a usage error: 2
        ("check", "--no-cache", "--output-format", "json", "--statistics", "model.py"),
        ("--version",),
    ],
)
def test_status_and_output_as_a_normal_exit(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "model.py").write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    hard, normal = _gradlint(*args, cwd=tmp_path), _in_process(*args, cwd=tmp_path)
    assert (hard.returncode, hard.stdout, hard.stderr) == (normal.returncode, normal.stdout, normal.stderr)


def test_report_file_complete(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    done = _gradlint("check", "--no-cache", "--output-format", "json", "-o", "report.json", "model.py", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert {finding["code"] for finding in report} >= {"GL101", "GL201"}


def test_large_output_to_a_pipe_is_complete(tmp_path: Path) -> None:
    """Many findings through a pipe: the buffered tail is flushed before the process ends."""
    text = FIXTURE.read_text(encoding="utf-8")
    for number in range(40):
        (tmp_path / f"model_{number}.py").write_text(text, encoding="utf-8")
    hard = _gradlint("check", "--no-cache", "-j", "2", ".", cwd=tmp_path)
    normal = _in_process("check", "--no-cache", "-j", "2", ".", cwd=tmp_path)
    assert hard.returncode == normal.returncode == 1
    assert hard.stdout == normal.stdout and hard.stdout.endswith("\n") and len(hard.stdout.splitlines()) > 60


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (1, 1), (2, 2), (130, 130)])
def test_exit_status_of_sys_exit(code: object, status: int) -> None:
    assert _exit_status(code) == status


def test_exit_status_of_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_status("gradlint: gone") == 1
    assert capsys.readouterr().err == "gradlint: gone\n"
