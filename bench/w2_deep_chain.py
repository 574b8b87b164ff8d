"""W2, a deep chain: x = tanh(x · 1.0001 + 0.0001) repeated N times, then backward.

The time at N = 500 and at large N, and whether N = 1,000,000 works (micrograd's recursive
topological sort stops near Python's recursion limit).
"""

from __future__ import annotations

import gc

from _common import BLOCK_SECONDS, Table, cli, fmt_time, import_micrograd, ratio, time_per_call

SIZES = {"tiny": ([300, 500, 5_000], 3, 16), "quick": ([300, 500, 100_000], 5, 16),
         "full": ([300, 500, 100_000, 1_000_000], 7, 16)}   # Ns, rounds at N ≤ 500, examples when batched


def chain(mode: str, n: int, examples: int = 16):
    """A step that builds the chain of ``n`` links in ``mode`` and differentiates it."""
    from autodiff import Value, neuron, no_cycle_gc
    from autodiff.batched import batch, total

    def step():
        with no_cycle_gc():
            x0 = batch([0.1 * (i + 1) for i in range(examples)]) if mode == "batched" else Value(0.5)
            x = x0
            if mode == "eager":
                for _ in range(n):
                    x = (x * 1.0001 + 0.0001).tanh()
            else:  # fused: the affine step is one neuron node
                w, b = Value(1.0001), Value(0.0001)
                for _ in range(n):
                    x = neuron([w], [x], b).tanh()
            (total(x) if mode == "batched" else x).backward()
            assert x0.has_grad
    return step


def micrograd_chain(n: int) -> None:
    """micrograd 0.1.0 has no tanh: relu stands in (the same three nodes per link)."""
    Value = import_micrograd().engine.Value
    x = x0 = Value(0.5)
    for _ in range(n):
        x = (x * 1.0001 + 0.0001).relu()
    x.backward()
    assert x0.grad != 0.0


def largest_micrograd_n(limit: int = 1_000_000) -> int:
    """The largest N (to 1%) for which micrograd's backward works: doubling, then bisection on
    RecursionError."""
    def works(n: int) -> bool:
        try:
            micrograd_chain(n)
            return True
        except RecursionError:
            return False
        finally:
            gc.collect()
    ok = 1
    while ok * 2 <= limit and works(ok * 2):
        ok *= 2
    bad = min(ok * 2, limit + 1)
    while bad - ok > max(1, ok // 100):
        mid = (ok + bad) // 2
        ok, bad = (mid, bad) if works(mid) else (ok, mid)
    return ok


def run(size: str) -> list[Table]:
    ns, rounds, examples = SIZES[size]
    mg = import_micrograd() is not None
    modes = [("deltagrad eager", "eager"), ("deltagrad fused", "fused"),
             (f"deltagrad batched ({examples} examples, fused)", "batched")]
    names = (["micrograd 0.1.0 (relu for tanh)"] if mg else []) + [name for name, _ in modes]
    cells: dict[str, list[str]] = {name: [] for name in names}
    at_300: dict[str, float] = {}
    for n in ns:
        contenders = {name: chain(mode, n, examples) for name, mode in modes}
        if mg:
            try:
                micrograd_chain(n)
                contenders = {names[0]: lambda n=n: micrograd_chain(n)} | contenders
            except RecursionError:
                cells[names[0]].append("RecursionError")
            gc.collect()
        small = n <= 500  # larger chains: one call each, which takes long enough to be its own block
        timings = time_per_call(contenders, rounds if small else 1, BLOCK_SECONDS[size], warmup=small)
        for name, timing in timings.items():
            cells[name].append(fmt_time(timing.median))
            if n == 300:
                at_300[name] = timing.median
        gc.collect()
    table = Table("W2: deep chain x = tanh(1.0001 x + 0.0001), N times, then backward",
                  ["contender", *[f"N = {n:,}" for n in ns], "vs micrograd at N = 300"])
    reference = at_300.get(names[0]) if mg else None
    for name in names:
        table.rows.append([name, *cells[name], ratio(reference, at_300[name]) if name in at_300 else "n/a"])
    if mg:
        table.notes.append(f"micrograd's largest working N here: about {largest_micrograd_n():,} "
                           "(its recursive topological sort meets Python's recursion limit); "
                           "deltagrad's traversal is iterative, so N is bounded by memory only. "
                           "micrograd 0.1.0 has no tanh, so its chain uses relu: the same three nodes "
                           "per link.")
    table.notes.append(f"N = 300 (micrograd still works) and N = 500: median of {rounds} rounds; larger "
                       "N: one call each, no warm-up, the contenders one after another; build + backward, "
                       "deltagrad's inside no_cycle_gc().")
    return [table]


if __name__ == "__main__":
    cli(run, __doc__)
