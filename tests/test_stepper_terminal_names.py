"""The terminal stepper's node table names every row by one rule (issue 14, QA item 9): when a name does
not fit its column whole, every name in the column is abbreviated (``l0.n0.w.0`` next to ``l0.n0.b``, never
next to ``layers.0.neurons.0.b``), and the inputs column names nodes as their own rows do."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from tests.test_stepper_terminal import readme_walks, short, shows_row, table_rows
from viz.stepper import render_frame

LONG = re.compile(r"\b[A-Za-z][A-Za-z_]+\.\d")   # a word before an index: not abbreviated
SHORT = re.compile(r"\b[A-Za-z]\d+\.")            # an abbreviated word: l0.n1.b


def screen(walk, frame: int, width: int, height: int) -> str:
    console = Console(record=True, file=io.StringIO(), width=width, height=height, force_terminal=True)
    console.print(render_frame(walk, frame, console=console))
    return console.export_text()


@pytest.mark.parametrize("mode", ["eager", "fused"])
def test_a_column_abbreviates_all_its_names_or_none(mode):
    walk = readme_walks()[mode]
    n, full_names = len(walk), set(walk.names.values())
    abbreviated_screens = 0
    for frame in range(0, n, max(1, n // 60)):
        for width, height in [(80, 24), (60, 20)]:
            _, rows = table_rows(screen(walk, frame, width, height))
            cells = [r["node"].removeprefix("▶ ") for r in rows]
            whole = [c for c in cells if c in full_names]
            shortened = [c for c in cells if c not in full_names]
            inputs = [r["inputs"] for r in rows if "inputs" in r]
            if shortened:  # abbreviated somewhere: then no dotted name is left long, in either column
                abbreviated_screens += 1
                assert not [c for c in whole if LONG.search(c)], (mode, frame, width, cells)
                assert not [i for i in inputs if LONG.search(i)], (mode, frame, width, inputs)
            if [i for i in inputs if SHORT.search(i)]:  # and the other way: inputs abbreviated, names too
                assert not [c for c in cells if LONG.search(c)], (mode, frame, width, cells, inputs)
                for c in shortened:   # each is its node's abbreviation, maybe with its start cut
                    assert any(c in (short(k), "…" + short(k)[1 - len(c):]) for k in full_names), c
    assert abbreviated_screens > 0   # the README network's names do not fit 80 columns: the rule is used


def test_the_reported_rows_no_longer_mix_the_two_forms():
    """QA 14 item 9: at 80×24 the node column showed ``l0.n0.w0`` (now ``l0.n0.w.0``) beside
    ``layers.0.neurons.0.b`` and ``layers.0.neurons.0.a`` (only names longer than the column were cut).
    Issue 14 (tester qa14f item 5): frame 11 showed ``layers.0.neurons.1.z`` in the node column beside
    ``v20, l0.n1.b`` in the inputs (only the inputs column followed the other), and at the end the row
    of ``x.0`` read ``x0`` while the step text said ``x.0.grad``: a one-letter word is now kept."""
    walk = readme_walks()["eager"]
    text = screen(walk, len(walk) - 1, 80, 24)     # the pass's end: "old → new" grads narrow the names
    assert "x.0.grad +=" in text and shows_row(text, "layers.0.neurons.0.w.0")
    cells = [r["node"].removeprefix("▶ ") for r in table_rows(text)[1]]
    assert "l0.n0.w.0" in cells and "x.0" in cells and "x0" not in cells, cells
    assert not [c for c in cells if c.startswith("layers.")], cells
    text = screen(walk, 10, 80, 24)                 # frame 11: layers.0.neurons.1.z = v20 + …b
    assert "layers.0.neurons.1.z = v20 + layers.0.neurons.1.b" in text
    rows = {r["node"]: r["inputs"] for r in table_rows(text)[1]}
    assert rows["▶ l0.n1.z"] == "v20, l0.n1.b" and "l0.n1.b" in rows, rows


@pytest.mark.parametrize("mode", ["eager", "batched"])
def test_the_location_line_always_shows_what_uses_the_node(mode):
    """Issue 14 (tester qa14f item 4): at 80×24 the line under the step, what the node is made from,
    its position and what uses it, was cut at the screen's edge before "used by" on the README network
    (``layers.2.neurons.0.z = add(v978, layers.2.neurons.0.b)  ·  node 981 of 988 in t…``). A line too
    wide for the screen now takes two, and "used by" and the first user's name always show."""
    walk = readme_walks()[mode]
    used_by = {}
    for node in walk.order:
        for p in dict.fromkeys(walk.parents(node)):
            used_by.setdefault(p, []).append(node)
    n, checked = len(walk), 0
    frames = sorted({*range(0, n, max(1, n // 80)), n - 1} |
                    {f for f in range(n) if getattr(walk.node(f), "label", "") == "layers.2.neurons.0.z"})
    for frame in frames:
        node = walk.node(frame)
        if node is None or node is getattr(walk, "others", None):
            continue
        for width, height in [(80, 24), (60, 20), (40, 24)]:
            text = screen(walk, frame, width, height)
            lines = text.rstrip("\n").splitlines()
            assert len(lines) <= height - 1 and max(map(len, lines)) <= width, (mode, frame, width)
            first = walk.names[used_by[node][0]] if used_by.get(node) else "nothing"
            at = next((line for line in lines if "used by " in line), None)
            assert at is not None, (mode, frame, width, text)
            shown = at.split("used by ", 1)[1]
            assert shown.startswith((first, short(first))) or first.startswith(shown.removesuffix("…")), \
                (mode, frame, width, at, first)
            checked += 1
    assert checked > 150
    if mode == "eager":  # the reported frame, at 80×24: the made-from line whole, the users on the next
        frame = next(f for f in range(len(walk.forward) + 1)
                     if getattr(walk.node(f), "label", "") == "layers.2.neurons.0.z")
        lines = screen(walk, frame, 80, 24).splitlines()
        k = lines.index("layers.2.neurons.0.z = add(v978, layers.2.neurons.0.b)")
        assert lines[k + 1].rstrip() == "node 981 of 988 in topological order  ·  used by v981"
