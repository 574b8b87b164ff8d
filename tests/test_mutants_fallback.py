"""Tests written for the mutants `make mutate` left alive in main's engine files (issue 20): the batched
pass's fallback (after a false alarm of its quick check) still adds what the leaves held, the exact
words of a gradient error, the bias of a neuron of one-number nodes in a batch, and the reference loop's
sum error and float guard."""

from __future__ import annotations

import numpy as np
import pytest

from autodiff import Value, neuron
from autodiff.batched import batch, total
from autodiff.reference import floats_refused, graph_rules_running


def test_a_false_alarm_of_the_batched_check_still_adds_what_the_leaves_held():
    """Two parameters' gradients of 1e308 each are finite, but their check sum overflows: the batched
    pass runs again the careful way, and every leaf must still get its held gradient added."""
    a, b, c = Value(1e-10, "a"), Value(1e-10, "b"), Value(3.0, "c")
    x = batch([1.0, 2.0])
    loss = a * 1e308 + b * 1e308 + total(x * c)
    a.grad, c.grad, x.grad = 1.0, 0.5, np.array([10.0, 20.0])
    loss.backward()
    assert (a.grad, b.grad, c.grad) == (1e308 + 1.0, 1e308, 0.5 + 3.0)
    assert x.grad.tolist() == [13.0, 23.0]
    assert loss.grad == 1.0


def test_the_gradient_error_reads_as_a_sentence_with_its_advice():
    x = Value(5e-324, "x")
    with pytest.raises(FloatingPointError) as e:
        x.log().backward()
    assert str(e.value) == (
        "backward: the gradient of node x (leaf, data 4.94066e-324) is inf, not a finite number; it comes "
        "from the rule of log at node v1 (inputs 4.94066e-324, upstream 1). Scale the inputs or the loss "
        "down, or use a stable formulation")


def test_the_bias_of_a_neuron_of_one_number_nodes_in_a_batched_graph_gets_the_upstream():
    w, bias = [Value(2.0), Value(-1.0)], Value(0.5)
    bias.grad = 1.0
    loss = total(batch([1.0, 2.0]) * w[0]) + 3.0 * neuron(w, w, bias)
    loss.backward()
    assert [v.grad for v in w] == [3.0 + 12.0, -6.0]
    assert bias.grad == 1.0 + 3.0


def test_terms_that_are_finite_but_add_up_to_inf_are_named_as_such():
    """Each of x's two terms is 1e308; their sum is not: the error says the terms adding up overflowed,
    not a rule."""
    x = Value(1e-10, "x")
    y = x * 1e308 + x * 1e308
    with pytest.raises(FloatingPointError, match=r"gradient of node x \(leaf, data 1e-10\) is inf, not a "
                                                 r"finite number; it comes from terms adding up at node v\d"):
        y.backward()
    assert x.grad is None or x.grad == 0.0


def test_floats_refused_refuses_float_of_a_value_inside_the_block_only():
    assert graph_rules_running() == 0
    with floats_refused():
        assert graph_rules_running() == 1
        with pytest.raises(TypeError):
            float(Value(1.0))
    assert graph_rules_running() == 0
    assert float(Value(1.0)) == 1.0


def test_a_one_number_leaf_holding_an_array_gradient_set_by_hand_is_refused_in_words():
    """A parameter holding one number whose .grad was set to an array by hand: refused naming it
    (issue 17), not numpy's "truth value of an array is ambiguous" nor an array gradient, in a graph of
    numbers as in a batched graph; the .grad is left as it was."""
    x = Value(2.0, "x")
    held = np.array([1.0, 2.0])
    x.grad = held
    with pytest.raises(TypeError, match=r"^backward: the \.grad of the Value 'x' is an array of shape"):
        (x * 3.0).backward()
    assert x.grad is held and held.tolist() == [1.0, 2.0]
