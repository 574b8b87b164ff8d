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

    def _update(self, p: Value, new: float) -> None:
        if not math.isfinite(new):
            raise FloatingPointError(f"{type(self).__name__}: the update made parameter "
                                     f"{p.label or '?'} {new!r} (gradient {p.grad!r}); lower the lr")
        p.data = new

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
        mu, lr = self.momentum, self.lr
        for i, p in enumerate(self.params):
            v = mu * self.velocity[i] + p.grad
            self.velocity[i] = v
            self._update(p, p.data - lr * v)


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
        (b1, b2), lr, eps = self.betas, self.lr, self.eps
        self.t += 1
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for i, p in enumerate(self.params):
            g = p.grad
            self.m[i] = m = b1 * self.m[i] + (1 - b1) * g
            self.s[i] = s = b2 * self.s[i] + (1 - b2) * g * g
            self._update(p, p.data - lr * (m / c1) / (math.sqrt(s / c2) + eps))
