"""Graph traversal: every node of a graph once, each parent before its child (iterative, so a chain of
any depth works), and how a node stores its parents (`NARY`).
"""

from __future__ import annotations

from functools import partial
from inspect import signature
from itertools import filterfalse
from typing import Any

from autodiff.primitives import RULE_SIGNATURE, first_bad, is_array, like, rule_result_problem

__all__ = ["NARY", "topological_order", "walk", "walk_leaves", "rule_error", "RULE_ERRORS", "shown", "name",
           "with_node",
           "not_a_value"]

#: What the executors catch from a derivative rule and hand to `rule_error`: any error (a user's rule
#: may fail in any way: a domain error, a wrong signature, a wrong result); `rule_error` passes on
#: unchanged what is no fault of the rule on these numbers.
RULE_ERRORS = (Exception,)

#: In a node's second parent slot: "the first slot holds a tuple of any number of parents".
NARY = object()
_EMIT = object()  # in the walk's stack: "append the node below me to the order"


def topological_order(root: Any) -> list:
    """Every node of ``root``'s graph once, each parent before its child, ``root`` last.

    Iterative depth-first search visiting parents in operand order, so the order is deterministic
    and a chain of any depth works without touching the recursion limit. TypeError for a non-Value.
    """
    return walk(root)[0]


def walk(root: Any) -> tuple[list, bool]:
    """`topological_order`, and whether a leaf holds an array (a batched graph, `autodiff.batched`)."""
    order, _, batched = walk_leaves(root)
    return order, batched


def walk_leaves(root: Any) -> tuple[list, list, bool]:
    """`walk`, with the order's leaves apart, in the same order (what ``backward()`` accumulates into):
    (order, leaves, batched)."""
    if not hasattr(root.__class__, "apply"):
        raise TypeError(f"topological_order needs a Value, got {type(root).__name__}")
    order: list = []
    leaves: list = []
    seen: set = set()
    # The stack holds nodes to expand, and `node, _EMIT` pairs: popping _EMIT appends the node below it,
    # after all its parents. No tuple per entry (this loop runs on every backward pass). A parent that
    # is a leaf is appended at once instead of pushed, as the stack would have it next (most nodes
    # of a network, a weight times an input seen before, then take no push at all).
    stack: list = [root]
    pop, push, mark, emit, leaf = stack.pop, stack.append, seen.add, order.append, leaves.append
    unseen = partial(filterfalse, seen.__contains__)
    while stack:
        node = pop()
        if node is _EMIT:
            emit(pop())
            continue
        if node in seen:
            continue
        while True:  # expand `node`; then its first parent at once, if that comes next (no push, no pop)
            mark(node)
            a, b = node._a, node._b
            if a is None:
                emit(node)
                leaf(node)
                break
            if b is NARY:
                push(node)
                push(_EMIT)
                parents = unseen(a)  # in C, lazily: the parents not seen yet (duplicates drop as marked)
                for p in parents:   # the leading leaves at once (a layer's weights): they come next anyway
                    if p._a is not None:  # p's subgraph next, then the rest in order, then the node
                        stack.extend(reversed(list(parents)))
                        push(p)
                        break
                    mark(p)
                    emit(p)
                    leaf(p)
                break
            if a not in seen:
                if a._a is not None:  # a's subgraph first, then b's, then the node
                    push(node)
                    push(_EMIT)
                    if b is not None and b not in seen:
                        push(b)
                    node = a
                    continue
                mark(a)
                emit(a)
                leaf(a)
            if b is not None and b not in seen:
                if b._a is not None:
                    push(node)
                    push(_EMIT)
                    node = b
                    continue
                mark(b)
                emit(b)
                leaf(b)
            emit(node)
            break
    # Whether a batch: a leaf holds an array (an array enters a graph only through one). A graph of
    # floats reads each leaf once; from the first leaf that is not a float, `any` stops at an array
    # (a batch's inputs come early: W1's is the second leaf). A read-only walk: the leaves are left as
    # they are (`Value.backward` makes a float of a .data set by hand to a numpy scalar, an int, ...).
    for x in leaves:
        if x.data.__class__ is not float:
            return order, leaves, any(is_array(x.data) for x in leaves)
    return order, leaves, False


def rule_error(error: Exception, node: Any, order: list) -> Exception:
    """``error``, raised by ``node``'s derivative rule, again with the op, the node and its inputs'
    values in the message (same exception type, the node in ``.node``). Off the hot path: an executor
    calls it only once a rule has failed, and it may call the rule again to say what is wrong with it.
    Returned unchanged: MemoryError and RecursionError, and from a built-in primitive any error but an
    ArithmeticError or ValueError (a domain error): those are not a rule failing on its numbers.
    A batch of another size than a node was built for (a ``.data`` set by hand) is named where it is
    found, also when ``node`` is not the node whose rule failed (a leaf, or a node whose inputs match:
    a fused layer's rule runs after the loop that reached it)."""
    if isinstance(error, ValueError):   # a batch of another size than the node was built for?
        stale = node if _sizes_differ(node) else None
        if stale is None and (node.primitive is None or "broadcast" in str(error)):
            stale = next(filter(_sizes_differ, reversed(order)), None)   # numpy's words: look for it
        if stale is not None:
            return _stale_batch(stale, order)
    if node.primitive is None:   # no rule to name: the error as it is, said to come from backward
        return with_node(type(error), f"backward: a derivative rule failed: {error}", error, node)
    built_in = getattr(node.primitive.forward, "built_in", True)   # a user's forward says False
    if isinstance(error, MemoryError | RecursionError) or (
            built_in and not isinstance(error, ArithmeticError | ValueError)):
        return error
    inputs = ", ".join(shown(p.data) for p in node.parents)
    kind, reason = type(error), str(error)
    misuse = _misuse(node)
    if misuse:  # the rule's signature or the shape of its result, not the numbers
        kind, reason = misuse[0], f"{misuse[1]}: {RULE_SIGNATURE}"
    elif isinstance(error, OverflowError):
        # Python's own words ("(34, 'Numerical result out of range')", "math range error") say nothing;
        # and an overflow in backward is a gradient that is not finite, as the batched executor says.
        raw = (not error.args or isinstance(error.args[0], int)
               or reason in ("math range error", "int too large to convert to float"))
        kind = FloatingPointError
        reason = ("its derivative overflows a float (beyond about 1.8e308), so it is not a finite number"
                  + ("" if raw else f" ({reason})") + "; scale the inputs down")
    elif any(is_array(p.data) for p in node.parents) and isinstance(error, (TypeError, ValueError)) and (
            "ambiguous" in reason or "scalar" in reason or "ufunc" in reason):
        # numpy's own advice ("Use a.any() or a.all()") is not the fix: the rule must work per example
        reason = (f"{reason.split('. Use a.any()')[0]}. On a batch the rule gets arrays (one number per "
                  "example): write it with array arithmetic (np.where for a branch) or autodiff's functions "
                  "(autodiff.cos, autodiff.exp, ...), not the math module or a Python `if`")
    return with_node(kind, f"backward: the rule of {node.op} at node {name(node, order)} (inputs {inputs}) "
                            f"failed: {reason}", error, node)


def with_node(kind: type, message: str, error: Exception, node: Any) -> Exception:
    """``kind(message)`` with ``node`` in ``.node`` (``error`` itself if ``kind`` takes no message)."""
    try:
        wrapped = kind(message)
    except TypeError:  # an exception type that does not take one message: keep it as it is
        wrapped = error
    wrapped.node = node
    return wrapped


def _sizes_differ(node: Any) -> bool:
    """Whether the batches ``node`` and its inputs hold are not all of one shape (the node's own is
    the size it was built for; a sum over the examples holds one number)."""
    shapes = {p.data.shape for p in node.parents if is_array(p.data)}
    if is_array(node.data):
        shapes.add(node.data.shape)
    return len(shapes) > 1


def _stale_batch(node: Any, order: list) -> ValueError:
    """The error for ``node``, whose inputs hold batches of other sizes than it was built for: a
    ``.data`` set by hand to another batch after the graph was built."""
    held = ", ".join(f"{p.label or name(p, order)!r} holds shape {p.data.shape}"
                     for p in node.parents if is_array(p.data))
    built = f"; it was built for shape {node.data.shape}" if is_array(node.data) else ""
    error = ValueError(f"backward: the inputs of {node.op} at node {name(node, order)} hold batches of "
                       f"different sizes ({held}{built}): a .data was set to another batch after the "
                       "graph was built; give it as many examples as the others, or build the graph "
                       "again before backward()")
    error.node = node
    return error


def not_a_value(root: Any, said: str, call: str) -> str:
    """The error for a root that is not a Value, ``said`` (what the function needs, and got): for a list
    of Values (what a layer or an MLP returns, a list whatever its size) it says which one to pass, as
    in ``call`` (the function called on ``model(x)[0]``). The functions take one Value, never a list."""
    values = isinstance(root, (list, tuple)) and root and all(hasattr(v.__class__, "apply") for v in root)
    if not values:
        return said
    if len(root) == 1:
        return (f"{said} of one Value (a layer or an MLP returns a list, whatever its size): pass its "
                f"element, out[0], as in {call}")
    return (f"{said} of {len(root)} Values: pass one of them (out[k]), or a loss computed from them "
            f"(nn.squared_error(out, targets))")


def shown(x: Any) -> str:
    """A number for an error message (6 significant digits); for a batch, its first entry that is not
    finite (with its index), or its size if all are."""
    if is_array(x):
        import numpy as np
        bad = ~np.isfinite(x)
        return f"{x[bad][0]} at {first_bad(bad)}" if bad.any() else f"a batch of {len(x)}"
    return f"{x:.6g}" if isinstance(x, float | int) else repr(x)


def name(node: Any, order: list) -> str:
    """A node in an error message: its label, else ``v<its position in order>`` (as diagrams name it)."""
    return node.label or f"v{order.index(node)}"


def _misuse(node: Any) -> tuple[type, str] | None:
    """What is wrong with ``node``'s rule as a rule (its signature, or the shape of what it returns),
    found by calling it again on the node's numbers; None if it is a rule that failed on them."""
    parents = node.parents
    args = (like(1.0, node.data), node.data, *[p.data for p in parents])
    try:
        signature(node.primitive.vjp).bind(*args)
    except TypeError:
        return TypeError, f"it cannot be called as rule(upstream, out, *inputs) with {len(parents)} input(s)"
    except ValueError:  # a builtin without a signature: nothing to say
        pass
    try:
        terms = node.primitive.vjp(*args)
    except Exception:
        return None
    return rule_result_problem(terms, len(parents))

