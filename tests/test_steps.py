"""Forward and backward steps on known graphs: order, counts, local derivatives, contributions, the
worked-example text, and that `backward_steps` shows one fresh pass of `backward()` (issue 14)."""

from __future__ import annotations

import math

import pytest

from autodiff import PRIMITIVES, Value, Walkthrough, backward_steps, forward_steps, topological_order
from autodiff import neuron as fused_neuron
from autodiff.batched import total
from autodiff.engine import apply
from autodiff.steps import LOCAL_DERIVATIVE_TEXT, fmt, node_names
from tests.conftest import classic_neuron, diamond


def stepped(root: Value) -> dict[Value, float]:
    """Each node's gradient at the end of the stepped pass (the root's seed, then the running sums)."""
    grads = {root: 1.0}
    for s in backward_steps(root):
        grads.update(zip(s.parents, s.running, strict=True))
    return grads


def zoo():
    """Every primitive, a reused node, a constant, a division, a fused neuron and a batch total."""
    x, y = Value(1.3, "x"), Value(0.7)
    z = (x * y + x).sigmoid() * (x ** y) / (y.exp() + 2) - (x - 3.0).relu() + (x * x).log() + x ** 3
    z = z + total(fused_neuron([x, y], [y, 2.0], x))
    z = z + x.sqrt() + abs(y - 1) + x.sin() * y.cos() + y.softplus() + (x - 2).leaky_relu() \
        + (y - 1).elu() + x.gelu() + x.maximum(y) + x.minimum(y) + apply(PRIMITIVES["normal_cdf"], y) \
        + apply(PRIMITIVES["sum_squares"], x, y, x) + apply(PRIMITIVES["logsumexp"], x, y, x * 0.5)
    # sech²(y)·[y > x]·floor(x) is 0 ([y > x] is 0): the zoo's values stay those without them
    held = apply(PRIMITIVES["sech2"], y) * apply(PRIMITIVES["greater"], y, x)
    return (z + held * apply(PRIMITIVES["floor"], x)).tanh()


def test_neuron_forward_steps_replay_the_engine():
    o, v = classic_neuron()
    steps = list(forward_steps(o))
    assert [s.op for s in steps] == ["mul", "mul", "add", "add", "tanh"]
    assert [s.node for s in steps] == [v["x1w1"], v["x2w2"], v["s"], v["n"], v["o"]]
    assert [(s.index, s.total) for s in steps] == [(i, 5) for i in range(1, 6)]
    for s in steps:
        assert s.values == tuple(p.data for p in s.node.parents)
        assert s.result == s.node.data
    assert steps[4].result == pytest.approx(1 / math.sqrt(2), abs=1e-15)
    assert str(steps[0]) == "step 1/5  mul: x1w1 = x1 × w1 = 2.0 × (-3.0) → -6.0"
    assert str(steps[4]) == "step 5/5  tanh: o = tanh(n) = tanh(0.8814) → 0.7071"
    assert not any(n.has_grad for n in topological_order(o)), "forward_steps must not touch gradients"


def test_neuron_backward_steps():
    o, v = classic_neuron()
    steps = list(backward_steps(o))
    assert len(steps) == 5 and [s.index for s in steps] == [1, 2, 3, 4, 5]
    assert [s.node for s in steps] == [v["o"], v["n"], v["s"], v["x2w2"], v["x1w1"]]
    tanh_step = steps[0]
    assert tanh_step.op == "tanh" and tanh_step.upstream == 1.0 and tanh_step.parents == (v["n"],)
    assert tanh_step.local[0] == pytest.approx(0.5, abs=1e-15)
    assert str(tanh_step) == "step 1/5  tanh: n.grad += (1 − o²) · o.grad = 0.5 · 1.0 → 0.5"
    x1w1_step = steps[4]
    assert x1w1_step.parents == (v["x1"], v["w1"])
    assert x1w1_step.local == (-3.0, 2.0)                  # the other operand
    assert x1w1_step.contributions == pytest.approx((-1.5, 1.0), abs=1e-15)
    assert str(x1w1_step).splitlines() == [
        "step 5/5  mul: x1.grad += w1 · x1w1.grad = (-3.0) · 0.5 → -1.5",
        "               w1.grad += x1 · x1w1.grad = 2.0 · 0.5 → 1.0"]
    expected = dict(x1=-1.5, w1=1.0, x2=0.5, w2=0.0, b=0.5, n=0.5, s=0.5, x1w1=0.5, x2w2=0.5, o=1.0)
    grads = stepped(o)
    for name, g in expected.items():
        assert grads[v[name]] == pytest.approx(g, abs=1e-15), name
        assert not v[name].has_grad, "stepping leaves .grad as it was"


def test_reused_node_shows_one_contribution_per_use():
    x = Value(3.0, "x")
    y = x * x
    (step,) = list(backward_steps(y))
    assert step.parents == (x, x)
    assert step.local == (3.0, 3.0) and step.contributions == (3.0, 3.0)
    assert step.running == (3.0, 6.0)                      # the accumulation, use by use
    assert x.grad == 0.0 and not x.has_grad
    assert str(step).splitlines() == ["step 1/1  mul: x.grad += x · v1.grad = 3.0 · 1.0 → 3.0",
                                      "               x.grad += x · v1.grad = 3.0 · 1.0 → 3.0 + 3.0 = 6.0"]


def test_diamond_accumulates_over_two_steps():
    d, a, b, c = diamond()
    steps = list(backward_steps(d))
    assert [s.node for s in steps] == [d, c, b]            # reverse topological: a's consumers last
    into_a = [(s.contributions[0], s.running[0]) for s in steps[1:]]
    (t1, r1), (t2, r2) = into_a
    assert t1 == pytest.approx(b.data * c.data)                       # via c = exp(a)
    assert t2 == pytest.approx((1 - b.data ** 2) * c.data)            # via b = tanh(a)
    assert (r1, r2) == (t1, t1 + t2)
    assert r2 == pytest.approx(math.exp(0.3) * (math.tanh(0.3) + 1 - math.tanh(0.3) ** 2))
    d.backward()
    assert a.grad == r2


@pytest.mark.parametrize("build", [lambda: classic_neuron()[0], lambda: diamond()[0], zoo,
                                   lambda: (lambda x: x * x)(Value(-2.0))])
def test_stepping_shows_one_fresh_pass_and_leaves_grad_alone(build):
    one = build()
    one.backward()
    fresh = {n: n.grad for n in topological_order(one)}
    one.backward()                                         # twice: leaves now hold two passes
    held = {n: n.grad for n in topological_order(one)}
    assert any(held[n] != fresh[n] for n in held if n.is_leaf and fresh[n] != 0)
    grads = stepped(one)
    for n in topological_order(one):
        assert grads.get(n, 0.0) == fresh[n], n         # the one-pass gradients, bit for bit
        assert n.grad == held[n] and n.has_grad            # .grad exactly as it was
    walk = Walkthrough(one)
    final = walk.grads(len(walk) - 1)
    assert all(final.get(n, 0.0) == fresh[n] and n.grad == held[n] for n in topological_order(one))


def test_local_derivatives_match_central_differences_and_contributions():
    root = zoo()
    steps = list(backward_steps(root))
    assert len(steps) == sum(1 for n in topological_order(root) if not n.is_leaf)
    seen_ops = set()
    for s in steps:
        seen_ops.add(s.op)
        values = [p.data for p in s.parents]
        for i in range(len(values)):
            h = 1e-6 * max(1.0, abs(values[i]))
            up, down = list(values), list(values)
            up[i] += h
            down[i] -= h
            numeric = (s.node.primitive.forward(*up) - s.node.primitive.forward(*down)) / (2 * h)
            assert s.local[i] == pytest.approx(numeric, rel=1e-6, abs=1e-8), (s.op, i)
            assert s.contributions[i] == pytest.approx(s.upstream * s.local[i], rel=1e-14, abs=1e-300)
    assert seen_ops >= set(PRIMITIVES) | {"pow_const"}


def test_every_primitive_has_a_symbolic_local_derivative():
    assert set(PRIMITIVES) | {"pow_const"} <= set(LOCAL_DERIVATIVE_TEXT)
    text = "\n".join(str(s) for s in backward_steps(zoo()))
    for form in ["(1 − ", "e^", "1/", "[", "> 0]", "·log ", "3·x^2"]:
        assert form in text, form
    assert "∂" not in text                                 # no primitive fell back to the generic form


def test_names_use_labels_then_topological_positions():
    a, b = Value(1.0, "w"), Value(2.0, "w")
    c = a + b
    names = node_names(topological_order(c))
    assert names == {a: "w@v0", b: "w@v1", c: "v2"}


def test_made_up_names_never_take_a_users_label():
    """Issue 14: with a leaf labelled "v1", the steps named it and the second x (x@v1) alike."""
    a, b, c = Value(1.0, "x"), Value(2.0, "x"), Value(3.0, "v1")
    o = (a * b + c).tanh()
    names = node_names(topological_order(o))
    assert names[a] == "x@v0" and names[b] == "x@v1′" and names[c] == "v1"
    assert len(set(names.values())) == len(names)
    assert "v1.grad" in "\n".join(str(s) for s in backward_steps(o))  # only c is v1


def test_fmt_never_hides_a_nonzero_number():
    shown = [fmt(1.0), fmt(0.5), fmt(-6.0), fmt(0.70710678), fmt(-0.0)]
    assert shown == ["1.0", "0.5", "-6.0", "0.7071", "0.0"]
    assert fmt(1e-7) != "0.0" and float(fmt(1e-7)) == pytest.approx(1e-7)


def test_walkthrough_frames_and_running_state():
    o, v = classic_neuron()
    walk = Walkthrough(o)
    assert len(walk) == 5 + 1 + 5 + 1
    assert walk.kinds[0] == "start" and walk.kinds[6] == "seed" and walk.kinds[-1] == "backward"
    assert set(walk.values(0)) == {v[k] for k in ("x1", "x2", "w1", "w2", "b")}
    assert walk.values(3)[v["s"]] == -6.0 and v["n"] not in walk.values(3)
    assert walk.grads(5) == {} and walk.grads(6) == {o: 1.0}
    assert walk.node(6) is o and walk.node(7) is o and walk.node(1) is v["x1w1"]
    assert walk.grads(7)[v["n"]] == pytest.approx(0.5)
    final = walk.grads(len(walk) - 1)
    assert not any(n.has_grad for n in walk.order)         # recording leaves .grad alone
    o.backward()
    assert set(final) == set(walk.order) and all(final[n] == n.grad for n in walk.order)
    assert "1.0" in walk.text(6) and walk.text(0).startswith("start: the leaves are x1 = 2.0")


def test_walkthrough_rejects_a_non_value():
    with pytest.raises(TypeError, match="Walkthrough needs a Value"):
        Walkthrough(3.0)


def test_a_leaf_root_has_no_steps_but_a_seed():
    x = Value(2.0, "x")
    assert list(forward_steps(x)) == [] and list(backward_steps(x)) == []
    x.backward()
    assert x.grad == 1.0
    walk = Walkthrough(x)                                  # a fresh pass: the seed, whatever x held
    assert walk.kinds == ["start", "seed"] and walk.grads(1) == {x: 1.0} and x.grad == 1.0
    assert walk.text(1) == "backward begins: x.grad = dx/dx = 1.0"


def test_batched_walkthrough_shows_the_chosen_example_and_sums_for_parameters():
    from autodiff.batched import batch_columns

    X = [[1.0, 2.0], [3.0, -4.0], [0.5, 0.25]]

    def walkthrough(inputs, example=None):
        w, b = [Value(0.5, "w0"), Value(-1.0, "w1")], Value(0.1, "b")
        root = total(fused_neuron(w, inputs, b).tanh() ** 2)
        return Walkthrough(root, example), {*w, b}

    walk, params = walkthrough(batch_columns(X), example=1)
    assert walk.batch_size == 3 and walk.example == 1
    assert walk.text(0).startswith("start (example 1 of 3")
    singles = [walkthrough([Value(a, "x0"), Value(c, "x1")])[0] for a, c in X]
    # The graphs have the same shape, so nodes correspond by topological position.
    values, grads = walk.values(len(walk.forward)), walk.grads(len(walk) - 1)
    for i, node in enumerate(walk.order):
        one = singles[1].order[i]
        if node is not walk.root:  # the root totals the examples
            assert values[node] == pytest.approx(one.data, rel=1e-14), walk.names[node]
        final = [s.grads(len(s) - 1) for s in singles]       # each example's own fresh pass
        expected = sum(f[s.order[i]] for s, f in zip(singles, final, strict=True)) if node in params \
            else final[1][one]
        assert grads[node] == pytest.approx(expected, rel=1e-12), walk.names[node]
    text = "\n".join(walk.text(f) for f in range(len(walk)))
    assert "w0.grad += Σ_examples x0 · " in text and "(example 1: 3.0 · " in text
    with pytest.raises(ValueError, match=r"example 3 is not in the graph, which holds examples 0..2"):
        Walkthrough(walk.root, example=3)
    with pytest.raises(ValueError, match="holds one example"):
        Walkthrough(singles[0].root, example=1)
