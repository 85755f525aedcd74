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
