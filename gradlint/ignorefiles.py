"""What git ignores is not checked (`respect-gitignore`, on by default, as in ruff).

While discovery walks a folder it skips the files and folders that these say to ignore:
- `.gitignore` files in the walked folders and in the folders above them up to the top of the
  repository (only inside a git repository, where git reads them);
- the repository's `.git/info/exclude`, and the global excludes file (`core.excludesFile` in
  the repository's or the user's git configuration, else `$XDG_CONFIG_HOME/git/ignore`);
- `.ignore` files (ripgrep's convention, which ruff follows too), inside a repository or not.

A file in a deeper folder overrides one above it; in one folder `.ignore` overrides
`.gitignore`; both override `.git/info/exclude`, which overrides the global file. Within one
file the last pattern that matches decides and `!` re-includes (git's rules, as implemented by
pathspec's GitIgnoreSpec, imported only when an ignore file is found). A folder holding `.git`
starts a repository of its own. Files named on the command line are checked whatever these say,
and so is a folder named there: an ignore file above it that ignores it does not apply inside it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Optional

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

GITIGNORE = ".gitignore"
IGNORE = ".ignore"
MAX_IGNORE_FILE_BYTES = 1024 * 1024  # larger ones are not ignore files anyone wrote: passed over


@dataclass(frozen=True)
class _Source:
    """One ignore file: the folder its patterns are relative to, and the patterns."""

    base: str
    spec: GitIgnoreSpec


@dataclass(frozen=True)
class _Folder:
    """What applies in one folder: its repository's top (None outside one) and the ignore
    files that apply to its entries, the strongest first."""

    repository: Optional[str]
    sources: tuple[_Source, ...]


class IgnoreFiles:
    """The ignore files that apply while one folder tree is walked top-down (`enter` each folder
    before asking `ignored` about its entries)."""

    def __init__(self, root: str) -> None:
        self._folders: dict[str, _Folder] = {}
        root = os.path.abspath(root)
        repository = _repository_top(root)
        above = _Folder(repository, _repository_sources(repository) if repository else ())
        # the ignore files of the folders above the root (.gitignore: up to the repository's top)
        parents = []
        current = os.path.dirname(root)
        while True:
            parents.append(current)
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
        for folder in reversed(parents):
            in_repository = repository if repository is not None and _within(folder, repository) else None
            above = _Folder(repository, _own_sources(folder, _names_in(folder), in_repository) + above.sources)
        # The folder given to walk is walked even when an ignore file above it ignores it (as ruff
        # does: `gradlint check build/gen` checks it); such a file would ignore all of it, so it
        # does not apply inside this walk.
        self._above_root = _Folder(above.repository, tuple(source for source in above.sources if not _ignores(source, root, True)))
        self._root = root

    def enter(self, folder: str, dirnames: Iterable[str], filenames: Iterable[str]) -> None:
        """Note what applies in `folder` (absolute), from the names os.walk listed in it."""
        names = set(filenames)
        parent = self._folders.get(os.path.dirname(folder), self._above_root) if folder != self._root else self._above_root
        if ".git" in names or ".git" in dirnames:  # the top of a repository (or a nested one)
            if parent.repository != folder:
                parent = _Folder(folder, _repository_sources(folder))
        sources = _own_sources(folder, names, parent.repository)
        self._folders[folder] = _Folder(parent.repository, sources + parent.sources) if sources else parent

    def ignored(self, path: str, is_folder: bool) -> bool:
        """Whether an entry of an entered folder is ignored."""
        folder = self._folders.get(os.path.dirname(path))
        if folder is None or not folder.sources:
            return False
        for source in folder.sources:
            verdict = _verdict(source, path, is_folder)
            if verdict is not None:
                return verdict
        return False


def _verdict(source: _Source, path: str, is_folder: bool) -> Optional[bool]:
    """True (ignored) or False (re-included) when a pattern of `source` matches `path`, else None."""
    relative = _relative(path, source.base)
    if relative is None:
        return None
    return source.spec.check_file(relative + "/" if is_folder else relative).include


def _ignores(source: _Source, folder: str, is_folder: bool) -> bool:
    return _verdict(source, folder, is_folder) is True


def _names_in(folder: str) -> set[str]:
    return {name for name in (GITIGNORE, IGNORE) if os.path.isfile(os.path.join(folder, name))}


def _own_sources(folder: str, names: "set[str] | Iterable[str]", repository: Optional[str]) -> tuple[_Source, ...]:
    """The ignore files of `folder` itself, the strongest first."""
    found = []
    if IGNORE in names:
        found.append(_read(os.path.join(folder, IGNORE), folder))
    if GITIGNORE in names and repository is not None:
        found.append(_read(os.path.join(folder, GITIGNORE), folder))
    return tuple(source for source in found if source is not None)


def _repository_top(folder: str) -> Optional[str]:
    """The nearest folder at or above `folder` that holds `.git` (a folder, or a file in a worktree)."""
    current = folder
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _repository_sources(top: str) -> tuple[_Source, ...]:
    """`.git/info/exclude`, then the global excludes file: both relative to the repository's top."""
    found = [_read(os.path.join(top, ".git", "info", "exclude"), top)]
    global_file = _global_excludes_file(top)
    if global_file is not None:
        found.append(_read(global_file, top))
    return tuple(source for source in found if source is not None)


def _global_excludes_file(top: str) -> Optional[str]:
    """`core.excludesFile` from git's configuration (the repository's, else the user's: git lets the
    last one read win), else git's default location."""
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    for config in (os.path.join(top, ".git", "config"), os.path.join(home, ".gitconfig"), os.path.join(xdg, "git", "config")):
        value = _core_excludes_file(config)
        if value:
            return os.path.expanduser(value)
    return os.path.join(xdg, "git", "ignore")


def _core_excludes_file(config: str) -> Optional[str]:
    """The `excludesFile` of a git configuration file's `[core]` section (a small reader: git's
    syntax has more than Python's configparser takes)."""
    try:
        if not stat.S_ISREG(os.stat(config).st_mode):
            return None
        with open(config, encoding="utf-8", errors="replace") as handle:
            lines = handle.read(MAX_IGNORE_FILE_BYTES).splitlines()
    except OSError:
        return None
    section, value = "", None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped[1:].split("]", 1)[0].strip().lower()
        elif section == "core" and "=" in stripped:
            key, raw = stripped.split("=", 1)
            if key.strip().lower() == "excludesfile":
                raw = raw.strip()
                value = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw.split(" #", 1)[0].split(" ;", 1)[0].strip()
    return value


def _read(path: str, base: str) -> Optional[_Source]:
    """An ignore file's patterns; None when it cannot be read or holds none."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO named .gitignore would block the read
            return None
        with open(path, "rb") as handle:
            data = handle.read(MAX_IGNORE_FILE_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_IGNORE_FILE_BYTES:
        return None
    lines = data.decode("utf-8", errors="replace").splitlines()
    if not any(line.strip() and not line.startswith("#") for line in lines):
        return None
    spec = _spec(lines)
    if spec is None:  # a pattern git would pass over (`!`, a trailing `\`, `[z-a]`...): drop those alone
        spec = _spec([line for line in lines if _spec([line]) is not None])
    return _Source(base, spec) if spec is not None else None


def _spec(lines: list[str]) -> Optional[GitIgnoreSpec]:
    import warnings

    from pathspec import GitIgnoreSpec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. re's FutureWarning about `[[`
        try:
            return GitIgnoreSpec.from_lines(lines)
        except Exception:  # noqa: BLE001 - pathspec's pattern errors, and re.error from a bad range
            return None


def _within(folder: str, top: str) -> bool:
    return folder == top or folder.startswith(top.rstrip(os.sep) + os.sep)


def _relative(path: str, base: str) -> Optional[str]:
    prefix = base.rstrip(os.sep) + os.sep
    if not path.startswith(prefix):
        return None
    relative = path[len(prefix):]
    return relative.replace(os.sep, "/") if os.sep != "/" else relative
