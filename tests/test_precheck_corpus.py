"""The pre-check is sound on every text the project ships: run all rules with the
pre-check off, and every code that fires must pass that rule's needs.

tests/test_precheck.py checks the findings each INVALID case and fixture is meant
to have; this also covers what fires unexpectedly (another rule's finding on a
case, any finding on tests/runtime_cases). The same check over the stdlib,
numpy, scipy and torch sources is `benchmarks/precheck_soundness.py`: minutes of
parsing, kept out of the test suite.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from gradlint import registry
from gradlint.engine import check_text

ROOT = Path(__file__).resolve().parent.parent
RULE_CODES = [code for code in registry.all_codes() if code not in registry.ENGINE_CODES]


def _texts() -> list:
    params = []
    for code in RULE_CODES:
        rule = registry.load_rule(code)
        for kind in ("VALID", "INVALID"):
            for number, case in enumerate(getattr(rule, kind)):
                params.append(pytest.param(f"/cases/{code}_{kind}_{number}.py", case.source, id=f"{code}-{kind}-{number}"))
    for folder in (ROOT / "fixtures", ROOT / "tests" / "runtime_cases"):
        for path in sorted(folder.rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            params.append(pytest.param(str(path), path.read_text(encoding="utf-8"), id=name))
    return params


@lru_cache(maxsize=None)
def _fired(filename: str, text: str) -> frozenset[str]:
    """The codes that fire on `text` with every rule run, whatever the needs say."""
    return frozenset(d.code for d in check_text(text, filename, RULE_CODES, precheck=False).diagnostics)


@pytest.mark.parametrize("filename, text", _texts())
def test_needs_admit_every_rule_that_fires_without_the_precheck(filename: str, text: str) -> None:
    fired = _fired(filename, text)
    admitted = registry.candidates(text, RULE_CODES, thorough=True)
    lost = sorted(code for code in fired - admitted if code in registry.RULES)
    assert not lost, f"the needs of {lost} reject {filename}, on which they fire:\n{text[:2000]}"


def test_the_corpus_exercises_every_rule() -> None:
    """The check above only means something if the corpus makes every rule fire."""
    fired: set[str] = set()
    for param in _texts():
        filename, text = param.values
        fired |= _fired(filename, text)
    assert set(RULE_CODES) - {"GL901"} <= fired


# -- the same cases, respelled ------------------------------------------------------
# Needs are written against spellings; a need that only holds for the spelling of the
# rule's own cases (a variable name, a space, a line break) would lose real findings.
# Each respelling keeps the program's meaning, so a rule that still fires on it must
# still be admitted by its needs.


def _rename_bound_names(text: str) -> str:
    """Every parameter and assigned local renamed (consistently, uses too) to `v<n>`."""
    import libcst as cst

    module = cst.parse_module(text)
    bound: set[str] = set()

    class Collect(cst.CSTVisitor):
        def visit_Param(self, node: cst.Param) -> None:
            bound.add(node.name.value)

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            for name in _names(node.target):
                bound.add(name)

        def visit_For(self, node: cst.For) -> None:
            for name in _names(node.target):
                bound.add(name)

    def _names(target: cst.BaseExpression) -> list[str]:
        if isinstance(target, cst.Name):
            return [target.value]
        if isinstance(target, (cst.Tuple, cst.List)):
            return [n for element in target.elements for n in _names(element.value)]
        return []

    module.visit(Collect())
    bound -= {"self", "cls"}
    mapping = {name: f"v{number}" for number, name in enumerate(sorted(bound))}

    class Rename(cst.CSTTransformer):
        def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
            return updated.with_changes(value=mapping.get(updated.value, updated.value))

    return module.visit(Rename()).code


def _spaced_brackets(text: str) -> str:
    return text.replace("(", "( ").replace("[", "[ ").replace(")", " )").replace("]", " ]")


def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def _tabs(text: str) -> str:
    import re

    return re.sub(r"(?m)^((?:    )+)", lambda match: "\t" * (len(match.group(1)) // 4), text)


def _comment_lines(text: str) -> str:
    """A comment line before every line, at its indentation (legal inside brackets too)."""
    lines = []
    for line in text.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        lines += [f"{indent}# note", line]
    return "\n".join(lines) + "\n"


def _broken_calls(text: str) -> str:
    """A line break after every opening parenthesis (inside a call, a line continues)."""
    return text.replace("(", "(\n")


RESPELLINGS = {
    "renamed": _rename_bound_names,
    "spaced": _spaced_brackets,
    "crlf": _crlf,
    "tabs": _tabs,
    "comments": _comment_lines,
    "broken-calls": _broken_calls,
}


def _invalid_cases() -> list:
    return [
        pytest.param(code, case.source, id=f"{code}-{number}")
        for code in RULE_CODES
        for number, case in enumerate(registry.load_rule(code).INVALID)
    ]


@pytest.mark.parametrize("code, source", _invalid_cases())
def test_needs_admit_respelled_invalid_cases(code: str, source: str) -> None:
    import libcst as cst

    still_fires = 0
    for how, respell in RESPELLINGS.items():
        try:
            text = respell(source)
            cst.parse_module(text)
        except Exception:  # noqa: BLE001 - a respelling this case does not survive (e.g. a string with "(")
            continue
        fired = _fired(f"/respelled/{code}_{how}.py", text)
        if code in fired:
            still_fires += 1
            assert code in registry.candidates(text, [code], thorough=True), f"{code}'s needs reject the case respelled ({how}):\n{text}"
    assert still_fires, f"no respelling of this {code} case still fires: the check above tested nothing"
