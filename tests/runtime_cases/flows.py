"""A fused loss gradient chained into a softmax layer's backward by a training
step (GL203): each method is right on its own, the chain counts the softmax
Jacobian twice. The runtime runs the chain as the loop does."""

import numpy as np


class SoftmaxOutput:
    def forward(self, logits):
        shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
        self.probs = shifted / shifted.sum(axis=-1, keepdims=True)
        return self.probs

    def backward(self, upstream):  # runtime: passed
        p = self.probs
        return p * (upstream - (upstream * p).sum(axis=-1, keepdims=True))


class NLLLoss:
    def forward(self, probs, onehot):
        return -np.sum(onehot * np.log(np.maximum(probs, 1e-12))) / len(probs)

    def backward(self, probs, onehot):  # runtime: passed
        # fused with the softmax: the gradient with respect to the logits
        return (probs - onehot) / len(probs)


class Model:
    def __init__(self):
        self.head = SoftmaxOutput()
        self.criterion = NLLLoss()

    def step(self, features, onehot, scale=2.0):
        probs = self.head.forward(scale * features)
        grad = self.criterion.backward(probs, onehot)
        dlogits = self.head.backward(grad)  # runtime: confirmed: double softmax
        return scale * dlogits
