"""A layer's neurons are stepped in index order at the neuron level whatever the loss (tester qa14j item 2:
with `nn.cross_entropy` the forward pass went layer 2 · neuron 2 before neuron 1, as the engine's
topological order had them): forward 1..n in every layer; backward each neuron once, n..1 where the
engine's order of adding to a shared gradient allows it; and the coarse steps still the sums of the fine
ones (the page's numbers are the engine's)."""

from __future__ import annotations

import pytest

import nn
from autodiff import grad
from tests.test_step_html_levels import page_groups
from viz.step_html import HtmlStepper


def _custom(o):
    return (o[0] * o[1] + o[-1].exp()).log()


LOSSES = {
    "squared_error": lambda o: nn.squared_error(o, [0.0] * (len(o) - 1) + [1.0]),
    "cross_entropy": lambda o: nn.cross_entropy(o, 1),
    "cross_entropy_last": lambda o: nn.cross_entropy(o, len(o) - 1),
    "binary_cross_entropy": lambda o: nn.binary_cross_entropy([x.sigmoid() for x in o],
                                                              [1.0] + [0.0] * (len(o) - 1)),
    "hinge": lambda o: nn.hinge(o, [1.0] + [-1.0] * (len(o) - 1)),
    "softmax": lambda o: nn.squared_error(nn.softmax(o), [0.0] * (len(o) - 1) + [1.0]),
    "custom": _custom,
}


def _titles(page, phase):
    return [g["title"] for g in page_groups(page) if g["phase"] == phase and g["level"] == "neuron"
            and not g["loss"]]


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("sizes", [[3, 2], [4, 3, 3]])
@pytest.mark.parametrize("loss", LOSSES)
def test_forward_neurons_go_in_index_order_in_every_layer(loss, sizes, fused):
    model = nn.MLP(2, sizes, activation="sigmoid", output_activation="linear", rng=3, fused=fused)
    root = LOSSES[loss](model([0.7, -0.2]))
    page = HtmlStepper(root, level="neuron")
    want = [f"layer {k + 1} · neuron {j + 1}" for k, n in enumerate(sizes) for j in range(n)]
    assert _titles(page, "forward") == want
    backward = _titles(page, "backward")
    assert sorted(backward) == sorted(want)  # each neuron one step, its steps together
    layers = [int(t.split()[1]) for t in backward]
    assert layers == sorted(layers, reverse=True)
    # the page's numbers are still the engine's: each neuron's δ is autodiff's gradient of its z
    z = {n.label: n for n in page.walkthrough.order if n.label and n.label.endswith(".z")}
    for g in page_groups(page):
        if g["level"] == "neuron" and g["phase"] == "backward" and not g["loss"]:
            (ask,) = [a for a in g["asks"] if a["label"].startswith("δ of ")]
            assert ask["value"] == grad(root, [z[ask["name"]]])[0]


def test_the_testers_cross_entropy_net_steps_layer_2_neuron_1_first():
    model = nn.MLP(2, [3, 2], activation="sigmoid", output_activation="linear", rng=3)
    page = HtmlStepper(nn.cross_entropy(model([0.7, -0.2]), 1), level="neuron")
    assert _titles(page, "forward")[3:] == ["layer 2 · neuron 1", "layer 2 · neuron 2"]
    ops = [s.node.label for s in page.walkthrough.forward if s.node.label]  # the op level follows it
    first = [label for label in ops if label.startswith("layers.1.")][0]
    assert first.startswith("layers.1.neurons.0.")
