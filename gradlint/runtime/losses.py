"""Probing a loss gradient (fused or not), and a loss chained into a softmax
layer's backward (GL203)."""

from __future__ import annotations

import re
from typing import Any, Optional

import numpy as np

from gradlint.naming import is_target_name
from gradlint.runtime import references as refs
from gradlint.runtime.activations import ActivationProbe
from gradlint.runtime.compare import Comparison, compare, precision_of, tolerances
from gradlint.runtime.probing import (
    DOUBLE_SOFTMAX,
    FATAL,
    N_CLASSES,
    SHAPES,
    STEP_NAME,
    TRAINING_NAME,
    Probe,
    Trial,
    Unknown,
    _as_array,
    _changed_attribute,
    _close,
    _describe,
    _fill,
    _instantiate,
    _logits,
    _quiet,
    _required,
    _resolve,
)


class LossProbe(Probe):
    """Tries the calling conventions of a loss gradient (or a fused gradient)."""

    def __init__(self, module: Any, spec: dict, rng: np.random.Generator) -> None:
        super().__init__(module, spec, rng)
        self.kind = spec.get("forward_kind") if spec.get("forward_kind") in refs.LOSSES else None
        self.user_forward: Optional[tuple[Optional[type], Any]] = _resolve(module, spec["forward"]) if spec.get("forward") else None
        if self.kind is None and self.user_forward is None:
            raise Unknown("its loss is neither recognised nor found (same class, or a name pairing like mse / mse_prime)")
        # The method that reduces the forward's per-sample losses to the training loss
        # (nnfs style: a base class's `calculate = np.mean(self.forward(...))`), once found.
        self.reducer: Optional[str] = None
        self._reducer_searched = False
        self.calibrated = False
        # What the last call of the target returned as it came (`loss, grad`), and the input and
        # targets each trial was made at: to read the loss the target itself returns.
        self.last_result: Any = None
        self.made_at: dict[int, tuple[np.ndarray, Any]] = {}

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

    def _user_loss(self, p: np.ndarray, y: Any, reduced: bool = True) -> np.ndarray:
        """The user's loss at (p, y): its forward, or the method reducing the forward's
        per-sample losses when the class has one (`reduced`)."""
        assert self.user_forward is not None
        cls, target = self.user_forward
        if reduced and cls is not None:
            self._find_reducer(p, y)
            if self.reducer is not None:
                target = self.reducer
        func = target if cls is None else getattr(_instantiate(cls), target)
        names = _required(func)
        args = _order_loss_args(names, p, y)
        if args is None:
            raise Unknown(f"cannot tell the prediction from the target among the parameters {names} of the loss")
        with _quiet():
            value = func(*args)
        self.observe_reference(value)
        return np.asarray(value, dtype=np.float64)

    def _find_reducer(self, p: np.ndarray, y: Any) -> None:
        """A method of the loss's class (or a base) that reduces its forward's per-sample
        losses to a scalar, checked to equal their mean or sum at (p, y): the training loss."""
        if self._reducer_searched:
            return
        self._reducer_searched = True
        cls, forward = self.user_forward  # type: ignore[misc]
        defined = {name for klass in cls.__mro__[:-1] for name in vars(klass)}
        try:
            per_sample = self._user_loss(p, y, reduced=False)
        except FATAL:
            raise
        except Exception:  # noqa: BLE001 - the trials report what the forward raises
            return
        if per_sample.size <= 1:
            return
        for name in REDUCER_NAMES:
            if name not in (forward, self.target) and name in defined and self._reduces(cls, name, p, y, per_sample):
                self.reducer = name
                return

    def _reduces(self, cls: type, name: str, p: np.ndarray, y: Any, per_sample: np.ndarray) -> bool:
        """Whether `cls().name(p, y)` is the mean or the sum of the per-sample losses."""
        try:
            method = getattr(_instantiate(cls), name)
            args = _order_loss_args(_required(method), p.copy(), y)
            if args is None:
                return False
            with _quiet():
                value = np.asarray(method(*args), dtype=np.float64)
        except FATAL:
            raise
        except Exception:  # noqa: BLE001 - not a reduction of the forward
            return False
        if value.size != 1:
            return False
        tolerance = max(1e-9, 64.0 * self.reference_precision)
        return _close(value.reshape(()), np.mean(per_sample), tolerance) or _close(value.reshape(()), np.sum(per_sample), tolerance)

    def _reference_name(self) -> str:
        return f"the loss's own reduction (`{self.reducer}`)" if self.reducer else "the loss's own reduction"

    def _shift_invariant(self, p: np.ndarray, y: Any) -> bool:
        """Whether the user's loss ignores a constant added to each row of its input, as a
        loss that applies a softmax to it does (while it changes with the input)."""
        if self.user_forward is None or p.ndim == 0 or p.shape[-1] < 2:
            return False
        rng = np.random.default_rng(20240611)  # its own draws: the trials' inputs stay the same
        try:
            base = float(np.sum(self._user_loss(p, y)))
            shifted = float(np.sum(self._user_loss(p + rng.uniform(0.5, 1.5, size=p.shape[:-1] + (1,)), y)))
            moved = float(np.sum(self._user_loss(p + 0.3 * rng.normal(size=p.shape), y)))
        except FATAL:
            raise
        except Exception:  # noqa: BLE001
            return False
        scale = max(1.0, abs(base))
        tolerance = max(1e-9, 100.0 * self.reference_precision)
        return abs(shifted - base) <= tolerance * scale and abs(moved - base) > 1e3 * tolerance * scale

    def _references(self, p: np.ndarray, y: Any) -> list[tuple[str, np.ndarray, bool]]:
        """(reduction, gradient, numeric) candidates for d loss / d p."""
        shape = p.shape
        batch = shape[0] if len(shape) == 2 else 1
        if self.user_forward is not None:
            value = self._user_loss(p, y)
            scale = 1.0 if value.size == 1 else float(value.size)

            def reductions(label: str, grad: np.ndarray) -> list[tuple[str, np.ndarray, bool]]:
                if value.size == 1:
                    return [(f"{label}{self._reference_name()}", grad, True)]
                return [(f"{label}sum over samples", grad, True), (f"{label}mean over samples (/{scale:g})", grad / scale, True)]

            if not self.calibrated:
                self.calibrated = True  # once: the loss's real round-off (float32 inside?)
                self.reference_precision = refs.effective_precision(lambda q: np.sum(self._user_loss(q, y)), p, self.reference_precision)
            precision = self.reference_precision
            grad = refs.numeric_jacobian(lambda q: np.sum(self._user_loss(q, y)), p, precision=precision).reshape(shape)
            out = reductions("", grad)
            if np.all(p > 0) and np.all(p < 1):
                # The fused convention: the gradient with respect to the logits of the loss
                # of softmax(z) (rows summing to 1) or sigmoid(z), evaluated where f(z) = p;
                # correct when the softmax/sigmoid layer's backward passes it through.
                if np.allclose(np.sum(p, axis=-1), 1.0):
                    logits = np.log(p)
                    fused = refs.numeric_jacobian(
                        lambda z: np.sum(self._user_loss(refs.activation_forward("softmax", z), y)), logits, precision=precision
                    ).reshape(shape)
                    out += reductions("fused with the softmax (the gradient with respect to its logits), ", fused)
                logits = np.log(p / (1 - p))
                fused = refs.numeric_jacobian(
                    lambda z: np.sum(self._user_loss(refs.activation_forward("sigmoid", z), y)), logits, precision=precision
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

    def _prepare(self, shape_label: str, labels: str, labels_desc: str) -> list[tuple]:
        """Inputs in each domain where the loss is finite, with the reference gradients.

        The user's loss is tried on probabilities (rows of a softmax) first and then on
        logits: a loss of probabilities that clips its input is flat at negative logits,
        so there its gradient says nothing about the backward."""
        domains = ["probabilities", "logits"] if self.kind is None else ["logits"]
        prepared = []
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
                prepared.append((p, y, candidates, domain))
        return prepared

    def run(self) -> list[Trial]:
        trials: list[Trial] = []
        label_kinds = ["one-hot"]
        if self.kind in ("cross_entropy", "softmax_cross_entropy") or (self.kind is None):
            label_kinds.append("indices")
        shapes = ["(N, n)", "(n,)"]
        batched: list[Trial] = []
        for shape_label in shapes:
            for labels in label_kinds:
                if labels == "indices" and shape_label == "(n,)" and self.kind is None:
                    continue  # one scalar label: too degenerate to judge an unknown loss by
                if labels == "one-hot" and self.kind is None:
                    labels_desc = "targets"
                else:
                    labels_desc = f"{labels} targets"
                for p, y, candidates, domain in self._prepare(shape_label, labels, labels_desc):
                    self._domain_trials(trials, p, y, candidates, domain, shape_label, labels_desc)
                if any(t.passes() for t in self.stamp(trials)):
                    if shape_label != "(N, n)":
                        slipped = self._count_slip(batched)
                        if slipped:
                            # right on the 1-D arrays such code is often only given (numpy-ml's MSELoss.grad
                            # on one output column): whether a batch reaches it is the caller's to say
                            raise Unknown(
                                f"it passes on one sample (n,) but is off by a factor of {N_CLASSES} (the entries of one "
                                f"sample) on a batch {slipped[0].got.shape}: a mean over every entry with a gradient "
                                "divided by `shape[0]` (or `len`), right only for 1-D input"
                            )
                    self._check_own_loss([t for t in trials if t.passes()])
                    return trials
            if shape_label == "(N, n)":
                batched = list(trials)
        return trials

    def _count_slip(self, batched: list[Trial]) -> list[Trial]:
        """The (N, n) trials, when they show the gradient off by exactly n (the entries of a sample)
        from the loss's own reduction while a single sample (n,) passes: a loss that
        averages over every entry (`np.mean`) with a gradient divided by `shape[0]` only agrees on 1-D
        input, where the two counts are one. Empty otherwise: a loss written for one sample may do
        anything else on a batch (a softmax over the whole array), and its pass stands."""
        counts = (float(N_CLASSES), 1.0 / N_CLASSES)
        slipped = []
        for trial in batched:
            if trial.speculative is not None or trial.note is not None or trial.got.shape != trial.expected.shape:
                continue
            got, expected = np.asarray(trial.got, dtype=np.float64), np.asarray(trial.expected, dtype=np.float64)
            norm = float(np.sum(expected * expected))
            if norm <= 0 or not np.all(np.isfinite(got)):
                continue
            factor = float(np.sum(got * expected)) / norm
            if any(abs(factor - c) <= 1e-6 * c for c in counts) and compare(got, factor * expected).rel_error <= trial.tolerances()[0]:
                slipped.append(trial)
        return slipped

    def _check_own_loss(self, passing: list[Trial]) -> None:
        """A target returning its own loss with the gradient (`return loss, dL_ds`) and passing against
        the analytic gradient of the loss it was taken for: the pass stands only if the gradient is
        also (up to a positive count) that of the loss it returns. `p - y` is the softmax cross-entropy
        gradient whatever loss the author computed beside it (a smooth-L1 of the probabilities)."""
        if self.kind is None or self.user_forward is not None:
            return  # the reference already is the user's own loss
        for trial in passing:
            made = self.made_at.get(id(trial))
            if made is None:
                continue
            x, y = made
            result = self._returned(x, y)
            if _returned_scalar(result) is None:
                continue
            scalar = next(v for v in result if np.ndim(v) == 0 and not isinstance(v, (bool, np.bool_)))

            def own(q: np.ndarray) -> float:
                value = _returned_scalar(self._returned(q, y))
                if value is None:
                    raise ValueError("no loss returned")
                return value

            try:
                # its own round-off (a loss summed in float32), measured as the loss references' is
                precision = refs.effective_precision(own, x, max(self.reference_precision, precision_of(scalar)))
                grad = refs.numeric_jacobian(own, x, precision=precision).reshape(x.shape)
            except FATAL:
                raise
            except Exception:  # noqa: BLE001 - the returned value is not a loss of the input
                continue
            got = np.asarray(trial.got, dtype=np.float64).reshape(x.shape)
            scale = float(np.max(np.abs(grad), initial=0.0))
            if not np.all(np.isfinite(grad)) or scale <= 1e-9 * max(1.0, float(np.max(np.abs(got), initial=0.0))):
                continue  # a constant returned beside the gradient (a regulariser of other weights, an accuracy)
            factor = float(np.sum(got * grad)) / float(np.sum(grad * grad))
            error = compare(got, factor * grad).rel_error if factor > 0 else 2.0
            if error <= tolerances(trial.precision, precision, numeric=True)[1]:
                continue  # within what a mismatch against central differences of that loss would need
            raise Unknown(
                f"its gradient agrees with {_LOSS_WORDS.get(str(self.kind), 'the analytic loss gradient')} "
                f"(relative error {trial.measure().rel_error:.1g}), but not with central differences of the loss it "
                f"returns beside it (relative error {error:.2g} at the best scale, called as {trial.convention}): "
                "the gradient of one loss is returned with the value of another, and which one is trained on is not known"
            )

    def _returned(self, x: np.ndarray, y: Any) -> Any:
        """The target's whole result at (x, y), as it came."""
        self.last_result = None
        if self._call(x, y, "the loss it returns") is None and self.last_result is None:
            raise ValueError("the call failed")
        return self.last_result

    def _domain_trials(
        self, trials: list[Trial], p: np.ndarray, y: Any, candidates: list, domain: str, shape_label: str, labels_desc: str
    ) -> None:
        """The trials at one input p (logits or probabilities) and targets y."""
        inputs = [("logits", p)]
        # a convention the target is not known to follow: shown right, never wrong
        guessed: dict[str, str] = {}
        if self._fused():
            forward = "softmax" if self.kind == "softmax_cross_entropy" else "sigmoid"
            inputs.append(("activations", refs.activation_forward(forward, p)))
        elif self.kind is None and domain == "logits":
            # a fused loss class's backward often takes the probabilities it cached; the
            # premise holds only if the loss applies that softmax (sigmoid) to its input
            inputs.append(("softmax probabilities", refs.activation_forward("softmax", p)))
            inputs.append(("sigmoid probabilities", refs.activation_forward("sigmoid", p)))
            applies = self.spec.get("applies")  # the loss's forward feeds its input only through this one
            if not self._shift_invariant(p, y) and applies != "softmax":
                guessed["softmax probabilities"] = "fed the softmax of the loss's input, which the loss is not known to apply"
            if applies != "sigmoid":
                guessed["sigmoid probabilities"] = "fed the sigmoid of the loss's input, which the loss is not known to apply"
        for kind, x in inputs:
            got = self._call(x, y, f"{shape_label} {kind} {labels_desc}")
            if got is None:
                continue
            if got.size != p.size:
                trial = self._elementwise_chain(x, kind, y, got, candidates, f"{shape_label} {labels_desc}")
                if trial is not None:
                    trials.append(trial)
                else:
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
                    speculative=guessed.get(kind),
                )
            )
            self.made_at[id(trials[-1])] = (x, y)

    def _elementwise_chain(self, x: np.ndarray, kind: str, y: Any, got: np.ndarray, candidates: list, what: str) -> Optional[Trial]:
        """A fused softmax + cross-entropy gradient written as dL/ds * J (elementwise,
        an (n, n) array) instead of dL/ds @ J: recognised, and reported as such."""
        if self.kind != "softmax_cross_entropy" or x.ndim != 1 or got.size != x.size**2:
            return None
        s = refs.activation_forward("softmax", x) if kind == "logits" else x
        jac = refs.activation_jacobian("softmax", s if kind != "logits" else x)
        upstream = refs.loss_gradient("cross_entropy", s, y)
        square = got.reshape(x.size, x.size)
        for candidate in (upstream[None, :] * jac, upstream[:, None] * jac):
            if _close(square, candidate):
                expected = candidates[0][1]
                return Trial(
                    f"`{self.spec['qualname']}` with {kind} {what}",
                    got,
                    expected,
                    {"prediction": _describe(x), "target": _describe(np.asarray(y, dtype=np.float64))},
                    note=f"the Jacobian is multiplied elementwise by the upstream gradient dL/ds (`*` instead of `@`): "
                    f"result shape {got.shape}, expected {x.shape}",
                    comparison=Comparison(float("inf"), float("inf"), (0,), float(expected.reshape(-1)[0]), float(got.reshape(-1)[0])),
                )
        return None

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
            self.last_result = result
            array = _as_array(result)
            if array is None and instance is not None:
                array = _changed_attribute(instance, before)
                self.observe(_changed_attribute(instance, before, raw=True))
            else:
                self.observe(result)
            return array
        except FATAL:
            raise
        except Exception as error:  # noqa: BLE001
            self.errors.append(f"{what}: {type(error).__name__}: {error}")
            return None


_LOSS_WORDS = {
    "softmax_cross_entropy": "the analytic softmax cross-entropy gradient",
    "sigmoid_binary_cross_entropy": "the analytic sigmoid binary cross-entropy gradient",
    "cross_entropy": "the analytic cross-entropy gradient",
    "binary_cross_entropy": "the analytic binary cross-entropy gradient",
    "mse": "the analytic squared-error gradient",
}


def _returned_scalar(result: Any) -> Optional[float]:
    """The one real number a target returned beside its gradient (`return loss, grad`), if any."""
    if not isinstance(result, (tuple, list)) or not 2 <= len(result) <= 4:
        return None
    numbers = [
        v for v in result
        if not isinstance(v, (bool, np.bool_)) and np.ndim(v) == 0 and np.issubdtype(np.asarray(v).dtype, np.number)
    ]
    if len(numbers) != 1 or np.iscomplexobj(numbers[0]):
        return None
    value = float(numbers[0])
    return value if np.isfinite(value) else None


# Methods that may reduce a loss's per-sample values to the training loss.
REDUCER_NAMES = ("calculate", "compute_loss", "loss", "__call__", "compute", "evaluate", "calc_loss", "get_loss")


def _loss_forward_name(cls: type, forward: Optional[str]) -> Optional[str]:
    if forward and forward.startswith(cls.__name__ + "."):
        return forward.split(".", 1)[1]
    for name in ("forward", "__call__", "loss", "calculate", "compute"):
        if hasattr(cls, name) and name != "__call__" or name in vars(cls):
            return name
    return None


# Words of longer parameter names saying which is which (`true_values`, `predicted_values`,
# `expected_output` / `network_output`, `true_labels` / `pred_labels`); `actual` and `prob` say neither.
_TRUE_WORD = re.compile(r"true|target|label|truth|expected|gold|desired", re.IGNORECASE)
_PREDICTED_WORD = re.compile(r"pred|hat|output|estimat|fitted|network|model", re.IGNORECASE)


def _target_score(name: str) -> int:
    """How much more `name` speaks of targets than of predictions, in words."""
    return len(_TRUE_WORD.findall(name)) - len(_PREDICTED_WORD.findall(name))


def _order_loss_args(names: list[str], p: np.ndarray, y: Any) -> Optional[list[Any]]:
    """(prediction, target) placed by parameter names (the targets first when the first name says so
    more than the second: `(y, y_pred)`, `(true_values, predicted_values)`, `(expected_output,
    actual_output)`); learning rates get 0."""
    positional = [n for n in names if not STEP_NAME.match(n) and not TRAINING_NAME.match(n)]
    if len(positional) == 2:
        first, second = positional
        targets_first = is_target_name(first) and not is_target_name(second)
        if not targets_first and not is_target_name(second):
            targets_first = _target_score(first) > _target_score(second)
        if targets_first:
            values = {first: y, second: p}
        else:
            values = {first: p, second: y}
    elif len(positional) == 1:
        values = {positional[0]: p}
    else:
        return None
    return _fill(names, values)


class FlowProbe:
    """A loss's backward followed by a softmax layer's backward, as a training loop
    chains them (GL203): the chain must give the gradient with respect to the logits."""

    def __init__(self, module: Any, spec: dict, rng: np.random.Generator) -> None:
        self.loss = LossProbe(module, spec["loss"], rng)
        self.activation = ActivationProbe(module, spec["activation"], rng)
        self.rng = rng
        self.errors: list[str] = []

    def stamp(self, trials: list[Trial]) -> list[Trial]:
        return self.activation.stamp(self.loss.stamp(trials))

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


