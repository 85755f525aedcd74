"""The result cache: a file whose content has not changed is not checked again.

Results are keyed by the file's content hash (BLAKE2b of its bytes), gradlint's
version (and the sizes and mtimes of its own modules, so that editing a rule in
a development checkout invalidates results too) and the resolved settings
(`Settings.fingerprint()`): one cache file per key, under `.gradlint_cache/`
at the project root, which holds a `CACHEDIR.TAG` (backup tools skip it) and
a `.gitignore` of `*`. A file governed by a nested configuration file
(hierarchical configuration) is keyed on that file's settings too: an entry
records their fingerprint's hash.

Reading and hashing every file of a big tree would cost as much as the
pre-check, so, like git and ruff, an entry also records the file's size and
modification time: when both are unchanged the stored content hash is trusted
without reading the file. A file modified within a couple of seconds of being
read is stored without its modification time (it could change again within
the same timestamp tick), so the next run re-hashes it.

Findings may depend on other files: GL203 follows imports into sibling modules
of the package (`FileReport.dependencies`). An entry records each such file's
path and state, its content hash or ABSENT (a module an import looked for and
did not find, a package's `__init__.py` that would shadow a module), and is a
hit only while every one of them is still in that state, so editing an imported
module, or adding the module an unresolved import names, re-checks its importers.

What is cached is the file's final `FileReport` (after suppression comments),
serialised to JSON field by field so that it round-trips exactly. Files with a
read problem (GL002) or a rule crash are never cached. A corrupt or foreign
cache file is ignored (and rewritten); a cache that cannot be written is
silently skipped: the cache only ever makes a run faster, never different.
"""

from __future__ import annotations

import json
import os
import re
import stat as stat_module
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

# hashlib.blake2b is this module's (hashlib never takes OpenSSL's); importing hashlib would also load
# OpenSSL (_hashlib): some 2.5 ms of every run that parses a file (the package model hashes it).
try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

from gradlint import __version__
from gradlint import settings as settings_module
from gradlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Position, RuntimeVerdict, Severity

if TYPE_CHECKING:
    from gradlint.api import FileReport
    from gradlint.settings import Settings

CACHE_DIR_NAME = settings_module.CACHE_DIR_NAME
FORMAT = 6  # 2: entries record the sibling modules their findings consulted; 3: and the nested settings' key;
# 4: and the file's invalid directives (warned about on every run, cached or not); 5: and the files
# their imports looked for and did not find (state ABSENT); 6: a file's stat stamp is its mtime, ctime,
# inode and device (an edit that keeps the size and puts the mtime back is seen, as git sees it)
ABSENT = "absent"  # the recorded state of a dependency that is not a file (never a content hash: those are hex)
RACY_SECONDS = 2.0
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by gradlint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
GITIGNORE = "# Automatically created by gradlint.\n*\n"
_MARKERS = {"CACHEDIR.TAG": CACHEDIR_TAG, ".gitignore": GITIGNORE}


def content_hash(data: bytes) -> str:
    return blake2b(data, digest_size=16).hexdigest()


def code_fingerprint() -> str:
    """What made a result, besides gradlint's version number: the size and mtime of every gradlint
    module (an edited rule in a checkout, or a pre-commit `rev:` moved to another commit with the
    same version), the Python that ran it (GL001's message is Python's) and the libcst that
    parsed (its version file's stamp, found without importing it: a warm run imports no libcst)."""
    package = Path(__file__).resolve().parent
    parts = [sys.version, _libcst_stamp()]
    for directory, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(name for name in dirnames if name != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py"):
                try:
                    stat = os.stat(os.path.join(directory, name))
                except OSError:
                    continue
                parts.append(f"{os.path.relpath(os.path.join(directory, name), package)}:{stat.st_size}:{stat.st_mtime_ns}")
    return content_hash("\n".join(parts).encode())


def _libcst_stamp() -> str:
    for entry in sys.path:
        version_file = os.path.join(entry or ".", "libcst", "_version.py")
        try:
            stat = os.stat(version_file)
        except OSError:
            continue
        return f"libcst:{version_file}:{stat.st_size}:{stat.st_mtime_ns}"
    return "libcst:?"


class NotACacheError(OSError):
    """A folder that is not gradlint's cache: it is never marked, written or emptied."""


def is_gradlint_cache(directory: Path) -> bool:
    """Whether `directory` is a gradlint cache folder: named `.gradlint_cache`, or holding
    gradlint's CACHEDIR.TAG. Only such a folder is ever written to or emptied."""
    return directory.name == CACHE_DIR_NAME or _read_small(directory / "CACHEDIR.TAG") == CACHEDIR_TAG


def usable_cache_folder(directory: Path) -> bool:
    """Whether the cache may live in `directory`: it does not exist yet, is empty, or is a gradlint
    cache folder. A folder holding other files (a `cache-dir` naming a project or a home folder)
    is never used: its CACHEDIR.TAG and `*` .gitignore would hide it from backups and git."""
    try:
        return not directory.exists() or is_gradlint_cache(directory) or not any(directory.iterdir())
    except OSError:
        return False


def clear(directory: Path) -> bool:
    """Empty the gradlint cache folder `directory` (see is_gradlint_cache; any other folder is left
    alone): its version folders (named like a version), temporary files and, when nothing else is
    left, its markers and the folder itself. True when something was removed."""
    if not directory.is_dir() or directory.is_symlink() or not is_gradlint_cache(directory):
        return False
    import shutil

    removed = False
    for entry in list(os.scandir(directory)):
        ours = (entry.is_dir(follow_symlinks=False) and _VERSION.fullmatch(entry.name)) or (
            entry.is_file(follow_symlinks=False) and entry.name.startswith(".tmp-")
        )
        if ours:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed = True
    # The markers go too: a folder that holds other files is no cache (its CACHEDIR.TAG would
    # hide them from backups); a `.gradlint_cache` gets them back when it is next used.
    for name, text in _MARKERS.items():
        marker = directory / name
        if not marker.is_symlink() and _read_small(marker) == text:
            os.unlink(marker)
            removed = True
    try:
        directory.rmdir()  # when nothing else is left in it
    except OSError:
        pass
    return removed


def clear_below(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """`clear` every `.gradlint_cache` folder in `root` and the folders below it (as `ruff
    clean` does), never following a symbolic link: (the folders it emptied, those it could not
    empty and why). One it cannot empty does not stop the others."""
    cleared: list[Path] = []
    failed: list[tuple[Path, str]] = []
    for folder, subfolders, _files in os.walk(root):
        if CACHE_DIR_NAME in subfolders:
            directory = Path(folder) / CACHE_DIR_NAME
            try:
                if clear(directory):
                    cleared.append(directory)
            except OSError as error:
                failed.append((directory, error.strerror or str(error)))
        subfolders[:] = [name for name in subfolders if name not in (CACHE_DIR_NAME, ".git")]
    return cleared, failed


# A version folder's name (gradlint's `__version__`: `0.1.0`, `1.2.3rc1`, `1.0.0.dev3+g1234`).
_VERSION = re.compile(r"\d+(?:\.\d+)+(?:[a-z]+\d*)?(?:\.(?:post|dev)\d+)?(?:\+[\w.]+)?")
_SMALL_READ = 64 * 1024
MAX_CACHE_BYTES = 1 << 30  # a cache file larger than this is not read


def _state_of_dependency(path: str) -> Optional[str]:
    """A dependency's state for the cache: its content hash, or ABSENT (see
    ResultCache._dependency_digest); None when it cannot be read."""
    from gradlint.files import MAX_FILE_BYTES

    try:
        status = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return ABSENT
    except OSError:
        return None
    if not stat_module.S_ISREG(status.st_mode) or status.st_size > MAX_FILE_BYTES:
        return ABSENT
    data = _read_regular(path, MAX_FILE_BYTES)
    return None if data is None else content_hash(data)


def _read_small(path: Path) -> Optional[str]:
    """A small regular file's text (marker files); None for anything else. Never blocks: a named
    pipe called CACHEDIR.TAG must not hang a run."""
    data = _read_regular(str(path), _SMALL_READ)
    return None if data is None else data.decode("utf-8", "replace")


def _read_regular(path: str, limit: int) -> Optional[bytes]:
    """The bytes of a regular file of at most `limit` bytes, opened without blocking; None for a
    missing, special, larger or unreadable file."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        status = os.fstat(descriptor)
        if not stat_module.S_ISREG(status.st_mode) or status.st_size > limit:
            return None
        chunks = []
        while True:
            chunk = os.read(descriptor, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(descriptor)


class ResultCache:
    """The cached results of one (gradlint version, settings) pair."""

    def __init__(self, directory: Path, settings: "Settings") -> None:
        self.directory = directory
        # Before any file is looked at: a file changed since (within RACY_SECONDS of it) is racy.
        self.started = time.time()
        key = content_hash(f"{FORMAT}|{__version__}|{code_fingerprint()}|{settings.fingerprint()}".encode())
        self.path = self.directory / __version__ / f"{key}.json"
        self.settings = settings
        self._settings_keys: dict[int, str] = {}  # id of a nested configuration's settings -> its key
        self.usable = usable_cache_folder(directory)  # else: no cache at all (never read, never written)
        self.entries: dict[str, list[Any]] = self._load() if self.usable else {}
        self.changed = False
        # content hashes of dependency modules, read at most once per run
        self._dependency_digests: dict[str, Optional[str]] = {}

    # -- reading -----------------------------------------------------------
    def _load(self) -> dict[str, list[Any]]:
        data = _read_regular(str(self.path), MAX_CACHE_BYTES)
        if data is None:
            return {}
        try:
            payload = json.loads(data)
        except (ValueError, RecursionError):
            return {}
        if not isinstance(payload, dict) or payload.get("format") != FORMAT or payload.get("version") != __version__:
            return {}
        entries = payload.get("entries")
        return entries if isinstance(entries, dict) else {}

    def lookup_stat(self, filename: str, stat: os.stat_result) -> "Optional[FileReport]":
        """The cached report when the file's size and stat stamp are the ones recorded."""
        entry = self.entries.get(filename)
        if not _well_formed(entry) or entry[0] is None:  # type: ignore[index]
            return None
        if entry[0] != _stamp(stat) or entry[1] != stat.st_size:  # type: ignore[index]
            return None
        if entry[5] != self._settings_key(filename) or not self._dependencies_unchanged(entry[4]):  # type: ignore[index]
            return None
        return _report(filename, entry[3], entry[4], entry[6])  # type: ignore[index]

    def lookup_content(self, filename: str, digest: str) -> "Optional[FileReport]":
        """The cached report when the file's content hash is the one recorded."""
        entry = self.entries.get(filename)
        if not _well_formed(entry) or entry[2] != digest:  # type: ignore[index]
            return None
        if entry[5] != self._settings_key(filename) or not self._dependencies_unchanged(entry[4]):  # type: ignore[index]
            return None
        return _report(filename, entry[3], entry[4], entry[6])  # type: ignore[index]

    def _settings_key(self, filename: str) -> str:
        """"" for a file governed by the run's own settings; else the hash of the fingerprint of
        the nested configuration's settings that govern it."""
        governing = self.settings.for_file(filename)
        if governing is self.settings:
            return ""
        key = self._settings_keys.get(id(governing))  # the settings keep every nested one alive
        if key is None:
            key = self._settings_keys[id(governing)] = content_hash(governing.fingerprint().encode())
        return key

    def _dependencies_unchanged(self, dependencies: list[Any]) -> bool:
        return all(self._dependency_digest(path) == digest for path, digest in dependencies)

    def _dependency_digest(self, path: str) -> Optional[str]:
        """The file's content hash; ABSENT when there is no module the analysis would read at
        `path` (nothing, a folder, a named pipe or device, a file over the size limit: the package
        reads none of these); None when it cannot be read (nothing to validate against)."""
        if path not in self._dependency_digests:
            self._dependency_digests[path] = _state_of_dependency(path)
        return self._dependency_digests[path]

    # -- writing -----------------------------------------------------------
    def refresh(self, filename: str, stat: Optional[os.stat_result], digest: str) -> None:
        """Record the current stat of a file whose content hash was a hit."""
        entry = self.entries.get(filename)
        if _well_formed(entry):
            stamp, size = _stat_key(stat, self.started)
            if entry[0] != stamp or entry[1] != size:  # type: ignore[index]
                self.entries[filename] = [stamp, size, digest, *entry[3:]]  # type: ignore[index]
                self.changed = True

    def store(self, filename: str, stat: Optional[os.stat_result], digest: str, report: "FileReport") -> None:
        if report.crashes:
            return
        try:
            diagnostics = [_encode(d) for d in report.diagnostics]
            # Only what round-trips through JSON exactly is cached.
            decoded = [_decode(item) for item in json.loads(json.dumps(diagnostics))]
        except (TypeError, ValueError, KeyError):
            return
        if any(a != b or a.suppression_rows != b.suppression_rows for a, b in zip(decoded, report.diagnostics)):
            return
        dependencies = []
        seen = dict(report.dependency_states)  # as the analysis saw them: a module edited since is re-checked next time
        for path in report.dependencies:
            dependency_digest = seen.get(path) or self._dependency_digest(path)
            if dependency_digest is None:
                return  # an unreadable dependency: nothing to validate against
            dependencies.append([path, dependency_digest])
        stamp, size = _stat_key(stat, self.started)
        invalid = [[directive.row, directive.kind] for directive in report.invalid_directives]
        self.entries[filename] = [stamp, size, digest, diagnostics, dependencies, self._settings_key(filename), invalid]
        self.changed = True

    def save(self) -> None:
        """Write the cache atomically; any failure leaves the old one (or none). With nothing new
        to write, an existing cache folder still gets a missing or damaged marker back."""
        if not self.usable:
            return
        if not self.changed:
            if self.directory.is_dir():
                try:
                    self._write_markers()
                except OSError:
                    pass
            return
        import tempfile

        try:
            self._prepare_directory()
            self._drop_vanished()
            payload = {"format": FORMAT, "version": __version__, "entries": self.entries}
            handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=self.path.parent)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump(payload, out, separators=(",", ":"))
                os.replace(temporary, self.path)
            except BaseException:
                _remove_quietly(temporary)
                raise
        except OSError:
            return
        self.changed = False

    def _prepare_directory(self) -> None:
        """Make the cache folder: its markers first (each written whole, by a rename; a missing or
        damaged one rewritten), then the version folder. Only in a usable folder (see
        usable_cache_folder)."""
        if not usable_cache_folder(self.directory):
            raise NotACacheError(f"{self.directory} holds other files: it is not gradlint's cache folder")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_markers()
        self.path.parent.mkdir(exist_ok=True)
        _prune(self.path)

    def _write_markers(self) -> None:
        """CACHEDIR.TAG and the `*` .gitignore, each written whole (by a rename) when missing or damaged."""
        import tempfile

        for name, text in _MARKERS.items():
            marker = self.directory / name
            if marker.is_symlink() or _read_small(marker) == text:
                continue
            handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text)
                os.replace(temporary, marker)
            except BaseException:
                _remove_quietly(temporary)
                raise

    def _drop_vanished(self) -> None:
        """Forget the files that no longer exist (renamed, deleted), so the cache does not grow
        with every rename."""
        for filename in [name for name in self.entries if not os.path.exists(name)]:
            del self.entries[filename]


def _stat_key(stat: Optional[os.stat_result], started: float) -> tuple[Optional[str], Optional[int]]:
    """(stat stamp, size) recorded for a file; no stamp for one changed within RACY_SECONDS of the
    run's start or after it (as git does: it could change again within the same timestamp tick
    after it was read, and its stamp would not show it)."""
    if stat is None:
        return None, None
    if max(stat.st_mtime, stat.st_ctime) >= started - RACY_SECONDS:
        return None, stat.st_size  # racily clean: re-hash next time
    return _stamp(stat), stat.st_size


def _stamp(stat: os.stat_result) -> str:
    """What git trusts to say a file is unchanged: its mtime, and its ctime, inode and device,
    which no `touch`, `cp -p` or `rsync -a` can put back."""
    return f"{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}:{stat.st_dev}"


STALE_CACHE_SECONDS = 30 * 24 * 3600  # a cache file (of other settings) unused this long is removed
STALE_TEMPORARY_SECONDS = 3600  # a temporary file left by a run that was killed while saving


def _prune(current: Path) -> None:
    """Remove, beside the cache file `current`, the cache files of other settings not written for
    a month and the temporary files of interrupted saves; and the folders of other gradlint
    versions not written for a month."""
    now = time.time()
    _prune_other_versions(current.parent, now)
    try:
        siblings = list(os.scandir(current.parent))
    except OSError:
        return
    for entry in siblings:
        if entry.path == str(current) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        stale_cache = entry.name.endswith(".json") and age > STALE_CACHE_SECONDS
        stale_temporary = entry.name.startswith(".tmp-") and age > STALE_TEMPORARY_SECONDS
        if stale_cache or stale_temporary:
            _remove_quietly(entry.path)


def _prune_other_versions(version_folder: Path, now: float) -> None:
    import shutil

    try:
        folders = [entry for entry in os.scandir(version_folder.parent) if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for entry in folders:
        if entry.name == version_folder.name or not _VERSION.fullmatch(entry.name):
            continue
        try:
            newest = max((item.stat(follow_symlinks=False).st_mtime for item in os.scandir(entry.path)), default=0.0)
        except OSError:
            continue
        if now - newest > STALE_CACHE_SECONDS:
            shutil.rmtree(entry.path, ignore_errors=True)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _well_formed(entry: object) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 7
        and isinstance(entry[2], str)
        and isinstance(entry[5], str)
        and isinstance(entry[3], list)
        and isinstance(entry[4], list)
        and all(
            isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and _is_dependency_state(item[1])
            for item in entry[4]
        )
        and isinstance(entry[6], list)
        and all(
            isinstance(item, list) and len(item) == 2 and type(item[0]) is int and isinstance(item[1], str)
            for item in entry[6]
        )
    )


def _is_dependency_state(value: object) -> bool:
    """A recorded dependency state: a content hash (32 lowercase hex digits) or ABSENT."""
    return isinstance(value, str) and (value == ABSENT or (len(value) == 32 and all(c in "0123456789abcdef" for c in value)))


def _report(filename: str, encoded: list[Any], dependencies: list[Any], invalid: list[Any]) -> "Optional[FileReport]":
    from gradlint.api import FileReport
    from gradlint.suppression import InvalidDirective

    try:
        diagnostics = tuple(_decode(item) for item in encoded)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None  # a damaged entry is a miss
    return FileReport(
        filename, diagnostics, dependencies=tuple(path for path, _ in dependencies),
        invalid_directives=tuple(InvalidDirective(row, kind) for row, kind in invalid),
    )


# -- Diagnostic <-> JSON, every field ------------------------------------------
def _position(position: Position) -> list[int]:
    return [position.row, position.column]


def _encode(d: Diagnostic) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": d.code,
        "name": d.name,
        "message": d.message,
        "filename": d.filename,
        "start": _position(d.start),
        "end": _position(d.end),
        "severity": d.severity.value,
        "url": d.url,
        "noqa_row": d.noqa_row,
        "suppression_rows": list(d.suppression_rows),
        "fix": None,
        "runtime": None,
    }
    if d.fix is not None:
        data["fix"] = {
            "message": d.fix.message,
            "applicability": d.fix.applicability.value,
            "edits": [[e.content, _position(e.start), _position(e.end)] for e in d.fix.edits],
        }
    if d.runtime is not None:
        runtime = d.runtime.as_dict()
        data["runtime"] = runtime
    return data


def _decode_position(value: Any) -> Position:
    row, column = value
    if not isinstance(row, int) or not isinstance(column, int):
        raise TypeError("position")
    return Position(row, column)


def _optional_str(value: Any) -> Optional[str]:
    if value is not None and not isinstance(value, str):
        raise TypeError("string")
    return value


def _decode(data: dict[str, Any]) -> Diagnostic:
    fix = None
    if data["fix"] is not None:
        raw = data["fix"]
        fix = Fix(
            message=str(raw["message"]),
            edits=tuple(
                Edit(str(content), _decode_position(start), _decode_position(end)) for content, start, end in raw["edits"]
            ),
            applicability=Applicability(raw["applicability"]),
        )
    runtime = None
    if data["runtime"] is not None:
        raw = dict(data["runtime"])
        if raw.get("worst_index") is not None:
            raw["worst_index"] = tuple(raw["worst_index"])
        runtime = RuntimeVerdict(**raw)
    noqa_row = data["noqa_row"]
    if noqa_row is not None and not isinstance(noqa_row, int):
        raise TypeError("noqa_row")
    return Diagnostic(
        code=str(data["code"]),
        name=str(data["name"]),
        message=str(data["message"]),
        filename=str(data["filename"]),
        start=_decode_position(data["start"]),
        end=_decode_position(data["end"]),
        severity=Severity(data["severity"]),
        url=_optional_str(data["url"]),
        fix=fix,
        noqa_row=noqa_row,
        suppression_rows=tuple(int(row) for row in data["suppression_rows"]),
        runtime=runtime,
    )
