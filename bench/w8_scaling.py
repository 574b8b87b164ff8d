"""W8, scaling (issue 17): the eager cost per node from 1,000 to 1,000,000 nodes, and batched mode
against the closed-form numpy pass from 100 to 100,000 points and from 16 to 256 hidden units, each
as a ratio measured in the same run.

Timed by the method of every workload (bench/_common.py), the cyclic GC on as users leave it. BLAS
is limited to one thread (threadpoolctl) for every figure but the one that shows why: on a busy
machine numpy's BLAS threads, each spinning for a core it has to share, make small matrix products
dozens of times slower (W8c).
"""

from __future__ import annotations

import statistics
import time

from _common import (
    ALPHA,
    BLOCK_SECONDS,
    LR,
    Table,
    blas_threads_unlimited,
    cli,
    closed_form,
    fmt_time,
    limit_blas_threads,
    moons,
    time_per_call,
)

# (nodes for W8a, points for W8b, hidden widths for W8c, rounds, rounds of W8a's largest graph). W8b
# runs at the first width and W8c at the first point count: that step is one contender of both tables.
SIZES = {"tiny": ([1_000, 3_000], [20, 60], [16, 32], 2, 1),
         "quick": ([1_000, 10_000, 100_000], [100, 1_000, 10_000], [16, 64], 4, 1),
         "full": ([1_000, 10_000, 100_000, 1_000_000], [100, 1_000, 10_000, 100_000],
                  [16, 32, 64, 128, 256], 9, 2)}


def _median_cpu(contenders: dict, rounds: int, size: str) -> dict[str, float]:
    """Median CPU seconds per call of each contender (`time_per_call`)."""
    return {name: t.median for name, t in time_per_call(contenders, rounds, BLOCK_SECONDS[size]).items()}


def chain_step(nodes: int):
    """Build x = tanh(x · 1.0001 + 0.0001), one link per three of ``nodes`` (each link is five nodes
    counting its two constants); backward. Returns (step, the graph's counted nodes)."""
    from autodiff import Value

    def graph():
        x = x0 = Value(0.5)
        for _ in range(nodes // 3):
            x = (x * 1.0001 + 0.0001).tanh()
        return x0, x

    def step():
        x0, x = graph()
        x.backward()
        return x0.grad
    return step, _count(graph()[1])


def _count(root) -> int:
    """The nodes of ``root``'s graph (constants included), counted once per size."""
    from autodiff import topological_order
    return len(topological_order(root))


def mlp_step(nodes: int):
    """The README's eager training step (MLP(2, [16, 16, 1]), hinge + L2, SGD) over n/660 moons
    points (at least one). Returns (step, the graph's counted nodes)."""
    import nn
    points = max(1, round(nodes / 660))
    X, y = moons(points)
    rows, labels = X.tolist(), y.tolist()
    model = nn.MLP(2, [16, 16, 1], rng=1)
    opt = nn.SGD(model.parameters(), lr=LR)

    def loss():
        scores = [model(x)[0] for x in rows]
        return (nn.mean([nn.hinge(s, t) for s, t in zip(scores, labels, strict=True)])
                + nn.l2(model.weights(), 2 * ALPHA))

    def step():
        out = loss()
        opt.zero_grad()
        out.backward()
        opt.step()
    return step, _count(loss())


def batched_step(points: int, hidden: int):
    """The README's batched training step on ``points`` moons points, MLP(2, [hidden, hidden, 1])."""
    import nn
    from autodiff.batched import batch, batch_columns
    X, y = moons(points)
    model = nn.MLP(2, [hidden, hidden, 1], rng=1, fused=True)
    opt = nn.SGD(model.parameters(), lr=LR)
    xs, labels = batch_columns(X), batch(y)

    def step():
        loss = nn.mean(nn.hinge(model(xs), [labels])) + nn.l2(model.weights(), 2 * ALPHA)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def per_node(size: str) -> Table:
    node_counts, _, _, rounds, few = SIZES[size]
    base = next((i for i, n in enumerate(node_counts) if n >= 10_000), 0)
    table = Table("W8a: eager cost per node as the graph grows (build + backward + update, CPU time, "
                  "cyclic GC on)", ["graph", *[f"n = {n:,}" for n in node_counts],
                                    f"per node at n = {node_counts[-1]:,} / at {node_counts[base]:,}",
                                    "per node, max / min"])
    for name, make in [("chain x = tanh(1.0001 x + 0.0001), n/3 links", chain_step),
                       ("README loop, MLP(2, [16, 16, 1]) over n/660 points", mlp_step)]:
        cells, costs = [], []
        for n in node_counts:
            step, nodes = make(n)
            t = _median_cpu({"step": step}, min(rounds, 5) if n < 1_000_000 else few, size)["step"]
            costs.append(t / nodes)
            cells.append(f"{fmt_time(t / nodes)} ({fmt_time(t)}, {nodes:,} nodes)")
        table.rows.append([name, *cells, f"{costs[-1] / costs[base]:.2f}×",
                           f"{max(costs) / min(costs):.2f}×"])
    table.notes += [
        "Each cell: time per node (the whole step's time, the graph's nodes counted with "
        "`autodiff.topological_order`, constants included); n is the nominal size. The ratio columns are "
        f"the per-node cost at the largest graph over that at n = {node_counts[base]:,}, and the largest "
        "per-node cost over the smallest, measured in this run: 1.00× is linear scaling.",
        "The smallest graphs pay fixed costs per step (the optimizer, the walk's set-up). Past "
        "`autodiff.engine.GC_HOLD_OBJECTS` (100,000) objects, from n = 100,000 up, the cyclic collector "
        "runs again while the graph is built, every 100,000 objects and fully as the graph grows: the "
        "per-node cost there rises over the 10,000 column (the first ratio column), a cost the hold "
        "bounds rather than removes.",
        f"Median of {min(rounds, 5)} rounds ({few} at 1,000,000 nodes).",
    ]
    return table


def batched_scaling(size: str) -> tuple[Table, Table]:
    """W8b (points) and W8c (widths), measured together: every contender of both tables in the same
    alternating rounds, so a change of the machine's load between tables cannot set one table's figures
    against another's, and the step both tables hold (the first point count at the first width) is
    measured once and printed in both. W8b also holds W1's special shape (`deltagrad_step`, 16 hidden
    units), against the same closed-form figure."""
    from w1_micrograd_demo import deltagrad_step
    _, point_counts, widths, rounds, _ = SIZES[size]
    p0, h0 = point_counts[0], widths[0]
    configs = [(p, h0) for p in point_counts] + [(p0, h) for h in widths[1:]]
    contenders = {}
    for p, h in configs:   # BLAS at one thread: limited up front (run_all, cli)
        contenders[("closed", p, h)] = closed_form(p, h)
        contenders[("ours", p, h)] = batched_step(p, h)
        if h == 16:
            contenders[("W1", p, h)] = deltagrad_step(p, "batched")
    med = _median_cpu(contenders, rounds, size)
    column = "× the closed-form time"
    points = Table(f"W8b: batched README loop against the closed-form numpy pass as the data set grows "
                   f"(MLP(2, [{h0}, {h0}, 1]), BLAS at one thread, CPU time, median of {rounds} rounds "
                   "shared with W8c)",
                   ["points", "closed form", "deltagrad batched", column,
                    "batched, W1's shape", "W1's shape, × the closed-form time"])
    for p in point_counts:
        closed, ours, special = med[("closed", p, h0)], med[("ours", p, h0)], med.get(("W1", p, h0))
        points.rows.append([f"{p:,}", fmt_time(closed), fmt_time(ours), f"{ours / closed:,.2f}×",
                            fmt_time(special) if special else "n/a",
                            f"{special / closed:,.2f}×" if special else "n/a"])
        points.values[(f"{p:,}", column)] = ours / closed
    points.notes += [
        "What is left over the closed form is fixed Python work per node and per parameter (the walk, "
        "one numpy call per activation, the optimizer), which dominates at the smallest batch and fades "
        "as the batch grows.",
        "W1's shape: W1's 'deltagrad batched (fused)' step (GC paused, the L2 term one fused node, its "
        "own loop), not the README's, against the same closed-form figure.",
        f"Every contender of W8b and W8c runs in the same alternating rounds; the {p0:,}-point row here "
        f"and W8c's {h0}-unit row are one measurement, printed in both tables.",
    ]
    wide = Table(f"W8c: batched README loop against the closed-form pass as the hidden layers widen "
                 f"(MLP(2, [h, h, 1]), {p0:,} points, CPU time, the rounds of W8b)",
                 ["hidden units h", "parameters", "closed form", "deltagrad batched", column])
    for h in widths:
        closed, ours = med[("closed", p0, h)], med[("ours", p0, h)]
        wide.rows.append([str(h), f"{2 * h + h * h + 2 * h + h + 1:,}", fmt_time(closed), fmt_time(ours),
                          f"{ours / closed:,.2f}×"])
        wide.values[(str(h), column)] = ours / closed
    # Why BLAS is limited: the same closed-form step with numpy's own thread count, right after the
    # rounds above (not among them: numpy's threads keep spinning a while after a product, in this
    # process's CPU time, and would be counted in the next contender's block).
    big = max(p for p in point_counts if p <= 10_000)
    with blas_threads_unlimited():
        threaded = _median_cpu({"closed": closed_form(big, h0)}, rounds, size)["closed"]
        wall = _wall(closed_form(big, h0), rounds)
    wide.notes += [
        "BLAS at one thread (threadpoolctl) in every row. Why: the closed-form step at "
        f"{big:,} points takes {fmt_time(med[('closed', big, h0)])} of CPU with one BLAS thread (W8b's "
        f"row), and {fmt_time(threaded)} of CPU ({fmt_time(wall)} wall-clock) with the threads numpy "
        "starts by itself (its own count: one per core unless OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or "
        "the CPU affinity say otherwise), measured right after W8b's rounds; on a busy machine those "
        "threads spin for cores they share, and a small product can take dozens of times longer (330 ms "
        "instead of 1.5 ms was seen at 10,000 points on 2 loaded cores). Limit them in your own batched "
        "training: `from threadpoolctl import threadpool_limits; threadpool_limits(1)` (deltagrad's "
        "batched mode limits its own big products: `autodiff.primitives.BLAS_THREADS`).",
    ]
    return points, wide


def _wall(step, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(size: str) -> list[Table]:
    limit_blas_threads()   # W8b and W8c at one BLAS thread (kept if run_all or cli limited it first)
    return [per_node(size), *batched_scaling(size)]


if __name__ == "__main__":
    cli(run, __doc__)
