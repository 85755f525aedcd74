"""The `gradlint` command: parses options, calls the core API, picks a renderer.

No checking logic lives here. Exit codes: 0 no findings, 1 findings,
2 usage, configuration or internal error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from gradlint import __version__

app = typer.Typer(
    name="gradlint",
    help="A linter for hand-written gradient code: finds the chain-rule bugs that still run.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _fail(message: str) -> "typer.Exit":
    typer.echo(f"gradlint: error: {message}", err=True)
    return typer.Exit(EXIT_ERROR)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gradlint {__version__}")
        raise typer.Exit(EXIT_CLEAN)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """gradlint: static checks for hand-written derivatives."""


def _split(values: Optional[List[str]]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values or () for part in value.split(",") if part.strip())


@app.command()
def check(
    paths: List[str] = typer.Argument(None, help="Files or folders to check ('-' reads stdin). Default: ."),
    output_format: str = typer.Option("concise", "--output-format", help="concise, full, json, json-lines, github, sarif."),
    select: Optional[List[str]] = typer.Option(None, "--select", help="Rule codes or prefixes to enable (replaces config)."),
    extend_select: Optional[List[str]] = typer.Option(None, "--extend-select", help="Codes or prefixes to add."),
    ignore: Optional[List[str]] = typer.Option(None, "--ignore", help="Codes or prefixes to disable."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when there are findings."),
    stdin_filename: Optional[str] = typer.Option(None, "--stdin-filename", help="The name to report for stdin."),
) -> None:
    """Check Python files for gradient bugs."""
    from gradlint import api
    from gradlint.render import FORMATS, RenderOptions, renderer_for
    from gradlint.settings import Settings, SettingsError

    if output_format not in FORMATS:
        raise _fail(f"unknown output format {output_format!r} (choose from {', '.join(FORMATS)})")
    try:
        overrides = {}
        if select:
            overrides["select"] = _split(select)
        settings = Settings(extend_select=_split(extend_select), ignore=_split(ignore), **overrides)
    except SettingsError as error:
        raise _fail(str(error))
    paths = paths or ["."]
    if paths == ["-"]:
        text = sys.stdin.read()
        file_report = api.check_source(text, stdin_filename or "-", settings)
        report = api.Report((file_report,))
    else:
        report = api.check_paths(paths, settings)
    renderer_for(output_format)(report, sys.stdout, RenderOptions(output_format=output_format, root=Path.cwd()))
    for crash in report.crashes:
        typer.echo(f"gradlint: error: {crash}", err=True)
    if report.crashes:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_FINDINGS if report.diagnostics and not exit_zero else EXIT_CLEAN)


@app.command()
def rule(
    code: Optional[str] = typer.Argument(None, help="A rule code (GL101) or name (overwritten-diagonal)."),
    all_rules: bool = typer.Option(False, "--all", help="List every rule."),
    output_format: str = typer.Option("text", "--output-format", help="text or json."),
) -> None:
    """Show a rule's documentation."""
    import json

    from gradlint import registry

    if all_rules:
        rules = registry.load_rules(registry.all_codes())
    elif code:
        found = registry.load_rule(code.upper()) if code.upper() in registry.RULES else registry.rule_by_name(code)
        if found is None:
            raise _fail(f"unknown rule {code!r}; `gradlint rule --all` lists them")
        rules = [found]
    else:
        raise _fail("name a rule (gradlint rule GL101) or pass --all")
    if output_format == "json":
        payload = [
            {
                "code": r.code,
                "name": r.name,
                "severity": r.severity.value,
                "summary": r.summary,
                "fix": r.fixable,
                "url": registry.RULES[r.code].url,
                "explanation": r.documentation(),
            }
            for r in rules
        ]
        typer.echo(json.dumps(payload if all_rules else payload[0], indent=2))
    else:
        typer.echo("\n".join(r.documentation() for r in rules))


def main() -> None:
    """Entry point: run the app and turn any escaped exception into exit 2."""
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else EXIT_CLEAN)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - a CLI never shows a traceback
        name = type(error).__name__
        if name == "NoArgsIsHelpError":
            sys.exit(EXIT_ERROR)  # the help text was already printed
        if name in ("UsageError", "BadParameter", "NoSuchOption", "MissingParameter", "BadOptionUsage"):
            typer.echo(f"gradlint: error: {getattr(error, 'format_message', lambda: str(error))()}", err=True)
        else:
            typer.echo(f"gradlint: internal error: {name}: {error}", err=True)
        sys.exit(EXIT_ERROR)
