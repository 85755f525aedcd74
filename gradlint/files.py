"""Finding the files to check, and reading them into text.

Discovery walks the given folders for `.py` and `.pyi` files, skipping the
usual tool and environment folders, whatever `exclude`/`extend-exclude`
name, and (`respect-gitignore`, as in ruff) what git ignores (see
gradlint.ignorefiles). A file named explicitly is checked whatever its
suffix, unless `--force-exclude` is given and it (or a folder above it, below the project
root) matches an exclude: pre-commit passes files explicitly. Symbolic links
to folders are followed once: a folder already visited (a symlink loop, or
two links to one folder) is not walked again.

Reading never raises. Anything that cannot be read or decoded becomes a
`GL002 io-error` diagnostic saying why: a path that does not exist or vanished
during the run, a broken symlink or a symlink loop, permission denied, a
folder or a special file (FIFO, socket, device) where a file was expected,
binary content, UTF-16/32 text, an unknown or wrong coding cookie, or bytes
that do not decode (reported at the row where decoding failed). Decoding
honours a UTF-8 BOM and a PEP 263 coding cookie; line endings are kept as they
are (CRLF, LF, CR or mixed).
"""

from __future__ import annotations

import codecs
import errno
import io
import os
import stat
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Optional, Union

from gradlint.diagnostics import Diagnostic, Position, Severity
from gradlint.registry import DOCS_URL
from gradlint.settings import Settings

PYTHON_SUFFIXES = (".py", ".pyi")

# Files larger than this are not read: no hand-written gradient code is 10 MB, and
# libcst needs about 0.5 GB of memory per MB of source to parse it.
MAX_FILE_BYTES = 10 * 1024 * 1024


def io_error(filename: str, message: str, row: int = 1, column: int = 1) -> Diagnostic:
    """A GL002 diagnostic: `filename` could not be checked, and why."""
    return Diagnostic(
        code="GL002",
        name="io-error",
        message=message,
        filename=filename,
        start=Position(row, column),
        end=Position(row, column),
        severity=Severity.ERROR,
        url=DOCS_URL.format(code="GL002"),
    )


@dataclass(frozen=True)
class Discovery:
    """What discovery found: files to check, and problems with the given paths."""

    files: tuple[Path, ...]
    problems: tuple[Diagnostic, ...]


def discover(paths: Iterable[Union[str, Path]], settings: Settings) -> Discovery:
    """The files to check under `paths` (in order, without duplicates). Each path and folder is
    judged by the settings that govern it (hierarchical configuration), so a broken configuration
    file below the run's own raises SettingsError here, before anything is checked."""
    found: dict[Path, None] = {}
    problems: list[Diagnostic] = []
    for given in paths:
        absolute = Path(os.path.abspath(given))
        try:
            mode = os.stat(absolute).st_mode
        except OSError as error:
            problems.append(io_error(str(absolute), missing_reason(absolute, error)))
            continue
        governing = settings.for_file(absolute)
        if governing.force_exclude and is_force_excluded(absolute, governing):
            continue
        if stat.S_ISDIR(mode):
            for file in _walk(absolute, settings, problems):
                found.setdefault(file, None)
        else:
            settings.for_file(absolute)  # the settings it will be checked with
            found.setdefault(absolute, None)
    return Discovery(tuple(found), tuple(problems))


def is_force_excluded(path: Union[str, Path], settings: Settings) -> bool:
    """True when `--force-exclude` drops this explicitly named path: it or a
    folder above it (below the project root) matches an exclude."""
    return settings.is_excluded_with_parents(path)


def missing_reason(path: Path, error: OSError) -> str:
    """Why `os.stat(path)` failed, in words."""
    if error.errno == errno.ELOOP:
        return "symbolic link loop: the link resolves to itself, so there is no file to read"
    if isinstance(error, FileNotFoundError):
        if os.path.islink(path):
            return f"broken symbolic link: its target {os.readlink(path)!r} does not exist"
        return "no such file or directory"
    if isinstance(error, PermissionError):
        return "permission denied: cannot access the path"
    return f"cannot access the path: {error.strerror or error}"


def _walk(root: Path, settings: Settings, problems: list[Diagnostic]) -> Iterator[Path]:
    from gradlint.ignorefiles import IgnoreFiles

    seen_dirs: set[tuple[int, int]] = set()
    ignore_files = IgnoreFiles(str(root))

    def on_error(error: OSError) -> None:
        where = str(error.filename or root)
        if isinstance(error, FileNotFoundError):
            if os.path.islink(where):
                return  # a broken link to a folder: nothing to check there
            reason = "the folder vanished during the run"
        elif isinstance(error, PermissionError):
            reason = "permission denied: cannot list the folder"
        else:
            reason = f"cannot list the folder: {error.strerror or error}"
        problems.append(io_error(where, reason))

    # A link to a folder met on the way is not followed (as ruff and git: it may lead anywhere, a
    # virtualenv or the whole disk); a linked folder named on the command line is walked.
    for directory, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        try:
            info = os.stat(directory)
        except OSError:
            dirnames[:] = []
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen_dirs:  # a symlink loop, or a second link to a folder already walked
            dirnames[:] = []
            continue
        seen_dirs.add(key)
        ignore_files.enter(directory, dirnames, filenames)
        ignored = ignore_files.ignored if settings.for_folder(directory).respect_gitignore else _nothing_ignored
        dirnames[:] = sorted(
            name for name in dirnames
            if not settings.is_excluded(os.path.join(directory, name)) and not ignored(os.path.join(directory, name), True)
        )
        for name in sorted(filenames):
            if name.endswith(PYTHON_SUFFIXES):
                file = os.path.join(directory, name)
                if not settings.is_excluded(file) and not ignored(file, False):
                    yield Path(file)


def _nothing_ignored(path: str, is_folder: bool) -> bool:
    return False


@dataclass(frozen=True)
class ReadResult:
    """A file's text, or the diagnostic saying why it has none."""

    text: Optional[str] = None
    data: Optional[bytes] = None
    encoding: str = "utf-8"
    problem: Optional[Diagnostic] = None


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def read_source(path: Union[str, Path], max_bytes: Optional[int] = MAX_FILE_BYTES) -> ReadResult:
    """Read and decode one file; every failure becomes a GL002 diagnostic.

    A file larger than `max_bytes` (None: no limit) is not read."""
    filename = str(path)
    try:
        # Non-blocking open so that a FIFO named *.py cannot hang the run.
        descriptor = os.open(filename, os.O_RDONLY | _NONBLOCK | _BINARY)
    except OSError as error:
        return ReadResult(problem=io_error(filename, _unreadable_reason(Path(filename), error)))
    try:
        info = os.fstat(descriptor)
        mode = info.st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else special_kind(mode)
            return ReadResult(problem=io_error(filename, f"not a regular file ({kind}): nothing to check"))
        if max_bytes is not None and info.st_size > max_bytes:
            message = (
                f"file too large to check ({info.st_size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB): "
                "generated code? exclude it with extend-exclude"
            )
            return ReadResult(problem=io_error(filename, message))
        with os.fdopen(descriptor, "rb", closefd=True) as stream:
            descriptor = -1
            data = stream.read()
    except OSError as error:
        return ReadResult(problem=io_error(filename, _unreadable_reason(Path(filename), error)))
    finally:
        if descriptor >= 0:
            os.close(descriptor)
    return decode_source(data, filename)


def special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _unreadable_reason(path: Path, error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        if os.path.islink(path):
            return missing_reason(path, error)
        return "the file vanished during the run, before it could be read"
    if error.errno == errno.ELOOP:
        return missing_reason(path, error)
    if isinstance(error, IsADirectoryError):
        return "not a regular file (a folder): nothing to check"
    try:
        mode = os.stat(path).st_mode  # a socket cannot be opened at all (ENXIO): say what it is
    except OSError:
        mode = stat.S_IFREG
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return f"not a regular file ({special_kind(mode)}): nothing to check"
    if isinstance(error, PermissionError):
        return "permission denied: cannot read the file"
    return f"cannot read the file: {error.strerror or error}"


_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def decode_source(data: bytes, filename: str) -> ReadResult:
    """Decode a file's bytes as Python source (BOM, coding cookie, UTF-8 default)."""
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            return ReadResult(
                data=data,
                problem=io_error(
                    filename,
                    f"{name}-encoded text (byte order mark): Python source must use an ASCII-compatible encoding such as UTF-8",
                ),
            )
    if b"\x00" in data:
        return ReadResult(data=data, problem=io_error(filename, "binary file (contains NUL bytes): not Python source"))
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        reason = str(error.msg if hasattr(error, "msg") else error)
        if "invalid or missing encoding declaration" in reason:
            # The first two lines do not decode: let the decoder below say where.
            encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
        elif reason.startswith("encoding problem: utf-8"):
            message = (
                "cannot decode: the file starts with a UTF-8 byte order mark but its coding cookie declares "
                "another encoding (with a BOM Python accepts only `coding: utf-8`)"
            )
            return ReadResult(data=data, problem=io_error(filename, message))
        else:  # an unknown codec in the coding cookie
            return ReadResult(data=data, problem=io_error(filename, f"cannot decode: {reason} (in the coding cookie)"))
    body, codec = data, encoding
    if encoding == "utf-8-sig" and data.startswith(codecs.BOM_UTF8):
        body, codec = data[len(codecs.BOM_UTF8) :], "utf-8"  # positions count from after the BOM
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as error:
        row = body.count(b"\n", 0, error.start) + 1
        line_start = body.rfind(b"\n", 0, error.start) + 1
        column = error.start - line_start + 1
        byte = body[error.start : error.start + 1].hex()
        return ReadResult(
            data=data,
            problem=io_error(
                filename,
                f"cannot decode as {codec}: byte 0x{byte} at row {row}, column {column} ({error.reason}); "
                "save the file as UTF-8 or declare its encoding with a coding cookie",
                row,
                column,
            ),
        )
    except LookupError as error:  # pragma: no cover - detect_encoding already validates the codec
        return ReadResult(data=data, problem=io_error(filename, f"cannot decode: {error}"))
    except (UnicodeError, ValueError) as error:  # codecs that fail otherwise: `undefined`, `punycode`, `idna`...
        return ReadResult(data=data, problem=io_error(filename, f"cannot decode as {codec}: {error}"))
    if codec != "utf-8" and not _encodable(text):  # `unicode_escape`, `utf-7`: "\ud800" decodes to a lone surrogate
        message = f"cannot decode as {codec}: the text holds a lone surrogate, which Python source cannot"
        return ReadResult(data=data, problem=io_error(filename, message))
    if text.startswith("\ufeff"):
        text = text[1:]
    return ReadResult(text=text, data=data, encoding=encoding)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_stdin(stream: BinaryIO, filename: str) -> ReadResult:
    """Read source text from a binary stream (stdin) with the same decoding and the same size
    limit as files (the bytes are kept either way: `--fix` passes them through)."""
    try:
        data = stream.read()
    except OSError as error:
        return ReadResult(problem=io_error(filename, f"cannot read standard input: {error.strerror or error}"))
    if len(data) > MAX_FILE_BYTES:
        message = (
            f"standard input too large to check ({len(data) / 2**20:.1f} MB; the limit is {MAX_FILE_BYTES / 2**20:.0f} MB)"
        )
        return ReadResult(data=data, problem=io_error(filename, message))
    return decode_source(data, filename)
