"""GL206 recurrent-gradient-not-carried: backpropagation through time reads a carried gradient it never updates."""

from __future__ import annotations

import re
from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.numerics import Binding, Scope, numerics, unwrap
from gradlint.analysis.syntax import ARRAY_METADATA, call_name, last_part, literal_number, written_in_place
from gradlint.diagnostics import Severity
from gradlint.naming import is_gradient_name
from gradlint.rule import Finding, Invalid, Rule, Valid

# A gradient carried between time steps: a `d`- or `grad`-prefixed name that says next or previous
# (`dh_next`, `dC_Prev`, `dprev_h`, `dnext_c`, `grad_h_next`). The registry's need spells `next` and `prev`
# the same ways.
CARRIED_NAME = re.compile(r"(?:d|D|grad|Grad|GRAD)\w*?(?:next|Next|NEXT|prev|Prev|PREV)")
_NEXT_OR_PREV = re.compile(r"next|prev", re.IGNORECASE)
_ZERO_CALLS = frozenset({"zeros", "zeros_like", "new_zeros"})
_LOOPS = (cst.For, cst.While)
# A step's backward, whose unpacked results hold the gradient carried to the step before.
_BACKWARD_NAME = re.compile(r"backward|backprop|bprop|grad", re.IGNORECASE)


class RecurrentGradientNotCarried(Rule):
    code = "GL206"
    name = "recurrent-gradient-not-carried"
    severity = Severity.ERROR
    summary = "A loop backward through time reads the gradient carried from the next step but never updates it."
    what_it_does = """
        Finds a loop that walks time backwards (`for t in reversed(range(T))`, `range(T - 1, -1, -1)`,
        `xs[::-1]`) and reads a gradient carried between steps (a `d`- or `grad`-prefixed name saying
        `next` or `prev` and is a gradient's name by convention: `dh_next`, `dc_prevt`, `dprev_h`, not
        `dist_next`) that is set to zero before the loop (also by a tuple assignment, `dh_next, dc_next =
        np.zeros(...), np.zeros(...)`) and never updated inside it, nor anywhere in a
        loop around it: not assigned, not unpacked, not `+=`, not written into. When the loop computes another carried-gradient name that nothing reads
        (`dh_prev`), the finding names it. Also finds a carried gradient that starts from the last time step
        of a gradient-named parameter (`da_prevt = da[:, :, -1]`) when the loop never reads that parameter:
        the steps before the last never receive the gradient of their own outputs. And a carried gradient
        computed in the loop that nothing reads (min-char-rnn's `dhnext = np.dot(Whh.T, dhraw)` with the
        `+ dhnext` forgotten, or CS231n's `dx[:, t, :], dprev_h, ... = rnn_step_backward(dh[:, t, :], cache[t])`
        with the `+ dprev_h` forgotten), and one set to zero at the start of every step, before it is read.
        """
    why_bad = """
        In a recurrent network the hidden state h_t feeds both the output at step t and the next state
        h_{t+1}, so dL/dh_t = dL/dy_t dy_t/dh_t + dL/dh_{t+1} dh_{t+1}/dh_t. The second term is the
        gradient carried back from step t+1: each step must hand its gradient with respect to its
        input state to the step before. A carried gradient that keeps its initial zeros cuts every
        path through time: each step's weights get only the gradient of its own output, the
        recurrent weights learn nothing about long-range dependencies, and the code still runs.
        """
    example = """
        dh_next = np.zeros_like(h[0])
        for t in reversed(range(T)):
            dh = Why.T @ dy[t] + dh_next
            draw = (1 - h[t] ** 2) * dh
            dWhh += draw @ h[t - 1].T
            dh_prev = Whh.T @ draw
        """
    use_instead = """
        dh_next = np.zeros_like(h[0])
        for t in reversed(range(T)):
            dh = Why.T @ dy[t] + dh_next
            draw = (1 - h[t] ** 2) * dh
            dWhh += draw @ h[t - 1].T
            dh_next = Whh.T @ draw
        """
    references = (
        "Backpropagation through time: https://en.wikipedia.org/wiki/Backpropagation_through_time",
        "Karpathy's min-char-rnn (the carried `dhnext`): https://gist.github.com/karpathy/d4dee566867f8291f086",
    )

    INVALID = (
        Invalid(
            """
            import numpy as np

            def backward_pass(hidden_size, f, i, g, C, o, dvs, W_f, W_i, W_g, W_o, W_v):
                dh_next = np.zeros((hidden_size, 1))
                dC_next = np.zeros((hidden_size, 1))
                dWs = []
                for t in reversed(range(len(dvs))):
                    dh = np.dot(W_v.T, dvs[t]) + dh_next
                    do = dh * np.tanh(C[t]) * o[t] * (1 - o[t])
                    dC = dC_next + dh * o[t] * (1 - np.tanh(C[t]) ** 2)
                    dg = dC * i[t] * (1 - g[t] ** 2)
                    di = dC * g[t] * i[t] * (1 - i[t])
                    df = dC * C[t - 1] * f[t] * (1 - f[t])
                    dWs.append((df, di, dg, do))
                    dz = np.dot(W_f.T, df) + np.dot(W_i.T, di) + np.dot(W_g.T, dg) + np.dot(W_o.T, do)
                    dh_prev = dz[:hidden_size, :]
                    dC_prev = f[t] * dC
                return dWs
            """,
            line=8,
            count=2,
            message="`dh_prev`, computed on line 16, is never read: assign it to `dh_next`",
            why="real code (kalupad/LSTM-numpy pass_functions.py, rw4c miss/10): dh_prev and dC_prev are computed, "
            "dh_next and dC_next stay zero",
        ),
        Invalid(
            """
            import numpy as np

            def lstm_backward(da, caches, lstm_cell_backward):
                (caches, x) = caches
                n_a, m, T_x = da.shape
                da_prevt = np.zeros((n_a, m))
                dc_prevt = np.zeros((n_a, m))
                dWf = np.zeros((n_a, n_a))
                for t in reversed(range(T_x)):
                    gradients = lstm_cell_backward(da[:, :, t], dc_prevt, caches[t])
                    dWf += gradients["dWf"]
                return {"da0": gradients["da_prev"], "dWf": dWf}
            """,
            line=10,
            message="`dc_prevt`, the gradient carried back from the next time step, is read here but never updated",
            why="real code (ernestng11/rnn-from-scratch lstm_backward.py, rw4a miss/10): the cell's dc_prev is dropped "
            "and the cell always gets zeros",
        ),
        Invalid(
            """
            import numpy as np

            def bptt(xs, hs, ps, targets, Wxh, Whh, Why):
                dWhh = np.zeros_like(Whh)
                dhnext = 0
                for t in range(len(xs) - 1, -1, -1):
                    dy = np.copy(ps[t])
                    dy[targets[t]] -= 1
                    dh = np.dot(Why.T, dy) + dhnext
                    dhraw = (1 - hs[t] * hs[t]) * dh
                    dWhh += np.dot(dhraw, hs[t - 1].T)
                return dWhh
            """,
            line=9,
            message="it keeps the zeros set on line 5",
            why="a negative-step range and a scalar zero; nothing carries the step's gradient back",
        ),
        Invalid(
            """
            import numpy as np

            class RNN:
                def backward(self, dys):
                    dh_next = np.zeros(self.hidden)
                    for dy, h in zip(dys[::-1], self.hs[::-1]):
                        dh = self.Why.T @ dy + dh_next
                        self.dWhh += np.outer((1 - h ** 2) * dh, h)
                    return self.dWhh
            """,
            line=7,
            why="a loop over reversed slices (`[::-1]`) inside a method",
        ),
        Invalid(
            """
            import numpy as np

            def train(data, Whh, Why, epochs):
                for epoch in range(epochs):
                    hs, dys = data[epoch]
                    dWhh = np.zeros_like(Whh)
                    dh_next = np.zeros_like(hs[0])
                    for t in reversed(range(len(dys))):
                        dh = Why.T @ dys[t] + dh_next
                        dhraw = (1 - hs[t] ** 2) * dh
                        dWhh += np.outer(dhraw, hs[t - 1])
                    Whh -= 0.1 * dWhh
                return Whh
            """,
            line=9,
            why="the zero is set again at each epoch, before the loop through time: still never carried",
        ),
        Invalid(
            """
            import numpy as np

            def lstm_backward(dh, cache, step_backward):
                N, T, H = dh.shape
                dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))
                for t in reversed(range(T)):
                    dx, dh_prev, dc_prev = step_backward(dh[:, t, :] + dh_next, dc_next, cache[t])
                return dx
            """,
            line=7,
            count=2,
            message="`dh_prev`, computed on line 7, is never read: assign it to `dh_next`",
            why="the adversarial review (rev12a miss/03): both carries zeroed by one tuple assignment, the step's "
            "`dh_prev` and `dc_prev` unpacked and dropped",
        ),
        Invalid(
            """
            import numpy as np

            def rnn_backward(dh, cache, rnn_step_backward):
                N, T, H = dh.shape
                dx = np.zeros((N, T, cache[0][0].shape[1]))
                dWh = 0
                for t in reversed(range(T)):
                    dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :], cache[t])
                    dWh += dWh_t
                return dx, dWh
            """,
            line=8,
            message="`dprev_h`, the gradient carried back to the previous time step, is computed here each step but never read",
            why="the CS231n rnn_backward slip: the step's dprev_h is unpacked and dropped instead of added to dh[:, t - 1]",
        ),
        Invalid(
            """
            import numpy as np

            def rnn_backward(da, caches, rnn_cell_backward):
                (caches, x) = caches
                n_a, m, T_x = da.shape
                dWaa = np.zeros((n_a, n_a))
                da_prevt = da[:, :, -1]
                for t in reversed(range(T_x)):
                    gradients = rnn_cell_backward(da_prevt, caches[t])
                    da_prevt = gradients["da_prev"]
                    dWaa += gradients["dWaa"]
                return {"da0": da_prevt, "dWaa": dWaa}
            """,
            line=7,
            message="`da_prevt` starts from `da[:, :, -1]`, the last time step of the upstream gradient `da`, and this "
            "loop through time never reads `da`",
            why="real code (cxmhfut/DeepLearning.ai back_propagation_in_rnn.py rnn_backward, rw4a miss/09): only the "
            "last step's upstream gradient enters; da[:, :, t] is never added",
        ),
        Invalid(
            """
            import numpy as np

            def backward(inputs, targets, hs, ps, Whh, Why):
                dWhh = np.zeros_like(Whh)
                dhnext = np.zeros_like(hs[0])
                for t in reversed(range(len(inputs))):
                    dy = np.copy(ps[t])
                    dy[targets[t]] -= 1
                    dh = np.dot(Why.T, dy)
                    dhraw = (1 - hs[t] * hs[t]) * dh
                    dWhh += np.dot(dhraw, hs[t - 1].T)
                    dhnext = np.dot(Whh.T, dhraw)
                return dWhh
            """,
            line=12,
            message="`dhnext`, the gradient carried back to the previous time step, is computed here each step but never read",
            why="the adversarial review (rev12a miss/02): min-char-rnn with the `+ dhnext` forgotten, the most common "
            "slip; dWhh is off by 0.6 where it reaches 0.7",
        ),
        Invalid(
            """
            import numpy as np

            def backward(inputs, hs, ps, Whh, Why):
                dWhh = np.zeros_like(Whh)
                for t in reversed(range(len(inputs))):
                    dhnext = np.zeros_like(hs[0])
                    dy = np.copy(ps[t])
                    dh = np.dot(Why.T, dy) + dhnext
                    dhraw = (1 - hs[t] * hs[t]) * dh
                    dWhh += np.dot(dhraw, hs[t - 1].T)
                    dhnext = np.dot(Whh.T, dhraw)
                return dWhh
            """,
            line=6,
            message="`dhnext` is set to zero here at the start of every step, before it is read on line 8",
            why="the adversarial review (rev12a miss/04): the carry's zero moved into the loop",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def truncated_backward(dys, hs, Whh, k):
                dh_next = np.zeros_like(hs[0])
                for t in reversed(range(len(dys))):
                    if (len(dys) - t) % k == 0:
                        dh_next = np.zeros_like(hs[0])
                    dh = dys[t] + dh_next
                    dh_next = Whh.T @ ((1 - hs[t] ** 2) * dh)
                return dh
            """,
            why="truncated BPTT: the carry is cut every k steps, under an `if`",
        ),
        Valid(
            """
            import numpy as np

            def torch_style(dys, hs, Whh, T, torch):
                dh_next = torch.zeros(4)
                for t in reversed(range(T)):
                    dh = dys[t] + dh_next
                    dh_next.data = Whh.T @ ((1 - hs[t] ** 2) * dh)
                return dh

            def torch_copy(dys, hs, Whh, T, torch):
                dh_next = torch.zeros(4)
                for t in reversed(range(T)):
                    dh = dys[t] + dh_next
                    dh_next.data.copy_(Whh.T @ ((1 - hs[t] ** 2) * dh))
                return dh

            def with_closure(dys, hs, Whh, T):
                dh_next = np.zeros(4)

                def carry(draw):
                    nonlocal dh_next
                    dh_next = Whh.T @ draw

                for t in reversed(range(T)):
                    dh = dys[t] + dh_next
                    carry((1 - hs[t] ** 2) * dh)
                return dh

            def through_a_view(dh, hs, Whh):
                steps = np.moveaxis(dh, 1, 0)
                dh_next = dh[:, -1, :]
                for t in reversed(range(hs.shape[1])):
                    draw = (1 - hs[:, t, :] ** 2) * dh_next
                    if t > 0:
                        dh_next = draw @ Whh.T + steps[t - 1]
                return dh_next

            def from_the_header(dh, hs, Whh):
                dh_next = dh[-1]
                for t, dh_t in reversed(list(enumerate(dh[:-1]))):
                    dh_next = Whh.T @ ((1 - hs[t + 1] ** 2) * dh_next) + dh_t
                return dh_next
            """,
            why="the adversarial review (rev12a fp/02, 04-06): torch's `.data` writes, a carry re-bound by a nested "
            "function, earlier steps' gradients read through a view or the loop's header",
        ),
        Valid(
            """
            import numpy as np

            def rnn_backward(da, caches, rnn_cell_backward):
                (caches, x) = caches
                n_a, m, T_x = da.shape
                da_prevt = np.zeros_like(da[:, :, -1])
                for t in reversed(range(T_x)):
                    gradients = rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])
                    da_prevt = gradients["da_prev"]
                return da_prevt

            def seeded_backward(dh, hs, Whh, T):
                dh_next = dh[:, -1, :]
                for t in reversed(range(T)):
                    draw = (1 - hs[:, t, :] ** 2) * dh_next
                    if t > 0:
                        dh_next = draw @ Whh.T + dh[:, t - 1, :]
                return dh_next
            """,
            why="the deeplearning.ai answer (da[:, :, t] added each step, the shape read from the last step); a "
            "backward seeded with the last step that adds each earlier step's upstream gradient in the loop",
        ),
        Valid(
            """
            import numpy as np

            def bptt(xs, hs, ps, targets, Wxh, Whh, Why):
                dWhh = np.zeros_like(Whh)
                dhnext = np.zeros_like(hs[0])
                for t in reversed(range(len(xs))):
                    dy = np.copy(ps[t])
                    dy[targets[t]] -= 1
                    dh = np.dot(Why.T, dy) + dhnext
                    dhraw = (1 - hs[t] * hs[t]) * dh
                    dWhh += np.dot(dhraw, hs[t - 1].T)
                    dhnext = np.dot(Whh.T, dhraw)
                return dWhh
            """,
            why="min-char-rnn: the carried gradient is reassigned each step",
        ),
        Valid(
            """
            import numpy as np

            def rnn_backward(dh, cache, step_backward):
                N, T, H = dh.shape
                dprev_h = np.zeros((N, H))
                dc_next = np.zeros((N, H))
                for t in reversed(range(T)):
                    dx_t, dprev_h, dWx_t = step_backward(dh[:, t, :] + dprev_h, cache[t])
                    dc_next += dx_t.sum()
                return dprev_h

            def lstm_backward(dh, cache, step_backward, H):
                dh_next = np.zeros(H)
                dc_next = np.zeros(H)
                for t in range(len(cache) - 1, -1, -1):
                    dh_next[:] += dh[t]
                    np.copyto(dc_next, step_backward(dh_next, dc_next, cache[t]))
                return dh_next
            """,
            why="the carried gradient updated by tuple unpacking, `+=`, an element write and np.copyto",
        ),
        Valid(
            """
            import numpy as np

            def lstm_backward(dh, cache, lstm_step_backward):
                N, T, H = dh.shape
                dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
                for t in reversed(range(T)):
                    dx_t, dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c, cache[t])
                return dprev_h

            def layers_backward(dA, caches, linear_activation_backward):
                grads = {}
                for l in reversed(range(len(caches))):
                    dA_prev, dW, db = linear_activation_backward(dA, caches[l])
                    grads["dW" + str(l + 1)] = dW
                    dA = dA_prev
                return grads
            """,
            why="CS231n's lstm_backward with both carries zeroed by one tuple and unpacked each step; a loop over "
            "layers that hands the unpacked `dA_prev` on",
        ),
        Valid(
            """
            import numpy as np

            def decode(delta, back, T):
                path = [int(delta.argmax())]
                for t in reversed(range(T - 1)):
                    state, delta_prev = back[t][path[-1]]
                    path.append(int(state))
                return path[::-1]

            def lstm_step_backward(dh, dh_next, dc_next, Wh):
                total = dh + dh_next
                dh_next[...] = total @ Wh
                dc_next[...] = dc_next
                return total

            def lstm_backward(dh, Wh):
                N, T, H = dh.shape
                dx = np.zeros((N, T, H))
                dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))
                for t in reversed(range(T)):
                    dx[:, t, :] = lstm_step_backward(dh[:, t, :], dh_next, dc_next, Wh)
                return dx, dh_next
            """,
            why="the adversarial review (rev13a fp/03, fp/06): a Viterbi backtrack unpacking a `delta_prev` it does "
            "not need (no step backward); carries a step function writes into in place",
        ),
        Valid(
            """
            import numpy as np

            def stacked_backward(dys, layers, T):
                dh_next = [np.zeros(4) for _ in layers]
                for t in reversed(range(T)):
                    for l in reversed(range(len(layers))):
                        dh = dys[t] + dh_next[l]
                    dh_next = [layer.dprev for layer in layers]
                return dh_next
            """,
            why="a multi-layer RNN: the inner reversed loop over layers reads dh_next, the outer loop over time updates it",
        ),
        Valid(
            """
            import numpy as np

            def backward(dys, hs, Whh, Why):
                dh_next = np.zeros_like(hs[0])
                for t in range(len(dys)):
                    dh = Why.T @ dys[t] + dh_next
                return dh

            def backward_from(dys, dh_next):
                for t in reversed(range(len(dys))):
                    dh = dys[t] + dh_next
                return dh

            def decay(grads, d_prev_scale):
                d_prev_scale = 0.5
                for g in reversed(grads):
                    g *= d_prev_scale
                return grads

            def distances(points):
                dist_next = 0.0
                data_prev = np.zeros(3)
                total = 0.0
                for p in reversed(points):
                    total += p + dist_next + data_prev.sum()
                return total
            """,
            why="a forward-in-time loop; a carried gradient handed in by the caller; a constant that is not zero; "
            "names that say next or previous but no gradient (`dist_next`, `data_prev`)",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        model = numerics(analysis)
        index = analysis.index
        for loop in index.nodes(cst.For):
            if not _walks_backwards(loop.iter):
                continue
            function = index.function_containing(loop)
            scope = model.scope(function)
            start = scope.order_of(loop, analysis)
            if start < 0:
                continue
            outermost = _outermost_loop(analysis, loop, function)
            region = _orders_within(analysis, scope, outermost)
            reads = _carried_reads(analysis, loop)
            for name in reads:
                seeded = _seeded_by_last_step(analysis, scope, loop, name, start)
                if seeded is not None:
                    last, upstream = seeded
                    yield Finding(
                        last,
                        f"`{name}` starts from `{model.code(last)}`, the last time step of the upstream gradient "
                        f"`{upstream}`, and this loop through time never reads `{upstream}`: every earlier step loses "
                        f"the gradient of its own output (dL/dh_t is `{upstream}` at step t plus the gradient carried "
                        f"back from step t+1); add `{upstream}`'s step t to what each step receives",
                    )
            named = set()
            for name, read in reads.items():
                reset = _reset_each_step(analysis, scope, loop, name, read)
                if reset is not None:
                    yield Finding(
                        reset[0].statement,
                        f"`{name}` is set to zero here at the start of every step, before it is read on line "
                        f"{analysis.line_of(read)}: the gradient carried back from step t+1 (assigned on line "
                        f"{analysis.line_of(reset[1].statement)}) is thrown away, so no gradient flows back through "
                        f"time; set it to zero once, before the loop",
                    )
                    continue
                initial = _zero_before(scope, name, start)
                if initial is None or _updated_within(analysis, scope, name, range(start, region.stop), outermost):
                    continue
                dropped = _dropped_carry(analysis, scope, loop, function, name)
                line = analysis.line_of(initial.statement)
                message = (
                    f"`{name}`, the gradient carried back from the next time step, is read here but never updated in "
                    f"this loop: it keeps the zeros set on line {line}, so no gradient flows back through time "
                    f"(step t's gradient misses the term coming back from step t+1)"
                )
                if dropped is not None:
                    named.add(dropped.name)
                    message += (
                        f"; `{dropped.name}`, computed on line {analysis.line_of(dropped.statement)}, is never read: "
                        f"assign it to `{name}`"
                    )
                else:
                    message += f"; assign `{name}` each step's gradient with respect to its input state"
                yield Finding(read, message)
            for binding in _unread_carries(analysis, scope, loop, function):
                if binding.name in named or binding.name in reads:
                    continue
                named.add(binding.name)
                yield Finding(
                    binding.statement,
                    f"`{binding.name}`, the gradient carried back to the previous time step, is computed here each "
                    f"step but never read: step t-1 does not add it to its own gradient, so no gradient flows back "
                    f"through time (dL/dh_t misses dL/dh_(t+1) dh_(t+1)/dh_t); add `{binding.name}` to the gradient "
                    f"each step starts from",
                )


def _carried(name: str) -> bool:
    """`name` says it carries a gradient between steps: CARRIED_NAME, and a gradient's name by convention
    (`dh_next`, not `data_prev` or `dist_next`)."""
    return CARRIED_NAME.match(name) is not None and is_gradient_name(name, loosely=True)


def _walks_backwards(iterable: cst.BaseExpression) -> bool:
    """`reversed(...)`, a `range`/`arange` with a negative step, a `[::-k]` slice, or a `zip` of them."""
    node = unwrap(iterable)
    if type(node) is cst.Subscript:
        return len(node.slice) == 1 and type(node.slice[0].slice) is cst.Slice and _negative(node.slice[0].slice.step)
    if type(node) is not cst.Call:
        return False
    name = last_part(call_name(node))
    if name == "reversed":
        return True
    if name in ("range", "xrange", "arange"):
        steps = [arg.value for arg in node.args if arg.keyword is None and not arg.star][2:3]
        steps += [arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value == "step"]
        return any(_negative(step) for step in steps)
    if name == "zip":
        return any(_walks_backwards(arg.value) for arg in node.args if not arg.star)
    return False


def _negative(node: Optional[cst.BaseExpression]) -> bool:
    if node is None:
        return False
    node = unwrap(node)
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:
        value = literal_number(node.expression)
        return value is not None and value > 0
    return False


def _outermost_loop(analysis: ModuleAnalysis, loop: cst.For, function: Optional[cst.FunctionDef]) -> cst.CSTNode:
    """The outermost loop of `function` around `loop` (the loop itself when none is)."""
    outermost: cst.CSTNode = loop
    for ancestor in analysis.index.ancestors(loop):
        if ancestor is function or type(ancestor) in (cst.FunctionDef, cst.ClassDef, cst.Lambda):
            break
        if type(ancestor) in _LOOPS:
            outermost = ancestor
    return outermost


def _orders_within(analysis: ModuleAnalysis, scope: Scope, root: cst.CSTNode) -> range:
    """The statement orders of `root` and everything inside it."""
    orders = [scope.order[node] for node in analysis.index.walk_subtree(root) if node in scope.order]
    return range(min(orders), max(orders) + 1) if orders else range(0)


def _carried_reads(analysis: ModuleAnalysis, loop: cst.For) -> dict[str, cst.Name]:
    """The first read in the loop's body of each carried-gradient name."""
    reads: dict[str, cst.Name] = {}
    for node in analysis.index.walk_subtree(loop.body, skip=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        if type(node) is cst.Name and node.value not in reads and _carried(node.value):
            if _is_plain_name(analysis, node) and not _is_bound_name(analysis, node):
                reads[node.value] = node
    return reads


def _zero_before(scope: Scope, name: str, order: int) -> Optional[Binding]:
    """The binding of `name` in effect at `order` when it is `name = 0` or `name = np.zeros(...)`, also
    as an element of a tuple assignment (`dh_next, dc_next = np.zeros(...), np.zeros(...)`)."""
    last = _plain_binding(scope, name, order, in_tuples=True)
    if last is None:
        return None
    return last if _is_zero(last.value) else None  # type: ignore[arg-type]


def _is_zero(value: cst.BaseExpression) -> bool:
    """`0`, `0.0`, `np.zeros(...)`, `np.zeros_like(...)`, `x.new_zeros(...)`."""
    value = unwrap(value)
    if literal_number(value) == 0:
        return True
    return type(value) is cst.Call and last_part(call_name(value)) in _ZERO_CALLS


def _reset_each_step(analysis: ModuleAnalysis, scope: Scope, loop: cst.For, name: str, read: cst.Name) -> Optional[tuple[Binding, Binding]]:
    """(the reset, the update) when the loop's body first sets `name` to zero, a statement of the body
    itself, before `read` reads it, and updates it later in the body: each step throws away the
    gradient the step before carried."""
    inside = _orders_within(analysis, scope, loop)
    bindings = sorted((b for b in scope.bindings.get(name, ()) if b.order in inside and b.order > inside.start), key=lambda b: b.order)
    if len(bindings) < 2:
        return None
    reset, read_at = bindings[0], scope.order_of(read, analysis)
    if type(reset.statement) is not cst.Assign or reset.value is None or not _is_zero(reset.value):
        return None
    if not any(type(target.target) is cst.Name and target.target.value == name for target in reset.statement.targets):
        return None
    line = analysis.index.parent(reset.statement)
    if line is None or analysis.index.parent(line) is not loop.body:
        return None  # only a reset every step runs (not one under an `if`)
    if not reset.order < read_at:
        return None
    updates = [b for b in bindings[1:] if b.order > read_at]
    return (reset, updates[0]) if updates else None


def _seeded_by_last_step(
    analysis: ModuleAnalysis, scope: Scope, loop: cst.For, name: str, start: int
) -> Optional[tuple[cst.Subscript, str]]:
    """(`da[:, :, -1]`, "da") when the carried gradient `name` is bound before the loop, by a plain
    `name = ...` (what the pre-check reads), to the last time step (an index -1) of a gradient-named
    parameter that the function reads nowhere else but for its shape (`da.shape`): not in the loop, not
    through a view or the loop's header."""
    binding = _plain_binding(scope, name, start)
    if binding is None:
        return None
    value = unwrap(binding.value)  # type: ignore[arg-type]
    if type(value) is not cst.Subscript or type(value.value) is not cst.Name:
        return None
    upstream = value.value.value
    if upstream not in scope.params or not is_gradient_name(upstream, loosely=True):
        return None
    if not any(type(element.slice) is cst.Index and _negative_one(element.slice.value) for element in value.slice):
        return None
    for node in analysis.index.walk_subtree(scope.function or analysis.module, skip=(cst.ClassDef,)):
        if type(node) is not cst.Name or node.value != upstream or node is value.value or not _is_plain_name(analysis, node):
            continue
        parent = analysis.index.parent(node)
        if type(parent) is cst.Param:
            continue
        if type(parent) is cst.Attribute and parent.attr.value in ARRAY_METADATA:
            continue  # `n_a, m, T_x = da.shape`
        return None
    return value, upstream


def _plain_binding(scope: Scope, name: str, order: int, in_tuples: bool = False) -> Optional[Binding]:
    """The binding of `name` in effect at `order` when it is a plain Assign with the bare name as a target
    (`in_tuples`: or an element of a tuple or list target, given its own value by a display of as many)."""
    bindings = scope.before(name, order)
    if not bindings:
        return None
    last = bindings[-1]
    if type(last.statement) is not cst.Assign or last.value is None or last.augmented is not None:
        return None
    if not any(_names(target.target, name, in_tuples) for target in last.statement.targets):
        return None
    return last


def _names(target: cst.BaseExpression, name: str, in_tuples: bool) -> bool:
    """The assignment target `target` is the bare `name`, or (`in_tuples`) a tuple or list holding it."""
    if type(target) is cst.Name:
        return target.value == name
    if in_tuples and type(target) in (cst.Tuple, cst.List):
        return any(_names(element.value, name, in_tuples) for element in target.elements)  # type: ignore[attr-defined]
    return False


def _negative_one(node: cst.BaseExpression) -> bool:
    node = unwrap(node)
    return type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus and literal_number(node.expression) == 1


def _updated_within(analysis: ModuleAnalysis, scope: Scope, name: str, region: range, root: cst.CSTNode) -> bool:
    """`name` is bound or written into at an order in `region` (from the loop's header to the end of the
    outermost loop around it: a zero set earlier in an epoch loop is no update); or, anywhere in `root`
    (that outermost loop), written through an attribute (torch's `dh_next.data = g`), handed to an
    in-place call (`np.copyto(dh_next, g)`, `dh_next.data.copy_(g)`, `dh_next.fill(0)`) or to a function
    of the module that writes into it; or re-bound by a nested function (`nonlocal dh_next`)."""
    if any(binding.order in region for binding in scope.bindings.get(name, ())):
        return True
    if any(order in region for order in scope.mutations.get(name, ())):
        return True
    for node in analysis.index.walk_subtree(root):
        kind = type(node)
        if kind in (cst.AssignTarget, cst.AugAssign):
            target = node.target  # type: ignore[attr-defined]
            if type(target) in (cst.Attribute, cst.Subscript) and _root_name(target) == name:
                return True
        elif kind is cst.Call:
            if any(_root_name(written) == name for written in written_in_place(node)):  # type: ignore[arg-type]
                return True
            if _written_by_callee(analysis, node, name):  # type: ignore[arg-type]
                return True
    function = scope.function
    if function is not None:
        for nonlocal_statement in analysis.index.nodes(cst.Nonlocal):
            if any(alias.name.value == name for alias in nonlocal_statement.names) and function in analysis.index.ancestors(nonlocal_statement):
                return True
    return False


def _written_by_callee(analysis: ModuleAnalysis, call: cst.Call, name: str) -> bool:
    """`call` hands `name` itself to a function of this module that writes into that parameter
    (`dh_next[...] = total @ Wh` in a step backward given `dh_next`): updated in place each step."""
    if not any(type(argument.value) is cst.Name and argument.value.value == name for argument in call.args):
        return False
    semantics = analysis.semantics
    model = numerics(analysis)
    for target in semantics.resolve_call_targets(call):
        if type(target.function) is not cst.FunctionDef:
            continue
        bound = semantics.bind_arguments(call, target)
        callee = model.scope(target.function)
        for parameter, argument in bound.items():
            if type(argument) is cst.Name and argument.value == name and callee.mutations.get(parameter):
                return True
    return False


def _root_name(node: cst.BaseExpression) -> Optional[str]:
    """The name an attribute or subscript chain starts from (`dh_next` of `dh_next.data[:]`)."""
    node = unwrap(node)
    while type(node) in (cst.Attribute, cst.Subscript):
        node = unwrap(node.value)  # type: ignore[attr-defined]
    return node.value if type(node) is cst.Name else None


def _unread_carries(analysis: ModuleAnalysis, scope: Scope, loop: cst.For, function: Optional[cst.FunctionDef]) -> list[Binding]:
    """Carried-gradient names bound in the loop that nothing in the function reads, each with its first
    binding there: min-char-rnn's `dhnext = np.dot(Whh.T, dhraw)` with the `+ dhnext` forgotten, CS231n's
    `dx[:, t], dprev_h, ... = rnn_step_backward(dh[:, t], cache[t])` with the `+ dprev_h` forgotten.
    An Assign's target alone, or in a tuple unpacked from a step's backward (`rnn_step_backward(...)`,
    what the pre-check reads): a tuple of anything else (a Viterbi backtrack's `state, delta_prev`) is
    no gradient's."""
    inside = _orders_within(analysis, scope, loop)
    found: dict[str, Binding] = {}
    for name, bindings in scope.bindings.items():
        if not _carried(name):
            continue
        for binding in bindings:
            if binding.order not in inside or type(binding.statement) is not cst.Assign:
                continue
            targets = binding.statement.targets
            if any(_names(target.target, name, in_tuples=False) for target in targets) or (
                any(_names(target.target, name, in_tuples=True) for target in targets)
                and _from_a_backward_call(binding.statement.value)
            ):
                found.setdefault(name, binding)
    if not found:
        return []
    read = _names_read(analysis, function)
    return [binding for name, binding in found.items() if name not in read]


def _from_a_backward_call(value: cst.BaseExpression) -> bool:
    """`value` is a call of a function named as a backward or a gradient (`rnn_step_backward(...)`,
    `self.cell.backward(...)`, `lstm_cell_grad(...)`, `bprop(...)`)."""
    value = unwrap(value)
    if type(value) is not cst.Call:
        return False
    name = last_part(call_name(value)) or ""
    return _BACKWARD_NAME.search(name) is not None


def _names_read(analysis: ModuleAnalysis, function: Optional[cst.FunctionDef]) -> set[str]:
    """The names the function (or module) reads: plain names that are no assignment target."""
    root = function if function is not None else analysis.module
    return {
        node.value
        for node in analysis.index.walk_subtree(root)
        if type(node) is cst.Name and not _is_bound_name(analysis, node) and _is_plain_name(analysis, node)
    }


def _dropped_carry(
    analysis: ModuleAnalysis, scope: Scope, loop: cst.For, function: Optional[cst.FunctionDef], carried: str
) -> Optional[Binding]:
    """The carried-gradient name bound in the loop that nothing reads and that `carried` should have
    received (`dh_prev` for `dh_next`: the same stem, or the only such name)."""
    dropped = [binding for binding in _unread_carries(analysis, scope, loop, function) if binding.name != carried]
    stem = _stem(carried)
    paired = [binding for binding in dropped if _stem(binding.name) == stem]
    if paired:
        return paired[0]
    return dropped[0] if len(dropped) == 1 else None


def _stem(name: str) -> str:
    """The name without its `next`/`prev` (`dh_next` and `dh_prev` share `dh_`)."""
    return _NEXT_OR_PREV.sub("", name).lower()


def _is_plain_name(analysis: ModuleAnalysis, node: cst.Name) -> bool:
    """`node` stands for a variable: not an attribute's name (`self.dh_next`) nor a keyword (`f(dh_next=...)`)."""
    parent = analysis.index.parent(node)
    if type(parent) is cst.Attribute:
        return parent.attr is not node
    if type(parent) is cst.Arg:
        return parent.keyword is not node
    return True


def _is_bound_name(analysis: ModuleAnalysis, node: cst.Name) -> bool:
    """`node` is an assignment target (alone or in a tuple), not a read."""
    parent = analysis.index.parent(node)
    while type(parent) in (cst.Element, cst.Tuple, cst.List, cst.StarredElement):
        parent = analysis.index.parent(parent)
    return type(parent) in (cst.AssignTarget, cst.AugAssign) and (
        type(parent) is cst.AssignTarget or parent.target is node  # type: ignore[union-attr]
    )
