"""Hand-written gradients of scalar objectives, against central differences of the objective.

The sandbox side of `gradlint.runtime.objective_targets` (which says what to call):

- `data` mode, the cost-function convention `J, grad = costFunction(theta, X, y[, lambda_])`
  (or a gradient function of the same signature paired with the cost): theta, X, y are
  random, in the layouts real code uses, tried in order: theta 1-D with X holding an
  intercept column, theta a column, y a column, theta one longer than X is wide (the
  function adds the intercept), X with samples in columns, theta a (D, C) matrix with
  integer or one-hot labels; y 0/1 labels (a logistic cost) or real targets. The
  regularisation strength, when there is one, is tried > 0 and = 0 (which separates the
  data term from the penalty's, and names the penalty slip: "the gradient adds reg/m*theta,
  the objective's penalty has gradient -reg/m*theta").
- `cofi` mode, ex8's `cofiCostFunc(params, Y, R, num_users, num_movies, num_features,
  lambda)`: params = [X, Theta] flattened, ratings Y and the mask R.
- `point` mode, `minimize(f, x0, jac=g)` with no data: g(x) at random points near x0 (its
  shape when x0 is a literal, else of sizes 2, 3 and 5), literal `args` passed along.
- a Hessian (`hess=h`, `rosen_hess`): h(x) against the Jacobian of the gradient by central
  differences, once the gradient itself matches the objective.

Any variant on which the gradient matches decides (the layout the code is written for);
a mismatch is reported only when every variant the function runs on disagrees, on every one
of several random draws (`self_gradients.judge_draws`). Central differences, the kink mask
and the float32 fallback are those of `self_gradients`. A pair linked by its names alone that
is off by a positive factor (a scale folded into the step), or by -1 unless the module's
updates descend with it (a log-likelihood's gradient climbed), is `unknown`; so is a mismatch
of a gradient `minimize` is given with `bounds=` (the points tried may leave them).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

import numpy as np

from gradlint.runtime.compare import close, diagnose, precision_of
from gradlint.runtime.probing import FATAL, Trial, Unknown, _describe, _quiet, _verdict
from gradlint.runtime.self_gradients import (
    EPS64,
    TrialDraw,
    _coefficient,
    _differentiate,
    _masked,
    _times,
    judge_draws,
)

N_SAMPLES, N_FEATURES = 9, 4  # distinct, so no layout slip goes unnoticed
REG = 0.7
THETA_SCALE = 0.5
POINT_SIZES = (2, 3, 5)  # x0 of unknown shape
NEAR = 0.3  # points drawn within ~NEAR (relative) of x0
MOST_HESSIAN_ROWS = 12  # a Hessian costs a row of central differences of the gradient per entry of x

# (key, words): theta layout, X layout, y layout, labels
DATA_VARIANTS = (
    ("flat/intercept/flat/binary", "theta (D,), X (N, D) with an intercept column, y (N,) in {0, 1}"),
    ("flat/intercept/flat/real", "theta (D,), X (N, D) with an intercept column, real y (N,)"),
    ("column/intercept/column/binary", "theta (D, 1), X (N, D), y (N, 1) in {0, 1}"),
    ("column/intercept/column/real", "theta (D, 1), X (N, D), real y (N, 1)"),
    ("flat/intercept/column/binary", "theta (D,), X (N, D), y (N, 1) in {0, 1}"),
    ("column/intercept/flat/binary", "theta (D, 1), X (N, D), y (N,) in {0, 1}"),
    ("bias/plain/flat/binary", "theta (D + 1,), X (N, D) without an intercept column, y (N,) in {0, 1}"),
    ("bias/plain/flat/real", "theta (D + 1,), X (N, D) without an intercept column, real y (N,)"),
    ("column/transposed/row/binary", "theta (D, 1), X (D, N), y (1, N) in {0, 1}"),
    ("column/transposed/row/real", "theta (D, 1), X (D, N), real y (1, N)"),
    ("matrix/plain/flat/classes", "theta (D, C), X (N, D), integer labels y (N,) in [0, C)"),
    ("matrix/plain/onehot/classes", "theta (D, C), X (N, D), one-hot targets y (N, C)"),
)
N_CLASSES = 3


N_MOVIES, N_USERS, N_LATENT = 5, 4, 3  # the collaborative-filtering sizes (distinct)


def _cofi_inputs(rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """params = [X (movies, features) flat, Theta (users, features) flat], ratings Y and the mask R."""
    params = THETA_SCALE * rng.normal(size=(N_MOVIES + N_USERS) * N_LATENT)
    ratings = rng.normal(size=(N_MOVIES, N_USERS))
    rated = rng.integers(0, 2, size=(N_MOVIES, N_USERS))
    rated[0, :] = 1
    return params, {"Y": ratings * rated, "R": rated, "num_users": N_USERS, "num_movies": N_MOVIES, "num_features": N_LATENT}


def _data_inputs(rng: np.random.Generator, variant: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """theta and {X, y} for a data variant (see DATA_VARIANTS)."""
    theta_layout, x_layout, y_layout, labels = variant.split("/")
    data = rng.normal(size=(N_SAMPLES, N_FEATURES))
    if x_layout == "intercept":
        data[:, 0] = 1.0
    size = N_FEATURES + 1 if theta_layout == "bias" else N_FEATURES
    theta = THETA_SCALE * rng.normal(size=(size, N_CLASSES) if theta_layout == "matrix" else size)
    if labels == "binary":
        targets = rng.integers(0, 2, size=N_SAMPLES)
        targets[:2] = (0, 1)
    elif labels == "classes":
        targets = rng.integers(0, N_CLASSES, size=N_SAMPLES)
        targets[:N_CLASSES] = rng.permutation(N_CLASSES)  # every class present
    else:
        targets = rng.normal(size=N_SAMPLES)
    if theta_layout == "column":
        theta = theta.reshape(-1, 1)
    if y_layout == "onehot":
        targets = np.eye(N_CLASSES)[targets]
    if x_layout == "transposed":
        data = data.T.copy()
    if y_layout == "column":
        targets = targets.reshape(-1, 1)
    elif y_layout == "row":
        targets = targets.reshape(1, -1)
    return theta, {"X": data, "y": targets}


def _gradient_array(gradient: Any, point: np.ndarray, what: str, point_name: str) -> np.ndarray:
    """`gradient` as a float64 array with one entry per entry of `point`, or Unknown saying why not
    (`what` names it in the shape message)."""
    try:
        array = np.asarray(gradient, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise Unknown(f"the gradient is not an array of numbers ({error})") from None
    if array.size != point.size:
        raise Unknown(f"{what} has shape {array.shape}, not the size of {point_name} {point.shape}")
    return array


class _Objective:
    """Calls the objective and its gradient (or the objective returning both) with a point and the
    variant's other arguments; checks the value is a scalar and the gradient has the point's size."""

    def __init__(self, module: Any, spec: dict, options: dict) -> None:
        self.value_name = options["value"]
        self.gradient_name = spec["qualname"]
        self.pair = bool(options.get("pair"))
        self.order: list[str] = options.get("order") or ["point"]
        self.extra: list = list(options.get("args") or [])
        self.value_function = self._get(module, self.value_name)
        self.gradient_function = None if self.pair else self._get(module, self.gradient_name)
        self.point = {"data": "theta", "cofi": "params"}.get(options.get("mode") or "", "x")
        self.precision = EPS64
        self.reference_precision = EPS64

    @staticmethod
    def _get(module: Any, name: str) -> Callable:
        function = getattr(module, name, None)
        if not callable(function):
            raise Unknown(f"`{name}` is not a module-level function here")
        return function

    def _arguments(self, point: np.ndarray, data: dict, reg: Optional[float]) -> list:
        values = {"point": point, "X": data.get("X"), "y": data.get("y"), **data, "reg": reg}
        arguments = []
        for role in self.order:
            if role == "default":
                break
            value = values[role]
            arguments.append(value.copy() if isinstance(value, np.ndarray) else value)
        return arguments + [np.copy(a) if isinstance(a, np.ndarray) else a for a in self.extra]

    def _value(self, result: Any) -> float:
        if np.ndim(result) != 0 and np.size(result) != 1:
            raise Unknown(f"the objective `{self.value_name}` does not return a scalar (shape {np.shape(result)})")
        try:
            value = float(np.asarray(result, dtype=np.float64).reshape(()))
        except (TypeError, ValueError) as error:
            raise Unknown(f"the objective's value is not a number ({error})") from None
        self.reference_precision = max(self.reference_precision, precision_of(result))
        return value

    def _pair(self, result: Any) -> tuple[Any, Any]:
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise Unknown(f"`{self.value_name}` does not return a pair (value, gradient) (got {type(result).__name__})")
        return result[0], result[1]

    def __call__(self, point: np.ndarray, data: dict, reg: Optional[float]) -> tuple[float, np.ndarray]:
        with _quiet():
            result = self.value_function(*self._arguments(point, data, reg))
            if self.pair:
                value, gradient = self._pair(result)
            else:
                value, gradient = result, self.gradient_function(*self._arguments(point, data, reg))  # type: ignore[misc]
        number = self._value(value)
        array = _gradient_array(gradient, point, "the gradient", self.point)
        self.precision = max(self.precision, precision_of(gradient))
        return number, array.reshape(point.shape)

    def loss(self, point: np.ndarray, data: dict, reg: Optional[float]) -> float:
        with _quiet():
            result = self.value_function(*self._arguments(point, data, reg))
        if self.pair:
            result = self._pair(result)[0]
        return self._value(result)


def _signature(objective: _Objective, point: np.ndarray, data: dict, reg: Optional[float]) -> str:
    """`costFunction(theta (4,), X (9, 4), y (9,), lambda_=0.7)` in words."""
    shown = {"point": f"{objective.point} {point.shape}", "reg": f"reg={reg:g}" if reg is not None else "reg"}
    for key, value in data.items():
        shown[key] = f"{key} {np.shape(value)}" if isinstance(value, np.ndarray) else f"{key}={value!r}"
    parts = [shown.get(role, role) for role in objective.order if role != "default"]
    parts += [repr(a) for a in objective.extra]
    if objective.pair:
        return f"`{objective.value_name}({', '.join(parts)})` -> (value, gradient)"
    return f"`{objective.gradient_name}({', '.join(parts)})` against `{objective.value_name}`"


class _ObjectiveDraw(TrialDraw):
    """One random draw: the gradient against central differences of the objective, at reg > 0 and
    reg = 0 when the function has a regularisation strength."""

    def __init__(self, objective: _Objective, make_inputs: Callable[[np.random.Generator], tuple[np.ndarray, dict]],
                 rng: np.random.Generator, words: str) -> None:
        point, data = make_inputs(rng)
        self.point = point
        self.data = "X" in data
        self.name = objective.point
        regs: tuple[Optional[float], ...] = (REG, 0.0) if "reg" in objective.order else (None,)
        self.trials: dict[Optional[float], Trial] = {}
        self.details: dict = {}
        self.undecided = False
        for reg in regs:
            value, got = objective(point, data, reg)

            def loss_at(p: np.ndarray, reg: Optional[float] = reg) -> float:
                return objective.loss(p, data, reg)

            where = f" (at reg = {reg:g})" if reg is not None else ""
            expected, kinks, undecided = _differentiate(objective, loss_at, point, value, where)  # type: ignore[arg-type]
            self.undecided = self.undecided or undecided
            inputs = {objective.point: _describe(point)}
            inputs.update({k: _describe(v) for k, v in data.items()})
            if reg is not None:
                inputs["reg"] = reg
            self.trials[reg] = Trial(
                f"{_signature(objective, point, data, reg)} with {words}",
                got,
                _masked(got, expected, kinks),
                inputs,
                numeric=True,
                batch=N_SAMPLES if "X" in data else None,
                precision=objective.precision,
                reference_precision=objective.reference_precision,
            )
            self.details[reg] = (value, got, expected)


    def record(self) -> dict:
        data_trial = self.trials.get(0.0) or self.trials[None]
        data_status = _verdict([data_trial], [])["status"]
        trial = data_trial if data_status != "passed" else max(self.trials.values(), key=lambda t: t.measure().rel_error)
        record = _verdict([trial], [])
        if record["status"] not in ("confirmed", "inconclusive"):
            return record
        got, expected = trial.got, trial.expected
        where = " at reg = 0" if 0.0 in self.trials else ""
        if not np.any(np.abs(got) > 1e-12):
            record["diagnosis"] = f"the gradient is all zeros{where}"
        elif data_status != "passed":
            found = diagnose(got, expected, batch=N_SAMPLES if self.data else None)
            record["diagnosis"] = f"{found}{where}" if found else None
        else:
            record["diagnosis"] = "right at reg = 0: the regularisation term of the gradient does not match the objective's" + self._penalty()
        return record

    def _penalty(self) -> str:
        """How the gradient's penalty term and the objective's compare (`reg/m*theta` against
        `-reg/m*theta`), on every entry or on every entry but the first (the intercept)."""
        _, got_reg, expected_reg = self.details[REG]
        _, got_0, expected_0 = self.details[0.0]
        theta = self.point.astype(np.float64).reshape(-1)
        rest = theta.copy()
        rest[0] = 0.0
        for unit, where in ((theta, ""), (rest, " on every entry but the first (the intercept's)" if self.data else " on every entry but the first")):
            got_k = _coefficient((got_reg - got_0).reshape(-1), REG * unit)
            expected_k = _coefficient((expected_reg - expected_0).reshape(-1), REG * unit)
            if got_k is None or expected_k is None:
                continue
            got_text, expected_text = _per_sample(got_k, self.name), _per_sample(expected_k, self.name)
            if abs(got_k) < 1e-9:
                return f": the gradient has no penalty term; the objective's penalty has gradient {expected_text}{where}"
            if abs(expected_k) < 1e-9:
                return f": the gradient adds {got_text}{where}; the objective has no penalty term"
            flipped = " (opposite signs)" if abs(got_k + expected_k) <= 1e-6 * abs(expected_k) else ""
            return f": the gradient adds {got_text}, the objective's penalty has gradient {expected_text}{where}{flipped}"
        return ""



class _Hessian:
    """Calls a Hessian H(x, *args) and the gradient g(x, *args) it belongs with (or the second result
    of an objective returning (value, gradient)): H must be (n, n), g (n,)."""

    def __init__(self, module: Any, spec: dict, options: dict) -> None:
        self.gradient_name = options["value"]
        self.name = spec["qualname"]
        self.pair = bool(options.get("pair"))
        self.extra: list = list(options.get("args") or [])
        self.gradient_function = _Objective._get(module, self.gradient_name)
        self.function = _Objective._get(module, self.name)
        self.point = "x"
        self.precision = EPS64
        self.reference_precision = EPS64

    def _arguments(self, point: np.ndarray) -> list:
        return [point.copy()] + [np.copy(a) if isinstance(a, np.ndarray) else a for a in self.extra]

    def gradient(self, point: np.ndarray) -> np.ndarray:
        with _quiet():
            result = self.gradient_function(*self._arguments(point))
        if self.pair:
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise Unknown(f"`{self.gradient_name}` does not return a pair (value, gradient)")
            result = result[1]
        array = _gradient_array(result, point, f"the gradient `{self.gradient_name}`", "x")
        self.reference_precision = max(self.reference_precision, precision_of(result))
        return array.reshape(-1)

    def __call__(self, point: np.ndarray) -> np.ndarray:
        with _quiet():
            result = self.function(*self._arguments(point))
        try:
            array = np.asarray(result, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise Unknown(f"the Hessian is not an array of numbers ({error})") from None
        if array.shape != (point.size, point.size):
            raise Unknown(f"the Hessian has shape {array.shape}, not ({point.size}, {point.size})")
        self.precision = max(self.precision, precision_of(result))
        return array


class _HessianDraw(TrialDraw):
    """One random point: H(x) against the Jacobian of the gradient, row by row by central differences."""

    def __init__(self, hessian: _Hessian, make_inputs: Callable[[np.random.Generator], tuple[np.ndarray, dict]],
                 rng: np.random.Generator, words: str) -> None:
        point, _ = make_inputs(rng)
        point = point.reshape(-1)
        if point.size > MOST_HESSIAN_ROWS:
            raise Unknown(f"x has {point.size} entries: the Hessian's {point.size} rows of central differences are not run "
                          f"(at most {MOST_HESSIAN_ROWS})")
        got = hessian(point)
        rows, masks = [], []
        self.undecided = False
        base = hessian.gradient(point)
        for i in range(point.size):
            component = _Component(hessian, i)
            expected, kinks, undecided = _differentiate(component, component.loss, point, float(base[i]))  # type: ignore[arg-type]
            rows.append(expected)
            masks.append(kinks)
            self.undecided = self.undecided or undecided
        expected = np.array(rows)
        self.trial = Trial(
            f"`{hessian.name}(x {point.shape})` against the Jacobian of `{hessian.gradient_name}` with {words}",
            got,
            _masked(got, expected, np.array(masks)),
            {"x": _describe(point)},
            numeric=True,
            precision=hessian.precision,
            reference_precision=hessian.reference_precision,
        )
        self.trials = {None: self.trial}

    def record(self) -> dict:
        record = _verdict([self.trial], [])
        if record["status"] == "confirmed":
            got, expected = self.trial.got, self.trial.expected
            if not close(got, got.T):
                record["diagnosis"] = "the Hessian is not symmetric"
            else:
                record["diagnosis"] = diagnose(got, expected)
        return record


class _Component:
    """One entry of the gradient as a scalar function of x (what `_differentiate` differentiates)."""

    def __init__(self, hessian: _Hessian, index: int) -> None:
        self.hessian = hessian
        self.index = index
        self.point = "x"

    @property
    def reference_precision(self) -> float:
        return self.hessian.reference_precision

    @reference_precision.setter
    def reference_precision(self, value: float) -> None:
        self.hessian.reference_precision = value

    def loss(self, point: np.ndarray) -> float:
        return float(self.hessian.gradient(point)[self.index])


def _check_hessian(module: Any, spec: dict, options: dict, seed: int) -> dict:
    """H against the Jacobian of the gradient, once the gradient is shown right against the objective
    (a wrong gradient is no reference for the Hessian)."""
    if options.get("objective"):
        gradient = options["value"]
        record = _check_gradient(module, {"qualname": gradient}, {**options, "hessian": False, "value": options["objective"]}, seed)
        if record.get("status") != "passed":
            said = f"disagrees with central differences of `{options['objective']}`" if record.get("status") in ("confirmed", "inconclusive") \
                else f"cannot be checked against `{options['objective']}` ({record.get('reason')})"
            raise Unknown(f"its gradient `{gradient}` {said}: the gradient's Jacobian is no reference for the Hessian")
    hessian = _Hessian(module, spec, options)

    def runs(point: np.ndarray, data: dict) -> None:
        hessian(point.reshape(-1))
        hessian.gradient(point.reshape(-1))

    passed, verdicts = _judge_variants(options, runs, lambda make, rng, words: _HessianDraw(hessian, make, rng, words), seed,
                                       "it does not run on random points of any shape tried")
    return passed or next((v for v in verdicts if v["status"] != "unknown"), verdicts[0])


def _judge_variants(
    options: dict,
    runs: Callable[[np.ndarray, dict], object],
    draw: Callable[[Callable, np.random.Generator, str], TrialDraw],
    seed: int,
    none_ran: str,
) -> tuple[Optional[dict], list[dict]]:
    """Each input variant the function runs on (`runs` raises on the others), judged over random draws:
    (the first passing verdict, None) or (None, every verdict); Unknown when no variant runs."""
    verdicts: list[dict] = []
    errors: list[str] = []
    for words, make_inputs in _variants(options):
        try:
            runs(*make_inputs(np.random.default_rng(seed)))
        except Unknown as why:
            errors.append(f"{words}: {why}")
            continue
        except FATAL:
            raise
        except Exception as error:  # noqa: BLE001 - user code: the next variant
            errors.append(f"{words}: it raised {type(error).__name__}: {error}")
            continue
        try:
            verdict = judge_draws(lambda rng, make=make_inputs, words=words: draw(make, rng, words), seed)
        except Unknown as why:
            verdict = {"status": "unknown", "reason": str(why)}
        if verdict["status"] == "passed":
            return verdict, []  # the layout it is written for: right there
        verdicts.append(verdict)
    if not verdicts:
        raise Unknown(f"{none_ran}: " + "; ".join(errors[:3]))
    return None, verdicts


def _per_sample(k: float, point: str = "theta") -> str:
    """`reg/m*theta`, `-2*reg*theta`, `0.5*reg/m*theta` (m: the number of samples) for k*reg*theta."""
    for scale, unit in ((1.0, f"reg*{point}"), (float(N_SAMPLES), f"reg/m*{point}")):
        nice = k * scale
        if abs(nice * 4.0 - round(nice * 4.0)) < 1e-6 and round(nice * 4.0) != 0:
            return _times(round(nice * 4.0) / 4.0, unit)
    return _times(k, f"reg*{point}")


def _point_maker(shape: list[int], center: Optional[np.ndarray]) -> Callable[[np.random.Generator], tuple[np.ndarray, dict]]:
    def make(rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        if center is None:  # no x0 to start from: points of order 1 (test functions' terms stay comparable)
            return 0.7 * rng.normal(size=shape), {}
        scale = NEAR * np.maximum(1.0, np.abs(center))
        return center + scale * rng.normal(size=shape), {}
    return make


def _variants(options: dict) -> list[tuple[str, Callable[[np.random.Generator], tuple[np.ndarray, dict]]]]:
    if options.get("mode") == "data":
        return [(words, (lambda rng, key=key: _data_inputs(rng, key))) for key, words in DATA_VARIANTS]
    if options.get("mode") == "cofi":
        return [("params = [X (movies, features), Theta (users, features)] flattened, ratings Y and mask R (movies, users)",
                 _cofi_inputs)]
    center = None
    if options.get("x0") is not None:
        center = np.asarray(options["x0"], dtype=np.float64).reshape(-1)
    shape = options.get("shape")
    if shape:
        described = "x near x0" if center is not None else f"x of shape {tuple(shape)}"
        return [(described, _point_maker(list(shape), center))]
    return [(f"x of shape ({size},)", _point_maker([size], None)) for size in POINT_SIZES]


def _lenient(verdict: dict, step: Optional[str] = None) -> dict:
    """A pair linked by its names only: a gradient off by a positive constant factor (`X.T @ (X @ w - y)`
    beside a cost `sum((X @ w - y)**2)`, the 2 folded into the learning rate), or by -1 (a
    log-likelihood's gradient climbed beside a negative log-likelihood cost), is a convention, not a
    defect, unless something hands both to a line search; unknown. `step`: how the module's updates use
    the gradient ("descent": `w -= lr * g(...)`); an opposite sign under descent climbs the cost, a defect."""
    diagnosis = verdict.get("diagnosis") or ""
    prefix = "off by a constant factor of "
    if verdict.get("status") in ("confirmed", "inconclusive") and diagnosis.startswith(prefix) and not diagnosis[len(prefix):].startswith("-"):
        return {"status": "unknown",
                "reason": f"its gradient is that of the objective up to a positive constant factor ({diagnosis[len(prefix):]}): "
                          "a scale folded into the step size is a convention unless a line search is given both"}
    if step != "descent" and verdict.get("status") in ("confirmed", "inconclusive") and (
        diagnosis.startswith("sign flipped") or diagnosis.startswith(prefix + "-")
    ):
        return {"status": "unknown",
                "reason": f"its gradient is that of the objective with the opposite sign ({diagnosis}): a log-likelihood's "
                          "gradient climbed beside a negative log-likelihood cost (`theta + lr * gradient`) is a "
                          "convention, unless something hands both to an optimizer"}
    return verdict


def check(module: Any, spec: dict, rng: np.random.Generator) -> dict:
    """The verdict record for one objective target (see the module doc)."""
    options = json.loads(spec.get("options") or "{}")
    if options.get("mode") == "unknown":
        raise Unknown(options.get("reason") or "it cannot be called with confidence")
    seed = int(rng.integers(0, 2**31))
    record = _check_hessian(module, spec, options, seed) if options.get("hessian") else _check_gradient(module, spec, options, seed)
    if options.get("bounded") and record.get("status") in ("confirmed", "inconclusive"):
        raise Unknown("the optimizer is given `bounds=` and evaluates it only inside them; the points tried are not "
                      "(a gradient guarded for its feasible set may disagree outside it)")
    return record


def _check_gradient(module: Any, spec: dict, options: dict, seed: int) -> dict:
    """The gradient against central differences of the objective, on every input variant that runs."""
    objective = _Objective(module, spec, options)
    passed, verdicts = _judge_variants(
        options,
        lambda point, data: objective(point, data, REG if "reg" in objective.order else None),
        lambda make, rng, words: _ObjectiveDraw(objective, make, rng, words),
        seed,
        "it does not run on random inputs of any layout tried",
    )
    if passed is not None:
        return passed
    if options.get("named"):
        verdicts = [_lenient(v, options.get("step")) for v in verdicts]
    mixed = [v for v in verdicts if v["status"] == "unknown" and " random draws but not on the others" in (v.get("reason") or "")]
    if mixed:
        return mixed[0]  # right on some draws of a layout it runs on: not consistent enough to report
    return next((v for v in verdicts if v["status"] != "unknown"), verdicts[0])
