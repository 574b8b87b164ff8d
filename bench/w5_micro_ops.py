"""W5, micro-ops: nanoseconds per `a + b`, `a * b`, `tanh` (relu for micrograd, which has no tanh),
and per node of backward (a chain of additions, so every node is the same work).
"""

from __future__ import annotations

import gc
import statistics
import time

from _common import Table, cli, import_micrograd, ratio

SIZES = {"tiny": (2_000, 3), "quick": (200_000, 5), "full": (200_000, 9)}   # ops per timing, repeats


def per_op(make, n: int, repeats: int) -> float:
    """Median seconds per call of ``make()`` over ``repeats`` loops of ``n`` calls (results dropped
    at once, so refcounting frees them as they go)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(n):
            make()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)


def backward_per_node(Value, n: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        leaves = [Value(0.5) for _ in range(64)]
        x = leaves[0]
        for i in range(n):
            x = x + leaves[i % 64]
        gc.collect()
        t0 = time.perf_counter()
        x.backward()
        times.append((time.perf_counter() - t0) / n)
        del x
    return statistics.median(times)


def measure_engine(Value, tanh_name: str, n: int, repeats: int, chain_n: int) -> dict[str, float]:
    a, b = Value(0.3), Value(-1.2)
    unary = getattr(a, tanh_name)
    return {"a + b": per_op(lambda: a + b, n, repeats), "a * b": per_op(lambda: a * b, n, repeats),
            "tanh": per_op(unary, n, repeats),
            "backward, per node": backward_per_node(Value, chain_n, repeats)}


def run(size: str) -> list[Table]:
    n, repeats = SIZES[size]
    from autodiff import Value
    ours = measure_engine(Value, "tanh", n, repeats, 300)
    micrograd = import_micrograd()
    # micrograd's backward is recursive: its chain must stay below the recursion limit
    theirs = (measure_engine(micrograd.engine.Value, "relu", n, repeats, 300)
              if micrograd is not None else None)
    long_n = 1_000 if size == "tiny" else 100_000
    ours_long = backward_per_node(Value, long_n, repeats)
    table = Table("W5: micro-ops (ns per operation, median)",
                  ["operation", "micrograd 0.1.0", "deltagrad", "vs micrograd"])
    for op, seconds in ours.items():
        ref = theirs[op] if theirs else None
        table.rows.append([op, f"{ref * 1e9:.0f}" if ref else "n/a", f"{seconds * 1e9:.0f}",
                           ratio(ref, seconds)])
    table.rows.append([f"backward, per node, chain of {long_n:,}",
                       "RecursionError", f"{ours_long * 1e9:.0f}", "n/a"])
    table.notes += ["micrograd 0.1.0 has no tanh: its column uses relu.",
                    "Backward per node on a 300-node chain of additions (micrograd's recursion limit "
                    "allows no longer), then on a long chain for deltagrad alone; the cyclic GC is on."]
    return [table]


if __name__ == "__main__":
    cli(run, __doc__)
