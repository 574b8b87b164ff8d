"""One example's part of a loss over several examples (an eager loss: the model called once per example):
which node belongs to which call of the model (`example_of`), and the walkthrough of one example's part,
the other examples' part summed into one step (`ExampleWalkthrough`), that the steppers show (`walkthrough`).
"""

from __future__ import annotations

from collections.abc import Sequence

from autodiff import Value, Walkthrough, topological_order
from autodiff.engine import batch_size
from autodiff.reference import backprop
from autodiff.steps import BackwardStep, ForwardStep, SummedStep, example_index, local_derivatives, node_names

__all__ = ["WHOLE_LIMIT", "SHARED", "example_of", "ExampleWalkthrough", "walkthrough", "example_svg"]

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
    examples, the parameters) and, as given numbers, the other examples' nodes the shared ones read.
    The other examples' backward steps are one `SummedStep`: per shared node, the sum of their terms.

    Every number is the whole graph's: the forward values, each node's gradient when its step passes it
    on, and each parameter's gradient after the summed step, which is the one `autodiff.grad` returns
    (one fresh pass over the whole graph, `autodiff.reference.backprop`; ``.grad`` is not touched).
    ``note`` says what is shown and how to choose another example or the whole graph."""

    def __init__(self, root: Value, order: list[Value], count: int, of: dict[Value, int], example: int,
                 chosen: bool = True):
        shown = {n for n in order if of[n] in (example, SHARED)}
        given = {p for n in order if of[n] == SHARED for p in n.parents if p not in shown}
        self.root, self.batch_size, self.example = root, count, example
        view = [n for n in order if n in shown or n in given]
        #: the other examples' part, one box on the diagram and one backward step
        self.others = Value(0.0)
        first = next((i for i, n in enumerate(view) if n in given), len(view))
        view.insert(first, self.others)
        self.order, self.outside = view, given
        self.position = {n: i for i, n in enumerate(view)}
        self.names = node_names(view)
        what = f"the other {count - 1} example{'s' if count > 2 else ''}"
        self.names[self.others] = what
        for n in given:
            self.names[n] += f" (example {of[n]})"
        self.given = [n for n in view if (n.is_leaf or n in given) and n is not self.others]
        self.prior, self.seed = {}, 1.0
        interior = [n for n in view if n in shown and not n.is_leaf]
        self.forward = [ForwardStep(i, len(interior), n, vs := tuple(p.data for p in n.parents),
                                    n.primitive(*vs), self.names) for i, n in enumerate(interior, 1)]
        self.backward = self._backward(root, order, shown, what)
        self.kinds = (["start"] + ["forward"] * len(self.forward) + ["seed"]
                      + ["backward"] * len(self.backward))
        how = "chosen with example=" if chosen else \
            f"the graph's {len(order):,} nodes are too many to step at once"
        self.note = (f"The graph is a loss over {count} examples (the model called {count} times); this "
                     f"shows example {example}'s part ({how}): its inputs, its neurons, its loss term, the "
                     f"shared loss and the parameters. {what[0].upper() + what[1:]}' steps are one step, "
                     f"which adds the sum of their terms to each parameter. Another example: example=k (0 "
                     f"to {count - 1}); the whole graph: example='all'.")

    def _backward(self, root: Value, order: list[Value], shown: set, what: str) -> list[BackwardStep]:
        grads = {root: 1.0}
        kept, others = [], {}
        for node, g, terms in backprop(root, grads):  # the whole pass: the numbers autodiff.grad gives
            if node in shown:
                kept.append((node, g, terms))
                continue
            for p, t in zip(node.parents, terms, strict=True):
                if p in shown:
                    others[p] = others[p] + t if p in others else t
        # the summed step before the first shown node whose gradient it completes (after every use of it)
        at = next((i for i, (n, _, _) in enumerate(kept) if n in others), len(kept))
        total, steps, running = len(kept) + 1, [], {}
        for i, (node, g, terms) in enumerate([*kept, (None, None, None)]):
            if i == at:
                parents = [p for p in self.order if p in others]
                sums = [others[p] for p in parents]
                # last, it completes each gradient: autodiff.grad's own number, not a re-summed one
                after = [grads[p] if at == len(kept) else running[p] + s if p in running else s
                         for p, s in zip(parents, sums, strict=True)]
                running.update(zip(parents, after, strict=True))
                steps.append(SummedStep(len(steps) + 1, total, self.others, tuple(parents), tuple(sums),
                                        tuple(after), self.names, what))
            if node is None:
                break
            after = []
            for p, t in zip(node.parents, terms, strict=True):
                running[p] = running[p] + t if p in running else t
                after.append(running[p])
            steps.append(BackwardStep(len(steps) + 1, total, node, g, node.parents,
                                      local_derivatives(node, order), terms, tuple(after), self.names))
        return steps

    def parents(self, node: Value) -> tuple[Value, ...]:
        return () if node in self.outside or node is self.others else node.parents

    def text(self, frame: int) -> str:
        text = super().text(frame)
        return self.note + "\n" + text if self.kinds[frame] == "start" else text


def walkthrough(root: Value, example: int | str | None = None,
                order: list[Value] | None = None) -> Walkthrough:
    """What the steppers step through for ``example``: on a batched graph (`autodiff.batched`) that
    example's numbers (default 0); on a loss over several examples (`example_of`) example ``example``'s
    part (`ExampleWalkthrough`), by default example 0's when the graph has more than `WHOLE_LIMIT` nodes;
    ``example="all"`` (or a smaller graph without ``example``) the whole graph.

    Raises ValueError for an example the graph does not hold, or an example asked of a graph whose
    examples cannot be told apart (`example_of`)."""
    order = topological_order(root) if order is None else order
    if not (isinstance(example, str) and example == "all"):
        example = example_index(example, "an int, None or 'all'")
    if example == "all":
        if max(map(batch_size, order)) > 1:
            raise ValueError("example='all': a batched graph (autodiff.batched) is stepped one example at "
                             "a time; give example=k")
        return Walkthrough(root)
    if max(map(batch_size, order)) > 1 or (example is None and len(order) <= WHOLE_LIMIT):
        return Walkthrough(root, example)
    try:
        found = example_of(order)
    except ValueError:
        if example is None:  # nothing asked: the whole graph, as for any other graph
            return Walkthrough(root)
        raise
    if found is None:
        if example is None or example == 0:  # its one example
            return Walkthrough(root, example)
        raise ValueError(f"example {example!r}: this graph holds one example (no neuron of a model built "
                         "by nn is computed more than once, and it is not batched); leave example out")
    count, of = found
    if example is not None and not 0 <= example < count:
        raise ValueError(f"example {example!r} is not in the graph, which holds examples 0..{count - 1} "
                         "(one per call of the model); give one of those, or 'all'")
    return ExampleWalkthrough(root, order, count, of, example or 0, chosen=example is not None)


class _Box:
    """A node as `viz.layered` places it: the operands it is drawn with."""

    __slots__ = ("parents", "is_leaf")

    def __init__(self, parents: tuple, is_leaf: bool):
        self.parents, self.is_leaf = parents, is_leaf


def example_svg(walk: ExampleWalkthrough) -> str:
    """The layered drawing of ``walk``'s nodes: the other examples' box reads the parameters their
    summed step gives to, and each given node of another example is drawn as its result."""
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
            parents = tuple(boxes[pos[p]] for p in n.parents)
        boxes.append(_Box(parents, n.is_leaf))
    ops = ["Σ" if n is walk.others else n.primitive.symbol if n.primitive else "" for n in walk.order]
    return layered_svg(boxes, [walk.names[n] for n in walk.order], ops,
                       [role.get(n, "interior") for n in walk.order])
