"""GL901 gradient-mismatch: the runtime checker ran a derivative and it disagreed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Rule

if TYPE_CHECKING:
    from gradlint.analysis import ModuleAnalysis


class GradientMismatch(Rule):
    """Reported by the runtime stage (`gradlint.runtime`), never by a static check.

    The code lives in the registry like every other (selection, `noqa`, docs),
    but it is an engine code: plain `check` never runs it and its pre-check
    pattern never matches, so it costs nothing without `--runtime`. There are no
    VALID/INVALID cases here because a verdict needs the code to run; the
    runtime tests (tests/test_runtime*.py, tests/runtime_cases/) hold its
    confirmed and passed examples.
    """

    code = "GL901"
    name = "gradient-mismatch"
    severity = Severity.ERROR
    summary = "The derivative was run against a numerical reference and disagreed beyond tolerance."
    what_it_does = """
        Only with `gradlint check --runtime` or `gradlint verify`. Every derivative function
        or method the semantic model recognises (or the one named to `verify`) is run in a
        sandboxed process on random float64 inputs and compared with a reference: the
        analytic derivative when its forward is recognised (softmax, log-softmax, sigmoid,
        tanh, relu, leaky relu, softplus, cross-entropy, binary cross-entropy, MSE), else
        central differences of its own forward (the same class's `forward`, or a function
        paired by name: `f` / `f_prime`). The plausible calling conventions are tried
        (logits or activations; shapes (n,), (n, 1), (1, n), (N, n); a Jacobian, per-sample
        Jacobians, a diagonal, or a vector-Jacobian product with an upstream gradient).
        A relative error of at least 1e-3 in the closest convention is reported as an
        error; between 1e-6 and 1e-3, after a Richardson recheck, as a warning. The message
        names the convention, the worst entry, expected vs got, the relative error, and the
        likely mistake when the numbers show one (diagonal only, transposed, sign flipped,
        off by a constant factor such as the batch size or 2, activation and
        pre-activation swapped). A function whose convention is not recognised is
        reported as `unknown`, never as a mismatch. So is a softmax backward that passes its
        gradient through (`return grad`, or ones as its derivative): the design of a fused
        softmax + cross-entropy loss; the verdict names the fused loss gradient when one is in
        the module or a neighbouring one. A softmax layer whose forward normalises the rows of
        a batch is also judged on a (3, 5) batch, where a VJP that drops `keepdims` or sums over
        the whole batch shows.

        A module-level function `f(W, X, y, reg)` returning `(loss, dW)` (the CS231n
        convention: `svm_loss_naive`, `softmax_loss_vectorized`) is checked against its own
        loss: dW against central differences of the returned loss with respect to W, on
        W (6, 4), X (9, 6), integer labels y, and reg = 0.25 and 0 (the column layout
        W (C, D), X (D, N) when the row layout does not run). Entries at a kink of the loss
        (an SVM's hinge) are left out, and a mismatch is reported only when all three random
        draws show it. The message separates the data term (reg = 0) from the
        regularisation term ("the gradient's regularisation term is reg*W, but the loss adds
        reg*sum(W*W), whose gradient is 2*reg*W"). Likewise `loss, dx = f(x, y)` (CS231n's
        `softmax_loss(x, y)`, `svm_loss(x, y)`; named as a loss, returning `dx` or `dscores`
        second), when no other check took it: dx against central differences of its own loss
        on scores x (9, 4) with integer labels (one-hot targets when labels do not run). A
        function that does not run on these inputs, returns something else, or whose loss
        does not change with its first argument is `unknown`.

        Scalar objectives: gradients handed to scipy.optimize (`minimize(f, x0, jac=g)`,
        `jac=True`, `fmin_*(f, x0, fprime=g)`, `check_grad(f, g, x0)`, and `hess=h` against the
        Jacobian of the gradient), objective/gradient pairs named alike (`cost_function` /
        `gradient_function`, `fun` / `gfun`, `rosen` / `rosen_der`), and `J, grad =
        costFunction(theta, X, y[, lambda_])` / `cofiCostFunc` are checked against central
        differences of the objective, in the layouts real code uses (theta flat or a column, X
        with or without an intercept column, y flat or a column, 0/1 or real targets); a
        mismatch only when every layout that runs disagrees on three draws. `args=` that are
        not literals make the check `unknown`.

        Loss code that carries its own derivatives is checked for self-consistency: loss
        classes with `loss`/`__call__`/`forward` and `gradient`/`grad`/`backward` of the same
        `(y, y_pred)` arguments, one-argument penalties (`__call__(w)` / `grad(w)`) and their
        `hess`; xgboost/lightgbm objectives returning `grad, hess` (`dtrain` is a stub whose
        `get_label()` returns labels) and catboost's `calc_ders_range`: each derivative against
        central differences of the code's own loss or gradient. Per-sample gradients of a
        mean, fused sigmoid/softmax gradients, a positive scale of the hess and both argument
        orders are tried first; an opposite sign, a constant hess or a flat gradient is
        `unknown`, never an error. A loss gradient that matches an analytic loss but not the
        loss its own function returns beside it is `unknown`, and a loss judged on one sample
        is also judged on a batch, where a mean over every entry divided by `shape[0]` shows.

        The static findings are kept, each carrying the verdict on what it is about
        (`runtime` in the JSON report): the function holding it, or, for GL201/GL202, the
        derivative run on the kind of value the flagged call passes, and for GL203 the loss
        gradient chained into the softmax layer's backward as the training loop does.
        Forwards holding a finding are run against the reference forward (values, and
        nan/inf at logits of magnitude 1000), and a function with a GL401/GL402 finding is
        called to see whether it modifies its argument or broadcasts a reduced axis.
        """
    why_bad = """
        A static rule says "this looks wrong"; the runtime check says "it is wrong, here
        is an input and the entry where it differs". It also checks derivatives that no
        static rule flagged. A wrong gradient still trains, only worse, so without a
        numerical check the bug can survive for years.
        """
    example = """
        def softmax(z):
            e = np.exp(z - np.max(z))
            return e / np.sum(e)

        def softmax_prime(s):
            return s * (1 - s)  # GL901 with --runtime: diagonal only
        """
    use_instead = """
        def softmax(z):
            e = np.exp(z - np.max(z))
            return e / np.sum(e)

        def softmax_prime(s):
            s = s.reshape(-1, 1)
            return np.diagflat(s) - s @ s.T
        """
    references = (
        "torch.autograd.gradcheck: https://pytorch.org/docs/stable/generated/torch.autograd.gradcheck.html",
        "jax.test_util.check_grads: https://jax.readthedocs.io/en/latest/_autosummary/jax.test_util.check_grads.html",
        "Richardson extrapolation: https://en.wikipedia.org/wiki/Richardson_extrapolation",
    )

    # No static cases: a verdict needs the code to run (see the class docstring).
    VALID = ()
    INVALID = ()

    def check(self, analysis: "ModuleAnalysis") -> Iterator[Finding]:
        """Nothing statically: the runtime stage produces GL901."""
        return iter(())
