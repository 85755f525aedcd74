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
