"""Optimizer steps are all or nothing and never store inf or NaN (issue 18, items 2 and 3): a huge
gradient is refused with an error naming the parameter, and the parameters and the optimizer's
state are left exactly as they were, so that a corrected step works."""

from __future__ import annotations

import math

import pytest

import nn
from autodiff import Value


def _state(opt):
    return ([p.data for p in opt.params], [list(getattr(opt, k)) for k in ("velocity", "m", "s")
                                            if hasattr(opt, k)], getattr(opt, "t", None))


def _params(grads):
    ps = [Value(0.5 * (i + 1), f"w{i}") for i in range(len(grads))]
    for p, g in zip(ps, grads, strict=True):
        p.grad = g
    return ps


@pytest.mark.parametrize("make", [
    lambda ps: nn.SGD(ps, lr=0.1),
    lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: nn.Adam(ps, lr=0.01),
])
@pytest.mark.parametrize("bad", [1e300, math.inf, math.nan, -1e308])
def test_a_bad_last_gradient_changes_nothing(make, bad):
    ps = _params([0.1, -0.2, 0.3])
    opt = make(ps)
    opt.step()                                   # some state to keep
    ps[2].grad = bad
    if isinstance(opt, nn.SGD) and abs(bad) < math.inf:
        opt.lr = 1e10                            # so that SGD's update itself overflows
    before = _state(opt)
    with pytest.raises(FloatingPointError, match=r"params\[2\] \(w2\).*nothing was updated"):
        opt.step()
    assert _state(opt) == before
    ps[2].grad, opt.lr = 0.3, 0.1                # a corrected step goes through
    opt.step()
    assert all(math.isfinite(x) for x in _state(opt)[0])


def test_adam_with_one_huge_gradient_is_refused_not_stored_as_inf():
    # The issue: Adam stored s = inf for a gradient of 1e300 and the parameter never moved again.
    p = Value(1.0, "layers.0.neurons.0.w.0")
    opt = nn.Adam([p], lr=0.1)
    p.grad = 1e300
    with pytest.raises(FloatingPointError, match=r"layers\.0\.neurons\.0\.w\.0.*second moment s inf"):
        opt.step()
    assert (opt.m, opt.s, opt.t, p.data) == ([0.0], [0.0], 0, 1.0)
    p.grad = 1.0
    opt.step()
    assert p.data == pytest.approx(0.9)          # Adam's first step is lr·sign(g)


def test_sgd_does_not_update_some_parameters_and_then_raise():
    ps = _params([1.0, 1.0, 1e308])
    with pytest.raises(FloatingPointError, match=r"params\[2\]"):
        nn.SGD(ps, lr=1e10).step()
    assert [p.data for p in ps] == [0.5, 1.0, 1.5]


@pytest.mark.parametrize("flag", [True, False])
@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.1), lambda ps: nn.Adam(ps, lr=0.1)])
def test_a_bool_set_where_the_last_step_wrote_its_equal_is_refused_as_any_bool(make, flag):
    # The values a step wrote are kept for the next while every parameter still holds an equal value;
    # True == 1.0 and False == 0.0, so a bool set by hand there slipped past the refusal of bools.
    ps = [Value(float(flag), "w"), Value(2.0)]
    opt = make(ps)
    for p in ps:
        p.grad = 0.0
    opt.step()
    assert ps[0].data == float(flag)   # a zero gradient: the step wrote the value back
    ps[0].data = flag
    with pytest.raises(TypeError, match=rf"params\[0\] \(w\) holds {flag} \(bool\), not a number"):
        opt.step()
    assert ps[0].data is flag and ps[1].data == 2.0   # nothing was updated


# ---- what the refusal advises, by cause (issue 14, minor item) ---------------------------------------------

OPTIMIZERS = [lambda ps: nn.SGD(ps, lr=0.1), lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9),
              lambda ps: nn.Adam(ps, lr=0.01)]


@pytest.fixture(params=["numpy", "floats"])
def path(request, monkeypatch):
    """Each step both ways: numpy arrays, and the plain floats of the playground (Pyodide)."""
    if request.param == "floats":
        monkeypatch.setattr(nn.optim, "lazy_numpy", lambda: None)
    return request.param


@pytest.mark.parametrize("make", OPTIMIZERS, ids=["SGD", "SGD-momentum", "Adam"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_gradient_that_is_not_finite_is_the_cause_named_without_lr_advice(make, bad, path):
    # The refusal said "Lower the lr, or clip or rescale the gradients" for a NaN gradient, which no lr
    # causes or fixes. It now names the gradient as the cause, even when another parameter's update
    # would overflow too (params[0]: 1e300 at lr 1e10), and says how to find where it arises.
    ps = _params([1e300, 0.1, bad])
    opt = make(ps)
    opt.lr = 1e10
    before = _state(opt)
    with pytest.raises(FloatingPointError) as caught:
        opt.step()
    message = str(caught.value)
    assert message.startswith(f"{type(opt).__name__}.step: parameter params[2] (w2) has gradient {bad!r}, "
                              "not a finite number")
    assert "nothing was updated" in message and "No lr would help" in message
    assert "Lower the lr" not in message
    assert "zero_grad() and backward() again" in message and "autodiff.detect_anomaly()" in message
    assert _state(opt) == before


@pytest.mark.parametrize("make", OPTIMIZERS, ids=["SGD", "SGD-momentum", "Adam"])
def test_a_new_value_that_overflows_from_a_finite_gradient_says_to_lower_the_lr(make, path):
    ps = _params([0.1, 1.0, 0.2])
    ps[1].data = -1.7e308
    opt = make(ps)
    opt.lr = 1e308                                # w − η·update: beyond the floats at this lr
    with pytest.raises(FloatingPointError) as caught:
        opt.step()
    message = str(caught.value)
    assert "params[1] (w1) would get new value -inf" in message
    assert message.endswith("nothing was updated. Lower the lr, or clip or rescale the gradients")
    assert "detect_anomaly" not in message
    opt.lr = 0.1
    opt.step()                                    # the lr was the cause: a lower one goes through
    assert all(math.isfinite(p.data) for p in ps)


@pytest.mark.parametrize("make, state", [(lambda ps: nn.Adam(ps, lr=0.01), "second moment s inf"),
                                         (lambda ps: nn.SGD(ps, lr=1e-300, momentum=0.9), "velocity inf")],
                         ids=["Adam", "SGD-momentum"])
def test_a_state_that_overflows_from_a_finite_gradient_says_to_clip_the_gradients(make, state, path):
    # Adam's s holds g², SGD's velocity sums the gradients: neither depends on the lr, so the advice
    # is to clip or rescale the gradients, not to lower the lr
    ps = _params([0.1, 1.7e308])
    opt = make(ps)
    if isinstance(opt, nn.SGD):
        opt.step()                                # velocity 1.7e308; then 0.9 · 1.7e308 + 1.7e308 overflows
    with pytest.raises(FloatingPointError) as caught:
        opt.step()
    message = str(caught.value)
    assert "params[1] (w1) would get" in message and state in message
    assert "Clip or rescale the gradients" in message and "Lower the lr" not in message


WEIGHT_DECAYED = [lambda ps: nn.SGD(ps, lr=0.1, weight_decay=1e300),
                  lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e300),
                  lambda ps: nn.Adam(ps, lr=0.01, weight_decay=1e300)]


@pytest.mark.parametrize("make", WEIGHT_DECAYED, ids=["SGD", "SGD-momentum", "Adam"])
def test_a_weight_decay_term_that_overflows_says_to_lower_weight_decay(make, path):
    # Tester qa14l: a finite gradient with λ·w beyond the floats (1e300 · 1e10) was told to clip or
    # rescale the gradients (SGD without momentum named its "velocity"), which would not help: the
    # gradient the optimizer uses is g + λ·w, and only a lower weight_decay brings it back
    ps = _params([0.1, 1.0])
    ps[1].data = 1e10
    opt = make(ps)
    before = _state(opt)
    with pytest.raises(FloatingPointError) as caught:
        opt.step()
    message = str(caught.value)
    assert "params[1] (w1) would get the gradient 1.0 + weight_decay·value = inf" in message
    assert message.endswith("nothing was updated. Lower weight_decay: its term overflows whatever the lr")
    assert "Clip" not in message and "velocity" not in message and "Lower the lr" not in message
    assert _state(opt) == before
    opt.weight_decay = 1e-4
    opt.step()                                    # the weight decay was the cause: a lower one goes through
    assert all(math.isfinite(p.data) for p in ps)
