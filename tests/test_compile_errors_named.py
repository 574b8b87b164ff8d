"""A domain error in a compiled forward pass (log of a negative, exp's overflow) names its node, as
docs/compile.md "Errors" promises, in small (readable) and large (fast) programs, eager and batched;
no node's ``.data`` is changed (issue 17)."""

import numpy as np
import pytest

import autodiff
import nn
from autodiff import Value
from autodiff.batched import batch, batch_columns, mean
from autodiff.compiled import READABLE_NODES


def _graph(kind: str, large: bool, label: bool = True):
    a, b = Value(2.0, "a"), Value(3.0, "b" if label else "")
    y = a.log() + b.log() if kind == "log" else a.exp() + b.exp()
    failing = y.parents[1]
    for _ in range(READABLE_NODES if large else 0):
        y = y * 0.5 + a
    return b, failing, y


CASES = [("log", -1.0, ValueError, r"log\(-1\.0\) is undefined"),
         ("exp", 1000.0, OverflowError, r"exp\(1000\.0\) overflows")]


@pytest.mark.parametrize("large", [False, True], ids=["readable", "fast"])
@pytest.mark.parametrize("kind, bad, error, said", CASES, ids=["log", "exp"])
def test_a_domain_error_names_its_node_and_changes_no_data(kind, bad, error, said, large):
    """The tester's case: `b.data = -1.0` after compiling log(a) + log(b) raised log's own error with
    no node, the traceback at the program's line; at 3 and 150 nodes the same for exp's overflow."""
    b, failing, y = _graph(kind, large)
    program = autodiff.compile(y)
    assert program.forward() == y.data
    nodes = autodiff.topological_order(y)
    before = [n.data for n in nodes]
    b.data = bad
    with pytest.raises(error, match=said) as caught:
        program.forward()
    assert caught.value.node is failing
    assert f"(at node 'v3', {kind} of 'b' = {bad!r})" in str(caught.value)
    assert str(caught.value).startswith("compiled forward: ")
    b.data = 3.0
    assert [n.data for n in nodes] == before   # the fast program's writes up to the op put back
    assert program.forward() == before[-1]   # and it runs again once the leaf is back in the domain


def test_a_leaf_without_a_label_is_named_by_its_place():
    b, failing, y = _graph("log", large=True, label=False)
    program = autodiff.compile(y)
    b.data = -1.0
    with pytest.raises(ValueError, match=r"at node 'v3', log of 'v2' = -1\.0") as caught:
        program.forward()
    assert caught.value.node is failing


def _layers(x):
    X = np.array([[1.0], [2.0], [3.0]])
    out = nn.MLP(1, [3, 1], rng=1, fused=True)(batch_columns(X))[0]
    return (out * 0.0 + x).log()


def _node_by_node(x):   # a fused neuron whose weight holds a batch: not a layer
    return autodiff.neuron([x], [Value(0.5, "w")], Value(0.1, "c")).log()


@pytest.mark.parametrize("build, layers", [(_layers, True), (_node_by_node, False)],
                         ids=["layers", "node-by-node"])
def test_a_domain_error_in_a_batched_program_names_its_node_and_example(build, layers):
    x = batch(np.array([1.0, 2.0, 3.0]), "x")
    logged = build(x)
    y = mean(logged)
    program = autodiff.compile(y)
    assert program.layers == layers
    held = [n.data for n in autodiff.topological_order(y)]
    x.data = np.array([1.0, -2.0, 3.0])
    with pytest.raises(ValueError, match=r"log: undefined at example 1.*\(at node 'v\d+', log of 'v\d+' "
                                         r"= a batch of 3\)") as caught:
        program.forward()
    assert caught.value.node is logged
    x.data = np.array([1.0, 2.0, 3.0])
    after = [n.data for n in autodiff.topological_order(y)]
    assert all(np.array_equal(a, b) for a, b in zip(held, after, strict=True))
