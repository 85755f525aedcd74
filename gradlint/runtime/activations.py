"""Probing an activation's derivative: Jacobians, diagonals, vector-Jacobian
products, layer classes' backward after their forward."""

from __future__ import annotations

import copy
import inspect
import re

from typing import Any, Callable, Optional

import numpy as np

from gradlint.naming import is_target_name
from gradlint.runtime import references as refs
from gradlint.runtime.compare import Comparison, compare

# How far from linear in the upstream gradient a VJP may be and still be read as linear:
# float32 round-off is ~1e-7, a wrong nonlinear use of the gradient is off by ~1.
LINEARITY_TOLERANCE = 1e-5
_BACKWARD_WORD = re.compile(r"backward|backprop|bprop", re.IGNORECASE)  # a layer's backward (a VJP), not `f_prime(x)`
# A step size among a pair's parameters, or a numerical method in its name: `forward`/`backward` name
# directions of one method there (`euler_forward(y, h)` / `euler_backward(y, h)`), not a derivative.
_STEP_SIZE = re.compile(r"^(?:h|dt|tau|step(?:_?size)?|delta_?t|time_?step)$", re.IGNORECASE)
_NUMERICAL_METHOD = re.compile(r"euler|substitut|eliminat|sweep|differenc|integrat|solve|time|step|implicit|explicit|rk\d|runge", re.IGNORECASE)
from gradlint.runtime.probing import (
    FATAL,
    GRAD_NAME,
    N_BATCH,
    N_CLASSES,
    PASS_THROUGH_ONES,
    PASS_THROUGH_SIGMOID,
    PASS_THROUGH_VJP,
    RETURNS_FORWARD,
    SAME_INDEX,
    SHAPES,
    STEP_NAME,
    SWAP_ACT,
    SWAP_PRE,
    TRAINING_NAME,
    Probe,
    Trial,
    Unknown,
    _as_array,
    _changed_attribute,
    _close,
    _describe,
    _fill,
    _first,
    _instantiate,
    _logits,
    _mutation,
    _quiet,
    _required,
    _resolve,
    _stored_output,
)


class ActivationProbe(Probe):
    """Tries the calling conventions of an activation's derivative."""

    def __init__(self, module: Any, spec: dict, rng: np.random.Generator) -> None:
        super().__init__(module, spec, rng)
        self.kind = spec.get("forward_kind") if spec.get("forward_kind") in refs.ACTIVATIONS else None
        self.slope = float(spec.get("slope") or 0.01)
        self.user_forward = self._user_forward(module, spec.get("forward"))
        if self.kind is None and self.user_forward is None:
            raise Unknown("its forward is neither recognised nor found (same class, or a name pairing like f / f_prime)")
        self.last_mutation: Optional[dict] = None
        self.calibrated = False
        # CS231n style: the record parameter takes the cache the paired forward returns with its output
        self.cache_param: Optional[str] = None
        self.cache_source: Any = None
        if spec.get("cache_forward") and spec.get("records") and spec.get("forward"):
            self.cache_param = next(iter(spec["records"]))
            self.cache_source = _resolve(module, spec["forward"])[1]
        if self.kind is None:
            self._check_deterministic()
            self._check_not_a_direction_pair(module)

    def _check_not_a_direction_pair(self, module: Any) -> None:
        """`euler_forward(y, h)` / `euler_backward(y, h)`: a pair named by direction, the same parameters and
        none a gradient, with an unrecognised forward, and a step size among them or a numerical method's
        name (euler, substitution, difference...), is two steps of one method (explicit and implicit Euler,
        a forward and a backward substitution), not a function and its derivative."""
        forward_name, target_name = self.spec.get("forward") or "", self.spec["qualname"]
        if self.cls is not None or "." in forward_name or "forward" not in forward_name.lower() or "backward" not in target_name.lower():
            return
        forward = _resolve(module, forward_name)[1]
        try:
            forward_params = list(inspect.signature(forward).parameters)
            target_params = list(inspect.signature(self.target).parameters)
        except (TypeError, ValueError):
            return
        stem = forward_name.lower().replace("forward", "")
        stepped = any(_STEP_SIZE.match(name) for name in target_params) or _NUMERICAL_METHOD.search(stem) is not None
        if forward_params == target_params and stepped and not any(GRAD_NAME.match(name) for name in target_params):
            raise Unknown(
                f"`{target_name}` takes the same parameters as `{forward_name}` ({', '.join(target_params)}) and none "
                "is a gradient: the pair may name two directions of one computation (an explicit and an implicit "
                "step), not a function and its derivative"
            )

    def _check_not_an_inverse(self, z: np.ndarray, s: np.ndarray) -> None:
        """A `backward(p)` that maps the forward's output back to its input (`backward(forward(x)) == x`: a
        coordinate map's inverse beside its `jacobian`) is no derivative of it; checked when the forward is
        not recognised and the target, named as a backward, takes one array not named as a gradient."""
        try:
            _, names, _ = self._callable(z)
            positional = [n for n in names if not STEP_NAME.match(n) and not TRAINING_NAME.match(n)]
            if len(positional) != 1 or GRAD_NAME.match(positional[0]) or _BACKWARD_WORD.search(self._name()) is None:
                return  # a gradient parameter (`backward(self, grad)`), or a derivative `f_prime(x)`: no map's inverse
            back = self._call(z, {positional[0]: s}, names)
        except FATAL:
            raise
        except Exception:  # noqa: BLE001 - conventions are tried later, one by one
            return
        if back is not None and np.shape(back) == np.shape(z) and np.allclose(back, z, rtol=1e-6, atol=1e-9):
            raise Unknown(
                f"it maps the forward's output back to its input (`{self._name()}(forward(x)) == x`): an inverse "
                "map, not a derivative"
            )

    def _check_deterministic(self) -> None:
        """Central differences of a random forward (dropout) mean nothing."""
        probe = _logits(np.random.default_rng(12345), (N_BATCH, N_CLASSES))
        try:
            first, second = self.forward(probe), self.forward(probe)
        except FATAL:
            raise
        except Exception:  # noqa: BLE001 - shapes are tried later, one by one
            return
        if np.shape(first) == np.shape(second) and not np.allclose(first, second, rtol=1e-12, atol=0, equal_nan=True):
            raise Unknown(f"its forward `{self.spec.get('forward')}` is not deterministic (random?), so it cannot be differentiated numerically")

    def _user_forward(self, module: Any, qualname: Optional[str]) -> Optional[Callable[[np.ndarray], np.ndarray]]:
        if not qualname:
            return None
        cls, target = _resolve(module, qualname)

        def forward(x: np.ndarray) -> np.ndarray:
            instance = None if cls is None else _instantiate(cls)
            method = target if instance is None else getattr(instance, target)
            names = _required(method)
            extra = _fill(names[1:], {}) if names else None
            before = dict(vars(instance)) if instance is not None and hasattr(instance, "__dict__") else {}
            original = x.copy()
            with _quiet():
                result = method(x, *(extra or []))
            if result is None:
                stored = _stored_output(instance, before, x) if instance is not None else None
                if stored is not None:
                    result = stored  # nnfs style: `self.output = ...` and no return
                elif not np.array_equal(x, original, equal_nan=True):
                    result = x  # an in-place forward (`inplace_logistic(X)`)
                else:
                    raise Unknown(f"its forward `{qualname}` returns None and stores no output it is known to use")
            self.observe_reference(result)
            return _first(result)

        return forward

    # the reference
    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.kind is not None:
            return refs.activation_forward(self.kind, x, self.slope)
        assert self.user_forward is not None
        return self.user_forward(x.copy())

    def jacobian(self, x: np.ndarray, richardson: bool = False) -> np.ndarray:
        if self.kind is not None:
            return refs.activation_jacobian(self.kind, x, self.slope)
        self.forward(x)  # its output's dtype sets the step
        if not self.calibrated:
            self.calibrated = True  # once: the forward's real round-off (float32 inside?)
            self.reference_precision = refs.effective_precision(self.forward, x, self.reference_precision)
        return refs.numeric_jacobian(self.forward, x, richardson=richardson, precision=self.reference_precision)

    @property
    def elementwise(self) -> bool:
        return self.kind in refs.ELEMENTWISE

    # the calls
    def run(self) -> list[Trial]:
        trials: list[Trial] = []
        order = ["(N, n)", "(n, 1)", "(n,)", "(1, n)"] if self.cls is not None else ["(n,)", "(N, n)", "(n, 1)", "(1, n)"]
        # One sample's values shared by (n,), (n, 1) and (1, n), so that their errors compare.
        sample = _logits(self.rng, (N_CLASSES,))
        batch = _logits(self.rng, (N_BATCH, N_CLASSES))
        at_batch: list[Trial] = []
        for label in order:
            shape = SHAPES[label]
            z = batch.copy() if shape == (N_BATCH, N_CLASSES) else sample.reshape(shape).copy()
            try:
                s = self.forward(z)
            except FATAL:
                raise
            except Exception as error:  # noqa: BLE001 - the user's forward may not take this shape
                self.errors.append(f"forward on {label}: {type(error).__name__}: {error}")
                continue
            if np.shape(s) != shape or not np.all(np.isfinite(s)):
                self.errors.append(f"forward on {label} returned shape {np.shape(s)}")
                continue
            if self.kind is None and not trials:
                self._check_not_an_inverse(z, s)
            found = self.stamp(self._trials(label, z, s))
            trials.extend(found)
            if label == "(N, n)":
                at_batch = found
            if any(t.passes() for t in trials):
                break
        if self.kind == "softmax" and self.cls is not None and any(t.passes() for t in trials):
            decisive = self._batch_decides(at_batch, batch)
            if decisive:
                return decisive
        return trials

    def _batch_decides(self, at_batch: list[Trial], batch: np.ndarray) -> list[Trial]:
        """A softmax layer whose forward normalises each row of a batch must backpropagate a
        batch too: the layer runs forward then backward on the same (N, n) array. Its VJP
        (after the forward) is then judged on that batch, whatever a single sample showed:
        wrong values there (a sum over the whole batch), or a broadcast error there and wrong
        values on a square (n, n) batch (a reduction without keepdims), decide. Empty when the
        batch shows nothing or the forward does not clearly normalise rows."""
        if not self._normalises_rows(batch):
            return []
        vjps = [t for t in at_batch if _layer_vjp(t)]
        if vjps:
            if any(t.measure().rel_error < t.tolerances()[1] for t in vjps):
                return []
            return vjps
        raised = [e for e in self.errors if e.startswith("(N, n) ") and " upstream `" in e and "could not be broadcast" in e]
        if not raised:
            return []
        square = _logits(self.rng, (N_CLASSES, N_CLASSES))
        if not self._normalises_rows(square):
            return []
        try:
            s = self.forward(square)
        except FATAL:
            raise
        except Exception:  # noqa: BLE001
            return []
        vjps = [t for t in self.stamp(self._trials("(n, n)", square, s)) if _layer_vjp(t)]
        if not vjps or any(t.measure().rel_error < t.tolerances()[1] for t in vjps):
            return []
        error = raised[0].split(": ", 1)[1].strip()
        for trial in vjps:
            trial.note = (
                f"a reduction lost its axis (keepdims=True is missing): on a ({N_BATCH}, {N_CLASSES}) batch, whose rows "
                f"its forward normalises, it raises \"{error}\", and on a square ({N_CLASSES}, {N_CLASSES}) batch "
                "the reduced values broadcast along the wrong axis"
            )
        return vjps

    def _normalises_rows(self, z: np.ndarray) -> bool:
        """Whether the target's own forward maps a 2-D batch to the softmax of each row."""
        if self.user_forward is None:
            return False
        try:
            s = self.user_forward(z.copy())
        except FATAL:
            raise
        except Exception:  # noqa: BLE001 - it does not take a batch
            return False
        return np.shape(s) == z.shape and _close(s, refs.activation_forward("softmax", z), 1e-9)

    def _callable(self, z: np.ndarray) -> tuple[Callable, list[str], bool]:
        """The derivative as a callable, its required parameters, and whether
        it is a method that ran the class's forward first."""
        if self.cls is None:
            return self.target, _required(self.target), False
        instance = _instantiate(self.cls)
        forward_name = self._forward_method()
        stateful = False
        if forward_name and forward_name != self.target:
            method = getattr(instance, forward_name)
            names = _required(method)
            args = _fill(names[1:], {}) if names else None
            if names and args is not None:
                with _quiet():
                    method(z.copy(), *args)
                stateful = True
        bound = getattr(instance, self.target)
        return bound, _required(bound), stateful

    def _forward_method(self) -> Optional[str]:
        forward = self.spec.get("forward") or ""
        if self.cls is not None and forward.startswith(self.cls.__name__ + "."):
            return forward.split(".", 1)[1]
        for name in ("forward", "__call__", "activate", "f", "function", "apply"):
            if name in vars(self.cls) or any(name in vars(base) for base in self.cls.__mro__[1:-1]):
                return name
        return None

    def _call(self, z: np.ndarray, values: dict[str, Any], order: list[str]) -> Optional[np.ndarray]:
        func, names, stateful = self._callable(z)
        if order != names:
            return None
        args = _fill(names, values)
        if args is None:
            return None
        instance = getattr(func, "__self__", None)
        before = dict(vars(instance)) if instance is not None and hasattr(instance, "__dict__") else {}
        passed = [a.copy() if isinstance(a, np.ndarray) else copy.deepcopy(a) if isinstance(a, (tuple, list, dict)) else a for a in args]
        with _quiet():
            result = func(*passed)
        self.last_mutation = _mutation(names, args, passed)
        array = _as_array(result)
        if array is None and instance is not None:
            array = _changed_attribute(instance, before)
            self.observe(_changed_attribute(instance, before, raw=True))
        else:
            self.observe(result)
        if array is None and result is None and self.last_mutation is not None:
            # An in-place API (`inplace_relu_derivative(Z, delta)` returns None and
            # updates `delta`): the updated argument is the result, not a side effect.
            mutated = names.index(self.last_mutation["name"])
            array = np.asarray(passed[mutated], dtype=np.float64)
            self.last_mutation = None
        elif array is None and result is None and instance is None:
            # An in-place API that leaves the upstream gradient as it is (the identity's).
            upstream = [i for i, n in enumerate(names) if GRAD_NAME.match(n) and isinstance(passed[i], np.ndarray)]
            if len(upstream) == 1:
                array = np.asarray(passed[upstream[0]], dtype=np.float64)
        return array

    def _trials(self, label: str, z: np.ndarray, s: np.ndarray) -> list[Trial]:
        found: list[Trial] = []
        try:
            _, names, stateful = self._callable(z)
        except FATAL:
            raise
        except Exception as error:  # noqa: BLE001
            self.errors.append(f"forward of `{self.spec['qualname'].split('.')[0]}` on {label}: {type(error).__name__}: {error}")
            return []
        positional = [n for n in names if not STEP_NAME.match(n) and not TRAINING_NAME.match(n)]
        where = "after forward(z)" if stateful else ""
        feeding = bool(self.spec.get("feed"))  # a call site's argument: only calls that take it
        if len(positional) == 0 and stateful and not feeding:
            # backward() reading the cache: the derivative at z, as a Jacobian or its diagonal
            result = self._safe(lambda: self._call(z, {}, names), f"{label} no-argument call")
            if result is not None:
                trial = self._unary_trial(f"`{self._name()}()` {where} on z {label}", z, s, z, result, "logits")
                if trial is not None:
                    found.append(trial)
        if len(positional) == 1:
            name = positional[0]
            grad_named = bool(GRAD_NAME.match(name))
            if (stateful or grad_named) and not feeding:
                trial = self._vjp_trial(label, z, s, names, name, {}, where)
                if trial is not None:
                    found.append(trial)
            if not (stateful and grad_named):
                for kind, x in self._inputs(z, s):
                    self.last_mutation = None
                    result = self._safe(lambda: self._call(z, {name: x}, names), f"{label} {kind}")
                    mutation = self.last_mutation
                    if result is not None:
                        shown = kind if self.kind is not None else {"logits": "inputs", "activations": "its forward's outputs"}.get(kind, kind)
                        desc = f"`{self._name()}({'z' if kind == 'logits' else 's'})` with {shown} {label}"
                        trial = self._unary_trial(desc, z, s, x, result, kind)
                        if trial is not None:
                            trial.mutation = mutation
                            found.append(trial)
        if len(positional) == 2:
            first, second = positional
            targets = [n for n in positional if is_target_name(n)]
            if targets and not any(GRAD_NAME.match(n) for n in positional):
                if len(targets) == 2:  # `f(t, y)`: an ODE's time and state, not a prediction and its target
                    raise Unknown(
                        f"it takes two parameters, `{first}` and `{second}`, and neither is known to be the input "
                        "it is the derivative in (an ODE right-hand side `f(t, y)`, or a loss gradient with no loss "
                        "paired with it): its calling convention cannot be established"
                    )
                other = second if targets[0] == first else first
                raise Unknown(
                    f"it takes `{other}` and `{targets[0]}`, a name used for targets: a loss gradient with no loss "
                    "paired with it (a loss function `f` beside `f_prime`, or a class with forward and backward), "
                    f"or a function of two inputs; which one is not known, so it is not called"
                )
            pairs = [(first, second), (second, first)]
            if self.cache_param in positional:
                pairs = [(self.cache_param, second if first == self.cache_param else first)]
            elif GRAD_NAME.match(first) and not GRAD_NAME.match(second):
                pairs = [(second, first)]
            elif GRAD_NAME.match(second) and not GRAD_NAME.match(first):
                pairs = [(first, second)]
            for x_name, g_name in pairs:
                for kind, x in self._inputs(z, s):
                    trial = self._vjp_trial(label, z, s, names, g_name, {x_name: x}, where, kind, x_name)
                    if trial is not None:
                        found.append(trial)
        return found

    def _name(self) -> str:
        return self.spec["qualname"].split(".")[-1]

    def _inputs(self, z: np.ndarray, s: np.ndarray) -> list[tuple[str, Any]]:
        """The inputs to feed: both, or only the one a call site passes (`feed`); for a cache
        parameter, the cache the paired forward returns at z."""
        if self.cache_source is not None:
            try:
                with _quiet():
                    result = self.cache_source(z.copy())
            except FATAL:
                raise
            except Exception as error:  # noqa: BLE001 - the forward may not take this shape
                self.errors.append(f"forward `{self.spec.get('forward')}` for the cache: {type(error).__name__}: {error}")
                return []
            if not (isinstance(result, tuple) and len(result) == 2):
                raise Unknown(f"its forward `{self.spec.get('forward')}` did not return a pair (output, cache)")
            return [("cache", result[1])]
        both = [("logits", z), ("activations", s)]
        feed = self.spec.get("feed")
        return [pair for pair in both if pair[0] == feed] if feed else both

    def _safe(self, call: Callable[[], Optional[np.ndarray]], what: str) -> Optional[np.ndarray]:
        try:
            return call()
        except FATAL:
            raise
        except Exception as error:  # noqa: BLE001 - a convention that does not fit raises
            self.errors.append(f"{what}: {type(error).__name__}: {error}")
            return None

    def _unary_trial(self, desc: str, z: np.ndarray, s: np.ndarray, x: np.ndarray, result: np.ndarray, kind: str) -> Optional[Trial]:
        shape, m = z.shape, z.size
        jac = self.jacobian(z)
        numeric = self.kind is None
        batched = len(shape) == 2 and shape[0] == N_BATCH
        alternatives = []
        jacobian_shapes = {(m, m), shape + shape}
        if len(shape) == 2:
            jacobian_shapes.add((shape[0], shape[1], shape[1]))
        if result.size == m * m and result.shape in jacobian_shapes:
            got = result.reshape(m, m)
            expected = jac
            form = f"({m}, {m}) Jacobian"
            swapped = self._swapped_jacobians(z, s)
            alternatives = [(label, value) for label, value in swapped]
            recompute = (lambda: self.jacobian(z, richardson=True)) if numeric else None
            desc_shape = result.shape
        elif batched and result.shape == (N_BATCH, N_CLASSES, N_CLASSES):
            got = result
            expected = np.stack([jac[b * N_CLASSES : (b + 1) * N_CLASSES, b * N_CLASSES : (b + 1) * N_CLASSES] for b in range(N_BATCH)])
            form = "(N, n, n) per-sample Jacobians"
            alternatives = [(label, _blocks(value)) for label, value in self._swapped_jacobians(z, s)]
            recompute = (lambda: _blocks(self.jacobian(z, richardson=True))) if numeric else None
            desc_shape = result.shape
        elif result.shape == shape or result.shape == (m,):
            got = result.reshape(shape)
            expected = np.diag(jac).reshape(shape)
            form = "the Jacobian's diagonal (elementwise derivative)"
            alternatives = [(label, np.diag(value).reshape(shape)) for label, value in self._swapped_jacobians(z, s)]
            alternatives.append((RETURNS_FORWARD, s))
            recompute = (lambda: np.diag(self.jacobian(z, richardson=True)).reshape(shape)) if numeric else None
            desc_shape = result.shape
            if not self._is_diagonal(jac):
                # A vector can only stand for the diagonal of this full Jacobian:
                # compare it as such, so the worst entry shows what is lost.
                got = np.diag(result.reshape(-1))
                expected = jac
                form = "a vector, read as the Jacobian's diagonal"
                alternatives = [(RETURNS_FORWARD, np.diag(s.reshape(-1)))]
                recompute = (lambda: self.jacobian(z, richardson=True)) if numeric else None
                if batched:  # per-sample blocks, so the worst entry reads [sample, i, j]
                    got, expected = _blocks(got), _blocks(jac)
                    alternatives = [(RETURNS_FORWARD, _blocks(np.diag(s.reshape(-1))))]
                    form = "a vector per sample, read as each Jacobian's diagonal"
                    recompute = (lambda: _blocks(self.jacobian(z, richardson=True))) if numeric else None
        else:
            self.errors.append(f"{desc}: result shape {result.shape} is not a Jacobian, per-sample Jacobians or a diagonal")
            return None
        if got.ndim >= 2 and got.shape[-1] == got.shape[-2] and "diagonal" not in form:
            transposed = np.swapaxes(expected, -1, -2)
            if not _close(got, expected) and _close(got, transposed):
                # The denominator layout (entry [i, j] = d out_j / d in_i) is a convention, not a
                # bug: the caller's `J @ g` is then right. Only a VJP can be transposed wrongly.
                expected = transposed
                form += " in the denominator layout (entry [i, j] = d out_j / d in_i)"
                recompute = None
        identity = np.eye(m) if result.size == m * m else np.ones(result.shape)  # `np.ones_like(x)`, `np.eye(n)`
        passes_through = self.kind == "softmax" and result.size == identity.size and bool(
            np.array_equal(result.reshape(-1), identity.reshape(-1))
        )
        # a backward's `return din`: its argument back, whichever convention fed it (the activations read as its input)
        returns_argument = (
            self.kind == "softmax" and _BACKWARD_WORD.search(self._name()) is not None
            and result.shape == np.shape(x) and bool(np.array_equal(result, x))
        )
        return Trial(
            f"{desc} -> {form} {tuple(desc_shape)}",
            got,
            expected,
            _describe(x),
            alternatives,
            numeric=numeric,
            recompute=recompute,
            batch=N_BATCH if batched else None,
            classes=N_CLASSES,
            note=PASS_THROUGH_ONES if passes_through else PASS_THROUGH_VJP if returns_argument else None,
        )

    def _is_diagonal(self, jac: np.ndarray) -> bool:
        return bool(np.all(np.abs(jac - np.diag(np.diag(jac))) <= 1e-8 * max(1.0, float(np.max(np.abs(jac))))))

    def _swapped_jacobians(self, z: np.ndarray, s: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """The full Jacobian as the two activation/pre-activation mix-ups compute it."""
        out = []
        if self.kind in refs.ELEMENTWISE:
            g = refs.derivative_from_activation(self.kind, z, self.slope)
            if g is not None:
                out.append((SWAP_PRE, np.diag(g.reshape(-1))))
        elif self.kind == "softmax":
            flat_blocks = _jacobian_formula_at(z)
            out.append((SWAP_PRE, flat_blocks))
        if self.kind == "softmax":
            flat = s.reshape(-1)
            blocks = _jacobian_formula_at(s)
            mask = blocks != 0  # the per-sample blocks
            outer = np.where(mask, np.diag(flat) - blocks, 0.0)  # s_i s_j per block
            out += [
                ("the diagonal holds -s_i*s_i, the off-diagonal formula (the diagonal value is overwritten), "
                 "and the off-diagonal terms are missing", np.diag(-flat**2)),
                ("the diagonal holds -s_i*s_i, the off-diagonal formula (the diagonal value is overwritten)", -outer),
                ("the outer product s s^T is added instead of subtracted", np.diag(flat) + outer),
                (SAME_INDEX, np.where(mask, np.diag(flat) - flat[:, None] ** 2, 0.0)),
                (SAME_INDEX, np.where(mask, np.diag(flat) - flat[None, :] ** 2, 0.0)),
                ("the scalar s.s (np.dot(s, s.T) of a 1-D s) is subtracted from every entry instead of the outer product s s^T",
                 np.where(mask, np.diag(flat) - _block_sums(s), 0.0)),
            ]
        try:
            out.append((SWAP_ACT, self.jacobian(s)))
        except FATAL:
            raise
        except Exception:  # noqa: BLE001 - the forward may not accept its own output
            pass
        return out

    def _vjp_trial(
        self,
        label: str,
        z: np.ndarray,
        s: np.ndarray,
        names: list[str],
        g_name: str,
        values: dict[str, Any],
        where: str,
        kind: str = "logits",
        x_name: Optional[str] = None,
    ) -> Optional[Trial]:
        shape, m = z.shape, z.size
        g1 = self.rng.normal(size=shape)
        g2 = self.rng.normal(size=shape)
        what = f"{label} {kind} upstream `{g_name}`"
        self.last_mutation = None
        r1 = self._safe(lambda: self._call(z, {**values, g_name: g1}, names), what)
        mutation = self.last_mutation
        if r1 is None:
            return None
        r2 = self._safe(lambda: self._call(z, {**values, g_name: g2}, names), what)
        r12 = self._safe(lambda: self._call(z, {**values, g_name: g1 + g2}, names), what)
        if r2 is None or r12 is None or r1.shape != r2.shape or r1.shape != r12.shape:
            return None
        jac = self.jacobian(z)
        shown = "z" if kind == "logits" else "the cache forward(z) returns" if kind == "cache" else "s"
        x_desc = f"{x_name}={shown}, " if x_name else ""
        call = f"`{self._name()}({x_desc}{g_name}=g)`"
        desc = f"{call} {where} on z {label}".replace("  ", " ") if where else f"{call} with {kind} {label}"
        expected = (jac.T @ g1.reshape(-1)).reshape(shape)
        # Linear up to round-off: a VJP that is wrong by a nonlinearity is off by far more.
        # A deviation this small is the round-off of float32 arithmetic inside (even when the
        # result is float64: `s * (g - np.sum(s * g, dtype=np.float32))`), and sets the
        # precision the result is judged with.
        try:
            deviation = compare(r12, r1 + r2).rel_error
        except (ValueError, IndexError):
            deviation = float("inf")
        linear = deviation <= LINEARITY_TOLERANCE
        result_precision = max(self.precision, deviation / 4.0) if linear else self.precision
        note = None
        grad_named = bool(GRAD_NAME.match(g_name))
        if grad_named and linear and self.kind in ("softmax", "sigmoid") and r1.size == m and np.array_equal(r1.reshape(shape), g1):
            # `return grad`: the fused loss's design, or a missing Jacobian. (A parameter not named
            # as a gradient, `backward(self, X): return X`, may be a derivative at X returning X.)
            note = PASS_THROUGH_VJP if self.kind == "softmax" else PASS_THROUGH_SIGMOID
        if not linear:
            if not grad_named:
                self.errors.append(f"{what}: the result is not linear in `{g_name}`, so it is not an upstream gradient")
                return None
            if _close(r1, r2, 1e-12):
                note = f"the upstream gradient `{g_name}` is not used: the result does not change with it"
            else:
                note = f"the result is not linear in the upstream gradient `{g_name}` (passed through the nonlinearity?)"
        if r1.size == m * m and r1.size != m:
            got = r1.reshape(m, m)
            flat_g = g1.reshape(-1)
            for candidate, text in ((jac * flat_g[None, :], "columns"), (jac * flat_g[:, None], "rows")):
                if _close(got, candidate):
                    return Trial(
                        f"{desc} -> VJP of shape {shape}",
                        r1,
                        expected,
                        _describe(z),
                        note=f"the Jacobian is multiplied elementwise by the upstream gradient (`*` instead of `@`): result shape {r1.shape}, expected {shape}",
                        comparison=Comparison(float("inf"), float("inf"), (0,), float(expected.reshape(-1)[0]), float(r1.reshape(-1)[0])),
                    )
            self.errors.append(f"{desc}: result shape {r1.shape}, expected the input's shape {shape}")
            return None
        if r1.size != m:
            self.errors.append(f"{desc}: result shape {r1.shape}, expected the input's shape {shape}")
            return None
        got = r1.reshape(shape)
        flat_g = g1.reshape(-1)
        alternatives = [("transposed: the result is J @ g instead of J.T @ g", (jac @ flat_g).reshape(shape))]
        if not self._is_diagonal(jac):
            alternatives.append(("diagonal only: the upstream gradient times the Jacobian's diagonal (elementwise s*(1-s)); the off-diagonal terms are lost", (np.diag(jac) * flat_g).reshape(shape)))
        for text, full in self._swapped_jacobians(z, s):
            alternatives.append((text, (full.T @ flat_g).reshape(shape)))
            if not self._is_diagonal(jac) and text == SWAP_PRE:
                alternatives.append((
                    "diagonal only (the elementwise s*(1-s)), and evaluated at the pre-activation z instead of the activation",
                    (np.diag(full) * flat_g).reshape(shape),
                ))
        if self.kind == "softmax" and len(shape) == 2 and shape[0] > 1 and shape[1] > 1:
            rows = refs.activation_forward("softmax", z)
            alternatives.append((
                "the sum of s*g runs over the whole batch instead of each row (axis=-1, keepdims=True)",
                rows * (g1 - np.sum(g1 * rows)),
            ))
        return Trial(
            f"{desc} -> VJP {shape}",
            got,
            expected,
            {"z": _describe(z), "upstream": _describe(g1)},
            alternatives,
            mutation=mutation,
            numeric=self.kind is None,
            recompute=(lambda: (self.jacobian(z, richardson=True).T @ flat_g).reshape(shape)) if self.kind is None else None,
            note=note,
            batch=N_BATCH if len(shape) == 2 and shape[0] == N_BATCH else None,
            classes=N_CLASSES,
            precision=result_precision,
        )


def _layer_vjp(trial: Trial) -> bool:
    """A VJP trial of a layer's backward run after its forward on the same input."""
    return " after forward(z) on z " in trial.convention and " -> VJP " in trial.convention


def _jacobian_formula_at(x: np.ndarray) -> np.ndarray:
    """diag(x) - x x^T per sample, as a full (m, m) matrix: the softmax
    activation-convention formula applied to whatever it is given."""
    column = x.ndim == 2 and x.shape[1] == 1 and x.shape[0] > 1
    rows = x.reshape(1, -1) if (x.ndim == 1 or column) else x.reshape(-1, x.shape[-1])
    count, n = rows.shape
    full = np.zeros((count * n, count * n))
    for b in range(count):
        r = rows[b]
        full[b * n : (b + 1) * n, b * n : (b + 1) * n] = np.diag(r) - np.outer(r, r)
    return full


def _block_sums(s: np.ndarray) -> np.ndarray:
    """Per-sample sum of squares, spread over each sample's (n, n) block."""
    column = s.ndim == 2 and s.shape[1] == 1 and s.shape[0] > 1
    rows = s.reshape(1, -1) if (s.ndim == 1 or column) else s.reshape(-1, s.shape[-1])
    count, n = rows.shape
    full = np.zeros((count * n, count * n))
    for b in range(count):
        full[b * n : (b + 1) * n, b * n : (b + 1) * n] = np.sum(rows[b] ** 2)
    return full


def _blocks(full: np.ndarray) -> np.ndarray:
    return np.stack([full[b * N_CLASSES : (b + 1) * N_CLASSES, b * N_CLASSES : (b + 1) * N_CLASSES] for b in range(N_BATCH)])


