"""viz.layered on a long chain (issue 14): the 5,001-node graph (1,000 terms tanh(x_i · 0.5) added one at a
time) was a drawing 158,452 px wide and 92,066 px tall, its 1,000 inputs in one column, each term's tanh
thousands of columns from its product, and its tiles of edges as tall as the drawing. Each term now sits
beside the sum it feeds, and the columns are cut into lines one under the other, about as wide as tall."""

from __future__ import annotations

import re

from autodiff import topological_order
from tests.conftest import layered_boxes
from tests.test_step_view_browser import thousand_tanh_terms


def drawn(root):
    from viz.layered import layered_svg

    order = topological_order(root)
    svg = layered_svg(order, [n.label or f"v{i}" for i, n in enumerate(order)])
    box = layered_boxes(svg)
    assert len(box) == len(order)
    return order, svg, box


def test_a_long_sum_is_cut_into_lines_about_as_wide_as_tall():
    """The drawing is at most 10,000 px each way and at most twice as wide as tall or tall as wide, in
    several lines of about the same width; no tile of edges is taller than two tiles of boxes (they were
    as tall as the drawing: the edges are all short, but for those on to the next line)."""
    from viz.layered import _BAND, _ROW

    _, svg, box = drawn(thousand_tanh_terms())
    w, h = map(int, re.search(r'class="dg-layered" style="position:relative;width:(\d+)px;height:(\d+)px"',
                              svg).groups())
    assert w < 10_000 and h < 10_000 and 0.5 < w / h < 2, (w, h)
    lines = {}  # the rows of boxes, grouped into lines by the empty rows between them
    rows = sorted({y for _, y, _ in box.values()})
    k = 0
    for a, b in zip(rows, rows[1:] + [None], strict=True):
        lines.setdefault(k, []).append(a)
        if b is not None and b - a > _ROW:
            k += 1
    assert len(lines) >= 10
    ends = [max(x + bw for x, y, bw in box.values() if y in ys) for ys in lines.values()]
    assert min(ends[:-1]) > 0.6 * max(ends), ends
    tiles = re.findall(r'class="dg-tile dg-edges" width="(\d+)" height="(\d+)"', svg)
    assert tiles and max(int(t) for _, t in tiles) <= 2 * (_BAND * _ROW + 20), max(int(t) for _, t in tiles)


def test_each_term_sits_beside_the_sum_it_feeds():
    """x_i, its constant 0.5, the product and its tanh are drawn just left of the sum they feed, in the
    same line, and every edge inside a line runs left to right (an edge to the next line ends below its
    start); the inputs no longer stand in one column."""
    order, svg, box = drawn(thousand_tanh_terms())
    pos = {n: i for i, n in enumerate(order)}
    beside, parted = 0, []
    for i, n in enumerate(order):
        if n.op != "add" or n.parents[1].op != "tanh":
            continue
        tanh = n.parents[1]
        product = tanh.parents[0]
        x, half = product.parents
        sx, sy, _ = box[i]
        near = [box[pos[m]][0] < sx and sx - box[pos[m]][0] < 800 and 0 <= box[pos[m]][1] - sy <= 5 * 46
                for m in (tanh, product, x, half)]
        if all(near):
            beside += 1
        else:  # a term a line's end cut: its first nodes end the line above
            parted.append([box[pos[m]][1] < sy for m, ok in zip((tanh, product, x, half), near, strict=True)
                           if not ok])
    assert beside == 1000 - len(parted) and len(parted) < 100 and all(all(p) for p in parted), parted
    inputs = [box[i][0] for i, n in enumerate(order) if n.label.startswith("x")]
    assert len(inputs) == 1000 and len(set(inputs)) > 20
    paths = {(int(i), int(k)): d for i, k, d in
             re.findall(r'<path id="e(\d+)_(\d+)" class="dg-edge" d="([^"]+)"', svg)}
    assert len(paths) == sum(len(n.parents) for n in order)
    for (i, k), d in paths.items():
        (px, py, pw), (cx, cy, _) = box[pos[order[i].parents[k]]], box[i]
        assert (px + pw < cx) if "V" not in d else py < cy, (i, k, d)
