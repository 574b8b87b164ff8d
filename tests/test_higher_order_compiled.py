"""A gradient graph built with ``grad(..., create_graph=True)`` holds no choice made on a value (a fresh
tester's item 4, issue 17): relu's step, abs' sign, max's share, leaky_relu's and elu's slopes, tanh's
formula and φ's clip are nodes (`greater`), so `autodiff.compile` replays it after the leaves move and
gives, bit for bit, what the gradient graph built again at the new values gives, and `check` passes."""

from __future__ import annotations

import math
import random
from functools import reduce

import pytest

import autodiff
from autodiff import Value, grad


def _bits(x: float) -> str:
    return float.hex(float(x))   # tells 0.0 from -0.0 too


def test_the_testers_relu_case_replays_as_built_again():
    x, w = Value(0.5, "x"), Value(1.5, "w")
    g = grad((x * w).relu() * x, x, create_graph=True)
    program = autodiff.compile(g)
    x.data = -0.9
    assert program.forward() == 0.0                     # was -1.35: relu's derivative frozen at 1.0
    x.grad = w.grad = 0.0
    program.backward()
    assert (x.grad, w.grad) == (0.0, 0.0)                # were 1.5, -0.9
    again = grad((x * w).relu() * x, x, create_graph=True)   # built again at x = -0.9
    assert again.data == 0.0
    program.check(again)                                 # the same graph: no other path


def test_the_testers_tanh_case_replays_to_the_bit():
    x, w = Value(0.5, "x"), Value(1.5, "w")
    g = grad((x * w).tanh() * x, x, create_graph=True)
    program = autodiff.compile(g)
    x.data = -0.9
    value = program.forward()
    again = grad((x * w).tanh() * x, x, create_graph=True)
    assert _bits(value) == _bits(again.data)
    program.check(again)


UNARY = [
    lambda a: a.relu(), lambda a: a.tanh(), lambda a: abs(a), lambda a: a.sigmoid(),
    lambda a: a.leaky_relu(), lambda a: a.elu(), lambda a: a.gelu(), lambda a: a.softplus(),
    lambda a: (a * 0.25).exp(), lambda a: (a * a + 0.5).log(), lambda a: (abs(a) + 0.1).sqrt(),
    lambda a: a ** 3, lambda a: (abs(a) + 0.5) ** 1.5, lambda a: a.sin(), lambda a: a.cos(),
    lambda a: (a * 300.0).tanh(),   # past |x| = 1 and 400: tanh's other formulas
]
BINARY = [
    lambda a, b: a * b, lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a.maximum(b),
    lambda a, b: a.minimum(b), lambda a, b: (abs(a) + 0.5) ** b.tanh(), lambda a, b: a / (b * b + 1.0),
    lambda a, b: (a * b).leaky_relu(),
    lambda a, b: a.relu() ** (b * b + 1.0),   # base 0 (a <= 0) with a Value exponent, n = 1 at b = 0
]


def _build(seed: int, xs: list[Value]) -> Value:
    """A random graph over ``xs``, the same ops for the same seed whatever the leaves hold."""
    rng = random.Random(seed)
    nodes = list(xs)
    for _ in range(rng.randint(3, 9)):
        if rng.random() < 0.5:
            nodes.append(rng.choice(UNARY)(rng.choice(nodes)))
        else:
            nodes.append(rng.choice(BINARY)(rng.choice(nodes), rng.choice(nodes)))
    return reduce(lambda s, v: s + v, nodes[len(xs):])


def _gradient_root(seed: int, xs: list[Value]) -> Value:
    gs = grad(_build(seed, xs), xs, create_graph=True)
    # each gradient as a graph is the first-order pass on numbers, whatever the choices it holds (to
    # rounding: log's rule g / x is g · x**-1 on Values, two roundings where a float division has one)
    assert [g.data for g in gs] == pytest.approx(grad(_build(seed, xs), xs), rel=1e-12, abs=1e-12), seed
    return reduce(lambda s, g: s + g * 0.5, gs[1:], gs[0])   # every gradient in one root


# new values: signs flipped, kinks (0), ties (two leaves equal), both sides of |x| = 1
MOVES = [-1.3, -0.9, -0.4, 0.0, 0.0, 0.3, 0.7, 1.1, 2.5, -2.5]


@pytest.mark.parametrize("seed", range(60))
def test_a_compiled_gradient_graph_is_the_gradient_graph_built_again(seed):
    rng = random.Random(1000 + seed)
    xs = [Value(rng.uniform(-2, 2), f"x{i}") for i in range(3)]
    program = autodiff.compile(_gradient_root(seed, xs))
    compared = 0
    for _ in range(4):
        moved = [rng.choice(MOVES) if rng.random() < 0.7 else rng.uniform(-2, 2) for _ in xs]
        if rng.random() < 0.3:
            moved[1] = moved[0]                          # a tie for maximum/minimum
        for x, v in zip(xs, moved, strict=True):
            x.data, x.grad = v, 0.0
        try:
            again = _gradient_root(seed, xs)             # built again on the same leaves, now moved
            again.backward()
        except (ArithmeticError, ValueError):            # outside a domain at the new point
            continue
        built = [_bits(x.grad) for x in xs]
        program.check(again)                             # the same ops, parents and constants
        for x in xs:
            x.grad = 0.0
        value = program.forward()
        program.backward()
        assert _bits(value) == _bits(again.data), (seed, moved)
        assert [_bits(x.grad) for x in xs] == built, (seed, moved)
        compared += 1
    assert compared >= 1


def test_the_differential_test_compares_many_cases():
    """The random battery above is not vacuous: most moves are compared, and they cross the kinks."""
    crossed = 0
    for seed in range(60):
        root = _gradient_root(seed, [Value(0.8), Value(-0.6), Value(1.2)])
        ops = {v.op for v in autodiff.topological_order(root)}
        crossed += "greater" in ops
    assert crossed >= 40   # most graphs hold a choice on a value, now a node


def _pow_root(x: Value, y: Value) -> Value:
    gx, gy = grad(x ** y, [x, y], create_graph=True)
    return gx + gy * 0.5


# (built at x, y) -> (moved to x, y): from base 0 away from it and back, and exponents 0, 1, 2 at 0
POW_MOVES = [((0.0, 2.0), (1.5, 3.0)), ((0.0, 1.0), (0.7, 1.0)), ((0.0, 3.0), (0.0, 1.0)),
             ((0.0, 2.0), (0.0, 2.5)), ((0.0, 2.0), (0.8, 0.0)), ((0.0, 0.0), (1.2, 2.0)),
             ((0.0, 1.0), (0.0, 2.0)), ((0.5, 1.0), (0.0, 1.0)), ((0.7, 0.0), (0.0, 0.0)),
             ((1.3, 2.5), (0.0, 3.0))]


@pytest.mark.parametrize("built, moved", POW_MOVES)
def test_pow_with_a_value_exponent_at_base_0_replays_as_built_again(built, moved):
    """d/dx x**y at x = 0 held the exponent as the number it was (n x^(n-1) with n a constant): moved
    from (0, 2) to (1.5, 3) the compiled gradient was 3.68 where 7.43 is right, and its y-gradient
    0.28 for 5.26. Now a gradient graph of x**y is the same graph at x = 0 and elsewhere."""
    x, y = Value(built[0], "x"), Value(built[1], "y")
    program = autodiff.compile(_pow_root(x, y))
    x.data, y.data = moved
    x.grad = y.grad = 0.0
    again = _pow_root(x, y)
    again.backward()
    expected = [_bits(again.data), _bits(x.grad), _bits(y.grad)]
    program.check(again)                                 # the same ops, parents and constants
    x.grad = y.grad = 0.0
    value = program.forward()
    program.backward()
    assert [_bits(value), _bits(x.grad), _bits(y.grad)] == expected


def test_pow_at_base_0_keeps_its_conventions_as_a_graph():
    """The same graph at x = 0 gives what the rule on numbers gives there (d/dx 0**n: 0, 1, 0 for
    n = 0, 1, 2; d/dy: 0), the second derivatives of x**n in x (0, 0, 2, 6 for n = 0..3), and both
    mixed partials 0 (the exponent held along x = 0)."""
    for n, second in [(0.0, 0.0), (1.0, 0.0), (2.0, 2.0), (3.0, 0.0), (2.5, 0.0)]:
        x, y = Value(0.0), Value(n)
        gx, gy = grad(x ** y, [x, y], create_graph=True)
        assert (gx.data, gy.data) == (1.0 if n == 1 else 0.0, 0.0), n
        assert grad(gx, [x, y]) == (second, 0.0) and grad(gy, x) == 0.0, n
    x, y = Value(0.0), Value(3.0)
    gx = grad(x ** y, x, create_graph=True)
    assert grad(grad(gx, x, create_graph=True), x) == 6.0   # n(n-1)(n-2) at n = 3
    with pytest.raises(autodiff.InfiniteSlopeError):
        grad(grad(x ** Value(1.5), x, create_graph=True), x)   # 1.5 · 0.5 · 0^-0.5


def test_second_derivatives_are_unchanged_by_the_choices_as_nodes():
    """The choices are taken as numbers: 1 or 0 times a term, so the values are those of the rules."""
    for f, x0, expected in [(lambda a: a.tanh(), 0.5, -2 * math.tanh(0.5) * (1 - math.tanh(0.5) ** 2)),
                            (lambda a: a.tanh(), 3.0, -2 * math.tanh(3.0) * (1 - math.tanh(3.0) ** 2)),
                            (lambda a: a.elu(), -0.7, math.exp(-0.7)), (lambda a: a.elu(), 0.0, 0.0),
                            (lambda a: a.relu() * a, 0.4, 2.0), (lambda a: abs(a) * a, -0.4, -2.0)]:
        x, y = Value(x0), Value(x0)
        first = grad(f(x), x, create_graph=True)
        assert _bits(first.data) == _bits(grad(f(y), y))   # the first-order pass on numbers, to the bit
        assert grad(first, x) == pytest.approx(expected, rel=1e-13, abs=1e-300), (x0,)


def test_a_value_base_below_zero_is_refused_in_pows_own_words_with_create_graph():
    """d/dy x^y needs log x: a base below 0 is refused by pow's rule, naming the exponent as the thing
    to change, in the same words with and without create_graph (a Value base takes the node path only
    from 0 up; below it, the rule's own refusal, not the error of a log node it would build)."""
    for create_graph in (False, True):
        x, y = Value(-1.5, "x"), Value(2.0, "y")
        with pytest.raises(ValueError, match=r"pow: the derivative of -1\.5 \*\* y with respect to the "
                                             r"exponent y needs log of a negative base"):
            grad(x ** y, y, create_graph=create_graph)


def test_a_gradient_in_the_exponent_replayed_below_base_zero_is_refused_as_built_again():
    """x^y log x, built at x >= 0 and replayed with x moved below 0 (y an integer, so x^y exists): log x
    does not exist there, so the compiled forward refuses it, as building the graph again does; the
    at-0 choice (1 at x = 0, else 0) must not turn log x into the log of another, finite number."""
    for built in (0.0, 0.5):                             # the choice made at 0 is a node too
        x, y = Value(built, "x"), Value(2.0, "y")
        program = autodiff.compile(grad(x ** y, y, create_graph=True))
        for moved in (0.0, 2.0, 0.5):                    # at 0 and above: the value built again
            x.data = moved
            again = grad(x ** y, y, create_graph=True).data
            assert _bits(program.forward()) == _bits(again), (built, moved)
    x.data = -1.5
    with pytest.raises(ValueError, match=r"log\(-1\.5\) is undefined"):
        program.forward()
    with pytest.raises(ValueError, match="needs log of a negative base"):
        grad(x ** y, y, create_graph=True)
