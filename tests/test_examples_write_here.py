"""The examples and `make demo` write where they are run (or where git ignores), never into the checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require, require_dot

ROOT = Path(__file__).resolve().parent.parent


def tracked_state() -> str:
    """What git sees as changed or new in the checkout (ignored files excluded)."""
    done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


@pytest.mark.parametrize("example, writes", [
    ("draw_neuron.py", ["neuron.svg"]),
    ("step_neuron.py", ["step_neuron.html"]),
    ("newton.py", ["newton.png"]),
])
def test_examples_write_into_the_directory_they_are_run_in(example, writes, tmp_path):
    require_dot()
    if example == "newton.py":
        require(_has("matplotlib"), "matplotlib",
                "pip install -e '.[plot]'")
    before = tracked_state()
    done = subprocess.run([sys.executable, str(ROOT / "examples" / example)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for name in writes:
        assert (tmp_path / name).stat().st_size > 0, name
    assert tracked_state() == before


def test_make_demo_writes_where_git_ignores():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    out = demo.split("--out", 1)[1].split()[0]
    ignored = subprocess.run(["git", "check-ignore", "-q", f"{out}/neuron.svg"], cwd=ROOT)
    assert ignored.returncode == 0, f"make demo writes into {out}, which git does not ignore"


def _has(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None
