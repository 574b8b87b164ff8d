"""`autodiff.compile(root)`: a built graph turned into one straight-line Python program, so that a
training loop builds its graph once and replays it: the forward pass recomputes every node from the
leaves' current ``.data``, the backward pass leaves in each leaf's ``.grad`` what ``root.backward()`` would.

The program is a generator function with one local variable per node: ``forward()`` runs it up to the
root's value and suspends it there, with every value still held in its locals; ``backward()`` resumes it
for the chain rule. Its source (``.source``) is the program itself, readable for small graphs.
"""

from __future__ import annotations

import builtins
import keyword
import math
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import Any

from autodiff.engine import Value
from autodiff.graph import walk
from autodiff.primitives import ADD, MUL, NEURON, RELU, Primitive

__all__ = ["compile", "CompiledGraph"]


class CompiledGraph:
    """A graph's forward and backward pass as one straight-line program (see `autodiff.compile`).

    ``forward()``   recomputes every node from the leaves' current ``.data`` and returns the root's
                    value (a float); each node's ``.data`` is updated too, so the graph stays consistent.
    ``backward()``  adds d root / d leaf to each leaf's ``.grad`` (leaves accumulate, as with
                    ``root.backward()``: zero them between steps), running ``forward()`` first if the
                    leaves changed since; interior nodes' ``.grad`` are not written (step through the
                    graph, or call ``root.backward()``, to see them).
    ``source``      the program's Python source.
    ``leaves``      the leaves in the order the program reads them.

    Raises ArithmeticError/ValueError from the op that left its domain, as the graph's own ops do, and
    FloatingPointError naming the node when the root's value or a leaf's gradient is not finite.
    """

    def __init__(self, root: Value, source: str, program: Callable, leaves: list[Value],
                 interior: list[Value], names: dict[Value, str]):
        self.root, self.source, self.leaves = root, source, leaves
        self._program, self._interior, self._names = program, interior, names
        self._run: Iterator | None = None

    def __repr__(self) -> str:
        return (f"CompiledGraph({len(self.leaves)} leaves, {len(self._interior)} operations, "
                f"root={self._names[self.root]!r})")

    def forward(self) -> float:
        """Recompute every node from the leaves' current ``.data``; return the root's value."""
        run = self._program(self.leaves)
        values = next(run)
        for _ in map(setattr, self._interior, repeat("data"), values):  # in C: each node's new .data
            pass
        out = self.root.data
        if not math.isfinite(out):
            raise FloatingPointError(f"compiled forward: the root {self._names[self.root]!r} is {out!r}; "
                                     "check the leaves' values (autodiff.detect_anomaly finds the op)")
        self._run = run
        return out

    def backward(self) -> None:
        """Add d root / d leaf to every leaf's ``.grad`` (accumulating, as ``root.backward()`` does)."""
        if self._run is None:
            self.forward()
        run, self._run = self._run, None
        try:
            grads = next(run)
        except StopIteration:  # pragma: no cover - the program always yields twice
            raise AssertionError("compiled program ended early") from None
        bad = [leaf for leaf, g in zip(self.leaves, grads, strict=True) if not math.isfinite(g)]
        if bad:
            raise FloatingPointError(f"compiled backward: the gradient of {self._names[bad[0]]!r} is not "
                                     f"finite ({len(bad)} leaves); no .grad was changed")
        for leaf, g in zip(self.leaves, grads, strict=True):
            before = leaf._grad
            leaf._grad = g if before is None else before + g


def compile(root: Value) -> CompiledGraph:  # noqa: A001 - the name users expect, as torch.compile
    """Turn ``root``'s graph into a `CompiledGraph` whose ``forward()``/``backward()`` replay it.

    The graph is frozen as it was built: Python control flow that read values while the graph was
    built (``if x.data > 0: ...``) is not re-taken; the primitives themselves (relu's kink, every
    rule) are evaluated afresh. One number per node only (eager and fused graphs); a batched graph
    (`autodiff.batched`) raises ValueError. The results are bit-identical to ``root.backward()``.
    """
    if root.__class__ is not Value:
        raise TypeError(f"compile needs a Value, got {type(root).__name__}")
    order, batched = walk(root)
    if batched:
        raise ValueError("compile: this graph holds a batch (autodiff.batched); compile the graph of one "
                         "example, or run the batched graph's backward() directly")
    names = _names(order)
    leaves = [n for n in order if n.is_leaf]
    interior = [n for n in order if not n.is_leaf]
    namespace: dict[str, Any] = {}
    source = _source(order, leaves, interior, names, namespace)
    code = builtins.compile(source, f"<autodiff.compile {names[root]}>", "exec")
    exec(code, namespace)  # our own generated source, made from the graph's structure only
    return CompiledGraph(root, source, namespace["program"], leaves, interior, names)


# Prefixes of the program's own names (values v<i>, gradients g_, bound functions f_ r_, terms t,
# the argument `leaves` and the function `program`): a label starting with one gets a v<i> name.
_RESERVED = ("v", "g", "f", "r", "t", "leaves", "program")


def _names(order: list[Value]) -> dict[Value, str]:
    """A Python name per node: its label where that is a free identifier, else ``v<position>``."""
    names: dict[Value, str] = {}
    taken: set[str] = set()
    for i, node in enumerate(order):
        label = node.label.replace(".", "_")
        name = label if (label.isidentifier() and not keyword.iskeyword(label) and label not in taken
                         and not label.startswith(_RESERVED)) else f"v{i}"
        if name in taken:  # pragma: no cover - v<i> is unique, labels were checked
            name = f"v{i}"
        names[node] = name
        taken.add(name)
    return names


def _source(order, leaves, interior, names, namespace) -> str:
    """The program: forward (yield the interior values), then backward (yield the leaves' gradients)."""
    fns: dict[Primitive, str] = {}

    def bind(prim: Primitive, what: str, obj) -> str:
        key = f"{what}_{prim.name}_{len(fns)}"
        namespace[key] = obj
        return key

    def fn(prim: Primitive) -> str:
        if prim not in fns:
            fns[prim] = bind(prim, "f", prim.forward)
        return fns[prim]

    rules: dict[Primitive, str] = {}

    def rule(prim: Primitive) -> str:
        if prim not in rules:
            rules[prim] = bind(prim, "r", prim.vjp)
        return rules[prim]

    v = names
    lines = ["def program(leaves):", "    # forward: every node from its parents, in topological order"]
    lines.append(f"    {', '.join(v[n] for n in leaves)}, = [leaf.data for leaf in leaves]")
    for node in interior:
        lines.append(f"    {v[node]} = {_forward_expr(node, v, fn)}")
    lines.append(f"    yield ({''.join(v[n] + ', ' for n in interior)})")
    lines.append("    # backward: g_name = d root / d name, each node's terms handed to its parents")
    g = {n: "g_" + v[n] for n in order}
    started: set[Value] = set()

    def add(parent: Value, term: str, guard: str | None = None) -> None:
        # The engine starts every gradient at 0.0 and adds each term: the first term is `0.0 + t`
        # (which differs from t only for t = -0.0), so the result is the engine's to the bit.
        if parent in started:
            lines.append(f"    if {guard}: {g[parent]} += {term}" if guard else f"    {g[parent]} += {term}")
        else:
            started.add(parent)
            lines.append(f"    {g[parent]} = 0.0 + {term} if {guard} else 0.0" if guard
                         else f"    {g[parent]} = 0.0 + {term}")

    root = order[-1]
    lines.append(f"    {g[root]} = 1.0")
    started.add(root)
    for i, node in enumerate(reversed(order)):
        op = node.primitive
        if op is None:
            continue
        up, parents = g[node], node.parents
        if op is ADD:
            add(parents[0], up)
            add(parents[1], up)
        elif op is MUL:
            a, b = parents
            add(a, f"{up} * {v[b]}")
            add(b, f"{up} * {v[a]}")
        elif op is RELU:
            add(parents[0], up, f"{v[parents[0]]} > 0")
        elif op is NEURON:
            n = len(parents) >> 1
            for w, x in zip(parents[:n], parents[n:-1], strict=True):
                add(w, f"{up} * {v[x]}")
                add(x, f"{up} * {v[w]}")
            add(parents[-1], up)
        else:
            terms = [f"t{i}_{k}" for k in range(len(parents))]
            args = ", ".join([up, v[node], *(v[p] for p in parents)])
            lines.append(f"    {', '.join(terms)}, = {rule(op)}({args})")
            for p, t in zip(parents, terms, strict=True):
                add(p, t)
    for leaf in leaves:
        if leaf not in started:  # a leaf only the root is: its gradient is the seed
            add(leaf, "0.0")
    lines.append(f"    yield ({''.join(g[n] + ', ' for n in leaves)})")
    return "\n".join(lines) + "\n"


def _forward_expr(node: Value, v: dict[Value, str], fn: Callable[[Primitive], str]) -> str:
    """The expression computing ``node`` from its parents' variables, as `autodiff.engine.apply` does."""
    op, parents = node.primitive, node.parents
    if op is ADD:
        return f"{v[parents[0]]} + {v[parents[1]]}"
    if op is MUL:
        return f"{v[parents[0]]} * {v[parents[1]]}"
    if op is RELU:
        x = v[parents[0]]
        return f"{x} if {x} > 0 else 0.0"
    if op is NEURON and len(parents) <= 1024:   # the neuron's float forward, in its order of additions
        n = len(parents) >> 1
        terms = " + ".join(f"{v[w]} * {v[x]}" for w, x in zip(parents[:n], parents[n:-1], strict=True))
        return f"0.0 + {terms} + {v[parents[-1]]}"
    return f"{fn(op)}({', '.join(v[p] for p in parents)})"
