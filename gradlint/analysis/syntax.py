"""Small syntactic helpers shared by the semantic model and the rules."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis.index import child_nodes


def dotted_name(node: cst.CSTNode) -> Optional[str]:
    """`np.linalg.norm` for an Attribute chain or Name, else None."""
    parts: list[str] = []
    current = node
    while isinstance(current, cst.Attribute):
        parts.append(current.attr.value)
        current = current.value
    if isinstance(current, cst.Name):
        parts.append(current.value)
        return ".".join(reversed(parts))
    return None


def call_name(node: cst.CSTNode) -> Optional[str]:
    """The dotted name of the callee when `node` is a call, else None."""
    if isinstance(node, cst.Call):
        return dotted_name(node.func)
    return None


def last_part(name: Optional[str]) -> Optional[str]:
    return name.rsplit(".", 1)[-1] if name else None


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node in the subtree of `node` (for small expressions only), without
    layout nodes (whitespace, comments)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(child_nodes(current)))


def names_in(node: cst.CSTNode) -> set[str]:
    """Every bare name read or written in the subtree."""
    return {n.value for n in walk(node) if isinstance(n, cst.Name)}


def dotted_names_in(node: cst.CSTNode) -> set[str]:
    """Every name and attribute chain (`self.output`) mentioned in the subtree."""
    found: set[str] = set()
    for n in walk(node):
        if isinstance(n, (cst.Name, cst.Attribute)):
            name = dotted_name(n)
            if name:
                found.add(name)
    return found


def subscript_base(node: cst.CSTNode) -> Optional[str]:
    """`J` for `J[i][j]` or `J[i, j]`; `self.J` for `self.J[i]`."""
    current = node
    while isinstance(current, cst.Subscript):
        current = current.value
    return dotted_name(current)


def assigned_targets(statement: cst.BaseSmallStatement) -> list[cst.BaseExpression]:
    if isinstance(statement, cst.Assign):
        return [target.target for target in statement.targets]
    if isinstance(statement, (cst.AnnAssign, cst.AugAssign)):
        return [statement.target]
    return []


def block_items(block: cst.BaseSuite) -> list[cst.CSTNode]:
    """The block's statements in order, with each simple line split into its
    small statements (`a = 1; b = 2`); compound statements stay whole."""
    if isinstance(block, cst.SimpleStatementSuite):
        return list(block.body)
    items: list[cst.CSTNode] = []
    if isinstance(block, cst.IndentedBlock):
        for statement in block.body:
            if isinstance(statement, cst.SimpleStatementLine):
                items.extend(statement.body)
            else:
                items.append(statement)
    return items
