"""Issue 17: batched mode limits numpy's BLAS threads itself for products big enough to be split across
threads (on a busy machine each thread spins for a core it shares), with threadpoolctl; small products
pay nothing, and the limit is lifted afterwards."""

from __future__ import annotations

import numpy as np
import pytest
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


_HIDDEN = """
import sys, warnings
sys.modules["threadpoolctl"] = None          # as if it were not installed: its import fails
import numpy as np
from autodiff import primitives
from autodiff.batched import batch, batch_columns, mean
from nn.layers import MLP
print("before", primitives.BLAS_THREADS)
rng = np.random.default_rng(0)
X, y = rng.normal(size=(10_000, 2)), np.sign(rng.normal(size=10_000))
model = MLP(2, [16, 16, 1], rng=1, fused=True)
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    for _ in range(2):                         # two steps: the notice comes once
        mean((1 - batch(y) * model(batch_columns(X))[0]).relu()).backward()
    primitives.BLAS_THREADS = 2                # a count set by hand cannot be applied either
    mean((1 - batch(y) * model(batch_columns(X))[0]).relu()).backward()
print("after", primitives.BLAS_THREADS)
for w in seen:
    print("warning", w.category.__name__, str(w.message))
"""


def test_without_threadpoolctl_batched_mode_says_so_once_and_blas_threads_reads_none():
    """A fresh tester: with threadpoolctl not importable, batched training at 10,000 points gave no notice
    and BLAS_THREADS still read 1. Now it reads None from import, and the first big product warns once,
    naming the extra to install."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", _HIDDEN], capture_output=True, text=True, cwd=root,
                         check=True).stdout.splitlines()
    assert out[0] == "before None"
    assert out[1] == "after None"
    warned = [line for line in out[2:] if line.startswith("warning")]
    assert len(warned) == 2, out     # once for the default, once for the count set by hand
    assert all(w.startswith("warning BLASThreadsWarning") for w in warned)
    assert all("pip install 'deltagrad[batched]'" in w for w in warned)
    assert "BLAS_THREADS is None." in warned[0]
    assert "BLAS_THREADS = 2 cannot be applied" in warned[1]


_HIDDEN_SET_FIRST = """
import sys, warnings
sys.modules["threadpoolctl"] = None
from autodiff import primitives
primitives.BLAS_THREADS = 1                    # set by hand before any big product
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    primitives.blas_threads(10**6)
    primitives.blas_threads(10**6)             # None now: no second notice
print("after", primitives.BLAS_THREADS)
for w in seen:
    print("warning", w.category.__name__, str(w.message))
"""


def test_without_threadpoolctl_a_count_set_by_hand_first_is_named_in_the_warning():
    """A fresh tester (item 8): with threadpoolctl hidden, BLAS_THREADS = 1 set by hand gave no warning."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", _HIDDEN_SET_FIRST], capture_output=True, text=True,
                         cwd=root, check=True).stdout.splitlines()
    assert out[0] == "after None"
    assert len(out) == 2, out
    assert out[1].startswith("warning BLASThreadsWarning")
    assert "BLAS_THREADS = 1 cannot be applied" in out[1]


@pytest.mark.parametrize("threads, error", [("2", TypeError), (2.5, TypeError), (True, TypeError),
                                            (0, ValueError), (-1, ValueError)])
def test_a_blas_threads_that_is_not_a_positive_int_is_refused_naming_it(threads, error, monkeypatch):
    """A fresh tester (item 8): '2' and 2.5 raised threadpoolctl's own TypeError at the first big
    product, 0, -1 and True were taken silently. Now each is refused there, naming BLAS_THREADS."""
    monkeypatch.setattr(primitives, "BLAS_THREADS", threads)
    with pytest.raises(error, match=r"autodiff\.primitives\.BLAS_THREADS is .*positive int .* or None"):
        primitives.blas_threads(10**6)
    with primitives.blas_threads(100):      # a small product does not read it
        pass
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10_000, 2)), np.sign(rng.normal(size=10_000))
    model = MLP(2, [16, 16, 1], rng=1, fused=True)
    with pytest.raises(error, match="BLAS_THREADS"):   # the tester's case: a batched step
        mean((1 - batch(y) * model(batch_columns(X))[0]).relu()).backward()


def test_a_numpy_int_is_a_count(monkeypatch):
    before = blas_threads_now()
    monkeypatch.setattr(primitives, "BLAS_THREADS", np.int64(1))
    with primitives.blas_threads(10**6):
        assert blas_threads_now() == [1] * len(before)


def test_the_extra_named_in_the_warning_installs_threadpoolctl():
    import os
    import re
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "pyproject.toml"), encoding="utf-8") as f:
        batched = re.search(r"^batched = \[(.*)\]$", f.read(), re.M)
    assert batched and '"threadpoolctl' in batched.group(1)
