"""`autodiff.compile` enters a large graph's program before its first pass so that CPython specializes
it (issue 17): this leaves every node's ``.data`` and ``.grad`` as they were, and the passes unchanged."""

import dis
import random

import autodiff
from autodiff import Value
from autodiff.compiled import READABLE_NODES


def _large_graph(values: list[float], seed: int) -> tuple[list[Value], Value]:
    """A graph of more than READABLE_NODES nodes (the fast program) whose shape depends on ``seed``
    only, with reuse and a kink."""
    rng = random.Random(seed)
    xs = [Value(v, f"x{i}") for i, v in enumerate(values)]
    y = xs[0]
    for i in range(READABLE_NODES):
        y = (y * xs[i % len(xs)]).tanh() + xs[rng.randrange(len(xs))].relu()
    return xs, y


def _values(rng: random.Random) -> list[float]:
    return [rng.uniform(-1, 1) for _ in range(20)]


def test_compile_writes_no_data_or_grad_of_any_node():
    xs, y = _large_graph(_values(random.Random(1)), 1)
    y.backward()                       # interior and leaf gradients set, as a user's graph may hold them
    xs[3].grad = 2.5                   # and one set by hand
    nodes = autodiff.topological_order(y)
    before = [(n.data, n.grad) for n in nodes]
    autodiff.compile(y)
    assert [(n.data, n.grad) for n in nodes] == before


def test_the_program_is_specialized_before_its_first_pass():
    _, y = _large_graph(_values(random.Random(2)), 2)
    code = autodiff.compile(y)._program.__code__
    base = [i.opname for i in dis.get_instructions(code)]
    adaptive = [i.opname for i in dis.get_instructions(code, adaptive=True)]
    assert adaptive != base   # CPython 3.11 quickens a code object once it was entered 8 times


def test_passes_after_the_warm_up_are_those_of_the_graph_built_again():
    for seed in range(3):
        rng = random.Random(seed)
        xs, y = _large_graph(_values(rng), seed)
        program = autodiff.compile(y)
        for _ in range(3):
            values = _values(rng)
            for x, v in zip(xs, values, strict=True):
                x.data, x.grad = v, 0.0
            value = program.forward()
            program.backward()
            again_xs, again = _large_graph(values, seed)
            again.backward()
            assert value == again.data
            assert [x.grad for x in xs] == [x.grad for x in again_xs]
