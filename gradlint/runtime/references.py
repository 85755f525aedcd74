"""Reference forwards and their exact derivatives (numpy, float64).

Runs inside the sandboxed worker. An *activation* maps an array to an array
of the same shape, normalising along the last axis (`axis=-1`) for a batch of
rows, or along axis 0 for a column (n, 1). A *loss* maps predictions and
targets to a scalar. Derivatives here are the truth the user's code is
compared against; central differences (`numeric_jacobian`) cover forwards
that are not recognised.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

EPS = np.finfo(np.float64).eps

# Forward kinds with an analytic reference (the names of the shared semantic
# model's ForwardKind values, lower-case).
ELEMENTWISE = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity")
NORMALISED = ("softmax", "log_softmax")
ACTIVATIONS = ELEMENTWISE + NORMALISED
LOSSES = ("cross_entropy", "binary_cross_entropy", "mse", "softmax_cross_entropy", "sigmoid_binary_cross_entropy")


def _axis(x: np.ndarray) -> int:
    """The class axis: the last one, except for a column (n, 1)."""
    if x.ndim == 2 and x.shape[1] == 1 and x.shape[0] > 1:
        return 0
    return -1


def activation_forward(kind: str, x: np.ndarray, slope: float = 0.01) -> np.ndarray:
    if kind == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if kind == "tanh":
        return np.tanh(x)
    if kind == "relu":
        return np.maximum(x, 0.0)
    if kind == "leaky_relu":
        return np.where(x > 0, x, slope * x)
    if kind == "softplus":
        return np.logaddexp(0.0, x)
    if kind == "identity":
        return x.copy()
    axis = _axis(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    if kind == "softmax":
        e = np.exp(shifted)
        return e / np.sum(e, axis=axis, keepdims=True)
    if kind == "log_softmax":
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    raise KeyError(kind)


def elementwise_derivative(kind: str, x: np.ndarray, slope: float = 0.01) -> np.ndarray:
    """f'(x) for an elementwise forward, as a function of the pre-activation."""
    if kind == "sigmoid":
        s = activation_forward("sigmoid", x)
        return s * (1.0 - s)
    if kind == "tanh":
        return 1.0 - np.tanh(x) ** 2
    if kind == "relu":
        return (x > 0).astype(np.float64)
    if kind == "leaky_relu":
        return np.where(x > 0, 1.0, slope)
    if kind == "softplus":
        return activation_forward("sigmoid", x)
    if kind == "identity":
        return np.ones_like(x)
    raise KeyError(kind)


def derivative_from_activation(kind: str, s: np.ndarray, slope: float = 0.01) -> Optional[np.ndarray]:
    """The activation-convention formula g(s) = f'(f^-1(s)) (None when there is none).

    Evaluating it at a pre-activation instead of an activation is the
    "pre-activation fed to an activation-convention derivative" mistake."""
    if kind == "sigmoid":
        return s * (1.0 - s)
    if kind == "tanh":
        return 1.0 - s**2
    if kind == "relu":
        return (s > 0).astype(np.float64)
    if kind == "leaky_relu":
        return np.where(s > 0, 1.0, slope)
    if kind == "softplus":
        return 1.0 - np.exp(-s)
    return None


def jacobian_blocks(kind: str, x: np.ndarray, slope: float = 0.01) -> np.ndarray:
    """Per-sample Jacobians of an activation: (n, n) for a vector or column,
    (N, n, n) for a batch of rows; entry [.., i, j] = d out_i / d in_j."""
    column = x.ndim == 2 and _axis(x) == 0
    rows = x.reshape(1, -1) if (x.ndim == 1 or column) else x.reshape(-1, x.shape[-1])
    if kind in ELEMENTWISE:
        d = elementwise_derivative(kind, rows, slope)
        blocks = np.einsum("bi,ij->bij", d, np.eye(rows.shape[1]))
    elif kind == "softmax":
        s = activation_forward("softmax", rows)
        blocks = np.einsum("bi,ij->bij", s, np.eye(rows.shape[1])) - np.einsum("bi,bj->bij", s, s)
    elif kind == "log_softmax":
        s = activation_forward("softmax", rows)
        blocks = np.eye(rows.shape[1])[None, :, :] - s[:, None, :]
    else:
        raise KeyError(kind)
    return blocks[0] if (x.ndim == 1 or column) else blocks


def activation_jacobian(kind: str, x: np.ndarray, slope: float = 0.01) -> np.ndarray:
    """The full Jacobian of the flattened output w.r.t. the flattened input (m, m)."""
    blocks = jacobian_blocks(kind, x, slope)
    if blocks.ndim == 2:
        return blocks
    count, n, _ = blocks.shape
    full = np.zeros((count * n, count * n))
    for b in range(count):
        full[b * n : (b + 1) * n, b * n : (b + 1) * n] = blocks[b]
    return full


def _onehot(y: np.ndarray, like: np.ndarray) -> np.ndarray:
    if y.shape == like.shape:
        return y
    onehot = np.zeros_like(like)
    if like.ndim == 1:
        onehot[int(y)] = 1.0
    else:
        onehot[np.arange(like.shape[0]), y.astype(int)] = 1.0
    return onehot


def loss_value(kind: str, p: np.ndarray, y: np.ndarray) -> float:
    """The summed loss (callers divide for a mean)."""
    t = _onehot(y, p)
    if kind == "cross_entropy":
        return float(-np.sum(t * np.log(p)))
    if kind == "binary_cross_entropy":
        return float(-np.sum(t * np.log(p) + (1 - t) * np.log(1 - p)))
    if kind == "mse":
        return float(np.sum((p - t) ** 2))
    if kind == "softmax_cross_entropy":
        return float(-np.sum(t * activation_forward("log_softmax", p)))
    if kind == "sigmoid_binary_cross_entropy":
        s = activation_forward("sigmoid", p)
        return float(-np.sum(t * np.log(s) + (1 - t) * np.log(1 - s)))
    raise KeyError(kind)


def loss_gradient(kind: str, p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d(summed loss)/d(first argument)."""
    t = _onehot(y, p)
    if kind == "cross_entropy":
        return -t / p
    if kind == "binary_cross_entropy":
        return (p - t) / (p * (1 - p))
    if kind == "mse":
        return 2.0 * (p - t)
    if kind == "softmax_cross_entropy":
        return activation_forward("softmax", p) - t
    if kind == "sigmoid_binary_cross_entropy":
        return activation_forward("sigmoid", p) - t
    raise KeyError(kind)


def _steps(x: np.ndarray, precision: float = EPS) -> np.ndarray:
    return max(precision, EPS) ** (1.0 / 3.0) * np.maximum(1.0, np.abs(x))


def numeric_jacobian(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, richardson: bool = False, precision: float = EPS
) -> np.ndarray:
    """Central differences of `f` at `x`: (size of f(x), size of x), float64.

    `precision` is the unit round-off of the dtype `f` computes in: the step
    precision^(1/3) balances its round-off against the h^2 truncation error
    (the error is then ~precision^(2/3): ~4e-11 in float64, ~2e-5 in float32).
    With `richardson`, combines steps h and h/2 ((4 D(h/2) - D(h)) / 3), which
    cancels the h^2 error term."""
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1)
    steps = _steps(flat, precision)
    base = np.asarray(f(x.copy()), dtype=np.float64).reshape(-1)
    jac = np.zeros((base.size, flat.size))

    def difference(k: int, h: float) -> np.ndarray:
        plus, minus = flat.copy(), flat.copy()
        plus[k] += h
        minus[k] -= h
        up = np.asarray(f(plus.reshape(x.shape)), dtype=np.float64).reshape(-1)
        down = np.asarray(f(minus.reshape(x.shape)), dtype=np.float64).reshape(-1)
        return (up - down) / (2.0 * h)

    for k in range(flat.size):
        h = steps[k]
        coarse = difference(k, h)
        jac[:, k] = (4.0 * difference(k, h / 2.0) - coarse) / 3.0 if richardson else coarse
    return jac


def effective_precision(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, precision: float = EPS) -> float:
    """The unit round-off `f` really computes with, at least `precision`: a float64 result
    can hide float32 arithmetic inside (`x / (1 + np.exp(-x, dtype=np.float32))`).

    Central differences at steps h and 2h agree to ~h^2 for a smooth f computed in
    `precision`; round-off e makes them differ by ~e / h, so e is estimated from that
    difference (with a safety factor of 4), when it exceeds what `precision` explains."""
    base = numeric_jacobian(f, x, precision=precision)
    doubled = numeric_jacobian(f, x, precision=precision * 8.0)  # the step h * 2
    scale = float(np.max(np.abs(base), initial=0.0))
    if scale == 0.0 or not np.all(np.isfinite(base)) or not np.all(np.isfinite(doubled)):
        return precision
    noise = float(np.max(np.abs(base - doubled))) / scale
    if noise <= 1e-6:
        return precision  # smooth to ~h^2: nothing hidden
    step = max(precision, EPS) ** (1.0 / 3.0)
    return max(precision, min(4.0 * noise * step, 1e-2))
