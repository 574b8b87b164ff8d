"""Gradients as return values, and of any order: `grad` gives d output / d inputs without touching any
``.grad``; with ``create_graph=True`` the gradients are `Value`s, graphs that can be differentiated again.
`hessian` and `hvp` (Hessian-vector product) build on it, for scalar functions of a few scalars.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from autodiff.engine import Value, check_leaves, check_number, release_cycle_gc
from autodiff.graph import walk_leaves
from autodiff.primitives import quoted
from autodiff.reference import gradients

__all__ = ["grad", "hessian", "hvp"]


@contextmanager
def _backward_pass() -> Iterator[None]:
    """A backward pass ends the collector's graph-building hold, as ``backward()`` does: on entry (the
    graph is built) and on leaving, also by an exception, since the nodes built meanwhile (f's graph,
    a gradient graph) take it again. So the collector is left at the user's own threshold."""
    release_cycle_gc()
    try:
        yield
    finally:
        release_cycle_gc()


def _name(v: Value, i: int) -> str:
    return f"input {i} ({v.label!r}, data {v.data:.6g})" if v.label else f"input {i} (data {v.data:.6g})"


def grad(output: Value, inputs: Value | Sequence[Value], create_graph: bool = False,
         allow_unused: bool = True) -> float | Value | tuple[float | Value, ...]:
    """The gradients d output / d input for each of ``inputs``; no ``.grad`` anywhere is read or changed.

    ``inputs`` is one `Value` (one gradient is returned) or a sequence of them (a tuple, in order).
    Any node of the graph may be an input, not only a leaf.

    create_graph=False  each gradient is a float (the first-order pass, on numbers).
    create_graph=True   each gradient is a `Value` whose graph, built from the same rule table, reaches
                        back into ``output``'s graph, so ``grad(grad(y, x, create_graph=True), x)`` is
                        d²y/dx², and so on to any order.
    allow_unused        an input ``output`` does not depend on (it is not in its graph) gets 0: 0.0, or a
                        constant ``Value(0.0)`` with create_graph. False raises ValueError naming it
                        instead (PyTorch's default; PyTorch returns None where this returns 0).

    >>> x = Value(0.5); y = x.tanh()
    >>> dy = grad(y, x, create_graph=True)       # 1 - tanh(x)^2, a Value
    >>> grad(dy, x)                              # d²/dx² tanh x = -2 tanh x (1 - tanh(x)^2)
    -0.7268619813835873
    """
    for name, flag in (("create_graph", create_graph), ("allow_unused", allow_unused)):
        if flag not in (True, False):   # "no" would be taken as True
            raise TypeError(f"grad: {name} must be True or False, got {type(flag).__name__} {flag!r:.40}")
    with _backward_pass():
        return _grad(output, inputs, create_graph, allow_unused, "grad")


def _grad(output: Value, inputs: Value | Sequence[Value], create_graph: bool, allow_unused: bool,
          who: str) -> float | Value | tuple[float | Value, ...]:
    """`grad`, its errors beginning with ``who``: the function the user called (`hessian`, `hvp`)."""
    if output.__class__ is not Value:
        hint = (" (a float from grad(): pass create_graph=True to differentiate a gradient again)"
                if isinstance(output, float) else "")
        raise TypeError(f"{who}: output must be a Value, got {type(output).__name__} {output!r:.40}{hint}")
    single = inputs.__class__ is Value
    wrt = [inputs] if single else inputs
    if isinstance(wrt, (str, bytes)) or not isinstance(wrt, Sequence):
        raise TypeError(f"{who}: inputs must be a Value or a list/tuple of Values, got "
                        f"{type(inputs).__name__}")
    for i, v in enumerate(wrt):
        if v.__class__ is not Value:
            raise TypeError(f"{who}: inputs[{i}] is a {type(v).__name__}, not a Value; differentiate "
                            "with respect to the Value nodes the output was built from")
    order, leaves, batched = walk_leaves(output)
    check_leaves(order, leaves, who)   # a leaf set by hand is refused naming it, as backward() refuses it
    if batched:
        raise ValueError(f"{who}: this graph holds a batch (numpy arrays, from autodiff.batched); grad "
                         "works on one-example graphs. Build the graph for one example, or use backward()")
    # the reference loop; with create_graph its ops take the leaves as operands, which makes a number
    # set by hand a float (as any op does): put back what the user set, as every read-only pass leaves it
    held = [(x, x.data) for x in leaves if x.data.__class__ is not float] if create_graph else ()
    try:
        grads = gradients(output, Value(1.0) if create_graph else 1.0, create_graph)
    finally:
        for x, d in held:
            x.data = d
    result = []
    for i, v in enumerate(wrt):
        g = grads.get(v)
        if g is None:
            if not allow_unused:
                raise ValueError(f"{who}: the output does not depend on {_name(v, i)}: it is not in the "
                                 "output's graph. Pass allow_unused=True to get 0 for it")
            g = 0.0
        if create_graph:
            result.append(g if g.__class__ is Value else Value(g))
        else:
            result.append(float(g))
    return result[0] if single else tuple(result)


def _leaves(inputs: Sequence[Value | float], who: str) -> list[Value]:
    """Fresh leaves holding the inputs' numbers (and labels), so nothing of the caller's is touched."""
    if isinstance(inputs, (Value, str, bytes)) or not isinstance(inputs, Sequence):
        raise TypeError(f"{who}: inputs must be a list of numbers or Values, e.g. [1.0, 2.0], got "
                        f"{type(inputs).__name__}")
    if not inputs:
        raise ValueError(f"{who}: inputs is empty; give at least one number")
    return [_leaf(x, i, who) for i, x in enumerate(inputs)]


def _leaf(x: Value | float, i: int, who: str) -> Value:
    """A fresh leaf for ``inputs[i]``: a Value's number (one set by hand to a numpy scalar or a 0-d array
    read as a float, as backward() reads it) and label, or a plain number labelled ``x<i>``. What is not
    a finite real number is refused naming the input (TypeError or ValueError, as `Value` raises)."""
    data, label = (x.data, x.label) if x.__class__ is Value else (x, f"x{i}")
    if getattr(data, "ndim", None) == 0 and getattr(data, "dtype", None) is not None \
            and not isinstance(data, str) and data.dtype.kind in "biuf":
        data = data[()]   # a 0-d array of numbers: its one number (objects and np.str_ refused below)
    try:
        return Value(data, label)
    except (TypeError, ValueError) as e:
        held = f"the Value {label!r}" if x.__class__ is Value and label else "a Value" \
            if x.__class__ is Value else "a number"
        raise type(e)(f"{who}: inputs[{i}], {held}: {e}") from None


def _output(f: Callable[..., Value], xs: list[Value], who: str) -> Value | None:
    """f(*xs), checked: a Value, or None for a plain number (a constant function). A TypeError for an
    ``f`` that is not a function of ``len(xs)`` Values, before calling it; f's own errors pass through."""
    if not callable(f):
        raise TypeError(f"{who}: f must be a function of one Value per input, e.g. lambda x, y: x * y, "
                        f"got {type(f).__name__} {f!r:.40}")
    import inspect
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):   # a builtin without one: f's own error says it
        signature = None
    if signature is not None:
        try:
            signature.bind(*xs)
        except TypeError as e:
            raise TypeError(f"{who}: f is called with one Value per input ({len(xs)}), and it cannot "
                            f"take {len(xs)}: {e}; give f one parameter per input, or as many inputs "
                            "as f has parameters") from None
    out = f(*xs)
    if out.__class__ is Value:
        return out
    if isinstance(out, (int, float)) and not isinstance(out, bool):
        return None
    raise TypeError(f"{who}: f must return one Value (a scalar), got {type(out).__name__} {out!r:.40}")


def _direction(c: float, i: int) -> float:
    """``vector[i]`` of `hvp` as a float: a real number (a 0-d array of one too), else an error naming it."""
    if getattr(c, "ndim", None) == 0 and getattr(c, "dtype", None) is not None \
            and not isinstance(c, str) and c.dtype.kind in "iuf":
        c = c[()]
    advice = "vector holds one finite number per input, the direction v of H v (e.g. [1.0, 0.0])"
    try:
        return check_number(c)
    except TypeError:
        held = ": give its number, .data" if c.__class__ is Value else ""
        raise TypeError(f"hvp: vector[{i}] is {type(c).__name__} {c!r:.40}, not a real number{held}; "
                        f"{advice}") from None
    except ValueError:
        raise ValueError(f"hvp: vector[{i}] is {quoted(c, 40)}, not a finite number within the float range "
                         f"(about ±1.8e308); {advice}") from None


def hessian(f: Callable[..., Value], inputs: Sequence[Value | float]) -> list[list[float]]:
    """The matrix of second derivatives ``H[i][j]`` = ∂²f / ∂x_i ∂x_j at ``inputs``, as a list of rows.

    ``f`` takes one `Value` per input (``f(x, y)``) and returns one Value. It is called once, on fresh
    leaves holding the inputs' numbers; the gradient ∇f is built as a graph (``grad(..., create_graph=
    True)``), then each row is the gradient of one of its entries: n + 1 backward passes. The matrix is
    what those passes give, not symmetrised (it is symmetric up to rounding).
    """
    xs = _leaves(inputs, "hessian")
    with _backward_pass():
        out = _output(f, xs, "hessian")
        if out is None:
            return [[0.0] * len(xs) for _ in xs]
        first = _grad(out, xs, True, True, "hessian")
        return [list(_grad(g, xs, False, True, "hessian")) for g in first]


def hvp(f: Callable[..., Value], inputs: Sequence[Value | float], vector: Sequence[float]) -> list[float]:
    """The Hessian-vector product H v = ∇(∇f · v) at ``inputs``, without forming H: two backward passes.

    ``f`` as for `hessian`; ``vector`` holds one number per input. Returns a list of floats (PyTorch's
    ``hvp`` also returns f's value; here it is just H v).
    """
    xs = _leaves(inputs, "hvp")
    if isinstance(vector, (str, bytes)) or not isinstance(vector, Sequence) or len(vector) != len(xs):
        raise ValueError(f"hvp: vector must hold one number per input ({len(xs)}), got {vector!r:.60}")
    v = [_direction(c, i) for i, c in enumerate(vector)]
    with _backward_pass():
        out = _output(f, xs, "hvp")
        if out is None:
            return [0.0] * len(xs)
        first = _grad(out, xs, True, True, "hvp")
        directional = first[0] * v[0]
        for g, c in zip(first[1:], v[1:], strict=True):
            directional = directional + g * c
        return list(_grad(directional, xs, False, True, "hvp"))
