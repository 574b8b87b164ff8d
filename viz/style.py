"""The look the diagrams share: each node's role (`roles`) and each role's fill colour, line style and
legend text, used by `viz.draw`'s graphviz diagrams and `viz.layered`'s drawing alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from autodiff import Value, topological_order

__all__ = ["ROLE_STYLE", "roles"]

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
    from nn import locate

    chosen = None if parameters is None else set(parameters)
    found = {}
    for v in topological_order(root):
        if v is root:
            found[v] = "output"
        elif not v.is_leaf:
            found[v] = "interior"
        elif chosen is not None:
            found[v] = "parameter" if v in chosen else "input" if v.label else "constant"
        elif v.label:
            place = locate(v.label)
            named = place is not None and place.role in ("weight", "bias")
            found[v] = "parameter" if named or _is_tutorial_parameter(v.label) else "input"
        else:
            found[v] = "constant"
    return found
