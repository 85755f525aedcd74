"""Gradients the user hands to scipy.optimize with their objective (`jac=`, `fprime=`, `check_grad`):
checked against central differences of that objective near x0."""
import numpy as np
from scipy import optimize
from scipy.optimize import check_grad, fmin_bfgs, minimize


def quartic(x):
    return np.sum((x - 1.0) ** 4) + np.sum(x[1:] * x[:-1])


def quartic_grad(x):  # runtime: passed
    g = 4.0 * (x - 1.0) ** 3
    g[1:] += x[:-1]
    g[:-1] += x[1:]
    return g


def f(x):
    return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2


def df(x):  # runtime: confirmed
    # d/dx0 drops the chain-rule factor 2*x[0] of the first term
    return np.array([-200 * (x[1] - x[0] ** 2) - 2 * (1 - x[0]), 200 * (x[1] - x[0] ** 2)])


def value_and_gradient(x):  # runtime: passed
    return np.dot(x, x) + np.sin(x[0]), 2 * x + np.array([np.cos(x[0])] + [0.0] * (len(x) - 1))


def scaled(x, a, b):
    return a * np.sum(x ** 2) + b * x[0]


def scaled_grad(x, a, b):  # runtime: confirmed: sign flipped
    g = 2 * a * x
    g[0] += b
    return -g


def logistic_cost(theta, X, y):
    h = 1.0 / (1.0 + np.exp(-X @ theta))
    return -np.mean(y * np.log(h) + (1 - y) * np.log(1 - h))


def logistic_gradient(theta, X, y):  # runtime: passed
    h = 1.0 / (1.0 + np.exp(-X @ theta))
    return X.T @ (h - y) / len(y)


def energy(x, table):
    return np.sum(table * x ** 2)


def energy_grad(x, table):  # runtime: unknown: not literals
    return 2 * table * x


TABLE = np.linspace(1.0, 2.0, 3)
X_DATA = np.ones((5, 3))
Y_DATA = np.zeros(5)

minimize(quartic, [0.5, 1.5, 2.0, -0.3], jac=quartic_grad, method="BFGS")
res = optimize.minimize(f, x0=np.array([-1.2, 1.0]), jac=df)
minimize(value_and_gradient, np.zeros(3), jac=True)
print(check_grad(scaled, scaled_grad, [0.3, -0.2], 2.0, 0.5))
fmin_bfgs(logistic_cost, np.zeros(3), fprime=logistic_gradient, args=(X_DATA, Y_DATA))
fmin_bfgs(energy, np.ones(3), fprime=energy_grad, args=(TABLE,))
