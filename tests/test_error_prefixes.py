"""Refusals start with the name of the function the user called (issue 17, a fresh tester's item 9):
a rule's error in a compiled backward() started "backward:", and viz.render/viz.show's "draw:"."""

import re

import pytest

import autodiff
import viz
from autodiff import InfiniteSlopeError, Value


@pytest.mark.parametrize("label", ["x", ""])
def test_a_rule_failing_in_a_compiled_backward_is_named_by_it(label):
    x = Value(0.0, label)
    y = x.sqrt() * 2.0
    program = autodiff.compile(y)
    with pytest.raises(InfiniteSlopeError, match=r"^compiled backward: the rule of sqrt at node v1 "
                                                 r"\(inputs 0\) failed: sqrt: the derivative") as e:
        program.backward()
    assert e.value.node is y.parents[0]
    with pytest.raises(InfiniteSlopeError, match=r"^backward: the rule of sqrt at node v1"):
        y.backward()   # backward() keeps its own name


CALLS = {
    "draw": lambda root, **o: viz.draw(root, **o),
    "render": lambda root, path, **o: viz.render(root, path, **o),
    "show": lambda root, **o: viz.show(root, **o),
}
REFUSED = [   # (options, the words after the name)
    ({"rankdir": "XX"}, "rankdir must be 'LR' or 'TB'"),
    ({"collapse": "all"}, "collapse must be None or 'neuron'"),
    ({"precision": 0}, "precision is a number of significant digits"),
    ({"max_nodes": 0}, "max_nodes must be a positive int"),
    ({"highlight": [1.0]}, "highlight must be a set of Values"),
    ({"collapse": "neuron"}, "collapse='neuron' found no neuron"),
    ({"max_nodes": 1}, "the graph has 4 nodes to draw"),
    ({"max_per_layer": 2, "collapse": "neuron"}, "max_per_layer is the most neuron boxes"),
]


@pytest.mark.parametrize("options,words", REFUSED)
@pytest.mark.parametrize("call", CALLS)
def test_render_and_show_refuse_in_their_own_names(call, options, words, tmp_path):
    y = Value(1.0, "x") * 2.0
    args = (tmp_path / "g.svg",) if call == "render" else ()
    with pytest.raises((TypeError, ValueError), match=f"^{call}: {re.escape(words)}"):
        CALLS[call](y, *args, **options)
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.parametrize("call", CALLS)
def test_a_list_or_a_leaf_set_by_hand_is_refused_in_their_own_names(call, tmp_path):
    y = Value(1.0, "x") * 2.0
    args = (tmp_path / "g.svg",) if call == "render" else ()
    with pytest.raises(TypeError, match=f"^{call} needs a Value .* as in viz.{call}\\(model\\(x\\)\\[0\\]"):
        CALLS[call]([y], *args)
    y.parents[0].data = "a"
    with pytest.raises(TypeError, match=f"^{call}: the .data of the Value 'x' is str 'a'"):
        CALLS[call](y, *args)
