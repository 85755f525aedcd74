"""The runtime checker on CS231n style layer pairs: `out, cache = f_forward(x, w, b, ...)` and
`dx, dw, db = f_backward(dout, cache)` (gradlint.runtime.layer_pair_targets / layer_pairs).

The gallery tests/runtime_cases/layer_pairs.py (run by tests/test_runtime.py) holds the verdicts of
the course's layers, right and wrong. Here: the pairing and the mapping of returned gradients to
inputs (syntax only), the parameter dicts, the GL901 message, float32 layers, the cost, and that a
plain `check` never imports the stage.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import numpy as np
import pytest

from gradlint.runtime import check_module
from gradlint.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _discover(source: str) -> dict:
    import libcst as cst

    from gradlint.analysis import ModuleAnalysis
    from gradlint.runtime.targets import discover

    text = textwrap.dedent(source)
    analysis = ModuleAnalysis(cst.parse_module(text), "/cases/pairs.py", text)
    return {t.qualname: t for t in discover(analysis)}


def _options(target) -> dict:
    return json.loads(target.options)


def _verdicts(tmp_path: Path, source: str, timeout: float = 20.0) -> dict:
    path = tmp_path / "pairs.py"
    path.write_text("import numpy as np\n" + textwrap.dedent(source), encoding="utf-8")
    targets, verdicts = check_module(path.read_text(encoding="utf-8"), str(path), Settings(runtime_timeout=timeout))
    return {t.qualname: (t, verdicts[t.ident]) for t in targets if t.ident in verdicts}


AFFINE = """
def affine_forward(x, w, b):
    return x @ w + b, (x, w, b)

def affine_backward(dout, cache):
    x, w, b = cache
    return {returns}
"""


# -- pairing and mapping (syntax only) --------------------------------------------------------------


def test_pairs_by_name_and_maps_gradients_by_name() -> None:
    found = _discover("""
    def conv_forward_naive(x, w, b, conv_param):
        return x, (x, w)
    def conv_backward_naive(dout, cache):
        return dx, dw, db
    def batchnorm_forward(x, gamma, beta, bn_param):
        return x, (x,)
    def batchnorm_backward_alt(dout, cache):
        return dx, dgamma, dbeta
    def rnn_step_fwd(x, prev_h, Wx, Wh, b):
        return x, None
    def rnn_step_bwd(dnext_h, cache):
        return dx, dprev_h, dWx, dWh, db
    """)
    assert _options(found["conv_backward_naive"])["forward"] == "conv_forward_naive"
    assert found["conv_backward_naive"].role == "layer_pair"
    assert _options(found["batchnorm_backward_alt"])["forward"] == "batchnorm_forward"
    rnn = _options(found["rnn_step_bwd"])
    assert rnn["forward"] == "rnn_step_fwd" and rnn["mapped_by"] == "name"
    assert rnn["mapping"] == [[0, "x"], [1, "prev_h"], [2, "Wx"], [3, "Wh"], [4, "b"]]


def test_names_decide_over_positions_and_positions_fill_in_when_no_name_contradicts() -> None:
    swapped = _options(_discover(AFFINE.format(returns="dw, dx, db"))["affine_backward"])
    assert swapped["mapping"] == [[0, "w"], [1, "x"], [2, "b"]] and swapped["mapped_by"] == "name"
    by_place = _options(_discover(AFFINE.format(returns="dout @ w.T, x.T @ dout, dout.sum(axis=0)"))["affine_backward"])
    assert by_place["mapping"] == [[0, "x"], [1, "w"], [2, "b"]] and by_place["mapped_by"] == "position"
    upper = _options(_discover(AFFINE.format(returns="dX, dW, grad_b"))["affine_backward"])
    assert upper["mapping"] == [[0, "x"], [1, "w"], [2, "b"]]
    partial = _options(_discover(AFFINE.format(returns="dx, dout @ w.T"))["affine_backward"])
    assert partial["mapping"] == [[0, "x"]]  # two items for three inputs: only the named one


def test_returns_that_say_nothing_and_unknown_parameters_leave_the_pair_unknown() -> None:
    lone = _options(_discover(AFFINE.format(returns="grads"))["affine_backward"])
    assert "which input each gradient" in lone["unknown"]
    same = _options(_discover(AFFINE.format(returns="dx, dX, db"))["affine_backward"])
    assert "same input" in same["unknown"]
    mystery = _options(_discover("""
    def gate_forward(x, w, activation):
        return x @ w, (x, w)
    def gate_backward(dout, cache):
        return dx, dw
    """)["gate_backward"])
    assert "`activation`" in mystery["unknown"]


def test_one_input_pairs_stay_with_the_activation_stages_unless_the_input_is_an_image() -> None:
    found = _discover("""
    import numpy as np
    def relu_forward(x):
        return np.maximum(x, 0), x
    def relu_backward(dout, cache):
        return dout * (cache > 0)
    def max_pool_forward(x):
        N, C, H, W = x.shape
        return x[:, :, ::2, ::2], x
    def max_pool_backward(dout, cache):
        return dx
    """)
    assert found["relu_backward"].role != "layer_pair"
    assert found["max_pool_backward"].role == "layer_pair"


def test_a_forward_with_two_outputs_pairs_with_a_backward_taking_two_upstream_gradients() -> None:
    found = _discover("""
    def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
        return h, c, cache
    def lstm_step_backward(dnext_h, dnext_c, cache):
        return dx, dprev_h, dprev_c, dWx, dWh, db
    def mismatched_forward(x, w):
        return h, c, cache
    def mismatched_backward(dout, cache):
        return dx, dw
    """)
    options = _options(found["lstm_step_backward"])
    assert options["outputs"] == 2 and options["upstream"] == ["dnext_h", "dnext_c"]
    assert "mismatched_backward" not in found or found["mismatched_backward"].role != "layer_pair"


# -- the parameter dicts ------------------------------------------------------------------------------


def test_parameter_dicts_answer_only_the_conventional_keys_asked_for() -> None:
    from gradlint.runtime.layer_pairs import ParamDict

    param = ParamDict({"mode": "train", "eps": 1e-5, "seed": 0, "stride": 1})
    assert dict(param) == {}
    assert param.get("eps", 1e-3) == 1e-3  # the code's own default stands
    assert param.get("mode") == "train"  # a missing mode must not mean test mode
    assert param["stride"] == 1 and dict(param) == {"mode": "train", "stride": 1}
    assert "seed" in param and "eps" not in param
    with pytest.raises(KeyError):
        param["temperature"]
    copied = param.copy()
    assert isinstance(copied, ParamDict) and copied["eps"] == 1e-5


# -- verdicts -----------------------------------------------------------------------------------------


def test_a_wrong_batchnorm_gradient_names_the_input_its_worst_entry_and_the_shapes(tmp_path: Path) -> None:
    from gradlint.api import check_paths
    from gradlint.runtime import runtime_check

    path = tmp_path / "bn.py"
    path.write_text(textwrap.dedent("""
    import numpy as np

    def batchnorm_forward(x, gamma, beta, bn_param):
        eps = bn_param.get("eps", 1e-5)
        mu, var = x.mean(axis=0), x.var(axis=0)
        x_hat = (x - mu) / np.sqrt(var + eps)
        return gamma * x_hat + beta, (x_hat, np.sqrt(var + eps), gamma)

    def batchnorm_backward(dout, cache):
        x_hat, std, gamma = cache
        N = dout.shape[0]
        dbeta = dout.sum(axis=0)
        dgamma = np.sum(dout * x_hat, axis=0)
        dx = (gamma * std / N) * (N * dout - dbeta - x_hat * dgamma)  # times the std, not divided by it
        return dx, dgamma, dbeta
    """), encoding="utf-8")
    result = runtime_check(check_paths([path]), Settings())
    (mismatch,) = [d for d in result.report.diagnostics if d.code == "GL901"]
    assert mismatch.start.row == 10 and mismatch.runtime.status == "confirmed"
    message = mismatch.message
    assert "the gradient with respect to `x` (`dx`) is wrong" in message
    assert "those for `gamma`, `beta` agree" in message
    assert "worst entry" in message and "relative error" in message
    assert "x (4, 5), gamma (5,), beta (5,)" in message and "dout (4, 5)" in message
    assert "likely the gradient" not in message  # which input is off is a fact


def test_a_backward_that_disagrees_only_on_some_draws_is_not_reported(tmp_path: Path) -> None:
    got = _verdicts(tmp_path, """
    def clip_forward(x, w):
        return np.maximum(x @ w, 0.0), (x, w)

    def clip_backward(dout, cache):
        x, w = cache
        z = x @ w
        mask = z > 0.0
        return (dout * mask) @ w.T, x.T @ (dout * mask)
    """)
    _, verdict = got["clip_backward"]
    assert verdict.status == "passed", verdict  # the relu's kinks are left out, never a mismatch


def test_a_float32_layer_is_judged_at_float32_tolerances(tmp_path: Path) -> None:
    got = _verdicts(tmp_path, """
    def conv_forward(input_tensor, filters, biases):
        h, w, c = input_tensor.shape
        f, k, _, _ = filters.shape
        x = input_tensor.astype(np.float32)
        patches = np.lib.stride_tricks.sliding_window_view(x, (k, k, c))[:, :, 0]
        flat = patches.reshape((h - k + 1) * (w - k + 1), k * k * c)
        out = (flat @ filters.reshape(f, -1).astype(np.float32).T + biases.astype(np.float32))
        return out.reshape(h - k + 1, w - k + 1, f), (x.shape, filters, flat, k)

    def conv_backward(d_output, cache):
        (h, w, c), filters, flat, k = cache
        out_h, out_w, f = d_output.shape
        d_output = d_output.astype(np.float32)
        d_filters = (d_output.reshape(-1, f).T @ flat).reshape(filters.shape).astype(np.float32)
        d_input = np.zeros((h, w, c), dtype=np.float32)
        for u in range(k):
            for v in range(k):
                d_input[u:u + out_h, v:v + out_w] += d_output @ filters[:, u, v, :].astype(np.float32)
        return d_input, d_filters, d_output.sum(axis=(0, 1))
    """)
    _, verdict = got["conv_backward"]
    assert verdict.status == "passed", verdict
    assert "(6, 8, 4)" in verdict.convention  # one channels-last image (HEIGHT, WIDTH, CHANNELS)


def test_every_parameter_gradient_divided_by_the_batch_size_is_a_convention_not_a_mismatch(tmp_path: Path) -> None:
    got = _verdicts(tmp_path, """
    def dense_forward(x, w, b):
        return x @ w + b, (x, w)

    def dense_backward(dout, cache):
        x, w = cache
        n = x.shape[0]
        return dout @ w.T, x.T @ dout / n, dout.sum(axis=0) / n

    def half_forward(x, w, b):
        return x @ w + b, (x, w)

    def half_backward(dout, cache):
        x, w = cache
        return dout @ w.T, x.T @ dout, dout.mean(axis=0)
    """)
    assert got["dense_backward"][1].status == "unknown"
    assert "averaged over the batch" in got["dense_backward"][1].reason
    assert got["half_backward"][1].status == "confirmed"  # only db averaged: inconsistent, a slip


def test_a_random_forward_without_numpys_global_generator_is_unknown(tmp_path: Path) -> None:
    got = _verdicts(tmp_path, """
    def noisy_forward(x, noise_param):
        rng = np.random.default_rng()
        mask = rng.random(x.shape) < noise_param["p"]
        return x * mask, mask

    def noisy_backward(dout, cache):
        return dout * cache
    """)
    _, verdict = got["noisy_backward"]
    assert verdict.status == "unknown" and "different outputs for the same inputs" in verdict.reason


def test_the_sandbox_side_runs_without_the_parent(tmp_path: Path) -> None:
    """`layer_pairs.check` on a module object, as the worker calls it."""
    from gradlint.runtime.layer_pairs import check

    module = types.ModuleType("pairs")
    exec(textwrap.dedent("""
    import numpy as np
    def scale_forward(x, gamma):
        return x * gamma, (x, gamma)
    def scale_backward(dout, cache):
        x, gamma = cache
        return dout * gamma, np.sum(dout * x, axis=0) * 2
    """), module.__dict__)
    options = {"forward": "scale_forward", "inputs": ["x", "gamma"], "outputs": 1, "upstream": ["dout"],
               "returned": [None, None], "mapping": [[0, "x"], [1, "gamma"]], "mapped_by": "position"}
    record = check(module, {"qualname": "scale_backward", "role": "layer_pair", "options": json.dumps(options)},
                   np.random.default_rng(0))
    assert record["status"] == "confirmed"
    assert record["diagnosis"].startswith("the gradient with respect to `gamma` (the 2nd result) is wrong: off by a constant factor of 2")


# -- cost -----------------------------------------------------------------------------------------------


def test_the_naive_convolution_is_checked_well_within_the_time_limit() -> None:
    path = ROOT / "tests" / "runtime_cases" / "layer_pairs.py"
    text = path.read_text(encoding="utf-8")
    started = time.perf_counter()
    targets, verdicts = check_module(text, str(path), Settings(runtime_timeout=5.0))
    elapsed = time.perf_counter() - started
    by_name = {t.qualname: verdicts[t.ident] for t in targets}
    assert by_name["conv_backward_naive"].status == "passed"
    assert by_name["conv_assign_backward_naive"].status == "confirmed"
    assert elapsed < 30.0, elapsed  # the whole gallery, one sandbox process


def test_a_plain_check_never_imports_the_stage() -> None:
    code = (
        "import sys; from gradlint.api import check_paths; "
        f"check_paths([{str(ROOT / 'tests' / 'runtime_cases' / 'layer_pairs.py')!r}]); "
        "print(sorted(m for m in sys.modules if m.startswith('gradlint.runtime') or m == 'numpy'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_a_pair_needing_a_missing_import_does_not_cost_the_modules_other_verdicts(tmp_path: Path) -> None:
    """A file taken out of its project: `affine_relu` needs `.inference`, which is not there; the sigmoid
    derivative beside it is still checked (the module is run again without the layer pairs)."""
    got = _verdicts(tmp_path, """
    from .inference import affine_forward, affine_backward

    def sigmoid(x):
        return 1 / (1 + np.exp(-x)), x

    def sigmoid_backward(dout, save_x):
        s = 1 / (1 + np.exp(-save_x))
        return dout * s * (1 - s)

    def affine_relu(x, w, b):
        out, fc_cache = affine_forward(x, w, b)
        return np.maximum(out, 0), (fc_cache, out)

    def affine_relu_backward(dout, cache):
        fc_cache, out = cache
        dx, dw, db = affine_backward(dout * (out > 0), fc_cache)
        return dx, dw, db
    """)
    assert got["affine_relu_backward"][1].status == "unknown"
    assert "importing the module's definitions" in got["affine_relu_backward"][1].reason
    assert got["sigmoid_backward"][1].status == "passed"


def test_a_pair_the_runtime_cannot_call_keeps_its_own_reason_without_a_sandbox(tmp_path: Path) -> None:
    got = _verdicts(tmp_path, """
    import not_installed_anywhere

    def leaky_forward(x, leaky_ratio):
        return np.where(x > 0, x, leaky_ratio * x), (x, leaky_ratio)

    def leaky_backward(dout, cache):
        x, leaky_ratio = cache
        return np.where(x > 0, dout, leaky_ratio * dout)
    """)
    _, verdict = got["leaky_backward"]
    assert verdict.status == "unknown" and "`leaky_ratio`, whose name does not say" in verdict.reason
