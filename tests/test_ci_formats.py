"""The CI output formats: gitlab (Code Quality), junit (XML) and pylint lines, as ruff writes them."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.test_settings import BUG_ROW, BUGGY, run, write

# GL101 in one file, twice the same finding in another (copies of one function), nothing in a third.
TWICE = BUGGY + "\n\n" + BUGGY.replace("import numpy as np\n", "").replace("softmax_prime", "softmax_prime_2")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "pkg" / "one.py", BUGGY)
    write(tmp_path / "two.py", TWICE)
    write(tmp_path / "clean.py", "x = 1\n")
    return tmp_path


def test_gitlab_code_quality(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI_PROJECT_DIR", raising=False)
    code, out, _ = run(["check", "--no-cache", "--output-format", "gitlab", "."], project)
    issues = json.loads(out)
    assert code == 1 and len(issues) == 3
    first = issues[0]
    assert set(first) == {"description", "check_name", "fingerprint", "severity", "location"}
    assert first["check_name"] == "GL101" and first["severity"] == "major"
    assert first["location"] == {"path": "pkg/one.py", "lines": {"begin": BUG_ROW, "end": BUG_ROW}}
    assert len({issue["fingerprint"] for issue in issues}) == 3  # unique, even for identical findings
    # stable when the code above moves: the row is not part of it
    write(project / "pkg" / "one.py", "# a new first line\n" + BUGGY)
    moved = json.loads(run(["check", "--no-cache", "--output-format", "gitlab", "."], project)[1])
    assert moved[0]["fingerprint"] == first["fingerprint"] and moved[0]["location"]["lines"]["begin"] == BUG_ROW + 1
    monkeypatch.setenv("CI_PROJECT_DIR", str(project / "pkg"))
    assert json.loads(run(["check", "--no-cache", "--output-format", "gitlab", "pkg"], project)[1])[0]["location"]["path"] == "one.py"


def test_junit_xml(project: Path) -> None:
    code, out, _ = run(["check", "--no-cache", "--output-format", "junit", "."], project)
    root = ElementTree.fromstring(out)
    assert code == 1 and root.tag == "testsuites" and root.get("failures") == "3"
    suites = {suite.get("name"): suite for suite in root}
    assert set(suites) == {"pkg/one.py", "two.py"}
    case = suites["pkg/one.py"].find("testcase")
    assert case is not None and case.get("name") == "gradlint.GL101" and case.get("line") == str(BUG_ROW)
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "overwritten-diagonal" and "diagonal" in (failure.get("message") or "")
    code, out, _ = run(["check", "--no-cache", "--output-format", "junit", "clean.py"], project)
    clean = ElementTree.fromstring(out)
    assert code == 0 and clean.get("failures") == "0" and clean.find("testsuite/testcase") is not None


def test_pylint_lines(project: Path) -> None:
    code, out, _ = run(["check", "--no-cache", "--output-format", "pylint", "pkg"], project)
    assert code == 1
    (line,) = out.splitlines()
    assert line.startswith(f"pkg/one.py:{BUG_ROW}: [GL101] the diagonal")
