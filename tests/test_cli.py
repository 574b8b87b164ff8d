"""The `deltagrad` command through its entry point `deltagrad.cli.main([...])`: exit status, output, files
written; every kind of bad input exits 2 with one line on stderr; and once through the installed script."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deltagrad import cli
from deltagrad.cli import main
from tests.conftest import require, require_dot

NEURON_ARGS = ["tanh(x1*w1 + x2*w2 + b)", "x1=2", "x2=0", "w1=-3", "w2=1", "b=6.8813735870195432"]
OUT = 1 / math.sqrt(2)          # tanh(atanh(1/√2)); do/dn = 1 - o² = 1/2
NEURON_GRADS = {"x1": -3 * 0.5, "w1": 2 * 0.5, "x2": 1 * 0.5, "w2": 0.0, "b": 0.5}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def table(out: str) -> dict[str, tuple[float, float]]:
    """name -> (value, grad) from the rows of `deltagrad grad`'s table."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].isidentifier() and parts[0] != "name":
            try:
                rows[parts[0]] = (float(parts[1]), float(parts[2]))
            except ValueError:
                pass
    return rows


# ---- grad ---------------------------------------------------------------------------------------

def test_grad_prints_the_value_and_every_inputs_gradient(capsys):
    code, out, err = run(capsys, "grad", *NEURON_ARGS)
    assert code == 0 and err == ""
    assert "value = 0.707107" in out
    rows = table(out)
    assert list(rows) == ["x1", "w1", "x2", "w2", "b"]
    for name, g in NEURON_GRADS.items():
        assert rows[name][1] == pytest.approx(g, abs=1e-6), name
    assert rows["b"][0] == pytest.approx(6.88137, abs=1e-5)


def test_grad_json_is_exact_and_includes_named_nodes(capsys):
    code, out, _ = run(capsys, "grad", "n = x1*w1 + x2*w2 + b; o = tanh(n)", *NEURON_ARGS[1:], "--json")
    assert code == 0
    data = json.loads(out)
    assert data["value"] == pytest.approx(OUT, abs=1e-15)
    assert data["gradients"] == pytest.approx(NEURON_GRADS, abs=1e-14)
    assert data["inputs"]["w1"] == -3.0 and data["inputs"]["b"] == 6.8813735870195432
    assert data["nodes"]["n"]["grad"] == pytest.approx(0.5, abs=1e-14)
    assert data["nodes"]["o"] == {"value": data["value"], "grad": 1.0}


def test_grad_names_the_output_and_marks_nodes(capsys):
    code, out, _ = run(capsys, "grad", "n = x*w + b; o = tanh(n)", "x=1", "w=0.5", "b=0.25", "--digits", "4")
    assert code == 0
    assert "o = 0.6351" in out and "do/dname" in out
    rows = out.split("\n\n", 1)[1].splitlines()[1:]  # after the blank line and the header
    assert [r.split()[0] for r in rows] == ["x", "w", "b", "n"]
    node_line = rows[-1]
    assert node_line.endswith("(node)")
    assert table(out)["n"][1] == pytest.approx(1 - math.tanh(0.75) ** 2, abs=1e-4)


def test_grad_of_reuse_and_of_a_constant(capsys):
    code, out, _ = run(capsys, "grad", "x*x + x", "x=3")
    assert code == 0 and table(out)["x"] == (3.0, 7.0)
    code, out, _ = run(capsys, "grad", "x", "x=3")
    assert code == 0 and "x = 3" in out and table(out)["x"] == (3.0, 1.0)
    code, out, _ = run(capsys, "grad", "2 ** 3")
    assert code == 0 and "value = 8" in out and "constant" in out


def test_a_negative_expression_after_double_dash(capsys):
    code, out, _ = run(capsys, "grad", "--json", "--", "-x*y", "x=2", "y=3")
    assert code == 0 and json.loads(out)["gradients"] == {"x": -3.0, "y": -2.0}


# ---- draw ---------------------------------------------------------------------------------------

NAMED_NEURON = ["n = x1*w1 + x2*w2 + b; o = tanh(n)", *NEURON_ARGS[1:]]


def dot_nodes(text: str) -> dict[str, str]:
    """DOT node statements by id: ``n3 [label=...]`` -> {"n3": "[label=...]"}."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^\s*((?:n|op)\d+) (\[.*\])$", text, re.M)}


def test_draw_writes_dot_with_every_node_named_and_gradients(capsys, tmp_path):
    from autodiff import parse_expression, topological_order

    path = tmp_path / "neuron.dot"
    code, out, err = run(capsys, "draw", *NAMED_NEURON, "-o", str(path), "--show-local", "--highlight", "n")
    assert code == 0 and out.strip() == f"wrote {path}", err
    text = path.read_text()
    nodes = dot_nodes(text)
    order = topological_order(parse_expression(NAMED_NEURON[0], **cli._values(NAMED_NEURON[1:])).root)
    values = {k for k in nodes if k.startswith("n")}
    ops = {k for k in nodes if k.startswith("op")}
    assert values == {f"n{i}" for i in range(len(order))}
    assert len(ops) == sum(1 for v in order if not v.is_leaf)
    for name in ("x1", "w1", "x2", "w2", "b", "n", "o"):
        assert f"<B>{name}</B>" in text, name
    assert "grad 0.5" in text and "grad —" not in text          # after the backward pass
    assert "label=" in re.search(r"-> op\d+ \[(.*)\]", text).group(1)  # local derivatives on edges
    n_box = next(v for k, v in nodes.items() if "<B>n</B>" in v)
    assert "penwidth" in n_box                                    # highlighted


def test_draw_before_backward_shows_gradients_as_not_computed(capsys, tmp_path):
    path = tmp_path / "g.dot"
    code, _, _ = run(capsys, "draw", "x*x", "x=3", "-o", str(path), "--no-backward", "--rankdir", "TB")
    text = path.read_text()
    assert code == 0 and "grad —" in text and "rankdir=TB" in text


def test_draw_svg_with_graphviz(capsys, tmp_path):
    require_dot()
    import xml.etree.ElementTree as ET

    path = tmp_path / "neuron.svg"
    code, _, err = run(capsys, "draw", *NAMED_NEURON, "-o", str(path))
    assert code == 0, err
    ids = {el.get("id") for el in ET.parse(path).iter() if el.get("id")}
    assert {f"n{i}" for i in range(10)} <= ids and "n10" not in ids   # 5 inputs, 5 computed values
    assert {"op9", "e9", "e9_0"} <= ids                                # o = tanh(n): the last op


@pytest.mark.parametrize("extra, words", [
    (["--highlight", "zz"], "--highlight zz: no such name"),
    (["--precision", "0"], "precision is a number of significant digits"),
    (["--max-nodes", "2"], "max_nodes=2"),
])
def test_draw_bad_options_exit_2(capsys, tmp_path, extra, words):
    code, _, err = run(capsys, "draw", "x*x", "x=3", "-o", str(tmp_path / "g.dot"), *extra)
    assert code == 2 and words in err and err.count("\n") == 1
    assert not (tmp_path / "g.dot").exists()


# ---- step ---------------------------------------------------------------------------------------

def test_step_plain_prints_every_forward_and_backward_step(capsys):
    code, out, err = run(capsys, "step", "x*x + x", "x=3", "--plain")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "start: the leaves are x = 3.0"
    assert "step 1/2  mul: v1 = x × x = 3.0 × 3.0 → 9.0" in lines
    assert "backward begins: v2.grad = dv2/dv2 = 1.0" in lines
    accumulation = "x.grad += x · v1.grad = 3.0 · 1.0 → 4.0 + 3.0 = 7.0"
    assert any(line.strip() == accumulation for line in lines)


def test_step_when_piped_is_plain_too(capsys):
    code, out, _ = run(capsys, "step", *NEURON_ARGS)
    assert code == 0 and "step 5/5  tanh" in out and "b.grad" in out


def test_step_predict_needs_html(capsys):
    code, _, err = run(capsys, "step", "x*2", "x=1", "--predict")
    assert code == 2 and "--predict works with --html" in err


# ---- train --------------------------------------------------------------------------------------

def test_train_moons_prints_accuracy_and_is_deterministic(capsys):
    argv = ["train", "moons", "--epochs", "3", "--samples", "20", "--hidden", "4,3", "--seed", "2", "-q"]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "MLP(2, [4, 3, 1]) on 20 points" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("after 3 epochs: loss ") and last.endswith("%")
    accuracy = float(last.split("accuracy ")[1].rstrip("%"))
    assert 0 <= accuracy <= 100
    assert run(capsys, *argv)[1] == out


def test_training_lowers_the_loss_and_separates_the_moons():
    model, X, y, losses, accuracy = cli.train_moons(epochs=25, hidden=[8, 8], lr=1.0, seed=1, samples=40,
                                                    noise=0.1, lam=1e-4)
    assert len(losses) == 26 and losses[-1] < 0.5 * losses[0]
    assert accuracy >= 0.9
    # The batched scores used for the plot and the accuracy are the model's one-example outputs.
    scores = cli.model_scores(model, X)
    assert scores == pytest.approx([model(x)[0].data for x in X.tolist()], rel=1e-12, abs=1e-12)
    assert ((scores > 0) == (y > 0)).mean() == accuracy


def test_train_writes_a_png_plot(capsys, tmp_path):
    try:
        import matplotlib  # noqa: F401
        have = True
    except ImportError:
        have = False
    require(have, "matplotlib", "pip install 'deltagrad[plot]'")
    out_png = tmp_path / "moons.png"
    code, out, _ = run(capsys, "train", "moons", "--epochs", "2", "--samples", "16", "--hidden", "3", "-q",
                       "-o", str(out_png))
    assert code == 0 and f"wrote {out_png}" in out
    import matplotlib.image

    image = matplotlib.image.imread(out_png)
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.shape[0] > 300 and image.shape[1] > 2 * image.shape[0] * 0.9  # two panels side by side
    assert image[..., :3].std() > 0.05  # not a blank canvas


# ---- --help and errors --------------------------------------------------------------------------

@pytest.mark.parametrize("command", [[], ["grad"], ["draw"], ["step"], ["check"], ["train"], ["demo"]])
def test_every_subcommand_has_help(capsys, command):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0 and out.startswith("usage: deltagrad")
    if command in (["grad"], ["draw"], ["step"]):
        assert "exp() log() tanh() sigmoid() relu()" in out


@pytest.mark.parametrize("argv, words", [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "required: COMMAND"),
    (["grad"], "required: EXPR"),
    (["grad", "x.y", "x=1"], "line 1, column 1: `x.y`: attribute access is not allowed"),
    (["grad", "x +* y", "x=1", "y=2"], "line 1, column 4: invalid syntax"),
    (["grad", "open('f')"], "`open(...)` is not an allowed function"),
    (["grad", "x*y", "x=1", "y=abc"], "y=abc: 'abc' is not a number"),
    (["grad", "x*y", "x=1", "y=nan"], "must be a finite number"),
    (["grad", "x*y", "x=1", "y"], "'y' is not name=value"),
    (["grad", "x*y", "x=1", "2y=1"], "is not name=value"),
    (["grad", "x*y", "x=1", "y=2", "x=3"], "x is given twice"),
    (["grad", "x*y", "x=1"], "no value given for y"),
    (["grad", "x*y", "x=1", "y=2", "z=3"], "z is given a value but not used (it uses x, y)"),
    (["grad", "log(x)", "x=0"], "log needs an input > 0"),
    (["grad", "x**y", "x=-2", "y=2"], "needs log of a negative base"),  # raised by the backward pass
    (["grad", "x", "x=1", "--digits", "many"], "digits from 1 to 17, got 'many'"),
    (["draw", "x*2", "x=1", "-o", "/nonexistent-dir/g.svg"], "the folder /nonexistent-dir does not exist"),
    (["draw", "x*2", "x=1", "-o", "g.jpeg"], "must end in .svg, .png, .pdf, .dot"),
    (["draw", "x*2", "x=1"], "required: -o/--output"),
    (["step", "x*2", "x=1", "--html", "/nonexistent-dir/s.html"], "does not exist"),
    (["train", "moons", "-o", "/nonexistent-dir/p.png"], "does not exist"),
    (["train", "moons", "--hidden", "16,x"], "--hidden '16,x'"),
    (["train", "moons", "--hidden", "0"], "positive integers"),
    (["train", "moons", "--epochs", "0"], "--epochs must be at least 1"),
    (["train", "moons", "--lr", "-1"], "--lr must be a number > 0"),
    (["train", "circles"], "invalid choice: 'circles'"),
    (["check", "--doc", "007"], "invalid choice: '007'"),
])
def test_bad_input_exits_2_with_one_line_on_stderr(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert words in err
    assert err.count("\n") == 1 and err.startswith("deltagrad") and "Traceback" not in err


def test_an_output_path_that_is_a_folder_or_read_only(capsys, tmp_path):
    code, _, err = run(capsys, "train", "moons", "-o", str(tmp_path))
    assert code == 2 and "is a folder" in err
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        code, _, err = run(capsys, "train", "moons", "-o", str(locked / "p.png"))
        assert code == 2 and "permission denied" in err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "demo", "--out", str(blocker))
    assert code == 2 and "a file of that name exists" in err
    code, _, err = run(capsys, "demo", "--out", str(blocker / "sub"))
    assert code == 2 and "cannot create the folder" in err


# ---- the installed script -------------------------------------------------------------------------

def _script() -> str | None:
    beside = Path(sys.executable).parent / "deltagrad"
    return str(beside) if beside.exists() else shutil.which("deltagrad")


def test_the_installed_deltagrad_script(tmp_path):
    script = _script()
    require(script is not None, "the `deltagrad` console script", "pip install -e . into .venv")
    done = subprocess.run([script, "grad", *NEURON_ARGS, "--json"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gradients"] == pytest.approx(NEURON_GRADS, abs=1e-14)

    bad = subprocess.run([script, "grad", "__import__('os').system('touch pwned')"], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "not an allowed function" in bad.stderr
    assert not (tmp_path / "pwned").exists()

    unknown = subprocess.run([script, "nope"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1


# ---- demo ---------------------------------------------------------------------------------------

def _available(module: str, attribute: str) -> bool:
    import importlib
    try:
        return hasattr(importlib.import_module(module), attribute)
    except ImportError:
        return False


def test_demo_writes_its_files_and_tours_every_available_part(capsys, tmp_path):
    folder = tmp_path / "tour"
    code, out, err = run(capsys, "demo", "--out", str(folder), "--epochs", "2", "-q")
    assert code == 0, err
    for title in ("1. the classic neuron", "2. its diagram", "3. the step-through", "4. document 004",
                  "5. a short training"):
        assert title in out
    assert table(out)["w1"][1] == pytest.approx(1.0, abs=1e-6)
    assert "after 2 epochs" in out and f"the files are in {folder}/" in out
    draw = _available("viz.draw", "render")
    assert (folder / "neuron.svg").exists() == draw
    assert (folder / "neuron_stepper.html").exists() == (draw and _available("viz.step_html", "step_html"))
    if _available("nn", "compare_document"):
        assert "skipped: the closed-form comparison" not in out
    try:
        import matplotlib  # noqa: F401
        assert (folder / "moons.png").read_bytes()[:4] == b"\x89PNG"
    except ImportError:
        assert not (folder / "moons.png").exists()


def test_demo_skips_a_missing_piece_reports_a_broken_one_and_finishes_the_tour(capsys, tmp_path,
                                                                                  monkeypatch):
    import importlib

    import nn

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.delattr(importlib.import_module("viz.draw"), "render")
    monkeypatch.setattr(nn, "compare_document", broken)
    code, out, err = run(capsys, "demo", "--out", str(tmp_path), "--epochs", "1", "-q")
    assert code == 1
    assert "skipped: drawing diagrams (viz.draw.render) is not available yet" in out
    assert "FAILED: ZeroDivisionError: a bug" in err and "1 part(s) FAILED" in err
    assert "1 part(s) skipped" in out and "5. a short training" in out and "after 1 epochs" in out
    assert not (tmp_path / "neuron.svg").exists()


@pytest.mark.parametrize("doc", ["000", "001", "002", "003", "004"])
def test_check_prints_each_documents_table_and_exits_0(capsys, doc):
    code, out, err = run(capsys, "check", "--doc", doc, "--seed", "3")
    assert code == 0 and err == ""
    assert out.startswith(f"document {doc}: ") and "layers.0.neurons.0.z" in out and "closed form" in out
    assert "the engine and the closed form AGREE" in out
    assert out.rstrip().endswith("all equations agree with the engine")


def test_check_all_runs_every_document(capsys):
    code, out, _ = run(capsys, "check", "--seed", "1")
    assert code == 0
    assert [line[9:12] for line in out.splitlines() if line.startswith("document ")] == \
        ["000", "001", "002", "003", "004"]
    assert out.count("AGREE") == 5 and "DISAGREE" not in out


def test_check_exits_1_when_a_closed_form_is_wrong(capsys, monkeypatch):
    from nn import closed_form

    cls = closed_form.DOCUMENTS["004"]
    right = cls._backprop

    def off_by_a_little(self, X, Y, backward):       # a wrong output δ: a printed formula gone unnoticed
        bp = right(self, X, Y, backward)
        if backward:
            bp.delta[1] = bp.delta[1] * 1.001
        return bp

    monkeypatch.setattr(cls, "_backprop", off_by_a_little)
    code, out, err = run(capsys, "check", "--doc", "004")
    assert code == 1
    assert "<-- differs" in out and "DISAGREE" in out
    assert out.rstrip().endswith("DISAGREEMENT: see the tables above")
    code, out, _ = run(capsys, "check", "--doc", "003")    # the other documents are unaffected
    assert code == 0


# ---- python -m deltagrad and --version ------------------------------------------------------------

def test_python_dash_m_deltagrad_runs_the_same_command(tmp_path):
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "deltagrad", "grad", *NEURON_ARGS, "--json"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gradients"] == pytest.approx(NEURON_GRADS, abs=1e-14)


def test_version_is_the_distributions_one_version(capsys):
    from importlib.metadata import version

    import autodiff
    import deltagrad
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"deltagrad {version('deltagrad')}"
    assert autodiff.__version__ == deltagrad.__version__ == version("deltagrad")


def _key_columns(table: str) -> set[str]:
    """The keys named in a two-column table of keys (fields split by runs of two or more spaces)."""
    keys = set()
    for line in textwrap.dedent(table).splitlines():
        if line.startswith(" "):  # a description's second line
            continue
        parts = re.split(r"\s{2,}", line)
        keys.update(k for i in (0, 2) if i < len(parts) for k in parts[i].split())
    return keys


def test_step_help_lists_every_key_the_terminal_stepper_takes(capsys):
    # issue 14: `step --help` listed n/p/q only, though the stepper also takes ?, b, ] [, PgDn, digits...
    from viz.stepper import KEYS_HELP

    code, out, _ = run(capsys, "step", "--help")
    table = out.split("one step per key:\n", 1)[1].split("\nPiped output", 1)[0]
    assert code == 0 and _key_columns(table) == _key_columns(KEYS_HELP)
    assert {"?", "b", "]", "PgDn", "digits", "Home", "End", "q"} <= _key_columns(table)
