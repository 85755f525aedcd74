"""Check one source text: pre-check, parse once, analyse once, run the rules.

Each rule runs isolated: a rule that raises is recorded once as an internal
error for the file, and the other rules' findings are kept.
"""

from __future__ import annotations

import gc
import os
import queue
import re
import sys
import threading
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional

from gradlint import registry
from gradlint.diagnostics import Diagnostic, Edit, Fix, Position, Severity

if TYPE_CHECKING:
    import libcst as cst

    from gradlint.analysis import ModuleAnalysis
    from gradlint.analysis.package import PackageModules
    from gradlint.rule import Finding, Replacement


@dataclass(frozen=True)
class RuleCrash:
    """A rule that raised on a file (code `engine`: the checking of the file as a whole, e.g. its
    shared analysis, or the worker process checking it): reported once, never fatal to the run."""

    code: str
    filename: str
    error: str

    def __str__(self) -> str:
        what = "checking" if self.code == "engine" else f"rule {self.code}"  # "engine": the file as a whole
        return f"{what} failed on {self.filename}: {self.error}"


@dataclass(frozen=True)
class SourceResult:
    """The diagnostics of one source text, and whatever went wrong checking it."""

    diagnostics: tuple[Diagnostic, ...] = ()
    crashes: tuple[RuleCrash, ...] = ()
    parsed: bool = False
    # every enabled rule's verdict is known: the text was parsed and checked, or the pre-check
    # showed that no rule can fire on it (not so when it could not be parsed, or checking failed)
    complete: bool = False
    analysis: "Optional[ModuleAnalysis]" = field(default=None, compare=False, repr=False)


# Bigger files are not parsed (libcst needs about 1 s and several hundred MB per
# million characters); files no rule can fire on are never parsed whatever their size.
MAX_PARSE_CHARS = 4_000_000


@dataclass(frozen=True)
class PythonRejection:
    """CPython's SyntaxError on a text: its message and where (1-based row and column, `end`
    exclusive), clamped to the text's lines."""

    message: str
    start: Position
    end: Position


def _python_verdict(text: str, filename: str) -> "tuple[bool, Optional[PythonRejection]]":
    """Whether CPython compiles `text` (if so, libcst's failure is its own limit) and, when it
    does not, its SyntaxError with a usable position (None when it gives none: e.g. NUL bytes,
    or a RecursionError or MemoryError instead of a SyntaxError)."""
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escape sequences: not ours to report
            ast.parse(text, filename)
    except SyntaxError as error:  # also IndentationError, TabError
        return False, _rejection(text, error)
    except Exception:  # noqa: BLE001 - ValueError, RecursionError, MemoryError, OverflowError, ...: no position
        return False, None
    return True, None


def _rejection(text: str, error: SyntaxError) -> Optional[PythonRejection]:
    """`error`'s message and position, or None when it has no usable row."""
    row, offset = error.lineno, error.offset
    if not isinstance(row, int) or row < 1 or not isinstance(error.msg, str) or not error.msg:
        return None
    lines = re.split(r"\r\n|\r|\n", text)  # CPython's line ends (not str.splitlines': no \f, \x1c, ...)
    if row > len(lines):
        return None
    column = min(offset if isinstance(offset, int) and offset >= 1 else 1, len(lines[row - 1]) + 1)
    start = Position(row, column)
    end = start
    end_row, end_offset = getattr(error, "end_lineno", None), getattr(error, "end_offset", None)  # Python 3.10+
    if isinstance(end_row, int) and isinstance(end_offset, int) and row <= end_row <= len(lines) and end_offset >= 1:
        candidate = Position(end_row, min(end_offset, len(lines[end_row - 1]) + 1))
        if (candidate.row, candidate.column) > (row, column):
            end = candidate
    return PythonRejection(error.msg, start, end)


def syntax_error_diagnostic(
    filename: str, message: str, row: int, column: int, prefix: str = "SyntaxError: ", end: Optional[Position] = None
) -> Diagnostic:
    """A GL001 at (`row`, `column`), ending at `end` (exclusive; by default where it starts)."""
    entry = registry.RULES["GL001"]
    return Diagnostic(
        code="GL001",
        name="syntax-error",
        message=f"{prefix}{message}",
        filename=filename,
        start=Position(row, column),
        end=end or Position(row, column),
        severity=Severity.ERROR,
        url=entry.url,
        noqa_row=None,
    )


def check_text(
    text: str,
    filename: str,
    codes: Iterable[str],
    keep_analysis: bool = False,
    package: "Optional[PackageModules]" = None,
    precheck: bool = True,
) -> SourceResult:
    """Run the rules `codes` over `text`. `filename` must be absolute. With a
    `package`, the analysis is adopted by it: rules may then consult the modules
    it imports (GL203 across a package), and `package.dependencies(filename)`
    names the ones they consulted. `precheck=False` runs every rule whatever
    the text holds: the soundness checks of the pre-check compare against it."""
    codes = sorted(set(codes))
    rule_codes = [code for code in codes if code not in registry.ENGINE_CODES]
    candidates = registry.candidates(text, rule_codes) if precheck else frozenset(rule_codes)
    if not candidates:
        return SourceResult(complete=True)
    collect_between_files(len(text))
    with relaxed_gc():
        try:
            # on the deep-stack thread (or here, when no such thread can be started)
            return _DEEP_STACK.run(lambda: _parse_and_check(text, filename, codes, candidates, keep_analysis, package, precheck))
        except Exception as error:  # noqa: BLE001 - a file that breaks the analysis itself must not lose the run
            return SourceResult(crashes=(RuleCrash("engine", filename, _describe(error)),))


# While files are checked the cycle collector runs only between files, once this many characters
# of source have been parsed since it last ran (see relaxed_gc).
# A collection walks every object made since the last one, the live analysis's included: one that
# finds little cyclic garbage (fewer than _FEW_UNREACHABLE objects) doubles the wait before the
# next, up to _MAX_COLLECT_EVERY_CHARS, and one that finds more brings it back to the start.
_COLLECT_EVERY_CHARS = 4_000_000
_MAX_COLLECT_EVERY_CHARS = 64_000_000
_FEW_UNREACHABLE = 100_000
_FULL_EVERY = 8
_parsed_since_collect = 0
_collect_every = _COLLECT_EVERY_CHARS
_collections = 0


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Run the block with the automatic cycle collector paused; collect_between_files
    runs it now and then instead. The caller's collector state is restored.

    Parsing and analysing allocate millions of objects, and the automatic collector,
    however relaxed its thresholds, walks the trees being built and analysed again and
    again: about a tenth of the CPU of a run. Paused, it runs between files only
    (collect_between_files), where it frees the analyses let go since (a semantic
    model's lazily worded reasons refer back to it: a cycle), each walked about once.
    A run (`gradlint.parallel.check_files`) pauses it once for all its files (forked
    workers inherit the pause); `check_text` for the one call."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def collect_between_files(parsed_chars: int) -> None:
    """While the collector is paused, collect once every _COLLECT_EVERY_CHARS characters
    parsed (more rarely while collections find little), so the memory of a long run stays
    bounded; the young generations only, but every _FULL_EVERY-th time all of them."""
    global _parsed_since_collect, _collect_every, _collections
    if gc.isenabled():
        return
    _parsed_since_collect += parsed_chars
    if _parsed_since_collect >= _collect_every:
        _parsed_since_collect = 0
        _collections += 1
        # now and then all generations: garbage that had outlived a young collection (an
        # analysis the package model kept then, and has let go since) is freed too
        unreachable = gc.collect(2 if _collections % _FULL_EVERY == 0 else 1)
        if unreachable < _FEW_UNREACHABLE:
            _collect_every = min(2 * _collect_every, _MAX_COLLECT_EVERY_CHARS)
        else:
            _collect_every = _COLLECT_EVERY_CHARS


def _reports_unparsed(text: str, codes: list[str], precheck: bool) -> bool:
    """Whether a text that cannot be parsed is reported (GL001): when GL001 is enabled and the
    text is one the complete needs admit (a run's first texts may be parsed on fewer needs,
    see gradlint.precheck.Prechecker.candidates; the report must not depend on that)."""
    if "GL001" not in codes:
        return False
    if not precheck:
        return True
    return bool(registry.candidates(text, [code for code in codes if code not in registry.ENGINE_CODES], thorough=True))


# Parsing, analysing and the rules run on a thread with this much stack (address space,
# used only as deep as the recursion goes) and this recursion limit: libcst's code
# generation and several analyses recurse once or more per level of an expression, and
# the depth guard (gradlint.analysis.parse.refusal) admits expressions up to
# MAX_DEPTH = 1000 levels, about four times what CPython's default limit of 1000 frames
# allows them (measured: the deepest admitted inputs need 2 to 4 MB of C stack).
_DEEP_STACK_BYTES = 256 * 1024 * 1024
_DEEP_RECURSION_LIMIT = 40_000


class _DeepStackThread:
    """One long-lived thread per process, with a deep stack, that runs the checks handed to it
    one at a time (its stack stays mapped from file to file: a new thread per file cost a
    tenth of a run over small files). A process forked from one that had started it starts
    its own."""

    def __init__(self) -> None:
        self._owner: Optional[int] = None  # the process the thread runs in
        self._tasks: "Optional[queue.SimpleQueue[tuple[Callable[[], SourceResult], queue.SimpleQueue]]]" = None

    def run(self, check: "Callable[[], SourceResult]") -> SourceResult:
        tasks = self._tasks_here()
        if tasks is None:  # no thread (or no such stack) here
            return check()
        reply: "queue.SimpleQueue[tuple[bool, object]]" = queue.SimpleQueue()
        tasks.put((check, reply))
        succeeded, value = reply.get()
        if not succeeded:
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    def _tasks_here(self) -> "Optional[queue.SimpleQueue]":
        if self._owner == os.getpid() and self._tasks is not None:
            return self._tasks
        tasks: queue.SimpleQueue = queue.SimpleQueue()
        try:
            previous = threading.stack_size(_DEEP_STACK_BYTES)
            try:
                threading.Thread(target=_serve, args=(tasks,), name="gradlint-check", daemon=True).start()
            finally:
                threading.stack_size(previous)
        except (RuntimeError, ValueError, MemoryError):
            return None
        self._owner, self._tasks = os.getpid(), tasks
        return tasks


def _serve(tasks: "queue.SimpleQueue") -> None:
    """The deep-stack thread: run each check with a high recursion limit, hand back its outcome."""
    while True:
        check, reply = tasks.get()
        limit = sys.getrecursionlimit()
        if limit < _DEEP_RECURSION_LIMIT:
            sys.setrecursionlimit(_DEEP_RECURSION_LIMIT)
        try:
            reply.put((True, check()))
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            reply.put((False, error))
        finally:
            if limit < _DEEP_RECURSION_LIMIT:
                sys.setrecursionlimit(limit)
        del check, reply


_DEEP_STACK = _DeepStackThread()


def _parse_and_check(
    text: str,
    filename: str,
    codes: list[str],
    candidates: "frozenset[str]",
    keep_analysis: bool,
    package: "Optional[PackageModules]",
    precheck: bool = True,
) -> SourceResult:
    if len(text) > MAX_PARSE_CHARS:
        if not _reports_unparsed(text, codes, precheck):
            return SourceResult()
        size = f"{len(text) / 1e6:.1f} million characters"
        message = f"file too large to parse ({size}; gradlint parses files up to {MAX_PARSE_CHARS / 1e6:.0f} million)"
        return SourceResult((syntax_error_diagnostic(filename, message, 1, 1, prefix=""),))
    import libcst as cst

    from gradlint.analysis.parse import parse_module, refusal

    # libcst's native parser crashes the process (a stack overflow) or stalls on texts
    # nested thousands of levels deep: such a text is reported, never given to it.
    refused = refusal(text)
    if refused is not None:
        if not _reports_unparsed(text, codes, precheck):
            return SourceResult()
        prefix = "SyntaxError: " if refused.syntax_error else ""
        return SourceResult((syntax_error_diagnostic(filename, refused.message, refused.row, refused.column, prefix=prefix),))
    try:
        module = parse_module(text)
    except cst.ParserSyntaxError as error:
        if not _reports_unparsed(text, codes, precheck):
            return SourceResult()
        message = re.sub(r"^(parser error: )?error at \d+:\d+: ", "", error.message)
        accepted, rejection = _python_verdict(text, filename)
        if accepted:
            message = f"libcst cannot parse this file, which Python accepts, so it was not checked ({message})"
            return SourceResult((syntax_error_diagnostic(filename, message, error.raw_line, error.raw_column + 1, prefix=""),))
        if rejection is not None:
            # where and what `python file.py` (and ruff) say, not libcst's parser state
            start = rejection.start
            return SourceResult((syntax_error_diagnostic(filename, rejection.message, start.row, start.column, end=rejection.end),))
        return SourceResult((syntax_error_diagnostic(filename, message, error.raw_line, error.raw_column + 1),))
    except (RecursionError, MemoryError) as error:
        if not _reports_unparsed(text, codes, precheck):
            return SourceResult()
        message = f"too deeply nested to parse ({type(error).__name__} in libcst, gradlint's parser); the file was not checked"
        return SourceResult((syntax_error_diagnostic(filename, message, 1, 1),))

    from gradlint.analysis import ModuleAnalysis

    analysis = ModuleAnalysis(module, filename, text)
    if package is not None:
        package.adopt(analysis)
    diagnostics: list[Diagnostic] = []
    crashes: list[RuleCrash] = []
    for rule_class in registry.load_rules(candidates):
        try:
            findings = list(rule_class().check(analysis))
            diagnostics.extend(to_diagnostic(analysis, rule_class, finding) for finding in findings)
        except Exception as error:  # noqa: BLE001 - a crashing rule must not lose the others
            crashes.append(RuleCrash(rule_class.code, filename, _describe(error)))
    diagnostics = _deduplicate(diagnostics)
    if not keep_analysis and package is None:
        analysis.release(unshared=True)  # a package model keeps it for the modules that import it, and releases it later
    return SourceResult(
        tuple(diagnostics), tuple(crashes), parsed=True, complete=True, analysis=analysis if keep_analysis else None
    )


def _describe(error: BaseException) -> str:
    frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    where = f" (at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})" if frame else ""
    return f"{type(error).__name__}: {error}{where}"


def _deduplicate(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, Position, Position, str]] = set()
    unique = []
    for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key):
        key = (diagnostic.code, diagnostic.start, diagnostic.end, diagnostic.message)
        if key not in seen:
            seen.add(key)
            unique.append(diagnostic)
    return unique


def to_diagnostic(analysis: "ModuleAnalysis", rule_class: type, finding: "Finding") -> Diagnostic:
    """Turn a rule's finding (a node and a message) into a positioned diagnostic."""
    code_range = analysis.range_of(finding.node)
    start = Position(code_range.start.line, code_range.start.column + 1)
    end = Position(code_range.end.line, code_range.end.column + 1)
    from gradlint.suppression import noqa_row_in, suppression_rows

    rows = suppression_rows(analysis, finding.node, start.row, end.row)
    return Diagnostic(
        code=rule_class.code,
        name=rule_class.name,
        message=finding.message,
        filename=analysis.filename,
        start=start,
        end=end,
        severity=finding.severity or rule_class.severity,
        url=registry.RULES[rule_class.code].url,
        fix=_to_fix(analysis, finding.fix) if finding.fix is not None else None,
        noqa_row=noqa_row_in(analysis, start.row, rows),
        suppression_rows=rows,
    )


def _to_fix(analysis: "ModuleAnalysis", replacement: "Replacement") -> Fix:
    code_range = analysis.range_of(replacement.node)
    start = Position(code_range.start.line, code_range.start.column + 1)
    end = Position(code_range.end.line, code_range.end.column + 1)
    content = render_replacement(analysis, replacement.node, replacement.new_node, code_range.start.line)
    return Fix(message=replacement.message, edits=(Edit(content, start, end),))


def render_replacement(analysis: "ModuleAnalysis", node: "cst.CSTNode", new_node: "cst.CSTNode", row: int) -> str:
    """Source text for `new_node` placed where `node` starts: statements are
    re-indented to the original's indentation and keep the file's newline."""
    import libcst as cst

    module = analysis.module
    if isinstance(new_node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        new_node = new_node.with_changes(leading_lines=())
    text = module.code_for_node(new_node)
    newline = module.default_newline
    if text.endswith(newline) and not module.code_for_node(node).endswith(newline):
        text = text[: -len(newline)]
    elif text.endswith(newline) and isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        text = text[: -len(newline)]
    if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)) and analysis.source:
        # A statement's range stops before its last line's trailing comment, which the rendered
        # new statement repeats: drop it from the replacement so the comment is not doubled.
        end = analysis.range_of(node).end
        source_rows = re.split(r"\r\n|\r|\n", analysis.source)
        tail = source_rows[end.line - 1][end.column :] if end.line - 1 < len(source_rows) else ""
        if tail.strip() and text.endswith(tail):
            text = text[: -len(tail)]
    line = analysis.source.splitlines()[row - 1] if analysis.source else ""
    indent = line[: len(line) - len(line.lstrip())]
    lines = text.split(newline)
    return newline.join([lines[0]] + [indent + rest if rest else rest for rest in lines[1:]])
