"""Loss classes whose forward applies the sigmoid (softmax) to its input and whose backward takes
the probabilities it would cache: the gradient with respect to the logits, fed those probabilities.
When the forward reads its input only through that nonlinearity, that convention is known, not a
guess, so it can show the backward wrong and name the mistake (fphunt2
other/runtime_sigmoid_fused_diagnosis.py: the sign flip was confirmed without its diagnosis)."""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class SigmoidBCE:
    def forward(self, logits, y):
        p = sigmoid(logits)
        return -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))

    def backward(self, probs, y):  # runtime: passed
        return (probs - y) / y.size


class SigmoidBCESignFlipped(SigmoidBCE):
    def backward(self, probs, y):  # runtime: confirmed: sign flipped
        return (y - probs) / y.size


class SigmoidBCEOptionalSigmoid:
    def __init__(self, from_logits=False):
        self.from_logits = from_logits

    def forward(self, x, y):
        p = sigmoid(x) if self.from_logits else x
        return -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))

    def backward(self, probs, y):  # runtime: confirmed
        return (y - probs) / y.size
