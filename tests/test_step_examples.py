"""Stepping one example's part of a loss over several examples (viz.examples): the README's eager loss on
100 moons points (65,342 nodes) is stepped one example at a time, every number the one-pass gradient
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
    assert len(walk.order) < 1300                       # its part, not the 65,342 nodes
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
    loss, model = readme_loss(5)                         # 3,200 nodes: shown whole unless asked
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

    from viz.stepper import step_terminal

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
    assert re.search(rf"{total} +│ add ×99 +│ v\d+, Σ_others +│", screens[-1])  # the mean's sum, one row
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
    same option, and the README's 100-point loss shows one example's part, not a traceback."""
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
             "viz.step_terminal(loss, example=3)"]
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    page, terminal = nb.cells
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
    each, 1,191 boxes); with the sum one box it is the example's own network and loss: 47 columns."""
    from viz.examples import example_svg

    loss, model = readme
    walk = walkthrough(loss)
    svg = example_svg(walk)
    width = int(re.search(r'class="dg-layered" style="position:relative;width:(\d+)px', svg).group(1))
    assert len(walk.order) == 994 and width < 15_000
    boxes = re.findall(r'<g id="n(\d+)" class="node', svg)
    assert len(boxes) == len(walk.order)
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
