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
    assert all(v.qualname != "rosen_der" or v.status != "confirmed" for v in result.verdicts)


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


def test_a_mean_over_every_entry_divided_by_the_batch_only_is_confirmed_on_a_batch(tmp_path: Path) -> None:
    result = _runtime(tmp_path, MEAN_OVER_ENTRIES)
    (mismatch,) = [d for d in result.report.diagnostics if d.code == "GL901"]
    assert mismatch.start.row == 9
    assert "constant factor of 5" in mismatch.message and "(N, n)" in mismatch.message


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
