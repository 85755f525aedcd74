"""An objective and its gradient paired by their names and parameters (`cost_function` /
`gradient_function`, `fun` / `gfun`, `rosen` / `rosen_der`), with no optimiser call to link them."""
import numpy as np


def sigmoid_function(x):
    return 1 / (1 + np.exp(-x))


def cost_function(theta, x, y):
    p = sigmoid_function(x @ theta)
    return -(1 / len(y)) * np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))


def gradient_function(theta, x, y):  # runtime: confirmed: sign flipped
    p = sigmoid_function(x @ theta)
    return (1 / len(y)) * ((y - p) @ x)


def fit(theta, x, y, lr=0.1):
    for _ in range(100):
        theta -= lr * gradient_function(theta, x, y)  # descends with it: the opposite sign climbs the cost
    return theta


def fun(x):
    return 100 * (x[0] ** 2 - x[1]) ** 2 + (x[1] - 1) ** 2


def gfun(x):  # runtime: confirmed
    # the 2 (x1 - 1) term in the wrong component
    gx_1 = 400 * x[0] * (x[0] ** 2 - x[1]) + 2 * (x[1] - 1)
    gx_2 = -200 * (x[0] ** 2 - x[1])
    return [gx_1, gx_2]


def rosen(x):
    return sum(100.0 * (x[1:] - x[:-1] ** 2.0) ** 2.0 + (1 - x[:-1]) ** 2.0)


def rosen_der(x):  # runtime: passed
    xm = x[1:-1]
    xm_m1 = x[:-2]
    xm_p1 = x[2:]
    der = np.zeros_like(x)
    der[1:-1] = 200 * (xm - xm_m1 ** 2) - 400 * (xm_p1 - xm ** 2) * xm - 2 * (1 - xm)
    der[0] = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0])
    der[-1] = 200 * (x[-1] - x[-2] ** 2)
    return der


def loss_ridge(X, y, B, lmbda):
    r = y - X @ B
    return r @ r + lmbda * B @ B


def loss_gradient_ridge(X, y, B, lmbda):  # runtime: unknown: positive constant factor
    # the factor 2 folded into the learning rate
    return -X.T @ (y - X @ B) + lmbda * B


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def logistic_grad(x):  # runtime: passed
    # an activation's elementwise derivative: checked as one, never as a scalar objective's gradient
    s = logistic(x)
    return s * (1.0 - s)


def bowl(x):
    return x[0] ** 4 + x[0] * x[1] + 2 * x[1] ** 2


def bowl_grad(x):  # runtime: passed
    return np.array([4 * x[0] ** 3 + x[1], x[0] + 4 * x[1]])


def bowl_hess(x):  # runtime: passed
    return np.array([[12 * x[0] ** 2, 1.0], [1.0, 4.0]])


def saddle(x):
    return x[0] ** 2 * x[1] - x[1] ** 3


def dsaddle(x):  # runtime: passed
    return np.array([2 * x[0] * x[1], x[0] ** 2 - 3 * x[1] ** 2])


def d2saddle(x):  # runtime: confirmed: the diagonal is right
    # the mixed partials lose their factor 2
    return np.array([[2 * x[1], x[0]], [x[0], -6 * x[1]]])
