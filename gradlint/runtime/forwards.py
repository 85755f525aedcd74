"""Probing a forward holding a static finding (values, overflow), and calling a
function to see whether it modifies its argument or broadcasts a reduced axis."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from gradlint.runtime import references as refs
from gradlint.runtime.compare import Comparison, compare, tolerances
from gradlint.runtime.probing import (
    FATAL,
    N_BATCH,
    N_CLASSES,
    SHAPES,
    Probe,
    Trial,
    Unknown,
    _describe,
    _fill,
    _instantiate,
    _logits,
    _mutation,
    _quiet,
    _required,
)


class ForwardProbe(Probe):
    """A recognised forward run against the reference forward: its values at ordinary
    inputs (rows or columns normalised), at extreme ones (overflow), and whether it
    modifies its argument. Used for forwards holding a static finding."""

    def __init__(self, module: Any, spec: dict, rng: np.random.Generator) -> None:
        if spec.get("forward_kind") not in refs.ACTIVATIONS:
            raise Unknown("its forward kind has no reference")
        super().__init__(module, spec, rng)
        self.kind = spec["forward_kind"]
        self.mutated: Optional[dict] = None

    def _call(self, x: np.ndarray) -> np.ndarray:
        if self.cls is None:
            func, names = self.target, _required(self.target)
        else:
            func = getattr(_instantiate(self.cls), self.target)
            names = _required(func)
        if not names:
            raise Unknown("it takes no input")
        args = _fill(names[1:], {})
        if args is None:
            raise Unknown(f"cannot fill its parameters {names[1:]}")
        passed = x.copy()
        with _quiet():
            raw = func(passed, *args)
        self.observe(raw)
        out = np.asarray(raw, dtype=np.float64)
        self.mutated = self.mutated or _mutation([names[0]], [x], [passed])
        return out

    def _references(self, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
        refs_found = [("", refs.activation_forward(self.kind, x))]
        if x.ndim == 2 and self.kind in refs.NORMALISED and x.shape[1] != 1:
            refs_found.append((" (normalised over columns)", refs.activation_forward(self.kind, x.T).T))
        return refs_found

    def run(self) -> list[Trial]:
        shapes = {**SHAPES, "(n, n)": (N_CLASSES, N_CLASSES)}
        matched: list[Trial] = []
        wrong: list[Trial] = []
        for label, shape in shapes.items():
            x = _logits(self.rng, shape)
            try:
                out = self._call(x)
            except FATAL:
                raise
            except Exception as error:  # noqa: BLE001 - a shape it does not take
                self.errors.append(f"on {label}: {type(error).__name__}: {error}")
                continue
            if out.shape != x.shape:
                self.errors.append(f"on {label}: output shape {out.shape}, input shape {x.shape}")
                wrong.append(self._shape_trial(label, x, out))
                continue
            references = self._references(x)
            pass_tolerance = tolerances(self.precision)[0]
            matching = [r for r in references if compare(out, r[1]).rel_error <= pass_tolerance]
            best = matching[0] if matching else references[0]
            trial = Trial(f"`{self.spec['qualname']}(z)` on {label}{best[0]}", out, best[1], _describe(x), self._mistakes(x, out))
            self.stamp([trial])
            (matched if trial.passes() else wrong).append(trial)
        batched_wrong = [t for t in wrong if "(N, n)" in t.convention or "(n, n)" in t.convention]
        if not matched or (batched_wrong and self.spec.get("batched")):
            # Known to be applied to batches (a per-row reduction): wrong rows are wrong.
            return batched_wrong if matched else wrong
        for trial in matched:
            extreme = self._extreme(trial)
            if extreme is not None:
                return [extreme]
        if self.mutated is not None:
            matched[0].mutation = self.mutated
        return matched[:1]

    def _shape_trial(self, label: str, x: np.ndarray, out: np.ndarray) -> Trial:
        expected = refs.activation_forward(self.kind, x)
        note = f"its output has shape {out.shape} for an input of shape {x.shape}"
        if self.kind in refs.NORMALISED:
            note += " (a reduction lost its axis: use keepdims=True)"
        return Trial(f"`{self.spec['qualname']}(z)` on {label}", out, expected, _describe(x), note=note,
                     comparison=Comparison(float("inf"), float("inf"), (0,), float(expected.reshape(-1)[0]), float(out.reshape(-1)[0])))

    def _mistakes(self, x: np.ndarray, out: np.ndarray) -> list[tuple[str, np.ndarray]]:
        found = []
        if self.kind == "softmax" and x.ndim == 2 and x.shape[0] == x.shape[1]:
            e = np.exp(x - np.max(x, axis=1, keepdims=True))
            found.append(("each row is divided by another row's sum (a reduction lost its axis: use keepdims=True)", e / np.sum(e, axis=1)))
        if self.kind in ("sigmoid", "tanh", "softplus"):
            text = f"its input is shifted by its max before the {self.kind} (a softmax trick that changes this function's values)"
            found.append((text, refs.activation_forward(self.kind, x - np.max(x))))
            if x.ndim == 2:
                found.append((text, refs.activation_forward(self.kind, x - np.max(x, axis=-1, keepdims=True))))
                found.append((text, refs.activation_forward(self.kind, x - np.max(x, axis=0, keepdims=True))))
        if self.kind == "softmax":
            e = np.exp(x - np.max(x, axis=-1, keepdims=True))
            found.append(("only the numerator is shifted by the max: the result no longer sums to 1",
                          e / np.sum(np.exp(x), axis=-1, keepdims=True)))
        return found

    def _extreme(self, trial: Trial) -> Optional[Trial]:
        """Logits of magnitude ~1000, and rows far apart: a stable forward stays finite."""
        shape = np.shape(trial.got)
        inputs = [_logits(self.rng, shape) * 600.0]
        if len(shape) == 2 and shape[0] > 1 and shape[1] > 1:
            inputs.append(_logits(self.rng, shape) + np.linspace(1000.0, -1000.0, shape[0])[:, None])  # rows apart
            inputs.append(_logits(self.rng, shape) + np.linspace(1000.0, -1000.0, shape[1])[None, :])  # columns apart
        columns = "over columns" in trial.convention
        for x in inputs:
            found = self._extreme_at(trial, x, columns)
            if found is not None:
                return found
        return None

    def _extreme_at(self, trial: Trial, x: np.ndarray, columns: bool) -> Optional[Trial]:
        try:
            out = self._call(x)
        except FATAL:
            raise
        except Exception as error:  # noqa: BLE001
            self.errors.append(f"extreme logits: {type(error).__name__}: {error}")
            return None
        expected = refs.activation_forward(self.kind, x.T).T if columns else refs.activation_forward(self.kind, x)
        if out.shape == expected.shape and np.all(np.isfinite(expected)) and not np.all(np.isfinite(out)):
            return Trial(
                trial.convention.replace("(z)` on", "(z)` with logits of magnitude up to 1000 on"),
                out,
                expected,
                _describe(x),
                note="it returns nan/inf for large logits (overflow, or a row far below the max underflowing to 0/0)",
            )
        return None


class MutationProbe(Probe):
    """A function with a GL402 finding and no other check: does a call modify its argument?"""

    def run(self) -> list[Trial]:
        ran: dict[str, Trial] = {}
        raised: dict[str, str] = {}
        for label, shape in {**SHAPES, "(n, n)": (N_CLASSES, N_CLASSES)}.items():
            x = _logits(self.rng, shape)
            func = self.target if self.cls is None else getattr(_instantiate(self.cls), self.target)
            names = _required(func)
            args = _fill(names[1:], {}) if names else None
            if args is None:
                raise Unknown(f"cannot fill its parameters {names}")
            passed = x.copy()
            try:
                with _quiet():
                    func(passed, *args)
            except FATAL:
                raise
            except Exception as error:  # noqa: BLE001 - a shape it does not take
                raised[label] = f"{type(error).__name__}: {error}"
                self.errors.append(f"on {label}: {raised[label]}")
                continue
            trial = Trial(f"`{self.spec['qualname']}(x)` on {label}", passed, passed, _describe(x), checked_values=False)
            trial.mutation = _mutation([names[0]], [x], [passed])
            if trial.mutation is not None:
                return [trial]
            ran[label] = trial
        if "GL401" in self.spec.get("codes", ()) and "broadcast" in raised.get("(N, n)", "") and "(n, n)" in ran:
            trial = ran["(n, n)"]
            trial.note = (
                f"a reduction lost its axis: a ({N_BATCH}, {N_CLASSES}) batch raises \"{raised['(N, n)']}\", "
                f"and a square ({N_CLASSES}, {N_CLASSES}) batch runs with the reduced values broadcast along the wrong axis"
            )
            trial.comparison = Comparison(float("inf"), float("inf"), (0,), 0.0, 0.0)
            trial.convention = f"`{self.spec['qualname']}(x)` on (N, n) and on a square (n, n) batch"
            return [trial]
        return list(ran.values())[:1]


