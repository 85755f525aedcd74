"""The `grouped`, `azure` and `rdjson` output formats (gradlint/render/grouped.py, azure.py, rdjson.py).

Their layout is ruff's (`ruff check --output-format grouped|azure|rdjson`), checked here on a
real file with a fixable finding, warnings and a line that is not ASCII; then -q, the empty
report, a file name that is not UTF-8, the escaping of Azure's logging commands, rdjson's
UTF-8 byte columns (tests/data/formats/rdjson.schema.json, written from reviewdog's proto),
and the command line.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Optional

import jsonschema
import pytest

from gradlint import registry
from gradlint.api import FileReport, Report, check_paths
from gradlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Position, Severity
from gradlint.render import LogLevel, RenderOptions, Sources, azure, emit, rdjson, renderer_for
from gradlint.settings import Settings
from tests.test_settings import run

SCHEMA = json.loads((Path(__file__).parent / "data" / "formats" / "rdjson.schema.json").read_text(encoding="utf-8"))
BAD_NAME = os.fsdecode(b"bad\xff.py")  # 'bad\udcff.py'
SHOWN = "bad\ufffd.py"
SOURCE = {"name": "gradlint", "url": "https://github.com/gradlint/gradlint"}

# GL301 (a warning with an unsafe fix) on row 5, after a `σ` (two bytes in UTF-8); GL003 (a
# warning with a safe fix) on row 10; GL102 (an error, no fix) on row 11.
SAMPLE = textwrap.dedent(
    """\
    import numpy as np


    def softmax(z):
        σ = np.exp(z)
        return σ / σ.sum()


    def softmax_prime(z):
        s = softmax(z)  # noqa: GL102
        return s * (1 - s)
    """
)
SELECT = Settings(select=("GL102", "GL301", "GL003"))


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "model.py"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


@pytest.fixture
def report(sample: Path) -> Report:
    found = check_paths([sample], SELECT)
    assert [(d.code, d.start.row, d.start.column, d.severity.value) for d in found.diagnostics] == [
        ("GL301", 5, 9, "warning"),
        ("GL003", 10, 21, "warning"),
        ("GL102", 11, 12, "error"),
    ]
    gl301, gl003, _ = found.diagnostics
    assert gl301.fix is not None and gl301.fix.applicability is Applicability.UNSAFE
    assert gl003.fix is not None and gl003.fix.applicability is Applicability.SAFE
    return found


def _messages(report: Report) -> dict[str, str]:
    return {d.code: d.message for d in report.diagnostics}


def _render(report: Report, output_format: str, root: Path, **options: Any) -> str:
    """The renderer's output, written to a strict UTF-8 stream (a lone surrogate would raise)."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="")
    renderer_for(output_format)(report, out, RenderOptions(output_format=output_format, root=root, **options))
    out.flush()
    return raw.getvalue().decode("utf-8")


def _emit(report: Report, output_format: str, root: Path, **flags: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = emit(report, output_format, out, io.StringIO(), root=root, color=False, **flags)
    return code, out.getvalue()


# --- grouped --------------------------------------------------------------------------------


def test_grouped_exact(report: Report, sample: Path) -> None:
    m = _messages(report)
    assert _render(report, "grouped", sample.parent) == (
        "model.py:\n"
        f"   5:9  GL301 warning: {m['GL301']}\n"
        f"  10:21 GL003 [*] warning: {m['GL003']}\n"
        f"  11:12 GL102 {m['GL102']}\n"
        "\n"
        "Found 1 error and 2 warnings.\n"
        "[*] 1 fixable with the `--fix` option (1 hidden fix can be enabled with the `--unsafe-fixes` option).\n"
    )
    unsafe = _render(report, "grouped", sample.parent, unsafe_fixes=True)
    assert f"   5:9  GL301 [*] warning: {m['GL301']}\n" in unsafe
    assert unsafe.endswith("\nFound 1 error and 2 warnings.\n[*] 2 fixable with the --fix option.\n")
    applied = _render(report, "grouped", sample.parent, applying_fixes=True, fixed=2, fixed_warnings=1)
    assert "[*]" not in applied and "Found 2 errors and 3 warnings (2 fixed, 3 remaining)." in applied


def _finding(filename: str, row: int, column: int, code: str = "GL101", severity: Severity = Severity.ERROR) -> Diagnostic:
    return Diagnostic(
        code=code, name=registry.load_rule(code).name, message=f"m{row}", filename=filename,
        start=Position(row, column), end=Position(row, column + 1), severity=severity, url=registry.RULES[code].url,
    )


def test_grouped_aligns_rows_and_columns_per_file_as_ruff(tmp_path: Path) -> None:
    """Ruff right-aligns the rows and left-aligns the columns to the widest of each file:
    rows 9 and 10 give ` 9:5 ` and `10:13`; another file is aligned on its own."""
    one, two = str(tmp_path / "a.py"), str(tmp_path / "b.py")
    found = (_finding(one, 9, 5), _finding(one, 10, 13), _finding(one, 100, 1), _finding(two, 3, 2))
    report = Report(files=(FileReport(one, found[:3]), FileReport(two, found[3:])))
    assert _render(report, "grouped", tmp_path, quiet=True) == (
        "a.py:\n"
        "    9:5  GL101 m9\n"
        "   10:13 GL101 m10\n"
        "  100:1  GL101 m100\n"
        "\n"
        "b.py:\n"
        "  3:2 GL101 m3\n"
        "\n"
    )


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_grouped_layout_is_ruffs(tmp_path: Path) -> None:
    """The same positions through ruff and through gradlint give the same lines up to the code."""
    (tmp_path / "r.py").write_text("import os\n" + "\n" * 7 + "import sys\nimport json\ny = 'é'; z = undefined_é\n", encoding="utf-8")
    done = subprocess.run(
        ["ruff", "check", "--no-cache", "--isolated", "--select", "F", "--output-format", "grouped", "r.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    ruff_lines = done.stdout.split("\n\n")[0].splitlines()
    positions = [tuple(int(n) for n in line.split()[0].split(":")) for line in ruff_lines[1:]]
    assert positions == [(1, 8), (9, 8), (10, 8), (11, 14)]
    filename = str(tmp_path / "r.py")
    report = Report(files=(FileReport(filename, tuple(_finding(filename, row, column) for row, column in positions)),))
    ours = _render(report, "grouped", tmp_path, quiet=True).split("\n\n")[0].splitlines()
    assert ours[0] == ruff_lines[0] == "r.py:"
    assert [line[: line.index("GL101")] for line in ours[1:]] == [line[: line.index("F")] for line in ruff_lines[1:]]


def test_grouped_quiet_and_show_fixes_listing(report: Report, sample: Path) -> None:
    code, quiet = _emit(report, "grouped", sample.parent, log_level=LogLevel.QUIET)
    assert code == 1
    assert quiet.startswith("model.py:\n") and quiet.endswith("\n\n") and "Found" not in quiet
    assert _emit(report, "grouped", sample.parent, log_level=LogLevel.SILENT)[1] == ""
    listing = "Fixed 1 error:\n- model.py:\n    1 × GL003 (unused-noqa)\n\n"
    _, shown = _emit(report, "grouped", sample.parent, fixes_listing=listing)
    _, rest = shown.split("\n\n", 1)
    assert rest.startswith(listing) and rest[len(listing):].startswith("Found 1 error and 2 warnings.\n")
    assert listing not in _emit(report, "grouped", sample.parent, fixes_listing=listing, log_level=LogLevel.QUIET)[1]


def test_grouped_colour_is_the_concise_formats(report: Report, sample: Path) -> None:
    coloured = _render(report, "grouped", sample.parent, color=True)
    assert "\x1b[1mmodel.py\x1b[0m:\n" in coloured
    assert "\x1b[1;33mGL301\x1b[0m \x1b[1;33mwarning:\x1b[0m" in coloured  # a warning's code, as concise paints it
    assert "\x1b[1;31mGL102\x1b[0m " in coloured
    assert "\x1b[36m[*]\x1b[0m" in coloured
    assert "\n   \x1b[2m5:9\x1b[0m  \x1b[1;33mGL301" in coloured  # the padding stays outside the escapes
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == _render(report, "grouped", sample.parent)


# --- azure ----------------------------------------------------------------------------------


def test_azure_exact(report: Report, sample: Path) -> None:
    m = _messages(report)
    path = str(sample)
    assert _render(report, "azure", Path("/")) == (
        f"##vso[task.logissue type=warning;sourcepath={path};linenumber=5;columnnumber=9;code=GL301;]{m['GL301']}\n"
        f"##vso[task.logissue type=warning;sourcepath={path};linenumber=10;columnnumber=21;code=GL003;]{m['GL003']}\n"
        f"##vso[task.logissue type=error;sourcepath={path};linenumber=11;columnnumber=12;code=GL102;]{m['GL102']}\n"
    )


def _parse_logissue(line: str) -> tuple[dict[str, str], str]:
    """Read a line back as the Azure agent does: the command ends at the first `]` after
    `##vso[`, properties split on `;` and at each one's first `=`, then unescaped."""
    def unescape(text: str) -> str:
        for escaped, char in (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%AZP25", "%")):
            text = text.replace(escaped, char)
        return text

    assert line.startswith("##vso[task.logissue ") and "\n" not in line and "\r" not in line
    command, message = line[len("##vso[task.logissue "):].split("]", 1)
    properties = dict(pair.split("=", 1) for pair in command.split(";") if pair)
    return {key: unescape(value) for key, value in properties.items()}, unescape(message)


def test_azure_escapes_what_would_break_the_command(tmp_path: Path) -> None:
    filename = str(tmp_path / "we;ird]100%.py")
    message = "50% of J[i]; then\r\nline two ]] ##vso[task.complete result=Failed;]"
    report = Report(files=(FileReport(filename, (Diagnostic(
        code="GL101", name="overwritten-diagonal", message=message, filename=filename,
        start=Position(2, 3), end=Position(2, 4), severity=Severity.WARNING,
    ),)),))
    (line,) = _render(report, "azure", tmp_path).splitlines()
    assert line == (
        f"##vso[task.logissue type=warning;sourcepath={tmp_path}/we%3Bird%5D100%AZP25.py;linenumber=2;columnnumber=3;code=GL101;]"
        "50%AZP25 of J[i]; then%0D%0Aline two ]] ##vso[task.complete result=Failed;]"
    )
    properties, text = _parse_logissue(line)
    assert properties == {"type": "warning", "sourcepath": filename, "linenumber": "2", "columnnumber": "3", "code": "GL101"}
    assert text == message
    assert azure.escape_data("%0A") == "%AZP250A"  # an escape already in the text is not taken for one


def test_azure_of_a_clean_run_is_empty() -> None:
    assert _render(Report(), "azure", Path("/")) == ""


# --- rdjson ---------------------------------------------------------------------------------


def _position(line: int, column: int) -> dict[str, int]:
    return {"column": column, "line": line}


def _range(start: tuple[int, int], end: tuple[int, int]) -> dict[str, Any]:
    return {"end": _position(*end), "start": _position(*start)}


def _code(code: str) -> dict[str, str]:
    return {"url": f"https://github.com/gradlint/gradlint/blob/main/docs/rules/{code}.md", "value": code}


def _rdjson(report: Report, root: Path, **options: Any) -> Any:
    data = json.loads(_render(report, "rdjson", root, **options))
    jsonschema.validate(data, SCHEMA)
    return data


def test_rdjson_exact(report: Report, sample: Path) -> None:
    m = _messages(report)
    path = str(sample)
    gl301 = {
        "code": _code("GL301"),
        # `σ = np.exp(z)`: `np.exp(z)` is characters 9 to 18, but bytes 10 to 19 (σ takes two)
        "location": {"path": path, "range": _range((5, 10), (5, 19))},
        "message": m["GL301"],
        "severity": "WARNING",
    }
    gl003 = {
        "code": _code("GL003"),
        "location": {"path": path, "range": _range((10, 21), (10, 34))},
        "message": m["GL003"],
        "severity": "WARNING",
        "suggestions": [{"range": _range((10, 19), (10, 34)), "text": ""}],  # safe: applies in every run
    }
    gl102 = {
        "code": _code("GL102"),
        "location": {"path": path, "range": _range((11, 12), (11, 23))},
        "message": m["GL102"],
        "severity": "ERROR",
    }
    assert _rdjson(report, sample.parent) == {"diagnostics": [gl301, gl003, gl102], "source": SOURCE}
    text = _render(report, "rdjson", sample.parent)
    assert text.startswith('{\n  "diagnostics": [\n    {\n      "code": {\n        "url": ') and text.endswith("\n}\n")
    assert "σ.sum()" in text  # not \u-escaped
    # --unsafe-fixes: GL301's unsafe fix applies too, its edit in byte columns as well
    unsafe = _rdjson(report, sample.parent, unsafe_fixes=True)["diagnostics"]
    assert unsafe[0]["suggestions"] == [{"range": _range((5, 10), (5, 19)), "text": "np.exp(z - np.max(z))"}]
    assert unsafe[1]["suggestions"] == gl003["suggestions"] and "suggestions" not in unsafe[2]
    # after --fix, what remains was not fixed: no suggestions, as no `[*]`
    applied = _rdjson(report, sample.parent, unsafe_fixes=True, applying_fixes=True)["diagnostics"]
    assert not any("suggestions" in item for item in applied)


def test_rdjson_of_a_clean_run() -> None:
    assert _render(Report(), "rdjson", Path("/")) == (
        '{\n  "diagnostics": [],\n  "source": {\n    "name": "gradlint",\n    "url": "https://github.com/gradlint/gradlint"\n  }\n}\n'
    )
    jsonschema.validate(json.loads(_render(Report(), "rdjson", Path("/"))), SCHEMA)


class _Texts(Sources):
    def __init__(self, texts: dict[str, Optional[str]]) -> None:
        self._texts = dict(texts)


def test_byte_columns() -> None:
    """reviewdog's own example ('a𐐀b': the column of b is 6) and the edges."""
    columns = rdjson.ByteColumns(_Texts({"f.py": "a𐐀b\r\nx = 'é'\rend\nplain", "gone.py": None}))
    assert [columns.position("f.py", Position(1, c))["column"] for c in (1, 2, 3, 4)] == [1, 2, 6, 7]
    assert columns.position("f.py", Position(1, 5)) == {"column": 8, "line": 1}  # past the end: one byte per column
    assert [columns.position("f.py", Position(2, c))["column"] for c in (6, 7, 8)] == [6, 8, 9]  # after the é: one more
    assert columns.position("f.py", Position(3, 2))["column"] == 2  # rows split at \r\n, \r and \n, as gradlint's
    assert columns.position("f.py", Position(9, 4))["column"] == 4  # a row the text does not have
    assert columns.position("gone.py", Position(1, 4))["column"] == 4  # no text: the character column
    tricky = rdjson.ByteColumns(_Texts({"t.py": "a\x0cé\u2028x = 1\n"}))  # \f and U+2028 end no row for Python
    assert tricky.position("t.py", Position(1, 6))["column"] == 9


def test_rdjson_reads_the_text_of_a_report_without_it(report: Report, sample: Path) -> None:
    """A report from the result cache holds no source: the columns come from the file."""
    without = Report(files=tuple(FileReport(f.filename, f.diagnostics) for f in report.files))
    assert _rdjson(without, sample.parent) == _rdjson(report, sample.parent)


def test_rdjson_schema_is_strict() -> None:
    """The test schema does reject what reviewdog's protojson reading rejects."""
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    good = {"diagnostics": [{"message": "m", "location": {"path": "a.py", "range": {"start": {"line": 1, "column": 1}}}}]}
    jsonschema.validate(good, SCHEMA)
    for bad in (
        {**good, "tool": "gradlint"},
        {"diagnostics": [{"message": "m", "name": "x"}]},
        {"diagnostics": [{"location": {"range": {"end": {"line": 1}}}}]},
        {"diagnostics": [{"location": {"range": {"start": {"line": "1"}}}}]},
        {"diagnostics": [{"severity": "FATAL"}]},
        {"source": {"url": "https://x"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)


def test_rdjson_code_without_a_url(tmp_path: Path) -> None:
    filename = str(tmp_path / "x.py")
    found = Diagnostic(
        code="GL002", name="io-error", message="m", filename=filename,
        start=Position(1, 1), end=Position(1, 1), severity=Severity.ERROR, url=None,
        fix=Fix("f", (Edit("x", Position(1, 1), Position(1, 1)),), Applicability.SAFE),
    )
    (item,) = _rdjson(Report(files=(FileReport(filename, (found,)),)), tmp_path)["diagnostics"]
    assert item["code"] == {"value": "GL002"}
    assert item["suggestions"] == [{"range": _range((1, 1), (1, 1)), "text": "x"}]  # an insertion: start == end


# --- a file name that is not UTF-8 ----------------------------------------------------------


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    if sys.platform in ("win32", "darwin"):
        pytest.skip("file names there are always valid Unicode")
    path = tmp_path / BAD_NAME
    try:
        path.write_text(SAMPLE, encoding="utf-8")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    return path


def test_a_name_that_is_not_utf8(bad_file: Path) -> None:
    report = check_paths([bad_file], SELECT)
    assert {d.filename for d in report.diagnostics} == {str(bad_file)}
    shown = str(bad_file.parent / SHOWN)
    grouped = _render(report, "grouped", bad_file.parent)  # a strict UTF-8 stream: no surrogate gets through
    assert grouped.startswith(f"{SHOWN}:\n   5:9  GL301 ")
    lines = _render(report, "azure", bad_file.parent).splitlines()
    assert [_parse_logissue(line)[0]["sourcepath"] for line in lines] == [shown] * 3
    data = _rdjson(report, bad_file.parent)
    assert [item["location"]["path"] for item in data["diagnostics"]] == [shown] * 3
    assert data["diagnostics"][0]["location"]["range"] == _range((5, 10), (5, 19))  # the text is read from the real file


# --- the command line -----------------------------------------------------------------------


@pytest.mark.parametrize("output_format", ["grouped", "azure", "rdjson"])
def test_command_line(output_format: str, sample: Path) -> None:
    select = ["--select", "GL102,GL301,GL003"]
    code, out, err = run(["check", "--no-cache", *select, "--output-format", output_format, "model.py"], sample.parent)
    assert code == 1 and err == ""
    if output_format == "grouped":
        assert out.startswith("model.py:\n   5:9  GL301 warning: ") and out.endswith("`--unsafe-fixes` option).\n")
        quiet = run(["check", "--no-cache", "-q", *select, "--output-format", "grouped", "model.py"], sample.parent)[1]
        assert quiet == out.split("\n\n")[0] + "\n\n"
    elif output_format == "azure":
        assert [_parse_logissue(line)[0]["code"] for line in out.splitlines()] == ["GL301", "GL003", "GL102"]
    else:
        data = json.loads(out)
        jsonschema.validate(data, SCHEMA)
        assert [item["code"]["value"] for item in data["diagnostics"]] == ["GL301", "GL003", "GL102"]
    clean = sample.parent / "clean.py"
    clean.write_text("x = 1\n", encoding="utf-8")
    code, out, _ = run(["check", "--no-cache", "--output-format", output_format, "clean.py"], sample.parent)
    assert code == 0
    assert out == {"grouped": "All checks passed!\n", "azure": ""}.get(output_format, out)
    if output_format == "rdjson":
        assert json.loads(out) == {"diagnostics": [], "source": SOURCE}


@pytest.mark.parametrize("output_format", ["grouped", "concise"])
def test_grouped_says_what_was_fixed_as_concise_does(output_format: str, sample: Path) -> None:
    """Like ruff's grouped, a text report: --fix counts what it fixed in the summary on stdout
    (nothing more on stderr), and --fix-only writes `Fixed N errors.` on stdout."""
    select = ["--select", "GL102,GL301,GL003"]
    code, out, err = run(["check", "--no-cache", *select, "--fix", "--output-format", output_format, "model.py"], sample.parent)
    assert code == 1 and err == ""
    assert "GL003" not in out and "Found 1 error and 2 warnings (1 fixed, 2 remaining).\n" in out
    sample.write_text(SAMPLE, encoding="utf-8")
    code, out, err = run(["check", "--no-cache", *select, "--fix-only", "--output-format", output_format, "model.py"], sample.parent)
    assert code == 0 and err == "" and out.startswith("Fixed 1 ")
    sample.write_text(SAMPLE, encoding="utf-8")
    code, out, err = run(["check", "--no-cache", *select, "--fix", "--output-format", "azure", "model.py"], sample.parent)
    assert "code=GL003" not in out and err.startswith("Fixed 1 ")  # a machine format: the count on stderr


def test_command_line_process_with_a_name_that_is_not_utf8(bad_file: Path) -> None:
    """The whole run in a process, stdout a pipe: valid UTF-8 in every new format."""
    env = {key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "GRADLINT_OUTPUT_FORMAT")}
    for output_format in ("grouped", "azure", "rdjson"):
        done = subprocess.run(
            [sys.executable, "-m", "gradlint", "check", "--no-cache", "--select", "GL102,GL301,GL003",
             "--output-format", output_format, "."],
            cwd=bad_file.parent, capture_output=True, timeout=120, env=env,
        )
        assert done.returncode == 1, done.stderr
        out = done.stdout.decode("utf-8")
        assert SHOWN in out and "\x1b[" not in out, output_format
