"""The pre-check is sound: it never drops a file that a rule fires on.

For every registered rule, each INVALID case and each fixtures line marked
`# expect: CODE` must pass that rule's `needs`. The literal hints that speed the
pre-check up must never change a verdict of the regexes they guard.
"""

from __future__ import annotations

import re
import sysconfig
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlint import registry
from gradlint.engine import check_text
from gradlint.precheck import Need, Prechecker, fast_alternatives, literal_hint

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
    assert code in registry.candidates(source, [code]), (
        f"{code}'s needs {registry.RULES[code].needs} reject one of its own INVALID cases:\n{source}"
    )
    # And with every rule enabled, the rule is still among those run.
    assert code in registry.candidates(source, registry.all_codes())


@pytest.mark.parametrize("code, path", _fixture_expectations())
def test_every_expected_fixture_finding_passes_the_precheck(code: str, path: Path) -> None:
    if code not in registry.RULES:
        pytest.skip(f"{code} is not registered yet")
    if code in registry.ENGINE_CODES:
        return
    text = path.read_text(encoding="utf-8")
    assert code in registry.candidates(text, [code]), f"{code}'s needs reject {path.name}, which expects it"


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
    assert checker.candidates("x = 1") == {"GLC"}
    assert checker.candidates("for i in x: J[i] = 0") == {"GLA", "GLC"}
    assert checker.candidates("for i in x: softmax(J)[i] = 0") == {"GLA", "GLB", "GLC"}


def test_a_file_no_rule_needs_is_not_parsed() -> None:
    result = check_text("import os\nprint(os.getcwd())\n", "/tmp/plain.py", registry.all_codes())
    assert not result.parsed and not result.diagnostics
