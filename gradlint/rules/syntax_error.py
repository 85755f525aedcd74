"""GL001 syntax-error: the file could not be parsed."""

from __future__ import annotations

from typing import Iterator

from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid


class SyntaxErrorRule(Rule):
    """Reported by the engine when libcst cannot parse a file; `check` finds nothing more."""

    code = "GL001"
    name = "syntax-error"
    severity = Severity.ERROR
    summary = "The file could not be parsed, so none of its gradient code was checked."
    what_it_does = """
        Reports a file that does not parse as Python, at the position of the parse error.
        The other files of the run are still checked. gradlint parses only the files whose
        text could hold something an enabled rule looks for (the pre-check), so a syntax
        error in a file without gradient-shaped code is left to your other linters.
        """
    why_bad = """
        A file that does not parse cannot run, and gradlint cannot check anything in it.
        """
    example = """
        def softmax_prime(s:
            return np.diag(s) - np.outer(s, s)
        """
    use_instead = """
        def softmax_prime(s):
            return np.diag(s) - np.outer(s, s)
        """
    INVALID = (
        Invalid(
            """
            def softmax_prime(s):
                J = np.diag(s)
                for i in range(len(s))
                    for j in range(len(s)):
                        J[i][j] = 0
            """,
            line=3,
            message="SyntaxError",
            why="the `for` header lacks its colon; reported where Python reports it (3:27 on every version)",
        ),
    )
    VALID = (Valid("def softmax_prime(s):\n    return np.diag(s) - np.outer(s, s)\n"),)

    def check(self, analysis: object) -> Iterator[Finding]:
        return iter(())
