"""Discovery and reading: excludes, explicit files, --force-exclude, and every strange file."""

from __future__ import annotations

import codecs
import errno
import os
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradlint import files
from gradlint.api import check_file, check_paths
from gradlint.cli import app
from gradlint.files import decode_source, discover, read_source
from gradlint.settings import DEFAULT_EXCLUDE, Overrides, Settings, load_settings

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


def write(path: Path, text: str = BUGGY) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def settings_for(root: Path, **options: object) -> Settings:
    return Settings(project_root=root, **options)  # type: ignore[arg-type]


def relative(paths: "tuple[Path, ...] | list[Path]", root: Path) -> list[str]:
    return sorted(Path(p).relative_to(root).as_posix() for p in paths)


def run(args: list[str], cwd: Path) -> "tuple[int, str, str]":
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = cli_runner().invoke(app, args)
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


def gl002(report_diagnostics: list) -> list[str]:
    return [d.message for d in report_diagnostics if d.code == "GL002"]


# -- discovery ------------------------------------------------------------------------


def test_default_excludes_are_skipped(tmp_path: Path) -> None:
    for folder in (".git", ".venv", "venv", "build", "dist", "__pycache__", "node_modules", ".tox", ".mypy_cache", "pkg/build"):
        write(tmp_path / folder / "m.py")
    write(tmp_path / "pkg" / "net.py")
    write(tmp_path / "pkg" / "stub.pyi", "x: int\n")
    write(tmp_path / "pkg" / "notes.txt", "not python\n")
    found = discover([tmp_path], settings_for(tmp_path))
    assert relative(found.files, tmp_path) == ["pkg/net.py", "pkg/stub.pyi"]
    assert found.problems == ()
    assert {".git", ".venv", "venv", "build", "dist", "__pycache__", "node_modules", ".tox", ".mypy_cache"} <= set(DEFAULT_EXCLUDE)


def test_exclude_globs_match_names_and_relative_paths(tmp_path: Path) -> None:
    for name in ("a/gen_x.py", "a/keep.py", "b/c/skip.py", "b/keep.py", "d/c/skip.py", "vendored/x.py"):
        write(tmp_path / name)
    settings = settings_for(tmp_path, extend_exclude=("gen_*.py", "b/c", "vendored/"))
    found = discover([tmp_path], settings)
    assert relative(found.files, tmp_path) == ["a/keep.py", "b/keep.py", "d/c/skip.py"]


def test_explicit_file_is_checked_even_if_excluded_unless_force_exclude(tmp_path: Path) -> None:
    target = write(tmp_path / "build" / "gen" / "net.py")
    script = write(tmp_path / "tool", BUGGY)  # no suffix: named explicitly, so checked
    settings = settings_for(tmp_path)
    assert discover([target, script], settings).files == (target, script)
    forced = settings_for(tmp_path, force_exclude=True)
    assert discover([target], forced).files == ()  # excluded through its parent folder `build`
    assert discover([tmp_path / "build"], forced).files == ()
    assert discover([script], forced).files == (script,)


def test_force_exclude_ignores_folders_above_the_project_root(tmp_path: Path) -> None:
    project = tmp_path / "build" / "project"  # the project itself lives under a folder named `build`
    target = write(project / "net.py")
    settings = settings_for(project, force_exclude=True)
    assert discover([target], settings).files == (target,)
    assert relative(discover([project], settings).files, project) == ["net.py"]


def test_force_exclude_on_the_command_line(tmp_path: Path) -> None:
    write(tmp_path / "gradlint.toml", "extend-exclude = ['gen']\n")
    write(tmp_path / "gen" / "net.py")
    assert run(["check", "gen/net.py"], tmp_path)[0] == 1
    code, out, _ = run(["check", "--force-exclude", "gen/net.py"], tmp_path)
    assert code == 0, out


def test_stdin_filename_with_force_exclude(tmp_path: Path) -> None:
    write(tmp_path / "gradlint.toml", "extend-exclude = ['gen']\n")
    runner = cli_runner()
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        excluded = runner.invoke(app, ["check", "--force-exclude", "-", "--stdin-filename", "gen/x.py"], input=BUGGY)
        checked = runner.invoke(app, ["check", "-", "--stdin-filename", "gen/x.py"], input=BUGGY)
    finally:
        os.chdir(old)
    assert excluded.exit_code == 0, excluded.stdout
    assert checked.exit_code == 1 and f"gen/x.py:{BUG_ROW}:" in checked.stdout


def test_duplicates_are_checked_once(tmp_path: Path) -> None:
    target = write(tmp_path / "net.py")
    found = discover([tmp_path, target, str(target)], settings_for(tmp_path))
    assert found.files == (target,)


def test_missing_path_is_a_diagnostic(tmp_path: Path) -> None:
    write(tmp_path / "net.py")
    report = check_paths([tmp_path / "nope.py", tmp_path / "net.py"], settings_for(tmp_path))
    assert [(d.code, d.message) for d in report.problems] == [("GL002", "no such file or directory")]
    assert any(d.code == "GL101" for d in report.diagnostics)  # the run went on


def test_cli_exit_code_for_missing_path(tmp_path: Path) -> None:
    code, out, _ = run(["check", "--isolated", "missing.py"], tmp_path)
    assert code == 1
    assert "missing.py:1:1: GL002 no such file or directory" in out


# -- symlinks ---------------------------------------------------------------------------


def test_symlink_loop_folder_is_walked_once(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "net.py")
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "again")  # pkg/again -> pkg: a loop
    os.symlink(tmp_path, tmp_path / "pkg" / "up")  # pkg/up -> root: a loop through the root
    found = discover([tmp_path], settings_for(tmp_path))
    assert relative(found.files, tmp_path) == ["pkg/net.py"]
    assert found.problems == ()


def test_a_symlinked_folder_is_walked_only_when_named(tmp_path: Path) -> None:
    # as ruff (and git): a link met while walking may lead anywhere (a virtualenv, the whole disk)
    write(tmp_path / "real" / "net.py")
    project = tmp_path / "project"
    write(project / "own.py")
    os.symlink(tmp_path / "real", project / "linked")
    os.symlink(tmp_path / "real" / "net.py", project / "file_link.py")  # a linked file is checked
    assert relative(discover([project], settings_for(project)).files, project) == ["file_link.py", "own.py"]
    assert relative(discover([project / "linked"], settings_for(project)).files, project) == ["linked/net.py"]


def test_symlink_loop_file(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b.py", tmp_path / "a.py")
    os.symlink(tmp_path / "a.py", tmp_path / "b.py")
    report = check_paths([tmp_path], settings_for(tmp_path))
    messages = gl002(report.diagnostics)
    assert len(messages) == 2 and all("symbolic link loop" in m for m in messages)
    explicit = check_paths([tmp_path / "a.py"], settings_for(tmp_path))
    assert "symbolic link loop" in gl002(explicit.diagnostics)[0]


def test_broken_symlinks(tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone.py", tmp_path / "dangling.py")
    os.symlink(tmp_path / "gone_dir", tmp_path / "dangling_dir")
    write(tmp_path / "net.py")
    report = check_paths([tmp_path], settings_for(tmp_path))
    assert gl002(report.diagnostics) == [f"broken symbolic link: its target {str(tmp_path / 'gone.py')!r} does not exist"]
    assert any(d.code == "GL101" for d in report.diagnostics)
    explicit = check_paths([tmp_path / "dangling.py"], settings_for(tmp_path))
    assert "broken symbolic link" in gl002(explicit.diagnostics)[0]


# -- reading and decoding -------------------------------------------------------------------


def test_empty_file_is_clean(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.py", "")
    assert read_source(path).text == ""
    assert check_file(path, settings_for(tmp_path)).diagnostics == ()


def test_huge_file_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "generated.py"
    with open(path, "wb") as handle:
        handle.truncate(files.MAX_FILE_BYTES + 1)  # sparse: no disk space used
    (diagnostic,) = check_file(path, settings_for(tmp_path)).diagnostics
    assert diagnostic.code == "GL002"
    assert diagnostic.message.startswith("file too large to check (10.0 MB; the limit is 10 MB)")
    small = write(tmp_path / "small.py", "x = 1\n")
    assert read_source(small, max_bytes=3).problem is not None
    assert read_source(small, max_bytes=None).text == "x = 1\n"


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "blob.py"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    diagnostics = check_file(path, settings_for(tmp_path)).diagnostics
    assert [(d.code, d.message) for d in diagnostics] == [("GL002", "binary file (contains NUL bytes): not Python source")]


def test_utf16_file(tmp_path: Path) -> None:
    path = tmp_path / "wide.py"
    path.write_bytes(codecs.BOM_UTF16_LE + "x = 1\n".encode("utf-16-le"))
    assert "UTF-16-encoded text" in check_file(path, settings_for(tmp_path)).diagnostics[0].message


def test_undecodable_file_points_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"x = 1\n# caf\xe9\n")
    (diagnostic,) = check_file(path, settings_for(tmp_path)).diagnostics
    assert diagnostic.code == "GL002"
    assert (diagnostic.start.row, diagnostic.start.column) == (2, 6)
    assert "cannot decode as utf-8: byte 0xe9 at row 2, column 6" in diagnostic.message


def test_undecodable_after_a_bom_counts_columns_after_the_bom() -> None:
    result = decode_source(codecs.BOM_UTF8 + b"x = '\xff'\n", "bom.py")
    assert result.problem is not None
    assert (result.problem.start.row, result.problem.start.column) == (1, 6)
    assert "byte 0xff at row 1, column 6" in result.problem.message


def test_coding_cookie_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    source = "# -*- coding: latin-1 -*-\n# café\n" + BUGGY
    path.write_bytes(source.encode("latin-1"))
    read = read_source(path)
    assert read.encoding == "iso-8859-1" and read.text is not None and "café" in read.text
    diagnostics = check_file(path, settings_for(tmp_path)).diagnostics
    assert [(d.code, d.start.row) for d in diagnostics] == [("GL101", BUG_ROW + 2)]


def test_unknown_or_contradicting_coding_cookie(tmp_path: Path) -> None:
    unknown = decode_source(b"# coding: klingon\nx = 1\n", "k.py")
    assert unknown.problem is not None and "unknown encoding" in unknown.problem.message
    contradicting = decode_source(codecs.BOM_UTF8 + b"# coding: latin-1\nx = 1\n", "c.py")
    assert contradicting.problem is not None and "cannot decode" in contradicting.problem.message


def test_bom_is_stripped_and_positions_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "bom.py"
    path.write_bytes(codecs.BOM_UTF8 + BUGGY.encode())
    read = read_source(path)
    assert read.text == BUGGY
    diagnostics = check_file(path, settings_for(tmp_path)).diagnostics
    assert [(d.code, d.start.row, d.start.column) for d in diagnostics] == [("GL101", BUG_ROW, 13)]


@pytest.mark.parametrize(
    "newline_style", ["\r\n", "\r", "mixed"], ids=["crlf", "cr", "mixed"]
)
def test_line_endings(tmp_path: Path, newline_style: str) -> None:
    lines = BUGGY.splitlines()
    if newline_style == "mixed":
        source = "".join(line + ("\r\n" if index % 2 else "\n") for index, line in enumerate(lines))
    else:
        source = newline_style.join(lines) + newline_style
    path = tmp_path / "net.py"
    path.write_bytes(source.encode())
    read = read_source(path)
    assert read.text == source  # kept exactly, no newline translation
    diagnostics = check_file(path, settings_for(tmp_path)).diagnostics
    assert [(d.code, d.start.row, d.start.column) for d in diagnostics] == [("GL101", BUG_ROW, 13)]


def test_suppression_works_with_crlf(tmp_path: Path) -> None:
    lines = BUGGY.splitlines()
    lines[BUG_ROW - 1] += "  # noqa: GL101"
    path = tmp_path / "net.py"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    assert check_file(path, settings_for(tmp_path)).diagnostics == ()


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, where chmod 000 does not stop reading: simulate EACCES.
    locked = write(tmp_path / "locked.py")
    write(tmp_path / "open.py")
    real_open = os.open

    def fake_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fspath(path) == str(locked):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", fake_open)
    report = check_paths([tmp_path], settings_for(tmp_path))
    by_file = {(Path(d.filename).name, d.code) for d in report.diagnostics}
    assert by_file == {("locked.py", "GL002"), ("open.py", "GL101")}
    assert gl002(report.diagnostics) == ["permission denied: cannot read the file"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_for_real(tmp_path: Path) -> None:  # pragma: no cover - runs as a normal user only
    locked = write(tmp_path / "locked.py")
    locked.chmod(0)
    try:
        assert gl002(list(check_file(locked, settings_for(tmp_path)).diagnostics)) == ["permission denied: cannot read the file"]
    finally:
        locked.chmod(0o644)


def test_unlistable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "secret"
    write(secret / "hidden.py")
    write(tmp_path / "net.py")
    real_scandir = os.scandir

    def fake_scandir(path="."):  # type: ignore[no-untyped-def]
        if os.fspath(path) == str(secret):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", fake_scandir)
    report = check_paths([tmp_path], settings_for(tmp_path))
    problems = [(Path(d.filename).name, d.message) for d in report.diagnostics if d.code == "GL002"]
    assert problems == [("secret", "permission denied: cannot list the folder")]
    assert any(d.code == "GL101" for d in report.diagnostics)


def test_file_vanishing_during_the_run(tmp_path: Path) -> None:
    first = write(tmp_path / "a.py")
    write(tmp_path / "b.py")
    settings = settings_for(tmp_path)
    found = discover([tmp_path], settings)
    first.unlink()  # gone between discovery and reading
    reports = [check_file(path, settings) for path in found.files]
    assert [d.message for d in reports[0].diagnostics] == ["the file vanished during the run, before it could be read"]
    assert [d.code for d in reports[1].diagnostics] == ["GL101"]


def test_folder_vanishing_during_the_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doomed = tmp_path / "doomed"
    write(doomed / "x.py")
    real_scandir = os.scandir

    def vanishing_scandir(path="."):  # type: ignore[no-untyped-def]
        if os.fspath(path) == str(doomed):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", vanishing_scandir)
    found = discover([tmp_path], settings_for(tmp_path))
    assert [d.message for d in found.problems] == ["the folder vanished during the run"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    diagnostics = check_file(tmp_path / "pipe.py", settings_for(tmp_path)).diagnostics
    assert [d.message for d in diagnostics] == ["not a regular file (a named pipe): nothing to check"]


def test_folder_named_like_a_file(tmp_path: Path) -> None:
    (tmp_path / "odd.py").mkdir()
    write(tmp_path / "odd.py" / "inner.py")
    found = discover([tmp_path], settings_for(tmp_path))
    assert relative(found.files, tmp_path) == ["odd.py/inner.py"]
    assert "not a regular file (a folder)" in check_file(tmp_path / "odd.py", settings_for(tmp_path)).diagnostics[0].message


def test_stdin_undecodable_is_a_diagnostic(tmp_path: Path) -> None:
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = cli_runner().invoke(app, ["check", "--isolated", "-", "--stdin-filename", "x.py"], input=b"x = '\xff'\n")
    finally:
        os.chdir(old)
    assert result.exit_code == 1
    assert "x.py:1:6: GL002 cannot decode as utf-8" in result.stdout


def test_ignoring_gl002_hides_read_problems(tmp_path: Path) -> None:
    (tmp_path / "blob.py").write_bytes(b"\x00\x01")
    settings = load_settings(Overrides(isolated=True, ignore=("GL002",)), cwd=tmp_path)
    assert check_paths([tmp_path], settings).diagnostics == []


def test_one_bad_file_does_not_stop_the_run_and_exit_code_says_so(tmp_path: Path) -> None:
    (tmp_path / "blob.py").write_bytes(b"\x00\x01")
    write(tmp_path / "clean.py", "x = 1\n")
    code, out, _ = run(["check", "--isolated", "."], tmp_path)
    assert code == 1
    assert "blob.py:1:1: GL002 binary file" in out
