"""The page's typeset products (MathML) write a negative factor in brackets, as the step text beside them
does: ``0.488·(-9.531e-04)``, never ``0.488·-9.531e-04`` (tester qa14i): in the δ formula of every
neuron step and in the inspector's chain-rule sum."""

from __future__ import annotations

import re

from autodiff import grad
from autodiff.steps import fmt
from tests.test_step_html_browser import counter, open_page, readme_network

UNBRACKETED = re.compile(r"(?<![(e])-\d")  # a minus sign not after "(" (nor an exponent's "e")


def products(math: str) -> str:
    """The numbers multiplied out in a formula's text: between its last two "=" signs."""
    return math.split("=")[-2]


def test_negative_factors_are_bracketed_in_the_formula_and_the_inspector(browser, tmp_path):
    from viz import step_html

    loss, _ = readme_network(by_hand=False)
    stepper = step_html(loss, tmp_path / "neuron.html", level="neuron")
    page, errors = open_page(browser, stepper)
    page.click("#dg-backward")
    seen = negative = 0
    while counter(page)[0] < counter(page)[1]:
        page.keyboard.press("ArrowRight")
        if page.is_hidden("#dg-math"):
            continue
        math = page.text_content("#dg-math math").replace("\u2062", "")
        text = page.inner_text("#dg-text")
        # the text's sum over the next layer, w·δ each, is the formula's, brackets and all
        line = next(t for t in text.splitlines() if "Σ over its uses" in t)
        assert products(line).replace(" ", "") in math, (text, math)
        assert not UNBRACKETED.search(products(math)), math
        seen += 1
        negative += "(-" in products(math)
    assert seen == 33 and negative > 10, (seen, negative)  # every neuron of the 2-16-16-1 network
    x0 = next(n for n in stepper.walkthrough.order if n.label == "x.0")   # w·δ over its 16 uses
    page.fill("#dg-find", "x.0")
    page.press("#dg-find", "Enter")
    math = page.text_content("#dg-inspector math")
    terms = page.inner_text("#dg-inspector-terms")
    factors = products(terms.replace(" ", "").replace("\n", ""))
    assert "(-" in factors and not UNBRACKETED.search(factors), terms
    assert factors in math and not UNBRACKETED.search(products(math)), (terms, math)
    assert math.endswith("=" + fmt(grad(loss, [x0])[0]))
    assert errors == []
    page.close()


def test_small_numbers_read_as_in_python_from_1e_4_to_1e_3(browser, tmp_path):
    """The page's fmt is Python's "%.4g" below 1e-3 too: 0.0009531, as the text writes it, where it wrote
    9.531e-04 (the formula beside the text showed ``0.488 · -9.531e-04`` for ``0.488·(-0.0009531)``)."""
    from autodiff import Value
    from viz import step_html

    xs = [9.531e-4, -4.002e-4, 0.00099995, 1e-4, -1.2345e-4, 0.00012, 9.9999e-5, 5.774e-05, -2.5e-9,
          0.000999949, 2.5e6, -1234567.0]
    leaves = [Value(x, f"c{i}") for i, x in enumerate(xs)]
    out = leaves[0]
    for v in leaves[1:]:
        out = out + v
    stepper = step_html(out, tmp_path / "small.html", max_nodes=1)   # the layered drawing: no dot needed
    page = browser.new_page()
    page.goto(stepper.path.resolve().as_uri())
    page.click("#dg-table-box summary")
    page.wait_for_function("() => document.querySelector('#dg-table .dg-data').textContent !== ''")
    shown = [page.text_content(f"#dg-row-{stepper.walkthrough.position[v]} .dg-data") for v in leaves]
    assert shown == [fmt(x) for x in xs]
    assert shown[0] == "0.0009531" and shown[1] == "-0.0004002"
    page.close()
