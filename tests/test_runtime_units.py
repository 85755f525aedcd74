"""Units of the runtime checker: extraction, references, comparison, the sandbox."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import numpy as np
import pytest

from gradlint.runtime import VerifyError, parse_target
from gradlint.runtime import references as refs
from gradlint.runtime.compare import compare, diagnose
from gradlint.runtime.extract import extract
from gradlint.runtime.sandbox import SandboxLimits, run_module


def test_extraction_keeps_what_the_target_needs_and_drops_top_level_code(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = textwrap.dedent(
        """
        '''Module doc.'''
        from __future__ import annotations
        import numpy as np
        import matplotlib.pyplot as plt
        from .helpers import clip
        try:
            import cupy as cp
        except ImportError:
            cp = None
        EPS = 1e-12
        data = np.loadtxt("train.csv")
        def softmax(z):
            return np.exp(z) / np.sum(np.exp(z))
        def softmax_prime(s):
            return np.diag(clip(s, EPS)) - np.outer(s, s)
        class Unused:
            pass
        for epoch in range(10):
            print(epoch)
        if __name__ == "__main__":
            plt.show()
        """
    )
    result = extract(cst.parse_module(source), package / "model.py", ["softmax_prime", "softmax"])
    kept = result.source
    for needed in ("from __future__ import annotations", "import numpy as np", "from pkg.helpers import clip", "EPS = 1e-12",
                   "def softmax(", "def softmax_prime("):
        assert needed in kept, needed
    for dropped in ("matplotlib", "loadtxt", "class Unused", "for epoch", "__main__", "cupy"):
        assert dropped not in kept, dropped
    assert result.sys_path == (str(package), str(tmp_path))


def test_parse_target_forms() -> None:
    assert parse_target("a/b.py::f") == (Path("a/b.py"), "f")
    assert parse_target("a/b.py::Softmax.backward") == (Path("a/b.py"), "Softmax.backward")
    assert parse_target("a/b.py:Softmax.backward") == (Path("a/b.py"), "Softmax.backward")
    for bad in ("a/b.py", "a/b.py::", "a/b.py::1f", "module:f"):
        with pytest.raises(VerifyError):
            parse_target(bad)


def test_analytic_references_agree_with_central_differences() -> None:
    rng = np.random.default_rng(1)
    for kind in refs.ACTIVATIONS:
        for shape in ((5,), (3, 5), (5, 1)):
            x = rng.uniform(0.3, 1.5, size=shape) * np.where(rng.random(shape) < 0.5, -1, 1)
            numeric = refs.numeric_jacobian(lambda v: refs.activation_forward(kind, v), x, richardson=True)
            assert compare(refs.activation_jacobian(kind, x), numeric).rel_error < 1e-8, (kind, shape)
    p = refs.activation_forward("softmax", rng.normal(size=(3, 5)))
    y = np.eye(5)[[0, 3, 1]]
    for kind in ("cross_entropy", "mse", "softmax_cross_entropy", "binary_cross_entropy", "sigmoid_binary_cross_entropy"):
        numeric = refs.numeric_jacobian(lambda q: np.array(refs.loss_value(kind, q, y)), p).reshape(p.shape)
        assert compare(refs.loss_gradient(kind, p, y), numeric).rel_error < 1e-7, kind


def test_diagnosis_names_the_mistake() -> None:
    s = refs.activation_forward("softmax", np.array([0.5, -1.0, 2.0, 0.1]))
    jacobian = np.diag(s) - np.outer(s, s)
    assert "sign flipped" in diagnose(-jacobian, jacobian)
    assert "factor of 2" in diagnose(2 * jacobian, jacobian)
    assert "batch size 3" in diagnose(jacobian / 3, jacobian, batch=3)
    assert "diagonal only" in diagnose(np.diag(np.diag(jacobian)), jacobian)
    skew = jacobian + np.triu(np.ones((4, 4)), 1)
    assert "transposed" in diagnose(skew.T, skew)
    assert diagnose(jacobian + 0.3, jacobian) is None  # nothing recognisable: no guess
    assert compare(jacobian, jacobian).rel_error == 0.0
    worst = compare(-jacobian, jacobian)
    assert worst.rel_error == pytest.approx(2.0) and worst.got == -worst.expected


def test_sandbox_memory_and_time_limits_give_unknown_not_a_crash() -> None:
    source = textwrap.dedent(
        """
        import numpy as np
        def sigmoid_prime(s):
            blocks = []
            while True:
                blocks.append(np.ones(10**8))
        def tanh_prime(a):
            return 1 - a**2
        """
    )
    targets = [
        {"id": name, "qualname": name, "role": "activation", "forward_kind": kind, "forward": None}
        for name, kind in (("sigmoid_prime", "sigmoid"), ("tanh_prime", "tanh"))
    ]
    results = run_module(source, [], targets, SandboxLimits(timeout=20.0, memory_mb=700))
    assert results["sigmoid_prime"]["status"] == "unknown"
    assert "memory" in results["sigmoid_prime"]["reason"]
    assert results["tanh_prime"]["status"] == "passed"


def test_sandbox_survives_a_process_that_dies() -> None:
    source = "import os\nimport numpy as np\ndef tanh_prime(a):\n    os._exit(7)\n"
    target = {"id": "tanh_prime", "qualname": "tanh_prime", "role": "activation", "forward_kind": "tanh", "forward": None}
    results = run_module(source, [], [target], SandboxLimits(timeout=5.0))
    assert results["tanh_prime"]["status"] == "unknown"
    assert "exit code 7" in results["tanh_prime"]["reason"]


# -- the dtype the code computes in (review 3: float32 libraries) -------------------


def test_tolerances_follow_the_dtype_and_keep_float64_as_it_was() -> None:
    from gradlint.runtime.compare import (
        CONFIRM_TOLERANCE,
        EPS64,
        PASS_TOLERANCE,
        precision_of,
        tolerances,
    )

    eps32 = float(np.finfo(np.float32).eps)
    assert tolerances() == (PASS_TOLERANCE, CONFIRM_TOLERANCE)
    assert tolerances(EPS64, EPS64, numeric=True) == (PASS_TOLERANCE, CONFIRM_TOLERANCE)
    passing, confirming = tolerances(eps32, eps32, numeric=True)
    assert 20 * eps32 ** (2 / 3) < passing < 2e-3 and confirming >= 20 * passing  # above float32 differencing noise
    passing, confirming = tolerances(eps32, EPS64, numeric=False)
    assert 10 * eps32 < passing < 1e-4 and confirming == CONFIRM_TOLERANCE  # an exact reference: only the result's round-off
    assert precision_of(np.ones(3, dtype=np.float32)) == eps32
    assert precision_of((np.ones(3, dtype=np.float32), {"cache": 1})) == eps32
    assert precision_of(np.ones(3) > 0) == EPS64 and precision_of(1.0) == EPS64 and precision_of(None) == EPS64


def test_central_differences_of_a_float32_forward_take_a_float32_step() -> None:
    eps32 = float(np.finfo(np.float32).eps)
    x = np.linspace(-1.8, 1.7, 15).reshape(3, 5)
    forward = lambda v: np.tanh(v, dtype=np.float32)
    exact = refs.activation_jacobian("tanh", x)
    assert compare(refs.numeric_jacobian(forward, x), exact).rel_error > 1e-3  # float64's step: round-off dominates
    assert compare(refs.numeric_jacobian(forward, x, precision=eps32), exact).rel_error < 1e-4


def test_effective_precision_finds_float32_arithmetic_behind_a_float64_result() -> None:
    x = np.linspace(-1.8, 1.7, 15).reshape(3, 5)
    hidden = lambda v: v / (1 + np.exp(-v, dtype=np.float32))  # float64 out, float32 inside
    honest = lambda v: v / (1 + np.exp(-v))
    assert refs.effective_precision(honest, x) == refs.EPS
    found = refs.effective_precision(hidden, x)
    assert 1e-8 < found < 1e-5


def test_a_guessed_convention_shows_a_target_right_never_wrong() -> None:
    from gradlint.runtime.probing import Trial, _verdict

    right, wrong = np.ones((3, 5)), np.full((3, 5), 2.0)
    guess = "fed the softmax of the loss's input, which the loss is not known to apply"
    assert _verdict([Trial("guess", right, right, None, speculative=guess)], [])["status"] == "passed"
    verdict = _verdict([Trial("guess", wrong, right, None, speculative=guess)], [])
    assert verdict["status"] == "unknown" and "not known to apply" in verdict["reason"]
    decided = _verdict([Trial("guess", wrong, right, None, speculative=guess), Trial("sure", wrong, right, None)], [])
    assert decided["status"] == "confirmed" and decided["convention"] == "sure"


def test_float32_trials_are_judged_with_float32_tolerances() -> None:
    from gradlint.runtime.probing import Trial, _verdict

    eps32 = float(np.finfo(np.float32).eps)
    expected = np.linspace(0.2, 1.4, 15).reshape(3, 5)
    noisy = expected * (1 + 3e-4)  # float32 central-difference noise
    assert _verdict([Trial("f64", noisy, expected, None, numeric=True)], [])["status"] != "passed"
    trial = Trial("f32", noisy, expected, None, numeric=True, precision=eps32, reference_precision=eps32)
    assert _verdict([trial], [])["status"] == "passed"
    off = Trial("f32", expected * 1.1, expected, None, numeric=True, precision=eps32, reference_precision=eps32)
    assert _verdict([off], [])["status"] == "confirmed"
    coarse = np.finfo(np.float16).eps
    verdict = _verdict([Trial("f16", expected * 1.1, expected, None, numeric=True, precision=coarse, reference_precision=coarse)], [])
    assert verdict["status"] == "unknown" and "too coarse" in verdict["reason"]


# -- parameters read as records (review 3: nnlib's `cache`) ---------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(dA, cache):\n    A = cache[1]\n    return dA * A * (1 - A)\n", {"cache": "cache[1]"}),
        ("def f(dA, cache):\n    Z, A = cache\n    return dA * A * (1 - A)\n", {"cache": "Z, A = cache"}),
        ("def f(dA, cache):\n    n = len(cache)\n    return dA * cache[-1] / n\n", {"cache": "cache[-1]"}),
        ("def f(s):\n    k = s[0]\n    return k * s * (1 - s)\n", {}),  # also used as an array
        ("def f(s):\n    s = s[0]\n    return s\n", {}),  # rebound
        ("def f(s, i):\n    return s[i] * (1 - s)\n", {}),  # not a literal index
        ("def f(s):\n    return s[:, 0]\n", {}),  # a slice of an array
    ],
)
def test_record_parameters(source: str, expected: dict) -> None:
    from gradlint.analysis import ModuleAnalysis
    from gradlint.runtime.targets import record_parameters

    analysis = ModuleAnalysis(cst.parse_module(source), "case.py", source)
    function = analysis.index.nodes(cst.FunctionDef)[0]
    assert record_parameters(analysis, function, False) == expected
