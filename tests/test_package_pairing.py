"""GL203 across the modules of one package in real runs: the engine and API share
one package model per run (per worker), and the result cache keys an importing
file on the contents of the sibling modules its findings consulted."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradlint import api, parallel
from gradlint.settings import Settings

LAYERS = '''import numpy as np


class Dense:
    def __init__(self, n_in, n_out):
        self.W = np.random.randn(n_in, n_out) * 0.01

    def forward(self, x):
        self.x = x
        return x @ self.W

    def backward(self, grad):
        self.dW = self.x.T @ grad
        return grad @ self.W.T


class Softmax:
    def forward(self, x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out

    def backward(self, grad):
        s = self.out
        return s * (grad - np.sum(grad * s, axis=1, keepdims=True))
'''

PASS_THROUGH = '''    def backward(self, grad):
        return grad
'''

LOSSES = '''import numpy as np


class CrossEntropy:
    def forward(self, p, y):
        return -np.mean(np.sum(y * np.log(np.clip(p, 1e-12, 1.0)), axis=1))

    def backward(self, p, y):
        return (p - y) / len(p)
'''

CHAIN_LOSSES = LOSSES.replace("return (p - y) / len(p)", "return -y / np.clip(p, 1e-12, 1.0) / len(p)")

TRAIN = '''from .layers import Dense, Softmax
from .losses import CrossEntropy


def train_step(x, y):
    layers = [Dense(4, 3), Softmax()]
    loss = CrossEntropy()
    out = x
    for layer in layers:
        out = layer.forward(out)
    grad = loss.backward(out, y)
    for layer in reversed(layers):
        grad = layer.backward(grad)
    return grad
'''

SOFTMAX_BACKWARD = LAYERS[LAYERS.index("    def backward(self, grad):\n        s = self.out") :]


def _package(root: Path, name: str = "pkg", layers: str = LAYERS, losses: str = LOSSES) -> Path:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "layers.py").write_text(layers)
    (package / "losses.py").write_text(losses)
    (package / "train.py").write_text(TRAIN)
    return package


def _age(path: Path, seconds: float = 60.0) -> None:
    """Older than the cache's racy window, so that a stat hit is trusted."""
    stamp = path.stat().st_mtime - seconds
    os.utime(path, (stamp, stamp))


def _found(report: api.Report) -> list[tuple[str, str, int]]:
    return [(Path(d.filename).name, d.code, d.start.row) for d in report.diagnostics]


def _gradlint(cwd: Path, *arguments: str) -> list[tuple[str, str, int]]:
    env = dict(os.environ, NO_COLOR="1")
    done = subprocess.run(
        [sys.executable, "-m", "gradlint", "check", *arguments, "--output-format", "json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    return sorted((Path(d["filename"]).name, d["code"], d["location"]["row"]) for d in json.loads(done.stdout))


@pytest.fixture
def always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_MIN_CHARS", 0)


def test_cli_reports_gl203_in_the_importing_file(tmp_path: Path) -> None:
    _package(tmp_path)
    assert _gradlint(tmp_path, "pkg/", "--no-cache") == [("train.py", "GL203", 13)]


def test_the_message_names_both_modules_expressions(tmp_path: Path) -> None:
    package = _package(tmp_path)
    report = api.check_paths([package], Settings(project_root=tmp_path))
    [diagnostic] = report.diagnostics
    assert diagnostic.code == "GL203" and Path(diagnostic.filename).name == "train.py"
    assert "(p - y) / len(p)" in diagnostic.message and "Softmax.backward" in diagnostic.message


def test_pass_through_softmax_backward_twin_is_clean(tmp_path: Path) -> None:
    _package(tmp_path, layers=LAYERS.replace(SOFTMAX_BACKWARD, PASS_THROUGH))
    assert _gradlint(tmp_path, "pkg/", "--no-cache") == []


def test_correct_chain_loss_twin_is_clean(tmp_path: Path) -> None:
    _package(tmp_path, losses=CHAIN_LOSSES)
    assert _gradlint(tmp_path, "pkg/", "--no-cache") == []


def test_without_the_imported_modules_nothing_is_paired(tmp_path: Path) -> None:
    package = _package(tmp_path)
    (package / "losses.py").unlink()
    assert _gradlint(tmp_path, "pkg/", "--no-cache") == []


def test_cache_is_invalidated_when_an_imported_module_changes(tmp_path: Path) -> None:
    package = _package(tmp_path)
    for path in package.glob("*.py"):
        _age(path)
    first = _gradlint(tmp_path, "pkg/")
    assert first == [("train.py", "GL203", 13)]
    assert (tmp_path / ".gradlint_cache").is_dir()
    assert _gradlint(tmp_path, "pkg/") == first  # a cache hit: same result
    (package / "losses.py").write_text(CHAIN_LOSSES)  # train.py itself is untouched
    _age(package / "losses.py")
    assert _gradlint(tmp_path, "pkg/") == []
    (package / "losses.py").write_text(LOSSES)  # and back: the finding returns
    _age(package / "losses.py")
    assert _gradlint(tmp_path, "pkg/") == first


def test_cache_entry_records_dependencies_and_hits_while_they_are_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _package(tmp_path)
    for path in package.glob("*.py"):
        _age(path)
    settings = Settings(project_root=tmp_path)
    first = api.check_paths([package], settings, cache=True)
    [train] = [report for report in first.files if report.filename.endswith("train.py")]
    # (the files it read; dependencies also hold the __init__.py files and absent paths it probed)
    assert {Path(p).name for p in train.dependencies if Path(p).is_file() and Path(p).name != "__init__.py"} == {"layers.py", "losses.py"}
    calls: list[str] = []
    original = api.check_source
    monkeypatch.setattr(api, "check_source", lambda text, filename, *a, **k: calls.append(filename) or original(text, filename, *a, **k))
    again = api.check_paths([package], settings, cache=True)
    assert calls == [] and _found(again) == _found(first)
    (package / "layers.py").write_text(LAYERS.replace(SOFTMAX_BACKWARD, PASS_THROUGH))
    changed = api.check_paths([package], settings, cache=True)
    assert sorted(Path(p).name for p in calls) == ["layers.py", "train.py"]  # the importer is re-checked
    assert _found(changed) == []


def test_serial_and_two_jobs_agree(tmp_path: Path, always_parallel: None) -> None:
    _package(tmp_path, "good", layers=LAYERS.replace(SOFTMAX_BACKWARD, PASS_THROUGH))
    _package(tmp_path, "bad")
    _package(tmp_path, "chain", losses=CHAIN_LOSSES)
    settings = Settings(project_root=tmp_path)
    serial = api.check_paths([tmp_path], settings, jobs=1)
    pooled = api.check_paths([tmp_path], settings, jobs=2)
    assert _found(serial) == [("train.py", "GL203", 13)]
    assert Path(serial.diagnostics[0].filename).parent.name == "bad"
    assert serial.diagnostics == pooled.diagnostics
    assert [r.dependencies for r in serial.files] == [r.dependencies for r in pooled.files]
    assert _gradlint(tmp_path, ".", "--no-cache", "--jobs", "2") == _gradlint(tmp_path, ".", "--no-cache", "--jobs", "1")


def test_check_source_of_a_saved_file_follows_its_imports(tmp_path: Path) -> None:
    package = _package(tmp_path)
    train = package / "train.py"
    report = api.check_source(train.read_text(), str(train))
    assert [d.code for d in report.diagnostics] == ["GL203"]


def test_check_source_with_unsaved_buffers(tmp_path: Path) -> None:
    package = _package(tmp_path)
    train = package / "train.py"
    # The editor holds an unsaved losses.py with the correct chain: that is what counts.
    report = api.check_source(train.read_text(), str(train), sources={str(package / "losses.py"): CHAIN_LOSSES})
    assert report.diagnostics == ()
    # A buffer never saved at all: its imports resolve from its folder.
    unsaved = package / "unsaved_train.py"
    report = api.check_source(TRAIN, str(unsaved), sources={str(unsaved): TRAIN})
    assert [d.code for d in report.diagnostics] == ["GL203"]


def test_stdin_with_a_filename_in_the_package(tmp_path: Path) -> None:
    package = _package(tmp_path)
    stream = io.BytesIO(TRAIN.encode())
    report = api.check_stdin(stream, str(package / "train.py"), Settings(project_root=tmp_path))
    assert [d.code for d in report.diagnostics] == ["GL203"]


def test_importing_file_that_fails_the_precheck_is_not_parsed(tmp_path: Path) -> None:
    from gradlint import registry

    package = _package(tmp_path)
    assert "GL203" in registry.candidates(TRAIN, ["GL203"], thorough=True)  # the training loop is a candidate
    quiet = "from .layers import Softmax\nfrom .losses import CrossEntropy\n\nMODELS = [Softmax, CrossEntropy]\n"
    (package / "registry_of_models.py").write_text(quiet)
    assert not registry.candidates(quiet, ["GL203"], thorough=True)
    report = api.check_paths([package / "registry_of_models.py"], Settings(project_root=tmp_path))
    assert report.diagnostics == [] and report.files[0].dependencies == ()


def test_a_run_retains_few_analyses_and_reparses_evicted_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gradlint.analysis import package as package_module

    monkeypatch.setattr(package_module, "MAX_RETAINED", 1)
    for name in ("a", "b"):
        _package(tmp_path, name)
    package = package_module.PackageModules()
    reports = [api.check_file(path, Settings(project_root=tmp_path), package) for path in sorted(tmp_path.rglob("*.py"))]
    assert sorted((Path(r.filename).parent.name, d.code) for r in reports for d in r.diagnostics) == [("a", "GL203"), ("b", "GL203")]
    assert len([value for value in package._analyses.values() if value is not None]) <= 1


def test_a_long_run_lets_go_of_the_analyses_it_no_longer_keeps() -> None:
    """A run keeps at most MAX_RETAINED analyses for cross-module pairings; the ones it lets go
    of are freed (their models refer back to them: released, or collected between files), so
    memory does not grow with the number of files checked."""
    import gc
    import weakref

    from gradlint import engine, registry
    from gradlint.analysis.package import MAX_RETAINED, PackageModules

    fixtures = sorted((Path(__file__).resolve().parent.parent / "fixtures").glob("*.py"))
    package = PackageModules()
    alive = []
    with engine.relaxed_gc():
        for path in fixtures:
            result = engine.check_text(path.read_text(encoding="utf-8"), str(path), registry.all_codes(), keep_analysis=True, package=package)
            if result.analysis is not None:
                result.analysis.semantics  # noqa: B018 - built, as the rules build it
                alive.append(weakref.ref(result.analysis))
            del result
        # no module consulted another: the ones let go of are freed at once, without the collector
        assert len(alive) > MAX_RETAINED + 4
        assert sum(ref() is not None for ref in alive) <= MAX_RETAINED + 1  # + the last one checked
        gc.collect()
        assert sum(ref() is not None for ref in alive) <= MAX_RETAINED


def test_the_collector_runs_less_often_while_it_finds_little(monkeypatch: pytest.MonkeyPatch) -> None:
    """Between files, a collection that finds little cyclic garbage doubles the wait before the
    next one (up to a bound), and one that finds much brings it back to the start."""
    from gradlint import engine

    found: list[int] = []
    asked: list[int] = []

    def collect(generation: int = 2) -> int:
        asked.append(engine._parsed_since_collect)
        return found.pop(0)

    monkeypatch.setattr(engine.gc, "collect", collect)
    monkeypatch.setattr(engine, "_parsed_since_collect", 0)
    monkeypatch.setattr(engine, "_collect_every", engine._COLLECT_EVERY_CHARS)
    start, few, many = engine._COLLECT_EVERY_CHARS, engine._FEW_UNREACHABLE - 1, engine._FEW_UNREACHABLE
    found += [few, few, many, few]
    waits = []
    with engine.relaxed_gc():
        parsed = 0
        for _ in range(4):
            while len(asked) == len(waits):
                engine.collect_between_files(start // 8)
                parsed += start // 8
            waits.append(parsed)
            parsed = 0
    assert waits == [start, 2 * start, 4 * start, start]
    assert engine._collect_every == 2 * start
    monkeypatch.setattr(engine, "_collect_every", engine._MAX_COLLECT_EVERY_CHARS)
    found.append(few)
    with engine.relaxed_gc():
        while len(asked) == 4:
            engine.collect_between_files(start)
    assert engine._collect_every == engine._MAX_COLLECT_EVERY_CHARS


def test_a_module_edited_while_the_run_checks_its_importer_is_checked_again_next_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cache records each dependency as the analysis saw it, not as it is when the result is
    # stored: an edit in between used to leave an entry that hid the finding until the next edit.
    from gradlint import cache as cache_module

    package = _package(tmp_path)
    for path in package.glob("*.py"):
        _age(path)
    settings = Settings(project_root=tmp_path)
    original_store = cache_module.ResultCache.store
    clean_losses = LOSSES.replace("(p - y)", "(p - y) * 0 + self.grad_of(p, y)") if "(p - y)" in LOSSES else None
    assert clean_losses is not None

    def store_after_an_edit(self: object, filename: str, *args: object, **kwargs: object) -> None:
        if filename.endswith("train.py") and (package / "losses.py").read_text() == LOSSES:
            (package / "losses.py").write_text(clean_losses)  # edited after train.py's analysis read it
        original_store(self, filename, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cache_module.ResultCache, "store", store_after_an_edit)
    first = api.check_paths([package], settings, cache=True)
    monkeypatch.setattr(cache_module.ResultCache, "store", original_store)
    again = api.check_paths([package], settings, cache=True)
    fresh = api.check_paths([package], settings)
    assert any(name == "train.py" for name, _code, _row in _found(first))
    assert _found(again) == _found(fresh)


# ---- GL303: a sigmoid kept in a module of its own (the Andrew Ng ports' layout) ----------------
SIGMOID = '''import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))
'''

COST = '''import numpy as np
from sigmoid import sigmoid


def costFunction(theta, X, y):
    m = y.size
    h = sigmoid(X.dot(theta))
    J = -(1 / m) * (y.dot(np.log(h)) + (1 - y).dot(np.log(1 - h)))
    return J, (1 / m) * X.T.dot(h - y)
'''


def _cost_files(tmp_path: Path, sigmoid: str = SIGMOID, cost: str = COST) -> Path:
    (tmp_path / "sigmoid.py").write_text(sigmoid, encoding="utf-8")
    (tmp_path / "costFunction.py").write_text(cost, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "cost",
    [
        COST,
        COST.replace("from sigmoid import sigmoid", "import sigmoid").replace("h = sigmoid(", "h = sigmoid.sigmoid("),
        COST.replace("from sigmoid import sigmoid", "from sigmoid import *"),
    ],
    ids=["from-import", "module-attribute", "star-import"],
)
def test_gl303_follows_an_imported_sigmoid(tmp_path: Path, cost: str) -> None:
    """rw5a miss/02: `from sigmoid import sigmoid` (or `sigmoid.sigmoid(z)`, or `from sigmoid import *`), then
    `np.log(h)`, `np.log(1 - h)`:
    both logs are reported (through the pre-check: the importing text says `sigmoid`), from the file alone."""
    folder = _cost_files(tmp_path, cost=cost)
    report = api.check_paths([folder / "costFunction.py"], Settings(project_root=tmp_path, select=("GL303",)))
    rows = sorted((Path(d.filename).name, d.code, d.start.row) for d in report.diagnostics)
    assert rows == [("costFunction.py", "GL303", 8), ("costFunction.py", "GL303", 8)]
    assert all("the sigmoid output `h`" in d.message for d in report.diagnostics)


@pytest.mark.parametrize(
    "sigmoid, cost",
    [
        (SIGMOID.replace("return 1.0 / (1.0 + np.exp(-z))", "return np.clip(1.0 / (1.0 + np.exp(-z)), 1e-12, 1 - 1e-12)"), COST),
        (SIGMOID.replace("def sigmoid(z)", "def g(z)"), COST.replace("import sigmoid", "import g").replace("sigmoid(X", "g(X")),
        (SIGMOID, COST.replace("np.log(h)", "np.log(h + 1e-12)").replace("np.log(1 - h)", "np.log(1 - h + 1e-12)")),
    ],
    ids=["clipped-in-its-module", "not-named-as-a-sigmoid", "guarded-logs"],
)
def test_gl303_imported_sigmoid_twins_are_clean(tmp_path: Path, sigmoid: str, cost: str) -> None:
    """A sigmoid that clips, a function whose name does not say sigmoid (the pre-check reads the name in
    the importing text), guarded logs: nothing."""
    folder = _cost_files(tmp_path, sigmoid=sigmoid, cost=cost)
    report = api.check_paths([folder], Settings(project_root=tmp_path, select=("GL303",)))
    assert report.diagnostics == []
