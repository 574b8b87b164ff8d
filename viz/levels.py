"""Levels of detail for stepping through a network: the op steps of `autodiff.forward_steps` and
`autodiff.backward_steps` grouped into one step per neuron or per layer (nn's `locate` tells which node
is which neuron's z and a). A coarse step is exactly the run of fine steps it holds, so its gradient
changes are the sums of theirs.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from autodiff import Value, Walkthrough
from autodiff.steps import SummedStep, factor, fmt, format_backward_step

_LOSS_LINES = 6  # the loss's steps a coarse step shows before "… and N more"

__all__ = ["LEVELS", "LOSS", "Group", "neuron_part", "neuron_units", "regroup", "groups", "gradient_changes",
           "describe", "step_runs", "formula", "deltas", "outputs_given", "rule_asked"]

#: the levels of detail, coarse to fine
LEVELS = ("layer", "neuron", "op")

# (layer, neuron) as nn.locate gives them, and (layer, neuron, call) when the model is called more than
# once in the graph (a loss over several examples): each call's neuron is a neuron to step of its own
Unit = tuple[int | None, int] | tuple[int | None, int, int]
LOSS = ("loss",)               # the key of a run of steps outside every neuron


def neuron_part(node: Value) -> tuple[int | None, int, str] | None:
    """(layer, neuron, "z" or "a") for a neuron's pre-activation or activation node (`nn.locate`)."""
    from nn import locate

    where = None if node.is_leaf else locate(node.label)
    if where is None or where.role not in ("z", "a"):
        return None
    if where.neuron is None:  # a standalone nn.Neuron labels its own z and a: neuron 0 of no layer
        return (None, 0, where.role) if where.layer is None else None
    return where.layer, where.neuron, where.role


def neuron_units(order: Sequence[Value]) -> dict[Value, Unit]:
    """Interior node -> the (layer, neuron) it belongs to: the neuron's z and a (`nn.locate`) and the
    unlabelled interior nodes used only inside one neuron (the products w·x and partial sums of an
    unfused z). Inputs, parameters and the loss's nodes belong to none. When the graph holds a neuron
    computed more than once (the model called on several examples) every unit is (layer, neuron, call),
    call k the k-th computation of that neuron in ``order`` (an a goes with the z it reads), so that
    no step mixes the numbers of two calls."""
    unit: dict[Value, Unit] = {}
    children: dict[Value, list[Value]] = {}
    calls: dict[Unit, int] = {}
    for node in order:
        where = neuron_part(node)
        if where is not None:
            mine = [unit[p] for p in node.parents if where[2] == "a" and unit.get(p, ())[:2] == where[:2]]
            own = mine[0] if mine else None
            if own is None:
                own = (*where[:2], calls.get(where[:2], 0))
                calls[where[:2]] = own[2] + 1
            unit[node] = own
        for p in node.parents:
            children.setdefault(p, []).append(node)
    if all(k <= 1 for k in calls.values()):  # each neuron once: (layer, neuron)
        unit = {n: k[:2] for n, k in unit.items()}
    for node in reversed(order):  # children before parents
        if node in unit or node.label or node.is_leaf:
            continue
        keys = {unit.get(c) for c in children.get(node, ())}
        if len(keys) == 1 and None not in keys:
            unit[node] = keys.pop()
    return unit


def regroup(steps: Sequence, unit: dict[Value, Unit], phase: str) -> list:
    """``steps`` (one pass's fine steps in the engine's order) reordered so that each neuron's steps, each
    layer's neurons and the loss's steps are consecutive wherever the pass allows it (`_regroup`), a
    layer's neurons by index: forward 1..n; backward n..1 where that keeps each neuron's steps together
    (a backward step adds to a shared input's gradient in the engine's order, which may be 1..n: with
    `nn.cross_entropy` the engine reaches the output neurons 2, 1 forward and 1, 2 backward), else in
    the engine's order."""
    if phase == "forward":
        return _regroup(steps, unit, phase, by_index=True)
    mine = _regroup(steps, unit, phase, by_index=True)
    found = groups(mine, unit, "neuron", phase)
    if len(found) == len({g.key for g in found}):  # each neuron (and the loss) one step: as good as it gets
        return mine
    engines = _regroup(steps, unit, phase, by_index=False)
    return mine if len(found) <= len(groups(engines, unit, "neuron", phase)) else engines


def _regroup(steps: Sequence, unit: dict[Value, Unit], phase: str, by_index: bool) -> list:
    """``steps`` (one pass's fine steps in the engine's order) reordered so that each neuron's steps, each
    layer's neurons and the loss's steps are consecutive wherever the pass allows it.

    The new order is a valid run of the same pass by construction: forward, a node after its operands;
    backward, a node after every use of it, and each node's contributions in the engine's order, so every
    running gradient is the same number as in the engine's pass. Among the steps those rules allow next,
    it takes one of the same neuron (or of the loss) as the step before, else one of the same layer, else
    the one the engine took first; a network with several outputs, whose backward pass interleaves the
    loss's terms and the output neurons, so comes out loss first, then layer by layer. ``by_index``:
    between the neurons of one layer (which do not depend on each other) it takes the lowest index first
    going forward and the highest first going backward, whatever order the loss made the engine take
    them in (`nn.cross_entropy` had the forward pass reach layer 2's neuron 2 before its neuron 1)."""
    index = {s.node: i for i, s in enumerate(steps)}
    after: list[list[int]] = [[] for _ in steps]  # i -> the steps that must wait for step i
    if phase == "forward":
        for j, s in enumerate(steps):
            for p in dict.fromkeys(s.parents):  # x * x reads x twice but waits for it once
                if p in index:
                    after[index[p]].append(j)
    else:
        last: dict[Value, int] = {}  # node -> its latest contribution so far
        for j, s in enumerate(steps):
            for p in dict.fromkeys(s.parents):  # x * x: one step adds both terms to x, never waits on itself
                if p in last:
                    after[last[p]].append(j)
                last[p] = j
        for node, j in last.items():  # a node's own step after its last contribution
            if node in index:
                after[j].append(index[node])
    waiting = [0] * len(steps)
    for later in after:
        for j in later:
            waiting[j] += 1
    neuron = [unit.get(s.node, LOSS) for s in steps]
    layer = [k if k == LOSS else _layer_key(k) for k in neuron]
    ready_all: list[int] = []
    ready_by: dict[object, list[int]] = {}
    taken = [False] * len(steps)

    sign = 0 if not by_index else 1 if phase == "forward" else -1
    # a layer's ready steps by neuron index (forward 1..n, backward n..1), then the engine's order
    rank = [(0 if k == LOSS else sign * k[1], j) for j, k in enumerate(neuron)]

    def release(j: int) -> None:
        heapq.heappush(ready_all, (j, j))
        heapq.heappush(ready_by.setdefault(("n", neuron[j]), []), (j, j))
        heapq.heappush(ready_by.setdefault(("l", layer[j]), []), rank[j])

    def pop(heap: list[tuple[int, int]] | None) -> int | None:
        while heap and taken[heap[0][1]]:
            heapq.heappop(heap)
        return heapq.heappop(heap)[1] if heap else None

    for j in range(len(steps)):
        if not waiting[j]:
            release(j)
    moved = []
    prev = None
    while len(moved) < len(steps):
        i = None
        if prev is not None:
            i = pop(ready_by.get(("n", neuron[prev])))
            if i is None:
                i = pop(ready_by.get(("l", layer[prev])))
        if i is None:
            i = pop(ready_all)
            if by_index and layer[i] != LOSS:  # a new layer: its first neuron by index
                heapq.heappush(ready_all, (i, i))
                i = pop(ready_by[("l", layer[i])])
        taken[i], prev = True, i
        moved.append(steps[i])
        for j in after[i]:
            waiting[j] -= 1
            if not waiting[j]:
                release(j)
    return moved


def _layer_key(unit: Unit) -> tuple:
    """The layer a neuron's unit is in: (layer,), or (layer, call) when the model is called more than once."""
    return unit[:1] + unit[2:]


@dataclass(frozen=True)
class Group:
    """A coarse step: the fine steps ``steps[start:stop]`` of one pass (``phase`` "forward" or
    "backward"), all about neuron ``key`` = (layer, neuron) (``level`` "neuron") or about layer
    ``key`` = (layer,) (``level`` "layer"); with a call number last when the model is called more than once
    in the graph (`neuron_units`)."""

    level: str
    phase: str
    key: tuple
    start: int
    stop: int

    @property
    def title(self) -> str:
        if self.key == LOSS:
            return f"the loss ({self.stop - self.start} operations)"
        layer = self.key[0]
        where = "" if layer is None else f"layer {layer + 1}"
        call = len(self.key) == (2 if self.level == "layer" else 3)
        after = f" (call {self.key[-1] + 1})" if call else ""
        if self.level == "layer":
            return (where or "the layer") + after
        return (where + " · " if where else "") + f"neuron {self.key[1] + 1}" + after


def groups(steps: Sequence, unit: dict[Value, Unit], level: str, phase: str) -> list[Group]:
    """The coarse steps of ``steps`` (one pass's fine steps, in order) at ``level`` ("neuron" or
    "layer"): each maximal run of consecutive steps whose nodes share a neuron (or a layer), and each
    run of two or more steps outside every neuron (key `LOSS`: the loss and its terms, such as an L2
    penalty's hundreds of operations). A single step outside the network belongs to no group.

    Raises ValueError for another level."""
    if level not in ("neuron", "layer"):
        raise ValueError(f"groups: level must be 'neuron' or 'layer', got {level!r}")
    found: list[Group] = []
    start, key = 0, None
    for i, step in enumerate([*steps, None]):
        where = None if step is None else unit.get(step.node, LOSS)
        k = None if where is None else where if level == "neuron" or where == LOSS else _layer_key(where)
        if k != key:
            if key is not None and (key != LOSS or i - start > 1):
                found.append(Group(level, phase, key, start, i))
            start, key = i, k
    return found


def gradient_changes(steps: Sequence) -> dict[Value, float]:
    """The gradient each node receives from a run of backward steps: per parent, the sum of the
    contributions (upstream × local derivative) the steps add to it, in the order they add them."""
    total: dict[Value, float] = {}
    for step in steps:
        for parent, term in zip(step.parents, step.contributions, strict=True):
            total[parent] = total[parent] + term if parent in total else term
    return total


# ---- what a coarse step says -----------------------------------------------------------------------

_USES: WeakKeyDictionary = WeakKeyDictionary()  # walkthrough -> each node's uses in its backward pass
_NUMBERS: WeakKeyDictionary = WeakKeyDictionary()  # walkthrough -> neuron's z -> `_Neuron.numbers`


class _Neuron:
    """A neuron's z and a nodes and, over the whole backward pass, the uses of its output."""

    def __init__(self, walk: Walkthrough, members: list[Value]):
        parts = {neuron_part(n)[2]: n for n in members if neuron_part(n) is not None}
        self.walk, self.z = walk, parts.get("z")
        self.a = parts.get("a", self.z)

    def forward(self) -> str:
        at, z, a = self.walk.at, self.z, self.a
        text = f"z = Σ w·x + b = {fmt(at(z.data))}" if z is not None else ""
        if a is not None and a is not z:
            text += f",  a = {a.primitive.symbol}(z) = {fmt(at(a.data))}"
        return text

    def uses(self, node: Value) -> list[tuple[float, float, float, Value]]:
        """(local, upstream, term, user) for each use of ``node`` in the backward pass."""
        index = _USES.get(self.walk)
        if index is None or index[0] != len(self.walk.backward):
            at, found = self.walk.at, {}
            for s in self.walk.backward:
                for i, p in enumerate(s.parents):
                    found.setdefault(p, []).append((at(s.local[i]), at(s.upstream), at(s.contributions[i]),
                                                    s.node))
            index = _USES[self.walk] = (len(self.walk.backward), found)
        return index[1].get(node, [])

    def numbers(self, steps: Sequence | None = None) -> dict | None:
        """The numbers of δ = f′(z) · ∂L/∂a, ∂L/∂a = Σ_k w_k δ_k over the uses of the neuron's output:
        ``act`` (f's symbol, "" for a linear neuron), ``f1`` = f′(z), ``terms`` [(local, upstream), …],
        ``sum`` = ∂L/∂a, ``delta`` and ``users`` (the node of each use, in the terms' order); None for a
        neuron without z. ``steps``: where to look for a's backward step (default the whole pass)."""
        walk, z = self.walk, self.z
        if z is None:
            return None
        known = _NUMBERS.setdefault(walk, {})  # a page asks for them up to three times per step
        if z not in known:
            known[z] = self._numbers(steps)
        return known[z]

    def _numbers(self, steps: Sequence | None) -> dict:
        walk, z, a = self.walk, self.z, self.a
        out = a if a is not None else z
        uses = self.uses(out)
        total = sum(t for _, _, t, _ in uses) if uses else walk.at(walk.seed)
        found = {"act": "", "f1": 1.0, "terms": [[loc, up] for loc, up, _, _ in uses], "sum": total,
                 "delta": total, "users": [user for *_, user in uses]}
        if out is not z:
            step = next(s for s in (walk.backward if steps is None else steps) if s.node is a)
            found |= {"act": a.primitive.symbol, "f1": walk.at(step.local[0]),
                      "delta": walk.at(step.contributions[0])}
        return found

    def backward(self, ask: bool = False, steps: Sequence | None = None) -> str:
        """∂L/∂a as the sum over its uses (the next layer's w·δ), then δ = f'(z)·∂L/∂a."""
        m = self.numbers(steps)
        if m is None:
            return ""
        terms = " + ".join(f"{factor(loc)}·{factor(up)}" for loc, up in m["terms"]) or "1 (the output)"
        name = "δ = ∂L/∂z" if not m["act"] else "∂L/∂a"
        line = f"{name} = Σ over its uses of w·δ (or local·upstream) = {terms} = " \
               f"{'?' if ask else fmt(m['sum'])}"
        if not m["act"]:
            return line
        delta = "?" if ask else fmt(m["delta"])
        return (line + f"\nδ = ∂L/∂z = {m['act']}′(z) · ∂L/∂a = {factor(m['f1'])} · "
                f"{'?' if ask else factor(m['sum'])} = {delta}")


_RUNS_SHOWN = 8  # runs of step numbers a coarse step's header lists before "…"


def step_runs(indices: Sequence[int], total: int) -> str:
    """The fine steps a coarse step holds, truthfully: their count and their numbers as runs of
    consecutive numbers, e.g. "32 of 1253 steps: 614–616, 650–651, …" (a step reordered neuron by
    neuron need not hold a contiguous range of the engine's numbers); past `_RUNS_SHOWN` runs, "…"."""
    runs: list[list[int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    shown = [f"{a}–{b}" if b > a else f"{a}" for a, b in runs[:_RUNS_SHOWN]]
    if len(runs) > _RUNS_SHOWN:
        shown.append("…")
    noun = "step" if len(indices) == 1 else "steps"
    return f"{len(indices)} of {total} {noun}: " + ", ".join(shown)


def describe(group: Group, walk: Walkthrough, unit: dict[Value, Unit], ask: bool = False,
             given: list[Value] | None = None) -> str:
    """The worked text of a coarse step (``ask``: the predict-mode form, answers replaced by ?; the
    loss's step then asks for the nodes ``given``, by default those `outputs_given` finds).

    Neurons are listed in index order, as the drawing has them. Forward: each neuron's z = Σ w·x + b and
    a = f(z). Backward: each neuron's ∂L/∂a written out as the sum over its uses (w·δ for each neuron
    of the next layer), then δ = f'(z)·∂L/∂a; after that the step adds δ·x to each weight, δ to the
    bias and w·δ to each input's gradient."""
    steps = (walk.forward if group.phase == "forward" else walk.backward)[group.start:group.stop]
    if group.key == LOSS:
        if group.phase == "forward":
            shown = [str(s) for s in steps[:_LOSS_LINES]]
        elif ask:
            shown = [rule_asked(s, walk.names) for s in steps[:_LOSS_LINES]]
        else:
            shown = [format_backward_step(s, walk.example) for s in steps[:_LOSS_LINES]]
        more = len(steps) - len(shown)
        if ask and given is None:
            given = [n for n, _ in outputs_given(group, walk, unit)]
        asked = [f"{walk.names[n]}.grad = ?" for n in given] if ask else []
        return "\n".join([f"{group.title}, {group.phase}:", *shown]
                         + ([f"… and {more} more: open this step (o) to go through each"] if more else [])
                         + asked)
    by_neuron: dict[Unit, list[Value]] = {}
    for s in steps:
        by_neuron.setdefault(unit[s.node], []).append(s.node)
    head = f"{group.title}, {group.phase}"
    if group.phase == "backward":
        head += f" ({step_runs([s.index for s in steps], steps[0].total)})"
    lines = [head + ":"]
    for key, members in sorted(by_neuron.items(), key=_neuron_order):  # the drawing's order, not the pass's
        n = _Neuron(walk, members)
        body = n.forward() if group.phase == "forward" else n.backward(ask, steps)
        prefix = f"  neuron {key[1] + 1}: " if group.level == "layer" else "  "
        lines.append(prefix + body.replace("\n", "\n" + " " * len(prefix)))
    if group.phase == "backward":
        lines.append("  then w.grad += δ·x for each weight, b.grad += δ, and each input's gradient "
                     "gets w·δ")
    return "\n".join(lines)


def _neuron_order(item: tuple) -> tuple:
    """A (unit, …) pair's place among a layer's neurons: by neuron index, then call (the layer is the same
    for all, and None for a standalone neuron)."""
    return item[0][1:]


def rule_asked(step, names: dict[Value, str], unknown: str = "") -> str:
    """A backward step's rule with its numbers left out, for predict mode: a line per parent,
    ``p.grad += ∂node/∂p · node.grad`` followed by ``unknown`` (e.g. " = ?")."""
    head = f"step {step.index}/{step.total}  {step.op}: "
    if isinstance(step, SummedStep) and not step.chain:  # the other examples' terms summed: no one rule
        return head.rstrip() + "".join(f"\n  {names[p]}.grad += {step.local_text(i, names)}{unknown}"
                                       for i, p in enumerate(step.parents))
    return head + ("\n" + " " * len(head)).join(
        f"{names[p]}.grad += {step.local_text(i, names)} · {names[step.node]}.grad{unknown}"
        for i, p in enumerate(step.parents))


def outputs_given(group: Group, walk: Walkthrough, unit: dict[Value, Unit]) -> list[tuple[Value, float]]:
    """(node, its gradient after the step) for each of the network's nodes (a neuron's z or a) that the
    loss's backward step ``group`` gives a gradient to: what predict mode asks for at that step. Empty
    for another step."""
    if group.key != LOSS or group.phase != "backward":
        return []
    found: dict[Value, float] = {}
    for s in walk.backward[group.start:group.stop]:
        for p, after in zip(s.parents, s.running, strict=True):
            if p in unit:
                found[p] = walk.at(after)
    return list(found.items())


def formula(group: Group, walk: Walkthrough, unit: dict[Value, Unit]) -> dict | None:
    """The numbers of a neuron's backward step for the page's typeset formula
    δ = f′(z) · Σ_k w_k δ_k (`_Neuron.numbers`: ``act``, ``f1``, ``terms``, ``sum``, ``delta``, and
    ``weights``: whether every use of its output is in a neuron of the next layer, a weight w_k times
    that neuron's δ_k; else, an output neuron, each term is a local derivative ∂u/∂a times ∂L/∂u);
    None for another step."""
    if group.level != "neuron" or group.phase != "backward" or group.key == LOSS:
        return None
    steps = walk.backward[group.start:group.stop]
    n = _Neuron(walk, [s.node for s in steps])
    found = n.numbers(steps)  # a's step is one of this group's
    if found is not None:  # the next layer's neurons read its output (w·δ), or the loss does (local·upstream)
        found = {k: v for k, v in found.items() if k != "users"} | {
            "weights": all(user in unit for user in found["users"])}
    return found


def deltas(group: Group, walk: Walkthrough, unit: dict[Value, Unit]) -> list[tuple[Unit, Value, float]]:
    """(neuron, its z, δ = ∂L/∂z) for each neuron whose backward steps ``group`` holds, in index order
    (the backward pass reaches a layer's neurons last to first)."""
    found = []
    for s in walk.backward[group.start:group.stop]:
        where = neuron_part(s.node)
        if where is not None and where[2] == "z":
            found.append((unit[s.node], s.node, walk.at(s.upstream)))
    return sorted(found, key=_neuron_order)
