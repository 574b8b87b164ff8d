"""A terminal stepper: walk through the forward and then the backward pass of a graph, one step per key
(``n``/→ next, ``p``/← previous, ``q`` quit), with the running gradients of all nodes in a table.
Piped output (not a terminal) prints every step instead.  Uses rich, imported only here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from autodiff import Value, Walkthrough
from autodiff.steps import fmt

__all__ = ["step_terminal", "render_frame", "read_key"]

NEXT, PREV, QUIT = {"n", "right", " ", "enter", "l"}, {"p", "left", "h"}, {"q", "escape", "ctrl-c", ""}


def read_key() -> str:
    """One key press from the terminal, without echo: ``"right"``, ``"left"``, ``"enter"`` or the
    character typed; ``""`` at end of input."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        ch = sys.stdin.read(1)
        if ch == "\x1b":  # an arrow key arrives as ESC [ C (right) or ESC [ D (left)
            seq = sys.stdin.read(2)
            return {"[C": "right", "[D": "left"}.get(seq, "escape")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    return {"\r": "enter", "\n": "enter", "\x03": "ctrl-c", "\x04": ""}.get(ch, ch.lower())


def _consumers(walk: Walkthrough) -> dict[Value, list[Value]]:
    used_by: dict[Value, list[Value]] = {n: [] for n in walk.order}
    for node in walk.order:
        for p in dict.fromkeys(node.parents):
            used_by[p].append(node)
    return used_by


def _where(walk: Walkthrough, frame: int, used_by: dict[Value, list[Value]]) -> str:
    """Where the frame's node sits: what it is made from, its topological position, what uses it."""
    node = walk.node(frame)
    if node is None:
        return f"{len(walk.order)} nodes, {len(walk.forward)} computed from the leaves"
    names = walk.names
    made = (f"{names[node]} = {node.op}({', '.join(names[p] for p in node.parents)})" if node.parents
            else f"{names[node]} is a leaf")
    users = ", ".join(names[u] for u in used_by[node]) or "nothing: it is the output"
    return (f"{made}  ·  node {walk.position[node] + 1} of {len(walk.order)} in topological order  ·  "
            f"used by {users}")


def render_frame(walk: Walkthrough, frame: int, used_by: dict[Value, list[Value]] | None = None, *,
                 show_keys: bool = True):
    """The rich renderable of one frame: a progress header, the step's worked example, where it is in
    the graph, and a table of every node's value and running gradient (current node highlighted)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    used_by = _consumers(walk) if used_by is None else used_by
    kind, nf, nb = walk.kinds[frame], len(walk.forward), len(walk.backward)
    phase = {"start": "start", "forward": f"forward {frame}/{nf}", "seed": "backward: seed",
             "backward": f"backward {frame - nf - 1}/{nb}"}[kind]
    header = Text(f"frame {frame + 1}/{len(walk)}  ·  {phase}", style="bold")
    step = Panel(Text(walk.text(frame)), title=kind, title_align="left",
                 border_style="cyan" if kind in ("start", "forward") else "magenta")
    where = Text(_where(walk, frame, used_by), style="dim")

    values, grads = walk.values(frame), walk.grads(frame)
    before = walk.grads(frame - 1) if frame > 0 else {}
    current = walk.node(frame)
    step_obj = walk.step(frame)
    touched = set(step_obj.parents) if kind == "backward" else set()
    table = Table(show_edge=False, header_style="bold")
    for col, justify in [("node", "left"), ("op", "left"), ("inputs", "left"), ("data", "right"),
                         ("grad", "right")]:
        table.add_column(col, justify=justify)
    for node in walk.order:
        g = grads.get(node)
        grad = "" if g is None else fmt(g)
        if node in touched and before.get(node) is not None:
            grad = f"{fmt(before[node])} → {grad}"
        style = "bold reverse" if node is current else "yellow" if node in touched else None
        table.add_row(walk.names[node], node.op or "leaf",
                      ", ".join(walk.names[p] for p in node.parents),
                      fmt(values[node]) if node in values else "·", grad, style=style)
    keys = Text("n/→ next   p/← previous   q quit" if show_keys else "", style="dim")
    return Group(header, step, where, table, keys)


def step_terminal(root: Value, *, console=None, keys: Callable[[], str] | None = None,
                  interactive: bool | None = None, example: int | None = None) -> Walkthrough:
    """Step through ``root``'s forward and backward pass in the terminal and return the `Walkthrough`.

    Interactive when the console is a terminal (or ``interactive=True``): ``n``/→ next, ``p``/← previous,
    ``q`` quit.  Otherwise every step is printed in order, then the final gradients.  ``console`` is a
    rich Console (a recording one for tests) and ``keys`` a function returning the next key, as
    `read_key` does.  Recording runs the real backward pass, so afterwards ``root``'s graph holds the
    gradients of ``root.backward()``.  On a batched graph (`autodiff.batched`) it shows example
    ``example`` (default 0).
    """
    from rich.console import Console, Group
    from rich.text import Text

    console = Console() if console is None else console
    walk = Walkthrough(root, example)
    used_by = _consumers(walk)
    if interactive is None:
        interactive = console.is_terminal and sys.stdin.isatty()
    if not interactive:
        # One print, so that a notebook gets one output rather than one per step.
        steps = [Text(walk.text(frame)) for frame in range(len(walk))]
        console.print(Group(*steps, render_frame(walk, len(walk) - 1, used_by, show_keys=False)))
        return walk
    keys = read_key if keys is None else keys
    frame = 0
    while True:
        console.clear()
        console.print(render_frame(walk, frame, used_by))
        key = keys()
        if key in QUIT:
            return walk
        if key in NEXT:
            frame = min(frame + 1, len(walk) - 1)
        elif key in PREV:
            frame = max(frame - 1, 0)
