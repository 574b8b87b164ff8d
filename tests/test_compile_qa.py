"""`autodiff.compile` on what a fresh tester found (issue 17's QA): constants the library computes from
values, check() by identity, BLAS threads, leaves changed between forward and backward, bad input."""

import numpy as np
import pytest

import autodiff
import nn
from autodiff import Value
from autodiff.batched import batch, batch_columns

# ---- check(): parameters by identity, constants by value, in words ----------------------------

def test_check_refuses_a_model_made_again_with_the_same_seed():
    m1 = nn.MLP(2, [3, 1], rng=1)
    program = autodiff.compile(nn.squared_error(m1([1.0, 2.0]), [1.0]))
    program.check(nn.squared_error(m1([1.0, 2.0]), [1.0]))        # the same model: fine
    m2 = nn.MLP(2, [3, 1], rng=1)                                  # a notebook cell re-run
    with pytest.raises(autodiff.GraphChangedError, match="compared by identity.*other Values"):
        program.check(nn.squared_error(m2([1.0, 2.0]), [1.0]))


def test_check_refuses_a_fresh_value_of_the_same_label_and_value():
    y, w = Value(3.0, "y"), Value(1.5, "w")
    program = autodiff.compile(y * w)
    program.check(y * w)
    with pytest.raises(autodiff.GraphChangedError, match="node 0 .'y'. is the leaf 'y'"):
        program.check(Value(3.0, "y") * w)
    with pytest.raises(autodiff.GraphChangedError, match="by identity"):
        program.check(Value(3.0) * w)


def test_check_names_a_changed_constant_as_a_constant():
    x = Value(1.0, "x")
    program = autodiff.compile(x * 2.0)
    program.check(x * 2.0)                                         # a new constant, the same value
    with pytest.raises(autodiff.GraphChangedError, match="is the constant 2.0 and the new graph's "
                                                         "constant there is 3.0: a constant changed"):
        program.check(x * 3.0)


def test_check_compares_a_batch_of_constants_by_value():
    X = np.array([[0.5, -1.0], [1.5, 2.0], [0.0, 1.0]])
    model = nn.MLP(2, [3, 1], rng=1, fused=True)
    xs = batch_columns(X)

    def loss(labels):
        return nn.mean(nn.hinge(model(xs), [batch(labels)]))
    program = autodiff.compile(loss([1.0, -1.0, 1.0]))
    program.check(loss([1.0, -1.0, 1.0]))                          # new arrays, equal: fine
    with pytest.raises(autodiff.GraphChangedError, match="a constant changed"):
        program.check(loss([1.0, 1.0, 1.0]))


def test_check_of_something_not_a_value_is_a_type_error_in_words():
    program = autodiff.compile(Value(1.0, "x") * 2.0)
    with pytest.raises(TypeError, match="check needs a Value, the root of the graph built again, got float"):
        program.check(3.0)


def test_check_passes_when_the_data_numbers_are_wrapped_again():
    """A model called on plain numbers wraps them afresh at each build (nn's x.0, x.1, ...): constants,
    compared by value, so the README's loop rebuilt passes check while its parameters are the same."""
    model = nn.MLP(2, [3, 1], rng=1)

    def loss():
        return nn.squared_error(model([1.0, 2.0]), [1.0]) + nn.l2(model.weights(), 1e-3)
    program = autodiff.compile(loss())
    program.check(loss())
    with pytest.raises(autodiff.GraphChangedError, match="a constant changed"):
        program.check(nn.squared_error(model([1.0, 2.5]), [1.0]) + nn.l2(model.weights(), 1e-3))
