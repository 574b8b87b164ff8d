"""The reference backward pass: the chain rule as one loop over the table's rules, gradients kept in a
dict (no node is changed). The steppers, `grad`/`hessian`/`hvp` run it; the fast executors
(`autodiff.eager`, `autodiff.vectorized`) must give what it gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from autodiff.graph import RULE_ERRORS, rule_error, topological_order
from autodiff.primitives import is_array, like

__all__ = ["backprop", "gradients"]


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
            else:
                terms = [t if not is_array(t) or is_array(p.data) else float(t.sum())
                         for p, t in zip(parents, rule.vjp(g, node.data, *[p.data for p in parents]),
                                         strict=True)]
        except RULE_ERRORS as e:
            raise rule_error(e, node, order) from None
        yield node, g, tuple(terms)
        for p, t in zip(parents, terms, strict=True):
            grads[p] = grads[p] + t if p in grads else t


def gradients(root: Any, seed: Any = None, create_graph: bool = False) -> dict:
    """Every node's d root / d node from one backward pass (``seed`` is d root / d root: 1 by default,
    one 1 per example for a batched root). Nodes the pass does not reach are absent."""
    grads = {root: like(1.0, root.data) if seed is None else seed}
    for _ in backprop(root, grads, create_graph):
        pass
    return grads
