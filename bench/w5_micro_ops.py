"""W5, micro-ops: nanoseconds per `a + b`, `a * b`, `tanh` (relu for micrograd, which has no tanh),
and per node of backward (a chain of additions, so every node is the same work).
"""

from __future__ import annotations

from _common import BLOCK_SECONDS, Table, cli, import_micrograd, ratio, time_per_call

SIZES = {"tiny": 3, "quick": 5, "full": 9}   # rounds


def chain_backward(Value, n: int):
    """``backward`` of a chain of ``n`` additions over 64 leaves, built once (each call walks it again:
    interior gradients restart, the leaves' accumulate)."""
    leaves = [Value(0.5) for _ in range(64)]
    x = leaves[0]
    for i in range(n):
        x = x + leaves[i % 64]
    return x.backward


def operations(Value, tanh_name: str, chain_n: int) -> dict[str, tuple]:
    """Each operation's step and the number of operations one call makes."""
    a, b = Value(0.3), Value(-1.2)
    return {"a + b": (lambda: a + b, 1), "a * b": (lambda: a * b, 1), "tanh": (getattr(a, tanh_name), 1),
            "backward, per node": (chain_backward(Value, chain_n), chain_n)}


def run(size: str) -> list[Table]:
    rounds = SIZES[size]
    from autodiff import Value
    micrograd = import_micrograd()
    long_n = 1_000 if size == "tiny" else 100_000
    # micrograd's backward is recursive: its chain must stay below the recursion limit
    engines = {"deltagrad": operations(Value, "tanh", 300)}
    if micrograd is not None:
        engines["micrograd"] = operations(micrograd.engine.Value, "relu", 300)
    engines["deltagrad"]["long chain"] = (chain_backward(Value, long_n), long_n)
    steps = {(engine, op): step for engine, ops in engines.items() for op, (step, _) in ops.items()}
    timings = time_per_call(steps, rounds, BLOCK_SECONDS[size])
    per_op = {key: timings[key].median / engines[key[0]][key[1]][1] for key in steps}
    table = Table(f"W5: micro-ops (ns per operation, median of {rounds} rounds)",
                  ["operation", "micrograd 0.1.0", "deltagrad", "vs micrograd"])
    for op in ("a + b", "a * b", "tanh", "backward, per node"):
        ref = per_op.get(("micrograd", op))
        table.rows.append([op, f"{ref * 1e9:.0f}" if ref else "n/a", f"{per_op['deltagrad', op] * 1e9:.0f}",
                           ratio(ref, per_op["deltagrad", op])])
    table.rows.append([f"backward, per node, chain of {long_n:,}",
                       "RecursionError", f"{per_op['deltagrad', 'long chain'] * 1e9:.0f}", "n/a"])
    table.notes += ["micrograd 0.1.0 has no tanh: its column uses relu.",
                    "Backward per node on a 300-node chain of additions (micrograd's recursion limit "
                    "allows no longer), then on a long chain for deltagrad alone; the cyclic GC is on. "
                    "An operation's time includes the call of the lambda that makes it, in both engines."]
    return [table]


if __name__ == "__main__":
    cli(run, __doc__)
