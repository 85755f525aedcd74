"""Checking from several threads at once (an editor's server, a test's thread pool) neither
hangs nor starts more than one deep-stack thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

from gradlint.analysis.cached import cached_property


class _Node:
    """Two kinds of lazily worded evidence that ask each other, as semantics' roles do."""

    barrier: threading.Barrier

    def __init__(self, other: "_Node | None" = None) -> None:
        self.other = other

    @cached_property
    def why(self) -> str:
        self.barrier.wait(timeout=5)  # both threads hold a property being computed
        return "why:" + (self.other.explanation if self.other is not None else "")

    @cached_property
    def explanation(self) -> str:
        self.barrier.wait(timeout=5)
        return "explanation:" + (self.other.why if self.other is not None else "")


def test_nested_cached_properties_on_two_threads_do_not_deadlock() -> None:
    # functools.cached_property (Python < 3.12) holds one lock per property for every instance:
    # thread A computing x.why waits for `explanation`'s lock, held by thread B computing
    # y.explanation, which waits for `why`'s lock. A check pool hung so for ever.
    _Node.barrier = threading.Barrier(2)
    x, y = _Node(_Node()), _Node(_Node())
    results: dict[str, str] = {}
    threads = [
        threading.Thread(target=lambda: results.__setitem__("a", x.why), daemon=True),
        threading.Thread(target=lambda: results.__setitem__("b", y.explanation), daemon=True),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not any(thread.is_alive() for thread in threads), "deadlock"
    assert results == {"a": "why:explanation:", "b": "explanation:why:"}
    assert x.__dict__["why"] == "why:explanation:"  # kept: the next access is a plain attribute


def test_concurrent_callers_share_one_deep_stack_thread() -> None:
    script = textwrap.dedent(
        """
        import threading
        from gradlint import engine
        text = '''
        import numpy as np

        def softmax_jacobian(z):
            s = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
            J = np.zeros((len(s), len(s)))
            for i in range(len(s)):
                for j in range(len(s)):
                    if i == j:
                        J[i][j] = s[i] * (1 - s[i])
                    J[i][j] = -s[i] * s[j]
            return J
        '''
        barrier = threading.Barrier(8)
        found = []
        def check():
            barrier.wait()
            result = engine.check_text(text, '/tmp/t.py', ['GL101'])
            found.append(tuple((d.code, d.start.row) for d in result.diagnostics))
        threads = [threading.Thread(target=check) for _ in range(8)]
        for thread in threads: thread.start()
        for thread in threads: thread.join(timeout=60)
        print(sum(t.name == 'gradlint-check' for t in threading.enumerate()), len(set(found)), found[0])
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    threads, distinct, first = done.stdout.split(" ", 2)
    assert threads == "1"
    assert distinct == "1" and "GL101" in first
