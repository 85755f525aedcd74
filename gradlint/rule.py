"""The base every rule derives from: metadata, docs, cases and the check.

A rule module (`gradlint/rules/<name>.py`) defines one subclass of `Rule` with
its code (registered in `gradlint.registry`), kebab-case name, severity, a
one-line summary, the fixed documentation sections, its VALID and INVALID
cases, and `check`, which reads the shared module analysis and reports
findings. Rules never parse or walk the tree themselves: the analysis did that
once, and rules ask it (`ctx.analysis`).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Iterator, Optional

from gradlint.diagnostics import Severity

if TYPE_CHECKING:
    import libcst as cst

    from gradlint.analysis import ModuleAnalysis


@dataclass(frozen=True)
class Valid:
    """Code the rule must stay silent on."""

    code: str
    why: str = ""

    @property
    def source(self) -> str:
        return textwrap.dedent(self.code).lstrip("\n")


@dataclass(frozen=True)
class Invalid:
    """Code the rule must fire on; `line` is the expected 1-based row of the
    first finding, `message` a substring its message must contain."""

    code: str
    line: Optional[int] = None
    message: Optional[str] = None
    count: Optional[int] = None
    why: str = ""

    @property
    def source(self) -> str:
        return textwrap.dedent(self.code).lstrip("\n")


@dataclass(frozen=True)
class Replacement:
    """A proposed repair: replace `node` by `new_node` (both libcst nodes)."""

    message: str
    node: "cst.CSTNode"
    new_node: "cst.CSTNode"


@dataclass(frozen=True)
class Finding:
    """What a rule reports: the offending node and the message about it."""

    node: "cst.CSTNode"
    message: str
    fix: Optional[Replacement] = None
    severity: Optional[Severity] = None  # overrides the rule's default when set


class Rule:
    """Base class of every gradlint rule."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = Severity.ERROR
    # Other severities some of its findings carry (`Finding.severity`): a severity selector
    # (`ignore = ["warning"]`) selects findings by their own severity.
    other_severities: ClassVar[tuple[Severity, ...]] = ()
    summary: ClassVar[str]  # one line: why this is a bug
    what_it_does: ClassVar[str]
    why_bad: ClassVar[str]
    example: ClassVar[str]
    use_instead: ClassVar[str]
    references: ClassVar[tuple[str, ...]] = ()
    fixable: ClassVar[bool] = False
    safe_fix: ClassVar[bool] = False  # the fix never changes what the code does (`--fix` applies it by default)

    VALID: ClassVar[tuple[Valid, ...]] = ()
    INVALID: ClassVar[tuple[Invalid, ...]] = ()

    def check(self, analysis: "ModuleAnalysis") -> Iterator[Finding]:
        """Yield the findings of this rule in one analysed module."""
        raise NotImplementedError

    @classmethod
    def documentation(cls) -> str:
        """The rule's docs page in Markdown, with ruff's fixed sections."""
        refs = "\n".join(f"- {ref}" for ref in cls.references) or "- [All gradlint rules](README.md)"
        fix = ("Yes (safe)" if cls.safe_fix else "Yes (unsafe: review the change)") if cls.fixable else "No"
        return (
            f"# {cls.name} ({cls.code})\n\n"
            f"Severity: {cls.severity.value}{cls._other_severities_note()}. Fix available: {fix}.\n\n"
            f"## What it does\n{_block(cls.what_it_does)}\n\n"
            f"## Why is this bad?\n{_block(cls.why_bad)}\n\n"
            f"## Example\n```python\n{_block(cls.example)}\n```\n\n"
            f"## Use instead\n```python\n{_block(cls.use_instead)}\n```\n\n"
            f"## References\n{refs}\n"
        )


    @classmethod
    def _other_severities_note(cls) -> str:
        return "".join(f" (some findings: {other.value})" for other in cls.other_severities)


def _block(text: str) -> str:
    return textwrap.dedent(text).strip("\n")
