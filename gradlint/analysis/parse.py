"""Parsing a module for analysis: libcst's parser without its per-node validation.

libcst's native parser builds the tree by calling each node class, and every node's
`__post_init__` re-validates the node (parentheses balanced, required whitespace
present): checks written for trees built by hand, which a tree the parser built from
source passes by construction. They cost about a sixth of a parse (libcst's own
comment on `CSTNode.__post_init__` names the same opportunity). `parse_module` turns
them off for the duration of the parse only: nodes made later (fixes) are validated.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Optional, Union

import libcst as cst
from libcst._nodes.base import CSTNode

_VALIDATING_POST_INIT = CSTNode.__dict__.get("__post_init__")


def _skip_validation(self: CSTNode) -> None:
    """A node built by the parser from source: nothing to validate."""


def parse_module(source: Union[str, bytes]) -> cst.Module:
    """`libcst.parse_module(source)`, minus the per-node validation while it parses.

    The plain parse when libcst's node base has no `__post_init__` (another libcst version)."""
    if _VALIDATING_POST_INIT is None:
        return cst.parse_module(source)
    CSTNode.__post_init__ = _skip_validation  # type: ignore[method-assign]
    try:
        return cst.parse_module(source)
    finally:
        CSTNode.__post_init__ = _VALIDATING_POST_INIT  # type: ignore[method-assign]


# --- The depth guard ----------------------------------------------------------------
#
# libcst's native parser recurses once per level of an expression: it crashes the whole
# process (a stack overflow, SIGSEGV) on about 6,000 chained attribute accesses or
# conditional expressions, 12,000 `+` or `and` operands, calls or unary operators, 3,000
# nested brackets, and takes quadratic time well before that (a 6,000-operand sum: 7 to
# 25 s; 1,000 nested lists: 2.5 s). CPython's own parser rejects most such texts
# (RecursionError, "too many nested parentheses"), but not all: a 50,000-operand `and`
# chain is valid Python. So no text reaches libcst before `refusal` has shown that its
# expressions are at most MAX_DEPTH levels deep, where libcst takes well under a second
# and stays an order of magnitude away from its crash depths.
#
# Depth is counted in units a scan of the text can see: each binary, unary, comparison or
# attribute operator, each `and`, `or`, `not`, `if` (conditional expression) and `lambda`,
# each bracket pair and each string literal is one unit. Every level of libcst's tree
# that can repeat without a bracket in between (BinaryOperation, BooleanOperation,
# UnaryOperation, IfExp, Lambda, Attribute, Call, Subscript, ConcatenatedString, ...)
# owns such a unit, so the number of units on the path from a statement down to a leaf
# bounds the depth of the tree there (comparisons and tuples are flat in libcst, and a
# comprehension's nested `for` clauses are cut off by libcst itself with a syntax error
# long before they matter).
#
# The scan (`_shallow`, C-speed regular expressions and bytes methods, about 1.5% of
# libcst's parse time) bounds that number from above without tokenizing:
#   1. comments and string literals become one unit each (`$`); an f-string's
#      replacement fields are parsed by libcst, so only f-strings whose fields are short
#      (at most _FSTRING_DEPTH units hidden inside) are replaced, and any other one leaves
#      a quote character behind, which makes the scan give up;
#   2. what is left is reduced to the units (`+`), brackets, commas and statement ends
#      (newlines, semicolons; backslash continuations are joined);
#   3. innermost bracket groups whose comma-separated elements all have fewer than n
#      units (n = 8, else 64, else 256: the smallest that replaces any) are replaced by
#      one unit, round after round, so a group is replaced only after every group inside
#      it; a path down through groups meets at most n - 1 units inside each, and each
#      group on it was replaced in a different round, so the rounds' n - 1 add up to a
#      bound;
#   4. when no group is left, each line is one statement with its groups folded, and its
#      length bounds the units of that statement outside every bracket.
# Newlines inside brackets and operators spread over many lines are counted in step 3
# (a group's elements include its newlines), never split into separate statements.
# Whenever the bound exceeds MAX_DEPTH, an element is too long, a bracket is unmatched
# or a quote is left over, the scan is not sure, and CPython's parser decides (`_judge`):
# it parses the text (`ast`, C speed, never crashes: it raises RecursionError or
# MemoryError instead), and the depth is then measured on its tree in the same units.
MAX_DEPTH = 1000
# libcst nests each `elif` inside the previous branch: 12,000 of them crash it too.
MAX_ELIF = 1000
_ELEMENT = 64
_FSTRING_FIELD = 80
_FSTRING_SPEC = 20
# A replaced f-string hides its fields (up to two nested fields, e.g. a nested f-string
# or a format spec's width, each followed by more of the field): at most this many
# units below its own.
_FSTRING_DEPTH = _FSTRING_FIELD + 2 * (_FSTRING_SPEC + 2 + _FSTRING_FIELD) + 4


# Possessive quantifiers (Python 3.11+) never backtrack into a string's body; older versions
# backtrack instead (each step of these loops is one character or one escape, so linearly).
_POSSESSIVE = "+" if sys.version_info >= (3, 11) else ""
_RUN = "++" if _POSSESSIVE else ""  # a run of plain characters: on older versions one at a time


def _string_alternatives(quote_char: str) -> list[str]:
    """Patterns for the string literals opened by `quote_char`: triple then single quoted,
    each an f-string (or t-string) alternative and a plain one.

    The opening quote is matched first, so the search can skip to quote characters; the
    prefix is checked behind it. An f-string matches only when each replacement field is
    short and closed before the string ends (a PEP 701 field holding the same quote
    character does not: libcst reads such strings the way Python 3.12 does). A plain
    string that is not terminated runs to the end of its line (or of the text when triple
    quoted), as the tokenizer would report it, so no string is scanned twice."""
    q = quote_char
    out = []
    for triple in (True, False):
        quote = q * 3 if triple else q
        newline = "" if triple else r"\n"
        is_f = rf"(?:(?<=[fFtT]{quote})|(?<=[fFtT][rRbB]{quote}))"
        not_f = rf"(?<![fFtT]{quote})(?<![fFtT][rRbB]{quote})"
        lone_quote = rf"|{q}(?!{q}{q})" if triple else ""
        # A backslash never escapes a brace in an f-string.
        literal = rf"(?:[^{q}\\{newline}{{}}]{_RUN}|\\[^{{}}]|\\(?=[{{}}])|\{{\{{|\}}\}}{lone_quote})"
        char = rf"[^{q}\\{newline}{{}}]"
        p = _POSSESSIVE
        field = rf"\{{{char}{{0,{_FSTRING_FIELD}}}{p}(?:\{{{char}{{0,{_FSTRING_SPEC}}}{p}\}}{char}{{0,{_FSTRING_FIELD}}}{p}){{0,2}}{p}\}}"
        out.append(rf"{quote}{is_f}(?:{literal}|{field})*{p}{quote}")
        if triple:
            out.append(rf"{quote}{not_f}[^{q}\\]*{p}(?:(?:\\.|{q}(?!{q}{q}))[^{q}\\]*{p})*{p}(?:{quote}|\Z)")
        else:
            out.append(rf"{quote}{not_f}[^{q}\\\n]*{p}(?:\\.[^{q}\\\n]*{p})*{p}(?:{quote}|(?=\n)|\Z)")
    return out


_STRINGS_AND_COMMENTS = re.compile(
    "|".join([r"#[^\n]*", *_string_alternatives('"'), *_string_alternatives("'")]), re.DOTALL
)
# The keywords that nest without brackets (`for`, `await`, `yield` do not, or not deeply).
_KEYWORDS = re.compile(rb"(?:a(?<![\w]a)nd|o(?<![\w]o)r|n(?<![\w]n)ot|i(?<![\w]i)f|l(?<![\w]l)ambda)\b")


def _unit_table() -> tuple[bytes, bytes]:
    """A bytes.translate table: operators and `$` become `+`, semicolons newlines;
    brackets, commas and newlines stay; everything else is deleted."""
    table = bytearray(range(256))
    delete = bytearray()
    for byte in range(256):
        char = chr(byte)
        if char in "+-*/%@<>&|^~.:!$":
            table[byte] = ord("+")
        elif char == ";":
            table[byte] = ord("\n")
        elif char not in "()[]{},\n":
            delete.append(byte)
    return bytes(table), bytes(delete)


_UNITS, _NOT_UNITS = _unit_table()
# Innermost groups whose elements all have fewer than 8, 64 or 256 units: each round
# replaces the groups of the smallest such kind there are, and adds that size less one.
_SHORT_GROUPS = tuple(
    (re.compile(rb"[(\[{](?:[+\n]{0,%d},)*%s[+\n]{0,%d}[)\]}]" % (size - 1, _POSSESSIVE.encode(), size - 1)), size - 1)
    for size in (8, _ELEMENT, 4 * _ELEMENT)
)


def _shallow(text: str) -> bool:
    """True when every expression of `text` is surely at most MAX_DEPTH units deep
    (see above); False when the scan cannot tell."""
    if len(text) <= MAX_DEPTH:
        return True  # every unit takes a character
    if text.count("elif") > MAX_ELIF:
        return False
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    code = _STRINGS_AND_COMMENTS.sub("$", text)
    if '"' in code or "'" in code:
        return False
    units = _KEYWORDS.sub(b"$", code.encode("utf-8", "surrogatepass").replace(b"\\\n", b" "))
    units = units.translate(_UNITS, _NOT_UNITS)
    bound = _FSTRING_DEPTH
    while True:
        for pattern, units_inside in _SHORT_GROUPS:
            units, groups = pattern.subn(b"+", units)
            if groups:
                break
        if not groups:
            break
        bound += units_inside
        if bound > MAX_DEPTH:
            return False
    if units.translate(None, b"+,\n"):
        return False  # a bracket left: an element too long, or brackets unmatched
    return bound + max(map(len, units.split(b"\n"))) <= MAX_DEPTH


@dataclass(frozen=True)
class Refusal:
    """Why a text is not given to libcst, and where (1-based row and column).
    `syntax_error`: `message` is the SyntaxError CPython's parser raises on the text."""

    message: str
    row: int = 1
    column: int = 1
    syntax_error: bool = False


def refusal(text: str) -> Optional[Refusal]:
    """None when libcst can parse `text` without crashing or stalling; otherwise why not."""
    if _shallow(text):
        return None
    return _judge(text)


def _judge(text: str) -> Optional[Refusal]:
    import ast
    import sys
    import warnings

    # CPython's parser gives up at a depth set by the recursion limit (three times the
    # frames left): judge as a fresh `python` with the default limit would, whatever the
    # caller's stack and limit (the engine raises it while checking).
    frames, frame = 0, sys._getframe()
    while frame is not None:
        frames, frame = frames + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(frames + 1000)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escape sequences: not ours to report
            tree = ast.parse(text)
    except SyntaxError as error:  # also "too many nested parentheses", IndentationError
        return Refusal(error.msg, error.lineno or 1, max(error.offset or 1, 1), syntax_error=True)
    except (RecursionError, MemoryError) as error:
        message = (
            f"too deeply nested to parse: Python's own parser gives up on it ({type(error).__name__}), "
            "and libcst, gradlint's parser, would crash; the file was not checked"
        )
        return Refusal(message)
    except (ValueError, OverflowError) as error:  # e.g. null bytes
        return Refusal(str(error), syntax_error=True)
    finally:
        sys.setrecursionlimit(limit)
    deepest = _deepest_expression(tree)
    if deepest.depth > MAX_DEPTH:
        message = (
            f"too deep for libcst, gradlint's parser: {deepest.description} ({deepest.depth} levels; "
            f"Python accepts it, libcst would crash or stall beyond {MAX_DEPTH}); the file was not checked"
        )
        return Refusal(message, deepest.row, deepest.column)
    longest = _longest_elif_chain(tree)
    if longest.depth > MAX_ELIF:
        message = (
            f"too deep for libcst, gradlint's parser: {longest.description} (libcst nests each branch "
            f"in the previous one and would crash beyond {MAX_ELIF}); the file was not checked"
        )
        return Refusal(message, longest.row, longest.column)
    return None


@dataclass(frozen=True)
class _Deepest:
    """The deepest point of a tree, in the scan's units, described for a message."""

    depth: int
    description: str
    row: int = 1
    column: int = 1


# What each kind of level is called in a message: (kind, singular description format).
_DESCRIPTIONS = {
    "boolean": "an `and`/`or` chain of {} operands",
    "binary": "a chain of {} binary operators",
    "unary": "{} nested unary operators",
    "conditional": "a chain of {} conditional expressions (`a if c else ...`)",
    "lambda": "{} nested lambdas",
    "trailer": "a chain of {} attribute accesses, calls or subscripts",
    "bracket": "{} nested brackets",
    "dotted": "a dotted name of {} parts",
    "other": "an expression {} levels deep",
}


def _level_kinds() -> "dict[type, str]":
    """The ast node types that are one level of libcst's tree below them, each with the
    unit the scan counts for it (see the comment above MAX_DEPTH); other types add none."""
    import ast

    kinds = {
        ast.BinOp: "binary", ast.UnaryOp: "unary", ast.IfExp: "conditional", ast.Lambda: "lambda",
        ast.Attribute: "trailer", ast.Call: "trailer", ast.Subscript: "trailer",
        ast.List: "bracket", ast.Set: "bracket", ast.Dict: "bracket", ast.ListComp: "bracket",
        ast.SetComp: "bracket", ast.DictComp: "bracket",
        ast.Starred: "other", ast.NamedExpr: "other", ast.JoinedStr: "other", ast.FormattedValue: "other",
    }
    for name in ("MatchClass", "MatchMapping"):  # Python 3.10+
        if hasattr(ast, name):
            kinds[getattr(ast, name)] = "bracket"
    return kinds


def _deepest_expression(tree: object) -> _Deepest:
    """The deepest leaf of `tree` (an `ast.Module`) in the scan's units, found iteratively.

    An `and`/`or` chain of k operands is k - 1 levels deep (libcst nests it to the left,
    `ast` keeps it flat); a dotted import name of k parts is k - 1 attribute levels."""
    import ast

    kinds = _level_kinds()
    nodes: list = [tree]
    parents = [-1]
    depths = [0]
    steps: list[tuple[str, int]] = [("other", 0)]  # the kind and number of levels above each node
    best_depth, best_index, best_dots = 0, 0, 0
    index = 0
    while index < len(nodes):
        node = nodes[index]
        depth = depths[index]
        node_type = type(node)
        children: list[tuple[object, str, int]]
        if node_type is ast.BoolOp:
            count = len(node.values)
            children = [(value, "boolean", count - 1 if at == 0 else count - at) for at, value in enumerate(node.values)]
        elif node_type is ast.comprehension:
            children = [(child, "other", 0) for child in (node.target, node.iter)]
            children += [(condition, "conditional", 1) for condition in node.ifs]
        else:
            kind = kinds.get(node_type)
            children = [(child, kind or "other", 1 if kind else 0) for child in ast.iter_child_nodes(node)]
        dotted = node.name if node_type is ast.alias else node.module if node_type is ast.ImportFrom else None
        dots = dotted.count(".") if dotted else 0
        if depth + dots > best_depth:
            best_depth, best_index, best_dots = depth + dots, index, dots
        for child, kind, levels in children:
            nodes.append(child)
            parents.append(index)
            depths.append(depth + levels)
            steps.append((kind, levels))
        index += 1
    if not best_depth:
        return _Deepest(0, "")
    # Describe the path by the kind of level it has most of; point at its outermost one.
    totals: dict[str, int] = {"dotted": best_dots} if best_dots else {}
    outermost: dict[str, object] = {"dotted": nodes[best_index]}
    at = best_index
    while at > 0:
        kind, levels = steps[at]
        if levels:
            totals[kind] = totals.get(kind, 0) + levels
            outermost[kind] = nodes[parents[at]]
        at = parents[at]
    kind = max(totals, key=lambda name: totals[name])
    count = best_depth if kind == "other" else totals[kind] + (1 if kind in ("boolean", "dotted") else 0)
    anchor = outermost[kind]
    row = getattr(anchor, "lineno", 1) or 1
    column = (getattr(anchor, "col_offset", 0) or 0) + 1
    return _Deepest(best_depth, _DESCRIPTIONS[kind].format(count), row, column)


def _longest_elif_chain(tree: object) -> _Deepest:
    """The longest chain of `if` statements each the sole `else` of the one before."""
    import ast

    statements = [node for node in ast.walk(tree) if isinstance(node, ast.If)]  # type: ignore[arg-type]
    length: dict[int, int] = {}
    longest: Optional[ast.If] = None
    for statement in reversed(statements):  # ast.walk lists a node before its descendants
        orelse = statement.orelse
        follows = orelse[0] if len(orelse) == 1 and isinstance(orelse[0], ast.If) else None
        length[id(statement)] = 1 + (length[id(follows)] if follows is not None else 0)
        if longest is None or length[id(statement)] > length[id(longest)]:
            longest = statement
    if longest is None:
        return _Deepest(0, "")
    branches = length[id(longest)]
    return _Deepest(branches - 1, f"an if/elif chain of {branches} branches", longest.lineno, longest.col_offset + 1)
