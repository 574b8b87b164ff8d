"""Presets for diagrams: named sets of graphviz attributes laid over what `viz.draw` makes, e.g. "slide"
(16:9, 1920 × 1080 pixels in PNG, large type). Used by ``viz.render(..., preset="slide")``, ``deltagrad
draw --preset slide`` and the frames of `viz.frames`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import graphviz

__all__ = ["Preset", "PRESETS", "apply_preset", "fit_svg", "fit_canvas", "preset", "type_pixels"]

# pixels of white kept between the drawing and each edge of a preset's PNG or PDF canvas
MARGIN = 24


@dataclass(frozen=True)
class Preset:
    """Graph, node and edge attributes (graphviz names), the picture's size in pixels (PNG) and in
    inches (SVG, 72 points to the inch), and whether a network drawn a neuron to a box is laid out
    ``compact``: for a room, a line per neuron and the nodes after the network folded into one table
    (`viz.draw`'s ``preset``)."""

    name: str
    graph: dict[str, str] = field(default_factory=dict)
    node: dict[str, str] = field(default_factory=dict)
    edge: dict[str, str] = field(default_factory=dict)
    pixels: tuple[int, int] | None = None
    inches: tuple[float, float] | None = None
    compact: bool = False


# 16:9 at 120 dpi: size 16 × 9 inches is 1920 × 1080 pixels. "!" scales the layout up to fill the size
# (no pad: it would widen the picture past 16:9; fit_canvas centres it); the type is about twice the
# default's. No ratio "fill": it stretched a wide drawing's layout to 16:9, leaving the legend alone at
# the top and the drawing at the bottom with half the slide empty between them.
SLIDE = Preset(
    "slide",
    graph={"size": "16,9!", "dpi": "120", "pad": "0", "nodesep": "0.4",
           "ranksep": "0.6", "fontsize": "26", "labelloc": "t", "labeljust": "l"},
    node={"fontsize": "22", "penwidth": "1.4"},
    edge={"fontsize": "18", "penwidth": "1.6", "arrowsize": "1"},
    pixels=(1920, 1080),
    inches=(16, 9),
    compact=True,
)

PRESETS: dict[str, Preset] = {SLIDE.name: SLIDE}


def preset(name: str | Preset) -> Preset:
    """The preset called ``name`` (or ``name`` itself); ValueError naming the choices otherwise."""
    if isinstance(name, Preset):
        return name
    if name not in PRESETS:
        raise ValueError(f"unknown diagram preset {name!r:.40}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def apply_preset(graph: graphviz.Digraph, name: str | Preset, format: str = "png") -> graphviz.Digraph:
    """A copy of ``graph`` with the preset's attributes laid over its own (the graph is unchanged).

    For ``format`` "svg" the dpi is left out: graphviz (2.43) scales an SVG's width and height by
    dpi/72 but not its viewBox, which crops the drawing; SVG is sized in points instead (`fit_svg`)."""
    p = preset(name)
    out = graph.copy()
    out.graph_attr.update({k: v for k, v in p.graph.items() if not (format == "svg" and k == "dpi")})
    out.node_attr.update(p.node)
    out.edge_attr.update(p.edge)
    if out.graph_attr.get("layout") == "neato" and "fontsize" in p.node:
        # a network's positions are pinned for 12-point type (viz.network_layout): spread them to the
        # preset's type size, or its bigger boxes would overlap
        spread = float(p.node["fontsize"]) / float(graph.node_attr.get("fontsize", "12"))
        out.graph_attr["inputscale"] = f"{float(graph.graph_attr.get('inputscale', '72')) / spread:g}"
    return out


_SVG_TAG = re.compile(rb"<svg\b[^>]*>")
_ATTRIBUTE = rb'\s%s="[^"]*"'
# graphviz's outer group and its background polygon (the whole layout, in the group's coordinates)
_GRAPH = re.compile(rb'(<g id="graph0" class="graph" transform=")scale\([^)]*\)( rotate\(0\) '
                    rb'translate\(([-\d.]+) ([-\d.]+)\)">\s*<title>[^<]*</title>\s*<polygon [^>]*'
                    rb'points="([^"]*)")')


def fit_svg(svg: bytes, name: str | Preset) -> bytes:
    """``svg`` (as graphviz writes it) on the preset's canvas: width and height set to its ``inches``
    in points, the drawing unscaled in a viewBox around its layout, widened (or heightened), centred,
    to the same aspect ratio, on white. (graphviz's own scale to the size is rounded to two decimals,
    which can push the drawing past the edge.) Unchanged for a preset without ``inches``; ValueError
    for an SVG not laid out by graphviz's dot."""
    p = preset(name)
    if p.inches is None:
        return svg
    tag, graph = _SVG_TAG.search(svg), _GRAPH.search(svg)
    if tag is None or graph is None:
        raise ValueError("fit_svg: not an SVG of graphviz's (no <svg> with a graph0 group and background)")
    tx, ty = float(graph.group(3)), float(graph.group(4))
    xs, ys = zip(*((float(a) for a in pair.split(b",")) for pair in graph.group(5).split()), strict=True)
    x, y, w, h = tx + min(xs), ty + min(ys), max(xs) - min(xs), max(ys) - min(ys)
    if w <= 0 or h <= 0:
        raise ValueError("fit_svg: the drawing is empty")
    aspect = p.inches[0] / p.inches[1]
    if w / h < aspect:
        x, w = x - (h * aspect - w) / 2, h * aspect
    else:
        y, h = y - (w / aspect - h) / 2, w / aspect
    new = tag.group(0)
    for attribute in (b"width", b"height", b"viewBox", b"preserveAspectRatio"):
        new = re.sub(_ATTRIBUTE % attribute, b"", new)
    size = f' width="{p.inches[0] * 72:g}pt" height="{p.inches[1] * 72:g}pt"'
    view = f' viewBox="{x:.2f} {y:.2f} {w:.2f} {h:.2f}" preserveAspectRatio="xMidYMid meet"'
    new = new[:4] + (size + view).encode() + new[4:]
    background = f'<rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" fill="white"/>'.encode()
    body = svg[tag.end():graph.start()] + graph.group(1) + b"scale(1 1)" + graph.group(2) + svg[graph.end():]
    return svg[:tag.start()] + new + background + body


def type_pixels(svg: bytes, name: str | Preset) -> float | None:
    """How many pixels tall the preset's node type comes out on its canvas for ``svg`` (the graph with the
    preset applied, as graphviz writes SVG): the type's points scaled as `fit_canvas` scales the layout
    into the canvas's ``pixels``. None for a preset without ``pixels``, ``inches`` or a node fontsize;
    ValueError for an SVG not laid out by graphviz's dot."""
    p = preset(name)
    if p.pixels is None or p.inches is None or "fontsize" not in p.node:
        return None
    return float(p.node["fontsize"]) * _pixels_per_point(p, *_layout_size(svg, "type_pixels"))


def _pixels_per_point(p: Preset, w: float, h: float) -> float:
    """The scale at which a layout of w × h points fits whole into the preset's canvas less MARGIN."""
    width, height = p.pixels
    return min((width - 2 * MARGIN) / w, (height - 2 * MARGIN) / h)


def fit_canvas(graph: graphviz.Digraph, svg: bytes, name: str | Preset,
               format: str = "png") -> graphviz.Digraph:
    """A copy of ``graph`` (the preset already applied) whose PNG or PDF is the preset's canvas exactly:
    the layout of ``svg`` (that graph as graphviz writes SVG) scaled whole into the canvas less
    ``MARGIN`` pixels on every side, and centred by graphviz's pad. graphviz's own fill cannot stretch a
    network's pinned layout, so its PNG had come out short of 16:9, and the drawing touched the edges.
    A PDF's page is the preset's ``inches`` (1152 × 648 points for the slide): it is drawn at 72 dpi
    with no margin, as graphviz otherwise adds half an inch around the page (2040 × 1199 for a slide).
    Unchanged for a preset without ``pixels``; ValueError for an SVG not laid out by graphviz's dot
    or a format other than "png" and "pdf"."""
    if format not in ("png", "pdf"):
        raise ValueError(f"fit_canvas: format must be 'png' or 'pdf', got {format!r:.40}")
    p = preset(name)
    if p.pixels is None:
        return graph
    (width, height), dpi = p.pixels, float(p.graph.get("dpi", "72"))
    w, h = _layout_size(svg, "fit_canvas")
    scale = _pixels_per_point(p, w, h)
    out = graph.copy()
    out.graph_attr["size"] = f"{width / dpi:.4f},{height / dpi:.4f}!"
    # the pad is added to the layout before graphviz scales the whole to the size: in layout inches
    out.graph_attr["pad"] = f"{(width / scale - w) / 2 / 72:.4f},{(height / scale - h) / 2 / 72:.4f}"
    if format == "pdf":
        out.graph_attr.update(dpi="72", margin="0")
    return out


def _layout_size(svg: bytes, who: str) -> tuple[float, float]:
    """The width and height in points of the layout in graphviz's SVG (its background polygon)."""
    graph = _GRAPH.search(svg)
    if graph is None:
        raise ValueError(f"{who}: not an SVG of graphviz's (no graph0 group and background)")
    xs, ys = zip(*((float(a) for a in pair.split(b",")) for pair in graph.group(5).split()), strict=True)
    w, h = max(xs) - min(xs), max(ys) - min(ys)
    if w <= 0 or h <= 0:
        raise ValueError(f"{who}: the drawing is empty")
    return w, h
