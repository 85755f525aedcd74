"""gradlint: a static-analysis linter for hand-written gradient code."""

__version__ = "0.1.0"
