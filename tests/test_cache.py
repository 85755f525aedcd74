"""The result cache: exact round-trips, invalidation, corruption, and `gradlint clean`."""

from __future__ import annotations

import json
import os
import subprocess
import time
import sys
from pathlib import Path

import pytest

from gradlint import __version__, api, cache
from gradlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Position, RuntimeVerdict, Severity
from gradlint.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BUGGY = (FIXTURES / "softmax_question.py").read_text(encoding="utf-8")


def _tree(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for source in sorted(FIXTURES.glob("*.py")):
        (project / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (project / "plain.py").write_text("import os\n", encoding="utf-8")
    (project / "noqa.py").write_text(BUGGY.replace("# expect: GL101", "# noqa: GL101"), encoding="utf-8")
    return project


def _age(path: Path, seconds: float = 60.0) -> None:
    """Make a file look older than the racy window, so its stat is trusted."""
    stamp = path.stat().st_mtime - seconds
    os.utime(path, (stamp, stamp))


def _run(project: Path, **kwargs: object) -> api.Report:
    return api.check_paths([project], Settings(project_root=project), cache=True, **kwargs)  # type: ignore[arg-type]


def _same(first: api.Report, second: api.Report) -> None:
    assert [r.filename for r in first.files] == [r.filename for r in second.files]
    for a, b in zip(first.files, second.files):
        assert a.diagnostics == b.diagnostics
        assert [d.suppression_rows for d in a.diagnostics] == [d.suppression_rows for d in b.diagnostics]


def test_warm_run_returns_exactly_the_cold_results(tmp_path: Path) -> None:
    project = _tree(tmp_path)
    for path in project.glob("*.py"):
        _age(path)
    cold = _run(project)
    assert cold.diagnostics, "the fixtures should have findings"
    assert any(d.fix is not None for d in cold.diagnostics)
    warm = _run(project)
    _same(cold, warm)
    uncached = api.check_paths([project], Settings(project_root=project))
    _same(cold, uncached)


def test_cache_directory_layout(tmp_path: Path) -> None:
    project = _tree(tmp_path)
    _run(project)
    directory = project / cache.CACHE_DIR_NAME
    assert (directory / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (directory / ".gitignore").read_text().splitlines()[-1] == "*"
    assert list((directory / __version__).glob("*.json"))


def test_a_cache_hit_does_not_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _tree(tmp_path)
    for path in project.glob("*.py"):
        _age(path)
    cold = _run(project)
    import gradlint.api

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached file was checked again")

    monkeypatch.setattr(gradlint.api, "check_source", fail)
    _same(cold, _run(project))


def test_changed_content_is_checked_again(tmp_path: Path) -> None:
    project = _tree(tmp_path)
    target = project / "softmax_question_fixed.py"
    _age(target)
    assert not [d for d in _run(project).diagnostics if d.filename == str(target)]
    target.write_text(BUGGY, encoding="utf-8")
    _age(target, 30)  # an old mtime on purpose: the size changed, so the content is re-hashed
    after = [d for d in _run(project).diagnostics if d.filename == str(target)]
    assert [d.code for d in after] == [d.code for d in api.check_source(BUGGY, str(target)).diagnostics]


def test_same_size_same_mtime_edit_is_caught_by_the_racy_window(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    target = project / "m.py"
    clean = BUGGY.replace("jacobian[i][j] = -f[i] * f[j]", "jacobian[i][j] -= f[i] * f[j]")
    target.write_text(clean, encoding="utf-8")  # just written: inside the racy window
    first = _run(project)
    stamp = target.stat().st_mtime_ns
    target.write_text(clean.replace("-= f[i]", "= -f[i]", 1)[: len(clean)].ljust(len(clean)), encoding="utf-8")
    os.utime(target, ns=(stamp, stamp))  # same size, same mtime
    second = _run(project)
    assert second.diagnostics == api.check_paths([project], Settings(project_root=project)).diagnostics
    assert first.diagnostics != second.diagnostics


def test_settings_change_the_key(tmp_path: Path) -> None:
    project = _tree(tmp_path)
    everything = _run(project)
    none_selected = api.check_paths([project], Settings(project_root=project, select=("GL0",)), cache=True)
    assert everything.diagnostics and not [d for d in none_selected.diagnostics if not d.code.startswith("GL0")]


@pytest.mark.parametrize(
    "damage",
    [b"", b"{not json", b"[1, 2, 3]", b'{"format": 1, "version": "%s", "entries": {"x": 5}}', b"\x00\xff" * 50],
)
def test_a_corrupt_cache_is_ignored(tmp_path: Path, damage: bytes) -> None:
    project = _tree(tmp_path)
    cold = _run(project)
    for file in (project / cache.CACHE_DIR_NAME / __version__).glob("*.json"):
        file.write_bytes(damage.replace(b"%s", __version__.encode()))
    _same(cold, _run(project))


def test_damaged_entries_are_misses(tmp_path: Path) -> None:
    project = _tree(tmp_path)
    for path in project.glob("*.py"):
        _age(path)
    cold = _run(project)
    for file in (project / cache.CACHE_DIR_NAME / __version__).glob("*.json"):
        payload = json.loads(file.read_text())
        for entry in payload["entries"].values():
            for diagnostic in entry[3]:
                diagnostic["start"] = "broken"
        file.write_text(json.dumps(payload))
    _same(cold, _run(project))


def test_an_unwritable_cache_directory_is_skipped(tmp_path: Path) -> None:
    project = _tree(tmp_path)
    (project / cache.CACHE_DIR_NAME).write_text("a file where the cache directory should be")
    _same(api.check_paths([project], Settings(project_root=project)), _run(project))


def test_every_diagnostic_field_round_trips() -> None:
    diagnostic = Diagnostic(
        code="GL101",
        name="overwritten-diagonal",
        message="m\u00e9ssage with \"quotes\" and\nnewline",
        filename="/x/y.py",
        start=Position(3, 4),
        end=Position(5, 6),
        severity=Severity.WARNING,
        url=None,
        fix=Fix("fix it", (Edit("a\r\nb", Position(1, 1), Position(1, 2)), Edit("", Position(2, 1), Position(2, 1))), Applicability.SAFE),
        noqa_row=3,
        suppression_rows=(3, 5),
        runtime=RuntimeVerdict(status="confirmed", convention="activation", worst_index=(1, 2), expected=1.5, got=0.25),
    )
    encoded = json.loads(json.dumps(cache._encode(diagnostic)))
    decoded = cache._decode(encoded)
    assert decoded == diagnostic and decoded.suppression_rows == diagnostic.suppression_rows


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gradlint", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_cli_no_cache_and_clean(tmp_path: Path) -> None:
    project = _tree(tmp_path)
    first = _cli(["check", "."], project)
    assert (project / cache.CACHE_DIR_NAME).is_dir()
    second = _cli(["check", "."], project)
    assert first.stdout == second.stdout and first.returncode == second.returncode == 1
    cleaned = _cli(["clean"], project)
    assert cleaned.returncode == 0 and not (project / cache.CACHE_DIR_NAME).exists()
    third = _cli(["check", "--no-cache", "."], project)
    assert third.stdout == first.stdout and not (project / cache.CACHE_DIR_NAME).exists()
    assert _cli(["clean"], project).returncode == 0


def test_the_cache_folder_can_be_chosen_as_in_ruff(tmp_path: Path) -> None:
    # --cache-dir, GRADLINT_CACHE_DIR (ruff's RUFF_CACHE_DIR) or `cache-dir` in the configuration
    # (relative to its folder, `~` expanded); `gradlint clean` removes that folder.
    project = _tree(tmp_path)
    first = _cli(["check", ".", "--cache-dir", "../elsewhere"], project)
    assert (tmp_path / "elsewhere" / "CACHEDIR.TAG").is_file() and not (project / cache.CACHE_DIR_NAME).exists()
    again = _cli(["check", ".", "--cache-dir", str(tmp_path / "elsewhere")], project)
    assert (again.stdout, again.returncode) == (first.stdout, first.returncode)
    environment = {**os.environ, "GRADLINT_CACHE_DIR": "from-env"}
    subprocess.run([sys.executable, "-m", "gradlint", "check", "."], cwd=project, env=environment, capture_output=True, timeout=120)
    assert (project / "from-env" / "CACHEDIR.TAG").is_file()
    (project / "sub").mkdir()
    (project / "pyproject.toml").write_text('[tool.gradlint]\ncache-dir = "build/gradlint"\n', encoding="utf-8")
    shown = _cli(["check", "--show-settings"], project / "sub")
    assert f"cache-dir: {project / 'build' / 'gradlint'}" in shown.stdout
    _cli(["check", ".."], project / "sub")
    assert (project / "build" / "gradlint" / "CACHEDIR.TAG").is_file()
    cleaned = _cli(["clean"], project / "sub")
    assert cleaned.returncode == 0 and not (project / "build" / "gradlint").exists()
    assert _cli(["clean", "--cache-dir", "../elsewhere"], project).returncode == 0
    assert not (tmp_path / "elsewhere").exists()


def test_clean_never_removes_a_folder_the_cache_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work", encoding="utf-8")
    result = _cli(["clean", "--cache-dir", str(precious)], tmp_path)
    assert result.returncode == 0 and "No cache at" in result.stdout
    assert (precious / "thesis.tex").is_file()
    # A cache-dir naming a folder that holds other files: never marked, never used, never emptied.
    project = _tree(tmp_path)
    for name in (".", "../home"):
        _cli(["check", ".", "--cache-dir", name], project)
    assert not (project / "CACHEDIR.TAG").exists() and not (project / ".gitignore").exists()
    assert sorted(p.name for p in precious.iterdir()) == ["thesis.tex"]
    assert _cli(["clean", "--cache-dir", "."], project).returncode == 0 and (project / "plain.py").is_file()
    # Markers an older gradlint wrote into such a folder: clean takes its cache files and markers only.
    (precious / "CACHEDIR.TAG").write_text(cache.CACHEDIR_TAG, encoding="utf-8")
    (precious / ".gitignore").write_text(cache.GITIGNORE, encoding="utf-8")
    (precious / __version__).mkdir()
    (precious / __version__ / ("0" * 32 + ".json")).write_text("{}", encoding="utf-8")
    cleaned = _cli(["clean", "--cache-dir", str(precious)], tmp_path)
    assert cleaned.returncode == 0 and "its other files are left" in cleaned.stdout
    assert sorted(p.name for p in precious.iterdir()) == ["thesis.tex"]
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\ncache-dir = 7\n", encoding="utf-8")
    bad = _cli(["check", "."], tmp_path)
    assert bad.returncode == 2 and "cache-dir must be the path of a folder" in bad.stderr


def test_clean_removes_every_cache_below_the_working_directory(tmp_path: Path) -> None:
    for name in ("p1", "p2"):
        project = tmp_path / name
        project.mkdir()
        (project / "pyproject.toml").write_text("[tool.gradlint]\n", encoding="utf-8")
        (project / "bug.py").write_text(BUGGY, encoding="utf-8")
        _cli(["check", "."], project)
        assert (project / cache.CACHE_DIR_NAME).is_dir()
    cleaned = _cli(["clean"], tmp_path)
    assert cleaned.returncode == 0 and cleaned.stdout.count("Removed ") == 2
    assert not any(tmp_path.glob(f"*/{cache.CACHE_DIR_NAME}"))


def test_an_edit_that_keeps_the_size_and_puts_the_mtime_back_is_seen(tmp_path: Path) -> None:
    # cp -p, rsync -a, tar x: as git does, the stat stamp holds the ctime and inode too.
    project = _tree(tmp_path)
    target = project / "softmax_question.py"
    _age(target)
    first = _run(project)
    assert any(d.filename == str(target) and d.code == "GL101" for d in first.diagnostics)
    before = target.stat()
    diagonal = "jacobian[i][j] = f[i] * (1 - f[i])"
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace(diagonal, "pass".ljust(len(diagonal))), encoding="utf-8")  # no diagonal: no GL101
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (target.stat().st_size, target.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    again = _run(project)
    assert not any(d.filename == str(target) and d.code == "GL101" for d in again.diagnostics)
    _same(again, api.check_paths([project], Settings(project_root=project)))


def test_the_cache_forgets_vanished_files_and_leftover_temporary_files(tmp_path: Path) -> None:
    project = _tree(tmp_path)
    _run(project)
    (project / "plain.py").unlink()
    leftover = next((project / cache.CACHE_DIR_NAME / __version__).glob("*.json")).parent / ".tmp-killed"
    leftover.write_text("half a cache", encoding="utf-8")
    old = leftover.stat().st_mtime - 2 * cache.STALE_TEMPORARY_SECONDS
    os.utime(leftover, (old, old))
    (project / "noqa.py").write_text(BUGGY, encoding="utf-8")  # something to save
    _run(project)
    [stored] = list((project / cache.CACHE_DIR_NAME / __version__).glob("*.json"))
    entries = json.loads(stored.read_text(encoding="utf-8"))["entries"]
    assert str(project / "plain.py") not in entries and str(project / "noqa.py") in entries
    assert not leftover.exists()


def test_an_installed_gradlint_is_fingerprinted_by_its_modules_not_its_version_alone(tmp_path: Path) -> None:
    # A pre-commit `rev:` moved to another commit, or a pip install from git, keeps version 0.1.0.
    site = tmp_path / "lib" / "site-packages"
    site.mkdir(parents=True)
    import shutil

    shutil.copytree(Path(cache.__file__).parent, site / "gradlint", ignore=shutil.ignore_patterns("__pycache__"))
    probe = [sys.executable, "-S", "-c", "from gradlint.cache import code_fingerprint; print(code_fingerprint())"]  # -S: no editable finder
    environment = {**os.environ, "PYTHONPATH": str(site)}

    def fingerprint() -> str:
        return subprocess.run(probe, env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True).stdout

    before = fingerprint()
    rule = site / "gradlint" / "rules" / "overwritten_diagonal.py"
    rule.write_text(rule.read_text(encoding="utf-8") + "\n# another commit\n", encoding="utf-8")
    assert fingerprint() != before


def test_clean_leaves_alone_a_folder_that_is_not_a_cache_even_with_cache_like_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "babel").mkdir(parents=True)
    (home / "babel" / ("d41d8cd98f00b204e9800998ecf8427e.json")).write_text("{}", encoding="utf-8")
    (home / "1.0.0").mkdir()
    (home / "1.0.0" / "notes.txt").write_text("mine", encoding="utf-8")
    result = _cli(["clean", "--cache-dir", str(home)], tmp_path)
    assert result.returncode == 0 and "No cache at" in result.stdout
    assert (home / "babel" / "d41d8cd98f00b204e9800998ecf8427e.json").is_file() and (home / "1.0.0" / "notes.txt").is_file()


def test_a_damaged_cache_folder_recovers(tmp_path: Path) -> None:
    # A stray file in the version folder, or a first run killed before its markers were written:
    # the cache used to be switched off for good, and clean could not repair it.
    project = _tree(tmp_path)
    folder = project / cache.CACHE_DIR_NAME
    (folder / __version__).mkdir(parents=True)  # killed after mkdir: no markers, nothing else
    first = _run(project)
    assert (folder / "CACHEDIR.TAG").read_text(encoding="utf-8") == cache.CACHEDIR_TAG
    assert list((folder / __version__).glob("*.json")), "the cache was not written"
    (folder / __version__ / ".DS_Store").write_text("junk", encoding="utf-8")
    (folder / "CACHEDIR.TAG").write_text("", encoding="utf-8")  # a marker written on a full disk
    _same(first, _run(project))
    assert (folder / "CACHEDIR.TAG").read_text(encoding="utf-8") == cache.CACHEDIR_TAG
    assert _cli(["clean"], project).returncode == 0 and not folder.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_named_pipes_where_the_cache_reads_never_hang_a_run(tmp_path: Path) -> None:
    project = _tree(tmp_path)
    folder = project / cache.CACHE_DIR_NAME
    folder.mkdir()
    os.mkfifo(folder / "CACHEDIR.TAG")
    done = subprocess.run([sys.executable, "-m", "gradlint", "check", "."], cwd=project, capture_output=True, timeout=60)
    assert done.returncode == 1
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "train.py").write_text("from .losses import loss\n", encoding="utf-8")
    _cli(["check", "."], package)
    os.mkfifo(package / "losses.py")  # an import recorded as absent appears as a named pipe
    assert subprocess.run([sys.executable, "-m", "gradlint", "check", "train.py"], cwd=package, capture_output=True, timeout=60).returncode in (0, 1)


def test_a_file_changed_just_before_the_run_started_is_stored_without_a_stamp() -> None:
    started = 1_000_000.0
    changed = os.stat_result((0o100644, 1, 1, 1, 0, 0, 10, started, started - 1, started - 1))
    settled = os.stat_result((0o100644, 1, 1, 1, 0, 0, 10, started, started - 60, started - 60))
    assert cache._stat_key(changed, started) == (None, 10)  # stored late: judged against the start
    assert cache._stat_key(settled, started)[0] is not None


def test_a_cache_dir_that_is_not_used_is_said_so(tmp_path: Path) -> None:
    project = _tree(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.md").write_text("mine", encoding="utf-8")
    done = _cli(["check", ".", "--cache-dir", "../docs"], project)
    assert done.returncode == 1 and "holds other files, so it is not used as the cache folder" in done.stderr
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == ["notes.md"]
    assert "holds other files" not in _cli(["check", ".", "-q", "--cache-dir", "../docs"], project).stderr  # -q: no warnings


def test_clean_goes_on_past_a_cache_folder_it_cannot_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a", "b"):
        (tmp_path / name / cache.CACHE_DIR_NAME / __version__).mkdir(parents=True)
    original = cache.clear

    def clear(directory: Path) -> bool:
        if directory.parent.name == "a":
            raise PermissionError(13, "Permission denied")
        return original(directory)

    monkeypatch.setattr(cache, "clear", clear)
    cleared, failed = cache.clear_below(tmp_path)
    assert cleared == [tmp_path / "b" / cache.CACHE_DIR_NAME]
    assert failed == [(tmp_path / "a" / cache.CACHE_DIR_NAME, "Permission denied")]


def test_the_cache_of_another_gradlint_version_unused_for_a_month_is_removed(tmp_path: Path) -> None:
    project = _tree(tmp_path)
    folder = project / cache.CACHE_DIR_NAME
    old, recent = folder / "0.0.9", folder / "0.0.8"
    for version in (old, recent):
        version.mkdir(parents=True)
        (version / ("0" * 32 + ".json")).write_text("{}", encoding="utf-8")
    stamp = time.time() - 2 * cache.STALE_CACHE_SECONDS
    os.utime(old / ("0" * 32 + ".json"), (stamp, stamp))
    _run(project)
    assert not old.exists() and recent.is_dir() and (folder / __version__).is_dir()
