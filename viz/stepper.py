"""A terminal stepper: walk through the forward and then the backward pass of a graph, one step per key,
with a window of the node table around the current step (big graphs fit the screen), jumps (start of the
backward pass, next layer, a frame number) and ``?`` for help. Piped output prints every step instead.
Uses rich, imported only here."""

from __future__ import annotations

import os
import re
import select
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

from autodiff import Value, Walkthrough
from autodiff.graph import not_a_value
from autodiff.steps import fmt
from viz.examples import walkthrough

__all__ = ["step_terminal", "render_frame", "read_key", "key_name", "cbreak", "layer_marks", "KEYS_HELP"]

NEXT, PREV = {"n", "right", "down", " ", "enter", "l"}, {"p", "left", "up", "h"}
# The keys that quit, as `less` and `man` quit on q and Q (Caps Lock on) and a prompt ends on Ctrl+D; ""
# is the end of input (stdin closed, keys piped in run out): nothing more can be typed. KEYS_HELP, the
# CLI's copy (deltagrad.cli.STEP_KEYS) and docs/stepper.md list each, tested against this.
QUIT = ("q", "Q", "ctrl-c", "ctrl-d", "")
PAGE = 10  # frames per PgDn / PgUp

KEYS_HELP = """\
n → ↓ space l   next step             p ← ↑ h   previous step
Home g          first frame           End G     last frame
b               start of the backward pass
] [             next / previous layer of a network built by nn: where a
                layer is computed, where its δ are all passed back
PgDn PgUp       10 steps forward / back
digits Enter    go to that frame      ?         this help
Esc             cancel the number, close this help
q Q Ctrl+C Ctrl+D  quit (so does the end of input); no other key quits"""

# Escape sequences, read whole: CSI "ESC [ params final" (xterm, tmux, the Linux console's "ESC [ [ A" for
# F1), SS3 "ESC O final" and rxvt's "ESC [ n $" (Shift), "^" (Ctrl), "@" (Ctrl+Shift). A key with modifiers
# says them in a second parameter, 1 + the sum of Shift 1, Alt 2, Ctrl 4, Meta 8 ("ESC [ 15 ; 5 ~": Ctrl+F5).
_CSI_FINAL = {"A": "up", "B": "down", "C": "right", "D": "left", "H": "home", "F": "end", "E": "begin",
              "G": "begin", "P": "f1", "Q": "f2", "R": "f3", "S": "f4", "Z": "shift-tab"}
_CSI_TILDE = {"1": "home", "7": "home", "4": "end", "8": "end", "5": "pgup", "6": "pgdn", "2": "insert",
              "3": "delete", **{str(code): f"f{k}" for k, code in enumerate(
                  (11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 23, 24, 25, 26, 28, 29, 31, 32, 33, 34), start=1)}}
_LINUX_F = {"A": "f1", "B": "f2", "C": "f3", "D": "f4", "E": "f5"}  # the Linux console's "ESC [ [ A"
_RXVT = {"$": "shift-", "^": "ctrl-", "@": "ctrl-shift-"}  # rxvt's tilde keys' other endings
_RXVT_ARROWS = {"a": "up", "b": "down", "c": "right", "d": "left"}  # "ESC [ a" Shift+↑, "ESC O a" Ctrl+↑
# SS3: F1-F4 and the arrows, and the keypad in application mode as the keys it types (digits go to a frame)
_SS3 = {**_CSI_FINAL, "M": "enter", "X": "=", "j": "*", "k": "+", "l": ",", "m": "-", "n": ".", "o": "/",
        **{chr(ord("p") + d): str(d) for d in range(10)}}
_MODIFIERS = (("ctrl", 4), ("alt", 2), ("shift", 1), ("meta", 8))
_CONTROL = {"\r": "enter", "\n": "enter", "\t": "tab", "\x7f": "backspace", "\x08": "backspace",
            "\x03": "ctrl-c", "\x04": "ctrl-d", "\x00": "ctrl-space", "\x1c": "ctrl-\\", "\x1d": "ctrl-]",
            "\x1e": "ctrl-^", "\x1f": "ctrl-_"}
UNKNOWN = "unknown"  # an escape sequence of no key named here (read whole all the same)


def _byte(fd: int, timeout: float | None) -> bytes:
    """One byte from ``fd``, or b"" when none comes within ``timeout`` seconds (None: wait)."""
    if timeout is not None and not select.select([fd], [], [], timeout)[0]:
        return b""
    return os.read(fd, 1)


def _modified(name: str, params: str) -> str:
    """``name`` with the modifiers a sequence's second parameter gives (``"5"``: ``ctrl-``)."""
    parts = params.split(";")
    if len(parts) < 2 or not parts[1].isdecimal() or int(parts[1]) < 2:
        return name
    bits = int(parts[1]) - 1
    return "".join(f"{mod}-" for mod, bit in _MODIFIERS if bits & bit) + name


def _sequence(fd: int) -> str:
    """The rest of an escape sequence after ESC, read whole so that none of it is left for the shell, as
    the key's name (`read_key`); `UNKNOWN` for a sequence of no key named here."""
    first = _byte(fd, 0.05)
    if not first:
        return "escape"
    if first == b"\x1b":  # ESC ESC: Alt with a key that sends a sequence of its own (rxvt), or Esc twice
        return "alt-" + _sequence(fd)
    if first not in (b"[", b"O"):
        return "alt-" + _char(fd, first)
    body = b""
    while len(body) < 16:
        b = _byte(fd, 0.05)
        if not b:
            break
        body += b
        if body == b"[" and first == b"[":  # the Linux console's F1-F5: ESC [ [ A
            continue
        # SS3 takes one byte after any digits (a modifier); a CSI ends at its final byte, or rxvt's $
        if 0x40 <= b[0] <= 0x7E or b == b"$":
            break
    text = body.decode("latin-1")
    params, final = text[:-1], text[-1:]
    if first == b"O":
        name = _SS3.get(final) or (f"ctrl-{_RXVT_ARROWS[final]}" if final in _RXVT_ARROWS else None)
        return UNKNOWN if name is None or not all(c.isdecimal() or c == ";" for c in params) else \
            _modified(name, "1;" + params if params and ";" not in params else params)
    if params == "[":
        return _LINUX_F.get(final, UNKNOWN)
    if final in _RXVT_ARROWS and not params:
        return f"shift-{_RXVT_ARROWS[final]}"
    if not all(c.isdecimal() or c == ";" for c in params):  # a private sequence (a mouse report, ...)
        return UNKNOWN
    if final in "~$^@" and final:
        name = _CSI_TILDE.get(params.split(";")[0])
        return UNKNOWN if name is None else _RXVT.get(final, "") + _modified(name, params)
    name = _CSI_FINAL.get(final)
    return UNKNOWN if name is None else _modified(name, params)


def _char(fd: int, raw: bytes) -> str:
    """The key whose first byte is ``raw``: the rest of a UTF-8 character read, a control character
    named (``ctrl-a``)."""
    if raw[0] >= 0xC0:  # the first byte of a multi-byte UTF-8 character
        more = 1 if raw[0] < 0xE0 else 2 if raw[0] < 0xF0 else 3
        for _ in range(more):
            raw += _byte(fd, 0.05)
    ch = raw.decode("utf-8", "replace")
    if ch in _CONTROL:
        return _CONTROL[ch]
    return f"ctrl-{chr(ord(ch) + 0x60)}" if "\x01" <= ch <= "\x1a" else ch


#: how `key_name` writes the keys `read_key` names in lower case
_KEY_NAMES = {"up": "↑", "down": "↓", "left": "←", "right": "→", "home": "Home", "end": "End",
              "pgup": "PgUp", "pgdn": "PgDn", "insert": "Insert", "delete": "Delete", "begin": "Begin",
              "escape": "Esc", "enter": "Enter", "tab": "Tab", "backspace": "Backspace", "space": "Space",
              **{f"f{k}": f"F{k}" for k in range(1, 21)}}


def _parts(key: str) -> tuple[list[str], str]:
    """``key``'s modifiers and the key itself: (["ctrl", "shift"], "f5") for ``"ctrl-shift-f5"``."""
    mods = []
    while len(key) > 1 and key.split("-", 1)[0] in ("ctrl", "alt", "shift", "meta") and "-" in key[:-1]:
        mod, key = key.split("-", 1)
        mods.append(mod)
    return mods, key


def key_name(key: str) -> str:
    """A key as `read_key` names it, written as keyboards label it: ``F5``, ``Ctrl+Shift+F5``, ``PgUp``,
    ``Insert``, ``Ctrl+→``, ``Alt+x``, ``Ctrl+A``; a character as typed."""
    if key == UNKNOWN:
        return "an unknown key"
    mods, base = _parts(key)
    base = _KEY_NAMES.get(base, base.upper() if "ctrl" in mods else base)
    held = [m.capitalize() for m, _ in _MODIFIERS if m in mods]  # Ctrl+Alt+Shift, as keyboards write them
    return "+".join([*held, base])


#: the keys that move whatever modifier is held with them (Ctrl+→ as →), as when they were read as one
_MOVES = {"up", "down", "left", "right", "home", "end", "pgup", "pgdn"}


@contextmanager
def cbreak(fd: int | None = None) -> Iterator[None]:
    """Keys reach the program one at a time and unechoed while inside (the terminal's mode is restored
    after). A stepper session stays inside throughout: keys typed while a frame is drawn then wait for
    `read_key` instead of sitting in the terminal's line buffer."""
    import termios
    import tty

    fd = sys.stdin.fileno() if fd is None else fd
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)  # the default TCSAFLUSH would drop keys typed ahead
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_key(fd: int | None = None) -> str:
    """One key press from the terminal ``fd`` (default stdin), without echo: a name (``"right"``,
    ``"end"``, ``"pgdn"``, ``"insert"``, ``"f5"``, ``"escape"``, ``"enter"``, ``"ctrl-a"``, …, with the
    modifiers held: ``"ctrl-shift-f5"``, ``"alt-x"``; `key_name` writes them as keyboards do) or the
    character typed, case kept; ``""`` at the end of input; ``"unknown"`` for an escape sequence of no
    key named here. The sequences of xterm, tmux, screen, rxvt and the Linux console are read whole
    (End, Home, PgDn, F1-F20, Alt+key), so none of their bytes reach the shell afterwards."""
    fd = sys.stdin.fileno() if fd is None else fd
    with cbreak(fd):
        raw = _byte(fd, None)
        if raw == b"\x1b":
            return _sequence(fd)
        return _char(fd, raw) if raw else ""


# --------------------------------------------------------------------------------------------------
# What a frame shows.
# --------------------------------------------------------------------------------------------------

def _consumers(walk: Walkthrough) -> dict[Value, list[Value]]:
    used_by: dict[Value, list[Value]] = {n: [] for n in walk.order}
    for node in walk.order:
        for p in dict.fromkeys(walk.parents(node)):
            used_by[p].append(node)
    return used_by


def _where(walk: Walkthrough, frame: int, used_by: dict[Value, list[Value]]) -> tuple[str, ...]:
    """Where the frame's node sits, in parts: what it is made from, its topological position, what uses
    it (one part for a frame that has no such node)."""
    node = walk.node(frame)
    if node is None:
        return (f"{len(walk.order)} nodes, {len(walk.forward)} computed from the leaves",)
    names = walk.names
    if node is getattr(walk, "others", None):
        if walk.chain:  # the other examples' loss terms, added up
            return (f"{names[node]} = the loss terms of {walk.what} added up: their backward steps in one",)
        return (f"{names[node]}: their backward steps, summed into one",)
    parents = walk.parents(node)
    made = (f"{names[node]} = {node.op}({', '.join(names[p] for p in parents)})" if parents
            else f"{names[node]} is a leaf" if node.is_leaf else f"{names[node]} is given")
    users = ", ".join(names[u] for u in used_by[node]) or "nothing: it is the output"
    return (made, f"node {walk.position[node] + 1} of {len(walk.order)} in topological order",
            f"used by {users}")


def _where_lines(parts: tuple[str, ...], width: int | None) -> list[str]:
    """The "where" parts in ``width`` characters (None: one line): on one line when they fit, else on
    two, what the node is made from above its position and what uses it, so "used by" always shows.
    A line still too long has its names abbreviated as the table's are (`_short`), then "in
    topological order" left out, then its end cut with "…"."""
    line = "  ·  ".join(parts)
    if width is None or len(line) <= width:
        return [line]
    lines = [parts[0], "  ·  ".join(parts[1:])] if len(parts) == 3 else [line]
    out = []
    for line in lines:
        if len(line) > width:
            line = _short(line)
        if len(line) > width:
            line = line.replace(" in topological order", "")
        out.append(line if len(line) <= width else line[:max(width - 1, 0)] + "…")
    return out


def _phase(walk: Walkthrough, frame: int) -> str:
    kind, nf, nb = walk.kinds[frame], len(walk.forward), len(walk.backward)
    return {"start": "start", "forward": f"forward {frame}/{nf}", "seed": "backward: seed",
            "backward": f"backward {frame - nf - 1}/{nb}"}[kind]


def _window(n: int, centre: int | None, keep: list[int], budget: int) -> list[int | None]:
    """Which of ``n`` table rows to show in ``budget`` lines: the rows in ``keep`` (the current node first,
    then the parents the step updates) and the neighbours of ``centre``; None marks a run of hidden rows
    (one line, "⋮ k rows")."""
    if n <= budget:
        return list(range(n))
    budget = max(budget, 1)
    shown: set[int] = set()

    def lines(rows: set[int]) -> int:
        s = sorted(rows)
        if not s:
            return 1
        inner = sum(1 for a, b in zip(s, s[1:], strict=False) if b > a + 1)
        return len(s) + inner + (s[0] > 0) + (s[-1] < n - 1)

    for row in keep:
        if lines(shown | {row}) <= budget:
            shown.add(row)
    centre = 0 if centre is None else centre
    for step in range(n):
        if len(shown) >= budget:
            break
        for row in (centre + step, centre - step):
            if 0 <= row < n and row not in shown and lines(shown | {row}) <= budget:
                shown.add(row)
    out: list[int | None] = []
    for row in sorted(shown):
        if (out and out[-1] is not None and row > out[-1] + 1) or (not out and row > 0):
            out.append(None)
        out.append(row)
    if out and out[-1] is not None and out[-1] < n - 1:
        out.append(None)
    return out


COLUMNS = [("node", "left"), ("op", "left"), ("inputs", "left"), ("data", "right"), ("grad", "right")]


def _table(walk: Walkthrough, frame: int, rows: int | None, width: int | None = None):
    """The node table (every node, or a window of ``rows`` lines around the step) in ``width`` characters
    (None: as wide as it needs). Numbers are never cut: to fit, a long input list is cut to 30 characters
    ("…" at its end), the names column to 20, input lists to 12, then the inputs column is dropped, a
    running "old → new" is split over two lines, names go down to their abbreviations and the op column
    is dropped. Names follow one rule per table: when a node's name does not fit its column whole, or
    a list of inputs fits its column only abbreviated, every name is abbreviated in both columns
    (``l1.n12.w.15`` for ``layers.1.neurons.12.w.15``), and one
    still too long has "…" in place of its start (its distinguishing end kept)."""
    from rich.table import Table

    kind, current = walk.kinds[frame], walk.node(frame)
    touched = list(dict.fromkeys(walk.step(frame).parents)) if kind == "backward" else []
    keep = [walk.position[v] for v in ([current] if current is not None else []) + touched]

    def window(budget: int | None) -> list[int | None]:
        return (list(range(len(walk.order))) if budget is None else
                _window(len(walk.order), keep[0] if keep else None, keep, budget))

    visible = window(rows)
    cells = _cells(walk, frame, visible, touched)
    shown, widths, split = _fit(cells, width)
    if split and rows is not None:  # each split "old → new" takes a second line
        visible = window(max(1, rows - sum(1 for c in cells if " → " in c[0][4])))
        cells = _cells(walk, frame, visible, touched)
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for i in shown:
        table.add_column(COLUMNS[i][0], justify=COLUMNS[i][1], no_wrap=True, overflow="ellipsis",
                         width=widths[i])
    # one rule for the table: every name is abbreviated, in both columns, when one node name does not
    # fit whole or when abbreviating makes a list of inputs fit (l0.n0.w.0 next to l0.n0.b, never next
    # to layers.0.neurons.0.b; a row's inputs named as their own rows are). A list too long either way
    # (a sum of 304 squares) is cut at its end, and abbreviates nothing.
    named = [row for row, _ in cells if not row[0].startswith("⋮")]
    short_names = any(len(row[0]) > widths[0] for row in named) or \
        (2 in shown and any(len(row[2]) > widths[2] >= len(_short(row[2])) for row in named))
    for row, style in cells:
        row = list(row)
        if current is not None and row[0] == "▶ " + walk.names[current]:
            row[0] = "▶ " + _clip_left(walk.names[current], widths[0] - 2, short_names)
        elif not row[0].startswith("⋮"):
            row[0] = _clip_left(row[0], widths[0], short_names)
        elif len(row[0]) > widths[0]:  # "⋮ 974", not "⋮ 974 r…": a count is a number too
            row[0] = row[0].removesuffix(" rows")
        if short_names:
            row[2] = _short(row[2])
        if split:
            row[4] = row[4].replace(" → ", " →\n")
        table.add_row(*(row[i] for i in shown), style=style)
    return table


def _cells(walk: Walkthrough, frame: int, visible: list[int | None], touched: list[Value]):
    """The (cells, style) of each visible row: node, op, inputs, data and running grad, all whole."""
    current = walk.node(frame)
    values, grads = walk.values(frame), walk.grads(frame)
    before = walk.grads(frame - 1) if frame > 0 else {}
    hidden = _hidden_counts(visible, len(walk.order))
    out = []
    for k, row in enumerate(visible):
        if row is None:
            out.append(((f"⋮ {hidden[k]} rows", "", "", "", ""), "dim"))
            continue
        node = walk.order[row]
        g = grads.get(node)
        grad = "" if g is None else fmt(g)
        if node in touched and before.get(node) is not None:
            grad = f"{fmt(before[node])} → {grad}"
        out.append(((("▶ " if node is current else "") + walk.names[node], walk.op(node),
                     ", ".join(walk.names[p] for p in walk.parents(node)),
                     fmt(values[node]) if node in values else "·", grad),
                    "bold reverse" if node is current else "yellow" if node in touched else None))
    return out


def _fit(cells, width: int | None) -> tuple[list[int], list[int], bool]:
    """Which columns to show, each one's width, and whether "old → new" goes on two lines, so that the
    table fits ``width`` characters with every number whole (see `_table` for the order of the cuts)."""
    need = [max([len(c[0][i]) for c in cells] + [len(name)]) for i, (name, _) in enumerate(COLUMNS)]
    shown, widths, split = [0, 1, 2, 3, 4], list(need), False
    if width is None:
        return shown, widths, split

    def excess() -> int:  # a column takes its width, one space each side and a rule (none at the edges)
        return sum(widths[i] for i in shown) + 3 * (len(shown) - 1) - width

    def shrink(i: int, least: int) -> None:
        widths[i] = max(min(least, need[i]), widths[i] - max(excess(), 0))

    abbreviated = min(14, max([len(_short(c[0][0])) for c in cells] + [4]))  # all whole as l1.n12.w.15

    def split_grad() -> None:  # "old → new" on two lines: the grad column as wide as the wider part
        nonlocal split
        split = True
        widths[4] = max([len(p) for c in cells for p in c[0][4].replace(" → ", " →\n").split("\n")]
                        + [len("grad")])

    cuts = [lambda: shrink(2, 30), lambda: shrink(0, 20), lambda: shrink(2, 12), lambda: shown.remove(2),
            split_grad, lambda: shrink(0, abbreviated), lambda: shown.remove(1), lambda: shrink(0, 4)]
    for cut in cuts:
        if excess() <= 0:
            break
        cut()
    return shown, widths, split


def _clip_left(name: str, width: int, abbreviate: bool) -> str:
    """``name`` in ``width`` characters: a dotted parameter name abbreviated when its column is
    (``layers.1.neurons.12.w.15`` as ``l1.n12.w.15``), then, if still too long, its start replaced by "…":
    the end of a name is what tells it apart from its neighbours."""
    if abbreviate:
        name = _short(name)
    return name if len(name) <= width else "…" + name[len(name) - max(width - 1, 0):]


def _short(name: str) -> str:
    """A dotted name with each word before an index cut to its initial: ``l1.n12.w.15`` for
    ``layers.1.neurons.12.w.15``. A one-letter word is its own initial and stays as it is, dot and
    all (``x.0``, ``w.15``), so a name the step text uses is found in the table as written."""
    return _INDEXED_WORD.sub(r"\1", name)


_INDEXED_WORD = re.compile(r"\b([A-Za-z])[A-Za-z_]+\.(?=\d)")


def _hidden_counts(visible: list[int | None], n: int) -> dict[int, int]:
    """For each gap marker (None) in ``visible``, how many rows it stands for."""
    counts = {}
    for k, row in enumerate(visible):
        if row is None:
            before = visible[k - 1] if k > 0 else -1
            after = visible[k + 1] if k + 1 < len(visible) else n
            counts[k] = after - before - 1
    return counts


def render_frame(walk: Walkthrough, frame: int, used_by: dict[Value, list[Value]] | None = None, *,
                 show_keys: bool = True, console=None, status: str = "", show_help: bool = False,
                 width: int | None = None):
    """The rich renderable of one frame: a progress header (on a batched graph naming the example shown),
    the step's worked example, where it is in
    the graph, and the table of the nodes' values and running gradients (current node marked ▶ and
    highlighted, the parents the step updates in yellow as ``old → new``).

    Without ``console`` the table lists every node, fitted to ``width`` characters (numbers are never
    cut; None: as wide as it needs). With a rich ``console`` the frame fits its height:
    the step text is cut to a third of the screen, the "where" line to one line, and the table shows a
    window around the current node (its parents kept in view; "⋮ k rows" for each hidden run).
    ``status`` is a line of feedback under the keys; ``show_help`` puts `KEYS_HELP` in place of the table.
    """
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    used_by = _consumers(walk) if used_by is None else used_by
    kind = walk.kinds[frame]
    batch = "" if walk.example is None else f"  ·  example {walk.example} of {walk.batch_size}"
    header = Text(f"frame {frame + 1}/{len(walk)}  ·  {_phase(walk, frame)}{batch}", style="bold")
    text = Text(walk.text(frame))
    # one line, or on a screen two when it is wider than the screen: "used by" always shows
    lines = _where_lines(_where(walk, frame, used_by), None if console is None else console.size.width)
    where = Text("\n".join(lines), style="dim")
    if console is not None:
        text = _cut(text, console, max(2, console.size.height // 3))
        where.no_wrap, where.overflow = True, "ellipsis"
    step = Panel(text, title=kind, title_align="left",
                 border_style="cyan" if kind in ("start", "forward") else "magenta")
    keys = Text("n/→ next  p/← prev  b backward  ]/[ layer  digits+Enter go to  ? help  q quit"
                if show_keys else "", style="dim")
    foot = [keys] + ([Text(status, style="bold yellow")] if status else [])
    if show_help:
        return Group(header, step, Panel(Text(KEYS_HELP), title="keys", title_align="left"), *foot)
    if console is None:
        return Group(header, step, where, _table(walk, frame, None, width), *foot)
    width = console.size.width
    fixed = Group(header, step, where, _table(walk, frame, 0, width), *foot)
    used = len(console.render_lines(fixed, console.options, pad=False))
    rows = max(1, console.size.height - 1 - used)  # the last line stays free: printing it would scroll
    return Group(header, step, where, _table(walk, frame, rows, width), *foot)


def _cut(text, console, max_lines: int):
    """``text`` wrapped to the console, cut to ``max_lines`` lines with a note of how many are left out.
    The cut falls at the end of a sentence, of a line of the text or of an item of a list (``x.0 = 1.5,``)
    where one ends in those lines, so no sentence shows half (the start frame's way to choose another
    example was cut after "the whole graph:"); else at the end of the last line that fits."""
    from rich.text import Text

    width = max(10, console.size.width - 4)
    lines = text.wrap(console, width)
    if len(lines) <= max_lines:
        return text
    plain = text.plain
    ends = [m.end() for m in _ENDS.finditer(plain)]
    fits = lambda k: len(Text(plain[:ends[k]].rstrip()).wrap(console, width)) <= max_lines - 1  # noqa: E731
    lo, hi = 0, len(ends)  # the longest prefix ending at a boundary that fits (a longer one wraps longer)
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid + 1
        else:
            hi = mid
    if lo > 0:
        kept = Text(plain[:ends[lo - 1]].rstrip())
        shown = len(kept.wrap(console, width))
    else:
        kept, shown = Text("\n").join(lines[:max_lines - 1]), max_lines - 1
    kept.append(f"\n… {len(lines) - shown} more lines (a wider or taller terminal shows them)", style="dim")
    return kept


#: where `_cut` may end a step text: after a sentence, a line, or an item of a list of values ("x.0 = 1.5,")
_ENDS = re.compile(r"\.(?=\s)|\n|,(?= \S+ = -?\d[\d.e+-]*(?:,|$))", re.MULTILINE)


# --------------------------------------------------------------------------------------------------
# Jumps: the start of the backward pass and the layers of a network built by nn.
# --------------------------------------------------------------------------------------------------

def layer_marks(walk: Walkthrough) -> list[tuple[int, str]]:
    """(frame, what it completes) for each layer of a network built by nn (`nn.locate` reads the
    labels): forward, the frame that computes the layer's last activation; backward, the frame whose step
    passes back the layer's last δ (its last z to step). Sorted by frame; empty without nn layers."""
    from nn import locate

    forward_frame = {step.node: f for f, step in enumerate(walk.forward, start=1)}
    backward_frame = {step.node: f for f, step in enumerate(walk.backward, start=len(walk.forward) + 2)}
    done: dict[int, int] = {}
    passed: dict[int, int] = {}
    for node in walk.order:
        at = locate(node.label) if node.label else None
        if at is None or at.layer is None or at.role not in ("z", "a"):
            continue
        if node in forward_frame:
            done[at.layer] = max(done.get(at.layer, 0), forward_frame[node])
        if at.role == "z" and node in backward_frame:
            passed[at.layer] = max(passed.get(at.layer, 0), backward_frame[node])
    marks = [(f, f"layer {L + 1} computed") for L, f in done.items()]
    marks += [(f, f"layer {L + 1}: every δ passed back") for L, f in passed.items()]
    return sorted(marks)


def _jump(key: str, frame: int, walk: Walkthrough, marks: list[tuple[int, str]]) -> tuple[int, str]:
    """The frame a jump key leads to, and what to say about it."""
    last = len(walk) - 1
    if key in ("home", "g"):
        return 0, ""
    if key in ("end", "G"):
        return last, ""
    if key == "b":
        return len(walk.forward) + 1, "the backward pass begins here"
    if key == "pgdn":
        return min(frame + PAGE, last), ""
    if key == "pgup":
        return max(frame - PAGE, 0), ""
    if not marks:
        return frame, "no layers to jump between: this graph has no network built by nn"
    ahead = [m for m in marks if m[0] > frame] if key == "]" else [m for m in marks if m[0] < frame][::-1]
    if not ahead:
        return frame, "no further layer that way"
    return ahead[0]


JUMPS = {"home", "g", "end", "G", "b", "pgdn", "pgup", "]", "["}


def step_terminal(root: Value, *, console=None, keys: Callable[[], str] | None = None,
                  interactive: bool | None = None, example: int | str | None = None) -> None:
    """Step through ``root``'s forward and backward pass in the terminal (`Walkthrough` holds the steps).

    Returns None, as a display does, so that a notebook cell shows the steps and no repr after them.

    Interactive when the console is a terminal (or ``interactive=True``): the keys of `KEYS_HELP`
    (``?`` shows them; only `QUIT`'s q, Q, Ctrl+C, Ctrl+D and the end of input quit, any other key says
    what it does).
    Each screen fits the terminal: a window of the node table around the current step. Otherwise every
    step is printed in order, then the final table. ``console`` is a rich Console (a recording one for
    tests) and ``keys`` a function returning the next key, as `read_key` does. On a batched graph
    (`autodiff.batched`) it shows example ``example`` (default 0); on a loss over several examples it
    steps example ``example``'s part, as `viz.step_html` does (`viz.examples.walkthrough`; ``"all"``: the
    whole graph). Raises TypeError unless ``root`` is a Value or when ``console`` is not a rich Console,
    ValueError for an example the graph does not hold; every message starts ``step_terminal``.
    """
    from rich.console import Console, Group
    from rich.text import Text

    if console is not None and not isinstance(console, Console):
        raise TypeError(f"step_terminal: console must be a rich.console.Console (or None for the terminal), "
                        f"got {type(console).__name__}")
    console = Console() if console is None else console
    if not isinstance(root, Value):
        raise TypeError(not_a_value(root, f"the terminal stepper needs a Value (the output of a "
                                          f"computation), got {type(root).__name__}",
                                    "viz.step_terminal(model(x)[0])"))
    walk = walkthrough(root, example, caller="step_terminal")
    used_by = _consumers(walk)
    if interactive is None:
        interactive = console.is_terminal and sys.stdin.isatty()
    if not interactive:
        # One print, so that a notebook gets one output rather than one per step.
        steps = [Text(walk.text(frame)) for frame in range(len(walk))]
        last = render_frame(walk, len(walk) - 1, used_by, show_keys=False, width=console.width)
        console.print(Group(*steps, last))
        return
    try:
        with cbreak() if keys is None else nullcontext():
            _loop(walk, used_by, console, read_key if keys is None else keys)
    except KeyboardInterrupt:
        pass


def _loop(walk: Walkthrough, used_by, console, keys: Callable[[], str]) -> None:
    marks = layer_marks(walk)
    frame, status, number, show_help = 0, "", "", False
    while True:
        console.clear()
        console.print(render_frame(walk, frame, used_by, console=console, status=status,
                                   show_help=show_help))
        key, status = keys(), ""
        mods, base = _parts(key)
        if mods and base in _MOVES:
            key = base
        if key in QUIT:
            return
        if (key.isdecimal() and len(key) == 1) or (key == "backspace" and number):
            number = number[:-1] if key == "backspace" else (number + key)[-9:]
            status = f"go to frame {number}: Enter jumps, Esc cancels" if number else ""
            continue
        show_help = key == "?" and not show_help
        if key == "enter" and number:
            frame = min(max(int(number), 1), len(walk)) - 1
            status = "" if 1 <= int(number) <= len(walk) else f"there are frames 1 to {len(walk)}"
        elif key in NEXT:
            frame = min(frame + 1, len(walk) - 1)
        elif key in PREV:
            frame = max(frame - 1, 0)
        elif key in JUMPS:
            frame, status = _jump(key, frame, walk, marks)
        elif key not in ("?", "escape", "backspace"):
            status = ("that key (an escape sequence this stepper does not know)" if key == UNKNOWN
                      else f"the key '{key_name(key)}'") + " does nothing here: ? shows the keys, q quits"
        number = ""
