"""docs/rules/*.md are generated from the rule modules and must be up to date;
every diagnostic's `url` points at its rule's page in the repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gradlint import docs, registry
from gradlint.api import check_source
from gradlint.settings import Settings

REPO = Path(__file__).resolve().parent.parent
HINT = "regenerate the rule docs with `python -m gradlint.docs` and commit docs/rules/"


def test_docs_folder_is_the_repository_one() -> None:
    assert docs.DOCS_DIR == REPO / "docs" / "rules"


def test_rule_pages_are_up_to_date() -> None:
    drift = docs.drift()
    assert not drift, f"{drift.describe()}: {HINT}"


@pytest.mark.parametrize("code", registry.all_codes())
def test_url_points_at_the_rule_page(code: str) -> None:
    url = registry.RULES[code].url
    assert url == registry.DOCS_URL.format(code=code)
    tail = f"/docs/rules/{docs.page_name(code)}"
    assert url.endswith(tail), url
    page = REPO / tail.lstrip("/")
    assert page.is_file(), f"{page} is missing: {HINT}"
    rule = registry.load_rule(code)
    assert rule.documentation() in page.read_text(encoding="utf-8")


def test_diagnostics_carry_the_page_url() -> None:
    source = "for i in range(n):\n    for j in range(n):\n        if i == j:\n            J[i][j] = 1\n            J[i][j] = 2\n"
    found = check_source(source, "x.py", Settings(select=("GL101",))).diagnostics
    assert found and all(d.url == registry.RULES[d.code].url for d in found)


def test_index_lists_every_rule() -> None:
    text = (docs.DOCS_DIR / docs.INDEX).read_text(encoding="utf-8")
    for code in registry.all_codes():
        assert f"[{code}]({docs.page_name(code)})" in text


def test_generator_writes_checks_and_prunes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "rules"
    assert docs.main(["--check", "--output", str(folder)]) == 1
    assert "missing" in capsys.readouterr().err
    assert docs.main(["--output", str(folder)]) == 0
    assert docs.main(["--check", "--output", str(folder)]) == 0
    page = folder / docs.page_name("GL101")
    page.write_text(page.read_text(encoding="utf-8") + "hand edit\n", encoding="utf-8")
    (folder / "GL999.md").write_text("# a rule that no longer exists\n", encoding="utf-8")
    found = docs.drift(folder)
    assert found.stale == ("GL101.md",) and found.extra == ("GL999.md",)
    assert docs.main(["--check", "--output", str(folder)]) == 1
    docs.write(folder)
    assert not docs.drift(folder) and not (folder / "GL999.md").exists()


def test_generator_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gradlint.docs", "--check"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr + HINT


def test_readme_rule_table_matches_the_rule_modules() -> None:
    """README.md's rule table is the generated index with links into docs/rules/."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    index = (docs.DOCS_DIR / docs.INDEX).read_text(encoding="utf-8")
    rows = [line for line in index.splitlines() if line.startswith("| [GL")]
    assert len(rows) == len(registry.all_codes())
    for row in rows:
        assert row.replace("](GL", "](docs/rules/GL") in readme, f"README.md's rule table is stale: {row}"
