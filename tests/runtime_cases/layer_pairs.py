"""CS231n style layer pairs: `out, cache = f_forward(x, w, b, ...)` and `dx, dw, db = f_backward(dout, cache)`.

Each returned gradient is checked against central differences of the forward (sum(out * dout) with
respect to the input the gradient's name says, the other inputs fixed). Correct and wrong versions of
the course's layers, the three batch-norm slips of the fifth review (/tmp/rw5b/miss/24-26: multiplying
by the std, dvar's sign, the raw input in dgamma), and the traps: unfinished templates, gradients
returned in another order (by name), parameter dicts read by key, returns that say nothing.
"""

import numpy as np


# -- affine -------------------------------------------------------------------------------------


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):  # runtime: passed
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def affine_mean_forward(x, w, b):
    return x.dot(w) + b, (x, w, b)


def affine_mean_backward(dout, cache):  # runtime: confirmed: the gradient with respect to `b` (`db`) is wrong: off by a constant factor of 1/4 (divided by the batch size 4)
    x, w, b = cache
    dx = dout.dot(w.T)
    dw = x.T.dot(dout)
    db = np.mean(dout, axis=0)
    return dx, dw, db


def affine_swapped_forward(x, w, b):
    return x @ w + b, (x, w)


def affine_swapped_backward(dout, cache):  # runtime: passed
    """Another order than the forward's (w first): the names decide, not the positions."""
    x, w = cache
    dw = x.T @ dout
    dx = dout @ w.T
    db = dout.sum(axis=0)
    return dw, dx, db


def affine_grads_forward(x, w, b):
    return x @ w + b, (x, w)


def affine_grads_backward(dout, cache):  # runtime: unknown: which input each gradient
    """One name for three gradients: which is which is not known."""
    x, w = cache
    grads = (dout @ w.T, x.T @ dout, dout.sum(axis=0))
    return grads


def affine_template_forward(x, w, b):
    out = x @ w + b
    return out, (x, w, b)


def affine_template_backward(dout, cache):  # runtime: unknown: not implemented
    x, w, b = cache
    dx, dw, db = None, None, None
    # TODO: Implement the affine backward pass.
    pass
    return dx, dw, db


def affine_zeros_forward(x, w, b):
    return x @ w + b, (x, w, b)


def affine_zeros_backward(dout, cache):  # runtime: unknown: not implemented
    x, w, b = cache
    dx = np.zeros_like(x)  # TODO
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    return dx, dw, db


def affine_raises_forward(x, w, b):
    return x @ w + b, (x, w, b)


def affine_raises_backward(dout, cache):  # runtime: unknown: NotImplementedError
    raise NotImplementedError("affine backward")


# -- batch normalisation ------------------------------------------------------------------------


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "train":
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        std = np.sqrt(var + eps)
        x_hat = (x - mu) / std
        out = gamma * x_hat + beta
        cache = (x, x_hat, mu, var, std, gamma, eps)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):  # runtime: passed
    """The staged computational graph."""
    x, x_hat, mu, var, std, gamma, eps = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dvar = np.sum(dx_hat * (x - mu) * -0.5 * (var + eps) ** -1.5, axis=0)
    dmu = np.sum(-dx_hat / std, axis=0) + dvar * np.mean(-2.0 * (x - mu), axis=0)
    dx = dx_hat / std + dvar * 2.0 * (x - mu) / N + dmu / N
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):  # runtime: passed
    """The simplified formula (paired with `batchnorm_forward`: the name cut after `backward`)."""
    x, x_hat, mu, var, std, gamma, eps = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx = (gamma / (N * std)) * (N * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def bn_std_forward(x, gamma, beta, bn_param):
    eps = bn_param["eps"]
    mu = x.mean(axis=0)
    inv_var = (x.var(axis=0) + eps) ** 0.5  # the std, named as its inverse (rw5b miss 24)
    x_hat = (x - mu) / inv_var
    return gamma * x_hat + beta, (x_hat, inv_var, gamma)


def bn_std_backward(dout, cache):  # runtime: confirmed: the gradient with respect to `x` (`dx`) is wrong
    x_hat, inv_var, gamma = cache
    N = dout.shape[0]
    dx_hat = dout * gamma
    dx = (1.0 / N) * inv_var * (N * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0))
    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)


def bn_dvar_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    x_hat = (x - mu) / np.sqrt(var + eps)
    return gamma * x_hat + beta, (x, mu, var, eps, x_hat, gamma)


def bn_dvar_backward(dout, cache):  # runtime: confirmed: the gradient with respect to `x` (`dx`) is wrong
    """dvar's minus sign lost (rw5b miss 25): d/dvar (x - mu)(var + eps)^-1/2 is -0.5 (x - mu)(var + eps)^-3/2."""
    x, mu, var, eps, x_hat, gamma = cache
    m = dout.shape[0]
    dx_norm = dout * gamma
    dvar = np.sum(dx_norm * 0.5 * (x - mu) * np.power(var + eps, -1.5), axis=0)
    dmu = np.sum(-dx_norm / np.sqrt(var + eps), axis=0)
    dx = dx_norm / np.sqrt(var + eps) + dmu / m + dvar * 2 * (x - mu) / m
    return dx, np.sum(dout * x_hat, axis=0), np.sum(dout, axis=0)


def bn_raw_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-8)
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    x_norm = (x - mean) / np.sqrt(var + eps)
    return gamma * x_norm + beta, (x, x_norm, mean, var, gamma, eps)


def bn_raw_backward(dout, cache):  # runtime: confirmed: the gradient with respect to `gamma` (`dgamma`) is wrong
    """dgamma from the raw input instead of the normalised one (rw5b miss 26); dx and dbeta are right."""
    x, x_norm, mean, var, gamma, eps = cache
    N = dout.shape[0]
    dgamma = np.sum(dout * x, axis=0)
    dbeta = np.sum(dout, axis=0)
    dx_norm = dout * gamma
    dx = (1.0 / N) / np.sqrt(var + eps) * (N * dx_norm - dx_norm.sum(axis=0) - x_norm * np.sum(dx_norm * x_norm, axis=0))
    return dx, dgamma, dbeta


# -- layer normalisation ------------------------------------------------------------------------


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    return gamma * x_hat + beta, (x_hat, std, gamma)


def layernorm_backward(dout, cache):  # runtime: passed
    x_hat, std, gamma = cache
    D = dout.shape[1]
    dgamma = np.sum(dout * x_hat, axis=0)
    dbeta = np.sum(dout, axis=0)
    dx_hat = dout * gamma
    dx = (D * dx_hat - dx_hat.sum(axis=1, keepdims=True) - x_hat * np.sum(dx_hat * x_hat, axis=1, keepdims=True)) / (D * std)
    return dx, dgamma, dbeta


def layernorm_batch_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    return gamma * x_hat + beta, (x_hat, std, gamma)


def layernorm_batch_backward(dout, cache):  # runtime: confirmed: the gradient with respect to `x` (`dx`) is wrong
    """Batch norm's backward pasted into layer norm: the sums over the batch axis, the count N."""
    x_hat, std, gamma = cache
    N = dout.shape[0]
    dgamma = np.sum(dout * x_hat, axis=0)
    dbeta = np.sum(dout, axis=0)
    dx_hat = dout * gamma
    dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0)) / (N * std)
    return dx, dgamma, dbeta


# -- convolution (naive loops) ------------------------------------------------------------------


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):  # runtime: passed
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.sum(dout, axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    dw[f] += window * dout[n, f, i, j]
                    dx_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += w[f] * dout[n, f, i, j]
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def conv_assign_forward_naive(x, w, b, conv_param):
    return conv_forward_naive(x, w, b, conv_param)


def conv_assign_backward_naive(dout, cache):  # runtime: confirmed: the gradient with respect to `x` (`dx`) is wrong
    """`=` where overlapping windows must add up (`+=`): dx keeps the last window's share only."""
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.sum(dout, axis=(0, 2, 3))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                for f in range(F):
                    dw[f] += window * dout[n, f, i, j]
                dx_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] = np.sum(
                    w * dout[n, :, i, j][:, None, None, None], axis=0)
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


# -- max pooling (naive loops) ------------------------------------------------------------------


def max_pool_forward_naive(x, pool_param):
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    H_out = 1 + (H - ph) // stride
    W_out = 1 + (W - pw) // stride
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = np.max(x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw], axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):  # runtime: passed
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + a, j * stride + b] += dout[n, c, i, j]
    return dx


def max_pool_typo_forward_naive(x, pool_param):
    return max_pool_forward_naive(x, pool_param)


def max_pool_typo_backward_naive(dout, cache):  # runtime: confirmed: the gradient with respect to `x` (`dx`) is wrong
    """The window's column found with the row counter (rw5b miss 23)."""
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    h_start, w_start = i * stride, i * stride
                    window = x[n, c, h_start:h_start + ph, w_start:w_start + pw]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, h_start + a, w_start + b] += dout[n, c, i, j]
    return dx


# -- recurrent step -----------------------------------------------------------------------------


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x.dot(Wx) + prev_h.dot(Wh) + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):  # runtime: passed
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    dx = da.dot(Wx.T)
    dprev_h = da.dot(Wh.T)
    dWx = x.T.dot(da)
    dWh = prev_h.T.dot(da)
    db = da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_slip_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_slip_step_backward(dnext_h, cache):  # runtime: confirmed: the gradient with respect to
    """tanh's derivative written 1 - h instead of 1 - h**2."""
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Two outputs and a cache; its backward takes two upstream gradients."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = 1 / (1 + np.exp(-a[:, :H]))
    f = 1 / (1 + np.exp(-a[:, H:2 * H]))
    o = 1 / (1 + np.exp(-a[:, 2 * H:3 * H]))
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):  # runtime: passed
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tc = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tc ** 2)
    di, df, do, dg = dc * g, dc * prev_c, dnext_h * tc, dc * i
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)])
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


# -- dropout ------------------------------------------------------------------------------------


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    else:
        out = x
    return out.astype(x.dtype, copy=False), (dropout_param, mask)


def dropout_backward(dout, cache):  # runtime: passed
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask
    return dout


# -- parameter dicts ----------------------------------------------------------------------------


def scaled_forward(x, w, layer_config):
    """A key no convention answers: the runtime cannot make it run."""
    return x @ w * layer_config["temperature"], (x, w, layer_config)


def scaled_backward(dout, cache):  # runtime: unknown: KeyError
    x, w, layer_config = cache
    t = layer_config["temperature"]
    return dout @ w.T * t, x.T @ dout * t


def mystery_forward(x, w, activation):
    out = x @ w
    return (np.maximum(out, 0) if activation == "relu" else out), (x, w, out)


def mystery_backward(dout, cache):  # runtime: unknown: `activation`, whose name does not say
    x, w, out = cache
    return dout @ w.T, x.T @ dout


def bn_order_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    mu, var = x.mean(axis=0), x.var(axis=0)
    x_hat = (x - mu) / np.sqrt(var + eps)
    return gamma * x_hat + beta, (x_hat, np.sqrt(var + eps), gamma)


def bn_order_backward(dout, cache):  # runtime: unknown: matched to the inputs by position
    """dbeta before dgamma, neither named: a caller unpacking `dx, dbeta, dgamma` gets them right."""
    x_hat, std, gamma = cache
    N = dout.shape[0]
    return ((gamma / (N * std)) * (N * dout - dout.sum(axis=0) - x_hat * np.sum(dout * x_hat, axis=0)),
            dout.sum(axis=0), np.sum(dout * x_hat, axis=0))


# -- conventions that are not mismatches ----------------------------------------------------------


def linear_forward(A, W, b):
    """deeplearning.ai's column layout: A (n_prev, m), W (n, n_prev), b (n, 1)."""
    Z = W.dot(A) + b
    return Z, (A, W, b)


def linear_backward(dZ, cache):  # runtime: unknown: the convention of a cost averaged over the batch
    """dW and db carry the cost's 1/m, dA_prev does not (the course's convention)."""
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = 1.0 / m * np.dot(dZ, A_prev.T)
    db = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def decayed_forward(x, w, b, fc_param):
    return x @ w + b, (x, w, fc_param)


def decayed_backward(dout, cache):  # runtime: unknown: weight decay
    x, w, fc_param = cache
    reg = fc_param.get("reg", 1e-2)
    return dout @ w.T, x.T @ dout + reg * w, dout.sum(axis=0)


def dropout_seeded_forward(x, dropout_param):
    """The mask drawn after seeding from the dict when it holds a seed; the backward draws it again."""
    p = dropout_param["p"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = (np.random.rand(*x.shape) < p) / p
    return x * mask, (x.shape, dropout_param)


def dropout_seeded_backward(dout, cache):  # runtime: passed
    shape, dropout_param = cache
    np.random.seed(dropout_param["seed"])
    mask = (np.random.rand(*shape) < dropout_param["p"]) / dropout_param["p"]
    return dout * mask


def lstm_inplace_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    return lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)


def lstm_inplace_step_backward(dnext_h, dnext_c, cache):  # runtime: confirmed: modifies its argument `dnext_c` in place
    """Right values, but `dnext_c +=` writes into the caller's upstream gradient (GL402's finding)."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tc = np.tanh(next_c)
    dnext_c += dnext_h * o * (1 - tc ** 2)
    di, df, do, dg = dnext_c * g, dnext_c * prev_c, dnext_h * tc, dnext_c * i
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)])
    dx, dprev_h, dprev_c = da @ Wx.T, da @ Wh.T, dnext_c * f
    dWx, dWh, db = x.T @ da, prev_h.T @ da, da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


# -- word embeddings (integer indices) -------------------------------------------------------------


def word_embedding_forward(x, W):
    out = W[x]
    return out, (x, W)


def word_embedding_backward(dout, cache):  # runtime: passed
    x, W = cache
    dW = np.zeros_like(W)
    np.add.at(dW, x, dout)
    return dW


def word_embedding_buffered_forward(x, W):
    return W[x], (x, W)


def word_embedding_buffered_backward(dout, cache):  # runtime: confirmed: the gradient with respect to `W` (`dW`) is wrong
    """`dW[x] += dout` is buffered: a word that appears twice is counted once (np.add.at adds them all)."""
    x, W = cache
    dW = np.zeros_like(W)
    dW[x] += dout
    return dW
