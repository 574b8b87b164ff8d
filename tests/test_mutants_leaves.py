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


def test_a_float64_batch_on_a_leaf_is_left_the_very_array_it_was():
    # engine.py's mutation run (this session): a float64 batch taken for one to make float64 again
    # (`d.ndim != 0`, or `not` before the class test) was copied by backward(): the user's array replaced
    arrays = [np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])]
    x, y = batch(arrays[0], "x"), batch(arrays[1], "y")
    w = Value(2.0, "w")
    loss = mean(x * w + y)
    x.data, y.data = arrays   # set by hand, as a training loop feeds a new batch
    loss.backward()
    assert x.data is arrays[0] and y.data is arrays[1]
    assert w.grad == 2.0


def test_an_interior_node_set_by_hand_to_inf_is_named_by_the_rule_it_made_not_finite():
    # _check_gradients names a leaf holding NaN or inf first (the cause); an interior node is not a
    # leaf: the gradient it made not finite is named with its rule and inputs (mutant: `is not None`)
    import math
    x, y = Value(2.0, "x"), Value(3.0, "y")
    t = y * 1.0
    t.label = "t"
    out = x * t
    t.data = math.inf
    with pytest.raises(FloatingPointError, match=r"^backward: the gradient of node x \(leaf, data 2\) is "
                                                 r"inf, .* the rule of mul at node v\d \(inputs 2, inf"):
        out.backward()


def test_an_op_leaves_a_float64_batch_the_very_array_it_was():
    # engine.py's mutation run: `_batches_ok` taking every leaf's batch for one to make float64 (`and`
    # made `or`) copied it at each op that read it
    x, w = batch([1.0, 2.0, 3.0], "x"), Value(2.0, "w")
    held = x.data
    x * w
    x + 1.0
    assert x.data is held
    fed = np.array([4.0, 5.0, 6.0])
    x.data = fed   # set by hand, then built on
    x * w
    assert x.data is fed
