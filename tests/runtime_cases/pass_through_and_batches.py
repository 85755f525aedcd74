"""Review 4 (rw4b): softmax layers judged on what the module shows.

A softmax backward that passes the gradient through (`return grad`) is the right design when the
loss gradient it receives is already the fused p - y (the catalog's GL203 trap): with such a loss
in the module it is not a mismatch (Theodore-Utomo/NeuralNetworkFromScratch src/Softmax.py with
src/CrossEntropyLoss.py; fp/04). A softmax layer whose forward normalises each row of a batch is
judged on a batch too: a VJP that sums over the whole batch, or drops keepdims (xinghaow99/
transformer_from_scratch modules/softmax.py:15, miss/04), is wrong there though right on one vector."""

import numpy as np


class PassThroughSoftmax:
    def forward(self, input_data):
        exp_values = np.exp(input_data - np.max(input_data, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)
        return self.output

    def backward(self, d_output):  # runtime: unknown: which loss feeds it is for GL203
        return d_output


class CrossEntropyLoss:
    def forward(self, y_true, y_pred):
        y_pred_clipped = np.clip(y_pred, 1e-9, 1 - 1e-9)
        return np.mean(np.sum(y_true * -np.log(y_pred_clipped), axis=1))

    def backward(self, y_true, y_pred):  # runtime: passed
        return (y_pred - y_true) / len(y_true)


class SoftmaxNoKeepdims:
    def __init__(self):
        self.axis = -1

    def forward(self, x):
        e_x = np.exp(x - np.max(x, axis=self.axis, keepdims=True))
        self.y = e_x / np.sum(e_x, axis=self.axis, keepdims=True)
        return self.y

    def backward(self, grad_y):  # runtime: confirmed: a reduction lost its axis
        return self.y * (grad_y - (grad_y * self.y).sum(axis=self.axis))


class SoftmaxWholeBatchSum:
    def forward(self, x):
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        self.y = e / np.sum(e, axis=-1, keepdims=True)
        return self.y

    def backward(self, grad_y):  # runtime: confirmed: runs over the whole batch
        return self.y * (grad_y - np.sum(grad_y * self.y))


class SoftmaxRowsKeepdims:
    def forward(self, x):
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        self.y = e / np.sum(e, axis=-1, keepdims=True)
        return self.y

    def backward(self, grad_y):  # runtime: passed
        return self.y * (grad_y - np.sum(grad_y * self.y, axis=-1, keepdims=True))


class SoftmaxOneVector:
    """Normalises over everything it is given: one vector at a time, so a whole sum is right."""

    def forward(self, x):
        e = np.exp(x - np.max(x))
        self.y = e / np.sum(e)
        return self.y

    def backward(self, grad_y):  # runtime: passed
        return self.y * (grad_y - np.sum(grad_y * self.y))


class SoftmaxColumns:
    """Samples as columns (classes x batch): the sum over axis 0 without keepdims broadcasts right."""

    def forward(self, x):
        e = np.exp(x - np.max(x, axis=0, keepdims=True))
        self.y = e / np.sum(e, axis=0, keepdims=True)
        return self.y

    def backward(self, grad_y):  # runtime: passed
        return self.y * (grad_y - (grad_y * self.y).sum(axis=0))
