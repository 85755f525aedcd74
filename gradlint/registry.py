"""The one place where rule codes live.

Each code maps to the module (under `gradlint.rules`) that implements it and to
the *pre-check* patterns that gate parsing: a file is parsed for a rule only if
every pattern of that rule matches the file's text. The patterns must be
necessary conditions of the rule firing (tests/test_precheck.py checks that over
every INVALID case and the fixtures gallery). This module imports nothing heavy,
so selecting rules and pre-checking files costs no libcst import.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from gradlint.precheck import Prechecker
    from gradlint.rule import Rule

DOCS_URL = "https://github.com/gradlint/gradlint/blob/main/docs/rules/{code}.md"


@dataclass(frozen=True)
class RuleEntry:
    """Where a code's rule lives, and what its file must contain to be worth parsing."""

    code: str
    module: str
    needs: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return DOCS_URL.format(code=self.code)

    @property
    def name(self) -> str:
        """The rule's name (its module's, with dashes), without importing it."""
        return self.module.replace("_", "-")


# GL401: a reduction called with axis/dim 1 or -1 (keyword or positional), its arguments nested at
# most two parentheses deep before the axis; kept equal to reduction_without_keepdims.REDUCTION_CALL.
_GL401_REDUCTION = (
    r"\b(?:sum|nansum|max|amax|nanmax|min|amin|nanmin|mean|nanmean|std|var|prod|norm|logsumexp)\s*\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*?"
    r"(?:\b(?:axis|dim)\s*=\s*\(?\s*-?\s*1\b|,\s*\(?\s*-?\s*1\s*\)?\s*[,)])"
)
# GL402: kept equal to gradlint.rules.input_mutated_in_place.EVIDENCE (a test checks it).
_GL402_EVIDENCE = (
    r"\b(?:exp|tanh|maximum)\s*\(|\b(?:dout|dvalues|grad_output)\b"
    r"|(?:def|class)\s+\w*(?:[Bb]ackward|[Bb]ackprop|bprop|[Gg]rad|[Dd]eriv|[Pp]rime|[Rr]e[Ll][Uu]|[Ss]igmoid|[Ss]oftmax"
    r"|[Tt]anh|[Aa]ctivation|[Ff]orward|[Cc]ost|[Ll]oss)"
)

# ---- GL301-GL305, GL401, GL402 building blocks (gradlint.analysis.numerics reads these rules' calls) ----
# What libcst accepts between two tokens inside brackets: blanks, line breaks (LF, CRLF and a lone CR),
# backslash continuations and comments (each `#...` up to its line end, so a `###` banner has one reading).
_GL301_BLANK = r"(?:\s|\\|#[^\r\n]*(?![^\r\n]))*"
# Parentheses on a node (libcst keeps them on the node itself: `(p)` is still a Name, `(1)` an Integer).
_GL301_OPEN = rf"(?:\({_GL301_BLANK})*"
_GL301_CLOSE = rf"(?:\){_GL301_BLANK})*"
# An exponential as numerics.exp_argument reads one: a call whose callee is written `exp` (`np.exp(`,
# `math.exp(`, `x.exp(`, `exp(` imported; numerics.operation uses the name as written), or a power whose
# base is a name written `e` resolving to numpy.e/math.e/torch.e (`np.e ** x`, `(np.e) ** x`). The power
# is searched from its `**` (a fast literal); fixed-width lookbehinds find `e` up to 48 blanks, closing
# parens or backslashes before it; 49 or more of those are kept whatever precedes them. A comment between
# `e` and `**` puts the `**` after a line break: _GL301_EXP keeps every `**` whose (up to 48) preceding
# blank characters hold a line break, and _GL301_EXP_COMMENTED (a second need of the same rules) keeps,
# instead, a base `.e` followed by blanks and a comment (written `.e` or with blanks before the `e`, each
# spelling a literal-first alternative), or an imported bare `e` (`from math import e`): a commented power
# passes both, an uncommented one or a call needs neither alternative.
_GL301_E_NAME = "|".join(rf"(?<=\be[\s)\\]{{{count}}}\*\*)" for count in range(49))
_GL301_E_FAR = r"(?<=[\s)\\]{49}\*\*)"
_GL301_LINE_BREAK = "|".join(rf"(?<=[\r\n][\s)\\]{{{count}}}\*\*)" for count in range(49))
_GL301_EXP = rf"\bexp{_GL301_BLANK}{_GL301_CLOSE}\(|\*\*(?<=[\s)\\e]\*\*)(?:{_GL301_E_NAME}|{_GL301_E_FAR}|{_GL301_LINE_BREAK})"
# `e` after a dot and blanks (`np. e`, `np.\\` + line break + `e`), or after a line break and blanks (a comment
# ended the line before), or after 9 or more blanks: lookbehinds from the `e`.
_GL301_DOT_BLANKS_E = "|".join(
    [rf"(?<=\.[\s\\]{{{count}}}e)" for count in range(1, 9)]
    + [rf"(?<=[\r\n][\s\\]{{{count}}}e)" for count in range(9)]
    + [r"(?<=[\s\\]{9}e)"]
)
_GL301_EXP_COMMENTED = (
    rf"\bexp{_GL301_BLANK}{_GL301_CLOSE}\(|\*\*(?<=[\s)\\e]\*\*)(?:{_GL301_E_NAME}|{_GL301_E_FAR})"
    r"|\.e[\s)\\]*#|" + "|".join(rf"{blank}e(?:{_GL301_DOT_BLANKS_E})[\s)\\]*#" for blank in (" ", r"\t", r"\f", r"\n", r"\r", r"\\"))
    # (a comment in the parentheses is read to its line end: one way to read it, no backtracking blow-up)
    + r"|\bimport[ \t\f]*\((?:[^)#]|#[^\r\n]*(?![^\r\n]))*\be\b|\bimport(?:[^\r\n(]|\\(?:\r\n?|\n))*\be\b"
)
# softmax_parts: the normaliser is a call written `sum`, `nansum` or `fsum` (numerics.SUM).
_GL301_SUM = rf"sum{_GL301_BLANK}{_GL301_CLOSE}\("
# numerics._is_number(node, 1): an Integer or Float literal equal to 1 (`1`, `1.`, `1.0`, `1e0`, `0.1e1`,
# `10e-1`, `1_0e-1`): zeros and underscores around one digit 1, at most one point, any exponent.
_GL304_ONE = r"(?:[0_]*1[0_]*\.?[0_]*|[0_]*\.[0_]*1[0_]*)(?:[eE][-+]?[\d_]+)?"
# The complement `1 - p` (its `1` may be parenthesised); what follows the `-` is not checked.
_GL304_COMPLEMENT = rf"{_GL301_OPEN}{_GL304_ONE}{_GL301_BLANK}{_GL301_CLOSE}-"
# A method `.log()` without arguments, searched from its `log`: a dot right before it, or a blank (a
# line break, a comment or blanks after the dot).
_GL303_METHOD_LOG = rf"log(?:(?<=\.log)|(?<=[\s\\]log)){_GL301_BLANK}{_GL301_CLOSE}\({_GL301_BLANK}\)"
# A call of numerics.operation "log" that is a method call has no arguments in GL303 (`p.log()`; a method
# `logger.log(level, msg)` is skipped) and is never one in GL304's matching loss; any other is `M.log(`
# or a bare `log(` whose module M (or `from M import log` / `*`) resolves through an import or a default
# alias (numerics.DEFAULT_ALIASES) to a NUMERIC_MODULE, `numpy.`/`torch.`/`scipy.special` or builtins:
# the text names that module (or the default alias). The aliases np/jnp/cp/tf/mx are written as classes
# (`j?[nc]p`, `[tm][fx]`: a few more words, no literal), so the need has no literal hint and the pre-check
# tests it by its regex only, after the rule's other needs, instead of searching all these names first.
_GL303_MODULE = (
    rf"{_GL303_METHOD_LOG}"
    r"|numpy|torch|math|scipy|jax|cupy|tensorflow|autograd|mxnet|mlx|builtins|(\b(?:j?[nc]p|[tm][fx])\b)"
)
# GL303 without a softmax/sigmoid source (which needs an exp, `softmax`, `sigmoid` or `expit` in the text):
# the cross-entropy path takes the log of an unguarded parameter, `log(p)`, `log(p[...])`, `log(1 - p)`
# (numerics.is_unguarded_parameter: a Name, or a Subscript of one), or `p.log()`; or the log of a
# per-row selection written inline (_selected_probability), `log(np.sum(p * y, axis=1))`,
# `log((p * y).sum(1))`, maybe inside value-preserving calls: a log of a call or of a parenthesis.
_GL303_LOG_OF_NAME = (
    rf"\blog{_GL301_BLANK}{_GL301_CLOSE}\({_GL301_BLANK}{_GL301_OPEN}(?:{_GL304_COMPLEMENT}{_GL301_BLANK}{_GL301_OPEN})?"
    rf"\w+{_GL301_BLANK}{_GL301_CLOSE}[\[),]|{_GL303_METHOD_LOG}"
    rf"|\blog{_GL301_BLANK}{_GL301_CLOSE}\({_GL301_BLANK}(?:\(|\w+(?:{_GL301_BLANK}\.{_GL301_BLANK}\w+)*{_GL301_BLANK}\()"
)
_GL303_SOURCE = rf"softmax|sigmoid|expit|{_GL303_LOG_OF_NAME}"
# GL304's matching loss (_find_matching_loss): `log(p...)`, `log(1 - p...)`, or the log of a clip of
# either (`np.clip(p, ...)`, `np.maximum(1 - p, ...)`, `p.clamp(...)`), p a name.
_GL304_LOG = (
    rf"\blog{_GL301_BLANK}{_GL301_CLOSE}\({_GL301_BLANK}{_GL301_OPEN}"
    rf"(?:\w+(?:{_GL301_BLANK}\.{_GL301_BLANK}\w+)*{_GL301_BLANK}{_GL301_CLOSE}\({_GL301_BLANK}{_GL301_OPEN})?"
    rf"(?:{_GL304_COMPLEMENT}{_GL301_BLANK}{_GL301_OPEN})?\w+{_GL301_BLANK}{_GL301_CLOSE}[\[),.]"
)
# GL304 divides by `1 - p` or `p * (1 - p)` (_probability_divisor): the divisor of `/` is parenthesised
# (`/ (1 - p)`, `/ ((1 - p) * p)`, `/ (p * (1 - p))`); np.divide/true_divide's is its second argument. In
# `p * (1 - p)`, p is a name, maybe parenthesised and subscripted. A subscript is read item by item (plain
# characters, one-line strings not touching another quote); one holding anything else (a nested bracket,
# another string, a comment, a backslash) is kept unread: the lookahead makes the reading maximal, so
# `d["k"]` is read, not kept. The alternatives start with a literal (`/`, `divide`).
_GL304_SUBSCRIPT_ITEM = r"""[^\[\]'"#\\]|'[^'\\\r\n]*'(?!['"])|"[^"\\\r\n]*"(?!['"])"""
_GL304_AFTER_SLASH_COMPLEMENT = (
    rf"\({_GL301_BLANK}{_GL304_COMPLEMENT}|{_GL301_OPEN}\w+{_GL301_BLANK}{_GL301_CLOSE}"
    rf"(?:\[(?:{_GL304_SUBSCRIPT_ITEM})*\]{_GL301_BLANK}{_GL301_CLOSE})*"
    rf"(?:\*{_GL301_BLANK}\({_GL301_BLANK}{_GL304_COMPLEMENT}"
    rf"""|\[(?:{_GL304_SUBSCRIPT_ITEM})*(?!{_GL304_SUBSCRIPT_ITEM})[\['"#\\])"""
)
# np.divide(a, b): after the first positional argument (read as plain text and parenthesised groups two
# deep; a quote, comment, backslash or deeper group in it keeps the call unread), a `,` and the divisor.
_GL304_PLAIN = r"""[^()'"#\\]"""
_GL304_GROUP = rf"\((?:{_GL304_PLAIN}|\({_GL304_PLAIN}*\))*\)"
_GL304_DIVIDE = (
    rf"divide{_GL301_BLANK}{_GL301_CLOSE}\((?:{_GL304_PLAIN}|{_GL304_GROUP})*(?:,{_GL301_BLANK}(?:{_GL304_COMPLEMENT}|{_GL304_AFTER_SLASH_COMPLEMENT})"
    rf"""|['"#\\]|\((?:{_GL304_PLAIN}|\({_GL304_PLAIN}*\))*(?:['"#\\]|\({_GL304_PLAIN}*[('"#\\]))"""
)
_GL304_COMPLEMENT_DIVISOR = rf"/{_GL301_BLANK}(?:{_GL304_AFTER_SLASH_COMPLEMENT})|{_GL304_DIVIDE}"
# GL304's evidence that the divisor is a probability (UnguardedDivision._evidence), one of: a softmax/
# sigmoid output by body (numerics.probability_source: an exp, or a library softmax/sigmoid/expit named in
# the text); the BCE derivative's `p * (1 - p)` divisor, or both `p` and `1 - p` divisors in one statement
# (a complement divisor); a matching loss's log (_GL304_LOG, a non-method log: a numeric module is named).
_GL304_PROBABILITY = r"softmax|sigmoid|expit"
# GL304's softmax/sigmoid source by body (numerics.kind_of): a softmax needs a sum call (softmax_parts);
# a sigmoid (sigmoid_argument) divides by a parenthesised `1 + exp` or `exp + 1`, the exp written
# directly: a call of a dotted name ending in `exp`, a power of a dotted `e`, or a method `.exp(` on a
# receiver ending in `)` or `]` (searched from its `exp`: `).exp`, `].exp`, or blanks before `exp` or
# before its `.`); a library one names softmax/sigmoid/expit.
_GL304_AFTER_SLASH_SIGMOID = (
    rf"\({_GL301_BLANK}{_GL301_OPEN}(?:{_GL304_ONE}{_GL301_BLANK}{_GL301_CLOSE}\+|(?:\w+{_GL301_BLANK}\.{_GL301_BLANK})*"
    rf"(?:exp{_GL301_BLANK}{_GL301_CLOSE}\(|e{_GL301_BLANK}{_GL301_CLOSE}\*\*))"
)
_GL304_SHAPE = (
    rf"softmax|sigmoid|expit|{_GL301_SUM}"
    rf"|exp(?:(?<=[)\]]\.exp)|(?<=[\s\\]exp)|(?<=[\s\\]\.exp)){_GL301_BLANK}{_GL301_CLOSE}\("
)
# GL305 (UnstableActivation): tanh as `(a - b) / (c + d)` (both sides parenthesised), a sigmoid
# `1 / (1 + exp)` or `1 / (exp + 1)` (a `/ (`) of an input shifted by a max call (numerics.MAX: the
# stability SHIFTED comes only from max_shift), or softplus `log1p(exp)` / `log(1 + exp)` / `log(exp + 1)`
# (a non-method log/log1p call; its first argument, even a keyword one, is the sum, closed by `,` or `)`),
# or the sigmoid from its exps `e / (1 + e)` (the `/ (1 +`; `(e + 1)` is the `+ 1)` above).
# `) / (` searched from its `/`: a `)` right before it or up to 8 blanks before it, a line break in those
# blanks (a comment may end the line before), or 9 blanks or more.
_GL305_AFTER_CLOSE = "|".join(
    [rf"(?<=\)[\s\\]{{{count}}}/)" for count in range(9)]
    + [rf"(?<=[\r\n][\s\\]{{{count}}}/)" for count in range(9)]
    + [r"(?<=[\s\\]{9}/)"]
)
_GL305_SHAPE = (
    rf"/(?:{_GL305_AFTER_CLOSE}){_GL301_BLANK}\(|max{_GL301_BLANK}{_GL301_CLOSE}\(|log1p{_GL301_BLANK}{_GL301_CLOSE}\("
    rf"|\blog{_GL301_BLANK}{_GL301_CLOSE}\({_GL301_BLANK}(?:\w+{_GL301_BLANK}={_GL301_BLANK})?{_GL301_OPEN}{_GL304_ONE}{_GL301_BLANK}{_GL301_CLOSE}\+"
    rf"|\+{_GL301_BLANK}{_GL301_OPEN}{_GL304_ONE}{_GL301_BLANK}{_GL301_CLOSE}[,)]"
    rf"|/{_GL301_BLANK}\({_GL301_BLANK}{_GL301_OPEN}{_GL304_ONE}{_GL301_BLANK}{_GL301_CLOSE}\+"
)
# GL401 (_reduction): the axis is the literal 1 or -1 (_literal_axis: an Integer `1`, maybe negated or
# parenthesised) of the first axis/dim/axes keyword (numerics.reduction_axis), or, without an axis/dim
# keyword, positional in a reduction written sum/nansum/mean/nanmean/std/var/prod/norm/logsumexp
# (_POSITIONAL_AXIS). Cheaper than _GL401_REDUCTION (fewer literals), so it runs first and rejects the
# `max(a, 1)` of ordinary code.
_GL401_AXIS = (
    rf"\b(?:axis|axes|dim){_GL301_BLANK}={_GL301_BLANK}{_GL301_OPEN}(?:-{_GL301_BLANK}{_GL301_OPEN})?1\b"
    rf"|(?:sum|mean|std|var|prod|norm|logsumexp){_GL301_BLANK}{_GL301_CLOSE}\("
)
# GL402 (_writes): an augmented assignment (any operator; not the comparisons <= >=), a store into a
# subscript `x[i] = v` (`(x[i]) = v`, maybe across a backslash continuation; not `==`), or an `out=` keyword;
# the common `+=`, `-=` and `] =` first, each from a literal.
_GL402_WRITE = rf"\+=|-=|\](?:[ \t\f]|\\(?:\r\n?|\n))*=(?!=)|[*/%@&|^]=|<<=|>>=|\)(?:[ \t\f]|\\(?:\r\n?|\n))*=(?!=)|\bout{_GL301_BLANK}="

# GL101 (rules/overwritten_diagonal.py; the only user of these two needs; `_TWO_ELEMENT_STORES`, a regex
# for two `] =` anywhere, is gone: it missed parenthesised targets `(J[i]) =` and admitted a third of all
# files). The rule walks the blocks under a For/While node, i.e. below a `for` (also `async for`) or
# `while` keyword: _GL101_LOOP (the literal comes first: a fast search). Its findings are then all
# decided by gradlint.precheck_predicates.repeated_element_store, which admits a text only if two store
# sites `J[i] = ...` (Assign targets ending `]` or `)`) could be the rule's pair; each condition below
# is the code path that returns before a finding when it fails, and the predicate admits whatever it
# cannot read surely (a comment inside a target; a triple quote before a store on its line after which,
# were the line inside a string opened before, a statement could start (a `;`, `:` or closing bracket);
# f-strings whose fields may nest quotes (PEP 701); non-ASCII symbols; indentation with form feeds or tabs
# that do not nest). A target holding a string with escapes, quotes or braces, which the backward scan
# cannot delimit, is read forwards from its line's start (a store starts a statement: the line's first
# token, or after a `;` or a header's `:`). The reading is exact from a store onwards (a
# store the rule reports starts a statement), so code in strings and comments is never taken for code:
# tests/test_precheck.py runs the rule on generated loops in many layouts against it:
#  1. the same element text: `analysis.code_for(second target) == element` (code_for joins the target's
#     source on whitespace; the predicate compares the same normalised text of each target);
#  2. a dotted base whose root is followed by other names: subscript_base is None -> return; the first
#     store's `index_names = names_in(target) - {root}` must meet `_loop_variables`, the names of the
#     `for` targets and `while` tests around it, so some name of the target other than its root stands
#     in some `for` target (up to its `in`) or `while` test (up to its `:`) of the file;
#  3. both are one-target Assigns (_element_store) that start their statements (`a = J[i] = v` has two
#     targets), the first one in a loop's block (not at module level);
#  4. case A (_check_block -> _overwrite_after): the second follows in the same block with only small
#     statements between (a compound statement or return/break/continue/raise returns), none naming the
#     root (`base.split(".")[0] in names_in(later)` returns), and its value does not name the root;
#  5. case B (after_branch): the first store is a top-level item of an `if a == b:` / `if a is b:` body
#     without else (_is_diagonal_branch) that has no top-level jump (_falls_through) and no later
#     top-level store to the element (_last_store_to; the branch's other statements are not scanned);
#     the second follows the `if` like in 4. For an indented body the predicate only asks that some such
#     header precede the store on a shallower line; for a one-line suite `if i == j: J[i] = v` it reads
#     the header. The remaining checks (an index name rebound between, a call between for a dotted base)
#     are not mirrored: the predicate admits those texts.
_GL101_LOOP = r"\bfor\b|\bwhile\b"
_GL101_PAIR = "predicate:repeated_element_store"
# GL103/GL104/GL105/GL203/GL204 (these rules only). What may stand between two tokens of one expression:
# blanks and line breaks (LF, CRLF, CR), a backslash continuation, a comment (inside brackets). A comment
# must end at a line break, so a line of `#####` is read one way only (no backtracking blow-up).
_GL103_GAP = r"(?:\s|\\|#[^\r\n]*[\r\n])*"
# ... between a callee and its `(`: also the `)` of a parenthesised callee, `(np.diag)(s)` (call_name
# reads the dotted name whatever its parentheses).
_GL103_CALL_GAP = r"(?:[\s)\\]|#[^\r\n]*[\r\n])*"
# ... inside an `if` test: also the parentheses around the test or around either name.
_GL103_TEST_GAP = r"(?:[\s()\\]|#[^\r\n]*[\r\n])*"
# GL103 matrix formulas: _check_sum/_check_update need a Part.DIAG (jacobians.classify: a call whose last
# name part is diag/diagflat, or eye*s / einsum with is_eye), _check_same_factor an is_eye term; is_eye
# is a call named eye/identity (also through local names bound to the call, which still hold it). So the
# file calls diag/diagflat/eye/identity by that name: `np.diag(s)`, bare `eye(n)`, `np.diag  # c\n(s)`.
_GL103_DIAGONAL = r"\b(?:diag|diagflat|eye|identity)" + _GL103_CALL_GAP + r"\("
# GL103 element loops (_check_loop_branch): an If (`if` or `elif`) whose test is ONE comparison ==/!= of
# two bare names (_index_test; a Name keeps its parentheses) and whose body, like its `else:` body, is
# exactly one statement: an Assign to a subscript of a dotted name (_last_store; block_items counts
# statements, not comments). So past the colon and any blanks/comments/continuations, the first token
# of the body starts `J[`, `self.J[`, `(J)[`, `J [`. An If statement's `if` starts its line (or ends
# `elif`): the character before it is blank, `l`, or none.
_GL103_SUBSCRIPT_TARGET = (
    r"(?:\(" + _GL103_GAP + r")*\w+(?:" + _GL103_GAP + r"\." + _GL103_GAP + r"\w+|" + _GL103_GAP + r"\))*"
    + _GL103_GAP + r"\["
)
# (both sides are Names, _index_test: an identifier does not start with a digit, so `if idx == 0:` is none)
_GL103_INDEX_BRANCH = (
    r"if(?<![^\sl]if)" + _GL103_TEST_GAP + r"(?!\d)\w+" + _GL103_TEST_GAP + r"[=!]=" + _GL103_TEST_GAP + r"(?!\d)\w+"
    + _GL103_TEST_GAP + ":" + _GL103_GAP + _GL103_SUBSCRIPT_TARGET
)
_GL103_ELSE_STORE = r"\belse" + _GL103_GAP + ":" + _GL103_GAP + _GL103_SUBSCRIPT_TARGET
# GL103 element entries written with a conditional (_check_conditional_entry): an IfExp whose test is ONE
# comparison ==/!= of two bare names (_index_test), in the precedence slip's shape: with `==`, the `else`
# branch is `number - ...` (`1 if i == j else 0 - s[j]`); with `!=`, it is the diagonal's number
# (`0 - s[j] if i != j else 1`); parenthesised parts too. The `if` of an expression may follow a number
# (`1if`: Python reads 1, then if), so only a letter or `_` before it rules it out.
_GL103_CONDITIONAL_ELSE = _GL103_TEST_GAP + r"(?!\d)\w+" + _GL103_TEST_GAP + r"else(?!\w)" + _GL103_TEST_GAP + r"\.?\d"
_GL103_CONDITIONAL_TAIL = (
    _GL103_TEST_GAP + r"(?!\d)\w+" + _GL103_TEST_GAP
    + r"(?:==" + _GL103_CONDITIONAL_ELSE + r"[\w.]*" + _GL103_TEST_GAP + r"-|!=" + _GL103_CONDITIONAL_ELSE + ")"
)
_GL103_INDEX_CONDITIONAL = r"if(?<![^\W\d]if)(?!\w)" + _GL103_CONDITIONAL_TAIL  # the literal first: re scans for it
# GL103's diagonal call is a call (classify/is_eye read Call nodes): `def identity(x):` (argparse) is none.
_GL103_DIAGONAL_CALL = (
    r"\b(?:diag|diagflat|eye|identity)(?<!def diag)(?<!def diagflat)(?<!def eye)(?<!def identity)" + _GL103_CALL_GAP + r"\("
)
# GL104: a Role.JACOBIAN (semantics._call_role: outer/eye/identity/diag/diagflat/einsum; _diagonal_of /
# _is_identity in a softmax-Jacobian form; _is_square_allocation) is, at its root, a _library_call: a
# dotted callee `np.outer(`, `torch.eye(`, `(np.diag)(s)`: the name after its dot, maybe past blanks,
# continuations or comments (`np . outer`, `np.\<newline>outer`). One regex (a scan of the dots) is
# cheaper here than one literal-first alternative per name.
_GL104_JACOBIAN = r"\." + _GL103_GAP + r"(?:diag(?:flat)?|outer|eye|identity|einsum)" + _GL103_CALL_GAP + r"\("
# GL104: or a matrix filled element by element (_role_after_stores, all stores plain two-index ones)
# from a square allocation np.zeros/empty/ones((n, n)) (_is_square_allocation: a positional tuple/list).
_GL104_SQUARE_ALLOCATION = r"\b(?:zeros|empty|ones)" + _GL103_CALL_GAP + r"\(" + _GL103_GAP + r"[(\[]"
# ... whose stores are element stores (facts: an Assign target `J[i, j] =`, a tuple/list element
# `J[i, j], k =` / `[J[i, j]] =`, or an annotated `J[i, j]: float =`): `]` then `=`, `:`, `,` or `)`.
_GL104_ELEMENT_STORE = r"\]" + _GL103_GAP + r"(?:=(?!=)|[:,)])"
# A backward by semantics.is_backward: a def whose name (lowercased) holds backward/backprop, or a method
# named bprop/grad/gradient (the other BACKWARD_METHODS hold backward/backprop). GL104/GL105/GL204.
_GL105_BACKWARD_DEF = r"\bdef[\s\\]+(?:\w*(?i:backward|backprop)|(?i:bprop|grad|gradient)\b)"
# A call of a method named in semantics.BACKWARD_METHODS (exact case): `layer.backward(`, `m.grad(`;
# the name after its dot, as in _GL104_JACOBIAN. GL104 (_call_role: the gradient it returns) and GL203
# (a layer's backward reached across modules: _loop_layer/_imported_layer need an Attribute callee).
_GL104_BACKWARD_CALL = (
    r"\." + _GL103_GAP + r"(?:backward(?:_pass)?|backprop(?:agate|agation)?|bprop|grad(?:ient)?)"
    + _GL103_CALL_GAP + r"\("
)
# GL104: a loss gradient -y/p or a fused p - y (_loss_gradient_role, _binary_role, _role_after_stores)
# needs a Role.ACTIVATION, i.e. a nonlinearity by semantics: a library forward (tanh, expit/sigmoid,
# softmax/log_softmax, logaddexp, log1p/log of exp: `exp\b` ends logaddexp/logsumexp/np.exp too; maximum/
# fmax calls), an exp formula, a module forward built on those, `self.f` set to one (_LIBRARY_FORWARDS
# names), a relu mask `x * (x > 0)` or `np.where(x > 0, ...)`: a `>`/`>=` comparison with a zero literal
# (semantics._number: 0, 0.0, .0, 0e0, 0x0, -0, (0)) right before `)` or `,`; or an in-place relu
# `x[x < 0] = 0`: `<`/`<=` zero inside the subscript.
_GL104_ACTIVATION = (
    r"exp(?:it)?\b|sigmoid|softmax|tanh|\b(?:maximum|fmax)" + _GL103_CALL_GAP + r"\("
    + r"|>=?(?:[\s(\\-]|#[^\r\n]*[\r\n])*[0.][\w.+-]*" + _GL103_GAP + r"[),]"
    + r"|\[[^\]]*<=?(?:[\s()\\-]|#[^\r\n]*[\r\n])*[0.]"
)
# GL203: a call whose tail (a bare name or an attribute) is in semantics.BACKWARD_METHODS.
_GL203_BACKWARD_TAIL = (
    r"\b(?:backward(?:_pass)?|backprop(?:agate|agation)?|bprop|grad(?:ient)?)" + _GL103_CALL_GAP + r"\("
)
# GL203: a bare-name tail call `backward(g)` reaches a definition only through semantics._resolve_name:
# a def of that name (nested or module level), or a binding with a value (facts: `grad = f`, `a = grad
# = f`, `grad: T = f`, `(grad := f)`, `grad, h = f, g`, `(h, grad) = ...`, `[h, grad] = ...`); an import,
# a loop variable or a parameter resolves to nothing (and then _loop_layer/_imported_layer need an
# attribute callee), so the name is defined here or followed by `=`, `:`, `,`, `)` or `]`.
_GL203_BACKWARD_BOUND = (
    r"\bdef[\s\\]+(?:backward(?:_pass)?|backprop(?:agate|agation)?|bprop|grad(?:ient)?)\b"
    r"|\b(?:backward(?:_pass)?|backprop(?:agate|agation)?|bprop|grad(?:ient)?)" + _GL103_GAP + r"(?:=(?!=)|[:,)\]])"
)
# ---- GL201, GL205, GL202, GL102: nonlinearities and matrix products written *in code* ------------------------
# These rules see only what gradlint.analysis.semantics reads from the syntax tree (calls, names,
# operators): a `tanh` in a docstring, an e-mail's `@` in a comment or a `np.dot(a, b)` in a doctest
# never makes them fire. Each rule's last need below is a *code search*: a regex that reads the text as
# Python tokens from its start (comments, plain/raw/byte strings, triple-quoted strings, f-strings, line
# continuations, decorators) and matches when it reaches the rule's evidence in code, or a quote it
# cannot read as one complete string (e.g. an f-string whose replacement fields it does not follow:
# a field holding a candidate word or `@`, a comment, a backslash, deeper braces, a 3.12 nested
# same-kind quote). It therefore admits every text in which the evidence occurs as code (the token
# alternatives are disjoint, each a maximal run, so the one tokenization it follows is Python's); it
# rejects only when the evidence is in comments and strings alone. Checked against Python's tokenize
# on the stdlib, numpy, scipy and torch sources (no file with the evidence in code is rejected).
# Each rule's cheaper needs come first (the pre-check sorts by literal hints; code searches have none).
#
# An exact call `name(`: blanks, line breaks, backslash continuations, comment lines and the `)` of
# `(np.dot)(a, b)` may stand between the callee's last name and its `(`.
_GL201_CALL = r"[\s)\\]*(?:#[^\r\n]*[\r\n][\s)\\]*)*\("
# Python 3.11+ has possessive repeats: the token loop then never backtracks (a text without the
# evidence costs one pass). Older versions backtrack over the token boundaries, which is linear here
# (the tokens are disjoint and maximal) but about 2.5x slower; the unreadable-quote final then
# re-checks that no string starts at the quote.
_GL201_POSSESSIVE = __import__("sys").version_info >= (3, 11)
_GL201_BS = "\\\\"  # a backslash, inside a pattern or a character class
_GL201_ESCAPE = _GL201_BS + r"(?:\r\n|[\s\S])"  # a backslash and the character (or CRLF) it escapes
_GL201_NEWLINE = r"(?:\r\n?|\n)"
# A decorator's `@`: first on its line (after at most 16 blanks, not after a backslash continuation,
# or at the start of the text), followed by a dotted name, call arguments (one-line strings and
# comments read as tokens, so their parentheses do not count; parentheses balanced up to 4 deep), then
# only blank or comment lines before `@`, `def`, `class` or `async def`. A line-start `@` inside
# brackets (a matmul continued on the next line) can look the same only when the next line starts with
# `@` too: the last one of such a chain is followed by more of the bracketed expression (never by
# `def`/`class`/`async def`), so it is kept; an `@` this pattern does not recognise (a PEP 614 expression
# decorator, arguments nested deeper, a triple-quoted argument) counts as a matmul.
_GL201_LINE_START = "(?:" + "|".join(
    f"(?<=[\\r\\n]{b}@)(?<!\\\\[\\r\\n]{b}@)(?<!\\\\\\r\\n{b}@)|(?<![\\s\\S]{b}@)" + (f"(?<={b}@)" if b else "")
    for b in ("" if count == 0 else r"[ \t\f]{" + str(count) + "}" for count in range(17))
) + ")"


def _GL201_strings(single_line_only: bool = False) -> list[str]:
    """Plain string literals (`"..."`, `'...'`, triple-quoted), by Python's own rules for where they end."""
    found = []
    for quote in ('"', "'"):
        if not single_line_only:
            found.append(quote * 3 + "(?:[^" + quote + _GL201_BS + "]|" + _GL201_BS + r"[\s\S]|" + quote + "(?!" + quote * 2 + "))*" + quote * 3)
        found.append(quote + "(?!" + quote * 2 + ")(?:[^" + quote + _GL201_BS + r"\r\n]|" + _GL201_BS + r"[\s\S])*" + quote)
    return found


_GL201_ARG = r"[^()'\"#]|#[^\r\n]*(?![^\r\n])|" + "|".join(_GL201_strings(single_line_only=True))
_GL201_ARGS = "(?:" + _GL201_ARG + r"|\((?:" + _GL201_ARG + r"|\((?:" + _GL201_ARG + r"|\((?:" + _GL201_ARG + r")*\))*\))*\))*"
_GL201_DECORATOR_AFTER = (  # what follows (and precedes) a decorator's `@`
    _GL201_LINE_START + r"(?=[ \t\f]*[\w.]+(?:[ \t\f]*\(" + _GL201_ARGS + r"\))?[ \t\f]*(?:#[^\r\n]*)?"
    + _GL201_NEWLINE + r"(?:[ \t\f]*(?:#[^\r\n]*)?" + _GL201_NEWLINE + r")*[ \t\f]*(?:@|def\b|class\b|async[ \t\f]+def\b))"
)
# Any other `@` may be a matrix product (in code): also a line-start `@` after a lone CR line break, or
# before `async for` (an async comprehension continued), or after call arguments whose strings hold
# parentheses.
_GL201_MATMUL = "@(?!" + _GL201_DECORATOR_AFTER + ")"


def _GL201_run(excluded: str) -> str:
    """A maximal run of characters outside the class body `excluded` (never shortened by backtracking)."""
    return "[^" + excluded + "]+(?![^" + excluded + "])"


def _code_search(
    words: str, field_words: str, chars: str = "", char_finals: str = "", field_char_finals: str = "", after_unreadable: str = "",
) -> str:
    """A regex matching a text iff, read as Python tokens from its start, it reaches in code an
    identifier where `words` matches, one of `chars` where `char_finals` matches, or an unreadable quote.
    Without `words`, identifiers are read as other code characters (a faster search for `chars` only).
    With `after_unreadable` (a regex every final of `char_finals` starts with), an unreadable quote
    admits only when such a final follows it somewhere (none can be in code before it: the search
    stops at the first one); the pattern then has a literal hint.

    Tokens (disjoint by their first character, each maximal): a run of other code characters; an
    identifier (`\\w+`) where `words` does not match; a backslash and what it escapes; a comment; a
    string literal; one of `chars` where `char_finals` does not match (a decorator's `@`). A string is
    an f-string when its quote follows an `f`/`F` prefix (`f`, `rf`, `fR`, ..., starting an identifier:
    `if"..."` is `if` and a plain string). An f-string is read with its `{{`, `}}` and replacement
    fields: one-line fields, or multi-line in triple quotes, holding code characters, identifiers that
    `field_words` (a superset of `words`) does not match, `chars` where `field_char_finals` (a superset
    of `char_finals`, by default the same) does not match, strings of the other quote (of either in
    triple quotes) and one level of nested `{...}`; anything else in a field (`@` outside `chars`, `#`,
    a backslash, deeper braces, a Python 3.12 nested same-kind quote) leaves the f-string unread, which
    admits the text. (Decorator arguments read 3.12 nested same-kind quotes as several strings; libcst
    1.0.1 does not parse such files, so no rule fires on them.)
    """
    bs = _GL201_BS
    word = r"\w" if words else ""  # without words, identifiers are plain code characters
    stop = "'\"#" + bs + word + chars
    char_token = "(?!" + char_finals + ")[" + chars + "]" if chars else ""
    field_char_token = "(?!" + (field_char_finals or char_finals) + ")[" + chars + "]" if chars else ""

    def field(multi_line: bool, quote: str) -> str:
        newlines = "" if multi_line else r"\r\n"
        inner = _GL201_run("{}'\"" + bs + "#@" + word + chars + newlines) + ("|(?!" + field_words + r")\w+(?!\w)" if words else "")
        if field_char_token:
            inner += "|" + field_char_token
        if multi_line:
            strings = "'[^'" + bs + r"\r\n]*'|" + '"[^"' + bs + r'\r\n]*"'
        else:
            other = "'" if quote == '"' else '"'
            strings = other + "[^" + other + quote + bs + r"\r\n]*" + other
        return r"\{(?!\{)(?:" + inner + "|" + strings + r"|\{(?:" + inner + r")*\})*\}"

    def string(quote: str, triple: bool) -> str:
        end = quote * 3 if triple else quote
        opening = end if triple else quote + "(?!" + quote * 2 + ")"
        prefix = "(?:" + "|".join(f"(?<={p}{end})(?<!\\w{p}{end})" for p in ("[fF]", "[fF][rR]", "[rR][fF]")) + ")"
        newlines = "" if triple else r"\r\n"
        close_inside = "|" + quote + "(?!" + quote * 2 + ")" if triple else ""
        plain = "(?:" + _GL201_run(quote + bs + newlines) + "|" + _GL201_ESCAPE + close_inside + ")*" + end
        formatted = (
            "(?:" + _GL201_run(quote + bs + newlines + "{}") + "|" + _GL201_ESCAPE + close_inside + r"|\{\{|\}\}|" + field(triple, quote) + ")*" + end
        )
        return opening + "(?:" + prefix + formatted + "|(?!" + prefix + ")" + plain + ")"

    strings = "|".join(string(quote, triple) for triple in (True, False) for quote in ('"', "'"))
    tokens = [_GL201_run(stop), *(["(?!" + words + r")\w+(?!\w)"] if words else []), _GL201_ESCAPE, r"#[^\r\n]*(?![^\r\n])", strings]
    if char_token:
        tokens.append(char_token)
    unreadable = "['\"]" if _GL201_POSSESSIVE else "(?=['\"])(?!" + strings + ")['\"]"
    if after_unreadable:
        unreadable += r"[\s\S]*?" + after_unreadable
    finals = ([words] if words else []) + ([char_finals] if char_finals else []) + [unreadable]
    loop = "*+" if _GL201_POSSESSIVE else "*"
    return r"\A(?:" + "|".join(tokens) + ")" + loop + "(?:" + "|".join(finals) + ")"


# GL201 fires on a PREACTIVATION role (semantics.role_of) whose forward kind is None or the derivative's:
# the derivative's kind is sigmoid/tanh/softmax (the formula's shape) or its class forward's kind when
# that kind's convention matters (also log-softmax, softplus); in a backward's inline formula the kind
# must be None or sigmoid/softmax/tanh. Relu-like kinds never match, so the role's evidence is one of:
# - an affine map (semantics._binary_role: a `+` with a term that is `@` (MatrixMultiply) or a call
#   whose callee ends in `dot`/`matmul`, through aliases): `@` or a `dot(`/`matmul(` call;
# - the input of a forward of a non-relu kind: its text is a library call or name (semantics.
#   _library_forward, _LIBRARY_FORWARDS, _attribute_forward_kinds: exact last names tanh, expit,
#   sigmoid, softmax, log_softmax, logaddexp; `np.tanh` stored in `self.f` counts uncalled) or an
#   inline formula (_forward_formula: sigmoid/softmax/tanh/log-softmax built on `exp(` calls; a
#   `logsumexp(` call; softplus log1p(exp(x)) / log(1 + exp(x)) also holds `exp(`);
# - the input of a callable with several forward kinds (forward_kind None): if all are relu-like they
#   are relu and leaky relu, and leaky relu is only `maximum(`/`fmax(a * x, x)` or `where(x > 0, x, a*x)`.
# The cheap needs below merge words sharing a literal into one alternative (each alternative costs one
# substring scan of the text, see precheck.literal_hint): `exp(`, expit, logaddexp, logsumexp (exp);
# `maximum(`, `fmax(` (max); softmax, log_softmax (softmax).
_GL201_EXP = r"exp(?:(?<!\wexp)(?:" + _GL201_CALL + r"|it\b)|(?<=\blogaddexp)\b|(?<=\blogsumexp)\b)"
_GL201_MAX_CALL = r"max(?:imum(?<!\wmaximum)|(?<=\bfmax))" + _GL201_CALL
_GL201_SOFTMAX = r"softmax\b(?:(?<!\wsoftmax)|(?<=\blog_softmax))"
_GL201_CODE_WORDS = r"(?:dot|matmul|exp|maximum|fmax|where)\b" + _GL201_CALL + r"|(?:tanh|expit|sigmoid|softmax|log_softmax|logaddexp|logsumexp)\b"
_GL201_EVIDENCE = (  # the same evidence anywhere in the text (cheap, literal-first): filters before the code search
    _GL201_MATMUL + r"|\b(?:dot|matmul|where)" + _GL201_CALL + "|" + _GL201_EXP + "|" + _GL201_MAX_CALL
    + r"|\btanh\b|\bsigmoid\b|" + _GL201_SOFTMAX
)
# The `dot(`, `matmul(` and `where(` of the evidence count only as attribute calls: semantics._is_matmul (an
# affine map's term) accepts `_library_call(value, "dot", "matmul")` or an Attribute callee `x.dot(y)`, and
# _library_forward reads `where(` only through `_library_call(call, "where")`; _library_call asks that the
# callee's dotted name have a head in _LIBRARY_PREFIXES or starting with np./numpy./torch./scipy. (never
# the empty head of a bare `dot(5)` or imported `where(`, nor `self.where(`). The predicate
# preactivation_evidence (gradlint.precheck_predicates) admits a text with one such call (a `.` before the
# word, across blanks, line breaks, continuations, comments; for matmul/where a head ending in a prefix's
# last name, or an attribute, or a `)`), or with the rest of the evidence: these parts, each with the
# literal all its matches start with (searched one at a time, literal first; the decorator-checking `@` last).
_GL201_OTHER_EVIDENCE_PARTS = (
    ("exp", _GL201_EXP), ("max", _GL201_MAX_CALL), ("tanh", r"tanh(?<!\wtanh)(?!\w)"),
    ("sigmoid", r"sigmoid(?<!\wsigmoid)(?!\w)"), ("softmax", _GL201_SOFTMAX), ("@", _GL201_MATMUL),
)
_GL201_LIBRARY_CALL_OR_OTHER = "predicate:preactivation_evidence"
# a numeric zero as semantics._number reads it (0, 0.0, .0, 0e0, 0x0, -0, (0); a superset), with the blanks,
# comments and closing parentheses after it, up to what follows the comparison
_GL205_ZERO = (
    r"[\s(\\-]*(?:#[^\r\n]*[\r\n][\s(\\-]*)*\.?0(?:[\w.]|(?<=[eE])[-+])*[\s)\\]*(?:#[^\r\n]*[\r\n][\s)\\]*)*"
)
# a matmul `@` in code, or the evidence's words anywhere (a faster code search first: most `@` in texts
# without the words are in e-mail addresses, strings and decorators)
_GL201_MATMUL_IN_CODE = (
    r"\b(?:dot|matmul|where)" + _GL201_CALL + "|" + _GL201_EXP + "|" + _GL201_MAX_CALL + r"|\btanh\b|\bsigmoid\b|"
    + _GL201_SOFTMAX + "|" + _code_search("", "", "@", _GL201_MATMUL, field_char_finals="@", after_unreadable="@")
)
# the evidence above in code (a code search); an `@` is a matmul unless it is a decorator's (_GL201_MATMUL)
_GL201_IN_CODE = _code_search(
    _GL201_CODE_WORDS, r"(?:dot|matmul|exp|maximum|fmax|where|tanh|expit|sigmoid|softmax|log_softmax|logaddexp|logsumexp)\b",
    "@", _GL201_MATMUL, field_char_finals="@",  # an `@` in an f-string field stops the reading (admits)
)
# GL205 fires only on the output of a forward of kind sigmoid, softmax, tanh, relu or leaky relu
# (_WRONG_FOR, _SELF_RETURNING, _mixed_factors; never log-softmax or softplus): a library name (tanh,
# expit, sigmoid, softmax, counted uncalled: _LIBRARY_FORWARDS), an `exp(` formula, a `maximum(`/`fmax(`
# call, `where(x > 0, ...)` or the mask `x * (x > 0)` (semantics reads `x > 0` / `x >= 0` only in this
# order, then `,` or `)`), or the in-place relu `x[x < 0] = 0` (then `]` or `,`). These are the only relu
# and leaky-relu readings (semantics._library_forward: maximum/fmax, and `where` whose first positional
# argument is the Comparison; _forward_formula's Multiply branch: a Comparison operand of `*`, so
# parenthesised, next to the `*`; _compute_forward: a subscript store of zero whose first index is the
# Comparison): the predicate relu_or_forward_word (gradlint.precheck_predicates) admits a text only with a
# forward word or one of these contexts around a comparison with zero (a `>`/`>=` zero is otherwise in
# every other file: `assert n > 0, msg`, `while (i > 0)`, `f(n >= 0)`).
_GL205_FORWARD_WORDS = r"(?:exp|maximum|fmax)\b" + _GL201_CALL + r"|(?:tanh|expit|sigmoid|softmax)\b"
# (`x[x < 0 < y] = 0` too: _compute_forward reads the subscript's first comparison without asking that it be
# the only one, so after the `<` zero another comparison operator may follow)
_GL205_COMPARISON = r">=?" + _GL205_ZERO + r"[,)]|<=?" + _GL205_ZERO + r"(?:[,\]<>=!]|(?:in|is|not)(?!\w))"
_GL205_FORWARD = (  # anywhere in the text (cheap, literal-first; merged as _GL201_EXP: exp( and expit)
    r"exp(?<!\wexp)(?:" + _GL201_CALL + r"|it\b)|" + _GL201_MAX_CALL + r"|\btanh\b|\bsigmoid\b|softmax(?<!\wsoftmax)\b|"
    + _GL205_COMPARISON
)
_GL205_IN_CODE = _code_search(  # in f-string fields, any `<`/`>` before a zero stops the reading (admits)
    _GL205_FORWARD_WORDS, r"(?:exp|maximum|fmax|tanh|expit|sigmoid|softmax)\b", "<>", _GL205_COMPARISON,
    field_char_finals=r"[<>]=?[\s(\\-]*\.?0",
)
# GL202 fires only on a forward kind whose convention matters (sigmoid, tanh, softmax, log-softmax,
# softplus: a library name among these, or a formula on `exp(`); GL102 only on a softmax output (a
# `softmax` name, or e / sum(e) on `exp(`), a subset: both use this code search (evaluated once).
_GL202_NONLINEARITY = _GL201_EXP + r"|\btanh\b|\bsigmoid\b|" + _GL201_SOFTMAX
_GL202_IN_CODE = _code_search(
    r"exp\b" + _GL201_CALL + r"|(?:tanh|expit|sigmoid|softmax|log_softmax|logaddexp|logsumexp)\b",
    r"(?:exp|tanh|expit|sigmoid|softmax|log_softmax|logaddexp|logsumexp)\b",
)

# GL101 walks For/While nodes and GL402 FunctionDef nodes: their keywords are code, outside comments
# and strings (a text that is mostly strings, such as pydoc_data/topics.py, holds `for`, `def` and
# `] =` in its strings only).
_GL101_LOOP_IN_CODE = _code_search(r"(?:for|while)\b", r"(?:for|while)\b")
_GL402_DEF_IN_CODE = _code_search(r"def\b", r"def\b")
# GL103: the diagonal call or the loop's `if i == j:` header with its store, in code (not in a docstring
# such as pickletools' "an identity (this is so ..."); the header's `if`/`elif` is an identifier token of
# the code search, so the word starts there.
_GL103_IN_CODE = _code_search(
    _GL103_DIAGONAL_CALL[2:] + r"|(?:el)?if(?!\w)" + _GL103_INDEX_BRANCH[len(r"if(?<![^\sl]if)"):]
    + r"|(?:\d\w*?)?if(?!\w)" + _GL103_CONDITIONAL_TAIL,  # an identifier run may be `1if` (a number, then if)
    r"(?:diag|diagflat|eye|identity|if|elif)\b|\d\w*?if\b",
)
# GL402's evidence for a method may be its class's name: the rule tests `class NAME` built from the name,
# so a header written `class \\<line break> ReluLayer:` counts too (a backslash between the words).
_GL402_CLASS_NAME = (
    r"class[\s\\]+\w*(?:[Bb]ackward|[Bb]ackprop|bprop|[Gg]rad|[Dd]eriv|[Pp]rime|[Rr]e[Ll][Uu]|[Ss]igmoid|[Ss]oftmax"
    r"|[Tt]anh|[Aa]ctivation|[Ff]orward|[Cc]ost|[Ll]oss)"
)

# GL206: a carried gradient (`dh_next`, `dc_prevt`, `grad_h_next`) as the target of an Assign, alone or in a
# tuple or list target: its `next` or `prev` (spelled as recurrent_gradient_not_carried.CARRIED_NAME spells
# them), the rest of the name, then closing parentheses or brackets, blanks, line continuations or comments
# before the `=` or the `,` that follows an element of a tuple. Literal-first: the name's `d`/`grad`
# prefix is read by the predicate carried_gradient_assigned (gradlint.precheck_predicates), from the
# identifier's start.
_GL206_CARRIED_ZEROED = r"(?:next|Next|NEXT|prev|Prev|PREV)\w*(?:[\s\\)\]]|#[^\r\n]*(?![^\r\n]))*(?:=(?!=)|,)"

# GL107: see its entry
_GL107_GAP = r"(?:[\s\\]|#[^\r\n]*(?![^\r\n]))*"
_GL107_TRANSPOSED_BESIDE_PRODUCT = (
    rf"(?:\.T|\.transpose\(\)|transpose\([A-Za-z_][\w.]*\)){_GL107_GAP}\*(?![*=])"
    rf"|\*{_GL107_GAP}(?:[A-Za-z_][\w.]*\.T\b|[A-Za-z_][\w.]*\.transpose\(\)|(?:np|numpy)\.transpose\()"
)

_ENTRIES: tuple[RuleEntry, ...] = (
    RuleEntry("GL001", "syntax_error"),
    RuleEntry("GL002", "io_error"),
    RuleEntry("GL003", "unused_noqa"),  # judged after the others (gradlint.api.check_source); off by default
    RuleEntry("GL101", "overwritten_diagonal", (_GL101_LOOP, _GL101_PAIR, _GL101_LOOP_IN_CODE)),
    # GL103: a diagonal call (matrix formulas), the loop's `if i == j:` store (_GL103_INDEX_BRANCH) or a
    # conditional entry `s[i] * (1 if i == j else 0 - s[j])` (_GL103_INDEX_CONDITIONAL, also for the third need);
    # the non-diagonal part (OUTER/SCALAR/TRANSPOSED/SQUARE: outer, dot, matmul, @, *, einsum, square, **)
    # or M * (I - M) or the loop's off-diagonal product (algebra.expand: *, **, multiply, square); the
    # diagonal call or the loop's `else:` store; the diagonal call or the loop around the If.
    RuleEntry("GL103", "malformed_softmax_jacobian", (
        _GL103_DIAGONAL_CALL + "|" + _GL103_INDEX_BRANCH + "|" + _GL103_INDEX_CONDITIONAL,
        r"[*@]|outer|dot|einsum|multiply|matmul|square",
        _GL103_DIAGONAL_CALL + "|" + _GL103_ELSE_STORE + "|" + _GL103_INDEX_CONDITIONAL,
        r"\bfor\b|\bwhile\b|" + _GL103_DIAGONAL_CALL,  # alternatives are tried in order: the common first
        # the diagonal call, or an If whose body and `else:` body are one Assign each to the same target
        # (_check_loop_branch: _last_store, equal code_for targets), in code (_GL103_IN_CODE, asked by the
        # predicate only when a call outside comment and doctest lines, or such an If, is in the text)
        "predicate:diagonal_call_or_index_branch",
    )),
    # GL102: a softmax output (a `softmax` name, or e / sum(e): an `exp(` call and _sum_of's sum/nansum) and a
    # logistic form (a subtraction); the nonlinearity also in code (_GL202_IN_CODE: a superset of GL102's)
    RuleEntry("GL102", "elementwise_softmax_derivative", (
        r"exp(?<!\wexp)" + _GL201_CALL + r"|softmax(?<!\wsoftmax)\b", r"\bsoftmax\b|sum", r"-|subtract", _GL202_IN_CODE,
    )),
    # GL203: (1) a call whose tail is in BACKWARD_METHODS, or (local softmax backwards and _products) the
    # rule's own _SOFTMAX_TEXT (`\bexp\s*\(|softmax\s*\(`, kept equal to it); (2) the softmax derivative
    # it pairs: in another module only through an attribute call (_loop_layer/_imported_layer), else
    # here: a softmax forward (library softmax, or e / sum(e): _sum_of), a softmax-Jacobian form
    # (_GL103_DIAGONAL), or a logistic form stored into a matrix element (in_matrix: an element store
    # `J[i, j] =`, `+=`, `J[i, j]:`, `J[i, j], k =`); (3) as (1), but a bare-name tail call counts only
    # when the name is bound here (_GL203_BACKWARD_BOUND). Alternatives are tried in order: common first.
    RuleEntry("GL203", "double_softmax_derivative", (
        _GL203_BACKWARD_TAIL + r"|\bexp\s*\(|softmax\s*\(",
        r"\]" + _GL103_GAP + r"(?:[-+*/@%&|^<>]{0,2}=(?!=)|[:,)])|softmax|sum" + _GL103_CALL_GAP + r"\(|"
        + _GL103_DIAGONAL + "|" + _GL104_BACKWARD_CALL,
        r"\bexp\s*\(|softmax\s*\(|" + _GL203_BACKWARD_BOUND + "|" + _GL104_BACKWARD_CALL,
    )),
    # GL206: a carried-gradient name (recurrent_gradient_not_carried.CARRIED_NAME) bound by an Assign, alone
    # or as an element of a tuple target (_zero_before, _unread_carries; the seeded and reset shapes take a
    # bare Name target only), in a function with a `for` loop that walks backwards (reversed(...), or a
    # negative step or slice: a `-`)
    RuleEntry("GL206", "recurrent_gradient_not_carried", (
        _GL206_CARRIED_ZEROED, r"\bfor\b", r"reversed|-", "predicate:carried_gradient_assigned",
    )),
    # GL205: see _GL205_COMPARISON; the predicate reads the comparison's context (where's first argument,
    # a `*` operand, a subscript store of zero): gradlint.precheck_predicates.relu_or_forward_word
    RuleEntry("GL205", "derivative_of_wrong_function", (_GL205_FORWARD, _GL205_IN_CODE, "predicate:relu_or_forward_word")),
    # GL105: only in a backward (is_backward); a Jacobian part classify reads as OUTER/TRANSPOSED/SCALAR
    # (outer, dot, matmul, @, * or multiply broadcasts, einsum) or a derivative call returning a Jacobian
    # (a softmax-Jacobian form: diag/diagflat/eye/identity; a Jacobian role: also outer/einsum, or a
    # np.zeros/empty/ones((n, n)) filled element by element, e.g. with np.square and no `*`); or a ReLU mask
    # from the gradient (_rectifier_masks_from_gradient: a comparison, `<` or `>`).
    RuleEntry("GL105", "jacobian_from_upstream_gradient", (
        _GL105_BACKWARD_DEF, r"[*@<>]|outer|dot|matmul|multiply|einsum|diag|\beye\b|identity|\b(?:zeros|empty|ones)\b",
    )),
    # GL107: `A.T * M * A` or `A * M * A.T` (_sandwiched): a transposed factor written as _TRANSPOSED reads it
    # (`A.T`, `A.transpose()`, `np.transpose(A)`) right before the first `*` or right after the second, with
    # blanks, line continuations or comments between; `A` bound to a numpy builder (_builds_matrix).
    RuleEntry("GL107", "elementwise_jacobian_sandwich", (
        _GL107_TRANSPOSED_BESIDE_PRODUCT, r"eye|identity|stack|block|concatenate|zeros|ones|empty|full|array",
    )),
    # GL104: `J * g` or `np.multiply(J, g)`; J a Jacobian (a library call, or a square allocation filled
    # by element stores); g a gradient role: the gradient parameter of a backward, a backward method's
    # returned gradient, or a loss gradient built on an activation.
    RuleEntry("GL104", "jacobian_elementwise_product", (
        r"\*|multiply",
        _GL104_ELEMENT_STORE + "|" + _GL104_JACOBIAN,  # alternatives are tried in order: the cheap first
        _GL104_SQUARE_ALLOCATION + "|" + _GL104_JACOBIAN,
        _GL104_ACTIVATION + "|" + _GL105_BACKWARD_DEF + "|" + _GL104_BACKWARD_CALL,
    )),
    # GL201: a derivative (a def or lambda) with a formula (s*(1-s), 1-s**2, diag(s) - outer(s, s): a
    # subtraction) fed a pre-activation (see the comment above _GL201_EXP)
    RuleEntry("GL201", "jacobian_from_preactivation", (
        r"\bdef\b|\blambda\b", r"-|subtract", _GL201_EVIDENCE, _GL201_MATMUL_IN_CODE, _GL201_IN_CODE,
        _GL201_LIBRARY_CALL_OR_OTHER,  # the evidence's dot/matmul/where only as library attribute calls
    )),
    # GL202: a derivative or backward (a def or lambda) applying a nonlinearity whose convention matters
    RuleEntry("GL202", "derivative_fed_activation", (r"\bdef\b|\blambda\b", _GL202_NONLINEARITY, _GL202_IN_CODE)),
    # GL204: only on a backward's gradient parameter (is_backward); its other evidence (a derivative
    # formula's `-`, a comparison with 0, a class forward, a nonlinearity) is in nearly every file.
    # Or on a JAX JVP rule, registered by `f.defjvp` (a decorator or a call; checked only when the
    # text holds `defjvp`).
    RuleEntry("GL204", "upstream_gradient_unused", (_GL105_BACKWARD_DEF + r"|defjvp",)),
    # a division (`/`, `/=`) of an exp (numerics.softmax_parts) by a sum of it
    RuleEntry("GL301", "unstable_softmax", (_GL301_EXP, _GL301_EXP_COMMENTED, _GL301_SUM, r"/")),
    # GL301's softmax shape, shifted by a global max call (numerics.max_shift: max/amax/nanmax)
    RuleEntry("GL302", "global_max_shift", (_GL301_EXP, _GL301_EXP_COMMENTED, _GL301_SUM, rf"max{_GL301_BLANK}{_GL301_CLOSE}\(", r"/")),
    # a log call (numerics.operation "log"; _GL303_MODULE says how it is spelled), of a softmax/sigmoid
    # output (an exp or a library name in the text) or of a cross-entropy's parameter (_GL303_LOG_OF_NAME)
    RuleEntry("GL303", "unguarded_log", (
        rf"\blog{_GL301_BLANK}{_GL301_CLOSE}\(", _GL303_MODULE,
        f"{_GL301_EXP}|{_GL303_SOURCE}", f"{_GL301_EXP_COMMENTED}|{_GL303_SOURCE}",
    )),
    # a division (`/` or np.divide/true_divide) by a probability, with one of four kinds of evidence
    # (see _GL304_PROBABILITY): a source (an exp or a library name), a matching loss's log, or a
    # complement divisor, first read loosely (any `/ (` or np.divide), then exactly; the loss's log names
    # a numeric module; a source by body has a softmax or sigmoid shape (_GL304_SHAPE)
    RuleEntry("GL304", "unguarded_division", (
        rf"/|divide{_GL301_BLANK}{_GL301_CLOSE}\(",
        rf"{_GL301_EXP}|{_GL304_PROBABILITY}|{_GL304_LOG}|/{_GL301_BLANK}\(|divide{_GL301_BLANK}{_GL301_CLOSE}\(",
        f"{_GL301_EXP_COMMENTED}|{_GL304_PROBABILITY}|{_GL304_LOG}|{_GL304_COMPLEMENT_DIVISOR}",
        f"{_GL301_EXP}|{_GL304_PROBABILITY}|{_GL304_COMPLEMENT_DIVISOR}|{_GL303_MODULE}",
        rf"{_GL304_SHAPE}|{_GL304_LOG}|{_GL304_DIVIDE}"
        rf"|/{_GL301_BLANK}(?:{_GL304_AFTER_SLASH_SIGMOID}|{_GL304_AFTER_SLASH_COMPLEMENT})",
    )),
    # an exp in a tanh/sigmoid ratio (a division `/ (`) or in a softplus log/log1p; or the sigmoid's
    # derivative `exp(a) / (1 + exp(a))**2` (a division `/ (`, the square written `** 2`, `2.` or `2.0`),
    # or the sigmoid itself `exp(a) / (1 + exp(a))` (_GL305_SHAPE)
    RuleEntry("GL305", "unstable_activation", (
        _GL301_EXP, _GL301_EXP_COMMENTED, rf"/{_GL301_BLANK}\(|\blog(?:1p)?{_GL301_BLANK}{_GL301_CLOSE}\(",
        rf"{_GL305_SHAPE}|\*\*{_GL301_BLANK}{_GL301_OPEN}2(?:\.0?)?(?![\w.])",
    )),
    # GL306: a `*` (both slips hold one: `/ 2 * h`, a divisor `2 * h`), and the predicate finite_difference_slip
    # (gradlint.precheck_predicates): `/ 2 *`, or one line `minus[i] = plus[i] - h` around a plus/minus word
    RuleEntry("GL306", "broken_gradient_check", (r"\*", "predicate:finite_difference_slip")),
    # the reduction's own text matches _GL401_REDUCTION (the rule checks it), combined by `/` or `-`
    # and (_reduces) the reduction's operand (its receiver or first positional argument), or a factor of a
    # product operand, is the left side itself: that text right before a `-` or `/` (the predicate
    # reduced_array_combined, gradlint.precheck_predicates; `np.sum(x, axis=1) / n` is no finding)
    RuleEntry("GL401", "reduction_without_keepdims", (_GL401_REDUCTION, r"[-/]", _GL401_AXIS, "predicate:reduced_array_combined")),
    # an in-place write in a function whose text matches _GL402_EVIDENCE (the rule checks it); the
    # function (check walks FunctionDef nodes: a `def` keyword) and the write (an AugAssign, an Assign
    # target, an `out=` keyword: syntax) are code, outside comments and strings (searched in the code view)
    # The write and the evidence must be in one function (its code, or its class's name): the predicate
    # write_in_evidence_function (gradlint.precheck_predicates) looks for the evidence only around each
    # write, within the top-level statement holding it (a file's unrelated `def forward` or `dout` is
    # not evidence for a write elsewhere).
    RuleEntry("GL402", "input_mutated_in_place", (
        _GL402_WRITE, _GL402_EVIDENCE + "|" + _GL402_CLASS_NAME, _GL402_DEF_IN_CODE, "predicate:write_in_evidence_function",
    )),
    RuleEntry("GL901", "gradient_mismatch", (r"(?!)",)),  # runtime stage only: never pre-checked in
)

RULES: dict[str, RuleEntry] = {entry.code: entry for entry in _ENTRIES}

# Codes reported by the engine itself rather than by a rule's check.
# GL901 is reported by the runtime stage (gradlint.runtime), never by a static check.
ENGINE_CODES = frozenset({"GL001", "GL002", "GL003", "GL901"})


def all_codes() -> list[str]:
    return sorted(RULES)


def codes_matching(selector: str) -> list[str]:
    """Codes selected by a code, a prefix (`GL1`), or `ALL`."""
    if selector.upper() == "ALL":
        return all_codes()
    return [code for code in all_codes() if code.startswith(selector.upper())]


@lru_cache(maxsize=None)
def load_rule(code: str) -> "type[Rule]":
    """Import the module implementing `code` and return its rule class."""
    from gradlint.rule import Rule

    entry = RULES[code]
    module = importlib.import_module(f"gradlint.rules.{entry.module}")
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.code == code:
            return value
    raise LookupError(f"module gradlint.rules.{entry.module} defines no rule with code {code}")


def load_rules(codes: Iterable[str]) -> "list[type[Rule]]":
    return [load_rule(code) for code in sorted(codes)]


def rule_by_name(name: str) -> "type[Rule] | None":
    for code in all_codes():
        rule = load_rule(code)
        if rule.name == name:
            return rule
    return None


@lru_cache(maxsize=64)
def _prechecker(codes: frozenset[str]) -> "Prechecker":
    from gradlint.precheck import Prechecker

    return Prechecker({code: RULES[code].needs for code in codes})


def _gated(codes: Iterable[str]) -> frozenset[str]:
    """The pre-checked codes among `codes`: one pre-checker (and its memory of the last text)
    serves the driver, which asks with a file's enabled codes, and the engine, which asks
    without the engine's own codes."""
    return frozenset(code for code in codes if code not in ENGINE_CODES)


def candidates(text: str, codes: Iterable[str], thorough: bool = False) -> frozenset[str]:
    """The rule codes among `codes` whose `needs` all match `text` (see gradlint.precheck;
    `thorough`: every need evaluated, even in a run's first texts)."""
    return _prechecker(_gated(codes)).candidates(text, thorough)


def remember_candidates(text: str, codes: Iterable[str], found: frozenset[str]) -> None:
    """Record the pre-check's verdict on `text`, reached elsewhere (a worker process is told it by the
    process that read the file), so that `candidates` returns it without pre-checking again."""
    _prechecker(_gated(codes)).remember(text, found)


def precheck(text: str, codes: Iterable[str]) -> bool:
    """True when `text` may hold something one of the rules `codes` reports."""
    return bool(candidates(text, codes))
