"""GL103 malformed-softmax-jacobian: a Jacobian-shaped formula wrong in its syntax."""

from __future__ import annotations

import re
from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.algebra import expand, logistic_form
from gradlint.analysis.jacobians import (
    JacobianPart,
    Layout,
    Part,
    classify,
    is_eye,
    layout,
    resolve,
    scope_for,
    signed_terms,
    whole_vector_softmax,
)
from gradlint.analysis.syntax import block_items, call_name, last_part, literal_number, subscript_base
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid

_CHAIN = (cst.Add, cst.Subtract)


class MalformedSoftmaxJacobian(Rule):
    code = "GL103"
    name = "malformed-softmax-jacobian"
    severity = Severity.ERROR
    summary = "The softmax Jacobian diag(s) - s s^T is written with a term that has the wrong sign, shape or index."
    what_it_does = """
        Reads Jacobian-shaped formulas built from one vector `s` (a diagonal `np.diag(s)`,
        `np.diagflat(s)`, `np.eye(n) * s`, an einsum with the identity; an outer product
        `np.outer(s, s)`, `s_col @ s_col.T`, `s[:, None] * s[None, :]`, `einsum('bi,bj->bij')`)
        and reports the mistakes visible in the syntax:

        - the outer product is added instead of subtracted (`np.diag(s) + np.outer(s, s)`);
        - `np.dot(s, s.T)` / `s @ s.T` where `s` is 1-D: the transpose of a 1-D array is the
          array itself, so this is the scalar sum of s_i^2, not an outer product. The code must
          say that `s` is 1-D: `.ravel()`/`.flatten()`, a row of a batch taken by a loop or by
          `[0]` from a (1, n) array (`self._fwd(x.reshape(1, -1))[0]`), `np.diag`
          (which builds a matrix only from a 1-D array), or `s = softmax(x)` with a softmax that
          normalises by a sum over the whole array (`e / e.sum()`, no axis) in a module with no
          column-vector idiom (`reshape(-1, 1)`, `[:, None]`, `axis=0`, `zeros((n, 1))`), where
          a softmax of a column would be a column;
        - `np.diag` of a column (it extracts a diagonal instead of building one);
        - the elementwise `s*s` subtracted instead of the outer product;
        - `np.diag(s*(1-s)) - np.outer(s, s)`: the diagonal's -s_i^2 counted twice;
        - `M * (I - M)` with the same `M` on both sides (entry (i, j) is M_ij(δ_ij - M_ij),
          so the off-diagonal is -s_j^2 instead of -s_i s_j);
        - in an `if i == j: ... else: ...` loop, an off-diagonal entry `+s[i]*s[j]` or
          `-s[i]*s[i]`;
        - in a loop, an entry written with a conditional that binds looser than the author meant:
          `J[i, j] = s[i] * (1 if i == j else 0 - s[j])` is `s[i] * (1 if i == j else (0 - s[j]))`,
          so the diagonal is s_i (also `0 - s[j] if i != j else 1`).
        """
    why_bad = """
        The softmax Jacobian is J_ij = s_i(δ_ij - s_j): `diag(s) - s s^T`. Each of these
        spellings produces an array of the right shape whose entries are wrong, so nothing
        crashes: the gradient is silently wrong and training degrades or diverges.
        """
    example = """
        def softmax_jacobian(s):          # s: 1-D softmax output
            return np.diagflat(s) - np.dot(s, s.T)   # s.T is s: subtracts the scalar |s|^2
        """
    use_instead = """
        def softmax_jacobian(s):
            return np.diag(s) - np.outer(s, s)
        """
    references = (
        "Softmax derivative: https://en.wikipedia.org/wiki/Softmax_function#Properties",
        "numpy: the transpose of a 1-D array is itself: https://numpy.org/doc/stable/reference/generated/numpy.ndarray.T.html",
        "np.diag of a 2-D array extracts its diagonal: https://numpy.org/doc/stable/reference/generated/numpy.diag.html",
    )

    INVALID = (
        Invalid(
            """
            import numpy as np

            class softmax:
                def forward(self, input):
                    return np.exp(input) / np.sum(np.exp(input))

                def backward(self, input):
                    forward = np.exp(input) / np.sum(np.exp(input))
                    out = np.zeros((len(input), len(input)))
                    for i in range(len(input)):
                        for j in range(len(input)):
                            out[i, j] = forward[i] * (1 if i == j else 0 - forward[j])
                    return out

            def jacobian(s):
                n = len(s)
                J = np.zeros((n, n))
                for a in range(n):
                    for b in range(n):
                        J[a][b] = s[a] * (0.0 - s[b] if a != b else 1.0)
                return J
            """,
            line=12,
            count=2,
            message="a conditional binds looser than `-`",
            why="seanmabli/aiinpy softmax.py: `1 if i == j else 0 - forward[j]` is `1 if i == j else (0 - forward[j])`, "
            "so the diagonal is s_i; and the same slip with the test written `!=`",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_jacobian(s):
                return np.diag(s) + np.outer(s, s)
            """,
            line=4,
            message="adds the outer product",
            why="free function: the outer product added",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_grad(probs):
                return np.diag(probs) - np.dot(probs, probs.T)
            """,
            line=4,
            message="is the scalar sum of s_i^2",
            why="np.diag needs a 1-D vector, and then probs.T is probs",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - np.max(x, axis=1, keepdims=True))
                    self.output = e / np.sum(e, axis=1, keepdims=True)
                    return self.output

                def backward(self, dvalues):
                    self.dinputs = np.empty_like(dvalues)
                    for index, (single_output, single_dvalues) in enumerate(zip(self.output, dvalues)):
                        jacobian = np.diagflat(single_output) - np.dot(single_output, single_output.T)
                        self.dinputs[index] = np.dot(jacobian, single_dvalues)
                    return self.dinputs
            """,
            line=12,
            message="`single_output` is 1-D",
            why="layer class: rows of a batch are 1-D, the reshape(-1, 1) was forgotten",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_backward(s, grad):
                n = s.shape[-1]
                identity = np.eye(n)
                jac = np.einsum('bi,ij->bij', s, identity) + np.einsum('bi,bj->bij', s, s)
                return np.einsum('bij,bj->bi', jac, grad)
            """,
            line=6,
            message="adds the outer product",
            why="batched einsum: the outer product added",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_jacobian(s):
                n = len(s)
                M = np.tile(s, (n, 1))
                return M * (np.eye(n) - M)
            """,
            line=6,
            message="indexes both factors the same way",
            why="M*(I-M) with M = tile(s): -s_j^2 off the diagonal",
        ),
        Invalid(
            """
            import numpy as np

            def d_softmax(a):                 # column layout: a has shape (n, 1)
                a = a.reshape(-1, 1)
                return np.diagflat(a) - a.T @ a
            """,
            line=5,
            message="column `a`",
            why="column layout: a.T @ a is the 1x1 inner product",
        ),
        Invalid(
            """
            def softmax_jacobian(s):
                n = len(s)
                J = [[0.0] * n for _ in range(n)]
                for i in range(n):
                    for j in range(n):
                        if i == j:
                            J[i][j] = s[i] * (1 - s[i])
                        else:
                            J[i][j] = s[i] * s[j]
                return J
            """,
            line=9,
            message="+s_i*s_j",
            why="element loop: the off-diagonal sign lost",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_jacobian(s):
                J = np.zeros((len(s), len(s)))
                for i in range(len(s)):
                    for j in range(len(s)):
                        if i != j:
                            J[i, j] = -s[i] * s[i]
                        else:
                            J[i, j] = s[i] - s[i] ** 2
                return J
            """,
            line=8,
            message="by itself",
            why="element loop: both factors indexed by i",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_jacobian(s):
                J = np.diag(s)
                J += np.outer(s, s)
                return J
            """,
            line=5,
            message="adds the outer product",
            why="in-place update of a diagonal initialiser",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_jacobian(s):
                return np.diag(s * (1 - s)) - np.outer(s, s)
            """,
            line=4,
            message="counted twice",
            why="the diagonal already holds -s_i^2",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_jacobian(s):
                return np.diag(s) - s * s
            """,
            line=4,
            message="elementwise `s * s`",
            why="elementwise square instead of the outer product",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_jacobian(s):
                col = s.reshape(-1, 1)
                return np.diag(col) - col @ col.T
            """,
            line=5,
            message="np.diag of a column",
            why="np.diag of a column extracts one element",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x))
                return e / e.sum()

            def softmax_grad(x):
                s = softmax(x)
                return np.diagflat(s) - s @ s.T
            """,
            line=9,
            message="a softmax normalised by the whole-array sum `e.sum()`",
            why="the catalog's example: a 1-D softmax (normalised by a sum with no axis), then s @ s.T",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x, axis=-1, keepdims=True))
                return e / e.sum(axis=-1, keepdims=True)

            def softmax_grad(x):
                s = softmax(x.reshape(1, -1)).ravel()
                return np.diagflat(s) - s @ s.T
            """,
            line=9,
            message="`s` is 1-D (`s = softmax(x.reshape(1, -1)).ravel()`)",
            why="a row raveled to 1-D before s @ s.T",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, X):
                    self.X = X
                    return self._fwd(X)

                def _fwd(self, X):
                    e_X = np.exp(X - np.max(X, axis=-1, keepdims=True))
                    return e_X / e_X.sum(axis=-1, keepdims=True)

                def backward(self, dLdy):
                    dX = []
                    for dyi, xi in zip(*np.atleast_2d(dLdy, self.X)):
                        yi = self._fwd(xi.reshape(1, -1))[0]
                        dX.append(dyi @ (np.diagflat(yi) - yi @ yi.T))
                    return np.array(dX).reshape(self.X.shape)
            """,
            line=16,
            message="`yi` is 1-D (`yi = self._fwd(xi.reshape(1, -1))[0]`)",
            why="numpy-ml style: the one row of the forward of a (1, n) row is 1-D",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def jacobian(s):
                n = len(s)
                J = np.zeros((n, n))
                I = np.zeros((n, n))
                for i in range(n):
                    for j in range(n):
                        J[i, j] = s[i] * ((1 if i == j else 0) - s[j])
                        I[i, j] = 1 if i == j else 0
                return J, I

            def jacobian_branches(s):
                n = len(s)
                J = np.zeros((n, n))
                for i in range(n):
                    for j in range(n):
                        J[i, j] = s[i] * (1 - s[i]) if i == j else -s[i] * s[j]
                return J

            def scaled(s, k):
                return [s[i] * (1 if i == k else 0 - s[k]) for i in range(len(s))]
            """,
            why="near misses of the precedence slip: the conditional parenthesised, an identity matrix, the diagonal "
            "and off-diagonal written as whole branches, and a conditional that does not fill a matrix entry",
        ),
        Valid(
            """
            import numpy as np

            class Softmax:
                def forward(self, X):
                    self.X = X
                    return self._fwd(X)

                def _fwd(self, X):
                    e_X = np.exp(X - np.max(X, axis=-1, keepdims=True))
                    return e_X / e_X.sum(axis=-1, keepdims=True)

                def backward(self, dLdy):
                    dX = []
                    for dyi, xi in zip(*np.atleast_2d(dLdy, self.X)):
                        yi = self._fwd(xi.reshape(1, -1)).reshape(-1, 1)
                        dX.append(dyi @ (np.diagflat(yi) - yi @ yi.T))
                    return np.array(dX).reshape(self.X.shape)
            """,
            why="numpy-ml's Softmax._bwd as written: the output reshaped to a column",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z))
                return e / np.sum(e)

            def softmax_grad(z):
                s = softmax(z)
                return np.diagflat(s) - s @ s.T

            def init(n_in, n_out):
                return np.random.randn(n_out, n_in), np.zeros((n_out, 1))
            """,
            why="column-vector code (biases (n, 1)): a whole-sum softmax of a column is a column, s @ s.T its outer product",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z))
                return e / np.sum(e)

            def softmax_grad(x):
                s = softmax(x.reshape(-1, 1))
                return np.diagflat(s) - s @ s.T
            """,
            why="the softmax of a column (reshape(-1, 1)) is a column",
        ),
        Valid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x))
                return e / e.sum()

            def softmax_grad(x):
                s = softmax(x).reshape(-1, 1)
                return np.diagflat(s) - s @ s.T
            """,
            why="the 1-D softmax output reshaped to a column before s @ s.T (the correct twin)",
        ),
        Valid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x, axis=1, keepdims=True))
                return e / np.sum(e, axis=1, keepdims=True)

            def row_jacobian(x):
                s = softmax(x)
                return np.diagflat(s) - s @ s.T
            """,
            why="a batched softmax (axis=1, keepdims=True): the layout of its output is not 1-D evidence",
        ),
        Valid(
            """
            import numpy as np

            def softmax_grad(s):
                s = s.reshape(-1, 1)
                return np.diagflat(s) - np.dot(s, s.T)
            """,
            why="trap: reshaped to a column before diagflat(s) - s @ s.T",
        ),
        Valid(
            """
            import numpy as np

            def softmax_jacobian(s):
                return np.diag(s) - np.outer(s, s)
            """,
            why="trap: explicit np.outer",
        ),
        Valid(
            """
            import numpy as np

            def softmax_backward(s, grad):
                eye = np.eye(s.shape[1])
                jac = np.einsum('bi,ij->bij', s, eye) - np.einsum('bi,bj->bij', s, s)
                return np.einsum('bij,bj->bi', jac, grad)
            """,
            why="trap: einsum('bi,bj->bij') subtracted from a diagonal",
        ),
        Valid(
            """
            import numpy as np

            def jac(s):
                n = s.shape[0]
                return s[:, None] * (np.eye(n) - s[None, :])
            """,
            why="column times (I - row): s_i(δ_ij - s_j)",
        ),
        Valid(
            """
            import numpy as np

            def jac(s):
                n = len(s)
                M = np.tile(s, (n, 1))
                return M.T * (np.eye(n) - M)
            """,
            why="one factor transposed",
        ),
        Valid(
            """
            import numpy as np

            def softmax_grad(s):
                return np.diagflat(s) - np.dot(s, s.T)
            """,
            why="the layout of s is unknown: correct when the caller passes a column",
        ),
        Valid(
            """
            import numpy as np

            def jac(s):
                return np.diagflat(s) - s @ s.T

            out = jac(np.array([[0.2], [0.8]]))
            """,
            why="unknown layout of the parameter (a column here)",
        ),
        Valid(
            """
            import numpy as np

            def jac(s):
                s = np.atleast_2d(s)
                return np.diagflat(s) - s.T @ s
            """,
            why="row layout: s.T @ s is the outer product",
        ),
        Valid(
            """
            import numpy as np

            def jac(s):
                J = -np.outer(s, s)
                np.fill_diagonal(J, s * (1 - s))
                return J
            """,
            why="s*(1-s) written onto the diagonal of the full Jacobian",
        ),
        Valid(
            """
            import numpy as np

            def dirichlet_cov(a, a0):
                return (np.diag(a) - np.outer(a, a)) / (a0 + 1)
            """,
            why="the same structure, correct sign",
        ),
        Valid(
            """
            import numpy as np

            def jac(s):
                J = np.diag(s)
                J -= np.outer(s, s)
                return J
            """,
            why="in-place subtraction",
        ),
        Valid(
            """
            import numpy as np

            def jac(s):
                n = len(s)
                return (np.eye(n) - s.reshape(1, -1)) * s.reshape(-1, 1)
            """,
            why="(I - row) * column",
        ),
        Valid(
            """
            def jac(s):
                n = len(s)
                J = [[0.0] * n for _ in range(n)]
                for i in range(n):
                    for j in range(n):
                        if i == j:
                            J[i][j] = s[i] * (1 - s[j])
                        else:
                            J[i][j] = -s[i] * s[j]
                return J
            """,
            why="correct element loop (s[i]*(1-s[j]) on the diagonal is s_i(1-s_i))",
        ),
        Valid(
            """
            import numpy as np

            def rank_one_update(d, u):
                return np.diag(d) + np.outer(u, u)
            """,
            why="a diagonal plus a rank-one term of a different vector",
        ),
        Valid(
            """
            import numpy as np

            def squared_norm(x):
                return np.dot(x, x.T)
            """,
            why="a scalar product outside any Jacobian",
        ),
        Valid(
            """
            import numpy as np

            def jac(s):
                s = s.reshape(-1, 1)
                J = np.diagflat(s)
                J -= s @ s.T
                return J
            """,
            why="column layout, in-place",
        ),
        Valid(
            """
            import numpy as np

            def jac_batch(s):
                return s[:, :, None] * np.eye(s.shape[1]) - s[:, :, None] * s[:, None, :]
            """,
            why="batched broadcast diagonal minus batched outer product",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        index = analysis.index
        for operation in index.nodes(cst.BinaryOperation):
            if isinstance(operation.operator, _CHAIN) and not _inside_chain(analysis, operation):
                root = _chain_root(analysis, operation)
                terms = signed_terms(root)
                if len(terms) == 2 and _mentions_diagonal(terms):
                    parts = [classify(analysis, term, sign) for sign, term in terms]
                    yield from self._check_sum(analysis, root, parts)
            elif type(operation.operator) is cst.Multiply:
                yield from self._check_same_factor(analysis, operation, operation.left, operation.right)
        for call in index.nodes(cst.Call):
            if last_part(call_name(call)) == "multiply" and len(call.args) == 2:
                yield from self._check_same_factor(analysis, call, call.args[0].value, call.args[1].value)
        for augmented in index.nodes(cst.AugAssign):
            yield from self._check_update(analysis, augmented)
        for branch in index.nodes(cst.If):
            yield from self._check_loop_branch(analysis, branch)
        for conditional in index.nodes(cst.IfExp):
            yield from self._check_conditional_entry(analysis, conditional)

    # -- matrix formulas -----------------------------------------------------
    def _check_sum(
        self, analysis: ModuleAnalysis, node: cst.BaseExpression, parts: list[Optional[JacobianPart]]
    ) -> Iterator[Finding]:
        if len(parts) != 2 or any(part is None for part in parts):
            return
        diagonal = [p for p in parts if p is not None and p.kind == Part.DIAG]
        others = [p for p in parts if p is not None and p.kind != Part.DIAG]
        if len(diagonal) != 1 or len(others) != 1:
            return
        diag, other = diagonal[0], others[0]
        expression = analysis.code_for(node)
        vector = diag.vector
        twice = _logistic_vector(analysis, diag)
        if twice is not None and other.kind == Part.OUTER and other.vector == twice and other.sign != diag.sign:
            yield Finding(
                node,
                f"`{expression}` puts s*(1-s) on the diagonal and then subtracts the outer product of `{twice}`, "
                f"whose diagonal is s_i^2 again: the diagonal is counted twice (s_i - 2*s_i^2); "
                f"use np.diag({twice}) - np.outer({twice}, {twice})",
            )
            return
        if other.vector != vector:
            return
        if other.kind == Part.OUTER:
            if other.sign == diag.sign:
                yield Finding(
                    node,
                    f"softmax Jacobian `{expression}` adds the outer product of `{vector}` (off-diagonal entries "
                    f"+s_i*s_j); the Jacobian is diag(s) - s s^T, so the outer product must be subtracted",
                )
            elif diag.detail == "diag" and _diag_argument_layout(analysis, diag) in (Layout.COLUMN, Layout.ROW):
                yield Finding(
                    diag.node,
                    f"`{analysis.code_for(diag.node)}` is np.diag of a column: on a 2-D array np.diag "
                    f"extracts the diagonal (one element) instead of building diag(s), so `{expression}` is not "
                    f"the softmax Jacobian; use np.diagflat({analysis.code_for(diag.node.args[0].value)})",  # type: ignore[attr-defined]
                )
        elif other.kind == Part.SCALAR or (other.kind == Part.TRANSPOSED and diag.detail == "diag"):
            product = analysis.code_for(other.node)
            operands = _operands(other.node)
            first = operands[0] if operands else None
            while type(first) is cst.Attribute and first.attr.value == "T":
                first = first.value
            if type(first) in (cst.Name, cst.Attribute):
                vector = analysis.code_for(first)
            if other.detail == "row-col":
                yield Finding(
                    other.node,
                    f"`{product}` with the column `{vector}` is the 1x1 inner product sum(s_i^2), not the outer "
                    f"product s s^T, so `{expression}` subtracts one number from every entry; "
                    f"use `{vector} @ {vector}.T` for a column",
                )
            else:
                why = _flat_evidence(analysis, other, diag)
                yield Finding(
                    other.node,
                    f"`{product}` is the scalar sum of s_i^2, not the outer product s s^T: `{vector}` is 1-D "
                    f"({why}) and the transpose of a 1-D array is the array itself, so `{expression}` subtracts "
                    f"one number from every entry; use np.outer({vector}, {vector})",
                )
        elif other.kind == Part.SQUARE and other.sign != diag.sign:
            square = analysis.code_for(other.node)
            yield Finding(
                node,
                f"`{expression}` subtracts the elementwise `{square}` (broadcast along the rows, entry (i, j) gets "
                f"-s_j^2) instead of the outer product -s_i*s_j; use np.outer({vector}, {vector})",
            )

    def _check_update(self, analysis: ModuleAnalysis, augmented: cst.AugAssign) -> Iterator[Finding]:
        if type(augmented.operator) not in (cst.AddAssign, cst.SubtractAssign):
            return
        if type(augmented.target) is not cst.Name:
            return
        definition = scope_for(analysis, augmented).reaching(analysis, augmented.target.value, augmented)
        if definition is None or definition.value is None:
            return
        sign = 1 if type(augmented.operator) is cst.AddAssign else -1
        initial = [classify(analysis, term, s) for s, term in signed_terms(definition.value)]
        added = [classify(analysis, term, s * sign) for s, term in signed_terms(augmented.value)]
        if len(initial) != 1 or len(added) != 1:
            return
        for finding in self._check_sum(analysis, augmented, initial + added):
            yield finding

    def _check_same_factor(
        self, analysis: ModuleAnalysis, node: cst.CSTNode, left: cst.BaseExpression, right: cst.BaseExpression
    ) -> Iterator[Finding]:
        for factor, difference in ((left, right), (right, left)):
            if type(factor) in (cst.Integer, cst.Float) or is_eye(analysis, factor):
                continue
            terms = signed_terms(difference)
            if len(terms) != 2:
                continue
            eyes = [(s, t) for s, t in terms if is_eye(analysis, t)]
            rest = [(s, t) for s, t in terms if not is_eye(analysis, t)]
            if len(eyes) != 1 or len(rest) != 1 or eyes[0][0] == rest[0][0]:
                continue
            if analysis.code_for(rest[0][1]) != analysis.code_for(factor):
                continue
            matrix = analysis.code_for(factor)
            yield Finding(
                node,
                f"`{analysis.code_for(node)}` indexes both factors the same way: entry (i, j) is "
                f"{matrix}_ij*(δ_ij - {matrix}_ij), so the off-diagonal terms are -s_j^2 instead of -s_i*s_j; "
                f"transpose one factor ({matrix}.T * (I - {matrix})) or use np.diag(s) - np.outer(s, s)",
            )
            return

    # -- element loops -------------------------------------------------------
    def _check_loop_branch(self, analysis: ModuleAnalysis, branch: cst.If) -> Iterator[Finding]:
        indices = _index_test(branch.test)
        if indices is None or type(branch.orelse) is not cst.Else:
            return
        if analysis.index.enclosing(branch, cst.For) is None and analysis.index.enclosing(branch, cst.While) is None:
            return
        first, second, equal = indices
        diagonal_block, off_block = (branch.body, branch.orelse.body) if equal else (branch.orelse.body, branch.body)
        diagonal_store = _last_store(diagonal_block)
        off_store = _last_store(off_block)
        if diagonal_store is None or off_store is None:
            return
        if analysis.code_for(diagonal_store.targets[0].target) != analysis.code_for(off_store.targets[0].target):
            return
        if not {first, second} <= _names(off_store.targets[0].target):
            return
        same = re.compile(rf"\b{re.escape(second)}\b")

        def diagonal_key(node: cst.BaseExpression) -> str:
            return same.sub(first, analysis.code_for(node))

        forms = logistic_form(expand(diagonal_store.value, diagonal_key))
        forms = [form for form in forms if not form.multiplier and re.search(rf"\b{re.escape(first)}\b", form.atom)]
        if len(forms) != 1:
            return
        atom_i = forms[0].atom
        atom_j = re.sub(rf"\b{re.escape(first)}\b", second, atom_i)
        off = expand(off_store.value, lambda node: analysis.code_for(node))
        if off is None:
            return
        terms = off.as_dict()
        target = analysis.code_for(off_store.targets[0].target)
        value = analysis.code_for(off_store.value)
        if terms == {tuple(sorted((atom_i, atom_j))): 1}:
            yield Finding(
                off_store,
                f"the off-diagonal entry `{target} = {value}` is +s_i*s_j: the softmax Jacobian's off-diagonal "
                f"entries are -s_i*s_j (the diagonal {analysis.code_for(diagonal_store.value)} is right)",
            )
        elif terms in ({(atom_i, atom_i): -1}, {(atom_j, atom_j): -1}):
            atom = atom_i if terms == {(atom_i, atom_i): -1} else atom_j
            yield Finding(
                off_store,
                f"the off-diagonal entry `{target} = {value}` multiplies `{atom}` by itself (-s_i^2 where the "
                f"softmax Jacobian has -s_i*s_j); index the factors by both {first} and {second}",
            )


    def _check_conditional_entry(self, analysis: ModuleAnalysis, conditional: cst.IfExp) -> Iterator[Finding]:
        """`J[i, j] = s[i] * (1 if i == j else 0 - s[j])` in a loop: the conditional binds looser than
        `-`, so the diagonal is s_i (not s_i(1 - s_i)) while the off-diagonal -s_i s_j is right."""
        indices = _index_test(conditional.test)
        if indices is None:
            return
        first, second, equal = indices
        store = next((node for node in analysis.index.ancestors(conditional) if isinstance(node, cst.BaseSmallStatement)), None)
        if type(store) is not cst.Assign or len(store.targets) != 1 or type(store.targets[0].target) is not cst.Subscript:
            return
        if not {first, second} <= _names(store.targets[0].target):
            return
        if analysis.index.enclosing(store, cst.For) is None and analysis.index.enclosing(store, cst.While) is None:
            return
        diagonal_branch, off_branch = (conditional.body, conditional.orelse) if equal else (conditional.orelse, conditional.body)
        same = re.compile(rf"\b{re.escape(second)}\b")
        diagonal = expand(store.value.deep_replace(conditional, diagonal_branch), lambda node: same.sub(first, analysis.code_for(node)))
        off = expand(store.value.deep_replace(conditional, off_branch), analysis.code_for)
        if diagonal is None or off is None:
            return
        diagonal_terms, off_terms = diagonal.as_dict(), off.as_dict()
        if len(diagonal_terms) != 1 or len(off_terms) != 1:
            return
        (atoms, coefficient), = diagonal_terms.items()
        if len(atoms) != 1 or coefficient != 1 or not re.search(rf"\b{re.escape(first)}\b", atoms[0]):
            return
        atom_i = atoms[0]
        atom_j = re.sub(rf"\b{re.escape(first)}\b", second, atom_i)
        if off_terms != {tuple(sorted((atom_i, atom_j))): -1}:
            return
        code = analysis.code_for
        if not (
            literal_number(diagonal_branch) is not None
            and type(off_branch) is cst.BinaryOperation
            and type(off_branch.operator) is cst.Subtract
            and literal_number(off_branch.left) is not None
        ):
            return  # only the precedence slip: a number on the diagonal, `number - s_j` off it
        kept = (code(diagonal_branch), code(off_branch.left)) if equal else (code(off_branch.left), code(diagonal_branch))
        fixed = f"(({kept[0]} if {code(conditional.test)} else {kept[1]}) - {code(off_branch.right)})"
        yield Finding(
            store,
            f"the diagonal entry of `{code(store)}` is {atom_i} (s_i), not s_i(1 - s_i): a conditional binds looser "
            f"than `-`, so `{code(off_branch)}` is one whole branch of `{code(conditional)}` and the diagonal's branch "
            f"is {code(diagonal_branch)} alone; the off-diagonal -s_i*s_j is right. Parenthesise the conditional: {fixed}",
        )


def _inside_chain(analysis: ModuleAnalysis, node: cst.CSTNode) -> bool:
    parent = analysis.index.parent(node)
    if type(parent) is cst.BinaryOperation and isinstance(parent.operator, _CHAIN):
        return True
    if type(parent) is cst.UnaryOperation and type(parent.operator) is cst.Minus:
        return _inside_chain(analysis, parent)
    return False


def _chain_root(analysis: ModuleAnalysis, node: cst.BaseExpression) -> cst.BaseExpression:
    parent = analysis.index.parent(node)
    while type(parent) is cst.UnaryOperation and type(parent.operator) is cst.Minus:
        node, parent = parent, analysis.index.parent(parent)
    return node


def _logistic_vector(analysis: ModuleAnalysis, diag: JacobianPart) -> Optional[str]:
    """`s` when the diagonal part is diag(s*(1-s))."""
    if type(diag.node) is not cst.Call or diag.detail not in {"diag", "diagflat"}:
        return None
    argument = diag.node.args[0].value
    forms = logistic_form(expand(argument, analysis.code_for))
    forms = [form for form in forms if not form.multiplier]
    return forms[0].atom if len(forms) == 1 else None


def _diag_argument_layout(analysis: ModuleAnalysis, diag: JacobianPart) -> Optional[Layout]:
    assert type(diag.node) is cst.Call
    return layout(analysis, diag.node.args[0].value)


def _flat_evidence(analysis: ModuleAnalysis, product: JacobianPart, diag: JacobianPart) -> str:
    if diag.detail == "diag":
        return f"np.diag builds a matrix only from a 1-D `{diag.vector}`"
    operands = [n for n in _operands(product.node)]
    for operand in operands:
        base = resolve(analysis, operand)
        if type(operand) is cst.Name and base is not operand:
            normaliser = whole_vector_softmax(analysis, base) if type(base) is cst.Call else None
            if normaliser is not None:
                return (
                    f"`{operand.value} = {analysis.code_for(base)}`, a softmax normalised by the whole-array sum "
                    f"`{analysis.code_for(normaliser)}`, i.e. of one vector, and no column (n, 1) layout in this module"
                )
            return f"`{operand.value} = {analysis.code_for(base)}`"
    for operand in operands:
        if type(operand) is cst.Name:
            scope = scope_for(analysis, operand)
            definition = scope.reaching(analysis, operand.value, operand)
            if definition is not None and definition.loop is not None:
                return f"a row of the batch iterated by `for {analysis.code_for(definition.loop.target)} in ...`"
            if scope.is_unbound_parameter(analysis, operand.value, operand):
                return "the function is mapped over 1-D slices by np.apply_along_axis"
    return "per the code that builds it"


def _operands(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if type(node) is cst.BinaryOperation:
        return [node.left, node.right]
    if type(node) is cst.Call:
        args = [a.value for a in node.args]
        if type(node.func) is cst.Attribute and last_part(call_name(node)) in {"dot", "matmul"} and len(args) == 1:
            return [node.func.value, args[0]]
        return args
    return []


def _index_test(test: cst.BaseExpression) -> Optional[tuple[str, str, bool]]:
    """`(i, j, True)` for `i == j`, `(i, j, False)` for `i != j`."""
    if type(test) is not cst.Comparison or len(test.comparisons) != 1:
        return None
    comparison = test.comparisons[0]
    if type(test.left) is not cst.Name or type(comparison.comparator) is not cst.Name:
        return None
    if type(comparison.operator) is cst.Equal:
        return test.left.value, comparison.comparator.value, True
    if type(comparison.operator) is cst.NotEqual:
        return test.left.value, comparison.comparator.value, False
    return None


def _last_store(block: cst.BaseSuite) -> Optional[cst.Assign]:
    items = block_items(block)
    stores = [
        item
        for item in items
        if type(item) is cst.Assign and len(item.targets) == 1 and type(item.targets[0].target) is cst.Subscript
    ]
    if len(stores) != 1 or len(items) != 1:
        return None
    return stores[0] if subscript_base(stores[0].targets[0].target) else None


def _names(node: cst.CSTNode) -> set[str]:
    from gradlint.analysis.syntax import names_in

    return names_in(node)


_DIAGONAL_CALLS = {"diag", "diagflat", "eye", "identity", "einsum"}


def _mentions_diagonal(terms: list[tuple[int, cst.BaseExpression]]) -> bool:
    """A term that may be a diagonal matrix: a call of diag/diagflat/eye/identity/einsum
    in it, a product (`eye * s`), or a local name (read through its binding by `classify`)."""
    from gradlint.analysis.syntax import walk

    for _, term in terms:
        if type(term) is cst.Name:
            return True
        if type(term) is cst.BinaryOperation and type(term.operator) is cst.Multiply:
            return True  # `eye * s` with the identity under any local name
        for node in walk(term):
            if type(node) is cst.Call and last_part(call_name(node)) in _DIAGONAL_CALLS:
                return True
            if type(node) is cst.Name and node.value in {"I", "eye", "identity", "E"}:
                return True
    return False
