"""The HTML stepper in a real headless Chromium (Playwright): buttons and arrow keys move the highlight,
the right numbers show, gradients appear as the backward pass reaches them, predict mode accepts a right
answer and rejects a wrong one, the page makes no network request, and it works inside a notebook's
iframe.  Set UPDATE_SCREENSHOTS=1 to refresh docs/stepper.png from these tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autodiff import Value, topological_order
from autodiff.steps import fmt
from tests.conftest import classic_neuron, require, require_chromium, require_dot

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def browser():
    chromium = require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright is not None, "Playwright for Python", "pip install playwright into .venv")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=ARGS)
        yield b
        b.close()


class Page:
    """A stepper page open in the browser, with the checks the tests need."""

    def __init__(self, browser, tmp_path, root, predict=False):
        require_dot()
        from viz import step_html

        self.order = topological_order(root)
        self.stepper = step_html(root, tmp_path / "stepper.html", predict=predict)
        self.pos = {n.label: i for i, n in enumerate(self.order) if n.label}
        self.page = browser.new_page(viewport={"width": 1280, "height": 720})
        self.errors, self.requests = [], []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(self.stepper.path.resolve().as_uri())

    def current(self) -> list[str]:
        return self.page.eval_on_selector_all("svg .dg-current", "els => els.map(e => e.id)")

    def counter(self) -> str:
        return self.page.inner_text("#dg-counter")

    def text(self) -> str:
        return self.page.inner_text("#dg-text")

    def row(self, label: str) -> tuple[str, str]:
        i = self.pos[label]
        return (self.page.inner_text(f"#dg-row-{i} .dg-data"), self.page.inner_text(f"#dg-row-{i} .dg-grad"))

    def on_diagram(self, label: str) -> str:
        return self.page.text_content(f"#dg-num-{self.pos[label]}")

    def svg_id(self, label: str) -> str:
        return self.stepper.node_ids[self.pos[label]]


def test_buttons_and_arrows_move_the_highlight_and_show_the_numbers(browser, tmp_path):
    p = Page(browser, tmp_path, classic_neuron()[0])
    page = p.page
    n_nodes = len(p.order)
    assert page.eval_on_selector_all("svg .dg-halo", "els => els.length") == n_nodes  # every node found
    assert p.counter() == "1 / 12" and p.current() == []
    assert p.row("x1") == ("2.0", "") and p.row("o") == ("", "")            # only the leaves are known

    page.click("#dg-next")
    assert p.counter() == "2 / 12" and p.current() == [p.svg_id("x1w1")]
    assert p.text() == "step 1/5  mul: x1w1 = x1 × w1 = 2.0 × -3.0 → -6.0"
    assert p.row("x1w1") == ("-6.0", "")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    assert p.current() == [p.svg_id("o")] and p.row("o") == ("0.7071", "")
    page.keyboard.press("ArrowRight")                                       # the seed
    assert "backward begins: o.grad" in p.text() and p.row("o")[1] == "1.0" and p.row("n")[1] == ""
    page.keyboard.press("ArrowRight")                                       # tanh passes 0.5 to n
    assert p.text() == "step 1/5  tanh: n.grad += (1 − o²) · o.grad = 0.5 · 1.0 → 0.5"
    assert p.current() == [p.svg_id("o")]
    assert page.eval_on_selector_all("svg .dg-touched", "els => els.map(e => e.id)") == [p.svg_id("n")]
    assert p.row("n") == ("0.8814", "0.5") and "∇ 0.5" in p.on_diagram("n")
    assert "∇" not in p.on_diagram("x1")                                    # not reached yet
    page.keyboard.press("ArrowLeft")
    assert p.row("n")[1] == "" and "∇" not in p.on_diagram("n")             # going back hides it again
    page.click("#dg-prev")
    assert p.counter() == "6 / 12" and p.current() == [p.svg_id("o")] and p.row("o") == ("0.7071", "")
    for _ in range(20):                                                     # past the end stays at the end
        page.keyboard.press("ArrowRight")
    assert p.counter() == "12 / 12" and page.is_disabled("#dg-next")
    assert p.current() == [p.svg_id("x1w1")]
    assert not any(node.has_grad for node in p.order)  # the page steps a fresh pass (issue 14)
    p.order[-1].backward()
    for node in p.order:                                                    # every gradient is revealed
        assert p.page.inner_text(f"#dg-row-{p.order.index(node)} .dg-grad") == fmt(node.grad)
    assert p.row("x1")[1] == "-1.5" and p.row("w1")[1] == "1.0" and p.row("w2")[1] == "0.0"
    assert p.errors == [] and all(u.startswith("file://") for u in p.requests), p.requests

    if os.environ.get("UPDATE_SCREENSHOTS"):
        for _ in range(3):
            page.keyboard.press("ArrowLeft")
        page.set_viewport_size({"width": 1280, "height": 560})
        page.screenshot(path=str(DOCS / "stepper.png"))


def test_predict_mode_accepts_a_right_and_rejects_a_wrong_answer(browser, tmp_path):
    p = Page(browser, tmp_path, classic_neuron()[0], predict=True)
    page = p.page
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    assert p.counter() == "7 / 12" and page.is_hidden("#dg-predict")      # the seed asks nothing
    page.keyboard.press("ArrowRight")
    assert page.is_visible("#dg-predict") and page.is_hidden("#dg-text")
    assert "n.grad += (1 − o²) · o.grad" in page.inner_text("#dg-hint") and "0.5" not in p.row("n")[1]
    assert p.row("n")[1] == "?"
    ask = f"#dg-ask-{p.pos['n']}"
    page.fill(ask, "0.3")
    page.click("#dg-check")
    assert "wrong" in page.inner_text(f"#dg-verdict-{p.pos['n']}") and p.row("n")[1] == "?"
    page.fill(ask, "0.5004")                                                # within the tolerance
    page.press(ask, "ArrowLeft")                                            # typing keys do not step
    page.press(ask, "Enter")
    assert "Right" in page.inner_text("#dg-predict-result")
    assert p.row("n")[1] == "0.5" and page.is_visible("#dg-text") and p.counter() == "8 / 12"

    page.click("#dg-next")                                                  # add: two parents to predict
    asks = page.eval_on_selector_all("#dg-predict input", "els => els.map(e => e.id)")
    assert asks == [f"#dg-ask-{p.pos['x1w1x2w2']}"[1:], f"#dg-ask-{p.pos['b']}"[1:]]
    page.fill(f"#dg-ask-{p.pos['x1w1x2w2']}", "0.5")
    page.fill(f"#dg-ask-{p.pos['b']}", "1")
    page.click("#dg-check")
    assert "right" in page.inner_text(f"#dg-verdict-{p.pos['x1w1x2w2']}")
    assert "wrong" in page.inner_text(f"#dg-verdict-{p.pos['b']}") and p.row("b")[1] == "?"
    page.click("#dg-reveal")
    assert p.row("b")[1] == "0.5" and page.is_hidden("#dg-predict")
    assert p.errors == []


def test_reused_node_and_notebook_iframe(browser, tmp_path):
    require_dot()
    from viz import HtmlStepper

    x = Value(3.0, "x")
    y = x * x
    y.label = "y"
    stepper = HtmlStepper(y)
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content(f"<html><body><h1>notebook</h1>{stepper._repr_html_()}</body></html>")
    frame = page.frame_locator("iframe")
    frame.locator("#dg-next").wait_for()
    for _ in range(3):
        frame.locator("#dg-next").click()
    assert frame.locator("#dg-text").inner_text().splitlines() == [
        "step 1/1  mul: x.grad += x · y.grad = 3.0 · 1.0 → 3.0",
        "               x.grad += x · y.grad = 3.0 · 1.0 → 3.0 + 3.0 = 6.0"]
    assert frame.locator("#dg-row-0 .dg-grad").inner_text() == "6.0"
    assert errors == []
