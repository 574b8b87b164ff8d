"""The playground in real headless Chromium (issue 19): served on 127.0.0.1 with every request to any other
host aborted (and none attempted), a typed classic neuron stepped to the end, predict mode answered, a
shared link reopened, and a typed 2-16-16-1 MLP."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import require, require_chromium
from tests.test_playground import MLP_2_16_16_1, require_vendor

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

NEURON = """\
from autodiff import Value
# b makes n = atanh(1/√2), so o = 1/√2: the link must carry this line's UTF-8 too
x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
b = Value(6.8813735870195432, "b")
n = x1*w1 + x2*w2 + b; n.label = "n"
o = n.tanh(); o.label = "o"
o
"""


@pytest.fixture(scope="module")
def browser():
    require_vendor()
    chromium = require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright is not None, "Playwright", "pip install playwright")
    from deltagrad.cli import playground_server

    server = playground_server(port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=ARGS)
        yield b, base
        b.close()
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(browser):
    """A fresh context (a cold cache) whose every request off 127.0.0.1:port is aborted and recorded."""
    b, base = browser
    context = b.new_context()
    outside, seen = [], []

    def route(r):
        if r.request.url.startswith(base):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    context.on("request", lambda r: seen.append(r.url))
    pg = context.new_page()
    pg.base, pg.outside, pg.seen = base, outside, seen
    yield pg
    context.close()
    assert outside == [], f"the playground tried to reach another host: {outside}"
    assert seen and all(u.startswith(base) or u.startswith("data:") for u in seen), seen


def _runs(pg, n: int, timeout: float = 180_000):
    pg.wait_for_selector(f"body[data-runs='{n}'], #pg-message:not([hidden])", timeout=timeout)
    message = pg.locator("#pg-message")
    return None if message.is_hidden() else message.inner_text()


def _stepper(pg):
    return next(f for f in pg.frames if f.parent_frame is not None)


def _type_and_run(pg, code: str, runs_before: int):
    pg.fill("#pg-code", code)
    pg.click("#pg-run")
    return _runs(pg, runs_before + 1)


def _step_to_end(frame) -> int:
    """Press Next until it is disabled; return the number of presses."""
    return frame.evaluate("""() => {
        const next = document.getElementById("dg-next"); let n = 0;
        while (!next.disabled) { next.click(); n++; }
        return n; }""")


def _table(frame) -> dict[str, tuple[str, str]]:
    return {r[0]: (r[2], r[3]) for r in frame.evaluate(
        "() => [...document.querySelectorAll('#dg-table tbody tr')].map(tr => [...tr.children]"
        ".map(td => td.textContent))")}


def test_classic_neuron_typed_stepped_to_the_end_and_shared(page, browser):
    page.goto(page.base)
    assert _runs(page, 1) is None  # the page starts with an example
    assert _type_and_run(page, NEURON, 1) is None
    frame = _stepper(page)
    assert frame.evaluate("() => document.getElementById('dg-counter').textContent") == "1 / 12"
    assert _step_to_end(frame) == 11
    table = _table(frame)
    assert table["w1"] == ("-3.0", "1.0") and table["x1"] == ("2.0", "-1.5") and table["o"][0] == "0.7071"
    assert table["n"][1] == "0.5"

    shared = page.url
    assert "#python=" in shared
    other = page.context.new_page()
    other.goto(shared)
    assert _runs(other, 1) is None
    assert other.input_value("#pg-code") == NEURON
    again = _stepper(other)
    _step_to_end(again)
    assert _table(again) == table
    other.close()


def test_predict_mode_asks_and_checks_the_answers(page):
    page.goto(page.base)
    _runs(page, 1)
    page.check("#pg-predict")
    assert _type_and_run(page, NEURON, 1) is None
    frame = _stepper(page)
    frame.evaluate("""() => { const next = document.getElementById("dg-next");
        while (document.getElementById("dg-predict").hidden) next.click(); }""")
    asks = frame.evaluate("() => [...document.querySelectorAll('#dg-predict .dg-ask')].map(a => "
                          "[a.querySelector('label').textContent, a.querySelector('input').id])")
    assert [label.strip() for label, _ in asks] == ["n.grad ="]  # the first backward step: o = tanh(n)
    ask = asks[0][1]
    verdict = ask.replace("dg-ask-", "#dg-verdict-")
    frame.fill("#" + ask, "0.3")
    frame.click("#dg-check")
    assert "wrong" in frame.inner_text(verdict)
    frame.fill("#" + ask, "0.5")
    frame.click("#dg-check")
    assert "Right!" in frame.inner_text("#dg-predict-result")
    assert page.url.endswith("&predict")


def test_numpy_program_is_reported_not_failed(page):
    page.goto(page.base)
    _runs(page, 1)
    page.select_option("#pg-example", "moons-data")
    message = _runs(page, 2)
    assert message is not None and "needs numpy" in message
    assert page.get_attribute("#pg-message", "class") == "pg-numpy"


def test_mlp_2_16_16_1_typed_and_stepped_to_the_end(page):
    page.goto(page.base)
    _runs(page, 1)
    assert _type_and_run(page, MLP_2_16_16_1, 1) is None
    frame = _stepper(page)
    steps = _step_to_end(frame)
    total = frame.evaluate("() => document.getElementById('dg-counter').textContent")
    assert total == f"{steps + 1} / {steps + 1}" and steps > 1000


def test_the_stepper_in_the_playground_has_its_levels_and_inspector(page):
    """The page is `viz.step_html`'s own: its levels of detail and its inspector work on the user's graph."""
    from tests.test_playground import runner

    first = runner.run(runner.EXAMPLES["mlp-2-3-1"][2], page=False)["nodes"][0][0]
    page.goto(page.base)
    _runs(page, 1)
    page.select_option("#pg-example", "mlp-2-3-1")
    assert _runs(page, 2) is None
    frame = _stepper(page)
    counter = "() => document.getElementById('dg-counter').textContent"
    assert frame.evaluate(counter) == "1 / 48"
    frame.click("#dg-diagram svg #n0 text:visible")
    assert frame.is_visible("#dg-inspector")
    assert frame.inner_text("#dg-inspector-head").startswith(first)
    frame.select_option("#dg-level", "neuron")
    steps = int(frame.evaluate(counter).split("/")[1])
    assert 1 < steps < 48  # a neuron is one step, not one per op


def _link(base: str, source: str) -> str:
    import base64

    return base + "#python=" + base64.urlsafe_b64encode(source.encode()).decode().rstrip("=")


def test_a_link_to_an_endless_loop_can_be_stopped_and_the_examples_still_run(page):
    page.goto(_link(page.base, "while True:\n    pass\nx"))
    page.wait_for_selector("#pg-stop:not([disabled])", timeout=180_000)
    assert page.input_value("#pg-code") == "while True:\n    pass\nx"
    page.click("#pg-stop")
    page.wait_for_selector("#pg-message:not([hidden])")
    assert page.inner_text("#pg-message").startswith("stopped")
    page.select_option("#pg-example", "neuron")
    page.wait_for_selector("body[data-runs='1']", timeout=180_000)
    assert page.is_hidden("#pg-message")

    page.goto(_link(page.base, "while True:\n    pass\nx"))  # the picker alone also ends the loop
    page.reload()
    page.wait_for_selector("#pg-stop:not([disabled])", timeout=180_000)
    page.select_option("#pg-example", "mlp-2-3-1")
    page.wait_for_selector("body[data-runs='1']", timeout=180_000)
    assert page.is_hidden("#pg-message") and page.is_disabled("#pg-stop")


def test_a_fatal_python_error_restarts_python_and_says_why(page):
    """A list nested 100,000 deep, dropped while the program runs, is freed recursively and overflows the
    stack: Pyodide dies; the page starts a fresh Python, says so in words, and the next program runs.
    (A chain of Values no longer does: the playground frees those one node at a time.)"""
    deep = ("from autodiff import Value\na = []\nfor i in range(100000):\n    a = [a]\na = None\n"
            "Value(1.0)")
    page.goto(page.base)
    _runs(page, 1)

    def run(code: str):
        page.fill("#pg-code", code)
        page.evaluate("() => { document.getElementById('pg-message').hidden = true; }")  # the last one's
        page.click("#pg-run")  # waits for Run to be enabled: Python restarted
        return _runs(page, 2)

    message = run(deep)
    assert message is not None and "Python failed and was restarted" in message
    assert "thousands deep" in message
    assert run(deep) == message  # and again: a second crash must not break the page either
    assert run(NEURON.replace("\no\n", "\nprint('printed', o.data)\no\n")) is None
    assert page.inner_text("#pg-output").startswith("printed 0.7071")


@pytest.mark.parametrize("fragment, words", [
    ("#python=!!!", "could not be read"),
    ("#lisp=eA", "could not be read"),
    ("#python=__79", "not valid base64url of UTF-8"),  # the bytes ff ef fd
])
def test_a_broken_link_says_so_beside_the_example_shown_instead(page, fragment, words):
    page.goto(page.base + fragment)
    page.wait_for_selector("body[data-runs='1']", timeout=180_000)
    assert words in page.inner_text("#pg-message") and page.is_visible("#pg-message")
    assert page.input_value("#pg-code").startswith("from autodiff import Value\n\n# The classic neuron")


def test_a_link_with_base64url_padding_opens_its_program(page):
    import base64

    source = "from autodiff import Value\nValue(2.0, 'x') * 3"
    page.goto(page.base + "#python=" + base64.urlsafe_b64encode(source.encode()).decode())
    assert base64.urlsafe_b64encode(source.encode()).decode().endswith("=")
    assert _runs(page, 1) is None
    assert page.input_value("#pg-code") == source


def test_a_program_cannot_reach_another_host(page):
    """The server's Content-Security-Policy (connect-src 'self') makes the browser refuse the request:
    it never reaches the test's route, which would otherwise record and abort it."""
    page.goto(page.base)
    _runs(page, 1)
    source = "import js\nfrom autodiff import Value\njs.fetch('http://example.com/')\nValue(1.0)"
    assert _type_and_run(page, source, 1) is None
    page.wait_for_timeout(1000)  # the fetch runs on after the program
    attempts, page.outside[:] = list(page.outside), []  # checked here, not by the fixture's teardown
    assert attempts == []
