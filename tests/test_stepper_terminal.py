"""The terminal stepper driven headlessly: keys from a list, screens from rich's recording console (80x24
on the 2-16-16-1 loss), escape sequences read whole from a real pty, and the stepper run in a real pty."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from autodiff import Value, Walkthrough
from viz.examples import walkthrough
from viz.stepper import render_frame, step_terminal


def neuron():
    x1, x2, w1, w2, b = (Value(v, k) for v, k in
                         [(2.0, "x1"), (0.0, "x2"), (-3.0, "w1"), (1.0, "w2"), (6.8813735870195432, "b")])
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, x1


def drive(root, keys, width=120, height=None):
    """Run the stepper on ``keys`` and return the screen shown before each key was read."""
    console = Console(record=True, file=io.StringIO(), width=width, height=height, force_terminal=True)
    screens, pending = [], list(keys)

    def next_key():
        screens.append(console.export_text(clear=True))
        return pending.pop(0)

    assert step_terminal(root, console=console, keys=next_key, interactive=True) is None
    walk = Walkthrough(root)
    assert not pending, "the stepper stopped before reading every key"
    return walk, screens


def test_keys_move_forward_and_back_and_quit():
    o, x1 = neuron()
    walk, screens = drive(o, ["n"] * 7 + ["p", "right", "left", "left", "q"])
    assert len(walk) == 12
    frames = [int(s.split("frame ")[1].split("/")[0]) for s in screens]
    assert frames == [1, 2, 3, 4, 5, 6, 7, 8, 7, 8, 7, 6]
    assert "start: the leaves are x1 = 2.0" in screens[0]
    assert "backward begins: o.grad = do/do = 1.0" in screens[6]
    tanh_screen = screens[7]
    assert "n.grad += (1 − o²) · o.grad = 0.5 · 1.0 → 0.5" in tanh_screen
    assert "o = tanh(n)  ·  node 10 of 10 in topological order  ·  used by nothing" in tanh_screen
    rows = {line.split()[0]: line for line in tanh_screen.splitlines() if line.strip().startswith("n ")}
    assert rows["n"].rstrip().endswith("0.5")             # n's running gradient in the table
    assert walk.grads(len(walk) - 1)[x1] == pytest.approx(-1.5, abs=1e-12)  # one fresh pass
    assert not x1.has_grad                                 # and .grad left alone (issue 14)


def test_going_past_either_end_stays_put():
    x = Value(3.0, "x")
    walk, screens = drive(x * x, ["p", "n", "n", "n", "n", "q"])
    frames = [int(s.split("frame ")[1].split("/")[0]) for s in screens]
    assert len(walk) == 4 and frames == [1, 1, 2, 3, 4, 4]
    assert "x.grad += x · v1.grad = 3.0 · 1.0 → 3.0 + 3.0 = 6.0" in screens[-1]


def test_gradient_table_shows_accumulation_and_hides_unknown_values():
    x = Value(3.0, "x")
    y = x * x
    z = y + x
    _, screens = drive(z, ["n"] * 5 + ["q"])
    forward_start = screens[0]
    v1_row = next(line for line in forward_start.splitlines() if line.strip().startswith("v1"))
    assert "·" in v1_row and "9.0" not in v1_row            # not computed yet at the start
    last = screens[-1]
    x_row = next(line for line in last.splitlines() if line.strip().startswith("x "))
    assert x_row.rstrip().endswith("1.0 → 7.0")             # 1 from z = y + x, then 3 + 3 from y = x * x


def test_piped_output_prints_every_step():
    o, _ = neuron()
    out = io.StringIO()
    assert step_terminal(o, console=Console(file=out, width=120)) is None  # no repr under a notebook cell
    walk = walkthrough(o)  # the steppers' walkthrough: its start frame lists the leaves in reading order
    text = out.getvalue()
    for frame in range(len(walk)):
        assert walk.text(frame).splitlines()[0] in text
    assert text.index("step 5/5  tanh: o") < text.index("backward begins") < text.index("step 1/5  tanh")
    assert "q quit" not in text


def test_render_frame_of_every_frame():
    o, _ = neuron()
    from autodiff import Walkthrough
    walk = Walkthrough(o)
    for frame in range(len(walk)):
        console = Console(record=True, file=io.StringIO(), width=100)
        console.print(render_frame(walk, frame))
        assert f"frame {frame + 1}/{len(walk)}" in console.export_text()


@pytest.mark.parametrize("bad", [None, 2.0, "x"])
def test_stepper_needs_a_value(bad):
    with pytest.raises(TypeError, match="needs a Value"):
        step_terminal(bad, console=Console(file=io.StringIO()))


# ---- big graphs at 80x24 (issue 14) ---------------------------------------------------------------------

def mlp_loss():
    import random

    import nn
    model = nn.MLP(2, [16, 16, 1], rng=random.Random(0))
    return nn.squared_error(model([0.5, -1.5]), [1.0]), model


def frame_of(screen):
    return int(screen.split("frame ")[1].split("/")[0])


def short(name):
    """A parameter name as a narrow table abbreviates it: layers.1.neurons.12.w.15 -> l1.n12.w.15
    (a one-letter word, x.0 or w.15, stays as it is)."""
    parts, out = name.split("."), []
    while parts:
        word = parts.pop(0)
        indexed = len(word) > 1 and word.isalpha() and parts and parts[0].isdecimal()
        out.append(word[0] + parts.pop(0) if indexed else word)
    return ".".join(out)


def shows_row(screen, name):
    """Whether ``screen``'s table has the row of node ``name`` (maybe abbreviated, its start maybe "…")."""
    for line in screen.splitlines():
        cell = line.split("│")[0].strip().removeprefix("▶ ")
        if "│" in line and (cell in (name, short(name)) or
                            (cell.startswith("…") and short(name).endswith(cell[1:]))):
            return True
    return False


def current_row(screen):
    rows = [line for line in screen.splitlines() if line.startswith("▶ ")]
    assert len(rows) <= 1
    return rows[0] if rows else None


def test_a_big_network_fits_80x24_and_jumps():
    loss, _ = mlp_loss()
    keys = ["n", "b", "]", "1", "0", "0", "enter", "end", "home", "pgdn", "pgup", "escape", "x", "?", "F1",
            "n", "[", "q"]
    walk, screens = drive(loss, keys, width=80, height=24)
    seed = len(walk.forward) + 2                  # frames on screen count from 1
    frames = [frame_of(s) for s in screens]
    assert frames[:4] == [1, 2, seed, frames[3]] and frames[3] > seed
    assert frames[4:] == [frames[3]] * 3 + [100, len(walk), 1, 11, 1, 1, 1, 1, 1, 2, frames[-1]]
    for screen in screens:
        lines = screen.rstrip("\n").splitlines()
        assert len(lines) <= 23 and max(map(len, lines)) <= 80      # no scrolling at 80x24
    for k, screen in enumerate(screens):
        node = walk.node(frames[k] - 1)
        if node is not None and "keys ─" not in screen:              # the step's node is in view
            assert shows_row(current_row(screen), walk.names[node])
    assert "⋮" in screens[1] and "rows" in screens[1]                # a window, not 984 rows
    assert "layer 3: every δ passed back" in screens[3]
    assert "go to frame 10:" in screens[5] and "go to frame 100:" in screens[6]
    assert "the key 'x' does nothing here" in screens[13]
    help_screen = screens[14]
    assert "next / previous layer" in help_screen and "PgDn" in help_screen
    assert "the key 'F1' does nothing here" in screens[15] and "keys ─" not in screens[15]


def test_the_backward_window_keeps_the_updated_parents_in_view():
    loss, _ = mlp_loss()
    walk, screens = drive(loss, ["1", "2", "0", "0", "enter", "q"], width=80, height=24)
    step = walk.step(1199)
    shown = screens[-1]
    assert frame_of(shown) == 1200
    assert shows_row(current_row(shown), walk.names[step.node])
    for parent in step.parents:                   # their rows carry old → new, in yellow
        assert shows_row(shown, walk.names[parent])


def test_layer_marks_are_where_a_layer_is_done():
    from viz.stepper import layer_marks

    loss, model = mlp_loss()
    from autodiff import Walkthrough
    walk = Walkthrough(loss)
    marks = layer_marks(walk)
    assert [text for _, text in marks] == ["layer 1 computed", "layer 2 computed", "layer 3 computed",
                                           "layer 3: every δ passed back", "layer 2: every δ passed back",
                                           "layer 1: every δ passed back"]
    for (frame, _), layer in zip(marks[:3], model.layers, strict=True):
        acts = {walk.order[walk.position[v]] for v in walk.order if v.label in
                {n.prefix + ("a" if n.activation != "linear" else "z") for n in layer.neurons}}
        assert acts <= set(walk.values(frame)) and not acts <= set(walk.values(frame - 1))
    o, _ = neuron()
    walk, screens = drive(o, ["]", "q"])
    assert frame_of(screens[1]) == 1 and "no layers to jump between" in screens[1]


def test_unknown_keys_and_escape_do_not_quit():
    o, _ = neuron()
    walk, screens = drive(o, ["escape", "end", "pgdn", "home", "delete", "alt-x", "Z", "q"])
    assert [frame_of(s) for s in screens] == [1, 1, 12, 12, 1, 1, 1, 1]


# ---- keys from a real terminal ---------------------------------------------------------------------------

@pytest.mark.parametrize("typed, name", [
    (b"\x1b[F", "end"), (b"\x1b[H", "home"), (b"\x1bOF", "end"), (b"\x1bOH", "home"), (b"\x1b[4~", "end"),
    (b"\x1b[1~", "home"), (b"\x1b[6~", "pgdn"), (b"\x1b[5~", "pgup"), (b"\x1b[C", "right"),
    (b"\x1b[1;5D", "ctrl-left"), (b"\x1bOP", "f1"), (b"\x1b[15~", "f5"), (b"\x1b", "escape"),
    (b"\x1bx", "alt-x"), (b"q", "q"), (b"G", "G"), (b"\r", "enter"), (b"\x7f", "backspace"),
    (b"\xc3\xa9", "\u00e9"), (b"\x04", "ctrl-d"), (b"Q", "Q")])
def test_read_key_reads_a_whole_key_from_a_pty(typed, name):
    import os
    import pty

    from viz.stepper import cbreak, read_key
    master, slave = pty.openpty()
    try:
        with cbreak(slave):                       # as during a stepper session
            os.write(master, typed)
            if typed != b"\x1b":                  # a lone Esc is told apart by the pause after it
                os.write(master, b"z")
            assert read_key(slave) == name
            if typed != b"\x1b":
                assert read_key(slave) == "z"      # nothing of the sequence was left behind
    finally:
        os.close(master)
        os.close(slave)


# What the keys users press send: xterm, tmux/screen (TERM=screen: Home ESC [1~), the Linux console (F1-F5
# as ESC [[A-E), rxvt (Shift and Ctrl as $ and ^ endings), each with modifiers, and what a user calls them.
NAMED_KEYS = [
    (b"\x1bOP", "F1"), (b"\x1bOS", "F4"), (b"\x1b[11~", "F1"), (b"\x1b[[A", "F1"), (b"\x1b[[E", "F5"),
    (b"\x1b[15~", "F5"), (b"\x1b[17~", "F6"), (b"\x1b[21~", "F10"), (b"\x1b[23~", "F11"),
    (b"\x1b[24~", "F12"), (b"\x1b[1;2P", "Shift+F1"), (b"\x1bO5P", "Ctrl+F1"), (b"\x1b[15;5~", "Ctrl+F5"),
    (b"\x1b[24;6~", "Ctrl+Shift+F12"), (b"\x1b[11^", "Ctrl+F1"), (b"\x1b[2~", "Insert"),
    (b"\x1b[2$", "Shift+Insert"), (b"\x1b[3~", "Delete"), (b"\x1b[3;3~", "Alt+Delete"),
    (b"\x1b[3@", "Ctrl+Shift+Delete"), (b"\x1b[1~", "Home"), (b"\x1b[7~", "Home"), (b"\x1b[4~", "End"),
    (b"\x1b[8~", "End"), (b"\x1b[1;5H", "Ctrl+Home"), (b"\x1b[5~", "PgUp"), (b"\x1b[6;5~", "Ctrl+PgDn"),
    (b"\x1b[1;5C", "Ctrl+→"), (b"\x1b[1;2A", "Shift+↑"), (b"\x1b[a", "Shift+↑"), (b"\x1bOd", "Ctrl+←"),
    (b"\x1b\x1b[B", "Alt+↓"), (b"\x1b[Z", "Shift+Tab"), (b"\x1bx", "Alt+x"), (b"\x1b\x01", "Ctrl+Alt+A"),
    (b"\x01", "Ctrl+A"), (b"\x1b[E", "Begin")]


@pytest.mark.parametrize("typed, shown", NAMED_KEYS)
def test_keys_are_named_as_users_know_them(typed, shown):
    """Every sequence is read whole and named as the keyboard labels the key (tester qa14i F4: F5 was
    "unknown ESC [15~"); a key that does nothing says so by that name, never by its escape sequence."""
    import os
    import pty

    from viz.stepper import cbreak, key_name, read_key
    master, slave = pty.openpty()
    try:
        with cbreak(slave):
            os.write(master, typed + b"z")
            key = read_key(slave)
            assert key_name(key) == shown and read_key(slave) == "z"
    finally:
        os.close(master)
        os.close(slave)
    o, _ = neuron()
    _, screens = drive(o, ["n", key, "q"])
    moves = shown.split("+")[-1] in ("→", "←", "↑", "↓", "Home", "End", "PgUp", "PgDn")
    assert ("does nothing here" in screens[2]) is not moves          # Ctrl+→ moves as → does
    if not moves:
        assert f"the key '{shown}' does nothing here" in screens[2] and "\x1b" not in screens[2]
        if typed.startswith(b"\x1b") and len(typed) > 2:                # no part of the sequence
            assert "ESC" not in screens[2] and typed.decode("latin-1")[1:] not in screens[2]


def test_a_sequence_of_no_known_key_is_read_whole_and_said_so():
    import os
    import pty

    from viz.stepper import cbreak, read_key
    master, slave = pty.openpty()
    try:
        with cbreak(slave):
            for typed in (b"\x1b[99~", b"\x1b[<0;3;4M", b"\x1bO~"):
                os.write(master, typed + b"z")
                assert read_key(slave) == "unknown" and read_key(slave) == "z"
    finally:
        os.close(master)
        os.close(slave)
    o, _ = neuron()
    _, screens = drive(o, ["unknown", "q"])
    assert "that key (an escape sequence this stepper does not know) does nothing here" in screens[1]


class PtyScript:
    """A Python script run in a real pseudo-terminal (TERM xterm-256color; ``size`` rows × columns when
    given): ``write`` types bytes, ``read_until``/``read_for`` collect what it prints into ``out``; a
    context manager that kills it and closes the terminal on leaving."""

    def __init__(self, script: str, size: tuple[int, int] | None = None):
        import fcntl
        import os
        import pty
        import struct
        import subprocess
        import sys
        import termios

        self.master, slave = pty.openpty()
        if size:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
        self.proc = subprocess.Popen([sys.executable, "-c", script], stdin=slave, stdout=slave, stderr=slave,
                                     env={**os.environ, "TERM": "xterm-256color"}, close_fds=True)
        os.close(slave)
        self.out = b""

    def write(self, data: bytes) -> None:
        import os

        os.write(self.master, data)

    def read_until(self, text: bytes | None, seconds: float) -> None:
        """Read until ``text`` has been printed or ``seconds`` have passed (None: for ``seconds``)."""
        import os
        import select
        import time

        end = time.monotonic() + seconds
        while (text is None or text not in self.out) and time.monotonic() < end:
            if select.select([self.master], [], [], 0.05)[0]:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:
                    return

    def read_for(self, seconds: float) -> None:
        self.read_until(None, seconds)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        import os

        if self.proc.poll() is None:
            self.proc.kill()
        os.close(self.master)


def test_the_stepper_in_a_real_pty_quits_only_on_q():
    script = ("import random, nn, viz\n"
              "m = nn.MLP(2, [16, 16, 1], rng=random.Random(0))\n"
              "viz.step_terminal(nn.squared_error(m([0.5, -1.5]), [1.0]))\n"
              "print('STEPPER DONE')\n")
    with PtyScript(script, (24, 80)) as term:
        term.read_until(b"frame 1/", 60)
        assert b"frame 1/" in term.out
        for key in (b"\x1b[F", b"\x1b[6~", b"\x1b[H", b"\x1b", b"x", b"?"):
            term.write(key)
            term.read_for(0.4)
            assert term.proc.poll() is None, f"the stepper quit on {key!r}"
        assert b"frame 1288/1288" in term.out and b"does nothing here" in term.out
        term.write(b"q")
        term.proc.wait(timeout=30)
        term.read_for(0.3)
        assert term.proc.returncode == 0 and b"STEPPER DONE" in term.out


# ---- numbers are never cut, however narrow the terminal (issue 14) ---------------------------------------

def readme_walks():
    """The README network's loss on X[0], eager and fused, and its batched loss at example 5."""
    import nn
    from autodiff import Walkthrough
    from autodiff.batched import batch, batch_columns

    X, y = nn.data.make_moons(100, noise=0.1, rng=1)
    m = nn.MLP(2, [16, 16, 1], rng=1)
    eager = nn.hinge(m(X[0])[0], 2 * y[0] - 1) + nn.l2(m.weights(), 1e-4)
    mf = nn.MLP(2, [16, 16, 1], rng=1, fused=True)
    fused = nn.hinge(mf(X[0])[0], 2 * y[0] - 1) + nn.l2(mf.weights(), 1e-4)
    batched = nn.mean(nn.hinge(mf(batch_columns(X)), [batch(2 * y - 1)])) + nn.l2(mf.weights(), 1e-4)
    return {"eager": Walkthrough(eager), "fused": Walkthrough(fused), "batched": Walkthrough(batched, 5)}


def table_rows(screen):
    """{column: cell} for each row of a screen's node table; a grad split over two lines is joined."""
    lines = screen.splitlines()
    head = next(k for k, line in enumerate(lines) if line.startswith("node ") and "┃" in line)
    names = [c.strip() for c in lines[head].split("┃")]
    rows = []
    for line in lines[head + 2:]:
        if "│" not in line:
            break
        cells = dict(zip(names, (c.strip() for c in line.split("│")), strict=True))
        if cells["node"].startswith("⋮"):
            assert cells["node"].removesuffix(" rows")[2:].isdecimal(), line   # the count is whole
            continue
        if not cells["node"]:                         # the second line of "old →" / "new"
            rows[-1]["grad"] += " " + cells["grad"]
            continue
        rows.append(cells)
    return names, rows


@pytest.mark.parametrize("mode", ["eager", "fused", "batched"])
def test_every_number_shown_at_80x24_60x20_and_40x24_is_the_full_width_number(mode):
    from viz.stepper import render_frame

    walk = readme_walks()[mode]
    nf, n = len(walk.forward), len(walk)
    # the student's screen: the backward step at layers.1.neurons.0.z, an L2 gradient -9.593e-05 in view
    student = next(f for f in range(nf, n) if getattr(walk.node(f), "label", "") == "layers.1.neurons.0.z")
    frames = [0, nf // 2, nf + 1, nf + 2, (nf + n) // 2, n - 5, n - 1] + ([student] * (mode == "eager"))
    split = 0
    for frame in frames:
        wide = Console(record=True, file=io.StringIO(), width=200, force_terminal=True)
        wide.print(render_frame(walk, frame, width=200))
        _, full = table_rows(wide.export_text())
        by_name = {r["node"].removeprefix("▶ "): r for r in full}
        assert len(by_name) == len(walk.order)
        for width, height in [(80, 24), (60, 20), (40, 24)]:
            console = Console(record=True, file=io.StringIO(), width=width, height=height,
                              force_terminal=True)
            console.print(render_frame(walk, frame, console=console))
            screen = console.export_text()
            lines = screen.rstrip("\n").splitlines()
            assert len(lines) <= height - 1 and max(map(len, lines)) <= width, (mode, frame, width)
            names, rows = table_rows(screen)
            assert "data" in names and "grad" in names, (mode, frame, width, names)
            assert rows, (mode, frame, width)
            for row in rows:
                name = row["node"].removeprefix("▶ ")
                if name not in by_name:                  # abbreviated: l1.n12.w.15, …n12.w.15
                    matches = [k for k in by_name if name in (short(k), "…" + short(k)[1 - len(name):])]
                    assert len(matches) == 1, (name, matches)
                    name = matches[0]
                expected = by_name[name]
                assert (row["data"], row["grad"]) == (expected["data"], expected["grad"]), \
                    (mode, frame, width, name)
                for number in row["data"].replace("·", "").split() + row["grad"].split(" → "):
                    if number:
                        float(number)                 # parses: no "-9.593e-0", no "-1."
            split += sum(1 for line in lines if "│" in line and line.endswith("→"))
            if mode == "eager" and frame == student and width == 80:
                assert "-9.593e-05" in screen and "-1.0" in screen
    assert split or mode != "eager"                   # at 40 columns "old →" and "new" take two lines


def test_batched_frame_header_names_the_example_at_every_frame():
    """A new-user tester's finding (issue 14): only the start frame said "example 5 of 100"."""
    from viz.stepper import render_frame

    walks = readme_walks()
    walk = walks["batched"]
    nf, n = len(walk.forward), len(walk)
    for frame in (0, 1, nf // 2, nf + 1, nf + 2, n - 1):
        console = Console(record=True, file=io.StringIO(), width=100, height=30, force_terminal=True)
        console.print(render_frame(walk, frame, console=console))
        assert "·  example 5 of 100" in console.export_text().splitlines()[0], frame
    console = Console(record=True, file=io.StringIO(), width=100, height=30, force_terminal=True)
    console.print(render_frame(walks["eager"], 3, console=console))
    assert "example" not in console.export_text().splitlines()[0]  # a plain graph has one example


def test_a_frame_number_out_of_range_says_which_frames_there_are():
    """Issue 14 (tester): `0` Enter said "there are frames 1 to N"; `99999` Enter was said to jump to
    the last frame without a word. Both (and the last frame's own number, which is no error) checked."""
    loss, _ = mlp_loss()
    walk, screens = drive(loss, [*"99999", "enter", "0", "enter", *str(len(Walkthrough(loss))), "enter", "q"],
                          width=80, height=24)
    n = len(walk)
    said = [s for s in screens if f"there are frames 1 to {n}" in s]
    assert [frame_of(s) for s in said] == [n, 1], [frame_of(s) for s in screens]
    assert frame_of(screens[-1]) == n and "there are frames" not in screens[-1]


# ---- the start frame's text is cut between sentences (tester qa14i F6) -----------------------------------

def panel_text(screen: str) -> str:
    """The text in a screen's step box, its lines joined by single spaces."""
    lines = screen.splitlines()
    top = next(k for k, line in enumerate(lines) if line.startswith("╭"))
    bottom = next(k for k in range(top + 1, len(lines)) if lines[k].startswith("╰"))
    return " ".join(line.strip("│ ") for line in lines[top + 1:bottom])


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
def test_every_start_frame_is_cut_between_sentences_and_says_how_to_step_another_part(size):
    """The start frame of one example of a 100-point loss (the tester's: cut after "the whole graph:"),
    of the README loss on one point eager and fused, and of a batched loss shows whole sentences, then
    whole items of the list of leaves, and the way to choose another example or the whole graph."""
    import nn
    from viz.examples import walkthrough
    from viz.stepper import render_frame

    X, y = nn.data.make_moons(100, noise=0.1, rng=1)
    m = nn.MLP(2, [16, 16, 1], rng=1)
    loss = nn.mean([nn.hinge(m(x)[0], 2 * t - 1) for x, t in zip(X, y, strict=True)]) \
        + nn.l2(m.weights(), 1e-4)
    walks = {"one example of 100": walkthrough(loss, None, caller="test"), **readme_walks()}
    how = "Another example: example=k (0 to 99); the whole graph: example='all'."
    for what, walk in walks.items():
        console = Console(record=True, file=io.StringIO(), width=size[0], height=size[1], force_terminal=True)
        console.print(render_frame(walk, 0, console=console))
        shown = panel_text(console.export_text())
        whole = " ".join(walk.text(0).split())
        if "more lines" not in shown:
            assert " ".join(shown.split()) == whole, (what, size)
            continue
        kept, _, rest = shown.rpartition(" … ")
        kept = " ".join(kept.split())
        assert rest.endswith("more lines (a wider or taller terminal shows them)"), (what, size, rest)
        assert whole.startswith(kept), (what, size, kept)
        after = whole[len(kept):]
        # it ends a sentence, or an item of the list of leaves (the next item follows), never mid-way
        assert kept.endswith(".") and after.startswith(" ") or \
            kept.endswith(",") and re.match(r" \S+ = -?\d", after), (what, size, kept[-60:], after[:60])
        if what.startswith("one example"):
            assert how in kept, (size, kept)
