"""Finding the files to check, and reading them into text.

Discovery skips the usual tool and environment folders and whatever
`exclude`/`extend-exclude` name. A file named explicitly is checked unless
`--force-exclude` is given and it matches an exclude (pre-commit passes files
explicitly). Reading honours a BOM and a coding cookie; anything that cannot be
read or decoded becomes a `GL002 io-error` diagnostic, never an exception.
"""

from __future__ import annotations

import io
import os
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Union

from gradlint.diagnostics import Diagnostic, Position, Severity
from gradlint.registry import DOCS_URL
from gradlint.settings import Settings

PYTHON_SUFFIXES = (".py", ".pyi")


def io_error(filename: str, message: str) -> Diagnostic:
    return Diagnostic(
        code="GL002",
        name="io-error",
        message=message,
        filename=filename,
        start=Position(1, 1),
        end=Position(1, 1),
        severity=Severity.ERROR,
        url=DOCS_URL.format(code="GL002"),
    )


@dataclass(frozen=True)
class Discovery:
    """What discovery found: files to check, and problems with the given paths."""

    files: tuple[Path, ...]
    problems: tuple[Diagnostic, ...]


def discover(paths: Iterable[Union[str, Path]], settings: Settings) -> Discovery:
    found: dict[Path, None] = {}
    problems: list[Diagnostic] = []
    for given in paths:
        path = Path(given)
        absolute = Path(os.path.abspath(path))
        if path.is_dir():
            if settings.is_excluded(absolute) and settings.force_exclude:
                continue
            for file in _walk(absolute, settings, problems):
                found.setdefault(file, None)
        elif path.is_file() or path.exists():
            if settings.force_exclude and _excluded_with_parents(absolute, settings):
                continue
            found.setdefault(absolute, None)
        elif path.is_symlink():
            problems.append(io_error(str(absolute), "broken symbolic link: its target does not exist"))
        else:
            problems.append(io_error(str(absolute), "no such file or directory"))
    return Discovery(tuple(found), tuple(problems))


def _excluded_with_parents(path: Path, settings: Settings) -> bool:
    root = settings.project_root
    current = path
    while True:
        if settings.is_excluded(current):
            return True
        if current.parent == current or (root is not None and current == root):
            return False
        current = current.parent


def _walk(root: Path, settings: Settings, problems: list[Diagnostic]) -> Iterator[Path]:
    seen_dirs: set[tuple[int, int]] = set()

    def on_error(error: OSError) -> None:
        problems.append(io_error(str(error.filename or root), f"cannot list directory: {error.strerror or error}"))

    for directory, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=True):
        try:
            stat = os.stat(directory)
            key = (stat.st_dev, stat.st_ino)
        except OSError:
            continue
        if key in seen_dirs:  # a symlink loop
            dirnames[:] = []
            continue
        seen_dirs.add(key)
        base = Path(directory)
        dirnames[:] = sorted(name for name in dirnames if not settings.is_excluded(base / name))
        for name in sorted(filenames):
            if name.endswith(PYTHON_SUFFIXES):
                file = base / name
                if not settings.is_excluded(file):
                    yield file


@dataclass(frozen=True)
class ReadResult:
    """A file's text, or the diagnostic saying why it has none."""

    text: Optional[str] = None
    data: Optional[bytes] = None
    encoding: str = "utf-8"
    problem: Optional[Diagnostic] = None


def read_source(path: Path) -> ReadResult:
    filename = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ReadResult(problem=io_error(filename, "file vanished before it could be read"))
    except IsADirectoryError:
        return ReadResult(problem=io_error(filename, "is a directory, not a file"))
    except PermissionError:
        return ReadResult(problem=io_error(filename, "permission denied: cannot read the file"))
    except OSError as error:
        return ReadResult(problem=io_error(filename, f"cannot read the file: {error.strerror or error}"))
    return decode_source(data, filename)


def decode_source(data: bytes, filename: str) -> ReadResult:
    if b"\x00" in data:
        return ReadResult(data=data, problem=io_error(filename, "binary file (contains NUL bytes): not Python source"))
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        return ReadResult(data=data, problem=io_error(filename, f"cannot decode: {error}"))
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        reason = error.reason if isinstance(error, UnicodeDecodeError) else str(error)
        return ReadResult(data=data, problem=io_error(filename, f"cannot decode as {encoding}: {reason}"))
    if text.startswith("\ufeff"):
        text = text[1:]
    return ReadResult(text=text, data=data, encoding=encoding)
