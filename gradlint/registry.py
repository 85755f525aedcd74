"""The one place where rule codes live.

Each code maps to the module (under `gradlint.rules`) that implements it and to
the *pre-check* patterns that gate parsing: a file is parsed for a rule only if
every pattern of that rule matches the file's text. The patterns must be
necessary conditions of the rule firing (tests/test_precheck.py checks that over
every INVALID case and the fixtures gallery). This module imports nothing heavy,
so selecting rules and pre-checking files costs no libcst import.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from gradlint.rule import Rule

DOCS_URL = "https://github.com/gradlint/gradlint/blob/main/docs/rules/{code}.md"


@dataclass(frozen=True)
class RuleEntry:
    """Where a code's rule lives, and what its file must contain to be worth parsing."""

    code: str
    module: str
    needs: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return DOCS_URL.format(code=self.code)


_ENTRIES: tuple[RuleEntry, ...] = (
    RuleEntry("GL001", "syntax_error"),
    RuleEntry("GL002", "io_error"),
    RuleEntry("GL101", "overwritten_diagonal", (r"\bfor\b|\bwhile\b", r"\]\s*=")),
)

RULES: dict[str, RuleEntry] = {entry.code: entry for entry in _ENTRIES}

# Codes reported by the engine itself rather than by a rule's check.
ENGINE_CODES = frozenset({"GL001", "GL002"})


def all_codes() -> list[str]:
    return sorted(RULES)


def codes_matching(selector: str) -> list[str]:
    """Codes selected by a code, a prefix (`GL1`), or `ALL`."""
    if selector.upper() == "ALL":
        return all_codes()
    return [code for code in all_codes() if code.startswith(selector.upper())]


@lru_cache(maxsize=None)
def load_rule(code: str) -> "type[Rule]":
    """Import the module implementing `code` and return its rule class."""
    from gradlint.rule import Rule

    entry = RULES[code]
    module = importlib.import_module(f"gradlint.rules.{entry.module}")
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.code == code:
            return value
    raise LookupError(f"module gradlint.rules.{entry.module} defines no rule with code {code}")


def load_rules(codes: Iterable[str]) -> "list[type[Rule]]":
    return [load_rule(code) for code in sorted(codes)]


def rule_by_name(name: str) -> "type[Rule] | None":
    for code in all_codes():
        rule = load_rule(code)
        if rule.name == name:
            return rule
    return None


@lru_cache(maxsize=None)
def _compiled(code: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in RULES[code].needs)


def precheck(text: str, codes: Iterable[str]) -> bool:
    """True when `text` may hold something one of the rules `codes` reports."""
    for code in codes:
        if code in ENGINE_CODES:
            continue
        if all(pattern.search(text) for pattern in _compiled(code)):
            return True
    return False
