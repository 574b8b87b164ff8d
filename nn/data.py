"""Small toy data sets for classification, made with numpy: two interleaved half moons, and XOR."""

from __future__ import annotations

import math
import numbers

import numpy as np

from autodiff.primitives import as_real, quoted
from nn._sizes import POINT_BYTES, check_fits

__all__ = ["make_moons", "make_xor"]


def make_moons(n: int = 100, noise: float = 0.1,
               rng: int | np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles: ``X`` of shape (n, 2) and labels ``y`` of shape (n,) in {0, 1}.

    Class 0 lies on (cos t, sin t), class 1 on (1 − cos t, ½ − sin t), t evenly spaced in [0, π]
    (⌈n/2⌉ points of class 1, ⌊n/2⌋ of class 0); then Gaussian noise with standard deviation
    ``noise`` is added and the rows are shuffled. ``rng`` is an int seed or a `numpy.random.Generator`.
    For the hinge loss use labels ``2 * y - 1`` (±1).
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
        raise ValueError(f"make_moons: n must be an int >= 2, got {quoted(n)}")
    check_fits("make_moons", n, "points", POINT_BYTES, "choose a smaller n")
    r = as_real(noise)   # ±inf for an int beyond the floats
    if r is None or not (math.isfinite(r) and r >= 0):
        raise ValueError(f"make_moons: noise must be a finite number >= 0, got {quoted(noise)}")
    rng = _generator(rng)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0.0, math.pi, n_out)
    t_in = np.linspace(0.0, math.pi, n_in)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
                        np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], axis=1)])
    y = np.concatenate([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    if noise > 0:
        X = X + rng.normal(0.0, noise, size=X.shape)
    order = rng.permutation(n)
    return X[order], y[order]


def make_xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points: ``X`` = [[0,0],[0,1],[1,0],[1,1]] (float) and ``y`` = [0, 1, 1, 0]."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y


def _generator(rng: int | np.random.Generator | None) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"make_moons: rng must be an int seed or a numpy.random.Generator, got "
                    f"{type(rng).__name__} {rng!r:.60}")
