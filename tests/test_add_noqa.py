"""`gradlint check --add-noqa`: a directive for every finding not yet suppressed (ruff's --add-noqa)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gradlint import noqa
from gradlint.api import check_source
from gradlint.settings import Settings

from tests.test_settings import BUG_ROW, BUGGY, run, write

# GL102 (a softmax derivative without the off-diagonal terms) on a statement spanning three rows.
SPANNING = textwrap.dedent(
    """\
    import numpy as np

    def softmax(z):
        e = np.exp(z - z.max())
        return e / e.sum()

    def softmax_grad(z):
        s = softmax(z)
        return (s *
                (1 - s))
    """
)


def _added(text: str, tmp_path: Path) -> tuple[str, int, object]:
    return noqa.add_directives(text, str(tmp_path / "m.py"), Settings())


def test_a_directive_silences_each_finding_and_the_second_run_adds_nothing(tmp_path: Path) -> None:
    assert check_source(BUGGY, str(tmp_path / "m.py")).diagnostics
    new, added, problem = _added(BUGGY, tmp_path)
    assert added == 1 and problem is None
    assert new.splitlines()[BUG_ROW - 1].endswith("  # noqa: GL101")
    buggy_line = BUGGY.splitlines()[BUG_ROW - 1]
    assert [line for line in new.splitlines() if "noqa" not in line] == [line for line in BUGGY.splitlines() if line != buggy_line]
    assert check_source(new, str(tmp_path / "m.py")).diagnostics == ()
    assert _added(new, tmp_path) == (new, 0, None)


def test_existing_comments_are_kept_and_noqa_codes_extended(tmp_path: Path) -> None:
    lines = BUGGY.splitlines()
    with_comment = "\n".join(lines[: BUG_ROW - 1] + [lines[BUG_ROW - 1] + "  # off-diagonal"] + lines[BUG_ROW:]) + "\n"
    new, added, _ = _added(with_comment, tmp_path)
    assert added == 1 and new.splitlines()[BUG_ROW - 1].endswith("# off-diagonal  # noqa: GL101")
    with_noqa = "\n".join(lines[: BUG_ROW - 1] + [lines[BUG_ROW - 1] + "  # noqa: E501 keep"] + lines[BUG_ROW:]) + "\n"
    new, added, _ = _added(with_noqa, tmp_path)
    assert added == 1 and new.splitlines()[BUG_ROW - 1].endswith("# noqa: E501, GL101 keep")  # codes first, the words after
    assert check_source(new, str(tmp_path / "m.py")).diagnostics == ()


def test_a_spanning_statement_gets_it_where_a_comment_can_end_the_line(tmp_path: Path) -> None:
    found = check_source(SPANNING, str(tmp_path / "m.py")).diagnostics
    assert found, "the example must have a finding"
    new, added, problem = _added(SPANNING, tmp_path)
    assert added == 1 and problem is None and new.splitlines()[8].endswith("(s *  # noqa: GL102")
    assert check_source(new, str(tmp_path / "m.py")).diagnostics == ()
    continued = SPANNING.replace("(s *\n", "s * \\\n").replace("        (1 - s))", "        (1 - s)")
    assert check_source(continued, str(tmp_path / "m.py")).diagnostics
    new, added, _ = _added(continued, tmp_path)
    # never after the backslash: the statement's last row takes it
    assert added == 1 and new.splitlines()[9].endswith("(1 - s)  # noqa: GL102") and "\\  #" not in new
    assert check_source(new, str(tmp_path / "m.py")).diagnostics == ()


def test_the_cli_writes_files_keeping_crlf_and_reports_the_count(tmp_path: Path) -> None:
    target = tmp_path / "crlf.py"
    target.write_bytes(BUGGY.replace("\n", "\r\n").encode())
    write(tmp_path / "clean.py", "x = 1\n")
    code, out, err = run(["check", "--add-noqa", "."], tmp_path)
    assert code == 0 and out == "" and "Added 1 noqa directive." in err
    data = target.read_bytes()
    assert data.count(b"\r\n") == BUGGY.count("\n") and b"\n" not in data.replace(b"\r\n", b"")
    assert b"# noqa: GL101\r\n" in data
    assert (tmp_path / "clean.py").read_text() == "x = 1\n"
    code, _, err = run(["check", "--no-cache", "."], tmp_path)
    assert code == 0, err
    code, _, err = run(["check", "--add-noqa", "--fix", "."], tmp_path)
    assert code == 2 and "cannot be combined" in err


@pytest.mark.parametrize("ending", ["\r", "mixed"])
def test_cr_only_and_mixed_line_endings_get_their_directives(tmp_path: Path, ending: str) -> None:
    # Rows end at CR LF, CR or LF, for suppression as for the engine: such files used to be refused.
    lines = BUGGY.split("\n")
    endings = ["\r", "\r\n", "\n"] if ending == "mixed" else ["\r"]
    text = "".join(line + endings[i % len(endings)] for i, line in enumerate(lines[:-1])) + lines[-1]
    target = tmp_path / "cr.py"
    target.write_bytes(text.encode())
    assert check_source(text, str(target)).diagnostics
    outcome = noqa.add_noqa_file(target, Settings())
    assert outcome.added >= 1 and outcome.problem is None
    written = target.read_bytes().decode()
    assert not check_source(written, str(target)).diagnostics
    assert written.replace("\r", "").count("\n") == text.replace("\r", "").count("\n")  # no line break added
    assert [len(part) for part in written.split("\r")[:3]] == [len(part) for part in text.split("\r")[:3]]


def test_the_json_noqa_row_is_where_add_noqa_puts_the_comment(tmp_path: Path) -> None:
    # a finding on a line ending in a backslash: ruff's noqa_row is the row a comment can end
    source = (
        "import numpy as np\n\n\ndef softmax(z):\n    e = np.exp(z - np.max(z, axis=1, keepdims=True))\n"
        "    return e / e.sum(axis=1, keepdims=True)\n\n\ndef softmax_prime(s):\n    return s * (1 - s)\n\n\n"
        "def layer(W, x, b):\n    Z = W @ x + b\n    A = softmax(Z)\n    dZ = softmax_prime(Z) \\\n        .copy()\n    return A, dZ\n"
    )
    found = [d for d in check_source(source, str(tmp_path / "m.py")).diagnostics if d.code == "GL201"]
    assert [(d.start.row, d.noqa_row) for d in found] == [(16, 17)]
    new, added, _ = _added(source, tmp_path)
    assert added == 1 and new.splitlines()[16].endswith(".copy()  # noqa: GL201")


@pytest.mark.parametrize(
    "comment, expected",
    [
        ("# noqa:", "# noqa: GL301"),  # an invalid directive gets the code it lacked
        ("# noqa: see docs", "# noqa: GL301 see docs"),
        ("# gradlint: noqa: GL101", "# gradlint: noqa: GL101, GL301"),  # the directive suppression reads
    ],
)
def test_add_noqa_completes_the_directive_a_line_already_has(tmp_path: Path, comment: str, expected: str) -> None:
    source = (
        "import numpy as np\n\n\ndef softmax(logits):\n"
        f"    exps = np.exp(logits)  {comment}\n    return exps / np.sum(exps, axis=1, keepdims=True)\n"
    )
    new, added, problem = _added(source, tmp_path)
    assert (added, problem) == (1, None) and new.splitlines()[4].endswith(expected)


def test_an_unused_directive_gets_no_directive_and_does_not_block_the_file(tmp_path: Path) -> None:
    # With GL003 enabled, a noqa naming GL003 beside an unused directive is one more directive (read
    # after the first, it hides nothing): it used to make the whole file refused.
    text = (
        "import numpy as np\n\n\ndef f(x):\n    return x  # gradlint: noqa\n\n\n"
        "def softmax(x):\n    return np.exp(x) / np.sum(np.exp(x))\n"
    )
    new_text, added, problem = noqa.add_directives(text, str(tmp_path / "m.py"), Settings(select=("ALL",)))
    assert (added, problem) == (1, None)
    assert new_text.splitlines()[4] == "    return x  # gradlint: noqa"
    assert new_text.splitlines()[8].endswith("  # noqa: GL301")
