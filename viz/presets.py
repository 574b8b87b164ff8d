"""Presets for diagrams: named sets of graphviz attributes laid over what `viz.draw` makes, e.g. "slide"
(16:9, 1920 × 1080 pixels in PNG, large type). Used by ``viz.render(..., preset="slide")``, ``deltagrad
draw --preset slide`` and the frames of `viz.frames`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import graphviz

__all__ = ["Preset", "PRESETS", "apply_preset", "preset"]


@dataclass(frozen=True)
class Preset:
    """Graph, node and edge attributes (graphviz names) and the picture's size in pixels (PNG)."""

    name: str
    graph: dict[str, str] = field(default_factory=dict)
    node: dict[str, str] = field(default_factory=dict)
    edge: dict[str, str] = field(default_factory=dict)
    pixels: tuple[int, int] | None = None


# 16:9 at 120 dpi: size 16 × 9 inches is 1920 × 1080 pixels. ratio "fill" spreads the layout (not the
# boxes) to that shape, "!" scales it up to fill the size (no pad: it would widen the picture past 16:9);
# the type is about twice the default's.
SLIDE = Preset(
    "slide",
    graph={"size": "16,9!", "ratio": "fill", "dpi": "120", "pad": "0", "nodesep": "0.4",
           "ranksep": "0.6", "fontsize": "26", "labelloc": "t", "labeljust": "l"},
    node={"fontsize": "22", "penwidth": "1.4"},
    edge={"fontsize": "18", "penwidth": "1.6", "arrowsize": "1"},
    pixels=(1920, 1080),
)

PRESETS: dict[str, Preset] = {SLIDE.name: SLIDE}


def preset(name: str | Preset) -> Preset:
    """The preset called ``name`` (or ``name`` itself); ValueError naming the choices otherwise."""
    if isinstance(name, Preset):
        return name
    if name not in PRESETS:
        raise ValueError(f"unknown diagram preset {name!r:.40}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def apply_preset(graph: graphviz.Digraph, name: str | Preset) -> graphviz.Digraph:
    """A copy of ``graph`` with the preset's attributes laid over its own (the graph is unchanged)."""
    p = preset(name)
    out = graph.copy()
    out.graph_attr.update(p.graph)
    out.node_attr.update(p.node)
    out.edge_attr.update(p.edge)
    return out
