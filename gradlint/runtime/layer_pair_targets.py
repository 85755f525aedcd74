"""CS231n style layer pairs: `out, cache = f_forward(x, w, b, ...)` / `dx, dw, db = f_backward(dout, cache)`.

The parent side of `gradlint.runtime.layer_pairs` (which runs the trials in the sandbox):
from the module's syntax only, no numpy.

- Pairing: module-level functions `<stem>_backward` / `<stem>_forward` (also `_bwd` / `_fwd`;
  `conv_backward_naive` / `conv_forward_naive`; `batchnorm_backward_alt` / `batchnorm_forward`;
  `affine_relu_backward` / `affine_relu`)
  where every `return` of the forward is a tuple of k outputs and a cache (k >= 1, `return out,
  cache`; `return next_h, next_c, cache`) and the backward takes k upstream gradients and the
  cache as its required positional parameters.
- Forwards of several required parameters (several arrays, or an array and a `*_param` dict),
  and one-input forwards that unpack their input's shape into three names or more (`N, C, H, W =
  x.shape`: images, sequences) take precedence over the other stages (which call a forward with
  one input, a vector or an (N, n) batch) when this stage can call them. Other pairs
  (`relu_forward(x)`, forwards taking a parameter of an unknown name) are left to those stages:
  this stage takes one only when no other did (and may say `unknown`).
- The inputs: each required parameter of the forward by its name (`ROLES`): data (x, X, inputs,
  A_prev), a recurrent state (prev_h, h0, prev_c), weights (w, W, Wx, Wh), biases (b), per-feature
  scales (gamma, beta), a parameter dict (`bn_param`, `conv_param`, `hparameters`) or a number of
  groups (G). A parameter of any other name leaves the pair `unknown` (what it holds is not known).
- Which returned gradient belongs to which input: by name only (`dx` -> x, `dW` -> w, `dgamma` ->
  gamma, `dprev_h` -> prev_h, `grad_x`, `x_grad`), read from the backward's returns; or by position
  when the backward returns exactly as many items as the forward has array inputs and no name
  contradicts that order. Anything else is `unknown`, never a mismatch.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    import libcst as cst

    from gradlint.analysis import ModuleAnalysis

ROLE = "layer_pair"

# What each forward parameter holds, by its name (the sandbox draws an array of the role's shape).
ROLES: tuple[tuple[str, "re.Pattern[str]"], ...] = (
    ("x", re.compile(r"^(x|xs|x_?t|x_?in|inputs?|inp|a|a_?prev|prev_?a|a_?in|data|features?|z|h_?in|bottom|"
                     r"(input|x)_?tensor|images?|imgs?|input_?data|x_?input)$", re.IGNORECASE)),
    ("state", re.compile(r"^(prev_?[hcs]|[hcs]_?prev|[hc]_?0|[hc]0|[hc]_?init|init_?[hc]|hprev|cprev|prev_?state|state|a0|a_?0)$", re.IGNORECASE)),
    ("wx", re.compile(r"^(w_?x|w_?xh|w_?x_?h|w_?ax|w_?ih|w_?in|u)$", re.IGNORECASE)),
    ("wh", re.compile(r"^(w_?h|w_?hh|w_?h_?h|w_?aa|w_?rec)$", re.IGNORECASE)),
    ("w", re.compile(r"^(w|weights?|kernel|filters?|w1|theta)$", re.IGNORECASE)),
    ("b", re.compile(r"^(b|bias(es)?|b_?h|b_?x|b_?a|b0|b1)$", re.IGNORECASE)),
    ("scale", re.compile(r"^(gamma|beta|scale|shift)$", re.IGNORECASE)),
    ("param", re.compile(r"^(\w*_?params?|\w*_?param(eter)?s|\w*_?config|\w*_?conf|hparameters|hparams|options|opts|settings)$", re.IGNORECASE)),
    ("groups", re.compile(r"^(G|groups|num_?groups|n_?groups)$")),
)
ARRAY_ROLES = frozenset({"x", "state", "wx", "wh", "w", "b", "scale"})
REFERENCE = "central differences of `{forward}` (of sum(out * dout) with respect to each array input, the others fixed)"

# A gradient's name -> the name of its input: `dx`, `d_x`, `grad_x`, `gradx`, `x_grad`, `x_gradient`.
GRADIENT_OF = (
    re.compile(r"^d_?(?P<name>\w+)$"),
    re.compile(r"^grad_?(?P<name>\w+)$"),
    re.compile(r"^(?P<name>\w+?)_?grad(ient)?$"),
)
PAIRED_WORDS = (("backward", "forward"), ("bwd", "fwd"))


# An upstream gradient's name (`dnext_h`, `dnext_c`, `grad_out`, `dy`): a backward's parameters after the first
# and before the cache must say so, or they are cached values handed over one by one.
GRADIENT_NAME = re.compile(r"^(?:d|grad|g|delta|upstream)", re.IGNORECASE)


def role_of(name: str) -> Optional[str]:
    """The role of a forward parameter named `name`, or None when its name says nothing."""
    for role, pattern in ROLES:
        if pattern.match(name):
            return role
    return None


def static_reason(target: Any) -> Optional[str]:
    """Why a layer pair cannot be called, as read from its syntax (None for another stage's target)."""
    if getattr(target, "role", None) != ROLE or not target.options:
        return None
    return json.loads(target.options).get("unknown")


def reference(target: Any) -> str:
    return REFERENCE.format(forward=target.forward)


def forward_name(name: str, functions: Any) -> Optional[str]:
    """The forward paired with the backward `name`: the word replaced (`conv_backward_naive` ->
    `conv_forward_naive`), the name cut after it (`batchnorm_backward_alt` -> `batchnorm_forward`), or
    the name without it (`affine_relu_backward` -> `affine_relu`)."""
    low = name.lower()
    for back, forth in PAIRED_WORDS:
        at = low.rfind(back)
        if at < 0 or (at > 0 and low[at - 1] not in "_") and not name[at].isupper():
            continue
        replaced = name[:at] + (forth.capitalize() if name[at].isupper() else forth) + name[at + len(back):]
        cut = name[:at] + (forth.capitalize() if name[at].isupper() else forth)
        bare = name[:at].rstrip("_")  # `affine_relu_backward` / `affine_relu`
        for candidate in (replaced, cut, bare):
            if candidate != name and candidate in functions:
                return candidate
    return None


def _forward_outputs(analysis: "ModuleAnalysis", function: "cst.FunctionDef", depth: int = 0) -> Optional[int]:
    """k when every `return` of the forward is a tuple of k outputs and a cache (k >= 1), or the
    result of another such module function (`return conv_forward_naive(x, w, b, conv_param)`), else None."""
    import libcst as cst

    returns = analysis.index.nodes_in(function, cst.Return)
    if not returns:
        return None
    sizes = set()
    for node in returns:
        value = node.value
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and depth < 2:
            called = analysis.semantics.module_functions.get(value.func.value)
            inner = _forward_outputs(analysis, called, depth + 1) if isinstance(called, cst.FunctionDef) and called is not function else None
            if inner is None:
                return None
            sizes.add(inner + 1)
            continue
        if not isinstance(value, cst.Tuple) or len(value.elements) < 2 or any(isinstance(e, cst.StarredElement) for e in value.elements):
            return None
        sizes.add(len(value.elements))
    return sizes.pop() - 1 if len(sizes) == 1 else None


def _returns_its_inputs(analysis: "ModuleAnalysis", function: "cst.FunctionDef", inputs: list[str]) -> bool:
    """A `return` of the forward holds one of its own parameters beside the output (`return out, x, w`):
    cached values, not more outputs."""
    import libcst as cst

    for node in analysis.index.nodes_in(function, cst.Return):
        if isinstance(node.value, cst.Tuple):
            if any(isinstance(element.value, cst.Name) and element.value.value in inputs for element in node.value.elements[1:]):
                return True
    return False


def _unpacks_a_batch(analysis: "ModuleAnalysis", function: "cst.FunctionDef", name: str) -> bool:
    """`N, C, H, W = x.shape`: the forward reads its input as an array of three axes or more (images,
    sequences), which the one-input stages (vectors and (N, n) batches) never draw."""
    import libcst as cst

    for assign in analysis.index.nodes_in(function, cst.Assign):
        value = assign.value
        if not (isinstance(value, cst.Attribute) and value.attr.value == "shape" and isinstance(value.value, cst.Name) and value.value.value == name):
            continue
        if any(isinstance(t.target, (cst.Tuple, cst.List)) and len(t.target.elements) >= 3 for t in assign.targets):
            return True
    return False


def _raises_not_implemented(function: "cst.FunctionDef") -> bool:
    import libcst as cst

    return "NotImplementedError" in cst.Module([]).code_for_node(function.body)


def _returned_names(analysis: "ModuleAnalysis", function: "cst.FunctionDef") -> Optional[list[Optional[str]]]:
    """The names the backward returns, position by position (None where a position is not a name, or
    the returns disagree); None when its returns disagree in length or it returns nothing."""
    import libcst as cst

    returns = [r for r in analysis.index.nodes_in(function, cst.Return) if r.value is not None and not (isinstance(r.value, cst.Name) and r.value.value == "None")]
    if not returns:
        return None
    rows: list[list[Optional[str]]] = []
    for node in returns:
        value = node.value
        items = list(value.elements) if isinstance(value, cst.Tuple) else None
        if items is not None and any(isinstance(e, cst.StarredElement) for e in items):
            return None
        expressions = [e.value for e in items] if items is not None else [value]
        rows.append([e.value if isinstance(e, cst.Name) else None for e in expressions])
    if len({len(row) for row in rows}) != 1:
        return None
    return [column[0] if all(name == column[0] for name in column) else None for column in zip(*rows)]


def input_of(gradient: str, arrays: list[str]) -> Optional[str]:
    """The array input a returned gradient's name refers to (`dW` -> `w`), or None."""
    for pattern in GRADIENT_OF:
        match = pattern.match(gradient)
        if match is None:
            continue
        name = match.group("name")
        if name in arrays:
            return name
        folded = [a for a in arrays if a.lower() == name.lower()]
        if len(folded) == 1:
            return folded[0]
    return None


def mapping(returned: list[Optional[str]], arrays: list[str]) -> tuple[dict[int, str], str]:
    """Returned position -> array input, and how it was decided ("name", "position" or the reason
    there is none)."""
    named = {i: input_of(name, arrays) for i, name in enumerate(returned) if name is not None}
    named = {i: a for i, a in named.items() if a is not None}
    if len(set(named.values())) != len(named):
        return {}, "two of the gradients it returns are named after the same input"
    if len(returned) == len(arrays) and all(arrays[i] == a for i, a in named.items()):
        return dict(enumerate(arrays)), "name" if len(named) == len(arrays) else "position"
    if named:
        return named, "name"
    shown = ", ".join(name or "an expression" for name in returned)
    return {}, (
        f"which input each gradient it returns ({shown}) belongs to is not known: no name says so "
        f"(dx, dw, dgamma...), and it returns {len(returned)} item{'s' if len(returned) != 1 else ''} for {len(arrays)} array inputs"
    )


def discover_layer_pairs(analysis: "ModuleAnalysis", taken: Any, first: bool) -> list[Any]:
    """The module's `f_backward(dout, cache)` paired with `f_forward(...) -> (out, cache)` (see the
    module doc) that no other stage took (`taken`: their names). `first`: the pass before the other
    stages, of forwards of several parameters (or of one image) that the runtime can call; else the
    last pass, of every other pair (one-input forwards, and those it can say only `unknown` about)."""
    import libcst as cst

    from gradlint.analysis.syntax import positional_parameters
    from gradlint.runtime.targets import Target, _place

    functions = analysis.semantics.module_functions
    found = []
    for name, backward in functions.items():
        if name in taken or not isinstance(backward, cst.FunctionDef):
            continue
        paired = forward_name(name, functions)
        forward = functions.get(paired) if paired else None
        if not isinstance(forward, cst.FunctionDef) or backward.params.kwonly_params and any(p.default is None for p in backward.params.kwonly_params):
            continue
        inputs = positional_parameters(forward, False, required_only=True)
        if not inputs or (first and not (len(inputs) >= 2 or _unpacks_a_batch(analysis, forward, inputs[0]))):
            continue
        outputs = _forward_outputs(analysis, forward)
        upstream = positional_parameters(backward, False, required_only=True)
        if outputs is None or len(upstream) != outputs + 1:
            continue
        if outputs > 1 and (_returns_its_inputs(analysis, forward, inputs) or not all(GRADIENT_NAME.match(p) for p in upstream[1:-1])):
            continue  # `return out, x, w` / `affine_backward(dout, x, w)`: the cache handed over item by item
        options: dict[str, Any] = {"forward": paired, "inputs": inputs, "outputs": outputs, "upstream": upstream[:-1]}
        roles = {p: role_of(p) for p in inputs}
        unnamed = [p for p, role in roles.items() if role is None]
        if any(p.default is None for p in forward.params.kwonly_params) or isinstance(forward.params.star_arg, cst.Param):
            options["unknown"] = f"its forward `{paired}` takes *args or keyword-only parameters: the runtime cannot tell what to pass"
        elif unnamed:
            options["unknown"] = (
                f"its forward `{paired}` takes `{unnamed[0]}`, whose name does not say what it holds (an array of "
                "which shape, a dict of settings, a mode): the runtime cannot draw it"
            )
        arrays = [p for p in inputs if roles[p] in ARRAY_ROLES]
        if not arrays and "unknown" not in options:
            options["unknown"] = f"its forward `{paired}` takes no array the runtime recognises"
        returned = _returned_names(analysis, backward)
        if returned is None and "unknown" not in options:
            options["unknown"] = (
                "it raises NotImplementedError and returns nothing: not implemented" if _raises_not_implemented(backward)
                else "it returns nothing, or returns of different lengths (not implemented?)"
            )
        if "unknown" not in options:
            assert returned is not None
            by_index, how = mapping(returned, arrays)
            if not by_index:
                options["unknown"] = how
            options.update(returned=returned, mapping=[[i, a] for i, a in sorted(by_index.items())], mapped_by=how)
        if first and "unknown" in options:
            continue  # another stage may know better; the last pass takes it if none does
        start, end, first_row, last_row = _place(analysis, backward)
        found.append(
            Target(name, ROLE, None, paired, start, end, first_row, last_row,
                   evidence=f"it takes the cache `{paired}` returns: each gradient against central differences of the forward",
                   options=json.dumps(options))
        )
    return found
