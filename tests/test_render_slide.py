"""The slide preset through every entry point (`viz.render` of a Value or of a Digraph made by `viz.draw`,
`deltagrad draw --preset slide`) and every format, with the real `dot`: each file is 16:9 exactly, and
a network too big for `draw`'s guard is drawn a neuron to a box instead of refused (issue 14)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import require_dot

import nn
from autodiff import Value
from deltagrad.cli import main
from viz.draw import GraphTooLarge, draw, render

SLIDE_POINTS = (1152.0, 648.0)     # 16 × 9 inches
SLIDE_PIXELS = (1920, 1080)


def readme_loss() -> Value:
    """The README's network, MLP(2, [16, 16, 1]), on one point: hinge plus L2 (1,634 drawn nodes)."""
    model = nn.MLP(2, [16, 16, 1], rng=1)
    loss = nn.hinge(model([0.3, 0.2])[0], 1.0) + nn.l2(model.weights(), 1e-4)
    loss.backward()
    return loss


def small_loss() -> Value:
    model = nn.MLP(2, [4, 4, 1], rng=1)
    loss = nn.hinge(model([0.3, 0.2])[0], 1.0) + nn.l2(model.weights(), 1e-4)
    loss.backward()
    return loss


def neuron() -> Value:
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.88, "b")
    o = (x * w + b).tanh()
    o.label = "o"
    o.backward()
    return o


def one_box_per_neuron(text: str) -> bool:
    """The README network drawn a neuron to a box, as the slide draws it: n16 under "layer 2 · …"."""
    return "layer 2 · a = relu(z)" in text and re.search(r">n16<", text) is not None and "w.0" not in text


def size_of(path: Path) -> tuple[float, float]:
    """The page of a file as written: PNG pixels, SVG points, the PDF's MediaBox in points."""
    if path.suffix == ".png":
        from PIL import Image
        with Image.open(path) as im:
            return im.size
    if path.suffix == ".svg":
        tag = re.search(r"<svg\b[^>]*>", path.read_text(encoding="utf-8")).group(0)
        return tuple(float(re.search(rf'\b{a}="([\d.]+)pt"', tag).group(1)) for a in ("width", "height"))
    from pypdf import PdfReader
    pages = PdfReader(path).pages
    assert len(pages) == 1
    box = pages[0].mediabox
    return float(box.width), float(box.height)


def assert_slide(path: Path) -> None:
    expected = SLIDE_PIXELS if path.suffix == ".png" else SLIDE_POINTS
    assert size_of(path) == pytest.approx(expected, abs=0.01), path.name


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg", ".dot"])
def test_the_readme_network_is_collapsed_onto_a_slide_not_refused(tmp_path, suffix):
    """QA 14 item 3: `render(loss, "slide16.png", preset="slide")` raised GraphTooLarge (1,634 nodes above
    max_nodes=300) although docs/diagrams.md promises a collapsed drawing. Every format now collapses it,
    also with max_nodes given (as the CLI always passes it)."""
    require_dot()
    loss = readme_loss()
    with pytest.raises(GraphTooLarge):   # draw alone still refuses it: its guard is unchanged
        draw(loss)
    for options in ({}, {"max_nodes": 300}):
        out = render(loss, tmp_path / f"slide{len(options)}{suffix}", preset="slide", **options)
        text = out.read_bytes().decode("utf-8", "replace")
        if suffix == ".dot":
            assert one_box_per_neuron(text)
            continue
        assert_slide(out)
        if suffix == ".svg":
            assert one_box_per_neuron(text)


def test_a_slide_keeps_the_guard_where_it_cannot_collapse(tmp_path):
    """collapse given (drawn as asked), or a graph without neurons: the refusal stands, no file written."""
    require_dot()
    with pytest.raises(GraphTooLarge, match="pass collapse='neuron'"):
        render(readme_loss(), tmp_path / "asked.png", preset="slide", collapse=None)
    x = Value(1.0, "x")
    chain = x
    for _ in range(200):
        chain = (chain * 0.5).tanh()
    with pytest.raises(GraphTooLarge, match="draw a smaller graph"):
        render(chain, tmp_path / "chain.pdf", preset="slide")
    assert list(tmp_path.iterdir()) == []


def test_a_slide_whose_collapsed_network_is_still_too_big_says_so(tmp_path):
    """max_nodes=20: the README's network has 1,634 nodes, collapsed for the slide still 41 (2 inputs, 33
    neurons, 6 rows of the loss's table); the collapsed drawing's refusal is the answer (not the expanded
    one's advice to collapse), and no file is written."""
    require_dot()
    with pytest.raises(GraphTooLarge, match="41 nodes.*above max_nodes=20") as refused:
        render(readme_loss(), tmp_path / "slide.png", preset="slide", max_nodes=20)
    assert "pass collapse='neuron'" not in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_fit_canvas_refuses_a_format_other_than_png_or_pdf():
    require_dot()
    from viz.draw import render_bytes
    from viz.presets import apply_preset, fit_canvas
    graph = draw(neuron())
    svg = render_bytes(apply_preset(graph, "slide", "svg"), "svg")
    with pytest.raises(ValueError, match="fit_canvas: format must be 'png' or 'pdf', got 'svg'"):
        fit_canvas(graph, svg, "slide", "svg")


@pytest.mark.parametrize("suffix", [".pdf", ".png", ".svg"])
def test_every_format_of_the_slide_preset_is_16_by_9(tmp_path, suffix):
    """QA 14 item 4: slide PDFs came out 2040 × 1199 and 2040 × 1105 points (graphviz's half-inch PDF
    margin at the preset's 120 dpi, and no fit to the canvas) while PNG and SVG were 16:9. The PDF page
    is now 16 × 9 inches, as the SVG: for a dot layout, for networks collapsed and expanded, and for a
    Digraph made by `viz.draw`."""
    require_dot()
    readme = readme_loss()
    cases = {"neuron": (neuron(), {}), "small": (small_loss(), {}),
             "expanded": (small_loss(), {"collapse": None, "max_nodes": 5000}),
             "digraph": (draw(readme, collapse="neuron"), {})}
    for name, (root, options) in cases.items():
        assert_slide(render(root, tmp_path / f"{name}{suffix}", preset="slide", **options))


def page_points(path: Path) -> list[tuple[float, float]]:
    """The points of every path the PDF's page draws (m, l, c, re), in page coordinates: each through
    the transform in force (`cm`, saved and restored by q and Q; Cairo flips y with one), PDF 1.7 §8.3.4."""
    from pypdf import PdfReader
    from pypdf.generic import ContentStream
    reader = PdfReader(path)
    page = reader.pages[0]
    ctm, saved, points = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), [], []

    def at(x: float, y: float) -> tuple[float, float]:
        a, b, c, d, e, f = ctm
        return a * x + c * y + e, b * x + d * y + f

    for operands, op in ContentStream(page.get_contents(), reader).operations:
        numbers = [float(v) for v in operands] if op in (b"cm", b"m", b"l", b"c", b"re") else []
        if op == b"q":
            saved.append(ctm)
        elif op == b"Q":
            ctm = saved.pop()
        elif op == b"cm":   # the new transform is the operand's matrix times the current one
            a1, b1, c1, d1, e1, f1 = numbers
            a2, b2, c2, d2, e2, f2 = ctm
            ctm = (a1 * a2 + b1 * c2, a1 * b2 + b1 * d2, c1 * a2 + d1 * c2, c1 * b2 + d1 * d2,
                   e1 * a2 + f1 * c2 + e2, e1 * b2 + f1 * d2 + f2)
        elif op in (b"m", b"l", b"c"):
            points += [at(x, y) for x, y in zip(numbers[::2], numbers[1::2], strict=True)]
        elif op == b"re":
            x, y, w, h = numbers
            points += [at(x, y), at(x + w, y + h)]
    return points


def test_a_slide_pdf_draws_inside_its_page(tmp_path):
    """The PDF's drawing is scaled into the page, not cropped: every path point lies inside the MediaBox
    with the slide's margin (24 px at 120 dpi is 14.4 points)."""
    require_dot()
    points = page_points(render(small_loss(), tmp_path / "s.pdf", preset="slide"))
    assert len(points) > 20
    xs, ys = zip(*points, strict=True)
    assert min(xs) >= 14.4 - 1 and max(xs) <= 1152 - 14.4 + 1
    assert min(ys) >= 14.4 - 1 and max(ys) <= 648 - 14.4 + 1


@pytest.mark.parametrize("suffix", [".pdf", ".png", ".svg"])
def test_the_cli_slide_is_16_by_9_in_every_format(tmp_path, capsys, suffix):
    """`deltagrad draw ... --preset slide -o cli_slide.pdf` wrote a 2040 × 1199 page (QA 14 item 4)."""
    require_dot()
    out = tmp_path / f"cli_slide{suffix}"
    argv = ["draw", "n = x*w + b; o = tanh(n)", "x=2", "w=-3", "b=6.88", "-o", str(out), "--preset", "slide"]
    assert main(argv) == 0
    assert_slide(out)


def test_the_cli_slide_of_a_graph_it_cannot_collapse_is_a_one_line_error(tmp_path, capsys):
    require_dot()
    expr = " + ".join(f"x*{k}" for k in range(1, 120))
    assert main(["draw", expr, "x=1", "-o", str(tmp_path / "big.png"), "--preset", "slide"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "max_nodes=300" in err and "Traceback" not in err
    assert not (tmp_path / "big.png").exists()


def ink_rows_of(path: Path, across: bool = False) -> list[bool]:
    """Per pixel row (``across``: per column) of a PNG: whether anything but white is drawn on it."""
    from PIL import Image
    with Image.open(path) as im:
        gray = im.convert("L")
        if across:
            gray = gray.transpose(Image.Transpose.TRANSPOSE)
        width, height = gray.size
        data = gray.tobytes()
    return [min(data[y * width:(y + 1) * width]) < 200 for y in range(height)]


def ink_rows(path: Path) -> list[bool]:
    return ink_rows_of(path)


@pytest.mark.parametrize("graph", ["neuron", "small network", "frame"])
def test_a_slides_drawing_is_centred_with_its_legend_beside_it(tmp_path, graph):
    """QA (issue 14): the neuron's slide had its legend alone at the top left and the drawing in the bottom
    third, half the slide empty between them (the slide's ratio=fill stretched dot's layout to 16:9).
    The drawing with its legend is one block, centred on the canvas: no empty band inside it wider than a
    tenth of the slide, the margins above and below equal within 5% of its height, and a white margin
    on every side (viz.frames' slides touched the edges without the stretch)."""
    require_dot()
    root = small_loss() if graph == "small network" else neuron()
    path = tmp_path / "s.png"
    if graph == "neuron":
        assert main(["draw", "n = x*w + b; o = tanh(n)", "x=2", "w=-3", "b=6.88", "-o", str(path),
                     "--preset", "slide"]) == 0
    elif graph == "frame":  # viz.frames' slides too, which had lost the canvas's margin
        from viz import frames
        path = frames(root, tmp_path / "frames", format="png")[4]
    else:
        render(root, path, preset="slide")
    assert_slide(path)
    rows = ink_rows(path)
    columns = ink_rows_of(path, across=True)
    assert not any(columns[:20] + columns[-20:]) and not any(rows[:20] + rows[-20:])  # the margin
    inked = [y for y, ink in enumerate(rows) if ink]
    top, bottom = inked[0], inked[-1]
    gap = longest = 0
    for ink in rows[top:bottom + 1]:
        gap = 0 if ink else gap + 1
        longest = max(longest, gap)
    assert longest < len(rows) / 10, (graph, longest)
    assert abs(top - (len(rows) - 1 - bottom)) <= 0.05 * len(rows), (graph, top, bottom)


def test_a_frames_caption_lines_up_as_the_stepper_writes_it_and_clears_the_drawing(tmp_path):
    """Issue 14, a slide read as a student would: frame 8 of the classic neuron (docs/slide_frame.png)
    has a two-line caption, the second line lined up under the first's ``v6.grad`` by character; set
    in the slide's Helvetica, ``b.grad`` sat under ``2/5``, and the last line touched the top box. The
    caption is monospace now, its spaces kept (SVG collapses plain spaces), and half a line or more
    clear of every box."""
    require_dot()
    from viz.frames import frames

    x1, x2, w1, w2, b = (Value(v, k) for v, k in [(2.0, "x1"), (0.0, "x2"), (-3.0, "w1"), (1.0, "w2"),
                                                   (6.8813735870195432, "b")])
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    svg = frames(o, tmp_path, "svg", gif=False)[8].read_text(encoding="utf-8")
    caption = [(float(y), float(size), text.replace("\u00a0", " ")) for y, size, text in re.findall(
        r'<text [^>]*y="([-\d.]+)" font-family="monospace" font-size="([\d.]+)">([^<]*)</text>', svg)]
    assert len(caption) == 2 and caption[0][2].startswith("frame 9/12 · step 2/5")
    first, second = caption[0][2], caption[1][2]
    assert second.index("b.grad") == first.index("v6.grad")
    tops = [min(float(y) for y in re.findall(r"[\d.]+,(-[\d.]+)", path)) for path in
            re.findall(r'<g id="n\d+" class="node">\s*<title>[^<]*</title>\s*<path [^>]*d="([^"]*)"', svg)]
    size = caption[-1][1]
    assert len(tops) == 10 and min(tops) - caption[-1][0] >= size * 0.25 + size / 2
