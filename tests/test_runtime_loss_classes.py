"""Loss code carrying its own derivatives, checked for self-consistency (rw5a, rw5b).

Discovery (`loss_class_targets`, syntax only) and the trials (`loss_classes`, run here in-process
on modules built from source): a loss class's gradient against its loss, its hess against its
gradient, a boosting objective's hess against its grad, catboost's der2 against der1. The
galleries tests/runtime_cases/lossclass_*.py and boosting_*.py run the same through the sandbox.
"""

from __future__ import annotations

import textwrap
import types

import libcst as cst
import numpy as np
import pytest

from gradlint.analysis import ModuleAnalysis
from gradlint.runtime import loss_classes
from gradlint.runtime.loss_class_targets import (
    BOOSTING,
    CATBOOST,
    HESS,
    LOSS_CLASS,
    discover_boosting,
    discover_loss_classes,
)
from gradlint.runtime.targets import discover


def _analysis(source: str) -> ModuleAnalysis:
    text = textwrap.dedent(source)
    return ModuleAnalysis(cst.parse_module(text), "case.py", text)


def _roles(source: str) -> dict[str, str]:
    return {t.qualname: t.role for t in discover(_analysis(source))}


def _module(source: str) -> types.ModuleType:
    module = types.ModuleType("case")
    exec(compile(textwrap.dedent(source), "case.py", "exec"), module.__dict__)  # noqa: S102 - the test's own source
    return module


def _check(source: str, qualname: str, role: str, forward: str | None = None) -> dict:
    spec = {"qualname": qualname, "role": role, "forward": forward}
    return loss_classes.check(_module("import numpy as np\nimport math\n" + textwrap.dedent(source)), spec, np.random.default_rng(3))


LOSS_CLASSES = """
import numpy as np

class Loss:
    def loss(self, y_true, y_pred):
        raise NotImplementedError()

    def gradient(self, y, y_pred):
        raise NotImplementedError()

    def hess(self, y, y_pred):
        raise NotImplementedError()

class CrossEntropy(Loss):
    def loss(self, y, p):
        return -y * np.log(p) - (1 - y) * np.log(1 - p)

    def gradient(self, y, p):
        return -(y / p) + (1 - y) / (1 - p)

    def hess(self, y, p):
        return y / p ** 2 + (1 - y) / (1 - p) ** 2

class Penalty:
    def __init__(self, alpha):
        self.alpha = alpha

    def __call__(self, w):
        return self.alpha * 0.5 * w.dot(w)

    def grad(self, w):
        return self.alpha * w

class Dense:
    def forward(self, x):
        self.x = x
        return x * 2

    def backward(self, dout):
        return dout * 2

class Weird:
    def forward(self, a, b):
        return a * b

    def backward(self, a, b):
        return b

class Net:
    def loss(self, x, y):
        return self.loss_function(x, y)

    def backward(self):
        back = self.loss_function.backward()
        for layer in reversed(self.layers):
            back = layer.backward(back)
        return back

class SmoothL1:
    def forward(self, input, target):
        self.input, self.target = input, target
        return np.mean(np.abs(input - target))

    def backward(self):
        return np.sign(self.input - self.target)
"""


def test_discovery_of_loss_classes() -> None:
    roles = _roles(LOSS_CLASSES)
    assert roles.get("CrossEntropy.gradient") == LOSS_CLASS
    assert roles.get("CrossEntropy.hess") == HESS
    assert roles.get("Penalty.grad") == LOSS_CLASS
    assert roles.get("SmoothL1.backward") == LOSS_CLASS
    assert "Net.backward" not in roles  # a model's backward chains other backwards: not its loss's gradient
    assert "Loss.gradient" not in roles and "Loss.hess" not in roles  # abstract placeholders
    assert roles.get("Dense.backward") != LOSS_CLASS  # a layer: backward takes the upstream gradient
    assert "Weird.backward" not in roles or roles["Weird.backward"] != LOSS_CLASS  # (a, b): no prediction told apart
    targets = {t.qualname: t for t in discover(_analysis(LOSS_CLASSES))}
    assert targets["CrossEntropy.gradient"].forward == "CrossEntropy.loss"
    assert targets["CrossEntropy.hess"].forward == "CrossEntropy.gradient"
    assert "its own loss" in targets["CrossEntropy.gradient"].reference()


OBJECTIVES = """
import numpy as np

def logloss_obj(preds, dtrain):
    labels = dtrain.get_label()
    p = 1.0 / (1.0 + np.exp(-preds))
    grad = p - labels
    hess = p * (1.0 - p)
    return grad, hess

def wmae_eval(preds, dtrain):
    label = dtrain.get_label()
    return 'wmae', np.sum(np.abs(preds - label)) / np.sum(label)

def make_pair(preds, dtrain):
    return preds, dtrain

def loglikelihood(preds, dtrain):
    p = 1.0 / (1.0 + np.exp(-preds))
    grad = p - dtrain
    hess = p * (1.0 - p)
    return grad, hess

def pair_of(preds, labels):
    g = preds - labels
    h = preds * labels
    return g, h

class Objective:
    def calc_ders_range(self, approxes, targets, weights):
        return [(t - a, -1.0) for a, t in zip(approxes, targets)]

def mse(y, p):
    return (y - p) ** 2

def mse_grad(y, p):
    return 2 * (p - y)
"""


def test_discovery_of_boosting_objectives() -> None:
    analysis = _analysis(OBJECTIVES)
    found = {t.qualname: t.role for t in discover_boosting(analysis, set())}
    # `return grad, hess` needs no objective's name; `return g, h` does
    assert found == {"logloss_obj": BOOSTING, "loglikelihood": BOOSTING, "Objective.calc_ders_range": CATBOOST}
    roles = _roles(OBJECTIVES)
    assert roles["logloss_obj"] == BOOSTING  # ahead of the loss-gradient stages (p - labels)
    assert "wmae_eval" not in roles and "make_pair" not in roles
    # `mse` / `mse_grad` is the name-pairing stage's (a loss paired by name, stage 3): kept there
    assert roles["mse_grad"] == "loss"
    assert discover_loss_classes(analysis, set(roles)) == []
    assert [t.qualname for t in discover_loss_classes(analysis, set())] == ["mse_grad"]


def test_gradient_against_its_loss_passes_and_slips_are_confirmed() -> None:
    right = _check(LOSS_CLASSES, "CrossEntropy.gradient", LOSS_CLASS, "CrossEntropy.loss")
    assert right["status"] == "passed", right
    slip = _check(LOSS_CLASSES.replace("return -(y / p) + (1 - y) / (1 - p)", "return (y / p) + (1 - y) / (1 - p)"),
                  "CrossEntropy.gradient", LOSS_CLASS, "CrossEntropy.loss")
    assert slip["status"] == "confirmed", slip
    assert "the derivative of each entry's loss" in slip["convention"]


def test_opposite_sign_is_unknown_never_a_mismatch() -> None:
    flipped = _check(LOSS_CLASSES.replace("return -(y / p) + (1 - y) / (1 - p)", "return (y / p) - (1 - y) / (1 - p)"),
                     "CrossEntropy.gradient", LOSS_CLASS, "CrossEntropy.loss")
    assert flipped["status"] == "unknown" and "opposite sign" in flipped["reason"]


def test_per_sample_gradient_of_a_mean_passes_but_a_class_count_factor_does_not() -> None:
    source = """
    class MSE:
        def loss(self, y, y_pred):
            return np.mean((y - y_pred) ** 2)

        def gradient(self, y, y_pred):
            return 2 * (y_pred - y) {SCALE}
    """
    assert _check(source.replace("{SCALE}", ""), "MSE.gradient", LOSS_CLASS, "MSE.loss")["status"] == "passed"
    assert _check(source.replace("{SCALE}", "/ y.size"), "MSE.gradient", LOSS_CLASS, "MSE.loss")["status"] == "passed"
    half = _check(source.replace("{SCALE}", "/ 2 / y.size"), "MSE.gradient", LOSS_CLASS, "MSE.loss")
    assert half["status"] == "unknown" and "0.5 times" in half["reason"], half  # a scale is a convention
    wrong = _check(source.replace("2 * (y_pred - y) {SCALE}", "2 * (y_pred - y) ** 2"), "MSE.gradient", LOSS_CLASS, "MSE.loss")
    assert wrong["status"] == "confirmed", wrong


def test_fused_gradient_and_hess_in_terms_of_probabilities_pass() -> None:
    source = """
    class Logistic:
        def loss(self, y, p):
            return -(y * np.log(p) + (1 - y) * np.log(1 - p))

        def gradient(self, y, p):
            return p - y

        def hess(self, y, p):
            return p * (1 - p)
    """
    assert _check(source, "Logistic.gradient", LOSS_CLASS, "Logistic.loss")["status"] == "passed"
    assert _check(source, "Logistic.hess", HESS, "Logistic.gradient")["status"] == "passed"


def test_hess_with_the_wrong_sign_is_confirmed() -> None:
    wrong = _check(LOSS_CLASSES.replace("return y / p ** 2 + (1 - y) / (1 - p) ** 2", "return -y / p ** 2 - (1 - y) / (1 - p) ** 2"),
                   "CrossEntropy.hess", HESS, "CrossEntropy.gradient")
    assert wrong["status"] == "confirmed" and "sign flipped" in wrong["diagnosis"], wrong
    assert _check(LOSS_CLASSES, "CrossEntropy.hess", HESS, "CrossEntropy.gradient")["status"] == "passed"
    # a `gradient` returning the residual (the negative gradient) beside a non-negative hess: not reported
    residual = """
    class Residual:
        def gradient(self, y, y_pred):
            return y - 1 / (1 + np.exp(-y_pred))

        def hess(self, y, y_pred):
            p = 1 / (1 + np.exp(-y_pred))
            return p * (1 - p)
    """
    verdict = _check(residual, "Residual.hess", HESS, "Residual.gradient")
    assert verdict["status"] == "unknown" and "residual" in verdict["reason"], verdict


def test_penalty_value_and_gradient_of_different_norms_is_confirmed() -> None:
    assert _check(LOSS_CLASSES, "Penalty.grad", LOSS_CLASS, "Penalty.__call__")["status"] == "passed"
    l1 = _check(LOSS_CLASSES.replace("self.alpha * 0.5 * w.dot(w)", "self.alpha * np.linalg.norm(w)").replace(
        "return self.alpha * w", "return self.alpha * np.sign(w)"), "Penalty.grad", LOSS_CLASS, "Penalty.__call__")
    assert l1["status"] == "confirmed" and "the gradient of an L1 norm" in l1["diagnosis"], l1


def test_a_one_point_pair_whose_loss_is_not_a_scalar_is_unknown() -> None:
    source = """
    class Tanhish:
        def __call__(self, x):
            return np.tanh(x)

        def gradient(self, x):
            return np.ones_like(x)
    """
    verdict = _check(source, "Tanhish.gradient", LOSS_CLASS, "Tanhish.__call__")
    assert verdict["status"] == "unknown" and "not a scalar" in verdict["reason"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("d = preds - dtrain.get_label()\n    grad = d / np.sqrt(1 + d ** 2)\n    hess = 1 / (1 + d ** 2) ** 1.5", "passed"),
        ("d = dtrain - preds\n    grad = d / np.sqrt(1 + d ** 2)\n    hess = 1 / (1 + d ** 2) ** 1.5", "passed"),  # sklearn order
        ("d = preds - dtrain.get_label()\n    grad = d / np.sqrt(1 + d ** 2)\n    hess = -1 / (1 + d ** 2) ** 1.5", "confirmed"),
        ("d = preds - dtrain.get_label()\n    grad = np.sign(d)\n    hess = np.ones_like(d)", "unknown"),  # flat grad
        ("d = preds - dtrain.get_label()\n    grad = np.tanh(d)\n    hess = np.ones_like(d)", "unknown"),  # constant hess
    ],
)
def test_boosting_objective(body: str, status: str) -> None:
    source = f"def obj(preds, dtrain):\n    {body}\n    return grad, hess\n"
    verdict = _check(source, "obj", BOOSTING)
    assert verdict["status"] == status, verdict


def test_two_arrays_need_both_orderings_wrong() -> None:
    # symmetric in the residual: a hess of the wrong sign fits the other ordering, so no report
    source = "def obj(preds, labels):\n    d = preds - labels\n    grad = d\n    hess = -np.ones_like(d) * 1.0\n    return grad, hess\n"
    assert _check(source, "obj", BOOSTING)["status"] != "confirmed"
    # labels read as class indices: the grad does not depend on them, that ordering is out
    source = """
    def obj(y_true, y_pred):
        target = np.eye(3)[y_true.astype(int)]
        z = y_pred.reshape(len(y_true), 3)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        grad = p - target
        hess = p * (1 - p) ** 2
        return grad.ravel(), hess.ravel()
    """
    assert _check(source, "obj", BOOSTING)["status"] == "confirmed"
    assert _check(source.replace("(1 - p) ** 2", "(1 - p)"), "obj", BOOSTING)["status"] == "passed"
    # LightGBM's multi-class hess is K/(K-1) p (1 - p): a positive multiple, a convention
    lightgbm = _check(source.replace("(1 - p) ** 2", "(1 - p) * 3 / 2"), "obj", BOOSTING)
    assert lightgbm["status"] == "passed" and "times 1.5" in lightgbm["convention"], lightgbm


def test_catboost_der2_against_der1() -> None:
    right = """
    class Logloss:
        def calc_ders_range(self, approxes, targets, weights):
            result = []
            for index in range(len(targets)):
                p = 1 / (1 + math.exp(-approxes[index]))
                result.append((targets[index] - p, -p * (1 - p)))
            return result
    """
    assert _check(right, "Logloss.calc_ders_range", CATBOOST)["status"] == "passed"
    wrong = right.replace("-p * (1 - p)", "p * (1 - p)")
    verdict = _check(wrong, "Logloss.calc_ders_range", CATBOOST)
    assert verdict["status"] == "confirmed" and "sign flipped" in verdict["diagnosis"], verdict
    surrogate = right.replace("-p * (1 - p)", "-1.0")
    assert _check(surrogate, "Logloss.calc_ders_range", CATBOOST)["status"] == "unknown"
