"""What a backward pass leaves in memory, as a count of objects (bench W3 measures the bytes): the
gradients of a sum's nodes are one shared float, not a copy per node (W3: 128 B per op node, not 152)."""

from __future__ import annotations

import random

from autodiff import Value
from autodiff.graph import topological_order


def _tree_sum(terms: list) -> Value:
    """W3's graph: a balanced pairwise sum (bench/w3_wide.py)."""
    while len(terms) > 1:
        pairs = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        terms = pairs + ([terms[-1]] if len(terms) % 2 else [])
    return terms[0]


def _gradient_objects(root: Value) -> int:
    """How many distinct objects the graph's gradients are (all alive at once: distinct ids)."""
    return len({id(node._grad) for node in topological_order(root)})


def test_a_sums_nodes_share_one_gradient_object_and_each_leaf_holds_its_own():
    rng = random.Random(3)
    n = 1000
    a = [Value(rng.uniform(-1, 1)) for _ in range(n)]
    b = [Value(rng.uniform(-1, 1)) for _ in range(n)]
    for _ in range(2):  # a first pass, then one on leaves that hold gradients (they accumulate)
        root = _tree_sum([x * y for x, y in zip(a, b, strict=True)])
        root.backward()
        # 2n leaves with a gradient of their own; the n products and n - 1 sums all hold the seed 1.0
        assert _gradient_objects(root) == 2 * n + 1
        assert {node.grad for node in topological_order(root) if not node.is_leaf} == {1.0}
    assert [x.grad for x in a] == [2 * y.data for y in b]


def test_a_shared_gradient_object_is_never_changed_in_place():
    x, y = Value(2.0), Value(3.0)
    s = x + y              # s's gradient object passes on to x and y
    t = s + x              # x gets a second term: a new float, s's and y's stay 1.0
    t.backward()
    assert (x.grad, y.grad, s.grad, t.grad) == (2.0, 1.0, 1.0, 1.0)
