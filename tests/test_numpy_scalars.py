"""A leaf's ``.data`` set by hand to a numpy scalar, a 0-d array or an int (QA of issue 17, item 1):
the graph computes as with the same float, bit for bit, in every mode; a bool, a string or NaN is
refused with an error naming the leaf. Before the fix tanh/gelu/elu/leaky_relu failed on numpy's buffer."""

import math

import numpy as np
import pytest

import autodiff
from autodiff import Value
from autodiff.batched import batch
from autodiff.primitives import PRIMITIVES

NUMBERS = [np.float64(0.5), np.array(0.5), np.float32(0.5), np.int64(1), 1]
UNARY = sorted(name for name, p in PRIMITIVES.items() if p.arity == 1 and name != "examples_sum")
BINARY = sorted(name for name, p in PRIMITIVES.items() if p.arity == 2)


def _kind(v) -> str:
    return f"{type(v).__name__}({float(v)})"


def _unary_grads(name, value, when):
    """x·w through the primitive, with x.data set to ``value`` before the forward pass or after it."""
    x, w = Value(2.0, "x"), Value(3.0, "w")
    if when == "before":
        x.data = value
    out = PRIMITIVES[name](x * w)
    if when == "after":
        x.data = value
    out.backward()
    return out.data, x.grad, w.grad


@pytest.mark.parametrize("value", NUMBERS, ids=_kind)
@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("name", UNARY)
def test_unary_equals_the_float(name, when, value):
    got = _unary_grads(name, value, when)
    assert got == _unary_grads(name, float(value), when)
    assert all(v.__class__ is float for v in got)


@pytest.mark.parametrize("value", NUMBERS, ids=_kind)
@pytest.mark.parametrize("name", BINARY)
def test_binary_equals_the_float(name, value):
    def grads(v):
        x, y = Value(1.5, "x"), Value(0.7, "y")
        x.data = v
        out = PRIMITIVES[name](x, y).tanh()
        out.backward()
        return out.data, x.grad, y.grad
    got = grads(value)
    assert got == grads(float(value))
    assert all(v.__class__ is float for v in got)


def test_the_reported_case_tanh():
    x, w = Value(2.0, "x"), Value(3.0, "w")
    x.data = np.float64(0.5)
    o = (x * w).tanh()
    o.backward()
    assert x.grad == pytest.approx(3 * (1 - math.tanh(1.5) ** 2), rel=1e-15)
    assert w.grad == pytest.approx(0.5 * (1 - math.tanh(1.5) ** 2), rel=1e-15)
    assert x.data.__class__ is float                  # stored as a float, as Value(np.float64(...)) is


def test_a_rule_given_a_numpy_scalar_directly():
    # A rule reads its inputs' numbers: a numpy scalar is one (its .data is a buffer, not a number)
    for name in ["tanh", "gelu", "elu", "leaky_relu", "relu", "abs"]:
        prim = PRIMITIVES[name]
        assert prim.vjp(1.0, prim(0.5), np.float64(0.5)) == prim.vjp(1.0, prim(0.5), 0.5)


def test_n_ary_nodes():
    def grads(v):
        ws = [Value(0.3, "w0"), Value(-0.2, "w1")]
        xs = [Value(1.0, "x0"), Value(2.0, "x1")]
        b = Value(0.1, "b")
        xs[1].data = v
        out = autodiff.neuron(ws, xs, b).tanh() + PRIMITIVES["sum_squares"](*xs)
        out.backward()
        return out.data, [p.grad for p in (*ws, *xs, b)]
    assert grads(np.float64(0.5)) == grads(0.5)
    assert grads(np.array(0.5)) == grads(0.5)


def test_compiled_equals_the_float():
    def run(v):
        x, w = Value(2.0, "x"), Value(3.0, "w")
        p = autodiff.compile((x * w).gelu() + (x * w).elu())
        x.data = v
        y = p.forward()
        p.backward()
        return y, x.grad, w.grad
    assert run(np.float64(0.5)) == pytest.approx(run(0.5), rel=1e-15)


@pytest.mark.parametrize("kind", ["eager", "fast", "layers", "node by node"])
@pytest.mark.parametrize("number", [np.float64(0.25), np.float32(0.25), np.array(0.25), np.int64(2), 3])
def test_a_compiled_forward_makes_a_float_of_a_leaf_set_to_another_number(kind, number, monkeypatch):
    # a leaf set to a numpy scalar (an int, a 0-d array) after compiling: forward() makes it a float, as
    # the engine's next operation does, and returns the float the graph built on that float gives
    import nn
    from autodiff.batched import batch_columns
    if kind == "fast":   # the program written for speed, as large eager graphs get it
        monkeypatch.setattr(autodiff.compiled, "READABLE_NODES", 0)

    def graph(value=None):
        model = nn.MLP(2, [3, 1], rng=0, fused=kind == "layers")
        w = model.layers[0].neurons[0].w[0]
        if value is not None:
            w.data = value
        if kind == "layers":
            xs = batch_columns(np.array([[0.5, -1.0], [2.0, 0.25], [1.0, 1.0]]))
            return w, nn.mean(nn.hinge(model(xs), [batch([1.0, -1.0, 1.0])])) + nn.l2(model.weights(), 0.1)
        if kind == "node by node":   # a weight holding a batch: no layer the executor multiplies out
            xs = [batch([1.0, 2.0, 3.0]), batch([0.5, -1.0, 2.0])]
            z = autodiff.neuron([w, batch([0.1, 0.2, 0.3])], xs, Value(0.1, "b"))
            return w, autodiff.batched.mean(z.tanh()) + nn.l2([w], 0.1)
        return w, nn.hinge(model([0.5, -1.0])[0], 1.0) + nn.l2(model.weights(), 0.1)
    w, root = graph()
    program = autodiff.compile(root)
    assert program.layers == (kind == "layers")
    w.data = number
    out = program.forward()
    program.backward()
    assert out.__class__ is float and w.data.__class__ is float and w.data == float(number)
    fresh_w, fresh = graph(float(number))
    fresh.backward()
    assert out == fresh.data and w.grad == fresh_w.grad
    w.data = np.bool_(True)
    with pytest.raises(TypeError, match=r"compiled forward: the \.data of the Value"):
        program.forward()


def test_batched_with_a_shared_numpy_scalar():
    def run(v):
        w = Value(1.0, "w")
        w.data = v
        x = batch([0.5, -1.0, 2.0])
        loss = autodiff.batched.mean((x * w).tanh())
        loss.backward()
        return loss.data, w.grad
    assert run(np.float64(0.25)) == run(0.25)


@pytest.mark.parametrize("bad, error", [(True, TypeError), (np.bool_(False), TypeError),
                                        ("2", TypeError), (None, TypeError), (1 + 2j, TypeError),
                                        (np.float64("nan"), ValueError), (np.inf, ValueError),
                                        (10 ** 400, ValueError)],
                         ids=["bool", "numpy_bool", "str", "None", "complex", "nan", "inf", "int_1e400"])
@pytest.mark.parametrize("when", ["before", "after"])
def test_refused_naming_the_leaf(bad, error, when):
    x, w = Value(2.0, "x"), Value(3.0, "w")
    if when == "before":
        x.data = bad
        with pytest.raises(error, match=r"\.data of the Value 'x'|not a finite|set \.data"):
            (x * w).tanh()
        return
    o = (x * w).tanh()
    x.data = bad
    if bad is np.inf:  # a float: once a gradient is not finite, backward names the leaf (issue 17)
        with pytest.raises(ValueError, match="^backward: the Value 'x' holds inf, not a finite number"):
            o.backward()
        return
    with pytest.raises(error, match=r"backward: the \.data of the Value 'x'"):
        o.backward()
    assert x.grad == 0.0 and w.grad == 0.0           # all or nothing: nothing was written


def test_a_walk_leaves_the_data_as_it_found_it():
    # topological_order, compile, the stepper and autodiff.grad only read: the numpy scalar stays one,
    # and what they give equals the float's (a float(x) of it); a bad .data is not refused by a walk
    def graph(v):
        x, w = Value(2.0, "x"), Value(3.0, "w")
        out = (x * w).tanh() + x
        x.data = v  # after the forward pass (before it, apply makes it a float)
        return x, w, out
    x, w, out = graph(np.float64(0.5))
    fx, fw, fout = graph(0.5)
    assert autodiff.topological_order(out)[0] is x and x.data.__class__ is np.float64
    assert autodiff.grad(out, [x, w]) == autodiff.grad(fout, [fx, fw])
    steps = [(s.upstream, s.contributions) for s in autodiff.backward_steps(out)]
    assert steps == [(s.upstream, s.contributions) for s in autodiff.backward_steps(fout)]
    p, fp = autodiff.compile(out), autodiff.compile(fout)
    assert x.data.__class__ is np.float64                # compiling reads; forward() is an operation
    assert p.forward() == pytest.approx(fp.forward(), rel=1e-15)
    p.backward()
    fp.backward()
    assert (x.grad, w.grad) == pytest.approx((fx.grad, fw.grad), rel=1e-15)
    x.data = True
    assert autodiff.topological_order(out)[0] is x and x.data is True


def test_backward_makes_a_float_of_a_numpy_scalar_after_the_batch_leaf():
    # the batch is the first leaf, w the second: before, the walk stopped at the batch and w stayed numpy
    x = batch([0.5, -1.0, 2.0])
    w = Value(1.0, "w")
    loss = autodiff.batched.mean((x * w).tanh())
    w.data = np.float64(0.25)
    loss.backward()
    assert w.data.__class__ is float and w.grad.__class__ is float
    w.data = np.bool_(True)
    with pytest.raises(TypeError, match=r"backward: the \.data of the Value 'w'"):
        loss.backward()


def test_a_graph_whose_only_leaf_holds_a_numpy_scalar_has_it_made_a_float_by_backward():
    # no leaf is a float (the case where backward's conversion must not wait for one)
    x = Value(3.0, "x")
    y = (x * x).tanh()
    x.data = np.float64(0.5)
    y.backward()
    assert x.data.__class__ is float and x.data == 0.5
