"""Hierarchical configuration, as in ruff: each file is checked with the configuration file nearest
to it (a sub-project's own file replaces the run's below its folder; the files are not merged),
with the same command-line options on top; `--config` and `--isolated` turn it off."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gradlint import api, parallel
from gradlint.settings import Overrides, SettingsError, load_settings

from tests.test_settings import BUG_ROW, BUGGY, run, write


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """A repository whose `sub` project has its own configuration, and the same bug in three places."""
    write(tmp_path / "pyproject.toml", '[tool.gradlint]\nextend-exclude = ["generated"]\n')
    write(tmp_path / "top.py", BUGGY)
    write(tmp_path / "sub" / "pyproject.toml", '[tool.gradlint]\nignore = ["GL101"]\nextend-exclude = ["vendored/*.py"]\n')
    write(tmp_path / "sub" / "inner.py", BUGGY)
    write(tmp_path / "sub" / "deeper" / "more.py", BUGGY)
    write(tmp_path / "sub" / "vendored" / "lib.py", BUGGY)
    write(tmp_path / "vendored" / "lib.py", BUGGY)
    write(tmp_path / "sub" / "generated" / "gen.py", BUGGY)
    return tmp_path


def _findings(report: api.Report, root: Path) -> list[tuple[str, str]]:
    return sorted((Path(d.filename).relative_to(root).as_posix(), d.code) for d in report.diagnostics)


def _checked(report: api.Report, root: Path) -> list[str]:
    return sorted(Path(r.filename).relative_to(root).as_posix() for r in report.files)


def test_the_nearest_configuration_governs_each_file(monorepo: Path) -> None:
    settings = load_settings(cwd=monorepo, paths=[str(monorepo)])
    report = api.check_paths([monorepo], settings)
    # sub/ ignores GL101 (in sub/deeper too), and its exclude is relative to its own folder
    assert _findings(report, monorepo) == [("top.py", "GL101"), ("vendored/lib.py", "GL101")]
    # not merged: the root's extend-exclude does not reach sub/, whose own file replaces it
    assert "sub/generated/gen.py" in _checked(report, monorepo)
    assert "sub/vendored/lib.py" not in _checked(report, monorepo)
    assert settings.for_file(monorepo / "sub" / "deeper" / "more.py").config_path == monorepo / "sub" / "pyproject.toml"
    assert settings.for_file(monorepo / "top.py") is settings


def test_named_files_of_two_projects_as_pre_commit_passes_them(monorepo: Path) -> None:
    files = [str(monorepo / "top.py"), str(monorepo / "sub" / "inner.py")]
    code, out, err = run(["check", "--output-format", "json", "--no-cache", *files], monorepo)
    assert code == 1, err
    assert [(Path(d["filename"]).name, d["code"], d["location"]["row"]) for d in json.loads(out)] == [("top.py", "GL101", BUG_ROW)]


def test_a_pyproject_without_a_gradlint_table_is_passed_over(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.gradlint]\nignore = ["GL101"]\n')
    write(tmp_path / "sub" / "pyproject.toml", '[project]\nname = "sub"\n')
    write(tmp_path / "sub" / "inner.py", BUGGY)
    settings = load_settings(cwd=tmp_path, paths=[str(tmp_path)])
    assert api.check_paths([tmp_path], settings).diagnostics == []
    assert settings.for_file(tmp_path / "sub" / "inner.py") is settings


def test_the_command_line_applies_under_every_configuration(monorepo: Path) -> None:
    settings = load_settings(Overrides(select=("GL101",)), cwd=monorepo, paths=[str(monorepo)])
    findings = _findings(api.check_paths([monorepo], settings), monorepo)
    assert ("sub/inner.py", "GL101") in findings and ("sub/deeper/more.py", "GL101") in findings
    ignoring = load_settings(Overrides(ignore=("GL101",)), cwd=monorepo, paths=[str(monorepo)])
    assert _findings(api.check_paths([monorepo], ignoring), monorepo) == []


@pytest.mark.parametrize("overrides", [Overrides(config="pyproject.toml"), Overrides(isolated=True)])
def test_config_and_isolated_apply_one_configuration_to_every_file(monorepo: Path, overrides: Overrides) -> None:
    settings = load_settings(overrides, cwd=monorepo, paths=[str(monorepo)])
    assert settings.for_file(monorepo / "sub" / "inner.py") is settings
    findings = _findings(api.check_paths([monorepo], settings), monorepo)
    assert ("sub/inner.py", "GL101") in findings and ("sub/vendored/lib.py", "GL101") in findings


def test_a_run_inside_the_sub_project_uses_its_file(monorepo: Path) -> None:
    code, out, err = run(["check", "--output-format", "json", "--no-cache", "."], monorepo / "sub")
    assert code == 0, (out, err)


def test_a_broken_nested_configuration_stops_the_run_with_its_name(monorepo: Path) -> None:
    write(monorepo / "sub" / "deeper" / ".gradlint.toml", 'selct = ["GL1"]\n')
    code, out, err = run(["check", "--no-cache", "."], monorepo)
    assert code == 2 and out == ""
    assert "deeper/.gradlint.toml" in err.replace(os.sep, "/") and "unknown option 'selct'" in err
    with pytest.raises(SettingsError):
        api.check_paths([monorepo], load_settings(cwd=monorepo, paths=[str(monorepo)]))


def test_show_settings_of_a_path_shows_its_configuration(monorepo: Path) -> None:
    code, out, _ = run(["check", "--show-settings", "sub/deeper/more.py"], monorepo)
    assert code == 0
    assert f"config file: {monorepo / 'sub' / 'pyproject.toml'}" in out and "ignore=['GL101']" in out
    code, out, _ = run(["check", "--show-settings", "."], monorepo)
    assert f"config file: {monorepo / 'pyproject.toml'}" in out and "nested config files" in out


def test_the_cache_is_keyed_on_the_nested_configuration(monorepo: Path) -> None:
    def findings() -> list[tuple[str, str]]:
        settings = load_settings(cwd=monorepo, paths=[str(monorepo)])
        return _findings(api.check_paths([monorepo], settings, cache=True), monorepo)

    cold = findings()
    assert findings() == cold  # warm
    write(monorepo / "sub" / "pyproject.toml", "[tool.gradlint]\n")  # the run's own settings are unchanged
    after = findings()
    assert ("sub/inner.py", "GL101") in after and ("sub/deeper/more.py", "GL101") in after
    assert findings() == after


@pytest.mark.parametrize("scan_in_workers", [False, True])
def test_workers_use_the_nested_configuration(monorepo: Path, monkeypatch: pytest.MonkeyPatch, scan_in_workers: bool) -> None:
    serial = _findings(api.check_paths([monorepo], load_settings(cwd=monorepo, paths=[str(monorepo)]), jobs=1), monorepo)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 1)
    if scan_in_workers:
        monkeypatch.setattr(parallel, "PARALLEL_SCAN_MIN_BYTES", 0)
        monkeypatch.setattr(parallel, "SCAN_CHUNK_FILES", 1)
    settings = load_settings(cwd=monorepo, paths=[str(monorepo)])
    assert _findings(api.check_paths([monorepo], settings, jobs=2), monorepo) == serial


def test_runtime_timeout_comes_from_the_nearest_configuration(monorepo: Path) -> None:
    write(monorepo / "sub" / "pyproject.toml", "[tool.gradlint]\nruntime-timeout = 3\n")
    settings = load_settings(cwd=monorepo, paths=[str(monorepo)])
    assert settings.for_file(monorepo / "sub" / "inner.py").runtime_timeout == 3.0
    given = load_settings(Overrides(runtime_timeout=7), cwd=monorepo, paths=[str(monorepo)])  # --runtime-timeout 7
    assert given.for_file(monorepo / "sub" / "inner.py").runtime_timeout == 7.0


# -- `extend`: a configuration file built on another ------------------------------------------


def test_extend_inherits_and_overrides(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """\
        [tool.gradlint]
        ignore = ["GL3"]
        extend-exclude = ["legacy/*.py"]
        runtime-timeout = 4
        [tool.gradlint.per-file-ignores]
        "**/test_*.py" = ["GL101"]
        """,
    )
    write(tmp_path / "sub" / "pyproject.toml", '[tool.gradlint]\nextend = "../pyproject.toml"\nextend-select = ["GL301"]\n')
    settings = load_settings(cwd=tmp_path, paths=[str(tmp_path / "sub")])
    assert settings.config_path == tmp_path / "sub" / "pyproject.toml"
    assert "GL301" in settings.enabled and "GL302" not in settings.enabled  # the base's ignore, then its extend-select
    assert settings.runtime_timeout == 4.0
    # the base's folder-relative patterns stay relative to the base's folder
    assert settings.is_excluded(tmp_path / "legacy" / "old.py") and not settings.is_excluded(tmp_path / "sub" / "legacy" / "old.py")
    assert "GL101" not in settings.codes_for(str(tmp_path / "sub" / "test_x.py"))
    assert "GL101" not in settings.codes_for(str(tmp_path / "sub" / "deep" / "test_x.py"))
    assert "GL101" in settings.codes_for(str(tmp_path / "sub" / "x.py"))
    write(tmp_path / "sub" / "pyproject.toml", '[tool.gradlint]\nextend = "../pyproject.toml"\nselect = ["ALL"]\nper-file-ignores = {}\n')
    replaced = load_settings(cwd=tmp_path, paths=[str(tmp_path / "sub")])
    assert "GL302" in replaced.enabled and "GL101" in replaced.codes_for(str(tmp_path / "sub" / "test_x.py"))


def test_a_nested_file_extending_the_root_in_a_run_from_the_root(monorepo: Path) -> None:
    write(monorepo / "pyproject.toml", '[tool.gradlint]\nignore = ["GL104"]\nextend-exclude = ["generated"]\n')
    write(monorepo / "sub" / "pyproject.toml", '[tool.gradlint]\nextend = "../pyproject.toml"\nextend-exclude = ["vendored/*.py"]\n')
    settings = load_settings(cwd=monorepo, paths=[str(monorepo)])
    checked = _checked(api.check_paths([monorepo], settings), monorepo)
    assert "sub/generated/gen.py" not in checked and "sub/vendored/lib.py" not in checked and "vendored/lib.py" in checked
    assert "GL104" not in settings.codes_for(str(monorepo / "sub" / "inner.py"))
    code, out, _ = run(["check", "--show-settings", "sub"], monorepo)
    assert code == 0 and f"selection (extended {monorepo / 'pyproject.toml'}): ignore=['GL104']" in out


@pytest.mark.parametrize(
    ("extend", "message"),
    [
        ('"missing.toml"', "missing.toml is not a file"),
        ("3", "extend must be the path of a configuration file, not an integer 3"),
        ('"pyproject.toml"', "extend makes a cycle"),
        ('"other/gradlint.toml"', "extend makes a cycle"),
    ],
)
def test_bad_extend_is_a_clear_error(tmp_path: Path, extend: str, message: str) -> None:
    write(tmp_path / "pyproject.toml", f"[tool.gradlint]\nextend = {extend}\n")
    write(tmp_path / "other" / "gradlint.toml", 'extend = "../pyproject.toml"\n')
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        load_settings(cwd=tmp_path)
    code, out, err = run(["check", "."], tmp_path)
    assert code == 2 and message in err
