"""Batched evaluation: the same scalar graph run over a whole data set at once.

Each node built from `batch` inputs holds a numpy array, one number per example, while parameters stay
plain scalars shared by every example. The ops and derivative rules are the engine's own (they work on
arrays as they do on floats); the loss needs an explicit reduction over examples, `total` or `mean`:

    xs = batch_columns(X)                 # X: (N, 2) -> two Values, each holding N numbers
    scores = model(xs)[0]                 # the same model object as for one example
    loss = mean((1 - batch(y) * scores).relu())      # (1/N) Σ_i hinge_i: one number
    loss.backward()                       # w.grad = Σ_i ∂loss/∂w over the examples

A parameter's gradient is the sum over examples of its per-example contributions, which is what the
same loss built one example at a time gives. Indexing a batched node with `example` reads one example.
"""

from __future__ import annotations

import numpy as np

from autodiff.engine import Value, apply, array_leaf, batch_size, refused_batch
from autodiff.primitives import EXAMPLES_SUM

__all__ = ["batch", "batch_columns", "total", "mean", "example", "batch_size"]

def _as_float_array(values, ndim: int, who: str, name: str) -> np.ndarray:
    try:
        given = values if isinstance(values, np.ndarray) else np.asarray(values)
        if given.dtype.kind != "O" and (why := refused_batch(given, "give")):   # as a leaf's .data is
            raise TypeError(f"{who}: {name} is {why}")
        data = np.array(given, dtype=np.float64)  # a copy: later edits to `values` do not leak in
    except (TypeError, ValueError) as e:
        if str(e).startswith(who):
            raise
        raise TypeError(f"{who} needs numbers, got {type(values).__name__} {values!r:.60}") from None
    if data.ndim != ndim:
        shape = "(N,)" if ndim == 1 else "(N, d)"
        raise ValueError(f"{who} needs an array of shape {shape}, got shape {data.shape}")
    if data.shape[0] < 1:
        raise ValueError(f"{who} needs at least one example")
    if not np.isfinite(data).all():
        bad = np.argwhere(~np.isfinite(data))[0]
        raise ValueError(f"{who}: entry {tuple(int(i) for i in bad)} is not finite; clean the data first")
    return data


def batch(values, label: str = "") -> Value:
    """One leaf holding one number per example: ``batch([1, -1, 1])`` (targets, a single feature)."""
    return array_leaf(_as_float_array(values, 1, "batch", "values"), label)


def batch_columns(rows, labels: list[str] | None = None) -> list[Value]:
    """The columns of ``rows`` (shape (N, d), one row per example) as d batched leaves, ready to be
    fed to a model in place of one example's d inputs."""
    data = _as_float_array(rows, 2, "batch_columns", "rows")
    labels = labels if labels is not None else [f"x{j}" for j in range(data.shape[1])]
    if len(labels) != data.shape[1]:
        raise ValueError(f"batch_columns: {len(labels)} labels for {data.shape[1]} columns")
    return [array_leaf(np.ascontiguousarray(data[:, j]), lab) for j, lab in enumerate(labels)]


def total(v: Value) -> Value:
    """Σ_i v_i over the examples: one node (primitive "examples_sum"); ∂/∂v_i = 1 for every i."""
    if v.__class__ is not Value:
        raise TypeError(f"total needs a Value, got {type(v).__name__}")
    return apply(EXAMPLES_SUM, v)


def mean(v: Value) -> Value:
    """(1/N) Σ_i v_i over the N examples of ``v``."""
    return total(v) * (1.0 / batch_size(v))


def example(v: Value, i: int) -> tuple[float, float]:
    """(value, gradient) of example ``i`` at node ``v``; a node shared by every example gives its
    own value and its gradient (the sum over examples)."""
    if not getattr(v.data, "ndim", 0):
        return v.data, v.grad
    n = v.data.shape[0]
    if not -n <= i < n:
        raise IndexError(f"example {i} is out of range: the batch holds {n} examples (0..{n - 1})")
    g = v.grad
    return float(v.data[i]), float(g[i] if getattr(g, "ndim", 0) else g)
