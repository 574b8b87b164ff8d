"""Slides of a pass: `frames` writes one diagram per step of the forward and backward pass (SVG or PNG,
the "slide" preset by default) and an animated GIF of the whole pass (Pillow). It draws a copy of the
graph, so the user's ``.data`` and ``.grad`` stay as they were."""

from __future__ import annotations

import io
import math
import os
import re
from pathlib import Path

from autodiff import Value, Walkthrough, topological_order
from autodiff.engine import apply, batch_size
from autodiff.files import write_atomic
from autodiff.graph import not_a_value
from autodiff.steps import node_names
from viz.style import reading_order

__all__ = ["frames", "copy_graph", "GIF_NAME"]

GIF_NAME = "pass.gif"
_PENDING = "?"  # a value the forward pass has not computed yet


def copy_graph(root: Value) -> tuple[Value, list[Value]]:
    """A fresh graph of the same ops, labels and leaf values: (its root, its nodes in the topological
    order of ``root``'s). Its gradients start uncomputed whatever ``root``'s hold."""
    order = topological_order(root)
    copies: dict[Value, Value] = {}
    for node in order:
        if node.is_leaf:
            copies[node] = Value(node.data, node.label)
        else:
            copies[node] = apply(node.primitive, *[copies[p] for p in node.parents])
            copies[node].label = node.label
    return copies[root], [copies[n] for n in order]


def _caption(text: str) -> str:
    """A step's text as a graphviz HTML-like label: monospace, one left-aligned line each, as the stepper
    page shows it (a step's second line lines up under its first by character; in the slide's Helvetica
    it did not), runs of spaces kept (no-break spaces: SVG collapses spaces), and an empty line under it
    (it touched the top box)."""
    from viz.draw import label_text

    lines = [re.sub(r" {2,}", lambda m: "\u00a0" * len(m.group(0)), label_text(line))
             for line in text.splitlines()]
    body = "".join(f'{line}<BR ALIGN="LEFT"/>' for line in lines + [""])
    return f'<<FONT FACE="monospace">{body}</FONT>>'


def _canvases(pngs: list[bytes], pixels: tuple[int, int] | None) -> list:
    """The PNG frames as Pillow images of one size (the preset's, else the largest), each centred on
    white: graphviz's "fill" lands a few pixels off the size, and a caption can widen a frame."""
    from PIL import Image

    images = [Image.open(io.BytesIO(b)).convert("RGB") for b in pngs]
    width, height = pixels or (max(i.width for i in images), max(i.height for i in images))
    canvases = []
    for image in images:
        image.thumbnail((width, height))  # only ever shrinks: a frame a little over the size fits
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
        canvases.append(canvas)
    return canvases


def _encoded(image, format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=format, **options)
    return out.getvalue()


def frames(root: Value, folder: str | os.PathLike, format: str = "svg", *, preset: str | None = "slide",
           gif: bool = True, duration: int = 1200, precision: int = 4) -> list[Path]:
    """Write one diagram per step of ``root``'s forward and backward pass into ``folder``, and the GIF.

    The frames are those of the HTML stepper (`autodiff.Walkthrough`): ``start`` (only the leaves are
    known), one per forward step (the node computed is outlined in red; values not yet computed show
    "?"), ``seed`` (root.grad = 1), one per backward step (the node passing its gradient on is outlined;
    gradients not yet reached show "—"). Each frame is captioned with the step's worked example, and
    every node is drawn with the name the captions use (its label, else ``v<i>``).

    folder     created if missing; files are ``frame_000.svg`` (or .png), ``frame_001...`` and ``pass.gif``
               (written atomically; frames of an earlier, longer pass are not removed).
    format     "svg" or "png" for the frames; the GIF is made from PNGs either way.
    preset     a `viz.presets` name ("slide": 16:9, 1920 × 1080 pixels, large type) or None.
    gif        also write ``pass.gif``, ``duration`` ms per frame, looping. PNG frames and the GIF are
               put on one canvas (the preset's 1920 × 1080) with Pillow: pip install 'deltagrad[slides]'.
    Returns the paths written, frames first, the GIF last. Raises ValueError for a batched graph (draw
    one example's graph instead) and `viz.RenderError` when no renderer is installed.
    """
    from viz.draw import draw, render_bytes
    from viz.presets import apply_preset, fit_canvas, fit_svg
    from viz.presets import preset as find_preset

    if not isinstance(root, Value):
        raise TypeError(not_a_value(root, f"frames needs a Value (the output of a computation), got "
                                          f"{type(root).__name__}", "viz.frames(model(x)[0], folder)"))
    if format not in ("svg", "png"):
        raise ValueError(f"frames: format must be 'svg' or 'png', got {format!r:.40}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"frames: {str(folder)!r} is a file; give a folder (it is created if missing)")
    if max(map(batch_size, topological_order(root))) > 1:
        raise ValueError("frames: the graph holds a batch (autodiff.batched); build one example's graph "
                         "and draw that")
    if gif or format == "png":
        try:
            import PIL  # noqa: F401  (fail before the work, not after)
        except ImportError:
            raise RuntimeError("frames: PNG frames and the GIF need Pillow: pip install "
                               "'deltagrad[slides]' (or write SVG frames with gif=False)") from None
    folder.mkdir(parents=True, exist_ok=True)  # as `deltagrad step --frames` does
    # Two copies: the walkthrough runs its backward pass on one; the other is set to each frame's state.
    walk_root, walk_order = copy_graph(root)
    walk = Walkthrough(walk_root)
    walk.given = reading_order(walk.given)  # as the steppers list them
    _, shown = copy_graph(root)
    # every name a caption uses is on the diagram, as in the HTML stepper: unlabelled nodes get "v<i>"
    for s, name in zip(shown, node_names(walk_order).values(), strict=True):
        s.label = name
    chosen = None if preset is None else find_preset(preset)
    shown_root = shown[-1]
    written, pngs = [], []
    for k in range(len(walk)):
        values, grads = walk.values(k), walk.grads(k)
        for w, s in zip(walk_order, shown, strict=True):
            s.data = values.get(w, math.nan)
            s.grad = grads.get(w)            # None: not reached yet, drawn as "—"
        node = walk.node(k)
        marked = {shown[walk.position[node]]} if node is not None else set()
        graph = draw(shown_root, highlight=marked, precision=precision, legend=False)
        graph.body = [line.replace("data nan", f"data {_PENDING}") for line in graph.body]
        head, lines = f"frame {k + 1}/{len(walk)} · ", walk.text(k).splitlines() or [""]
        caption = "\n".join([head + lines[0]] + [" " * len(head) + line for line in lines[1:]])
        graph.attr(label=_caption(caption), labelloc="t", labeljust="l")
        written.append(folder / f"frame_{k:03d}.{format}")
        svg = None
        if format == "svg":
            svg = render_bytes(graph if chosen is None else apply_preset(graph, chosen, "svg"), "svg")
            write_atomic(written[-1], svg if chosen is None else fit_svg(svg, chosen))
        if (gif or format == "png") and chosen is None:
            pngs.append(render_bytes(graph, "png"))
        elif gif or format == "png":  # scaled whole into the canvas less its margin, as render does
            svg = svg or render_bytes(apply_preset(graph, chosen, "svg"), "svg")
            pngs.append(render_bytes(fit_canvas(apply_preset(graph, chosen), svg, chosen), "png"))
    images = _canvases(pngs, chosen.pixels if chosen else None) if pngs else []
    if format == "png":
        for path, image in zip(written, images, strict=True):
            write_atomic(path, _encoded(image, "PNG"))
    if gif:
        written.append(folder / GIF_NAME)
        write_atomic(written[-1], _encoded(images[0], "GIF", save_all=True, append_images=images[1:],
                                            duration=duration, loop=0))
    return written
