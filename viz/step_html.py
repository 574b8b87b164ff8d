"""An HTML stepper: one self-contained page (inline SVG diagram, CSS and script from ``viz/static``; no
network, works from ``file://`` and in a notebook) that walks through the forward and then the backward
pass of a graph, an op, a neuron or a layer at a time, with zoom, jumps, a node inspector and predict mode.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from functools import cache
from importlib import resources
from pathlib import Path

from autodiff import Value, Walkthrough, topological_order
from autodiff.engine import check_leaves
from autodiff.files import write_atomic
from autodiff.graph import not_a_value, walk_leaves
from autodiff.primitives import as_real, quoted
from autodiff.steps import fmt, shown_label
from viz.examples import ExampleWalkthrough, example_svg, table_rows, walkthrough
from viz.levels import (
    LEVELS,
    LOSS,
    Group,
    deltas,
    describe,
    formula,
    groups,
    neuron_units,
    outputs_given,
    regroup,
    rule_asked,
)

__all__ = ["HtmlStepper", "step_html", "LEVELS"]

_LEVEL_TEXT = {"layer": "a layer at a time", "neuron": "a neuron at a time", "op": "each operation"}


def _static(name: str) -> str:
    return resources.files("viz").joinpath("static", name).read_text(encoding="utf-8")


def json_for_script(data: object) -> str:
    """``data`` as JSON safe inside ``<script type="application/json">``: ``<``, ``>``, ``&`` and the
    line separators U+2028/U+2029 written as ``\\uXXXX`` escapes, so no text in it can close the script
    element or open another (JSON.parse reads the escapes back). Raises ValueError on inf or NaN."""
    text = json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


#: the most boxes and op nodes the stepper gives graphviz whatever ``max_nodes`` says: dot's layout time
#: grows much faster than the graph (the README loss with its neurons collapsed, 1,265 nodes, still
#: took dot over 40 s), so bigger graphs get the linear-time layered layout instead.
DOT_LIMIT = 600


def _diagram(root: Value, order: list[Value], names: dict[Value, str], level: str, max_nodes: int,
             collapse: str | None) -> tuple[str, list[str], str]:
    """(svg, the SVG id of the box showing each node by topological position, how it was drawn).

    graphviz (`viz.draw`) draws the graph when it has at most ``min(max_nodes, DOT_LIMIT)`` boxes and op
    nodes; past that a network's neurons are collapsed (at the neuron and layer levels, or with
    ``collapse="neuron"``), and a graph still too big, or with no neuron to collapse, is laid out by
    `viz.layered` in linear time. Raises ValueError for ``collapse="neuron"`` on a graph with no neuron."""
    from viz.draw import GraphTooLarge, draw, node_id
    from viz.layered import layered_svg

    limit = min(max_nodes, DOT_LIMIT)
    count = len(order) + sum(1 for n in order if not n.is_leaf)
    svg = None
    if collapse is None and count <= limit:
        svg, how = _whole(lambda rankdir: draw(root, show_grad=False, max_nodes=limit, rankdir=rankdir,
                                               _where="step_html")), "graphviz"
    elif (collapse == "neuron" or level != "op") and _may_collapse(order, collapse):
        try:
            svg = _whole(lambda rankdir: draw(root, show_grad=False, collapse="neuron", max_nodes=limit,
                                              rankdir=rankdir, _where="step_html"))
            how = "graphviz, neurons collapsed"
        except GraphTooLarge:  # still too many boxes: the layered layout below
            pass
        except ValueError:  # no neuron to collapse
            if collapse == "neuron":
                raise
    if svg is None:
        svg = layered_svg(order, [names[n] for n in order])  # its ops and roles are order[-1]'s: root's
        return svg, [node_id(i) for i in range(len(order))], "layered"
    present = set(re.findall(r'id="(n\d+)"', svg))
    boxes = [node_id(i) for i in range(len(order))]
    pos = {n: i for i, n in enumerate(order)}
    users: dict[int, int] = {}
    for i, n in enumerate(order):
        for p in n.parents:
            users.setdefault(pos[p], i)
    for i in reversed(range(len(order))):  # a node hidden in a collapsed neuron shows as its user's box
        if boxes[i] not in present and i in users:
            boxes[i] = boxes[users[i]]
    return svg, boxes, how


#: the diagram's pane on a 1400×900 page, in px: the page opens a drawing whole when it fits there at 75%
#: (its smallest text, 11 pt, is then 11 px), and `_whole` draws it top to bottom when only that fits
PANE = (849, 850)
SIDE = 40  # pt the page's script adds to each side of graphviz's drawing (room for a line of numbers)


def _may_collapse(order: list[Value], collapse: str | None) -> bool:
    """Whether the page may draw the neurons collapsed: not when a neuron is computed more than once
    (the model called on several inputs, a loss over a few examples). A collapsed neuron is one box for
    every call, and the page steps each call on its own: the other calls' steps lit boxes of the loss
    (the tester's 3-point loss, 2 steps in 3). Then the page draws every node (graphviz or
    `viz.layered`); with ``collapse="neuron"`` asked for, ValueError saying what to do instead."""
    from viz.levels import neuron_units

    calls: dict[tuple, int] = {}
    for unit in neuron_units(order).values():
        if len(unit) == 3:
            calls[unit[:2]] = max(calls.get(unit[:2], 0), unit[2] + 1)
    if calls and collapse == "neuron":
        (layer, neuron), k = max(calls.items(), key=lambda kv: kv[1])
        raise ValueError(f"step_html: collapse='neuron' draws one box per neuron, and this graph computes "
                         f"layers.{layer}.neurons.{neuron} {k} times (the model called on {k} inputs): a "
                         "step of one call would light the box of another. Leave collapse unset (every "
                         "node is drawn), or step one example with example=0")
    return not calls


def _whole(drawing) -> str:
    """The SVG of ``drawing(rankdir)`` left to right, or top to bottom when only that fits the page's pane
    whole at a readable 75% (a pt is then a px): the classic neuron, 1,036 pt wide left to right, opened
    with its output cut off at the pane's edge, and fits top to bottom at 95%."""
    from viz.draw import render_svg

    def fits(svg: str) -> bool:  # an SVG without graphviz's size in pt (a renderer hook's) is taken as is
        size = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
        return size is None or float(size[1]) + 2 * SIDE <= PANE[0] and float(size[2]) <= PANE[1]

    svg = render_svg(_roomy(drawing("LR")))
    if fits(svg):
        return svg
    tall = render_svg(_roomy(drawing("TB")))
    return tall if fits(tall) else svg


def _roomy(graph):
    """The diagram with room for what the page writes around each box: its name above and its line of
    numbers below. nodesep spaces the boxes of one rank (at 75% zoom the numbers ran into the next box's
    name); pad (inches: 0.1 each side, 0.3 above and below) takes the picture's edges past the top box's
    name and the bottom box's numbers, which graphviz's bounding box leaves out and the SVG's viewBox
    would cut off (the value under the bottom leaf fell 11-16 px below it)."""
    graph.graph_attr["nodesep"] = "0.5"
    graph.graph_attr["pad"] = "0.1,0.3"
    return graph


def _frames(walk: Walkthrough) -> list[dict]:
    """What changes at each fine frame, for the page's script: new values, new gradients, the node, the
    text, and (backward frames) the gradients the learner is asked to predict."""
    pos, names = walk.position, walk.names
    frames = []
    for frame, kind in enumerate(walk.kinds):
        step, node = walk.step(frame), walk.node(frame)
        item = {"kind": kind, "node": None if node is None else pos[node], "text": walk.text(frame),
                "touched": [], "values": {}, "grads": {}, "asks": [], "hint": ""}
        if kind == "start":
            item["values"] = {pos[n]: walk.at(n.data) for n in walk.given}
        elif kind == "forward":
            item["values"] = {pos[node]: walk.at(step.result)}
            item["touched"] = sorted({pos[p] for p in step.parents})
        elif kind == "seed":
            item["grads"] = {pos[n]: walk.at(g) for n, g in walk.prior.items()} | {pos[walk.root]: walk.seed}
        else:
            after = {p: walk.at(g) for p, g in zip(step.parents, step.running, strict=True)}  # last use wins
            item["grads"] = {pos[p]: g for p, g in after.items()}
            item["touched"] = sorted(pos[p] for p in after)
            item["asks"] = [{"pos": pos[p], "name": names[p], "label": f"{names[p]}.grad", "value": g}
                            for p, g in after.items()]
            upstream = fmt(walk.at(step.upstream))
            item["hint"] = rule_asked(step, names, " = ?") + f"\n\nwith {names[node]}.grad = {upstream}"
        frames.append(item)
    return frames


def _uses(walk: Walkthrough, first_backward: int) -> dict[int, list]:
    """Per node, each use the backward pass passes a gradient through: [user, frame, d user / d node
    as text, its value, the user's gradient, the term, the positions of the user and of the nodes the
    derivative is made of (those its text names)], for the inspector's chain-rule sum, by the user's
    position (x.0's uses in neurons 0, 1, …, as drawn)."""
    pos, names = walk.position, walk.names
    uses: dict[int, list] = {}
    for k, step in enumerate(walk.backward):
        operands = dict.fromkeys(step.parents)
        for i, p in enumerate(step.parents):
            text = step.local_text(i, names)
            # only the operands the text names: all of an n-ary node's (an L2 penalty's 337) made the
            # page grow with the square of its operands
            uses.setdefault(pos[p], []).append(
                [pos[step.node], first_backward + k, text,
                 walk.at(step.local[i]), walk.at(step.upstream), walk.at(step.contributions[i]),
                 [pos[step.node], *(pos[q] for q in operands if names[q] in text)]])
    for listed in uses.values():  # in the drawing's order (the pass reaches a layer's neurons last first)
        listed.sort(key=lambda use: use[:2])
    return uses


def _groups(walk: Walkthrough, predict: bool) -> list[dict]:
    """The coarse steps (`viz.levels`) as frame ranges, with their text, highlighted nodes and asks.
    The walkthrough's steps are first put neuron by neuron and layer by layer in a valid order of the
    same pass (`viz.levels.regroup`), so that each neuron is one step."""
    unit = neuron_units(walk.order)
    if not unit:
        return []
    for phase, steps in (("forward", walk.forward), ("backward", walk.backward)):
        steps[:] = regroup(steps, unit, phase)
    pos, nf = walk.position, len(walk.forward)
    out = []
    for level in ("layer", "neuron"):
        for phase, steps, offset in (("forward", walk.forward, 1), ("backward", walk.backward, nf + 2)):
            for g in groups(steps, unit, level, phase):
                out.append(_group_item(g, walk, unit, steps, offset, pos, predict))
    return out


def _group_item(g: Group, walk: Walkthrough, unit: dict, steps: list, offset: int, pos: dict,
                predict: bool) -> dict:
    nodes = [pos[s.node] for s in steps[g.start:g.stop]]
    given = outputs_given(g, walk, unit)
    asks = [] if g.phase == "forward" else [
        {"pos": pos[z], "name": walk.names[z], "label": f"δ of {Group('neuron', g.phase, key, 0, 0).title}",
         "value": d}
        for key, z, d in deltas(g, walk, unit)] + [
        {"pos": pos[n], "name": walk.names[n], "label": f"{walk.names[n]}.grad", "value": grad}
        for n, grad in given]
    return {"level": g.level, "phase": g.phase, "first": offset + g.start, "last": offset + g.stop - 1,
            "title": g.title, "loss": g.key == LOSS,
            "nodes": nodes, "text": describe(g, walk, unit), "asks": asks, "math": formula(g, walk, unit),
            "hint": describe(g, walk, unit, ask=True, given=[n for n, _ in given]) if predict and asks
            else ""}


class HtmlStepper:
    """A step-through page for ``root``'s graph; ``html`` is the page, ``save(path)`` writes it and a
    notebook shows it inline (``_repr_html_``, a sandboxed iframe).

    level       where the page starts: "op" (each operation), "neuron" (a neuron's z, a and δ at a time)
                or "layer", in any case ("Neuron"); the last two need a network built by `nn` (its
                neurons' z and a nodes, found with `nn.locate`). The learner can switch level and open
                a step in place on the page.
    predict     ask for each new gradient (for a neuron, its δ) before revealing it; an answer a is right
                when ``|a - g| <= tolerance * max(1, |g|)``.
    example     on a batched graph (`autodiff.batched`), the example whose numbers are shown (default 0);
                on a loss over several examples (the model called once per example, `viz.examples`), the
                example whose part of the graph is stepped, the other examples' part summed into one step
                (default: example 0 when the graph has more than `viz.examples.WHOLE_LIMIT` nodes);
                "all" steps the whole graph.
    max_nodes   graphviz lays out graphs up to this many boxes and op nodes (never more than
                `DOT_LIMIT`, 600: dot's time grows fast); a bigger network is drawn with its neurons
                collapsed (level "neuron"/"layer"), and a graph still too big, or any other graph, with
                a quick layered layout (`viz.layered`), so no graph is refused.
    collapse    "neuron" to draw each neuron as one box; when even that is too big the page falls back
                to the layered layout. None (default) chooses.

    Raises TypeError when ``root`` is not a Value, ``predict`` not a bool or ``title`` not a str, and
    ValueError for an unknown level, a level the graph has no neurons for, a tolerance that is not a
    finite number > 0, a max_nodes < 1, or an example the graph does not hold or cannot tell apart
    (`viz.examples.walkthrough`).
    """

    def __init__(self, root: Value, *, predict: bool = False, tolerance: float = 1e-3,
                 title: str = "deltagrad stepper", example: int | str | None = None, level: str = "op",
                 max_nodes: int = 300, collapse: str | None = None):
        if not isinstance(root, Value):
            raise TypeError(not_a_value(root, f"the HTML stepper needs a Value (the output of a "
                                              f"computation), got {type(root).__name__}",
                                        "viz.step_html(model(x)[0], path)"))
        if not isinstance(predict, bool):
            raise TypeError(f"step_html: predict must be True or False, got {predict!r}")
        if not isinstance(title, str):
            raise TypeError(f"step_html: title must be a str, got {title!r}")
        r = as_real(tolerance) if isinstance(tolerance, (int, float)) else None   # ±inf past the floats
        if r is None or not math.isfinite(r) or not r > 0:
            raise ValueError(f"step_html: tolerance must be a finite number > 0 (the relative error an "
                             f"answer may have, e.g. 1e-3), got {quoted(tolerance)}")
        if isinstance(level, str):  # "Neuron", "OP": any case, as nn takes an activation's name
            level = level.lower()
        if level not in LEVELS:
            raise ValueError(f"step_html: level must be one of {', '.join(map(repr, LEVELS))}, got {level!r}")
        if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
            raise ValueError(f"step_html: max_nodes must be a positive int, got {max_nodes!r}")
        if collapse not in (None, "neuron"):
            raise ValueError(f"step_html: collapse must be None or 'neuron', got {collapse!r}")
        check_leaves(*walk_leaves(root)[:2], "step_html")   # a leaf set by hand, refused by this name
        order = topological_order(root)
        walk = walkthrough(root, example, order, caller="step_html")
        if isinstance(walk, ExampleWalkthrough):  # one example's part of a bigger graph: its own drawing
            svg, boxes, self.drawing = example_svg(walk), [f"n{i}" for i in range(len(walk.order))], "layered"
        else:  # drawn before the backward pass, so the diagram shows no gradient yet
            svg, boxes, self.drawing = _diagram(root, order, walk.names, level, max_nodes, collapse)
        grouped = _groups(walk, predict)
        if level != "op" and not grouped:
            raise ValueError(f"step_html: level={level!r} needs a network built by nn (nodes a model "
                             "labelled as a neuron's z and a); this graph has none: use level='op'")
        self.walkthrough, self.predict, self.path, self.node_ids = walk, predict, None, boxes
        frames = _frames(walk)
        data = {"nodes": [{"id": boxes[i], "name": walk.names[n], "op": walk.op(n),
                           "label": bool(n.label), "own": boxes[i] == f"n{i}",
                           # a label several nodes share: the box shows it, the text a name made unique
                           **({"shared": shared} if n.label
                              and (shared := shown_label(n.label)) != walk.names[n] else {})}
                          for i, n in enumerate(walk.order)],
                # the table's rows and the names to find, in reading order: the leaves as the start
                # frame lists them, then each computed node in the order the page computes it
                "rows": table_rows(walk),
                "frames": frames, "groups": grouped, "uses": _uses(walk, len(walk.forward) + 2),
                "level": level, "levels": [lv for lv in LEVELS if lv == "op" or grouped],
                "predict": predict, "tolerance": tolerance, "layered": self.drawing == "layered",
                # a batched graph's page names the example it shows beside every step, as the terminal does
                "example": None if walk.example is None else f"example {walk.example} of {walk.batch_size}"}
        try:
            payload = json_for_script(data)
        except ValueError:
            raise ValueError("step_html: the graph holds a value or gradient that is not a finite number "
                             "(inf or NaN), which a page cannot show; find it with autodiff.Walkthrough "
                             "and fix the computation") from None
        self.html = _render_page(title=title, svg=svg, data=payload, predict=predict, level=level,
                                 levels=data["levels"])

    def save(self, path: str | Path) -> HtmlStepper:
        """Write the page to ``path`` atomically (a temporary file beside it, then a rename)."""
        self.path = Path(path)
        write_atomic(self.path, self.html)
        return self

    def _repr_html_(self) -> str:
        # An iframe keeps the page's script, styles and ids apart from the notebook's and from other
        # steppers; sandbox="allow-scripts" without allow-same-origin gives the page an opaque origin,
        # so nothing in it can reach the notebook.
        return (f'<iframe sandbox="allow-scripts" srcdoc="{html.escape(self.html, quote=True)}" '
                'style="width:100%;height:720px;border:1px solid #ddd" title="deltagrad stepper"></iframe>')


@cache
def _template():
    """The page's Jinja2 template with its CSS and script, compiled once per process."""
    from jinja2 import Environment

    css, js = _static("stepper.css"), _static("stepper.js")
    assert "</" not in css and "</script" not in js.lower(), "static files must not close their element"
    return Environment(autoescape=True, keep_trailing_newline=True).from_string(_static("stepper.html")), \
        css, js


def _render_page(*, title: str, svg: str, data: str, predict: bool, level: str, levels: list[str]) -> str:
    """The page from the package's template: title and attributes autoescaped by Jinja2; the SVG (drawn
    by graphviz or `viz.layered`, which escape every label), the JSON (`json_for_script`), the CSS and
    the script go in as they are."""
    from markupsafe import Markup

    page, css, js = _template()
    return page.render(title=title, css=Markup(css), js=Markup(js), svg=Markup(svg), data=Markup(data),
                       mode="predict" if predict else "step", level=level,
                       levels=[(lv, _LEVEL_TEXT[lv]) for lv in levels])


def step_html(root: Value, path: str | Path, predict: bool = False, *, tolerance: float = 1e-3,
              example: int | str | None = None, level: str = "op", max_nodes: int = 300,
              collapse: str | None = None, title: str = "deltagrad stepper") -> HtmlStepper:
    """Write the step-through page for ``root``'s graph to ``path`` and return it (a notebook cell
    ending in this call shows the page inline). Options and errors as for `HtmlStepper`; ``path`` a str
    or path-like, else TypeError, and the errors of `autodiff.files.write_atomic` (a missing folder, a
    read-only file), each of them starting ``step_html:``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"step_html: path must be a file name (a str or a pathlib.Path), got "
                        f"{type(path).__name__} {quoted(path)}")
    page = HtmlStepper(root, predict=predict, tolerance=tolerance, example=example, level=level,
                       max_nodes=max_nodes, collapse=collapse, title=title)
    try:
        return page.save(path)
    except (OSError, ValueError) as e:  # write_atomic's, named by the function the user called
        raise _named(e, "step_html") from None


def _named(e: OSError | ValueError, who: str) -> OSError | ValueError:
    """``e`` again, its message starting ``who:`` (its type, and an OSError's errno and file, kept)."""
    if isinstance(e, OSError) and e.errno is not None:
        return type(e)(e.errno, f"{who}: {e.strerror}", *([e.filename] if e.filename is not None else []))
    return type(e)(f"{who}: {e}")
