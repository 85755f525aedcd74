"""Tightened needs of rules that alone admitted many stdlib/numpy/scipy files (registry.py and
gradlint/precheck_predicates.py). For each: INVALID-style respellings on which the rule fires with the
pre-check off, which the needs must admit, and VALID-style texts the previous needs admitted (each
passes the rule's regex needs that were there before) that the tightened needs reject."""

from __future__ import annotations

import re

import pytest

from gradlint import registry
from gradlint.engine import check_text
from gradlint.precheck_predicates import (
    _GL402_EVIDENCE_PARTS,
    GL103_DIAGONAL_CALL,
    GL205_FORWARD_WORDS,
    GL402_CLASS_NAME,
    GL402_EVIDENCE,
    GL402_WRITE,
    _evidence_with_write_by_lines,
    _exact_evidence_with_write,
    _has_write,
    preactivation_evidence,
    reduced_array_combined,
    repeated_element_store,
    relu_or_forward_word,
    write_in_evidence_function,
)

# ---- GL205: a relu forward read only as where(x > 0, ...), x * (x > 0), (x > 0) * x, x[x < 0] = 0 ----
_RELU_FORWARDS = {
    "where": "np.where(x > 0, x, 0)",
    "where_parenthesised": "(np.where)( (x\n   # c\n   >= 0.0), x, 0 )",
    "where_leaky": "np.where(x > 0, x, 0.01 * x)",
    "where_tabs_crlf": "np.where(\tx\t>\t-0 ,\r\n x, 0)",
    "where_backslash": "np.where(x > \\\n 0, x, 0)",
    "mask_right": "x * (x > 0)",
    "mask_right_nested": "x * ((x\n > (0)))",
    "mask_left": "(x > 0) * x",
    "mask_left_comment": "(x >= 0.  # zero\n ) * x",
}
_FUNCTION = "import numpy as np\n\ndef relu(x):\n    return {}\n\ndef relu_prime(x):\n    return relu(x)\n"
_LAYER = (
    "import numpy as np\n\nclass ReLU:\n    def forward(self, x):\n        self.out = {}\n        return self.out\n\n"
    "    def backward(self, grad):\n        return grad * self.out * (1 - self.out)\n"
)
_IN_PLACE = {
    "in_place": "    x[x < 0] = 0\n",
    "in_place_parenthesised": "    x[(x) <= (-0.0)] = 0.0\n",
    "in_place_augmented": "    x[x < 0] *= 0\n",
    "in_place_chained_assignment": "    x[x < 0] = y = 0\n",
    "in_place_annotated": "    x[x < 0]: float = 0\n",
    "in_place_chained_comparison": "    x[x < 0 < 1] = 0\n",  # the need before this change rejected it
    "in_place_tuple_target": "    x[x < 0], y = 0, 1\n",
    "in_place_crlf_backslash": "    x[ x\r\n < 0 ] = \\\r\n 0\r\n",
}
_IN_PLACE_FUNCTION = "import numpy as np\n\ndef relu(x):\n{}    return x\n\ndef relu_prime(x):\n    return relu(x)\n"

GL205_FIRES = {
    **{f"{name}_function": _FUNCTION.format(forward) for name, forward in _RELU_FORWARDS.items()},
    **{f"{name}_layer": _LAYER.format(forward) for name, forward in _RELU_FORWARDS.items()},
    **{name: _IN_PLACE_FUNCTION.format(store) for name, store in _IN_PLACE.items()},
    "where_call_left_layer": _LAYER.format("np.where(f(x, 1)[0] > 0, f(x, 1)[0], 0)"),
}

GL205_REJECTED = {
    "assert_positive": "def f(n):\n    assert n > 0, 'n must be positive'\n    return 1 - n\n",
    "while_parenthesised": "def f(i):\n    while (i > 0):\n        i = i - 1\n    return i\n",
    "call_argument": "def f(n, g):\n    return g(n >= 0) - 1\n",
    "power_of_mask": "def f(x):\n    return x ** (x > 0) - 1\n",
    "augmented_mask": "def f(x, y):\n    y *= (x > 0)\n    return 1 - y\n",
    "mask_not_first": "def f(x, y):\n    return x * (y, x > 0)\n",
    "where_second_argument": "def f(c, x):\n    return np.where(c, x > 0, 0) - 1\n",
    "where_keyword": "def f(x):\n    return np.where(x, y=(x, 1 > 0)) - 1\n",
    "in_place_shift": "def f(idx, n):\n    idx[idx < 0] += n\n    return 1 - idx\n",
    "in_place_nonzero": "def f(x, n):\n    x[x < 0] = n\n    return 1 - x\n",
    "subscript_read": "def f(x):\n    return 1 - x[x < 0]\n",
}


def test_gl205_predicate_words_equal_the_registry_words() -> None:
    assert GL205_FORWARD_WORDS == registry._GL205_FORWARD_WORDS
    for word in ("np.exp (x)", "maximum(0, x)", "fmax\n(x, 0)", "np.tanh", "expit", "torch.sigmoid", "softmax"):
        assert relu_or_forward_word(f"def f(x):\n    return {word}\n")


# ---- GL402: the write and the evidence in one function (its top-level statement) ----------------------
GL402_FIRES = {
    "plain": "import numpy as np\n\ndef relu_backward(dout, x):\n    dx = dout\n    dx[x <= 0] = 0\n    return dx\n",
    "crlf_out_keyword": "import numpy as np\r\n\r\ndef softmax_backward(g, s):\r\n    np.multiply(g, s, out=g)\r\n    return g\r\n",
    "after_a_string_with_a_column_0_def": (
        'DOC = """\ndef fake():\n    pass\n"""\n\nimport numpy as np\n\n\ndef relu_backward(dout, x):\n    dout[x <= 0] = 0\n    return dout\n'
    ),
    "multi_line_decorator": (
        "import numpy as np\nimport functools\n\n\n@functools.lru_cache(\n    maxsize=None)\n"
        "def relu_backward(dout, x):\n    dout[x <= 0] = 0\n    return dout\n"
    ),
    "layer_forward_shifts_its_input": (
        "import numpy as np\n\n\nclass Softmax:\n    def forward(self, z):\n        z -= z.max(axis=1, keepdims=True)\n"
        "        e = np.exp(z)\n        self.out = e / e.sum(axis=1, keepdims=True)\n        return self.out\n"
    ),
    "second_of_two_functions": (
        "import numpy as np\n\n\ndef helper(a):\n    return a\n\n\ndef relu_backward(dout, x):\n    dout[x <= 0] = 0\n    return dout\n"
    ),
}
GL402_REJECTED = {
    "evidence_in_another_function": "def forward(x):\n    return x\n\n\ndef update(a, b):\n    a += b\n    return a\n",
    "evidence_in_the_module_docstring": '"""Uses np.exp(x) and dout."""\n\n\ndef update(a, b):\n    a += b\n    return a\n',
    "evidence_in_a_later_class": "def update(a, b):\n    a[0] = b\n    return a\n\n\nclass ForwardRef:\n    pass\n",
}


def test_gl402_predicate_patterns_equal_the_registry_and_the_rule() -> None:
    from gradlint.rules.input_mutated_in_place import EVIDENCE

    assert GL402_EVIDENCE == EVIDENCE == registry._GL402_EVIDENCE
    assert GL402_WRITE == registry._GL402_WRITE
    assert GL402_CLASS_NAME == registry._GL402_CLASS_NAME


def test_gl402_fast_searches_agree_with_the_patterns() -> None:
    """_has_write is GL402_WRITE searched piece by piece; the evidence parts start wherever the combined
    evidence pattern's matches do (on the rule cases, the fixtures and some stdlib modules)."""
    combined = re.compile(GL402_EVIDENCE + "|" + GL402_CLASS_NAME)
    for text in _corpus_texts():
        for start in range(0, len(text), max(1, len(text) // 7)):
            end = min(len(text), start + max(1, len(text) // 5))
            assert _has_write(text, start, end) == (re.compile(GL402_WRITE).search(text, start, end) is not None)
        starts = {match.start() for part in _GL402_EVIDENCE_PARTS for match in part.finditer(text)}
        assert {match.start() for match in combined.finditer(text)} <= starts


def test_gl402_raw_lines_never_reject_what_the_exact_reading_admits() -> None:
    """The predicate rejects only on the exact reading; both agree on admitting the corpus' functions."""
    for text in _corpus_texts():
        if _evidence_with_write_by_lines(text):
            continue
        assert write_in_evidence_function(text) == _exact_evidence_with_write(text)


# ---- GL103: a diagonal call in code, or the element loop's If/else of two one-Assign bodies -------------
_LOOP = "def softmax_jacobian(s):\n    n = len(s)\n    J = [[0.0] * n for _ in range(n)]\n    for i in range(n):\n        for j in range(n):\n{}    return J\n"
GL103_FIRES = {
    "one_line_suites_with_semicolons": _LOOP.format(
        "            if i == j: J[i][j] = s[i] * (1 - s[i]);\n            else: J[i][j] = s[i] * s[j];  # off\n"
    ),
    "target_spacing_differs": _LOOP.format(
        "            if i != j:\n                J[i,  j] = s[i] * s[j]\n            else:\n                J[i, j] = s[i] * (1 - s[i])\n"
    ),
    "comment_lines_between": _LOOP.format(
        "            if i == j:\n                # diagonal\n                J[i][j] = s[i] * (1 - s[i])\n"
        "            # the rest\n            else:\n\n                J[i][j] = s[i] * s[j]\n"
    ),
    "matrix_after_a_doctest": (
        'import numpy as np\n\n\ndef softmax_jacobian(s):\n    """\n    >>> np.eye(2)\n    """\n'
        "    return np.diag(s) + np.outer(s, s)\n"
    ),
}
GL103_REJECTED = {
    "if_without_else": (
        "def f(v, v2, result, k):\n    for x in v:\n        if v != v2:\n            result[k] = v2\n"
        "    if k:\n        pass\n    else:\n        result[0] = 1\n    return result * 2\n"
    ),
    "comparison_with_a_number": (
        "def f(table, idx, code):\n    for k in code:\n        if idx == 0:\n            table[k] = 1\n"
        "        else:\n            code[k] = table[k] * 2\n    return table\n"
    ),
    "two_statements_in_the_body": (
        "def f(J, n):\n    for i in range(n):\n        for j in range(n):\n            if i == j:\n                J[i][j] = 1\n"
        "                n = n * 2\n            else:\n                J[i][j] = 0\n    return J\n"
    ),
    "different_targets": (
        "def f(J, K, n):\n    for i in range(n):\n        for j in range(n):\n            if i == j:\n                J[i][j] = 1 * i\n"
        "            else:\n                K[i][j] = 0\n    return J\n"
    ),
    "a_call_statement_not_a_store": (
        "def f(stack, u, uri):\n    for k in u:\n        if u == uri:\n            stack[-1].append(k * 2)\n"
        "        else:\n            stack[k] = 1\n    return stack\n"
    ),
    "identity_defined_not_called": "def identity(string):\n    return string * 2\n\n\nfor x in []:\n    pass\n",
    "diagonal_call_in_comments_and_doctests": (
        'def f(a):\n    """\n    >>> np.eye(2) @ a\n    """\n    # np.diag(a) * 2\n    for x in a:\n        pass\n    return a\n'
    ),
    "diagonal_call_in_prose": (
        'def f(a):\n    """The result is an identity (this is so for floats), a * b."""\n    for x in a:\n        pass\n    return a\n'
    ),
}


@pytest.mark.parametrize("name", sorted(GL103_REJECTED))
def test_gl103_needs_reject_what_is_no_diagonal_call_or_index_branch(name: str) -> None:
    text = GL103_REJECTED[name]
    assert not {d.code for d in check_text(text, f"/probes/{name}.py", ["GL103"], precheck=False).diagnostics}
    assert "GL103" not in registry.candidates(text, ["GL103"], thorough=True)
    # every one passes GL103's needs as they were before this change (the first three, with `\w+` names)
    before = (
        r"\b(?:diag|diagflat|eye|identity)" + registry._GL103_CALL_GAP + r"\(|" + registry._GL103_INDEX_BRANCH.replace(r"(?!\d)", ""),
        r"[*@]|outer|dot|einsum|multiply|matmul|square",
        r"\b(?:diag|diagflat|eye|identity)" + registry._GL103_CALL_GAP + r"\(|" + registry._GL103_ELSE_STORE,
        r"\bfor\b|\bwhile\b",
    )
    assert all(re.search(need, text) for need in before), f"{name}: the needs before this change rejected it already"


def test_gl103_predicate_pattern_equals_the_registry() -> None:
    assert GL103_DIAGONAL_CALL == registry._GL103_DIAGONAL_CALL


def _corpus_texts() -> list:
    import sysconfig
    from pathlib import Path

    texts = [case.source for code in registry.all_codes() if code not in registry.ENGINE_CODES
             for kind in ("VALID", "INVALID") for case in getattr(registry.load_rule(code), kind)]
    texts += [path.read_text(encoding="utf-8") for path in sorted((Path(__file__).resolve().parent.parent / "fixtures").rglob("*.py"))]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in ("typing.py", "fractions.py", "abc.py", "argparse.py", "json/decoder.py"):
        if (stdlib / name).exists():
            texts.append((stdlib / name).read_text(encoding="utf-8"))
    return texts


def test_the_new_predicates_stay_fast_on_hostile_texts() -> None:
    """The predicates' regexes and scans on shapes that make ambiguous repeats or rescans blow up (the
    shapes of tests/test_precheck.py plus runs of this module's own tokens), under a time limit."""
    import signal

    from gradlint.precheck_predicates import diagonal_call_or_index_branch

    texts = [
        "from m import (\n" + "    name_0,  # a comment, with words: exp log sum # more\n" * 3000 + ")\n",
        "x = f(\n" + "    a,  # ( [ { #### \\ e ** 2 / (1 - p)\n" * 3000 + ")\n",
        "#" * 20000 + "\n",
        "y = " + " * ".join(["x"] * 5000) + "\n",
        "z = x * " + "(" * 3000 + "x > 0" + ")" * 3000 + " * x\n",
        "z = " + "x > 0 " * 5000 + ")" * 5000 + "\n",
        "w = np.where(" + "where(" * 3000 + "x > 0, 1, 0" + ")" * 3001 + "\n",
        "y = x * (" + "a, " * 5000 + "x > 0)\n",
        "x[" + "(" * 3000 + "x" + ")" * 3000 + " < 0] = " + "y = " * 3000 + "0\n",
        "x[x < 0]" + " " * 50000 + "\n",
        "if " + " == ".join(["a"] * 3000) + ":\n    J[i] = 1\n",
        "for i in r:\n" + "    if i == j:\n        J[i] = 1\n    else:\n        J[i] = 2\n" * 2000,
        "def f(dout):\n    pass\n" + "@d\n" * 5000 + "def g(x):\n    x += 1\n",
        "\n".join(f"def f{n}(x):\n    x += 1" for n in range(3000)) + "\nclass Forward:\n    pass\n",
        '"""' + "\ndef fake():\n    exp(1)\n" * 3000 + '"""\ndef g(x):\n    x += 1\n',
        "\\\n" * 5000 + "exp\n",
        "x = " + "x.sum(axis=1)." * 3000 + "max(1)\n" + "x - 1\n",
        "y = np.sum(" + "(" * 3000 + "x" + ")" * 3000 + ", axis=1)\n" + "x / 2\n",
        "".join(f"v{n} / np.sum(v{n + 1}, axis=1)\n" for n in range(3000)),
        "for i in r:\n    " + "d['\\\\'][i] = 1; " * 5000 + "\n",
        "for i in r:\n    " + "x = '\"\"\"'; " * 3000 + "d['\\\\'][i] = 1\n" + "    d['\\\\'][i] = 1\n" * 2000,
        "for i in r:\n" + ("    " + "\"\"\"" * 8 + "; d[i] = 1\n") * 3000,
        ("x = " + " " * 1000 + ".where(\n" + " " * 1000 + "\\\n dot(") * 200,
        "z = " + ".".join(["a"] * 5000) + ".where(x)\n" + "y = self . where (\n" * 3000,
    ]
    predicates = (
        relu_or_forward_word, write_in_evidence_function, diagonal_call_or_index_branch, reduced_array_combined,
        repeated_element_store, preactivation_evidence,
    )

    class Slow(BaseException):  # not an Exception: the predicates admit on any Exception
        pass

    def stop(signum: int, frame: object) -> None:
        raise Slow

    previous = signal.signal(signal.SIGALRM, stop)
    slow = []
    try:
        for predicate in predicates:
            for number, text in enumerate(texts):
                signal.alarm(5)
                try:
                    predicate(text)
                except Slow:
                    slow.append((predicate.__name__, number))
                finally:
                    signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert not slow, f"predicates that took over 5 s on a text (predicate, text number): {slow}"


# ---- GL401: the reduction's operand (or a factor of it) is the left side of the `-` / `/` -------------
GL401_FIRES = {
    "method": "import numpy as np\n\ndef softmax(x):\n    e = np.exp(x - x.max(axis=1))\n    return e / e.sum(axis=1, keepdims=True)\n",
    "through_a_binding": "import numpy as np\n\ndef normalise(x):\n    s = np.sum(x, axis=1)\n    return x / s\n",
    "factor_of_a_product": "import numpy as np\n\ndef weighted(x, w):\n    return x / (x * w).sum(axis=1)\n",
    "augmented": "import numpy as np\n\ndef center(x):\n    x -= np.mean(x, axis=-1)\n    return x[:, 0]\n",
    "blanks_differ_in_amount": "import numpy as np\n\ndef center(x):\n    return x[:,  0] - np.mean(x[:, 0], axis=1)\n",
    "norm_first_argument": "import numpy as np\n\ndef unit(a):\n    return a / np.linalg.norm(a, axis=1)\n",
    "operator_on_the_next_line": "import numpy as np\n\ndef center(x):\n    return (x\n            - x.max(axis=1))\n",
    "crlf_comment": "import numpy as np\r\n\r\ndef center(x):\r\n    return (x  # rows\r\n            / x.sum(axis=1))\r\n",
}
GL401_REJECTED = {
    "reduction_is_the_left_side": "import numpy as np\n\ndef mean_rows(x, n):\n    return np.sum(x, axis=1) / n\n",
    "another_array": "import numpy as np\n\ndef f(x, y):\n    return y - x.max(axis=1)\n",
    "floor_division": "import numpy as np\n\ndef f(x):\n    return x // np.max(x, axis=1)\n",
    "keyword_first_argument": "import numpy as np\n\ndef f(a, b):\n    return b - np.sum(axis=1, a=a)\n",
    "attribute_of_the_name": "import numpy as np\n\ndef f(self, x):\n    return self.x - x.max(axis=1)\n",
}


def test_gl401_predicate_names_are_the_rules_reductions() -> None:
    from gradlint.analysis.numerics import REDUCTIONS
    from gradlint.precheck_predicates import _GL401_NAMES
    from gradlint.rules.reduction_without_keepdims import _REDUCING

    assert set(_GL401_NAMES) == set(_REDUCING) == REDUCTIONS | {"norm", "logsumexp"}


# ---- GL201: dot/matmul/where count only as the attribute calls semantics reads ------------------------
_GL201_AFFINE = (
    "import numpy as np\n\ndef sigmoid_prime(s):\n    return s * (1 - s)\n\n"
    "def backprop(W, b, x, grad):\n    z = {} + b\n    return grad * sigmoid_prime(z)\n"
)
GL201_FIRES = {
    "dot_method_one_argument": _GL201_AFFINE.format("x.dot(W)"),
    "dot_spaced": _GL201_AFFINE.format("np . dot(W, x)"),
    "dot_parenthesised_callee": _GL201_AFFINE.format("(np.dot)(W, x)"),
    "dot_after_a_comment": _GL201_AFFINE.format("(np.  # the library\n         dot)(W, x)"),
    "dot_crlf_tabs": _GL201_AFFINE.format("(np.\n\tdot)\t(W, x)").replace("\n", "\r\n"),
    "matmul_nested_head": _GL201_AFFINE.format("numpy.linalg.matmul(W, x)"),
    "matmul_torch": _GL201_AFFINE.format("torch.matmul(W, x)"),
    "matmul_parenthesised_head": _GL201_AFFINE.format("(np).matmul(W, x)"),
    "matmul_backslash": _GL201_AFFINE.format("xp.matmul \\\n(W, x)"),
    "matmul_head_across_lines": _GL201_AFFINE.format("(jnp\n         .matmul)(W, x)"),
}
GL201_REJECTED = {  # each passes the regex needs (a `dot(`, `matmul(` or `where(` call in code)
    "bare_dot_turtle": "from turtle import dot\n\ndef draw(x):\n    dot(5)\n    return x * (1 - x)\n",
    "bare_dot_imported": _GL201_AFFINE.format("dot(W, x)").replace("import numpy as np", "from numpy import dot"),
    "matmul_of_an_object": _GL201_AFFINE.format("obj.matmul(W, x)"),
    "where_method_tkinter": "class Source:\n    def where(self, canvas, event):\n        return event.x - canvas.x\n\n"
    "    def press(self, canvas, event):\n        x, y = self.where(canvas, event)\n        return x * (1 - x)\n",
}


def test_gl201_head_names_are_the_library_prefixes_last_names() -> None:
    from gradlint.analysis.semantics import _LIBRARY_PREFIXES
    from gradlint.precheck_predicates import GL201_HEAD_NAMES

    assert GL201_HEAD_NAMES == {prefix.rsplit(".", 1)[-1] for prefix in _LIBRARY_PREFIXES} | {"np", "numpy", "torch", "scipy"}


# ---- GL101: store targets holding strings with escapes or quotes; triple quotes before a store --------
_GL101_LOOP = "def f(n, p):\n    d = {{}}\n    for i in range(n):\n{}    return d\n"
GL101_FIRES = {
    "escaped_key": _GL101_LOOP.format("        d['\\\\'][i] = 0\n        d['\\\\'][i] = 1\n"),
    "quote_in_key": _GL101_LOOP.format("        d[p + \"'\"][i] = 0\n        d[p + \"'\"][i] = 1\n"),
    "triple_quote_in_key": _GL101_LOOP.format("        d[p + '\"\"\"'][i] = 0\n        d[p + '\"\"\"'][i] = 1\n"),
    "one_line_suite_escaped": _GL101_LOOP.format("        if i: d['\\\\'][i] = 0; d['\\\\'][i] = 1\n"),
    "after_a_string_ending_on_the_line": _GL101_LOOP.format("        x = '''doc\n'''; d[i] = 0\n        d[i] = 1\n"),
    "escaped_after_a_string_end": _GL101_LOOP.format("        x = '''doc\n'''; d['\\\\'][i] = 0\n        d['\\\\'][i] = 1\n"),
    "escaped_crlf": _GL101_LOOP.format("        d['\\\\'][i] = 0\n        d['\\\\'][i] = 1\n").replace("\n", "\r\n"),
    "escaped_tabs_blank_before_index": _GL101_LOOP.format("        d['\\\\'] [i] = 0\n        d['\\\\'] [i] = 1\n").replace("    ", "\t"),
    "base_continued_by_a_backslash": _GL101_LOOP.format("        d \\\n[i] = 0\n        d \\\r\n  [i] = 1\n"),  # rejected before this change
    "parenthesised_escaped": _GL101_LOOP.format("        (d['\\\\'][i]) = 0\n        (d['\\\\'][i]) = 1\n"),
}
GL101_REJECTED = {  # each passes the regex needs; the previous predicate could not read them (admitted)
    "docstrings_imaplib": "class C:\n    def a(self):\n        \"\"\"(typ, [data]) = <instance>.a()\"\"\"\n"
    "        for data in self.x:\n            pass\n\n    def b(self):\n        \"\"\"(typ, [data]) = <instance>.b()\n\n"
    "        more\"\"\"\n        return 1\n",
    "one_escaped_store_http_server": "t = {}\nfor c in range(32):\n    t[c] = 1\nt[ord('\\\\')] = r'\\\\'\n",
    "distinct_quoted_keys_tokenize": "endpats = {}\nfor p in prefixes:\n    endpats[p + \"'\"] = 1\n    endpats[p + '\"'] = 2\n"
    "    endpats[p + \"'''\"] = 3\n    endpats[p + '\"\"\"'] = 4\n",
}


# ---- the same two checks for every tightened rule ------------------------------------------------------
FIRES = {
    "GL205": GL205_FIRES, "GL402": GL402_FIRES, "GL103": GL103_FIRES, "GL401": GL401_FIRES, "GL201": GL201_FIRES,
    "GL101": GL101_FIRES,
}
# rejected by the rule's new predicate alone: the texts pass its regex needs
REJECTED_BY_PREDICATE = {
    "GL205": (GL205_REJECTED, relu_or_forward_word),
    "GL402": (GL402_REJECTED, write_in_evidence_function),
    "GL401": (GL401_REJECTED, reduced_array_combined),
    "GL201": (GL201_REJECTED, preactivation_evidence),
    "GL101": (GL101_REJECTED, repeated_element_store),
}


@pytest.mark.parametrize(("code", "name"), [(code, name) for code, cases in FIRES.items() for name in sorted(cases)])
def test_the_needs_admit_every_spelling_the_rule_reports(code: str, name: str) -> None:
    text = FIRES[code][name]
    fired = {d.code for d in check_text(text, f"/probes/{name}.py", [code], precheck=False).diagnostics}
    assert code in fired, f"{name}: the case no longer makes {code} fire"
    assert code in registry.candidates(text, [code], thorough=True), f"{name}: {code}'s needs reject it"


@pytest.mark.parametrize(
    ("code", "name"), [(code, name) for code, (cases, _) in REJECTED_BY_PREDICATE.items() for name in sorted(cases)]
)
def test_the_predicate_rejects_what_the_rule_does_not_report(code: str, name: str) -> None:
    cases, predicate = REJECTED_BY_PREDICATE[code]
    text = cases[name]
    regex_needs = [need for need in registry.RULES[code].needs if not need.startswith("predicate:")]
    assert all(re.search(need, text) for need in regex_needs), f"{name}: the regex needs reject it already"
    assert not {d.code for d in check_text(text, f"/probes/{name}.py", [code], precheck=False).diagnostics}
    assert not predicate(text)
    assert code not in registry.candidates(text, [code], thorough=True)
