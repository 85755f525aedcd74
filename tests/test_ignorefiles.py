"""Discovery skips what git ignores (`respect-gitignore`, as in ruff), and `.ignore` files."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gradlint.files import discover
from gradlint.settings import Overrides, load_settings

from tests.test_settings import run, write


@pytest.fixture(autouse=True)
def no_user_git_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of our own: the user's global excludes file must not leak into the tests."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return home


def _found(root: Path, overrides: "Overrides | None" = None, paths: "list[Path] | None" = None) -> list[str]:
    paths = paths or [root]
    settings = load_settings(overrides or Overrides(), cwd=root, paths=[str(p) for p in paths])
    return sorted(Path(f).relative_to(root).as_posix() for f in discover(paths, settings).files)


def _tree(root: Path, names: list[str]) -> None:
    for name in names:
        write(root / name, "x = 1\n")


def test_gitignore_in_a_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".gitignore", "generated/\n*_pb2.py\n!keep_pb2.py\n/top_only.py\n# a comment\n")
    write(tmp_path / "sub" / ".gitignore", "!generated/\nlocal.py\n")
    _tree(tmp_path, [
        "a.py", "generated/g.py", "x_pb2.py", "keep_pb2.py", "top_only.py", "sub/top_only.py",
        "sub/generated/g.py", "sub/local.py", "local.py", "sub/deep/x_pb2.py",
    ])
    assert _found(tmp_path) == ["a.py", "keep_pb2.py", "local.py", "sub/generated/g.py", "sub/top_only.py"]


def test_gitignore_outside_a_repository_is_not_read_but_dot_ignore_is(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "*.py\n")
    write(tmp_path / "sub" / ".ignore", "skipped.py\n")
    _tree(tmp_path, ["a.py", "sub/skipped.py", "sub/kept.py"])
    assert _found(tmp_path) == ["a.py", "sub/kept.py"]


def test_dot_ignore_overrides_gitignore_in_the_same_folder(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".gitignore", "*.py\n")
    write(tmp_path / ".ignore", "!wanted.py\n")
    _tree(tmp_path, ["wanted.py", "other.py"])
    assert _found(tmp_path) == ["wanted.py"]


def test_info_exclude_and_the_global_excludes_file(tmp_path: Path, no_user_git_config: Path) -> None:
    repo = tmp_path / "repo"
    write(repo / ".git" / "info" / "exclude", "private.py\n")
    write(no_user_git_config / ".config" / "git" / "ignore", "scratch_*.py\n")
    _tree(repo, ["a.py", "private.py", "scratch_1.py", "sub/scratch_2.py"])
    assert _found(repo) == ["a.py"]
    write(no_user_git_config / "global-ignore", "a.py\n")
    write(no_user_git_config / ".gitconfig", '[user]\n\tname = x\n[core]\n\texcludesFile = "~/global-ignore"\n')
    assert _found(repo) == ["scratch_1.py", "sub/scratch_2.py"]


def test_gitignore_above_the_checked_folder_applies(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".gitignore", "src/gen/\n")
    _tree(tmp_path, ["src/a.py", "src/gen/g.py"])
    assert _found(tmp_path, paths=[tmp_path / "src"]) == ["src/a.py"]


def test_a_nested_repository_starts_afresh(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".gitignore", "vendored.py\n")
    (tmp_path / "inner" / ".git").mkdir(parents=True)
    _tree(tmp_path, ["vendored.py", "inner/vendored.py"])
    assert _found(tmp_path) == ["inner/vendored.py"]


def test_turned_off_and_named_files(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".gitignore", "ignored.py\n")
    _tree(tmp_path, ["ignored.py", "a.py"])
    assert _found(tmp_path, Overrides(respect_gitignore=False)) == ["a.py", "ignored.py"]
    assert _found(tmp_path, paths=[tmp_path / "ignored.py"]) == ["ignored.py"]  # named: checked, as in ruff
    write(tmp_path / "pyproject.toml", "[tool.gradlint]\nrespect-gitignore = false\n")
    assert _found(tmp_path) == ["a.py", "ignored.py"]
    assert _found(tmp_path, Overrides(respect_gitignore=True)) == ["a.py"]
    code, out, _ = run(["check", "--no-cache", "--no-respect-gitignore", "--show-settings"], tmp_path)
    assert code == 0 and "respect-gitignore: false" in out
    write(tmp_path / "pyproject.toml", '[tool.gradlint]\nrespect-gitignore = "no"\n')
    code, _, err = run(["check", "."], tmp_path)
    assert code == 2 and "respect-gitignore must be true or false" in err


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_same_files_as_git(tmp_path: Path) -> None:
    """git itself is the oracle: the .py files it does not ignore are the ones discovery finds."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path / ".gitignore", "*.gen.py\nbuild*/\n!build_keep/\n/rootonly.py\ndocs/**/tmp/\n[Aa]rchive/\nsp\\ ace.py\n")
    write(tmp_path / "pkg" / ".gitignore", "!special.gen.py\nrootonly.py\n*.py\n!*_wanted.py\n")
    write(tmp_path / "pkg" / "sub" / ".gitignore", "!keep_me.py\n")
    write(tmp_path / ".git" / "info" / "exclude", "mine.py\n")
    _tree(tmp_path, [
        "a.py", "b.gen.py", "build1/x.py", "build_keep/x.py", "rootonly.py", "docs/a/tmp/x.py", "docs/tmp/y.py",
        "docs/ok.py", "Archive/z.py", "archive/z.py", "sp ace.py", "mine.py", "pkg/special.gen.py", "pkg/rootonly.py",
        "pkg/x.py", "pkg/x_wanted.py", "pkg/sub/keep_me.py", "pkg/sub/other.py", "pkg/sub/deep/keep_me.py",
    ])
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}
    command = ["git", "ls-files", "--others", "--exclude-standard", "--", "*.py"]
    listed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=True, env=env).stdout.splitlines()
    expected = sorted(name.strip('"') for name in listed if not name.startswith(".git"))
    assert _found(tmp_path) == expected
    assert "a.py" in expected and "b.gen.py" not in expected  # the oracle itself says something


def test_show_files_lists_what_would_be_checked(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".gitignore", "ignored.py\n")
    _tree(tmp_path, ["ignored.py", "a.py", "sub/b.py", "build/c.py"])
    code, out, err = run(["check", "--show-files"], tmp_path)
    assert code == 0 and err == ""
    assert out.splitlines() == [str(tmp_path / "a.py"), str(tmp_path / "sub" / "b.py")]
    code, out, err = run(["check", "--show-files", "a.py", "missing.py"], tmp_path)
    assert code == 2 and out.splitlines() == [str(tmp_path / "a.py")]
    assert "missing.py: no such file or directory" in err


def test_patterns_git_passes_over_do_not_break_discovery(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".gitignore", "!\n\\\\\n[z-a]\n[[:alpha:]x\nb.py\ntrail\\\\\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_bytes(b"\xff\xfe\x00c.py\nc.py\n")
    _tree(tmp_path, ["a.py", "b.py", "sub/c.py", "sub/d.py"])
    code, out, err = run(["check", "--show-files"], tmp_path)
    assert code == 0 and err == ""
    assert [Path(line).relative_to(tmp_path).as_posix() for line in out.splitlines()] == ["a.py", "sub/d.py"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_an_ignore_file_that_is_not_a_regular_file_is_passed_over(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".ignore")  # reading it would block forever
    (tmp_path / "sub" / ".gitignore").mkdir(parents=True)  # a folder of that name
    _tree(tmp_path, ["a.py", "sub/b.py"])
    assert _found(tmp_path) == ["a.py", "sub/b.py"]


def test_exclude_and_extend_exclude_on_the_command_line(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.gradlint]\nextend-exclude = ["legacy"]\n')
    _tree(tmp_path, ["a.py", "legacy/l.py", "gen/g.py", "sub/gen/g.py", "build/b.py"])

    def shown(*options: str) -> list[str]:
        code, out, err = run(["check", "--show-files", *options], tmp_path)
        assert code == 0, err
        return sorted(Path(line).relative_to(tmp_path).as_posix() for line in out.splitlines())

    assert shown() == ["a.py", "gen/g.py", "sub/gen/g.py"]
    assert shown("--extend-exclude", "gen/*") == ["a.py", "sub/gen/g.py"]  # relative to the current directory
    assert shown("--extend-exclude", "gen") == ["a.py"]  # a name: anywhere
    # replaces `exclude` (the defaults here); the configuration's extend-exclude still adds to it, as in ruff
    assert shown("--exclude", "gen") == ["a.py", "build/b.py"]
    code, out, _ = run(["check", "--show-files", "--extend-exclude", "gen/*", ".."], tmp_path / "sub")
    assert sorted(Path(line).relative_to(tmp_path).as_posix() for line in out.splitlines()) == ["a.py", "gen/g.py"]


def test_the_repository_configuration_names_the_excludes_file_first(tmp_path: Path, no_user_git_config: Path) -> None:
    repo = tmp_path / "repo"
    write(no_user_git_config / "user-ignore", "a.py\n")
    write(no_user_git_config / ".gitconfig", "[core]\n\texcludesfile = ~/user-ignore\n")
    write(repo / "repo-ignore", "b.py\n")
    write(repo / ".git" / "config", f"[core]\n\tbare = false\n\texcludesFile = {repo / 'repo-ignore'}\n")
    _tree(repo, ["a.py", "b.py", "c.py"])
    assert _found(repo) == ["a.py", "c.py"]


def test_a_named_folder_that_an_ignore_file_above_ignores_is_walked(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".gitignore", "/versions\n")
    _tree(tmp_path, ["a.py", "versions/3.11/lib/os.py", "versions/3.11/lib/json/decoder.py"])
    assert _found(tmp_path) == ["a.py"]  # walked from the top, versions/ is ignored
    lib = tmp_path / "versions" / "3.11" / "lib"
    assert _found(tmp_path, paths=[lib]) == ["versions/3.11/lib/json/decoder.py", "versions/3.11/lib/os.py"]  # as ruff does
