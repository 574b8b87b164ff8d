"""Slides saved as SVG, in a real headless Chromium (Playwright): each frame of `viz.frames` and a
`render(..., preset="slide")` SVG is 16:9 and every node, edge and the caption lies inside its viewport."""

from __future__ import annotations

from autodiff.parse import parse_expression
from tests.conftest import require_dot
from viz.draw import render
from viz.frames import frames

# For every node, edge and text: its box in screen pixels (getBoundingClientRect applies the viewBox
# and every transform) against the <svg> element's own box.
OUTSIDE = """() => {
  const svg = document.querySelector('svg');
  const r = svg.getBoundingClientRect();
  const out = [];
  for (const el of svg.querySelectorAll('g.node, g.edge, text')) {
    const b = el.getBoundingClientRect();
    if (b.left < r.left - 0.5 || b.top < r.top - 0.5 || b.right > r.right + 0.5 || b.bottom > r.bottom + 0.5)
      out.push((el.id || el.tagName) + ' ' + [b.left, b.top, b.right, b.bottom].map(Math.round).join(','));
  }
  return {width: r.width, height: r.height, nodes: svg.querySelectorAll('g.node').length, outside: out};
}"""



def measure(browser, path, shot=None):
    page = browser.new_page(viewport={"width": 2000, "height": 1200})
    page.goto(path.resolve().as_uri())
    found = page.evaluate(OUTSIDE)
    if shot is not None:
        page.screenshot(path=str(shot))
    page.close()
    return found


def test_every_svg_frame_is_whole_and_16_by_9(browser, tmp_path):
    require_dot()
    parsed = parse_expression("x1*w1 + x2*w2", x1=2.0, w1=-3.0, x2=0.0, w2=1.0)
    paths = frames(parsed.root, tmp_path, gif=False)
    assert len(paths) == 8
    for path in paths:
        found = measure(browser, path, tmp_path / f"{path.stem}.png")
        assert found["nodes"] == path.read_text().count('class="node"') >= 7, path.name
        assert found["outside"] == [], path.name
        assert abs(found["width"] / found["height"] - 16 / 9) < 0.01, (path.name, found)


def test_a_slide_preset_svg_is_whole_and_16_by_9(browser, tmp_path):
    require_dot()
    parsed = parse_expression("tanh(x1*w1 + x2*w2 + b)", x1=2.0, w1=-3.0, x2=0.0, w2=1.0, b=6.88)
    parsed.backward()
    path = render(parsed.root, tmp_path / "slide.svg", preset="slide")
    found = measure(browser, path, tmp_path / "slide.png")
    assert found["nodes"] >= 8 and found["outside"] == []
    assert abs(found["width"] / found["height"] - 16 / 9) < 0.01
