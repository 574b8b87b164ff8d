"""A quick layered drawing for graphs too big for graphviz to lay out in time (a 5,000-node graph): each
node a box in the column of its depth, with the ids `viz.draw` uses (``n{i}``), as inline SVG text.
Linear in the graph's size; the HTML stepper uses it above its ``max_nodes``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from autodiff import Value

__all__ = ["layered_svg"]

_ROW, _GAP, _CHAR, _PAD, _BOX = 46, 56, 7.6, 10, 30  # px: row pitch, column gap, char width, padding, box
_TILE = 1600  # px: the width of one <svg> tile


def _columns(order: Sequence[Value]) -> list[int]:
    """Each node's column: the depth of the longest path to the root, counted back from the root's
    column (as late as possible), so that a node sits just left of its first user; the root's column is
    its longest path from the leaves."""
    pos = {n: i for i, n in enumerate(order)}
    depth = [0] * len(order)
    for i, n in enumerate(order):
        if n.parents:
            depth[i] = 1 + max(depth[pos[p]] for p in n.parents)
    col = [depth[-1]] * len(order)
    for i in range(len(order) - 1, -1, -1):
        for p in order[i].parents:
            j = pos[p]
            col[j] = min(col[j], col[i] - 1)
    return [max(c, 0) for c in col]


def layered_svg(order: Sequence[Value], names: Sequence[str], ops: Sequence[str]) -> str:
    """The graph of ``order`` (a topological order) as SVG tiles in a ``<div>``: node i is a ``<g id="n{i}">``
    box showing ``names[i]`` and ``ops[i]`` (the op's symbol, "" for a leaf), with a halo and a
    line for numbers (classes dg-halo, dg-num) ready for the stepper; edges run operand to result."""
    col = _columns(order)
    ncol = max(col, default=0) + 1
    width = [0.0] * ncol
    text = [f"{nm}  {op}" if op else nm for nm, op in zip(names, ops, strict=True)]
    for i, t in enumerate(text):
        width[col[i]] = max(width[col[i]], len(t) * _CHAR + 2 * _PAD, 60)
    x0 = [0.0] * ncol
    for c in range(1, ncol):
        x0[c] = x0[c - 1] + width[c - 1] + _GAP
    rows = [0] * ncol
    xy = []
    for c in col:
        xy.append((x0[c] + 10, rows[c] * _ROW + 10))
        rows[c] += 1
    pos = {n: i for i, n in enumerate(order)}
    tile_of = [int(x0[c] // _TILE) for c in col]
    tiles: dict[int, list[str]] = {}
    for i, n in enumerate(order):  # an edge goes in the tile of the node it ends at
        x2, y2 = xy[i][0], xy[i][1] + _BOX / 2
        for k, p in enumerate(n.parents):
            j = pos[p]
            x1, y1 = xy[j][0] + width[col[j]], xy[j][1] + _BOX / 2
            mid = (x1 + x2) / 2
            tiles.setdefault(tile_of[i], []).append(
                f'<path id="e{i}_{k}" class="dg-edge" d="M{x1:.0f},{y1:.0f}C{mid:.0f},{y1:.0f} '
                f'{mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"/>')
    for i, n in enumerate(order):
        (x, y), w = xy[i], width[col[i]]
        leaf = " dg-leaf" if n.is_leaf else ""
        tiles.setdefault(tile_of[i], []).append(
            f'<g id="n{i}" class="node{leaf}"><rect class="dg-halo" x="{x - 4:.0f}" y="{y - 4:.0f}" '
            f'width="{w + 8:.0f}" height="{_BOX + 20:.0f}" rx="6"/><rect class="dg-box" x="{x:.0f}" '
            f'y="{y:.0f}" width="{w:.0f}" height="{_BOX}" rx="5"/><text class="dg-label" x="{x + _PAD:.0f}" '
            f'y="{y + 20:.0f}">{html.escape(text[i])}</text><text class="dg-num" id="dg-num-{i}" '
            f'x="{x + w / 2:.0f}" y="{y + _BOX + 12:.0f}" text-anchor="middle"></text></g>')
    total_w = x0[-1] + width[-1] + 20
    total_h = max(rows) * _ROW + 20
    # Side-by-side <svg> tiles: a browser redraws only the tiles a step changes, not the whole graph.
    h = f"{total_h:.0f}"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="dg-tile" width="{_TILE}" height="{h}" '
             f'viewBox="{t * _TILE} 0 {_TILE} {h}" style="left:{t * _TILE}px">' + "".join(body) + "</svg>"
             for t, body in sorted(tiles.items())]
    return (f'<div class="dg-layered" style="width:{total_w:.0f}px;height:{total_h:.0f}px">'
            + "".join(parts) + "</div>")
