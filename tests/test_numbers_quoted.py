"""Every error message that quotes a user's number quotes it shortly (brief s10 item 3): ``nn.l2(ws,
10**400)`` showed λ's first 60 of 401 digits, as a finite number; the optimizers, make_moons' noise,
gradcheck's eps, step_html's tolerance and others raised Python's bare "OverflowError: int too large
to convert to float". Now each names the argument and says "an int of about 401 digits, beyond the
float range", as the engine says it for a Value (`autodiff.primitives.quoted`)."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

import autodiff
import nn
import viz
from autodiff import PRIMITIVES, Value
from autodiff.primitives import as_real, define, quoted, sum_squares_op
from autodiff.testing import assert_gradients_close, check_derivative
from nn.closed_form import document
from nn.data import make_moons
from nn.exercise import make_exercise

BIG = 10 ** 400


def _model():
    return nn.MLP(2, [2, 1], rng=0)


# (entry point, argument) -> a call with the argument set to x
CALLS = {
    "nn.l2 lam": lambda x: nn.l2(_model().weights(), x),
    "SGD lr": lambda x: nn.SGD(_model().parameters(), lr=x),
    "SGD momentum": lambda x: nn.SGD(_model().parameters(), lr=0.1, momentum=x),
    "SGD weight_decay": lambda x: nn.SGD(_model().parameters(), lr=0.1, weight_decay=x),
    "SGD lr set later": lambda x: setattr(nn.SGD(_model().parameters(), lr=0.1), "lr", x),
    "Adam lr": lambda x: nn.Adam(_model().parameters(), lr=x),
    "Adam betas": lambda x: nn.Adam(_model().parameters(), betas=(0.9, x)),
    "Adam eps": lambda x: nn.Adam(_model().parameters(), eps=x),
    "make_moons noise": lambda x: make_moons(10, noise=x),
    "make_exercise lr": lambda x: make_exercise(doc="004", lr=x),
    "make_moons n": lambda x: make_moons(-abs(x)),
    "MLP nin": lambda x: nn.MLP(-abs(x), [2]),
    "MLP nouts": lambda x: nn.MLP(2, [-abs(x)]),
    "MLP init": lambda x: nn.MLP(2, [2], init=x),
    "MLP activation": lambda x: nn.MLP(2, [2], activation=x),
    "load_state_dict": lambda x: _model().load_state_dict({k: x for k in _model().state_dict()}),
    "closed form lam": lambda x: document("000")([], lam=x),   # lam is checked first
    "gradcheck eps": lambda x: autodiff.gradcheck(lambda a: a * a, [1.0], eps=x),
    "gradcheck atol": lambda x: autodiff.gradcheck(lambda a: a * a, [1.0], atol=x),
    "sum_squares scale": lambda x: sum_squares_op(x),
    "a primitive on a number": lambda x: PRIMITIVES["tanh"](x),
    "parse_expression": lambda x: autodiff.parse_expression("x * 2", x=x),
    "check_derivative inputs": lambda x: check_derivative("x*x", "2*x", {"x": x}),
    "check_derivative rtol": lambda x: check_derivative("x*x", "2*x", {"x": 1.0}, rtol=x),
    "assert_gradients_close atol": lambda x: assert_gradients_close([1.0], [1.0], atol=x),
    "hvp vector": lambda x: autodiff.hvp(lambda a: a * a, [1.0], [x]),
    "define probe_at": lambda x: define("quoted_probe", "q", 1, lambda a: 2 * a, lambda g, o, a: (2 * g,),
                                        probe_at=(x,)),
    "a .grad set by hand": lambda x: _grad_set_to(x),
    "step_html tolerance": lambda x: viz.step_html(Value(1.0) * 2.0, "unused.html", tolerance=x),
    "explore": lambda x: viz.explore(lambda a: a * a, {"a": x}),
}


def _grad_set_to(x):
    a = Value(1.0, "a")
    y = a * a
    a.grad = x
    y.backward()


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("x", [BIG, -BIG, 10 ** 5000], ids=["10**400", "-10**400", "10**5000"])
def test_a_number_beyond_the_floats_is_named_shortly(call, x, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises((TypeError, ValueError)) as caught:   # not Python's bare OverflowError
        CALLS[call](x)
    message = str(caught.value)
    assert not re.search(r"\d{21}", message), message     # no run of digits that reads as a number
    assert re.search(r"int of about \d+ digits|an int of \d+ digits", message), message
    assert not list(tmp_path.iterdir())                     # nothing written


def test_quoted_says_what_the_number_is():
    assert quoted(BIG) == "an int of about 401 digits, beyond the float range"
    assert quoted(-BIG) == "a negative int of about 401 digits, beyond the float range"
    assert quoted(Fraction(BIG, 3)) == ("a Fraction of about 400 digits before its point, beyond the "
                                        "float range")
    assert quoted(-10 ** 300) == "-1e+300 (an int of 301 digits)"   # within the floats, still long
    assert quoted(10 ** 17) == "1e+17 (an int of 18 digits)"
    assert quoted(10 ** 17 - 1) == "99999999999999999"                # 17 digits: as it is
    assert quoted(1.5) == "1.5" and quoted("x") == "'x'" and quoted(True) == "True"
    long = quoted("a" * 100)
    assert len(long) == 60 and long.endswith("...")
    assert quoted([1, 2], 3) == "..." and quoted(float("nan")) == "nan"


def test_as_real_reads_a_users_argument_without_overflowing():
    assert as_real(BIG) == float("inf") and as_real(-BIG) == float("-inf")
    assert as_real(3) == 3.0 and as_real(Fraction(1, 4)) == 0.25
    assert as_real(True) is None and as_real("1") is None and as_real(None) is None
    import numpy as np
    assert as_real(np.float32(0.5)) == 0.5 and as_real(np.bool_(True)) is None


def test_numbers_within_the_floats_are_taken_as_before():
    m = _model()
    opt = nn.SGD(m.parameters(), lr=10 ** 300 // 10 ** 299)   # an int: 10
    assert opt.lr == 10.0
    opt.lr = 0.05
    assert opt.lr == 0.05
    assert nn.l2(m.weights(), Fraction(1, 2)).data >= 0
    assert make_moons(4, noise=0)[0].shape == (4, 2)
