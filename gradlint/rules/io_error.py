"""GL002 io-error: the file could not be read or decoded."""

from __future__ import annotations

from typing import Iterator

from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Rule


class IoError(Rule):
    """Reported by file reading (`gradlint.files`), never by a syntax check."""

    code = "GL002"
    name = "io-error"
    severity = Severity.ERROR
    summary = "The file could not be read or decoded, so it was not checked."
    what_it_does = """
        Reports a path that could not be checked: it does not exist, cannot be read
        (permissions), vanished during the run, is binary, or does not decode in the
        encoding its BOM or coding cookie declares (UTF-8 by default).
        """
    why_bad = """
        Nothing in the file was checked; a clean run would otherwise hide that.
        """
    example = """
        # -*- coding: utf-8 -*-   (but the file is saved as Latin-1)
        """
    use_instead = """
        # -*- coding: latin-1 -*-
        """

    def check(self, analysis: object) -> Iterator[Finding]:
        return iter(())
