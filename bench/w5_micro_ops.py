"""W5, micro-ops: nanoseconds per `a + b`, `a * b`, `tanh` (relu for micrograd, which has no tanh),
per node of backward (a chain of additions, so every node is the same work), and per call of
`model.parameters()` on W1's model.
"""

from __future__ import annotations

from collections.abc import Callable

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


PARAMETERS = "model.parameters() of W1's MLP(2, [16, 16, 1]), per call"
NAMED = "the same list read through named_parameters(), as parameters() did before issue 17's fix"


def parameter_lists(micrograd) -> dict[tuple[str, str], Callable[[], object]]:
    """W1's model's parameter list, per call: micrograd's, deltagrad's, and deltagrad's the way its
    parameters() made it before issue 17 (every dotted name built, then dropped: 92 µs a call was
    measured then; the README's loop called it three times a step)."""
    import nn
    model = nn.MLP(2, [16, 16, 1], rng=1)
    steps = {("deltagrad", PARAMETERS): model.parameters,
             ("deltagrad", NAMED): lambda: [p for _, p in model.named_parameters()]}
    if micrograd is not None:
        steps[("micrograd", PARAMETERS)] = micrograd.nn.MLP(2, [16, 16, 1]).parameters
    return steps


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
    lists = parameter_lists(micrograd)
    timings = time_per_call(steps | lists, rounds, BLOCK_SECONDS[size])
    per_op = {key: timings[key].median / engines[key[0]][key[1]][1] for key in steps}
    per_op |= {key: timings[key].median for key in lists}
    table = Table(f"W5: micro-ops (ns per operation, median of {rounds} rounds)",
                  ["operation", "micrograd 0.1.0", "deltagrad", "vs micrograd"])
    for op in ("a + b", "a * b", "tanh", "backward, per node"):
        ref = per_op.get(("micrograd", op))
        table.rows.append([op, f"{ref * 1e9:.0f}" if ref else "n/a", f"{per_op['deltagrad', op] * 1e9:.0f}",
                           ratio(ref, per_op["deltagrad", op])])
    table.rows.append([f"backward, per node, chain of {long_n:,}",
                       "RecursionError", f"{per_op['deltagrad', 'long chain'] * 1e9:.0f}", "n/a"])
    ref, ours = per_op.get(("micrograd", PARAMETERS)), per_op["deltagrad", PARAMETERS]
    table.rows.append([PARAMETERS, f"{ref * 1e9:,.0f}" if ref else "n/a", f"{ours * 1e9:,.0f}",
                       ratio(ref, ours)])
    table.rows.append([NAMED, "n/a", f"{per_op['deltagrad', NAMED] * 1e9:,.0f}", "n/a"])
    table.notes += ["micrograd 0.1.0 has no tanh: its column uses relu.",
                    "Backward per node on a 300-node chain of additions (micrograd's recursion limit "
                    "allows no longer), then on a long chain for deltagrad alone; the cyclic GC is on. "
                    "An operation's time includes the call of the lambda that makes it, in both engines.",
                    "model.parameters(): a new list each call in both engines (micrograd's from its own "
                    "MLP); deltagrad's reads the model as it is now, without building the dotted names. "
                    "The row under it makes the same list through named_parameters(), which builds them, "
                    "as parameters() did before issue 17's fix (92 µs a call was measured then): the "
                    "cost the fix removed, side by side in the same rounds."]
    return [table]


if __name__ == "__main__":
    cli(run, __doc__)
