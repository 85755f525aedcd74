"""One module per rule; `gradlint.registry` maps each code to its module."""
