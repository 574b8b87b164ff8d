"""What a step of the HTML stepper costs the page (issue 14, a step under 50 ms): a neuron's δ formula is
rewritten in place when the next neuron's has the same shape (no new MathML elements to style and
collect on every step), in a real headless Chromium; and the layered drawing's tiles of boxes are a
band of rows each, so scrolling to a step brings no more boxes on screen than about fill the view.
The time per step itself is measured by tests/test_step_html_browser.py into docs/benchmarks.md."""

from __future__ import annotations

import re

from autodiff import grad, topological_order
from autodiff.steps import fmt
from tests.conftest import layered_boxes_by_tile, require_dot

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
    """The README loss with its L2 term written out (1,594 nodes, 308 columns, 85 rows): each
    tile of boxes holds the boxes of at most `_BAND` rows and is as tall as them (it was the whole
    drawing's height), every box inside its tile; each tile of edges holds its edges, and most are less
    than half as tall as the drawing (all were as tall)."""
    from tests.test_step_html_levels import l2_by_hand, mlp_loss
    from viz.layered import _BAND, _ROW, layered_svg

    loss, _ = mlp_loss(False, l2=l2_by_hand)
    order = topological_order(loss)
    svg = layered_svg(order, [f"v{i}" for i in range(len(order))])
    tiles = layered_boxes_by_tile(svg)
    heights = {h for (_, _, _, h), _ in tiles}
    assert heights == {_BAND * _ROW + 20.0}
    bands = {top for (_, top, _, _), _ in tiles}
    assert len(bands) == -(-85 // _BAND)                   # 85 rows: eleven bands of 8
    tall = float(re.search(r"\.node\{[^}]*\bheight:([\d.]+)px", svg)[1])   # a halo's (the drawing's style)
    assert tall == 50
    boxes = 0
    for (x, top, w, h), held in tiles:
        for bx, by, bw in held.values():
            boxes += 1
            assert x <= bx and bx + bw <= x + w
            assert top <= by and by + tall <= top + h
    assert boxes == len(order)
    # each tile of edges, those ending at one tile of boxes, holds them whole (they were in tiles as tall
    # as the drawing, 92,066 px on the 5,001-node graph's)
    edges = re.findall(r'<svg [^>]*class="dg-tile dg-edges"[^>]*viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) '
                       r'([-\d.]+)"[^>]*>(.*?)</svg>', svg, re.S)
    paths = 0
    for x, y, w, h, body in edges:
        for d in re.findall(r' d="([^"]+)"', body):
            paths += 1
            at = [float(v) for v in re.findall(r"-?[\d.]+", d)]
            assert "C" in d and len(at) == 8, d   # M x,y C x,y x,y x,y: one line, no edge to another
            assert float(x) <= min(at[0::2]) and max(at[0::2]) <= float(x) + float(w), d
            assert float(y) <= min(at[1::2]) and max(at[1::2]) <= float(y) + float(h), d
    assert paths == sum(len(n.parents) for n in order)
    total = float(re.search(r'class="dg-layered" style="[^"]*;height:(\d+)px"', svg)[1])
    assert sorted(float(h) for *_, h, _ in edges)[len(edges) // 2] < total / 2


# one step as the benchmark times it: the click on Next, then the next frame painted
ONE_STEP = """() => new Promise((done) => {
  document.getElementById("dg-next").click();
  requestAnimationFrame(() => setTimeout(done, 0));
})"""


BOXES_SHOWN = """() => [...document.querySelectorAll('.dg-boxes')]
  .filter((t) => getComputedStyle(t).display !== 'none')
  .reduce((n, t) => n + t.querySelectorAll(':scope > .node').length, 0)"""


def test_a_layer_jump_lays_out_no_new_tile(browser, tmp_path):
    """The layered page of the README loss with its L2 term written out (1,594 nodes, 214 tiles of boxes),
    neuron level: the worst steps were the jumps to the next layer, where tiles of boxes never laid out
    came on screen (with content-visibility: auto, a frame after the scroll) and the browser styled and
    laid out a band of them: up to 2,900 elements restyled and 4,100 objects laid out in one frame. Now
    the page displays only the tiles near the view (the others are display: none, not laid out: tiles
    of 400 px and 8 rows, 40 px around the view, at most 200 boxes), and a tile coming near is styled
    and laid out in the step that brings it: stepping 30 steps from the start of each pass, no frame
    restyles or lays out more than about a view's worth of tiles (counts from Chromium's trace, not
    times: at most 673 elements and 975 objects with SVG boxes, 413 and 688 with HTML boxes (fdb7801),
    in the jumps of the backward pass; 1,440 and 2,059
    with tiles of 800 px and 16 rows shown 150 px around the view; the tiles were kept laid out while
    hidden with content-visibility: hidden, at most a few hundred, but each change of that property
    cost a fixed 7-12 ms of main thread), and the tiles far from the view are left out."""
    import json

    require_dot()
    from tests.test_step_html_levels import l2_by_hand, mlp_loss
    from viz import step_html

    stepper = step_html(mlp_loss(False, l2=l2_by_hand)[0], tmp_path / "net.html", level="neuron")
    assert stepper.drawing == "layered"
    errors = []
    for start in ("#dg-start", "#dg-backward"):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(stepper.path.resolve().as_uri())
        tiles = page.eval_on_selector_all(".dg-boxes", "els => els.length")
        assert tiles == stepper.html.count('class="dg-tile dg-boxes"') > 50
        page.wait_for_function(f"() => +document.getElementById('dg-diagram').dataset.tilesReady === {tiles}",
                               timeout=60_000)  # every tile laid out
        page.click(start)
        browser.start_tracing(page=page, categories=["devtools.timeline"])
        texts = []
        boxes_shown = []   # the boxes of the tiles displayed after each step
        for _ in range(30):
            page.evaluate(ONE_STEP)
            texts.append(page.inner_text("#dg-text"))
            boxes_shown.append(page.evaluate(BOXES_SHOWN))
        trace = json.loads(browser.stop_tracing())
        events = trace["traceEvents"] if isinstance(trace, dict) else trace
        laid_out = [e["args"]["beginData"]["dirtyObjects"] for e in events if e.get("name") == "Layout"]
        restyled = [e["args"].get("elementCount", 0) for e in events if e.get("name") == "UpdateLayoutTree"]
        if start == "#dg-start":   # across the jump from layer 1 to layer 2
            assert any(t.startswith("layer 1 · neuron 16, forward") for t in texts)
            assert any(t.startswith("layer 2 · neuron 1, forward") for t in texts)
        else:                      # the loss's 612 operations, then layers 3, 2 and 1
            assert texts[0].startswith("the loss (612 operations), backward")
            assert any(t.startswith("layer 1 · neuron 16, backward") for t in texts)
        # (the 96 tiles: over 10,000; tiles of 800 px and 16 rows shown 150 px around the view: 1,159
        # objects and 797 elements; SVG boxes 975 and 673; HTML boxes 688 and 413)
        assert laid_out and max(laid_out) < 1050, sorted(laid_out)[-5:]
        assert restyled and max(restyled) < 750, sorted(restyled)[-5:]
        shown = page.eval_on_selector_all(".dg-boxes", "els => els.map(e => getComputedStyle(e).display)")
        assert 0 < tiles - shown.count("none")
        assert max(boxes_shown) <= 200, max(boxes_shown)   # 320 with those tiles; the view shows about 70
        assert errors == []
        page.close()


def test_no_layout_runs_between_steps(browser, tmp_path):
    """The layered page of the README loss with its L2 term written out: its tiles of boxes were laid out
    one at a time while the page was idle, so a tile's layout landed between two steps and counted in
    the next one's time (the layered pages' median step rose from 8 to 24 ms of CPU). Now every tile is
    laid out as the page opens: the page reports them all laid out at once, and while the learner reads
    a step (a second after it, traced in Chromium) the page neither restyles nor lays out anything."""
    import json
    import time

    require_dot()
    from tests.test_step_html_levels import l2_by_hand, mlp_loss
    from viz import step_html

    stepper = step_html(mlp_loss(False, l2=l2_by_hand)[0], tmp_path / "net.html", level="neuron")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(stepper.path.resolve().as_uri())
    tiles = page.eval_on_selector_all(".dg-boxes", "els => els.length")
    assert tiles == stepper.html.count('class="dg-tile dg-boxes"') > 50   # 96 with the drawing of 947b6cd
    assert page.get_attribute("#dg-diagram", "data-tiles-ready") == str(tiles)
    for start in ("#dg-start", "#dg-backward"):
        page.click(start)
        for _ in range(3):
            page.evaluate(ONE_STEP)
        browser.start_tracing(page=page, categories=["devtools.timeline"])
        time.sleep(1.0)
        trace = json.loads(browser.stop_tracing())
        events = trace["traceEvents"] if isinstance(trace, dict) else trace
        work = [(e["name"], e.get("args")) for e in events if e.get("name") in ("Layout", "UpdateLayoutTree")]
        assert work == [], work[:3]
    assert errors == []
    page.close()
