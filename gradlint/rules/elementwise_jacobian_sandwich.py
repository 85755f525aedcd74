"""GL107 elementwise-jacobian-sandwich: `J.T * M * J` on numpy arrays, where a matrix product is meant."""

from __future__ import annotations

import re
from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.syntax import call_name, dotted_name, last_part
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid

# Calls that build a 2-D numpy array (the sandwich's outer factor must be one, by its binding).
_MATRIX_BUILDERS = frozenset({"eye", "identity", "hstack", "vstack", "column_stack", "block", "concatenate"})
_SHAPED_BUILDERS = frozenset({"zeros", "ones", "empty", "full"})
# np.matrix, whose `*` is the matrix product: a module that uses it is left alone.
_MATRIX_CLASS_CALLS = frozenset({"matrix", "mat", "asmatrix", "bmat"})


class ElementwiseJacobianSandwich(Rule):
    code = "GL107"
    name = "elementwise-jacobian-sandwich"
    severity = Severity.ERROR
    summary = "A Jacobian sandwich J^T M J is written with `*` on numpy arrays: an elementwise product, not the matrix product."
    what_it_does = """
        Finds `A.T * M * A` (or `A * M * A.T`, `A.transpose()`, `np.transpose(A)`) where `A` is a 2-D
        numpy array by its binding in the function or module (`np.eye`, `np.identity`, `np.hstack`,
        `np.vstack`, `np.zeros((n, m))`, `np.array([[...], [...]])`, or a sum with one): the sandwich
        that carries a matrix through a Jacobian (an EKF's covariance `G P G^T`, a motion Jacobian
        `I + Fx^T jF Fx`, a Gauss-Newton `J^T W J`). Silent in a module that uses `np.matrix`
        (`np.matrix`, `np.mat`, `np.asmatrix`, `np.bmat`, `.I`), whose `*` is the matrix product: the
        code this shape is usually ported from.
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
                J[:, 0] = 1.0
                H = np.transpose(J) * np.eye(r.size) * J
                return np.linalg.solve(H, -J.T @ r)
            """,
            line=6,
            count=2,
            why="a Kalman filter's F P F^T, and a Gauss-Newton J^T W J through np.transpose",
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
            first, middle, last = inner.left, inner.right, outer.right
            base = _sandwiched(analysis.module, first, last)
            if base is None:
                continue
            function = index.function_containing(outer)
            if not _two_dimensional(analysis, function, base):
                continue
            code = analysis.code_for(outer)
            yield Finding(
                outer,
                f"`{code}` multiplies entry by entry: `{base}` is a 2-D numpy array, and on arrays `*` is not the "
                f"matrix product, so this sandwich of `{analysis.code_for(middle)}` between `{base}` and its "
                f"transpose keeps matching entries only (the off-diagonal terms are lost); write it with `@`",
            )


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


def _two_dimensional(analysis: ModuleAnalysis, function: Optional[cst.FunctionDef], name: str) -> bool:
    """Every assignment of `name` in the function (or, with none there and no parameter of that name, the
    module) builds a 2-D array."""
    if function is not None and any(
        param.name.value == name for param in (*function.params.params, *function.params.kwonly_params, *function.params.posonly_params)
    ):
        scopes: tuple[Optional[cst.FunctionDef], ...] = (function,)
    else:
        scopes = (function, None) if function is not None else (None,)
    for scope in scopes:
        values = [
            assign.value for assign in analysis.index.nodes_in(scope, cst.Assign)
            if any(dotted_name(target.target) == name for target in assign.targets)
        ]
        if values:
            return all(_builds_matrix(value) for value in values)
    return False


def _builds_matrix(value: cst.BaseExpression) -> bool:
    """A numpy call building a 2-D array, or a sum or difference with one (`np.eye(3) + Fx.T * jF * Fx`)."""
    if type(value) is cst.BinaryOperation and type(value.operator) in (cst.Add, cst.Subtract):
        return _builds_matrix(value.left) or _builds_matrix(value.right)
    if type(value) is not cst.Call:
        return False
    name = call_name(value) or ""
    head, _, tail = name.rpartition(".")
    if head not in ("np", "numpy"):
        return False
    if tail in _MATRIX_BUILDERS:
        return True
    arguments = [argument.value for argument in value.args if argument.keyword is None]
    if tail in _SHAPED_BUILDERS:
        return bool(arguments) and type(arguments[0]) is cst.Tuple and len(arguments[0].elements) == 2
    if tail == "array":
        return bool(arguments) and type(arguments[0]) is cst.List and len(arguments[0].elements) >= 2 and all(
            type(element.value) is cst.List and len(element.value.elements) >= 2 for element in arguments[0].elements
        )
    return False


def _uses_matrix_class(analysis: ModuleAnalysis) -> bool:
    """The module builds `np.matrix` objects (or reads their `.I`), whose `*` is the matrix product."""
    index = analysis.index
    for call in index.nodes(cst.Call):
        if last_part(call_name(call)) in _MATRIX_CLASS_CALLS:
            return True
    return any(node.attr.value == "I" for node in index.nodes(cst.Attribute))
