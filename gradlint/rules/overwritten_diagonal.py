"""GL101 overwritten-diagonal: an element store overwritten before it is read."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.index import child_nodes
from gradlint.analysis.syntax import assigned_targets, block_items, dotted_names_in, names_in, subscript_base, walk
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Replacement, Rule, Valid

_LOOPS = (cst.For, cst.While)
_BARRIERS = (cst.Return, cst.Break, cst.Continue, cst.Raise)


class OverwrittenDiagonal(Rule):
    code = "GL101"
    name = "overwritten-diagonal"
    severity = Severity.ERROR
    fixable = True
    summary = "A Jacobian element is assigned twice with no read in between: the first value (the diagonal) is lost."
    what_it_does = """
        Finds an element of a matrix being filled in a loop (`J[i][j]`, `J[i, j]`) that is
        assigned and then assigned again before anything reads it. The classic shape is an
        `if i == j:` branch that stores the diagonal `s_i(1-s_i)` and then, on the next line,
        the off-diagonal `-s_i s_j`, because the `else:` was forgotten. A store repeated with the
        same value (an identical right-hand side with no call, whose names nothing re-binds in
        between: a duplicated line) loses nothing and is not reported.
        """
    why_bad = """
        The first value is silently discarded, so every diagonal entry of the Jacobian holds
        the off-diagonal formula. The code runs and the shapes are right, but the gradient is
        wrong and training quietly degrades.
        """
    example = """
        for i in range(n):
            for j in range(n):
                if i == j:
                    J[i][j] = s[i] * (1 - s[i])
                    J[i][j] = -s[i] * s[j]
        """
    use_instead = """
        for i in range(n):
            for j in range(n):
                if i == j:
                    J[i][j] = s[i] * (1 - s[i])
                else:
                    J[i][j] = -s[i] * s[j]
        """
    references = (
        "Softmax derivative: https://en.wikipedia.org/wiki/Softmax_function#Properties",
        "The question behind gradlint, reproduced with its fix: [fixtures/softmax_question.py](../../fixtures/softmax_question.py)",
    )

    INVALID = (
        Invalid(
            """
            import numpy as np

            def softmax_prime(f):
                jacobian = np.diag(f)
                for i in range(len(jacobian)):
                    for j in range(len(jacobian)):
                        if i == j:
                            jacobian[i][j] = f[i] * (1 - f[i])
                            jacobian[i][j] = -f[i] * f[j]
                return jacobian
            """,
            line=9,
            message="f[i] * (1 - f[i]) assigned to jacobian[i][j] on line 8 is overwritten on line 9",
            why="the question's loop: the missing else",
        ),
        Invalid(
            """
            def jac(s):
                n = s.shape[0]
                J = np.zeros((n, n))
                for a in range(n):
                    for b in range(n):
                        if a == b:
                            J[a, b] = s[a] - s[a] ** 2
                            J[a, b] = -s[a] * s[b]
                return J
            """,
            line=8,
            message="J[a, b]",
            why="tuple index, other index names",
        ),
        Invalid(
            """
            def jacobian(out):
                rows = [[0.0] * len(out) for _ in out]
                k = 0
                while k < len(out):
                    l = 0
                    while l < len(out):
                        if k is l:
                            rows[k][l] = out[k] * (1.0 - out[l])
                            rows[k][l] = -out[k] * out[l]
                        l += 1
                    k += 1
                return rows
            """,
            line=9,
            why="nested lists, while loops, `is`",
        ),
        Invalid(
            """
            class Softmax:
                def backward(self, grad):
                    s = self.output
                    n = len(s)
                    J = np.empty((n, n))
                    for i in range(n):
                        for j in range(n):
                            if i == j:
                                J[i, j] = s[i] * (1 - s[i])
                            J[i, j] = -s[i] * s[j]
                    return J @ grad
            """,
            line=10,
            message="the `i == j` branch needs an else",
            why="the overwrite stands after the if, in the loop body",
        ),
        Invalid(
            """
            def hessian_diag(x):
                H = np.zeros((len(x), len(x)))
                for i in range(len(x)):
                    H[i, i] = 2 * x[i]; H[i, i] = 0.0
                return H
            """,
            line=4,
            why="any element store overwritten before it is read, in a derivative-building loop",
        ),
        Invalid(
            """
            import numpy as np

            def update(distmatrix, winner, n_input, n_neurons):
                tempm = 1 - np.sum(np.abs(distmatrix - winner), 2) / n_neurons
                distm = np.zeros((n_neurons, n_neurons, n_input))
                for i in range(n_input):
                    distm[:, :, i] = tempm
                    tempm = tempm * 0.5
                    distm[:, :, i] = tempm
                return distm

            def noisy_diag(rng, n):
                J = np.zeros((n, n))
                for i in range(n):
                    J[i, i] = rng.random()
                    J[i, i] = rng.random()
                return J
            """,
            line=9,
            count=2,
            message="is overwritten on line",
            why="near misses of a duplicated store: the same text, but the name it reads is re-bound in between, "
            "or a call that may return another value each time",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def update(neurons, distmatrix, winner, n_input, n_neurons):
                tempm = 1 - np.sum(np.abs(distmatrix - winner.reshape(1, 1, 2)), 2) / n_neurons
                tempm[tempm < 0] = 0
                distm = np.zeros((n_neurons, n_neurons, n_input))
                for i in range(n_input):
                    distm[:, :, i] = tempm
                    distm[:, :, i] = tempm
                return neurons - distm
            """,
            why="real code (PyBrain kohonen.py, a self-organising map update): a duplicated line stores the same "
            "value twice; nothing is lost",
        ),
        Valid(
            """
            def softmax_prime(s):
                J = np.diag(s)
                for i in range(len(s)):
                    for j in range(len(s)):
                        if i == j:
                            J[i][j] = s[i] * (1 - s[i])
                        else:
                            J[i][j] = -s[i] * s[j]
                return J
            """,
            why="a correct if/else (np.diag only as an initialiser)",
        ),
        Valid(
            """
            def softmax_prime(x):
                J = np.zeros((len(x), len(x)))
                for i in range(len(x)):
                    for j in range(len(x)):
                        if i == j:
                            J[i][j] = x[i] * (1 - x[j])
                        else:
                            J[i][j] = -x[i] * x[j]
                return J
            """,
            why="x[i]*(1-x[j]) in the i == j branch equals x[i]*(1-x[i]) there",
        ),
        Valid(
            """
            def softmax_grad(s):
                J = np.diag(s)
                for i in range(len(s)):
                    for j in range(len(s)):
                        J[i][j] -= s[i] * s[j]
                return J
            """,
            why="np.diag(s) as an initialiser, updated in place",
        ),
        Valid(
            """
            def fill(J, s):
                for i in range(len(s)):
                    for j in range(len(s)):
                        if i == j:
                            J[i][j] = s[i]
                            J[i][j] = J[i][j] * (1 - s[i])
                        else:
                            J[i][j] = -s[i] * s[j]
            """,
            why="the second store reads the first",
        ),
        Valid(
            """
            def fill(J, s):
                for i in range(len(s)):
                    if i == 0:
                        J[i][i] = 1.0
                        continue
                    J[i][i] = s[i]
            """,
            why="control leaves the branch before the second store",
        ),
        Valid(
            """
            def fill(J, s):
                for i in range(len(s)):
                    J[i][i] = s[i]
                    i += 1
                    J[i][i] = -s[i]
            """,
            why="the index changes between the stores: a different element",
        ),
        Valid(
            """
            def fill(J, s):
                for i in range(len(s)):
                    J[i, i] = s[i]
                    normalise(J)
                    J[i, i] = 0
            """,
            why="the matrix is read (passed to a call) between the stores",
        ),
        Valid(
            """
            def roundtrip(self, x, C, P):
                for proto in range(5):
                    sys.modules['decimal'] = C
                    data = pickle.dumps(x, proto)
                    sys.modules['decimal'] = P
                    self.assertEqual(pickle.loads(data), x)
            """,
            why="a constant key the loop does not step; a call in between reads the module table",
        ),
        Valid(
            """
            def test_setitem(A, B):
                for C in [A, B]:
                    C[3, 0] = 4
                    C[3, 0] = 9
            """,
            why="a test of item assignment: the element is not indexed by the loop",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        index = analysis.index
        seen: set[cst.CSTNode] = set()
        for loop_type in _LOOPS:
            for loop in index.nodes(loop_type):
                for block in _blocks_under(loop):
                    if block in seen:
                        continue
                    seen.add(block)
                    yield from self._check_block(analysis, block)

    def _check_block(self, analysis: ModuleAnalysis, block: cst.BaseSuite) -> Iterator[Finding]:
        owner = analysis.index.parent(block)
        branch = owner if _is_diagonal_branch(owner) and owner.body is block else None  # type: ignore[union-attr]
        items = block_items(block)
        for position, item in enumerate(items):
            following = items[position + 1 :]
            store = _element_store(item)
            if store is not None:
                yield from self._overwrite_after(analysis, store, following, branch)
            elif _is_diagonal_branch(item):
                # A store that leaves the branch and meets an unconditional store after it.
                branch_items = block_items(item.body)  # type: ignore[attr-defined]
                if not _falls_through(branch_items):
                    continue
                for branch_position, branch_item in enumerate(branch_items):
                    store = _element_store(branch_item)
                    if store is not None and _last_store_to(analysis, store, branch_items[branch_position + 1 :]):
                        yield from self._overwrite_after(analysis, store, following, item, after_branch=True)

    def _overwrite_after(
        self,
        analysis: ModuleAnalysis,
        first: cst.Assign,
        following: list[cst.CSTNode],
        branch: Optional[cst.If],
        after_branch: bool = False,
    ) -> Iterator[Finding]:
        target = first.targets[0].target
        element = analysis.code_for(target)
        base = subscript_base(target)
        if base is None:
            return
        index_names = names_in(target) - {base.split(".")[0]}
        if not index_names & _loop_variables(analysis, first):
            return  # not an element the loop fills (a constant key, e.g. sys.modules['x'])
        value_names = names_in(first.value)
        value_kept = not any(type(node) is cst.Call for node in walk(first.value))
        for later in following:
            second = _element_store(later)
            if second is not None and analysis.code_for(second.targets[0].target) == element:
                if base in dotted_names_in(second.value) or base.split(".")[0] in names_in(second.value):
                    return  # the second store reads the first
                if value_kept and analysis.code_for(second.value) == analysis.code_for(first.value):
                    return  # the same value stored again (a duplicated line): nothing is lost
                yield self._finding(analysis, first, second, element, branch, after_branch)
                return
            if not isinstance(later, cst.BaseSmallStatement) or isinstance(later, _BARRIERS):
                return  # control flow: stop at the first compound statement or jump
            mentioned = dotted_names_in(later)
            if base in mentioned or base.split(".")[0] in names_in(later):
                return  # the matrix is read (or rebound) in between
            if "." in base and any(type(node) is cst.Call for node in walk(later)):
                return  # a call can read an attribute's container without naming it
            written = {name for t in assigned_targets(later) for name in names_in(t)}
            if written & index_names:
                return  # the index moved: a different element
            if value_names & names_in(later):
                value_kept = False  # what the value reads may change in between: the same text, maybe not the same value

    def _finding(
        self,
        analysis: ModuleAnalysis,
        first: cst.Assign,
        second: cst.Assign,
        element: str,
        branch: Optional[cst.If],
        after_branch: bool,
    ) -> Finding:
        first_line = analysis.line_of(first)
        second_line = analysis.line_of(second)
        value = analysis.code_for(first.value)
        if branch is not None:
            test = analysis.code_for(branch.test)
            message = (
                f"the diagonal {value} assigned to {element} on line {first_line} is overwritten on line "
                f"{second_line} by {analysis.code_for(second.value)} before it is read; "
                f"the `{test}` branch needs an else"
            )
        else:
            message = (
                f"the value {value} assigned to {element} on line {first_line} is overwritten on line "
                f"{second_line} by {analysis.code_for(second.value)} before it is read"
            )
        fix = None
        if branch is not None and not after_branch:
            fix = _else_fix(branch, second)
        return Finding(second, message, fix=fix)


def _blocks_under(loop: cst.CSTNode) -> Iterator[cst.BaseSuite]:
    """The loop's body block and every block nested in it (not in nested defs)."""
    stack: list[cst.CSTNode] = [loop.body]  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        if type(node) in (cst.FunctionDef, cst.ClassDef, cst.Lambda):
            continue
        if type(node) in (cst.IndentedBlock, cst.SimpleStatementSuite):
            yield node
        if isinstance(node, cst.BaseExpression):
            continue
        stack.extend(child_nodes(node))


def _loop_variables(analysis: ModuleAnalysis, node: cst.CSTNode) -> set[str]:
    """Names the enclosing loops (within the function) step: `for` targets and `while` tests."""
    variables: set[str] = set()
    for ancestor in analysis.index.ancestors(node):
        if type(ancestor) in (cst.FunctionDef, cst.ClassDef, cst.Lambda):
            break
        if type(ancestor) is cst.For:
            variables |= names_in(ancestor.target)
        elif type(ancestor) is cst.While:
            variables |= names_in(ancestor.test)
    return variables


def _element_store(node: cst.CSTNode) -> Optional[cst.Assign]:
    """The assignment when `node` is a plain store into one subscripted element."""
    if type(node) is cst.Assign and len(node.targets) == 1:
        target = node.targets[0].target
        if type(target) is cst.Subscript:
            return node
    return None


def _is_diagonal_test(test: cst.BaseExpression) -> bool:
    """`i == j`, `i is j`, `k == l`: two names compared for identity of index."""
    if type(test) is not cst.Comparison or len(test.comparisons) != 1:
        return False
    comparison = test.comparisons[0]
    return (
        type(comparison.operator) in (cst.Equal, cst.Is)
        and type(test.left) is cst.Name
        and type(comparison.comparator) is cst.Name
    )


def _is_diagonal_branch(node: Optional[cst.CSTNode]) -> bool:
    return type(node) is cst.If and node.orelse is None and _is_diagonal_test(node.test)


def _last_store_to(analysis: ModuleAnalysis, store: cst.Assign, rest: list[cst.CSTNode]) -> bool:
    element = analysis.code_for(store.targets[0].target)
    return not any(
        (later := _element_store(item)) is not None and analysis.code_for(later.targets[0].target) == element
        for item in rest
    )


def _falls_through(items: list[cst.CSTNode]) -> bool:
    return not any(isinstance(item, _BARRIERS) for item in items)


def _else_fix(branch: cst.If, second: cst.Assign) -> Optional[Replacement]:
    """Move the overwriting store (the branch's last statement) into an else."""
    body = branch.body
    if type(body) is not cst.IndentedBlock or not body.body:
        return None
    last = body.body[-1]
    if type(last) is not cst.SimpleStatementLine or len(last.body) != 1 or last.body[0] is not second:
        return None
    kept = list(body.body[:-1])
    if not kept:
        return None
    # The block's footer (comment lines after its last statement) lies after the If's range, where
    # it stays: rendered again before the `else:` it would be doubled. The new `else:` line ends
    # with the `if` line's line break and its block is indented as the `if` block (mixed line
    # endings or indentation are kept, not replaced by the module's defaults).
    new_if = branch.with_changes(
        body=body.with_changes(body=kept, footer=()),
        orelse=cst.Else(
            body=cst.IndentedBlock(body=[last], header=cst.TrailingWhitespace(newline=body.header.newline), indent=body.indent)
        ),
    )
    return Replacement("Move the overwriting assignment into an `else:` branch", branch, new_if)
