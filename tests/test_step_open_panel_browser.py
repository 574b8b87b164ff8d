"""An opened neuron's panel of operations leaves the neuron's own box in sight, in a real headless
Chromium (tester qa14j item 1): that box lists the weights and bias the steps update (`w.15`, `b`), and
the panel was drawn over it, so `document.elementFromPoint` at `w.15` found the panel. Now, at every level
and on graphviz's collapsed drawings and the layered one, every name a step writes on the drawing is
either out of the view or the topmost thing where it is written, and the panel is in view."""

from __future__ import annotations

import pytest

from tests.test_step_html_browser import open_page
from tests.test_step_view_browser import readme_loss

# The names the step writes on the drawing (those of a collapsed neuron's weights and bias inside its box,
# the labels of the boxes it reads or updates): each one in view that something else covers, with what
# covers it; and whether the opened panel is in view (20 px of it at least, each way). A layered box
# (a <div class="node">) writes its label in its .dg-box, an SVG box in a <text>.
NAMES_SEEN = """() => {
  const d = document.getElementById('dg-diagram'), v = d.getBoundingClientRect();
  const view = {left: v.left, top: v.top, right: v.left + d.clientWidth, bottom: v.top + d.clientHeight};
  const items = [];
  for (const t of d.querySelectorAll('.dg-inside tspan')) {
    if (t.textContent.trim()) items.push([t, t.closest('g[id]')]);
  }
  for (const g of d.querySelectorAll('.dg-current, .dg-touched')) {
    const t = g instanceof HTMLElement ? g.querySelector(':scope > .dg-box')
      : g.querySelector(':scope > text:not(.dg-num):not(.dg-inside)');
    if (t && t.textContent.trim()) items.push([t, g]);
  }
  const covered = [];
  let inside = 0;
  for (const [t, g] of items) {
    const r = t.getBoundingClientRect(), x = (r.left + r.right) / 2, y = (r.top + r.bottom) / 2;
    if (x < view.left || x > view.right || y < view.top || y > view.bottom) continue;
    inside += t.closest('.dg-inside') ? 1 : 0;
    const hit = document.elementFromPoint(x, y);
    if (!hit || !(hit === t || t.contains(hit) || g.contains(hit)))
      covered.push([t.textContent, hit && (hit.closest('[id]') || {}).id]);
  }
  const bg = document.querySelector('#dg-open-panel .dg-open-bg'), p = bg && bg.getBoundingClientRect();
  return {covered, inside, panel: !!bg, counter: document.getElementById('dg-counter').textContent,
          panelInView: !bg || (p.right > view.left + 20 && p.left < view.right - 20
                               && p.bottom > view.top + 20 && p.top < view.bottom - 20)};
}"""


def deep_loss():
    """The tester's deep net: 2-4-4-4-4-1, tanh, squared error (its output neuron's box, with `b`, was
    wholly under the panel)."""
    import nn

    model = nn.MLP(2, [4, 4, 4, 4, 1], activation="tanh", rng=1)
    return nn.squared_error(model([0.5, -1.0]), [0.3])


def layered_loss():
    from tests.test_step_html_browser import readme_network

    return readme_network(False, by_hand=True)[0]


@pytest.mark.parametrize("graph, level, drawing", [
    ("readme", "neuron", "graphviz, neurons collapsed"),
    ("deep", "neuron", "graphviz, neurons collapsed"),
    ("deep", "layer", "graphviz, neurons collapsed"),
    ("layered", "neuron", "layered"),
])
def test_an_opened_neuron_covers_no_name_its_steps_use(browser, tmp_path, graph, level, drawing):
    from tests.conftest import require_dot
    from viz import step_html

    require_dot()
    loss = {"readme": lambda: readme_loss(False), "deep": deep_loss, "layered": layered_loss}[graph]()
    stepper = step_html(loss, tmp_path / "p.html", level=level)
    assert stepper.drawing == drawing
    page, errors = open_page(browser, stepper)
    covered, inside, panels = [], 0, 0
    # neurons of the output layer, of the last hidden one and of the first, opened from either pass
    for start, moves in (("b", 2), ("b", 3), ("b", 5), ("Home", 1), ("Home", 4)):
        page.keyboard.press(start)
        for _ in range(moves):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("o")
        if level == "layer":
            page.keyboard.press("o")  # the layer into its neurons, then the neuron into its operations
        for _ in range(12):
            page.keyboard.press("ArrowRight")
            seen = page.evaluate(NAMES_SEEN)
            inside += seen["inside"]
            panels += seen["panel"]
            if seen["covered"] or not seen["panelInView"]:
                covered.append((start, moves, seen))
        page.keyboard.press("c")
        page.keyboard.press("c")
    assert panels >= 5 and (inside >= 10 or drawing == "layered"), (panels, inside)  # not vacuous
    assert covered == [], covered[:3]
    assert errors == []
    page.close()
