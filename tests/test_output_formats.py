"""Every output format, pinned by snapshots, plus the contracts each one promises.

Snapshots live in tests/snapshots/; regenerate them after an intended change with
`GRADLINT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_output_formats.py`
(see tests/snapshots/README.md).
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gradlint import __version__, registry
from gradlint.api import FileReport, Report, check_paths
from gradlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Position, RuntimeVerdict, Severity
from gradlint.engine import RuleCrash
from gradlint.render import FORMATS, RenderOptions, display_path, emit, renderer_for, use_color
from gradlint.render import github, sarif, stats, text
from gradlint.schemas import load_schema
from gradlint.settings import Settings

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SNAPSHOTS = TESTS / "snapshots"
E2E_INPUT = TESTS / "data" / "formats" / "softmax_layer.py"
UPDATE = os.environ.get("GRADLINT_UPDATE_SNAPSHOTS") == "1"
OUTSIDE = "/nonexistent-gradlint-elsewhere/model.py"  # never under any test root

SUFFIX = {"json": "json", "sarif": "json", "json-lines": "jsonl"}

LAYERS = """\
import numpy as np


def softmax_prime(s):
    J = np.diag(s)
    for i in range(len(s)):
        for j in range(len(s)):
            if i == j:
                J[i][j] = s[i] * (1 - s[i])
                J[i][j] = -s[i] * s[j]
    return J
"""

WIDE = "def f(x):\n\tλ = '日本語' + x  # 値\n\treturn λ\n"
BROKEN = "def f(:\n    pass\n"


# --- snapshot machinery -------------------------------------------------------


def normalise(output: str, root: Path) -> str:
    output = output.replace(str(root), "<ROOT>")
    return output.replace(f'"{__version__}"', '"<VERSION>"')


def assert_snapshot(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE:
        with open(path, "w", encoding="utf-8", newline="\n") as handle:  # Path.write_text takes newline= from 3.10
            handle.write(actual)
        return
    assert path.is_file(), (
        f"no snapshot {path.relative_to(REPO)}; create it with "
        "GRADLINT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_output_formats.py"
    )
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"output differs from {path.relative_to(REPO)}; if the change is intended, "
        "regenerate with GRADLINT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_output_formats.py"
    )


def rendered(report: Report, output_format: str, root: Path, color: bool = False) -> str:
    out = io.StringIO()
    renderer_for(output_format)(report, out, RenderOptions(output_format=output_format, color=color, root=root))
    return out.getvalue()


def snapshot_name(kind: str, output_format: str) -> str:
    return f"{kind}.{output_format}.{SUFFIX.get(output_format, 'txt')}"


# --- the inputs ---------------------------------------------------------------


def _diagnostic(code: str, filename: str, start: tuple[int, int], end: tuple[int, int], message: str, **extra: Any) -> Diagnostic:
    rule = registry.load_rule(code)
    values: dict[str, Any] = dict(
        code=code,
        name=rule.name,
        message=message,
        filename=filename,
        start=Position(*start),
        end=Position(*end),
        severity=rule.severity,
        url=registry.RULES[code].url,
        noqa_row=start[0],
    )
    values.update(extra)
    return Diagnostic(**values)


def synthetic_report(root: Path) -> Report:
    """A hand-built report that reaches every branch of the renderers."""
    layers = str(root / "pkg" / "layers.py")
    wide = str(root / "pkg" / "wide.py")
    broken = str(root / "broken.py")
    fix = Fix(
        "Move the overwriting assignment into an `else:` branch",
        (
            Edit(
                "if i == j:\n                J[i][j] = s[i] * (1 - s[i])\n            else:\n                J[i][j] = -s[i] * s[j]",
                Position(8, 13),
                Position(10, 39),
            ),
        ),
        Applicability.UNSAFE,
    )
    layer_findings = (
        _diagnostic(
            "GL101",
            layers,
            (10, 17),
            (10, 39),
            "the diagonal s[i] * (1 - s[i]) assigned to J[i][j] on line 9 is overwritten on line 10 by "
            "-s[i] * s[j] before it is read; the `i == j` branch needs an else",
            fix=fix,
        ),
        _diagnostic(
            "GL101",
            layers,
            (6, 5),
            (10, 39),
            "100% of the loop, e.g. J[i][j]: a multi-line span, shown as a warning",
            severity=Severity.WARNING,
        ),
    )
    verdict = RuntimeVerdict(
        status="confirmed",
        convention="activation",
        diagnosis="the diagonal holds -s_i^2 instead of s_i(1-s_i)",
        worst_index=(0, 0),
        expected=0.25,
        got=float("nan"),
        abs_error=float("inf"),
    )
    wide_finding = _diagnostic("GL101", wide, (2, 16), (2, 17), "points after a tab and wide characters", runtime=verdict)
    syntax = _diagnostic("GL001", broken, (1, 7), (1, 7), "SyntaxError: expected parameter name", noqa_row=None)
    elsewhere = _diagnostic("GL101", OUTSIDE, (3, 1), (3, 9), "a file outside the project root keeps its absolute path")
    missing = _diagnostic("GL002", str(root / "missing.py"), (1, 1), (1, 1), "no such file or directory", noqa_row=None)
    return Report(
        files=(
            FileReport(layers, layer_findings, source=LAYERS),
            FileReport(wide, (wide_finding,), (RuleCrash("GL101", wide, "RuntimeError: boom (at rule.py:1)"),), source=WIDE),
            FileReport(broken, (syntax,), source=BROKEN),
            FileReport(OUTSIDE, (elsewhere,)),
        ),
        problems=(missing,),
    )


@pytest.fixture(autouse=True)
def outside_gitlab_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gitlab format's paths are relative to $CI_PROJECT_DIR when GitLab CI sets it."""
    monkeypatch.delenv("CI_PROJECT_DIR", raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)  # the SARIF source root is the git work tree
    return root


@pytest.fixture(scope="module")
def e2e_report() -> Report:
    report = check_paths([E2E_INPUT], Settings(select=("GL101",)))
    assert not report.crashes
    return report


# --- snapshots of every format --------------------------------------------------


@pytest.mark.parametrize("output_format", list(FORMATS))
def test_synthetic_snapshot(output_format: str, project: Path) -> None:
    output = rendered(synthetic_report(project), output_format, project)
    assert_snapshot(snapshot_name("synthetic", output_format), normalise(output, project))


@pytest.mark.parametrize("output_format", list(FORMATS))
def test_end_to_end_snapshot(output_format: str, e2e_report: Report) -> None:
    output = rendered(e2e_report, output_format, REPO)
    assert_snapshot(snapshot_name("e2e", output_format), normalise(output, REPO))


def test_colour_snapshot(project: Path) -> None:
    output = rendered(synthetic_report(project), "full", project, color=True)
    assert "\x1b[" in output
    assert_snapshot("synthetic.full-color.txt", normalise(output, project))


@pytest.mark.parametrize("output_format", ["concise", "json"])
def test_statistics_snapshot(output_format: str, project: Path) -> None:
    out = io.StringIO()
    emit(synthetic_report(project), output_format, out, io.StringIO(), statistics=True, root=project, color=False)
    suffix = "json" if output_format == "json" else "txt"
    assert_snapshot(f"synthetic.statistics.{suffix}", normalise(out.getvalue(), project))


def test_every_format_has_its_snapshots() -> None:
    if UPDATE:
        pytest.skip("snapshots are being written")
    for output_format in FORMATS:
        for kind in ("synthetic", "e2e"):
            assert (SNAPSHOTS / snapshot_name(kind, output_format)).is_file(), (kind, output_format)


def test_snapshots_are_machine_independent() -> None:
    for path in SNAPSHOTS.iterdir():
        content = path.read_text(encoding="utf-8")
        assert str(REPO) not in content, path.name
        assert "/tmp/" not in content and "pytest-" not in content, path.name


# --- text -----------------------------------------------------------------------


def test_concise_line_shape(project: Path) -> None:
    lines = rendered(synthetic_report(project), "concise", project).splitlines()
    # GL101's fix is unsafe: no `[*]` unless --unsafe-fixes (tests/test_render_conventions.py)
    assert "pkg/layers.py:10:17: GL101 the diagonal s[i] * (1 - s[i])" in "\n".join(lines)
    assert any(line.startswith("pkg/layers.py:6:5: GL101 warning: 100%") for line in lines)
    assert f"{OUTSIDE}:3:1: GL101 a file outside" in "\n".join(lines)
    assert lines[-2:] == [
        "Found 5 errors and 1 warning.",
        "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option).",
    ]
    out = io.StringIO()
    renderer_for("concise")(synthetic_report(project), out, RenderOptions(root=project, unsafe_fixes=True))
    unsafe_lines = out.getvalue().splitlines()
    assert "pkg/layers.py:10:17: GL101 [*] the diagonal s[i] * (1 - s[i])" in "\n".join(unsafe_lines)
    assert unsafe_lines[-2:] == ["Found 5 errors and 1 warning.", "[*] 1 fixable with the --fix option."]


def test_full_shows_source_caret_and_help(project: Path) -> None:
    output = rendered(synthetic_report(project), "full", project)
    block = output.split("pkg/layers.py:10:17:")[1]
    assert "10 |                 J[i][j] = -s[i] * s[j]\n" in block
    assert "   |                 ^^^^^^^^^^^^^^^^^^^^^^ GL101\n" in block
    assert "   = help: Move the overwriting assignment into an `else:` branch" in block


def test_caret_counts_tabs_and_wide_characters() -> None:
    line = "\tλ = '日本語' + x  # 値"
    column = line.index("x") + 1
    underline = text._underline(line, column, column + 1)
    displayed = text._expand(line)
    # the caret sits under the x in the displayed line: tab = 4, each CJK char = 2 columns
    assert underline == " " * (4 + len("λ = '") + 6 + len("' + ")) + "^"
    assert displayed.startswith("    λ")


@pytest.mark.parametrize(
    "findings, expected",
    [
        ([], "All checks passed!\n"),
        ([Severity.ERROR], "Found 1 error.\n"),
        ([Severity.ERROR, Severity.ERROR], "Found 2 errors.\n"),
        ([Severity.WARNING], "Found 1 warning.\n"),
        ([Severity.WARNING, Severity.ERROR, Severity.WARNING], "Found 1 error and 2 warnings.\n"),
    ],
)
def test_summary(findings: list[Severity], expected: str) -> None:
    diagnostics = [_diagnostic("GL101", "/x.py", (1, 1), (1, 2), "m", severity=s) for s in findings]
    assert text.summary(diagnostics) == expected


def test_summary_counts_fixes_by_applicability() -> None:
    def with_fix(applicability: Applicability) -> Diagnostic:
        fix = Fix("m", (Edit("", Position(1, 1), Position(1, 2)),), applicability)
        return _diagnostic("GL101", "/x.py", (1, 1), (1, 2), "m", fix=fix)

    found = [with_fix(Applicability.SAFE), with_fix(Applicability.UNSAFE), with_fix(Applicability.UNSAFE), with_fix(Applicability.DISPLAY_ONLY)]
    assert text.summary(found).splitlines()[1:] == [
        "[*] 1 fixable with the `--fix` option (2 hidden fixes can be enabled with the `--unsafe-fixes` option).",
    ]
    assert text.summary(found, unsafe_fixes=True).splitlines()[1:] == ["[*] 3 fixable with the --fix option."]
    assert text.summary([], fixed=2).splitlines() == ["Found 2 errors (2 fixed, 0 remaining)."]  # after --fix, as ruff


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    "tty, environ, expected",
    [
        (False, {}, False),
        (True, {}, True),
        (True, {"NO_COLOR": "1"}, False),
        (False, {"FORCE_COLOR": "1"}, True),
        (True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
        (True, {"NO_COLOR": ""}, True),  # an empty NO_COLOR does not count (no-color.org)
        (True, {"TERM": "dumb"}, False),
    ],
)
def test_colour_only_on_a_terminal(tty: bool, environ: dict[str, str], expected: bool) -> None:
    assert use_color(_Stream(tty), environ) is expected


def test_emit_colours_a_terminal_and_not_a_pipe(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    for tty in (True, False):
        out = _Stream(tty)
        emit(synthetic_report(project), "concise", out, io.StringIO(), root=project)
        assert ("\x1b[" in out.getvalue()) is tty


def test_display_path(tmp_path: Path) -> None:
    assert display_path(str(tmp_path / "a" / "b.py"), tmp_path) == os.path.join("a", "b.py")
    assert display_path("/elsewhere/b.py", tmp_path) == "/elsewhere/b.py"


# --- json and json-lines ------------------------------------------------------------


def _strict_loads(output: str) -> Any:
    def reject(constant: str) -> None:
        raise AssertionError(f"not valid JSON: {constant}")

    return json.loads(output, parse_constant=reject)


def test_json_matches_the_shipped_schema(project: Path, e2e_report: Report) -> None:
    schema = load_schema("report")
    jsonschema.Draft202012Validator.check_schema(schema)
    for report, root in ((synthetic_report(project), project), (e2e_report, REPO)):
        data = _strict_loads(rendered(report, "json", root))
        jsonschema.validate(data, schema)
        assert len(data) == len(report.diagnostics)


def test_json_is_rufflike(project: Path) -> None:
    data = _strict_loads(rendered(synthetic_report(project), "json", project))
    first = next(item for item in data if item["location"] == {"row": 10, "column": 17})
    assert list(first) == sorted(first)  # ruff writes its keys in order
    assert first["filename"] == str(project / "pkg" / "layers.py")  # absolute
    assert first["cell"] is None and first["noqa_row"] == 10 and first["severity"] == "error"
    assert first["fix"]["applicability"] == "unsafe"
    assert first["fix"]["edits"][0]["location"] == {"row": 8, "column": 13}
    assert first["url"].endswith("/docs/rules/GL101.md")
    runtime = next(item["runtime"] for item in data if "runtime" in item)
    assert runtime["status"] == "confirmed" and runtime["got"] == "nan" and runtime["abs_error"] == "inf"
    assert runtime["worst_index"] == [0, 0]


def test_json_of_a_clean_run_is_an_empty_array() -> None:
    assert rendered(Report(), "json", REPO) == "[]\n"
    assert rendered(Report(), "json-lines", REPO) == ""
    assert rendered(Report(), "github", REPO) == ""


def test_json_lines_items_match_the_schema(project: Path) -> None:
    item_schema = {**load_schema("report"), "$ref": "#/$defs/diagnostic"}
    item_schema.pop("type")
    item_schema.pop("items")
    output = rendered(synthetic_report(project), "json-lines", project)
    lines = output.splitlines()
    assert len(lines) == 6
    for line in lines:
        jsonschema.validate(_strict_loads(line), item_schema)
    as_array = _strict_loads(rendered(synthetic_report(project), "json", project))
    assert [_strict_loads(line) for line in lines] == as_array


def test_statistics_json_matches_its_schema(project: Path) -> None:
    out = io.StringIO()
    emit(synthetic_report(project), "json", out, io.StringIO(), statistics=True, root=project)
    data = _strict_loads(out.getvalue())
    jsonschema.validate(data, load_schema("statistics"))
    # GL101's one fix is unsafe: fixable only with --unsafe-fixes
    assert data[0] == {"code": "GL101", "name": "overwritten-diagonal", "count": 4, "fixable": False}
    assert {row["code"]: row["count"] for row in data} == {"GL101": 4, "GL001": 1, "GL002": 1}
    out = io.StringIO()
    emit(synthetic_report(project), "json", out, io.StringIO(), statistics=True, root=project, unsafe_fixes=True)
    unsafe = _strict_loads(out.getvalue())
    jsonschema.validate(unsafe, load_schema("statistics"))
    assert unsafe[0] == {"code": "GL101", "name": "overwritten-diagonal", "count": 4, "fixable": True}


def test_statistics_text_columns(project: Path) -> None:
    lines = _statistics_text(synthetic_report(project)).splitlines()
    rows = [line.split("\t") for line in lines if "\t" in line]
    assert rows == [["4", "GL101", "[ ] overwritten-diagonal"], ["1", "GL001", "[ ] syntax-error"], ["1", "GL002", "[ ] io-error"]]
    assert lines[len(rows):] == ["Found 5 errors and 1 warning.", "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option)."]
    lines = _statistics_text(synthetic_report(project), unsafe_fixes=True).splitlines()
    rows = [line.split("\t") for line in lines if "\t" in line]
    assert rows == [["4", "GL101", "[*] overwritten-diagonal"], ["1", "GL001", "[ ] syntax-error"], ["1", "GL002", "[ ] io-error"]]
    assert lines[len(rows):] == ["Found 5 errors and 1 warning.", "[*] 1 fixable with the --fix option."]
    assert _statistics_text(Report()) == ""


def _statistics_text(report: Report, unsafe_fixes: bool = False) -> str:
    out = io.StringIO()
    stats.render_text(report, out, RenderOptions(unsafe_fixes=unsafe_fixes))
    return out.getvalue()


def test_schemas_load_from_the_package() -> None:
    for name in ("report", "statistics", "rules"):
        jsonschema.Draft202012Validator.check_schema(load_schema(name))
    with pytest.raises(ValueError):
        load_schema("nope")


# --- github -------------------------------------------------------------------------


def test_github_annotation_shape(project: Path) -> None:
    lines = rendered(synthetic_report(project), "github", project).splitlines()
    assert any(
        line.startswith("::error title=gradlint (GL001),file=broken.py,line=1,col=7,endLine=1,endColumn=7::broken.py:1:7: GL001 ")
        for line in lines
    )
    warning = next(line for line in lines if line.startswith("::warning "))
    assert "title=gradlint (GL101),file=pkg/layers.py,line=6,col=5,endLine=10,endColumn=39::" in warning
    assert warning.endswith("GL101 100%25 of the loop, e.g. J[i][j]: a multi-line span, shown as a warning")
    assert all(line.startswith(("::error ", "::warning ")) for line in lines)


def test_github_escaping() -> None:
    assert github.escape_data("50% a\r\nb") == "50%25 a%0D%0Ab"
    assert github.escape_property("C:\\a,b%") == "C%3A\\a%2Cb%25"
    d = _diagnostic("GL101", "/r/we,ird:name.py", (1, 1), (1, 2), "line one\nline two")
    line = github.annotation(d, RenderOptions(root=Path("/r")))
    assert "file=we%2Cird%3Aname.py," in line
    assert line.endswith("::we,ird:name.py:1:1: GL101 line one%0Aline two")
    assert "\n" not in line


# --- sarif --------------------------------------------------------------------------

# The parts of the SARIF 2.1.0 schema that GitHub code scanning relies on, written out
# (no network: the official schema is not available offline).
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs", "$schema"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "pattern": "sarif-2\\.1\\.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string", "minLength": 1},
                                    "version": {"type": "string"},
                                    "informationUri": {"type": "string", "format": "uri"},
                                    "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
                                },
                            }
                        },
                    },
                    "originalUriBaseIds": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["uri"],
                            "properties": {"uri": {"type": "string", "pattern": "^file://.*/$"}},
                        },
                    },
                    "results": {"type": "array", "items": {"$ref": "#/$defs/result"}},
                },
            },
        },
    },
    "$defs": {
        "text": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 1}}},
        "rule": {
            "type": "object",
            "required": ["id", "name", "shortDescription", "fullDescription", "helpUri", "defaultConfiguration", "help"],
            "properties": {
                "id": {"type": "string", "pattern": "^GL\\d{3}$"},
                "name": {"type": "string"},
                "shortDescription": {"$ref": "#/$defs/text"},
                "fullDescription": {"$ref": "#/$defs/text"},
                "help": {"type": "object", "required": ["text", "markdown"]},
                "helpUri": {"type": "string", "pattern": "^https://"},
                "defaultConfiguration": {
                    "type": "object",
                    "required": ["level"],
                    "properties": {"level": {"enum": ["none", "note", "warning", "error"]}},
                },
            },
        },
        "region": {
            "type": "object",
            "required": ["startLine", "startColumn", "endLine", "endColumn"],
            "properties": {
                "startLine": {"type": "integer", "minimum": 1},
                "startColumn": {"type": "integer", "minimum": 1},
                "endLine": {"type": "integer", "minimum": 1},
                "endColumn": {"type": "integer", "minimum": 1},
            },
        },
        "result": {
            "type": "object",
            "required": ["ruleId", "ruleIndex", "level", "message", "locations", "partialFingerprints"],
            "properties": {
                "ruleId": {"type": "string"},
                "ruleIndex": {"type": "integer", "minimum": 0},
                "level": {"enum": ["none", "note", "warning", "error"]},
                "message": {"$ref": "#/$defs/text"},
                "locations": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["physicalLocation"],
                        "properties": {
                            "physicalLocation": {
                                "type": "object",
                                "required": ["artifactLocation", "region"],
                                "properties": {
                                    "artifactLocation": {"type": "object", "required": ["uri"]},
                                    "region": {"$ref": "#/$defs/region"},
                                },
                            }
                        },
                    },
                },
                "partialFingerprints": {
                    "type": "object",
                    "required": ["primaryLocationLineHash"],
                    "properties": {"primaryLocationLineHash": {"type": "string", "pattern": "^[0-9a-f]{16}:[1-9][0-9]*$"}},
                },
            },
        },
    },
}


def _sarif(report: Report, root: Path) -> dict[str, Any]:
    return _strict_loads(rendered(report, "sarif", root))  # type: ignore[no-any-return]


def test_sarif_structure(project: Path, e2e_report: Report) -> None:
    for report, root in ((synthetic_report(project), project), (e2e_report, REPO)):
        log = _sarif(report, root)
        jsonschema.validate(log, SARIF_SUBSET)
        run = log["runs"][0]
        rules = run["tool"]["driver"]["rules"]
        ids = [rule["id"] for rule in rules]
        assert len(ids) == len(set(ids))
        assert len(run["results"]) == len(report.diagnostics)
        for result in run["results"]:
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
            region = result["locations"][0]["physicalLocation"]["region"]
            assert (region["endLine"], region["endColumn"]) >= (region["startLine"], region["startColumn"])


def test_sarif_conforms_to_the_whole_sarif_2_1_0_schema(project: Path, e2e_report: Report) -> None:
    """Beyond the subset above: pydantic-sarif's model, generated from the official
    sarif-schema-2.1.0.json, checks every object's types, required properties and enums and
    rejects properties the schema does not define (fixes, crashes' notifications, runtime verdicts)."""
    pytest.importorskip("pydantic_sarif", reason="pydantic-sarif needs Python 3.10+")
    from pydantic import ValidationError
    from pydantic_sarif.model import StaticAnalysisResultsFormatSarifVersion210JsonSchema as SarifLog

    for report, root in ((synthetic_report(project), project), (e2e_report, REPO)):
        log = _sarif(report, root)
        SarifLog.model_validate_json(json.dumps(log), strict=True)  # strict: no "1" taken for 1
        assert any("fixes" in result for result in log["runs"][0]["results"]) or report is e2e_report
    broken = _sarif(synthetic_report(project), project)
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = "1"
    with pytest.raises(ValidationError):  # the model does check: a line number must be an integer
        SarifLog.model_validate_json(json.dumps(broken), strict=True)
    del broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"]
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startRow"] = 1
    with pytest.raises(ValidationError):  # and a property the schema does not define
        SarifLog.model_validate_json(json.dumps(broken), strict=True)


def test_sarif_uris_are_relative_to_the_source_root(project: Path) -> None:
    run = _sarif(synthetic_report(project), project)["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.as_uri() + "/"
    locations = {
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: result["locations"][0]["physicalLocation"]["artifactLocation"]
        for result in run["results"]
    }
    assert locations["pkg/layers.py"] == {"uri": "pkg/layers.py", "uriBaseId": "%SRCROOT%"}
    assert locations["file://" + OUTSIDE] == {"uri": "file://" + OUTSIDE}


def test_sarif_source_root_is_the_git_work_tree(project: Path) -> None:
    sub = project / "pkg"
    sub.mkdir()
    assert sarif.source_root(sub) == project.resolve()
    run = _sarif(synthetic_report(project), sub)["runs"][0]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert "pkg/layers.py" in uris  # relative to the repository, not the working directory


def test_sarif_levels_rules_and_crashes(project: Path) -> None:
    run = _sarif(synthetic_report(project), project)["runs"][0]
    levels = {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]): r["level"] for r in run["results"]}
    assert levels[("GL101", 6)] == "warning" and levels[("GL101", 10)] == "error"
    rule = next(rule for rule in run["tool"]["driver"]["rules"] if rule["id"] == "GL101")
    assert rule["helpUri"] == registry.RULES["GL101"].url
    assert rule["help"]["markdown"] == registry.load_rule("GL101").documentation()
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "rule GL101 failed" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    fixed = next(r for r in run["results"] if "fixes" in r)
    replacement = fixed["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["deletedRegion"] == {"startLine": 8, "startColumn": 13, "endLine": 10, "endColumn": 39}


def _fingerprints(source: str, rows: list[int], root: Path) -> list[str]:
    filename = str(root / "f.py")
    found = tuple(_diagnostic("GL101", filename, (row, 1), (row, 2), "m") for row in rows)
    run = _sarif(Report((FileReport(filename, found, source=source),)), root)["runs"][0]
    by_row = {r["locations"][0]["physicalLocation"]["region"]["startLine"]: r["partialFingerprints"]["primaryLocationLineHash"] for r in run["results"]}
    return [by_row[row] for row in rows]


def test_fingerprints_survive_moves_and_whitespace_and_count_repeats(project: Path) -> None:
    source = "a = 1\nJ[i][j] = x\nb = 2\nJ[i][j] = x\n"
    first, repeat = _fingerprints(source, [2, 4], project)
    assert first.split(":")[1] == "1" and repeat.split(":")[1] == "2"
    assert first.split(":")[0] == repeat.split(":")[0]
    moved = _fingerprints("# a new comment\n\na = 1\n    J[i][j]  =  x\n", [4], project)[0]
    assert moved == first  # lines added above and whitespace changed: the same alert
    other = _fingerprints("J[i][j] = y\n", [1], project)[0]
    assert other.split(":")[0] != first.split(":")[0]
    assert re.fullmatch(r"[0-9a-f]{16}:1", other)


# --- emit: crashes and stdout purity -------------------------------------------------


def test_emit_keeps_stdout_pure_json_and_reports_crashes_on_stderr(project: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = emit(synthetic_report(project), "json", out, err, root=project)
    assert code == 2
    _strict_loads(out.getvalue())
    assert err.getvalue().count("rule GL101 failed on") == 1
    assert str(project / "pkg" / "wide.py") in err.getvalue()
