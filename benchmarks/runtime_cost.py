"""What the runtime checker costs: start-up per module, plus per function.

    python benchmarks/runtime_cost.py [--repeat 3] [PATH ...]

1. Start-up: one sandbox process for a module with a single trivial target
   (interpreter + numpy import + the worker), median of `--repeat` runs.
2. Per function: modules with 1, 8 and 32 correct derivatives (a mix of
   Jacobians, diagonals and VJPs); the slope of the time over the count.
3. Per module: each module under PATH (default: tests/runtime_cases and
   fixtures), the runtime stage timed end to end (discovery, extraction,
   sandbox; the static findings computed beforehand, untimed) with its
   target count. Hanging targets cost up to the timeout each; the hostile
   gallery modules are skipped unless named.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradlint.api import check_source  # noqa: E402
from gradlint.runtime import check_module  # noqa: E402
from gradlint.runtime.sandbox import SandboxLimits, run_module  # noqa: E402
from gradlint.settings import Settings  # noqa: E402

TEMPLATES = (
    ("softmax", "def {name}(s):\n    return np.diag(s) - np.outer(s, s)\n"),
    ("sigmoid", "def {name}(s):\n    return s * (1 - s)\n"),
    ("tanh", "def {name}(dA, Z):\n    return dA * (1 - np.tanh(Z) ** 2)\n"),
    ("relu", "def {name}(x):\n    return (x > 0).astype(float)\n"),
)


def _module(count: int, buggy: bool = False) -> tuple[str, list[dict]]:
    """`count` derivatives; buggy ones (off by 2) make the checker try every convention."""
    lines = ["import numpy as np\n"]
    targets = []
    for i in range(count):
        kind, template = TEMPLATES[i % len(TEMPLATES)]
        name = f"{kind}_prime_{i}"
        text = template.format(name=name)
        lines.append(text.replace("return ", "return 2 * ") if buggy else text)
        targets.append({"id": name, "qualname": name, "role": "activation", "forward_kind": kind, "forward": None})
    return "\n".join(lines), targets


def _timed(count: int, repeat: int, buggy: bool = False) -> float:
    source, targets = _module(count, buggy)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        results = run_module(source, [], targets, SandboxLimits())
        times.append(time.perf_counter() - started)
        expected = "confirmed" if buggy else "passed"
        assert all(r["status"] == expected for r in results.values()), results
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    startup = _timed(1, args.repeat)
    counts = (1, 8, 32)
    timings = {count: (_timed(count, args.repeat) if count != 1 else startup) for count in counts}
    slope = (timings[32] - timings[1]) / 31
    buggy = {count: _timed(count, args.repeat, buggy=True) for count in (1, 32)}
    buggy_slope = (buggy[32] - buggy[1]) / 31
    print(f"Runtime checker cost (median of {args.repeat} runs, Python {sys.version.split()[0]})")
    print(f"  start-up per module (process + numpy + one target): {startup * 1000:7.0f} ms")
    for count in counts:
        print(f"  module with {count:2d} derivatives: {timings[count] * 1000:7.0f} ms")
    print(f"  per additional derivative: {slope * 1000:7.1f} ms (correct: stops at the first passing convention)")
    print(f"  per additional buggy derivative: {buggy_slope * 1000:7.1f} ms (every convention tried, then diagnosed)")

    paths = args.paths or [ROOT / "tests" / "runtime_cases", ROOT / "fixtures"]
    files = []
    for path in paths:
        if path.is_dir():
            files += [p for p in sorted(path.rglob("*.py")) if not p.name.startswith("hostile_")]
        elif path.suffix == ".py":
            files.append(path)
    if files:
        print("\n  per module, end to end (discovery + extraction + sandbox):")
    for path in files:
        text = path.read_text(encoding="utf-8")
        static = check_source(text, str(path), Settings()).diagnostics  # as `check --runtime` hands them over
        started = time.perf_counter()
        _, verdicts = check_module(text, str(path), Settings(), diagnostics=static)
        elapsed = time.perf_counter() - started
        try:
            shown = path.relative_to(ROOT)
        except ValueError:
            shown = path
        print(f"  {elapsed * 1000:7.0f} ms  {len(verdicts):3d} targets  {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
