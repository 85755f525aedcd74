"""`junit`: JUnit XML for CI test reports, as `ruff --output-format junit` writes.

One `<testsuite>` per file with findings, one failing `<testcase>` per finding (named after its
code, with its file and row); a run without findings is one passing test case.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TextIO
from xml.etree import ElementTree

from gradlint.render import RenderOptions, display_path, lossy

if TYPE_CHECKING:
    from gradlint.api import Report

# Characters XML 1.0 does not allow (control characters but tab, LF and CR; U+FFFE, U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` as XML 1.0 can hold it: `lossy`, and characters XML forbids as U+FFFD."""
    return _NOT_XML.sub("\ufffd", lossy(text))


def render(report: "Report", out: TextIO, options: RenderOptions) -> None:
    diagnostics = report.diagnostics
    count = str(len(diagnostics))
    suites = ElementTree.Element("testsuites", name="gradlint", tests=str(len(diagnostics) or 1), failures=count, errors="0")
    if not diagnostics:
        suite = ElementTree.SubElement(suites, "testsuite", name="gradlint", tests="1", failures="0", errors="0")
        ElementTree.SubElement(suite, "testcase", name="No findings", classname="gradlint")
    by_file: dict[str, list] = {}
    for diagnostic in diagnostics:
        by_file.setdefault(diagnostic.filename, []).append(diagnostic)
    for filename, found in by_file.items():
        path = xml_text(display_path(filename, options.root))
        suite = ElementTree.SubElement(suites, "testsuite", name=path, tests=str(len(found)), failures=str(len(found)), errors="0")
        for diagnostic in found:
            case = ElementTree.SubElement(
                suite, "testcase", name=f"gradlint.{diagnostic.code}", classname=path, file=path, line=str(diagnostic.start.row)
            )
            message = xml_text(diagnostic.message)
            failure = ElementTree.SubElement(case, "failure", message=message, type=diagnostic.name)
            failure.text = f"line {diagnostic.start.row}, col {diagnostic.start.column}, {diagnostic.code} {message}"
    ElementTree.indent(suites)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n")
