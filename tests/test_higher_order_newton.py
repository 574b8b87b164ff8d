"""examples/newton.py: Newton's method (Hessian from second derivatives) against gradient descent on a
two-parameter logistic loss; it runs, converges, and writes its plot."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "newton.py"


def _load():
    spec = importlib.util.spec_from_file_location("example_newton", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_newton_converges_in_a_few_steps_where_gradient_descent_needs_hundreds(capsys):
    newton = _load()
    runs = newton.main(["--no-plot"])
    gd, nt = runs["gradient descent"], runs["Newton"]
    assert gd.converged and nt.converged
    assert nt.steps <= 8 and gd.steps >= 20 * nt.steps
    assert math.dist(gd.path[-1], nt.path[-1]) < 1e-6  # |∇L| < 1e-8, λ_min(H) ≈ 0.04
    assert nt.gradient_norms[-1] < 1e-8 and all(b < a for a, b in zip(nt.losses, nt.losses[1:], strict=False))
    out = capsys.readouterr().out
    printed = dict(re.findall(r"^(gradient descent \(lr 0\.5\)|Newton)\s+(\d+)\s", out, re.M))
    assert printed == {"gradient descent (lr 0.5)": str(gd.steps), "Newton": str(nt.steps)}


def test_the_first_newton_step_solves_the_hessian_system_from_finite_differences():
    """An independent check of the step: H by central differences of the gradient, solved by numpy."""
    np = pytest.importorskip("numpy")
    newton = _load()
    start, h = (-1.0, 2.0), 1e-5
    _, g, H = newton.gradient_and_hessian(*start)
    numeric = np.array([[(newton.gradient(*(np.add(start, h * e)))[1][j]
                          - newton.gradient(*(np.subtract(start, h * e)))[1][j]) / (2 * h)
                         for j in range(2)] for e in np.eye(2)])
    assert np.allclose(H, numeric, rtol=1e-7, atol=1e-9)
    step = newton.newton_direction(g, H)
    assert np.allclose(step, np.linalg.solve(numeric, -np.array(g)), rtol=1e-6)
    assert np.allclose(g, newton.gradient(*start)[1], rtol=1e-15)


def test_pure_newton_far_from_the_minimum_is_reported_not_hidden(capsys):
    runs = _load().main(["--no-plot", "--start", "2", "2"])
    assert not runs["Newton"].converged and "overshoots" in runs["Newton"].status
    assert runs["gradient descent"].converged
    assert "... " in capsys.readouterr().out  # the step list is cut short


def test_the_script_runs_and_writes_its_plot(tmp_path):
    try:
        import matplotlib  # noqa: F401
        has_matplotlib = True
    except ImportError:
        has_matplotlib = False
    require(has_matplotlib, "matplotlib", "pip install matplotlib")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(EXAMPLE)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    png = tmp_path / "newton.png"  # the default: in the current directory
    assert f"wrote {png.name}" in done.stdout and "converged" in done.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    other = tmp_path / "sub" / "paths.png"
    other.parent.mkdir()
    done = subprocess.run([sys.executable, str(EXAMPLE), "-o", str(other), "--lr", "0.7"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert other.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "(lr 0.7)" in done.stdout
