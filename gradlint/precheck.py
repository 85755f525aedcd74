"""The pre-check: which enabled rules could fire on a text, decided without parsing.

Every rule declares `needs` in the registry: regexes that must all match a
file's text for the rule to possibly fire. A file is parsed only when some
enabled rule's needs all match, and only those rules run on it.

Most files hold no gradient code, so the pre-check is what a run over a big
tree costs. It is made cheap in two ways:

- each distinct pattern is compiled once and evaluated at most once per text,
  however many rules share it;
- before a regex runs, a *literal hint* is tested with `str.__contains__` (a
  C substring search): a set of plain strings derived from the pattern's
  syntax tree such that every match of the pattern contains at least one of
  them. `\\bsoftmax\\w*\\(` has the hint {"softmax"}; `\\bfor\\b|\\bwhile\\b` has
  {"for", "while"}. When no hint occurs in the text, the regex cannot match
  and is skipped. The hint is derived only from what the pattern requires, so
  it never changes a result, only how fast it is reached.

This module imports nothing heavy (no libcst).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Optional

try:  # Python 3.11+
    import re._constants as _sre_constants
    import re._parser as _sre_parse
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as _sre_constants  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

_LITERAL = _sre_constants.LITERAL
_AT = _sre_constants.AT
_SUBPATTERN = _sre_constants.SUBPATTERN
_BRANCH = _sre_constants.BRANCH
_REPEATS = (_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT) + (
    (_sre_constants.POSSESSIVE_REPEAT,) if hasattr(_sre_constants, "POSSESSIVE_REPEAT") else ()
)
_ATOMIC = getattr(_sre_constants, "ATOMIC_GROUP", None)
_CASELESS = re.IGNORECASE | re.LOCALE


Hint = Optional[frozenset[str]]  # None: the pattern requires no known literal


def _stronger(first: Hint, second: Hint) -> Hint:
    """The more selective of two hints (longer shortest literal, then fewer literals)."""
    if first is None:
        return second
    if second is None:
        return first
    key_first = (min(map(len, first)), -len(first))
    key_second = (min(map(len, second)), -len(second))
    return first if key_first >= key_second else second


def _hint_of(items: "Iterable[tuple[object, object]]") -> Hint:
    """A hint for a sequence of sre items: the best of its literal runs and of
    the hints its required sub-items give."""
    best: Hint = None
    run: list[str] = []

    def close_run() -> None:
        nonlocal best
        if run:
            best = _stronger(best, frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is _LITERAL:
            run.append(chr(av))  # type: ignore[arg-type]
            continue
        if op is _AT:
            continue  # zero-width (\b, ^, $): the characters around it stay adjacent
        close_run()
        if op is _SUBPATTERN:
            _group, add_flags, _del_flags, body = av  # type: ignore[misc]
            if add_flags & _CASELESS:
                continue
            best = _stronger(best, _hint_of(body))
        elif op is _ATOMIC:
            best = _stronger(best, _hint_of(av))  # type: ignore[arg-type]
        elif op is _BRANCH:
            _, alternatives = av  # type: ignore[misc]
            union: set[str] = set()
            for alternative in alternatives:
                hint = _hint_of(alternative)
                if hint is None:
                    union = set()
                    break
                union |= hint
            if union:
                best = _stronger(best, frozenset(union))
        elif op in _REPEATS:
            minimum, _maximum, body = av  # type: ignore[misc]
            if minimum >= 1:
                best = _stronger(best, _hint_of(body))
        # Anything else (classes, any, backreferences, lookarounds) requires no
        # known literal and ends the current run.
    close_run()
    return best


@lru_cache(maxsize=None)
def literal_hint(pattern: str) -> Hint:
    """Strings of which every match of `pattern` contains at least one, or None."""
    try:
        parsed = _sre_parse.parse(pattern)
    except Exception:  # noqa: BLE001 - an unparsable pattern gets no hint (re.compile reports it)
        return None
    if parsed.state.flags & _CASELESS:
        return None
    hint = _hint_of(parsed)
    if hint is not None and "" in hint:
        return None
    return hint


@lru_cache(maxsize=None)
def caseless_hint(pattern: str) -> Hint:
    """For a pattern compiled case-insensitively as a whole (`(?i)...`):
    casefolded literals of which the casefolded text of every match contains
    one. Only ASCII literals (whose case variants `re` knows, like the Kelvin
    sign for k, casefold back to them)."""
    try:
        parsed = _sre_parse.parse(pattern)
    except Exception:  # noqa: BLE001
        return None
    flags = parsed.state.flags
    if not flags & re.IGNORECASE or flags & re.LOCALE:
        return None
    hint = _hint_of(parsed)
    if hint is None or "" in hint or not all(literal.isascii() for literal in hint):
        return None
    return frozenset(literal.casefold() for literal in hint)


_NEVER = frozenset({"(?!)", "(?!x)x", "$^"})
_GLOBAL_FLAGS = re.compile(r"^\(\?[aiLmsux]+\)")
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")
_WORD_LITERAL = re.compile(r"^\\b([A-Za-z0-9_]+)(?![*+?{])")
_MAX_ALTERNATIVES = 24


def _split_top(pattern: str) -> Optional[list[str]]:
    """`pattern` split at its top-level `|` (None when it cannot be scanned)."""
    parts, depth, start, position, in_class = [], 0, 0, 0, False
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            position += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            if pattern[position + 1 : position + 2] == "^":
                position += 1
            if pattern[position + 1 : position + 2] == "]":
                position += 1  # a literal ] first in the class
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return None
        elif char == "|" and depth == 0:
            parts.append(pattern[start:position])
            start = position + 1
        position += 1
    if depth != 0 or in_class:
        return None
    parts.append(pattern[start:])
    return parts


def _leading_group(alternative: str) -> Optional[tuple[str, str]]:
    """(inside, rest) when `alternative` starts with a non-capturing group."""
    if not alternative.startswith("(?:"):
        return None
    depth, position, in_class = 0, 0, False
    while position < len(alternative):
        char = alternative[position]
        if char == "\\":
            position += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            if alternative[position + 1 : position + 2] == "^":
                position += 1
            if alternative[position + 1 : position + 2] == "]":
                position += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                rest = alternative[position + 1 :]
                if rest[:1] in ("*", "+", "?", "{"):
                    return None  # the group is repeated: not a plain prefix
                return alternative[3:position], rest
        position += 1
    return None


def _expand(alternative: str) -> list[str]:
    """`\\b(?:a|b)c` -> [`\\bac`, `\\bbc`]: one level of a leading group distributed."""
    boundary = alternative.startswith("\\b")
    body = alternative[2:] if boundary else alternative
    group = _leading_group(body)
    if group is None:
        return [alternative]
    inside, rest = group
    choices = _split_top(inside)
    if choices is None or len(choices) < 2:
        return [alternative]
    return [("\\b" if boundary else "") + choice + rest for choice in choices]


def _literal_first(alternative: str) -> str:
    """`\\bexp\\s*\\(` -> `exp(?<!\\wexp)\\s*\\(`: the same matches, but the pattern
    starts with its literal, which `re` finds with a fast substring scan; a
    leading `\\b` makes `re` try the whole pattern at every position instead."""
    match = _WORD_LITERAL.match(alternative)
    if match is None:
        return alternative
    literal = match.group(1)
    # A word-character literal starts at a boundary iff no word character precedes it.
    return literal + f"(?<!\\w{literal})" + alternative[match.end() :]


def fast_alternatives(pattern: str) -> list[str]:
    """Patterns of which at least one matches a text iff `pattern` does, each
    shaped so that `re` can search it quickly (see `Need`)."""
    if _BACKREFERENCE.search(pattern):
        return [pattern]
    flags = _GLOBAL_FLAGS.match(pattern)
    prefix = flags.group(0) if flags else ""
    body = pattern[len(prefix) :]
    parts = _split_top(body)
    if parts is None:
        return [pattern]
    expanded = [piece for part in parts for piece in _expand(part)]
    if len(expanded) > _MAX_ALTERNATIVES or any(not piece for piece in expanded):
        return [pattern]
    alternatives = []
    for piece in expanded:
        candidate = prefix + (piece if prefix else _literal_first(piece))
        try:
            re.compile(candidate)
        except re.error:
            return [pattern]
        alternatives.append(candidate)
    return alternatives


class _Folded:
    """The casefolded text, computed at most once and only if a caseless need asks."""

    __slots__ = ("text", "value")

    def __init__(self, text: str) -> None:
        self.text = text
        self.value: Optional[str] = None

    def get(self) -> str:
        if self.value is None:
            self.value = self.text.casefold()
        return self.value


def _admits(hint: Hint, folded_hint: Hint, text: str, folded: _Folded) -> bool:
    if hint is not None:
        return any(literal in text for literal in hint)
    if folded_hint is not None:
        value = folded.get()
        return any(literal in value for literal in folded_hint)
    return True


@dataclass(frozen=True)
class Need:
    """One pattern of a rule's needs, ready to test texts cheaply.

    The pattern is split into alternatives (`a|b` matches a text iff `a` or `b`
    does), each compiled so that its literal comes first, and each guarded by
    its literal hint (casefolded for `(?i)` patterns): most texts are rejected
    by a few C substring searches. A pattern that can never match (`(?!)`, the
    needs of a rule that only the runtime checker reports) costs nothing.
    """

    pattern: str
    hint: Hint
    folded_hint: Hint
    parts: tuple[tuple["re.Pattern[str]", Hint, Hint], ...]

    @classmethod
    def of(cls, pattern: str) -> "Need":
        if pattern in _NEVER:
            return cls(pattern, frozenset(), None, ())
        parts = tuple(
            (re.compile(part), literal_hint(part), caseless_hint(part)) for part in fast_alternatives(pattern)
        )
        return cls(pattern, literal_hint(pattern), caseless_hint(pattern), parts)

    def matches(self, text: str, folded: Optional[_Folded] = None) -> bool:
        folded = folded or _Folded(text)
        if not _admits(self.hint, self.folded_hint, text, folded):
            return False
        for regex, part_hint, part_folded_hint in self.parts:
            if not _admits(part_hint, part_folded_hint, text, folded):
                continue
            if regex.search(text) is not None:
                return True
        return False


@lru_cache(maxsize=None)
def _need(pattern: str) -> Need:
    return Need.of(pattern)


def _cost(need: Need) -> tuple[int, int]:
    """Try first the needs most likely to reject a text cheaply: those whose
    hint is a long literal (a rare substring, found by one C search)."""
    hint = need.hint if need.hint is not None else need.folded_hint
    if hint is not None and not hint:
        return (-9, 0)  # never matches: decides at once
    shortest = min(map(len, hint)) if hint else 0
    return (-min(shortest, 8), len(need.parts))


class Prechecker:
    """Decides, for one set of enabled rule codes, which of them could fire on a text."""

    def __init__(self, needs_by_code: "dict[str, tuple[str, ...]]") -> None:
        # Rules with no needs always run; the others are tried cheapest-first:
        # fewer regexes and stronger hints reject a text sooner.
        self.always = frozenset(code for code, needs in needs_by_code.items() if not needs)
        self.gated = tuple(
            (code, tuple(sorted((_need(pattern) for pattern in needs), key=_cost)))
            for code, needs in sorted(needs_by_code.items())
            if needs
        )
        self._last_text: Optional[str] = None
        self._last_found: frozenset[str] = frozenset()

    def candidates(self, text: str) -> frozenset[str]:
        """The codes whose needs all match `text` (plus the codes that need nothing)."""
        if text is self._last_text:  # the same text asked again (the driver, then the engine)
            return self._last_found
        found = self._candidates(text)
        self._last_text, self._last_found = text, found
        return found

    def _candidates(self, text: str) -> frozenset[str]:
        known: dict[str, bool] = {}
        found = set(self.always)
        folded = _Folded(text)
        for code, needs in self.gated:
            for need in needs:
                verdict = known.get(need.pattern)
                if verdict is None:
                    verdict = known[need.pattern] = need.matches(text, folded)
                if not verdict:
                    break
            else:
                found.add(code)
        return frozenset(found)
