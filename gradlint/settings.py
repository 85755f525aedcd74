"""Resolved settings: which rules run on which files, and what is excluded.

Selection follows ruff: a code is enabled when the most specific selector that
matches it comes from `select`/`extend-select`; on a tie `ignore` wins.
Selectors are codes, prefixes (`GL1`), `ALL`, or a severity (`error`,
`warning`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Optional

from gradlint import registry

DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache",
    ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv",
    ".vscode", "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules", "site-packages",
    "venv", "__pycache__", ".gradlint_cache",
)

SEVERITY_SELECTORS = ("error", "warning")


class SettingsError(ValueError):
    """A configuration or selection problem the user must fix (exit 2)."""


def _selector_codes(selector: str) -> list[str]:
    if selector.lower() in SEVERITY_SELECTORS:
        return [code for code in registry.all_codes() if _severity_of(code) == selector.lower()]
    return registry.codes_matching(selector)


@lru_cache(maxsize=None)
def _severity_of(code: str) -> str:
    return registry.load_rule(code).severity.value


def _specificity(selector: str) -> int:
    if selector.upper() == "ALL":
        return 0
    if selector.lower() in SEVERITY_SELECTORS:
        return 1
    return len(selector) + 1


def validate_selector(selector: str) -> None:
    if selector.upper() == "ALL" or selector.lower() in SEVERITY_SELECTORS:
        return
    if not registry.codes_matching(selector):
        known = ", ".join(registry.all_codes())
        raise SettingsError(f"unknown rule selector {selector!r} (known codes: {known}; prefixes like GL1; ALL)")


def resolve_codes(select: tuple[str, ...], ignore: tuple[str, ...]) -> frozenset[str]:
    """The codes enabled by these selectors (most specific selector wins)."""
    decision: dict[str, tuple[int, bool]] = {}
    for enabled, selectors in ((True, select), (False, ignore)):
        for selector in selectors:
            rank = _specificity(selector)
            for code in _selector_codes(selector):
                current = decision.get(code)
                if current is None or rank > current[0] or (rank == current[0] and not enabled):
                    decision[code] = (rank, enabled)
    return frozenset(code for code, (_, enabled) in decision.items() if enabled)


@dataclass(frozen=True)
class Settings:
    """Everything a check run needs to know, already resolved."""

    select: tuple[str, ...] = ("ALL",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    force_exclude: bool = False
    runtime_timeout: float = 10.0
    project_root: Optional[Path] = None
    config_path: Optional[Path] = None
    _cache: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        for selector in (*self.select, *self.extend_select, *self.ignore):
            validate_selector(selector)
        for _, selectors in self.per_file_ignores:
            for selector in selectors:
                validate_selector(selector)

    @property
    def enabled(self) -> frozenset[str]:
        if "enabled" not in self._cache:
            self._cache["enabled"] = resolve_codes((*self.select, *self.extend_select), self.ignore)
        return self._cache["enabled"]

    def codes_for(self, path: str) -> frozenset[str]:
        """The codes enabled for one file, after `per-file-ignores`."""
        codes = self.enabled
        if not self.per_file_ignores:
            return codes
        relative = self.relative(path)
        for pattern, selectors in self.per_file_ignores:
            if _glob_match(relative, pattern) or _glob_match(Path(path).name, pattern):
                codes = codes - frozenset(code for s in selectors for code in _selector_codes(s))
        return codes

    def relative(self, path: str) -> str:
        root = self.project_root or Path.cwd()
        try:
            return Path(path).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return Path(path).as_posix()

    def is_excluded(self, path: Path) -> bool:
        """True when the path (file or folder) matches `exclude`/`extend-exclude`."""
        relative = self.relative(str(path))
        for pattern in (*self.exclude, *self.extend_exclude):
            if _glob_match(path.name, pattern) or _glob_match(relative, pattern):
                return True
            # A pattern naming a folder excludes what is under it.
            if "/" in pattern and (relative + "/").startswith(pattern.rstrip("/") + "/"):
                return True
        return False

    def fingerprint(self) -> str:
        """A stable text of what changes results (for the cache key)."""
        enabled = ",".join(sorted(self.enabled))
        per_file = repr(self.per_file_ignores)
        return f"{enabled}|{per_file}"


def _glob_match(path: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.rstrip("/"))
