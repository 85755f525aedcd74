"""The GL3xx/GL4xx rules: pre-check patterns that mirror the rules' own gates, and fixes."""

from __future__ import annotations

import pytest

from gradlint import registry
from gradlint.api import check_source
from gradlint.fixes import apply_edits
from gradlint.rules import input_mutated_in_place, reduction_without_keepdims
from gradlint.settings import Settings


def test_gl401_precheck_is_the_rules_own_gate() -> None:
    assert reduction_without_keepdims.REDUCTION_CALL in registry.RULES["GL401"].needs


def test_gl402_precheck_is_the_rules_own_gate() -> None:
    # the rule's evidence, or the `class` name it rebuilds from a class header split over lines
    needs = registry.RULES["GL402"].needs
    assert any(need.split("|" + registry._GL402_CLASS_NAME)[0] == input_mutated_in_place.EVIDENCE for need in needs)


@pytest.mark.parametrize(
    "source, fixed",
    [
        (
            "import numpy as np\ndef f(z):\n    return np.exp(z) / np.sum(np.exp(z))\n",
            "import numpy as np\ndef f(z):\n    return np.exp(z - np.max(z)) / np.sum(np.exp(z - np.max(z)))\n",
        ),
        (
            "import numpy as xp\ndef f(z):\n    e = xp.exp(z)\n    e /= e.sum(axis=0, keepdims=True)\n    return e\n",
            "import numpy as xp\ndef f(z):\n    e = xp.exp(z - xp.max(z, axis=0, keepdims=True))\n    e /= e.sum(axis=0, keepdims=True)\n    return e\n",
        ),
        (
            "import numpy as np\ndef f(x):\n    a = np.exp(x - np.max(x))\n    return a / np.sum(np.exp(x))\n",
            "import numpy as np\ndef f(x):\n    a = np.exp(x - np.max(x))\n    return a / np.sum(np.exp(x - np.max(x)))\n",
        ),
    ],
)
def test_gl301_fix_inserts_the_shift_and_silences_the_rule(source: str, fixed: str) -> None:
    settings = Settings(select=("GL301",))
    found = check_source(source, "m.py", settings).diagnostics
    assert len(found) == 1 and found[0].fix is not None
    result = apply_edits(source, found[0].fix.edits)
    assert result == fixed
    assert not check_source(result, "m.py", settings).diagnostics


def test_gl301_offers_no_fix_where_the_shift_is_not_unambiguous() -> None:
    source = "import torch\ndef f(z):\n    e = torch.exp(z)\n    return e / e.sum(dim=1, keepdim=True)\n"
    found = check_source(source, "m.py", Settings(select=("GL301",))).diagnostics
    assert len(found) == 1 and found[0].fix is None


def test_severities() -> None:
    numerator_only = "import numpy as np\ndef f(x):\n    a = np.exp(x - np.max(x))\n    return a / np.sum(np.exp(x))\n"
    found = check_source(numerator_only, "m.py", Settings(select=("GL301",))).diagnostics
    assert [d.severity.value for d in found] == ["error"]
    for code, severity in [("GL301", "warning"), ("GL302", "warning"), ("GL303", "warning"), ("GL304", "warning"),
                           ("GL305", "warning"), ("GL401", "error"), ("GL402", "warning")]:
        assert registry.load_rule(code).severity.value == severity
