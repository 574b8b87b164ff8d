"""Shared pieces of the benchmark scripts: timing, tables, the W1 data and models, peer imports.

Every script is runnable alone (``python bench/w1_micrograd_demo.py --tiny``) and exposes
``run(size) -> list[Table]`` for `run_all.py`, which writes docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as `python bench/x.py` from a checkout without installing
    sys.path.insert(0, ROOT)

SIZES = ("tiny", "quick", "full")


@dataclass
class Table:
    """One markdown table: ``rows`` of cells under ``header``, and notes printed below it."""
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.header) + " |",
                 "|" + "|".join("---" for _ in self.header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


@dataclass
class Timing:
    """Wall-clock seconds of repeated runs."""
    times: list[float]

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


def measure(step: Callable[[], object], repeats: int, warmup: int = 1) -> Timing:
    """Time ``step`` ``repeats`` times after ``warmup`` untimed runs; the cyclic GC is left as the
    step leaves it (each contender runs the way its users run it)."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return Timing(times)


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


def cli(run: Callable[[str], list[Table]], doc: str) -> None:
    """``--tiny`` (seconds, for tests), ``--quick`` (a smaller run), default the full workload."""
    parser = argparse.ArgumentParser(description=doc)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--tiny", action="store_true", help="tiny sizes: checks that the script runs")
    group.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    args = parser.parse_args()
    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    for table in run(size):
        print(table.markdown())
