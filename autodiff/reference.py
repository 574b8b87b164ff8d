"""The reference backward pass: the chain rule as one loop over the table's rules, gradients kept in a
dict (no node is changed). The steppers, `grad`/`hessian`/`hvp` run it; the fast executors
(`autodiff.eager`, `autodiff.vectorized`) must give what it gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from autodiff.graph import RULE_ERRORS, rule_error, topological_order
from autodiff.primitives import is_array, like

__all__ = ["backprop", "gradients", "finite", "shown"]


def backprop(root: Any, grads: dict, create_graph: bool = False) -> Iterator[tuple[Any, Any, tuple]]:
    """Walk ``root``'s graph from the root back to the leaves, filling ``grads`` (node -> d root / d node).

    ``grads`` starts as ``{root: seed}``. Each interior node, in reverse topological order, hands one
    term per parent, ``rule(upstream, out, *inputs)``, to its parents; terms to one parent add up.
    Yields ``(node, upstream, terms)`` before adding the terms, so a stepper sees each step.

    With ``create_graph`` the rule gets the nodes themselves (out = the node, inputs = its parents), so
    its arithmetic builds the gradient as a graph, which can be differentiated again. In a batch a
    parent holding one number (a parameter) receives the sum of its terms over the examples.
    """
    order = topological_order(root)
    for node in reversed(order):
        rule = node.primitive
        if rule is None:
            continue
        g = grads[node]                      # complete: every child of node came before it
        parents = node.parents
        try:
            if create_graph:
                terms = rule.vjp(g, node, *parents)
            elif is_array(g):
                import numpy as np
                with np.errstate(all="ignore"):  # a term that overflows is refused below, in words
                    terms = [t if not is_array(t) or is_array(p.data) else float(t.sum())
                             for p, t in zip(parents, rule.vjp(g, node.data, *[p.data for p in parents]),
                                             strict=True)]
            else:
                terms = rule.vjp(g, node.data, *[p.data for p in parents])
            pairs = list(zip(parents, terms, strict=True))   # a rule gives one term per input
        except RULE_ERRORS as e:
            raise rule_error(e, node, order) from None
        sums: dict = {}                      # the parents' gradients once the terms are added
        for p, t in pairs:
            before = sums[p] if p in sums else grads.get(p)
            sums[p] = t if before is None else before + t
        if not create_graph:                 # a graph's numbers are Values: finite when made
            _check_finite(node, g, parents, terms, sums, order)
        yield node, g, tuple(terms)
        grads.update(sums)


def finite(x: Any) -> bool:
    """Whether a number, or every number of a batch, is finite."""
    if is_array(x):
        import numpy as np
        return bool(np.isfinite(x).all())
    return not x - x


def _check_finite(node: Any, g: Any, parents: tuple, terms: Any, sums: dict, order: list) -> None:
    """FloatingPointError naming the node and its rule if a term or a parent's sum is not finite (the
    error carries ``.node``, ``.upstream`` and ``.term``: whether the rule's own term overflowed)."""
    if all(map(finite, terms)) and all(map(finite, sums.values())):
        return
    name = node.label or f"v{order.index(node)}"
    term = not all(map(finite, terms))
    inputs = ", ".join(shown(p.data) for p in parents)
    if term:
        what = (f"the rule of {node.op} at node {name} (inputs {inputs}, upstream {shown(g)}) gives a "
                f"term {', '.join(map(shown, terms))}: the derivative overflows a float (beyond about "
                "1.8e308), so it is not a finite number")
    else:
        p, total = next((p, t) for p, t in sums.items() if not finite(t))
        what = (f"the gradient of node {p.label or f'v{order.index(p)}'} adds up to {shown(total)} "
                f"with the term from node {name} ({node.op}): the sum overflows a float (beyond about "
                "1.8e308), so it is not a finite number")
    error = FloatingPointError(f"backward: {what}. Scale the inputs or the loss down, or use a stable "
                               "formulation")
    error.node, error.upstream, error.term = node, g, term
    raise error


def shown(x: Any) -> str:
    """A number for an error message; for a batch, its first entry that is not finite."""
    if is_array(x):
        import numpy as np
        bad = x[~np.isfinite(x)]
        return f"{bad[0]} at some examples" if len(bad) else "a batch"
    return f"{x:.6g}"


def gradients(root: Any, seed: Any = None, create_graph: bool = False) -> dict:
    """Every node's d root / d node from one backward pass (``seed`` is d root / d root: 1 by default,
    one 1 per example for a batched root). Nodes the pass does not reach are absent."""
    grads = {root: like(1.0, root.data) if seed is None else seed}
    for _ in backprop(root, grads, create_graph):
        pass
    return grads
