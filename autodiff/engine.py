"""The `Value` node and the one place nodes are made (`apply`), and `Value.backward()`, which runs
the pass on the executor that fits the graph (`autodiff.eager` or `autodiff.vectorized`; both equal
`autodiff.reference`). The primitives and their rules are in `autodiff.primitives`.
"""

from __future__ import annotations

import gc
import math
import numbers
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import compress, repeat
from operator import is_, not_
from typing import Any

from autodiff import eager, vectorized
from autodiff.graph import NARY, topological_order, walk_leaves
from autodiff.graph import name as _name
from autodiff.graph import shown as _shown
from autodiff.primitives import (
    ABS,
    ADD,
    COS,
    EXAMPLES_SUM,
    EXP,
    GELU,
    LOG,
    MAXIMUM,
    MINIMUM,
    MUL,
    NEURON,
    POW,
    PRIMITIVES,
    RELU,
    SIGMOID,
    SIN,
    SOFTPLUS,
    SQRT,
    TANH,
    Data,
    Primitive,
    all_finite,
    as_float_data,
    beyond_floats,
    blas_threads,
    elu_op,
    is_array,
    leaky_relu_op,
    like,
    pow_const,
    quoted,
    stacked,
)
from autodiff.reference import advice as _advice
from autodiff.reference import backprop, graph_rules_running

__all__ = [
    "Value", "Primitive", "PRIMITIVES", "apply", "topological_order", "check_number", "array_leaf",
    "batch_size", "exp", "log", "tanh", "sigmoid", "relu", "no_cycle_gc", "neuron", "neurons",
    "sqrt", "abs", "sin", "cos", "softplus", "leaky_relu", "elu", "gelu", "maximum", "minimum", "no_grad",
    "is_grad_enabled", "detect_anomaly", "neuron_chain", "neuron_chains", "free_iteratively",
    "zero_grads", "stored_grads", "input_label", "is_constant_label", "relus", "refused_batch",
    "beyond_floats",
]

_NONE = object()  # "no second operand" in `apply` (None is not a valid operand either, but says less)
# A leaf has no parents: its second parent slot tells how it came to hold a batch. `_BATCH`: made holding
# one (`array_leaf`: `batch`, `batch_columns`, `detach`; an op's result under `no_grad`), so every node
# made from it holds a batch. `_BATCH_BY_HAND`: set by hand to a batch that an op then read (`_batches_ok`);
# nodes made from it before may hold one number. None: no op read a batch from it, so every node made
# from it was made from one number. `_check_leaves` tells them apart without walking the graph's edges.
_BATCH, _BATCH_BY_HAND = object(), object()


def check_number(data: Any) -> float:
    """``data`` as a float: TypeError for anything but a real number (`numbers.Real`, so a Fraction is
    one and a Decimal is not; a bool is refused), ValueError for inf, NaN or a number beyond the floats."""
    if isinstance(data, bool) or not isinstance(data, numbers.Real):
        raise TypeError(f"Value needs a real number (int, float, numpy scalar or another numbers.Real such "
                        f"as a Fraction; not a bool), got "
                        f"{type(data).__name__} {data!r:.60}")
    try:
        x = float(data)
    except OverflowError:  # an int beyond the floats
        raise ValueError(f"Value needs a number within the float range (about ±1.8e308), got "
                         f"{beyond_floats(data)}; scale it down") from None
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
    # instead of ~176. An n-ary node keeps its tuple in `_a` and `NARY` in `_b`.
    __slots__ = ("data", "_grad", "_op", "_a", "_b", "label")

    def __init__(self, data: float, label: str = ""):
        self.data = check_number(data)
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, got {type(label).__name__} {label!r:.60}")
        self._grad = None
        self._op = None
        self._a = self._b = None
        self.label = label

    # ---- read-only views -----------------------------------------------------------------------
    @property
    def grad(self) -> Data:
        """d root / d self from the backward passes that reached this node; 0.0 before any did."""
        g = self._grad
        return 0.0 if g is None else g

    @grad.setter
    def grad(self, value: Data) -> None:
        if value.__class__ is not float:   # checked by the next backward pass (`grads_set_by_hand`)
            _grads_by_hand[0] += 1
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
        if b is NARY:
            return a
        return (a, b)

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        if is_array(self.data) or is_array(self.grad):  # a batched node: one number per example
            def show(x):
                return (f"[{len(x)} examples: {', '.join(f'{v:.4g}' for v in x[:3])}"
                        f"{', ...' if len(x) > 3 else ''}]") if is_array(x) else f"{x:.6g}"
            return f"Value(data={show(self.data)}, grad={show(self.grad)}{label})"
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"

    def _repr_html_(self) -> str:
        # Jupyter shows this instead of the repr: label, op, data and grad in a small table.
        from html import escape

        if is_array(self.data) or is_array(self.grad):
            return f"<code>{escape(repr(self))}</code>"
        grad = f"{self.grad:.6g}" if self.has_grad else "not computed yet"
        cells = [escape(self.label) or "–", self.op or "leaf", f"{self.data:.6g}", grad]
        return ('<table style="font-family:monospace"><tr><th>Value</th><th>op</th><th>data</th>'
                "<th>grad</th></tr><tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr></table>")

    # ---- operators: one-liners over `apply` ----------------------------------------------------
    def __add__(self, other): return apply(ADD, self, other)
    def __radd__(self, other): return apply(ADD, other, self)
    def __mul__(self, other): return apply(MUL, self, other)
    def __rmul__(self, other): return apply(MUL, other, self)
    def __neg__(self): return apply(MUL, self, -1.0)
    def __sub__(self, other): return self + (-other)
    def __rsub__(self, other): return other + (-self)
    def __truediv__(self, other):
        # A plain divisor becomes a constant node, so a zero divisor meets pow's clear error.
        return self * (other if other.__class__ is Value else Value(other)) ** -1

    def __rtruediv__(self, other): return other * self ** -1

    def __pow__(self, other):
        if other.__class__ is Value:
            return apply(POW, self, other)
        return apply(pow_const(check_number(other)), self)

    def __rpow__(self, other): return apply(POW, other, self)

    def exp(self) -> Value: return apply(EXP, self)
    def log(self) -> Value: return apply(LOG, self)
    def tanh(self) -> Value: return apply(TANH, self)
    def sigmoid(self) -> Value: return apply(SIGMOID, self)
    def relu(self) -> Value: return apply(RELU, self)
    def sqrt(self) -> Value: return apply(SQRT, self)
    def abs(self) -> Value: return apply(ABS, self)
    def sin(self) -> Value: return apply(SIN, self)
    def cos(self) -> Value: return apply(COS, self)
    def softplus(self) -> Value: return apply(SOFTPLUS, self)
    def gelu(self) -> Value: return apply(GELU, self)
    def leaky_relu(self, slope: float = 0.01) -> Value: return apply(leaky_relu_op(check_number(slope)), self)
    def elu(self, alpha: float = 1.0) -> Value: return apply(elu_op(check_number(alpha)), self)
    def maximum(self, other: Value | float) -> Value: return apply(MAXIMUM, self, other)
    def minimum(self, other: Value | float) -> Value: return apply(MINIMUM, self, other)

    # ---- Python habits, as a one-element torch.Tensor behaves -----------------------------------
    def __abs__(self) -> Value: return apply(ABS, self)
    def __pos__(self) -> Value: return self

    def item(self) -> float:
        """The number (one example's: TypeError for a batched node, which holds several)."""
        if is_array(self.data):
            raise TypeError(f"item(): this node holds a batch of {len(self.data)} numbers, not one; read "
                            "one example with autodiff.batched.example(v, i)")
        return self.data

    def __float__(self) -> float:
        if graph_rules_running():  # math.cos(x) in a rule would cut x out of the gradient's graph
            raise TypeError("float(Value) inside a derivative rule computing on Values (create_graph, "
                            "hessian): the term would lose its dependence on this node and the second "
                            "derivative would silently be wrong; write the rule with autodiff's functions "
                            "(autodiff.cos(x), x.exp(), x ** 2), or define the primitive with "
                            "once_differentiable=True")
        return self.item()

    def __int__(self) -> int: return int(self.item())
    def __round__(self, ndigits: int | None = None) -> float: return round(self.item(), ndigits)
    def __format__(self, spec: str) -> str: return format(self.item(), spec) if spec else repr(self)
    def __bool__(self) -> bool: return self.item() != 0
    # Ordering by value, so max(a, b), sorted() and `if loss < best` work; == stays identity (Values
    # key dicts and sets), as documented.
    def __lt__(self, other) -> bool: return self.item() < _number_of(other)
    def __le__(self, other) -> bool: return self.item() <= _number_of(other)
    def __gt__(self, other) -> bool: return self.item() > _number_of(other)
    def __ge__(self, other) -> bool: return self.item() >= _number_of(other)
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def detach(self) -> Value:
        """A new leaf holding the same number (and label): no parents, so no gradient flows back."""
        return array_leaf(self.data, self.label) if is_array(self.data) else Value(self.data, self.label)

    # ---- the backward pass ---------------------------------------------------------------------
    def backward(self) -> None:
        """Seed d self / d self = 1 and apply the chain rule in reverse topological order.

        Leaf gradients accumulate across calls (call ``zero_grad()`` between steps, as in PyTorch):
        each leaf gets this pass's gradient added to what it held; the gradients of interior nodes are
        this pass's. If a rule raises midway, every ``.grad`` is left as it was before the call.
        """
        if self.__class__ is not Value:
            raise TypeError(f"backward needs a Value, got {type(self).__name__}")
        release_cycle_gc()  # the graph is built: the collector's threshold back (this pass pauses it)
        order, leaves, batched = walk_leaves(self)
        # One pass over the leaves: the floats of those made holding one (a leaf made as a batch holding
        # a float was set by hand to one); what is left is a batch's inputs or set by hand.
        floats = [d for x in leaves if (d := x.data).__class__ is float and x._b is None]
        if len(floats) < len(leaves):
            _check_leaves(_odd(leaves), order)
        total = sum(floats)   # not finite if a leaf holds NaN or inf (or, a false alarm, if it overflows)
        if total - total:
            _refuse_not_finite(leaves, order)
        # List comprehensions, not map(attrgetter): CPython 3.11+ reads a slot in one specialised
        # instruction, where attrgetter looks it up on the type each time (3x slower, measured).
        before = [node._grad for node in order]
        try:
            with no_cycle_gc():  # the graph has no cycles: refcounting frees it, GC scans are pure cost
                if batched:
                    _backward_batched(order, before, leaves)
                else:
                    held = _held(leaves, order)
                    eager.backward(order)
                    if not _all_finite([node._grad for node in order]):
                        _check_gradients(order)
                    _add_held(held, order)
        except BaseException:
            for node, g in zip(order, before, strict=True):
                node._grad = g
            raise

    def zero_grad(self) -> None:
        """Zero the gradient of every node of this node's graph."""
        for node in topological_order(self):
            node._grad = None


_grads_by_hand = [0]   # how many .grad were set to what is not a float (`grads_set_by_hand`)


def grads_set_by_hand() -> int:
    """How many times a ``.grad`` has been set (``v.grad = ...``) to what is not a float, in this
    process: a compiled program that reads its leaves' gradients as floats without looking at each
    (a layer program's 300-odd parameters) checks them as `Value.backward` does when this changed."""
    return _grads_by_hand[0]


def input_label(k: int) -> str:
    """The label of the leaf made from the plain number at position ``k`` of a model's input (``x.0``,
    ``x.1``, ...: `nn` wraps a list of numbers so): a constant, like an operand the engine wraps."""
    return f"x.{k}"


def is_constant_label(label: str) -> bool:
    """Whether ``label`` is that of a leaf made from a plain number: none (an operand `apply` wrapped)
    or an `input_label`. `autodiff.compile` compares such leaves by value when a graph is rebuilt."""
    k = label[2:]
    return not label or label[:2] == "x." and k.isascii() and k.isdigit()


def zero_grads(params: Iterable[Value]) -> None:
    """Set each Value's gradient in ``params`` to 0.0, as ``p.grad = 0.0`` would: what optimizers'
    ``zero_grad`` runs, about a quarter of the time of the property's setter (measured on W1's 337)."""
    for p in params:
        p._grad = 0.0


def stored_grads(params: Iterable[Value]) -> list[Any]:
    """A list of the Values' gradients as stored: as ``p.grad`` reads them, except None for a Value
    no backward pass has reached (``.grad`` reads 0.0 there; ``numpy.fromiter`` makes it NaN, so look
    again through ``.grad`` where one is). For reading many at once: ``numpy.fromiter`` over it takes
    about half the time it takes over the ``.grad`` property. A list comprehension, not
    ``map(attrgetter)``: CPython 3.11+ reads a slot in one specialised instruction (about 0.6 of the
    time of the map, side by side under ``numpy.fromiter`` on a 353-parameter MLP)."""
    return [p._grad for p in params]


_new = Value.__new__


def _backward_batched(order: list[Value], before: list, leaves: list[Value]) -> None:
    """The batched pass (`autodiff.vectorized`): the executor adds what the leaves held and checks that
    every gradient is finite as it goes, so a training step pays no pass of its own for either (issue
    12). If one is not (or a check sum overflowed), the pass runs again, the gradients are checked
    before and after the held ones are added, and the checks name the node."""
    import numpy as np
    held = _held(leaves, order)
    with np.errstate(all="ignore"):  # what overflows is refused below, in words
        if vectorized.backward(order, leaves, held):
            return
        for node, g in zip(order, before, strict=True):
            node._grad = g
        vectorized.backward(order)
        if not _all_finite([node._grad for node in order]):
            _check_gradients(order)
        _add_held(held, order)


def check_leaves(order: list[Value], leaves: list[Value], where: str = "backward") -> None:
    """Refuse, naming the Value, a leaf of a built graph whose ``.data`` was set by hand to what the
    graph cannot run on: what `Value.backward` checks before its pass (`_check_leaves`: a type, a batch
    of bools or of another size, a batch on a leaf that held one number, NaN in a batch) and a leaf
    holding NaN or inf in one number (which backward names after its pass, if a gradient came out not
    finite). For the passes that only read (`autodiff.grad`, the steppers, a page): ``order`` and
    ``leaves`` as `autodiff.graph.walk_leaves` gives them; ``where`` (the function the user called)
    begins each message. TypeError or ValueError, as backward's. No ``.data`` is written: a numpy
    scalar or an int array set by hand stays the very object it was (these passes read it through
    `leaf_number`; backward stores it as a float)."""
    odd = _odd(leaves)
    if odd:
        _check_leaves(odd, order, where, write=False)
    _refuse_not_finite(leaves, order, where)


def _odd(leaves: list[Value]) -> list[Value]:
    """The leaves `_check_leaves` looks at: those not holding a float, and those made holding a batch."""
    return [x for x in leaves if x.data.__class__ is not float or x._b is not None]


def _refuse_not_finite(leaves: list[Value], order: list[Value], where: str = "backward") -> None:
    """Raise naming the first of ``leaves`` that holds NaN or inf (set by hand)."""
    leaf = next((n for n in leaves if not _finite(n.data)), None)
    if leaf is not None:
        raise _about(leaf, ValueError(
            f"{where}: {_who(leaf, order)} holds {_shown(leaf.data)}, not a finite number; a Value holds "
            "a finite number: set .data to one"))


def _check_leaves(odd: list[Value], order: list[Value], where: str = "backward",
                  write: bool = True) -> None:
    """What the leaves ``odd`` of ``order`` (those not holding a float) hold, before a backward pass.
    A number set by hand of another type (a numpy scalar, a 0-d array of numbers, an int) is made a
    float, as ``Value()`` stores it; anything else that is not a batch is refused (`as_float_data`). A
    batch must be a 1-D numpy array of floats (any float dtype, as `apply` takes), finite, of the size
    of the batches it meets, which the graph's nodes hold since it was built, on a leaf that held a
    batch when they were made (a leaf made holding one number and set by hand to a batch is refused:
    the nodes made from its number would give wrong gradients). TypeError for a dtype or type,
    ValueError for a shape, a size or NaN/inf; each names the leaf (``.node``), what it holds, what was
    expected and what to do. (A leaf holding NaN or inf in one number is named after the pass, by
    `_check_gradients`, if a gradient comes out that is not finite: no check on the eager path.)
    A 1-D array of ints (not bools) or of floats other than float64 (float32, float16, longdouble) is
    made a new float64 array, as an int is made a float, so that the pass computes in float64. ``where``
    (the function the user called) begins each message. ``write=False`` (a pass that only reads):
    the same checks, and no ``.data`` is made a float."""
    arrays = [x for x in odd if is_array(x.data)]
    for leaf in odd:
        if leaf._b is not None and not is_array(leaf.data):
            _as_float_data([leaf], order, where, False)   # what is not a number is refused in its words
            _refuse_one_number(leaf, order, where)
    if len(arrays) < len(odd):   # numbers set by hand (a 0-d array is one: `is_array` is False)
        _as_float_data([x for x in odd if not is_array(x.data)], order, where, write)
    if not arrays:
        return
    import numpy as np
    ndarray = np.ndarray
    for leaf in arrays:
        d = leaf.data
        if d.__class__ is not ndarray or d.dtype.char != "d" or d.ndim != 1:   # "d": float64
            if d.__class__ is ndarray and d.dtype.kind in "iuf" and d.ndim == 1:
                if write:
                    leaf.data = d.astype(float)   # a new array: the user's array is not changed
            else:
                _refuse_kind(leaf, order, where)
    if not all_finite(np.concatenate([x.data for x in arrays])):   # one call for every batch
        leaf = next(x for x in arrays if not all_finite(x.data))
        raise _about(leaf, ValueError(
            f"{where}: {_who(leaf, order)} holds {_shown(leaf.data)}, not a finite number; a batch holds "
            "finite numbers: set .data to such an array"))
    # The graph's batch size is that of its nodes' batches (`apply` made them all of one size, unless
    # batches were reduced apart): nearly always the first that holds one, a few nodes into the order
    # (an interior node holds a float or a batch). A leaf made as a batch (its mark, `_BATCH`) needs no
    # more; one set by hand to a batch is looked at node by node (`_check_sizes`).
    built = next((d for n in order if n._op is not None and (d := n.data).__class__ is not float), None)
    by_hand = [x for x in arrays if x._b is not _BATCH]
    if built is None or not is_array(built) or {len(x.data) for x in arrays} != {len(built)}:
        _check_sizes(set(arrays), order, where)
    elif by_hand:
        _check_sizes(set(by_hand), order, where)
    leaf = next((x for x in by_hand if x._b is None), None)
    if leaf is not None:   # no op read a batch from it: every node made from it was made from one number
        raise _about(leaf, ValueError(
            f"{where}: {_who(leaf, order)} holds a batch of {_examples(len(leaf.data))}, but held one "
            "number when the graph was built; set .data to one number, or build the graph again from "
            "the batch"))


def _as_float_data(leaves: list[Value], order: list[Value], where: str, write: bool) -> None:
    """`as_float_data`, an unlabelled leaf named by its place in ``order`` (as the other checks name it)."""
    for leaf in leaves:
        try:
            as_float_data((leaf,), where, write)
        except (TypeError, ValueError) as e:
            if leaf.label:
                raise
            named = str(e).replace("the .data of a Value", f"the .data of {_who(leaf, order)}", 1)
            raise _about(leaf, type(e)(named)) from None


def _refuse_one_number(leaf: Value, order: list[Value], where: str) -> None:
    """Raise for a leaf that held a batch when nodes were made from it and was set by hand to one
    number (a float, a numpy scalar, a 0-d array): numpy would broadcast it over the examples. A leaf
    set by hand to a batch after nodes were made from its number (`_BATCH_BY_HAND`) may hold one number
    again if no node made from it holds a batch."""
    made = next((d for n in order if n._op is not None and leaf in n.parents and is_array(d := n.data)),
                None)
    if made is None and leaf._b is _BATCH:   # it meets only sums over the examples: the graph's size
        made = next((d for n in order if is_array(d := n.data)), None)
    if made is None:
        return
    n = len(made)
    raise _about(leaf, ValueError(
        f"{where}: {_who(leaf, order)} holds one number, but held a batch of {_examples(n)} when the "
        f"graph was built; set .data to a batch of {n}, or build the graph again"))


def _refuse_kind(leaf: Value, order: list[Value], where: str) -> None:
    """Raise for a leaf holding an array that is not a 1-D numpy array of floats: first, for a 1-D
    one, if it is not what the graph was built with (one number, or another size; `_check_sizes`), as
    that is the advice to follow."""
    import numpy as np
    d = leaf.data
    if getattr(d, "ndim", 0) == 1:
        _check_sizes({leaf}, order, where)
    if d.__class__ is not np.ndarray or d.dtype.kind != "f":
        what = refused_batch(d, "set .data to") if isinstance(d, np.ndarray) else (
            f"a {type(d).__name__}; a batch holds floats: set .data to a float array "
            "(np.asarray(x, dtype=float))")
        raise _about(leaf, TypeError(f"{where}: {_who(leaf, order)} holds {what}"))
    raise _about(leaf, ValueError(
        f"{where}: {_who(leaf, order)} holds an array of shape {d.shape}; a batched Value holds a 1-D "
        "array, one number per example: set .data to one (x.reshape(-1) for a column)"))


def refused_batch(d, fix: str) -> str | None:
    """Why a batch cannot hold the numpy array ``d``, as a message's end ("an array of bool; a batch
    holds floats: <fix> a float array (...)", ``fix`` the words before what to do: "set .data to"), or
    None when it can (a plain ndarray of ints or floats, read as float64). Refused: an ndarray subclass
    (a masked array's mask, a matrix's 2-D shape would be lost), and bools, strings, complex numbers
    (their imaginary part would be dropped), objects and dates."""
    import numpy as np
    if d.__class__ is not np.ndarray:
        what = "a masked array (numpy.ma)" if isinstance(d, np.ma.MaskedArray) else \
            f"a {type(d).__module__}.{type(d).__name__} (a subclass of numpy's ndarray)"
        return (f"{what} of {d.dtype}; a batch holds a plain numpy array of floats: {fix} one "
                "(x.filled(value) to fill a masked array's masked entries, else np.asarray(x, dtype=float))")
    if d.dtype.kind not in "iuf":
        return (f"an array of {d.dtype}; a batch holds floats: {fix} a float array "
                "(np.asarray(x, dtype=float))")
    return None


def _check_sizes(arrays: set[Value], order: list[Value], where: str) -> None:
    """Raise naming the first leaf of ``arrays`` that does not hold a batch of the size of the nodes it
    meets (made from it when the graph was built), or that held one number then (a node made from it
    holds one, and is not a sum over the examples). Returns if each meets its own size (a graph can sum
    batches of different sizes apart)."""
    for node in order:
        if node._op is None:
            continue
        for leaf in node.parents:
            if leaf not in arrays:
                continue
            n, d = len(leaf.data), node.data
            if is_array(d) and len(d) != n:
                raise _about(leaf, ValueError(
                    f"{where}: {_who(leaf, order)} holds a batch of {_examples(n)}, and {node.op} at node "
                    f"{_name(node, order)}, which it meets, was built for a batch of {_examples(len(d))}: a "
                    f"graph runs on the batch size it was built for; set .data to {len(d)} examples, or "
                    "build the graph again from the new batches"))
            if not is_array(d) and node._op is not EXAMPLES_SUM:
                raise _about(leaf, ValueError(
                    f"{where}: {_who(leaf, order)} holds a batch of {_examples(n)}, but held one number "
                    f"when the graph was built ({node.op} at node {_name(node, order)}, which it meets, "
                    "holds one); set .data to one number, or build the graph again from the batch"))


def _who(leaf: Value, order: list[Value]) -> str:
    return f"the Value {leaf.label!r}" if leaf.label else f"the leaf {_name(leaf, order)}"


def _about(node: Value, error: Exception) -> Exception:
    error.node = node   # as every backward error: the node it is about (parse's error_at reads it)
    return error


def _held(leaves: list[Value], order: list[Value]) -> list[tuple[Value, Data]]:
    """The leaves whose gradient the pass must add to, with what they hold: only those that held
    something else than 0 (the leaves are a step's parameters, nearly all zeroed, and its inputs, None).
    A ``.grad`` set by hand that is not a float is checked (`_held_checked`)."""
    held = [(leaf, g) for leaf in leaves if (g := leaf._grad) is not None and (g.__class__ is not float or g)]
    if any(g.__class__ is not float for _, g in held):
        return _held_checked(held, order)
    return held


def _held_checked(held: list[tuple[Value, Data]], order: list[Value],
                  where: str = "backward") -> list[tuple[Value, Data]]:
    """``held`` with a ``.grad`` set by hand to a number of another type (a numpy scalar, a 0-d array,
    an int) taken as a float, so the gradient stays a float; TypeError naming the leaf for what is not
    a number (a str, a bool), for an array on a leaf holding one number and for an array of what is
    not numbers on a batched leaf, ValueError for one of another shape than its batch (numpy would
    broadcast it, or fail in its own words). ``where`` (the function the user called) begins each
    message."""
    checked = []
    for leaf, g in held:
        if g.__class__ is not float and not (is_array(g) and is_array(leaf.data)):
            if is_array(g):
                raise _about(leaf, TypeError(
                    f"{where}: the .grad of {_who(leaf, order)} is an array of shape {g.shape}, but it "
                    "holds one number; set .grad to one number, or call zero_grad()"))
            if getattr(g, "ndim", None) == 0 and getattr(getattr(g, "dtype", None), "kind", "") in "iuf":
                g = g[()]   # a 0-d array of numbers: its one number
            if isinstance(g, bool) or type(g).__name__ == "bool_" or not isinstance(g, numbers.Real):
                raise _about(leaf, TypeError(
                    f"{where}: the .grad of {_who(leaf, order)} is {type(g).__name__} {g!r:.40}; a "
                    "gradient is a number (on a batched leaf, an array of floats): set .grad to one, or "
                    "call zero_grad()"))
            try:
                g = float(g)
            except OverflowError:   # an int past the largest float (about 1.8e308)
                raise _about(leaf, ValueError(
                    f"{where}: the .grad of {_who(leaf, order)} is {quoted(g)}; set .grad to a "
                    "finite number, or call zero_grad()")) from None
        elif g.__class__ is not float:   # an array on a batched leaf: of numbers, one per example
            n = leaf.data.shape
            if getattr(getattr(g, "dtype", None), "kind", "") not in "iuf":
                raise _about(leaf, TypeError(
                    f"{where}: the .grad of {_who(leaf, order)} is an array of {getattr(g, 'dtype', '?')}; "
                    "a gradient is a number (on a batched leaf, an array of floats): set .grad to one, "
                    "or call zero_grad()"))
            if g.shape != n:
                raise _about(leaf, ValueError(
                    f"{where}: the .grad of {_who(leaf, order)} is an array of shape {g.shape}, but it "
                    f"holds a batch of {_examples(n[0])}; set .grad to an array of {n[0]}, one number "
                    "per example, or call zero_grad()"))
        checked.append((leaf, g))
    return checked


def held_grads(leaves: list[Value], order: list[Value], where: str) -> list[Data | None]:
    """Each leaf's ``.grad`` as a backward pass adds to it (None where no pass reached it): one set by
    hand checked as `Value.backward` checks it (`_held_checked`: a number of another type read as a
    float; TypeError or ValueError naming the leaf, ``where`` first, for what it refuses). For the
    compiled programs (`autodiff.compile`), which call it only when a ``.grad`` is not a float."""
    checked = dict(_held_checked([(x, g) for x in leaves if (g := x._grad) is not None], order, where))
    return [checked.get(x) for x in leaves]


def _add_held(held: list[tuple[Value, Data]], order: list[Value]) -> None:
    """Leaves accumulate: each leaf of ``held`` adds what it held before this pass. Stored at once; if
    a sum is not finite, `Value.backward` puts every gradient back."""
    for node, g in held:
        node._grad = g + node._grad
    if held and not _all_finite([node._grad for node, _ in held]):
        _check_accumulated([(node, node._grad) for node, _ in held], order)


def _finite(x) -> bool:
    return all_finite(x) if is_array(x) else math.isfinite(x)


def _all_finite(grads: list) -> bool:
    """Whether every gradient is finite: their sum is, in one C-level pass (a false alarm, a sum that
    overflows, is sorted out by `_check_gradients`). When the sum is an array (a batch, or an array set
    by hand as a leaf's gradient), the numbers are summed apart and the arrays checked in one numpy
    call. (Batched training steps do not come here: `autodiff.vectorized` checks as it goes.)"""
    total = sum(grads)
    if not is_array(total):
        return not total - total
    import numpy as np
    floats = list(map(is_, map(type, grads), repeat(float)))   # in C: which are one number
    total = sum(compress(grads, floats))
    arrays = list(compress(grads, map(not_, floats)))
    if not arrays or total - total:
        return not total - total
    try:
        return all_finite(np.concatenate(arrays, axis=None))
    except ValueError:  # a numpy scalar among them (a gradient set by hand): hstack takes it
        return all_finite(np.hstack(arrays))


def _check_gradients(order: list[Value]) -> None:
    """Raise naming the first node, in backward order, whose gradient is not finite, and the op whose
    rule made it so (the first whose terms are not finite from a finite upstream). A leaf that holds
    NaN or inf (set by hand) is named first: it is the cause, not the gradients it made so."""
    _refuse_not_finite([n for n in order if n._op is None], order)
    first = next((n for n in reversed(order) if not _finite(n._grad)), None)
    if first is None:
        return  # the sum overflowed, not a gradient
    culprit, node = "", first
    try:
        for _ in backprop(order[-1], {order[-1]: like(1.0, order[-1].data)}):
            pass
    except FloatingPointError as e:  # the reference loop names the node where it first overflowed
        node, g = e.node, e.upstream
        culprit = (f"; it comes from the rule of {node.op} at node {_name(node, order)} (inputs "
                   f"{', '.join(_shown(p.data) for p in node.parents)}, upstream {_shown(g)})"
                   if e.term else f"; it comes from terms adding up at node {_name(node, order)}"
                   ) + _made_at(node)
    error = FloatingPointError(
        f"backward: the gradient of node {_name(first, order)} ({first.op or 'leaf'}, data "
        f"{_shown(first.data)}) is {_shown(first._grad)}, not a finite number{culprit}. "
        + _advice(first._grad)[:1].upper() + _advice(first._grad)[1:])
    error.node = node  # as every backward error: the node it is about (parse's error_at reads it)
    raise error


def check_accumulated(added: list[tuple[Value, Data]], order: list[Value], where: str) -> None:
    """Raise as `Value.backward` does, naming the first leaf of ``added`` (a leaf, what its gradient
    would be) whose gradient held + this pass's is not finite; ``where`` begins the message. For the
    compiled programs (`autodiff.compile`), when a leaf's ``.grad`` held NaN or inf, or a sum overflowed."""
    _check_accumulated(added, order, where)


def _check_accumulated(added: list, order: list[Value], where: str = "backward") -> None:
    """Raise naming the first leaf whose accumulated gradient (held + this pass's) is not finite."""
    for node, total in added:
        if not _finite(total):
            error = FloatingPointError(
                f"{where}: the gradient of leaf {_name(node, order)} (data {_shown(node.data)}) would "
                f"be {_shown(total)} once this pass's gradient is added to what it held, not a finite "
                "number; call zero_grad() between passes, or scale the loss down")
            error.node = node
            raise error


def _made_at(node: Value) -> str:
    site = _anomaly_sites.get(node) if _anomaly_sites is not None else None
    return f", made at {site}" if site else ""


# autodiff.detect_anomaly: where each node was made (file:line in the caller), None when not active
_anomaly_sites: dict | None = None
# Neither detect_anomaly nor no_grad is active, and the collector's hold (`_hold_cycle_gc`) is settled:
# `apply` then checks one flag instead of three; the first node after any of them changes takes `_unusual`.
_usual = False


def _update_usual() -> None:
    global _usual
    _usual = _anomaly_sites is None and _grad_enabled and _gc_settled


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """As ``torch.autograd.detect_anomaly()``: inside the block every operation records where in your
    code it was made, and a backward pass whose gradient is not finite names the op whose rule made it
    so and that line. (Every operation always checks that its result is finite, in or out of the
    block.) Slower: for debugging. Process-wide, not per thread."""
    global _anomaly_sites
    before = _anomaly_sites
    _anomaly_sites = {} if before is None else before
    _update_usual()
    try:
        yield
    finally:
        _anomaly_sites = before
        _update_usual()


def _record_site(node: Value) -> None:
    import traceback
    for frame in reversed(traceback.extract_stack()[:-2]):
        if "/autodiff/" not in frame.filename.replace("\\", "/"):
            _anomaly_sites[node] = f"{frame.filename}:{frame.lineno} ({frame.line})"
            return


def _overflow(prim: Primitive, args: tuple) -> ArithmeticError | ValueError:
    shown = ", ".join(_shown(a.data if a.__class__ is Value else a) for a in args)
    bad = [a for a in args if not _finite(a.data if a.__class__ is Value else a)]  # `.data` set by hand
    if bad:
        who = bad[0]
        named = (f"the Value {who.label!r}" if who.__class__ is Value and who.label
                 else f"input {args.index(who) + 1}")
        return ValueError(f"{prim.name}: an input of {prim.symbol} ({shown}) is not a finite number "
                          f"({named} holds {_shown(who.data if who.__class__ is Value else who)}); a "
                          "Value holds a finite number: set .data to one")
    return OverflowError(f"{prim.name}: the result of {prim.symbol} on ({shown}) overflows a float (the "
                         "largest is about 1.8e308), so it is not a finite number; scale the inputs down")


def _number_of(other) -> float:
    return other.item() if other.__class__ is Value else check_number(other)


_grad_enabled = True


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside the block, operations make leaves (no parents, nothing to differentiate): cheap
    evaluation, e.g. of accuracy. As ``torch.no_grad()``, but for the whole process, not per thread."""
    global _grad_enabled
    before, _grad_enabled = _grad_enabled, False
    _update_usual()
    try:
        yield
    finally:
        _grad_enabled = before
        _update_usual()


def is_grad_enabled() -> bool:
    """False inside `no_grad`."""
    return _grad_enabled


_gc_pause_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def no_cycle_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector inside the block, restoring its prior state after.

    Graphs of `Value`s hold no reference cycles (no closures, parents point one way), so plain
    reference counting frees them; but building one allocates so many objects that the cyclic
    collector keeps rescanning the whole live graph (W1 in bench/: 3x slower forward). Wrap a
    training step in it: ``with no_cycle_gc(): loss = ...; loss.backward()``.

    Thread-safe and nestable: the collector is switched on again only when the last block in any
    thread is left, and only if it was on when the first one was entered. Python keeps no count of
    ``gc.disable()`` calls, so one made inside the block cannot be told from the pause and is undone
    when the last block is left: switch the collector off after the block, not inside it.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_pause_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_pause_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


#: While a graph is being built, the cyclic collector's first threshold is raised to this many objects
#: (see `_hold_cycle_gc`): a bound on what the collector leaves uncollected meanwhile.
GC_HOLD_OBJECTS = 100_000
#: `release_cycle_gc` moves the young objects of a built graph to the old generation without a pass;
#: a full pass runs once this many have been moved so (0: never move them, one young pass each time).
GC_PROMOTED_OBJECTS = 1_000_000
_gc_promoted = 0      # objects moved so since the last full pass we ran
_gc_settled = False   # the hold is taken, or not wanted, until the next backward pass starts
_gc_held: tuple[int, int] | None = None   # (the user's threshold, ours) while the hold is taken


def _hold_cycle_gc() -> None:
    """Raise the collector's first threshold to `GC_HOLD_OBJECTS` from the first node of a graph until
    the start of the next backward pass (``backward()``, `autodiff.steps.backward_steps` or a compiled
    graph's ``backward``, which call `release_cycle_gc`). A program that builds graphs and never
    runs one backward keeps the threshold raised; ``GC_HOLD_OBJECTS = 0`` switches the hold off.

    Why: every node is a GC-tracked object, and a graph of 66,000 nodes (W1's eager step) made with the
    default threshold (700) sets off ~85 young, ~8 middle and, once the graph outgrows a quarter of the
    old objects, a full collection that scans every object of the process (torch's ~170,000 among
    them), each step: 40-60% of the step. Graphs hold no cycles, so those scans find nothing. The
    collector stays on: it still runs once that many objects have been made, so other code's garbage
    is bounded; a threshold the user set meanwhile is kept. Not taken when the user switched the
    collector off (a `no_cycle_gc` pause in any thread is not that) or its threshold is already as
    high (or 0). Process-wide, thread-safe (`_gc_pause_lock`).
    """
    global _gc_settled, _gc_held
    with _gc_pause_lock:
        if not _gc_settled:
            first, *rest = gc.get_threshold()
            # Off inside a no_cycle_gc() block (of any thread) is our pause, not the user's choice.
            enabled = gc.isenabled() or (_gc_pausers > 0 and _gc_was_enabled)
            if _gc_held is None and enabled and 0 < first < GC_HOLD_OBJECTS:
                _gc_held = (first, GC_HOLD_OBJECTS)
                gc.set_threshold(GC_HOLD_OBJECTS, *rest)
            _gc_settled = True
            _update_usual()


def release_cycle_gc() -> None:
    """End `_hold_cycle_gc`: the user's threshold back, unless they set another meanwhile. Every
    backward pass calls it first (the graph is built by then); the next node takes the hold again.

    The young generation then holds the graph, which the next object made would send through one
    young pass (~0.15 µs a node, finding nothing: a graph has no cycles). Instead it is moved to the
    old generation unscanned (``gc.freeze(); gc.unfreeze()``, in O(1); not while the user has frozen
    objects, which that would thaw). What else was young goes with it, so garbage cycles made while a
    graph was built wait for a full pass: one is run once `GC_PROMOTED_OBJECTS` have been moved so.
    """
    global _gc_settled, _gc_held, _gc_promoted
    full = False
    with _gc_pause_lock:
        if _gc_held is not None:
            first, *rest = gc.get_threshold()
            if first == _gc_held[1]:
                gc.set_threshold(_gc_held[0], *rest)
            young = gc.get_count()[0]
            if young > _gc_held[0] and GC_PROMOTED_OBJECTS and not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
                _gc_promoted += young
                full = _gc_promoted >= GC_PROMOTED_OBJECTS
                if full:
                    _gc_promoted = 0
            _gc_held = None
        _gc_settled = False
        _update_usual()
    if full:
        gc.collect()  # outside the lock: finalizers may build Values


def _nary_forward(prim: Primitive, args: tuple[Value, ...]):
    n = len(args) >> 1
    if prim is NEURON and args[n].data.__class__ is float:  # the neuron's forward without a list
        z = 0.0
        for w, x in zip(args[:n], args[n:-1], strict=True):
            z = z + w.data * x.data
        z = z + args[-1].data
        if z.__class__ is float:
            return z
        # another operand holds a batch or a number set by hand: checked as below
    data = [x.data for x in args]
    # In C, no Python call per operand: 11 µs for nn.l2's 337 weights against 31 µs for is_array on
    # each. Arrays pay it too (~0.6 µs a node), but batched n-ary nodes are few (fused layers are made
    # by `neurons`): one in the README's batched step, and that one is nn.l2, all floats.
    if set(map(type, data)) == {float}:
        return prim.forward(*data)
    if any(map(is_array, data)) and _batches_ok(prim, args):
        return prim.batch(*[x.data for x in args])   # read again: an int array is made a float one
    return _by_hand(prim, args)


def _input(v: Value, k: int) -> str:
    return f"the Value {v.label!r}" if v.label else f"its input {k + 1}"


def _examples(n: int) -> str:
    return f"{n} example" if n == 1 else f"{n} examples"


def _batches_ok(prim: Primitive, args: tuple[Value, ...]) -> bool:
    """True, or raise: every batched leaf among ``args`` holds a 1-D array of floats (a ``.data`` set
    by hand may hold bools, strs or a matrix; a 1-D array of ints or of floats other than float64 is
    made a new float64 array, as `Value.backward` makes it), and every batched operand as many
    examples as the others (else numpy would broadcast a batch of 1 silently, or fail in its own
    words). TypeError naming the op and the Value for a dtype, ValueError for a shape or batch sizes.
    The caller reads the operands' ``.data`` again after it."""
    sizes = []
    for k, v in enumerate(args):
        d = v.data
        if d.__class__ is float or not is_array(d):
            continue
        if v._op is None and d.dtype.char != "d":   # set by hand: not float64
            if d.dtype.kind in "iuf" and d.ndim == 1:
                v.data = d = d.astype(float)   # a new array, as an int is made a float: the user's is kept
            elif d.dtype.kind != "f":
                raise TypeError(f"{prim.name}: {_input(v, k)} holds an array of {d.dtype}; a batch holds "
                                "floats: set .data to a float array (np.asarray(x, dtype=float))")
        if d.ndim != 1:
            raise ValueError(f"{prim.name}: {_input(v, k)} holds an array of shape {d.shape}; a batched "
                             "Value holds a 1-D array, one number per example: set .data to one "
                             "(x.reshape(-1) for a column)")
        if v._op is None and v._b is None:
            v._b = _BATCH_BY_HAND   # set by hand to a batch, which nodes are now made from
        sizes.append((len(d), k))
    if len({n for n, _ in sizes}) > 1:
        (n1, k1), (n2, k2) = sizes[0], next(s for s in sizes if s[0] != sizes[0][0])
        who1, who2 = _input(args[k1], k1), _input(args[k2], k2)
        raise ValueError(f"{prim.name}: {who1} holds a batch of {_examples(n1)} and {who2} a batch of "
                         f"{_examples(n2)}; the batched Values an op meets hold the same examples: "
                         "give every batched leaf as many")
    return True


def _by_hand(prim: Primitive, args: tuple[Value, ...]):
    """The forward on one-number operands of which one is not a float: a ``.data`` set by hand (a numpy
    scalar would take the batch path and make the graph numpy scalars): made a float, or refused."""
    as_float_data(args, prim.name)
    return prim.forward(*[x.data for x in args])


def apply(prim: Primitive, a: Value | float, b: Value | float = _NONE, *more: Value | float) -> Value:
    """The one entry point that makes a node: wrap constants, compute the forward value, link parents.

    ``apply(prim, x)``, ``apply(prim, x, y)`` or ``apply(prim, x, y, z, ...)``. The one- and two-operand
    cases (nearly every node) take no ``*args`` tuple or list: that is most of the cost of a node.
    On a batch (arrays) the primitive's ``batch_forward`` computes the value; its result is checked to
    be finite unless the primitive ``keeps_finite``.
    """
    if a.__class__ is not Value:
        a = Value(a)
    out = _new(Value)
    if b is _NONE:
        x = a.data
        out.data = (prim.forward(x) if x.__class__ is float else (prim.batch_forward or prim.batch)(a.data)
                    if is_array(x) and (a._op is not None or _batches_ok(prim, (a,)))
                    else _by_hand(prim, (a,)))
        out._a = a
        out._b = None
    elif not more:
        if b.__class__ is not Value:
            b = Value(b)
        # add and mul are most nodes; `+` and `*` are their forward functions, without the call.
        x, y = a.data, b.data
        if x.__class__ is not float or y.__class__ is not float:
            # a batch (`batch` says when there is no batch forward), or a number set by hand
            # checked where a leaf's .data enters, or where two batches' shapes differ
            if not (is_array(x) or is_array(y)):
                out.data = _by_hand(prim, (a, b))
            elif ((a._op is not None or x.__class__ is float) and (b._op is not None or y.__class__ is float)
                  and (x.__class__ is not y.__class__ or x.shape == y.shape)):
                out.data = (prim.batch_forward or prim.batch)(x, y)
            else:   # a leaf's batch: checked, an int array made a float one
                _batches_ok(prim, (a, b))
                out.data = (prim.batch_forward or prim.batch)(a.data, b.data)
        elif prim is ADD:
            out.data = x + y
        elif prim is MUL:
            out.data = x * y
        else:
            out.data = prim.forward(x, y)
        out._a = a
        out._b = b
    else:
        # A plain last operand (a neuron's bias, 0.0) is wrapped first, not found by the error the
        # forward meets at its end, which would run the forward twice.
        args = (a, b, *more) if more[-1].__class__ is Value else (a, b, *more[:-1], Value(more[-1]))
        try:
            out.data = _nary_forward(prim, args)
        except AttributeError:  # a plain number among the operands (it has no .data): wrap, retry
            args = tuple([x if x.__class__ is Value else Value(x) for x in args])
            out.data = _nary_forward(prim, args)
        out._a, out._b = args, NARY
    out._grad = None
    out._op = prim
    out.label = ""
    d = out.data  # `d - d` is 0.0 (false) for a finite float: one subtraction checks the common case
    # Not a float: a batch (`_by_hand` gives floats). A row that ``keeps_finite`` trusts its inputs to be
    # finite, which nodes made by `apply` are (their results were checked), but a leaf's ``.data`` may
    # have been set by hand to a batch holding NaN or inf: a node with a leaf input is checked too.
    if (d - d if d.__class__ is float
            else (not prim.keeps_finite or a._op is None or b is not _NONE and _leaf_input(b, more))
            and not all_finite(d)) or not _usual:
        _unusual(out, prim, (a, b, *more) if b is not _NONE else (a,))
    return out


def _leaf_input(b: Value | float, more: tuple) -> bool:
    """Whether a leaf is among a batch node's inputs after the first (`apply` reads the first's)."""
    return (b.__class__ is Value and b._op is None
            or any(m.__class__ is Value and m._op is None for m in more))


def _unusual(out: Value, prim: Primitive, args: tuple) -> None:
    """`apply`'s rare cases, off its hot path: a result that is not finite (an error naming the op),
    `detect_anomaly` (record where the node was made), `no_grad` (the number only) and the first node
    since a backward pass (the collector's hold, `_hold_cycle_gc`)."""
    d = out.data  # a float is tested without numpy (the playground has none), a batch with it
    if not (math.isfinite(d) if d.__class__ is float else _finite(d)):  # the op that overflowed says so
        raise _overflow(prim, args)
    if _anomaly_sites is not None:
        _record_site(out)
    if not _grad_enabled:   # a leaf: one that holds a batch was made as one
        out._op = out._a = None
        out._b = _BATCH if is_array(d) else None
    elif not _gc_settled:
        _hold_cycle_gc()


Value.apply = staticmethod(apply)  # what a primitive called on a Value runs (see Primitive.__call__)


def free_iteratively(on: bool = True) -> None:
    """Free dropped graphs one node at a time instead of as a chain (``on=False``: back to the default).

    Freeing the last reference to a node frees its parents, which free theirs: one nested C call per
    node. CPython bounds that nesting itself (its "trashcan"; a chain of 200,000 frees in a thread
    stack of 64 KiB), but where the C stack is not what CPython measures (WebAssembly: Pyodide dies at
    a few thousand nodes) this gives `Value` a ``__del__`` that hands a freed node's parents to a loop,
    so the nesting stays two deep. Freeing then costs about 7x more (~1.4 µs a node in CPython, against
    ~0.2 µs): the playground turns it on, nothing else does. Process-wide; meant for one thread (another
    thread's nodes freed meanwhile may wait for the next node freed to be let go).
    """
    if on:
        Value.__del__ = _release_parents
    elif "__del__" in Value.__dict__:
        del Value.__del__


_orphans: list = []   # parents of nodes being freed, let go one at a time by the outermost __del__
_freeing = False


def _release_parents(node: Value) -> None:
    global _freeing
    if node._a is None:
        return
    _orphans.append(node._a)  # no local names them: a local would free them as this call returns,
    _orphans.append(node._b)  # nested in it, and so on down the chain
    node._a = node._b = None
    if _freeing:
        return  # an outer call's loop lets them go
    _freeing = True
    try:
        while _orphans:
            _orphans.pop()  # the last reference to a parent goes: its __del__ runs, and returns here
    finally:
        _freeing = False


def array_leaf(data: Data, label: str = "") -> Value:
    """A leaf holding an array, one number per example (`autodiff.batched` checks the array).
    `Value()` itself takes only numbers, so that a stray array in the one-example API is an error."""
    if not isinstance(label, str):
        raise TypeError(f"label must be a str, got {type(label).__name__} {label!r:.60}")
    node = _new(Value)
    node.data, node._grad, node._op, node._a, node._b, node.label = data, None, None, None, _BATCH, label
    return node


def batch_size(v: Value) -> int:
    """How many examples ``v`` holds (1 for a plain scalar node; see `autodiff.batched`)."""
    return int(v.data.shape[0]) if is_array(v.data) else 1


def neuron(w: list[Value], x: list[Value | float], b: Value | float) -> Value:
    """z = Σ_k w_k x_k + b as one node (the fused neuron, primitive "neuron"), whose rule gives every
    input its term at once: dz/dw_k = x_k, dz/dx_k = w_k, dz/db = 1. Same value, to the bit, and same
    gradients as the graph ``w[0]*x[0] + ... + b`` of 2n binary nodes."""
    if len(w) != len(x) or not w:
        raise ValueError(f"neuron: {len(w)} weights but {len(x)} inputs; give one weight per input "
                         "(at least one)")
    return apply(NEURON, *w, *x, b)


def neuron_chain(w: list[Value], x: list[Value], b: Value) -> Value:
    """z = Σ_k w_k x_k + b as the 2n binary nodes writing it out makes, ``(w_0 x_0 + w_1 x_1) + ... + b``:
    n mul and n add nodes (the unfused neuron, micrograd's graph; `neuron` makes it one node). The same
    nodes and numbers as the operators give, made in one loop without their calls (2-3x faster) when
    every operand is a `Value` holding one number. ValueError when the lengths differ or are 0."""
    if len(w) != len(x) or not w:
        raise ValueError(f"neuron_chain: {len(w)} weights but {len(x)} inputs; give one weight per "
                         "input (at least one)")
    if _usual:
        zs = _chains([w], x, [b])
        if zs is not None:
            return zs[0]
    z = w[0] * x[0]
    for wk, xk in zip(w[1:], x[1:], strict=True):
        z = z + wk * xk
    return z + b


def neuron_chains(weights: list[list[Value]], x: list[Value], biases: list[Value]) -> list[Value]:
    """``[neuron_chain(w, x, b) for w, b in zip(weights, biases)]``: a layer of unfused neurons reading
    the same inputs, the same nodes, made a layer at a time (the inputs' numbers read once)."""
    if len(weights) != len(biases):
        raise ValueError(f"neuron_chains: {len(weights)} weight rows but {len(biases)} biases; give one "
                         "bias per neuron")
    if _usual and x and all(len(row) == len(x) for row in weights):  # else `neuron_chain` names it
        zs = _chains(weights, x, biases)
        if zs is not None:
            return zs
    return [neuron_chain(w, x, b) for w, b in zip(weights, biases, strict=True)]


def _chains(weights: list[list[Value]], x: list[Value], biases: list[Value]) -> list[Value] | None:
    """`neuron_chains`' nodes, as `apply` makes them (lengths checked by the caller); None when an
    operand is not a `Value` holding one number, or a sum is not finite (once one is, every later one
    is: the operators then name the op that overflowed)."""
    try:
        xd = [v.data for v in x]
        if set(map(type, xd)) != {float}:
            return None
        new, out = _new, []
        x0, d0, rest = x[0], xd[0], list(zip(x[1:], xd[1:], strict=True))
        for row, b in zip(weights, biases):  # noqa: B905 (lengths checked by the caller)
            wk = row[0]
            wd = wk.data
            if wd.__class__ is not float:
                return None
            s = wd * d0
            z = new(Value)  # one attribute at a time: no tuple built and unpacked per node
            z.data = s; z._grad = None; z._op = MUL; z._a = wk; z._b = x0; z.label = ""  # noqa: E702
            for wk, (xk, xd) in zip(row[1:], rest):  # noqa: B905
                wd = wk.data
                if wd.__class__ is not float:
                    return None
                m = wd * xd
                p = new(Value)
                p.data = m; p._grad = None; p._op = MUL; p._a = wk; p._b = xk; p.label = ""  # noqa: E702
                s = s + m
                node = new(Value)
                node.data = s; node._grad = None; node._op = ADD; node._a = z; node._b = p  # noqa: E702
                node.label = ""
                z = node
            bd = b.data
            if bd.__class__ is not float:
                return None
            s = s + bd
            if s - s:  # inf or NaN (inf - inf): not finite
                return None
            node = new(Value)
            node.data = s; node._grad = None; node._op = ADD; node._a = z; node._b = b  # noqa: E702
            node.label = ""
            out.append(node)
        return out
    except AttributeError:  # a plain number among the operands: the operators wrap it
        return None


def _node(prim: Primitive, a: Any, b: Any, data: Data) -> Value:
    """The node `apply` would make of ``prim`` (its parent slots ``a``, ``b``: a parent and another or
    None, or a tuple and `NARY`), its value ``data`` computed by the caller, a layer at a time
    (`neurons`, `relus`)."""
    node = _new(Value)
    node.data = data; node._grad = None; node._op = prim  # noqa: E702 (one slot at a time: no tuple)
    node._a = a; node._b = b; node.label = ""              # noqa: E702
    if not _usual:
        _unusual(node, prim, ())
    return node


def _layer_values(weights: list[list[Value]], xd: list, biases: list[Value]):
    """Every z of a layer at once: for one example the sums of the neuron's forward (in its order, so
    to the bit), the inputs' numbers read once; over a batch the rows of one product Z = W X + b. None
    when a weight or bias is not a `Value` holding one number, or (for one example) a z is not finite:
    then each neuron goes its own way."""
    try:
        if all(d.__class__ is float for d in xd):
            values = []
            for row, b in zip(weights, biases, strict=True):
                z = 0.0
                for w, x in zip(row, xd, strict=True):
                    z = z + w.data * x
                values.append(z + b.data)
            # One sum tells that every z is a float (a weight or bias holding a batch or a number set
            # by hand makes it another type) and finite; else None: `neuron`, one at a time, checks
            # the operands and names the op that overflowed.
            total = sum(values)
            return values if total.__class__ is float and not total - total else None
        import numpy as np
        s = stacked([w.data for row in weights for w in row], xd)
        bias = np.array([b.data for b in biases], dtype=float)
    except (AttributeError, TypeError, ValueError):  # a plain number, or a weight holding a batch
        return None
    if s is None or bias.ndim != 1:
        return None
    w, X = s
    # a z that overflows is refused by `neurons`, in words; a big product at `BLAS_THREADS`
    with np.errstate(all="ignore"), blas_threads(w.size * X.shape[1]):
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
        if not all(v.data.__class__ is float for v in xs) and any(v._op is None for v in xs):
            _batches_ok(NEURON, xs)   # a batched leaf: of floats, 1-D, of the others' size
        values = _layer_values(weights, [v.data for v in xs], biases)
    if values is not None and not isinstance(values, list) and not all_finite(values):
        values = None  # a z overflowed: `neuron`, one at a time, names the op that did
    if values is None:
        return [neuron(w, xs, b) for w, b in zip(weights, biases, strict=True)]
    return [_node(NEURON, (*w, *xs, b), NARY, z) for w, b, z in zip(weights, biases, values, strict=True)]



def relus(zs: list[Value]) -> list[Value]:
    """``[z.relu() for z in zs]``: the same nodes, made a layer at a time. When every z holds a batch of
    the same size and was made by an op (a layer's z's, checked finite when made), relu's forward runs
    once over the stacked batches, max(z, 0) elementwise and so to the bit, instead of once per node."""
    try:
        if len(zs) > 1 and _usual and zs[0].data.__class__ is not float and all(
                z._op is not None for z in zs):     # Values made by an op (a leaf is checked by apply)
            import numpy as np
            Z = np.array([z.data for z in zs], dtype=float)
            if Z.ndim == 2:
                return [_node(RELU, z, None, a)
                        for z, a in zip(zs, (RELU.batch_forward or RELU.batch)(Z), strict=True)]
    except (AttributeError, TypeError, ValueError):   # not Values, or batches of other shapes
        pass
    return [apply(RELU, z) for z in zs]

# A primitive called on a Value makes a node, on a number gives a float: `exp(v)`, `exp(2.0)`.
exp, log, tanh, sigmoid, relu = EXP, LOG, TANH, SIGMOID, RELU
sqrt, sin, cos, softplus, gelu, maximum, minimum = SQRT, SIN, COS, SOFTPLUS, GELU, MAXIMUM, MINIMUM


def leaky_relu(x: Value | float, slope: float = 0.01) -> Value | float:
    """x if x > 0 else slope·x, of a Value (a node) or a number (a float); derivative 1 or slope."""
    return leaky_relu_op(check_number(slope))(x)


def elu(x: Value | float, alpha: float = 1.0) -> Value | float:
    """x if x > 0 else α(e^x − 1), of a Value (a node) or a number (a float)."""
    return elu_op(check_number(alpha))(x)


abs = ABS  # noqa: A001 (autodiff.abs, as torch.abs; the builtin works on Values too)
