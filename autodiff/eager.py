"""The eager executor: the backward pass over a graph of one-number nodes, fast.

Its one contract: the gradients equal `autodiff.reference.gradients` bit for bit. It is that loop with
the commonest rules (add, mul, relu, the fused neuron) written inline and the gradients kept on the
nodes instead of in a dict. (One exception, for speed: the inline neuron adds w_k's and x_k's terms
pairwise, so a node that is both a neuron's weight w_i and its input x_j with j < i gets its two
terms in the other order: equal to rounding, not to the bit.)
"""

from __future__ import annotations

from autodiff.graph import NARY, RULE_ERRORS, rule_error
from autodiff.primitives import ADD, MUL, NEURON, RELU

__all__ = ["backward"]


def backward(order: list) -> None:
    """Set every node's ``_grad`` to d root / d node, ``order`` being the root's topological order."""
    for node in order:
        node._grad = 0.0
    order[-1]._grad = 1.0
    try:
        for node in reversed(order):
            op = node._op
            if op is None:
                continue
            g, a, b = node._grad, node._a, node._b
            if op is MUL:                             # mul's rule: g·y, g·x (checked first: most nodes)
                a._grad += g * b.data
                b._grad += g * a.data
            elif op is ADD:                           # add's rule: g, g
                # a parent with no term yet takes g itself, not a copy 0.0 + g: one float less per
                # node (a sum's gradients are mostly the same number; W3: 152 -> 128 B per op node)
                a._grad = a._grad + g if a._grad else g
                b._grad = b._grad + g if b._grad else g
            elif b is None:
                if op is RELU:                        # relu's rule: g if x > 0 else 0
                    if a.data > 0:
                        a._grad = a._grad + g if a._grad else g
                else:
                    (t,) = op.vjp(g, node.data, a.data)   # unpacked: a rule giving 2 terms is refused
                    a._grad += t
            elif b is NARY:
                if op is NEURON:                      # the neuron's rule: g·x_k, g·w_k, g
                    n = len(a) >> 1
                    for w, x in zip(a[:n], a[n:-1]):  # noqa: B905 (equal lengths; strict costs here)
                        w._grad += g * x.data
                        x._grad += g * w.data
                    b = a[-1]
                    b._grad = b._grad + g if b._grad else g
                else:
                    for p, t in zip(a, op.vjp(g, node.data, *[p.data for p in a]), strict=True):
                        p._grad += t
            else:
                ta, tb = op.vjp(g, node.data, a.data, b.data)
                a._grad += ta
                b._grad += tb
    except RULE_ERRORS as e:
        raise rule_error(e, node, order) from None
