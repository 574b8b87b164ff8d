"""The terminal stepper's node table names every row by one rule (issue 14, QA item 9): when a name does
not fit its column whole, every name in the column is abbreviated (``l0.n0.w0`` next to ``l0.n0.b``, never
next to ``layers.0.neurons.0.b``), and the inputs column names nodes as their own rows do."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from tests.test_stepper_terminal import readme_walks, short, shows_row, table_rows
from viz.stepper import render_frame

LONG = re.compile(r"\b[A-Za-z][A-Za-z_]+\.\d")   # a word before an index: not abbreviated


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
            if shortened:  # abbreviated somewhere: then no dotted name is left long, in either column
                abbreviated_screens += 1
                assert not [c for c in whole if LONG.search(c)], (mode, frame, width, cells)
                inputs = [r["inputs"] for r in rows if "inputs" in r]
                assert not [i for i in inputs if LONG.search(i)], (mode, frame, width, inputs)
                for c in shortened:   # each is its node's abbreviation, maybe with its start cut
                    assert any(c in (short(k), "…" + short(k)[1 - len(c):]) for k in full_names), c
    assert abbreviated_screens > 0   # the README network's names do not fit 80 columns: the rule is used


def test_the_reported_rows_no_longer_mix_the_two_forms():
    """QA 14 item 9: at 80×24 the node column showed ``l0.n0.w0`` beside ``layers.0.neurons.0.b`` and
    ``layers.0.neurons.0.a`` (only names longer than the column were cut)."""
    walk = readme_walks()["eager"]
    text = screen(walk, len(walk) - 1, 80, 24)     # the pass's end: "old → new" grads narrow the names
    assert shows_row(text, "layers.0.neurons.0.w.0") and shows_row(text, "layers.0.neurons.0.b")
    cells = [r["node"].removeprefix("▶ ") for r in table_rows(text)[1]]
    assert "l0.n0.w0" in cells and "l0.n0.b" in cells, cells
    assert not [c for c in cells if c.startswith("layers.")], cells
