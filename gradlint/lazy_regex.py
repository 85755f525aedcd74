"""Regexes compiled at their first use.

re's compiler is pure Python: compiling every pattern of the pre-check's predicates and of the
suppression directives when their modules are imported cost several milliseconds of every run,
though most runs use few of them (a predicate is asked only about files whose regex needs all
match; a directive pattern only reads files that hold a directive's start).
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from gradlint._startup import kept_compile

_PATTERN_METHODS = ("match", "search", "fullmatch", "finditer", "findall")


class LazyRegex:
    """A pattern compiled on first use, with the methods of `re.Pattern` used by gradlint. After the
    first call the methods are the compiled pattern's own, bound (slots): no indirection remains."""

    __slots__ = ("pattern", "flags", "_compiled", *_PATTERN_METHODS)

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: Optional[re.Pattern[str]] = None

    @property
    def compiled(self) -> "re.Pattern[str]":
        """The compiled pattern (compiled now if it was not yet): `match.re is regex.compiled`."""
        if self._compiled is None:
            self._compiled = compiled = kept_compile(self.pattern, self.flags)
            for method in _PATTERN_METHODS:
                setattr(self, method, getattr(compiled, method))
        return self._compiled

    @property
    def is_compiled(self) -> bool:
        return self._compiled is not None

    def __getattr__(self, name: str) -> Callable:
        # Asked only while a method is unbound (a bound one is a slot): compile, bind them all.
        if name not in _PATTERN_METHODS:
            raise AttributeError(name)
        return getattr(self.compiled, name)
