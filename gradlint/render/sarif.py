"""`sarif`: a SARIF 2.1.0 log that GitHub code scanning accepts.

One run; `tool.driver.rules` describes each rule that has a result (id, name,
short and full description, help in Markdown, helpUri, default level). Each
result names its rule, level and message, and locates the finding by a URI
relative to the source root (`uriBaseId` `%SRCROOT%`: the enclosing git
work tree, or the working directory) and a region with 1-based rows and
columns (end exclusive, as SARIF's). `partialFingerprints.primaryLocationLineHash`
is a hash of the reported line with its whitespace removed, plus the line's
occurrence number among identical lines of the file, so an alert survives
edits elsewhere in the file. Unsafe fixes travel as SARIF `fixes`. Rule
crashes are tool execution notifications. Names and messages go through
`render.lossy`: a file name that is not UTF-8 shows U+FFFD for its undecodable bytes
(its URI percent-encodes that character).
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, TextIO
from urllib.parse import quote

from gradlint import __version__, registry
from gradlint.diagnostics import Diagnostic, Edit
from gradlint.engine import source_lines
from gradlint.render import RenderOptions, lossy, sources_by_file
from gradlint.render.json import dumps, plain

if TYPE_CHECKING:
    from gradlint.api import Report
    from gradlint.engine import RuleCrash

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
PROJECT_URI = registry.DOCS_URL.split("/blob/")[0]
_WHITESPACE = re.compile(r"\s+")


def source_root(start: Path) -> Path:
    """The git work tree holding `start`, else `start` itself."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def artifact_location(filename: str, root: Path) -> dict[str, str]:
    """A URI relative to `root` (with `%SRCROOT%`), or an absolute file URI outside it."""
    path = Path(filename)
    try:
        relative = path.resolve().relative_to(root)
    except (ValueError, OSError):
        return {"uri": Path(lossy(str(path.absolute()))).as_uri()}
    return {"uri": quote(lossy(relative.as_posix())), "uriBaseId": SRCROOT}


def root_uri(root: Path) -> str:
    """The `%SRCROOT%` URI, ending with a slash."""
    return Path(lossy(str(root))).as_uri().rstrip("/") + "/"


def line_hash(line: str, occurrence: int) -> str:
    """`<16 hex digits>:<n>`: the line without whitespace, and which identical line it is."""
    digest = hashlib.sha256(lossy(_WHITESPACE.sub("", line)).encode("utf-8")).hexdigest()[:16]
    return f"{digest}:{occurrence}"


class LineHashes:
    """Line hashes of one file, numbering identical lines in order (SARIF's and GitLab's
    fingerprints: they survive code moving above a finding)."""

    def __init__(self, source: Optional[str]) -> None:
        self.lines = source_lines(source) if source is not None else []  # rows end at Python's line breaks only
        self._hashes: dict[int, str] = {}

    def of_row(self, row: int) -> str:
        if not self._hashes and self.lines:
            seen: dict[str, int] = {}
            for number, line in enumerate(self.lines, start=1):
                key = _WHITESPACE.sub("", line)
                seen[key] = seen.get(key, 0) + 1
                self._hashes[number] = line_hash(line, seen[key])
        return self._hashes.get(row, line_hash("", 1))


def _region(start: Any, end: Any) -> dict[str, int]:
    return {"startLine": start.row, "startColumn": start.column, "endLine": end.row, "endColumn": end.column}


def _text(value: str) -> str:
    return textwrap.dedent(value).strip()


def rule_descriptor(code: str, example: Diagnostic) -> dict[str, Any]:
    """SARIF metadata of one rule (from the rule module; from a finding if it has none)."""
    url = registry.RULES[code].url if code in registry.RULES else example.url
    try:
        rule = registry.load_rule(code)
    except (KeyError, LookupError, ImportError):
        descriptor: dict[str, Any] = {
            "id": code,
            "name": example.name,
            "shortDescription": {"text": example.name},
            "defaultConfiguration": {"level": example.severity.value},
        }
        if url:
            descriptor["helpUri"] = url
        return descriptor
    documentation = rule.documentation()
    descriptor = {
        "id": code,
        "name": rule.name,
        "shortDescription": {"text": _text(rule.summary)},
        "fullDescription": {"text": _text(rule.what_it_does)},
        "help": {"text": documentation, "markdown": documentation},
        "defaultConfiguration": {"level": rule.severity.value},
        "properties": {"problem.severity": rule.severity.value, "fixable": bool(rule.fixable)},
    }
    if url:
        descriptor["helpUri"] = url
    return descriptor


def _fix(diagnostic: Diagnostic, location: dict[str, str]) -> dict[str, Any]:
    assert diagnostic.fix is not None
    return {
        "description": {"text": lossy(diagnostic.fix.message)},
        "artifactChanges": [
            {
                "artifactLocation": location,
                "replacements": [_replacement(edit) for edit in diagnostic.fix.edits],
            }
        ],
    }


def _replacement(edit: Edit) -> dict[str, Any]:
    return {"deletedRegion": _region(edit.start, edit.end), "insertedContent": {"text": lossy(edit.content)}}


def _notification(crash: "RuleCrash", root: Path) -> dict[str, Any]:
    return {
        "level": "error",
        "message": {"text": lossy(str(crash))},
        "descriptor": {"id": crash.code},
        "locations": [{"physicalLocation": {"artifactLocation": artifact_location(crash.filename, root)}}],
    }


def sarif_log(report: "Report", options: RenderOptions) -> dict[str, Any]:
    root = source_root(options.root)
    diagnostics = report.diagnostics
    sources = sources_by_file(report)
    examples: dict[str, Diagnostic] = {}
    for diagnostic in diagnostics:
        examples.setdefault(diagnostic.code, diagnostic)
    codes = sorted(examples)
    rule_index = {code: number for number, code in enumerate(codes)}
    fingerprints: dict[str, LineHashes] = {}
    results = []
    for diagnostic in diagnostics:
        location = artifact_location(diagnostic.filename, root)
        hashes = fingerprints.setdefault(diagnostic.filename, LineHashes(sources.get(diagnostic.filename)))
        result: dict[str, Any] = {
            "ruleId": diagnostic.code,
            "ruleIndex": rule_index[diagnostic.code],
            "level": diagnostic.severity.value,
            "message": {"text": lossy(diagnostic.message)},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": location,
                        "region": _region(diagnostic.start, diagnostic.end),
                    }
                }
            ],
            "partialFingerprints": {"primaryLocationLineHash": hashes.of_row(diagnostic.start.row)},
        }
        if diagnostic.fix is not None:
            result["fixes"] = [_fix(diagnostic, location)]
        if diagnostic.runtime is not None:
            result["properties"] = {"runtime": plain(diagnostic.runtime.as_dict())}
        results.append(result)
    crashes = report.crashes
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gradlint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": PROJECT_URI,
                        "rules": [rule_descriptor(code, examples[code]) for code in codes],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": root_uri(root)}},
                "columnKind": "unicodeCodePoints",
                "invocations": [
                    {
                        "executionSuccessful": not crashes,
                        "toolExecutionNotifications": [_notification(crash, root) for crash in crashes],
                    }
                ],
                "results": results,
            }
        ],
    }


def render(report: "Report", out: TextIO, options: RenderOptions) -> None:
    out.write(dumps(sarif_log(report, options), indent=2, ascii_only=options.ascii_only) + "\n")
