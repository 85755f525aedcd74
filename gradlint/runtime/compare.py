"""Comparing a result with its reference, and naming the likely mistake.

Runs inside the sandboxed worker (numpy only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

PASS_TOLERANCE = 1e-6
CONFIRM_TOLERANCE = 1e-3
# How close a result must be to a hypothesised mistake for the diagnosis.
DIAGNOSIS_TOLERANCE = 1e-5
EPS64 = float(np.finfo(np.float64).eps)
# Above this pass tolerance the code's arithmetic is too coarse (float16) to judge.
COARSEST_PASS_TOLERANCE = 1e-2


def precision_of(value: Any) -> float:
    """The unit round-off of the floating dtype a value was computed in (float64's
    for anything else: Python floats, integers, booleans, objects). A tuple's first
    array stands for it (a `(grad, cache)` or `(loss, grad)` return)."""
    if isinstance(value, (tuple, list)) and value:
        arrays = [v for v in value if isinstance(v, (np.ndarray, np.generic))]
        value = arrays[0] if arrays else value[0]
    dtype = getattr(value, "dtype", None)
    if dtype is not None and np.issubdtype(dtype, np.inexact):
        return float(np.finfo(dtype).eps)
    return EPS64


def tolerances(result_precision: float = EPS64, reference_precision: float = EPS64, numeric: bool = False) -> tuple[float, float]:
    """(pass, confirm) relative-error tolerances for a result computed in a dtype of unit
    round-off `result_precision`, against a reference that is exact in float64 or (numeric)
    central differences of a forward computed with unit round-off `reference_precision`.

    In float64 they are PASS_TOLERANCE and CONFIRM_TOLERANCE. A float32 result carries
    round-off of a few eps32 (~1e-7); central differences of a float32 forward (step
    eps32^(1/3), see `references.numeric_jacobian`) carry ~eps32^(2/3) (~2.4e-5) of it:
    the pass tolerance sits well above that noise and a mismatch needs 20 times more."""
    noise = 64.0 * result_precision
    if numeric:
        noise = max(noise, 40.0 * reference_precision ** (2.0 / 3.0))
    passing = max(PASS_TOLERANCE, noise)
    if passing == PASS_TOLERANCE:
        return PASS_TOLERANCE, CONFIRM_TOLERANCE
    return passing, max(CONFIRM_TOLERANCE, 20.0 * passing)


@dataclass(frozen=True)
class Comparison:
    """The worst entry of got vs expected and the error measures."""

    abs_error: float
    rel_error: float
    worst_index: tuple[int, ...]
    expected: float
    got: float


def compare(got: np.ndarray, expected: np.ndarray) -> Comparison:
    """Max-norm errors; the relative error is scaled by the larger of the two
    arrays' magnitudes, so it is bounded (2 for a sign flip) and defined at 0."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    diff = np.abs(got - expected)
    if not np.all(np.isfinite(diff)):
        bad = np.argwhere(~np.isfinite(diff))[0]
        index = tuple(int(i) for i in bad)
        return Comparison(float("inf"), float("inf"), index, float(expected[index]), float(got[index]))
    flat = int(np.argmax(diff)) if diff.size else 0
    index = tuple(int(i) for i in np.unravel_index(flat, diff.shape)) if diff.size else ()
    scale = max(float(np.max(np.abs(expected), initial=0.0)), float(np.max(np.abs(got), initial=0.0)), 1e-12)
    abs_error = float(diff[index]) if diff.size else 0.0
    return Comparison(abs_error, abs_error / scale, index, float(expected[index]), float(got[index]))


def close(got: np.ndarray, candidate: np.ndarray, tolerance: float = DIAGNOSIS_TOLERANCE) -> bool:
    try:
        return compare(got, candidate).rel_error <= tolerance
    except (ValueError, IndexError):
        return False


def _factor_name(factor: float, batch: Optional[int], classes: Optional[int], tolerance: float = 1e-6) -> Optional[str]:
    named = []
    if batch:
        named += [(float(batch), f"the batch size {batch} (multiplied by it)"),
                  (1.0 / batch, f"1/{batch} (divided by the batch size {batch})")]
    named += [(2.0, "2"), (0.5, "1/2")]
    if classes:
        named += [(float(classes), f"{classes} (the entries of one sample: classes or features)"),
                  (1.0 / classes, f"1/{classes} (divided by the entries of one sample: classes or features)")]
    if batch and classes:  # a loss averaged over every entry of the batch (np.mean of an (N, n) array)
        entries = batch * classes
        named += [(float(entries), f"{entries} (the number of entries in the ({batch}, {classes}) batch: a mean over every entry?)"),
                  (1.0 / entries, f"1/{entries} (divided by the number of entries in the ({batch}, {classes}) batch)")]
    for value, name in named:
        if abs(factor - value) <= tolerance * abs(value):
            return name
    return None


def diagnose(
    got: np.ndarray,
    expected: np.ndarray,
    alternatives: Sequence[tuple[str, np.ndarray]] = (),
    batch: Optional[int] = None,
    classes: Optional[int] = None,
    tolerance: float = DIAGNOSIS_TOLERANCE,
) -> Optional[str]:
    """A short description of the mistake when the numbers show one (within `tolerance`,
    raised for code that computes in float32)."""
    tolerance = max(tolerance, DIAGNOSIS_TOLERANCE)
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return None
    for label, candidate in alternatives:
        if candidate is not None and np.shape(candidate) == got.shape and close(got, candidate, tolerance):
            return label
    norm = float(np.sum(expected * expected))
    if norm > 0:
        factor = float(np.sum(got * expected)) / norm
        if abs(factor) > 1e-12 and close(got, factor * expected, tolerance):
            slack = max(1e-6, tolerance if tolerance > DIAGNOSIS_TOLERANCE else 1e-6)
            if abs(factor + 1.0) <= slack:
                return "sign flipped: the result is the negative of the derivative"
            if factor < 0:
                name = _factor_name(-factor, batch, classes, slack)
                if name:
                    return f"sign flipped and off by a constant factor of {name}"
            name = _factor_name(factor, batch, classes, slack)
            return f"off by a constant factor of {name or format(factor, '.6g')}"
    if got.ndim >= 2 and got.shape[-1] == got.shape[-2]:
        n = got.shape[-1]
        eye = np.eye(n, dtype=bool)
        off = ~eye
        if close(got, np.swapaxes(expected, -1, -2), tolerance):
            return "transposed: the result is the Jacobian's transpose"
        diag_only = np.where(eye, expected, 0.0)
        if close(got, diag_only, tolerance):
            return "diagonal only: the off-diagonal terms of the Jacobian are lost"
        diag_ok = close(np.where(eye, got, 0.0), diag_only, tolerance)
        off_ok = close(np.where(off, got, 0.0), np.where(off, expected, 0.0), tolerance)
        if off_ok and not diag_ok:
            return "the off-diagonal entries are right but the diagonal is wrong (overwritten?)"
        if close(np.where(off, got, 0.0), -np.where(off, expected, 0.0), tolerance):
            if diag_ok:
                return "the off-diagonal entries have the wrong sign (outer product added instead of subtracted?)"
            return "the off-diagonal entries have the wrong sign and the diagonal is wrong (outer product added instead of subtracted?)"
        if diag_ok and not off_ok:
            return "the diagonal is right but the off-diagonal entries are wrong"
    return None
