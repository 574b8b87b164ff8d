"""W1, micrograd's demo: MLP(2, [16, 16, 1]) (ReLU hidden, linear output) on 100 two-moons points,
hinge loss + 1e-4 L2, full batch: time per training step (forward over every point, backward, SGD).

Contenders: micrograd 0.1.0 (its own demo code), and deltagrad eager (one node per scalar op, the
graph micrograd builds), fused (one node per neuron), batched (one graph over all points).
"""

from __future__ import annotations

import gc
import random

from _common import (
    ALPHA,
    BLOCK_SECONDS,
    LR,
    Table,
    cli,
    fmt_bytes,
    import_micrograd,
    moons,
    order_note,
    peak_memory,
    ratio,
    time_per_call,
)

SIZES = {"tiny": (10, 2), "quick": (100, 5), "full": (100, 15)}   # (points, rounds)


def micrograd_step(n: int):
    """micrograd's demo training step, written as its README/notebook writes it."""
    micrograd = import_micrograd()
    random.seed(1)  # micrograd draws its weights from the global random module
    return demo_loop(micrograd.engine.Value, micrograd.nn.MLP(2, [16, 16, 1]), n)


def demo_loop(Value, model, n: int, score=lambda model, x: model(x)):
    """micrograd's demo loop on any ``Value`` class and model (``score`` reads a point's output from the
    model's call: micrograd's MLP returns the one output, deltagrad's a list of one)."""
    X, y = moons(n)
    rows, labels = X.tolist(), y.tolist()

    def step():
        inputs = [list(map(Value, row)) for row in rows]
        scores = [score(model, x) for x in inputs]
        losses = [(1 + -yi * si).relu() for yi, si in zip(labels, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        return demo_update(model, data_loss)
    return step


def demo_update(model, data_loss):
    """The rest of micrograd's demo step, its lines as it writes them: the L2 term, backward and the
    SGD update (shared by the eager loop above and W7's batched port of it)."""
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    loss = data_loss + reg_loss
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= LR * p.grad
    return loss


def deltagrad_step(n: int, mode: str, pause_gc: bool = True):
    """One training step in ``mode``: "eager", "fused", "batched" (fused model, one graph for every
    point) or "batched-unfused". The same hinge + L2 loss in each."""
    from autodiff import Value, neuron, no_cycle_gc
    from autodiff.batched import batch, batch_columns, mean
    from nn.layers import MLP

    model = MLP(2, [16, 16, 1], rng=1, fused=mode in ("fused", "batched"))
    params = model.parameters()
    X, y = moons(n)
    rows, labels = X.tolist(), y.tolist()

    def loss_eager():
        total = None
        for row, label in zip(rows, labels, strict=True):
            term = (1 + -label * model([Value(v) for v in row])[0]).relu()   # as micrograd's demo
            total = term if total is None else total + term
        return total * (1.0 / len(rows))

    def loss_batched():
        return mean((1 + -batch(y) * model(batch_columns(X))[0]).relu())

    def l2():
        if mode == "eager" or mode == "batched-unfused":
            reg = params[0] * params[0]
            for p in params[1:]:
                reg = reg + p * p
            return reg
        return neuron(params, params, 0.0)   # Σ p·p as one node

    data_loss = loss_eager if mode in ("eager", "fused") else loss_batched

    def step():
        loss = data_loss() + ALPHA * l2()
        for p in params:
            p.grad = 0.0
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
        return loss

    def paused():
        with no_cycle_gc():
            return step()
    return paused if pause_gc else step


def count_nodes(loss) -> int:
    from autodiff import topological_order
    try:
        return len(topological_order(loss))
    except TypeError:  # a micrograd Value: its own traversal (recursive, fine at this depth)
        seen, stack = set(), [loss]
        while stack:
            v = stack.pop()
            if v not in seen:
                seen.add(v)
                stack.extend(v._prev)
        return len(seen)


def run(size: str) -> list[Table]:
    n, rounds = SIZES[size]
    contenders = {}
    if import_micrograd() is not None:
        contenders["micrograd 0.1.0"] = micrograd_step(n)
    contenders |= {
        "deltagrad eager, cyclic GC on": deltagrad_step(n, "eager", pause_gc=False),
        "deltagrad eager": deltagrad_step(n, "eager"),
        "deltagrad fused": deltagrad_step(n, "fused"),
        "deltagrad batched, unfused": deltagrad_step(n, "batched-unfused"),
        "deltagrad batched (fused)": deltagrad_step(n, "batched"),
    }
    timings = time_per_call(contenders, rounds, BLOCK_SECONDS[size])
    table = Table(f"W1: micrograd's demo, one training step, the benchmark's own shape ({n} points, "
                  f"median of {rounds} rounds; W7 has the step as users write it)",
                  ["contender", "time per step (median, range)", "vs micrograd", "nodes per step",
                   "peak memory of a step"])
    reference = timings["micrograd 0.1.0"].median if "micrograd 0.1.0" in timings else None
    for name, step in contenders.items():
        gc.collect()
        nodes = count_nodes(step())
        memory = peak_memory(step)
        table.rows.append([name, timings[name].cell(), ratio(reference, timings[name].median),
                           f"{nodes:,}", fmt_bytes(memory)])
        table.values[(name, table.header[1])] = timings[name].median
        if reference is not None:
            table.values[(name, "vs micrograd")] = reference / timings[name].median
    if reference is None:
        table.notes.append("micrograd is not installed (pip install micrograd==0.1.0): no ratios")
    table.notes += [
        "Each step: forward over every point, loss = mean hinge + 1e-4 Σ p², zero grads, backward, SGD.",
        "deltagrad rows run a step inside `no_cycle_gc()` (our graphs hold no cycles; refcounting "
        "frees them), except the row that says otherwise; micrograd runs as its users run it.",
        "GC paused against GC on (the two eager rows): the engine holds the collector back while a "
        "graph is built, so pausing it as well saves little. "
        + order_note("GC paused", timings["deltagrad eager"].times,
                     "GC on", timings["deltagrad eager, cyclic GC on"].times),
        "fused: `MLP(..., fused=True)`, each z = Σ w x + b one node; the L2 term Σ p·p is one node too. "
        "batched: the same model called once on `batch_columns(X)`, loss reduced with `batched.mean`.",
    ]
    return [table]


if __name__ == "__main__":
    cli(run, __doc__)
