"""viz.render: SVG structure (nodes and edges by id) with the system `dot` and with only graphviz-pure,
PNG/PDF/DOT files, the clear error with neither renderer, atomic writes, and notebook display."""

from __future__ import annotations

import os
import re
import shutil
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import require, require_dot

from autodiff import Value, topological_order
from viz.draw import Diagram, RenderError, draw, render, render_bytes, render_svg, show

SVG = "{http://www.w3.org/2000/svg}"
REAL_WHICH = shutil.which


def pure_path() -> str:
    found = REAL_WHICH("graphviz-pure") or REAL_WHICH("graphviz-pure", path=sysconfig.get_path("scripts"))
    require(found is not None, "graphviz-pure", "pip install graphviz-pure into .venv")
    return found


def hide(monkeypatch, *names: str) -> None:
    """Make shutil.which blind to ``names`` (the system dot, graphviz-pure)."""
    def which(name, *args, **kwargs):
        return None if name in names else REAL_WHICH(name, *args, **kwargs)
    monkeypatch.setattr(shutil, "which", which)


@pytest.fixture(params=["dot", "graphviz-pure"])
def renderer(request, monkeypatch):
    """Each test runs with the system dot, then with only graphviz-pure (dot hidden from PATH)."""
    if request.param == "dot":
        require_dot()
    else:
        monkeypatch.setenv("PATH", str(Path(pure_path()).parent))  # the venv's bin: graphviz-pure, no dot
        hide(monkeypatch, "dot")                                    # in case dot is in that folder too
        assert shutil.which("dot") is None
    return request.param


def classic_neuron():
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    n = x1 * w1 + x2 * w2 + b; n.label = "n"
    o = n.tanh(); o.label = "o"
    return o


def svg_parts(svg: str) -> tuple[dict[str, ET.Element], dict[str, ET.Element], dict[str, ET.Element]]:
    """The SVG's node, edge and cluster groups by id."""
    root = ET.fromstring(svg)
    groups = {"node": {}, "edge": {}, "cluster": {}}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") in groups:
            groups[g.get("class")][g.get("id")] = g
    return groups["node"], groups["edge"], groups["cluster"]


def texts(g: ET.Element) -> list[str]:
    return [t.text for t in g.iter(f"{SVG}text") if t.text]


def test_svg_has_every_node_and_edge_by_id(renderer, tmp_path):
    o = classic_neuron()
    o.backward()
    path = render(o, tmp_path / "neuron.svg", show_local=True)
    svg = path.read_text()
    assert ("(graphviz-pure)" in svg) == (renderer == "graphviz-pure")   # the generator comment
    nodes, edges, _ = svg_parts(svg)
    order = topological_order(o)
    interior = [v for v in order if not v.is_leaf]
    assert set(nodes) == {f"n{i}" for i in range(len(order))} | {f"op{order.index(v)}" for v in interior} | \
        {"legend"}
    assert set(edges) == {f"e{order.index(v)}_{k}" for v in interior for k in range(len(v.parents))} | \
        {f"e{order.index(v)}" for v in interior}
    assert texts(nodes[f"n{order.index(o)}"]) == ["o", "data 0.7071", "grad 1"]
    assert texts(nodes[f"op{order.index(o)}"]) == ["tanh"]
    assert texts(edges[f"e{order.index(o)}_0"]) == ["0.5"]          # the local derivative 1 - o²
    x1 = order[0]
    assert texts(nodes["n0"]) == ["x1", "data 2", f"grad {x1.grad:g}"]


def test_svg_clusters_and_tricky_labels(renderer):
    x = Value(1.0, 'a<b>|{c} "q" \\n & x')
    w = Value(0.5, "layers.0.neurons.0.w.0")
    z = w * x; z.label = "layers.0.neurons.0.z"
    a = z.relu(); a.label = "layers.0.neurons.0.a"
    nodes, _, clusters = svg_parts(render_svg(draw(a, show_grad=False)))
    assert texts(nodes["n1"]) == ['a<b>|{c} "q" \\n & x', "data 1"]
    assert set(clusters) == {"cl0_0"} and "layer 1 · neuron 1" in texts(clusters["cl0_0"])
    assert texts(nodes["n2"])[0] == "z"


def test_png_pdf_and_dot_files(renderer, tmp_path):
    o = classic_neuron()
    assert render(o, tmp_path / "n.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "n.dot").exists() is False
    assert render(o, tmp_path / "n.dot").read_text() == draw(o).source
    assert render(o, tmp_path / "n.gv", rankdir="TB").read_text() == draw(o, rankdir="TB").source
    assert render(o, tmp_path / "as-svg.txt", format="svg").read_text().lstrip().startswith("<?xml")
    if renderer == "dot":
        assert render(o, tmp_path / "n.pdf").read_bytes()[:5] == b"%PDF-"
    else:  # graphviz-pure has no pdf: the error names the format and both fixes
        with pytest.raises(RenderError, match=r"pdf \(graphviz-pure writes svg and png only\).*apt-get "
                                              r"install graphviz.*pip install graphviz-pure"):
            render(o, tmp_path / "n.pdf")
        assert not (tmp_path / "n.pdf").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["n.png", "n.dot", "n.gv", "as-svg.txt"] + (["n.pdf"] if renderer == "dot" else []))


def test_notebook_display(renderer):
    o = classic_neuron()
    before = repr(o)
    d = show(o, rankdir="TB")
    assert isinstance(d, Diagram) and d.source == draw(o, rankdir="TB").source
    bundle = d._repr_mimebundle_()
    nodes, _, _ = svg_parts(bundle["image/svg+xml"])
    assert "n0" in nodes and nodes.keys() == svg_parts(d._repr_svg_())[0].keys()
    assert repr(o) == before and before.startswith("Value(") and "svg" not in before   # repr stays plain
    assert not hasattr(o, "_repr_svg_") and not hasattr(o, "_repr_mimebundle_")


def test_neither_renderer_is_one_clear_error_and_dot_still_works(monkeypatch, tmp_path):
    hide(monkeypatch, "dot", "graphviz-pure")
    o = classic_neuron()
    for fmt in ("svg", "png", "pdf"):
        with pytest.raises(RenderError) as info:
            render(o, tmp_path / f"n.{fmt}")
        message = str(info.value)
        assert f"no renderer for {fmt}" in message
        assert "apt-get install graphviz" in message and "pip install graphviz-pure" in message
        assert ".dot output needs neither" in message
    assert render(o, tmp_path / "n.dot").read_text() == draw(o).source
    bundle = show(o)._repr_mimebundle_()      # a notebook gets the reason, not a traceback
    assert "pip install graphviz-pure" in bundle["text/plain"] and "image/svg+xml" not in bundle


def test_a_failing_dot_falls_back_to_graphviz_pure(monkeypatch, tmp_path):
    pure = pure_path()
    broken = tmp_path / "bin" / "dot"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\necho 'Error: this dot is broken' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", f"{broken.parent}{os.pathsep}{Path(pure).parent}")
    assert shutil.which("dot") == str(broken)
    nodes, _, _ = svg_parts(render_svg(draw(classic_neuron())))
    assert "n0" in nodes
    with pytest.raises(RenderError, match="this dot is broken"):   # no fallback for pdf: its message
        render_bytes(draw(classic_neuron()), "pdf")


def test_atomic_write_keeps_the_old_file_on_failure(monkeypatch, tmp_path):
    target = tmp_path / "neuron.svg"
    target.write_text("old picture")
    target.chmod(0o640)
    hide(monkeypatch, "dot", "graphviz-pure")
    with pytest.raises(RenderError):
        render(classic_neuron(), target)
    assert target.read_text() == "old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["neuron.svg"]            # no temporary left
    render(classic_neuron(), tmp_path / "neuron.dot")
    monkeypatch.undo()
    dot_file = tmp_path / "neuron.dot"
    dot_file.chmod(0o640)
    render(classic_neuron(), dot_file, rankdir="TB")                          # replace keeps the mode
    assert "rankdir=TB" in dot_file.read_text() and dot_file.stat().st_mode & 0o777 == 0o640


def test_bad_paths_and_formats(tmp_path):
    o = classic_neuron()
    with pytest.raises(ValueError, match=r"suffix.*\.svg"):
        render(o, tmp_path / "neuron.jpeg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        render(o, tmp_path / "missing" / "neuron.dot")
    with pytest.raises(ValueError, match="unknown format"):
        render_bytes(draw(o), "gif")
    with pytest.raises(TypeError, match="options"):
        render(draw(o), tmp_path / "n.dot", rankdir="TB")
    assert render(draw(o), tmp_path / "n.dot").read_text() == draw(o).source


def test_example_draw_neuron_writes_the_diagrams(renderer, tmp_path):
    import runpy

    example = Path(__file__).resolve().parent.parent / "examples" / "draw_neuron.py"
    main = runpy.run_path(str(example))["main"]
    main([str(tmp_path / "neuron.svg"), "--mlp", str(tmp_path / "mlp.svg"),
          "--collapsed", str(tmp_path / "mlp_collapsed.svg")])
    nodes, edges, clusters = svg_parts((tmp_path / "neuron.svg").read_text())
    assert len([n for n in nodes if n.startswith("n")]) == 10 and len(edges) == 14 and not clusters
    assert any(texts(g) == ["o", "data 0.7071", "grad 1"] for g in nodes.values())
    assert any(texts(g) == ["x1", "data 2", "grad -1.5"] for g in nodes.values())
    _, _, clusters = svg_parts((tmp_path / "mlp.svg").read_text())
    assert set(clusters) == {"cl0_0", "cl0_1", "cl0_2", "cl1_0"}
    nodes, _, clusters = svg_parts((tmp_path / "mlp_collapsed.svg").read_text())
    assert not clusters and sum(" · neuron " in " ".join(texts(g)) for g in nodes.values()) == 4


# ---- the picture in reading order, laid out by the real dot (issue 14) --------------------------------

def laid_out(graph) -> dict[str, tuple[float, float]]:
    """Node name -> (x, y) of its centre in the real dot's layout (y grows upwards)."""
    dot = require_dot()
    import subprocess
    plain = subprocess.run([dot, "-Tplain"], input=graph.source.encode(), capture_output=True,
                           check=True).stdout.decode()
    return {p[1]: (float(p[2]), float(p[3])) for p in map(str.split, plain.splitlines()) if p[0] == "node"}


@pytest.mark.parametrize("sizes, collapse", [([4, 4, 1], None), ([16, 16, 1], "neuron")])
def test_layers_left_to_right_neurons_and_weights_top_to_bottom(sizes, collapse):
    import random

    import nn
    model = nn.MLP(2, sizes, activation="tanh", rng=random.Random(0))
    loss = nn.squared_error(model([0.5, -1.5]), [1.0])
    order = topological_order(loss)
    at = laid_out(draw(loss, collapse=collapse, max_nodes=1000))
    trace_labels = {v.label: v for v in order if v.label}
    xs = []
    for L, layer in enumerate(model.layers):
        role = "a" if collapse and layer.activation != "linear" else "z"
        stands = [at[f"n{order.index(trace_labels[n.prefix + role])}"] for n in layer.neurons]
        ys = [y for _, y in stands]
        assert ys == sorted(ys, reverse=True), f"layer {L + 1} drawn in the order {sorted(ys, reverse=True)}"
        xs.append(min(x for x, _ in stands))
        for n in layer.neurons if collapse is None else ():
            wy = [at[f"n{order.index(w)}"][1] for w in n.w]
            assert wy == sorted(wy, reverse=True), f"{n.prefix}: weights out of index order"
    assert xs == sorted(xs)                                     # layers left to right


def shapes() -> list[list[int]]:
    """Hidden widths 1..8 at depths 1, 2 (all 64 pairs) and 3 (a sample), each with one output."""
    import random
    rng = random.Random(14)
    return ([[w, 1] for w in range(1, 9)] + [[a, b, 1] for a in range(1, 9) for b in range(1, 9)]
            + [[rng.randint(1, 8), rng.randint(1, 8), rng.randint(1, 8), 1] for _ in range(8)])


def json_layout(graph) -> tuple[dict[str, tuple[float, float, float, float]], list[tuple]]:
    """(visible node name -> (x, y, width, height) in points, [(cluster, x1, y1, x2, y2)]) as the real
    dot lays ``graph`` out (-Tjson; y grows upwards)."""
    import json
    import subprocess
    done = subprocess.run([require_dot(), "-Tjson"], input=graph.source.encode(), capture_output=True,
                          check=True)
    nodes, frames = {}, []
    for o in json.loads(done.stdout).get("objects", []):
        if o.get("name", "").startswith("cluster"):
            frames.append((o["name"], *map(float, o["bb"].split(","))))
        elif "pos" in o and "invis" not in o.get("style", ""):
            x, y = map(float, o["pos"].split(","))
            nodes[o["name"]] = (x, y, float(o["width"]) * 72, float(o["height"]) * 72)
    return nodes, frames


def overlapping(boxes: list[tuple]) -> list[tuple[str, str]]:
    """Pairs of (name, x1, y1, x2, y2) rectangles that overlap by more than half a point."""
    import itertools
    return [(a[0], b[0]) for a, b in itertools.combinations(boxes, 2)
            if a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5 and a[2] < b[4] - 0.5 and b[2] < a[4] - 0.5]


FRAME_MARGIN = 4  # points: the least room between a cluster's frame and a node inside or outside it


def off_frames(rects: list[tuple], frames: list[tuple]) -> list[str]:
    """Each (name, x1, y1, x2, y2) node that a cluster frame (name, x1, y1, x2, y2) runs over: a node
    is wholly inside a frame or wholly outside it, FRAME_MARGIN clear of it either way."""
    m, found = FRAME_MARGIN, []
    for f, fx1, fy1, fx2, fy2 in frames:
        for n, x1, y1, x2, y2 in rects:
            inside = x1 >= fx1 + m and y1 >= fy1 + m and x2 <= fx2 - m and y2 <= fy2 - m
            outside = x2 <= fx1 - m or x1 >= fx2 + m or y2 <= fy1 - m or y1 >= fy2 + m
            if not (inside or outside):
                found.append(f"the frame of {f} runs over {n}")
    return found


def reading_order_problems(sizes, fused, on_values, collapse, rankdir="LR") -> list[str]:
    """What is out of place in the real layout of MLP(2, sizes)'s loss: neurons and weights not top to
    bottom by index, a layer not right of the one before, inputs drawn more than once, an unlabelled
    loss, boxes (TB: and neuron titles) or cluster frames on top of each other, a frame running over a
    node (each node wholly inside or outside each frame, FRAME_MARGIN clear of it), an edge through a
    box or title not its own. With ``rankdir="TB"`` the layout is read turned back a quarter: top to bottom as
    left to right, left to right as top to bottom."""
    import random

    import nn
    model = nn.MLP(2, sizes, activation="tanh", rng=random.Random(0), fused=fused)
    x = [Value(0.5, "x1"), Value(-1.5, "x2")] if on_values else [0.5, -1.5]
    loss = nn.squared_error(model(x), [1.0])
    order = topological_order(loss)
    pos = {v: i for i, v in enumerate(order)}
    graph = draw(loss, collapse=collapse, max_nodes=100_000, rankdir=rankdir)
    at, frames = json_layout(graph)
    if rankdir == "TB":  # (x, y) -> (-y, -x): down is along the layers, right is down the neurons
        at = {n: (-y, -x, h, w) for n, (x, y, w, h) in at.items()}
        frames = [(n, -y2, -x2, -y1, -x1) for n, x1, y1, x2, y2 in frames]
    by_label = {v.label: v for v in order if v.label}
    bad, right_of_last = [], None
    for L, layer in enumerate(model.layers):
        role = "a" if collapse and layer.activation != "linear" else "z"
        names = [f"n{pos[by_label[n.prefix + role]]}" for n in layer.neurons]
        ys = [at[n][1] for n in names]
        if any(a <= b for a, b in zip(ys, ys[1:], strict=False)):
            bad.append(f"layer {L + 1}: neurons out of index order")
        for j, n in enumerate(layer.neurons if collapse is None else ()):
            wy = [at[f"n{pos[w]}"][1] for w in n.w]
            if any(a <= b for a, b in zip(wy, wy[1:], strict=False)):
                bad.append(f"layer {L + 1} neuron {j + 1}: weights out of index order")
        left = min(at[n][0] - at[n][2] / 2 for n in names)
        if right_of_last is not None and left <= right_of_last:
            bad.append(f"layer {L + 1} is not right of layer {L}")
        right_of_last = max(at[n][0] + at[n][2] / 2 for n in names)
    inputs = [v for v in order if v.is_leaf and v.label in ("x.0", "x.1", "x1", "x2")]
    if sorted(f"n{pos[v]}" in at for v in inputs) != [True, True]:
        bad.append(f"{len(inputs)} input boxes for 2 inputs")
    if "<B>loss</B>" not in node_line(graph, f"n{pos[loss]}"):
        bad.append("the loss is not labelled")
    rects = [(n, x - w / 2, y - h / 2, x + w / 2, y + h / 2) for n, (x, y, w, h) in at.items()]
    bad += [f"{a} overlaps {b}" for a, b in overlapping(rects)[:1]]
    bad += [f"{a} overlaps {b}" for a, b in overlapping(frames)[:1]]
    bad += off_frames(rects, frames)[:1]
    bad += edge_crossings(render_svg(graph))[:1]
    return bad


def _numbers(text: str) -> list[tuple[float, float]]:
    """The (x, y) pairs of an SVG path's ``d`` or a polygon's ``points``."""
    import re
    values = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]
    return list(zip(values[::2], values[1::2], strict=True))


def edge_crossings(svg: str) -> list[str]:
    """Each edge of a rendered SVG (its Bézier path, sampled finely, and its arrowhead) that passes through
    a node's box or a cluster's title other than its own two ends: ``"e3_1 through n8"``. A box is the
    extent of the node's outlines, a point in from each side (an edge may touch a border); a title, and
    a node of text alone (TB's neuron titles), the extent of its text at ~0.55 em a character."""
    nodes, edges, clusters = svg_parts(svg)

    def text_box(t: ET.Element) -> tuple[float, float, float, float]:
        x, y, size = float(t.get("x")), float(t.get("y")), float(t.get("font-size"))
        left = {"start": 0.0, "end": 1.0}.get(t.get("text-anchor"), 0.5) * 0.55 * size * len(t.text)
        return x - left, y - 0.75 * size, x - left + 0.55 * size * len(t.text), y + 0.2 * size

    boxes = []
    for name, g in nodes.items():
        points = []
        for shape in g:
            if shape.tag in (f"{SVG}path", f"{SVG}polygon"):
                points += _numbers(shape.get("d") or shape.get("points"))
            elif shape.tag == f"{SVG}ellipse":
                x, y, rx, ry = (float(shape.get(k)) for k in ("cx", "cy", "rx", "ry"))
                points += [(x - rx, y - ry), (x + rx, y + ry)]
        if points:
            xs, ys = [x for x, _ in points], [y for _, y in points]
            boxes.append((name, min(xs) + 1, min(ys) + 1, max(xs) - 1, max(ys) - 1))
        else:
            boxes += [(name, *text_box(t)) for t in g.iter(f"{SVG}text") if t.text]
    for name, g in clusters.items():
        boxes += [(f"the title of {name}", *text_box(t)) for t in g.iter(f"{SVG}text") if t.text]
    found = []
    for edge_id, g in edges.items():
        ends = {e.split(":")[0] for e in g.find(f"{SVG}title").text.split("->")}
        points = []
        for shape in g:
            if shape.tag == f"{SVG}path":
                ps = _numbers(shape.get("d"))
                for k in range(0, len(ps) - 3, 3):
                    for s in range(41):
                        t = s / 40
                        c = ((1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3)
                        points.append((sum(c[i] * q[0] for i, q in enumerate(ps[k:k + 4])),
                                       sum(c[i] * q[1] for i, q in enumerate(ps[k:k + 4]))))
            elif shape.tag == f"{SVG}polygon":
                points += _numbers(shape.get("points"))
        found += [f"{edge_id} through {name}" for name, x1, y1, x2, y2 in boxes if name not in ends
                  and any(x1 < x < x2 and y1 < y < y2 for x, y in points)]
    return found


@pytest.mark.parametrize("sizes, fused", [([3, 1], False), ([4, 4, 1], False), ([4, 4, 1], True),
                                          ([1, 6, 1], False)])
def test_no_edge_passes_through_a_box_it_does_not_connect(sizes, fused):
    """Graphviz draws a network's edges straight between pinned places: an input's edge to a neuron's ×
    ran through the other weights' boxes and the clusters' titles on its way (it read as if x0 fed b;
    15 such crossings on the README's MLP(2, [3, 1])). Checked on what the real dot draws, LR and TB. TB
    wrote each neuron's title over its band, where the edges from the layer before, nearly level between
    two wide layers, ran through it (1, 7 and 7 crossings on these three networks); it is now a box level
    with the neuron's a, where no edge runs. TB, in a neuron of one input (layer 2 of [1, 6, 1]), b's edge
    clipped the corner of the product's box, wide across, on its way to the + (2 crossings); b is now
    placed clear of the boxes the ops over it feed."""
    import random

    import nn
    require_dot()
    model = nn.MLP(2, sizes, activation="tanh", rng=random.Random(0), fused=fused)
    y = model([Value(2.0, "x0"), Value(-1.0, "x1")])[0]
    loss = (y - 1.0) ** 2
    loss.backward()
    svg = render_svg(draw(loss, parameters=model.parameters()))
    assert edge_crossings(svg) == []
    assert len(svg_parts(svg)[1]) > 20           # the check saw the edges
    tb = render_svg(draw(loss, parameters=model.parameters(), rankdir="TB"))
    assert edge_crossings(tb) == []
    titles = [g for name, g in svg_parts(tb)[0].items() if name.endswith("_title")]
    assert len(titles) == sum(len(layer.neurons) for layer in model.layers)   # the check saw the titles
    assert all(texts(g)[0].startswith("layer ") for g in titles)


def readme_loss():
    """The README's loss: hinge on one moons point of MLP(2, [16, 16, 1]) plus nn.l2 of its weights."""
    import nn
    from nn.data import make_moons

    X, y = make_moons(100, noise=0.1, rng=1)
    model = nn.MLP(2, [16, 16, 1], rng=1)
    loss = nn.hinge(model(X[0]), [2 * y[0] - 1]) + nn.l2(model.weights(), 1e-4)
    loss.backward()
    return loss


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_the_readme_loss_collapsed_has_no_edge_through_a_box(rankdir):
    """Issue 14: collapsed, the edge from the L2 term to the final + ran straight through the dashed
    constant 1 of the hinge's 1 - y·f (placed off the line into its own user, but on the L2 edge's way),
    and edges into a narrow neuron box crossed the wider box next to it (LR; 23 crossings in all). A
    constant now keeps clear of the edges passing its column, and a layer's boxes are as wide as its
    widest."""
    require_dot()
    loss = readme_loss()
    svg = render_svg(draw(loss, collapse="neuron", rankdir=rankdir, max_nodes=5000))
    assert edge_crossings(svg) == []
    nodes, edges, _ = svg_parts(svg)
    order = topological_order(loss)
    one = [name for name, g in nodes.items() if texts(g)[:2] == ["data 1", "grad 1"]]
    assert len(one) == 1 and f"e{len(order) - 1}_1" in edges   # the check saw the constant and the L2 edge


@pytest.mark.filterwarnings("ignore:render. a layer of 16 neurons is too tall")  # TB: a ⋮ box for 9 of them
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_the_readme_loss_on_a_slide_has_no_edge_through_a_title(tmp_path, rankdir):
    """Issue 14: on the slide preset the edges from layer 2 into layer 3's one neuron ran through the
    start of its title "layer 3 · z = Σ w·x + b", centred over a box narrower than itself. A layer's
    column is now wider than its title by a margin each side."""
    require_dot()
    path = render(readme_loss(), tmp_path / "s.svg", preset="slide", rankdir=rankdir)
    svg = path.read_text(encoding="utf-8")
    assert edge_crossings(svg) == []
    titles = [texts(g) for name, g in svg_parts(svg)[0].items() if re.fullmatch(r"layer\d*", name)]
    assert ["layer 3 · z = Σ w·x + b"] in titles and len(titles) == 3   # the check saw the titles


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
@pytest.mark.parametrize("fused", [False, True])
def test_every_node_clears_the_cluster_frames(rankdir, fused):
    """Issue 14: graphviz (neato, on our pinned places) draws a cluster's frame tight round its nodes,
    so in the expanded MLP(2, [3, 1]) on two labelled inputs every neuron's frame ran along the edge of
    its × circles (LR: the left edge; TB: the top), over them as the picture reads, and along its b and
    a boxes. Each node is now inside its own frame, and outside the others, by a margin; on the slide
    preset too."""
    import nn
    require_dot()
    model = nn.MLP(2, [3, 1], rng=1, fused=fused)
    out = model([Value(1.0, "x.0"), Value(-0.5, "x.1")])[0]
    for graph in (draw(out, rankdir=rankdir), draw(out, rankdir=rankdir, preset="slide")):
        at, frames = json_layout(graph)
        rects = [(n, x - w / 2, y - h / 2, x + w / 2, y + h / 2) for n, (x, y, w, h) in at.items()]
        assert off_frames(rects, frames) == []
        ops = [n for n in at if n.startswith("op")]
        assert len(frames) == 4 and len(ops) >= 7                 # the check saw the frames and the ops


def test_the_frame_check_finds_a_node_on_a_frame():
    """The check itself: a node a frame runs over, or one inside too near it, is found; one inside or
    outside by the margin is not."""
    frame = [("cluster_a", 0, 0, 100, 50)]
    assert off_frames([("in", 10, 10, 90, 40), ("out", 110, 0, 130, 50)], frame) == []
    assert off_frames([("on", -10, 10, 10, 30), ("near", 10, 10, 98, 40), ("grazing", 101, 0, 120, 20)],
                      frame) == [f"the frame of cluster_a runs over {n}" for n in ("on", "near", "grazing")]


def test_the_crossing_check_finds_a_crossing():
    """The check itself: an edge drawn straight through a box between its ends is found."""
    import graphviz
    require_dot()
    g = graphviz.Digraph(graph_attr={"layout": "neato", "splines": "false"})
    for name, x in (("a", 0), ("b", 2), ("c", 4)):
        g.node(name, id=name, shape="box", pos=f"{x},0!")
    g.edge("a", "c", id="e_ac")
    assert edge_crossings(render_svg(g)) == ["e_ac through b"]


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_every_layer_shape_is_drawn_in_reading_order(depth):
    """The real dot's layout (read back from -Tjson, not from our pins) of every shape of the sweep: each
    shape drawn expanded in one of the four ways a model is built and called (eager or fused, on floats or
    on Values; in turn) and collapsed. (The full sweep, every way for every shape, is 624 drawings;
    it found nothing either.)"""
    import itertools
    ways = itertools.cycle(itertools.product((False, True), (False, True)))
    problems = []
    for sizes in [s for s in shapes() if len(s) == depth + 1]:
        fused, on_values = next(ways)
        for collapse in (None, "neuron"):
            problems += [f"{sizes} fused={fused} values={on_values} collapse={collapse}: {p}"
                         for p in reading_order_problems(sizes, fused, on_values, collapse)]
    assert problems == []


def test_top_to_bottom_every_layer_shape_keeps_titles_clear_of_edges():
    """The sweep's shapes drawn top to bottom (rankdir="TB"), expanded, each in one of the four ways a
    model is built and called: in the real dot's layout, read turned back a quarter, neurons and weights
    in index order, layers in order, no box, title or frame on another, no frame over a node, and no
    edge through a title or a box it does not connect. (Depth 2: every third shape.)"""
    import itertools
    ways = itertools.cycle(itertools.product((False, True), (False, True)))
    chosen = [s for s in shapes() if len(s) != 3] + [s for s in shapes() if len(s) == 3][::3]
    problems = []
    for sizes in chosen:
        fused, on_values = next(ways)
        problems += [f"{sizes} fused={fused} values={on_values}: {p}"
                     for p in reading_order_problems(sizes, fused, on_values, None, "TB")]
    assert problems == []


def node_line(graph, name: str) -> str:
    """The DOT line of node ``name``."""
    return next(line for line in graph.body if line.startswith(f"\t{name} ["))


def loss_l2(order):
    """The Σ w² node nn.l2 makes (the sum_squares primitive)."""
    return next(v for v in order if v.primitive is not None and v.primitive.name == "sum_squares")


def test_the_readme_loss_collapsed_bundles_its_l2_edges_and_fits_a_slide(tmp_path):
    """nn.l2 reads all 304 weights: collapsed, one thick edge from a box naming them, placed after the
    network (no edge crosses the drawing); the slide preset's PNG is 16:9 and nothing overlaps."""
    from tests.test_step_html_levels import mlp_loss
    loss, model = mlp_loss(False)
    graph = draw(loss, collapse="neuron", max_nodes=5000)
    at, _ = json_layout(graph)
    bundle = [n for n in at if n.startswith("all")]
    assert len(bundle) == 1
    label = node_line(graph, bundle[0])
    assert "all 304 weights w" in label and "layers 1–3" in label
    order = topological_order(loss)
    x, _, w, _ = at[f"n{next(i for i, v in enumerate(order) if v.label == 'layers.2.neurons.0.z')}"]
    assert at[bundle[0]][0] - at[bundle[0]][2] / 2 > x + w / 2          # after the network
    into = [e for e in graph.body if f"-> op{order.index(loss_l2(order))} " in e]
    assert len(into) == 1 and bundle[0] in into[0]                      # one edge, from the bundle
    expanded = draw(loss, max_nodes=100_000).body
    assert sum(f"-> op{order.index(loss_l2(order))} " in e for e in expanded) == 304
    rects = [(n, x - w / 2, y - h / 2, x + w / 2, y + h / 2) for n, (x, y, w, h) in at.items()]
    assert overlapping(rects) == []
    png = render(loss, tmp_path / "slide.png", preset="slide", collapse="neuron", max_nodes=5000)
    from PIL import Image
    with Image.open(png) as im:
        width, height = im.size
    assert height == 1080 and abs(width - 1920) <= 1920 * 0.02   # graphviz's "fill" lands a little short


def test_a_collapsed_neurons_own_output_keeps_its_edge_and_is_not_bundled():
    """nn.l2 of a layer's 10 outputs: each output is its neuron's box, drawn, so each keeps its edge
    into Σx² (no "all 10 values" box standing for boxes that are on the drawing), and the legend shows
    no parameter role for a bundle that is not there."""
    import nn
    model = nn.MLP(2, [4, 10], rng=0)
    loss = nn.l2(model([Value(1.0, "x0"), Value(2.0, "x1")]), 0.1)
    order = topological_order(loss)
    graph = draw(loss, collapse="neuron")
    assert not any(line.lstrip().startswith("all") for line in graph.body)
    l2 = next(i for i, v in enumerate(order) if v.op == "sum_squares")
    assert sum(f"-> op{l2} " in e for e in graph.body) == 10


def test_a_slide_of_an_expanded_network_is_legible_and_inside_its_frame(tmp_path):
    """Issue 14: the slide of MLP(2, [4, 4, 1])'s loss squeezed a 9,469-point-wide layout into 16:9 (type
    2-3 px), its PNG was 1920 × 1076 and the drawing touched the first and last rows. The network is now
    drawn a neuron to a box when its type would come out under 14 px, and the PNG is the canvas exactly,
    with a white margin; a network that fits, and ``collapse`` given, are drawn as asked."""
    import re

    from PIL import Image

    import nn

    require_dot()
    loss = nn.squared_error([nn.MLP(2, [4, 4, 1], rng=3)([0.5, -1.2])[0]], [1.0])
    svg = render(loss, tmp_path / "slide.svg", preset="slide").read_text(encoding="utf-8")
    view_width = float(re.search(r'viewBox="\S+ \S+ (\S+) ', svg).group(1))
    assert 22 * 1920 / view_width >= 14, view_width         # node type (22 pt) in pixels on 1920 × 1080
    assert "layer 1 · a = relu(z)" in svg and "w.0" not in svg  # collapsed: no weight boxes
    with Image.open(render(loss, tmp_path / "slide.png", preset="slide")) as im:
        gray = im.convert("L")
    assert gray.size == (1920, 1080)
    width, height = gray.size
    px = gray.load()
    edge = [(x, y) for x in range(width) for y in (*range(12), *range(height - 12, height))]
    edge += [(x, y) for y in range(height) for x in (*range(12), *range(width - 12, width))]
    assert all(px[x, y] > 250 for x, y in edge)             # nothing drawn within 12 px of the frame
    expanded = render(loss, tmp_path / "asked.svg", preset="slide", collapse=None)
    assert "w.0" in expanded.read_text(encoding="utf-8")    # collapse given: drawn as asked


# ---- labels shown verbatim by the real renderers (issue 18) ---------------------------------------------

def test_labels_with_escapes_controls_and_surrogates_render_verbatim(renderer):
    labels = ["a\\Nb", "\\G\\E\\L\\T\\H", "c\\nd\\le", "bell\x07", "tab\tnl\nnul\x00", "del\x7f",
              "lone \ud800 end", "\ufffe"]
    xs = [Value(float(k), label) for k, label in enumerate(labels)]
    s = xs[0]
    for x in xs[1:]:
        s = s + x
    order = topological_order(s)
    nodes, _, _ = svg_parts(render_svg(draw(s, show_grad=False)))
    shown = {label: texts(nodes[f"n{order.index(x)}"])[0] for label, x in zip(labels, xs, strict=True)}
    assert shown == {"a\\Nb": "a\\Nb", "\\G\\E\\L\\T\\H": "\\G\\E\\L\\T\\H", "c\\nd\\le": "c\\nd\\le",
                     "bell\x07": "bell\\x07", "tab\tnl\nnul\x00": "tab\\tnl\\nnul\\x00",
                     "del\x7f": "del\\x7f",
                     "lone \ud800 end": "lone \\ud800 end", "\ufffe": "\\ufffe"}
