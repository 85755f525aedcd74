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
    def _positions(self) -> "dict[cst.CSTNode, CodeRange]":
        from libcst.metadata import MetadataWrapper, PositionProvider

        wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        return dict(wrapper.resolve(PositionProvider))

    def range_of(self, node: cst.CSTNode) -> "CodeRange":
        """The node's source range (libcst: 1-based lines, 0-based columns)."""
        return self._positions[node]

    def line_of(self, node: cst.CSTNode) -> int:
        return self.range_of(node).start.line

    def code_for(self, node: cst.CSTNode) -> str:
        """The source text of a node, whitespace-normalised to one line."""
        return " ".join(self.module.code_for_node(node).split())
