"""GL306 broken-gradient-check: a numerical gradient check whose finite difference is computed wrongly."""

from __future__ import annotations

import re
from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.syntax import dotted_name, unpacked_targets, written_in_place
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid

# The literal 2 as the pre-check reads it (precheck_predicates._GL306_HALVED): `2`, `2.`, `2.0`.
_TWO = re.compile(r"2(?:\.0*)?")
# The index of a perturbed element as the pre-check reads it (precheck_predicates._GL306_COPY_LINE): one or
# more brackets on one line, none holding another bracket.
_ONE_LINE_INDEX = re.compile(r"(?:\[[^\]\r\n]*\])+")
_PLAIN_DOTTED = re.compile(r"[A-Za-z_][\w.]*")
_ADDITIVE = (cst.Add, cst.Subtract)
# Arrays named as the two points of a central difference (the pre-check's words,
# precheck_predicates._GL306_POINT_WORDS).
POINT_WORD = re.compile(r"plus|minus|Plus|Minus")


class BrokenGradientCheck(Rule):
    code = "GL306"
    name = "broken-gradient-check"
    severity = Severity.ERROR
    summary = "A numerical gradient check computes its finite difference wrongly, so it certifies wrong gradients."
    what_it_does = """
        Finds two slips in hand-written central differences, the reference a gradient check
        compares backprop against:

        - `(f_plus - f_minus) / 2 * eps`: Python divides by 2 and then multiplies by the step, so the
          estimate is eps**2 times the derivative. Reported when the step is a number (a default,
          a constant, an attribute only ever set to one) that the function adds and subtracts to perturb
          the input (`w + eps` and `w - eps`); an evolution strategy's `(r_pos - r_neg) / 2 * eps`
          multiplies by its noise vector on purpose.
        - the minus point built from the plus point: `theta_minus[i] = theta_plus[i] - eps` after
          `theta_plus[i] = theta_plus[i] + eps` (one line each, the same index), in a function that
          divides by two steps (`2 * eps`), the two arrays named as the two points (`plus`, `minus`) and
          nothing restoring the plus point in between: theta_minus[i] is theta[i] again, so the two points are
          one step apart and the central difference is half the derivative. Coursera's
          `gradient_check_n` with one name mistyped.
        """
    why_bad = """
        A gradient check is how a hand-written backward pass is trusted. A check whose numerical
        gradient is wrong reports a mismatch for correct code, or, worse, agrees with a backward
        that is off by the same factor; either way the week spent debugging goes to the wrong place.
        """
    example = """
        def numeric_slope(f, w, eps=1e-4):
            return (f(w + eps) - f(w - eps)) / 2 * eps

        for i in range(n):
            theta_plus = np.copy(theta)
            theta_plus[i] = theta_plus[i] + eps
            theta_minus = np.copy(theta)
            theta_minus[i] = theta_plus[i] - eps
            approx[i] = (J(theta_plus) - J(theta_minus)) / (2 * eps)
        """
    use_instead = """
        def numeric_slope(f, w, eps=1e-4):
            return (f(w + eps) - f(w - eps)) / (2 * eps)

        for i in range(n):
            theta_plus = np.copy(theta)
            theta_plus[i] = theta_plus[i] + eps
            theta_minus = np.copy(theta)
            theta_minus[i] = theta_minus[i] - eps
            approx[i] = (J(theta_plus) - J(theta_minus)) / (2 * eps)
        """
    references = (
        "CS231n, gradient checks (use the centered formula): https://cs231n.github.io/neural-networks-3/#gradcheck",
        "Python operator precedence (* and / group left to right): "
        "https://docs.python.org/3/reference/expressions.html#operator-precedence",
    )

    INVALID = (
        Invalid(
            """
            def numeric_slope(f, w, epsilon=1e-4):
                e1 = f(w - epsilon)
                e2 = f(w + epsilon)
                return (e2 - e1)/2*epsilon
            """,
            line=4,
            message="Python reads `(e2 - e1)/2*epsilon` as ((e2 - e1) / 2) * epsilon",
            why="real code (lpnsjl/CoCo gradient_check.py:19, review 6 rw6c miss/10)",
        ),
        Invalid(
            """
            import numpy as np

            class GradCheck:
                def __init__(self):
                    self.h = 1e-5

                def numerical(self, loss, x, i):
                    x[i] += self.h
                    up = loss(x)
                    x[i] -= 2 * self.h
                    down = loss(x)
                    x[i] += self.h
                    return (up - down) / 2.0 * self.h
            """,
            line=13,
            why="a method, the step an attribute, the input perturbed in place",
        ),
        Invalid(
            """
            import numpy as np

            def gradient_check_n(J, theta, grad, epsilon=1e-7):
                num = theta.shape[0]
                gradapprox = np.zeros((num, 1))
                for i in range(num):
                    thetaplus = np.copy(theta)
                    thetaplus[i][0] = thetaplus[i][0] + epsilon
                    J_plus = J(thetaplus)
                    thetaminus = np.copy(theta)
                    thetaminus[i][0] = thetaplus[i][0] - epsilon
                    J_minus = J(thetaminus)
                    gradapprox[i] = (J_plus - J_minus) / (2 * epsilon)
                return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))
            """,
            line=11,
            message="`thetaminus[i][0]` is set from `thetaplus[i][0]`, which line 8 already moved by + epsilon",
            why="real code (a Coursera gradient_check_n, review 6 rw6c miss/09): the minus copy read from the plus copy",
        ),
        Invalid(
            """
            import numpy as np

            def numerical_gradient(f, x, h=1e-5):
                grad = np.zeros_like(x)
                for idx in range(x.size):
                    x_minus = x.copy()
                    x_minus[idx] -= h
                    x_plus = x.copy()
                    x_plus[idx] = x_minus[idx] + h
                    grad[idx] = (f(x_plus) - f(x_minus)) / (2 * h)
                return grad
            """,
            line=9,
            message="which line 7 already moved by - h",
            why="the plus point built from the minus point, the minus step written `-=`",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def numeric_slope(f, w, epsilon=1e-4):
                return (f(w + epsilon) - f(w - epsilon)) / (2 * epsilon)

            def halved(f, w, h=1e-4):
                return (f(w + h) - f(w - h)) / 2 / h

            def written_out(f, w, h=1e-4):
                return ((f(w + h) - f(w - h)) / 2) * h / h ** 2

            def trapezoid(fa, fb, h):
                return (fb + fa) / 2 * h

            def lerp(a, b, t):
                return a + (b - a) / 2 * t
            """,
            why="the centered difference over 2h (or halved, then divided by h); the grouping written out; a "
            "trapezoid's sum; a difference halved and scaled by a value the function never adds and subtracts",
        ),
        Valid(
            """
            import numpy as np

            def antithetic_es_gradient(f, theta, sigma=0.1, n=50):
                grad = np.zeros_like(theta)
                for _ in range(n):
                    eps = np.random.randn(*theta.shape)
                    r_pos = f(theta + sigma * eps)
                    r_neg = f(theta - sigma * eps)
                    grad += (r_pos - r_neg) / 2 * eps
                return grad / (n * sigma)

            def second_derivative(f, x, h=1e-4):
                out = np.zeros_like(x)
                for i in range(x.size):
                    x_plus = x.copy()
                    x_plus[i] = x_plus[i] + h
                    x_mid = x.copy()
                    x_mid[i] = x_plus[i] - h
                    x_minus = x.copy()
                    x_minus[i] = x_minus[i] - h
                    out[i] = (f(x_plus) - 2 * f(x_mid) + f(x_minus)) / h ** 2 + (f(x_plus) - f(x_minus)) / (2 * h)
                return out

            def check_copyto(J, theta, h=1e-5):
                plus = theta.copy()
                approx = np.zeros_like(theta)
                for i in range(theta.size):
                    plus[i] = plus[i] + h
                    up = J(plus)
                    np.copyto(plus, theta)
                    minus = theta.copy()
                    minus[i] = plus[i] - h
                    approx[i] = (up - J(minus)) / (2 * h)
                return approx

            def check_tuple(J, theta, h=1e-5):
                approx = np.zeros_like(theta)
                plus, minus = theta.copy(), theta.copy()
                for i in range(theta.size):
                    old = theta[i]
                    plus[i] = plus[i] + h
                    up = J(plus)
                    plus[i], minus[i] = old, old
                    minus[i] = plus[i] - h
                    approx[i] = (up - J(minus)) / (2 * h)
                return approx
            """,
            why="the adversarial review (rev13a fp/01, 04, 05): an evolution strategy's antithetic estimate, which "
            "multiplies by its noise vector on purpose; a centre point built from the plus point for a second "
            "derivative; the plus point restored by np.copyto or a tuple assignment before it is read",
        ),
        Valid(
            """
            import numpy as np

            def gradient_check_n(J, theta, epsilon=1e-7):
                approx = np.zeros_like(theta)
                for i in range(theta.shape[0]):
                    thetaplus = np.copy(theta)
                    thetaplus[i][0] = thetaplus[i][0] + epsilon
                    thetaminus = np.copy(theta)
                    thetaminus[i][0] = thetaminus[i][0] - epsilon
                    approx[i] = (J(thetaplus) - J(thetaminus)) / (2 * epsilon)
                return approx

            def from_the_plus_point(J, theta, h=1e-5):
                approx = np.zeros_like(theta)
                for i in range(theta.size):
                    plus = theta.copy()
                    plus[i] = plus[i] + h
                    minus = theta.copy()
                    minus[i] = plus[i] - 2 * h
                    approx[i] = (J(plus) - J(minus)) / (2 * h)
                return approx

            def forward_difference(J, theta, h=1e-5):
                approx = np.zeros_like(theta)
                for i in range(theta.size):
                    plus = theta.copy()
                    plus[i] = plus[i] + h
                    base = theta.copy()
                    base[i] = plus[i] - h
                    approx[i] = (J(plus) - J(base)) / h
                return approx

            def restored(J, theta, h=1e-5):
                approx = np.zeros_like(theta)
                for i in range(theta.size):
                    plus = theta.copy()
                    plus[i] = plus[i] + h
                    up = J(plus)
                    plus[i] = theta[i]
                    minus = theta.copy()
                    minus[i] = plus[i] - h
                    approx[i] = (up - J(minus)) / (2 * h)
                return approx
            """,
            why="Coursera's gradient_check_n; the minus point two steps below the plus point; a forward "
            "difference over one step (its base point rebuilt on purpose); the plus copy restored before use",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        index = analysis.index
        for product in index.nodes(cst.BinaryOperation):
            if type(product.operator) is cst.Multiply:
                finding = _halved_then_scaled(analysis, product)
                if finding is not None:
                    yield finding
        for assign in index.nodes(cst.Assign):
            finding = _copy_from_other_copy(analysis, assign)
            if finding is not None:
                yield finding


def _halved_then_scaled(analysis: ModuleAnalysis, product: cst.BinaryOperation) -> Optional[Finding]:
    """`(a - b) / 2 * h`, the halving not parenthesised, `h` a step the function both adds and subtracts."""
    half = product.left
    if type(half) is not cst.BinaryOperation or type(half.operator) is not cst.Divide or half.lpar:
        return None
    difference, two = half.left, half.right
    if type(difference) is not cst.BinaryOperation or type(difference.operator) is not cst.Subtract or not difference.lpar:
        return None
    if not _is_two(two):
        return None
    step = product.right
    step_name = dotted_name(step)
    if step_name is None or step_name == "None":
        return None
    function = analysis.index.function_containing(product)
    if not _perturbs_by(analysis, function, step_name, exclude=product) or not _scalar_step(analysis, function, step_name):
        return None
    whole, diff, step_code = analysis.code_for(product), analysis.code_for(difference), analysis.code_for(step)
    return Finding(
        product,
        f"Python reads `{whole}` as ({diff} / 2) * {step_code}: `*` and `/` group left to right, so this "
        f"central difference is {step_code}**2 times the derivative instead of the derivative (the "
        f"difference of the values at x + {step_code} and x - {step_code} is about 2 * {step_code} * f'(x)); "
        f"divide by `(2 * {step_code})`",
    )


def _is_two(node: cst.BaseExpression) -> bool:
    """The literal 2 written `2`, `2.` or `2.0` (what the pre-check reads), not parenthesised."""
    return type(node) in (cst.Integer, cst.Float) and not node.lpar and _TWO.fullmatch(node.value) is not None  # type: ignore[attr-defined]


def _perturbs_by(analysis: ModuleAnalysis, function: Optional[cst.FunctionDef], step: str, exclude: cst.CSTNode) -> bool:
    """The function (or module) both adds `step` to something and subtracts it (`w + eps` and `w - eps`, or
    `x[i] += h` and `x[i] -= 2 * h`): the step of a central difference."""
    signs: set[type] = set()
    for operation in analysis.index.nodes_in(function, cst.BinaryOperation):
        if operation is not exclude and type(operation.operator) in _ADDITIVE and dotted_name(operation.right) == step:
            signs.add(type(operation.operator))
    for augmented in analysis.index.nodes_in(function, cst.AugAssign):
        operator = {cst.AddAssign: cst.Add, cst.SubtractAssign: cst.Subtract}.get(type(augmented.operator))  # type: ignore[call-overload]
        if operator is not None and step in _factors(augmented.value):
            signs.add(operator)
    return len(signs) == 2


def _scalar_step(analysis: ModuleAnalysis, function: Optional[cst.FunctionDef], step: str) -> bool:
    """`step` is a number: a parameter whose default is a number (`eps=1e-4`), a name or `self.` attribute
    only ever assigned numbers (in the function, or the attribute in its class), or a module constant. An
    evolution strategy's `(r_pos - r_neg) / 2 * eps` multiplies by its noise vector on purpose."""
    index = analysis.index
    values: list[cst.BaseExpression] = []
    if function is not None and "." not in step:
        for param in (*function.params.params, *function.params.kwonly_params, *function.params.posonly_params):
            if param.name.value == step:
                if param.default is None:
                    return False  # passed in: a vector as likely as a step
                values.append(param.default)
    scopes: list[Optional[cst.FunctionDef]] = [function, None]
    if step.startswith("self.") and function is not None:
        cls = index.class_of(function)
        scopes = list(index.methods(cls).values()) if cls is not None else [function]
    for scope in scopes:
        for assign in index.nodes_in(scope, cst.Assign):
            if any(dotted_name(target.target) == step for target in assign.targets):
                values.append(assign.value)
        for augmented in index.nodes_in(scope, cst.AugAssign):
            if dotted_name(augmented.target) == step:
                return False
    return bool(values) and all(_is_number(value) for value in values)


def _is_number(node: cst.BaseExpression) -> bool:
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:
        node = node.expression
    return type(node) in (cst.Integer, cst.Float)


def _factors(value: cst.BaseExpression) -> set[str]:
    """The dotted names `value` is, or multiplies (`h`, `2 * h`)."""
    if type(value) is cst.BinaryOperation and type(value.operator) is cst.Multiply:
        return _factors(value.left) | _factors(value.right)
    name = dotted_name(value)
    return {name} if name else set()


def _copy_from_other_copy(analysis: ModuleAnalysis, assign: cst.Assign) -> Optional[Finding]:
    """`minus[i] = plus[i] - h` after `plus[i] = plus[i] + h` (or `plus[i] += h`), each on one line, in a
    function dividing by `2 * h`: the second point is the unperturbed input again."""
    if len(assign.targets) != 1:
        return None
    target, value = assign.targets[0].target, assign.value
    if type(value) is not cst.BinaryOperation or type(value.operator) not in _ADDITIVE or value.lpar:
        return None
    source = value.left
    if type(target) is not cst.Subscript or type(source) is not cst.Subscript or source.lpar:
        return None
    module = analysis.module
    statement_code = module.code_for_node(assign)
    if "\n" in statement_code or "\r" in statement_code or "\\" in statement_code:
        return None  # one line, as the pre-check reads it
    written, read = _element(module, target), _element(module, source)
    if written is None or read is None or written[0] == read[0] or written[1] != read[1]:
        return None
    if _point(written[0]) is None or _point(read[0]) is None or _point(written[0]) == _point(read[0]):
        return None  # one point built from the other, as named (`theta_minus` from `theta_plus`): what the pre-check reads
    step = dotted_name(value.right)
    if step is None:
        return None
    function = analysis.index.function_containing(assign)
    if function is None or not _divides_by_two_steps(analysis, function, step):
        return None
    moved = _last_store(analysis, function, read, before=assign)
    if moved is None or not _moved_by(moved, step, opposite_of=type(value.operator)):
        return None
    applied = "-" if type(value.operator) is cst.Subtract else "+"
    sign = "+" if applied == "-" else "-"
    point = "minus" if applied == "-" else "plus"
    target_code, source_code = analysis.code_for(target), analysis.code_for(source)
    return Finding(
        assign,
        f"`{target_code}` is set from `{source_code}`, which line {analysis.line_of(moved)} already moved by "
        f"{sign} {step}: the {point} point is the unperturbed input again, so the two points are one step "
        f"apart, not two, and the central difference over `2 * {step}` is half the derivative; write "
        f"`{target_code} = {target_code} {applied} {step}`",
    )


def _point(name: str) -> Optional[str]:
    """"plus" or "minus" when the array's name says it is that point of a central difference (not both)."""
    words = {word.lower() for word in POINT_WORD.findall(name)}
    return words.pop() if len(words) == 1 else None


def _element(module: cst.Module, subscript: cst.Subscript) -> Optional[tuple[str, str]]:
    """(the array's dotted name, its index as written) for `theta[i][0]`; None for other shapes."""
    base: cst.BaseExpression = subscript
    while type(base) is cst.Subscript:
        base = base.value
    name = dotted_name(base)
    if name is None:
        return None
    written = module.code_for_node(subscript)
    base_code = module.code_for_node(base)
    if not _PLAIN_DOTTED.fullmatch(base_code) or not written.startswith(base_code):
        return None  # `(x_plus)[i]`, `self . x[i]`: not as the pre-check reads it
    index = written[len(base_code):]
    return (name, index) if _ONE_LINE_INDEX.fullmatch(index) else None


def _divides_by_two_steps(analysis: ModuleAnalysis, function: cst.FunctionDef, step: str) -> bool:
    """The function divides by `2 * step` (or `step * 2`, `2.0 * step`): a central difference."""
    for operation in analysis.index.nodes_in(function, cst.BinaryOperation):
        if type(operation.operator) is cst.Divide:
            divisor = operation.right
            if type(divisor) is cst.BinaryOperation and type(divisor.operator) is cst.Multiply:
                pair = (divisor.left, divisor.right)
                for two, named in (pair, pair[::-1]):
                    if _is_two(two) and dotted_name(named) == step:
                        return True
    return False


def _last_store(analysis: ModuleAnalysis, function: cst.FunctionDef, element: tuple[str, str], before: cst.Assign) -> Optional[cst.CSTNode]:
    """The last statement before `before` in the function that stores into `element` or re-binds its array
    (`plus = theta.copy()`): the statement whose value `before` reads."""
    module = analysis.module
    name, index = element
    order = analysis.index.order
    limit = order[before]
    latest: Optional[cst.CSTNode] = None
    writers = [
        call for call in analysis.index.nodes_in(function, cst.Call)
        if any(dotted_name(written) == name for written in written_in_place(call)) and limit > order[call]
    ]
    for statement in (*analysis.index.nodes_in(function, cst.Assign), *analysis.index.nodes_in(function, cst.AugAssign), *writers):
        if order[statement] >= limit or (latest is not None and order[statement] <= order[latest]):
            continue
        if type(statement) is cst.Call:
            latest = statement  # `np.copyto(plus, theta)`, `plus.fill(0)`: written in place
            continue
        targets = [t.target for t in statement.targets] if type(statement) is cst.Assign else [statement.target]
        for target in unpacked_targets(targets):
            if dotted_name(target) == name:
                latest = statement  # the array re-bound (also by a swap, `plus, spare = spare, plus`)
            elif type(target) is cst.Subscript:
                stored = _element(module, target)
                if stored is None or stored[0] == name:
                    latest = statement  # the element, or one of the array's the index cannot tell apart
    return latest


def _moved_by(statement: cst.CSTNode, step: str, opposite_of: type) -> bool:
    """`x[i] = x[i] + step` / `x[i] = theta[i] + step` / `x[i] += step`, the sign opposite to `opposite_of`."""
    wanted = cst.Add if opposite_of is cst.Subtract else cst.Subtract
    if type(statement) not in (cst.Assign, cst.AugAssign):
        return False  # written in place by a call
    if type(statement) is cst.AugAssign:
        operator = {cst.AddAssign: cst.Add, cst.SubtractAssign: cst.Subtract}.get(type(statement.operator))  # type: ignore[call-overload]
        return operator is wanted and dotted_name(statement.value) == step
    value = statement.value  # type: ignore[attr-defined]
    return type(value) is cst.BinaryOperation and type(value.operator) is wanted and dotted_name(value.right) == step
