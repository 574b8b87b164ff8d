"""W6, model files: `Module.save` and `Module.load` of a 200,000-parameter MLP (issue 18: each in
under 5 s; loading was quadratic, 162,610 parameters had not loaded after 11 minutes).
"""

from __future__ import annotations

import os
import tempfile
import time

from _common import BLOCK_SECONDS, Table, cli, fmt_bytes, time_per_call

# MLP(2, [w, w, 1]) has 3w + (w + 1) w + (w + 1) parameters: w = 445 gives 200,251.
SIZES = {"tiny": (20, 2), "quick": (445, 3), "full": (445, 5)}   # hidden width, rounds
TARGET_SECONDS = 5.0


def run(size: str) -> list[Table]:
    import nn

    width, rounds = SIZES[size]
    model = nn.MLP(2, [width, width, 1], rng=0)
    other = nn.MLP(2, [width, width, 1], rng=1)
    count = len(model.parameters())
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.json")
        timings = time_per_call({"save": lambda: model.save(path), "load": lambda: other.load(path)},
                                rounds, BLOCK_SECONDS[size], clock=time.perf_counter)
        # saves first: each load reads the last save; wall-clock time, what a user waits (fsync included)
        save, load = timings["save"], timings["load"]
        file_size = os.path.getsize(path)
    assert [p.data for p in other.parameters()] == [p.data for p in model.parameters()]
    table = Table(f"W6: saving and loading a model of {count:,} parameters ({fmt_bytes(file_size)} of JSON)",
                  ["operation", "deltagrad", "target", "met"])
    for name, timing in (("Module.save", save), ("Module.load", load)):
        table.rows.append([name, timing.cell(), f"< {TARGET_SECONDS:g} s",
                           "yes" if timing.median < TARGET_SECONDS else "no"])
    table.notes.append(f"`MLP(2, [{width}, {width}, 1])`, median of {rounds} alternating rounds; "
                       "wall-clock time (time.perf_counter), what a user waits, save's wait for the disk "
                       "(fsync) included; "
                       "save writes atomically (temporary file, fsync, rename); the load is checked "
                       "bit-identical.")
    return [table]


if __name__ == "__main__":
    cli(run, __doc__)
