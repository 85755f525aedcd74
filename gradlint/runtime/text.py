"""Making user-derived text safe to print: bounded and without control characters.

Exception messages, stderr tails and the like come from the user's code; they
may be megabytes long or carry terminal escapes (ESC, BEL, OSC sequences). Every
such text goes through `shown` before it reaches a verdict. Standard library
only: the sandboxed worker imports it too.
"""

from __future__ import annotations

import unicodedata
from typing import Optional, Sequence

TEXT_LIMIT = 400  # characters of user-derived text kept in a verdict
ELLIPSIS = "..."


def _visible(char: str) -> str:
    """A control, format, surrogate, private-use or unassigned character as a repr-style
    escape (`\\x1b`, `\\u202e`); any other character as itself."""
    if char == "\t":
        return "\\t"
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if unicodedata.category(char)[0] in ("C", "Z") and char != " ":
        code = ord(char)
        if code <= 0xFF:
            return f"\\x{code:02x}"
        if code <= 0xFFFF:
            return f"\\u{code:04x}"
        return f"\\U{code:08x}"
    return char


def shown(text: object, limit: int = TEXT_LIMIT) -> str:
    """`text` with control characters made visible, cut to about `limit`
    characters (an ellipsis marks the cut). Idempotent: a shown text is
    unchanged by a second pass with the same limit."""
    if not isinstance(text, str):
        text = str(text)
    # Look at a bounded prefix only: a 20 MB message costs no more than a short one.
    budget = limit + len(ELLIPSIS)  # a text that fits this is kept whole (so a second pass changes nothing)
    pieces: list[str] = []
    size = 0
    cut = None  # how many pieces fit within `limit`
    for char in text[: budget + 1]:
        piece = _visible(char)
        if cut is None and size + len(piece) > limit:
            cut = len(pieces)
        size += len(piece)
        if size > budget:
            break
        pieces.append(piece)
    if size <= budget and len(text) <= budget:
        return "".join(pieces)
    return "".join(pieces[:cut]) + ELLIPSIS


def error_text(error: BaseException, limit: int = TEXT_LIMIT) -> str:
    """`Type: message` of an exception raised by user code, shown safely; a
    `__str__` that itself fails gives a placeholder, never a new exception."""
    try:
        name = type(error).__name__
    except BaseException:  # noqa: BLE001 - user-defined metaclasses may do anything
        name = "exception"
    try:
        message = str(error)
    except BaseException:  # noqa: BLE001
        message = "<its message could not be read>"
    return shown(f"{name}: {message}" if message else name, limit)


def source_line(lines: Sequence[Sequence[int]], generated_line: int) -> Optional[int]:
    """The checked file's line for a line of the generated module, from the (generated start,
    file start) pairs of its kept statements (`gradlint.runtime.extract.Extraction.lines`)."""
    found = None
    for generated_start, original_start in lines:
        if generated_start > generated_line:
            break
        found = original_start + (generated_line - generated_start)
    return found


# A softmax backward that is the identity: the right design when the loss gradient it receives is
# already the fused p - y (the catalog's GL203 trap), wrong otherwise. The parent (gradlint.runtime)
# reads these diagnoses to withhold the mismatch when a fused loss is in view.
PASS_THROUGH_VJP = (
    "it passes the upstream gradient through unchanged (the identity, not the softmax's Jacobian): "
    "right only when the gradient it receives is already the fused p - y with respect to the logits"
)
PASS_THROUGH_ONES = (
    "it returns ones (the identity's derivative, not the softmax's): "
    "right only when the gradient it multiplies is already the fused p - y with respect to the logits"
)
PASS_THROUGH_SIGMOID = (
    "it passes the upstream gradient through unchanged (the identity, not the sigmoid's derivative): "
    "right only when the gradient it receives is already the fused a - y with respect to the logits"
)
PASS_THROUGH = (PASS_THROUGH_VJP, PASS_THROUGH_ONES, PASS_THROUGH_SIGMOID)
