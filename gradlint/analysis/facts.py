"""Per-function facts, built from the module index (no new traversal of the tree).

`FunctionFacts` answers the local questions the semantic model asks over and
over: the parameters, every binding of a local name or `self.<attr>` (in source
order, so "which assignment reaches this read" is a lookup), element stores
(`J[i, j] = ...`, `d[range(n), y] -= 1`), the returned expressions and the
nested functions. Lambdas get facts too (parameters and their one returned
expression), so `sigmoid_prime = lambda s: s * (1 - s)` is a function like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import libcst as cst

from gradlint.analysis.index import ModuleIndex
from gradlint.analysis.syntax import dotted_name, subscript_base

FunctionLike = Union[cst.FunctionDef, cst.Lambda]


@dataclass(frozen=True)
class Binding:
    """One assignment to a name (`x`) or attribute chain (`self.output`)."""

    name: str
    statement: cst.CSTNode = field(repr=False)  # Assign, AnnAssign, AugAssign, For, With, NamedExpr, Import...
    target: cst.CSTNode = field(repr=False)
    value: Optional[cst.BaseExpression] = field(repr=False)  # None: unknown (unpacking, loop variable, import)
    order: int  # the value is visible to nodes whose index order is greater than this
    augmented: bool = False


@dataclass(frozen=True)
class ElementStore:
    """A store into part of a value: `J[i, j] = v`, `d[range(n), y] -= 1`."""

    name: str
    statement: cst.CSTNode = field(repr=False)
    target: cst.Subscript = field(repr=False)
    value: cst.BaseExpression = field(repr=False)
    order: int
    operator: Optional[str] = None  # "-=" for augmented stores, None for `=`


def last_order(index: ModuleIndex, node: cst.CSTNode) -> int:
    """The index order of the last node in `node`'s subtree (its end, in source order)."""
    return index.end_order(node)


def _param_names(params: cst.Parameters) -> list[cst.Param]:
    found = list(params.posonly_params) + list(params.params)
    if type(params.star_arg) is cst.Param:
        found.append(params.star_arg)
    found.extend(params.kwonly_params)
    if params.star_kwarg is not None:
        found.append(params.star_kwarg)
    return found


class FunctionFacts:
    """What one function (or lambda, or the module scope when `function` is None) binds and returns."""

    def __init__(
        self,
        index: ModuleIndex,
        function: Optional[FunctionLike],
        qualname: str,
        class_def: Optional[cst.ClassDef] = None,
    ) -> None:
        self.index = index
        self.function = function
        self.qualname = qualname
        self.class_def = class_def
        self.name = function.name.value if type(function) is cst.FunctionDef else qualname
        all_params = _param_names(function.params) if function is not None else []
        self.self_name: Optional[str] = None
        if class_def is not None and type(function) is cst.FunctionDef and all_params:
            decorators = {dotted_name(d.decorator) for d in function.decorators}
            if "staticmethod" not in decorators:
                self.self_name = all_params[0].name.value
                all_params = all_params[1:]
        self.param_nodes: tuple[cst.Param, ...] = tuple(all_params)
        self.params: tuple[str, ...] = tuple(p.name.value for p in all_params)
        positional_nodes = (
            tuple(function.params.posonly_params) + tuple(function.params.params) if function is not None else ()
        )
        self.positional: tuple[str, ...] = tuple(p.name.value for p in all_params if p in positional_nodes)
        self.defaults: frozenset[str] = frozenset(p.name.value for p in all_params if p.default is not None)
        self.bindings: dict[str, list[Binding]] = {}
        self.element_stores: dict[str, list[ElementStore]] = {}
        self.returns: tuple[cst.BaseExpression, ...] = ()
        self.nested: dict[str, cst.FunctionDef] = {}
        if type(function) is cst.Lambda:
            self.returns = (function.body,)
        else:
            self._collect()

    # -- building ------------------------------------------------------------
    def _collect(self) -> None:
        index, function = self.index, self.function
        scope = function if type(function) is cst.FunctionDef else None
        for node in index.nodes_in(scope, cst.Assign):
            for target in node.targets:
                self._bind(target.target, node.value, node, index.order[node])
        for node in index.nodes_in(scope, cst.AnnAssign):
            if node.value is not None:
                self._bind(node.target, node.value, node, index.order[node])
        for node in index.nodes_in(scope, cst.AugAssign):
            target = node.target
            if type(target) is cst.Subscript:
                self._store(target, node.value, node, index.order[node], node.operator.__class__.__name__)
            else:
                name = dotted_name(target)
                if name:
                    self._add(Binding(name, node, target, node.value, last_order(index, node), augmented=True))
        for node in index.nodes_in(scope, cst.For):
            self._bind(node.target, None, node, last_order(index, node.target))
        for node in index.nodes_in(scope, cst.WithItem):
            if node.asname is not None:
                self._bind(node.asname.name, None, node, last_order(index, node))
        for node in index.nodes_in(scope, cst.NamedExpr):
            self._bind(node.target, node.value, node, index.order[node])
        for node in index.nodes_in(scope, cst.FunctionDef):
            self.nested[node.name.value] = node
            self._add(Binding(node.name.value, node, node.name, None, index.order[node]))
        for node in index.nodes_in(scope, cst.ClassDef):
            self._add(Binding(node.name.value, node, node.name, None, index.order[node]))
        for kind in (cst.Import, cst.ImportFrom):
            for node in index.nodes_in(scope, kind):
                names = node.names if isinstance(node.names, (list, tuple)) else ()
                for alias in names:
                    bound = alias.asname.name if alias.asname is not None else alias.name
                    name = dotted_name(bound)
                    if name:
                        self._add(Binding(name.split(".")[0], node, bound, None, index.order[node]))
        if scope is not None:
            self.returns = tuple(r.value for r in index.nodes_in(scope, cst.Return) if r.value is not None)
        for bindings in self.bindings.values():
            bindings.sort(key=lambda b: b.order)

    def _bind(
        self, target: cst.BaseExpression, value: Optional[cst.BaseExpression], statement: cst.CSTNode, order: int
    ) -> None:
        if type(target) in (cst.Tuple, cst.List):
            elements = [e.value for e in target.elements]
            values: list[Optional[cst.BaseExpression]] = [None] * len(elements)
            if type(value) in (cst.Tuple, cst.List) and len(value.elements) == len(elements):
                values = [e.value if type(e) is not cst.StarredElement else None for e in value.elements]
            for element, element_value in zip(elements, values):
                self._bind(element, element_value, statement, order)
            return
        if type(target) is cst.StarredElement:
            self._bind(target.value, None, statement, order)
            return
        if type(target) is cst.Subscript:
            if value is not None:
                self._store(target, value, statement, order, None)
            return
        name = dotted_name(target)
        if name:
            end = last_order(self.index, statement) if type(statement) is not cst.For else order
            self._add(Binding(name, statement, target, value, end))

    def _store(
        self, target: cst.Subscript, value: cst.BaseExpression, statement: cst.CSTNode, order: int, operator: Optional[str]
    ) -> None:
        base = subscript_base(target)
        if base:
            self.element_stores.setdefault(base, []).append(
                ElementStore(base, statement, target, value, last_order(self.index, statement), operator)
            )

    def _add(self, binding: Binding) -> None:
        self.bindings.setdefault(binding.name, []).append(binding)

    # -- questions -------------------------------------------------------------
    def reaching(self, name: str, at_order: int) -> Optional[Binding]:
        """The last binding of `name` completed before index order `at_order`."""
        found = None
        for binding in self.bindings.get(name, ()):
            if binding.order < at_order:
                found = binding
            else:
                break
        return found

    def stores_between(self, name: str, start: int, end: int) -> list[ElementStore]:
        """Element stores into `name` after order `start` and before `end`."""
        return [s for s in self.element_stores.get(name, ()) if start < s.order < end]

    def is_param(self, name: str) -> bool:
        return name in self.params
