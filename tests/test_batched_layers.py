"""A fused layer at a time: `neurons` makes the same nodes as one `neuron` per row, and over a batch the
backward pass hands a layer's gradients on in two matrix products (autodiff.vectorized._flush). Both are
speed paths, so every test compares them with the plain one-node-at-a-time way."""

import numpy as np
import pytest

from autodiff import Value, backward_steps, topological_order, vectorized
from autodiff.batched import batch, batch_columns, mean, total
from autodiff.engine import neuron, neurons
from nn.data import make_moons
from nn.layers import MLP


def rel_err(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def layer_params(rng, k, n):
    return ([[Value(rng.uniform(-1, 1)) for _ in range(n)] for _ in range(k)],
            [Value(rng.uniform(-1, 1)) for _ in range(k)])


def batched_equals_per_example(build, X, params) -> list:
    """Backward from the sum of ``build`` over the batch of X's rows, then once per row from zero: the
    parameters' gradients agree to 1e-12; returns the batched ones (the parameters hold the per-row
    sums)."""
    total(build(batch_columns(X))).backward()
    g_batched = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    for row in X.tolist():
        build([Value(v) for v in row]).backward()
    assert rel_err(g_batched, [p.grad for p in params]) < 1e-12
    return g_batched


def test_on_one_example_neurons_are_the_nodes_neuron_makes_to_the_bit():
    rng = np.random.default_rng(0)
    W, b = layer_params(rng, 4, 3)
    x = [Value(0.5), -1.25, Value(2.0)]
    fast = neurons(W, x, b)
    slow = [neuron(w, x, bb) for w, bb in zip(W, b, strict=True)]
    assert [z.data for z in fast] == [z.data for z in slow]
    assert all(z.op == "neuron" and z.parents[:3] == tuple(w) and z.parents[-1] is bb
               for z, w, bb in zip(fast, W, b, strict=True))
    assert fast[0].parents[3] is x[0] and fast[0].parents[4].data == -1.25
    assert fast[0].parents[3:6] == fast[1].parents[3:6]       # the inputs are shared, as in a layer
    sum(fast[1:], fast[0].tanh()).backward()
    g_fast = [p.grad for p in [*sum(W, []), *b, x[0], x[2]]]
    for p in [*sum(W, []), *b, x[0], x[2]]:
        p.grad = 0.0
    sum(slow[1:], slow[0].tanh()).backward()
    assert g_fast == [p.grad for p in [*sum(W, []), *b, x[0], x[2]]]


def test_plain_numbers_for_weights_take_the_general_path():
    w, b = Value(2.0), Value(0.5)
    z1, z2 = neurons([[w, 3.0], [1.0, w]], [Value(1.0), Value(4.0)], [b, 1.0])
    assert z1.data == 2 * 1 + 3 * 4 + 0.5 and z2.data == 1 * 1 + 2 * 4 + 1.0
    (z1 + z2).backward()
    assert w.grad == 1.0 + 4.0 and b.grad == 1.0


def test_bad_shapes_are_refused_with_the_counts():
    w = [Value(1.0), Value(2.0)]
    with pytest.raises(ValueError, match="2 weight rows but 1 biases"):
        neurons([w, w], [1.0, 2.0], [Value(0.0)])
    with pytest.raises(ValueError, match="2 weights but 3 inputs"):
        neurons([w], [1.0, 2.0, 3.0], [Value(0.0)])


def single_example_grads(model, X, y):
    ps = model.parameters()
    for p in ps:
        p.grad = 0.0
    for row, label in zip(X.tolist(), y.tolist(), strict=True):
        ((1 - label * model(row)[0]).relu() * (1 / len(y))).backward()
    return [p.grad for p in ps]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_a_fused_mlp_over_a_batch_equals_the_sum_of_single_example_runs(activation, monkeypatch):
    flushes = []
    real = vectorized._flush
    monkeypatch.setattr(vectorized, "_flush",
                        lambda groups, *rest: (flushes.append(len(groups)), real(groups, *rest)))
    X, y = make_moons(40, 0.1, rng=5)
    y = 2.0 * y - 1
    model = MLP(2, [5, 4, 1], activation=activation, rng=5, fused=True)
    loss = mean((1 - batch(y) * model(batch_columns(X))[0]).relu())
    loss.backward()
    g_batched = [p.grad for p in model.parameters()]
    assert all(type(g) is float for g in g_batched)
    assert sum(flushes) == 3                                  # the three layers went the matrix way
    assert rel_err(g_batched, single_example_grads(model, X, y)) < 1e-12


def test_the_stepper_and_the_grouped_backward_leave_the_same_gradients():
    X, y = make_moons(25, 0.2, rng=2)
    model = MLP(2, [3, 3, 1], rng=2, fused=True)
    loss = mean((1 - batch(2.0 * y - 1) * model(batch_columns(X))[0]).relu())
    nodes = topological_order(loss)
    loss.backward()
    fast = [np.copy(n.grad) for n in nodes]
    stepped = {loss: 1.0}
    for s in backward_steps(loss):
        stepped.update(zip(s.parents, s.running, strict=True))
    for a, b in zip(fast, [stepped[n] for n in nodes], strict=True):
        assert rel_err(a, b) < 1e-12 or np.all(a == b)


def test_irregular_layers_fall_back_and_stay_right():
    """Inputs mixing a batch and a shared number, a weight that is itself computed, a neuron that is
    the root (its gradient is one number), and neurons sharing the first input but not the others."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(9, 2))
    p = [Value(rng.uniform(-1, 1)) for _ in range(8)]

    def build(x):
        s = Value(0.3)                                        # one number for every example
        computed = p[0] * 2.0                                 # a weight that is an interior node
        z1, z2 = neurons([[p[1], p[2], p[3]], [computed, p[4], p[5]]], [x[0], x[1], s], [p[6], p[7]])
        z3 = neuron([p[1], p[4]], [x[0], z1.tanh()], p[2])    # same first input, other inputs
        return neuron([p[3], p[5]], [z2.relu(), z3.sigmoid()], p[0])   # a neuron as the root

    g_batched = batched_equals_per_example(build, X, p)

    one = build(batch_columns(X))                             # backward from the batched neuron itself
    for q in p:
        q.grad = 0.0
    one.backward()
    assert rel_err([q.grad for q in p], g_batched) < 1e-12


@pytest.mark.parametrize("b_first", [False, True])
def test_relu_inputs_of_two_layers_reading_them_get_every_term(b_first):
    """A flush works out the relu terms of its inputs at once; a relu node that a second layer (flushed
    in the same go) also reads holds a gradient with both layers' terms, and its term must use it all."""
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, (30, 2))
    W1, b1 = layer_params(rng, 4, 2)
    WA, bA = layer_params(rng, 1, 4)
    WB, bB = layer_params(rng, 1, 2)

    def loss(xs):
        h = [z.relu() for z in neurons(W1, xs, b1)]
        a, b = neurons(WA, h, bA)[0], neurons(WB, h[:2], bB)[0]
        return (b + a) if b_first else (a + b)

    batched_equals_per_example(loss, X, [*sum(W1, []), *b1])


def test_relus_over_a_batch_are_the_nodes_relu_makes_to_the_bit():
    from autodiff import no_grad
    from autodiff.engine import relus
    rng = np.random.default_rng(3)
    W, b = layer_params(rng, 5, 2)
    zs = neurons(W, batch_columns(rng.uniform(-1, 1, (20, 2))), b)
    fast, slow = relus(zs), [z.relu() for z in zs]
    assert all(f.op == "relu" and f.parents == (z,) and f.data.tobytes() == s.data.tobytes()
               for f, s, z in zip(fast, slow, zs, strict=True))
    assert (fast[0].data >= 0).all() and (fast[0].data == 0).any() and (fast[0].data > 0).any()
    with no_grad():                                     # as relu under no_grad: leaves
        assert all(a.is_leaf for a in relus(zs))
    one = [Value(-1.5), Value(2.0)]                     # one-number nodes: relu, node by node
    assert [a.data for a in relus([one[0] * 1.0, one[1] * 1.0])] == [0.0, 2.0]


@pytest.mark.parametrize("fused", [False, True])
def test_a_layer_follows_an_activation_set_or_a_neuron_replaced_after_its_first_call(fused):
    # Layer.forward takes relu a layer at a time only when every neuron's activation is relu: a neuron's
    # activation set after the first call, or a neuron replaced, must be seen.
    import nn
    model = MLP(2, [4, 1], rng=0, fused=fused)
    layer = model.layers[0]
    x = batch_columns(np.random.default_rng(4).uniform(-1, 1, (6, 2)))
    sigmoid, relu, linear = (nn.Neuron(2, f, rng=k, fused=fused) for k, f in enumerate(
        ("sigmoid", "relu", "linear")))   # made before the first call: no activation set after it

    def ops_and_values():
        zs, acts = layer.forward(x)
        want = [z if n.activation == "linear" else getattr(z, n.activation)()
                for n, z in zip(layer.neurons, zs, strict=True)]
        assert [a.data.tobytes() for a in acts] == [w.data.tobytes() for w in want]
        assert [a.label for a in acts] == [n.prefix + ("z" if n.activation == "linear" else "a")
                                           for n in layer.neurons]
        return [a.op for a in acts]

    assert ops_and_values() == ["relu"] * 4
    layer.neurons[1].activation = "TANH"          # any case, as the constructor takes it
    assert layer.neurons[1].activation == "tanh"
    assert ops_and_values() == ["relu", "tanh", "relu", "relu"]
    layer.neurons[1].activation = "relu"
    assert ops_and_values() == ["relu"] * 4
    layer.neurons[2] = sigmoid
    assert ops_and_values() == ["relu", "relu", "sigmoid", "relu"]
    layer.neurons[2] = relu
    assert ops_and_values() == ["relu"] * 4
    layer.neurons.append(linear)
    assert ops_and_values() == ["relu"] * 4 + ["add" if not fused else "neuron"]
    with pytest.raises(ValueError, match="unknown activation 'swish'; choose one of 'relu'"):
        layer.neurons[0].activation = "swish"
    assert layer.neurons[0].activation == "relu"
