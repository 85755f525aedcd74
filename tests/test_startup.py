"""Start-up imports only what the run needs: no libcst, numpy, rich (or pydantic)
when nothing is parsed. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("libcst", "numpy", "rich", "pydantic", "scipy")
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "softmax_question.py"

PROBE = """
import json, sys
watched = set(json.loads(sys.argv[2]))
sys.argv = ["gradlint", *json.loads(sys.argv[1])]
from gradlint.cli import main
code = None
try:
    main()
except SystemExit as done:
    code = done.code
heavy = sorted({name.split(".")[0] for name in sys.modules} & watched)
sys.stderr.write("\\nPROBE " + json.dumps({"code": code, "heavy": heavy}) + "\\n")
"""


def _probe(args: list[str], cwd: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )
    line = [text for text in done.stderr.splitlines() if text.startswith("PROBE ")][-1]
    return json.loads(line[len("PROBE "):])


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    (tmp_path / "plain.py").write_text("import os\n\nprint(os.getcwd())\n", encoding="utf-8")
    (tmp_path / "empty.py").write_text("", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ["check", "plain.py"],
        ["check", "--no-cache", "."],
        ["check", "--output-format", "json", "--jobs", "2", "."],
        ["check", "--select", "GL1", "--ignore", "GL101", "plain.py"],
    ],
)
def test_check_imports_nothing_heavy_when_nothing_is_parsed(plain: Path, args: list[str]) -> None:
    result = _probe(args, plain)
    assert result["code"] == 0, result
    assert result["heavy"] == [], f"imported {result['heavy']} although no file needed parsing"


def test_a_warm_cached_run_imports_nothing_heavy(plain: Path) -> None:
    (plain / "bug.py").write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    first = _probe(["check", "."], plain)
    assert first["code"] == 1 and "libcst" in first["heavy"]
    second = _probe(["check", "."], plain)
    # The file was written just now (inside the racy window), so it is re-hashed
    # but not parsed again.
    assert second["code"] == 1 and "libcst" not in second["heavy"], second


def test_parsing_imports_libcst_but_not_rich(plain: Path) -> None:
    (plain / "bug.py").write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    result = _probe(["check", "--no-cache", "bug.py"], plain)
    assert result["code"] == 1
    assert "libcst" in result["heavy"] and "rich" not in result["heavy"] and "pydantic" not in result["heavy"]


def test_invalid_option_values_are_still_reported(plain: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gradlint", "check", "--jobs", "many", "plain.py"],
        cwd=plain, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "--jobs" in done.stderr and "Traceback" not in done.stderr
