"""The reference backward pass: the chain rule as one loop over the table's rules, gradients kept in a
dict (no node is changed). The steppers, `grad`/`hessian`/`hvp` run it; the fast executors
(`autodiff.eager`, `autodiff.vectorized`) must give what it gives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from autodiff.graph import RULE_ERRORS, name, rule_error, shown, walk, with_node
from autodiff.primitives import is_array, leaf_number, like, rule_result_problem

__all__ = ["backprop", "chain_rule", "gradients", "finite", "shown", "graph_rules_running",
           "floats_refused", "explained", "advice"]


def backprop(root: Any, grads: dict, create_graph: bool = False) -> Iterator[tuple[Any, Any, tuple]]:
    """Walk ``root``'s graph from the root back to the leaves, filling ``grads`` (node -> d root / d node).

    ``grads`` starts as ``{root: seed}``. Each interior node, in reverse topological order, hands one
    term per parent, ``rule(upstream, out, *inputs)``, to its parents; terms to one parent add up.
    Yields ``(node, upstream, terms)`` before adding the terms, so a stepper sees each step.

    With ``create_graph`` the rule gets the nodes themselves (out = the node, inputs = its parents), so
    its arithmetic builds the gradient as a graph, which can be differentiated again; a rule that turns
    a Value into a float there (``math.cos(x)``) is refused. In a batch a parent holding one number (a
    parameter) receives the sum of its terms over the examples. Raises what a rule raises, naming the
    op and the node, and FloatingPointError for a term or a sum that is not finite.
    """
    order, batched = walk(root)
    steps = chain_rule(order, grads, operands=nodes if create_graph else numbers)
    if create_graph:
        return refusing_floats(steps)
    return without_numpy_warnings(steps) if batched else steps


def chain_rule(order: list, grads: dict, operands: Callable) -> Iterator[tuple[Any, Any, tuple]]:
    """The loop of `backprop`: ``operands(node)`` is what the rule computes on, (out, *inputs)."""
    for node in reversed(order):                            # children before parents
        if node.primitive is None:                          # a leaf
            continue
        g = grads[node]                                     # d root / d node, complete by now
        try:
            terms = node.primitive.vjp(g, *operands(node))  # one term per input: g · ∂node/∂input
        except RULE_ERRORS as e:
            raise rule_error(e, node, order) from None      # names the op, the node and its inputs
        terms, sums = checked(node, g, terms, grads, order)  # per input; parents' grads + terms
        yield node, g, terms                                # a stepper shows this step
        grads.update(sums)                                  # a reused node adds up its terms


def numbers(node: Any) -> tuple:
    """What a rule computes on in a first-order pass: the numbers (out, *inputs) (arrays for a batch)."""
    return (node.data, *[leaf_number(p.data) for p in node.parents])   # a numpy scalar set by hand: a float


def nodes(node: Any) -> tuple:
    """What a rule computes on with ``create_graph``: the nodes, so its terms are graphs."""
    if node.primitive.once_differentiable:
        raise NotImplementedError(f"{node.op} is once differentiable (defined with once_differentiable="
                                  "True): its rule works on numbers only, so there are no second "
                                  "derivatives through it")
    return (node, *node.parents)


def checked(node: Any, g: Any, terms: Any, grads: dict, order: list) -> tuple[tuple, dict]:
    """``node``'s rule's ``terms`` as a tuple, one per parent (TypeError or ValueError if not; in a
    batch the terms to a parent holding one number, a parameter, summed over the examples), and each
    parent's gradient with its terms added (parent -> ``grads[parent] + term``, or the term if it has
    none yet). FloatingPointError if a term, or a parent's gradient once it is added, is not finite."""
    parents = node.parents
    problem = rule_result_problem(terms, len(parents))
    if problem:
        kind, what = problem
        raise rule_error(kind(what), node, order)
    if is_array(g):
        terms = [float(t.sum()) if is_array(t) and not is_array(p.data) else t
                 for p, t in zip(parents, terms, strict=True)]
    numbers = g.__class__ is float or is_array(g)          # not a graph (Values are finite)
    if numbers and not all(map(finite, terms)):
        _refuse_term(node, g, terms, order)
    sums: dict = {}
    for p, t in zip(parents, terms, strict=True):
        before = sums[p] if p in sums else grads.get(p)
        sums[p] = t if before is None else before + t
    if numbers and not all(map(finite, sums.values())):
        _refuse_sum(node, g, sums, order)
    return tuple(terms), sums


def without_numpy_warnings(steps: Iterator) -> Iterator:
    """``steps`` with numpy's warnings off while each step is computed (and on while the caller runs):
    a term that is not finite is refused by `checked`, in words, so a warning would only repeat it."""
    import numpy as np
    while True:
        with np.errstate(all="ignore"):
            step = next(steps, None)
        if step is None:
            return
        yield step


def refusing_floats(steps: Iterator) -> Iterator:
    """``steps`` with ``float(value)`` refused while each step is computed (see `graph_rules_running`):
    in a graph of the gradient, a rule that turns a Value into a float would cut it out of the graph,
    and the second derivative would silently be wrong."""
    while True:
        with floats_refused():
            step = next(steps, None)
        if step is None:
            return
        yield step


_state = threading.local()


@contextmanager
def floats_refused() -> Iterator[None]:
    """Inside the block, ``float(value)`` of a `autodiff.Value` raises TypeError (in this thread)."""
    _state.depth = graph_rules_running() + 1
    try:
        yield
    finally:
        _state.depth -= 1


def graph_rules_running() -> int:
    """How many passes with ``create_graph`` are running their rules in this thread (0 or more): while
    one is, `autodiff.Value` refuses ``float(value)``."""
    return getattr(_state, "depth", 0)


def finite(x: Any) -> bool:
    """Whether a number, or every number of a batch, is finite."""
    if is_array(x):
        import numpy as np
        return bool(np.isfinite(x).all())
    return not x - x


def _refuse_term(node: Any, g: Any, terms: Any, order: list) -> None:
    """FloatingPointError naming the node and its rule, whose term is not finite (the error carries
    ``.node``, ``.upstream`` and ``.term`` = True). NaN (0/0, inf - inf, a function outside its domain)
    is told from an overflow."""
    inputs = ", ".join(shown(p.data) for p in node.parents)
    bad = next(t for t in terms if not finite(t))
    _raise(node, g, True, f"the rule of {node.op} at node {name(node, order)} (inputs {inputs}, upstream "
                          f"{shown(g)}) gives a term {shown(bad)}: {_why(bad, 'the derivative')}")


def _refuse_sum(node: Any, g: Any, sums: dict, order: list) -> None:
    """FloatingPointError naming the parent whose gradient, once ``node``'s term is added, is not finite
    (``.term`` = False: each term was finite)."""
    p, total = next((p, t) for p, t in sums.items() if not finite(t))
    _raise(node, g, False, f"the gradient of node {name(p, order)} adds up to {shown(total)} with the term "
                           f"from node {name(node, order)} ({node.op}): {_why(total, 'the sum')}")


def _raise(node: Any, g: Any, term: bool, what: str) -> None:
    error = FloatingPointError(f"backward: {what}")
    error.node, error.upstream, error.term = node, g, term
    raise error


def _why(x: Any, what: str) -> str:
    """Why a number that is not finite is so, and what to do (`advice`): NaN is not an overflow."""
    if _nan(x):
        return f"{what} is not a number; {advice(x)}"
    return f"{what} overflows a float (beyond about 1.8e308), so it is not a finite number. {advice(x)}"


def advice(x: Any) -> str:
    """What to do about a number (or a batch) that is not finite: NaN is not an overflow."""
    if _nan(x):
        return ("check the rule and the inputs it is given (nan: 0/0, inf − inf, or a function outside its "
                "domain)")
    return "Scale the inputs or the loss down, or use a stable formulation"


def _nan(x: Any) -> bool:
    if is_array(x):
        import numpy as np
        return bool(np.isnan(x).any())
    return x != x


def gradients(root: Any, seed: Any = None, create_graph: bool = False) -> dict:
    """Every node's d root / d node from one backward pass (``seed`` is d root / d root: 1 by default,
    one 1 per example for a batched root). Nodes the pass does not reach are absent."""
    grads = {root: like(1.0, root.data) if seed is None else seed}
    for _ in backprop(root, grads, create_graph):
        pass
    return grads


def explained(error: Exception, root: Any, where: str = "compiled backward") -> Exception:
    """The error the reference loop raises on ``root``'s graph (naming the op, the node and its
    inputs), for an executor whose own ``error`` cannot name them (a compiled program), its message
    starting ``where:`` (the function the user called) rather than ``backward:``; else ``error``.
    Off the hot path: only called once something has failed."""
    try:
        gradients(root)
    except Exception as named:
        return renamed(named, where)
    return error


def renamed(error: Exception, where: str) -> Exception:
    """A rule's error as the executors word it (`autodiff.graph.rule_error`: ``backward: the rule of
    ...``, its node in ``.node``), its message starting ``where:`` instead; any other ``error`` as it is."""
    text = str(error)
    if text.startswith("backward: ") and hasattr(error, "node"):
        return with_node(type(error), f"{where}: {text.removeprefix('backward: ')}", error, error.node)
    return error
