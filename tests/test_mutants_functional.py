"""Tests written for the mutants `make mutate` found alive in `autodiff.functional` (issue 20): the
first-order `grad` runs the reference loop on plain numbers, so a rule's float-only branches (pow's
term by logarithms) give what `backward()` gives."""

from __future__ import annotations

import math

import pytest

from autodiff import Value, grad


def test_grad_of_x_to_a_tiny_power_near_zero_takes_the_term_by_logarithms_as_backward_does():
    """d/dx x^n = n x^(n-1): at x = 1e-310, n = 1e-10, x^(n-1) overflows a float but the term does not
    (about 1e300). With a Value as the seed the rule would take its graph-building form and overflow."""
    x = Value(1e-310)
    y = x ** 1e-10
    expected = math.exp(math.log(1e-10) + (1e-10 - 1) * math.log(1e-310))
    got = grad(y, x)
    assert got.__class__ is float and got == pytest.approx(expected, rel=1e-12)
    y.backward()
    assert got == x.grad
