"""Regressions from a fuzzing review of the analysis layer: numeric literals of every spelling,
the result cache when an import starts to resolve, GL301's fix on calls with more arguments,
linear time on long straight-line functions, messages without comments or continuations, and
Python's precedence of a package over a module of the same name."""

from __future__ import annotations

import os
import time
from pathlib import Path

import libcst as cst
import pytest

from gradlint import api, cache, registry
from gradlint.analysis import ModuleAnalysis, semantics as semantics_module
from gradlint.analysis.package import PackageModules
from gradlint.analysis.syntax import literal_float, literal_int, literal_number, one_line_code
from gradlint.engine import check_text
from gradlint.fixes import apply_edits
from gradlint.settings import Settings

FILENAME = "/virtual/module.py"
ALL = registry.all_codes()


def _codes(text: str, codes: "list[str] | None" = None, precheck: bool = True) -> list[str]:
    result = check_text(text, FILENAME, codes or ALL, precheck=precheck)
    assert result.crashes == ()
    return sorted(d.code for d in result.diagnostics)


# -- 1. numeric literals ------------------------------------------------------------------
@pytest.mark.parametrize(
    "spelling",
    ["0x1", "0X1", "0b1", "0o1", "0x_1", "0x0", "1_000", "0_0", "00", "7", "1e-8", "1E5", ".5", "1.", "1_0.0_1", "1_0e-1", "0.1e1"],
)
def test_literal_number_is_the_value_python_gives(spelling: str) -> None:
    node = cst.parse_expression(spelling)
    value = literal_number(node)
    assert value == eval(spelling) and type(value) is type(eval(spelling))
    assert literal_float(node) == float(eval(spelling))


def test_literal_reader_answers_none_for_what_it_cannot_represent() -> None:
    assert literal_number(cst.parse_expression("2j")) is None  # not a real number
    assert literal_number(cst.parse_expression("1e999")) is None  # inf
    assert literal_number(cst.parse_expression("1" * 5000)) is None  # past Python's digit limit
    huge_hex = cst.parse_expression("0x" + "f" * 400)
    assert literal_number(huge_hex) == int("f" * 400, 16) and literal_float(huge_hex) is None  # no float holds it
    assert literal_int(cst.parse_expression("-0x1")) == -1 and literal_int(cst.parse_expression("1.0")) is None
    assert literal_number(cst.parse_expression("x")) is None


@pytest.mark.parametrize("axis", ["0x1", "0b1", "0o1", "0x_1", "0x0", "-0x1", "0X1"])
def test_reduction_axis_in_any_base_does_not_crash_gl401(axis: str) -> None:
    text = (
        "import numpy as np\n\n\ndef softmax(z):\n"
        "    e = np.exp(z - np.max(z, axis=1, keepdims=True))\n"
        f"    return e / np.sum(e, axis={axis})\n"
    )
    assert _codes(text) == _codes(text, precheck=False)  # no crash (asserted in _codes), pre-check sound


def test_axis_spelled_with_a_base_prefix_is_unknown_and_the_precheck_agrees() -> None:
    # GL401's pre-check needs admit a decimal `axis=1` only: a hex axis stays unknown (silent) with
    # and without the pre-check, while the decimal spelling fires.
    template = "import numpy as np\n\n\ndef softmax(z):\n    e = np.exp(z - np.max(z))\n    return e / np.sum(e, axis={})\n"
    assert _codes(template.format("1"), ["GL401"]) == ["GL401"]
    for axis in ("0x1", "0b1", "-0x1"):
        text = template.format(axis)
        assert _codes(text, ["GL401"]) == _codes(text, ["GL401"], precheck=False) == []


def test_huge_literals_do_not_crash_the_algebra_or_the_semantics() -> None:
    huge_hex = "0x" + "f" * 400
    sigmoid = f"import numpy as np\n\n\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z * {huge_hex}))\n\n\ndef d(z):\n    s = sigmoid(z)\n    return s * (1 - s)\n"
    _codes(sigmoid)
    huge_decimal = "1" + "0" * 5000
    softmax = (
        "import numpy as np\n\n\ndef softmax(z):\n    e = np.exp(z - np.max(z))\n    return e / np.sum(e)\n\n\n"
        f"def softmax_prime(z):\n    s = softmax(z)\n    return s * ({huge_decimal} - s)\n"
    )
    _codes(softmax)
    eye = f"import numpy as np\n\n\ndef jac(s):\n    return np.eye({huge_decimal}) - np.outer(s, s)\n"
    _codes(eye)


def test_a_one_written_in_hex_is_not_the_number_one_for_the_numeric_rules() -> None:
    # numerics reads `1 - p` only from a decimal 1, as the pre-check needs (registry._GL304_ONE) do
    text = "import numpy as np\n\n\ndef bce(p, y):\n    return -np.mean(y * np.log(p) + (1 - y) * np.log(0x1 - p))\n"
    assert _codes(text) == _codes(text, precheck=False)


def test_a_string_python_refuses_does_not_crash_the_einsum_readers() -> None:
    # libcst parses `"\\N{NOPE}"`; reading its value (ast.literal_eval) raises: the spec is unknown
    text = 'import numpy as np\n\n\ndef jac(s):\n    return np.diag(s) - np.einsum("i,j\\N{NOPE}->ij", s, s)\n'
    assert "\\N{NOPE}" in text
    _codes(text)


# -- 2. the cache when an import starts to resolve ------------------------------------------
SOFTMAX_LAYER = '''import numpy as np


class Softmax:
    def forward(self, x):
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        self.out = e / np.sum(e, axis=-1, keepdims=True)
        return self.out

    def backward(self, grad):
        s = self.out
        return s * (grad - np.sum(grad * s, axis=-1, keepdims=True))
'''

PASS_THROUGH_LAYER = SOFTMAX_LAYER[: SOFTMAX_LAYER.index("    def backward")] + "    def backward(self, grad):\n        return grad\n"

FUSED_LOSS = '''import numpy as np


class CrossEntropy:
    def forward(self, p, y):
        return -np.mean(np.sum(y * np.log(np.clip(p, 1e-12, 1.0)), axis=-1))

    def backward(self, p, y):
        return (p - y) / p.shape[0]
'''

TRAIN = '''from net.layers import Softmax
from net.losses import CrossEntropy


def step(x, y):
    layers = [Softmax()]
    loss = CrossEntropy()
    p = layers[0].forward(x)
    grad = loss.backward(p, y)
    for layer in reversed(layers):
        grad = layer.backward(grad)
    return grad
'''


def _age(path: Path) -> None:
    old = time.time() - 60
    os.utime(path, (old, old))


def _project(root: Path) -> Path:
    net = root / "net"
    net.mkdir()
    for name, text in (("__init__.py", ""), ("layers.py", SOFTMAX_LAYER), ("train.py", TRAIN)):
        (net / name).write_text(text)
        _age(net / name)
    return net


def _found(report: api.Report) -> list[tuple[str, str]]:
    return sorted((Path(d.filename).name, d.code) for d in report.diagnostics)


def test_cached_result_is_invalidated_when_an_unresolved_import_starts_to_resolve(tmp_path: Path) -> None:
    net = _project(tmp_path)
    settings = Settings(project_root=tmp_path)
    assert _found(api.check_paths([net], settings, cache=True)) == []  # net.losses does not exist yet
    [train] = [r for r in api.check_paths([net], settings, cache=True).files if r.filename.endswith("train.py")]
    assert str(net / "losses.py") in train.dependencies  # recorded, as absent
    (net / "losses.py").write_text(FUSED_LOSS)
    _age(net / "losses.py")
    cached = api.check_paths([net], settings, cache=True)
    assert _found(cached) == _found(api.check_paths([net], settings, cache=False)) == [("train.py", "GL203")]


def test_cache_records_absent_dependencies_and_rejects_unknown_states(tmp_path: Path) -> None:
    net = _project(tmp_path)
    settings = Settings(project_root=tmp_path)
    api.check_paths([net], settings, cache=True)
    result_cache = cache.ResultCache(tmp_path / ".gradlint_cache", settings)
    entry = result_cache.entries[str(net / "train.py")]
    states = dict(entry[4])
    assert states[str(net / "losses.py")] == cache.ABSENT
    assert states[str(net / "layers.py")] == cache.content_hash(SOFTMAX_LAYER.encode())
    assert cache._well_formed(entry)
    assert not cache._well_formed([*entry[:4], [[str(net / "losses.py"), None]], *entry[5:]])
    assert not cache._well_formed([*entry[:4], [[str(net / "losses.py"), "missing"]], *entry[5:]])


# -- 3. GL301's fix keeps the call's other arguments -----------------------------------------
def _fixed(text: str) -> "str | None":
    result = check_text(text, FILENAME, ["GL301"])
    [diagnostic] = result.diagnostics
    if diagnostic.fix is None:
        return None
    return apply_edits(text, list(diagnostic.fix.edits))


@pytest.mark.parametrize("extra", ["dtype=np.float64", "out=buffer", "buffer", "casting='same_kind'"])
def test_shift_fix_keeps_the_other_arguments(extra: str) -> None:
    text = f"import numpy as np\n\n\ndef softmax(x, buffer):\n    e = np.exp(x, {extra})\n    return e / np.sum(e)\n"
    fixed = _fixed(text)
    assert fixed is not None and f"np.exp(x - np.max(x), {extra})" in fixed
    compile(fixed, "fixed", "exec")


def test_no_shift_fix_for_a_masked_exp() -> None:
    # where=: the entries left out may hold anything, so the max over all of x may make every
    # shifted entry that counts underflow: the right shift is the user's to choose
    text = "import numpy as np\n\n\ndef softmax(x, mask):\n    e = np.exp(x, where=mask)\n    return e / np.sum(e)\n"
    assert _fixed(text) is None


def test_no_shift_fix_when_both_exps_write_to_an_output_array() -> None:
    text = "import numpy as np\n\n\ndef softmax(x, buf):\n    return np.exp(x, out=buf) / np.sum(np.exp(x, out=buf))\n"
    assert _fixed(text) is None


def test_shift_fix_of_both_exps_keeps_a_dtype() -> None:
    text = "import numpy as np\n\n\ndef softmax(x):\n    return np.exp(x, dtype=np.float64) / np.sum(np.exp(x, dtype=np.float64))\n"
    fixed = _fixed(text)
    assert fixed is not None and fixed.count("np.exp(x - np.max(x), dtype=np.float64)") == 2


def test_matching_shift_fix_keeps_the_other_arguments() -> None:
    text = "import numpy as np\n\n\ndef softmax(x):\n    return np.exp(x - np.max(x)) / np.sum(np.exp(x, dtype=np.float64))\n"
    fixed = _fixed(text)
    assert fixed is not None and "np.sum(np.exp(x - np.max(x), dtype=np.float64))" in fixed


# -- 4. long straight-line functions take linear time -----------------------------------------
def _chain(links: int) -> str:
    lines = ["import numpy as np", "def softmax_backward(s, grad):", "    s0 = np.exp(s) / np.sum(np.exp(s))", "    grad = grad * s0"]
    for k in range(1, links):
        lines += [f"    s{k} = np.exp(s{k - 1}) / np.sum(np.exp(s))", f"    grad = grad * s{k}"]
    return "\n".join([*lines, "    return grad", ""])


def _calls(monkeypatch: pytest.MonkeyPatch, links: int) -> dict[str, int]:
    counts = {"forward_application": 0, "_unshift": 0}
    original_forward = semantics_module.Semantics.forward_application
    original_unshift = semantics_module._unshift

    def forward_application(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        counts["forward_application"] += 1
        return original_forward(self, *args, **kwargs)

    def unshift(*args, **kwargs):  # type: ignore[no-untyped-def]
        counts["_unshift"] += 1
        return original_unshift(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(semantics_module.Semantics, "forward_application", forward_application)
        patch.setattr(semantics_module, "_unshift", unshift)
        check_text(_chain(links), FILENAME, ALL)
    return counts


def test_semantic_work_grows_linearly_with_a_straight_line_function(monkeypatch: pytest.MonkeyPatch) -> None:
    small, large = _calls(monkeypatch, 60), _calls(monkeypatch, 240)
    for name in small:
        # linear work: 4x the links, about 4x the calls (quadratic work was about 16x)
        assert large[name] <= 6 * small[name], (name, small[name], large[name])


def test_long_chain_findings_are_unchanged() -> None:
    assert _codes(_chain(300)) == ["GL301"]


# -- 5. messages without comments or continuations -------------------------------------------
@pytest.mark.parametrize(
    "source, expected",
    [
        ("(e  # TODO: check this\n .sum(axis=1))", "(e .sum(axis=1))"),
        ("a + \\\n    b", "a + b"),
        ("e \\\n    .sum()", "e .sum()"),
        ("f(\n    a,  # first\n    # a comment line\n\n    b,\n)", "f( a, b, )"),
        ("x[\n    0,  # row\n    1]", "x[ 0, 1]"),
        ("(a\n  # only a comment\n  - b)", "(a - b)"),
        ("s * (1 - s)", "s * (1 - s)"),
        ('"a # b" + c', '"a # b" + c'),
        ('"a \\\\ b" + c', '"a \\\\ b" + c'),
    ],
)
def test_one_line_code_drops_comments_and_continuations(source: str, expected: str) -> None:
    assert one_line_code(cst.Module([]), cst.parse_expression(source)) == expected


@pytest.mark.parametrize(
    "commented, plain",
    [
        ("f(\n    a,  # first\n    b,\n)", "f(\n    a,\n    b,\n)"),
        ("J[\n    i  # row\n][j]", "J[\n    i\n][j]"),
        ("(e  # note\n .sum(axis=1))", "(e\n .sum(axis=1))"),
    ],
)
def test_a_comment_does_not_change_the_text_rules_compare(commented: str, plain: str) -> None:
    # the texts are keys too: a comment is layout, but line breaks are never closed up, as the
    # pre-check predicates (repeated_element_store) normalise targets on whitespace only
    module = cst.Module([])
    assert one_line_code(module, cst.parse_expression(commented)) == one_line_code(module, cst.parse_expression(plain))


def test_messages_quote_the_expression_without_its_comment() -> None:
    text = (
        "import numpy as np\n\n\ndef softmax(z):\n    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
        "    return e / (e  # TODO: check this\n                .sum(axis=1))\n"
    )
    [diagnostic] = check_text(text, FILENAME, ["GL401"]).diagnostics
    assert "#" not in diagnostic.message and "TODO" not in diagnostic.message
    assert "`(e .sum(axis=1))` drops axis 1" in diagnostic.message


def test_messages_quote_the_expression_without_its_backslash() -> None:
    text = (
        "import numpy as np\n\n\ndef softmax(z):\n    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
        "    total = e \\\n        .sum(axis=1)\n    return e / total\n"
    )
    [diagnostic] = check_text(text, FILENAME, ["GL401"]).diagnostics
    assert "\\" not in diagnostic.message and "`e .sum(axis=1)` drops axis 1" in diagnostic.message


def test_code_for_is_one_line_through_the_analysis() -> None:
    module = cst.parse_module("y = (a  # note\n     + b)\n")
    analysis = ModuleAnalysis(module, FILENAME, module.code)
    value = module.body[0].body[0].value  # type: ignore[attr-defined]
    assert analysis.code_for(value) == "(a + b)"


# -- 6. a package shadows a module of the same name ------------------------------------------
def test_a_package_directory_shadows_a_module_beside_it(tmp_path: Path) -> None:
    net = _project(tmp_path)
    (net / "losses.py").write_text(FUSED_LOSS)
    # Python imports net/layers/__init__.py, not net/layers.py (checked in a subprocess below):
    # its Softmax passes the gradient through, so there is no double softmax derivative.
    (net / "layers").mkdir()
    (net / "layers" / "__init__.py").write_text(PASS_THROUGH_LAYER)
    import subprocess
    import sys

    probe = subprocess.run(
        [sys.executable, "-c", "import net.layers as m; print(m.__file__)"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert probe.stdout.strip().endswith(os.path.join("layers", "__init__.py"))
    report = api.check_paths([net / "train.py"], Settings(project_root=tmp_path), cache=False)
    assert _found(report) == []
    package = PackageModules()
    importer = ModuleAnalysis(cst.parse_module(TRAIN), str(net / "train.py"), TRAIN)
    resolved = package.module_for_import(importer, "net.layers", 0)
    assert resolved is not None and resolved.filename == str(net / "layers" / "__init__.py")


def test_a_namespace_directory_does_not_shadow_a_module(tmp_path: Path) -> None:
    net = _project(tmp_path)
    (net / "layers").mkdir()  # no __init__.py: Python still imports net/layers.py
    package = PackageModules()
    importer = ModuleAnalysis(cst.parse_module(TRAIN), str(net / "train.py"), TRAIN)
    resolved = package.module_for_import(importer, "net.layers", 0)
    assert resolved is not None and resolved.filename == str(net / "layers.py")


def test_cache_is_invalidated_when_a_package_starts_to_shadow_a_module(tmp_path: Path) -> None:
    net = _project(tmp_path)
    (net / "losses.py").write_text(FUSED_LOSS)
    _age(net / "losses.py")
    settings = Settings(project_root=tmp_path)
    assert _found(api.check_paths([net], settings, cache=True)) == [("train.py", "GL203")]
    (net / "layers").mkdir()
    (net / "layers" / "__init__.py").write_text(PASS_THROUGH_LAYER)
    _age(net / "layers" / "__init__.py")
    assert _found(api.check_paths([net], settings, cache=True)) == _found(api.check_paths([net], settings, cache=False)) == []


def test_a_store_target_continued_by_a_backslash_inside_it_is_read_as_code_for_reads_it() -> None:
    # code_for reads the continuation as a blank; the pre-check's key for GL101's pair must too.
    from gradlint.engine import check_text

    text = (
        "import numpy as np\n\n\ndef softmax_prime(s):\n    J = np.zeros((len(s), len(s)))\n"
        "    for i in range(len(s)):\n        for j in range(len(s)):\n            if i == j:\n"
        "                J[i, \\\nj] = s[i] * (1 - s[i])\n                J[i, j] = -s[i] * s[j]\n    return J\n"
    )
    found = [(d.code, d.start.row) for d in check_text(text, "/x.py", ["GL101"]).diagnostics]
    unfiltered = [(d.code, d.start.row) for d in check_text(text, "/x.py", ["GL101"], precheck=False).diagnostics]
    assert found == unfiltered and found


def test_an_imported_module_too_large_to_check_is_not_read(tmp_path: Path) -> None:
    # The importer's findings must not rest on a module the run itself refuses (GL002, too large).
    from gradlint.files import MAX_FILE_BYTES

    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    padding = "#" * 100 + "\n"
    (package / "big.py").write_text("x = 1\n" + padding * (MAX_FILE_BYTES // len(padding) + 1), encoding="utf-8")
    modules = PackageModules()
    assert modules._analysis_of(package / "big.py") is None
    (package / "small.py").write_text("x = 1\n", encoding="utf-8")
    assert modules._analysis_of(package / "small.py") is not None
