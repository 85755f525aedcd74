"""Reading, fixing and writing files a reviewer broke: codecs that fail in unforeseen ways, a
failure in one file stopping a whole --fix, hard links split by the atomic rename, long names,
diffs that do not apply, unreadable files passed over in silence, closed or narrow streams.

Each test is one reproduced defect; see README "Fixing" and "Usage"."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gradlint import api
from gradlint.files import MAX_FILE_BYTES, decode_source, read_stdin
from gradlint.fixes import FixError, encode, fix_paths, fix_stdin, write_atomically
from gradlint.settings import Settings

BUGGY = """\
import numpy as np


def softmax(z):
    return np.exp(z) / np.sum(np.exp(z))


def softmax_prime(f):
    jacobian = np.diag(f)
    for i in range(len(jacobian)):
        for j in range(len(jacobian)):
            if i == j:
                jacobian[i][j] = f[i] * (1 - f[i])
                jacobian[i][j] = -f[i] * f[j]
    return jacobian
"""
POSIX = os.name == "posix"


def _cli(args: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "gradlint", *args], cwd=cwd, capture_output=True, timeout=120, **kwargs)  # type: ignore[call-overload]


@pytest.mark.parametrize("codec", ["undefined", "punycode"])
def test_a_codec_that_fails_oddly_is_one_files_gl002_not_the_runs_end(tmp_path: Path, codec: str) -> None:
    (tmp_path / "odd.py").write_bytes(f"# coding: {codec}\nx = 1\n".encode("ascii"))
    (tmp_path / "bug.py").write_text(BUGGY, encoding="utf-8")
    report = api.check_paths([tmp_path], Settings(project_root=tmp_path))
    codes = sorted({(Path(d.filename).name, d.code) for d in report.diagnostics})
    assert ("odd.py", "GL002") in codes and ("bug.py", "GL101") in codes


def test_a_codec_that_decodes_to_a_lone_surrogate_is_a_gl002() -> None:
    read = decode_source(b'# coding: unicode_escape\nx = "\\ud800"\n', "s.py")
    assert read.problem is not None and "lone surrogate" in read.problem.message


def test_standard_input_has_the_files_size_limit_and_fix_passes_it_through() -> None:
    big = b"x = 1\n" * (MAX_FILE_BYTES // 6 + 2)
    read = read_stdin(io.BytesIO(big), "-")
    assert read.problem is not None and "too large" in read.problem.message
    run, payload = fix_stdin(io.BytesIO(big), None, Settings(), unsafe=True)
    assert payload == big and run.applied == 0


def test_a_file_that_cannot_be_encoded_back_costs_only_itself(tmp_path: Path) -> None:
    with pytest.raises(FixError):
        encode("a = b..c\n", "idna", False)  # "label empty or too long": a plain UnicodeError
    (tmp_path / "a_first.py").write_text(BUGGY, encoding="utf-8")
    (tmp_path / "b_idna.py").write_text("# -*- coding: idna -*-\n" + BUGGY, encoding="ascii")
    (tmp_path / "c_last.py").write_text(BUGGY, encoding="utf-8")
    run = fix_paths([tmp_path], Settings(project_root=tmp_path), unsafe=True)
    assert (tmp_path / "a_first.py").read_text(encoding="utf-8") != BUGGY
    assert (tmp_path / "c_last.py").read_text(encoding="utf-8") != BUGGY  # reached, and fixed
    assert [Path(o.filename).name for o in run.errors] == ["b_idna.py"]


@pytest.mark.skipif(not POSIX, reason="hard links and xattrs as on POSIX")
def test_a_hard_linked_file_is_fixed_in_place_so_every_name_sees_the_fix(tmp_path: Path) -> None:
    real, other = tmp_path / "real.py", tmp_path / "other.py"
    real.write_text(BUGGY, encoding="utf-8")
    os.link(real, other)
    inode = real.stat().st_ino
    write_atomically(str(real), b"x = 2\n", expected=BUGGY.encode())
    assert real.stat().st_ino == inode and other.read_bytes() == b"x = 2\n"


@pytest.mark.skipif(not hasattr(os, "setxattr"), reason="extended attributes (Linux)")
def test_the_atomic_rename_keeps_extended_attributes(tmp_path: Path) -> None:
    path = tmp_path / "tagged.py"
    path.write_text(BUGGY, encoding="utf-8")
    try:
        os.setxattr(path, "user.tag", b"keep")
    except OSError:
        pytest.skip("this filesystem has no user extended attributes")
    write_atomically(str(path), b"x = 2\n", expected=BUGGY.encode())
    assert os.getxattr(path, "user.tag") == b"keep"


def test_a_file_name_near_the_length_limit_can_be_fixed(tmp_path: Path) -> None:
    path = tmp_path / ("n" * 240 + ".py")  # the old temporary name added 22 bytes: over 255
    path.write_text(BUGGY, encoding="utf-8")
    run = fix_paths([path], Settings(project_root=tmp_path), unsafe=True)
    assert not run.errors and path.read_text(encoding="utf-8") != BUGGY


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch(1)")
def test_diff_output_applies_to_crlf_bom_and_latin1_files(tmp_path: Path) -> None:
    source = BUGGY.replace("def softmax(z):\n", "def softmax(z):\n    # caf\xe9 na\xefve\n")
    (tmp_path / "crlf.py").write_bytes(source.replace("\n", "\r\n").encode("utf-8"))
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbf" + source.encode("utf-8"))
    (tmp_path / "lat.py").write_bytes(("# -*- coding: latin-1 -*-\n" + source).encode("latin-1"))
    originals = {p.name: p.read_bytes() for p in tmp_path.glob("*.py")}
    diff = _cli(["check", "--no-cache", "--unsafe-fixes", "--diff", "."], tmp_path, env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert diff.returncode == 1 and b"\r\n" in diff.stdout
    applied = subprocess.run(["patch", "-p0", "--dry-run"], input=diff.stdout, cwd=tmp_path, capture_output=True, timeout=60)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    subprocess.run(["patch", "-p0"], input=diff.stdout, cwd=tmp_path, capture_output=True, timeout=60, check=True)
    fixed = _cli(["check", "--no-cache", "--unsafe-fixes", "--diff", "."], tmp_path)
    assert fixed.returncode == 0, fixed.stdout  # the patch did what --fix would have done
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.py")} != originals


def test_diff_and_add_noqa_say_which_files_they_could_not_read(tmp_path: Path) -> None:
    (tmp_path / "bin.py").write_bytes(b"x\x00y")
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    for mode in ("--diff", "--add-noqa"):
        done = _cli(["check", "--no-cache", mode, "."], tmp_path)
        assert done.returncode == 2, (mode, done.stderr)
        assert b"bin.py: not checked: GL002 binary file" in done.stderr


@pytest.mark.skipif(not POSIX, reason="closing a descriptor from the shell")
def test_closed_standard_streams_give_a_message_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    closed_in = subprocess.run(
        [sys.executable, "-m", "gradlint", "check", "-"], cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True,
        timeout=120, preexec_fn=lambda: os.close(0),
    )
    assert closed_in.returncode == 2 and b"standard input is closed" in closed_in.stderr
    closed_out = subprocess.run(
        [sys.executable, "-m", "gradlint", "check", "--no-cache", "ok.py"], cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, timeout=120, preexec_fn=lambda: os.close(1),
    )
    assert closed_out.returncode == 0 and b"Traceback" not in closed_out.stderr and b"internal error" not in closed_out.stderr


def test_a_report_reaches_a_stdout_that_cannot_encode_it(tmp_path: Path) -> None:
    (tmp_path / "u8.py").write_text(BUGGY.replace("np.sum(np.exp(z))", "np.sum(np.exp(z))  # caf\xe9"), encoding="utf-8")
    done = _cli(["check", "--no-cache", "--output-format", "full", "u8.py"], tmp_path, env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert done.returncode == 1 and b"internal error" not in done.stderr and b"GL301" in done.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_fixing_rereads_the_file_as_the_check_did_never_blocking(tmp_path: Path) -> None:
    from gradlint.fixes import fix_file

    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    outcome = fix_file(fifo, Settings(project_root=tmp_path), unsafe=True, write=True)  # a blocking read hung here
    assert outcome.applied == 0 and any(d.code == "GL002" for d in outcome.report.diagnostics)


def _sleep(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


def test_an_interrupted_run_does_not_wait_for_its_workers() -> None:
    # SIGINT to the main process alone used to wait for every running task (8 to 13 s on numpy
    # and scipy with -j 8): the workers are killed instead.
    import time
    from concurrent.futures import ProcessPoolExecutor

    from gradlint.parallel import _abandon, _context
    from tests.test_runtime_hardening import _dies_soon

    executor = ProcessPoolExecutor(2, mp_context=_context())
    for _ in range(2):
        executor.submit(_sleep, 30)
    time.sleep(0.5)  # both running
    pids = [process.pid for process in executor._processes.values()]
    _abandon(executor)
    # (the executor's own thread may reap them: ask the system, not Process.is_alive)
    assert all(_dies_soon(pid, 10.0) for pid in pids), "the workers were left running"


@pytest.mark.parametrize("output_format", ["json", "json-lines", "gitlab", "rdjson", "sarif"])
def test_json_stays_valid_on_a_stdout_that_cannot_encode_the_names(tmp_path: Path, output_format: str) -> None:
    import json

    (tmp_path / "caf\u00e9.py").write_text(BUGGY, encoding="utf-8")
    done = _cli(["check", "--no-cache", "--output-format", output_format, "."], tmp_path, env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert done.returncode == 1, done.stderr
    text = done.stdout.decode("ascii")
    documents = [json.loads(line) for line in text.splitlines()] if output_format == "json-lines" else [json.loads(text)]
    name = "caf%C3%A9.py" if output_format == "sarif" else "caf\u00e9.py"  # SARIF: a percent-encoded URI
    assert name in json.dumps(documents, ensure_ascii=False)


@pytest.mark.skipif(not hasattr(__import__("socket"), "AF_UNIX"), reason="Unix sockets")
def test_a_socket_named_like_a_module_is_said_to_be_one(tmp_path: Path) -> None:
    import socket

    from gradlint.files import read_source

    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "s.py"))
        read = read_source(tmp_path / "s.py")
        assert read.problem is not None and read.problem.message == "not a regular file (a socket): nothing to check"
    finally:
        server.close()
