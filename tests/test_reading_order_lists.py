"""Every list of nodes the steppers show a learner reads as the diagrams do (issue 14): the inputs, then
the weights and biases in index order (a neuron's bias after its weights), then the other constants.
The start frame listed the leaves in topological order: on the README loss "v0 = 1.0, v1 = 1.0,
layers.2.neurons.0.w.0 = …, layers.1.neurons.0.w.0 = …, layers.0.neurons.0.w.0 = …, x.0 = …", the
inputs after three weights and two constants; the page's table of every node and its list of names to
find started the same way."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from autodiff import topological_order
from tests.conftest import classic_neuron
from tests.test_step_view_browser import readme_loss


def expected_leaves(root) -> list[str]:
    """The leaves' names in reading order, worked out here from the labels alone: inputs by index,
    parameters by (layer, neuron, weight index, bias last), then the unlabelled constants as v<i> in
    topological order."""
    order = topological_order(root)
    leaves = [(i, n) for i, n in enumerate(order) if n.is_leaf]
    inputs, params, consts = [], [], []
    for i, n in leaves:
        label = n.label or ""
        if m := re.fullmatch(r"layers\.(\d+)\.neurons\.(\d+)\.(?:w\.(\d+)|b)", label):
            params.append(((int(m[1]), int(m[2]), int(m[3]) if m[3] else float("inf")), label))
        elif m := re.fullmatch(r"([wb])(\d*)", label):  # the classic neuron's w1, w2, b
            params.append(((m[1] == "b", int(m[2] or 0)), label))
        elif m := re.fullmatch(r"x\.?(\d+)", label):
            inputs.append((int(m[1]), label))
        else:
            assert not label, label
            consts.append(f"v{i}")
    return [name for _, name in sorted(inputs)] + [name for _, name in sorted(params)] + consts


def listed(text: str) -> list[str]:
    """The names a start frame's text lists: "start: the leaves are x.0 = 1.6693, x.1 = …"."""
    return re.findall(r"(?:are |, )([^\s,=]+) = ", text.splitlines()[0])


def graphs():
    return {"classic": classic_neuron()[0], "readme": readme_loss(False), "fused": readme_loss(True)}


@pytest.mark.parametrize("graph", ["classic", "readme", "fused"])
def test_the_pages_start_frame_table_and_names_read_inputs_weights_then_constants(graph):
    from viz.step_html import HtmlStepper

    root = graphs()[graph]
    want = expected_leaves(root)
    assert len(want) > 4 and want[0] in ("x1", "x.0")
    page = HtmlStepper(root, level="neuron" if graph != "classic" else "op")
    data = json.loads(re.search(r'id="dg-data">(.*?)</script>', page.html, re.S).group(1))
    assert listed(data["frames"][0]["text"]) == want
    # the table of every node and the names to find: the leaves as listed, then each computed node in
    # the order the page's forward steps compute it
    names = [data["nodes"][i]["name"] for i in data["rows"]]
    computed = [data["nodes"][f["node"]]["name"] for f in data["frames"] if f["kind"] == "forward"]
    assert names == want + computed
    assert sorted(data["rows"]) == list(range(len(data["nodes"])))


@pytest.mark.parametrize("graph", ["classic", "fused"])
def test_the_terminal_steppers_start_frame_reads_inputs_weights_then_constants(graph):
    from viz.stepper import step_terminal

    root = graphs()[graph]
    out = io.StringIO()
    step_terminal(root, console=Console(file=out, width=100_000))  # piped: every step printed
    first = next(line for line in out.getvalue().splitlines() if line.startswith("start:"))
    assert listed(first) == expected_leaves(root)
