"""GL003 unused-noqa: a suppression comment names a gradlint code that has nothing to suppress."""

from __future__ import annotations

import re
from typing import Iterable, Iterator, Optional, Sequence

from gradlint import registry
from gradlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Position, Severity
from gradlint.rule import Finding, Invalid, Rule, Valid
from gradlint.suppression import UNCHECKED_CODES, Written

CODE = "GL003"
# Codes whose findings do not come from checking the text: a directive naming them cannot be judged here.
_NOT_JUDGED = frozenset({"GL002", "GL003", "GL901"})
_GRADLINT_CODE = re.compile(r"GL\d+")


# GL101 fires on its last store (row 10): a directive there is used for GL101.
_OVERWRITTEN_DIAGONAL = """
import numpy as np

def softmax_prime(s):
    n = len(s)
    J = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                J[i][j] = s[i] * (1 - s[i])
            J[i][j] = -s[i] * s[j]  {directive}
    return J
"""


class UnusedNoqa(Rule):
    """Reported after the file's other findings are known (`unused_directives`); `check` finds nothing."""

    code = CODE
    name = "unused-noqa"
    severity = Severity.WARNING
    fixable = True
    safe_fix = True
    summary = "A suppression comment names a gradlint code that has no finding to suppress there."
    what_it_does = """
        Reports a `# noqa: GL...`, `# gradlint: ignore[...]` or file-level `# gradlint: noqa: ...`
        directive, or one code in it, that suppresses nothing: no finding of that code on the
        rows where the comment counts (or, file-level, in the file), or a code gradlint does not
        have. Like ruff's RUF100. Only enabled rules are judged (a blanket gradlint directive only
        when every rule is enabled); other tools' codes (`E501`), a
        bare `# noqa` (flake8 and ruff read it too) and GL002/GL901 (not found by reading the
        text) are left alone. The fix removes the unused codes, or the whole directive.
        """
    why_bad = """
        A derivative that was corrected keeps its `# noqa`; when the same bug comes back on that
        line, nothing reports it. Stale directives also teach readers that the line is wrong.
        """
    example = """
        def sigmoid_prime(s):
            return s * (1 - s)  # noqa: GL202  (fixed long ago)
        """
    use_instead = """
        def sigmoid_prime(s):
            return s * (1 - s)
        """
    INVALID = (
        Invalid(
            """
            def sigmoid_prime(s):
                return s * (1 - s)  # noqa: GL202
            """,
            line=2,
            message="no GL202 finding",
            why="a directive left after the bug was fixed",
        ),
        Invalid(
            _OVERWRITTEN_DIAGONAL.format(directive="# noqa: GL101, GL104"),
            line=10,
            message="GL104",
            count=1,
            why="one of two codes is used: only the other is reported",
        ),
        Invalid("x = 1  # gradlint: ignore[GL999]\n", line=1, message="not a gradlint code", why="an unknown code"),
        Invalid("x = 1  # noqa: see the docs\n", line=1, message="no code after the colon", why="an invalid directive hides nothing"),
        Invalid("x = 1  # gradlint: ignore[]\n", line=1, message="no code in the brackets", why="empty brackets hide nothing (not everything)"),
        Invalid(
            "x = 1  # gradlint: ignore[overwriten-diagonal]\n", line=1, message="`overwriten-diagonal` is not a gradlint code or rule name",
            why="a misspelt rule name where only gradlint rules can be named",
        ),
        Invalid(
            "# gradlint: noqa: GL301\nimport math\n\ndef f(x):\n    return x + 1\n",
            line=1,
            message="in this file",
            why="a file-level directive with nothing to suppress in the file",
        ),
        Invalid("x = 1  # gradlint: ignore\n", line=1, message="no finding", why="a blanket gradlint directive on a clean line"),
    )
    VALID = (
        Valid(
            _OVERWRITTEN_DIAGONAL.format(directive="# noqa: GL101"),
            why="the directive suppresses the finding on its line",
        ),
        Valid("import os  # noqa: F401\n", why="another tool's code"),
        Valid("x = 1  # noqa\n", why="a bare `# noqa` is shared with flake8 and ruff"),
        Valid("x = 1  # noqa: E501, W291\n", why="only other tools' codes"),
        Valid("x = 1  # noqa: GL003\n", why="GL003 itself is not judged"),
        Valid("x = 1  # noqa: GL002\n", why="GL002 (the file could not be read) is not found by reading the text"),
        Valid("s = '# noqa: GL101'\n", why="not a comment"),
    )

    def check(self, analysis: object) -> Iterator[Finding]:
        return iter(())


def unused_directives(
    text: str, filename: str, diagnostics: Iterable[Diagnostic], enabled: Iterable[str], written: Sequence[Written]
) -> list[Diagnostic]:
    """GL003 findings for the directives `written` in `text` (as `written_directives` reads them)
    that suppress none of `diagnostics` (the file's findings before suppression) among the
    `enabled` codes."""
    if not written:
        return []
    judged = frozenset(enabled) - _NOT_JUDGED
    names = {registry.RULES[code].name: code for code in registry.all_codes()}
    found = list(diagnostics)
    in_file = {d.code for d in found}
    every_rule_judged = all(code in judged for code in registry.all_codes() if code not in registry.ENGINE_CODES)
    findings = []
    for directive in written:
        if directive.invalid:
            where = "in the brackets" if directive.bracketed else "after the colon"
            message = f"invalid suppression: no code {where}, so it hides nothing (name codes, e.g. `GL101`)"
            findings.append(_finding(directive, filename, text, message, (), fixable=False))  # what was meant is unclear
            continue
        if directive.codes is None:
            if directive.shared or not every_rule_judged:
                continue  # a bare noqa comment (flake8 and ruff read it too), or one that may be for a rule not run
            if any(d.code not in UNCHECKED_CODES and _counts_at(d, directive) for d in found):
                continue
            where = "in this file" if directive.file_level else "on the rows where it counts"
            findings.append(_finding(directive, filename, text, f"unused blanket directive: no finding {where}", ()))
            continue
        unused: list[str] = []
        reasons: list[str] = []
        for written in directive.codes:
            code = names.get(written.lower(), written.upper())
            if not _GRADLINT_CODE.fullmatch(code):
                if directive.bracketed:  # `# gradlint: ignore[...]` names only gradlint rules
                    unused.append(written)
                    reasons.append(f"`{written}` is not a gradlint code or rule name")
                continue  # another tool's code, or words after the codes
            if code not in registry.RULES:
                unused.append(written)
                reasons.append(f"`{written}` is not a gradlint code")
            elif code in judged:
                used = code in in_file if directive.file_level else any(d.code == code and _counts_at(d, directive) for d in found)
                if not used:
                    unused.append(written)
                    where = "in this file" if directive.file_level else "on the rows where this comment counts"
                    reasons.append(f"no {code} finding {where}")
        if unused:
            findings.append(_finding(directive, filename, text, "unused suppression: " + "; ".join(reasons), tuple(unused)))
    return findings


def _counts_at(diagnostic: Diagnostic, directive: Written) -> bool:
    return directive.file_level or directive.row in (diagnostic.start.row, *diagnostic.suppression_rows)


def _finding(directive: Written, filename: str, text: str, message: str, unused: tuple[str, ...], fixable: bool = True) -> Diagnostic:
    return Diagnostic(
        code=CODE,
        name=UnusedNoqa.name,
        message=message,
        filename=filename,
        start=Position(directive.row, directive.start + 1),
        end=Position(directive.row, directive.end + 1),
        severity=UnusedNoqa.severity,
        url=registry.RULES[CODE].url,
        fix=_removal(directive, text, unused) if fixable else None,
        noqa_row=directive.row,
    )


def _removal(directive: Written, text: str, unused: tuple[str, ...]) -> Optional[Fix]:
    """Remove the unused codes, or the whole directive when it names nothing else. Offered only
    where the result is certain: the directive ends its line, and its codes are separated by commas."""
    from gradlint.engine import source_lines

    lines = source_lines(text)  # rows end at CR LF, CR or LF: as suppression and the fixer count them
    if directive.row > len(lines):
        return None
    line = lines[directive.row - 1]
    if line[directive.end :].strip():
        return None
    kept = [code for code in directive.codes or () if code not in unused]
    if kept:
        written = line[directive.codes_start : directive.codes_end]
        if [part.strip() for part in written.split(",")] != list(directive.codes or ()):
            return None  # codes separated by spaces: words may follow them
        edit = Edit(", ".join(kept), Position(directive.row, directive.codes_start + 1), Position(directive.row, directive.codes_end + 1))
        return Fix(f"Remove the unused {', '.join(unused)}", (edit,), Applicability.SAFE)
    before = line[: directive.start].rstrip()
    if not before and directive.row < len(lines):  # the directive is the whole line: remove the line
        edit = Edit("", Position(directive.row, 1), Position(directive.row + 1, 1))
    else:
        edit = Edit("", Position(directive.row, len(before) + 1), Position(directive.row, len(line) + 1))
    return Fix("Remove the unused suppression comment", (edit,), Applicability.SAFE)
