"""`no_cycle_gc` across threads and nesting (issue 18, item 7): the collector stays paused while any
block is inside, comes back when the last one leaves, and only if it was on to begin with."""

from __future__ import annotations

import gc
import random
import threading

import pytest

from autodiff import Value, no_cycle_gc


@pytest.fixture(autouse=True)
def gc_restored():
    was, thresholds = gc.isenabled(), gc.get_threshold()
    Value(0.0).backward()   # any backward ends a graph-building hold left by another test
    gc.enable()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*thresholds)
    (gc.enable if was else gc.disable)()


def _in_thread(entered: threading.Event, leave: threading.Event) -> threading.Thread:
    def hold():
        with no_cycle_gc():
            entered.set()
            leave.wait(30)
    t = threading.Thread(target=hold)
    t.start()
    assert entered.wait(30)
    return t


def test_first_in_first_out_keeps_the_pause_for_the_other():
    a_in, a_out, b_in, b_out = (threading.Event() for _ in range(4))
    a = _in_thread(a_in, a_out)
    b = _in_thread(b_in, b_out)
    assert not gc.isenabled()
    a_out.set(); a.join(30)
    assert not gc.isenabled()        # B is still inside: the pause holds (the old code switched it on)
    b_out.set(); b.join(30)
    assert gc.isenabled()            # the last one out switches it back on


def test_last_in_first_out_and_nesting():
    a_in, a_out, b_in, b_out = (threading.Event() for _ in range(4))
    a = _in_thread(a_in, a_out)
    b = _in_thread(b_in, b_out)      # B saw the collector off: it must not decide what is restored
    b_out.set(); b.join(30)
    assert not gc.isenabled()
    with no_cycle_gc():
        with no_cycle_gc():
            pass
        assert not gc.isenabled()
    a_out.set(); a.join(30)
    assert gc.isenabled()


def test_off_before_stays_off():
    gc.disable()
    with no_cycle_gc():
        pass
    assert not gc.isenabled()
    a_in, a_out = threading.Event(), threading.Event()
    a = _in_thread(a_in, a_out)
    a_out.set(); a.join(30)
    assert not gc.isenabled()


def test_many_threads_training_leave_the_collector_on_at_its_threshold():
    """Threads that build graphs (each taking the building hold) and run backward (each pausing the
    collector), some also inside `no_cycle_gc`: the collector ends on, at the threshold it had."""
    rng = random.Random(0)
    barrier = threading.Barrier(8)
    errors = []

    def work(seed: int):
        r = random.Random(seed)
        try:
            barrier.wait(30)
            for _ in range(200):
                x = Value(r.uniform(-1, 1))
                (x * x + x).tanh().backward()   # backward pauses the collector itself
                if r.random() < 0.3:
                    with no_cycle_gc():
                        assert not gc.isenabled()
        except Exception as e:  # reported below, from the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(rng.random(),)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert gc.isenabled() and gc.get_threshold() == (700, 10, 10)
