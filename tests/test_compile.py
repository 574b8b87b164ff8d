"""`autodiff.compile`: the replayed graph against the graph built afresh, to the bit, on random eager,
fused and batched graphs; leaves accumulate; the classic neuron's program reads; frozen control flow."""

import math
import random

import numpy as np
import pytest

import autodiff
from autodiff import Value, neuron
from autodiff.batched import batch, mean
from autodiff.engine import neurons
from autodiff.primitives import sum_squares_op

UNARY = ["tanh", "sigmoid", "relu", "square", "exp_tanh", "neg", "log_sq", "sin", "softplus", "gelu",
         "maximum", "l2"]


def build(params: list[Value], seed: int, fused: bool = False, xs=None) -> Value:
    """A random graph over ``params`` whose shape depends on ``seed`` only (not on values); with ``xs``
    (batched leaves) the nodes hold a batch and the root is their mean."""
    rng = random.Random(seed)
    nodes = list(params) + (list(xs) if xs else [Value(rng.uniform(-1, 1))])
    for _ in range(rng.randint(5, 40)):
        kind = rng.random()
        a, b = rng.choice(nodes), rng.choice(nodes)
        if kind < 0.25:
            out = a + b
        elif kind < 0.5:
            out = a * b
        elif kind < 0.6:
            out = a + rng.choice([1.0, -0.5, 0.0])
        elif fused and kind < 0.75:
            k = rng.randint(1, 3)
            ins = [rng.choice(nodes) for _ in range(k)]
            out = neuron([rng.choice(params) for _ in range(k)], ins, rng.choice(params))
        else:
            op = rng.choice(UNARY)
            out = {"tanh": lambda v: v.tanh(), "sigmoid": lambda v: v.sigmoid(),
                   "relu": lambda v: v.relu(), "square": lambda v: v ** 2,
                   "exp_tanh": lambda v: v.tanh().exp(), "neg": lambda v: -v,
                   "log_sq": lambda v: (v * v + 1.0).log(), "sin": autodiff.sin,
                   "softplus": autodiff.softplus, "gelu": autodiff.gelu,
                   "maximum": lambda v, b=b: autodiff.maximum(v, b),
                   "l2": lambda v, b=b: sum_squares_op(0.15)(v, b, v)}[op](a)   # nn.l2's one node
        nodes.append(out.tanh() if rng.random() < 0.3 else out)  # keeps values in range
    root = nodes[-1]
    for extra in nodes[-4:-1]:  # a reused node or two: diamonds
        root = root + extra
    return mean(root) if xs else root


def grads(leaves):
    return [leaf.grad for leaf in leaves]


def fresh(values, seed, fused=False, data=None):
    params = [Value(x, f"p{i}") for i, x in enumerate(values)]
    xs = [batch(col) for col in data] if data is not None else None
    root = build(params, seed, fused, xs)
    root.backward()
    return root, params


@pytest.mark.parametrize("mode", ["eager", "fused", "batched", "eager, fast", "fused, fast"])
@pytest.mark.parametrize("seed", range(40))
def test_replay_is_bit_identical_to_the_graph_built_again(mode, seed, monkeypatch):
    if mode.endswith("fast"):  # the program written for speed (registers), as large graphs get it
        monkeypatch.setattr(autodiff.compiled, "READABLE_NODES", 0)
        mode = mode.split(",")[0]
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(2, 7)) if mode == "batched" else None
    start, later = rng.normal(size=6).tolist(), rng.normal(size=6).tolist()
    root, params = fresh(start, seed, mode != "eager", data)
    compiled = autodiff.compile(root)
    for p in compiled.leaves:
        p.grad = 0.0
    for p, x in zip(params, later, strict=True):  # new parameter values: relu's kinks may now flip
        p.data = x
    value = compiled.forward()
    compiled.backward()
    again, again_params = fresh(later, seed, mode != "eager", data)
    assert value == again.data or (math.isnan(value) and math.isnan(again.data))
    assert grads(params) == grads(again_params)
    for old, new in zip(autodiff.topological_order(root), autodiff.topological_order(again),
                        strict=True):
        assert np.array_equal(old.data, new.data)   # every node recomputed, as built again
    # leaves accumulate over two calls in a row, as root.backward() does
    compiled.backward()
    again.backward()
    assert grads(params) == grads(again_params)


def test_batched_node_values_are_the_graph_built_again():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3, 50))
    W = [[Value(float(w)) for w in row] for row in rng.normal(size=(4, 3))]
    b = [Value(float(x)) for x in rng.normal(size=4)]

    def loss():
        zs = neurons(W, [batch(col) for col in X], b)
        return mean(sum((z.relu() for z in zs), Value(0.0)))
    root = loss()
    compiled = autodiff.compile(root)
    W[0][0].data += 0.5
    compiled.forward()
    again = loss()
    for old, new in zip(autodiff.topological_order(root), autodiff.topological_order(again),
                        strict=True):
        assert np.array_equal(old.data, new.data)
    for p in [*sum(W, []), *b]:
        p.grad = 0.0
    compiled.backward()
    mine = [p.grad for p in [*sum(W, []), *b]]
    for p in [*sum(W, []), *b]:
        p.grad = 0.0
    again.backward()
    assert mine == [p.grad for p in [*sum(W, []), *b]]


def test_interior_gradients_are_left_alone_and_backward_runs_forward_first():
    x = Value(2.0, "x")
    y = x * x
    z = y.tanh()
    compiled = autodiff.compile(z)
    x.data = 0.5
    compiled.backward()                                 # no forward() yet: it runs one
    assert x.grad == pytest.approx(2 * 0.5 * (1 - math.tanh(0.25) ** 2), rel=1e-15)
    assert not y.has_grad and z.data == math.tanh(0.25)


def neuron_graph():
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2, b = Value(-3.0, "w1"), Value(1.0, "w2"), Value(6.881373587019543, "b")
    x1w1 = x1 * w1
    x1w1.label = "x1w1"
    x2w2 = x2 * w2
    x2w2.label = "x2w2"
    s = x1w1 + x2w2
    s.label = "x1w1x2w2"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, [x1, w1, x2, w2, b]


def test_the_classic_neuron_reads_as_a_student_would_write_it():
    o, leaves = neuron_graph()
    source = autodiff.compile(o).source
    lines = [ln.strip() for ln in source.splitlines()]
    assert "x1w1 = x1 * w1" in lines and "o = tanh(n)" in lines
    assert any(ln.startswith("g_w1 = 0.0 + g_x1w1 * x1") and ln.endswith("# ∂x1w1/∂w1 = x1")
               for ln in lines)
    assert any("# ∂o/∂n = (1 − o²)" in ln for ln in lines)
    assert len([ln for ln in lines if ln and not ln.startswith("#")]) <= 24
    o.backward()
    expected = grads(leaves)
    for leaf in leaves:
        leaf.grad = 0.0
    autodiff.compile(o).backward()
    assert grads(leaves) == expected


def test_large_graphs_get_short_names_and_stay_exact():
    xs = [Value(float(i) / 100, f"x{i}") for i in range(300)]
    total = xs[0]
    for x in xs[1:]:
        total = total + x * x
    compiled = autodiff.compile(total)
    assert "x299" not in compiled.source
    compiled.backward()
    got = grads(xs)
    for x in xs:
        x.grad = 0.0
    total.backward()
    assert got == grads(xs)


def test_check_catches_control_flow_frozen_at_compile_time():
    x = Value(1.0, "x")

    def f():
        return x * 2.0 if x.data > 0 else x * x       # Python branching on a value
    compiled = autodiff.compile(f())
    compiled.check(f())                                # same path: fine
    x.data = -1.0
    with pytest.raises(autodiff.GraphChangedError, match="node 1"):
        compiled.check(f())


@pytest.mark.parametrize("fast", [False, True], ids=["readable", "fast"])
def test_errors_name_what_was_wrong(fast, monkeypatch):
    if fast:  # the program written for speed, as graphs above READABLE_NODES get it
        monkeypatch.setattr(autodiff.compiled, "READABLE_NODES", 0)
    with pytest.raises(TypeError, match="compile needs a Value"):
        autodiff.compile(3.0)
    x = Value(1.0, "x")
    compiled = autodiff.compile(x.log())
    x.data = -1.0
    with pytest.raises(ValueError, match="log"):
        compiled.forward()
    y = Value(700.0, "y")
    cube = y * y * y
    compiled = autodiff.compile(cube)
    y.data = 1e200
    with pytest.raises(FloatingPointError, match=r"node 'v1' \(mul\) is inf"):  # y * y, the first
        compiled.forward()
    assert cube.data == 700.0 ** 3                     # nothing written: all or nothing
    z = Value(1e-300, "z")
    compiled = autodiff.compile((z * 1e300) * 1e300)
    z.data = 1.0
    with pytest.raises(FloatingPointError, match="the root"):
        compiled.forward()
    t = Value(1e-300, "t")
    squashed = ((t * 1e300) * 1e300).tanh()            # an interior overflow the root's tanh hides
    compiled = autodiff.compile(squashed)
    t.data = 1.0
    with pytest.raises(FloatingPointError, match=r"\(mul\) is inf"):
        compiled.forward()
    assert squashed.data == math.tanh(1e-300 * 1e300 * 1e300)   # nothing written


@pytest.mark.parametrize("batched", [False, True])
def test_a_gradient_that_is_not_finite_is_refused_and_leaves_grad_alone(batched):
    import warnings

    from autodiff.batched import batch, total
    w = Value(5e-324, "w")                             # d log w / dw = 1/w = inf
    compiled = autodiff.compile(total(w.log() * batch([1.0, 1.0])) if batched else w.log())
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # no numpy RuntimeWarning either
        with pytest.raises(FloatingPointError, match="gradient of 'w' is not finite"):
            compiled.backward()
    assert w.grad == 0.0 and not w.has_grad


def test_an_accumulated_gradient_that_overflows_is_refused_as_backward_refuses_it():
    w = Value(1.0, "w")
    w.grad = 1e308
    compiled = autodiff.compile(w * 1e308)             # this pass adds 1e308: the sum is inf
    with pytest.raises(FloatingPointError, match=r"^compiled backward: the gradient of leaf w \(data 1\) "
                       "would be inf once this pass's gradient is added to what it held"):   # backward()'s
        compiled.backward()
    assert w.grad == 1e308


def leaf_grads(root):
    return [p.grad for p in autodiff.topological_order(root) if p.is_leaf]


@pytest.mark.parametrize("activation, sizes, points", [("relu", [16, 16, 1], 100), ("relu", [5, 7, 3], 9),
                                                       ("tanh", [8, 8, 1], 30), ("sigmoid", [4, 2], 12),
                                                       ("relu", [1, 1], 5)])
def test_a_batched_network_replays_as_matrix_products_to_the_bit(activation, sizes, points):
    # nn's fused layers over a batch (what autodiff.engine.neurons builds): the program runs each layer
    # as products (Z = W X + b; dW = G Xᵀ, dX = Wᵀ G) on the executor's matrices, in its row order, so
    # every value and every leaf gradient equals the graph built again and differentiated, to the bit.
    import nn
    from autodiff.batched import batch_columns
    from nn.data import make_moons
    X, y = make_moons(points, 0.1, rng=2)
    model = nn.MLP(2, sizes, activation, rng=3, fused=True)
    xs, labels = batch_columns(X), batch(2.0 * y - 1.0)

    def loss():
        scores = model(xs)
        return nn.mean(nn.hinge(scores, [labels] * len(scores))) + nn.l2(model.weights(), 1e-3)
    compiled = autodiff.compile(loss())
    assert compiled.layers and " @ " in compiled.source
    opt = nn.SGD(model.parameters(), lr=0.3)
    for _ in range(3):
        for leaf in compiled.leaves:
            leaf.grad = 0.0
        value = compiled.forward()
        compiled.backward()
        again = loss()
        for leaf in autodiff.topological_order(again):
            if leaf.is_leaf:
                leaf.grad = 0.0
        again.backward()
        assert value == again.data
        assert all(np.array_equal(a, b) for a, b in zip(leaf_grads(compiled.root), leaf_grads(again),
                                                       strict=True))
        for old, new in zip(autodiff.topological_order(compiled.root), autodiff.topological_order(again),
                            strict=True):
            assert np.array_equal(old.data, new.data)
        opt.step()


def test_a_layer_of_neurons_made_one_at_a_time_agrees_to_rounding():
    # neuron() by neuron() on the same inputs, each z is w @ X; the program recognizes the layer and
    # computes W X in one product, which may sum in another order: equal to 1e-12 relative, not the bit.
    rng = np.random.default_rng(5)
    xs = [batch(col) for col in rng.normal(size=(6, 40))]
    W = [[Value(float(w)) for w in row] for row in rng.normal(size=(5, 6))]
    b = [Value(float(x)) for x in rng.normal(size=5)]

    def loss():
        zs = [neuron(row, xs, bias) for row, bias in zip(W, b, strict=True)]
        return mean(sum((z.tanh() for z in zs), Value(0.0)))
    root = loss()
    compiled = autodiff.compile(root)
    assert compiled.layers
    W[1][2].data += 0.25
    compiled.forward()
    for p in [*sum(W, []), *b]:
        p.grad = 0.0
    compiled.backward()
    mine = [p.grad for p in [*sum(W, []), *b]]
    again = loss()
    for p in [*sum(W, []), *b]:
        p.grad = 0.0
    again.backward()
    assert again.data == pytest.approx(compiled.root.data, rel=1e-12)
    assert mine == pytest.approx([p.grad for p in [*sum(W, []), *b]], rel=1e-12, abs=1e-300)


def test_a_batched_graph_the_layer_program_does_not_take_is_replayed_node_by_node():
    # a fused neuron whose weight holds a batch is no layer the executor multiplies out
    xs = [batch([1.0, 2.0, 3.0]), batch([0.5, -1.0, 2.0])]
    w = [Value(0.3, "w0"), batch([0.1, 0.2, 0.3])]
    root = mean(neuron(w, xs, Value(0.1, "b")).tanh())
    compiled = autodiff.compile(root)
    assert not compiled.layers
    compiled.backward()
    mine = w[0].grad
    w[0].grad = 0.0
    root.backward()
    assert mine == w[0].grad


def test_a_leaf_that_changes_kind_is_refused_in_words():
    xs = [batch([1.0, 2.0]), batch([3.0, 4.0])]
    W = [[Value(0.5), Value(-0.5)], [Value(0.25), Value(1.0)]]
    b = [Value(0.0), Value(0.1)]
    compiled = autodiff.compile(mean(sum((z.relu() for z in neurons(W, xs, b)), Value(0.0))))
    assert compiled.layers
    W[0][0].data = np.array([1.0, 2.0])
    # the program's words; backward()'s once autodiff.engine.check_leaves refuses a one-number leaf set
    # to a batch of the graph's own size (it then speaks first: "... but held one number when the graph
    # was built")
    with pytest.raises((TypeError, ValueError), match="held one number when the graph was (compiled|built)"):
        compiled.forward()


def test_check_names_a_constant_of_an_op_that_changed():
    # nn.l2's λ/2 is the sum_squares node's own constant (one node), so a new λ is a changed constant
    import nn
    w = [Value(0.5, "w0"), Value(-1.0, "w1")]
    compiled = autodiff.compile(nn.l2(w, 1e-4) + w[0])
    compiled.check(nn.l2(w, 1e-4) + w[0])
    with pytest.raises(autodiff.compiled.GraphChangedError, match=r"\{'scale': 5e-05\} and the new graph's "
                       r"\{'scale': 0.005\}: a constant changed"):
        compiled.check(nn.l2(w, 1e-2) + w[0])


def test_a_labelled_leaf_that_now_holds_a_batch_is_named_by_its_label():
    """A tester's find: the refusal named the leaf by the program's mangled name (layers_0_..._w_0)."""
    w, x = Value(0.5, "layers.0.neurons.0.w.0"), Value(2.0, "x")
    compiled = autodiff.compile((w * x).tanh())
    w.data = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match=r"the Value 'layers\.0\.neurons\.0\.w\.0' holds a batch of 2 "
                                         "examples, but held one number when the graph was built"):
        compiled.forward()


def test_a_labelled_batch_of_another_size_is_named_by_its_label():
    """As above, for a batched leaf given another number of examples, in a program replayed node by
    node (sqrt's gradient at 0 is not finite, so not a layer program), whose names are Python
    identifiers: 'inputs_x' was shown (issue 17)."""
    x, w = batch([0.0, 2.0, 3.0], "inputs.x"), Value(0.5, "w")
    compiled = autodiff.compile(mean((x * w).sqrt()))
    assert not compiled.layers
    x.data = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match=r"the Value 'inputs\.x' holds a batch of 2 examples, and mul .* "
                                         "was built for a batch of 3 examples"):
        compiled.forward()
