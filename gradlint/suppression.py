"""Suppression comments, as flake8/ruff and Fixit users write them.

- `# noqa` (every code) or `# noqa: GL101, GL201` on a reported line;
- `# gradlint: ignore` or `# gradlint: ignore[GL101, overwritten-diagonal]`
  (codes or rule names);
- file level, on a line of its own anywhere in the file: `# gradlint: noqa`
  (every finding in the file) or `# gradlint: noqa: GL101` (those codes only).
  Written after code on a line, it acts on that line only.

A line comment counts on the reported row and on the rows the engine lists in
`Diagnostic.suppression_rows`: the first and last row of the statement that
holds the finding (for a compound statement: of its header), so a finding
inside a multi-line expression can be silenced where the statement starts or
ends. Comments are read with `tokenize`, so `# noqa` inside a string does not
count. Other tools' codes (`# noqa: E501`) never silence a gradlint finding.

Blanket directives (bare `# noqa`, bare `# gradlint: ignore`, file-level
`# gradlint: noqa`) do not hide GL001 syntax-error and GL002 io-error: those
say the file was not checked at all. Naming the code does. Nor do they hide
GL003 unused-noqa, which may be about the blanket directive itself.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Optional, Sequence

from gradlint.diagnostics import Diagnostic
from gradlint.lazy_regex import LazyRegex

if TYPE_CHECKING:
    import libcst as cst

    from gradlint.analysis import ModuleAnalysis

_CODE = r"[A-Za-z]+[0-9]+"  # GL101, E501
# A code, or a rule name (overwritten-diagonal: kebab-case, so a plain word is neither).
_NAME = rf"(?:{_CODE}|[A-Za-z]+(?:-[A-Za-z0-9]+)+)(?![\w-])"
# The codes a directive lists end, as ruff reads them, at the first word that is none: a noqa
# comment listing `E501  see GL101` names E501 only. A colon followed by no code at all is invalid
# and suppresses nothing (group `colon` without `codes`), never everything.
_CODES = rf"{_NAME}(?:\s*,\s*{_NAME}|\s+{_NAME})*"
# The directives' patterns, compiled on first use (gradlint.lazy_regex): they read only the files
# that hold a directive's start (_DIRECTIVE_START). As in ruff, blanks may stand before the colon
# (a noqa, blank, colon, GL301 names GL301).
NOQA_COMMENT = LazyRegex(rf"#\s*noqa(?![\w-])(?P<colon>\s*:\s*(?P<codes>{_CODES})?)?", re.IGNORECASE)
_IGNORE = LazyRegex(r"#\s*gradlint:\s*ignore(?![\w-])(?:\s*\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
GRADLINT_NOQA_COMMENT = LazyRegex(rf"#\s*gradlint:\s*noqa(?![\w-])(?P<colon>\s*:\s*(?P<codes>{_CODES})?)?", re.IGNORECASE)


ALL = None  # a directive that covers every code

# Findings that say the file was not checked: only an explicit code hides them.
UNCHECKED_CODES = frozenset({"GL001", "GL002"})
# Only an explicit code hides these: those, and GL003 (a blanket directive would hide the very
# report that it is unused).
NAMED_ONLY_CODES = UNCHECKED_CODES | {"GL003"}


@dataclass
class Directives:
    """The suppression comments of one file: per row, and for the whole file.

    A value of None (ALL) covers every code; a set covers those codes/names.
    """

    by_row: dict[int, Optional[set[str]]] = field(default_factory=dict)
    file_level: Optional[set[str]] = field(default_factory=set)

    def add_row(self, row: int, codes: Optional[set[str]]) -> None:
        if row in self.by_row and (self.by_row[row] is None or codes is None):
            self.by_row[row] = ALL
        elif codes is ALL:
            self.by_row[row] = ALL
        else:
            self.by_row.setdefault(row, set())
            self.by_row[row] |= codes  # type: ignore[operator]

    def add_file(self, codes: Optional[set[str]]) -> None:
        if codes is ALL or self.file_level is None:
            self.file_level = ALL
        else:
            self.file_level |= codes


def _normalised(codes: Optional[tuple[str, ...]]) -> Optional[set[str]]:
    """A directive's codes as written, as the set `covers` reads: codes upper-case, rule names
    lower-case; None (a blanket directive) is ALL."""
    if not codes:
        return ALL
    return {code.upper() if re.fullmatch(_CODE, code) else code.lower() for code in codes}


_LONE_CR = re.compile(r"\r(?!\n)")


def _with_lone_crs_as_lfs(text: str) -> str:
    """`text` with each lone CR line break turned into an LF: the same length, the same rows (a
    lone CR ends a line for CPython and libcst, which read it as an LF) and columns. Python 3.9 to
    3.11's tokenize reads a lone CR at a line's end as an error token, not as its NEWLINE or NL."""
    return _LONE_CR.sub("\n", text) if "\r" in text else text


def _tokens(text: str) -> Iterator[tokenize.TokenInfo]:
    """`text`'s tokens, rows counted as the engine counts them (1-based, a line ends at CRLF, CR or
    LF, and at nothing else: not at a form feed, \\x1c-\\x1e, \\x85 or U+2028)."""
    return tokenize.generate_tokens(io.StringIO(_with_lone_crs_as_lfs(text), newline="").readline)


def _comments(text: str) -> Iterator[tuple[int, int, str, bool]]:
    """(row, column (0-based), comment, alone on its line) for each comment in `text`."""
    try:
        tokens = list(_tokens(text))
    except Exception:  # noqa: BLE001 - TokenError, SyntaxError, ValueError, ...: never fatal
        # Source this Python's tokenize rejects (a syntax error, or newer syntax
        # that libcst accepts): a small scanner that still skips string literals.
        yield from _scan_comments(_with_lone_crs_as_lfs(text))
        return
    code_on_row: set[int] = set()
    for token in tokens:
        if token.type == tokenize.COMMENT:
            row = token.start[0]
            yield row, token.start[1], token.string, row not in code_on_row
        elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            for row in range(token.start[0], token.end[0] + 1):
                code_on_row.add(row)


def _scan_comments(text: str) -> Iterator[tuple[int, int, str, bool]]:
    """Comments found by tracking string quotes by hand (fallback for `_comments`; lines end at
    LF or CRLF: `_comments` turns lone CRs into LFs)."""
    row, quote, index, length = 1, "", 0, len(text)
    line_has_code = False
    while index < length:
        char = text[index]
        if quote:
            if char == "\\":
                if text.startswith("\r\n", index + 1):
                    index += 1  # the backslash escapes the whole CRLF line break
                if text[index + 1 : index + 2] == "\n":
                    row += 1
                index += 2
                continue
            if text.startswith(quote, index):
                index += len(quote)
                quote = ""
                continue
            if char == "\n":
                row += 1
                line_has_code = len(quote) == 3
                if len(quote) == 1:
                    quote = ""  # an unterminated one-line string ends at the line end
            index += 1
            continue
        if char == "#":
            end = text.find("\n", index)
            end = length if end < 0 else end
            yield row, index - (text.rfind("\n", 0, index) + 1), text[index:end].rstrip("\r"), not line_has_code
            index = end
            continue
        if char in "\"'":
            quote = char * 3 if text.startswith(char * 3, index) else char
            index += len(quote)
            line_has_code = True
            continue
        if char == "\n":
            row += 1
            line_has_code = False
        elif not char.isspace():
            line_has_code = True
        index += 1


def parse_directives(text: str) -> Directives:
    """Every suppression comment in `text`."""
    return directives_from(written_directives(text))


def directives_from(directives_written: Iterable["Written"]) -> Directives:
    """The suppressions that these directives (as `written_directives` read them) make."""
    directives = Directives()
    for written in directives_written:
        if written.invalid:
            continue  # a colon and no code: it suppresses nothing, never everything
        if written.file_level:
            directives.add_file(_normalised(written.codes))
        else:
            directives.add_row(written.row, _normalised(written.codes))
    return directives


@dataclass(frozen=True)
class Written:
    """One suppression directive as written: where it is (0-based columns in its row), the codes it
    names as written (None: every code), and its kind."""

    row: int
    start: int  # the directive's `#`
    end: int  # just after the directive (after its codes)
    codes: Optional[tuple[str, ...]]
    codes_start: int  # the span of the codes list (empty for a blanket directive)
    codes_end: int
    file_level: bool  # `# gradlint: noqa` on a line of its own
    shared: bool  # a noqa comment (not a gradlint one): flake8 and ruff read it too
    bracketed: bool = False  # `# gradlint: ignore[...]`: the brackets hold gradlint codes and nothing else
    invalid: bool = False  # a colon and no code after it: suppresses nothing (GL003 says so)


def written_directives(text: str) -> list[Written]:
    """Every suppression directive in `text`, as written (what parse_directives reads, and GL003
    reports unused): a `# gradlint: noqa` in a comment, else its `# noqa` and `# gradlint: ignore`."""
    found = []
    for row, column, comment, alone in _comments(text):
        found.extend(_directives_in(comment, row, column, alone))
    return found


def _directives_in(comment: str, row: int, column: int, alone: bool) -> Iterator[Written]:
    """The directives of one comment (`column`: where it starts; `alone`: on a line of its own)."""
    gradlint_noqa = GRADLINT_NOQA_COMMENT.search(comment)
    if gradlint_noqa:
        matches = [(gradlint_noqa, False)]
    else:
        matches = [(NOQA_COMMENT.search(comment), True), (_IGNORE.search(comment), False)]
    for match, shared in matches:
        if match is None:
            continue
        invalid = bool(match.groupdict().get("colon")) and match.group("codes") is None  # a colon and no code
        codes_text = match.group("codes")
        codes = tuple(part for part in re.split(r"[\s,]+", codes_text) if part) if codes_text is not None else None
        invalid = invalid or (codes_text is not None and not codes)  # `ignore[]`: brackets and no code
        codes_start, codes_end = match.span("codes") if codes_text is not None else (match.end(), match.end())
        yield Written(
            row, column + match.start(), column + match.end(), codes or None, column + codes_start, column + codes_end,
            file_level=match.re is GRADLINT_NOQA_COMMENT.compiled and alone and match.start() == 0, shared=shared,
            bracketed=match.re is _IGNORE.compiled, invalid=invalid,
        )


@dataclass(frozen=True)
class InvalidDirective:
    """A directive that suppresses nothing because it names no code (`# noqa:`,
    `# gradlint: ignore[]`): ruff warns about such a `# noqa` on stderr, and so does gradlint."""

    row: int
    kind: str  # which directive: a noqa comment, a gradlint noqa one, or gradlint's ignore[...]

    @property
    def warning(self) -> str:
        """What is wrong, after `Invalid ... directive on FILE:ROW: ` (ruff's words for `# noqa`)."""
        if self.kind == "# gradlint: ignore[...]":
            return "expected codes or rule names in the brackets (e.g., `# gradlint: ignore[GL101, overwritten-diagonal]`)"
        return f"expected a comma-separated list of codes (e.g., `{self.kind}: GL101, GL201`)"


# Where a directive may start: every match of the directive patterns starts with a match of this.
_DIRECTIVE_START = re.compile(r"#\s*(?:gradlint:\s*(?:noqa|ignore)|noqa)", re.IGNORECASE)
_LINE_END = re.compile(r"[\r\n]|$")


def invalid_directives(text: str, written: Optional[Sequence[Written]] = None) -> tuple[InvalidDirective, ...]:
    """The directives in `text` that name no code (`written`: its directives, when already read).
    Without them, each place a directive may start is read as if it began a comment, and only
    when one of those is invalid is the file tokenized, to keep only real comments: most files
    hold no directive, or only valid ones."""
    if written is None:
        # (the places a directive may start are searched directly: may_hold_directives is the same search)
        if not any(_invalid_from(text, start.start()) for start in _DIRECTIVE_START.finditer(text)):
            return ()
        written = written_directives(text)
    return tuple(InvalidDirective(w.row, _kind(w)) for w in written if w.invalid)


def _invalid_from(text: str, start: int) -> bool:
    """Whether a comment starting at `start` would hold an invalid directive."""
    end = _LINE_END.search(text, start).end()  # type: ignore[union-attr]
    return any(written.invalid for written in _directives_in(text[start:end], 0, 0, False))


def _kind(written: Written) -> str:
    if written.bracketed:
        return "# gradlint: ignore[...]"
    return "# noqa" if written.shared else "# gradlint: noqa"


def covers(codes: Optional[set[str]], diagnostic: Diagnostic) -> bool:
    """True when a directive with these codes (None: blanket) hides `diagnostic`."""
    if codes is ALL:
        return diagnostic.code not in NAMED_ONLY_CODES
    return diagnostic.code in codes or diagnostic.name.lower() in codes


def is_suppressed(diagnostic: Diagnostic, directives: Directives) -> bool:
    if directives.file_level is ALL or directives.file_level:
        if covers(directives.file_level, diagnostic):
            return True
    rows = {diagnostic.start.row, *diagnostic.suppression_rows}
    return any(row in directives.by_row and covers(directives.by_row[row], diagnostic) for row in rows)


def may_hold_directives(text: str) -> bool:
    """False when `text` surely holds no suppression directive (no need to tokenize it): a directive
    starts with a `_DIRECTIVE_START` (a `gradlint` or `noqa` elsewhere, in a docstring, is none)."""
    return _DIRECTIVE_START.search(text) is not None


def filter_suppressed(
    diagnostics: Iterable[Diagnostic], text: str, written: Optional[Sequence[Written]] = None
) -> list[Diagnostic]:
    """The diagnostics that no suppression comment in `text` covers (`written`: its directives,
    when already read by `written_directives`)."""
    diagnostics = list(diagnostics)
    if not diagnostics:
        return diagnostics
    if written is None:
        if not may_hold_directives(text):
            return diagnostics
        written = written_directives(text)
    directives = directives_from(written)
    return [diagnostic for diagnostic in diagnostics if not is_suppressed(diagnostic, directives)]


def rows_a_comment_can_end(text: str) -> "dict[int, Optional[tokenize.TokenInfo]]":
    """The rows whose line ends outside a string and without a backslash continuation (they hold
    a NEWLINE or NL token), each with its comment token if it has one; {} when `text` does not
    tokenize."""
    rows: dict[int, Optional[tokenize.TokenInfo]] = {}
    comments: dict[int, tokenize.TokenInfo] = {}
    try:
        for token in _tokens(text):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token
            elif token.type in (tokenize.NEWLINE, tokenize.NL):
                rows[token.start[0]] = comments.get(token.start[0])
    except (tokenize.TokenError, SyntaxError):
        return {}
    return rows


def noqa_row(start_row: int, rows: Sequence[int], endable: "Mapping[int, object]") -> int:
    """Where a `# noqa` comment for a finding goes (its JSON `noqa_row`, and `--add-noqa`'s row):
    the first of its row and the rows where a comment hides it (`suppression_rows`) whose line a
    comment can end; its own row when none can."""
    return next((row for row in dict.fromkeys((start_row, *rows)) if row in endable), start_row)


def noqa_row_in(analysis: "ModuleAnalysis", start_row: int, rows: Sequence[int]) -> int:
    """`noqa_row` for a finding of a parsed module: a one-row statement is its own row; otherwise
    only the statement's rows (`rows` lie within it, the first its start) are tokenized."""
    if all(row == start_row for row in rows):
        return start_row
    first, last = min(rows), max(rows)
    endable = rows_a_comment_can_end(analysis.rows_text(first, last))
    return noqa_row(start_row, rows, {first - 1 + row: token for row, token in endable.items()})


def suppression_rows(analysis: "ModuleAnalysis", node: "cst.CSTNode", start_row: int, end_row: int) -> tuple[int, ...]:
    """The rows where a line comment hides a finding on `node` (rows `start_row`..`end_row`).

    The finding's first row, the first and last row of the statement holding
    it, and its own last row when that lies within the statement. For a
    compound statement (`if`, `for`, `def`, ...) the statement is its header,
    from its keyword to the colon, not its body.
    """
    import libcst as cst

    statement = analysis.index.statement_of(node)
    if not isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        return (start_row,)
    statement_range = analysis.range_of(statement)
    first = statement_range.start.line
    if type(statement) is cst.SimpleStatementLine:
        last = statement_range.end.line
    else:
        last = first + _header_newlines(analysis.module, statement)
    rows = {start_row, first, last}
    if end_row <= last:
        rows.add(end_row)
    return tuple(sorted(rows))


_HEADER_END = "__gradlint_header_end__"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _header_newlines(module: "cst.Module", statement: "cst.BaseCompoundStatement") -> int:
    """How many line breaks a compound statement's header spans (0 for one line)."""
    import libcst as cst

    try:
        changes: dict = {"leading_lines": (), "body": cst.SimpleStatementSuite(body=[cst.Expr(cst.Name(_HEADER_END))])}
        if type(statement) in (cst.FunctionDef, cst.ClassDef):
            changes["decorators"] = ()
        header = module.code_for_node(statement.with_changes(**changes))
    except Exception:  # noqa: BLE001 - e.g. `match`, which has no body: fall back to the first row
        return 0
    header = header[: max(header.find(_HEADER_END), 0)]
    return len(_LINE_BREAK.findall(header))
