"""Tests written for the mutants `make mutate` found alive in the executors (issue 20): a rule that
returns too few terms, unlabelled nodes named in errors, a neuron of one-number nodes inside a batched
graph, and batched neurons that share their first input but not the rest."""

from __future__ import annotations

import math
import random

import pytest
from conftest import compiled_grads

from autodiff import PRIMITIVES, Value, neuron
from autodiff.batched import batch, total
from autodiff.engine import apply
from autodiff.primitives import Primitive
from autodiff.reference import gradients

# A faulty user-made primitive: two inputs, one term from its rule.
SHORT = Primitive("short", "short", 2, lambda x, y: x * y, lambda g, out, x, y: (g * y,),
                  batch_forward=lambda x, y: x * y)


@pytest.mark.parametrize("mode", ["numbers", "batch", "graph"])
def test_a_rule_with_a_term_missing_is_an_error_in_the_reference_loop(mode):
    """Named as every rule's failure is (the op, the node, its inputs), in every mode of the loop: on
    numbers and with create_graph the short rule once escaped as a bare zip error."""
    x, y = (batch([1.0, 2.0]), batch([3.0, 4.0])) if mode == "batch" else (Value(1.0), Value(3.0))
    root = apply(SHORT, x, y)
    with pytest.raises(ValueError, match=r"^backward: the rule of short at node v2 \(inputs .*shorter") as e:
        gradients(total(root) if mode == "batch" else root, create_graph=mode == "graph")
    assert e.value.node is root


def test_a_rule_with_a_term_missing_is_an_error_in_batched_backward():
    x, y = batch([1.0, 2.0]), batch([3.0, 4.0])
    with pytest.raises(ValueError, match="shorter"):
        total(apply(SHORT, x, y)).backward()
    assert not x.has_grad and not y.has_grad


def test_an_unlabelled_node_is_named_by_its_position_when_its_gradient_overflows():
    x = Value(1e-300)
    z = (x * 1e300) * 1e300                     # dz/dx = 1e600: the rule of the last mul overflows
    with pytest.raises(FloatingPointError, match=r"rule of mul at node v\d+ "):
        gradients(z)


def test_a_neuron_of_one_number_nodes_in_a_batched_graph():
    """An L2 penalty as one fused neuron over the parameters, added to a loss over a batch."""
    w = [Value(2.0), Value(-1.0)]
    loss = total(batch([1.0, 2.0]) * w[0]) + neuron(w, w, 0.0)
    loss.backward()
    assert [v.grad for v in w] == [3.0 + 4.0, -2.0]


def test_batched_neurons_sharing_only_their_first_input():
    """Neurons are grouped by their inputs: two that share the first input but not the second are
    not one layer. Their gradients equal the sum of the per-example runs."""
    rng = random.Random(5)
    cols = [[rng.uniform(-1, 1) for _ in range(4)] for _ in range(3)]
    ws = [Value(rng.uniform(-1, 1)) for _ in range(6)]

    def loss(x0, x1, x2):
        z1 = neuron(ws[0:2], [x0, x1], ws[4])
        z2 = neuron(ws[2:4], [x0, x2], ws[5])
        return z1.tanh() * z2.sigmoid()

    xs = [batch(c) for c in cols]
    total(loss(*xs)).backward()
    got = [w.grad for w in ws], [x.grad.tolist() for x in xs]
    want_w, want_x = [0.0] * 6, [[], [], []]
    for i in range(4):
        for w in ws:
            w.grad = 0.0
        one = [Value(c[i]) for c in cols]
        loss(*one).backward()
        want_w = [a + w.grad for a, w in zip(want_w, ws, strict=True)]
        for k, v in enumerate(one):
            want_x[k].append(v.grad)
    assert got[0] == pytest.approx(want_w, rel=1e-12)
    for g, want in zip(got[1], want_x, strict=True):
        assert g == pytest.approx(want, rel=1e-12)


# A user's n-ary primitive (not the fused neuron): the product of its inputs.
PRODUCT = Primitive("product", "Π", -1, lambda *xs: math.prod(xs),
                    lambda g, out, *xs: tuple(g * math.prod(xs[:k] + xs[k + 1:]) for k in range(len(xs))))
PRODUCT_SHORT = Primitive("product", "Π", -1, lambda *xs: math.prod(xs),
                          lambda g, out, *xs: (g * xs[1] * xs[2], g * xs[0] * xs[2]))


def test_an_n_ary_primitive_of_ones_own_gets_its_gradients_from_backward():
    a, b, c = Value(2.0), Value(3.0), Value(-0.5)
    root = apply(PRODUCT, a, b, c) * 2.0
    root.backward()
    assert (a.grad, b.grad, c.grad) == (-3.0, -2.0, 12.0)
    assert gradients(root)[a] == -3.0


def test_an_n_ary_rule_with_a_term_missing_is_an_error_in_backward():
    a, b, c = Value(2.0), Value(3.0), Value(-0.5)
    with pytest.raises(ValueError, match="shorter"):
        apply(PRODUCT_SHORT, a, b, c).backward()
    assert not a.has_grad


@pytest.mark.parametrize("n", [1, 3])
def test_a_sum_of_squares_in_a_batched_graph_gives_each_parameter_2w(n):
    """nn.l2's one node (d/dw Σ w² = 2w) beside a loss over a batch: the batched executor's own branch
    for it, with one input and with several."""
    w = [Value(float(k + 2)) for k in range(n)]
    loss = total(batch([1.0, 2.0]) * w[0]) + apply(PRIMITIVES["sum_squares"], *w)
    loss.backward()
    assert [v.grad for v in w] == [2 * 2.0 + 3.0] + [2 * v.data for v in w[1:]]


@pytest.mark.parametrize("given", [True, False])
def test_the_batched_executor_says_whether_every_leaf_gradient_is_finite(given):
    """`vectorized.backward`'s answer covers the leaves, the walk's or its own (``leaves`` None): a
    parameter whose gradient overflows (Σ x = inf) while every interior gradient is finite is told."""
    import numpy as np

    from autodiff import vectorized
    from autodiff.graph import walk_leaves
    w, v = Value(0.5, "w"), Value(2.0, "v")
    for xs, finite in (([1e308, 1e308], False), ([1.0, 2.0], True)):
        order, leaves, batched = walk_leaves(total(w * batch(xs)) + v * 3.0)
        assert batched
        with np.errstate(all="ignore"):
            assert vectorized.backward(order, leaves if given else None) is finite
        assert (w.grad, v.grad) == ((math.inf, 3.0) if not finite else (3.0, 3.0))


@pytest.mark.parametrize("relu_first", [True, False])
def test_a_relu_input_read_elsewhere_too_adds_both_terms(relu_first):
    """z feeds relu and a product: z.grad = 3 + 5 whichever use the backward loop meets first (the
    eager loop's relu branch adds to a gradient already there, it does not replace or subtract it)."""
    x = Value(1.5)
    z = x * 2.0
    r, m = z.relu() * 3.0, z * 5.0
    loss = r + m if relu_first else m + r
    loss.backward()
    assert (z.grad, x.grad) == (8.0, 16.0)
    assert gradients(loss)[x] == 16.0


@pytest.mark.parametrize("n", [1, 2, 3])
def test_a_scaled_sum_of_squares_in_a_batched_graph_gives_each_parameter_2cw(n):
    """nn.l2's node with λ = 0.5 (c = 0.25) beside a loss over a batch, in the batched executor's own
    branch (the upstream times c first, as the rule) and in the compiled program: every input gets its
    term, two inputs (a binary node) too, where the second once got none."""
    from autodiff.primitives import sum_squares_op
    w = [Value(float(k + 2) * (-1) ** k) for k in range(n)]            # 2, -3, 4
    loss = total(batch([1.0, 2.0]) * w[0]) + apply(sum_squares_op(0.25), *w)
    want = [3.0 * (k == 0) + 2 * 0.25 * v.data for k, v in enumerate(w)]
    assert [gradients(loss)[v] for v in w] == want
    loss.backward()
    assert [v.grad for v in w] == want
    assert compiled_grads(loss, w) == want


@pytest.mark.parametrize("second", ["relu", "product"])
def test_a_batch_read_by_two_relus_or_a_relu_and_a_product_adds_both_terms(second):
    """The batched loop's relu branch adds its term to a gradient the batch already holds (an array)."""
    x = batch([1.5, -0.5])
    z = x * 2.0
    other = z.relu() * 5.0 if second == "relu" else z * 5.0
    loss = total(z.relu() * 3.0 + other)
    loss.backward()
    want = [8.0, 0.0] if second == "relu" else [8.0, 5.0]
    assert z.grad.tolist() == want and x.grad.tolist() == [2 * g for g in want]
    assert gradients(loss)[x].tolist() == x.grad.tolist()


def test_relu_at_zero_in_a_layer_under_a_fused_layer_passes_nothing_back():
    """Two relus over batches feeding a fused layer: their terms come from one np.where over the
    layer, and a pre-activation exactly 0 (example 0 of z1) gets relu's 0 there, as everywhere."""
    x = batch([1.0, 2.0])
    z1, z2 = x * 1.0 - 1.0, x * 2.0                 # z1 = [0, 1], z2 = [2, 4]
    r = [z1.relu(), z2.relu()]
    w = [[Value(0.5), Value(-1.5)], [Value(2.0), Value(0.25)]]
    layer = [neuron(ws, r, Value(0.1)) for ws in w]
    loss = total(layer[0] * layer[1])
    loss.backward()
    ref = gradients(loss)
    assert z1.grad[0] == 0.0 and z1.grad[1] != 0.0
    for v in (z1, z2, x):
        assert v.grad.tolist() == ref[v].tolist()


def test_a_relu_of_a_layer_that_gets_a_later_term_after_the_flush_takes_its_whole_gradient():
    """A fused layer reads r0 and r1 = relu(2·r0): the layer's one np.where gives r0 its term, then
    r1's chain adds another before the loop reaches r0, so r0 must take relu's rule on the whole
    gradient, not the flush's precomputed term (the `pre[0] is g` guard; found untested in review)."""
    x = batch([1.0, -2.0, 3.0])
    z = x * 1.5
    r0 = z.relu()
    r1 = (r0 * 2.0).relu()
    w = [[Value(0.5), Value(-1.5)], [Value(2.0), Value(0.25)]]
    layer = [neuron(ws, [r0, r1], Value(0.1)) for ws in w]
    loss = total(layer[0] * layer[1])
    loss.backward()
    assert z.grad.tolist() == gradients(loss)[z].tolist() == [-18.75, 0.0, -56.25]
