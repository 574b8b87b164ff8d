"""`viz.explore` in a real Jupyter kernel (nbclient + ipykernel + ipywidgets): the widgets are driven from
Python as a slider drag would, and each move recomputes the forward and backward pass and the drawing."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest

from tests.conftest import require, require_dot


def run_in_kernel(code: list[str], tmp_path):
    for module in ("nbclient", "ipykernel", "ipywidgets"):
        require(importlib.util.find_spec(module) is not None, module, "pip install -e '.[test,notebook]'")
    require_dot()
    import nbclient
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(c) for c in code])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def printed(cell) -> list:
    return [json.loads(line) for out in cell.outputs if out.output_type == "stream"
            for line in out.text.splitlines()]


NEURON = """import json
import viz
ex = viz.explore(lambda x, w, b: (x * w + b).tanh(), {"x": 2.0, "w": -3.0, "b": 6.8813735870195432})
ex"""


def test_moving_a_slider_recomputes_forward_backward_and_the_drawing(tmp_path):
    nb = run_in_kernel([
        NEURON,
        'svg0 = ex.diagram.value\nprint(json.dumps([ex.root.data, ex.gradients]))',
        'ex.sliders["w"].value = 1.0      # what dragging the slider does\n'
        'svg = ex.diagram.value\n'
        'print(json.dumps([ex.root.data, ex.gradients, svg != svg0, "<svg" in svg]))',
        'print(json.dumps(sorted(ex.sliders)))\n'
        'print(json.dumps([[s.min, s.max] for s in ex.sliders.values()]))',
    ], tmp_path)
    shown = nb.cells[0].outputs[0].data
    assert "application/vnd.jupyter.widget-view+json" in shown      # a live widget, not a picture
    [[o, g]] = printed(nb.cells[1])
    assert o == pytest.approx(math.sqrt(0.5), abs=1e-12)
    assert g == pytest.approx({"x": -1.5, "w": 1.0, "b": 0.5}, abs=1e-12)
    [[o, g, redrawn, svg]] = printed(nb.cells[2])
    n = 2.0 * 1.0 + 6.8813735870195432
    slope = 1 - math.tanh(n) ** 2
    assert o == pytest.approx(math.tanh(n), abs=1e-12)
    assert g == pytest.approx({"x": 1.0 * slope, "w": 2.0 * slope, "b": slope}, rel=1e-9, abs=1e-15)
    assert redrawn and svg
    names, spans = printed(nb.cells[3])
    assert names == ["b", "w", "x"]
    assert all(lo < hi for lo, hi in spans)


def test_an_error_is_shown_in_place_of_the_diagram_and_the_explorer_recovers(tmp_path):
    nb = run_in_kernel([
        'import json\nimport viz\n'
        'def f(x=2.0):\n    return (x * 3).log()\n'
        'ex = viz.explore(f, ranges={"x": (-1.0, 4.0)})\n'
        'print(json.dumps(ex.gradients))',
        'ex.sliders["x"].value = -0.5\nprint(json.dumps([ex.error, ex.gradients, ex.root is None]))',
        'ex.sliders["x"].value = 1.0\nprint(json.dumps([ex.error, ex.gradients]))',
    ], tmp_path)
    assert printed(nb.cells[0]) == [pytest.approx({"x": 0.5})]
    [[error, grads, no_root]] = printed(nb.cells[1])
    assert "log" in error and grads == {} and no_root
    assert not any(out.output_type == "error" for cell in nb.cells for out in cell.outputs)
    [[error, grads]] = printed(nb.cells[2])
    assert error == "" and grads == pytest.approx({"x": 1.0})


def test_bad_arguments_say_what_to_do():
    require(importlib.util.find_spec("ipywidgets") is not None, "ipywidgets", "pip install -e '.[notebook]'")
    import viz
    with pytest.raises(TypeError, match="starting value"):
        viz.explore(lambda x: x * x)
    with pytest.raises(TypeError, match="do not fit"):
        viz.explore(lambda x: x * x, {"y": 1.0})
    with pytest.raises(ValueError, match="finite"):
        viz.explore(lambda x: x * x, {"x": float("nan")})
    with pytest.raises(ValueError, match="not inputs"):
        viz.explore(lambda x: x * x, {"x": 1.0}, ranges={"z": (0, 1)})
    with pytest.raises(ValueError, match="does not hold"):
        viz.explore(lambda x: x * x, {"x": 5.0}, ranges={"x": (0, 1)})
    with pytest.raises(TypeError, match="bogus"):          # a misspelt drawing option, at once
        viz.explore(lambda x: x * x, {"x": 1.0}, bogus=1)


def test_a_network_sized_graph_is_drawn_not_refused():
    """The loss of MLP(2, [16, 16, 1]) is above draw's max_nodes: the explorer draws it as `viz.show`
    does (neurons collapsed, or laid out in layers) instead of showing draw's error (issue 15)."""
    require(importlib.util.find_spec("ipywidgets") is not None, "ipywidgets", "pip install -e '.[notebook]'")
    require_dot()
    import nn
    import viz

    model = nn.MLP(2, [16, 16, 1], rng=1)
    ex = viz.explore(lambda x0, x1: nn.squared_error(model([x0, x1]), [1.0]), {"x0": 1.0, "x1": -2.0})
    assert ex.error == "" and "<svg" in ex.diagram.value
    assert set(ex.gradients) == {"x0", "x1"} and all(math.isfinite(g) for g in ex.gradients.values())
