"""The `gradlint` command (`python -m gradlint`, and the console script's `main`): the start-up
caches first, so that what the command imports compiles through them, then the CLI. Importing
`gradlint.cli` alone (tests, embedding) leaves `dataclasses` and `re` as they are."""

from gradlint._startup import install_code_caches

install_code_caches()  # dataclass methods and regexes compiled once, not in every run (start-up time)

from gradlint.cli import run  # noqa: E402


def main() -> None:
    """The console script's entry point."""
    run()


if __name__ == "__main__":
    run()
