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

import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from gradlint import __version__
from gradlint import settings as settings_module
from gradlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Position, RuntimeVerdict, Severity

if TYPE_CHECKING:
    from gradlint.api import FileReport
    from gradlint.settings import Settings

CACHE_DIR_NAME = settings_module.CACHE_DIR_NAME
FORMAT = 5  # 2: entries record the sibling modules their findings consulted; 3: and the nested settings' key;
# 4: and the file's invalid directives (warned about on every run, cached or not); 5: and the files
# their imports looked for and did not find (state ABSENT)
ABSENT = "absent"  # the recorded state of a dependency that is not a file (never a content hash: those are hex)
RACY_SECONDS = 2.0
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by gradlint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
GITIGNORE = "# Automatically created by gradlint.\n*\n"


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def code_fingerprint() -> str:
    """Size and mtime of every gradlint module: an edited rule (an editable
    install, a development checkout) invalidates the cache even when the
    version number did not change. An installed release (under site-packages)
    is identified by its version alone."""
    package = Path(__file__).resolve().parent
    if "site-packages" in package.parts or "dist-packages" in package.parts:
        return ""
    parts = []
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


class NotACacheError(OSError):
    """A folder `gradlint clean` was asked to remove that gradlint's cache never made."""


def clear(directory: Path) -> bool:
    """Remove the cache folder `directory`; True when there was one. A folder named by `cache-dir`
    is removed only when gradlint made it (it holds gradlint's CACHEDIR.TAG): a mistyped
    `cache-dir = "~"` must never cost a home folder."""
    if not directory.is_dir() or directory.is_symlink():
        return False
    if directory.name != CACHE_DIR_NAME and not _made_by_gradlint(directory):
        raise NotACacheError(f"{directory} does not hold gradlint's CACHEDIR.TAG; it is not removed")
    import shutil

    shutil.rmtree(directory)
    return True


def _made_by_gradlint(directory: Path) -> bool:
    try:
        return (directory / "CACHEDIR.TAG").read_text(encoding="utf-8", errors="replace") == CACHEDIR_TAG
    except OSError:
        return False


class ResultCache:
    """The cached results of one (gradlint version, settings) pair."""

    def __init__(self, directory: Path, settings: "Settings") -> None:
        self.directory = directory
        key = content_hash(f"{FORMAT}|{__version__}|{code_fingerprint()}|{settings.fingerprint()}".encode())
        self.path = self.directory / __version__ / f"{key}.json"
        self.settings = settings
        self._settings_keys: dict[int, str] = {}  # id of a nested configuration's settings -> its key
        self.entries: dict[str, list[Any]] = self._load()
        self.changed = False
        # content hashes of dependency modules, read at most once per run
        self._dependency_digests: dict[str, Optional[str]] = {}

    # -- reading -----------------------------------------------------------
    def _load(self) -> dict[str, list[Any]]:
        try:
            with open(self.path, "rb") as handle:
                payload = json.loads(handle.read())
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(payload, dict) or payload.get("format") != FORMAT or payload.get("version") != __version__:
            return {}
        entries = payload.get("entries")
        return entries if isinstance(entries, dict) else {}

    def lookup_stat(self, filename: str, stat: os.stat_result) -> "Optional[FileReport]":
        """The cached report when the file's size and mtime are the ones recorded."""
        entry = self.entries.get(filename)
        if not _well_formed(entry) or entry[0] is None:  # type: ignore[index]
            return None
        if entry[0] != stat.st_mtime_ns or entry[1] != stat.st_size:  # type: ignore[index]
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
        """The file's content hash, ABSENT when there is no file at `path` (nothing, a folder), or
        None when it cannot be read (nothing to validate against)."""
        if path not in self._dependency_digests:
            try:
                with open(path, "rb") as handle:
                    self._dependency_digests[path] = content_hash(handle.read())
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                self._dependency_digests[path] = ABSENT
            except OSError:
                self._dependency_digests[path] = None
        return self._dependency_digests[path]

    # -- writing -----------------------------------------------------------
    def refresh(self, filename: str, stat: Optional[os.stat_result], digest: str) -> None:
        """Record the current stat of a file whose content hash was a hit."""
        entry = self.entries.get(filename)
        if _well_formed(entry):
            mtime, size = _stat_key(stat)
            if entry[0] != mtime or entry[1] != size:  # type: ignore[index]
                self.entries[filename] = [mtime, size, digest, *entry[3:]]  # type: ignore[index]
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
        for path in report.dependencies:
            dependency_digest = self._dependency_digest(path)
            if dependency_digest is None:
                return  # an unreadable dependency: nothing to validate against
            dependencies.append([path, dependency_digest])
        mtime, size = _stat_key(stat)
        invalid = [[directive.row, directive.kind] for directive in report.invalid_directives]
        self.entries[filename] = [mtime, size, digest, diagnostics, dependencies, self._settings_key(filename), invalid]
        self.changed = True

    def save(self) -> None:
        """Write the cache atomically; any failure leaves the old one (or none)."""
        if not self.changed:
            return
        import tempfile

        try:
            self._prepare_directory()
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for name, text in (("CACHEDIR.TAG", CACHEDIR_TAG), (".gitignore", GITIGNORE)):
            marker = self.directory / name
            if not marker.exists():
                marker.write_text(text, encoding="utf-8")


def _stat_key(stat: Optional[os.stat_result]) -> tuple[Optional[int], Optional[int]]:
    if stat is None:
        return None, None
    if time.time() - stat.st_mtime < RACY_SECONDS:
        return None, stat.st_size  # racily clean: re-hash next time
    return stat.st_mtime_ns, stat.st_size


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
            isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and _dependency_state(item[1])
            for item in entry[4]
        )
        and isinstance(entry[6], list)
        and all(
            isinstance(item, list) and len(item) == 2 and type(item[0]) is int and isinstance(item[1], str)
            for item in entry[6]
        )
    )


def _dependency_state(value: object) -> bool:
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
