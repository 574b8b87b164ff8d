"""`autodiff.compile` on what a fresh tester found (issue 17's QA): constants the library computes from
values, check() by identity, BLAS threads, leaves changed between forward and backward, bad input."""

import math

import numpy as np
import pytest

import autodiff
import nn
from autodiff import Value
from autodiff.batched import batch, batch_columns
from tests.conftest import require_torch

# ---- check(): parameters by identity, constants by value, in words ----------------------------

def test_check_refuses_a_model_made_again_with_the_same_seed():
    m1 = nn.MLP(2, [3, 1], rng=1)
    program = autodiff.compile(nn.squared_error(m1([1.0, 2.0]), [1.0]))
    program.check(nn.squared_error(m1([1.0, 2.0]), [1.0]))        # the same model: fine
    m2 = nn.MLP(2, [3, 1], rng=1)                                  # a notebook cell re-run
    with pytest.raises(autodiff.GraphChangedError, match="compared by identity.*other Values"):
        program.check(nn.squared_error(m2([1.0, 2.0]), [1.0]))


def test_check_refuses_a_fresh_value_of_the_same_label_and_value():
    y, w = Value(3.0, "y"), Value(1.5, "w")
    program = autodiff.compile(y * w)
    program.check(y * w)
    with pytest.raises(autodiff.GraphChangedError, match="node 0 .'y'. is the leaf 'y'"):
        program.check(Value(3.0, "y") * w)
    with pytest.raises(autodiff.GraphChangedError, match="by identity"):
        program.check(Value(3.0) * w)


def test_check_names_a_changed_constant_as_a_constant():
    x = Value(1.0, "x")
    program = autodiff.compile(x * 2.0)
    program.check(x * 2.0)                                         # a new constant, the same value
    with pytest.raises(autodiff.GraphChangedError, match="is the constant 2.0 and the new graph's "
                                                         "constant there is 3.0: a constant changed"):
        program.check(x * 3.0)


def test_check_compares_a_batch_of_constants_by_value():
    X = np.array([[0.5, -1.0], [1.5, 2.0], [0.0, 1.0]])
    model = nn.MLP(2, [3, 1], rng=1, fused=True)
    xs = batch_columns(X)

    def loss(labels):
        return nn.mean(nn.hinge(model(xs), [batch(labels)]))
    program = autodiff.compile(loss([1.0, -1.0, 1.0]))
    program.check(loss([1.0, -1.0, 1.0]))                          # new arrays, equal: fine
    with pytest.raises(autodiff.GraphChangedError, match="a constant changed"):
        program.check(loss([1.0, 1.0, 1.0]))


def test_check_of_something_not_a_value_is_a_type_error_in_words():
    program = autodiff.compile(Value(1.0, "x") * 2.0)
    with pytest.raises(TypeError, match="check needs a Value, the root of the graph built again, got float"):
        program.check(3.0)


def test_check_passes_when_the_data_numbers_are_wrapped_again():
    """A model called on plain numbers wraps them afresh at each build (nn's x.0, x.1, ...): constants,
    compared by value, so the README's loop rebuilt passes check while its parameters are the same."""
    model = nn.MLP(2, [3, 1], rng=1)

    def loss():
        return nn.squared_error(model([1.0, 2.0]), [1.0]) + nn.l2(model.weights(), 1e-3)
    program = autodiff.compile(loss())
    program.check(loss())
    with pytest.raises(autodiff.GraphChangedError, match="a constant changed"):
        program.check(nn.squared_error(model([1.0, 2.5]), [1.0]) + nn.l2(model.weights(), 1e-3))


# ---- constants computed from values at build time: softmax's shift is recomputed -----------------

def test_cross_entropy_follows_the_logits_new_values_to_the_bit():
    z1, z2 = Value(0.5, "z1"), Value(-0.3, "z2")
    program = autodiff.compile(nn.cross_entropy([z1, z2], 0))
    for a, b in ((30.0, 29.0), (800.0, 799.0), (-700.0, 5.0)):      # the QA's cases; exp(799.5) overflowed
        z1.data, z2.data = a, b
        z1.grad = z2.grad = 0.0
        got = program.forward()
        program.backward()
        fa, fb = Value(a), Value(b)
        fresh = nn.cross_entropy([fa, fb], 0)
        fresh.backward()
        assert got == fresh.data and (z1.grad, z2.grad) == (fa.grad, fb.grad)
        assert math.isfinite(got) and got == pytest.approx(math.log1p(math.exp(-abs(a - b))) + max(b - a, 0))


@pytest.mark.parametrize("loss", ["softmax", "log_softmax", "cross_entropy"])
def test_check_passes_when_only_the_logits_values_changed(loss):
    def build(z):
        if loss == "cross_entropy":
            return nn.cross_entropy(z, 1)
        return getattr(nn, loss)(z)[0]
    z = [Value(0.5, "a"), Value(-0.3, "b"), Value(0.1, "c")]
    program = autodiff.compile(build(z))
    z[0].data, z[1].data, z[2].data = 3.7, -2.1, 40.0
    program.check(build(z))                                         # raised GraphChangedError before
    assert program.forward() == build(z).data


def _train(compiled: bool, fused: bool, steps: int = 4) -> list[float]:
    X = np.array([[0.5, -1.0], [1.5, 2.0], [0.0, 1.0], [-2.0, 0.3], [0.7, 0.7]])
    y = np.array([0, 1, 1, 0, 1])
    model = nn.MLP(2, [5, 2], rng=3, fused=fused)
    opt = nn.Adam(model.parameters(), lr=0.05)
    xs, onehot = batch_columns(X), [batch((y == 0) * 1.0), batch((y == 1) * 1.0)]

    def build():
        return nn.mean(nn.cross_entropy(model(xs), onehot))
    program = autodiff.compile(build()) if compiled else None
    for _ in range(steps):
        loss = program if compiled else build()
        if compiled:
            loss.forward()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.data for p in model.parameters()]


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "unfused"])
def test_batched_cross_entropy_training_compiled_is_bit_identical(fused):
    assert _train(True, fused) == _train(False, fused)           # drifted by 1e-16 after 4 Adam steps


def test_logsumexp_against_its_formula_and_torch():
    torch = require_torch()
    lse = autodiff.PRIMITIVES["logsumexp"]
    zs = [0.3, -1.2, 2.5, 2.5, -40.0]
    assert lse(*zs) == pytest.approx(math.log(math.fsum(math.exp(z) for z in zs)), rel=1e-15)
    assert lse(1000.0, 999.0) == pytest.approx(1000.0 + math.log1p(math.exp(-1.0)), rel=1e-15)
    vs = [Value(z) for z in zs]
    lse(*vs).backward()
    t = torch.tensor(zs, requires_grad=True)
    torch.logsumexp(t, 0).backward()
    assert [v.grad for v in vs] == pytest.approx(t.grad.tolist(), rel=1e-14, abs=1e-300)
    column = lse.batch(np.array([0.3, 1000.0]), -1.2, np.array([2.5, 999.0]))
    assert column.tolist() == pytest.approx([lse(0.3, -1.2, 2.5), lse(1000.0, -1.2, 999.0)], rel=1e-15)


# ---- BLAS threads: the compiled batched program keeps primitives.BLAS_THREADS -------------------

@pytest.mark.parametrize("limit", [1, None])
def test_the_layer_program_runs_its_products_at_blas_threads(limit, monkeypatch):
    """A primitive in the loss records the BLAS threads while the program runs: at most BLAS_THREADS
    when the layers' products are big (at 1,000 points, 16 x 16 x 1,000 multiply-adds), numpy's own
    number with BLAS_THREADS None (before, the program ran at numpy's number always)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    default = max([p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"],
                  default=1)
    if default < 2:
        pytest.skip("numpy's BLAS runs one thread here: a limit of 1 cannot be told apart")
    monkeypatch.setattr(autodiff.primitives, "BLAS_THREADS", limit)
    seen = []

    def record(x):
        seen.append(max(p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"))
        return x
    probe = autodiff.primitives.define("blas_probe", "probe", 1, lambda x: x, lambda g, out, x: (g,),
                                       None, record)
    try:
        X = np.random.default_rng(1).normal(size=(1000, 2))
        model = nn.MLP(2, [16, 16, 1], rng=1, fused=True)
        loss = nn.mean(probe(nn.hinge(model(batch_columns(X)), [batch(np.sign(X[:, 0]) + (X[:, 0] == 0))])))
        program = autodiff.compile(loss)
        assert program.layers
        seen.clear()
        program.forward()
        program.backward()
    finally:
        del autodiff.PRIMITIVES["blas_probe"]
    assert seen and set(seen) == ({1} if limit == 1 else {default})


# ---- a leaf set between forward() and backward(): documented, not detected -----------------------

def _tanh_graph(x0: float, size: int):
    x, w = Value(x0, "x"), Value(3.0, "w")
    o = (x * w).tanh()
    for _ in range(size):
        o = (o * 0.5 + w * 0.01).tanh()
    return x, w, o


@pytest.mark.parametrize("size", [3, 300], ids=["readable", "fast"])
def test_backward_after_a_leaf_was_set_is_the_gradient_of_the_last_forward(size):
    """As docs/compile.md says: backward() continues the pass forward() began, so a leaf set in between
    is not seen (the gradient at the values forward() read, a graph built afresh at those values);
    calling forward() again takes the new value."""
    x, w, o = _tanh_graph(0.1, size)
    program = autodiff.compile(o)
    program.forward()
    x.data = 0.2
    program.backward()
    ox, ow, oo = _tanh_graph(0.1, size)
    oo.backward()
    assert (x.grad, w.grad) == (ox.grad, ow.grad)
    x.grad = w.grad = 0.0
    program.forward()
    program.backward()
    nx, nw, no = _tanh_graph(0.2, size)
    no.backward()
    assert (x.grad, w.grad) == (nx.grad, nw.grad) != (ox.grad, ow.grad)


# ---- a batched program fed another batch size --------------------------------------------------

@pytest.mark.parametrize("fused", [True, False], ids=["layers", "unfused"])
def test_a_batch_of_another_size_is_refused_in_words(fused):
    X = np.random.default_rng(2).normal(size=(100, 2))
    model = nn.MLP(2, [4, 1], rng=1, fused=fused)
    xs, labels = batch_columns(X), batch(np.where(X[:, 0] > 0, 1.0, -1.0))
    program = autodiff.compile(nn.mean(nn.hinge(model(xs), [labels])))
    xs[0].data, xs[1].data = X[:50, 0].copy(), X[:50, 1].copy()    # the labels still hold 100
    with pytest.raises(ValueError, match="^compiled forward: the Value 'x0' holds a batch of 50 examples, "
                                         "and .* was built for a batch of 100 examples: .*set .data to 100 "
                                         "examples, or build the graph again"):   # backward()'s words
        program.forward()


def test_a_node_by_node_batched_program_refuses_another_size_too():
    w = Value(0.5, "w")
    x = batch([1.0, 2.0, 3.0], "x")
    def build():   # a fused neuron whose weight holds a batch: not a layer, replayed node by node
        return autodiff.batched.mean(autodiff.neuron([x], [w], Value(0.1, "b")).tanh())
    program = autodiff.compile(build())
    assert not program.layers
    x.data = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="the Value 'x' holds a batch of 2 examples, .* was built for a "
                                         "batch of 3 examples"):
        program.forward()
    x.data = np.array([1.0, 2.0, 4.0])                             # the size it was built for: fine
    assert program.forward() == build().data


def test_the_constant_labels_have_one_home():
    # nn labels a model's plain-number inputs with input_label; compile takes those leaves for constants
    from autodiff.engine import input_label, is_constant_label
    layer = nn.Layer(2, 1, rng=0)
    xs = [leaf for leaf in autodiff.topological_order(layer([1.0, 2.0])[0]) if leaf.label.startswith("x.")]
    assert [x.label for x in xs] == [input_label(0), input_label(1)]
    assert all(is_constant_label(label) for label in ("", "x.0", "x.12"))
    assert not any(is_constant_label(label) for label in ("w", "x.", "x.a", "x.²", "x.1.2", "y.0"))


# ---- check(): frozen control flow is named as such, whatever differs first (h17d) ----------------

PATH = "the code that builds the graph took another path than when it was compiled, as Python control flow"


@pytest.mark.parametrize("build, first", [
    (lambda x, y: x * 2.0 if x.data > 0 else x * x, r"node 1 \('v1', a leaf\) is now a 'mul' node"),
    (lambda x, y: (x * y).tanh() if x.data > 0 else (x * y).relu(), r"node 3 \('v3', op 'tanh'\) is now "
                                                                    "a 'relu' node"),
    # a constant at the same place on both paths: the constant was named, as if it had changed
    (lambda x, y: x * y + 1.0 if x.data > 0 else x * y * 3.0,
     r"node 4 \('v4', op 'add'\) is now a 'mul' node"),
    # one path's graph is the other's beginning: only the counts were given, with no reason
    (lambda x, y: x * y if x.data > 0 else x * y + 1.0, "it has 3 nodes and the new graph 5, alike up to "
                                                        "node 2"),
    # the same Values read in another order: the identity check spoke of a model made again
    (lambda x, y: x * y if x > 0 else y * x, "node 0 is the leaf 'x' and the new graph reads there 'y', the "
                                              "compiled graph's node 1"),
])
def test_check_names_frozen_control_flow_as_the_reason(build, first):
    x, y = Value(1.0, "x"), Value(2.0, "y")
    program = autodiff.compile(build(x, y))
    program.check(build(x, y))
    x.data = -1.0
    with pytest.raises(autodiff.GraphChangedError, match=rf"^compiled check: {first}: {PATH}") as caught:
        program.check(build(x, y))
    assert "constant changed" not in str(caught.value) and "model made again" not in str(caught.value)
    assert "Compile the new graph" in str(caught.value)


def test_check_still_names_a_changed_constant_and_new_values_when_the_shape_is_the_same():
    x, y = Value(1.0, "x"), Value(2.0, "y")
    program = autodiff.compile((x * y + 1.0).tanh())
    with pytest.raises(autodiff.GraphChangedError, match="is the constant 1.0 and the new graph's constant "
                                                         "there is 2.0: a constant changed"):
        program.check((x * y + 2.0).tanh())
    with pytest.raises(autodiff.GraphChangedError, match="compared by identity.*other Values"):
        program.check((x * Value(2.0, "y") + 1.0).tanh())
