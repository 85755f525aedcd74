"""The pre-check is sound: it never drops a file that a rule fires on.

For every registered rule, each INVALID case and each fixtures line marked
`# expect: CODE` must pass that rule's `needs`. The literal hints that speed the
pre-check up must never change a verdict of the regexes they guard.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlint import registry
from gradlint.engine import check_text
from gradlint.precheck import (
    _REORDER_EVERY,
    Need,
    Prechecker,
    _evidence,
    _fold,
    _TextState,
    fast_alternatives,
    literal_hint,
    required_clauses,
)
from gradlint.precheck_predicates import PREDICATES, repeated_element_store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXPECT = re.compile(r"#.*\bexpect:\s*(?P<codes>GL\d{3}(?:\s*,\s*GL\d{3})*)")
RULE_CODES = [code for code in registry.all_codes() if code not in registry.ENGINE_CODES]


def _invalid_cases() -> list:
    params = []
    for code in RULE_CODES:
        for number, case in enumerate(registry.load_rule(code).INVALID):
            params.append(pytest.param(code, case.source, id=f"{code}-invalid-{number}"))
    return params


def _fixture_expectations() -> list:
    params = []
    for path in sorted(FIXTURES.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        codes: set[str] = set()
        for line in text.splitlines():
            match = EXPECT.search(line)
            if match:
                codes |= {code.strip() for code in match.group("codes").split(",")}
        for code in sorted(codes):
            params.append(pytest.param(code, path, id=f"{path.relative_to(FIXTURES).as_posix()}-{code}"))
    return params


@pytest.mark.parametrize("code, source", _invalid_cases())
def test_every_invalid_case_passes_its_rules_precheck(code: str, source: str) -> None:
    assert code in registry.candidates(source, [code], thorough=True), (
        f"{code}'s needs {registry.RULES[code].needs} reject one of its own INVALID cases:\n{source}"
    )
    # And with every rule enabled, the rule is still among those run.
    assert code in registry.candidates(source, registry.all_codes(), thorough=True)


@pytest.mark.parametrize("code, path", _fixture_expectations())
def test_every_expected_fixture_finding_passes_the_precheck(code: str, path: Path) -> None:
    if code not in registry.RULES:
        pytest.skip(f"{code} is not registered yet")
    if code in registry.ENGINE_CODES:
        return
    text = path.read_text(encoding="utf-8")
    assert code in registry.candidates(text, [code], thorough=True), f"{code}'s needs reject {path.name}, which expects it"


@pytest.mark.parametrize("code", RULE_CODES)
def test_every_rule_has_needs_and_they_compile(code: str) -> None:
    needs = registry.RULES[code].needs
    assert needs, f"{code} has no needs: every file would be parsed for it"
    for pattern in needs:
        re.compile(pattern)


def _corpus() -> list[str]:
    """Texts the hints are checked on: rule cases, fixtures, and some stdlib modules."""
    texts = [p.source for code in RULE_CODES for kind in ("VALID", "INVALID") for p in getattr(registry.load_rule(code), kind)]
    texts += [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.rglob("*.py"))]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in ("json/decoder.py", "statistics.py", "random.py", "heapq.py", "colorsys.py", "fractions.py", "textwrap.py"):
        path = stdlib / name
        if path.exists():
            texts.append(path.read_text(encoding="utf-8"))
    return texts


def test_literal_hints_never_change_a_regex_verdict() -> None:
    patterns = sorted({pattern for code in RULE_CODES for pattern in registry.RULES[code].needs})
    for text in _corpus():
        for pattern in patterns:
            need = Need.of(pattern)
            assert need.matches(text) == (re.search(pattern, text) is not None), (pattern, text[:200])


@pytest.mark.parametrize(
    "pattern, hint",
    [
        (r"\bfor\b|\bwhile\b", {"for", "while"}),
        (r"\]\s*=", {"]"}),
        (r"\bsoftmax\w*\s*\(", {"softmax"}),
        (r"np\.(?:diag|outer)", {"diag", "outer"}),
        (r"(?:exp|log)\(", {"exp", "log"}),
        (r"a?b", {"b"}),
        (r"(?:ab)+cde", {"cde"}),
        (r"x*", None),
        (r"(?i)softmax", None),  # caseless: no literal is required as written
        (r"(?i:soft)max", {"max"}),
        (r"foo|\w+", None),  # one alternative requires nothing
        (r"[ab]c", {"c"}),
    ],
)
def test_literal_hint(pattern: str, hint: object) -> None:
    assert literal_hint(pattern) == (frozenset(hint) if hint is not None else None)  # type: ignore[arg-type]


PATTERNS = [
    r"\bfor\b|\bwhile\b", r"\]\s*=", r"ab?c", r"(?:x|yz)+w", r"a(?=b)b", r"(a|b)c\1", r"^def\b", r"(?i:Q)r",
    r"\b(?:lo|ex)\s*\(", r"\bex?\b|[=!]=", r"(?:ab|\bc)d|\b1(?:\.0*)?\s*-", r"[(,]\s*-?1\s*[,)]|\bwhile\b",
    r"(?i)\bfor", r"[|(]a|b\|", r"\b_x\b", r"(?:a|b)*c", r"(?i)def\s+\w*(?:back|grad)", r"(?!)", r"(?i)k|ſ",
]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.text(alphabet="abcdefghiklnoqrstwxyz_1.-,()|]=[ \n\\DEFGKR\u212a\u017f", max_size=40), st.sampled_from(PATTERNS))
def test_hints_and_alternatives_are_sound_on_generated_text(text: str, pattern: str) -> None:
    expected = re.search(pattern, text) is not None
    assert Need.of(pattern).matches(text) == expected
    assert any(re.search(part, text) for part in fast_alternatives(pattern)) == expected


@pytest.mark.parametrize(
    "pattern, parts",
    [
        (r"\bexp\s*\(|\be\s*\*\*", [r"exp(?<!\wexp)\s*\(", r"e(?<!\we)\s*\*\*"]),
        (r"\b(?:log|exp)\s*\(", [r"log(?<!\wlog)\s*\(", r"exp(?<!\wexp)\s*\("]),
        (r"(a)|\1", [r"(a)|\1"]),  # a backreference: never split
        (r"(?i)\bsoftmax", [r"(?i)\bsoftmax"]),
        (r"[|]a|b", [r"[|]a", "b"]),
    ],
)
def test_fast_alternatives(pattern: str, parts: list[str]) -> None:
    assert fast_alternatives(pattern) == parts


def test_caseless_and_never_matching_patterns() -> None:
    need = Need.of(r"(?i)def\s+\w*(?:backward|grad)")
    assert need.folded_hint == {"backward", "grad"} and need.hint is None
    assert need.matches("DEF my_Backward(x):") and not need.matches("def forward(x):")
    never = Need.of("(?!)")
    assert not never.matches("anything at all") and not never.parts


def test_prechecker_evaluates_shared_patterns_once_and_honours_all() -> None:
    checker = Prechecker({"GLA": (r"\bfor\b", r"\]\s*="), "GLB": (r"\bfor\b", "softmax"), "GLC": ()})
    assert checker.candidates("x = 1", thorough=True) == {"GLC"}
    assert checker.candidates("for i in x: J[i] = 0", thorough=True) == {"GLA", "GLC"}
    assert checker.candidates("for i in x: softmax(J)[i] = 0", thorough=True) == {"GLA", "GLB", "GLC"}


def test_a_file_no_rule_needs_is_not_parsed() -> None:
    result = check_text("import os\nprint(os.getcwd())\n", "/tmp/plain.py", registry.all_codes())
    assert not result.parsed and not result.diagnostics


# ---------------------------------------------------------------------------
# Required clauses (round 1 of the Prechecker) never reject a text a pattern matches
# ---------------------------------------------------------------------------


CLAUSE_PATTERNS = PATTERNS + [
    r"(?i:Ab)c", r"[Bb]ack[Ww]ard", r"[*@]x|y[=!]=", r"a(?<=[.\s]a)b", r"(?i)k[Rr]", r"x(?=yz)", r"(?:ab|\bcd)+e",
    r"(?i:ſ)t", r"d[e]f", r"(?<![\w.])if\s+\w+\s*[=!]=",
]


@settings(max_examples=500, deadline=None, derandomize=True)
@given(
    st.text(alphabet="abcdefiklnoqrstwxyzABEKRW_1.-,()|]=[@*! \n\\\u212a\u017f\u0130\u0131", max_size=40),
    st.sampled_from(CLAUSE_PATTERNS),
)
def test_required_clauses_hold_on_every_text_a_pattern_matches(text: str, pattern: str) -> None:
    if re.search(pattern, text) is not None:
        assert _TextState(text).holds(_evidence(pattern)), (pattern, required_clauses(pattern), text)


def test_required_clauses_of_the_registry_hold_on_the_corpus() -> None:
    patterns = sorted({p for code in RULE_CODES for p in registry.RULES[code].needs if not p.startswith("predicate:")})
    for text in _corpus():
        state = _TextState(text)
        for pattern in patterns:
            if re.search(pattern, text) is not None:
                assert state.holds(_evidence(pattern)), (pattern, text[:200])


@pytest.mark.parametrize(
    "pattern, clauses",
    [
        (r"\bfor\b|\bwhile\b", [({"for", "while"}, set())]),
        (r"[*@]|outer", [({"*", "@", "outer"}, set())]),
        (r"(?:def|class)\s+\w*[Bb]ackward", [(set(), {"backward"}), ({"def", "class"}, set())]),
        (r"\b(?:exp|tanh)\s*\(|[Gg]rad", [({"exp", "tanh"}, {"grad"})]),  # plain and caseless alternatives
        (r"exp(?<!\wexp)\s*\(", [({"exp"}, set()), ({"("}, set())]),
        (r"(?i)grad", [(set(), {"grad"})]),
        (r"x*", []),
    ],
)
def test_required_clauses(pattern: str, clauses: list) -> None:
    assert list(required_clauses(pattern)) == [(frozenset(plain), frozenset(folded)) for plain, folded in clauses]


@pytest.mark.parametrize("text", ["\u0131f x", "\u0130F x", "\u017fin", "\u212aey", "IF", "caf\u00e9 If"])
def test_the_folded_text_keeps_every_caseless_match_of_an_ascii_literal(text: str) -> None:
    for literal in ("if", "sin", "key"):
        if re.search("(?i)" + literal, text):
            assert literal in _fold(text), (literal, text)


def test_prechecker_agrees_with_the_plain_regexes_and_predicates() -> None:
    """Rounds, shared literal searches and the learnt regex order change no verdict."""
    needs = {code: registry.RULES[code].needs for code in RULE_CODES}
    checker = Prechecker(needs)
    texts = _corpus()
    assert len(texts) > 2 * _REORDER_EVERY  # the order is re-learnt on the way
    for text in texts:
        expected = {
            code
            for code, patterns in needs.items()
            if all(
                PREDICATES[p[len("predicate:") :]](text) if p.startswith("predicate:") else re.search(p, text) is not None
                for p in patterns
            )
        }
        assert checker.candidates(text, thorough=True) == expected


def _expected_candidates(needs: dict[str, tuple[str, ...]], text: str) -> set:
    return {
        code
        for code, patterns in needs.items()
        if all(
            PREDICATES[p[len("predicate:") :]](text) if p.startswith("predicate:") else re.search(p, text) is not None
            for p in patterns
        )
    }


def _shuffled_orders(checker: Prechecker, seed: int) -> None:
    """Give the checker arbitrary learnt orders (each clause's literals, each rule's needs and
    predicates), and keep them arbitrary whenever it re-learns."""
    import random

    shuffle = random.Random(seed)

    def reorder() -> None:
        literals = checker._literals
        literals._ordered = {canonical: tuple(shuffle.sample(canonical, len(canonical))) for canonical in literals._ordered}
        literals._parts.clear()
        checker._plan_round_one()
        checker._steps = {code: tuple(shuffle.sample(steps, len(steps))) for code, steps in checker._steps.items()}

    reorder()
    checker._reorder = reorder  # type: ignore[method-assign]


@pytest.mark.parametrize("seed", [1, 2])
def test_any_learnt_order_gives_the_same_verdicts(seed: int) -> None:
    """The order of the literal searches, of the needs and of the predicates is only learnt for
    speed: in any order, thorough verdicts are the plain ones, and a run's verdicts (its first texts
    taking costly needs as met) are those of a checker that keeps the order it started with."""
    needs = {code: registry.RULES[code].needs for code in RULE_CODES}
    texts = _corpus()
    assert len(texts) > 2 * _REORDER_EVERY
    shuffled = Prechecker(needs)
    _shuffled_orders(shuffled, seed)
    for text in texts:
        assert shuffled.candidates(text, thorough=True) == _expected_candidates(needs, text)
    learning, fixed, shuffled = Prechecker(needs), Prechecker(needs), Prechecker(needs)
    fixed._reorder = lambda: None  # type: ignore[method-assign]
    _shuffled_orders(shuffled, seed)
    for text in texts:
        found = learning.candidates(text)
        assert found == fixed.candidates(text) == shuffled.candidates(text)
        assert learning.candidates(text) is found  # the same text asked again: not pre-checked again


def test_round_two_learns_to_try_the_cheapest_refutation_first() -> None:
    """Needs and predicates are ordered by measured seconds per refutation (the counts are set
    here, not measured, so that the test does not depend on timing); untried ones go first."""
    checker = Prechecker({"GLX": (r"\bfor\b", r"\]\s*=", "predicate:repeated_element_store")})
    stats = checker._stats
    stats[r"\bfor\b"] = [10, 1, 0.001]  # 1 ms per refutation
    stats[r"\]\s*="] = [10, 5, 0.004]  # 0.8 ms
    stats["predicate:repeated_element_store"] = [10, 10, 0.002]  # 0.2 ms
    checker._reorder()
    assert [step.need for step in checker._steps["GLX"]] == ["predicate:repeated_element_store", r"\]\s*=", r"\bfor\b"]
    assert [test.pattern for test in checker._order["GLX"]] == [r"\]\s*=", r"\bfor\b"]
    stats[r"\bfor\b"] = [0, 0, 0.0]
    checker._reorder()
    assert checker._steps["GLX"][0].need == r"\bfor\b"


def test_round_one_learns_to_try_the_literal_most_often_found_first() -> None:
    checker = Prechecker({"GLX": (r"\b(?:tanh|sigmoid)\s*\(",)})
    literals = checker._literals
    clause = literals.clause(("tanh", "sigmoid"), ())
    assert [literals.literal[number] for number in clause] == ["tanh", "sigmoid"]  # as derived: shortest first
    for text in ["y = sigmoid(x)"] * 3 + ["z = 1"]:
        _TextState(text, literals).all_hold((clause,))
    checker._reorder()
    assert [literals.literal[number] for number in literals.clause(("tanh", "sigmoid"), ())] == ["sigmoid", "tanh"]
    assert checker.candidates("y = tanh(x)", thorough=True) == {"GLX"}
    assert checker.candidates("y = Tanh(x)", thorough=True) == frozenset()


# Plain and caseless literals that contain one another (a caseless one absent: a plain one containing
# it lowercased is absent; a plain one present: a caseless one inside it lowercased is present).
_OVERLAPPING_NEEDS = {
    "GLA": (r"grad", r"(?i:gr)"),
    "GLB": (r"(?i)rad", r"Grad|kin"),
    "GLC": (r"(?i:grad)\w", r"ad"),
    "GLD": (r"K[Ii]n|sin", r"(?i)sin"),
    "GLE": (r"[Gg]rad", r"(?i:d)"),
}
_OVERLAPPING = Prechecker(_OVERLAPPING_NEEDS)  # one checker for all examples: it re-learns on the way


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet="gGrRaAdDkKiInNsS \u212a\u017f\u0130\u0131x", max_size=24))
def test_literals_of_both_kinds_that_contain_one_another_change_no_verdict(text: str) -> None:
    assert _OVERLAPPING.candidates(text, thorough=True) == _expected_candidates(_OVERLAPPING_NEEDS, text)
    literals = _OVERLAPPING._literals
    grad, folded_gr = literals.number[("grad", False)], literals.number[("gr", True)]
    assert folded_gr in literals.inside[grad] and grad in literals.around[folded_gr]


def test_a_predicate_told_which_literals_are_absent_gives_the_same_verdict() -> None:
    """The pre-check tells a predicate which literals it already knows absent; the predicate skips the
    searches that start with them, and must reach the verdict it reaches on the text alone."""
    asked: set[str] = set()

    def absent(literal: str) -> bool:
        asked.add(literal)
        return literal not in text

    for text in _corpus():
        for name, predicate in PREDICATES.items():
            assert predicate(text, absent) == predicate(text), (name, text[:200])
    assert {"sum", "nanmax", "diag", "eye", "sigmoid", "dvalues", "class"} <= asked


def test_the_predicates_compile_their_regexes_only_when_used() -> None:
    """Compiling them all (re's compiler is pure Python) cost milliseconds of every run's start."""
    import subprocess
    import sys

    probe = (
        "import gradlint.precheck_predicates as p\n"
        "from gradlint.lazy_regex import LazyRegex\n"
        "lazy = [v for v in vars(p).values() if isinstance(v, LazyRegex)]\n"
        "lazy += [x for v in vars(p).values() if isinstance(v, (tuple, dict)) for x in (v.values() if isinstance(v, dict) else v) if isinstance(x, LazyRegex)]\n"
        "print(len(lazy), sum(regex.is_compiled for regex in lazy))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) > 30 and out[1] == "0"
    from gradlint.lazy_regex import LazyRegex

    regex = LazyRegex(r"(a)(b)?")
    assert regex.pattern == "(a)(b)?" and not regex.is_compiled
    assert regex.search("xab").groups() == ("a", "b") and regex.match("xa", 1).group() == "a"
    assert regex.is_compiled and regex.search("ab").re is regex.compiled
    assert [m.start() for m in regex.finditer("aab")] == [0, 1] and regex.fullmatch("ab") and regex.findall("a") == [("a", "")]
    with pytest.raises(AttributeError):
        regex.sub  # noqa: B018 - not one of the methods used
    assert LazyRegex("AB", re.IGNORECASE).search("xab")


def test_predicate_needs_must_name_a_known_predicate() -> None:
    with pytest.raises(KeyError):
        Prechecker({"GLX": (r"\bfor\b", "predicate:no_such_predicate")})
    checker = Prechecker({"GLX": (r"\bfor\b", "predicate:repeated_element_store")})
    assert checker.candidates("for i in r:\n    J[i] = 1\n    J[i] = 2\n", thorough=True) == {"GLX"}
    assert checker.candidates("for i in r:\n    J[i] = 1\n", thorough=True) == set()


# ---------------------------------------------------------------------------
# GL101's predicate: every text the rule fires on passes it
# ---------------------------------------------------------------------------


def _gl101_fires(source: str) -> bool:
    result = check_text(source, "/tmp/gl101_case.py", ["GL101"], precheck=False)
    return any(d.code == "GL101" for d in result.diagnostics)


GL101_FIRING = [
    "for i in r:\n    (J[i]) = 1\n    (J[i]) = 2\n",  # parenthesised targets: `) =`, no `] =`
    "for i in r:\n    J[i] \\\n        = 1\n    J[i] = 2\n",  # a continuation before `=`
    "for i in r:\n\tJ[i,\n\t  i] = 1\n\tJ[i, i] = 2\n",  # tabs; the target over two lines
    "for i in r:\r\n    J[i] = 1\r\n    J[i] = 2\r\n",  # CRLF
    "for i in r: J[i] = 1; J[i] = 2\n",  # a one-line suite
    "for i in r:\n    for j in r:\n        if i == j: J[i][j] = 1\n        J[i][j] = 2\n",  # case B, suite branch
    "for i in r:\n    for j in r:\n        if (i) is (j):\n            J[i][j] = 1\n            x = J\n        J[i][j] = 2\n",
    "while k < n:\n    M.T [k] = 1\n    s = ']= not a store'\n    M.T [k] = 2\n",  # a blank before `[`, a string
    "for i in r:\n    J[i] = 1  # J[i] = 9\n\n    # comment\n    J[i] = 2\n",
    "for i in r:\n    J[i] = lambda x=1: x\n    J[i] = 0\n",
    "for (a, b) in r:\n    P[a, b] = f'{a}'\n    P[a, b] = 0\n",
    "def f():\n    for i in r:\n        self.J[i] = 1\n        self.J[i] = 2\n",
]


@pytest.mark.parametrize("source", GL101_FIRING)
def test_gl101_predicate_admits_texts_the_rule_fires_on(source: str) -> None:
    assert _gl101_fires(source), "the case should make GL101 fire"
    assert repeated_element_store(source)
    assert "GL101" in registry.candidates(source, ["GL101"], thorough=True)


GL101_SILENT = [
    "d = {}\nfor k in keys:\n    d[k] = 1\n\ndef g():\n    d[k] = 2\n",  # two functions
    "for i in r:\n    J[i] = 1\n    print(J)\n    J[i] = 2\n",  # the base is read between
    "for i in r:\n    J[i] = 1\n    if c:\n        pass\n    J[i] = 2\n",  # a compound statement between
    "for i in r:\n    J['a'] = 1\n    J['a'] = 2\n",  # no name in the index
    "for i in r:\n    J[k] = 1\n    J[k] = 2\n",  # the index is no loop variable
    "for i in r:\n    J[i] = 1\n    return J\n",
    ">>> for i in r:\n...     J[i] = 1\n>>> J[i] = 2\n",
]


@pytest.mark.parametrize("source", GL101_SILENT)
def test_gl101_predicate_rejects_texts_without_a_possible_pair(source: str) -> None:
    assert not repeated_element_store(source)


_TARGETS = [
    "J[i][j]", "J[i, j]", "J[i]", "self.J[i]", "(J[i])", "J [i]", "J[ i ]", "J[i,\n{ind}  j]", "J[i][j] \\\n{ind}",
    "J[k]", "J[(i)]", "J[i]\t", "J[i, # c\n{ind} j]", "J['a', i]", 'J["]", i]', "H[i, i]", "J[a.b, i]", "(J)[i]",
]
_VALUES = [
    "0", "s[i]", "J[i][j] * 2", "-s[i] * s[j]", '"]= x"', "lambda x=1: x", "(1 +\n{ind}  2)", "'''a\n]= b'''",
    "K[i] = 3", "f'{J}'", "s[j]",
]
_OTHERS = [
    "x = 1", "i += 1", "print(J)", "pass", "s = 'J[i] = 2'", "y = s[i]", "match = 3", "t = (1,\n{ind}     2)",
    "u = '''\n{ind}J[i] = 9\n'''", "z = f'{J}'", "w = s[i]  # J", "return J", "break", "continue",
]
_HEADERS = ["if i == j:", "if i is j:", "if (i) == (j):", "if k == l:", "if c:", "for k in r:", "while k < n:", "with m:"]


def _gl101_program(seed: int) -> str:
    """A random loop nest mixing element stores, other statements and branches, in varied layouts."""
    import random

    rnd = random.Random(seed)
    unit = rnd.choice(["    ", "  ", "\t"])
    targets = rnd.sample(_TARGETS, 2)  # few targets per program: stores to one element recur

    def small(ind: str) -> str:
        roll = rnd.random()
        if roll < 0.55:
            return (rnd.choice(targets) + " = " + rnd.choice(_VALUES)).replace("{ind}", ind)
        return rnd.choice(_OTHERS).replace("{ind}", ind)

    def block(ind: str, depth: int) -> list[str]:
        lines = []
        for _ in range(rnd.randint(1, 4)):
            roll = rnd.random()
            if roll < 0.6 or depth > 2:
                lines.append(ind + "; ".join(small(ind) for _ in range(rnd.choice([1, 1, 1, 2]))))
            elif roll < 0.7:
                lines.append(ind + rnd.choice(_HEADERS) + " " + small(ind))
            else:
                lines.append(ind + rnd.choice(_HEADERS))
                lines += block(ind + unit, depth + 1)
        return lines

    lines = ["def f(J, s, n):", unit + rnd.choice(["for i in range(n):", "while i < n:", "for i, j in p:"])]
    lines += [unit * 2 + "for j in range(n):"] + block(unit * 3, 1) if rnd.random() < 0.6 else block(unit * 2, 1)
    newline = rnd.choice(["\n", "\r\n"])
    return newline.join(lines) + newline


def test_gl101_predicate_admits_every_generated_program_the_rule_fires_on() -> None:
    fired = 0
    for seed in range(150):
        source = _gl101_program(seed)
        if _gl101_fires(source):
            fired += 1
            assert repeated_element_store(source), source
    assert fired >= 20  # the generator does reach the rule


def test_gl101_fast_target_path_agrees_with_the_backward_scan() -> None:
    """Where _SIMPLE_TARGET reads a store target, the backward scan starts it at the same place."""
    from gradlint import precheck_predicates as predicates

    texts = _corpus() + [_gl101_program(seed) for seed in range(40)]
    checked = 0
    for text in texts:
        for match in predicates._STORE_SITE.finditer(text):
            end = match.start() + max(0, match.group().rfind(")"))
            simple = predicates._SIMPLE_TARGET.fullmatch(text, text.rfind("\n", 0, end) + 1, end + 1)
            target = simple.group(1) if simple is not None else ""
            if simple is None or not target.isascii() or "''" in target or '""' in target:
                continue
            checked += 1
            assert predicates._target_start(text, end) == simple.start(1), text[simple.start() : end + 1]
    assert checked > 50


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the plans are written on 3.11+, whose needs use possessive loops; older versions plan theirs at run time")
def test_the_stored_plans_are_current() -> None:
    """gradlint/_precheck_plans.py spares each run deriving the plans of the registry's needs;
    after changing a need, `python -m gradlint.precheck` rewrites it."""
    from gradlint._precheck_plans import PLANS
    from gradlint.precheck import PREDICATE_PREFIX, Plan

    patterns = {need for entry in registry.RULES.values() for need in entry.needs if not need.startswith(PREDICATE_PREFIX)}
    assert set(PLANS) == patterns, "the stored plans are stale: run `python -m gradlint.precheck`"
    for pattern in sorted(patterns):
        assert Plan(*PLANS[pattern]) == Plan.derive(pattern), f"stale plan for {pattern!r}: run `python -m gradlint.precheck`"


def test_a_pattern_without_a_stored_plan_is_planned_on_the_fly() -> None:
    from gradlint.precheck import plan_of

    checker = Prechecker({"GL999": (r"\bfresh_literal_\d+\(",)})
    assert plan_of(r"\bfresh_literal_\d+\(").evidence
    assert checker.candidates("y = fresh_literal_7(x)\n", thorough=True) == {"GL999"}
    assert checker.candidates("y = fresh_literal_(x)\n", thorough=True) == frozenset()


# ---------------------------------------------------------------------------
# A run's first texts: costly regexes are not compiled for them
# ---------------------------------------------------------------------------

COSTLY = r"\bfresh(?:" + "|".join(f"_{n}" for n in range(400)) + r")\b"  # a long regex: slow to compile


def test_a_runs_first_texts_take_costly_needs_as_met() -> None:
    from gradlint.precheck import WARMUP_TEXTS

    checker = Prechecker({"GLX": (r"\bfresh", COSTLY)})
    rejected = "y = fresh_1x\n"  # passes the cheap need and the costly one's literals, not its regex
    for number in range(WARMUP_TEXTS):
        assert checker.candidates(rejected + " " * number) == {"GLX"}  # parsed on the cheap need alone
    assert checker.candidates(rejected + "\n") == frozenset()  # warmed up: every need counts
    assert Prechecker({"GLX": (r"\bfresh", COSTLY)}).candidates(rejected, thorough=True) == frozenset()
    assert checker.candidates("y = fresh_7\n") == {"GLX"}


def test_a_file_that_does_not_parse_is_reported_only_when_the_complete_needs_admit_it() -> None:
    """GL001 must not depend on whether the file came early in a run (parsed on fewer needs)."""
    from gradlint.engine import check_text

    registry._prechecker.cache_clear()  # a fresh run: in its warm-up
    broken_docstring_only = '"""\ndef f(x):\n    x += np.exp(x)\n"""\nx = (\n'  # GL402's evidence only in a string
    codes = ["GL001", "GL402"]
    assert registry.candidates(broken_docstring_only, ["GL402"]) == {"GL402"}  # parsed in the warm-up
    assert not check_text(broken_docstring_only, "/tmp/early.py", codes).diagnostics
    broken_code = "def f(x):\n    x += np.exp(x)\nx = (\n"
    assert [d.code for d in check_text(broken_code, "/tmp/code.py", codes).diagnostics] == ["GL001"]


# ---------------------------------------------------------------------------
# No need backtracks catastrophically: every regex is linear on real and hostile texts
# ---------------------------------------------------------------------------


def _hostile_texts() -> list[str]:
    """Shapes that make an ambiguous regex backtrack: long comment-laden brackets, runs of `#`,
    `@`, `*`, brackets and blanks, long lines."""
    return [
        "from m import (\n" + "    name_%d,  # a comment, with words: exp log sum # more\n" * 3000 + ")\n",
        "x = f(\n" + "    a,  # ( [ { #### \\ e ** 2 / (1 - p)\n" * 3000 + ")\n",
        "#" * 20000 + "\n",
        "@" * 5000 + "\n" + "    @ x\n" * 2000,
        "y = " + " * ".join(["x"] * 5000) + "\n",
        "z = " + "(" * 500 + "e ** " * 500 + ")" * 500 + "\n",
        "J[" + ", ".join(["i"] * 5000) + "] = 0\n" * 3,
        " " * 50000 + "e\n",
        "if " + " == ".join(["a"] * 3000) + ":\n    J[i] = 1\n",
        "\\\n" * 5000 + "exp\n",
        # CS231n's banner comments: a need's leading word, then a comment that ends in `#` before a run of
        # `#` (a `#[^\r\n]*` repeated without an end-of-line anchor has exponentially many readings)
        "".join(f"    # Store the {word}  #\n    {'#' * 78}\n" for word in _BANNER_WORDS) * 3,
    ]


_BANNER_WORDS = ("next", "prev", "exp", "log", "sum", "max", "softmax", "sigmoid", "tanh", "dout", "grad", "backward", "for")


def _largest_installed_sources(count: int) -> list[str]:
    import numpy

    root = Path(numpy.__file__).parent
    paths = sorted(root.rglob("*.py*"), key=lambda path: path.stat().st_size, reverse=True)
    return [path.read_text(encoding="utf-8", errors="replace") for path in paths if path.suffix in (".py", ".pyi")][:count]


def test_no_need_regex_backtracks_catastrophically() -> None:
    """A regex with ambiguous repeats can take hours on one file and hang a run (numpy's
    `__init__.pyi` once did). Every alternative of every need is searched in the largest
    installed numpy sources (with their stubs) and in hostile texts, under a time limit."""
    import signal

    from gradlint.precheck import PREDICATE_PREFIX, plan_of

    def stop(signum: int, frame: object) -> None:
        raise TimeoutError

    alternatives = sorted(
        {alt for entry in registry.RULES.values() for need in entry.needs if not need.startswith(PREDICATE_PREFIX) for alt in plan_of(need).alternatives}
    )
    texts = _hostile_texts() + _largest_installed_sources(12)
    previous = signal.signal(signal.SIGALRM, stop)
    slow = []
    try:
        for source in alternatives:
            regex = re.compile(source)
            for number, text in enumerate(texts):
                signal.alarm(2)
                try:
                    regex.search(text)
                except TimeoutError:
                    slow.append((source[:120], number))
                finally:
                    signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert not slow, f"regexes that took over 2 s on a text (source, text number): {slow}"
