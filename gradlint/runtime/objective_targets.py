"""Scalar objectives whose gradient the user wrote by hand (parent side, from syntax only).

The targets, checked by `gradlint.runtime.objectives` (in the sandbox) against central
differences of the objective itself, in order of precedence:

- scipy.optimize linkage, where the user says which function is the gradient of which:
  `minimize(f, x0, jac=g)`, `minimize(f, x0, jac=True)` (f returns (value, grad)),
  `fmin_bfgs/fmin_cg/fmin_ncg/fmin_tnc/fmin_l_bfgs_b(f, x0, fprime=g)` (`fmin_l_bfgs_b`
  without fprime or approx_grad: f returns both) and `check_grad(f, g, x0, *args)`, the
  optimiser imported from scipy.optimize and g defined in the module (f may be imported:
  `from scipy.optimize import rosen`); `hess=h` (`fhess=h`) makes h a target too, against
  the Jacobian of the gradient. With no `args=` g is checked at points near x0 (its shape
  when x0 is a literal); literal `args` are passed along; `args=` naming data with f and g
  of the cost-function signature below get random data; other `args=`: `unknown`, with
  the reason.
- objective / gradient pairs named alike with the same parameters: `cost_function` /
  `gradient_function`, `costFunctionReg` / `gradientReg`, `log_likelihood` /
  `log_likelihood_gradient` (the cost-function signature below, the objective returning
  one value; a module's only cost and only gradient of one such signature pair up too),
  and one-parameter objectives whose every return is visibly a scalar of their parameter
  (`fun(x)` / `gfun(x)`, `rosen` / `rosen_der`, `f` / `df`; then `rosen_hess`, `d2f` or a
  lone `hess` of the same parameter is the Hessian). A pair linked by names only whose
  gradient is off by a positive constant factor is `unknown` (a step-size convention).
- cost functions returning their own gradient, the Andrew Ng course convention
  `J, grad = costFunction(theta, X, y)`, `costFunctionReg(theta, X, y, lambda_)`,
  `linearRegCostFunction(X, y, theta, lambda_)`, `compute_cost_and_gradient(w, X, y)`:
  a module-level function named as a cost or loss whose required parameters are exactly
  a parameter vector (theta, w, weights, params, beta, B), data X, targets y and at most
  one regularisation strength (lambda_, lam, reg...), in any order, and whose every
  `return` is a pair `(J, <gradient-named>)`; and ex8's `cofiCostFunc(params, Y, R,
  num_users, num_movies, num_features, lambda)`.

Functions an earlier stage took (CS231n's `loss, dW = f(W, X, y, reg)`) keep their check.
"""

from __future__ import annotations

import ast
import json
import re
from typing import TYPE_CHECKING, Any, Optional

from gradlint.naming import RETURNED_GRADIENT

if TYPE_CHECKING:
    import libcst as cst

    from gradlint.analysis import ModuleAnalysis

ROLE = "objective"

POINT = re.compile(r"^(theta\w*|initial_theta|w|weights?|params|parameters|beta|coef)$", re.IGNORECASE)
DATA = re.compile(r"^(x|x_?train|x_?batch|features|data)$", re.IGNORECASE)
TARGETS = re.compile(r"^(y|y_?train|y_?batch|labels|targets?)$", re.IGNORECASE)
STRENGTH = re.compile(
    r"^((initial|init|my)_)?(_?lambda\w*|_?lam|lamb?da?|lmbda?|lmd|lmbd|l|reg|reg_?strength|reg_?lambda|reg_?factor|reg_?param|"
    r"regulari[sz]ation(_?\w+)?|c)$",
    re.IGNORECASE,
)
COST_NAME = re.compile(r"loss|cost|objective", re.IGNORECASE)
OBJECTIVE_NAME = re.compile(r"loss|cost|objective|likelihood|loglik|nll|energy|risk", re.IGNORECASE)
BOTH_NAMED = re.compile(r"(loss|cost|objective).*grad", re.IGNORECASE)  # `compute_cost_and_gradient`
# Methods that reshape a gradient on the way out (`return J, grad.flatten()`).
RESHAPES = frozenset({"flatten", "ravel", "reshape", "squeeze", "T", "copy", "astype"})

OPTIMISERS = {  # scipy.optimize function -> (the gradient's position, its keyword, the position of `args`)
    "minimize": (4, "jac", 2),
    "fmin_bfgs": (2, "fprime", 3),
    "fmin_cg": (2, "fprime", 3),
    "fmin_ncg": (2, "fprime", 5),
    "fmin_tnc": (2, "fprime", 3),
    "fmin_l_bfgs_b": (2, "fprime", 3),
    "check_grad": (1, "grad", None),
}


def _imports(analysis: "ModuleAnalysis") -> dict[str, str]:
    """Local name -> the dotted name it was imported as (`op` -> `scipy.optimize`)."""
    import libcst as cst

    from gradlint.analysis.syntax import dotted_name

    table: dict[str, str] = {}
    for node in analysis.index.nodes(cst.Import):
        for alias in node.names:
            full = dotted_name(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                table[alias.asname.name.value] = full
            elif full:
                table[full.split(".")[0]] = full.split(".")[0]
    for node in analysis.index.nodes(cst.ImportFrom):
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            continue
        module = dotted_name(node.module) or ""
        for alias in node.names:
            if not isinstance(alias.name, cst.Name):
                continue
            local = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else alias.name.value
            table[local] = f"{module}.{alias.name.value}"
    return table


def _resolved(table: dict[str, str], dotted: Optional[str]) -> Optional[str]:
    if not dotted:
        return None
    head, _, rest = dotted.partition(".")
    base = table.get(head)
    if base is None:
        return None
    return f"{base}.{rest}" if rest else base


def _returned_pairs(analysis: "ModuleAnalysis", function: "cst.FunctionDef") -> Optional[list["cst.Tuple"]]:
    from gradlint.runtime.self_gradient_targets import _returned_pairs as pairs

    return pairs(analysis, function)


def _gradient_named(value: "cst.BaseExpression") -> bool:
    """`grad`, `dJ_dw`, or one reshaped on the way out (`grad.flatten()`, `grad.reshape(-1)`, `grad.T`)."""
    import libcst as cst

    for _ in range(4):
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value in RESHAPES:
            value = value.func.value
        elif isinstance(value, cst.Attribute) and value.attr.value in RESHAPES:
            value = value.value
    return isinstance(value, cst.Name) and bool(RETURNED_GRADIENT.match(value.value))


def _order(function: "cst.FunctionDef") -> Optional[list[str]]:
    """The roles of the function's positional parameters (`point`, `X`, `y`, `reg`, or `default`
    for a further parameter with a default) when they fit the cost-function convention, else None."""
    import libcst as cst

    params = function.params
    if params.posonly_params or isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None:
        return None
    if any(p.default is None for p in params.kwonly_params):
        return None
    roles: list[str] = []
    for param in params.params:
        name = param.name.value
        if (POINT.match(name) or name == "B") and "point" not in roles:
            role = "point"
        elif DATA.match(name) and "X" not in roles:
            role = "X"
        elif TARGETS.match(name) and "y" not in roles:
            role = "y"
        elif STRENGTH.match(name) and "reg" not in roles:
            role = "reg"
        elif param.default is not None:
            role = "default"
        else:
            return None
        if role in ("point", "X", "y") and param.default is not None:
            return None
        roles.append(role)
    if not {"point", "X", "y"} <= set(roles):
        return None
    if "default" in roles and any(role != "default" for role in roles[roles.index("default"):]):
        return None  # a parameter with a default before one of the convention's: not called positionally
    return roles


COFI_ORDER = ("point", "Y", "R", "num_users", "num_movies", "num_features", "reg")


def _cofi_signature(function: "cst.FunctionDef") -> bool:
    """`cofiCostFunc(params, Y, R, num_users, num_movies, num_features, lambda)` (Ng's ex8)."""
    import libcst as cst

    params = function.params
    if params.posonly_params or isinstance(params.star_arg, cst.Param) or len(params.params) != 7:
        return False
    names = [p.name.value.lower() for p in params.params]
    return names[:6] == ["params", "y", "r", "num_users", "num_movies", "num_features"] and bool(STRENGTH.match(names[6]))


def _pair_returning_cost(analysis: "ModuleAnalysis", function: "cst.FunctionDef") -> bool:
    """Every return is `(J, <gradient-named>)` (any second item when the function is named as both,
    `compute_cost_and_gradient`), J not the parameter vector itself."""
    import libcst as cst

    pairs = _returned_pairs(analysis, function)
    if pairs is None:
        return False
    named_both = bool(BOTH_NAMED.search(function.name.value))
    for pair in pairs:
        first, second = (element.value for element in pair.elements)
        if not (named_both or _gradient_named(second)):
            return False
        if isinstance(first, cst.BinaryOperation) and isinstance(first.operator, (cst.Add, cst.Subtract)):
            first = first.left  # `return theta - alpha * grad, grad`: a step
        if isinstance(first, cst.Name) and (POINT.match(first.value) or first.value == "B"):
            return False  # `return theta, grad`: the parameters (updated?), not the cost
    return True


def _target(analysis: "ModuleAnalysis", function: "cst.FunctionDef", qualname: str, forward: str, evidence: str,
            options: dict[str, Any]) -> Any:
    from gradlint.runtime.targets import Target, _place

    start, end, first, last = _place(analysis, function)
    return Target(qualname, ROLE, None, forward, start, end, first, last, evidence=evidence,
                  options=json.dumps(options, sort_keys=True))


def _literal(node: "cst.BaseExpression") -> tuple[bool, Any]:
    """(True, value) for a literal (numbers, strings, tuples and lists of them, `np.array([...])`)."""
    import libcst as cst

    if isinstance(node, cst.Call) and node.args and len(node.args) == 1 and node.args[0].keyword is None:
        from gradlint.analysis.syntax import call_name

        name = call_name(node) or ""
        if name.split(".")[-1] in ("array", "asarray") and name.split(".")[0] in ("np", "numpy"):
            node = node.args[0].value
    try:
        code = cst.Module([]).code_for_node(node)
        value = ast.literal_eval(code.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False, None
    return True, value


def _shape_of(node: Optional["cst.BaseExpression"]) -> Optional[list[int]]:
    """The shape of a literal x0 (`[1.3, 0.7]`, `np.array([...])`, `np.zeros(3)`, `np.ones((2,))`)."""
    import libcst as cst

    from gradlint.analysis.syntax import call_name, literal_int

    if node is None:
        return None
    if isinstance(node, cst.Call) and len(node.args) >= 1:
        name = call_name(node) or ""
        if name.split(".")[0] in ("np", "numpy") and name.split(".")[-1] in ("zeros", "ones", "empty"):
            size = literal_int(node.args[0].value)
            if size is not None and 0 < size <= 50:
                return [size]
            return None
    ok, value = _literal(node)
    if not ok:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [1]
    if isinstance(value, (list, tuple)) and 0 < len(value) <= 50 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        return [len(value)]
    return None


def _values_of(node: Optional["cst.BaseExpression"]) -> Optional[list[float]]:
    """x0's values when it is a literal list of numbers (`[1.3, 0.7]`, `np.array([...])`)."""
    if node is None:
        return None
    ok, value = _literal(node)
    if ok and isinstance(value, (list, tuple)) and 0 < len(value) <= 50 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        return [float(v) for v in value]
    return None


def _argument(call: "cst.Call", keyword: Optional[str], position: Optional[int]) -> Optional["cst.BaseExpression"]:
    from gradlint.analysis.syntax import argument_for

    if keyword is None:
        positional = [a for a in call.args if a.keyword is None and not a.star]
        return positional[position].value if position is not None and position < len(positional) else None
    return argument_for(call, keyword, position)


def _linked(analysis: "ModuleAnalysis", functions: dict[str, Any], imports: dict[str, str]) -> list[tuple[Any, ...]]:
    """(the gradient's def, its name, the objective's name, pair, x0's shape, x0's values, args, the
    optimiser, "gradient" or "hessian", the objective, whether `bounds=` is given) for every
    scipy.optimize call in the module that names a gradient defined here."""
    import libcst as cst

    from gradlint.analysis.syntax import call_name, dotted_name

    found = []
    for call in analysis.index.nodes(cst.Call):
        full = _resolved(imports, call_name(call))
        if full is None or not full.startswith("scipy.optimize."):
            continue
        optimiser = full.rsplit(".", 1)[1]
        if optimiser not in OPTIMISERS:
            continue
        position, keyword, args_position = OPTIMISERS[optimiser]
        objective = _argument(call, {"minimize": "fun", "fmin_bfgs": "f", "fmin_cg": "f", "fmin_ncg": "f"}.get(optimiser, "func"), 0)
        x0 = _argument(call, "x0", 1 if optimiser != "check_grad" else 2)
        gradient = _argument(call, keyword, position)
        pair = False
        if gradient is None and optimiser == "fmin_l_bfgs_b":
            approx = _argument(call, "approx_grad", 4)
            pair = approx is None or (isinstance(approx, cst.Name) and approx.value in ("False",)) or (
                isinstance(approx, cst.Integer) and approx.value == "0")
        if isinstance(gradient, cst.Name) and gradient.value == "True":
            pair = True
        objective_name = dotted_name(objective) if objective is not None else None
        if objective_name is None or "." in objective_name:
            continue
        if pair:
            gradient_name = objective_name
        elif isinstance(gradient, cst.Name):
            gradient_name = gradient.value
        else:
            continue
        if objective_name not in functions and objective_name not in imports:
            continue
        args_node = _argument(call, "args", args_position)
        if optimiser == "check_grad":
            extra = [a.value for a in call.args if a.keyword is None and not a.star][3:]
            args_node = cst.Tuple([cst.Element(v) for v in extra]) if extra else None
        bounds = _argument(call, "bounds", {"minimize": 6, "fmin_l_bfgs_b": 5, "fmin_tnc": 6}.get(optimiser))
        # evaluated only inside its bounds: a pass is shown there, a mismatch is not (objectives.check)
        bounded = bounds is not None and not (isinstance(bounds, cst.Name) and bounds.value == "None")
        place = (_shape_of(x0), _values_of(x0), args_node, optimiser)
        function = functions.get(gradient_name)
        if isinstance(function, cst.FunctionDef):  # not one imported from elsewhere (scipy's rosen_der)
            found.append((function, gradient_name, objective_name, pair, *place, "gradient", objective_name, bounded))
        hessian = {"minimize": ("hess", 5), "fmin_ncg": ("fhess", 4)}.get(optimiser)
        hessian_node = _argument(call, *hessian) if hessian else None
        if isinstance(hessian_node, cst.Name) and isinstance(functions.get(hessian_node.value), cst.FunctionDef) and (
            gradient_name in functions or gradient_name in imports
        ):
            found.append((functions[hessian_node.value], hessian_node.value, gradient_name, pair, *place, "hessian", objective_name,
                          bounded))
    return found


def _args_option(analysis: "ModuleAnalysis", args_node: Optional["cst.BaseExpression"], order: Optional[list[str]],
                 functions: dict[str, Any], objective: str) -> dict[str, Any]:
    """How the extra arguments are supplied: literals, random data (a cost-function signature), or unknown."""
    import libcst as cst

    if args_node is None:
        return {"mode": "point", "args": []}
    ok, value = _literal(args_node)
    if ok:
        return {"mode": "point", "args": list(value) if isinstance(value, (list, tuple)) else [value]}
    if order is not None:
        function = functions.get(objective)
        objective_order = _order(function) if isinstance(function, cst.FunctionDef) else order
        if objective_order == order:
            return {"mode": "data", "order": order}
    text = cst.Module([]).code_for_node(args_node).strip()
    return {"mode": "unknown",
            "reason": f"the objective takes extra arguments `args={text[:60]}` whose values are not literals: "
                      "what they hold is not known, so the gradient cannot be called with confidence"}


def discover_objectives(analysis: "ModuleAnalysis", taken: Any) -> list[Any]:
    """The module's objective targets (see the module doc) that no earlier stage took."""
    import libcst as cst

    functions = analysis.semantics.module_functions
    imports = _imports(analysis)
    found: dict[str, Any] = {}
    if any(value.startswith("scipy") for value in imports.values()):
        for function, name, objective, pair, shape, x0, args_node, optimiser, kind, scalar, bounded in _linked(analysis, functions, imports):
            if name in taken or name in found:
                continue
            if kind == "hessian":
                options = _args_option(analysis, args_node, None, functions, objective)
                options.update({"value": objective, "pair": pair, "shape": shape, "x0": x0, "linked": optimiser, "hessian": True,
                                "objective": scalar, "bounded": bounded})
                found[name] = _target(analysis, function, name, objective,
                                      f"`{optimiser}` is given it as the Hessian (with `{objective}` as the gradient)", options)
                continue
            order = _order(function)
            options = _args_option(analysis, args_node, order, functions, objective)
            if order is None and options["mode"] == "data":
                continue
            options.update({"value": objective, "pair": pair, "shape": shape, "x0": x0, "linked": optimiser, "bounded": bounded})
            how = "jac=True" if pair and optimiser == "minimize" else (
                "as its own gradient" if pair else f"as the gradient of `{objective}`")
            evidence = f"`{optimiser}` is given it {how}" if not pair else f"`{optimiser}` is given `{objective}` {how}"
            found[name] = _target(analysis, function, name, objective, evidence, options)
    for objective, name, options in _named_pairs(analysis, functions):
        if name in taken or name in found:
            continue
        options.update({"value": objective, "pair": False, "shape": None, "x0": None, "linked": None, "named": True,
                        "step": _step_direction(analysis, name)})
        what = "Hessian" if options.get("hessian") else "gradient"
        found[name] = _target(analysis, functions[name], name, objective,
                              f"it is named as the {what} of `{options.get('objective') or objective}`, which takes the same parameters",
                              options)
    for name, function in functions.items():
        if name in taken or name in found or not isinstance(function, cst.FunctionDef) or not COST_NAME.search(name):
            continue
        if _cofi_signature(function) and _returned_pairs(analysis, function) is not None:
            options = {"mode": "cofi", "order": list(COFI_ORDER), "value": name, "pair": True, "shape": None, "x0": None,
                       "linked": None}
            found[name] = _target(analysis, function, name, name,
                                  "it takes (params, Y, R, num_users, num_movies, num_features, lambda) and returns a pair "
                                  "(J, grad): the collaborative-filtering cost's gradient against its own cost", options)
            continue
        order = _order(function)
        if order is None or not _pair_returning_cost(analysis, function):
            continue
        options = {"mode": "data", "order": order, "value": name, "pair": True, "shape": None, "linked": None}
        found[name] = _target(analysis, function, name, name,
                              "it takes (theta, X, y[, lambda]) and returns a pair (J, grad): its gradient against its own cost",
                              options)
    return list(found.values())


COST_WORDS = ("costfunction", "costfunc", "cost", "loss", "objective", "loglikelihood", "likelihood", "energy")
GRADIENT_WORDS = ("grad", "gradient", "gradients", "der", "deriv", "derivative", "jac")
GRADIENT_PREFIXES = ("d", "g", "grad", "gradient", "der")
GRADIENT_FUNCTION = re.compile(r"grad|deriv|jac|^d_?[a-z]|^g_?[a-z]|_der$|_prime$", re.IGNORECASE)
REDUCTIONS = frozenset({"sum", "mean", "dot", "vdot", "inner", "norm", "prod", "trace", "logsumexp", "float", "item", "nansum"})


def _derived(value: str, gradient: str) -> bool:
    """Whether `gradient` is named as the gradient of `value`: `rosen`/`rosen_der`, `fun`/`gfun`,
    `f`/`grad_f`, `cost_function`/`gradient_function`, `compute_cost`/`compute_gradient`,
    `costFunctionReg`/`gradientReg`, `loss_ridge`/`loss_gradient_ridge`."""
    v = value.lower().replace("_", "")
    g = gradient.lower().replace("_", "")
    if not v or v == g:
        return False
    if any(g == v + word for word in GRADIENT_WORDS) or any(g == prefix + v for prefix in GRADIENT_PREFIXES):
        return True
    for word in COST_WORDS:
        at = v.find(word)
        while at >= 0:
            head, tail = v[:at], v[at + len(word):]
            for new in GRADIENT_WORDS:
                if g in (head + new + tail, head + word + new + tail):
                    return True
            at = v.find(word, at + 1)
    return False


def _parameter_names(function: "cst.FunctionDef") -> list[str]:
    return [p.name.value for p in (*function.params.posonly_params, *function.params.params)]


def _scalar(node: "cst.BaseExpression", parameter: str) -> tuple[bool, bool]:
    """(the expression is a scalar, it reads the parameter): arithmetic of numbers, components
    `x[0]` of the parameter, and full reductions (`np.sum(...)`, `sum(...)`, `a.dot(b)`, `.sum()`)."""
    import libcst as cst

    from gradlint.analysis.syntax import call_name, literal_int, names_in

    if isinstance(node, (cst.Integer, cst.Float)):
        return True, False
    if isinstance(node, cst.UnaryOperation):
        return _scalar(node.expression, parameter)
    if isinstance(node, cst.BinaryOperation):
        left, right = _scalar(node.left, parameter), _scalar(node.right, parameter)
        return left[0] and right[0], left[1] or right[1]
    if isinstance(node, cst.Subscript):
        if isinstance(node.value, cst.Name) and node.value.value == parameter and len(node.slice) == 1:
            index = node.slice[0].slice
            if isinstance(index, cst.Index) and literal_int(index.value) is not None:
                return True, True
        return False, False
    if isinstance(node, cst.Call):
        name = (call_name(node) or "").split(".")[-1]
        if name in REDUCTIONS and not any(a.keyword is not None and a.keyword.value in ("axis", "keepdims", "ord") for a in node.args):
            if isinstance(node.func, cst.Attribute) and name in ("sum", "mean", "item", "prod", "trace") and node.args:
                return False, False
            return True, parameter in names_in(node)
    return False, False


def _scalar_returns(analysis: "ModuleAnalysis", function: "cst.FunctionDef") -> bool:
    """A one-parameter function whose every return is visibly a scalar of its parameter."""
    import libcst as cst

    names = _parameter_names(function)
    required = [p for p in function.params.params if p.default is None]
    if len(required) != 1 or function.params.posonly_params or isinstance(function.params.star_arg, cst.Param):
        return False
    parameter = names[0]
    returns = analysis.index.nodes_in(function, cst.Return)
    if not returns:
        return False
    for node in returns:
        if node.value is None:
            return False
        scalar, reads = _scalar(node.value, parameter)
        if not (scalar and reads):
            return False
    return True


def _returns_pairs_anywhere(analysis: "ModuleAnalysis", function: "cst.FunctionDef") -> bool:
    import libcst as cst

    return any(isinstance(r.value, cst.Tuple) for r in analysis.index.nodes_in(function, cst.Return))


def _named_pairs(analysis: "ModuleAnalysis", functions: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(objective, gradient, options) for module functions named as a pair with the same parameters:
    data signatures (theta, X, y[, lambda]) whose objective returns one value, and one-parameter
    objectives whose every return is visibly a scalar (`fun(x)` / `gfun(x)`)."""
    import libcst as cst

    defs = {name: f for name, f in functions.items() if isinstance(f, cst.FunctionDef)}
    pairs = []
    used: set[str] = set()
    data_costs: dict[tuple[str, ...], list[str]] = {}
    data_gradients: dict[tuple[str, ...], list[str]] = {}
    for name, function in defs.items():
        if _order(function) is None or _returns_pairs_anywhere(analysis, function):
            continue
        key = tuple(_parameter_names(function))
        if OBJECTIVE_NAME.search(name) and not GRADIENT_FUNCTION.search(name):
            data_costs.setdefault(key, []).append(name)
        elif RETURNED_GRADIENT.match(name) or re.search(r"grad", name, re.IGNORECASE):
            data_gradients.setdefault(key, []).append(name)
    for key, costs in data_costs.items():
        gradients = data_gradients.get(key, [])
        for cost in costs:
            matched = [g for g in gradients if _derived(cost, g)]
            if not matched and len(costs) == 1 and len(gradients) == 1 and COST_NAME.search(cost):
                matched = gradients  # the module's one cost and one gradient of the same signature
            for gradient in matched[:1]:
                if gradient not in used:
                    used.add(gradient)
                    pairs.append((cost, gradient, {"mode": "data", "order": _order(defs[cost])}))
    point_pairs = []
    for value, function in defs.items():
        if not _scalar_returns(analysis, function):
            continue
        for gradient, other in defs.items():
            if gradient in used or not _derived(value, gradient) or _parameter_names(other) != _parameter_names(function):
                continue
            used.add(gradient)
            point_pairs.append((value, gradient))
            pairs.append((value, gradient, {"mode": "point", "args": []}))
            break
    for value, gradient in point_pairs:
        parameters = _parameter_names(defs[value])
        for hessian, other in defs.items():
            if hessian in used or _parameter_names(other) != parameters:
                continue
            if _hessian_named(value, hessian) or _hessian_named(gradient, hessian) or (
                len(point_pairs) == 1 and hessian.lower() in ("hess", "hessian")
            ):
                used.add(hessian)
                pairs.append((gradient, hessian, {"mode": "point", "args": [], "hessian": True, "objective": value}))
                break
    return pairs


def _step_direction(analysis: "ModuleAnalysis", gradient: str) -> Optional[str]:
    """"descent" when every update the module makes with `gradient(...)` subtracts it (`w -= lr * g(...)`,
    `w = w - lr * g(...)`), "ascent" when every one adds it, else None (no update seen, or both)."""
    import libcst as cst

    from gradlint.analysis.syntax import dotted_name

    seen: set[str] = set()
    for call in analysis.index.nodes(cst.Call):
        if dotted_name(call.func) != gradient:
            continue
        node: Any = call
        parent = analysis.index.parent(node)
        while type(parent) is cst.BinaryOperation and type(parent.operator) in (cst.Multiply, cst.Divide):
            node, parent = parent, analysis.index.parent(parent)  # `lr * g(...)`, `g(...) / m`
        if type(parent) is cst.AugAssign and parent.value is node:
            operator = type(parent.operator)
            seen.add("descent" if operator is cst.SubtractAssign else "ascent" if operator is cst.AddAssign else "other")
        elif type(parent) is cst.BinaryOperation and parent.right is node and type(parent.operator) in (cst.Subtract, cst.Add):
            seen.add("descent" if type(parent.operator) is cst.Subtract else "ascent")
    return seen.pop() if len(seen) == 1 and seen != {"other"} else None


def _hessian_named(value: str, name: str) -> bool:
    """`rosen_hess` of `rosen` (or of `rosen_der`'s stem), `d2f` of `f`, `hess_f`, `f_hessian`."""
    v = value.lower().replace("_", "")
    for suffix in GRADIENT_WORDS:
        if v.endswith(suffix) and len(v) > len(suffix):
            v = v[: -len(suffix)]
            break
    n = name.lower().replace("_", "")
    return n in {v + "hess", v + "hessian", "d2" + v, "dd" + v, "hess" + v, "hessian" + v}


def reference(target: Any) -> str:
    """What an objective target is compared with, in words."""
    options = json.loads(target.options or "{}")
    if options.get("hessian"):
        second = " (the gradient it returns second)" if options.get("pair") else ""
        given = f" (`{options['linked']}` is given both)" if options.get("linked") else " (paired by their names)"
        return f"the Jacobian of `{target.forward}`{second} by central differences{given}"
    if target.forward and target.forward == target.qualname and options.get("linked"):
        return f"central differences of the value it returns (`{options['linked']}` is given it as returning its own gradient)"
    if target.forward and target.forward != target.qualname:
        if options.get("linked"):
            return f"central differences of `{target.forward}`, the objective `{options['linked']}` is given with it"
        return f"central differences of `{target.forward}`, the objective it is named after"
    return "central differences of the cost it returns (with respect to its parameter vector; data fixed)"
