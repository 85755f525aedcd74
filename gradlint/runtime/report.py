"""The per-target verdict lines printed by `check --runtime` and `verify`."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Sequence, TextIO

if TYPE_CHECKING:
    from gradlint.runtime import TargetVerdict

ORDER = ("confirmed", "inconclusive", "passed", "unknown")


def describe(verdict: "TargetVerdict", root: Path) -> list[str]:
    """One headline and up to two detail lines for a target."""
    v = verdict.verdict
    from gradlint.render import display_path  # the renderers' spelling of a file name

    where = f"{display_path(verdict.filename, root)}:{verdict.row}:{verdict.column}"
    head = f"{where}: {verdict.qualname}: {v.status}"
    if v.status == "unknown":
        return [f"{head} ({v.reason or 'no reason given'})"]
    if v.status == "passed":
        return [f"{head} (called as {v.convention}; relative error {v.rel_error:.1g} against {verdict.reference})"]
    lines = [f"{head}: {v.diagnosis}" if v.diagnosis else head]
    lines.append(f"    called as {v.convention}")
    mutated = re.search(r"modifies its argument `(\w+)` in place", v.diagnosis or "")
    if mutated is not None and v.worst_index is not None:
        before = "n/a" if v.expected is None else f"{v.expected:.6g}"
        after = "n/a" if v.got is None else f"{v.got:.6g}"
        lines.append(f"    its argument `{mutated.group(1)}` held {before} at {list(v.worst_index)} before the call and {after} after")
    elif v.worst_index is not None and v.rel_error is not None:
        expected = "n/a" if v.expected is None else f"{v.expected:.6g}"
        got = "n/a" if v.got is None else f"{v.got:.6g}"
        lines.append(
            f"    worst entry {list(v.worst_index)}: expected {expected}, got {got} "
            f"(relative error {v.rel_error:.2g}) against {verdict.reference}"
        )
    else:
        lines.append(f"    against {verdict.reference}")
    return lines


def render_verdicts(verdicts: Sequence["TargetVerdict"], out: TextIO, root: Path) -> None:
    if not verdicts:
        out.write("runtime: no derivative functions or methods recognised\n")
        out.flush()
        return
    for verdict in verdicts:
        for line in describe(verdict, root):
            out.write(f"runtime: {line}\n" if not line.startswith("    ") else f"{line}\n")
    counts = Counter(v.status for v in verdicts)
    summary = ", ".join(f"{counts[s]} {s}" for s in ORDER if counts[s])
    out.write(f"runtime: {len(verdicts)} target{'s' if len(verdicts) != 1 else ''} checked: {summary}.\n")
    out.flush()
