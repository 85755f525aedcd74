"""A one-file run (as pre-commit makes it) does no work it does not need: no OpenSSL for a content
hash, no compiling of regexes that read what the file does not hold, and no costly pre-check
regex among a run's first texts. Skipping that work changes no result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradlint import registry
from gradlint.precheck import WARMUP_TEXTS, Prechecker
from gradlint.suppression import may_hold_directives, written_directives

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "softmax_question.py"

PROBE = """
import json, sys
sys.argv = ["gradlint", *json.loads(sys.argv[1])]
from gradlint.cli import main
try:
    main()
except SystemExit as done:
    code = done.code
from gradlint import precheck_predicates, suppression
sys.stderr.write("\\nPROBE " + json.dumps({
    "code": code,
    "openssl": "_hashlib" in sys.modules,
    "directive_regexes": sum(regex.is_compiled for regex in (suppression.NOQA_COMMENT, suppression.GRADLINT_NOQA_COMMENT, suppression._IGNORE)),
    "gl103_code_search": precheck_predicates._gl103_code_search.cache_info().currsize,
}) + "\\n")
"""


def test_a_one_file_run_does_not_do_what_the_file_does_not_need(tmp_path: Path) -> None:
    source = FIXTURE.read_text(encoding="utf-8")
    assert "gradlint" in source and not may_hold_directives(source)  # named in its docstring, no directive
    (tmp_path / "bug.py").write_text(source, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(["check", "--no-cache", "bug.py"])],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    line = [text for text in done.stderr.splitlines() if text.startswith("PROBE ")][-1]
    result = json.loads(line[len("PROBE "):])
    assert result == {"code": 1, "openssl": False, "directive_regexes": 0, "gl103_code_search": 0}, result


# A diagonal call (`identity(`) on a line that is no comment line, but inside a docstring: GL103's
# cheap evidence holds; only its code search (registry._GL103_IN_CODE) shows there is none in code.
PROSE = 'def f(a):\n    """The result is an identity (this is so for floats), a * b."""\n    for x in a:\n        pass\n    return a\n'


def test_a_runs_first_texts_take_the_gl103_code_search_as_met() -> None:
    checker = Prechecker({"GL103": registry.RULES["GL103"].needs})
    for number in range(WARMUP_TEXTS):
        assert checker.candidates(PROSE + " " * number) == {"GL103"}  # parsed on the cheap evidence alone
    assert checker.candidates(PROSE + "\n") == frozenset()  # warmed up: the code search counts
    assert Prechecker({"GL103": registry.RULES["GL103"].needs}).candidates(PROSE, thorough=True) == frozenset()
    assert not registry.candidates(PROSE, ["GL103"], thorough=True)


@pytest.mark.parametrize(
    "comment",
    [
        "# noqa", "#noqa:GL101", "# NOQA: GL101, E501", "# noqa : GL101", "# noqa:", "#\tnoqa",
        "# gradlint: noqa", "# gradlint:noqa: GL201", "# GRADLINT: NOQA", "# gradlint: ignore",
        "# gradlint: ignore[GL101, overwritten-diagonal]", "# gradlint: ignore[]", "# see GL101  # noqa: GL101",
    ],
)
def test_every_directive_is_found_by_the_quick_look(comment: str) -> None:
    text = f"x = 1\ny = x * 2  {comment}\n"
    assert written_directives(text), comment  # a directive, as suppression reads it
    assert may_hold_directives(text), comment


@pytest.mark.parametrize(
    "text",
    [
        '"""Checked by gradlint; noqa comments are honoured."""\nx = 1\n',
        "# ignore the bias here\nx = 1\n",
        "# gradlint checks this file\nx = 1  # type: ignore\n",
    ],
)
def test_a_mention_of_gradlint_or_noqa_is_no_directive(text: str) -> None:
    assert not written_directives(text)
    assert not may_hold_directives(text)
