"""The shared model of one module that every rule asks.

`ModuleAnalysis` wraps the parsed module, the one-traversal `ModuleIndex`, and
(lazily, only when a rule asks) the semantic model: which functions are
forwards, which are derivatives of which forward and in which convention, and
what role each value plays (see `gradlint.analysis.semantics`). Positions are
resolved lazily too, only for modules that have a finding.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Callable, Optional, TypeVar

import libcst as cst

from gradlint.analysis.index import ModuleIndex
from gradlint.analysis.syntax import fast_code

if TYPE_CHECKING:
    from libcst.metadata import CodeRange

    from gradlint.analysis.semantics import Semantics

__all__ = ["ModuleAnalysis", "ModuleIndex"]

M = TypeVar("M")


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
        from gradlint.analysis.positions import statement_spans

        spans, code = statement_spans(self.module, statement, first_line, self._indents_of(statement))
        source = self.source
        start = offsets[first_line - 1]
        if not source.startswith(code, start):
            # the last statement of a file without a final newline: libcst adds one
            newline = self.module.default_newline
            if self.module.has_trailing_newline or not code.endswith(newline) or source[start:] + newline != code:
                return False
        self._spans.update(spans)
        return True

    def range_of(self, node: cst.CSTNode) -> "CodeRange":
        """The node's source range (libcst: 1-based lines, 0-based columns),
        exactly as libcst's PositionProvider gives it."""
        from libcst.metadata import CodePosition, CodeRange

        line, column, end_line, end_column = self._span(node)
        return CodeRange(CodePosition(line, column), CodePosition(end_line, end_column))

    def line_of(self, node: cst.CSTNode) -> int:
        return self.range_of(node).start.line

    def code_for(self, node: cst.CSTNode) -> str:
        """The source text of a node, whitespace-normalised to one line (memoised:
        rules compare the same expressions' text many times)."""
        memo = self._code_memo
        text = memo.get(node)
        if text is None:
            code = fast_code(node)  # libcst's code generation for common expressions, without its overhead
            if code is None:
                code = self.module.code_for_node(node)
            text = memo[node] = " ".join(code.split())
        return text

    @cached_property
    def _code_memo(self) -> "dict[cst.CSTNode, str]":
        return {}
