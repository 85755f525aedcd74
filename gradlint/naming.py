"""Names by convention: what a parameter's or attribute's name says it holds.

Static rules and the runtime checker read the same conventions from here. A name is only ever
supporting evidence: the rules decide what a function computes from its body.
"""

from __future__ import annotations

import re

# an upstream gradient handed to a backward (`dout`, `grad_output`, `dL_dy`)
GRADIENT_PARAMS = frozenset(
    {
        "grad", "grads", "gradient", "gradients", "dout", "d_out", "dvalues", "delta", "deltas", "output_error",
        "output_gradient", "output_grad", "grad_output", "grad_out", "out_grad", "upstream", "upstream_grad",
        "da", "d_a", "dy", "dh", "dz", "error", "err", "dl_dy", "dl_da", "de_dy", "de_da", "dldy", "dloss",
        "prev_grad", "next_grad", "accum_grad", "top_diff", "chain_grad", "incoming_grad", "g",
    }
)

# the targets of a loss (`y`, `y_true`, `labels`, `one_hot`), as a whole name
TARGET_NAME = re.compile(
    r"^(?:y|t|ys|yt|yb|y_?b|targets?|labels?|y_?true|true|truth|expected|actual|ground_?truth|gt|y_?train|y_?batch|"
    r"one_?hot|y_?one_?hot|y_?hot|desired|target_?output|y_?target|y_?actual|y_?gt|answers?)$",
    re.IGNORECASE,
)
# a word that marks a name as holding targets wherever it stands (`batch_labels`, `targets_onehot`)
_TARGET_WORD = re.compile(r"target|label|one_?hot|truth", re.IGNORECASE)


# the gradient a cost function returns beside its value (`return J, grad`; `dtheta`, `dJ_dw`, `theta_grad`)
RETURNED_GRADIENT = re.compile(
    r"^(?:d_?(?:w|theta|params?|weights?|j)|dj_?d(?:w|theta)|grad\w*|\w*_grad(?:ient)?|gradient)$", re.IGNORECASE
)

# a gradient word inside a longer name (`grad_from_next`, `output_delta`)
_GRADIENT_WORD = re.compile(r"grad|delta|err|upstream|diff|dout|dvalue|incoming|deriv|sensitiv|adjoint|cotangent", re.IGNORECASE)
# a `d`-prefixed short or layer-value name (`dx`, `d_inputs`, `dnext_h`, `dA_prev`), a Leibniz quotient
# (`dLdA`, `dE_dY`, `dJ_dA`), or chainer's `gy`
_D_PREFIXED = re.compile(
    r"^d_?(?:[a-z]{1,2}\d*(?:_\w+)?|out\w*|in\w*|val\w*|next\w*|prev\w*|loss\w*|act\w*|pre\w*|logit\w*|y\w*|z\w*|h\w*)$"
    r"|^d[a-z]+_?d[a-z]+\w*$|^g[a-z]$",
    re.IGNORECASE,
)


def is_gradient_name(name: str, loosely: bool = False) -> bool:
    """Whether `name` is conventional for an upstream gradient (`dout`, `grad_output`, `dL_dy`);
    `loosely`: also a gradient word inside it (`output_delta`) or a `d`-prefixed short or
    layer-value name (`dx`, `d_inputs`)."""
    lowered = name.lower()
    if lowered in GRADIENT_PARAMS or lowered.startswith(("grad_", "d_out", "dl_", "de_")):
        return True
    return loosely and bool(_GRADIENT_WORD.search(name) or _D_PREFIXED.match(name))


def is_target_name(name: str, within: bool = False) -> bool:
    """Whether `name` is conventional for a loss's targets; `within`: also when a target word
    stands inside a longer name (`batch_labels`), for values read where targets are expected."""
    return bool(TARGET_NAME.match(name) or (within and _TARGET_WORD.search(name)))
