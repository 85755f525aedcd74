"""Review 5 (rw5b, rw5c): scientific code that is not an activation's derivative, and loss
gradients whose pass was vacuous.

- Rosenbrock's gradient (the scipy tutorial's `rosen_der`, its vectorised form), an ODE
  right-hand side and a 2-D potential spell `x[1:] - x[:-1]**2`, `-y[8] + y[9]*y[0]` and
  `x**2 - 1`: none is `s - s**2` or `1 - s**2` of one value, so none is a target;
- a gradient paired by name with a scalar objective, or a Jacobian reading its parameter by
  component, is `unknown` with the reason in those words;
- `return loss, p - y` passes against the softmax cross-entropy only when the loss it
  returns is that cross entropy (rw5b miss/12: a smooth-L1 of the probabilities);
- a loss averaging over every entry whose gradient divides by `shape[0]` is right on a single
  sample and off by the sample's size on a batch: `unknown`, with that reason (rw5b miss/33; the
  adversarial review: numpy-ml's `MSELoss.grad` is only ever given 1-D columns), never passed.
"""

import numpy as np


def rosen_der(x):
    xm = x[1:-1]
    xm_m1 = x[:-2]
    xm_p1 = x[2:]
    der = np.zeros_like(x)
    der[1:-1] = 200 * (xm - xm_m1**2) - 400 * (xm_p1 - xm**2) * xm - 2 * (1 - xm)
    der[0] = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0])
    der[-1] = 200 * (x[-1] - x[-2] ** 2)
    return der


def objective_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def derivs(t, y):
    dy = np.zeros_like(y)
    dy[0] = -y[8] + y[9] * y[0]
    dy[1] = y[0] - y[1]
    return dy


def U(x, y):
    return (x**2 - 1) ** 2 + y**2


def logistic_growth(t, y):  # runtime: unknown: neither is known to be the input
    """The logistic ODE dy/dt = y (1 - y): the sigmoid derivative's formula of one value, in an
    ODE right-hand side whose first parameter is the time; no convention names the input."""
    return y * (1 - y)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_prime(s):  # runtime: passed
    return s - s**2


def energy(x):
    v = x @ x
    return 0.5 * v


def energy_grad(x):  # runtime: unknown: its forward returns a scalar
    return x


def field(x):
    return np.array([x[0] * x[1], x[0] - x[1] ** 2])


def field_jac(x):  # runtime: unknown: one vector read by component
    return np.array([[x[1], x[0]], [1.0, -2 * x[1]]])


def stable_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def smooth_l1_on_probs(scores, y):  # runtime: unknown: not with central differences of the loss it returns
    probs = stable_softmax(scores)
    Y_oh = np.eye(scores.shape[1])[y]
    d = probs - Y_oh
    loss = np.sum(np.where(np.abs(d) < 1, 0.5 * d**2, np.abs(d) - 0.5))
    dL_ds = np.where(np.abs(d) < 1, d, np.sign(d))
    return loss, dL_ds


def softmax_cross_entropy(scores, y):  # runtime: passed
    probs = stable_softmax(scores)
    Y_oh = np.eye(scores.shape[1])[y]
    loss = -np.sum(Y_oh * np.log(np.clip(probs, 1e-12, 1.0)))
    return loss, probs - Y_oh


def softmax_cross_entropy_float32(scores, y):  # runtime: passed
    """The same in float32: its returned loss is judged at float32's round-off."""
    probs = stable_softmax(scores).astype(np.float32)
    Y_oh = np.eye(scores.shape[1], dtype=np.float32)[y]
    loss = -np.sum(Y_oh * np.log(np.clip(probs, 1e-12, 1.0)))
    return loss, probs - Y_oh


def softmax_gradient_and_accuracy(scores, y):  # runtime: passed
    """Returns the accuracy beside the gradient: a number that does not change with the scores
    under a small step, so it says nothing about which loss the gradient is of."""
    probs = stable_softmax(scores)
    Y_oh = np.eye(scores.shape[1])[y]
    accuracy = float(np.mean(np.argmax(probs, axis=1) == y))
    return probs - Y_oh, accuracy


class MSE:
    def forward(self, input, target):
        self.input, self.target = input, target
        return np.mean((self.input - self.target) ** 2)

    def backward(self):  # runtime: unknown: right only for 1-D input
        self.gradient = 2 * (self.input - self.target) / self.input.shape[0]
        return self.gradient


class MAE:
    def forward(self, input, target):
        self.input, self.target = input, target
        return np.mean(np.abs(self.input - self.target))

    def backward(self):  # runtime: passed
        return np.sign(self.input - self.target) / self.input.size


class SoftmaxCrossEntropyLoss:
    """Written for one sample: the softmax normalises the whole array, so a batch is not
    its input; it passes on (n,) and is not judged on what it does to a batch."""

    def forward(self, x, y):
        self.y = y
        self.s = np.exp(x - np.max(x)) / np.sum(np.exp(x - np.max(x)))
        return -np.sum(y * np.log(self.s))

    def backward(self):  # runtime: passed
        return self.s - self.y
