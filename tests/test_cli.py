"""The `gradlint` command: exit codes, options, stdin, errors without tracebacks,
`gradlint rule`, `python -m gradlint`, and the installed entry point."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import jsonschema
import pytest

from gradlint import __version__, registry
from gradlint.cli import main
from gradlint.render import FORMATS
from gradlint.schemas import load_schema

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
BUGGY = (TESTS / "data" / "formats" / "softmax_layer.py").read_text(encoding="utf-8")
CLEAN = """\
import numpy as np


def softmax_prime(s):
    J = np.zeros((len(s), len(s)))
    for i in range(len(s)):
        for j in range(len(s)):
            if i == j:
                J[i][j] = s[i] * (1 - s[i])
            else:
                J[i][j] = -s[i] * s[j]
    return J
"""
# parsed (it may hold GL101: one element stored twice in a loop), then a syntax error
BROKEN = "def fill(J):\n    for i in range(3):\n        J[i] = 0\n        J[i] = 1\nx = (\n"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary project: the working directory, with a buggy and a clean module."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'sample'\n", encoding="utf-8")
    (tmp_path / "buggy.py").write_text(BUGGY, encoding="utf-8")
    (tmp_path / "clean.py").write_text(CLEAN, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run `gradlint ARGS` in process, as the entry point does; return code, stdout, stderr."""

    def invoke(*args: str, stdin: Optional[str] = None) -> Result:
        monkeypatch.setattr(sys, "argv", ["gradlint", *args])
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8"))
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main()
        out, err = capsys.readouterr()
        code = exit_info.value.code
        return Result(0 if code is None else int(code), out, err)

    return invoke


def _no_traceback(result: Result) -> None:
    assert "Traceback" not in result.out + result.err


# --- exit codes ---------------------------------------------------------------------


def test_exit_0_when_clean(project: Path, run: Run) -> None:
    result = run("check", "clean.py", "--no-cache")
    assert (result.code, result.out) == (0, "All checks passed!\n")


def test_exit_1_on_findings(project: Path, run: Run) -> None:
    result = run("check", "--no-cache", "--select", "GL101")
    assert result.code == 1
    assert "buggy.py:23:21: GL101 the diagonal s[i] * (1 - s[i])" in result.out  # its fix is unsafe: no [*] (ruff)
    assert "clean.py" not in result.out
    assert result.out.endswith("Found 2 errors.\nNo fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option).\n")
    unsafe = run("check", "--no-cache", "--select", "GL101", "--unsafe-fixes")
    assert "buggy.py:23:21: GL101 [*] the diagonal" in unsafe.out
    assert unsafe.out.endswith("Found 2 errors.\n[*] 1 fixable with the --fix option.\n")


def test_exit_zero_option(project: Path, run: Run) -> None:
    result = run("check", "buggy.py", "--exit-zero", "--no-cache")
    assert result.code == 0
    assert "GL101" in result.out


def test_rule_crash_is_reported_once_per_file_and_exits_2(project: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self: object, analysis: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(registry.load_rule("GL101"), "check", explode)
    (project / "broken.py").write_text(BROKEN, encoding="utf-8")
    (project / "buggy2.py").write_text(BUGGY, encoding="utf-8")
    for extra in ((), ("--exit-zero",)):
        result = run("check", "--no-cache", "--jobs", "1", *extra)
        assert result.code == 2
        assert re.search(r"^broken\.py:\d+:\d+: GL001 SyntaxError", result.out, re.M)  # the other results are kept
        crash_lines = [line for line in result.err.splitlines() if "rule GL101 failed on" in line]
        assert sorted(Path(line.split(" failed on ")[1].split(":")[0]).name for line in crash_lines) == ["buggy.py", "buggy2.py"]  # once per file
        # (clean.py's if/else stores cannot be GL101's pair: the pre-check leaves it unparsed)
        assert "RuntimeError: boom" in crash_lines[0]
        _no_traceback(result)


def test_missing_path_is_a_finding_not_a_crash(project: Path, run: Run) -> None:
    result = run("check", "nowhere.py", "--no-cache")
    assert result.code == 1
    assert "nowhere.py:1:1: GL002 no such file or directory" in result.out


# --- formats and statistics ---------------------------------------------------------------


@pytest.mark.parametrize("output_format", list(FORMATS))
def test_every_format_from_the_command_line(project: Path, run: Run, output_format: str) -> None:
    result = run("check", "buggy.py", "--no-cache", "--select", "GL101", "--output-format", output_format)
    assert result.code == 1
    assert result.err == ""
    if output_format in ("json", "sarif", "gitlab", "rdjson"):
        json.loads(result.out)  # nothing but JSON on stdout
    elif output_format == "grouped":
        assert result.out.startswith("buggy.py:\n  23:21 GL101 ")
    elif output_format == "azure":
        assert ";linenumber=23;columnnumber=21;code=GL101;]" in result.out
    elif output_format == "junit":
        assert result.out.startswith("<?xml") and 'line="23"' in result.out
    elif output_format == "pylint":
        assert "buggy.py:23: [GL101]" in result.out
    elif output_format == "json-lines":
        assert [json.loads(line)["code"] for line in result.out.splitlines()] == ["GL101", "GL101"]
    else:
        assert "buggy.py:23:21: GL101" in result.out


def test_json_output_is_only_json_and_absolute(project: Path, run: Run) -> None:
    result = run("check", "buggy.py", "--no-cache", "--output-format", "json")
    data = json.loads(result.out)
    jsonschema.validate(data, load_schema("report"))
    assert {item["filename"] for item in data} == {str(project / "buggy.py")}


def test_statistics_text(project: Path, run: Run) -> None:
    result = run("check", "--no-cache", "--select", "GL101", "--statistics")
    assert result.code == 1
    assert result.out == (  # the fix is unsafe: --fix alone would not apply it; then ruff's summary lines
        "2\tGL101\t[ ] overwritten-diagonal\nFound 2 errors.\n"
        "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option).\n"
    )
    unsafe = run("check", "--no-cache", "--select", "GL101", "--statistics", "--unsafe-fixes").out
    assert unsafe == "2\tGL101\t[*] overwritten-diagonal\nFound 2 errors.\n[*] 1 fixable with the --fix option.\n"


def test_statistics_json(project: Path, run: Run) -> None:
    result = run("check", "--no-cache", "--select", "GL101", "--statistics", "--output-format", "json")
    assert result.code == 1
    data = json.loads(result.out)
    jsonschema.validate(data, load_schema("statistics"))
    assert data == [{"code": "GL101", "name": "overwritten-diagonal", "count": 2, "fixable": False}]


def test_statistics_after_fix_count_what_remains(project: Path, run: Run) -> None:
    result = run("check", "--no-cache", "--select", "GL101", "--fix", "--statistics")
    assert result.code == 1
    assert result.out == (  # GL101's fix is unsafe: both remain
        "2\tGL101\t[ ] overwritten-diagonal\nFound 2 errors.\n"
        "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option).\n"
    )
    result = run("check", "--no-cache", "--select", "GL101", "--fix", "--unsafe-fixes", "--statistics")
    assert result.out == "1\tGL101\t[ ] overwritten-diagonal\nFound 2 errors (1 fixed, 1 remaining).\n"  # the one with no fix


def test_runtime_with_fix_is_refused_not_ignored(project: Path, run: Run) -> None:
    for writing in ("--fix", "--diff", "--add-noqa"):
        result = run("check", "--no-cache", "--runtime", writing)
        assert result.code == 2 and f"--runtime cannot be combined with {writing}" in result.err
    assert (project / "buggy.py").read_text(encoding="utf-8") == BUGGY


def test_statistics_of_a_clean_run(project: Path, run: Run) -> None:
    assert run("check", "clean.py", "--no-cache", "--statistics").out == ""
    assert json.loads(run("check", "clean.py", "--no-cache", "--statistics", "--output-format", "json").out) == []


# --- stdin ----------------------------------------------------------------------------


def test_stdin_with_stdin_filename(project: Path, run: Run) -> None:
    result = run("check", "-", "--stdin-filename", "pkg/layer.py", stdin=BUGGY)
    assert result.code == 1
    assert result.out.startswith("pkg/layer.py:23:21: GL101 ")
    data = json.loads(run("check", "-", "--stdin-filename", "pkg/layer.py", "--output-format", "json", stdin=BUGGY).out)
    assert data[0]["filename"] == str(project / "pkg" / "layer.py")


def test_stdin_without_a_name(project: Path, run: Run) -> None:
    result = run("check", "-", stdin=BUGGY)
    assert result.code == 1
    assert result.out.startswith("-:23:21: GL101 ")
    assert run("check", "-", stdin=CLEAN).code == 0


# --- usage errors: a clear message, exit 2, no traceback ------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (("check", "--output-format", "xml"), "unknown output format 'xml'"),
        (("check", "--select", "GL8"), "unknown rule selector 'GL8'"),
        (("check", "--ignore", "nonsense"), "unknown rule selector 'nonsense'"),
        (("check", "--bogus"), "No such option"),
        (("frobnicate",), "No such command"),
        (("rule", "GL999"), "unknown rule 'GL999'"),
        (("rule",), "name a rule"),
        (("rule", "GL101", "--output-format", "yaml"), "unknown output format 'yaml'"),
    ],
)
def test_usage_errors(project: Path, run: Run, args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.code == 2
    assert message in result.err
    assert result.out == ""
    assert result.err.startswith("gradlint: error: ")
    _no_traceback(result)


def test_no_arguments_shows_help_and_what_to_type(run: Run) -> None:
    result = run()
    assert result.code == 2
    assert "check" in result.out and "rule" in result.out  # the help lists the commands
    assert "no command given; try `gradlint check .`" in result.err


def test_version(run: Run) -> None:
    result = run("--version")
    assert (result.code, result.out) == (0, f"gradlint {__version__}\n")


# --- gradlint rule ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["GL101", "gl101", "overwritten-diagonal"])
def test_rule_shows_the_documentation(run: Run, name: str) -> None:
    result = run("rule", name)
    assert result.code == 0
    assert result.out.startswith("# overwritten-diagonal (GL101)")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## References"):
        assert section in result.out


def test_rule_all_json(run: Run) -> None:
    result = run("rule", "--all", "--output-format", "json")
    assert result.code == 0
    data = json.loads(result.out)
    jsonschema.validate(data, load_schema("rules"))
    assert [item["code"] for item in data] == registry.all_codes()
    gl101 = next(item for item in data if item["code"] == "GL101")
    assert gl101["url"] == registry.RULES["GL101"].url and gl101["fix"] is True


def test_rule_one_json(run: Run) -> None:
    data = json.loads(run("rule", "GL101", "--output-format", "json").out)
    jsonschema.validate(data, load_schema("rules"))
    assert data["name"] == "overwritten-diagonal"


# --- python -m gradlint and the installed entry point -------------------------------------


def _subprocess(command: list[str], cwd: Path, stdin: Optional[str] = None) -> Result:
    env = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR")}
    done = subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, text=True, env=env, timeout=120)
    return Result(done.returncode, done.stdout, done.stderr)


def test_python_dash_m(project: Path) -> None:
    assert _subprocess([sys.executable, "-m", "gradlint", "--version"], project).out == f"gradlint {__version__}\n"
    result = _subprocess([sys.executable, "-m", "gradlint", "check", "buggy.py", "--no-cache", "--select", "GL101", "--output-format", "json"], project)
    assert result.code == 1
    assert [item["code"] for item in json.loads(result.out)] == ["GL101", "GL101"]
    assert _subprocess([sys.executable, "-m", "gradlint"], project).code == 2


def _installed_gradlint() -> str:
    beside = Path(sys.executable).parent / ("gradlint.exe" if os.name == "nt" else "gradlint")
    found = str(beside) if beside.exists() else shutil.which("gradlint")
    if found is None:
        pytest.fail("the `gradlint` entry point is not installed: run `pip install -e '.[test]'` first")
    return found


def test_installed_entry_point(project: Path) -> None:
    gradlint = _installed_gradlint()
    assert _subprocess([gradlint, "--version"], project).out == f"gradlint {__version__}\n"
    result = _subprocess([gradlint, "check", "--no-cache"], project)
    assert result.code == 1
    assert "buggy.py:23:21: GL101" in result.out and "\x1b[" not in result.out  # a pipe: no colour
    clean = _subprocess([gradlint, "check", "clean.py", "--no-cache"], project)
    assert (clean.code, clean.out) == (0, "All checks passed!\n")
    piped = _subprocess([gradlint, "check", "-", "--stdin-filename", "x.py", "--output-format", "sarif"], project, stdin=BUGGY)
    assert piped.code == 1
    assert json.loads(piped.out)["runs"][0]["results"][0]["ruleId"] == "GL101"
    bad = _subprocess([gradlint, "check", "--output-format", "nope"], project)
    assert bad.code == 2 and "Traceback" not in bad.err
    forced = _subprocess([gradlint, "check", "buggy.py", "--no-cache"], project)
    assert "\x1b[" not in forced.out


def test_force_color_through_the_environment(project: Path) -> None:
    env = {**os.environ, "FORCE_COLOR": "1"}
    env.pop("NO_COLOR", None)
    done = subprocess.run([sys.executable, "-m", "gradlint", "check", "buggy.py", "--no-cache"], cwd=project, capture_output=True, text=True, env=env, timeout=120)
    assert "\x1b[" in done.stdout
    env["NO_COLOR"] = "1"
    done = subprocess.run([sys.executable, "-m", "gradlint", "check", "buggy.py", "--no-cache"], cwd=project, capture_output=True, text=True, env=env, timeout=120)
    assert "\x1b[" not in done.stdout


def test_the_wheel_ships_the_schemas_and_renderers(tmp_path: Path) -> None:
    """hatch packages the non-Python schema files; the built package loads them."""
    pytest.importorskip("hatchling", reason="hatchling (the build backend) is not installed here")
    built = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path / "dist")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("gradlint-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    for name in ("report", "statistics", "rules"):
        assert f"gradlint/schemas/{name}.schema.json" in names
    for module in set(FORMATS.values()) | {"stats"}:
        assert f"gradlint/render/{module}.py" in names
    assert {"gradlint/_precheck_plans.py", "gradlint/precheck_predicates.py"} <= names  # the pre-check's plans
    probe = (
        "import gradlint.schemas as s, gradlint.render.json as j; "
        "assert s.__file__.startswith(%r); print(s.load_schema('report')['title'])" % str(tmp_path / "site")
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "gradlint JSON report"


# --- where the report goes: --output-file, GRADLINT_OUTPUT_*, output-format in the config ---


def test_output_file_gets_the_report_and_stdout_stays_empty(project: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # a report file is never coloured
    result = run("check", "--no-cache", "--output-format", "json", "-o", "reports/gradlint.json")
    assert (result.code, result.out) == (1, "")
    data = json.loads((project / "reports" / "gradlint.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, load_schema("report"))
    assert {item["filename"] for item in data} == {str(project / "buggy.py")}
    result = run("check", "--no-cache", "--output-file", "report.txt", "buggy.py")
    text = (project / "report.txt").read_text(encoding="utf-8")
    assert result.out == "" and "\x1b[" not in text and "buggy.py:23:21: GL101" in text


def test_output_file_that_cannot_be_written_is_a_clear_error(project: Path, run: Run) -> None:
    (project / "taken").mkdir()
    result = run("check", "--no-cache", "-o", "taken")
    assert result.code == 2 and result.err == "gradlint: error: cannot write the report to taken: Is a directory\n"
    _no_traceback(result)


def test_output_file_with_fix_holds_what_remains(project: Path, run: Run) -> None:
    result = run("check", "--no-cache", "--select", "GL101", "--fix", "--unsafe-fixes", "--statistics", "-o", "left.txt")
    assert result.out == "" and result.err == ""
    assert (project / "left.txt").read_text(encoding="utf-8") == "1\tGL101\t[ ] overwritten-diagonal\nFound 2 errors (1 fixed, 1 remaining).\n"
    result = run("check", "--no-cache", "--select", "GL101", "--fix", "--unsafe-fixes", "--stdin-filename", "x.py", "-o", "stdin.txt", stdin=BUGGY)
    assert result.out == (project / "buggy.py").read_text(encoding="utf-8")  # the fixed source still goes to stdout
    assert "x.py:" in (project / "stdin.txt").read_text(encoding="utf-8")


def test_output_format_from_the_environment_and_the_config(project: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    pylint_line = "buggy.py:23: [GL101]"
    (project / "pyproject.toml").write_text("[tool.gradlint]\noutput-format = 'pylint'\n", encoding="utf-8")
    assert run("check", "--no-cache", "buggy.py").out.startswith(pylint_line)
    assert "output-format: pylint" in run("check", "--show-settings").out
    monkeypatch.setenv("GRADLINT_OUTPUT_FORMAT", "json-lines")
    assert json.loads(run("check", "--no-cache", "buggy.py").out.splitlines()[0])["code"] == "GL101"  # the environment beats the config
    assert run("check", "--no-cache", "--output-format", "concise", "buggy.py").out.startswith("buggy.py:23:21: GL101")
    monkeypatch.setenv("GRADLINT_OUTPUT_FORMAT", "yaml")
    result = run("check", "--no-cache", "buggy.py")
    assert result.code == 2 and "unknown output format 'yaml'" in result.err
    monkeypatch.delenv("GRADLINT_OUTPUT_FORMAT")
    (project / "pyproject.toml").write_text("[tool.gradlint]\noutput-format = 'xml'\n", encoding="utf-8")
    result = run("check", "--no-cache", "buggy.py")
    assert result.code == 2 and "output-format must be one of concise, full, json" in result.err and "not 'xml'" in result.err


@pytest.mark.parametrize(
    "args",
    [
        ("--diff", "--statistics"), ("--add-noqa", "--statistics"), ("--show-files", "--statistics"),
        ("--show-files", "--show-settings"), ("--config", "pyproject.toml", "--isolated"), ("--add-noqa", "--fix"),
        ("--show-files", "-"),
    ],
)
def test_options_that_would_drop_each_other_are_refused(project: Path, run: Run, args: "tuple[str, ...]") -> None:
    result = run("check", "--no-cache", *args)
    assert result.code == 2 and "cannot be combined with" in result.err and result.out == ""
    assert (project / "buggy.py").read_text(encoding="utf-8") == BUGGY


def test_stdin_filename_with_files_reads_stdin_and_says_so(project: Path, run: Run) -> None:
    result = run("check", "--no-cache", "--stdin-filename", "from_editor.py", "buggy.py", stdin=CLEAN)
    assert (result.code, result.out) == (0, "All checks passed!\n")  # stdin (clean) was checked, not buggy.py
    assert "ignoring buggy.py in favour of standard input" in result.err


def test_rule_with_a_code_and_all_is_refused(run: Run) -> None:
    result = run("rule", "GL101", "--all")
    assert result.code == 2 and "not both" in result.err


def test_no_python_files_is_a_warning_not_an_error(project: Path, run: Run) -> None:
    (project / "empty").mkdir()
    result = run("check", "--no-cache", "empty")
    assert (result.code, result.out) == (0, "All checks passed!\n")
    assert result.err == "gradlint: warning: no Python files found under the given paths\n"
    assert "warning" not in run("check", "--no-cache", "clean.py").err
    for mode in ("--fix", "--diff", "--add-noqa"):
        assert run("check", "--no-cache", mode, "empty").err.startswith("gradlint: warning: no Python files found")
    missing = run("check", "--no-cache", "missing.py")  # its GL002 says why: no second, contradicting warning
    assert missing.code == 1 and "GL002" in missing.out and missing.err == ""


def test_verify_refuses_config_with_isolated(project: Path, run: Run) -> None:
    result = run("verify", "--config", "pyproject.toml", "--isolated", "buggy.py::softmax_prime")
    assert result.code == 2 and "--config cannot be combined with --isolated" in result.err


# --- -q / --quiet and -s / --silent (ruff's log levels) ------------------------------


def test_quiet_prints_the_findings_and_nothing_else(project: Path, run: Run) -> None:
    loud = run("check", "buggy.py", "--no-cache")
    quiet = run("check", "buggy.py", "--no-cache", "-q")
    findings = [line for line in loud.out.splitlines() if line.startswith("buggy.py:")]
    assert findings and quiet.code == loud.code == 1
    assert quiet.out.splitlines() == findings  # no `Found N errors.`, no fix hint
    assert run("check", "clean.py", "--no-cache", "--quiet").out == ""  # no `All checks passed!`
    (project / "empty").mkdir()
    empty = run("check", "empty", "-q")
    assert (empty.code, empty.out, empty.err) == (0, "", "")  # no "no Python files found" warning
    as_json = run("check", "buggy.py", "--no-cache", "-q", "--output-format", "json")
    assert len(json.loads(as_json.out)) == len(findings)


def test_silent_prints_nothing_but_the_exit_code_says_what_was_found(project: Path, run: Run) -> None:
    for output_format in ("concise", "json", "sarif"):
        silent = run("check", "buggy.py", "--no-cache", "-s", "--output-format", output_format)
        assert (silent.code, silent.out, silent.err) == (1, "", "")
    assert run("check", "clean.py", "--no-cache", "--silent").code == 0
    # As ruff: --statistics still prints its table (without the summary lines).
    table = run("check", "buggy.py", "--no-cache", "-s", "--statistics")
    assert table.code == 1 and table.out and all("\t" in line for line in table.out.splitlines())


def test_quiet_and_silent_cannot_be_combined(project: Path, run: Run) -> None:
    result = run("check", "buggy.py", "-q", "-s")
    assert result.code == 2 and "--quiet cannot be combined with --silent" in result.err


def test_quiet_drops_the_summaries_of_fix_diff_and_add_noqa(project: Path, run: Run) -> None:
    before = (project / "buggy.py").read_text(encoding="utf-8")
    diff = run("check", "buggy.py", "--no-cache", "-q", "--diff", "--unsafe-fixes")
    assert diff.code == 1 and diff.out.startswith("---") and diff.err == ""  # the patch, no `Would fix`
    silent_diff = run("check", "buggy.py", "--no-cache", "-s", "--diff", "--unsafe-fixes")
    assert silent_diff.out == diff.out  # as ruff: -s still prints the diff
    fixed = run("check", "buggy.py", "--no-cache", "-q", "--fix", "--unsafe-fixes")
    assert (project / "buggy.py").read_text(encoding="utf-8") != before
    assert "Found" not in fixed.out and "fixed" not in fixed.out + fixed.err
    (project / "buggy.py").write_text(before, encoding="utf-8")
    added = run("check", "buggy.py", "--no-cache", "-q", "--add-noqa")
    assert (added.code, added.out, added.err) == (0, "", "")
    assert "# noqa: GL" in (project / "buggy.py").read_text(encoding="utf-8")


def test_a_directive_that_names_no_code_is_warned_about_on_every_run(project: Path, run: Run) -> None:
    # As ruff: a noqa colon with no code after it hides nothing, and stderr says so; from the cache too.
    (project / "marked.py").write_text(CLEAN + "x = 1  # noqa:\ny = 2  # gradlint: ignore[]\n", encoding="utf-8")
    noqa = "gradlint: warning: Invalid `# noqa` directive on marked.py:13: expected a comma-separated list of codes"
    ignore = "gradlint: warning: Invalid `# gradlint: ignore[...]` directive on marked.py:14: expected codes or rule names"
    for _ in range(2):  # the second run answers from the cache
        result = run("check", "marked.py")
        assert result.code == 0 and result.out == "All checks passed!\n"
        assert [line[: len(noqa)] for line in result.err.splitlines()] == [noqa, ignore[: len(noqa)]]
    assert run("check", "marked.py", "-q").err == ""
    assert noqa in run("check", "marked.py", "--fix", "--no-cache").err
    assert noqa in run("check", "marked.py", "--diff", "--no-cache").err
    many = project / "many"
    many.mkdir()
    for index in range(40):
        (many / f"m{index:02}.py").write_text(("x = 1\n" * index) + "y = 2  # noqa:\n" + BUGGY, encoding="utf-8")
    serial = run("check", "many", "--no-cache", "-j", "1")
    assert serial.err.count("Invalid `# noqa` directive") == 40
    assert run("check", "many", "--no-cache", "-j", "2").err == serial.err


def test_color_always_never_and_auto_as_in_ruff(project: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    escape = "\x1b["
    assert escape in run("check", "buggy.py", "-n", "--color", "always").out
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert escape not in run("check", "buggy.py", "-n", "--color", "never").out
    assert escape in run("check", "buggy.py", "-n").out  # auto: the environment decides
    assert escape not in run("check", "buggy.py", "-n", "-o", "report.txt").out + (project / "report.txt").read_text()
    assert escape in run("check", "buggy.py", "-n", "--fix", "--color", "always").out
    wrong = run("check", "buggy.py", "--color", "sometimes")
    assert wrong.code == 2 and "--color must be auto, always or never" in wrong.err


# --- --fix-only and --show-fixes (ruff's) ---------------------------------------------


def test_fix_only_fixes_and_neither_reports_nor_fails_on_what_is_left(project: Path, run: Run) -> None:
    source = (REPO / "fixtures" / "softmax_question.py").read_text(encoding="utf-8")
    (project / "sq.py").write_text(source, encoding="utf-8")
    refused = run("check", "sq.py", "-n", "--fix-only")  # its one fix is unsafe
    assert (refused.code, refused.out) == (0, "No errors fixed (1 fix available with `--unsafe-fixes`).\n")
    fixed = run("check", "sq.py", "-n", "--fix-only", "--unsafe-fixes")
    assert (fixed.code, fixed.out) == (0, "Fixed 1 error.\n")  # GL201 is left, unreported
    assert (project / "sq.py").read_text(encoding="utf-8") != source
    assert run("check", "sq.py", "-n").code == 1  # it is still there
    (project / "sq.py").write_text(source, encoding="utf-8")
    assert run("check", "sq.py", "-n", "--fix-only", "--unsafe-fixes", "--exit-non-zero-on-fix").code == 1
    (project / "sq.py").write_text(source, encoding="utf-8")
    assert run("check", "sq.py", "-n", "--fix-only", "--unsafe-fixes", "-q").out == ""
    (project / "sq.py").write_text(source, encoding="utf-8")
    as_json = run("check", "sq.py", "-n", "--fix-only", "--unsafe-fixes", "--output-format", "json")
    assert (as_json.code, as_json.out) == (0, "")
    (project / "sq.py").write_text(source, encoding="utf-8")
    counted = run("check", "sq.py", "-n", "--fix-only", "--unsafe-fixes", "--statistics")
    assert counted.out.splitlines() == ["1\tGL201\t[ ] jacobian-from-preactivation", "Fixed 1 error."]
    (project / "sq.py").write_text(source, encoding="utf-8")
    diff = run("check", "sq.py", "-n", "--fix-only", "--unsafe-fixes", "--diff")  # as ruff: --diff wins
    assert diff.code == 1 and diff.out.startswith("---") and (project / "sq.py").read_text(encoding="utf-8") == source
    assert run("check", "sq.py", "--fix-only", "--add-noqa").code == 2


def test_show_fixes_lists_the_fixes_applied_before_the_summary(project: Path, run: Run) -> None:
    source = (REPO / "fixtures" / "softmax_question.py").read_text(encoding="utf-8")
    (project / "sq.py").write_text(source, encoding="utf-8")
    shown = run("check", "sq.py", "-n", "--fix", "--unsafe-fixes", "--show-fixes")
    lines = shown.out.splitlines()
    assert lines[1:] == [
        "", "Fixed 1 error:", "- sq.py:", "    1 \u00d7 GL101 (overwritten-diagonal)", "",
        "Found 2 errors (1 fixed, 1 remaining).",
    ]
    assert lines[0].startswith("sq.py:") and " GL201 " in lines[0]
    (project / "sq.py").write_text(source, encoding="utf-8")
    only = run("check", "sq.py", "-n", "--fix-only", "--unsafe-fixes", "--show-fixes")
    assert only.out.splitlines()[-2:] == ["", "Fixed 1 error."] and "- sq.py:" in only.out
    assert "Fixed 1 error:" not in run("check", "sq.py", "-n", "--fix", "--show-fixes").out  # nothing fixed


def test_ignore_noqa_reports_what_suppression_comments_hide(project: Path, run: Run) -> None:
    loud = run("check", "buggy.py", "-n", "-q").out.splitlines()
    rows = sorted({int(line.split(":")[1]) for line in loud})
    lines = BUGGY.splitlines()
    for row in rows:
        lines[row - 1] += "  # noqa"
    (project / "buggy.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run("check", "buggy.py").code == 0
    unhidden = run("check", "buggy.py", "--ignore-noqa")  # the cache is keyed on it, too
    assert unhidden.code == 1 and unhidden.out.splitlines()[: len(loud)] == loud
    assert run("check", "buggy.py").code == 0
    assert run("check", "buggy.py", "--ignore-noqa", "--add-noqa").code == 2


def test_a_crash_with_no_finding_does_not_say_all_checks_passed(project: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self: object, analysis: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(registry.load_rule("GL101"), "check", explode)
    result = run("check", "--no-cache", "--select", "GL101", "buggy.py")
    assert result.code == 2 and "All checks passed!" not in result.out
    assert result.out == "No findings, but a rule crashed (see the error below): the check is incomplete.\n"
