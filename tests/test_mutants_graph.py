"""Tests for survivors of graph.py's mutation run (issue 20): what `rule_error` makes of a rule's error,
an overflow said in words whatever Python's own words were, and which node a batch of another size
than the graph was built for is named at."""

import numpy as np
import pytest

import autodiff
from autodiff import Value
from autodiff.batched import batch, mean
from autodiff.graph import rule_error

HEAD = "backward: the rule of exp at node v1 (inputs 2) failed: its derivative overflows a float (beyond " \
       "about 1.8e308), so it is not a finite number"


def _exp_node():
    out = Value(2.0).exp()
    return out, autodiff.topological_order(out)


@pytest.mark.parametrize("error", [
    OverflowError(34, "Numerical result out of range"),   # float ** float: errno and strerror
    OverflowError("math range error"),                    # math.exp and the like
    OverflowError("int too large to convert to float"),   # an int term met by float arithmetic
    OverflowError(),                                      # raised bare
], ids=["errno", "math", "int", "bare"])
def test_python_s_own_overflow_words_are_left_out(error):
    node, order = _exp_node()
    wrapped = rule_error(error, node, order)
    assert type(wrapped) is FloatingPointError and wrapped.node is node
    assert str(wrapped) == HEAD + "; scale the inputs down"


def test_an_overflow_s_own_words_are_kept_when_they_say_something():
    node, order = _exp_node()
    wrapped = rule_error(OverflowError("exp: 1e308 squared"), node, order)
    assert str(wrapped) == HEAD + " (exp: 1e308 squared); scale the inputs down"


@pytest.mark.parametrize("error", [TypeError("not a rule failing"), KeyError("x"), AttributeError("y")])
def test_a_built_in_rule_s_error_that_is_not_about_numbers_is_returned_as_it_is(error):
    node, order = _exp_node()
    assert rule_error(error, node, order) is error


def test_a_stale_batch_names_an_unlabelled_input_by_its_position():
    a, c = batch([1.0, 2.0, 3.0], "a"), batch([4.0, 5.0, 6.0])   # c without a label
    product = a * c
    order = autodiff.topological_order(mean(product))
    a.data = np.array([1.0, 2.0])
    error = rule_error(ValueError("operands could not be broadcast together"), product, order)
    where = f"v{order.index(c)}"
    assert f"('a' holds shape (2,), '{where}' holds shape (3,); it was built for shape (3,))" in str(error)


def test_the_node_whose_rule_failed_is_named_when_its_own_batches_differ():
    # two nodes read `a`, which now holds another size: the one whose rule failed is named, not the one
    # nearest the output (which a search through the order would find first)
    a, b = batch([1.0, 2.0, 3.0], "a"), batch([4.0, 5.0, 6.0], "b")
    first = a * b
    second = first + a
    order = autodiff.topological_order(mean(second))
    a.data = np.array([1.0, 2.0])
    error = rule_error(ValueError("operands could not be broadcast together"), first, order)
    assert error.node is first and "the inputs of mul at node" in str(error)
    error = rule_error(ValueError("the rule's own words"), first, order)
    assert error.node is first
