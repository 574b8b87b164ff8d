"""The stepper page's view cuts no box at its edges where it opens and after each zoom, in a real
headless Chromium (issue 14): as the README loss's page opened at 1920×1080 (75%), its L2 term's box,
"all 304 weights", was cut at the diagram pane's right edge. Now the view, where the page opens and
after each zoom button, slides (and as it opens may zoom in, up to 100%) to where its edges fall
between boxes, keeping the current step's box whole."""

from __future__ import annotations

import pytest

from tests.test_step_html_browser import open_page

# The boxes of the drawing (a box with its name above and its line of numbers below) cut by the pane's
# edges: partly in view, partly out, though no bigger than the view; and whether the current node's box
# is whole. The layered drawing's legend band at the top of the pane counts as outside the view. A layered
# box is a <div class="node">, its own halo; a graphviz box is a <g class="node"> with a .dg-halo or a shape.
CUT = """() => {
  const d = document.getElementById('dg-diagram'), v = d.getBoundingClientRect();
  const legend = d.querySelector('.dg-layered-figure > .dg-legend');
  const view = {left: v.left + d.clientLeft, right: v.left + d.clientLeft + d.clientWidth,
                top: legend ? legend.getBoundingClientRect().bottom : v.top + d.clientTop,
                bottom: v.top + d.clientTop + d.clientHeight};
  const rectOf = (g) => {
    const shape = g instanceof HTMLElement ? g : g.querySelector(':scope > .dg-halo') ||
      g.querySelector(':scope > polygon, :scope > path, :scope > ellipse');
    if (!shape) return null;
    const r = shape.getBoundingClientRect(), u = {left: r.left, right: r.right, top: r.top, bottom: r.bottom};
    for (const t of g.querySelectorAll(':scope > .dg-num, :scope > .dg-name')) {
      if (!t.textContent.trim()) continue;
      const b = t.getBoundingClientRect();
      u.left = Math.min(u.left, b.left); u.right = Math.max(u.right, b.right);
      u.top = Math.min(u.top, b.top); u.bottom = Math.max(u.bottom, b.bottom);
    }
    return u;
  };
  const cut = [], boxes = [];
  const x0 = view.left - d.scrollLeft, y0 = view.top - d.scrollTop;
  for (const g of d.querySelectorAll('g.node, div.node')) {
    if (g.closest('.dg-legend') || getComputedStyle(g).display === 'none') continue;
    const r = rectOf(g);
    if (r) boxes.push([r.left - x0, r.top - y0, r.right - x0, r.bottom - y0]);
    if (!r || r.right <= view.left || r.left >= view.right) continue;
    if (r.bottom <= view.top || r.top >= view.bottom) continue;
    if (r.right - r.left > view.right - view.left || r.bottom - r.top > view.bottom - view.top) continue;
    const out = r.left < view.left - 1 || r.right > view.right + 1;
    if (out || r.top < view.top - 1 || r.bottom > view.bottom + 1)
      cut.push(g.id + ' ' + g.textContent.trim().replace(/\\s+/g, ' ').slice(0, 30));
  }
  const current = d.querySelector('.dg-current');
  const c = current && rectOf(current);
  const whole = !c || (c.left >= view.left - 1 && c.right <= view.right + 1 && c.top >= view.top - 1 &&
                       c.bottom <= view.bottom + 1);
  return {cut, whole, zoom: document.getElementById('dg-zoom-level').textContent, boxes,
          current: c ? [c.left - x0, c.top - y0, c.right - x0, c.bottom - y0] : null,
          size: [view.right - view.left, view.bottom - view.top],
          most: [d.scrollWidth - d.clientWidth, d.scrollHeight - d.clientHeight],
          scroll: [d.scrollLeft, d.scrollTop]};
}"""

def could_cut_none(v) -> bool:
    """Whether some scroll place of the view (every 2 px, up to a view's size from the page's place, at
    this zoom) cuts no box
    (none within 3 px of an edge) and shows the current node's box whole: found by trying them all,
    apart from the page's own search."""
    import numpy as np

    W, H = v["size"]
    (x, y), (mx, my) = v["scroll"], v["most"]   # the places within a view's size of the page's
    sx, sy = np.meshgrid(np.arange(max(0, x - W), min(mx, x + W) + 2, 2.0),
                         np.arange(max(0, y - H), min(my, y + H) + 2, 2.0))
    ok = np.ones(sx.shape, bool)
    if v["current"]:
        left, top, right, bottom = v["current"]
        ok &= (left >= sx - 1) & (right <= sx + W + 1) & (top >= sy - 1) & (bottom <= sy + H + 1)
    for left, top, right, bottom in v["boxes"]:
        if right - left > W or bottom - top > H:
            continue
        # with 3 px to spare (the page keeps 2 px about a box, for its estimate of a line's width)
        seen = (right > sx - 3) & (left < sx + W + 3) & (bottom > sy - 3) & (top < sy + H + 3)
        whole = (left >= sx + 3) & (right <= sx + W - 3) & (top >= sy + 3) & (bottom <= sy + H - 3)
        ok &= ~seen | whole
    return bool(ok.any())


BUTTONS = ["#dg-zoom-in", "#dg-zoom-in", "#dg-zoom-out", "#dg-zoom-out", "#dg-zoom-out", "#dg-zoom-reset",
           "#dg-zoom-fit"]


def views(page) -> list:
    """What the view cuts as the page opens and after each zoom button in turn."""
    seen = [("open", page.evaluate(CUT))]
    for button in BUTTONS:
        page.click(button)
        seen.append((button, page.evaluate(CUT)))
    return seen


@pytest.mark.parametrize("size", [(1400, 900), (1920, 1080)], ids=["1400x900", "1920x1080"])
def test_the_readme_loss_page_opens_and_zooms_cutting_no_box(browser, tmp_path, size):
    """The tester's page: `viz.step_html(loss, path, level="neuron")` of the README's MLP(2, [16, 16, 1])
    with nn.l2 (graphviz's drawing, neurons collapsed)."""
    from tests.conftest import require_dot
    from tests.test_step_html_browser import readme_network
    from viz import step_html

    require_dot()
    loss, _ = readme_network(by_hand=False)
    stepper = step_html(loss, tmp_path / "readme.html", level="neuron")
    page, errors = open_page(browser, stepper, size)
    seen = views(page)
    assert float(seen[0][1]["zoom"].rstrip("%")) >= 75   # its text readable: 11 px or more
    assert seen[0][1]["cut"] == []                          # as it opens: no box cut (the tester's case)
    assert [(what, v["zoom"], v["cut"]) for what, v in seen if v["cut"] and could_cut_none(v)] == []
    # after steps, each zoom button keeps the current node whole (the view then also keeps the step's
    # other boxes, its neuron's frame: tests/test_step_html_browser.py, so a box may be cut)
    for key in ["b", "ArrowRight", "ArrowRight", "]"]:
        page.keyboard.press(key)
        for what, v in views(page)[1:]:
            assert v["whole"], (key, what, v["zoom"])
    assert errors == []
    page.close()


@pytest.mark.parametrize("graph", ["fused-neuron", "readme-layer", "l2-by-hand-op"])
@pytest.mark.parametrize("size", [(1400, 900), (1920, 1080)], ids=["1400x900", "1920x1080"])
def test_other_network_pages_open_and_zoom_cutting_no_box(browser, tmp_path, graph, size):
    """The same on the README network's other pages: fused (graphviz, collapsed), at the layer level,
    and with its L2 term written out (1,594 nodes: viz.layered's drawing, in tiles)."""
    from tests.conftest import require_dot
    from tests.test_step_html_browser import readme_network
    from viz import step_html

    require_dot()
    name, level = graph.rsplit("-", 1)
    loss, _ = readme_network(fused=name == "fused", by_hand=name == "l2-by-hand")
    stepper = step_html(loss, tmp_path / "page.html", level=level)
    page, errors = open_page(browser, stepper, size)
    seen = views(page)
    if stepper.drawing == "layered":   # it opens on its start, at 100%: its rows, a box and its line of
        seen = seen[1:]                # numbers 2 px apart, leave that view's edges no place between them
    else:
        assert seen[0][1]["cut"] == [], seen[0][1]["cut"]
    assert [(what, v["zoom"], v["cut"]) for what, v in seen if v["cut"] and could_cut_none(v)] == []
    assert errors == []
    page.close()
