"""Values set by hand (``.data = ...``) that are not finite numbers are refused naming the Value, in
every executor and optimizer; nn.l2's gradient is the written-out graph's to the bit (issues 12, 17)."""

import math

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
    with pytest.raises(ValueError, match="the leaf 'v0' holds nan"):
        program.forward()


def test_compiled_relu_of_a_nan_leaf_is_refused_not_zero():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    program = autodiff.compile(a.relu() * b)
    a.data = NAN
    with pytest.raises(ValueError, match="the leaf 'a' holds nan"):
        program.forward()


def test_compiled_small_and_large_graphs_name_the_nan_leaf():
    w1, w2, x = Value(0.5, "w1"), Value(-2.0, "w2"), Value(1.5, "x")
    small = autodiff.compile((x * w1).tanh() + nn.l2([w1, w2, w1], 0.1))
    ws = [Value(0.1 * i, f"w{i}") for i in range(READABLE_NODES)]
    big = autodiff.compile(sum((w * w for w in ws), Value(0.0)))
    w2.data = NAN
    ws[7].data = NAN
    with pytest.raises(ValueError, match="the leaf 'w2' holds nan"):
        small.forward()
    with pytest.raises(ValueError, match="the leaf 'w7' holds nan"):
        big.forward()


def test_compiled_batched_names_the_nan_leaf_and_example():
    x, w = batch([1.0, 2.0, 3.0], "x"), Value(0.5, "w")
    program = autodiff.compile(mean((x * w).tanh()))
    x.data = np.array([1.0, NAN, 3.0])
    with pytest.raises(ValueError, match="the leaf 'x' holds nan at example 1"):
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
    with pytest.raises(ValueError, match=r"l2: lam must be a finite number >= 0, got 1000"):
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
    with pytest.raises(ValueError, match=r"inputs of mul .* different sizes \('a' holds shape \(2,\), "
                                         r"'c' holds shape \(3,\)\)"):
        loss.backward()


def _compiled_batched():
    X = np.array([[0.1 * i, 0.2 - 0.03 * i] for i in range(20)])
    from autodiff.batched import batch_columns
    m = nn.MLP(2, [4, 1], rng=1, fused=True)
    xs = batch_columns(X, ["x0", "x1"])
    loss = mean(m(xs)[0].tanh()) + nn.l2(m.weights(), 1e-3)
    return autodiff.compile(loss), xs


@pytest.mark.parametrize("value, error, words", [
    (np.ones(20, bool), TypeError, r"the leaf 'x0' holds an array of bool"),
    (np.arange(20), TypeError, r"the leaf 'x0' holds an array of int64"),
    (np.where(np.arange(20) == 3, np.nan, 1.0), ValueError, "the leaf 'x0' holds nan at example 3"),
])
def test_compiled_batched_refuses_a_leaf_of_bools_ints_or_nan(value, error, words):
    program, xs = _compiled_batched()
    program.forward()
    xs[0].data = value
    with pytest.raises(error, match=words):
        program.forward()


# ---- item 5: a compiled batched graph words a change of shape by shape -----------------------------

def test_compiled_batched_words_a_column_by_its_shape():
    program, xs = _compiled_batched()
    xs[0].data = xs[0].data[:, None]
    with pytest.raises(ValueError, match=r"held a batch of 20 examples when the graph was compiled and "
                                         r"now holds an array of shape \(20, 1\)"):
        program.forward()
    xs[0].data = np.array(0.5)
    with pytest.raises(ValueError, match=r"now holds an array of shape \(\)"):
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
