"""Refusals of `grad`, `hessian` and `hvp` name the argument that is wrong, and the element, and say
what to give instead (a fresh tester's item 6, issue 17): ``hvp: vector[0] is bool True ...``, not a
bare ``Value needs a real number``."""

from __future__ import annotations

import numpy as np
import pytest

from autodiff import Value, grad, hessian, hvp


def _f(w, b):
    return w * b.tanh()


ADVICE = r"vector holds one finite number per input, the direction v of H v"


@pytest.mark.parametrize(("vector", "error", "shown"), [
    ([True, 0], TypeError, r"vector\[0\] is bool True, not a real number"),        # the tester's case
    ([0, "1"], TypeError, r"vector\[1\] is str '1', not a real number"),
    ([None, 0], TypeError, r"vector\[0\] is NoneType None, not a real number"),
    ([0, np.array(True)], TypeError, r"vector\[1\] is ndarray array\(True\), not a real number"),
    ([Value(1.0), 0], TypeError, r"vector\[0\] is Value .*not a real number: give its number, \.data"),
    ([float("nan"), 0], ValueError, r"vector\[0\] is nan, not a finite number"),
    ([0, float("-inf")], ValueError, r"vector\[1\] is -inf, not a finite number"),
    ([0, 10 ** 400], ValueError, r"vector\[1\] is an int of about 401 digits, beyond the float range, not a"),
])
def test_hvp_names_the_entry_of_the_vector_that_is_wrong(vector, error, shown):
    with pytest.raises(error, match=rf"^hvp: {shown}.*; {ADVICE}"):
        hvp(_f, [2.0, 0.5], vector)


def test_hvp_takes_numbers_of_every_kind_in_the_vector():
    expected = hvp(_f, [2.0, 0.5], [1.0, 2.0])
    assert hvp(_f, [2.0, 0.5], [1, np.float32(2.0)]) == expected
    assert hvp(_f, [2.0, 0.5], [np.array(1.0), np.int64(2)]) == expected


@pytest.mark.parametrize("call", [hessian, lambda f, xs: hvp(f, xs, [1.0] * len(xs))], ids=["hessian", "hvp"])
def test_an_f_that_is_not_a_function_of_the_inputs_is_named(call):
    who = "hessian" if call is hessian else "hvp"
    with pytest.raises(TypeError, match=rf"^{who}: f must be a function of one Value per input.*got int 3"):
        call(3, [1.0, 2.0])
    with pytest.raises(TypeError, match=rf"^{who}: f is called with one Value per input \(2\), and it "
                                        r"cannot take 2: .*give f one parameter per input"):
        call(lambda a: a * a, [1.0, 2.0])
    assert call(lambda *a: a[0] * a[1], [1.0, 2.0])            # *args takes any number


def test_an_error_inside_f_is_fs_own():
    def f(a, b):
        return a * b + undefined_name  # noqa: F821

    with pytest.raises(NameError, match="undefined_name"):
        hessian(f, [1.0, 2.0])


@pytest.mark.parametrize("name", ["create_graph", "allow_unused"])
@pytest.mark.parametrize("flag", ["no", None, [True]])
def test_grad_refuses_a_flag_that_is_not_true_or_false(name, flag):
    x = Value(1.0, "x")
    with pytest.raises(TypeError, match=rf"^grad: {name} must be True or False, got "):
        grad(x * x, x, **{name: flag})


def test_grad_takes_numpy_bools_and_0_or_1_as_flags():
    x = Value(1.0, "x")
    assert grad(x * x, x, create_graph=np.False_) == 2.0
    assert grad(x * x, x, create_graph=1).data == 2.0
