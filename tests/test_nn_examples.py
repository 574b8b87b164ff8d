"""The examples run: the classic neuron prints the textbook gradients; moons trains to ≥ 97%."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_neuron_prints_every_gradient(capsys):
    nodes = _load("neuron").main()
    out = capsys.readouterr().out
    printed = {m[0]: (float(m[1]), float(m[2]))
               for m in re.findall(r"^\s*(\S+)\s+data =\s*(\S+)\s+grad =\s*(\S+)$", out, re.M)}
    expected = {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5, "n": 0.5, "o": 1.0,
                "x1w1": 0.5, "x2w2": 0.5, "x1w1+x2w2": 0.5}
    assert set(printed) == set(expected)
    for label, grad in expected.items():
        assert printed[label][1] == pytest.approx(grad, abs=1e-6)
        assert nodes[label].grad == pytest.approx(grad, abs=1e-12)
    assert printed["o"][0] == pytest.approx(0.707107, abs=1e-6)
    assert "w.0.grad = 1.000000" in out and "w.1.grad = 0.000000" in out and "b.grad = 0.500000" in out


def test_moons_tiny_run_shows_progress(capsys):
    result = _load("moons").main(steps=2, n=12, progress=True)
    out = capsys.readouterr().out
    assert result["steps"] == 2 and 0.0 <= result["accuracy"] <= 1.0 and result["loss"] > 0
    assert "after 2 steps" in out and "accuracy" in out


def test_moons_reaches_97_percent():
    result = _load("moons").main(steps=30, seed=2, progress=False)
    assert result["accuracy"] >= 0.97


def test_moons_modes_train_the_same_numbers():
    moons = _load("moons")
    runs = [moons.main(steps=3, n=20, seed=3, progress=False, mode=m) for m in moons.MODES]
    for other in runs[1:]:
        assert other["loss"] == pytest.approx(runs[0]["loss"], rel=1e-10)
        assert other["accuracy"] == runs[0]["accuracy"]
    with pytest.raises(ValueError, match="mode must be one of batched, fused, eager"):
        moons.main(steps=1, mode="fast")
