"""CS231n style layer pairs in the sandbox: `out, cache = f_forward(x, w, b, ...)`, `dx, dw, db = f_backward(dout, cache)`.

The targets come from `gradlint.runtime.layer_pair_targets` (which pairs the functions and
reads which returned gradient belongs to which input). `check` runs the trial:

- Shapes by trial: the inputs are drawn for each layout of `LAYOUTS` in turn (rows (N, D) with
  weights (D, M); sequences (N, T, D); LSTM gates (D, 4M); images (N, C, H, W) with filters
  (F, C, 3, 3); channels-last images; one channels-last image (H, W, C); the column layout
  (D, N)), each parameter by its role (an embedding's data as word indices into the rows of its
  weights, with repeats). A layout fits when the forward runs and returns finite arrays that keep
  the batch axis and the backward returns each checked gradient in its input's shape. At most
  `MOST_LAYOUTS` fitting layouts are judged; one that passes makes the verdict `passed` (the
  inputs the code is written for); a mismatch is reported only when none passes and the first
  that fits shows it.
- Parameter dicts (`bn_param`, `conv_param`, `pool_param`, `dropout_param`, `hparameters`) start
  empty and answer only the conventional keys the forward asks for (`ParamDict`): mode='train',
  eps, momentum, stride (1, or 2 for pooling), pad, pool_height/pool_width, p, seed, running
  mean/var; a fresh copy for every call (forwards update running statistics).
- Randomness: numpy's global generator and `random` are seeded before every forward call, so
  a dropout mask is the same in every call (a forward random anyway is `unknown`).
- The reference: central differences of sum(out * dout) (summed over the outputs of a forward
  returning several) with respect to each mapped input at up to `SAMPLED` entries, the other
  inputs fixed; entries at a kink (a relu or max-pool switching within the step) are left out,
  and every one of three random draws must show a mismatch (`self_gradients.judge_draws`).
- Unfinished bodies (`None` returned, `NotImplementedError`, a gradient of all zeros) are
  `unknown` ("not implemented"), never a mismatch; so are two conventions (`_Draw._conventions`):
  every parameter gradient divided by the batch size (deeplearning.ai), and weight decay folded
  into a weight's gradient. Results matched by position that fit another input of the same
  shape are `unknown` (the order is not named). An upstream gradient the backward writes into
  is confirmed even when the values are right (GL402's finding, as the other stages do).
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any, Optional

import numpy as np

from gradlint.runtime.compare import EPS64, close, diagnose, precision_of
from gradlint.runtime.layer_pair_targets import ROLE, role_of
from gradlint.runtime.probing import (
    FATAL,
    Trial,
    Unknown,
    _describe,
    _mutation,
    _quiet,
    _verdict,
)
from gradlint.runtime.self_gradients import (
    EPS32,
    MOST_KINKS,
    ROUGH,
    TrialDraw,
    _central,
    _roughest,
    judge_draws,
)

N, D, M, T = 4, 5, 3, 2  # batch, features, hidden units, time steps: distinct, so a layout slip shows
IMAGES, CHANNELS, HEIGHT, WIDTH, FILTERS, KERNEL = 2, 4, 6, 8, 5, 3  # all distinct: a loop over the wrong axis shows
SAMPLED = 20  # entries of one input compared (chosen at random per draw), as CS231n's grad_check_sparse
MOST_LAYOUTS = 2
SEED = 1234  # numpy's and random's global generators, before every forward call
GROUPS = 2


def _rows(scale: tuple, gates: int = 1, sequence: bool = False) -> dict:
    return {"x": (N, T, D) if sequence else (N, D), "state": (N, M), "wx": (D, gates * M), "wh": (M, gates * M),
            "w": (D, gates * M), "b": (gates * M,), "scale": scale, "batch": N}


# (what is said, role -> shape); "batch" is the axis the outputs must keep.
LAYOUTS: tuple[tuple[str, dict], ...] = (
    ("rows", _rows((D,))),
    ("rows, gamma/beta of the output's width", _rows((M,))),
    ("rows, LSTM gates (4M)", _rows((D,), gates=4)),
    ("sequences", _rows((D,), sequence=True)),
    ("sequences, LSTM gates (4M)", _rows((D,), gates=4, sequence=True)),
    ("images", {"x": (IMAGES, CHANNELS, HEIGHT, WIDTH), "w": (FILTERS, CHANNELS, KERNEL, KERNEL), "b": (FILTERS,),
                "scale": (CHANNELS,), "batch": IMAGES}),
    ("images, gamma/beta (1, C, 1, 1)", {"x": (IMAGES, CHANNELS, HEIGHT, WIDTH), "w": (FILTERS, CHANNELS, KERNEL, KERNEL),
                                        "b": (FILTERS,), "scale": (1, CHANNELS, 1, 1), "batch": IMAGES}),
    ("channels-last images", {"x": (IMAGES, HEIGHT, WIDTH, CHANNELS), "w": (KERNEL, KERNEL, CHANNELS, FILTERS),
                              "b": (1, 1, 1, FILTERS), "scale": (CHANNELS,), "batch": IMAGES}),
    ("one channels-last image (H, W, C), filters (F, K, K, C)", {"x": (HEIGHT, WIDTH, CHANNELS), "w": (FILTERS, KERNEL, KERNEL, CHANNELS),
                                                                "b": (FILTERS,), "scale": (CHANNELS,), "batch": None}),
    ("columns", {"x": (D, N), "state": (M, N), "wx": (M, D), "wh": (M, M), "w": (M, D), "b": (M, 1), "scale": (D, 1), "batch": N}),
)

# The keys a parameter dict answers when the forward asks for them (`param[key]`; `param.get("mode")`).
ANSWERED_BY_GET = frozenset({"mode"})
ANSWERED_BY_CONTAINS = frozenset({"mode", "seed"})


class ParamDict(dict):
    """A layer's parameter dict that starts empty and answers the conventional keys the forward
    reads (recorded in the dict itself, so the cache and the report see them)."""

    _answers: dict = {}  # (a copy made without __init__, by copy.deepcopy, answers nothing)

    def __init__(self, answers: dict) -> None:
        super().__init__()
        self._answers = answers

    def __missing__(self, key: Any) -> Any:
        if key in self._answers:
            value = self._answers[key]
            value = value.copy() if isinstance(value, np.ndarray) else value
            self[key] = value
            return value
        raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        # `if "seed" in dropout_param: np.random.seed(dropout_param["seed"])`: the forward and a backward
        # that reads the seed unguarded see the same one
        return dict.__contains__(self, key) or (key in ANSWERED_BY_CONTAINS and key in self._answers)

    def get(self, key: Any, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        if key in ANSWERED_BY_GET and key in self._answers:
            return self[key]
        return default

    def __copy__(self) -> "ParamDict":
        copied = ParamDict(self._answers)
        copied.update(self)
        return copied

    def copy(self) -> "ParamDict":  # type: ignore[override]
        return self.__copy__()


def _answers(name: str, forward_name: str, layout: dict) -> dict:
    pooling = "pool" in name.lower() or ("pool" in forward_name.lower() and "conv" not in name.lower())
    features = layout.get("scale", (D,))
    return {
        "mode": "train", "eps": 1e-5, "momentum": 0.9, "stride": 2 if pooling else 1, "pad": 0 if pooling else 1,
        "pool_height": 2, "pool_width": 2, "p": 0.6, "seed": 0, "f": 2,
        "running_mean": np.zeros(features), "running_var": np.ones(features),
    }


def _draw(role: str, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Values of a role: data of spread 1.5 around 0.3 (a variance far from 1), weights, biases and
    states of spread 0.6, scales around 0.8 (both signs possible)."""
    if role == "x":
        return 0.3 + 1.5 * rng.normal(size=shape)
    if role == "scale":
        return 0.8 + 0.5 * rng.normal(size=shape)
    return 0.6 * rng.normal(size=shape)


def _shape_text(shape: tuple) -> str:
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"


class _Pair:
    """The forward and backward of one target, the inputs' roles and the static mapping."""

    def __init__(self, module: Any, spec: dict) -> None:
        options = json.loads(spec.get("options") or "{}")
        if options.get("unknown"):
            raise Unknown(options["unknown"])
        if not hasattr(module, "xrange"):
            module.xrange = range  # Python 2 course code (`for i in xrange(N)`)
        self.name = spec["qualname"]
        self.forward_name = options["forward"]
        self.backward = getattr(module, self.name, None)
        self.forward = getattr(module, self.forward_name, None)
        if not callable(self.backward) or not callable(self.forward):
            raise Unknown(f"`{self.name}` or `{self.forward_name}` is not a module-level function when the module runs")
        self.inputs: list[str] = options["inputs"]
        self.roles = {name: role_of(name) for name in self.inputs}
        self.outputs = int(options["outputs"])
        self.returned: list[Optional[str]] = options["returned"]
        self.mapping = {int(i): name for i, name in options["mapping"]}
        self.mapped_by = options["mapped_by"]
        self.upstream: list[str] = options.get("upstream") or [f"dout{i + 1}" for i in range(self.outputs)]
        # what each checked gradient is called: its name, or its place when it is an expression
        self.gradient_names = {name: self.returned[i] or f"the {_ordinal(i)} result" for i, name in self.mapping.items()}
        self.mutation: Optional[dict] = None  # the upstream gradient the last backward call wrote into

    def arguments(self, layout: dict, rng: np.random.Generator) -> dict[str, Any]:
        """The arrays for a layout (KeyError when a role has no shape in it). An embedding's data are
        word indices into the rows of its weights (`word_embedding_forward(x, W)`: `W[x]`), repeated."""
        arrays: dict[str, Any] = {}
        embedding = "embed" in self.forward_name.lower() and "w" in layout
        for name in self.inputs:
            role = self.roles[name]
            if role in ("param", "groups"):
                continue
            if role not in layout:
                raise KeyError(role)
            if role == "x" and embedding:
                arrays[name] = rng.integers(0, min(3, layout["w"][0]), size=layout[role])  # few words: repeats
                continue
            arrays[name] = _draw(role, layout[role], rng)
        return arrays

    def call_forward(self, layout: dict, arrays: dict[str, np.ndarray]) -> tuple[list[np.ndarray], Any, dict]:
        """The forward on copies of `arrays` (fresh parameter dicts, seeded generators): its outputs,
        its cache and the dicts as it left them."""
        dicts = {name: ParamDict(_answers(name, self.forward_name, layout)) for name in self.inputs if self.roles[name] == "param"}
        args = []
        for name in self.inputs:
            role = self.roles[name]
            args.append(dicts[name] if role == "param" else GROUPS if role == "groups" else arrays[name].copy())
        np.random.seed(SEED)
        random.seed(SEED)
        with _quiet():
            result = self.forward(*args)
        if not isinstance(result, (tuple, list)) or len(result) != self.outputs + 1:
            raise _Misfit(f"`{self.forward_name}` returned {type(result).__name__}, not {self.outputs} output(s) and a cache")
        outputs = list(result[: self.outputs])
        if any(out is None for out in outputs):
            raise Unknown(f"its forward `{self.forward_name}` returns None as its output: not implemented")
        arrays_out = []
        for out in outputs:
            try:
                array = np.asarray(out)
            except Exception:  # noqa: BLE001 - a tensor of another library, say
                raise _Misfit(f"`{self.forward_name}` returned a {type(out).__name__}, not an array") from None
            if array.dtype == object or not np.issubdtype(array.dtype, np.number) or array.size == 0:
                raise _Misfit(f"`{self.forward_name}` returned an output of dtype {array.dtype} and shape {array.shape}")
            arrays_out.append(array)
        return arrays_out, result[-1], dicts

    def call_backward(self, upstream: list[np.ndarray], cache: Any) -> tuple:
        """The backward's results, on copies of the upstream gradients (`self.mutation`: the first
        one it wrote into, the caller's array in real use, as `probing._mutation` describes it)."""
        passed = [u.copy() for u in upstream]
        with _quiet():
            result = self.backward(*passed, cache)
        self.mutation = _mutation(self.upstream, upstream, passed)
        if len(self.returned) == 1 and not (isinstance(result, tuple) and len(result) == 1):
            result = (result,)
        if not isinstance(result, (tuple, list)) or len(result) != len(self.returned):
            raise _Misfit(f"`{self.name}` returned {type(result).__name__}, not the {len(self.returned)} items of its return statement")
        return tuple(result)


class _Misfit(Exception):
    """The layout does not fit the pair (try the next one)."""


class _Fit:
    """A layout the pair runs in: its name and shapes."""

    def __init__(self, pair: _Pair, label: str, layout: dict, arrays: dict, outputs: list[tuple]) -> None:
        self.pair, self.label, self.layout, self.outputs = pair, label, layout, outputs
        self.shapes = {name: value.shape for name, value in arrays.items()}
        self.indices = {name for name, value in arrays.items() if np.issubdtype(value.dtype, np.integer)}

    def call_text(self, dicts: dict) -> str:
        pair = self.pair
        parts = []
        for name in pair.inputs:
            role = pair.roles[name]
            if role == "param":
                shown = {k: v for k, v in dicts.get(name, {}).items() if not isinstance(v, np.ndarray)}
                parts.append(f"{name}={shown}")
            elif role == "groups":
                parts.append(f"{name}={GROUPS}")
            else:
                parts.append(f"{name} {_shape_text(self.shapes[name])}" + (" (word indices)" if name in self.indices else ""))
        upstream = ", ".join(f"{name} {_shape_text(s)}" for name, s in zip(pair.upstream, self.outputs))
        returned = ", ".join(name or "..." for name in pair.returned) if any(pair.returned) else f"{len(pair.returned)} result{'s' if len(pair.returned) != 1 else ''}"
        by = " (matched by position)" if pair.mapped_by == "position" else ""
        return f"`{pair.forward_name}({', '.join(parts)})` ({self.label}), then `{pair.name}({upstream}, cache)` -> ({returned}){by}"


def _fits(pair: _Pair, seed: int) -> list[_Fit]:
    """The layouts the pair runs in (see the module doc), or Unknown with what each raised."""
    errors: list[tuple[str, str]] = []
    fits: list[_Fit] = []
    for label, layout in LAYOUTS:
        rng = np.random.default_rng(seed)
        try:
            arrays = pair.arguments(layout, rng)
        except KeyError:
            continue  # a role this layout has no shape for (a recurrent state in images)
        if any(fit.shapes == {name: value.shape for name, value in arrays.items()} for fit in fits):
            continue  # the same inputs as a layout already fitting (the two differ in a role the pair lacks)
        try:
            outputs, cache, _ = pair.call_forward(layout, arrays)
            batch = layout["batch"]
            for out in outputs:
                if batch is not None and batch not in out.shape:
                    raise _Misfit(f"its output has shape {out.shape}, without the batch axis ({batch})")
                if not np.all(np.isfinite(out)):
                    raise _Misfit("its output is not finite")
            upstream = [rng.normal(size=out.shape) for out in outputs]
            result = pair.call_backward(upstream, cache)
            for index, name in pair.mapping.items():
                value = result[index]
                if value is None:
                    raise Unknown(f"it returns None for `{pair.returned[index] or name}`: not implemented")
                got = np.shape(value)
                if got != arrays[name].shape and tuple(s for s in got if s != 1) != tuple(s for s in arrays[name].shape if s != 1):
                    raise _Misfit(f"its result {_quoted(pair.gradient_names[name])} has shape {got}, not `{name}`'s {arrays[name].shape}")
        except FATAL:
            raise
        except NotImplementedError as error:  # perhaps for this layout only: the next one is tried
            errors.append((label, f"it raised NotImplementedError{f': {error}' if str(error) else ''} (not implemented)"))
            continue
        except _Misfit as why:
            errors.append((label, str(why)))
            continue
        except Exception as error:  # noqa: BLE001 - user code on a layout it is not written for
            errors.append((label, f"it raised {type(error).__name__}: {error}"))
            continue
        fits.append(_Fit(pair, label, layout, arrays, [o.shape for o in outputs]))
        if len(fits) == MOST_LAYOUTS:
            break
    if fits:
        return fits
    grouped: dict[str, list[str]] = {}  # the same error in several layouts is said once
    for label, error in errors:
        grouped.setdefault(error, []).append(label)
    shown = "; ".join(f"{' / '.join(labels[:2])}{' / ...' if len(labels) > 2 else ''}: {error}" for error, labels in list(grouped.items())[:4])
    raise Unknown(f"no input shapes tried make the pair run consistently: {shown or 'no layout has shapes for its inputs'}")


PARAMETER_ROLES = frozenset({"w", "wx", "wh", "b", "scale"})  # a layer's own parameters (not its input or state)
WEIGHT_ROLES = frozenset({"w", "wx", "wh"})


def _factor(got: np.ndarray, expected: np.ndarray) -> Optional[float]:
    """k when got = k * expected (to the diagnosis tolerance), else None."""
    norm = float(np.sum(expected * expected))
    if norm == 0.0:
        return None
    k = float(np.sum(got * expected)) / norm
    return k if close(got, k * expected) else None


def _decay(got: np.ndarray, expected: np.ndarray, weights: np.ndarray) -> bool:
    """Whether got - expected = k * weights for some k != 0 (weight decay added to the gradient)."""
    norm = float(np.sum(weights * weights))
    if norm == 0.0 or weights.shape != got.shape:
        return False
    residual = got - expected
    k = float(np.sum(residual * weights)) / norm
    return abs(k) > 1e-9 and close(residual, k * weights)


def _quoted(gradient: str) -> str:
    """`dx`, or `the 2nd result` unquoted."""
    return gradient if gradient.startswith("the ") else f"`{gradient}`"


def _ordinal(index: int) -> str:
    return {0: "1st", 1: "2nd", 2: "3rd"}.get(index, f"{index + 1}th")


class _Draw(TrialDraw):
    """One random draw in one layout: a trial per mapped input."""

    def __init__(self, fit: _Fit, rng: np.random.Generator) -> None:
        pair = fit.pair
        arrays = pair.arguments(fit.layout, rng)
        outputs, cache, dicts = pair.call_forward(fit.layout, arrays)
        upstream = [rng.normal(size=out.shape) for out in outputs]
        result = pair.call_backward(upstream, cache)
        self.mutation = pair.mutation  # an upstream gradient written into: confirmed even when the values are right
        self.call = fit.call_text(dicts)
        precision = max((precision_of(result[index]) for index in pair.mapping if result[index] is not None), default=EPS64)
        reference_precision = max(precision_of(out) for out in outputs)

        def objective(values: dict[str, np.ndarray]) -> float:
            outs, _, _ = pair.call_forward(fit.layout, values)
            return float(sum(np.sum(np.asarray(o, dtype=np.float64) * u) for o, u in zip(outs, upstream)))

        self.trials: dict[str, Trial] = {}
        self.sampled: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.zeros: list[str] = []
        self.constant: list[str] = []
        self.undecided = False
        kink_count = compared = 0
        chosen_for: dict[tuple, np.ndarray] = {}
        self.references: dict[str, tuple] = {}  # name -> (its shape, got, expected) at the shared entries
        self.values: dict[str, np.ndarray] = {}  # name -> the input's values at the entries compared (off the kinks)
        base = objective(arrays)
        magnitude = float(sum(np.sum(np.abs(np.asarray(o, dtype=np.float64) * u)) for o, u in zip(outputs, upstream)))
        if not np.isfinite(base):
            raise Unknown(f"sum(out * dout) is not finite on {fit.label}")
        if objective(arrays) != base:
            raise Unknown(f"its forward `{pair.forward_name}` gives different outputs for the same inputs (random even with numpy's generator seeded?)")
        for index, name in sorted(pair.mapping.items()):
            value = result[index]
            if value is None:
                raise Unknown(f"it returns None for `{pair.returned[index] or name}`: not implemented")
            got = np.asarray(value, dtype=np.float64).reshape(arrays[name].shape)
            if not np.any(got != 0):
                self.zeros.append(pair.returned[index] or name)
                continue
            point = arrays[name]
            if not np.issubdtype(point.dtype, np.floating):
                continue  # word indices: no derivative
            if point.shape not in chosen_for:  # inputs of one shape share their entries (see `_swapped`)
                chosen_for[point.shape] = np.sort(rng.choice(point.size, size=min(SAMPLED, point.size), replace=False))
            chosen = chosen_for[point.shape]

            def at(values: np.ndarray, name: str = name, chosen: np.ndarray = chosen) -> float:
                moved = dict(arrays)
                flat = arrays[name].reshape(-1).copy()
                flat[chosen] = values
                moved[name] = flat.reshape(arrays[name].shape)
                return objective(moved)

            start = point.reshape(-1)[chosen].copy()
            step_precision = reference_precision
            expected, kinks, rough = _central(at, start, step_precision, magnitude)
            if (rough > ROUGH or np.count_nonzero(kinks) > MOST_KINKS * kinks.size) and step_precision < EPS32:
                retry = _central(at, start, EPS32, magnitude)  # float32 arithmetic inside a float64 output
                if retry[2] <= _roughest(EPS32) and np.count_nonzero(retry[1]) <= MOST_KINKS * kinks.size:
                    step_precision, (expected, kinks, rough) = EPS32, retry
            if not np.all(np.isfinite(expected)):
                raise Unknown(f"its forward is not finite near the inputs drawn on {fit.label}")
            if not np.any(np.abs(expected) > 1e-12):
                self.constant.append(name)  # the output does not depend on it here: nothing to compare
                continue
            # differences that depend on their step: too rough for this input, or kinks at too many of the
            # entries compared (counted over every input: one kink among a bias's three entries is no sign)
            self.undecided = self.undecided or rough > _roughest(step_precision)
            kink_count += int(np.count_nonzero(kinks))
            compared += kinks.size
            got_sampled = got.reshape(-1)[chosen]
            reference = got.reshape(-1).copy()
            reference[chosen] = np.where(kinks, got_sampled, expected)
            self.sampled[name] = (got_sampled[~kinks], expected[~kinks])
            self.references[name] = (point.shape, got_sampled, np.where(kinks, got_sampled, expected))
            self.values[name] = point.reshape(-1)[chosen][~kinks]
            self.trials[name] = Trial(
                f"{self.call}: {_quoted(pair.gradient_names[name])} against `{name}`",
                got,
                reference.reshape(got.shape),
                {name: _describe(point)},
                numeric=True,
                batch=fit.layout["batch"],
                precision=precision,
                reference_precision=step_precision,
            )
        self.undecided = self.undecided or kink_count > MOST_KINKS * max(compared, 1)
        if not self.trials:
            if self.zeros:
                raise Unknown(f"it returns all zeros for {', '.join(f'`{z}`' for z in self.zeros)}: not implemented (a template's placeholder?)")
            raise Unknown(f"the forward's output does not change with {', '.join(f'`{c}`' for c in self.constant)}: nothing to compare")
        self.gradient_names = pair.gradient_names
        if self.mutation is not None:
            next(iter(self.trials.values())).mutation = self.mutation  # `_verdict` turns a pass into this finding
        if pair.mapped_by == "position":
            self._swapped()
        self._conventions(pair, fit.layout["batch"])

    def _swapped(self) -> None:
        """Results matched to inputs by position only: one that is off for its input but right for another
        input of the same shape (`dbeta` returned where `dgamma` is expected, neither named) says the order
        differs, not that a gradient is wrong: unknown."""
        statuses = self._statuses()
        for name, (shape, got, _) in self.references.items():
            if statuses.get(name) == "passed":
                continue
            for other, (other_shape, _, expected) in self.references.items():
                if other != name and other_shape == shape and close(got, expected, self.trials[name].tolerances()[0]):
                    raise Unknown(
                        f"the result in the place of `{name}` is the gradient with respect to `{other}`: the results are "
                        "matched to the inputs by position (no name says which is which), and its order is not the forward's"
                    )

    def _conventions(self, pair: _Pair, batch: Optional[int]) -> None:
        """Two conventions that make a layer's parameter gradients differ from its forward's VJP on
        purpose are `unknown`, not mismatches: every parameter gradient divided by the batch size while
        the input's is not (deeplearning.ai's `dW = dZ @ A_prev.T / m`, for a cost that is a mean), and a
        weight's gradient plus k times the weight (weight decay folded into the backward)."""
        statuses = self._statuses()
        wrong = {name for name, status in statuses.items() if status in ("confirmed", "inconclusive")}
        if not wrong:
            return
        parameters = {name for name in self.trials if pair.roles[name] in PARAMETER_ROLES}
        averaged = bool(batch) and wrong == parameters and all(_factor(*self.sampled[name]) is not None and abs(_factor(*self.sampled[name]) * batch - 1.0) < 1e-6 for name in wrong)
        if averaged:
            raise Unknown(
                f"its parameters' gradients ({', '.join(f'`{n}`' for n in sorted(wrong))}) are the forward's divided by the batch size "
                f"{batch}, and its input's are not: the convention of a cost averaged over the batch (dW = dZ A_prev.T / m), not a mismatch"
            )
        decayed = [name for name in wrong if pair.roles[name] in WEIGHT_ROLES and _decay(*self.sampled[name], self.values[name])]
        if decayed and set(decayed) == wrong:
            raise Unknown(
                f"its gradient of {', '.join(f'`{n}`' for n in decayed)} is the forward's plus a multiple of the weights: "
                "weight decay (L2 regularisation) folded into the backward, not a mismatch of the layer"
            )

    def _statuses(self) -> dict[str, str]:
        """Each input's status from the values alone (an upstream gradient written into is `record`'s)."""
        return {name: _verdict([replace(trial, mutation=None, comparison=None)], [])["status"] for name, trial in self.trials.items()}

    def best(self) -> Trial:
        """The trial of the input farthest off (every input passed: the report's relative error is the largest)."""
        worst = max(self.trials.values(), key=lambda t: t.measure().rel_error)
        checked = ", ".join(_quoted(self.gradient_names[name]) for name in self.trials)
        skipped = f"; {', '.join(f'`{z}`' for z in self.zeros)} all zeros (not implemented?), not checked" if self.zeros else ""
        return replace(worst, convention=f"{self.call}: {checked} checked{skipped}", comparison=None)

    def record(self) -> dict:
        statuses = self._statuses()
        wrong = [name for name, status in statuses.items() if status in ("confirmed", "inconclusive")]
        if not wrong:  # the values are right: the upstream gradient written into is the finding
            record = _verdict([next(iter(self.trials.values()))], [])
            record["convention"] = self.best().convention
            return record
        name = max(wrong, key=lambda n: self.trials[n].measure().rel_error)
        record = _verdict([replace(self.trials[name], mutation=None, comparison=None)], [])
        got, expected = self.sampled[name]
        found = diagnose(got, expected, batch=self.trials[name].batch, tolerance=self.trials[name].tolerances()[0])
        parts = [f"the gradient with respect to `{name}` ({_quoted(self.gradient_names[name])}) is wrong" + (f": {found}" if found else "")]
        others = [n for n in wrong if n != name]
        if others:
            parts.append("those for " + ", ".join(f"`{n}`" for n in others) + " are off too")
        right = [n for n, status in statuses.items() if status == "passed"]
        if right:
            parts.append("those for " + ", ".join(f"`{n}`" for n in right) + " agree")
        if self.mutation is not None:
            parts.append(f"and it writes into its argument `{self.mutation['name']}` (the caller's array)")
        record["diagnosis"] = "; ".join(parts)
        return record


def check(module: Any, spec: dict, rng: np.random.Generator) -> dict:
    """The verdict record for one layer pair (see the module doc)."""
    if spec.get("role") != ROLE:
        raise Unknown("not a layer pair")
    pair = _Pair(module, spec)
    seed = int(rng.integers(0, 2**31))
    verdicts = []
    for fit in _fits(pair, seed):
        try:
            verdict = judge_draws(lambda draw_rng, fit=fit: _Draw(fit, draw_rng), seed)
        except Unknown as why:
            verdict = {"status": "unknown", "reason": str(why)}
        if verdict.get("reason"):  # judge_draws speaks of a loss: here it is sum(out * dout)
            verdict["reason"] = verdict["reason"].replace("central differences of its loss", "central differences of sum(out * dout)")
        if verdict["status"] == "passed":
            return verdict
        verdicts.append(verdict)
    return verdicts[0]  # none passes: the first layout that fits (the most conventional) decides

