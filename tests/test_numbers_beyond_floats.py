"""A ``.data`` set by hand beyond the floats (10**400) is refused in the constructor's words, by every
pass (issue 17, a fresh tester's item 5: "is 1000...000 (60 digits), not a finite float" read as a
finite number)."""

from fractions import Fraction

import pytest

import autodiff
import nn
import viz
from autodiff import Value

PASSES = {
    "backward": lambda y, x: y.backward(),
    "grad": lambda y, x: autodiff.grad(y, [x]),
    "forward_steps": lambda y, x: autodiff.forward_steps(y),
    "Walkthrough": lambda y, x: autodiff.Walkthrough(y),
    "step_html": lambda y, x: viz.HtmlStepper(y),
    "compile": lambda y, x: autodiff.compile(y),
    "mul": lambda y, x: x * 3.0,
    "sum_squares": lambda y, x: nn.l2([x], 0.1),
}
BIG = {10**400: "an int of about 401 digits", -(2**1024): "an int of about 309 digits",
       Fraction(10**400, 3): "a Fraction of about 400 digits before its point"}


@pytest.mark.parametrize("big", BIG)
@pytest.mark.parametrize("where", PASSES)
def test_a_number_beyond_the_floats_is_refused_saying_its_size(where, big):
    x = Value(1.0, "x")
    y = x * 2.0
    x.data = big
    with pytest.raises(ValueError, match=rf"^{where}: the .data of the Value 'x' is {BIG[big]}, beyond the "
                                         r"float range \(about ±1.8e308\); a Value holds a finite number: "
                                         "scale it down$") as e:
        PASSES[where](y, x)
    assert e.value.node is x and x.data == big and x.grad == 0.0   # named, and nothing changed


def test_the_constructor_and_an_unlabelled_leaf_say_it_so_too():
    with pytest.raises(ValueError, match=r"got an int of about 401 digits; scale it down"):
        Value(10**400)
    x = Value(1.0)
    y = x * 2.0
    x.data = 10**400
    with pytest.raises(ValueError, match=r"^backward: the .data of the leaf v0 is an int of about 401 "
                                         "digits"):
        y.backward()
    x.data = 10**300   # within the floats: taken
    y.backward()
    assert x.grad == 2.0
