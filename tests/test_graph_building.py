"""Graph building with the cyclic GC on (issue 17): a graph being built raises the collector's first
threshold until the next backward() (so building costs what it costs with the GC off, and the
collector still runs past a bound), and `neuron_chain` makes the unfused neuron's nodes in one loop,
the same nodes and numbers as the operators."""

from __future__ import annotations

import gc
import random
import subprocess
import sys
import threading

import numpy as np
import pytest

import autodiff
import nn
from autodiff import Value, engine
from autodiff.batched import batch_columns
from autodiff.engine import neuron_chain, neuron_chains
from nn.data import make_moons

pytestmark = pytest.mark.usefixtures("gc_as_python_leaves_it")   # tests/conftest.py


class Collections:
    """Counts the cyclic collector's passes while active."""

    def __init__(self):
        self.count = 0

    def __call__(self, phase, info):
        self.count += phase == "start"

    def __enter__(self):
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self)


def _readme_loss(model, rows, labels):
    scores = [model(x)[0] for x in rows]
    data = nn.mean([nn.hinge(s, t) for s, t in zip(scores, labels, strict=True)])
    return data + nn.l2(model.weights(), 1e-4)


def _moons(n):
    X, y = make_moons(n, 0.1, rng=1)
    return X.tolist(), (2 * y - 1).tolist()


def test_building_a_graph_sets_off_no_collection_and_backward_restores_the_threshold():
    model = nn.MLP(2, [16, 16, 1], rng=0)
    rows, labels = _moons(40)       # ~26,000 nodes: ~37 collections at the default threshold
    with Collections() as passes:
        loss = _readme_loss(model, rows, labels)
    assert passes.count == 0
    assert gc.get_threshold()[0] == engine.GC_HOLD_OBJECTS and gc.isenabled()
    loss.backward()
    assert gc.get_threshold() == (700, 10, 10)
    with Collections() as passes:   # the collector is back: the next objects set it off as usual
        kept = [[] for _ in range(800)]
    assert len(kept) == 800
    assert passes.count >= 1


def test_without_the_hold_the_same_graph_sets_off_collections(monkeypatch):
    # What the test above would see without the hold (so that it can fail): the bound set below
    # Python's threshold is never taken.
    monkeypatch.setattr(engine, "GC_HOLD_OBJECTS", 1)
    model = nn.MLP(2, [16, 16, 1], rng=0)
    rows, labels = _moons(40)
    with Collections() as passes:
        _readme_loss(model, rows, labels)
    assert passes.count > 20


def test_the_collector_still_runs_past_the_bound(monkeypatch):
    monkeypatch.setattr(engine, "GC_HOLD_OBJECTS", 5_000)
    model = nn.MLP(2, [16, 16, 1], rng=0)
    rows, labels = _moons(40)
    with Collections() as passes:
        loss = _readme_loss(model, rows, labels)
    assert 2 <= passes.count <= 10   # every 5,000 objects, not every 700
    loss.backward()
    assert gc.get_threshold()[0] == 700


def test_a_threshold_the_user_sets_meanwhile_is_kept():
    x = Value(2.0)
    y = x * x
    assert gc.get_threshold()[0] == engine.GC_HOLD_OBJECTS
    gc.set_threshold(1234, 5, 5)
    y.backward()
    assert gc.get_threshold() == (1234, 5, 5)


@pytest.mark.parametrize("backward", [
    lambda y: list(autodiff.backward_steps(y)),
    lambda y: autodiff.compile(y).backward(),
], ids=["backward_steps", "compiled backward"])
def test_every_backward_pass_restores_the_threshold(backward):
    x = Value(2.0)
    y = (x * x + x).tanh()
    assert gc.get_threshold()[0] == engine.GC_HOLD_OBJECTS
    backward(y)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_hold_of_0_switches_the_hold_off(monkeypatch):
    monkeypatch.setattr(engine, "GC_HOLD_OBJECTS", 0)
    x = Value(2.0)
    y = x * x + x
    assert gc.get_threshold() == (700, 10, 10)
    y.backward()
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("state", ["disabled", "threshold 0", "threshold above the bound"])
def test_the_users_choice_is_left_alone(state):
    if state == "disabled":
        gc.disable()
    else:
        gc.set_threshold(0 if state == "threshold 0" else 10 * engine.GC_HOLD_OBJECTS, 10, 10)
    before = gc.get_threshold(), gc.isenabled()
    x = Value(2.0)
    y = (x * x + x).tanh()
    assert (gc.get_threshold(), gc.isenabled()) == before
    y.backward()
    assert (gc.get_threshold(), gc.isenabled()) == before


def test_no_grad_takes_no_hold():
    with autodiff.no_grad():
        Value(2.0) * Value(3.0)
    assert gc.get_threshold()[0] == 700


def test_a_graph_built_while_another_thread_pauses_the_collector_takes_the_hold():
    # The collector is off only for that thread's no_cycle_gc() block: not the user's choice.
    paused, done = threading.Event(), threading.Event()

    def pause():
        with autodiff.no_cycle_gc():
            paused.set()
            done.wait(30)

    thread = threading.Thread(target=pause)
    thread.start()
    try:
        assert paused.wait(30) and not gc.isenabled()
        x = Value(2.0)
        y = x * x + x
        assert gc.get_threshold()[0] == engine.GC_HOLD_OBJECTS
    finally:
        done.set()
        thread.join(30)
    assert gc.isenabled()
    y.backward()
    assert gc.get_threshold() == (700, 10, 10) and gc.isenabled()


def test_backward_moves_the_built_graph_out_of_the_young_generation_without_a_pass():
    model = nn.MLP(2, [16, 16, 1], rng=0)
    rows, labels = _moons(40)
    loss = _readme_loss(model, rows, labels)
    assert gc.get_count()[0] > 20_000
    with Collections() as passes:
        loss.backward()
    assert passes.count == 0 and gc.get_count()[0] < 700
    assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0


def test_without_the_move_backward_sets_off_a_young_pass(monkeypatch):
    # What the test above would see without the move (so that it can fail).
    monkeypatch.setattr(engine, "GC_PROMOTED_OBJECTS", 0)
    model = nn.MLP(2, [16, 16, 1], rng=0)
    rows, labels = _moons(40)
    loss = _readme_loss(model, rows, labels)
    with Collections() as passes:
        loss.backward()
    assert passes.count >= 1


class _Cycle:
    def __init__(self):
        self.me = self


def test_garbage_cycles_made_while_a_graph_is_built_are_collected_by_a_full_pass(monkeypatch):
    import weakref
    monkeypatch.setattr(engine, "GC_PROMOTED_OBJECTS", 30_000)
    monkeypatch.setattr(engine, "_gc_promoted", 0)
    model = nn.MLP(2, [16, 16, 1], rng=0)
    rows, labels = _moons(40)       # ~26,000 young objects a step: the second step's move passes 30,000
    loss = _readme_loss(model, rows, labels)
    garbage = _Cycle()
    gone = weakref.ref(garbage)
    del garbage
    loss.backward()
    assert gone() is not None     # moved to the old generation with the graph, unscanned
    again = _readme_loss(model, rows, labels)
    again.backward()
    assert gone() is None         # the full pass found it
    assert engine._gc_promoted == 0


def test_objects_the_user_froze_stay_frozen():
    frozen = [_Cycle() for _ in range(10)]
    gc.freeze()
    try:
        count = gc.get_freeze_count()
        loss = _readme_loss(nn.MLP(2, [16, 16, 1], rng=0), *_moons(20))
        loss.backward()
        assert gc.get_freeze_count() > count - 100   # not thawed (a few were freed meanwhile)
    finally:
        gc.unfreeze()
    assert frozen


# ---- neuron_chain ------------------------------------------------------------------------------

def _by_operators(w, x, b):
    z = w[0] * x[0]
    for wk, xk in zip(w[1:], x[1:], strict=True):
        z = z + wk * xk
    return z + b


def _shape(root):
    order = autodiff.topological_order(root)
    where = {n: i for i, n in enumerate(order)}
    return [(n.op, [where[p] for p in n.parents], n.data if n.parents else where[n]) for n in order]


@pytest.mark.parametrize("n", [1, 2, 5, 16])
def test_neuron_chain_makes_the_operators_nodes_bit_for_bit(n):
    r = random.Random(n)
    for _ in range(20):
        w = [Value(r.uniform(-3, 3)) for _ in range(n)]
        x = [Value(r.uniform(-3, 3)) for _ in range(n)]
        b = Value(r.uniform(-3, 3))
        mine, theirs = neuron_chain(w, x, b), _by_operators(w, x, b)
        assert _shape(mine) == _shape(theirs)          # ops, parents by position, every number exact
        assert mine.data.hex() == theirs.data.hex()
        mine.backward()
        grads = [p.grad for p in (*w, *x, b)]
        for p in (*w, *x, b):
            p.grad = 0.0
        theirs.backward()
        assert grads == [p.grad for p in (*w, *x, b)]


def test_neuron_chain_takes_numbers_batches_and_shared_nodes():
    w = [Value(0.5), Value(-2.0)]
    assert neuron_chain(w, [Value(1.0), 3.0], 0.25).data == 0.5 - 6.0 + 0.25   # plain numbers
    xs = batch_columns(np.array([[1.0, 2.0], [3.0, 4.0]]))                   # a batch
    z = neuron_chain(w, xs, Value(1.0))
    assert z.data.tolist() == [0.5 - 4.0 + 1.0, 1.5 - 8.0 + 1.0]   # columns (1, 2), (3, 4)
    a = Value(3.0)
    z = neuron_chain([a, a], [a, a], a)            # one node in every place
    z.backward()
    assert z.data == 21.0 and a.grad == 4 * 3.0 + 1


def test_neuron_chain_errors_name_the_op():
    big = Value(1e300)
    with pytest.raises(OverflowError, match="mul"):
        neuron_chain([big, Value(1.0)], [big, Value(1.0)], Value(0.0))
    with pytest.raises(OverflowError, match="add"):
        neuron_chain([Value(1e308), Value(1.0)], [Value(1.5), Value(1e308)], Value(0.0))
    with pytest.raises(ValueError, match="2 weights but 1 inputs"):
        neuron_chain([Value(1.0), Value(2.0)], [Value(1.0)], Value(0.0))


def test_neuron_chain_under_detect_anomaly_records_where_each_node_was_made():
    w, x = [Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]
    with autodiff.detect_anomaly():
        z = neuron_chain(w, x, Value(0.5))
        sites = dict(engine._anomaly_sites)
    assert z.data == 11.5
    assert all(n in sites for n in autodiff.topological_order(z) if n.parents)


def test_building_backward_and_optimizer_steps_need_no_numpy():
    # The playground runs the engine without numpy: settling the hold on the first node after each
    # backward() must not reach for it (it did, through the finiteness check of a batch).
    code = ("import sys; sys.modules['numpy'] = None\n"
            "from autodiff import Value\n"
            "x = Value(2.0)\n"
            "for _ in range(3):\n"
            "    y = (x * x + x).relu(); y.backward()\n"
            "print(x.grad)\n"
            "import nn\n"
            "for opt in (nn.SGD([x], lr=0.1, momentum=0.9), nn.Adam([x], lr=0.1)):\n"
            "    opt.step()\n"
            "assert 'numpy' not in [m for m in sys.modules if sys.modules[m] is not None]\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) == 3 * 5.0


# ---- neuron_chains: a layer at a time ----------------------------------------------------------

def test_neuron_chains_makes_each_neurons_nodes_bit_for_bit():
    r = random.Random(7)
    x = [Value(r.uniform(-3, 3)) for _ in range(5)]
    weights = [[Value(r.uniform(-3, 3)) for _ in range(5)] for _ in range(4)]
    biases = [Value(r.uniform(-3, 3)) for _ in range(4)]
    layer = neuron_chains(weights, x, biases)
    assert len(layer) == 4
    for z, w, b in zip(layer, weights, biases, strict=True):
        theirs = _by_operators(w, x, b)
        assert _shape(z) == _shape(theirs) and z.data.hex() == theirs.data.hex()
        assert autodiff.topological_order(z)[:2] == [w[0], x[0]]   # its own weights, the shared inputs


def test_neuron_chains_falls_back_a_neuron_at_a_time():
    w = [[Value(0.5), Value(-2.0)], [Value(1.0), Value(1.0)]]
    b = [Value(0.25), Value(0.0)]
    assert [z.data for z in neuron_chains(w, [Value(1.0), 3.0], b)] == [0.5 - 6.0 + 0.25, 4.0]
    xs = batch_columns(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert neuron_chains(w, xs, b)[0].data.tolist() == [0.5 - 4.0 + 0.25, 1.5 - 8.0 + 0.25]
    w[1][1] = 2.0                                   # a plain number as a weight: wrapped, as before
    assert neuron_chains(w, [Value(1.0), Value(3.0)], b)[1].data == 7.0
    with pytest.raises(OverflowError, match="add"):  # the second neuron overflows: named, as one
        neuron_chains([[Value(1.0)], [Value(1e308)]], [Value(1.5)], [Value(0.0), Value(1e308)])
    with pytest.raises(ValueError, match="2 weight rows but 1 biases"):
        neuron_chains(w, [Value(1.0), Value(3.0)], b[:1])
    with pytest.raises(ValueError, match="2 weights but 1 inputs"):
        neuron_chains(w, [Value(1.0)], b)


def test_an_unfused_layer_makes_what_its_neurons_make_one_by_one():
    layer = nn.Layer(3, 4, rng=2)
    x = [Value(0.5), Value(-1.5), Value(2.0)]
    together = layer(x)
    alone = [n(x) for n in layer.neurons]
    for a, b in zip(together, alone, strict=True):
        assert _shape(a) == _shape(b) and a.label == b.label and a.data.hex() == b.data.hex()
    assert [z.label for z in layer.preactivations(x)] == [f"neurons.{j}.z" for j in range(4)]
