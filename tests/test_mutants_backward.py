"""Tests written for the mutants `make mutate` found alive in `Value.backward()` (issue 20): a gradient
that overflows in a batch beside finite parameters, a leaf whose held gradient plus this pass's
overflows, all or nothing when that happens, and what the error says about the node."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from autodiff import Value
from autodiff.batched import batch, total
from autodiff.graph import topological_order


def test_a_batch_gradient_that_overflows_is_refused_though_the_parameters_gradients_are_finite():
    """The one-number gradients (the root's 1, the constants') add up to a finite, non-zero number: the
    arrays must still be checked, not taken as finite with them."""
    x = batch([1e-300, 2e-300])
    x.label = "x"
    c, d = Value(1e200, "c"), Value(1e200, "d")
    loss = total((x * c) * d)                  # d loss/dx = 1e400 at every example
    with pytest.raises(FloatingPointError, match=r"gradient of node x \(leaf, data a batch of 2\) is inf "
                                                 r"at example 0 \(and 1 more\).* rule of mul"):
        loss.backward()
    assert not any(n.has_grad for n in topological_order(loss))


def test_the_error_names_the_op_of_the_node_whose_gradient_is_not_finite():
    x = Value(1e-300, "x")
    a = x * 1.0
    a.label = "a"
    y = (a * 1e300) * 1e300                    # d y/d a = 1e600: a, made by mul, is the first one
    with pytest.raises(FloatingPointError, match=r"gradient of node a \(mul, data 1e-300\) is inf, .* rule "
                                                 r"of mul at node v4 \(inputs 1e-300, 1e\+300, upstream "
                                                 r"1e\+300\)"):  # the upstream of a pass seeded with 1
        y.backward()
    x = Value(5e-324, "x")
    with pytest.raises(FloatingPointError, match=r"gradient of node x \(leaf, data 4\.94066e-324\) is inf"):
        x.log().backward()


@pytest.mark.parametrize("graph", ["leaves first", "exponent last"])
def test_the_culprit_of_a_batch_root_gets_a_batch_of_ones_as_upstream(graph):
    """The root is a batch (backward seeds one 1 per example), and the other nodes at the ends of the
    graph's order hold one number: the error reports the root's upstream as the batch it was."""
    if graph == "leaves first":
        a, b = Value(1.0, "a"), Value(1.0, "b")
        y = ((a * b) * batch([5e-324, 1.0])).log()   # d/dz log z = 1/z: inf at the first example
    else:
        y = batch([5e-324, 1.0]) ** Value(1e-10)     # 1e-10 · x^(1e-10 − 1): inf at the first example
    with pytest.raises(FloatingPointError, match=r"rule of (log|pow) at node v\d+ \(inputs .*upstream a "
                                                 r"batch of 2\)"):
        y.backward()


@pytest.mark.parametrize("batched", [False, True])
def test_a_leaf_whose_held_gradient_plus_this_pass_overflows_is_refused_all_or_nothing(batched):
    x = batch([1.0, 0.5]) if batched else Value(1.0)
    x.label = "x"
    held = np.array([1e308, 0.0]) if batched else 1e308
    x.grad = held
    w = Value(3.0, "w")
    w.grad = 5.0
    loss = x * 1e308 + x * w                   # this pass adds 1e308 + 3 to x: inf with what it held
    if batched:
        loss = total(loss)
    with warnings.catch_warnings():
        warnings.simplefilter("error")         # the error says it, in words: numpy's warning would not
        with pytest.raises(FloatingPointError, match=r"gradient of leaf x \(data .*\) would be inf"):
            loss.backward()
    assert np.array_equal(x.grad, held) and w.grad == 5.0   # as before the call
    assert not any(n.has_grad for n in topological_order(loss) if n.parents)
