"""Levels of detail for the HTML stepper (viz.levels): a network's op steps grouped a neuron and a layer
at a time, each coarse step exactly the sum of the fine steps it holds; nn.locate; and pages for big
graphs (the README's 2-16-16-1 loss eager, fused and batched, a 200-link tanh chain, a 5,000-node graph)
built instead of refused."""

from __future__ import annotations

import random

import pytest

import nn
from autodiff import Value, Walkthrough, backward_steps, topological_order
from autodiff.steps import fmt
from tests.conftest import layered_boxes, layered_tiles, require_dot
from viz.levels import LOSS, Group, gradient_changes, groups, neuron_units, regroup


def mlp_loss(fused: bool = False, nouts=(16, 16, 1), l2=nn.l2):
    """The README's network on one moons point: squared error plus L2 on the weights."""
    from nn.data import make_moons

    X, _ = make_moons(100, noise=0.1, rng=1)
    model = nn.MLP(2, list(nouts), rng=1, fused=fused)
    return nn.squared_error(model(X[0]), [1.0]) + l2(model.weights(), 1e-4), model


def l2_by_hand(weights, lam):
    """λ/2 Σ w² written out, one square and one sum per weight (`nn.l2` makes one node): the README
    loss then has the big graph (about 1,600 nodes) that the tests of big pages need."""
    total = weights[0] ** 2
    for w in weights[1:]:
        total = total + w ** 2
    return (lam / 2) * total


def tanh_chain(links: int = 200) -> Value:
    v = Value(0.5, "x")
    for _ in range(links):
        v = (v * 1.01).tanh()
    return v


def random_graph(size: int = 5000, seed: int = 0) -> Value:
    """A graph of about ``size`` nodes: sums, products and tanh of earlier nodes (reuse and diamonds)."""
    rng = random.Random(seed)
    nodes = [Value(rng.uniform(-1, 1), f"x{i}") for i in range(40)]
    while len(nodes) < size // 2:
        a, b = rng.choice(nodes[-40:]), rng.choice(nodes)
        nodes.append((a * b).tanh() if rng.random() < 0.3 else a + b)
    out = nodes[-1]
    for n in nodes[40:]:
        out = out + n * 0.001
    return out


def test_neuron_units_hold_each_neurons_nodes_and_nothing_else():
    model = nn.MLP(2, [3, 2], rng=0)
    t = model.trace([0.5, -1.0])
    loss = nn.squared_error(t.output, [1.0, 0.0])
    unit = neuron_units(topological_order(loss))
    assert unit[t.z[1][1]] == (1, 1) and unit[t.a[0][2]] == (0, 2) and unit[t.output[0]] == (1, 0)
    products = [p for p in t.z[0][1].parents if not p.is_leaf]  # the partial sums of an unfused z
    assert products and all(unit[p] == (0, 1) for p in products)
    assert not any(n.is_leaf for n in unit)                          # inputs and parameters: no neuron's
    assert loss not in unit
    assert sum(1 for key in unit.values() if key == (0, 0)) == 2 * 2 + 1  # 2 products, 1 sum, + b, z, a


@pytest.mark.parametrize("fused", [False, True])
def test_coarse_steps_are_the_sums_of_their_fine_steps(fused):
    loss, model = mlp_loss(fused, (4, 3, 1))
    unit = neuron_units(topological_order(loss))
    engine = list(backward_steps(loss))
    steps = regroup(engine, unit, "backward")
    assert sorted(s.index for s in steps) == list(range(1, len(engine) + 1))
    neurons, layers = groups(steps, unit, "neuron", "backward"), groups(steps, unit, "layer", "backward")
    assert [g.key for g in layers] == [LOSS, (2,), (1,), (0,)]  # the loss and its L2 term, then layer 3
    assert [g.title for g in layers[1:]] == ["layer 3", "layer 2", "layer 1"]
    loss_steps = layers[0].stop - layers[0].start
    assert layers[0].title == f"the loss ({loss_steps} operations)"
    # the L2 term is one operation of the loss's, Σx² (nn.l2 makes one node, not one square per weight)
    assert [s.op for s in steps[:loss_steps]].count("sum_squares") == 1 and loss_steps < 16
    assert neurons[0] == Group("neuron", "backward", LOSS, 0, loss_steps)
    coarse = neurons + layers
    neurons, layers = neurons[1:], layers[1:]
    assert sorted(g.key for g in neurons) == [(i, j) for i, n in enumerate([4, 3, 1]) for j in range(n)]
    assert sum(g.stop - g.start for g in neurons) == sum(1 for s in steps if s.node in unit)
    for layer in layers:  # a layer holds exactly its neurons' runs
        inside = [g for g in neurons if layer.start <= g.start < layer.stop]
        assert {g.key[0] for g in inside} == {layer.key[0]}
        assert sum(g.stop - g.start for g in inside) == layer.stop - layer.start
    # In the regrouped order each running gradient is the engine's own number: accumulate the
    # contributions in that order and compare bit for bit.
    running: dict[Value, float] = {loss: 1.0}
    after_step = []
    for s in steps:
        for p, term, engine_running in zip(s.parents, s.contributions, s.running, strict=True):
            running[p] = running[p] + term if p in running else term
            assert running[p] == engine_running
        after_step.append(dict(running))
    # a coarse step changes exactly what its fine steps change, by the sum of their contributions
    for g in coarse:
        before = after_step[g.start - 1] if g.start else {loss: 1.0}
        after = after_step[g.stop - 1]
        changes = gradient_changes(steps[g.start:g.stop])
        for node, total in changes.items():
            assert after[node] == pytest.approx(before.get(node, 0.0) + total, rel=1e-12, abs=1e-15)
        assert all(after[n] == before[n] for n in set(after) - set(changes))
    # and the neuron steps' δ are the z gradients a plain backward() gives
    fresh, fresh_model = mlp_loss(fused, (4, 3, 1))
    fresh.backward()
    walk = Walkthrough(loss)
    walk.backward[:] = steps
    from viz.levels import deltas
    for g in neurons:
        for (layer, j), z, delta in deltas(g, walk, unit):
            assert z.label == f"layers.{layer}.neurons.{j}.z"
            twin = next(n for n in topological_order(fresh) if n.label == z.label)
            assert delta == twin.grad


def test_neuron_text_writes_the_sum_over_the_next_layer():
    loss, model = mlp_loss(False, (3, 2, 1))
    walk = Walkthrough(loss)
    from viz.levels import describe

    unit = neuron_units(walk.order)
    g = next(g for g in groups(walk.backward, unit, "neuron", "backward") if g.key == (0, 1))
    text = describe(g, walk, unit)
    assert text.startswith("layer 1 · neuron 2, backward")
    line = next(ln for ln in text.splitlines() if "∂L/∂a" in ln and "Σ" in ln)
    assert line.split(" = ")[2].count(" + ") == 1  # one w·δ term per neuron of the next layer (2 of them)
    z = next(n for n in walk.order if n.label == "layers.0.neurons.1.z")
    assert any(ln.strip().startswith("δ = ∂L/∂z") for ln in text.splitlines())
    assert describe(g, walk, unit, ask=True).count("?") >= 2
    assert z in unit


def test_pages_for_big_graphs_are_built_not_refused(tmp_path):
    require_dot()
    from autodiff.batched import batch_columns
    from nn.data import make_moons
    from viz import HtmlStepper

    eager, _ = mlp_loss(False, l2=l2_by_hand)
    fused, _ = mlp_loss(True)
    X, _ = make_moons(8, noise=0.1, rng=1)
    model = nn.MLP(2, [16, 16, 1], rng=1, fused=True)
    batched = nn.mean(nn.squared_error(model(batch_columns(X)), [1.0]))
    chain, big = tanh_chain(200), random_graph(5000)
    assert len(topological_order(eager)) > 1500 and len(topological_order(big)) >= 5000
    for root, level, kw in [(eager, "neuron", {}), (eager, "op", {}), (fused, "layer", {}),
                            (batched, "neuron", {"example": 3}), (chain, "op", {}), (big, "op", {})]:
        stepper = HtmlStepper(root, level=level, **kw)
        assert stepper.drawing == "layered" if level == "op" else stepper.drawing != "graphviz"
        if stepper.drawing == "layered":
            assert len(layered_boxes(stepper.html)) == len(topological_order(root))
    small = HtmlStepper(mlp_loss(True, (2, 1))[0], level="neuron")
    assert small.drawing == "graphviz"
    plain = nn.squared_error(nn.MLP(2, [16, 16, 1], rng=1, fused=True)(X[0]), [1.0])  # no L2 term
    collapsed = HtmlStepper(plain, level="neuron", collapse="neuron")
    assert collapsed.drawing == "graphviz, neurons collapsed"


def test_level_errors_are_named():
    from viz import HtmlStepper

    with pytest.raises(ValueError, match="level must be one of"):
        HtmlStepper(Value(1.0), level="neurons")
    with pytest.raises(ValueError, match="needs a network built by nn"):
        HtmlStepper(Value(1.0) * 2, level="neuron")
    with pytest.raises(ValueError, match="max_nodes must be a positive int"):
        HtmlStepper(Value(1.0), max_nodes=0)
    with pytest.raises(ValueError, match="collapse must be None or 'neuron'"):
        HtmlStepper(Value(1.0), collapse="layer")


def test_layered_layout_draws_every_node_and_edge_left_to_right():
    """viz.layered: one box per node with draw's ids, one edge per operand (x * x has two), every
    operand's box left of its result's, and labels escaped."""
    import re

    from viz.layered import layered_svg

    x = Value(3.0, "<x>")
    y = x * x
    z = (y + x).tanh()
    order = topological_order(z)
    names = ["<x>", "v1", "v2", "v3"]
    svg = layered_svg(order, names, [n.primitive.symbol if n.primitive else "" for n in order])
    assert "<x>" not in svg and "&lt;x&gt;" in svg
    boxes = {i: x0 for i, (x0, _, _) in layered_boxes(svg).items()}
    assert sorted(boxes) == list(range(len(order)))
    edges = re.findall(r'id="e(\d+)_(\d+)"', svg)
    operands = [(str(i), str(k)) for i, n in enumerate(order) for k in range(len(n.parents))]
    assert sorted(edges) == sorted(operands)
    pos = {n: i for i, n in enumerate(order)}
    for i, n in enumerate(order):
        assert all(boxes[pos[p]] < boxes[i] for p in n.parents)
    big = random_graph(5000)
    big_order = topological_order(big)
    svg = layered_svg(big_order, [f"v{i}" for i in range(len(big_order))], [""] * len(big_order))
    assert len(layered_boxes(svg)) == len(big_order) and len(layered_tiles(svg)) > 1   # in tiles


def test_collapse_too_big_for_graphviz_falls_back_to_the_layered_layout(tmp_path):
    """Issue 14: the README loss (hinge + L2, 1,596 nodes) with neurons collapsed is still 1,265 drawn
    nodes; collapse='neuron' and a large max_nodes used to raise draw's max_nodes error or keep dot busy
    for minutes. Every such page is built, laid out in linear time, with one box per node."""
    from nn.data import make_moons
    from viz import step_html

    X, y = make_moons(100, noise=0.1, rng=1)
    model = nn.MLP(2, [16, 16, 1], rng=1)
    loss = nn.hinge(model(X[0])[0], 2 * y[0] - 1) + l2_by_hand(model.weights(), 1e-4)
    size = len(topological_order(loss))
    assert size == 1596
    for level, kw in [("neuron", {"collapse": "neuron"}), ("op", {"collapse": "neuron"}),
                      ("neuron", {"max_nodes": 5000}), ("op", {"max_nodes": 5000})]:
        stepper = step_html(loss, tmp_path / "c.html", level=level, **kw)
        assert stepper.drawing == "layered", (level, kw)
        assert len(layered_boxes(stepper.html)) == size
    with pytest.raises(ValueError, match="found no neuron"):
        step_html(Value(1.0) * 2, tmp_path / "d.html", collapse="neuron")


def test_coarse_step_header_names_exactly_the_steps_it_holds():
    """Issue 14: "layer 3 · neuron 1, backward (steps 614–1140 of 1253)" held 32 steps whose numbers are
    not contiguous. The header gives the count and the runs of numbers the step holds, no others."""
    import re

    from nn.data import make_moons
    from viz.levels import describe

    X, y = make_moons(100, noise=0.1, rng=1)
    model = nn.MLP(2, [16, 16, 1], rng=1)
    loss = nn.hinge(model(X[0])[0], 2 * y[0] - 1) + nn.l2(model.weights(), 1e-4)
    walk = Walkthrough(loss)
    unit = neuron_units(walk.order)
    walk.backward[:] = regroup(walk.backward, unit, "backward")
    checked = 0
    for level in ("neuron", "layer"):
        for g in groups(walk.backward, unit, level, "backward"):
            if g.key == LOSS:
                continue
            held = sorted(s.index for s in walk.backward[g.start:g.stop])
            head = describe(g, walk, unit).splitlines()[0]
            m = re.search(r"\((\d+) of (\d+) steps?: ([^)]*)\)", head)
            assert m, head
            assert int(m[1]) == len(held) and int(m[2]) == len(walk.backward)
            listed = []
            for part in m[3].split(", "):
                if part == "…":
                    break
                a, _, b = part.partition("–")
                listed += range(int(a), int(b or a) + 1)
            assert listed == held[:len(listed)], head
            if not m[3].endswith("…"):
                assert listed == held, head
            checked += 1
    assert checked >= 33  # 33 neurons and 3 layers


def two_output_losses():
    """The new-user tester's networks (issue 14): MLP(2, [3, 2]) with squared error and with
    cross-entropy, eager and fused: two outputs, whose backward pass interleaves the loss's terms, the
    output neurons and the hidden ones."""
    cases = []
    for fused in (False, True):
        for name, loss_of in (("squared_error", lambda out: nn.squared_error(out, [0.0, 1.0])),
                              ("cross_entropy", lambda out: nn.cross_entropy(out, 1))):
            model = nn.MLP(2, [3, 2], rng=0, fused=fused)
            cases.append(pytest.param(loss_of(model([Value(1.0, "x0"), Value(2.0, "x1")])),
                                      id=f"{name}-{'fused' if fused else 'eager'}"))
    return cases


def output_grads(loss: Value) -> list[float]:
    """∂loss/∂z of each output neuron by a plain backward(); the graph's gradients are put back."""
    order = topological_order(loss)
    saved = {n: n.grad for n in order}
    loss.backward()
    outputs = {n.label: n.grad for n in order if n.label.startswith("layers.1.") and n.label.endswith(".z")}
    for n, g in saved.items():
        n.grad = g
    return [outputs[f"layers.1.neurons.{j}.z"] for j in range(len(outputs))]


@pytest.mark.parametrize("loss", two_output_losses())
def test_a_network_with_two_outputs_steps_each_layer_and_neuron_once(loss):
    require_dot()
    from tests.test_step_html import payload
    from viz import HtmlStepper

    data = payload(HtmlStepper(loss, level="layer", predict=True).html)
    frames = data["frames"]
    backward = [f for f in frames if f["kind"] == "backward"]
    for level, keys in (("layer", ["layer 2", "layer 1"]),
                        ("neuron", [f"layer {i} · neuron {j}" for i, n in ((2, 2), (1, 3))
                                    for j in range(n, 0, -1)])):
        steps = [g for g in data["groups"] if g["level"] == level and g["phase"] == "backward"]
        # the loss once, first, then each layer (each neuron) exactly once, in backward order
        assert steps[0]["loss"] and steps[0]["title"].startswith("the loss (")
        assert sorted(g["title"] for g in steps[1:]) == sorted(keys)
        if level == "layer":
            assert [g["title"] for g in steps[1:]] == keys
        # they cover the whole backward pass: no bare op step between them
        assert steps[0]["first"] == frames.index(backward[0])
        assert all(a["last"] + 1 == b["first"] for a, b in zip(steps, steps[1:], strict=False))
        assert steps[-1]["last"] == frames.index(backward[-1])
        for g in steps[1:]:  # each neuron's line has its δ; a layer asks for each of its neurons' δ
            assert "\n  then w.grad" in g["text"] and ":\n  then" not in g["text"]
            assert len(g["asks"]) == (1 if level == "neuron" else 3 if g["title"] == "layer 1" else 2)
        # predict mode: the loss step asks for the gradient each output gets before it shows it
        outputs = {f"layers.1.neurons.{j}.z": loss_grad for j, loss_grad in enumerate(output_grads(loss))}
        assert {a["name"]: a["value"] for a in steps[0]["asks"]} == pytest.approx(outputs, rel=1e-12)
        assert steps[0]["hint"].endswith(".z.grad = ?") and "→" not in steps[0]["hint"]
        assert "→" in steps[0]["text"]
    # the regrouped order gives every running gradient the engine's own number
    walk = Walkthrough(loss)
    unit = neuron_units(walk.order)
    running: dict[Value, float] = {}
    for s in regroup(walk.backward, unit, "backward"):
        for p, term, engine_running in zip(s.parents, s.contributions, s.running, strict=True):
            running[p] = running[p] + term if p in running else term
            assert running[p] == engine_running


def test_a_model_called_on_several_examples_steps_each_call_of_a_neuron_apart():
    """Issue 14 (tester): on a loss over two examples, the neuron level made one step of a neuron's two
    calls and showed one call's numbers (forward example 2's z, backward example 1's δ, predict mode
    asking "δ of layer 2 · neuron 1" twice and accepting only one call's number in each box). Each call
    of a neuron is now its own step: its text's z, a and δ are that call's nodes' own numbers, and its
    ask names the call."""
    from autodiff import grad
    from viz.levels import deltas, describe

    m = nn.MLP(2, [3, 1], activation="tanh", rng=0)
    loss = nn.mean([(m(x)[0] - 1) ** 2 for x in ([1.0, 2.0], [-1.0, 0.5])])
    walk = Walkthrough(loss)
    unit = neuron_units(walk.order)
    assert sorted(set(unit.values())) == [(i, j, c) for i, n in ((0, 3), (1, 1)) for j in range(n)
                                          for c in (0, 1)]
    for phase, steps in (("forward", walk.forward), ("backward", walk.backward)):
        steps[:] = regroup(steps, unit, phase)            # as the page does: a neuron's steps together
    forward = groups(walk.forward, unit, "neuron", "forward")
    for g in forward:                                     # one call's z and a, with their own numbers
        if g.key == LOSS:
            continue
        members = [s.node for s in walk.forward[g.start:g.stop]]
        z = [n for n in members if n.label.endswith(".z")]
        assert len(z) == 1 and f"(call {g.key[2] + 1})" in g.title
        assert f"z = Σ w·x + b = {fmt(z[0].data)}" in describe(g, walk, unit)
    backward = [g for g in groups(walk.backward, unit, "neuron", "backward") if g.key != LOSS]
    assert len(backward) == 8 and len({g.key for g in backward}) == 8
    titles = []
    for g in backward:                                    # each δ is its call's z's one-pass gradient
        (key, z, delta), = deltas(g, walk, unit)
        assert key == g.key and delta == pytest.approx(grad(loss, [z])[0], rel=1e-12)
        line = next(ln for ln in describe(g, walk, unit).splitlines() if ln.strip().startswith("δ = ∂L/∂z"))
        assert line.endswith("= " + fmt(delta))
        titles.append(g.title)
    assert len(set(titles)) == 8                         # predict mode's asks tell the calls apart


@pytest.mark.parametrize("fused", [False, True])
def test_the_output_neurons_formula_has_no_weights(fused):
    """Issue 14 (tester): the output neuron's typeset δ read "Σ_k w_k δ_k = 1.0 · -1.0": the 1.0 is the
    loss's local derivative, not a weight. The formula now says which sum it is: w_k δ_k over the next
    layer for a hidden neuron, ∂u/∂a · ∂L/∂u over the loss's nodes for an output neuron."""
    from viz.levels import formula

    loss, _ = mlp_loss(fused, (3, 2, 1))
    walk = Walkthrough(loss)
    unit = neuron_units(walk.order)
    walk.backward[:] = regroup(walk.backward, unit, "backward")
    found = {g.key: formula(g, walk, unit)["weights"]
             for g in groups(walk.backward, unit, "neuron", "backward") if g.key != LOSS}
    assert found == {(0, 0): True, (0, 1): True, (0, 2): True, (1, 0): True, (1, 1): True, (2, 0): False}


def test_a_page_works_out_each_neurons_numbers_once(monkeypatch):
    """Issue 14: `_group_item` worked out a neuron's δ numbers up to three times per step (its text, its
    predict-mode text and its formula); they are now worked out once per neuron and page, and the three
    agree."""
    import viz.levels
    from viz.step_html import HtmlStepper

    calls = []
    work = viz.levels._Neuron._numbers
    monkeypatch.setattr(viz.levels._Neuron, "_numbers", lambda self, steps: calls.append(self.z) or
                        work(self, steps))
    loss, _ = mlp_loss(False, (3, 2, 1))
    page = HtmlStepper(loss, level="neuron", predict=True)
    assert len(calls) == len(set(calls)) == 6            # six neurons, each once
    backward = [g for g in page_groups(page) if g["level"] == "neuron" and g["phase"] == "backward"
                and not g["loss"]]
    for g in backward:
        delta = next(ln for ln in g["text"].splitlines() if ln.strip().startswith("δ = ∂L/∂z"))
        assert delta.endswith("= " + fmt(g["math"]["delta"])) and "= ?" in g["hint"]


def page_groups(page) -> list[dict]:
    import json
    import re

    return json.loads(re.search(r'id="dg-data">(.*?)</script>', page.html, re.S).group(1))["groups"]


def repeated_operand_losses():
    """Losses over an nn model whose graph reads one node twice in one op (QA, issue 14): x*x, x+x, an
    n-ary op (`nn.l2` with a weight listed twice) and a user primitive given the same node for both inputs;
    on one call of the model and on four (an example page)."""
    from autodiff.primitives import define
    from nn.data import make_moons

    both = define("qa_both", "both", 2, forward=lambda a, b: a * b + a,
                  vjp=lambda g, out, a, b: (g * (b + 1), g * a))  # d/da (ab + a) = b + 1, d/db = a
    X, y = make_moons(4, noise=0.1, rng=1)
    model = nn.MLP(2, [3, 1], rng=0)
    w = model.weights()
    d = model(X[0])[0] - 1.0
    ds = [model(x)[0] - t for x, t in zip(X, y, strict=True)]
    return {
        "d*d": d * d, "w*w": d + w[0] * w[0], "d+d": (d + d).tanh(), "l2": d + nn.l2([w[0], w[1], w[0]], 0.1),
        "primitive": both(d, d), "examples d*d": nn.mean([e * e for e in ds]),
        "examples primitive": nn.mean([both(e, e) for e in ds]),
    }


@pytest.fixture(scope="module")
def repeated():
    from autodiff.primitives import PRIMITIVES

    yield repeated_operand_losses()
    del PRIMITIVES["qa_both"]


@pytest.mark.parametrize("shape", ["d*d", "w*w", "d+d", "l2", "primitive", "examples d*d",
                                   "examples primitive"])
def test_a_node_read_twice_by_one_op_regroups_and_makes_pages(repeated, shape, tmp_path):
    """regroup once made the step of x*x wait on itself (TypeError deep in viz.levels): every level and
    the example page now step the pass, each gradient the same number as the engine's."""
    from autodiff import grad
    from viz import HtmlStepper, step_html

    loss = repeated[shape]
    order = topological_order(loss)
    unit = neuron_units(order)
    engine = list(backward_steps(loss))
    steps = regroup(engine, unit, "backward")
    assert sorted(s.index for s in steps) == list(range(1, len(engine) + 1))
    assert gradient_changes(steps) == gradient_changes(engine)
    assert regroup(list(Walkthrough(loss).forward), unit, "forward")
    leaves = [n for n in order if n.is_leaf]
    before = [n.grad for n in leaves]
    for level in ("op", "neuron", "layer"):
        stepper = step_html(loss, tmp_path / f"{level}.html", level=level)
        walk = stepper.walkthrough
        params = [n for n in walk.order if n.is_leaf and n.label.startswith("layers.")]
        final = gradient_changes(walk.backward)
        assert [final.get(p, 0.0) for p in params] == list(grad(loss, params))
    assert HtmlStepper(loss)._repr_html_()
    assert [n.grad for n in leaves] == before
