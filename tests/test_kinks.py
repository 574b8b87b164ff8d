"""The conventions at kinks, pinned in every mode: the table's rule, the fast eager path (`backward()`),
the reference loop (`autodiff.grad`), batched graphs (`autodiff.batched`) and second derivatives
(`grad(create_graph=True)`). Where a derivative does not exist the engine picks one value, as PyTorch
does (relu'(0) = 0; d/dy 0**y = 0 for y > 0, the one-sided limit of x**y log x); each mode must agree.

To pin a new kink, add a `Kink` to KINKS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from autodiff import PRIMITIVES, Value, grad, hessian, hvp
from autodiff.batched import batch


@dataclass(frozen=True)
class Kink:
    name: str
    build: Callable[..., Value]  # f(*leaves) -> one node whose parents are the leaves, in order
    point: tuple[float, ...]     # the leaves' numbers, at the kink
    wrt: int                     # which input's derivative is pinned
    first: float                 # the convention: ∂f/∂input there
    second: float                # ∂²f/∂input² there, through the graph of the first derivative
    primitive: str | None = None  # the table row the node must come from (None: made on demand)
    mixed: float | None = None   # two inputs: ∂²f/∂x0∂x1 there, which both orders must give


KINKS = [
    Kink("relu at 0", lambda x: x.relu(), (0.0,), 0, first=0.0, second=0.0, primitive="relu"),
    # d/dy x**y = x**y log x has no value at x = 0; its limit from x > 0 is 0 (y > 0)
    Kink("0 ** y, d/dy", lambda x, y: x ** y, (0.0, 2.0), 1, first=0.0, second=0.0, primitive="pow",
         mixed=0.0),
    Kink("0 ** y, d/dx", lambda x, y: x ** y, (0.0, 2.0), 0, first=0.0, second=2.0, primitive="pow",
         mixed=0.0),
    Kink("0 ** 3.0 (Value), d/dy", lambda x, y: x ** y, (0.0, 3.0), 1, first=0.0, second=0.0,
         primitive="pow", mixed=0.0),
    # d/dx x**y at (0, 1) is 1 (x**1 = x); the mixed partials are 0 both ways by the base-0 convention
    # (QA of issue 12: they were 1 one way and 0 the other; the true ones diverge to -inf there)
    Kink("0 ** 1.0 (Value), d/dx", lambda x, y: x ** y, (0.0, 1.0), 0, first=1.0, second=0.0,
         primitive="pow", mixed=0.0),
    Kink("0 ** 1.0 (Value), d/dy", lambda x, y: x ** y, (0.0, 1.0), 1, first=0.0, second=0.0,
         primitive="pow", mixed=0.0),
    Kink("0 ** 0.0 (Value), d/dx", lambda x, y: x ** y, (0.0, 0.0), 0, first=0.0, second=0.0,
         primitive="pow", mixed=0.0),
    Kink("x ** 2 at 0", lambda x: x ** 2, (0.0,), 0, first=0.0, second=2.0),
    # abs'(0) = sign(0) = 0; leaky_relu'(0) = its slope; elu'(0) = α and elu''(0) = 0; maximum and
    # minimum at a tie: half to each input (all as PyTorch)
    Kink("abs at 0", lambda x: abs(x), (0.0,), 0, first=0.0, second=0.0, primitive="abs"),
    Kink("leaky_relu at 0", lambda x: x.leaky_relu(), (0.0,), 0, first=0.01, second=0.0,
         primitive="leaky_relu"),
    Kink("leaky_relu(0.2) at 0", lambda x: x.leaky_relu(0.2), (0.0,), 0, first=0.2, second=0.0),
    Kink("elu at 0", lambda x: x.elu(), (0.0,), 0, first=1.0, second=0.0, primitive="elu"),
    Kink("elu(0.5) at 0", lambda x: x.elu(0.5), (0.0,), 0, first=0.5, second=0.0),
    Kink("maximum at a tie, d/dx", lambda x, y: x.maximum(y), (1.5, 1.5), 0, first=0.5, second=0.0,
         primitive="maximum", mixed=0.0),
    Kink("maximum at a tie, d/dy", lambda x, y: x.maximum(y), (1.5, 1.5), 1, first=0.5, second=0.0,
         primitive="maximum"),
    Kink("minimum at a tie, d/dx", lambda x, y: x.minimum(y), (-2.0, -2.0), 0, first=0.5, second=0.0,
         primitive="minimum", mixed=0.0),
    Kink("minimum at a tie, d/dy", lambda x, y: x.minimum(y), (-2.0, -2.0), 1, first=0.5, second=0.0,
         primitive="minimum"),
]
IDS = [k.name for k in KINKS]


def leaves(kink: Kink) -> list[Value]:
    return [Value(v, f"x{i}") for i, v in enumerate(kink.point)]


@pytest.mark.parametrize("kink", KINKS, ids=IDS)
def test_table_rule(kink):
    node = kink.build(*leaves(kink))
    if kink.primitive is not None:
        assert node.primitive is PRIMITIVES[kink.primitive]
    terms = node.primitive.vjp(1.0, node.data, *[p.data for p in node.parents])
    assert terms[kink.wrt] == kink.first


@pytest.mark.parametrize("kink", KINKS, ids=IDS)
def test_table_rule_on_a_batch(kink):
    """The rule called on arrays (as the reference loop and the steppers do on a batched graph)."""
    node = kink.build(*[batch([v, v + 0.5]) for v in kink.point])
    terms = node.primitive.vjp(np.ones(2), node.data, *[p.data for p in node.parents])
    assert np.asarray(terms[kink.wrt])[0] == kink.first


@pytest.mark.parametrize("kink", KINKS, ids=IDS)
def test_fast_path_backward(kink):
    xs = leaves(kink)
    kink.build(*xs).backward()
    assert xs[kink.wrt].grad == kink.first
    xs[kink.wrt].grad = 0.0
    root = kink.build(*xs) * 3.0 + 1.0  # reached through mul and add, the inlined rules, upstream 3
    root.backward()
    assert xs[kink.wrt].grad == 3.0 * kink.first


@pytest.mark.parametrize("kink", KINKS, ids=IDS)
def test_reference_loop(kink):
    xs = leaves(kink)
    assert grad(kink.build(*xs), xs[kink.wrt]) == kink.first


@pytest.mark.parametrize("kink", KINKS, ids=IDS)
def test_batched(kink):
    """Every example at the kink, next to one away from it (so a per-example mask has work to do)."""
    xs = [batch([v, v + 0.5], f"x{i}") for i, v in enumerate(kink.point)]
    root = kink.build(*xs)
    root.backward()
    g = np.asarray(xs[kink.wrt].grad)
    assert g.shape == (2,) and g[0] == kink.first


@pytest.mark.parametrize("kink", KINKS, ids=IDS)
def test_second_derivatives(kink):
    xs = leaves(kink)
    first = grad(kink.build(*xs), xs[kink.wrt], create_graph=True)
    assert isinstance(first, Value) and first.data == kink.first
    assert grad(first, xs[kink.wrt]) == kink.second


MIXED = [k for k in KINKS if k.mixed is not None]


@pytest.mark.parametrize("kink", MIXED, ids=[k.name for k in MIXED])
def test_mixed_second_derivatives_agree(kink):
    """∂/∂x1 (∂f/∂x0) and ∂/∂x0 (∂f/∂x1), both pinned; `hessian` symmetric and `hvp` = H·v."""
    xs = leaves(kink)
    d0 = grad(kink.build(*xs), xs[0], create_graph=True)
    d1 = grad(kink.build(*xs), xs[1], create_graph=True)
    assert grad(d0, xs[1]) == kink.mixed and grad(d1, xs[0]) == kink.mixed
    h = hessian(kink.build, list(kink.point))
    assert h[0][1] == h[1][0] == kink.mixed
    for v in ([1.0, 0.0], [0.0, 1.0], [0.5, -2.0]):
        assert hvp(kink.build, list(kink.point), v) == [h[i][0] * v[0] + h[i][1] * v[1] for i in (0, 1)]



# The value at a kink, to the sign of a zero: a number and a batch give the same bits (what a diagram
# or a printed value shows, "0" or "-0"), at +0 and −0, for slopes and α of either sign.
ZERO_SIDED = [("relu", {}), ("abs", {}), ("leaky_relu", {"slope": 0.01}), ("leaky_relu", {"slope": -0.5}),
              ("elu", {"alpha": 1.0}), ("elu", {"alpha": -0.5}), ("sigmoid", {}), ("gelu", {})]


ZERO_CASES = [pytest.param(op, params, zero, id=f"{op}{params}{zero:+}")
              for op, params in ZERO_SIDED for zero in (0.0, -0.0)]


@pytest.mark.parametrize(("op", "params", "zero"), ZERO_CASES)
def test_a_number_and_a_batch_give_the_same_bits_at_zero(op, params, zero):
    one = getattr(Value(zero), op)(**params).data
    many = getattr(batch([zero, 1.0]), op)(**params).data[0]
    assert one == many and np.signbit(one) == np.signbit(many)
    if op == "relu":
        assert not np.signbit(one)             # relu(±0) = +0: max(x, 0) written as "x if x > 0 else 0"
