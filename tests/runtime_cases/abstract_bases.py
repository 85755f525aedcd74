"""numpy-ml's activation layout: an abstract base whose subclasses define `fn` and `grad`.

The base's `grad` is a placeholder: it is no target (it used to be listed as `unknown`, cannot
construct); each subclass's `grad` is checked against its own `fn` through `__call__`."""

from abc import ABC, abstractmethod

import numpy as np


class ActivationBase(ABC):
    def __init__(self, **kwargs):
        super().__init__()

    def __call__(self, z):
        if z.ndim == 1:
            z = z.reshape(1, -1)
        return self.fn(z)

    @abstractmethod
    def fn(self, z):
        raise NotImplementedError

    @abstractmethod
    def grad(self, x, **kwargs):
        raise NotImplementedError


class Sigmoid(ActivationBase):
    def fn(self, z):
        return 1 / (1 + np.exp(-z))

    def grad(self, x):  # runtime: passed
        fn_x = self.fn(x)
        return fn_x * (1 - fn_x)


class Tanh(ActivationBase):
    def fn(self, z):
        return np.tanh(z)

    def grad(self, x):  # runtime: passed
        return 1 - np.tanh(x) ** 2
