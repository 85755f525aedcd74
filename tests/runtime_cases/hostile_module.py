"""A module whose top-level code must never run: it prints, writes a file,
exits and loops forever. Only the definitions the targets need are extracted."""

import sys

import numpy as np

print("training for 1000 epochs...")
with open("gradlint_runtime_touched.txt", "w") as handle:
    handle.write("top-level code ran\n")

SCALE = 1.0


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_prime(s):  # runtime: passed
    print("computing the derivative")  # prints are swallowed
    return SCALE * s * (1 - s)


if __name__ == "__main__":
    sys.exit(3)

while True:
    pass
