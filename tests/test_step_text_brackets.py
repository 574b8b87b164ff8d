"""Every step text writes a negative number beside an operator in brackets, as the neuron level and the
page's typeset formulas do: ``1.0 · (-1.4717)``, not ``1.0 · -1.4717`` (issue 14, minor item). At the op
level, forward and backward, in the terminal and on the page, and in the other examples' summed step."""

from __future__ import annotations

import io
import random
import re

import numpy as np
import pytest
from rich.console import Console

import nn
from autodiff import Value
from autodiff.batched import batch_columns, mean
from autodiff.engine import apply
from autodiff.primitives import GREATER
from tests.conftest import require_dot
from viz.examples import walkthrough

# a negative number right after an operator: "2.0 × -3.0", "1.0 + -0.5", "-0.7 > -1.0", "0.5 ** -2.0"
AFTER = re.compile(r"(?:[×·>+−/]|\*\*) -\d")
# a negative number as the left factor of a product or the base of a power: "-3.0 · 0.5", "-4.0**-1",
# "-1·x" (not the exponent's digits of "1e-05 ·", not a name "x-1"); a negative exponent "x^-2", "x**-1"
BEFORE = re.compile(r"(?<![\w.])-\d[\d.]*(?:e[-+]?\d+)?(?: ?[×·]|\*\*)|\^-|\*\*-")


def unbracketed(text: str) -> list[str]:
    """The places in ``text`` where a negative number's sign reads as an operator's."""
    return [m.group(0) for pattern in (AFTER, BEFORE) for m in pattern.finditer(text)]


def negative_everywhere() -> Value:
    """The classic neuron, then a square of a sum, a division by a negative constant, a cube of a
    negative, a comparison with a negative and a reused node (o): negative numbers on every side of
    every operator a step writes."""
    x1, x2, w1, w2 = Value(2.0, "x1"), Value(0.0, "x2"), Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return (o - (-2.0)) ** 2 - o / -4.0 + (-o) ** 3 + apply(GREATER, -o, -1.0) * o


def test_the_checker_finds_what_reads_ambiguously():
    for bad in ("2.0 × -3.0", "1.0 · -1.4717", "1.0 + -0.5 = 0.5", "-0.7 > -1.0", "-3.0 · 0.5",
                "-4.0**-1", "(-4.0)**-1", "v13**-1", "-1·v13^-2", "(-1)·v13^-2"):
        assert unbracketed(bad), bad
    for good in ("2.0 × (-3.0)", "(-3.0) · 0.5", "-6.0 + 0.8814", "1.0 + (-0.5) = 0.5", "→ -1.5",
                 "(-4.0)**(-1)", "v13**(-1)", "(-1)·v13^(-2)", "1e-05 · 2.0", "w1 = -3.0, x2 = 0.0",
                 "tanh(-0.5)"):
        assert not unbracketed(good), good


def test_op_level_steps_bracket_every_negative_operand():
    walk = walkthrough(negative_everywhere())
    texts = [walk.text(k) for k in range(len(walk))]
    lines = [line.strip() for text in texts for line in text.splitlines()]
    for expected in [
        "step 1/18  mul: v2 = x1 × w1 = 2.0 × (-3.0) → -6.0",            # a negative factor
        "step 3/18  add: v6 = v2 + v5 = -6.0 + 0.0 → -6.0",               # a sum may start negative
        "step 8/18  pow_const: v14 = v13**(-1) = (-4.0)**(-1) → -0.25",   # not -(4.0**-1)
        "step 10/18  mul: v17 = v15 × v16 = (-0.1768) × (-1.0) → 0.1768",
        "step 13/18  pow_const: v21 = v20**3 = (-0.7071)**3 → -0.3536",
        "step 14/18  add: v22 = v18 + v21 = 7.5052 + (-0.3536) → 7.1517",  # after +
        "step 16/18  greater: v26 = v24 > v25 = -0.7071 > (-1.0) → 1.0",
        "step 7/18  mul: o.grad += v19 · v20.grad = (-1.0) · 1.5 → 1.0 + (-1.5) = -0.5",  # term after +
        "step 10/18  mul: o.grad += v14 · v15.grad = (-0.25) · (-1.0) → -0.5 + 0.25 = -0.25",
        "v14.grad += o · v15.grad = 0.7071 · (-1.0) → -0.7071",
        # d/dx x^-1 = -1·x^-2: the constants are factors too
        "step 11/18  pow_const: v13.grad += (-1)·v13^(-2) · v14.grad = (-0.0625) · (-0.7071) → 0.0442",
        "step 18/18  mul: x1.grad += w1 · v2.grad = (-3.0) · 2.5821 → -7.7463",
    ]:
        assert expected in lines, expected
    assert [bad for text in texts for bad in unbracketed(text)] == []


def test_the_terminal_and_the_page_write_the_same_bracketed_texts_at_every_level(tmp_path):
    require_dot()
    import json

    from viz import step_html, step_terminal

    model = nn.MLP(2, [3, 1], rng=random.Random(2))
    loss = nn.squared_error(model([0.5, -1.5]), [1.0])
    walk = walkthrough(loss)
    texts = [walk.text(k) for k in range(len(walk))]
    assert sum(text.count("(-") for text in texts) > 10   # the network's numbers hold negatives to bracket

    out = io.StringIO()
    step_terminal(loss, console=Console(file=out, width=1000))
    screen = out.getvalue()
    assert all(line in screen for text in texts for line in text.splitlines())

    page = step_html(loss, tmp_path / "p.html", predict=True, level="neuron").html
    data = json.loads(re.search(r'<script type="application/json" id="dg-data">(.*?)</script>', page,
                                re.S).group(1))
    assert sorted(f["text"] for f in data["frames"]) == sorted(texts)   # put neuron by neuron (regroup)
    shown = [f["text"] for f in data["frames"]] + [f["hint"] for f in data["frames"]] + \
        [g["text"] for g in data["groups"]] + [g["hint"] for g in data["groups"]]
    assert {g["level"] for g in data["groups"]} == {"neuron", "layer"}
    assert [bad for text in shown + [screen] for bad in unbracketed(text)] == []


def test_the_other_examples_summed_steps_and_a_batch_bracket_negatives():
    model = nn.MLP(2, [2, 1], rng=random.Random(3))
    X = [[0.5, -1.5], [1.0, 2.0], [-2.0, 0.3]]
    # the scores themselves as the loss terms: the other examples' sum is negative
    loss = nn.mean([model(x)[0] for x in X])
    part = walkthrough(loss, example=0)
    texts = [part.text(k) for k in range(len(part))]
    folded = next(t for t in texts if "add ×2 (the sum" in t)
    assert re.search(r"= -?[\d.]+ \+ \(-[\d.]+\) → ", folded), folded
    summed = texts[-1]
    assert summed.startswith(f"step {len(part.backward)}/{len(part.backward)}  Σ_others")
    assert re.search(r"Σ_others.grad = \(-[\d.]+\) · 0\.3333 = ", summed), summed

    scores = model(batch_columns(np.array(X)))[0]
    batched = walkthrough(mean((scores - 1.0) ** 2), example=1)
    btexts = [batched.text(k) for k in range(len(batched))]
    assert any(re.search(r"\(example 1: [\d.]+ · \(-[\d.]+\)\)", t) for t in btexts)
    assert [bad for text in texts + btexts for bad in unbracketed(text)] == []


@pytest.mark.parametrize("x, shown", [(-1.4717, "(-1.4717)"), (2.0, "2.0"), (-0.0, "0.0"),
                                      (-1e-5, "(-1e-05)"), (-2.5e7, "(-2.5e+07)")])
def test_factor_brackets_a_negative_number_as_fmt_writes_it(x, shown):
    from autodiff.steps import factor
    assert factor(x) == shown
