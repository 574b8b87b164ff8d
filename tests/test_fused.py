"""The fused neuron z = Σ w_k x_k + b: one node with its own rule, the same numbers as the unfused graph."""

import random

import pytest

from autodiff import Value, backward_steps, topological_order
from autodiff.check import gradcheck
from autodiff.engine import PRIMITIVES, neuron


def unfused(w, x, b):
    z = w[0] * x[0]
    for wk, xk in zip(w[1:], x[1:], strict=True):
        z = z + wk * xk
    return z + b


@pytest.mark.parametrize("n", [1, 2, 7])
def test_fused_equals_unfused_to_the_bit(n):
    rng = random.Random(n)
    w = [Value(rng.uniform(-2, 2)) for _ in range(n)]
    x = [Value(rng.uniform(-2, 2)) for _ in range(n)]
    b = Value(rng.uniform(-2, 2))
    z1 = neuron(w, x, b).tanh()
    z1.backward()
    g1 = [p.grad for p in [*w, *x, b]]
    for p in [*w, *x, b]:
        p.grad = 0.0
    z2 = unfused(w, x, b).tanh()
    z2.backward()
    assert z1.data == z2.data
    assert g1 == [p.grad for p in [*w, *x, b]]


def test_fused_is_one_node_with_every_input_as_a_parent():
    w, x, b = [Value(1.0), Value(2.0)], [Value(3.0), 4.0], Value(0.5)
    z = neuron(w, x, b)
    assert z.op == "neuron" and z.primitive is PRIMITIVES["neuron"] and z.primitive.arity == -1
    assert z.parents[:2] == tuple(w) and z.parents[2] is x[0] and z.parents[3].data == 4.0
    assert z.parents[4] is b
    assert z.data == 1 * 3 + 2 * 4 + 0.5
    assert sum(1 for n in topological_order(z) if not n.is_leaf) == 1


def test_its_backward_step_lists_every_contribution():
    w, x, b = [Value(1.5), Value(-2.0)], [Value(3.0), Value(0.25)], Value(0.5)
    z = neuron(w, x, b)
    out = z * 2.0
    steps = list(backward_steps(out))
    step = [s for s in steps if s.op == "neuron"][0]
    assert step.parents == (*w, *x, b)
    assert step.upstream == 2.0
    assert step.contributions == (6.0, 0.5, 3.0, -4.0, 2.0)   # 2·x_k, 2·w_k, 2
    assert step.local == (3.0, 0.25, 1.5, -2.0, 1.0)


def test_rule_matches_central_differences():
    gradcheck(lambda a, b, c, d, e: neuron([a, b], [c, d], e).sigmoid(), [0.3, -1.2, 0.7, 2.0, -0.1])


def test_rule_gives_one_term_per_input():
    terms = PRIMITIVES["neuron"].vjp(1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0)
    assert terms == (3.0, 4.0, 1.0, 2.0, 1.0)


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="2 weights but 1 inputs"):
        neuron([Value(1.0), Value(2.0)], [1.0], Value(0.0))


def test_mlp_fused_matches_unfused_and_keeps_the_naming_contract():
    from nn.layers import MLP
    plain, fused = MLP(3, [4, 2], rng=5), MLP(3, [4, 2], rng=5, fused=True)
    x = [0.5, -1.0, 2.0]
    outs = [sum(m(x), Value(0.0)) for m in (plain, fused)]
    for out in outs:
        out.backward()
    assert outs[0].data == outs[1].data
    assert [p.grad for p in plain.parameters()] == [p.grad for p in fused.parameters()]
    trace = fused.trace(x)
    assert trace.z[0][2].op == "neuron" and trace.z[0][2].label == "layers.0.neurons.2.z"
    assert trace.z[0][2].parents[:3] == tuple(fused.layers[0].neurons[2].w)
    interior = [n for n in topological_order(outs[1]) if not n.is_leaf]
    assert sum(n.op == "neuron" for n in interior) == 6 and not any(n.op == "mul" for n in interior)


@pytest.mark.parametrize("where", ["bias", "input", "both"])
def test_plain_numbers_among_the_operands_become_leaves(where):
    """A plain bias (the usual ``neuron(w, w, 0.0)`` of an L2 sum) is wrapped before the forward
    runs, a plain input where the forward meets it: the same node and numbers either way."""
    w = [Value(0.5), Value(-1.5)]
    x = [Value(2.0), 3.0 if where != "bias" else Value(3.0)]
    b = 0.25 if where != "input" else Value(0.25)
    z = neuron(w, x, b)
    assert z.data == 0.5 * 2.0 + -1.5 * 3.0 + 0.25 and len(z.parents) == 5
    assert all(p.__class__ is Value for p in z.parents)
    assert [p.data for p in z.parents[2:]] == [2.0, 3.0, 0.25] and z.parents[-1].is_leaf
    z.backward()
    assert [p.grad for p in z.parents] == [2.0, 3.0, 0.5, -1.5, 1.0]
