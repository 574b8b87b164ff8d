"""Predict mode in a real Chromium at 1400×900: at every step that asks for answers, the first answer box
is inside the side panel's visible part and the window, at every level, however long the rule asked
about (the README loss's step lists its 304 L2 lines: its one answer box was 12,000 px down, tester
qa14i F2) and however far the panel was scrolled before the step."""

from __future__ import annotations

import pytest

from tests.test_step_html_browser import open_page, readme_network

FIRST_ASK = """() => {
  const input = document.querySelector("#dg-predict input");
  if (!input || document.getElementById("dg-predict").hidden) return null;
  const r = input.getBoundingClientRect(), s = document.getElementById("dg-side").getBoundingClientRect();
  return {inPanel: r.top >= s.top && r.bottom <= s.bottom && r.left >= s.left && r.right <= s.right,
          inWindow: r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth,
          top: Math.round(r.top), asks: document.querySelectorAll("#dg-predict input").length,
          panel: document.getElementById("dg-side").scrollTop};
}"""

SCROLL_PANEL_DOWN = "() => { const s = document.getElementById('dg-side'); s.scrollTop = s.scrollHeight; }"


@pytest.mark.parametrize("level", ["neuron", "op", "layer"])
def test_the_first_answer_box_is_in_view_at_every_asking_step(browser, tmp_path, level):
    from viz import step_html

    loss, _ = readme_network(by_hand=False)          # the README loss: nn.l2, its rule 304 lines long
    stepper = step_html(loss, tmp_path / f"predict-{level}.html", predict=True, level=level)
    page, errors = open_page(browser, stepper)
    page.click("#dg-backward")
    seen, steps = [], {"neuron": 40, "op": 12, "layer": 12}[level]
    for k in range(steps):
        if k % 2:                            # the panel scrolled down (a long text read) before the step
            page.evaluate(SCROLL_PANEL_DOWN)
        page.keyboard.press("ArrowRight")
        at = page.evaluate(FIRST_ASK)
        if at is None:
            continue
        counter = page.inner_text("#dg-counter")
        assert at["inPanel"] and at["inWindow"], (level, counter, at)
        seen.append(at["asks"])
    assert page.evaluate("() => document.getElementById('dg-diagram').getBoundingClientRect().top") >= 0
    # the loss's step (one answer, under the 304 lines of L2 rules) and, per level, the long asks
    assert seen and seen[0] == (2 if level == "op" else 1), seen
    if level == "op":
        assert 304 in seen, seen                     # the sum of squares: an answer per weight
    if level == "layer":
        assert 16 in seen, seen                      # a layer's 16 δ
    assert errors == []
    page.close()
