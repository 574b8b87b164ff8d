"""The terminal stepper's keys that quit (issue 14, minor item): `?`'s help, `deltagrad step --help` and
docs/stepper.md list exactly the keys of `viz.stepper.QUIT` (q, Q, Ctrl+C, Ctrl+D; and the end of input),
each of them quits, and from a real terminal Q and Ctrl+D are read as the keys they are and quit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_stepper_terminal import PtyScript, drive, neuron
from viz.stepper import KEYS_HELP, QUIT, key_name

DOCS = Path(__file__).resolve().parent.parent / "docs" / "stepper.md"


def quitting() -> set[str]:
    """The keys that quit, named as the help names keys (``""``, the end of input, is no key)."""
    return {key_name(k) for k in QUIT if k}


def quit_line(table: str) -> str:
    """The one line of a two-column key table that says what quits."""
    lines = [line.strip() for line in table.splitlines() if re.search(r"\bquit", line)]
    assert len(lines) == 1, lines
    return lines[0]


def help_keys(table: str) -> set[str]:
    """The keys the quit line of a help table names (its first column: up to a run of 2+ spaces)."""
    return set(re.split(r"\s{2,}", quit_line(table))[0].split())


def test_the_quit_keys_are_q_Q_ctrl_c_ctrl_d_and_the_end_of_input():
    # what a user expects: less and man quit on q and Q, a prompt ends on Ctrl+D; Ctrl+C interrupts
    assert quitting() == {"q", "Q", "Ctrl+C", "Ctrl+D"} and "" in QUIT


def test_the_help_the_stepper_shows_lists_exactly_the_keys_that_quit():
    assert help_keys(KEYS_HELP) == quitting()
    assert "end of input" in quit_line(KEYS_HELP) and "no other key quits" in quit_line(KEYS_HELP)
    o, _ = neuron()
    _, screens = drive(o, ["?", "q"], width=100)
    assert quit_line(KEYS_HELP) in screens[1]          # what `?` puts on the screen


def test_the_command_lines_help_lists_exactly_the_keys_that_quit():
    from deltagrad.cli import STEP_KEYS

    assert help_keys(STEP_KEYS) == quitting()
    assert quit_line(STEP_KEYS) == quit_line(KEYS_HELP)


def test_the_docs_key_table_lists_exactly_the_keys_that_quit():
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in DOCS.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    quits = [row for row in rows if len(row) == 2 and re.search(r"\bquit", row[1])]
    assert len(quits) == 1, quits
    keys, what = quits[0]
    assert {k.strip().strip("`") for k in keys.split(",")} == quitting()
    assert "end of input" in what


@pytest.mark.parametrize("key", QUIT)
def test_each_quit_key_quits(key):
    o, _ = neuron()
    _, screens = drive(o, ["n", key])                  # drive checks that every key was read, none more
    assert len(screens) == 2


@pytest.mark.parametrize("typed", [b"Q", b"\x04"], ids=["Q", "ctrl-d"])
def test_Q_and_ctrl_d_quit_the_stepper_in_a_real_pty(typed):
    script = ("import viz\nfrom autodiff import Value\n"
              "x = Value(2.0, 'x'); w = Value(-3.0, 'w')\n"
              "viz.step_terminal((x * w).tanh())\nprint('STEPPER DONE')\n")
    with PtyScript(script) as term:
        term.read_until(b"frame 1/", 60)
        assert b"frame 1/" in term.out
        term.write(b"n")                                # a key that does not quit, read first
        term.read_until(b"frame 2/", 10)
        assert b"frame 2/" in term.out and term.proc.poll() is None
        term.write(typed)
        term.proc.wait(timeout=30)
        term.read_until(b"STEPPER DONE", 5)
        assert term.proc.returncode == 0 and b"STEPPER DONE" in term.out
