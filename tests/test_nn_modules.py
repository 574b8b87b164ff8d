"""nn modules: parameter counts and dotted names, labels of z/a nodes, input validation, rng and init,
and `MLP.trace`, whose z nodes carry the δ of the backpropagation equations after a backward pass."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

import nn
from autodiff import Value, topological_order


def test_counts_and_names():
    m = nn.MLP(3, [4, 2], rng=0)
    names = [n for n, _ in m.named_parameters()]
    assert len(names) == len(m.parameters()) == 3 * 4 + 4 + 4 * 2 + 2
    assert len(m.weights()) == 3 * 4 + 4 * 2
    assert names[:5] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.w.2",
                         "layers.0.neurons.0.b", "layers.0.neurons.1.w.0"]
    assert names[-1] == "layers.1.neurons.1.b"
    assert len(set(names)) == len(names)
    for name, p in m.named_parameters():
        assert p.label == name
        assert p.op == "" and p.parents == ()
    assert all(not p.label.endswith(".b") for p in m.weights())
    assert m.layers[1].neurons[1].w[3] is dict(m.named_parameters())["layers.1.neurons.1.w.3"]
    assert names == [n for n, _ in m.named_parameters()]  # stable


def test_standalone_names_and_submodule_names():
    neuron = nn.Neuron(2, rng=0)
    assert [n for n, _ in neuron.named_parameters()] == ["w.0", "w.1", "b"]
    assert [p.label for p in neuron.parameters()] == ["w.0", "w.1", "b"]
    layer = nn.Layer(2, 3, rng=0)
    assert [n for n, _ in layer.named_parameters()][-2:] == ["neurons.2.w.1", "neurons.2.b"]
    assert layer.neurons[2].w[1].label == "neurons.2.w.1"
    # Inside an MLP, a layer's names are relative to it; labels are the model's names.
    m = nn.MLP(2, [3, 1], rng=1)
    assert [n for n, _ in m.layers[1].named_parameters()] == ["neurons.0.w.0", "neurons.0.w.1",
                                                             "neurons.0.w.2", "neurons.0.b"]
    assert m.layers[1].neurons[0].b.label == "layers.1.neurons.0.b"
    assert m.layers[1].prefix == "layers.1." and m.layers[1].neurons[0].prefix == "layers.1.neurons.0."


def test_call_labels_z_and_a():
    m = nn.MLP(2, [2, 1], activation="tanh", rng=0)
    out = m([1.0, -1.0])
    labels = {v.label for v in topological_order(out[0])}
    assert {"layers.0.neurons.0.z", "layers.0.neurons.0.a", "layers.0.neurons.1.z",
            "layers.0.neurons.1.a", "layers.1.neurons.0.z"} <= labels
    assert out[0].label == "layers.1.neurons.0.z"  # linear output: z is the output
    assert "layers.1.neurons.0.a" not in labels
    n = nn.Neuron(2, "sigmoid", rng=0)
    a = n([1.0, 2.0])
    assert a.label == "a" and a.op == "sigmoid" and a.parents[0].label == "z"


def test_z_and_a_labels_follow_a_prefix_set_later():
    n = nn.Neuron(2, "tanh", rng=0)
    n([1.0, 2.0])                      # labels made with the first prefix
    n.prefix = "hidden."
    a = n([1.0, 2.0])
    assert (a.label, a.parents[0].label) == ("hidden.a", "hidden.z")


@pytest.mark.parametrize("activation", nn.ACTIVATIONS)
def test_neuron_forward_formula(activation):
    n = nn.Neuron(3, activation, rng=5)
    x = [0.5, -1.5, 2.0]
    z = sum(w.data * xk for w, xk in zip(n.w, x, strict=True)) + n.b.data
    f = {"relu": lambda v: max(v, 0.0), "tanh": math.tanh, "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
         "linear": lambda v: v, "leaky_relu": lambda v: v if v > 0 else 0.01 * v,
         "elu": lambda v: v if v > 0 else math.expm1(v),
         "gelu": lambda v: v * (1 + math.erf(v / math.sqrt(2))) / 2,
         "softplus": lambda v: math.log1p(math.exp(v)), "sin": math.sin, "abs": abs}[activation]
    assert n(x).data == pytest.approx(f(z), rel=1e-14, abs=1e-15)
    assert n.activation == activation
    assert nn.Neuron(3, activation.upper(), rng=5).activation == activation   # names in any case


def test_input_kinds():
    m = nn.MLP(2, [3, 2], rng=0)
    want = [v.data for v in m([0.25, -0.5])]
    for x in ([0.25, -0.5], (0.25, -0.5), np.array([0.25, -0.5]), [Value(0.25), Value(-0.5)],
              [np.float32(0.25), -0.5], [0.25, Value(-0.5)]):
        out = m(x)
        assert isinstance(out, list) and [v.data for v in out] == want
    one = nn.MLP(1, [1], rng=0)
    assert one(2.0)[0].data == one([2.0])[0].data == one(Value(2.0))[0].data == one(np.float64(2.0))[0].data
    layer = nn.Layer(2, 1, rng=0)
    assert isinstance(layer([1.0, 2.0]), list) and len(layer([1.0, 2.0])) == 1


def test_gradient_flows_to_value_inputs():
    m = nn.MLP(2, [3, 1], activation="tanh", rng=0)
    x = [Value(0.3), Value(-0.2)]
    m(x)[0].backward()
    assert any(v.grad != 0 for v in x)


@pytest.mark.parametrize("x, message", [
    ([1.0, 2.0, 3.0], "expects 2 inputs, got 3"),
    ([1.0], "expects 2 inputs, got 1"),
    (np.zeros(3), "expects 2 inputs, got 3"),
    (np.zeros((2, 2)), "shape"),
    (1.0, "expects 2 inputs, got 1"),
])
def test_wrong_length(x, message):
    with pytest.raises(ValueError, match=message):
        nn.MLP(2, [3, 1], rng=0)(x)


@pytest.mark.parametrize("x", ["ab", None, [1.0, "2"], [1.0, None], {"a": 1}, [True, 1.0], [1.0, 1j]])
def test_bad_input_types(x):
    with pytest.raises(TypeError):
        nn.MLP(2, [3, 1], rng=0)(x)


def test_bad_constructor_arguments():
    for bad in (lambda: nn.MLP(0, [1]), lambda: nn.MLP(2, []), lambda: nn.MLP(2, [3, 0]),
                lambda: nn.MLP(2, 3), lambda: nn.MLP(2, [1.5]), lambda: nn.MLP(True, [1]),
                lambda: nn.Neuron(2, "swish"), lambda: nn.MLP(2, [1], output_activation="exp"),
                lambda: nn.Layer(2, 3, init="normal"), lambda: nn.Neuron(-1)):
        with pytest.raises(ValueError):
            bad()
    for rng in ("seed", 1.5, True, np.random.default_rng(0)):
        with pytest.raises(TypeError, match="rng"):
            nn.MLP(2, [1], rng=rng)


def test_rng_seed_and_random_instance_no_global_state():
    random.seed(123)
    before = random.random()
    random.seed(123)
    a = nn.MLP(2, [4, 1], rng=7).state_dict()
    assert random.random() == before  # the global generator was not touched
    assert nn.MLP(2, [4, 1], rng=7).state_dict() == a
    assert nn.MLP(2, [4, 1], rng=random.Random(7)).state_dict() == a
    assert nn.MLP(2, [4, 1], rng=8).state_dict() != a
    r = random.Random(3)
    first, second = nn.Neuron(2, rng=r), nn.Neuron(2, rng=r)  # one stream, two different draws
    assert first.state_dict() != second.state_dict()


def test_initializers_bounds():
    m = nn.MLP(30, [50, 20], rng=0)
    values = [p.data for p in m.parameters()]
    assert max(map(abs, values)) <= 1.0 and max(map(abs, values)) > 0.9
    e = nn.MLP(30, [50, 20], rng=0, init="epsilon")
    for layer, (n_in, n_out) in zip(e.layers, [(30, 50), (50, 20)], strict=True):
        eps = math.sqrt(6) / math.sqrt(n_in + n_out)
        ws = [p.data for p in layer.parameters()]
        assert max(map(abs, ws)) <= eps and max(map(abs, ws)) > 0.9 * eps
    lone = nn.Neuron(5, init="epsilon", rng=0)
    assert max(abs(p.data) for p in lone.parameters()) <= math.sqrt(6) / math.sqrt(5 + 1)


def test_zero_grad():
    m = nn.MLP(2, [3, 1], activation="tanh", rng=0)
    m([1.0, 2.0])[0].backward()
    assert any(p.grad != 0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad == 0.0 for p in m.parameters())


def test_trace_nodes_are_the_graph_and_match_call():
    m = nn.MLP(2, [3, 2], activation="tanh", output_activation="sigmoid", rng=4)
    t = m.trace([0.5, -1.0])
    assert [len(z) for z in t.z] == [3, 2] and [len(a) for a in t.a] == [3, 2]
    assert t.output is t.a[-1]
    assert [v.data for v in t.output] == [v.data for v in m([0.5, -1.0])]
    loss = nn.squared_error(t.output, [0.0, 1.0])
    nodes = set(topological_order(loss))
    for layer in t.z + t.a:
        assert all(v in nodes for v in layer)
    for zs, acts in zip(t.z, t.a, strict=True):
        for z, a in zip(zs, acts, strict=True):
            assert a.parents == (z,)


def test_trace_delta_by_hand():
    """δ^L = (a^L − t) ⊙ f'(z^L),  δ^l = (W^{l+1})ᵀ δ^{l+1} ⊙ f'(z^l), computed in numpy."""
    m = nn.MLP(2, [2, 2], activation="tanh", output_activation="sigmoid", rng=11)
    x, target = [0.7, -0.3], [1.0, 0.0]
    t = m.trace(x)
    nn.squared_error(t.output, target).backward()

    W = [np.array([[w.data for w in n.w] for n in layer.neurons]) for layer in m.layers]
    b = [np.array([n.b.data for n in layer.neurons]) for layer in m.layers]
    z1 = W[0] @ np.array(x) + b[0]
    a1 = np.tanh(z1)
    z2 = W[1] @ a1 + b[1]
    a2 = 1 / (1 + np.exp(-z2))
    delta2 = (a2 - np.array(target)) * a2 * (1 - a2)
    delta1 = (W[1].T @ delta2) * (1 - a1 ** 2)
    np.testing.assert_allclose([z.grad for z in t.z[1]], delta2, rtol=1e-12)
    np.testing.assert_allclose([z.grad for z in t.z[0]], delta1, rtol=1e-12)
    # ∂E/∂W^l = δ^l (a^{l-1})ᵀ
    np.testing.assert_allclose([[w.grad for w in n.w] for n in m.layers[1].neurons],
                               np.outer(delta2, a1), rtol=1e-12)
    np.testing.assert_allclose([n.b.grad for n in m.layers[0].neurons], delta1, rtol=1e-12)


def test_repr():
    assert repr(nn.MLP(2, [3, 1], rng=0)) == "MLP(2, [3, 1], activation='relu', output_activation='linear')"
    assert "Neuron(2" in repr(nn.Neuron(2, rng=0)) and "Layer(2, 3" in repr(nn.Layer(2, 3, rng=0))


def test_activation_names_are_read_in_any_case_and_other_choices_exactly():
    assert nn.Neuron(2, "ReLU", rng=0).activation == "relu"
    mlp = nn.MLP(2, [2, 1], activation="TANH", output_activation="Linear", rng=0)
    assert (mlp.activation, mlp.output_activation) == ("tanh", "linear")
    with pytest.raises(ValueError, match="unknown init 'Uniform'"):
        nn.Neuron(2, init="Uniform")
