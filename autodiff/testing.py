"""Checks for test suites, in the style of ``numpy.testing`` and ``torch.testing``: `assert_derivative`
puts a hand-derived derivative (text or a function) against the engine at a point and at many seeded
random points; `assert_gradients_close` compares gradients entry by entry. Both name the input and the size.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from autodiff.engine import Value
from autodiff.functional import grad
from autodiff.parse import ExpressionError, parse_expression
from autodiff.primitives import as_real, quoted

__all__ = ["assert_derivative", "assert_gradients_close", "check_derivative", "DerivativeCheck",
           "DerivativeMismatch", "RANGE"]

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
RANGE = (-3.0, 3.0)  # where random points are drawn for an input without a range of its own


class DerivativeMismatch(AssertionError):
    """The derivative given and the engine's disagree at some point (the message says where)."""


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def _relative(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale > 0 else 0.0


def _point_text(point: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items())


# ---- gradients against gradients ------------------------------------------------------------------

def _entries(x: object, what: str) -> list[tuple[str, float]]:
    """(name, number) pairs of a mapping name -> number/Value, of a sequence (names "[i]") or of a numpy
    array (names "[i, j]"); a Value stands for its ``.grad`` and must have one."""
    def number(v: object, name: str) -> float:
        if isinstance(v, Value):
            if not v.has_grad:
                raise ValueError(f"{what}{name} is a Value that no backward pass reached (has_grad is "
                                 "False); call .backward() on the output first, or pass numbers")
            v = v.grad
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{what}{name} must be a number or a Value (its .grad is used), got "
                            f"{type(v).__name__} {v!r:.40}")
        return float(v)

    if isinstance(x, Mapping):
        return [(str(k), number(v, f"[{k!r}]")) for k, v in x.items()]
    if hasattr(x, "__array__") and hasattr(x, "shape"):  # a numpy array; numpy is imported only here
        import numpy as np
        try:
            array = np.asarray(x, dtype=float)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{what} is an array that is not numeric ({e})") from None
        return [(f"[{', '.join(map(str, i))}]", float(v)) for i, v in np.ndenumerate(array)]
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        raise TypeError(f"{what} must be a list of numbers or Values, a numpy array, or a dict name -> "
                        f"number, got {type(x).__name__}")
    return [(f"[{i}]", number(v, f"[{i}]")) for i, v in enumerate(x)]


def _same(a: float, e: float, rtol: float, atol: float, equal_nan: bool) -> bool:
    if math.isnan(a) or math.isnan(e):
        return equal_nan and math.isnan(a) and math.isnan(e)
    if math.isinf(a) or math.isinf(e):
        return a == e  # inf equals inf of the same sign, as in numpy
    return _close(a, e, rtol, atol)


def assert_gradients_close(actual: object, expected: object, *, rtol: float = 1e-7, atol: float = 1e-12,
                           equal_nan: bool = False, names: Sequence[str] | None = None,
                           msg: str = "") -> None:
    """Raise AssertionError unless every ``|actual − expected| ≤ atol + rtol · max(|actual|, |expected|)``.

    ``actual`` and ``expected`` are lists (a `Value` counts as its ``.grad``; ValueError for a Value no
    backward pass reached), numpy arrays (any shape, flattened in C order) or dicts name -> number of
    the same length; ``names`` names the entries of lists (default ``[0]``, ``[1]``, ...). As in
    ``numpy.testing.assert_allclose``, inf equals inf of the same sign, and NaN equals NaN only with
    ``equal_nan=True``. ValueError for a negative or non-finite ``rtol``/``atol``. The message,
    like ``numpy.testing.assert_allclose``'s, counts the mismatches, gives the largest absolute and
    relative difference, and lists each mismatched input with both numbers:

        gradients not close: 1 of 3 entries differ (rtol 1e-07, atol 1e-12)
          w1: actual -1.0, expected 1.0, |diff| 2.0, relative 1.0
    """
    for name, tol in (("rtol", rtol), ("atol", atol)):
        t = as_real(tol)   # ±inf for an int beyond the floats
        if t is None or not 0 <= t < math.inf:
            raise ValueError(f"assert_gradients_close: {name} must be a finite number >= 0, got "
                             f"{quoted(tol, 40)}")
    got, want = _entries(actual, "actual"), _entries(expected, "expected")
    if len(got) != len(want):
        raise AssertionError(f"{msg + ': ' if msg else ''}gradients not close: actual has {len(got)} "
                             f"entries, expected {len(want)}")
    if isinstance(actual, Mapping) and isinstance(expected, Mapping) and set(actual) != set(expected):
        raise AssertionError(f"{msg + ': ' if msg else ''}gradients not close: the names differ: actual "
                             f"{sorted(map(str, actual))}, expected {sorted(map(str, expected))}")
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        want = [(k, dict(want)[k]) for k, _ in got]
    if names is not None:
        if len(names) != len(got):
            raise ValueError(f"assert_gradients_close: {len(names)} names for {len(got)} entries")
        got = [(str(n), v) for n, (_, v) in zip(names, got, strict=True)]
    bad = []
    for (name, a), (_, e) in zip(got, want, strict=True):
        if not _same(a, e, rtol, atol, equal_nan):
            why = (" (nan is not equal to anything; pass equal_nan=True to count nan == nan)"
                   if math.isnan(a) or math.isnan(e) else "")
            bad.append(f"  {name}: actual {a!r}, expected {e!r}, |diff| {abs(a - e):.3g}, "
                       f"relative {_relative(a, e):.3g}{why}")
    if bad:
        pairs = [(a, e) for (_, a), (_, e) in zip(got, want, strict=True)
                 if not _same(a, e, rtol, atol, True)]
        worst_abs = max(abs(a - e) for a, e in pairs) if pairs else math.nan
        worst_rel = max(_relative(a, e) for a, e in pairs) if pairs else math.nan
        raise AssertionError(f"{msg + ': ' if msg else ''}gradients not close: {len(bad)} of {len(got)} "
                             f"entries differ (rtol {rtol:g}, atol {atol:g}); largest |diff| "
                             f"{worst_abs:.3g}, largest relative {worst_rel:.3g}\n" + "\n".join(bad))


# ---- a derivative against the engine ---------------------------------------------------------------

@dataclass
class DerivativeCheck:
    """`check_derivative`'s result: one (point, engine, given) triple per point checked, the given point
    first. ``worst`` is the point of the largest relative error; ``agree`` whether every point agrees."""

    wrt: tuple[str, ...]
    points: list[tuple[dict[str, float], float, float]]
    rtol: float
    atol: float
    seed: object = None
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    skipped: int = 0  # random points out of the domain of f or of the derivative

    def _failing(self) -> list[tuple[dict[str, float], float, float]]:
        return [p for p in self.points if not _close(p[1], p[2], self.rtol, self.atol)]

    @property
    def agree(self) -> bool:
        """True when every point checked agrees and, if random points were asked for, at least one of
        them could be checked (else the check proved nothing beyond the given point)."""
        return not self._failing() and not self.none_checked

    @property
    def none_checked(self) -> bool:
        """Random points were asked for, but every one drawn was outside the domain."""
        return len(self.points) == 1 and self.skipped > 0

    def __bool__(self) -> bool:
        return self.agree

    @property
    def max_abs(self) -> float:
        return max(abs(e - d) for _, e, d in self.points)

    @property
    def max_rel(self) -> float:
        return max(_relative(e, d) for _, e, d in self.points)

    @property
    def worst(self) -> tuple[dict[str, float], float, float]:
        """The first point that disagrees, else the point of the largest relative error."""
        failing = self._failing()
        return failing[0] if failing else max(self.points, key=lambda p: _relative(p[1], p[2]))

    def __str__(self) -> str:
        n = len(self.wrt)
        top = "∂" + str(n).translate(_SUPERSCRIPT) if n > 1 else "∂"
        d = (f"∂{self.wrt[0]}{top[1:]}" if len(set(self.wrt)) == 1 else "".join(f"∂{w}" for w in self.wrt))
        point, engine, given = self.points[0]
        lines = [f"{top}f/{d} at {_point_text(point)}: engine {engine!r}, given {given!r}"]
        n = len(self.points) - 1
        where = ", ".join(f"{k} in [{lo:g}, {hi:g}]" for k, (lo, hi) in self.ranges.items())
        if n or self.skipped:
            out = (f"{self.skipped} drawn outside the domain of f or of the derivative were skipped"
                   if self.skipped else "none drawn outside the domain")
            lines.append(f"and at {n} random points (seed {self.seed}; {where}); {out}")
        lines.append(f"largest error: |diff| {self.max_abs:.3g}, relative {self.max_rel:.3g} (tolerance "
                     f"{self.rtol:g} relative + {self.atol:g})")
        bad = self._failing()
        if self.none_checked and not bad:
            lines.append(f"NOT CHECKED: none of the {self.skipped} random points drawn ({where}) lies in "
                         "the domain; give ranges inside it (--range x=0.1:5)")
        elif bad:
            point, engine, given = bad[0]
            lines.append(f"DISAGREE at {len(bad)} of {len(self.points)} points; first at "
                         f"{_point_text(point)}:\n  engine {engine!r}\n  given  {given!r}\n  |diff| "
                         f"{abs(engine - given):.3g}, relative {_relative(engine, given):.3g}")
        else:
            lines.append("agree")
        return "\n".join(lines)


Function = str | Callable[..., Value]


def _evaluator(f: Function) -> Callable[[dict[str, float]], tuple[Value, dict, dict]]:
    """point -> (root, {name: leaf}, {name: value of a named intermediate}) for an expression text
    (``n = x*w + b; tanh(n)`` names n) or a function of one `Value` per input (no intermediates)."""
    if isinstance(f, str):
        def run(point):
            parsed = parse_expression(f, **point)
            return parsed.root, parsed.leaves, {k: v.data for k, v in parsed.nodes.items()}
        return run
    if not callable(f):
        raise TypeError(f"f must be an expression (str) or a function of Values, got {type(f).__name__}")

    def call(point):
        leaves = {k: Value(v, k) for k, v in point.items()}
        out = f(*leaves.values())
        if not isinstance(out, Value):
            raise TypeError(f"f must return a Value, got {type(out).__name__} {out!r:.40}")
        return out, leaves, {}
    return call


def _derivative_value(derivative: Function, point: dict[str, float]) -> float:
    if isinstance(derivative, str):
        return parse_expression(derivative, **point).root.data
    if not callable(derivative):
        raise TypeError(f"derivative must be a formula (str) or a function of numbers, got "
                        f"{type(derivative).__name__}")
    out = derivative(*point.values())
    out = out.data if isinstance(out, Value) else out
    if isinstance(out, bool) or not isinstance(out, (int, float)):
        raise TypeError(f"derivative must return a number, got {type(out).__name__} {out!r:.40}")
    return float(out)


def _engine_derivative(run, point: dict[str, float], wrt: tuple[str, ...]) -> tuple[float, dict]:
    """The derivative, and f's named intermediates at the point (a formula may use them)."""
    root, leaves, named = run(point)
    missing = [w for w in wrt if w not in leaves]
    if missing:
        raise ValueError(f"wrt {', '.join(missing)}: f has no input of that name (its inputs: "
                         f"{', '.join(leaves) or 'none'})")
    g: Value | float = root
    for i, w in enumerate(wrt):
        g = grad(g, leaves[w], create_graph=i < len(wrt) - 1)
    return float(g), named


def _inputs(inputs: object) -> dict[str, float]:
    if isinstance(inputs, Mapping):
        point = dict(inputs)
    elif isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
        raise TypeError(f"inputs must be a dict name -> number (or a list of numbers for a function f), "
                        f"got {type(inputs).__name__}")
    else:
        point = {f"x{i}": v for i, v in enumerate(inputs)}
    for k, v in point.items():
        v = v.data if isinstance(v, Value) else v
        r = as_real(v) if isinstance(v, (int, float)) else None   # ±inf for an int beyond the floats
        if r is None or not math.isfinite(r):
            raise ValueError(f"inputs[{k!r}] must be a finite number, got {quoted(v, 40)}")
        point[k] = r
    return point


def check_derivative(f: Function, derivative: Function, inputs: Mapping[str, float] | Sequence[float], *,
                     wrt: str | int | Sequence[str | int] | None = None, order: int | None = None,
                     points: int = 100, rng: int | random.Random | None = 0,
                     ranges: Mapping[str, tuple[float, float]] | None = None,
                     rtol: float = 1e-7, atol: float = 1e-9) -> DerivativeCheck:
    """``derivative`` against the engine's derivative of ``f`` at ``inputs`` and at ``points`` random
    points; returns a `DerivativeCheck` (see `assert_derivative`, which raises instead)."""
    point = _inputs(inputs)
    names = list(point)
    if wrt is None:
        if len(names) != 1:
            raise ValueError(f"f has {len(names)} inputs ({', '.join(names)}); say which with wrt=")
        wrt = names[0]
    if isinstance(wrt, str):
        wrt = [w.strip() for w in wrt.split(",")]  # "x,y" as on the command line
    wrt_list = [wrt] if isinstance(wrt, int) else list(wrt)
    wrt_names = tuple(names[w] if isinstance(w, int) and 0 <= w < len(names) else w for w in wrt_list)
    for w in wrt_names:
        if w not in point:
            raise ValueError(f"wrt {w!r} is not one of the inputs ({', '.join(names)})")
    if order is not None:
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be a positive int, got {order!r}")
        if len(wrt_names) == 1:
            wrt_names = wrt_names * order
        elif len(wrt_names) != order:
            raise ValueError(f"order {order} but {len(wrt_names)} names in wrt ({', '.join(wrt_names)}); "
                             "give one name (differentiated order times) or one name per derivative")
    if isinstance(points, bool) or not isinstance(points, int) or points < 0:
        raise ValueError(f"points must be an int >= 0, got {quoted(points)}")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        t = as_real(tol) if isinstance(tol, (int, float)) else None   # ±inf for an int beyond the floats
        if t is None or not 0 <= t < math.inf:
            raise ValueError(f"{name} must be a finite number >= 0, got {quoted(tol, 40)}")
    box = {k: RANGE for k in names}
    for k, r in (ranges or {}).items():
        if k not in box:
            raise ValueError(f"ranges: {k!r} is not one of the inputs ({', '.join(names)})")
        lo, hi = (float(x) for x in r)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi and math.isfinite(hi - lo)):
            raise ValueError(f"ranges[{k!r}] must be (low, high) with low < high and a finite width "
                             f"high - low, got {r!r}")
        box[k] = (lo, hi)
    gen = rng if isinstance(rng, random.Random) else random.Random(rng)
    run = _evaluator(f)

    def at(p: dict[str, float]) -> tuple[dict[str, float], float, float]:
        # + 0.0 turns -0.0 (relu's slope times a negative number) into 0.0 for the messages
        engine, named = _engine_derivative(run, p, wrt_names)
        given = _derivative_value(derivative, {**named, **p} if isinstance(derivative, str) else p)
        return p, engine + 0.0, given + 0.0

    try:
        first = at(point)
    except ExpressionError as e:
        raise ExpressionError(f"at the given point {_point_text(point)}: {e}") from None
    if not (math.isfinite(first[1]) and math.isfinite(first[2])):
        raise ValueError(f"at the given point {_point_text(point)} the derivative is not finite (engine "
                         f"{first[1]!r}, given {first[2]!r}); choose another point")
    checked, skipped = [first], 0
    while len(checked) < points + 1 and skipped < 20 * points + 100:
        p = {k: gen.uniform(*box[k]) for k in names}
        try:
            result = at(p)
        except (ValueError, ArithmeticError):  # out of the domain (log of a negative number, x/0, ...)
            skipped += 1
            continue
        if math.isfinite(result[1]) and math.isfinite(result[2]):
            checked.append(result)
        else:
            skipped += 1
    seed = "given" if isinstance(rng, random.Random) else rng
    return DerivativeCheck(wrt_names, checked, rtol, atol, seed, box if points else {}, skipped)


def assert_derivative(f: Function, derivative: Function, inputs: Mapping[str, float] | Sequence[float],
                      *, wrt: str | int | Sequence[str | int] | None = None, order: int | None = None,
                      points: int = 100, rng: int | random.Random | None = 0,
                      ranges: Mapping[str, tuple[float, float]] | None = None,
                      rtol: float = 1e-7, atol: float = 1e-9) -> DerivativeCheck:
    """Raise `DerivativeMismatch` (an AssertionError) unless ``derivative`` equals the engine's
    derivative of ``f`` at ``inputs`` and at ``points`` random points; return the `DerivativeCheck`.

        assert_derivative("x * tanh(y)", "x * (1 - tanh(y)**2)", {"x": 0.5, "y": 1.2}, wrt="y")
        assert_derivative(lambda x: x.tanh(), lambda x: -2 * math.tanh(x) / math.cosh(x)**2, [0.3],
                          order=2)

    f           an expression in `autodiff.parse_expression`'s language, or a function taking one `Value`
                per input and returning a `Value`.
    derivative  a formula in the same language (it may use f's input names and the names f's
                statements assign, e.g. n in ``n = x*w + b; tanh(n)``), or a function
                taking one float per input (in the order of ``inputs``) and returning a float.
    inputs      the point: a dict name -> number, or (for a function f) a list, named x0, x1, ...
    wrt         the input (name or position) to differentiate by; a list for mixed partials,
                ``["x", "y"]`` = ∂²f/∂x∂y. Needed when f has several inputs.
    order       differentiate ``order`` times by the one ``wrt`` (``order=2``: ∂²f/∂x²).
    points      how many random points besides ``inputs``: each input drawn uniformly from
                ``ranges[name]`` (default `RANGE`, [−3, 3]), seeded by ``rng``; points where f or the
                derivative cannot be computed (log of a negative number, x/0) are outside the domain
                and skipped.
    rtol, atol  a point agrees when |engine − given| ≤ atol + rtol · max(|engine|, |given|).

    The engine's derivative of order k is k backward passes, ``autodiff.grad(..., create_graph=True)``.
    The message names the first point that disagrees, both numbers and the size of the difference.
    """
    result = check_derivative(f, derivative, inputs, wrt=wrt, order=order, points=points, rng=rng,
                              ranges=ranges, rtol=rtol, atol=atol)
    if not result.agree:  # also when no random point could be checked
        raise DerivativeMismatch(str(result))
    return result
