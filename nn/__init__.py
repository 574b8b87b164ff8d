"""Neural-network building blocks made of `Value`s: modules (`Neuron`, `Layer`, `MLP`), losses and
optimizers. Toy data sets are in `nn.data` (imported on first use, as it needs numpy)."""

from nn.layers import ACTIVATIONS, MLP, Layer, Location, Neuron, Trace, locate
from nn.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge,
    l2,
    log_softmax,
    mean,
    softmax,
    squared_error,
)
from nn.module import Module
from nn.optim import SGD, Adam, Optimizer

__all__ = [
    "Module", "Neuron", "Layer", "MLP", "Trace", "ACTIVATIONS", "Location", "locate",
    "squared_error", "mean", "softmax", "log_softmax", "cross_entropy", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "hinge", "l2", "Optimizer", "SGD", "Adam",
]


def __getattr__(name: str):
    # `nn.data` works after a plain `import nn`, without importing numpy until it is used.
    if name == "data":
        import importlib
        return importlib.import_module("nn.data")
    # The closed-form checks need numpy too: nn.compare(model, X, Y, doc="004") and
    # nn.compare_document("004") live in nn/comparison.py, the documents' equations in nn/closed_form.py.
    if name in ("compare", "compare_document", "Comparison", "closed_form"):
        import importlib
        if name == "closed_form":
            return importlib.import_module("nn.closed_form")
        return getattr(importlib.import_module("nn.comparison"), name)
    raise AttributeError(f"module 'nn' has no attribute {name!r}")
