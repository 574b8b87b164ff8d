"""`autodiff.compile(root)`: a built graph turned into one straight-line Python program, so that a
training loop builds its graph once and replays it: ``forward()`` recomputes every node from the
leaves' current ``.data``, ``backward()`` leaves in each leaf's ``.grad`` what ``root.backward()`` would.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from autodiff import vectorized
from autodiff.engine import Value, no_cycle_gc, release_cycle_gc
from autodiff.graph import walk
from autodiff.primitives import ADD, MUL, NEURON, RELU, Primitive, all_finite, is_array, stacked
from autodiff.reference import explained
from autodiff.steps import local_derivative_text

__all__ = ["compile", "CompiledGraph", "GraphChangedError"]

#: Graphs up to this many nodes get a program a person reads: the nodes' labels as variable names and
#: each local derivative as a comment. Larger ones get short names, which Python parses ~3x faster.
READABLE_NODES = 200


class GraphChangedError(ValueError):
    """`CompiledGraph.check`: a graph built afresh differs from the compiled one (frozen control flow)."""


class CompiledGraph:
    """A graph's forward and backward pass as one straight-line program (see `autodiff.compile`).

    ``forward()``   recomputes every node from the leaves' current ``.data``, sets each node's
                    ``.data``, and returns the root's value (a float).
    ``backward()``  adds d root / d leaf to each leaf's ``.grad`` (leaves accumulate, as with
                    ``root.backward()``: zero them between steps), running ``forward()`` first if it
                    has not run since the last ``backward()``; interior nodes' ``.grad`` are not
                    written (step through the graph, or call ``root.backward()``, to see them).
    ``check(new_root)``  raises `GraphChangedError` naming the first node where a graph built afresh
                    differs from this one: how to catch control flow that was frozen at compile time.
    ``source``      the program's Python source; ``leaves`` the leaves in the order it reads them.

    Raises ArithmeticError/ValueError from the op that left its domain, as the graph's own ops do, and
    FloatingPointError naming the node when the root's value or a leaf's gradient is not finite.
    """

    def __init__(self, root: Value, order: list[Value], batched: bool, names: dict[Value, str],
                 source: str, program: Callable):
        self.root, self.source, self.batched = root, source, batched
        self.leaves = [n for n in order if n._op is None]
        self._interior = [n for n in order if n._op is not None]
        self._order, self._names, self._program = order, names, program
        self._run: Iterator | None = None

    def __repr__(self) -> str:
        kind = "batched, " if self.batched else ""
        return (f"CompiledGraph({kind}{len(self.leaves)} leaves, {len(self._interior)} operations, "
                f"root={self._names[self.root]!r})")

    def forward(self) -> float:
        """Recompute every node from the leaves' current ``.data``; return the root's value."""
        run = self._program(self.leaves)
        values = next(run)
        for node, x in zip(self._interior, values):  # noqa: B905 (equal lengths; strict costs here)
            node.data = x                             # the graph stays as the program computed it
        out = self.root.data
        if not _finite(out):
            raise FloatingPointError(f"compiled forward: the root {self._names[self.root]!r} is {out!r}; "
                                     "check the leaves' values (autodiff.detect_anomaly finds the op)")
        self._run = run
        return out

    def backward(self) -> None:
        """Add d root / d leaf to every leaf's ``.grad`` (accumulating, as ``root.backward()`` does)."""
        release_cycle_gc()   # the collector's threshold back, as root.backward() does
        if self._run is None:
            self.forward()
        run, self._run = self._run, None
        if self.batched:   # the batched executor itself, on the order walked once at compile time
            run.close()
            self._batched_backward()
            return
        try:
            grads = next(run)
        except Exception as e:   # a failing rule: the reference loop names its op and node
            raise explained(e, self.root) from None
        self._accumulate(grads)

    def _accumulate(self, grads: list) -> None:
        """Add this pass's gradients to the leaves' ``.grad``, all or none: refused if a sum is not
        finite (this pass's gradient, or what it adds up to with what the leaf held), as backward()."""
        totals = [g if leaf._grad is None else leaf._grad + g
                  for leaf, g in zip(self.leaves, grads, strict=True)]
        bad = [leaf for leaf, t in zip(self.leaves, totals, strict=True) if not _finite(t)]
        if bad:
            raise FloatingPointError(f"compiled backward: the gradient of {self._names[bad[0]]!r} is not "
                                     f"finite ({len(bad)} leaves); no .grad was changed")
        for leaf, t in zip(self.leaves, totals, strict=True):
            leaf._grad = t

    def _batched_backward(self) -> None:
        order = self._order
        before = [leaf._grad for leaf in self.leaves]
        interior = [node._grad for node in self._interior]
        import numpy as np
        try:
            with no_cycle_gc(), np.errstate(all="ignore"):  # what is not finite is refused below, in words
                vectorized.backward(order)
        finally:
            grads = [leaf._grad for leaf in self.leaves]
            for node, g in zip(self._interior, interior, strict=True):
                node._grad = g            # as the eager program: interior nodes' .grad untouched
            for leaf, g in zip(self.leaves, before, strict=True):
                leaf._grad = g
        self._accumulate(grads)

    def check(self, new_root: Value) -> None:
        """Raise `GraphChangedError` if ``new_root``'s graph (built afresh by the same code) is not this
        graph's shape: the same ops in the same order, reading the same parents and the same leaves
        (parameters by identity, constants by value). Python control flow that read values while the
        graph was built (``if x.data > 0``) is frozen in the compiled program; this is how to catch it.
        """
        order, _ = walk(new_root)
        old = self._order
        where = {node: i for i, node in enumerate(order)}
        seen = {node: i for i, node in enumerate(old)}
        for i, (a, b) in enumerate(zip(old, order, strict=False)):
            same = a._op is b._op and [seen[p] for p in a.parents] == [where[p] for p in b.parents]
            if same and a._op is None and a is not b:  # a new leaf: a constant, the same one by value
                same = a.label == b.label and not is_array(a.data) and a.data == b.data
            if not same:
                raise GraphChangedError(
                    f"compiled graph: node {i} ({self._names[a]!r}, op {a.op or 'leaf'!r}) is now "
                    f"{b.op or 'leaf'!r} {b.label!r}: the code that builds the graph took another path "
                    "(Python control flow on values is frozen at compile time); compile the new graph")
        if len(order) != len(old):
            raise GraphChangedError(f"compiled graph: {len(old)} nodes, the new graph {len(order)}; "
                                    "compile the new graph")


def _finite(x) -> bool:
    return math.isfinite(x) if x.__class__ is float else all_finite(x)


def compile(root: Value) -> CompiledGraph:  # noqa: A001 - the name users expect, as torch.compile
    """Turn ``root``'s graph into a `CompiledGraph` whose ``forward()``/``backward()`` replay it.

    The graph is frozen as it was built: Python control flow that read values while the graph was
    built (``if x.data > 0: ...``) is not re-taken, so replaying it is only right while that flow
    would go the same way (`CompiledGraph.check` tells); the primitives themselves (relu's kink, every
    rule) are evaluated afresh. Works for eager, fused and batched (`autodiff.batched`) graphs; the
    results are bit-identical to building the graph again and calling ``root.backward()``.
    TypeError for a non-Value.
    """
    if root.__class__ is not Value:
        raise TypeError(f"compile needs a Value, got {type(root).__name__}")
    order, batched = walk(root)
    namespace: dict[str, Any] = {}
    readable = len(order) <= READABLE_NODES
    fns = _functions(order, namespace, batched)
    names = _readable_names(order, set(namespace)) if readable else _short_names(order)
    source = _source(order, names, namespace, fns, batched, readable)
    code = builtins.compile(source, f"<autodiff.compile {names[root]}>", "exec")
    exec(code, namespace)  # our own generated source, made from the graph's structure only
    return CompiledGraph(root, order, batched, names, source, namespace["program"])


def _functions(order: list[Value], namespace: dict, batched: bool) -> dict[Primitive, tuple[str, str]]:
    """A (forward, rule) pair of names per primitive of the graph, bound in ``namespace``: the forward
    on floats, or over a batch the primitive itself (which takes floats and arrays)."""
    fns: dict[Primitive, tuple[str, str]] = {}
    for node in order:
        op = node._op
        if op is not None and op not in fns:
            base = op.name
            if base in namespace or base in _OWN or _OWN_PATTERN.fullmatch(base):  # e.g. a user's "v1"
                base = f"op{len(fns)}_{op.name}"
            fns[op] = (base, base + "_vjp")
            namespace[base], namespace[base + "_vjp"] = (_either(op) if batched else op.forward), op.vjp
    return fns


_OWN_PATTERN = re.compile(r"v\d+|[gt]_\w*")  # v<position>, gradients and terms
def _either(prim: Primitive) -> Callable:
    """The forward as `autodiff.engine.apply` runs it: on floats, or over a batch (arrays)."""
    if prim is NEURON:  # its forward takes both
        return prim.forward
    forward, batch = prim.forward, prim.batch

    def run(*xs):
        return forward(*xs) if all(x.__class__ is float for x in xs) else batch(*xs)
    return run


# The program's own names: a label equal to one of them, or starting like a short name, is not used.
_OWN = {"leaves", "program", "layer"}


def _readable_names(order: list[Value], taken: set[str]) -> dict[Value, str]:
    """A Python name per node: its label where that is a free identifier, else ``v<position>``."""
    names: dict[Value, str] = {}
    taken = taken | _OWN
    for i, node in enumerate(order):
        label = node.label.replace(".", "_")
        ok = label.isidentifier() and not keyword.iskeyword(label) and label not in taken
        name = label if ok and not _OWN_PATTERN.fullmatch(label) else f"v{i}"
        names[node] = name
        taken.add(name)
    return names


def _short_names(order: list[Value]) -> dict[Value, str]:
    """``v<position in hex>``: short names, so that a large program parses fast."""
    return {node: f"v{i:x}" for i, node in enumerate(order)}


def _source(order, names, namespace, fns, batched: bool, readable: bool) -> str:
    """The program: forward (yield the interior values), then backward (yield the leaves' gradients)."""
    v = names
    leaves = [n for n in order if n._op is None]
    interior = [n for n in order if n._op is not None]
    ind = "    " if readable else " "
    lines = ["def program(leaves):"]
    if readable:
        lines.append(f"{ind}# forward: every node from its parents, in topological order")
    lines.append(f"{ind}{''.join(v[n] + ', ' for n in leaves)}= [leaf.data for leaf in leaves]")
    layers = _layers(interior) if batched else {}
    for node in interior:
        if node in layers:
            group = layers[node]
            if group:
                lines.append(f"{ind}{', '.join(v[z] for z in group)}, = layer({_layer_args(group, v)})")
                namespace["layer"] = _layer_forward
            continue
        lines.append(f"{ind}{v[node]} = {_forward_expr(node, v, fns, batched)}")
    lines.append(f"{ind}yield ({''.join(v[n] + ', ' for n in interior)})")
    if batched:  # the backward pass is the batched executor's (`CompiledGraph.backward`)
        return "\n".join(lines) + "\n"
    if readable:
        lines.append(f"{ind}# backward: g_name = d root / d name, each node's terms handed to its parents")
    own = {n: "g_" + v[n] if readable else "g" + v[n][1:] for n in order}   # each node's gradient
    g: dict[Value, str] = {}   # the name holding it so far: its own, or (compact) its one term's

    def add(parent: Value, term: str, guard: str | None = None, note: str = "") -> None:
        # A leaf's gradient starts at 0.0 and gets each term added, as in the engine: `0.0 + t` differs
        # from t only for t = -0.0, so a leaf's result is the engine's to the bit. An interior node's
        # first term is taken as it is: that changes at most the sign of a zero gradient, and signed
        # zeros only ever meet a leaf's 0.0 + ..., which makes them +0.0 (or vanish beside a nonzero).
        # In a compact program a term that is a name (add's) is not even copied: the name is shared.
        mine, now = own[parent], g.get(parent)
        zero = "0.0 + " if parent._op is None else ""
        if now is None and not guard and not readable and not zero and term.isidentifier():
            g[parent] = term
            return
        if now is None:
            line = f"{mine} = {zero}{term} if {guard} else 0.0" if guard else f"{mine} = {zero}{term}"
        elif now == mine:
            line = f"if {guard}: {mine} += {term}" if guard else f"{mine} += {term}"
        else:   # a shared name: never add into it
            line = f"{mine} = {now} + {term} if {guard} else {now}" if guard else f"{mine} = {now} + {term}"
        g[parent] = mine
        lines.append(ind + (f"{line:<40}  # {note}" if readable and note else line))

    def note(node: Value, k: int) -> str:
        if not readable:
            return ""
        return f"∂{v[node]}/∂{v[node.parents[k]]} = {local_derivative_text(node, k, v)}"

    root = order[-1]
    lines.append(f"{ind}{own[root]} = 1.0")
    g[root] = own[root]
    for i, node in enumerate(reversed(order)):
        op = node._op
        if op is None:
            continue
        up, parents = g[node], node.parents
        if op is ADD:
            add(parents[0], up, note=note(node, 0))
            add(parents[1], up, note=note(node, 1))
        elif op is MUL:
            a, b = parents
            add(a, f"{up} * {v[b]}", note=note(node, 0))
            add(b, f"{up} * {v[a]}", note=note(node, 1))
        elif op is RELU:
            add(parents[0], up, f"{v[parents[0]]} > 0", note(node, 0))
        elif op is NEURON:
            n = len(parents) >> 1
            for k, (w, x) in enumerate(zip(parents[:n], parents[n:-1], strict=True)):
                add(w, f"{up} * {v[x]}", note=note(node, k))
                add(x, f"{up} * {v[w]}", note=note(node, n + k))
            add(parents[-1], up, note=note(node, 2 * n))
        else:
            terms = [f"t_{i}_{k}" for k in range(len(parents))]
            args = ", ".join([up, v[node], *(v[p] for p in parents)])
            lines.append(f"{ind}{', '.join(terms)}, = {fns[op][1]}({args})")
            for k, (p, t) in enumerate(zip(parents, terms, strict=True)):
                add(p, t, note=note(node, k))
    for leaf in leaves:
        if leaf not in g:  # a leaf only the root is: its gradient is the seed
            add(leaf, "0.0")
    lines.append(f"{ind}yield ({''.join(g[n] + ', ' for n in leaves)})")
    return "\n".join(lines) + "\n"


def _forward_expr(node: Value, v: dict[Value, str], fns: dict, batched: bool) -> str:
    """The expression computing ``node`` from its parents' variables, as `autodiff.engine.apply` does."""
    op, parents = node._op, node.parents
    if op is ADD:
        return f"{v[parents[0]]} + {v[parents[1]]}"
    if op is MUL:
        return f"{v[parents[0]]} * {v[parents[1]]}"
    if op is RELU and not batched:
        x = v[parents[0]]
        return f"{x} if {x} > 0 else 0.0"
    if op is NEURON and not batched and len(parents) <= 1024:  # its float forward, in its order of sums
        n = len(parents) >> 1
        terms = " + ".join(f"{v[w]} * {v[x]}" for w, x in zip(parents[:n], parents[n:-1], strict=True))
        return f"0.0 + {terms} + {v[parents[-1]]}"
    return f"{fns[op][0]}({', '.join(v[p] for p in parents)})"


def _layers(interior: list[Value]) -> dict[Value, list[Value]]:
    """In a batched graph, fused neurons reading the same inputs (a layer, as `autodiff.engine.neurons`
    makes it): the first maps to the whole group, computed in one product there; the others to []."""
    groups: dict[tuple, list[Value]] = {}
    for node in interior:
        if node._op is NEURON:
            n = len(node._a) >> 1
            groups.setdefault(node._a[n:-1], []).append(node)
    out: dict[Value, list[Value]] = {}
    for group in groups.values():
        if len(group) > 1:
            out[group[0]] = group
            out.update((z, []) for z in group[1:])
    return out


def _layer_args(group: list[Value], v: dict[Value, str]) -> str:
    n = len(group[0]._a) >> 1
    rows = ", ".join("(" + "".join(v[w] + ", " for w in z._a[:n]) + ")" for z in group)
    xs = "".join(v[x] + ", " for x in group[0]._a[n:-1])
    bs = "".join(v[z._a[-1]] + ", " for z in group)
    return f"({rows}), ({xs}), ({bs})"


def _layer_forward(weights, xs, biases) -> list:
    """The z's of a layer, as `autodiff.engine.neurons` computes them: the rows of W X + b over a
    batch when every weight and bias is one number, else each neuron's own forward."""
    import numpy as np
    s = stacked([w for row in weights for w in row], list(xs))
    if s is not None and all(b.__class__ is float for b in biases):
        w, X = s
        return list(w.reshape(len(weights), len(xs)) @ X + np.array(biases)[:, None])
    return [NEURON.forward(*row, *xs, b) for row, b in zip(weights, biases, strict=True)]
