"""`autodiff.compile` and leaves set by hand: compile(), forward() and backward() refuse what
``root.backward()`` refuses, in its words; errors name a node by its label at every graph size;
constants are leaves the program reads (issue 17, a fresh tester's items)."""

import re

import numpy as np
import pytest

import autodiff
import nn
from autodiff import Value
from autodiff.batched import batch, batch_columns
from autodiff.compiled import READABLE_NODES
from nn.data import make_moons

N = 8
X, Y = make_moons(N, noise=0.1, rng=1)

# What a user sets by hand on a batched input or label (the tester's b1.py): every one of these is
# refused by root.backward() on the graph built before it was set.
BAD = {
    "column": lambda d: d[:, None],                    # labels.data = (2*y - 1.0)[:, None]
    "one example": lambda d: d[:1].copy(),             # labels.data = np.array([1.0])
    "another size": lambda d: d[:N - 1].copy(),
    "bools": lambda d: d > 0,
    "strings": lambda d: np.array(["1"] * N),
    "objects": lambda d: d.astype(object),
    "complex": lambda d: d + 0j,
    "nan": lambda d: np.where(np.arange(N) == 3, np.nan, d),
    "2-D": lambda d: np.stack([d, d]),
}


def _loss(fused: bool):
    model = nn.MLP(2, [3, 3, 1], rng=1, fused=fused)
    xs, labels = batch_columns(X), batch(2 * Y - 1.0)
    loss = nn.mean(nn.hinge(model(xs), [labels])) + nn.l2(model.weights(), 1e-4)
    return model, xs, labels, loss


def _words(error: Exception) -> tuple[type, str]:
    """An error's type and message without the name of the function called ("backward: ")."""
    return type(error), re.sub(r"^(backward|compile|compiled forward|compiled backward): ", "", str(error))


def _refusal(run) -> tuple[type, str]:
    with pytest.raises((TypeError, ValueError)) as caught:
        run()
    return _words(caught.value)


@pytest.mark.parametrize("bad", BAD, ids=BAD)
@pytest.mark.parametrize("who", ["input", "label"])
@pytest.mark.parametrize("fused", [False, True], ids=["unfused", "fused"])
def test_compile_refuses_what_backward_refuses_in_its_words(fused, who, bad):
    """The tester's item 1 and 5: compiled after a leaf was set to a column, one example, ... the
    program returned wrong numbers (forward() 100.2, every .grad written) or raised from deep inside
    ('NoneType' object is not subscriptable, operands could not be broadcast, ufunc 'isfinite')."""
    model, xs, labels, loss = _loss(fused)
    leaf = xs[0] if who == "input" else labels
    leaf.data = BAD[bad](leaf.data)
    expected = _refusal(loss.backward)
    held, built = [p.data for p in model.parameters()], loss.data
    assert _refusal(lambda: autodiff.compile(loss)) == expected
    assert all(p.grad == 0.0 for p in model.parameters()) and loss.data == built
    assert [p.data for p in model.parameters()] == held


@pytest.mark.parametrize("bad", BAD, ids=BAD)
@pytest.mark.parametrize("who", ["input", "label"])
@pytest.mark.parametrize("fused", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("call", ["forward", "backward"])
def test_a_compiled_program_refuses_what_backward_refuses_in_its_words(fused, who, bad, call):
    model, xs, labels, loss = _loss(fused)
    program = autodiff.compile(loss)
    leaf = xs[0] if who == "input" else labels
    leaf.data = BAD[bad](leaf.data)
    expected = _refusal(loss.backward)
    assert _refusal(getattr(program, call)) == expected
    with pytest.raises((TypeError, ValueError), match=f"^compiled {call}: "):   # the method called
        getattr(program, call)()
    assert all(p.grad == 0.0 for p in model.parameters())


ONE_NUMBER_BAD = {
    "1-element array": np.array([0.7]),
    "3-element array": np.array([0.1, 0.2, 0.3]),
    "2-D": np.array([[0.7]]),
    "str": "0.7",
    "bool": True,
    "None": None,
    "nan": float("nan"),
    "inf": float("inf"),
}


@pytest.mark.parametrize("bad", ONE_NUMBER_BAD, ids=ONE_NUMBER_BAD)
@pytest.mark.parametrize("when", ["before compile", "after compile"])
def test_a_one_number_leaf_set_by_hand_is_refused_as_backward_refuses_it(bad, when):
    """The tester's h2.py: w set to np.array([0.7]) before compiling gave 'only 0-dimensional arrays
    can be converted to Python scalars'."""
    x, w = Value(0.3, "x"), Value(-1.2, "w")
    o = (x * w + 0.5).tanh() * w
    program = autodiff.compile(o) if when == "after compile" else None
    w.data = ONE_NUMBER_BAD[bad]
    expected = _refusal(o.backward)
    assert "'w'" in expected[1]
    run = program.forward if program is not None else lambda: autodiff.compile(o)
    assert _refusal(run) == expected
    assert x.grad == 0.0 and w.grad == 0.0


def test_compiling_a_graph_with_a_bad_leaf_refuses_before_anything_runs():
    """The tester's b2.py: a fused program compiled with a (N, 1) label ran forward() (loss.data
    overwritten) and blamed relu's rule in backward()."""
    model, xs, labels, loss = _loss(True)
    labels.data = labels.data[:, None]
    built = loss.data
    with pytest.raises(ValueError, match=r"^compile: the leaf v\d+ holds an array of shape \(8, 1\); a "
                                         r"batched Value holds a 1-D array") as caught:
        autodiff.compile(loss)
    assert caught.value.node is labels and loss.data == built


# ---- a batched leaf set to one number -----------------------------------------------------------

@pytest.mark.parametrize("fused", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("number", [0.5, np.array(0.5), np.float64(1.0)], ids=["float", "0-d", "numpy"])
def test_a_batched_leaf_set_to_one_number_after_compiling_is_refused(fused, number):
    """The tester's item 11: backward() takes it (a number broadcasts over the examples), but a graph
    built with it would be another graph (hinge refuses the label 0.5): the program refuses it."""
    model, xs, labels, loss = _loss(fused)
    program = autodiff.compile(loss)
    labels.data = number
    for run in (program.forward, program.backward):
        with pytest.raises(ValueError, match=r"^compiled (forward|backward): the leaf v\d+ holds one number, "
                                             "but held a batch of 8 examples when the graph was built"):
            run()
    assert all(p.grad == 0.0 for p in model.parameters())


# ---- names: a leaf's label, a parameter's dotted name, at every size ---------------------------

def _long_chain(x: Value) -> Value:
    acc = x
    for _ in range(150):
        acc = acc * 1.0 + 0.0
    return acc


def test_a_large_program_names_a_leaf_whose_gradient_is_not_finite_by_its_label():
    """The tester's item 8: 'v0' for the leaf 'x2' in a graph over 200 nodes."""
    x2, w = Value(1.0, "x2"), Value(2.0, "w")
    o = (_long_chain(x2) * 5e-324).log() * w
    program = autodiff.compile(o)
    assert len(autodiff.topological_order(o)) > READABLE_NODES and program.leaves[0] is x2
    program.forward()
    with pytest.raises(FloatingPointError, match=r"^compiled backward: the gradient of 'x2' is not finite"):
        program.backward()
    assert x2.grad == 0.0


def test_the_readme_loop_names_a_parameter_by_its_dotted_name():
    """The tester's item 8, the README's eager loop: a weight's .grad set to NaN was named 'v3'."""
    model = nn.MLP(2, [4, 1], rng=1)
    loss = nn.mean([nn.hinge(model(list(x))[0], 2 * t - 1) for x, t in zip(X, Y, strict=True)])
    program = autodiff.compile(loss)
    assert len(program.leaves) + len(autodiff.topological_order(loss)) > READABLE_NODES
    w = model.parameters()[0]
    assert w.label == "layers.0.neurons.0.w.0"
    w.grad = float("nan")
    with pytest.raises(FloatingPointError, match=r"^compiled backward: the gradient of leaf "
                       r"layers\.0\.neurons\.0\.w\.0 \(data [^)]+\) would be nan once this pass's"):
        program.backward()   # in backward()'s words (h17i item B)


@pytest.mark.parametrize("label", ["square", ""])
def test_a_large_program_names_a_node_whose_value_is_not_finite_by_its_label(label):
    """By its label, else as backward() and diagrams name it: v<its place in the topological order>."""
    x = Value(1e-200, "x")
    big = _long_chain(x) * 1e300
    square = big * big
    square.label = label
    root = square.tanh()
    named = label or f"v{autodiff.topological_order(root).index(square)}"
    program = autodiff.compile(root)
    x.data = 1.0                                                    # (1e300)² overflows
    with pytest.raises(FloatingPointError, match=rf"^compiled forward: node '{named}' \(mul\) is inf"):
        program.forward()


# ---- constants are leaves: forward() reads their .data -----------------------------------------

@pytest.mark.parametrize("large", [False, True], ids=["readable", "large"])
def test_a_constant_set_by_hand_is_read_as_any_leaf(large):
    """The tester's item 10: compile.md said constants were frozen into the program; they are leaves,
    and forward() reads every leaf's .data (as root.backward() would read it, as PyTorch does)."""
    x, w = Value(0.3, "x"), Value(-1.2, "w")

    def build(c: float) -> Value:
        return ((_long_chain(x) if large else x) * w + c).tanh()

    o = build(0.5)
    program = autodiff.compile(o)
    constant = next(n for n in program.leaves if n.label == "" and n.data == 0.5)
    constant.data = 1.5
    assert program.forward() == build(1.5).data
    program.backward()
    fresh_x, fresh_w = x.grad, w.grad
    x.grad = w.grad = 0.0
    build(1.5).backward()
    assert (x.grad, w.grad) == (fresh_x, fresh_w)
    with pytest.raises(autodiff.GraphChangedError, match="is the constant 1.5 and the new graph's constant "
                                                         "there is 0.5"):
        program.check(build(0.5))


def test_a_model_s_input_constant_set_by_hand_is_read():
    m = nn.MLP(2, [2, 1], rng=1)
    program = autodiff.compile(m([1.0, 2.0])[0])
    next(n for n in program.leaves if n.label == "x.0").data = 5.0
    assert program.forward() == m([5.0, 2.0])[0].data


def test_a_layer_program_reads_a_constant_set_by_hand():
    model = nn.MLP(2, [3, 3, 1], rng=1, fused=True)
    xs = batch_columns(X)

    def build(c: float) -> Value:
        return nn.mean(model(xs)[0].relu()) * c

    program = autodiff.compile(build(2.0))
    assert program.layers
    next(n for n in program.leaves if n.label == "" and n.data == 2.0).data = 3.0
    assert program.forward() == build(3.0).data


# ---- a parameter set by hand to another kind of number before compiling ---------------------

NUMBERS = {"int": 1, "np.int64": np.int64(-2), "np.float32": np.float32(0.75),
           "np.float64": np.float64(0.5), "0-d": np.array(1.0)}


def _model_loss(mode: str, model) -> Value:
    """The README's loss on the moons, batched (fused or not) or eager over the same points."""
    if mode == "eager":
        return nn.mean([nn.hinge(model([float(a), float(b)]), [float(2 * t - 1)])
                        for (a, b), t in zip(X, Y, strict=True)]) + nn.l2(model.weights(), 1e-4)
    return nn.mean(nn.hinge(model(batch_columns(X)), [batch(2 * Y - 1.0)])) + nn.l2(model.weights(), 1e-4)


@pytest.mark.parametrize("which", [0, 5], ids=["weight", "bias"])
@pytest.mark.parametrize("number", NUMBERS.values(), ids=NUMBERS)
@pytest.mark.parametrize("mode", ["fused", "unfused", "eager"])
def test_a_parameter_set_to_another_kind_of_number_compiles_as_the_float(mode, number, which):
    """The tester's item 1 (issue 17): a parameter set by hand to an int, a numpy scalar or a 0-d array
    after the graph was built made compile fall back to node by node (``layers`` False), and 38 of 337
    gradients differed from ``loss.backward()`` by up to 6.3e-15; compile reads the number as a float."""
    def grads(kind) -> tuple[bool | None, list[float]]:
        model = nn.MLP(2, [3, 3, 1], rng=1, fused=mode == "fused")
        loss = _model_loss(mode, model)
        ps = model.parameters()
        ps[which].data = kind
        if kind.__class__ is not float:
            program = autodiff.compile(loss)
            assert ps[which].data is kind          # compile only reads
            program.forward()
            program.backward()
            return program.layers, [p.grad for p in ps]
        rebuilt = _model_loss(mode, model)         # the graph built again with the float
        rebuilt.backward()
        return autodiff.compile(rebuilt).layers, [p.grad for p in ps]

    layers, got = grads(number)
    float_layers, expected = grads(float(number))
    assert layers == float_layers
    assert got == expected                         # to the bit
