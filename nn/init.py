"""Random sources and weight initializers for `nn` modules.

    "uniform":  w ~ U(-1, 1)
    "epsilon":  w ~ U(-ε, ε),  ε = √6 / √(n_in + n_out)
"""

from __future__ import annotations

import math
import numbers
import random

from autodiff.primitives import quoted

__all__ = ["INITIALIZERS", "make_rng", "init_bound"]

INITIALIZERS = ("uniform", "epsilon")


def make_rng(rng: int | random.Random | None) -> random.Random:
    """A `random.Random` from an int seed, a `random.Random` (used as is), or None (fresh entropy).

    The global `random` module is never used, so building a model never disturbs other code's draws.
    """
    if rng is None:
        return random.Random()
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return random.Random(int(rng))
    raise TypeError(f"rng must be an int seed or a random.Random, got {type(rng).__name__} {quoted(rng)}")


def init_bound(init: str, n_in: int, n_out: int) -> float:
    """The half-width of the uniform interval the initializer ``init`` draws parameters from."""
    if init == "uniform":
        return 1.0
    if init == "epsilon":
        return math.sqrt(6) / math.sqrt(n_in + n_out)
    raise ValueError(f"unknown init {quoted(init)}; choose one of {', '.join(map(repr, INITIALIZERS))}")
