"""How selective each rule's `needs` are: the share of real-world files they let through.

    python benchmarks/precheck_report.py [TREE ...]

Default trees: this interpreter's standard library (without tests and
site-packages) and the installed numpy and scipy. A rule whose needs pass many
of these files (which hold no hand-written gradient code) makes gradlint parse
them: tighten its needs with a literal the rule cannot fire without.
"""

from __future__ import annotations

import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gradlint import registry  # noqa: E402
from gradlint.files import read_source  # noqa: E402

SKIP_PARTS = {"test", "tests", "idle_test", "site-packages", "__pycache__"}


def default_trees() -> list[Path]:
    trees = [Path(sysconfig.get_paths()["stdlib"])]
    for name in ("numpy", "scipy"):
        try:
            module = __import__(name)
            trees.append(Path(module.__file__).parent)
        except ImportError:
            pass
    return trees


def python_files(tree: Path) -> list[Path]:
    skip = SKIP_PARTS - ({"site-packages"} if "site-packages" in tree.parts else set())
    return sorted(p for p in tree.rglob("*.py") if not skip.intersection(p.relative_to(tree).parts[:-1]))


def main(argv: list[str]) -> None:
    trees = [Path(a) for a in argv] or default_trees()
    codes = [c for c in registry.all_codes() if c not in registry.ENGINE_CODES]
    for tree in trees:
        texts = []
        for path in python_files(tree):
            read = read_source(path)
            if read.text is not None:
                texts.append(read.text)
        start = time.perf_counter()
        passing = {code: 0 for code in codes}
        union = 0
        for text in texts:
            found = registry.candidates(text, codes, thorough=True)
            union += bool(found)
            for code in found:
                passing[code] += 1
        elapsed = time.perf_counter() - start
        total = len(texts)
        print(f"\n{tree}: {total} files, pre-check of all rules {elapsed * 1000:.0f} ms")
        print(f"  parsed (any rule passes): {union} ({100 * union / max(total, 1):.1f}%)")
        for code in sorted(codes, key=lambda c: -passing[c]):
            share = 100 * passing[code] / max(total, 1)
            print(f"  {code} {share:5.1f}%  needs={registry.RULES[code].needs}")


if __name__ == "__main__":
    main(sys.argv[1:])
