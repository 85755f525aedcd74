"""Is the pre-check sound on real code? Run every rule *without* it, then ask the needs.

    python benchmarks/precheck_soundness.py collect BASELINE.json [TREE ...]
    python benchmarks/precheck_soundness.py verify BASELINE.json

`collect` parses every Python file under the trees (default: this interpreter's
whole standard library with its tests, the installed numpy and scipy, the
fixtures gallery, tests/runtime_cases and every rule's VALID and INVALID cases)
and runs all rules on it with the pre-check switched off, recording which codes
fire on which file. That takes minutes; it depends only on the rules, so it is
done once. `verify` then re-reads each recorded file and checks that the current
`needs` (gradlint.registry) admit every code that fired on it: a rejected one is
a finding the pre-check would lose. Tightening the needs is verified in seconds.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradlint import registry  # noqa: E402
from gradlint.files import read_source  # noqa: E402

RULE_CODES = [code for code in registry.all_codes() if code not in registry.ENGINE_CODES]
CASE_PREFIX = "rule-case:"


def default_trees() -> list[Path]:
    trees = [Path(sysconfig.get_paths()["stdlib"]), ROOT / "fixtures", ROOT / "tests" / "runtime_cases"]
    for name in ("numpy", "scipy"):
        try:
            trees.append(Path(__import__(name).__file__).parent)
        except ImportError:
            pass
    return trees


def python_files(tree: Path) -> list[Path]:
    return sorted(path for path in tree.rglob("*.py") if "site-packages" not in path.relative_to(tree).parts)


def rule_cases() -> dict[str, str]:
    """Every VALID and INVALID case of every rule, keyed by a pseudo path."""
    cases = {}
    for code in RULE_CODES:
        rule = registry.load_rule(code)
        for kind in ("VALID", "INVALID"):
            for number, case in enumerate(getattr(rule, kind)):
                cases[f"{CASE_PREFIX}{code}-{kind}-{number}"] = case.source
    return cases


def fired_codes(item: tuple[str, str]) -> tuple[str, list[str]]:
    """The rule codes that fire on one text with the pre-check off."""
    from gradlint.engine import check_text

    filename, text = item
    try:
        result = check_text(text, filename if filename.startswith("/") else "/" + filename, RULE_CODES, precheck=False)
    except Exception as error:  # noqa: BLE001 - report, never stop the collection
        return filename, [f"ERROR {type(error).__name__}: {error}"]
    return filename, sorted({d.code for d in result.diagnostics})


def collect(out: Path, trees: list[Path]) -> None:
    items: list[tuple[str, str]] = list(rule_cases().items())
    for tree in trees:
        for path in python_files(tree):
            read = read_source(path)
            if read.text is not None and len(read.text) < 2_000_000:
                items.append((str(path.resolve()), read.text))
    print(f"running all rules without the pre-check on {len(items)} texts ...", file=sys.stderr)
    fired: dict[str, list[str]] = {}
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for filename, codes in pool.map(fired_codes, items, chunksize=8):
            if codes:
                fired[filename] = codes
    out.write_text(json.dumps(fired, indent=1, sort_keys=True))
    print(f"{len(fired)} texts have findings; written to {out}", file=sys.stderr)


def verify(baseline: Path) -> int:
    fired: dict[str, list[str]] = json.loads(baseline.read_text())
    cases = rule_cases()
    lost = 0
    checked = 0
    for filename, codes in sorted(fired.items()):
        text = cases.get(filename)
        if text is None:
            read = read_source(Path(filename))
            if read.text is None:
                continue
            text = read.text
        for code in codes:
            if code.startswith("ERROR") or code not in registry.RULES:
                continue
            checked += 1
            if code not in registry.candidates(text, [code], thorough=True):
                lost += 1
                print(f"LOST {code} on {filename}")
    print(f"{checked} (file, code) findings checked, {lost} rejected by the needs")
    return 1 if lost else 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "collect":
        collect(Path(argv[1]), [Path(a) for a in argv[2:]] or default_trees())
        return 0
    if len(argv) == 2 and argv[0] == "verify":
        return verify(Path(argv[1]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
