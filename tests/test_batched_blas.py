"""Issue 17: batched mode limits numpy's BLAS threads itself for products big enough to be split across
threads (on a busy machine each thread spins for a core it shares), with threadpoolctl; small products
pay nothing, and the limit is lifted afterwards."""

from __future__ import annotations

import numpy as np
from conftest import blas_threads_now, watch_blas_threads

from autodiff import engine, primitives, vectorized
from autodiff.batched import batch, batch_columns, mean
from nn.layers import MLP


def test_a_big_product_runs_at_one_blas_thread_and_the_setting_comes_back():
    before = blas_threads_now()
    assert before, "numpy's BLAS is not seen by threadpoolctl"
    with primitives.blas_threads(10**6):
        assert blas_threads_now() == [1] * len(before)
    assert blas_threads_now() == before
    with primitives.blas_threads(100):                    # small: not worth the ~10 µs
        assert blas_threads_now() == before


def test_none_leaves_numpys_threads_alone(monkeypatch):
    before = blas_threads_now()
    monkeypatch.setattr(primitives, "BLAS_THREADS", None)
    with primitives.blas_threads(10**6):
        assert blas_threads_now() == before


def test_a_batched_step_at_ten_thousand_points_limits_its_layer_products(monkeypatch):
    """The real limit, watched from inside: every product of the fused layers' forward and backward at
    10,000 points runs with one BLAS thread."""
    blas_threads_now()
    seen = watch_blas_threads(monkeypatch, engine, vectorized)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10_000, 2)), np.sign(rng.normal(size=10_000))
    model = MLP(2, [16, 16, 1], rng=1, fused=True)
    loss = mean((1 - batch(y) * model(batch_columns(X))[0]).relu())
    loss.backward()
    big = [threads for size, threads in seen if size >= 65_536]
    assert len(big) >= 4                                   # two layers' forward and backward at least
    assert all(set(threads) == {1} for threads in big)
