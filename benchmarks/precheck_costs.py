"""Where the pre-check's own time goes: per rule and per need, over real trees.

    python benchmarks/precheck_costs.py [TREE ...]

Default trees: the standard library, numpy and scipy (as precheck_report.py).
For each tree: the CPU time of the whole pre-check and of its rounds (literal
clauses; regexes; predicates), then, per rule, in how many files its literal
clauses hold ("in play"), how many of those its regexes and predicates refute,
and what its regexes and predicates cost; then the costliest needs with the
clauses (gradlint.precheck.required_clauses) that let them run. A need that
runs on most files and refutes them by regex is the one to give a rarer literal.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from precheck_report import default_trees, python_files  # noqa: E402

from gradlint import registry  # noqa: E402
from gradlint.files import read_source  # noqa: E402
from gradlint.precheck import Prechecker, _TextState  # noqa: E402


def main(argv: list[str]) -> None:
    trees = [Path(a) for a in argv] or default_trees()
    codes = [c for c in registry.all_codes() if c not in registry.ENGINE_CODES]
    needs = {code: registry.RULES[code].needs for code in codes}
    for tree in trees:
        texts = [read.text for read in map(read_source, python_files(tree)) if read.text is not None]
        checker = Prechecker(needs)
        start = time.process_time()
        for text in texts:
            checker.candidates(text, thorough=True)
        total = time.process_time() - start  # the order of round 2 is now learnt, as in a long run
        literal_time = regex_time = 0.0
        in_play: Counter[str] = Counter()
        refuted: Counter[str] = Counter()
        rule_regex: Counter[str] = Counter()
        rule_predicate: Counter[str] = Counter()
        need_time: Counter[tuple[str, str]] = Counter()
        need_runs: Counter[tuple[str, str]] = Counter()
        need_refutes: Counter[tuple[str, str]] = Counter()
        for text in texts:
            state = _TextState(text, checker._literals)
            started = time.process_time()
            alive = [rule for rule in checker.gated if all(state.holds(test.evidence) for test in rule.tests)]
            literal_time += time.process_time() - started
            for rule in alive:
                in_play[rule.code] += 1
                passed = True
                for test in checker._order[rule.code]:
                    known = test.pattern in state.verdicts
                    started = time.process_time()
                    verdict = state.matches(test)
                    spent = time.process_time() - started
                    regex_time += spent
                    rule_regex[rule.code] += spent
                    if not known:
                        need_time[(rule.code, test.pattern)] += spent
                        need_runs[(rule.code, test.pattern)] += 1
                        need_refutes[(rule.code, test.pattern)] += not verdict
                    if not verdict:
                        passed = False
                        break
                if passed:
                    started = time.process_time()
                    passed = all(state.predicate(name) for name in rule.predicates)
                    rule_predicate[rule.code] += time.process_time() - started
                refuted[rule.code] += not passed
        predicate_time = sum(rule_predicate.values())
        print(f"\n{tree}: {len(texts)} files; pre-check {total * 1000:.0f} ms CPU (rounds, measured apart: literal "
              f"clauses {literal_time * 1000:.0f} ms, regexes {regex_time * 1000:.0f} ms, predicates {predicate_time * 1000:.0f} ms)")
        for code in sorted(in_play, key=lambda c: -(rule_regex[c] + rule_predicate[c])):
            print(f"  {code}: in play {in_play[code]:5}, refuted {refuted[code]:5}; regexes {rule_regex[code] * 1000:6.1f} ms,"
                  f" predicates {rule_predicate[code] * 1000:6.1f} ms")
        print("  costliest needs (time, runs, refutations, clauses, pattern):")
        by_code = {rule.code: rule for rule in checker.gated}
        for (code, pattern), spent in need_time.most_common(8):
            test = next(t for t in by_code[code].tests if t.pattern == pattern)
            clauses = [sorted(plain) + [f"(i){literal}" for literal in folded] for plain, folded in test.evidence]
            print(f"    {spent * 1000:6.1f} ms {need_runs[(code, pattern)]:5} {need_refutes[(code, pattern)]:5}"
                  f"  {code} {clauses}  {pattern[:70]}")


if __name__ == "__main__":
    main(sys.argv[1:])
