"""Suppression comments: noqa, gradlint: ignore[...], file level, multi-line statements."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from gradlint.analysis import ModuleAnalysis
from gradlint.api import check_source
from gradlint.diagnostics import Diagnostic, Position, Severity
from gradlint.engine import to_diagnostic
from gradlint.registry import load_rule
from gradlint.rule import Finding
from gradlint.settings import Settings
from gradlint.suppression import filter_suppressed, parse_directives, suppression_rows

HEAD = textwrap.dedent(
    """\
    import numpy as np

    def softmax_prime(s):
        n = len(s)
        J = np.zeros((n, n))
        for i in range(n):
            for j in range(n):
                if i == j:
                    J[i][j] = s[i] * (1 - s[i])
    """
)
OVERWRITE = "            J[i][j] = -s[i] * s[j]"
TAIL = "    return J\n"
ROW = 10  # the overwrite's row


def program(overwrite: str = OVERWRITE, prefix: str = "") -> str:
    return prefix + HEAD + overwrite + "\n" + TAIL


def gl101_rows(source: str) -> list[int]:
    report = check_source(source, "net.py", Settings(select=("GL101",)))
    return [d.start.row for d in report.diagnostics if d.code == "GL101"]


def test_unsuppressed_baseline() -> None:
    assert gl101_rows(program()) == [ROW]


@pytest.mark.parametrize(
    "comment",
    [
        "# noqa",
        "# noqa: GL101",
        "# NOQA:GL101",
        "# noqa: E501, GL101",
        "# noqa:E501,GL101",
        "# noqa: E501 GL101",
        "# noqa: gl101",
        "# gradlint: ignore",
        "# gradlint: ignore[GL101]",
        "# gradlint: ignore[overwritten-diagonal]",
        "# gradlint: ignore[GL201, overwritten-diagonal]",
        "# gradlint: ignore [GL101]",
        "# type: ignore  # noqa: GL101",
        "# pylint: disable=all  # gradlint: ignore[GL101]",
        "# gradlint: noqa: GL101",  # after code: acts on this line
    ],
)
def test_line_directives_suppress(comment: str) -> None:
    assert gl101_rows(program(f"{OVERWRITE}  {comment}")) == []


@pytest.mark.parametrize(
    "comment",
    [
        "# noqa: E501",  # another tool's code
        "# noqa: E501, W291",
        "# noqa: GL201",  # another gradlint rule
        "# gradlint: ignore[GL201]",
        "# gradlint: ignore[unstable-softmax]",
        "# noqa-ish comment",
        "# see the noqa docs",
        "# gradlint: ignore-me",
        "# gradlint: noqa: GL201",
    ],
)
def test_directives_for_other_codes_do_not_suppress(comment: str) -> None:
    assert gl101_rows(program(f"{OVERWRITE}  {comment}")) == [ROW]


def test_noqa_on_another_line_does_not_suppress() -> None:
    source = program().replace("J = np.zeros((n, n))", "J = np.zeros((n, n))  # noqa")
    assert gl101_rows(source) == [ROW]


def test_noqa_inside_a_string_does_not_count() -> None:
    assert gl101_rows(program(OVERWRITE + "; note = '# noqa'")) == [ROW]
    assert gl101_rows(program(OVERWRITE + '; note = "# gradlint: ignore[GL101]"')) == [ROW]
    file_level_in_string = 'DOC = """\n# gradlint: noqa\n"""\n'
    assert gl101_rows(program(prefix=file_level_in_string)) == [ROW + 3]


def test_file_level_directives() -> None:
    assert gl101_rows(program(prefix="# gradlint: noqa\n")) == []
    assert gl101_rows(program(prefix="# gradlint: noqa: GL101\n")) == []
    assert gl101_rows(program(prefix="# gradlint: noqa: overwritten-diagonal\n")) == []
    assert gl101_rows(program(prefix="# gradlint: noqa: GL201\n")) == [ROW + 1]
    # Anywhere in the file, on a line of its own:
    assert gl101_rows(program() + "# gradlint: noqa\n") == []
    # Other tools' file-level directives are theirs, not gradlint's.
    assert gl101_rows(program(prefix="# flake8: noqa\n")) == [ROW + 1]
    assert gl101_rows(program(prefix="# ruff: noqa\n")) == [ROW + 1]


def test_multi_line_statement_comment_on_first_or_last_row() -> None:
    multi = "            J[i][j] = (  {first}\n                -s[i] * s[j]  {middle}\n            )  {last}"
    plain = multi.format(first="", middle="", last="")
    assert gl101_rows(program(plain)) == [ROW]
    assert gl101_rows(program(multi.format(first="# noqa: GL101", middle="", last=""))) == []
    assert gl101_rows(program(multi.format(first="", middle="", last="# noqa: GL101"))) == []
    assert gl101_rows(program(multi.format(first="", middle="", last="# gradlint: ignore[overwritten-diagonal]"))) == []
    # A middle row is neither the finding's row nor the statement's first or last.
    assert gl101_rows(program(multi.format(first="", middle="# noqa: GL101", last=""))) == [ROW]


def test_multi_line_call_statement_rows() -> None:
    source = "J[i][j] = combine(\n    -s[i],\n    s[j],\n)\nx = 1\n"
    rows = _rows_of(source, cst.Call)
    assert rows == (1, 4)
    rows = _rows_of(source, cst.UnaryOperation)  # a node on a middle row of the statement
    assert rows == (1, 2, 4)


def test_compound_statement_header_rows() -> None:
    source = textwrap.dedent(
        """\
        @decorator
        def backward(
            self,
            grad,
        ):
            if (self.out ==
                    grad):  # header ends here
                pass
            for i in range(
                3
            ):
                pass
        """
    )
    analysis = _analysis(source)
    function = analysis.index.nodes(cst.FunctionDef)[0]
    # A finding on the whole function: its header (`def` .. `):`), not its body.
    assert _rows(analysis, function) == (2, 5)
    comparison = analysis.index.nodes(cst.Comparison)[0]
    assert _rows(analysis, comparison) == (6, 7)
    name_on_first_header_row = comparison.left
    assert _rows(analysis, name_on_first_header_row) == (6, 7)
    range_call = analysis.index.nodes(cst.Call)[0]
    assert _rows(analysis, range_call) == (9, 11)
    decorator = analysis.index.nodes(cst.Decorator)[0]
    assert _rows(analysis, decorator) == (1, 2, 5)


def test_engine_fills_suppression_rows_for_compound_headers() -> None:
    source = "for i in range(\n    3\n):  # noqa: GL101\n    pass\n"
    analysis = _analysis(source)
    rule = load_rule("GL101")
    call = analysis.index.nodes(cst.Call)[0]
    diagnostic = to_diagnostic(analysis, rule, Finding(call, "a finding in a header"))
    assert diagnostic.suppression_rows == (1, 3)
    assert filter_suppressed([diagnostic], source) == []
    body_comment = source.replace("):  # noqa: GL101\n    pass", "):\n    pass  # noqa: GL101")
    assert filter_suppressed([diagnostic], body_comment) == [diagnostic]


def _diagnostic(code: str = "GL101", name: str = "overwritten-diagonal", row: int = 1, rows: tuple = ()) -> Diagnostic:
    return Diagnostic(
        code=code, name=name, message="m", filename="f.py", start=Position(row, 1), end=Position(row, 2),
        severity=Severity.ERROR, suppression_rows=rows,
    )


def test_syntax_and_io_errors_need_an_explicit_code() -> None:
    syntax = _diagnostic("GL001", "syntax-error", row=2)
    assert filter_suppressed([syntax], "# gradlint: noqa\ndef f(:  # noqa\n") == [syntax]
    assert filter_suppressed([syntax], "x = 1\ndef f(:  # noqa: GL001\n") == []
    assert filter_suppressed([syntax], "# gradlint: noqa: GL001\ndef f(:\n") == []


def test_directives_in_files_tokenize_rejects() -> None:
    # An unterminated triple-quoted string: tokenize fails, the fallback scanner still skips strings.
    text = "x = 1  # noqa: GL101\ny = '# noqa'\nz = '''\n# gradlint: noqa\n"
    directives = parse_directives(text)
    assert directives.by_row == {1: {"GL101"}}
    assert directives.file_level == set()


def test_parse_directives_details() -> None:
    directives = parse_directives(
        "a = 1  # noqa\nb = 2  # noqa: GL101,GL201\n# gradlint: noqa: GL301\nc = 3  # gradlint: ignore[unstable-softmax]\n"
    )
    assert directives.by_row == {1: None, 2: {"GL101", "GL201"}, 4: {"unstable-softmax"}}
    assert directives.file_level == {"GL301"}


def test_filter_uses_reported_row_and_suppression_rows() -> None:
    diagnostic = _diagnostic(row=2, rows=(1, 2, 3))
    assert filter_suppressed([diagnostic], "a = (  # noqa: GL101\n  b\n)\n") == []
    assert filter_suppressed([diagnostic], "a = (\n  b\n)  # noqa: GL101\n") == []
    assert filter_suppressed([diagnostic], "a = (\n  b\n)\nc = 1  # noqa: GL101\n") == [diagnostic]


def _analysis(source: str) -> ModuleAnalysis:
    return ModuleAnalysis(cst.parse_module(source), "x.py", source)


def _rows(analysis: ModuleAnalysis, node: cst.CSTNode) -> tuple:
    code_range = analysis.range_of(node)
    return suppression_rows(analysis, node, code_range.start.line, code_range.end.line)


def _rows_of(source: str, node_type: type) -> tuple:
    analysis = _analysis(source)
    return _rows(analysis, analysis.index.nodes(node_type)[0])


@pytest.mark.parametrize(
    "comment, hidden",
    [
        ("# noqa: E501  see GL101 docs", False),  # the codes end at the first word that is no code (ruff)
        ("# noqa: E501 because GL101 is fine here", False),
        ("# noqa: see GL101", False),  # no code after the colon: invalid, suppresses nothing
        ("# noqa: GL101xyz", False),
        ("# noqa:", False),
        ("# noqa: E501, GL101  -- reviewed", True),
        ("# noqa: GL101 overwritten-diagonal", True),
        ("# noqa: overwritten-diagonal  (reviewed)", True),
        ("# noqa  because reasons", True),  # no colon: a blanket noqa, as in flake8 and ruff
        ("# gradlint: ignore[]", False),  # empty brackets: invalid, never every code
        ("# gradlint: ignore[ , ]", False),
        ("# gradlint: ignore", True),  # no brackets: every code on the line
    ],
)
def test_a_directive_s_codes_end_where_ruff_s_do(comment: str, hidden: bool) -> None:
    diagnostic = _diagnostic("GL101")
    assert (filter_suppressed([diagnostic], f"x = 1  {comment}\n") == []) is hidden


def test_a_gradlint_noqa_after_code_hides_only_its_line() -> None:
    on_line = _diagnostic("GL101", row=2)
    elsewhere = _diagnostic("GL101", row=3)
    text = "x = 1\ny = 2  # gradlint: noqa\nz = 3\n"
    assert filter_suppressed([on_line, elsewhere], text) == [elsewhere]


# --- directives that name no code: a warning on stderr, as ruff gives -----------------


def test_invalid_directives_are_the_ones_that_name_no_code() -> None:
    from gradlint.suppression import InvalidDirective, invalid_directives

    text = (
        "a = 1  # noqa:\n"
        "b = 2  # noqa: E501\n"
        'c = "# noqa:"\n'  # in a string: not a directive
        "d = 4  # gradlint: ignore[]\n"
        "# gradlint: noqa:\n"
        "e = 5  # NOQA: see the docs\n"
        "f = 6  # noqa:\n"
        "E501 = 7\n"  # a code on the next line does not complete the directive above
        "g = 7  # gradlint: ignore[GL101]  # noqa: GL101\n"
    )
    assert invalid_directives(text) == (
        InvalidDirective(1, "# noqa"),
        InvalidDirective(4, "# gradlint: ignore[...]"),
        InvalidDirective(5, "# gradlint: noqa"),
        InvalidDirective(6, "# noqa"),
        InvalidDirective(7, "# noqa"),
    )
    assert invalid_directives("x = 1  # noqa: GL101, E501\ny = 2  # gradlint: ignore\n") == ()


def _corpus_texts() -> list[str]:
    from pathlib import Path

    from gradlint import registry

    root = Path(__file__).resolve().parent.parent
    texts = [path.read_text(encoding="utf-8") for path in sorted((root / "fixtures").glob("*.py"))]
    texts.append((root / "gradlint" / "suppression.py").read_text(encoding="utf-8"))  # directives in strings
    for rule in registry.load_rules(registry.all_codes()):
        texts += [case.code for case in (*rule.VALID, *rule.INVALID)]
    return texts


def test_the_invalid_directive_shortcut_agrees_with_reading_every_comment() -> None:
    # The shortcut reads each place a directive may start as a comment and tokenizes only when
    # one is invalid; it must find exactly what reading every comment finds.
    from gradlint.suppression import InvalidDirective, invalid_directives, written_directives

    variants = ["# noqa:", "# noqa: E501", "#noqa:GL101", "# gradlint: ignore[]", "# gradlint: ignore[GL101]",
                "# gradlint: noqa:", "# NOQA:  todo", "# noqa", "# type: ignore", "# noqa :", "# noqa : GL101"]
    checked = 0
    for text in _corpus_texts():
        lines = text.splitlines()
        for index, variant in enumerate(variants):
            mutated = list(lines)
            if mutated:
                row = (index * 7) % len(mutated)
                mutated[row] = mutated[row] + "  " + variant
            for candidate in (text, "\n".join(mutated) + "\n"):
                expected = tuple(InvalidDirective(w.row, "") for w in written_directives(candidate) if w.invalid)
                got = tuple(InvalidDirective(d.row, "") for d in invalid_directives(candidate))
                assert got == expected, candidate
                checked += 1
    assert checked > 1000


def test_blanks_before_the_colon_as_in_ruff() -> None:
    # A noqa, a blank, a colon and GL301 names GL301 (it used to hide every code); with no code after it, none (invalid).
    from gradlint.suppression import InvalidDirective, invalid_directives, written_directives

    [named] = written_directives("x = 1  # noqa : GL301\n")
    assert named.codes == ("GL301",) and not named.invalid
    assert invalid_directives("x = 1  # noqa :\ny = 2  # gradlint: noqa  :\n") == (
        InvalidDirective(1, "# noqa"), InvalidDirective(2, "# gradlint: noqa"),
    )
