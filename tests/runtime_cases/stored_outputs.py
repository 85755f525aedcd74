"""nnfs-book layers whose `forward` returns None and stores `self.output`: the stored
output is the forward's value (it used to be read as the identity). A forward that
returns None and stores no output under a known name leaves the verdict `unknown`.
(Without a recognised forward kind such a forward is no target at all.)"""

import numpy as np


class LeakyReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.where(inputs > 0, inputs, 0.1 * inputs)

    def backward(self, dvalues):  # runtime: passed
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] *= 0.1


class LeakyReLUWrongSlope(LeakyReLU):
    def backward(self, dvalues):  # runtime: confirmed
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] *= 0.01


class LeakyReLUKeptElsewhere:
    def forward(self, inputs):
        self.inputs = inputs
        self.activated = np.where(inputs > 0, inputs, 0.1 * inputs)

    def backward(self, dvalues):  # runtime: unknown: returns None and stores no output
        return np.where(self.inputs > 0, dvalues, 0.1 * dvalues)


# fphunt2 fp/runtime_swish_stored_output.py: the forward computes a sigmoid into `self.sig` but
# stores `inputs * self.sig` as its output; the reference is that output (central differences),
# not the analytic sigmoid derivative.
class Activation_Swish:
    def forward(self, inputs):
        self.inputs = inputs
        self.sig = 1 / (1 + np.exp(-inputs))
        self.output = inputs * self.sig

    def backward(self, dvalues):  # runtime: passed
        self.dinputs = dvalues * (self.sig + self.output * (1 - self.sig))


class SwishSigmoidDerivative(Activation_Swish):
    def backward(self, dvalues):  # runtime: confirmed
        self.dinputs = dvalues * self.sig * (1 - self.sig)


class SigmoidStoredThroughName:
    def forward(self, inputs):
        s = 1 / (1 + np.exp(-inputs))
        self.output = s

    def backward(self, dvalues):  # runtime: passed
        self.dinputs = dvalues * self.output * (1 - self.output)


class SigmoidStoredThroughNameWrong(SigmoidStoredThroughName):
    def backward(self, dvalues):  # runtime: confirmed
        self.dinputs = dvalues * self.output
