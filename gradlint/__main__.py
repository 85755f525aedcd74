"""`python -m gradlint`."""

from gradlint.cli import run

if __name__ == "__main__":
    run()
