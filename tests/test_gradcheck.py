"""The checker's own tests: `gradcheck` rejects a wrong derivative rule of every shape (a flipped sign, a
halved or doubled term, a zero, an exponent off by one) on every primitive of the table, naming the input
that disagrees, and accepts the right rule. New rows of `autodiff.PRIMITIVES` are covered without edits."""

from __future__ import annotations

import copy
import math

import pytest

from autodiff import PRIMITIVES, GradcheckError, Primitive, Value, gradcheck, numerical_grad
from autodiff.engine import apply

# How a right term t = upstream · ∂out/∂x becomes a wrong one; x is the input's number. At the points
# below (x not 0 or ±1, every term nonzero) each shape changes every term.
WRONG = {
    "flipped sign": lambda t, x: -t,
    "halved": lambda t, x: 0.5 * t,
    "doubled": lambda t, x: 2.0 * t,
    "zero": lambda t, x: 0.0 * t,
    "exponent one higher": lambda t, x: t * x,     # n x^(n-1) -> n x^n
    "exponent one lower": lambda t, x: t / x,      # n x^(n-1) -> n x^(n-2)
}

# Points inside every primitive's domain: positive (log, pow with a Value exponent, a square root)
# and away from kinks (relu at 0). A primitive whose domain needs others gets its own row.
POINTS = [1.7, 0.6, 1.3, 0.4, 2.2]
N_ARY_INPUTS = 5  # an n-ary primitive (the fused neuron: w1 w2 x1 x2 b) is tried with five inputs
# maximum/minimum hand the whole gradient to one input except at a tie, where each gets half (the
# documented convention, PyTorch's); central differences there give 1/2 too, so at a tie both terms are
# nonzero and checkable, and a tie is the one point where every term of theirs is.
TIE = {"maximum": [1.3, 1.3], "minimum": [1.3, 1.3]}


def primitives() -> dict[str, Primitive]:
    """Every row of the table, and the constant-exponent powers (made on demand, not table rows)."""
    found = dict(PRIMITIVES)
    for n in (3, -1, 0.5):
        found[f"pow_const({n})"] = (Value(2.0) ** n).primitive
    return found


def inputs_of(prim: Primitive) -> list[float]:
    if prim.name in TIE:
        return TIE[prim.name]
    return POINTS[:N_ARY_INPUTS if prim.arity == -1 else prim.arity]


def with_rule(prim: Primitive, rule) -> Primitive:
    """A copy of ``prim`` with another derivative rule. A copy, so that no fast path that recognises the
    original (add, mul, relu and the neuron are inlined in backward()) bypasses the rule."""
    changed = copy.copy(prim)
    changed.vjp = rule
    return changed


def wrong_in_one_input(prim: Primitive, shape: str, i: int) -> Primitive:
    def rule(g, out, *xs):
        terms = list(prim.vjp(g, out, *xs))
        terms[i] = WRONG[shape](terms[i], xs[i])
        return tuple(terms)
    return with_rule(prim, rule)


@pytest.mark.parametrize("name", sorted(primitives()))
def test_gradcheck_accepts_every_right_rule_on_the_rule_path(name):
    prim = primitives()[name]
    xs = inputs_of(prim)
    assert gradcheck(lambda *v: apply(prim, *v), xs)                      # the engine as it runs
    assert gradcheck(lambda *v: apply(with_rule(prim, prim.vjp), *v), xs)  # the rule itself


# greater ([x > y]) and floor are piecewise constant: their terms are 0, which every shape below leaves
# 0, so the battery cannot tell a wrong rule of them; a rule giving them a slope is caught below instead.
SLOPED = sorted(name for name in primitives() if name not in ("greater", "floor"))


@pytest.mark.parametrize("shape", sorted(WRONG))
@pytest.mark.parametrize("name", SLOPED)
def test_gradcheck_rejects_a_wrong_rule_of_every_shape_on_every_primitive(name, shape):
    prim = primitives()[name]
    xs = inputs_of(prim)
    for i in range(len(xs)):
        wrong = wrong_in_one_input(prim, shape, i)
        with pytest.raises(GradcheckError) as err:
            gradcheck(lambda *v, p=wrong: apply(p, *v), xs)
        message = str(err.value)
        assert f"input {i}: engine" in message, (name, shape, i, message)
        others = [j for j in range(len(xs)) if j != i and f"input {j}: engine" in message]
        assert not others, f"{name}, {shape} in input {i}: inputs {others} blamed as well"


def test_every_shape_changes_a_term_at_the_points_used():
    """The battery above is not vacuous: at each point every shape moves every nonzero term, and every
    primitive's terms there are nonzero (a zero term would make most shapes no change at all)."""
    for name in SLOPED:
        prim = primitives()[name]
        xs = inputs_of(prim)
        out = prim.forward(*xs)
        for i, t in enumerate(prim.vjp(1.0, out, *xs)):
            assert t != 0, f"{name}: the term of input {i} is 0 at {xs}; choose another point"
            for shape, f in WRONG.items():
                assert abs(f(t, xs[i]) - t) > 1e-3 * abs(t), (name, shape, i)


def test_gradcheck_catches_a_slope_given_to_greater():
    greater = PRIMITIVES["greater"]
    for i in range(2):
        sloped = with_rule(greater, lambda g, out, x, y, i=i: (g, 0.0 * g) if i == 0 else (0.0 * g, g))
        with pytest.raises(GradcheckError, match=f"input {i}: engine 1.0, central difference 0.0"):
            gradcheck(lambda *v, p=sloped: apply(p, *v), [1.7, 0.6])


def test_gradcheck_catches_a_slope_given_to_floor():
    sloped = with_rule(PRIMITIVES["floor"], lambda g, out, x: (g,))
    with pytest.raises(GradcheckError, match="input 0: engine 1.0, central difference 0.0"):
        gradcheck(lambda v: apply(sloped, v), [1.7])
    assert gradcheck(lambda v: apply(PRIMITIVES["floor"], v), [1.7])


def test_gradcheck_tolerance_is_on_the_difference_not_the_magnitudes():
    """|engine - numeric| is what is bounded: a gradient of the right size and the wrong sign, or one
    too small, is rejected (a check on |engine| - |numeric| would accept both)."""
    tanh = PRIMITIVES["tanh"]
    for shape in ("flipped sign", "halved", "zero"):
        wrong = wrong_in_one_input(tanh, shape, 0)
        with pytest.raises(GradcheckError):
            gradcheck(lambda v, p=wrong: apply(p, v), [0.5])


# ---- the checker's edges (each kills a mutant that survived `make mutate`, docs/testing.md) --------

def test_the_tolerance_is_inclusive():
    """|engine - numeric| equal to atol passes, as in PyTorch's allclose: the bound is <=, not <."""
    def f(x):
        return x.tanh()
    numeric = numerical_grad(f, [0.3])[0]
    x = Value(0.3)
    f(x).backward()
    gap = abs(x.grad - numeric)
    assert gap > 0
    assert gradcheck(f, [0.3], atol=gap, rtol=0.0)
    with pytest.raises(GradcheckError):
        gradcheck(f, [0.3], atol=gap / 2, rtol=0.0)


def test_numerical_grad_default_step_is_small():
    """The default ε = 1e-6: exp'(0.5) to 1e-9 (a quadratic would hide any ε: its central difference
    is exact)."""
    assert numerical_grad(lambda x: x.exp(), [0.5])[0] == pytest.approx(math.exp(0.5), rel=1e-9)


def test_numerical_grad_takes_a_plain_number_and_refuses_anything_else():
    assert numerical_grad(lambda x: 3.0, [1.0]) == [0.0]       # a constant function
    assert numerical_grad(lambda x: 2, [1.0]) == [0.0]
    for bad in (True, "1.0", None, [1.0]):
        with pytest.raises(TypeError, match="must return a Value or a number"):
            numerical_grad(lambda x, b=bad: b, [1.0])
