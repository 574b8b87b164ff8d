"""Batched evaluation: one graph over a whole data set equals the sum of one-example runs."""

import math

import numpy as np
import pytest

from autodiff import Value
from autodiff.batched import batch, batch_columns, batch_size, example, mean, total
from autodiff.engine import neuron


def params(rng, n):
    return [Value(rng.uniform(-1, 1)) for _ in range(n)]


def net(p, x):
    """A small two-layer net using every primitive, reusing inputs and a scalar-only branch."""
    h1 = neuron(p[0:2], x, p[2]).tanh()
    h2 = (p[3] * x[0] + p[4] * x[1] + p[5]).relu()
    h3 = (p[6] * x[1] - p[7]).sigmoid()
    shared = (p[8] * p[8]).exp()                      # one number for every example
    s = h1 * shared + h2 * h3 - h1 / (1 + h3) + (h2 + 1.5).log() + (x[0] ** 2) * p[9] ** 3
    return s + (p[9] + 2.0) ** (h3 + 0.5)


def rel_err(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


@pytest.mark.parametrize("seed", range(5))
def test_batched_gradients_equal_the_sum_of_single_example_runs(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(37, 2))
    p = params(rng, 10)
    reg = sum((q * q for q in p), Value(0.0))
    loss = total(net(p, batch_columns(X))) + 0.1 * reg
    loss.backward()
    batched = [q.grad for q in p]
    assert all(type(g) is float for g in batched)
    for q in p:
        q.grad = 0.0
    value = 0.0
    for row in X.tolist():
        out = net(p, [Value(v) for v in row])
        out.backward()
        value += out.data
    (0.1 * sum((q * q for q in p), Value(0.0))).backward()
    assert loss.data == pytest.approx(value + 0.1 * sum(q.data ** 2 for q in p), rel=1e-12)
    assert rel_err(batched, [q.grad for q in p]) < 1e-12


def test_batched_moons_mlp_hinge_matches_one_at_a_time():
    from nn.data import make_moons
    from nn.layers import MLP
    X, y = make_moons(30, 0.1, rng=3)
    y = 2.0 * y - 1
    model = MLP(2, [4, 4, 1], rng=3)
    ps = model.parameters()
    loss = mean((1 - batch(y) * model(batch_columns(X))[0]).relu())
    loss.backward()
    g_batched = [p.grad for p in ps]
    for p in ps:
        p.grad = 0.0
    total_loss = 0.0
    for row, label in zip(X.tolist(), y.tolist(), strict=True):
        one = (1 - label * model(row)[0]).relu() * (1 / len(y))
        one.backward()
        total_loss += one.data
    assert loss.data == pytest.approx(total_loss, rel=1e-12)
    assert rel_err(g_batched, [p.grad for p in ps]) < 1e-12


def test_nodes_hold_one_number_per_example_and_parameters_stay_scalar():
    w = Value(2.0)
    xs = batch_columns([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    u = w * xs[0] + xs[1]
    z = u.tanh()
    assert batch_size(z) == 3 and batch_size(w) == 1
    assert np.allclose(z.data, np.tanh([4.0, 10.0, 16.0]))
    s = total(z)
    assert s.data == pytest.approx(float(np.tanh([4.0, 10.0, 16.0]).sum()))
    s.backward()
    assert type(w.grad) is float
    expected = sum((1 - math.tanh(2 * a + b) ** 2) * a for a, b in [(1, 2), (3, 4), (5, 6)])
    assert w.grad == pytest.approx(expected)
    assert example(z, 1) == (pytest.approx(math.tanh(10.0)), 1.0)
    assert example(u, 2) == (16.0, pytest.approx(1 - math.tanh(16.0) ** 2))
    assert example(w, 0) == (2.0, w.grad)
    with pytest.raises(IndexError, match="3 examples"):
        example(z, 3)


def test_a_batched_root_seeds_every_example():
    xs = batch([1.0, 2.0, 3.0])
    w = Value(0.5)
    (w * xs).backward()                     # same as total(w * xs).backward()
    assert w.grad == 6.0


def test_errors_name_the_example():
    x = batch([1.0, -2.0, 3.0])
    with pytest.raises(ValueError, match="log: undefined at example 1"):
        x.log()
    with pytest.raises(ZeroDivisionError, match="example 0"):
        batch([0.0, 1.0]) ** -1
    with pytest.raises(ValueError, match="not finite"):
        batch([1.0, float("nan")])
    with pytest.raises(ValueError, match=r"shape \(N, d\)"):
        batch_columns([1.0, 2.0])
    with pytest.raises(TypeError):
        Value(np.array([1.0, 2.0]))         # the one-example API still refuses arrays


def test_the_float_path_stays_plain_floats():
    a = Value(0.3)
    b = (a * 2 + 1).tanh().exp().log().sigmoid().relu() ** 2
    b.backward()
    assert type(b.data) is float and type(a.grad) is float


def test_a_batched_node_has_a_readable_repr():
    z = batch([1.0, 2.0, 3.0, 4.0], "x") * 2.0
    assert repr(z) == "Value(data=[4 examples: 2, 4, 6, ...], grad=0)"
    assert repr(Value(1.5, "w")) == "Value(data=1.5, grad=0, label='w')"
