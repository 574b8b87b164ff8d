# ruff: noqa: E741  (l is the layer index, as in the documents)
"""The closed forms checked without the engine: central differences of each document's own numpy loss
(so the closed form and the engine cannot share a mistake), document 002's gradApprox and ε_init, and
the layout conversions between each document and an MLP."""

import math

import numpy as np
import pytest

import nn
from autodiff import numerical_grad
from nn.closed_form import (
    DOCUMENTS,
    LogisticNet,
    SoftmaxCrossEntropyNet,
    TwoLayerSigmoidNet,
    epsilon_init,
    grad_approx,
    mlp_from_layers,
    mlp_layers,
    set_mlp_layers,
)
from nn.comparison import random_case

NETWORKS = [("000", 3, [4, 3], {"lam": 0.3}), ("000", 2, [3, 3, 2], {"lam": 0.1, "regularize_bias": True}),
            ("001", 2, [3, 2, 1], {"output": "linear"}), ("001", 3, [2, 2], {}),
            ("002", 3, [3, 2], {"lam": 0.7}), ("002", 2, [3, 3, 1], {}),
            ("003", 2, [3, 2], {}), ("003", 3, [2, 3, 2], {}), ("004", 2, [3, 2], {})]


def _flat(layers):
    return np.concatenate([np.concatenate([W.ravel(), b]) for W, b in layers])


def _unflat(v, like):
    out, i = [], 0
    for W, b in like:
        out.append((v[i:i + W.size].reshape(W.shape), v[i + W.size:i + W.size + b.size]))
        i += W.size + b.size
    return out


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("m", [1, 4])
@pytest.mark.parametrize("doc, nin, nouts, options", NETWORKS)
def test_closed_form_gradient_matches_central_differences(doc, nin, nouts, options, m, seed):
    opts = dict(options)
    output = opts.pop("output", None)
    model, X, Y = random_case(doc, nin, nouts, m, seed, output=output, margin=1e-2, **opts)
    closed = DOCUMENTS[doc].from_mlp(model, **opts)
    layers = closed.layers()

    def loss(*values):  # the document's numpy loss only: no engine, no closed-form backward
        v = np.array([x.data for x in values])
        return type(closed).from_layers(_unflat(v, layers), output=closed.output, **opts).loss(X, Y)

    numeric = np.array(numerical_grad(loss, list(_flat(layers)), eps=1e-6))
    analytic = _flat(closed.backprop(X, Y).grad_layers)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("doc", sorted(DOCUMENTS))
def test_delta_is_the_derivative_of_one_examples_loss_by_its_z(doc):
    """δ_j = ∂L/∂z_j checked by nudging z_j through its bias, one example at a time (∂z_j/∂b_j = 1)."""
    model, X, Y = random_case(doc, 2, [3, 2], 3, 5, margin=1e-2)
    closed = DOCUMENTS[doc].from_mlp(model)
    bp = closed.backprop(X, Y)
    eps = 1e-6
    for d in range(3):
        for l, (_, b) in enumerate(closed.layers()):
            for j in range(len(b)):
                shifted = []
                for h in (eps, -eps):
                    layers = [(W2.copy(), b2.copy()) for W2, b2 in closed.layers()]
                    layers[l][1][j] += h
                    shifted.append(type(closed).from_layers(layers).loss(X[d:d + 1], Y[d:d + 1]))
                assert bp.delta[l][d, j] == pytest.approx((shifted[0] - shifted[1]) / (2 * eps),
                                                          rel=1e-6, abs=1e-9)


def test_document_002s_grad_approx_agrees_with_D():
    model, X, Y = random_case("002", 3, [4, 2], 5, 2)
    net = LogisticNet.from_mlp(model, lam=0.4)
    D = net.backprop(X, Y).grads
    for l in range(2):
        def J(theta, l=l):
            params = list(net.params)
            params[l] = theta
            return LogisticNet(params, lam=0.4).loss(X, Y)
        np.testing.assert_allclose(grad_approx(J, net.params[l]), D[l], rtol=1e-6, atol=1e-9)
    # the checker can fail: D with the bias column regularized too is caught
    wrong = D[0] + 0.4 / 5 * net.params[0] * (np.arange(D[0].shape[1]) == 0)
    assert not np.allclose(grad_approx(lambda t: LogisticNet([t, net.params[1]], lam=0.4).loss(X, Y),
                                       net.params[0]), wrong, rtol=1e-6, atol=1e-9)


def test_epsilon_init_is_documents_rule_and_the_engines():
    assert epsilon_init(3, 5) == pytest.approx(math.sqrt(6 / 8))
    gen = np.random.default_rng(0)
    theta = LogisticNet.random_theta(10, 4, gen)
    assert theta.shape == (4, 11) and np.abs(theta).max() <= epsilon_init(10, 4)
    assert np.abs(theta).max() > 0.8 * epsilon_init(10, 4)
    model = nn.MLP(10, [4, 3], "sigmoid", "sigmoid", rng=0, init="epsilon")
    (W1, b1), (W2, b2) = mlp_layers(model)
    assert np.abs(np.column_stack([b1, W1])).max() <= epsilon_init(10, 4)
    assert np.abs(np.column_stack([b2, W2])).max() <= epsilon_init(4, 3)


# ---- layouts -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("doc", sorted(DOCUMENTS))
def test_layouts_convert_both_ways(doc):
    cls = DOCUMENTS[doc]
    model = nn.MLP(2, [3, 2], cls.hidden, cls.output_choices[0], rng=4)
    net = cls.from_mlp(model)
    back = net.to_mlp()
    assert back.state_dict() == model.state_dict()
    again = cls.from_layers(net.layers())
    for a, b in zip(again.layers(), net.layers(), strict=True):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    other = nn.MLP(2, [3, 2], cls.hidden, cls.output_choices[0], rng=5)
    net.to_mlp(other)                                    # in place
    assert other.state_dict() == model.state_dict()


def test_each_layout_puts_the_parameters_where_the_document_does():
    model = nn.MLP(2, [3, 2], "sigmoid", "sigmoid", rng=1)
    p = model.layers[0].neurons[2]                      # hidden neuron 3, inputs 1 and 2
    w = DOCUMENTS["004"].from_mlp(model).params[0]      # x w: w_ij input i → hidden j
    assert w[1, 2] == p.w[1].data and w.shape == (2, 3)
    T = DOCUMENTS["002"].from_mlp(model).params[0]      # Θ_ij: unit i of the next layer, column 0 bias
    assert T[2, 0] == p.b.data and T[2, 2] == p.w[1].data and T.shape == (3, 3)
    w1 = DOCUMENTS["001"].from_mlp(model).params[0]     # w_ij from i (0 = bias) to j
    assert w1[0, 2] == p.b.data and w1[2, 2] == p.w[1].data and w1.shape == (3, 3)
    w3, b3 = DOCUMENTS["003"].from_mlp(model).params[0]  # w_jk to j from k
    assert w3[2, 1] == p.w[1].data and b3[2] == p.b.data
    relu = nn.MLP(2, [3, 2], "relu", "linear", rng=1)
    q = relu.layers[0].neurons[2]
    Wt = SoftmaxCrossEntropyNet.from_mlp(relu).params[0]  # W̃ = [b W]
    assert Wt[2, 0] == q.b.data and Wt[2, 2] == q.w[1].data


def test_layout_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="derives networks of 2 layers of weights, got 3"):
        TwoLayerSigmoidNet.from_mlp(nn.MLP(2, [3, 3, 2], "sigmoid", "sigmoid", rng=0))
    with pytest.raises(ValueError, match="output activation 'linear' is not one it uses"):
        TwoLayerSigmoidNet.from_mlp(nn.MLP(2, [3, 2], "sigmoid", "linear", rng=0))
    with pytest.raises(ValueError, match="widths must chain"):
        LogisticNet([np.zeros((3, 3)), np.zeros((2, 5))])
    with pytest.raises(ValueError, match="needs weight shapes"):
        set_mlp_layers(nn.MLP(2, [3, 2], rng=0),
                       [(np.zeros((3, 3)), np.zeros(3)), (np.zeros((2, 3)), np.zeros(2))])
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        LogisticNet.from_mlp(nn.MLP(2, [1], "sigmoid", "sigmoid", rng=0), lam=-1)
    net = TwoLayerSigmoidNet.from_mlp(nn.MLP(2, [3, 2], "sigmoid", "sigmoid", rng=0))
    with pytest.raises(ValueError, match="Y must have shape"):
        net.loss([[1, 2]], [[1, 2, 3]])
    with pytest.raises(ValueError, match="NaN"):
        net.loss([[1, np.nan]], [[1, 2]])
    model = mlp_from_layers([(np.ones((2, 3)), np.zeros(2))], "sigmoid", "sigmoid")
    assert model.nin == 3 and model.nouts == [2] and model.layers[0].neurons[1].w[2].data == 1.0
