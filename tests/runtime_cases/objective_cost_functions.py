"""Cost functions returning their own gradient (the Andrew Ng course convention): the gradient
against central differences of the cost it returns, in the layouts the code is written for."""
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def costFunction(theta, X, y):  # runtime: passed
    m = y.size
    h = sigmoid(X.dot(theta))
    J = -(1.0 / m) * (y.dot(np.log(h)) + (1 - y).dot(np.log(1 - h)))
    grad = (1.0 / m) * X.T.dot(h - y)
    return J, grad


def costFunctionReg(theta, X, y, lambda_):  # runtime: passed
    m = y.size
    h = sigmoid(X.dot(theta))
    temp = theta.copy()
    temp[0] = 0
    J = -(1.0 / m) * (y.dot(np.log(h)) + (1 - y).dot(np.log(1 - h))) + lambda_ / (2 * m) * np.sum(temp ** 2)
    grad = (1.0 / m) * X.T.dot(h - y) + (lambda_ / m) * temp
    return J, grad


def lrCostFunction(theta, X, y, lambda_):  # runtime: passed
    # column layout: theta reshaped to (n, 1), y taken as (m, 1); the gradient flattened on the way out
    m = len(y)
    theta = theta.reshape(-1, 1)
    y = y.reshape(-1, 1)
    h = sigmoid(X @ theta)
    J = (-(y.T @ np.log(h) + (1 - y).T @ np.log(1 - h)) / m).item() + lambda_ / (2 * m) * np.sum(theta[1:] ** 2)
    grad = X.T @ (h - y) / m
    grad[1:] = grad[1:] + lambda_ / m * theta[1:]
    return J, grad.flatten()


def linearRegCostFunction(X, y, theta, lambda_):  # runtime: passed
    m = y.size
    error = X.dot(theta) - y
    J = error.dot(error) / (2 * m) + lambda_ / (2 * m) * np.sum(theta[1:] ** 2)
    grad = X.T.dot(error) / m
    grad[1:] += lambda_ / m * theta[1:]
    return J, grad


def compute_cost_and_gradient(w, X, y):  # runtime: passed
    residual = X @ w - y
    return 0.5 * np.mean(residual ** 2), X.T @ residual / len(y)


def softmax_cost(theta, X, y, reg=0.0):  # runtime: passed
    # multinomial: theta (D, C), integer labels
    scores = X @ theta
    scores = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    n = X.shape[0]
    loss = -np.log(p[np.arange(n), y]).mean() + 0.5 * reg * np.sum(theta * theta)
    p[np.arange(n), y] -= 1
    grad = X.T @ p / n + reg * theta
    return loss, grad


def costFunctionRegNoPenaltyGradient(theta, X, y, lambda_reg):  # runtime: confirmed: the gradient has no penalty term
    m = y.size
    h = sigmoid(X.dot(theta))
    J = -(1.0 / m) * (y.dot(np.log(h)) + (1 - y).dot(np.log(1 - h))) + lambda_reg / 2 * np.sum(theta * theta)
    grad = (1.0 / m) * X.T.dot(h - y)
    return J, grad


def cost_sign_flipped(theta, X, y):  # runtime: confirmed: sign flipped
    m = y.size
    h = sigmoid(X.dot(theta))
    J = -(1.0 / m) * np.sum(y * np.log(h) + (1 - y) * np.log(1 - h))
    gradient = (1.0 / m) * X.T.dot(y - h)
    return J, gradient


def costIntercept(theta, X, y, l):  # runtime: confirmed
    # the intercept's whole gradient discarded (only its penalty should be)
    m = y.size
    h = sigmoid(X.dot(theta))
    J = -(1.0 / m) * np.sum(y * np.log(h) + (1 - y) * np.log(1 - h)) + l / (2 * m) * np.sum(theta[1:] ** 2)
    grad = (1.0 / m) * X.T.dot(h - y) + (l / m) * theta
    grad[0] = 0
    return J, grad


def costNotAveraged(theta, X, y):  # runtime: confirmed: batch size
    m = y.size
    h = sigmoid(X.dot(theta))
    J = -(1.0 / m) * np.sum(y * np.log(h) + (1 - y) * np.log(1 - h))
    grad = X.T.dot(h - y)
    return J, grad


def gradient_step_cost(theta, X, y, alpha=0.1):
    # returns the updated parameters and the cost history: not (J, grad), no target
    h = sigmoid(X.dot(theta))
    grad = X.T.dot(h - y) / y.size
    theta = theta - alpha * grad
    return theta, grad
