"""The HTML stepper keeps a step's highlighted boxes in view, in a real headless Chromium: the current
node and the boxes it reads or updates (its operands, the parents it passes gradients to) are all whole
in the view whenever they fit it together, on the README network's op-level pages (layered drawing)."""

from __future__ import annotations

import pytest

from tests.test_step_html_browser import open_page

# Every highlighted box (its halo, and its line of numbers when it has one), whether together they fit
# the view (less the page's 8 px margin on each side and 4 px for its estimate of a line's width), and
# which halos are not whole in it.
HIGHLIGHTED = """() => {
  const d = document.getElementById('dg-diagram'), v = d.getBoundingClientRect();
  const view = {left: v.left, top: v.top, right: v.left + d.clientWidth, bottom: v.top + d.clientHeight};
  const els = [...d.querySelectorAll('.dg-current, .dg-touched')];
  const halo = (e) => e.querySelector(':scope > .dg-halo').getBoundingClientRect();
  const rects = els.map(halo);
  for (const e of els) {
    const num = e.querySelector(':scope > .dg-num');
    if (num && num.textContent.trim()) rects.push(num.getBoundingClientRect());
  }
  const u = {left: Math.min(...rects.map((r) => r.left)), right: Math.max(...rects.map((r) => r.right)),
             top: Math.min(...rects.map((r) => r.top)), bottom: Math.max(...rects.map((r) => r.bottom))};
  const inside = (r) => r.left >= view.left - 1 && r.right <= view.right + 1
    && r.top >= view.top - 1 && r.bottom <= view.bottom + 1;
  return {boxes: els.length,
          fits: u.right - u.left <= d.clientWidth - 20 && u.bottom - u.top <= d.clientHeight - 20,
          cut: els.filter((e) => !inside(halo(e))).map((e) => e.id),
          text: document.getElementById('dg-text').textContent.split('\\n')[0]};
}"""


def readme_loss(fused: bool):
    """The README network's loss on its first moons point: hinge plus `nn.l2` (988 nodes; fused 413)."""
    import nn
    from nn.data import make_moons

    X, y = make_moons(100, noise=0.1, rng=1)
    model = nn.MLP(2, [16, 16, 1], rng=1, fused=fused)
    return nn.hinge(model(X[0]), [2 * y[0] - 1]) + nn.l2(model.weights(), 1e-4)


@pytest.mark.parametrize("fused, steps", [(False, 60), (True, 40)], ids=["eager", "fused"])
def test_a_steps_operands_are_whole_in_view_when_they_fit(browser, tmp_path, fused, steps):
    """Issue 14 (tester): on the op-level page of the README loss, backward step 4 (`add`, after b and
    → ×4) showed its box while the two parents it updates, v0 and v983, were cut at the pane's left
    edge with two thirds of the pane empty; forward step 50 left its operand x.1 off screen though it
    and the current node span 740 px of the 852 px pane; the fused page's step 3 left its inputs and
    weights just left of the view. The page scrolled to the current node only. Now every frame whose
    highlighted boxes fit the view shows them all whole."""
    from tests.conftest import require_dot
    from viz import step_html

    require_dot()
    stepper = step_html(readme_loss(fused), tmp_path / "op.html", level="op")
    assert stepper.drawing == "layered"
    page, errors = open_page(browser, stepper)
    checked, cut = 0, []
    for start in ("Home", "b"):  # the forward pass from its start, the backward pass from its seed
        page.keyboard.press(start)
        for _ in range(steps):
            page.keyboard.press("ArrowRight")
            seen = page.evaluate(HIGHLIGHTED)
            if seen["boxes"] and seen["fits"]:
                checked += 1
                if seen["cut"]:
                    cut.append((start, page.inner_text("#dg-counter"), seen))
    assert checked >= steps, checked  # most steps' boxes fit: the check is not vacuous
    assert cut == [], cut[:3]
    assert errors == []
    page.close()


def test_the_reported_backward_step_shows_both_parents(browser, tmp_path):
    """The tester's case itself: backward step 4 of the eager page, `add` into v0 and v983."""
    from tests.conftest import require_dot
    from viz import step_html

    require_dot()
    page, errors = open_page(browser, step_html(readme_loss(False), tmp_path / "op.html", level="op"))
    page.keyboard.press("b")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    seen = page.evaluate(HIGHLIGHTED)
    assert seen["text"].startswith("step 4/646  add: v0.grad +="), seen["text"]
    assert seen["boxes"] == 3 and seen["fits"] and seen["cut"] == [], seen
    assert errors == []
    page.close()
