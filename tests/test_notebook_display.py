"""What a notebook shows for each object, in a real Jupyter kernel: a Value as a small HTML table, a
diagram as SVG scaled to the output width, a comparison as an HTML table, the terminal stepper as one
output (not one per step) and no traceback, even on a graph of a thousand nodes."""

from __future__ import annotations

import importlib.util

import pytest

import nn
from autodiff import Value
from tests.conftest import require, require_dot


def test_value_html_shows_label_op_data_and_whether_grad_is_computed():
    x = Value(2.0, "x<1>")
    y = x * x
    assert "x&lt;1&gt;" in x._repr_html_() and "leaf" in x._repr_html_()
    assert "not computed yet" in y._repr_html_() and "mul" in y._repr_html_()
    y.backward()
    cells = x._repr_html_().split("<td>")[1:]
    assert [c.split("</td>")[0] for c in cells] == ["x&lt;1&gt;", "leaf", "2", "4"]


def test_comparison_html_has_every_delta_and_gradient_row_and_the_verdict():
    pytest.importorskip("numpy")
    from nn.comparison import compare, random_case

    model, X, Y = random_case("004", 2, [3, 2], 1, 0)
    c = compare(model, X, Y, "004")
    page = c._repr_html_()
    for r in [c.loss, *c.deltas, *c.grads]:
        assert f"<td>{r.name}</td>" in page and f"{r.engine:+.16e}" in page
    assert "AGREE" in page and page.count("<tr") == 1 + 1 + 2 + len(c.deltas) + len(c.grads)
    report = nn.compare_document("004")._repr_html_()
    assert "also checked" in report and "2-3-2" in report


def test_a_diagram_scales_down_to_the_output_width():
    require_dot()
    import viz

    x = Value(2.0, "x")
    svg = viz.show(x * x)._repr_mimebundle_()["image/svg+xml"]
    assert svg.startswith('<svg style="max-width:100%;height:auto"') and "viewBox" in svg


def test_in_a_kernel_each_object_shows_once_and_nothing_prints_a_traceback(tmp_path):
    for module in ("nbclient", "ipykernel"):
        require(importlib.util.find_spec(module) is not None, module, "pip install -e '.[test]'")
    require_dot()
    import nbclient
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [
        "import nn, viz\nfrom autodiff import Value\nx = Value(2.0, 'x'); y = x * x; y.label = 'y'\ny",
        "viz.step_terminal(y)",
        "m = nn.MLP(2, [16, 16, 1], rng=1)\n"
        "big = nn.squared_error(m([Value(1.0, 'x0'), Value(2.0, 'x1')]), [1.0])\n"
        "viz.step_terminal(big)",
        "nn.compare_document('004')",
    ]
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    value, small, large, table = nb.cells
    assert "text/html" in value.outputs[0].data
    for cell, frames in [(small, 4), (large, None)]:
        shown = [o for o in cell.outputs if o.output_type == "display_data"]
        assert len(shown) == 1                                          # one output, not one per step
        assert not [o for o in cell.outputs if o.output_type == "execute_result"]  # no stray repr after it
        if frames:
            assert f"frame {frames}/{frames}" in shown[0].data["text/plain"]
    assert "AGREE" in table.outputs[0].data["text/html"]
