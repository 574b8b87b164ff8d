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
from autodiff.primitives import is_array


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


# ---- every error of a compiled program begins with the method called --------------------------------

def _eager(large: bool):
    a, b = Value(2.0, "a"), Value(3.0, "b")
    y = a.log() + b.sqrt()
    for _ in range(READABLE_NODES if large else 0):
        y = y * 0.5 + a
    return a, b, y


def _batched(layers: bool):
    a, b = Value(2.0, "a"), batch(np.array([1.0, 2.0, 3.0]), "b")
    if layers:
        out = nn.MLP(1, [3, 1], rng=1, fused=True)(batch_columns(np.array([[1.0], [2.0], [3.0]])))[0]
        return a, b, mean((out * 0.0 + b).sqrt() + a.log())
    return a, b, mean(autodiff.neuron([b], [Value(0.5, "w")], Value(0.0, "c")).sqrt() + a.log())


PROGRAMS = {"readable": lambda: _eager(False), "fast": lambda: _eager(True),
            "batched": lambda: _batched(False), "layers": lambda: _batched(True)}
LEAF_SET = {   # a's .data set by hand to what the forward pass refuses: (value, error, words)
    "nan": (float("nan"), ValueError, "the Value 'a' holds nan"),
    "log of -1": (-1.0, ValueError, r"log: log\(-1\.0\) is undefined"),
    "str": ("x", TypeError, "the .data of the Value 'a' is str 'x'"),
    "int beyond the floats": (10 ** 400, ValueError, "the .data of the Value 'a' is an int of about 401"),
    "a batch": (np.ones(3), ValueError, "the Value 'a' holds a batch of 3 examples"),
}


@pytest.mark.parametrize("kind", PROGRAMS)
@pytest.mark.parametrize("case", LEAF_SET)
def test_backward_after_a_refused_forward_names_backward(kind, case):
    """forward() refused a leaf; backward(), which then runs the forward pass itself, said 'compiled
    forward:' too, naming a call the user did not make. Each names its own call, in the same words."""
    a, _, y = PROGRAMS[kind]()
    program = autodiff.compile(y)
    program.backward()
    expected, a.grad = a.grad, 0.0
    value, error, words = LEAF_SET[case]
    a.data = value
    with pytest.raises(error, match=f"^compiled forward: {words}"):
        program.forward()
    with pytest.raises(error, match=f"^compiled backward: {words}"):
        program.backward()
    assert a.grad == 0.0
    a.data = 2.0                                  # set right again, backward() runs the forward pass
    program.backward()
    assert a.grad == expected


@pytest.mark.parametrize("kind", PROGRAMS)
def test_a_rule_failing_in_a_compiled_backward_names_backward_and_its_node(kind):
    """sqrt's slope at 0: a batched program's backward() said 'backward: the rule of sqrt' (node by
    node) or sqrt's own words with no node (a layer program), where the eager ones said 'compiled
    backward:'."""
    _, b, y = PROGRAMS[kind]()
    program = autodiff.compile(y)
    b.data = np.array([0.0, 1.0, 2.0]) if is_array(b.data) else 0.0
    program.forward()
    said = r"^compiled backward: the rule of sqrt at node v\d+ \(inputs .*\) failed: sqrt: "
    with pytest.raises(autodiff.InfiniteSlopeError, match=said) as e:
        program.backward()
    assert e.value.node.op == "sqrt"


def test_check_names_check():
    x = Value(1.0, "x")
    program = autodiff.compile(x * 2.0)
    with pytest.raises(autodiff.GraphChangedError, match=r"^compiled check: node 2 \('v2', op 'mul'\) is "):
        program.check(x + 2.0)
    with pytest.raises(autodiff.GraphChangedError, match=r"^compiled check: node 1 .* constant 2\.0"):
        program.check(x * 3.0)
