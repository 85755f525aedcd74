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


# GL3xx: an exponential, `np.exp(x)`, `x.exp()`, `np.e ** x` (gradlint.analysis.numerics recognises
# numeric calls by the name as written, so a renamed import is not an `exp` there either).
_EXP = r"\bexp\s*\(|\be\s*\*\*"
# GL401: a reduction called with axis/dim 1 or -1 (keyword or positional), its arguments nested at
# most two parentheses deep before the axis; kept equal to reduction_without_keepdims.REDUCTION_CALL.
_GL401_REDUCTION = (
    r"\b(?:sum|nansum|max|amax|nanmax|min|amin|nanmin|mean|nanmean|std|var|prod|norm|logsumexp)\s*\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*?"
    r"(?:\b(?:axis|dim)\s*=\s*\(?\s*-?\s*1\b|,\s*\(?\s*-?\s*1\s*\)?\s*[,)])"
)
# GL402: kept equal to gradlint.rules.input_mutated_in_place.EVIDENCE (a test checks it).
_GL402_EVIDENCE = (
    r"\b(?:exp|tanh|maximum)\s*\(|\b(?:dout|dvalues|grad_output)\b"
    r"|(?:def|class)\s+\w*(?:[Bb]ackward|[Bb]ackprop|bprop|[Gg]rad|[Dd]eriv|[Pp]rime|[Rr]e[Ll][Uu]|[Ss]igmoid|[Ss]oftmax"
    r"|[Tt]anh|[Aa]ctivation|[Ff]orward)"
)

# A matrix product `a @ b` (or `@=`). The pattern starts at the `@` (a fast literal search) and keeps it
# when it follows other text on its line (not a quote: `"@"`), up to 16 blanks before it (more count
# too), when it starts a line after a backslash continuation, or when it starts a line that is not a
# one-line decorator (a dotted name, maybe called with arguments nested one level) followed, past blank
# and comment lines, by @/def/async/class. E-mail addresses still count.
_BLANKS = [r"[ \t]" * count for count in range(17)]
_DECORATOR_LINE = (
    r"[ \t]*[\w.]+(?:\((?:[^()\n]|\([^()\n]*\))*\))?[ \t]*(?:#[^\n]*)?\n"
    r"(?:[ \t]*(?:#[^\n]*)?\n)*[ \t]*(?:@|def\b|async\b|class\b)"
)
_MATMUL_OPERATOR = (
    "@(?:"
    + "|".join(f"(?<=[^\\s@'\"]{blanks}@)" for blanks in _BLANKS)
    + r"|(?<=[ \t]{17}@)|"
    + "|".join(f"(?<=\\\\\\n{blanks}@)" for blanks in _BLANKS)
    + "|(?:" + "|".join(f"(?<=\\n{blanks}@)" for blanks in _BLANKS) + f")(?!{_DECORATOR_LINE}))"
)
# A nonlinearity as gradlint.analysis.semantics recognises one: a library call (by the name as written:
# np.exp, expit, tanh, sigmoid, softmax/log_softmax, logaddexp, log1p) or a formula built on exp or
# logsumexp (x - logsumexp(x)); `exp` alone would match `except`.
_NONLINEARITY = r"\bexp(?:it)?\b|tanh|sigmoid|softmax|logaddexp|log1p|logsumexp"
# A numeric zero as semantics._number reads it: 0, 0.0, .0, -0, (0).
_ZERO = r"[\s(\-]*\.?0"
# Two stores into subscripted elements (`J[i, j] = ...` twice, as separate statements): GL101 reports the
# second of two stores to one element, GL103 an `if i == j:` loop's diagonal and off-diagonal stores.
_TWO_ELEMENT_STORES = r"\]\s*=(?!=)[\s\S]*?\]\s*=(?!=)"
# GL103: where a diagonal matrix can come from (np.diag/diagflat, eye/identity): every matrix formula
# it reports has one; its other finding is an `if i == j:` / `if i != j:` branch in an element loop.
_GL103_DIAGONAL = r"diag|\beye\b|\bidentity\b"
# GL104: a Jacobian role (semantics: outer/eye/identity/diag/diagflat/einsum, or an element-filled
# square allocation np.zeros/empty/ones((n, n)): a shape tuple or list as the first argument).
_GL104_JACOBIAN = r"\b(?:diag|diagflat|outer|eye|identity|einsum)\b"
# GL201: a pre-activation (semantics: an affine map W @ x + b, or the input of a nonlinearity, where
# relu-like ones count when two kinds leave it unnamed: self.activation set to relu or leaky relu).
_GL201_PREACTIVATION = _MATMUL_OPERATOR + r"|@=|\b(?:dot|matmul)\b|" + _NONLINEARITY + r"|maximum|fmax"

_ENTRIES: tuple[RuleEntry, ...] = (
    RuleEntry("GL001", "syntax_error"),
    RuleEntry("GL002", "io_error"),
    RuleEntry("GL101", "overwritten_diagonal", (r"\bfor\b|\bwhile\b", _TWO_ELEMENT_STORES)),
    RuleEntry("GL103", "malformed_softmax_jacobian", (
        _GL103_DIAGONAL + r"|if\b[\s(\\]*\w+[\s)\\]*[=!]=[\s(\\]*\w+[\s)\\]*:",
        r"[*@]|outer|dot|einsum|multiply|matmul|square",
        _GL103_DIAGONAL + r"|\belse\b", _GL103_DIAGONAL + r"|\bfor\b|\bwhile\b", _GL103_DIAGONAL + "|" + _TWO_ELEMENT_STORES,
    )),
    RuleEntry("GL102", "elementwise_softmax_derivative", (r"\bexp\b|softmax", r"-|subtract")),
    RuleEntry("GL203", "double_softmax_derivative", (r"\bexp\s*\(|softmax\s*\(|\.(?:backward\w*|backprop\w*|bprop|grad|gradient)\s*\(",)),
    RuleEntry("GL205", "derivative_of_wrong_function", (_NONLINEARITY + r"|maximum|fmax|>=?" + _ZERO + r"|\[[^\]]*<=?" + _ZERO,)),
    RuleEntry("GL105", "jacobian_from_upstream_gradient", (r"(?i)def\s+\w*(?:backward|backprop|bprop|grad)", r"outer|diag|einsum|@|dot|matmul|\*")),
    RuleEntry("GL104", "jacobian_elementwise_product", (
        r"\*|multiply", _GL104_JACOBIAN + r"|\]\s*=", _GL104_JACOBIAN + r"|\b(?:zeros|empty|ones)\s*\(\s*(?:#[^\n]*\n\s*)*[(\[]",
    )),
    RuleEntry("GL201", "jacobian_from_preactivation", (
        r"\bdef\b|\blambda\b", r"-|subtract",
        _GL201_PREACTIVATION + r"|\bwhere\b", _GL201_PREACTIVATION + r"|>=?" + _ZERO,  # leaky relu by where(z > 0, ...)
    )),
    RuleEntry("GL202", "derivative_fed_activation", (r"\bdef\b|\blambda\b", _NONLINEARITY)),
    # a backward by semantics.is_backward: a def named with backward/backprop, or (in a class) named
    # bprop/grad/gradient; names compared lowercased
    RuleEntry("GL204", "upstream_gradient_unused", (r"\bdef[\s\\]+(?:\w*(?i:backward|backprop)|(?i:bprop|grad|gradient)\b)",)),
    RuleEntry("GL301", "unstable_softmax", (_EXP, r"sum\s*\(", r"/")),
    RuleEntry("GL302", "global_max_shift", (_EXP, r"sum\s*\(", r"max\s*\(", r"/")),
    RuleEntry("GL303", "unguarded_log", (r"\blog\s*\(",)),
    RuleEntry("GL304", "unguarded_division", (r"/|divide\s*\(", _EXP + r"|\blog\s*\(|softmax|sigmoid|expit|[/*,]\s*\(*\s*1(?:\.0*)?\s*-")),
    RuleEntry("GL305", "unstable_activation", (_EXP, r"/|\blog(?:1p)?\s*\(")),
    RuleEntry("GL401", "reduction_without_keepdims", (_GL401_REDUCTION, r"[-/]")),
    RuleEntry("GL402", "input_mutated_in_place", (r"[-+*/%@&|^<>]=|[\])]\s*=|\bout\s*=", _GL402_EVIDENCE)),
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
