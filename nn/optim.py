"""Optimizers that update parameters in place from their gradients. An update changes ``.data`` only:
it never builds graph nodes, so parameters stay leaves. A step computes every parameter at once in
numpy when numpy imports, else one at a time in plain floats (Pyodide): the same float operations,
so the same numbers to the bit.

    SGD:   v ← μ v + g,   w ← w − η v                         (μ = 0: plain gradient descent)
    Adam:  m ← β₁ m + (1 − β₁) g,  s ← β₂ s + (1 − β₂) g²,
           w ← w − η m̂ / (√ŝ + ε),  m̂ = m / (1 − β₁ᵗ),  ŝ = s / (1 − β₂ᵗ)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from itertools import chain
from operator import attrgetter

from autodiff import Value

__all__ = ["Optimizer", "SGD", "Adam"]

_GRAD, _DATA = attrgetter("grad"), attrgetter("data")


def _numpy():
    """numpy if it imports, else None (the playground under Pyodide has none)."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def _check(x: object, what: str, low: float, high: float = math.inf, *, low_open: bool = False) -> float:
    ok = (not isinstance(x, bool) and isinstance(x, numbers.Real) and math.isfinite(x)
          and (x > low if low_open else x >= low) and x < high)
    if not ok:
        bounds = f"{'>' if low_open else '>='} {low}" + (f" and < {high}" if high != math.inf else "")
        raise ValueError(f"{what} must be a finite number {bounds}, got {x!r:.60}")
    return float(x)


class Optimizer:
    """The parameters an optimizer updates, and `zero_grad`."""

    def __init__(self, params: Iterable[Value], lr: float):
        self.params = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"{type(self).__name__}: params[{i}] is a {type(p).__name__}, not a Value; "
                                "pass model.parameters()")
        self.lr = _check(lr, "lr", 0.0, low_open=True)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 before the next backward pass."""
        for p in self.params:
            p.grad = 0.0

    def _vectors(self, np):
        """(values, gradients) of the parameters as float64 arrays, or as lists of floats when ``np``
        (the numpy module) is None."""
        if np is None:
            return list(map(_DATA, self.params)), list(map(_GRAD, self.params))
        n = len(self.params)
        try:
            return (np.fromiter(map(_DATA, self.params), float, n),
                    np.fromiter(map(_GRAD, self.params), float, n))
        except (TypeError, ValueError):
            i = next((i for i, p in enumerate(self.params)
                      if getattr(p.grad, "ndim", 0) or getattr(p.data, "ndim", 0)), 0)
            raise TypeError(f"{type(self).__name__}.step: params[{i}] holds a batch (one number per "
                            "example), not one number; optimize parameters, not batched nodes") from None

    def _commit(self, np, new, grads, state: dict) -> None:
        """Assign ``new`` (an array, or a list when ``np`` is None) to the parameters once it, the
        gradients ``grads`` and each entry of ``state`` (the optimizer's per-parameter state after this
        step) are all finite; otherwise raise `FloatingPointError` naming the first parameter
        concerned, having changed nothing."""
        if np is None:
            if not all(map(math.isfinite, chain(new, grads, *state.values()))):
                self._refuse(new, state)
        else:
            if not (np.isfinite(new).all() and np.isfinite(grads).all()
                    and all(np.isfinite(v).all() for v in state.values())):
                self._refuse(new.tolist(), {k: v.tolist() for k, v in state.items()})
            new = new.tolist()
        for p, x in zip(self.params, new, strict=True):
            p.data = x

    def _refuse(self, new: list[float], state: dict[str, list[float]]) -> None:
        """The error of `_commit`, naming the first parameter with a quantity that is not finite."""
        for i, p in enumerate(self.params):
            quantities = {"gradient": p.grad, "new value": new[i], **{k: v[i] for k, v in state.items()}}
            bad = [f"{k} {v!r}" for k, v in quantities.items() if not math.isfinite(v)]
            if bad:
                name = f"params[{i}]" + (f" ({p.label})" if p.label else "")
                raise FloatingPointError(
                    f"{type(self).__name__}.step: parameter {name} would get {', '.join(bad)} (value "
                    f"{p.data!r}, gradient {p.grad!r}); nothing was updated. Lower the lr, or clip or "
                    "rescale the gradients")
        raise AssertionError("_refuse found nothing to refuse")  # pragma: no cover

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum μ (PyTorch's convention):
    v ← μ v + g, then w ← w − η v. ``lr`` may be changed between steps (a schedule)."""

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0):
        super().__init__(params, lr)
        self.momentum = _check(momentum, "momentum", 0.0, 1.0)
        self.velocity = [0.0] * len(self.params)

    def step(self) -> None:
        """One update of every parameter, all or nothing (see `Optimizer._commit`)."""
        np, mu, lr = _numpy(), self.momentum, self.lr
        data, grads = self._vectors(np)
        if np is None:
            velocity = [mu * v + g for v, g in zip(self.velocity, grads, strict=True)]
            new = [w - lr * v for w, v in zip(data, velocity, strict=True)]
        else:
            with np.errstate(all="ignore"):  # what overflows is refused by `_commit`, in words
                velocity = mu * np.array(self.velocity, dtype=float) + grads
                new = data - lr * velocity
        self._commit(np, new, grads, {"velocity": velocity})
        self.velocity = velocity if np is None else velocity.tolist()


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected first and second moment estimates."""

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r:.60}")
        self.betas = (_check(betas[0], "betas[0]", 0.0, 1.0), _check(betas[1], "betas[1]", 0.0, 1.0))
        self.eps = _check(eps, "eps", 0.0, low_open=True)
        self.t = 0
        self.m = [0.0] * len(self.params)
        self.s = [0.0] * len(self.params)

    def step(self) -> None:
        """One update of every parameter, all or nothing (see `Optimizer._commit`): a gradient so
        large that its square overflows is refused rather than stored as an infinite second moment."""
        (b1, b2), lr, eps, t = self.betas, self.lr, self.eps, self.t + 1
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        np = _numpy()
        data, g = self._vectors(np)
        if np is None:
            m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(self.m, g, strict=True)]
            s = [b2 * si + (1 - b2) * gi * gi for si, gi in zip(self.s, g, strict=True)]
            new = [w - lr * (mi / c1) / (math.sqrt(si / c2) + eps)
                   for w, mi, si in zip(data, m, s, strict=True)]
        else:
            with np.errstate(all="ignore"):  # what overflows is refused by `_commit`, in words
                m = b1 * np.array(self.m, dtype=float) + (1 - b1) * g
                s = b2 * np.array(self.s, dtype=float) + (1 - b2) * g * g
                new = data - lr * (m / c1) / (np.sqrt(s / c2) + eps)
        self._commit(np, new, g, {"first moment m": m, "second moment s": s})
        self.t, self.m, self.s = (t, m, s) if np is None else (t, m.tolist(), s.tolist())
