"""The pre-check: which enabled rules could fire on a text, decided without parsing.

Every rule declares `needs` in the registry: regexes that must all match a
file's text for the rule to possibly fire, and possibly named predicates
(`predicate:NAME`, functions of gradlint.precheck_predicates) for conditions a
regex cannot state. A file is parsed only when some enabled rule's needs all
hold, and only those rules run on it.

Most files hold no gradient code, so the pre-check is what a run over a big
tree costs. It is made cheap in these ways:

- each distinct pattern is compiled once and evaluated at most once per text,
  however many rules share it;
- before a regex runs, its *required clauses* are tested with
  `str.__contains__` (a C substring search): sets of plain strings derived from
  the pattern's syntax tree such that every match of the pattern contains one
  string of each set. `\\bsoftmax\\w*\\(` requires {"softmax"} and {"("};
  `\\bfor\\b|\\bwhile\\b` requires {"for", "while"}; `[Bb]ackward` requires
  "backward" in the lowercased text. When a clause has no string in the text,
  the regex cannot match and is skipped. Clauses are derived only from what the
  pattern requires, so they never change a result, only how fast it is reached;
- each literal is searched at most once per text, and not at all when a literal
  it contains is known absent (or one containing it known present; a caseless
  literal counts as inside a plain one that holds it lowercased);
- a clause's literals are tried most-often-found first (learnt over a run's
  texts): a clause holds at its first literal found, and most absent literals
  cost a scan of the whole text;
- the work is done in rounds over all rules (literals, then regexes and
  predicates), so the cheap evidence of every rule is used before a costly one,
  and the second round learns which of a rule's needs and predicates refute it
  cheapest.

This module imports nothing heavy (no libcst).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from time import perf_counter
from typing import Iterable, NamedTuple, Optional

from gradlint._startup import kept_compile

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


# ---------------------------------------------------------------------------
# Required clauses: every literal evidence a pattern's matches must leave
# ---------------------------------------------------------------------------

_IN = _sre_constants.IN
_ASSERT = _sre_constants.ASSERT
_ASSERT_NOT = _sre_constants.ASSERT_NOT
_MAX_CLASS = 4  # a class of at most this many plain characters is evidence: `[*@]` needs `*` or `@`
_MAX_CLAUSES = 3

# A clause: (plain, folded) literals. Every match of the pattern contains one of the plain literals, or
# its lowercase text one of the folded (lowercase) literals. A pattern's clauses must all hold.
Clause = tuple[frozenset[str], frozenset[str]]
_NONE: frozenset[str] = frozenset()


def _case_pair(items: "list[tuple[object, object]]") -> Optional[str]:
    """The lowercase letter when a class is exactly an ASCII letter in both cases (`[Bb]`)."""
    chars = set()
    for op, av in items:
        if op is not _LITERAL:
            return None
        chars.add(chr(av))  # type: ignore[arg-type]
    if len(chars) != 2:
        return None
    first, second = sorted(chars)
    if first.isascii() and first.isalpha() and first != second and first.lower() == second.lower():
        return first.lower()
    return None


def _small_class(items: "list[tuple[object, object]]", caseless: bool) -> Optional[frozenset[str]]:
    chars = set()
    for op, av in items:
        if op is not _LITERAL:
            return None
        char = chr(av)  # type: ignore[arg-type]
        if caseless and not (char.isascii() and not char.isalpha()):
            return None  # a letter (or beyond ASCII) matched caselessly has other spellings
        chars.add(char)
    return frozenset(chars) if 0 < len(chars) <= _MAX_CLASS else None


def _selectivity(clause: Clause) -> tuple[int, int]:
    literals = clause[0] | clause[1]
    return (min(min(map(len, literals)), 8), -len(literals))


def _best(clauses: "list[Clause]") -> Optional[Clause]:
    return max(clauses, key=_selectivity) if clauses else None


def _clauses_of(items: "Iterable[tuple[object, object]]", caseless: bool) -> "list[Clause]":
    clauses: list[Clause] = []
    run: list[str] = []
    run_caseless = False

    def close_run() -> None:
        nonlocal run_caseless
        if run:
            literal = "".join(run)
            if not run_caseless:
                clauses.append((frozenset({literal}), _NONE))
            elif literal.isascii():
                clauses.append((_NONE, frozenset({literal.lower()})))
            run.clear()
        run_caseless = False

    for op, av in items:
        if op is _LITERAL:
            char = chr(av)  # type: ignore[arg-type]
            if caseless and char.isalpha():
                if not char.isascii():
                    close_run()
                    continue
                run_caseless = True
            run.append(char)
            continue
        if op is _AT:
            continue  # zero-width (\b, ^, $): the characters around it stay adjacent
        if op is _ASSERT or op is _ASSERT_NOT:
            if op is _ASSERT:  # a lookaround's text is in the string too; zero-width: the run goes on
                _direction, body = av  # type: ignore[misc]
                clauses.extend(_clauses_of(body, caseless))
            continue
        if op is _IN:
            letter = None if caseless else _case_pair(av)  # type: ignore[arg-type]
            if letter is not None:
                run.append(letter)
                run_caseless = True
                continue
            close_run()
            small = _small_class(av, caseless)  # type: ignore[arg-type]
            if small is not None:
                clauses.append((small, _NONE))
            continue
        if op is _BRANCH and run:
            distributed = _distributed(run, run_caseless, caseless, av)  # type: ignore[arg-type]
            if distributed is not None:
                clauses.append(distributed)
        close_run()
        if op is _SUBPATTERN:
            _group, add_flags, del_flags, body = av  # type: ignore[misc]
            if add_flags & re.LOCALE:
                continue
            inner = (caseless or bool(add_flags & re.IGNORECASE)) and not del_flags & re.IGNORECASE
            clauses.extend(_clauses_of(body, inner))
        elif op is _ATOMIC:
            clauses.extend(_clauses_of(av, caseless))  # type: ignore[arg-type]
        elif op is _BRANCH:
            _, alternatives = av  # type: ignore[misc]
            chosen = []
            for alternative in alternatives:
                best = _best(_clauses_of(alternative, caseless))
                if best is None:
                    chosen = []
                    break
                chosen.append(best)
            if chosen:
                clauses.append((frozenset().union(*(p for p, _ in chosen)), frozenset().union(*(f for _, f in chosen))))
        elif op in _REPEATS:
            minimum, _maximum, body = av  # type: ignore[misc]
            if minimum >= 1:
                clauses.extend(_clauses_of(body, caseless))
        # Anything else (any character, wide classes, backreferences) requires no known literal.
    close_run()
    return clauses


def _leading_literal(items: "list[tuple[object, object]]", caseless: bool) -> str:
    """The literal characters an alternative starts with (across zero-width assertions), up to its
    first other item (in a caseless context, also up to a letter beyond ASCII)."""
    lead = []
    for op, av in items:
        if op is _AT:
            continue
        if op is not _LITERAL:
            break
        char = chr(av)  # type: ignore[arg-type]
        if caseless and char.isalpha() and not char.isascii():
            break
        lead.append(char)
    return "".join(lead)


def _distributed(run: "list[str]", run_caseless: bool, caseless: bool, branch: "tuple[object, list]") -> Optional[Clause]:
    """A literal run right before an alternation, joined to each alternative's leading literal:
    `back(?:ward|prop)` (how re's parser writes `backward|backprop`: it factors the common prefix
    out) requires "backward" or "backprop", where the run alone requires only "back". None when an
    alternative starts with no literal. The joined literals are caseless when the run or the context
    is (the lowercased text holds them lowercased; ASCII only)."""
    _, alternatives = branch
    leads = [_leading_literal(alternative, caseless) for alternative in alternatives]
    if not leads or not all(leads):
        return None
    prefix = "".join(run)
    joined = [prefix + lead for lead in leads]
    if caseless or run_caseless:
        if not all(literal.isascii() for literal in joined):
            return None
        return (_NONE, frozenset(literal.lower() for literal in joined))
    return (frozenset(joined), _NONE)


@lru_cache(maxsize=None)
def required_clauses(pattern: str) -> tuple[Clause, ...]:
    """Up to three clauses every match of `pattern` satisfies, most selective first.

    A clause is a set of literals of which every match contains one, found from
    the pattern's syntax tree: runs of literal characters (across zero-width
    assertions), the text a positive lookaround requires, small character
    classes (`[*@]`), alternations (one clause per alternative, united), and
    repeats of at least one. Caseless literals (`(?i:...)`, `[Bb]ackward`) are
    tested on the lowercased text. No clause: the pattern requires no literal.
    """
    try:
        parsed = _sre_parse.parse(pattern)
    except Exception:  # noqa: BLE001 - an unparsable pattern gets no clause (re.compile reports it)
        return ()
    flags = parsed.state.flags
    if flags & re.LOCALE:
        return ()
    found = _clauses_of(parsed, bool(flags & re.IGNORECASE))
    unique: dict[Clause, None] = {}
    for plain, folded in sorted(found, key=_selectivity, reverse=True):
        if "" in plain or "" in folded:
            continue  # the empty string is in every text: no evidence
        unique.setdefault((plain, folded), None)
    return tuple(unique)[:_MAX_CLAUSES]


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


# Characters other than ASCII letters that `re` matches case-insensitively with an ASCII letter
# (dotted and dotless i, long s, Kelvin sign): the folded text maps them to that letter, so every
# caseless match of an ASCII literal leaves the literal, lowercased, in the folded text.
_CASELESS_ASCII = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def _fold(text: str) -> str:
    """The text lowercased so that every caseless match of an ASCII literal is found in it
    lowercased (str.translate is slow: only for the rare texts holding those characters)."""
    if text.isascii() or not any(char in text for char in "\u0130\u0131\u017f\u212a"):
        return text.lower()
    return text.translate(_CASELESS_ASCII).lower()


_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
# Every byte that is not an ASCII word character becomes a blank.
_NON_WORD_TO_BLANK = bytes(byte if byte in _WORD_BYTES else 32 for byte in range(256))
_DIGEST_MIN = 2048  # shorter texts are searched as they are


def _is_wordy(literal: str) -> bool:
    return bool(literal) and all(ord(char) < 128 and ord(char) in _WORD_BYTES for char in literal)


def _word_digest(text: str) -> str:
    """The distinct maximal runs of ASCII word characters of an ASCII text, joined by blanks (the text
    itself when it is short or not ASCII). A literal made of ASCII word characters occurs in the text
    iff it occurs in one such run, i.e. in the digest (a blank stops it); the digest lowercased holds
    it lowercased iff the text lowercased does. Most texts hold each identifier many times: the digest
    is about a sixth of the text, so a literal's search (a full scan when it is absent) costs less.
    Blanks end the digest on both sides, so `" word "` is in it iff `word` is one of the runs."""
    if len(text) < _DIGEST_MIN or not text.isascii():
        return text
    runs = set(text.encode("ascii").translate(_NON_WORD_TO_BLANK).split())
    return f" {b' '.join(runs).decode('ascii')} "  # a blank on both ends: ` word ` finds a whole run


# Where a literal is searched (_TextState.haystacks): the text, the text lowercased (a caseless literal),
# the word digest, the word digest lowercased (a caseless literal of ASCII word characters).
_FULL, _FOLDED, _DIGEST, _FOLDED_DIGEST = range(4)


def _kind(literal: str, caseless: bool) -> int:
    if _is_wordy(literal):
        return _FOLDED_DIGEST if caseless else _DIGEST
    return _FOLDED if caseless else _FULL


class _Folded:
    """The text lowercased for caseless hints, computed at most once and only if a
    caseless need asks (ASCII texts: `str.lower`, which has an ASCII fast path)."""

    __slots__ = ("text", "value")

    def __init__(self, text: str) -> None:
        self.text = text
        self.value: Optional[str] = None

    def get(self) -> str:
        if self.value is None:
            self.value = _fold(self.text)
        return self.value


def _admits(hint: Hint, folded_hint: Hint, text: str, folded: _Folded) -> bool:
    if hint is not None:
        return any(literal in text for literal in hint)
    if folded_hint is not None:
        value = folded.get()
        return any(literal in value for literal in folded_hint)
    return True


def _ordered(hint: Hint) -> tuple[str, ...]:
    """A hint's literals, shortest first (a short literal, if present, is found soonest), without
    any that contains another (it can be present only if that one is)."""
    if not hint:
        return ()
    kept = [literal for literal in hint if not any(other != literal and other in literal for other in hint)]
    return tuple(sorted(kept, key=lambda literal: (len(literal), literal)))


@dataclass(frozen=True)
class Need:
    """One pattern of a rule's needs, ready to test texts cheaply.

    The pattern is split into alternatives (`a|b` matches a text iff `a` or `b`
    does), each compiled so that its literal comes first, and each guarded by
    its literal hint (lowercase literals of the lowercased text for `(?i)`
    patterns): most texts are rejected by a few C substring searches. A pattern
    that can never match (`(?!)`, the needs of a rule that only the runtime
    checker reports) costs nothing.
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


def _cost(need: Need) -> tuple[int, int]:
    """Try first the needs most likely to reject a text cheaply: those whose
    hint is a long literal (a rare substring, found by one C search)."""
    hint = need.hint if need.hint is not None else need.folded_hint
    if hint is not None and not hint:
        return (-9, 0)  # never matches: decides at once
    shortest = min(map(len, hint)) if hint else 0
    return (-min(shortest, 8), len(need.parts))


PREDICATE_PREFIX = "predicate:"

_Evidence = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # clauses as ordered (plain, folded) literals


def _clause_cost(literals: tuple[str, ...]) -> int:
    """How many substring searches refuting a clause takes; a clause with a one-character
    literal (`(`, `*`, `/`) is in nearly every text and nearly never refutes."""
    return 100 if any(len(literal) == 1 for literal in literals) else len(literals)


def _evidence(pattern: str) -> _Evidence:
    clauses = [(_ordered(plain), _ordered(folded)) for plain, folded in required_clauses(pattern)]
    return tuple(sorted(clauses, key=lambda clause: _clause_cost(clause[0] + clause[1])))


def _refutation_cost(evidence: _Evidence) -> int:
    return min((_clause_cost(plain + folded) for plain, folded in evidence), default=1000)


# ---------------------------------------------------------------------------
# Whole words: an alternative `L(?<!\\wL)REST` (how _literal_first writes `\\bL...`) whose REST
# certainly starts with a non-word character (or ends the text) matches only where L is a whole word;
# without the lookbehind, only where a word run ends with L; with it alone, where one starts with L
# ---------------------------------------------------------------------------

_ASCII_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_LEADING_WORD = re.compile(r"([A-Za-z0-9_]+)\(\?<!\\w\1\)")
_YES, _PASS, _NO = "yes", "pass", "no"  # the next character is certainly non-word (or the end) / zero-width / unknown
_AT_NON_WORD_NEXT = frozenset(
    getattr(_sre_constants, name) for name in ("AT_BOUNDARY", "AT_END", "AT_END_LINE", "AT_END_STRING") if hasattr(_sre_constants, name)
)


def _non_word_char(code: int) -> bool:
    char = chr(code)
    return char.isascii() and char not in _ASCII_WORD and not char.isalnum()


def _non_word_class(items: "list[tuple[object, object]]") -> bool:
    for op, av in items:
        if op is _LITERAL:
            if not _non_word_char(av):  # type: ignore[arg-type]
                return False
        elif op is _sre_constants.RANGE:
            low, high = av  # type: ignore[misc]
            if high - low > 256 or not all(_non_word_char(code) for code in range(low, high + 1)):
                return False
        elif op is _sre_constants.CATEGORY:
            if av not in (_sre_constants.CATEGORY_SPACE, _sre_constants.CATEGORY_NOT_WORD):
                return False
        else:
            return False  # NEGATE and the rest
    return True


def _first_is_non_word(items: "Iterable[tuple[object, object]]") -> str:
    """Whether every match of `items`, started right after a word character, starts with a non-word
    character or ends the text (_YES), may match the empty string and otherwise starts so (_PASS),
    or may start with a word character (_NO)."""
    for op, av in items:
        if op is _LITERAL:
            return _YES if _non_word_char(av) else _NO  # type: ignore[arg-type]
        if op is _IN:
            return _YES if _non_word_class(av) else _NO  # type: ignore[arg-type]
        if op is _AT:
            if av in _AT_NON_WORD_NEXT:  # \b after a word character, or an end
                return _YES
            return _NO
        if op is _ASSERT or op is _ASSERT_NOT:
            direction, body = av  # type: ignore[misc]
            word_class = [(_sre_constants.CATEGORY, _sre_constants.CATEGORY_WORD)]
            if op is _ASSERT_NOT and direction == 1 and len(body) == 1 and body[0][0] is _IN and list(body[0][1]) == word_class:
                return _YES  # (?!\w)
            continue  # zero-width: what follows decides
        if op is _SUBPATTERN:
            body = av[3]  # type: ignore[index]
            result = _first_is_non_word(body)
        elif op is _ATOMIC:
            result = _first_is_non_word(av)  # type: ignore[arg-type]
        elif op is _BRANCH:
            _, alternatives = av  # type: ignore[misc]
            results = {_first_is_non_word(alternative) for alternative in alternatives}
            result = _NO if _NO in results or not results else (_YES if results == {_YES} else _PASS)
        elif op in _REPEATS:
            minimum, _maximum, body = av  # type: ignore[misc]
            result = _first_is_non_word(body)
            if minimum == 0 and result == _YES:
                result = _PASS
        else:
            return _NO  # any character, backreferences, ...
        if result != _PASS:
            return result
    return _PASS


def whole_word(source: str) -> Optional[str]:
    """The word L when every match of the regex `source` holds L as a whole word (a maximal run of
    ASCII word characters, in an ASCII text): `source` starts `L(?<!\\wL)` and what follows certainly
    starts with a non-word character or ends the text (`exp(?<!\\wexp)\\s*\\(`). Else None."""
    match = _LEADING_WORD.match(source)
    if match is None:
        return None
    top = _split_top(source)
    if top is None or len(top) != 1:
        return None  # `L(?<!\\wL)a|b`: the literal starts the first alternative only
    try:
        parsed = _sre_parse.parse(source[match.end() :])
    except Exception:  # noqa: BLE001 - e.g. a group reference: no word
        return None
    if parsed.state.flags & _CASELESS:
        return None
    return match.group(1) if _first_is_non_word(parsed) == _YES else None


_LEADING_LITERAL_WORD = re.compile(r"([A-Za-z0-9_]+)(?![*+?{])")


def word_probe(source: str) -> Optional[str]:
    """What the word digest (see _word_digest) must hold for the regex `source` to match an ASCII
    text: its leading literal L of ASCII word characters as the start of a run (" L": `source` goes
    on `(?<!\\wL)`), as the end of one ("L ": what follows L certainly starts with a non-word
    character or ends the text), or both (" L "). None when neither holds (L anywhere is a clause)."""
    match = _LEADING_LITERAL_WORD.match(source)
    if match is None:
        return None
    top = _split_top(source)
    if top is None or len(top) != 1:
        return None  # `La|b`: the literal starts the first alternative only
    word, rest = match.group(1), source[match.end() :]
    starts = rest.startswith(f"(?<!\\w{word})")
    if starts:
        rest = rest[len(f"(?<!\\w{word})") :]
    try:
        parsed = _sre_parse.parse(rest)
    except Exception:  # noqa: BLE001 - e.g. a group reference
        parsed = None
    ends = parsed is not None and not parsed.state.flags & _CASELESS and _first_is_non_word(parsed) == _YES
    if not (starts or ends):
        return None
    return (" " if starts else "") + word + (" " if ends else "")


@dataclass(frozen=True)
class Plan:
    """What a need's pattern compiles to for the Prechecker, as plain data: its fast alternatives
    (see `fast_alternatives`), the required clauses of the whole pattern and of each alternative,
    and its `_cost`. Deriving it parses the pattern with `re`'s pure-Python parser several times
    (about 0.2 s for all the registry's needs), so the plans of the registry's needs are stored in
    gradlint/_precheck_plans.py (`python -m gradlint.precheck` rewrites it; a test checks it is
    current) and a run derives only the plans of patterns missing there."""

    alternatives: tuple[str, ...]
    evidence: _Evidence
    part_evidence: tuple[_Evidence, ...]
    cost: tuple[int, int]
    part_probes: tuple[Optional[str], ...] = ()  # what the word digest must hold for each alternative (see word_probe)

    @classmethod
    def derive(cls, pattern: str) -> "Plan":
        need = Need.of(pattern)
        if not need.parts:
            return cls((), (((), ()),), (), _cost(need), ())  # never matches: no literal can satisfy it
        alternatives = tuple(regex.pattern for regex, _hint, _folded in need.parts)
        return cls(
            alternatives, _evidence(pattern), tuple(_evidence(part) for part in alternatives), _cost(need),
            tuple(word_probe(part) for part in alternatives),
        )

    def as_data(self) -> tuple:
        return (self.alternatives, self.evidence, self.part_evidence, self.cost, self.part_probes)


@lru_cache(maxsize=None)
def plan_of(pattern: str) -> Plan:
    """The stored plan of a pattern, or one derived now (a pattern changed since the plans were written)."""
    try:
        from gradlint._precheck_plans import PLANS
    except ImportError:  # pragma: no cover - the generated module is missing
        PLANS = {}
    stored = PLANS.get(pattern)
    if stored is not None:
        return Plan(*stored)
    return Plan.derive(pattern)


@lru_cache(maxsize=None)
def _regex(source: str) -> "re.Pattern[str]":
    """Compiled on first use: most alternatives' clauses fail on most texts, and a run over one
    file should not compile every need of every rule."""
    return kept_compile(source)


# A regex this long takes milliseconds to compile (re's compiler is pure Python): more than parsing
# a small file costs, so a run's first texts are not held up by it (see Prechecker).
_COSTLY_REGEX = 1500
# How many texts a Prechecker reads before it compiles costly regexes: a pre-commit run checks a few
# files, a run over a tree thousands.
WARMUP_TEXTS = 8


@dataclass(frozen=True)
class _Test:
    """A need planned for the Prechecker: the clauses (gradlint.precheck.required_clauses) of
    the whole pattern and of each alternative, tested before the alternative's regex."""

    pattern: str
    evidence: _Evidence
    parts: tuple[tuple[str, _Evidence], ...]  # (regex source, its clauses)
    costly: bool  # an alternative's regex is long: slow to compile
    probes: tuple[Optional[str], ...] = ()  # what the word digest must hold for each alternative (see word_probe)

    @classmethod
    def of(cls, pattern: str) -> "_Test":
        plan = plan_of(pattern)
        costly = any(len(alternative) > _COSTLY_REGEX for alternative in plan.alternatives)
        probes = plan.part_probes if len(plan.part_probes) == len(plan.alternatives) else (None,) * len(plan.alternatives)
        return cls(pattern, plan.evidence, tuple(zip(plan.alternatives, plan.part_evidence)), costly, probes)


_CHEAP = 2
_REORDER_EVERY = 32


@dataclass(frozen=True)
class _GatedRule:
    code: str
    tests: tuple[_Test, ...]  # cheapest to refute first
    predicates: tuple[str, ...]  # names in gradlint.precheck_predicates.PREDICATES
    cheap: int  # how many of the tests have a clause refuted by at most _CHEAP searches


_Clause = tuple[int, ...]  # a clause as the numbers of its literals in a _Literals table


class _Literals:
    """The literals of a Prechecker's clauses, numbered, so that what is known about them in a text
    is a list indexed by number (a text asks about some 50). Per literal: the literals inside it (one
    absent: it is absent) and around it (one present: it is present), of the same kind (plain,
    caseless) or a caseless one inside a plain ASCII one lowercased (the folded text holds the plain
    literal lowercased wherever the text holds it), and how often it was searched and found. From those counts each clause's literals are
    tried most-often-found first: a clause holds at its first literal found, so a literal in nearly
    every text (`import`, `-`) decides it with a short search, where trying first the ones that are
    rarely there (`\\te`, `\\re`) scans the whole text for each. The order changes no verdict."""

    __slots__ = ("_canonical", "_ordered", "_parts", "around", "caseless", "found", "inside", "kind", "literal", "number", "searched")

    def __init__(self) -> None:
        self.number: dict[tuple[str, bool], int] = {}
        self.literal: list[str] = []
        self.caseless: list[bool] = []
        self.inside: list[tuple[int, ...]] = []
        self.around: list[tuple[int, ...]] = []
        self.searched: list[int] = []
        self.found: list[int] = []
        self.kind: list[int] = []  # where it is searched: _FULL, _FOLDED, _DIGEST, _FOLDED_DIGEST (see _kind)
        self._canonical: dict[tuple[tuple[str, ...], tuple[str, ...]], _Clause] = {}
        self._ordered: dict[_Clause, _Clause] = {}
        self._parts: dict[str, tuple[tuple[str, tuple[_Clause, ...], Optional[str]], ...]] = {}

    def _add(self, literal: str, caseless: bool) -> int:
        key = (literal, caseless)
        number = self.number.get(key)
        if number is not None:
            return number
        number = self.number[key] = len(self.literal)
        inside, around = [], []
        for (other, other_caseless), other_number in self.number.items():
            if other_number == number:
                continue
            if other_caseless is caseless:
                contains, contained = other in literal, literal in other
            elif caseless:  # an ASCII plain literal in the text leaves it lowercased in the folded text
                contains, contained = False, other.isascii() and literal in other.lower()
            else:
                contains, contained = literal.isascii() and other in literal.lower(), False
            if contains:
                inside.append(other_number)
                self.around[other_number] += (number,)
            elif contained:
                around.append(other_number)
                self.inside[other_number] += (number,)
        self.literal.append(literal)
        self.caseless.append(caseless)
        self.kind.append(_kind(literal, caseless))
        self.inside.append(tuple(inside))
        self.around.append(tuple(around))
        self.searched.append(0)
        self.found.append(0)
        return number

    def clause(self, plain: tuple[str, ...], folded: tuple[str, ...]) -> _Clause:
        """The clause in its current order (numbering its literals on first sight)."""
        canonical = self._canonical.get((plain, folded))
        if canonical is None:
            canonical = tuple(self._add(literal, False) for literal in plain) + tuple(self._add(literal, True) for literal in folded)
            self._canonical[(plain, folded)] = canonical
            self._ordered.setdefault(canonical, canonical)
        return self._ordered[canonical]

    def clauses(self, evidence: _Evidence) -> tuple[_Clause, ...]:
        return tuple(self.clause(plain, folded) for plain, folded in evidence)

    def parts(self, test: _Test) -> tuple[tuple[str, tuple[_Clause, ...], Optional[str]], ...]:
        """The test's alternatives with their clauses in the current order."""
        parts = self._parts.get(test.pattern)
        if parts is None:
            parts = self._parts[test.pattern] = tuple(
                (source, self.clauses(evidence), probe) for (source, evidence), probe in zip(test.parts, test.probes)
            )
        return parts

    def reorder(self) -> None:
        """Order each clause's literals by how often they were found (ties: as derived, shortest first)."""
        searched, found = self.searched, self.found

        def rarity(number: int) -> float:
            return -(found[number] + 1) / (searched[number] + 2)

        self._ordered = {canonical: tuple(sorted(canonical, key=rarity)) for canonical in self._ordered}
        self._parts.clear()


class _TextState:
    """What is known about one text: literal presence (by number in a _Literals table; caseless ones
    in the lowercased text), need and predicate verdicts (by need)."""

    __slots__ = ("alternatives", "haystacks", "known", "literals", "text", "verdicts")

    def __init__(self, text: str, literals: "Optional[_Literals]" = None) -> None:
        self.text = text
        self.haystacks: list[Optional[str]] = [text, None, None, None]  # by kind (_FULL, _FOLDED, ...)
        self.literals = literals if literals is not None else _Literals()
        self.known: list[Optional[bool]] = [None] * len(self.literals.literal)
        self.verdicts: dict[str, bool] = {}
        self.alternatives: dict[str, bool] = {}  # by regex source: needs share alternatives (`exp(...\(`)

    def _haystack(self, kind: int) -> str:
        """The string a literal of `kind` is searched in (computed once): _FULL the text, _FOLDED it
        lowercased, _DIGEST its word digest, _FOLDED_DIGEST the digest lowercased."""
        haystacks = self.haystacks
        if kind == _FULL:
            return self.text  # (an empty text)
        if kind == _FOLDED:
            value = _fold(self.text)
        elif kind == _DIGEST:
            value = _word_digest(self.text)
        else:  # _FOLDED_DIGEST
            digest = haystacks[_DIGEST] or self._haystack(_DIGEST)
            value = (haystacks[_FOLDED] or self._haystack(_FOLDED)) if digest is self.text else digest.lower()
        haystacks[kind] = value
        return value

    def _search(self, number: int) -> bool:
        """Whether literal `number` occurs: from a literal inside it known absent or one around it
        known present, else by one substring search (in the text, lowercased for a caseless literal;
        a literal of ASCII word characters in the word digest)."""
        literals, known = self.literals, self.known
        for shorter in literals.inside[number]:
            if known[shorter] is False:
                known[number] = False
                return False
        for longer in literals.around[number]:
            if known[longer]:
                known[number] = True
                return True
        kind = literals.kind[number]
        text = self.haystacks[kind] or self._haystack(kind)
        found = literals.literal[number] in text
        known[number] = found
        literals.searched[number] += 1
        if found:
            literals.found[number] += 1
        return found

    def all_hold(self, clauses: "Iterable[_Clause]") -> bool:
        """Whether every clause has one of its literals in the text."""
        known, search = self.known, self._search
        for clause in clauses:
            for number in clause:
                found = known[number]
                if found is None:
                    found = search(number)
                if found:
                    break
            else:
                return False
        return True

    def holds(self, evidence: _Evidence) -> bool:
        """Whether every clause (as (plain, folded) literals) has one of its literals in the text."""
        clauses = self.literals.clauses(evidence)
        missing = len(self.literals.literal) - len(self.known)
        if missing:
            self.known.extend([None] * missing)
        return self.all_hold(clauses)

    def matches(self, test: _Test) -> bool:
        """The need's verdict: its regex, alternative by alternative, where the alternative's clauses hold."""
        verdict = self.verdicts.get(test.pattern)
        if verdict is None:
            verdict = False
            alternatives = self.alternatives
            for source, clauses, probe in self.literals.parts(test):
                if clauses and not self.all_hold(clauses):
                    continue
                found = alternatives.get(source)
                if found is None:
                    if probe is not None and not self.digest_holds(probe):
                        found = alternatives[source] = False  # no word run starts/ends/is as every match needs
                    else:
                        found = alternatives[source] = _regex(source).search(self.text) is not None
                if found:
                    verdict = True
                    break
            self.verdicts[test.pattern] = verdict
        return verdict

    def has_word(self, word: str) -> bool:
        """Whether the ASCII word occurs whole in the text (False only when the text's word digest
        was taken, i.e. the text is ASCII, and none of its maximal word runs is `word`)."""
        return self.digest_holds(f" {word} ")

    def digest_holds(self, probe: str) -> bool:
        """Whether the word digest holds `probe` (a word with a blank before it: a run starts with
        it; after it: a run ends with it); True when the text has no digest (short, or not ASCII)."""
        digest = self.haystacks[_DIGEST] or self._haystack(_DIGEST)
        return digest is self.text or probe in digest

    def predicate(self, name: str, skip_costly: bool = False) -> bool:
        key = PREDICATE_PREFIX + name
        verdict = self.verdicts.get(key)
        if verdict is None:
            from gradlint.precheck_predicates import PREDICATES

            verdict = self.verdicts[key] = PREDICATES[name](self.text, _Absence(self, skip_costly))
        return verdict

    def known_absent(self, literal: str) -> bool:
        """Whether the plain `literal` does not occur: known already (searched, or a literal inside it
        was), or, for a literal of ASCII word characters, searched in the word digest (a sixth of the
        text): a predicate then skips a regex search that starts with it. A literal of other characters
        is never searched (the predicate's own search would repeat the scan where it is present)."""
        literals, known = self.literals, self.known
        number = literals.number.get((literal, False))
        if number is not None and number < len(known):
            found = known[number]
            if found is not None:
                return not found
            if any(known[shorter] is False for shorter in literals.inside[number]):
                return True
            if literals.kind[number] == _DIGEST:
                return not self._search(number)
            return False
        if not _is_wordy(literal):
            return False
        return literal not in (self.haystacks[_DIGEST] or self._haystack(_DIGEST))


class _Absence:
    """The `absent` a predicate is given: called with a literal, _TextState.known_absent; its
    `word_absent(word)` is True when the ASCII word occurs nowhere whole in the text (none of the word
    digest's runs is the word), so a predicate skips a search whose every match holds the word whole.
    Its `skip_costly` is True for a run's first texts (see Prechecker.candidates): a predicate then
    takes a condition that is slow to test the first time (a long regex to compile) as met."""

    __slots__ = ("skip_costly", "state")

    def __init__(self, state: _TextState, skip_costly: bool = False) -> None:
        self.state = state
        self.skip_costly = skip_costly

    def __call__(self, literal: str) -> bool:
        return self.state.known_absent(literal)

    def word_absent(self, word: str) -> bool:
        return not self.state.has_word(word)


class _Step(NamedTuple):
    """One need of a rule in round 2: a regex need (`test`) or a named predicate (`predicate`).
    (A named tuple: a frozen dataclass costs most of a millisecond to define, on every run's start.)"""

    need: str  # as the registry spells it: the key of its verdict and of its learnt cost
    test: Optional[_Test]
    predicate: Optional[str]
    costly: bool


class Prechecker:
    """Decides, for one set of enabled rule codes, which of them could fire on a text.

    A text is read in two rounds, each over every rule still in play, so the
    cheap evidence of all rules is used before any costly one: (1) required
    clauses (C substring searches, each literal searched at most once per text,
    however many needs share it; a clause's literals most-often-found first): a
    rule one of whose needs has a clause with no literal in the text is out; the
    needs with cheap clauses of all rules go first; (2) the regexes and named
    predicates of the rules left, each at most once, each rule's in the order
    learnt to refute it soonest. A need a rule declares as `predicate:NAME` is
    `gradlint.precheck_predicates.PREDICATES[NAME]`. The rounds and the learnt
    orders only reorder the work: a rule is a candidate iff all its regexes and
    predicates accept the text.
    """

    def __init__(self, needs_by_code: "dict[str, tuple[str, ...]]") -> None:
        self.always = frozenset(code for code, needs in needs_by_code.items() if not needs)
        gated = []
        for code, needs in sorted(needs_by_code.items()):
            if not needs:
                continue
            predicates = tuple(need[len(PREDICATE_PREFIX) :] for need in needs if need.startswith(PREDICATE_PREFIX))
            if predicates:
                from gradlint.precheck_predicates import PREDICATES

                unknown = [name for name in predicates if name not in PREDICATES]
                if unknown:
                    raise KeyError(f"{code} needs unknown pre-check predicates: {', '.join(unknown)}")
            patterns = sorted((need for need in needs if not need.startswith(PREDICATE_PREFIX)), key=lambda p: plan_of(p).cost)
            tests = sorted((_Test.of(pattern) for pattern in patterns), key=lambda test: _refutation_cost(test.evidence))
            cheap = sum(1 for test in tests if _refutation_cost(test.evidence) <= _CHEAP)
            gated.append(_GatedRule(code, tuple(tests), predicates, cheap))
        self.gated = tuple(gated)
        self._literals = literals = _Literals()
        for rule in gated:  # number every literal now, so that a text's list of what is known has room for all
            for test in rule.tests:
                literals.clauses(test.evidence)
                for _source, evidence in test.parts:
                    literals.clauses(evidence)
        self._plan_round_one()
        # Round 2 learns its order: per need, [evaluations, refutations, seconds]; every _REORDER_EVERY
        # texts each rule's needs (regexes and predicates) are re-sorted by the time they take per
        # refutation (a rule is out at its first refuted need, so the cheapest likely refutation goes first).
        self._steps: dict[str, tuple[_Step, ...]] = {
            rule.code: tuple(_Step(test.pattern, test, None, test.costly) for test in rule.tests)
            + tuple(_Step(PREDICATE_PREFIX + name, None, name, False) for name in rule.predicates)
            for rule in gated
        }
        self._stats: dict[str, list[float]] = {step.need: [0, 0, 0.0] for steps in self._steps.values() for step in steps}
        self._order: dict[str, tuple[_Test, ...]] = {rule.code: rule.tests for rule in gated}  # the regex needs, in order
        self._texts_seen = 0
        self._last_text: Optional[str] = None
        self._last_found: frozenset[str] = frozenset()
        self._last_thorough = False  # whether _last_found was read with every need

    def _plan_round_one(self) -> None:
        """Each rule's clauses in the literals' current order: first those of its cheap tests, then the rest."""
        clauses = self._literals.clauses
        plan = []
        for rule in self.gated:
            first = tuple(dict.fromkeys(c for test in rule.tests[: rule.cheap] for c in clauses(test.evidence)))
            rest = tuple(dict.fromkeys(c for test in rule.tests[rule.cheap :] for c in clauses(test.evidence)))
            plan.append((rule, first, rest))
        self._round_one = tuple(plan)

    def _reorder(self) -> None:
        stats = self._stats

        def seconds_per_refutation(step: _Step) -> float:
            evaluations, refutations, seconds = stats[step.need]
            if not evaluations:
                return 0.0  # not tried yet: keep it early, so it gets measured
            return (seconds / evaluations) / max(refutations / evaluations, 0.01)

        self._steps = {code: tuple(sorted(steps, key=seconds_per_refutation)) for code, steps in self._steps.items()}
        self._order = {code: tuple(step.test for step in steps if step.test is not None) for code, steps in self._steps.items()}
        self._literals.reorder()
        self._plan_round_one()

    def candidates(self, text: str, thorough: bool = False) -> frozenset[str]:
        """The codes whose needs all match `text` (plus the codes that need nothing).

        Until WARMUP_TEXTS texts have been read, needs with a costly regex are taken as met
        unless `thorough`, and so are the costly parts of predicates (see _Absence): a run over a
        few files parses a file such a need might have spared rather than compile the regex.
        Since needs are necessary conditions of a rule firing, this changes no finding, only what
        is parsed (and which rules run on it); the engine asks `thorough` before it
        reports a file that does not parse (GL001 is for the files the full needs admit).
        A text too large to parse is never parsed, and whether it gets GL001 takes the complete
        needs: it is always read with every need, once."""
        if text is self._last_text and (self._last_thorough or not thorough or self._last_found == self.always):
            # the same text asked again (the driver, then the engine): a verdict with every need
            # evaluated answers both questions; one that skipped some, only a question that allows
            # it (or it admitted no rule: skipping needs only admits more)
            return self._last_found
        from gradlint.engine import MAX_PARSE_CHARS  # the engine's limit (imported late: the engine imports this module's users)

        complete = thorough or self._texts_seen >= WARMUP_TEXTS or len(text) > MAX_PARSE_CHARS
        found = self._candidates(text, skip_costly=not complete)
        self._last_text, self._last_found, self._last_thorough = text, found, complete
        return found

    def remember(self, text: str, found: frozenset[str]) -> None:
        """Take `found` as the candidates of `text` (pre-checked by another process, maybe
        skipping the costly needs)."""
        self._last_text, self._last_found, self._last_thorough = text, found, False

    def _candidates(self, text: str, skip_costly: bool) -> frozenset[str]:
        state = _TextState(text, self._literals)
        # Round 1: literal clauses only; each rule's cheap clauses first (a clause of at most _CHEAP
        # literals) across all rules, so the literals they search are known before the costlier clauses ask.
        all_hold = state.all_hold
        in_play = [(rule, rest) for rule, first, rest in self._round_one if all_hold(first)]
        in_play = [rule for rule, rest in in_play if all_hold(rest)]
        if not in_play:
            return self.always
        # Round 2: regexes and predicates.
        found = set(self.always)
        verdicts, stats, steps = state.verdicts, self._stats, self._steps
        for rule in in_play:
            for step in steps[rule.code]:
                verdict = verdicts.get(step.need)
                if verdict is None:
                    if skip_costly and step.costly:
                        continue
                    start = perf_counter()
                    if step.test is not None:
                        verdict = state.matches(step.test)
                    else:
                        verdict = state.predicate(step.predicate, skip_costly)  # type: ignore[arg-type]
                    stat = stats[step.need]
                    stat[0] += 1
                    stat[1] += not verdict
                    stat[2] += perf_counter() - start
                if not verdict:
                    break
            else:
                found.add(rule.code)
        self._texts_seen += 1  # texts that reach round 2 (the warm-up counts those)
        if self._texts_seen % _REORDER_EVERY == 0:
            self._reorder()
        return frozenset(found)


def write_plans(path: "Optional[str]" = None) -> str:
    """Write gradlint/_precheck_plans.py: the plans of every need in the registry."""
    from pathlib import Path

    from gradlint import registry

    patterns = sorted({need for entry in registry.RULES.values() for need in entry.needs if not need.startswith(PREDICATE_PREFIX)})
    lines = [
        '"""Generated by `python -m gradlint.precheck`: the pre-check plans of the registry\'s needs',
        '(gradlint.precheck.Plan). Do not edit; tests/test_precheck.py checks it is current."""',
        "",
        "PLANS = {",
    ]
    for pattern in patterns:
        lines.append(f"    {pattern!r}: {Plan.derive(pattern).as_data()!r},")
    lines.append("}")
    target = Path(path) if path else Path(__file__).with_name("_precheck_plans.py")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(target)


if __name__ == "__main__":
    print(f"wrote {write_plans()}")
