"""The pre-check's shortcuts, each checked against its own claim: the word digest (literals of ASCII
word characters searched in the distinct word runs of a text), whole words and word probes (an
alternative is skipped when the digest lacks the word run it needs), clauses distributed over an
alternation (`back(?:ward|prop)` requires "backward" or "backprop"), and the faster readings of the
GL101 and GL401 predicates. None changes a verdict: tests/test_precheck.py checks the Prechecker
against the plain regexes and predicates on a corpus."""

from __future__ import annotations

import random
import re
import sysconfig
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlint import precheck_predicates as predicates
from gradlint import registry
from gradlint.precheck import (
    _DIGEST_MIN,
    Prechecker,
    _TextState,
    _word_digest,
    fast_alternatives,
    required_clauses,
    whole_word,
    word_probe,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RULE_CODES = [code for code in registry.all_codes() if code not in registry.ENGINE_CODES]
WORD_RUN = re.compile(r"[A-Za-z0-9_]+")


def _texts() -> list[str]:
    texts = [path.read_text(encoding="utf-8") for path in sorted(FIXTURES.rglob("*.py"))]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    names = ("json/decoder.py", "statistics.py", "random.py", "heapq.py", "textwrap.py", "tokenize.py", "ast.py",
             "shutil.py", "fractions.py", "difflib.py", "glob.py", "bisect.py")  # several are not ASCII in some versions
    for name in names:
        path = stdlib / name
        if path.exists():
            texts.append(path.read_text(encoding="utf-8"))
    return texts


def _digested() -> list[str]:
    texts = [text for text in _texts() if text.isascii() and len(text) >= _DIGEST_MIN]
    assert len(texts) >= 5
    return texts


def _registry_alternatives() -> set[str]:
    """Every fast alternative of every regex need in the registry."""
    needs = [need for code in RULE_CODES for need in registry.RULES[code].needs if not need.startswith("predicate:")]
    return {source for need in needs for source in fast_alternatives(need)}


# ---------------------------------------------------------------------------
# The word digest
# ---------------------------------------------------------------------------


def test_the_digest_holds_a_word_literal_iff_the_text_does() -> None:
    checker = Prechecker({code: registry.RULES[code].needs for code in RULE_CODES})
    literals = [literal for literal in checker._literals.literal if WORD_RUN.fullmatch(literal)]
    assert len(literals) > 30
    chooser = random.Random(7)
    for text in _digested():
        digest = _word_digest(text)
        assert len(digest) < len(text)
        runs = WORD_RUN.findall(text)
        probes = literals + [run[i:j] for run in chooser.sample(runs, 40) for i, j in [sorted(chooser.sample(range(len(run) + 1), 2))] if j > i]
        probes += ["zzqx", "np_exp_zz", "Backward", "BACKPROP"]
        for probe in probes:
            assert (probe in digest) == (probe in text), probe
            assert (probe.lower() in digest.lower()) == (probe.lower() in text.lower()), probe


def test_the_digest_holds_exactly_the_whole_word_runs() -> None:
    for text in _digested():
        digest = _word_digest(text)
        runs = set(WORD_RUN.findall(text))
        assert set(digest.split()) == runs
        for run in list(runs)[:200]:
            assert f" {run} " in digest
            if len(run) > 1 and run[1:] not in runs:
                assert f" {run[1:]} " not in digest  # a part of a run is no whole word


@pytest.mark.parametrize("text", ["short = 1\n", "é = 1\n" + "x = 2\n" * 1000])
def test_a_short_or_non_ascii_text_is_its_own_digest(text: str) -> None:
    assert _word_digest(text) is text
    assert _TextState(text).has_word("nowhere")  # no digest: the regex decides


def test_known_absent_searches_word_literals_in_the_digest_only() -> None:
    text = next(text for text in _digested() if "sum" in text and "qqzx" not in text)
    state = _TextState(text)
    assert state.known_absent("qqzx") and not state.known_absent("sum")
    assert not state.known_absent("@@@@")  # not a word literal: never searched, so not known absent


# ---------------------------------------------------------------------------
# Whole words
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, word",
    [
        (r"exp(?<!\wexp)\s*\(", "exp"),
        (r"exp(?<!\wexp)[\s)\\]*(?:#[^\r\n]*[\r\n][\s)\\]*)*\(", "exp"),
        (r"def(?<!\wdef)[\s\\]+(?:\w*(?i:backward|backprop)|(?i:bprop|grad|gradient)\b)", "def"),
        (r"dout(?<!\wdout)\b", "dout"),
        (r"dout(?<!\wdout)(?!\w)", "dout"),
        (r"else(?<!\welse)(?:\s|\\|#[^\r\n]*[\r\n])*:", "else"),
        (r"log1p(?<!\wlog1p)(?:\s|#[^\r\n]*)*\(", "log1p"),
        (r"out(?<!\wout)(?=\s)\s*=", "out"),
        (r"end(?<!\wend)$", "end"),
        # must not derive a word: the match may go on with a word character, or ends right after the literal
        (r"exp(?<!\wexp)(?:\s*\(|it\b)", None),
        (r"exp(?:it)?\b", None),
        (r"\bexp\s*\(", None),  # not the literal-first spelling
        (r"exp(?<!\wexp)\s*", None),
        (r"exp(?<!\wexp)", None),
        (r"exp(?<!\wexp).", None),
        (r"exp(?<!\wexp)[^a]", None),
        (r"exp(?<!\wexp)(?=\w)", None),
        (r"exp(?<!\wexp)(?:\(|)", None),
        (r"exp(?<!\wexp)é", None),
        (r"exp(?<!\wexp)(?i:\()x", "exp"),
        (r"exp(?<!\wexp)\s*\d", None),
        (r"exp(?<!\wexpo)\s*\(", None),
        (r"exp(?<!\wexp)\(|\(", None),  # the word starts the first alternative only
        (r"exp(?<!\wexp)(?:\(|\[)", "exp"),
    ],
)
def test_whole_word(source: str, word: object) -> None:
    assert whole_word(source) == word


def _alternatives_with_words() -> list[tuple[str, str]]:
    sources = _registry_alternatives()
    found = sorted((source, word) for source in sources if (word := whole_word(source)) is not None)
    assert len(found) > 30
    return found


def test_every_match_of_a_whole_word_alternative_holds_the_word_whole() -> None:
    matched = 0
    for text in _texts() + [source for code in RULE_CODES for case in registry.load_rule(code).INVALID for source in [case.source]]:
        if not text.isascii():
            continue
        for source, word in _alternatives_with_words():
            for match in re.finditer(source, text):
                matched += 1
                start, end = match.start(), match.start() + len(word)
                assert text[start:end] == word
                assert not WORD_RUN.match(text[start - 1 : start] if start else "")
                assert not WORD_RUN.match(text[end : end + 1])
    assert matched > 100


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="exp(it)d_ \n#\\\t=:", max_size=40))
def test_whole_word_claim_on_generated_text(text: str) -> None:
    for source, word in _alternatives_with_words():
        for match in re.finditer(source, text):
            start, end = match.start(), match.start() + len(word)
            assert text[start:end] == word and not WORD_RUN.match(text[end : end + 1])
            assert start == 0 or not WORD_RUN.match(text[start - 1])


# ---------------------------------------------------------------------------
# Clauses distributed over an alternation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, clause",
    [
        ("backward|backprop", (frozenset({"backward", "backprop"}), frozenset())),
        ("[Bb]ackward|[Bb]ackprop", (frozenset(), frozenset({"backward", "backprop"}))),
        ("(?i:backward|backprop)", (frozenset(), frozenset({"backward", "backprop"}))),
        (r"x_(?:ab|cd)\d", (frozenset({"x_ab", "x_cd"}), frozenset())),
    ],
)
def test_a_literal_run_before_an_alternation_is_joined_to_each_alternative(pattern: str, clause: tuple) -> None:
    assert clause in required_clauses(pattern)


@pytest.mark.parametrize("pattern", ["diag|diagflat", r"back(?:ward|\w)", "back(?:ward|)"])
def test_no_clause_is_distributed_over_an_alternative_without_a_leading_literal(pattern: str) -> None:
    for plain, folded in required_clauses(pattern):
        assert not any(literal.startswith("back") and len(literal) > 4 for literal in plain | folded)
        assert "diagflat" not in plain


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="backwardpoBWP_( ", max_size=30))
def test_distributed_clauses_hold_on_every_matching_text(text: str) -> None:
    for pattern in ("backward|backprop", "[Bb]ackward|[Bb]ackprop", r"(?i:back(?:ward|prop))\(", r"b(?:a|o)(?:ck|p)"):
        if re.search(pattern, text):
            for plain, folded in required_clauses(pattern):
                assert any(literal in text for literal in plain) or any(literal in text.lower() for literal in folded)


# ---------------------------------------------------------------------------
# The predicates' faster readings
# ---------------------------------------------------------------------------


def _stands_before_operator_by_every_occurrence(text: str, left: str) -> bool:
    """The reading before the shortcut: every occurrence of the left's first word, one by one."""
    first = left.split(" ", 1)[0]
    rest = re.compile(re.escape(left[len(first) :]).replace("\\ ", r"\s+")) if first != left else None
    position = text.find(first)
    while position >= 0:
        before = text[position - 1 : position]
        if not (before.isalnum() or before == "_" or before == "." or (before and not before.isascii())):
            end = position + len(first)
            if rest is not None:
                matched = rest.match(text, end)
                end = matched.end() if matched is not None else None
            if end is not None and predicates._GL401_OPERATOR_AFTER.match(text, end):
                return True
        position = text.find(first, position + 1)
    return False


@pytest.mark.parametrize("count", [0, 1, predicates._GL401_FIND_LIMIT - 1, predicates._GL401_FIND_LIMIT, 200])
@pytest.mark.parametrize(
    "tail, left",
    [
        ("x - 1\n", "x"),
        ("bx - 1\n", "x"),
        (".x / 2\n", "x"),
        ("x // 2\n", "x"),
        ("x \\\n  # c\n  - 3\n", "x"),
        ("x [ i ]  -  m\n", "x [ i ]"),
        ("x[i] - m\n", "x [ i ]"),
        ("x [\n i ] /= m\n", "x [ i ]"),
        ("éx - 1\n", "x"),
        ("", "x"),
    ],
)
def test_gl401_left_before_operator_agrees_with_reading_every_occurrence(count: int, tail: str, left: str) -> None:
    text = "y = f(x, x)\n" * count + tail + "z = x + 1\n"
    assert predicates._stands_before_operator(text, left) == _stands_before_operator_by_every_occurrence(text, left)


def test_gl401_left_before_operator_agrees_on_the_corpus() -> None:
    chooser = random.Random(3)
    checked = 0
    for text in _texts():
        names = sorted(set(re.findall(r"[A-Za-z_][\w.]*(?: ?\[ ?\w+ ?\])?", text)))
        for left in chooser.sample(names, min(40, len(names))) + ["x", "a", "i", "self"]:
            left = " ".join(left.split())
            checked += 1
            assert predicates._stands_before_operator(text, left) == _stands_before_operator_by_every_occurrence(text, left), left
    assert checked > 200


def _store_site_matches_in_two_steps(text: str) -> list[tuple[int, int, int]]:
    """The GL101 store sites as found before the shortcut: _STORE_SITE_START, then _STORE_SITE."""
    found = []
    for start in predicates._STORE_SITE_START.finditer(text):
        match = start if start.group()[-1] == "=" else predicates._STORE_SITE.match(text, start.start())
        if match is not None:
            found.append((match.start(), match.start() + max(0, match.group().rfind(")")), match.end()))
    return found


def _store_site_matches_in_one_search(text: str) -> list[tuple[int, int, int]]:
    found = []
    for match in predicates._STORE_SITE_AT.finditer(text):
        close = match.group(1).rfind(")")
        found.append((match.start(), match.start() + (close + 1 if close >= 0 else 0), match.end(1)))
    return found


@pytest.mark.parametrize(
    "text",
    [
        "J[i] = 1\nJ[i] = 2\n",
        "x] # a[1] =\n = 3\n",  # a site inside another's gap (a comment) is a site of its own
        "(J[i]\n ) = 1\n",
        "(J[i]) \\\n = 1\n",
        "a[1]\t=2\na[1]==2\na[1] # c\n=1\n",
        "d[']'] = 1\nx[a[b]] = c\n",
        "a[1]\f= 2\na[1]\v= 3\na[1]\x1c= 4\n",
    ],
)
def test_gl101_store_sites_in_one_search_agree_with_two_steps(text: str) -> None:
    assert _store_site_matches_in_one_search(text) == _store_site_matches_in_two_steps(text)


def test_gl101_store_sites_in_one_search_agree_on_the_corpus() -> None:
    for text in _texts():
        assert _store_site_matches_in_one_search(text) == _store_site_matches_in_two_steps(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="J[i]=) \n\t#\\(x,\f", max_size=40))
def test_gl101_store_sites_in_one_search_agree_on_generated_text(text: str) -> None:
    assert _store_site_matches_in_one_search(text) == _store_site_matches_in_two_steps(text)


# ---------------------------------------------------------------------------
# Predicates told which words occur nowhere whole
# ---------------------------------------------------------------------------


def test_the_predicates_skip_only_searches_whose_matches_hold_the_word_whole() -> None:
    """Each search a predicate skips when `_word_absent(absent, word)` holds starts with that word
    held whole (precheck.whole_word of its regex is the word)."""
    assert [whole_word(call.pattern) for call in predicates._GL401_CALLS] == list(predicates._GL401_NAMES)
    assert [whole_word(call.pattern) for call in predicates._GL103_DIAGONAL_CALLS] == list(predicates._GL103_DIAGONAL_NAMES)
    assert [whole_word(call.pattern) for call in predicates._GL201_WORD_CALLS] == list(predicates._GL201_WORDS)
    assert [whole_word(part.pattern) for part in predicates._GL402_EVIDENCE_PARTS] == list(predicates._GL402_EVIDENCE_WORDS)


def test_a_plain_absent_callable_knows_no_word_absent() -> None:
    assert not predicates._word_absent(lambda literal: True, "sum")


def test_a_predicate_told_which_words_are_absent_gives_the_same_verdict() -> None:
    from gradlint.precheck import _Absence

    texts = _texts() + [case.source for code in RULE_CODES for case in registry.load_rule(code).INVALID]
    for text in texts:
        for name, predicate in predicates.PREDICATES.items():
            assert predicate(text, _Absence(_TextState(text))) == predicate(text), (name, text[:120])


# ---------------------------------------------------------------------------
# Word probes: what the word digest must hold for an alternative to match
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, probe",
    [
        (r"exp(?<!\wexp)\s*\(", " exp "),
        (r"exp(?<!\wexp)(?:\s*\(|it\b)", " exp"),  # a run starts with exp (exp, expit)
        (r"sum(?:\s|\\|#[^\r\n]*(?![^\r\n]))*\(", "sum "),  # a run ends with sum (np.sum, cumsum)
        (r"softmax\b(?:(?<!\wsoftmax)|(?<=\blog_softmax))", "softmax "),
        (r"log(?:(?<=\.log)|(?<=[\s\\]log))\s*\(", "log "),
        (r"def\s+\w*(?:grad|relu)", "def "),
        (r"softmax", None),  # the literal anywhere: a clause says as much
        (r"exp(?:it)?\b", None),
        (r"exp?\s*\(", None),  # `p` is optional: the literal is `ex`, which no probe bounds
        (r"sum\s*\(|x", None),  # the literal starts the first alternative only
        (r"(?i)sum\s*\(", None),
        (r"sum*\(", None),
    ],
)
def test_word_probe(source: str, probe: object) -> None:
    assert word_probe(source) == probe


def _runs_digest(text: str) -> str:
    return " " + " ".join(set(WORD_RUN.findall(text))) + " "


def test_every_text_an_alternative_matches_has_its_probe_in_the_digest() -> None:
    sources = _registry_alternatives()
    probed = [(source, probe) for source in sorted(sources) if (probe := word_probe(source)) is not None]
    assert len(probed) > 60
    matched = 0
    texts = _texts() + [case.source for code in RULE_CODES for case in registry.load_rule(code).INVALID]
    for text in texts:
        if not text.isascii():
            continue
        digest = _word_digest(text) if len(text) >= _DIGEST_MIN else _runs_digest(text)
        for source, probe in probed:
            if re.search(source, text):
                matched += 1
                assert probe in digest, (source, probe)
    assert matched > 100


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="sumexpitlog_.( \n#\\)=", max_size=40))
def test_word_probes_hold_on_generated_text(text: str) -> None:
    for source in (r"sum(?:\s|\\|#[^\r\n]*(?![^\r\n]))*\(", r"exp(?<!\wexp)(?:\s*\(|it\b)", r"exp(?<!\wexp)\s*\(", r"log(?:(?<=\.log)|(?<=[\s\\]log))\s*\("):
        if re.search(source, text):
            assert word_probe(source) in _runs_digest(text), source
