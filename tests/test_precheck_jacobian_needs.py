"""Adversarial spellings for the needs of GL103/GL104/GL105/GL203 (registry.py): each text makes its
rule fire with the pre-check off (so the case stays meaningful), and the rule's needs must admit it.
Each one exercises one code path the needs' comments name (a parenthesised callee, a comment inside
an `if` test, CR line ends, an annotated or tuple element store, a relu-derived loss gradient, a
bare `backward(...)` call bound in the module, ...)."""

from __future__ import annotations

import pytest

from gradlint import registry
from gradlint.engine import check_text

CASES = {
    'GL103_elif_suite': '\ndef softmax_jacobian(s, flag):\n    n = len(s)\n    J = [[0.0] * n for _ in range(n)]\n    for i in range(n):\n        for j in range(n):\n            if flag: pass\n            elif i!=j: J[i][j] = -s[i] ** 2\n            else: J[i][j] = s[i] - s[i] ** 2\n    return J\n',
    'GL103_eye_only': '\nimport numpy as np\ndef softmax_jacobian(s):\n    n = len(s)\n    M = np.tile(s, (n, 1))\n    I = np.identity \\\n        (n)\n    return M * (I - M)\n',
    'GL103_loop_comment_cr': 'def softmax_jacobian(s):\r    n = len(s)\r    J = [[0.0] * n for _ in range(n)]\r    for i in range(n):\r        for j in range(n):\r            if (i\r                # same index\r                == j):  # diagonal\r                # the diagonal entry\r                (J)[i][j] = s[i] * (1 - s[i])\r            else:  # off\r                # off-diagonal\r                (J)[i][j] = s[i] * s[j]\r    return J\r',
    'GL103_loop_comment_crlf': 'def softmax_jacobian(s):\r\n    n = len(s)\r\n    J = [[0.0] * n for _ in range(n)]\r\n    for i in range(n):\r\n        for j in range(n):\r\n            if (i\r\n                # same index\r\n                == j):  # diagonal\r\n                # the diagonal entry\r\n                (J)[i][j] = s[i] * (1 - s[i])\r\n            else:  # off\r\n                # off-diagonal\r\n                (J)[i][j] = s[i] * s[j]\r\n    return J\r\n',
    'GL103_matrix_spacing': '\nimport numpy as np\ndef softmax_jacobian(s):\n    return (np . diag  # the diagonal\n            (s) + np.outer(s, s))\n',
    'GL103_paren_callee': 'import numpy as np\ndef softmax_jacobian(s):\n    return (np.diag)(s) + np.outer(s, s)\n',
    'GL103_tabs_while': 'def jac(s):\n\tn = len(s)\n\tJ = {}\n\ti = 0\n\twhile i < n:\n\t\tfor j in range(n):\n\t\t\tif i == j:\n\t\t\t\tJ[i, j] = s[i]*(1-s[i])\n\t\t\telse:\n\t\t\t\tJ[i, j] = s[j]*s[i]\n\t\ti += 1\n\treturn J\n',
    'GL104_annassign_store': '\nimport numpy as np\ndef softmax_backward(s, grad):\n    n = len(s)\n    J = np.zeros(\n        # square\n        (n, n))\n    for i in range(n):\n        for j in range(n):\n            J[i, j]: float = s[i] * ((i == j) - s[j])\n    return J * grad\n',
    'GL104_leaky': 'import numpy as np\n\n\ndef leaky(x):\n    return np.maximum(0.01 * x, x)\n\n\ndef step(x, y, s):\n    p = leaky(x)\n    g = -y / p\n    J = np.outer(s, s)\n    return J * g\n',
    'GL104_paren_callee': 'import numpy as np\nclass Softmax:\n    def backward(self, dout):\n        s = self.out\n        J = (np.outer)(s, s)\n        return J * dout\n',
    'GL104_relu_inplace': 'import numpy as np\n\n\ndef relu(x):\n    x[x <= 0] = 0\n    return x\n\n\ndef step(x, y, s):\n    p = relu(x)\n    g = -y / p\n    J = np.outer(s, s)\n    return J * g\n',
    'GL104_relu_mask': 'import numpy as np\n\n\ndef relu(x):\n    return x * (x >= - 0.0e-0  # zero\n                )\n\n\ndef step(x, y, s):\n    p = relu(x)\n    g = -y / p\n    J = np.outer(s, s)\n    return J * g\n',
    'GL104_relu_where': 'import numpy as np\n\n\ndef relu(x):\n    return np.where(x > 0x0, x, 0)\n\n\ndef step(x, y, s):\n    p = relu(x)\n    g = -y / p\n    J = np.outer(s, s)\n    return J * g\n',
    'GL104_spaced_outer': '\nimport numpy as np\nclass Softmax:\n    def backward(self, dout):\n        s = self.out\n        J = np . outer \\\n            (s, s)\n        return J * dout\n',
    'GL104_tuple_store': '\nimport numpy as np\ndef softmax_backward(s, grad):\n    n = len(s)\n    J = np.empty([n, n])\n    for i in range(n):\n        for j in range(n):\n            J[i, j], k = s[i] * ((i == j) - s[j]), 0\n    return J * grad\n',
    'GL105_multiply': 'import numpy as np\n\n\ndef softmax_backward(grad):\n    return np.multiply(grad[:, None], grad[None, :])\n',
    'GL105_square_alloc': '\nimport numpy as np\n\n\ndef jac(s):\n    n = len(s)\n    J = np.zeros((n, n))\n    for i in range(n):\n        for j in range(n):\n            if i == j:\n                J[i, j] = s[i] - np.square(s[i])\n            else:\n                J[i, j] = -np.multiply(s[i], s[j])\n    return J\n\n\ndef softmax_backward(grad):\n    return jac(grad)\n',
    'GL105_square_alloc2': '\nimport numpy as np\n\n\ndef jac(s):\n    n = len(s)\n    J = np.zeros((n, n))\n    for i in range(n):\n        for j in range(n):\n            if i == j:\n                J[i, j] = s[i] - np.square(s[i])\n            else:\n                J[i, j] = 0.0\n    return J\n\n\ndef softmax_backward(grad):\n    return jac(grad)\n',
    'GL203_bare_backward': 'import numpy as np\n\n\ndef loss(p, y):\n    return -np.sum(y * np.log(p))\n\n\ndef loss_grad(p, y):\n    return p - y\n\n\ndef backward(s, grad):\n    J = np.diag(s) - np.outer(s, s)\n    return J @ grad\n\n\ndef step(s, y):\n    return backward(s, loss_grad(s, y))\n',
    'GL203_bound_alias': 'import numpy as np\n\n\ndef loss(p, y):\n    return -np.sum(y * np.log(p))\n\n\ndef loss_grad(p, y):\n    return p - y\n\n\ndef softmax_backward(s, g):\n    J = np.diag(s) - np.outer(s, s)\n    return J @ g\n\n\ndef step(s, y):\n    gradient: object = softmax_backward\n    return gradient(s, loss_grad(s, y))\n',
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_needs_admit_what_the_rule_reports(name: str) -> None:
    code = name.split("_", 1)[0]
    text = CASES[name]
    fired = {d.code for d in check_text(text, f"/probes/{name}.py", [code], precheck=False).diagnostics}
    assert code in fired, f"{name}: the case no longer makes {code} fire"
    assert code in registry.candidates(text, [code], thorough=True), f"{name}: the needs of {code} reject a text it reports on"
