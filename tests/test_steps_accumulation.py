"""A reused node's accumulation is shown whenever it already received a term in the pass, also when
that term (or the sum so far) is 0.0, -0.0 or a batch of zeros: in the step text at every level and in
every view of it, the terminal stepper, the HTML page (and predict mode) and ``--frames`` (issue 14)."""

from __future__ import annotations

import json
import math
import re

import pytest

import autodiff
from autodiff import Value, Walkthrough, backward_steps
from tests.conftest import require_dot


def x_lines(text: str, name: str = "x") -> list[str]:
    """The lines of a step text about ``name``'s gradient, from ``name.grad +=`` on."""
    return [line[line.index(f"{name}.grad +="):] for line in text.splitlines() if f" {name}.grad +=" in line]


def test_x_times_x_at_zero_shows_the_second_term_added():
    x = Value(0.0, "x")
    y = x * x
    y.label = "y"
    (step,) = backward_steps(y)
    assert step.held == (None, 0.0) and step.running == (0.0, 0.0)
    assert str(step).splitlines() == ["step 1/1  mul: x.grad += x · y.grad = 0.0 · 1.0 → 0.0",
                                      "               x.grad += x · y.grad = 0.0 · 1.0 → 0.0 + 0.0 = 0.0"]
    assert not x.has_grad


@pytest.mark.parametrize("first, second", [(0.0, -0.0), (-0.0, 0.0)])
def test_a_node_used_three_times_whose_first_two_terms_are_zeros(first, second):
    x, c = Value(5.0, "x"), Value(2.0, "c")
    a, b = Value(first, "a"), Value(second, "b")
    y = x * c + x * b + x * a              # the pass reaches x * a first, then x * b, then x * c
    into_x = [(s.held[0], s.contributions[0], s.running[0], str(s)) for s in backward_steps(y)
              if s.parents[0] is x]
    assert [t for _, t, _, _ in into_x] == [first, second, 2.0]
    assert [math.copysign(1, t) for _, t, _, _ in into_x[:2]] == [math.copysign(1, first),
                                                                   math.copysign(1, second)]
    held = [h for h, _, _, _ in into_x]
    assert held[0] is None and held[1] == 0.0 and math.copysign(1, held[1]) == math.copysign(1, first)
    assert held[2] == 0.0
    assert [x_lines(text)[0].split(" → ")[1] for *_, text in into_x] == [
        "0.0", "0.0 + 0.0 = 0.0", "0.0 + 2.0 = 2.0"]
    assert into_x[-1][2] == autodiff.grad(y, [x])[0] == 2.0


def test_a_tiny_held_gradient_is_not_lost_to_rounding():
    """The held number is the one the pass holds, not running − term (1e-20 + 1.0 − 1.0 is 0.0)."""
    x, a, b = Value(1.0, "x"), Value(1e-20, "a"), Value(1.0, "b")
    y = x * b + x * a
    texts = [str(s) for s in backward_steps(y) if s.parents[0] is x]
    assert x_lines(texts[1])[0].endswith("→ 1e-20 + 1.0 = 1.0")


def test_a_held_batch_of_zeros_shows_the_accumulation_for_each_example():
    from autodiff.batched import batch, total

    x = batch([0.0, 0.0, 1.0], "x")
    y = total(x * x)
    for example, shown in [(0, "0.0 + 0.0 = 0.0"), (2, "1.0 + 1.0 = 2.0")]:
        walk = Walkthrough(y, example=example)
        lines = x_lines(walk.text(len(walk) - 1))
        assert [line.split(" → ")[1] for line in lines] == [lines[0].split(" → ")[1], shown]
        assert lines[0].endswith("→ " + shown.split(" + ")[0])


def zero_output_loss():
    """A 2-3-1 network whose output neuron is zeroed (its z = 0.0) and the loss z·z + c: the loss's own
    step, at the neuron and layer levels, passes z two terms of 0.0."""
    import nn

    model = nn.MLP(2, [3, 1], rng=1)
    out = model.layers[-1].neurons[0]
    for p in [*out.w, out.b]:
        p.data = 0.0
    z = model([1.0, -2.0])[0]
    return z * z + Value(1.0, "c"), z


@pytest.mark.parametrize("predict", [False, True])
def test_the_page_shows_it_at_the_op_neuron_and_layer_levels(predict):
    require_dot()
    from viz import HtmlStepper

    loss, z = zero_output_loss()
    data = json.loads(re.search(r'id="dg-data">(.*?)</script>', HtmlStepper(loss, level="neuron",
                                                                             predict=predict).html, re.S)[1])
    name = z.label
    op = [f["text"] for f in data["frames"] if f["kind"] == "backward" and f" {name}.grad +=" in f["text"]]
    shown = {level: [g["text"] for g in data["groups"] if g["loss"] and g["phase"] == "backward"
                     and g["level"] == level] for level in ("neuron", "layer")}
    for text in [*op, *shown["neuron"], *shown["layer"]]:
        assert [line.split(" → ")[1] for line in x_lines(text, name)] == ["0.0", "0.0 + 0.0 = 0.0"], text
    assert len(op) == len(shown["neuron"]) == len(shown["layer"]) == 1


def test_the_terminal_stepper_and_frames_show_it(tmp_path):
    import io

    from rich.console import Console

    from viz.stepper import render_frame

    x = Value(0.0, "x")
    y = x * x
    y.label = "y"
    walk = Walkthrough(y)
    console = Console(record=True, file=io.StringIO(), width=120, force_terminal=True)
    console.print(render_frame(walk, len(walk) - 1))
    assert "x.grad += x · y.grad = 0.0 · 1.0 → 0.0 + 0.0 = 0.0" in console.export_text()

    require_dot()
    import html

    from viz import frames

    last = frames(y, tmp_path, "svg", gif=False)[-1].read_text(encoding="utf-8")
    captions = " ".join(html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", last))
    assert "0.0 · 1.0 → 0.0 + 0.0 = 0.0" in captions
