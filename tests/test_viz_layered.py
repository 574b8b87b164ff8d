"""viz.layered's drawing carries viz.draw's roles, colours and legend (issue 14): a box's fill is its
role's, constants are dashed, and the legend names exactly the roles drawn; it needs no style sheet.
The boxes are HTML styled by the drawing's own <style>: their fill and border are read as a real
Chromium shows the drawing alone (no stepper page around it)."""

from __future__ import annotations

import re

import pytest

import nn
from autodiff import Value, topological_order
from tests.conftest import layered_boxes, layered_tiles
from viz.draw import roles
from viz.layered import layered_svg
from viz.style import ROLE_STYLE


def drawn(root):
    order = topological_order(root)
    names = [n.label or f"v{i}" for i, n in enumerate(order)]
    ops = [n.primitive.symbol if n.primitive else "" for n in order]
    role = roles(root)
    return order, layered_svg(order, names, ops, [role[n] for n in order])


def shown(browser, svg: str):
    """A page holding the drawing alone, as a notebook cell would show it."""
    page = browser.new_page()
    page.set_content(f"<!doctype html><meta charset=utf-8><body>{svg}</body>")
    return page


def rgb(colour: str) -> str:
    """"#fde2b8" -> "rgb(253, 226, 184)", as getComputedStyle writes it."""
    return "rgb({}, {}, {})".format(*(int(colour[k:k + 2], 16) for k in (1, 3, 5)))


def box_fill(page, i: int) -> tuple[str, bool]:
    """Box n{i}'s fill as shown (rgb(...)) and whether its border is dashed."""
    return tuple(page.eval_on_selector(f"#n{i} > .dg-box", """(b) => {
      const s = getComputedStyle(b);
      return [s.backgroundColor, s.borderTopStyle === 'dashed'];
    }"""))


def test_boxes_take_the_colour_of_their_role(browser):
    model = nn.MLP(2, [3, 1], rng=0)
    loss = nn.squared_error(model([Value(0.5, "x.0"), Value(-1.0, "x.1")]), [1.0])
    order, svg = drawn(loss)
    role = roles(loss)
    seen = set()
    page = shown(browser, svg)
    for i, n in enumerate(order):
        fill, dashed = box_fill(page, i)
        assert fill == rgb(ROLE_STYLE[role[n]][0]), (i, n.label, role[n])
        assert dashed == bool(ROLE_STYLE[role[n]][1])
        seen.add(role[n])
    page.close()
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
    assert "dg-legend" not in plain and sorted(layered_boxes(plain)) == [0, 1]


def test_roles_given_are_used_and_bad_ones_refused(browser):
    x = Value(2.0, "x")
    y = x + 1
    order = topological_order(y)
    svg = layered_svg(order, ["x", "c", "y"], ["", "", "+"], roles=["parameter", "constant", "output"])
    page = shown(browser, svg)
    assert box_fill(page, 0)[0] == rgb(ROLE_STYLE["parameter"][0])
    page.close()
    with pytest.raises(ValueError, match="unknown role 'weight'"):
        layered_svg(order, ["x", "c", "y"], ["", "", "+"], roles=["weight", "constant", "output"])
    with pytest.raises(ValueError, match="names has 2 entries for 3 nodes"):
        layered_svg(order, ["x", "y"], ["", "", "+"])


def test_the_drawing_needs_no_style_sheet(browser):
    """A notebook shows LayeredDiagram without the stepper's CSS: tiles are placed, boxes filled and
    edges stroked by the drawing's own markup (the edges' SVG attributes, the boxes' <style>), as
    Chromium shows the drawing alone: each tile of boxes where its style puts it, each box where the
    markup puts its halo, 50 px tall, filled by its role."""
    root = Value(1.0, "a") * Value(2.0, "b") + 3
    order, svg = drawn(root)
    assert re.search(r'class="dg-tile dg-edges"[^>]*fill="none" stroke="#999"', svg)
    assert 'style="position:relative;' in svg
    page = shown(browser, svg)
    placed = page.evaluate("""() => {
      const d = document.querySelector('.dg-layered').getBoundingClientRect();
      const at = (e) => {
        const r = e.getBoundingClientRect();
        return [r.left - d.left, r.top - d.top, r.width, r.height];
      };
      return {tiles: [...document.querySelectorAll('.dg-tile')].map((t) => [t.classList.contains('dg-boxes'),
                getComputedStyle(t).position]),
              boxes: [...document.querySelectorAll('.dg-boxes')].map(at),
              halos: Object.fromEntries([...document.querySelectorAll('.dg-boxes .node')]
                .map((n) => [n.id, at(n)]))};
    }""")
    assert {p for _, p in placed["tiles"]} == {"absolute"} and sum(b for b, _ in placed["tiles"]) >= 1
    assert placed["boxes"] == [[x, y, w, h] for x, y, w, h in layered_tiles(svg)]
    assert placed["halos"] == {f"n{i}": [x, y, w, 50] for i, (x, y, w) in layered_boxes(svg).items()}
    role = roles(root)
    assert [box_fill(page, i)[0] for i in range(len(order))] == [rgb(ROLE_STYLE[role[n]][0]) for n in order]
    page.close()


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


def test_a_notebook_s_layered_drawing_shows_each_value_s_data_and_grad(browser):
    """viz.show of a graph too big for graphviz (a LayeredDiagram) writes each value's data and grad
    under its box, as viz.draw's boxes show them: "—" before a backward pass reaches it, never 0
    (tester qa14m: every box showed its name alone)."""
    import math

    import viz
    from viz.draw import LayeredDiagram

    xs = [Value(0.01 * i, f"x{i}") for i in range(200)]
    total = sum((x * 0.5).tanh() for x in xs)
    shown_ = viz.show(total)
    assert isinstance(shown_, LayeredDiagram)

    def line(diagram, label):
        m = re.search(rf'<div class="dg-box">{label}</div><div class="dg-num" id="dg-num-\d+">([^<]*)</div>',
                      diagram._repr_html_())
        return m.group(1)

    assert line(shown_, "x7") == "data 0.07 · grad —"
    total.backward()
    want = 0.5 * (1 - math.tanh(0.035) ** 2)
    assert line(viz.show(total), "x7") == f"data 0.07 · grad {want:.4g}"
    page = shown(browser, viz.show(total)._repr_html_())  # and in a page: on one line, under its box
    box, num = page.evaluate("""() => { const n = [...document.querySelectorAll('.node')]
        .find((e) => e.firstChild.textContent === 'x7');
      const r = (e) => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
      return [r(n.firstChild), r(n.lastChild)]; }""")
    assert num[1] >= box[3] - 1 and num[3] - num[1] < 16  # below the box, one line
    assert abs((num[0] + num[2]) / 2 - (box[0] + box[2]) / 2) < 1  # centred under it
    page.close()
