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
    too_large = len(text) > MAX_PARSE_CHARS
    # a text too large to parse is pre-checked once, with every need: that verdict decides both
    # whether a rule could fire and whether it gets GL001 (see _reports_unparsed)
    candidates = registry.candidates(text, rule_codes, thorough=too_large) if precheck else frozenset(rule_codes)
    if not candidates:
        return SourceResult(complete=True)
    if too_large:
        return _too_large(text, filename, codes, precheck)
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


def _too_large(text: str, filename: str, codes: list[str], precheck: bool) -> SourceResult:
    """The result for a text longer than MAX_PARSE_CHARS, which is never parsed: GL001 when
    _reports_unparsed says so."""
    if not _reports_unparsed(text, codes, precheck):
        return SourceResult()
    size = f"{len(text) / 1e6:.1f} million characters"
    message = f"file too large to parse ({size}; gradlint parses files up to {MAX_PARSE_CHARS / 1e6:.0f} million)"
    return SourceResult((syntax_error_diagnostic(filename, message, 1, 1, prefix=""),))


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
    its own. Callers on several threads (an editor's server, a test's thread pool) share the
    one thread: their checks never run concurrently."""

    def __init__(self) -> None:
        self._owner: Optional[int] = None  # the process the thread runs in
        self._tasks: "Optional[queue.SimpleQueue[tuple[Callable[[], SourceResult], queue.SimpleQueue]]]" = None
        self._starting = threading.Lock()  # one thread per process, however many callers arrive at once
        if hasattr(os, "register_at_fork"):  # a child forked while another thread held it starts unlocked
            os.register_at_fork(after_in_child=self._unlock_in_child)

    def _unlock_in_child(self) -> None:
        self._starting = threading.Lock()

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
        with self._starting:
            if self._owner == os.getpid() and self._tasks is not None:
                return self._tasks  # another caller started it meanwhile
            return self._start()

    def _start(self) -> "Optional[queue.SimpleQueue]":
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
        return _too_large(text, filename, codes, precheck)
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


# Python's line breaks (not str.splitlines': no \f, \v, \x1c-\x1e, \x85, \u2028 or \u2029)
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def source_lines(text: str) -> list[str]:
    """`text`'s lines without their line breaks, as str.splitlines gives them but split at
    Python's line breaks only (row N of a finding is item N - 1)."""
    lines = LINE_BREAK.split(text)
    if not lines[-1]:
        lines.pop()  # after a final line break (or in an empty text): no line
    return lines


def _without_line_break(text: str) -> str:
    """`text` without one final line break (of whichever kind)."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith(("\n", "\r")):
        return text[:-1]
    return text


def _ends_without_line_break(text: str) -> bool:
    return not text.endswith(("\n", "\r"))


def source_row(analysis: "ModuleAnalysis", row: int) -> str:
    """The source's row `row` (1-based; rows end at Python's line breaks only, as libcst's and
    CPython's do), without its line break; "" outside the source. Uses the analysis's line
    offsets, computed once per text."""
    if not analysis.source or row < 1:
        return ""
    try:
        return _without_line_break(analysis.rows_text(row, row))
    except IndexError:  # past the last row
        return ""


def _indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t\f"))]


def render_replacement(analysis: "ModuleAnalysis", node: "cst.CSTNode", new_node: "cst.CSTNode", row: int) -> str:
    """Source text for `new_node` placed where `node` starts (on row `row`).

    libcst renders it inside the blocks that hold `node` (their indentation, that of the first
    row of the statement holding it), so every line it starts is indented as the original's and
    the text inside strings is left as it is; each line keeps the line break libcst renders for
    it (mixed line endings stay as they were)."""
    import libcst as cst
    from libcst._nodes.internal import CodegenState

    module = analysis.module
    statement = isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
    if isinstance(new_node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        new_node = new_node.with_changes(leading_lines=())
    holder = node if statement else analysis.index.statement_of(node)
    holder_row = row if holder is node else analysis.range_of(holder).start.line
    indent = _indentation(source_row(analysis, holder_row))
    state = CodegenState(default_indent=module.default_indent, default_newline=module.default_newline)
    if indent:
        state.increase_indent(indent)
    new_node._codegen(state)
    text = "".join(state.tokens)
    if statement and indent and text.startswith(indent):
        text = text[len(indent) :]  # the edit starts where the statement's code does
    stripped = _without_line_break(text)
    if stripped != text and (statement or _ends_without_line_break(module.code_for_node(node))):
        # a statement's range ends before its line break, which stays in the source; an
        # expression's new code ends with one only when the old code did not
        text = stripped
    if statement and analysis.source:
        # A statement's range stops before its last line's trailing blanks and comment, which the
        # rendered new statement repeats: drop them from the replacement so they are not doubled.
        end = analysis.range_of(node).end
        tail = source_row(analysis, end.line)[end.column :]
        if tail and text.endswith(tail):
            text = text[: -len(tail)]
    return text
