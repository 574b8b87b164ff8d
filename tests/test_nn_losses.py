"""Losses: each against its formula computed by hand, each gradient against central differences
(autodiff.gradcheck), Value and plain-number targets, stability, and every bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from autodiff import Value, gradcheck, topological_order


def test_squared_error():
    p, t = [0.5, -1.0, 2.0], [1.0, 0.0, 2.5]
    assert nn.squared_error(p, t).data == pytest.approx(0.5 * (0.25 + 1.0 + 0.25), rel=1e-15)
    assert nn.squared_error(3.0, 1.0).data == 2.0
    assert nn.squared_error(Value(3.0), Value(1.0)).data == 2.0
    assert gradcheck(lambda a, b, c: nn.squared_error([a, b, c], t), p)
    # a Value target is part of the graph: ∂E/∂t = t − p
    tv = [Value(x) for x in t]
    pv = [Value(x) for x in p]
    nn.squared_error(pv, tv).backward()
    assert [v.grad for v in pv] == pytest.approx([a - b for a, b in zip(p, t, strict=True)], rel=1e-15)
    assert [v.grad for v in tv] == pytest.approx([b - a for a, b in zip(p, t, strict=True)], rel=1e-15)
    assert gradcheck(lambda a, b: nn.squared_error([a], [b]), [0.3, -0.7])


def test_mean():
    assert nn.mean([1.0, 2.0, Value(6.0)]).data == 3.0
    assert nn.mean(Value(x) for x in (1.0, 3.0)).data == 2.0
    assert gradcheck(lambda a, b, c: nn.mean([a * a, b, c]), [1.5, -2.0, 0.25])


def _np_log_softmax(z):
    z = np.asarray(z, dtype=float)
    return z - z.max() - np.log(np.exp(z - z.max()).sum())


def test_softmax_and_log_softmax():
    z = [1.0, -2.0, 0.5, 3.0]
    want = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose([v.data for v in nn.softmax(z)], want, rtol=1e-14)
    np.testing.assert_allclose([v.data for v in nn.log_softmax(z)], np.log(want), rtol=1e-14)
    for i in range(len(z)):
        assert gradcheck(lambda *zs, i=i: nn.softmax(list(zs))[i], z)
        assert gradcheck(lambda *zs, i=i: nn.log_softmax(list(zs))[i], z)


def test_softmax_is_stable_for_huge_logits():
    z = [1000.0, 999.0, -1000.0]
    p = [v.data for v in nn.softmax(z)]
    assert all(math.isfinite(x) for x in p) and sum(p) == pytest.approx(1.0)
    assert nn.cross_entropy(z, 0).data == pytest.approx(math.log(1 + math.exp(-1) + math.exp(-2000)))
    assert nn.cross_entropy(z, 2).data == pytest.approx(2000 + math.log(1 + math.exp(-1)), rel=1e-14)


def test_cross_entropy():
    z = [0.2, -1.3, 2.1]
    for c in range(3):
        want = -_np_log_softmax(z)[c]
        assert nn.cross_entropy(z, c).data == pytest.approx(want, rel=1e-14)
        onehot = [1.0 if k == c else 0.0 for k in range(3)]
        assert nn.cross_entropy(z, onehot).data == pytest.approx(want, rel=1e-14)
        assert nn.cross_entropy(z, np.int64(c)).data == pytest.approx(want, rel=1e-14)
        assert nn.cross_entropy(z, Value(float(c))).data == pytest.approx(want, rel=1e-14)
        assert gradcheck(lambda *zs, c=c: nn.cross_entropy(list(zs), c), z)
        assert gradcheck(lambda *zs, o=onehot: nn.cross_entropy(list(zs), o), z)
    soft = [0.2, 0.5, 0.3]
    assert nn.cross_entropy(z, soft).data == pytest.approx(-(np.array(soft) * _np_log_softmax(z)).sum())
    # ∂/∂z_i = softmax_i − t_i
    zv = [Value(x) for x in z]
    nn.cross_entropy(zv, 1).backward()
    sm = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose([v.grad for v in zv], sm - np.array([0, 1, 0]), rtol=1e-12)


def test_binary_cross_entropy():
    p, t = [0.9, 0.2, 0.5], [1.0, 0.0, 0.3]
    want = -sum(tk * math.log(pk) + (1 - tk) * math.log(1 - pk) for pk, tk in zip(p, t, strict=True))
    assert nn.binary_cross_entropy(p, t).data == pytest.approx(want, rel=1e-14)
    assert nn.binary_cross_entropy(0.9, 1).data == pytest.approx(-math.log(0.9), rel=1e-14)
    assert nn.binary_cross_entropy(Value(0.9), Value(1.0)).data == pytest.approx(-math.log(0.9))
    assert gradcheck(lambda a, b, c: nn.binary_cross_entropy([a, b, c], t), p)
    # through a sigmoid: ∂/∂z = σ(z) − t
    z = Value(0.4)
    nn.binary_cross_entropy(z.sigmoid(), 1.0).backward()
    assert z.grad == pytest.approx(1 / (1 + math.exp(-0.4)) - 1.0, rel=1e-12)


def test_hinge():
    s, y = [0.3, -2.0, 1.5, -0.2], [1, -1, -1, -1]
    want = sum(max(0.0, 1 - yk * sk) for sk, yk in zip(s, y, strict=True))
    assert nn.hinge(s, y).data == pytest.approx(want, rel=1e-15)
    assert nn.hinge(Value(0.3), Value(1.0)).data == pytest.approx(0.7)
    assert nn.hinge(2.0, 1).data == 0.0
    assert gradcheck(lambda a, b, c, d: nn.hinge([a, b, c, d], y), s)
    sv = [Value(x) for x in s]
    nn.hinge(sv, y).backward()
    assert [v.grad for v in sv] == [-1.0, 0.0, 1.0, 1.0]   # −y where the margin is violated, else 0
    # mean over examples: micrograd's data loss
    assert nn.mean([nn.hinge(sk, yk) for sk, yk in zip(s, y, strict=True)]).data == pytest.approx(want / 4)


def test_l2():
    w = [0.5, -2.0, 3.0]
    assert nn.l2(w, 0.1).data == pytest.approx(0.05 * (0.25 + 4 + 9), rel=1e-15)
    with pytest.raises(ValueError, match=r"l2: params is empty.*model.weights\(\)"):   # issue 17
        nn.l2([], 0.1)
    assert gradcheck(lambda a, b, c: nn.l2([a, b, c], 0.3), w)
    m = nn.MLP(2, [2, 1], rng=0)
    nn.l2(m.weights(), 0.5).backward()
    for name, p in m.named_parameters():
        assert p.grad == (0.0 if name.endswith(".b") else pytest.approx(0.5 * p.data, rel=1e-15))


def test_losses_are_built_from_primitives():
    loss = nn.cross_entropy([Value(1.0), Value(2.0)], 0)
    ops = {v.op for v in topological_order(loss)}
    assert ops <= {"", "add", "mul", "exp", "log", "pow_const", "logsumexp"}


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.squared_error([1.0, 2.0], [1.0]), ValueError, "2 entries but target has 1"),
    (lambda: nn.squared_error([], []), ValueError, "empty"),
    (lambda: nn.squared_error(["a"], [1.0]), TypeError, r"pred\[0\]"),
    (lambda: nn.squared_error([1.0], None), TypeError, "target"),
    (lambda: nn.squared_error([1.0], [float("nan")]), ValueError, "finite"),
    (lambda: nn.mean([]), ValueError, "empty"),
    (lambda: nn.cross_entropy([1.0, 2.0], 2), ValueError, "class index 2"),
    (lambda: nn.cross_entropy([1.0, 2.0], -1), ValueError, "class index -1"),
    (lambda: nn.cross_entropy([1.0, 2.0], 0.5), ValueError, "class index 0.5"),
    (lambda: nn.cross_entropy([1.0, 2.0], [1.0, 0.0, 0.0]), ValueError, "one-hot target of 3"),
    (lambda: nn.cross_entropy([1.0, 2.0], [1.0, 1.0]), ValueError, "summing to 1"),
    (lambda: nn.cross_entropy([1.0, 2.0], [1.5, -0.5]), ValueError, ">= 0"),
    (lambda: nn.binary_cross_entropy([1.0], [1.0]), ValueError, r"probs\[0\] = 1.0"),
    (lambda: nn.binary_cross_entropy([0.5, 0.0], [1.0, 0.0]), ValueError, r"probs\[1\] = 0.0"),
    (lambda: nn.binary_cross_entropy([0.5, 1.5], [1.0, 0.0]), ValueError, r"probs\[1\]"),
    (lambda: nn.binary_cross_entropy([0.5], [2.0]), ValueError, r"targets\[0\] = 2.0"),
    (lambda: nn.binary_cross_entropy([0.5, 0.5], [1.0]), ValueError, "same length"),
    (lambda: nn.hinge([0.5], [0]), ValueError, "-1 or \\+1"),
    (lambda: nn.hinge([0.5, 0.1], [1]), ValueError, "same length"),
    (lambda: nn.l2([1.0], -0.1), ValueError, "lam"),
    (lambda: nn.l2([1.0], float("inf")), ValueError, "lam"),
    (lambda: nn.l2(["w"], 0.1), TypeError, "params"),
])
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()
