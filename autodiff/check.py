"""Numerical gradients by central differences, and `gradcheck`, which compares them with the engine.

    numerical_grad(f, [x, y])  ->  [(f(x+ε, y) - f(x-ε, y)) / 2ε,  (f(x, y+ε) - f(x, y-ε)) / 2ε]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from autodiff.engine import Value

__all__ = ["numerical_grad", "gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """The engine's gradient and the central difference disagree for at least one input."""


def _leaves(inputs: Sequence[Value | float]) -> list[Value]:
    if isinstance(inputs, (Value, int, float)):
        raise TypeError("inputs must be a sequence of numbers or Values, e.g. [x, y], not a single "
                        f"{type(inputs).__name__}")
    return [Value(x.data if isinstance(x, Value) else x, x.label if isinstance(x, Value) else "")
            for x in inputs]


def _scalar(out, what: str) -> float:
    if isinstance(out, Value):
        return out.data
    if isinstance(out, (int, float)) and not isinstance(out, bool):
        return float(out)
    raise TypeError(f"{what}: f must return a Value or a number, got {type(out).__name__}")


def numerical_grad(f: Callable[..., Value], inputs: Sequence[Value | float],
                   eps: float = 1e-6) -> list[float]:
    """Central differences ``(f(x + ε) - f(x - ε)) / 2ε`` for each input, the others held fixed.

    ``f`` is called with one fresh leaf `Value` per input and returns a `Value` (or a number).
    The error of a central difference is O(ε²), plus float rounding of order 1e-16 / ε.
    """
    base = [v.data for v in _leaves(inputs)]
    grads = []
    for i in range(len(base)):
        shifted = []
        for h in (eps, -eps):
            xs = list(base)
            xs[i] += h
            shifted.append(_scalar(f(*[Value(x) for x in xs]), "numerical_grad"))
        grads.append((shifted[0] - shifted[1]) / (2 * eps))
    return grads


def gradcheck(f: Callable[..., Value], inputs: Sequence[Value | float], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Check the engine's gradient of ``f`` at ``inputs`` against central differences.

    Returns True when ``|engine - numeric| <= atol + rtol * |numeric|`` for every input; otherwise
    raises `GradcheckError` naming each input that disagrees, with both numbers.
    """
    leaves = _leaves(inputs)
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
    out.backward()
    numeric = numerical_grad(f, inputs, eps)
    bad = []
    for i, (leaf, num) in enumerate(zip(leaves, numeric, strict=True)):
        if not abs(leaf.grad - num) <= atol + rtol * abs(num):
            name = leaf.label or f"input {i}"
            bad.append(f"{name}: engine {leaf.grad!r}, central difference {num!r}")
    if bad:
        raise GradcheckError(f"gradcheck: the gradient of {len(bad)} of {len(leaves)} inputs "
                             "disagrees:\n  " + "\n  ".join(bad))
    return True
