"""An exercise's pages in a real headless Chromium (Playwright): the sheet shows a blank per question and
loads nothing from the network; the stepper page, in predict mode, accepts the answer key's gradient."""

from __future__ import annotations

import pytest

from nn.exercise import make_exercise
from tests.conftest import require_dot


def open_page(browser, path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, requests = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri())
    return page, errors, requests


def test_the_sheet_and_its_key_in_a_browser(browser, tmp_path):
    require_dot()
    exercise = make_exercise(doc="004", seed=7)
    exercise.write(tmp_path)
    key = exercise.key
    questions = len(key.forward) + 1 + len(key.deltas) + len(key.grads) + len(key.update)
    page, errors, requests = open_page(browser, tmp_path / "sheet.html")
    assert page.eval_on_selector_all("span.blank", "els => els.length") == questions
    assert "document 004" in page.inner_text("h1")
    answers, errors2, requests2 = open_page(browser, tmp_path / "answers.html")
    assert answers.eval_on_selector_all("span.blank", "els => els.length") == 0
    cells = answers.eval_on_selector_all("td.num", "els => els.map(e => e.innerText)")
    assert len(cells) == questions and cells[0] == f"{key.forward[0].engine:.6f}".rstrip("0").rstrip(".")
    assert errors == errors2 == []
    assert all(u.startswith("file://") for u in requests + requests2), requests + requests2


def test_the_stepper_page_accepts_the_keys_answer(browser, tmp_path):
    require_dot()
    exercise = make_exercise(doc="004", seed=7)
    exercise.write(tmp_path)
    page, errors, _ = open_page(browser, tmp_path / "stepper.html")
    for _ in range(500):                         # to the first backward step, where a question waits
        if page.is_visible("#dg-predict"):
            break
        page.keyboard.press("ArrowRight")
    assert page.is_visible("#dg-predict")
    asks = page.eval_on_selector_all("#dg-predict input", "els => els.map(e => e.id)")
    assert asks
    # The first backward step is the loss's last node; its parents' gradients are in the engine's graph
    # only, so take them from the page's own frame data and answer right to 6 decimals.
    frames = page.evaluate("JSON.parse(document.getElementById('dg-data').textContent).frames")
    frame = next(f for f in frames if f["asks"])
    for ask in frame["asks"]:
        page.fill(f"#dg-ask-{ask['pos']}", f"{ask['value']:.6f}")
    page.click("#dg-check")
    assert "Right" in page.inner_text("#dg-predict-result")
    assert errors == []
    # what the page will ask for each parameter is the key's gradient
    asked = {a["name"]: a["value"] for f in frames for a in f["asks"]}
    for row in exercise.key.grads:
        assert asked[row.name] == pytest.approx(row.engine, rel=1e-12, abs=1e-15), row.name
