"""CS231n style layer functions: `f_forward(x)` returns `(out, cache)` and `f_backward(dout, cache)`
reads that cache (`cache[1]`, `x, out = cache`). The cache is a record the runtime cannot invent, but
the paired forward builds it: it is called on the input and its cache passed as it comes (fphunt2
lost/runtime_cache_record_unknown.py). Without such a forward the verdict stays `unknown`."""

import numpy as np


def tanh_forward(x):
    out = np.tanh(x)
    cache = (x, out)
    return out, cache


def tanh_backward(dout, cache):  # runtime: passed
    out = cache[1]
    return dout * (1 - out**2)


def sigmoid_forward(x):
    out = 1.0 / (1.0 + np.exp(-x))
    return out, (x, out)


def sigmoid_backward(dout, cache):  # runtime: passed
    x, out = cache
    return dout * out * (1 - out)


def softplus_forward(x):
    out = np.logaddexp(0, x)
    return out, (x, out)


def softplus_backward(dout, cache):  # runtime: confirmed
    """A sigmoid-style derivative evaluated on the input x (softplus' derivative is the sigmoid of x)."""
    x, out = cache
    return dout * x * (1 - x)


def leaky_forward(x):
    out = np.where(x > 0, x, 0.01 * x)
    return out, (x, out)


def leaky_backward(dout, cache):  # runtime: confirmed
    out = cache[1]
    return dout * (1 - out)


def affine_forward(x, w, b):
    out = x @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):  # runtime: unknown: which input each gradient it returns (an expression) belongs to is not known
    x, w, b = cache
    return dout @ w.T
