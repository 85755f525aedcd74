"""Configuration: discovery of the nearest config file, validation, selection, CLI overrides."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradlint import registry
from gradlint.api import check_paths
from gradlint.cli import app
from gradlint.settings import (
    DEFAULT_EXCLUDE,
    Overrides,
    RuleSelection,
    Settings,
    SettingsError,
    find_config,
    load_settings,
    resolve_layers,
)

BUGGY = textwrap.dedent(
    """\
    import numpy as np

    def softmax_prime(s):
        n = len(s)
        J = np.zeros((n, n))
        for i in range(n):
            for j in range(n):
                if i == j:
                    J[i][j] = s[i] * (1 - s[i])
                J[i][j] = -s[i] * s[j]
        return J
    """
)
BUG_ROW = 10


def cli_runner() -> CliRunner:
    """A runner that keeps stderr apart from stdout (click < 8.2 needs asking)."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def run(args: list[str], cwd: Path, stdin: str = "") -> "tuple[int, str, str]":
    """Run the CLI in-process from `cwd`; (exit code, stdout, stderr)."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = cli_runner().invoke(app, args, input=stdin)
    finally:
        os.chdir(old)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def codes_of(settings: Settings) -> set[str]:
    return set(settings.enabled)


def _codes_with(severity: str) -> "set[str]":
    """The codes some of whose findings have `severity` (GL301, a warning rule, has error findings too)."""
    rules = [registry.load_rule(code) for code in registry.all_codes()]
    return {rule.code for rule in rules if severity in {rule.severity.value, *(other.value for other in rule.other_severities)}}


ERROR_CODES = _codes_with("error")
WARNING_CODES = _codes_with("warning")
# Every rule but GL003 (unused-noqa), which is asked for, as ruff's RUF100 is.
DEFAULT_CODES = set(registry.all_codes()) - {"GL003"}


# -- discovery of the configuration file ---------------------------------------


def test_nearest_pyproject_with_table_wins(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.gradlint]\nignore = ['GL101']\n")
    write(tmp_path / "sub" / "pyproject.toml", "[tool.gradlint]\nselect = ['GL1']\n")
    write(tmp_path / "sub" / "deeper" / "pyproject.toml", "[project]\nname = 'x'\n")  # no table: passed over
    (tmp_path / "sub" / "deeper" / "pkg").mkdir()
    assert find_config(tmp_path / "sub" / "deeper" / "pkg") == tmp_path / "sub" / "pyproject.toml"
    assert find_config(tmp_path) == tmp_path / "pyproject.toml"


def test_gradlint_toml_takes_precedence_in_the_same_folder(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.gradlint]\nignore = ['GL101']\n")
    write(tmp_path / "gradlint.toml", "select = ['GL101']\n")
    assert find_config(tmp_path) == tmp_path / "gradlint.toml"
    write(tmp_path / ".gradlint.toml", "select = ['GL001']\n")
    assert find_config(tmp_path) == tmp_path / ".gradlint.toml"
    settings = load_settings(cwd=tmp_path)
    assert settings.config_path == tmp_path / ".gradlint.toml"
    assert codes_of(settings) == {"GL001"}


def test_no_config_anywhere_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(Overrides(isolated=True), cwd=tmp_path)
    assert settings.config_path is None
    assert settings.project_root == tmp_path
    assert codes_of(settings) == DEFAULT_CODES
    assert codes_of(Settings()) == DEFAULT_CODES
    assert codes_of(Settings(select=("ALL",))) == set(registry.all_codes())
    assert codes_of(load_settings(Overrides(extend_select=("GL003",)), cwd=tmp_path)) == set(registry.all_codes())
    assert settings.exclude == DEFAULT_EXCLUDE


def test_config_is_found_from_the_checked_path_not_only_the_cwd(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project / "pyproject.toml", "[tool.gradlint]\nignore = ['GL101']\n")
    write(project / "src" / "net.py", BUGGY)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    settings = load_settings(cwd=elsewhere, paths=[str(project / "src")])
    assert settings.config_path == project / "pyproject.toml"
    code, out, _ = run(["check", str(project / "src")], cwd=elsewhere)
    assert (code, out.strip()) == (0, "All checks passed!")


def test_config_for_stdin_is_found_from_stdin_filename(tmp_path: Path) -> None:
    write(tmp_path / "project" / "gradlint.toml", "ignore = ['GL101']\n")
    settings = load_settings(cwd=tmp_path, paths=["-"], stdin_filename=str(tmp_path / "project" / "a.py"))
    assert settings.config_path == tmp_path / "project" / "gradlint.toml"


def test_explicit_config_option(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.gradlint]\nignore = ['GL101']\n")
    write(tmp_path / "ci" / "strict.toml", "select = ['GL101']\n")
    settings = load_settings(Overrides(config="ci/strict.toml"), cwd=tmp_path)
    assert settings.config_path == tmp_path / "ci" / "strict.toml"
    assert settings.project_root == tmp_path  # as ruff: --config's file is read from the current directory
    assert codes_of(settings) == {"GL101"}
    with pytest.raises(SettingsError, match="configuration file not found"):
        load_settings(Overrides(config="missing.toml"), cwd=tmp_path)


# -- validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[tool.gradlint]\nselekt = ['GL1']\n", r"\[tool.gradlint\] unknown option 'selekt' \(did you mean 'select'\?\)"),
        ("[tool.gradlint]\nextend_select = ['GL1']\n", r"did you mean 'extend-select'"),
        ("[tool.gradlint]\nselect = 'GL101'\n", r"\[tool.gradlint\] select must be a list of strings, not a string"),
        ("[tool.gradlint]\nignore = [101]\n", r"ignore must be a list of strings"),
        ("[tool.gradlint]\nselect = ['GL999']\n", r"\[tool.gradlint\] select: unknown rule selector 'GL999'"),
        ("[tool.gradlint]\nextend-select = ['E501']\n", r"extend-select: unknown rule selector 'E501'"),
        ("[tool.gradlint]\nselect = ['']\n", r"select: an empty rule selector"),  # once meant ALL (every code starts with '')
        ("[tool.gradlint]\nignore = [' ']\n", r"ignore: an empty rule selector"),
        ("[tool.gradlint.per-file-ignores]\n'tests/*' = ['GL09']\n", r"per-file-ignores 'tests/\*': unknown rule selector 'GL09'"),
        ("[tool.gradlint]\nper-file-ignores = ['x']\n", r"per-file-ignores must be a table"),
        ("[tool.gradlint.per-file-ignores]\n'x.py' = 'GL101'\n", r"per-file-ignores 'x.py' must be a list of strings"),
        ("[tool.gradlint]\nruntime-timeout = -1\n", r"runtime-timeout must be a number of seconds from 0.001 to 86400"),
        ("[tool.gradlint]\nruntime-timeout = 'fast'\n", r"runtime-timeout must be a number of seconds from 0.001 to 86400"),
        ("[tool.gradlint]\nruntime-timeout = inf\n", r"runtime-timeout must be a number of seconds .* not inf"),
        ("[tool.gradlint]\nruntime-timeout = 1e300\n", r"runtime-timeout must be a number of seconds"),
        ("[tool.gradlint]\nruntime-timeout = nan\n", r"runtime-timeout must be a number of seconds"),
        ("[tool.gradlint]\nforce-exclude = 'yes'\n", r"force-exclude must be true or false"),
        ("[tool.gradlint]\nselect = [\n", r"invalid TOML"),
        ("[tool]\ngradlint = 3\n", r"\[tool.gradlint\] must be a table"),
    ],
)
def test_bad_configuration_is_a_clear_error_naming_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    config = write(tmp_path / "pyproject.toml", text)
    with pytest.raises(SettingsError, match=expected) as error:
        load_settings(cwd=tmp_path)
    assert str(config) in str(error.value)


def test_gradlint_toml_must_not_wrap_options_in_a_tool_table(tmp_path: Path) -> None:
    write(tmp_path / "gradlint.toml", "[tool.gradlint]\nselect = ['GL1']\n")
    with pytest.raises(SettingsError, match="takes its options at the top level"):
        load_settings(cwd=tmp_path)


def test_undecodable_config_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "gradlint.toml").write_bytes(b"select = ['\xff']\n")
    with pytest.raises(SettingsError, match="not valid UTF-8"):
        load_settings(cwd=tmp_path)


def test_bad_configuration_exits_2_without_traceback(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.gradlint]\nselect = ['GL999']\n")
    write(tmp_path / "a.py", "x = 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "gradlint", "check", "a.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"gradlint: error: {tmp_path / 'pyproject.toml'}: [tool.gradlint] select: unknown rule selector 'GL999'" in result.stderr
    assert result.stdout == ""


def test_unknown_cli_selector_exits_2(tmp_path: Path) -> None:
    code, out, err = run(["check", "--isolated", "--select", "GL09", "."], cwd=tmp_path)
    assert code == 2
    assert "--select: unknown rule selector 'GL09'" in err


# -- selection ------------------------------------------------------------------


def test_most_specific_selector_wins_and_ignore_wins_ties() -> None:
    assert resolve_layers([RuleSelection(select=("GL1",), ignore=("GL101",))]) == set(registry.codes_matching("GL1")) - {"GL101"}
    assert resolve_layers([RuleSelection(select=("GL101",), ignore=("GL1",))]) == {"GL101"}
    assert resolve_layers([RuleSelection(select=("GL101",), ignore=("GL101",))]) == set()


def test_severity_selectors() -> None:
    assert ERROR_CODES and WARNING_CODES, "needs at least one error and one warning rule registered"
    assert codes_of(Settings(select=("error",))) == ERROR_CODES
    assert codes_of(Settings(select=("warning",))) == WARNING_CODES
    assert codes_of(Settings(select=("ALL",), ignore=("warning",))) == ERROR_CODES
    # A code is more specific than a severity: `warning` off, one warning rule back on.
    one_warning = sorted(WARNING_CODES)[0]
    assert codes_of(Settings(ignore=("warning",), extend_select=(one_warning,))) == ERROR_CODES | {one_warning}
    assert codes_of(Settings(select=("ERROR",))) == ERROR_CODES  # case-insensitive


def test_severity_selection_in_config_file(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.gradlint]\nselect = ['error']\n")
    assert codes_of(load_settings(cwd=tmp_path)) == ERROR_CODES
    write(tmp_path / "pyproject.toml", "[tool.gradlint]\nignore = ['warning']\n")
    assert codes_of(load_settings(cwd=tmp_path)) == ERROR_CODES


def test_cli_overrides_config_like_ruff(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.gradlint]\nselect = ['GL1']\nignore = ['GL101']\n")
    config_only = codes_of(load_settings(cwd=tmp_path))
    assert config_only == set(registry.codes_matching("GL1")) - {"GL101"}
    # --select replaces the configuration's selection, its ignores included.
    assert codes_of(load_settings(Overrides(select=("GL101",)), cwd=tmp_path)) == {"GL101"}
    # --extend-select adds to it, --ignore removes from it.
    assert codes_of(load_settings(Overrides(extend_select=("GL001", "GL101")), cwd=tmp_path)) == config_only | {"GL001", "GL101"}
    assert codes_of(load_settings(Overrides(ignore=("GL1",)), cwd=tmp_path)) == set()


def test_config_extend_select_and_ignore_apply_on_top_of_defaults(tmp_path: Path) -> None:
    write(tmp_path / "gradlint.toml", "ignore = ['GL0']\n")
    assert codes_of(load_settings(cwd=tmp_path)) == DEFAULT_CODES - {"GL001", "GL002"}


def test_cli_select_and_ignore_on_a_real_run(tmp_path: Path) -> None:
    write(tmp_path / "net.py", BUGGY)
    assert run(["check", "--isolated", "net.py"], tmp_path)[0] == 1
    assert run(["check", "--isolated", "--ignore", "GL101", "net.py"], tmp_path)[0] == 0
    assert run(["check", "--isolated", "--select", "GL0", "net.py"], tmp_path)[0] == 0
    assert run(["check", "--isolated", "--select", "GL0", "--extend-select", "GL1", "net.py"], tmp_path)[0] == 1
    assert run(["check", "--isolated", "--select", "GL0,GL101", "net.py"], tmp_path)[0] == 1  # comma lists
    assert run(["check", "--isolated", "--select", "warning", "net.py"], tmp_path)[0] == 0
    assert run(["check", "--isolated", "--select", "error", "net.py"], tmp_path)[0] == 1


# -- per-file-ignores and excludes ---------------------------------------------------


def test_per_file_ignores_globs(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """\
        [tool.gradlint.per-file-ignores]
        "tests/*" = ["GL101"]
        "**/legacy_*.py" = ["GL1"]
        "scratch" = ["ALL"]
        "__init__.py" = ["error"]
        """,
    )
    for name in ("tests/test_net.py", "legacy_net.py", "pkg/legacy_old.py", "scratch/deep/net.py", "pkg/__init__.py", "src/net.py"):
        write(tmp_path / name, BUGGY)
    settings = load_settings(cwd=tmp_path)
    report = check_paths([str(tmp_path)], settings)
    flagged = sorted(Path(d.filename).relative_to(tmp_path).as_posix() for d in report.diagnostics)
    assert flagged == ["src/net.py"]


def test_per_file_ignores_are_relative_to_the_config_folder(tmp_path: Path) -> None:
    write(tmp_path / "project" / "pyproject.toml", '[tool.gradlint.per-file-ignores]\n"src/*" = ["GL101"]\n')
    write(tmp_path / "project" / "src" / "net.py", BUGGY)
    write(tmp_path / "src" / "net.py", BUGGY)  # a `src` outside the project: not matched
    inside = load_settings(cwd=tmp_path / "project")
    assert "GL101" not in inside.codes_for(str(tmp_path / "project" / "src" / "net.py"))
    assert "GL101" in inside.codes_for(str(tmp_path / "src" / "net.py"))
    # Run from a subfolder: the same root (the config file's folder) applies.
    code, out, _ = run(["check", "net.py"], cwd=tmp_path / "project" / "src")
    assert code == 0, out


def test_negated_per_file_ignores(tmp_path: Path) -> None:
    write(tmp_path / "gradlint.toml", '[per-file-ignores]\n"!src/**" = ["GL101"]\n')
    settings = load_settings(cwd=tmp_path)
    assert "GL101" in settings.codes_for(str(tmp_path / "src" / "net.py"))
    assert "GL101" not in settings.codes_for(str(tmp_path / "scripts" / "net.py"))


def test_extend_per_file_ignores_adds(tmp_path: Path) -> None:
    write(
        tmp_path / "gradlint.toml",
        '[per-file-ignores]\n"a.py" = ["GL101"]\n[extend-per-file-ignores]\n"b.py" = ["GL101"]\n',
    )
    settings = load_settings(cwd=tmp_path)
    assert "GL101" not in settings.codes_for(str(tmp_path / "a.py"))
    assert "GL101" not in settings.codes_for(str(tmp_path / "b.py"))
    assert "GL101" in settings.codes_for(str(tmp_path / "c.py"))


def test_per_file_ignores_apply_to_stdin_filename(tmp_path: Path) -> None:
    write(tmp_path / "gradlint.toml", '[per-file-ignores]\n"tests/*" = ["GL101"]\n')
    code, out, _ = run(["check", "-", "--stdin-filename", "tests/test_x.py"], tmp_path, stdin=BUGGY)
    assert code == 0, out
    code, out, _ = run(["check", "-", "--stdin-filename", "src/x.py"], tmp_path, stdin=BUGGY)
    assert code == 1
    assert f"src/x.py:{BUG_ROW}:" in out


def test_exclude_replaces_defaults_and_extend_exclude_adds(tmp_path: Path) -> None:
    write(tmp_path / "gradlint.toml", "exclude = ['generated']\n")
    settings = load_settings(cwd=tmp_path)
    assert settings.exclude == ("generated",)
    assert not settings.is_excluded(tmp_path / "build")
    write(tmp_path / "gradlint.toml", "extend-exclude = ['generated']\n")
    settings = load_settings(cwd=tmp_path)
    assert settings.is_excluded(tmp_path / "build") and settings.is_excluded(tmp_path / "generated")


def test_relative_excludes_are_relative_to_the_config_folder(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project / "pyproject.toml", "[tool.gradlint]\nextend-exclude = ['src/gen', './vendor/', 'notes_*.py']\n")
    write(project / "src" / "gen" / "a.py", BUGGY)
    write(project / "src" / "gen2" / "b.py", BUGGY)
    write(project / "pkg" / "src" / "gen" / "c.py", BUGGY)  # `src/gen` is anchored at the root
    write(project / "vendor" / "d.py", BUGGY)
    write(project / "pkg" / "notes_e.py", BUGGY)
    code, out, _ = run(["check", "."], cwd=project / "src")  # from a subfolder
    assert code == 1
    code, out, _ = run(["check", str(project)], cwd=tmp_path)
    flagged = sorted(line.split(":")[0] for line in out.splitlines() if ":" in line and "GL101" in line)
    assert flagged == sorted(str(Path("project", p)) for p in ("pkg/src/gen/c.py", "src/gen2/b.py"))


def test_force_exclude_in_config(tmp_path: Path) -> None:
    write(tmp_path / "gradlint.toml", "force-exclude = true\nextend-exclude = ['gen']\n")
    write(tmp_path / "gen" / "a.py", BUGGY)
    assert run(["check", "gen/a.py"], tmp_path)[0] == 0
    assert load_settings(cwd=tmp_path).force_exclude


def test_runtime_timeout_setting(tmp_path: Path) -> None:
    write(tmp_path / "gradlint.toml", "runtime-timeout = 2.5\n")
    assert load_settings(cwd=tmp_path).runtime_timeout == 2.5
    write(tmp_path / "gradlint.toml", "runtime-timeout = 3\n")
    assert load_settings(cwd=tmp_path).runtime_timeout == 3.0
    assert load_settings(Overrides(isolated=True), cwd=tmp_path).runtime_timeout == 10.0
    assert load_settings(Overrides(runtime_timeout=7), cwd=tmp_path).runtime_timeout == 7.0
    for given in (float("inf"), 1e300, float("nan"), 0, -1, 1e-9):
        with pytest.raises(SettingsError, match=r"--runtime-timeout must be a number of seconds from 0.001 to 86400"):
            load_settings(Overrides(runtime_timeout=given), cwd=tmp_path)
    assert "runtime-timeout: 7" in run(["check", "--show-settings", "--runtime-timeout", "7"], tmp_path)[1]


# -- --show-settings ----------------------------------------------------------------


def test_show_settings(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """\
        [tool.gradlint]
        select = ["GL1", "GL0"]
        ignore = ["GL101"]
        extend-exclude = ["gen"]
        [tool.gradlint.per-file-ignores]
        "tests/*" = ["GL1"]
        """,
    )
    code, out, err = run(["check", "--show-settings", "--extend-select", "GL101"], tmp_path)
    assert code == 0, err
    assert f"config file: {tmp_path / 'pyproject.toml'}" in out
    assert f"project root: {tmp_path}" in out
    assert "selection (configuration file): select=['GL1', 'GL0'], ignore=['GL101']" in out
    assert "selection (command line): extend-select=['GL101']" in out
    assert "  GL101 overwritten-diagonal (error)" in out
    assert "  GL001 syntax-error (error)" in out
    assert "extend-exclude: ['gen']" in out
    assert "  tests/* = ['GL1']" in out
    code, out, _ = run(["check", "--show-settings", "--ignore", "GL101"], tmp_path)
    assert "GL101" not in out.split("enabled rules")[1].split("exclude:")[0]


def test_show_settings_without_config(tmp_path: Path) -> None:
    code, out, _ = run(["check", "--isolated", "--show-settings"], tmp_path)
    assert code == 0
    assert "config file: none (defaults)" in out
    assert f"enabled rules ({len(DEFAULT_CODES)}):" in out


def test_config_option_on_the_command_line(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.gradlint]\nignore = ['GL101']\n")
    write(tmp_path / "strict.toml", "select = ['GL101']\n")
    write(tmp_path / "net.py", BUGGY)
    assert run(["check", "net.py"], tmp_path)[0] == 0
    code, out, _ = run(["check", "--config", "strict.toml", "net.py"], tmp_path)
    assert code == 1 and f"net.py:{BUG_ROW}:" in out
    code, _, err = run(["check", "--config", "nope.toml", "net.py"], tmp_path)
    assert code == 2 and "configuration file not found" in err
    assert run(["check", "--isolated", "net.py"], tmp_path)[0] == 1


def test_stdin_filename_alone_reads_stdin(tmp_path: Path) -> None:
    code, out, _ = run(["check", "--isolated", "--stdin-filename", "src/net.py"], tmp_path, stdin=BUGGY)
    assert code == 1
    assert f"src/net.py:{BUG_ROW}:" in out


@pytest.mark.parametrize("option", ["--select", "--extend-select", "--ignore"])
def test_an_empty_selector_on_the_command_line_is_refused(tmp_path: Path, option: str) -> None:
    # `--select "$RULES"` with RULES unset once enabled nothing and passed every file
    write(tmp_path / "m.py", BUGGY)
    for value in ("", "GL101,"):
        code, out, err = run(["check", "--no-cache", option, value, "m.py"], tmp_path)
        assert (code, out) == (2, "") and f"{option}: an empty rule selector" in err


UNSTABLE_FIXTURE = (Path(__file__).resolve().parent.parent / "fixtures" / "unstable_softmax.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "select, ignore, severities",
    [
        (None, (), ["warning", "error"]),
        (("error",), (), ["error"]),  # GL301's one-sided shift changes the values: an error finding of a warning rule
        (None, ("warning",), ["error"]),
        (("warning",), (), ["warning"]),
        (("error",), ("GL301",), []),
        (("warning",), (), ["warning"]),
        (("error", "GL301"), (), ["warning", "error"]),  # a code beats a severity
    ],
)
def test_severity_selectors_select_findings_by_their_own_severity(select, ignore, severities) -> None:
    from gradlint.api import check_source

    settings = Settings(select=select, ignore=ignore)
    found = [d for d in check_source(UNSTABLE_FIXTURE, "/nonexistent/m.py", settings).diagnostics if d.code == "GL301"]
    assert [d.severity.value for d in found] == severities
    assert ("GL301" in settings.enabled) == bool(severities)


def test_a_per_file_severity_ignore_drops_only_those_findings(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.gradlint.per-file-ignores]\n'legacy/*' = ['warning']\n")
    write(tmp_path / "legacy" / "m.py", UNSTABLE_FIXTURE)
    write(tmp_path / "m.py", UNSTABLE_FIXTURE)
    settings = load_settings(cwd=tmp_path)
    from gradlint.api import check_paths

    report = check_paths([tmp_path], settings, jobs=1)
    by_file = {Path(r.filename).relative_to(tmp_path).as_posix(): [d.severity.value for d in r.diagnostics if d.code == "GL301"] for r in report.files}
    assert by_file == {"legacy/m.py": ["error"], "m.py": ["warning", "error"]}
    assert "GL301 unstable-softmax (warning), only its error findings" in Settings(select=("error",)).describe()


def test_config_option_patterns_are_relative_to_the_current_directory(tmp_path: Path) -> None:
    # ruff: "any relative paths in that configuration file ... are resolved relative to the
    # current working directory" when it is passed with --config
    write(tmp_path / "cfg" / "gl.toml", "extend-exclude = ['proj/b.py']\n[per-file-ignores]\n'proj/a.py' = ['GL101']\n")
    write(tmp_path / "proj" / "a.py", BUGGY)
    write(tmp_path / "proj" / "b.py", BUGGY)
    write(tmp_path / "proj" / "c.py", BUGGY)
    code, out, _ = run(["check", "--no-cache", "--config", "cfg/gl.toml", "proj"], tmp_path)
    assert "proj/c.py" in out and "proj/a.py" not in out and "proj/b.py" not in out, out


def test_a_pattern_that_climbs_out_with_dotdot_matches(tmp_path: Path) -> None:
    # with --config, patterns are relative to the current directory: `..` patterns become likely
    write(tmp_path / "conf" / "gl.toml", "extend-exclude = ['../src/gen/*']\n")
    write(tmp_path / "src" / "gen" / "m.py", BUGGY)
    write(tmp_path / "src" / "own.py", BUGGY)
    code, out, _ = run(["check", "--no-cache", "--config", "../conf/gl.toml", "--show-files"], tmp_path / "src")
    assert out.splitlines() == [str(tmp_path / "src" / "own.py")]
