"""One traversal of a parsed module that every later question is answered from.

The index records each node's parent, the nodes of each type, and the nodes of
each type inside each function, so rules and the semantic model look things up
instead of walking the tree again.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator, Optional, TypeVar

import libcst as cst

N = TypeVar("N", bound=cst.CSTNode)

_SCOPES = (cst.FunctionDef, cst.ClassDef)


class _IndexBuilder(cst.CSTVisitor):
    def __init__(self, index: "ModuleIndex") -> None:
        super().__init__()
        self._index = index
        self._stack: list[cst.CSTNode] = []
        self._functions: list[Optional[cst.FunctionDef]] = [None]

    def on_visit(self, node: cst.CSTNode) -> bool:
        index = self._index
        if self._stack:
            index.parents[node] = self._stack[-1]
        self._stack.append(node)
        node_type = type(node)
        index.by_type[node_type].append(node)
        function = self._functions[-1]
        index.function_of[node] = function
        index.by_function_type[(function, node_type)].append(node)
        if node_type is cst.FunctionDef:
            self._functions.append(node)  # type: ignore[arg-type]
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._stack.pop()
        if type(original_node) is cst.FunctionDef:
            self._functions.pop()


class ModuleIndex:
    """Parents, nodes by type, and nodes by enclosing function for one module."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self.by_type: dict[type, list[cst.CSTNode]] = defaultdict(list)
        self.function_of: dict[cst.CSTNode, Optional[cst.FunctionDef]] = {}
        self.by_function_type: dict[tuple[Optional[cst.FunctionDef], type], list[cst.CSTNode]] = defaultdict(list)
        module.visit(_IndexBuilder(self))

    # -- lookups -----------------------------------------------------------
    def nodes(self, node_type: type[N]) -> list[N]:
        """Every node of exactly `node_type` in source order."""
        return self.by_type.get(node_type, [])  # type: ignore[return-value]

    def nodes_in(self, function: Optional[cst.FunctionDef], node_type: type[N]) -> list[N]:
        """Nodes of `node_type` whose nearest enclosing function is `function`
        (`None`: module level). Nested functions' nodes are not included."""
        return self.by_function_type.get((function, node_type), [])  # type: ignore[return-value]

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self.parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def enclosing(self, node: cst.CSTNode, node_type: type[N]) -> Optional[N]:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, node_type):
                return ancestor
        return None

    def function_containing(self, node: cst.CSTNode) -> Optional[cst.FunctionDef]:
        return self.function_of.get(node)

    def class_of(self, function: cst.FunctionDef) -> Optional[cst.ClassDef]:
        """The class a function is a method of (directly), if any."""
        parent = self.parents.get(function)
        # FunctionDef -> IndentedBlock -> ClassDef
        if parent is not None:
            grand = self.parents.get(parent)
            if isinstance(grand, cst.ClassDef):
                return grand
        return None

    def methods(self, class_def: cst.ClassDef) -> dict[str, cst.FunctionDef]:
        body = class_def.body
        statements = body.body if isinstance(body, cst.IndentedBlock) else ()
        return {s.name.value: s for s in statements if isinstance(s, cst.FunctionDef)}

    def statement_of(self, node: cst.CSTNode) -> cst.CSTNode:
        """The statement (simple line or compound statement) holding `node`."""
        current: cst.CSTNode = node
        while True:
            if isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return current
            parent = self.parents.get(current)
            if parent is None:
                return current
            current = parent
