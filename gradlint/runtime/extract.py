"""Extract what a set of targets needs from a module, without its top-level code.

The generated module keeps, in source order, only the top-level statements that
bind a name the targets (transitively) use: imports, functions, classes,
constant assignments, and `if`/`try` blocks made only of those. Training
loops, prints, plots, file reads and `if __name__ == "__main__":` blocks are
dropped unless a target needs a name they bind. Relative imports are made
absolute so the generated module can live in a temporary directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

import libcst as cst

from gradlint.analysis.syntax import walk


@dataclass(frozen=True)
class Extraction:
    """The generated module's source, and where its imports resolve from."""

    source: str
    sys_path: tuple[str, ...]
    dropped: int  # top-level statements left out


def package_of(path: Path) -> tuple[str, Path]:
    """The dotted package of a file (from the `__init__.py` chain) and the
    folder that must be on sys.path for it to import."""
    parts: list[str] = []
    folder = path.resolve().parent
    while (folder / "__init__.py").exists() and folder.parent != folder:
        parts.append(folder.name)
        folder = folder.parent
    return ".".join(reversed(parts)), folder


def _is_main_guard(node: cst.If) -> bool:
    text = cst.Module([]).code_for_node(node.test)
    return "__name__" in text and "__main__" in text


def _bound_names(statement: cst.CSTNode) -> Optional[set[str]]:
    """Names a definitional top-level statement binds; None when it is not
    definitional (an expression, a loop, a with block...)."""
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return {statement.name.value}
    if isinstance(statement, cst.SimpleStatementLine):
        bound: set[str] = set()
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    if alias.asname is not None:
                        bound |= _target_names(alias.asname.name)
                    else:
                        bound.add(cst.Module([]).code_for_node(alias.name).split(".")[0])
            elif isinstance(small, cst.ImportFrom):
                if isinstance(small.names, cst.ImportStar):
                    bound.add("*")
                else:
                    for alias in small.names:
                        name = alias.asname.name if alias.asname is not None else alias.name
                        bound |= _target_names(name)
            elif isinstance(small, cst.Assign):
                for target in small.targets:
                    bound |= _target_names(target.target)
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                bound |= _target_names(small.target)
            elif isinstance(small, (cst.Pass, cst.Global, cst.Nonlocal)):
                continue
            else:
                return None
        return bound
    if isinstance(statement, cst.If):
        if _is_main_guard(statement):
            return None
        suites: list[cst.BaseSuite] = [statement.body]
        bound = set()
        if isinstance(statement.orelse, cst.If):
            names = _bound_names(statement.orelse)
            if names is None:
                return None
            bound |= names
        elif isinstance(statement.orelse, cst.Else):
            suites.append(statement.orelse.body)
        return _suites_bindings(suites, bound)
    if isinstance(statement, cst.Try):
        suites = [statement.body, *[h.body for h in statement.handlers]]
        suites += [part.body for part in (statement.orelse, statement.finalbody) if part is not None]
        return _suites_bindings(suites, set())
    return None


def _suites_bindings(suites: Sequence[cst.BaseSuite], bound: set[str]) -> Optional[set[str]]:
    for suite in suites:
        body = suite.body if isinstance(suite, (cst.IndentedBlock, cst.SimpleStatementSuite)) else ()
        for statement in body:
            if isinstance(statement, cst.BaseSmallStatement):
                statement = cst.SimpleStatementLine([statement])
            names = _bound_names(statement)
            if names is None:
                return None
            bound |= names
    return bound


def _target_names(node: cst.CSTNode) -> set[str]:
    if isinstance(node, cst.Name):
        return {node.value}
    if isinstance(node, (cst.Tuple, cst.List)):
        found: set[str] = set()
        for element in node.elements:
            found |= _target_names(element.value)
        return found
    if isinstance(node, cst.StarredElement):
        return _target_names(node.value)
    return set()  # attribute or subscript stores bind no new top-level name


def _used_names(statement: cst.CSTNode) -> set[str]:
    return {n.value for n in walk(statement) if isinstance(n, cst.Name)}


class _AbsoluteImports(cst.CSTTransformer):
    def __init__(self, package: str) -> None:
        super().__init__()
        self.package = package

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        if not updated.relative:
            return updated
        parts = self.package.split(".") if self.package else []
        level = len(updated.relative)
        base = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
        module_text = cst.Module([]).code_for_node(updated.module) if updated.module is not None else ""
        dotted = ".".join([*base, *([module_text] if module_text else [])])
        if not dotted:
            return updated
        return updated.with_changes(relative=(), module=cst.parse_expression(dotted))


def extract(module: cst.Module, path: Path, roots: Iterable[str]) -> Extraction:
    """The part of `module` (the file at `path`) that the top-level names
    `roots` need."""
    statements = list(module.body)
    bindings: list[Optional[set[str]]] = [_bound_names(s) for s in statements]
    needed: set[str] = set(roots)
    keep = [False] * len(statements)
    for i, statement in enumerate(statements):
        # __future__ imports and star imports always stay (they may bind anything).
        names = bindings[i]
        if names and "*" in names:
            keep[i] = True
        if isinstance(statement, cst.SimpleStatementLine) and any(
            isinstance(s, cst.ImportFrom) and s.module is not None and cst.Module([]).code_for_node(s.module) == "__future__"
            for s in statement.body
        ):
            keep[i] = True
    changed = True
    while changed:
        changed = False
        for i, names in enumerate(bindings):
            if keep[i] or not names or not (names & needed):
                continue
            keep[i] = True
            changed = True
            needed |= _used_names(statements[i])
        for i in range(len(statements)):
            if keep[i]:
                extra = _used_names(statements[i]) - needed
                if extra:
                    needed |= extra
                    changed = True
    kept = [s for s, k in zip(statements, keep) if k]
    package, root = package_of(path)
    generated = module.with_changes(body=kept)
    if package or any(
        isinstance(s, cst.SimpleStatementLine) and any(isinstance(x, cst.ImportFrom) and x.relative for x in s.body)
        for s in kept
    ):
        generated = generated.visit(_AbsoluteImports(package))
    header = f"# generated by gradlint's runtime checker from {os.fspath(path)}\n"
    sys_path = tuple(dict.fromkeys([str(path.resolve().parent), str(root)]))
    return Extraction(header + generated.code, sys_path, len(statements) - len(kept))
