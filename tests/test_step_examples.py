"""Stepping one example's part of a loss over several examples (viz.examples): the README's eager loss on
100 moons points (65,340 nodes) is stepped one example at a time, every number the one-pass gradient
autodiff.grad gives, in the HTML page and the terminal stepper alike; graphs whose examples cannot be
told apart are refused in words."""

from __future__ import annotations

import json
import re

import pytest

import nn
from autodiff import grad, topological_order
from autodiff.steps import fmt
from viz.examples import SHARED, WHOLE_LIMIT, ExampleWalkthrough, example_of, walkthrough
from viz.levels import gradient_changes


def readme_loss(n: int = 100):
    """The README's loss as it writes it: MLP(2, [16, 16, 1]) called on each of ``n`` moons points."""
    from nn.data import make_moons

    X, y = make_moons(n, noise=0.1, rng=1)
    model = nn.MLP(2, [16, 16, 1], rng=1)
    scores = [model(x)[0] for x in X]
    loss = nn.mean([nn.hinge(s, 2 * t - 1) for s, t in zip(scores, y, strict=True)]) \
        + nn.l2(model.weights(), 1e-4)
    return loss, model


@pytest.fixture(scope="module")
def readme():
    return readme_loss()


def test_each_call_of_the_model_is_an_example(readme):
    loss, model = readme
    order = topological_order(loss)
    count, of = example_of(order)
    assert count == 100
    assert {of[p] for p in model.parameters()} == {SHARED}
    inputs = [n for n in order if n.label in ("x.0", "x.1")]
    assert [of[n] for n in inputs] == [k for k in range(100) for _ in (0, 1)]  # each call's own inputs
    assert of[loss] == SHARED
    outputs = [n for n in order if n.label == "layers.2.neurons.0.z"]
    assert [of[n] for n in outputs] == list(range(100))


@pytest.mark.parametrize("example", [None, 37])
def test_an_examples_part_holds_the_one_pass_gradients(readme, example):
    loss, model = readme
    before = [(p.data, p.grad) for p in model.parameters()]
    walk = walkthrough(loss, example)
    assert isinstance(walk, ExampleWalkthrough) and walk.example == (example or 0)
    k = example or 0
    assert len(walk.order) < 1300                       # its part, not the 65,340 nodes
    params = model.parameters()
    final = walk.grads(len(walk) - 1)
    assert [final[p] for p in params] == list(grad(loss, params))  # to the bit
    # each shown node passes on the gradient autodiff.grad gives it
    shown = [s.node for s in walk.backward if s.node is not walk.others]
    assert [s.upstream for s in walk.backward if s.node is not walk.others] == list(grad(loss, shown))
    # the example's own inputs, not another's
    xs = [n for n in walk.order if n.label == "x.0"]
    assert xs == [n for n in topological_order(loss) if n.label == "x.0"][k:k + 1]
    # the other examples' steps are one step, whose term per parameter is the rest of its gradient
    summed = walk.backward[-1]
    assert summed.node is walk.others and set(summed.parents) == set(params)
    mine = gradient_changes(walk.backward[:-1])
    for p, term, after in zip(summed.parents, summed.contributions, summed.running, strict=True):
        assert mine.get(p, 0.0) + term == pytest.approx(after, rel=1e-12, abs=1e-15)
    assert "example=k" in walk.text(0) and "example='all'" in walk.text(0)
    assert [(p.data, p.grad) for p in model.parameters()] == before  # .grad and .data untouched


def test_the_page_steps_one_example_at_every_level(readme, tmp_path):
    from viz import step_html

    loss, model = readme
    for level in ("op", "neuron", "layer"):
        page = step_html(loss, tmp_path / f"{level}.html", predict=True, level=level)
        assert page.path.stat().st_size < 3_000_000      # the target of issue 14 (was 114 MB)
        data = json.loads(re.search(r'<script type="application/json" id="dg-data">(.*?)</script>',
                                    page.html, re.S).group(1))
        assert data["example"] == "example 0 of 100" and data["layered"]
        assert "the whole graph: example='all'" in data["frames"][0]["text"]
        groups = [g for g in data["groups"] if g["level"] == level] if level != "op" else []
        if level != "op":  # one step per neuron (or layer) of this example, asking for its δ
            zs = {n.label: n for n in page.walkthrough.order if n.label.endswith(".z")}
            asked = [a for g in groups if g["phase"] == "backward" for a in g["asks"] if a["name"] in zs]
            assert len({a["name"] for a in asked}) == 33    # every neuron's δ (the output's twice: the
            deltas = dict(zip(zs, grad(loss, list(zs.values())), strict=True))  # loss gives it first)
            assert all(a["value"] == deltas[a["name"]] for a in asked)
    assert page.walkthrough.example == 0


def test_the_whole_graph_or_another_example_on_request(tmp_path):
    loss, model = readme_loss(5)                         # 3,590 nodes: shown whole unless asked
    assert len(topological_order(loss)) <= WHOLE_LIMIT
    assert not isinstance(walkthrough(loss), ExampleWalkthrough)
    assert not isinstance(walkthrough(loss, "all"), ExampleWalkthrough)
    walk = walkthrough(loss, 3)
    assert walk.example == 3 and "chosen with example=" in walk.text(0)
    final = walk.grads(len(walk) - 1)
    assert [final[p] for p in model.parameters()] == list(grad(loss, model.parameters()))
    with pytest.raises(ValueError, match=r"example 5 is not in the graph, which holds examples 0\.\.4"):
        walkthrough(loss, 5)
    with pytest.raises(ValueError, match="an int, None or 'all'"):
        walkthrough(loss, "first")


def test_a_graph_whose_examples_cannot_be_told_apart_is_refused_in_words():
    model = nn.MLP(2, [2, 1], rng=1)
    twice = model([1.0, 2.0])[0] + model.layers[0]([3.0, 4.0])[0]   # neuron 1 of layer 1 twice, the rest once
    with pytest.raises(ValueError, match="cannot be told apart: layer 1 · neuron 2 is computed once and "
                                         "layer 1 · neuron 1 2 times"):
        walkthrough(twice, 1)
    assert not isinstance(walkthrough(twice), ExampleWalkthrough)  # nothing asked: the whole graph
    a = model([1.0, 2.0])[0]
    mixed = model([a, model([3.0, 4.0])[0]])[0]                      # a call reading two other calls
    with pytest.raises(ValueError, match="reads the nodes of several calls of the model"):
        walkthrough(mixed, 0)
    single = model([1.0, 2.0])[0]
    with pytest.raises(ValueError, match="this graph holds one example"):
        walkthrough(single, 1)
    assert walkthrough(single, 0).example is None            # its one example, as before


def test_the_terminal_stepper_at_80x24_steps_one_example(readme):
    from rich.console import Console

    from viz.stepper import render_frame, step_terminal

    loss, model = readme
    keys = iter(["right", "b", "right", "G", "q"])
    console = Console(width=80, height=24, record=True, force_terminal=False)
    screens = []
    step_terminal(loss, console=console, interactive=True,
                  keys=lambda: (screens.append(console.export_text()), next(keys))[1])
    for screen in screens:
        assert len(screen.rstrip("\n").split("\n")) <= 24 and max(map(len, screen.split("\n"))) <= 80
        assert "example 0 of 100" in screen.split("\n")[0]
    assert "Σ_others = the loss terms of examples 1–99 added up" in screens[-1]
    walk = walkthrough(loss)
    total = walk.names[walk.total]
    # the mean's sum, one row of the table (at 80x24 the window around Σ_others's step may give that line
    # to one more of the 337 parameters the step updates, as now that the step text ends at a line's end)
    table = Console(width=200, record=True, force_terminal=False)
    table.print(render_frame(walk, len(walk) - 1, width=200))
    assert re.search(rf"{total} +│ add ×99 +│ v\d+, Σ_others +│", table.export_text())
    w = model.layers[2].neurons[0].w[0]
    panel = " ".join(t.strip(" │") for t in screens[-1].split("╰")[0].split("\n"))  # its wrapped lines joined
    line = re.search(rf"{re.escape(w.label)}\.grad \+= .*? → \S+ \+ \S+ = \S+", panel).group(0)
    # the chain rule with its numbers: ∂Σ_others/∂w · Σ_others.grad, Σ_others.grad = 1/100 (the mean's)
    others = grad(loss, [w])[0] - gradient_changes(walk.backward[:-1])[w]
    assert line.startswith(f"{w.label}.grad += ∂Σ_others/∂{w.label} · Σ_others.grad = "
                           f"{fmt(others / 0.01)} · 0.01 = {fmt(others)} → ")
    assert line.endswith("= " + fmt(grad(loss, [w])[0]))   # its whole gradient


def test_a_shared_node_made_from_parameters_gets_the_other_examples_terms_before_its_own_step():
    from autodiff import Value

    model = nn.MLP(2, [3, 1], rng=1)
    a, b = Value(2.0, "a"), Value(0.5, "b")
    scale = a * b                                        # read by every example: shared, not a leaf
    loss = nn.mean([(model(x)[0] * scale) ** 2 for x in ([1.0, 2.0], [0.5, -1.0], [2.0, 0.0])])
    walk = walkthrough(loss, 1)
    leaves = [a, b, *model.parameters()]
    final = walk.grads(len(walk) - 1)
    assert [final[p] for p in leaves] == pytest.approx(list(grad(loss, leaves)), rel=1e-12)
    steps = [s.node for s in walk.backward]
    assert steps.index(walk.others) < steps.index(scale)  # its gradient complete before it passes it on
    assert walk.backward[steps.index(scale)].upstream == grad(loss, [scale])[0]


def test_in_a_notebook_the_readme_loss_shows_one_example(tmp_path):
    """In a real Jupyter kernel the page (`HtmlStepper`, shown inline) and the terminal stepper take the
    same option, and the README's 100-point loss shows one example's part, not a traceback; so does
    `viz.show` of it."""
    import importlib.util

    from tests.conftest import require

    for module in ("nbclient", "ipykernel"):
        require(importlib.util.find_spec(module) is not None, module, "pip install -e '.[test]'")
    import nbclient
    from nbformat.v4 import new_code_cell, new_notebook

    cells = ["import nn, viz\nfrom nn.data import make_moons\n"
             "X, y = make_moons(100, noise=0.1, rng=1)\nmodel = nn.MLP(2, [16, 16, 1], rng=1)\n"
             "scores = [model(x)[0] for x in X]\n"
             "loss = nn.mean([nn.hinge(s, 2 * t - 1) for s, t in zip(scores, y)])"
             " + nn.l2(model.weights(), 1e-4)\n"
             "viz.HtmlStepper(loss, example=3)",
             "viz.step_terminal(loss, example=3)", "viz.show(loss)"]
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    page, terminal, drawing = nb.cells
    # viz.show of the 65,340 nodes wrote a 38 MB output (QA, issue 14): now example 0's part, as the page
    (shown_html,) = [o.data["text/html"] for o in drawing.outputs if "text/html" in o.get("data", {})]
    assert len(shown_html) < 3_000_000 and "this shows example 0&#x27;s part" in shown_html
    html = page.outputs[0].data["text/html"]
    assert html.startswith('<iframe sandbox="allow-scripts"') and "example 3 of 100" in html
    assert len(html) < 4_000_000                         # escaped into srcdoc, still one example's page
    shown = [o for o in terminal.outputs if o.output_type == "display_data"]
    assert len(shown) == 1 and "Σ_others = the loss terms of examples 0–2, 4–99 added up" in \
        shown[0].data["text/plain"]
    assert not [o for o in page.outputs + terminal.outputs if o.output_type == "error"]


@pytest.mark.parametrize("example", [0, 37, 99])
def test_the_means_sum_is_one_node_and_one_exact_step(readme, example):
    """Issue 14: the mean's 99 adds took one column each (a 37,600 px wide drawing). They are one box and
    one step, total = this example's term + Σ_others; that step is exactly the adds' steps it stands for
    (coarse = the sum of fine), and Σ_others gets the gradient every other example's term gets."""
    from autodiff import backward_steps

    loss, model = readme
    walk = walkthrough(loss, example)
    order = topological_order(loss)
    adds = [n for n in order if n in walk.chain]
    assert len(adds) == 99 and walk.total is adds[-1] and walk.total in walk.order
    assert not set(adds[:-1]) & set(walk.order)                    # the other 98 adds are not drawn
    count, of = example_of(order)
    term = next(p for a in adds for p in a.parents if of.get(p) == example)  # this example's loss term
    assert walk.parents(walk.total) == (term, walk.others)
    assert walk.others.data == pytest.approx(walk.total.data - term.data, rel=1e-12)
    # the fold's backward step is the 99 adds' steps: each term of the sum gets 1 · total.grad, exactly
    step = next(s for s in walk.backward if s.node is walk.total)
    fine = [s for s in backward_steps(loss) if s.node in walk.chain]
    outside = [(p, t) for s in fine for p, t in zip(s.parents, s.contributions, strict=True)
               if p not in walk.chain]
    assert len(outside) == 100 and {t for _, t in outside} == {step.upstream} == {0.01}
    assert step.parents == (term, walk.others) and step.contributions == (0.01, 0.01)
    assert step.contributions[0] == dict(outside)[term]
    assert "add ×99 (the sum of the examples' loss terms)" in str(
        next(s for s in walk.forward if s.node is walk.total))
    # every other example's term gets Σ_others.grad: what autodiff.grad gives them
    others = [p for p, _ in outside if p is not term]
    assert set(grad(loss, others)) == {step.contributions[1]}
    summed = next(s for s in walk.backward if s.node is walk.others)
    assert summed.upstream == 0.01 and summed.chain
    assert summed.what == ("examples 1–99" if example == 0 else "examples 0–98" if example == 99
                           else "examples 0–36, 38–99")
    for local, term_sum in zip(summed.local, summed.contributions, strict=True):
        assert local * summed.upstream == pytest.approx(term_sum, rel=1e-12, abs=1e-300)


def test_the_drawing_of_one_example_is_not_the_means_chain(readme):
    """Example 0's layered drawing was 37,600 px wide and 145 columns (the mean's 99 adds one column
    each, 1,189 boxes since nn.l2 is one node); with the sum one box it is the example's own network
    and loss: 47 columns."""
    from tests.conftest import layered_boxes
    from viz.examples import example_svg

    loss, model = readme
    walk = walkthrough(loss)
    svg = example_svg(walk)
    width = int(re.search(r'class="dg-layered" style="position:relative;width:(\d+)px', svg).group(1))
    assert len(walk.order) == 992 and width < 15_000
    assert len(layered_boxes(svg)) == len(walk.order)
    assert f"{walk.names[walk.total]}  Σ of 100 terms" in svg and "Σ_others  examples 1–99" in svg


def test_other_examples_terms_read_twice_are_given_numbers_summed_with_upstream_1():
    """When the other examples' loss terms are read by more than one sum (here example 1's twice), there is
    no one chain to fold: they are given numbers, and the summed step adds the sums themselves."""
    model = nn.MLP(2, [3, 1], rng=1)
    terms = [model(x)[0] ** 2 for x in ([1.0, 2.0], [0.5, -1.0], [2.0, 0.0])]
    loss = nn.mean(terms) * terms[1]
    walk = walkthrough(loss, 0)
    assert not walk.chain and walk.total is None
    assert any(walk.names[n].endswith("(example 1)") for n in walk.order)
    summed = next(s for s in walk.backward if s.node is walk.others)
    assert not summed.chain and summed.upstream == 1.0 and summed.what == "examples 1, 2"
    text = str(summed)
    assert text.startswith(f"step {summed.index}/{summed.total}  examples 1, 2, Σ of their terms:")
    assert "Σ over examples 1, 2 of their terms = " in text
    final = walk.grads(len(walk) - 1)
    params = model.parameters()
    assert [final[p] for p in params] == pytest.approx(list(grad(loss, params)), rel=1e-12)


def test_an_integer_numpy_scalar_picks_an_example_everywhere_a_bool_or_float_does_not(tmp_path):
    """QA (issue 14): example=np.int64(3) (what np.argmax gives) was refused as "not in the graph, which
    holds examples 0..99". Integer-like scalars are the example they stand for in step_html, HtmlStepper,
    the terminal stepper and on a batched graph; a bool or a float is refused as not an example number."""
    import io

    import numpy as np
    from rich.console import Console

    from autodiff import Walkthrough
    from autodiff.batched import batch_columns, total
    from viz import HtmlStepper, step_html
    from viz.stepper import step_terminal

    loss, model = readme_loss(5)
    for k in (np.int64(3), np.uint8(3), np.intp(3)):
        walk = walkthrough(loss, k)
        assert isinstance(walk, ExampleWalkthrough) and walk.example == 3 and type(walk.example) is int
        assert "example 3's part" in walk.text(0)
    assert step_html(loss, tmp_path / "e.html", example=np.int64(3)).walkthrough.example == 3
    assert HtmlStepper(loss, example=np.int64(4), level="neuron").walkthrough.example == 4
    out = io.StringIO()
    step_terminal(loss, console=Console(file=out, width=80), interactive=False, example=np.int64(2))
    assert "example 2's part" in out.getvalue()
    with pytest.raises(ValueError, match=r"example 5 is not in the graph, which holds examples 0\.\.4"):
        walkthrough(loss, np.int64(5))
    for bad in (True, np.True_, 3.0, np.float64(3), "3"):
        with pytest.raises(ValueError, match=r"example must be an int, None or 'all' \(an integer numpy "
                                             r"scalar such as np.int64\(3\) is fine, a bool is not\), got "):
            walkthrough(loss, bad)
    model2 = nn.MLP(2, [3, 1], rng=0, fused=True)
    batched = total(model2(batch_columns([[1.0, 2.0], [3.0, -4.0], [0.5, 0.25]]))[0] ** 2)
    assert Walkthrough(batched, np.int64(2)).example == 2 and walkthrough(batched, np.int64(2)).example == 2
    assert step_html(batched, tmp_path / "b.html", example=np.int64(1)).walkthrough.example == 1
    with pytest.raises(ValueError, match="example must be an int or None .* got np.True_"):
        Walkthrough(batched, np.True_)


def test_the_docs_give_the_readme_losss_sizes_and_last_step_as_built(readme):
    """QA (issue 14): docs/stepper.md said 65,342 nodes and "1,191 of 65,342" after nn.l2 became one node
    (the page said 65,340). Its figures and its quoted last step are now those of the graph as built."""
    from pathlib import Path

    loss, _ = readme
    text = (Path(__file__).resolve().parent.parent / "docs" / "stepper.md").read_text(encoding="utf-8")
    nodes = len(topological_order(loss))
    walk = walkthrough(loss)
    assert f"the graph holds {nodes:,} nodes" in " ".join(text.split())
    assert f"# example 0's part: {len(walk.order):,} of {nodes:,} nodes" in text
    last = walk.text(len(walk) - 1).splitlines()
    assert "\n".join(last[:3]) in text
    assert f"(the graph's {nodes:,} nodes are too many to step at once)" in walk.text(0)


def test_a_model_fed_another_calls_output_or_two_models_are_refused_saying_why(tmp_path):
    """QA (issue 14): model([h, 2h]) with h another call's output was stepped as "3 examples", example 1
    empty; two models in one loss were refused as a neuron "reading several calls of the model". Both
    are refused naming what is really so, and without example= a big graph is stepped whole."""
    from autodiff import Value
    from nn.data import make_moons
    from viz import step_html

    X, _ = make_moons(8, noise=0.1, rng=1)
    model = nn.MLP(2, [16, 16, 1], rng=1)
    h = model([Value(X[0][0], "x0"), Value(X[0][1], "x1")])[0]
    fed = model([h, h * 2])[0] + model(X[1])[0]
    with pytest.raises(ValueError, match=r"layer 1 · neuron \d+ reads the inputs in one call of the "
                                         r"model and another call's nodes in another \(the model fed "
                                         r"another call's output, as in model\(model\(x\)\)\)"):
        step_html(fed, tmp_path / "fed.html", example=1)
    assert not isinstance(walkthrough(fed), ExampleWalkthrough)
    other = nn.MLP(2, [4, 1], rng=2)
    scores, others = [model(x)[0] for x in X], [other(x)[0] for x in X]
    two = nn.mean([a * b for a, b in zip(scores, others, strict=True)])
    assert len(topological_order(two)) > WHOLE_LIMIT
    with pytest.raises(ValueError, match=r"it holds more than one model built by nn \(two parameters are "
                                         r"labelled 'layers\.[01]\.neurons\.\d+\.(w\.\d+|b)'\)"):
        walkthrough(two, 2)
    with pytest.raises(ValueError, match="more than one model built by nn"):
        walkthrough(model(X[0])[0] + other(X[0])[0], 0)   # one call each: not two examples
    whole = walkthrough(two)
    assert not isinstance(whole, ExampleWalkthrough) and len(whole.order) == len(topological_order(two))
    ok = nn.mean([s * s for s in scores[:3]])                   # one model, one call per example: stepped
    assert walkthrough(ok, 2).example == 2


def test_show_of_a_huge_graph_draws_one_example_or_says_how_to_see_it(readme):
    """QA (issue 14): viz.show(loss) of the README's 100-point loss wrote a 38 MB drawing of its 65,340
    nodes into the notebook. It shows example 0's part (example=k another, 'all' the whole), as the
    steppers do; a graph that big with one example is refused saying how to see it."""
    from autodiff import Value
    from viz import show
    from viz.draw import LayeredDiagram

    loss, _ = readme
    shown = show(loss)
    part = walkthrough(loss)
    assert isinstance(shown, LayeredDiagram) and shown.nodes == len(part.order) < 1300
    html = shown._repr_html_()
    assert len(html) < 3_000_000 and "this shows example 0&#x27;s part" in html
    assert "this shows example 7&#x27;s part" in show(loss, example=7)._repr_html_()
    with pytest.raises(ValueError, match=r"example 100 is not in the graph"):
        show(loss, example=100)
    y = Value(0.5, "x")
    for _ in range(WHOLE_LIMIT // 2):           # a constant, a product and a tanh a link
        y = (y * 1.01).tanh()
    with pytest.raises(ValueError, match=r"viz.show: the graph has 7,501 nodes, more than the 5,000 a "
                                         r"notebook output holds .* example='all'"):
        show(y)
    whole = show(y, example="all")
    assert whole.nodes == 7501 and whole.note == ""


def test_a_loss_over_a_few_calls_of_the_model_is_drawn_node_by_node(tmp_path):
    """Issue 14 (tester qa14i): a loss over 3 points, the model called once per point, was drawn with its
    neurons collapsed, one box per neuron for all 3 calls: the other calls' neuron steps lit boxes of
    the loss (2 steps in 3). A neuron computed more than once is never collapsed on the page: every z
    and a has a box of its own; collapse='neuron' asked for says why not and what to do."""
    import nn
    from nn.data import make_moons
    from tests.conftest import require_dot
    from viz import step_html

    require_dot()
    X, y = make_moons(100, noise=0.1, rng=1)
    model = nn.MLP(2, [16, 16, 1], rng=1)
    loss = nn.mean([nn.hinge(model(x)[0], 2 * t - 1) for x, t in zip(X[:3], y[:3], strict=True)])
    stepper = step_html(loss, tmp_path / "calls.html", level="neuron")
    order = stepper.walkthrough.order
    parts = [i for i, n in enumerate(order) if n.label.endswith((".z", ".a"))]
    assert len(parts) == 3 * (2 * 32 + 1) and stepper.drawing != "graphviz, neurons collapsed"
    assert [i for i in parts if stepper.node_ids[i] != f"n{i}"] == []
    small = nn.MLP(2, [3, 2], rng=1)
    twice = small([0.5, -1.0])[0] + small([1.0, 2.0])[0]
    with pytest.raises(ValueError, match=r"^step_html: collapse='neuron' draws one box per neuron, and this "
                                         r"graph computes layers.0.neurons.0 2 times .* example=0$"):
        step_html(twice, tmp_path / "twice.html", collapse="neuron")
    step_html(twice, tmp_path / "once.html", collapse="neuron", example=1)   # one call's part: drawn
