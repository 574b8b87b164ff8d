"""`autodiff.engine.free_iteratively`: a dropped graph is freed one node at a time (the playground's
answer to WebAssembly's small stack), checked in CPython, in a subprocess, in a thread of 64 KiB stack."""

from __future__ import annotations

import subprocess
import sys

from autodiff import Value, engine

_CHILD = """
import gc, sys, threading
from autodiff import Value, engine
engine.free_iteratively({on})
depth = deepest = 0
release = Value.__dict__.get("__del__")

def counted(node):   # how deeply the __del__ calls nest while a chain is freed
    global depth, deepest
    depth += 1
    deepest = max(deepest, depth)
    try:
        release(node)
    finally:
        depth -= 1

if release is not None:
    Value.__del__ = counted

def run():
    x = Value(1.0)
    y = x
    for _ in range(200_000):
        y = y * 1.0001
    del y
    print(deepest, sum(type(o) is Value for o in gc.get_objects()), len(engine._orphans))

threading.stack_size(64 * 1024)
thread = threading.Thread(target=run)
thread.start()
thread.join()
"""


def _free_a_chain(on: bool) -> list[int]:
    out = subprocess.run([sys.executable, "-c", _CHILD.format(on=on)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return [int(w) for w in out.stdout.split()]


def test_a_chain_of_200000_is_freed_one_node_at_a_time():
    deepest, alive, waiting = _free_a_chain(True)
    assert deepest <= 2          # a freed node's parents are let go by the outermost call's loop
    assert alive == 1 and waiting == 0   # only x is left, nothing waits to be let go


def test_switched_off_value_has_no_finalizer():
    engine.free_iteratively()
    try:
        assert "__del__" in Value.__dict__
    finally:
        engine.free_iteratively(False)
    assert "__del__" not in Value.__dict__
    _, alive, waiting = _free_a_chain(False)   # no finalizer installed, so no depth to count
    assert alive == 1 and waiting == 0         # freed by CPython's own bounded nesting, all but x


def test_a_graph_freed_node_by_node_keeps_what_is_still_held():
    engine.free_iteratively()
    try:
        x = Value(2.0)
        kept = x * 3.0
        y = (kept + x).tanh()
        del y                      # y and the add are freed; kept, and x through it, stay whole
        assert kept.parents[0] is x and kept.data == 6.0
        kept.backward()
        assert x.grad == 3.0
    finally:
        engine.free_iteratively(False)
