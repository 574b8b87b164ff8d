"""`nn.exercise` and `deltagrad exercise`: seeded problem sheets (HTML through Jinja2 with autoescaping,
and Markdown), an answer key from the engine cross-checked against the document's closed form, and the
predict-mode stepper page; numbers neither trivial nor saturated."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from deltagrad.cli import main
from nn.closed_form import DOCUMENTS, TwoLayerSigmoidNet
from nn.exercise import FILES, SMALLEST, Z_MAX, Z_MIN, make_exercise
from tests.conftest import require_dot


def answers(text: str) -> dict[str, float]:
    """symbol -> number from answers.md's lines ``- ∂L/∂w[1,1] = 0.003998``, ``- w[1,1] → 0.998001``."""
    found = {}
    for line in text.splitlines():
        m = re.match(r"\s+- (.+?)(?: \(`([^`]+)`\))? (=|→) (-?[\d.]+(?:e-?\d+)?)$", line)
        if m:
            arrow = "→" if m.group(3) == "→" else ""
            found[m.group(1) + arrow] = float(m.group(4))
            if m.group(2):
                found[m.group(2)] = float(m.group(4))
    return found


def test_same_seed_same_sheet_another_seed_another(tmp_path):
    require_dot()
    a = make_exercise(doc="004", seed=7).write(tmp_path / "a")
    b = make_exercise(doc="004", seed=7).write(tmp_path / "b")
    c = make_exercise(doc="004", seed=8).write(tmp_path / "c")
    assert [p.name for p in a] == list(FILES)
    for pa, pb, pc in zip(a, b, c, strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
        assert pa.read_bytes() != pc.read_bytes(), pa.name


@pytest.mark.parametrize("kind", [dict(doc=d) for d in DOCUMENTS] + [
    dict(net="2-3-2", activation="sigmoid", loss="squared_error"),
    dict(net="3-2-2", activation="sigmoid", loss="binary_cross_entropy"),
    dict(net="2-4-3", activation="relu", loss="cross_entropy"),
    dict(net="2-2-2-1", activation="sigmoid", loss="squared_error")])
def test_numbers_are_neither_trivial_nor_saturated(kind):
    for seed in range(8):
        key = make_exercise(seed=seed, **kind).key
        assert key.agree
        z = [r.engine for r in key.forward if r.symbol == "z"]
        assert z and all(Z_MIN <= abs(v) <= Z_MAX for v in z), (seed, z)
        a = [r.engine for r in key.forward if r.symbol == "a"]
        if kind.get("activation", "sigmoid") == "sigmoid" and kind.get("doc") != "000":
            assert all(0.04 < v < 0.96 for v in a), (seed, a)        # no sigmoid near 0 or 1
        assert all(abs(r.engine) >= SMALLEST for r in key.deltas + key.grads), seed
        assert abs(key.loss.engine) > 1e-3


def test_the_key_holds_the_closed_forms_numbers(tmp_path):
    require_dot()
    exercise = make_exercise(doc="004", seed=7, lr=0.5)
    exercise.write(tmp_path)
    key = answers((tmp_path / "answers.md").read_text())
    closed = TwoLayerSigmoidNet.from_layers(exercise.layers)
    bp = closed.backprop([exercise.x], [exercise.y])
    (dW1, db1), (dW2, db2) = bp.grad_layers
    w, b1, u, b2 = closed.params
    # document 004's symbols: w[i,j] from input i to hidden j, u[i,j] from hidden i to output j
    assert key["∂L/∂w[1,2]"] == pytest.approx(dW1[1, 0], abs=1e-6)
    assert key["∂L/∂u[3,1]"] == pytest.approx(dW2[0, 2], abs=1e-6)
    assert key["∂L/∂b⁽²⁾[2]"] == pytest.approx(db2[1], abs=1e-6)
    assert key["u[3,1]→"] == pytest.approx(u[2, 0] - 0.5 * dW2[0, 2], abs=1e-6)
    assert key["δ₂ (y₂)"] == pytest.approx(bp.delta[1][0, 1], abs=1e-6)
    assert key["layers.0.neurons.2.z"] == pytest.approx(bp.delta[0][0, 2], abs=1e-6)   # the δ line
    assert len([k for k in key if k.startswith("∂L/∂")]) == 17
    sheet = (tmp_path / "sheet.md").read_text()
    assert f"{bp.loss:.6f}"[:6] not in sheet and "→" not in sheet.split("## Questions")[1]


def test_a_wrong_closed_form_stops_the_key(monkeypatch):
    right = TwoLayerSigmoidNet._backprop

    def wrong(self, X, Y, backward):
        out = right(self, X, Y, backward)
        if backward:                                           # a sign slip in ∂L/∂u
            w, b1, u, b2 = out.grads
            out.grads = (w, b1, -u, b2)
        return out

    monkeypatch.setattr(TwoLayerSigmoidNet, "_backprop", wrong)
    with pytest.raises(RuntimeError, match="disagree on this exercise; the key is not written"):
        make_exercise(doc="004", seed=7)


def test_html_is_escaped_markdown_is_not(tmp_path, monkeypatch):
    require_dot()
    monkeypatch.setattr(TwoLayerSigmoidNet, "title", "<script>alert(1)</script> & co")
    make_exercise(doc="004", seed=1).write(tmp_path)
    page = (tmp_path / "sheet.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "<script>alert(1)</script> & co" in (tmp_path / "sheet.md").read_text()


def test_the_stepper_page_asks_for_the_loss_graphs_gradients(tmp_path):
    require_dot()
    make_exercise(doc="004", seed=7).write(tmp_path)
    page = (tmp_path / "stepper.html").read_text()
    data = json.loads(re.search(r'<script type="application/json" id="dg-data">(.*?)</script>',
                                page, re.S).group(1))
    assert data["predict"] is True
    names = {n["name"] for n in data["nodes"]}
    assert "layers.1.neurons.0.w.2" in names and "layers.0.neurons.2.b" in names
    asked = {a["name"]: a["value"] for f in data["frames"] for a in f["asks"]}
    key = make_exercise(doc="004", seed=7).key
    w = next(r for r in key.grads if r.name == "layers.1.neurons.0.w.2")
    assert asked["layers.1.neurons.0.w.2"] == pytest.approx(w.engine, rel=1e-12)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="which network"):
        make_exercise()
    with pytest.raises(ValueError, match="no document derives a tanh network"):
        make_exercise(net="2-3-2", activation="tanh")
    with pytest.raises(ValueError, match="each 1 to 6"):
        make_exercise(net="2-30-2")
    with pytest.raises(ValueError, match="document 004 derives networks of 2 layers"):
        make_exercise(doc="004", net="2-2-2-2")
    with pytest.raises(ValueError, match="fixes the activation and the loss"):
        make_exercise(doc="004", loss="cross_entropy")
    with pytest.raises(ValueError, match="lr must be"):
        make_exercise(doc="004", lr=-1)


def test_exercise_command(tmp_path, capsys):
    require_dot()
    assert main(["exercise", "--doc", "004", "--seed", "7", "-o", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "document 004's closed form agrees" in out and out.count("wrote ") == 5
    assert main(["exercise", "--net", "2-3-2", "--activation", "sigmoid", "--loss", "squared_error",
                 "-o", str(tmp_path / "n")]) == 0
    assert "document 003's closed form agrees" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "n").iterdir()) == sorted(FILES)
    assert main(["exercise", "-o", str(tmp_path / "x")]) == 2
    assert "which network" in capsys.readouterr().err
    assert main(["exercise", "--doc", "004", "--loss", "cross_entropy", "-o", str(tmp_path / "x")]) == 2
    assert "go with --net alone" in capsys.readouterr().err
    assert main(["exercise", "--net", "2-3-2", "--activation", "relu", "-o", str(tmp_path / "x")]) == 2
    assert "no document derives a relu network with the squared_error loss" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["exercise", "--doc", "004", "-o", str(tmp_path / "file")]) == 2
    assert "a file of that name exists" in capsys.readouterr().err


def test_numbers_have_one_decimal():
    e = make_exercise(doc="003", seed=3)
    values = np.concatenate([np.ravel(W) for W, _ in e.layers] + [b for _, b in e.layers] + [e.x, e.y])
    assert np.allclose(values * 10, np.round(values * 10)) and (values != 0).all()


# ---- found by a new-user test of issue 16 -----------------------------------------------------------

def test_an_impossible_or_oversized_network_is_refused_at_once(tmp_path, capsys):
    with pytest.raises(ValueError, match="softmax over one output is always 1"):
        make_exercise(net="2-3-1", activation="relu", loss="cross_entropy")
    assert main(["exercise", "--net", "2-3-1", "--activation", "relu", "--loss", "cross_entropy",
                 "-o", str(tmp_path / "a")]) == 2
    assert "at least 2 outputs" in capsys.readouterr().err
    with pytest.raises(ValueError, match="4 layers of weights.*at most 3"):
        make_exercise(net="6-6-6-6-6", activation="relu", loss="cross_entropy")
    assert main(["exercise", "--net", "6-6-6-6-6", "--activation", "relu", "--loss", "cross_entropy",
                 "-o", str(tmp_path / "b")]) == 2
    assert "at most 3" in capsys.readouterr().err
    assert not any(p.exists() and any(p.iterdir()) for p in (tmp_path / "a", tmp_path / "b"))


def test_a_search_without_usable_numbers_ends_with_a_clear_error(tmp_path, capsys):
    # 6-6-6-6 with ReLU and cross-entropy: no draw in the bounded tries has every z and gradient usable
    assert main(["exercise", "--net", "6-6-6-6", "--activation", "relu", "--loss", "cross_entropy",
                 "-o", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "neither trivial nor saturated in" in err and "tries" in err and "Traceback" not in err


def test_the_sheet_uses_the_documents_letters_and_names_every_question_by_its_node():
    """Document 004 writes L = ½ Σ (y − t)² with y the output: its sheet calls the target t, not y; every
    question, gradients and updates too, gives the node path the stepper page shows."""
    sheet = make_exercise(doc="004", seed=7).render("sheet.md")
    assert "target t = (" in sheet and "target y" not in sheet
    for line in sheet.splitlines():
        if line.lstrip().startswith("- ") and ("∂L/∂" in line or "→" not in line):
            assert re.search(r"\(`layers\.\d+\.neurons\.\d+\.", line) or "loss" in line, line
    other = make_exercise(doc="003", seed=7).render("sheet.md")
    assert "target y = (" in other
