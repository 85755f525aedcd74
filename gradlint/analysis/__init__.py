"""The shared model of one module that every rule asks.

`ModuleAnalysis` wraps the parsed module, the one-traversal `ModuleIndex`, and
(lazily, only when a rule asks) the semantic model: which functions are
forwards, which are derivatives of which forward and in which convention, and
what role each value plays (see `gradlint.analysis.semantics`). Positions are
resolved lazily too, only for modules that have a finding.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Optional

import libcst as cst

from gradlint.analysis.index import ModuleIndex

if TYPE_CHECKING:
    from libcst.metadata import CodeRange

    from gradlint.analysis.semantics import Semantics

__all__ = ["ModuleAnalysis", "ModuleIndex"]


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

    @cached_property
    def semantics(self) -> "Semantics":
        """Forwards, derivatives, conventions and value roles of this module."""
        from gradlint.analysis.semantics import Semantics

        return Semantics(self)

    @cached_property
    def _spans(self) -> "dict[cst.CSTNode, tuple[int, int, int, int]]":
        """Every node's (start line, start column, end line, end column): one
        code-generation pass, done only for modules that report something."""
        from gradlint.analysis.positions import spans_of

        return spans_of(self.module)

    def range_of(self, node: cst.CSTNode) -> "CodeRange":
        """The node's source range (libcst: 1-based lines, 0-based columns),
        exactly as libcst's PositionProvider gives it."""
        from libcst.metadata import CodePosition, CodeRange

        line, column, end_line, end_column = self._spans[node]
        return CodeRange(CodePosition(line, column), CodePosition(end_line, end_column))

    def line_of(self, node: cst.CSTNode) -> int:
        return self.range_of(node).start.line

    def code_for(self, node: cst.CSTNode) -> str:
        """The source text of a node, whitespace-normalised to one line (memoised:
        rules compare the same expressions' text many times)."""
        memo = self._code_memo
        text = memo.get(node)
        if text is None:
            text = memo[node] = " ".join(self.module.code_for_node(node).split())
        return text

    @cached_property
    def _code_memo(self) -> "dict[cst.CSTNode, str]":
        return {}
