"""Start-up cost: keep `gradlint check` from importing what the run does not need.

Recent typer releases convert every command-line value through a pydantic
`TypeAdapter`, which imports pydantic (~70 ms) and builds one adapter per option
on every run: a quarter of a one-file pre-commit run. gradlint's options are
plain strings, lists of strings, booleans and numbers, whose conversion needs
none of that. `lighten_typer()` gives typer a converter for exactly those
annotations and leaves every other annotation to typer's own machinery.

It touches a private typer hook, so it is defensive: when the hook is not
there (an older or newer typer), it does nothing and typer works as usual.
"""

from __future__ import annotations

import typing
from typing import Any

_SIMPLE = (str, int, float, bool)


def _plain(annotation: Any) -> Any:
    """`Optional[X]` -> X; other annotations unchanged."""
    if typing.get_origin(annotation) is typing.Union:
        arguments = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(arguments) == 1:
            return arguments[0]
    return annotation


def _kind(annotation: Any) -> Any:
    """The simple type, or (list, simple type), that gradlint converts itself; None otherwise."""
    annotation = _plain(annotation)
    if annotation in _SIMPLE:
        return annotation
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation) or (None,)
        if item in _SIMPLE:
            return (list, item)
    return None


def lighten_typer() -> None:
    """Install the light converter into typer (idempotent, a no-op if unsupported)."""
    try:
        from typer import _coercion, core
        from typer._click.exceptions import BadParameter
    except ImportError:
        return
    original = getattr(core, "build_runtime_param", None)
    base = getattr(_coercion, "RuntimeParam", None)
    if original is None or base is None or getattr(original, "_gradlint_light", False):
        return

    def convert(value: Any, simple: type, param: Any, ctx: Any) -> Any:
        if isinstance(value, simple) and not (simple in (int, float) and isinstance(value, bool)):
            return value
        if simple is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if simple in (int, float) and isinstance(value, str):
            try:
                return simple(value.strip())
            except ValueError:
                pass
        raise BadParameter(f"{value!r} is not a valid {simple.__name__}.", ctx=ctx, param=param)

    class LightRuntimeParam(base):  # type: ignore[misc, valid-type]
        """Conversion of str/int/float/bool values and lists of them, without pydantic."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            kind = _kind(self.annotation)
            if isinstance(kind, tuple):
                items = value if isinstance(value, (list, tuple)) else [value]
                return [convert(item, kind[1], param, ctx) for item in items]
            return convert(value, kind, param, ctx)

    def build_runtime_param(descriptor: Any) -> Any:
        annotation = getattr(descriptor, "annotation", None)
        info = getattr(descriptor, "parameter_info", None)
        custom = info is not None and any(
            getattr(info, attribute, None) is not None for attribute in ("parser", "click_type", "min", "max")
        )
        if _kind(annotation) is None or custom or getattr(descriptor, "file_annotation", None) is not None:
            return original(descriptor)
        try:
            return LightRuntimeParam(parameter_info=info, annotation=annotation)
        except TypeError:
            return original(descriptor)

    build_runtime_param._gradlint_light = True  # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param


# --- Caches for what Python compiles on every start ---------------------------------------------
#
# Two things are compiled afresh in every run, from the same texts each time, at a cost that
# matters to a one-file pre-commit run (about 0.2 s in all) and to every worker:
#
# - `@dataclass` writes each class's __init__, __repr__, __eq__, __hash__ and __setattr__ as
#   source text and compiles it with `exec` when the class is defined: about 0.9 ms for a frozen
#   dataclass on a slow core, most of it compiling. libcst defines some 180 node dataclasses on
#   import: compiling their methods was nearly half of `import libcst` (about 85 of 190 ms).
# - `re.compile` parses a pattern and assembles its matcher program in Python (`re._compiler`,
#   `sre_compile` before 3.11); only the last step, `_sre.compile(pattern, flags, code, ...)`, is
#   C. gradlint's needs, predicates and analysis compile some 130 patterns in a one-file run:
#   about 28 ms.
#
# Python keeps the bytecode of modules in `__pycache__`; these keep what those two steps compile
# beside gradlint's own bytecode, each keyed by its exact input (a dataclass method's source text;
# a pattern's text and flags), so a later run reuses the result instead of compiling the same input
# again: the code object that `exec` would compile, and the arguments the regex compiler gave
# `_sre.compile`, replayed. The same input gives the same result every time (same interpreter, same
# flags), so nothing but the compile time changes. Only gradlint's own patterns (kept_compile) and
# those compiled while a module is imported are kept: a pattern built from what a run checks is
# compiled as usual and never written to disk. Each entry stays marshalled until a run asks for
# it: a run that never imports libcst does not pay for libcst's entries.
#
# They are installed by the `gradlint` command only (gradlint/__main__.py, before anything else is
# imported), and defensively: where `dataclasses` does not call `exec` through its module globals
# (CPython 3.9 to 3.13 do; 3.13 compiles one text per class), or the regex compiler does not call
# `_sre.compile` through its own (3.9 to 3.13 do), that cache does nothing. As with `.pyc` files, a
# warning the regex parser gives while compiling a pattern is given by the run that compiles it.
# They follow Python's own rules for bytecode: `sys.dont_write_bytecode` (`-B`,
# PYTHONDONTWRITEBYTECODE) stops writes, `sys.pycache_prefix` moves the folder, a folder they cannot
# write is skipped silently, and a damaged or foreign file or entry is ignored and replaced.

_CODE_CACHE_LIMIT = 8 * 1024 * 1024  # bytes: a larger file is not read (the cache starts afresh)
_CODE_CACHE_ENTRIES = 4096  # past this, a save keeps only the entries this run used or added


class _KeptCompilations:
    """Compiled values by key, loaded from and saved to one file, each marshalled on its own."""

    def __init__(self, path: Any) -> None:
        import os
        import threading

        self.path = path  # a pathlib.Path, or None where Python keeps no bytecode
        self.known: dict[Any, bytes] = {}  # key -> marshalled value, from the file
        self.new: dict[Any, Any] = {}  # key -> value compiled by this process, not yet saved
        self.used: dict[Any, Any] = {}  # key -> value taken from the file by this process
        self._loaded = False
        self._lock = threading.Lock()
        if hasattr(os, "register_at_fork"):  # a child forked while another thread held the lock starts unlocked
            os.register_at_fork(after_in_child=self._unlock_in_child)

    def _unlock_in_child(self) -> None:
        import threading

        self._lock = threading.Lock()

    def _valid_key(self, key: object) -> bool:
        raise NotImplementedError

    def _valid_value(self, key: Any, value: object) -> bool:
        raise NotImplementedError

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            if self.path is not None:
                self.known = {key: kept for key, kept in _read_kept(self.path).items() if self._valid_key(key)}
            self._loaded = True  # after `known`: another thread that sees it set sees the entries

    def kept(self, key: Any) -> Any:
        """The value compiled for `key` by this run or an earlier one; None if there is none."""
        if not self._loaded:
            self._load()
        value = self.used.get(key)
        if value is None:
            value = self.new.get(key)
        if value is not None:
            return value
        marshalled = self.known.get(key)
        if marshalled is None:
            return None
        import marshal

        try:
            value = marshal.loads(marshalled)
        except Exception:  # noqa: BLE001 - a damaged entry is compiled again
            return None
        if not self._valid_value(key, value):
            return None
        self.used[key] = value
        return value

    def save(self) -> None:
        """Write the entries this process compiled (atomically; silently not where it cannot)."""
        import sys

        if not self.new or self.path is None or sys.dont_write_bytecode:
            return
        import marshal

        with self._lock:
            entries = dict(self.known)
            if len(entries) + len(self.new) > _CODE_CACHE_ENTRIES:
                entries = {key: kept for key, kept in entries.items() if key in self.used}
            for key, value in self.new.items():
                try:
                    entries[key] = marshal.dumps(value)
                except ValueError:
                    pass  # not marshallable: compiled again next time
            payload = marshal.dumps(entries)
            if len(payload) > _CODE_CACHE_LIMIT - _HEADER_SIZE:  # a file the next run would not read
                entries = {key: kept for key, kept in entries.items() if key in self.used or key in self.new}
                payload = marshal.dumps(entries)
            self.known = entries
            self.used.update(self.new)
            self.new = {}
        if len(payload) <= _CODE_CACHE_LIMIT - _HEADER_SIZE:
            _write_kept(self.path, payload)


class GeneratedCode(_KeptCompilations):
    """The compiled methods of dataclasses, by source text."""

    def _valid_key(self, key: object) -> bool:
        return isinstance(key, str)

    def _valid_value(self, key: Any, value: object) -> bool:
        import types

        return isinstance(value, types.CodeType)

    def compiled(self, source: str) -> Any:
        """The code object of `source`, compiled as `exec(source, ...)` would compile it."""
        code = self.kept(source)
        if code is None:
            # dont_inherit: no __future__ flag of this module reaches the generated code (`exec`
            # called from dataclasses compiles with that module's flags: none)
            code = self.new[source] = compile(source, "<string>", "exec", dont_inherit=True)
        return code

    def exec(self, source: Any, globals: Any = None, locals: Any = None, **options: Any) -> None:  # noqa: A002
        """`exec` as dataclasses calls it, with a text compiled at most once across runs."""
        if type(source) is str:
            source = self.compiled(source)
        if globals is None:
            import dataclasses

            globals = vars(dataclasses)  # exec's default: the caller's globals, and the caller is dataclasses
        _BUILTIN_EXEC(source, globals, locals, **options)


class _RecordingSre:
    """The `_sre` module as the regex compiler sees it, noting (per thread) the arguments of the
    last `_sre.compile` call it made; everything else is `_sre`'s own."""

    def __init__(self, real: Any) -> None:
        import threading

        # the compiler reads _sre's helpers per character (`_sre.unicode_iscased`...): held here as
        # instance attributes, they cost a dictionary lookup, as on the module, not a __getattr__ call
        self.__dict__.update((name, value) for name, value in vars(real).items() if name != "compile")
        self.real = real
        self._last = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def compile(self, *args: Any) -> Any:
        self._last.args = args
        return self.real.compile(*args)

    def take(self) -> Any:
        args = getattr(self._last, "args", None)
        self._last.args = None
        return args


class CompiledPatterns(_KeptCompilations):
    """The regex compiler's output (the arguments it gives `_sre.compile`), by pattern and flags."""

    def __init__(self, path: Any, compiler: Any) -> None:
        import threading

        super().__init__(path)
        self.original = compiler.compile
        self.recorder = _RecordingSre(compiler._sre)
        self.marked = threading.local()  # .own: compiling one of gradlint's own patterns (kept_compile)

    def _valid_key(self, key: object) -> bool:
        return (
            isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], (str, bytes)) and type(key[1]) is int
        )

    def _valid_value(self, key: Any, value: object) -> bool:
        # the replayed call must be for this very pattern, with at least the flags asked for
        return (
            isinstance(value, tuple) and len(value) >= 3 and type(value[0]) is type(key[0]) and value[0] == key[0]
            and type(value[1]) is int and value[1] & key[1] == key[1]
        )

    def compile(self, pattern: Any, flags: Any = 0) -> Any:
        """The regex compiler's `compile(pattern, flags)`, replayed where it ran before."""
        if type(pattern) not in (str, bytes) or type(flags) is not int or flags & _RE_DEBUG:
            return self.original(pattern, flags)  # a parsed pattern (re.Scanner), or debug output wanted
        key = (pattern, flags)
        args = self.kept(key)
        if args is not None:
            try:
                return self.recorder.real.compile(*args)
            except Exception:  # noqa: BLE001 - an entry _sre rejects: compile afresh
                pass
        self.recorder.take()
        compiled = self.original(pattern, flags)
        args = self.recorder.take()
        if args is not None and type(args[0]) is type(pattern) and args[0] == pattern and self._keeps():
            self.new[key] = _plain(args)
        return compiled

    def _keeps(self) -> bool:
        """Whether the pattern being compiled may be kept: one of gradlint's own (kept_compile), or one
        a module compiles while it is imported. A pattern built at run time from what is checked (a
        rule's `re.escape(name)`, a configuration's globs) is compiled but never written to disk: it
        would put the checked code's names in gradlint's folder and grow the file with every tree."""
        if getattr(self.marked, "own", False):
            return True
        import sys

        frame = sys._getframe(2)
        while frame is not None:  # the nearest module body on the stack: an import, or the script itself
            if frame.f_code.co_name == "<module>":
                return frame.f_globals.get("__name__") != "__main__"
            frame = frame.f_back
        return False


def _plain(value: Any) -> Any:
    """`value` with int subclasses as plain ints, through lists, tuples and dicts: the program the
    regex compiler hands `_sre.compile` holds its opcodes as named int constants, which marshal
    refuses and `_sre.compile` reads as the ints they are."""
    kind = type(value)
    if kind is list:
        return [_plain(item) for item in value]
    if kind is tuple:
        return tuple(_plain(item) for item in value)
    if kind is dict:
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, int) and kind is not int and kind is not bool:
        return int(value)
    return value


_BUILTIN_EXEC = exec
_RE_DEBUG = 128  # re.DEBUG: such a compile prints the program, so it is never replayed
_GENERATED: "GeneratedCode | None" = None
_PATTERNS: "CompiledPatterns | None" = None


def _kept_path(name: str) -> Any:
    """Where gradlint's bytecode is kept (honouring sys.pycache_prefix) for a file `name`, or None."""
    import sys
    from importlib.util import cache_from_source
    from pathlib import Path

    if sys.implementation.cache_tag is None:
        return None
    try:
        pyc = Path(cache_from_source(str(Path(__file__).with_name(f"{name}.py"))))
    except (NotImplementedError, ValueError):
        return None
    return pyc.with_suffix(".marshal")


# A file is Python's magic number and exact version (another Python's file is ignored: the regex
# compiler's output has changed between patch releases of one minor version, which share the magic
# number), the CRC-32 of the payload (a damaged file is ignored whole, before unmarshalling: a
# flipped bit inside an entry could still unmarshal to other code, and a few damaged bytes can ask
# marshal for billions of items), then the payload: the entries marshalled as one dictionary of
# marshalled values.
_HEADER_SIZE = 12


def _file_header() -> bytes:
    import sys
    from importlib.util import MAGIC_NUMBER

    return MAGIC_NUMBER + sys.hexversion.to_bytes(4, "little")


def _write_kept(path: Any, payload: bytes) -> None:
    """Write a file of entries atomically, with the mode Python gives a `.pyc` file (its source's,
    writable by its owner, under the umask); silently not where it cannot."""
    import binascii
    import os

    data = _file_header() + (binascii.crc32(payload) & 0xFFFFFFFF).to_bytes(4, "little") + payload
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = (os.stat(__file__).st_mode | 0o200) & 0o666
        temporary = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        handle = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), mode)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        pass  # a read-only install, a full disk: the next run compiles again


def _read_kept(path: Any) -> "dict[Any, bytes]":
    """The entries of the file at `path`; {} when it is missing, too large, damaged or another
    Python's."""
    import binascii
    import marshal
    import os
    import stat

    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return {}
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode) or status.st_size > _CODE_CACHE_LIMIT:
            return {}
        with os.fdopen(handle, "rb") as file:
            handle = -1
            data = file.read(_CODE_CACHE_LIMIT + 1)
        payload = data[_HEADER_SIZE:]
        if len(data) > _CODE_CACHE_LIMIT or data[:8] != _file_header():
            return {}
        if int.from_bytes(data[8:_HEADER_SIZE], "little") != binascii.crc32(payload) & 0xFFFFFFFF:
            return {}
        content = marshal.loads(payload)
    except Exception:  # noqa: BLE001 - a damaged file: start afresh
        return {}
    finally:
        if handle != -1:
            os.close(handle)
    if not isinstance(content, dict):
        return {}
    return {key: kept for key, kept in content.items() if isinstance(kept, bytes)}


def install_code_caches() -> None:
    """Route dataclasses' `exec` and the regex compiler through their caches (idempotent; each a
    no-op where its module is not as this was written for)."""
    global _GENERATED, _PATTERNS
    import dataclasses
    import re

    if _GENERATED is None and "exec" not in vars(dataclasses):
        if any(hasattr(dataclasses, name) for name in ("_create_fn", "_FuncBuilder")):
            _GENERATED = GeneratedCode(_kept_path("_generated_code"))
            dataclasses.exec = _GENERATED.exec  # type: ignore[attr-defined]
    compiler = getattr(re, "_compiler", None) or getattr(re, "sre_compile", None)
    if _PATTERNS is None and compiler is not None:
        sre = getattr(compiler, "_sre", None)
        if callable(getattr(compiler, "compile", None)) and callable(getattr(sre, "compile", None)):
            _PATTERNS = CompiledPatterns(_kept_path("_compiled_patterns"), compiler)
            compiler._sre = _PATTERNS.recorder
            compiler.compile = _PATTERNS.compile


def kept_compile(pattern: Any, flags: int = 0) -> Any:
    """`re.compile` for one of gradlint's own patterns (written in its source, compiled at run time on
    first use): the regex cache may keep it across runs."""
    import re

    cache = _PATTERNS
    if cache is None:
        return re.compile(pattern, flags)
    cache.marked.own = True
    try:
        return re.compile(pattern, flags)
    finally:
        cache.marked.own = False


def save_code_caches() -> None:
    """Save what this process compiled, for each cache installed that has anything new. Never
    raises: a cache that cannot be saved is compiled again next time, and the run's outcome stands."""
    for cache in (_GENERATED, _PATTERNS):
        if cache is not None and cache.new:
            try:
                cache.save()
            except Exception:  # noqa: BLE001 - a start-up cache must not fail the command
                pass
