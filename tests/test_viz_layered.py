"""viz.layered's drawing carries viz.draw's roles, colours and legend (issue 14): a box's fill is its
role's, constants are dashed, and the legend names exactly the roles drawn; it needs no style sheet."""

from __future__ import annotations

import re

import pytest

import nn
from autodiff import Value, topological_order
from viz.draw import roles
from viz.layered import layered_svg
from viz.style import ROLE_STYLE


def drawn(root):
    order = topological_order(root)
    names = [n.label or f"v{i}" for i, n in enumerate(order)]
    ops = [n.primitive.symbol if n.primitive else "" for n in order]
    role = roles(root)
    return order, layered_svg(order, names, ops, [role[n] for n in order])


def box_fill(svg: str, i: int) -> tuple[str, bool]:
    g = re.search(rf'<g id="n{i}"[^>]*>(.*?)</g>', svg).group(1)
    rect = re.search(r'<rect class="dg-box"[^>]*>', g).group(0)
    return re.search(r'fill="([^"]+)"', rect).group(1), "stroke-dasharray" in rect


def test_boxes_take_the_colour_of_their_role():
    model = nn.MLP(2, [3, 1], rng=0)
    loss = nn.squared_error(model([Value(0.5, "x.0"), Value(-1.0, "x.1")]), [1.0])
    order, svg = drawn(loss)
    role = roles(loss)
    seen = set()
    for i, n in enumerate(order):
        fill, dashed = box_fill(svg, i)
        assert fill == ROLE_STYLE[role[n]][0], (i, n.label, role[n])
        assert dashed == bool(ROLE_STYLE[role[n]][1])
        seen.add(role[n])
    assert {"parameter", "input", "constant", "output", "interior"} <= seen   # every kind was checked
    legend = re.search(r'<svg[^>]*class="dg-legend".*?</svg>', svg).group(0)
    for r in ROLE_STYLE:
        assert (ROLE_STYLE[r][2] in legend) == (r in seen), r
    assert "operation (+, ×, tanh, …)" in legend


def test_legend_lists_only_the_roles_drawn_and_can_be_left_out():
    x = Value(2.0, "x")
    y = x * x
    order, svg = drawn(y)
    legend = re.search(r'class="dg-legend".*?</svg>', svg).group(0)
    assert "input" in legend and "output" in legend and "parameter" not in legend
    assert "constant" not in legend
    plain = layered_svg(order, ["x", "y"], ["", "×"], legend=False)
    assert "dg-legend" not in plain and plain.count('<g id="n') == 2


def test_roles_given_are_used_and_bad_ones_refused():
    x = Value(2.0, "x")
    y = x + 1
    order = topological_order(y)
    svg = layered_svg(order, ["x", "c", "y"], ["", "", "+"], roles=["parameter", "constant", "output"])
    assert box_fill(svg, 0)[0] == ROLE_STYLE["parameter"][0]
    with pytest.raises(ValueError, match="unknown role 'weight'"):
        layered_svg(order, ["x", "c", "y"], ["", "", "+"], roles=["weight", "constant", "output"])
    with pytest.raises(ValueError, match="names has 2 entries for 3 nodes"):
        layered_svg(order, ["x", "y"], ["", "", "+"])


def test_the_drawing_needs_no_style_sheet():
    """A notebook shows LayeredDiagram without the stepper's CSS: tiles are placed, boxes filled and
    edges stroked by the SVG's own attributes."""
    order, svg = drawn(Value(1.0, "a") * Value(2.0, "b") + 3)
    for tile in re.findall(r'<svg[^>]*class="dg-tile[^"]*"[^>]*>', svg):
        assert "position:absolute" in tile and "left:" in tile
    assert re.search(r'class="dg-tile dg-edges"[^>]*fill="none" stroke="#999"', svg)
    assert 'style="position:relative;' in svg


def test_default_roles_and_ops_are_viz_draws():
    """Code review: without roles=, a tutorial neuron's w and b and nn's weights were drawn as inputs; the
    default is now viz.draw.roles of the root, and ops default to each node's op symbol."""
    model = nn.MLP(2, [3, 1], rng=0)
    loss = nn.squared_error(model([Value(0.5, "x.0"), Value(-1.0, "x.1")]), [1.0])
    w, b = Value(-3.0, "w1"), Value(6.88, "b")
    for root in (loss, (w * Value(2.0, "x1") + b).tanh()):
        order = topological_order(root)
        names = [n.label or f"v{i}" for i, n in enumerate(order)]
        assert layered_svg(order, names) == drawn(root)[1]
    order = topological_order(loss)
    with pytest.raises(ValueError, match="node 0 of order is not in the graph of its last node"):
        layered_svg([Value(1.0, "stray"), *order], ["s"] + [f"v{i}" for i in range(len(order))])
