"""`azure`: Azure Pipelines logging commands, one issue per finding, as `ruff --output-format azure`.

    ##vso[task.logissue type=error;sourcepath=/abs/pkg/x.py;linenumber=3;columnnumber=5;code=GL101;]message

A warning-severity finding is `type=warning`. The path is absolute (through `render.lossy`).
Values are escaped as Azure's task library escapes them (azure-pipelines-task-lib,
`taskcommand.ts`), so no path or message can end the command early or start another
line: in the message `%` (as `%AZP25`), CR and LF (`%0D`, `%0A`); in a property also
`;` (`%3B`) and `]` (`%5D`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from gradlint.diagnostics import Diagnostic, Severity
from gradlint.render import RenderOptions, lossy

if TYPE_CHECKING:
    from gradlint.api import Report


def escape_data(text: str) -> str:
    """The message of a logging command: `%` first, so no escape is escaped twice."""
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: as the message, plus the separator `;` and the command's end `]`."""
    return escape_data(text).replace(";", "%3B").replace("]", "%5D")


def logissue(diagnostic: Diagnostic) -> str:
    properties = {
        "type": "warning" if diagnostic.severity is Severity.WARNING else "error",
        "sourcepath": lossy(diagnostic.filename),
        "linenumber": str(diagnostic.start.row),
        "columnnumber": str(diagnostic.start.column),
        "code": diagnostic.code,
    }
    props = "".join(f"{key}={escape_property(value)};" for key, value in properties.items())
    return f"##vso[task.logissue {props}]{escape_data(lossy(diagnostic.message))}"


def render(report: "Report", out: TextIO, options: RenderOptions) -> None:
    for diagnostic in report.diagnostics:
        out.write(logissue(diagnostic) + "\n")
