"""GL107 elementwise-jacobian-sandwich: `J.T * M * J` on numpy arrays, where a matrix product is meant."""

from __future__ import annotations

import re
from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.syntax import assigned_targets, call_name, dotted_name, last_part, literal_number, unpacked_targets
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid

# Calls that build a 2-D numpy array (the sandwich's outer factor must be one, by its binding).
_MATRIX_BUILDERS = frozenset({"eye", "identity", "hstack", "vstack", "column_stack", "block", "concatenate"})
_SHAPED_BUILDERS = frozenset({"zeros", "ones", "empty", "full"})
# np.matrix, whose `*` is the matrix product: a module that uses it is left alone.
_MATRIX_CLASS_CALLS = frozenset({"matrix", "mat", "asmatrix", "bmat", "todense"})
_MATRIX_CLASS_NAMES = _MATRIX_CLASS_CALLS | {"matlib", "I"}


class ElementwiseJacobianSandwich(Rule):
    code = "GL107"
    name = "elementwise-jacobian-sandwich"
    severity = Severity.ERROR
    summary = "A Jacobian sandwich J^T M J is written with `*` on numpy arrays: an elementwise product, not the matrix product."
    what_it_does = """
        Finds `A.T * M * A` (or `A * M * A.T`, `A.transpose()`, `np.transpose(A)`) where `A` is a 2-D
        numpy array by its bindings in the function, its class (`self.F = np.eye(4)` in `__init__`) or the
        module (`np.eye`, `np.identity`, `np.hstack`, `np.vstack`, `np.zeros((n, m))`, `np.array([[...],
        [...]])`, or a sum with one; no dimension of 1: a column's sandwich `s * C * s.T` is an
        outer-product broadcast; not a 0/1 mask, nor a name also bound otherwise): the sandwich
        that carries a matrix through a Jacobian (an EKF's covariance `G P G^T`, a motion Jacobian
        `I + Fx^T jF Fx`, a Gauss-Newton `J^T W J`). Silent in a module that may hold `np.matrix` objects
        (`np.matrix`, `np.mat`, `np.asmatrix`, `np.bmat`, a sparse matrix's `todense()`, `numpy.matlib`,
        `.I`), whose `*` is the matrix product: the code this shape is usually ported from.
        """
    why_bad = """
        On numpy arrays `*` multiplies entry by entry and broadcasts, so `A.T * M * A` keeps
        A_ji M_ij A_ij instead of sum_kl A_ki M_kl A_lj: with an identity-like `A` it is `M`'s diagonal,
        with a rectangular one a shape error or a silently broadcast array. The off-diagonal
        covariances (the coupling between a robot's heading and position, between landmarks) are lost,
        and the filter runs on without error. PythonRobotics' EKF-SLAM shipped this line after moving
        from `np.matrix` to `np.ndarray` ("changing elementwise multiplication to matrix multiplication").
        """
    example = """
        G = np.eye(3) + Fx.T * jF * Fx
        P = G.T * P * G + Fx.T * Q * Fx
        """
    use_instead = """
        G = np.eye(3) + Fx.T @ jF @ Fx
        P = G.T @ P @ G + Fx.T @ Q @ Fx
        """
    references = (
        "numpy for MATLAB users (`*` vs `@`): https://numpy.org/doc/stable/user/numpy-for-matlab-users.html",
        "PythonRobotics PR 258, EKF-SLAM's elementwise products: https://github.com/AtsushiSakai/PythonRobotics/pull/258",
    )

    INVALID = (
        Invalid(
            """
            import numpy as np

            STATE_SIZE = 3

            def jacob_motion(x, u, dt=0.1):
                Fx = np.hstack((np.identity(STATE_SIZE), np.zeros((STATE_SIZE, 0))))
                jF = np.array([[0, 0, -dt * u[0] * np.sin(x[2, 0])],
                               [0, 0, dt * u[0] * np.cos(x[2, 0])],
                               [0, 0, 0]])
                G = np.eye(STATE_SIZE) + Fx.transpose() * jF * Fx
                return G, Fx
            """,
            line=10,
            message="`Fx.transpose() * jF * Fx` multiplies entry by entry",
            why="real code (an np.ndarray port of PythonRobotics' EKF-SLAM, 8 copies in the code index; review 6, "
            "rw6a miss/02): the motion Jacobian's sandwich written with `*`",
        ),
        Invalid(
            """
            import numpy as np

            def predict(P, Q, dt):
                F = np.eye(4)
                F[0, 2] = F[1, 3] = dt
                return F * P * F.T + Q

            def gauss_newton_step(r, x):
                J = np.zeros((r.size, x.size))
                J[:, 0] = -x[0] * r
                H = np.transpose(J) * np.eye(r.size) * J
                return np.linalg.solve(H, -J.T @ r)
            """,
            line=6,
            count=2,
            why="a Kalman filter's F P F^T, and a Gauss-Newton J^T W J through np.transpose",
        ),
        Invalid(
            """
            import numpy as np

            class KalmanFilter:
                def __init__(self, dt):
                    self.F = np.eye(4)
                    self.F[0, 2] = self.F[1, 3] = dt
                    self.P = np.eye(4)

                def predict(self, Q):
                    self.P = self.F * self.P * self.F.T + Q

            def smoothed(P, n):
                F = np.zeros(shape=[n, n])
                F[0, 1] = 0.1
                return 0.5 * F * P * F.T
            """,
            line=10,
            count=2,
            why="the adversarial review (rev13c miss/01, miss/03, miss/05): a Kalman filter's F kept on `self`, built "
            "in __init__; a leading scalar, a shape keyword given as a list",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def jacob_motion(x, u, dt=0.1):
                Fx = np.hstack((np.eye(3), np.zeros((3, 0))))
                jF = np.array([[0, 0, -dt * u[0] * np.sin(x[2, 0])],
                               [0, 0, dt * u[0] * np.cos(x[2, 0])],
                               [0, 0, 0]])
                G = np.eye(3) + Fx.T @ jF @ Fx
                return G, Fx

            def scaled(d, M):
                return d[:, None] * M * d[None, :]

            def unknown(A, M):
                return A.T * M * A
            """,
            why="the matrix products written with `@`; a diagonal scaling written with explicit broadcasting; "
            "arrays the code gives no shape to (parameters)",
        ),
        Valid(
            """
            import numpy as np

            def jacob_motion(x, u, dt=0.1):
                Fx = np.hstack((np.eye(3), np.zeros((3, 0))))
                jF = np.matrix([[0, 0, -dt * u[0] * np.sin(x[2, 0])],
                                [0, 0, dt * u[0] * np.cos(x[2, 0])],
                                [0, 0, 0]])
                G = np.eye(3) + Fx.T * jF * Fx
                return G, Fx
            """,
            why="PythonRobotics before its port: np.matrix, whose `*` is the matrix product",
        ),
        Valid(
            """
            import numpy as np
            from scipy import sparse

            def scaled(C, n):
                s = np.zeros((n, 1))
                r = np.ones((1, n))
                return s * C * s.T + r.T * C * r

            def mutual_knn(W, n, neighbours):
                knn = np.zeros((n, n))
                for i, j in neighbours:
                    knn[i, j] = 1
                return knn * W * knn.T

            def mutual_knn_hex(W, neighbours):
                knn = np.zeros((0x8, 0x8))
                for i, j in neighbours:
                    knn[i, j] = 0x1
                return knn * W * knn.T

            def reduced(K, n):
                T = sparse.eye(n).todense()
                return T.T * K * T

            A = np.eye(3)

            def shadowed(M, arrays):
                for A in arrays:
                    M = A.T * M * A
                return M
            """,
            why="the adversarial review (rev13c): a column or row's sandwich (an outer-product broadcast, "
            "diag(s) C diag(s)); a 0/1 mask (also written in hex: literals are read as Python reads them); "
            "np.matrix from a sparse matrix's todense(); a name the function "
            "binds as a loop variable",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        index = analysis.index
        if _uses_matrix_class(analysis):
            return
        for outer in index.nodes(cst.BinaryOperation):
            if type(outer.operator) is not cst.Multiply:
                continue
            inner = outer.left
            if type(inner) is not cst.BinaryOperation or type(inner.operator) is not cst.Multiply:
                continue
            first, middle, last = _unscaled(inner.left), inner.right, outer.right
            base = _sandwiched(analysis.module, first, last)
            if base is None:
                continue
            if not _two_dimensional(analysis, outer, base):
                continue
            code = analysis.code_for(outer)
            yield Finding(
                outer,
                f"`{code}` multiplies entry by entry: `{base}` is a 2-D numpy array, and on arrays `*` is not the "
                f"matrix product, so this sandwich of `{analysis.code_for(middle)}` between `{base}` and its "
                f"transpose keeps matching entries only (the off-diagonal terms are lost); write it with `@`",
            )


def _unscaled(factor: cst.BaseExpression) -> cst.BaseExpression:
    """`F` of `0.5 * F` (a leading number, `0.5 * F * P * F.T`); the factor itself otherwise."""
    if type(factor) is cst.BinaryOperation and type(factor.operator) is cst.Multiply and not factor.lpar:
        if type(factor.left) in (cst.Integer, cst.Float):
            return factor.right
    return factor


def _sandwiched(module: cst.Module, first: cst.BaseExpression, last: cst.BaseExpression) -> Optional[str]:
    """The name `A` when one side is `A` and the other its transpose (`A.T`, `A.transpose()`, `np.transpose(A)`)."""
    for plain, transposed in ((first, last), (last, first)):
        name = dotted_name(plain)
        if name is not None and _transposed_of(module, transposed) == name:
            return name
    return None


# A transposed factor as written (what the pre-check reads): `A.T`, `A.transpose()`, `np.transpose(A)`.
_TRANSPOSED = re.compile(r"[A-Za-z_][\w.]*\.T|[A-Za-z_][\w.]*\.transpose\(\)|(?:np|numpy)\.transpose\([A-Za-z_][\w.]*\)")


def _transposed_of(module: cst.Module, node: cst.BaseExpression) -> Optional[str]:
    if not _TRANSPOSED.fullmatch(module.code_for_node(node)):
        return None
    if type(node) is cst.Attribute and node.attr.value == "T":
        return dotted_name(node.value)
    if type(node) is cst.Call and not node.args and type(node.func) is cst.Attribute and node.func.attr.value == "transpose":
        return dotted_name(node.func.value)
    if type(node) is cst.Call and last_part(call_name(node)) == "transpose" and len(node.args) == 1:
        return dotted_name(node.args[0].value)
    return None


def _two_dimensional(analysis: ModuleAnalysis, node: cst.CSTNode, name: str) -> bool:
    """`name`, read at `node`, holds a 2-D numpy array by its bindings: every binding of it in the innermost
    function that binds it (or, for `self.F`, in its class's methods; else the module) is a plain
    assignment of a numpy builder, and no enclosing function or lambda takes it as a parameter. A binding
    of another kind (a loop variable, an unpacking, an annotated or augmented assignment) makes it unknown,
    and so does an array only ever filled with 0 and 1 (a mask: `knn[i, j] = 1`)."""
    index = analysis.index
    function: Optional[cst.CSTNode] = None
    for ancestor in index.ancestors(node):
        if type(ancestor) in (cst.FunctionDef, cst.Lambda):
            params = ancestor.params  # type: ignore[attr-defined]
            if any(param.name.value == name for param in (*params.params, *params.kwonly_params, *params.posonly_params)):
                return False
            if type(ancestor) is cst.FunctionDef and function is None:
                function = ancestor
    scopes: list[Optional[cst.FunctionDef]] = []
    if name.startswith("self.") and name.count(".") == 1 and function is not None:
        cls = index.class_of(function)  # type: ignore[arg-type]
        scopes = list(index.methods(cls).values()) if cls is not None else []
    else:
        for ancestor in [function, *(a for a in index.ancestors(function) if type(a) is cst.FunctionDef)] if function else []:
            if _binds(analysis, ancestor, name):
                scopes = [ancestor]
                break
        else:
            scopes = [None]
    values: list[cst.BaseExpression] = []
    for scope in scopes:
        if any(type(statement) is not cst.Assign and name in _bound_names(statement) for statement in _binding_statements(analysis, scope)):
            return False
        for assign in index.nodes_in(scope, cst.Assign):
            for target in assign.targets:
                if dotted_name(target.target) == name:
                    values.append(assign.value)
                elif name in _bound_names(target.target):
                    return False  # `F, H = ...`: unpacked
    if not values or not all(_builds_matrix(value) for value in values):
        return False
    return not _only_zeros_and_ones(analysis, scopes, name)


def _binds(analysis: ModuleAnalysis, function: cst.CSTNode, name: str) -> bool:
    """The function assigns `name` (any kind of assignment)."""
    return any(name in _bound_names(statement) for statement in _binding_statements(analysis, function))  # type: ignore[arg-type]


def _binding_statements(analysis: ModuleAnalysis, scope: Optional[cst.FunctionDef]) -> Iterator[cst.CSTNode]:
    """The statements of `scope` (None: the module) that bind names: assignments of every kind, loops."""
    for kind in (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.For):
        yield from analysis.index.nodes_in(scope, kind)


def _bound_names(node: cst.CSTNode) -> set[str]:
    """The dotted names a statement (or a target) binds."""
    if type(node) is cst.For:
        targets = unpacked_targets([node.target])
    elif type(node) in (cst.Assign, cst.AnnAssign, cst.AugAssign):
        targets = unpacked_targets(assigned_targets(node))  # type: ignore[arg-type]
    else:
        targets = unpacked_targets([node])  # type: ignore[list-item]
    return {name for target in targets if (name := dotted_name(target)) is not None}


def _only_zeros_and_ones(analysis: ModuleAnalysis, scopes: list[Optional[cst.FunctionDef]], name: str) -> bool:
    """Every element stored into `name` is a literal 0 or 1 (or True/False), and there is one: a mask."""
    stored = []
    for scope in scopes:
        for assign in analysis.index.nodes_in(scope, cst.Assign):
            for target in assign.targets:
                base = target.target
                while type(base) is cst.Subscript:
                    base = base.value
                if type(target.target) is cst.Subscript and dotted_name(base) == name:
                    stored.append(assign.value)
    return bool(stored) and all(
        (type(value) is cst.Name and value.value in ("True", "False")) or literal_number(value) in (0, 1)
        for value in stored
    )


def _builds_matrix(value: cst.BaseExpression) -> bool:
    """A numpy call building a 2-D array with no dimension of 1 (`np.zeros((n, 1))` is a column, whose
    sandwich is an outer-product broadcast, `d * C * d.T`), or a sum or difference with one
    (`np.eye(3) + Fx.T * jF * Fx`)."""
    if type(value) is cst.BinaryOperation and type(value.operator) in (cst.Add, cst.Subtract):
        return _builds_matrix(value.left) or _builds_matrix(value.right)
    if type(value) is not cst.Call:
        return False
    name = call_name(value) or ""
    head, _, tail = name.rpartition(".")
    if head not in ("np", "numpy"):
        return False
    arguments = [argument.value for argument in value.args if argument.keyword is None]
    arguments += [argument.value for argument in value.args if argument.keyword is not None and argument.keyword.value == "shape"]
    if tail in _MATRIX_BUILDERS:
        return tail not in ("eye", "identity") or not arguments or not _is_one(arguments[0])
    if tail in _SHAPED_BUILDERS:
        shape = arguments[0] if arguments else None
        return type(shape) in (cst.Tuple, cst.List) and len(shape.elements) == 2 and not any(  # type: ignore[union-attr]
            _is_one(element.value) for element in shape.elements  # type: ignore[union-attr]
        )
    if tail in ("array", "asarray"):
        rows = arguments[0] if arguments else None
        return type(rows) in (cst.List, cst.Tuple) and len(rows.elements) >= 2 and all(  # type: ignore[union-attr]
            type(element.value) in (cst.List, cst.Tuple) and len(element.value.elements) >= 2 for element in rows.elements  # type: ignore[union-attr]
        )
    return False


def _is_one(node: cst.BaseExpression) -> bool:
    return literal_number(node) == 1


def _uses_matrix_class(analysis: ModuleAnalysis) -> bool:
    """The module may hold `np.matrix` objects, whose `*` is the matrix product: it calls or names `matrix`,
    `mat`, `asmatrix`, `bmat`, `todense` (a sparse matrix's dense form is one) or `numpy.matlib`, imports one
    of them, or reads `.I`."""
    index = analysis.index
    for call in index.nodes(cst.Call):
        if last_part(call_name(call)) in _MATRIX_CLASS_CALLS:
            return True
    if any(node.attr.value in _MATRIX_CLASS_NAMES for node in index.nodes(cst.Attribute)):
        return True
    for statement in index.nodes(cst.ImportFrom):
        module = dotted_name(statement.module) if statement.module is not None else ""
        if "matlib" in (module or ""):
            return True
        if not isinstance(statement.names, cst.ImportStar) and any(
            alias.name.value in _MATRIX_CLASS_NAMES for alias in statement.names if type(alias.name) is cst.Name
        ):
            return True
    return any(
        "matlib" in (dotted_name(alias.name) or "") for statement in index.nodes(cst.Import) for alias in statement.names
    )
