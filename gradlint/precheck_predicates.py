"""Named pre-check predicates: necessary conditions a regex cannot state.

A rule's needs (gradlint.registry) may name a predicate, `predicate:NAME`; the
pre-check calls `PREDICATES[NAME](text)` only after the rule's regex needs all
matched, and parses the file for the rule only if it returns True. Like every
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
from dataclasses import dataclass
from typing import Callable, Iterator, NamedTuple, Optional


class _Unknown(Exception):
    """The scanner cannot read this text surely: the predicate admits it."""


class _Invalid(Exception):
    """A definite lexical error (valid in no Python version) in a region read exactly."""


# ---------------------------------------------------------------------------
# The scanner
# ---------------------------------------------------------------------------

_TOKEN = re.compile(
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
    "'": re.compile(r"(?:[^\\'\r\n]|\\(?:\r\n|[\s\S]))*'"),
    '"': re.compile(r'(?:[^\\"\r\n]|\\(?:\r\n|[\s\S]))*"'),
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
_STORE_SITE = re.compile(r"\](?:[\s)\\]|#[^\r\n]*[\r\n])*=(?!=)")
# Found faster in two steps: `] =` itself, or a `]` whose gap starts with a character other than a blank
# that valid code may hold there (beyond ASCII no whitespace is valid code), then read by _STORE_SITE.
_STORE_SITE_START = re.compile(r"\][ \t]*(?:=(?!=)|[)\\\r\n#\f\v])")
_TARGET_PREFIX_CHARS = re.compile(r"[\w.\s()\[\]{}'\"]*")


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
                line_start = max(text.rfind("\n", 0, position), text.rfind("\r", 0, position)) + 1
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


# The common target, alone at the start of its line after blanks: `self.J[i][j]`, `J [i, j]`, `d['key']`,
# `a[idx[i]]` (inside the subscripts: plain characters, one-line strings holding no quote, bracket,
# brace, backslash or `#`, and brackets nested once; no comment, backslash or line break). Where it
# matches (with no two quotes in a row), _target_start would stop exactly at its start (the blanks
# before it follow a line break), so the backward scan is skipped.
_PLAIN = r"[^\[\](){}'\"#\n\r\\]"
_SIMPLE_STRING = r"'[^\[\](){}'\"#\n\r\\]*'|\"[^\[\](){}'\"#\n\r\\]*\""
_ATOM = rf"{_PLAIN}|{_SIMPLE_STRING}"
_SIMPLE_TARGET = re.compile(
    rf"[ \t]*([A-Za-z_][\w.]*(?:[ \t]*\[(?:{_ATOM}|\[(?:{_ATOM})*\]|\((?:{_ATOM})*\))*\])+)"
)


def _store_sites(text: str) -> list[_Site]:
    sites = []
    rfind, simple_target = text.rfind, _SIMPLE_TARGET.fullmatch
    store_site = _STORE_SITE.match
    for start_match in _STORE_SITE_START.finditer(text):
        match = start_match if start_match.group()[-1] == "=" else store_site(text, start_match.start())
        if match is None:
            continue
        end = match.start() + max(0, match.group().rfind(")"))
        simple = simple_target(text, rfind("\n", 0, end) + 1, end + 1)
        if simple is not None and simple.group(1).isascii() and "''" not in simple.group(1) and '""' not in simple.group(1):
            start = simple.start(1)
        else:
            start = _target_start(text, end)
        target = text[start : end + 1]
        # code_for's normalisation; a printable target without two blanks in a row is normalised already
        key = target if target.isprintable() and "  " not in target else " ".join(target.split())
        sites.append(_Site(start, end, match.end(), key))
    return sites


@dataclass(frozen=True)
class _Context:
    kind: str  # "block": the store is an item of an indented block; "suite": of a one-line suite `if c: J[i] = 1`
    indentation: str  # the block's (for a suite: its compound statement's)
    diagonal_header: bool  # a suite whose header is `if a == b:` / `if a is b:` (parentheses allowed)


def _store_context(text: str, site: _Site) -> Optional[_Context]:
    """Where the store starting at `site.start` stands, read from the start of its
    physical line; None when it is no statement-level single-target store."""
    line_start = max(text.rfind("\n", 0, site.start), text.rfind("\r", 0, site.start)) + 1
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
        raise _Unknown("a triple quote before the store on its line")
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
_FOR_HEADER = re.compile(
    r"for(?<!\wfor)(?!\w)(?:[ \t]+((?!in\b)[A-Za-z_]\w*(?:[ \t]*[.,][ \t]*(?!in\b)[A-Za-z_]\w*)*)[ \t]*,?[ \t]+in(?!\w)"
    r"|(?P<none>[ \t]+[A-Za-z_]\w*[ \t]+(?!in(?!\w))[A-Za-z_]|[ \t]*(?:[A-Za-z_]\w*[ \t]*)?(?:[\r\n#]|$)))?"
)
_WHILE_HEADER = re.compile(r"while(?<!\wwhile)(?!\w)(?:([^\r\n#'\"\\:;]*):(?!=)|(?P<none>))")
_NAME = re.compile(r"[^\W\d]\w*")


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
_COARSE = re.compile(
    r"""(?P<run>[^'"#\\()\[\]{}\r\n;]+)|(?P<quote>'''|\"\"\"|'|")|(?P<comment>#[^\r\n]*)|(?P<cont>\\(?:\r\n|\r|\n))"""
    r"""|(?P<open>[(\[{])|(?P<close>[)\]}])|(?P<nl>\r\n|\r|\n)|(?P<semicolon>;)|(?P<backslash>\\)"""
)
_BLANKS = re.compile(r"(?:[ \t\f]|\\(?:\r\n|\r|\n))*")
_BARRIER_WORD = re.compile(r"(?:return|break|continue|raise)(?!\w)")
_COMPOUND_WORD = re.compile(r"(?:if|elif|else|for|while|with|try|except|finally|def|class|async)(?!\w)|@")


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
_LONE_EQUALS = re.compile(r"(?<![=!<>:+\-*/%@&|^])=(?!=)")
_LAMBDA = re.compile(r"(?<!\w)lambda(?!\w)")


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


def repeated_element_store(text: str) -> bool:
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
_DIAGONAL_HEADER = re.compile(
    r"if(?<!\wif)" + _TEST_GAP + _LOOSE_NAME + _TEST_GAP + r"(?:==|(?<![^\s()])is(?![^\s()]))" + _TEST_GAP + _LOOSE_NAME + _TEST_GAP + ":"
)


def _diagonal_headers(text: str) -> list[tuple[int, str]]:
    """(position, indentation of its line) of every text that may be a diagonal branch's header."""
    headers = []
    for match in _DIAGONAL_HEADER.finditer(text):
        line_start = max(text.rfind("\n", 0, match.start()), text.rfind("\r", 0, match.start())) + 1
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


PREDICATES: dict[str, Callable[[str], bool]] = {
    "repeated_element_store": repeated_element_store,
}
