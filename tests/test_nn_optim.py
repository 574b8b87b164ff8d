"""Optimizers: one and two steps of SGD (with momentum) and Adam against hand-computed numbers; updates
change `.data` only and build no graph nodes; zero_grad; bad arguments."""

from __future__ import annotations

import gc
import math
import random
import subprocess
import sys

import pytest

import nn
from autodiff import Value


def _params(data, grads):
    ps = [Value(d, f"p{i}") for i, d in enumerate(data)]
    for p, g in zip(ps, grads, strict=True):
        p.grad = g
    return ps


def test_sgd_plain_step():
    ps = _params([1.0, -2.0], [0.5, -4.0])
    nn.SGD(ps, lr=0.1).step()
    assert [p.data for p in ps] == [1.0 - 0.1 * 0.5, -2.0 + 0.1 * 4.0]


def test_sgd_momentum_two_steps():
    ps = _params([1.0], [0.5])
    opt = nn.SGD(ps, lr=0.1, momentum=0.9)
    opt.step()                                   # v = 0.5;               w = 1 − 0.05 = 0.95
    assert ps[0].data == pytest.approx(0.95, rel=1e-15)
    ps[0].grad = 0.2
    opt.step()                                   # v = 0.9·0.5 + 0.2 = 0.65; w = 0.95 − 0.065 = 0.885
    assert ps[0].data == pytest.approx(0.885, rel=1e-15)
    assert opt.velocity == [pytest.approx(0.65, rel=1e-15)]


def test_adam_two_steps():
    ps = _params([1.0, 0.0], [0.5, -2.0])
    opt = nn.Adam(ps, lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    opt.step()
    # step 1: m̂ = g, ŝ = g², so the update is lr · g / (|g| + ε) ≈ lr · sign(g)
    assert ps[0].data == pytest.approx(1.0 - 0.1 * 0.5 / (0.5 + 1e-8), rel=1e-15)
    assert ps[1].data == pytest.approx(0.0 + 0.1 * 2.0 / (2.0 + 1e-8), rel=1e-15)
    w1 = ps[0].data
    ps[0].grad = -0.3
    opt.step()
    m = 0.9 * (0.1 * 0.5) + 0.1 * -0.3
    s = 0.999 * (0.001 * 0.25) + 0.001 * 0.09
    m_hat, s_hat = m / (1 - 0.9 ** 2), s / (1 - 0.999 ** 2)
    assert ps[0].data == pytest.approx(w1 - 0.1 * m_hat / (math.sqrt(s_hat) + 1e-8), rel=1e-15)
    assert opt.t == 2


@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.1, momentum=0.5),
                                  lambda ps: nn.Adam(ps, lr=0.01)])
def test_updates_change_data_only_and_build_no_nodes(make):
    m = nn.MLP(2, [3, 1], activation="tanh", rng=0)
    params = m.parameters()
    before = [p.data for p in params]
    opt = make(params)
    m([0.5, -1.0])[0].backward()
    gc.collect()
    count = sum(type(o) is Value for o in gc.get_objects())
    opt.step()
    assert sum(type(o) is Value for o in gc.get_objects()) <= count
    assert m.parameters() == params and all(a is b for a, b in zip(m.parameters(), params, strict=True))
    for p in params:
        assert p.parents == () and p.op == "" and isinstance(p.data, float)
    assert any(p.data != b for p, b in zip(params, before, strict=True))
    opt.zero_grad()
    assert all(p.grad == 0.0 for p in params)


def test_training_reduces_loss():
    m = nn.MLP(2, [4, 1], activation="tanh", rng=3)
    xs, ys = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [1.0, -1.0, 0.5]
    for opt in (nn.SGD(m.parameters(), lr=0.05, momentum=0.9), nn.Adam(m.parameters(), lr=0.05)):
        def loss():
            return nn.mean([nn.squared_error(m(x), [y]) for x, y in zip(xs, ys, strict=True)])
        first = loss().data
        for _ in range(30):
            opt.zero_grad()
            loss().backward()
            opt.step()
        assert loss().data < 0.5 * first


def test_blowup_is_an_error_not_a_nan():
    p = Value(1.0, "w")
    p.grad = 1e308
    with pytest.raises(FloatingPointError, match="w"):
        nn.SGD([p], lr=1e10).step()
    assert p.data == 1.0


@pytest.mark.parametrize("make, error", [
    (lambda: nn.SGD([Value(1.0)], lr=0), ValueError),
    (lambda: nn.SGD([Value(1.0)], lr=-0.1), ValueError),
    (lambda: nn.SGD([Value(1.0)], lr=float("nan")), ValueError),
    (lambda: nn.SGD([Value(1.0)], lr=0.1, momentum=1.0), ValueError),
    (lambda: nn.SGD([1.0], lr=0.1), TypeError),
    (lambda: nn.Adam([Value(1.0)], betas=(0.9,)), ValueError),
    (lambda: nn.Adam([Value(1.0)], betas=(0.9, 1.0)), ValueError),
    (lambda: nn.Adam([Value(1.0)], eps=0.0), ValueError),
    (lambda: nn.SGD([Value(1.0)], lr=0.1, weight_decay=-0.1), ValueError),
    (lambda: nn.Adam([Value(1.0)], weight_decay=float("inf")), ValueError),
])
def test_bad_arguments(make, error):
    with pytest.raises(error):
        make()


@pytest.mark.parametrize(("make", "kw"), [(nn.SGD, {"lr": 0.1, "momentum": 0.9}), (nn.SGD, {"lr": 0.05}),
                                          (nn.Adam, {"lr": 0.01}),
                                          (nn.SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
                                          (nn.Adam, {"lr": 0.01, "weight_decay": 0.1})])
def test_a_step_over_every_parameter_at_once_gives_the_one_at_a_time_formulas_to_the_bit(make, kw):
    rng = random.Random(3)
    ps = [Value(rng.uniform(-2, 2)) for _ in range(50)]
    ref, v, m, s = [p.data for p in ps], [0.0] * 50, [0.0] * 50, [0.0] * 50
    opt = make(ps, **kw)
    for t in range(1, 4):
        gs = [rng.uniform(-5, 5) for _ in ps]
        for p, g in zip(ps, gs, strict=True):
            p.grad = g
        opt.step()
        gs = [g + kw.get("weight_decay", 0.0) * x for g, x in zip(gs, ref, strict=True)]  # g + λ w
        if make is nn.SGD:   # v ← μ v + g, w ← w − η v
            v = [kw.get("momentum", 0.0) * vi + g for vi, g in zip(v, gs, strict=True)]
            ref = [x - kw["lr"] * vi for x, vi in zip(ref, v, strict=True)]
        else:                # Adam, bias-corrected
            b1, b2, eps, lr = 0.9, 0.999, 1e-8, kw["lr"]
            c1, c2 = 1 - b1 ** t, 1 - b2 ** t
            m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, gs, strict=True)]
            s = [b2 * si + (1 - b2) * g * g for si, g in zip(s, gs, strict=True)]
            ref = [x - lr * (mi / c1) / (math.sqrt(si / c2) + eps)
                   for x, mi, si in zip(ref, m, s, strict=True)]
        assert [p.data for p in ps] == ref


_STEPS = """
import math, random, sys
if sys.argv[1] == "hide": sys.modules["numpy"] = None
import nn
from autodiff import Value
out = []
for make, kw in ((nn.SGD, {"lr": 0.1, "momentum": 0.9}), (nn.Adam, {"lr": 0.01}),
                 (nn.SGD, {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.1}),
                 (nn.Adam, {"lr": 0.01, "weight_decay": 0.1})):
    rng = random.Random(5)
    ps = [Value(rng.uniform(-2, 2)) for _ in range(20)]
    opt = make(ps, **kw)
    opt.step()   # no gradient yet: every .grad reads 0.0
    for _ in range(4):
        for p in ps:
            p.grad = rng.uniform(-5, 5)
        opt.step()
    out += [p.data.hex() for p in ps]
    out += [x.hex() for k in ("velocity", "m", "s") for x in getattr(opt, k, [])]
p = Value(1.0, "w"); p.grad = 1e308
try:
    nn.SGD([p], lr=1e10).step()
except FloatingPointError as e:
    out.append(str(e))
print(out)
"""


def test_without_numpy_the_steps_give_the_same_numbers_to_the_bit():
    """The playground (Pyodide) has no numpy: the optimizers step plain floats there, with the same
    results, bit for bit, and the same refusal of an update that overflows."""
    runs = [subprocess.run([sys.executable, "-c", _STEPS, how], capture_output=True, text=True, timeout=60)
            for how in ("hide", "keep")]
    for run in runs:
        assert run.returncode == 0, run.stderr
    assert runs[0].stdout == runs[1].stdout
    assert "parameter params[0] (w) would get" in runs[0].stdout


@pytest.mark.parametrize("optimizer", [nn.SGD, nn.Adam])
def test_a_batched_node_among_the_parameters_is_named(optimizer):
    from autodiff.batched import batch
    with pytest.raises(TypeError, match=r"params\[1\] holds a batch"):
        optimizer([Value(1.0), batch([1.0, 2.0])], lr=0.1).step()


@pytest.mark.parametrize("optimizer", [nn.SGD, nn.Adam])
@pytest.mark.parametrize("where", ["data", "grad"])
def test_a_parameter_set_to_a_batch_is_named_with_its_label(optimizer, where):
    # as every other refusal names it: "params[1] (b)", not "params[1]" alone; nothing is updated
    import numpy as np
    ps = [Value(1.0, "a"), Value(2.0, "b")]
    opt = optimizer(ps, lr=0.5)
    for p in ps:
        p.grad = 0.25
    setattr(ps[1], where, np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"step: params\[1\] \(b\) holds a batch \(one number per example\)"):
        opt.step()
    assert ps[0].data == 1.0


@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
                                  lambda ps: nn.Adam(ps, lr=0.05, weight_decay=0.01)])
def test_a_value_set_by_hand_between_steps_is_the_one_stepped_from(make):
    """Optimizers keep no copy of the parameters' values: ``p.data = x`` between steps is seen."""
    ps, twins = _params([1.0, -2.0], [0.5, -4.0]), _params([1.0, -2.0], [0.5, -4.0])
    opt, twin = make(ps), make(twins)
    opt.step()
    twin.step()
    ps[0].data = twins[0].data = 3.0
    opt.step()
    twin.step()
    assert [p.data for p in ps] == [p.data for p in twins]
    assert ps[0].data != pytest.approx(3.0) and abs(ps[0].data - 3.0) < 1.0   # stepped from 3.0


def test_optimizer_state_reads_as_lists_and_can_be_set():
    ps = _params([1.0, 2.0], [1.0, 1.0])
    opt = nn.SGD(ps, lr=0.1, momentum=0.5)
    opt.step()
    assert opt.velocity == [1.0, 1.0] and type(opt.velocity[0]) is float
    opt.velocity = [2.0, 0.0]                      # v ← 0.5·2 + 1 = 2 and 0.5·0 + 1 = 1
    opt.step()
    assert opt.velocity == [2.0, 1.0]
    adam = nn.Adam(ps, lr=0.1)
    adam.step()
    assert adam.m == [pytest.approx(0.1)] * 2 and isinstance(adam.s, list)


@pytest.mark.parametrize(("ours", "theirs", "kw"), [
    ("SGD", "SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    ("SGD", "SGD", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", "Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-8, "weight_decay": 0.05}),
])
def test_weight_decay_and_momentum_match_pytorch(ours, theirs, kw):
    """PyTorch's optimizers (float64) on the same values and gradients for 5 steps. PyTorch's Adam
    computes the same formula in another order (lerp, sqrt of s over sqrt of the correction), so the
    comparison is to 1e-12 relative, not bit for bit."""
    from conftest import require_torch
    torch = require_torch()
    rng = random.Random(11)
    start = [rng.uniform(-2, 2) for _ in range(30)]
    ps = [Value(x) for x in start]
    tp = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt, topt = getattr(nn, ours)(ps, **kw), getattr(torch.optim, theirs)([tp], **kw)
    for _ in range(5):
        gs = [rng.uniform(-3, 3) for _ in ps]
        for p, g in zip(ps, gs, strict=True):
            p.grad = g
        tp.grad = torch.tensor(gs, dtype=torch.float64)
        opt.step()
        topt.step()
    assert [p.data for p in ps] == pytest.approx(tp.detach().tolist(), rel=1e-12, abs=1e-14)


def test_the_values_kept_from_the_last_step_never_replace_what_a_parameter_holds_now():
    """A step reuses the array of the values it wrote at the last step only while every parameter still
    holds them: a value set by hand (also to -0.0 where 0.0 was, or an equal numpy scalar), and a
    parameter replaced in ``params``, are stepped from what they hold, as plain SGD in
    floats gives it."""
    import numpy as np
    ps = _params([0.5, -1.5, 2.0], [0.0, 0.0, 0.0])
    opt = nn.SGD(ps, lr=0.5)

    def step_and_check():
        before = [float(p.data) for p in opt.params]
        grads = [0.25 * (k + 1) for k in range(len(opt.params))]
        for p, g in zip(opt.params, grads, strict=True):
            p.grad = g
        opt.step()
        want = [w - 0.5 * g for w, g in zip(before, grads, strict=True)]
        assert [p.data for p in opt.params] == want
        assert all(math.copysign(1, p.data) == math.copysign(1, w) for p, w in zip(opt.params, want,
                                                                                   strict=True))
    step_and_check()
    step_and_check()                     # the kept values reused
    ps[1].data = 7.0
    step_and_check()
    ps[0].data = np.float64(ps[0].data)  # equal, another type
    step_and_check()
    opt.params[0] = Value(-3.0)
    step_and_check()
    ps[2].data = 0.0
    step_and_check()                     # a zero: nothing kept (0.0 == -0.0)
    opt.params[2].data = -0.0
    opt.params[2].grad = 0.0
    opt.step()
    assert math.copysign(1, opt.params[2].data) == -1.0   # -0.0 - 0.5 · 0.0 is -0.0
    opt.params.append(Value(1.0))        # the state is per parameter: refused in words
    with pytest.raises(ValueError, match=r"params holds 4 Values, but the optimizer was made for 3"):
        opt.step()
