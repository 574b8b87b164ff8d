"""The table of primitives: one row per operation holds everything about it (forward on floats and on
a batch, derivative rule, derivative text, symbol, name in the expression language). Adding a
primitive is one `define(...)` call; nothing else in the package names a primitive's calculus.
"""

from __future__ import annotations

import keyword
import math
import numbers
import string
import sys
from collections.abc import Callable
from contextlib import nullcontext
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import numpy

__all__ = ["Primitive", "PRIMITIVES", "RESERVED_NAMES", "define", "PROBES", "RULE_SIGNATURE",
           "rule_result_problem", "as_float_data", "as_real", "quoted", "beyond_floats",
           "pow_const", "leaky_relu_op", "sum_squares_op",
           "sum_squares_scale",
           "elu_op", "Data", "Rule", "is_array", "all_finite", "as_floats", "first_bad", "InfiniteSlopeError",
           "BLAS_THREADS", "BLASThreadsWarning", "blas_threads", "lazy_numpy"]

#: What a node holds: one number, or one number per example (a numpy array of shape (N,), from
#: `autodiff.batched`). Gradients have the same type as the node's data, or one number for a node
#: shared by every example (a parameter).
Data: TypeAlias = "float | numpy.ndarray"

#: A derivative rule: ``rule(upstream, out, *inputs) -> one term upstream · ∂out/∂input per input``.
#: Written in plain arithmetic, so the same rule runs on floats, on arrays (a batch) and on `Value`s
#: (the graph of a gradient, for second derivatives).
Rule: TypeAlias = "Callable[..., tuple[Any, ...]]"


def is_array(x: Any) -> bool:
    """True for a batch (a numpy array, one number per example), False for one number or a Value."""
    return getattr(x, "ndim", 0) > 0


def all_finite(x: numpy.ndarray) -> bool:
    """Whether every entry of the array ``x`` (any shape) is finite: ``np.isfinite(x).all()``, but
    counted in C (``ndarray.all`` has a Python layer, and this runs on every batched node)."""
    np = _np()
    return np.count_nonzero(np.isfinite(x)) == x.size


def _number(x):
    """The number(s) of a float, an array or a Value (its ``data``). Any other number is itself (a
    numpy scalar has a ``.data`` too, its buffer: a Value is told by its ``apply``, as in `__call__`)."""
    return x if x.__class__ is float or is_array(x) or not hasattr(x.__class__, "apply") else x.data


def _is_node(x) -> bool:
    """Whether ``x`` is a Value: a rule then builds the graph of its term (``grad(..., create_graph=
    True)``), and every choice it makes on a value must be a node of that graph (`GREATER`), so that
    the graph recomputes it from the leaves, as a compiled graph replays it."""
    return hasattr(x.__class__, "apply")


def leaf_number(x: Any) -> Any:
    """A leaf's ``.data`` as the engine computes with it: a number set by hand of another type than
    float (a numpy scalar, a 0-d array, an int) read as a float, as `Value.backward` stores it; a batch
    of ints or of floats other than float64 (float32, ...) read as a new float64 array, as backward
    makes it; a float or a float64 batch as it is. For the passes that only read (the steppers, a
    page): ``.data`` is not changed. Call after `check_leaves`, which refuses what is not a number."""
    if x.__class__ is float:
        return x
    if is_array(x):
        return x if x.dtype.char == "d" else x.astype(float)   # "d": float64
    return float(x)


def as_float_data(nodes: Any, where: str, write: bool = True) -> None:
    """Make a float of each node's ``.data`` set by hand to one number of another type (a numpy scalar,
    a 0-d array of numbers, an int), as ``Value(...)`` stores it, so that nothing mistakes it for a
    batch; a batch (an array of examples) is left as it is. ``where`` names the operation, for the
    errors. ``write=False``: the same checks, and each ``.data`` left as it is (a pass that only reads).

    Raises TypeError for a bool, a 0-d array of objects (what ``Value()`` refuses too) or anything
    that is not a real number, ValueError for inf, NaN or an int beyond the floats, naming the node
    (its label) and what to do.
    """
    for node in nodes:
        try:
            x = _number_of(node, where)
        except (TypeError, ValueError) as e:
            e.node = node   # the node the message names, as the engine's checks give it
            raise
        if write and x is not None:
            node.data = x


def _number_of(node: Any, where: str) -> float | None:
    """`as_float_data`'s check of one node: its ``.data`` as a float, None for a float or a batch."""
    d = node.data
    if d.__class__ is float or is_array(d):
        return None
    name = f"the Value {node.label!r}" if node.label else "a Value"
    if getattr(d, "ndim", None) == 0 and getattr(d, "dtype", None) is not None \
            and not isinstance(d, str):            # np.str_ has a dtype too: refused below as a str
        if d.dtype.kind not in "biuf":             # objects, complex, dates: not a real number
            raise TypeError(f"{where}: the .data of {name} is a 0-d array of {d.dtype} "
                            f"{d!r:.60}; a Value holds one real number (int, float or numpy scalar; "
                            "stored as a float): set .data to one (float(x) of the number)")
        d = d[()]                                  # a 0-d array: its one number (a numpy scalar)
    if isinstance(d, bool) or type(d).__name__ == "bool_" or not isinstance(d, numbers.Real):
        raise TypeError(f"{where}: the .data of {name} is {type(node.data).__name__} "
                        f"{node.data!r:.60}; a Value holds one real number (int, float or numpy "
                        "scalar; stored as a float) or, batched, a 1-D array of examples: set .data "
                        "to one")
    try:
        x = float(d)
    except OverflowError:   # its first 60 digits would read as a finite number
        raise ValueError(f"{where}: the .data of {name} is {beyond_floats(d)}, beyond the float range "
                         "(about ±1.8e308); a Value holds a finite number: scale it down") from None
    if not math.isfinite(x):
        raise ValueError(f"{where}: the .data of {name} is {d!r:.60}, not a finite float; a Value "
                         "holds a finite number: set .data to one")
    return x


def beyond_floats(data: numbers.Real) -> str:
    """A real number that ``float()`` cannot hold, in words for a message (its digits would read as a
    finite number): ``an int of about 401 digits``, ``a Fraction of about 401 digits before its point``."""
    digits = int(int(data).bit_length() * 0.30103) + 1   # log10(2) digits a bit
    if isinstance(data, numbers.Integral):
        return f"an int of about {digits} digits"
    return f"a {type(data).__name__} of about {digits} digits before its point"


def as_real(x: Any) -> float | None:
    """``x`` as a float when it is a real number other than a bool (an int, a float, a Fraction, a
    numpy scalar): ±inf for one beyond the float range (10**400, where ``float()`` raises
    OverflowError and ``math.isfinite`` too), None for anything else. For checking a user's argument."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):   # numpy's bool is no numbers.Real
        return None
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def quoted(x: Any, width: int = 60) -> str:
    """A user's value as an error message quotes it, shortly: a real number beyond the float range in
    words (``an int of about 401 digits, beyond the float range``, `beyond_floats`), an int of more
    than 17 digits as its float and its length (``-1e+300 (an int of 301 digits)``), where its first
    digits would read as a smaller number; anything else its repr, cut to ``width`` characters with
    ``...`` (Python refuses to write an int of more than 4,300 digits at all)."""
    if as_real(x) is not None:
        try:
            f = float(x)
        except OverflowError:
            words = beyond_floats(abs(x))                    # an int of about 401 digits
            return f"{'a negative ' + words.split(' ', 1)[1] if x < 0 else words}, beyond the float range"
        if isinstance(x, numbers.Integral) and not -10 ** 17 < x < 10 ** 17:
            return f"{f:.6g} (an int of {len(str(abs(int(x))))} digits)"
    text = repr(x)
    return text if len(text) <= width else text[:width - 3] + "..."


def first_bad(mask: numpy.ndarray) -> str:
    """Which examples of a batch broke a rule, for error messages: ``example 3 (and 2 more)``."""
    import numpy as np
    bad = np.flatnonzero(mask)
    return f"example {bad[0]}" + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")


class Primitive:
    """One primitive operation, everything about it in one place.

    ``arity``          the number of inputs, -1 for any number (n-ary).
    ``forward``        the forward function on floats; raises a clear error outside its domain.
    ``vjp``            the derivative rule (see `Rule`); a missing rule raises NotImplementedError.
    ``text``           ∂out/∂input as the steppers and diagrams write it, one format per input (one
                       string for every input); placeholders {x} {y} first and second input, {o} the
                       output, {n} the constant exponent and {n1} = n - 1. None: shown as ∂out/∂in.
    ``batch_forward``  the forward over a batch (numpy arrays), with the same errors; None: not batched.
    ``parse_name``     the function's name in the expression language (`autodiff.parse`), or None.
    ``consts``         the op's constants (the n of ``x ** n``), already bound into forward and vjp.
    ``once_differentiable``  True: the rule works on numbers only, so no second derivatives through it
                       (`autodiff.grad` with create_graph refuses it, naming it), as PyTorch's
                       ``torch.autograd.function.once_differentiable``.
    ``keeps_finite``   True when the forward never returns a number that is not finite from finite
                       inputs (relu, tanh; exp raises instead): `apply` then skips its check of a
                       batch's result (~1 µs a node). False (the default): checked.

    Calling a primitive applies it: on `Value`s it makes a node, on numbers it returns a float, on
    arrays an array, so ``EXP(x)`` inside a rule works in every mode.
    """

    __slots__ = ("name", "symbol", "arity", "forward", "vjp", "text", "batch_forward", "parse_name",
                 "consts", "once_differentiable", "keeps_finite")

    def __init__(self, name: str, symbol: str, arity: int, forward: Callable, vjp: Rule,
                 text: tuple[str, ...] | str | None = None, batch_forward: Callable | None = None,
                 parse_name: str | None = None, consts: dict[str, float] | None = None,
                 once_differentiable: bool = False, keeps_finite: bool = False):
        self.name, self.symbol, self.arity = name, symbol, arity
        self.forward, self.vjp, self.text = forward, vjp, text
        self.batch_forward, self.parse_name = batch_forward, parse_name
        self.consts = consts or {}
        self.once_differentiable = once_differentiable
        self.keeps_finite = keeps_finite

    def __call__(self, *args: Any) -> Any:
        for a in args:
            if hasattr(a.__class__, "apply"):          # a Value: a new node (duck-typed: no import cycle)
                return a.__class__.apply(self, *args)
        if any(map(is_array, args)):
            return self.batch(*args)
        for a in args:
            if isinstance(a, bool) or not isinstance(a, numbers.Real):
                raise TypeError(f"{self.name} needs a Value or a real number, got {type(a).__name__} "
                                f"{a!r:.60}")
            if not math.isfinite(as_real(a)):   # ±inf for an int beyond the floats
                raise ValueError(f"{self.name} needs a finite number, got {quoted(a)}")
        return self.forward(*[float(a) for a in args])

    def batch(self, *args: Any) -> Any:
        """The forward over a batch, or a clear error if this primitive has none."""
        if self.batch_forward is None:
            raise NotImplementedError(f"{self.name}: no forward over a batch; pass batch_forward= to "
                                      "define() (a numpy function of arrays), or evaluate this op one "
                                      "example at a time")
        return self.batch_forward(*args)

    def __repr__(self) -> str:
        shown = "" if self.symbol == self.name else f", symbol={self.symbol!r}"
        return f"Primitive({self.name!r}{shown})"


PRIMITIVES: dict[str, Primitive] = {}

#: Names a primitive may not take: what a leaf's ``op`` shows, and primitives made outside the table.
RESERVED_NAMES = frozenset({"leaf", "pow_const"})

_building = True  # while this module defines the built-in rows (checked by the suite, not probed)

#: What `define` runs on a user's new row (with its ``probe_at``), each returning the row's rule:
#: `autodiff.probe.probe`, which needs Values and the reference loop, so it adds itself here rather
#: than being imported (no cycle).
PROBES: list[Callable[..., Rule]] = []

#: What every derivative rule is, for error messages about one that is not.
RULE_SIGNATURE = "a rule takes (upstream, out, *inputs) and returns one term per input"


def rule_result_problem(terms: Any, n: int) -> tuple[type, str] | None:
    """How a rule's result ``terms`` for ``n`` inputs is malformed, with the error type to raise
    (TypeError: not a tuple; ValueError: the wrong number of terms); None if it is one term per input."""
    if not isinstance(terms, (tuple, list)):
        return TypeError, f"it returned {type(terms).__name__} {terms!r:.40}, not a tuple of terms"
    if len(terms) != n:
        return ValueError, (f"it returned {len(terms)} term(s) for {n} input(s), "
                            f"{'shorter' if len(terms) < n else 'longer'} than the inputs")
    return None


def define(name: str, symbol: str, arity: int, forward: Callable, vjp: Rule, text=None,
           batch_forward: Callable | None = None, parse_name: str | None = None, *,
           once_differentiable: bool = False, keeps_finite: bool = False,
           probe_at: tuple[float, ...] | None = None) -> Primitive:
    """Add a primitive to the table (see `Primitive` for the fields, ``keeps_finite`` among them) and
    return it.

    Everything given is checked, and the primitive is tried at every one of a few trial points (both
    signs; ``probe_at``, one number per input, adds a point of its own) where its forward and rule are
    defined; ValueError if there is none (the rule would go unchecked). The
    forward must give a number, the rule one term per input (a tuple of ``arity`` terms) that works on
    numbers, on `Value`s (its second derivative must agree with central differences of its first:
    a rule written with ``math.cos`` would silently give wrong Hessians) and, with ``batch_forward``,
    on arrays. TypeError or ValueError naming the primitive and the argument otherwise. The forward and
    batch forward are wrapped so that their errors name the primitive and a NaN or inf result is
    refused. Running the same ``define(...)`` again (a notebook cell re-run) replaces the row; a row
    that differs needs ``del autodiff.PRIMITIVES[name]`` first (nodes already made keep the old row).
    """
    if not _building:
        _check_row(name, symbol, arity, forward, vjp, text, batch_forward, parse_name, once_differentiable)
        forward = _checked_forward(name, arity, forward)
        if batch_forward is not None:
            batch_forward = _checked_batch(name, batch_forward)
    prim = Primitive(name, symbol, arity, forward, vjp, text, batch_forward, parse_name,
                     once_differentiable=once_differentiable, keeps_finite=keeps_finite)
    for check in PROBES if not _building else ():
        prim.vjp = check(prim, probe_at)
    PRIMITIVES[name] = prim
    return prim


def _check_row(name, symbol, arity, forward, vjp, text, batch_forward, parse_name, once_differentiable):
    """TypeError/ValueError naming the primitive and the argument for anything `define` cannot use."""
    where = f"define({name!r})"
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{where}: name must be a Python identifier that is not a keyword (letters, "
                         "digits, _; e.g. 'softsign'): compiled programs and the steppers use it")
    if name in RESERVED_NAMES:
        raise ValueError(f"{where}: the name {name!r} is taken by the engine; pick another name")
    old = PRIMITIVES.get(name)
    if old is not None and not _rerun(old, (symbol, arity, forward, vjp, text, batch_forward, parse_name)):
        user = hasattr(old.forward, "__wrapped__")
        raise ValueError(f"{where}: a primitive named {name!r} is already defined"
                         + (" differently; to replace it, `del autodiff.PRIMITIVES[name]` first, or"
                            if user else " (a built-in one);") + " pick another name")
    if not isinstance(symbol, str) or not symbol.strip():
        raise TypeError(f"{where}: symbol must be a non-empty str (how diagrams show the op), got "
                        f"{symbol!r:.40}")
    if isinstance(arity, bool) or not isinstance(arity, int) or not (arity >= 1 or arity == -1):
        raise ValueError(f"{where}: arity must be a positive int (the number of inputs), or -1 for any "
                         f"number of inputs; got {arity!r:.40}")
    for what, f in (("forward", forward), ("vjp", vjp), ("batch_forward", batch_forward)):
        if not callable(f) and not (what == "batch_forward" and f is None):
            raise TypeError(f"{where}: {what} must be a function, got {type(f).__name__} {f!r:.40}")
    _check_text(where, arity, text)
    if parse_name is not None:
        _check_parse_name(where, name, parse_name)
    if not isinstance(once_differentiable, bool):
        raise TypeError(f"{where}: once_differentiable must be True or False")


def _rerun(old: Primitive, row: tuple) -> bool:
    """Whether ``row`` is ``old``, a user's row, defined again by the same code (a notebook cell run
    again: new function objects, the same code)."""
    def code(f):
        f = getattr(f, "__wrapped__", f)
        return getattr(f, "__code__", f)
    if not hasattr(old.forward, "__wrapped__"):  # a built-in row
        return False
    fields = (old.symbol, old.arity, old.forward, old.vjp, old.text, old.batch_forward, old.parse_name)
    return all(code(a) == code(b) for a, b in zip(fields, row, strict=True))


def _check_text(where: str, arity: int, text) -> None:
    """One text per input (or one str for every input), with only the placeholders there are."""
    if text is None:
        return
    forms = [text] if isinstance(text, str) else text
    if not isinstance(forms, (tuple, list)) or not all(isinstance(f, str) for f in forms):
        raise TypeError(f"{where}: text must be a str, or a tuple of one str per input; got {text!r:.60}")
    if not isinstance(text, str) and arity == -1:
        raise ValueError(f"{where}: text of a primitive of any number of inputs is one str ({{x}} in it is "
                         "the input the derivative is for)")
    if not isinstance(text, str) and len(forms) != arity:
        raise ValueError(f"{where}: text has {len(forms)} entries for {arity} inputs; give one per "
                         "input, or one str for every input")
    allowed = {"x", "o"} | ({"y"} if arity >= 2 else set())
    for form in forms:
        try:
            parts = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(form) if f is not None]
        except ValueError as e:
            raise ValueError(f"{where}: text {form!r} is not a format string ({e}); write a brace "
                             "as {{ or }}") from None
        fields = [f for f, _, _ in parts]
        dressed = next((f"{{{f}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}"
                        for f, spec, conv in parts if spec or conv), None)
        if dressed:
            raise ValueError(f"{where}: text {form!r} has the placeholder {dressed}; a placeholder is "
                             "bare ({x}, {y} or {o}): the steppers fill in the node's name, which a "
                             "conversion (!r) or a format spec (:...) would change")
        bad = [f for f in fields if f not in allowed]
        if bad:
            raise ValueError(f"{where}: text {form!r} has the placeholder {{{bad[0]}}}; the placeholders "
                             f"are {', '.join('{' + a + '}' for a in sorted(allowed))} ({{x}} the input, "
                             "{y} the second input, {o} the output)")


def _check_parse_name(where: str, name: str, parse_name) -> None:
    """An identifier that no other primitive of the expression language uses."""
    if not isinstance(parse_name, str) or not parse_name.isidentifier() or keyword.iskeyword(parse_name):
        raise ValueError(f"{where}: parse_name must be a Python identifier that is not a keyword, got "
                         f"{parse_name!r:.40}")
    taken = next((p.name for p in PRIMITIVES.values() if p.parse_name == parse_name and p.name != name),
                 None)
    if taken:
        raise ValueError(f"{where}: parse_name {parse_name!r} is already the expression language's name "
                         f"for {taken}; pick another")


def _checked_forward(name: str, arity: int, f: Callable) -> Callable:
    """A user's forward, its errors naming the primitive, its result one finite float. Once numpy is
    loaded (the forward may use it on a number) its warnings are off in the forward: a result that is
    not finite is refused in words, so ``RuntimeWarning: invalid value`` would only repeat it."""
    quiet = None

    def forward(*xs):
        nonlocal quiet
        if arity != -1 and len(xs) != arity:
            raise TypeError(f"{name} takes {arity} input{'s' * (arity > 1)}, got {len(xs)}")
        if quiet is None and "numpy" in sys.modules:
            quiet = sys.modules["numpy"].errstate(all="ignore")(f)
        try:
            out = (quiet or f)(*xs)
        except Exception as e:
            raise _named(e, name, xs) from None
        return _one_number(name, out, xs)
    forward.__wrapped__, forward.built_in = f, False
    return forward


def _one_number(name: str, out, xs) -> float:
    at = f"{name}({', '.join(f'{x:.6g}' for x in xs)})"
    if is_array(out):
        raise TypeError(f"{name}: its forward returned an array for the number(s) {at}; the forward "
                        "over a batch goes in batch_forward=")
    if isinstance(out, bool) or not isinstance(out, numbers.Real):
        raise TypeError(f"{name}: its forward returned {type(out).__name__} {out!r:.40} for {at}, not a "
                        "number")
    y = float(out)
    if y != y:
        raise ValueError(f"{name}: {at} is not a number (nan): the input is outside where {name} is "
                         "defined")
    if not math.isfinite(y):
        raise OverflowError(f"{name}: {at} overflows a float (beyond about 1.8e308); scale the inputs down")
    return y


def _checked_batch(name: str, f: Callable) -> Callable:
    """A user's forward over a batch, numpy's warnings off, its errors naming the primitive and the
    first example where the result is not finite."""
    def batch(*xs):
        np = _np()
        try:
            with np.errstate(all="ignore"):
                out = np.asarray(f(*xs), dtype=float)
        except Exception as e:
            raise _named(e, name, None) from None
        shape = np.broadcast_shapes(*[np.shape(x) for x in xs])
        if out.shape != shape:
            raise TypeError(f"{name}: its batch_forward returned shape {out.shape} for inputs of shape "
                            f"{shape}; it must give one number per example")
        if not all_finite(out):
            nan = np.isnan(out)
            if nan.any():
                raise ValueError(f"{name}: not a number (nan) at {first_bad(nan)}: the input is outside "
                                 f"where {name} is defined")
            raise OverflowError(f"{name}: overflows a float at {first_bad(~np.isfinite(out))}; scale "
                                "the inputs down")
        return out
    batch.__wrapped__ = f
    return batch


def _named(error: Exception, name: str, xs) -> Exception:
    """``error`` from a user's function, again with the primitive's name (and inputs) in front."""
    if str(error).startswith(f"{name}:"):
        return error
    at = f" at {name}({', '.join(f'{x:.6g}' for x in xs)})" if xs else ""
    try:
        return type(error)(f"{name}: {error}{at}")
    except TypeError:
        return error


def as_floats(rule: Rule) -> Rule:
    """``rule`` giving Python floats where it gives numpy scalars (so that ``.grad`` stays a float)."""
    def floats(*args):
        return tuple([float(t) if t.__class__ is not float and not is_array(t) and isinstance(t, numbers.Real)
                      else t for t in rule(*args)])
    floats.__wrapped__ = rule
    return floats


def lazy_numpy():
    """The numpy module, imported at the first call (a batch met, an optimizer step) so that `import
    autodiff` stays instant and free of numpy; None where numpy is not installed (the playground under
    Pyodide, whose optimizers then step in plain floats). The package's one helper for it."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


_np = lazy_numpy   # the short name this table's batch forwards and rules call


def _finite(name: str, out, hint: str = ""):
    """``out`` (an array) if no entry is inf, else OverflowError naming the op and the example. A NaN
    comes only from a NaN input (a ``.data`` set by hand): `apply` refuses it naming that input."""
    np = _np()
    if np.isinf(out).any():
        raise OverflowError(f"{name}: overflows a float at {first_bad(np.isinf(out))}{hint}")
    return out


# ---- add, mul ------------------------------------------------------------------------------------

def _quiet(f: Callable) -> Callable:
    """``f`` over a batch with numpy's overflow warnings off: `apply` refuses a result that is not
    finite with an error naming the op, so the warning would only repeat it, less clearly. (numpy's
    errstate as a decorator, made at the first call: about 2.5 times cheaper than a ``with`` block.)"""
    quiet = None

    def batch(*args):
        nonlocal quiet
        if quiet is None:
            quiet = _np().errstate(all="ignore")(f)
        return quiet(*args)
    return batch


ADD = define("add", "+", 2, lambda x, y: x + y,
             lambda g, out, x, y: (g, g),                      # d(x + y)/dx = d(x + y)/dy = 1
             "1", _quiet(lambda x, y: x + y))
MUL = define("mul", "×", 2, lambda x, y: x * y,
             lambda g, out, x, y: (g * y, g * x),              # d(x y)/dx = y, d/dy = x
             ("{y}", "{x}"), _quiet(lambda x, y: x * y))


# ---- pow -----------------------------------------------------------------------------------------

def _pow_fwd(x: float, y: float) -> float:
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


def _pow_batch(x, y):
    np = _np()
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if ((x == 0) & (y < 0)).any():
        raise ZeroDivisionError(f"pow: 0 ** negative divides by zero at {first_bad((x == 0) & (y < 0))}"
                                "; make sure the base is not 0")
    if ((x < 0) & (y != np.floor(y))).any():
        raise ValueError(f"pow: negative base with a non-integer exponent at "
                         f"{first_bad((x < 0) & (y != np.floor(y)))}; use a positive base")
    with np.errstate(all="ignore"):
        return _finite("pow", x ** y)


def _pow_vjp(g, out, x, y):
    # d/dx x^y = y x^(y-1);  d/dy x^y = x^y log x, which only exists for x > 0.  At x = 0 (y > 0) the
    # one-sided limit x^y log x -> 0 is used, as PyTorch does.
    xd = _number(x)
    if is_array(xd):
        np = _np()
        if (xd < 0).any():
            raise ValueError(f"pow: the derivative of x ** y with respect to y needs log of a negative "
                             f"base at {first_bad(xd < 0)}; make the exponent a plain number")
        with np.errstate(divide="ignore"):
            dy = g * np.where(xd > 0, out * np.log(np.where(xd > 0, xd, 1.0)), 0.0)
    elif _is_node(x) and xd >= 0:
        # x^y log x, and 0 at x = 0, where log reads x (1 - [x = 0]) + [x = 0] = 1 (and its slope in
        # x is 0, as below): the choice recomputed
        at0 = _at_zero(x)
        dy = g * (out * LOG(x * (1.0 - at0) + at0))
        if _is_node(y):
            return _pow_dx_graph(g, x, y, at0), dy
    elif xd > 0:
        dy = g * (out * LOG(x))
    elif xd == 0:
        dy = 0.0 * g
    else:
        raise ValueError(f"pow: the derivative of {xd!r} ** y with respect to the exponent y needs "
                         "log of a negative base; make the exponent a plain number, not a Value")
    return _pow_dx(g, x, y), dy


def _pow_dx(g, x, n):
    """g · d/dx x^n = g n x^(n-1); at x = 0: 0 for n = 0 (x^0 is constant, as PyTorch), an infinite
    slope for 0 < n < 1, and n x^(n-1) (0 or 1) for n >= 1."""
    xd, nd = _number(x), _number(n)
    if is_array(xd) or is_array(nd):
        np = _np()
        at0 = (xd == 0) & (nd < 1) & (nd != 0)
        if np.any(at0):
            raise InfiniteSlopeError(f"pow: the derivative n x^(n-1) of x ** n is infinite at x = 0 "
                                     f"with 0 < n < 1 ({first_bad(at0)}): there is no gradient there")
        safe = np.where((xd == 0) & (nd == 0), 1.0, xd)
        return g * np.where(nd == 0, 0.0, n * safe ** (n - 1))
    if _is_node(n):
        return _pow_dx_graph(g, x, n, _at_zero(x))
    if nd == 0:
        return 0.0 * g
    _refuse_infinite_slope(xd, nd)
    if x.__class__ is float and g.__class__ is float and n.__class__ is float:
        try:
            return g * (n * x ** (n - 1))
        except OverflowError:  # x^(n-1) alone overflows; the term g n x^(n-1) may not
            return _pow_term_by_logs(g, x, n)
    return g * (n * x ** (n - 1))


def _refuse_infinite_slope(xd: float, nd: float) -> None:
    if xd == 0 and nd < 1 and nd != 0:   # 0 < n < 1 (a negative n at 0: the forward refused)
        raise InfiniteSlopeError(f"pow: the derivative of x ** {nd:g} is infinite at x = 0 (n x^(n-1) "
                                 f"with n - 1 = {nd - 1:g} < 0): there is no gradient there; move the "
                                 "base off 0 (e.g. (x*x + 1e-12) ** 0.5 for a norm)")


def _at_zero(x):
    """[x = 0] as a node: 1.0 at x = 0, else 0.0, recomputed with the graph (`GREATER`)."""
    return 1.0 - GREATER(x, 0.0) - GREATER(0.0, x)


def _pow_dx_graph(g, x, n, at0):
    """`_pow_dx` for a Value exponent n, as a graph that makes its choices again whenever it is
    computed (built at x = 0 or not, the same nodes): g n' x^(n - 1 + [x = 0][n = 0]), where
    n' = n for x != 0 and floor(n) at x = 0 (``at0`` is [x = 0]).

    At base 0 the exponent's partials are taken along x = 0, where 0^y is 0 for every y > 0: d/dy x^y
    is 0 there (the vjp's log at 0), and so is d/dy of this term, n x^(n-1) with n held; both mixed
    second partials are then 0 and agree (at y = 1 the true ones diverge: x^(y-1)(1 + y log x) -> -inf).
    floor(n) holds n (its derivative is 0) and is n wherever it counts: at x = 0 the term and its
    derivatives in x, n(n-1)...(n-k) 0^(n-k-1), are not 0 only for an integer n. At x = 0 with n = 0 the
    exponent is 0, not -1 (0^-1 divides by zero), so the term is 0 · 1 = 0, as x^0's slope is."""
    _refuse_infinite_slope(_number(x), _number(n))
    held = _select(at0, FLOOR(n), n)             # n, or floor(n) at x = 0: to the bit where it counts
    exponent = n - 1.0 + at0 * (1.0 - GREATER(n, 0.0))   # n - 1, or 0 at x = 0 with n = 0 (n >= 0 there)
    return g * (held * x ** exponent)


def _pow_term_by_logs(g: float, x: float, n: float) -> float:
    """g n x^(n-1) as ±exp(log|g| + log|n| + (n-1) log|x|), for when x^(n-1) overflows but the term
    need not (x = 1e-310, n = 1e-10: 1e300), to about 1e-13 relative (exp amplifies the rounding of
    the sum); math.exp's OverflowError says when the term really overflows.
    A negative x comes with an integer n (checked by the forward), so the sign is (-1)^(n-1)."""
    if g == 0:
        return 0.0
    sign = math.copysign(1.0, g) * math.copysign(1.0, n) * (-1.0 if x < 0 and (n - 1) % 2 else 1.0)
    return sign * math.exp(math.log(abs(g)) + math.log(abs(n)) + (n - 1) * math.log(abs(x)))


POW = define("pow", "**", 2, _pow_fwd, _pow_vjp, ("{y}·{x}^({y} − 1)", "{o}·log {x}"), _pow_batch,
             keeps_finite=True)


@lru_cache(maxsize=256)
def pow_const(n: float) -> Primitive:
    """The primitive ``x ** n`` for a constant exponent n (a one-input node, shown as ``**n``);
    d/dx x^n = n x^(n-1), and 0 for n = 0 (also at x = 0, where n x^(n-1) would divide by zero)."""
    def vjp(g, out, x):
        return (_pow_dx(g, x, n),)
    shown = int(n) if n == int(n) else n
    return Primitive("pow_const", f"**{shown}", 1, lambda x: _pow_fwd(x, n), vjp, ("{n}·{x}^{n1}",),
                     lambda x: _pow_batch(x, n), None, {"n": n}, keeps_finite=True)


# ---- exp, log ------------------------------------------------------------------------------------

def _exp_fwd(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp: exp({x!r}) overflows a float (the largest finite input is about "
                            "709.78); scale the input down or use a stable formulation") from None


def _exp_batch(x):
    np = _np()
    with np.errstate(all="ignore"):
        return _finite("exp", np.exp(x), " (the largest finite input is about 709.78); scale the input down")


def _log_fwd(x: float) -> float:
    if x <= 0:
        raise ValueError(f"log: log({x!r}) is undefined; log needs an input > 0")
    return math.log(x)


def _log_batch(x):
    np = _np()
    if (x <= 0).any():
        raise ValueError(f"log: undefined at {first_bad(x <= 0)}; log needs inputs > 0")
    return np.log(x)


EXP = define("exp", "exp", 1, _exp_fwd, lambda g, out, x: (g * out,),   # d/dx e^x = e^x
             ("e^{x}",), _exp_batch, "exp", keeps_finite=True)
LOG = define("log", "log", 1, _log_fwd, lambda g, out, x: (g / x,),     # d/dx log x = 1/x
             ("1/{x}",), _log_batch, "log", keeps_finite=True)


# ---- tanh, sigmoid, relu -------------------------------------------------------------------------

def _sigmoid_fwd(x: float) -> float:
    # Two branches so that exp never sees a large positive argument: sigmoid(-1000) is 0.0, no overflow.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _sigmoid_batch(x):
    np = _np()
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _step(x):
    """Heaviside step with H(0) = 0: the derivative of relu; 0.0/1.0 entries for an array. For a Value,
    the node [x > 0] (`GREATER`, derivative 0), so that a gradient graph recomputes it."""
    if _is_node(x):
        return GREATER(x, 0.0)
    x = _number(x)
    if is_array(x):
        return (x > 0).astype(float)
    return 1.0 if x > 0 else 0.0


def _select(h, a, b):
    """a h + b (1 - h) for a node h that holds 1 or 0 (`GREATER`): ``a`` or ``b``, to the bit (but the
    sign of a zero), as a graph that recomputes the choice. a and b are finite wherever it is used."""
    return a * h + b * (1.0 - h)


def _tanh_vjp(g, out, x):
    # d/dx tanh x = 1 - tanh(x)^2 = sech(x)^2. Where tanh x rounds towards ±1 (|x| >= 1), 1 - tanh² loses
    # every digit (0.0 at x = 20); there sech² = 4t / (1 + t)² with t = e^(-2|x|) keeps them all.
    xd = _number(x)
    # Past |x| = 400, sech² x < 4e^-800 rounds to 0: the exponent is clipped there, so that -2|x| never
    # overflows (x = 1e308).
    if _is_node(x):   # the choice of formula made by a node, recomputed with the graph: sech² x
        return (g * SECH2(x),)
    if is_array(xd):
        np = _np()
        t = np.exp(-2 * np.minimum(np.abs(xd), 400.0))
        return (g * np.where(np.abs(xd) < 1, 1 - out * out, 4 * t / ((1 + t) * (1 + t))),)
    if -1 < xd < 1:
        return (g * (1 - out * out),)
    if not -400 < xd < 400:
        return (g * 0.0,)
    t = EXP(x * (-2.0 if xd > 0 else 2.0))       # the sign is constant here, so this stays smooth
    return (g * (4 * t / ((1 + t) * (1 + t))),)


TANH = define("tanh", "tanh", 1, math.tanh,                 # stable for every finite x: saturates to ±1
              _tanh_vjp, ("(1 − {o}²)",), lambda x: _np().tanh(x), "tanh", keeps_finite=True)


def _sech2(x: float) -> float:
    """sech² x = d/dx tanh x, as tanh's rule computes it on numbers (its formula chosen by |x|)."""
    return _tanh_vjp(1.0, math.tanh(x), x)[0] if x == x else x   # NaN stays NaN: refused


def _sech2_batch(x):
    return _tanh_vjp(1.0, _np().tanh(x), x)[0]


# tanh's derivative as one node, for the gradient graphs of create_graph: its formula is chosen by |x|
# (for precision in the tails), a choice that the node makes again whenever it is computed.
# d/dx sech² x = −2 tanh x sech² x.
SECH2 = define("sech2", "sech²", 1, _sech2, lambda g, out, x: (g * (out * TANH(x) * -2.0),),
               ("−2·tanh({x})·{o}",), _sech2_batch, keeps_finite=True)
# d/dx σ(x) = σ(x) (1 - σ(x)) = σ(x) σ(-x): the second form keeps full relative precision in both tails
SIGMOID = define("sigmoid", "σ", 1, _sigmoid_fwd,
                 lambda g, out, x: (g * (out * SIGMOID(-x)),),
                 ("{o}(1 − {o})",), _sigmoid_batch, "sigmoid", keeps_finite=True)
RELU = define("relu", "relu", 1, lambda x: x if x > 0 else 0.0 if x <= 0 else x,  # NaN stays NaN: refused
              lambda g, out, x: (g * _step(x),),             # 1 if x > 0 else 0 (also at 0)
              ("[{x} > 0]",), lambda x: _np().maximum(x, 0.0), "relu", keeps_finite=True)
# [x > y] as 1.0 or 0.0, derivative 0 for both: the choices that derivative rules make on values
# (relu's step, abs' sign, max's share, tanh's formula), as nodes of a gradient graph built with
# create_graph, so that building it again or replaying it (autodiff.compile) recomputes them.
GREATER = define("greater", ">", 2, lambda x, y: 1.0 if x > y else 0.0 if x <= y else x + y,  # NaN: refused
                 lambda g, out, x, y: (0.0 * g, 0.0 * g),     # piecewise constant
                 ("0", "0"), lambda x, y: _np().where(x > y, 1.0, _np().where(x <= y, 0.0, x + y)),
                 keeps_finite=True)


# floor(x) as a float, derivative 0 (piecewise constant): holds pow's exponent at base 0 in a gradient
# graph (`_pow_dx_graph`), where only an integer exponent gives a term that is not 0.
FLOOR = define("floor", "floor", 1, lambda x: float(math.floor(x)) if math.isfinite(x) else x,  # NaN: refused
               lambda g, out, x: (0.0 * g,), ("0",), lambda x: _np().floor(x), keeps_finite=True)


# ---- the fused neuron and the sum over examples --------------------------------------------------

def stacked(ws, xs):
    """For a batch: the weights as a vector and the inputs as one (n, N) matrix, when every weight is
    one number and the inputs are examples (arrays, or numbers shared by every example); else None."""
    np = _np()
    try:
        w = np.fromiter(ws, float, len(ws))       # a list of floats: 3x faster than np.array
    except (TypeError, ValueError):
        return None
    try:
        X = np.array(xs, dtype=float)             # the usual case: every input holds the batch
    except (TypeError, ValueError):               # some inputs are shared numbers, or batches of
        if len({x.shape for x in xs if is_array(x)}) > 1:   # other sizes: the neuron's forward refuses
            return None
        X = np.stack(np.broadcast_arrays(*xs))
    return (w, X) if w.ndim == 1 and X.ndim == 2 else None


def _threadpoolctl_installed() -> bool:
    """Whether threadpoolctl can be imported, found without importing it (well under 1 ms)."""
    from importlib.util import find_spec
    return find_spec("threadpoolctl") is not None   # None too where sys.modules blocks it (None)


#: The BLAS threads batched mode lets a matrix product use (None: numpy's own choice, one per core).
#: A product big enough for the BLAS to split it across threads (thousands of points) waits for
#: every thread, and on a machine whose cores are busy each thread spins for a core it shares: 330 ms
#: instead of 1.5 ms was measured at 10,000 points on 2 loaded cores. Needs ``threadpoolctl``
#: (``pip install 'deltagrad[batched]'``): without it the limit cannot be applied, so this reads None
#: (numpy's threads, as they are) and the first big product warns once (`BLASThreadsWarning`).
BLAS_THREADS: int | None = 1 if _threadpoolctl_installed() else None
# Multiply-adds from which a product is limited: below OpenBLAS's own thresholds for starting threads
# (a matrix-vector product from ~9,000, a matrix product from ~260,000), so small products pay nothing.
_THREADED_GEMV, _THREADED_GEMM = 8_192, 65_536
_controller = None    # threadpoolctl's controller once a big product needed it; False without it
_UNLIMITED = nullcontext()


class BLASThreadsWarning(RuntimeWarning):
    """Batched mode cannot limit numpy's BLAS threads: threadpoolctl is not installed."""


def blas_threads(size: int, matrix: bool = True):
    """A context in which a product of ``size`` multiply-adds (``matrix``: of two matrices, else of a
    matrix and a vector) uses at most `BLAS_THREADS` threads; a null context for a small product, with
    `BLAS_THREADS` None, or without threadpoolctl. Process-wide while it lasts, as BLAS settings are.

    At a big product, `BLAS_THREADS` must be a positive int or None: else TypeError (not an int, a bool
    included) or ValueError (0 or less), naming it. Without threadpoolctl, the first big product warns
    (`BLASThreadsWarning`, naming what to install) and sets `BLAS_THREADS` to None, the threads numpy
    then uses; a count set by hand later cannot be applied either: the next big product warns again,
    naming it, and puts it back to None."""
    global _controller, BLAS_THREADS
    if size < (_THREADED_GEMM if matrix else _THREADED_GEMV):
        return _UNLIMITED
    threads = BLAS_THREADS if BLAS_THREADS is None else _checked_threads(BLAS_THREADS)
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controller = False
            _warn_unlimited(threads)
        else:
            _controller = ThreadpoolController()   # finds the loaded BLAS once (~0.5 ms)
    elif _controller is False and threads is not None:   # a count set by hand since the first warning
        _warn_unlimited(threads)
    if _controller is False:
        BLAS_THREADS = None
        return _UNLIMITED
    if threads is None:
        return _UNLIMITED
    return _controller.limit(limits=threads, user_api="blas")   # ~10 µs in and out


def _checked_threads(threads) -> int:
    """`BLAS_THREADS` as an int: TypeError or ValueError, naming it, for what is not a count."""
    what = "autodiff.primitives.BLAS_THREADS"
    todo = "set it to a positive int (the BLAS threads a big product may use) or None (numpy's own)"
    if isinstance(threads, bool) or not hasattr(threads, "__index__"):
        raise TypeError(f"{what} is {threads!r} (a {type(threads).__name__}); {todo}")
    if threads < 1:
        raise ValueError(f"{what} is {threads!r}; {todo}")
    return int(threads)


def _warn_unlimited(threads: int | None) -> None:
    """Warn that without threadpoolctl numpy's BLAS threads are not limited (`BLAS_THREADS` is None)."""
    import warnings
    asked = (f"autodiff.primitives.BLAS_THREADS = {threads} cannot be applied and is None again"
             if threads is not None else "autodiff.primitives.BLAS_THREADS is None")
    warnings.warn("batched mode: threadpoolctl is not installed, so numpy's BLAS threads are not "
                  "limited for big products (on a busy machine they can make a product dozens of "
                  f"times slower); {asked}. Install it: pip install 'deltagrad[batched]'",
                  BLASThreadsWarning, stacklevel=3)


def _neuron_fwd(*inputs):
    # Same order of additions as w0*x0 + w1*x1 + ... + b built from binary nodes: bit-identical.
    n = len(inputs) // 2
    if inputs[n].__class__ is not float and (s := stacked(inputs[:n], inputs[n:-1])):
        w, X = s
        with blas_threads(X.size, matrix=False):
            return w @ X + inputs[-1]             # a batch: one matrix product over the examples
    z = 0.0
    for w, x in zip(inputs[:n], inputs[n:2 * n], strict=True):
        z = z + w * x
    return z + inputs[-1]


def _neuron_vjp(g, out, *inputs):
    # z = Σ_k w_k x_k + b over inputs (w_1..w_n, x_1..x_n, b):  dz/dw_k = x_k,  dz/dx_k = w_k,  dz/db = 1
    n = len(inputs) // 2
    if is_array(g) and (s := stacked(inputs[:n], inputs[n:-1])):
        # A batch: each weight (one number) gets Σ_i g_i x_ik, all in one product; each input g w_k.
        w, X = s
        b = inputs[-1]
        with blas_threads(X.size, matrix=False):
            Xg = X @ g
        return (*Xg.tolist(), *_np().multiply.outer(w, g), g if is_array(b) else float(g.sum()))
    return (*[g * x for x in inputs[n:2 * n]], *[g * w for w in inputs[:n]], g)


def like(g, x):
    """``g`` spread over every example of ``x`` (an array of g's when x is a batch, else g)."""
    if is_array(x) and not is_array(g):
        return _np().full(x.shape, g)
    return g


# n-ary: z = Σ_k w_k x_k + b as one node (a fused neuron), inputs (w_1..w_n, x_1..x_n, b); its text
# is each input's partner (dz/dw_k = x_k, dz/dx_k = w_k, dz/db = 1), written by `autodiff.steps`.
NEURON = define("neuron", "Σwx+b", -1, _neuron_fwd, _neuron_vjp, "{partner}", _quiet(_neuron_fwd))
def _examples_sum(x) -> float:
    return float(x.sum())


# the sum over the examples of a batch (see autodiff.batched); one example: the identity
EXAMPLES_SUM = define("examples_sum", "Σ examples", 1, lambda x: x,
                      lambda g, out, x: (like(g, x),),        # d/dx_i Σ_i x_i = 1 for every example
                      "1", _quiet(_examples_sum))   # a sum that overflows: `apply` refuses it


def _sum_squares(*xs):
    # ((x_1² + x_2²) + x_3²) + ...: the additions of the graph x_1*x_1 + x_2*x_2 + ..., to the bit
    total = xs[0] * xs[0]
    for x in xs[1:]:
        total = total + x * x
    return total


@lru_cache(maxsize=64)
def sum_squares_op(scale: float = 1.0) -> Primitive:
    """The primitive s = c Σ_k x_k² with a constant scale c, n-ary: `nn.l2`'s λ/2 Σ w² as one node
    (c = λ/2). ∂s/∂x_k = 2c x_k (for an input passed twice, the two terms add up, as in any graph).

    To the bit what the graph c · (x_1*x_1 + x_2*x_2 + ...) computes: the sum in that order, then
    times c, and backward t + t with t = (upstream · c) · x_k, the two terms of x_k·x_k (so subnormal
    gradients round as the graph's do). {x} in its text is the input
    the derivative is for; c = 1 is the table's row ``sum_squares``, shown as Σx² with text 2·x.
    ValueError for a scale that is not a finite number.
    """
    r = as_real(scale)   # ±inf for an int beyond the floats
    if r is None or not math.isfinite(r):
        raise ValueError(f"sum_squares: the scale must be a finite number, got {quoted(scale)}")
    scale = r

    def forward(*xs):
        return _sum_squares(*xs) * scale

    def vjp(g, out, *xs):
        if scale != 1.0:            # g · c first, as the graph's multiplication by c hands it on
            g = g * scale
        # t + t with t = (g·c)·x: x·x's two terms, as the graph adds them (to the bit, subnormals too)
        return tuple([t + t for t in [g * x for x in xs]])
    one = scale == 1.0
    return Primitive("sum_squares", "Σx²" if one else f"{scale:g}·Σx²", -1, forward, vjp,
                     "2·{x}" if one else f"{2 * scale:g}·{{x}}", _quiet(forward), None,
                     {"scale": scale})


def sum_squares_scale(op: Primitive) -> float | None:
    """c if ``op`` is `sum_squares_op` (c) with its own rule, else None: what lets an executor inline
    the rule (a copy of the row given another rule is not recognised, so its rule runs)."""
    return op.consts["scale"] if getattr(op.vjp, "__code__", None) is _SUM_SQUARES_RULE else None


# ---- issue 17: log-sum-exp, so that softmax's stability shift is recomputed with every forward -----

def _logsumexp(*zs):
    # log Σ_k e^{z_k} = m + log Σ_k e^{z_k − m} with m = max_k z_k: every exponent <= 0, no overflow
    m = max(zs)
    total = 0.0
    for z in zs:
        total = total + math.exp(z - m)
    return m + math.log(total)


def _logsumexp_batch(*zs):
    np = _np()
    m = np.maximum.reduce(np.broadcast_arrays(*zs))
    total = 0.0
    for z in zs:
        total = total + np.exp(z - m)
    return m + np.log(total)


def _logsumexp_vjp(g, out, *zs):
    # ∂/∂z_j log Σ_k e^{z_k} = e^{z_j − out} = softmax(z)_j
    if out.__class__ is float:
        return tuple([g * math.exp(z - out) for z in zs])
    return tuple([g * EXP(z - out) for z in zs])


# n-ary: the stable log-sum-exp of `nn.log_softmax`, `softmax` and `cross_entropy` (as PyTorch's
# torch.logsumexp). A primitive, not a shift by max z held as a constant, so that a compiled graph
# recomputes the shift from the logits' current values (and a graph built afresh does the same).
LOGSUMEXP = define("logsumexp", "logΣexp", -1, _logsumexp, _logsumexp_vjp, "e^({x} − {o})",
                   _quiet(_logsumexp_batch))


# ---- issue 13: more primitives, and where a derivative does not exist ------------------------------

class InfiniteSlopeError(ArithmeticError):
    """A derivative that does not exist because the slope is infinite (sqrt at 0, x ** 0.5 at 0)."""


def _infinite_slope(name: str, x, formula: str, fix: str):
    """Raise InfiniteSlopeError if ``x`` (a number, Value or array) is 0 where ``formula`` is infinite."""
    xd = _number(x)
    if is_array(xd):
        if (xd == 0).any():
            raise InfiniteSlopeError(f"{name}: the derivative {formula} is infinite at 0 "
                                     f"({first_bad(xd == 0)}): there is no gradient there; {fix}")
    elif xd == 0:
        raise InfiniteSlopeError(f"{name}: the derivative {formula} is infinite at 0 (an infinite "
                                 f"slope): there is no gradient there; {fix}")


def _where(cond, a, b):
    """``a`` where ``cond`` holds, else ``b``: per example for an array condition."""
    if is_array(cond):
        return _np().where(cond, a, b)
    return a if cond else b


def _map(f):
    """A float function applied to every example of an array (for erf/erfc, which numpy lacks)."""
    return lambda x: _np().frompyfunc(f, 1, 1)(x).astype(float)


def _sqrt_fwd(x: float) -> float:
    if x < 0:
        raise ValueError(f"sqrt: sqrt({x!r}) is not a real number; sqrt needs an input >= 0")
    return math.sqrt(x)


def _sqrt_batch(x):
    if (x < 0).any():
        raise ValueError(f"sqrt: negative input at {first_bad(x < 0)}; sqrt needs inputs >= 0")
    return _np().sqrt(x)


def _sqrt_vjp(g, out, x):
    _infinite_slope("sqrt", out, "1/(2 sqrt(x))", "move the input off 0, e.g. sqrt(x + 1e-12)")
    return (g * (0.5 / out),)                     # d/dx sqrt x = 1 / (2 sqrt x)


def _sign(x):
    """sign(x) with sign(0) = 0 (PyTorch's convention for abs' derivative); piecewise constant."""
    if _is_node(x):
        return GREATER(x, 0.0) - GREATER(0.0, x)     # 1 - 0, 0 - 1 or 0 - 0: as a node, recomputed
    xd = _number(x)
    if is_array(xd):
        return _np().sign(xd)
    return 1.0 if xd > 0 else -1.0 if xd < 0 else 0.0


def _softplus_fwd(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))   # log(1 + e^x) without overflow


def _softplus_batch(x):
    np = _np()
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))     # Φ(x), full relative precision in the left tail


def _normal_pdf(x):
    """φ(x) = e^(-x²/2) / √(2π). Past |x| = 40 it is below e^-800 and rounds to 0, and so does x φ(x),
    so x² (which overflows from |x| ≈ 1.3e154) is never formed there."""
    if _is_node(x):   # the clip as a node: |x|·|x| is x·x to the bit, and its derivative 2x too
        c = MINIMUM(ABS(x), 40.0)
        return EXP(c * c * -0.5) * (1 / math.sqrt(2 * math.pi))
    xd = _number(x)
    if is_array(xd):
        np = _np()
        c = np.minimum(np.abs(xd), 40.0)
        return np.exp(c * c * -0.5) * (1 / math.sqrt(2 * math.pi))
    if not -40 < xd < 40:
        return 0.0
    return EXP(x * x * -0.5) * (1 / math.sqrt(2 * math.pi))


SQRT = define("sqrt", "sqrt", 1, _sqrt_fwd, _sqrt_vjp, ("1/(2·{o})",), _sqrt_batch, "sqrt",
              keeps_finite=True)
ABS = define("abs", "abs", 1, abs, lambda g, out, x: (g * _sign(x),),        # sign(x), 0 at 0
             ("sign({x})",), lambda x: _np().abs(x), "abs", keeps_finite=True)
SIN = define("sin", "sin", 1, math.sin, lambda g, out, x: (g * COS(x),),     # d/dx sin x = cos x
             ("cos {x}",), lambda x: _np().sin(x), "sin", keeps_finite=True)
COS = define("cos", "cos", 1, math.cos, lambda g, out, x: (-(g * SIN(x)),),  # d/dx cos x = -sin x
             ("−sin {x}",), lambda x: _np().cos(x), "cos", keeps_finite=True)
SOFTPLUS = define("softplus", "softplus", 1, _softplus_fwd,
                  lambda g, out, x: (g * SIGMOID(x),),                     # d/dx log(1 + e^x) = σ(x)
                  ("σ({x})",), _softplus_batch, "softplus", keeps_finite=True)
# Φ, the standard normal CDF, a primitive so that gelu's derivative can be differentiated again.
NORMAL_CDF = define("normal_cdf", "Φ", 1, _normal_cdf, lambda g, out, x: (g * _normal_pdf(x),),
                    ("φ({x})",), _map(_normal_cdf), keeps_finite=True)
GELU = define("gelu", "gelu", 1, lambda x: x * _normal_cdf(x),
              lambda g, out, x: (g * (NORMAL_CDF(x) + x * _normal_pdf(x)),),  # Φ(x) + x φ(x)
              ("Φ({x}) + {x}·φ({x})",), lambda x: x * _map(_normal_cdf)(x), "gelu", keeps_finite=True)


def _max_share(x, y):
    """(∂max/∂x, ∂max/∂y): 1 to the larger input, half each at a tie (as PyTorch's maximum)."""
    if _is_node(x) or _is_node(y):   # [x > y] + ½ (1 - [x > y] - [y > x]): 1, ½ or 0, as nodes
        above = GREATER(x, y)
        a = above + 0.5 * (1.0 - above - GREATER(y, x))
        return a, 1.0 - a
    xd, yd = _number(x), _number(y)
    a = _where(xd > yd, 1.0, _where(xd == yd, 0.5, 0.0))
    return a, 1.0 - a


def _max_fwd(x, y):
    """max(x, y) that is NaN when either is (the builtin gives 1.0 for max(1.0, nan)): refused after."""
    return y if y > x else x if x >= y else x + y


def _min_fwd(x, y):
    return y if y < x else x if x <= y else x + y


MAXIMUM = define("maximum", "max", 2, _max_fwd, lambda g, out, x, y: tuple(g * s for s in _max_share(x, y)),
                 ("[{x} > {y}] (½ at a tie)", "[{y} > {x}] (½ at a tie)"),
                 lambda x, y: _np().maximum(x, y), "maximum", keeps_finite=True)
MINIMUM = define("minimum", "min", 2, _min_fwd, lambda g, out, x, y: tuple(g * s for s in _max_share(y, x)),
                 ("[{x} < {y}] (½ at a tie)", "[{y} < {x}] (½ at a tie)"),
                 lambda x, y: _np().minimum(x, y), "minimum", keeps_finite=True)


def _leaky_slope(x, slope: float):
    """1 if x > 0 else slope; for a Value, [x > 0] + slope (1 - [x > 0]) as nodes (1 or slope, exactly)."""
    if _is_node(x):
        above = GREATER(x, 0.0)
        return above + slope * (1.0 - above)
    return _where(_number(x) > 0, 1.0, slope)


@lru_cache(maxsize=64)
def leaky_relu_op(slope: float = 0.01) -> Primitive:
    """The primitive leaky_relu with negative slope ``slope``: x if x > 0 else slope·x; its derivative
    is 1 if x > 0 else slope (slope at 0, as PyTorch)."""
    s = f"{slope:g}"
    return Primitive("leaky_relu", "leaky_relu", 1, lambda x: x if x > 0 else slope * x,
                     lambda g, out, x: (g * _leaky_slope(x, slope),),
                     (f"[{{x}} > 0] + {s}·[{{x}} ≤ 0]",),
                     lambda x: _np().where(x > 0, x, slope * x), "leaky_relu", {"slope": slope},
                     keeps_finite=-1 <= slope <= 1)         # slope·x overflows for a slope beyond ±1


@lru_cache(maxsize=64)
def elu_op(alpha: float = 1.0) -> Primitive:
    """The primitive elu: x if x > 0 else α(e^x − 1); its derivative is 1 if x > 0 else α e^x (α e^x,
    not out + α, which rounds to 0 for x << 0). At the kink x = 0, as PyTorch: first derivative α,
    second derivative 0 (the derivative there is the constant α)."""
    a = f"{alpha:g}"

    def vjp(g, out, x):
        xd = _number(x)
        if _is_node(x):   # [x > 0] + [x <= 0] α e^min(x, 0), min(x, 0) = -relu(-x): slope 0 at the kink
            above = GREATER(x, 0.0)
            return (g * _select(above, 1.0, EXP(-RELU(-x)) * alpha),)
        if is_array(xd):
            np = _np()
            return (np.where(xd > 0, g, g * (alpha * np.exp(np.minimum(xd, 0.0)))),)
        if xd > 0:
            return (g,)
        return (g * alpha if xd == 0 else g * (EXP(x) * alpha),)
    return Primitive("elu", "elu", 1, lambda x: x if x > 0 else alpha * math.expm1(x), vjp,
                     (f"[{{x}} > 0] + {a}·e^{{x}}·[{{x}} ≤ 0]",),
                     lambda x: _np().where(x > 0, x, alpha * _np().expm1(_np().where(x > 0, 0.0, x))),
                     "elu", {"alpha": alpha}, keeps_finite=True)  # |α(e^x − 1)| <= |α| for x <= 0


LEAKY_RELU = PRIMITIVES["leaky_relu"] = leaky_relu_op(0.01)
SUM_SQUARES = PRIMITIVES["sum_squares"] = sum_squares_op(1.0)
_SUM_SQUARES_RULE = SUM_SQUARES.vjp.__code__
ELU = PRIMITIVES["elu"] = elu_op(1.0)
_building = False
