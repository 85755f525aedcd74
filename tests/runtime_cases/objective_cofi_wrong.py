"""rw5a miss/05 (index id 26413269200 cofiCostFunc.py): the cost adds the L2 penalties, the gradient
does not."""
import numpy as np


def cofiCostFunc(params, Y, R, num_users, num_movies, num_features, lambda_reg):  # runtime: confirmed: the gradient has no penalty term
    X = params[0:num_movies * num_features].reshape(num_movies, num_features)
    Theta = params[num_movies * num_features:].reshape(num_users, num_features)
    errMatrix = np.dot(X, Theta.T) * R - Y
    J = (errMatrix * errMatrix).sum() / 2
    J = J + lambda_reg / 2 * np.sum(Theta * Theta) + lambda_reg / 2 * np.sum(X * X)
    X_grad = np.dot(errMatrix, Theta)
    Theta_grad = np.dot(errMatrix.T, X)
    grad = np.concatenate((X_grad.flatten(), Theta_grad.flatten()))
    return J, grad
