"""Tests for survivors of engine.py's mutation run (issue 20): the check of the leaves that
`Value.backward` makes before a batched pass (`_check_leaves`) takes graphs it has no reason to refuse."""

import numpy as np
import pytest

from autodiff import Value
from autodiff.batched import batch, mean


def _grads(interior):
    """x's and w's gradients of mean(x · c), c = 3w, with c's .data set by hand to ``interior``."""
    x, w = batch([1.0, 2.0, 3.0], "x"), Value(2.0, "w")
    c = w * 3.0
    c.data = interior
    mean(x * c).backward()
    return x.grad.tolist(), w.grad


def test_an_interior_number_set_by_hand_to_a_numpy_scalar_is_taken_as_the_float():
    # c is the first node of the order that holds something else than a float: the batch size the graph
    # was built for is then looked for node by node, not read from c (len of a numpy scalar)
    assert _grads(np.float64(6.0)) == _grads(6.0) == ([2.0, 2.0, 2.0], 6.0)


def test_a_one_number_leaf_set_to_a_batch_of_the_graph_s_size_is_refused():
    x, w = batch([1.0, 2.0, 3.0], "x"), Value(0.0, "w")
    loss = mean(x * w) + w.exp()   # exp's node holds e^0 = 1, and its rule reads it
    w.data = np.array([1.0, 2.0, 3.0])
    # once not refused: w.grad came out x/3 + 1 = [1.33, 1.67, 2] (exp's node holds e^0), not x/3 + e^w
    with pytest.raises(ValueError, match="'w' holds a batch of 3 examples, but held one number when the "
                                         "graph was built"):
        loss.backward()
