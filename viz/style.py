"""The look the diagrams share: each node's role (`roles`) and each role's fill colour, line style and
legend text, used by `viz.draw`'s graphviz diagrams and `viz.layered`'s drawing alike; and the reading
order (`reading_order`) every list of nodes the steppers show follows, as the diagrams place them.
"""

from __future__ import annotations

from collections.abc import Iterable

from autodiff import Value, topological_order

__all__ = ["ROLE_STYLE", "roles", "reading_order"]

#: role (as `roles` gives it) -> (fill colour, extra style, what the legend says);
#: `viz.layered` draws with the same colours and legend
ROLE_STYLE = {
    "parameter": ("#fde2b8", "", "parameter (w, b)"),
    "input": ("#cfe3f7", "", "input"),
    "constant": ("#eeeeee", "dashed", "constant"),
    "output": ("#c8ecc8", "", "output"),
    "interior": ("#ffffff", "", "intermediate value"),
}


def _is_tutorial_parameter(label: str) -> bool:
    """The names learners give parameters by hand: ``w``, ``w1``, ``b``, ``b2``."""
    return label[:1] in ("w", "b") and (label[1:] == "" or label[1:].isdecimal())


def roles(root: Value, parameters: Iterable[Value] | None = None) -> dict[Value, str]:
    """The role of every node of ``root``'s graph: "output" (the root), "parameter", "input", "constant"
    (leaves) or "interior".

    Parameters are the leaves in ``parameters`` when given (``model.parameters()``, the surest signal),
    else the leaves nn labels as a weight or bias (`nn.locate`: ``….w.k``, ``….b``) and the tutorial
    names ``w``, ``w1``, ``b``, ``b2``. Other labelled leaves are inputs; unlabelled leaves are constants
    (numbers the expression wrapped).
    """
    chosen = None if parameters is None else set(parameters)
    found = {}
    for v in topological_order(root):
        if v is root:
            found[v] = "output"
        elif not v.is_leaf:
            found[v] = "interior"
        elif chosen is not None:
            found[v] = "parameter" if v in chosen else "input" if v.label else "constant"
        else:
            found[v] = _leaf_role(v)
    return found


def _leaf_role(v: Value) -> str:
    """A leaf's role when no parameters are given: "parameter" (named as nn or a tutorial names one),
    "input" (labelled otherwise) or "constant" (unlabelled)."""
    from nn import locate

    if not v.label:
        return "constant"
    place = locate(v.label)
    named = place is not None and place.role in ("weight", "bias")
    return "parameter" if named or _is_tutorial_parameter(v.label) else "input"


def _natural(label: str) -> tuple:
    """A label's sort key with its numbers compared as numbers: x.2 before x.10."""
    import re

    return tuple((0, int(part), "") if part.isdecimal() else (1, 0, part)
                 for part in re.split(r"(\d+)", label) if part)


def reading_order(nodes: Iterable[Value]) -> list[Value]:
    """``nodes`` as a learner reads them, the order the diagrams draw them in: the inputs (``x.0``,
    ``x.1``, …, by label, numbers compared as numbers), then the parameters (a network's by layer, neuron,
    then its weights ``w.0``, ``w.1``, … and its bias last; hand-named ones as ``w1``, ``w2``, ``b``), then
    the constants, then every other node, these last two in the order given. A leaf's role is read from
    its label, as `roles` reads it when given no parameters."""
    from math import inf

    from nn import locate

    rank = {"input": 0, "parameter": 1, "constant": 2}

    def key(item: tuple[int, Value]) -> tuple:
        k, n = item
        r = rank[_leaf_role(n)] if n.is_leaf else 3
        label = n.label or ""
        if r == 0:
            return (r, _natural(label), k)
        if r == 1:
            place = locate(label)
            if place is not None and place.role in ("weight", "bias"):
                index = place.index if place.role == "weight" else inf
                where = (-1 if place.layer is None else place.layer,
                         -1 if place.neuron is None else place.neuron, index)
            else:  # a tutorial's w, w1, w2, …, then b, b1, …
                where = (-1, -1, inf if label[0] == "b" else int(label[1:] or 0))
            return (r, where, _natural(label), k)
        return (r, k)

    return [n for _, n in sorted(enumerate(nodes), key=key)]
