"""GL001 points where `python file.py` and ruff point (CPython's SyntaxError position and message),
not at libcst's parser state, whenever CPython rejects the text too and says where; libcst's
position and message remain the fallback when CPython gives no usable position (NUL bytes, a
RecursionError or MemoryError), and the "libcst cannot parse ... which Python accepts" message when
CPython accepts the text.

CPython's messages differ between versions (3.9's "invalid syntax" where 3.10+ says "'(' was never
closed"): the tests assert positions and stable parts of the messages, per version where needed."""

from __future__ import annotations

import ast
import io
import sys
from typing import Optional

import libcst as cst
import pytest

from gradlint import engine, registry
from gradlint.api import check_source
from gradlint.cli import main
from gradlint.diagnostics import Diagnostic, Position
from gradlint.settings import Settings

ALL = Settings(select=("ALL",))
CODES = registry.all_codes()
GRADIENT = "import numpy as np\ndef g(x):\n    return np.exp(x) / np.sum(np.exp(x))\n"

DEF_WITHOUT_PARAMETER = "def f(:\n  import numpy as np\n  np.exp(x)/np.sum(np.exp(x))\n"
NEVER_CLOSED = "import numpy as np\n\n\nx = (1,\n  2\n\ny = 3\nz = np.exp(x)/np.sum(np.exp(x))\n"
NEW_310 = pytest.mark.skipif(sys.version_info < (3, 10), reason="CPython 3.10+ positions and messages")


def _gl001(text: str) -> Diagnostic:
    """The one diagnostic of `text`, checked with every rule (no pre-check): a GL001."""
    (diagnostic,) = engine.check_text(text, "/tmp/se.py", CODES, precheck=False).diagnostics
    assert diagnostic.code == "GL001"
    return diagnostic


def _cpython(text: str) -> SyntaxError:
    with pytest.raises(SyntaxError) as error:
        ast.parse(text)
    return error.value


def _libcst(text: str) -> cst.ParserSyntaxError:
    with pytest.raises(cst.ParserSyntaxError) as error:
        cst.parse_module(text)
    return error.value


def test_a_def_without_parameter_name_is_reported_where_python_says() -> None:
    diagnostic = _gl001(DEF_WITHOUT_PARAMETER)
    assert diagnostic.start == Position(1, 7)  # libcst said 3:3
    assert diagnostic.message.startswith("SyntaxError: ") and "invalid syntax" in diagnostic.message
    assert "expected one of" not in diagnostic.message  # libcst's wording is gone


def test_the_public_api_reports_the_python_position() -> None:
    report = check_source(DEF_WITHOUT_PARAMETER, "/tmp/se.py", ALL)
    assert [(d.code, d.start) for d in report.diagnostics] == [("GL001", Position(1, 7))]


@NEW_310
def test_the_end_is_python_s_end_when_it_is_after_the_start() -> None:
    assert _gl001(DEF_WITHOUT_PARAMETER).end == Position(1, 8)  # ruff's JSON says 1:7-1:8 too


@NEW_310
def test_an_unclosed_parenthesis_is_reported_where_it_opens() -> None:
    diagnostic = _gl001(NEVER_CLOSED)
    assert diagnostic.start == Position(4, 5)  # libcst said 7:5
    assert diagnostic.message == "SyntaxError: '(' was never closed"
    assert diagnostic.end == diagnostic.start  # CPython's end_offset 0 means no end: not used


def test_any_version_reports_cpython_s_own_row_and_column() -> None:
    for text in (DEF_WITHOUT_PARAMETER, NEVER_CLOSED):
        error = _cpython(text)
        diagnostic = _gl001(text)
        assert diagnostic.start == Position(error.lineno, error.offset)
        assert diagnostic.message == f"SyntaxError: {error.msg}"


def test_an_indentation_error_keeps_the_syntax_error_prefix() -> None:
    diagnostic = _gl001("def f(x):\nreturn np.exp(x) / np.sum(np.exp(x))\n")
    assert diagnostic.start == Position(2, 1)
    assert diagnostic.message.startswith("SyntaxError: expected an indented block")
    assert "INDENT" not in diagnostic.message  # libcst's "expected INDENT"


def test_columns_count_characters_not_bytes() -> None:
    diagnostic = _gl001("s = 'é'; y = é é\n" + GRADIENT)
    assert diagnostic.start == Position(1, 16)  # libcst said 1:1


def test_crlf_line_endings() -> None:
    diagnostic = _gl001("x = 1\r\ndef f(:\r\n    return np.exp(x) / np.sum(np.exp(x))\r\n")
    assert diagnostic.start == Position(2, 7)  # libcst said 3:1


def test_nul_bytes_keep_libcst_s_position() -> None:
    """CPython rejects NUL bytes without a position (3.11+: SyntaxError with lineno None,
    3.9: ValueError): libcst's position and message are kept."""
    text = "x = 1\ny = (\x00)\n" + GRADIENT
    error = _libcst(text)
    diagnostic = _gl001(text)
    assert diagnostic.start == Position(error.raw_line, error.raw_column + 1)
    assert "\\0" in diagnostic.message or "NUL" in diagnostic.message or "null" in diagnostic.message


@pytest.mark.parametrize("raised", [RecursionError, MemoryError, SystemError, OverflowError, ValueError])
def test_python_s_parser_failing_otherwise_falls_back_to_libcst(monkeypatch: pytest.MonkeyPatch, raised: type) -> None:
    parse = ast.parse

    def fail(source: object, *args: object, **kwargs: object) -> object:
        if source == DEF_WITHOUT_PARAMETER:  # only the engine's call (pytest parses its own sources too)
            raise raised("no position")
        return parse(source, *args, **kwargs)

    error = _libcst(DEF_WITHOUT_PARAMETER)
    monkeypatch.setattr(ast, "parse", fail)
    diagnostic = _gl001(DEF_WITHOUT_PARAMETER)
    assert diagnostic.start == Position(error.raw_line, error.raw_column + 1) == Position(3, 3)
    assert diagnostic.message.startswith("SyntaxError: expected one of")


@pytest.mark.parametrize(
    ("lineno", "offset", "end_lineno", "end_offset", "start", "end"),
    [
        (None, None, None, None, None, None),  # no row: not usable
        (0, 3, None, None, None, None),
        (9, 1, None, None, None, None),  # beyond the text
        (1, None, None, None, Position(1, 1), Position(1, 1)),  # a row without a column: its start
        (1, 0, None, None, Position(1, 1), Position(1, 1)),
        (1, 40, 1, 50, Position(1, 8), Position(1, 8)),  # clamped to the end of the line
        (2, 2, 2, 4, Position(2, 2), Position(2, 4)),
        (2, 3, 2, 2, Position(2, 3), Position(2, 3)),  # an end before the start is dropped
        (2, 3, 7, 2, Position(2, 3), Position(2, 3)),  # so is an end beyond the text
        (3, 1, None, None, Position(3, 1), Position(3, 1)),  # the empty last "line" after the final newline
    ],
)
def test_positions_are_validated_and_clamped(
    lineno: Optional[int], offset: Optional[int], end_lineno: Optional[int], end_offset: Optional[int],
    start: Optional[Position], end: Optional[Position],
) -> None:
    error = SyntaxError("bad", ("t.py", lineno, offset, "", end_lineno, end_offset)) if sys.version_info >= (3, 10) else None
    if error is None:
        error = SyntaxError("bad", ("t.py", lineno, offset, ""))
        if end_lineno is not None and (end_lineno, end_offset) != (lineno, offset):
            pytest.skip("no end position before Python 3.10")
    rejection = engine._rejection("x = (1,\nab\xe9c = 2\n", error)
    if start is None:
        assert rejection is None
    else:
        assert rejection is not None and (rejection.message, rejection.start, rejection.end) == ("bad", start, end)


def test_a_file_python_accepts_keeps_the_libcst_message() -> None:
    text = "(pars): bool = True\n" + GRADIENT
    error = _libcst(text)
    diagnostic = _gl001(text)
    assert diagnostic.message.startswith("libcst cannot parse this file, which Python accepts")
    assert diagnostic.start == Position(error.raw_line, error.raw_column + 1)


def test_the_command_line_shows_python_s_position(tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "se.py").write_text(DEF_WITHOUT_PARAMETER, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["gradlint", "check", "--no-cache", "--isolated", "se.py"])
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(SystemExit) as exit_info:
        main()
    out = capsys.readouterr().out
    assert exit_info.value.code == 1
    assert out.startswith("se.py:1:7: GL001 SyntaxError: "), out
