"""No formula or text in the stepper page's side panel is wider than the panel, in a real headless
Chromium at 1400×900 (issue 14): the inspector's chain-rule sum over an input's 16 uses, typeset on one
line, was 4,000 px wide in the 520 px panel, and a layer-1 neuron's δ with its 16-term sum 2,400 px:
both scrolled sideways. A formula too wide is now set on lines."""

from __future__ import annotations

import pytest

from tests.test_step_html_browser import open_page

# Each box of the side panel (shown) wider than it is, or with a formula poking past the panel's edge:
# [its id, its scroll width, its width].
TOO_WIDE = """() => {
  const side = document.getElementById('dg-side'), edge = side.getBoundingClientRect().right;
  const out = [];
  const boxes = side.querySelectorAll('#dg-math, #dg-text, #dg-hint, #dg-predict, #dg-inspector');
  for (const b of [side, ...boxes]) {
    if (b.hidden || !b.offsetWidth) continue;
    if (b.scrollWidth > b.clientWidth + 1) out.push([b.id, b.scrollWidth, b.clientWidth]);
  }
  for (const m of side.querySelectorAll('math')) {
    const r = m.getBoundingClientRect();
    let right = r.right;
    for (const e of m.querySelectorAll('*')) right = Math.max(right, e.getBoundingClientRect().right);
    if (right > edge + 1) out.push([m.parentNode.id + ' math', Math.round(right), Math.round(edge)]);
  }
  return out;
}"""


def inspect(page, name: str) -> None:
    page.fill("#dg-find", name)
    page.press("#dg-find", "Enter")
    page.keyboard.press("End")   # every use reached: the whole sum


@pytest.mark.parametrize("by_hand", [False, True], ids=["readme", "l2-by-hand"])
def test_no_formula_or_text_is_wider_than_the_side_panel(browser, tmp_path, by_hand):
    from tests.conftest import require_dot
    from tests.test_step_html_browser import readme_network
    from viz import step_html

    require_dot()
    loss, _ = readme_network(by_hand=by_hand)
    stepper = step_html(loss, tmp_path / "page.html", level="neuron")
    page, errors = open_page(browser, stepper)
    wide, rows = [], 0
    page.keyboard.press("b")
    for _ in range(80):   # every backward step at the neuron level: the δ's of 16-term sums among them
        wide += [(page.inner_text("#dg-counter"), w) for w in page.evaluate(TOO_WIDE)]
        rows = max(rows, page.locator("#dg-math mtr").count())
        page.keyboard.press("ArrowRight")
    # an input (16 uses), a hidden neuron's a (16 uses), a weight (a name 22 characters long)
    for name in ("x.0", "layers.0.neurons.3.a", "layers.1.neurons.12.w.15"):
        inspect(page, name)
        assert page.inner_text("#dg-inspector-head").startswith(name)
        assert page.locator("#dg-inspector math").count() == 1
        wide += [(name, w) for w in page.evaluate(TOO_WIDE)]
    lines = page.locator("#dg-inspector mtr").count()
    for level in ("op", "layer"):   # the op level's texts, and a layer's 16 lines
        page.select_option("#dg-level", level)
        page.keyboard.press("b")
        for _ in range(40):
            page.keyboard.press("ArrowRight")
            wide += [(level, page.inner_text("#dg-counter"), w) for w in page.evaluate(TOO_WIDE)]
    assert wide == [], wide[:5]
    assert rows >= 3 and lines >= 3, (rows, lines)   # the 16-term δ and x.0's sum were set on lines
    assert errors == []
    page.close()


def test_a_formula_set_on_lines_still_reads_in_order_and_takes_new_numbers(browser, tmp_path):
    """The lines hold the one-line formula's parts in order (its text unchanged), and the next neuron's
    δ of the same shape is written into them: its numbers, no new elements."""
    from tests.test_step_html_levels import mlp_loss
    from viz import step_html

    loss, _ = mlp_loss(False, (2, 16, 1))
    stepper = step_html(loss, tmp_path / "wide.html", level="neuron")
    page, errors = open_page(browser, stepper)
    page.click("#dg-backward")
    while "layer 1 · neuron 1, backward" not in page.inner_text("#dg-text"):
        page.keyboard.press("ArrowRight")
    assert page.locator("#dg-math mtr").count() >= 2
    text = page.text_content("#dg-math math")
    assert text.startswith("δ=relu′(z)·∑kwkδk=") and text.count("+") == 15, text
    elements = page.eval_on_selector_all("#dg-math math *", "els => els.length")
    page.keyboard.press("ArrowLeft")   # the pass reaches a layer's neurons last to first
    assert "layer 1 · neuron 2, backward" in page.inner_text("#dg-text")
    assert page.text_content("#dg-math math") != text
    assert page.eval_on_selector_all("#dg-math math *", "els => els.length") == elements
    assert page.evaluate(TOO_WIDE) == [] and errors == []
    page.close()
