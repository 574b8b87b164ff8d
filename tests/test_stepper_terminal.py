"""The terminal stepper driven headlessly: keys from a list, screens from rich's recording console."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from autodiff import Value
from viz.stepper import render_frame, step_terminal


def neuron():
    x1, x2, w1, w2, b = (Value(v, k) for v, k in
                         [(2.0, "x1"), (0.0, "x2"), (-3.0, "w1"), (1.0, "w2"), (6.8813735870195432, "b")])
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, x1


def drive(root, keys):
    """Run the stepper on ``keys`` and return the screen shown before each key was read."""
    console = Console(record=True, file=io.StringIO(), width=120, force_terminal=True)
    screens, pending = [], list(keys)

    def next_key():
        screens.append(console.export_text(clear=True))
        return pending.pop(0)

    walk = step_terminal(root, console=console, keys=next_key, interactive=True)
    assert not pending, "the stepper stopped before reading every key"
    return walk, screens


def test_keys_move_forward_and_back_and_quit():
    o, x1 = neuron()
    walk, screens = drive(o, ["n"] * 7 + ["p", "right", "left", "left", "q"])
    assert len(walk) == 12
    frames = [int(s.split("frame ")[1].split("/")[0]) for s in screens]
    assert frames == [1, 2, 3, 4, 5, 6, 7, 8, 7, 8, 7, 6]
    assert "start: the leaves are x1 = 2.0" in screens[0]
    assert "backward begins: o.grad = do/do = 1.0" in screens[6]
    tanh_screen = screens[7]
    assert "n.grad += (1 − o²) · o.grad = 0.5 · 1.0 → 0.5" in tanh_screen
    assert "o = tanh(n)  ·  node 10 of 10 in topological order  ·  used by nothing" in tanh_screen
    rows = {line.split()[0]: line for line in tanh_screen.splitlines() if line.strip().startswith("n ")}
    assert rows["n"].rstrip().endswith("0.5")             # n's running gradient in the table
    assert walk.grads(len(walk) - 1)[x1] == pytest.approx(-1.5, abs=1e-12)  # one fresh pass
    assert not x1.has_grad                                 # and .grad left alone (issue 14)


def test_going_past_either_end_stays_put():
    x = Value(3.0, "x")
    walk, screens = drive(x * x, ["p", "n", "n", "n", "n", "escape"])
    frames = [int(s.split("frame ")[1].split("/")[0]) for s in screens]
    assert len(walk) == 4 and frames == [1, 1, 2, 3, 4, 4]
    assert "x.grad += x · v1.grad = 3.0 · 1.0 → 3.0 + 3.0 = 6.0" in screens[-1]


def test_gradient_table_shows_accumulation_and_hides_unknown_values():
    x = Value(3.0, "x")
    y = x * x
    z = y + x
    _, screens = drive(z, ["n"] * 5 + ["q"])
    forward_start = screens[0]
    v1_row = next(line for line in forward_start.splitlines() if line.strip().startswith("v1"))
    assert "·" in v1_row and "9.0" not in v1_row            # not computed yet at the start
    last = screens[-1]
    x_row = next(line for line in last.splitlines() if line.strip().startswith("x "))
    assert x_row.rstrip().endswith("1.0 → 7.0")             # 1 from z = y + x, then 3 + 3 from y = x * x


def test_piped_output_prints_every_step():
    o, _ = neuron()
    out = io.StringIO()
    walk = step_terminal(o, console=Console(file=out, width=120))
    text = out.getvalue()
    for frame in range(len(walk)):
        assert walk.text(frame).splitlines()[0] in text
    assert text.index("step 5/5  tanh: o") < text.index("backward begins") < text.index("step 1/5  tanh")
    assert "q quit" not in text


def test_render_frame_of_every_frame():
    o, _ = neuron()
    from autodiff import Walkthrough
    walk = Walkthrough(o)
    for frame in range(len(walk)):
        console = Console(record=True, file=io.StringIO(), width=100)
        console.print(render_frame(walk, frame))
        assert f"frame {frame + 1}/{len(walk)}" in console.export_text()


@pytest.mark.parametrize("bad", [None, 2.0, "x"])
def test_stepper_needs_a_value(bad):
    with pytest.raises(TypeError, match="needs a Value"):
        step_terminal(bad, console=Console(file=io.StringIO()))
