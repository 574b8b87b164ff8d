"""A quick layered drawing for graphs too big for graphviz to lay out in time (a 5,000-node graph): each
node a box in the column of its depth, with the ids, role colours and legend of `viz.draw`, as HTML that
carries its own style (each box a ``<div>``, the edges SVG paths). Linear in the graph's size; the HTML
stepper uses it above its ``max_nodes``, and `viz.show` in a notebook.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from autodiff import Value
from viz.style import ROLE_STYLE
from viz.style import roles as node_roles

__all__ = ["layered_svg"]

_ROW, _GAP, _CHAR, _PAD, _BOX = 46, 56, 7.6, 10, 30  # px: row pitch, column gap, char width, padding, box
# A tile's size: a step that scrolls lays out whole the tiles it brings near the view (stepper.js,
# showTiles), so the smaller they are the less of them lies outside it: at 800 px and 16 rows, the README
# loss's pages displayed up to 320-368 boxes for the 70 or so in view, and a jump laid out 1,500 elements
# (the 100-point page's worst step, 55-80 ms of CPU); at 400 px and 8 rows, 182 boxes and 628 elements
# (with the page showing 40 px around the view, not 150)
_TILE = 400  # px: the width of one tile of boxes
_BAND = 8    # rows of boxes in one tile (of boxes, and of the edges ending at them)
# A drawing over _WIDE times as wide as tall is cut into lines of columns, one under the other, at least
# _LINE px wide and as wide as makes the whole about _ASPECT times as wide as tall (the stepper's view
# at 1400×900 is about square)
_WIDE, _LINE, _ASPECT = 20, 2400, 1.0
# px: the widest line of numbers under a box (11 px monospace, "-1.2346e-05  ∇ -1.2346e-05"), centred under
# it: a box tile reaches half of it past either side of its boxes
_NUM = 180


def _anchors(order: Sequence[Value], ops: Sequence[str], roles: Sequence[str]) -> list[int]:
    """The node each node is drawn beside, just left of it (-1 for none): a leaf other than an input (a
    weight, a bias, a constant) beside its first user in ``order``, its neuron's product w·x; a term of a
    sum, a node whose one user is a sum (its op ``+``), beside that sum (a product w·x by the partial sum
    it feeds, a square by the L2 sum); and a node of a private tree beside its one user: a node used once
    whose operands are all so, down to its leaves (the term tanh(x_i · 0.5) of a sum: x_i beside its
    product, the product beside its tanh). An input used more than once has none: the inputs open the
    first column, in order, above the first neuron (beside its first use, an input sat among that
    neuron's weights). An input used once sat there too, one of the 5,001-node graph's 1,000 in a column
    92,000 px tall, its product beside it and the tanh of that thousands of columns to the right; and a
    node used once but reading a shared value stays at its depth: beside its user, a layer's neurons,
    each read once by the next layer's one neuron, ended one column right of the one before."""
    pos = {n: i for i, n in enumerate(order)}
    users: list[list[int]] = [[] for _ in order]
    for i, n in enumerate(order):
        for p in n.parents:
            if not users[pos[p]] or users[pos[p]][-1] != i:  # x * x: one user
                users[pos[p]].append(i)
    private = [False] * len(order)  # used once, and so is everything it is computed from
    for i, n in enumerate(order):
        private[i] = len(users[i]) == 1 and all(private[pos[p]] for p in n.parents)
    return [u[0] if u and (n.is_leaf and role != "input" or len(u) == 1 and (ops[u[0]] == "+" or private[i]))
            else -1 for i, (n, u, role) in enumerate(zip(order, users, roles, strict=True))]


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


def _lines(x0: Sequence[float], width: Sequence[float], col: Sequence[int], row: Sequence[int],
           split: Sequence[int]) -> list[int]:
    """The first column of each line the drawing is cut into, [0] for one line. A chain of a thousand
    links (a sum of 1,000 terms added one at a time) is a thousand columns and a few rows: 158,000 px
    wide and 230 px tall, read by scrolling sideways for ever. Cut into lines of columns placed one under
    the other, as text is, it is about as wide as tall. A line is at most a limit wide, the same for
    every line, and at least 70% of it: of the columns where it may end, it ends before the one that
    ``split[c]`` says parts least (the nodes it parts from the node they are drawn beside, `_anchors`; a
    weight from its product w·x counts ten), the last of those. The limit is the one (of _LINE px and
    up, growing by a tenth) whose drawing is nearest _ASPECT times as wide as tall, each line as tall as
    the rows its columns use plus a row between lines; one line when that is nearest. A cut through a
    tall part (a network's layers) makes two lines as tall as it: far from _ASPECT, so not chosen.

    Only a drawing over _WIDE times as wide as tall is cut: a network's is not (the README loss with
    its L2 sum written out is 12 times as wide as tall: cut into lines, the 612 operations of that sum
    filled the view more densely, and the neuron level's one step of them laid out 8 times as many
    boxes as in one line)."""
    ncol = len(x0)
    right = [x0[c] + width[c] for c in range(ncol)]
    lo, hi = [len(row)] * ncol, [-1] * ncol  # each column's first and last row
    for c, r in zip(col, row, strict=True):
        lo[c], hi[c] = min(lo[c], r), max(hi[c], r)

    def cut(limit: float) -> list[int]:
        starts = [0]
        while True:
            fits = [c for c in range(starts[-1] + 1, ncol) if right[c] - x0[starts[-1]] <= limit]
            if len(fits) == ncol - starts[-1] - 1:
                return starts  # the rest fits in one line
            end = fits[-1] + 1 if fits else starts[-1] + 1  # the first column that does not fit
            ends = [c for c in fits if right[c - 1] - x0[starts[-1]] >= 0.7 * limit] + [end]
            starts.append(min(reversed(ends), key=lambda c: split[c]))

    def aspect(starts: list[int]) -> float:
        ends = starts[1:] + [ncol]
        wide = max(right[b - 1] - x0[a] for a, b in zip(starts, ends, strict=True))
        rows = sum(max(max(hi[a:b]) - min(lo[a:b]) + 1, 1) for a, b in zip(starts, ends, strict=True))
        return wide / ((rows + len(starts) - 1) * _ROW)

    best, limit = [0], _LINE
    if aspect(best) <= _WIDE:
        return best
    while limit < right[-1] - x0[0]:
        starts = cut(limit)
        if abs(math.log(aspect(starts) / _ASPECT)) < abs(math.log(aspect(best) / _ASPECT)):
            best = starts
        limit *= 1.1
    return best


def layered_svg(order: Sequence[Value], names: Sequence[str], ops: Sequence[str] | None = None,
                roles: Sequence[str] | None = None, legend: bool = True,
                numbers: Sequence[str] | None = None) -> str:
    """The graph of ``order`` (a topological order) as HTML: a ``<div>`` of tiles, each box a
    ``<div id="n{i}" class="node ...">`` (its halo, 50 px tall and 8 px wider than its box, placed in its
    tile by its style) holding the box (class dg-box) showing ``names[i]`` and ``ops[i]`` (the op's
    symbol, "" for a leaf) and an empty line for numbers (class dg-num, id dg-num-{i}) ready for the
    stepper; the edges, operand to result, are SVG paths in tiles of their own. Units are CSS px.

    ``ops`` defaults to each node's op symbol. ``roles`` gives each node's role ("input", "parameter",
    "constant", "output" or "interior") and so its fill colour, as in `viz.draw`'s diagrams; by default
    `viz.draw.roles` of the root ``order[-1]`` (a node outside its graph raises ValueError);
    ``legend`` puts the legend of the roles present at the top left (it stays in view while the drawing
    scrolls sideways). ``numbers`` writes a line of numbers under each box (a drawing with no stepper
    to fill them: `viz.show`'s), escaped. Raises ValueError when ``names``, ``ops``, ``roles`` or
    ``numbers`` differ in length from ``order`` or a role is unknown."""
    if ops is None:
        ops = [n.primitive.symbol if n.primitive else "" for n in order]
    if roles is None:
        found = node_roles(order[-1]) if order else {}
        outside = next((i for i, n in enumerate(order) if n not in found), None)
        if outside is not None:
            raise ValueError(f"layered_svg: node {outside} of order is not in the graph of its last node; "
                             "give topological_order(root), or roles= for each node")
        roles = [found[n] for n in order]
    if numbers is None:
        numbers = [""] * len(order)
    for what, seq in (("names", names), ("ops", ops), ("roles", roles), ("numbers", numbers)):
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
    split = [0] * (ncol + 1)  # what a line ending before column c parts
    for j, a in enumerate(anchor):
        if a >= 0:
            for c in range(col[j] + 1, col[a] + 1):
                split[c] += 10 if order[j].is_leaf else 1
    starts = _lines(x0, width, col, row, split)
    line = [0] * ncol  # each column's line
    for k, a in enumerate(starts):
        line[a:] = [k] * (ncol - a)
    # each line moved left to the drawing's start, and its rows (those its columns use) under the line
    # above, a row apart
    shift = [x0[starts[line[c]]] - x0[0] for c in range(ncol)]
    first = [min((r for c, r in zip(col, row, strict=True) if line[c] == k), default=0)
             for k in range(len(starts))] if len(starts) > 1 else [0]
    line_top = [0] * len(starts)  # each line's first row in the drawing
    for k in range(1, len(starts)):
        line_top[k] = 2 + max((r - first[k - 1] + line_top[k - 1] for c, r in zip(col, row, strict=True)
                               if line[c] == k - 1), default=line_top[k - 1])
    row = [r - first[line[c]] + line_top[line[c]] for c, r in zip(col, row, strict=True)]
    xy = [(x0[c] - shift[c] + 10, r * _ROW + 10) for c, r in zip(col, row, strict=True)]
    pos = {n: i for i, n in enumerate(order)}
    tile_of = [int((x0[c] - shift[c]) // _TILE) for c in col]
    band_of = [int(r // _BAND) for r in row]
    edges: dict[tuple[int, int], list[str]] = {}
    extent: dict[tuple[int, int], list[float]] = {}  # each tile of edges' left, top, right, bottom
    for i, n in enumerate(order):  # an edge goes in the tile of the node it ends at
        x2, y2 = xy[i][0], xy[i][1] + _BOX / 2
        for k, p in enumerate(n.parents):
            j = pos[p]
            x1, y1 = xy[j][0] + width[col[j]], xy[j][1] + _BOX / 2
            if line[col[j]] == line[col[i]]:
                mid = (x1 + x2) / 2
                d, xs, ys = f"M{x1:.0f},{y1:.0f}C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}", \
                    (x1, x2), (y1, y2)
            else:  # to another line: out right, along the space above the end's line, in from the left
                gap = line_top[line[col[i]]] * _ROW - 15
                d = f"M{x1:.0f},{y1:.0f}H{x1 + 16:.0f}V{gap:.0f}H{x2 - 16:.0f}V{y2:.0f}H{x2:.0f}"
                xs, ys = (x1 + 16, x2 - 16), (y1, gap, y2)
            key = (tile_of[i], band_of[i])
            edges.setdefault(key, []).append(f'<path id="e{i}_{k}" class="dg-edge" d="{d}"/>')
            e = extent.setdefault(key, [math.inf, math.inf, -math.inf, -math.inf])
            e[:] = min(e[0], *xs), min(e[1], *ys), max(e[2], *xs), max(e[3], *ys)
    total_h = (max(row, default=-1) + 1) * _ROW + 20
    # Tiles: the edges (SVG, never restyled) apart from the boxes (HTML), so that a step, which restyles
    # boxes and writes their numbers, makes the browser lay out and paint again only the tiles of the
    # boxes it changed, and of those only the ones on screen (content-visibility: auto on each tile of
    # boxes, which clips the tile: so it holds its boxes' halos and lines of numbers, reaching _NUM / 2
    # left of its start and past its last box, and from its band's first row to below its last row's
    # numbers; the edges ending at its boxes, which may reach past it, are in a tile of their own as big
    # as they are, never clipped). A tile of boxes is _BAND rows tall: a step that scrolls brings on
    # screen, and so lays out and paints, no more boxes (and edges) than about fill the view.
    # A box is HTML, not SVG: a <div> (its halo, which the stepper highlights) holding the box with its
    # name and the line of numbers under it. As SVG (a <g> of two <rect>s and two <text>s) the boxes a
    # step brought into view cost more to style and lay out (README L2 page, worst frame: 673 elements
    # restyled and 975 objects laid out, against 413 and 688), and SVG text most: the eager L2 page's
    # worst step, about 100 boxes laid out afresh, was 53 ms of main-thread CPU (issue 14).
    # The HTML stepper's script then decides itself which tiles show (viz/static/stepper.js, showTiles).
    margin = _NUM / 2
    right: dict[tuple[int, int], float] = {}  # from the tile's start: past its last box's halo and numbers
    for i, t in enumerate(tile_of):
        w = width[col[i]]
        key = (t, band_of[i])
        right[key] = max(right.get(key, _TILE), xy[i][0] + w / 2 + max(w + 20, _NUM) / 2 - t * _TILE)
    boxes: dict[tuple[int, int], list[str]] = {}
    for i, n in enumerate(order):
        (x, y), w = xy[i], width[col[i]]
        key = (tile_of[i], band_of[i])
        left, top = key[0] * _TILE - margin, key[1] * _BAND * _ROW
        leaf = " dg-leaf" if n.is_leaf else ""
        boxes.setdefault(key, []).append(
            f'<div id="n{i}" class="node{leaf} dg-{roles[i]}" style="left:{x - 4 - left:.0f}px;'
            f'top:{y - 4 - top:.0f}px;width:{w + 8:.0f}px"><div class="dg-box">{html.escape(text[i])}'
            f'</div><div class="dg-num" id="dg-num-{i}">{html.escape(numbers[i])}</div></div>')
    h = f"{total_h:.0f}"
    total_w = max([t * _TILE + r for (t, _), r in right.items()] + [e[2] + 2 for e in extent.values()])

    def tile(t: int, band: int, body: list[str]) -> str:
        left, top, w = t * _TILE - margin, band * _BAND * _ROW, right[(t, band)] + margin
        tall = _BAND * _ROW + 20  # the tile starts margin px before its share of the columns
        return (f'<div class="dg-tile dg-boxes" style="left:{left:.0f}px;top:{top:.0f}px;width:{w:.0f}px;'
                f'height:{tall:.0f}px">' + "".join(body) + "</div>")

    parts = [_edge_tile(body, extent[key]) for key, body in sorted(edges.items())]
    parts += [tile(t, band, body) for (t, band), body in sorted(boxes.items())]
    drawing = (f'<div class="dg-layered" style="position:relative;width:{total_w:.0f}px;height:{h}px">'
               + _STYLE + "".join(parts) + "</div>")
    if not legend:
        return drawing
    used = set(roles)
    present = [r for r in ROLE_STYLE if r in used]
    figure = '<div class="dg-layered-figure" style="width:max-content">'
    return figure + _legend(present, any(ops)) + drawing + "</div>"


def _edge_tile(body: list[str], extent: Sequence[float]) -> str:
    """A tile of edges as an <svg> just big enough for them (and their strokes): the edges of one tile of
    boxes, those ending at its boxes. Such a tile spanned the drawing's height (92,066 px on the 5,001-node
    graph's), and every step that scrolled laid out and painted edges far off screen."""
    left, top, right, bottom = extent[0] - 2, extent[1] - 2, extent[2] + 2, extent[3] + 2
    box = f'width="{right - left:.0f}" height="{bottom - top:.0f}"'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="dg-tile dg-edges" {box} '
            f'viewBox="{left:.0f} {top:.0f} {right - left:.0f} {bottom - top:.0f}" '
            f'style="position:absolute;top:{top:.0f}px;left:{left:.0f}px;overflow:visible;'
            'pointer-events:none" fill="none" stroke="#999">' + "".join(body) + "</svg>")


_TEXT = 'font-family="Helvetica, Arial, sans-serif" font-size="13" fill="#222" stroke="none"'
# The boxes' look, the same wherever the drawing is shown (the stepper's page, a notebook): a box
# (.dg-box) filled by its role, in its halo (.node, which the stepper highlights by its background, a
# shadow and a dashed frame under its content: viz/static/stepper.css), with its line of
# numbers centred under it, each glyph drawn over a white outline of itself so that neither the edges
# running behind nor a highlighted halo's border, where the line is wider than the box, cross it out.
# A box not computed yet (.dg-pending, the stepper's) is faded by colour, not opacity: opacity makes
# each box an effect of its own for the browser to composite.
_STYLE = ("<style>.dg-layered>.dg-boxes{position:absolute;content-visibility:auto;pointer-events:none;"
          "font:13px Helvetica,Arial,sans-serif;color:#222}"
          ".dg-layered .node{position:absolute;height:50px;border-radius:6px;pointer-events:auto}"
          ".dg-layered .dg-box{position:absolute;left:4px;right:4px;top:4px;height:30px;"
          "box-sizing:border-box;border:1px solid #555;border-radius:5px;padding-left:9px;line-height:28px;"
          "white-space:nowrap;overflow:hidden;background:var(--dg-fill)}"
          ".dg-layered .dg-num{position:absolute;left:-90px;right:-90px;top:35px;width:max-content;"
          "margin:0 auto;font:11px monospace;line-height:13px;white-space:nowrap;"
          "-webkit-text-stroke:3px #fff;paint-order:stroke fill}"
          ".dg-layered .dg-pending>.dg-box{background:color-mix(in srgb,var(--dg-fill) 35%,#fff);"
          "border-color:#bbb;color:#999}"
          + "".join(f".dg-layered .dg-{role}{{--dg-fill:{fill}}}"
                    for role, (fill, _, _) in ROLE_STYLE.items())
          + "".join(f".dg-layered .dg-{role}>.dg-box{{border-style:dashed}}"
                    for role, (_, dashed, _) in ROLE_STYLE.items() if dashed)
          + "</style>")


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
