"""Positions for the diagram of a network, computed here rather than by dot's crossing minimisation (a
heuristic that drew some neurons out of order): layers in columns left to right, each layer's neurons in
bands top to bottom by index, and inside a neuron a small layered layout; graphviz only draws the edges,
straight, so the places leave every edge a clear line (each weight sits over the product it feeds).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Item", "legend_spot", "place", "size_of"]

# points (1/72 inch) at the diagrams' 12-point type; a preset with bigger type scales them (viz.presets)
COLUMN_GAP = 30      # between two columns of boxes (room for the edge and its arrow)
LAYER_GAP = 24       # more, before and after a layer's neurons (their cluster frames)
ROW_GAP = 40         # between boxes stacked in one column (the stepper writes a name above, numbers below)
NEURON_GAP = 14      # between two neurons' frames of one layer
FRAME = 8            # between a cluster's frame and its nodes (graphviz's neato leaves none: see `place`)
TITLE = 18           # the room a cluster's title takes above its nodes
FAN = 5              # more before a layer, per neuron in it, up to 4 × LAYER_GAP
STACK_GAP = ROW_GAP / 2   # between a weight and the op under it that reads it, and under that op
INSET = 6            # a stacked column's boxes start this far in from its ops' edge (estimates err)


@dataclass
class Item:
    """A node to place: its name, its neuron (layer, index) or None, whether its neuron is drawn as a
    cluster, its size in points along the layers (width with LR) and across them, its parents' names,
    and (``late``) whether it stands for values inside the neurons (a bundle: it goes after them)."""

    name: str
    neuron: tuple | None
    framed: bool
    along: float
    across: float
    parents: list[str]
    late: bool = False


def _layer_rank(neuron: tuple) -> int:
    return -1 if neuron[0] is None else neuron[0]


def _users(items: list[Item]) -> dict[str, list[str]]:
    """Each item's name -> the names of the items that read it."""
    users: dict[str, list[str]] = {it.name: [] for it in items}
    for it in items:
        for p in it.parents:
            users[p].append(it.name)
    return users


def _columns(items: list[Item], by_name: dict[str, Item], users: dict[str, list[str]]) -> dict[str, int]:
    """Each item's column: a neuron's leaves (its w and b) in its layer's first column and its other nodes
    as early as their parents allow; every layer's columns after the previous layer's; the inputs of a
    layer in the column just before it, other leaves just before their first user; nodes computed from the
    network (the loss) after the last layer, leaving a column for the constants they read."""
    ranks = sorted({_layer_rank(it.neuron) for it in items if it.neuron is not None})
    fed = {_layer_rank(by_name[u].neuron) for it in items if it.neuron is None and not it.parents
           for u in users[it.name] if by_name[u].neuron is not None}
    floor, last = dict.fromkeys(ranks, 0), -1
    while True:  # floors only rise, so this ends (in about as many rounds as there are layers)
        col: dict[str, int] = {}
        after_net: dict[str, bool] = {}
        for it in items:  # items come parents first
            after = [col[p] + 1 for p in it.parents if p in col]
            after_net[it.name] = it.neuron is not None or it.late or any(after_net[p] for p in it.parents)
            if it.neuron is not None:
                col[it.name] = max([floor[_layer_rank(it.neuron)]] + after)
            elif it.parents:
                col[it.name] = max([last + 2 if after_net[it.name] else 0] + after)
        net = [c for n, c in col.items() if by_name[n].neuron is not None]
        end = max((c for n, c in col.items() if not after_net[n]), default=-1)
        new = {}
        for r in ranks:
            new[r] = end + (2 if r in fed else 1)
            end = max([new[r]] + [c for n, c in col.items() if by_name[n].neuron is not None
                                  and _layer_rank(by_name[n].neuron) == r])
        if new == floor and max(net, default=-1) == last:
            break
        floor, last = new, max(net, default=-1)
    for it in reversed(items):  # leaves outside the neurons: before their first layer, or their first user
        if it.neuron is None and not it.parents:
            layers = [_layer_rank(by_name[u].neuron) for u in users[it.name] if by_name[u].neuron is not None]
            first = [col[u] for u in users[it.name] if u in col]
            col[it.name] = (floor[min(layers)] - 1 if layers else
                            max(min(first) - 1, 0) if first else 0)
    return col


def _stack(items: list[Item], by_name: dict[str, Item], users: dict[str, list[str]],
           col: dict[str, int]) -> dict[str, list[str]]:
    """Moves a layer's leaves (weights and biases) into the column of the ops that read them (changes
    ``col``) and returns op name -> the leaves to stack over it: each leaf over the first op of its
    neuron in that column that reads it (a bias read later goes under the stacks). The edges from the
    layer before then reach those ops across an empty gap, under their weights, never through one.
    Only where a layer's first column holds its neurons' leaves alone and one of them feeds an op in
    the next column; elsewhere nothing moves."""
    first: dict[int, int] = {}
    for it in items:
        if it.neuron is not None:
            r = _layer_rank(it.neuron)
            first[r] = min(first.get(r, col[it.name]), col[it.name])
    stacks: dict[str, list[str]] = {}
    for r, c in first.items():
        there = [it for it in items if it.neuron is not None and _layer_rank(it.neuron) == r
                 and col[it.name] == c]
        reads = {it.name: [u for u in users[it.name] if col[u] == c + 1 and by_name[u].neuron == it.neuron]
                 for it in there}
        if any(it.parents or not it.framed for it in there) or not any(reads.values()):
            continue
        for it in there:
            col[it.name] = c + 1
            if reads[it.name]:
                stacks.setdefault(reads[it.name][0], []).append(it.name)
    used = sorted(set(col.values()))  # the columns the leaves left: none, so no empty gap
    renumber = {c: k for k, c in enumerate(used)}
    for name in col:
        col[name] = renumber[col[name]]
    return stacks


def _stack_column(members: list[Item], stacks: dict[str, list[str]], by_name: dict[str, Item],
                  users: dict[str, list[str]], order_key: Callable[[str], tuple],
                  local: dict[str, float]) -> None:
    """A neuron's share of a column with stacks (`_stack`), top to bottom: each op under its leaves,
    in order, then the leaves read later (its bias), STACK_GAP clear of the boxes those ops feed too
    (the next column's, centred on them): the bias's edge runs past them to the op that reads it, and
    where they are wide across (TB) it clipped the last one's corner."""
    over = {leaf for op in stacks for leaf in stacks[op]}
    low, clear = 0.0, 0.0
    rest = [it for it in members if it.name not in over]
    for it in sorted(rest, key=lambda it: (not it.parents and it.name not in stacks, order_key(it.name))):
        if not it.parents and it.name not in stacks:
            low = max(low, clear)
        for k, leaf in enumerate(stacks.get(it.name, [])):
            local[leaf] = low + by_name[leaf].across / 2
            low += by_name[leaf].across + (STACK_GAP if k == len(stacks[it.name]) - 1 else ROW_GAP)
        local[it.name] = low + it.across / 2
        low += it.across + (STACK_GAP if it.name in stacks else ROW_GAP)
        fed = [by_name[u].across for u in users[it.name] if by_name[u].neuron == it.neuron]
        clear = max([clear] + [local[it.name] + f / 2 + STACK_GAP for f in fed])


def _by_column(items: list[Item], col: dict[str, int]) -> dict[int, list[Item]]:
    """``items`` by their column, each column in the given order."""
    columns: dict[int, list[Item]] = {}
    for it in items:
        columns.setdefault(col[it.name], []).append(it)
    return columns


def _mean(values: list[float], empty: float) -> float:
    """The mean of ``values``, or ``empty`` when there are none."""
    return sum(values) / len(values) if values else empty


def _spot(want: float, size: float, low: float, blocked: list[tuple[float, float]]) -> float:
    """The centre nearest ``want``, at least ``low``, for a box of ``size`` clear of ``blocked``
    (intervals already taken in its column, gaps included)."""
    half = size / 2
    tries = [max(want, low)] + [b + half for _, b in blocked] + [t - half for t, _ in blocked]
    ok = [c for c in tries
          if c >= low and all(c + half <= t + 1e-6 or c - half >= b - 1e-6 for t, b in blocked)]
    return min(ok, key=lambda c: (abs(c - want), c))


Point = tuple[float, float]


def place(items: list[Item], order_key: Callable[[str], tuple], title_across: bool = True,
          title_size: Callable[[tuple], tuple[float, float]] | None = None
          ) -> tuple[dict[str, Point], dict[tuple, Point], dict[str, bool],
                     dict[tuple, tuple[Point, Point]]]:
    """(item name -> centre (u, v) in points, u along the layers and v across them, growing down;
    neuron -> where its cluster's title goes; leaf -> whether it shares the op it is stacked over with
    other leaves; neuron -> its frame's two opposite corners). ``items`` come parents first;
    ``order_key`` orders the items a column holds in one neuron (leaves: w.0, w.1, …, b).

    The frame is the neuron's band across and its boxes' extent along, FRAME outside its nodes (and its
    title) on every side. Graphviz's neato fits a cluster's frame tight round its nodes, with no margin
    (it ran over the × circles on the band's starting edge and along the boxes on the others): put an
    invisible point in the cluster at each corner to draw this frame.

    With ``title_across`` (LR) the title is graphviz's, over the band, and the point returned is a
    spacer that makes room for it. Else (TB) the title is a box of ``title_size(neuron)`` (along,
    across) and the point is its centre: at the start of the band, level with the neuron's last box
    (its a), where no edge runs (the edges from the layer before end at the first column, the edges to
    the next leave from the last box's far side); when the neuron's own boxes are there, the band starts
    that much earlier to make the room. Over the band (graphviz's place), the edges coming in across
    the layer gap, nearly level between two wide layers, ran through the titles.

    A weight sits over the op that reads it (its × or, fused, its Σwx+b), all on the column's starting
    edge, so the edges from the layer before come in to the ops from an empty gap; a leaf that shares
    its op with others is set in by the op's size (the stacked leaves' edges run down that margin).
    Draw a stacked leaf's edge from its corner (its own op) or its side (a shared op) to the op's top."""
    by_name, users = {it.name: it for it in items}, _users(items)
    col = _columns(items, by_name, users)
    stacks = _stack(items, by_name, users, col)
    shared = {leaf: len(ls) > 1 for ls in stacks.values() for leaf in ls}
    flush = {col[op] for op in stacks}   # columns whose items start on one edge (not centred)
    indent = {it.name: INSET for it in items if col[it.name] in flush and not it.parents}
    indent |= {leaf: by_name[op].along + STACK_GAP / 2 for op, ls in stacks.items() if len(ls) > 1
               for leaf in ls}
    ncol = max(col.values(), default=0) + 1
    thick = [0.0] * ncol
    for it in items:
        thick[col[it.name]] = max(thick[col[it.name]], it.along + indent.get(it.name, 0.0))
    layer_cols: dict[int, list[int]] = {}
    for it in items:
        if it.neuron is not None:
            layer_cols.setdefault(_layer_rank(it.neuron), []).append(col[it.name])
    extra = dict.fromkeys([max(cs) + 1 for cs in layer_cols.values()], LAYER_GAP)
    wide = {r: len({it.neuron for it in items if it.neuron is not None and _layer_rank(it.neuron) == r})
            for r in layer_cols}
    for r, cs in layer_cols.items():  # a full fan of edges from the layer before needs room to spread
        extra[min(cs)] = LAYER_GAP + min(FAN * wide[r], 4 * LAYER_GAP)
    start = [0.0] * ncol
    for c in range(1, ncol):
        start[c] = start[c - 1] + thick[c - 1] + COLUMN_GAP + extra.get(c, 0)
    u = {it.name: start[col[it.name]] + (indent.get(it.name, 0.0) + it.along / 2 if col[it.name] in flush
                                         else thick[col[it.name]] / 2) for it in items}

    # inside each neuron: columns left to right, a node level with the mean of its parents in the neuron
    local: dict[str, float] = {}
    neurons: dict[tuple, list[Item]] = {}
    for it in items:
        if it.neuron is not None:
            neurons.setdefault(it.neuron, []).append(it)
    for members in neurons.values():
        inside = {it.name for it in members}
        columns = _by_column(members, col)
        for c in sorted(columns):
            if c in flush:
                _stack_column(columns[c], stacks, by_name, users, order_key, local)
                continue
            want = {it.name: _mean([local[p] for p in it.parents if p in inside and p in local],
                                   float("-inf")) for it in columns[c]}
            low = float("-inf")
            for it in sorted(columns[c], key=lambda it: (want[it.name], order_key(it.name))):
                y = it.across / 2 if low == float("-inf") and want[it.name] == float("-inf") else \
                    max(want[it.name], low + it.across / 2)
                local[it.name] = y
                low = y + it.across / 2 + ROW_GAP

    # the neurons of a layer in bands, top to bottom by index, each layer centred on v = 0
    v: dict[str, float] = {}
    titles: dict[tuple, tuple[float, float]] = {}
    frames: dict[tuple, tuple[Point, Point]] = {}
    blocked: dict[int, list[tuple[float, float]]] = {}
    layers: dict[int, list[tuple]] = {}
    for key in sorted(neurons, key=lambda k: (_layer_rank(k), k[1])):
        layers.setdefault(_layer_rank(key), []).append(key)
    for keys in layers.values():
        bands = []
        for key in keys:
            ms = neurons[key]
            top = min(local[it.name] - it.across / 2 for it in ms)
            bottom = max(local[it.name] + it.across / 2 for it in ms)
            framed = ms[0].framed
            pad = FRAME + (TITLE if framed else 0)
            if framed and not title_across:  # TB: the title's own room only where the corner is taken
                pad = FRAME + (0.0 if _corner_free(ms, u, local, top, title_size(key))
                               else title_size(key)[1] + COLUMN_GAP / 2)
            bands.append((key, top, bottom, pad, FRAME if framed else 0))
        height = sum(b - t + p + q for _, t, b, p, q in bands) + NEURON_GAP * (len(bands) - 1)
        at = -height / 2
        for key, top, bottom, pad, low_pad in bands:
            shift = at + pad - top
            ms = neurons[key]
            for it in ms:
                v[it.name] = local[it.name] + shift
            cs = [col[it.name] for it in ms]
            for c in range(min(cs), max(cs) + 1):
                blocked.setdefault(c, []).append((at - ROW_GAP / 2, at + pad + bottom - top + low_pad
                                                  + ROW_GAP / 2))
            if ms[0].framed and title_across:  # graphviz writes the title at the frame's top
                first = min(ms, key=lambda it: (col[it.name], v[it.name]))
                titles[key] = (u[first.name], top + shift - TITLE)
            elif ms[0].framed:  # at the band's start, its far side level with the last box's
                titles[key] = (u[_last(ms, u).name], at + FRAME + title_size(key)[1] / 2)
            if ms[0].framed:
                ends = [(u[it.name] - it.along / 2, u[it.name] + it.along / 2) for it in ms]
                if not title_across:  # the title box, level with the last box
                    half = title_size(key)[0] / 2
                    ends.append((titles[key][0] - half, titles[key][0] + half))
                frames[key] = ((min(a for a, _ in ends) - FRAME, at),
                               (max(b for _, b in ends) + FRAME, at + pad + bottom - top + low_pad))
            at += pad + bottom - top + low_pad + NEURON_GAP

    # the rest (inputs, the loss and its constants): level with what they connect to, clear of the bands
    rest = [it for it in items if it.neuron is None]
    late = [it for it in rest if not it.parents and not all(u_ in v for u_ in users[it.name])]
    early = [it for it in rest if it not in late]
    for group in (early, late):
        by_col = _by_column(group, col)
        for c in sorted(by_col):
            want = {}
            for it in by_col[c]:
                want[it.name] = _mean([v[n] for n in (it.parents or users[it.name]) if n in v], 0.0)
                if group is late:  # a constant the loss reads: off the line into its user, on the side
                    user = by_name[users[it.name][0]]  # away from the user's other operands
                    others = [v[p] for p in user.parents if p != it.name and p in v]
                    side = 1 if others and sum(others) / len(others) < v[user.name] - 1 else -1
                    want[it.name] += side * (it.across / 2 + ROW_GAP)
            # a constant is placed after everything else: clear of the edges that pass its column too
            lines = _passing(items, col, u, v, c, (start[c], start[c] + thick[c])) if group is late else []
            low = float("-inf")  # the centre of the last placed: the column keeps their order
            for it in sorted(by_col[c], key=lambda it: (want[it.name], order_key(it.name))):
                room = it.across + ROW_GAP
                y = _spot(want[it.name], room, low, blocked.get(c, []) + lines)
                v[it.name] = y
                blocked.setdefault(c, []).append((y - room / 2, y + room / 2))
                low = y
    assert set(v) == set(by_name)
    return {n: (u[n], v[n]) for n in by_name}, titles, shared, frames


def _passing(items: list[Item], col: dict[str, int], u: dict[str, float], v: dict[str, float], c: int,
             span: tuple[float, float]) -> list[tuple[float, float]]:
    """The intervals across that the placed edges passing over column ``c`` (from a column before it
    to one after it) take within its ``span`` along: each edge a straight line between its boxes'
    facing sides, as graphviz draws them."""
    along = {it.name: it.along for it in items}
    taken = []
    for it in items:
        for p in it.parents:
            if p in v and it.name in v and col[p] < c < col[it.name]:
                (u0, v0), (u1, v1) = (u[p] + along[p] / 2, v[p]), (u[it.name] - it.along / 2, v[it.name])
                at = [v0 + (v1 - v0) * min(max((s - u0) / max(u1 - u0, 1e-9), 0.0), 1.0) for s in span]
                taken.append((min(at), max(at)))
    return taken


def _last(members: list[Item], u: dict[str, float]) -> Item:
    """A neuron's last box along the layers (its a)."""
    return max(members, key=lambda it: u[it.name] + it.along / 2)


def _corner_free(members: list[Item], u: dict[str, float], local: dict[str, float], top: float,
                 size: tuple[float, float]) -> bool:
    """Whether a title of ``size`` (along, across) at the start of a neuron's band (``top``, across),
    level with the neuron's last box, clears every box of the neuron by ROW_GAP / 2."""
    along, across = size
    level, gap = u[_last(members, u).name], ROW_GAP / 2
    return all(u[it.name] + it.along / 2 <= level - along / 2 - gap or
               local[it.name] - it.across / 2 >= top + across + gap for it in members)


def legend_spot(items: list[Item], at: dict[str, tuple[float, float]], along: float,
                across: float) -> tuple[float, float]:
    """Where a legend of that size goes: in the drawing's bottom right corner when no box is there (a
    network's loss leaves room under it), else under the drawing's left end."""
    rects = [(at[it.name][0] - it.along / 2, at[it.name][1] - it.across / 2,
              at[it.name][0] + it.along / 2, at[it.name][1] + it.across / 2) for it in items]
    left, right = min(r[0] for r in rects), max(r[2] for r in rects)
    bottom = max(r[3] for r in rects)
    corner = (right - along - COLUMN_GAP, bottom - across - ROW_GAP, right, bottom)
    if all(r[2] <= corner[0] or r[0] >= corner[2] or r[3] <= corner[1] or r[1] >= corner[3] for r in rects):
        return right - along / 2, bottom - across / 2
    return left + along / 2, bottom + ROW_GAP + across / 2


# --------------------------------------------------------------------------------------------------
# Sizes: what graphviz will draw for a node, estimated from its label (dot is not run to measure it).
# --------------------------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")
_ROW = re.compile(r"<TR>(.*?)</TR>", re.S)
_CELL = re.compile(r"<TD[^>]*>(.*?)</TD>", re.S)
_ENTITY = re.compile(r"&[a-z]+;|&#\d+;")


def _chars(text: str) -> float:
    """The width of ``text`` in ems of Helvetica, erring wide (digits and most letters are 0.56 em)."""
    text = _ENTITY.sub("m", _TAG.sub("", text)).replace("\\\\", "\\")
    narrow = sum(ch in "ijlrtf.,:;'!| ()[]-" for ch in text)
    return 0.62 * (len(text) - narrow) + 0.34 * narrow


def size_of(attrs: dict, fontsize: float = 12) -> tuple[float, float]:
    """(width, height) in points of a node with ``attrs`` as `viz.draw` writes them (a box with an
    HTML-like table, an op ellipse, a plain legend), at ``fontsize``; a little more than graphviz draws."""
    label = attrs.get("label", "")
    if label.startswith("<<"):
        rows = _ROW.findall(label) or [label]
        pad = 2 * float(re.search(r'CELLPADDING="(\d+)"', label).group(1)) if "CELLPADDING" in label else 4
        widths, height = [], 0.0
        for r in rows:
            cells = _CELL.findall(r) or [r]
            widths.append(sum(_chars(c) * fontsize + pad + 2 for c in cells))
            height += fontsize * 1.25 + pad
        w, h = max(widths) + 6, height + 6
    else:
        text = label[1:-1] if label.startswith("<") else label
        w, h = _chars(text) * fontsize + 8, fontsize * 1.4
    if attrs.get("shape") == "plain":
        return w, h
    if attrs.get("shape") == "ellipse":
        return max(w * 1.42 + 4, 22), max(h * 1.42, 22)
    margin = [float(m) * 72 for m in attrs.get("margin", "0.11,0.055").split(",")]
    return max(w + 2 * margin[0], 54) + 4, max(h + 2 * margin[-1], 36)
