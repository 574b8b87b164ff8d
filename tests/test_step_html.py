"""The HTML stepper's page without a browser: self-contained, one SVG node per graph node with the ids
`viz.draw` gives, the frame data the script steps through, predict mode, the notebook form."""

from __future__ import annotations

import html
import json
import re

import pytest

from autodiff import Value, topological_order
from tests.conftest import diamond, require_dot


def payload(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="dg-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_page_is_self_contained_with_every_node_in_the_svg(tmp_path):
    require_dot()
    from viz import step_html

    root = diamond()[0]
    stepper = step_html(root, tmp_path / "d.html")
    page = (tmp_path / "d.html").read_text(encoding="utf-8")
    assert page == stepper.html and stepper.path == tmp_path / "d.html"
    assert page.count("<svg") == 1 and "<link" not in page and " src=" not in page
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink",
                    "http://www.w3.org/1998/Math/MathML"}, urls  # namespaces, never fetched
    order = topological_order(root)
    assert len(stepper.node_ids) == len(order) == len(set(stepper.node_ids))
    svg = html.unescape(page[page.index("<svg"):page.index("</svg>")])
    for node_id in stepper.node_ids:
        assert svg.count(f'id="{node_id}"') == 1, node_id
    assert "grad" not in svg.lower(), \
        "the diagram must not give gradients away before the backward pass reaches them"


def test_frame_data_steps_forward_then_backward(tmp_path):
    require_dot()
    from viz import HtmlStepper

    root = diamond()[0]
    data = payload(HtmlStepper(root).html)
    order = topological_order(root)
    pos = {n.label: i for i, n in enumerate(order)}
    kinds = [f["kind"] for f in data["frames"]]
    assert kinds == ["start", "forward", "forward", "forward", "seed", "backward", "backward", "backward"]
    assert [f["node"] for f in data["frames"][1:4]] == sorted(pos[k] for k in "bcd")
    assert data["frames"][4]["grads"] == {str(pos["d"]): 1.0}
    last = {}
    for f in data["frames"]:
        last.update(f["grads"])
    assert not any(n.has_grad for n in order)  # the page steps a fresh pass, .grad untouched (issue 14)
    root.backward()
    assert {int(k): v for k, v in last.items()} == {i: n.grad for i, n in enumerate(order)}
    a_asks = [ask for f in data["frames"] for ask in f["asks"] if ask["name"] == "a"]
    assert len(a_asks) == 2 and a_asks[-1]["value"] == order[pos["a"]].grad   # once per step, running
    assert not data["predict"] and data["tolerance"] == 1e-3


def test_predict_flag_hint_and_notebook_form():
    require_dot()
    from viz import HtmlStepper

    stepper = HtmlStepper(diamond()[0], predict=True, tolerance=0.01)
    data = payload(stepper.html)
    assert data["predict"] and data["tolerance"] == 0.01
    hints = [f["hint"] for f in data["frames"] if f["kind"] == "backward"]
    assert hints[0].splitlines()[0] == "step 1/3  mul: b.grad += c · d.grad = ?"
    assert all(re.search(r"\d\.\d+ · ", h) is None for h in hints), "a hint must not show the answer"
    frame = stepper._repr_html_()
    assert frame.startswith('<iframe sandbox="allow-scripts" srcdoc="') and "<script" not in frame
    assert "allow-same-origin" not in frame  # an opaque origin: the page cannot reach the notebook
    assert html.unescape(frame.split('srcdoc="')[1].split('" style=')[0]) == stepper.html


def test_bad_input_is_named():
    from viz import HtmlStepper

    with pytest.raises(TypeError, match="needs a Value"):
        HtmlStepper([1.0])
    for bad in (0, -1e-3, float("inf"), float("nan"), "0.1", True):
        with pytest.raises(ValueError, match="tolerance must be a finite number > 0"):
            HtmlStepper(Value(1.0), tolerance=bad)
    with pytest.raises(TypeError, match="predict must be True or False"):
        HtmlStepper(Value(1.0), predict="no")
    with pytest.raises(TypeError, match="title must be a str"):
        HtmlStepper(Value(1.0), title=None)


def test_a_standalone_neuron_steps_at_the_neuron_level(tmp_path):
    """Issue 14: nn.Layer worked at level="neuron" but a standalone nn.Neuron(3) was refused."""
    require_dot()
    import nn
    from viz import step_html

    neuron = nn.Neuron(3, rng=1)
    out = neuron([1.0, -2.0, 0.5])
    stepper = step_html(out, tmp_path / "neuron.html", level="neuron")
    assert "neuron 1, forward" in stepper.html and "neuron 1, backward" in stepper.html


def test_batched_graph_page_shows_the_chosen_example(tmp_path):
    require_dot()
    from autodiff.batched import batch, total
    from viz import HtmlStepper

    def graph(x):
        a = Value(0.3, "a")
        return total((a * x).tanh()), a

    xs = [0.5, -2.0, 1.5]
    root, a = graph(batch(xs, "x"))
    data = payload(HtmlStepper(root, example=2).html)
    assert data["frames"][0]["text"].startswith("start (example 2 of 3")
    single, _ = graph(Value(xs[2], "x"))
    single.backward()
    order, one = topological_order(root), topological_order(single)
    values, grads = {}, {}
    for f in data["frames"]:
        values.update(f["values"]), grads.update(f["grads"])
    for i, node in enumerate(order[:-1]):  # all but the root, the total over examples
        assert values[str(i)] == pytest.approx(one[i].data, rel=1e-14)
        if node is not a:  # the shared parameter's gradient sums every example's
            assert grads[str(i)] == pytest.approx(one[i].grad, rel=1e-14)
    assert not a.has_grad  # the page steps a fresh pass and leaves .grad alone (issue 14)
    root.backward()
    assert grads[str(order.index(a))] == pytest.approx(a.grad, rel=1e-14)


def test_page_shows_one_fresh_pass_and_leaves_grad_as_it_was(tmp_path):
    """After two backward() calls (x1.grad = -3.0), the page still asks for the one-pass gradients
    (x1: -1.5) and building it changes no node's .grad or .data (issue 14)."""
    require_dot()
    from tests.conftest import classic_neuron
    from viz import step_html

    o, nodes = classic_neuron()
    o.backward()
    o.backward()
    before = {k: (v.data, v.grad) for k, v in nodes.items()}
    assert before["x1"][1] == pytest.approx(-3.0)
    for level_page in (step_html(o, tmp_path / "q.html", predict=True),):
        data = payload(level_page.html)
        asked = {a["name"]: a["value"] for f in data["frames"] for a in f["asks"]}
        assert asked["x1"] == pytest.approx(-1.5) and asked["w1"] == pytest.approx(1.0)
        assert asked["b"] == pytest.approx(0.5)
        seed = next(f for f in data["frames"] if f["kind"] == "seed")
        assert seed["grads"] == {str(len(nodes) - 1): 1.0}            # only the root: no old gradients
    assert {k: (v.data, v.grad) for k, v in nodes.items()} == before


def test_network_page_leaves_grad_as_it_was(tmp_path):
    require_dot()
    from tests.test_step_html_levels import mlp_loss
    from viz import HtmlStepper

    loss, model = mlp_loss(True, (3, 2, 1))
    loss.backward()
    loss.backward()
    order = topological_order(loss)
    before = [(n.data, n.grad) for n in order]
    data = payload(HtmlStepper(loss, level="neuron", predict=True).html)
    twin, _ = mlp_loss(True, (3, 2, 1))
    twin.backward()
    fresh = {n.label: n.grad for n in topological_order(twin) if n.label.endswith(".z")}
    asks = [a for g in data["groups"] for a in g["asks"]]
    assert asks and all(a["value"] == fresh[a["name"]] for a in asks)
    assert [(n.data, n.grad) for n in order] == before


def test_stepper_docs_python_blocks_run_top_to_bottom(tmp_path, monkeypatch):
    """Issue 14 (tester): run in order, docs/stepper.md's Python blocks ended in a NameError (its last
    example stepped a `loss` the page never made). Every block now runs, in one namespace, in order."""
    import contextlib
    import io
    from pathlib import Path

    require_dot()
    text = (Path(__file__).resolve().parent.parent / "docs" / "stepper.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for block in blocks:
            exec(compile(block, "docs/stepper.md", "exec"), namespace)
    assert (tmp_path / "net.html").stat().st_size > 0
