"""The shared model of one module that every rule asks.

`ModuleAnalysis` wraps the parsed module, the one-traversal `ModuleIndex`, and
(lazily, only when a rule asks) the semantic model: which functions are
forwards, which are derivatives of which forward and in which convention, and
what role each value plays (see `gradlint.analysis.semantics`). Positions are
resolved lazily too, only for modules that have a finding.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Callable, Optional, TypeVar

import libcst as cst

from gradlint.analysis.cached import cached_property
from gradlint.analysis.index import ModuleIndex
from gradlint.analysis.syntax import one_line_code

if TYPE_CHECKING:
    from libcst.metadata import CodeRange

    from gradlint.analysis.semantics import Semantics

__all__ = ["ModuleAnalysis", "ModuleIndex"]

M = TypeVar("M")
Span = tuple[int, int, int, int]  # start line, start column, end line, end column


def _shifted(spans: "dict[cst.CSTNode, Span]", lines: int) -> "dict[cst.CSTNode, Span]":
    """The spans moved down by `lines` lines (a statement's columns do not depend on its line)."""
    if not lines:
        return spans
    return {node: (start + lines, column, end + lines, end_column) for node, (start, column, end, end_column) in spans.items()}


class ModuleAnalysis:
    """Everything known about one parsed module."""

    def __init__(self, module: cst.Module, filename: str, source: str, package: "Optional[object]" = None) -> None:
        self.module = module
        self.filename = filename
        self.source = source
        self.index = ModuleIndex(module)
        # Set by the engine when several modules of one package are analysed
        # together (cross-module pairings); None for a lone module.
        self.package = package

    def model(self, name: str, build: "Callable[[ModuleAnalysis], M]") -> "M":
        """The module's model `name` (the numeric model, ...), built by `build(self)` once."""
        models = self._models
        found = models.get(name)
        if found is None:
            found = models[name] = build(self)
        return found  # type: ignore[no-any-return]

    @cached_property
    def _models(self) -> "dict[str, object]":
        return {}

    def rows_text(self, first: int, last: int) -> str:
        """The source's rows `first`..`last` (1-based, with their line breaks)."""
        offsets = self._line_offsets
        end = offsets[last] if last < len(offsets) else len(self.source)
        return self.source[offsets[first - 1]:end]

    def release(self, unshared: bool = False) -> None:
        """Let go of the semantic and other models, which refer back to this analysis, so the
        analysis and its tree can be freed as soon as the last reference goes instead of
        waiting for the cycle collector (which then walks the whole tree). `unshared`: no
        other module's analysis consulted this one, so nothing outside it holds its models,
        and their own insides are let go of too (a semantic model's lazily worded reasons
        refer back to it: a cycle)."""
        released = [self.__dict__.pop("semantics", None), *self.__dict__.pop("_models", {}).values()]
        if unshared:
            for model in released:
                if model is not None and hasattr(model, "__dict__"):
                    model.__dict__.clear()

    @cached_property
    def semantics(self) -> "Semantics":
        """Forwards, derivatives, conventions and value roles of this module."""
        from gradlint.analysis.semantics import Semantics

        return Semantics(self)

    def _span(self, node: cst.CSTNode) -> "tuple[int, int, int, int]":
        """The node's (start line, start column, end line, end column).

        Computed by code generation, only for modules that report something,
        and then only for the innermost statement (of the module, or of a
        function's or class's body) that holds a reported node: its first line
        comes from CPython's `ast`, and its generated code is checked against
        the source there; a node outside the indexed statements, or any
        mismatch, falls back to the whole module's pass."""
        spans = self._spans
        span = spans.get(node)
        if span is not None:
            return span
        if not self._spans_complete:
            if self._locate_statement_spans(node):
                span = spans.get(node)
                if span is not None:
                    return span
            statement = self._innermost_statement(node)
            if statement is not None and statement not in self._spans_generated:
                self._spans_generated.add(statement)
                if self._generate_statement_spans(statement):
                    span = spans.get(node)
                    if span is not None:
                        return span
            from gradlint.analysis.positions import spans_of

            spans = self._spans = spans_of(self.module)
            self._spans_complete = True
        return spans[node]

    @cached_property
    def _spans(self) -> "dict[cst.CSTNode, tuple[int, int, int, int]]":
        return {}

    @cached_property
    def _spans_generated(self) -> "set[cst.CSTNode]":
        return set()

    _spans_complete = False

    def _innermost_statement(self, node: cst.CSTNode) -> "Optional[cst.CSTNode]":
        """The innermost statement holding `node` (or `node` itself) whose first line
        is known (None: none is, or `node` is not indexed)."""
        lines = self._statement_first_lines
        if lines is None:
            return None
        parents = self.index.parents
        current: Optional[cst.CSTNode] = node
        while current is not None:
            if current in lines:
                return current
            current = parents.get(current)
        return None

    def _indents_of(self, statement: cst.CSTNode) -> "tuple[str, ...]":
        """The indentation of the blocks around `statement`, outermost first (libcst's codegen state)."""
        default = self.module.default_indent
        indents = [
            default if ancestor.indent is None else ancestor.indent  # type: ignore[attr-defined]
            for ancestor in self.index.ancestors(statement)
            if type(ancestor) is cst.IndentedBlock
        ]
        return tuple(reversed(indents))

    @cached_property
    def _statement_first_lines(self) -> "Optional[dict[cst.CSTNode, int]]":
        from gradlint.analysis.positions import statement_first_lines

        return statement_first_lines(self.module, self.source) if self.source else None

    @cached_property
    def _line_offsets(self) -> list[int]:
        """The offset in the source where each line starts (libcst's line breaks)."""
        import re

        return [0] + [match.end() for match in re.finditer(r"\r\n|\r|\n", self.source)]

    def _generate_statement_spans(self, statement: cst.CSTNode) -> bool:
        """Record the spans of one statement; False when its first line is
        unknown or its code is not the source's at that line."""
        lines = self._statement_first_lines
        first_line = lines.get(statement) if lines is not None else None
        if first_line is None or first_line < 1:
            return False
        offsets = self._line_offsets
        if first_line > len(offsets):
            return False
        spans, code = self._statement_code(statement)
        source = self.source
        start = offsets[first_line - 1]
        if not source.startswith(code, start):
            # the last statement of a file without a final newline: libcst adds one
            newline = self.module.default_newline
            if self.module.has_trailing_newline or not code.endswith(newline) or source[start:] + newline != code:
                return False
        self._spans.update(_shifted(spans, first_line - 1))
        return True

    def _statement_code(self, statement: cst.CSTNode) -> "tuple[dict[cst.CSTNode, Span], str]":
        """The spans of a statement's nodes as if its code started at line 1, and that code
        (generated once: both ways of placing a statement use it)."""
        generated = self._generated_code.pop(statement, None)
        if generated is None:
            from gradlint.analysis.positions import statement_spans

            generated = statement_spans(self.module, statement, 1, self._indents_of(statement))
        return generated

    @cached_property
    def _generated_code(self) -> "dict[cst.CSTNode, tuple[dict[cst.CSTNode, Span], str]]":
        return {}

    def _locate_statement_spans(self, node: cst.CSTNode) -> bool:
        """Record the spans of the innermost statement holding `node` that stands on lines of
        its own (a statement of the module's or of an indented block's body), placed where its
        generated code occurs in the source, without parsing the source with `ast`.

        The statement's own text is in the source, and is its generated code (libcst round-trips
        exactly; its code generation reads nothing but the indentation): so when that code occurs
        exactly once in the source, at a line start, that occurrence is the statement. False
        (nothing recorded) when it occurs more than once (`return grad` in several functions),
        when no such statement holds `node`, or when the file has no final newline (libcst then
        drops the newline of the file's last statement, whose code is then not the source's)."""
        source = self.source
        if not source or not self.module.has_trailing_newline:
            return False
        statement = self._anchored_statement(node)
        if statement is None or statement in self._spans_generated:
            return False
        spans, code = self._statement_code(statement)
        start = source.find(code)
        if start < 0 or source.find(code, start + 1) >= 0:
            self._generated_code[statement] = (spans, code)  # the `ast` placement may want it
            return False
        if "\r" in source:
            offsets = self._line_offsets  # libcst also breaks lines at a lone "\r"
            line = bisect_right(offsets, start)
            at_line_start = offsets[line - 1] == start
        else:
            line = source.count("\n", 0, start) + 1
            at_line_start = start == 0 or source[start - 1] == "\n"
        if not at_line_start:
            self._generated_code[statement] = (spans, code)
            return False
        self._spans_generated.add(statement)
        self._spans.update(_shifted(spans, line - 1))
        return True

    def _anchored_statement(self, node: cst.CSTNode) -> "Optional[cst.CSTNode]":
        """`node`, or its nearest ancestor, that is one of the statements of the module's body or
        of an indented block's (those the index links to such a parent are exactly these): a
        statement whose code starts at a line start and depends on nothing but the indentation
        (unlike an `elif`, which is an `If` generated by its parent `If`)."""
        parents = self.index.parents
        current: Optional[cst.CSTNode] = node
        while current is not None:
            parent = parents.get(current)
            if type(parent) is cst.IndentedBlock or type(parent) is cst.Module:
                return current
            current = parent
        return None

    def range_of(self, node: cst.CSTNode) -> "CodeRange":
        """The node's source range (libcst: 1-based lines, 0-based columns),
        exactly as libcst's PositionProvider gives it."""
        from libcst.metadata import CodePosition, CodeRange

        line, column, end_line, end_column = self._span(node)
        return CodeRange(CodePosition(line, column), CodePosition(end_line, end_column))

    def line_of(self, node: cst.CSTNode) -> int:
        return self.range_of(node).start.line

    def code_for(self, node: cst.CSTNode) -> str:
        """The source text of a node on one line, without comments or backslash continuations,
        whitespace-normalised (syntax.one_line_code; memoised: rules compare the same expressions'
        text many times)."""
        memo = self._code_memo
        text = memo.get(node)
        if text is None:
            text = memo[node] = one_line_code(self.module, node)
        return text

    @cached_property
    def _code_memo(self) -> "dict[cst.CSTNode, str]":
        return {}
