"""The runtime checker on `loss, dW = f(W, X, y, reg)` (CS231n): dW against the function's own loss.

Correct softmax and SVM losses (loops and vectorised, row and column layouts, Python 2
era code) must pass; the course's real slips (reg*W for reg*sum(W*W), a missing /N, a
sign error, no regularisation in dW, dW never computed) must be confirmed with what
differs; functions of that signature that are not (loss, dW) must be unknown or skipped.
"""

from __future__ import annotations

import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

from gradlint.runtime import check_module, mismatch_message
from gradlint.settings import Settings

HEADER = "import numpy as np\n"

SOFTMAX_NAIVE = '''
def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    num_classes = W.shape[1]
    for i in range(num_train):
        scores = X[i].dot(W)
        scores -= np.max(scores)
        probs = np.exp(scores) / np.sum(np.exp(scores))
        loss += -np.log(probs[y[i]])
        for j in range(num_classes):
            dW[:, j] += (probs[j] - (j == y[i])) * X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += {REG_GRADIENT}
    return loss, dW
'''

SOFTMAX_VECTORIZED = '''
def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(num_train), y])) / num_train + 0.5 * reg * np.sum(W * W)
    dscores = probs.copy()
    dscores[np.arange(num_train), y] -= 1
    dW = X.T.dot(dscores) / num_train + reg * W
    return loss, dW
'''

SVM_NAIVE = '''
def svm_loss_naive(W, X, y, reg):
    dW = np.zeros(W.shape)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    {DATA_SCALE}
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return loss, {RETURNED}
'''

SVM_VECTORIZED = '''
def svm_loss_vectorized(W, X, y, reg=1e-3):
    num_train = X.shape[0]
    scores = X.dot(W)
    correct = scores[np.arange(num_train), y][:, None]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(num_train), y] = 0
    loss = np.sum(margins) / num_train + reg * np.sum(W * W)
    mask = (margins > 0).astype(float)
    mask[np.arange(num_train), y] = -np.sum(mask, axis=1)
    dW = X.T.dot(mask) / num_train + 2 * reg * W
    return loss, dW
'''

# CS231n 2015: W is (C, D), X is (D, N); Python 2 era imports.
SOFTMAX_COLUMNS = '''
from past.builtins import xrange


def softmax_loss_columns(W, X, y, reg):
    num_train = X.shape[1]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in xrange(num_train):
        scores = W.dot(X[:, i])
        scores -= np.max(scores)
        probs = np.exp(scores) / np.sum(np.exp(scores))
        loss -= np.log(probs[y[i]])
        probs[y[i]] -= 1
        dW += np.outer(probs, X[:, i])
    return loss / num_train + 0.5 * reg * np.sum(W * W), dW / num_train + reg * W


def softmax_loss_bare_xrange(W, X_batch, y_batch, reg):
    loss = 0.0
    dW = np.zeros_like(W)
    for i in xrange(X_batch.shape[0]):
        scores = X_batch[i].dot(W)
        probs = np.exp(scores) / np.sum(np.exp(scores))
        loss -= np.log(probs[y_batch[i]])
        probs[y_batch[i]] -= 1
        dW += np.outer(X_batch[i], probs)
    return loss / X_batch.shape[0] + reg * np.sum(W * W), dW / X_batch.shape[0] + 2 * reg * W
'''

NOT_LOSSES = '''
def predict_scores(W, X, y, reg):
    return X.dot(W), None


def svm_loss_template(W, X, y, reg):
    loss = 0.0
    dW = np.zeros(W.shape)
    pass
    return loss, dW


def softmax_loss_and_scores(W, X, y, reg):
    scores = X.dot(W)
    return np.sum(scores ** 2), scores


def svm_loss_broken(W, X, y, reg):
    scores = X.dot(W.T)
    return np.sum(scores), scores


def dropout_loss(W, X, y, reg):
    keep = np.random.rand(*X.shape) < 0.5
    scores = (X * keep).dot(W)
    return np.sum(scores ** 2) + reg * np.sum(W * W), 2 * reg * W


def train_step_loss(W, X, y, reg):
    loss, dW = np.sum(X.dot(W) ** 2), 2 * X.T.dot(X.dot(W))
    W = W - 0.1 * dW
    return loss, W
'''


def _module(tmp_path: Path, name: str, *parts: str) -> dict[str, tuple]:
    source = HEADER + "\n".join(textwrap.dedent(part) for part in parts)
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    targets, verdicts = check_module(source, str(path), Settings(runtime_timeout=20.0))
    return {t.qualname: (t, verdicts[t.ident]) for t in targets if t.ident in verdicts}


def test_correct_softmax_and_svm_losses_pass(tmp_path: Path) -> None:
    got = _module(
        tmp_path, "correct",
        SOFTMAX_NAIVE.replace("{REG_GRADIENT}", "2 * reg * W"),
        SOFTMAX_VECTORIZED,
        SVM_NAIVE.replace("{DATA_SCALE}", "dW /= num_train").replace("{RETURNED}", "dW"),
        SVM_VECTORIZED,
    )
    assert set(got) == {"softmax_loss_naive", "softmax_loss_vectorized", "svm_loss_naive", "svm_loss_vectorized"}
    for name, (target, verdict) in got.items():
        assert target.role == "self_gradient", name
        assert verdict.status == "passed", (name, verdict)
        assert "reg=0.25" in verdict.convention and "W (6, 4), X (9, 6)" in verdict.convention, verdict.convention
        assert verdict.rel_error < 1e-7


def test_column_layout_and_python2_names_pass(tmp_path: Path) -> None:
    got = _module(tmp_path, "columns", SOFTMAX_COLUMNS)
    assert got["softmax_loss_columns"][1].status == "passed", got["softmax_loss_columns"][1]
    assert "W (4, 6), X (6, 9)" in got["softmax_loss_columns"][1].convention
    assert got["softmax_loss_bare_xrange"][1].status == "passed", got["softmax_loss_bare_xrange"][1]


BUGGY = {
    # the loss adds reg*sum(W*W), the gradient reg*W (miss/11: Acudogon, AnasHarby, AMOHYZ, 500swapnil)
    "reg_w": (SOFTMAX_NAIVE.replace("{REG_GRADIENT}", "reg * W"),
              "the gradient's regularisation term is reg*W, but the loss adds reg*sum(W*W), whose gradient is 2*reg*W"),
    "no_reg": (SOFTMAX_NAIVE.replace("{REG_GRADIENT}", "0"),
               "the gradient has no regularisation term, but the loss adds reg*sum(W*W), whose gradient is 2*reg*W"),
    "missing_n": (SVM_NAIVE.replace("{DATA_SCALE}", "pass").replace("{RETURNED}", "dW"),
                  "at reg = 0, off by a constant factor of the batch size 9 (multiplied by it) (the data term is not divided"),
    "sign": (SVM_NAIVE.replace("{DATA_SCALE}", "dW /= num_train").replace("{RETURNED}", "-dW"),
             "at reg = 0, sign flipped"),
    "zeros": (SVM_NAIVE.replace("{DATA_SCALE}", "dW /= num_train").replace("{RETURNED}", "0 * dW"),
              "dW is all zeros at reg = 0"),
}


@pytest.mark.parametrize("case", sorted(BUGGY))
def test_wrong_gradients_are_confirmed_with_what_differs(tmp_path: Path, case: str) -> None:
    source, diagnosis = BUGGY[case]
    got = _module(tmp_path, case, source)
    assert len(got) == 1
    target, verdict = next(iter(got.values()))
    assert verdict.status == "confirmed", verdict
    assert diagnosis in (verdict.diagnosis or ""), verdict.diagnosis
    message = mismatch_message(target, verdict)
    assert "disagrees with central differences of the loss it returns" in message, message


def test_the_sign_error_keeps_the_regularisation_right(tmp_path: Path) -> None:
    """-dW flips the regularisation term too: both halves are named."""
    got = _module(tmp_path, "sign_both", BUGGY["sign"][0])
    diagnosis = next(iter(got.values()))[1].diagnosis or ""
    assert "sign flipped" in diagnosis and "-2*reg*W" in diagnosis, diagnosis


def test_functions_that_are_not_losses_are_unknown_or_skipped(tmp_path: Path) -> None:
    got = _module(tmp_path, "not_losses", NOT_LOSSES)
    assert "predict_scores" not in got  # neither named as a loss nor returning a gradient's name
    assert "train_step_loss" not in got  # returns W itself second
    expected = {
        "svm_loss_template": "does not change with W",
        "softmax_loss_and_scores": "not W's",
        "svm_loss_broken": "it raised ValueError",
        "dropout_loss": "changes between two calls",
    }
    for name, reason in expected.items():
        verdict = got[name][1]
        assert verdict.status == "unknown", (name, verdict)
        assert reason in (verdict.reason or ""), (name, verdict.reason)


# -- the trial's pieces, in process -------------------------------------------------


def test_a_kink_between_the_sample_points_is_left_out() -> None:
    from gradlint.runtime.self_gradients import _central

    kink_at = np.array([[0.3, -0.2], [0.5, 0.1]])

    def hinge(w: np.ndarray) -> float:
        return float(np.sum(np.abs(w - kink_at)) + np.sum(w * w))

    w = kink_at.copy()
    w[0, 0] += 1e-7  # within the step of the kink
    w[1, 1] += 0.4
    grad, kinks, rough = _central(hinge, w, float(np.finfo(np.float64).eps))
    assert kinks.tolist() == [[True, True], [True, False]]  # w[0, 1] and w[1, 0] sit exactly on theirs
    assert abs(grad[1, 1] - (1.0 + 2 * w[1, 1])) < 1e-7
    assert rough < 1e-9  # off the kinks, the differences at h and 2h agree


def _mixed_seed(condition) -> int:
    """A worker seed whose three draws disagree on `condition(W)`."""
    from gradlint.runtime import self_gradients as sg

    for seed in range(200):
        first = int(np.random.default_rng(seed).integers(0, 2**31))
        signs = {condition(sg._inputs(np.random.default_rng(first + i), "rows")[0]) for i in range(sg.SEEDS)}
        if len(signs) == 2:
            return seed
    raise AssertionError("no mixed seed")


def test_a_mismatch_on_some_draws_only_is_not_reported() -> None:
    from gradlint.runtime import self_gradients as sg

    def sometimes_wrong_loss(W, X, y, reg):
        loss = np.sum((X.dot(W)) ** 2) / X.shape[0] + reg * np.sum(W * W)
        dW = 2 * X.T.dot(X.dot(W)) / X.shape[0] + 2 * reg * W
        return loss, (dW * 1.5 if W[0, 0] > 0 else dW)

    module = types.ModuleType("user")
    module.sometimes_wrong_loss = sometimes_wrong_loss
    seed = _mixed_seed(lambda w: bool(w[0, 0] > 0))
    record = sg.check(module, {"qualname": "sometimes_wrong_loss"}, np.random.default_rng(seed))
    assert record["status"] == "unknown", record
    assert "not consistent enough to report" in record["reason"]


def test_the_regularisation_diagnosis_reads_the_loss_coefficient() -> None:
    from gradlint.runtime.self_gradients import _regularisation_diagnosis

    rng = np.random.default_rng(3)
    W = rng.normal(size=(6, 4))
    data = rng.normal(size=(6, 4))
    reg = 0.25
    half = {"W": W, "reg": reg, "loss_0": 1.0, "loss_reg": 1.0 + 0.5 * reg * np.sum(W * W),
            "got_0": data, "expected_0": data, "expected_reg": data + reg * W}
    assert _regularisation_diagnosis({**half, "got_reg": data + reg * W}) is None  # 0.5*reg*sum(W*W) and reg*W: right
    said = _regularisation_diagnosis({**half, "got_reg": data + 2 * reg * W})
    assert said == ("the gradient's regularisation term is 2*reg*W, but the loss adds 0.5*reg*sum(W*W), "
                    "whose gradient is reg*W (off by reg*W)")


FLOAT32_INSIDE = '''
def softmax_loss_float32(W, X, y, reg):
    W32, X32 = W.astype(np.float32), X.astype(np.float32)
    scores = X32.dot(W32)
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    n = X.shape[0]
    loss = -np.sum(np.log(probs[np.arange(n), y])) / n + reg * np.sum(W32 * W32)
    probs[np.arange(n), y] -= 1
    dW = X32.T.dot(probs) / n + 2 * reg * W32
    return float(loss), dW.astype(np.float64)


def softmax_loss_float32_reg_w(W, X, y, reg):
    loss, dW = softmax_loss_float32(W, X, y, reg)
    return loss, dW - reg * W
'''


def test_a_loss_computed_in_float32_inside_is_judged_at_its_precision(tmp_path: Path) -> None:
    """The returned loss is a Python float, but its round-off is float32's: the reference is
    taken at float32's step and tolerance (never a mismatch for a right gradient)."""
    got = _module(tmp_path, "float32", FLOAT32_INSIDE)
    assert got["softmax_loss_float32"][1].status == "passed", got["softmax_loss_float32"][1]
    wrong = got["softmax_loss_float32_reg_w"][1]
    assert wrong.status == "confirmed", wrong


L1_LOSS = '''
def lasso_loss(W, X, y, reg):
    residual = X.dot(W) - np.eye(W.shape[1])[y]
    loss = 0.5 * np.sum(residual ** 2) / X.shape[0] + reg * np.sum(np.abs(W))
    dW = X.T.dot(residual) / X.shape[0] + reg * np.sign(W) + 0.5 * reg * W
    return loss, dW
'''


def test_a_regularisation_slip_that_is_not_l2_is_named_by_its_residual(tmp_path: Path) -> None:
    """reg * sum(|W|) in the loss (not L2: no coefficient to read) and a stray 0.5 * reg * W in dW."""
    verdict = _module(tmp_path, "lasso", L1_LOSS)["lasso_loss"][1]
    assert verdict.status == "confirmed", verdict
    assert verdict.diagnosis == "right at reg = 0: the regularisation term of the gradient does not match the loss's (off by 0.5*reg*W)"


# -- loss, dx = f(x, y): CS231n's layers.softmax_loss / svm_loss ---------------------------------

SCORE_LOSSES = '''
def svm_loss(x, y):
    N = x.shape[0]
    correct_class_scores = x[np.arange(N), y]
    margins = np.maximum(0, x - correct_class_scores[:, np.newaxis] + 1.0)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    num_pos = np.sum(margins > 0, axis=1)
    dx = np.zeros_like(x)
    dx[margins > 0] = 1
    dx[np.arange(N), y] -= num_pos
    dx /= N
    return loss, dx


def softmax_loss(x, y):
    shifted_logits = x - np.max(x, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
    log_probs = shifted_logits - np.log(Z)
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


def l2_loss(x, y):
    diff = x - y  # one-hot or real targets of x's shape
    dx = diff / x.shape[0]
    return 0.5 * np.sum(diff * diff) / x.shape[0], dx


def softmax_loss_block(x, y):
    # xs2445/CNN-PyCUDA-EECS4750-Project utils/Lossfunctions.py: x[:, y] is an N x N block
    num_train = x.shape[0]
    x = x - np.max(x, axis=1, keepdims=True)
    x_exp = np.exp(x)
    loss = -np.sum(x[:, y]) + np.sum(np.log(np.sum(x_exp, axis=1)))
    loss /= num_train
    neg = np.zeros_like(x)
    neg[range(num_train), y] = -1
    dx = (neg + x_exp / np.sum(x_exp, axis=1, keepdims=True)) / num_train
    return loss, dx


def softmax_loss_sum(x, y):
    N = x.shape[0]
    probs = np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    return loss, dx


def softmax_loss_and_probs(x, y):
    probs = np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)
    return -np.mean(np.log(probs[np.arange(x.shape[0]), y])), probs
'''


def test_score_losses_are_checked_against_their_own_loss(tmp_path: Path) -> None:
    got = _module(tmp_path, "score_losses", SCORE_LOSSES)
    assert "softmax_loss_and_probs" not in got  # its second result is not named as the gradient
    for name in ("svm_loss", "softmax_loss", "l2_loss"):
        target, verdict = got[name]
        assert target.role == "self_gradient_x" and verdict.status == "passed", (name, verdict)
    assert "one-hot targets y (9, 4)" in got["l2_loss"][1].convention
    assert "integer labels y (9,)" in got["softmax_loss"][1].convention
    block = got["softmax_loss_block"]
    assert block[1].status == "confirmed", block[1]
    assert "with respect to the scores x" in mismatch_message(*block)
    summed = got["softmax_loss_sum"][1]
    assert summed.status == "confirmed", summed
    assert "batch size 9 (multiplied by it) (the gradient is not divided by the number of samples" in summed.diagnosis


BINARY_LOGISTIC = '''
def logistic_regression_loss(W, X, y, reg):
    y = y.reshape(-1, 1)
    p = 1 / (1 + np.exp(-X.dot(W)))
    n = X.shape[0]
    loss = -np.sum(np.log(np.where(y == 1, p, 1 - p))) / n + reg * np.sum(W ** 2)
    dW = X.T.dot(p - y) / n + {REG_GRADIENT}
    return loss, dW
'''

SIGNED_LOGISTIC = '''
def logistic_loss(W, X, y, reg):
    margins = y.reshape(-1, 1) * X.dot(W)
    n = X.shape[0]
    loss = np.sum(np.logaddexp(0, -margins)) / n + reg * np.sum(W * W)
    s = 1 / (1 + np.exp(margins))
    dW = -X.T.dot(y.reshape(-1, 1) * s) / n + 2 * reg * W
    return loss, dW
'''

COLUMN_SCORES = '''
def softmax_cross_entropy_loss(logits, y):
    m = logits.shape[1]
    z = logits - np.max(logits, axis=0, keepdims=True)
    p = np.exp(z) / np.sum(np.exp(z), axis=0, keepdims=True)
    loss = -np.sum(y * np.log(p)) / m
    dlogits = (p - y) / m
    return loss, dlogits
'''


def test_binary_labels_and_column_targets_are_tried_before_a_mismatch(tmp_path: Path) -> None:
    """Review of this session: a binary logistic regression with labels in {0, 1} or {-1, +1}, and a
    column-layout cross-entropy with one-hot columns, are right for the inputs they are written for:
    fed multiclass labels or one-hot rows they looked wrong. Any variant they pass decides; a real
    slip is still confirmed."""
    got = _module(tmp_path, "binary", BINARY_LOGISTIC.replace("{REG_GRADIENT}", "2 * reg * W"), SIGNED_LOGISTIC, COLUMN_SCORES)
    assert {name: verdict.status for name, (_, verdict) in got.items()} == {
        "logistic_regression_loss": "passed", "logistic_loss": "passed", "softmax_cross_entropy_loss": "passed",
    }
    assert "labels in {0, 1}" in got["logistic_regression_loss"][1].convention
    wrong = _module(tmp_path, "binary_wrong", BINARY_LOGISTIC.replace("{REG_GRADIENT}", "reg * W"))
    assert wrong["logistic_regression_loss"][1].status == "confirmed"


SCALED_ON_RETURN = '''
def softmax_loss(x, y):
    s = x - x.max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    N = x.shape[0]
    loss = -np.log(p[np.arange(N), y]).mean()
    dx = p.copy()
    dx[np.arange(N), y] -= 1
    return loss, {RETURNED}
'''


def test_a_gradient_scaled_on_its_way_out_is_still_found(tmp_path: Path) -> None:
    """The adversarial review: `return loss, dx / N` (and a sign slip, `-dx / N`) was not recognised."""
    right = _module(tmp_path, "scaled_right", SCALED_ON_RETURN.replace("{RETURNED}", "dx / N"))
    assert right["softmax_loss"][1].status == "passed"
    wrong = _module(tmp_path, "scaled_wrong", SCALED_ON_RETURN.replace("{RETURNED}", "-dx / N"))
    assert wrong["softmax_loss"][1].status == "confirmed" and "sign" in (wrong["softmax_loss"][1].diagnosis or "")


def test_a_loss_of_probabilities_is_tried_on_probabilities(tmp_path: Path) -> None:
    """The adversarial review: a binary cross-entropy of clipped probabilities fed normal scores is flat where
    the clip holds, and looked wrong; on probabilities in (0, 1) it is right."""
    source = '''
def binary_cross_entropy_loss(x, y):
    eps = 1e-7
    x = np.clip(x, eps, 1 - eps)
    loss = -np.mean(y * np.log(x) + (1 - y) * np.log(1 - x))
    dx = (x - y) / (x * (1 - x)) / x.size
    return loss, dx
'''
    got = _module(tmp_path, "bce_probabilities", source)
    verdict = got["binary_cross_entropy_loss"][1]
    assert verdict.status == "passed" and "probabilities x (9, 4)" in verdict.convention, verdict
