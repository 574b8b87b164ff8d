"""Adding a primitive is one table entry: softsign(x) = x / (1 + |x|), defined only here, works in
backward(), backward_steps, diagrams with local derivatives, batched mode and grad(create_graph=True)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import viz
from autodiff import Value, backward_steps, grad, gradcheck
from autodiff.batched import batch, total
from autodiff.primitives import PRIMITIVES, define


def _sign(x):
    """+1 or -1 (piecewise constant, so a plain number even for a Value: its derivative is 0)."""
    x = x if x.__class__ is float or getattr(x, "ndim", 0) else x.data
    return np.where(x >= 0, 1.0, -1.0) if getattr(x, "ndim", 0) else (1.0 if x >= 0 else -1.0)


@pytest.fixture
def softsign():
    # d/dx x/(1+|x|) = 1/(1+|x|)^2 = (1 - |out|)^2, with |out| = sign(x) out
    prim = define("softsign", "softsign", 1,
                  forward=lambda x: x / (1 + abs(x)),
                  vjp=lambda g, out, x: (g * (1 - _sign(x) * out) ** 2,),
                  text=("1/(1 + |{x}|)²",),
                  batch_forward=lambda x: x / (1 + np.abs(x)))
    yield prim
    del PRIMITIVES["softsign"]


def exact(x: float) -> float:
    return 1 / (1 + abs(x)) ** 2


def test_backward_and_central_differences(softsign):
    for x0 in (-2.5, -0.3, 0.7, 4.0):
        x = Value(x0)
        y = softsign(x * 2.0) * 3.0
        y.backward()
        assert y.op == "mul" and y.parents[0].op == "softsign"
        assert x.grad == pytest.approx(6 * exact(2 * x0), rel=1e-15)
        gradcheck(lambda v: softsign(v).tanh(), [x0])
    assert softsign(0.5) == pytest.approx(1 / 3, rel=1e-15)       # on a number: a float


def test_backward_steps_show_its_derivative_text(softsign):
    x = Value(1.0, "x")
    y = softsign(x)
    y.label = "y"
    (step,) = list(backward_steps(y))
    assert str(step) == "step 1/1  softsign: x.grad += 1/(1 + |x|)² · y.grad = 0.25 · 1.0 → 0.25"
    assert not x.has_grad


def test_diagram_edges_carry_its_local_derivative(softsign):
    x = Value(-3.0, "x")
    y = softsign(x)
    source = viz.draw(y, show_local=True).source
    assert "<softsign>" in source and re.search(r'label="?0\.0625"? id=e1_0', source)


def test_batched_equals_one_example_at_a_time(softsign):
    xs = [-2.0, 0.5, 3.0]
    w = Value(0.8, "w")
    total(softsign(w * batch(xs))).backward()
    assert w.grad == pytest.approx(sum(x * exact(0.8 * x) for x in xs), rel=1e-14)


def test_second_derivative_through_create_graph(softsign):
    for x0 in (-1.5, 0.4):
        x = Value(x0)
        d1 = grad(softsign(x), x, create_graph=True)
        d2 = grad(d1, x)
        sign = 1.0 if x0 >= 0 else -1.0
        assert d1.data == pytest.approx(exact(x0), rel=1e-15)
        assert d2 == pytest.approx(-2 * sign / (1 + abs(x0)) ** 3, rel=1e-14)
