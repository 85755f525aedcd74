"""Every rule's own VALID cases stay silent and INVALID cases fire (only that rule enabled)."""

from __future__ import annotations

import pytest

from gradlint import registry
from gradlint.api import check_source
from gradlint.settings import Settings


def _cases(kind: str) -> list:
    params = []
    for code in registry.all_codes():
        rule = registry.load_rule(code)
        for number, case in enumerate(getattr(rule, kind)):
            params.append(pytest.param(rule, case, id=f"{code}-{kind.lower()}-{number}"))
    return params


def _run(rule: type, source: str) -> list:
    # Engine-reported codes (GL001, GL003) show on files some rule wants parsed, or judge the other rules'
    # findings: run them with all rules.
    settings = Settings(select=("ALL",)) if rule.code in registry.ENGINE_CODES else Settings(select=(rule.code,))
    report = check_source(source, f"case_{rule.code}.py", settings)
    assert not report.crashes, report.crashes
    return [d for d in report.diagnostics if d.code == rule.code]


@pytest.mark.parametrize("rule, case", _cases("INVALID"))
def test_invalid_case_fires(rule: type, case) -> None:
    found = _run(rule, case.source)
    assert found, f"{rule.code} stayed silent on INVALID case ({case.why}):\n{case.source}"
    if case.line is not None:
        assert found[0].start.row == case.line, [(d.start.row, d.message) for d in found]
    if case.message is not None:
        assert any(case.message in d.message for d in found), [d.message for d in found]
    if case.count is not None:
        assert len(found) == case.count, [d.message for d in found]
    declared = {rule.severity, *rule.other_severities}  # severity selectors rely on the declaration
    assert all(d.severity in declared for d in found), [(d.severity, d.message) for d in found]


@pytest.mark.parametrize("rule, case", _cases("VALID"))
def test_valid_case_is_silent(rule: type, case) -> None:
    found = _run(rule, case.source)
    assert not found, f"{rule.code} fired on VALID case ({case.why}): {[d.message for d in found]}\n{case.source}"


@pytest.mark.parametrize("code", registry.all_codes())
def test_rule_metadata_is_complete(code: str) -> None:
    rule = registry.load_rule(code)
    assert rule.code == code
    assert rule.name == rule.name.lower() and " " not in rule.name
    for section in ("summary", "what_it_does", "why_bad", "example", "use_instead"):
        assert getattr(rule, section).strip(), f"{code} lacks {section}"
    if code not in registry.ENGINE_CODES:
        assert rule.INVALID and rule.VALID, f"{code} needs INVALID and VALID cases"
