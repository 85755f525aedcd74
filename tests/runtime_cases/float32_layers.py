"""A library that computes in float32 (mpneuralnetwork's `DTYPE = np.float32`): the
derivatives are judged with tolerances for the dtype the code really computes in, and
central differences of a float32 forward take a float32-sized step. Exact derivatives
pass; real mistakes are still confirmed, and float64 code keeps its tight tolerances."""

import numpy as np

xp = np
DTYPE = np.float32


class Activation:
    def __init__(self, activation, activation_prime):
        self.activation = activation
        self.activation_prime = activation_prime

    def forward(self, input_batch, training=True):
        self.input = input_batch
        return self.activation(self.input)

    def backward(self, output_gradient_batch):
        return np.multiply(output_gradient_batch, self.activation_prime(self.input))


class ReLU(Activation):  # runtime: passed
    def __init__(self):
        super().__init__(lambda x: xp.maximum(0, x, dtype=DTYPE), lambda x: x > 0)


class Tanh(Activation):  # runtime: passed
    def __init__(self):
        super().__init__(lambda x: xp.tanh(x, dtype=DTYPE), lambda x: (1 - xp.tanh(x, dtype=DTYPE) ** 2))


class Sigmoid(Activation):  # runtime: passed
    def __init__(self):
        sigmoid = lambda x: (1 / (1 + xp.exp(-x))).astype(DTYPE)
        super().__init__(sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x)))


class TanhSquareMissing(Activation):  # runtime: confirmed
    def __init__(self):
        super().__init__(lambda x: xp.tanh(x, dtype=DTYPE), lambda x: (1 - xp.tanh(x, dtype=DTYPE)))


class SigmoidTwice(Activation):  # runtime: confirmed: off by a constant factor of 2
    def __init__(self):
        sigmoid = lambda x: (1 / (1 + xp.exp(-x))).astype(DTYPE)
        super().__init__(sigmoid, lambda x: 2 * sigmoid(x) * (1 - sigmoid(x)))


class Swish64(Activation):  # runtime: confirmed
    """float64, off by 0.5%: within float32's tolerance, a mismatch in float64."""

    def __init__(self):
        sigmoid = lambda x: 1 / (1 + np.exp(-x))
        super().__init__(lambda x: x * sigmoid(x), lambda x: 1.005 * (sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x))))
