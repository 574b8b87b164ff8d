"""A quick layered drawing for graphs too big for graphviz to lay out in time (a 5,000-node graph): each
node a box in the column of its depth, with the ids, role colours and legend of `viz.draw`, as inline SVG
text that needs no style sheet. Linear in the graph's size; the HTML stepper uses it above its ``max_nodes``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from autodiff import Value
from viz.style import ROLE_STYLE
from viz.style import roles as node_roles

__all__ = ["layered_svg"]

_ROW, _GAP, _CHAR, _PAD, _BOX = 46, 56, 7.6, 10, 30  # px: row pitch, column gap, char width, padding, box
_TILE = 800  # px: the width of one <svg> tile
_BAND = 16   # rows of boxes in one tile of boxes (a tile of edges spans the drawing's height)
# px: the widest line of numbers under a box (11 px monospace, "-1.2346e-05  ∇ -1.2346e-05"), centred under
# it: a box tile reaches half of it past either side of its boxes
_NUM = 180


def _anchors(order: Sequence[Value], ops: Sequence[str], roles: Sequence[str]) -> list[int]:
    """The node each node is drawn beside, just left of it (-1 for none): a leaf other than an input (a
    weight, a bias, a constant) beside its first user in ``order``, its neuron's product w·x; a term of a
    sum, a node whose one user is a sum (its op ``+``), beside that sum (a product w·x by the partial sum
    it feeds, a square by the L2 sum). An input has none: the inputs open the first column, in order,
    above the first neuron (beside its first use, an input sat among that neuron's weights)."""
    pos = {n: i for i, n in enumerate(order)}
    users: list[list[int]] = [[] for _ in order]
    for i, n in enumerate(order):
        for p in n.parents:
            if not users[pos[p]] or users[pos[p]][-1] != i:  # x * x: one user
                users[pos[p]].append(i)
    return [u[0] if u and (n.is_leaf and role != "input" or len(u) == 1 and ops[u[0]] == "+") else -1
            for n, u, role in zip(order, users, roles, strict=True)]


def _columns(order: Sequence[Value], anchor: Sequence[int]) -> list[int]:
    """Each node's column, so that a network reads in layers left to right: a node's depth (its longest
    path from the leaves), so all the neurons of a layer start in one column and end in one column; a
    node reading both a leaf and a computed value (w·a, z + b) one column further, leaving a column for
    the leaf; then, from the root back, each node with an anchor (`_anchors`) just left of it. Placed as
    late as possible instead, each neuron of a layer ended one column right of the one before (its
    output feeds the next layer's sum one term later), and a weight also squared in an L2 sum written
    out sat by its square, hundreds of columns from its neuron: a step from one neuron to the next
    scrolled the drawing sideways. A leaf's edges to users after the first may run leftwards; every
    other edge runs left to right."""
    pos = {n: i for i, n in enumerate(order)}
    col = [0] * len(order)
    for i, n in enumerate(order):
        leaves = [p.is_leaf for p in n.parents]
        gap = 2 if any(leaves) and not all(leaves) else 1
        col[i] = max((col[pos[p]] + gap for p in n.parents), default=0)
    for j in range(len(order) - 1, -1, -1):
        if anchor[j] >= 0:
            col[j] = col[anchor[j]] - 1
    return [max(c, 0) for c in col]


def _rows(order: Sequence[Value], col: Sequence[int], anchor: Sequence[int]) -> list[int]:
    """Each node's row in its column, so that every column reads top to bottom in the order the nodes
    are placed: a node without an anchor in the order computed, each followed by the nodes anchored to
    it (`_anchors`), and theirs, depth first in operand order (a neuron's z, its sum, w.0, x.0, w.1, …).
    A column's rows are taken downwards only, never a gap left above, so its order is that placing order:
    inputs, a neuron's weights, a layer's neurons and the examples in index order. (Taking the first free
    row instead filled gaps above earlier nodes: x.1 above x.0, a neuron's w.1 above its w.0.)

    Such a node and the nodes anchored to it form a block: it starts level with its operand in the
    column just left of it (an activation beside its z), else at the lowest row taken so far (a layer
    starts where the one before ends, the loss where the network does: a step's boxes stay together),
    and in any case below whatever its columns already hold, so a neuron's block sits under the one
    before; a node anchored to another takes the first row at or below its anchor's. A sum of n terms
    written out runs along three rows."""
    pos = {n: i for i, n in enumerate(order)}
    anchored = [list(dict.fromkeys(pos[p] for p in n.parents if anchor[pos[p]] == i))  # x * x: x once
                for i, n in enumerate(order)]  # the nodes anchored to each node, in operand order
    free = [0] * (max(col, default=0) + 1)  # each column's first row below all it holds
    row, last = [-1] * len(order), 0
    for i, n in enumerate(order):
        if anchor[i] >= 0:
            continue
        block, todo = [], [i]
        while todo:  # depth first, operands in order
            u = todo.pop()
            block.append(u)
            todo.extend(reversed(anchored[u]))
        beside = [row[pos[p]] for p in n.parents if col[pos[p]] == col[i] - 1 and row[pos[p]] >= 0]
        top = max([min(beside, default=last)] + [free[col[u]] for u in block])
        for u in block:
            row[u] = max(top if u == i else row[anchor[u]], free[col[u]])
            free[col[u]] = row[u] + 1
            last = max(last, row[u])
    return row


def layered_svg(order: Sequence[Value], names: Sequence[str], ops: Sequence[str] | None = None,
                roles: Sequence[str] | None = None, legend: bool = True) -> str:
    """The graph of ``order`` (a topological order) as SVG tiles in a ``<div>``: node i is a ``<g id="n{i}">``
    box showing ``names[i]`` and ``ops[i]`` (the op's symbol, "" for a leaf), with a halo and a
    line for numbers (classes dg-halo, dg-num) ready for the stepper; edges run operand to result.

    ``ops`` defaults to each node's op symbol. ``roles`` gives each node's role ("input", "parameter",
    "constant", "output" or "interior") and so its fill colour, as in `viz.draw`'s diagrams; by default
    `viz.draw.roles` of the root ``order[-1]`` (a node outside its graph raises ValueError);
    ``legend`` puts the legend of the roles present at the top left (it stays in view while the drawing
    scrolls sideways). Raises ValueError when ``names``, ``ops`` or ``roles`` differ in length from
    ``order`` or a role is unknown."""
    if ops is None:
        ops = [n.primitive.symbol if n.primitive else "" for n in order]
    if roles is None:
        found = node_roles(order[-1]) if order else {}
        outside = next((i for i, n in enumerate(order) if n not in found), None)
        if outside is not None:
            raise ValueError(f"layered_svg: node {outside} of order is not in the graph of its last node; "
                             "give topological_order(root), or roles= for each node")
        roles = [found[n] for n in order]
    for what, seq in (("names", names), ("ops", ops), ("roles", roles)):
        if len(seq) != len(order):
            raise ValueError(f"layered_svg: {what} has {len(seq)} entries for {len(order)} nodes; give one "
                             "per node of the topological order")
    unknown = sorted(set(roles) - set(ROLE_STYLE))
    if unknown:
        raise ValueError(f"layered_svg: unknown role {unknown[0]!r}; roles are {', '.join(ROLE_STYLE)}")
    anchor = _anchors(order, ops, roles)
    col = _columns(order, anchor)
    ncol = max(col, default=0) + 1
    width = [0.0] * ncol
    text = [f"{nm}  {op}" if op else nm for nm, op in zip(names, ops, strict=True)]
    for i, t in enumerate(text):
        width[col[i]] = max(width[col[i]], len(t) * _CHAR + 2 * _PAD, 60)
    x0 = [_NUM / 2] * ncol  # the first column's numbers stay right of the drawing's left edge
    for c in range(1, ncol):
        x0[c] = x0[c - 1] + width[c - 1] + _GAP
    row = _rows(order, col, anchor)
    xy = [(x0[c] + 10, r * _ROW + 10) for c, r in zip(col, row, strict=True)]
    pos = {n: i for i, n in enumerate(order)}
    tile_of = [int(x0[c] // _TILE) for c in col]
    edges: dict[int, list[str]] = {}
    for i, n in enumerate(order):  # an edge goes in the tile of the node it ends at
        x2, y2 = xy[i][0], xy[i][1] + _BOX / 2
        for k, p in enumerate(n.parents):
            j = pos[p]
            x1, y1 = xy[j][0] + width[col[j]], xy[j][1] + _BOX / 2
            mid = (x1 + x2) / 2
            edges.setdefault(tile_of[i], []).append(
                f'<path id="e{i}_{k}" class="dg-edge" d="M{x1:.0f},{y1:.0f}C{mid:.0f},{y1:.0f} '
                f'{mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"/>')
    band_of = [int(((y - 10) / _ROW) // _BAND) for _, y in xy]
    boxes: dict[tuple[int, int], list[str]] = {}
    for i, n in enumerate(order):
        (x, y), w = xy[i], width[col[i]]
        leaf = " dg-leaf" if n.is_leaf else ""
        fill, dashed, _ = ROLE_STYLE[roles[i]]
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        boxes.setdefault((tile_of[i], band_of[i]), []).append(
            f'<g id="n{i}" class="node{leaf} dg-{roles[i]}" pointer-events="visiblePainted">'
            f'<rect class="dg-halo" x="{x - 4:.0f}" y="{y - 4:.0f}" width="{w + 8:.0f}" '
            f'height="{_BOX + 20:.0f}" rx="6" fill="none"/>'
            f'<rect class="dg-box" x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{_BOX}" rx="5" '
            f'fill="{fill}" stroke="#555"{dash}/><text class="dg-label" x="{x + _PAD:.0f}" y="{y + 20:.0f}">'
            f'{html.escape(text[i])}</text><text class="dg-num" id="dg-num-{i}" x="{x + w / 2:.0f}" '
            f'y="{y + _BOX + 12:.0f}" text-anchor="middle"></text></g>')
    total_h = (max(row, default=-1) + 1) * _ROW + 20
    # <svg> tiles, the edges (never restyled) apart from the boxes: a step restyles boxes, and the
    # browser then lays out and paints only the tiles of boxes it changed, and of those only the ones on
    # screen (content-visibility: auto on each tile of boxes, which clips the tile: so it holds its boxes'
    # halos and lines of numbers, reaching _NUM / 2 left of its start and past its last box, and from
    # its band's first row to below its last row's numbers; an edge may leave its tile, so edge tiles,
    # as tall as the drawing, are never clipped). A tile of boxes is _BAND rows tall: a step that
    # scrolls brings on screen, and so lays out and paints, no more boxes than about fill the view.
    # The HTML stepper's script then decides itself which tiles show (viz/static/stepper.js, showTiles).
    h = f"{total_h:.0f}"
    margin = _NUM / 2
    right = dict.fromkeys(boxes, _TILE)  # from the tile's start: past its last box's halo and numbers
    for i, t in enumerate(tile_of):
        w = width[col[i]]
        key = (t, band_of[i])
        right[key] = max(right[key], xy[i][0] + w / 2 + max(w + 20, _NUM) / 2 - t * _TILE)
    total_w = max(t * _TILE + r for (t, _), r in right.items())

    def tile(t: int, body: list[str], cls: str, w: float, style: str, paint: str, m: float = 0,
             band: int | None = None) -> str:
        left = t * _TILE - m  # the tile's drawing starts m px before its share of the columns
        top, tall = (0, total_h) if band is None else (band * _BAND * _ROW, _BAND * _ROW + 20)
        return (f'<svg xmlns="http://www.w3.org/2000/svg" class="dg-tile {cls}" width="{w + m:.0f}" '
                f'height="{tall:.0f}" viewBox="{left:.0f} {top:.0f} {w + m:.0f} {tall:.0f}" '
                f'style="position:absolute;top:{top:.0f}px;left:{left:.0f}px;overflow:visible;{style}" '
                f'{paint}>' + "".join(body) + "</svg>")

    parts = [tile(t, body, "dg-edges", _TILE, "pointer-events:none", 'fill="none" stroke="#999"')
             for t, body in sorted(edges.items())]
    parts += [tile(t, body, "dg-boxes", right[(t, band)], "content-visibility:auto;pointer-events:none",
                   _TEXT, margin, band) for (t, band), body in sorted(boxes.items())]
    drawing = (f'<div class="dg-layered" style="position:relative;width:{total_w:.0f}px;height:{h}px">'
               + "".join(parts) + "</div>")
    if not legend:
        return drawing
    used = set(roles)
    present = [r for r in ROLE_STYLE if r in used]
    figure = '<div class="dg-layered-figure" style="width:max-content">'
    return figure + _legend(present, any(ops)) + drawing + "</div>"


_TEXT = 'font-family="Helvetica, Arial, sans-serif" font-size="13" fill="#222" stroke="none"'


def _legend(present: list[str], has_ops: bool) -> str:
    """The legend as `viz.draw` words it: a swatch per role present, and how an op is shown. It sticks
    to the left edge of the scroll box, so it stays in view while the drawing scrolls sideways."""
    items, x = [], 8
    for r in present:
        fill, dashed, words = ROLE_STYLE[r]
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        items.append(f'<rect x="{x}" y="24" width="22" height="14" rx="3" fill="{fill}" stroke="#555"{dash}/>'
                     f'<text x="{x + 28}" y="36">{html.escape(words)}</text>')
        x += 28 + len(words) * _CHAR + 18
    height = 46
    if has_ops:
        items.append('<text x="8" y="58">name  op: a value, and the operation (+, ×, tanh, …) that '
                     'computed it</text>')
        height = 66
        x = max(x, 560)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="dg-legend" width="{x:.0f}" height="{height}" '
            f'style="display:block;position:sticky;left:0;background:#fff" {_TEXT}>'
            '<text x="8" y="14" font-weight="bold">legend</text>' + "".join(items) + "</svg>")
