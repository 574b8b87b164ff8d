"""The batched executor: the backward pass over a graph whose nodes hold one number per example.

Its one contract: the gradients equal `autodiff.reference.gradients` on the same graph, which are the
sums of the per-example reference runs (to rounding, 1e-12 relative). It adds speed only: relu in one
numpy call, and the fused neurons of a layer passing their gradients on in two matrix products.
"""

from __future__ import annotations

from autodiff.graph import RULE_ERRORS, rule_error
from autodiff.primitives import (
    NEURON,
    RELU,
    all_finite,
    blas_threads,
    is_array,
    like,
    stacked,
    sum_squares_scale,
)

__all__ = ["backward"]


def backward(order: list, leaves: list | None = None, held: list = ()) -> bool:
    """Set every node's ``_grad`` to d root / d node (summed over the examples for a node holding one
    number), ``order`` being the root's topological order and ``leaves`` its leaves (in that order, as
    `autodiff.graph.walk_leaves` gives them; found here when None). Returns whether every gradient is
    finite (False may be a false alarm, a check sum that overflowed: look closer then).

    ``held`` lists (leaf, what it held before) for the leaves that held a gradient: each ends with it
    added to this pass's (leaves accumulate, as `Value.backward` documents), the same sums, without a
    pass of their own over every node.
    """
    import numpy as np
    ndarray = np.ndarray
    for node in order:
        node._grad = 0.0
    root = order[-1]
    root._grad = like(1.0, root.data)                 # d root / d root = 1 for each example
    # Fused neurons reading the same inputs (a layer) wait and pass their gradients on together, just
    # before one of their parents comes up (see `_flush`); `waiting` holds those parents.
    groups: dict = {}
    waiting: set = set()
    # A flush whose inputs are relu nodes (the layer below) works out their terms in one numpy call:
    # relu node -> (the gradient the flush gave it, the term for its input), taken when the loop
    # reaches the node still holding that very gradient (no other child added to it).
    relu_terms: dict = {}
    # The finiteness check rides along: a node's gradient is complete when the loop reaches it (every
    # child came first), so the one-number gradients are summed as they come (a sum is finite only if
    # every term is) and a batch's are kept for one numpy call; the leaves' are complete at the end.
    check = 0.0
    arrays: list = []
    node = root
    try:
        for node in reversed(order):
            op = node._op
            if op is None:
                continue
            if node in waiting:
                _flush(groups, waiting, relu_terms)
            g, a = node._grad, node._a
            if g.__class__ is float:
                check += g
            else:
                arrays.append(g)
            if op is NEURON and (d := node.data).__class__ is ndarray and d.ndim:
                n = len(a) >> 1
                groups.setdefault((a[n], n), []).append(node)
                waiting.update(a)
            elif op is RELU and (d := a.data).__class__ is ndarray and d.ndim:  # in one numpy call
                pre = relu_terms.pop(node, None)
                _add(a, pre[1] if pre is not None and pre[0] is g else np.where(d > 0, g, 0.0))
            elif op is NEURON and g.__class__ is float:       # a neuron of one-number nodes (an L2 sum)
                n = len(a) >> 1
                for w, x in zip(a[:n], a[n:-1]):  # noqa: B905 (equal lengths; strict costs here)
                    w._grad = w._grad + g * x.data   # never `+=`: a gradient set by hand may be an array
                    x._grad = x._grad + g * w.data
                a[-1]._grad = a[-1]._grad + g
            # nn.l2's c Σ w²: ∂/∂w_k = 2c w_k, without the rule's tuple of terms: measured 40-90 µs (3-4%)
            # off the README's batched step, 6-7% off its backward (CPU time, alternating rounds)
            elif g.__class__ is float and (c := sum_squares_scale(op)) is not None:
                g = g * c   # the upstream times c first, as the rule does (exact for c = 1)
                for x in node.parents:   # one, two (a binary node) or more inputs
                    t = g * x.data   # t + t, x·x's two terms, as the rule (to the bit)
                    x._grad = x._grad + (t + t)
            else:
                _apply_rule(node)
        if groups:
            _flush(groups, waiting, relu_terms)
    except RULE_ERRORS as e:
        raise rule_error(e, node, order) from None
    for leaf, g in held:
        leaf._grad = g + leaf._grad
    if leaves is None:
        leaves = [node for node in order if node._op is None]
    for leaf in leaves:   # a plain loop: faster here than list comprehensions sorting them (measured)
        g = leaf._grad
        if g.__class__ is float:
            check += g
        else:
            arrays.append(g)   # a batch's inputs, or a gradient set by hand as an array
    if check - check:
        return False
    if not arrays:
        return True
    try:
        return bool(all_finite(np.concatenate(arrays, axis=None)))
    except ValueError:  # a numpy scalar among them (a gradient set by hand): hstack takes it
        return bool(all_finite(np.hstack(arrays)))


def _accumulate(p, t) -> None:
    """Add the term ``t`` to ``p``'s gradient (`_add`): a parameter shared by every example (one
    number) receives the sum over the examples."""
    if t.__class__ is not float and is_array(t) and not is_array(p.data):
        t = float(t.sum())
    _add(p, t)


def _add(p, t) -> bool:
    """Add the term ``t`` to ``p``'s gradient as it is (a batch's term for a one-number node goes
    through `_accumulate`, which sums it); True when it is the first. Never in place, as a term may be
    another node's gradient array; which is also why a first term can be taken as it is."""
    pg = p._grad
    if pg.__class__ is float and pg == 0.0:
        p._grad = t
        return True
    p._grad = pg + t
    return False


def _apply_rule(node) -> None:
    parents = node.parents
    for p, t in zip(parents, node._op.vjp(node._grad, node.data, *[p.data for p in parents]),
                    strict=True):
        _accumulate(p, t)


def _flush(groups: dict, waiting: set, relu_terms: dict) -> None:
    """Backward of the waiting fused neurons, a group (the neurons reading the same inputs, a layer) at
    a time: with G the gradients of the group's k neurons (k, N), W their weights (k, n) and X the
    inputs (n, N), the weights receive G Xᵀ, the inputs Wᵀ G and the biases G summed over the
    examples: the neuron rule over the whole layer in two products. When the inputs are relu nodes
    over batches, their terms for their own inputs come from one ``np.where`` over the layer, kept in
    ``relu_terms`` (see `backward`). Empties ``groups`` and ``waiting``."""
    import numpy as np
    ndarray = np.ndarray
    for (_, n), nodes in groups.items():
        xs = nodes[0]._a[n:-1]
        group = []
        for z in nodes:   # nearly always all of them: the same inputs and a batch δ
            if z._a[n:-1] == xs and is_array(z._grad):
                group.append(z)
            else:
                _apply_rule(z)
        if not group:
            continue
        s = stacked([w.data for z in group for w in z._a[:n]], [x.data for x in xs])
        if s is None or not all(z._a[-1].data.__class__ is float for z in group):
            for z in group:                               # weights or biases that are not one number
                _apply_rule(z)
            continue
        w, X = s
        W = w.reshape(len(group), n)
        G = np.array([z._grad for z in group])            # (k, N): every neuron's δ per example
        with blas_threads(G.size * n):
            GX, WG = G @ X.T, W.T @ G
        for z, row in zip(group, GX.tolist(), strict=True):
            for p, t in zip(z._a[:n], row, strict=True):
                p._grad = p._grad + t
        for z, t in zip(group, G.sum(axis=1).tolist(), strict=True):
            b = z._a[-1]
            b._grad = b._grad + t
        fresh = []                                        # the inputs this gradient is the first for
        for x, t in zip(xs, WG, strict=True):
            d = x.data
            if not (d.__class__ is ndarray and d.ndim):
                _accumulate(x, t)
            elif _add(x, t):                              # an input holding a batch: its term as it is
                fresh.append(x)
        if len(fresh) > 1 and all(x._op is RELU for x in fresh):
            try:                                          # relu's rule, g where its input > 0, at once
                Z = np.array([x._a.data for x in fresh], dtype=float)
            except (TypeError, ValueError):               # inputs of other shapes (set by hand)
                continue
            Gx = WG if len(fresh) == len(xs) else np.array([x._grad for x in fresh])
            if Z.shape == Gx.shape:
                for x, t in zip(fresh, np.where(Z > 0, Gx, 0.0), strict=True):
                    relu_terms[x] = (x._grad, t)
    groups.clear()
    waiting.clear()
