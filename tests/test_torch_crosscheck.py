"""PyTorch (float64) as a second opinion on random expression graphs built by hypothesis.

Each program is a list of instructions over the nodes made so far, so graphs reuse nodes (diamonds,
``x * x``) as real code does. Ops are chosen so every program stays inside every op's domain.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodiff import Value
from tests.conftest import require_torch

BINARY = ["add", "sub", "mul", "div_safe", "pow_safe"]
UNARY = ["tanh", "sigmoid", "exp_tanh", "log_safe", "relu", "neg", "square", "cube"]
# issue 13's primitives: (ours, PyTorch's), on a Value or a float64 tensor
NEW_UNARY = {
    "sqrt_safe": (lambda x: (x * x + 0.25).sqrt(), lambda t, x: t.sqrt(x * x + 0.25)),
    "abs": (lambda x: abs(x), lambda t, x: t.abs(x)), "sin": (Value.sin, lambda t, x: t.sin(x)),
    "cos": (Value.cos, lambda t, x: t.cos(x)),
    "softplus": (Value.softplus, lambda t, x: t.nn.functional.softplus(x, threshold=1000)),
    "leaky_relu": (lambda x: x.leaky_relu(0.1), lambda t, x: t.nn.functional.leaky_relu(x, 0.1)),
    "elu": (lambda x: x.elu(0.5), lambda t, x: t.nn.functional.elu(x, 0.5)),
    "gelu": (Value.gelu, lambda t, x: t.nn.functional.gelu(x)),
}
NEW_BINARY = {"maximum": (Value.maximum, lambda t, x, y: t.maximum(x, y)),
              "minimum": (Value.minimum, lambda t, x, y: t.minimum(x, y))}
UNARY += list(NEW_UNARY)
BINARY += list(NEW_BINARY)


def _new(table, op, *args):
    import torch
    ours, theirs = table[op]
    return ours(*args) if isinstance(args[0], Value) else theirs(torch, *args)


def _unary(op, x, lib):
    if op in NEW_UNARY:
        return _new(NEW_UNARY, op, x)
    if op == "tanh":
        return x.tanh()
    if op == "sigmoid":
        return x.sigmoid()
    if op == "exp_tanh":
        return x.tanh().exp()
    if op == "log_safe":            # log(1 + x²) is defined everywhere
        return (x * x + 1).log()
    if op == "relu":
        return lib["relu"](x)
    if op == "neg":
        return -x
    if op == "square":
        return x ** 2
    if op == "cube":
        return x ** 3
    raise AssertionError(op)


def _binary(op, x, y, lib):
    if op in NEW_BINARY:
        return _new(NEW_BINARY, op, x, y)
    if op == "add":
        return x + y
    if op == "sub":
        return x - y
    if op == "mul":
        return x * y
    if op == "div_safe":            # the divisor 1 + y² is never 0
        return x / (y * y + 1)
    if op == "pow_safe":            # a positive base with a Value exponent bounded by tanh
        return (x * x + 0.5) ** y.tanh()
    raise AssertionError(op)


instructions = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(UNARY), st.integers(0, 10_000)),
        st.tuples(st.sampled_from(BINARY), st.integers(0, 10_000), st.integers(0, 10_000)),
    ),
    min_size=1, max_size=12,
)
leaf_values = st.lists(st.floats(-2.0, 2.0, allow_nan=False).filter(lambda v: abs(v) > 1e-3),
                       min_size=1, max_size=4)


def run(program, leaves, make_leaf, lib):
    nodes = [make_leaf(v) for v in leaves]
    inputs = list(nodes)
    for ins in program:
        if len(ins) == 2:
            nodes.append(_unary(ins[0], nodes[ins[1] % len(nodes)], lib))
        else:
            nodes.append(_binary(ins[0], nodes[ins[1] % len(nodes)], nodes[ins[2] % len(nodes)], lib))
    out = nodes[-1]
    for n in nodes[len(inputs):-1]:  # use every node so no branch is dead, and sums reuse
        out = out + n * 0.5
    return inputs, out


def close(a: float, b: float, rel: float = 1e-12) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300) or abs(a - b) <= 1e-14


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=instructions, leaves=leaf_values)
def test_random_expression_graphs_agree_with_pytorch(program, leaves):
    torch = require_torch()
    ours_in, ours = run(program, leaves, Value, {"relu": lambda x: x.relu()})
    theirs_in, theirs = run(program, leaves,
                            lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True),
                            {"relu": torch.relu})
    if not math.isfinite(theirs.item()) or abs(theirs.item()) > 1e12:
        return  # exp of big sums: out of float range for the reference as well
    ours.backward()
    theirs.backward()
    assert close(ours.data, theirs.item())
    for mine, ref in zip(ours_in, theirs_in, strict=True):
        g = 0.0 if ref.grad is None else ref.grad.item()
        assert close(mine.grad, g), (program, leaves, mine.grad, g)


def test_the_crosscheck_can_fail():
    """A wrong reference must be caught: the comparison is not vacuous."""
    assert not close(1.0, 1.0 + 1e-9)
    assert close(1.0, 1.0 + 1e-13)


@pytest.mark.parametrize("x", [-700.0, -30.0, 0.0, 30.0, 700.0])
def test_saturating_ops_agree_with_pytorch(x):
    torch = require_torch()
    for op in ("tanh", "sigmoid"):
        v = Value(x)
        getattr(v, op)().backward()
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        getattr(torch, op)(t).backward()
        assert close(v.grad, t.grad.item()) or abs(v.grad - t.grad.item()) < 1e-300
