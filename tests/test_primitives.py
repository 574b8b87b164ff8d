"""Issue 13: the new primitives against central differences and PyTorch (first and second derivatives,
random points and the edges of their domains), infinite slopes as clear errors in every mode, 0**0,
tail precision of sigmoid' and tanh', the conventions at kinks in every mode, and Python habits."""

from __future__ import annotations

import math
import random
import subprocess
import sys

import numpy as np
import pytest

import autodiff
import nn
from autodiff import InfiniteSlopeError, Value, backward_steps, grad, gradcheck, no_grad
from autodiff.batched import batch, total
from tests.conftest import require_torch

# name -> (our function of a Value, torch's, points including the edges of the domain)
UNARY = {
    "sqrt": (lambda x: x.sqrt(), lambda t, x: t.sqrt(x), [1e-6, 0.3, 2.0, 1e6]),
    "abs": (lambda x: abs(x), lambda t, x: t.abs(x), [-2.0, -1e-9, 1e-9, 3.0]),
    "sin": (lambda x: x.sin(), lambda t, x: t.sin(x), [-3.0, 0.0, 1.2, 100.0]),
    "cos": (lambda x: x.cos(), lambda t, x: t.cos(x), [-3.0, 0.0, 1.2, 100.0]),
    "softplus": (lambda x: x.softplus(), lambda t, x: t.nn.functional.softplus(x),
                 [-700.0, -30.0, -1.0, 0.0, 2.0, 30.0, 700.0]),
    "leaky_relu": (lambda x: x.leaky_relu(), lambda t, x: t.nn.functional.leaky_relu(x, 0.01),
                   [-2.0, -1e-9, 1e-9, 3.0]),
    "leaky_relu(0.2)": (lambda x: x.leaky_relu(0.2), lambda t, x: t.nn.functional.leaky_relu(x, 0.2),
                        [-2.0, 3.0]),
    "elu": (lambda x: x.elu(), lambda t, x: t.nn.functional.elu(x), [-30.0, -2.0, -1e-9, 0.5, 3.0]),
    "elu(0.5)": (lambda x: x.elu(0.5), lambda t, x: t.nn.functional.elu(x, 0.5), [-2.0, 0.7]),
    "gelu": (lambda x: x.gelu(), lambda t, x: t.nn.functional.gelu(x), [-30.0, -5.0, -0.5, 0.0, 1.5, 9.0]),
    "sigmoid": (lambda x: x.sigmoid(), lambda t, x: t.sigmoid(x), [-700.0, -40.0, 0.0, 40.0, 700.0]),
    "tanh": (lambda x: x.tanh(), lambda t, x: t.tanh(x), [-300.0, -20.0, -1.0, 0.0, 0.999, 1.0, 20.0]),
}
BINARY = {
    "maximum": (lambda x, y: x.maximum(y), lambda t, x, y: t.maximum(x, y)),
    "minimum": (lambda x, y: x.minimum(y), lambda t, x, y: t.minimum(x, y)),
}


def derivatives(f, x0: float) -> tuple[float, float, float]:
    """(f, f', f'') at x0 through the engine: backward() for f', grad(create_graph) for f''."""
    x = Value(x0)
    y = f(x)
    y.backward()
    d1 = grad(y, x, create_graph=True)
    d2 = grad(d1, x)
    assert x.grad == d1.data                                  # backward() == grad()
    return y.data, d1.data, d2


def torch_derivatives(tf, x0: float) -> tuple[float, float, float]:
    torch = require_torch()
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    y = tf(torch, x)
    (d1,) = torch.autograd.grad(y, x, create_graph=True)
    d2 = torch.autograd.grad(d1, x)[0] if d1.requires_grad else torch.tensor(0.0)
    return y.item(), d1.item(), d2.item()


def close(a: float, b: float, rel: float = 1e-12, abs_: float = 1e-300) -> bool:
    return a == b or abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_against_pytorch_first_and_second_derivatives(name):
    f, tf, points = UNARY[name]
    rng = random.Random(name)
    points = points + [rng.uniform(-4, 4) if name != "sqrt" else rng.uniform(0.01, 9) for _ in range(6)]
    for x0 in points:
        ours, theirs = derivatives(f, x0), torch_derivatives(tf, x0)
        for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            if b == 0.0 and abs(a) < 1e-12 and name in ("sigmoid", "tanh", "softplus"):
                continue   # PyTorch's tail rounds to 0 (softplus is linear past 20); ours keeps its digits
            assert close(a, b, 1e-12, 1e-15), (name, x0, k, a, b)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_against_central_differences(name):
    f, _, points = UNARY[name]
    for x0 in points:
        if abs(x0) < 1e-3 or abs(x0) > 50:   # a kink within reach of the step, or a flat tail
            continue
        gradcheck(lambda v: f(v), [x0], rtol=1e-6, atol=1e-8)
        gradcheck(lambda v: grad(f(v), v, create_graph=True), [x0], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_against_pytorch_and_half_at_a_tie(name):
    torch = require_torch()
    f, tf = BINARY[name]
    for x0, y0 in [(1.0, 2.0), (2.0, 1.0), (-0.5, -0.5), (3.0, 3.0)]:
        x, y = Value(x0), Value(y0)
        f(x, y).backward()
        tx, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x0, y0))
        tf(torch, tx, ty).backward()
        assert (x.grad, y.grad) == (tx.grad.item(), ty.grad.item()), (x0, y0)
        if x0 == y0:
            assert (x.grad, y.grad) == (0.5, 0.5)


# ---- infinite slopes: a clear error, naming the op, the node and the value, in every mode ----------

SLOPES = [("x ** 0.5 at 0", lambda x: x ** 0.5, 0.0), ("((x - 1) ** 2) ** 0.5 at 1",
                                                       lambda x: ((x - 1) ** 2) ** 0.5, 1.0),
          ("sqrt at 0", lambda x: x.sqrt(), 0.0), ("norm at the origin", lambda x: (x * x + 0.0).sqrt(), 0.0)]


@pytest.mark.parametrize("what,f,x0", SLOPES, ids=[s[0] for s in SLOPES])
def test_an_infinite_slope_is_a_clear_error_in_every_mode(what, f, x0):
    x = Value(x0, "x")
    y = f(x)
    y.label = "y"
    with pytest.raises(InfiniteSlopeError, match=r"rule of (pow_const|sqrt) at node .* infinite"):
        y.backward()
    assert not x.has_grad                                     # all or nothing
    with pytest.raises(InfiniteSlopeError, match="infinite"):
        grad(y, x)
    with pytest.raises(InfiniteSlopeError, match="infinite"):
        list(backward_steps(y))
    with pytest.raises(InfiniteSlopeError, match=r"infinite at .*\(example 1\)"):
        total(f(batch([x0 + 1.0, x0, x0 + 2.0]))).backward()   # batched: no silent nan


def test_zero_to_a_value_power():
    a, b = Value(0.0), Value(0.0)
    (a ** b).backward()
    assert (a.grad, b.grad) == (0.0, 0.0)                      # as PyTorch
    a, b = Value(0.0), Value(0.5)
    with pytest.raises(InfiniteSlopeError, match="pow"):
        (a ** b).backward()
    a, b = Value(0.0), Value(2.0)
    (a ** b).backward()
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_the_command_line_says_where_the_slope_is_infinite():
    for command in ("grad", "step"):
        p = subprocess.run([sys.executable, "-m", "deltagrad", command, "y = (x - 1)**2; z = y**0.5", "x=1",
                            *(["--plain"] if command == "step" else [])], capture_output=True, text=True)
        assert p.returncode == 2 and p.stdout == ""
        (line,) = p.stderr.strip().splitlines()
        assert "line 1, column 21: `y**0.5`" in line and "infinite" in line, line
    p = subprocess.run([sys.executable, "-m", "deltagrad", "grad", "sin(3*b) - a**0.5", "a=2", "b=3"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    rows = {line.split()[0]: float(line.split()[2]) for line in p.stdout.splitlines()[4:] if line.strip()}
    assert rows["b"] == pytest.approx(3 * math.cos(9), rel=1e-5)
    assert rows["a"] == pytest.approx(-0.5 / math.sqrt(2), rel=1e-5)


# ---- sigmoid and tanh keep full relative precision in the tails, in every mode ---------------------

def test_tail_derivatives_keep_their_digits_in_every_mode():
    e = math.exp(-40)
    exact = {"sigmoid": e / (1 + e) ** 2, "tanh": 4 * math.exp(-40) / (1 + math.exp(-40)) ** 2}
    for name, x0 in (("sigmoid", 40.0), ("sigmoid", -40.0), ("tanh", 20.0), ("tanh", -20.0)):
        f = getattr(Value, name)
        x = Value(x0)
        f(x).backward()
        w = Value(1.0)
        total(f(w * batch([x0, x0]))).backward()
        stepped = list(backward_steps(f(Value(x0))))[0].contributions[0]
        for mode, got in (("eager", x.grad), ("batched", w.grad / (2 * x0)), ("grad", grad(f(Value(x0)), x)),
                          ("create_graph", grad(f(x), x, create_graph=True).data), ("steps", stepped)):
            if mode == "grad":
                got = grad(f(x), x)
            assert got == pytest.approx(exact[name], rel=1e-14), (name, x0, mode)


def test_binary_cross_entropy_with_logits_is_exact_where_the_probability_form_fails():
    z = Value(40.0)
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits"):
        nn.binary_cross_entropy(z.sigmoid(), 0.0)
    loss = nn.binary_cross_entropy_with_logits(z, 0.0)
    loss.backward()
    assert loss.data == 40.0 and z.grad == 1.0
    for z0, t in [(-3.0, 1.0), (0.5, 0.0), (2.0, 0.3)]:
        z = Value(z0)
        nn.binary_cross_entropy_with_logits([z], [t]).backward()
        p = 1 / (1 + math.exp(-z0))
        assert z.grad == pytest.approx(p - t, rel=1e-14)
        assert nn.binary_cross_entropy_with_logits(z, t).data == pytest.approx(
            nn.binary_cross_entropy(Value(p), t).data, rel=1e-13)
    zs = nn.binary_cross_entropy_with_logits(batch([40.0, -40.0]), batch([0.0, 1.0]))
    assert list(zs.data) == [40.0, 40.0]


# ---- conventions at kinks, pinned in every mode --------------------------------------------------

KINKS = [  # (f, x0, derivative at the kink, the PyTorch convention it follows)
    (lambda x: x.relu(), 0.0, 0.0), (lambda x: abs(x), 0.0, 0.0), (lambda x: x.leaky_relu(0.1), 0.0, 0.1),
    (lambda x: x.maximum(0.0), 0.0, 0.5), (lambda x: x.minimum(0.0), 0.0, 0.5),
    (lambda x: x ** 2, 0.0, 0.0), (lambda x: x ** 1, 0.0, 1.0), (lambda x: x ** 0, 0.0, 0.0),
    (lambda x: x ** 1.5, 0.0, 0.0), (lambda x: x.elu(), 0.0, 1.0),
]


@pytest.mark.parametrize("k", range(len(KINKS)))
def test_kinks_are_the_same_in_every_mode(k):
    f, x0, want = KINKS[k]
    x = Value(x0)
    f(x).backward()                                           # eager (relu inline)
    ref = grad(f(x), x)                                       # the reference loop, the table's rule
    w = Value(1.0)
    total(f(w * batch([x0, x0, x0]))).backward()              # batched; d/dw = 3 x0 f'(x0) = 0 at 0
    xs = batch([x0, 1.0])
    total(f(xs)).backward()
    assert x.grad == ref == float(xs.grad[0]) == want
    if k == 8:                                                # (x^1.5)'' = 0.75 x^-0.5: infinite at 0
        with pytest.raises(InfiniteSlopeError):
            grad(grad(f(x), x, create_graph=True), x)
    else:                                                     # second derivatives exist at the kink
        assert math.isfinite(grad(grad(f(x), x, create_graph=True), x))


# ---- Python habits ---------------------------------------------------------------------------------

def test_python_habits_follow_a_one_element_tensor():
    a, b = Value(2.5, "a"), Value(-1.0, "b")
    assert float(a) == 2.5 and a.item() == 2.5 and int(a) == 2
    assert f"{a:.3f}" == "2.500" and round(a, 0) == 2.0 and round(Value(2.345), 2) == 2.35
    assert abs(b).op == "abs" and abs(b).data == 1.0 and +a is a
    assert b < a and b <= a and a > b and a >= b and a > 1 and not a < 1
    assert max(a, b) is a and sorted([a, b]) == [b, a]
    assert bool(a) and not bool(Value(0.0))
    assert a != Value(2.5) and len({a, Value(2.5)}) == 2         # == stays identity: Values key dicts
    d = (a * b).detach()
    assert d.is_leaf and d.data == -2.5
    with no_grad():
        c = a * b + 1
        assert not autodiff.is_grad_enabled()
    assert c.is_leaf and c.data == -1.5 and autodiff.is_grad_enabled()
    with pytest.raises(TypeError, match="batch"):
        float(batch([1.0, 2.0]))


def test_module_functions_take_a_value_or_a_number():
    for name in ("sqrt", "abs", "sin", "cos", "softplus", "leaky_relu", "elu", "gelu"):
        f = getattr(autodiff, name)
        assert isinstance(f(0.7), float) and f(Value(0.7)).data == f(0.7), name
    assert autodiff.maximum(1.0, 2.0) == 2.0 and autodiff.minimum(Value(1.0), 2.0).data == 1.0
    assert autodiff.leaky_relu(-1.0, 0.2) == -0.2 and autodiff.elu(-1.0, 2.0) == 2 * math.expm1(-1)
    with pytest.raises(ValueError, match="sqrt"):
        autodiff.sqrt(-1.0)


def test_new_primitives_in_the_expression_language_and_steps():
    from autodiff import parse_expression
    p = parse_expression("m = maximum(a, b); o = gelu(m) + sqrt(a) + abs(b) + leaky_relu(b)", a=2, b=-3)
    p.backward()
    text = "\n".join(str(s) for s in backward_steps(p.root))
    assert "Φ(m) + m·φ(m)" in text and "sign(b)" in text and "1/(2·" in text and "(½ at a tie)" in text
    assert p.leaves["b"].grad == pytest.approx(-1 + 0.01, rel=1e-14)
    assert np.isfinite(p.leaves["a"].grad)
