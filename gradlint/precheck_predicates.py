"""Named pre-check predicates: necessary conditions a regex cannot state.

A rule's needs (gradlint.registry) may name a predicate, `predicate:NAME`; the
pre-check calls `PREDICATES[NAME](text, absent)` when the rule's literal evidence
holds (before or after its regex needs, in the order learnt to refute the rule
soonest), and parses the file for the rule only if all return True. `absent(literal)`
is True when the pre-check already knows the literal is not in the text (it is
never searched for that): a predicate skips the search of a regex whose matches
start with such a literal. Like every
need, a predicate must be a *necessary condition* of its rule firing: False only
when the rule certainly reports nothing on the text. Whatever a predicate cannot
read surely, it admits.

This module imports nothing heavy (no libcst): it reads the text with a small
scanner of Python's lexical structure (strings, comments, brackets, logical
lines, indentation) that is exact on valid code from any point known to be a
statement start, and that gives up (admits the file) on anything it does not
model (f-strings with replacement fields, non-ASCII symbols, tabs that do not
nest, form feeds in indentation).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Callable, Iterator, NamedTuple, Optional

from gradlint._startup import kept_compile
from gradlint.lazy_regex import LazyRegex


def _none_known_absent(literal: str) -> bool:
    """The `absent` of a predicate called on a text alone: nothing is known about it."""
    return False


def _costly_skipped(absent: "Callable[[str], bool]") -> bool:
    """Whether to take as met a condition that is slow to test the first time (a long regex to
    compile): the pre-check asks so for a run's first texts (`absent.skip_costly`, see
    gradlint.precheck.Prechecker.candidates), as it takes its costly regex needs as met. A predicate
    is a necessary condition of its rule firing, and so is any part of it: skipping a part only
    admits more texts (a rule may run where it would have been spared), never changes a finding."""
    return getattr(absent, "skip_costly", False)


def _word_absent(absent: "Callable[[str], bool]", word: str) -> bool:
    """Whether `word` (ASCII word characters) is known to occur nowhere whole in the text: the
    pre-check's `absent` can tell (its `word_absent`, from the text's word digest); a plain callable
    cannot (False). A predicate asks it only before a search whose every match holds the word whole
    (precheck.whole_word of the regex is the word: a test checks each one)."""
    word_absent = getattr(absent, "word_absent", None)
    return word_absent is not None and word_absent(word)


class _Unknown(Exception):
    """The scanner cannot read this text surely: the predicate admits it."""


class _Invalid(Exception):
    """A definite lexical error (valid in no Python version) in a region read exactly."""


_LINE_SCAN_STEP = 256  # characters read per step back (or on) before the reach doubles


def _line_start(text: str, position: int) -> int:
    """Where the physical line holding `position` starts: just after the last line break (`\\n` or
    `\\r`) before `position`, or 0. Reads back only about as far as that line break: searching the
    whole prefix for a character the text lacks (`\\r` in most files) would make every call cost
    the prefix's length, and a pre-check quadratic on a large file."""
    stop = position
    step = _LINE_SCAN_STEP
    while stop > 0:
        low = max(0, stop - step)
        found = max(text.rfind("\n", low, stop), text.rfind("\r", low, stop))
        if found >= 0:
            return found + 1
        stop = low
        step *= 2
    return 0


def _line_break_at_or_after(text: str, position: int) -> int:
    """The index of the first line break (`\\n` or `\\r`) at or after `position`, or -1; reads on only
    about as far as it (see _line_start)."""
    start, end = position, len(text)
    step = _LINE_SCAN_STEP
    while start < end:
        high = min(end, start + step)
        newline, carriage = text.find("\n", start, high), text.find("\r", start, high)
        if newline >= 0 or carriage >= 0:
            return min(found for found in (newline, carriage) if found >= 0)
        start = high
        step *= 2
    return -1


# ---------------------------------------------------------------------------
# The scanner
# ---------------------------------------------------------------------------

_TOKEN = LazyRegex(
    r"(?P<ws>[ \t\f]+)"
    r"|(?P<nl>\r\n|\r|\n)"
    r"|(?P<comment>#[^\r\n]*)"
    r"|(?P<cont>\\(?:\r\n|\r|\n))"
    r"|(?P<string>(?P<prefix>[rRbBuUfF]{0,2})(?P<quote>'''|\"\"\"|'|\"))"
    r"|(?P<number>\d\w*(?:\.\w*)?|\.\d\w*)"
    r"|(?P<name>[^\W\d]\w*)"
    r"|(?P<open>[(\[{])"
    r"|(?P<close>[)\]}])"
    r"|(?P<op>\*\*=|//=|>>=|<<=|:=|->|\.\.\.|[-+*/%@&|^<>!=]=|\*\*|//|<<|>>|[-+*/%@&|^~<>=.,:;])"
    r"|(?P<other>[\s\S])",
)
_SINGLE_QUOTED_END = {
    "'": LazyRegex(r"(?:[^\\'\r\n]|\\(?:\r\n|[\s\S]))*'"),
    '"': LazyRegex(r'(?:[^\\"\r\n]|\\(?:\r\n|[\s\S]))*"'),
}
_PAIRS = {")": "(", "]": "[", "}": "{"}

_COMPOUND = frozenset({"if", "elif", "else", "for", "while", "with", "try", "except", "finally", "def", "class", "async"})
_SOFT_COMPOUND = frozenset({"match", "case"})
_BARRIERS = frozenset({"return", "break", "continue", "raise"})
_CLAUSES = frozenset({"else", "elif", "except", "finally"})


class _Token(NamedTuple):
    kind: str  # ws nl comment cont string badstring number name open close op
    value: str  # a string's prefix
    start: int
    end: int
    error: Optional[Exception] = None  # why a badstring's end is unknown (the scan cannot go on)


def _may_be_in_identifier(char: str) -> bool:
    """Whether a character `\\w` does not match may still be part of a Python
    identifier (identifiers are compared after NFKC normalisation)."""
    return ("a" + char).isidentifier() or ("a" + unicodedata.normalize("NFKC", char)).isidentifier()


def _string_end(text: str, start: int, prefix: str, quote: str) -> int:
    """The end of the string literal whose quote starts at `start`."""
    if len(quote) == 3:
        position = start + 3
        while True:
            found = text.find(quote, position)
            if found < 0:
                raise _Invalid("unterminated triple-quoted string")
            backslashes = 0
            while text[found - 1 - backslashes] == "\\":
                backslashes += 1
            if backslashes % 2 == 0:
                end = found + 3
                break
            position = found + 1
    else:
        match = _SINGLE_QUOTED_END[quote].match(text, start + 1)
        if match is None:
            if "f" in prefix.lower():
                raise _Unknown("an f-string may continue a replacement field over lines (PEP 701)")
            raise _Invalid("unterminated string")
        end = match.end()
    if "f" in prefix.lower():
        _check_fstring(text[start + len(quote) : end - len(quote)])
    return end


def _check_fstring(body: str) -> None:
    """An f-string whose replacement fields do not close inside the quotes as
    found may nest quotes (PEP 701): the scanner does not model that."""
    depth = 0
    position = 0
    while position < len(body):
        char = body[position]
        if char == "{":
            if depth == 0 and body.startswith("{{", position):
                position += 2
                continue
            depth += 1
        elif char == "}":
            if depth == 0:
                if body.startswith("}}", position):
                    position += 2
                    continue
                raise _Unknown("unbalanced f-string braces")
            depth -= 1
        position += 1
    if depth:
        raise _Unknown("unbalanced f-string braces")


def _tokens(text: str, position: int, stop: Optional[int] = None) -> Iterator[_Token]:
    """Python tokens from `position` (read as code), whitespace included."""
    end_of_text = len(text) if stop is None else stop
    match_at = _TOKEN.match
    while position < end_of_text:
        match = match_at(text, position)
        assert match is not None  # the last alternative matches any character
        kind = match.lastgroup
        if kind == "prefix" or kind == "quote":
            kind = "string"
        if kind == "string":
            try:
                end = _string_end(text, match.start("quote"), match.group("prefix"), match.group("quote"))
            except (_Unknown, _Invalid) as error:
                yield _Token("badstring", match.group("prefix"), position, -1, error)
                raise
            yield _Token("string", match.group("prefix"), position, end)
            position = end
            continue
        value = match.group()
        if kind == "other":
            # Outside strings and comments only identifier characters are valid beyond ASCII.
            if value.isascii() or not _may_be_in_identifier(value):
                raise _Invalid(f"character {value!r}")  # `$`, `?`, a backslash not ending the line, ...
            raise _Unknown(f"character {value!r}")
        yield _Token(kind, value, position, match.end())  # type: ignore[arg-type]
        position = match.end()


@dataclass
class _Statement:
    """One small statement (or a compound statement's whole logical line)."""

    start: int
    first: Optional[_Token]
    names: set
    assigns: bool  # a `=` at bracket depth 0: a target list precedes it
    has_lambda: bool
    next: int  # where scanning resumes
    ends: str  # ";", "nl" (end of the logical line) or "eof"


def _read_statement(text: str, position: int, whole_line: bool = False) -> _Statement:
    """The small statement starting at `position` (read as code at depth 0), up
    to a `;` or the end of the logical line (with `whole_line`: the line's end)."""
    depth = 0
    stack: list[str] = []
    first: Optional[_Token] = None
    start = position
    names: set = set()
    assigns = has_lambda = False
    for token in _tokens(text, position):
        kind = token.kind
        if kind == "ws" or kind == "cont":
            continue
        if kind == "comment":
            continue
        if kind == "nl":
            if depth == 0:
                return _Statement(start, first, names, assigns, has_lambda, token.end, "nl")
            continue
        if first is None:
            first = token
            start = token.start
        if kind == "name":
            names.add(token.value)
            if token.value == "lambda":
                has_lambda = True
        elif kind == "open":
            depth += 1
            stack.append(token.value)
        elif kind == "close":
            if depth == 0 or stack.pop() != _PAIRS[token.value]:
                raise _Invalid("unbalanced bracket")
            depth -= 1
        elif kind == "op" and depth == 0:
            if token.value == ";" and not whole_line:
                return _Statement(start, first, names, assigns, has_lambda, token.end, ";")
            if token.value == "=":
                assigns = True
    if depth:
        raise _Invalid("unclosed bracket at the end of the text")
    return _Statement(start, first, names, assigns, has_lambda, len(text), "eof")


def _next_logical_line(text: str, position: int) -> Optional[tuple[str, int]]:
    """(indentation, start of the first token) of the next logical line that
    holds a statement, skipping blank and comment lines; None at the end."""
    line_start = position
    for token in _tokens(text, position):
        if token.kind == "nl":
            line_start = token.end
        elif token.kind == "ws" or token.kind == "comment":
            continue
        elif token.kind == "cont":
            raise _Unknown("a logical line starting with a line continuation")
        else:
            indentation = text[line_start : token.start]
            if "\f" in indentation or indentation.strip(" \t"):
                raise _Unknown("form feed in indentation")
            return indentation, token.start
    return None


def _compare_indentation(first: str, second: str) -> int:
    """-1, 0, 1 as `first` is shallower, equal, deeper than `second`."""
    if first == second:
        return 0
    if second.startswith(first):
        return -1
    if first.startswith(second):
        return 1
    raise _Unknown("indentations that do not nest")


# ---------------------------------------------------------------------------
# GL101: an element stored twice (gradlint.rules.overwritten_diagonal)
# ---------------------------------------------------------------------------

# Every element store `J[i] = ...` (an Assign with one Subscript target) has its target's last character,
# `]`, or the `)` of a parenthesised target `(J[i])`, followed by the whitespace libcst allows before `=`
# (blanks, form feeds, backslash continuations) and a `=` that is not `==`. Inside a parenthesised target
# only blanks, line breaks, continuations, comments (ending at a line break) and more `)` follow its `]`.
# One literal-first pattern finds both (`]` is rarer than `)`): the site ends at its last `)`, if any.
_STORE_SITE = LazyRegex(r"\](?:[\s)\\]|#[^\r\n]*[\r\n])*=(?!=)")
# Found faster in two steps: `] =` itself, or a `]` whose gap starts with a character other than a blank
# that valid code may hold there (beyond ASCII no whitespace is valid code), then read by _STORE_SITE.
_STORE_SITE_START = LazyRegex(r"\][ \t]*(?:=(?!=)|[)\\\r\n#\f\v])")
# Both steps in one search: a `]` where _STORE_SITE_START matches and _STORE_SITE's gap and `=` follow
# (group 1; read by a lookahead, so only the `]` is consumed and a `]` inside the gap, in a comment, is
# still found as a site of its own, as _STORE_SITE_START.finditer finds it). The loop in Python then
# visits only the store sites, not every `]` before a line break.
_STORE_SITE_AT = LazyRegex(r"\](?=[ \t]*(?:=(?!=)|[)\\\r\n#\f\v]))(?=((?:[\s)\\]|#[^\r\n]*[\r\n])*=(?!=)))")
_TARGET_PREFIX_CHARS = LazyRegex(r"[\w.\s()\[\]{}'\"]*")


@dataclass
class _Site:
    start: int  # where the store target starts (as far as the backward scan reaches)
    end: int  # index of the target's last character
    after_equals: int  # just after the `=`
    key: str  # the target's text, whitespace-normalised like ModuleAnalysis.code_for


def _target_start(text: str, end: int) -> int:
    """Scan back from the target's last character over balanced brackets (with
    simple one-line strings inside) and `[\\w.]` characters; blanks are crossed
    between the parts of a subscript or attribute chain (`J [i]`, `a . b[i]`)."""
    position = end
    stack: list[str] = []
    while position >= 0:
        char = text[position]
        if stack:
            if char in ")]}":
                stack.append(char)
            elif char in "([{":
                if _PAIRS[stack.pop()] != char:
                    raise _Unknown("mismatched brackets in a store target")
            elif char == "'" or char == '"':
                line_start = _line_start(text, position)
                opening = text.rfind(char, line_start, position)
                if opening < 0:
                    raise _Unknown("a string spanning lines in a store target")
                content = text[opening + 1 : position]
                if any(c in content for c in "\\'\"{}") or (opening > 0 and text[opening - 1] == char):
                    raise _Unknown("a string the backward scan cannot delimit")
                position = opening
            elif char == "#":
                raise _Unknown("a comment in a store target")
        elif char in ")]}":
            stack.append(char)
        elif char.isalnum() or char == "_" or char == ".":
            pass
        elif char in " \t\f":
            left = position
            while left >= 0 and text[left] in " \t\f":
                left -= 1
            right = text[position + 1]
            if left >= 0 and (text[left].isalnum() or text[left] in "_.)]}") and (right in "[." or text[left] == "."):
                position = left
                continue
            break
        else:
            break
        position -= 1
    if stack:
        raise _Unknown("unbalanced brackets before a store target")
    start = position + 1
    if not text[start : end + 1].isascii() or (position >= 0 and not text[position].isascii()):
        raise _Unknown("non-ASCII text around a store target")
    return start


_LINE_READ_LIMIT = 2000  # characters of a line read before a store target; beyond, admitted


def _no_statement_after_a_string_end(text: str, line_start: int, stop: int) -> None:
    """The line starting at `line_start` holds a triple quote before `stop`. If the line starts inside a
    triple-quoted string opened on an earlier line, that string ends at one of these triple quotes (with
    f-string fields (PEP 701) maybe not the first); a statement then starts before `stop` only after a
    `;` or a compound header's `:` at depth 0, or after brackets the string stood in close (a closing
    bracket). Raises _Unknown unless, read from every triple quote's end, none of these comes before
    `stop` (or that reading is no valid code): then a store at `stop` may only be read with the line
    starting in code (the caller's reading), or it is inside the string."""
    if stop - line_start > _LINE_READ_LIMIT or text.count('"""', line_start, stop) + text.count("'''", line_start, stop) > 16:
        raise _Unknown("a long line, or many triple quotes on it")  # admitted: bounded work per store
    for quote in ('"""', "'''"):
        found = text.find(quote, line_start, stop)
        while found >= 0:
            try:
                for token in _tokens(text, found + 3, stop):
                    if token.end > stop:
                        break  # `stop` is inside this token (a string or a comment): no statement there
                    if token.kind == "close" or (token.kind == "op" and token.value in (";", ":")):
                        raise _Unknown("a statement may start after a string ending on this line")
            except _Invalid:
                pass  # read from this end, the line is no valid code
            found = text.find(quote, found + 1, stop)


def _after_a_continuation(text: str, start: int) -> bool:
    """Whether only blanks stand between `start` and a line break that follows a backslash."""
    before = start - 1
    while before >= 0 and text[before] in " \t\f":
        before -= 1
    if before < 0 or text[before] not in "\r\n":
        return False
    if text[before] == "\n" and before > 0 and text[before - 1] == "\r":
        before -= 1
    return before > 0 and text[before - 1] == "\\"


def _target_start_from_line(text: str, end: int) -> Optional[int]:
    """Where a store target ending at `end` starts, read as tokens from the start of its physical line
    (for the targets _target_start cannot read backwards). A store stands at a statement start: the
    line's first token, or the token after a `;` or a compound header's `:` at bracket depth 0; its
    target (names, dots and bracket groups at depth 0) runs up to `end`. So the target is the last run
    of such tokens before `end` (two names in a row, or any other token at depth 0, end a run). The
    line is read exactly when it starts a logical line: it does not if the previous line ends with a
    backslash (_Unknown), if it continues brackets opened before (a `)` at depth 0: _Unknown), or if a
    string opened before ends on it (a triple quote before the target: _Unknown; a one-line string
    cannot span lines without a backslash; an f-string field continued over lines (PEP 701) closes a
    `}` at depth 0: _Unknown). Inside a string that goes on past this line there is no store. None: no
    store target ends at `end` (it is in a comment or a string on this line, or the line holds a
    definite lexical error)."""
    line_start = _line_start(text, end)
    newline = line_start - 1
    if newline > 0 and text[newline] == "\n" and text[newline - 1] == "\r":
        newline -= 1
    if newline > 0 and text[newline - 1] == "\\":
        raise _Unknown("a store target after a backslash continuation")
    if end - line_start > _LINE_READ_LIMIT:
        raise _Unknown("a long line before a store target")  # admitted: bounded work per store
    if "'''" in text[line_start:end] or '"""' in text[line_start:end]:
        _no_statement_after_a_string_end(text, line_start, end)  # else the line is read from its start
    depth = 0
    start: Optional[int] = None  # the first token of the current run at depth 0
    after_name = False
    try:
        for token in _tokens(text, line_start, end + 1):
            kind = token.kind
            if kind == "ws":
                continue
            if token.end > end + 1 or kind in ("comment", "nl", "cont"):
                return None  # the `]` / `)` is inside a string or a comment: no target ends there
            if depth > 0:
                if kind == "open":
                    depth += 1
                elif kind == "close":
                    depth -= 1
                continue
            if kind == "close":
                raise _Unknown("the line continues brackets opened before it")
            if kind == "open":
                if start is None:
                    start = token.start
                depth += 1
                after_name = False
            elif kind == "name":
                if start is None or after_name:
                    start = token.start
                after_name = True
            elif kind == "op" and token.value == ".":
                if start is None:
                    start = token.start
                after_name = False
            else:
                start = None  # a `;`, a header's `:`, an `=`, another operator, a string, a number
                after_name = False
    except _Invalid:
        return None  # a definite lexical error on a line read as code from a statement start: no valid text
    if depth != 0 or start is None:
        return None
    if not text[start : end + 1].isascii():
        raise _Unknown("non-ASCII text in a store target")
    return start


# The common target, alone at the start of its line after blanks: `self.J[i][j]`, `J [i, j]`, `d['key']`,
# `a[idx[i]]` (inside the subscripts: plain characters, one-line strings holding no quote, bracket,
# brace, backslash or `#`, and brackets nested once; no comment, backslash or line break). Where it
# matches (with no two quotes in a row), _target_start would stop exactly at its start (the blanks
# before it follow a line break), so the backward scan is skipped.
_PLAIN = r"[^\[\](){}'\"#\n\r\\]"
_SIMPLE_STRING = r"'[^\[\](){}'\"#\n\r\\]*'|\"[^\[\](){}'\"#\n\r\\]*\""
_ATOM = rf"{_PLAIN}|{_SIMPLE_STRING}"
_SIMPLE_TARGET = LazyRegex(
    rf"[ \t]*([A-Za-z_][\w.]*(?:[ \t]*\[(?:{_ATOM}|\[(?:{_ATOM})*\]|\((?:{_ATOM})*\))*\])+)"
)


def _store_sites(text: str) -> list[_Site]:
    sites = []
    simple_target = _SIMPLE_TARGET.fullmatch
    for match in _STORE_SITE_AT.finditer(text):
        close = match.group(1).rfind(")")  # the site ends at its last `)` (after the `]`), if any
        end = match.start() + (close + 1 if close >= 0 else 0)
        simple = simple_target(text, _line_start(text, end), end + 1)
        if simple is not None and simple.group(1).isascii() and "''" not in simple.group(1) and '""' not in simple.group(1):
            start = simple.start(1)
        else:
            try:
                start = _target_start(text, end)
            except _Unknown:
                # GL101: a string with escapes or quotes in a subscript (`d['\\'] = v`, tokenize's
                # `endpats[p + "'"] = ...`): read the target forwards from its line's start instead
                start = _target_start_from_line(text, end)
                if start is None:
                    continue  # no store target ends here (in a comment or a string, or the text is invalid)
        if _after_a_continuation(text, start):
            # `J \<line break>[i] = v`: the base stands on the line before (neither scan crosses the break)
            raise _Unknown("a store target continued from the line before")
        target = text[start : end + 1]
        # code_for's normalisation (a backslash continuation is whitespace there); a printable target
        # without two blanks in a row is normalised already
        key = target if target.isprintable() and "  " not in target else " ".join(_without_continuations(target).split())
        sites.append(_Site(start, end, match.end(1), key))
    return sites


def _without_continuations(text: str) -> str:
    """`text` with each backslash that ends a line (and its line break) made a blank."""
    return text.replace("\\\r\n", " ").replace("\\\n", " ").replace("\\\r", " ")


@dataclass(frozen=True)
class _Context:
    kind: str  # "block": the store is an item of an indented block; "suite": of a one-line suite `if c: J[i] = 1`
    indentation: str  # the block's (for a suite: its compound statement's)
    diagonal_header: bool  # a suite whose header is `if a == b:` / `if a is b:` (parentheses allowed)


def _store_context(text: str, site: _Site) -> Optional[_Context]:
    """Where the store starting at `site.start` stands, read from the start of its
    physical line; None when it is no statement-level single-target store."""
    line_start = _line_start(text, site.start)
    # The line starts a logical line unless the previous one ends with a backslash, or it continues
    # brackets or a string opened on an earlier line. Brackets: the store stands at depth 0, so they
    # would close on this line before it, and the depth read from the line start would go negative.
    # A triple-quoted string would end on this line before it: a triple quote. An f-string's field
    # continued over lines (PEP 701) is code up to its `}`, which would close at depth 0 (negative).
    # A one-line string cannot continue a line without a backslash. So, with none of these, the line's
    # tokens are read exactly from its start.
    newline = line_start - 1
    if newline > 0 and text[newline] == "\n" and text[newline - 1] == "\r":
        newline -= 1
    if newline > 0 and text[newline - 1] == "\\":
        raise _Unknown("a store after a backslash continuation")
    prefix = text[line_start : site.start]
    indentation = prefix[: len(prefix) - len(prefix.lstrip(" \t\f"))]
    if "\f" in indentation:
        raise _Unknown("form feed in indentation")
    if len(indentation) == len(prefix):
        return _Context("block", indentation, False)
    if "'''" in prefix or '"""' in prefix:
        _no_statement_after_a_string_end(text, line_start, site.start)  # else the line is read from its start
    # Read as code from the line start: a definite lexical error there (_Invalid, left to the caller)
    # means no valid code holds the store at all.
    tokens = [t for t in _tokens(text, line_start + len(indentation), site.start) if t.kind not in ("ws", "cont")]
    if any(t.kind == "comment" or t.end > site.start for t in tokens):
        return None  # the store is inside a comment or a string
    if any(t.kind == "nl" for t in tokens):
        raise _Unknown("unexpected token in a line prefix")
    first = tokens[0]
    if first.kind == "name" and first.value in _SOFT_COMPOUND:
        raise _Unknown("soft keyword starting the line")
    if any(t.kind == "name" and t.value == "lambda" for t in tokens):
        raise _Unknown("lambda before the store on its line")
    header = first.kind == "name" and first.value in _COMPOUND
    boundaries: list[int] = []  # token indexes after which a statement starts
    header_end: Optional[int] = None
    depth = 0
    for number, token in enumerate(tokens):
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth -= 1
            if depth < 0:
                raise _Unknown("the line continues brackets opened before it")
        elif token.kind == "op" and depth == 0:
            if token.value == ";" and (not header or header_end is not None):
                boundaries.append(number)
            elif token.value == ":" and header and header_end is None:
                header_end = number
                boundaries.append(number)
    if depth != 0:
        return None  # inside brackets: not a statement
    if header and header_end is None:
        return None  # inside a compound statement's header
    statement_tokens = tokens[boundaries[-1] + 1 :] if boundaries else tokens
    if statement_tokens:
        # The store's target does not start its statement: a chained assignment `a = J[i] = v` (no element
        # store: two targets), doctest text `>>> J[i] = v`, ... unless the backward scan stopped inside the
        # target (`J . x[i]`, `'ab'[i]`).
        between = text[statement_tokens[0].start : site.start]
        if _TARGET_PREFIX_CHARS.fullmatch(between):
            raise _Unknown("the backward scan may have stopped inside a store target")
        return None
    if header_end is None:
        return _Context("block", indentation, False)
    test = [t for t in tokens[1:header_end] if t.kind not in ("open", "close")]
    diagonal = (
        first.value == "if"
        and len(test) == 3
        and test[0].kind == "name"
        and test[2].kind == "name"
        and (test[1].value == "==" or (test[1].kind == "name" and test[1].value == "is"))
    )
    return _Context("suite", indentation, diagonal)


def _root_and_index_names(text: str, site: _Site) -> Optional[tuple[str, frozenset[str]]]:
    """(root, index names) as the rule reads them: `subscript_base(target).split(".")[0]`
    and `names_in(target) - {root}`; None when the target has no dotted base."""
    tokens = [t for t in _tokens(text, site.start, site.end + 1) if t.kind not in ("ws", "cont", "nl")]
    if any(t.kind == "comment" for t in tokens):
        raise _Unknown("a comment in a store target")
    position = 0
    while position < len(tokens) and tokens[position].kind == "open" and tokens[position].value == "(":
        position += 1
    if position == len(tokens) or tokens[position].kind != "name":
        return None
    root = tokens[position].value
    names = frozenset(t.value for t in tokens if t.kind == "name") - {root}
    return root, names


# Fast paths, exact where they match (else the scanner reads the header): a `for` target of names, dots
# and commas on one line up to ` in` (`in` itself is no name in it, so this `in` ends the target); a
# `while` test on one line with no quote, comment, backslash or `;`, whose first `:` (not `:=`) has as
# many closing as opening brackets before it, i.e. stands at depth 0 and ends the test (unless a lambda's).
# And where no target can follow a `for` (prose): two names in a row (`for each item`, the second not `in`),
# or a line end or comment before any `in` after at most one name (a target reaches `in` on its line
# unless brackets or a backslash continue it).
_FOR_HEADER = LazyRegex(
    r"for(?<!\wfor)(?!\w)(?:[ \t]+((?!in\b)[A-Za-z_]\w*(?:[ \t]*[.,][ \t]*(?!in\b)[A-Za-z_]\w*)*)[ \t]*,?[ \t]+in(?!\w)"
    r"|(?P<none>[ \t]+[A-Za-z_]\w*[ \t]+(?!in(?!\w))[A-Za-z_]|[ \t]*(?:[A-Za-z_]\w*[ \t]*)?(?:[\r\n#]|$)))?"
)
_WHILE_HEADER = LazyRegex(r"while(?<!\wwhile)(?!\w)(?:([^\r\n#'\"\\:;]*):(?!=)|(?P<none>))")
_NAME = LazyRegex(r"[^\W\d]\w*")


def _names_in_loop_headers(text: str) -> Optional[set]:
    """Every name that may stand in a `for` target or a `while` test (None: any name may)."""
    names: set = set()
    for keyword, pattern, slow in (("for", _FOR_HEADER, _for_target_names), ("while", _WHILE_HEADER, _while_test_names)):
        if keyword not in text:
            continue
        for match in pattern.finditer(text):
            if match.group("none") is not None and keyword == "for":
                continue
            simple = match.group(1)
            if simple is not None and simple.isascii():
                if keyword == "for":
                    names.update(_NAME.findall(simple))
                    continue
                brackets = sum(map(simple.count, "([{")) - sum(map(simple.count, ")]}"))
                if brackets == 0 and "lambda" not in simple:
                    names.update(_NAME.findall(simple))
                    continue
            try:
                found = slow(text, match.start() + len(keyword))
            except _Invalid:
                continue  # no valid loop header starts here (a word in a string or comment)
            if found is None:
                return None
            names |= found
    return names


def _for_target_names(text: str, position: int) -> Optional[set]:
    """Names of the target after a `for` keyword, up to `in` at depth 0; an empty set
    when no target can start here (at depth 0 a target holds only names, `.`, `,`, `*`, brackets)."""
    names: set = set()
    stack: list[str] = []
    after_name = False  # at depth 0, two names in a row (prose: `for each item`) start no target
    for token in _tokens(text, position):
        kind = token.kind
        if kind == "ws" or kind == "cont":
            continue
        if kind == "badstring":
            if stack and isinstance(token.error, _Unknown):
                return None
            return set()  # at depth 0 no string belongs to a target; deeper, a definite error
        if not stack:
            if kind == "name":
                if token.value == "in":
                    return names
                if after_name:
                    return set()
                names.add(token.value)
                after_name = True
                continue
            after_name = False
            if kind == "op" and token.value in (".", ",", "*"):
                pass
            elif kind == "open":
                stack.append(token.value)
            else:
                return set()
        elif kind == "open":
            stack.append(token.value)
        elif kind == "close":
            if stack.pop() != _PAIRS[token.value]:
                return set()
            after_name = not stack  # `(i, j) k` is no target either
        elif kind == "name":
            names.add(token.value)
        elif kind == "string" and "f" in token.value.lower():
            return None  # an f-string's fields hold names
    return set()


def _while_test_names(text: str, position: int) -> Optional[set]:
    """Names of the test after a `while` keyword, up to its `:` at depth 0."""
    names: set = set()
    depth = 0
    for token in _tokens(text, position):
        kind = token.kind
        if kind == "ws" or kind == "cont":
            continue
        if kind == "name":
            if token.value == "lambda":
                return None  # a lambda's `:` would end the scan early
            names.add(token.value)
        elif kind == "string" or kind == "badstring":
            if "f" in token.value.lower():
                return None
            if kind == "badstring":
                return set()  # a non-f string that does not end: no valid test here
        elif kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth < 0:
                return set()
        elif depth == 0:
            if kind == "op" and token.value == ":":
                return names
            if kind in ("nl", "comment") or (kind == "op" and token.value == ";"):
                return set()
    return set()


# What the structural scan skips over (lines it needs only the extent of) is read coarsely: runs of
# characters that open or close nothing, strings, comments, brackets, line breaks, `;`.
_COARSE = LazyRegex(
    r"""(?P<run>[^'"#\\()\[\]{}\r\n;]+)|(?P<quote>'''|\"\"\"|'|")|(?P<comment>#[^\r\n]*)|(?P<cont>\\(?:\r\n|\r|\n))"""
    r"""|(?P<open>[(\[{])|(?P<close>[)\]}])|(?P<nl>\r\n|\r|\n)|(?P<semicolon>;)|(?P<backslash>\\)"""
)
_BLANKS = LazyRegex(r"(?:[ \t\f]|\\(?:\r\n|\r|\n))*")
_BARRIER_WORD = LazyRegex(r"(?:return|break|continue|raise)(?!\w)")
_COMPOUND_WORD = LazyRegex(r"(?:if|elif|else|for|while|with|try|except|finally|def|class|async)(?!\w)|@")


def _string_prefix(text: str, quote_start: int) -> str:
    """The string prefix before a quote (`rb`, `f`), or "" when the word before it is a name."""
    start = quote_start
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    prefix = text[start:quote_start]
    return prefix if len(prefix) <= 2 and all(c in "rRbBuUfF" for c in prefix) else ""


def _skip(text: str, position: int, to_line_end: bool) -> tuple[int, str]:
    """Past the statement (or, `to_line_end`, the logical line) going on at `position`
    at bracket depth 0: (where scanning resumes, ";" / "nl" / "eof")."""
    resume, ending, _assigns, _has_lambda = _scan_statement(text, position, to_line_end=to_line_end)
    return resume, ending


# In code outside brackets, strings and comments: an assignment `=` (no `==`, `<=`, `:=`, `+=`, ...),
# and the `lambda` keyword (whose defaults `lambda x=1: x` hold such an `=` too).
_LONE_EQUALS = LazyRegex(r"(?<![=!<>:+\-*/%@&|^])=(?!=)")
_LAMBDA = LazyRegex(r"(?<!\w)lambda(?!\w)")


def _statement_extent(text: str, position: int) -> tuple[int, str, bool, bool]:
    """Like _read_statement without the names, read coarsely: (where scanning resumes,
    ";" / "nl" / "eof", an assignment `=` at depth 0, a `lambda` at depth 0)."""
    return _scan_statement(text, position, strict=True)


def _scan_statement(text: str, position: int, to_line_end: bool = False, strict: bool = False) -> tuple[int, str, bool, bool]:
    """The coarse reading behind _skip and _statement_extent: up to the end of the statement
    (`to_line_end`: of the logical line) at bracket depth 0, noting an assignment `=` and a
    `lambda` at depth 0; `strict`: a backslash that does not end a line is a lexical error."""
    depth = 0
    assigns = has_lambda = False
    match_at = _COARSE.match
    end = len(text)
    while position < end:
        match = match_at(text, position)
        kind = match.lastgroup  # type: ignore[union-attr]
        if kind == "quote":
            position = _string_end(text, position, _string_prefix(text, position), match.group())  # type: ignore[union-attr]
            continue
        position = match.end()  # type: ignore[union-attr]
        if kind == "run":
            if depth == 0:
                chunk = match.group()  # type: ignore[union-attr]
                if "=" in chunk and _LONE_EQUALS.search(chunk):
                    assigns = True
                if "lambda" in chunk and _LAMBDA.search(chunk):
                    has_lambda = True
        elif kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth < 0:
                raise _Invalid("unbalanced bracket")
        elif depth == 0:
            if kind == "nl":
                return position, "nl", assigns, has_lambda
            if kind == "semicolon" and not to_line_end:
                return position, ";", assigns, has_lambda
            if kind == "backslash" and strict:
                raise _Invalid("backslash not ending a line")
    if depth:
        raise _Invalid("unclosed bracket at the end of the text")
    return end, "eof", assigns, has_lambda


def _same_element_store(text: str, position: int, first: _Site, sites_by_start: dict) -> Optional[int]:
    """At a statement start: where the value starts when a one-target assignment to
    `first.key` starts there (an element store to the same element); else None
    (no store of that text, or a chained `J[i] = a = v`, which is no element store)."""
    second = next((site for site in sites_by_start.get(position, ()) if site.key == first.key), None)
    if second is None:
        return None
    value = _read_statement(text, second.after_equals)
    if value.assigns and value.has_lambda:
        raise _Unknown("a lambda with a default in a chained store")
    return None if value.assigns else second.after_equals


def _is_compound(statement: _Statement) -> bool:
    token = statement.first
    return token is not None and (
        (token.kind == "name" and token.value in _COMPOUND) or (token.kind == "op" and token.value == "@")
    )


def _first_word(statement: _Statement) -> Optional[str]:
    token = statement.first
    return token.value if token is not None and token.kind == "name" else None


def _overwritten_after(
    text: str, first: _Site, root: str, context: _Context, sites_by_start: dict, branch_possible: Callable[[], bool]
) -> bool:
    """Could the rule report a store of `first.key` overwriting `first`? Mirrors
    OverwrittenDiagonal._check_block/_overwrite_after statement by statement (see
    the registry's comment on GL101). Reads the code after `first` exactly, which
    is sound because a store the rule reports stands at a statement start.
    `branch_possible()`: the first store's block may be a diagonal branch's body."""
    if context.kind == "suite":
        diagonal = context.diagonal_header
        branch_possible = lambda: diagonal  # noqa: E731 - the suite's header is read exactly
    if context.kind == "block" and context.indentation == "":
        return False  # a module-level statement: in no loop body
    position, ends, assigns, has_lambda = _statement_extent(text, first.after_equals)
    if assigns and not has_lambda:
        return False  # `J[i] = a = v`: two targets, no element store
    level = context.indentation
    # Case A: the statements after the first store in its block (a suite's: on its line). Once case A
    # has ended (a compound statement, a read of the base), case B may still follow if the block is an
    # `if i == j:` body: then only its top-level jumps and stores to the element matter.
    case_a = True
    indentation = level
    while True:
        if ends == "eof":
            return False
        new_line = ends == "nl"
        if new_line:
            if context.kind == "suite":
                break
            found = _next_logical_line(text, position)
            if found is None:
                return False
            indentation, position = found
            order = _compare_indentation(indentation, level)
            if order < 0:
                break  # the first store's block ended
            if order > 0:
                case_a = False  # a block nested in a compound statement of the first store's block
                if not branch_possible():
                    return False
                position, ends = _skip(text, position, to_line_end=True)
                continue
        if not new_line:
            position = _BLANKS.match(text, position).end()  # type: ignore[union-attr]
        if not case_a:
            if _BARRIER_WORD.match(text, position):
                return False  # a top-level jump: the branch does not fall through
            if new_line and _COMPOUND_WORD.match(text, position):
                position, ends = _skip(text, position, to_line_end=True)
                continue
            if _same_element_store(text, position, first, sites_by_start) is not None:
                return False  # the first store is not the branch's last to the element
            position, ends = _skip(text, position, to_line_end=False)
            continue
        statement = _read_statement(text, position)
        if new_line and _is_compound(statement):
            case_a = False
            if not branch_possible():
                return False
            position, ends = _skip(text, position, to_line_end=True)
            continue
        if _first_word(statement) in _BARRIERS:
            return False  # ends case A; a branch with a jump does not fall through (case B)
        value = _same_element_store(text, statement.start, first, sites_by_start)
        if value is not None:
            # The element stored again by a one-target assignment: reported unless its value reads the
            # base; either way the first store is not the branch's last to it (no case B).
            return root not in _read_statement(text, value).names
        if root in statement.names:
            case_a = False  # the base is read (or rebound): case A ends; case B may still follow
            if not branch_possible():
                return False
        position, ends = statement.next, statement.ends
    # Case B: the block was a diagonal branch (no else) of an `if` whose following statements stand at
    # the indentation the scan reached (for an indented block) or at the header's (a one-line suite).
    if not branch_possible():
        return False
    if context.kind == "suite":
        found = _next_logical_line(text, position)
        if found is None:
            return False
        indentation, position = found
        if _compare_indentation(indentation, level) != 0:
            return False
    level = indentation
    statement = _read_statement(text, position)
    if _first_word(statement) in _CLAUSES:
        return False  # else/elif: the branch has an orelse (or the block was no `if` body)
    new_line = True
    while True:
        if new_line and _is_compound(statement):
            return False
        if _first_word(statement) in _BARRIERS:
            return False
        value = _same_element_store(text, statement.start, first, sites_by_start)
        if value is not None:
            return root not in _read_statement(text, value).names
        if root in statement.names:
            return False  # the base is read between the stores
        if statement.ends == "eof":
            return False
        position = statement.next
        new_line = statement.ends == "nl"
        if new_line:
            found = _next_logical_line(text, position)
            if found is None:
                return False
            indentation, position = found
            if _compare_indentation(indentation, level) != 0:
                return False  # the statements after the `if` ended (or a compound one's block began)
        statement = _read_statement(text, position)


def repeated_element_store(text: str, absent: "Callable[[str], bool]" = _none_known_absent) -> bool:
    """GL101 (overwritten-diagonal) can fire only if one subscripted element is
    stored twice, as the registry's comment on GL101 details. False only when no
    pair of stores in the text can be the pair the rule reports."""
    try:
        return _repeated_element_store(text)
    except Exception:  # noqa: BLE001 - whatever the scanner cannot read, the rule may fire on
        return True


def _repeated_element_store(text: str) -> bool:
    sites = _store_sites(text)
    by_key: dict[str, list[_Site]] = {}
    for site in sites:
        by_key.setdefault(site.key, []).append(site)
    repeated = [group for key, group in by_key.items() if len(group) > 1 and "[" in key]
    if not repeated:
        return False
    sites_by_start: dict[int, list[_Site]] = {}
    for site in sites:
        sites_by_start.setdefault(site.start, []).append(site)
    loop_names: Optional[set] = None
    loop_names_known = False
    found_headers: list[list[tuple[int, str]]] = []

    def headers() -> list[tuple[int, str]]:  # read once, when a store's block may be a branch body
        if not found_headers:
            found_headers.append(_diagonal_headers(text))
        return found_headers[0]
    for group in repeated:
        try:
            read = _root_and_index_names(text, group[0])
        except _Invalid:
            continue  # the target holds a lexical error: no store has this text (read from its start, exactly)
        if read is None:
            continue
        root, index_names = read
        if not index_names:
            continue
        if not any(
            _may_overwrite(text, first, root, sites_by_start, headers)
            for first in sorted(group, key=lambda site: site.start)[:-1]
        ):
            continue
        # Reading every loop header costs more than the structure: done last, once per text.
        if not loop_names_known:
            loop_names, loop_names_known = _names_in_loop_headers(text), True
        if loop_names is None or index_names & loop_names:
            return True
    return False


# A diagonal branch's header (_is_diagonal_branch: an `if`, not `elif`, whose test is one `==` or `is`
# comparison of two names, each and the whole maybe parenthesised, with blanks, line breaks, comments and
# continuations inside the parentheses; a comment there ends at a line break). A name is matched loosely: any run of non-operator characters.
_TEST_GAP = r"(?:[\s()\\]|#[^\r\n]*[\r\n])*"  # a comment ends at its line break: one way to read `####`
_LOOSE_NAME = r"[^\s()\\#:;=!<>,.\[\]{}+\-*/%&|^~@'\"]+"
_DIAGONAL_HEADER = LazyRegex(
    r"if(?<!\wif)" + _TEST_GAP + _LOOSE_NAME + _TEST_GAP + r"(?:==|(?<![^\s()])is(?![^\s()]))" + _TEST_GAP + _LOOSE_NAME + _TEST_GAP + ":"
)


def _diagonal_headers(text: str) -> list[tuple[int, str]]:
    """(position, indentation of its line) of every text that may be a diagonal branch's header."""
    headers = []
    for match in _DIAGONAL_HEADER.finditer(text):
        line_start = _line_start(text, match.start())
        line = text[line_start : match.start()]
        headers.append((match.start(), line[: len(line) - len(line.lstrip(" \t\f"))]))
    return headers


def _may_overwrite(
    text: str, first: _Site, root: str, sites_by_start: dict, headers: Callable[[], list[tuple[int, str]]]
) -> bool:
    try:
        context = _store_context(text, first)
        if context is None:
            return False
        # An `if` statement starts its logical line, so its header's line has the if's indentation,
        # shallower than its body's; and it comes before the body.
        def branch_possible() -> bool:
            indentation = context.indentation  # type: ignore[union-attr]
            return any(
                position < first.start and indentation.startswith(header) and header != indentation
                for position, header in headers()
            )

        return _overwritten_after(text, first, root, context, sites_by_start, branch_possible)
    except _Invalid:
        return False  # read exactly from a real store, the text would not parse: no store here


# ---------------------------------------------------------------------------
# GL205: a forward of a kind the rule judges (see the registry's comment above _GL205_COMPARISON)
# ---------------------------------------------------------------------------

# GL205's non-relu forward words (kept equal to registry._GL205_FORWARD_WORDS; a test checks it): an
# `exp(`, `maximum(` or `fmax(` call, a tanh/expit/sigmoid/softmax name. Searched one word at a time,
# each from its literal (the same matches as the alternation).
GL205_FORWARD_WORDS = r"(?:exp|maximum|fmax)\b[\s)\\]*(?:#[^\r\n]*[\r\n][\s)\\]*)*\(|(?:tanh|expit|sigmoid|softmax)\b"
_GL205_WORDS = tuple(
    (word, LazyRegex(word + tail))
    for words, tail in ((("exp", "maximum", "fmax"), r"\b[\s)\\]*(?:#[^\r\n]*[\r\n][\s)\\]*)*\("), (("tanh", "expit", "sigmoid", "softmax"), r"\b"))
    for word in words
)  # (word, its search): every match starts with the word
# What libcst accepts between two tokens inside brackets (blanks, line breaks, continuations, comments
# read to their line end) and a zero as semantics._number reads it (0, 0.0, .0, 0e0, 0x0, 0_0, -0, (0);
# a superset: any number starting `0` or `.0`), then what may close it (blanks, comments, parentheses).
_GL205_GAP = r"(?:[\s\\]|#[^\r\n]*[\r\n])*"
_GL205_ZERO_HEAD = r"(?:[\s(\\-]|#[^\r\n]*[\r\n])*\.?0"
_GL205_ZERO = _GL205_ZERO_HEAD + r"(?:[\w.]|(?<=[eE])[-+])*"
_GL205_AFTER = r"(?:[\s)\\]|#[^\r\n]*[\r\n])*"
# semantics._forward_formula, Multiply branch, `mask * value`: the Comparison `x > 0` / `x >= 0` is an
# operand of `*` (not `**`, not `*=`), so parenthesised: its zero, at least one `)`, then the `*`.
_GL205_MASK_FIRST = LazyRegex(r">=?" + _GL205_ZERO + _GL205_GAP + r"\)" + _GL205_AFTER + r"\*(?![*=])")
# semantics._compute_forward, in-place relu `x[x < 0] = 0` (`<=` too): the first index of a subscript
# target is a Comparison whose left is a Name (maybe parenthesised) and whose first comparator is zero
# (a chained comparison or more indices follow: kept); the element store (facts: Assign, AnnAssign,
# AugAssign with any operator, a tuple/list target) has the value zero: after the subscript's `]`, an
# annotation `:`, a tuple/list target (`,`, `)`, `]`), or `=` / `op=` and a zero, or a chained `a = b = 0`
# (another `=` on the line; a bracket, backslash or comment there is kept unread).
_GL205_IN_PLACE = LazyRegex(
    r"\[" + _GL205_GAP + r"(?:\(" + _GL205_GAP + r")*\w+" + _GL205_GAP + r"(?:\)" + _GL205_GAP + r")*<=?" + _GL205_ZERO
    + _GL205_AFTER + r"(?:[,<>=!]|(?:in|is|not)(?!\w)|\]" + _GL205_AFTER
    + r"(?:[,:)\]]|(?:[-+*/%@&|^]|//|\*\*|<<|>>)?=(?!=)" + _GL205_GAP + r"(?:" + _GL205_ZERO_HEAD
    + r"|[^=\r\n(\[{\\#]*(?:=(?!=)|[(\[{\\#]))))"
)
# The two readings that start at a `(`: semantics._library_forward's `where(x > 0, ...)` (a call whose
# callee's last name is `where`; `(np.where)(` too: a `)` may stand before the `(`), whose first
# positional argument is the Comparison, and the Multiply branch's `value * (x > 0)`: the parenthesised
# Comparison right after a `*` (not `**`/`*=`).
_GL205_GROUP = LazyRegex(
    r"where(?<!\wwhere)(?!\w)(?:[\s)\\]|#[^\r\n]*[\r\n])*\(|\*(?<!\*\*)(?![*=])" + _GL205_GAP + r"\("
)
_ZERO_NUMBER = LazyRegex(r"\.?0")


def _comparison_with_zero_opens(text: str, start: int) -> bool:
    """Whether the group opened at `start` (read as code) holds `> 0` / `>= 0` before its first top-level
    `,`, `=`, `:` or its end: where the Comparison that is `where`'s first argument, or the whole
    parenthesised `*` operand, stands (a superset: any depth, any left operand, any following token)."""
    depth = 0
    after_comparison = False
    for token in _tokens(text, start):
        kind, value = token.kind, token.value
        if kind in ("ws", "nl", "comment", "cont"):
            continue
        if kind == "open":
            depth += 1
            continue
        if kind == "close":
            depth -= 1
            if depth <= 0:
                return False
            after_comparison = False
            continue
        if after_comparison:
            if kind == "op" and value == "-":
                continue
            if kind == "number" and _ZERO_NUMBER.match(value):
                return True
            after_comparison = False
        if kind == "op":
            if value in (">", ">="):
                after_comparison = True
            elif depth == 1 and value in (",", "=", ":", ";"):
                return False
    return False


def relu_or_forward_word(text: str, absent: "Callable[[str], bool]" = _none_known_absent) -> bool:
    """GL205 (derivative-of-wrong-function) judges a formula or a returned output only against a forward
    of kind sigmoid, softmax, tanh, relu or leaky relu (see the registry). False only when the text has
    none of the forward words and no reading of a relu: `where(x > 0, ...)`, `x * (x > 0)`,
    `(x > 0) * x`, `x[x < 0] = 0` (each in every spelling semantics accepts)."""
    try:
        if any(not absent(word) and search.search(text) for word, search in _GL205_WORDS):
            return True
        if _GL205_MASK_FIRST.search(text) or _GL205_IN_PLACE.search(text):
            return True
        for match in _GL205_GROUP.finditer(text):
            try:
                if _comparison_with_zero_opens(text, match.end() - 1):
                    return True
            except _Unknown:
                return True  # a string the scanner cannot read inside the group: the rule may fire
            except _Invalid:
                continue  # read exactly from a `(` in code, the text would not parse: no reading here
        return False
    except Exception:  # noqa: BLE001 - whatever cannot be read surely, the rule may fire on
        return True


# ---------------------------------------------------------------------------
# GL402: the in-place write and the evidence in one function (see the registry's comment on GL402)
# ---------------------------------------------------------------------------

# Kept equal to registry._GL402_WRITE and gradlint.rules.input_mutated_in_place.EVIDENCE (a test checks both).
GL402_WRITE = (
    r"\+=|-=|\](?:[ \t\f]|\\(?:\r\n?|\n))*=(?!=)|[*/%@&|^]=|<<=|>>=|\)(?:[ \t\f]|\\(?:\r\n?|\n))*=(?!=)"
    r"|\bout(?:\s|\\|#[^\r\n]*(?![^\r\n]))*="
)
GL402_EVIDENCE = (
    r"\b(?:exp|tanh|maximum)\s*\(|\b(?:dout|dvalues|grad_output)\b"
    r"|(?:def|class)\s+\w*(?:[Bb]ackward|[Bb]ackprop|bprop|[Gg]rad|[Dd]eriv|[Pp]rime|[Rr]e[Ll][Uu]|[Ss]igmoid|[Ss]oftmax"
    r"|[Tt]anh|[Aa]ctivation|[Ff]orward|[Cc]ost|[Ll]oss)"
)
# GL402_WRITE searched piece by piece (the augmented operators as plain substrings, the rest from their
# literal): the same texts match (a test checks it).
_GL402_AUGMENTED = ("+=", "-=", "*=", "/=", "%=", "@=", "&=", "|=", "^=", "<<=", ">>=")
_GL402_STORES = (
    LazyRegex(r"\](?:[ \t\f]|\\(?:\r\n?|\n))*=(?!=)"),
    LazyRegex(r"\)(?:[ \t\f]|\\(?:\r\n?|\n))*=(?!=)"),
    LazyRegex(r"out(?<!\wout)(?:\s|\\|#[^\r\n]*(?![^\r\n]))*="),
)


def _has_write(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] holds a match of GL402_WRITE."""
    find = text.find
    return any(find(operator, start, end) >= 0 for operator in _GL402_AUGMENTED) or any(
        store.search(text, start, end) for store in _GL402_STORES
    )
# The rule's evidence in the function's code, or (for a method) its class's name tested as `class NAME`:
# the class header, maybe with a backslash continuation inside (kept equal to registry._GL402_CLASS_NAME).
GL402_CLASS_NAME = (
    r"class[\s\\]+\w*(?:[Bb]ackward|[Bb]ackprop|bprop|[Gg]rad|[Dd]eriv|[Pp]rime|[Rr]e[Ll][Uu]|[Ss]igmoid|[Ss]oftmax"
    r"|[Tt]anh|[Aa]ctivation|[Ff]orward|[Cc]ost|[Ll]oss)"
)
# A coarse reading of the text as Python tokens: runs of code characters, line breaks, comments,
# backslashes (with what they escape) and string openings (each string read to its end by _string_end).
# What the exact reading stops at: a comment, a backslash (with what it escapes) or a string's opening
# quote (the string is read to its end by _string_end); the code in between is skipped by the regex
# engine (its brackets counted).
_GL402_STOP = LazyRegex(r"""[#\\'"]""")
_GL402_PREFIX = LazyRegex(r"(?<!\w)[rRbBuUfF]{1,2}\Z")
_GL402_LEADING = LazyRegex(r"[ \t\f]*(?:#|@|\r|\n|\Z)")  # a blank, comment or decorator line


def _brackets(text: str, start: int, end: int) -> int:
    count = text.count
    return (
        count("(", start, end) + count("[", start, end) + count("{", start, end)
        - count(")", start, end) - count("]", start, end) - count("}", start, end)
    )


class _Reading(NamedTuple):
    headers: list  # column-0 `def`/`class`/`async def` in code (outside strings, comments, brackets)
    strings: list  # (start, end) of every string literal
    code: list  # (start, bracket depth there) of every stretch of code between the stops
    string_starts: list
    code_starts: list


def _read_top_level(text: str) -> _Reading:
    """The text read exactly as Python tokens, as far as _Reading needs (an f-string the reading cannot
    follow, PEP 701, raises _Unknown; an unterminated string _Invalid). The headers are the raw lines'
    (_headers_by_lines) outside strings and brackets (a column-0 position is never inside a comment)."""
    strings: list = []
    code: list = []
    position, depth, end = 0, 0, len(text)
    search = _GL402_STOP.search
    while True:
        match = search(text, position)
        stop = match.start() if match is not None else end
        code.append((position, depth))
        depth += _brackets(text, position, stop)
        if match is None:
            break
        char = text[stop]
        if char == "#":
            line_break = _line_break_at_or_after(text, stop)
            position = line_break if line_break >= 0 else end
        elif char == "\\":
            position = stop + (3 if text.startswith("\r\n", stop + 1) else 2)
        else:
            quote = char * 3 if text.startswith(char * 3, stop) else char
            prefix = _GL402_PREFIX.search(text, max(0, stop - 2), stop)
            position = _string_end(text, stop, prefix.group() if prefix else "", quote)
            strings.append((stop, position))
    string_starts = [start for start, _ in strings]
    code_starts = [start for start, _ in code]
    headers = [0]
    for header in _headers_by_lines(text)[1:]:
        index = bisect_right(string_starts, header) - 1
        if index >= 0 and strings[index][1] > header:
            continue  # inside a string
        start, depth = code[bisect_right(code_starts, header) - 1]
        if depth + _brackets(text, start, header) <= 0:
            headers.append(header)
    return _Reading(headers, strings, code, string_starts, code_starts)


def _exact_leading_start(text: str, reading: _Reading, header: int) -> int:
    """The start of the lines right above a header that may be its leading comment lines and decorators:
    blank, comment and decorator lines, lines inside a string or brackets, lines after a backslash
    continuation. It stops only at a code line at bracket depth 0 starting with another character (a
    line of the statement before)."""
    leading = header
    starts, code_starts = reading.string_starts, reading.code_starts
    while leading > 0:
        end = leading - 2 if text[leading - 2 : leading] == "\r\n" else leading - 1
        previous = _line_start(text, end)
        before = previous - 2 if text[previous - 2 : previous] == "\r\n" else previous - 1  # the line break before it
        continued = before > 0 and text[before - 1] == "\\"
        if not _GL402_LEADING.match(text, previous) and not continued:
            index = bisect_right(starts, previous) - 1
            in_string = index >= 0 and reading.strings[index][0] < previous < reading.strings[index][1]
            if not in_string:
                stretch = bisect_right(code_starts, previous) - 1
                start, depth = reading.code[stretch]
                if depth + _brackets(text, start, previous) <= 0:
                    break
        leading = previous
    return leading


_GL402_LINE_HEADERS = tuple(  # a column-0 `def`, `class`, `async def` on a raw line, each from its literal
    LazyRegex(word + r"(?<![^\r\n]" + word + r")" + rest) for word, rest in (("def", r"(?!\w)"), ("class", r"(?!\w)"), ("async", r"[ \t\f]+def(?!\w)"))
)
_GL402_WORDS = r"(?:[Bb]ackward|[Bb]ackprop|bprop|[Gg]rad|[Dd]eriv|[Pp]rime|[Rr]e[Ll][Uu]|[Ss]igmoid|[Ss]oftmax|[Tt]anh|[Aa]ctivation|[Ff]orward|[Cc]ost|[Ll]oss)"
# The alternatives of GL402_EVIDENCE | GL402_CLASS_NAME, each searched from its literal (their matches
# start wherever the combined pattern's do; a test checks it on the corpus).
_GL402_EVIDENCE_LITERALS = ("exp", "tanh", "maximum", "dout", "dvalues", "grad_output", "def", "class")  # each part's first
_GL402_EVIDENCE_WORDS = ("exp", "tanh", "maximum", "dout", "dvalues", "grad_output", None, None)  # held whole (or None)
_GL402_EVIDENCE_PARTS = tuple(
    LazyRegex(part)
    for part in (
        *(word + r"(?<!\w" + word + r")\s*\(" for word in ("exp", "tanh", "maximum")),
        *(word + r"(?<!\w" + word + r")\b" for word in ("dout", "dvalues", "grad_output")),
        r"def\s+\w*" + _GL402_WORDS,
        r"class[\s\\]+\w*" + _GL402_WORDS,
    )
)


def _leading_start(text: str, header: int) -> int:
    """The start of the blank, comment and decorator lines right above a column-0 header (raw lines)."""
    leading = header
    while leading > 0:
        end = leading - 2 if text[leading - 2 : leading] == "\r\n" else leading - 1
        previous = _line_start(text, end)
        if not _GL402_LEADING.match(text, previous):
            break
        leading = previous
    return leading


def _headers_by_lines(text: str) -> list[int]:
    """The column-0 headers of _top_level_headers read from the raw lines, as if no string held a line
    break (fast; a header inside a string only narrows a region, and admitting is always sound, so the
    exact reading is asked only before a rejection)."""
    return sorted({0, *(match.start() for header in _GL402_LINE_HEADERS for match in header.finditer(text))})


def _evidence_with_write(text: str, headers: list[int], leading: "Callable[[int], int]", absent: "Callable[[str], bool]") -> bool:
    """Whether some region, from a header's leading lines (`leading(index)`) to the next header, holds
    both the evidence and a write (every write's function code lies in such a region)."""
    bounds = headers + [len(text)]
    searched: set[int] = set()
    for literal, word, part in zip(_GL402_EVIDENCE_LITERALS, _GL402_EVIDENCE_WORDS, _GL402_EVIDENCE_PARTS):
        if absent(literal) or (word is not None and _word_absent(absent, word)):
            continue  # every match of the part starts with its literal (and holds its word whole)
        for evidence in part.finditer(text):
            position = evidence.start()
            region = bisect_right(bounds, position) - 1
            for index in (region, region + 1):
                if index >= len(headers) or index in searched:
                    continue
                start = leading(index)
                if not start <= position < bounds[index + 1]:
                    continue
                searched.add(index)
                if _has_write(text, start, bounds[index + 1]):
                    return True
    return False


def _exact_evidence_with_write(text: str, absent: "Callable[[str], bool]" = _none_known_absent) -> bool:
    reading = _read_top_level(text)
    starts: dict[int, int] = {}

    def leading(index: int) -> int:
        if index not in starts:
            starts[index] = _exact_leading_start(text, reading, reading.headers[index]) if index else 0
        return starts[index]

    return _evidence_with_write(text, reading.headers, leading, absent)


_GL402_HEADER_AT = LazyRegex(r"(?:def|class|async[ \t\f]+def)(?!\w)")


def _line_header_after(text: str, position: int) -> int:
    """The first raw-line column-0 header after `position` (the text's length if none)."""
    found = len(text)
    for needle in ("\ndef", "\rdef", "\nclass", "\rclass", "\nasync", "\rasync"):
        index = text.find(needle, position, found)
        while index >= 0 and not _GL402_HEADER_AT.match(text, index + 1):
            index = text.find(needle, index + 1, found)
        if index >= 0:
            found = index + 1
    return found


def _line_header_before(text: str, position: int) -> int:
    """The last raw-line column-0 header at or before `position` (0 if none)."""
    found = 0
    for needle in ("\ndef", "\rdef", "\nclass", "\rclass", "\nasync", "\rasync"):
        index = text.rfind(needle, found, position + len(needle) - 1)
        while index >= 0 and not _GL402_HEADER_AT.match(text, index + 1):
            index = text.rfind(needle, found, index + len(needle) - 1)
        if index >= 0:
            found = max(found, index + 1)
    return found


def _evidence_with_write_by_lines(text: str, absent: "Callable[[str], bool]" = _none_known_absent) -> bool:
    """_evidence_with_write over the raw lines' headers, each found from the evidence outwards."""
    searched: set[int] = set()
    for literal, word, part in zip(_GL402_EVIDENCE_LITERALS, _GL402_EVIDENCE_WORDS, _GL402_EVIDENCE_PARTS):
        if absent(literal) or (word is not None and _word_absent(absent, word)):
            continue  # every match of the part starts with its literal (and holds its word whole)
        for evidence in part.finditer(text):
            position = evidence.start()
            header = _line_header_before(text, position)
            following = _line_header_after(text, position)
            regions = [(header, following)]
            if following < len(text):
                regions.append((following, _line_header_after(text, following)))
            for start, end in regions:
                if start in searched:
                    continue
                leading = _leading_start(text, start) if start else 0
                if not leading <= position < end:
                    continue
                searched.add(start)
                if _has_write(text, leading, end):
                    return True
    return False


def write_in_evidence_function(text: str, absent: "Callable[[str], bool]" = _none_known_absent) -> bool:
    """GL402 (input-mutated-in-place) reports a write only inside a function whose own code (its leading
    comment lines, decorators, header and body) matches the evidence, or whose class's name does. That
    code lies in the top-level statement around the write: from the leading lines of the last column-0
    `def`/`class` header at or before the write (or the text's start) to the next header (a write in
    the next header's leading lines, e.g. a decorator, belongs to that statement). False only when no
    such region holds both a write and the evidence."""
    try:
        # First from the raw lines (admitting is always sound); the exact reading decides a rejection.
        return _evidence_with_write_by_lines(text, absent) or _exact_evidence_with_write(text, absent)
    except Exception:  # noqa: BLE001 - an f-string the reading cannot follow, an unterminated string, ...
        return True


# ---------------------------------------------------------------------------
# GL103: a diagonal call, or an element loop's `if i == j: J[..] = a` / `else: J[..] = b`
# ---------------------------------------------------------------------------

# Kept equal to registry._GL103_DIAGONAL_CALL (a test checks it): the matrix formulas' diagonal call.
GL103_DIAGONAL_CALL = (
    r"\b(?:diag|diagflat|eye|identity)(?<!def diag)(?<!def diagflat)(?<!def eye)(?<!def identity)"
    r"(?:[\s)\\]|#[^\r\n]*[\r\n])*\("
)
_GL103_DIAGONAL_NAMES = ("diag", "diagflat", "eye", "identity")
_GL103_DIAGONAL_CALLS = tuple(  # the same matches, one literal-first search per name
    LazyRegex(name + r"(?<!\w" + name + r")(?<!def " + name + r")(?:[\s)\\]|#[^\r\n]*[\r\n])*\(")
    for name in _GL103_DIAGONAL_NAMES
)
# The If's header as registry._GL103_INDEX_BRANCH reads it (`if`/`elif`, one ==/!= of two names, each
# and the whole maybe parenthesised, with blanks, comments and continuations inside parentheses).
_GL103_TEST_GAP = r"(?:[\s()\\]|#[^\r\n]*[\r\n])*"
_GL103_HEADER = LazyRegex(
    r"if(?<![^\sl]if)" + _GL103_TEST_GAP + r"(?!\d)\w+" + _GL103_TEST_GAP + r"[=!]=" + _GL103_TEST_GAP + r"(?!\d)\w+"
    + _GL103_TEST_GAP + ":"
)
_GL103_ELSE = LazyRegex(r"else(?:[ \t\f]|\\(?:\r\n?|\n))*:")


class _Store(NamedTuple):
    target: Optional[str]  # the target's text without blanks; None: not compared
    next: int  # where the statement ends


def _one_store(text: str, position: int) -> Optional[_Store]:
    """The small statement at `position` when it may be an Assign with one target (a first depth-0
    `=`, no other after it unless a lambda may hold it), alone in its block (`;` followed by nothing);
    None when it is certainly not."""
    depth = 0
    first_equals: Optional[int] = None
    equals = 0
    lambda_seen = False
    first_token: Optional[_Token] = None
    last: Optional[_Token] = None
    for token in _tokens(text, position):
        last = token
        kind = token.kind
        if kind in ("ws", "cont", "comment"):
            continue
        if first_token is None:
            first_token = token
            if kind == "name" and token.value in _COMPOUND:
                return None  # a compound statement (the rule asks for an Assign)
        if kind == "nl":
            if depth == 0:
                break
            continue
        if kind == "name" and token.value == "lambda":
            lambda_seen = True
        elif kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
        elif kind == "op" and depth == 0:
            if token.value == ";":
                rest = _next_token(text, token.end)
                if rest is not None and rest.kind != "nl":
                    return None  # a second small statement in the block
                break
            if token.value == "=":
                equals += 1
                if first_equals is None:
                    first_equals = token.start
    if first_equals is None or (equals > 1 and not lambda_seen) or first_token is None:
        return None
    target = text[first_token.start : first_equals]
    # a comment, string or continuation in the target: code_for's text may differ, compare nothing
    normalised = None if any(char in target for char in "#'\"\\") else "".join(target.split())
    return _Store(normalised, last.end if last is not None else len(text))


def _next_token(text: str, position: int) -> Optional[_Token]:
    """The next token that is not a blank, comment or continuation."""
    for token in _tokens(text, position):
        if token.kind not in ("ws", "cont", "comment"):
            return token
    return None


def _suite_store(text: str, colon_end: int, indentation: str) -> Optional[tuple[_Store, Optional[tuple[str, int]]]]:
    """The one Assign a block (after the `:` of a header at `indentation`) consists of, and the next
    logical line after the block; None when the block is not exactly one such statement."""
    first = _next_token(text, colon_end)
    if first is None:
        return None
    if first.kind != "nl":  # a one-line suite
        store = _one_store(text, first.start)
        if store is None:
            return None
        return store, _next_logical_line(text, store.next)
    found = _next_logical_line(text, colon_end)
    if found is None:
        return None
    body_indentation, start = found
    if _compare_indentation(body_indentation, indentation) != 1:
        return None
    store = _one_store(text, start)
    if store is None:
        return None
    after = _next_logical_line(text, store.next)
    if after is not None and _compare_indentation(after[0], body_indentation) >= 0:
        return None  # a second statement in the block (or an unexpected indent)
    return store, after


def _is_index_branch(text: str, match: "re.Match[str]") -> bool:
    """Whether the header `match` starts an If whose body and `else:` body are one Assign each to the
    same target text (_check_loop_branch: _index_test, _last_store, equal code_for targets)."""
    keyword_start = match.start() - (2 if text.startswith("el", match.start() - 2) else 0)
    line_start = _line_start(text, keyword_start)
    indentation = text[line_start:keyword_start]
    if indentation.strip(" \t\f"):
        return False  # not at a line start: no If statement (read exactly from one, or not one at all)
    if "\f" in indentation:
        raise _Unknown("form feed in indentation")
    body = _suite_store(text, match.end(), indentation)
    if body is None:
        return False
    store, after = body
    if after is None or _compare_indentation(after[0], indentation) != 0:
        return False
    otherwise = _GL103_ELSE.match(text, after[1])
    if otherwise is None:
        return False  # no else (the rule asks for an Else; an elif is an If)
    off = _suite_store(text, otherwise.end(), indentation)
    if off is None:
        return False
    # the same target text (unless a comment, string or continuation in one keeps it unread)
    return store.target is None or off[0].target is None or store.target == off[0].target


# A line that is never code: a comment line (or a line of a string starting with `#`) or a doctest line
# (`>>>` cannot start a line of code, not even inside brackets).
_GL103_NOT_CODE_LINE = LazyRegex(r"[ \t\f]*(?:#|>>>)")


def _diagonal_call_outside_comment_lines(text: str, absent: "Callable[[str], bool]") -> bool:
    for name, call in zip(_GL103_DIAGONAL_NAMES, _GL103_DIAGONAL_CALLS):
        if absent(name) or _word_absent(absent, name):
            continue  # every match starts with the name, held whole
        for match in call.finditer(text):
            line_start = _line_start(text, match.start())
            if not _GL103_NOT_CODE_LINE.match(text, line_start):
                return True
    return False


@cache
def _gl103_code_search() -> "re.Pattern[str]":
    # a long regex (some 4 ms to compile): compiled only when a text gets this far, after a run's first texts
    from gradlint.registry import _GL103_IN_CODE

    return kept_compile(_GL103_IN_CODE)


@cache
def _gl103_conditional() -> "re.Pattern[str]":
    from gradlint.registry import _GL103_INDEX_CONDITIONAL

    return kept_compile(_GL103_INDEX_CONDITIONAL)


def diagonal_call_or_index_branch(text: str, absent: "Callable[[str], bool]" = _none_known_absent) -> bool:
    """GL103 (malformed-softmax-jacobian): its matrix formulas need a diagonal call (diag, diagflat,
    eye, identity), its element loop an If `i == j` / `i != j` of two names whose body and `else:` body
    are each one Assign to the same subscript target, or a conditional `... if i == j else ...` in an
    entry (found anywhere in the text: not told apart from strings and comments). False only when the
    text has none of them in code: a
    call on a line that is not a comment or doctest line, or such an If, are then looked for in code by
    registry._GL103_IN_CODE (a code search: the call, or the header with its store), except in a run's
    first texts (_costly_skipped)."""
    try:
        found = _diagonal_call_outside_comment_lines(text, absent)
        if not found:
            for match in _GL103_HEADER.finditer(text):
                try:
                    if _is_index_branch(text, match):
                        found = True
                        break
                except _Unknown:
                    found = True
                    break
                except _Invalid:
                    continue  # read exactly from a real If, the text would not parse; else no If here
        if not found:
            found = _gl103_conditional().search(text) is not None
        if not found or _costly_skipped(absent):
            return found
        return _gl103_code_search().search(text) is not None
    except Exception:  # noqa: BLE001 - whatever cannot be read surely, the rule may fire on
        return True


# ---------------------------------------------------------------------------
# GL401: the reduced array itself is what the reduction is combined with
# ---------------------------------------------------------------------------

# The reductions (numerics.REDUCTIONS, norm, logsumexp: model.operation returns the callee's last name as
# written), called: the name, then blanks, comments, continuations or the `)` of `(np.sum)(x)`, then `(`.
_GL401_NAMES = ("sum", "nansum", "mean", "nanmean", "max", "amax", "nanmax", "min", "amin", "nanmin", "std", "var", "prod", "norm", "logsumexp")
_GL401_CALLS = tuple(
    LazyRegex(name + r"(?<!\w" + name + r")(?:[\s)\\]|#[^\r\n]*[\r\n])*\(") for name in _GL401_NAMES
)
_GL401_GAP = r"(?:[\s\\]|#[^\r\n]*(?![^\r\n]))*"  # blanks, continuations, comments (inside brackets)
_GL401_MAX_LEFTS = 200
_GL401_LONGEST = 2000  # tokens of a first argument, characters of a receiver: beyond, admitted


def _first_argument(text: str, open_paren: int) -> Optional[str]:
    """The first positional argument's text (whitespace-normalised) of the call whose `(` is at
    `open_paren`; None when there is none (a keyword first). A string, comment or continuation in it,
    or a starred first argument: _Unknown."""
    depth = 0
    start = end = -1
    count = 0  # tokens of the argument read so far
    first_is_name = False
    for token in _tokens(text, open_paren):
        kind = token.kind
        if kind in ("ws", "nl"):
            continue
        if kind in ("string", "badstring", "comment", "cont"):
            raise _Unknown("a string, comment or continuation in the argument")
        if kind == "open":
            depth += 1
            if depth == 1:
                continue
        elif kind == "close":
            depth -= 1
            if depth == 0:
                break
        elif kind == "op" and depth == 1:
            if token.value == ",":
                break
            if token.value == "=" and count == 1 and first_is_name:
                return None  # a keyword argument
            if token.value in ("*", "**") and count == 0:
                raise _Unknown("a starred argument")
        if count == 0:
            start = token.start
            first_is_name = kind == "name"
        count += 1
        if count > _GL401_LONGEST:
            raise _Unknown("a long argument")  # admitted: bounded work per call
        end = token.end
    if start < 0:
        return None
    return " ".join(text[start:end].split())


def _receiver(text: str, name_start: int) -> Optional[str]:
    """The text (whitespace-normalised) of the receiver `x` of `x.sum(`, read backwards from the name;
    None when the name is not an attribute. A quote, comment or continuation met: _Unknown."""
    position = _back_over_blanks(text, name_start - 1)
    if position < 0 or text[position] != ".":
        return None
    end = position
    position -= 1
    while True:
        if end - position > _GL401_LONGEST:
            raise _Unknown("a long receiver")  # admitted: bounded work per call
        position = _back_over_blanks(text, position)
        if position < 0:
            break
        char = text[position]
        if char in "'\"#\\":
            raise _Unknown("a string, comment or continuation before the attribute")
        if char in ")]}":
            depth = 0
            while position >= 0:
                if end - position > _GL401_LONGEST:
                    raise _Unknown("a long receiver")
                char = text[position]
                if char in "'\"#\\":
                    raise _Unknown("a string, comment or continuation in the receiver")
                if char in ")]}":
                    depth += 1
                elif char in "([{":
                    depth -= 1
                    if depth == 0:
                        break
                position -= 1
            if position < 0:
                raise _Unknown("unbalanced brackets")
            position -= 1
            continue  # a call or subscript may follow a name or another group
        if char.isalnum() or char == "_" or not char.isascii():
            while position >= 0 and (text[position].isalnum() or text[position] == "_" or not text[position].isascii()):
                position -= 1
            look = _back_over_blanks(text, position)
            if look >= 0 and text[look] == ".":
                position = look - 1
                continue
            break
        break
    start = position + 1
    receiver = " ".join(_without_continuations(text[start:end]).split())
    return receiver or None


def _back_over_blanks(text: str, position: int) -> int:
    """The position of the last character at or before `position` that is not a blank, read back
    over line breaks and backslash continuations; -1 at the text's start. Crossing a line break
    into a line that holds a `#` raises _Unknown: its end may be a comment, whose words read
    backwards would pass for code (`(g * s)  # by s` then `.sum(axis=1)` on the next line)."""
    while position >= 0:
        char = text[position]
        if char in " \t\f":
            position -= 1
            continue
        if char not in "\r\n":
            break
        position -= 2 if char == "\n" and position > 0 and text[position - 1] == "\r" else 1
        if position >= 0 and text[position] == "\\":
            position -= 1  # a backslash continuation: the logical line goes on
            continue
        if "#" in text[_line_start(text, position + 1) if position >= 0 else 0 : position + 1]:
            raise _Unknown("a comment may end the line before")
    return position


def _factors(operand: str) -> list[str]:
    """The operand and, split at its last top-level `*` (not `**`), both sides: _reduces also takes
    `left` as a factor of a product operand (after one pair of enclosing parentheses)."""
    found = [operand]
    inner = operand
    if inner.startswith("("):
        depth = 0
        for index, char in enumerate(inner):
            depth += char in "([{"
            depth -= char in ")]}"
            if depth == 0:
                if index == len(inner) - 1:
                    inner = inner[1:-1].strip()
                break
    depth = 0
    split = -1
    for index, char in enumerate(inner):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "*" and depth == 0 and inner[index - 1 : index] != "*" and inner[index + 1 : index + 2] not in ("*", "="):
            split = index
    if split > 0:
        found += [inner[:split].strip(), inner[split + 1 :].strip()]
    return [factor for factor in found if factor]


_GL401_OPERATOR_AFTER = LazyRegex(_GL401_GAP + r"(?:-|/(?!/))")


@lru_cache(maxsize=1024)
def _left_before_operator(left: str) -> "re.Pattern[str]":
    """`left` (whitespace-normalised code: single blanks between non-blank characters), each blank
    any run of whitespace, then _GL401_OPERATOR_AFTER. Every blank run is followed by a non-blank
    character of `left`, so the pattern matches at a position iff `left` read there with its blank
    runs taken whole (the one way to read them) is followed by the operator."""
    return re.compile(re.escape(left).replace("\\ ", r"\s+") + _GL401_OPERATOR_AFTER.pattern)


_GL401_FIND_LIMIT = 64  # occurrences of a left's first word read one by one; beyond, one regex finds the rest


def _stands_before_operator(text: str, left: str) -> bool:
    """Whether `left` (whitespace-normalised code) occurs in the text as itself (not after a name
    character or a dot) right before a `-` or `/` (`/=`, `-=`; not `//`). Its occurrences are read in
    order, the first _GL401_FIND_LIMIT one by one, the rest (a short name is everywhere) by the
    regex _left_before_operator, which finds only the occurrences followed by the operator (compiling
    it costs more than reading a few occurrences)."""
    first = left.split(" ", 1)[0]  # searched as a plain substring; the rest matched from there
    rest = None
    if first != left:  # a blank in the code: any run of whitespace in the text
        rest = re.compile(re.escape(left[len(first) :]).replace("\\ ", r"\s+"))
    find, after = text.find, _GL401_OPERATOR_AFTER.match
    position = find(first)
    budget = _GL401_FIND_LIMIT
    while position >= 0:
        if not budget:
            break  # the rest by the regex, from this occurrence on
        budget -= 1
        before = text[position - 1 : position]
        if not (before.isalnum() or before == "_" or before == "." or (before and not before.isascii())):
            end: Optional[int] = position + len(first)
            if rest is not None:
                matched = rest.match(text, end)
                end = matched.end() if matched is not None else None
            if end is not None and after(text, end):
                return True
        position = find(first, position + 1)
    if position < 0:
        return False
    search = _left_before_operator(left).search
    found = search(text, position)
    while found is not None:
        position = found.start()
        before = text[position - 1 : position]
        if not (before.isalnum() or before == "_" or before == "." or (before and not before.isascii())):
            return True
        found = search(text, position + 1)
    return False


def reduced_array_combined(text: str, absent: "Callable[[str], bool]" = _none_known_absent) -> bool:
    """GL401 (reduction-without-keepdims) reports `left - r` / `left / r` (or `-=`, `/=`) where r is
    (through one binding) a reduction call whose operand (the receiver of `x.sum(...)`, or the first
    positional argument of `np.sum(x, ...)` / `norm(x, ...)`) has the code of `left`, or is a product
    with `left` as a factor (_reduces). False only when no reduction call's operand (or factor) stands,
    as itself, right before a `-` or `/` anywhere in the text."""
    try:
        seen: set[str] = set()
        for name, call in zip(_GL401_NAMES, _GL401_CALLS):
            if absent(name) or _word_absent(absent, name):
                continue  # every match starts with the name, held whole
            for match in call.finditer(text):
                for operand in (_receiver(text, match.start()), _first_argument(text, match.end() - 1)):
                    if operand is None:
                        continue
                    for left in _factors(operand):
                        if left in seen:
                            continue
                        seen.add(left)
                        if len(seen) > _GL401_MAX_LEFTS or _stands_before_operator(text, left):
                            return True
        return False
    except Exception:  # noqa: BLE001 - whatever cannot be read surely, the rule may fire on
        return True


# ---------------------------------------------------------------------------
# GL201: a pre-activation's evidence (see the registry's comment above _GL201_OTHER_EVIDENCE_PARTS)
# ---------------------------------------------------------------------------

# The callees semantics reads only through _library_call (or, for `dot`, an Attribute callee): each word
# as a whole identifier, then what libcst accepts before the call's `(` (registry._GL201_CALL); the
# literal first (a fast search), its start checked by a lookbehind.
_GL201_WORDS = ("dot", "matmul", "where")
_GL201_WORD_CALLS = tuple(
    LazyRegex(word + r"(?<!\w" + word + r")(?!\w)[\s)\\]*(?:#[^\r\n]*[\r\n][\s)\\]*)*\(") for word in _GL201_WORDS
)
# The last names of semantics._LIBRARY_PREFIXES (a test keeps them equal): a head `np`, `jax.numpy`,
# `scipy.special`, `torch.nn.functional`, ... ends with one of them.
GL201_HEAD_NAMES = frozenset({"np", "numpy", "math", "torch", "cp", "cupy", "jnp", "xp", "special", "F", "functional", "nn", "sp", "scipy"})


def _before_gap(text: str, position: int) -> int:
    """The index of the last character before `position` that is not in a gap libcst accepts between
    two tokens inside brackets (blanks, line breaks, backslash continuations); -1 at the text's start.
    A comment may stand in such a gap too: a line crossed that holds a `#` anywhere raises _Unknown."""
    position -= 1
    while position >= 0:
        char = text[position]
        if char == "\n" or char == "\r":
            line_start = _line_start(text, position)
            if "#" in text[line_start:position]:
                raise _Unknown("a line that may end in a comment before the callee")
        elif not (char.isspace() or char == "\\"):
            return position
        position -= 1
    return -1


def _library_attribute_call(text: str, word_start: int, word: str) -> bool:
    """Whether the call of `word` at `word_start` may be one semantics counts: the callee an Attribute
    (a `.` before the word) and, for `matmul`/`where` (semantics._library_call alone), a head whose last
    name is a library prefix's last name, or an attribute itself, or a parenthesised expression (a `)`);
    a non-ASCII character in the name is kept (_Unknown)."""
    dot = _before_gap(text, word_start)
    if dot < 0 or text[dot] != ".":
        return False
    if word == "dot":
        return True
    end = _before_gap(text, dot)
    if end < 0:
        return False
    if text[end] == ")":
        return True
    start = end
    while start >= 0 and (text[start].isalnum() or text[start] == "_" or not text[start].isascii()):
        start -= 1
    name = text[start + 1 : end + 1]
    if not name:
        return False
    if not name.isascii():
        raise _Unknown("a non-ASCII name before the attribute")
    if name in GL201_HEAD_NAMES:
        return True
    before = _before_gap(text, start + 1)
    return before >= 0 and text[before] == "."


@cache
def _gl201_other_evidence() -> "tuple[tuple[str, LazyRegex], ...]":
    # each part compiled when a text first gets to it: most texts that get this far hold one of the
    # first parts, and the last (`@`, a code search) alone takes milliseconds to compile
    from gradlint.registry import _GL201_OTHER_EVIDENCE_PARTS

    return tuple((literal, LazyRegex(pattern)) for literal, pattern in _GL201_OTHER_EVIDENCE_PARTS)


def preactivation_evidence(text: str, absent: "Callable[[str], bool]" = _none_known_absent) -> bool:
    """GL201 (jacobian-from-preactivation): a pre-activation's evidence (registry._GL201_EVIDENCE) where
    its `dot(`, `matmul(` and `where(` calls count only as the attribute calls semantics reads
    (_is_matmul, _library_forward through _library_call). False only when the text has none of the other
    evidence (registry._GL201_OTHER_EVIDENCE_PARTS: `@`, exp, maximum/fmax, tanh, sigmoid, softmax) and every
    such call is bare (`dot(5)`, `where(` imported) or, for matmul/where, on a head that is no library
    prefix (`self.where(`)."""
    try:
        for word, call in zip(_GL201_WORDS, _GL201_WORD_CALLS):
            if absent(word) or _word_absent(absent, word):
                continue  # every match starts with the word, held whole
            for match in call.finditer(text):
                if _library_attribute_call(text, match.start(), word):
                    return True
        return any(
            not absent(literal) and literal in text and search.search(text) is not None
            for literal, search in _gl201_other_evidence()
        )
    except Exception:  # noqa: BLE001 - whatever cannot be read surely, the rule may fire on
        return True


# ---------------------------------------------------------------------------
# GL206: a carried gradient assigned (see the registry's comment above _GL206_CARRIED_ZEROED)
# ---------------------------------------------------------------------------

# `next` or `prev` spelled as recurrent_gradient_not_carried.CARRIED_NAME spells them, the rest of the
# identifier, then what may stand before an Assign's `=` or a tuple target's `,` (kept equal to
# registry._GL206_CARRIED_ZEROED)
_GL206_ASSIGNED = LazyRegex(r"(?:next|Next|NEXT|prev|Prev|PREV)\w*(?:[\s\\)\]]|#[^\r\n]*(?![^\r\n]))*(?:=(?!=)|,)")
# the rule's carried-gradient name, from the identifier's start (kept equal to CARRIED_NAME)
_GL206_NAME = LazyRegex(r"(?:d|D|grad|Grad|GRAD)\w*?(?:next|Next|NEXT|prev|Prev|PREV)")


def carried_gradient_assigned(text: str, absent: "Callable[[str], bool]" = _none_known_absent) -> bool:
    """GL206 (recurrent-gradient-not-carried) reports a carried-gradient name (`dh_next`) bound by an
    Assign with the name as a target, alone or in a tuple, so the name, a whole identifier matching
    CARRIED_NAME from its start, stands before an `=` or a `,`. False only when no identifier holding
    such a `next`/`prev` before an `=` or `,` starts as CARRIED_NAME does."""
    for match in _GL206_ASSIGNED.finditer(text):
        start = match.start()
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
            start -= 1
        if _GL206_NAME.match(text, start):
            return True
    return False


# ---------------------------------------------------------------------------
# GL306: a finite-difference slip (broken_gradient_check)
# ---------------------------------------------------------------------------

_GL306_GAP = r"(?:[\s\\]|#[^\r\n]*(?![^\r\n]))*"
# (1) the halving `/ 2 *` (_halved_then_scaled: the literal 2 as written, `2`, `2.`, `2.0`)
_GL306_HALVED = LazyRegex(rf"/{_GL306_GAP}2(?:\.0*)?{_GL306_GAP}\*(?!\*)")
# (2) one line storing an element from another array's element of the same index text (_copy_from_other_copy)
_GL306_COPY_LINE = LazyRegex(
    r"(?<![\w.])([A-Za-z_][\w.]*)((?:\[[^\]\r\n]*\])+)[ \t\f]*=[ \t\f]*(?!\1\2)[A-Za-z_][\w.]*\2[ \t\f]*[-+]"
)
# one of its two arrays is named as a point (broken_gradient_check.POINT_WORD)
_GL306_POINT_WORDS = ("plus", "minus", "Plus", "Minus")


def _after_closing_parenthesis(text: str, at: int) -> bool:
    """What stands before `text[at]` may be the `)` of a parenthesised difference: it is, after blanks and
    line continuations, or a line break lies between (a comment may end the line before: unknown)."""
    before = at - 1
    while before >= 0 and text[before] in " \t\\\f":
        before -= 1
    return before < 0 or text[before] in ")\r\n"


def finite_difference_slip(text: str, absent: "Callable[[str], bool]" = _none_known_absent) -> bool:
    """GL306 (broken-gradient-check) reports `(a - b) / 2 * h`, or `minus[i] = plus[i] - h` written on one
    line whose arrays' names say plus or minus. False only when the text holds neither a `/ 2 *` nor such a
    line around a plus or minus word."""
    for match in _GL306_HALVED.finditer(text):
        if _after_closing_parenthesis(text, match.start()):
            return True
    for word in _GL306_POINT_WORDS:
        if absent(word):
            continue
        at = text.find(word)
        while at >= 0:
            start = max(text.rfind("\n", 0, at), text.rfind("\r", 0, at)) + 1
            ends = [end for end in (text.find("\n", at), text.find("\r", at)) if end >= 0]
            end = min(ends) if ends else len(text)
            if _GL306_COPY_LINE.search(text, start, end):
                return True
            at = text.find(word, end)
    return False


PREDICATES: dict[str, Callable[..., bool]] = {  # (text, absent=...) -> bool
    "reduced_array_combined": reduced_array_combined,
    "diagonal_call_or_index_branch": diagonal_call_or_index_branch,
    "repeated_element_store": repeated_element_store,
    "relu_or_forward_word": relu_or_forward_word,
    "write_in_evidence_function": write_in_evidence_function,
    "preactivation_evidence": preactivation_evidence,
    "carried_gradient_assigned": carried_gradient_assigned,
    "finite_difference_slip": finite_difference_slip,
}
