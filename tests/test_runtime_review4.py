"""Review 4 (rw4b) runtime fixes across files: a pass-through softmax beside a fused loss, and
modules taken out of their project (a missing sibling base class, a namespace-package import)."""

from __future__ import annotations

from pathlib import Path

from gradlint.api import check_paths
from gradlint.settings import Settings

SOFTMAX_PASS_THROUGH = """import numpy as np

class Softmax:
    def forward(self, input_data):
        exp_values = np.exp(input_data - np.max(input_data, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)
        return self.output

    def backward(self, d_output):
        return d_output
"""

FUSED_LOSS = """import numpy as np

class CrossEntropyLoss:
    def forward(self, y_true, y_pred):
        y_pred_clipped = np.clip(y_pred, 1e-9, 1 - 1e-9)
        return np.mean(np.sum(y_true * -np.log(y_pred_clipped), axis=1))

    def backward(self, y_true, y_pred):
        return (y_pred - y_true) / len(y_true)
"""

LAYER_SUBCLASS = """import numpy as np
{imports}

class Sigmoid({base}):
    def forward(self, x):
        self.s = 1 / (1 + np.exp(-x))
        return self.s

    def backward(self, grad):
        return grad * {derivative}
"""


def _run(*paths: Path):
    from gradlint.runtime import runtime_check

    settings = Settings(runtime_timeout=5.0)
    return runtime_check(check_paths(list(paths), settings), settings)


def _verdict(result, name: str):
    return next(v for v in result.verdicts if v.qualname == name)


def _gl901(result) -> list[str]:
    return [f"{Path(d.filename).name}:{d.start.row}" for d in result.report.diagnostics if d.code == "GL901"]


def test_pass_through_softmax_beside_a_fused_loss_is_not_a_mismatch(tmp_path: Path) -> None:
    """Theodore-Utomo/NeuralNetworkFromScratch: src/Softmax.py beside src/CrossEntropyLoss.py."""
    (tmp_path / "Softmax.py").write_text(SOFTMAX_PASS_THROUGH)
    (tmp_path / "CrossEntropyLoss.py").write_text(FUSED_LOSS)
    result = _run(tmp_path / "Softmax.py", tmp_path / "CrossEntropyLoss.py")
    layer = _verdict(result, "Softmax.backward")
    assert layer.status == "unknown" and "CrossEntropyLoss.backward" in layer.verdict.reason
    assert "CrossEntropyLoss.py" in layer.verdict.reason
    assert _verdict(result, "CrossEntropyLoss.backward").status == "passed"
    assert _gl901(result) == []


def test_pass_through_softmax_in_a_sibling_package_folder(tmp_path: Path) -> None:
    """JonathanXu8/neural-network: ml/activations/softmax.py and ml/losses/cross_entropy.py."""
    (tmp_path / "activations").mkdir()
    (tmp_path / "losses").mkdir()
    (tmp_path / "activations" / "softmax.py").write_text(SOFTMAX_PASS_THROUGH)
    (tmp_path / "losses" / "cross_entropy.py").write_text(FUSED_LOSS)
    result = _run(tmp_path / "activations" / "softmax.py", tmp_path / "losses" / "cross_entropy.py")
    assert _verdict(result, "Softmax.backward").status == "unknown"
    assert _gl901(result) == []


def test_pass_through_softmax_with_no_fused_loss_near_is_unknown_not_a_mismatch(tmp_path: Path) -> None:
    """sirius911's and aew61's layers: their losses are elsewhere; passing the gradient through is the
    fused design, so the runtime says it cannot pair the layer rather than confirm a mismatch."""
    far = tmp_path / "a" / "b" / "c"
    far.mkdir(parents=True)
    (tmp_path / "Softmax.py").write_text(SOFTMAX_PASS_THROUGH)
    (far / "CrossEntropyLoss.py").write_text(FUSED_LOSS)  # three folders away: not this layer's project part
    result = _run(tmp_path / "Softmax.py", far / "CrossEntropyLoss.py")
    layer = _verdict(result, "Softmax.backward")
    assert layer.status == "unknown" and "no loss gradient in this run" in (layer.verdict.reason or "")
    assert _gl901(result) == []


UNJUDGED_AND_MSE_LOSSES = """import numpy as np

class MeanSquaredLoss:
    def forward(self, y, t):
        return 0.5 * np.mean(np.sum((y - t) ** 2, axis=1))

    def backward(self, y, t):
        return (1.0 / y.shape[0]) * (y - t)

class CrossEntropyLoss:
    def forward(self, y, t):
        return -np.mean(np.log(y[np.arange(y.shape[0]), t.argmax(axis=1).astype(float)]))

    def backward(self, y, t):
        return (1.0 / y.shape[0]) * (y - t)
"""


def test_pass_through_softmax_beside_an_unfused_loss_and_an_unjudged_one_is_unknown(tmp_path: Path) -> None:
    """Review 6 (rw6c fp/04, JakobHavtorn/nn): an MSE loss (unfused, passed) and a cross-entropy whose forward
    the runtime cannot call (unknown): which of them feeds the softmax is not known, so no mismatch."""
    (tmp_path / "activation.py").write_text(SOFTMAX_PASS_THROUGH)
    (tmp_path / "loss.py").write_text(UNJUDGED_AND_MSE_LOSSES)
    result = _run(tmp_path / "activation.py", tmp_path / "loss.py")
    assert _verdict(result, "CrossEntropyLoss.backward").status == "unknown"
    assert _verdict(result, "Softmax.backward").status == "unknown"
    assert _gl901(result) == []
    (tmp_path / "loss.py").write_text(UNJUDGED_AND_MSE_LOSSES.split("class CrossEntropyLoss")[0])
    result = _run(tmp_path / "activation.py", tmp_path / "loss.py")
    assert _verdict(result, "Softmax.backward").status == "confirmed"  # the MSE alone: its Jacobian is lost


def test_a_missing_sibling_base_class_is_stubbed(tmp_path: Path) -> None:
    """pantela002/only2307 `from layer import Layer`, shariqhameedca `from BaseLayer import BaseLayer`:
    the base module is not in the tree; the subclass's own methods are checked."""
    (tmp_path / "right.py").write_text(LAYER_SUBCLASS.format(imports="from layer import Layer", base="Layer", derivative="self.s * (1 - self.s)"))
    (tmp_path / "wrong.py").write_text(LAYER_SUBCLASS.format(imports="from .base import Layer", base="Layer", derivative="self.s"))
    result = _run(tmp_path / "right.py", tmp_path / "wrong.py")
    statuses = {Path(v.filename).name: v.status for v in result.verdicts}
    assert statuses == {"right.py": "passed", "wrong.py": "confirmed"}


def test_a_missing_module_stays_unknown_when_a_stub_would_guess(tmp_path: Path) -> None:
    cases = {
        # a framework's base class: its methods work on tensors, not numpy arrays
        "framework.py": ("from torch.nn import Module", "Module", "torch"),
        "framework_top.py": ("from torch import Module", "Module", "torch"),
        # a name used otherwise than as a base (called): a stub cannot stand in for it
        "called.py": ("from layer import Layer, helper", "Layer", "layer"),
    }
    for name, (imports, base, missing) in cases.items():
        source = LAYER_SUBCLASS.format(imports=imports, base=base, derivative="self.s * (1 - self.s)")
        if "helper" in imports:
            source = source.replace("return grad *", "return helper(grad) *")
        (tmp_path / name).write_text(source)
    # a sibling that exists but fails inside: the module it lacks is named
    (tmp_path / "sibling.py").write_text("from loss import Loss\n\nclass Layer(Loss):\n    pass\n")
    (tmp_path / "inner.py").write_text(LAYER_SUBCLASS.format(imports="from sibling import Layer", base="Layer", derivative="self.s * (1 - self.s)"))
    result = _run(*(tmp_path / n for n in [*cases, "inner.py"]))
    for verdict in result.verdicts:
        assert verdict.status == "unknown", (verdict.filename, verdict.verdict)
        assert "ModuleNotFoundError" in verdict.verdict.reason, verdict.verdict.reason
    reasons = {Path(v.filename).name: v.verdict.reason for v in result.verdicts}
    assert "'torch'" in reasons["framework.py"] and "'torch'" in reasons["framework_top.py"]
    assert "'layer'" in reasons["called.py"] and "'loss'" in reasons["inner.py"]


def test_a_namespace_package_import_resolves_from_the_project_root(tmp_path: Path) -> None:
    """JonathanXu8/neural-network ml/activations/relu.py: `from ml.activations.base import Activation`
    with no `__init__.py`: the folder holding `ml` goes on the sandbox's sys.path, and the real base
    (here: one whose `__init__` sets the state the subclass reads) is imported."""
    package = tmp_path / "ml" / "activations"
    package.mkdir(parents=True)
    (package / "base.py").write_text("class Activation:\n    def __init__(self):\n        self.scale = 1.0\n")
    (package / "relu.py").write_text(
        "import numpy as np\nfrom ml.activations.base import Activation\n\n"
        "class ReLU(Activation):\n"
        "    def forward(self, x):\n        self.x = x\n        return np.maximum(0, x)\n\n"
        "    def backward(self, grad):\n        return self.scale * grad * (self.x > 0)\n"
    )
    result = _run(package / "relu.py")
    assert _verdict(result, "ReLU.backward").status == "passed"


def test_extraction_names_the_stubs_and_keeps_the_source() -> None:
    import libcst as cst

    from gradlint.runtime.extract import extract

    path = Path("/nowhere/pkg/layers/softmax.py")
    source = (
        "from layer import Layer\nfrom .base import Base as B\nfrom layer_utils import Mixin, helper\n"
        "from torch_like.nn import Module\nimport numpy as np\n\n"
        "class Softmax(Layer, B, Mixin):\n    def forward(self, x):\n        return helper(np.exp(x))\n\n"
        "class Other(Module):\n    pass\n"
    )
    extraction = extract(cst.parse_module(source), path, {"Softmax", "Other"})
    # a bare sibling and a relative import: stood in for; a name also called, or a dotted
    # module of no folder the file is in: not
    assert dict(extraction.stubs) == {"layer": ("Layer",), "base": ("Base",)}
    # the lines as written (a relative import made absolute, as before): no line moves
    assert extraction.source.splitlines()[1:] == source.replace("from .base", "from base").splitlines()


def test_namespace_roots_go_on_the_sandbox_path() -> None:
    import libcst as cst

    from gradlint.runtime.extract import extract

    path = Path("/nowhere/repo/ml/activations/relu.py")
    source = "class ReLU:\n    def __init__(self):\n        from ml.activations.base import Activation\n"
    extraction = extract(cst.parse_module(source), path, {"ReLU"})
    assert "/nowhere/repo" in extraction.sys_path


def test_a_star_import_stands_in_only_for_the_free_base_names() -> None:
    """only2307/APP_Project src/softmax.py: `from layer import *` then `class Softmax(Layer):`."""
    import libcst as cst

    from gradlint.runtime.extract import extract

    path = Path("/nowhere/src/softmax.py")
    source = (
        "from layer import *\nimport numpy as np\n\nclass Base:\n    pass\n\n"
        "class Softmax(Layer):\n    def forward(self, x):\n        return np.exp(x)\n\n"
        "class Other(Base, Mixin):\n    def forward(self, x):\n        return helper(x)\n"
    )
    extraction = extract(cst.parse_module(source), path, {"Softmax", "Other"})
    assert dict(extraction.stubs) == {"layer": ("Layer", "Mixin")}
    two_stars = "from layer import *\nfrom other import *\n" + source.split("\n", 1)[1]
    assert extract(cst.parse_module(two_stars), path, {"Softmax"}).stubs == ()



def test_verify_of_a_pass_through_layer_consults_the_module_s_loss(tmp_path: Path) -> None:
    """`gradlint verify mod.py::Softmax.backward` runs the module's losses too (their verdicts
    are not reported), so a fused loss in the module withholds the mismatch as `check` does."""
    from gradlint.runtime import verify_target

    path = tmp_path / "fp04.py"
    path.write_text(SOFTMAX_PASS_THROUGH + "\n\n" + FUSED_LOSS.replace("import numpy as np\n", ""))
    result = verify_target(f"{path}::Softmax.backward", Settings(runtime_timeout=5.0))
    assert [(v.qualname, v.status) for v in result.verdicts] == [("Softmax.backward", "unknown")]
    assert [d.code for d in result.report.diagnostics] == []
    alone = tmp_path / "alone.py"
    alone.write_text(SOFTMAX_PASS_THROUGH)
    result = verify_target(f"{alone}::Softmax.backward", Settings(runtime_timeout=5.0))
    assert [(v.qualname, v.status) for v in result.verdicts] == [("Softmax.backward", "unknown")]
    assert "no loss gradient in this run" in (result.verdicts[0].verdict.reason or "")


UNFUSED_LOSS = """import numpy as np

class Loss_CategoricalCrossentropy:
    def forward(self, y_pred, y_true):
        y_pred = np.clip(y_pred, 1e-7, 1 - 1e-7)
        return -np.mean(np.log(np.sum(y_pred * y_true, axis=1)))

    def backward(self, dvalues, y_true):
        return -y_true / np.clip(dvalues, 1e-7, 1 - 1e-7) / len(dvalues)
"""

VJP_COMPUTED_NOT_RETURNED = """import numpy as np

def softmax(z):
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)

class Softmax:
    def forward(self, z):
        self.s = softmax(z)
        return self.s

    def backward(self, grad_output):
        s = self.s
        grad_input = s * (grad_output - np.sum(grad_output * s, axis=-1, keepdims=True))
        return grad_output
"""


def test_a_pass_through_softmax_is_a_mismatch_beside_an_unfused_loss_or_when_it_drops_its_vjp(tmp_path: Path) -> None:
    """The review of this session: the pass-through is the fused design only when no unfused loss
    gradient (-y/p) is in view, and only when passing the gradient on is all the backward does (one
    that computes the VJP and returns its input is a slip)."""
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "Softmax.py").write_text(SOFTMAX_PASS_THROUGH)
    (tmp_path / "net" / "loss.py").write_text(UNFUSED_LOSS)
    result = _run(tmp_path / "net" / "Softmax.py", tmp_path / "net" / "loss.py")
    assert _verdict(result, "Softmax.backward").status == "confirmed"
    (tmp_path / "slip.py").write_text(VJP_COMPUTED_NOT_RETURNED)
    result = _run(tmp_path / "slip.py")
    assert _verdict(result, "Softmax.backward").status == "confirmed"
    assert _gl901(result) == ["slip.py:12"]


SIGMOID_PASS_THROUGH_WITH_FUSED_BCE = """import numpy as np

class Sigmoid:
    def forward(self, z):
        self.a = 1 / (1 + np.exp(-z))
        return self.a

    def backward(self, grad):
        return grad


class BinaryCrossEntropy:
    def forward(self, a, y):
        self.a, self.y = a, y
        return -np.mean(y * np.log(a + 1e-12) + (1 - y) * np.log(1 - a + 1e-12))

    def backward(self):
        return (self.a - self.y) / self.y.size
"""


def test_a_pass_through_sigmoid_beside_a_fused_binary_cross_entropy_is_not_a_mismatch(tmp_path: Path) -> None:
    """The adversarial review: the fused sigmoid + binary cross-entropy (a - y) is the same design as the
    softmax's; its pass-through layer was confirmed wrong."""
    (tmp_path / "bce.py").write_text(SIGMOID_PASS_THROUGH_WITH_FUSED_BCE)
    result = _run(tmp_path / "bce.py")
    assert _verdict(result, "Sigmoid.backward").status == "unknown"
    assert _gl901(result) == []
