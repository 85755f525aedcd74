"""Resolved settings: which rules run on which files, and what is excluded.

Configuration comes from the nearest configuration file, found by walking up
from the checked paths (or the current directory) like ruff does: in each
folder `.gradlint.toml`, then `gradlint.toml` (options at the top level), then
a `pyproject.toml` that has a `[tool.gradlint]` table (a `pyproject.toml`
without one is passed over). The configuration is hierarchical, as in ruff: a
file is checked with the settings of the configuration file nearest to it (a
sub-project's own file applies below its folder, in place of the run's; the
files are not merged), each with the same command-line options on top.
`--config PATH` names one file for every checked file instead, `--isolated`
ignores them all.

Selection follows ruff. Selectors are codes, prefixes (`GL1`), `ALL`, or a
severity (`error`, `warning`: the rules whose default severity it is). Within
one layer (the defaults, the configuration file, the command line) the most
specific selector that matches a code decides (`ALL` < severity < shorter
prefix < longer prefix < full code), and on a tie `ignore` wins. A layer that
has `select` starts afresh; a layer with only `extend-select`/`ignore` changes
what the layers before it chose.

Paths in `exclude`, `extend-exclude` and `per-file-ignores` are globs: a
pattern without `/` matches a file or folder name at any depth, a pattern with
`/` matches the path relative to the project root (the configuration file's
folder, or the current directory without one); a pattern that matches a folder
covers everything under it. A `per-file-ignores` pattern starting with `!`
applies to the files it does not match.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import posixpath
import re
import sys
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from gradlint import registry

DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache",
    ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv",
    ".vscode", "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules", "site-packages",
    "venv", "__pycache__", ".gradlint_cache",
)

SEVERITY_SELECTORS = ("error", "warning")
DEFAULT_RUNTIME_TIMEOUT = 10.0
RUNTIME_TIMEOUT_RANGE = (0.001, 86400.0)  # seconds: a sandbox needs a millisecond to start; a day is plenty
DEFAULT_OUTPUT_FORMAT = "concise"
CACHE_DIR_NAME = ".gradlint_cache"  # the result cache's folder at the project root, unless cache-dir says otherwise

# Configuration files looked for in each folder, in order of precedence.
CONFIG_FILENAMES = (".gradlint.toml", "gradlint.toml", "pyproject.toml")


class SettingsError(ValueError):
    """A configuration or selection problem the user must fix (exit 2)."""


# -- selectors ---------------------------------------------------------------


@lru_cache(maxsize=None)
def _severities_of(code: str) -> tuple[str, ...]:
    """The severities `code`'s findings carry: its rule's, then those only some findings carry."""
    rule = registry.load_rule(code)
    return (rule.severity.value, *(other.value for other in rule.other_severities))


def _is_severity(selector: str) -> bool:
    return selector.lower() in SEVERITY_SELECTORS


# A selection is a set of (code, severity) keys: a severity selector (`ignore = ["warning"]`)
# selects findings by their own severity, so a rule some of whose findings are errors and others
# warnings (GL301) can be half selected. When no selector names a severity, a code's findings
# are one key, (code, ANY_SEVERITY), and no rule is imported to find its severities.
ANY_SEVERITY = ""
SelectionKey = tuple[str, str]


def _selector_keys(selector: str, by_severity: bool) -> list[SelectionKey]:
    """The keys `selector` names (`by_severity`: severities are told apart in this selection)."""
    if _is_severity(selector):
        wanted = selector.lower()
        return [(code, wanted) for code in registry.all_codes() if wanted in _severities_of(code)]
    codes = registry.codes_matching(selector)
    if not by_severity:
        return [(code, ANY_SEVERITY) for code in codes]
    return [(code, severity) for code in codes for severity in _severities_of(code)]


def _specificity(selector: str) -> int:
    if selector.upper() == "ALL":
        return 0
    if selector.lower() in SEVERITY_SELECTORS:
        return 1
    return len(selector) + 1


def validate_selector(selector: str) -> None:
    """Raise SettingsError unless `selector` names at least one rule."""
    if not isinstance(selector, str):
        raise SettingsError(f"a rule selector must be a string, not {selector!r}")
    if not selector.strip():
        raise SettingsError("an empty rule selector (name a code like GL101, a prefix like GL1, ALL, error or warning)")
    if selector.upper() == "ALL" or selector.lower() in SEVERITY_SELECTORS:
        return
    if not registry.codes_matching(selector):
        known = ", ".join(registry.all_codes())
        raise SettingsError(
            f"unknown rule selector {selector!r} (known codes: {known}; "
            f"prefixes like GL1; ALL; severities error, warning)"
        )


@dataclass(frozen=True)
class RuleSelection:
    """One layer of selectors (defaults, configuration file, or command line).

    `select=None` keeps what earlier layers enabled; a tuple starts afresh.
    """

    select: Optional[tuple[str, ...]] = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    source: str = field(default="", compare=False)  # where it was written, for --show-settings

    def selectors(self) -> tuple[str, ...]:
        return (*(self.select or ()), *self.extend_select, *self.ignore)


# Every rule but GL003 (unused-noqa): like ruff's RUF100, asked for by name, a prefix or `ALL`.
DEFAULT_SELECTION = RuleSelection(select=("ALL",), ignore=("GL003",))


def resolve_selection(layers: Iterable[RuleSelection], by_severity: Optional[bool] = None) -> frozenset[SelectionKey]:
    """The keys selected after applying each layer in turn (ruff's algorithm; `by_severity`:
    tell severities apart, by default when some layer names one)."""
    layers = list(layers)
    if by_severity is None:
        by_severity = any(_is_severity(selector) for layer in layers for selector in layer.selectors())
    enabled: set[SelectionKey] = set()
    for layer in layers:
        decision: dict[SelectionKey, tuple[int, bool]] = {}
        for is_select, selectors in ((True, (*(layer.select or ()), *layer.extend_select)), (False, layer.ignore)):
            for selector in selectors:
                rank = _specificity(selector)
                for key in _selector_keys(selector, by_severity):
                    current = decision.get(key)
                    if current is None or rank > current[0] or (rank == current[0] and not is_select):
                        decision[key] = (rank, is_select)
        if layer.select is not None:
            enabled = {key for key, (_, on) in decision.items() if on}
        else:
            for key, (_, on) in decision.items():
                (enabled.add if on else enabled.discard)(key)
    return frozenset(enabled)


def resolve_layers(layers: Iterable[RuleSelection]) -> frozenset[str]:
    """The codes enabled after applying each layer in turn: those with any finding selected."""
    return frozenset(code for code, _ in resolve_selection(layers))


# -- path patterns -----------------------------------------------------------


def _normalise_pattern(pattern: str) -> str:
    pattern = pattern.replace("\\", "/") if os.sep == "\\" else pattern
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern.rstrip("/") or pattern


class PathMatcher:
    """Globs compiled once; matches a path, its name, and its folders below the root."""

    def __init__(self, patterns: Iterable[str], root: Path) -> None:
        self.patterns = tuple(patterns)
        self.root = os.path.abspath(root)
        names, relative, absolute = [], [], []
        for raw in self.patterns:
            pattern = _normalise_pattern(raw)
            if pattern.startswith("../") or "/../" in pattern:
                # `..` leaves the root (or an anchored folder): match it as the absolute path it names
                if not os.path.isabs(pattern):
                    pattern = self.root.replace(os.sep, "/").rstrip("/") + "/" + pattern
                pattern = posixpath.normpath(pattern)
            variants = [pattern]
            if pattern.startswith("**/"):  # `**/x` also matches `x` at the root
                variants.append(pattern[3:])
            elif "/**/" in pattern and os.path.isabs(pattern):  # `/a/**/x` also matches `/a/x`
                variants.append(pattern.replace("/**/", "/", 1))
            for variant in variants:
                regex = fnmatch.translate(variant)
                if os.path.isabs(variant):
                    absolute.append(regex)
                elif "/" in variant:
                    relative.append(regex)
                else:
                    names.append(regex)
        self._names = _union(names)
        self._relative = _union(relative)
        self._absolute = _union(absolute)

    def relative(self, path: Union[str, Path]) -> Optional[str]:
        """`path` relative to the root (posix), or None when it lies outside."""
        absolute = os.path.abspath(path)
        if absolute == self.root:
            return ""
        prefix = self.root.rstrip(os.sep) + os.sep
        if not absolute.startswith(prefix):
            return None
        return absolute[len(prefix):].replace(os.sep, "/")

    def matches_one(self, path: Union[str, Path]) -> bool:
        """True when the path itself (not its folders) matches a pattern."""
        return self._matches_absolute(os.path.abspath(path))

    def _matches_absolute(self, absolute: str) -> bool:
        name = os.path.basename(absolute)
        if self._names is not None and self._names.match(name):
            return True
        if self._absolute is not None and self._absolute.match(absolute.replace(os.sep, "/")):
            return True
        if self._relative is not None:
            relative = self.relative(absolute)
            if relative and self._relative.match(relative):
                return True
        return False

    def matches(self, path: Union[str, Path]) -> bool:
        """True when the path or one of its folders (below the root) matches."""
        if not self.patterns:
            return False
        absolute = os.path.abspath(path)
        if self._matches_absolute(absolute):
            return True
        if self.relative(absolute) is None:
            return False  # outside the project: only the path itself counts
        current = os.path.dirname(absolute)
        while current != self.root and len(current) > len(self.root):
            if self._matches_absolute(current):
                return True
            current = os.path.dirname(current)
        return False


def _union(regexes: list[str]) -> "Optional[re.Pattern[str]]":
    if not regexes:
        return None
    return re.compile("|".join(f"(?:{regex})" for regex in regexes))


# -- settings ----------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Everything a check run needs to know, already resolved.

    `select`/`extend_select`/`ignore` are the last selection layer;
    `base_selections` the layers before it (defaults, configuration file).

    Hierarchical configuration: the settings of a run whose configuration file was
    searched for (not named by `--config`, not `--isolated`) have `search_start`,
    the folder the search began in. A file below it whose folder, or a folder in
    between, holds a configuration file of its own is checked with that file's
    settings (`for_file`), built with the same command line (`overrides`); every
    per-file question (`codes_for`, `is_excluded`...) is answered by them.
    """

    select: Optional[tuple[str, ...]] = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    force_exclude: bool = False
    respect_gitignore: bool = True  # skip what .gitignore / .ignore files ignore (gradlint.ignorefiles)
    runtime_timeout: float = DEFAULT_RUNTIME_TIMEOUT
    output_format: str = DEFAULT_OUTPUT_FORMAT  # how check writes its report (not a per-file setting)
    cache_dir: Optional[Path] = None  # where the result cache lives (None: .gradlint_cache at the project root)
    ignore_noqa: bool = False  # --ignore-noqa: suppression comments hide nothing
    project_root: Optional[Path] = None
    config_path: Optional[Path] = None
    base_selections: tuple[RuleSelection, ...] = ()
    search_start: Optional[Path] = None
    overrides: Optional[Overrides] = field(default=None, compare=False)
    _cache: dict = field(default_factory=dict, init=False, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        for layer in (*self.base_selections, self.selection):
            for selector in layer.selectors():
                validate_selector(selector)
        for _, selectors in self.per_file_ignores:
            for selector in selectors:
                validate_selector(selector)

    @property
    def selection(self) -> RuleSelection:
        return RuleSelection(self.select, self.extend_select, self.ignore)

    @property
    def root(self) -> Path:
        return self.project_root or Path.cwd()

    @property
    def cache_directory(self) -> Path:
        """Where the result cache lives: `cache-dir`, else `.gradlint_cache` at the project root."""
        return self.cache_dir if self.cache_dir is not None else self.root / CACHE_DIR_NAME

    @property
    def by_severity(self) -> bool:
        """Whether some selector (a layer's or a per-file-ignore's) names a severity."""
        if "by_severity" not in self._cache:
            layers = (*(self.base_selections or (DEFAULT_SELECTION,)), self.selection)
            selectors = [s for layer in layers for s in layer.selectors()] + [s for _, given in self.per_file_ignores for s in given]
            self._cache["by_severity"] = any(_is_severity(selector) for selector in selectors)
        return self._cache["by_severity"]

    @property
    def selected(self) -> frozenset[SelectionKey]:
        """The (code, severity) keys selected for every file (before `per-file-ignores`)."""
        if "selected" not in self._cache:
            layers = self.base_selections or (DEFAULT_SELECTION,)
            self._cache["selected"] = resolve_selection((*layers, self.selection), self.by_severity)
        return self._cache["selected"]

    @property
    def enabled(self) -> frozenset[str]:
        """The codes enabled for every file (before `per-file-ignores`): those with a key selected."""
        if "enabled" not in self._cache:
            self._cache["enabled"] = frozenset(code for code, _ in self.selected)
        return self._cache["enabled"]

    def _matcher(self, key: str, patterns: Sequence[str]) -> PathMatcher:
        if key not in self._cache:
            self._cache[key] = PathMatcher(patterns, self.root)
        return self._cache[key]

    def for_file(self, path: Union[str, Path]) -> Settings:
        """The settings that govern `path` (a file, or a folder while discovery decides whether
        to enter it): those of the configuration file nearest to its folder, or these."""
        if self.search_start is None:
            return self
        folder = os.path.dirname(path)  # asked for every file: skip abspath when the folder is known
        if os.path.isabs(folder):
            known = self._cache.get("nearest", {}).get(folder)
            if known is not None:
                return known
        settings = self.for_folder(os.path.dirname(os.path.abspath(path)))
        if os.path.isabs(folder):
            self._cache["nearest"][folder] = settings  # an absolute folder, however spelt, names one folder
        return settings

    def for_folder(self, folder: str) -> Settings:
        """The settings of the files in `folder` (absolute). Raises SettingsError when the
        configuration file that governs it is broken."""
        if self.search_start is None:
            return self
        nearest = self._cache.setdefault("nearest", {})
        settings = nearest.get(folder)
        if settings is None:
            settings = nearest[folder] = self._nearest(folder)
        return settings

    def _nearest(self, folder: str) -> Settings:
        start = str(self.search_start)
        if len(folder) <= len(start) or not folder.startswith(start.rstrip(os.sep) + os.sep):
            return self  # the search for this run's own configuration began at or below it
        config = config_in(Path(folder))
        if config is None:
            return self.for_folder(os.path.dirname(folder))
        return _settings_from(read_config(config), self.overrides or Overrides(), Path(folder), config)

    def codes_for(self, path: str) -> frozenset[str]:
        """The codes enabled for one file, after `per-file-ignores`."""
        governing = self.for_file(path)
        if governing is not self:
            return governing.codes_for(path)
        if not self.per_file_ignores:
            return self.enabled
        return frozenset(code for code, _ in self.selected_for(path))

    def dropped_for(self, path: str) -> frozenset[SelectionKey]:
        """The (code, severity) pairs of the enabled codes whose findings are not reported for
        this file (a severity selector deselected them): empty unless `by_severity`."""
        governing = self.for_file(path)
        if governing is not self:
            return governing.dropped_for(path)
        if not self.by_severity:
            return frozenset()
        selected = self.selected_for(path)
        every = {(code, severity) for code, _ in selected for severity in _severities_of(code)}
        return frozenset(every - selected)

    def selected_for(self, path: str) -> frozenset[SelectionKey]:
        """The keys selected for one file (these settings'), after `per-file-ignores`."""
        keys = self.selected
        if not self.per_file_ignores:
            return keys
        matchers = self._cache.get("per_file")
        if matchers is None:
            matchers = [
                (
                    PathMatcher([pattern.lstrip("!")], self.root),
                    pattern.startswith("!"),  # a negated pattern: every file it does NOT match
                    frozenset(key for selector in selectors for key in _selector_keys(selector, self.by_severity)),
                )
                for pattern, selectors in self.per_file_ignores
            ]
            self._cache["per_file"] = matchers
        for matcher, negated, ignored in matchers:
            if matcher.matches(path) != negated:
                keys = keys - ignored
        return keys

    def relative(self, path: str) -> str:
        """`path` relative to the project root (posix), or as given when outside it."""
        relative = self._matcher("exclude", self.all_excludes).relative(path)
        return relative if relative is not None else Path(path).as_posix()

    @property
    def all_excludes(self) -> tuple[str, ...]:
        return (*self.exclude, *self.extend_exclude)

    def is_excluded(self, path: Union[str, Path]) -> bool:
        """True when the path itself (a file or folder) matches `exclude`/`extend-exclude`
        (those of the settings that govern its folder)."""
        governing = self.for_file(path)
        if governing is not self:
            return governing.is_excluded(path)
        return self._matcher("exclude", self.all_excludes).matches_one(path)

    def is_excluded_with_parents(self, path: Union[str, Path]) -> bool:
        """True when the path or a folder above it (below the project root) is excluded."""
        governing = self.for_file(path)
        if governing is not self:
            return governing.is_excluded_with_parents(path)
        return self._matcher("exclude", self.all_excludes).matches(path)

    def fingerprint(self) -> str:
        """A stable text of what changes results (for the cache key)."""
        enabled = ",".join(sorted(f"{code}:{severity}" for code, severity in self.selected))
        per_file = repr(self.per_file_ignores)
        return f"{enabled}|{per_file}|{self.root}" + ("|ignore-noqa" if self.ignore_noqa else "")

    def describe_for(self, path: Optional[Union[str, Path]]) -> str:
        """`describe` the settings that govern `path` (a folder: the files in it; None: the run)."""
        if path is None or str(path) == "-":
            return self.describe()
        absolute = os.path.abspath(path)
        return self.for_folder(absolute if os.path.isdir(absolute) else os.path.dirname(absolute)).describe()

    def describe(self) -> str:
        """The resolved configuration as text (`gradlint check --show-settings`)."""
        lines = []
        if self.config_path is not None:
            lines.append(f"config file: {self.config_path}")
        else:
            lines.append("config file: none (defaults)")
        if self.search_start is not None:
            lines.append(f"nested config files: each applies below its own folder (searched from {self.search_start})")
        lines.append(f"project root: {self.root}")
        layers = self.base_selections or (DEFAULT_SELECTION,)
        names = ["defaults"] + [
            "configuration file" if layer.source in ("", str(self.config_path)) else f"extended {layer.source}" for layer in layers[1:]
        ]
        for name, layer in zip((*names, "command line"), (*layers, self.selection)):
            parts = []
            if layer.select is not None:
                parts.append(f"select={list(layer.select)}")
            if layer.extend_select:
                parts.append(f"extend-select={list(layer.extend_select)}")
            if layer.ignore:
                parts.append(f"ignore={list(layer.ignore)}")
            if parts:
                lines.append(f"selection ({name}): " + ", ".join(parts))
        enabled = sorted(self.enabled)
        lines.append(f"enabled rules ({len(enabled)}):")
        for code in enabled:
            lines.append(f"  {code} {_describe_rule(code)}{_partly(self, code)}")
        lines.append(f"exclude: {list(self.exclude)}")
        lines.append(f"extend-exclude: {list(self.extend_exclude)}")
        lines.append("per-file-ignores:" + ("" if self.per_file_ignores else " {}"))
        lines.extend(f"  {pattern} = {list(selectors)}" for pattern, selectors in self.per_file_ignores)
        lines.append(f"force-exclude: {str(self.force_exclude).lower()}")
        lines.append(f"respect-gitignore: {str(self.respect_gitignore).lower()}")
        lines.append(f"runtime-timeout: {self.runtime_timeout:g}")
        lines.append(f"output-format: {self.output_format}")
        lines.append(f"cache-dir: {self.cache_directory}")
        return "\n".join(lines) + "\n"


def _partly(settings: "Settings", code: str) -> str:
    """`, only its error findings` for a code only some of whose findings are selected."""
    if not settings.by_severity:
        return ""
    chosen = [severity for selected, severity in sorted(settings.selected) if selected == code]
    return "" if len(chosen) == len(_severities_of(code)) else f", only its {' and '.join(chosen)} findings"


def _describe_rule(code: str) -> str:
    try:
        rule = registry.load_rule(code)
    except Exception as error:  # noqa: BLE001 - a broken rule module must not hide the settings
        return f"(cannot load: {type(error).__name__})"
    return f"{rule.name} ({rule.severity.value})"


# -- configuration files -----------------------------------------------------


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.9/3.10
        import tomli as tomllib
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SettingsError(f"{path}: cannot read the configuration file: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SettingsError(f"{path}: not valid UTF-8 ({error.reason} at byte {error.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: invalid TOML: {error}") from None


def _gradlint_table(path: Path) -> Optional[dict[str, Any]]:
    """The options of a configuration file; None for a pyproject.toml without `[tool.gradlint]`."""
    document = _load_toml(path)
    if path.name != "pyproject.toml":
        return document
    tool = document.get("tool")
    if not isinstance(tool, dict) or "gradlint" not in tool:
        return None
    table = tool["gradlint"]
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [tool.gradlint] must be a table, not {type(table).__name__}")
    return table


def find_config(start: Union[str, Path]) -> Optional[Path]:
    """The nearest configuration file in `start` or a folder above it."""
    current = Path(os.path.abspath(start))
    if current.is_file() or not current.exists():
        current = current.parent
    while True:
        found = config_in(current)
        if found is not None or current.parent == current:
            return found
        current = current.parent


def config_in(folder: Path) -> Optional[Path]:
    """The configuration file of `folder` itself, if it has one."""
    for name in CONFIG_FILENAMES:
        candidate = folder / name
        if candidate.is_file():
            if name != "pyproject.toml" or _gradlint_table(candidate) is not None:
                return candidate
    return None


_LIST_KEYS = ("select", "extend-select", "ignore", "exclude", "extend-exclude")
_TABLE_KEYS = ("per-file-ignores", "extend-per-file-ignores")
KNOWN_KEYS = (
    *_LIST_KEYS, *_TABLE_KEYS, "force-exclude", "respect-gitignore", "runtime-timeout", "output-format", "cache-dir", "extend",
)


@dataclass(frozen=True)
class FileOptions:
    """The validated options of one configuration file."""

    path: Path
    select: Optional[tuple[str, ...]] = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: Optional[tuple[str, ...]] = None
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: Optional[tuple[tuple[str, tuple[str, ...]], ...]] = None
    extend_per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    force_exclude: Optional[bool] = None
    respect_gitignore: Optional[bool] = None
    runtime_timeout: Optional[float] = None
    output_format: Optional[str] = None
    cache_dir: Optional[Path] = None  # absolute (read relative to the file's folder)
    inherited: tuple[RuleSelection, ...] = ()  # the selections of the files it extends, the base first

    @property
    def selections(self) -> tuple[RuleSelection, ...]:
        """Its selection layers: those it inherits through `extend`, then its own."""
        return (*self.inherited, RuleSelection(self.select, self.extend_select, self.ignore, source=str(self.path)))

    @property
    def all_per_file_ignores(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return (*(self.per_file_ignores or ()), *self.extend_per_file_ignores)

    def extending(self, base: FileOptions) -> FileOptions:
        """These options on top of `base`'s (ruff's `extend`): a value given here replaces the
        base's; `extend-*` lists and the selections add to them. The base's folder-relative
        patterns stay relative to its own folder."""
        folder = base.path.parent
        return FileOptions(
            path=self.path,
            select=self.select,
            extend_select=self.extend_select,
            ignore=self.ignore,
            exclude=self.exclude if self.exclude is not None else _anchored(base.exclude, folder),
            extend_exclude=(*(_anchored(base.extend_exclude, folder) or ()), *self.extend_exclude),
            per_file_ignores=self.per_file_ignores if self.per_file_ignores is not None else _anchored_table(base.per_file_ignores, folder),
            extend_per_file_ignores=(*_anchored_table(base.extend_per_file_ignores, folder), *self.extend_per_file_ignores),
            force_exclude=self.force_exclude if self.force_exclude is not None else base.force_exclude,
            respect_gitignore=self.respect_gitignore if self.respect_gitignore is not None else base.respect_gitignore,
            runtime_timeout=self.runtime_timeout if self.runtime_timeout is not None else base.runtime_timeout,
            output_format=self.output_format if self.output_format is not None else base.output_format,
            cache_dir=self.cache_dir if self.cache_dir is not None else base.cache_dir,
            inherited=base.selections,
        )


def _command_line_exclude(overrides: Overrides) -> Optional[tuple[str, ...]]:
    """`--exclude`, its folder-relative patterns relative to the current directory (as in ruff)."""
    if overrides.exclude is None:
        return None
    return _anchored(overrides.exclude, overrides.cwd or Path.cwd())


def _anchored(patterns: Optional[tuple[str, ...]], folder: Path) -> Optional[tuple[str, ...]]:
    """Folder-relative patterns (those with a `/`) made absolute under `folder`; names stay names."""
    if patterns is None:
        return None
    return tuple(_anchor(pattern, folder) for pattern in patterns)


def _anchored_table(table: Optional[tuple[tuple[str, tuple[str, ...]], ...]], folder: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    negated = "!"
    return tuple(
        ((negated + _anchor(pattern[1:], folder)) if pattern.startswith(negated) else _anchor(pattern, folder), codes)
        for pattern, codes in table or ()
    )


def _anchor(pattern: str, folder: Path) -> str:
    normal = _normalise_pattern(pattern)
    if "/" not in normal or os.path.isabs(normal):
        return pattern
    return (folder.as_posix().rstrip("/") + "/" + normal) if os.sep == "/" else os.path.join(str(folder), normal)


def read_config(path: Union[str, Path]) -> FileOptions:
    """Read and validate one configuration file (SettingsError on any problem)."""
    path = Path(os.path.abspath(path))
    if not path.exists():
        raise SettingsError(f"{path}: configuration file not found")
    if not path.is_file():
        raise SettingsError(f"{path}: configuration path is not a file")
    return _read_extending(path, ())


def _read_extending(path: Path, chain: tuple[Path, ...]) -> FileOptions:
    """One configuration file's options on top of those of the file it `extend`s, if any."""
    table = _gradlint_table(path) or {}
    where = f"{path}: [tool.gradlint]" if path.name == "pyproject.toml" else str(path) + ":"
    options = _validate(table, path, where)
    extended = table.get("extend")
    if extended is None:
        return options
    if not isinstance(extended, str) or not extended:
        raise SettingsError(f"{where} extend must be the path of a configuration file, not {_type_name(extended)} {extended!r}")
    base = Path(os.path.abspath(os.path.join(path.parent, os.path.expanduser(os.path.expandvars(extended)))))
    if base == path or base in chain:
        cycle = " -> ".join(str(link) for link in (*chain, path, base))
        raise SettingsError(f"{where} extend makes a cycle: {cycle}")
    if not base.is_file():
        raise SettingsError(f"{where} extend: {base} is not a file")
    return options.extending(_read_extending(base, (*chain, path)))


def _validate(table: Mapping[str, Any], path: Path, where: str) -> FileOptions:
    for key in table:
        if key not in KNOWN_KEYS:
            hint = ""
            if key == "tool":
                hint = f" ({path.name} takes its options at the top level, without a [tool.gradlint] table)"
            else:
                close = difflib.get_close_matches(key.replace("_", "-"), KNOWN_KEYS, n=1)
                if close:
                    hint = f" (did you mean {close[0]!r}?)"
            raise SettingsError(f"{where} unknown option {key!r}{hint}; known options: {', '.join(KNOWN_KEYS)}")
    values: dict[str, Any] = {}
    for key in _LIST_KEYS:
        if key in table:
            values[key] = _string_list(table[key], f"{where} {key}")
    for key in ("select", "extend-select", "ignore"):
        for selector in values.get(key, ()):
            _validate_in(selector, f"{where} {key}")
    per_file: dict[str, list[tuple[str, tuple[str, ...]]]] = {key: [] for key in _TABLE_KEYS}
    for key in _TABLE_KEYS:
        if key not in table:
            continue
        mapping = table[key]
        if not isinstance(mapping, dict):
            raise SettingsError(f"{where} {key} must be a table of glob = [codes], not {_type_name(mapping)}")
        for pattern, selectors in mapping.items():
            codes = _string_list(selectors, f"{where} {key} {pattern!r}")
            for selector in codes:
                _validate_in(selector, f"{where} {key} {pattern!r}")
            per_file[key].append((pattern, codes))
    force_exclude = table.get("force-exclude")
    respect_gitignore = table.get("respect-gitignore")
    for key, flag in (("force-exclude", force_exclude), ("respect-gitignore", respect_gitignore)):
        if flag is not None and not isinstance(flag, bool):
            raise SettingsError(f"{where} {key} must be true or false, not {_type_name(flag)}")
    timeout = table.get("runtime-timeout")
    if timeout is not None:
        timeout = checked_runtime_timeout(timeout, f"{where} runtime-timeout")
    output_format = table.get("output-format")
    if output_format is not None:
        check_output_format(output_format, f"{where} output-format")
    cache_dir = table.get("cache-dir")
    if cache_dir is not None:
        cache_dir = cache_directory_at(cache_dir, path.parent, f"{where} cache-dir")
    return FileOptions(
        path=path,
        select=values.get("select"),
        extend_select=values.get("extend-select", ()),
        ignore=values.get("ignore", ()),
        exclude=values.get("exclude"),
        extend_exclude=values.get("extend-exclude", ()),
        per_file_ignores=tuple(per_file["per-file-ignores"]) if "per-file-ignores" in table else None,
        extend_per_file_ignores=tuple(per_file["extend-per-file-ignores"]),
        force_exclude=force_exclude,
        respect_gitignore=respect_gitignore,
        runtime_timeout=timeout,
        output_format=output_format,
        cache_dir=cache_dir,
    )


def cache_directory_at(value: Any, folder: Path, where: str) -> Path:
    """A `cache-dir` value as an absolute folder: `~` and environment variables expanded, then
    read relative to `folder` (a configuration file's folder, or the current directory)."""
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"{where} must be the path of a folder, not {_type_name(value)} {value!r}")
    return Path(os.path.abspath(os.path.join(folder, os.path.expanduser(os.path.expandvars(value)))))


def checked_runtime_timeout(value: Any, where: str) -> float:
    """`value` as seconds per runtime target; SettingsError unless it is a number in RUNTIME_TIMEOUT_RANGE."""
    low, high = RUNTIME_TIMEOUT_RANGE
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise SettingsError(f"{where} must be a number of seconds from {low:g} to {high:g} (a day), not {value!r}")
    return float(value)


def check_output_format(value: Any, where: str) -> None:
    """Raise SettingsError unless `value` names an output format."""
    from gradlint.render import FORMATS

    if not isinstance(value, str) or value not in FORMATS:
        raise SettingsError(f"{where} must be one of {', '.join(FORMATS)}, not {value!r}")


def _type_name(value: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean", list: "a list", dict: "a table"}.get(
        type(value), type(value).__name__
    )


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SettingsError(f"{where} must be a list of strings, not {_type_name(value)} {value!r}")
    return tuple(value)


def _validate_in(selector: str, where: str) -> None:
    try:
        validate_selector(selector)
    except SettingsError as error:
        raise SettingsError(f"{where}: {error}") from None


# -- building the settings of a run -------------------------------------------


@dataclass(frozen=True)
class Overrides:
    """What the command line says about settings (None: not given)."""

    select: Optional[tuple[str, ...]] = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    config: Optional[str] = None
    isolated: bool = False
    force_exclude: Optional[bool] = None
    respect_gitignore: Optional[bool] = None
    runtime_timeout: Optional[float] = None
    output_format: Optional[str] = None  # --output-format (or GRADLINT_OUTPUT_FORMAT)
    cache_dir: Optional[str] = None  # --cache-dir (or GRADLINT_CACHE_DIR), relative to `cwd`
    ignore_noqa: bool = False  # --ignore-noqa
    exclude: Optional[tuple[str, ...]] = None  # --exclude: replaces the configuration's
    extend_exclude: tuple[str, ...] = ()  # --extend-exclude: adds to it
    cwd: Optional[Path] = None  # where the command line's folder-relative patterns are relative to


def config_search_start(paths: Sequence[Union[str, Path]], cwd: Path, stdin_filename: Optional[str] = None) -> Path:
    """Where the search for the nearest configuration file starts.

    The deepest folder holding every checked path (for stdin: the
    `--stdin-filename`'s folder), or the current directory.
    """
    given = [str(path) for path in paths if str(path) != "-"]
    if not given and stdin_filename:
        given = [stdin_filename]
    if not given:
        return cwd
    absolute = [os.path.abspath(os.path.join(cwd, path)) for path in given]
    try:
        common = os.path.commonpath(absolute)
    except ValueError:  # different drives
        return cwd
    return Path(common if os.path.isdir(common) else os.path.dirname(common))


def load_settings(
    overrides: Optional[Overrides] = None,
    cwd: Optional[Union[str, Path]] = None,
    paths: Sequence[Union[str, Path]] = (),
    stdin_filename: Optional[str] = None,
) -> Settings:
    """THE way a run's settings are built: defaults, then the configuration
    file, then the command line. Raises SettingsError (exit 2) on any problem.
    A configuration file that was searched for makes the settings hierarchical
    (see Settings): configuration files nearer to a checked file take over."""
    overrides = overrides or Overrides()
    cwd = Path(os.path.abspath(cwd or os.getcwd()))
    if overrides.cwd is None:
        overrides = replace(overrides, cwd=cwd)
    search_start: Optional[Path] = None
    if overrides.config is not None:
        config_path: Optional[Path] = Path(os.path.abspath(os.path.join(cwd, overrides.config)))
    elif overrides.isolated:
        config_path = None
    else:
        search_start = config_search_start(paths, cwd, stdin_filename)
        config_path = find_config(search_start)
    options = read_config(config_path) if config_path is not None else None
    given = (("--select", overrides.select or ()), ("--extend-select", overrides.extend_select), ("--ignore", overrides.ignore))
    for where, selectors in given:
        for selector in selectors:
            _validate_in(selector, where)
    if overrides.runtime_timeout is not None:
        checked_runtime_timeout(overrides.runtime_timeout, "--runtime-timeout")
    if overrides.cache_dir is not None:
        cache_directory_at(overrides.cache_dir, cwd, "--cache-dir")
    return _settings_from(options, overrides, cwd, config_path, search_start)


def _settings_from(
    options: Optional[FileOptions],
    overrides: Overrides,
    cwd: Path,
    config_path: Optional[Path],
    search_start: Optional[Path] = None,
) -> Settings:
    """Settings from one configuration file's options (or the defaults) and the command line."""
    layers = [DEFAULT_SELECTION]
    if options is not None:
        layers.extend(options.selections)
    force_exclude = overrides.force_exclude
    if force_exclude is None:
        force_exclude = bool(options and options.force_exclude)
    respect_gitignore = overrides.respect_gitignore
    if respect_gitignore is None:
        respect_gitignore = options is None or options.respect_gitignore is not False
    return Settings(
        select=overrides.select,
        extend_select=tuple(overrides.extend_select),
        ignore=tuple(overrides.ignore),
        base_selections=tuple(layers),
        per_file_ignores=options.all_per_file_ignores if options else (),
        exclude=_command_line_exclude(overrides) or (options.exclude if options and options.exclude is not None else DEFAULT_EXCLUDE),
        extend_exclude=(*(options.extend_exclude if options else ()), *_anchored(overrides.extend_exclude, overrides.cwd or cwd)),
        force_exclude=force_exclude,
        respect_gitignore=respect_gitignore,
        runtime_timeout=overrides.runtime_timeout or (options and options.runtime_timeout) or DEFAULT_RUNTIME_TIMEOUT,
        output_format=overrides.output_format or (options and options.output_format) or DEFAULT_OUTPUT_FORMAT,
        ignore_noqa=overrides.ignore_noqa,
        cache_dir=(
            cache_directory_at(overrides.cache_dir, overrides.cwd or cwd, "--cache-dir")
            if overrides.cache_dir is not None
            else options.cache_dir if options else None
        ),
        # As in ruff, a file named by --config is read relative to the current directory (its
        # patterns, the cache); one that was found is read relative to its own folder.
        project_root=config_path.parent if config_path is not None and overrides.config is None else cwd,
        config_path=config_path,
        search_start=search_start,
        overrides=overrides,
    )
