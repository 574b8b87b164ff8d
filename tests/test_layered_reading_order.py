"""viz.layered draws a network in reading order (issue 14): layers left to right, a layer's neurons one
under the other in index order, each weight beside the product w·x it feeds. Laid out as late as
possible, each neuron sat one column right of the one before and a weight also squared in an L2 sum
written out sat by its square, hundreds of columns left of its neuron: each neuron step of the stepper
scrolled the drawing ~270 px sideways."""

from __future__ import annotations

import re

import pytest

import nn
from autodiff import Value, topological_order
from tests.conftest import layered_boxes


def test_a_network_reads_in_layers_neurons_and_weights_in_index_order():
    """The README loss with its L2 term written out (1,594 nodes): each layer's z's in one column, top
    to bottom in index order; each weight's box just left of its product's, at most two rows from it;
    every edge but a leaf's to a later use runs left to right."""
    from tests.test_step_html_levels import l2_by_hand, mlp_loss
    from viz.layered import _ROW, layered_svg

    loss, model = mlp_loss(False, l2=l2_by_hand)
    order = topological_order(loss)
    pos = {n: i for i, n in enumerate(order)}
    svg = layered_svg(order, [f"v{i}" for i in range(len(order))])
    box = layered_boxes(svg)
    assert len(box) == len(order)
    first_use = {}
    for i, n in enumerate(order):
        for p in n.parents:
            first_use.setdefault(pos[p], i)
    checked = 0
    for k, layer in enumerate(model.layers):
        zs = [box[pos[next(n for n in order if n.label == f"layers.{k}.neurons.{j}.z")]]
              for j in range(len(layer.neurons))]
        assert len({x for x, _, _ in zs}) == 1, k                  # a layer's z's in one column
        assert [y for _, y, _ in zs] == sorted({y for _, y, _ in zs}), k  # top to bottom in index order
        for j, neuron in enumerate(layer.neurons):
            for w in neuron.w:
                product = first_use[pos[w]]
                assert order[product].primitive.name == "mul"
                (wx, wy, ww), (px, py, _) = box[pos[w]], box[product]
                assert wx + ww < px < zs[j][0] and px - wx < 400, (k, j)  # just left of its product
                assert abs(wy - py) <= 2 * _ROW, (k, j)
                checked += 1
    assert checked == 2 * 16 + 16 * 16 + 16
    # an edge runs left to right, but for a weight's to its square in the L2 sum (its second use)
    assert all(box[pos[p]][0] < box[i][0] for i, n in enumerate(order) for p in n.parents
               if not p.is_leaf or first_use[pos[p]] == i)


def reading_keys(order, examples=None) -> dict[int, tuple]:
    """Node position -> (what it is, its place in reading order) for the nodes that have one: an input
    x.k or xk -> k; a weight or bias -> (layer, neuron, k), a bias after the weights; a neuron's z or a
    -> (layer, neuron). With ``examples`` (node -> example, `viz.examples.example_of`) each key starts
    with the node's example, so the examples must read in order too."""
    keys = {}
    for i, n in enumerate(order):
        label = n.label or ""
        if m := re.fullmatch(r"x\.?(\d+)", label):
            kind, key = "input", (int(m[1]),)
        elif m := re.fullmatch(r"layers\.(\d+)\.neurons\.(\d+)\.(?:w\.(\d+)|b)", label):
            kind, key = "parameter", (int(m[1]), int(m[2]), int(m[3]) if m[3] else float("inf"))
        elif m := re.fullmatch(r"layers\.(\d+)\.neurons\.(\d+)\.(z|a)", label):
            kind, key = m[3], (int(m[1]), int(m[2]))
        else:
            continue
        if examples is not None and examples.get(n, -1) >= 0:
            key = (examples[n], *key)
        keys[i] = (kind, key)
    return keys


def out_of_order(order, svg: str, examples=None) -> list[str]:
    """Where the drawing breaks reading order: two inputs, two weights or two neurons' z's (or a's) in
    one column, the later one above the earlier one; a neuron's z not level with its own weights and
    bias (above the first or below the last; with several examples, parameters are drawn once, by
    example 0, so this is not asked)."""
    at = {i: (x, y) for i, (x, y, _) in layered_boxes(svg).items()}
    assert len(at) == len(order)
    keys = reading_keys(order, examples)
    columns: dict[tuple[float, str], list[tuple[float, tuple, str]]] = {}
    own: dict[tuple, list[float]] = {}  # (layer, neuron) -> the rows of its weights and bias
    for i, (kind, key) in keys.items():
        x, y = at[i]
        columns.setdefault((x, kind), []).append((y, key, order[i].label))
        if kind == "parameter":
            own.setdefault(key[:2], []).append(y)
    wrong = [f"{order[i].label} at y={at[i][1]:.0f}, its parameters at y={min(own[key]):.0f}…"
             f"{max(own[key]):.0f}" for i, (kind, key) in keys.items()
             if kind == "z" and len(key) == 2 and not min(own[key]) <= at[i][1] <= max(own[key])]
    for (x, _), boxes in columns.items():
        boxes.sort()
        wrong += [f"{a[2]} above {b[2]} (column at x={x:.0f})" for a, b in zip(boxes, boxes[1:], strict=False)
                  if not a[1] < b[1]]
    return wrong


def readme_graphs():
    """The README's network on moons points, as the stepper page draws it with the layered layout: eager
    with nn.l2 written out, fused, batched over 8 points, and eager called once per point (4 points)."""
    from autodiff.batched import batch_columns
    from nn.data import make_moons
    from tests.test_step_html_levels import l2_by_hand, mlp_loss

    X, _ = make_moons(8, noise=0.1, rng=1)
    batched_model = nn.MLP(2, [16, 16, 1], rng=1, fused=True)
    per_example = nn.MLP(2, [4, 4, 1], rng=1)
    return {"eager": mlp_loss(False, l2=l2_by_hand)[0], "fused": mlp_loss(True)[0],
            "batched": nn.mean(nn.squared_error(batched_model(batch_columns(X)), [1.0])),
            "examples": sum((nn.squared_error(per_example(x), [1.0]) for x in X[:4]), Value(0.0))}


@pytest.mark.parametrize("kind", ["eager", "fused", "batched", "examples"])
def test_every_column_reads_in_index_order(kind):
    """A tester's report: on the eager README loss x.1 was drawn above x.0 and a neuron's w.1 above its
    w.0 (the rows were taken first free, filling gaps above nodes placed before). Every column now reads
    top to bottom inputs, weights (neuron by neuron), z's and a's, and examples in index order."""
    from viz.examples import example_of
    from viz.layered import layered_svg

    root = readme_graphs()[kind]
    order = topological_order(root)
    examples = example_of(order)[1] if kind == "examples" else None
    keys = reading_keys(order, examples)
    kinds = {k for k, _ in keys.values()}
    assert kinds == {"input", "parameter", "z", "a"}, kinds   # there is something to check
    if examples is not None:
        assert {examples[order[i]] for i in keys} >= {0, 1, 2, 3}
    svg = layered_svg(order, [n.label or f"v{i}" for i, n in enumerate(order)])
    assert out_of_order(order, svg, examples) == []


def test_the_inputs_open_the_first_column_above_the_first_neuron():
    """The inputs, drawn once however the model is called, stand in order at the top of the first column
    (they sat among the first neuron's weights, by their first use), and each of the first layer's
    weights is level with the product w·x it feeds."""
    from viz.layered import layered_svg

    root = readme_graphs()["eager"]
    order = topological_order(root)
    svg = layered_svg(order, [f"v{i}" for i in range(len(order))])
    at = {i: (x, y) for i, (x, y, _) in layered_boxes(svg).items()}
    xs = [i for i, n in enumerate(order) if n.label in ("x.0", "x.1")]
    assert [order[i].label for i in xs] == ["x.0", "x.1"]
    assert min(x for x, _ in at.values()) == at[xs[0]][0] == at[xs[1]][0]  # the first column
    below = [y for i, (x, y) in at.items() if x == at[xs[0]][0] and i not in xs]
    assert at[xs[0]][1] < at[xs[1]][1] < min(below, default=float("inf"))
    first = [i for i, n in enumerate(order) if n.is_leaf and n.label.startswith("layers.0.")]
    pos = {n: i for i, n in enumerate(order)}
    weights = [i for i in first if ".w." in order[i].label]
    assert len(weights) == 32
    for i in weights:
        product = next(j for j, n in enumerate(order) if order[i] in n.parents and n.primitive.name == "mul")
        assert at[i][1] == at[product][1] and at[i][0] < at[product][0], order[i].label
        assert pos[order[i]] < product
