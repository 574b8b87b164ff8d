"""Optimizers that update parameters in place from their gradients. An update changes ``.data`` only:
it never builds graph nodes, so parameters stay leaves.

    SGD:   v ← μ v + g,   w ← w − η v                         (μ = 0: plain gradient descent)
    Adam:  m ← β₁ m + (1 − β₁) g,  s ← β₂ s + (1 − β₂) g²,
           w ← w − η m̂ / (√ŝ + ε),  m̂ = m / (1 − β₁ᵗ),  ŝ = s / (1 − β₂ᵗ)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

from autodiff import Value

__all__ = ["Optimizer", "SGD", "Adam"]


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

    def _commit(self, new: list[float], state: dict[str, list[float]]) -> None:
        """Assign ``new`` to the parameters once it, the gradients and each list of ``state`` (the
        optimizer's per-parameter state after this step) are all finite; otherwise raise
        `FloatingPointError` naming the first parameter concerned, having changed nothing."""
        finite = math.isfinite
        if not (all(map(finite, new)) and all(finite(p.grad) for p in self.params)
                and all(all(map(finite, v)) for v in state.values())):
            self._refuse(new, state)
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
        mu, lr = self.momentum, self.lr
        velocity = [mu * v + p.grad for v, p in zip(self.velocity, self.params, strict=True)]
        self._commit([p.data - lr * v for p, v in zip(self.params, velocity, strict=True)],
                     {"velocity": velocity})
        self.velocity = velocity


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
        grads = [p.grad for p in self.params]
        m = [b1 * m + (1 - b1) * g for m, g in zip(self.m, grads, strict=True)]
        s = [b2 * s + (1 - b2) * g * g for s, g in zip(self.s, grads, strict=True)]
        new = [p.data - lr * (mi / c1) / (math.sqrt(si / c2) + eps)
               for p, mi, si in zip(self.params, m, s, strict=True)]
        self._commit(new, {"first moment m": m, "second moment s": s})
        self.t, self.m, self.s = t, m, s
