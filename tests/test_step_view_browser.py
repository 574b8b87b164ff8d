"""The HTML stepper keeps a step's highlighted boxes in view, in a real headless Chromium: the current
node and the boxes it reads or updates (its operands, the parents it passes gradients to) are all whole
in the view whenever they fit it together, on the README network's op-level pages (layered drawing)."""

from __future__ import annotations

import pytest

from tests.test_step_html_browser import open_page

# Every highlighted box (its halo, and its line of numbers when it has one), whether together they fit
# the view (below the legend, which stays at the view's top over the drawing; less the page's 8 px
# margin on each side and 4 px for its estimate of a line's width), and which halos are not whole in it.
# A layered box's .node <div> is its own halo; an SVG box's (an opened neuron's panel) is its .dg-halo.
HIGHLIGHTED = """() => {
  const d = document.getElementById('dg-diagram'), v = d.getBoundingClientRect();
  const legend = d.querySelector('.dg-legend');
  const top = Math.max(v.top, legend ? legend.getBoundingClientRect().bottom : v.top);
  const view = {left: v.left, top, right: v.left + d.clientWidth, bottom: v.top + d.clientHeight};
  const els = [...d.querySelectorAll('.dg-current, .dg-touched')];
  // a layered tile away from the view is display: none, with no place: laid out here to measure it
  const away = [...new Set(els.map((e) => e.closest('.dg-boxes')))]
    .filter((t) => t && t.style.display === 'none');
  for (const t of away) t.style.display = '';
  const halo = (e) => (e instanceof HTMLElement ? e : e.querySelector(':scope > .dg-halo'))
    .getBoundingClientRect();
  const rects = els.map(halo);
  for (const e of els) {
    const num = e.querySelector(':scope > .dg-num');
    if (num && num.textContent.trim()) rects.push(num.getBoundingClientRect());
  }
  const inside = (r) => r.left >= view.left - 1 && r.right <= view.right + 1
    && r.top >= view.top - 1 && r.bottom <= view.bottom + 1;
  const cut = els.filter((e) => !inside(halo(e))).map((e) => e.id);
  for (const t of away) t.style.display = 'none';
  const u = {left: Math.min(...rects.map((r) => r.left)), right: Math.max(...rects.map((r) => r.right)),
             top: Math.min(...rects.map((r) => r.top)), bottom: Math.max(...rects.map((r) => r.bottom))};
  return {boxes: els.length,
          fits: u.right - u.left <= d.clientWidth - 20 && u.bottom - u.top <= view.bottom - view.top - 20,
          cut,
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


def test_an_opened_neurons_steps_show_their_highlighted_boxes(browser, tmp_path):
    """Issue 14 (tester): inside an opened neuron (level="neuron", `b → → → o`), backward step 13 of the
    eager README loss (`mul` into layers.1.neurons.15.w.15 and layers.0.neurons.15.a) showed its box
    in the panel while the two collapsed neurons it updates were below the pane, though the three
    boxes span 488×248 px of the 851×852 pane: the view was fitted to the whole panel, too tall to fit,
    and then took none of the updated boxes. Now every frame of the opened neuron whose highlighted
    boxes fit the view shows them all whole."""
    from tests.conftest import require_dot
    from viz import step_html

    require_dot()
    page, errors = open_page(browser, step_html(readme_loss(False), tmp_path / "n.html", level="neuron"))
    for key in ["b", "ArrowRight", "ArrowRight", "ArrowRight", "o"]:
        page.keyboard.press(key)
    checked, cut = 0, []
    for _ in range(34):  # the neuron's 33 operations, and the step after it
        seen = page.evaluate(HIGHLIGHTED)
        if seen["boxes"] and seen["fits"]:
            checked += 1
            if seen["cut"]:
                cut.append((page.inner_text("#dg-counter"), seen))
        page.keyboard.press("ArrowRight")
    assert checked >= 20, checked
    assert cut == [], cut[:3]
    assert errors == []
    page.close()


def thousand_tanh_terms():
    """A 5,001-node graph: Σ tanh(x_i · 0.5) over 1,000 inputs, added one term at a time."""
    from autodiff import Value

    total = Value(0.0, "s0")
    for i in range(1000):
        total = total + (Value(i % 7 / 7, f"x{i}") * 0.5).tanh()
    return total


@pytest.mark.parametrize("graph", ["readme", "5001"])
def test_a_layered_pages_legend_stays_in_view_and_readable(browser, tmp_path, graph):
    """Issue 14 (tester): on the layered pages (the README loss at the op level, a 5,001-node graph) the
    legend scrolled away with the drawing: at top -3,444 px in the pane after `b`, and out of view for
    the whole backward pass. It now stays at the pane's top left, whole, its text >= 11 px and of one
    size, after b, after steps, after scrolling by hand, at every zoom and at "fit"."""
    from tests.conftest import require_dot
    from tests.test_step_html_browser import LEGEND_BOXES
    from viz import step_html

    require_dot()
    root = readme_loss(False) if graph == "readme" else thousand_tanh_terms()
    stepper = step_html(root, tmp_path / "op.html", level="op")
    assert stepper.drawing == "layered"
    page, errors = open_page(browser, stepper)
    heights = None
    for key in ["", "b", "ArrowRight", "ArrowRight", "Shift+ArrowDown", "Shift+ArrowRight", "End", "+", "-",
                "-", "f", "0"]:
        if key:
            page.keyboard.press(key)
        seen, where = page.evaluate(LEGEND_BOXES), (key, page.inner_text("#dg-zoom-level"))
        assert len(seen["texts"]) >= 3, where
        for text, (left, top, right, bottom) in seen["texts"]:
            for outer in (seen["legend"], seen["view"]):
                assert outer[0] - 0.5 <= left and right <= outer[2] + 0.5, (where, text, outer)
                assert outer[1] - 0.5 <= top and bottom <= outer[3] + 0.5, (where, text, outer)
        tall = [round(bottom - top, 1) for _, (_, top, _, bottom) in seen["texts"]]
        assert min(tall) >= 11 and tall == (heights or tall), (where, tall)
        heights = tall
    assert errors == []
    page.close()


def test_the_inspectors_sum_lists_uses_in_the_drawings_order(browser, tmp_path):
    """Issue 14 (tester): the inspector's chain-rule sum for x.0 listed its 16 uses from
    `layers.0.neurons.15.w.0 · v….grad` down to neuron 0, the order the backward pass reaches them, the
    reverse of the drawing's. Now neuron 0's use comes first."""
    import re

    from tests.conftest import require_dot
    from viz import step_html

    require_dot()
    loss = readme_loss(False)
    stepper = step_html(loss, tmp_path / "n.html", level="neuron")
    page, errors = open_page(browser, stepper)
    page.fill("#dg-find", "x.0")
    page.press("#dg-find", "Enter")
    page.click("#dg-inspector-head")                     # out of the text box, so keys step again
    page.keyboard.press("End")                           # every use reached
    terms = page.inner_text("#dg-inspector-terms")
    neurons = [int(k) for k in re.findall(r"layers\.0\.neurons\.(\d+)\.w\.0 · ", terms)]
    assert neurons == list(range(16)), terms
    assert "(so far)" not in terms and terms.count(" · ") == 2 * 16, terms
    assert errors == []
    page.close()


HALF_COVERED = """() => {  // the boxes an opened neuron's panel covers in part: cut by its top or bottom edge
  const p = document.querySelector('#dg-open-panel .dg-open-bg').getBoundingClientRect(), out = [];
  const d = document.getElementById('dg-diagram');   // SVG boxes' halos, and the layered boxes (their own)
  for (const [g, h] of [...[...d.querySelectorAll('g[id] > .dg-halo')].map((h) => [h.parentNode, h]),
                        ...[...d.querySelectorAll('.dg-boxes > div.node')].map((n) => [n, n])]) {
    const b = h.getBoundingClientRect();
    if (g.closest('#dg-open-panel') || b.right <= p.left || p.right <= b.left || !b.width) continue;
    const cut = (edge) => b.top < edge - 0.5 && edge + 0.5 < b.bottom;
    if (cut(p.top) || cut(p.bottom)) out.push(g.id);
  }
  return out;
}"""


def test_an_opened_neurons_panel_cuts_no_box_in_half(browser, tmp_path):
    """Issue 14 (tester): layer 2 · neuron 16's panel, opened at `b → → → o` on the eager README loss,
    was drawn over layer 2's neurons 6-15 with its top edge across neuron 6's box, whose title was half
    hidden. Now a box under the panel is under it whole, and no title is cut."""
    from tests.conftest import require_dot
    from viz import step_html

    require_dot()
    page, errors = open_page(browser, step_html(readme_loss(False), tmp_path / "n.html", level="neuron"))
    for key in ["b", "ArrowRight", "ArrowRight", "ArrowRight", "o"]:
        page.keyboard.press(key)
    assert page.evaluate(HALF_COVERED) == []
    assert errors == []
    page.close()


ON_SCREEN = """() => {  // the current box's name and line of numbers: their font size on screen (px)
  const d = document.getElementById('dg-diagram'), layered = d.querySelector('.dg-layered');
  const zoom = layered.getBoundingClientRect().width / layered.offsetWidth;
  const g = d.querySelector('.dg-current');
  const px = (s) => parseFloat(getComputedStyle(g.querySelector(s)).fontSize) * zoom;
  return [px('.dg-box'), px('.dg-num')];
}"""


def test_the_5001_node_page_reads_at_its_opening_zoom(browser, tmp_path):
    """Issue 14: the 5,001-node graph's drawing was 158,452 × 92,066 px, each step jumping between its
    inputs' column and its sums thousands of px away. Cut into lines, it opens at 100%; stepping 80
    steps of each pass, across the ends of lines, each frame shows the current box whole in the view, and
    the boxes it reads or updates whole with it when they fit; its name and numbers at least 11 px."""
    from viz import step_html

    stepper = step_html(thousand_tanh_terms(), tmp_path / "op.html", level="op")
    assert stepper.drawing == "layered"
    page, errors = open_page(browser, stepper)
    assert page.inner_text("#dg-zoom-level") == "100%"
    checked, cut, small = 0, [], []
    for start in ("Home", "b"):
        page.keyboard.press(start)
        for _ in range(80):
            page.keyboard.press("ArrowRight")
            seen, current = page.evaluate(HIGHLIGHTED), page.eval_on_selector(".dg-current", "g => g.id")
            checked += seen["fits"]
            if seen["fits"] and seen["cut"] or current in seen["cut"]:
                cut.append((page.inner_text("#dg-counter"), seen))
            if min(page.evaluate(ON_SCREEN)) < 11:
                small.append(page.inner_text("#dg-counter"))
    # a term cut by a line's end has its leaves at the end of the line above: its product's steps do
    # not fit the view whole, and show the product
    assert checked >= 150 and cut == [] and small == [], (checked, cut[:3], small[:3])
    assert errors == []
    page.close()


def test_a_highlighted_halo_does_not_cross_out_its_line_of_numbers(browser, tmp_path):
    """On a layered page a line of numbers wider than its box reaches past its halo's border: the
    highlight (current, touched, inspected) is the halo's background, shadow and dashed frame, painted
    under the line, never an outline (painted over it), and each glyph of the line is drawn over a
    white outline of itself, as an SVG line of numbers is, so neither that border nor the edges cross a
    digit out (tester qa14m: the current halo's border ran over the first and last digits of v1554's
    line)."""
    from tests.conftest import require_dot
    from viz import step_html

    require_dot()
    page, errors = open_page(browser, step_html(readme_loss(False), tmp_path / "op.html", level="op"))
    page.keyboard.press("b")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.click("#dg-diagram .dg-current > .dg-box")  # inspected too
    seen = page.evaluate("""() => [...document.querySelectorAll('#dg-diagram .node')]
      .filter((n) => /dg-(current|touched|inspected)/.test(n.className))
      .map((n) => { const s = getComputedStyle(n), t = getComputedStyle(n.querySelector('.dg-num'));
        const frame = getComputedStyle(n, '::before');
        return [n.className, s.outlineStyle, s.boxShadow !== 'none' ? 'shadow' : frame.borderTopStyle,
                t.webkitTextStrokeWidth, t.webkitTextStrokeColor, t.paintOrder]; })""")
    assert {c for c, *_ in seen for c in c.split() if c.startswith("dg-") and c != "dg-interior"} \
        >= {"dg-current", "dg-touched", "dg-inspected"}, seen
    for cls, outline, border, stroke, colour, order in seen:
        assert outline == "none" and border in ("shadow", "dashed"), (cls, outline, border)
        assert (stroke, colour) == ("3px", "rgb(255, 255, 255)"), (cls, stroke, colour)
        assert order.startswith("stroke"), (cls, order)
    assert errors == []
    page.close()
