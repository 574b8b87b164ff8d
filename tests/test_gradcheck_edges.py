"""`gradcheck` and `numerical_grad` at their edges (QA of issue 12, item 7): a bad eps or tolerance, a
batch out or in, inputs given as a generator, and a point of the central difference outside f's
domain, each said in words naming the argument, instead of numpy's or Python's own error."""

import math

import pytest

from autodiff import GradcheckError, Value, gradcheck, numerical_grad
from autodiff.batched import batch, total


@pytest.mark.parametrize("eps", [0, 0.0, -1e-6, math.nan, math.inf])
@pytest.mark.parametrize("check", [gradcheck, numerical_grad], ids=["gradcheck", "numerical_grad"])
def test_eps_must_be_a_finite_positive_number(check, eps):
    with pytest.raises(ValueError, match=rf"{check.__name__}: eps must be a finite number > 0 \(the step"):
        check(lambda x: x * x, [1.0], eps=eps)


@pytest.mark.parametrize("bad, error", [({"eps": "1e-6"}, TypeError), ({"eps": True}, TypeError),
                                        ({"atol": -1.0}, ValueError), ({"rtol": math.nan}, ValueError)])
def test_the_other_numbers_are_checked(bad, error):
    with pytest.raises(error, match=rf"gradcheck: {next(iter(bad))} must be"):
        gradcheck(lambda x: x * x, [1.0], **bad)


def test_zero_tolerances_are_allowed():
    assert gradcheck(lambda x: x * 2.0, [0.5], eps=0.5, atol=0, rtol=0.0)   # exact: (2·1 - 2·0) / 1
    with pytest.raises(GradcheckError):      # and the check still bites: the step's error eps² = 1e-4
        gradcheck(lambda x: x ** 3, [1.0], eps=1e-2, atol=0.0, rtol=0.0)


def test_inputs_as_a_generator_are_read_once():
    # the reported case: "zip() argument 2 is shorter than argument 1"
    assert gradcheck(lambda x, y: x * y, (v for v in [1.0, 2.0]))
    assert numerical_grad(lambda x, y: x * y, (v for v in [1.0, 2.0])) == pytest.approx([2.0, 1.0])


@pytest.mark.parametrize("check", [gradcheck, numerical_grad], ids=["gradcheck", "numerical_grad"])
def test_f_returning_a_batch_is_refused_in_words(check):
    # the reported case: numpy's "truth value of an array ... is ambiguous"
    with pytest.raises(TypeError, match=rf"{check.__name__}: f returned a batch.*batched.total or mean"):
        check(lambda x: x * batch([1.0, 2.0]), [1.0])
    assert check(lambda x: total(x * batch([1.0, 2.0])), [1.0])        # reduced: fine


def test_a_batch_as_an_input_is_refused_naming_it():
    with pytest.raises(TypeError, match=r"gradcheck: input 1 must be one finite number.*a batch"):
        gradcheck(lambda x, y: x * y, [1.0, batch([1.0, 2.0])])
    with pytest.raises(ValueError, match=r"numerical_grad: input 0 must be one finite number"):
        numerical_grad(lambda x: x, [math.nan])


@pytest.mark.parametrize("check", [gradcheck, numerical_grad], ids=["gradcheck", "numerical_grad"])
def test_a_point_of_the_step_outside_the_domain_says_it_came_from_the_step(check):
    # the reported case: "log: log(-9e-07) is undefined", a point the user never gave
    with pytest.raises(ValueError, match=rf"{check.__name__}: f failed at x = 1e-07 - eps = -9e-07, a point "
                                         r"of the central difference, not one you gave \(log: log\(-9e-07\) "
                                         r"is undefined.*take a smaller eps than 1e-06") as e:
        check(lambda x: x.log(), [Value(1e-7, "x")])
    assert isinstance(e.value.__cause__, ValueError)
    assert check(lambda x: x.log(), [1e-7], eps=1e-9)


def test_an_error_at_the_point_given_stays_the_ops_own():
    with pytest.raises(ValueError, match=r"^log: log\(-1\.0\) is undefined"):
        gradcheck(lambda x: x.log(), [-1.0])


def test_a_point_of_the_step_above_the_input_is_written_with_a_plus():
    # log(-x) at x = -1e-7: x + eps = 9e-07 is outside the domain, x - eps is not
    with pytest.raises(ValueError, match=r"gradcheck: f failed at x = -1e-07 \+ eps = 9e-07, a point of the "
                                         r"central difference"):
        gradcheck(lambda x: (-x).log(), [Value(-1e-7, "x")])
