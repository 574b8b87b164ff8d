"""The `Value` node, the table of primitives with their derivative rules, and the backward pass.

A node is data, not behaviour: its number, its gradient, the primitive that made it and its parents.
Every derivative rule lives in `PRIMITIVES`; `backward()` is one loop over the reverse topological order.
"""

from __future__ import annotations

import gc
import math
import numbers
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache, partial
from itertools import filterfalse
from typing import Any

__all__ = [
    "Value", "Primitive", "PRIMITIVES", "BackwardStep", "topological_order", "backward_steps",
    "exp", "log", "tanh", "sigmoid", "relu", "no_cycle_gc", "neuron", "neurons",
]


# --------------------------------------------------------------------------------------------------
# Primitives: forward function, derivative rule, and how to show them.
# --------------------------------------------------------------------------------------------------

class Primitive:
    """One primitive operation: its forward function on plain numbers and its derivative rule.

    ``arity`` is the number of inputs, -1 for any number (n-ary).
    ``vjp(upstream, out, *inputs) -> tuple`` returns one term ``upstream * d out / d input`` per input.
    Rules use plain arithmetic (and the dispatching helpers below), so the same rule runs on floats for
    a fast first-order pass and on `Value`s to build the graph of a gradient.  ``consts`` are the op's
    constants (the exponent of ``x ** 3``); they are already bound into ``forward`` and ``vjp``.
    """

    __slots__ = ("name", "symbol", "arity", "forward", "vjp", "consts")

    def __init__(self, name: str, symbol: str, arity: int, forward: Callable, vjp: Callable,
                 consts: dict[str, float] | None = None):
        self.name, self.symbol, self.arity = name, symbol, arity
        self.forward, self.vjp = forward, vjp
        self.consts = consts or {}

    def __repr__(self) -> str:
        return f"Primitive({self.symbol!r})"


def _data(x):
    return x.data if x.__class__ is Value else x


# Dispatch between floats (checked first: the fast path), Values (a graph node, for second
# derivatives) and numpy arrays (batched evaluation: one number per example; numpy is imported only
# when an array is met, so `import autodiff` stays instant).

def _is_array(x) -> bool:
    return getattr(x, "ndim", 0) > 0


def _exp(x):
    """exp that dispatches: math on floats, a graph node on Values, numpy on arrays."""
    if x.__class__ is float:
        return math.exp(x)
    if x.__class__ is Value:
        return x.exp()
    return _exp_fwd(x)


def _log(x):
    if x.__class__ is float:
        return math.log(x)
    if x.__class__ is Value:
        return x.log()
    return _log_fwd(x)


def _step(x):
    """Heaviside step with H(0) = 0: the derivative of relu. It is piecewise constant, so it is a
    plain float even when x is a Value (its own derivative is 0 everywhere it exists); an array of
    0.0/1.0 for an array."""
    if x.__class__ is not float:
        x = _data(x)
        if _is_array(x):
            return (x > 0).astype(float)
    return 1.0 if x > 0 else 0.0


def batch_size(v: Value) -> int:
    """How many examples ``v`` holds (1 for a plain scalar node; see `autodiff.batched`)."""
    return int(v.data.shape[0]) if _is_array(v.data) else 1


def _first_bad(mask) -> str:
    """Which examples of a batch broke a rule, for error messages."""
    import numpy as np
    bad = np.flatnonzero(mask)
    return f"example {bad[0]}" + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")


def _array_forward(name: str, x, y=None):
    """The forward function of primitive ``name`` on numpy arrays, with the same errors as on floats."""
    import numpy as np
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.maximum(x, 0.0)
    with np.errstate(all="ignore"):  # overflow and domain are checked and reported below
        if name == "exp":
            out = np.exp(x)
            if not np.isfinite(out).all():
                raise OverflowError(f"exp: overflows a float at {_first_bad(~np.isfinite(out))} (the "
                                    "largest finite input is about 709.78); scale the input down")
            return out
        if name == "log":
            if (x <= 0).any():
                raise ValueError(f"log: undefined at {_first_bad(x <= 0)}; log needs inputs > 0")
            return np.log(x)
        if name == "sigmoid":  # the two branches of _sigmoid_fwd, so exp never overflows
            e = np.exp(-np.abs(x))
            return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        if name == "pow":
            if ((x == 0) & (y < 0)).any():
                raise ZeroDivisionError(f"pow: 0 ** negative divides by zero at "
                                        f"{_first_bad((x == 0) & (y < 0))}; make sure the base is not 0")
            if ((x < 0) & (y != np.floor(y))).any():
                raise ValueError(f"pow: negative base with a non-integer exponent at "
                                 f"{_first_bad((x < 0) & (y != np.floor(y)))}; use a positive base")
            out = x ** y
            if not np.isfinite(out).all():
                raise OverflowError(f"pow: overflows a float at {_first_bad(~np.isfinite(out))}")
            return out
    raise NotImplementedError(f"{name}: no array forward; evaluate this op one example at a time")


# Forward functions.  Each raises a clear error at the op that went out of its domain.

def _add(x: float, y: float) -> float:
    return x + y


def _mul(x: float, y: float) -> float:
    return x * y


def _exp_fwd(x: float) -> float:
    if x.__class__ is not float:
        return _array_forward("exp", x)
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp: exp({x!r}) overflows a float (the largest finite input is about "
                            "709.78); scale the input down or use a stable formulation") from None


def _log_fwd(x: float) -> float:
    if x.__class__ is not float:
        return _array_forward("log", x)
    if x <= 0:
        raise ValueError(f"log: log({x!r}) is undefined; log needs an input > 0")
    return math.log(x)


def _tanh_fwd(x: float) -> float:
    if x.__class__ is not float:
        return _array_forward("tanh", x)
    return math.tanh(x)  # stable for every finite x: saturates to ±1.0


def _sigmoid_fwd(x: float) -> float:
    # Two branches so that exp never sees a large positive argument: sigmoid(-1000) is 0.0, no overflow.
    if x.__class__ is not float:
        return _array_forward("sigmoid", x)
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _relu_fwd(x: float) -> float:
    if x.__class__ is not float:
        return _array_forward("relu", x)
    return x if x > 0 else 0.0


def _pow_fwd(x: float, y: float) -> float:
    if x.__class__ is not float or y.__class__ is not float:
        if _is_array(x) or _is_array(y):
            return _array_forward("pow", x, y)
    if x == 0 and y < 0:
        raise ZeroDivisionError(f"pow: {x!r} ** {y!r} divides by zero (this is also how `a / b` "
                                "computes b ** -1); make sure the divisor or base is not 0")
    if x < 0 and y != int(y):
        raise ValueError(f"pow: {x!r} ** {y!r} is not a real number (negative base with a "
                         "non-integer exponent); use a positive base or an integer exponent")
    try:
        return x ** y
    except OverflowError:
        raise OverflowError(f"pow: {x!r} ** {y!r} overflows a float") from None


# Derivative rules: (upstream, out, *inputs) -> one term per input.

def _add_vjp(g, out, x, y):
    return g, g                                   # d(x + y)/dx = 1, d/dy = 1


def _mul_vjp(g, out, x, y):
    return g * y, g * x                           # d(x y)/dx = y, d/dy = x


def _exp_vjp(g, out, x):
    return (g * out,)                             # d/dx e^x = e^x


def _log_vjp(g, out, x):
    return (g / x,)                               # d/dx log x = 1/x


def _tanh_vjp(g, out, x):
    return (g * (1 - out * out),)                 # d/dx tanh x = 1 - tanh(x)^2


def _sigmoid_vjp(g, out, x):
    return (g * (out * (1 - out)),)               # d/dx σ(x) = σ(x) (1 - σ(x))


def _relu_vjp(g, out, x):
    return (g * _step(x),)                        # d/dx relu x = 1 if x > 0 else 0 (also at 0)


def _pow_const_vjp(g, out, x, *, n):
    if n == 0:  # x^0 is constant: 0 everywhere, also at x = 0 where n x^(n-1) would divide by zero
        return (0.0 * g,)                         # (the third derivative of x^2 meets this at 0)
    return (g * (n * x ** (n - 1)),)              # d/dx x^n = n x^(n-1)


def _pow_vjp(g, out, x, y):
    # d/dx x^y = y x^(y-1);  d/dy x^y = x^y log x, which only exists for x > 0.  At x = 0 (y > 0) the
    # one-sided limit x^y log x -> 0 is used, as PyTorch does.
    xd = _data(x)
    if _is_array(xd):
        if (xd < 0).any():
            raise ValueError(f"pow: the derivative of x ** y with respect to y needs log of a negative "
                             f"base at {_first_bad(xd < 0)}; make the exponent a plain number")
        import numpy as np
        with np.errstate(divide="ignore"):
            dy = g * np.where(xd > 0, out * np.log(np.where(xd > 0, xd, 1.0)), 0.0)
    elif xd > 0:
        dy = g * (out * _log(x))
    elif xd == 0:
        dy = 0.0 * g
    else:
        raise ValueError(f"pow: the derivative of {xd!r} ** y with respect to the exponent y needs "
                         "log of a negative base; make the exponent a plain number, not a Value")
    return g * (y * x ** (y - 1)), dy


def _stacked(ws, xs):
    """For a batch: the weights as a vector and the inputs as one (n, N) matrix, when every weight is
    one number and the inputs are examples (arrays, or numbers shared by every example); else None."""
    import numpy as np
    try:
        w = np.array(ws, dtype=float)
    except (TypeError, ValueError):
        return None
    try:
        X = np.array(xs, dtype=float)             # the usual case: every input holds the batch
    except (TypeError, ValueError):
        X = np.stack(np.broadcast_arrays(*xs))    # some inputs are shared numbers
    return (w, X) if w.ndim == 1 and X.ndim == 2 else None


def _neuron_fwd(*inputs: float) -> float:
    # Same order of additions as w0*x0 + w1*x1 + ... + b built from binary nodes: bit-identical.
    n = len(inputs) // 2
    if inputs[n].__class__ is not float and (stacked := _stacked(inputs[:n], inputs[n:-1])):
        w, X = stacked
        return w @ X + inputs[-1]                 # a batch: one matrix product over the examples
    z = 0.0
    for w, x in zip(inputs[:n], inputs[n:2 * n], strict=True):
        z = z + w * x
    return z + inputs[-1]


def _neuron_vjp(g, out, *inputs):
    # z = Σ_k w_k x_k + b over inputs (w_1..w_n, x_1..x_n, b):  dz/dw_k = x_k,  dz/dx_k = w_k,  dz/db = 1
    n = len(inputs) // 2
    if _is_array(g) and (stacked := _stacked(inputs[:n], inputs[n:-1])):
        # A batch: each weight (one number) gets its contribution summed over the examples, Σ_i g_i x_ik,
        # all of them in one product; each input gets g w_k, one number per example.
        w, X = stacked
        import numpy as np
        b = inputs[-1]
        return (*(X @ g).tolist(), *np.multiply.outer(w, g), g if _is_array(b) else float(g.sum()))
    return (*[g * x for x in inputs[n:2 * n]], *[g * w for w in inputs[:n]], g)


def _like(g, x):
    """``g`` spread over every example of ``x`` (an array of g's when x is a batch, else g)."""
    if _is_array(x):
        import numpy as np
        return np.full(x.shape, g) if not _is_array(g) else g
    return g


def _examples_sum_fwd(x: float) -> float:
    return float(x.sum()) if _is_array(x) else x


def _examples_sum_vjp(g, out, x):
    return (_like(g, x),)                         # d/dx_i Σ_i x_i = 1 for every example i


PRIMITIVES: dict[str, Primitive] = {p.name: p for p in [
    Primitive("add", "+", 2, _add, _add_vjp),
    Primitive("mul", "×", 2, _mul, _mul_vjp),
    Primitive("pow", "**", 2, _pow_fwd, _pow_vjp),
    Primitive("exp", "exp", 1, _exp_fwd, _exp_vjp),
    Primitive("log", "log", 1, _log_fwd, _log_vjp),
    Primitive("tanh", "tanh", 1, _tanh_fwd, _tanh_vjp),
    Primitive("sigmoid", "σ", 1, _sigmoid_fwd, _sigmoid_vjp),
    Primitive("relu", "relu", 1, _relu_fwd, _relu_vjp),
    # n-ary: z = Σ_k w_k x_k + b as one node (a fused neuron), inputs (w_1..w_n, x_1..x_n, b)
    Primitive("neuron", "Σwx+b", -1, _neuron_fwd, _neuron_vjp),
    # the sum over the examples of a batch (see autodiff.batched); one example: the identity
    Primitive("examples_sum", "Σ examples", 1, _examples_sum_fwd, _examples_sum_vjp),
]}
_ADD, _MUL, _POW = PRIMITIVES["add"], PRIMITIVES["mul"], PRIMITIVES["pow"]
_NEURON, _RELU, _EXAMPLES_SUM = PRIMITIVES["neuron"], PRIMITIVES["relu"], PRIMITIVES["examples_sum"]


def _pow_const_fwd(x: float, *, n: float) -> float:
    return _pow_fwd(x, n)


@lru_cache(maxsize=256)
def pow_const(n: float) -> Primitive:
    """The primitive ``x ** n`` for a constant exponent n (a one-input node, shown as ``**n``)."""
    shown = int(n) if n == int(n) else n
    return Primitive("pow_const", f"**{shown}", 1, lambda x: _pow_const_fwd(x, n=n),
                     lambda g, out, x: _pow_const_vjp(g, out, x, n=n), {"n": n})


# --------------------------------------------------------------------------------------------------
# The node.
# --------------------------------------------------------------------------------------------------

_NARY = object()  # marks a node whose `_a` holds a tuple of any number of parents
_EMIT = object()  # in `topological_order`'s stack: "append the node below me to the order"
_NONE = object()  # "no second operand" in `apply` (None is not a valid operand either, but says less)


def _check_number(data: Any) -> float:
    if isinstance(data, bool) or not isinstance(data, numbers.Real):
        raise TypeError(f"Value needs a real number (int, float or numpy scalar), got "
                        f"{type(data).__name__} {data!r:.60}")
    x = float(data)
    if not math.isfinite(x):
        raise ValueError(f"Value needs a finite number, got {x!r}; check the computation that "
                         "produced it")
    return x


class Value:
    """A scalar node of a computation graph.

    ``data`` is the number, ``grad`` the derivative of the last ``backward()`` root with respect to it,
    ``op`` the name of the primitive that made it (``""`` for a leaf) and ``parents`` its operands in
    order, duplicates kept: ``(x * x).parents == (x, x)``.  Values hash and compare by identity.
    """

    # Two parent slots instead of a tuple: a binary node then costs ~128 bytes with its gradient
    # instead of ~176. An n-ary node keeps its tuple in `_a` and `_NARY` in `_b`.
    __slots__ = ("data", "_grad", "_op", "_a", "_b", "label")

    def __init__(self, data: float, label: str = ""):
        self.data = _check_number(data)
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, got {type(label).__name__} {label!r:.60}")
        self._grad = None
        self._op = None
        self._a = self._b = None
        self.label = label

    # ---- read-only views -----------------------------------------------------------------------
    @property
    def grad(self) -> float:
        """d root / d self from the backward passes that reached this node; 0.0 before any did."""
        g = self._grad
        return 0.0 if g is None else g

    @grad.setter
    def grad(self, value: float) -> None:
        self._grad = value

    @property
    def has_grad(self) -> bool:
        """True once a backward pass has reached this node (``grad`` is then computed, maybe 0)."""
        return self._grad is not None

    @property
    def op(self) -> str:
        return "" if self._op is None else self._op.name

    @property
    def primitive(self) -> Primitive | None:
        """The `Primitive` that made this node, None for a leaf."""
        return self._op

    @property
    def parents(self) -> tuple[Value, ...]:
        a, b = self._a, self._b
        if a is None:
            return ()
        if b is None:
            return (a,)
        if b is _NARY:
            return a
        return (a, b)

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        if _is_array(self.data) or _is_array(self.grad):  # a batched node: one number per example
            def show(x):
                return (f"[{len(x)} examples: {', '.join(f'{v:.4g}' for v in x[:3])}"
                        f"{', ...' if len(x) > 3 else ''}]") if _is_array(x) else f"{x:.6g}"
            return f"Value(data={show(self.data)}, grad={show(self.grad)}{label})"
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"

    def _repr_html_(self) -> str:
        # Jupyter shows this instead of the repr: label, op, data and grad in a small table.
        from html import escape

        if _is_array(self.data) or _is_array(self.grad):
            return f"<code>{escape(repr(self))}</code>"
        grad = f"{self.grad:.6g}" if self.has_grad else "not computed yet"
        cells = [escape(self.label) or "–", self.op or "leaf", f"{self.data:.6g}", grad]
        return ('<table style="font-family:monospace"><tr><th>Value</th><th>op</th><th>data</th>'
                "<th>grad</th></tr><tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr></table>")

    # ---- operators: one-liners over `apply` ----------------------------------------------------
    def __add__(self, other): return apply(_ADD, self, other)
    def __radd__(self, other): return apply(_ADD, other, self)
    def __mul__(self, other): return apply(_MUL, self, other)
    def __rmul__(self, other): return apply(_MUL, other, self)
    def __neg__(self): return apply(_MUL, self, -1.0)
    def __sub__(self, other): return self + (-other)
    def __rsub__(self, other): return other + (-self)
    def __truediv__(self, other):
        # A plain divisor becomes a constant node, so a zero divisor meets pow's clear error.
        return self * (other if other.__class__ is Value else Value(other)) ** -1

    def __rtruediv__(self, other): return other * self ** -1

    def __pow__(self, other):
        if other.__class__ is Value:
            return apply(_POW, self, other)
        return apply(pow_const(_check_number(other)), self)

    def __rpow__(self, other): return apply(_POW, other, self)

    def exp(self) -> Value: return apply(PRIMITIVES["exp"], self)
    def log(self) -> Value: return apply(PRIMITIVES["log"], self)
    def tanh(self) -> Value: return apply(PRIMITIVES["tanh"], self)
    def sigmoid(self) -> Value: return apply(PRIMITIVES["sigmoid"], self)
    def relu(self) -> Value: return apply(PRIMITIVES["relu"], self)

    # ---- the backward pass ---------------------------------------------------------------------
    def backward(self) -> None:
        """Seed d self / d self = 1 and apply the chain rule in reverse topological order.

        Leaf gradients accumulate across calls (call ``zero_grad()`` between steps, as in PyTorch);
        the gradients of interior nodes are recomputed from zero on every call.
        """
        with no_cycle_gc():  # the graph has no cycles: refcounting frees it, GC scans are pure cost
            for _ in _backprop(self, steps=False):
                pass

    def zero_grad(self) -> None:
        """Zero the gradient of every node of this node's graph."""
        for node in topological_order(self):
            node._grad = None


_new = Value.__new__


@contextmanager
def no_cycle_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector inside the block, restoring its prior state after.

    Graphs of `Value`s hold no reference cycles (no closures, parents point one way), so plain
    reference counting frees them; but building one allocates so many objects that the cyclic
    collector keeps rescanning the whole live graph (W1 in bench/: 3x slower forward). Wrap a
    training step in it: ``with no_cycle_gc(): loss = ...; loss.backward()``.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _nary_forward(prim: Primitive, args: tuple[Value, ...]):
    n = len(args) >> 1
    if prim is _NEURON and args[n].data.__class__ is float:  # _neuron_fwd without a list of numbers
        z = 0.0
        for w, x in zip(args[:n], args[n:-1], strict=True):
            z = z + w.data * x.data
        return z + args[-1].data
    return prim.forward(*[x.data for x in args])  # every other n-ary op, and a neuron over a batch


def apply(prim: Primitive, a: Value | float, b: Value | float = _NONE, *more: Value | float) -> Value:
    """The one entry point that makes a node: wrap constants, compute the forward value, link parents.

    ``apply(prim, x)``, ``apply(prim, x, y)`` or ``apply(prim, x, y, z, ...)``. The one- and two-operand
    cases (nearly every node) take no ``*args`` tuple or list: that is most of the cost of a node.
    """
    if a.__class__ is not Value:
        a = Value(a)
    out = _new(Value)
    if b is _NONE:
        out.data = prim.forward(a.data)
        out._a = a
        out._b = None
    elif not more:
        if b.__class__ is not Value:
            b = Value(b)
        # add and mul are most nodes; `+` and `*` are their forward functions, without the call.
        if prim is _ADD:
            out.data = a.data + b.data
        elif prim is _MUL:
            out.data = a.data * b.data
        else:
            out.data = prim.forward(a.data, b.data)
        out._a = a
        out._b = b
    else:
        args = (a, b, *more)
        try:
            out.data = _nary_forward(prim, args)
        except AttributeError:  # a plain number among the operands (it has no .data): wrap, retry
            args = tuple([x if x.__class__ is Value else Value(x) for x in args])
            out.data = _nary_forward(prim, args)
        out._a, out._b = args, _NARY
    out._grad = None
    out._op = prim
    out.label = ""
    return out


def _unary(prim: Primitive) -> Callable[[Value | float], Value | float]:
    def f(x):
        return apply(prim, x) if x.__class__ is Value else prim.forward(_check_number(x))
    f.__name__ = prim.name
    f.__doc__ = f"{prim.name} of a Value (a new node) or of a plain number (a float)."
    return f


def neuron(w: list[Value], x: list[Value | float], b: Value | float) -> Value:
    """z = Σ_k w_k x_k + b as one node (the fused neuron, primitive "neuron"), whose rule gives every
    input its term at once: dz/dw_k = x_k, dz/dx_k = w_k, dz/db = 1. Same value, to the bit, and same
    gradients as the graph ``w[0]*x[0] + ... + b`` of 2n binary nodes."""
    if len(w) != len(x) or not w:
        raise ValueError(f"neuron: {len(w)} weights but {len(x)} inputs; give one weight per input "
                         "(at least one)")
    return apply(_NEURON, *w, *x, b)


def _neuron_node(w: list[Value], xs: tuple[Value, ...], b: Value, z) -> Value:
    """The node `neuron(w, xs, b)` makes, its value ``z`` computed by the caller (`neurons`)."""
    node = _new(Value)
    node.data, node._grad, node._op, node.label = z, None, _NEURON, ""
    node._a, node._b = (*w, *xs, b), _NARY
    return node


def _layer_values(weights: list[list[Value]], xd: list, biases: list[Value]):
    """Every z of a layer at once: for one example the sums of `_neuron_fwd` (in its order, so to the
    bit), the inputs' numbers read once; over a batch the rows of one product Z = W X + b. None when a
    weight or bias is not a `Value` holding one number (then each neuron goes its own way)."""
    try:
        if all(d.__class__ is float for d in xd):
            values = []
            for row, b in zip(weights, biases, strict=True):
                z = 0.0
                for w, x in zip(row, xd, strict=True):
                    z = z + w.data * x
                values.append(z + b.data)
            return values
        import numpy as np
        stacked = _stacked([w.data for row in weights for w in row], xd)
        bias = np.array([b.data for b in biases], dtype=float)
    except (AttributeError, TypeError, ValueError):  # a plain number, or a weight holding a batch
        return None
    if stacked is None or bias.ndim != 1:
        return None
    w, X = stacked
    return w.reshape(len(weights), len(xd)) @ X + bias[:, None]


def neurons(weights: list[list[Value]], x: list[Value | float], biases: list[Value]) -> list[Value]:
    """``[neuron(w, x, b) for w, b in zip(weights, biases)]``: a layer of fused neurons reading the
    same inputs, the same nodes, made a layer at a time: over a batch (`autodiff.batched`) the layer's
    z's come from one matrix product instead of one per neuron."""
    if len(weights) != len(biases):
        raise ValueError(f"neurons: {len(weights)} weight rows but {len(biases)} biases; give one bias "
                         "per neuron")
    xs = tuple([v if v.__class__ is Value else Value(v) for v in x])
    values = None
    if xs and all(len(row) == len(xs) for row in weights):  # else `neuron` names the mismatch
        values = _layer_values(weights, [v.data for v in xs], biases)
    if values is None:
        return [neuron(w, xs, b) for w, b in zip(weights, biases, strict=True)]
    return [_neuron_node(w, xs, b, z) for w, b, z in zip(weights, biases, values, strict=True)]


exp, log, tanh, sigmoid, relu = (_unary(PRIMITIVES[n]) for n in ("exp", "log", "tanh", "sigmoid", "relu"))


# --------------------------------------------------------------------------------------------------
# Graph traversal and the backward loop.
# --------------------------------------------------------------------------------------------------

def topological_order(root: Value) -> list[Value]:
    """Every node of ``root``'s graph once, each parent before its child, ``root`` last.

    Iterative depth-first search visiting parents in operand order, so the order is deterministic
    and a chain of any depth works without touching the recursion limit.
    """
    if root.__class__ is not Value:
        raise TypeError(f"topological_order needs a Value, got {type(root).__name__}")
    return _walk(root)[0]


def _walk(root: Value) -> tuple[list[Value], bool]:
    """`topological_order`, and whether a leaf holds an array (a batched graph, autodiff.batched)."""
    batched = False
    order: list[Value] = []
    seen: set[Value] = set()
    # The stack holds nodes to expand, and `node, _EMIT` pairs: popping _EMIT appends the node below it,
    # after all its parents. No tuple per entry (this loop runs over every node of every backward
    # pass), and a leaf is appended at once.
    stack: list = [root]
    pop, push, mark, emit = stack.pop, stack.append, seen.add, order.append
    unseen = partial(filterfalse, seen.__contains__)
    while stack:
        node = pop()
        if node is _EMIT:
            emit(pop())
            continue
        if node in seen:
            continue
        mark(node)
        a = node._a
        if a is None:
            emit(node)
            if node.data.__class__ is not float:  # checked on leaves only: few, and enough
                batched = _is_array(node.data) or batched
            continue
        push(node)
        push(_EMIT)
        b = node._b
        if b is None:
            if a not in seen:
                push(a)
        elif b is _NARY:
            stack.extend(unseen(reversed(a)))  # in C: the parents not seen yet (a fused layer's
            # parameters and inputs are mostly seen already)
        else:
            if b not in seen:
                push(b)
            if a not in seen:
                push(a)
    return order, batched


class BackwardStep:
    """One step of the backward pass: a node passing its gradient on to its parents.

    ``contributions[i]`` is the term added to ``parents[i].grad`` (upstream × local derivative) and
    ``running[i]`` that parent's gradient right after it was added. A reused parent appears once per use.
    ``local[i]`` is d node / d parents[i]; ``names`` maps every node of the graph to the name ``str()``
    shows (its label, else ``v<topological position>``).
    """

    __slots__ = ("index", "total", "node", "op", "upstream", "parents", "local", "contributions",
                 "running", "names")

    def __init__(self, index, total, node, upstream, parents, local, contributions, running, names):
        self.index, self.total, self.node, self.op = index, total, node, node.op
        self.upstream, self.parents = upstream, parents
        self.local, self.contributions, self.running = local, contributions, running
        self.names = names

    def __str__(self) -> str:
        """A worked example: ``step 3/9  tanh: n.grad += (1 − o²) · o.grad = 0.5 · 1.0 → 0.5``."""
        from autodiff.steps import format_backward_step  # steps.py builds on this module
        return format_backward_step(self)

    def __repr__(self) -> str:
        return (f"BackwardStep({self.index}/{self.total} {self.op}: upstream={self.upstream!r}, "
                f"local={self.local!r}, contributions={self.contributions!r})")


def _backprop(root: Value, *, steps: bool) -> Iterator[BackwardStep]:
    """The backward pass. `Value.backward()` drains it with ``steps=False`` (it then yields nothing);
    `backward_steps` runs the very same loop with ``steps=True`` and yields one step per interior node."""
    if root.__class__ is not Value:
        raise TypeError(f"backward needs a Value, got {type(root).__name__}")
    order, batched = _walk(root)
    for node in order:
        # Interior gradients restart at 0; leaf gradients accumulate across calls.
        if node._op is not None or node._grad is None:
            node._grad = 0.0
    # d root / d root = 1, for each example of a batched root (so every rule sees a batch δ there)
    root._grad = root._grad + (_like(1.0, root.data) if batched else 1.0)
    if steps:
        from autodiff.steps import node_names  # steps.py builds on this module
        total, names = sum(1 for n in order if n._op is not None), node_names(order)
    index = 0
    # Batched graphs, outside the stepper: fused neurons that read the same inputs (a layer) wait and
    # pass their gradients on together, in two matrix products, just before one of their parents
    # comes up (see _flush_neurons); `waiting` holds those parents.
    groups: dict = {}
    waiting: set = set()
    if batched:
        from numpy import where
    for node in reversed(order):
        op = node._op
        if op is None:
            continue
        if batched and node in waiting:
            _flush_neurons(groups, waiting)
        g, out, a, b = node._grad, node.data, node._a, node._b
        if steps:
            parents = node.parents
            running = {p: p._grad for p in parents}
        if batched and (out.__class__ is not float or op is _EXAMPLES_SUM):
            # A node holding one number per example: a parent shared by every example (a parameter)
            # receives the sum of its per-example terms. A node holding one number has only
            # one-number parents (examples_sum aside), so it takes the float paths below.
            if not steps:
                if op is _NEURON:
                    n = len(a) >> 1
                    groups.setdefault((a[n], n), []).append(node)
                    waiting.update(a)
                    continue
                if op is _RELU:  # _relu_vjp on arrays, in one numpy call
                    _accumulate(a, where(a.data > 0, g, 0.0))
                    continue
            terms = _batched_terms(node, op, g, out)
        elif b is None:
            if not steps and op is _RELU:  # _relu_vjp inlined: micrograd's one nonlinearity
                if a.data > 0:
                    a._grad += g
                continue
            terms = op.vjp(g, out, a.data)
            a._grad += terms[0]
        elif not steps and op is _MUL:  # _mul_vjp and _add_vjp inlined: most nodes, no tuple, no call
            a._grad += g * b.data
            b._grad += g * a.data
            continue
        elif not steps and op is _ADD:
            a._grad += g
            b._grad += g
            continue
        elif not steps and op is _NEURON:  # _neuron_vjp inlined: dz/dw_k = x_k, dz/dx_k = w_k, dz/db = 1
            n = len(a) >> 1
            for w, x in zip(a[:n], a[n:-1]):  # noqa: B905 (equal lengths; strict costs here)
                w._grad += g * x.data
                x._grad += g * w.data
            a[-1]._grad += g
            continue
        elif b is _NARY:
            terms = op.vjp(g, out, *[p.data for p in a])
            for p, t in zip(a, terms, strict=True):
                p._grad += t
        else:
            terms = op.vjp(g, out, a.data, b.data)
            a._grad += terms[0]
            b._grad += terms[1]
        if steps:
            index += 1
            after = []
            for p, t in zip(parents, terms, strict=True):  # replays the accumulation above, in order
                running[p] += t
                after.append(running[p])
            local = op.vjp(1.0, out, *[p.data for p in parents])
            yield BackwardStep(index, total, node, g, parents, tuple(local), tuple(terms), tuple(after),
                               names)
    if groups:
        _flush_neurons(groups, waiting)


def _accumulate(p: Value, t):
    """Add the term ``t`` to ``p``'s gradient in a batched graph and return the term added: a parameter
    shared by every example receives the sum over the examples. Never in place, as a term may be
    another node's gradient array; which is also why a first term can be taken as it is."""
    if t.__class__ is not float and _is_array(t) and not _is_array(p.data):
        t = float(t.sum())
    pg = p._grad
    p._grad = t if pg.__class__ is float and pg == 0.0 else pg + t
    return t


def _batched_terms(node: Value, op: Primitive, g, out) -> list:
    """Apply ``node``'s rule in a batched graph, one parent at a time; returns the terms added."""
    parents = node.parents
    return [_accumulate(p, t) for p, t in zip(parents, op.vjp(g, out, *[p.data for p in parents]),
                                             strict=True)]


def _flush_neurons(groups: dict, waiting: set) -> None:
    """Backward of waiting batched fused neurons, a group (the neurons reading the same inputs, a
    layer) at a time: with G the gradients of the group's k neurons (k, N), W their weights (k, n) and
    X the inputs (n, N), the weights receive G Xᵀ (each summed over the examples), the inputs Wᵀ G and
    the biases G summed over the examples: the neuron rule, over the whole layer in two products.
    Empties ``groups`` and ``waiting`` (the parents of the waiting neurons)."""
    import numpy as np
    for (_, n), nodes in groups.items():
        xs = nodes[0]._a[n:-1]
        group = []
        for z in nodes:   # nearly always all of them: the same first input, the same inputs, a batch δ
            if z._a[n:-1] == xs and _is_array(z._grad):
                group.append(z)
            else:
                _batched_terms(z, z._op, z._grad, z.data)
        if not group:
            continue
        stacked = _stacked([w.data for z in group for w in z._a[:n]], [x.data for x in xs])
        if stacked is None or not all(z._a[-1].data.__class__ is float for z in group):
            for z in group:                               # weights or biases that are not one number
                _batched_terms(z, z._op, z._grad, z.data)
            continue
        w, X = stacked
        W = w.reshape(len(group), n)
        G = np.array([z._grad for z in group])            # (k, N): every neuron's δ per example
        for z, row in zip(group, (G @ X.T).tolist(), strict=True):
            for p, t in zip(z._a[:n], row, strict=True):
                p._grad += t
        for z, t in zip(group, G.sum(axis=1).tolist(), strict=True):
            z._a[-1]._grad += t
        for x, t in zip(xs, W.T @ G, strict=True):
            _accumulate(x, t)
    groups.clear()
    waiting.clear()


def backward_steps(root: Value) -> Iterator[BackwardStep]:
    """Run ``root.backward()`` one node at a time, yielding a `BackwardStep` for each interior node.

    This is the loop `Value.backward()` runs, so draining it leaves exactly the same gradients.
    """
    return _backprop(root, steps=True)
