"""A compiled program refuses what backward() refuses, in its words (h17k's report, issue 17): a number
beyond the floats set by hand (its first 60 digits read as a finite number before) and a masked array
on a batched leaf (taken before, its mask dropped: the masked example counted as 0)."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import nn
from autodiff import Value
from autodiff.batched import batch, batch_columns, mean
from nn.data import make_moons


@pytest.mark.parametrize("links", [1, 150])   # the readable program, and the fast one (> 200 nodes)
@pytest.mark.parametrize("big", [10**400, -(10**400)])
def test_a_number_beyond_the_floats_is_refused_by_a_compiled_forward_as_by_backward(links, big):
    a = Value(0.5, "a")
    y = a
    for _ in range(links):
        y = (y * 0.9).tanh()
    program = autodiff.compile(y)
    before = [n.data for n in autodiff.topological_order(y)]
    a.data = big
    words = r"the \.data of the Value 'a' is an int of about 401 digits, beyond the float range"
    with pytest.raises(ValueError, match=rf"^compiled forward: {words}"):
        program.forward()
    with pytest.raises(ValueError, match=rf"^backward: {words}"):
        y.backward()
    assert [n.data for n in autodiff.topological_order(y)][1:] == before[1:]   # no node written
    assert a.data == big


def _programs():
    x, w = batch([1.0, 2.0, 3.0], "x"), Value(2.0, "w")
    yield "a product", x, mean(x * w)
    X, y = make_moons(8, noise=0.1, rng=1)
    xs = batch_columns(X)
    model = nn.MLP(2, [3, 1], rng=1, fused=True)
    yield "a network", xs[0], nn.mean(nn.hinge(model(xs), [batch(2 * y - 1)]))


@pytest.mark.parametrize("case", range(2))
def test_a_masked_array_on_a_batch_is_refused_by_a_compiled_forward_as_by_backward(case):
    _, x, loss = list(_programs())[case]
    program = autodiff.compile(loss)
    value = program.forward()
    mask = np.zeros(len(x.data), bool)
    mask[1] = True
    x.data = masked = np.ma.array(x.data, mask=mask)
    words = r"holds a masked array \(numpy\.ma\) of float64; a batch holds a plain numpy array of floats"
    with pytest.raises(TypeError, match=rf"^compiled forward: .*'{x.label}' {words}"):
        program.forward()
    with pytest.raises(TypeError, match=rf"^backward: .*'{x.label}' {words}"):
        loss.backward()
    assert x.data is masked
    x.data = np.asarray(masked)   # what the message says to do
    assert program.forward() == value


def test_check_names_a_changed_constant_by_its_label():
    # a fresh tester: "node 2 ('x_0') is the constant 5.0": the program's own name, not the label x.0
    model = nn.MLP(2, [3, 1], rng=1)
    out = model([1.0, 2.0])[0]
    program = autodiff.compile(out)
    x0 = next(n for n in autodiff.topological_order(out) if n.label == "x.0")
    x0.data = 5.0
    with pytest.raises(autodiff.GraphChangedError, match=r"^compiled check: node \d+ \('x\.0'\) is the "
                                                         r"constant 5\.0"):
        program.check(model([1.0, 2.0])[0])
