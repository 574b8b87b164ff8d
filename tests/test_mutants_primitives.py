"""Tests written for the mutants `make mutate` left alive in `autodiff/primitives.py` (issue 20): the
BLAS thread limit around batched products (its thresholds, its first call, no threadpoolctl), and a
batch whose `.data` was set to NaN by hand meeting a row marked `keeps_finite`."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import blas_threads_now, compiled_grads, watch_blas_threads

from autodiff import PRIMITIVES, primitives
from autodiff.batched import batch, total
from autodiff.primitives import Primitive, elu_op, leaky_relu_op


@pytest.mark.parametrize("size,matrix,limited", [
    (65_536, True, True), (65_535, True, False), (10_000, True, False),
    (8_192, False, True), (8_191, False, False)])
def test_blas_threads_limits_from_openblass_own_thresholds(size, matrix, limited):
    """A matrix product from 65,536 multiply-adds, a matrix-vector one from 8,192, runs at
    `BLAS_THREADS` (1); a smaller one is left as it is (on a one-thread BLAS both read the same)."""
    before = blas_threads_now()
    with primitives.blas_threads(size, matrix=matrix):
        assert blas_threads_now() == ([1] * len(before) if limited else before)
    assert blas_threads_now() == before


def test_blas_threads_default_is_a_matrix_product():
    before = blas_threads_now()
    with primitives.blas_threads(10_000):               # a matrix-vector product of this size is limited
        assert blas_threads_now() == before


def test_the_first_big_product_finds_the_blas_and_limits_it(monkeypatch):
    before = blas_threads_now()
    monkeypatch.setattr(primitives, "_controller", None)  # as in a new process
    with primitives.blas_threads(10**6):
        assert blas_threads_now() == [1] * len(before)
    assert blas_threads_now() == before


def test_without_threadpoolctl_a_big_product_runs_as_numpy_chooses(monkeypatch):
    before = blas_threads_now()
    monkeypatch.setattr(primitives, "_controller", None)
    monkeypatch.setattr(primitives, "BLAS_THREADS", primitives.BLAS_THREADS)   # put back after
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)   # `import threadpoolctl` raises ImportError
    with pytest.warns(primitives.BLASThreadsWarning, match=r"pip install 'deltagrad\[batched\]'"):
        for _ in range(2):                                    # the first call and a later one
            with primitives.blas_threads(10**6):
                pass
    assert primitives._controller is False and primitives.BLAS_THREADS is None
    monkeypatch.delitem(sys.modules, "threadpoolctl")
    assert blas_threads_now() == before


def test_a_neurons_batched_products_are_limited_as_matrix_vector_products(monkeypatch):
    """A neuron of 2 weights over 5,000 examples: its forward `w @ X` and its rule's `X @ g` are
    matrix-vector products of 10,000 multiply-adds, above OpenBLAS's threshold for those (~9,000)."""
    before = blas_threads_now()
    seen = watch_blas_threads(monkeypatch, primitives)
    rng = np.random.default_rng(0)
    neuron = PRIMITIVES["neuron"]
    inputs = (0.5, -1.5, *rng.normal(size=(2, 5_000)), 0.25)      # w1, w2, x1, x2 (batches), b
    out = neuron.batch_forward(*inputs)
    terms = neuron.vjp(np.ones(5_000), out, *inputs)                # the table's rule on a batch
    assert out.shape == (5_000,) and terms[0] == pytest.approx(inputs[2].sum(), rel=1e-12)
    assert [size for size, _ in seen] == [10_000, 10_000]     # the forward and the rule
    assert all(threads == [1] * len(before) for _, threads in seen)


def _nan_by_hand(prim):
    x = batch([0.5, 2.0], "x")
    x + 0.0            # the first node since a backward pass takes a careful path of its own: not this one
    x.data = np.array([np.nan, 2.0])                  # past the constructor's check
    return [x] * prim.arity


# The rows whose batch forward gives NaN for NaN without refusing it (pow, x ** n and exp refuse an
# infinite result themselves, and leave a NaN, which only a NaN input gives, to `apply`).
NAN_THROUGH = [PRIMITIVES[name] for name in ("log", "tanh", "sigmoid", "relu", "sqrt", "abs", "sin", "cos",
                                             "softplus", "normal_cdf", "gelu", "maximum", "minimum")]
NAN_THROUGH += [leaky_relu_op(s) for s in (0.01, 1.0, -1.0)] + [elu_op(1.0)]


@pytest.mark.parametrize("prim", NAN_THROUGH, ids=lambda p: f"{p.name}{p.consts or ''}")
def test_a_batch_set_to_nan_by_hand_is_refused_by_a_row_that_keeps_numbers_finite(prim):
    with pytest.raises(ValueError, match=f"^{prim.name}: an input of .*nan.* is not a finite number"), \
            np.errstate(all="ignore"):
        prim(*_nan_by_hand(prim))


@pytest.mark.parametrize("name", ["pow", "exp"])
def test_the_rows_that_refuse_any_result_not_finite_refuse_nan_set_by_hand(name):
    # a NaN result comes from a NaN input: refused as one (not as an overflow), as every other row does
    prim = PRIMITIVES[name]
    with pytest.raises(ValueError, match=f"^{name}: an input of .*nan.* is not a finite number"):
        prim(*_nan_by_hand(prim))
    with pytest.raises(ValueError, match="^pow_const: an input of .*nan.* is not a finite number"):
        _nan_by_hand(prim)[0] ** 2.0
    with pytest.raises(OverflowError, match=f"^{name}: overflows a float at example 1"):
        prim(*[batch([1.0, 800.0]) for _ in range(prim.arity)])


def test_a_primitive_made_without_saying_it_keeps_numbers_finite_has_its_batch_results_checked():
    with np.errstate(all="ignore"):
        blowup = Primitive("blowup", "blowup", 1, lambda x: x * 1e308 * 10, lambda g, out, x: (g,),
                           batch_forward=lambda x: x * 1e308 * 10)
    assert blowup.keeps_finite is False
    x = batch([1.0, 2.0])
    x + 0.0            # the first node since a backward pass takes a careful path of its own: not this one
    with pytest.raises(OverflowError, match="^blowup"), np.errstate(all="ignore"):
        blowup(x)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_a_nan_leaf_second_after_a_finite_interior_first_operand_is_refused(name):
    # apply reads the first operand itself; the second is _leaf_input's b branch
    x = _nan_by_hand(PRIMITIVES["relu"])[0]
    interior = batch([1.0, 3.0], "y") * 2.0
    with pytest.raises(ValueError, match=f"^{name}: an input of .*nan.* is not a finite number"), \
            np.errstate(all="ignore"):
        PRIMITIVES[name](interior, x)


def test_a_nan_leaf_among_the_later_operands_of_a_users_n_ary_row_is_refused():
    # _leaf_input's `more` branch: the first two operands are finite interior nodes
    total = Primitive("total3", "total3", -1, lambda *xs: sum(xs), lambda g, out, *xs: (g,) * len(xs),
                      batch_forward=lambda *xs: sum(xs), keeps_finite=True)
    x = _nan_by_hand(PRIMITIVES["relu"])[0]
    y = batch([1.0, 3.0], "y") * 2.0
    with pytest.raises(ValueError, match="^total3: an input of .*nan.* is not a finite number"), \
            np.errstate(all="ignore"):
        total(y, y + 1.0, x)


@pytest.mark.parametrize("x, y", [(2.0, 3.0), (1.5, -0.5), (0.5, 2.5)])
def test_second_derivatives_of_pow_off_base_zero(x, y):
    # pow's rule on Values (the create_graph pass) away from base 0: the exact Hessian of x ** y,
    # [[y(y-1)x^(y-2), x^(y-1)(1 + y ln x)], [same, x^y ln² x]].
    import math

    from autodiff import hessian
    h = hessian(lambda a, b: a ** b, [x, y])
    mixed = x ** (y - 1) * (1 + y * math.log(x))
    expected = [[y * (y - 1) * x ** (y - 2), mixed], [mixed, x ** y * math.log(x) ** 2]]
    for row, want in zip(h, expected, strict=True):
        assert row == pytest.approx(want, rel=1e-12)
    h3 = hessian(lambda a: a ** 3.0, [x])                   # a constant exponent: 6x
    assert h3[0][0] == pytest.approx(6 * x, rel=1e-12)


# The rows that cannot turn finite numbers into inf or NaN (exp and pow raise instead), as the table's
# public field says; test_batched_checks checks that each marked row keeps its word at the floats'
# extremes, and that the rows which can overflow are not marked: this is the converse.
KEEP_FINITE = {"pow", "exp", "log", "tanh", "sigmoid", "relu", "sqrt", "abs", "sin", "cos", "softplus",
               "normal_cdf", "gelu", "maximum", "minimum", "leaky_relu", "elu", "greater",
               "sech2", "floor"}


def test_every_row_that_keeps_numbers_finite_says_so():
    assert {name for name, p in PRIMITIVES.items() if p.keeps_finite} == KEEP_FINITE
    assert all(primitives.pow_const(n).keeps_finite for n in (2.0, -1.0, 0.5))


@pytest.mark.parametrize("slope, kept", [(-1.0, True), (-0.5, True), (0.01, True), (1.0, True),
                                         (-1.0000001, False), (1.0000001, False), (2.0, False)])
def test_leaky_relu_keeps_numbers_finite_for_a_slope_within_one(slope, kept):
    # slope · x overflows from a finite x only for |slope| > 1
    assert leaky_relu_op(slope).keeps_finite is kept


@pytest.mark.parametrize("scale", ["0.5", None, float("nan"), float("inf"), -float("inf")])
def test_a_scaled_sum_of_squares_refuses_a_scale_that_is_not_a_finite_number(scale):
    with pytest.raises(ValueError, match="^sum_squares: the scale must be a finite number, got "):
        primitives.sum_squares_op(scale)


@pytest.mark.parametrize("scale", [True, False])
def test_a_scaled_sum_of_squares_refuses_a_bool_scale(scale):
    # past the cache: True == 1.0 and False == 0.0 as its keys, which may hold the rows made from those
    with pytest.raises(ValueError, match="^sum_squares: the scale must be a finite number, got "):
        primitives.sum_squares_op.__wrapped__(scale)


def test_a_scaled_sum_of_squares_shows_and_differentiates_with_its_scale():
    """c Σ x² with c = 0.25 (nn.l2 with λ = 0.5): shown with c, its derivative 2c·x, its rule
    t + t with t = (g·c)·x; c = 1 is the table's row, shown as Σx² and 2·x."""
    op = primitives.sum_squares_op(0.25)
    assert (op.symbol, op.text, op.consts) == ("0.25·Σx²", "0.5·{x}", {"scale": 0.25})
    assert op.forward(1.0, 2.0) == 1.25
    assert op.vjp(3.0, 1.25, 2.0, -1.0) == (3.0, -1.5)
    terms = op.vjp(np.array([3.0, 1.0]), None, np.array([2.0, 4.0]))
    assert terms[0].tolist() == [3.0, 2.0]
    assert primitives.sum_squares_op(3).text == "6·{x}"            # an int scale, made a float
    one = primitives.sum_squares_op(1.0)
    assert (one.symbol, one.text) == ("Σx²", "2·{x}") and one is PRIMITIVES["sum_squares"]
    assert one.vjp(3.0, None, 2.0) == (12.0,)


def test_a_compiled_layer_reading_a_batch_and_a_shared_number_stacks_them():
    """`stacked` broadcasts a number shared by every example beside a batch (the inputs' shapes agree
    but for the number): the compiled layer program reads its input matrix from it, and its gradients
    are backward()'s."""
    import autodiff
    from autodiff.engine import neurons
    x = [batch([1.0, -2.0, 0.5], "x"), autodiff.Value(0.75, "s")]
    W = [[autodiff.Value(0.5), autodiff.Value(-1.5)], [autodiff.Value(2.0), autodiff.Value(0.25)]]
    b = [autodiff.Value(0.1), autodiff.Value(-0.2)]
    zs = neurons(W, x, b)
    loss = total(zs[0] * zs[1])
    params = [w for row in W for w in row] + b + [x[1]]
    loss.backward()
    want = [p.grad for p in params]
    assert want[-1] == pytest.approx(sum((0.5 * a - 1.5 * 0.75 + 0.1) * 0.25 + (2.0 * a + 0.25 * 0.75 - 0.2)
                                         * -1.5 for a in (1.0, -2.0, 0.5)), rel=1e-12)
    assert compiled_grads(loss, params) == want
    w, X = primitives.stacked([0.5, -1.5], [np.array([1.0, -2.0]), 0.75])
    assert X.tolist() == [[1.0, -2.0], [0.75, 0.75]] and w.tolist() == [0.5, -1.5]
    assert primitives.stacked([0.5, -1.5], [np.array([1.0, -2.0]), np.array([1.0, 2.0, 3.0])]) is None


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_and_minimum_of_two_numbers_at_a_tie_give_the_first(name):
    """At a tie the first input, as PyTorch's maximum and minimum and Python's max and min: the sign of
    a zero shows which (max(−0.0, 0.0) is −0.0, max(0.0, −0.0) is 0.0)."""
    import math

    from autodiff import Value
    prim = PRIMITIVES[name]
    for x, y in ((-0.0, 0.0), (0.0, -0.0)):
        for out in (prim(x, y), prim(Value(x), Value(y)).data):
            assert out == 0.0 and math.copysign(1.0, out) == math.copysign(1.0, x)
    assert prim(2.5, 2.5) == 2.5


def test_as_float_data_leaves_floats_and_batches_as_they_are():
    # as documented: only a number of another type is made a float; a batch is passed over, not refused
    from autodiff import Value
    leaves = [batch([1.0, 2.0], "x"), Value(3.0, "w"), Value(4.0, "b")]
    leaves[2].data = np.float64(5.0)
    held = [leaves[0].data, leaves[1].data]
    primitives.as_float_data(leaves, "test")
    assert leaves[0].data is held[0] and leaves[1].data is held[1]
    assert leaves[2].data.__class__ is float and leaves[2].data == 5.0


def test_steps_over_a_float32_batch_set_by_hand_compute_as_backward_does():
    # leaf_number: a batch of float32 set by hand is read as float64 by the passes that only read (the
    # steppers), as backward() reads it, and .data is left as set; a rule on the leaf alone (sin's, cos x)
    # computed in float32 otherwise
    from autodiff import Value
    from autodiff.steps import backward_steps
    x, w = batch([0.1, 0.2, 0.3], "x"), Value(0.7, "w")
    loss = total(x.sin() * w)
    f32 = np.array([0.1, 0.2, 0.3], dtype=np.float32)
    x.data = f32
    last = {}
    for step in backward_steps(loss):
        for parent, running in zip(step.parents, step.running, strict=True):
            last[parent] = running
    assert x.data is f32 and f32.dtype == np.float32
    loss.backward()   # reads the float32 batch as float64 (x.data made a new float64 array)
    assert last[x].dtype == np.float64
    assert last[x].tolist() == x.grad.tolist() and last[w] == w.grad
