"""Numerical gradients by central differences, and `gradcheck`, which compares them with the engine.

    numerical_grad(f, [x, y])  ->  [(f(x+ε, y) - f(x-ε, y)) / 2ε,  (f(x, y+ε) - f(x, y-ε)) / 2ε]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable

from autodiff.engine import Value, release_cycle_gc
from autodiff.primitives import as_real, is_array, quoted

__all__ = ["numerical_grad", "gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """The engine's gradient and the central difference disagree for at least one input."""


def _leaves(inputs: Iterable[Value | float], what: str) -> list[Value]:
    """One fresh leaf per input (its number and label); TypeError/ValueError naming the input."""
    if isinstance(inputs, (Value, numbers.Number, str, bytes)):
        raise TypeError(f"{what}: inputs must be a sequence of numbers or Values, e.g. [x, y], not a single "
                        f"{type(inputs).__name__}")
    try:
        inputs = list(inputs)       # a generator too, read once
    except TypeError:
        raise TypeError(f"{what}: inputs must be a sequence of numbers or Values, e.g. [x, y]; got "
                        f"{type(inputs).__name__}") from None
    leaves = []
    for i, x in enumerate(inputs):
        value = x.data if isinstance(x, Value) else x
        try:
            leaves.append(Value(value, x.label if isinstance(x, Value) else ""))
        except (TypeError, ValueError) as e:
            batch = " (a batch: check one example at a time)" if is_array(value) else ""
            raise type(e)(f"{what}: input {i} must be one finite number or a Value holding one{batch}; "
                          f"{e}") from None
    return leaves


def _scalar(out, what: str) -> float:
    if isinstance(out, Value) and is_array(out.data) or is_array(out):
        raise TypeError(f"{what}: f returned a batch (one number per example), and {what} needs one "
                        "number: reduce it (autodiff.batched.total or mean), or check one example at a "
                        "time")
    if isinstance(out, Value):
        return out.data
    if isinstance(out, (int, float)) and not isinstance(out, bool):
        return float(out)
    raise TypeError(f"{what}: f must return a Value or a number, got {type(out).__name__}")


def _positive(what: str, name: str, x, zero_ok: bool = False) -> float:
    """``x`` as a float > 0 (>= 0 with ``zero_ok``), finite; TypeError/ValueError saying what it is for."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{what}: {name} must be a number, got {type(x).__name__} {quoted(x, 40)}")
    r = as_real(x)   # ±inf for an int beyond the floats
    if not (math.isfinite(r) and (r >= 0 if zero_ok else r > 0)):
        use = ("the step of the central differences, e.g. 1e-6" if name == "eps" else
               "a tolerance, e.g. 1e-5")
        raise ValueError(f"{what}: {name} must be a finite number {'>= 0' if zero_ok else '> 0'} ({use}), "
                         f"got {quoted(x)}")
    return r


def numerical_grad(f: Callable[..., Value], inputs: Iterable[Value | float],
                   eps: float = 1e-6) -> list[float]:
    """Central differences ``(f(x + ε) - f(x - ε)) / 2ε`` for each input, the others held fixed.

    ``f`` is called with one fresh leaf `Value` per input and returns a `Value` (or a number) holding
    one number. The error of a central difference is O(ε²), plus float rounding of order 1e-16 / ε.
    TypeError/ValueError for inputs that are not numbers, an ``eps`` that is not a finite number > 0,
    or ``f`` returning a batch; an error of ``f`` at x ± ε (outside its domain) is raised again saying
    that the point came from the step, with the advice to take a smaller ``eps``.
    """
    leaves = _leaves(inputs, "numerical_grad")
    return _central_differences(f, leaves, _positive("numerical_grad", "eps", eps), "numerical_grad")


def _central_differences(f, leaves: list[Value], eps: float, what: str) -> list[float]:
    """The central differences; ``eps`` checked by the public entry point that calls this. The graphs
    of f built here are done with on return (or an error): the collector's hold they took is ended,
    as a backward pass ends it, so the threshold is the user's own again."""
    try:
        return _differences(f, leaves, eps, what)
    finally:
        release_cycle_gc()


def _differences(f, leaves: list[Value], eps: float, what: str) -> list[float]:
    base = [v.data for v in leaves]
    grads = []
    for i in range(len(base)):
        shifted = []
        for h in (eps, -eps):
            xs = list(base)
            xs[i] += h
            try:
                out = f(*[Value(x) for x in xs])
            except (ArithmeticError, ValueError) as e:
                name = leaves[i].label or f"input {i}"
                raise _stepped(e, f"{what}: f failed at {name} = {base[i]!r} {'+-'[h < 0]} eps = {xs[i]!r}, "
                                  f"a point of the central difference, not one you gave ({e}); take a "
                                  f"smaller eps than {eps:g}, or check a point farther from the edge "
                                  "of f's domain") from e
            shifted.append(_scalar(out, what))
        grads.append((shifted[0] - shifted[1]) / (2 * eps))
    return grads


def _stepped(error: Exception, message: str) -> Exception:
    try:
        return type(error)(message)
    except TypeError:
        return ValueError(message)


def gradcheck(f: Callable[..., Value], inputs: Iterable[Value | float], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Check the engine's gradient of ``f`` at ``inputs`` against central differences.

    Returns True when ``|engine - numeric| <= atol + rtol * |numeric|`` for every input; otherwise
    raises `GradcheckError` naming each input that disagrees, with both numbers. Bad arguments raise
    as `numerical_grad` says (``atol`` and ``rtol``: finite numbers >= 0).
    """
    leaves = _leaves(inputs, "gradcheck")
    eps = _positive("gradcheck", "eps", eps)
    atol, rtol = _positive("gradcheck", "atol", atol, True), _positive("gradcheck", "rtol", rtol, True)
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
    _scalar(out, "gradcheck")
    out.backward()
    numeric = _central_differences(f, leaves, eps, "gradcheck")
    bad = []
    for i, (leaf, num) in enumerate(zip(leaves, numeric, strict=True)):
        if not abs(leaf.grad - num) <= atol + rtol * abs(num):
            name = leaf.label or f"input {i}"
            bad.append(f"{name}: engine {leaf.grad!r}, central difference {num!r}")
    if bad:
        raise GradcheckError(f"gradcheck: the gradient of {len(bad)} of {len(leaves)} inputs "
                             "disagrees:\n  " + "\n  ".join(bad))
    return True
