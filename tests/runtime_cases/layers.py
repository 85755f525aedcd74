"""Layer classes with forward/backward: the cache, the upstream gradient, the
nnfs-style `self.dinputs`, and the (output_gradient, learning_rate) signature."""

import numpy as np


class Softmax:
    def forward(self, inputs):
        self.inputs = inputs
        e = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = e / np.sum(e, axis=1, keepdims=True)
        return self.output

    def backward(self, dvalues):  # runtime: passed
        self.dinputs = np.empty_like(dvalues)
        for index, (single_output, single_dvalues) in enumerate(zip(self.output, dvalues)):
            single_output = single_output.reshape(-1, 1)
            jacobian = np.diagflat(single_output) - np.dot(single_output, single_output.T)
            self.dinputs[index] = np.dot(jacobian, single_dvalues)


class SoftmaxElementwise(Softmax):
    def backward(self, dvalues):  # runtime: confirmed: diagonal only
        return dvalues * self.output * (1 - self.output)


class SoftmaxFromInputs(Softmax):
    def backward(self, dvalues):  # runtime: confirmed: activation and pre-activation swapped
        out = np.empty_like(dvalues)
        for index, (s, g) in enumerate(zip(self.inputs, dvalues)):
            out[index] = (np.diag(s) - np.outer(s, s)) @ g
        return out


class SoftmaxFromGradient(Softmax):
    def backward(self, dvalues):  # runtime: confirmed: not linear in the upstream gradient
        out = np.empty_like(dvalues)
        for index, g in enumerate(dvalues):
            out[index] = (np.diag(g) - np.outer(g, g)) @ g
        return out


class SoftmaxVJP(Softmax):
    def backward(self, grad):  # runtime: passed
        s = self.output
        return s * (grad - np.sum(grad * s, axis=1, keepdims=True))


class ColumnSoftmax:
    def forward(self, input):
        tmp = np.exp(input - np.max(input))
        self.output = tmp / np.sum(tmp)
        return self.output

    def backward(self, output_gradient, learning_rate):  # runtime: passed
        n = np.size(self.output)
        return np.dot((np.identity(n) - self.output.T) * self.output, output_gradient)


class ColumnSoftmaxStar(ColumnSoftmax):
    def backward(self, output_gradient, learning_rate):  # runtime: confirmed: `*` instead of `@`
        n = np.size(self.output)
        jacobian = np.diagflat(self.output) - np.dot(self.output, self.output.T)
        return jacobian * output_gradient.reshape(-1)


class Sigmoid:
    def forward(self, x):
        self.out = 1.0 / (1.0 + np.exp(-x))
        return self.out

    def backward(self, grad):  # runtime: passed
        return grad * self.out * (1.0 - self.out)


class SigmoidTwice(Sigmoid):
    def backward(self, grad):  # runtime: confirmed: the nonlinearity applied twice
        s = 1.0 / (1.0 + np.exp(-self.out))
        return grad * s * (1.0 - s)


class Activation:
    def __init__(self, activation, activation_prime):
        self.activation = activation
        self.activation_prime = activation_prime

    def forward(self, input):
        self.input = input
        return self.activation(self.input)

    def backward(self, output_gradient, learning_rate):
        return np.multiply(output_gradient, self.activation_prime(self.input))


class Tanh(Activation):  # runtime: passed
    def __init__(self):
        def tanh(x):
            return np.tanh(x)

        def tanh_prime(x):
            return 1 - np.tanh(x) ** 2

        super().__init__(tanh, tanh_prime)


class TanhFromInput(Activation):  # runtime: confirmed: pre-activation
    def __init__(self):
        def tanh(x):
            return np.tanh(x)

        def tanh_prime(a):
            return 1 - a**2

        super().__init__(tanh, tanh_prime)


class ReLU:
    def forward(self, x):
        self.x = x
        return np.maximum(0, x)

    def backward(self, dout):  # runtime: passed
        dx = dout.copy()
        dx[self.x <= 0] = 0
        return dx


class ReLUInPlace(ReLU):
    def backward(self, dout):  # runtime: confirmed: modifies its argument `dout` in place
        dx = dout
        dx[self.x <= 0] = 0
        return dx


class Dense:
    def __init__(self, n_in, n_out):
        self.W = np.ones((n_in, n_out))

    def forward(self, x):
        self.x = x
        return x @ self.W

    def backward(self, grad):
        return grad @ self.W.T
