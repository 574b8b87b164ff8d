"""The graphviz diagram inside the HTML stepper page, in a real headless Chromium: every text the page
writes around a box (its name above, its line of numbers below) lies inside the drawing's SVG, which
clips what falls outside its viewBox, at the start frame and at the end, zoomed out and in."""

from __future__ import annotations

import random

import pytest

from autodiff import Value
from tests.conftest import classic_neuron, require_dot
from tests.test_step_html_browser import open_page

# every visible text of the page's diagram that reaches more than half a pixel past its SVG's edges:
# [id or class, text, how far past the top, bottom, left and right (pixels on screen)]
OUTSIDE = """() => {
  const out = [];
  for (const svg of document.querySelectorAll('#dg-diagram svg')) {
    const r = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      if (!t.textContent.trim() || getComputedStyle(t).display === 'none') continue;
      const b = t.getBoundingClientRect();
      const past = [r.top - b.top, b.bottom - r.bottom, r.left - b.left, b.right - r.right];
      if (Math.max(...past) > 0.5)
        out.push([t.id || t.getAttribute('class'), t.textContent, ...past.map(Math.round)]);
    }
  }
  return out;
}"""


def mlp_3_1() -> Value:
    import nn
    model = nn.MLP(2, [3, 1], activation="tanh", rng=random.Random(1))
    return nn.squared_error(model([0.5, -1.0]), [1.0])


def l2_of_a_neuron() -> Value:
    """A tester's case (issue 17, QA item 10): w2, the bottom box, showed no value on the start frame."""
    import nn
    x, w1, w2 = Value(1.5, "x"), Value(0.5, "w1"), Value(-2.0, "w2")
    return (x * w1).tanh() + nn.l2([w1, w2, w1], 0.1)


def collapsed_16_16() -> Value:
    import nn
    model = nn.MLP(2, [16, 16, 1], activation="tanh", rng=random.Random(0))
    return nn.squared_error(model([0.5, -1.5]), [1.0])


GRAPHS = {"classic neuron": lambda: classic_neuron()[0], "MLP(2, [3, 1]) loss": mlp_3_1,
          "l2 of a neuron": l2_of_a_neuron, "2-16-16-1 loss, neurons collapsed": collapsed_16_16}


@pytest.mark.parametrize("graph", GRAPHS)
def test_every_name_and_value_lies_inside_the_drawing(browser, tmp_path, graph):
    """Issue 14: on the start frame the value under the bottom box (the classic neuron's w2, the
    MLP's last input) fell 11-16 px below the SVG's picture and was cut off: graphviz sizes the picture
    to its boxes, and the page writes each value under its box. Checked at 80%, 100% and 156%, on the
    start frame and at the end (a value and a gradient, the widest line)."""
    require_dot()
    from viz import step_html

    stepper = step_html(GRAPHS[graph](), tmp_path / "page.html",
                        level="neuron" if "collapsed" in graph else "op")
    assert stepper.drawing.startswith("graphviz")
    page, errors = open_page(browser, stepper)
    for frame in ("Home", "End"):
        page.keyboard.press(frame)
        for keys in (["0"], ["0", "-"], ["0", "+", "+"]):
            for key in keys:
                page.keyboard.press(key)
            zoom = page.inner_text("#dg-zoom-level")
            assert page.evaluate(OUTSIDE) == [], (frame, zoom)
    numbers = page.eval_on_selector_all("#dg-diagram svg text.dg-num", "ts => ts.map(t => t.textContent)")
    assert numbers and all(numbers)  # every box has its line of numbers at the end: they were measured
    assert errors == []
    page.close()
