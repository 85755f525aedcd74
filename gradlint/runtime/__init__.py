"""The optional runtime checker: confirm or refute derivatives numerically.

Only `gradlint check --runtime` and `gradlint verify` import this package
(plain `check` and the pre-commit hook never do, nor numpy through it).

    runtime_check(report, settings) -> RuntimeResult   # after the static rules
    verify_target("path/mod.py::Softmax.backward", settings) -> RuntimeResult

For each module with derivative targets (see `targets`), the definitions the
targets need are extracted (`extract`) and checked in one sandboxed process
(`sandbox`, `worker`). A confirmed mismatch becomes a GL901 diagnostic at the
function; the static findings are kept and carry the verdict on what they are
about (`Diagnostic.runtime`).

Modules: `targets` (what to check, against what), `extract` (the definitions
a target needs), `sandbox` (the limited process), `worker` (its protocol),
`probing` / `activations` / `losses` / `forwards` (calling conventions and
trials, inside the sandbox; `self_gradients` for `loss, dW = f(W, X, y, reg)`,
`layer_pairs` for CS231n's `f_forward` / `f_backward(dout, cache)`),
`references` (analytic forwards, derivatives, central differences), `compare`
(errors, the diagnosis, and the tolerances for the dtype the code computes
in), `report` (the verdict lines).

A mismatch is reported only for a calling convention the target is known to
follow; a guessed one can show it right, never wrong (doubt gives `unknown`).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from gradlint import registry
from gradlint.diagnostics import Diagnostic, RuntimeVerdict, Severity
from gradlint.render import TEXT_REPORT_FORMATS

if TYPE_CHECKING:
    from gradlint.api import Report
    from gradlint.runtime.targets import Target
    from gradlint.settings import Settings


__all__ = ["RuntimeResult", "TargetVerdict", "VerifyError", "check_module", "runtime_check", "verify_target", "parse_target"]

# A cheap text pre-check for the runtime stage (files with a static finding are
# always analysed): derivative, Jacobian and activation vocabulary. Parsing and
# the semantic model are the stage's main cost on a large tree.
WORTH_PARSING = re.compile(
    r"(?i)prime|deriv|backward|backprop|grad|jacob|dvalues|\bdout\b|diag|\bouter\b|\beye\b|einsum|softmax|sigmoid|"
    r"logistic|\btanh\b|\brelu\b|\bdef d[a-z_]\w*\s*\(|_(?:diff|p|dx|der|back|d)\s*\(|"
    r"\breturn\s+\w+\s*,\s*d[wx]\b|"  # `return loss, dW` / `return loss, dx` (runtime.self_gradient_targets)
    r"\b(?:jac|fprime)\s*=|check_grad|"  # a gradient handed to scipy.optimize (runtime.objective_targets)
    r"calc_ders_range|\bdef hess|"  # catboost objectives, loss classes' hess (runtime.loss_class_targets)
    r"bwd\w*\s*\("  # `conv_bwd(dout, cache)`, `affineBwd(` (runtime.layer_pair_targets; `_backward` is matched above)
)

CODE = "GL901"
NAME = "gradient-mismatch"


class VerifyError(ValueError):
    """A `verify` target that cannot be read or found (a usage error, exit 2)."""


class DiscoveryError(RuntimeError):
    """The semantic model failed on a module: reported, the other modules still checked."""


@dataclass(frozen=True)
class TargetVerdict:
    """The runtime verdict for one derivative."""

    filename: str
    qualname: str
    row: int
    column: int
    verdict: RuntimeVerdict
    reference: str = ""
    evidence: str = ""
    # A loss gradient that passed as fused with the softmax (dL/dlogits = p - y): the layer
    # whose backward passes the gradient through is then right (see `_withhold_pass_through`).
    fused_loss: bool = False
    # A loss gradient (fused or not): a pass-through softmax near one that is not fused is wrong.
    loss: bool = False
    # A loss gradient the runtime could not judge: it may be the fused one that feeds the softmax.
    undecided_loss: bool = False
    # The rows of the function (def to last line), to read whether a pass-through is all it does.
    last_row: int = 0

    @property
    def status(self) -> str:
        return self.verdict.status

    @property
    def passes_through(self) -> bool:
        """A softmax backward confirmed wrong only for being the identity (`return grad`)."""
        return self.verdict.status in ("confirmed", "inconclusive") and is_pass_through(self.verdict)


@dataclass(frozen=True)
class RuntimeResult:
    """The report with runtime diagnostics added, and a verdict per target."""

    report: "Report"
    verdicts: tuple[TargetVerdict, ...] = ()


def _verdict(record: dict[str, Any]) -> RuntimeVerdict:
    index = record.get("worst_index")
    return RuntimeVerdict(
        status=record.get("status", "unknown"),
        convention=record.get("convention"),
        reason=record.get("reason"),
        worst_index=tuple(index) if index is not None else None,
        expected=record.get("expected"),
        got=record.get("got"),
        abs_error=record.get("abs_error"),
        rel_error=record.get("rel_error"),
        diagnosis=record.get("diagnosis"),
        input=record.get("input"),
    )


def is_pass_through(verdict: RuntimeVerdict) -> bool:
    """The verdict says the derivative is the identity under a softmax forward (`return grad`,
    `np.ones_like(x)`), the right design when its loss gradient is already fused."""
    from gradlint.runtime.text import PASS_THROUGH

    return verdict.diagnosis in PASS_THROUGH


def is_fused_loss(target: "Target", verdict: RuntimeVerdict) -> bool:
    """A loss gradient with respect to the softmax's logits (p - y): one that applies the softmax
    itself (`delta(z, y)`), or one the runtime judged in the fused convention (right, or off by a
    reduction: the design is fused either way)."""
    if target.role != "loss" or target.feed or verdict.status == "unknown":
        return False
    convention = verdict.convention or ""
    return (
        target.forward_kind in ("softmax_cross_entropy", "sigmoid_binary_cross_entropy")
        or "fused with the softmax" in convention
        or "fused with the sigmoid" in convention
    )


def pass_through_withheld(loss: str, where: str) -> RuntimeVerdict:
    """The verdict of a pass-through softmax backward when a fused loss is in view: no mismatch."""
    return RuntimeVerdict(
        "unknown",
        reason=(
            f"it passes the gradient through unchanged (the identity, not the nonlinearity's derivative), which is right "
            f"when it receives the fused gradient p - y that `{loss}` {where} returns (checked: the gradient with "
            "respect to the logits); which loss feeds it is for GL203 to judge"
        ),
    )


def pass_through_unpaired() -> RuntimeVerdict:
    """The verdict of a pass-through softmax backward with no loss gradient in view: no mismatch either."""
    return RuntimeVerdict(
        "unknown",
        reason=(
            "it passes the gradient through unchanged (the identity, not the nonlinearity's derivative): the design of a "
            "fused softmax (or sigmoid) + cross-entropy loss, whose gradient p - y already includes it; no loss gradient "
            "in this run says which one feeds it (GL203 judges a training loop that chains them)"
        ),
    )


def _withhold_pass_through(targets: "Sequence[Target]", verdicts: dict[str, RuntimeVerdict]) -> None:
    """A pass-through softmax backward is not a mismatch when the module's loss gradient is fused."""
    fused = [t for t in targets if t.ident in verdicts and is_fused_loss(t, verdicts[t.ident])]
    if not fused:
        return
    loss = min(fused, key=lambda t: t.start.row)
    for target in targets:
        verdict = verdicts.get(target.ident)
        if verdict is not None and not target.feed and target.role == "activation" and verdict.status in ("confirmed", "inconclusive") and is_pass_through(verdict):
            verdicts[target.ident] = pass_through_withheld(loss.qualname, f"(line {loss.start.row})")


def _number(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def mismatch_message(target: "Target", verdict: RuntimeVerdict) -> str:
    """GL901's message: the convention, the worst entry, expected vs got, the relative error."""
    what = f"`{target.qualname}` disagrees with {target.reference()}"
    if verdict.diagnosis and verdict.diagnosis.startswith("the values are right"):
        what = f"`{target.qualname}` agrees with {target.reference()} but modifies its argument in place"
    if verdict.status == "inconclusive":
        what = f"`{target.qualname}` differs slightly from {target.reference()} (between the pass and mismatch tolerances)"
    parts = [what]
    if verdict.diagnosis and verdict.diagnosis.startswith(("the result holds ", "the gradient with respect to ")):
        parts.append(verdict.diagnosis)  # NaN or inf; which input's gradient is off (layer pairs): facts, not guesses
    elif verdict.diagnosis:
        parts.append(f"likely {verdict.diagnosis}")
    mutated = re.search(r"modifies its argument `(\w+)` in place", verdict.diagnosis or "")
    if mutated is not None and verdict.worst_index is not None:
        # the numbers are the caller's array before and after the call, not the derivative's error
        parts.append(
            f"its argument `{mutated.group(1)}` held {_number(verdict.expected)} at {list(verdict.worst_index)} before "
            f"the call and {_number(verdict.got)} after"
        )
    elif verdict.worst_index is not None and verdict.rel_error is not None:
        parts.append(
            f"worst entry {list(verdict.worst_index)}: expected {_number(verdict.expected)}, got {_number(verdict.got)}, "
            f"relative error {verdict.rel_error:.2g}"
        )
    if verdict.convention:
        parts.append(f"called as {verdict.convention}")
    return "; ".join(parts)


def _diagnostic(filename: str, target: "Target", verdict: RuntimeVerdict) -> Diagnostic:
    return Diagnostic(
        code=CODE,
        name=NAME,
        message=mismatch_message(target, verdict),
        filename=filename,
        start=target.start,
        end=target.end,
        severity=Severity.ERROR if verdict.status == "confirmed" else Severity.WARNING,
        url=registry.RULES[CODE].url if CODE in registry.RULES else None,
        noqa_row=target.start.row,
        suppression_rows=(target.start.row, target.first_row),
        runtime=verdict,
    )


def _analyse(text: str, filename: str) -> Optional[Any]:
    import libcst as cst

    from gradlint.analysis import ModuleAnalysis

    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError, MemoryError):
        return None
    return ModuleAnalysis(module, filename, text)


def check_module(
    text: str,
    filename: str,
    settings: "Optional[Settings]" = None,
    only: Optional[str] = None,
    analysis: Optional[Any] = None,
    diagnostics: Sequence[Diagnostic] = (),
) -> "tuple[list[Target], dict[str, RuntimeVerdict]]":
    """Discover and check the derivative targets of one module (one sandbox process).

    With the module's static `diagnostics`, a GL201/GL202 finding on a call to
    a target adds that call as a target too (`Target.feed`: the derivative run
    on the kind of value the call passes). Verdicts are keyed by `Target.ident`."""
    from gradlint.runtime.extract import extract
    from gradlint.runtime.sandbox import SandboxLimits, run_module
    from gradlint.runtime.targets import call_site_targets, discover, explicit_target

    analysis = analysis or _analyse(text, filename)
    if analysis is None:
        return [], {}
    try:
        targets = discover(analysis, diagnostics)
    except Exception as error:  # noqa: BLE001 - a model failure must not end the run
        discovery_error = f"finding the derivatives failed ({type(error).__name__}: {error}); please report it"
        if only is None:
            raise DiscoveryError(discovery_error) from error
        targets = []
    else:
        discovery_error = None
    unknown: dict[str, RuntimeVerdict] = {}
    companions: list["Target"] = []  # `verify` of a softmax layer: the module's losses, to tell a fused design
    if only is not None:
        companions = [t for t in targets if t.role == "loss" and t.qualname != only]
        chosen = [t for t in targets if t.qualname == only]
        if not chosen:
            target, reason = explicit_target(analysis, only)
            if target is None:
                raise VerifyError(reason or discovery_error or f"`{only}` not found")
            chosen = [target]
            if reason:
                unknown[target.qualname] = RuntimeVerdict("unknown", reason=reason)
        targets = chosen
        if not any(t.role == "activation" and t.forward_kind == "softmax" for t in chosen):
            companions = []
    if diagnostics and targets and only is None:
        try:
            targets = targets + list(call_site_targets(analysis, list(diagnostics), targets).values())
        except Exception:  # noqa: BLE001 - the call-site check is a bonus, never fatal
            pass
    from gradlint.runtime.layer_pair_targets import static_reason

    for target in targets:  # layer pairs the runtime cannot call (a parameter of an unknown name): no sandbox
        reason = static_reason(target) if target.ident not in unknown else None
        if reason:
            unknown[target.ident] = RuntimeVerdict("unknown", reason=reason)
    runnable = [t for t in targets if t.ident not in unknown] + companions
    verdicts = dict(unknown)
    if runnable:
        timeout = settings.for_file(filename).runtime_timeout if settings is not None else 10.0

        def run(chosen: "list[Target]") -> "tuple[dict, str]":
            roots = {t.top_level for t in chosen} | {t.forward.split(".", 1)[0] for t in chosen if t.forward}
            extraction = extract(analysis.module, Path(filename), roots)
            return run_module(
                extraction.source, extraction.sys_path, [t.spec() for t in chosen], SandboxLimits(timeout=timeout),
                stubs=extraction.stubs, lines=extraction.lines,
            ), extraction.source

        records, source = run(runnable)
        others = [t for t in runnable if t.role != "layer_pair"]
        if others and len(others) < len(runnable) and _import_failed(records, others):
            # a layer pair's forward may need an import the module's other derivatives do not (a file
            # taken out of its project): those are checked again without it
            again, source_again = run(others)
            if source_again != source:
                records.update(again)
        for target in runnable:
            verdicts[target.ident] = _verdict(records.get(target.ident, {"status": "unknown", "reason": "no result"}))
        _withhold_pass_through(targets + companions, verdicts)
        for companion in companions:
            verdicts.pop(companion.ident, None)
    return targets, verdicts


def _import_failed(records: dict, targets: "Sequence[Target]") -> bool:
    """The sandbox could not import the generated module (every target's record says so)."""
    reasons = [str(records.get(t.ident, {}).get("reason") or "") for t in targets]
    return bool(reasons) and all(r.startswith("importing the module's definitions") for r in reasons)


def _annotate(diagnostics: Sequence[Diagnostic], targets: "Sequence[Target]", verdicts: dict[str, RuntimeVerdict]) -> list[Diagnostic]:
    """Each static finding carries the verdict on what it is about: the call it
    flags (GL201/GL202 at a call site), else the innermost checked function holding it."""
    annotated = []
    for diagnostic in diagnostics:
        owner = next((t for t in targets if t.feed and t.start == diagnostic.start and t.ident in verdicts), None)
        if owner is None:
            for target in targets:
                if not target.feed and target.first_row <= diagnostic.start.row <= target.last_row and target.ident in verdicts:
                    if owner is None or target.first_row >= owner.first_row:
                        owner = target
        if owner is not None and diagnostic.runtime is None:
            diagnostic = diagnostic.with_runtime(verdicts[owner.ident])
        annotated.append(diagnostic)
    return annotated


def _file_result(file_report: Any, settings: "Settings", only: Optional[str] = None) -> tuple[Any, list[TargetVerdict]]:
    from gradlint.suppression import filter_suppressed

    text = file_report.source
    if text is None:
        from gradlint.files import read_source

        read = read_source(Path(file_report.filename))
        text = read.text
    if text is None or any(d.code == "GL001" for d in file_report.diagnostics):
        return file_report, []
    if only is None and not file_report.diagnostics and not WORTH_PARSING.search(text):
        return file_report, []  # nothing a derivative target could be made of: not parsed
    try:
        targets, verdicts = check_module(text, file_report.filename, settings, only=only, diagnostics=file_report.diagnostics)
    except DiscoveryError as error:
        import sys

        sys.stderr.write(f"gradlint: runtime: {file_report.filename}: {error}\n")
        return file_report, []
    if not verdicts:
        return file_report, []
    enabled = CODE in settings.codes_for(file_report.filename)
    added = [
        _diagnostic(file_report.filename, t, verdicts[t.ident])
        for t in targets
        if not t.feed and t.role not in ("forward", "mutation") and t.ident in verdicts and verdicts[t.ident].status in ("confirmed", "inconclusive") and enabled
    ]
    added = filter_suppressed(added, text)
    static = list(file_report.diagnostics)
    if only is not None:
        chosen = [t for t in targets if t.ident in verdicts]
        static = [d for d in static if any(t.first_row <= d.start.row <= t.last_row for t in chosen)]
    diagnostics = _annotate(static, targets, verdicts) + added
    rows = [
        TargetVerdict(
            file_report.filename,
            _label(t),
            t.start.row,
            t.start.column,
            verdicts[t.ident],
            t.reference(),
            t.evidence,
            fused_loss=is_fused_loss(t, verdicts[t.ident]),
            loss=t.role == "loss" and not t.feed and verdicts[t.ident].status != "unknown",
            undecided_loss=t.role == "loss" and not t.feed and verdicts[t.ident].status == "unknown",
            last_row=t.last_row,
        )
        for t in sorted(targets, key=lambda t: (t.start.row, t.start.column))
        if t.ident in verdicts
    ]
    return replace(file_report, diagnostics=tuple(sorted(diagnostics, key=lambda d: d.sort_key))), rows


def _guarded(file_report: Any, settings: "Settings") -> tuple[Any, list[TargetVerdict]]:
    """One module's runtime stage; an internal failure is reported, never fatal to the run."""
    try:
        return _file_result(file_report, settings)
    except Exception as error:  # noqa: BLE001 - the other modules' verdicts are kept
        import sys

        sys.stderr.write(f"gradlint: runtime: {file_report.filename}: internal error {type(error).__name__}: {error}; please report it\n")
        return file_report, []


def _label(target: "Target") -> str:
    if target.role == "forward":
        return f"{target.qualname} (forward)"
    if target.role == "mutation":
        return f"{target.qualname} (call check)"
    if target.feed == "flow":
        return f"{target.qualname} as chained here"
    if target.feed:
        value = "pre-activation" if target.feed == "logits" else "activation"
        return f"{target.qualname} as called here (on the {value})"
    return target.qualname


def runtime_check(report: "Report", settings: "Optional[Settings]" = None) -> RuntimeResult:
    """Check numerically every derivative recognised in the files of `report`."""
    from gradlint.settings import Settings

    settings = settings or Settings()
    from concurrent.futures import ThreadPoolExecutor

    # One sandbox process per module; modules run side by side (the work is in the processes).
    workers = max(1, min(len(report.files), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda file_report: _guarded(file_report, settings), report.files))
    results = _withhold_pass_through_beside(results)
    files = [updated for updated, _ in results]
    verdicts = [row for _, rows in results for row in rows]
    return RuntimeResult(replace(report, files=tuple(files)), tuple(verdicts))


def _near(first: Path, second: Path) -> bool:
    """Two folders of one small project: the same, or at most one level below a common folder
    (`src/Softmax.py` and `src/CrossEntropyLoss.py`; `ml/activations/` and `ml/losses/`)."""
    try:
        common = Path(os.path.commonpath([first, second]))
    except ValueError:  # different drives
        return False
    return len(first.parts) - len(common.parts) <= 1 and len(second.parts) - len(common.parts) <= 1


def _withhold_pass_through_beside(results: list[tuple[Any, list[TargetVerdict]]]) -> list[tuple[Any, list[TargetVerdict]]]:
    """A pass-through softmax backward is never a mismatch: it is the design of a fused softmax +
    cross-entropy loss. The verdict names the fused loss gradient when a module near it holds one
    (`Softmax.py` beside `CrossEntropyLoss.py`, one class a file; a package's `activations/` beside
    its `losses/`), and says that no loss is in view otherwise (which loss feeds it is GL203's)."""
    fused = [row for _, rows in results for row in rows if row.fused_loss]
    unfused = [row for _, rows in results for row in rows if row.loss and not row.fused_loss]
    undecided = [row for _, rows in results for row in rows if row.undecided_loss]
    updated_results = []
    for file_report, rows in results:
        folder = Path(os.path.abspath(file_report.filename)).parent
        loss = next((row for row in fused if _near(folder, Path(os.path.abspath(row.filename)).parent)), None)
        if loss is not None:
            withheld = [row for row in rows if row.passes_through]
            shown = os.path.relpath(os.path.abspath(loss.filename), folder)
            verdict = pass_through_withheld(loss.qualname, f"(in {shown}, line {loss.row})")
        elif not any(_near(folder, Path(os.path.abspath(row.filename)).parent) for row in unfused):
            # no loss gradient in view: only a backward that does nothing but pass the gradient on is the
            # fused design (one that computes a VJP and returns its input instead is a slip)
            withheld = [row for row in rows if row.passes_through and _only_passes_through(file_report.source, row)]
            verdict = pass_through_unpaired()
        elif any(_near(folder, Path(os.path.abspath(row.filename)).parent) for row in undecided):
            # an unfused loss in view, but also one the runtime could not judge (JakobHavtorn/nn's MSE beside
            # its cross-entropy `(y - t) / N`): which of them feeds the softmax is not known
            withheld = [row for row in rows if row.passes_through]
            verdict = pass_through_unpaired()
        else:
            withheld = []  # the loss in view is not fused: passing its gradient through loses the softmax's Jacobian
        if not withheld:
            updated_results.append((file_report, rows))
            continue
        changed = {id(row.verdict): verdict for row in withheld}
        places = {(row.row, row.column) for row in withheld}
        diagnostics = []
        for diagnostic in file_report.diagnostics:
            if diagnostic.code == CODE and (diagnostic.start.row, diagnostic.start.column) in places and id(diagnostic.runtime) in changed:
                continue  # the GL901 the withheld verdict made
            if diagnostic.runtime is not None and id(diagnostic.runtime) in changed:
                diagnostic = replace(diagnostic, runtime=changed[id(diagnostic.runtime)])
            diagnostics.append(diagnostic)
        rows = [replace(row, verdict=changed.get(id(row.verdict), row.verdict)) for row in rows]
        updated_results.append((replace(file_report, diagnostics=tuple(diagnostics)), rows))
    return updated_results


# What a backward that only passes its gradient on holds besides its def, docstring and return.
_COMPUTES = re.compile(r"\bexp\s*\(|\bsum\s*\(|\bdot\s*\(|@|\bouter\s*\(|\bdiag\w*\s*\(|\beinsum\s*\(|\bjacobian|\bsoftmax\s*\(|\bmatmul\s*\(")


def _only_passes_through(source: Optional[str], row: TargetVerdict) -> bool:
    """The function's text (def row to last row) computes nothing a softmax derivative needs: `return grad`,
    `self.dinputs = dvalues.copy()`, `return np.ones_like(x)`; unknown text counts as computing."""
    if not source or row.last_row < row.row:
        return False
    lines = source.splitlines()[row.row : row.last_row]  # the body, after the def line
    body = "\n".join(line.split("#", 1)[0] for line in lines)
    return not _COMPUTES.search(body)


def parse_target(spec: str) -> tuple[Path, str]:
    """`path/mod.py::name`, `path/mod.py::Class.method` or `path/mod.py:Class.method`."""
    if "::" in spec:
        path, _, name = spec.partition("::")
    elif ":" in spec and spec.rsplit(":", 1)[0].endswith(".py"):
        path, _, name = spec.rpartition(":")
    else:
        raise VerifyError(f"expected PATH.py::FUNCTION or PATH.py::Class.method, got {spec!r}")
    if not path:
        raise VerifyError(f"no file named before '::' in {spec!r}: expected PATH.py::function or PATH.py::Class.method")
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise VerifyError(f"{name!r} is not a function or Class.method name")
    return Path(path), name


def check_target_file(path: Path) -> None:
    """Raise VerifyError saying why `path` cannot hold the target unless it is a regular
    file (or a link to one). Only stats it: a named pipe is never opened (that would block)."""
    from gradlint.files import missing_reason, special_kind

    shown = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise VerifyError(f"{shown}: {missing_reason(path, error)}") from None
    except ValueError:  # e.g. an embedded NUL character
        raise VerifyError(f"{shown!r}: not a valid file path") from None
    if stat.S_ISDIR(mode):
        raise VerifyError(f"{shown}: a folder, not a Python file: expected PATH.py::function or PATH.py::Class.method")
    if not stat.S_ISREG(mode):
        raise VerifyError(f"{shown}: {special_kind(mode)}, not a regular file: verify reads the target from a Python source file")


def verify_target(spec: str, settings: "Optional[Settings]" = None) -> RuntimeResult:
    """Check one target: the file's static findings plus the target's verdict."""
    from gradlint.api import Report, check_source
    from gradlint.files import read_source
    from gradlint.settings import Settings

    settings = settings or Settings()
    path, name = parse_target(spec)
    check_target_file(path)
    read = read_source(path)
    if read.problem is not None or read.text is None:
        raise VerifyError(read.problem.message if read.problem is not None else f"cannot read {path}")
    file_report = check_source(read.text, str(path), settings)
    if any(d.code == "GL001" for d in file_report.diagnostics):
        raise VerifyError(f"{os.fspath(path)} does not parse: {file_report.diagnostics[0].message}")
    (updated, rows), = _withhold_pass_through_beside([_file_result(file_report, settings, only=name)])
    return RuntimeResult(Report((updated,)), tuple(rows))


def run_stage(report: "Report", settings: "Settings", output_format: str, out: Any, err: Any, root: Optional[Path] = None) -> "Report":
    """`check --runtime`: check the report's derivatives and print a verdict per
    target (on stdout for the text formats, on stderr for machine formats so
    that their stdout stays parseable). Returns the report with GL901 added."""
    from gradlint.runtime.report import render_verdicts

    result = runtime_check(report, settings)
    render_verdicts(result.verdicts, out if output_format in TEXT_REPORT_FORMATS else err, root or Path.cwd())
    return result.report


def verify_stage(spec: str, settings: "Settings", output_format: str, out: Any, err: Any, root: Optional[Path] = None) -> "Report":
    """`verify`: the verdict for one target, then its report."""
    from gradlint.runtime.report import render_verdicts

    result = verify_target(spec, settings)
    render_verdicts(result.verdicts, out if output_format in TEXT_REPORT_FORMATS else err, root or Path.cwd())
    return result.report
