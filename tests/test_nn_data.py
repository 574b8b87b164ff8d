"""nn.data: make_moons is deterministic for a seed, has the documented shape, classes and geometry,
and its noise has the requested spread; make_xor; bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

import nn


def test_moons_shape_and_determinism():
    X, y = nn.data.make_moons(101, noise=0.1, rng=3)
    assert X.shape == (101, 2) and y.shape == (101,) and X.dtype == np.float64
    assert set(y.tolist()) == {0, 1} and (y == 0).sum() == 50 and (y == 1).sum() == 51
    X2, y2 = nn.data.make_moons(101, noise=0.1, rng=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X3, _ = nn.data.make_moons(101, noise=0.1, rng=np.random.default_rng(3))
    assert np.array_equal(X, X3)
    X4, _ = nn.data.make_moons(101, noise=0.1, rng=4)
    assert not np.array_equal(X, X4)


def test_moons_without_noise_lie_on_the_half_circles():
    X, y = nn.data.make_moons(60, noise=0.0, rng=0)
    outer, inner = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0, rtol=1e-12)
    assert (outer[:, 1] >= -1e-12).all()
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0, rtol=1e-12)
    assert (inner[:, 1] <= 0.5 + 1e-12).all()


def test_moons_noise_has_the_requested_spread():
    X, y = nn.data.make_moons(4000, noise=0.2, rng=1)
    outer = X[y == 0]
    radial = np.hypot(outer[:, 0], outer[:, 1]) - 1   # distance from the clean half circle, ~N(0, 0.2²)
    assert abs(radial.mean()) < 0.03 and 0.17 < radial.std() < 0.23


def test_moons_does_not_touch_global_numpy_state():
    np.random.seed(0)
    a = np.random.random()
    np.random.seed(0)
    nn.data.make_moons(10, rng=5)
    assert np.random.random() == a


def test_xor():
    X, y = nn.data.make_xor()
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert y.tolist() == [int(a) ^ int(b) for a, b in X]


@pytest.mark.parametrize("kwargs, error", [
    ({"n": 1}, ValueError), ({"n": 2.5}, ValueError), ({"n": True}, ValueError),
    ({"n": 10, "noise": -0.1}, ValueError), ({"n": 10, "noise": float("nan")}, ValueError),
    ({"n": 10, "rng": "seed"}, TypeError), ({"n": 10, "rng": 1.5}, TypeError),
])
def test_bad_arguments(kwargs, error):
    with pytest.raises(error):
        nn.data.make_moons(**kwargs)
