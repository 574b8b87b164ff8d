"""The package as a user gets it: a wheel and an sdist built with `python -m build`, the wheel installed
into a fresh virtual environment, where the command and the three packages work and ship py.typed."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("autodiff", "nn", "viz", "deltagrad")


def run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    return out


def test_wheel_and_sdist_hold_the_packages_the_licence_and_py_typed(dist):
    wheel, = dist.glob("deltagrad-*.whl")
    sdist, = dist.glob("deltagrad-*.tar.gz")
    names = zipfile.ZipFile(wheel).namelist()
    for package in PACKAGES:
        assert f"{package}/__init__.py" in names and f"{package}/py.typed" in names, package
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    assert not any(n.startswith(("tests/", "examples/", "docs/")) for n in names)
    with tarfile.open(sdist) as tar:
        members = tar.getnames()
    assert any(m.endswith("/LICENSE") for m in members) and any(m.endswith("/viz/py.typed") for m in members)


def test_the_wheel_installs_into_a_fresh_venv_and_works(dist, tmp_path):
    wheel, = dist.glob("deltagrad-*.whl")
    env = tmp_path / "env"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel)
    assert run(env / "bin" / "deltagrad", "--version", cwd=tmp_path).split() == ["deltagrad", "0.1.0"]
    # run outside the checkout, so the installed copy (not the source tree) is imported
    out = run(python, "-c", "import autodiff, nn, viz; print(autodiff.__file__); "
              "x = autodiff.Value(3.0); y = x * x; y.backward(); print(x.grad)", cwd=tmp_path)
    where, grad = out.split()
    assert Path(where).is_relative_to(env) and grad == "6.0"
    # the stepper page's template, styles and script are package data: a page from the installed copy
    page = run(env / "bin" / "deltagrad", "step", "x*x + x", "x=3", "--html", "p.html", cwd=tmp_path)
    assert "wrote p.html" in page
    html = (tmp_path / "p.html").read_text()
    assert "<svg" in html and "application/json" in html
