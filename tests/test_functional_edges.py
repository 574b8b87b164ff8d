"""Edges of `autodiff.grad`, `hessian` and `hvp` that the mutation run (`make mutate`, docs/testing.md)
found untested."""

from __future__ import annotations

import copy

import pytest

from autodiff import PRIMITIVES, Value, grad, hvp
from autodiff.engine import apply


def test_hvp_of_a_constant_function_is_zero():
    """f returning a plain number: H = 0, so H v = 0 for every v (hessian's twin is in test_higher_order)."""
    assert hvp(lambda x, y: 4.0, [1.0, 2.0], [3.0, -1.0]) == [0.0, 0.0]


def test_a_rule_with_a_term_missing_is_an_error_not_a_dropped_input():
    """A rule must give one term per input: with one missing, grad raises instead of quietly leaving an
    input out (zip would stop at the shorter)."""
    mul = PRIMITIVES["mul"]
    short = copy.copy(mul)
    short.vjp = lambda g, out, x, y: (g * y,)
    x, y = Value(2.0), Value(3.0)
    with pytest.raises(ValueError):
        grad(apply(short, x, y), [x, y])
    with pytest.raises(ValueError):
        grad(apply(short, x, y), [x, y], create_graph=True)


def test_hvp_refuses_a_vector_that_is_text_or_not_a_sequence_even_of_the_right_length():
    def f(x, y):
        return x * y
    for vector in ("ab", b"ab", {1.0, 2.0}, (c for c in (1.0, 2.0))):
        with pytest.raises(ValueError, match="vector must hold one number per input"):
            hvp(f, [1.0, 2.0], vector)
