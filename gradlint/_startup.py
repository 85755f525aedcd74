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


# --- A bytecode cache for the code dataclasses generate -------------------------------------------
#
# `@dataclass` writes each class's __init__, __repr__, __eq__, __hash__ and __setattr__ as source
# text and compiles it with `exec` when the class is defined: about 0.9 ms for a frozen dataclass on
# a slow core, most of it compiling. libcst defines some 180 node dataclasses on import, so compiling
# their methods is nearly half of `import libcst` (about 85 of 190 ms), in every run that parses a
# file and in every worker that does; gradlint's own frozen dataclasses add more. Python keeps the
# bytecode of modules in `__pycache__`; this keeps the bytecode of those generated methods beside
# gradlint's own, keyed by their exact source text, so a later run executes the cached code objects
# instead of compiling the same text again. Compiling a text gives the same code object every time
# (same interpreter, same flags), so nothing but the compile time changes.
#
# It is installed by the `gradlint` command only, and defensively: where `dataclasses` does not call
# `exec` through its module globals (CPython 3.9 to 3.13 do; 3.13 compiles one text per class), it
# does nothing. It follows Python's own rules for bytecode: `sys.dont_write_bytecode` (`-B`,
# PYTHONDONTWRITEBYTECODE) stops writes, `sys.pycache_prefix` moves the folder, a folder it cannot
# write is skipped silently, and a damaged or foreign file is ignored and replaced.

_CODE_CACHE_LIMIT = 8 * 1024 * 1024  # bytes: a larger file is not read (the cache starts afresh)
_CODE_CACHE_ENTRIES = 4096  # past this, a save keeps only the entries this run used or added


class GeneratedCode:
    """The compiled methods of dataclasses, by source text, loaded from and saved to one file. The
    file keeps each code object marshalled on its own, unmarshalled only when a run defines its
    class: a run that never imports libcst does not pay for libcst's entries."""

    def __init__(self, path: Any) -> None:
        import threading

        self.path = path  # a pathlib.Path, or None where Python keeps no bytecode
        self.known: dict[str, bytes] = {}  # source -> marshalled code object, from the file
        self.new: dict[str, Any] = {}  # source -> code object compiled by this process, not yet saved
        self.used: dict[str, Any] = {}  # source -> code object taken from the file by this process
        self._loaded = False
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            self.known = _read_code_cache(self.path) if self.path is not None else {}

    def compiled(self, source: str) -> Any:
        """The code object of `source`, compiled as `exec(source, ...)` would compile it."""
        if not self._loaded:
            self._load()
        code = self.used.get(source) or self.new.get(source)
        if code is not None:
            return code
        kept = self.known.get(source)
        if kept is not None:
            code = _unmarshal_code(kept)
            if code is not None:
                self.used[source] = code
                return code
        # dont_inherit: no __future__ flag of this module reaches the generated code (`exec` called
        # from dataclasses compiles with that module's flags: none)
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

    def save(self) -> None:
        """Write the entries this process compiled (atomically; silently not where it cannot)."""
        import os
        import sys

        if not self.new or self.path is None or sys.dont_write_bytecode:
            return
        import marshal
        import tempfile
        from importlib.util import MAGIC_NUMBER

        with self._lock:
            entries = dict(self.known)
            if len(entries) + len(self.new) > _CODE_CACHE_ENTRIES:
                entries = {source: kept for source, kept in entries.items() if source in self.used}
            entries.update((source, marshal.dumps(code)) for source, code in self.new.items())
            self.known = entries
            self.used.update(self.new)
            self.new = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
            try:
                os.chmod(temporary, (os.stat(__file__).st_mode | 0o200) & 0o666)  # as Python's .pyc files
                with os.fdopen(handle, "wb") as file:
                    marshal.dump((MAGIC_NUMBER, entries), file)
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass  # a read-only install, a full disk: the next run compiles again


def _unmarshal_code(kept: bytes) -> Any:
    """The code object marshalled in `kept`, or None (damaged, or not a code object)."""
    import marshal
    import types

    try:
        code = marshal.loads(kept)
    except Exception:  # noqa: BLE001 - a damaged entry is compiled again
        return None
    return code if isinstance(code, types.CodeType) else None


_BUILTIN_EXEC = exec
_GENERATED: "GeneratedCode | None" = None


def _code_cache_path() -> Any:
    """Where gradlint's bytecode is kept (honouring sys.pycache_prefix), or None."""
    import sys
    from importlib.util import cache_from_source
    from pathlib import Path

    if sys.implementation.cache_tag is None:
        return None
    try:
        pyc = Path(cache_from_source(str(Path(__file__).with_name("_generated_code.py"))))
    except (NotImplementedError, ValueError):
        return None
    return pyc.with_suffix(".marshal")


def _read_code_cache(path: Any) -> "dict[str, bytes]":
    """The entries of the file at `path`; {} when it is missing, too large, damaged or another
    Python's."""
    import marshal
    import os
    import stat
    from importlib.util import MAGIC_NUMBER

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
        content = marshal.loads(data)
    except Exception:  # noqa: BLE001 - a damaged file: start afresh
        return {}
    finally:
        if handle != -1:
            os.close(handle)
    if not (isinstance(content, tuple) and len(content) == 2 and content[0] == MAGIC_NUMBER and isinstance(content[1], dict)):
        return {}
    return {source: kept for source, kept in content[1].items() if isinstance(source, str) and isinstance(kept, bytes)}


def cache_generated_code() -> None:
    """Route dataclasses' `exec` through the generated-code cache (idempotent; a no-op where
    dataclasses does not look `exec` up in its module globals)."""
    global _GENERATED
    import dataclasses

    if _GENERATED is not None or "exec" in vars(dataclasses):
        return
    if not any(hasattr(dataclasses, name) for name in ("_create_fn", "_FuncBuilder")):
        return  # an implementation this was not written for
    _GENERATED = GeneratedCode(_code_cache_path())
    dataclasses.exec = _GENERATED.exec  # type: ignore[attr-defined]


def save_generated_code() -> None:
    """Save what this process compiled, if the cache is installed and anything is new."""
    if _GENERATED is not None and _GENERATED.new:
        _GENERATED.save()
