"""viz.draw without any renderer: the DOT text's nodes, edges, ids, labels, roles, clusters and legend,
parsed back from the source (structure, not bytes)."""

from __future__ import annotations

import html
import random
import re

import pytest

from autodiff import Value, topological_order
from viz.draw import draw, roles

# ---- a small reader of the DOT text that graphviz (python) writes ---------------------------------


def _attrs(text: str) -> dict[str, str]:
    """``key=value`` pairs of one attribute list: values bare, "quoted" or <html> (balanced brackets)."""
    out, i = {}, 0
    while i < len(text):
        m = re.compile(r"\s*(\w+)=").match(text, i)
        if not m:
            break
        key, i = m[1], m.end()
        if text[i] == "<":
            depth, j = 0, i
            while True:
                depth += {"<": 1, ">": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
            out[key], i = text[i + 1:j - 1], j
        elif text[i] == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out[key], i = text[i + 1:j], j + 1
        else:
            m = re.compile(r"[^\s\]]+").match(text, i)
            out[key], i = m[0], m.end()
    return out


def parse(source: str):
    """(nodes, edges, clusters): nodes name -> attrs (with "_cluster"), edges [(tail, head, attrs)],
    clusters id -> attrs."""
    nodes, edges, clusters, current = {}, [], {}, None
    for line in source.splitlines():
        s = line.strip()
        if m := re.match(r"subgraph (\w+) \{$", s):
            current = m[1]
            clusters[current] = {}
        elif s == "}":
            current = None
        elif m := re.match(r"(\w+) -> (\w+) \[(.*)\]$", s):
            edges.append((m[1], m[2], _attrs(m[3])))
        elif m := re.match(r"(\w+) \[(.*)\]$", s):
            if m[1] in ("graph", "node", "edge"):
                continue
            nodes[m[1]] = {**_attrs(m[2]), "_cluster": current}
        elif current and "=" in s:
            clusters[current] = _attrs(s)
    return nodes, edges, {a["id"]: {**a, "_name": n} for n, a in clusters.items()}


def text_of(label: str) -> str:
    """The visible text of an HTML-like label (graphviz reads ``\\`` as one backslash)."""
    return html.unescape(re.sub(r"\\(.)", r"\1", re.sub(r"<[^>]*>", " ", label)))


def classic_neuron():
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    x1w1 = x1 * w1; x1w1.label = "x1*w1"
    x2w2 = x2 * w2; x2w2.label = "x2*w2"
    n = x1w1 + x2w2 + b; n.label = "n"
    o = n.tanh(); o.label = "o"
    return o, dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, n=n, o=o, x1w1=x1w1)


def hand_neuron(prefix, ws, xs, b, act="tanh"):
    """A neuron built by hand with the nn naming contract's labels."""
    wv = [Value(w, f"{prefix}w.{k}") for k, w in enumerate(ws)]
    bv = Value(b, f"{prefix}b")
    z = wv[0] * xs[0]
    for w, x in zip(wv[1:], xs[1:], strict=True):
        z = z + w * x
    z = z + bv; z.label = prefix + "z"
    if act == "linear":
        return z
    a = getattr(z, act)(); a.label = prefix + "a"
    return a


def hand_mlp():
    """MLP(2, [2, 1]) by hand: two tanh neurons, one linear, and a squared-error loss."""
    x = [Value(1.0, "x0"), Value(-2.0, "x1")]
    h = [hand_neuron(f"layers.0.neurons.{j}.", [0.5 - j, 0.25 + j], x, 0.1 * j) for j in range(2)]
    y = hand_neuron("layers.1.neurons.0.", [1.5, -0.5], h, 0.2, act="linear")
    loss = (y - 1.0) ** 2; loss.label = "loss"
    return loss, x, h, y


def value_nodes(nodes):
    return {n: a for n, a in nodes.items() if re.fullmatch(r"n\d+", n)}


# ---- structure and ids -----------------------------------------------------------------------------

def test_classic_neuron_nodes_edges_and_ids():
    o, _ = classic_neuron()
    order = topological_order(o)
    nodes, edges, clusters = parse(draw(o).source)
    interior = [v for v in order if not v.is_leaf]
    assert set(value_nodes(nodes)) == {f"n{i}" for i in range(len(order))}
    assert {n for n in nodes if n.startswith("op")} == {f"op{order.index(v)}" for v in interior}
    assert "legend" in nodes and not clusters
    assert len(edges) == sum(len(v.parents) for v in interior) + len(interior)
    for name, attrs in nodes.items():
        assert attrs["id"] == name
    ids = [a["id"] for _, _, a in edges]
    assert len(ids) == len(set(ids))
    got = {a["id"]: (t, h) for t, h, a in edges}
    for v in interior:
        i = order.index(v)
        assert got[f"e{i}"] == (f"op{i}", f"n{i}")
        for k, p in enumerate(v.parents):
            assert got[f"e{i}_{k}"] == (f"n{order.index(p)}", f"op{i}")


def test_op_nodes_show_the_primitive_symbol():
    o, v = classic_neuron()
    order = topological_order(o)
    nodes, _, _ = parse(draw(o).source)
    assert nodes[f"op{order.index(o)}"]["label"] == "tanh"
    assert nodes[f"op{order.index(v['x1w1'])}"]["label"] == "×"
    assert nodes[f"op{order.index(v['n'])}"]["label"] == "+"
    sq = v["x1"] ** 2
    nodes, _, _ = parse(draw(sq).source)
    assert nodes["op1"]["label"] == "**2"


def test_reuse_draws_one_node_and_one_edge_per_use():
    x = Value(3.0, "x")
    y = x * x
    nodes, edges, _ = parse(draw(y, show_local=True).source)
    assert len(value_nodes(nodes)) == 2
    into_op = sorted((a["id"], t, a["label"]) for t, h, a in edges if h == "op1")
    assert into_op == [("e1_0", "n0", "3"), ("e1_1", "n0", "3")]


def test_same_graph_same_dot_and_independent_of_object_identity():
    o, _ = classic_neuron()
    assert draw(o).source == draw(o).source
    assert draw(o).source == draw(classic_neuron()[0]).source   # other objects, same text
    o.backward()
    assert draw(o).source != draw(classic_neuron()[0]).source   # the grads are in the picture


# ---- labels -------------------------------------------------------------------------------------

def test_labels_show_label_data_and_grad_and_uncomputed_grad():
    o, v = classic_neuron()
    order = topological_order(o)
    text = {n: text_of(a["label"]) for n, a in value_nodes(parse(draw(o).source)[0]).items()}
    x1 = text[f"n{order.index(v['x1'])}"].split()
    assert x1 == ["x1", "data", "2", "grad", "—"]          # no backward yet: not computed, not 0
    o.backward()
    text = {n: text_of(a["label"]) for n, a in value_nodes(parse(draw(o).source)[0]).items()}
    assert text[f"n{order.index(v['x1'])}"].split() == ["x1", "data", "2", "grad", "-1.5"]
    assert text[f"n{order.index(v['w2'])}"].split() == ["w2", "data", "1", "grad", "0"]  # computed 0
    assert text[f"n{order.index(v['b'])}"].split() == ["b", "data", "6.881", "grad", "0.5"]
    no_grad = value_nodes(parse(draw(o, show_grad=False).source)[0])
    assert all("grad" not in text_of(a["label"]) for a in no_grad.values())


def test_a_partly_computed_graph_shows_which_grads_exist():
    x = Value(2.0, "x")
    y = x * 3.0; y.label = "y"
    y.backward()
    z = y.tanh(); z.label = "z"              # built after the backward pass: not reached by it
    order = topological_order(z)
    text = {n: text_of(a["label"]) for n, a in value_nodes(parse(draw(z).source)[0]).items()}
    assert text[f"n{order.index(y)}"].split()[-1] == "1"
    assert text[f"n{order.index(z)}"].split()[-1] == "—"


def test_precision():
    o, v = classic_neuron()
    i = topological_order(o).index(v["b"])
    for p, shown in ((4, "6.881"), (6, "6.88137"), (2, "6.9")):
        label = text_of(parse(draw(o, precision=p).source)[0][f"n{i}"]["label"])
        assert label.split()[2] == shown
    with pytest.raises(ValueError, match="precision"):
        draw(o, precision=0)


def test_show_local_labels_edges_with_the_rules_local_derivatives():
    o, v = classic_neuron()
    o.backward()
    order = topological_order(o)
    edges = {a["id"]: a for _, _, a in parse(draw(o, show_local=True).source)[1]}
    i = order.index(v["x1w1"])                 # x1 * w1: d/dx1 = w1 = -3, d/dw1 = x1 = 2
    assert (float(edges[f"e{i}_0"]["label"]), float(edges[f"e{i}_1"]["label"])) == (-3.0, 2.0)
    j = order.index(o)                         # tanh: 1 - o^2 = 0.5 at n = 0.8814
    assert float(edges[f"e{j}_0"]["label"]) == pytest.approx(0.5, abs=1e-4)
    assert "label" not in edges[f"e{j}"]      # op -> result carries no derivative
    # the chain rule read off the picture: grad(x1) = local(x1 -> x1*w1) * grad(x1*w1)
    assert float(edges[f"e{i}_0"]["label"]) * v["x1w1"].grad == v["x1"].grad
    plain = parse(draw(o).source)[1]
    assert all("label" not in a for _, _, a in plain)


def test_show_local_where_the_rule_has_no_answer():
    base, e = Value(-2.0, "base"), Value(2.0, "e")
    p = base ** e                               # d/de base**e needs log(-2): no real derivative
    labels = {a["id"]: a["label"] for _, _, a in parse(draw(p, show_local=True).source)[1] if "label" in a}
    assert labels == {"e2_0": "undefined", "e2_1": "undefined"}


def test_a_leaf_alone_and_a_batched_graph():
    nodes, edges, _ = parse(draw(Value(1.5, "x")).source)
    assert set(nodes) == {"n0", "legend"} and not edges
    assert text_of(nodes["n0"]["label"]).split() == ["x", "data", "1.5", "grad", "—"]
    from autodiff.batched import batch

    x = batch([1.0, 2.0], "x")                  # one number per example
    y = x * 3.0
    nodes, edges, _ = parse(draw(y, show_local=True).source)
    assert "[batch]" in text_of(nodes["n0"]["label"]) and any(a.get("label") == "[batch]" for *_, a in edges)


def test_tricky_labels_are_escaped():
    tricky = 'a<b>|{c} "q" \\ & x'
    x = Value(1.0, tricky)
    y = x.exp(); y.label = "}{|<>"
    source = draw(y).source
    assert "<b>" not in source and "&lt;b&gt;" in source
    nodes, _, _ = parse(source)
    assert text_of(nodes["n0"]["label"]).split()[:5] == ["a<b>|{c}", '"q"', "\\", "&", "x"]
    assert text_of(nodes["n1"]["label"]).split()[0] == "}{|<>"


# ---- roles and legend --------------------------------------------------------------------------

def test_roles_by_label_and_explicit_parameters():
    o, v = classic_neuron()
    c = o * 2.0                                 # 2.0 becomes an unlabelled constant leaf
    r = roles(c)
    assert r[c] == "output"
    assert {k for k in ("x1", "x2") if r[v[k]] == "input"} == {"x1", "x2"}
    assert all(r[v[k]] == "parameter" for k in ("w1", "w2", "b"))
    assert r[v["n"]] == "interior" and r[o] == "interior"
    assert [r[p] for p in c.parents][1] == "constant"
    r = roles(c, parameters=[v["x1"]])          # an explicit set wins over the labels
    assert r[v["x1"]] == "parameter" and r[v["w1"]] == "input"
    for label in ("layers.0.neurons.2.w.1", "layers.3.neurons.0.b", "w.0", "b", "w", "w12", "b2"):
        leaf = Value(1.0, label)
        assert roles(leaf + 1.0)[leaf] == "parameter", label
    for label in ("x", "web", "bias", "x.w.1x"):
        leaf = Value(1.0, label)
        assert roles(leaf + 1.0)[leaf] == "input", label


def test_roles_are_drawn_distinguishably_with_a_legend():
    o, v = classic_neuron()
    c = o * 2.0
    order = topological_order(c)
    nodes, _, _ = parse(draw(c).source)
    look = {role: {(nodes[f"n{order.index(x)}"]["fillcolor"], nodes[f"n{order.index(x)}"]["style"],
                    nodes[f"n{order.index(x)}"].get("penwidth")) for x, rr in roles(c).items() if rr == role}
            for role in ("parameter", "input", "constant", "output", "interior")}
    assert all(len(s) == 1 for s in look.values())          # one look per role
    assert len({s.pop() for s in look.values()}) == 5       # and five different looks
    legend = text_of(nodes["legend"]["label"])
    for words in ("parameter", "input", "constant", "output", "operation", "not computed"):
        assert words in legend
    c.backward()
    assert "not computed" not in text_of(parse(draw(c).source)[0]["legend"]["label"])
    assert "legend" not in parse(draw(c, legend=False).source)[0]
    assert "local derivative" not in text_of(parse(draw(c).source)[0]["legend"]["label"])
    assert "local derivative" in text_of(parse(draw(c, show_local=True).source)[0]["legend"]["label"])


def test_highlight():
    o, v = classic_neuron()
    order = topological_order(o)
    nodes, _, _ = parse(draw(o, highlight={v["n"], v["w1"]}).source)
    emphasised = {n for n, a in nodes.items() if a.get("penwidth") == "3"}
    assert emphasised == {f"n{order.index(v['n'])}", f"n{order.index(v['w1'])}"}
    assert nodes[f"op{order.index(v['n'])}"].get("color") == nodes[f"n{order.index(v['n'])}"]["color"]
    with pytest.raises(TypeError, match="highlight"):
        draw(o, highlight={"n"})


def test_rankdir_and_bad_options():
    o, _ = classic_neuron()
    assert "rankdir=LR" in draw(o).source and "rankdir=TB" in draw(o, rankdir="TB").source
    with pytest.raises(ValueError, match="rankdir"):
        draw(o, rankdir="XY")
    with pytest.raises(TypeError, match="Value"):
        draw(3.0)
    with pytest.raises(ValueError, match="collapse"):
        draw(o, collapse="layer")
    with pytest.raises(ValueError, match="no neuron"):
        draw(o, collapse="neuron")


def test_a_models_list_of_outputs_is_refused_with_the_element_to_pass(tmp_path):
    """Issue 14: ``viz.render(model(xs), ...)`` on an MLP with one output (a list of one Value, as every
    layer returns) raised "draw needs a Value ..., got list" with no word of what to pass. It is still
    refused, as the steppers refuse it, and the message names ``out[0]`` (or, for several outputs, one
    of them or a loss of them)."""
    import viz
    one = nn.MLP(2, [3, 1], rng=1)([Value(1.0, "x.0"), Value(-0.5, "x.1")])
    for call in (lambda: draw(one), lambda: viz.render(one, tmp_path / "o.svg"), lambda: viz.show(one)):
        with pytest.raises(TypeError, match=r"got list of one Value .*pass its element, out\[0\]"):
            call()
    assert not (tmp_path / "o.svg").exists()
    with pytest.raises(TypeError, match=r"got list of 3 Values: pass one of them \(out\[k\]\), or a loss"):
        draw(nn.MLP(2, [3], rng=1)([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"got list$"):
        draw([1.0])
    assert draw(one[0]).source.count("subgraph cluster_") == 4          # the element draws


# ---- nn clusters ---------------------------------------------------------------------------------

def check_clusters(root, neurons, inputs):
    """``neurons``: (layer, index, z, a-or-None). Each neuron's nodes sit in its cluster, z is marked."""
    order = topological_order(root)
    nodes, _, clusters = parse(draw(root).source)
    assert set(clusters) == {f"cl{layer}_{j}" for layer, j, _, _ in neurons}
    for layer, j, z, a in neurons:
        cl = clusters[f"cl{layer}_{j}"]
        assert text_of(cl["label"]).strip() == f"layer {layer + 1} · neuron {j + 1}"
        zi = nodes[f"n{order.index(z)}"]
        assert zi["_cluster"] == cl["_name"] and zi["peripheries"] == "2"
        assert text_of(zi["label"]).split()[0] == "z" and "δ" in text_of(zi["label"])
        inside = {n for n, attrs in nodes.items() if attrs["_cluster"] == cl["_name"]}
        prefix = f"layers.{layer}.neurons.{j}."
        for p in z.parents:                       # b, the products and partial sums are inside
            if p.label.startswith(prefix) or not p.label:
                assert f"n{order.index(p)}" in inside
        if a is not None:
            assert f"n{order.index(a)}" in inside
            assert text_of(nodes[f"n{order.index(a)}"]["label"]).split()[0] == "a"
    for x in inputs:                              # inputs shared by neurons stay outside
        assert nodes[f"n{order.index(x)}"]["_cluster"] is None


def test_hand_built_mlp_is_clustered_by_neuron():
    loss, x, h, y = hand_mlp()
    loss.backward()
    check_clusters(loss, [(0, 0, h[0].parents[0], h[0]), (0, 1, h[1].parents[0], h[1]), (1, 0, y, None)], x)
    order = topological_order(loss)
    nodes, _, _ = parse(draw(loss).source)
    zl = text_of(nodes[f"n{order.index(y)}"]["label"]).split()
    assert zl[-2:] == ["δ", f"{y.grad:.4g}"]     # δ = dloss/dz, here 2 (y - 1)
    assert y.grad == 2 * (y.data - 1.0)
    w = text_of(nodes[f"n{order.index(h[0].parents[0].parents[1])}"]["label"]).split()[0]
    assert w == "b"                               # prefix stripped inside the cluster


def test_standalone_layer_clusters_without_layer_number():
    x = [Value(1.0, "x0")]
    outs = [hand_neuron(f"neurons.{j}.", [0.5], x, 0.0) for j in range(2)]
    s = outs[0] + outs[1]
    _, _, clusters = parse(draw(s).source)
    titles = {c: text_of(a["label"]).strip() for c, a in clusters.items()}
    assert titles == {"cl_0": "neuron 1", "cl_1": "neuron 2"}


def test_collapse_neuron_draws_one_box_per_neuron():
    loss, x, h, y = hand_mlp()
    loss.backward()
    order = topological_order(loss)
    nodes, edges, clusters = parse(draw(loss, collapse="neuron").source)
    assert not clusters
    boxes = {f"n{order.index(v)}" for v in (h[0], h[1], y)}
    assert boxes <= set(nodes)
    for j, a in enumerate(h):
        text = text_of(nodes[f"n{order.index(a)}"]["label"])
        assert f"layer 1 · neuron {j + 1}" in text and "δ" in text and "tanh" in text
    drawn = value_nodes(nodes)
    assert set(drawn) == boxes | {f"n{order.index(v)}" for v in (*x, loss, loss.parents[0],
                                                                   loss.parents[0].parents[1])}
    pairs = {(t, hd) for t, hd, _ in edges}
    yi, xi = order.index(y), [order.index(v) for v in x]
    for a in h:
        assert (f"n{order.index(a)}", f"n{yi}") in pairs
        assert all((f"n{i}", f"n{order.index(a)}") in pairs for i in xi)
    assert len(pairs) == len(edges)               # no duplicate edges
    ids = [a["id"] for _, _, a in edges]
    assert len(set(ids)) == len(ids) and f"c{order.index(h[0])}_{yi}" in ids


# ---- the big-graph guard ----------------------------------------------------------------------------

def test_guard_refuses_big_graphs_with_advice():
    x = Value(0.1, "x")
    y = x
    for _ in range(200):
        y = y.tanh()
    with pytest.raises(ValueError, match=r"401 nodes .* max_nodes=300.*smaller graph"):
        draw(y)
    assert len(parse(draw(y, max_nodes=401).source)[0]) == 402       # and the legend
    with pytest.raises(ValueError, match="max_nodes"):
        draw(y, max_nodes=0)


def test_guard_suggests_collapse_for_networks_and_collapse_fits():
    xs = [Value(float(k), f"x{k}") for k in range(4)]
    outs = [hand_neuron(f"layers.0.neurons.{j}.", [0.1] * 4, xs, 0.0) for j in range(12)]
    s = outs[0]
    for a in outs[1:]:
        s = s + a
    with pytest.raises(ValueError, match="collapse='neuron'"):
        draw(s)
    nodes, _, _ = parse(draw(s, collapse="neuron").source)
    assert len(nodes) == 4 + 12 + 2 * 11 + 1


# ---- with nn ---------------------------------------------------------------------------------------

nn = pytest.importorskip("nn")


@pytest.mark.parametrize("fused", [False, True])
def test_mlp_clusters_follow_the_naming_contract(fused):
    model = nn.MLP(2, [3, 1], activation="tanh", rng=random.Random(1), fused=fused)
    x = [Value(0.5, "x0"), Value(-1.5, "x1")]
    trace = model.trace(x)
    out = trace.output[0]
    out.backward()
    neurons = [(layer, j, z, trace.a[layer][j] if trace.a[layer][j] is not z else None)
               for layer, zs in enumerate(trace.z) for j, z in enumerate(zs)]
    check_clusters(out, neurons, x)
    order = topological_order(out)
    nodes, _, clusters = parse(draw(out, parameters=model.parameters()).source)
    for name, p in model.named_parameters():
        layer, j = re.match(r"layers\.(\d+)\.neurons\.(\d+)\.", name).groups()
        node = nodes[f"n{order.index(p)}"]
        assert node["_cluster"] == clusters[f"cl{layer}_{j}"]["_name"]
        assert node["fillcolor"] == nodes[f"n{order.index(model.parameters()[0])}"]["fillcolor"]
    if fused:
        assert any(a["label"] == "Σwx+b" for n, a in nodes.items() if n.startswith("op"))
    boxes, _, _ = parse(draw(out, collapse="neuron").source)
    assert len(value_nodes(boxes)) == 2 + 4
    again = nn.MLP(2, [3, 1], activation="tanh", rng=random.Random(1), fused=fused)
    out2 = again([Value(0.5, "x0"), Value(-1.5, "x1")])[0]
    out2.backward()
    for options in ({}, {"collapse": "neuron"}, {"rankdir": "TB", "show_local": True}):
        assert draw(out, **options).source == draw(out2, **options).source   # same model, same text


# ---- reading order, inputs once, the loss (issue 14), and what a node is from nn (issue 12) ----------

def float_mlp_loss(sizes, **options):
    """The squared-error loss of MLP(2, sizes) called on plain floats, as a learner writes it."""
    model = nn.MLP(2, sizes, activation="tanh", rng=random.Random(0), **options)
    return nn.squared_error(model([0.5, -1.5]), [1.0]), model


def cluster_order(source):
    return [m[1] for m in re.finditer(r"subgraph cluster_(cl\d*_\d+) \{", source)]


def test_clusters_and_weights_are_written_in_reading_order():
    loss, model = float_mlp_loss([4, 4, 1])
    source = draw(loss, max_nodes=1000).source
    assert cluster_order(source) == [f"cl{L}_{j}" for L, w in enumerate([4, 4, 1]) for j in range(w)]
    nodes, _, clusters = parse(source)
    order = topological_order(loss)
    for L, layer in enumerate(model.layers):
        for j, neuron in enumerate(layer.neurons):
            inside = [n for n in nodes if nodes[n]["_cluster"] == clusters[f"cl{L}_{j}"]["_name"]]
            weights = [f"n{order.index(w)}" for w in neuron.w]
            assert [n for n in inside if n in weights] == weights        # w.0, w.1, … in index order
            assert [text_of(nodes[n]["label"]).split()[0] for n in weights] == \
                [f"w.{k}" for k in range(len(neuron.w))]


def test_each_layers_neurons_are_pinned_in_index_order():
    """A network's nodes carry positions of our own (graphviz only routes the edges): each layer's
    neurons top to bottom by index, the layers left to right (with rankdir TB: turned a quarter)."""
    for collapse, rankdir in ((None, "LR"), ("neuron", "LR"), ("neuron", "TB")):
        loss, model = float_mlp_loss([16, 16, 1] if collapse else [4, 4, 1])
        order = topological_order(loss)
        source = draw(loss, collapse=collapse, rankdir=rankdir, max_nodes=1000).source
        assert "layout=neato" in source and "rank=same" not in source
        nodes, _, _ = parse(source)
        trace = model.trace([0.5, -1.5])       # the same model's nodes, to name what each layer holds
        lefts = []
        for L in range(3):
            labels = [(trace.a if collapse else trace.z)[L][j].label for j in range(len(trace.z[L]))]
            at = {v.label: nodes[f"n{order.index(v)}"]["pos"] for v in order if v.label in labels}
            xy = [tuple(float(c) for c in at[label].rstrip("!").split(",")) for label in labels]
            across = [-y for _, y in xy] if rankdir == "LR" else [x for x, _ in xy]
            assert across == sorted(across) and len(set(across)) == len(across)  # index order, no ties
            lefts.append(min(x if rankdir == "LR" else -y for x, y in xy))
        assert lefts == sorted(lefts)


def test_a_model_called_on_floats_draws_each_input_once():
    for sizes, fused in (([4, 4, 1], False), ([3, 1], True)):
        loss, model = float_mlp_loss(sizes, fused=fused)
        r = roles(loss, model.parameters())
        inputs = [v for v, role in r.items() if role == "input"]
        assert sorted(v.label for v in inputs) == ["x.0", "x.1"]
        nodes, _, _ = parse(draw(loss, max_nodes=1000).source)
        order = topological_order(loss)
        assert all(nodes[f"n{order.index(v)}"]["_cluster"] is None for v in inputs)
        boxes, _, _ = parse(draw(loss, collapse="neuron").source)
        shown_inputs = [n for n, a in value_nodes(boxes).items() if text_of(a["label"]).split()[0] == "x.0"]
        assert len(shown_inputs) == 1


def test_the_model_wraps_plain_inputs_once_per_call():
    model = nn.MLP(2, [16, 16, 1], rng=random.Random(0))
    out = model([0.5, -1.5])[0]
    leaves = [v for v in topological_order(out) if v.is_leaf]
    assert len(leaves) == len(model.parameters()) + 2
    again = model([0.5, -1.5])[0]               # another call, its own inputs
    assert not {v for v in topological_order(again) if v.label.startswith("x.")} & set(leaves)
    assert again.data == out.data


def test_the_loss_after_a_network_is_labelled():
    loss, _ = float_mlp_loss([3, 1])
    order = topological_order(loss)
    nodes, _, _ = parse(draw(loss).source)
    assert text_of(nodes[f"n{len(order) - 1}"]["label"]).split()[0] == "loss"
    x = Value(3.0, "x")
    y = x * x                                   # no network: an unlabelled output stays unnamed
    assert text_of(parse(draw(y).source)[0]["n1"]["label"]).split()[0] == "data"
    loss.label = "J"
    assert text_of(parse(draw(loss).source)[0][f"n{len(order) - 1}"]["label"]).split()[0] == "J"


def test_nn_locate_reads_the_naming_contract():
    assert nn.locate("layers.1.neurons.3.w.0") == nn.Location(1, 3, "weight", 0)
    assert nn.locate("layers.0.neurons.2.b") == nn.Location(0, 2, "bias")
    assert nn.locate("neurons.4.z") == nn.Location(None, 4, "z")
    assert nn.locate("a") == nn.Location(None, None, "a")
    for label in ("x", "x.0", "layers.1.w.0", "layers.x.neurons.1.b", "neurons.1.w", "w.k", "", "web"):
        assert nn.locate(label) is None, label
    model = nn.MLP(3, [2, 1])
    for name, p in model.named_parameters():
        at = nn.locate(name)
        layer = model.layers[at.layer].neurons[at.neuron]
        assert (layer.w[at.index] if at.role == "weight" else layer.b) is p


def test_viz_reads_no_parameter_names_with_regexes():
    import ast
    import importlib
    import pathlib

    tree = ast.parse(pathlib.Path(importlib.import_module("viz.draw").__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names} | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "re" not in imported and "locate" in imported


def test_show_draws_the_readme_networks_loss_instead_of_refusing_it():
    """Issue 14: `viz.show` of the loss of MLP(2, [16, 16, 1]) ended in draw's max_nodes error in a
    notebook. It now collapses the neurons (a network) or lays a big plain graph out in linear time."""
    import nn
    from viz.draw import Diagram, GraphTooLarge, LayeredDiagram, draw, show

    model = nn.MLP(2, [16, 16, 1], rng=1)
    loss = nn.hinge(model([0.5, -0.2])[0], 1.0) + nn.l2(model.weights(), 1e-4)
    with pytest.raises(GraphTooLarge):
        draw(loss)
    shown = show(loss)
    assert isinstance(shown, Diagram | LayeredDiagram)
    x = Value(0.5, "x")
    y = x
    for _ in range(400):                        # no neuron to collapse: the linear-time layout
        y = y.tanh()
    chain = show(y)
    assert isinstance(chain, LayeredDiagram) and chain.nodes == 401
    assert chain._repr_html_().count("<svg") >= 1 and ">x<" in chain.svg
    with pytest.raises(GraphTooLarge):          # asked for explicitly: draw's own choice and error
        show(y, max_nodes=300)


def test_a_top_to_bottom_title_makes_its_own_room_when_its_corner_is_taken():
    """viz.network_layout.place, TB: a neuron's title goes at the start of its band, level with its last
    box. When that box fills the corner (a neuron of one wide box) the band starts a title's width
    earlier and the title clears the box; when the corner is free (a wide box earlier, a narrow last
    one) the title starts where the neuron's boxes start, and the band keeps its width."""
    from viz.network_layout import Item, place

    def laid(items):
        at, titles, _, _ = place(items, lambda n: (n,), title_across=False,
                                 title_size=lambda key: (14.0, 100.0))
        return at, titles[(0, 0)]

    x = Item("x", None, False, 30, 40, [])
    at, (tu, tv) = laid([x, Item("a", (0, 0), True, 30, 300, ["x"]), Item("c", (0, 1), True, 30, 40, ["x"])])
    assert tu == at["a"][0]                                 # level with the last box
    assert tv + 100 / 2 < at["a"][1] - 300 / 2              # before it across, clear of it
    assert at["c"][1] - 40 / 2 > at["a"][1] + 300 / 2       # the next neuron's band after both
    at, (tu, tv) = laid([x, Item("w", (0, 0), True, 30, 40, []), Item("p", (0, 0), True, 30, 300, ["w", "x"]),
                         Item("a", (0, 0), True, 30, 40, ["p"])])
    assert tu == at["a"][0] and tv + 100 / 2 < at["a"][1] - 40 / 2
    assert tv - 100 / 2 == min(at[n][1] - across / 2 for n, across in (("w", 40), ("p", 300), ("a", 40)))


@pytest.mark.parametrize("bad, error, words", [
    ("abc", TypeError, "is str 'abc'"), (None, TypeError, "is NoneType None"),
    (True, TypeError, "is bool True"), (float("nan"), ValueError, "holds nan, not a finite number"),
    (float("inf"), ValueError, "holds inf, not a finite number"),
])
def test_a_leaf_set_by_hand_to_what_is_not_a_number_is_refused_naming_it(bad, error, words):
    # a fresh tester: "could not convert string to float: 'abc'" from inside the label builder for a str
    # or None, and a bool, NaN or inf drawn as if the graph held it; refused as the steppers refuse it
    a = Value(2.0, label="a")
    out = a * Value(3.0, label="b")
    a.data = bad
    with pytest.raises(error, match=rf"^draw: .*'a' {re.escape(words)}"):
        draw(out)
    assert a.data is bad   # left as set


def test_a_leaf_set_by_hand_to_an_int_is_drawn_as_its_float():
    import numpy as np
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    out = a * b
    drawn = draw(out).source
    for number in (2, np.int64(2), np.float32(2.0), np.array(2.0)):
        a.data = number
        assert draw(out).source == drawn
        assert a.data is number
