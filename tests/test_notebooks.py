"""Every notebook in examples/notebooks runs top to bottom on a fresh, real Jupyter kernel (nbclient and
ipykernel), and shows what it is there to show: the values, a diagram's SVG, the stepper's page, a plot,
and for each course document every erratum of docs/errata.md with the printed formula off and the
corrected one agreeing with the engine. Kept in git with their outputs cleared."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from tests.conftest import require, require_dot

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "examples" / "notebooks"
ERRATA = (ROOT / "docs" / "errata.md").read_text(encoding="utf-8")
VERDICT = re.compile(r"^(E\d{3}-\d+): printed off by (\S+); corrected agrees to (\S+)$", re.M)


def notebooks() -> list[str]:
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def execute(name: str, cwd: Path):
    """The notebook after running it in a new kernel (cwd: a scratch folder); `pytest --durations=0`
    shows how long each takes."""
    for module in ("nbclient", "ipykernel", "matplotlib", "ipywidgets"):
        require(importlib.util.find_spec(module) is not None, module,
                "pip install -e '.[test,plot,notebook]'")
    require_dot()
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def outputs(nb, mime: str | None = None) -> list[str]:
    """Every output's text (streams and text/plain), or every output of type ``mime``."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if mime is None and out.output_type == "stream":
                found.append(out.text)
            elif mime is None and "text/plain" in out.get("data", {}):
                found.append(out.data["text/plain"])
            elif mime is not None and mime in out.get("data", {}):
                found.append(out.data[mime])
    return found


def steppers(nb) -> list[str]:
    return [h for h in outputs(nb, "text/html") if "<iframe" in h and "dg-diagram" in h]


def test_there_are_the_notebooks_the_issue_asks_for():
    assert {"tour", "mlp_levels", "doc_000", "doc_001", "doc_002", "doc_003", "doc_004",
            "second_derivatives", "exercises"} <= set(notebooks())


@pytest.mark.parametrize("name", notebooks())
def test_notebooks_are_kept_with_their_outputs_cleared(name):
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:1]


def test_tour(tmp_path):
    nb = execute("tour", tmp_path)
    text = "".join(outputs(nb))
    for line in ["do/dx1 = -1.5000", "do/dw1 = 1.0000", "do/dx2 = 0.5000", "do/dw2 = 0.0000",
                 "do/db = 0.5000", "accuracy 100%",
                 "step 5/5  mul: x1.grad += w1 · v2.grad = (-3.0) · 0.5 → -1.5"]:
        assert line in text, line
    svg, = outputs(nb, "image/svg+xml")
    assert "<svg" in svg and all(f">{name}" in svg for name in ("x1", "w1", "x2", "w2", "b", "n", "o"))
    assert len(steppers(nb)) == 1
    assert outputs(nb, "image/png"), "the moons plot"
    assert outputs(nb, "application/vnd.jupyter.widget-view+json"), "the explorer"
    assert list(tmp_path.iterdir()) == []        # the tour writes no files


@pytest.mark.parametrize("doc", ["000", "001", "002", "003", "004"])
def test_document_notebook_shows_every_erratum_printed_corrected_and_engine(doc, tmp_path):
    nb = execute(f"doc_{doc}", tmp_path)
    text = "".join(outputs(nb))
    assert f"document {doc}:" in text and "the engine and the closed form AGREE" in text
    listed = sorted(set(re.findall(rf"^\| (E{doc}-\d+) \|", ERRATA, re.M)))
    assert listed, f"docs/errata.md lists no erratum for {doc}"
    shown = {eid: (float(off), float(agree)) for eid, off, agree in VERDICT.findall(text)}
    assert sorted(shown) == listed
    for eid, (off, agree) in shown.items():
        assert off > 1e-4 and agree < 1e-12, (eid, off, agree)   # printed is off; corrected agrees
    assert len(steppers(nb)) == 1


def test_second_derivatives(tmp_path):
    nb = execute("second_derivatives", tmp_path)
    text = "".join(outputs(nb))
    assert "dy/dx   = 0.786447732966" in text and "d²y/dx² = -0.726861981384" in text
    assert "+0.000000000000 +0.786447732966" in text
    steps = {m[0]: int(m[1]) for m in re.findall(r"(gradient descent|Newton's method): +(\d+) steps", text)}
    assert steps["Newton's method"] <= 6 < 100 < steps["gradient descent"]
    assert outputs(nb, "image/svg+xml") and outputs(nb, "image/png")


def test_exercises_in_predict_mode(tmp_path):
    nb = execute("exercises", tmp_path)
    text = "".join(outputs(nb))
    assert "exercise 1: dy/dx: not answered yet" in text
    assert "exercise 1: dy/dx = 7.0" in text and "exercise 2: dL/dw = -0.5" in text
    page, = steppers(nb)
    assert "predict" in page


def test_mlp_at_every_level_of_detail(tmp_path):
    nb = execute("mlp_levels", tmp_path)
    pages = steppers(nb)
    starts = [re.findall(r"option value=&quot;(\w+)&quot; selected", page) for page in pages]
    assert starts == [["layer"], ["neuron"], ["op"], ["neuron"]]
    # the δ of the output neuron against its formula: loss = ½ (y − 1)², linear output y = z: δ = y − 1
    from nn import MLP
    y = MLP(2, [3, 2, 1], activation="tanh", rng=0)([1.0, -2.0])[0].data
    text = "".join(outputs(nb))
    delta = float(re.search(r"layer 2: δ = \[(\S+)\]", text).group(1))
    assert delta == pytest.approx(y - 1, abs=1e-6)
    assert len(re.findall(r"layer \d: δ = ", text)) == 3
