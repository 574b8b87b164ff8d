"""Computation graphs as graphviz diagrams: `draw` builds the DOT graph, `render` writes it as .svg, .png,
.pdf or .dot (with the system `dot`, or the `graphviz-pure` package when there is none), `show` displays it
in a notebook.

Every value is a box (its label, data and grad) and every op its own small node between operands and result,
as in micrograd. Ids are stable: they come from the topological position ``i`` of a value in
``autodiff.topological_order(root)``, never from ``id()``, so the same graph gives the same DOT text, and
every node and edge carries an ``id`` that survives into the SVG (the HTML stepper addresses them):

    n{i}        the box of value i                    op{i}      the op node that computes value i
    e{i}_{k}    the edge from operand k of value i    e{i}       the edge from op{i} into n{i}
                (k is the position in ``parents``,
                0-based; ``x * x`` has e{i}_0 and e{i}_1)
    cl{L}_{J}   the cluster of neuron J of layer L (0-based, as in the label ``layers.L.neurons.J.``;
                a standalone Layer's neuron J: cl_{J})
    legend      the legend

With ``collapse="neuron"`` a neuron is one box with the id ``n{i}`` of its output (its ``a``, or its ``z``
when linear), and an edge between two drawn boxes is ``c{i}_{j}`` (from value i to value j); the box
``all{i}`` and its edge ``e{i}_all`` stand for the many values hidden in the neurons that op{i} reads
(nn.l2's Σ w²); with ``max_per_layer`` the neurons of a layer left out are one box ``n{i}`` (i the output of
the last of them). Drawn for a slide (``preset="slide"``, collapsed) the nodes after the network are one
table box ``n{i}`` (i the last of them, the loss) with edges ``c{j}_{i}``, and each layer has a title
``layer{L}``. A network is laid out by `viz.network_layout` (positions pinned; each cluster then holds
``cl{L}_{J}_title``: LR, an invisible point that makes room for graphviz's title over the neuron; TB, the
title itself, a text box level with the neuron's a, clear of the edges; and ``cl{L}_{J}_corner0`` and
``_corner1``, invisible points at two corners of its frame, which neato would draw tight round the
nodes); other graphs by dot.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sysconfig
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

from autodiff import Value, topological_order
from autodiff.engine import check_leaves
from autodiff.files import write_atomic
from autodiff.graph import not_a_value, walk_leaves
from autodiff.primitives import quoted
from autodiff.steps import node_names, op_expression
from viz.style import ROLE_STYLE, roles

if TYPE_CHECKING:  # graphviz is imported by the functions that need it: `import viz` stays light
    import graphviz

__all__ = ["draw", "render", "render_bytes", "render_svg", "svg_renderer", "show", "Diagram", "RenderError",
           "GraphTooLarge", "LayeredDiagram", "node_id", "op_id", "edge_id", "roles", "FORMATS"]

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
_PURE_FORMATS = ("svg", "png")  # what graphviz-pure writes (no pdf yet)
_FONT = "Helvetica"

_HIGHLIGHT = "#d62728"


class RenderError(RuntimeError):
    """No renderer could write the format asked for, or the renderer failed."""


def node_id(i: int) -> str:
    """The id of the box of the value at topological position ``i``."""
    return f"n{i}"


def op_id(i: int) -> str:
    """The id of the op node computing the value at topological position ``i``."""
    return f"op{i}"


def edge_id(i: int, k: int | None = None) -> str:
    """The id of the edge carrying operand ``k`` into op{i}, or (k None) of the edge op{i} -> n{i}."""
    return f"e{i}" if k is None else f"e{i}_{k}"


def _cluster_id(key: tuple[int | None, int]) -> str:
    layer, neuron = key
    return f"cl{'' if layer is None else layer}_{neuron}"


def _cluster_title(key: tuple[int | None, int]) -> str:
    layer, neuron = key
    return (f"layer {layer + 1} · " if layer is not None else "") + f"neuron {neuron + 1}"


# --------------------------------------------------------------------------------------------------
# What each node is: its neuron, learnt from nn's public naming contract (`nn.locate`); its role is
# `roles` (in viz.style, shared with viz.layered).
# --------------------------------------------------------------------------------------------------

def _neurons(order: list[Value], places: dict) -> dict[Value, tuple]:
    """Node -> (layer, neuron) for the nodes of a neuron built by nn: those it labelled (its w, b, z and
    a, `nn.locate`), and the unlabelled interior nodes used only inside it (the products and partial
    sums of z). Inputs and constants stay outside."""
    children: dict[Value, list[Value]] = {v: [] for v in order}
    for v in order:
        for p in v.parents:
            children[p].append(v)
    key = {v: (at.layer, at.neuron) for v, at in places.items() if at.neuron is not None}
    for v in reversed(order):  # children before parents
        if v in key or v.label or v.is_leaf:
            continue
        keys = {key.get(c) for c in children[v]}
        if len(keys) == 1 and None not in keys:
            key[v] = keys.pop()
    return key


class _Graph:
    """What `draw` knows about the graph: the topological order and positions, roles, each node's nn
    location and neuron, the neurons' members, and the node that stands for each value in the picture."""

    def __init__(self, root: Value, parameters: Iterable[Value] | None, collapse: str | None,
                 fold: bool = False, max_per_layer: int | None = None, where: str = "draw"):
        from nn import locate

        self.root = root
        self.order = topological_order(root)
        self.pos = {v: i for i, v in enumerate(self.order)}
        self.role = roles(root, parameters)
        self.places = {v: at for v in self.order if v.label and (at := locate(v.label)) is not None}
        self.neuron_of = _neurons(self.order, self.places)
        self.members: dict[tuple, list[Value]] = {}
        for key in sorted(set(self.neuron_of.values()), key=_reading_order):
            self.members[key] = []
        for v in self.order:
            if v in self.neuron_of:
                self.members[self.neuron_of[v]].append(v)
        if collapse == "neuron" and not self.members:
            raise ValueError(f"{where}: collapse='neuron' found no neuron in this graph (nodes labelled "
                             "'layers.L.neurons.J.…' by nn); draw it without collapse")
        self.collapsed = collapse == "neuron"
        # a neuron not drawn -> the neuron whose box (⋮) stands for the run of them it belongs to
        self.stand_in = _elided(self.members, max_per_layer) if self.collapsed else {}
        # a compact drawing folds the nodes after the network into one table, and writes there the
        # leaves only they read (constants, a target) instead of drawing them
        self.folded = _after_network(self.order, self.neuron_of) if fold and self.collapsed else []
        self.folded_set = set(self.folded)
        self.inlined = _read_only_by(self.order, self.folded_set) - set(self.neuron_of)
        self.shown = [v for v in self.order if not (self.collapsed and v in self.neuron_of)
                      and v not in self.inlined and v not in self.folded_set]
        # a label several nodes share (x.0 of each call of a model on floats) is drawn as the steppers
        # name it, x.0@v2 and x.0@v39, so the boxes can be told apart and the step text's names are found
        self.names = node_names(self.order)
        # a neuron computed more than once (the model called on several examples): each call's z and a
        # -> (its call, 1, 2, … in the order the calls were made, and that call's output: a, or z)
        self.calls: dict[Value, tuple[int, Value]] = {}
        for ms in self.members.values():
            outputs = self.outputs(ms)
            if len(outputs) > 1:
                for c, (z, a) in enumerate(outputs, 1):
                    self.calls.update({v: (c, a if a is not None else z) for v in (z, a) if v is not None})

    def unit(self, v: Value) -> int:
        """The topological position of the node that stands for v in the drawing."""
        if self.collapsed and v in self.neuron_of:
            key = self.neuron_of[v]
            return self.pos[self.members[self.stand_in.get(key, key)][-1]]
        if v in self.folded_set:
            return self.pos[self.folded[-1]]
        return self.pos[v]

    def title(self, v: Value) -> str:
        """The text a box starts with: its label (inside a neuron's cluster, without the neuron's prefix);
        an unlabelled root after a network is the loss."""
        at = self.places.get(v)
        if at is not None and v in self.neuron_of:
            return f"w.{at.index}" if at.role == "weight" else {"bias": "b"}.get(at.role, at.role)
        if v is self.root and not v.label and self.members and v not in self.neuron_of:
            return "loss"
        return self.names[v] if v.label else v.label

    def is_z(self, v: Value) -> bool:
        at = self.places.get(v)
        return at is not None and at.role == "z" and v in self.neuron_of

    def outputs(self, members: list[Value]) -> list[tuple[Value | None, Value | None]]:
        """A neuron's (z, a) of each call, in call order (one pair when it is computed once; a is None
        for a linear neuron)."""
        zs = [v for v in members if self.is_z(v)]
        a_of = {v.parents[0]: v for v in members
                if (at := self.places.get(v)) is not None and at.role == "a" and v.parents}
        return [(z, a_of.get(z)) for z in zs] or [(None, _activation(self, members))]

    def count(self) -> int:
        """Drawn nodes: values and ops, a box per collapsed neuron, and a row per folded value."""
        return (len(self.shown) + sum(1 for v in self.shown if not v.is_leaf)
                + (len(self.members) - len(self.stand_in) + len(set(self.stand_in.values()))
                   if self.collapsed else 0) + len(self.folded))


def _elided(members: dict[tuple, list[Value]], most: int | None) -> dict[tuple, tuple]:
    """For each layer of more than ``most`` neurons, its first ⌈(most - 1)/2⌉ and last ⌊(most - 1)/2⌋ drawn
    and one box between them for the rest, as a wide layer is drawn by hand (n1 … n8, ⋮, n17 … n24):
    each neuron not drawn -> the last of them, whose box id the ⋮ box takes."""
    if most is None:
        return {}
    layers: dict[int | None, list[tuple]] = {}
    for key in members:  # in reading order
        layers.setdefault(key[0], []).append(key)
    stand_in = {}
    for keys in layers.values():
        if len(keys) > most:
            hidden = keys[(most - 1 + 1) // 2:len(keys) - (most - 1) // 2]
            stand_in.update(dict.fromkeys(hidden, hidden[-1]))
    return stand_in


def _after_network(order: list[Value], neuron_of: dict[Value, tuple]) -> list[Value]:
    """The computed nodes outside the neurons that read a neuron's value, directly or through each
    other (a network's loss and its parts), in topological order."""
    after: set[Value] = set()
    for v in order:
        if not v.is_leaf and v not in neuron_of and any(p in neuron_of or p in after for p in v.parents):
            after.add(v)
    return [v for v in order if v in after]


def _read_only_by(order: list[Value], users: set[Value]) -> set[Value]:
    """The leaves whose every child is in ``users``."""
    children: dict[Value, set[Value]] = {}
    for v in order:
        for p in v.parents:
            children.setdefault(p, set()).add(v)
    return {v for v in order if v.is_leaf and v in children and children[v] <= users}


def _reading_order(key: tuple) -> tuple[int, int]:
    """Neurons in reading order: by layer (a standalone Layer's first), then by index."""
    layer, neuron = key
    return (-1 if layer is None else layer, neuron)


# --------------------------------------------------------------------------------------------------
# Labels: HTML-like labels, where & < > " need entities and graphviz still expands \N \G \E \L \T \H
# (so a backslash is doubled); characters XML cannot hold (controls, lone surrogates) and the invisible
# format characters (Cf: bidi controls, which turned the numbers beside a label around) are shown as escapes,
# as `autodiff.steps.shown_label` shows them in the steppers.
# --------------------------------------------------------------------------------------------------

def _visible(ch: str) -> str:
    if unicodedata.category(ch) in ("Cc", "Cs", "Cf") or ch in "\ufffe\uffff":
        return ch.encode("unicode_escape", "backslashreplace").decode("ascii")
    return ch


def label_text(text: str) -> str:
    """``text`` for a graphviz HTML-like label (`draw`'s, and `viz.frames`' captions), shown verbatim:
    ``a\\Nb`` stays ``a\\Nb``, a tab shows as ``\\t``, a lone surrogate as ``\\udc80``, a bidi control
    as ``\\u202e``."""
    shown = "".join(_visible(ch) for ch in text)
    return html.escape(shown, quote=True).replace("\\", "\\\\")


_esc = label_text  # the short name the label builders below use


def _num(x, precision: int) -> str:
    if x.__class__ is not float:
        return "[batch]" if getattr(x, "ndim", 0) else _num(float(x), precision)
    return f"{x + 0.0:.{precision}g}"  # + 0.0 turns -0.0 into 0.0


def _grad_text(v: Value, precision: int) -> str:
    return _num(v.grad, precision) if v.has_grad else "—"


def _data_and_grad(v: Value, precision: int = 4) -> str:
    """``v``'s data and grad as a diagram writes them under a box: "data 0.5 · grad —"."""
    return f"data {_num(v.data, precision)} · grad {_grad_text(v, precision)}"


def _value_label(title: str, v: Value, precision: int, show_grad: bool, is_z: bool) -> str:
    cells = [f'<TD BORDER="1" SIDES="L">data {_num(v.data, precision)}</TD>']
    if show_grad:
        name = "δ" if is_z else "grad"
        cells.append(f'<TD BORDER="1" SIDES="L">{name} {_grad_text(v, precision)}</TD>')
    if title:
        cells.insert(0, f"<TD><B>{_esc(title)}</B></TD>")
    else:
        cells[0] = cells[0].replace(' BORDER="1" SIDES="L"', "")
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3"><TR>' + "".join(cells) + \
        "</TR></TABLE>>"


#: a collapsed neuron computed more than this many times writes the numbers of its first calls only
CALLS_SHOWN = 3


def _box_label(gr: _Graph, key: tuple, members: list[Value], precision: int, show_grad: bool) -> str:
    """A collapsed neuron: its title, z with δ, and its activation a; computed k > 1 times (the model
    called on several examples), a line per call, ``call 2: z = … δ …, a = … grad …``, for the first
    `CALLS_SHOWN` calls and a line saying how many more, never one call's z beside another's δ."""
    outputs = gr.outputs(members)
    rows = [f"<B>{_esc(_cluster_title(key))}</B>"]

    def number(v: Value, name: str) -> str:
        text = f"{_num(v.data, precision)}"
        return text + (f"   {name} {_grad_text(v, precision)}" if show_grad else "")

    if len(outputs) == 1:
        (z, a), = outputs
        for v, text in ((z, "z = Σ w·x + b"), (a, f"a = {a.primitive.symbol}(z)" if a is not None else "")):
            if v is not None:
                rows.append(f"{_esc(text)} = {number(v, 'δ' if v is z else 'grad')}")
    else:
        a = outputs[0][1]
        rows.append(_esc(f"z = Σ w·x + b{f', a = {a.primitive.symbol}(z)' if a is not None else ''}"
                         f", computed {len(outputs)} times"))
        for c, (z, a) in enumerate(outputs[:CALLS_SHOWN], 1):
            rows.append(f"call {c}: z = {number(z, 'δ')}" + (f",  a = {number(a, 'grad')}" if a else ""))
        if len(outputs) > CALLS_SHOWN:
            rows.append(f"⋮ calls {CALLS_SHOWN + 1}–{len(outputs)} in the table or the steppers")
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">' + "".join(
        f"<TR><TD>{r}</TD></TR>" for r in rows) + "</TABLE>>"


def _cells(cells: list[str]) -> str:
    """One line of cells, a rule between them, as `_value_label` draws a value."""
    rest = "".join(f'<TD BORDER="1" SIDES="L">{c}</TD>' for c in cells[1:])
    return ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3"><TR>'
            f"<TD>{cells[0]}</TD>{rest}</TR></TABLE>>")


def _activation(gr: _Graph, members: list[Value]) -> Value | None:
    """A neuron's activation a, or None for a linear neuron."""
    return next((v for v in members if (at := gr.places.get(v)) is not None and at.role == "a"), None)


def _line_label(gr: _Graph, key: tuple, members: list[Value], precision: int, show_grad: bool) -> str:
    """A collapsed neuron on one line, for a room (its layer's title says what a and z are): n{J+1},
    its output (a, or z for a linear neuron) and δ = ∂out/∂z; a neuron computed k > 1 times (the model
    called on several examples) says so instead of showing one call's numbers as the neuron's."""
    outputs = gr.outputs(members)
    cells = [f"<B>n{key[1] + 1}</B>"]
    if len(outputs) > 1:   # no room for a line per call: the numbers are each call's, in the steppers
        return _cells([*cells, f"computed {len(outputs)} times"])
    (z, a), = outputs
    out = a if a is not None else z
    if out is not None:
        cells.append(f"{'a' if a is not None else 'z'} {_num(out.data, precision)}")
    if show_grad and z is not None:
        cells.append(f"δ {_grad_text(z, precision)}")
    return _cells(cells)


def _more_label(keys: list[tuple]) -> str:
    """The box standing for neurons not drawn (``max_per_layer``): ``⋮ │ 8 more: n9–n16``."""
    first, last = keys[0][1] + 1, keys[-1][1] + 1
    return _cells(["<B>⋮</B>", f"{len(keys)} more: n{first}–n{last}"])


def _layer_title(gr: _Graph, layer: int | None) -> str:
    """What a compact drawing writes above a layer's column: its number and what its neurons compute."""
    first = next(ms for key, ms in gr.members.items() if key[0] == layer)
    a = _activation(gr, first)
    head = "layer" if layer is None else f"layer {layer + 1}"
    return f"{head} · a = {a.primitive.symbol}(z)" if a is not None else f"{head} · z = Σ w·x + b"


#: with neurons collapsed, a node outside them reading more values hidden in them than this (nn.l2's
#: Σ w² reads every weight) is fed by one bundle edge from a box naming them, not an edge per value
BUNDLE = 4


def _hidden(gr: _Graph, v: Value) -> list[int]:
    """The positions in ``v.parents`` (v outside the neurons, neurons collapsed) of values hidden in the
    neurons and too many to draw an edge each: more than `BUNDLE`, from two or more neurons (nn.l2's
    Σ w² reads every weight). Empty when they are few; a neuron's own output is drawn, not hidden."""
    hidden = [k for k, p in enumerate(v.parents) if p in gr.neuron_of and gr.unit(p) != gr.pos[p]]
    if not gr.collapsed or v in gr.neuron_of or len(hidden) <= BUNDLE or \
            len({gr.neuron_of[v.parents[k]] for k in hidden}) < 2:
        return []
    return hidden


def _describe(gr: _Graph, values: list[Value]) -> tuple[int, str, str]:
    """(how many, what, where) of values hidden in the neurons: (304, "weights w", "layers 1–3")."""
    kinds = {(at.role if (at := gr.places.get(p)) is not None else None) for p in values}
    what = ("weights w" if kinds == {"weight"} else
            "parameters (w, b)" if all(gr.role[p] == "parameter" for p in values) else "values")
    layers = sorted({layer for layer, _ in map(gr.neuron_of.get, values) if layer is not None})
    where = (f"layer {layers[0] + 1}" if len(layers) == 1 else
             f"layers {layers[0] + 1}–{layers[-1] + 1}" if layers else "")
    return len(set(values)), what, where


def _fold_name(gr: _Graph, v: Value, precision: int) -> str:
    """How the loss table writes v: a folded or drawn value by its title or ``v{i}`` (as the steppers
    name it), a leaf written in by its label or number, a neuron's value by where it is (``L3·n1``)."""
    if v in gr.inlined:
        return v.label or _num(v.data, precision)
    if v not in gr.neuron_of:
        return gr.title(v) or f"v{gr.pos[v]}"
    layer, neuron = gr.neuron_of[v]
    where = f"n{neuron + 1}" if layer is None else f"L{layer + 1}·n{neuron + 1}"
    if v in gr.calls:   # one of several calls: named by its call, the box's output or not
        c, out = gr.calls[v]
        call = f"{where} (call {c})"
        return call if v is out else f"{gr.title(v)} of {call}"
    return where if gr.unit(v) == gr.pos[v] else f"{gr.title(v)} of {where}"


_RULE = ' BORDER="1" SIDES="L"'   # a cell's rule on its left, as between a value's data and grad


def _fold_label(gr: _Graph, precision: int, show_grad: bool) -> str:
    """The nodes after the network folded into one table, a row each in topological order: name,
    ``= op(operands)``, data and grad; the root's row on the output's green."""
    def cell(text: str, align: str, fill: str = "") -> str:
        return f'<TD ALIGN="{align}"{fill}>{text}</TD>'

    rows = ["".join([cell("", "LEFT"), cell("", "LEFT"), cell("<I>data</I>", "RIGHT", _RULE)]
                    + ([cell("<I>grad</I>", "RIGHT", _RULE)] if show_grad else []))]
    for v in gr.folded:
        hidden = _hidden(gr, v)
        operands = [_esc(_fold_name(gr, p, precision)) for k, p in enumerate(v.parents) if k not in hidden]
        if hidden:
            count, what, where = _describe(gr, [v.parents[k] for k in hidden])
            operands.insert(0, _esc(f"{count} {what}" + (f" of {where}" if where else "")))
        fill = f' BGCOLOR="{ROLE_STYLE["output"][0]}"' if v is gr.root else ""
        rows.append("".join([cell(f"<B>{_esc(_fold_name(gr, v, precision))}</B>", "LEFT", fill),
                             cell("= " + op_expression(_esc(v.primitive.symbol), operands), "LEFT", fill),
                             cell(_num(v.data, precision), "RIGHT", _RULE + fill)]
                            + ([cell(_grad_text(v, precision), "RIGHT", _RULE + fill)] if show_grad else [])))
    return ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3">'
            + "".join(f"<TR>{r}</TR>" for r in rows) + "</TABLE>>")


def _legend_label(present: list[str], has_z: bool, uncomputed: bool, collapsed: bool, local: bool,
                  ops: bool = True) -> str:
    def row(swatch: str, text: str, attrs: str = "") -> str:
        return f'<TR><TD{attrs}>{swatch}</TD><TD ALIGN="LEFT">{_esc(text)}</TD></TR>'

    rows = [row("  ", text, f' BGCOLOR="{fill}" BORDER="1"' + (' STYLE="dashed"' if style else ""))
            for fill, style, text in (ROLE_STYLE[r] for r in present)]
    if ops:
        rows.append(row("op", "operation (+, ×, tanh, …)", ' BORDER="1" STYLE="rounded"'))
    if collapsed:
        rows.append(row("  ", "a neuron, collapsed", ' BGCOLOR="#f4f0fb" BORDER="1"'))
    if has_z:
        rows.append(row("z", "pre-activation Σ w·x + b; δ = ∂out/∂z"))
    if uncomputed:
        rows.append(row("—", "grad not computed (no backward yet)"))
    if local:
        rows.append(row("→ 0.5", "edge: local derivative ∂out/∂in"))
    return ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="2" BGCOLOR="white">'
            '<TR><TD COLSPAN="2"><B>legend</B></TD></TR>' + "".join(rows) + "</TABLE>>")


def _local(prim, v: Value, parents: tuple[Value, ...], precision: int) -> list[str]:
    """∂v/∂parent for each parent, from the primitive's rule at the current values: vjp(1, out, *inputs).
    Where the rule has no answer (d/dy x**y needs log x, so x < 0 has none) the edges say "undefined"."""
    try:
        return [_num(t, precision) for t in prim.vjp(1.0, v.data, *[p.data for p in parents])]
    except (ArithmeticError, ValueError):
        return ["undefined"] * len(parents)


# --------------------------------------------------------------------------------------------------
# draw: check the options, look at the graph, make the nodes and edges, then lay them out in order.
# --------------------------------------------------------------------------------------------------

class _Picture:
    """The nodes of the drawing by cluster (None: outside any neuron) and its edges, in the order they are
    written (topological), with the drawing options."""

    def __init__(self, gr: _Graph, marked: set, precision: int, show_grad: bool, show_local: bool,
                 compact: bool = False, fontsize: float = 12):
        self.gr, self.marked, self.precision = gr, marked, precision
        self.show_grad, self.show_local = show_grad, show_local
        self.compact, self.fontsize = compact, fontsize   # a line per neuron, sized for the type
        self.groups: dict[tuple | None, list[tuple[str, dict]]] = {None: [], **{k: [] for k in gr.members}}
        self.edges: list[tuple[str, str, dict]] = []
        self.bundled: set[str] = set()   # the roles of bundle boxes drawn (for the legend)

    def add(self, group: tuple | None, name: str, **attrs) -> None:
        self.groups[group].append((name, attrs))


def _not_a_value(root: object, where: str = "draw") -> str:
    """draw's error for a root that is not a Value: for a list of Values (what a layer or an MLP
    returns, a list whatever its size) it says which one to pass. Like the steppers, draw takes one
    Value, never a list."""
    return not_a_value(root, f"{where} needs a Value (the output of a computation), got "
                             f"{type(root).__name__}",
                       f"viz.{where}(model(x)[0]{', path' if where == 'render' else ''})")


def _check_options(root, rankdir, collapse, precision, max_nodes, highlight, where: str) -> set:
    if not isinstance(root, Value):
        raise TypeError(_not_a_value(root, where))
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"{where}: rankdir must be 'LR' or 'TB', got {rankdir!r}")
    if collapse not in (None, "neuron"):
        raise ValueError(f"{where}: collapse must be None or 'neuron', got {collapse!r}")
    if isinstance(precision, bool) or not isinstance(precision, int) or not 1 <= precision <= 17:
        raise ValueError(f"{where}: precision is a number of significant digits from 1 to 17, got "
                         f"{precision!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"{where}: max_nodes must be a positive int, got {max_nodes!r}")
    marked = set(highlight)
    if any(not isinstance(v, Value) for v in marked):
        raise TypeError(f"{where}: highlight must be a set of Values of the graph")
    return marked


class GraphTooLarge(ValueError):
    """`draw` refused a graph with more boxes and op nodes than ``max_nodes`` (a ValueError)."""


def _check_size(gr: _Graph, max_nodes: int, where: str) -> None:
    count = gr.count()
    if count > max_nodes:
        hint = ("pass collapse='neuron' to draw each neuron as one box, or draw a smaller graph"
                if gr.members and not gr.collapsed else "draw a smaller graph (a node inside it as the root)")
        raise GraphTooLarge(f"{where}: the graph has {count} nodes to draw (values and ops), above "
                         f"max_nodes={max_nodes}: the layout would take long and be unreadable; {hint}, "
                         "or raise max_nodes")


def _add_value(pic: _Picture, v: Value) -> None:
    """v's box, and when v is computed its op node and the edges operands -> op -> v."""
    gr, i = pic.gr, pic.gr.pos[v]
    key, is_z = gr.neuron_of.get(v), gr.is_z(v)
    fill, style, _ = ROLE_STYLE[gr.role[v]]
    attrs = {"id": node_id(i), "shape": "box", "style": "rounded,filled" + (f",{style}" if style else ""),
             "fillcolor": fill, "margin": "0.05,0.02",
             "label": _value_label(gr.title(v), v, pic.precision, pic.show_grad, is_z)}
    if gr.role[v] == "output":
        attrs["penwidth"] = "2"
    if is_z:
        attrs["peripheries"] = "2"
    if v in pic.marked:
        attrs.update(color=_HIGHLIGHT, penwidth="3")
    pic.add(key, node_id(i), **attrs)
    if v.is_leaf:
        return
    prim = v.primitive
    op_attrs = {"id": op_id(i), "label": f"<{_esc(prim.symbol)}>", "shape": "ellipse", "style": "filled",
                "fillcolor": "#f2f2f2", "width": "0.3", "height": "0.3", "margin": "0.04,0.02"}
    if v in pic.marked:
        op_attrs.update(color=_HIGHLIGHT, penwidth="2")
    pic.add(key, op_id(i), **op_attrs)
    local = _local(prim, v, v.parents, pic.precision) if pic.show_local else None
    bundled = _bundle(pic, v)
    for k, p in enumerate(v.parents):
        if k not in bundled:
            pic.edges.append((node_id(gr.unit(p)), op_id(i), {"id": edge_id(i, k)} | (
                {"label": local[k]} if local is not None else {})))
    pic.edges.append((op_id(i), node_id(i), {"id": edge_id(i)}))


def _bundle(pic: _Picture, v: Value) -> set[int]:
    """With neurons collapsed: when v (outside the neurons) reads more than `BUNDLE` values hidden in
    two or more neurons, a box "all 337 weights w of layers 1–3" (id ``all{i}``) and one thick edge
    (``e{i}_all``) stand for them: an edge per weight would cross the whole drawing. Returns the
    positions in ``v.parents`` the bundle stands for (drawn one by one when neurons are expanded)."""
    gr = pic.gr
    hidden = _hidden(gr, v)
    if not hidden:
        return set()
    count, what, where = _describe(gr, [v.parents[k] for k in hidden])
    role = "parameter" if what != "values" else "interior"
    fill = ROLE_STYLE[role][0]
    pic.bundled.add(role)
    rows = [f"<B>all {count} {_esc(what)}</B>", _esc(f"of {where}, inside the neurons" if where else
                                                    "inside the neurons")]
    i = gr.pos[v]
    pic.add(None, f"all{i}", id=f"all{i}", shape="box", style="rounded,filled,bold", fillcolor=fill,
            label='<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
                  + "".join(f"<TR><TD>{r}</TD></TR>" for r in rows) + "</TABLE>>")
    pic.edges.append((f"all{i}", op_id(i), {"id": f"e{i}_all", "penwidth": "4", "color": "#666666",
                                            "arrowsize": "0.6"}))
    return set(hidden)


def _add_boxes(pic: _Picture) -> None:
    """One box per neuron (collapse="neuron"), with one edge from each drawn node it reads."""
    gr, seen = pic.gr, set()
    label = _line_label if pic.compact else _box_label
    for key, ms in gr.members.items():
        out = gr.unit(ms[-1])
        hidden = [k for k, last in gr.stand_in.items() if last == key]
        if hidden:  # the ⋮ box of the neurons not drawn: their edges all meet here
            attrs = {"id": node_id(out), "shape": "box", "style": "rounded,filled,dashed",
                     "fillcolor": "white", "label": _more_label(hidden)}
            if pic.marked & {v for k in hidden for v in gr.members[k]}:
                attrs.update(color=_HIGHLIGHT, penwidth="3")
            pic.add(None, node_id(out), **attrs)
        elif key not in gr.stand_in:
            attrs = {"id": node_id(out), "shape": "box", "style": "rounded,filled", "fillcolor": "#f4f0fb",
                     "label": label(gr, key, ms, pic.precision, pic.show_grad)}
            if ms[-1] is gr.root:
                attrs["penwidth"] = "2"
            if pic.marked & set(ms):
                attrs.update(color=_HIGHLIGHT, penwidth="3")
            pic.add(None, node_id(out), **attrs)
        for v in ms:
            for p in v.parents:
                if gr.unit(p) == out or (gr.unit(p), out) in seen:
                    continue
                seen.add((gr.unit(p), out))
                pic.edges.append((node_id(gr.unit(p)), node_id(out), {"id": f"c{gr.unit(p)}_{out}"}))


def _add_fold(pic: _Picture) -> None:
    """The nodes after the network as one table box (a compact drawing), with the id ``n{i}`` of the last
    of them, and one edge ``c{j}_{i}`` from each drawn box they read."""
    gr = pic.gr
    i, seen = gr.pos[gr.folded[-1]], set()
    attrs = {"id": node_id(i), "shape": "box", "style": "rounded,filled", "fillcolor": "white",
             "margin": "0.08,0.04", "label": _fold_label(gr, pic.precision, pic.show_grad)}
    if gr.root in gr.folded_set:
        attrs["penwidth"] = "2"
    if pic.marked & gr.folded_set:
        attrs.update(color=_HIGHLIGHT, penwidth="3")
    pic.add(None, node_id(i), **attrs)
    for v in gr.folded:
        hidden = _hidden(gr, v)
        for k, p in enumerate(v.parents):
            if p in gr.folded_set or p in gr.inlined or k in hidden or gr.unit(p) in seen:
                continue
            seen.add(gr.unit(p))
            pic.edges.append((node_id(gr.unit(p)), node_id(i), {"id": f"c{gr.unit(p)}_{i}"}))


def _parents_first(names: list[str], parents: dict[str, list[str]]) -> list[str]:
    """``names`` (sorted by id) reordered so that every box comes after its parents, keeping the id
    order wherever the edges allow (Kahn's algorithm, the smallest ready position first). Ids are
    topological positions, so this is ``names`` itself, except with neurons collapsed on a model called
    several times: a neuron's box has the id of its last call's output, and the loss of an earlier call
    reads it."""
    import heapq

    at = {name: k for k, name in enumerate(names)}
    waiting = {name: len(set(parents[name])) for name in names}
    children: dict[str, list[str]] = {name: [] for name in names}
    for name in names:
        for p in set(parents[name]):
            children[p].append(name)
    ready = [at[name] for name in names if waiting[name] == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        name = names[heapq.heappop(ready)]
        out.append(name)
        for c in children[name]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, at[c])
    assert len(out) == len(names), "the drawing's edges make a cycle"
    return out


def _pin(pic: _Picture, rankdir: str, legend: dict | None) -> tuple[dict[tuple, str], dict[tuple, tuple]]:
    """Give every node of a network's drawing its position (``pos="x,y!"`` in points, `viz.network_layout`):
    layers in columns, neurons in bands by index; a weight's edge runs down into the op it sits over.
    Returns each cluster's title spacer position and its frame's two corners."""
    from viz.network_layout import Item, legend_spot, place, size_of

    gr = pic.gr
    neuron_of = {name: key for key, items in pic.groups.items() if key is not None for name, _ in items}
    if gr.collapsed:
        neuron_of |= {node_id(gr.unit(ms[-1])): gr.stand_in.get(key, key) for key, ms in gr.members.items()}
    attrs_of = {name: attrs for items in pic.groups.values() for name, attrs in items}
    parents: dict[str, list[str]] = {name: [] for name in attrs_of}
    for tail, head, _ in pic.edges:
        parents[head].append(tail)

    def order_key(name: str) -> tuple[int, int]:  # value i's bundle box, its op, its box
        kind = name.rstrip("0123456789")
        return (int(name[len(kind):]), ("all", "op", "n").index(kind))

    names = _parents_first(sorted(attrs_of, key=order_key), parents)
    lr = rankdir == "LR"
    sizes = {name: size_of(attrs_of[name], pic.fontsize) for name in names}
    if pic.compact or (gr.collapsed and lr):
        # a layer's boxes as wide as its widest, so its column reads as one (and, collapsed, an edge
        # into a narrow box's side does not cross the wider box next to it on its way in)
        widest: dict = {}
        for name, key in neuron_of.items():
            widest[key[0]] = max(widest.get(key[0], 0.0), sizes[name][0])
        if pic.compact and lr:  # and wider than the title centred over it, by a margin each side: a
            for layer in widest:   # title as wide as its column ran into the edges coming in at its start
                title = size_of(_layer_title_attrs(gr, layer), pic.fontsize)[0]
                widest[layer] = max(widest[layer], title + 2 * pic.fontsize)
        for name, key in neuron_of.items():
            sizes[name] = (widest[key[0]], sizes[name][1])
            attrs_of[name]["width"] = f"{widest[key[0]] / 72:.3f}"
    items = []
    for name in names:
        w, h = sizes[name]
        items.append(Item(name, neuron_of.get(name), not gr.collapsed, w if lr else h, h if lr else w,
                          parents[name], late=name.startswith("all")))
    def title_size(key: tuple) -> tuple[float, float]:  # TB: (height, width) of the title's box
        w, h = size_of(_title_attrs(key), _TITLE_SIZE)
        return h, w

    at, titles, stacked, frames = place(items, order_key, title_across=lr, title_size=title_size)
    # a stacked leaf's edge: from its corner over its own op, or from its side down a shared op's margin,
    # into the op's top (LR; TB turned a quarter)
    ports = {False: ("sw", "n"), True: ("w", "n")} if lr else {False: ("ne", "w"), True: ("n", "w")}
    for tail, head, attrs in pic.edges:
        if tail in stacked and at[tail][1] < at[head][1]:
            attrs["tailport"], attrs["headport"] = ports[stacked[tail]]

    def pos(u: float, v: float) -> str:  # graphviz's y grows upwards
        return f"{u:.1f},{-v:.1f}!" if lr else f"{v:.1f},{-u:.1f}!"

    for name, attrs in attrs_of.items():
        attrs["pos"] = pos(*at[name])
    if pic.compact:  # each layer's title above its column (LR), or before its row (TB)
        for layer in dict.fromkeys(key[0] for key in gr.members):
            boxes = [it for it in items if it.neuron is not None and it.neuron[0] == layer]
            attrs = _layer_title_attrs(gr, layer)
            w, h = size_of(attrs, pic.fontsize)
            top = min(at[it.name][1] - it.across / 2 for it in boxes)
            attrs["pos"] = pos(at[boxes[0].name][0], top - (h if lr else w) / 2 - pic.fontsize / 2)
            pic.add(None, attrs["id"], **attrs)
    if legend is not None:
        w, h = size_of(legend, pic.fontsize)
        legend["pos"] = pos(*legend_spot(items, at, w if lr else h, h if lr else w))
    return ({key: pos(*uv) for key, uv in titles.items()},
            {key: (pos(*one), pos(*other)) for key, (one, other) in frames.items()})


def _layer_title_attrs(gr: _Graph, layer: int | None) -> dict:
    """A layer's title over its column of one-line boxes (a compact drawing)."""
    return {"id": f"layer{'' if layer is None else layer}", "shape": "plain",
            "label": '<<TABLE BORDER="0" CELLPADDING="1" BGCOLOR="white"><TR><TD><B>'
                     f"{_esc(_layer_title(gr, layer))}</B></TD></TR></TABLE>>"}


_TITLE_SIZE = 11  # points: a cluster's title, the graph's type size
# points a pinned LR cluster's title is set in from where graphviz starts it (its frame's edge and 8 more,
# which is where the ops on that edge start): the edges that come up or down steeply into those ops ran
# through the start of the titles of the neurons they pass
_INDENT = 12
_SPACER = {"shape": "point", "style": "invis", "width": "0.01", "height": "0.01", "label": ""}


def _title_attrs(key: tuple) -> dict:
    """A neuron's title as a box of its own (TB; `viz.network_layout.place` says why)."""
    return {"shape": "plain", "fontsize": f"{_TITLE_SIZE}", "label": _cluster_title(key)}


def _emit(g: graphviz.Digraph, pic: _Picture, titles: dict[tuple, str] | None, lr: bool = True,
          frames: dict[tuple, tuple[str, str]] | None = None) -> None:
    """Nodes outside any neuron, then each neuron's cluster in reading order, then every edge. With
    ``titles`` (a pinned layout) each cluster holds a point where its title goes: LR, an invisible one,
    so that graphviz frames the title it writes at the top with the nodes; TB, the title itself, a box
    in the band's corner by the neuron's last box (the cluster has no graphviz title). With ``frames``
    each cluster holds an invisible point at two opposite corners of its frame, which graphviz's neato
    would otherwise draw tight round the nodes, over the ops and boxes on its edges."""
    for name, attrs in pic.groups[None]:
        g.node(name, **attrs)
    for key, items in pic.groups.items():
        if key is None or not items:
            continue
        with g.subgraph(name=f"cluster_{_cluster_id(key)}") as c:
            boxed = titles is not None and key in titles and not lr
            label = "" if boxed else _cluster_title(key)
            if titles is not None and key in titles and lr:  # set in: see _INDENT
                label = (f'<<TABLE BORDER="0" CELLPADDING="0" CELLSPACING="0"><TR><TD WIDTH="{_INDENT}">'
                         f"</TD><TD>{html.escape(label)}</TD></TR></TABLE>>")
            c.attr(id=_cluster_id(key), label=label, style="rounded,dashed",
                   color="#888888", fontname=_FONT, labeljust="l", labelloc="t")
            for name, attrs in items:
                c.node(name, **attrs)
            if titles is not None and key in titles:
                spacer = f"{_cluster_id(key)}_title"
                if boxed:
                    c.node(spacer, id=spacer, pos=titles[key], **_title_attrs(key))
                else:
                    c.node(spacer, id=spacer, pos=titles[key], **_SPACER)
            for k, corner in enumerate(frames.get(key, ()) if frames is not None else ()):
                spacer = f"{_cluster_id(key)}_corner{k}"
                c.node(spacer, id=spacer, pos=corner, **_SPACER)
    for tail, head, attrs in pic.edges:
        g.edge(tail, head, **attrs)


def _legend_attrs(pic: _Picture) -> dict:
    gr = pic.gr
    bundled = pic.bundled
    folded = {"output"} if gr.root in gr.folded_set else set()   # the loss row of the folded table
    present = [r for r in ROLE_STYLE if r in bundled | folded or any(gr.role[v] == r for v in gr.shown)]
    has_z = not gr.collapsed and any(gr.is_z(v) for v in gr.shown)
    uncomputed = pic.show_grad and any(not v.has_grad for v in gr.order)
    ops = any(not v.is_leaf for v in gr.shown)
    return {"id": "legend", "shape": "plain",
            "label": _legend_label(present, has_z, uncomputed, gr.collapsed, pic.show_local, ops)}


def draw(root: Value, *, rankdir: str = "LR", show_grad: bool = True, show_local: bool = False,
         highlight: Iterable[Value] = (), precision: int = 4, collapse: str | None = None,
         parameters: Iterable[Value] | None = None, legend: bool = True,
         max_nodes: int = 300, preset: str | None = None,
         max_per_layer: int | None = None, _where: str = "draw") -> graphviz.Digraph:
    """The graph of ``root`` as a `graphviz.Digraph` (it displays inline in Jupyter when `dot` is installed;
    `show` works with the fallback renderer too).

    rankdir     "LR" (inputs on the left, the default) or "TB" (top to bottom).
    show_grad   show each value's grad ("—" when no backward pass has reached it, never a made-up 0).
    show_local  label each operand edge with the local derivative ∂out/∂in at the current values,
                from the primitive's own rule: ``vjp(1, out, *inputs)``; so the chain rule reads off the
                picture as grad(in) = Σ over its edges of local × grad(out).
    highlight   values drawn with a thick red outline.
    precision   significant digits of the numbers.
    collapse    "neuron": each neuron built by nn is one box (z with its δ, and a).
    parameters  the parameter leaves (say ``model.parameters()``); default: what nn labels a weight or bias.
    legend      add a legend of the roles present.
    max_nodes   refuse graphs with more drawn nodes (values and ops) than this: layout time grows fast.
    preset      a `viz.presets` name ("slide"): its attributes laid over the drawing. With a preset for
                a room (the slide) and ``collapse="neuron"`` a network is drawn for it: a line per
                neuron (``n3 │ a 0.52 │ δ 0.1``) under a title per layer (``layer 1 · a = relu(z)``),
                the nodes after the network (the loss) folded into one table box, a row each
                (``v5 = v4 + 1``; the constants written in), laid out at the preset's type size.
    max_per_layer  with ``collapse="neuron"``: the most boxes a layer takes (3 or more). A wider layer
                shows its first and last neurons and, between them, one dashed box for the rest
                (``⋮ │ 8 more: n9–n16``) where their edges meet, as a wide layer is drawn by hand; the
                box has the id ``n{i}`` of the last neuron it stands for. None (the default) draws
                every neuron; `render` with a preset picks it when a layer is too tall for the slide.

    Raises TypeError (root not a Value, highlight not Values) and ValueError (a bad option, a graph above
    ``max_nodes``), their messages starting ``draw:`` (``_where``: `render` and `show` pass their names).
    Neurons built by nn (`nn.locate` reads their labels) are grouped in clusters
    "layer L+1 · neuron J+1" and placed in reading order by `viz.network_layout` (layers left to right,
    neurons and their weights top to bottom by index; graphviz only draws the edges),
    their nodes show the label without the neuron's prefix, and the pre-activation ``z`` is drawn with a
    double outline and its grad shown as δ. An unlabelled root after a network is titled "loss". Labels
    are shown verbatim (controls and lone surrogates as escapes such as ``\\x07``).
    """
    import graphviz

    from viz.presets import apply_preset
    from viz.presets import preset as find_preset

    marked = _check_options(root, rankdir, collapse, precision, max_nodes, highlight, _where)
    check_leaves(*walk_leaves(root)[:2], _where)   # a leaf set by hand to a str, None, NaN...: named
    if max_per_layer is not None and (isinstance(max_per_layer, bool) or not isinstance(max_per_layer, int)
                                      or max_per_layer < 3 or collapse != "neuron"):
        raise ValueError(f"{_where}: max_per_layer is the most neuron boxes a layer takes, an int of 3 or "
                         "more "
                         f"(its first and last neurons and a ⋮ box for the rest), with collapse='neuron'; "
                         f"got max_per_layer={quoted(max_per_layer, 40)} and collapse={collapse!r:.40}")
    chosen = None if preset is None else find_preset(preset)
    compact = chosen is not None and chosen.compact and collapse == "neuron"
    fontsize = float(chosen.node.get("fontsize", "12")) if compact else 12.0
    gr = _Graph(root, parameters, collapse, fold=compact, max_per_layer=max_per_layer, where=_where)
    _check_size(gr, max_nodes, _where)
    g = graphviz.Digraph(name="computation", graph_attr={"rankdir": rankdir, "fontname": _FONT,
                                                       "fontsize": "11", "nodesep": "0.25",
                                                       "ranksep": "0.35"},
                         node_attr={"fontname": _FONT, "fontsize": f"{fontsize:g}"},
                         edge_attr={"fontname": _FONT, "fontsize": "10", "arrowsize": "0.7"})
    pic = _Picture(gr, marked, precision, show_grad, show_local, compact, fontsize)
    for v in gr.shown:
        _add_value(pic, v)
    if gr.collapsed:
        _add_boxes(pic)
    if gr.folded:
        _add_fold(pic)
    key = _legend_attrs(pic) if legend else None
    titles = frames = None
    if gr.members:  # a network: positions of our own, graphviz's neato only routes the edges
        titles, frames = _pin(pic, rankdir, key)
        g.graph_attr.update(layout="neato", inputscale="72", splines="false", overlap="true",
                            outputorder="edgesfirst")
        # out of a box's side facing the next layer and into the side facing the last, as dot draws
        g.edge_attr.update(tailport="e", headport="w") if rankdir == "LR" else \
            g.edge_attr.update(tailport="s", headport="n")
    else:
        g.graph_attr.update(newrank="true", mclimit="0.1")
    _emit(g, pic, titles, rankdir == "LR", frames)
    if key is not None:
        g.node("legend", **key)
    # SVG's attributes: render lays a PNG's or PDF's over them (the preset's dpi)
    return g if chosen is None else apply_preset(g, chosen, "svg")


# --------------------------------------------------------------------------------------------------
# Rendering: the system `dot`, else graphviz-pure (svg and png), else a clear error.
# --------------------------------------------------------------------------------------------------

_FIX = ("install Graphviz (apt-get install graphviz, or brew install graphviz) for svg, png and pdf, "
        "or pip install graphviz-pure for svg and png; .dot output needs neither")


def _renderers(fmt: str) -> list[str]:
    """The executables that can write ``fmt``, best first."""
    found = []
    dot = shutil.which("dot")
    if dot:
        found.append(dot)
    if fmt in _PURE_FORMATS:
        # The venv's scripts folder too: a notebook's PATH often lacks it.
        pure = shutil.which("graphviz-pure") or shutil.which("graphviz-pure",
                                                             path=sysconfig.get_path("scripts"))
        if pure:
            found.append(pure)
    return found


def render_bytes(graph: graphviz.Digraph, fmt: str, *, timeout: float = 120) -> bytes:
    """``graph`` laid out and written in format ``fmt`` ("svg", "png", "pdf" or "dot")."""
    source = graph.source
    if fmt == "dot":
        return source.encode("utf-8")
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"render: unknown format {fmt!r}; use svg, png, pdf or dot")
    tools = _renderers(fmt)
    if not tools:
        only = " (graphviz-pure writes svg and png only)" if fmt not in _PURE_FORMATS else ""
        raise RenderError(f"render: no renderer for {fmt}{only} was found: {_FIX}")
    problems = []
    for exe in tools:
        try:
            done = subprocess.run([exe, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise RenderError(f"render: {exe} took more than {timeout:g} s to lay out the graph; draw a "
                              "smaller graph or use collapse='neuron'") from None
        except OSError as e:
            problems.append(f"{exe}: {e.strerror}")
            continue
        if done.returncode == 0 and done.stdout:
            return done.stdout
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        problems.append(f"{exe}: {err[-1] if err else f'exit status {done.returncode}'}")
    raise RenderError(f"render: could not write {fmt}: " + "; ".join(problems) + f". To fix: {_FIX}")


_SVG_RENDERER: ContextVar[Callable[[str], str] | None] = ContextVar("svg_renderer", default=None)


@contextmanager
def svg_renderer(render: Callable[[str], str]) -> Iterator[None]:
    """Within the block, `render_svg` (and so `viz.step_html`'s diagram) turns DOT text into SVG text with
    ``render`` instead of the system `dot` or graphviz-pure: the playground passes Graphviz compiled to
    WebAssembly (`@viz-js/viz`), as no process can be started in the browser.

        with svg_renderer(lambda dot: my_dot_to_svg(dot)):
            page = HtmlStepper(root)
    """
    if not callable(render):
        raise TypeError(f"svg_renderer needs a function from DOT text to SVG text, got "
                        f"{type(render).__name__}")
    token = _SVG_RENDERER.set(render)
    try:
        yield
    finally:
        _SVG_RENDERER.reset(token)


def render_svg(graph: graphviz.Digraph) -> str:
    """``graph`` as SVG text (the `svg` element, without the XML prologue, ready to inline in HTML); inside
    a `svg_renderer` block, drawn by its function."""
    render = _SVG_RENDERER.get()
    svg = render(graph.source) if render is not None else render_bytes(graph, "svg").decode("utf-8")
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


# the type read across a room, in pixels on the preset's canvas: below it `render` collapses a
# network's neurons
MIN_SLIDE_PX = 14.0


def _measured(graph: graphviz.Digraph, name: str) -> tuple[graphviz.Digraph, bytes]:
    """``graph`` and its SVG with preset ``name`` applied: the measure that fits it to the canvas."""
    from viz.presets import apply_preset
    return graph, render_bytes(apply_preset(graph, name, "svg"), "svg")


def _preset_drawing(root: Value, name: str, options: dict) -> tuple[graphviz.Digraph, bytes]:
    """The graph ``render`` writes with preset ``name``, and its SVG with the preset applied (the measure
    that fits it to the canvas). Drawn as asked when ``collapse`` is given; otherwise a network above
    ``max_nodes`` (`GraphTooLarge`), or whose type would come out under ``MIN_SLIDE_PX`` on the canvas,
    is drawn a neuron to a box. A graph without neurons keeps `draw`'s own answer. A network drawn a
    neuron to a box still under ``MIN_SLIDE_PX`` gets `_fewer_per_layer`, unless ``max_per_layer`` is
    given (which implies ``collapse="neuron"``)."""
    from viz.presets import type_pixels

    if "max_per_layer" in options:
        return _measured(draw(root, **{"collapse": "neuron"} | options, preset=name), name)
    if "collapse" in options:
        drawing = _measured(draw(root, **options, preset=name), name)
        return drawing if options["collapse"] is None else _fewer_per_layer(root, name, options, drawing)
    try:
        expanded = _measured(draw(root, **options, preset=name), name)
    except GraphTooLarge as too_large:
        expanded, refusal = None, too_large
    if expanded is not None:
        px = type_pixels(expanded[1], name)
        if px is None or px >= MIN_SLIDE_PX:
            return expanded
    options = options | {"collapse": "neuron"}
    try:
        collapsed = _measured(draw(root, **options, preset=name), name)
    except GraphTooLarge:  # still too many boxes: that is the answer
        raise
    except ValueError:  # no neuron to collapse: the graph as draw drew (or refused) it
        if expanded is None:
            raise refusal from None
        return expanded
    return _fewer_per_layer(root, name, options, collapsed)


def _fewer_per_layer(root: Value, name: str, options: dict,
                     drawing: tuple[graphviz.Digraph, bytes]) -> tuple[graphviz.Digraph, bytes]:
    """``drawing`` (a network a neuron to a box, with preset ``name``), or, when its type comes out under
    ``MIN_SLIDE_PX`` because its widest layer is too tall for the canvas, the same drawn with the most
    boxes a layer (`draw`'s ``max_per_layer``) that keeps the type at ``MIN_SLIDE_PX``, with a warning
    that names what is left out and how to draw it all. Unchanged when hiding neurons does not help
    (the canvas's width, or the loss's table, is what limits the type)."""
    import warnings

    from viz.presets import type_pixels

    px = type_pixels(drawing[1], name)
    if px is None or px >= MIN_SLIDE_PX:
        return drawing
    widths: dict = {}
    for layer, _ in _Graph(root, options.get("parameters"), "neuron").members:
        widths[layer] = widths.get(layer, 0) + 1
    widest = max(widths.values())
    most, last = min(widest - 1, int(widest * px / MIN_SLIDE_PX) + 1), px
    while most >= 3:  # the type grows about as the rows drawn shrink: start from that estimate
        fewer = _measured(draw(root, **options, preset=name, max_per_layer=most), name)
        fewer_px = type_pixels(fewer[1], name)
        if fewer_px >= MIN_SLIDE_PX:
            warnings.warn(f"render: a layer of {widest} neurons is too tall for preset {name!r} "
                          f"({px:.1f} px type, under {MIN_SLIDE_PX:g}); each layer shows {most} boxes, its "
                          f"first and last neurons and a ⋮ box for the rest ({fewer_px:.1f} px). Pass "
                          f"max_per_layer={widest} to draw every neuron", UserWarning, stacklevel=4)
            return fewer
        if fewer_px <= last + 0.05:  # the height is not what limits the type
            break
        most, last = most - 1, fewer_px
    return drawing


def render(root: Value | graphviz.Digraph, path: str | os.PathLike, format: str | None = None,
           preset: str | None = None, **options) -> Path:
    """Draw ``root`` (options as for `draw`) and write it to ``path``; return the path written.

    The format comes from the suffix (.svg .png .pdf .dot) unless ``format`` is given. The file is
    written atomically. ``root`` may also be a Digraph made by `draw`. ``preset`` ("slide": 16:9, large
    type) lays the attributes of a `viz.presets` preset over the drawing and fits it to the preset's
    canvas in every format (the slide: 1920 × 1080 pixels in PNG, 16 × 9 inches in SVG and PDF). Unless
    ``collapse`` is given, a network too big for ``max_nodes`` or whose type would come out under
    ``MIN_SLIDE_PX`` (14) pixels on the canvas is then drawn with each neuron as one box
    (``collapse="neuron"``). Unless ``max_per_layer`` is given, a network a neuron to a box whose type
    still comes out under it because a layer is too tall (24 neurons a layer on the slide) shows each
    such layer's first and last neurons and a ⋮ box for the rest, as many as keep the type at 14 px,
    with a UserWarning saying so and naming ``max_per_layer`` (`draw`), which draws them all; given,
    ``max_per_layer`` implies ``collapse="neuron"``, with a preset or without.
    Raises ValueError for an unknown suffix or preset, `GraphTooLarge` for a
    graph above ``max_nodes`` that cannot be collapsed (no neurons, or still too big), and `RenderError`
    when no renderer can write the format.
    """
    import graphviz

    path = Path(path)
    fmt = format if format is not None else FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"render: cannot tell the format of {str(path)!r} from its suffix; use one of "
                         f"{', '.join(FORMATS)} or pass format=")
    if isinstance(root, graphviz.Digraph) and options:
        raise TypeError("render: drawing options go with a Value, not with a ready Digraph")
    if "max_per_layer" in options:   # a neuron to a box is what it counts: implied, as with a preset
        options = {"collapse": "neuron"} | options
    if preset is None:
        graph = root if isinstance(root, graphviz.Digraph) else draw(root, **options, _where="render")
        write_atomic(path, render_bytes(graph, fmt))
        return path
    from viz.presets import apply_preset, fit_canvas, fit_svg
    if isinstance(root, graphviz.Digraph):
        graph, svg = _measured(root, preset)
    else:
        graph, svg = _preset_drawing(root, preset, options | {"_where": "render"})
    if fmt == "svg":
        out = fit_svg(svg, preset)
    elif fmt in ("png", "pdf"):
        out = render_bytes(fit_canvas(apply_preset(graph, preset, fmt), svg, preset, fmt), fmt)
    else:  # .dot: the graph with the preset's attributes, for the user's own renderer
        out = render_bytes(apply_preset(graph, preset, fmt), fmt)
    write_atomic(path, out)
    return path


class Diagram:
    """A drawn graph that Jupyter displays as SVG (with the system `dot` or graphviz-pure)."""

    def __init__(self, graph: graphviz.Digraph):
        self.graph = graph

    @property
    def source(self) -> str:
        """The DOT text."""
        return self.graph.source

    def save(self, path: str | os.PathLike, format: str | None = None) -> Path:
        return render(self.graph, path, format)

    def _repr_svg_(self) -> str:
        return _fit(render_svg(self.graph))

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        try:
            return {"image/svg+xml": _fit(render_svg(self.graph))}
        except RenderError as e:  # say why in the notebook instead of a traceback
            return {"text/plain": f"{e}\n\n{self.source}"}

    def __repr__(self) -> str:
        return f"<Diagram: {self.source.count(' -> ')} edges; .source is the DOT text>"


def _fit(svg: str) -> str:
    """A notebook's copy of the SVG: scaled down to the output area's width (never up)."""
    return svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)


class LayeredDiagram:
    """A graph too big for graphviz, drawn in linear time by `viz.layered` (each node a box in the column
    of its depth), for a notebook cell: the HTML drawing in a box that scrolls sideways, each value's
    data and grad under its box (grad "—" where no backward pass has reached it, as in `draw`). With
    ``part`` (a `viz.examples.ExampleWalkthrough`) only that example's part is drawn, as the stepper
    draws it, under the note saying which part it is."""

    def __init__(self, root: Value, part=None):
        from autodiff.steps import node_names
        from viz.examples import example_svg
        from viz.layered import layered_svg
        if part is not None:
            self.nodes, self.note = len(part.order), part.note
            self.svg = example_svg(part, [_data_and_grad(n) for n in part.order])
            return
        order = topological_order(root)
        names = node_names(order)
        self.nodes, self.note = len(order), ""
        self.svg = layered_svg(order, [names[n] for n in order], numbers=[_data_and_grad(n) for n in order])

    def _repr_html_(self) -> str:
        note = f"<p>{html.escape(self.note)}</p>" if self.note else ""
        return f'{note}<div style="overflow-x:auto;max-width:100%">{self.svg}</div>'

    def __repr__(self) -> str:
        return f"<LayeredDiagram: {self.nodes} nodes; .svg is the drawing>"


def show(root: Value, example: int | str | None = None, **options) -> Diagram | LayeredDiagram:
    """``root``'s graph for a notebook cell: ``viz.show(loss)`` (options as for `draw`). `Value`'s own
    ``repr`` stays plain text.

    A graph above ``max_nodes`` is drawn, as the HTML stepper draws it, with each neuron as one box when
    it is a network (``collapse="neuron"``), and otherwise in linear time as a `LayeredDiagram`; one
    of more than `viz.examples.WHOLE_LIMIT` nodes (a notebook output of megabytes: the README's
    100-point loss whole is 38 MB) that holds several examples shows example 0's part (``example=k``
    another, ``example="all"`` the whole graph), as the steppers do. Pass ``collapse`` or ``max_nodes``
    yourself to get `draw`'s own choice and error.

    Raises ValueError for an example the graph does not hold (`viz.examples.walkthrough`), and for a
    graph above `viz.examples.WHOLE_LIMIT` nodes that holds one example, saying how to see it instead."""
    from viz.examples import WHOLE_LIMIT, ExampleWalkthrough, walkthrough

    part = None if example is None or example == "all" else walkthrough(root, example, caller="show")
    if isinstance(part, ExampleWalkthrough):
        return LayeredDiagram(root, part)
    try:
        return Diagram(draw(root, **options, _where="show"))
    except GraphTooLarge:
        if "collapse" in options or "max_nodes" in options:
            raise
    try:
        return Diagram(draw(root, **options, collapse="neuron", _where="show"))
    except ValueError:  # no neuron to collapse (GraphTooLarge included: still too many boxes)
        pass
    order = topological_order(root)
    if len(order) > WHOLE_LIMIT and example != "all":
        part = walkthrough(root, None, order, caller="show")
        if isinstance(part, ExampleWalkthrough):
            return LayeredDiagram(root, part)
        raise ValueError(f"viz.show: the graph has {len(order):,} nodes, more than the "
                         f"{WHOLE_LIMIT:,} a notebook output holds (its drawing would be megabytes), "
                         "and no examples to show one at a time; step it with viz.HtmlStepper(root), "
                         "draw a part (viz.show of an inner node), or ask for the whole with "
                         "example='all'")
    return LayeredDiagram(root)
