"""Values set by hand (``.data = ...``) that are not finite numbers are refused naming the Value, in
every executor and optimizer; nn.l2's gradient is the written-out graph's to the bit (issues 12, 17)."""

import math
import re
from fractions import Fraction

import numpy as np
import pytest

import autodiff
import nn
from autodiff import Value
from autodiff.batched import batch, mean
from autodiff.compiled import READABLE_NODES
from autodiff.primitives import PRIMITIVES

NAN = float("nan")
UNARY = sorted(name for name, p in PRIMITIVES.items() if p.arity == 1)
BINARY = sorted(name for name, p in PRIMITIVES.items() if p.arity == 2)


# ---- item 1: an op whose forward keeps numbers finite still refuses a NaN leaf -------------------

def test_relu_refuses_a_nan_set_by_hand_naming_the_value():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    a.data = NAN
    with pytest.raises(ValueError, match=r"relu: .*the Value 'a' holds nan"):
        a.relu() * b


@pytest.mark.parametrize("name", UNARY + BINARY)
@pytest.mark.parametrize("where", ["number", "batch"])
def test_every_op_refuses_a_nan_leaf_naming_it(name, where):
    op = PRIMITIVES[name]
    for pos in range(op.arity):
        if where == "number":
            vs = [Value(0.5, f"v{i}") for i in range(op.arity)]
            vs[pos].data = NAN
        else:
            vs = [batch([0.5, 0.7], f"v{i}") for i in range(op.arity)]
            vs[pos].data = np.array([0.5, NAN])
        with pytest.raises(ValueError, match=f"the Value 'v{pos}' holds nan"):
            op(*vs)


@pytest.mark.parametrize("fn, y", [(autodiff.maximum, 1.0), (autodiff.minimum, 0.0)])
def test_maximum_and_minimum_refuse_nan_in_either_place(fn, y):
    x, w = Value(y, "x"), Value(0.5, "w")
    w.data = NAN
    with pytest.raises(ValueError, match="the Value 'w' holds nan"):
        fn(x, w)
    assert fn(Value(1.0), Value(2.0)).data == (2.0 if fn is autodiff.maximum else 1.0)


# ---- item 3: the compiled forward's leaf read names the leaf --------------------------------------

@pytest.mark.parametrize("name", UNARY + BINARY)
def test_compiled_refuses_a_nan_leaf_naming_it(name):
    op = PRIMITIVES[name]
    vs = [Value(0.5, f"v{i}") for i in range(op.arity)]
    program = autodiff.compile(op(*vs) * Value(2.0, "k"))
    vs[0].data = NAN
    with pytest.raises(ValueError, match="compiled forward: the Value 'v0' holds nan"):
        program.forward()


def test_compiled_relu_of_a_nan_leaf_is_refused_not_zero():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    program = autodiff.compile(a.relu() * b)
    a.data = NAN
    with pytest.raises(ValueError, match="compiled forward: the Value 'a' holds nan"):
        program.forward()


def test_compiled_small_and_large_graphs_name_the_nan_leaf():
    w1, w2, x = Value(0.5, "w1"), Value(-2.0, "w2"), Value(1.5, "x")
    small = autodiff.compile((x * w1).tanh() + nn.l2([w1, w2, w1], 0.1))
    ws = [Value(0.1 * i, f"w{i}") for i in range(READABLE_NODES)]
    big = autodiff.compile(sum((w * w for w in ws), Value(0.0)))
    w2.data = NAN
    ws[7].data = NAN
    with pytest.raises(ValueError, match="compiled forward: the Value 'w2' holds nan"):
        small.forward()
    with pytest.raises(ValueError, match="compiled forward: the Value 'w7' holds nan"):
        big.forward()


def test_compiled_batched_names_the_nan_leaf_and_example():
    x, w = batch([1.0, 2.0, 3.0], "x"), Value(0.5, "w")
    program = autodiff.compile(mean((x * w).tanh()))
    x.data = np.array([1.0, NAN, 3.0])
    with pytest.raises(ValueError, match="compiled forward: the Value 'x' holds nan at example 1"):
        program.forward()


# ---- item 2: optimizers read a parameter's value set by hand -------------------------------------

@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.1), lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: nn.Adam(ps, lr=0.1)])
@pytest.mark.parametrize("bad, error, words", [
    ("1", TypeError, r"holds '1' \(str\), not a number"),
    (True, TypeError, r"holds True \(bool\), not a number"),
    (np.bool_(True), TypeError, r"holds np.True_ \(bool\), not a number|holds True \(bool_?\)"),
    (None, TypeError, r"holds None \(NoneType\), not a number"),
    (NAN, ValueError, "holds nan, not a finite number"),
    (math.inf, ValueError, "holds inf, not a finite number"),
])
def test_optimizers_refuse_a_value_that_is_not_a_finite_number(make, bad, error, words):
    ps = [Value(1.0, "w"), Value(2.0)]
    opt = make(ps)
    nn.l2(ps, 1.0).backward()
    opt.step()
    ps[1].data = bad
    with pytest.raises(error, match=r"params\[1\] " + words) as caught:
        opt.step()
    assert "Lower the lr" not in str(caught.value)
    assert ps[0].data == pytest.approx(0.9 if "SGD" in type(opt).__name__ else 0.9)
    ps[1].data = bad
    ps[0].data = bad
    with pytest.raises(error, match=r"params\[0\] \(w\) " + words):
        opt.step()


def test_optimizers_still_take_numbers_set_by_hand():
    ps = [Value(1.0), Value(2.0)]
    opt = nn.SGD(ps, lr=0.1)
    for v in (np.float32(2.0), np.array(2.0), 3, np.int64(3)):
        ps[0].data = v
        ps[0].grad = 1.0
        opt.step()
        assert ps[0].data == float(v) - 0.1


# ---- item 8: nn.l2's gradient is (g·c)·w + (g·c)·w, as the written-out graph's ------------------

SUBNORMAL_CASES = [(1.5e-323, 1.3), (1e-300, 1e-10), (1e-320, 3.0), (1e-308, 0.3), (3e-310, -0.7)]


def _written(ws: list[Value], lam: float) -> Value:
    s = ws[0] * ws[0]
    for w in ws[1:]:
        s = s + w * w
    return (lam / 2) * s


@pytest.mark.parametrize("lam, x", SUBNORMAL_CASES)
def test_l2_gradient_matches_the_written_out_graph_for_subnormals(lam, x):
    w, ref = Value(x), Value(x)
    nn.l2([w], lam).backward()
    _written([ref], lam).backward()
    assert (w.grad, nn.l2([w], lam).data) == (ref.grad, _written([ref], lam).data)
    assert w.grad != lam * x or ref.grad == lam * x   # the reported case: 2.5e-323 against 3e-323


def test_l2_reported_subnormal_values():
    w = Value(1.3)
    nn.l2([w], 1.5e-323).backward()
    assert w.grad == 3e-323
    w = Value(1e-10)
    nn.l2([w], 1e-300).backward()
    assert w.grad == 1.00000000000005e-310


@pytest.mark.parametrize("lam, x", SUBNORMAL_CASES)
def test_l2_subnormal_gradient_in_every_executor(lam, x):
    ref = Value(x)
    _written([ref], lam).backward()
    # compiled, readable
    w = Value(x)
    program = autodiff.compile(nn.l2([w], lam) * 1.0)
    program.forward(); program.backward()
    assert w.grad == ref.grad
    # compiled, large (the program that writes .data itself)
    ws = [Value(x)] + [Value(1.0) for _ in range(READABLE_NODES)]
    program = autodiff.compile(nn.l2(ws, lam) + sum(ws[1:], Value(0.0)))
    program.forward(); program.backward()
    assert ws[0].grad == ref.grad
    # batched graph (the batched executor's fast path), eager and compiled
    for compiled in (False, True):
        w, k = Value(x), Value(1.0)
        loss = mean(batch([1.0, 2.0]) * k) + nn.l2([w], lam)
        if compiled:
            program = autodiff.compile(loss)
            program.forward(); program.backward()
        else:
            loss.backward()
        assert w.grad == ref.grad, compiled


# ---- item 9: a λ too large for a float --------------------------------------------------------

def test_l2_refuses_an_int_lambda_too_large_for_a_float():
    with pytest.raises(ValueError, match=r"l2: lam must be a finite number >= 0, got an int of about 401 "
                                         r"digits, beyond the float range$"):
        nn.l2([Value(3.0)], 10**400)


# ---- items 4, 6, 7: a batched leaf set by hand to bools, strs, a matrix, or another batch size ------

BAD_ARRAYS = [(np.ones(3, bool), TypeError, "holds an array of bool"),
              (np.array(["1"] * 3), TypeError, "holds an array of <U1"),
              (np.ones((3, 1)), ValueError, r"holds an array of shape \(3, 1\)")]


@pytest.mark.parametrize("value, error, words", BAD_ARRAYS)
@pytest.mark.parametrize("name", UNARY + BINARY)
def test_every_op_refuses_a_batched_leaf_of_bools_strs_or_a_matrix(name, value, error, words):
    op = PRIMITIVES[name]
    vs = [batch([0.5, 0.7, 0.9], f"v{i}") for i in range(op.arity)]
    vs[-1].data = value
    with pytest.raises(error, match=f"^{name}: the Value 'v{op.arity - 1}' {words}"):
        op(*vs)


def test_a_matrix_set_by_hand_does_not_broadcast_into_a_matrix():
    a, c = batch(np.array([1.0, 2.0, 3.0]), "a"), batch(np.array([1.0, 2.0, 3.0]), "c")
    a.data = np.ones((3, 1))
    with pytest.raises(ValueError, match=r"^mul: the Value 'a' holds an array of shape \(3, 1\)"):
        (a * c).relu()


@pytest.mark.parametrize("left, right", [([1.0, 2.0, 3.0], [1.0, 2.0]), ([1.0], [1.0, 2.0, 3.0]),
                                         ([1.0, 2.0, 3.0], [1.0])])
def test_batches_of_different_sizes_are_refused_with_both_sizes(left, right):
    def examples(n):
        return f"{n} example" + ("" if n == 1 else "s")
    words = (f"^add: the Value 'a' holds a batch of {examples(len(left))} and the Value 'c' a batch of "
             f"{examples(len(right))}")
    with pytest.raises(ValueError, match=words):
        batch(left, "a") + batch(right, "c")
    with pytest.raises(ValueError, match=words.replace("add", "maximum")):
        autodiff.maximum(batch(left, "a"), batch(right, "c"))
    # interior nodes of different sizes meeting: named by their place
    with pytest.raises(ValueError, match="^mul: its input 1 holds a batch of"):
        (batch(left, "a") * 2.0) * (batch(right, "c") * 2.0)


@pytest.mark.parametrize("sizes", [(3, 2), (1, 3)])
def test_a_fused_layer_refuses_inputs_of_different_sizes(sizes):
    m = nn.MLP(2, [3, 1], fused=True)
    xs = [batch(np.arange(n, dtype=float), f"x{i}") for i, n in enumerate(sizes)]
    with pytest.raises(ValueError, match=f"^neuron: the Value 'x0' holds a batch of {sizes[0]} "
                                         f"example.* and the Value 'x1' a batch of {sizes[1]}"):
        m(xs)


@pytest.mark.parametrize("value, error, words", BAD_ARRAYS)
def test_a_fused_layer_refuses_a_leaf_of_bools_strs_or_a_matrix(value, error, words):
    m = nn.MLP(2, [3, 1], fused=True)
    xs = [batch([1.0, 2.0, 3.0], "x0"), batch([1.0, 2.0, 3.0], "x1")]
    xs[0].data = value
    with pytest.raises(error, match=f"^neuron: the Value 'x0' {words}"):
        m(xs)


def test_backward_after_a_leaf_was_resized_names_both_sizes():
    a, c = batch([1.0, 2.0, 3.0], "a"), batch([1.0, 2.0, 3.0], "c")
    loss = mean((a * c).tanh())
    a.data = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match=r"^backward: the Value 'a' holds a batch of 2 examples, and mul at "
                                         r"node v2, which it meets, was built for a batch of 3 examples"):
        loss.backward()


def _compiled_batched():
    X = np.array([[0.1 * i, 0.2 - 0.03 * i] for i in range(20)])
    from autodiff.batched import batch_columns
    m = nn.MLP(2, [4, 1], rng=1, fused=True)
    xs = batch_columns(X, ["x0", "x1"])
    loss = mean(m(xs)[0].tanh()) + nn.l2(m.weights(), 1e-3)
    return autodiff.compile(loss), xs


@pytest.mark.parametrize("value, error, words", [
    (np.ones(20, bool), TypeError, r"compiled forward: the Value 'x0' holds an array of bool"),
    (np.arange(20).astype(object), TypeError,   # (ints: made floats)
     r"compiled forward: the Value 'x0' holds an array of object"),
    (np.where(np.arange(20) == 3, np.nan, 1.0), ValueError,
     "compiled forward: the Value 'x0' holds nan at example 3"),
])
def test_compiled_batched_refuses_a_leaf_of_bools_objects_or_nan(value, error, words):
    program, xs = _compiled_batched()
    program.forward()
    xs[0].data = value
    with pytest.raises(error, match=words):
        program.forward()


# ---- item 5: a compiled batched graph words a change of shape by shape -----------------------------

def test_compiled_batched_words_a_column_by_its_shape():
    program, xs = _compiled_batched()
    xs[0].data = xs[0].data[:, None]
    with pytest.raises(ValueError, match=r"compiled forward: the Value 'x0' holds an array of shape "
                                         r"\(20, 1\); a batched Value holds a 1-D array"):
        program.forward()
    xs[0].data = np.array(0.5)
    with pytest.raises(ValueError, match=r"compiled forward: the Value 'x0' holds one number, but held a "
                                         r"batch of 20 examples when the graph was built"):
        program.forward()


def test_a_fused_layer_refuses_interior_batches_of_different_sizes():
    m = nn.MLP(2, [3, 1], fused=True)
    xs = [batch([1.0], "x0") * 2.0, batch([1.0, 2.0, 3.0], "x1") * 2.0]
    with pytest.raises(ValueError, match="^neuron: its input .* holds a batch of 1 example and its input "
                                         ".* a batch of 3 examples"):
        m(xs)


def test_optimizers_without_numpy_refuse_the_same_values(monkeypatch):
    import nn.optim
    monkeypatch.setattr(nn.optim, "lazy_numpy", lambda: None)   # the playground's plain-float path
    ps = [Value(1.0, "w"), Value(2.0)]
    opt = nn.SGD(ps, lr=0.1)
    ps[0].grad = ps[1].grad = 1.0
    ps[0].data = 3   # an int set by hand is a number
    opt.step()
    assert ps[0].data == 2.9
    for bad, error in (("1", TypeError), (True, TypeError), (None, TypeError), (NAN, ValueError)):
        ps[0].data = bad
        with pytest.raises(error, match=r"params\[0\] \(w\) holds"):
            opt.step()
        assert ps[1].data == 1.9   # nothing was updated


# ---- the last QA report's items 1-4: backward() on a built graph checks every leaf -----------------
# An MLP(2, [4, 4, 1]) hinge + L2 loss on moons points, built in each of the four ways: one example at
# a time (eager, unfused or fused neurons) and over a batch of 20 (unfused or fused layers).

MODES = ["eager", "fused", "batched", "fused batched"]
BATCHED = ["batched", "fused batched"]
W0 = "layers.0.neurons.0.w.0"


def _built(mode: str):
    """(the model's parameters, the batched input leaves (none one example at a time), the loss)."""
    from autodiff.batched import batch_columns
    from nn.data import make_moons
    X, y = make_moons(20, noise=0.1, rng=1)
    m = nn.MLP(2, [4, 4, 1], rng=1, fused=mode.startswith("fused"))
    if mode in BATCHED:
        xs = batch_columns(X)
        return m.parameters(), xs, nn.mean(nn.hinge(m(xs), [batch(2 * y - 1)])) + nn.l2(m.weights(), 1e-4)
    scores = [m(x)[0] for x in X[:4].tolist()]
    data = nn.mean([nn.hinge(s, 2 * t - 1) for s, t in zip(scores, y[:4].tolist(), strict=True)])
    return m.parameters(), [], data + nn.l2(m.weights(), 1e-4)


def _grads(params, loss):
    for p in params:
        p.grad = 0.0
    loss.backward()
    return [p.grad for p in params]


def _refused(params, loss, edit, error, words):
    """After ``edit()``, backward() raises ``error`` matching ``words`` (from its start) and leaves every
    .grad as it was."""
    before = _grads(params, loss)
    edit()
    with pytest.raises(error, match="^backward: " + words) as caught:
        loss.backward()
    assert [p.grad for p in params] == before
    return caught.value


@pytest.mark.parametrize("bad", [NAN, math.inf, -math.inf])
@pytest.mark.parametrize("mode", MODES)
def test_a_parameter_set_to_nan_or_inf_is_named_not_a_gradient(mode, bad):
    # item 4: the eager graph named the gradient of input x.0, the batched one the gradient of x0
    params, _, loss = _built(mode)
    _grads(params, loss)
    params[0].data = bad
    with pytest.raises(ValueError, match=f"^backward: the Value '{W0}' holds {bad!r}, not a finite number; "
                                         "a Value holds a finite number: set .data to one") as caught:
        loss.backward()
    assert caught.value.node is params[0]


@pytest.mark.parametrize("mode", BATCHED)
def test_a_batched_leaf_holding_nan_is_named_with_the_example(mode):
    params, xs, loss = _built(mode)
    bad = np.where(np.arange(20) == 3, NAN, xs[0].data)
    error = _refused(params, loss, lambda: setattr(xs[0], "data", bad), ValueError,
                     "the Value 'x0' holds nan at example 3, not a finite number; a batch holds finite "
                     "numbers")
    assert error.node is xs[0]


@pytest.mark.parametrize("edit, n", [(lambda d: d[:5], 5), (lambda d: np.concatenate([d, d]), 40),
                                     (lambda d: d[:0], 0), (lambda d: d[:1], 1)])
@pytest.mark.parametrize("mode", BATCHED)
def test_a_batched_leaf_of_another_size_names_the_value_the_op_and_both_sizes(mode, edit, n):
    # items 1 and 3: AttributeError from rule_error (fused), the rule of mul at node v38 (unfused)
    params, xs, loss = _built(mode)
    op = "neuron at node layers.0.neurons.0.z" if mode == "fused batched" else r"mul at node v\d+"
    error = _refused(params, loss, lambda: setattr(xs[0], "data", edit(xs[0].data)), ValueError,
                     f"the Value 'x0' holds a batch of {n} example{'' if n == 1 else 's'}, and {op}, which "
                     "it meets, was built for a batch of 20 examples: a graph runs on the batch size it was "
                     r"built for; set .data to 20 examples, or build the graph again from the new batches")
    assert error.node is xs[0]


@pytest.mark.parametrize("mode", BATCHED)
def test_a_batched_leaf_set_to_a_matrix_is_refused_by_its_shape(mode):
    params, xs, loss = _built(mode)
    matrix = xs[1].data.reshape(2, -1)
    _refused(params, loss, lambda: setattr(xs[1], "data", matrix), ValueError,
             r"the Value 'x1' holds an array of shape \(2, 10\); a batched Value holds a 1-D array, one "
             "number per example")


@pytest.mark.parametrize("dtype", [bool, str, object, complex])   # ints are made floats (qa17b 6)
@pytest.mark.parametrize("mode", BATCHED)
def test_a_batched_leaf_of_bools_strs_ints_or_objects_is_refused(mode, dtype):
    # item 2: gradients came out (bool, int, object; str when fused), or a bare UFuncTypeError (str)
    params, xs, loss = _built(mode)
    bad = (xs[0].data > 0).astype(dtype)
    error = _refused(params, loss, lambda: setattr(xs[0], "data", bad), TypeError,
                     f"the Value 'x0' holds an array of {bad.dtype}; a batch "
                                              r"holds floats: set .data to a float array \(np.asarray")
    assert error.node is xs[0]


@pytest.mark.parametrize("mode", MODES)
def test_a_one_number_leaf_set_to_a_batch_of_another_size_is_refused(mode):
    params, _, loss = _built(mode)
    words = (r"a batch of 2 examples, and (neuron|mul) at node \S+, which it meets, was built for a "
             r"batch of 20" if mode in BATCHED else
             r"a batch of 2 examples, but held one number when the graph was built \((neuron|mul) at node "
             r"\S+, which it meets, holds one\); set .data to one number, or build the graph again")
    _refused(params, loss, lambda: setattr(params[0], "data", np.array([0.5, 0.25])), ValueError,
             f"the Value '{W0}' holds {words}")


@pytest.mark.parametrize("mode", MODES)
def test_values_set_by_hand_that_are_numbers_still_work_after_a_refusal(mode):
    """A refused backward() changes nothing; then numbers of other types and (batched) float32 or
    same-size batches give the gradients their float64 values give, to the bit."""
    params, xs, loss = _built(mode)
    v = params[0].data
    params[0].data = NAN
    with pytest.raises(ValueError, match=f"^backward: the Value '{W0}' holds nan"):
        loss.backward()
    params[0].data = v
    want = _grads(params, loss)
    for same in (np.float64(v), np.array(v), float(v)):
        params[0].data = same
        assert _grads(params, loss) == want
        assert params[0].data.__class__ is float
    params[0].data = 1.0
    one = _grads(params, loss)
    params[0].data = 1   # an int
    assert _grads(params, loss) == one and params[0].data.__class__ is float
    if mode in BATCHED:
        params[0].data = v
        xs[0].data = xs[0].data.copy()   # a batch of the same size
        assert _grads(params, loss) == want
        f32 = xs[0].data.astype(np.float32)
        xs[0].data = f32.astype(float)
        exact = _grads(params, loss)
        xs[0].data = f32   # float32: made a new float64 array, as an int array is
        assert _grads(params, loss) == exact
        assert xs[0].data.dtype == np.float64 and xs[0].data is not f32 and f32.dtype == np.float32


def test_a_sum_over_batches_of_two_sizes_is_not_refused():
    a, c = batch([1.0, 2.0, 3.0], "a"), batch([1.0, 2.0], "c")
    w = Value(0.5, "w")
    loss = mean(a * w) + mean((c * w).tanh()) + autodiff.batched.total(batch([4.0], "d"))
    a.data = np.array([1.0, NAN, 3.0])   # refused naming it: the checks run on this graph
    with pytest.raises(ValueError, match="^backward: the Value 'a' holds nan at example 1"):
        loss.backward()
    a.data = np.array([1.0, 2.0, 3.0])
    loss.backward()
    cs = np.array([1.0, 2.0])
    assert w.grad == pytest.approx(2.0 + float(np.mean(cs / np.cosh(0.5 * cs) ** 2)))   # mean a + c·sech²


# ---- rule_error, handed a node whose rule did not fail ----------------------------------------------

def test_a_fused_layer_whose_input_node_was_resized_names_the_layer_not_a_leaf():
    params, xs, loss = _built("fused batched")
    relu = next(n for n in autodiff.topological_order(loss) if n.op == "relu")
    # an interior node's .data set by hand: its layer's rule fails after the loop that reached the node
    error = _refused(params, loss, lambda: setattr(relu, "data", relu.data[:5]), ValueError,
                     r"the inputs of neuron at node layers.1.neurons.\d.z hold batches of different sizes "
                     r"\('layers.0.neurons.0.a' holds shape \(5,\), .*; it was built for shape \(20,\)\)")
    assert error.node.op == "neuron"


def test_rule_error_handed_a_leaf_says_what_failed():
    from autodiff.graph import rule_error
    leaf = batch([1.0, 2.0], "x")
    error = rule_error(ValueError("the rule's own words"), leaf, [leaf])
    assert type(error) is ValueError
    assert str(error) == "backward: a derivative rule failed: the rule's own words"
    assert error.node is leaf
    # with a node in the order whose inputs hold another batch size than it: that node is named
    a, c = batch([1.0, 2.0, 3.0], "a"), batch([1.0, 2.0, 3.0], "c")
    loss = mean(a * c)
    order = autodiff.topological_order(loss)
    a.data = np.array([1.0, 2.0])
    error = rule_error(ValueError("the rule's own words"), a, order)
    assert str(error).startswith("backward: the inputs of mul at node v2 hold batches of different sizes "
                                 "('a' holds shape (2,), 'c' holds shape (3,); it was built for shape (3,))")
    assert error.node is order[2]


# ---- the last QA report's minor line: nn.l2 of nothing, of None ------------------------------------

@pytest.mark.parametrize("params", [[], (), iter([])])
def test_l2_of_no_params_is_refused_saying_what_to_pass(params):
    with pytest.raises(ValueError, match=r"^l2: params is empty, so there is nothing to regularize; pass the "
                                         r"Values to regularize: model.weights\(\)"):
        nn.l2(params, 1e-4)


def test_l2_of_none_names_the_argument():
    with pytest.raises(TypeError, match=r"^l2: params must be the Values to regularize \(an iterable: "
                                        r"model.weights\(\)\), got NoneType None"):
        nn.l2(None, 1e-4)


# ---- every backward pass refuses a leaf set by hand, as backward() does (issue 17 follow-up) -----

def _steps(y, *wrt):
    return list(autodiff.steps.backward_steps(y))


# backward() itself is tested above and in test_batched.py; these are the passes that run the
# reference loop instead, and refused such leaves deep inside, or not at all, before.
PASSES = {"grad": lambda y, *wrt: autodiff.grad(y, list(wrt)),
          "grad, create_graph": lambda y, *wrt: autodiff.grad(y, list(wrt), create_graph=True),
          "backward_steps": _steps, "forward_steps": lambda y, *wrt: list(autodiff.steps.forward_steps(y)),
          "Walkthrough": lambda y, *wrt: autodiff.steps.Walkthrough(y)}


@pytest.mark.parametrize("run", PASSES.values(), ids=PASSES.keys())
@pytest.mark.parametrize("bad, error, words", [
    (np.array([True, False, True]), TypeError, "the Value 'x' holds an array of bool"),
    (np.array([1.0, 2.0]), ValueError, "the Value 'x' holds a batch of 2 examples, and mul at node v2"),
    (np.array([1.0, NAN, 3.0]), ValueError, "the Value 'x' holds nan at example 1, not a finite number"),
])
def test_every_pass_refuses_a_batch_set_by_hand_naming_it(run, bad, error, words):
    x, w = batch([1.0, 2.0, 3.0], "x"), Value(0.5, "w")
    y = mean((x * w).tanh())
    x.data = bad
    with pytest.raises(error, match=words) as caught:
        run(y, w)
    assert caught.value.node is x
    assert w.grad == 0.0 and x.grad == 0.0


@pytest.mark.parametrize("run", PASSES.values(), ids=PASSES.keys())
@pytest.mark.parametrize("bad, error, words", [
    (NAN, ValueError, "the Value 'a' holds nan, not a finite number"),
    (math.inf, ValueError, "the Value 'a' holds inf, not a finite number"),
    (True, TypeError, r"^\w+: the .data of the Value 'a' is bool True"),   # \w+: the pass's name
    (np.array([1.0, 2.0]), ValueError, "the Value 'a' holds a batch of 2 examples, but held one number"),
])
def test_every_pass_refuses_a_parameter_set_by_hand_naming_it(run, bad, error, words):
    a, b = Value(1.0, "a"), Value(2.0, "b")
    y = (a * b).tanh() + a   # grad gave numbers for a bool: True taken as 1
    a.data = bad
    with pytest.raises(error, match=words) as caught:
        run(y, a, b)
    assert getattr(caught.value, "node", a) is a   # as_float_data's TypeError names it in words only
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_grad_and_steps_still_take_a_number_of_another_type_set_by_hand():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    y = a * b
    a.data = np.float32(3.0)
    assert autodiff.grad(y, [a, b]) == (2.0, 3.0)
    assert [s.contributions for s in autodiff.steps.backward_steps(y)] == [(2.0, 3.0)]


# ---- issue 17, qa17b: the last refusals of values set by hand ------------------------------------

GOOD = [np.float32(-3.0), np.int64(-3), np.float16(-3.0), np.uint8(3), np.array(-3.0), np.array(-3),
        np.array(-3.0, dtype=np.float32)]


def _neuron():
    x1, w1 = Value(2.0, "x1"), Value(-3.0, "w1")
    return x1, w1, (x1 * w1).tanh()


@pytest.mark.parametrize("value", GOOD, ids=repr)
def test_step_html_and_forward_steps_take_a_numpy_scalar_or_0d_array_set_by_hand(value, tmp_path):
    import json
    import re

    import viz
    from autodiff.steps import forward_steps
    x1, w1, o = _neuron()
    w1.data = value
    steps = list(forward_steps(o))
    assert steps[0].result == 2.0 * float(value) and steps[0].values[1].__class__ is float
    page = viz.step_html(o, tmp_path / "s.html")
    assert w1.data is value                       # a viewer leaves .data as it found it
    data = json.loads(re.search(r'type="application/json"[^>]*>(.*?)</script>', page.html, re.S).group(1))
    assert float(value) in data["frames"][0]["values"].values()


def test_a_numpy_str_set_by_hand_is_refused_naming_the_value():
    from autodiff.steps import backward_steps
    x = Value(2.0, "x")
    o = x * 3
    x.data = np.str_("1")
    for call in (o.backward, lambda: autodiff.grad(o, x), lambda: list(backward_steps(o)),
                 lambda: autodiff.compile(o).forward()):
        with pytest.raises(TypeError, match=r"the \.data of the Value 'x' is str_"):
            call()


def test_an_int_array_on_a_one_number_leaf_is_told_it_held_one_number():
    x, w = Value(2.0, "x"), Value(-3.0, "w")
    o = (x * w).tanh()
    o.backward()
    w.data = np.array([5, 6, 7, 8])
    with pytest.raises(ValueError, match=r"'w' holds a batch of 4 examples, but held one number"):
        o.backward()
    w.data = np.array([True, False])
    with pytest.raises(ValueError, match=r"held one number .* set \.data to one number"):
        o.backward()


@pytest.mark.parametrize("where", ["grad", "forward_steps", "backward_steps", "step_html"])
def test_a_refusal_names_the_function_called(where, tmp_path):
    import viz
    from autodiff.steps import backward_steps, forward_steps
    x, w, o = _neuron()
    w.data = True
    call = {"grad": lambda: autodiff.grad(o, [x, w]), "forward_steps": lambda: list(forward_steps(o)),
            "backward_steps": lambda: list(backward_steps(o)),
            "step_html": lambda: viz.step_html(o, tmp_path / "s.html")}[where]
    with pytest.raises(TypeError, match=rf"^{where}: the \.data of the Value 'w1' is bool True"):
        call()


def test_an_int_array_set_by_hand_on_a_batch_is_made_a_float_array():
    def built():
        xs, w = batch([0.5, -1.0, 2.0, 0.25], "x"), Value(-3.0, "w")
        return xs, w, mean((xs * w).tanh())
    xs, w, loss = built()
    user = np.arange(4)
    xs.data = user
    loss.backward()
    assert xs.data.dtype == np.float64 and xs.data is not user and user.dtype.kind == "i"
    xs2, w2, loss2 = built()
    xs2.data = np.arange(4.0)
    loss2.backward()
    assert w.grad == w2.grad
    program = autodiff.compile(loss)
    xs.data = user
    assert program.forward() == autodiff.compile(loss2).forward()   # the compiled forward() too
    assert xs.data.dtype == np.float64 and user.dtype.kind == "i"


def test_grad_computes_with_a_float32_set_by_hand_as_backward_does():
    """A fresh tester: grad gave 0.0728093683719635 where backward() gave 0.07280938845473704 with a
    weight set to np.float32 (the reference loop computed in float32); now both read it as a float, and
    grad leaves the float32 as it was set."""
    x, w = Value(0.3, "x"), Value(0.5, "w")
    o = (x * w).tanh() * w + w.exp()
    w.data = np.float32(0.3)
    g = autodiff.grad(o, [w])[0]
    assert w.data.__class__ is np.float32
    o.backward()
    assert g == w.grad


def test_the_page_of_a_loss_over_examples_reads_a_0d_array_set_by_hand(tmp_path):
    """A fresh tester: step_html of the README's loss over several points, with a weight set to
    np.array(0.5), raised "mul needs a Value or a real number, got ndarray" from the per-example view's
    own forward steps; now they read it as a float and leave it as set."""
    import viz
    from nn.data import make_moons
    X, y = make_moons(6, noise=0.1, rng=1)
    m = nn.MLP(2, [4, 4, 1], rng=1)
    scores = [m(x)[0] for x in X]
    hinges = [nn.hinge(s, 2 * t - 1) for s, t in zip(scores, y, strict=True)]
    loss = nn.mean(hinges) + nn.l2(m.weights(), 1e-4)
    w = m.parameters()[0]
    w.data = np.array(0.5)
    viz.step_html(loss, tmp_path / "s.html")   # drawn node by node: 6 calls of each neuron
    assert w.data.__class__ is np.ndarray and w.data.ndim == 0


# ---- issue 17, h17d: a one-number leaf set by hand to a batch of the graph's own size ------------

def _stale_loss():
    """mean(x·w) + exp(2w) over 3 examples: w (a parameter) and the constant 2.0 hold one number; the
    nodes w·2 and exp hold one, made from it."""
    x, w = batch([1.0, 2.0, 3.0], "x"), Value(0.0, "w")
    loss = mean(x * w) + (w * 2.0).exp()
    const = next(n for n in autodiff.topological_order(loss) if n.is_leaf and not n.label)
    return x, w, const, loss


def _compiled_backward(loss):
    program = autodiff.compile(loss)
    program.forward()
    return program


STALE_PASSES = {
    "backward": lambda y: y.backward(),
    "grad": lambda y: autodiff.grad(y, autodiff.topological_order(y)[0]),
    "forward_steps": lambda y: list(autodiff.steps.forward_steps(y)),
    "backward_steps": lambda y: list(autodiff.steps.backward_steps(y)),
    "Walkthrough": lambda y: autodiff.steps.Walkthrough(y),
    "compile": lambda y: autodiff.compile(y),
}


@pytest.mark.parametrize("who", ["parameter", "constant"])
@pytest.mark.parametrize("run", STALE_PASSES.values(), ids=STALE_PASSES.keys())
def test_every_pass_refuses_a_one_number_leaf_set_to_a_batch_of_the_graph_s_size(run, who):
    x, w, const, loss = _stale_loss()
    leaf = w if who == "parameter" else const
    leaf.data = np.array([1.0, 2.0, 3.0])
    name = "the Value 'w'" if who == "parameter" else r"the leaf v\d+"
    with pytest.raises(ValueError, match=rf"{name} holds a batch of 3 examples, but held one number when "
                                         r"the graph was built .*set \.data to one number, or build the "
                                         "graph again") as caught:
        run(loss)
    assert caught.value.node is leaf
    assert w.grad == 0.0 and x.grad == 0.0 and leaf.data.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("who", ["parameter", "constant"])
def test_step_html_refuses_a_one_number_leaf_set_to_a_batch(who, tmp_path):
    import viz
    x, w, const, loss = _stale_loss()
    leaf = w if who == "parameter" else const
    leaf.data = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^step_html: the (Value 'w'|leaf v\d+) holds a batch of 3 "
                                         "examples, but held one number"):
        viz.step_html(loss, tmp_path / "s.html")
    assert not (tmp_path / "s.html").exists()


@pytest.mark.parametrize("who", ["parameter", "constant"])
@pytest.mark.parametrize("when", ["before forward", "between forward and backward"])
def test_a_compiled_program_refuses_a_one_number_leaf_set_to_a_batch(who, when):
    x, w = batch([0.0, 2.0, 3.0], "x"), Value(1.0, "w")
    loss = mean((x * w).sqrt()) + (w * 2.0).exp()
    const = next(n for n in autodiff.topological_order(loss) if n.is_leaf and not n.label)
    program = autodiff.compile(loss)
    # sqrt's slope at 0 is not finite: replayed node by node by the batched executor, whose backward
    # reads the leaves' .data anew (a layer program's continues from what forward() read)
    assert not program.layers
    x.data = np.array([1.0, 2.0, 3.0])
    leaf = w if who == "parameter" else const
    if when == "between forward and backward":
        program.forward()
    leaf.data = np.array([1.0, 2.0, 3.0])
    # in backward()'s own words (the program runs backward's leaf check first)
    name = "the Value 'w'" if who == "parameter" else r"the leaf v\d+"
    with pytest.raises(ValueError, match=rf"^compiled backward: {name} holds a batch of 3 examples, but held "
                                         r"one number when the graph was built .*set \.data to one number, "
                                         "or build the graph again from the batch"):
        program.backward()
    assert w.grad == 0.0 and x.grad == 0.0


def test_a_layer_program_refuses_a_one_number_leaf_set_to_a_batch():
    x, w, const, loss = _stale_loss()
    program = autodiff.compile(loss)
    assert program.layers
    w.data = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="^compiled backward: the Value 'w' holds a batch of 3 examples, but "
                                         "held one number when the graph was built"):
        program.backward()   # it runs the forward pass first, named by the method called
    assert w.grad == 0.0 and x.grad == 0.0


def test_a_weight_of_a_batched_model_set_to_a_batch_is_refused():
    """The tester's shape: a weight of the README's batched model set to one number per example. Every
    node made from it holds a batch (it meets the inputs in a fused neuron), so no node tells; it is
    refused all the same: it held one number when the graph was built."""
    from autodiff.batched import batch_columns
    from nn.data import make_moons
    X, y = make_moons(20, noise=0.1, rng=0)
    m = nn.MLP(2, [8, 1], rng=0)
    loss = nn.mean(nn.hinge(m(batch_columns(X))[0], batch(2 * y - 1))) + nn.l2(m.weights(), 1e-4)
    w = m.parameters()[0]
    w.data = np.full(20, 0.5)
    with pytest.raises(ValueError, match=rf"the Value '{w.label}' holds a batch of 20 examples, but held "
                                         "one number when the graph was built"):
        loss.backward()
    assert all(p.grad == 0.0 for p in m.parameters())


@pytest.mark.parametrize("fused", [False, True])
def test_a_one_number_leaf_whose_every_node_holds_a_batch_is_refused_too(fused):
    # no node made from w holds one number, so none tells: w's mark does (it held one when they were made)
    x, w = batch([1.0, 2.0, 3.0], "x"), Value(0.5, "w")
    loss = mean(autodiff.neuron([w], [x], 0.0) if fused else x * w)
    w.data = np.array([1.0, 2.0, 3.0])
    for run in (loss.backward, lambda: list(autodiff.steps.backward_steps(loss)),
                lambda: autodiff.compile(loss)):
        with pytest.raises(ValueError, match=r"the Value 'w' holds a batch of 3 examples, but held one "
                                             r"number when the graph was built; set \.data to one number"):
            run()
    assert w.grad == 0.0


def test_a_leaf_set_to_a_batch_before_the_graph_is_built_is_taken():
    # the nodes are made from the batch: the graph is a batched one, as if made with batch()
    xs = [1.0, 2.0, 3.0]
    x, w, hand = batch(xs, "x"), Value(0.0, "w"), Value(0.0, "c")
    hand.data = np.array([0.5, -1.0, 2.0])
    made = batch([0.5, -1.0, 2.0], "c")
    for c in (hand, made):
        mean((x * w + c).tanh() * c).backward()
    assert hand.grad.tolist() == made.grad.tolist()
    c = np.array([0.5, -1.0, 2.0])   # w's two passes: each mean(c x sech²(c)) at w = 0
    assert w.grad == pytest.approx(2 * float(np.mean(c * np.array(xs) / np.cosh(c) ** 2)))


def test_a_leaf_used_as_a_number_then_as_a_batch_is_refused_in_the_first_graph_only():
    x, w = batch([1.0, 2.0, 3.0], "x"), Value(0.0, "w")
    first = mean(x * w) + w.exp()          # built while w held one number
    w.data = np.array([1.0, 2.0, 3.0])
    second = mean(x * w.exp())            # built from the batch
    second.backward()
    assert w.grad.tolist() == pytest.approx((np.arange(1.0, 4.0) * np.exp(np.arange(1.0, 4.0)) / 3).tolist())
    with pytest.raises(ValueError, match="'w' holds a batch of 3 examples, but held one number when the "
                                         r"graph was built \(exp at node"):
        first.backward()


def test_batches_made_otherwise_are_taken():
    # detach() of a batch, an op's result under no_grad, a fused layer whose weight was set to a batch
    from autodiff.engine import neurons
    x, w = batch([1.0, 2.0, 3.0], "x"), Value(0.5, "w")
    with autodiff.no_grad():
        h = (x * 2.0).tanh()
    d = (x * 3.0).detach()
    assert h.is_leaf and d.is_leaf
    loss = mean(h * w + d * w)
    loss.backward()
    assert w.grad == pytest.approx(float(np.mean(np.tanh(2 * np.arange(1.0, 4.0)) + 3 * np.arange(1.0, 4.0))))
    v = Value(0.0, "v")
    v.data = np.array([1.0, -1.0, 2.0])
    (z,) = neurons([[v, w]], [1.0, 2.0], [Value(0.1, "b")])
    mean(z).backward()
    assert v.grad.tolist() == pytest.approx([1 / 3] * 3)


# ---- a pass that only reads leaves .data as it found it (h17d) ---------------------------------

@pytest.mark.parametrize("value", [3, np.float32(0.5), np.int64(2), np.array(0.25)], ids=repr)
def test_passes_that_only_read_leave_a_number_set_by_hand_as_it_is(value, tmp_path):
    import viz
    x, w, o = _neuron()
    w.data = value
    for call in (lambda: autodiff.grad(o, [x, w]), lambda: list(autodiff.steps.backward_steps(o)),
                 lambda: list(autodiff.steps.forward_steps(o)), lambda: autodiff.steps.Walkthrough(o),
                 lambda: viz.step_html(o, tmp_path / "s.html"), lambda: autodiff.compile(o)):
        call()
        assert w.data is value
    o.backward()   # backward() stores it as a float, as documented
    assert w.data.__class__ is float and w.data == float(value)


def test_passes_that_only_read_leave_an_int_batch_set_by_hand_as_it_is(tmp_path):
    import viz
    xs, w = batch([0.5, -1.0, 2.0], "x"), Value(-3.0, "w")
    loss = mean((xs * w).tanh())
    user = np.array([1, 2, 3])
    xs.data = user
    with pytest.raises(ValueError, match="^grad: this graph holds a batch"):
        autodiff.grad(loss, w)
    for call in (lambda: list(autodiff.steps.backward_steps(loss)),
                 lambda: viz.step_html(loss, tmp_path / "s.html"), lambda: autodiff.compile(loss)):
        call()
        assert xs.data is user and user.dtype.kind == "i"
    loss.backward()
    assert xs.data is not user and xs.data.dtype == np.float64 and xs.data.tolist() == [1.0, 2.0, 3.0]


# ---- define()'s own reference pass checks the leaves as grad() does (h17d) ---------------------

@pytest.mark.parametrize("bad, error, words", [
    (np.array([1.0, 2.0]), ValueError, "the Value 'K' holds a batch of 2 examples, but held one number"),
    (NAN, ValueError, "the Value 'K' holds nan, not a finite number"),
    ("abc", TypeError, "the .data of the Value 'K' is str 'abc'"),
])
def test_define_refuses_a_value_its_rule_reads_set_by_hand_as_grad_does(bad, error, words):
    from autodiff.primitives import define
    K = Value(2.0, "K")
    K2 = K * 1.0   # built while K held a number; the rule reads it when it runs on Values

    def rule(g, out, x):
        return (g * (K2 if isinstance(g, Value) else 2.0),)
    K.data = bad
    with pytest.raises(error, match=rf"^define\('h17d_twice'\): {re.escape(words)}"):
        define("h17d_twice", "tw", 1, lambda x: 2.0 * x, rule)
    with pytest.raises(error, match=rf"^grad: {re.escape(words)}"):
        autodiff.grad(Value(0.9) * K2, K)
    assert "h17d_twice" not in PRIMITIVES


# ---- a 0-d array of objects set by hand: refused as Value() refuses it (h17d) -------------------

@pytest.mark.parametrize("value", [np.array(2.0, dtype=object), np.array(Fraction(1, 3), dtype=object),
                                   np.array(1 + 0j)], ids=repr)
def test_a_0d_array_of_objects_set_by_hand_is_refused_naming_the_value(value):
    with pytest.raises(TypeError, match="Value needs a real number"):
        Value(value)
    x, w, o = _neuron()
    w.data = value
    for call in (o.backward, lambda: autodiff.grad(o, w), lambda: list(autodiff.steps.backward_steps(o)),
                 lambda: w * 2.0, lambda: autodiff.compile(o)):
        with pytest.raises(TypeError, match=r"the \.data of the Value 'w1' is a 0-d array of "):
            call()
    assert w.data is value and w.grad == 0.0
    for f in (autodiff.hessian, lambda f, xs: autodiff.hvp(f, xs, [1.0])):
        with pytest.raises(TypeError, match=r"inputs\[0\], the Value 'w1': Value needs a real number"):
            f(lambda a: a.tanh(), [w])


def test_a_fraction_is_taken_by_value_and_by_backward_alike():
    # a Fraction is a real number (numbers.Real): Value() stores it as a float, and so does backward()
    assert Value(Fraction(1, 3)).data == 1 / 3
    x, w, o = _neuron()
    w.data = Fraction(1, 3)
    o.backward()
    assert w.data.__class__ is float and w.data == 1 / 3


# ---- h17f: the last gaps (qa17d items 2, 3, 4, 11, 14) --------------------------------------------

def _readme_neuron():
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    return (x1 * w1 + x2 * w2 + b).tanh(), (x1, x2, w1, w2, b)


@pytest.mark.parametrize("bad", [NAN, math.inf, -math.inf])
def test_backward_refuses_a_non_finite_leaf_that_feeds_only_an_add(bad):
    # qa17d item 2: the bias feeds only an add, so the gradients stay finite; backward refuses before its
    # pass, as grad() does, and leaves every .grad as it was
    o, (x1, x2, w1, w2, b) = _readme_neuron()
    b.data = bad
    with pytest.raises(ValueError, match=r"^backward: the Value 'b' holds (nan|inf|-inf), not a finite"):
        o.backward()
    assert [v._grad for v in (x1, x2, w1, w2, b)] == [None] * 5
    with pytest.raises(ValueError, match=r"^grad: the Value 'b' holds"):
        autodiff.grad(o, [b])


def test_backward_refuses_an_unlabelled_constant_holding_nan_by_its_place():
    x, w = Value(0.3, "x"), Value(-1.2, "w")
    o = x * w + 0.5
    o.parents[1].data = NAN
    with pytest.raises(ValueError, match=r"^backward: the leaf v\d+ holds nan"):
        o.backward()


@pytest.mark.parametrize("fused", [False, True])
def test_backward_refuses_a_nan_bias_in_the_readme_loop(fused):
    from nn.data import make_moons
    X, y = make_moons(20, noise=0.1, rng=1)
    model = nn.MLP(2, [4, 1], rng=1, fused=fused)
    loss = nn.mean(nn.hinge([model(list(map(float, p)))[0] for p in X], list(2.0 * y - 1)))
    bias = model.layers[-1].neurons[0].b
    bias.data = NAN
    with pytest.raises(ValueError, match=rf"^backward: the Value '{re.escape(bias.label)}' holds nan"):
        loss.backward()


def _batched_loss(n=20, fused=False):
    from autodiff.batched import batch_columns
    from nn.data import make_moons
    X, y = make_moons(n, noise=0.1, rng=1)
    model = nn.MLP(2, [4, 1], rng=1, fused=fused)
    xs, labels = batch_columns(X), batch(2 * y - 1, "y")
    return nn.mean(nn.hinge(model(xs), [labels])), model, xs, labels, y


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("one", [0.5, np.float64(0.5), np.array(0.5), np.float32(1.0), 1])
def test_a_batched_leaf_set_to_one_number_is_refused_by_every_pass(one, fused):
    # qa17d item 11: numpy would broadcast the one number over the 20 examples
    loss, model, xs, labels, _ = _batched_loss(fused=fused)
    labels.data = one
    message = (r"the Value 'y' holds one number, but held a batch of 20 examples when the graph was built; "
               r"set \.data to a batch of 20, or build the graph again")
    for where, run in [("backward", loss.backward),
                       ("grad", lambda: autodiff.grad(loss, model.parameters())),
                       ("backward_steps", lambda: next(autodiff.backward_steps(loss))),
                       ("compile", lambda: autodiff.compile(loss))]:
        with pytest.raises(ValueError, match=f"^{where}: {message}"):
            run()
    assert all(p._grad is None for p in model.parameters())
    assert labels.data is one   # the read-only passes and the refusing backward leave it as set


@pytest.mark.parametrize("fused", [False, True])
def test_an_int_array_set_by_hand_on_a_batched_label_is_made_floats_at_the_op(fused):
    # qa17d item 3: the README's own label idiom, `labels.data = 2 * y - 1`, as batch(2 * y - 1) takes it
    _, model, xs, labels, y = _batched_loss(fused=fused)
    ints = 2 * y - 1
    labels.data = ints
    loss = nn.mean(nn.hinge(model(xs), [labels]))
    expected, *_ = _batched_loss(fused=fused)
    assert loss.data == expected.data
    assert labels.data.dtype == np.float64 and ints.dtype.kind == "i"   # a new array: the user's is kept
    xs[0].data = np.arange(20)
    assert model(xs)[0].data.dtype == np.float64


@pytest.mark.parametrize("labelled", [True, False])
@pytest.mark.parametrize("bad, held", [
    (lambda y: y == 1, "an array of bool"),
    (lambda y: np.array(["1"] * len(y)), "an array of <U1"),
    (lambda y: list(2 * y - 1.0), "list "),
    (lambda y: np.array([0.5] * len(y), dtype=object), "an array of object"),
])
def test_a_batched_label_of_bools_strs_or_a_list_is_refused_by_hinge_naming_it(bad, held, labelled):
    # qa17d item 4: numpy's words ("numpy boolean subtract", "ufunc 'subtract'") before
    _, model, xs, labels, y = _batched_loss()
    labels.label = "y" if labelled else ""
    labels.data = bad(y)
    name = "the Value 'y'" if labelled else "a Value"
    with pytest.raises(TypeError, match=rf"^hinge: labels\[0\] is {name}, which holds {re.escape(held)}.*"
                                        r"set \.data to one \(np\.asarray\(x, dtype=float\)\)"):
        nn.hinge(model(xs), [labels])


@pytest.mark.parametrize("bad", [[1.0, -1.0], "abc", True, np.bool_(True)])
def test_a_batched_leaf_set_to_what_is_not_a_number_is_refused_as_such(bad):
    # not "holds one number": a list, a str and a bool are refused in the words for what they are
    loss, model, xs, labels, _ = _batched_loss()
    labels.data = bad
    with pytest.raises(TypeError, match=r"^backward: the \.data of the Value 'y' is (list|str|bool)"):
        loss.backward()


def test_walkthrough_refuses_a_leaf_set_by_hand_in_its_own_name():
    # qa17d item 14: it began "forward_steps:", a function the user did not call
    o, (_, _, _, _, b) = _readme_neuron()
    b.data = "6.88"
    with pytest.raises(TypeError, match=r"^Walkthrough: the \.data of the Value 'b' is str"):
        autodiff.Walkthrough(o)
    b.data = NAN
    with pytest.raises(ValueError, match=r"^Walkthrough: the Value 'b' holds nan"):
        autodiff.Walkthrough(o)


@pytest.mark.parametrize("who", ["hessian", "hvp"])
def test_hessian_and_hvp_refuse_in_their_own_name(who):
    xb = batch([1.0, 2.0], "xb")
    run = {"hessian": lambda f: autodiff.hessian(f, [0.5]),
           "hvp": lambda f: autodiff.hvp(f, [0.5], [1.0])}[who]
    with pytest.raises(ValueError, match=rf"^{who}: this graph holds a batch"):
        run(lambda w: autodiff.batched.total(w * xb))


@pytest.mark.parametrize("bad", [[1.0, -1.0], "abc"])
def test_an_unlabelled_batched_leaf_is_named_by_its_place(bad):
    loss, model, xs, labels, _ = _batched_loss()
    labels.label = ""
    labels.data = bad
    for where, run in [("backward", loss.backward), ("grad", lambda: autodiff.grad(loss, model.parameters())),
                       ("compile", lambda: autodiff.compile(loss))]:
        with pytest.raises(TypeError, match=rf"^{where}: the \.data of the leaf v\d+ is "):
            run()


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("bad, words", [
    ("abc", r"is str 'abc'; a gradient is a number"),
    (True, r"is bool True; a gradient is a number"),
    (np.array([1.0, 2.0]), r"is an array of shape \(2,\), but it holds one number"),
])
def test_backward_refuses_a_grad_set_by_hand_that_is_not_a_number(bad, words, batched):
    # qa17d item 14: raw "can only concatenate str" before, or a silent array gradient
    if batched:
        loss, model, *_ = _batched_loss()
        w = model.parameters()[0]
    else:
        loss, (_, _, w, _, _) = _readme_neuron()
    w.grad = bad
    name = re.escape(w.label)
    with pytest.raises(TypeError, match=rf"^backward: the \.grad of the Value '{name}' {words}"):
        loss.backward()
    assert w._grad is bad   # every .grad as it was


@pytest.mark.parametrize("batched", [False, True])
def test_backward_refuses_a_grad_set_by_hand_to_an_int_past_the_largest_float(batched):
    # h17i's report: Python's raw "OverflowError: int too large to convert to float" before
    if batched:
        loss, model, *_ = _batched_loss()
        w = model.parameters()[0]
    else:
        loss, (_, _, w, _, _) = _readme_neuron()
    w.grad = 10**400
    name = re.escape(w.label)
    with pytest.raises(ValueError, match=rf"^backward: the \.grad of the Value '{name}' is an int of about "
                                         r"401 digits, beyond the float range; set \.grad"):
        loss.backward()
    assert w._grad == 10**400   # as it was
    w.grad = 10**300            # a big int that is a float: taken as one
    loss.backward()
    assert w.grad.__class__ is float and w.grad > 9.9e299


@pytest.mark.parametrize("held", [np.float32(0.5), np.array(0.5), np.float64(0.5)])
def test_a_numpy_grad_set_by_hand_accumulates_as_a_float(held):
    o, (_, _, w1, _, _) = _readme_neuron()
    w1.grad = held
    o.backward()
    assert type(w1.grad) is float and w1.grad == pytest.approx(1.0 + 0.5)


# ---- h17i item A: a batch of floats other than float64 is computed as its float64 ------------------
# A fresh tester: a batched input set to float32 made an unfused graph (and a compiled one) compute in
# float32 (loss 0.959956260221086 for 0.9599562602806844), where the README promises float64. Such a
# batch is read as a new float64 array where an int array is: backward(), an op, compiled forward().

NARROW = [np.float32, np.float16, np.longdouble]


def _moons(fused: bool):
    """The fresh tester's model and batches: MLP(2, [3, 1]) on 8 moons points."""
    from autodiff.batched import batch_columns
    from nn.data import make_moons
    X, y = make_moons(8, noise=0.1, rng=1)
    return nn.MLP(2, [3, 1], rng=1, fused=fused), batch_columns(X), batch(2 * y - 1)


def _bits(values) -> list[bytes]:
    """Each number or batch as its float64 bytes, and its type: equal lists are equal to the bit."""
    return [(type(v), np.asarray(v, dtype=float).tobytes()) for v in values]


def _set_and_run(fused, which, value, when, how):
    """The loss (its value, every parameter's and batched leaf's gradient, as bits) with the batched
    leaf ``which`` set to ``value`` before or after the graph is built, run by backward() or compiled;
    and the leaf's ``.data`` afterwards."""
    model, xs, labels = _moons(fused)
    leaf = xs[0] if which == "x0" else labels
    if when == "before":
        leaf.data = value
    loss = nn.mean(nn.hinge(model(xs), [labels]))
    if when == "after":
        leaf.data = value
    if how == "compiled":
        program = autodiff.compile(loss)
        out = program.forward()
        program.backward()
    else:
        loss.backward()
        out = loss.data
    grads = [p.grad for p in model.parameters()] + [x.grad for x in (*xs, labels)]
    return _bits([out, *grads]), leaf.data


@pytest.mark.parametrize("how", ["backward", "compiled"])
@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("which", ["x0", "labels"])
@pytest.mark.parametrize("dtype", NARROW)
def test_a_batch_of_other_floats_set_by_hand_gives_its_float64_s_results_to_the_bit(
        dtype, which, fused, when, how):
    model, xs, labels = _moons(fused)
    value = (xs[0] if which == "x0" else labels).data.astype(dtype)
    got, data = _set_and_run(fused, which, value, when, how)
    want, _ = _set_and_run(fused, which, value.astype(float), when, how)
    assert got == want
    assert data.dtype == np.float64 and data is not value and value.dtype == dtype   # as an int array
    assert np.array_equal(data, value.astype(float))


def test_the_fresh_tester_s_float32_batch():
    model, xs, labels = _moons(False)
    loss = nn.mean(nn.hinge(model(xs), [labels]))
    f32 = xs[0].data.astype(np.float32)
    xs[0].data = f32
    program = autodiff.compile(loss)
    x0 = f32.astype(float)
    model2, xs2, labels2 = _moons(False)
    xs2[0].data = x0
    want = nn.mean(nn.hinge(model2(xs2), [labels2]))   # built from the float64 of the same numbers
    want.backward()
    assert program.forward() == want.data
    program.backward()
    assert [p.grad for p in model.parameters()] == [p.grad for p in model2.parameters()]
    assert xs[0].data.dtype == np.float64 and f32.dtype == np.float32


@pytest.mark.parametrize("dtype", NARROW)
def test_batch_and_batch_columns_take_other_floats_as_float64(dtype):
    from autodiff.batched import batch_columns
    from nn.data import make_moons
    X, y = make_moons(8, noise=0.1, rng=1)
    X, t = X.astype(dtype), (2 * y - 1).astype(dtype)
    assert all(x.data.dtype == np.float64 for x in (*batch_columns(X), batch(t)))
    model = nn.MLP(2, [3, 1], rng=1)
    a = nn.mean(nn.hinge(model(batch_columns(X)), [batch(t)]))
    b = nn.mean(nn.hinge(model(batch_columns(X.astype(float))), [batch(t.astype(float))]))
    assert a.data == b.data


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64])
def test_the_steppers_compute_with_a_batch_of_other_numbers_in_float64_and_leave_it(dtype):
    """forward_steps and backward_steps read such a batch as its float64 (leaf_number), as backward()
    makes it, and leave ``.data`` the very array the user set."""
    import warnings

    from autodiff.steps import StaleGraphWarning, backward_steps, forward_steps
    results = []
    for make in (lambda d: (d * 4).astype(dtype), lambda d: (d * 4).astype(dtype).astype(float)):
        model, xs, labels = _moons(False)
        loss = nn.mean(nn.hinge(model(xs), [labels]))
        value = xs[0].data = make(xs[0].data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StaleGraphWarning)   # set after building: it says so
            forward = [s.result for s in forward_steps(loss)]
        backward = [(s.upstream, *s.contributions) for s in backward_steps(loss)]
        assert xs[0].data is value
        results.append(_bits(forward) + [_bits(terms) for terms in backward])
    assert results[0] == results[1]


# ---- h17i item B: a compiled program takes a .grad set by hand as backward() takes it -----------------
# A fresh tester: `a.grad = "x"` then a compiled backward() raised Python's "can only concatenate str (not
# "float") to str", and `a.grad = np.float32(1.0)` left a numpy float32 where backward() stores a float.

ONE_NUMBER_GRADS = ["abc", True, np.True_, False, np.False_, None, 0.25, np.float32(0.5), np.float16(0.5),
                    np.int64(2), 2, np.array(0.5), np.array(2), Fraction(1, 2), np.array([1.0, 2.0]),
                    [1.0], NAN, -math.inf, 10**400]
BATCH_GRADS = ["abc", 0.25, np.float32(0.5), np.array(0.5), [0.5] * 20, np.full(20, 0.5),
               np.arange(20), np.full(20, 0.5, np.float32), np.full(19, 0.5), np.full((1, 20), 0.5),
               np.zeros(20, bool), np.array(["a"] * 20), np.array([NAN] * 20), None]
PROGRAMS = ["eager", "eager large", "batched", "layers"]


def _graph(program: str):
    """(the root, the leaf whose .grad is set: a weight, or with ``batch`` the first input's batch)."""
    if program == "eager":
        o, (_, _, w1, _, _) = _readme_neuron()
        return o, {"one": w1}
    if program == "eager large":
        m = nn.MLP(2, [12, 12, 1], rng=1)
        return nn.hinge(m([0.5, -1.0]), [1.0]), {"one": m.parameters()[0]}
    if program == "batched":   # not layers (a neuron's weight holds a batch): node by node
        x, w, v = batch(np.linspace(0.5, 2.0, 20), "x0"), Value(0.5, "w"), batch(np.linspace(-1, 1, 20))
        return mean(autodiff.neuron([w, v], [x, x], Value(0.1, "b")).tanh()), {"one": w, "batch": x}
    loss, model, xs, _, _ = _batched_loss(fused=True)   # layers: a program of matrix products
    return loss, {"one": model.parameters()[0], "batch": xs[0]}


def _outcome(program: str, which: str, held, compiled: bool):
    """What a backward pass leaves, with ``held`` set by hand as the .grad of the leaf ``which``: every
    leaf's .grad (type and bits), or the error's type and words (after its prefix) and whether every
    .grad was left as it was."""
    from autodiff.graph import walk_leaves
    root, leaves = _graph(program)
    leaf = leaves[which]
    run = autodiff.compile(root) if compiled else root
    order, every, _ = walk_leaves(root)
    assert (len(order) > READABLE_NODES) == (program == "eager large")   # the fast program's own code
    if compiled:
        assert run.layers == (program == "layers")
    leaf.grad = held
    before = [x._grad for x in every]
    try:
        run.backward()
    except (TypeError, ValueError, FloatingPointError) as e:
        assert all(x._grad is g for x, g in zip(every, before, strict=True))
        return type(e), str(e).split(": ", 1)
    return _bits([x.grad for x in every])


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize("held", ONE_NUMBER_GRADS, ids=repr)
def test_a_compiled_backward_takes_a_grad_set_by_hand_on_a_weight_as_backward_does(held, program):
    want = _outcome(program, "one", held, compiled=False)
    got = _outcome(program, "one", held, compiled=True)
    if isinstance(want, tuple):
        assert got[0] is want[0] and got[1][1] == want[1][1]   # the same words
        assert (want[1][0], got[1][0]) == ("backward", "compiled backward")
    else:
        assert got == want


@pytest.mark.parametrize("program", ["batched", "layers"])
@pytest.mark.parametrize("held", BATCH_GRADS, ids=repr)
def test_a_compiled_backward_takes_a_grad_set_by_hand_on_a_batch_as_backward_does(held, program):
    want = _outcome(program, "batch", held, compiled=False)
    got = _outcome(program, "batch", held, compiled=True)
    if isinstance(want, tuple):
        assert got[0] is want[0] and got[1][1] == want[1][1]
    else:
        assert got == want


def test_the_fresh_tester_s_grads_set_by_hand_on_a_compiled_program():
    a, b = Value(2.0, "a"), Value(3.0, "b")
    program = autodiff.compile(a * b)
    a.grad = "x"
    with pytest.raises(TypeError, match=r"^compiled backward: the \.grad of the Value 'a' is str 'x'; a "
                                        r"gradient is a number"):
        program.backward()
    a.grad = np.float32(1.0)
    program.backward()
    assert type(a.grad) is float and a.grad == 4.0


@pytest.mark.parametrize("held, error, words", [
    (np.full(19, 0.5), ValueError, r"is an array of shape \(19,\), but it holds a batch of 20 examples; "
                                   r"set \.grad to an array of 20"),
    (np.full((1, 20), 0.5), ValueError, r"is an array of shape \(1, 20\), but it holds a batch of 20"),
    (np.zeros(20, bool), TypeError, r"is an array of bool; a gradient is a number"),
])
def test_backward_refuses_a_batch_s_grad_of_another_shape_or_kind(held, error, words):
    # numpy broadcast it (a (1, 20) gradient), or failed in its own words
    loss, model, xs, _, _ = _batched_loss()
    xs[0].grad = held
    with pytest.raises(error, match=r"^backward: the \.grad of the Value 'x0' " + words):
        loss.backward()
    assert xs[0]._grad is held


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize("held", [False, True, "abc", np.float32(0.5), np.array([0.5, 0.5]), NAN], ids=repr)
def test_a_grad_set_by_hand_between_two_compiled_steps_is_checked_too(held, program):
    """A program that has run reads its leaves' gradients as it left them, unless a .grad was set
    (through the property) to what is not a float since: a layer program's 300-odd are not looked at
    one by one on every step (engine.grads_set_by_hand)."""
    root, leaves = _graph(program)
    w = leaves["one"]
    compiled = autodiff.compile(root)
    compiled.backward()
    root.backward()   # now both hold twice this pass's gradient: the same
    twice = w.grad
    w.grad = held
    if isinstance(held, np.floating):
        compiled.backward()
        assert type(w.grad) is float
        w.grad = held
        root.backward()
        assert type(w.grad) is float
        return
    for run, where in ((compiled.backward, "compiled backward"), (root.backward, "backward")):
        with pytest.raises((TypeError, FloatingPointError), match=f"^{where}: the "):
            run()
        assert w._grad is held
    w.grad = twice
