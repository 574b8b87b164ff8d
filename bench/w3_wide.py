"""W3, wide: the sum of n = 100,000 products a_i · b_i, then backward: time, and bytes per op node.

The sum is a balanced pairwise tree (depth log2 n) so that micrograd's recursive traversal copes;
the graph has n products and n − 1 additions either way. Memory is what tracemalloc sees the graph
and its gradients take beyond the 2n leaves, which exist beforehand.
"""

from __future__ import annotations

import gc
import random
import tracemalloc

from _common import BLOCK_SECONDS, Table, cli, fmt_bytes, import_micrograd, ratio, time_per_call

SIZES = {"tiny": (2_000, 2), "quick": (100_000, 3), "full": (100_000, 5)}   # n, rounds


def tree_sum(terms: list):
    while len(terms) > 1:
        pairs = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        terms = pairs + ([terms[-1]] if len(terms) % 2 else [])
    return terms[0]


def builders(n: int):
    """(name, make leaves, build-and-backward) per contender."""
    rng = random.Random(3)
    a_data, b_data = [rng.uniform(-1, 1) for _ in range(n)], [rng.uniform(-1, 1) for _ in range(n)]
    out = []
    micrograd = import_micrograd()
    if micrograd is not None:
        MV = micrograd.engine.Value
        out.append(("micrograd 0.1.0", lambda: ([MV(v) for v in a_data], [MV(v) for v in b_data]),
                    lambda leaves: _backward(tree_sum([x * y for x, y in zip(*leaves, strict=True)])),
                    2 * n - 1))
    from autodiff import Value, neuron, no_cycle_gc
    from autodiff.batched import batch, total

    def eager(leaves):
        with no_cycle_gc():
            return _backward(tree_sum([x * y for x, y in zip(*leaves, strict=True)]))

    def fused(leaves):
        with no_cycle_gc():
            return _backward(neuron(leaves[0], leaves[1], 0.0))

    def batched(leaves):
        return _backward(total(leaves[0] * leaves[1]))

    plain = lambda: ([Value(v) for v in a_data], [Value(v) for v in b_data])  # noqa: E731
    out += [("deltagrad eager", plain, eager, 2 * n - 1),
            ("deltagrad fused (one neuron node)", plain, fused, 1),
            ("deltagrad batched (n examples, 3 nodes)", lambda: (batch(a_data), batch(b_data)), batched, 2)]
    return out


def _backward(root):
    root.backward()
    return root


def run(size: str) -> list[Table]:
    n, rounds = SIZES[size]
    table = Table(f"W3: wide, Σ a_i b_i over n = {n:,} products, then backward (median of {rounds} rounds)",
                  ["contender", "build + backward (median, range)", "vs micrograd", "op nodes",
                   "graph + gradients", "bytes per op node"])
    contenders = builders(n)
    leaves = {name: make_leaves() for name, make_leaves, _, _ in contenders}
    timings = time_per_call({name: (lambda work=work, name=name: work(leaves[name]))
                             for name, _, work, _ in contenders}, rounds, BLOCK_SECONDS[size])
    reference = None
    for name, _, work, op_nodes in contenders:
        median = timings[name].median
        reference = median if name.startswith("micrograd") else reference
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        root = work(leaves[name])
        held = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        del root
        table.rows.append([name, timings[name].cell(), ratio(reference, median), f"{op_nodes:,}",
                           fmt_bytes(held), f"{held / op_nodes:,.0f}" if op_nodes > 2 else "n/a"])
    table.notes += ["Bytes per op node: memory still held after backward (nodes, their numbers and "
                    "gradients, and the leaves' gradients) over the number of op nodes.",
                    "micrograd nodes carry a closure and a set of parents each; deltagrad's carry two "
                    "parent slots (an n-ary node: one tuple)."]
    return [table]


if __name__ == "__main__":
    cli(run, __doc__)
