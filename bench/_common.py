"""Shared pieces of the benchmark scripts: the one timing method, tables, the W1 data, the closed-form
contender, peer imports.

Every script is runnable alone (``python bench/w1_micrograd_demo.py --tiny``) and exposes
``run(size) -> list[Table]`` for `run_all.py`, which writes docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as `python bench/x.py` from a checkout without installing
    sys.path.insert(0, ROOT)

SIZES = ("tiny", "quick", "full")


@dataclass
class Table:
    """One markdown table: ``rows`` of cells under ``header``, and notes printed below it. ``values``
    holds, by (a row's first cell, a column's header), the unrounded figure a cell prints, for the
    targets tables of run_all.py, which quote the cell and judge the figure (never printed)."""
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    values: dict[tuple[str, str], float] = field(default_factory=dict)

    def figure(self, first: str, column: str) -> tuple[str, float] | None:
        """The cell of the row whose first cell is ``first`` in ``column``, as printed, and the unrounded
        figure it prints; None without that row or figure."""
        row = next((r for r in self.rows if r[0] == first), None)
        if row is None or (first, column) not in self.values:
            return None
        return row[self.header.index(column)], self.values[(first, column)]

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.header) + " |",
                 "|" + "|".join("---" for _ in self.header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


@dataclass
class Timing:
    """Seconds per call of one contender: one figure per round (a block's time over its calls)."""
    times: list[float]
    calls: int = 1

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def cell(self) -> str:
        """``12.3 ms (11.9–13.0)``: median and range."""
        return f"{fmt_time(self.median)} ({fmt_time(min(self.times))}–{fmt_time(max(self.times))})"


def fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            return f"{seconds / scale:.3g} {unit}"
    raise AssertionError


def ratio(reference: float | None, seconds: float) -> str:
    """How many times faster than the reference (micrograd in the same run)."""
    if reference is None:
        return "n/a"
    r = reference / seconds
    return f"{r:.3g}×" if r < 100 else f"{r:,.0f}×"


# The one timing method of every workload (docs/benchmarks.md's header says it): in each round each
# contender runs a block of calls lasting at least BLOCK_SECONDS of CPU time, the number of calls
# fixed per contender after its warm-up (`warm_up`), so a 50 µs step is timed over hundreds of calls
# in a row and not once, cold, after another contender's 1.5 s step; a call's time is the block's
# over its calls; the rounds alternate the contenders and each figure is the median over rounds. CPU
# time of the process (time.process_time, the cyclic GC's passes included): on a shared machine
# wall-clock time mostly measures the other processes, and with BLAS limited to one thread CPU time
# is the step's own.
BLOCK_SECONDS = {"tiny": 0.002, "quick": 0.02, "full": 0.02}
WARMUP_CALLS = 8
clock = time.process_time


def _block(step: Callable[[], object], calls: int, clock: Callable[[], float] = clock) -> float:
    t0 = clock()
    for _ in range(calls):
        step()
    return clock() - t0


def warm_up(step: Callable[[], object], block: float, clock: Callable[[], float] = clock) -> float:
    """Untimed calls of ``step`` before it is measured: up to WARMUP_CALLS, stopping once they have
    taken 10 blocks of CPU time; returns the last call's seconds. More than one, as CPython's
    specializing interpreter (PEP 659) adapts a function's code only once it has run a few times: a
    compiled straight-line program (W7) ran its first 5 calls 4× slower than the rest."""
    spent, calls = 0.0, 0
    while calls < WARMUP_CALLS and spent < 10 * block:
        last = _block(step, 1, clock)
        spent, calls = spent + last, calls + 1
    return last


def calls_per_block(step: Callable[[], object], block: float, warmup: bool = True,
                    clock: Callable[[], float] = clock) -> int:
    """The number of calls of ``step`` that fill ``block`` seconds of CPU time, after `warm_up` (none if
    ``warmup`` is False: then one call per block, for steps of several seconds); if a warm call alone
    took twice ``block``, one call; else a call's time is measured over blocks that grow until one lasts
    ``block`` / 4, then scaled up, with a quarter to spare (the first of them the warm-up's last call)."""
    if not warmup:
        return 1
    last = warm_up(step, block, clock)
    if last >= 2 * block:
        return 1
    calls, seconds = 1, last
    while seconds < block / 4:
        calls *= 4
        seconds = _block(step, calls, clock)
    return max(1, math.ceil(1.25 * block * calls / seconds)) if seconds < block else 1


def collect_owed(clock: Callable[[], float] = clock) -> float:
    """Between two blocks, untimed: a full collection of the cyclic garbage the block just run left
    (micrograd's graphs are cycles, a node's closure pointing back at it; deltagrad's graphs hold none),
    so the next contender's collections do not pay for it. Returns what collecting that garbage cost,
    for the block that left it: the pass that found it less a second pass over the same live objects
    (0.0 when the first found none)."""
    t0 = clock()
    found = gc.collect()
    t1 = clock()
    if not found:
        return 0.0
    gc.collect()
    return max(0.0, (t1 - t0) - (clock() - t1))


def time_per_call(contenders: dict[str, Callable[[], object]], rounds: int, block: float,
                  warmup: bool = True, clock: Callable[[], float] = clock) -> dict[str, Timing]:
    """Seconds per call of each of ``contenders`` (name -> step), by the method above: ``rounds``
    alternating rounds of a block of at least ``block`` seconds per contender. ``warmup`` False skips
    the untimed first call and makes a call its own block (for steps of several seconds). The cyclic
    GC is left as each step leaves it: each contender runs the way its users run it; the cyclic garbage
    a block leaves is collected after it (`collect_owed`) and charged to it, never to the contender
    whose collection would otherwise have met it (W1's GC-paused eager row paid micrograd's, ~0.6 s, in
    some rounds). ``clock`` is CPU time unless a workload times what a user waits for (W6's saves wait on
    fsync: time.perf_counter)."""
    calls = {name: calls_per_block(step, block, warmup, clock) for name, step in contenders.items()}
    collect_owed(clock)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, step in contenders.items():
            spent = _block(step, calls[name], clock) + collect_owed(clock)
            times[name].append(spent / calls[name])
    return {name: Timing(t, calls[name]) for name, t in times.items()}


class Split:
    """A step made of named parts run one after the other, each part timed inside the step: the parts'
    figures come from the very calls the whole step's figure comes from, so a part is never reported
    above its whole. Time it as any step (`time_per_call`), then read `part_times`."""

    def __init__(self, parts: dict[str, Callable[[], object]], clock: Callable[[], float] = clock):
        self.parts, self.clock = parts, clock
        self.log: list[list[float]] = []   # per call, each part's seconds

    def __call__(self) -> None:
        now = self.clock()
        spent = []
        for part in self.parts.values():
            part()
            then = self.clock()
            spent.append(then - now)
            now = then
        self.log.append(spent)

    def part_times(self, timing: Timing) -> dict[str, list[float]]:
        """Each part's seconds per call in each round of ``timing`` (this step's, from `time_per_call`):
        the mean over that round's block. The timed calls are the log's last rounds × calls entries,
        a block's calls in a row; in each round a part's figure is at most the whole step's, so its
        median is too."""
        k, rounds = timing.calls, len(timing.times)
        timed = self.log[len(self.log) - k * rounds:]
        return {name: [sum(call[i] for call in timed[r * k:(r + 1) * k]) / k for r in range(rounds)]
                for i, name in enumerate(self.parts)}


def order_note(first: str, a: list[float], second: str, b: list[float]) -> str:
    """Whether a run settles which of two contenders is faster: in how many of the alternating rounds
    (``a`` and ``b``, seconds per call in each) each was; a split says their order is within the
    spread between rounds and may invert in another run."""
    n = len(a)
    k = sum(x < y for x, y in zip(a, b, strict=True))
    if k in (0, n):
        return f"{first if k == n else second} was faster in each of the {n} rounds."
    return (f"{first} was faster in {k} of the {n} rounds and {second} in {n - k}: their order is within "
            "the spread between rounds, and another run may invert it.")


def peak_memory(step: Callable[[], object]) -> int:
    """Peak bytes allocated (tracemalloc) while ``step`` runs, above what was live before."""
    import tracemalloc
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        step()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def fmt_bytes(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def import_micrograd():
    """micrograd 0.1.0 (the `bench` extra), or None when it is not installed."""
    try:
        import micrograd.engine
        import micrograd.nn
        return micrograd
    except ImportError:
        return None


def import_torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


def moons(n: int):
    """W1's data: two moons, noise 0.1, seed 1; labels ±1 (the hinge loss wants them)."""
    from nn.data import make_moons
    X, y = make_moons(n, 0.1, rng=1)
    return X, 2.0 * y - 1.0



# W1's loss and optimizer: hinge + ALPHA Σ p² (micrograd's demo's 1e-4 L2), SGD at learning rate LR.
ALPHA, LR = 1e-4, 0.05


def initial_weights(sizes=(2, 16, 16, 1)) -> list[tuple[np.ndarray, np.ndarray]]:
    """deltagrad's MLP(2, [16, 16, 1], rng=1) weights as (W of shape (n_in, n_out), b) per layer, so
    every anchor starts from the same point."""
    from nn.layers import MLP
    model = MLP(sizes[0], list(sizes[1:]), rng=1)
    return [(np.array([[n.w[k].data for n in layer.neurons] for k in range(layer.nin)]),
             np.array([n.b.data for n in layer.neurons])) for layer in model.layers]


def closed_form_step(X: np.ndarray, y: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]],
                     lr: float = LR) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
    """One step of the closed-form pass; returns the loss and the gradients (the update is in place).

        Z_l = A_{l-1} W_l + b_l,  A_l = relu(Z_l) (identity for the last layer),  s = Z_L
        loss = (1/N) Σ_i max(0, 1 − y_i s_i) + α Σ W² + α Σ b²
        δ_L = −y [1 − y s > 0] / N;  δ_l = (δ_{l+1} W_{l+1}ᵀ) ⊙ [Z_l > 0]
        ∂loss/∂W_l = A_{l-1}ᵀ δ_l + 2α W_l;  ∂loss/∂b_l = Σ_i δ_l + 2α b_l
    """
    acts, zs = [X], []
    for i, (W, b) in enumerate(layers):
        z = acts[-1] @ W + b
        zs.append(z)
        acts.append(np.maximum(z, 0.0) if i < len(layers) - 1 else z)
    s = acts[-1][:, 0]
    margin = 1.0 - y * s
    loss = np.maximum(margin, 0.0).mean() + ALPHA * sum((W * W).sum() + (b * b).sum() for W, b in layers)
    delta = (-y * (margin > 0) / len(y))[:, None]
    grads = []
    for i in range(len(layers) - 1, -1, -1):
        W, b = layers[i]
        grads.append((acts[i].T @ delta + 2 * ALPHA * W, delta.sum(axis=0) + 2 * ALPHA * b))
        if i:
            delta = (delta @ W.T) * (zs[i - 1] > 0)
    grads.reverse()
    for (W, b), (dW, db) in zip(layers, grads, strict=True):
        W -= lr * dW
        b -= lr * db
    return float(loss), grads


def closed_form(points: int, hidden: int = 16) -> Callable[[], object]:
    """The closed-form contender of every workload: `closed_form_step` on ``points`` moons points,
    MLP(2, [hidden, hidden, 1]) from deltagrad's rng=1 weights, updated in place at each call."""
    X, y = moons(points)
    layers = initial_weights((2, hidden, hidden, 1))
    return lambda: closed_form_step(X, y, layers, lr=LR)


_BLAS_LIMITS: list = []   # the threadpool_limits(1) in force: its restore_original_limits() undoes it


def limit_blas_threads() -> None:
    """numpy's BLAS at one thread for the rest of the process (threadpoolctl): on a busy machine its
    threads spin for cores they share and small products take dozens of times longer (W8c). Called
    again, it keeps the first limit (whose originals are numpy's own)."""
    from threadpoolctl import threadpool_limits
    if not _BLAS_LIMITS:
        _BLAS_LIMITS.append(threadpool_limits(1))


@contextmanager
def blas_threads_unlimited() -> Iterator[None]:
    """Inside the block, numpy's BLAS with the threads it had before `limit_blas_threads` (its own
    count: OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, CPU affinity); limited to one again after it."""
    if not _BLAS_LIMITS:   # never limited: nothing to undo
        yield
        return
    limits = _BLAS_LIMITS.pop()
    limits.restore_original_limits()
    try:
        yield
    finally:
        limit_blas_threads()


def not_judged(size: str) -> str:
    """The verdict of every target in a reduced run (``size`` "tiny" or "quick"): its targets and the
    reasons for a miss are set for the full run's sizes."""
    return f"not judged (a --{size} run)"


def cli(run: Callable[[str], list[Table]], doc: str) -> None:
    """``--tiny`` (seconds, for tests), ``--quick`` (a smaller run), default the full workload."""
    parser = argparse.ArgumentParser(description=doc)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--tiny", action="store_true", help="tiny sizes: checks that the script runs")
    group.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    args = parser.parse_args()
    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    limit_blas_threads()
    for table in run(size):
        print(table.markdown())
