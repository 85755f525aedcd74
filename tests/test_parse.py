"""gradlint.analysis.parse: libcst's parse without per-node validation gives libcst's tree."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from gradlint.analysis.parse import parse_module

FIXTURES = sorted((Path(__file__).resolve().parent.parent / "fixtures").glob("*.py"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_same_tree_as_libcst(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    ours = parse_module(text)
    assert ours.deep_equals(cst.parse_module(text))
    assert ours.code == text


def test_validation_is_back_after_the_parse() -> None:
    parse_module("x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")  # validated again: nodes built later (fixes) are checked


def test_validation_is_back_after_a_parse_error() -> None:
    with pytest.raises(cst.ParserSyntaxError):
        parse_module("def f(:\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("1x")
