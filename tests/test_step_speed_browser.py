"""What a step of the HTML stepper costs the page (issue 14, a step under 50 ms): a neuron's δ formula is
rewritten in place when the next neuron's has the same shape (no new MathML elements to style and
collect on every step), in a real headless Chromium; and the layered drawing's tiles of boxes are a
band of rows each, so scrolling to a step brings no more boxes on screen than about fill the view.
The time per step itself is measured by tests/test_step_html_browser.py into docs/benchmarks.md."""

from __future__ import annotations

import re

from autodiff import grad, topological_order
from autodiff.steps import fmt
from tests.conftest import require_dot

# childList changes inside #dg-math since the last call, and the formula's text
WATCH_MATH = """() => {
  window.dgAdded = 0;
  new MutationObserver((ms) => { for (const m of ms) window.dgAdded += m.addedNodes.length; })
    .observe(document.getElementById("dg-math"), { childList: true, subtree: true });
}"""


def test_consecutive_neurons_rewrite_the_formula_in_place(browser, tmp_path):
    """Stepping back through layer 1 of the README network, each neuron's δ = relu′(z) · Σ w_k δ_k
    (16 terms, over layer 2: about 100 MathML elements) was built anew: now the elements stay and only
    their text changes, and the text is the neuron's own (its δ is autodiff's gradient of its z)."""
    require_dot()
    from tests.test_step_html_levels import mlp_loss
    from viz import step_html

    loss, _ = mlp_loss(False)
    order = topological_order(loss)
    stepper = step_html(loss, tmp_path / "net.html", level="neuron")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(stepper.path.resolve().as_uri())
    page.click("#dg-backward")
    while "layer 1 · neuron 16, backward" not in page.inner_text("#dg-text"):
        page.keyboard.press("ArrowRight")
    page.evaluate(WATCH_MATH)
    elements = page.eval_on_selector_all("#dg-math math *", "els => els.length")
    assert elements > 80                                   # the 16-term sum
    for j in range(15, 0, -1):
        page.keyboard.press("ArrowRight")
        assert f"layer 1 · neuron {j}, backward" in page.inner_text("#dg-text")
        z = next(v for v in order if v.label == f"layers.0.neurons.{j - 1}.z")
        math = page.text_content("#dg-math math")
        assert math.startswith("δ=relu′(z)·∑kwkδk=") and math.endswith("=" + fmt(grad(loss, [z])[0])), j
    assert page.evaluate("() => window.dgAdded") == 0     # no element added: texts rewritten in place
    assert page.eval_on_selector_all("#dg-math math *", "els => els.length") == elements
    page.keyboard.press("Home")                            # a step without a formula empties the box
    assert page.is_hidden("#dg-math") and page.inner_html("#dg-math") == ""
    assert errors == []
    page.close()


def test_layered_tiles_of_boxes_are_bands_of_rows():
    """The README loss with its L2 term written out (1,594 nodes, 308 columns, 87 rows at most): each
    tile of boxes holds the boxes of at most `_BAND` rows and is as tall as them (it was the whole
    drawing's height), every box inside its tile; the tiles of edges span the drawing."""
    from tests.test_step_html_levels import l2_by_hand, mlp_loss
    from viz.layered import _BAND, _ROW, layered_svg

    loss, _ = mlp_loss(False, l2=l2_by_hand)
    order = topological_order(loss)
    svg = layered_svg(order, [f"v{i}" for i in range(len(order))])
    tiles = re.findall(r'<svg [^>]*class="dg-tile dg-boxes"[^>]*viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) '
                       r'([-\d.]+)"[^>]*>(.*?)</svg>', svg, re.S)
    heights = {float(h) for *_, h, _ in tiles}
    assert heights == {_BAND * _ROW + 20.0}
    bands = {float(top) for _, top, *_ in tiles}
    assert len(bands) == 6                                 # 87 rows: six bands of 16
    boxes = 0
    for x, top, w, h, body in tiles:
        for bx, by, bw, bh in re.findall(r'class="dg-halo" x="([-\d.]+)" y="([-\d.]+)" width="([-\d.]+)" '
                                         r'height="([-\d.]+)"', body):
            boxes += 1
            assert float(x) <= float(bx) and float(bx) + float(bw) <= float(x) + float(w)
            assert float(top) <= float(by) and float(by) + float(bh) <= float(top) + float(h)
    assert boxes == len(order)
    layered = r'class="dg-layered" style="position:relative;width:\d+px;height:(\d+)px"'
    total = re.search(layered, svg).group(1)
    edges = re.findall(r'<svg [^>]*class="dg-tile dg-edges"[^>]*height="(\d+)"', svg)
    assert edges and set(edges) == {total}
