"""Issue 12: the batched backward pass checks finiteness and adds what the leaves held inside the executor
(no passes of its own), and `apply` skips the check of a batch's result for the primitives that keep
finite numbers finite. The guarantees stay: no gradient that is not finite, all or nothing, the node
named; leaves accumulate exactly as in eager mode; the table's `keeps_finite` rows tell the truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autodiff import PRIMITIVES, Value, topological_order
from autodiff.batched import batch, total
from autodiff.engine import apply
from autodiff.primitives import Primitive, elu_op, leaky_relu_op, pow_const


def grads(nodes):
    return [n._grad for n in nodes]


def test_an_interior_gradient_that_relu_masks_is_still_refused():
    """r's gradient is inf, but relu passes 0 on to a: every leaf ends finite, r does not."""
    x = batch([-1.0, -2.0], "x")
    r = (x * 1.0).relu()
    r.label = "r"
    loss = total(r * 1e308 * 10.0)
    nodes = topological_order(loss)
    with pytest.raises(FloatingPointError, match="gradient of node r "):
        loss.backward()
    assert not any(n.has_grad for n in nodes)


def test_a_parameter_whose_gradient_overflows_is_refused_and_keeps_what_it_held():
    w = Value(0.5, "w")
    w.grad = 0.5
    loss = total(w * batch([1e308, 1e308]))          # d/dw = Σ x = inf
    with pytest.raises(FloatingPointError, match="gradient of node w "):
        loss.backward()
    assert w.grad == 0.5
    assert not any(n.has_grad for n in topological_order(loss) if n is not w)


def test_a_held_gradient_that_overflows_once_added_is_refused_all_or_nothing():
    w = Value(0.5, "w")
    w.grad = 1e308
    x = batch([1e308, 0.0], "x")
    loss = total(w * x)                              # this pass: 1e308, finite; held + it: inf
    with pytest.raises(FloatingPointError, match="leaf w .* once this pass's gradient is added"):
        loss.backward()
    assert w.grad == 1e308 and not x.has_grad


@pytest.mark.parametrize("held", [0.1, -3.75, 0.0, None])
def test_leaves_accumulate_as_in_eager_mode_to_the_bit(held):
    """The gradient a leaf ends with is what it held plus this pass's, summed the way `backward()` sums
    a one-number graph: the same float operations."""
    def build():
        w = [Value(0.3), Value(-1.2), Value(0.7)]
        x = batch([0.5, -1.5, 2.0])
        z = (w[0] * x + w[1]).tanh() * w[2] + (w[0] * w[1])
        return w, total(z * z)

    w, loss = build()
    loss.backward()
    fresh = [v.grad for v in w]
    w, loss = build()
    for v in w:
        v.grad = held
    loss.backward()
    expected = fresh if held is None else [held + g for g in fresh]
    assert [v.grad for v in w] == expected
    loss.backward()                                  # two calls in a row: each adds this pass's
    assert [v.grad for v in w] == [e + g for e, g in zip(expected, fresh, strict=True)]


def test_a_gradient_set_by_hand_as_an_array_is_not_written_into():
    w = Value(2.0, "w")
    mine = np.array([1.0, 1.0])
    w.grad = mine
    x = batch([3.0, 4.0])
    with pytest.raises(TypeError, match=r"^backward: the \.grad of the Value 'w' is an array of "
                                        r"shape \(2,\), but it holds one number"):   # refused (issue 17)
        total(w * x).backward()
    assert mine.tolist() == [1.0, 1.0] and w.grad is mine   # the user's array as it was


def test_a_primitive_that_does_not_say_it_keeps_numbers_finite_is_checked():
    with np.errstate(all="ignore"):
        blowup = Primitive("blowup", "blowup", 1, lambda x: x * 1e308 * 10, lambda g, out, x: (g,),
                           batch_forward=lambda x: x * 1e308 * 10)
    with pytest.raises(OverflowError, match="^blowup"), np.errstate(all="ignore"):
        apply(blowup, batch([1.0, 2.0]))


EXTREMES = [1.7976931348623157e308, -1.7976931348623157e308, 1e300, -1e300, 709.79, -745.2, 1.0, -1.0,
            0.5, 1e-320, -1e-320, 0.0, 100.0, 1e154, -1e154]


def _kept_finite_rows():
    rows = [p for p in PRIMITIVES.values() if p.keeps_finite]
    rows += [pow_const(n) for n in (2.0, -1.0, 0.5, 3.0, 1e10)]
    rows += [leaky_relu_op(s) for s in (0.01, -1.0, 1.0)] + [elu_op(a) for a in (1.0, 1e300)]
    return rows


@pytest.mark.parametrize("prim", _kept_finite_rows(), ids=lambda p: f"{p.name}{p.consts or ''}")
def test_every_row_marked_keeps_finite_gives_finite_numbers_or_an_error(prim):
    """The check `apply` skips for these rows may be skipped: over finite inputs, the extremes of the
    floats among them, the batch forward returns finite numbers or raises."""
    xs = np.array(EXTREMES)
    columns = [xs] if prim.arity == 1 else [np.repeat(xs, len(xs)), np.tile(xs, len(xs))]
    for i in range(len(columns[0])):
        args = [c[i:i + 1] for c in columns]
        try:
            with np.errstate(all="ignore"):
                out = prim.batch_forward(*args)
        except (ArithmeticError, ValueError):
            continue
        assert np.all(np.isfinite(out)), (prim.name, [float(a[0]) for a in args], out)


@pytest.mark.parametrize("name", ["add", "mul", "neuron", "sum_squares", "examples_sum"])
def test_the_rows_that_can_overflow_are_checked(name):
    assert not PRIMITIVES[name].keeps_finite
    assert not leaky_relu_op(1e300).keeps_finite     # slope · x overflows


def test_a_batched_step_leaves_every_gradient_finite_and_a_float_on_each_parameter():
    w = [Value(v) for v in (0.5, -0.25, 1.5)]
    x = batch([1.0, 2.0, 3.0])
    loss = total(((w[0] * x + w[1]).relu() * w[2] - 1.0) ** 2)
    loss.backward()
    assert all(type(v.grad) is float and math.isfinite(v.grad) for v in w)
