"""Tests written for the mutants `make mutate` found alive in the engine's table and executors (issue
20): every row's forward on numbers and on a batch against an independent formula, rules with a zero
upstream, the symmetry of the even derivatives bit for bit, and no numpy warning at a batched kink."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

from autodiff import PRIMITIVES, InfiniteSlopeError, Value, grad
from autodiff.batched import batch, total
from autodiff.engine import apply


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


# name -> (an independent formula on floats, points in its domain); n-ary rows are checked on their own
FORMULAS = {
    "add": (lambda x, y: x + y, [(1.5, -4.0), (0.25, 3.0)]),
    "mul": (lambda x, y: x * y, [(1.5, -4.0), (0.25, 3.0)]),
    "pow": (lambda x, y: math.exp(y * math.log(x)) if x > 0 else x ** y,
            [(1.5, -2.0), (0.3, 2.5), (0.0, 2.0), (-2.0, 3.0)]),
    "exp": (lambda x: sum(x ** k / math.factorial(k) for k in range(60)), [(-2.0,), (0.5,), (3.0,)]),
    "log": (lambda x: 2 * math.atanh((x - 1) / (x + 1)), [(0.2,), (1.0,), (7.0,)]),
    "tanh": (lambda x: (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1), [(-2.0,), (0.0,), (0.7,), (3.0,)]),
    "sigmoid": (lambda x: 1 / (1 + math.exp(-x)), [(-5.0,), (0.0,), (0.7,), (4.0,)]),
    "relu": (lambda x: max(x, 0.0), [(-2.0,), (0.0,), (3.0,)]),
    "examples_sum": (lambda x: x, [(-2.0,), (3.5,)]),
    "sqrt": (lambda x: math.exp(0.5 * math.log(x)) if x else 0.0, [(0.0,), (0.3,), (9.0,)]),
    "abs": (lambda x: x if x >= 0 else -x, [(-2.0,), (0.0,), (3.0,)]),
    "sin": (lambda x: math.cos(x - math.pi / 2), [(-2.0,), (0.0,), (0.7,)]),
    "cos": (lambda x: math.sin(x + math.pi / 2), [(-2.0,), (0.0,), (0.7,)]),
    "softplus": (lambda x: math.log(1 + math.exp(x)), [(-5.0,), (0.0,), (0.7,), (4.0,)]),
    "normal_cdf": (_phi, [(-2.0,), (0.0,), (0.7,)]),
    "gelu": (lambda x: x * _phi(x), [(-2.0,), (0.0,), (0.7,)]),
    "maximum": (lambda x, y: x if x >= y else y, [(1.0, 2.0), (2.0, -1.0)]),
    "minimum": (lambda x, y: x if x <= y else y, [(1.0, 2.0), (2.0, -1.0)]),
    "leaky_relu": (lambda x: x if x > 0 else 0.01 * x, [(-2.0,), (0.0,), (3.0,)]),
    "elu": (lambda x: x if x > 0 else math.exp(x) - 1, [(-2.0,), (0.0,), (3.0,)]),
    "greater": (lambda x, y: 1.0 if x > y else 0.0, [(1.0, 2.0), (2.0, -1.0), (1.5, 1.5)]),
    "sech2": (lambda x: 1 / math.cosh(x) ** 2, [(-2.0,), (0.0,), (0.7,), (3.0,)]),
    "floor": (lambda x: x - x % 1.0, [(-2.5,), (-1.0,), (0.0,), (1.0,), (2.7,)]),
}


def test_every_row_has_an_independent_formula_and_its_arity():
    assert set(PRIMITIVES) - {"neuron", "sum_squares", "logsumexp"} == set(FORMULAS)
    for name, (_, points) in FORMULAS.items():
        assert PRIMITIVES[name].arity == len(points[0]), name
    assert PRIMITIVES["neuron"].arity == PRIMITIVES["sum_squares"].arity == -1  # n-ary: any number
    assert PRIMITIVES["logsumexp"].arity == -1          # its forward and rule: tests/test_compile_qa.py


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_every_forward_on_numbers_a_node_and_a_batch(name):
    """The row called on plain numbers (its `forward`), a node made by `apply` and the row's
    `batch_forward` all give the formula's number (1e-13 relative: the formulas round differently)."""
    prim, (formula, points) = PRIMITIVES[name], FORMULAS[name]
    for args in points:
        want = formula(*args)
        on_numbers = prim(*args)
        node = apply(prim, *[Value(a) for a in args]).data
        column = prim.batch(*[np.array([a, a]) for a in args])
        if name == "examples_sum":                # over a batch: the sum of the examples
            column = np.asarray(column / 2).reshape(1)
        for got in (on_numbers, node, *np.asarray(column).tolist()):
            assert got == pytest.approx(want, rel=1e-13, abs=1e-15), (name, args, got, want)


def test_the_sum_of_squares_forward_on_numbers_a_node_and_a_batch():
    sum_squares = PRIMITIVES["sum_squares"]
    xs = (1.5, -2.0, 3.0, 0.0)
    want = math.fsum(math.pow(x, 2) for x in xs)           # 2.25 + 4 + 9: exact in binary
    assert sum_squares(*xs) == want == apply(sum_squares, *[Value(x) for x in xs]).data
    assert sum_squares(-4.0) == 16.0                        # one input
    column = sum_squares.batch(np.array([1.5, -1.0]), -2.0, np.array([3.0, 0.5]), 0.0)
    assert column.tolist() == [want, 1.0 + 4.0 + 0.25]


def test_the_neuron_forward_on_numbers_and_a_batch():
    neuron = PRIMITIVES["neuron"]
    assert neuron(2.0, -3.0, 0.5, 4.0, 0.25) == 2.0 * 0.5 + -3.0 * 4.0 + 0.25
    out = neuron.batch(2.0, -3.0, np.array([0.5, 1.0]), np.array([4.0, -1.0]), 0.25)
    assert out.tolist() == [2.0 * 0.5 - 3.0 * 4.0 + 0.25, 2.0 + 3.0 + 0.25]


# Points where every input's derivative exists (d/dy x**y needs x >= 0, sqrt' needs x > 0).
INSIDE = {name: [p for p in pts if not (name == "sqrt" and p[0] <= 0 or name == "pow" and p[0] < 0)]
          for name, (_, pts) in FORMULAS.items()}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_a_zero_upstream_gives_zero_terms(name):
    """g = 0 (a node whose users do not depend on it) hands 0 to every input, never an error: the rule
    multiplies by the upstream, it does not divide by it."""
    prim = PRIMITIVES[name]
    for args in INSIDE[name]:
        out = prim(*args)
        assert all(t == 0.0 for t in prim.vjp(0.0, out, *args)), (name, args)
    x = Value(1.5)
    y = (x ** 0.0) * 0.0 + x                      # pow_const with n = 0 gets an upstream of 0
    y.backward()
    assert x.grad == 1.0


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "normal_cdf"])
@pytest.mark.parametrize("x0", [0.25, 0.999, 1.0, 1.5, 3.0, 20.0, 450.0])
def test_even_derivatives_are_even_bit_for_bit(name, x0):
    """tanh', σ' and φ are even functions; the rules keep that to the bit, in every mode, also at the
    points where a rule switches formula (|x| = 1 for tanh, |x| = 400 for its clipping)."""
    prim = PRIMITIVES[name]
    plus, minus = Value(x0), Value(-x0)
    apply(prim, plus).backward()
    apply(prim, minus).backward()
    assert plus.grad == minus.grad, (name, x0, plus.grad, minus.grad)
    first = [grad(apply(prim, v), v, create_graph=True).data for v in (Value(x0), Value(-x0))]
    assert first == [plus.grad, plus.grad], (name, x0, first)
    b = batch([x0, -x0])
    total(apply(prim, b)).backward()
    assert b.grad[0] == b.grad[1] == plus.grad, (name, x0, b.grad)


def test_batched_pow_at_base_zero_warns_nothing():
    """d/dy 0**y takes the limit 0 without computing 0 · log 0 where numpy would warn, also when the
    table's rule is called on arrays directly (the executors silence numpy; a user's call does not)."""
    x, y = batch([0.0, 2.0]), batch([2.0, 3.0])
    total(x ** y).backward()
    assert y.grad.tolist() == [0.0, 8.0 * math.log(2.0)]
    pow_ = PRIMITIVES["pow"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dx, dy = pow_.vjp(np.ones(2), pow_.batch(x.data, y.data), x.data, y.data)
    assert dx.tolist() == [0.0, 12.0] and dy.tolist() == [0.0, 8.0 * math.log(2.0)]
    x, y = np.array([0.0, 2.0]), np.array([0.0, 3.0])       # d/dx x**0 = 0, also at x = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dx, _ = pow_.vjp(np.ones(2), pow_.batch(x, y), x, y)
    assert dx.tolist() == [0.0, 12.0]


@pytest.mark.parametrize(("name", "x", "where"), [("log", [1.0, 0.0, -1.0], "example 1 (and 1 more)"),
                                                  ("log", [1.0, 0.0], "example 1;"),
                                                  ("sqrt", [0.0, 1.0, -1.0], "example 2;")])
def test_a_batched_domain_error_names_exactly_the_bad_examples(name, x, where):
    with pytest.raises(ValueError, match=re.escape(where)):
        apply(PRIMITIVES[name], batch(x))


@pytest.mark.parametrize("bad", [True, "2", None, 1j])
def test_a_row_called_on_something_not_a_number_says_so(bad):
    for name in ("exp", "relu", "sqrt"):
        with pytest.raises(TypeError, match=f"{name} needs a Value or a real number, got"):
            PRIMITIVES[name](bad)


def test_a_neuron_with_a_weight_per_example():
    """Weights that are batches (one per example) take the general path, example by example."""
    w = [np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 0.0])]
    x = [np.array([0.5, 0.5, 2.0]), np.array([4.0, -2.0, 1.0])]
    out = PRIMITIVES["neuron"].batch(*w, *x, 0.25)
    assert out.tolist() == [0.5 - 4.0 + 0.25, 1.0 - 1.0 + 0.25, 6.0 + 0.0 + 0.25]
    ws, xs = [batch(v) for v in w], [batch(v) for v in x]
    total(apply(PRIMITIVES["neuron"], *ws, *xs, 0.25)).backward()
    assert ws[0].grad.tolist() == x[0].tolist() and xs[1].grad.tolist() == w[1].tolist()


def test_a_constant_exponent_shows_as_written():
    """The diagrams' symbol of x ** n: an integer exponent without '.0', any other as it is."""
    assert (Value(2.0) ** 2).primitive.symbol == "**2"
    assert (Value(2.0) ** 0.5).primitive.symbol == "**0.5"
    assert (Value(2.0) ** -1.5).primitive.symbol == "**-1.5"


@pytest.mark.parametrize(("x", "y", "error", "where"), [
    ([0.0, -1.0, 2.0], [0.5, 0.5, 0.5], ValueError, "example 1;"),          # 0 ** 0.5 is fine
    ([0.0, -1.0, -2.0], [1.0, 0.5, 0.5], ValueError, "example 1 (and 1 more)"),
    ([1.0, 0.0, 0.0], [-1.0, 2.0, -0.5], ZeroDivisionError, "example 2;"),
    ([0.0, 0.0], [0.0, -1.0], ZeroDivisionError, "example 1;"),            # 0 ** 0 is 1
])
def test_a_batched_pow_error_names_exactly_the_bad_examples(x, y, error, where):
    with pytest.raises(error, match=re.escape(where)):
        batch(x) ** batch(y)


@pytest.mark.parametrize(("name", "x", "words"), [("log", 0.0, "log needs an input > 0"),
                                                  ("log", -1.0, "log needs an input > 0"),
                                                  ("sqrt", -1e-300, "sqrt needs an input >= 0"),
                                                  ("pow", (0.0, -1.0), "divides by zero"),
                                                  ("pow", (-8.0, 1 / 3), "not a real number")])
def test_a_domain_error_on_one_number_says_what_the_op_needs(name, x, words):
    """At the edge of each domain (log at 0 included) the row's own message, not math's."""
    args = x if isinstance(x, tuple) else (x,)
    with pytest.raises((ValueError, ZeroDivisionError), match=words):
        apply(PRIMITIVES[name], *[Value(a) for a in args])


def test_an_infinite_slope_says_the_exponent_it_met():
    with pytest.raises(InfiniteSlopeError, match=r"x \*\* 0.5 is infinite at x = 0 .*n - 1 = -0.5 < 0"):
        (Value(0.0) ** 0.5).backward()


def test_a_neuron_over_a_batch_with_a_bias_per_example():
    """Weights of one number, inputs and the bias one per example: the bias gets one term per example."""
    w = [Value(2.0), Value(-1.0)]
    x = [batch([1.0, 2.0, 3.0]), batch([0.5, 0.0, -1.0])]
    b = batch([0.1, 0.2, 0.3])
    total(apply(PRIMITIVES["neuron"], *w, *x, b)).backward()
    assert b.grad.tolist() == [1.0, 1.0, 1.0]
    assert [v.grad for v in w] == [6.0, -0.5] and x[1].grad.tolist() == [-1.0, -1.0, -1.0]


def test_a_batched_exponent_of_a_negative_base_names_the_example():
    x, y = batch([0.0, -1.0, 2.0]), batch([2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match=re.escape("log of a negative base at example 1;")):
        total(x ** y).backward()


def test_a_neuron_of_shared_numbers_with_a_bias_per_example():
    """Weights and inputs of one number each, only the bias a batch: no matrix product to take."""
    w, x, b = [Value(2.0), Value(-1.0)], [Value(0.5), Value(3.0)], batch([0.1, 0.2, 0.3])
    total(apply(PRIMITIVES["neuron"], *w, *x, b)).backward()
    assert [v.grad for v in w] == [1.5, 9.0] and [v.grad for v in x] == [6.0, -3.0]
    assert b.grad.tolist() == [1.0, 1.0, 1.0]


def test_a_derivative_graph_never_turns_into_a_plain_number():
    """With create_graph, where x^(n-1) overflows (x = 1e-310, n = 1e-10) the eager path's
    logarithmic form would give a number cut off from the graph (no second derivative): it is an
    error instead, naming the op."""
    x = Value(1e-310)
    with pytest.raises(FloatingPointError, match="pow_const"):
        grad(x ** 1e-10, x, create_graph=True)


def test_the_sum_of_squares_rule_gives_each_input_2x():
    """d/dx_k Σ x² = 2 x_k, through the table's rule itself (the executors inline it for numbers)."""
    rule = PRIMITIVES["sum_squares"].vjp
    assert rule(0.5, 29.0, 2.0, -5.0) == (2.0, -5.0)
    assert np.array_equal(rule(np.array([1.0, 0.5]), 4.0, 3.0)[0], [6.0, 3.0])
