"""Parsing a module for analysis: libcst's parser without its per-node validation.

libcst's native parser builds the tree by calling each node class, and every node's
`__post_init__` re-validates the node (parentheses balanced, required whitespace
present): checks written for trees built by hand, which a tree the parser built from
source passes by construction. They cost about a sixth of a parse (libcst's own
comment on `CSTNode.__post_init__` names the same opportunity). `parse_module` turns
them off for the duration of the parse only: nodes made later (fixes) are validated.
"""

from __future__ import annotations

from typing import Union

import libcst as cst
from libcst._nodes.base import CSTNode

_VALIDATING_POST_INIT = CSTNode.__dict__.get("__post_init__")


def _skip_validation(self: CSTNode) -> None:
    """A node built by the parser from source: nothing to validate."""


def parse_module(source: Union[str, bytes]) -> cst.Module:
    """`libcst.parse_module(source)`, minus the per-node validation while it parses.

    The plain parse when libcst's node base has no `__post_init__` (another libcst version)."""
    if _VALIDATING_POST_INIT is None:
        return cst.parse_module(source)
    CSTNode.__post_init__ = _skip_validation  # type: ignore[method-assign]
    try:
        return cst.parse_module(source)
    finally:
        CSTNode.__post_init__ = _VALIDATING_POST_INIT  # type: ignore[method-assign]
