"""hessian and hvp take Values whose .data was set by hand as backward() and grad() take them (a fresh
tester: a 0-d array was refused there, and a refused value was not named)."""

import numpy as np
import pytest

from autodiff import Value, grad, hessian, hvp


def f(w, b):
    return (w * 2.0 + b).tanh() ** 2


@pytest.mark.parametrize("held", [np.array(0.3), np.float32(0.3), np.float64(0.3), np.array(0.3, "f4")],
                         ids=["0-d", "float32", "float64", "0-d float32"])
def test_a_number_set_by_hand_is_read_as_backward_reads_it_and_left_as_set(held):
    w = Value(0.1, "w")
    w.data = held
    want_h = hessian(f, [float(held), -0.1])
    assert hessian(f, [w, -0.1]) == want_h
    assert hvp(f, [w, -0.1], [1.0, 2.0]) == hvp(f, [float(held), -0.1], [1.0, 2.0])
    assert w.data is held
    # the same number as the gradient backward() gives on the user's own graph
    out = f(w, Value(-0.1))
    first = grad(out, w)
    out.backward()
    assert first == w.grad


@pytest.mark.parametrize("bad, error, said", [
    (float("nan"), ValueError, "finite"), (float("inf"), ValueError, "finite"), ("0.3", TypeError, "str"),
    (True, TypeError, "bool"), (np.array([0.3, 0.4]), TypeError, "ndarray")])
@pytest.mark.parametrize("who", ["hessian", "hvp"])
def test_a_value_that_is_not_a_number_is_refused_naming_it(bad, error, said, who):
    w = Value(0.1, "w")
    w.data = bad
    call = (lambda: hessian(f, [1.0, w])) if who == "hessian" else (lambda: hvp(f, [1.0, w], [1.0, 1.0]))
    with pytest.raises(error, match=rf"^{who}: inputs\[1\], the Value 'w': .*{said}"):
        call()
    assert w.data is bad


def test_a_plain_number_that_is_not_finite_is_named_by_its_place():
    with pytest.raises(ValueError, match=r"^hvp: inputs\[0\], a number: .*finite"):
        hvp(lambda a: a * a, [float("inf")], [1.0])


@pytest.mark.parametrize("held", [2, np.float32(0.7), np.array(0.7), np.int64(2)],
                         ids=["int", "float32", "0-d", "int64"])
def test_grad_with_create_graph_leaves_a_number_set_by_hand_as_set(held):
    # a fresh tester: grad(..., create_graph=True) made w.data = 2 the float 2.0; without create_graph,
    # and every stepper, left it as set
    x, w = Value(0.3, "x"), Value(-1.2, "w")
    o = (x * w + 0.5).tanh()
    w.data = held
    dx, dw = grad(o, [x, w], create_graph=True)
    assert w.data is held
    assert (dx.data, dw.data) == grad(o, [x, w])
    o.backward()           # the numbers backward() gives on this graph (it makes w.data a float)
    assert (dx.data, dw.data) == (x.grad, w.grad)
