"""Extract what a set of targets needs from a module, without its top-level code.

The generated module keeps, in source order, only the top-level statements that
bind a name the targets (transitively) use: imports, functions, classes,
constant assignments, and `if`/`try` blocks made only of those. Training
loops, prints, plots, file reads and `if __name__ == "__main__":` blocks are
dropped unless a target needs a name they bind. Relative imports are made
absolute so the generated module can live in a temporary directory.

The imports resolve as the file's own project would: from the file's folder, its
package root, the folder above an ancestor folder an import names (`ml.activations`
from `ml/activations/relu.py`, a namespace package) and the folder a relative import
climbs to. A module of the project missing altogether (a file taken out of its
project) whose names serve only as base classes is named in `Extraction.stubs`, for
the sandbox to stand in for; lines of the generated module map back to the file's
(`Extraction.lines`), so an import error names the file's line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

import libcst as cst

from gradlint.analysis.syntax import walk
from gradlint.runtime.text import source_line


@dataclass(frozen=True)
class Extraction:
    """The generated module's source, and where its imports resolve from."""

    source: str
    sys_path: tuple[str, ...]
    dropped: int  # top-level statements left out
    # Modules of the file's own project that may be missing (a file taken out of its project),
    # each with the names it gives that the module uses only as base classes: the sandbox makes
    # them empty classes when, and only when, the import itself finds no such module.
    stubs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # (first line in the generated source, first line in the file) of each kept statement, in
    # order: a line of the generated module read back as the file's line (`source_line`).
    lines: tuple[tuple[int, int], ...] = ()

    def source_line(self, generated_line: int) -> Optional[int]:
        """The file's line for a line of the generated module (None for the header)."""
        return source_line(self.lines, generated_line)



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
    stubs = _base_stubs(kept, package, path)
    generated = module.with_changes(body=kept)
    if package or any(
        isinstance(s, cst.SimpleStatementLine) and any(isinstance(x, cst.ImportFrom) and x.relative for x in s.body)
        for s in kept
    ):
        generated = generated.visit(_AbsoluteImports(package))
    header = f"# generated by gradlint's runtime checker from {os.fspath(path)}\n"
    folders = [str(path.resolve().parent), str(root), *_project_roots(kept, package, path)]
    lines = _line_starts(module, statements, keep, generated, header)
    return Extraction(header + generated.code, tuple(dict.fromkeys(folders)), len(statements) - len(kept), stubs, lines)


def _line_starts(
    module: cst.Module, statements: list[cst.BaseStatement], keep: list[bool], generated: cst.Module, header: str
) -> tuple[tuple[int, int], ...]:
    """Where each kept statement starts in the generated source and in the file (its leading
    blank and comment lines included on both sides, so the offsets inside it agree)."""
    original_line = 1 + _header_lines(module)
    generated_line = 1 + header.count("\n") + _header_lines(generated)
    starts = [(1 + header.count("\n"), 1)]  # the module's leading comments
    kept_iter = iter(generated.body)
    for statement, kept in zip(statements, keep):
        if kept:
            starts.append((generated_line, original_line))
            generated_line += generated.code_for_node(next(kept_iter)).count("\n")
        original_line += module.code_for_node(statement).count("\n")
    return tuple(starts)


def _header_lines(module: cst.Module) -> int:
    """The lines of the module's leading comments and blank lines (before its first statement)."""
    return sum(1 for _ in module.header)


# Array and deep-learning frameworks: a class built on one of theirs works on their tensors, not
# on numpy arrays (`t.max(1)[0]`, `t.repeat`, `t.std()` mean other things), so a missing one is
# never replaced by an empty stand-in; the module stays unimportable and its targets `unknown`.
FRAMEWORKS = frozenset({
    "torch", "tensorflow", "tf", "keras", "jax", "jaxlib", "flax", "haiku", "equinox", "optax", "paddle",
    "mxnet", "chainer", "cupy", "theano", "mindspore", "oneflow", "jittor", "tinygrad", "megengine", "nnabla",
    "caffe", "caffe2", "cntk", "lasagne", "sonnet", "trax", "dezero", "autograd", "pytorch_lightning",
    "lightning", "transformers", "minitorch", "mlx", "numba", "dask", "xarray", "pandas", "scipy", "sklearn",
})


def _dotted(node: Optional[cst.BaseExpression]) -> str:
    return cst.Module([]).code_for_node(node) if node is not None else ""


def _absolute_name(node: cst.ImportFrom, package: str) -> str:
    """The module an import names, relative imports resolved against `package` (as
    `_AbsoluteImports` writes them)."""
    module_text = _dotted(node.module)
    if not node.relative:
        return module_text
    parts = package.split(".") if package else []
    level = len(node.relative)
    base = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    return ".".join([*base, *([module_text] if module_text else [])])


def _ancestor_names(path: Path) -> set[str]:
    return {folder.name for folder in path.resolve().parents if folder.name}


def _local(node: cst.ImportFrom, name: str, path: Path) -> bool:
    """Whether a `from X import ...` names a module of the file's own project: a relative import,
    one whose first part is a folder the file lies in (`ml.activations.base` from
    `ml/activations/relu.py`), or a single name that is no framework (`from layer import Layer`)."""
    if node.relative:
        return True
    top = name.split(".")[0]
    if top in _ancestor_names(path):
        return True
    return "." not in name and top not in FRAMEWORKS


def _base_stubs(kept: list[cst.BaseStatement], package: str, path: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Top-level `from X import Base` of the file's own project whose names the kept code uses
    only as base classes (`class Softmax(Base):`): X with those names. The sandbox imports X as
    usual, and only when no module X is found at all (a file taken out of its project) does it
    stand in for X with empty classes of those names (`gradlint.runtime.worker.StubFinder`). The
    subclass's own methods then run unchanged; one that needed the base's behaviour raises
    (AttributeError) and its target is `unknown`. Nothing is stood in for a framework's module,
    a name used otherwise (called, isinstance, an attribute read), or a module found that fails
    inside."""
    uses: dict[str, int] = {}
    as_base: dict[str, int] = {}
    for statement in kept:
        for node in walk(statement):
            if isinstance(node, cst.Name):
                uses[node.value] = uses.get(node.value, 0) + 1
            elif isinstance(node, cst.ClassDef):
                for arg in node.bases:
                    if arg.keyword is None and isinstance(arg.value, cst.Name):
                        as_base[arg.value.value] = as_base.get(arg.value.value, 0) + 1
    stubs: dict[str, list[str]] = {}
    stars: list[str] = []
    for statement in kept:
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and isinstance(statement.body[0], cst.ImportFrom):
            node = statement.body[0]
            if isinstance(node.names, cst.ImportStar):
                name = _absolute_name(node, package)
                stars.append(name if name and _local(node, name, path) else "")
                continue
            found = _stub_names(node, package, path, uses, as_base)
            if found is not None:
                stubs.setdefault(found[0], []).extend(found[1])
    if len(stars) == 1 and stars[0]:
        # `from layer import *` then `class Softmax(Layer):`: the one star import is where a base
        # class that nothing else binds comes from
        import builtins

        bound: set[str] = set()
        for statement in kept:
            bound |= _bound_names(statement) or set()
        free = [n for n in as_base if uses.get(n) == as_base[n] and n not in bound and not hasattr(builtins, n)]
        if free:
            stubs.setdefault(stars[0], []).extend(free)
    return tuple((name, tuple(dict.fromkeys(names))) for name, names in stubs.items())


def _stub_names(node: cst.ImportFrom, package: str, path: Path, uses: dict[str, int], as_base: dict[str, int]) -> Optional[tuple[str, list[str]]]:
    """(X, the imported names) for `from X import A, B` when every name is used only as a base class."""
    if isinstance(node.names, cst.ImportStar):
        return None
    name = _absolute_name(node, package)
    if not name or not _local(node, name, path):
        return None
    imported = []
    for alias in node.names:
        if not isinstance(alias.name, cst.Name) or (alias.asname is not None and not isinstance(alias.asname.name, cst.Name)):
            return None
        local = alias.asname.name.value if alias.asname is not None else alias.name.value  # type: ignore[union-attr]
        # the binding's Name in the import itself, every other read a bare base class
        if as_base.get(local, 0) == 0 or uses.get(local, 0) != 1 + as_base[local]:
            return None
        imported.append(alias.name.value)
    return name, imported


def _project_roots(kept: list[cst.BaseStatement], package: str, path: Path) -> list[str]:
    """Folders the project's own imports resolve from when it is run from its root, beyond the
    file's folder and package root: for `import ml.activations.base` (anywhere in the kept code,
    function bodies too) in `<root>/ml/activations/relu.py`, the folder holding `ml`; for a
    relative import above a file with no `__init__.py` (`from ..GPU_np import np`), the folder
    it climbs to."""
    folder = path.resolve().parent
    ancestors = [folder, *folder.parents]
    roots: list[str] = []
    for statement in kept:
        for node in walk(statement):
            names: list[str] = []
            if isinstance(node, cst.Import):
                names = [_dotted(alias.name) for alias in node.names]
            elif isinstance(node, cst.ImportFrom) and not node.relative and node.module is not None:
                names = [_dotted(node.module)]
            elif isinstance(node, cst.ImportFrom) and node.relative and not package:
                level = len(node.relative)
                if 1 < level < len(ancestors):
                    roots.append(str(ancestors[level - 1]))
            for name in names:
                top = name.split(".")[0]
                for ancestor in ancestors:
                    if ancestor.name == top and ancestor.parent != ancestor:
                        roots.append(str(ancestor.parent))
                        break
    return roots
