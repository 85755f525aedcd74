"""Review 5 runtime fixes (rw5c fp/01, rw5b miss/12 and miss/33).

- scientific code that spells `x[1:] - x[:-1]**2` is no activation derivative, so the runtime
  never calls it on sigmoid outputs (the GL901 error on the scipy tutorial's `rosen_der`);
- a loss gradient returned beside a loss that is not the one its form says keeps no pass;
- a gradient off by exactly the entries of a sample on a batch is confirmed, not passed on (n,).
The gallery module tests/runtime_cases/review5_objectives_and_losses.py holds the verdicts.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import numpy as np
import pytest

from gradlint.analysis import ModuleAnalysis
from gradlint.api import check_paths
from gradlint.runtime.losses import _returned_scalar
from gradlint.runtime.targets import discover
from gradlint.settings import Settings

# rw5c fp/01: the scipy tutorial's gradient, `rosen` imported from scipy.optimize
ROSEN_DER = """
import numpy as np
from scipy.optimize import minimize, rosen


def rosen_der(x):
    xm = x[1:-1]
    xm_m1 = x[:-2]
    xm_p1 = x[2:]
    der = np.zeros_like(x)
    der[1:-1] = 200*(xm-xm_m1**2) - 400*(xm_p1 - xm**2)*xm - 2*(1-xm)
    der[0] = -400*x[0]*(x[1]-x[0]**2) - 2*(1-x[0])
    der[-1] = 200*(x[-1]-x[-2]**2)
    return der
"""

# the objectives, an optimiser and an ODE right-hand side the misreading made targets of (rw5c)
NOT_DERIVATIVES = """
import numpy as np


def cal_rosenbrock(x):
    return sum(100.0 * (x[1:] - x[:-1] ** 2.0) ** 2.0 + (1 - x[:-1]) ** 2.0)


def fun(x):
    return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2 + 2 * (x[1] - 1) ** 2


def gfun(x):
    return np.array([-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]), 200 * (x[1] - x[0] ** 2)])


def derivs(t, y):
    dy = np.zeros_like(y)
    dy[0] = -y[8] + y[9] * y[0]
    dy[1] = y[0] - y[1]
    return dy


def U(x, y):
    return (x ** 2 - 1) ** 2 + y ** 2


class NewtonMethod:
    def dampnm(self, x0):
        x = x0
        for _ in range(10):
            x = x - np.linalg.solve(np.eye(2), gfun(x))
        return x
"""


def _discovered(source: str) -> set[str]:
    text = textwrap.dedent(source).lstrip("\n")
    analysis = ModuleAnalysis(cst.parse_module(text), "case.py", text)
    return {t.qualname for t in discover(analysis) if t.role in ("activation", "loss")}


def test_rosenbrock_gradient_is_no_activation_target() -> None:
    assert "rosen_der" not in _discovered(ROSEN_DER)


def test_objectives_optimisers_and_ode_right_hand_sides_are_no_activation_targets() -> None:
    assert not _discovered(NOT_DERIVATIVES) & {"cal_rosenbrock", "fun", "gfun", "derivs", "U", "NewtonMethod.dampnm"}


def _runtime(tmp_path: Path, source: str):
    from gradlint.runtime import runtime_check

    path = tmp_path / "case.py"
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    settings = Settings(runtime_timeout=10.0)
    return runtime_check(check_paths([path], settings), settings)


def test_the_scipy_tutorial_gradient_gets_no_mismatch(tmp_path: Path) -> None:
    result = _runtime(tmp_path, ROSEN_DER)
    assert not [d for d in result.report.diagnostics if d.code == "GL901"]
    assert all(v.qualname != "rosen_der" or v.verdict.status != "confirmed" for v in result.verdicts)


SMOOTH_L1 = """
import numpy as np


def stable_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def smooth_l1_on_probs(scores, y):
    probs = stable_softmax(scores)
    Y_oh = np.eye(scores.shape[1])[y]
    d = probs - Y_oh
    loss = np.sum(np.where(np.abs(d) < 1, 0.5 * d ** 2, np.abs(d) - 0.5))
    dL_ds = np.where(np.abs(d) < 1, d, np.sign(d))
    return loss, dL_ds
"""


def test_a_cross_entropy_gradient_returned_with_another_loss_does_not_pass(tmp_path: Path) -> None:
    verdict = next(v for v in _runtime(tmp_path, SMOOTH_L1).verdicts if v.qualname == "smooth_l1_on_probs")
    assert verdict.status == "unknown"
    assert "the loss it returns" in (verdict.verdict.reason or "")


MEAN_OVER_ENTRIES = """
import numpy as np


class MSE:
    def forward(self, input, target):
        self.input, self.target = input, target
        return np.mean((self.input - self.target) ** 2)

    def backward(self):
        self.gradient = 2 * (self.input - self.target) / self.input.shape[0]
        return self.gradient
"""


def test_a_mean_over_every_entry_divided_by_the_batch_only_is_unknown_not_passed(tmp_path: Path) -> None:
    """Right on one sample, off by its size on a batch: whether a batch reaches it is the caller's to
    say (numpy-ml's `MSELoss.grad` is only given 1-D columns), so neither a pass nor a GL901."""
    result = _runtime(tmp_path, MEAN_OVER_ENTRIES)
    assert not [d for d in result.report.diagnostics if d.code == "GL901"]
    (verdict,) = [v for v in result.verdicts if v.qualname == "MSE.backward"]
    assert verdict.verdict.status == "unknown" and "right only for 1-D input" in (verdict.verdict.reason or "")


@pytest.mark.parametrize(
    "result, value",
    [
        ((1.5, np.zeros(3)), 1.5),
        ((np.zeros(3), np.float32(2.0)), 2.0),
        ((np.zeros(3), np.zeros(3)), None),  # no number beside it
        ((1.0, 2.0, np.zeros(3)), None),  # two numbers: which is the loss is not known
        ((True, np.zeros(3)), None),  # a flag, not a loss
        ((float("nan"), np.zeros(3)), None),
        (np.zeros(3), None),
    ],
)
def test_the_number_returned_beside_a_gradient(result, value) -> None:
    assert _returned_scalar(result) == value


def test_a_factor_of_every_entry_of_the_batch_is_named() -> None:
    """rw5b: "off by a constant factor of 15" said nothing of what 15 is (3 x 5 entries averaged)."""
    from gradlint.runtime.compare import diagnose

    expected = np.linspace(-1.0, 1.0, 15).reshape(3, 5)
    said = diagnose(15.0 * expected, expected, batch=3, classes=5) or ""
    assert "factor of 15 (the number of entries in the (3, 5) batch" in said
    assert "1/15 (divided by the number of entries" in (diagnose(expected / 15.0, expected, batch=3, classes=5) or "")
    assert "the entries of one sample" in (diagnose(5.0 * expected, expected, batch=3, classes=5) or "")


# ---- the adversarial review of the new stages (rev12b): correct code that got a GL901 ----------------
_CORRECT_AFTER_REVIEW = {
    "mse-prime-on-1d": '''
        import numpy as np

        def mse(y_true, y_pred):
            return np.mean((y_true - y_pred) ** 2)

        def mse_prime(y_true, y_pred):
            return 2 * (y_pred - y_true) / len(y_true)
        ''',
    "floored-hess": '''
        import numpy as np

        def cauchy_obj(preds, dtrain):
            r = preds - dtrain.get_label()
            c = 0.5
            grad = r / (1 + (r / c) ** 2)
            hess = (1 - (r / c) ** 2) / (1 + (r / c) ** 2) ** 2
            hess = np.maximum(hess, 1e-6)
            return grad, hess
        ''',
    "ascent-on-the-log-likelihood": '''
        import numpy as np

        def sigmoid(z):
            return 1.0 / (1.0 + np.exp(-z))

        def cost(theta, X, y):
            h = sigmoid(X @ theta)
            return -np.sum(y * np.log(h) + (1 - y) * np.log(1 - h))

        def gradient(theta, X, y):
            h = sigmoid(X @ theta)
            return X.T @ (y - h)

        def fit(X, y, lr=0.01, n=100):
            theta = np.zeros(X.shape[1])
            for _ in range(n):
                theta = theta + lr * gradient(theta, X, y)
            return theta
        ''',
    "bounded-minimize": '''
        import numpy as np
        from scipy.optimize import minimize

        counts = np.array([3.0, 0.0, 5.0, 1.0, 2.0, 4.0])

        def nll(lam):
            lam = np.maximum(lam, 1e-12)
            return np.sum(lam - counts * np.log(lam))

        def nll_grad(lam):
            lam = np.maximum(lam, 1e-12)
            return 1 - counts / lam

        res = minimize(nll, [0.1] * 6, jac=nll_grad, bounds=[(1e-6, None)] * 6, method="L-BFGS-B")
        ''',
}


@pytest.mark.parametrize("name", sorted(_CORRECT_AFTER_REVIEW))
def test_correct_code_from_the_adversarial_review_gets_no_mismatch(tmp_path: Path, name: str) -> None:
    """rev12b fp/01-03, 05: an MSE gradient divided by `len` on 1-D arrays (numpy-ml's MSELoss.grad), a
    hess floored at a small positive constant, a log-likelihood's gradient climbed beside its negative
    as a cost, a gradient guarded for the bounds `minimize` is given."""
    result = _runtime(tmp_path, _CORRECT_AFTER_REVIEW[name])
    assert not [d for d in result.report.diagnostics if d.code == "GL901"], [d.message for d in result.report.diagnostics]


def test_a_flipped_gradient_used_for_descent_is_still_confirmed(tmp_path: Path) -> None:
    """The ascent convention is read from the module's updates: `theta -= lr * gradient(...)` with the
    log-likelihood's gradient climbs the cost."""
    source = _CORRECT_AFTER_REVIEW["ascent-on-the-log-likelihood"].replace(
        "theta = theta + lr * gradient(theta, X, y)", "theta = theta - lr * gradient(theta, X, y)"
    )
    result = _runtime(tmp_path, source)
    (mismatch,) = [d for d in result.report.diagnostics if d.code == "GL901"]
    assert "sign" in mismatch.message
