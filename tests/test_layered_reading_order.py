"""viz.layered draws a network in reading order (issue 14): layers left to right, a layer's neurons one
under the other in index order, each weight beside the product w·x it feeds. Laid out as late as
possible, each neuron sat one column right of the one before and a weight also squared in an L2 sum
written out sat by its square, hundreds of columns left of its neuron: each neuron step of the stepper
scrolled the drawing ~270 px sideways."""

from __future__ import annotations

import re

from autodiff import topological_order


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
    halo = r'<g id="n(\d+)"[^>]*><rect class="dg-halo" x="(-?[\d.]+)" y="(-?[\d.]+)" width="([\d.]+)"'
    box = {int(i): (float(x), float(y), float(w)) for i, x, y, w in re.findall(halo, svg)}
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
