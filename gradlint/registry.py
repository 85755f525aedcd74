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
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from gradlint.precheck import Prechecker
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
    RuleEntry("GL103", "malformed_softmax_jacobian", (r"diag|\beye\b|\bidentity\b|[=!]=",)),
    RuleEntry("GL104", "jacobian_elementwise_product", (r"\*|multiply", r"diag|outer|eye|identity|einsum|\]\s*=|\bdef\b")),
    RuleEntry("GL201", "jacobian_from_preactivation", (r"\bdef\b|\blambda\b", r"-|subtract", r"@|dot|matmul|exp|tanh|sigmoid|softmax|logaddexp|log1p")),
    RuleEntry("GL301", "unstable_softmax", (r"\bexp\s*\(|\be\s*\*\*", r"sum\s*\(", r"/")),
    RuleEntry("GL302", "global_max_shift", (r"\bexp\s*\(|\be\s*\*\*", r"sum\s*\(", r"max\s*\(", r"/")),
    RuleEntry("GL303", "unguarded_log", (r"\blog\s*\(",)),
    RuleEntry("GL304", "unguarded_division", (r"/", r"\bexp\s*\(|\be\s*\*\*|\blog\s*\(|softmax|sigmoid|expit|\b1(?:\.0*)?\s*-")),
    RuleEntry("GL305", "unstable_activation", (r"\bexp\s*\(|\be\s*\*\*", r"/|\blog(?:1p)?\s*\(")),
    RuleEntry("GL401", "reduction_without_keepdims", (r"(?:axis|dim)\s*=\s*\(?\s*-?\s*1\b|[(,]\s*\(?\s*-?\s*1\s*\)?\s*[,)]", r"[-/]")),
    RuleEntry("GL402", "input_mutated_in_place", (r"[-+*/%@&|^<>]=|\]\s*=|\bout\s*=",)),
    RuleEntry("GL901", "gradient_mismatch", (r"(?!)",)),  # runtime stage only: never pre-checked in
)

RULES: dict[str, RuleEntry] = {entry.code: entry for entry in _ENTRIES}

# Codes reported by the engine itself rather than by a rule's check.
# GL901 is reported by the runtime stage (gradlint.runtime), never by a static check.
ENGINE_CODES = frozenset({"GL001", "GL002", "GL901"})


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


@lru_cache(maxsize=64)
def _prechecker(codes: frozenset[str]) -> "Prechecker":
    from gradlint.precheck import Prechecker

    return Prechecker({code: RULES[code].needs for code in codes if code not in ENGINE_CODES})


def candidates(text: str, codes: Iterable[str]) -> frozenset[str]:
    """The rule codes among `codes` whose `needs` all match `text` (see gradlint.precheck)."""
    return _prechecker(frozenset(codes)).candidates(text)


def precheck(text: str, codes: Iterable[str]) -> bool:
    """True when `text` may hold something one of the rules `codes` reports."""
    return bool(candidates(text, codes))
