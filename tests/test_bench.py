"""The benchmark scripts run (at tiny sizes only: benchmarks are not unit tests, no timing asserted),
and W4's closed-form numpy pass, written independently, agrees with the engine's gradients."""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import require

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
SCRIPTS = ["w1_micrograd_demo.py", "w2_deep_chain.py", "w3_wide.py", "w4_anchors.py", "w5_micro_ops.py",
           "w6_save_load.py", "w7_user_shaped.py", "w8_scaling.py"]


def run_script(*args, timeout=120):
    return subprocess.run([sys.executable, *args], cwd=BENCH, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_script_runs_alone_at_tiny_size(script):
    result = run_script(script, "--tiny")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("### W")
    assert any(f"| {first} |" in result.stdout for first in ("contender", "operation", "graph"))
    assert "deltagrad" in result.stdout


def test_run_all_writes_the_report(tmp_path):
    out = tmp_path / "benchmarks.md"
    result = run_script("run_all.py", "--tiny", "--out", str(out), timeout=300)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    for heading in ["# Benchmarks", "### Targets", *(f"### W{k}" for k in range(1, 9))]:
        assert heading in text
    if importlib.util.find_spec("micrograd") is None:
        assert "micrograd is not installed" in text
    require(importlib.util.find_spec("micrograd") is not None, "micrograd (the benchmarks' peer)",
            "pip install 'deltagrad[bench]'")
    assert "eager ≥ 15× micrograd on W1" in text


def test_closed_form_pass_matches_the_engine():
    sys.path.insert(0, BENCH)
    try:
        from _common import moons
        from w4_anchors import ALPHA, closed_form_step, initial_weights
    finally:
        sys.path.remove(BENCH)
    from autodiff import neuron
    from autodiff.batched import batch, batch_columns, mean
    from nn.layers import MLP

    X, y = moons(40)
    layers = initial_weights()
    loss_np, grads = closed_form_step(X, y, layers, lr=0.0)
    model = MLP(2, [16, 16, 1], rng=1, fused=True)
    ps = model.parameters()
    loss = mean((1 - batch(y) * model(batch_columns(X))[0]).relu()) + ALPHA * neuron(ps, ps, 0.0)
    loss.backward()
    assert loss.data == pytest.approx(loss_np, rel=1e-12)
    for layer, (dW, db) in zip(model.layers, grads, strict=True):
        engine_W = np.array([[n.w[k].grad for n in layer.neurons] for k in range(layer.nin)])
        engine_b = np.array([n.b.grad for n in layer.neurons])
        np.testing.assert_allclose(engine_W, dW, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(engine_b, db, rtol=1e-10, atol=1e-14)


def test_w8a_divides_by_the_counted_nodes():
    # The nominal n is not the graph's size (the chain's constants are nodes too): each cell names
    # the nodes topological_order counts, and the per-node time is the step's time over them.
    result = run_script("w8_scaling.py", "--tiny")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith(("| chain", "| README loop"))]
    assert "1,666 nodes" in rows[0] and "5,001 nodes" in rows[0]     # n/3 links of 5 nodes, and x0
    assert "1,642 nodes" in rows[1]
    units = {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
    for row in rows:
        for cell in row.split(" | ")[1:3]:
            per, unit, step, step_unit, nodes = cell.replace("(", "").replace(",", "").split()[:5]
            assert float(per) * units[unit] == pytest.approx(
                float(step) * units[step_unit] / int(nodes), rel=0.02)
