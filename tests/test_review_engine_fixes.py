"""Review fixes in the engine, the pre-check, suppression and the GL101 fix: linear pre-check scans,
one pre-check for a text too large to parse, fixes rendered from rows computed once, mixed line
endings, comments after an `if` body, characters str.splitlines breaks at, and CR-only files."""

from __future__ import annotations

import re
import tokenize

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlint import engine, registry
from gradlint import precheck_predicates as predicates
from gradlint.api import check_source
from gradlint.fixes import apply_edits, fix_text
from gradlint.precheck import Prechecker
from gradlint.render.sarif import LineHashes, line_hash
from gradlint.render.text import _snippet
from gradlint.settings import Settings
from gradlint.suppression import rows_a_comment_can_end, written_directives

FILENAME = "/tmp/gradlint_review_engine_fixes/module.py"
RULE_CODES = [code for code in registry.all_codes() if code not in registry.ENGINE_CODES]

BUG = """import numpy as np

def softmax(z):
    return np.exp(z) / np.sum(np.exp(z))

def softmax_prime(f):
    jacobian = np.diag(f)
    for i in range(len(jacobian)):
        for j in range(len(jacobian)):
            if i == j:
                jacobian[i][j] = f[i] * (1 - f[i])
                jacobian[i][j] = -f[i] * f[j]
    return jacobian
"""
DIAGONAL = "                jacobian[i][j] = f[i] * (1 - f[i])"
OFF_DIAGONAL = "                jacobian[i][j] = -f[i] * f[j]"
FIXED_BRANCH = f"            if i == j:\n{DIAGONAL}\n            else:\n{OFF_DIAGONAL}\n"


def _dense(copies: int) -> str:
    """`copies` renamed copies of BUG's functions: a GL101 (and a GL301) in each."""
    body = BUG.split("\n", 1)[1]
    return "import numpy as np\n" + "".join(body.replace("softmax", f"softmax{n}") for n in range(copies))


def _fixed(text: str) -> str:
    """`text` with every fix (unsafe ones too) applied, through the fixer the CLI uses."""
    outcome = fix_text(text, FILENAME, Settings(), unsafe=True)
    assert outcome.refusal is None, outcome.refusal
    return outcome.text


def _gl101(text: str) -> list:
    return [d for d in check_source(text, FILENAME, Settings()).diagnostics if d.code == "GL101"]


def _gl101_fixed(text: str) -> str:
    """`text` with its one GL101 fix applied (alone)."""
    (finding,) = _gl101(text)
    assert finding.fix is not None
    return apply_edits(text, finding.fix.edits)


# --- A. linear time on large texts ------------------------------------------------------------


class _CountingText(str):
    """A text that adds up how many characters its find/rfind calls read (up to the match found)."""

    scanned = 0

    def rfind(self, sub, start=0, end=None):  # type: ignore[override]
        start, stop, _ = slice(start, end).indices(len(self))
        found = str.rfind(self, sub, start, stop)
        _CountingText.scanned += max(0, stop - (found if found >= 0 else start))
        return found

    def find(self, sub, start=0, end=None):  # type: ignore[override]
        start, stop, _ = slice(start, end).indices(len(self))
        found = str.find(self, sub, start, stop)
        _CountingText.scanned += max(0, (found + len(sub) if found >= 0 else stop) - start)
        return found


def test_precheck_predicates_read_back_only_to_the_line_start():
    """Every predicate's backward (and forward) line searches stay near the position: the characters
    they may read grow with the text, not with the text times the number of searches (before, each
    `text.rfind("\\r", 0, end)` read back to the start of a file without a CR)."""
    text = _dense(300)  # about 100 KB, a few thousand searches
    for name, predicate in predicates.PREDICATES.items():
        _CountingText.scanned = 0
        counted = predicate(_CountingText(text), predicates._none_known_absent)
        assert counted == predicate(text, predicates._none_known_absent), name
        assert _CountingText.scanned < 40 * len(text), (name, _CountingText.scanned / len(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab \r\n\f\u2028", max_size=60), st.data())
def test_line_start_and_line_break_equal_the_full_searches(text, data):
    position = data.draw(st.integers(0, len(text)))
    assert predicates._line_start(text, position) == max(text.rfind("\n", 0, position), text.rfind("\r", 0, position)) + 1
    found = [index for index in (text.find("\n", position), text.find("\r", position)) if index >= 0]
    assert predicates._line_break_at_or_after(text, position) == (min(found) if found else -1)


def test_line_start_reads_past_many_steps_back():
    text = "x" * 5000 + "\r" + "y" * 3000
    assert predicates._line_start(text, len(text)) == 5001
    assert predicates._line_start("z" * 9000, 9000) == 0
    assert predicates._line_break_at_or_after("z" * 9000 + "\n", 3) == 9000


def test_a_text_too_large_to_parse_is_prechecked_once(monkeypatch):
    """The driver's pre-check, the engine's and its decision to report GL001 share one reading with
    every need (before: the text was pre-checked twice, the second time thoroughly)."""
    monkeypatch.setattr(engine, "MAX_PARSE_CHARS", 2000)
    readings = []
    original = Prechecker._candidates

    def counting(self, text, skip_costly):
        readings.append(skip_costly)
        return original(self, text, skip_costly)

    monkeypatch.setattr(Prechecker, "_candidates", counting)
    text = _dense(12) + "# review: too large\n"
    assert len(text) > 2000
    codes = sorted(Settings().codes_for(FILENAME))
    registry.candidates(text, codes)  # the driver's
    result = engine.check_text(text, FILENAME, codes)
    assert readings == [False]
    assert [d.code for d in result.diagnostics] == ["GL001"]
    assert "file too large to parse" in result.diagnostics[0].message


def test_a_text_too_large_to_parse_without_gl001_is_prechecked_once(monkeypatch):
    monkeypatch.setattr(engine, "MAX_PARSE_CHARS", 2000)
    readings = []
    original = Prechecker._candidates

    def counting(self, text, skip_costly):
        readings.append(skip_costly)
        return original(self, text, skip_costly)

    monkeypatch.setattr(Prechecker, "_candidates", counting)
    text = _dense(12) + "# review: too large, no GL001\n"
    codes = [code for code in Settings().codes_for(FILENAME) if code != "GL001"]
    result = engine.check_text(text, FILENAME, codes)
    assert readings == [False]
    assert result.diagnostics == () and not result.parsed


def test_fixes_take_rows_from_offsets_not_a_split_per_fix(monkeypatch):
    """render_replacement reads a row from the analysis's line offsets (computed once per text); it
    used to split the whole source twice per fix, O(fixes x size) on a dense file."""
    text = _dense(20)
    whole_splits = []
    real_split = re.split

    def counting_split(pattern, string, *args, **kwargs):
        if len(string) == len(text):
            whole_splits.append(pattern)
        return real_split(pattern, string, *args, **kwargs)

    class Source(str):
        def splitlines(self, keepends=False):  # type: ignore[override]
            whole_splits.append("splitlines")
            return str.splitlines(self, keepends)

    monkeypatch.setattr(re, "split", counting_split)
    result = engine.check_text(Source(text), FILENAME, ["GL101"], precheck=False)
    fixes = [d.fix for d in result.diagnostics if d.code == "GL101"]
    assert len(fixes) == 20 and all(fix is not None for fix in fixes)
    assert whole_splits == []
    # and the result is the one expected: each fix turns its branch into if/else
    fixed = apply_edits(text, [edit for fix in fixes for edit in fix.edits])  # type: ignore[union-attr]
    assert fixed.count(FIXED_BRANCH) == 20


# --- B. mixed line endings ---------------------------------------------------------------------


def test_gl101_fix_keeps_a_crlf_ending_the_block_of_an_lf_file():
    text = BUG.replace(OFF_DIAGONAL + "\n", OFF_DIAGONAL + "\r\n")
    (finding,) = _gl101(text)
    assert "\r" not in finding.fix.edits[0].content
    fixed = _gl101_fixed(text)
    assert f"            if i == j:\n{DIAGONAL}\n            else:\n{OFF_DIAGONAL}\r\n    return jacobian\n" in fixed
    cst.parse_module(fixed)


def test_gl101_fix_of_an_lf_block_when_line_one_ends_with_crlf():
    """The module's default newline is line 1's (CRLF); the block's lines end with LF: the fix is
    re-indented at every line break and the new `else:` line ends as the `if` line does."""
    text = BUG.replace("import numpy as np\n", "import numpy as np\r\n", 1)
    fixed = _gl101_fixed(text)
    assert fixed == text.replace(f"{DIAGONAL}\n{OFF_DIAGONAL}\n", f"{DIAGONAL}\n            else:\n{OFF_DIAGONAL}\n")
    cst.parse_module(fixed)


def test_gl101_fix_in_a_crlf_file_with_one_lf_if_line():
    """The edit's lines keep their own line breaks, and the new `else:` line takes the `if` line's
    (fixes.apply_edits then writes the edit's breaks with the `if` row's ending)."""
    text = BUG.replace("\n", "\r\n").replace("            if i == j:\r\n", "            if i == j:\n")
    (finding,) = _gl101(text)
    assert finding.fix.edits[0].content == f"if i == j:\n{DIAGONAL}\r\n            else:\n{OFF_DIAGONAL}"
    fixed = _gl101_fixed(text)
    assert f"            else:\n{OFF_DIAGONAL}\r\n    return jacobian\r\n" in fixed
    cst.parse_module(fixed)


def test_gl101_fix_in_a_cr_only_file():
    text = BUG.replace("\n", "\r")
    fixed = _gl101_fixed(text)
    assert fixed == BUG.replace(f"{DIAGONAL}\n", f"{DIAGONAL}\n            else:\n").replace("\n", "\r")


# --- C. what follows the `if` body --------------------------------------------------------------


def test_gl101_fix_keeps_a_comment_after_the_body_once():
    comment = "                # TODO: check the off-diagonal sign\n"
    text = BUG.replace(OFF_DIAGONAL + "\n", OFF_DIAGONAL + "\n" + comment)
    fixed = _fixed(text)
    assert fixed.count("# TODO: check the off-diagonal sign") == 1
    assert f"{DIAGONAL}\n            else:\n{OFF_DIAGONAL}\n{comment}    return jacobian\n" in fixed
    cst.parse_module(fixed)
    assert _fixed(fixed) == fixed  # idempotent


def test_gl101_fix_does_not_double_trailing_blanks():
    text = BUG.replace(OFF_DIAGONAL + "\n", OFF_DIAGONAL + "   \n")
    fixed = _fixed(text)
    assert f"            else:\n{OFF_DIAGONAL}   \n    return jacobian\n" in fixed
    assert _fixed(fixed) == fixed


def test_gl101_fix_keeps_a_trailing_comment_and_the_comment_lines_once():
    text = BUG.replace(OFF_DIAGONAL + "\n", OFF_DIAGONAL + "  # the bug  \n                # note\n\n")
    fixed = _gl101_fixed(text)
    assert fixed.count("# the bug") == 1 and fixed.count("# note") == 1
    assert f"            else:\n{OFF_DIAGONAL}  # the bug  \n                # note\n\n    return jacobian\n" in fixed


def test_gl101_fix_leaves_a_multiline_string_in_the_body_as_it_is():
    """Lines libcst renders inside a string are not re-indented (the string's value would change)."""
    text = BUG.replace(DIAGONAL + "\n", '                note = """a\nb"""\n' + DIAGONAL + "\n")
    fixed = _gl101_fixed(text)
    assert '                note = """a\nb"""\n' in fixed
    assert f"{DIAGONAL}\n            else:\n{OFF_DIAGONAL}\n" in fixed
    cst.parse_module(fixed)


def test_gl101_else_block_takes_the_if_blocks_indentation():
    text = BUG.replace(DIAGONAL, DIAGONAL[2:]).replace(OFF_DIAGONAL, OFF_DIAGONAL[2:])  # a 2-space body
    fixed = _gl101_fixed(text)
    assert f"            else:\n{OFF_DIAGONAL[2:]}\n" in fixed


# --- D. characters str.splitlines breaks at, and Python does not --------------------------------

NOT_LINE_BREAKS = ["\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", NOT_LINE_BREAKS, ids=[f"U+{ord(c):04X}" for c in NOT_LINE_BREAKS])
def test_gl101_fix_and_rows_below_a_character_splitlines_breaks_at(char):
    text = BUG.replace("import numpy as np", f"import numpy as np  # a{char}b")
    if char in "\x0c":  # a form feed may also start a line (GNU style)
        text = text.replace("def softmax_prime", "\x0cdef softmax_prime")
    compile(text, FILENAME, "exec")
    (finding,) = _gl101(text)
    assert finding.start.row == 12
    fixed = _gl101_fixed(text)
    assert FIXED_BRANCH in fixed
    cst.parse_module(fixed)
    report = check_source(text, FILENAME, Settings())
    snippet = _snippet(finding, report.source, lambda text, _style: text)
    assert f"12 | {OFF_DIAGONAL}\n" in snippet
    hashes = LineHashes(text)
    assert hashes.of_row(12) == line_hash(OFF_DIAGONAL, 1)


def test_source_lines_split_as_python_does():
    text = "a\r\nb\rc\x0cd\u2028e\x85f\n\ng"
    assert engine.source_lines(text) == ["a", "b", "c\x0cd\u2028e\x85f", "", "g"]
    for sample in ("", "a", "a\n", "a\n\n", "\n", "a\r", "a\r\n"):
        assert engine.source_lines(sample) == sample.splitlines()


# --- E. CR-only line endings --------------------------------------------------------------------

CR_NOQA = "import numpy as np\rdef softmax(z):\r    return np.exp(z) / np.sum(np.exp(z))  # noqa: GL301\r"


def test_noqa_is_honoured_in_a_cr_only_file():
    settings = Settings(extend_select=("GL003",)) if "extend_select" in Settings.__dataclass_fields__ else Settings()
    assert check_source(CR_NOQA.replace("\r", "\n"), FILENAME, settings).diagnostics == ()
    assert check_source(CR_NOQA, FILENAME, settings).diagnostics == ()


def test_directive_rows_in_a_cr_only_file():
    (written,) = written_directives(CR_NOQA)
    assert (written.row, written.start, written.codes) == (3, 42, ("GL301",))


def test_rows_a_comment_can_end_with_lone_crs():
    """Rows as the engine counts them (1-based, split at CRLF, CR and LF); on Python 3.9-3.11 tokenize
    reads a lone CR ending a line as an error token, so it is read as an LF."""
    text = "x = 1  # a\ry = (1,\r     2)\rz = '''s\rt'''\rw = 3\r\nv = 4\n"
    rows = rows_a_comment_can_end(text)
    assert sorted(rows) == [1, 2, 3, 5, 6, 7]
    assert isinstance(rows[1], tokenize.TokenInfo) and rows[1].string == "# a"
    assert rows[2] is None


def test_a_multiline_statement_noqa_row_in_a_cr_only_file():
    text = "import numpy as np\rdef softmax(z):\r    return (np.exp(z) /\r            np.sum(np.exp(z)))\r"
    (finding,) = [d for d in check_source(text, FILENAME, Settings()).diagnostics if d.code == "GL301"]
    assert finding.noqa_row in (3, 4)
    silenced = text.replace("np.sum(np.exp(z)))\r", "np.sum(np.exp(z)))  # noqa: GL301\r")
    assert not [d for d in check_source(silenced, FILENAME, Settings()).diagnostics if d.code == "GL301"]


@pytest.mark.parametrize(
    "line_end",
    [
        "  # weighted by s\n                .sum(axis=1))\n",  # a comment ends the line before the dot
        "  # weighted by s\r\n                .sum(axis=1))\r\n",
        ".\\\nsum(axis=1))\n",  # a backslash continuation between the dot and the name
        " \\\n    .sum(axis=1))\n",  # and between the receiver and the dot
    ],
)
def test_gl401_receiver_read_back_over_comments_and_continuations_is_sound(line_end: str) -> None:
    from gradlint.engine import check_text

    text = "import numpy as np\n\n\ndef softmax_vjp(s, g):\n    return s * (g - (g * s)" + line_end
    filtered = [(d.code, d.start.row) for d in check_text(text, "/x.py", ["GL401"]).diagnostics]
    unfiltered = [(d.code, d.start.row) for d in check_text(text, "/x.py", ["GL401"], precheck=False).diagnostics]
    assert filtered == unfiltered and unfiltered
