"""The caches for what Python compiles on every start (gradlint/_startup.py): the classes the
dataclass cache defines are the classes `@dataclass` defines without it, the patterns the regex
cache replays are the patterns `re` compiles, each input is compiled once across runs, and both
follow Python's rules for bytecode (no writes under -B, damaged files ignored, unwritable folders
skipped)."""

from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess
import sys
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from typing import Any, Callable, ClassVar

import pytest

from gradlint import _startup
from gradlint._startup import GeneratedCode

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "softmax_question.py"


HEADER = MAGIC_NUMBER + sys.hexversion.to_bytes(4, "little")


def _file_of(entries: object, header: bytes = HEADER) -> bytes:
    """A cache file's bytes: the magic number and Python's version, the payload's CRC-32, the
    marshalled entries."""
    import binascii

    payload = marshal.dumps(entries)
    return header + (binascii.crc32(payload) & 0xFFFFFFFF).to_bytes(4, "little") + payload


def _entries_of(path: Path) -> dict:
    return marshal.loads(path.read_bytes()[len(HEADER) + 4:])


def _define_classes() -> dict[str, type]:
    """Dataclasses of the kinds gradlint and libcst define: frozen, slotted, ordered, with
    defaults, factories, keyword-only fields, class variables and a __post_init__."""

    @dataclasses.dataclass(frozen=True)
    class Position:
        line: int
        column: int = 1

    @dataclasses.dataclass(frozen=True, order=True)
    class Span:
        start: int
        end: int
        notes: tuple = ()
        kind: ClassVar[str] = "span"

    @dataclasses.dataclass
    class Mutable:
        items: list = dataclasses.field(default_factory=list)
        count: int = dataclasses.field(default=0, compare=False)

        def __post_init__(self) -> None:
            self.count = len(self.items)

    @dataclasses.dataclass(eq=False, repr=False)
    class Plain:
        value: Any = None

    classes = {"Position": Position, "Span": Span, "Mutable": Mutable, "Plain": Plain}
    if sys.version_info >= (3, 10):

        @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
        class Keywords:
            name: str
            weight: float = 1.0

        classes["Keywords"] = Keywords
    return classes


GENERATED = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__", "__lt__", "__le__", "__gt__", "__ge__")


def _methods(cls: type) -> dict[str, Any]:
    """The code objects of the methods dataclasses generated for `cls`."""
    found = {}
    for name in GENERATED:
        function = cls.__dict__.get(name)
        code = getattr(function, "__code__", None)
        if code is not None and code.co_filename == "<string>":
            found[name] = code
    return found


def _with_cache(monkeypatch: pytest.MonkeyPatch, cache: GeneratedCode, define: Callable[[], Any]) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(dataclasses, "exec", cache.exec, raising=False)
        return define()


def _without_cache(monkeypatch: pytest.MonkeyPatch, define: Callable[[], Any]) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(dataclasses, "exec", exec, raising=False)
        return define()


def test_the_cached_methods_are_the_methods_dataclasses_compiles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    plain = _without_cache(monkeypatch, _define_classes)
    cache = GeneratedCode(tmp_path / "code.marshal")
    cached = _with_cache(monkeypatch, cache, _define_classes)
    assert cache.new, "the cache compiled nothing: dataclasses no longer calls exec through its globals?"
    for name, cls in plain.items():
        expected, got = _methods(cls), _methods(cached[name])
        assert expected and expected.keys() == got.keys(), name
        for method, code in expected.items():
            assert got[method] == code, f"{name}.{method} differs"
            assert got[method].co_flags == code.co_flags, f"{name}.{method}: other compiler flags"
        init = cached[name].__init__
        assert init.__annotations__ == cls.__init__.__annotations__, "annotations changed (a __future__ flag leaked?)"


def test_the_cached_classes_behave_as_dataclasses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    classes = _with_cache(monkeypatch, GeneratedCode(tmp_path / "code.marshal"), _define_classes)
    Position, Span, Mutable = classes["Position"], classes["Span"], classes["Mutable"]
    a, b = Position(3), Position(3, 1)
    assert a == b and hash(a) == hash(b) and repr(a).endswith("Position(line=3, column=1)")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.line = 4  # type: ignore[misc]
    assert Span(1, 4) < Span(1, 5) and Span(2, 0) >= Span(1, 9)
    assert Mutable([1, 2]).count == 2 and Mutable() == Mutable(count=7)
    if "Keywords" in classes:
        with pytest.raises(TypeError):
            classes["Keywords"]("positional")
        assert classes["Keywords"](name="w").weight == 1.0


def test_a_saved_cache_is_used_and_compiles_nothing_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "__pycache__" / "code.marshal"
    first = GeneratedCode(path)
    _with_cache(monkeypatch, first, _define_classes)
    compiled = len(first.new)
    first.save()
    assert path.is_file() and not first.new
    second = GeneratedCode(path)
    classes = _with_cache(monkeypatch, second, _define_classes)
    assert not second.new and len(second.used) == compiled
    assert classes["Position"](2) == classes["Position"](2, 1)
    modified = path.stat().st_mtime_ns
    second.save()  # nothing new: the file is not rewritten
    assert path.stat().st_mtime_ns == modified


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not marshal data at all",
        _file_of({}, header=b"\x00\x00\r\n" + HEADER[4:]),  # another Python's magic number
        _file_of({}, header=HEADER[:4] + (sys.hexversion ^ 0x100).to_bytes(4, "little")),  # another patch release
        _file_of(["a list"]),
        _file_of({"def f(): pass": "not bytes", 3: marshal.dumps(compile("x = 1", "<string>", "exec"))}),
        marshal.dumps({"no": "header"}),
        b"[\xff\xff\xff\x7f",  # a list of two billion items: rejected before marshal reads it
        HEADER + b"\x00\x00\x00\x00" + b"[\xff\xff\xff\x7f",  # ... its CRC does not match
    ],
)
def test_a_damaged_or_foreign_file_is_ignored_and_replaced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: bytes) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "code.marshal"
    path.write_bytes(content)
    cache = GeneratedCode(path)
    classes = _with_cache(monkeypatch, cache, _define_classes)
    assert classes["Position"](1).column == 1
    assert cache.new and not cache.used
    cache.save()
    again = GeneratedCode(path)
    _with_cache(monkeypatch, again, _define_classes)
    assert not again.new


def _saved_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> "tuple[Path, GeneratedCode]":
    """A cache file holding the methods of _define_classes, and the cache that saved it."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "code.marshal"
    first = GeneratedCode(path)
    _with_cache(monkeypatch, first, _define_classes)
    first.save()
    return path, first


def test_a_damaged_entry_is_compiled_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path, first = _saved_cache(monkeypatch, tmp_path)
    entries = _entries_of(path)
    spoiled = dict.fromkeys(entries, b"\xff not marshal")
    spoiled[next(iter(entries))] = marshal.dumps(42)  # marshal data, but no code object
    path.write_bytes(_file_of(spoiled))
    second = GeneratedCode(path)
    classes = _with_cache(monkeypatch, second, _define_classes)
    assert len(second.new) == len(entries) and not second.used
    assert classes["Position"](5) == classes["Position"](5, 1)


def test_a_flipped_bit_anywhere_discards_the_whole_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path, first = _saved_cache(monkeypatch, tmp_path)
    data = bytearray(path.read_bytes())
    for offset in (len(HEADER) + 5, len(data) // 2, len(data) - 1):  # inside the payload: an entry may still unmarshal
        damaged = bytearray(data)
        damaged[offset] ^= 0x10
        path.write_bytes(bytes(damaged))
        again = GeneratedCode(path)
        classes = _with_cache(monkeypatch, again, _define_classes)
        assert not again.used and len(again.new) == len(first.used), f"a damaged file was read (byte {offset})"
        assert classes["Position"](1) == classes["Position"](1, 1)


@pytest.mark.skipif(not hasattr(os, "umask") or sys.platform == "win32", reason="POSIX modes")
def test_the_file_gets_the_mode_python_gives_a_pyc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "code.marshal"
    previous = os.umask(0o077)
    try:
        cache = GeneratedCode(path)
        _with_cache(monkeypatch, cache, _define_classes)
        cache.save()
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o077 == 0, oct(path.stat().st_mode)
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_a_folder_or_a_pipe_in_its_place_is_not_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "folder.marshal"
    folder.mkdir()
    cache = GeneratedCode(folder)
    assert _with_cache(monkeypatch, cache, _define_classes)["Position"](1).line == 1
    cache.save()  # os.replace onto a folder fails: silently skipped
    assert folder.is_dir()
    if hasattr(os, "mkfifo"):
        pipe = tmp_path / "pipe.marshal"
        os.mkfifo(pipe)
        reader = GeneratedCode(pipe)
        assert _with_cache(monkeypatch, reader, _define_classes)["Position"](1).line == 1  # no hang on the pipe
        assert reader.new


def test_nothing_is_written_under_dont_write_bytecode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    path = tmp_path / "code.marshal"
    cache = GeneratedCode(path)
    _with_cache(monkeypatch, cache, _define_classes)
    cache.save()
    assert not path.exists()


def test_an_unwritable_folder_is_skipped_silently(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    cache = GeneratedCode(blocker / "__pycache__" / "code.marshal")  # its folder cannot be made
    _with_cache(monkeypatch, cache, _define_classes)
    cache.save()
    assert blocker.is_file()


def test_a_full_cache_keeps_only_what_runs_use(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "code.marshal"
    stale = {f"x = {number}": marshal.dumps(compile(f"x = {number}", "<string>", "exec")) for number in range(50)}
    path.write_bytes(_file_of(stale))
    monkeypatch.setattr(_startup, "_CODE_CACHE_ENTRIES", 51)
    cache = GeneratedCode(path)
    _with_cache(monkeypatch, cache, _define_classes)
    assert len(cache.new) > 1, "the classes should need more than the one free entry"  # one per class on 3.13
    cache.save()
    kept = _entries_of(path)
    assert not set(stale) & set(kept), "entries no run used survived a save past the limit"
    again = GeneratedCode(path)
    _with_cache(monkeypatch, again, _define_classes)
    assert not again.new


def test_installing_is_idempotent_and_leaves_an_unknown_dataclasses_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_startup, "_GENERATED", None)
    monkeypatch.setattr(_startup, "_PATTERNS", object())  # the regex cache counts as installed: left alone
    monkeypatch.setattr(dataclasses, "exec", exec, raising=False)  # someone else's exec already there
    _startup.install_code_caches()
    assert _startup._GENERATED is None and dataclasses.exec is exec  # type: ignore[attr-defined]
    monkeypatch.delattr(dataclasses, "exec", raising=False)
    for name in ("_create_fn", "_FuncBuilder"):
        monkeypatch.delattr(dataclasses, name, raising=False)
    _startup.install_code_caches()
    assert _startup._GENERATED is None and "exec" not in vars(dataclasses)


def _gradlint(prefix: Path, *, write: bool) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = str(prefix)  # the cache goes where Python puts bytecode
    if not write:
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "gradlint", "check", "--no-cache", str(FIXTURE)],
        capture_output=True, text=True, env=environment, timeout=300,
    )


def test_the_command_fills_the_cache_once_and_then_reads_it(tmp_path: Path) -> None:
    prefix = tmp_path / "pycache"
    first = _gradlint(prefix, write=True)
    assert first.returncode == 1 and "GL101" in first.stdout, first.stderr
    saved = sorted(prefix.rglob("_generated_code.*.marshal")) + sorted(prefix.rglob("_compiled_patterns.*.marshal"))
    assert len(saved) == 2, sorted(str(p) for p in prefix.rglob("*"))[:20]
    methods, patterns = (_entries_of(path) for path in saved)
    assert any("__create_fn__" in source for source in methods), "no dataclass method was kept"
    assert len(patterns) > 50, "the needs' and the analysis' patterns were not kept"
    modified = [path.stat().st_mtime_ns for path in saved]
    second = _gradlint(prefix, write=True)
    assert second.stdout == first.stdout and second.returncode == 1
    assert [path.stat().st_mtime_ns for path in saved] == modified, "a second run compiled (and saved) again"


def test_the_command_writes_no_cache_under_dont_write_bytecode(tmp_path: Path) -> None:
    prefix = tmp_path / "pycache"
    done = _gradlint(prefix, write=False)
    assert done.returncode == 1 and "GL101" in done.stdout, done.stderr
    assert not list(prefix.rglob("*.marshal"))


# --- the regex cache -------------------------------------------------------------------------------

def _regex_compiler() -> Any:
    import re

    return getattr(re, "_compiler", None) or getattr(re, "sre_compile")


def _rule_patterns() -> list[tuple[Any, int]]:
    """Every regex need of gradlint's rules, and patterns with each feature the compiler handles."""
    import re

    from gradlint import registry

    needs = [(need, 0) for entry in registry.RULES.values() for need in entry.needs if not need.startswith("predicate:")]
    features = [
        (r"(?P<name>\w+)\s*=\s*(?P=name)\b", 0),
        (r"(?<!\w)exp(?:it)?\s*\(", re.IGNORECASE),
        (r"^\s*def\s+(\w+)  # a comment in verbose mode", re.VERBOSE | re.MULTILINE),
        (r"a.b|[^\W\d]+|(?:x{2,5}?)++|(?>y+)", re.DOTALL) if sys.version_info >= (3, 11) else (r"a.b|[^\W\d]+|x{2,5}?", re.DOTALL),
        (rb"\x00[\x80-\xff]+(?=\n)", 0),
        (r"[ΣΩσω]+", re.IGNORECASE),
        (r"(a)|(b)(?(2)c|d)", re.ASCII),
    ]
    return list(dict.fromkeys((pattern, int(flags)) for pattern, flags in needs + features))


def _compile_all(monkeypatch: pytest.MonkeyPatch, cache: Any, patterns: list[tuple[Any, int]], own: bool = True) -> list[Any]:
    """`patterns` compiled through `cache` (as gradlint's own patterns, as kept_compile marks them)."""
    compiler = _regex_compiler()
    with monkeypatch.context() as patch:
        patch.setattr(compiler, "_sre", cache.recorder)
        cache.marked.own = own
        try:
            return [cache.compile(pattern, int(flags)) for pattern, flags in patterns]  # re._compile passes ints
        finally:
            cache.marked.own = False


def _samples() -> list[Any]:
    texts = [path.read_text(encoding="utf-8") for path in sorted(FIXTURE.parent.glob("*.py"))[:12]]
    texts += ["x = x  # same\n", "EXPIT (z)", "ΣΩ σω", "acd bd", "\x00\xff\n"]
    return texts


def test_replayed_patterns_are_the_patterns_re_compiles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import re

    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    patterns = _rule_patterns()
    path = tmp_path / "patterns.marshal"
    first = _startup.CompiledPatterns(path, _regex_compiler())
    recorded = _compile_all(monkeypatch, first, patterns)
    assert len(first.new) == len(patterns), "a pattern was compiled without passing through _sre.compile"
    first.save()
    second = _startup.CompiledPatterns(path, _regex_compiler())
    replayed = _compile_all(monkeypatch, second, patterns)
    assert not second.new and len(second.used) == len(patterns), "the second run compiled again"
    samples = _samples()
    for (pattern, flags), fresh, again in zip(patterns, recorded, replayed):
        plain = re.compile(pattern, flags)
        for compiled in (fresh, again):
            assert (compiled.pattern, compiled.flags, compiled.groups, dict(compiled.groupindex)) == (
                plain.pattern, plain.flags, plain.groups, dict(plain.groupindex)
            )
        for text in samples:
            if isinstance(pattern, bytes):
                text = text.encode("latin-1", "replace")
            expected = [(m.span(), m.groups()) for m in plain.finditer(text)]
            assert [(m.span(), m.groups()) for m in again.finditer(text)] == expected, pattern


def test_a_foreign_or_broken_pattern_entry_is_compiled_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import re

    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "patterns.marshal"
    patterns = [(r"softmax\s*\(", 0), (r"\bgrad\w*", re.IGNORECASE), (r"(\d+)-(\d+)", 0)]
    first = _startup.CompiledPatterns(path, _regex_compiler())
    _compile_all(monkeypatch, first, patterns)
    first.save()
    entries = _entries_of(path)
    keys = list(entries)
    swapped = dict(entries)
    swapped[keys[0]], swapped[keys[1]] = entries[keys[1]], entries[keys[0]]  # another pattern's program
    args = list(marshal.loads(entries[keys[2]]))
    args[2] = [255] * len(args[2])  # a program _sre refuses
    swapped[keys[2]] = marshal.dumps(tuple(args))
    path.write_bytes(_file_of(swapped))
    second = _startup.CompiledPatterns(path, _regex_compiler())
    compiled = _compile_all(monkeypatch, second, patterns)
    assert compiled[0].search("y = softmax (z)") and compiled[1].search("GRADIENT")
    assert compiled[2].match("12-34").groups() == ("12", "34")
    assert set(second.new) == set(keys[:2]) | {keys[2]}


def test_a_debug_compile_is_never_replayed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import re

    cache = _startup.CompiledPatterns(tmp_path / "patterns.marshal", _regex_compiler())
    _compile_all(monkeypatch, cache, [(r"ab+", re.DEBUG)])
    assert not cache.new and "LITERAL" in capsys.readouterr().out


def test_only_gradlint_s_own_and_import_time_patterns_are_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib

    cache = _startup.CompiledPatterns(tmp_path / "patterns.marshal", _regex_compiler())
    _compile_all(monkeypatch, cache, [(r"built_at_run_time_from_\w+_names", 0)], own=False)
    assert not cache.new, "a pattern compiled at run time, not marked as gradlint's own, was kept"
    (tmp_path / "module_with_patterns.py").write_text(
        "import re\n"
        "AT_IMPORT = re.compile(r'compiled_while_imported_\\d+')\n"
        "def later(name):\n"
        "    return re.compile(re.escape(name) + r'_from_checked_code')\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    compiler = _regex_compiler()
    with monkeypatch.context() as patch:
        patch.setattr(compiler, "_sre", cache.recorder)
        patch.setattr(compiler, "compile", cache.compile)
        module = importlib.import_module("module_with_patterns")
        module.later("secret_customer_ledger")
    kept = [pattern for pattern, _flags in cache.new]
    assert r"compiled_while_imported_\d+" in kept
    assert not [pattern for pattern in kept if "secret_customer_ledger" in pattern]


def test_the_command_keeps_no_pattern_built_from_what_it_checks(tmp_path: Path) -> None:
    prefix = tmp_path / "pycache"
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "layer.py").write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = str(prefix)
    done = subprocess.run(
        [sys.executable, "-m", "gradlint", "check", "--no-cache", "--extend-exclude", "secret_customer_ledger_*.py", "."],
        capture_output=True, text=True, env=environment, timeout=300, cwd=tree,
    )
    assert done.returncode == 1 and "GL101" in done.stdout, done.stderr
    (saved,) = prefix.rglob("_compiled_patterns.*.marshal")
    assert b"secret_customer_ledger" not in saved.read_bytes()
    assert len(_entries_of(saved)) > 50
