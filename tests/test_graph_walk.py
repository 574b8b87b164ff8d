"""The topological walk (autodiff.graph): its order is the depth-first post-order over parents in
operand order, exactly (the gradients' sums, so their bits, and diagram ids depend on it), however the
walk takes its shortcuts; and `walk_leaves` gives that order's leaves apart."""

from __future__ import annotations

import random
import sys

import pytest

import autodiff
import nn
from autodiff import Value, topological_order
from autodiff.batched import batch
from autodiff.graph import walk, walk_leaves


def _definition(root: Value) -> list[Value]:
    """The order by its definition: recursive depth-first search, parents in operand order."""
    order, seen = [], set()

    def visit(node):
        if node in seen:
            return
        seen.add(node)
        for p in node.parents:
            visit(p)
        order.append(node)
    visit(root)
    return order


def _random_graph(rng: random.Random, size: int) -> Value:
    """Leaves, unary, binary (duplicates kept) and n-ary nodes over a pool that keeps old nodes."""
    pool = [Value(rng.uniform(-1, 1), f"x{i}") for i in range(rng.randint(1, 4))]
    for _ in range(size):
        kind = rng.random()
        pick = rng.choice
        if kind < 0.2:
            node = pick(pool).tanh()
        elif kind < 0.35:
            node = pick(pool) * pick(pool) if rng.random() < 0.5 else pick(pool) * pick(pool[:1])
        elif kind < 0.5:
            node = pick(pool) + Value(rng.uniform(-1, 1))   # a fresh leaf as second parent
        elif kind < 0.6:
            node = Value(rng.uniform(-1, 1)) * pick(pool)   # a fresh leaf as first parent
        elif kind < 0.7:
            k = rng.randint(1, 3)
            node = autodiff.neuron([pick(pool) for _ in range(k)], [pick(pool) for _ in range(k)],
                                   pick(pool))
        elif kind < 0.8:
            node = pick(pool).relu()
        else:
            node = pick(pool) + pick(pool)
        pool.append(node)
    return sum(rng.sample(pool, min(len(pool), 3)), Value(0.0))


@pytest.mark.parametrize("seed", range(40))
def test_the_order_is_the_recursive_definition(seed):
    rng = random.Random(seed)
    root = _random_graph(rng, rng.randint(1, 60))
    expected = _definition(root)
    order, leaves, batched = walk_leaves(root)
    assert order == expected
    assert topological_order(root) == expected and walk(root) == (expected, False)
    assert leaves == [n for n in expected if n.is_leaf] and not batched


def test_the_order_of_a_network_step_is_the_recursive_definition():
    model = nn.MLP(2, [4, 4, 1], rng=3)
    rows = [[0.5, -1.0], [0.25, 2.0], [-0.75, 0.125]]
    loss = nn.mean([nn.hinge(model(x)[0], 1.0) for x in rows]) + nn.l2(model.weights(), 1e-4)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        expected = _definition(loss)
    finally:
        sys.setrecursionlimit(limit)
    assert topological_order(loss) == expected
    assert walk_leaves(loss)[1] == [n for n in expected if n.is_leaf]


def test_a_leaf_parent_taken_at_once_keeps_its_place():
    # b's first parent is a leaf taken at once; its second is a node whose subgraph holds that leaf's
    # sibling: the leaf must come before the subgraph, the subgraph before the node
    x, y = Value(1.0, "x"), Value(2.0, "y")
    inner = (y * x).tanh()
    root = x * inner
    assert [n.label or n.op for n in topological_order(root)] == ["x", "y", "mul", "tanh", "mul"]
    assert topological_order(root) == _definition(root)


def test_walk_tells_a_batch_by_its_leaves():
    import numpy as np
    v = batch(np.array([1.0, 2.0]))
    root = (v * Value(3.0)).relu()
    order, leaves, batched = walk_leaves(root)
    assert batched and walk(root)[1] and leaves == order[:2]


def test_walk_refuses_what_is_not_a_value():
    with pytest.raises(TypeError, match="needs a Value, got float"):
        walk_leaves(1.0)


def test_an_nary_nodes_leaves_taken_at_once_keep_their_place():
    # the neuron's leading leaves (one repeated) are appended at once; the interior parent after them
    # takes its subgraph, which holds a leaf that is also a later parent (seen by then)
    w0, w1, x0, b = (Value(v, name) for v, name in ((0.5, "w0"), (-1.0, "w1"), (2.0, "x0"), (0.25, "b")))
    inner = (b * w1).tanh()
    root = autodiff.neuron([w0, w0, w1], [inner, x0, b], b)
    assert [n.label or n.op for n in topological_order(root)] == ["w0", "w1", "b", "mul", "tanh", "x0",
                                                                 "neuron"]
    assert topological_order(root) == _definition(root)
    assert walk_leaves(root)[1] == [w0, w1, b, x0]


@pytest.mark.parametrize("where", ["first", "last", "deep"])
def test_a_batch_is_told_wherever_its_leaf_is(where):
    import numpy as np
    v = batch(np.array([1.0, 2.0]))
    x, y = Value(3.0), Value(4.0)
    root = {"first": lambda: (v * x) * y, "last": lambda: (x * y) * v,
            "deep": lambda: x * (y * (x + v.relu()))}[where]()
    assert walk_leaves(root)[2] and walk(root)[1]
    assert not walk_leaves(x * y)[2]
