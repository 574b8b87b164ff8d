"""A layer-level step lists its neurons in index order, as the drawing has them (issue 14): its text and
predict mode's questions, forward and backward, with each neuron's numbers unchanged (its δ is
autodiff's gradient of its z)."""

from __future__ import annotations

import re

import pytest

import nn
from autodiff import grad
from autodiff.steps import fmt
from tests.test_step_html_levels import page_groups
from tests.test_step_view_browser import readme_loss


def batched_readme_loss():
    """The README's batched loss over the 100 moons points (fused network, hinge plus `nn.l2`)."""
    from autodiff.batched import batch, batch_columns
    from nn.data import make_moons

    X, y = make_moons(100, noise=0.1, rng=1)
    model = nn.MLP(2, [16, 16, 1], rng=1, fused=True)
    return nn.mean(nn.hinge(model(batch_columns(X)), [batch(2 * y - 1)])) + nn.l2(model.weights(), 1e-4)


def neuron_numbers(text: str) -> list[int]:
    return [int(k) for k in re.findall(r"^  neuron (\d+): ", text, re.M)]


@pytest.mark.parametrize("graph", ["eager", "batched"])
def test_a_layer_step_lists_its_neurons_in_index_order(graph):
    """Tester qa14f item 6: on the batched README page at the layer level (example 5) the layer-2
    backward step's text ran "neuron 16: …, neuron 15: …, …, neuron 1", the backward pass's order, and
    predict mode asked for "δ of layer 2 · neuron 16" first."""
    from viz.step_html import HtmlStepper

    if graph == "eager":
        loss = readme_loss(False)
        page = HtmlStepper(loss, level="layer", predict=True)
    else:
        loss = batched_readme_loss()
        page = HtmlStepper(loss, level="layer", predict=True, example=5)
    layers = [g for g in page_groups(page) if g["level"] == "layer" and not g["loss"]]
    assert {(g["title"], g["phase"]) for g in layers} == {(f"layer {k}", p) for k in (1, 2, 3)
                                                         for p in ("forward", "backward")}
    for g in layers:
        size = 1 if g["title"] == "layer 3" else 16
        assert neuron_numbers(g["text"]) == list(range(1, size + 1)), (g["title"], g["phase"])
        if g["phase"] == "backward":
            assert neuron_numbers(g["hint"]) == list(range(1, size + 1)), g["title"]
            deltas = [a for a in g["asks"] if a["label"].startswith("δ of ")]
            layer = g["title"].removeprefix("layer ")
            assert [a["label"] for a in deltas] == [f"δ of layer {layer} · neuron {j}"
                                                    for j in range(1, size + 1)]
            if graph == "eager":  # each neuron's δ is its own: on its line and in its question
                z = {n.label: n for n in page.walkthrough.order if n.label}
                want = grad(loss, [z[f"layers.{int(layer) - 1}.neurons.{j}.z"] for j in range(size)])
                assert [a["value"] for a in deltas] == pytest.approx(want, abs=1e-12)
                lines = [ln for ln in g["text"].splitlines() if "δ = ∂L/∂z" in ln]
                assert [ln.rsplit("= ", 1)[1] for ln in lines] == [fmt(d) for d in want]
