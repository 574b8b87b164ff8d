"""A label holding invisible format characters (Unicode category Cf: the bidi controls U+202A-202E and
U+2066-2069, U+200E/U+200F, U+061C, zero-width spaces, U+FEFF, tags past U+FFFF) cannot turn the numbers
around it, nor hide part of itself: every stepper and diagram shows those characters written out
(``\\u202e``, `autodiff.steps.shown_label`), on the page (step text, inspector, table, names, diagram),
in the terminal and in viz.draw's DOT and SVG; the label on the Value stays as given (tester qa14i F3:
``9.0 · 9.283e-287`` read ``782-e382.9 · 0.9``)."""

from __future__ import annotations

import io
import unicodedata

import pytest

from autodiff import Value, Walkthrough, topological_order
from autodiff.steps import node_names, shown_label
from tests.conftest import require_dot

LABELS = ["\u202eevil", "\u202aa", "\u202bb", "\u202cc", "\u202dd", "\u2066e\u2069", "\u2067f", "\u2068g",
          "\u200eh", "\u200fi", "\u061cj", "k\u200b", "\ufeffm", "n\U000e0001", "p\u200dq", "\u00adr"]


def format_chars(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cf"]


def graph():
    """A sum of products of leaves labelled with the characters above, through tanh: (root, leaves)."""
    leaves = [Value(float(k + 2), label) for k, label in enumerate(LABELS)]
    total = leaves[0] * leaves[1]
    for a, b in zip(leaves[2::2], leaves[3::2], strict=True):
        total = total + a * b
    return (total * 0.001).tanh(), leaves


def test_every_label_is_shown_with_its_format_characters_written_out():
    root, leaves = graph()
    assert all(not format_chars(shown_label(label)) for label in LABELS)
    assert shown_label("\u202eevil") == "\\u202eevil" and shown_label("n\U000e0001") == "n\\U000e0001"
    assert shown_label("x.0") == "x.0" and shown_label("ώ") == "ώ" and shown_label("שלום") == "שלום"
    names = node_names(topological_order(root))
    assert [names[v] for v in leaves] == [shown_label(label) for label in LABELS]
    assert [v.label for v in leaves] == LABELS                 # the Value keeps its label as given
    walk = Walkthrough(root)
    for frame in range(len(walk)):
        assert format_chars(walk.text(frame)) == [], walk.text(frame)
    assert "\\u202eevil" in walk.text(0)


def test_a_label_and_its_written_out_form_get_two_names():
    """``\\u202e`` typed out and the character itself read alike, so both get a name made unique."""
    a, b = Value(1.0, "\u202ex"), Value(2.0, "\\u202ex")
    names = node_names(topological_order(a * b))
    assert names[a] != names[b] and names[a].startswith("\\u202ex@") and names[b].startswith("\\u202ex@")


def test_the_terminal_shows_no_format_character():
    from rich.console import Console

    from viz.stepper import render_frame

    root, _ = graph()
    walk = Walkthrough(root)
    for frame in range(len(walk)):
        console = Console(record=True, file=io.StringIO(), width=100, height=30, force_terminal=True)
        console.print(render_frame(walk, frame, console=console))
        screen = console.export_text()
        assert format_chars(screen) == [], (frame, screen)
    assert "\\u202eevil" in screen


def test_draw_writes_no_format_character_in_dot_or_svg():
    require_dot()
    import viz

    root, _ = graph()
    diagram = viz.draw(root)
    assert format_chars(diagram.source) == []
    svg = diagram.pipe(format="svg").decode("utf-8")
    assert format_chars(svg) == [] and "\\u202eevil" in svg and "\\u2066e\\u2069" in svg


@pytest.mark.parametrize("max_nodes", [300, 1])      # graphviz's drawing, the layered one
def test_the_page_holds_no_format_character(tmp_path, max_nodes):
    from viz import step_html

    root, _ = graph()
    stepper = step_html(root, tmp_path / "labels.html", predict=True, max_nodes=max_nodes)
    assert stepper.drawing == ("layered" if max_nodes == 1 else "graphviz")
    assert format_chars(stepper.html) == []


# ---- in Chromium: the numbers read left to right --------------------------------------------------------

PLACE_OF_EACH_CHARACTER = """([selector, part]) => {
  // the element's text, across the text nodes it is written in (a step's line is runs of spans)
  const walker = document.createTreeWalker(document.querySelector(selector), NodeFilter.SHOW_TEXT);
  const where = [];
  let text = "";
  for (let node; (node = walker.nextNode());) {
    for (let j = 0; j < node.data.length; j++) where.push([node, j]);
    text += node.data;
  }
  const k = text.indexOf(part);
  if (k < 0) return null;
  const xs = [];
  for (let j = k; j < k + part.length; j++) {
    const [node, at] = where[j];
    const r = document.createRange();
    r.setStart(node, at);
    r.setEnd(node, at + 1);
    const box = r.getBoundingClientRect();
    if (box.width > 0 && text[j] !== " ") xs.push([box.top, box.left]);
  }
  return xs;
}"""

FORMAT_CHARS_ON_PAGE = r"""() => {
  const found = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) if (/\p{Cf}/u.test(node.data)) found.push(node.data);
  for (const o of document.querySelectorAll("option")) if (/\p{Cf}/u.test(o.value)) found.push(o.value);
  return found;
}"""


def left_to_right(page, selector: str, part: str) -> bool:
    """Whether ``part``'s characters in ``selector`` are laid out in reading order: each right of the one
    before on its line, or on a line below it (a long step text wraps)."""
    at = page.evaluate(PLACE_OF_EACH_CHARACTER, [selector, part])
    assert at, f"{part!r} is not in {selector}"
    return all(b[0] > a[0] + 2 or (abs(b[0] - a[0]) <= 2 and b[1] > a[1])
               for a, b in zip(at, at[1:], strict=False))


@pytest.mark.parametrize("max_nodes", [300, 1])
def test_a_bidi_override_in_a_label_turns_no_number_around_in_chromium(browser, tmp_path, max_nodes):
    """The tester's graph: the mul's backward step and the inspector read left to right, the label
    itself pasted in "node" finds its node, and no text on the page holds a format character."""
    require_dot()
    from viz import step_html

    a, b = Value(9.0, "\u202eevil"), Value(8.0)
    s = (a * b).tanh()
    stepper = step_html(s, tmp_path / "rlo.html", max_nodes=max_nodes)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(stepper.path.resolve().as_uri())
    page.keyboard.press("End")                                  # the mul's backward step
    assert left_to_right(page, "#dg-text", "= 9.0 · 1.158e-62 → 1.042e-61")
    text = page.inner_text("#dg-text")
    assert "v1.grad += \\u202eevil · v2.grad = 9.0 · 1.158e-62 → 1.042e-61" in text, text
    assert left_to_right(page, "#dg-text", "v1.grad += \\u202eevil · v2.grad")
    page.fill("#dg-find", "\u202eevil")                         # the label as given, pasted
    page.press("#dg-find", "Enter")
    assert page.inner_text("#dg-nav-msg") == ""
    head = page.inner_text("#dg-inspector")
    assert head.startswith("\\u202eevil (leaf): value 9.0"), head
    assert left_to_right(page, "#dg-inspector", "\\u202eevil (leaf): value 9.0")
    page.click("#dg-table-box summary")                         # the table of every value
    assert page.evaluate(FORMAT_CHARS_ON_PAGE) == []
    assert errors == []
    page.close()


# ---- control characters (category Cc): a final tester (qa14k) --------------------------------------------

CONTROLS = ["nl\nx", "esc\x1b[2J\x1b]0;PWNED\x07RED", "del\x7fx", "tab\tx", "cr\rx", "\x00nul", "nel\x85x"]


def control_chars(text: str) -> list[str]:
    """The Cc characters of ``text`` but the line feeds that separate its lines."""
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cc" and c != "\n"]


def control_graph():
    leaves = [Value(float(k + 1), label) for k, label in enumerate(CONTROLS)]
    total = leaves[0]
    for v in leaves[1:]:
        total = total + v * 2.0
    return total, leaves


def test_a_labels_control_characters_are_written_out_everywhere(tmp_path):
    """ESC [2J in a label cleared the terminal stepper's screen and ESC ] 0; set its title, swallowing
    the text after it; a newline split a step's line so that 'x' read as a node of its own; DEL hid a
    character. Now each is written out (\\x1b, \\n, \\x7f) in the steppers' texts, the terminal, the page
    and viz.draw, and the Value keeps its label."""
    from rich.console import Console

    from viz import step_html
    from viz.stepper import render_frame

    assert [shown_label(label) for label in CONTROLS] == [
        "nl\\nx", "esc\\x1b[2J\\x1b]0;PWNED\\x07RED", "del\\x7fx", "tab\\tx", "cr\\rx", "\\x00nul",
        "nel\\x85x"]
    root, leaves = control_graph()
    assert [v.label for v in leaves] == CONTROLS
    walk = Walkthrough(root)
    plain = Walkthrough(control_graph_plain())
    for frame in range(len(walk)):
        text = walk.text(frame)
        assert control_chars(text) == [], text
        assert text.count("\n") == plain.text(frame).count("\n"), text   # no line split by a label
        out = io.StringIO()
        console = Console(file=out, width=100, height=30, force_terminal=True)
        console.print(render_frame(walk, frame, console=console))
        screen = out.getvalue()
        assert "\x1b[2J" not in screen and "\x1b]0;" not in screen and "\x7f" not in screen
    stepper = step_html(root, tmp_path / "controls.html")
    assert control_chars(stepper.html.replace("\r", "").replace("\t", "")) == []
    assert "esc\\\\x1b[2J" in stepper.html   # the name shown, a backslash escaped in the page's JSON
    import viz
    source = viz.draw(root).source                             # the DOT source: no dot needed
    assert control_chars(source.replace("\t", "")) == []   # graphviz indents its source with tabs
    assert "<B>nl\\\\nx</B>" in source                     # a backslash, escaped for DOT


def control_graph_plain():
    """The same graph with plain labels: its texts have as many lines."""
    leaves = [Value(float(k + 1), f"p{k}") for k in range(len(CONTROLS))]
    total = leaves[0]
    for v in leaves[1:]:
        total = total + v * 2.0
    return total

