"""Input of the end-to-end output-format snapshots (tests/test_output_formats.py).

Kept under tests/data, which the project's own config excludes from `gradlint check .`.
"""

import numpy as np


class Softmax:
    def forward(self, x):
        e = np.exp(x - np.max(x))
        self.out = e / np.sum(e)
        return self.out

    def backward(self, grad):
        s = self.out
        n = len(s)
        J = np.zeros((n, n))
        for i in range(n):
            for j in range(n):
                if i == j:
                    J[i, j] = s[i] * (1 - s[i])
                    J[i, j] = -s[i] * s[j]
        return J @ grad


def jacobian(s):
    J = np.empty((len(s), len(s)))
    k = 0
    while k < len(s):
        for l in range(len(s)):
            if k == l:
                J[k][l] = s[k] - s[k] ** 2
            J[k][l] = -s[k] * s[l]
        k += 1
    return J
