"""Side-by-side timings: gradlint against ruff, flake8, Fixit and libcst's own parse.

    pip install -e '.[bench]'
    python benchmarks/run.py                       # everything, 5 alternating rounds
    python benchmarks/run.py --scenarios a,c,e --repeats 3
    python benchmarks/run.py --no-fixit            # Fixit takes minutes per tree

Scenarios (each on a private copy in a temp folder, so no tool's default
excludes, such as `site-packages`, change what is checked, and every file has an
old modification time as in a real checkout):

  a  this interpreter's standard library, without site-packages and test folders
  b  the installed numpy and scipy sources
  c  a gradient-dense tree: fixtures/ replicated to a few hundred files
  d  warm re-runs with the cache (gradlint's and ruff's) on the trees chosen
     among a-c (all three when d is alone). In a development checkout the
     cache key includes the mtimes of gradlint's own modules: editing gradlint
     while this runs makes the warm runs cold.
  e  a one-file run as pre-commit makes it (one gradient module, cold)

Each round runs every tool once on the tree, in turn, so slow drifts of the
machine hit all tools alike; the table shows medians of wall time and CPU time
(the process and all its children, e.g. worker processes). Fixit and flake8
are slow, so they run `--slow-repeats` times (default 1) and Fixit under
`--fixit-timeout` seconds. "libcst parse" is the floor of gradlint's design:
one process reading and parsing every file with libcst, nothing else.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
SKIP_DIRS = {"test", "tests", "idle_test", "site-packages", "__pycache__"}
OLD = time.time() - 24 * 3600
BIN = Path(sys.executable).parent

PARSE_ONLY = r"""
import sys, time
start = time.perf_counter()
import libcst
imported = time.perf_counter()
failed = 0
for name in open(sys.argv[1], encoding="utf-8").read().splitlines():
    data = open(name, "rb").read()
    try:
        libcst.parse_module(data)
    except Exception:
        failed += 1
done = time.perf_counter()
print(f"{imported - start:.3f} {done - imported:.3f} {failed}", file=sys.stderr)
"""


def tool(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else (shutil.which(name) or name)


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    note: str = ""

    def median(self) -> tuple[float, float]:
        return statistics.median(self.wall), statistics.median(self.cpu)


def run(command: list[str], cwd: Path, timeout: float | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds (self + children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        note = "" if done.returncode in (0, 1) else f"exit {done.returncode}: {done.stderr.strip()[-200:]}"
        if "Traceback" in done.stderr:
            note = "TRACEBACK: " + done.stderr.strip()[-300:]
    except subprocess.TimeoutExpired:
        note = f"timed out after {timeout:.0f} s"
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, note


# -- trees ------------------------------------------------------------------------
def copy_tree(sources: list[tuple[Path, Path]], target: Path) -> int:
    count = 0
    for root, prefix in sources:
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root)
            if SKIP_DIRS.intersection(relative.parts[:-1]):
                continue
            destination = target / prefix / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            os.utime(destination, (OLD, OLD))
            count += 1
    return count


def build_trees(scenarios: set[str], workspace: Path, copies: int) -> dict[str, Path]:
    """The trees of the cold scenarios chosen; `d` alone means all three."""
    trees: dict[str, Path] = {}
    wanted = scenarios & {"a", "b", "c"} or ({"a", "b", "c"} if "d" in scenarios else set())
    if "a" in wanted:
        trees["a stdlib"] = workspace / "stdlib"
        copy_tree([(Path(sysconfig.get_paths()["stdlib"]), Path("stdlib"))], workspace / "stdlib")
    if "b" in wanted:
        sources = []
        for name in ("numpy", "scipy"):
            try:
                module = __import__(name)
            except ImportError:
                print(f"note: {name} is not installed; tree b is without it", file=sys.stderr)
                continue
            sources.append((Path(module.__file__).parent, Path(name)))
        if sources:
            trees["b numpy+scipy"] = workspace / "numpy_scipy"
            copy_tree(sources, workspace / "numpy_scipy")
    if "c" in wanted:
        dense = workspace / "dense"
        for copy in range(copies):
            copy_tree([(FIXTURES, Path(f"pkg{copy:03d}"))], dense)
        trees["c gradient-dense"] = dense
    return trees


def files_of(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*.py") if ".gradlint_cache" not in p.parts and ".ruff_cache" not in p.parts)


def size_of(tree: Path) -> tuple[int, int]:
    files = files_of(tree)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    return len(files), lines


# -- the tools ----------------------------------------------------------------------
def commands(tree: Path, warm: bool) -> dict[str, list[str]]:
    gradlint = [tool("gradlint"), "check", "--exit-zero", "--output-format", "concise", "."]
    ruff = [tool("ruff"), "check", "--select", "F,E,B", "--exit-zero", "-q", "."]
    if warm:
        return {"gradlint (warm cache)": gradlint, "ruff (warm cache)": ruff}
    return {
        "gradlint": gradlint[:2] + ["--no-cache"] + gradlint[2:],
        "ruff --no-cache": ruff[:2] + ["--no-cache"] + ruff[2:],
    }


def parse_floor(tree: Path, workspace: Path) -> tuple[float, float, float, int]:
    listing = workspace / f"files-{tree.name}.txt"
    listing.write_text("\n".join(str(p) for p in files_of(tree)), encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-c", PARSE_ONLY, str(listing)], capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    import_seconds, parse_seconds, failed = done.stderr.split()[-3:]
    return float(import_seconds), float(parse_seconds), cpu, int(failed)


def bench_tree(name: str, tree: Path, args: argparse.Namespace, workspace: Path, warm: bool) -> dict[str, Timing]:
    timings: dict[str, Timing] = {}
    fast = commands(tree, warm)
    slow: dict[str, list[str]] = {}
    if not warm and not args.no_slow:
        slow["flake8"] = [tool("flake8"), "--exit-zero", "."]
        if not args.no_fixit:
            slow["fixit lint"] = [tool("fixit"), "lint", "."]
    if warm:
        for command in fast.values():
            run(command, tree)  # fill the caches
    for round_number in range(args.repeats):
        for label, command in fast.items():
            wall, cpu, note = run(command, tree)
            timing = timings.setdefault(label, Timing())
            timing.wall.append(wall)
            timing.cpu.append(cpu)
            timing.note = timing.note or note
        if round_number < args.slow_repeats:
            for label, command in slow.items():
                timeout = args.fixit_timeout if label.startswith("fixit") else None
                wall, cpu, note = run(command, tree, timeout)
                timing = timings.setdefault(label, Timing())
                timing.wall.append(wall)
                timing.cpu.append(cpu)
                timing.note = timing.note or note
        print(f"  {name}: round {round_number + 1}/{args.repeats} done", file=sys.stderr)
    if not warm:
        walls, cpus = [], []
        for _ in range(max(1, min(args.repeats, 3))):
            imported, parsed, cpu, failed = parse_floor(tree, workspace)
            walls.append(imported + parsed)
            cpus.append(cpu)
        timings["libcst parse only"] = Timing(walls, cpus, f"{failed} files libcst cannot parse" if failed else "")
    return timings


def one_file(args: argparse.Namespace, workspace: Path) -> dict[str, Timing]:
    folder = workspace / "one"
    folder.mkdir(exist_ok=True)
    target = folder / "softmax_layer.py"
    shutil.copyfile(FIXTURES / "softmax_question.py", target)
    os.utime(target, (OLD, OLD))
    runs = {
        "gradlint (cold, parses)": [tool("gradlint"), "check", "--no-cache", "--exit-zero", target.name],
        "gradlint (cached)": [tool("gradlint"), "check", "--exit-zero", target.name],
        "ruff --no-cache": [tool("ruff"), "check", "--no-cache", "--select", "F,E,B", "--exit-zero", "-q", target.name],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    run(runs["gradlint (cached)"], folder)
    timings: dict[str, Timing] = {}
    for _ in range(max(args.repeats, 5)):
        for label, command in runs.items():
            wall, cpu, note = run(command, folder)
            timing = timings.setdefault(label, Timing())
            timing.wall.append(wall)
            timing.cpu.append(cpu)
            timing.note = timing.note or note
    return timings


def report(title: str, timings: dict[str, Timing], baseline: str | None, floor: str | None) -> list[dict[str, object]]:
    print(f"\n{title}")
    print(f"  {'tool':28} {'wall (s)':>9} {'cpu (s)':>9} {'wall/ruff':>10} {'cpu/libcst':>11}  runs  note")
    base = timings[baseline].median()[0] if baseline in timings else None
    floor_cpu = timings[floor].median()[1] if floor in timings else None
    rows = []
    for label, timing in timings.items():
        wall, cpu = timing.median()
        versus_ruff = f"{wall / base:9.2f}x" if base else ""
        versus_floor = f"{cpu / floor_cpu:10.2f}x" if floor_cpu else ""
        print(f"  {label:28} {wall:9.3f} {cpu:9.3f} {versus_ruff:>10} {versus_floor:>11}  {len(timing.wall):4d}  {timing.note}")
        rows.append({"scenario": title, "tool": label, "wall": wall, "cpu": cpu, "runs": len(timing.wall), "note": timing.note})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default="a,b,c,d,e", help="comma-separated subset of a,b,c,d,e")
    parser.add_argument("--repeats", type=int, default=5, help="alternating rounds for gradlint and ruff (medians)")
    parser.add_argument("--slow-repeats", type=int, default=1, help="rounds that also run flake8 and Fixit")
    parser.add_argument("--no-fixit", action="store_true", help="skip Fixit")
    parser.add_argument("--no-slow", action="store_true", help="skip flake8 and Fixit")
    parser.add_argument("--fixit-timeout", type=float, default=600.0, help="seconds before a Fixit run is stopped")
    parser.add_argument("--copies", type=int, default=10, help="copies of fixtures/ in tree c (a few hundred files)")
    parser.add_argument("--json", type=Path, help="also write the medians to this file")
    args = parser.parse_args()
    scenarios = set(args.scenarios.split(","))
    # `pip install .` byte-compiles gradlint; an editable install (or PYTHONDONTWRITEBYTECODE)
    # leaves it to each run to compile every module again. Time gradlint as users run it.
    compileall.compile_dir(str(REPO / "gradlint"), quiet=1)
    # Likewise the tools run as they do for users, who keep bytecode: with PYTHONDONTWRITEBYTECODE
    # set (as in some CI images), every run would compile what the runs before it compiled, here
    # the methods dataclasses generate and the regexes, which gradlint keeps beside its own bytecode
    # (gradlint/_startup.py). One run fills those caches, as a user's first run does.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    run([tool("gradlint"), "check", "--no-cache", "--exit-zero", str(FIXTURES / "softmax_question.py")], REPO)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="gradlint-bench-") as temporary:
        workspace = Path(temporary)
        trees = build_trees(scenarios, workspace, args.copies)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; medians of {args.repeats} alternating rounds")
        for name, tree in trees.items():
            files, lines = size_of(tree)
            print(f"tree {name}: {files} files, {lines} lines", file=sys.stderr)
            if name[0] in scenarios:
                timings = bench_tree(name, tree, args, workspace, warm=False)
                rows += report(f"({name[0]}) {name[2:]}: {files} files, {lines} lines, cold", timings, "ruff --no-cache", "libcst parse only")
            if "d" in scenarios:
                timings = bench_tree(name, tree, args, workspace, warm=True)
                rows += report(f"(d) {name[2:]}: warm re-run", timings, "ruff (warm cache)", None)
        if "e" in scenarios:
            rows += report("(e) one file, as pre-commit runs it", one_file(args, workspace), "ruff --no-cache", None)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
