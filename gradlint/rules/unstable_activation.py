"""GL305 unstable-activation: tanh, sigmoid or softplus written in a form that overflows."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.numerics import Numerics, Stability, is_number, numerics, one_plus_term, unwrap
from gradlint.analysis.syntax import call_name, last_part, literal_number, names_in
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid


class UnstableActivation(Rule):
    code = "GL305"
    name = "unstable-activation"
    severity = Severity.WARNING
    summary = "An activation or its derivative written from exps that overflow (tanh, softplus, the sigmoid or its derivative as a ratio of exps), or a sigmoid shifted by a max."
    what_it_does = """
        Finds three hand-written activations: `tanh` as `(exp(x) - exp(-x)) / (exp(x) + exp(-x))`
        (or with `exp(2x)`), softplus as `log(1 + exp(x))`, and a sigmoid whose input is shifted
        by its max (`1 / (1 + exp(-(x - max(x))))`); and the sigmoid or its derivative written from its
        exps, `exp(x) / (1 + exp(x))` and `exp(x) / (1 + exp(x))**2` (or with `exp(-x)`, inf/inf = nan below
        x ~ -709), of a raw input.
        Silent where the domain is chosen: a branch of
        `np.where` that tests the input (for a plain `x >= 0` test, only the branch that keeps the
        exponent bounded above: `np.where(x >= 0, np.exp(x) / ..., ...)` has its branches swapped), or an `if`/`elif`/`else` (or conditional expression) whose
        condition bounds the exponent from above by a constant below exp's overflow (pytensor's
        piecewise softplus takes `np.log1p(np.exp(x))` only under `elif x < 18.0:`), a chained test
        (`-30 <= x <= 30`) or a magnitude test (`abs(x) < 30`) included, or after a guard clause that
        leaves when the input is large (`if x > 20: return x`). The overflow bound is 709, or 88 in a
        function whose code names float32 (11 for float16; never from a docstring or comment).
        Silent too on a softplus that is the whole argument of a tanh or erf (Mish, SERF), also through a
        name read nowhere else (`sp = np.log(1 + np.exp(x))`, then `np.tanh(sp)`): they map
        inf to 1, so the activation's value stays right (not with `math.exp`, which raises).
        """
    why_bad = """
        `exp(x)` is inf for x above ~709 (float32: 88): the tanh form becomes inf/inf = nan and the
        softplus becomes inf where `x` would be right. Subtracting the max is only valid for softmax,
        whose normalisation cancels the shift; a sigmoid has no normaliser, so the shift changes its
        values (sigmoid(x - m) != sigmoid(x)).
        """
    example = """
        def tanh(x):
            return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))

        def softplus(x):
            return np.log(1 + np.exp(x))
        """
    use_instead = """
        def tanh(x):
            return np.tanh(x)

        def softplus(x):
            return np.logaddexp(0, x)
        """
    references = ("numpy.logaddexp: https://numpy.org/doc/stable/reference/generated/numpy.logaddexp.html",)

    INVALID = (
        Invalid(
            """
            import numpy as np

            def sigmoid_prime(x):
                return np.where(x >= 0, np.exp(x) / (1 + np.exp(x)) ** 2, np.exp(-x) / (1 + np.exp(-x)) ** 2)

            def softplus(x):
                return np.where(0 < x, np.log1p(np.exp(x)), x)
            """,
            line=4,
            count=3,
            message="overflows",
            why="the adversarial review: np.where branches written the wrong way round (exp(x) where x >= 0) choose no safe domain",
        ),
        Invalid(
            """
            import numpy as np

            def tanh(x):
                return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
            """,
            line=4,
            message="tanh",
            why="free function: tanh from exps",
        ),
        Invalid(
            """
            import numpy as np

            class Softplus:
                def forward(self, x):
                    self.x = x
                    return np.log(1 + np.exp(x))
            """,
            line=6,
            message="softplus",
            why="layer class: softplus",
        ),
        Invalid(
            """
            import math
            import numpy as np

            def mish_math(x):
                return x * math.tanh(math.log(1 + math.exp(x)))

            def scaled_inside(x):
                return np.tanh(0.5 * np.log(1 + np.exp(x)))

            def also_read_alone(x):
                sp = np.log1p(np.exp(x))
                return x * np.tanh(sp), sp
            """,
            line=5,
            count=3,
            message="softplus written as",
            why="near misses of Mish and SERF: math.exp raises OverflowError, a softplus that is not the whole "
            "argument of the tanh, a softplus also returned on its own",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(Z):
                Z = Z - np.max(Z, axis=0, keepdims=True)
                return 1 / (1 + np.exp(-Z))
            """,
            line=5,
            message="sigmoid",
            why="column layout: the softmax trick applied to a sigmoid",
        ),
        Invalid(
            """
            import numpy as np

            def tanh(z):
                e2 = np.exp(2 * z)
                return (e2 - 1) / (e2 + 1)
            """,
            line=5,
            why="tanh via exp(2z) through a name",
        ),
        Invalid(
            """
            import numpy as np

            def tanh(x):
                ex, enx = np.exp(x), np.exp(-x)
                return (ex - enx) / (ex + enx)
            """,
            line=5,
            message="tanh written as `(ex - enx) / (ex + enx)`",
            why="both exps bound by one tuple assignment",
        ),
        Invalid(
            """
            import numpy as np

            def softplus_low(x):
                if x > -37.0:
                    return np.log1p(np.exp(x))
                return np.exp(x)

            def softplus_else(x):
                if x < 18.0:
                    return x + np.exp(-x)
                else:
                    return np.log1p(np.exp(x))

            def softplus_wide(x):
                if x < 1000.0:
                    return np.log1p(np.exp(x))
                return x

            def softplus_rebound(x):
                if x < 18.0:
                    x = 2 * x
                    return np.log(1 + np.exp(x))
                return x
            """,
            line=5,
            count=4,
            message="softplus written as",
            why="near misses of the piecewise softplus: a branch that bounds x from below only, the other side of "
            "the test, a bound beyond exp's overflow (709), x re-bound after the test",
        ),
        Invalid(
            """
            import math
            import numpy as np

            def guard_wrong_side(x):
                if x < 20.0:
                    return x
                return math.log(1.0 + math.exp(x))

            def guard_falls_through(x):
                if x > 20.0:
                    print(x)
                return math.log(1.0 + math.exp(x))

            def magnitude_above(x):
                if abs(x) > 30:
                    return np.log(1 + np.exp(x))
                return x

            def chain_fails(x):
                if -30 <= x <= 30:
                    return x
                return np.log1p(np.exp(x))

            def guard_then_rebound(x):
                if x > 20.0:
                    return x
                x = x * 100
                return math.log(1.0 + math.exp(x))

            def softplus_f32(x):
                x = np.float32(x)
                if x < 100.0:
                    return np.log1p(np.exp(x))
                return x
            """,
            line=7,
            count=6,
            message="softplus written as",
            why="near misses of the guard clause, chain and magnitude bounds: the clause leaves for small x; its "
            "body does not leave; |x| above a bound; a failed chain bounds no link; x re-bound after the clause; "
            "a bound of 100 in code that computes in float32 (exp overflows above 88; fphunt2 "
            "lost/gl305_float32_bound.py)",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid_backward(dout, save_x):
                dw = np.exp(save_x) / (1 + np.exp(save_x))**2
                return dout * dw

            class Sigmoid:
                def backward(self, grad):
                    e = np.exp(-self.x)
                    return grad * e / (e + 1) ** 2.0

            def sigmoid_prime(Z):
                ez = np.exp(-Z)
                if Z.ndim > 1:
                    return ez / ((1.0 + ez) ** 2)
                return np.exp(Z) / (1 + np.exp(Z)) ** 2
            """,
            line=4,
            count=3,
            message="sigmoid derivative written as `np.exp(save_x) / (1 + np.exp(save_x))**2`: `np.exp(save_x)` overflows",
            why="real code (dreamerlin/nn_project1 naive_nn/nn/activation.py, rw4a miss/08): exp(x) / (1 + exp(x))**2 is "
            "inf/inf = nan above x ~ 709 (and exp(-x) / (1 + exp(-x))**2 below x ~ -709), where the derivative is 0; "
            "a test of the shape (not the values) chooses no domain. (The layer's `self.x` is unknown: only the "
            "parameter forms fire.)",
        ),
        Invalid(
            """
            import numpy as np

            def exp_fact(beta, x_array):
                s = np.dot(x_array, beta)
                return np.exp(s) / (1 + np.exp(s))

            class SoftPlus:
                def grad(self, x):
                    exp_x = np.exp(x)
                    return exp_x / (exp_x + 1)

            def logistic(z):
                return np.exp(-z) / (1.0 + np.exp(-z))
            """,
            line=5,
            count=3,
            message="sigmoid written as `np.exp(s) / (1 + np.exp(s))`: `np.exp(s)` overflows to inf for `s` above ~709 "
            "(float32: 88) and the ratio becomes inf/inf = nan where the sigmoid is 1; write it `1 / (1 + np.exp(-s))`",
            why="real code (rw5c logistic_penalized.py `exp_fact`, used by its gradient and Hessian; numpy-ml "
            "SoftPlus.grad; nimblenet's softplus derivative): the sigmoid from its exps is inf/inf = nan above "
            "x ~ 709 (with exp(-z): below -709)",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def sigmoid(x):
                return 1.0 / (1.0 + np.exp(-x))

            def mish_derivative(grads_output, x_input):
                softplus_x = np.log(1.0 + np.exp(x_input))
                tanh_softplus_x = np.tanh(softplus_x)
                dmish_dx = tanh_softplus_x + x_input * (1.0 - tanh_softplus_x ** 2) * sigmoid(x_input)
                return grads_output * dmish_dx
            """,
            why="review 6 (rw6c fp/01, a Mish derivative): the softplus is named, and its only read is the whole "
            "argument of a tanh, which maps inf to exactly 1",
        ),
        Valid(
            """
            import numpy as np
            import torch
            from scipy.special import erf

            def serf(x):
                return x * erf(np.log(1 + np.exp(x)))

            def mish(x):
                return x * np.tanh(np.log1p(np.exp(x)))

            def mish_torch(x):
                return x * torch.tanh(torch.log(1 + torch.exp(x)))
            """,
            why="oniani/ai activation/serf.py (SERF) and Mish: the overflowing softplus is the whole argument of "
            "erf or tanh, which map inf to exactly 1, so the activation's value is right (x) where exp overflows",
        ),
        Valid(
            """
            import numpy as np

            def softplus(x):
                if x < -37.0:
                    return np.exp(x)
                elif x < 18.0:
                    return np.log1p(np.exp(x))
                elif x < 33.3:
                    return x + np.exp(-x)
                else:
                    return x

            def impl(x, not_int8):
                if x < -37.0:
                    return np.exp(x)
                elif x < 18.0:
                    return np.log1p(np.exp(x)) if not_int8 else np.log1p(np.exp(x, signature="f"))
                return x

            def softplus_flipped(x):
                if 20 <= x:
                    return x
                else:
                    return np.log(1 + np.exp(x))

            def softplus_inline(x):
                return x if x > 30 else np.log1p(np.exp(x))
            """,
            why="real code (pytensor scalar/math.py Softplus.impl and numba dispatch): the piecewise softplus of "
            "Maechler 2012 takes log1p(exp(x)) only where a branch bounds x from above",
        ),
        Valid(
            """
            import math
            import numpy as np

            def softplus(x):
                if x > 20.0:
                    return x
                return math.log(1.0 + math.exp(x))

            def softplus_piecewise(x):
                if x < -30:
                    return math.exp(x)
                elif -30 <= x <= 30:
                    return math.log1p(math.exp(x))
                else:
                    return x

            def softplus_abs(x):
                if abs(x) < 30:
                    return np.log(1 + np.exp(x))
                return max(x, 0.0)

            def softplus_loop(xs):
                out = []
                for x in xs:
                    if x >= 30:
                        out.append(x)
                        continue
                    out.append(math.log1p(math.exp(x)))
                return out

            def softplus_f32(x):
                x = np.float32(x)
                if x < 30.0:
                    return np.log1p(np.exp(x))
                return x
            """,
            why="fphunt2 fp/gl305_early_return_guard.py: a guard clause that leaves for large x (return, continue), a "
            "chained test `-30 <= x <= 30`, a magnitude test `abs(x) < 30`; a float32 function with a bound below 88",
        ),
        Valid(
            """
            import numpy as np

            def softplus(x):
                \"\"\"Softplus; a float32 array is promoted to float64 first.\"\"\"
                x = np.asarray(x, dtype=np.float64)  # float32 in, float64 out
                if x > 700.0:
                    return x
                return np.log1p(np.exp(x))
            """,
            why="float32 named only in prose (a docstring, a comment): the code computes in float64, where 700 bounds exp",
        ),
        Valid(
            """
            import numpy as np

            def softplus(x):
                return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)

            def tanh(x):
                return np.tanh(x)

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))
            """,
            why="the stable forms; a plain sigmoid",
        ),
        Valid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x, axis=1, keepdims=True))
                return e / np.sum(e, axis=1, keepdims=True)

            def tanh_clipped(x):
                x = np.clip(x, -20, 20)
                return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
            """,
            why="the max shift in a softmax is right; a clipped input cannot overflow",
        ),
        Valid(
            """
            import math

            def log_odds_sum(a, b):
                return math.log(1 + math.exp(-abs(a - b)))
            """,
            why="a bounded exponent",
        ),
        Valid(
            """
            import numpy as np

            def log_sigmoid(x):
                return np.where(x < 0, x - np.log1p(np.exp(x)), -np.log1p(np.exp(-x)))
            """,
            why="np.where picks log1p(exp(x)) only where x < 0, where it cannot overflow",
        ),
        Valid(
            """
            import numpy as np

            def exps(x):
                x = np.clip(x, -20, 20)
                return np.exp(x), np.exp(-x)

            def tanh_unpacked(x):
                ex, enx = exps(x)
                return (ex - enx) / (ex + enx)

            def tanh_clipped_pair(x, y):
                x, y = np.clip(x, -20, 20), x
                ex, enx = np.exp(x), np.exp(-x)
                return (ex - enx) / (ex + enx)
            """,
            why="tuple assignments: unpacked from a helper (it may clip); a clip bound by a tuple assignment",
        ),
        Valid(
            """
            import math
            import numpy as np

            def sigmoid_grad_abs(x):
                e = np.exp(-np.abs(x))
                return e / (1 + e) ** 2

            def sigmoid_grad_where(x):
                return np.where(x >= 0, np.exp(-x) / (1 + np.exp(-x)) ** 2, np.exp(x) / (1 + np.exp(x)) ** 2)

            def sigmoid_grad_branch(x):
                if x >= 0:
                    return np.exp(-x) / (1 + np.exp(-x)) ** 2
                else:
                    return np.exp(x) / (1 + np.exp(x)) ** 2

            def sigmoid_grad_guard(x):
                if x < -30:
                    return 0.0
                return np.exp(-x) / (1 + np.exp(-x)) ** 2

            def sigmoid_grad(x):
                s = 1 / (1 + np.exp(-x))
                return s * (1 - s)

            def sigmoid_grad_clipped(x):
                x = np.clip(x, -500, 500)
                return np.exp(x) / (1 + np.exp(x)) ** 2

            def not_the_derivative(x):
                return np.exp(x) / (1 + np.exp(-x)) ** 2, np.exp(x) / (1 + np.exp(x)) ** 3

            logistic_pdf = lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2

            def stable_sigmoid(x):
                return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))

            def stable_sigmoid_branch(x):
                if x < 0:
                    e = np.exp(x)
                    return e / (1 + e)
                return 1 / (1 + np.exp(-x))

            def sigmoid_abs(x):
                e = np.exp(-np.abs(x))
                return np.where(x >= 0, 1 / (1 + e), e / (1 + e))

            def logistic_math(x):
                return math.exp(x) / (1 + math.exp(x))

            def not_the_sigmoid(x, y):
                return np.exp(x) / (1 + np.exp(y)), np.exp(x) / (2 + np.exp(x))
            """,
            why="the stable sigmoid derivatives: an exponent -|x| that only underflows, np.where or an if/else on the "
            "sign, a guard clause keeping x above -30 for exp(-x), s * (1 - s), a clipped input; other ratios "
            "(different exponents, a cube) are no sigmoid derivative; with math.exp (scipy's logistic pdf in "
            "stats/_sampling.py) the overflow raises OverflowError instead of giving nan; the same for the "
            "sigmoid itself (the stable split by sign, -|x|, math.exp; other ratios)",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        model = numerics(analysis)
        for node in analysis.index.nodes(cst.BinaryOperation):
            if type(node.operator) is cst.Divide:
                finding = self._tanh(model, node) or self._shifted_sigmoid(model, node) or self._sigmoid_derivative(model, node)
                if finding is not None:
                    yield finding
        for call in analysis.index.nodes(cst.Call):
            operation = model.operation(call)
            if operation in ("log", "log1p") and not model.is_method_call(call) and call.args:
                finding = self._softplus(model, call, operation)
                if finding is not None:
                    yield finding

    def _raw_exponent(self, model: Numerics, exp: cst.BaseExpression, anchor: cst.CSTNode) -> bool:
        argument = model.exp_argument(exp)
        if argument is None:
            return False
        scope = model.scope_of(anchor)
        return model.stability(argument, scope, scope.order_of(exp, model.analysis)) is Stability.RAW

    def _tanh(self, model: Numerics, node: cst.BinaryOperation) -> Optional[Finding]:
        top, bottom = unwrap(node.left), unwrap(node.right)
        if not (type(top) is cst.BinaryOperation and type(top.operator) is cst.Subtract):
            return None
        if not (type(bottom) is cst.BinaryOperation and type(bottom.operator) is cst.Add):
            return None
        code = model.code
        if {code(top.left), code(top.right)} != {code(bottom.left), code(bottom.right)}:
            return None
        scope = model.scope_of(node)
        order = scope.order_of(node, model.analysis)
        terms = [model.exp_call(term, scope, order) for term in (top.left, top.right)]
        exps = [term for term in terms if term is not None]
        others = [t for t, e in zip((top.left, top.right), terms) if e is None]
        if not exps or any(not is_number(other, 1) for other in others):
            return None
        if not any(self._raw_exponent(model, exp, node) for exp in exps):
            return None
        return Finding(
            node,
            f"tanh written as `{code(node)}`: exp overflows to inf for |x| above ~355-709 and the ratio "
            "becomes inf/inf = nan; use np.tanh",
        )

    def _shifted_sigmoid(self, model: Numerics, node: cst.BinaryOperation) -> Optional[Finding]:
        argument = model.sigmoid_argument(node)
        if argument is None:
            return None
        scope = model.scope_of(node)
        order = scope.order_of(node, model.analysis)
        if model.stability(argument, scope, order) not in (Stability.SHIFTED_AXIS, Stability.SHIFTED_GLOBAL):
            return None
        shift = model.shift_call(argument, scope, order)
        return Finding(
            node,
            f"sigmoid `{model.code(node)}` of an input shifted by its max"
            + (f" (`{model.code(shift)}`)" if shift is not None else "")
            + ": a sigmoid has no normaliser to cancel the shift, so this changes its values; "
            "sigmoid is stable without it (or use scipy.special.expit)",
        )

    def _sigmoid_derivative(self, model: Numerics, node: cst.BinaryOperation) -> Optional[Finding]:
        """`exp(a) / (1 + exp(a))**2` (the sigmoid's derivative from its exps), or `exp(a) / (1 + exp(a))`
        (the sigmoid itself), `a` raw: inf/inf = nan once `a` passes exp's overflow, where the derivative
        is 0 and the sigmoid 1. Silent where the domain is chosen (a `np.where` branch or an `if` testing
        the input, as for the softplus)."""
        bottom = unwrap(node.right)
        squared = type(bottom) is cst.BinaryOperation and type(bottom.operator) is cst.Power and _is_two(bottom.right)
        term = one_plus_term(bottom.left if squared else bottom)  # type: ignore[attr-defined]
        if term is None:
            return None
        scope = model.scope_of(node)
        order = scope.order_of(node, model.analysis)
        top_exp = model.exp_call(node.left, scope, order)
        bottom_exp = model.exp_call(term, scope, order)
        if top_exp is None or bottom_exp is None:
            return None
        if _raises_on_overflow(model, top_exp) or _raises_on_overflow(model, bottom_exp):
            return None  # math.exp raises OverflowError there, loudly (scipy's logistic pdf), not inf/inf = nan
        exponent = model.exp_argument(top_exp)
        if exponent is None or model.code(unwrap(exponent)) != model.code(unwrap(model.exp_argument(bottom_exp))):  # type: ignore[arg-type]
            return None
        if not self._raw_exponent(model, top_exp, node) or not self._raw_exponent(model, bottom_exp, node):
            return None
        exponent = unwrap(exponent)
        negated = type(exponent) is cst.UnaryOperation and type(exponent.operator) is cst.Minus
        if _selected_by_where(model, node, exponent):
            return None
        if negated and _bounded_above_by_branch(model, node, exponent.expression, upper=False):  # type: ignore[attr-defined]
            return None  # exp(-x) where a branch keeps x above a constant
        if not negated and _bounded_above_by_branch(model, node, exponent):
            return None
        where = (
            f"`{model.code(exponent.expression)}` below ~-709 (float32: -88)"  # type: ignore[attr-defined]
            if negated
            else f"`{model.code(exponent)}` above ~709 (float32: 88)"
        )
        if not squared:
            value = "0" if negated else "1"
            stable = f"1 / (1 + np.exp({model.code(exponent.expression) if negated else '-' + _operand(model, exponent)}))"  # type: ignore[attr-defined]
            return Finding(
                node,
                f"sigmoid written as `{model.code(node)}`: `{model.code(top_exp)}` overflows to inf for {where} "
                f"and the ratio becomes inf/inf = nan where the sigmoid is {value}; write it "
                f"`{stable}` (or scipy.special.expit)",
            )
        return Finding(
            node,
            f"sigmoid derivative written as `{model.code(node)}`: `{model.code(top_exp)}` overflows to inf for "
            f"{where} and the ratio becomes inf/inf = nan where the derivative is 0; compute it "
            "from the sigmoid, s * (1 - s) with s = 1 / (1 + np.exp(-x)) (or scipy.special.expit)",
        )

    def _softplus(self, model: Numerics, call: cst.Call, operation: str) -> Optional[Finding]:
        argument = unwrap(call.args[0].value)
        if operation == "log1p":
            exp = argument
        elif type(argument) is cst.BinaryOperation and type(argument.operator) is cst.Add:
            if is_number(argument.left, 1):
                exp = argument.right
            elif is_number(argument.right, 1):
                exp = argument.left
            else:
                return None
        else:
            return None
        scope = model.scope_of(call)
        exp_node = model.exp_call(exp, scope, scope.order_of(call, model.analysis))
        if exp_node is None or not self._raw_exponent(model, exp_node, call):
            return None
        exponent = model.exp_argument(exp_node)
        if type(exponent) is cst.UnaryOperation and type(exponent.operator) is cst.Minus:
            return None  # log(1 + exp(-x)) is the stable half for x >= 0; the domain decides
        if exponent is not None and _selected_by_where(model, call, exponent):
            return None
        if exponent is not None and _bounded_above_by_branch(model, call, exponent):
            return None
        if _saturated_by(model, call, exp_node):
            return None
        return Finding(
            call,
            f"softplus written as `{model.code(call)}`: `{model.code(exp_node)}` overflows to inf for inputs "
            "above ~709 (float32: 88) where the answer is the input itself; use np.logaddexp(0, x) "
            "(torch: torch.nn.functional.softplus)",
        )


def _operand(model: Numerics, node: cst.BaseExpression) -> str:
    """`node`'s code, parenthesised unless it is a name, attribute, call or subscript (to follow a `-`)."""
    code = model.code(node)
    return code if type(node) in (cst.Name, cst.Attribute, cst.Call, cst.Subscript) else f"({code})"


def _is_two(node: cst.BaseExpression) -> bool:
    """The literal 2 written `2`, `2.` or `2.0` (the spellings the registry's pre-check admits)."""
    node = unwrap(node)
    return type(node) in (cst.Integer, cst.Float) and node.value in ("2", "2.", "2.0")  # type: ignore[attr-defined]


# Functions that map +inf to a finite limit (tanh(inf) = erf(inf) = 1): a softplus that overflows
# inside one still gives the right value (Mish, `x * tanh(log(1 + exp(x)))`; SERF with erf).
_SATURATING = frozenset({"tanh", "erf"})


def _saturated_by(model: Numerics, call: cst.Call, exp_node: cst.BaseExpression) -> bool:
    """The softplus `call` is the whole argument of a tanh or erf, and its exp returns inf on
    overflow (numpy, torch) rather than raising (`math.exp` raises OverflowError)."""
    if not (_whole_saturating_argument(model, call) or _named_for_saturating_only(model, call)):
        return False
    return not _raises_on_overflow(model, exp_node)


def _whole_saturating_argument(model: Numerics, node: cst.BaseExpression) -> bool:
    """`node` is the whole and only argument of a tanh or erf call."""
    index = model.analysis.index
    argument = index.parent(node)  # parentheses are the node's own (lpar): the Arg holds it directly
    outer = index.parent(argument) if type(argument) is cst.Arg else None
    return type(outer) is cst.Call and len(outer.args) == 1 and last_part(call_name(outer)) in _SATURATING


def _named_for_saturating_only(model: Numerics, call: cst.Call) -> bool:
    """The softplus `call` is the whole value of `sp = ...`, the function's only binding of `sp`, and every
    read of `sp` there is the whole argument of a tanh or erf (`sp = np.log(1 + np.exp(x))`, then
    `t = np.tanh(sp)` in a Mish derivative)."""
    index = model.analysis.index
    statement = index.parent(call)
    if type(statement) is not cst.Assign or len(statement.targets) != 1 or type(statement.targets[0].target) is not cst.Name:
        return False
    name = statement.targets[0].target.value
    function = index.function_containing(call)
    if function is None or len(model.scope(function).bindings.get(name, ())) != 1:
        return False
    target = statement.targets[0].target
    reads = [node for node in index.walk_subtree(function.body) if type(node) is cst.Name and node.value == name and node is not target]
    return bool(reads) and all(_whole_saturating_argument(model, node) for node in reads)


def _raises_on_overflow(model: Numerics, exp_node: cst.BaseExpression) -> bool:
    """Python's `math.exp` (also imported by name or through an alias): it raises OverflowError where
    numpy and torch return inf."""
    if type(exp_node) is not cst.Call:
        return False
    return (model.qualified(exp_node.func) or call_name(exp_node) or "") == "math.exp"


def _selected_by_where(model: Numerics, node: cst.CSTNode, exponent: cst.BaseExpression) -> bool:
    """True inside a branch of `where(cond, a, b)` whose condition tests the exponent's
    variables (`np.where(x < 0, x - np.log1p(np.exp(x)), ...)`): the domain is chosen."""
    index = model.analysis.index
    variables = names_in(exponent)
    child: cst.CSTNode = node
    for ancestor in index.ancestors(node):
        if type(ancestor) is cst.Call and last_part(call_name(ancestor)) == "where" and len(ancestor.args) == 3:
            in_branch = child is ancestor.args[1] or child is ancestor.args[2]
            if in_branch and variables & names_in(ancestor.args[0].value):
                # a plain `x >= 0` test whose branch leaves the exponent unbounded above (the branches
                # swapped: exp(x) where x >= 0) chooses the wrong domain; anything else is taken as chosen
                return _branch_bounds_above(ancestor.args[0].value, exponent, child is ancestor.args[1]) is not False
        if type(ancestor) in (cst.FunctionDef, cst.Lambda):
            return False
        child = ancestor
    return False


def _branch_bounds_above(test: cst.BaseExpression, exponent: cst.BaseExpression, when_true: bool) -> Optional[bool]:
    """Whether the branch of `where(test, a, b)` (`a` when `when_true`) keeps `exponent` (`v` or `-v`) bounded
    above, for a test `v OP number` (either side); None when the test is of another shape."""
    exponent = unwrap(exponent)
    sign = 1
    if type(exponent) is cst.UnaryOperation and type(exponent.operator) is cst.Minus:
        sign, exponent = -1, unwrap(exponent.expression)
    test = unwrap(test)
    if type(exponent) is not cst.Name or type(test) is not cst.Comparison or len(test.comparisons) != 1:
        return None
    operator = type(test.comparisons[0].operator)
    left, right = unwrap(test.left), unwrap(test.comparisons[0].comparator)
    if operator not in _BELOW:
        return None
    below = _BELOW[operator]  # `v < c`: v bounded above
    if type(left) is cst.Name and left.value == exponent.value and literal_number(right) is not None:
        pass
    elif type(right) is cst.Name and right.value == exponent.value and literal_number(left) is not None:
        below = not below  # `c < v`
    else:
        return None
    if not when_true:
        below = not below
    return below if sign == 1 else not below


# exp(x) is finite for x up to ~709.78 in float64: a branch that bounds x below this cannot overflow.
_EXP_FINITE_BELOW = 709.0
_BELOW = {cst.LessThan: True, cst.LessThanEqual: True, cst.GreaterThan: False, cst.GreaterThanEqual: False}


def _bounded_above_by_branch(model: Numerics, node: cst.CSTNode, exponent: cst.BaseExpression, upper: bool = True) -> bool:
    """True inside a branch (`if`, `elif`, `else`, or a conditional expression) whose condition bounds
    the exponent from above by a constant below exp's overflow, with the exponent's names not re-bound
    between the test and `node`: pytensor's piecewise softplus computes `np.log1p(np.exp(x))` only
    under `elif x < 18.0:` (the stable softplus of Maechler 2012). With `upper` False, `exponent` is
    the `x` of an `exp(-x)`: the condition must bound it from below (`if x >= 0:`)."""
    index = model.analysis.index
    exponent_code = model.code(unwrap(exponent))
    variables = names_in(exponent)
    scope = model.scope_of(node)
    node_order = scope.order_of(node, model.analysis)
    limit = _overflow_limit(model, node)

    def unchanged_since(test_holder: cst.CSTNode) -> bool:
        test_order = scope.order_of(test_holder, model.analysis)
        return not any(
            test_order <= binding.order < node_order for name in variables for binding in scope.bindings.get(name, ())
        ) and not any(test_order <= at < node_order for name in variables for at in scope.mutations.get(name, ()))

    child: cst.CSTNode = node
    for ancestor in index.ancestors(node):
        if type(ancestor) in (cst.FunctionDef, cst.Lambda, cst.ClassDef):
            return False
        if type(ancestor) in (cst.If, cst.IfExp):
            holds: Optional[bool] = None
            if child is ancestor.body:
                holds = True
            elif child is ancestor.orelse:
                holds = False
            if holds is not None and _bounds_above(model, ancestor.test, exponent_code, holds, limit, upper) and unchanged_since(ancestor):
                return True
        if type(ancestor) is cst.IndentedBlock:
            # a guard clause before: `if x > 20: return x` -- reaching `node` means its test failed
            for item in ancestor.body:
                if item is child:
                    break
                if (
                    type(item) is cst.If
                    and _always_leaves(item.body)
                    and _bounds_above(model, item.test, exponent_code, False, limit, upper)
                    and unchanged_since(item)
                ):
                    return True
        child = ancestor
    return False


def _always_leaves(block: cst.BaseSuite) -> bool:
    """The block ends in `return`, `raise`, `continue` or `break`: what follows its `if` runs only when
    the test failed."""
    items = block.body
    if not items:
        return False
    last = items[-1]
    if type(last) is cst.SimpleStatementLine:
        last = last.body[-1] if last.body else None
    return type(last) in (cst.Return, cst.Raise, cst.Continue, cst.Break)


def _overflow_limit(model: Numerics, node: cst.CSTNode) -> float:
    """The largest exponent exp keeps finite in the precision the enclosing function evidently
    computes in: 709 (float64), 88 when it names float32, 11 when it names float16 / half."""
    function = model.analysis.index.function_containing(node)
    if function is None:
        return _EXP_FINITE_BELOW
    key = ("GL305-overflow-limit", function)
    found = model.memo.get(key)
    if found is None:
        dtypes = _dtypes_named(model, function)
        found = 11.0 if "float16" in dtypes else 88.0 if "float32" in dtypes else _EXP_FINITE_BELOW
        model.memo[key] = found
    return found  # type: ignore[return-value]


def _dtypes_named(model: Numerics, function: cst.FunctionDef) -> set[str]:
    """The narrow float dtypes the function's code names: `np.float32`, `torch.float16`, `float32`
    imported, a string argument `"float32"` (`.astype("float32")`, `dtype="float16"`), a `.half()`
    call. Docstrings and comments do not count (the precision is read from code, not prose)."""
    index = model.analysis.index
    found = {name.value for name in index.nodes_in(function, cst.Name) if name.value in ("float32", "float16")}
    for attribute in index.nodes_in(function, cst.Attribute):
        parent = index.parent(attribute)
        if attribute.attr.value == "half" and type(parent) is cst.Call and parent.func is attribute:
            found.add("float16")
    for string in index.nodes_in(function, cst.SimpleString):
        if type(index.parent(string)) is cst.Arg and string.value[1:-1] in ("float32", "float16"):
            found.add(string.value[1:-1])
    return found


def _bounds_above(
    model: Numerics, test: cst.BaseExpression, exponent_code: str, holds: bool, limit: float = 709.0, upper: bool = True
) -> bool:
    """Whether `test` (when it `holds`, else when it fails) bounds the expression `exponent_code` from
    above by a constant below exp's overflow (`limit`): `x < 18.0`, `18 > x`, `-30 <= x <= 30`,
    `abs(x) < 30`; failing: `x > 18.0`, `x >= 18`. With `upper` False, from below by a constant above
    -`limit` (`x >= 0`, `abs(x) < 30`), for the `x` of an `exp(-x)`."""
    test = unwrap(test)
    if type(test) is cst.BooleanOperation:
        # `a and b` holding, or `a or b` failing: each side holds (fails) on its own
        if (type(test.operator) is cst.And) == holds:
            return _bounds_above(model, test.left, exponent_code, holds, limit, upper) or _bounds_above(
                model, test.right, exponent_code, holds, limit, upper
            )
        return False
    if type(test) is cst.UnaryOperation and type(test.operator) is cst.Not:
        return _bounds_above(model, test.expression, exponent_code, not holds, limit, upper)
    if type(test) is not cst.Comparison or (len(test.comparisons) != 1 and not holds):
        return False  # a chain `a < x < b` that fails says nothing about any one link
    left_side = test.left
    for comparison in test.comparisons:
        right_side = comparison.comparator
        if _link_bounds_above(model, left_side, comparison.operator, right_side, exponent_code, holds, limit, upper):
            return True
        left_side = right_side
    return False


def _link_bounds_above(
    model: Numerics,
    left_side: cst.BaseExpression,
    operator: cst.BaseCompOp,
    right_side: cst.BaseExpression,
    exponent_code: str,
    holds: bool,
    limit: float,
    upper: bool = True,
) -> bool:
    below = _BELOW.get(type(operator))
    if below is None:
        return False
    left, right = unwrap(left_side), unwrap(right_side)
    if _is_exponent(model, left, exponent_code, below == holds):
        bound, x_below, magnitude = right, below, model.code(left) != exponent_code  # `x < C`: x below C
    elif _is_exponent(model, right, exponent_code, below != holds):
        bound, x_below, magnitude = left, not below, model.code(right) != exponent_code  # `C > x`: x below C
    else:
        return False
    value = _constant(bound)
    if value is None:
        return False
    if upper or magnitude:  # |x| < C keeps x within [-C, C]: both bounds
        return value <= limit and x_below == holds
    return -value <= limit and x_below != holds  # `x >= C`: x above C, so -x <= -C


def _is_exponent(model: Numerics, node: cst.BaseExpression, exponent_code: str, bounded_below_c: bool) -> bool:
    """`node` is the exponent, or its magnitude `abs(x)` when the test keeps that below the constant
    (|x| < C bounds x from above; |x| > C bounds nothing)."""
    if model.code(node) == exponent_code:
        return True
    if bounded_below_c and type(node) is cst.Call and len(node.args) == 1 and not node.args[0].keyword and not node.args[0].star:
        if last_part(call_name(node)) in ("abs", "absolute", "fabs") and model.code(unwrap(node.args[0].value)) == exponent_code:
            return True
    return False


def _constant(node: cst.BaseExpression) -> Optional[float]:
    """The value of a numeric literal, possibly negated (`18.0`, `-37`)."""
    node = unwrap(node)
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:
        inner = literal_number(node.expression)
        return -float(inner) if inner is not None else None
    value = literal_number(node)
    return float(value) if value is not None else None
