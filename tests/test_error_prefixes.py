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


# The steppers' refusals, those their callees raise included (tester qa14j item 3: step_html(x*x,
# collapse="neuron") said "draw: collapse='neuron' found no neuron"; a missing folder "write '...'").
STEP_HTML_REFUSED = [   # (options, the path in tmp_path, the words after "step_html: ")
    ({"collapse": "neuron"}, "p.html", "collapse='neuron' found no neuron"),
    ({"level": "layers"}, "p.html", "level must be one of 'layer', 'neuron', 'op', got 'layers'"),
    ({"level": "Neuron"}, "p.html", "level='neuron' needs a network built by nn"),
    ({"example": 1}, "p.html", "example 1: this graph holds one example"),
    ({}, "missing/p.html", "write "),
    ({}, ".", "write "),
    ({}, 3, "path must be a file name (a str or a pathlib.Path), got int 3"),
]


@pytest.mark.parametrize("options,path,words", STEP_HTML_REFUSED)
def test_step_html_refuses_in_its_own_name(options, path, words, tmp_path):
    y = Value(1.0, "x") * Value(2.0, "w")
    where = tmp_path / path if isinstance(path, str) else path
    with pytest.raises((TypeError, ValueError, OSError), match=f"^step_html: {re.escape(words)}"):
        viz.step_html(y, where, **options)
    assert not (tmp_path / "p.html").exists()


def test_step_html_names_a_leaf_set_by_hand_and_a_read_only_file(tmp_path):
    x = Value(1.0, "x")
    y = x * 2.0
    page = tmp_path / "p.html"
    page.write_text("old")
    page.chmod(0o444)
    with pytest.raises(PermissionError, match=r"^step_html: write .*read-only"):
        viz.step_html(y, page)
    assert page.read_text() == "old"
    x.data = "a"
    with pytest.raises(TypeError, match=r"^step_html: the .data of the Value 'x' is str 'a'"):
        viz.step_html(y, tmp_path / "q.html")


def test_step_terminal_refuses_in_its_own_name():
    import io

    from rich.console import Console

    x = Value(1.0, "x")
    y = x * 2.0
    with pytest.raises(TypeError, match=r"^step_terminal: console must be a rich.console.Console"):
        viz.step_terminal(y, console=3)
    with pytest.raises(ValueError, match=r"^step_terminal: example 1: this graph holds one example"):
        viz.step_terminal(y, console=Console(file=io.StringIO()), example=1)
    x.data = "a"
    with pytest.raises(TypeError, match=r"^step_terminal: the .data of the Value 'x' is str 'a'"):
        viz.step_terminal(y, console=Console(file=io.StringIO()))


@pytest.mark.parametrize("level", ["Neuron", "NEURON", "Layer", "OP", "Op"])
def test_a_level_is_taken_in_any_case_as_nn_takes_an_activation(level):
    import json

    import nn
    from viz.step_html import HtmlStepper

    model = nn.MLP(2, [2, 1], activation="ReLU", rng=1)
    page = HtmlStepper(nn.squared_error(model([1.0, 2.0]), [1.0]), level=level)
    data = json.loads(re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page.html, re.S)[0])
    assert data["level"] == level.lower()
    assert f'value="{level.lower()}" selected' in page.html  # the page opens at that level
