"""A gradient graph (from autodiff.grad with create_graph=True) is a graph like any other: the diagram
shows where each term of the derivative comes from, and the stepper walks through it; its backward pass
gives the second derivative."""

from __future__ import annotations

import math
import re

import pytest

import autodiff as ad
import nn
import viz
from autodiff import Value, Walkthrough, backward_steps, forward_steps, grad, topological_order
from tests.conftest import require_dot
from viz.draw import render_svg

NODE = re.compile(r"^\s*(n\d+|op\d+) \[", re.M)
EDGE = re.compile(r"^\s*(n\d+|op\d+) -> (n\d+|op\d+) \[.*\bid=(\w+)", re.M)


def sigmoid_gradient():
    # sigmoid's rule computes with its node y: d/dx σ(x) = y σ(−x). (tanh's derivative is one node,
    # sech², in a gradient graph: its formula is chosen by |x|, a choice the node makes again.)
    x = Value(0.5, "x")
    y = x.sigmoid()
    y.label = "y"
    dy = grad(y, x, create_graph=True)
    dy.label = "dy/dx"
    return x, y, dy


def structure(root: Value):
    source = viz.draw(root).source
    return source, set(NODE.findall(source)), {eid: (a, b) for a, b, eid in EDGE.findall(source)}


def test_the_diagram_of_a_gradient_graph_has_every_node_and_edge_of_it():
    x, y, dy = sigmoid_gradient()
    order = topological_order(dy)
    pos = {v: i for i, v in enumerate(order)}
    source, nodes, edges = structure(dy)
    interior = [v for v in order if not v.is_leaf]
    assert nodes == {f"n{i}" for i in range(len(order))} | {f"op{pos[v]}" for v in interior}
    expected = {}
    for v in interior:
        i = pos[v]
        expected[f"e{i}"] = (f"op{i}", f"n{i}")
        for k, p in enumerate(v.parents):
            expected[f"e{i}_{k}"] = (f"n{pos[p]}", f"op{i}")
    assert edges == expected
    # where the terms come from: d σ/dx = y σ(−x) is built on the forward node y itself, which is
    # computed from x; so x -> sigmoid -> y -> (y × σ(−x)) -> ... -> dy/dx
    ys = next(v for v in interior if v.op == "mul" and v.parents[0] is y)
    assert edges[f"e{pos[ys]}_0"] == (f"n{pos[y]}", f"op{pos[ys]}")
    assert edges[f"e{pos[y]}_0"] == (f"n{pos[x]}", f"op{pos[y]}")
    assert ">dy/dx<" in source and ">y<" in source and ">x<" in source
    assert "grad —" in source and "grad 1" not in source  # no backward has run: nothing made up


def test_the_diagram_shows_local_derivatives_on_a_gradient_graph():
    x, y, dy = sigmoid_gradient()
    source = viz.draw(dy, show_local=True).source
    assert source.count(" -> op") == sum(len(v.parents) for v in topological_order(dy))
    assert "0.6225" in source  # ∂(y × σ(−x))/∂σ(−x) = y, read off the edge


def test_stepping_through_a_gradient_graph_gives_the_second_derivative():
    x, y, dy = sigmoid_gradient()
    order = topological_order(dy)
    forward = list(forward_steps(dy))
    assert [s.node for s in forward] == [v for v in order if not v.is_leaf]
    assert all(s.result == s.node.data for s in forward)
    steps = list(backward_steps(dy))
    assert len(steps) == len(forward) and all(str(s) for s in steps)
    sig = 1 / (1 + math.exp(-0.5))
    stepped = [r for s in steps for p, r in zip(s.parents, s.running, strict=True) if p is x][-1]
    assert stepped == pytest.approx(sig * (1 - sig) * (1 - 2 * sig), rel=1e-14)  # d²/dx² σ(x)
    assert stepped == grad(dy, x) and not x.has_grad      # stepping leaves .grad alone (issue 14)
    last = str(steps[-1])
    assert "sigmoid" in last and "x.grad" in last and "y(1 − y)" in last
    x2, _, dy2 = sigmoid_gradient()
    walk = Walkthrough(dy2)
    assert len(walk) == 2 * len(forward) + 2 and walk.text(len(walk) - 1) == last
    assert walk.grads(len(walk) - 1)[x2] == stepped and not x2.has_grad


def test_a_gradient_of_a_gradient_and_a_fused_neuron_draw_too():
    w, xs, b = [Value(0.3, "w1"), Value(-0.8, "w2")], [1.5, Value(2.0, "x2")], Value(0.1, "b")
    out = ad.neuron(w, xs, b).tanh()
    g = grad(out, w[0], create_graph=True)
    g2 = grad(g, w[1], create_graph=True)
    for root in (g, g2):
        order = topological_order(root)
        _, nodes, edges = structure(root)
        interior = [v for v in order if not v.is_leaf]
        assert len(nodes) == len(order) + len(interior)
        assert len(edges) == sum(len(v.parents) + 1 for v in interior)
        assert any(v.op == "neuron" for v in order)
    g2.backward()
    assert w[0].grad == pytest.approx(grad(g2, w[0]), rel=1e-15)


def test_the_gradient_graph_of_an_mlp_loss_draws_with_neuron_clusters():
    model = nn.MLP(2, [2, 1], activation="tanh", rng=0)
    loss = nn.squared_error(model([0.5, -1.0]), [0.3])
    p = model.parameters()[0]
    g = grad(loss, p, create_graph=True)
    source = viz.draw(g, max_nodes=1000).source
    assert "cluster" in source and ">w.0<" in source  # in its cluster, shown without the prefix
    collapsed = viz.draw(g, collapse="neuron", max_nodes=1000).source
    assert collapsed.count(" -> ") > 0


def test_a_gradient_graph_renders_to_svg_with_its_ids():
    require_dot()
    _, _, dy = sigmoid_gradient()
    svg = render_svg(viz.draw(dy))
    n = len(topological_order(dy))
    assert all(f'id="n{i}"' in svg for i in range(n)) and "dy/dx" in svg


def test_the_html_stepper_takes_a_gradient_graph(tmp_path):
    x, _, dy = sigmoid_gradient()
    page = viz.step_html(dy, tmp_path / "d2.html")
    assert (tmp_path / "d2.html").stat().st_size > 0 and "dy/dx" in page.html
    assert not x.has_grad  # building the page steps one fresh pass and leaves .grad alone (issue 14)
