"""A network's drawing when the model is called on several examples (the README's `[model(x) for x in
X]`), with the real `dot`: collapsed, each neuron's box stands for every call, and the loss of an earlier
call reads a box whose id comes from the last call; drawn for a slide, the calls' losses are one table."""

from __future__ import annotations

import pytest
from conftest import require_dot

import nn
from autodiff import topological_order
from nn.data import make_moons
from viz.draw import GraphTooLarge, draw, render, render_svg


def loss_of(points: int):
    """The README's MLP(2, [16, 16, 1]) on ``points`` moons points, mean hinge plus L2."""
    X, y = make_moons(points, noise=0.1, rng=1)
    model = nn.MLP(2, [16, 16, 1], rng=1)
    losses = [nn.hinge(model(list(x))[0], 2 * float(t) - 1) for x, t in zip(X, y, strict=True)]
    loss = sum(losses[1:], losses[0]) * (1.0 / points) + nn.l2(model.weights(), 1e-4)
    loss.backward()
    return loss


def test_a_collapsed_network_called_on_four_points_is_drawn():
    """It raised AssertionError("a box placed before its parent"): the boxes were placed in id order,
    and the first call's hinge (an earlier id) reads the output neuron's box (the last call's id)."""
    require_dot()
    loss = loss_of(4)
    svg = render_svg(draw(loss, collapse="neuron", max_nodes=1000))
    order = topological_order(loss)
    outputs = [i for i, v in enumerate(order) if v.label == "layers.2.neurons.0.z"]
    assert len(outputs) == 4 and f'id="n{outputs[-1]}"' in svg          # one box for the four calls
    assert all(f'id="n{i}"' not in svg for i in outputs[:-1])


def test_a_slide_of_four_points_reads_from_a_room_and_of_a_hundred_is_refused(tmp_path):
    """Folded, the four calls' losses are one table (4 × 5 rows and the mean and L2's): type 14 px or
    more. A hundred points make a table of 740 rows, above max_nodes: refused, as it was before."""
    require_dot()
    from viz.draw import _preset_drawing
    from viz.presets import type_pixels
    loss = loss_of(4)
    _, svg = _preset_drawing(loss, "slide", {})
    assert type_pixels(svg, "slide") >= 14
    with pytest.raises(GraphTooLarge, match="above max_nodes=300"):
        render(loss_of(100), tmp_path / "many.png", preset="slide")
    assert not (tmp_path / "many.png").exists()
