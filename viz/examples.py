"""One example's part of a loss over several examples (an eager loss: the model called once per example):
which node belongs to which call of the model (`example_of`), and the walkthrough of one example's part,
the other examples' part summed into one step (`ExampleWalkthrough`), that the steppers show (`walkthrough`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from autodiff import Value, Walkthrough, topological_order
from autodiff.engine import batch_size
from autodiff.primitives import leaf_number
from autodiff.reference import backprop
from autodiff.steps import (
    BackwardStep,
    ForwardStep,
    SummedStep,
    check_example,
    factor,
    fmt,
    local_derivatives,
    node_names,
)
from viz.style import reading_order

__all__ = ["WHOLE_LIMIT", "SHARED", "example_of", "ExampleWalkthrough", "walkthrough", "example_svg",
           "table_rows"]

#: nodes: an eager graph holding several examples and more nodes than this is stepped one example at a
#: time unless the whole graph is asked for (``example="all"``)
WHOLE_LIMIT = 5000
#: `example_of`'s mark for a node that is no one example's: parameters and the loss over the examples
SHARED = -1


def example_of(order: Sequence[Value]) -> tuple[int, dict[Value, int]] | None:
    """(N, node -> the example it belongs to, 0 … N−1, or `SHARED`) for a graph in which a model built
    by nn is called N ≥ 2 times (``[model(x) for x in rows]``); None when no neuron is computed twice.

    The rule: a neuron's z or a (`nn.locate` reads their labels) computed from no other call's nodes
    (a first layer's neuron: its inputs are leaves) starts example k, k the number of times that
    neuron was computed before it in ``order`` (the calls the levels number "(call k)"); a node that
    reads one example's nodes, and no other's, belongs to that example (the later layers' neurons, the
    example's loss term); a node reading several examples is shared (the mean over the examples and what
    follows it). A node that reads no example (a leaf, the L2 penalty) belongs to the one example whose
    nodes use it (its inputs, made by nn's `input_label`, a label, a constant), and is shared when
    several use it or none (the parameters, the penalty).

    Raises ValueError saying why when the examples cannot be told apart: the graph holds two models
    built by nn (two parameter leaves with one label: their neurons share names), a neuron computed both
    from the inputs and from another call's nodes (the model fed another call's output), a neuron that
    reads the nodes of two examples, or neurons computed different numbers of times."""
    from viz.levels import neuron_part

    twin = _twin_parameter(order)
    up: dict[Value, int] = {}  # node -> the example whose nodes it reads (SHARED: several)
    calls: dict[tuple, int] = {}  # neuron (layer, neuron) -> its computations so far
    fed: dict[tuple, bool] = {}  # neuron -> whether its z reads another call's nodes (False: the inputs)
    for node in order:
        found = None
        for p in node.parents:
            q = up.get(p)
            if q is not None and found != q:
                found = q if found is None else SHARED
        where = neuron_part(node) if node.label else None
        if where is not None:
            if twin is not None and (found == SHARED or calls.get(where[:2], 0) > 0):  # a neuron twice
                raise ValueError(_TWO_MODELS.format(twin))
            if found == SHARED:
                raise ValueError(f"the graph's examples cannot be told apart: {_neuron(where)} (call "
                                 f"{calls.get(where[:2], 0) + 1}) reads the nodes of several calls of the "
                                 "model; step the whole graph (example='all')")
            if where[2] == "z" and fed.setdefault(where[:2], found is not None) != (found is not None):
                raise ValueError(f"the graph's examples cannot be told apart: {_neuron(where)} reads the "
                                 "inputs in one call of the model and another call's nodes in another (the "
                                 "model fed another call's output, as in model(model(x))), so the calls are "
                                 "not one per example; step the whole graph (example='all')")
            if where[2] == "z" or found is None:  # an a goes with the z it reads
                k = calls.get(where[:2], 0)
                calls[where[:2]] = k + 1
                found = k if found is None else found
        if found is not None:
            up[node] = found
    if not calls or max(calls.values()) < 2:
        return None
    if len(set(calls.values())) > 1:
        (a, na), (b, nb) = min(calls.items(), key=lambda c: c[1]), max(calls.items(), key=lambda c: c[1])
        raise ValueError(f"the graph's examples cannot be told apart: {_neuron(a)} is computed "
                         f"{_times(na)} and {_neuron(b)} {_times(nb)}, so the model's calls are not one per "
                         "example; step the whole graph (example='all') or build one example's loss")
    of: dict[Value, int] = {}
    down: dict[Value, int] = {}  # a node reading no example -> the example of its users
    for node in reversed(order):  # users before the nodes they use
        k = up[node] if node in up else down.get(node, SHARED)
        of[node] = k
        for p in node.parents:
            if p not in up:
                d = down.get(p)
                down[p] = k if d is None or d == k else SHARED
    return max(calls.values()), of


_TWO_MODELS = ("the graph's examples cannot be told apart: it holds more than one model built by nn (two "
               "parameters are labelled {!r}), whose neurons share names, and example=k steps the calls of "
               "one model; step the whole graph (example='all') or one model's loss")


def _twin_parameter(order: Sequence[Value]) -> str | None:
    """A label nn gives a parameter that two leaves of ``order`` carry (two models), or None."""
    from nn import locate

    seen: set[str] = set()
    for node in order:
        if node.is_leaf and node.label:
            where = locate(node.label)
            if where is not None and where.role in ("weight", "bias"):
                if node.label in seen:
                    return node.label
                seen.add(node.label)
    return None


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _neuron(key: tuple) -> str:
    layer, neuron = key[:2]
    return (f"layer {layer + 1} · " if layer is not None else "") + f"neuron {neuron + 1}"


class ExampleWalkthrough(Walkthrough):
    """The `Walkthrough` of example ``example``'s part of a loss over ``count`` examples (``of`` as
    `example_of` gives it): its inputs, its neurons, its loss term, the shared nodes (the loss over the
    examples, the parameters) and the other examples' part, one node (``others``) whose backward step is
    one `SummedStep`: per shared node, the sum of their terms.

    When the other examples' loss terms are read only by a chain of adds (a mean's or a sum's
    ``((t0 + t1) + t2) + …``, `_sum_chain`), the chain is one node and one step, its last add ``total``
    = this example's term + ``others``, the other examples' terms added up (``Σ_others``): it passes
    the same gradient to every term, so the summed step reads as the chain rule,
    ``w.grad += ∂Σ_others/∂w · Σ_others.grad``. Otherwise the other examples' terms are given numbers
    and the summed step adds the sums with an upstream of 1.

    Every number is the whole graph's: the forward values, each node's gradient when its step passes it
    on, and each parameter's gradient after the summed step, which is the one `autodiff.grad` returns
    (one fresh pass over the whole graph, `autodiff.reference.backprop`; ``.grad`` is not touched).
    ``note`` says what is shown and how to choose another example or the whole graph."""

    def __init__(self, root: Value, order: list[Value], count: int, of: dict[Value, int], example: int,
                 chosen: bool = True):
        shown = {n for n in order if of[n] in (example, SHARED)}
        given = {p for n in order if of[n] == SHARED for p in n.parents if p not in shown}
        self.root, self.batch_size, self.example = root, count, example
        self.what = what = _examples(count, example)  # the other examples
        chain = _sum_chain(order, of, example, shown, given)
        self.chain = set(chain)
        #: the other examples' part: one box on the diagram and one backward step
        if chain:
            self.total = chain[-1]
            own = tuple(p for m in reversed(chain) for p in m.parents
                        if p not in given and p not in self.chain)  # this example's term
            self.others = Value(math.fsum(p.data for p in given))  # their terms' sum, as the box shows it
            self.folded = {self.total: (*own, self.others)}
            view = [n for n in order if n in shown and (n not in self.chain or n is self.total)]
            view.insert(view.index(self.total), self.others)
            self.outside: set[Value] = set()
        else:
            self.total, self.folded, self.others = None, {}, Value(0.0)
            view = [n for n in order if n in shown or n in given]
            first = next((i for i, n in enumerate(view) if n in given), len(view))
            view.insert(first, self.others)
            self.outside = given
        self.order = view
        self.position = {n: i for i, n in enumerate(view)}
        self.names = node_names(view)
        self.names[self.others] = "Σ_others" if chain else f"the other {count - 1} example" \
            + ("s" if count > 2 else "")
        for n in self.outside:
            self.names[n] += f" (example {of[n]})"
        self.given = [n for n in view if (n.is_leaf or n in given) and (chain or n is not self.others)]
        self.prior, self.seed = {}, 1.0
        interior = [n for n in view if n in shown and not n.is_leaf]
        self.forward = [self._forward_step(i, len(interior), n, count) for i, n in enumerate(interior, 1)]
        self.backward = self._backward(root, order, shown, what)
        self.kinds = (["start"] + ["forward"] * len(self.forward) + ["seed"]
                      + ["backward"] * len(self.backward))
        how = "chosen with example=" if chosen else \
            f"the graph's {len(order):,} nodes are too many to step at once"
        them = f"The other {count - 1} example{'s' if count > 2 else ''}"
        summed = (f"The sum of the {count} loss terms ({len(chain)} adds) is one step, "
                  f"{self.names[self.total]} = this example's term + Σ_others, Σ_others the terms of {what} "
                  "added up; their backward steps are one step, which adds ∂Σ_others/∂w · Σ_others.grad to "
                  "each parameter w."
                  if chain else f"{them}' steps are one step, which adds the sum of their terms to each "
                  "parameter.")
        # how to choose another part first: a terminal shows the start of this note (tester qa14i: at
        # 80x24 it was cut after "the whole graph:")
        self.note = (f"The graph is a loss over {count} examples (the model called {count} times); this "
                     f"shows example {example}'s part ({how}). Another example: example=k (0 to "
                     f"{count - 1}); the whole graph: example='all'. The part holds its inputs, its neurons, "
                     f"its loss term, the shared loss and the parameters. {summed}")

    def _forward_step(self, index: int, total: int, node: Value, count: int) -> ForwardStep:
        if node is self.total:
            parents = self.folded[node]
            return _SumForward(index, total, node, parents, tuple(leaf_number(p.data) for p in parents),
                               self.names, len(self.chain))
        values = tuple(leaf_number(p.data) for p in node.parents)   # a numpy scalar set by hand: a float
        return ForwardStep(index, total, node, values, node.primitive(*values), self.names)

    def _backward(self, root: Value, order: list[Value], shown: set, what: str) -> list[BackwardStep]:
        grads = {root: 1.0}
        kept, others, folded = [], {}, []
        for node, g, terms in backprop(root, grads):  # the whole pass: the numbers autodiff.grad gives
            if node in self.chain:  # the sum's adds, one step: the terms they pass out of the chain
                if node is self.total:
                    kept.append((node, g, None))
                folded += [(p, t) for p, t in zip(node.parents, terms, strict=True) if p not in self.chain]
                continue
            if node in shown:
                kept.append((node, g, terms))
                continue
            for p, t in zip(node.parents, terms, strict=True):
                if p in shown:
                    others[p] = others[p] + t if p in others else t
        upstream = None
        if self.chain:  # an add passes its gradient on unchanged: every term in the sum gets the total's
            upstream = grads[self.total]
            own = [(p, t) for p, t in folded if p in self.position]
            assert all(t == upstream for p, t in folded) and len(own) == len(self.folded[self.total]) - 1
            folded = [*own, (self.others, upstream)]
        # the summed step before the first shown node whose gradient it completes (after every use of it)
        at = next((i for i, (n, _, _) in enumerate(kept) if n in others), len(kept))
        assert self.total is None or at > next(i for i, (n, _, _) in enumerate(kept) if n is self.total)
        total, steps, running = len(kept) + 1, [], {}
        for i, (node, g, terms) in enumerate([*kept, (None, None, None)]):
            if i == at:
                parents = [p for p in self.order if p in others]
                sums = [others[p] for p in parents]
                # last, it completes each gradient: autodiff.grad's own number, not a re-summed one
                held = tuple(running.get(p) for p in parents)
                after = [grads[p] if at == len(kept) else s if h is None else h + s
                         for p, s, h in zip(parents, sums, held, strict=True)]
                running.update(zip(parents, after, strict=True))
                steps.append(SummedStep(len(steps) + 1, total, self.others, tuple(parents), tuple(sums),
                                        tuple(after), self.names, what, upstream, held=held))
            if node is None:
                break
            parents = node.parents if terms is not None else tuple(p for p, _ in folded)
            if terms is None:
                terms = tuple(t for _, t in folded)
            held, after = [], []
            for p, t in zip(parents, terms, strict=True):
                held.append(running.get(p))   # None: its first term (a held 0.0 is still shown added to)
                running[p] = running[p] + t if p in running else t
                after.append(running[p])
            if node is self.total:
                steps.append(_SumStep(len(steps) + 1, total, node, g, parents, (1.0,) * len(parents), terms,
                                      tuple(after), self.names, len(self.chain), held=tuple(held)))
            else:
                steps.append(BackwardStep(len(steps) + 1, total, node, g, parents,
                                          local_derivatives(node, order), terms, tuple(after), self.names,
                                          held=tuple(held)))
        return steps

    def parents(self, node: Value) -> tuple[Value, ...]:
        if node in self.folded:
            return self.folded[node]
        return () if node in self.outside or node is self.others else node.parents

    def op(self, node: Value) -> str:
        """As `Walkthrough.op`; "Σ" for the other examples' part, "add ×99" for the folded sum."""
        if node is self.others:
            return "Σ"
        return f"add ×{len(self.chain)}" if node is self.total else super().op(node)

    def text(self, frame: int) -> str:
        text = super().text(frame)
        return self.note + "\n" + text if self.kinds[frame] == "start" else text


def _examples(count: int, example: int) -> str:
    """The examples other than ``example`` of ``count``: "examples 1–99", "examples 0–36, 38–99"."""
    runs = [(a, b) for a, b in ((0, example - 1), (example + 1, count - 1)) if a <= b]
    shown = ", ".join(f"{a}–{b}" if b > a + 1 else f"{a}, {b}" if b > a else f"{a}" for a, b in runs)
    return ("example " if count == 2 else "examples ") + shown


def _sum_chain(order: list[Value], of: dict[Value, int], example: int, shown: set,
               given: set) -> list[Value]:
    """The adds that sum the examples' loss terms, ``((t0 + t1) + t2) + …`` (a mean's or a sum's), in
    topological order, when the other examples' nodes the shared part reads (``given``) are read by
    them alone, once each, and the adds are one chain (each but the last used once, by the next);
    else []."""
    chain: list[Value] = []
    for n in order:
        if n in shown and of[n] == SHARED and n.op == "add" and all(
                p in given or of[p] == example or chain and p is chain[-1] for p in n.parents):
            if chain and chain[-1] not in n.parents:
                return []  # a second chain
            chain.append(n)
    members = set(chain)
    uses = dict.fromkeys([*chain[:-1], *given], 0)
    for n in order:
        for p in n.parents:
            if p in uses:
                uses[p] += 1 if n in members else 2  # any use outside the chain rules it out
    if not given or not all(u == 1 for u in uses.values()):
        return []
    return chain


class _SumForward(ForwardStep):
    """The forward step of a folded sum: ``total = this example's term + Σ_others``, the engine's number."""

    __slots__ = ("adds",)

    def __init__(self, index, total, node, parents, values, names, adds: int):
        super().__init__(index, total, node, values, node.data, names)
        self.parents, self.adds = parents, adds

    def __str__(self) -> str:
        names = self.names
        return (f"step {self.index}/{self.total}  add ×{self.adds} (the sum of the examples' loss terms): "
                f"{names[self.node]} = {' + '.join(names[p] for p in self.parents)} = "
                f"{' + '.join([fmt(self.values[0]), *map(factor, self.values[1:])])} → {fmt(self.result)}")


class _SumStep(BackwardStep):
    """The backward step of a folded sum: each term of the sum gets ``1 · total.grad``."""

    __slots__ = ("adds",)

    def __init__(self, index, total, node, upstream, parents, local, contributions, running, names, adds, *,
                 held):
        super().__init__(index, total, node, upstream, parents, local, contributions, running, names,
                         held=held)
        self.adds, self.op = adds, f"add ×{adds}"

    def local_text(self, index: int, names: dict[Value, str]) -> str:
        return "1"


def walkthrough(root: Value, example: int | str | None = None,
                order: list[Value] | None = None, *, caller: str = "walkthrough") -> Walkthrough:
    """What the steppers step through for ``example``: on a batched graph (`autodiff.batched`) that
    example's numbers (default 0); on a loss over several examples (`example_of`) example ``example``'s
    part (`ExampleWalkthrough`), by default example 0's when the graph has more than `WHOLE_LIMIT` nodes;
    ``example="all"`` (or a smaller graph without ``example``) the whole graph.

    Raises ValueError, its message starting ``caller:`` (the function the user called), for an example
    that is not an int, None or 'all', one the graph does not hold, or one asked of a graph whose
    examples cannot be told apart (`example_of`)."""
    order = topological_order(root) if order is None else order
    walk = _walkthrough(root, example, order, caller)
    # the start frame lists the leaves as the diagrams read: inputs, parameters, constants
    walk.given = reading_order(walk.given)
    return walk


def table_rows(walk: Walkthrough) -> list[int]:
    """The positions (in ``walk.order``) of the nodes in the order a table of them reads: the given
    leaves as the start frame lists them (inputs, parameters, constants: `walkthrough`), then each
    computed node in the order the forward steps compute it, then any other."""
    pos = walk.position
    rows = list(dict.fromkeys([*(pos[n] for n in walk.given), *(pos[s.node] for s in walk.forward)]))
    return rows + sorted(set(range(len(walk.order))) - set(rows))


def _walkthrough(root: Value, example: int | str | None, order: list[Value], caller: str) -> Walkthrough:
    if not (isinstance(example, str) and example == "all"):
        example = check_example(example, None, caller, "an int, None or 'all'")  # its range: below
    if example == "all":
        if max(map(batch_size, order)) > 1:
            raise ValueError(f"{caller}: example='all': a batched graph (autodiff.batched) is stepped one "
                             "example at a time; give example=k")
        return Walkthrough(root, caller=caller)
    if max(map(batch_size, order)) > 1 or (example is None and len(order) <= WHOLE_LIMIT):
        return Walkthrough(root, example, caller=caller)
    try:
        found = example_of(order)
    except ValueError:
        if example is None:  # nothing asked: the whole graph, as for any other graph
            return Walkthrough(root, caller=caller)
        raise
    if found is None:
        if example is None or example == 0:  # its one example
            return Walkthrough(root, example, caller=caller)
        raise ValueError(f"{caller}: example {example!r}: this graph holds one example (no neuron of a "
                         "model built by nn is computed more than once, and it is not batched); leave "
                         "example out")
    count, of = found
    if example is not None and not 0 <= example < count:
        raise ValueError(f"{caller}: example {example!r} is not in the graph, which holds examples "
                         f"0..{count - 1} (one per call of the model); give one of those, or 'all'")
    return ExampleWalkthrough(root, order, count, of, example or 0, chosen=example is not None)


class _Box:
    """A node as `viz.layered` places it: the operands it is drawn with."""

    __slots__ = ("parents", "is_leaf")

    def __init__(self, parents: tuple, is_leaf: bool):
        self.parents, self.is_leaf = parents, is_leaf


def example_svg(walk: ExampleWalkthrough, numbers: list[str] | None = None) -> str:
    """The layered drawing of ``walk``'s nodes: the other examples' box reads the parameters their
    summed step gives to, and each given node of another example is drawn as its result; ``numbers``,
    a line under each box of ``walk.order`` (`viz.layered.layered_svg`)."""
    from viz.layered import layered_svg
    from viz.style import roles

    role = roles(walk.root)
    pos, at = walk.position, walk.position[walk.others]
    boxes: list[_Box] = []
    for n in walk.order:
        if n is walk.others:
            step = next(s for s in walk.backward if s.node is n)
            parents = tuple(boxes[pos[p]] for p in step.parents if pos[p] < at)
        elif n in walk.outside:
            parents = (boxes[at],)
        else:
            parents = tuple(boxes[pos[p]] for p in walk.parents(n))
        boxes.append(_Box(parents, n.is_leaf))
    ops = [_symbol(walk, n) for n in walk.order]
    return layered_svg(boxes, [walk.names[n] for n in walk.order], ops,
                       [role.get(n, "interior") for n in walk.order], numbers=numbers)


def _symbol(walk: ExampleWalkthrough, node: Value) -> str:
    """What a box shows beside its name: the op's symbol; the folded sum and the other examples' box say
    what they hold."""
    if node is walk.others:
        return walk.what if walk.chain else "Σ"
    if node is walk.total:
        return f"Σ of {walk.batch_size} terms"
    return node.primitive.symbol if node.primitive else ""
