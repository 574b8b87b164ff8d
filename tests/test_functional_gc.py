"""`grad`, `hessian`, `hvp`, `numerical_grad` and `gradcheck` leave the cyclic collector as they found
it (a fresh tester's item 8, issue 17): they end the graph-building hold as ``backward()`` does, on
return and on a refusal, and a collector the user switched off or set stays so."""

from __future__ import annotations

import gc

import pytest

import autodiff
from autodiff import Value, engine, grad, hessian, hvp

pytestmark = pytest.mark.usefixtures("gc_as_python_leaves_it")   # tests/conftest.py


def _f(a, b):
    return (a * b).tanh() * a + b.exp()


def _grad(create_graph):
    x, w = Value(0.5, "x"), Value(1.5, "w")
    y = _f(x, w)
    return grad(y, [x, w], create_graph=create_graph)


CALLS = {
    "grad": lambda: _grad(False),
    "grad create_graph": lambda: _grad(True),
    "grad of grad": lambda: grad(_grad(True)[0], Value(1.0)),
    "hessian": lambda: hessian(_f, [0.5, 1.5]),
    "hvp": lambda: hvp(_f, [0.5, 1.5], [1.0, -2.0]),
    "numerical_grad": lambda: autodiff.numerical_grad(_f, [0.5, 1.5]),
    "gradcheck": lambda: autodiff.gradcheck(_f, [0.5, 1.5]),
}


def _bad_grad():
    x = Value(0.5, "x")
    y = x.tanh()
    return grad(y, [x, "w"])


def _unused():
    x, w = Value(0.5, "x"), Value(1.5, "w")
    return grad(x.tanh(), [x, w], allow_unused=False)


# a wrong rule: d/dx x² is 2x, not x
_WRONG = autodiff.Primitive("wrong_square", "sq", 1, lambda x: x * x, lambda g, out, x: (g * x,))


def _wrong(a):
    return autodiff.engine.apply(_WRONG, a)


def _raises(a, b):
    (a * b).tanh()
    raise ZeroDivisionError("the user's f")


REFUSALS = {
    "grad, inputs not Values": (_bad_grad, TypeError),
    "grad, an unused input": (_unused, ValueError),
    "hessian, f raises after building": (lambda: hessian(_raises, [0.5, 1.5]), ZeroDivisionError),
    "hessian, f returns a list": (lambda: hessian(lambda a, b: [a * b], [0.5, 1.5]), TypeError),
    "hessian, a rule raises": (lambda: hessian(lambda a: (a * a).log().sqrt(), [0.1]), ValueError),
    "hvp, a bad vector": (lambda: hvp(_f, [0.5, 1.5], [True, 0.0]), TypeError),
    "hvp, f raises": (lambda: hvp(_raises, [0.5, 1.5], [1.0, 0.0]), ZeroDivisionError),
    "numerical_grad, f leaves its domain": (lambda: autodiff.numerical_grad(lambda a: a.log(), [1e-9], 1e-6),
                                            ValueError),
    "gradcheck, the engine disagrees": (lambda: autodiff.gradcheck(_wrong, [0.5]), autodiff.GradcheckError),
}


STATES = ["default", "a threshold of the user's", "collector off", "threshold 0", "inside no_cycle_gc"]


def _in(state, call):
    if state == "default":
        probe = Value(1.0) * 2.0   # a graph takes the hold, which the call must end
        assert gc.get_threshold()[0] == engine.GC_HOLD_OBJECTS
        probe.backward()
    elif state == "a threshold of the user's":
        gc.set_threshold(1234, 5, 5)
    elif state == "collector off":
        gc.disable()
    elif state == "threshold 0":
        gc.set_threshold(0, 10, 10)
    before = gc.get_threshold(), gc.isenabled()
    if state == "inside no_cycle_gc":
        with autodiff.no_cycle_gc():
            inside = gc.get_threshold(), gc.isenabled()
            call()
            assert (gc.get_threshold(), gc.isenabled()) == inside
    else:
        call()
    return before, (gc.get_threshold(), gc.isenabled())


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("name", list(CALLS))
def test_the_collector_is_left_as_found(name, state):
    before, after = _in(state, CALLS[name])
    assert after == before


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("name", list(REFUSALS))
def test_the_collector_is_left_as_found_after_a_refusal(name, state):
    call, error = REFUSALS[name]

    def refused():
        with pytest.raises(error):
            call()
    before, after = _in(state, refused)
    assert after == before


def test_a_users_graph_built_before_is_held_no_longer_after_hessian():
    """hessian is a backward pass: a graph the user built before it is taken as built (its hold ends,
    as any backward pass ends it); the next node takes the hold again."""
    x = Value(2.0)
    y = x * x
    assert gc.get_threshold()[0] == engine.GC_HOLD_OBJECTS
    hessian(_f, [0.5, 1.5])
    assert gc.get_threshold() == (700, 10, 10)
    y * x
    assert gc.get_threshold()[0] == engine.GC_HOLD_OBJECTS
