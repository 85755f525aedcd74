"""Two conventions every renderer shares (gradlint/render/__init__.py).

1. A file name that is not valid UTF-8 (Python holds its undecodable bytes as surrogate
   escapes) is shown with U+FFFD in their place, as ruff's lossy conversion shows it: every
   format writes valid UTF-8 that its parser accepts, and the Diagnostic keeps the real name.
2. Ruff's fix marks: `[*]` (and the statistics' `fixable`) only for a fix that applies in this
   run (safe always, unsafe only with --unsafe-fixes, none while --fix applies them), and
   ruff's summary line after `Found N errors.`.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest

from gradlint import registry
from gradlint.api import FileReport, Report, check_paths
from gradlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Position, Severity
from gradlint.engine import RuleCrash
from gradlint.render import FORMATS, RenderOptions, display_path, emit, fix_applies, fix_counts, lossy
from gradlint.render import junit, text
from gradlint.settings import Settings

REPO = Path(__file__).resolve().parent.parent
QUESTION = REPO / "fixtures" / "softmax_question.py"  # GL101 (unsafe fix) on row 24, GL201 (no fix) on row 34
BAD_NAME = os.fsdecode(b"bad\xff.py")  # 'bad\udcff.py'
SHOWN = "bad\ufffd.py"


@pytest.fixture(autouse=True)
def outside_gitlab_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI_PROJECT_DIR", raising=False)


def _render(
    report: Report, output_format: str, root: Path, *, statistics: bool = False, **flags: bool
) -> tuple[int, str, str]:
    """`emit` into strict UTF-8 streams, as a pipe would encode it: a lone surrogate raises."""
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", newline="")
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="strict", newline="")
    code = emit(report, output_format, out, err, statistics=statistics, root=root, color=False, **flags)
    out.flush()
    err.flush()
    return code, out_bytes.getvalue().decode("utf-8"), err_bytes.getvalue().decode("utf-8")


# --- 1. file names that are not UTF-8 -------------------------------------------------------------


def test_lossy_replaces_undecodable_bytes_and_keeps_valid_text() -> None:
    assert lossy(BAD_NAME) == SHOWN
    assert lossy(os.fsdecode(b"a\xff\xfeb.py")) == "a\ufffd\ufffdb.py"  # one U+FFFD per invalid byte, as ruff
    assert lossy(os.fsdecode(b"caf\xc3\xa9-\xe6\x97\xa5.py")) == "café-日.py"  # valid UTF-8 is untouched
    assert lossy("x\ud800y") == "x\ufffdy"  # a lone surrogate that escapes no byte
    plain = "pkg/λ 日本語.py"
    assert lossy(plain) is plain
    for value in (BAD_NAME, "x\ud800y", os.fsdecode(b"\xc3(\xa0\xa1")):
        lossy(value).encode("utf-8")  # never raises


def test_display_path_is_lossy_and_relative(tmp_path: Path) -> None:
    assert display_path(str(tmp_path / "pkg" / BAD_NAME), tmp_path) == os.path.join("pkg", SHOWN)
    assert display_path("/elsewhere/" + BAD_NAME, tmp_path) == "/elsewhere/" + SHOWN


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    """A copy of the question's module under a name that is not UTF-8."""
    if sys.platform in ("win32", "darwin"):
        pytest.skip("file names there are always valid Unicode")
    path = tmp_path / BAD_NAME
    try:
        shutil.copyfile(QUESTION, path)
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    return path


@pytest.fixture
def bad_report(bad_file: Path) -> Report:
    report = check_paths([bad_file], Settings())
    assert [d.code for d in report.diagnostics] == ["GL101", "GL201"]
    return report


def test_the_diagnostic_keeps_the_real_name(bad_file: Path, bad_report: Report) -> None:
    assert {d.filename for d in bad_report.diagnostics} == {str(bad_file)}
    assert all(os.path.isfile(d.filename) for d in bad_report.diagnostics)


@pytest.mark.parametrize("output_format", ["concise", "full"])
def test_text_formats(output_format: str, bad_file: Path, bad_report: Report) -> None:
    code, out, _ = _render(bad_report, output_format, bad_file.parent)
    assert code == 1
    headlines = [line for line in out.splitlines() if line.startswith(SHOWN + ":")]
    assert [line.split(" ")[0] for line in headlines] == [f"{SHOWN}:24:21:", f"{SHOWN}:34:9:"]
    assert all(line.isprintable() for line in out.splitlines())
    if output_format == "full":  # the source is read from the real file
        assert "24 |                     jacobian[i][j] = -f[i] * f[j]  # expect: GL101" in out


def test_json(bad_file: Path, bad_report: Report) -> None:
    _, out, _ = _render(bad_report, "json", bad_file.parent)
    data = json.loads(out)
    assert [item["filename"] for item in data] == [str(bad_file.parent / SHOWN)] * 2
    assert data[0]["fix"]["applicability"] == "unsafe"


def test_json_lines(bad_file: Path, bad_report: Report) -> None:
    _, out, _ = _render(bad_report, "json-lines", bad_file.parent)
    items = [json.loads(line) for line in out.splitlines()]
    assert [Path(item["filename"]).name for item in items] == [SHOWN, SHOWN]


def test_github(bad_file: Path, bad_report: Report) -> None:
    _, out, _ = _render(bad_report, "github", bad_file.parent)
    lines = out.splitlines()
    assert len(lines) == 2
    assert all(f",file={SHOWN},line=" in line for line in lines)
    assert lines[0].split("::")[2].startswith(f"{SHOWN}:24:21: GL101 ")


def test_gitlab(bad_file: Path, bad_report: Report) -> None:
    _, out, _ = _render(bad_report, "gitlab", bad_file.parent)
    issues = json.loads(out)
    assert [issue["location"]["path"] for issue in issues] == [SHOWN, SHOWN]
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(set(fingerprints)) == 2 and all(len(f) == 32 and int(f, 16) >= 0 for f in fingerprints)


def test_junit(bad_file: Path, bad_report: Report) -> None:
    _, out, _ = _render(bad_report, "junit", bad_file.parent)
    root = ElementTree.fromstring(out.encode("utf-8"))
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == SHOWN
    assert {case.get("file") for case in suite.findall("testcase")} == {SHOWN}


def test_pylint(bad_file: Path, bad_report: Report) -> None:
    _, out, _ = _render(bad_report, "pylint", bad_file.parent)
    assert [line.split(" ")[0] for line in out.splitlines()] == [f"{SHOWN}:24:", f"{SHOWN}:34:"]


def test_sarif(bad_file: Path, bad_report: Report) -> None:
    _, out, _ = _render(bad_report, "sarif", bad_file.parent)
    run = json.loads(out)["runs"][0]
    uris = [result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for result in run["results"]]
    assert [unquote(uri) for uri in uris] == [SHOWN, SHOWN]
    assert uris[0].isascii()  # a URI: U+FFFD percent-encoded
    fixed = next(result for result in run["results"] if "fixes" in result)
    assert unquote(fixed["fixes"][0]["artifactChanges"][0]["artifactLocation"]["uri"]) == SHOWN
    hashes = [result["partialFingerprints"]["primaryLocationLineHash"] for result in run["results"]]
    assert all(h.split(":")[0] != "" for h in hashes)


@pytest.mark.parametrize("output_format", ["concise", "json"])
def test_statistics(output_format: str, bad_file: Path, bad_report: Report) -> None:
    code, out, _ = _render(bad_report, output_format, bad_file.parent, statistics=True)
    assert code == 1
    if output_format == "json":
        assert [row["code"] for row in json.loads(out)] == ["GL101", "GL201"]
    else:
        assert [line.split("\t")[1] for line in out.splitlines() if "\t" in line] == ["GL101", "GL201"]


def test_every_format_is_covered() -> None:
    tested = {"concise", "full", "json", "json-lines", "github", "gitlab", "junit", "pylint", "sarif"}
    tested |= {"grouped", "azure", "rdjson"}  # in tests/test_more_formats.py
    assert tested == set(FORMATS)


def _diagnostic(filename: str, message: str, code: str = "GL002", fix: Optional[Fix] = None) -> Diagnostic:
    return Diagnostic(
        code=code,
        name=registry.load_rule(code).name if code != "GL002" else "io-error",
        message=message,
        filename=filename,
        start=Position(1, 1),
        end=Position(1, 2),
        severity=Severity.ERROR,
        url=registry.RULES[code].url if code in registry.RULES else "",
        fix=fix,
    )


def test_messages_crashes_and_fixes_naming_such_a_file_are_lossy_too(tmp_path: Path) -> None:
    """An OS error's message names the file; a crash names it; a fix carries text: all shown lossy."""
    filename = str(tmp_path / BAD_NAME)
    message = f"cannot read: [Errno 13] Permission denied: {filename!s}"
    fix = Fix(f"rename {filename}", (Edit(f"# {filename}\n", Position(1, 1), Position(1, 1)),), Applicability.SAFE)
    diagnostic = _diagnostic(filename, message, fix=fix)
    report = Report(files=(FileReport(filename, (diagnostic,), (RuleCrash("GL101", filename, "RuntimeError: boom"),)),))
    for output_format in FORMATS:
        code, out, err = _render(report, output_format, tmp_path)
        assert code == 2, output_format
        assert SHOWN in err and "rule GL101 failed on" in err, output_format
        if output_format in ("json", "sarif", "gitlab"):
            json.loads(out)
        elif output_format == "json-lines":
            [json.loads(line) for line in out.splitlines()]
        elif output_format == "junit":
            failure = ElementTree.fromstring(out.encode("utf-8")).find("testsuite/testcase/failure")
            assert failure is not None and SHOWN in (failure.get("message") or ""), output_format
        assert f"Permission denied: {tmp_path / SHOWN}" in out, output_format
    sarif_run = json.loads(_render(report, "sarif", tmp_path)[1])["runs"][0]
    notification = sarif_run["invocations"][0]["toolExecutionNotifications"][0]
    assert SHOWN in notification["message"]["text"]
    assert unquote(notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) == SHOWN
    assert f"Permission denied: {tmp_path / SHOWN}" in sarif_run["results"][0]["message"]["text"]
    assert sarif_run["results"][0]["fixes"][0]["description"]["text"] == f"rename {tmp_path / SHOWN}"
    json_item = json.loads(_render(report, "json", tmp_path)[1])[0]
    assert json_item["fix"]["edits"][0]["content"] == f"# {tmp_path / SHOWN}\n"


def test_a_root_that_is_not_utf8(tmp_path: Path) -> None:
    """The SARIF source root and the paths outside it are shown lossy as well."""
    root = tmp_path / BAD_NAME.replace(".py", "")
    filename = str(root / "m.py")
    report = Report(files=(FileReport(filename, (_diagnostic(filename, "m"), _diagnostic("/elsewhere/" + BAD_NAME, "m"))),))
    run = json.loads(_render(report, "sarif", root)[1])["runs"][0]
    assert unquote(run["originalUriBaseIds"]["%SRCROOT%"]["uri"]).endswith("/bad\ufffd/")
    uris = {unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in run["results"]}
    assert uris == {"m.py", "file:///elsewhere/" + SHOWN}


def test_junit_replaces_characters_xml_forbids(tmp_path: Path) -> None:
    filename = str(tmp_path / "we\x01ird.py")
    report = Report(files=(FileReport(filename, (_diagnostic(filename, "a \x0c form feed and \x1b escape"),)),))
    root = ElementTree.fromstring(_render(report, "junit", tmp_path)[1].encode("utf-8"))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "we\ufffdird.py"
    assert junit.xml_text("tab\tnew\nline\rok") == "tab\tnew\nline\rok"  # these XML allows


@pytest.mark.parametrize("output_format", ["sarif", "gitlab", "json", "junit", "concise"])
def test_command_line_writes_valid_output(output_format: str, bad_file: Path) -> None:
    """The whole run, as a user starts it (this crashed with an internal error for sarif and gitlab)."""
    env = {key: value for key, value in os.environ.items() if key not in ("CI_PROJECT_DIR", "FORCE_COLOR")}
    done = subprocess.run(
        [sys.executable, "-m", "gradlint", "check", "--no-cache", "--output-format", output_format, "."],
        cwd=bad_file.parent, capture_output=True, timeout=120, env=env,
    )
    assert done.returncode == 1, done.stderr
    assert b"internal error" not in done.stderr
    out = done.stdout.decode("utf-8")
    if output_format == "junit":
        assert ElementTree.fromstring(done.stdout).find("testsuite").get("name") == SHOWN
    elif output_format == "concise":
        assert out.startswith(f"{SHOWN}:24:21: GL101 ")
    else:
        assert SHOWN in unquote(json.dumps(json.loads(out), ensure_ascii=False))


# --- 2. fix marks and the summary, as ruff writes them -----------------------------------------


def test_emit_takes_the_two_flags_as_keywords_defaulting_to_off() -> None:
    parameters = inspect.signature(emit).parameters
    for name in ("unsafe_fixes", "applying_fixes"):
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY and parameters[name].default is False


@pytest.fixture(scope="module")
def question() -> Report:
    report = check_paths([QUESTION], Settings())
    assert [(d.code, d.fix.applicability if d.fix else None) for d in report.diagnostics] == [
        ("GL101", Applicability.UNSAFE),
        ("GL201", None),
    ]
    return report


def _lines(report: Report, output_format: str = "concise", **flags: bool) -> list[str]:
    return _render(report, output_format, REPO, **flags)[1].splitlines()


def test_an_unsafe_fix_is_marked_only_with_unsafe_fixes(question: Report) -> None:
    plain = _lines(question)
    assert plain[0].startswith("fixtures/softmax_question.py:24:21: GL101 the diagonal")
    assert plain[-2:] == ["Found 2 errors.", "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option)."]
    unsafe = _lines(question, unsafe_fixes=True)
    assert unsafe[0].startswith("fixtures/softmax_question.py:24:21: GL101 [*] the diagonal")
    assert unsafe[1].startswith("fixtures/softmax_question.py:34:9: GL201 df2 ")  # no fix: never marked
    assert unsafe[-2:] == ["Found 2 errors.", "[*] 1 fixable with the --fix option."]


@pytest.mark.parametrize("unsafe_fixes", [False, True])
def test_nothing_is_marked_while_fixes_are_applied(question: Report, unsafe_fixes: bool) -> None:
    lines = _lines(question, "full", unsafe_fixes=unsafe_fixes, applying_fixes=True)
    assert not any("[*]" in line for line in lines)  # nothing is marked: a fix left after --fix was refused
    assert lines[-1 if unsafe_fixes else -2] == "Found 2 errors."


def test_the_json_report_keeps_ruffs_fix_object(question: Report) -> None:
    shapes = [json.loads(_render(question, "json", REPO, **flags)[1]) for flags in ({}, {"unsafe_fixes": True}, {"applying_fixes": True})]
    assert shapes[0] == shapes[1] == shapes[2]
    assert shapes[0][0]["fix"]["applicability"] == "unsafe" and shapes[0][1]["fix"] is None


@pytest.mark.parametrize(
    "flags, text_mark, json_fixable",
    [
        ({}, "[ ]", False),
        ({"unsafe_fixes": True}, "[*]", True),
        ({"unsafe_fixes": True, "applying_fixes": True}, "[ ]", False),
    ],
)
def test_statistics_fixable_follows_the_applicability(question: Report, flags: dict[str, bool], text_mark: str, json_fixable: bool) -> None:
    rows = [line.split("\t") for line in _render(question, "concise", REPO, statistics=True, **flags)[1].splitlines() if "\t" in line]
    assert rows == [["1", "GL101", f"{text_mark} overwritten-diagonal"], ["1", "GL201", "[ ] jacobian-from-preactivation"]]
    data = json.loads(_render(question, "json", REPO, statistics=True, **flags)[1])
    assert [(row["code"], row["fixable"]) for row in data] == [("GL101", json_fixable), ("GL201", False)]


def _with_fix(applicability: Optional[Applicability], row: int = 1, edits: bool = True) -> Diagnostic:
    fix = None
    if applicability is not None:
        fix = Fix("m", (Edit("", Position(row, 1), Position(row, 2)),) if edits else (), applicability)
    return _diagnostic("/x.py", f"finding {row}", code="GL101", fix=fix)


SAFE, UNSAFE, DISPLAY = Applicability.SAFE, Applicability.UNSAFE, Applicability.DISPLAY_ONLY


@pytest.mark.parametrize(
    "fixes, hint, with_unsafe_fixes",
    [
        ([SAFE, UNSAFE, UNSAFE, DISPLAY, None],
         "[*] 1 fixable with the `--fix` option (2 hidden fixes can be enabled with the `--unsafe-fixes` option).",
         "[*] 3 fixable with the --fix option."),
        ([SAFE, UNSAFE], "[*] 1 fixable with the `--fix` option (1 hidden fix can be enabled with the `--unsafe-fixes` option).",
         "[*] 2 fixable with the --fix option."),
        ([SAFE, SAFE, None], "[*] 2 fixable with the `--fix` option.", "[*] 2 fixable with the --fix option."),
        ([UNSAFE, None], "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option).",
         "[*] 1 fixable with the --fix option."),
        ([UNSAFE, UNSAFE], "No fixes available (2 hidden fixes can be enabled with the `--unsafe-fixes` option).",
         "[*] 2 fixable with the --fix option."),
        ([None, DISPLAY], None, None),
    ],
)
def test_summary_lines(fixes: list[Optional[Applicability]], hint: Optional[str], with_unsafe_fixes: Optional[str]) -> None:
    found = [_with_fix(applicability, row) for row, applicability in enumerate(fixes, start=1)]
    errors = f"Found {len(found)} errors."
    assert text.summary(found).splitlines() == [errors] + ([hint] if hint else [])
    assert text.summary(found, unsafe_fixes=True).splitlines() == [errors] + ([with_unsafe_fixes] if with_unsafe_fixes else [])
    total = len(found) + 3  # after --fix fixed 3 others: ruff's count of what was fixed and what remains
    fixed_line = f"Found {total} errors (3 fixed, {len(found)} remaining)."
    assert text.summary(found, fixed=3).splitlines() == [fixed_line] + ([hint] if hint else [])
    report = Report(files=(FileReport("/x.py", tuple(found)),))
    assert _lines(report)[-len(text.summary(found).splitlines()):] == text.summary(found).splitlines()  # emit's summary


def test_a_safe_fix_is_marked_without_unsafe_fixes_and_a_display_only_one_never() -> None:
    safe, unsafe, display, empty = _with_fix(SAFE, 1), _with_fix(UNSAFE, 2), _with_fix(DISPLAY, 3), _with_fix(SAFE, 4, edits=False)
    report = Report(files=(FileReport("/x.py", (safe, unsafe, display, empty)),))
    marked = {flags: [("[*]" in line) for line in _lines(report, **dict(flags))[:4]] for flags in (
        (), (("unsafe_fixes", True),), (("applying_fixes", True),)
    )}
    assert marked[()] == [True, False, False, False]
    assert marked[(("unsafe_fixes", True),)] == [True, True, False, False]
    assert marked[(("applying_fixes", True),)] == [False, False, False, False]
    assert fix_counts([safe, unsafe, display, empty]) == (1, 1)
    assert fix_counts([safe, unsafe, display, empty], unsafe_fixes=True) == (2, 0)
    assert not fix_applies(None, True) and not fix_applies(display.fix, True) and not fix_applies(empty.fix, False)


def test_the_mark_and_summary_are_coloured_on_a_terminal(question: Report) -> None:
    out = io.StringIO()
    emit(question, "concise", out, io.StringIO(), root=REPO, color=True, unsafe_fixes=True)
    assert "GL101\x1b[0m \x1b[36m[*]\x1b[0m the diagonal" in out.getvalue()
    assert out.getvalue().endswith("\x1b[36m[*]\x1b[0m 1 fixable with the --fix option.\n")


def test_render_options_carry_the_flags() -> None:
    options = RenderOptions(root=REPO, unsafe_fixes=True)
    assert options.shows_fix(_with_fix(UNSAFE)) and not RenderOptions(root=REPO).shows_fix(_with_fix(UNSAFE))
    assert not RenderOptions(root=REPO, unsafe_fixes=True, applying_fixes=True).shows_fix(_with_fix(SAFE))
