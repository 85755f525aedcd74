"""The modules of one package, analysed on demand for cross-module pairings.

`PackageModules` implements the `Package` protocol of
`gradlint.analysis.gradient_flow`: given the module doing an import and the
imported module's name (and relative level), it returns that module's
`ModuleAnalysis`, parsed only when a rule asks (GL203 asks only when a layer or
loss class is imported, not defined locally) and kept among the MAX_RETAINED
most recently used analyses, so a long run does not hold every parsed module.

The engine provides one instance per run (`ModuleAnalysis.package`); modules
outside a package (no `__init__.py` beside them) resolve imports against their
own directory, as Python does for a script.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from gradlint.cache import ABSENT, content_hash

if TYPE_CHECKING:
    from gradlint.analysis import ModuleAnalysis

# Analyses kept for reuse (most recently used): a run over thousands of files
# must not hold every parsed module; an evicted one is parsed again if needed.
MAX_RETAINED = 16


class PackageModules:
    """Lazily parsed sibling modules, shared by every module checked in one run."""

    def __init__(self, sources: "Optional[dict[str, str]]" = None) -> None:
        # sources: path -> text already in memory (editors, tests); else read from disk
        self._sources = {str(Path(k).resolve()): v for k, v in (sources or {}).items()}
        self._analyses: dict[str, Optional[ModuleAnalysis]] = {}
        self._consulted: dict[str, set[str]] = {}  # importer -> the modules it consulted
        # importer -> {file: its state when the importer consulted it}: the content hash of the text
        # its analysis was built from, or "absent" for a file probed and not found (see dependency_states)
        self._states: dict[str, dict[str, str]] = {}
        self._read_hashes: dict[str, str] = {}  # module -> content hash of the bytes its analysis parsed
        self._consulted_by_any: set[str] = set()
        self._checking: Optional[ModuleAnalysis] = None  # the analysis the engine is checking
        self._directories: dict[str, str] = {}  # directory -> its resolved path (see _resolved)

    def adopt(self, analysis: "ModuleAnalysis") -> None:
        """Register an analysis the engine already built (no second parse)."""
        self._checking = analysis
        key = self._resolved(analysis.filename)
        self._remember(key, analysis)
        analysis.package = self
        if key not in self._sources:
            # The bytes of its text as read (UTF-8 decodes without changing them; for a file with a
            # BOM or another encoding the hash differs from the file's, and the cache only misses).
            self._read_hashes[key] = content_hash(analysis.source.encode("utf-8", "surrogatepass"))

    def module_for_import(self, importer: "ModuleAnalysis", module: str, level: int) -> "Optional[ModuleAnalysis]":
        importer_path = self._resolved(importer.filename)
        probed: list[Path] = []
        path = self._module_path(Path(importer_path), module, level, probed)
        consulted = self._consulted.setdefault(importer_path, set())
        # Every file probed before the answer (or all of them, when none resolved), and the package
        # markers that placed the root: if one appears or goes, the import resolves differently (or
        # at all), and so may the findings.
        consulted.update(str(probe) for probe in probed)
        states = self._states.setdefault(importer_path, {})
        for probe in probed:
            if probe.name != "__init__.py" and str(probe) not in self._sources and not probe.exists():
                states[str(probe)] = ABSENT  # as it was when the import was resolved
        if path is None:
            return None
        consulted.add(str(path))
        self._consulted_by_any.add(str(path))
        analysis = self._analysis_of(path)
        read_hash = self._read_hashes.get(str(path))
        if read_hash is not None:
            states[str(path)] = read_hash
        return analysis

    def dependency_states(self, filename: str) -> dict[str, str]:
        """The states of `filename`'s dependencies as its findings saw them (a module's content
        hash, or "absent"), for those known: a result cache records these, not the files' states
        when it stores the result, which a module edited during the run would have changed."""
        return dict(self._states.get(self._resolved(filename), {}))

    def dependencies(self, filename: str) -> frozenset[str]:
        """The files the findings of `filename` depend on: the modules its imports resolved to
        (their contents) and the files probed while resolving them that were absent (their
        absence: a `net/losses.py` that appears, a `net/layers/__init__.py` that now shadows
        `net/layers.py`). A result cache must key the file's findings on their states too."""
        return frozenset(self._consulted.get(self._resolved(filename), ()))

    def _resolved(self, filename: str) -> str:
        """`str(Path(filename).resolve())`, remembering each directory's resolution: resolving
        walks every component of the path, a system call each, and every file of a run is
        resolved; the files of a directory share all but the last. A file that is itself a
        symbolic link (or an unusual name) is resolved in full."""
        directory, name = os.path.split(filename)
        if not name or name in (".", "..") or not os.path.isabs(filename) or os.path.islink(filename):
            return str(Path(filename).resolve())
        resolved = self._directories.get(directory)
        if resolved is None:
            resolved = self._directories[directory] = str(Path(directory).resolve())
        return os.path.join(resolved, name)

    # -- resolution ------------------------------------------------------------
    @staticmethod
    def _package_root(directory: Path, probed: list[Path]) -> Path:
        """The directory above the outermost package containing `directory`; every `__init__.py`
        looked at, which decide it, is added to `probed` (one added or removed moves the root)."""
        current = directory
        while True:
            marker = current / "__init__.py"
            probed.append(marker)
            if not marker.exists() or current.parent == current:
                return current
            current = current.parent

    def _module_path(self, importer: Path, module: str, level: int, probed: list[Path]) -> Optional[Path]:
        """The file `import module` (with `level` leading dots) loads from `importer`, or None;
        every file looked for and not found is added to `probed`."""
        parts = [p for p in module.split(".") if p]
        if level > 0:
            base = importer.parent
            for _ in range(level - 1):
                base = base.parent
        else:
            base = self._package_root(importer.parent, probed)
            if not parts:
                return None
        found = self._first_file(base.joinpath(*parts), probed)
        if found is None and level == 0:
            found = self._first_file(importer.parent.joinpath(*parts), probed)
        return found

    def _first_file(self, candidate: Path, probed: list[Path]) -> Optional[Path]:
        """`candidate/__init__.py` or `candidate.py`, in Python's order: a package directory (one
        with an `__init__.py`) shadows a module file of the same name beside it."""
        for path in (candidate / "__init__.py", candidate.with_suffix(".py")):
            if str(path) in self._sources or path.is_file():
                return path
            probed.append(path)
        return None

    def _analysis_of(self, path: Path) -> "Optional[ModuleAnalysis]":
        key = str(path)
        if key in self._analyses:
            analysis = self._analyses.pop(key)
            self._analyses[key] = analysis  # most recently used
            return analysis
        self._analyses[key] = None  # guards import cycles
        text = self._sources.get(key)
        if text is None:
            from gradlint.files import read_source

            read = read_source(path)  # as a checked file is read: size-limited, never blocking
            text = read.text
            if text is None or read.data is None:
                return None
            self._read_hashes[key] = content_hash(read.data)
        import libcst as cst

        from gradlint.analysis import ModuleAnalysis
        from gradlint.analysis.parse import parse_module, refusal
        from gradlint.engine import MAX_PARSE_CHARS

        if len(text) > MAX_PARSE_CHARS or refusal(text) is not None:  # too large to parse, or libcst would crash or stall
            return None
        try:
            module = parse_module(text)
        except (cst.ParserSyntaxError, RecursionError, MemoryError):
            return None
        analysis = ModuleAnalysis(module, key, text, package=self)
        self._remember(key, analysis)
        return analysis

    def _remember(self, key: str, analysis: "ModuleAnalysis") -> None:
        """Keep `analysis` as the most recent; drop the oldest beyond MAX_RETAINED
        (never an import-cycle guard, a None still being resolved)."""
        replaced = self._analyses.pop(key, None)
        if replaced is not None and replaced is not analysis:
            replaced.release(unshared=key not in self._consulted_by_any)
        self._analyses[key] = analysis
        excess = len(self._analyses) - MAX_RETAINED
        if excess > 0:
            for old in [k for k, v in self._analyses.items() if v is not None and k != key][:excess]:
                evicted = self._analyses.pop(old)
                if evicted is not self._checking:  # its rules may still be asking its models
                    evicted.release(unshared=old not in self._consulted_by_any)
