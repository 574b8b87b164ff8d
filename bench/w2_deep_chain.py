"""W2, a deep chain: x = tanh(x · 1.0001 + 0.0001) repeated N times, then backward.

The time at N = 500 and at large N, and whether N = 1,000,000 works (micrograd's recursive
topological sort stops near Python's recursion limit).
"""

from __future__ import annotations

import gc
import time

from _common import Table, cli, fmt_time, import_micrograd, ratio

SIZES = {"tiny": ([300, 500, 5_000], 3, 16), "quick": ([300, 500, 100_000], 5, 16),
         "full": ([300, 500, 100_000, 1_000_000], 7, 16)}   # Ns, repeats at N=500, examples when batched


def chain(mode: str, n: int, examples: int = 16):
    """Build and differentiate the chain once in ``mode``; returns the seconds it took."""
    from autodiff import Value, neuron, no_cycle_gc
    from autodiff.batched import batch, total
    t0 = time.perf_counter()
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
        del x, x0
    return time.perf_counter() - t0


def micrograd_chain(n: int) -> float:
    """micrograd 0.1.0 has no tanh: relu stands in (the same three nodes per link)."""
    Value = import_micrograd().engine.Value
    t0 = time.perf_counter()
    x = x0 = Value(0.5)
    for _ in range(n):
        x = (x * 1.0001 + 0.0001).relu()
    x.backward()
    assert x0.grad != 0.0
    return time.perf_counter() - t0


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
    ns, repeats, examples = SIZES[size]
    mg = import_micrograd() is not None
    modes = [("deltagrad eager", "eager"), ("deltagrad fused", "fused"),
             (f"deltagrad batched ({examples} examples, fused)", "batched")]
    table = Table("W2: deep chain x = tanh(1.0001 x + 0.0001), N times, then backward",
                  ["contender", *[f"N = {n:,}" for n in ns], "vs micrograd at N = 300"])
    reference = None
    if mg:
        cells = []
        for n in ns:
            try:
                t = sorted(micrograd_chain(n) for _ in range(repeats if n <= 500 else 1))
                cells.append(fmt_time(t[len(t) // 2]))
                if n == 300:
                    reference = t[len(t) // 2]
            except RecursionError:
                cells.append("RecursionError")
            gc.collect()
        table.rows.append(["micrograd 0.1.0 (relu for tanh)", *cells, "1×" if reference else "n/a"])
    for name, mode in modes:
        cells, at_300 = [], None
        for n in ns:
            t = sorted(chain(mode, n, examples) for _ in range(repeats if n <= 500 else 1))
            cells.append(fmt_time(t[len(t) // 2]))
            at_300 = t[len(t) // 2] if n == 300 else at_300
            gc.collect()
        table.rows.append([name, *cells, ratio(reference, at_300)])
    if mg:
        table.notes.append(f"micrograd's largest working N here: about {largest_micrograd_n():,} "
                           "(its recursive topological sort meets Python's recursion limit); "
                           "deltagrad's traversal is iterative, so N is bounded by memory only. "
                           "micrograd 0.1.0 has no tanh, so its chain uses relu: the same three nodes "
                           "per link.")
    table.notes.append(f"N = 300 (micrograd still works) and N = 500: median of {repeats}; larger N: "
                       "one run each, build + backward, inside no_cycle_gc().")
    return [table]


if __name__ == "__main__":
    cli(run, __doc__)
