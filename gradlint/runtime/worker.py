"""The sandboxed side of the runtime checker: import one generated module,
probe each target's calling convention, compare it with its reference.

Run as `python -I -m gradlint.runtime.worker PAYLOAD.json` by
`gradlint.runtime.sandbox`, in a temporary working directory with resource
limits. It writes one JSON line per target to the payload's `results` file
(flushed as it goes, so a hang in one target keeps the others' verdicts), and
a `{"running": id}` line before each target, so the parent knows which one
hung. The user's prints go to a buffer, never to the protocol.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import math
import re
import signal
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from gradlint.runtime import references as refs
from gradlint.runtime.compare import CONFIRM_TOLERANCE, PASS_TOLERANCE, Comparison, compare, diagnose

N_CLASSES = 5  # n: the feature/class axis
N_BATCH = 3  # N: the batch axis (n != N so shapes are unambiguous)

GRAD_NAME = re.compile(
    r"^(grad\w*|\w*_grad(ient)?s?|d_?(out|values|a|y|z|h|l|loss|output|outputs|inputs?|x|act|activation|e|err)\w*|"
    r"delta\w*|upstream\w*|output_(error|gradient|grad)|errors?|err|g|dy|top_diff|chain\w*|back\w*)$",
    re.IGNORECASE,
)
STEP_NAME = re.compile(r"^(lr|learning_?rate|eta|step_?size|rate|optimizer|optim|alpha_?lr)$", re.IGNORECASE)
TARGET_NAME = re.compile(
    r"^(y|t|ys|yt|targets?|labels?|y_?true|true|truth|expected|actual|ground_?truth|gt|y_?train|y_?batch|one_?hot|"
    r"desired|target_?output|y_?target|y_?actual|y_?gt|answer|answers)$",
    re.IGNORECASE,
)
TRAINING_NAME = re.compile(r"^(training|train|is_?training|train_?mode|mode)$", re.IGNORECASE)
RESULT_ATTRIBUTES = ("dinputs", "dinput", "dx", "dX", "grad_input", "input_grad", "grad_inputs", "dZ", "dz", "delta", "grad", "gradient")


class TargetTimeout(BaseException):
    """Raised by SIGALRM when one target takes too long (BaseException so
    that the user's `except Exception` cannot swallow it)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise TargetTimeout()


class Unknown(Exception):
    """The target cannot be checked; the message says why."""


# Errors that end the whole target rather than one calling convention.
FATAL = (Unknown, TargetTimeout, MemoryError, RecursionError)


@dataclass
class Trial:
    """One calling convention that produced a result of a recognised shape."""

    convention: str
    got: np.ndarray
    expected: np.ndarray
    input_used: Any
    alternatives: list = field(default_factory=list)
    numeric: bool = False
    recompute: Optional[Callable[[], np.ndarray]] = None  # higher-accuracy reference
    note: Optional[str] = None  # forced diagnosis (e.g. upstream gradient unused)
    mutation: Optional[dict] = None  # an argument the call modified in place
    batch: Optional[int] = None
    classes: Optional[int] = None
    comparison: Optional[Comparison] = None

    def measure(self) -> Comparison:
        if self.comparison is None:
            self.comparison = compare(self.got, self.expected)
        return self.comparison


# -- resolving callables --------------------------------------------------------


def _resolve(module: Any, qualname: str) -> tuple[Optional[type], Any]:
    parts = qualname.split(".")
    if len(parts) == 1:
        if not hasattr(module, parts[0]):
            raise Unknown(f"`{qualname}` is not defined at module level")
        return None, getattr(module, parts[0])
    if len(parts) == 2:
        cls = getattr(module, parts[0], None)
        if not isinstance(cls, type):
            raise Unknown(f"`{parts[0]}` is not a class defined at module level")
        if not hasattr(cls, parts[1]):
            raise Unknown(f"class `{parts[0]}` has no method `{parts[1]}`")
        return cls, parts[1]
    raise Unknown(f"`{qualname}` is nested inside another function; only module-level functions and methods are checked")


def _instantiate(cls: type) -> Any:
    try:
        return cls()
    except TypeError as error:
        raise Unknown(f"cannot construct `{cls.__name__}()` without arguments ({error})") from None


def _required(func: Callable) -> list[str]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in signature.parameters.values()
        if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def _as_array(value: Any) -> Optional[np.ndarray]:
    if value is None:
        return None
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], np.ndarray) and len(value) <= 4:
        if not all(np.shape(v) == np.shape(value[0]) for v in value):
            value = value[0]  # (dx, dW, db)-style tuples: the input gradient first
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array


def _fill(names: list[str], values: dict[str, Any]) -> Optional[list[Any]]:
    """Arguments for `names`: the given values, 0.0 for a learning rate, False for a training flag."""
    args = []
    for name in names:
        if name in values:
            args.append(values[name])
        elif STEP_NAME.match(name):
            args.append(0.0)
        elif TRAINING_NAME.match(name):
            args.append(False)
        else:
            return None
    return args


# -- inputs -----------------------------------------------------------------


def _logits(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random float64 values away from 0 (the kink of relu-like forwards)."""
    magnitude = rng.uniform(0.25, 2.0, size=shape)
    size = int(np.prod(shape))
    # Both signs always present (a relu's two branches), in a random order.
    sign = rng.permutation(np.where(np.arange(size) % 2 == 0, 1.0, -1.0)).reshape(shape)
    return magnitude * sign


def _describe(array: np.ndarray) -> Any:
    return np.round(array, 6).tolist()


SHAPES = {
    "(n,)": (N_CLASSES,),
    "(N, n)": (N_BATCH, N_CLASSES),
    "(n, 1)": (N_CLASSES, 1),
    "(1, n)": (1, N_CLASSES),
}


# -- activations ------------------------------------------------------------


class ActivationProbe:
    """Tries the calling conventions of an activation's derivative."""

    def __init__(self, module: Any, spec: dict, rng: np.random.Generator) -> None:
        self.spec = spec
        self.rng = rng
        self.kind = spec.get("forward_kind") if spec.get("forward_kind") in refs.ACTIVATIONS else None
        self.slope = float(spec.get("slope") or 0.01)
        self.cls, self.target = _resolve(module, spec["qualname"])
        self.user_forward = self._user_forward(module, spec.get("forward"))
        if self.kind is None and self.user_forward is None:
            raise Unknown("its forward is neither recognised nor found (same class, or a name pairing like f / f_prime)")
        self.errors: list[str] = []
        self.last_mutation: Optional[dict] = None
        if self.kind is None:
            self._check_deterministic()

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
        if cls is None:
            return lambda x: np.asarray(target(x), dtype=np.float64)

        def forward(x: np.ndarray) -> np.ndarray:
            instance = _instantiate(cls)
            method = getattr(instance, target)
            args = _fill(_required(method), {})
            extra = args if args is not None else []
            with _quiet():
                return np.asarray(method(x, *extra[1:]) if extra else method(x), dtype=np.float64)

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
        return refs.numeric_jacobian(self.forward, x, richardson=richardson)

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
            trials.extend(self._trials(label, z, s))
            if any(t.measure().rel_error <= PASS_TOLERANCE for t in trials):
                break
        return trials

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
        passed = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        with _quiet():
            result = func(*passed)
        self.last_mutation = _mutation(names, args, passed)
        array = _as_array(result)
        if array is None and instance is not None:
            array = _changed_attribute(instance, before)
        return array

    def _trials(self, label: str, z: np.ndarray, s: np.ndarray) -> list[Trial]:
        shape = z.shape
        m = z.size
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
                        desc = f"`{self._name()}({'z' if kind == 'logits' else 's'})` with {kind} {label}"
                        trial = self._unary_trial(desc, z, s, x, result, kind)
                        if trial is not None:
                            trial.mutation = mutation
                            found.append(trial)
        if len(positional) == 2:
            first, second = positional
            pairs = [(first, second), (second, first)]
            if GRAD_NAME.match(first) and not GRAD_NAME.match(second):
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

    def _inputs(self, z: np.ndarray, s: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """The inputs to feed: both, or only the one a call site passes (`feed`)."""
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
        else:
            self.errors.append(f"{desc}: result shape {result.shape} is not a Jacobian, per-sample Jacobians or a diagonal")
            return None
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
        x_desc = f"{x_name}={'z' if kind == 'logits' else 's'}, " if x_name else ""
        call = f"`{self._name()}({x_desc}{g_name}=g)`"
        desc = f"{call} {where} on z {label}".replace("  ", " ") if where else f"{call} with {kind} {label}"
        expected = (jac.T @ g1.reshape(-1)).reshape(shape)
        linear = _close(r12, r1 + r2, 1e-8)
        note = None
        grad_named = bool(GRAD_NAME.match(g_name))
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
        )


DOUBLE_SOFTMAX = (
    "the fused softmax + cross-entropy gradient p - y is passed through the softmax Jacobian again "
    "(double softmax derivative)"
)
SAME_INDEX = "both factors of the outer product are indexed the same way: -s_i^2 (or -s_j^2) off the diagonal instead of -s_i*s_j"
RETURNS_FORWARD = "it returns the forward's value f(z) itself, not its derivative"
SWAP_PRE = "activation and pre-activation swapped: the activation-convention formula is evaluated at the pre-activation z"
SWAP_ACT = "activation and pre-activation swapped: the derivative is evaluated at the activation s = f(z) (the nonlinearity applied twice)"


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


def _close(a: np.ndarray, b: np.ndarray, tolerance: float = 1e-6) -> bool:
    try:
        return bool(np.shape(a) == np.shape(b)) and compare(a, b).rel_error <= tolerance
    except (ValueError, IndexError):
        return False


def _mutation(names: list[str], originals: list[Any], passed: list[Any]) -> Optional[dict]:
    """The first array argument the call modified in place (GL402), if any."""
    for name, original, after in zip(names, originals, passed):
        if isinstance(original, np.ndarray) and isinstance(after, np.ndarray) and original.shape == after.shape:
            changed = ~np.isclose(original, after, rtol=0, atol=0, equal_nan=True)
            if np.any(changed):
                index = tuple(int(i) for i in np.argwhere(changed)[0])
                return {"name": name, "index": index, "before": float(original[index]), "after": float(after[index])}
    return None


def _changed_attribute(instance: Any, before: dict) -> Optional[np.ndarray]:
    """A backward that stores its result (`self.dinputs = ...`) instead of returning it."""
    after = vars(instance)
    changed = {k: v for k, v in after.items() if isinstance(v, np.ndarray) and before.get(k) is not v}
    for name in RESULT_ATTRIBUTES:
        if name in changed:
            return np.asarray(changed[name], dtype=np.float64)
    if len(changed) == 1:
        return np.asarray(next(iter(changed.values())), dtype=np.float64)
    return None


# -- losses -----------------------------------------------------------------


class LossProbe:
    """Tries the calling conventions of a loss gradient (or a fused gradient)."""

    def __init__(self, module: Any, spec: dict, rng: np.random.Generator) -> None:
        self.spec = spec
        self.rng = rng
        self.kind = spec.get("forward_kind") if spec.get("forward_kind") in refs.LOSSES else None
        self.cls, self.target = _resolve(module, spec["qualname"])
        self.user_forward: Optional[tuple[Optional[type], Any]] = _resolve(module, spec["forward"]) if spec.get("forward") else None
        if self.kind is None and self.user_forward is None:
            raise Unknown("its loss is neither recognised nor found (same class, or a name pairing like mse / mse_prime)")
        self.errors: list[str] = []

    def _fused(self) -> bool:
        return self.kind in ("softmax_cross_entropy", "sigmoid_binary_cross_entropy")

    def _inputs(self, shape: tuple[int, ...], labels: str, domain: str = "logits") -> tuple[np.ndarray, np.ndarray]:
        rng = self.rng
        if self.kind is None and domain == "probabilities":
            p = refs.activation_forward("softmax", rng.normal(size=shape))
        elif self.kind in ("binary_cross_entropy",):
            p = rng.uniform(0.1, 0.9, size=shape)
        elif self.kind == "cross_entropy":
            p = refs.activation_forward("softmax", rng.normal(size=shape))
        else:
            p = _logits(rng, shape)
        if labels == "indices":
            count = shape[0] if len(shape) == 2 else 1
            y = rng.integers(0, shape[-1], size=count)
            y = y if len(shape) == 2 else np.asarray(y[0])
        elif self.kind in ("binary_cross_entropy", "sigmoid_binary_cross_entropy"):
            y = (rng.random(size=shape) < 0.5).astype(np.float64)
        elif self.kind == "mse":
            y = rng.normal(size=shape)
        else:
            y = np.zeros(shape)
            if len(shape) == 1:
                y[rng.integers(0, shape[0])] = 1.0
            else:
                y[np.arange(shape[0]), rng.integers(0, shape[1], size=shape[0])] = 1.0
        return p, y

    def _user_loss(self, p: np.ndarray, y: Any) -> np.ndarray:
        assert self.user_forward is not None
        cls, target = self.user_forward
        func = target if cls is None else getattr(_instantiate(cls), target)
        names = _required(func)
        args = _order_loss_args(names, p, y)
        if args is None:
            raise Unknown(f"cannot tell the prediction from the target among the parameters {names} of the loss")
        with _quiet():
            return np.asarray(func(*args), dtype=np.float64)

    def _references(self, p: np.ndarray, y: Any) -> list[tuple[str, np.ndarray, bool]]:
        """(reduction, gradient, numeric) candidates for d loss / d p."""
        shape = p.shape
        batch = shape[0] if len(shape) == 2 else 1
        if self.user_forward is not None:
            value = self._user_loss(p, y)
            scale = 1.0 if value.size == 1 else float(value.size)

            def reductions(label: str, grad: np.ndarray) -> list[tuple[str, np.ndarray, bool]]:
                if value.size == 1:
                    return [(f"{label}the loss's own reduction", grad, True)]
                return [(f"{label}sum over samples", grad, True), (f"{label}mean over samples (/{scale:g})", grad / scale, True)]

            grad = refs.numeric_jacobian(lambda q: np.sum(self._user_loss(q, y)), p).reshape(shape)
            out = reductions("", grad)
            if np.all(p > 0) and np.all(p < 1):
                # The fused convention: the gradient with respect to the logits of the loss
                # of softmax(z) (rows summing to 1) or sigmoid(z), evaluated where f(z) = p;
                # correct when the softmax/sigmoid layer's backward passes it through.
                if np.allclose(np.sum(p, axis=-1), 1.0):
                    logits = np.log(p)
                    fused = refs.numeric_jacobian(
                        lambda z: np.sum(self._user_loss(refs.activation_forward("softmax", z), y)), logits
                    ).reshape(shape)
                    out += reductions("fused with the softmax (the gradient with respect to its logits), ", fused)
                logits = np.log(p / (1 - p))
                fused = refs.numeric_jacobian(
                    lambda z: np.sum(self._user_loss(refs.activation_forward("sigmoid", z), y)), logits
                ).reshape(shape)
                out += reductions("fused with the sigmoid (the gradient with respect to its logits), ", fused)
            return out
        grad = refs.loss_gradient(self.kind, p, y)
        out = [("sum", grad, False)]
        if batch > 1:
            out.append((f"mean over the batch (/{batch})", grad / batch, False))
        if p.size > batch and self.kind in ("mse", "binary_cross_entropy", "sigmoid_binary_cross_entropy"):
            out.append((f"mean over all {p.size} entries", grad / p.size, False))
        if self.kind == "mse":
            out += [(f"{text}, with the 1/2 convention", value / 2.0, False) for text, value, _ in list(out)]
        return out

    def _prepare(self, shape_label: str, labels: str, labels_desc: str) -> Optional[tuple]:
        """Inputs in the first domain where the loss is finite, and the reference gradients."""
        domains = ["logits", "probabilities"] if self.kind is None else ["logits"]
        for domain in domains:
            try:
                p, y = self._inputs(SHAPES[shape_label], labels, domain)
                candidates = self._references(p, y)
            except FATAL:
                raise
            except Exception as error:  # noqa: BLE001
                self.errors.append(f"loss on {shape_label} {domain} {labels_desc}: {type(error).__name__}: {error}")
                continue
            if not all(np.all(np.isfinite(c[1])) for c in candidates):
                self.errors.append(f"loss on {shape_label} {domain} {labels_desc}: not finite")
            elif not any(np.any(np.abs(c[1]) > 1e-12) for c in candidates):
                self.errors.append(f"loss on {shape_label} {domain} {labels_desc}: its gradient is zero there (clipped?)")
            else:
                return p, y, candidates, domain
        return None

    def run(self) -> list[Trial]:
        trials: list[Trial] = []
        label_kinds = ["one-hot"]
        if self.kind in ("cross_entropy", "softmax_cross_entropy") or (self.kind is None):
            label_kinds.append("indices")
        shapes = ["(N, n)", "(n,)"]
        for shape_label in shapes:
            for labels in label_kinds:
                if labels == "indices" and shape_label == "(n,)" and self.kind is None:
                    continue  # one scalar label: too degenerate to judge an unknown loss by
                if labels == "one-hot" and self.kind is None:
                    labels_desc = "targets"
                else:
                    labels_desc = f"{labels} targets"
                prepared = self._prepare(shape_label, labels, labels_desc)
                if prepared is None:
                    continue
                p, y, candidates, domain = prepared
                inputs = [("logits", p)]
                if self._fused():
                    forward = "softmax" if self.kind == "softmax_cross_entropy" else "sigmoid"
                    inputs.append(("activations", refs.activation_forward(forward, p)))
                elif self.kind is None and domain == "logits":
                    # a fused loss class's backward often takes the probabilities it cached
                    inputs.append(("softmax probabilities", refs.activation_forward("softmax", p)))
                    inputs.append(("sigmoid probabilities", refs.activation_forward("sigmoid", p)))
                for kind, x in inputs:
                    got = self._call(x, y, f"{shape_label} {kind} {labels_desc}")
                    if got is None:
                        continue
                    if got.size != p.size:
                        self.errors.append(f"{shape_label} {labels_desc}: result shape {got.shape}, expected {p.shape}")
                        continue
                    got = got.reshape(p.shape)
                    best = min(candidates, key=lambda c: compare(got, c[1]).rel_error)
                    reduction, expected, numeric = best
                    what = "predictions" if not self._fused() else ("logits z" if kind == "logits" else "probabilities s = f(z)")
                    if self.kind is None and kind != "logits":
                        what = f"{kind} of the loss's input"
                    if not np.any(np.abs(expected) > 1e-12):
                        self.errors.append(f"{shape_label} {labels_desc}: the reference gradient is zero (uninformative)")
                        continue
                    alternatives = []
                    probabilities = None
                    if kind != "logits" and "softmax" in kind or kind == "activations" and self.kind == "softmax_cross_entropy":
                        probabilities = x
                    elif kind == "logits" and self.kind == "softmax_cross_entropy":
                        probabilities = refs.activation_forward("softmax", x)
                    if probabilities is not None:
                        again = probabilities * (expected - np.sum(expected * probabilities, axis=-1, keepdims=True))
                        alternatives.append((DOUBLE_SOFTMAX, again))
                    trials.append(
                        Trial(
                            f"`{self.spec['qualname']}` with {what} {shape_label} and {labels_desc}, {reduction}",
                            got,
                            expected,
                            {"prediction": _describe(x), "target": _describe(np.asarray(y, dtype=np.float64))},
                            alternatives,
                            numeric=numeric,
                            batch=p.shape[0] if p.ndim == 2 else None,
                            classes=p.shape[-1],
                        )
                    )
                if any(t.measure().rel_error <= PASS_TOLERANCE for t in trials):
                    return trials
        return trials

    def _call(self, x: np.ndarray, y: Any, what: str) -> Optional[np.ndarray]:
        try:
            if self.cls is None:
                func = self.target
            else:
                instance = _instantiate(self.cls)
                forward = _loss_forward_name(self.cls, self.spec.get("forward"))
                if forward and forward != self.target:
                    method = getattr(instance, forward)
                    args = _order_loss_args(_required(method), x.copy(), y)
                    if args is not None:
                        with _quiet():
                            method(*args)
                func = getattr(instance, self.target)
            names = _required(func)
            instance = getattr(func, "__self__", None)
            before = dict(vars(instance)) if instance is not None and hasattr(instance, "__dict__") else {}
            args = _order_loss_args(names, x.copy(), y) if names else []
            if args is None:
                self.errors.append(f"{what}: cannot tell the prediction from the target among {names}")
                return None
            with _quiet():
                result = func(*args)
            array = _as_array(result)
            if array is None and instance is not None:
                array = _changed_attribute(instance, before)
            return array
        except FATAL:
            raise
        except Exception as error:  # noqa: BLE001
            self.errors.append(f"{what}: {type(error).__name__}: {error}")
            return None


def _loss_forward_name(cls: type, forward: Optional[str]) -> Optional[str]:
    if forward and forward.startswith(cls.__name__ + "."):
        return forward.split(".", 1)[1]
    for name in ("forward", "__call__", "loss", "calculate", "compute"):
        if hasattr(cls, name) and name != "__call__" or name in vars(cls):
            return name
    return None


def _order_loss_args(names: list[str], p: np.ndarray, y: Any) -> Optional[list[Any]]:
    """(prediction, target) placed by parameter names; learning rates get 0."""
    positional = [n for n in names if not STEP_NAME.match(n) and not TRAINING_NAME.match(n)]
    if len(positional) == 2:
        first, second = positional
        if TARGET_NAME.match(first) and not TARGET_NAME.match(second):
            values = {first: y, second: p}
        else:
            values = {first: p, second: y}
    elif len(positional) == 1:
        values = {positional[0]: p}
    else:
        return None
    return _fill(names, values)


# -- the verdict --------------------------------------------------------------


def _verdict(trials: list[Trial], errors: list[str]) -> dict:
    if not trials:
        raised = {e.split(": ", 1)[1] for e in errors if ": " in e}
        if errors and len(raised) == 1:
            return {"status": "unknown", "reason": f"it raised {raised.pop()} in every calling convention tried"}
        reason = "no calling convention fits"
        if errors:
            reason += ": " + "; ".join(dict.fromkeys(errors[:3]))
        return {"status": "unknown", "reason": reason}
    passing = [t for t in trials if t.measure().rel_error <= PASS_TOLERANCE]
    if passing:
        best = min(passing, key=lambda t: (round(t.measure().rel_error, 12), trials.index(t)))
        diagnosis = None
    else:
        # The closest convention, preferring one whose numbers show a known mistake.
        diagnosed = [(t, t.note or diagnose(t.got, t.expected, t.alternatives, batch=t.batch, classes=t.classes)) for t in trials]
        named = [pair for pair in diagnosed if pair[1]]
        if named:
            # The most plausible convention (the order they are tried in) whose numbers a known mistake explains.
            best, diagnosis = named[0]
        else:
            best, diagnosis = min(diagnosed, key=lambda pair: (round(pair[0].measure().rel_error, 9), trials.index(pair[0])))
    comparison = best.measure()
    if PASS_TOLERANCE < comparison.rel_error < CONFIRM_TOLERANCE and best.recompute is not None:
        best.expected = best.recompute()  # Richardson recheck of a numeric reference
        best.comparison = None
        comparison = best.measure()
        diagnosis = best.note or diagnose(best.got, best.expected, best.alternatives, batch=best.batch, classes=best.classes)
    if best.note is not None and comparison.rel_error > PASS_TOLERANCE:
        status = "confirmed"
    elif comparison.rel_error <= PASS_TOLERANCE:
        status, diagnosis = "passed", None
    elif comparison.rel_error >= CONFIRM_TOLERANCE:
        status = "confirmed"
    else:
        status = "inconclusive"
    if status == "passed" and best.mutation is not None:
        mutation = best.mutation
        status = "confirmed"
        diagnosis = (
            f"the values are right, but it modifies its argument `{mutation['name']}` in place "
            "(the caller's array changes; copy it first)"
        )
        comparison = Comparison(
            abs(mutation["after"] - mutation["before"]),
            abs(mutation["after"] - mutation["before"]) / max(abs(mutation["before"]), abs(mutation["after"]), 1e-12),
            tuple(mutation["index"]),
            mutation["before"],
            mutation["after"],
        )
    return {
        "status": status,
        "convention": best.convention,
        "worst_index": list(comparison.worst_index),
        "expected": _finite(comparison.expected),
        "got": _finite(comparison.got),
        "abs_error": _finite(comparison.abs_error),
        "rel_error": _finite(comparison.rel_error),
        "diagnosis": diagnosis,
        "input": best.input_used,
    }


def _finite(value: float) -> Optional[float]:
    return value if math.isfinite(value) else None


@contextlib.contextmanager
def _quiet():
    """Swallow the user's prints."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


class FlowProbe:
    """A loss's backward followed by a softmax layer's backward, as a training loop
    chains them (GL203): the chain must give the gradient with respect to the logits."""

    def __init__(self, module: Any, spec: dict, rng: np.random.Generator) -> None:
        self.loss = LossProbe(module, spec["loss"], rng)
        self.activation = ActivationProbe(module, spec["activation"], rng)
        self.rng = rng
        self.errors: list[str] = []

    def run(self) -> list[Trial]:
        shape = SHAPES["(N, n)"]
        z = _logits(self.rng, shape)
        p = refs.activation_forward("softmax", z)
        y = np.zeros(shape)
        y[np.arange(shape[0]), self.rng.integers(0, shape[1], size=shape[0])] = 1.0
        if self.loss.kind is None and self.loss.user_forward is not None:
            candidates = [c for c in self.loss._references(p, y) if "fused with the softmax" in c[0]]
        elif self.loss.kind in ("softmax_cross_entropy", "cross_entropy"):
            fused = refs.loss_gradient("softmax_cross_entropy", z, y)
            candidates = [("sum", fused, False), (f"mean over the batch (/{shape[0]})", fused / shape[0], False)]
        else:
            raise Unknown("the loss is not a cross-entropy of a softmax output")
        if not candidates:
            raise Unknown("the loss's gradient with respect to the logits could not be formed")
        g = self.loss._call(p, y, "the loss's backward")
        if g is None or g.size != p.size:
            raise Unknown("the loss's backward could not be called on probabilities: " + "; ".join(self.loss.errors[:2]))
        g = g.reshape(shape)
        reduction, expected, _ = min(candidates, key=lambda c: compare(g, c[1]).rel_error)
        func, names, stateful = self.activation._callable(z)
        positional = [n for n in names if not STEP_NAME.match(n) and not TRAINING_NAME.match(n)]
        if not stateful or len(positional) != 1:
            raise Unknown("the softmax layer's backward does not take one upstream gradient after its forward")
        got = self.activation._call(z, {positional[0]: g}, names)
        if got is None or got.size != p.size:
            raise Unknown("the softmax layer's backward gave no result of the input's shape")
        got = got.reshape(shape)
        again = p * (expected - np.sum(expected * p, axis=-1, keepdims=True))
        loss_name, act_name = self.loss.spec["qualname"], self.activation.spec["qualname"]
        return [
            Trial(
                f"`{act_name}({loss_name}(p, y))` after forward(z) on z (N, n), one-hot targets, {reduction}",
                got,
                expected,
                {"z": _describe(z), "target": _describe(y)},
                [(DOUBLE_SOFTMAX, again)],
                batch=shape[0],
                classes=shape[1],
            )
        ]


def check_target(module: Any, spec: dict, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    try:
        role = spec.get("role", "activation")
        if role == "flow":
            probe: Any = FlowProbe(module, spec, rng)
        else:
            probe = LossProbe(module, spec, rng) if role == "loss" else ActivationProbe(module, spec, rng)
        with np.errstate(all="ignore"):
            trials = probe.run()
        return _verdict(trials, probe.errors)
    except Unknown as why:
        return {"status": "unknown", "reason": str(why)}
    except RecursionError:
        return {"status": "unknown", "reason": "it recursed without end (RecursionError)"}
    except MemoryError:
        return {"status": "unknown", "reason": "it ran out of memory (the sandbox's limit)"}


def main(payload_path: str) -> int:
    with open(payload_path, encoding="utf-8") as handle:
        payload = json.load(handle)
    results = open(payload["results"], "a", encoding="utf-8")

    def emit(record: dict) -> None:
        results.write(json.dumps(record) + "\n")
        results.flush()

    for path in reversed(payload.get("sys_path", [])):
        if path not in sys.path:
            sys.path.insert(0, path)
    signal.signal(signal.SIGALRM, _on_alarm)
    timeout = float(payload.get("timeout", 10.0))
    import importlib.util

    emit({"running": "<import>"})
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        spec = importlib.util.spec_from_file_location(payload["module_name"], payload["module_path"])
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[payload["module_name"]] = module
        with _quiet():
            spec.loader.exec_module(module)  # type: ignore[union-attr]
    except TargetTimeout:
        emit({"import_error": f"importing the module's definitions took more than {timeout:g} s"})
        return 0
    except BaseException as error:  # noqa: BLE001 - report, never crash
        frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
        where = f" (line {frame.lineno})" if frame and frame.filename == payload["module_path"] else ""
        emit({"import_error": f"importing the module's definitions raised {type(error).__name__}: {error}{where}"})
        return 0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    for target in payload["targets"]:
        emit({"running": target["id"]})
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            record = check_target(module, target, int(payload.get("seed", 0)))
        except TargetTimeout:
            record = {"status": "unknown", "reason": f"it did not finish within {timeout:g} s (hang?)"}
        except BaseException as error:  # noqa: BLE001 - SystemExit, KeyboardInterrupt from user code
            record = {"status": "unknown", "reason": f"it raised {type(error).__name__}: {error}"}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        record["id"] = target["id"]
        emit(record)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
