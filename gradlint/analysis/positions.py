"""Source positions of a module's nodes, computed only when a finding needs one.

The result is exactly libcst's `PositionProvider` (syntactic ranges: 1-based
lines, 0-based columns), computed in one code-generation pass like libcst's,
with a lighter bookkeeping state: newline counting by substring tests instead
of a regex split of every token, plain tuples instead of position objects,
and a small class instead of a generator-based context manager for each
syntactic range. About three times cheaper than the provider, and it needs no
`MetadataWrapper` (which visits the whole module once more).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

from libcst._nodes.internal import CodegenState

if TYPE_CHECKING:
    import ast

    import libcst as cst

Span = tuple[int, int, int, int]  # start line, start column, end line, end column


class _Syntactic:
    """`with state.record_syntactic_position(node, start_node=..., end_node=...)`."""

    __slots__ = ("state", "node", "start_node", "end_node", "line", "column")

    def __init__(self, state: "_State", node: "cst.CSTNode", start_node: "Optional[cst.CSTNode]", end_node: "Optional[cst.CSTNode]") -> None:
        self.state = state
        self.node = node
        self.start_node = start_node
        self.end_node = end_node

    def __enter__(self) -> None:
        self.line = self.state.line
        self.column = self.state.column

    def __exit__(self, *exc: object) -> None:
        state = self.state
        spans = state.spans
        if self.start_node is not None:
            start = spans[self.start_node]
            start_line, start_column = start[0], start[1]
        else:
            start_line, start_column = self.line, self.column
        if self.end_node is not None:
            end = spans[self.end_node]
            end_line, end_column = end[2], end[3]
        else:
            end_line, end_column = state.line, state.column
        spans[self.node] = (start_line, start_column, end_line, end_column)


class _State(CodegenState):
    """Code generation that records every node's syntactic span."""

    def __init__(self, default_indent: str, default_newline: str) -> None:
        super().__init__(default_indent=default_indent, default_newline=default_newline)
        self.line = 1
        self.column = 0
        self.spans: dict["cst.CSTNode", Span] = {}
        self._starts: list[tuple[int, int]] = []

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)  # libcst's Module codegen looks at the tokens
        if "\n" not in value and "\r" not in value:
            self.column += len(value)
            return
        # Newlines are "\r\n", "\r" or "\n" (libcst's NEWLINE_RE).
        normalized = value.replace("\r\n", "\n").replace("\r", "\n")
        self.line += normalized.count("\n")
        self.column = len(normalized) - normalized.rfind("\n") - 1

    def before_codegen(self, node: "cst.CSTNode") -> None:
        self._starts.append((self.line, self.column))

    def after_codegen(self, node: "cst.CSTNode") -> None:
        start_line, start_column = self._starts.pop()
        if node not in self.spans:
            self.spans[node] = (start_line, start_column, self.line, self.column)

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: "cst.CSTNode",
        *,
        start_node: "Optional[cst.CSTNode]" = None,
        end_node: "Optional[cst.CSTNode]" = None,
    ) -> _Syntactic:
        return _Syntactic(self, node, start_node, end_node)


def spans_of(module: "cst.Module") -> "dict[cst.CSTNode, Span]":
    """Every node's syntactic span, as libcst's PositionProvider computes it."""
    state = _State(module.default_indent, module.default_newline)
    module._codegen(state)
    return state.spans


def statement_spans(
    module: "cst.Module", statement: "cst.CSTNode", first_line: int, indents: "tuple[str, ...]" = ()
) -> "tuple[dict[cst.CSTNode, Span], str]":
    """The spans of one statement's nodes when its code (leading comment and
    blank lines included) starts at `first_line`, column 0, inside blocks
    indented by `indents` (outermost first), and that code. A statement starts
    at a line start and its code generation reads no state but the position and
    the indentation, so the spans equal those of `spans_of` when `first_line` is
    right (the caller checks the code against the source there)."""
    state = _State(module.default_indent, module.default_newline)
    state.line = first_line
    state.indent_tokens.extend(indents)
    statement._codegen(state)
    return state.spans, "".join(state.tokens)


def statement_first_lines(module: "cst.Module", source: str) -> "Optional[dict[cst.CSTNode, int]]":
    """The line where each statement's code starts (its leading comment and
    blank lines included): the module's statements, and those of the bodies of
    functions and classes, however nested; from CPython's `ast` line numbers (a
    fraction of libcst's code generation). None when `ast` cannot parse the
    source or the module's statements do not pair with libcst's; a body whose
    statements do not pair is left out (its function or class is the finest
    statement known there)."""
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            body = ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
    lines: dict["cst.CSTNode", int] = {}
    pending: list[tuple[Sequence["cst.BaseStatement"], list[ast.stmt]]] = []
    if not _pair_body(module.body, body, lines, pending):
        return None
    while pending:
        statements, nodes = pending.pop()
        inner: dict["cst.CSTNode", int] = {}
        found: list[tuple[Sequence["cst.BaseStatement"], list[ast.stmt]]] = []
        if _pair_body(statements, nodes, inner, found):
            lines.update(inner)
            pending.extend(found)
    return lines


def _pair_body(
    statements: "Sequence[cst.BaseStatement]",
    nodes: "list[ast.stmt]",
    lines: "dict[cst.CSTNode, int]",
    nested: "list[tuple[Sequence[cst.BaseStatement], list[ast.stmt]]]",
) -> bool:
    """Pair one body's libcst statements with its `ast` statements, recording
    each one's first line, and the function and class bodies within it to pair
    next; False when they do not pair."""
    import libcst as cst

    position = 0
    for statement in statements:
        if position >= len(nodes):
            return False
        leading = len(statement.leading_lines)
        if type(statement) is cst.SimpleStatementLine:
            first = nodes[position].lineno
            position += len(statement.body)
        else:
            node = nodes[position]
            position += 1
            first = node.lineno
            decorators = getattr(statement, "decorators", ())
            if decorators:
                decorator_lines = [decorator.lineno for decorator in getattr(node, "decorator_list", ())]
                if not decorator_lines:
                    return False
                first = min(decorator_lines) - len(decorators[0].leading_lines)
            block = getattr(statement, "body", None)
            if type(statement) in (cst.FunctionDef, cst.ClassDef) and type(block) is cst.IndentedBlock:
                nested.append((block.body, getattr(node, "body", [])))
        lines[statement] = first - leading
    return position == len(nodes)
