"""A function that returns its own loss and gradient: `loss, dW = f(W, X, y, reg)`, `loss, dx = f(x, y)`.

The CS231n convention (`softmax_loss_naive`, `svm_loss_vectorized`, ...): weights W,
data X, integer labels y and a regularisation strength reg in, the loss and its
gradient with respect to W out. The truth is the function's own loss: the returned
dW is compared with central differences of the returned loss with respect to W, X, y
and reg held fixed (what the course's `grad_check_sparse` does).

- `gradlint.runtime.self_gradient_targets` (parent side, from the module's syntax)
  finds the targets: module-level functions whose first four parameters are W, X, y, reg
  (case-insensitive; `X_batch`, `y_batch`; reg may have a default) and whose every
  return is a pair, named as a loss or returning a gradient's name second.
- `check` (sandbox side, numpy only) runs the trial: W small random (D, C), X (N, D),
  y integer labels in [0, C) (N, D and C distinct, so a layout slip cannot go
  unnoticed), reg > 0 and reg = 0; the 2015 column layout (W (C, D), X (D, N)) when
  the row layout does not run. Entries whose central difference straddles a kink
  (the hinge of an SVM loss: the differences at steps h and 2h disagree) are left
  out, and a mismatch is reported only when every one of three random draws shows it.
  A function that does not run on these inputs, or does not return a scalar loss
  and a gradient of W's shape, or whose loss does not change with W, is `unknown`.

The diagnosis separates the data term (reg = 0) from the regularisation term (the
change of dW between reg = 0 and reg > 0, against the change of the loss): "the
gradient's regularisation term is reg*W, but the loss adds reg*sum(W*W), whose
gradient is 2*reg*W".

The same trial checks `loss, dx = f(x, y)` (CS231n's `layers.softmax_loss(x, y)`,
`svm_loss(x, y)`; role `self_gradient_x`): dx against central differences of the
returned loss with respect to the scores x (N, C), integer labels y (one-hot targets
(N, C) when labels do not run).
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any, Callable, Optional

import numpy as np

from gradlint.runtime.compare import close, diagnose, precision_of, tolerances
from gradlint.runtime.probing import (
    FATAL,
    Trial,
    Unknown,
    _describe,
    _quiet,
    _resolve,
    _verdict,
)

N_SAMPLES, N_FEATURES, N_CLASSES = 9, 6, 4  # N, D, C: distinct, so no layout slip goes unnoticed
REG = 0.25  # > 0 so that a regularisation slip shows (and reg = 0 separates the data term)
SEEDS = 3  # a mismatch must show in every draw
WEIGHT_SCALE = 0.5  # SVM margins on both sides of the hinge; softmax scores of order 1
# Second differences at h and 2h (or central differences at h and 2h) that disagree by more than
# this (relative to the gradient's size) put the entry at a kink: its central difference is not
# the derivative.
KINK = 1e-5
MOST_KINKS = 0.25  # a draw with more entries at a kink than this says nothing
ROUGH = 1e-7  # central differences at h and 2h of a smooth float64 loss agree far better than this
EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)

def python2_names() -> None:
    """Let Python 2 era course code import: `from past.builtins import xrange` (the CS231n
    templates of 2017) when the `future` package is not installed. The stand-in binds what
    `past.builtins` binds on Python 3 (xrange is range, and so on). Called in the sandbox."""
    try:
        missing = importlib.util.find_spec("past") is None
    except (ImportError, ValueError):
        missing = False
    if not missing or "past" in sys.modules:
        return
    import functools

    package = types.ModuleType("past")
    package.__path__ = []  # type: ignore[attr-defined]
    builtins = types.ModuleType("past.builtins")
    for name, value in {"xrange": range, "unicode": str, "basestring": str, "long": int, "raw_input": input,
                        "reduce": functools.reduce, "unichr": chr, "intern": sys.intern}.items():
        setattr(builtins, name, value)
    package.builtins = builtins  # type: ignore[attr-defined]
    sys.modules["past"] = package
    sys.modules["past.builtins"] = builtins


def _labels(rng: np.random.Generator, kind: str) -> np.ndarray:
    """Integer labels for N samples: classes 0..C-1 (every one present), or a binary problem's
    {0, 1} or {-1, +1} (both present), as logistic regressions and binary SVMs take them."""
    if kind in ("binary", "signs"):
        labels = rng.integers(0, 2, size=N_SAMPLES)
        labels[:2] = (0, 1)
        return 2 * labels - 1 if kind == "signs" else labels
    labels = rng.integers(0, N_CLASSES, size=N_SAMPLES)
    labels[: N_CLASSES] = rng.permutation(N_CLASSES)  # every class present
    return labels


_LABELS_SAID = {"": "integer labels", "binary": "labels in {0, 1}", "signs": "labels in {-1, +1}"}


def _inputs(rng: np.random.Generator, variant: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W, X, y for a variant `layout[:labels]` (`rows`, `columns:binary`...)."""
    layout, _, kind = variant.partition(":")
    weights = WEIGHT_SCALE * rng.normal(size=(N_FEATURES, N_CLASSES))
    data = rng.normal(size=(N_SAMPLES, N_FEATURES))
    labels = _labels(rng, kind or "classes")
    if layout == "columns":
        return weights.T.copy(), data.T.copy(), labels
    return weights, data, labels


class _Call:
    """Calls `f(W, X, y, reg)` (or `f(x, y)`) on copies and checks the result is a scalar loss and
    a gradient of the shape of the first argument (the point: W, or the scores x)."""

    def __init__(self, function: Callable, name: str, point: str = "W") -> None:
        self.function = function
        self.name = name
        self.point = point
        self.precision = EPS64
        self.reference_precision = EPS64

    def __call__(self, weights: np.ndarray, *rest: Any) -> tuple[float, np.ndarray]:
        with _quiet():
            result = self.function(weights.copy(), *(np.copy(a) if isinstance(a, np.ndarray) else a for a in rest))
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise Unknown(f"it does not return a pair (loss, d{self.point}) (got {type(result).__name__})")
        loss, gradient = result
        if np.ndim(loss) != 0 and np.size(loss) != 1:
            raise Unknown(f"its first result is not a scalar loss (shape {np.shape(loss)})")
        try:
            value = float(np.asarray(loss, dtype=np.float64).reshape(()))
            array = np.asarray(gradient, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise Unknown(f"its results are not numbers ({error})") from None
        if array.shape != weights.shape:
            raise Unknown(
                f"its second result has shape {array.shape}, not {self.point}'s {weights.shape}: not a gradient with respect to {self.point}"
            )
        self.precision = max(self.precision, precision_of(gradient))
        self.reference_precision = max(self.reference_precision, precision_of(loss))
        return value, array

    def loss(self, weights: np.ndarray, *rest: Any) -> float:
        return self(weights, *rest)[0]


def _central(
    loss: Callable[[np.ndarray], float], weights: np.ndarray, precision: float, magnitude: Optional[float] = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Central differences of `loss` at `weights` (step h, for a loss computed with unit round-off
    `precision`), a mask of the entries at a kink (a hinge within 2h of W: the differences at h and
    2h disagree), and the roughness: how far the central differences at h and 2h disagree off the
    kinks, relative to the gradient's size (~1e-10 for a smooth float64 loss). Round-off of a loss
    computed in float32 inside shows as kinks nearly everywhere. `magnitude`: the size its round-off
    scales with, when not that of its value (a sum of many products that cancel, sum |out * dout|:
    the layer pairs' objective); the value's by default."""
    eps = max(precision, float(np.finfo(np.float64).eps))
    base = loss(weights)
    flat = weights.reshape(-1)
    grad, doubled, bend = (np.zeros(flat.size) for _ in range(3))
    steps = eps ** (1.0 / 3.0) * np.maximum(1.0, np.abs(flat))
    for k in range(flat.size):
        h = steps[k]
        values = []
        for step in (h, -h, 2.0 * h, -2.0 * h):
            moved = flat.copy()
            moved[k] += step
            values.append(loss(moved.reshape(weights.shape)))
        up, down, far_up, far_down = values
        grad[k] = (up - down) / (2.0 * h)
        doubled[k] = (far_up - far_down) / (4.0 * h)
        # h * (second difference at h - second difference at 2h): ~h^3 f'''' where f is smooth,
        # of the order of the jump J of f' where a hinge lies within 2h
        bend[k] = (up - 2.0 * base + down) / h - (far_up - 2.0 * base + far_down) / (4.0 * h)
    scale = max(float(np.max(np.abs(grad), initial=0.0)), 1e-12)
    noise = 8.0 * eps * max(1.0, abs(base) if magnitude is None else magnitude) / float(np.min(steps))
    # A hinge at distance t < h from W moves the differences by J(2h - 3t)/(4h) (bend) and Jt/(4h)
    # (h against 2h): one of them exceeds J/6 wherever it lies, so a hinge that escapes both has
    # J < 6 * threshold, and moved the central difference by less than 3 * threshold.
    threshold = KINK * scale + noise
    kinks = (np.abs(bend) > threshold) | (np.abs(grad - doubled) > threshold)
    smooth = ~kinks
    rough = float(np.max(np.abs(grad - doubled)[smooth])) / scale if np.any(smooth) else float("inf")
    return grad.reshape(weights.shape), kinks.reshape(weights.shape), rough


def _roughest(precision: float) -> float:
    """The most the central differences at h and 2h may disagree for the draw to be judged: half
    the pass tolerance of a reference computed with that round-off."""
    return tolerances(EPS64, precision, numeric=True)[0] / 2.0


def _masked(got: np.ndarray, expected: np.ndarray, kinks: np.ndarray) -> np.ndarray:
    """The reference with the kink entries replaced by the result (so they never count)."""
    return np.where(kinks, got, expected)


def _coefficient(value: np.ndarray, unit: np.ndarray) -> Optional[float]:
    """k when value = k * unit (to the diagnosis tolerance), else None."""
    norm = float(np.sum(unit * unit))
    if norm == 0.0:
        return None
    k = float(np.sum(value * unit)) / norm
    if not np.any(np.abs(value) > 1e-12) and abs(k) < 1e-9:
        return 0.0
    return k if close(value, k * unit) else None


def _times(k: float, what: str) -> str:
    """`2*reg*W`, `reg*W`, `-reg*W`, `0.5*reg*W` (k rounded to a simple number when it is one)."""
    nice = round(k * 4.0) / 4.0 if abs(k * 4.0 - round(k * 4.0)) < 1e-6 else k
    if nice == 1.0:
        return what
    if nice == -1.0:
        return f"-{what}"
    return f"{nice:g}*{what}"


def _regularisation_diagnosis(d: dict) -> Optional[str]:
    """What the regularisation term does, from the change of dW and of the loss between reg = 0
    and reg > 0 at the same W, X, y."""
    weights, reg = d["W"], d["reg"]
    unit = reg * weights
    got_term = _coefficient(d["got_reg"] - d["got_0"], unit)
    squares = reg * float(np.sum(weights * weights))
    loss_term = (d["loss_reg"] - d["loss_0"]) / squares if squares > 0 else None
    expected_term = _coefficient(d["expected_reg"] - d["expected_0"], unit)
    if got_term is None or loss_term is None or expected_term is None or abs(expected_term - 2.0 * loss_term) > 1e-4 * max(1.0, abs(loss_term)):
        return None
    if abs(got_term - expected_term) <= 1e-6 * max(1.0, abs(expected_term)):
        return None  # the regularisation term is right
    loss_text = _times(loss_term, "reg*sum(W*W)")
    if abs(loss_term) < 1e-9:
        return f"the gradient adds {_times(got_term, 'reg*W')}, but the loss it returns has no regularisation term"
    if abs(got_term) < 1e-9:
        return f"the gradient has no regularisation term, but the loss adds {loss_text}, whose gradient is {_times(expected_term, 'reg*W')}"
    return (
        f"the gradient's regularisation term is {_times(got_term, 'reg*W')}, but the loss adds {loss_text}, "
        f"whose gradient is {_times(expected_term, 'reg*W')} (off by {_times(got_term - expected_term, 'reg*W')})"
    )


def _data_diagnosis(got: np.ndarray, expected: np.ndarray) -> Optional[str]:
    """What is wrong with the data term (reg = 0), when the numbers show it."""
    if not np.any(np.abs(got) > 1e-12):
        return "dW is all zeros at reg = 0: the gradient of the data term is never computed"
    found = diagnose(got, expected, batch=N_SAMPLES, classes=N_CLASSES)
    if found and f"batch size {N_SAMPLES} (multiplied" in found:
        found += " (the data term is not divided by the number of samples?)"
    if found:
        return f"at reg = 0, {found}"
    return None


def _differentiate(call: _Call, loss_at: Callable[[np.ndarray], float], point: np.ndarray, loss_value: float,
                   where: str = "") -> tuple[np.ndarray, np.ndarray, bool]:
    """The reference at `point`: central differences of the loss (at float32's step when the loss
    turns out to be computed in float32 inside), the kink mask, and whether the draw is undecided
    (differences that depend on the step for too many entries). Unknown when the loss is random,
    not finite, or does not change with the point."""
    if not np.isfinite(loss_value):
        raise Unknown(f"its loss is not finite on these inputs ({loss_value})")
    again = loss_at(point)
    if again != loss_value and abs(again - loss_value) > 1e-12 * max(1.0, abs(loss_value)):
        raise Unknown("its loss changes between two calls with the same inputs (random?): central differences would be noise")
    expected, kinks, rough = _central(loss_at, point, call.reference_precision)
    if (rough > ROUGH or np.count_nonzero(kinks) > MOST_KINKS * kinks.size) and call.reference_precision < EPS32:
        # float32 arithmetic inside a loss returned as a Python float: differences at its step
        retry = _central(loss_at, point, EPS32)
        if retry[2] <= _roughest(EPS32) and np.count_nonzero(retry[1]) <= MOST_KINKS * kinks.size:
            call.reference_precision = EPS32
            expected, kinks, rough = retry
    if not np.all(np.isfinite(expected)):
        raise Unknown("its loss is not finite near these inputs: central differences are undefined")
    if not np.any(np.abs(expected) > 1e-12):
        raise Unknown(f"the loss it returns does not change with {call.point}{where} (an unfinished template?): "
                      f"nothing to check d{call.point} against")
    undecided = rough > _roughest(call.reference_precision) or np.count_nonzero(kinks) > MOST_KINKS * kinks.size
    return expected, kinks, bool(undecided)


class TrialDraw:
    """A random draw's trials (`trials`: the first is the one a report shows) and whether central
    differences that depend on their step left it undecided. `judge_draws` asks each draw for its best
    trial and its worst status."""

    trials: dict
    undecided: bool = False

    def best(self) -> Trial:
        return next(iter(self.trials.values()))

    def worst(self) -> tuple[str, str]:
        """The draw's status (the worst of its trials), and the reason when it is not a pass."""
        if self.undecided:
            return "unknown", UNDECIDED
        records = [_verdict([trial], []) for trial in self.trials.values()]
        for status in ("unknown", "confirmed", "inconclusive"):
            for record in records:
                if record["status"] == status:
                    return status, record.get("reason") or ""
        return "passed", ""


class _Draw(TrialDraw):
    """One random draw: the trials at reg > 0 and reg = 0, and what the diagnosis needs."""

    def __init__(self, call: _Call, layout: str, rng: np.random.Generator) -> None:
        weights, data, labels = _inputs(rng, layout)
        self.details: dict = {"W": weights, "reg": REG}
        self.trials: dict[float, Trial] = {}
        self.kink_entries = 0
        self.undecided = False  # central differences that depend on the step: this draw says nothing
        for reg in (REG, 0.0):
            loss_value, got = call(weights, data, labels, reg)

            def loss_at(w: np.ndarray, reg: float = reg) -> float:
                return call.loss(w, data, labels, reg)

            expected, kinks, undecided = _differentiate(call, loss_at, weights, loss_value, f" (at reg = {reg:g})")
            self.kink_entries += int(np.count_nonzero(kinks))
            self.undecided = self.undecided or undecided
            masked = _masked(got, expected, kinks)
            shape = "W ({}, {}), X ({}, {})".format(*weights.shape, *data.shape)
            trial = Trial(
                f"`{call.name}(W, X, y, reg={reg:g})` with {shape}, {_LABELS_SAID[layout.partition(':')[2]]} y ({labels.size},) -> (loss, dW {got.shape})",
                got,
                masked,
                {"W": _describe(weights), "X": _describe(data), "y": labels.tolist(), "reg": reg},
                numeric=True,
                batch=N_SAMPLES,
                classes=N_CLASSES,
                precision=call.precision,
                reference_precision=call.reference_precision,
            )
            self.trials[reg] = trial
            key = "reg" if reg else "0"
            self.details[f"loss_{key}"] = loss_value
            self.details[f"got_{key}"] = got
            self.details[f"expected_{key}"] = expected

    def status(self, reg: float) -> str:
        return _verdict([self.trials[reg]], [])["status"]

    def record(self) -> dict:
        """The verdict record of this draw, with the diagnosis of what differs."""
        data_status = self.status(0.0)
        trial = self.trials[0.0] if data_status == "confirmed" else max(
            self.trials.values(), key=lambda t: t.measure().rel_error)
        record = _verdict([trial], [])
        parts = []
        if data_status == "confirmed":
            found = _data_diagnosis(self.details["got_0"], self.details["expected_0"])
            parts.append(found or "the data term is wrong (it disagrees at reg = 0, with no regularisation)")
        regularisation = _regularisation_diagnosis(self.details)
        if regularisation:
            parts.append(regularisation)
        if record["status"] in ("confirmed", "inconclusive"):
            record["diagnosis"] = "; and ".join(parts) if parts else None
            if data_status == "passed" and not regularisation and self.status(REG) != "passed":
                residual = self.details["got_reg"] - self.details["expected_reg"]
                k = _coefficient(residual, REG * self.details["W"])
                off = f" (off by {_times(k, 'reg*W')})" if k else ""
                record["diagnosis"] = f"right at reg = 0: the regularisation term of the gradient does not match the loss's{off}"
        return record


class _ScoreDraw(TrialDraw):
    """One random draw of `loss, dx = f(x, y)`: scores x (N, C) and labels y."""

    def __init__(self, call: _Call, labels_kind: str, rng: np.random.Generator) -> None:
        scores, labels = _score_inputs(rng, labels_kind)
        loss_value, got = call(scores, labels)

        def loss_at(x: np.ndarray) -> float:
            return call.loss(x, labels)

        expected, kinks, self.undecided = _differentiate(call, loss_at, scores, loss_value)
        self.kink_entries = int(np.count_nonzero(kinks))
        described = f"integer labels y ({labels.size},)" if labels.ndim == 1 else f"one-hot targets y {labels.shape}"
        self.trial = Trial(
            f"`{call.name}(x, y)` with {'probabilities' if labels_kind.startswith('probabilities') else 'scores'} x "
            f"{scores.shape}, {described} -> (loss, dx {got.shape})",
            got,
            _masked(got, expected, kinks),
            {"x": _describe(scores), "y": labels.tolist()},
            numeric=True,
            batch=N_SAMPLES,
            classes=N_CLASSES,
            precision=call.precision,
            reference_precision=call.reference_precision,
        )
        self.trials = {None: self.trial}

    def record(self) -> dict:
        record = _verdict([self.trial], [])
        if record["status"] == "confirmed":
            got, expected = self.trial.got, self.trial.expected
            if not np.any(np.abs(got) > 1e-12):
                record["diagnosis"] = "dx is all zeros: the gradient is never computed"
            else:
                found = diagnose(got, expected, batch=N_SAMPLES, classes=N_CLASSES)
                if found and f"batch size {N_SAMPLES} (multiplied" in found:
                    found += " (the gradient is not divided by the number of samples, the loss is?)"
                elif found and f"1/{N_SAMPLES} (divided" in found:
                    found += " (the gradient is divided by the number of samples, the loss is not?)"
                record["diagnosis"] = found
        return record


def _score_inputs(rng: np.random.Generator, labels_kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Scores and targets for `labels`, `one-hot` (rows: samples) or their column layouts
    (`columns`, `one-hot-columns`: scores (C, N), one-hot targets (C, N))."""
    scores = rng.normal(size=(N_SAMPLES, N_CLASSES))
    if labels_kind.startswith("probabilities"):  # a loss of predicted probabilities (a binary cross-entropy)
        scores = rng.uniform(0.05, 0.95, size=(N_SAMPLES, N_CLASSES))
        labels_kind = labels_kind[len("probabilities-"):]
    labels = _labels(rng, "classes")
    columns = labels_kind.endswith("columns")
    if labels_kind.startswith("one-hot"):
        targets = np.eye(N_CLASSES)[labels]
        return (scores.T.copy(), targets.T.copy()) if columns else (scores, targets)
    return (scores.T.copy(), labels) if columns else (scores, labels)


UNDECIDED = (
    "on a random draw, the central differences of its loss depend on the step for too many entries "
    "(kinks, or round-off): it cannot be judged"
)
# The inputs each form is tried with, in order: the first that runs is used.
VARIANTS = {
    "self_gradient": (
        ("rows", "W (D, C), X (N, D)"),
        ("columns", "W (C, D), X (D, N) (the column layout)"),
        ("rows:binary", "W (D, C), X (N, D), labels in {0, 1}"),
        ("rows:signs", "W (D, C), X (N, D), labels in {-1, +1}"),
        ("columns:binary", "W (C, D), X (D, N), labels in {0, 1}"),
        ("columns:signs", "W (C, D), X (D, N), labels in {-1, +1}"),
    ),
    "self_gradient_x": (
        ("labels", "scores x (N, C), integer labels y (N,)"),
        ("one-hot", "scores x (N, C), one-hot targets y (N, C)"),
        ("columns", "scores x (C, N), integer labels y (N,)"),
        ("one-hot-columns", "scores x (C, N), one-hot targets y (C, N)"),
        ("probabilities-one-hot", "probabilities x (N, C) in (0, 1), one-hot targets y (N, C)"),
        ("probabilities-labels", "probabilities x (N, C) in (0, 1), integer labels y (N,)"),
    ),
}


def _runnable_calls(function: Callable, name: str, role: str, rng_seed: int) -> list[tuple[str, _Call]]:
    """Every input variant of `VARIANTS` the function runs on, in order, or Unknown with what each raised."""
    errors = []
    runnable = []
    for variant, described in VARIANTS[role]:
        if role == "self_gradient":
            call = _Call(function, name, "W")
            args: tuple = _inputs(np.random.default_rng(rng_seed), variant) + (REG,)
        else:
            call = _Call(function, name, "x")
            args = _score_inputs(np.random.default_rng(rng_seed), variant)
        try:
            call(*args)
        except Unknown as why:
            errors.append(f"{described}: {why}")
            continue
        except FATAL:
            raise
        except Exception as error:  # noqa: BLE001 - user code: the next variant, or unknown
            errors.append(f"{described}: it raised {type(error).__name__}: {error}")
            continue
        runnable.append((variant, call))
    if runnable:
        return runnable
    form = "(loss, dW) = f(W, X, y, reg)" if role == "self_gradient" else "(loss, dx) = f(x, y)"
    raise Unknown(f"it does not run as {form} on random inputs: " + "; ".join(errors))


def check(module: Any, spec: dict, rng: np.random.Generator) -> dict:
    """The verdict record for one `f(W, X, y, reg) -> (loss, dW)` or `f(x, y) -> (loss, dx)`
    target (see the module doc)."""
    cls, function = _resolve(module, spec["qualname"])
    if cls is not None or not callable(function):
        raise Unknown("only module-level functions returning (loss, gradient) are checked")
    name = spec["qualname"]
    role = spec.get("role", "self_gradient")
    if "xrange" in getattr(getattr(function, "__code__", None), "co_names", ()) and not hasattr(module, "xrange"):
        module.xrange = range  # Python 2 course code: xrange is range
    seed = int(rng.integers(0, 2**31))
    verdicts = []
    for variant, call in _runnable_calls(function, name, role, seed):
        try:
            verdict = _check_variant(call, variant, role, seed)
        except Unknown as why:
            verdict = {"status": "unknown", "reason": str(why)}
        if verdict["status"] == "passed":
            return verdict  # the inputs it is written for (a binary problem's labels, a column layout): right there
        verdicts.append(verdict)
    # wrong on every input variant it runs on: the first one's verdict (the layout it was tried in first)
    return next((v for v in verdicts if v["status"] != "unknown"), verdicts[0])


def _check_variant(call: _Call, variant: str, role: str, seed: int) -> dict:
    """The verdict on one input variant: all of SEEDS draws."""
    if role == "self_gradient":
        return judge_draws(lambda rng: _Draw(call, variant, rng), seed)
    return judge_draws(lambda rng: _ScoreDraw(call, variant, rng), seed)


def judge_draws(make_draw: Callable[[np.random.Generator], Any], seed: int) -> dict:
    """The verdict over SEEDS random draws (`make_draw(rng)`: an object with `worst()`, `best()` and
    `record()`, as `_Draw`): passed when every draw passes, a mismatch only when every draw shows it,
    unknown otherwise. Shared with `gradlint.runtime.objectives`."""
    draws: list[Any] = []
    for index in range(SEEDS):
        draw_rng = np.random.default_rng(seed + index)
        try:
            with np.errstate(all="ignore"):
                draws.append(make_draw(draw_rng))
        except FATAL:
            raise
        except Exception as error:  # noqa: BLE001 - a draw it cannot run on: unknown, never a mismatch
            raise Unknown(f"it raised {type(error).__name__}: {error} on a random draw of its inputs") from None
    judged = [draw.worst() for draw in draws]
    statuses = [status for status, _ in judged]
    if all(status == "passed" for status in statuses):
        best = min((draw.best() for draw in draws), key=lambda trial: trial.measure().rel_error)
        return _verdict([best], [])
    if "passed" in statuses:
        passing = statuses.count("passed")
        return {"status": "unknown",
                "reason": f"its gradient matches central differences of its loss on {passing} of {SEEDS} random draws but not "
                          "on the others (a loss with kinks, or a gradient wrong on some inputs only): not consistent enough to report"}
    if "unknown" in statuses:
        return {"status": "unknown", "reason": next(reason for status, reason in judged if status == "unknown")}
    status = "confirmed" if all(s == "confirmed" for s in statuses) else "inconclusive"
    record = draws[0].record()
    record["status"] = status
    if status == "inconclusive" and record.get("diagnosis"):
        record["diagnosis"] = None  # a small error names no mistake
    return record
