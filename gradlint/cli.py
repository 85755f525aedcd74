"""The `gradlint` command: parses options, calls the core API, picks a renderer.

No checking logic lives here. Exit codes: 0 no findings, 1 findings,
2 usage, configuration or internal error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, List, Optional, TextIO

if TYPE_CHECKING:
    from typing import NoReturn

import typer

from gradlint import __version__
from gradlint._startup import lighten_typer, save_code_caches

lighten_typer()  # typer without pydantic for gradlint's plain options (start-up time)

app = typer.Typer(
    name="gradlint",
    help="A linter for hand-written gradient code: finds the chain-rule bugs that still run.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

# Options of `check` that cannot be used together (ruff refuses such pairs too): one would be dropped.
# --color: None lets the renderer decide (a terminal, NO_COLOR, FORCE_COLOR).
_COLORS = {"auto": None, "always": True, "never": False}

_CONFLICTS = (
    ("--add-noqa", "--fix"), ("--add-noqa", "--diff"), ("--add-noqa", "--statistics"), ("--add-noqa", "stdin"),
    ("--runtime", "--fix"), ("--runtime", "--diff"), ("--runtime", "--add-noqa"), ("--runtime", "--fix-only"),
    ("--add-noqa", "--fix-only"), ("--add-noqa", "--ignore-noqa"),
    ("--diff", "--statistics"), ("--show-files", "--statistics"), ("--show-files", "--show-settings"),
    ("--show-files", "stdin"), ("--config", "--isolated"), ("--quiet", "--silent"),
)


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


def _split(values: Optional[List[str]], keep_empty: bool = False) -> tuple[str, ...]:
    """Comma-separated values. `keep_empty` for rule selectors: an empty one is kept, and refused
    by the settings as ruff does (`--select ""` must not quietly enable nothing)."""
    parts = (part.strip() for value in values or () for part in value.split(","))
    return tuple(part for part in parts if keep_empty or part)


@app.command()
def check(
    paths: List[str] = typer.Argument(None, help="Files or folders to check ('-' reads stdin). Default: ."),
    output_format: Optional[str] = typer.Option(
        None, "--output-format", envvar="GRADLINT_OUTPUT_FORMAT",
        help="concise, full, grouped, json, json-lines, github, gitlab, azure, junit, pylint, sarif, rdjson (default: concise, or output-format in the config).",
    ),
    output_file: Optional[str] = typer.Option(
        None, "--output-file", "-o", envvar="GRADLINT_OUTPUT_FILE", help="Write the report to this file instead of stdout."
    ),
    select: Optional[List[str]] = typer.Option(None, "--select", help="Rule codes or prefixes to enable (replaces config)."),
    extend_select: Optional[List[str]] = typer.Option(None, "--extend-select", help="Codes or prefixes to add."),
    ignore: Optional[List[str]] = typer.Option(None, "--ignore", help="Codes or prefixes to disable."),
    exit_zero: bool = typer.Option(False, "--exit-zero", "-e", help="Exit 0 even when there are findings."),
    exit_non_zero_on_fix: bool = typer.Option(
        False, "--exit-non-zero-on-fix", help="With --fix, exit 1 when a file was fixed, even if no finding remains."
    ),
    statistics: bool = typer.Option(False, "--statistics", help="Show counts per rule instead of the findings."),
    stdin_filename: Optional[str] = typer.Option(None, "--stdin-filename", help="The name to report for stdin."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Worker processes (default: all cores; at most 4 per core and one per file; serial when there is little to parse)."),
    no_cache: bool = typer.Option(False, "--no-cache", "-n", help="Neither read nor write the result cache (.gradlint_cache/)."),
    cache_dir: Optional[str] = typer.Option(
        None, "--cache-dir", envvar="GRADLINT_CACHE_DIR",
        help="Keep the result cache in this folder (default: .gradlint_cache at the project root, or cache-dir in the config).",
    ),
    config: Optional[str] = typer.Option(None, "--config", help="Use this configuration file (gradlint.toml or pyproject.toml) instead of the nearest one."),
    isolated: bool = typer.Option(False, "--isolated", help="Ignore every configuration file."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", help="Globs to exclude, replacing the configuration's exclude."),
    extend_exclude: Optional[List[str]] = typer.Option(None, "--extend-exclude", help="Globs to exclude as well."),
    force_exclude: bool = typer.Option(False, "--force-exclude", help="Apply exclude/extend-exclude to paths named explicitly too (pre-commit)."),
    respect_gitignore: Optional[bool] = typer.Option(
        None, "--respect-gitignore/--no-respect-gitignore", help="Skip what .gitignore and .ignore files ignore (default: yes, or respect-gitignore in the config)."
    ),
    show_settings: bool = typer.Option(False, "--show-settings", help="Print the resolved configuration and exit."),
    show_files: bool = typer.Option(False, "--show-files", help="Print the files that would be checked and exit."),
    runtime: bool = typer.Option(False, "--runtime", help="Then check every recognised derivative numerically in a sandboxed process (GL901)."),
    runtime_timeout: Optional[float] = typer.Option(None, "--runtime-timeout", help="Seconds per derivative for --runtime (default 10, or runtime-timeout in the config)."),
    fix: bool = typer.Option(False, "--fix", help="Apply the available fixes and write the files (unsafe ones only with --unsafe-fixes)."),
    fix_only: bool = typer.Option(False, "--fix-only", help="Apply the fixes, but neither report the findings left nor exit non-zero for them (implies --fix)."),
    show_fixes: bool = typer.Option(False, "--show-fixes", help="After fixing, list the fixes applied, per file and rule."),
    ignore_noqa: bool = typer.Option(False, "--ignore-noqa", help="Ignore every suppression comment (# noqa, # gradlint: ignore/noqa)."),
    unsafe_fixes: bool = typer.Option(False, "--unsafe-fixes", help="Also apply unsafe fixes (they may change behaviour: review them)."),
    add_noqa: bool = typer.Option(False, "--add-noqa", help="Add a `# noqa: CODE` comment for every finding not yet suppressed, and write the files."),
    diff: bool = typer.Option(False, "--diff", help="Print the fixes as unified diffs and write nothing; exit 1 when there are changes."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print the findings, but nothing else (no summary lines, warnings or notices)."),
    silent: bool = typer.Option(False, "--silent", "-s", help="Print nothing but errors, --statistics and --diff; the exit code still says what was found."),
    color: str = typer.Option("auto", "--color", help="auto (on a terminal, unless NO_COLOR), always or never."),
) -> None:
    """Check Python files for gradient bugs."""
    from gradlint import api
    from gradlint.render import FORMATS, LogLevel, emit, notices, write_warnings
    from gradlint.settings import Overrides, SettingsError, load_settings

    if output_format is not None and output_format not in FORMATS:
        raise _fail(f"unknown output format {output_format!r} (choose from {', '.join(FORMATS)})")
    if color not in _COLORS:
        raise _fail(f"--color must be auto, always or never, not {color!r}")
    given = {
        "--fix": fix, "--fix-only": fix_only, "--diff": diff, "--ignore-noqa": ignore_noqa, "--add-noqa": add_noqa, "--runtime": runtime, "--statistics": statistics,
        "--show-files": show_files, "--show-settings": show_settings, "--config": config is not None,
        "--isolated": isolated, "stdin": bool(stdin_filename) or paths == ["-"], "--quiet": quiet, "--silent": silent,
    }
    for first, second in _CONFLICTS:
        if given[first] and given[second]:
            raise _fail(f"{first} cannot be combined with {second}")
    log_level = LogLevel.SILENT if silent else LogLevel.QUIET if quiet else LogLevel.DEFAULT
    told = notices(sys.stderr, log_level)  # warnings and summaries on stderr
    if stdin_filename and paths and paths != ["-"]:
        for ignored in paths:  # as ruff: --stdin-filename means the source comes from stdin
            if ignored != "-":
                told.write(f"gradlint: warning: ignoring {ignored} in favour of standard input (--stdin-filename)\n")
        paths = ["-"]
    try:
        overrides = Overrides(
            output_format=output_format,
            cache_dir=cache_dir,
            ignore_noqa=ignore_noqa,
            runtime_timeout=runtime_timeout,
            select=_split(select, keep_empty=True) if select else None,
            extend_select=_split(extend_select, keep_empty=True),
            ignore=_split(ignore, keep_empty=True),
            config=config,
            isolated=isolated,
            force_exclude=True if force_exclude else None,
            respect_gitignore=respect_gitignore,
            exclude=_split(exclude) if exclude else None,
            extend_exclude=_split(extend_exclude),
        )
        settings = load_settings(overrides, Path.cwd(), paths or (), stdin_filename)
    except SettingsError as error:
        raise _fail(str(error))
    output_format = settings.output_format
    try:  # a broken configuration file found below the run's own (hierarchical configuration)
        if show_settings:
            typer.echo(settings.describe_for(paths[0] if paths else None), nl=False)
            raise typer.Exit(EXIT_CLEAN)
        if show_files:
            discovery = api.discover_files(paths or ["."], settings)
            for path in discovery.files:
                typer.echo(str(path))
            for problem in discovery.problems:
                typer.echo(f"gradlint: error: {problem.filename}: {problem.message}", err=True)
            raise typer.Exit(EXIT_ERROR if discovery.problems else EXIT_CLEAN)
        if jobs is not None and jobs < 0:
            raise _fail(f"--jobs must be 0 (all cores) or more, not {jobs}")
        paths = paths or (["-"] if stdin_filename else ["."])  # like ruff: --stdin-filename alone reads stdin
        if add_noqa:
            from gradlint import noqa

            raise typer.Exit(noqa.run_cli(paths, settings, sys.stderr, jobs=jobs or None, log_level=log_level))
        report_out = _report_stream(output_file)
        try:
            if fix or fix_only or diff:
                from gradlint import fixes

                raise typer.Exit(fixes.run_cli(
                    paths, settings, unsafe=unsafe_fixes, diff=diff, output_format=output_format, out=sys.stdout,
                    err=sys.stderr, stdin=_stdin() if paths == ["-"] else None, stdin_filename=stdin_filename, jobs=jobs or None,
                    cache=not no_cache, exit_zero=exit_zero, statistics=statistics,
                    report_to=report_out if output_file else None, exit_non_zero_on_fix=exit_non_zero_on_fix,
                    log_level=log_level, color=_COLORS[color], fix_only=fix_only and not diff, show_fixes=show_fixes,
                ))
            if paths == ["-"]:
                report = api.check_stdin(_stdin(), stdin_filename, settings)
            else:
                report = api.check_paths(paths, settings, jobs=jobs or None, cache=not no_cache)
                if not report.checked and not report.problems:  # a missing path is a GL002 of its own
                    told.write(api.NO_FILES_WARNING + "\n")
            write_warnings(report, told)
            if runtime:
                from gradlint import runtime as runtime_checker

                report = runtime_checker.run_stage(report, settings, output_format, notices(report_out, log_level), told)
            raise typer.Exit(emit(
                report, output_format, report_out, sys.stderr, statistics=statistics, exit_zero=exit_zero,
                color=False if output_file and color == "auto" else _COLORS[color], unsafe_fixes=unsafe_fixes,
                log_level=log_level,
            ))
        finally:
            if report_out is not sys.stdout:
                report_out.close()
    except SettingsError as error:
        raise _fail(str(error))


def _stdin() -> "BinaryIO":
    """Standard input as bytes; a usage error when it is closed (`gradlint check - <&-`)."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise _fail("standard input is closed: nothing to check")
    return stream  # type: ignore[no-any-return]


def _usable_output_streams() -> None:
    """stdout and stderr that cannot fail the run: a closed one (`>&-`) discards what is written
    to it, and a character its encoding lacks (PYTHONIOENCODING=ascii, a legacy console) is
    written as an escape rather than raising."""
    import os

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process
            continue
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


def _report_stream(output_file: Optional[str]) -> "TextIO":
    """Where `check` writes its report: stdout, or the `--output-file` (its folder made, as ruff does)."""
    if not output_file:
        return sys.stdout
    path = Path(output_file)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w", encoding="utf-8", newline="")
    except OSError as error:
        raise _fail(f"cannot write the report to {output_file}: {error.strerror or error}")


@app.command()
def verify(
    target: str = typer.Argument(..., help="PATH.py::function or PATH.py::Class.method (also PATH.py:Class.method)."),
    output_format: Optional[str] = typer.Option(
        None, "--output-format", envvar="GRADLINT_OUTPUT_FORMAT",
        help="concise, full, grouped, json, json-lines, github, gitlab, azure, junit, pylint, sarif, rdjson (default: concise, or output-format in the config).",
    ),
    runtime_timeout: Optional[float] = typer.Option(None, "--runtime-timeout", help="Seconds for the target (default 10, or runtime-timeout in the config)."),
    config: Optional[str] = typer.Option(None, "--config", help="Use this configuration file instead of the nearest one."),
    isolated: bool = typer.Option(False, "--isolated", help="Ignore every configuration file."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when the target is confirmed wrong."),
) -> None:
    """Check one derivative numerically: confirmed, passed or unknown (and why)."""
    from gradlint import runtime as runtime_checker
    from gradlint.render import FORMATS, emit
    from gradlint.settings import Overrides, SettingsError, load_settings

    if output_format is not None and output_format not in FORMATS:
        raise _fail(f"unknown output format {output_format!r} (choose from {', '.join(FORMATS)})")
    if config is not None and isolated:
        raise _fail("--config cannot be combined with --isolated")
    try:
        path, _ = runtime_checker.parse_target(target)
        overrides = Overrides(config=config, isolated=isolated, output_format=output_format, runtime_timeout=runtime_timeout)
        settings = load_settings(overrides, Path.cwd(), [str(path)], None)
        output_format = settings.output_format
        report = runtime_checker.verify_stage(target, settings, output_format, sys.stdout, sys.stderr)
    except (SettingsError, runtime_checker.VerifyError) as error:
        raise _fail(str(error))
    raise typer.Exit(emit(report, output_format, sys.stdout, sys.stderr, exit_zero=exit_zero))


@app.command()
def rule(
    code: Optional[str] = typer.Argument(None, help="A rule code (GL101) or name (overwritten-diagonal)."),
    all_rules: bool = typer.Option(False, "--all", help="List every rule."),
    output_format: str = typer.Option("text", "--output-format", help="text or json."),
) -> None:
    """Show a rule's documentation."""
    import json

    from gradlint import docs, registry

    if output_format not in ("text", "json"):
        raise _fail(f"unknown output format {output_format!r} for `gradlint rule` (choose from text, json)")
    if all_rules and code:
        raise _fail(f"name a rule ({code}) or pass --all, not both")
    if all_rules:
        rules = registry.load_rules(registry.all_codes())
    elif code:
        found = docs.find_rule(code)
        if found is None:
            raise _fail(f"unknown rule {code!r}; `gradlint rule --all` lists them")
        rules = [found]
    else:
        raise _fail("name a rule (gradlint rule GL101) or pass --all")
    if output_format == "json":
        payload = [docs.rule_payload(r) for r in rules]
        typer.echo(json.dumps(payload if all_rules else payload[0], indent=2, ensure_ascii=False))
    else:
        typer.echo("\n".join(r.documentation() for r in rules))


@app.command()
def clean(
    cache_dir: Optional[str] = typer.Option(
        None, "--cache-dir", envvar="GRADLINT_CACHE_DIR", help="The cache folder to remove (as `check --cache-dir`)."
    ),
) -> None:
    """Remove the result caches: every .gradlint_cache/ in and below the working directory (as
    ruff clean), and the project's cache-dir. Only gradlint's own cache files are removed."""
    from dataclasses import replace

    from gradlint import cache
    from gradlint.settings import Overrides, SettingsError, load_settings

    overrides = Overrides(cache_dir=cache_dir)
    try:  # the cache lives at the project root: the nearest configuration file's folder
        settings = load_settings(overrides, cwd=Path.cwd())
    except SettingsError:
        try:
            settings = load_settings(replace(overrides, isolated=True), cwd=Path.cwd())
        except SettingsError as error:  # a bad --cache-dir
            raise _fail(str(error))
    directory = settings.cache_directory
    cleared, failed = cache.clear_below(Path.cwd())
    if directory not in cleared and all(directory != path for path, _ in failed):
        try:
            if cache.clear(directory):
                cleared.append(directory)
        except OSError as error:
            failed.append((directory, error.strerror or str(error)))
    for folder in cleared:
        typer.echo(f"Removed {folder}" if not folder.exists() else f"Removed gradlint's cache files from {folder} (its other files are left)")
    if not cleared and not failed:
        typer.echo(f"No cache at {directory}")
    for folder, reason in failed:
        typer.echo(f"gradlint: error: cannot remove the cache at {folder}: {reason}", err=True)
    raise typer.Exit(EXIT_ERROR if failed else EXIT_CLEAN)


def _no_command() -> None:
    """`gradlint` alone: the help, then what to type; exit 2 like ruff (the
    same with any typer/click version, whose own no-args handling differs)."""
    try:
        app(["--help"], standalone_mode=False)
    except (typer.Exit, SystemExit):
        pass
    typer.echo("gradlint: error: no command given; try `gradlint check .` or `gradlint rule --all`", err=True)
    sys.exit(EXIT_ERROR)


def run() -> "NoReturn":
    """The `gradlint` command (console script, `python -m gradlint`): `main()`, then, once every
    stream is flushed, a hard exit that skips the interpreter's teardown, as mypy's `hard_exit`
    does. Freeing libcst's and typer's modules object by object took some 30 ms of a 0.3 s
    one-file run. Nothing is lost: gradlint closes its report file, and shuts its worker pools
    down (or, interrupted, kills their workers) before `main()` returns; the exit handlers this
    skips are the standard library's for those pools, which have nothing left to join, and
    gradlint registers none. `main()` itself exits normally, for callers that run it in their
    own process (tests, embedding)."""
    import os

    try:
        main()
        status = EXIT_CLEAN
    except SystemExit as done:
        status = _exit_status(done.code)
    save_code_caches()
    for stream in dict.fromkeys((sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            status = status or 120  # as CPython when it cannot flush stdout at exit (a closed pipe)
    os._exit(status & 0xFF)  # the status a process can report, as CPython truncates sys.exit(256)


def _exit_status(code: object) -> int:
    """The process status `sys.exit(code)` gives: None is 0, an int itself, anything else is printed and 1."""
    if code is None:
        return EXIT_CLEAN
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def main() -> None:
    """Entry point: run the app and turn any escaped exception into exit 2."""
    _usable_output_streams()
    try:
        if not sys.argv[1:]:
            _no_command()
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
            message = error.format_message() if hasattr(error, "format_message") else str(error)
            typer.echo(f"gradlint: error: {message}", err=True)
        else:
            typer.echo(f"gradlint: internal error: {name}: {error}", err=True)
        sys.exit(EXIT_ERROR)
