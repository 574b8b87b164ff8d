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


def two_calls():
    """The tester's smaller case: MLP(2, [3, 2]) tanh called on two lists of floats, a squared error each."""
    model = nn.MLP(2, [3, 2], activation="tanh", rng=0)
    o1, o2 = model([0.5, -1.0]), model([2.0, 0.3])
    loss = nn.squared_error(o1, [1.0, 0.0]) + nn.squared_error(o2, [0.0, 1.0])
    loss.label = "L"
    loss.backward()
    return loss, o1, o2


def _text(label: str) -> str:
    import re
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", label)).strip()


def test_a_collapsed_neuron_of_two_calls_shows_each_calls_numbers_never_one_calls_as_the_neurons():
    """A fresh tester (qa14i): the box of layer 2 · neuron 1 showed call 1's z and δ, and the loss table's
    row read call 2's z of that neuron under another name ('z of L2·n1' and 'L2·n1'), so a slide set one
    example's δ beside another's z; the two calls' inputs were two boxes both titled x.0."""
    from autodiff.steps import node_names
    loss, o1, o2 = two_calls()
    order = topological_order(loss)
    names = node_names(order)
    source = draw(loss, collapse="neuron").source
    box = next(_text(line) for line in source.splitlines() if "layer 2 · neuron 1" in line)
    assert "computed 2 times" in box
    for call, z in ((1, o1[0]), (2, o2[0])):   # the output layer is linear: its z is the output
        assert f"call {call}: z = {z.data:.4g} δ {z.grad:.4g}" in box
    for x in (v for v in order if v.label == "x.0"):   # each call's inputs, named as the steppers name them
        assert names[x].startswith("x.0@v") and f"<B>{names[x]}</B>" in source

    slide = draw(loss, collapse="neuron", preset="slide").source
    rooms = [_text(line) for line in slide.splitlines() if "computed 2 times" in line]
    assert len(rooms) == 5 and all("δ" not in room for room in rooms)   # 3 + 2 neurons, no one call's δ
    table = _text(next(line for line in slide.splitlines() if "= v38**2" in line or "(call 2)" in line))
    assert "L2·n1 (call 1) + -1" in table and "L2·n1 (call 2) + 0" in table
    assert "z of L2·n1" not in table
