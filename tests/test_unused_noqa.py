"""GL003 unused-noqa beyond its rule cases: when it judges, what it leaves alone, and its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradlint.api import check_source
from gradlint.fixes import fix_text
from gradlint.settings import Settings

from tests.test_settings import BUG_ROW, BUGGY, run, write

ALL = Settings(select=("ALL",))


def _gl003(text: str, settings: Settings = ALL) -> list:
    return [d for d in check_source(text, "/nonexistent/m.py", settings).diagnostics if d.code == "GL003"]


def _on_bug_row(suffix: str) -> str:
    lines = BUGGY.splitlines()
    lines[BUG_ROW - 1] += suffix
    return "\n".join(lines) + "\n"


def fixed(text: str) -> str:
    return fix_text(text, "/nonexistent/m.py", ALL, unsafe=False).text


def test_off_by_default_on_when_asked(tmp_path: Path) -> None:
    write(tmp_path / "m.py", "x = 1  # noqa: GL101\n")
    code, out, _ = run(["check", "--no-cache", "m.py"], tmp_path)
    assert code == 0 and "GL003" not in out
    code, out, _ = run(["check", "--no-cache", "--extend-select", "GL003", "m.py"], tmp_path)
    assert code == 1 and "m.py:1:8: GL003 [*] warning: unused suppression: no GL101 finding" in out


def test_a_file_that_does_not_parse_or_a_crashed_rule_is_not_judged(monkeypatch) -> None:
    broken = _on_bug_row("  # noqa: GL101").replace("def softmax_prime(s):", "def softmax_prime(s:")
    assert [d.code for d in check_source(broken, "/nonexistent/m.py", ALL).diagnostics] == ["GL001"]
    from gradlint.rules.overwritten_diagonal import OverwrittenDiagonal

    def crash(self, analysis):
        raise RuntimeError("boom")

    monkeypatch.setattr(OverwrittenDiagonal, "check", crash)
    report = check_source(_on_bug_row("  # noqa: GL101"), "/nonexistent/m.py", ALL)
    assert report.crashes and not [d for d in report.diagnostics if d.code == "GL003"]


def test_only_enabled_rules_are_judged_and_the_pre_check_counts() -> None:
    assert _gl003("x = 1  # noqa: GL101\n", Settings(select=("GL003",))) == []
    # no rule can fire on this text (the pre-check says so without parsing): GL101 is unused
    assert [d.message for d in _gl003("x = 1  # noqa: GL101\n", Settings(select=("GL003", "GL101")))] == [
        "unused suppression: no GL101 finding on the rows where this comment counts"
    ]


def test_a_blanket_directive_is_judged_only_when_every_rule_ran() -> None:
    assert _gl003("x = 1  # gradlint: ignore\n", Settings(select=("GL003", "GL101"))) == []
    assert len(_gl003("x = 1  # gradlint: ignore\n", Settings(select=("ALL",), ignore=("GL901",)))) == 1


def test_naming_gl003_silences_it_and_a_blanket_directive_does_not() -> None:
    assert _gl003("x = 1  # noqa: GL101, GL003\n") == []
    assert len(_gl003("x = 1  # gradlint: ignore\n")) == 1
    assert len(_gl003("# gradlint: noqa\nx = 1\n")) == 1
    assert _gl003(_on_bug_row("  # gradlint: ignore")) == []  # used: it hides the GL101


def test_the_fix_removes_what_is_unused() -> None:
    assert fixed("x = 1  # noqa: GL101\n") == "x = 1\n"
    assert fixed("x = 1  # keep this  # noqa: GL101\n") == "x = 1  # keep this\n"
    assert fixed("# gradlint: noqa: GL301\nx = 1\n") == "x = 1\n"
    assert fixed("x = 1  # noqa: E501, GL101\n") == "x = 1  # noqa: E501\n"
    assert fixed(_on_bug_row("  # noqa: GL101, GL104")) == _on_bug_row("  # noqa: GL101")
    # words after space-separated codes might be prose: reported, not rewritten
    text = "x = 1  # noqa: GL101 kept for later\n"
    assert _gl003(text) and _gl003(text)[0].fix is None and fixed(text) == text


def test_the_cache_keeps_them(tmp_path: Path) -> None:
    write(tmp_path / "m.py", "x = 1  # noqa: GL101\n")
    cold = run(["check", "--select", "ALL", "m.py"], tmp_path)
    warm = run(["check", "--select", "ALL", "m.py"], tmp_path)
    assert cold == warm and cold[0] == 1 and "GL003" in cold[1]


def test_the_fix_at_the_end_of_a_file_and_with_crlf() -> None:
    assert fixed("x = 1\n# gradlint: noqa: GL301") == "x = 1\n"
    assert fixed("x = 1  # noqa: GL101\r\ny = 2\r\n") == "x = 1\r\ny = 2\r\n"
    assert fixed("# gradlint: noqa: GL301\r\nx = 1\r\n") == "x = 1\r\n"


def test_the_registry_knows_every_rule_name_without_importing_it() -> None:
    from gradlint import registry

    assert all(registry.RULES[code].name == registry.load_rule(code).name for code in registry.all_codes())


def test_a_file_s_directives_are_read_once_for_gl003_and_suppression(monkeypatch) -> None:
    import gradlint.suppression as suppression

    reads = []
    comments = suppression._comments
    monkeypatch.setattr(suppression, "_comments", lambda text: reads.append(text) or comments(text))
    text = _on_bug_row("  # noqa: GL101") + "y = 2  # noqa: GL305\n"
    assert [d.code for d in _gl003(text)] == ["GL003"]  # the GL305 one is unused; GL101's hides its finding
    assert len(reads) == 1


def test_an_unknown_name_in_gradlint_ignore_brackets_is_reported_and_removed() -> None:
    text = _on_bug_row("  # gradlint: ignore[GL101, nope]")
    found = _gl003(text)
    assert [d.message for d in found] == ["unused suppression: `nope` is not a gradlint code or rule name"]
    assert fixed(text) == _on_bug_row("  # gradlint: ignore[GL101]")
    assert _gl003(_on_bug_row("  # noqa: GL101, nope")) == []  # a noqa comment is shared with other tools


def test_an_invalid_directive_is_reported_not_removed() -> None:
    text = _on_bug_row("  # noqa: see the docs")
    found = _gl003(text)
    assert [d.message.split(",")[0] for d in found] == ["invalid suppression: no code after the colon"]
    assert found[0].fix is None  # what it meant is unclear: no fix
    assert any(d.code == "GL101" for d in check_source(text, "/nonexistent/m.py", ALL).diagnostics)  # it hid nothing


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_the_removal_fix_works_with_every_line_ending(ending: str) -> None:
    # Rows end at CR LF, CR or LF: lone-CR files used to get no fix.
    source = ending.join([
        "import numpy as np", "", "", "def f(x):", "    return x  # noqa: GL301", "", "",
        "def g(z):", "    # gradlint: noqa: GL101", "    return z", "",
    ])
    fixed = fix_text(source, "/nonexistent/m.py", ALL, unsafe=False)
    assert len(fixed.fixed) == 2
    assert fixed.text == ending.join([
        "import numpy as np", "", "", "def f(x):", "    return x", "", "", "def g(z):", "    return z", "",
    ])
