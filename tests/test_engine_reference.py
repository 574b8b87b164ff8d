"""The executors against the reference loop on random graphs built from every primitive: eager ==
reference bit for bit, batched == the sum of per-example reference runs (1e-12 relative), fused ==
unfused, grad() == backward(), two calls in a row, and an error midway leaving every .grad as it was."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from autodiff import PRIMITIVES, Value, grad, neuron, topological_order
from autodiff.batched import batch, total
from autodiff.engine import apply, neurons
from autodiff.primitives import sum_squares_op
from autodiff.reference import gradients

N_PARAMS = 12

# Each op takes two registers (a, b) and the parameters p; all keep values in a tame range, so a
# random program of them never leaves a primitive's domain.
OPS = {
    "add": lambda a, b, p: (a + b) * 0.5,
    "mul": lambda a, b, p: a * b.tanh(),
    "constant": lambda a, b, p: 2.5 - a * 0.75,
    "div": lambda a, b, p: a / (b * b + 1.0),
    "pow_const": lambda a, b, p: a.tanh() ** 3,
    "sqrt_pow": lambda a, b, p: (a * a + 0.25) ** 0.5,
    "pow_value": lambda a, b, p: (a.sigmoid() + 0.5) ** b.tanh(),
    "exp": lambda a, b, p: a.tanh().exp(),
    "log": lambda a, b, p: (a * a + 0.5).log(),
    "tanh": lambda a, b, p: (a * 1.5).tanh(),
    "sigmoid": lambda a, b, p: (a - b).sigmoid(),
    "relu": lambda a, b, p: (a - 0.1).relu(),
    "param": lambda a, b, p: a * p[0] + p[1],
    "neuron": lambda a, b, p: neuron([p[2], p[3]], [a, b], p[4]).tanh(),
    "square": lambda a, b, p: a * a,                       # reuse: one parent twice
    "sqrt": lambda a, b, p: (a * a + 0.25).sqrt(),
    "abs": lambda a, b, p: abs(a - 0.2),
    "sin": lambda a, b, p: (a * 2.0).sin(),
    "cos": lambda a, b, p: b.cos() * a,
    "softplus": lambda a, b, p: (a - b).softplus(),
    "leaky_relu": lambda a, b, p: a.leaky_relu(0.2),
    "elu": lambda a, b, p: a.elu(0.7),
    "gelu": lambda a, b, p: (a * 1.3).gelu(),
    "normal_cdf": lambda a, b, p: apply(PRIMITIVES["normal_cdf"], a),
    "maximum": lambda a, b, p: a.maximum(b),               # a tie when i == j: half each
    "minimum": lambda a, b, p: a.minimum(b * 0.5),
    "sum_squares": lambda a, b, p: apply(PRIMITIVES["sum_squares"], a, p[0], b, a) * 0.1,
    "l2": lambda a, b, p: apply(sum_squares_op(0.05), a, p[0], b, a),     # nn.l2's λ/2 Σ w², one node
    "logsumexp": lambda a, b, p: apply(PRIMITIVES["logsumexp"], a, b, p[0]) - 1.0,  # nn's softmax shift
    "greater": lambda a, b, p: apply(PRIMITIVES["greater"], a, b) * a,   # a gradient graph's choices
    "sech2": lambda a, b, p: apply(PRIMITIVES["sech2"], a * 1.5),       # tanh's derivative, one node
    "floor": lambda a, b, p: apply(PRIMITIVES["floor"], a * 3.0) * 0.25 + a,   # pow's exponent held
}
UNFUSED = {"neuron": lambda a, b, p: (p[2] * a + p[3] * b + p[4]).tanh()}


def program(seed: int, length: int = 40) -> list[tuple[str, int, int]]:
    """A random straight-line program: each step an op on two earlier registers (reuse, diamonds)."""
    rng = random.Random(seed)
    steps = []
    for i in range(length):
        op = list(OPS)[i % len(OPS)] if i < len(OPS) else rng.choice(list(OPS))
        steps.append((op, rng.randrange(3 + i), rng.randrange(3 + i)))
    return steps


def run(steps, inputs: list, params: list[Value], fused: bool = True, layer: bool = True):
    """The program's root on ``inputs`` (two Values, or two batches) and a constant register."""
    regs = [*inputs, Value(0.7)]
    for k, (op, i, j) in enumerate(steps):
        f = OPS[op] if fused else UNFUSED.get(op, OPS[op])
        shift = k % (N_PARAMS - 5)
        regs.append(f(regs[i], regs[j], params[shift:shift + 5]))
    if layer:  # a fused layer of three neurons over the last two registers
        w = [params[0:2], params[2:4], params[4:6]]
        zs = (neurons(w, regs[-2:], params[6:9]) if fused else
              [r[0] * regs[-2] + r[1] * regs[-1] + b for r, b in zip(w, params[6:9], strict=True)])
        regs += [z.sigmoid() for z in zs]
    out = regs[-1] * regs[-2]
    for r in regs[3:-2]:                                   # every register reaches the root
        out = out + r * 0.25
    return out


def make_params(seed: int) -> list[Value]:
    rng = random.Random(1000 + seed)
    return [Value(rng.uniform(-1, 1), f"p{k}") for k in range(N_PARAMS)]


def test_every_primitive_is_in_the_random_programs():
    params = make_params(0)
    root = run(program(0), [Value(0.3), Value(-0.6)], params)
    root = root + apply(PRIMITIVES["examples_sum"], root)
    assert {n.op for n in topological_order(root)} >= set(PRIMITIVES)
    assert any(n.op == "pow_const" for n in topological_order(root))


@pytest.mark.parametrize("seed", range(25))
def test_eager_equals_the_reference_bit_for_bit_also_twice_in_a_row(seed):
    rng = random.Random(seed)
    params = make_params(seed)
    root = run(program(seed), [Value(rng.uniform(-2, 2)), Value(rng.uniform(-2, 2))], params)
    root = root + apply(PRIMITIVES["examples_sum"], root * 0.5)
    order = topological_order(root)
    ref = gradients(root)
    root.backward()
    for node in order:
        assert node.grad == ref.get(node, 0.0), (node.op, node.label)
    leaves = [n for n in order if n.is_leaf]
    assert grad(root, leaves) == tuple(n.grad for n in leaves)         # grad() == backward()
    root.backward()                                                    # a second call
    for node in order:
        expected = 2 * ref.get(node, 0.0) if node.is_leaf else ref.get(node, 0.0)
        assert node.grad == expected, (node.op, node.label)


def rel_err(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)))


@pytest.mark.parametrize("seed", range(12))
def test_batched_equals_the_sum_of_per_example_reference_runs(seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(7, 2))
    steps, params = program(seed), make_params(seed)
    xs_batch = [batch(X[:, 0], "x0"), batch(X[:, 1], "x1")]
    root = total(run(steps, xs_batch, params))
    per_example = [0.0] * N_PARAMS
    inputs_grads = []
    for row in X:
        xs = [Value(row[0]), Value(row[1])]
        one = run(steps, xs, params)
        g = gradients(one)
        per_example = [s + g.get(p, 0.0) for s, p in zip(per_example, params, strict=True)]
        inputs_grads.append([g.get(x, 0.0) for x in xs])
    root.backward()
    assert rel_err([p.grad for p in params], per_example) < 1e-12
    batched_inputs = np.stack([np.broadcast_to(x.grad, (7,)) for x in xs_batch], axis=1)
    assert rel_err(batched_inputs, inputs_grads) < 1e-12
    ref = gradients(root)                                   # the reference loop on the batched graph
    assert rel_err([ref.get(p, 0.0) for p in params], per_example) < 1e-12
    for p in params:                                        # a second call adds the same again
        p.grad = 0.0
    root.backward()
    assert rel_err([p.grad for p in params], per_example) < 1e-12


@pytest.mark.parametrize("seed", range(8))
def test_fused_equals_unfused(seed):
    params = make_params(seed)
    grads = []
    for fused in (True, False):
        for p in params:
            p.grad = 0.0
        root = run(program(seed), [Value(0.4), Value(-1.1)], params, fused=fused)
        root.backward()
        grads.append([p.grad for p in params])
    assert rel_err(*grads) < 1e-12


@pytest.mark.parametrize("seed", range(4))
def test_fused_equals_unfused_over_a_batch(seed):
    X = np.random.default_rng(seed).uniform(-1, 1, size=(5, 2))
    params = make_params(seed)
    grads = []
    for fused in (True, False):
        for p in params:
            p.grad = 0.0
        total(run(program(seed), [batch(X[:, 0]), batch(X[:, 1])], params, fused=fused)).backward()
        grads.append([p.grad for p in params])
    assert rel_err(*grads) < 1e-12


def test_a_batched_root_that_is_a_neuron_seeds_one_per_example():
    w, b = [Value(0.5), Value(-0.25)], Value(0.1)
    z = neuron(w, [batch([1.0, 2.0, 3.0]), batch([0.5, 0.5, -1.0])], b)
    z.backward()
    assert b.grad == 3.0 and w[0].grad == 6.0 and w[1].grad == 0.0


@pytest.mark.parametrize("batched", [False, True])
def test_an_error_midway_leaves_every_grad_as_it_was(batched):
    """Issue 18.3: a rule that raises after some leaves got their terms changes nothing."""
    x, y = Value(2.0, "x"), Value(-1.0, "y")
    base = (x * 3.0 + x * y).tanh()
    if batched:
        base = total(base * batch([1.0, 2.0]))
    base.backward()
    held = {n: n.grad for n in topological_order(base)}
    neg = Value(-2.0, "neg")
    bad = base * x + neg ** y.relu() * x   # d/dy (-2)^y needs log(-2): the rule raises, after x got terms
    x_before = x.grad
    with pytest.raises(ValueError, match="negative base"):
        bad.backward()
    assert x.grad == x_before and all(np.array_equal(n.grad, g) for n, g in held.items())
    assert not neg.has_grad and not bad.has_grad


def test_a_deep_chain_runs_without_recursion():
    x = Value(0.5)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0
    assert math.isclose(grad(y, x), 1.0)
