"""The side panel's step text breaks only where the expression does, in a real headless Chromium at
1400×900 (tester qa14j item 4): `deltagrad step "y = x*x + x*x*x + tanh(x)*x" x=3 --html`, step 7/7 wrapped
"… → 28.0247 + 3.0" / "= 31.0247" with "= 31.0247" under "step", out of the "x.grad +=" column. Now a
line too long for the panel goes on before " = ", " → " or " += " (before " + ", " · ", " × " … in a run
still too long), its further lines indented past where the line's text begins, the lines' "+=" aligned, the
text itself unchanged and nothing wider than the panel. And a graphviz leaf box shows its value once:
under it, where the steps write (`x | data 3` in the box and `3.0` under it before)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.test_side_panel_fits_browser import TOO_WIDE
from tests.test_step_html_browser import open_page

# Each line of the step text as laid out: its visual lines (their left edge and the text of their first
# run), the column its text begins at (px), a character's width, and the runs split over two lines.
LAID_OUT = """(id) => {
  const box = document.getElementById(id), out = [];
  for (const line of box.querySelectorAll(':scope > .dg-line')) {
    const runs = [...line.querySelectorAll('.dg-run')], rows = new Map(), split = [];
    let before = "";
    for (const r of runs) {
      const rects = r.getClientRects();
      if (rects.length !== 1) { split.push(r.textContent); continue; }
      const top = Math.round(rects[0].top);
      if (!rows.has(top)) rows.set(top, {left: rects[0].left, first: r.textContent, after: before});
      before = r.textContent;
    }
    const one = runs.find((r) => r.textContent.trim().length > 3);
    if (!one) continue;  // an empty line
    const ch = one.getBoundingClientRect().width / one.textContent.length;
    const lead = runs[0].textContent.length - runs[0].textContent.trimStart().length;
    const start = runs[0].getBoundingClientRect().left + lead * ch;  // where the line's text begins
    out.push({rows: [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v), start, ch, split,
              left: line.getBoundingClientRect().left, text: line.textContent});
  }
  return out;
}"""


def check_lines(page, box="dg-text") -> list:
    """What is wrong with the text box's layout: runs split, lines that go on elsewhere than before an
    operator or not indented past the line's start; [] when all is well."""
    wrong = []
    for line in page.evaluate(LAID_OUT, box):
        wrong += [("split", line["text"], s) for s in line["split"]]
        for row in line["rows"][1:]:
            if not row["first"].startswith(("= ", "→ ", "+= ", "+ ", "· ", "× ", "- ", "− ", "/ ")) \
                    and not row["after"].endswith(","):  # a list (a coarse step's step numbers) after a comma
                wrong.append(("goes on at", row["first"], line["text"]))
            head = line["text"].split(": ", 1)[0] + ": " if line["text"].startswith("step ") else ""
            column = line["left"] + (len(head) or len(line["text"]) - len(line["text"].lstrip())) * line["ch"]
            if abs(row["left"] - (column + 2 * line["ch"])) > 1.5:
                wrong.append(("indent", row["first"], round(row["left"] - column), line["text"]))
    return wrong


@pytest.fixture
def shared_page(tmp_path):
    out = tmp_path / "shared.html"
    subprocess.run([sys.executable, "-m", "deltagrad", "step", "y = x*x + x*x*x + tanh(x)*x", "x=3", "--html",
                    str(out)], check=True, capture_output=True)

    class Stepper:  # what open_page needs
        path = out
    return Stepper


def test_the_testers_step_breaks_before_its_equals_and_keeps_its_column(browser, shared_page):
    from tests.conftest import require_dot

    require_dot()
    page, errors = open_page(browser, shared_page)
    page.keyboard.press("End")
    assert page.inner_text("#dg-counter") == "16 / 16"
    text = page.inner_text("#dg-text")
    assert text.splitlines() == [
        "step 7/7  mul: x.grad += x · v1.grad = 3.0 · 1.0 → 28.0247 + 3.0 = 31.0247",
        "               x.grad += x · v1.grad = 3.0 · 1.0 → 31.0247 + 3.0 = 34.0247"]   # the text unchanged
    lines = page.evaluate(LAID_OUT, "dg-text")
    assert [len(line["rows"]) for line in lines] == [2, 2]  # too long for the panel: each goes on once
    assert [line["rows"][1]["first"] for line in lines] == ["= 31.0247", "= 34.0247"]
    assert check_lines(page) == []
    # the two "x.grad +=" in one column: the second line's text begins where the first's name does
    assert abs(lines[0]["start"] + len("step 7/7  mul: ") * lines[0]["ch"] - lines[1]["start"]) < 1
    assert page.evaluate(TOO_WIDE) == [] and errors == []
    page.close()


def test_a_leaf_box_shows_its_value_once(browser, shared_page):
    page, errors = open_page(browser, shared_page)
    shown = """() => { const g = [...document.querySelectorAll('#dg-diagram g.node')]
      .find((g) => [...g.querySelectorAll('text')].some((t) => t.textContent === 'x'));
      return [...g.querySelectorAll('text')].filter((t) => getComputedStyle(t).display !== 'none')
        .map((t) => t.textContent.trim()).filter(Boolean); }"""
    assert page.evaluate(shown) == ["x", "3.0"]           # its name in the box, its value under it
    page.keyboard.press("End")
    assert page.evaluate(shown) == ["x", "3.0  ∇ 34.0247"]  # where the steps write its gradient too
    assert errors == []
    page.close()


@pytest.mark.parametrize("level, predict", [("op", False), ("neuron", False), ("layer", False), ("op", True)])
def test_long_network_names_break_before_operators(browser, tmp_path, level, predict):
    """The deep net's names (`layers.4.neurons.0.b.grad += 1 ·` / `layers.4.neurons.0.z.grad = …` before),
    every step of both passes, at each level, and predict mode's questions."""
    from tests.test_step_open_panel_browser import deep_loss
    from viz import step_html

    stepper = step_html(deep_loss(), tmp_path / "deep.html", level=level, predict=predict)
    page, errors = open_page(browser, stepper)
    wrong, wrapped = [], 0
    for _ in range(int(page.inner_text("#dg-counter").split(" / ")[1]) - 1):
        page.keyboard.press("ArrowRight")
        box = "dg-hint" if page.is_visible("#dg-hint") else "dg-text"
        wrong += [(page.inner_text("#dg-counter"), w) for w in check_lines(page, box)]
        wrong += [(page.inner_text("#dg-counter"), w) for w in page.evaluate(TOO_WIDE)]
        wrapped += sum(len(line["rows"]) > 1 for line in page.evaluate(LAID_OUT, box))
    assert wrapped >= 5, wrapped   # lines did go on: the check is not vacuous
    assert wrong == [], wrong[:4]
    assert errors == []
    page.close()
