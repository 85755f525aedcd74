"""The runtime checker on its own gallery (tests/runtime_cases/).

Each module there marks the row of every derivative it holds with
`# runtime: STATUS[: text]`: the checker must give exactly those targets that
verdict, and `text` must appear in the diagnosis (or, for `unknown`, the reason).
All modules are checked once, concurrently (one sandbox process each).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gradlint.settings import Settings

CASES = Path(__file__).resolve().parent / "runtime_cases"
ROOT = CASES.parent.parent
EXPECT = re.compile(r"#\s*runtime:\s*(?P<status>confirmed|passed|unknown|inconclusive)(?::\s*(?P<text>.*))?$")
MODULES = sorted(CASES.glob("*.py"))
# Hostile modules hang on purpose: a short timeout keeps the suite fast.
TIMEOUTS = {"hostile_targets.py": 1.5, "hostile_import.py": 1.5}


def _expectations(path: Path) -> dict[int, tuple[str, str]]:
    found = {}
    for row, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            found[row] = (match.group("status"), (match.group("text") or "").strip())
    return found


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict]:
    from gradlint.api import check_source
    from gradlint.runtime import check_module

    def run(path: Path) -> tuple[str, dict]:
        settings = Settings(runtime_timeout=TIMEOUTS.get(path.name, 10.0))
        text = path.read_text(encoding="utf-8")
        static = check_source(text, str(path), Settings()).diagnostics  # GL201 call sites become targets too
        targets, results = check_module(text, str(path), settings, diagnostics=static)
        return path.name, {t.start.row: (t, results[t.ident]) for t in targets if t.ident in results}

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, MODULES))


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_runtime_case_module(path: Path, verdicts: dict) -> None:
    expected = _expectations(path)
    got = verdicts[path.name]
    assert set(got) == set(expected), {
        "unexpected": {row: (t.qualname, v.status) for row, (t, v) in got.items() if row not in expected},
        "missing": {row: expected[row] for row in expected if row not in got},
    }
    problems = []
    for row, (status, text) in expected.items():
        target, verdict = got[row]
        said = (verdict.diagnosis or "") + " " + (verdict.reason or "")
        if verdict.status != status or text.lower() not in said.lower():
            problems.append((row, target.qualname, status, text, verdict.status, said.strip(), verdict.convention))
    assert not problems, "\n".join(map(str, problems))


def test_gallery_covers_every_convention_and_family(verdicts: dict) -> None:
    conventions = " ".join(v.convention or "" for module in verdicts.values() for _, v in module.values())
    for form in ("Jacobian (5, 5)", "per-sample Jacobians", "diagonal", "VJP", "(n, 1)", "(N, n)", "after forward(z)",
                 "with logits", "with activations", "one-hot", "own reduction", "mean over the batch"):
        assert form in conventions, form
    diagnoses = " ".join(v.diagnosis or "" for module in verdicts.values() for _, v in module.values())
    for mistake in ("diagonal only", "transposed", "sign flipped", "constant factor of 2", "batch size",
                    "activation and pre-activation swapped", "applied twice", "in place", "not used",
                    "`*` instead of `@`", "double softmax", "nan/inf for large logits", "another row's sum",
                    "shifted by its max", "a reduction lost its axis", "returns the forward's value"):
        assert mistake in diagnoses, mistake


def test_top_level_code_and_targets_cannot_touch_the_tree(verdicts: dict) -> None:
    # hostile_module.py writes this file at import and relu_prime writes it when called:
    # neither may land anywhere but the sandbox's temporary folder.
    assert not list(ROOT.rglob("gradlint_runtime_touched.txt"))
    assert not (Path.cwd() / "gradlint_runtime_touched.txt").exists()


def test_static_findings_carry_the_runtime_verdict() -> None:
    from gradlint.api import check_paths
    from gradlint.runtime import runtime_check

    path = CASES / "softmax_jacobians.py"
    result = runtime_check(check_paths([path]), Settings())
    static = [d for d in result.report.diagnostics if d.code != "GL901"]
    assert static and all(d.runtime is not None for d in static)
    gl101 = [d for d in static if d.code == "GL101"]
    assert gl101 and gl101[0].runtime.status == "confirmed"
    mismatches = [d for d in result.report.diagnostics if d.code == "GL901"]
    assert {d.start.row for d in mismatches} == {
        row for row, (status, _) in _expectations(path).items() if status == "confirmed"
    }
    message = next(d.message for d in mismatches if "softmax_derivative" in d.message)
    assert "diagonal only" in message and "worst entry" in message and "relative error" in message


def test_gl901_is_suppressed_by_noqa_on_the_def_line(tmp_path: Path) -> None:
    from gradlint.api import check_paths
    from gradlint.runtime import runtime_check

    module = tmp_path / "noqa_case.py"
    module.write_text(
        "import numpy as np\n\n"
        "def tanh(x):\n    return np.tanh(x)\n\n"
        "def tanh_prime(x):  # noqa: GL901\n    return 2 * (1 - np.tanh(x) ** 2)\n\n"
        "def tanh_derivative(x):\n    return 2 * (1 - np.tanh(x) ** 2)\n",
        encoding="utf-8",
    )
    result = runtime_check(check_paths([module]), Settings())
    assert [d.start.row for d in result.report.diagnostics if d.code == "GL901"] == [9]
    assert {v.qualname: v.status for v in result.verdicts} == {"tanh_prime": "confirmed", "tanh_derivative": "confirmed"}
    ignored = runtime_check(check_paths([module]), Settings(ignore=("GL901",)))
    assert not [d for d in ignored.report.diagnostics if d.code == "GL901"]


def _gradlint(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradlint", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_verify_cli_confirms_with_json_runtime_object() -> None:
    import jsonschema

    done = _gradlint("verify", "tests/runtime_cases/layers.py::SoftmaxElementwise.backward", "--output-format", "json", "--isolated")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    schema = json.loads((ROOT / "gradlint" / "schemas" / "report.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, schema)
    gl901 = [d for d in report if d["code"] == "GL901"]
    assert len(gl901) == 1
    runtime = gl901[0]["runtime"]
    assert runtime["status"] == "confirmed" and "diagonal only" in runtime["diagnosis"]
    assert runtime["worst_index"] and runtime["rel_error"] >= 1e-3 and runtime["input"]
    assert "VJP" in runtime["convention"]
    # The verdict line goes to stderr so stdout stays JSON.
    assert "SoftmaxElementwise.backward: confirmed" in done.stderr


def test_verify_cli_takes_the_output_format_from_the_environment() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gradlint", "verify", "tests/runtime_cases/layers.py:Softmax.backward", "--isolated"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "GRADLINT_OUTPUT_FORMAT": "json"},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [] and "Softmax.backward: passed" in done.stderr


def test_verify_cli_passed_unknown_and_usage_errors() -> None:
    passed = _gradlint("verify", "tests/runtime_cases/layers.py:Softmax.backward", "--isolated")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Softmax.backward: passed" in passed.stdout and "VJP" in passed.stdout
    unknown = _gradlint("verify", "tests/runtime_cases/layers.py::Dense.backward", "--isolated")
    assert unknown.returncode == 0, unknown.stdout + unknown.stderr
    assert "Dense.backward: unknown (cannot construct `Dense()` without arguments" in unknown.stdout
    missing = _gradlint("verify", "tests/runtime_cases/layers.py::NoSuch.backward", "--isolated")
    assert missing.returncode == 2 and "no module-level function" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = _gradlint("verify", "tests/runtime_cases/layers.py", "--isolated")
    assert bad.returncode == 2 and "PATH.py::FUNCTION" in bad.stderr
    timeout = _gradlint("check", "--runtime", "--runtime-timeout", "0", "tests/runtime_cases/layers.py", "--isolated")
    assert timeout.returncode == 2 and "--runtime-timeout must be a number of seconds from 0.001 to 86400" in timeout.stderr


def test_check_runtime_cli_prints_a_verdict_per_target() -> None:
    done = _gradlint("check", "--runtime", "--isolated", "--no-cache", "tests/runtime_cases/rectifiers.py")
    assert done.returncode == 1
    lines = [line for line in done.stdout.splitlines() if line.startswith("runtime: tests")]
    assert len(lines) == len(_expectations(CASES / "rectifiers.py"))
    assert "GL901" in done.stdout and "relu_grad" in done.stdout
    assert "7 targets checked: 4 confirmed, 3 passed." in done.stdout


def test_plain_check_imports_neither_numpy_nor_the_runtime() -> None:
    code = (
        "import sys\n"
        "from gradlint.cli import main\n"
        "sys.argv = ['gradlint', 'check', '--no-cache', '--isolated', 'tests/runtime_cases', 'fixtures']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('numpy' in sys.modules, any(m.startswith('gradlint.runtime') for m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "False False", done.stdout + done.stderr


def test_a_call_site_feeding_the_activation_to_a_logit_derivative() -> None:
    """GL202's shape: a logit-convention derivative run on the activation the call passes."""
    from gradlint.runtime.sandbox import run_module

    source = "import numpy as np\ndef tanh_derivative(z):\n    return 1 - np.tanh(z) ** 2\n"
    spec = {"qualname": "tanh_derivative", "role": "activation", "forward_kind": "tanh", "forward": None}
    results = run_module(source, [], [{**spec, "id": "plain"}, {**spec, "id": "fed", "feed": "activations"}])
    assert results["plain"]["status"] == "passed"
    assert results["fed"]["status"] == "confirmed"
    assert "applied twice" in results["fed"]["diagnosis"]
