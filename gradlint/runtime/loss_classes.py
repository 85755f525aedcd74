"""Self-consistency trials of loss code that carries its own derivatives (sandbox side, numpy only).

The targets come from `gradlint.runtime.loss_class_targets`; no guess of the user's math is
needed, only the code's own functions:

- `loss_class`: the gradient method against central differences of the class's loss with
  respect to the prediction (of the sum of the loss when it returns per-entry values). For a
  scalar loss, the conventions real code uses are tried: the exact gradient, per sample (times
  the number of rows or of entries); for per-entry losses, the exact gradient and the gradient of
  their mean. A gradient that fits only with the opposite sign (the derivative of the negated
  loss, a log-likelihood returned by `loss`) is `unknown`, never a mismatch.
- `loss_class_hess`, `boosting`, `catboost`: the second derivative against central differences of
  the first, entry by entry (d g_k / d p_k, the diagonal a boosting library reads). Entries where
  the gradient is flat (a piecewise-constant gradient: its hess is a free surrogate) or straddles
  a kink are left out; a constant hess (the usual surrogate, a Newton step turned into a gradient
  step) and the factor 2 of xgboost's own multi-class demo (`2 p (1 - p)`) are never reported.

Predictions are drawn in (0.05, 0.95) for a loss class (losses of probabilities take logs) with
labels in {0, 1} (or one-hot rows), as (N,), (N, C) and (N, 1) arrays; boosting objectives get raw
scores and labels in {0, 1}, and positive scores and targets. A boosting objective's training set
is a small stub whose `get_label()` returns the labels (the native API); when it takes two arrays,
which of them is the prediction is not trusted to the names (the sklearn API passes
`(y_true, y_pred)`, and authors name them after the other API): both are tried, and a mismatch is
reported only when neither makes the hess the derivative of the grad.

A mismatch needs every one of three random draws to show it beyond the mismatch tolerance; any
passing input variant decides for the code.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Callable, Optional

import numpy as np

from gradlint.runtime import references as refs
from gradlint.runtime.compare import precision_of
from gradlint.runtime.loss_class_targets import (
    BOOSTING,
    CATBOOST,
    HESS,
    LOSS_CLASS,
    PREDICTION,
    _prediction_index,
)
from gradlint.runtime.probing import (
    FATAL,
    Trial,
    Unknown,
    _describe,
    _quiet,
    _required,
    _resolve,
    _verdict,
)
from gradlint.runtime.self_gradients import (
    EPS32,
    MOST_KINKS,
    N_CLASSES,
    N_SAMPLES,
    SEEDS,
    _central,
    _masked,
    _roughest,
)

# Hyperparameters a loss class may require in __init__ (a penalty's alpha, a focal gamma, a
# Huber delta): set to HYPER_VALUE. The check is of self-consistency, which holds for any value.
HYPER = re.compile(
    r"^(?:alpha|beta|gamma|delta|lambda_?|lam|lamb|lmbda|reg\w*|l1|l2|l1_?ratio|eps|epsilon|c|margin|smooth\w*|"
    r"tau|kappa|quantile|threshold|scale|temperature|sigma|rho|huber_?delta|penalty|strength|coef\w*|ratio)$",
    re.IGNORECASE,
)
HYPER_VALUE = 0.7
FLAT = 1e-9  # |d g_k / d p_k| below this (relative to the largest) is a flat entry
NEGATED = (
    "its gradient agrees with the derivative of its loss only with the opposite sign (a loss method that returns the "
    "log-likelihood, or a gradient of the negated loss): which of the two is meant cannot be told"
)


class _Data:
    """A stand-in for xgboost's DMatrix / lightgbm's Dataset: `get_label()` returns the labels."""

    def __init__(self, labels: np.ndarray) -> None:
        self._labels = labels
        self.used = False

    def get_label(self) -> np.ndarray:
        self.used = True
        return self._labels.copy()

    def get_weight(self) -> None:
        return None


def _construct(cls: type) -> Any:
    """`cls()`, or with its required hyperparameters (alpha, gamma, delta...) set to HYPER_VALUE."""
    try:
        with _quiet():
            return cls()
    except TypeError as error:
        first = error
    try:
        names = [p.name for p in list(inspect.signature(cls).parameters.values())
                 if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    if not names or not all(HYPER.match(name) for name in names):
        raise Unknown(f"cannot construct `{cls.__name__}()` without arguments ({first})") from None
    try:
        with _quiet():
            return cls(*[HYPER_VALUE] * len(names))
    except FATAL:
        raise
    except Exception as error:  # noqa: BLE001
        raise Unknown(f"cannot construct `{cls.__name__}` with its hyperparameters {names} set to {HYPER_VALUE:g} ({error})") from None


def _callable(module: Any, qualname: str) -> tuple[Callable, Optional[Any]]:
    """The function, or the method bound to a fresh instance (and the instance)."""
    cls, target = _resolve(module, qualname)
    if cls is None:
        if not callable(target):
            raise Unknown(f"`{qualname}` is not callable")
        return target, None
    instance = _construct(cls)
    return getattr(instance, target), instance


def _array(value: Any, what: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Unknown(f"{what} is not an array of numbers ({type(value).__name__})") from None
    return array


# -- the trial of one draw ------------------------------------------------------


def _draw_status(trials: list[Trial]) -> tuple[str, Optional[Trial]]:
    """The draw's status over its candidate conventions: passed when one passes."""
    record = _verdict(trials, [])
    best = next((t for t in trials if t.convention == record.get("convention")), trials[0])
    return record["status"], best


def _aggregate(draws: list[tuple[str, Optional[Trial], str]]) -> dict:
    """The verdict over SEEDS draws: (status, trial, reason) each. Reported only when every draw
    is a clear mismatch."""
    statuses = [status for status, _, _ in draws]
    if "excluded" in statuses:
        return {"status": "excluded", "reason": next(reason for status, _, reason in draws if status == "excluded")}
    if all(status == "passed" for status in statuses):
        best = min((t for _, t, _ in draws if t is not None), key=lambda t: t.measure().rel_error)
        return _verdict([best], [])
    if "passed" in statuses:
        return {"status": "unknown", "reason": f"it matches on {statuses.count('passed')} of {len(draws)} random draws but not on "
                "the others (kinks, or a derivative wrong on some inputs only): not consistent enough to report"}
    unknown = [reason for status, _, reason in draws if status == "unknown"]
    if unknown:
        return {"status": "unknown", "reason": unknown[0]}
    if any(status == "inconclusive" for status in statuses):
        return {"status": "unknown", "reason": "it differs only slightly from the reference (between the pass and mismatch "
                "tolerances: an epsilon added, or round-off): not reported"}
    worst = min((t for _, t, _ in draws if t is not None), key=lambda t: t.measure().rel_error)
    record = _verdict([worst], [])
    record["status"] = "confirmed"
    return record


def _undecided(kinks: np.ndarray, rough: float, precision: float) -> bool:
    return rough > _roughest(precision) or np.count_nonzero(kinks) > MOST_KINKS * kinks.size


def _diagonal(grad_at: Callable[[np.ndarray], np.ndarray], point: np.ndarray, precision: float) -> tuple[np.ndarray, np.ndarray, bool]:
    """d g_k / d p_k for every entry k (central differences, one entry moved at a time), the kink
    mask, and whether the draw is undecided (differences that depend on the step)."""
    flat = point.reshape(-1)
    diagonal = np.zeros(flat.size)
    kinks = np.zeros(flat.size, dtype=bool)
    roughest = 0.0
    for k in range(flat.size):
        def entry(t: np.ndarray, k: int = k) -> float:
            moved = flat.copy()
            moved[k] = t[0]
            return float(grad_at(moved.reshape(point.shape)).reshape(-1)[k])

        value, kink, rough = _central(entry, np.array([flat[k]]), precision)
        diagonal[k] = value[0]
        kinks[k] = bool(kink[0])
        if not kink[0] and np.isfinite(rough):
            roughest = max(roughest, rough if abs(value[0]) > 1e-12 else 0.0)
    undecided = roughest > _roughest(precision) or np.count_nonzero(kinks) > MOST_KINKS * kinks.size
    return diagonal.reshape(point.shape), kinks.reshape(point.shape), undecided


def _positive_factor(got: np.ndarray, expected: np.ndarray, mask: np.ndarray) -> Optional[float]:
    """c > 0 with got = c * expected off the masked entries (least squares), or None."""
    kept_got, kept = got[~mask], expected[~mask]
    norm = float(np.sum(kept * kept))
    if norm == 0.0 or not kept.size:
        return None
    factor = float(np.sum(kept_got * kept)) / norm
    return factor if factor > 0 else None


def _second_derivative_draw(grad_at: Callable[[np.ndarray], np.ndarray], hess: np.ndarray, point: np.ndarray,
                            convention: str, described: dict, precision: float,
                            chains: tuple[tuple[str, Callable[[np.ndarray], np.ndarray], np.ndarray], ...] = (),
                            residual: bool = False) -> tuple[str, Optional[Trial], str]:
    """One draw of a hess against d grad / d p (entry by entry); `chains`: (label, g, z) whose
    d g_k / d z_k may stand in for it (can show it right, never wrong). `residual`: a non-negative
    hess of the opposite sign is not reported (a `gradient` method returning the negative gradient,
    the residual a from-scratch booster fits its trees to)."""
    expected, kinks, undecided = _diagonal(grad_at, point, precision)
    if not np.all(np.isfinite(expected)) or not np.all(np.isfinite(hess)):
        return "unknown", None, "its gradient or hess is not finite on these inputs"
    if undecided:
        return "unknown", None, "the central differences of its gradient depend on the step for too many entries (kinks, or round-off)"
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    flat = (np.abs(expected) <= FLAT * max(1.0, scale)) | kinks
    if np.all(flat):
        return "unknown", None, ("its gradient is flat in the prediction (piecewise constant): its hess is a free surrogate, "
                                 "nothing to check it against")
    trials = [Trial(convention, hess, _masked(hess, expected, flat), described, numeric=True,
                    batch=point.shape[0] if point.ndim else None, classes=point.shape[-1] if point.ndim > 1 else None,
                    precision=max(precision, precision_of(hess)), reference_precision=precision)]
    factor = _positive_factor(hess, expected, flat)
    if factor is not None and abs(factor - 1.0) > 1e-6:
        # a positive multiple of the derivative: LightGBM's multi-class K/(K-1) p(1-p), xgboost's demo 2 p(1-p)
        trials.append(Trial(f"{convention} (times {factor:.6g}, a positive constant: a scaled Newton step)", hess,
                            _masked(hess, factor * expected, flat), described, numeric=True,
                            precision=max(precision, precision_of(hess)), reference_precision=precision,
                            speculative="a positive multiple of the derivative (a convention: shown right, never wrong)"))
    for label, chained, logits in chains:
        other, other_kinks, other_undecided = _diagonal(chained, logits, precision)
        if other_undecided or not np.all(np.isfinite(other)):
            continue
        other_flat = (np.abs(other) <= FLAT * max(1.0, float(np.max(np.abs(other), initial=0.0)))) | other_kinks
        trials.append(Trial(f"{convention}{label}", hess, _masked(hess, other, other_flat), described, numeric=True,
                            precision=max(precision, precision_of(hess)), reference_precision=precision,
                            speculative=f"{label.strip()} (a convention: shown right, never wrong)"))
    status, best = _draw_status(trials)
    if status != "passed" and residual and np.all(hess >= 0) and _draw_status(
            [Trial(convention, hess, _masked(hess, -expected, flat), described, numeric=True,
                   precision=max(precision, precision_of(hess)), reference_precision=precision)])[0] == "passed":
        return "unknown", None, ("its hess is the derivative of its gradient with the opposite sign, and not negative: its "
                                 "gradient may be the negative gradient (the residual a booster fits): not reported")
    if status != "passed":
        kept = hess[~flat]
        if kept.size and np.ptp(kept) <= 1e-12 * max(1.0, float(np.max(np.abs(kept)))):
            return "unknown", None, ("its hess is a constant (the usual surrogate where the second derivative is 0 or "
                                     "undefined, a gradient step): not reported")
        if _floored(hess, expected, flat, precision):
            return "unknown", None, ("its hess is the derivative of its gradient wherever that is above a small positive "
                                     "floor, and the floor elsewhere (`np.maximum(hess, eps)`: a non-convex loss kept "
                                     "convex for the booster, on purpose): not reported")
    return status, best, ""


def _floored(hess: np.ndarray, expected: np.ndarray, flat: np.ndarray, precision: float) -> bool:
    """Every entry of `hess` is the expected second derivative or, where that falls below it, one common
    small positive floor (`np.maximum(hess, 1e-6)`) that some entry takes."""
    kept = ~flat
    if not np.any(kept):
        return False
    floor = float(np.min(hess[kept]))
    if not 0 < floor <= 1.0:
        return False
    tolerance = max(1e-6, 1e3 * precision) * max(1.0, float(np.max(np.abs(expected[kept]))))
    at_floor = kept & (np.abs(hess - floor) <= tolerance) & (expected <= floor + tolerance)
    matches = kept & (np.abs(hess - expected) <= tolerance)
    return bool(np.any(at_floor & ~matches)) and bool(np.all(at_floor | matches | flat))


# -- loss classes: the gradient against the loss ------------------------------------------


def _loss_inputs(rng: np.random.Generator, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """Predictions in (0.05, 0.95) (rows of a softmax for `(N, C) simplex`) and labels for a variant
    `shape labels`: in {0, 1}, one-hot rows, or soft (in (0.2, 0.9): no label is 0, which a
    relative loss divides by)."""
    shape, _, kind = variant.rpartition(" ")
    size = {"(N, C)": (N_SAMPLES, N_CLASSES), "(N, C) simplex": (N_SAMPLES, N_CLASSES), "(N, 1)": (N_SAMPLES, 1)}.get(shape, (N_SAMPLES,))
    predictions = rng.uniform(0.05, 0.95, size=size)
    if shape.endswith("simplex"):
        predictions = refs.activation_forward("softmax", rng.normal(size=size))
    if kind == "one-hot":
        return predictions, np.eye(N_CLASSES)[rng.integers(0, N_CLASSES, size=N_SAMPLES)]
    if kind == "soft":
        return predictions, rng.uniform(0.2, 0.9, size=size)
    labels = rng.integers(0, 2, size=size).astype(np.float64)
    labels.reshape(-1)[:2] = (0.0, 1.0)
    return predictions, labels


class _Pair:
    """Calls a loss and its gradient (or a gradient and its hess) with the prediction in its place."""

    def __init__(self, module: Any, spec: dict) -> None:
        self.module = module
        self.spec = spec
        self.qualname = spec["qualname"]
        self.reference_name = spec.get("forward")
        if not self.reference_name:
            raise Unknown("the function it is paired with is not known")
        cls, _ = _resolve(module, self.qualname)
        self.is_class = cls is not None
        target, _ = _callable(module, self.qualname)
        self.names = _required(target)
        self.cached = not self.names  # forward(input, target) caches what backward() reads
        reference, _ = _callable(module, self.reference_name)
        self.reference_names = _required(reference)
        names = self.reference_names if self.cached else self.names
        if self.cached and not self.is_class:
            raise Unknown("a gradient without arguments outside a class")
        if len(names) == 2:
            self.prediction = _prediction_index(names)
            if self.prediction is None:
                raise Unknown(f"cannot tell the prediction from the target among its parameters {names}")
        elif len(names) == 1 and not self.cached:
            self.prediction = 0
        else:
            raise Unknown(f"its parameters {names} are not (target, prediction) or one point")
        if not self.cached and self.reference_names != self.names:
            raise Unknown(f"its parameters {self.names} are not those of `{self.reference_name}` {self.reference_names}")
        self.names = names

    def args(self, point: np.ndarray, labels: Optional[np.ndarray]) -> list[np.ndarray]:
        if len(self.names) == 1:
            return [point.copy()]
        args = [None, None]
        args[self.prediction] = point.copy()
        args[1 - self.prediction] = labels.copy()  # type: ignore[union-attr]
        return args  # type: ignore[return-value]

    def reference(self, point: np.ndarray, labels: Optional[np.ndarray]) -> Any:
        function, _ = _callable(self.module, self.reference_name)
        with _quiet():
            return function(*self.args(point, labels))

    def target(self, point: np.ndarray, labels: Optional[np.ndarray]) -> Any:
        if self.cached:
            function, instance = _callable(self.module, self.qualname)
            with _quiet():
                getattr(instance, self.reference_name.split(".")[-1])(*self.args(point, labels))
                return function()
        function, _ = _callable(self.module, self.qualname)
        with _quiet():
            return function(*self.args(point, labels))

    def shown(self, shape: str, point: np.ndarray) -> str:
        named = self.names
        if len(named) == 1:
            return f"`{self.qualname}({named[0]})` with {named[0]} {point.shape}"
        prediction, labels = named[self.prediction], named[1 - self.prediction]
        kind = {"one-hot": "one-hot", "soft": "in (0.2, 0.9)"}.get(shape.rpartition(" ")[2], "in {0, 1}")
        call = f"`{self.reference_name}({', '.join(named)})` then `{self.qualname}()`" if self.cached else f"`{self.qualname}({', '.join(named)})`"
        where = "rows of a softmax" if "simplex" in shape else "in (0.05, 0.95)"
        return f"{call} with {prediction} {point.shape} {where}, {labels} {kind}"


def _as_result(value: Any, point: np.ndarray, what: str) -> np.ndarray:
    array = _array(value, what)
    if array.shape == point.shape:
        return array
    if array.size == point.size and (point.ndim == 1 or array.ndim == point.ndim):
        return array.reshape(point.shape)
    raise Unknown(f"{what} has shape {array.shape}, not the prediction's {point.shape}")


def _gradient_draw(pair: _Pair, rng: np.random.Generator, shape: str) -> tuple[str, Optional[Trial], str]:
    """One draw of a gradient against its loss."""
    if len(pair.names) == 1:
        point, labels = rng.normal(size=N_SAMPLES - 3), None
    else:
        point, labels = _loss_inputs(rng, shape)
    value = pair.reference(point, labels)
    loss = _array(value, "its loss")
    scalar = loss.size == 1
    if len(pair.names) == 1 and not scalar:
        raise Unknown(f"its loss `{pair.reference_name}` returns shape {loss.shape}, not a scalar: not a penalty of one point")
    if pair.cached and not scalar:
        raise Unknown(f"`{pair.reference_name}` returns shape {loss.shape}, not a scalar loss")
    got = _as_result(pair.target(point, labels), point, "its gradient")
    precision = max(precision_of(value), float(np.finfo(np.float64).eps))

    def total(q: np.ndarray) -> float:
        return float(np.sum(_array(pair.reference(q, labels), "its loss")))

    if not np.all(np.isfinite(loss)):
        return "unknown", None, "its loss is not finite on these inputs"
    again = total(point)
    if abs(again - float(np.sum(loss))) > 1e-12 * max(1.0, abs(again)):
        return "unknown", None, "its loss changes between two calls with the same inputs (random?)"
    expected, kinks, rough = _central(total, point, precision)
    if _undecided(kinks, rough, precision) and precision < EPS32:
        retry = _central(total, point, EPS32)
        if not _undecided(retry[1], retry[2], EPS32):
            precision = EPS32
            expected, kinks, rough = retry
    if not np.all(np.isfinite(expected)) or not np.all(np.isfinite(got)):
        return "unknown", None, "its loss or gradient is not finite near these inputs"
    if _undecided(kinks, rough, precision):
        return "unknown", None, "the central differences of its loss depend on the step for too many entries (kinks, or round-off)"
    if not np.any(np.abs(expected) > 1e-12):
        return "unknown", None, "its loss does not change with the prediction on these inputs (clipped?)"
    rows = point.shape[0] if point.ndim else 1
    if len(pair.names) == 1:
        factors = [(1.0, "the exact gradient of the scalar loss")]
    elif scalar:
        factors = [(1.0, "the exact gradient of the scalar loss"), (float(rows), f"per sample (the loss's gradient times {rows} rows)")]
        if point.size != rows:
            factors.append((float(point.size), f"per entry (the loss's gradient times its {point.size} entries)"))
    else:
        factors = [(1.0, "the derivative of each entry's loss"), (1.0 / rows, f"the gradient of the mean over {rows} rows")]
        if point.size != rows:
            factors.append((1.0 / point.size, f"the gradient of the mean over all {point.size} entries"))
    described = {"prediction": _describe(point)}
    if labels is not None:
        described["target"] = _describe(labels)
    shown = pair.shown(shape, point)

    references = [("", expected, kinks)]
    if len(pair.names) == 2:
        # the fused design: the gradient with respect to the logits z of loss(sigmoid(z)) (or of
        # loss(softmax(z)) when the predictions are rows of probabilities), evaluated where f(z) = p;
        # right when the sigmoid (softmax) layer's backward passes it through
        for kind, logits in _fused_logits(point):
            fused, fused_kinks, fused_rough = _central(
                lambda z, kind=kind: total(refs.activation_forward(kind, z)), logits, precision)
            if np.all(np.isfinite(fused)) and not _undecided(fused_kinks, fused_rough, precision):
                references.append((f" fused with the {kind} (the gradient with respect to its logits)", fused, fused_kinks))
    if "simplex" in shape:
        # rows of probabilities against one-hot rows: both sum to N, so a loss reading their means
        # can pass vacuously; this variant is for the softmax-fused design only, and shows nothing else
        references = [r for r in references if "softmax" in r[0]]
        if not references:
            return "excluded", None, "no softmax-fused reference"

    note = None
    magnitudes = np.abs(got[point != 0])
    if len(pair.names) == 1 and magnitudes.size and np.ptp(magnitudes) <= 1e-12 * float(np.max(magnitudes)) and np.all(
            np.sign(got) == np.sign(point)):
        note = (f"it is {float(magnitudes[0]):.6g}*sign({pair.names[0]}), the gradient of an L1 norm, but the loss it "
                "returns is not that L1 norm (an L2 norm, np.linalg.norm?)")

    def trials(sign: float) -> list[Trial]:
        # the exact derivative decides a mismatch; the other reductions can only show it right
        return [Trial(f"{shown}, against {label}{fused}", got, _masked(got, sign * factor * reference, mask), described, numeric=True,
                      note=note if sign > 0 and not index and not fused else None,
                      batch=rows if point.ndim > 1 else None, classes=point.shape[-1] if point.ndim > 1 else None,
                      precision=max(precision_of(got), float(np.finfo(np.float64).eps)), reference_precision=precision,
                      speculative=f"{label}{fused} (a convention: shown right, never wrong)" if index or fused else None)
                for fused, reference, mask in references for index, (factor, label) in enumerate(factors)]

    status, best = _draw_status(trials(1.0))
    if "simplex" in shape and status != "passed":
        return "excluded", None, "not the softmax-fused gradient"
    if status != "passed" and _draw_status(trials(-1.0))[0] == "passed":
        return "unknown", None, NEGATED
    factor = _positive_factor(got, expected, kinks)
    if status != "passed" and factor is not None and best is not None:
        scaled = Trial(best.convention, got, _masked(got, factor * expected, kinks), described, numeric=True,
                       precision=best.precision, reference_precision=precision)
        if scaled.passes():
            return "unknown", None, (f"its gradient is {factor:.6g} times the derivative of its loss (a positive constant: a "
                                     "scale folded into the step size is a convention): not reported")
    return status, best, ""


def _fused_logits(point: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The logits whose sigmoid (and softmax, for rows of probabilities) the predictions are."""
    if not (np.all(point > 0) and np.all(point < 1)):
        return []
    found = [("sigmoid", np.log(point / (1 - point)))]
    if point.ndim == 2 and point.shape[1] > 1 and np.allclose(np.sum(point, axis=1), 1.0):
        found.append(("softmax", np.log(point)))
    return found


def _hess_draw(pair: _Pair, rng: np.random.Generator, shape: str) -> tuple[str, Optional[Trial], str]:
    """One draw of a hess against the derivative of its class's gradient."""
    point, labels = _loss_inputs(rng, shape)
    hess = _as_result(pair.target(point, labels), point, "its hess")
    first = pair.reference(point, labels)
    precision = max(precision_of(first), float(np.finfo(np.float64).eps))
    _as_result(first, point, "its gradient")

    def grad_at(q: np.ndarray) -> np.ndarray:
        return _as_result(pair.reference(q, labels), point, "its gradient")

    described = {"prediction": _describe(point), "target": _describe(labels)}
    convention = f"{pair.shown(shape, point)}, against d {pair.reference_name}/d {pair.names[pair.prediction]} entry by entry"
    # a gradient and hess both with respect to the logits z, written in terms of p = sigmoid(z)
    # (softmax(z)): `p - y` and `p * (1 - p)` of an XGBoost fed probabilities
    chains = tuple((f" (or, both with respect to the logits of a {kind}, d/dz of its gradient at {kind}(z))",
                    lambda z, kind=kind: grad_at(refs.activation_forward(kind, z)), logits)
                   for kind, logits in _fused_logits(point))
    verdict = _second_derivative_draw(grad_at, hess, point, convention, described, precision, chains, residual=True)
    if "simplex" in shape and verdict[0] != "passed":
        return "excluded", None, "rows of probabilities: for the softmax-fused design only"
    return verdict


LOSS_SHAPES = ("(N,) soft", "(N,) binary", "(N, C) one-hot", "(N, C) soft", "(N, C) simplex one-hot", "(N, 1) binary")


def _variants(run_draw: Callable[[np.random.Generator, str], tuple[str, Optional[Trial], str]], shapes: tuple[str, ...],
              seed: int) -> dict:
    """Every input variant: the first that passes decides; a mismatch needs one variant confirmed
    and none undecided."""
    verdicts = []
    errors = []
    for shape in shapes:
        draws = []
        try:
            for index in range(SEEDS):
                with np.errstate(all="ignore"):
                    draws.append(run_draw(np.random.default_rng(seed + index), shape))
        except Unknown as why:
            errors.append(f"{shape}: {why}")
            continue
        except FATAL:
            raise
        except Exception as error:  # noqa: BLE001 - user code: not its input shape
            errors.append(f"{shape}: it raised {type(error).__name__}: {error}")
            continue
        verdict = _aggregate(draws)
        if verdict["status"] == "passed":
            return verdict
        if verdict["status"] != "excluded":
            verdicts.append(verdict)
    if not verdicts:
        reason = "no input variant runs: " + "; ".join(errors[:3]) if errors else "no input variant runs"
        return {"status": "unknown", "reason": reason}
    # a variant where only the opposite sign fits does not excuse one where no sign does
    unknown = [v for v in verdicts if v["status"] != "confirmed" and not (v.get("reason") == NEGATED and len(verdicts) > 1)]
    if unknown or not any(v["status"] == "confirmed" for v in verdicts):
        return unknown[0] if unknown else verdicts[0]
    return next(v for v in verdicts if v["status"] == "confirmed")


# -- boosting objectives -------------------------------------------------------------------


def _boosting_inputs(rng: np.random.Generator, values: str, shape: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw scores and labels: `binary` (scores ~ N(0, 1), labels in {0, 1}) or `positive` (both in
    (0.2, 1.5): log1p, Poisson and MAPE objectives); preds (N,), (N, k) or (N*k,) for k classes (3, 4
    or 5: a multi-class objective reshapes by its own class count) with labels (N,)."""
    classes = int(shape.strip("(,)").replace("N*", "").replace("N, ", "") or 1) if shape != "(N,)" else 1
    count = N_SAMPLES * classes
    if values == "binary":
        scores = rng.normal(size=count)
        labels = rng.integers(0, 2, size=N_SAMPLES).astype(np.float64)
        labels[:2] = (0.0, 1.0)
    else:
        scores = rng.uniform(0.2, 1.5, size=count)
        labels = rng.uniform(0.2, 1.5, size=N_SAMPLES)
    if shape.startswith("(N, "):
        scores = scores.reshape(N_SAMPLES, classes)
    return scores, labels


BOOSTING_VARIANTS = (("binary", "(N,)"), ("positive", "(N,)")) + tuple(
    ("binary", shape) for classes in (3, 4, 5) for shape in (f"(N*{classes},)", f"(N, {classes})"))


class _Objective:
    """Calls `grad, hess = obj(...)` with the prediction in place `prediction` and the labels in the
    other (as an array, or as a training-set stub)."""

    def __init__(self, module: Any, spec: dict) -> None:
        self.module = module
        self.qualname = spec["qualname"]
        function, _ = _callable(module, self.qualname)
        self.names = _required(function)
        if len(self.names) != 2:
            raise Unknown(f"its required parameters {self.names} are not (prediction, labels)")

    def __call__(self, point: np.ndarray, labels: np.ndarray, prediction: int, stub: bool) -> tuple[np.ndarray, np.ndarray, bool]:
        function, _ = _callable(self.module, self.qualname)
        data: Any = _Data(labels) if stub else labels.copy()
        args = [None, None]
        args[prediction] = point.copy()
        args[1 - prediction] = data
        with _quiet():
            result = function(*args)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise Unknown(f"it does not return a pair (grad, hess) (got {type(result).__name__})")
        grad = _as_result(result[0], point, "its grad")
        hess = _as_result(result[1], point, "its hess")
        return grad, hess, bool(stub and data.used)


def _objective_draw(objective: _Objective, rng: np.random.Generator, variant: tuple[str, str], prediction: int,
                    stub: bool) -> tuple[str, Optional[Trial], str]:
    values, shape = variant
    point, labels = _boosting_inputs(rng, values, shape)
    first, hess, used = objective(point, labels, prediction, stub)
    if stub and not used:
        raise Unknown("it does not read the labels through `get_label()`")
    precision = max(precision_of(first), float(np.finfo(np.float64).eps))

    def grad_at(q: np.ndarray) -> np.ndarray:
        return objective(q, labels, prediction, stub)[0]

    named = objective.names[prediction]
    other = objective.names[1 - prediction]
    given = f"a training-set stub whose get_label() returns labels ({labels.size},)" if stub else f"labels ({labels.size},)"
    convention = (f"`{objective.qualname}({', '.join(objective.names)})` with {named} = raw scores {point.shape}"
                  f"{' in (0.2, 1.5)' if values == 'positive' else ''}, {other} = {given}, against d grad/d {named} entry by entry")
    described = {"prediction": _describe(point), "labels": _describe(labels)}
    return _second_derivative_draw(grad_at, hess, point, convention, described, precision)


def _depends(objective: _Objective, variant: tuple[str, str], prediction: int, seed: int) -> bool:
    """Whether the grad changes when the assumed prediction does (else that argument is not it)."""
    point, labels = _boosting_inputs(np.random.default_rng(seed), *variant)
    base = objective(point, labels, prediction, False)[0]
    moved = objective(point + 0.01 * (1.0 + np.abs(point)), labels, prediction, False)[0]
    return bool(np.any(base != moved))


def _ordering(objective: _Objective, prediction: int, stub: bool, seed: int) -> dict:
    """The verdict with the prediction at `prediction` over the input variants, or `excluded`."""
    verdicts = []
    errors = []
    for variant in BOOSTING_VARIANTS:
        try:
            if not stub and not _depends(objective, variant, prediction, seed):
                errors.append(f"{variant}: the grad does not change with `{objective.names[prediction]}`")
                continue
            draws = []
            for index in range(SEEDS):
                with np.errstate(all="ignore"):
                    draws.append(_objective_draw(objective, np.random.default_rng(seed + index), variant, prediction, stub))
        except Unknown as why:
            errors.append(f"{variant}: {why}")
            continue
        except FATAL:
            raise
        except Exception as error:  # noqa: BLE001 - user code: not this convention
            errors.append(f"{variant}: it raised {type(error).__name__}: {error}")
            continue
        verdict = _aggregate(draws)
        if verdict["status"] == "passed":
            return verdict
        verdicts.append(verdict)
    if not verdicts:
        return {"status": "excluded", "reason": "; ".join(errors[:3])}
    unknown = [v for v in verdicts if v["status"] != "confirmed"]
    return unknown[0] if unknown else verdicts[0]


def _check_objective(module: Any, spec: dict, seed: int) -> dict:
    objective = _Objective(module, spec)
    orderings = []
    # the native API: the labels through a training-set stub (which argument reads get_label() decides)
    for prediction in (0, 1):
        verdict = _ordering(objective, prediction, True, seed)
        if verdict["status"] != "excluded":
            return verdict
        orderings.append(verdict)
    # two arrays: which is the prediction is not trusted to the names; report only if neither fits
    verdicts = [_ordering(objective, prediction, False, seed) for prediction in (0, 1)]
    if any(v["status"] == "passed" for v in verdicts):
        return next(v for v in verdicts if v["status"] == "passed")
    possible = [v for v in verdicts if v["status"] != "excluded"]
    if not possible and all("does not change with" in v.get("reason", "") for v in verdicts):
        return {"status": "unknown", "reason": "its grad is flat in either argument on these inputs (piecewise constant?): its "
                "hess is a free surrogate, nothing to check it against"}
    if not possible:
        reasons = "; ".join(v.get("reason", "") for v in orderings + verdicts if v.get("reason"))
        return {"status": "unknown", "reason": f"no calling convention (prediction, labels) fits: {reasons}"[:600]}
    if all(v["status"] == "confirmed" for v in possible):
        return possible[0]
    return next(v for v in possible if v["status"] != "confirmed")


# -- catboost ---------------------------------------------------------------------------


def _catboost_draw(function: Callable, qualname: str, rng: np.random.Generator, values: str) -> tuple[str, Optional[Trial], str]:
    point, labels = _boosting_inputs(rng, values, "(N,)")
    count = len(_required(function))

    def ders(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        args: list[Any] = [[float(v) for v in q], [float(v) for v in labels]]
        if count == 3:
            args.append(None)
        with _quiet():
            result = function(*args)
        try:
            pairs = np.asarray([tuple(pair) for pair in result], dtype=np.float64)
        except (TypeError, ValueError):
            raise Unknown("it does not return a list of (der1, der2) pairs") from None
        if pairs.shape != (q.size, 2):
            raise Unknown(f"it returns {pairs.shape[0]} results of shape {pairs.shape[1:]}, not {q.size} pairs (der1, der2)")
        return pairs[:, 0], pairs[:, 1]

    _, second = ders(point)
    convention = (f"`{qualname}(approxes, targets, weights=None)` with approxes {point.shape}"
                  f"{' in (0.2, 1.5)' if values == 'positive' else ''}, targets {'in {0, 1}' if values == 'binary' else 'in (0.2, 1.5)'}, "
                  "against d der1/d approx entry by entry")
    described = {"approxes": _describe(point), "targets": _describe(labels)}
    return _second_derivative_draw(lambda q: ders(q)[0], second, point, convention, described, float(np.finfo(np.float64).eps))


def _check_catboost(module: Any, spec: dict, seed: int) -> dict:
    function, _ = _callable(module, spec["qualname"])
    if len(_required(function)) not in (2, 3):
        raise Unknown("its parameters are not (approxes, targets, weights)")
    return _variants(lambda rng, values: _catboost_draw(function, spec["qualname"], rng, values), ("binary", "positive"), seed)


def check(module: Any, spec: dict, rng: np.random.Generator) -> dict:
    """The verdict record for one target of `loss_class_targets`."""
    role = spec.get("role")
    seed = int(rng.integers(0, 2**31))
    try:
        if role == LOSS_CLASS:
            pair = _Pair(module, spec)
            shapes = ("(D,)",) if len(pair.names) == 1 else LOSS_SHAPES
            return _variants(lambda r, shape: _gradient_draw(pair, r, shape), shapes, seed)
        if role == HESS:
            pair = _Pair(module, spec)
            return _variants(lambda r, shape: _hess_draw(pair, r, shape), LOSS_SHAPES, seed)
        if role == BOOSTING:
            return _check_objective(module, spec, seed)
        if role == CATBOOST:
            return _check_catboost(module, spec, seed)
    except Unknown as why:
        return {"status": "unknown", "reason": str(why)}
    return {"status": "unknown", "reason": f"unknown role {role!r}"}


__all__ = ["PREDICTION", "check"]
