"""PyTorch (float64) as a second opinion on MLP parameter gradients: every activation and every loss,
each averaged over a few examples, agreeing to 1e-12 relative."""

from __future__ import annotations

import random

import pytest

import nn
from tests.conftest import require_torch

ACTS = ["relu", "tanh", "sigmoid", "linear"]


def close(a: float, b: float, rel: float = 1e-12) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300) or abs(a - b) <= 1e-14


def torch_mlp(torch, model):
    """The same network as tensors: one (W, b) pair per layer, copied from our parameters."""
    layers = []
    for layer in model.layers:
        W = torch.tensor([[w.data for w in n.w] for n in layer.neurons], requires_grad=True)
        b = torch.tensor([n.b.data for n in layer.neurons], requires_grad=True)
        layers.append((W, b, layer.activation))
    return layers


def torch_forward(torch, layers, x):
    h = torch.tensor(x)
    for W, b, act in layers:
        z = W @ h + b
        h = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
             "linear": lambda t: t}[act](z)
    return h


def torch_grads(layers, model):
    """Our parameter order: for each neuron its w then b."""
    out = []
    for W, b, _ in layers:
        for j in range(W.shape[0]):
            out.extend(W.grad[j].tolist())
            out.append(b.grad[j].item())
    assert len(out) == len(model.parameters())
    return out


def case(loss_name, rng):
    """Inputs and targets for one loss, with the output activation it needs."""
    k = 3
    xs = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(4)]
    if loss_name == "squared_error":
        return "linear", xs, [[rng.uniform(-1, 1) for _ in range(k)] for _ in xs]
    if loss_name == "cross_entropy":
        return "linear", xs, [rng.randrange(k) for _ in xs]
    if loss_name == "cross_entropy_onehot":
        classes = [rng.randrange(k) for _ in xs]
        return "linear", xs, [[float(i == c) for i in range(k)] for c in classes]
    if loss_name == "binary_cross_entropy":
        return "sigmoid", xs, [[rng.choice([0.0, 1.0, 0.25]) for _ in range(k)] for _ in xs]
    if loss_name in ("hinge", "l2"):
        return "linear", xs, [[rng.choice([-1.0, 1.0]) for _ in range(k)] for _ in xs]
    raise AssertionError(loss_name)


LAM = 0.03


def ours(loss_name, model, xs, targets):
    per = {"squared_error": nn.squared_error, "cross_entropy": nn.cross_entropy,
           "cross_entropy_onehot": nn.cross_entropy, "binary_cross_entropy": nn.binary_cross_entropy,
           "hinge": nn.hinge, "l2": nn.hinge}[loss_name]
    loss = nn.mean([per(model(x), t) for x, t in zip(xs, targets, strict=True)])
    if loss_name == "l2":
        loss = loss + nn.l2(model.weights(), LAM)
    return loss


def theirs(torch, loss_name, layers, xs, targets):
    losses = []
    for x, t in zip(xs, targets, strict=True):
        out = torch_forward(torch, layers, x)
        if loss_name == "squared_error":
            losses.append(0.5 * ((out - torch.tensor(t)) ** 2).sum())
        elif loss_name == "cross_entropy":
            losses.append(-torch.log_softmax(out, 0)[t])
        elif loss_name == "cross_entropy_onehot":
            losses.append(-(torch.tensor(t) * torch.log_softmax(out, 0)).sum())
        elif loss_name == "binary_cross_entropy":
            tt = torch.tensor(t)
            losses.append(-(tt * torch.log(out) + (1 - tt) * torch.log(1 - out)).sum())
        else:
            losses.append(torch.relu(1 - torch.tensor(t) * out).sum())
    loss = torch.stack(losses).mean()
    if loss_name == "l2":
        loss = loss + LAM / 2 * sum((W ** 2).sum() for W, _, _ in layers)
    return loss


@pytest.mark.parametrize("loss_name", ["squared_error", "cross_entropy", "cross_entropy_onehot",
                                       "binary_cross_entropy", "hinge", "l2"])
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mlp_gradients_agree_with_pytorch(activation, loss_name, seed):
    torch = require_torch()
    rng = random.Random(1000 * seed + 17)
    output_activation, xs, targets = case(loss_name, rng)
    model = nn.MLP(3, [5, 4, 3], activation, output_activation, rng=seed)
    layers = torch_mlp(torch, model)

    loss = ours(loss_name, model, xs, targets)
    loss.backward()
    ref = theirs(torch, loss_name, layers, xs, targets)
    ref.backward()

    assert close(loss.data, ref.item()), (loss.data, ref.item())
    mine = [p.grad for p in model.parameters()]
    expected = torch_grads(layers, model)
    bad = [(name, a, b) for (name, _), a, b in zip(model.named_parameters(), mine, expected, strict=True)
           if not close(a, b)]
    assert not bad, bad[:5]
    assert any(g != 0 for g in mine)


def test_the_comparison_can_fail():
    assert not close(1.0, 1.0 + 1e-10) and close(1.0, 1.0 + 1e-14)
