"""The pre-commit hook, for real: a temporary git repository whose commits run gradlint.

Two tests:

- `test_hook_manifest_refuses_buggy_commit_with_installed_gradlint`: a `repo: local`
  hook built from this checkout's `.pre-commit-hooks.yaml` (its entry, file types,
  serial flag), run by the `gradlint` already installed next to this Python. Fast
  (a few seconds): it proves the manifest's command line refuses a buggy commit
  and lets a clean one through.
- `test_hook_installs_from_checkout_and_refuses_buggy_commit` (marked `slow`): the
  way users get the hook. The checkout's working tree (uncommitted changes included,
  as `pre-commit try-repo` would take it) is committed to a shadow repository, a
  `.pre-commit-config.yaml` points at it by path and revision, and pre-commit builds
  the hook's environment itself with pip from that source (needs PyPI or a local
  index/wheelhouse for libcst, numpy, typer and hatchling; about 10 s with a warm pip
  cache, under a minute from scratch). It skips with the reason if the environment
  cannot be installed for lack of network. Deselect with `-m "not slow"`.

Both skip cleanly when git or pre-commit is not available.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Optional

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
MANIFEST = CHECKOUT / ".pre-commit-hooks.yaml"

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
CLEAN = BUGGY.replace("            J[i][j] = -s[i] * s[j]", "            else:\n                J[i][j] = -s[i] * s[j]")
assert CLEAN != BUGGY
INSTALL_TIMEOUT = 900  # seconds; a cold pip install of libcst + numpy + typer stays far below
NETWORK_MARKERS = (
    "Could not find a version",
    "No matching distribution",
    "Temporary failure in name resolution",
    "Failed to establish a new connection",
    "Network is unreachable",
    "ConnectionError",
    "ReadTimeoutError",
    "Max retries exceeded",
    "SSLError",
)


def _require_tools() -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed: cannot build a repository to commit in")
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]' installs it)")
    probe = subprocess.run([sys.executable, "-m", "pre_commit", "--version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"pre-commit is installed but does not run: {probe.stderr.strip() or probe.stdout.strip()}")
    if not MANIFEST.is_file():
        pytest.skip(f"no {MANIFEST.name} in {CHECKOUT} (not a source checkout)")


def _environment(pre_commit_home: Path) -> dict[str, str]:
    """An environment isolated from the user's git configuration and pre-commit cache
    (pip keeps its configuration, so a local index or wheelhouse still applies)."""
    env = dict(os.environ)
    for key in list(env):
        if key.startswith(("GIT_", "PRE_COMMIT")):
            del env[key]
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="gradlint tests",
        GIT_AUTHOR_EMAIL="tests@gradlint.invalid",
        GIT_COMMITTER_NAME="gradlint tests",
        GIT_COMMITTER_EMAIL="tests@gradlint.invalid",
        PRE_COMMIT_HOME=str(pre_commit_home),
        PRE_COMMIT_COLOR="never",
    )
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _git(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = _run(["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args], cwd, env)
    assert result.returncode == 0, f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _commit(repo: Path, env: dict[str, str], name: str, text: str) -> subprocess.CompletedProcess:
    """Stage `name` with `text` and try to commit it (the pre-commit hook runs)."""
    (repo / name).write_text(text)
    _git(["add", name], repo, env)
    return _run(["git", "-c", "commit.gpgsign=false", "commit", "-m", f"add {name}"], repo, env, timeout=INSTALL_TIMEOUT)


def _project(tmp_path: Path, env: dict[str, str], config: str) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    _git(["init", "-q"], repo, env)
    (repo / ".pre-commit-config.yaml").write_text(config)
    _git(["add", ".pre-commit-config.yaml"], repo, env)
    _git(["commit", "-q", "-m", "config"], repo, env)  # no Python staged: no hook runs yet
    return repo


def _manifest_hook() -> dict:
    import yaml  # a dependency of pre-commit

    hooks = yaml.safe_load(MANIFEST.read_text())
    (hook,) = [hook for hook in hooks if hook["id"] == "gradlint"]
    return hook


def _assert_refuses_buggy_then_accepts_clean(repo: Path, env: dict[str, str]) -> None:
    refused = _commit(repo, env, "softmax.py", BUGGY)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, f"the buggy commit went through:\n{output}"
    assert "softmax.py:11:" in output and "GL101" in output, output
    log = _git(["log", "--format=%s"], repo, env).stdout.split()
    assert "softmax.py" not in log
    accepted = _commit(repo, env, "softmax.py", CLEAN)
    output = accepted.stdout + accepted.stderr
    assert accepted.returncode == 0, f"the clean commit was refused:\n{output}"
    assert "gradlint" in output and "Passed" in output, output
    assert _git(["log", "-1", "--format=%s"], repo, env).stdout.strip() == "add softmax.py"


def test_manifest_matches_the_documented_hook() -> None:
    if not MANIFEST.is_file():
        pytest.skip("not a source checkout")
    pytest.importorskip("yaml")
    hook = _manifest_hook()
    assert hook["entry"] == "gradlint check --force-exclude"
    assert hook["language"] == "python"
    assert hook["types_or"] == ["python", "pyi"]
    assert hook["require_serial"] is True


def test_hook_manifest_refuses_buggy_commit_with_installed_gradlint(tmp_path: Path) -> None:
    _require_tools()
    import pre_commit.all_languages

    gradlint = shutil.which("gradlint", path=os.path.dirname(sys.executable))
    if gradlint is None:
        pytest.skip("no installed `gradlint` script next to this Python (pip install -e .)")
    hook = _manifest_hook()
    language = "unsupported" if "unsupported" in pre_commit.all_languages.languages else "system"
    config = textwrap.dedent(
        f"""\
        repos:
        - repo: local
          hooks:
          - id: {hook['id']}
            name: {hook['name']}
            entry: {hook['entry']}
            language: {language}
            types_or: {hook['types_or']}
            require_serial: {str(hook['require_serial']).lower()}
        """
    )
    env = _environment(tmp_path / "pre-commit-home")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    repo = _project(tmp_path, env, config)
    installed = _run([sys.executable, "-m", "pre_commit", "install"], repo, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    _assert_refuses_buggy_then_accepts_clean(repo, env)


def _shadow_checkout(destination: Path, env: dict[str, str]) -> str:
    """Commit the checkout's working tree (what the hook installs from) to a new repository."""
    destination.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "LICENSE"):
        if (CHECKOUT / name).is_file():
            shutil.copy2(CHECKOUT / name, destination / name)
    shutil.copytree(
        CHECKOUT / "gradlint", destination / "gradlint", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    if not (destination / "README.md").exists():  # the package metadata names it
        (destination / "README.md").write_text("gradlint\n")
    _git(["init", "-q"], destination, env)
    _git(["add", "-A"], destination, env)
    _git(["commit", "-q", "-m", "shadow of the working tree"], destination, env)
    return _git(["rev-parse", "HEAD"], destination, env).stdout.strip()


def _network_problem(output: str) -> Optional[str]:
    for marker in NETWORK_MARKERS:
        if marker in output:
            return marker
    return None


@pytest.mark.slow
def test_hook_installs_from_checkout_and_refuses_buggy_commit(tmp_path: Path) -> None:
    _require_tools()
    env = _environment(tmp_path / "pre-commit-home")
    revision = _shadow_checkout(tmp_path / "gradlint-src", env)
    config = textwrap.dedent(
        f"""\
        repos:
        - repo: {tmp_path / 'gradlint-src'}
          rev: {revision}
          hooks:
          - id: gradlint
        """
    )
    repo = _project(tmp_path, env, config)
    installed = _run([sys.executable, "-m", "pre_commit", "install", "--install-hooks"], repo, env, timeout=INSTALL_TIMEOUT)
    output = installed.stdout + installed.stderr
    if installed.returncode != 0:
        log = tmp_path / "pre-commit-home" / "pre-commit.log"
        details = output + (log.read_text() if log.is_file() else "")
        marker = _network_problem(details)
        if marker is not None:
            pytest.skip(f"pre-commit could not install the hook's environment (no package index? {marker!r})")
        pytest.fail(f"pre-commit could not install the hook from the checkout:\n{details}")
    _assert_refuses_buggy_then_accepts_clean(repo, env)
