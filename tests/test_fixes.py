"""`--fix`, `--unsafe-fixes` and `--diff`: applied and re-checked, idempotent, never losing data."""

from __future__ import annotations

import codecs
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gradlint import fixes
from gradlint.api import FileReport, check_paths
from gradlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Position, Severity
from gradlint.settings import Settings

UNSTABLE = """import numpy as np


def softmax(z):
    e = np.exp(z)
    return e / np.sum(e, axis=1, keepdims=True)
"""
STABLE = UNSTABLE.replace("np.exp(z)", "np.exp(z - np.max(z, axis=1, keepdims=True))")

OVERWRITE = """import numpy as np


def softmax_prime(f):
    jacobian = np.diag(f)
    for i in range(len(f)):
        for j in range(len(f)):
            if i == j:
                jacobian[i][j] = f[i] * (1 - f[i])
                jacobian[i][j] = -f[i] * f[j]  # the bug
    return jacobian
"""
OVERWRITE_FIXED = OVERWRITE.replace(
    "                jacobian[i][j] = -f[i] * f[j]  # the bug\n",
    "            else:\n                jacobian[i][j] = -f[i] * f[j]  # the bug\n",
)

SETTINGS = Settings(select=("GL101", "GL301"))


def _fix(path: Path, unsafe: bool = True, write: bool = True) -> fixes.FixRun:
    return fixes.fix_paths([path], SETTINGS, unsafe=unsafe, write=write)


def _codes(path: Path) -> list[str]:
    return [d.code for d in check_paths([path], SETTINGS).diagnostics]


def test_unsafe_fix_is_applied_and_the_file_rechecks_clean(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(UNSTABLE, encoding="utf-8")
    assert _codes(path) == ["GL301"]
    run = _fix(path)
    assert run.applied == 1 and not run.report.diagnostics
    assert path.read_text(encoding="utf-8") == STABLE
    assert _codes(path) == []


def test_gl101_fix_moves_the_overwrite_into_an_else(tmp_path: Path) -> None:
    path = tmp_path / "jac.py"
    path.write_text(OVERWRITE, encoding="utf-8")
    run = _fix(path)
    assert run.applied == 1
    assert path.read_text(encoding="utf-8") == OVERWRITE_FIXED  # the trailing comment is not doubled
    assert _codes(path) == []


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(UNSTABLE + "\n\n" + OVERWRITE.split("\n", 2)[2], encoding="utf-8")
    first = _fix(path)
    assert first.applied == 2
    after_first = path.read_bytes()
    second = _fix(path)
    assert second.applied == 0 and not second.changed_files and not second.outcomes
    assert path.read_bytes() == after_first


def test_unsafe_fixes_need_the_option(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(UNSTABLE, encoding="utf-8")
    run = _fix(path, unsafe=False)
    assert run.applied == 0 and run.hidden == 1
    assert path.read_text(encoding="utf-8") == UNSTABLE
    assert run.summary(unsafe=False) == ["No errors fixed (1 fix available with `--unsafe-fixes`)."]
    assert run.summary(unsafe=False, diff=True) == ["No errors would be fixed (1 fix available with `--unsafe-fixes`)."]


def test_crlf_line_endings_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "jac.py"
    path.write_bytes(OVERWRITE.replace("\n", "\r\n").encode("utf-8"))
    _fix(path)
    data = path.read_bytes()
    assert data == OVERWRITE_FIXED.replace("\n", "\r\n").encode("utf-8")
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_mixed_line_endings_are_kept_line_by_line(tmp_path: Path) -> None:
    lines = OVERWRITE.split("\n")
    # LF everywhere except the rows of the loop, which end in CRLF
    text = "".join(line + ("\r\n" if 5 <= number <= 10 else "\n") for number, line in enumerate(lines[:-1], start=1))
    path = tmp_path / "jac.py"
    path.write_bytes(text.encode("utf-8"))
    _fix(path)
    fixed = path.read_bytes().decode("utf-8")
    assert "            else:\r\n" in fixed  # the inserted line takes its neighbours' ending
    assert fixed.startswith("import numpy as np\n\n\ndef softmax_prime(f):\n")
    assert fixed.endswith("    return jacobian\n")
    assert _codes(path) == []


def test_utf8_bom_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_bytes(codecs.BOM_UTF8 + ("# café\n" + UNSTABLE).encode("utf-8"))
    _fix(path)
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8) and not data.startswith(codecs.BOM_UTF8 * 2)
    assert data[len(codecs.BOM_UTF8):].decode("utf-8") == "# café\n" + STABLE


def test_latin1_with_coding_cookie_is_kept(tmp_path: Path) -> None:
    source = "# -*- coding: latin-1 -*-\n# r\u00e9seau de neurones\n" + UNSTABLE
    path = tmp_path / "model.py"
    path.write_bytes(source.encode("latin-1"))
    run = _fix(path)
    assert run.applied == 1
    data = path.read_bytes()
    assert b"r\xe9seau" in data  # still latin-1, not UTF-8
    assert data.decode("latin-1") == "# -*- coding: latin-1 -*-\n# r\u00e9seau de neurones\n" + STABLE


def test_text_the_encoding_cannot_hold_is_refused() -> None:
    with pytest.raises(fixes.FixError, match="cannot be encoded as iso-8859-1"):
        fixes.encode("x = '\u20ac'\n", "iso-8859-1", bom=False)


def test_a_fix_that_would_not_parse_is_refused_and_the_file_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.py"
    path.write_text(UNSTABLE, encoding="utf-8")
    before = path.read_bytes()
    real_check = fixes.check_source

    def broken_fix(text: str, filename: str, settings: Settings) -> FileReport:
        report = real_check(text, filename, settings)
        bad = Fix("break it", (Edit("np.exp(z", Position(5, 9), Position(5, 18)),), Applicability.UNSAFE)
        return FileReport(report.filename, tuple(_with_fix(d, bad) for d in report.diagnostics), report.crashes, text)

    monkeypatch.setattr(fixes, "check_source", broken_fix)
    run = fixes.fix_paths([path], SETTINGS, unsafe=True, write=True)
    assert run.applied == 0
    assert path.read_bytes() == before
    assert run.errors and "would not parse" in (run.errors[0].error or "")
    assert [d.code for d in run.report.diagnostics] == ["GL301"]


def _with_fix(diagnostic: Diagnostic, fix: Fix) -> Diagnostic:
    from dataclasses import replace

    return replace(diagnostic, fix=fix)


def test_overlapping_fixes_wait_for_the_next_pass() -> None:
    text = "a = 1\nb = 2\n"
    first = _diagnostic(Fix("one", (Edit("x = 1", Position(1, 1), Position(1, 6)),), Applicability.SAFE))
    second = _diagnostic(Fix("two", (Edit("y", Position(1, 1), Position(1, 2)),), Applicability.SAFE), row=1)
    chosen = fixes._non_overlapping([first, second], unsafe=False)
    assert chosen == [first]
    assert fixes.apply_edits(text, first.fix.edits) == "x = 1\nb = 2\n"  # type: ignore[union-attr]


def _diagnostic(fix: Fix, row: int = 1) -> Diagnostic:
    return Diagnostic("GL999", "test", "m", "/t.py", Position(row, 1), Position(row, 2), Severity.ERROR, fix=fix)


def test_write_is_atomic_keeps_permissions_and_refuses_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(UNSTABLE, encoding="utf-8")
    os.chmod(path, 0o640)
    _fix(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["model.py"]  # no temporary file left behind
    with pytest.raises(fixes.FixError, match="changed on disk"):
        fixes.write_atomically(str(path), b"x = 1\n", expected=b"something else")
    assert path.read_text(encoding="utf-8") == STABLE


def test_a_symlink_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    target = tmp_path / "real.py"
    target.write_text(UNSTABLE, encoding="utf-8")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    fixes.fix_file(link, SETTINGS, unsafe=True, write=True)
    assert link.is_symlink()
    assert target.read_text(encoding="utf-8") == STABLE


def _cli(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "gradlint", "check", "--no-cache", "--isolated", "--select", "GL101,GL301", *args],
        cwd=cwd, input=stdin, capture_output=True, env=env, timeout=120,
    )


def test_diff_prints_a_unified_diff_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(UNSTABLE, encoding="utf-8")
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    done = _cli("--diff", "--unsafe-fixes", "model.py", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    out = done.stdout.decode()
    assert "--- model.py\n+++ model.py\n" in out
    assert "-    e = np.exp(z)\n+    e = np.exp(z - np.max(z, axis=1, keepdims=True))\n" in out
    assert b"Would fix 1 warning" in done.stderr  # GL301 is a warning, as the `Found` line says
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before
    assert _cli("--diff", "--unsafe-fixes", "--exit-zero", "model.py", cwd=tmp_path).returncode == 0  # as ruff
    only_unsafe = _cli("--diff", "model.py", cwd=tmp_path)
    assert only_unsafe.returncode == 0 and only_unsafe.stdout == b""
    assert only_unsafe.stderr.decode().splitlines() == ["No errors would be fixed (1 fix available with `--unsafe-fixes`)."]
    # nothing to change: exit 0
    path.write_text(STABLE, encoding="utf-8")
    assert _cli("--diff", "--unsafe-fixes", "model.py", cwd=tmp_path).returncode == 0


def test_check_without_fix_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(UNSTABLE, encoding="utf-8")
    done = _cli("--unsafe-fixes", "model.py", cwd=tmp_path)
    assert done.returncode == 1
    assert path.read_text(encoding="utf-8") == UNSTABLE


def test_cli_fix_writes_and_reports_what_remains(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(UNSTABLE, encoding="utf-8")
    hidden = _cli("--fix", "model.py", cwd=tmp_path)
    assert hidden.returncode == 1 and hidden.stderr == b""  # ruff's summary lines, on stdout:
    assert hidden.stdout.endswith(b"Found 1 warning.\nNo fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option).\n")
    assert path.read_text(encoding="utf-8") == UNSTABLE
    done = _cli("--fix", "--unsafe-fixes", "model.py", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == b"Found 1 warning (1 fixed, 0 remaining).\n"  # as ruff (GL301 is a warning)
    as_json = _cli("--fix", "--unsafe-fixes", "--output-format", "json", "model.py", cwd=tmp_path)
    assert as_json.stdout == b"[]\n" and as_json.stderr == b""  # nothing left to fix: nothing to say
    path.write_text(UNSTABLE, encoding="utf-8")
    as_json = _cli("--fix", "--unsafe-fixes", "--output-format", "json", "model.py", cwd=tmp_path)
    assert b"Fixed 1 warning in 1 file (0 remaining)." in as_json.stderr  # machine formats: the summary on stderr
    assert path.read_text(encoding="utf-8") == STABLE


def test_stdin_with_fix_prints_the_fixed_source(tmp_path: Path) -> None:
    done = _cli("--fix", "--unsafe-fixes", "-", cwd=tmp_path, stdin=UNSTABLE.encode("utf-8"))
    assert done.stdout.decode("utf-8") == STABLE
    assert done.returncode == 0, done.stderr
    # without --unsafe-fixes the source comes back unchanged and the finding goes to stderr
    done = _cli("--fix", "-", cwd=tmp_path, stdin=UNSTABLE.encode("utf-8"))
    assert done.stdout.decode("utf-8") == UNSTABLE
    assert done.returncode == 1 and b"GL301" in done.stderr


def test_stdin_keeps_crlf_and_bom(tmp_path: Path) -> None:
    source = codecs.BOM_UTF8 + UNSTABLE.replace("\n", "\r\n").encode("utf-8")
    done = _cli("--fix", "--unsafe-fixes", "-", cwd=tmp_path, stdin=source)
    assert done.stdout == codecs.BOM_UTF8 + STABLE.replace("\n", "\r\n").encode("utf-8")


def test_a_read_only_file_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(UNSTABLE, encoding="utf-8")
    os.chmod(path, 0o444)
    run = _fix(path)
    assert path.read_text(encoding="utf-8") == UNSTABLE
    assert run.applied == 0 and "read-only" in (run.errors[0].error or "")
    assert [d.code for d in run.report.diagnostics] == ["GL301"]  # the finding still stands
    done = _cli("--fix", "--unsafe-fixes", "model.py", cwd=tmp_path)
    assert done.returncode == 2 and b"read-only" in done.stderr


def test_stdin_excluded_with_force_exclude_passes_through_unfixed(tmp_path: Path) -> None:
    # editors pipe every buffer with --force-exclude: an excluded one must come back untouched (ruff)
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\nextend-exclude = ['generated']\n", encoding="utf-8")
    for mode in (["--fix", "--unsafe-fixes"], ["--diff", "--unsafe-fixes"]):
        done = subprocess.run(
            [sys.executable, "-m", "gradlint", "check", "--no-cache", "--force-exclude", *mode, "--stdin-filename", "generated/m.py", "-"],
            cwd=tmp_path, input=UNSTABLE.encode(), capture_output=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == (UNSTABLE.encode() if "--fix" in mode else b"")
        assert b"GL301" not in done.stderr and b"Fixed" not in done.stderr


def test_exit_non_zero_on_fix_as_ruff(tmp_path: Path) -> None:
    # a ruff-style hook (`args: [--fix, --exit-non-zero-on-fix]`) must fail the commit that it fixed
    path = tmp_path / "model.py"
    path.write_text(UNSTABLE, encoding="utf-8")
    done = _cli("--fix", "--unsafe-fixes", "--exit-non-zero-on-fix", "model.py", cwd=tmp_path)
    assert done.returncode == 1 and path.read_text(encoding="utf-8") == STABLE, done.stderr
    assert _cli("--fix", "--unsafe-fixes", "--exit-non-zero-on-fix", "model.py", cwd=tmp_path).returncode == 0  # nothing left to fix
    path.write_text(UNSTABLE, encoding="utf-8")
    assert _cli("--fix", "--unsafe-fixes", "--exit-non-zero-on-fix", "--exit-zero", "model.py", cwd=tmp_path).returncode == 0
    stdin = _cli("--fix", "--unsafe-fixes", "--exit-non-zero-on-fix", "-", cwd=tmp_path, stdin=UNSTABLE.encode())
    assert stdin.returncode == 1 and stdin.stdout == STABLE.encode()


def test_the_fix_summary_names_warnings_and_is_said_once(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(UNSTABLE, encoding="utf-8")  # GL301, a warning
    done = _cli("--fix", "--unsafe-fixes", "model.py", cwd=tmp_path)
    assert done.stdout == b"Found 1 warning (1 fixed, 0 remaining).\n" and done.stderr == b""
    path.write_text(UNSTABLE, encoding="utf-8")
    junit = _cli("--fix", "--unsafe-fixes", "--statistics", "--output-format", "junit", "model.py", cwd=tmp_path)
    assert junit.stdout == b"Found 1 warning (1 fixed, 0 remaining).\n" and junit.stderr == b""  # statistics are text
