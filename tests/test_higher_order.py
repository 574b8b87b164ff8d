"""Second and third derivatives (autodiff.grad with create_graph, hessian, hvp): every primitive against
closed forms and against central differences of the derivative one order lower; symmetry of mixed
partials; grad's semantics (no .grad touched, allow_unused, return types, errors)."""

from __future__ import annotations

import itertools
import math
import random
from types import SimpleNamespace

import pytest

import autodiff as ad
import nn
from autodiff import PRIMITIVES, Value, grad, hessian, hvp
from autodiff.engine import apply
from tests.conftest import require_torch


def derivative(f, point, index):
    """∂^k f / ∂x_{index[0]} ... ∂x_{index[k-1]} at ``point``, by k nested calls of grad (the last one
    on floats)."""
    xs = [Value(p) for p in point]
    out = f(*xs)
    for k, i in enumerate(index):
        out = grad(out, xs[i], create_graph=k < len(index) - 1)
    return out


def central(f, point, index, h=1e-5):
    """The central difference, along the last index, of the derivative one order lower."""
    *lower, last = index
    up, down = list(point), list(point)
    up[last] += h
    down[last] -= h
    if not lower:
        return (_number(f(*map(Value, up))) - _number(f(*map(Value, down)))) / (2 * h)
    return (derivative(f, up, lower) - derivative(f, down, lower)) / (2 * h)


def _number(v):
    return v.data if isinstance(v, Value) else float(v)


def close(a, b, rel, abs_=1e-12):
    return abs(a - b) <= abs_ + rel * abs(b)


def examples_sum(v):
    return apply(PRIMITIVES["examples_sum"], v)


LN2 = math.log(2.0)


def _tanh_d(x):
    t = math.tanh(x)
    return [1 - t * t, -2 * t * (1 - t * t), -2 * (1 - t * t) * (1 - 3 * t * t)]


def _sigmoid_d(x):
    s = 1 / (1 + math.exp(-x))
    return [s * (1 - s), s * (1 - s) * (1 - 2 * s), s * (1 - s) * (1 - 6 * s + 6 * s * s)]


# name: (f, points, x -> [f', f'', f'''])
UNARY = {
    "exp": (lambda x: x.exp(), [-1.3, 0.4, 2.0], lambda x: [math.exp(x)] * 3),
    "log": (lambda x: x.log(), [0.3, 1.7], lambda x: [1 / x, -1 / x ** 2, 2 / x ** 3]),
    "tanh": (lambda x: x.tanh(), [-1.1, 0.0, 0.5, 2.5], _tanh_d),
    "sigmoid": (lambda x: x.sigmoid(), [-2.0, 0.0, 0.9], _sigmoid_d),
    "relu": (lambda x: x.relu(), [-0.7, 1.2], lambda x: [float(x > 0), 0.0, 0.0]),
    "x**2": (lambda x: x ** 2, [-1.5, 0.0, 0.7], lambda x: [2 * x, 2.0, 0.0]),
    "x**3": (lambda x: x ** 3, [-1.5, 0.0, 0.7], lambda x: [3 * x * x, 6 * x, 6.0]),
    "x**-1": (lambda x: x ** -1, [-2.0, 0.5], lambda x: [-x ** -2, 2 * x ** -3, -6 * x ** -4]),
    "x**0.5": (lambda x: x ** 0.5, [0.3, 4.0],
               lambda x: [0.5 * x ** -0.5, -0.25 * x ** -1.5, 0.375 * x ** -2.5]),
    "x**0": (lambda x: x ** 0, [0.0, 1.3], lambda x: [0.0, 0.0, 0.0]),
    "2**x": (lambda x: 2.0 ** x, [-1.0, 1.5], lambda x: [LN2 * 2 ** x, LN2 ** 2 * 2 ** x, LN2 ** 3 * 2 ** x]),
    "x/3": (lambda x: x / 3.0, [0.8], lambda x: [1 / 3, 0.0, 0.0]),
    "examples_sum": (lambda x: examples_sum(x ** 3), [-0.6, 1.4], lambda x: [3 * x * x, 6 * x, 6.0]),
}


def _pow_d(x, y):
    """Partial derivatives of x^y up to order 3, keyed by sorted index tuple (0 = x, 1 = y)."""
    L = math.log(x)
    return {
        (0,): y * x ** (y - 1), (1,): x ** y * L,
        (0, 0): y * (y - 1) * x ** (y - 2), (0, 1): x ** (y - 1) * (1 + y * L), (1, 1): x ** y * L * L,
        (0, 0, 0): y * (y - 1) * (y - 2) * x ** (y - 3),
        (0, 0, 1): (2 * y - 1) * x ** (y - 2) + y * (y - 1) * x ** (y - 2) * L,
        (0, 1, 1): x ** (y - 1) * L * (2 + y * L),
        (1, 1, 1): x ** y * L ** 3,
    }


def _neuron_d(w1, w2, x1, x2, b):
    # z = w1 x1 + w2 x2 + b, inputs ordered (w1, w2, x1, x2, b): only ∂²z/∂w_k∂x_k = 1 is non-zero
    first = {(0,): x1, (1,): x2, (2,): w1, (3,): w2, (4,): 1.0}
    return {**first, (0, 2): 1.0, (1, 3): 1.0}


# name: (f, points, point -> {sorted index tuple: value}, missing entries are 0)
MULTI = {
    "add": (lambda x, y: x + y, [(0.3, -1.2)], lambda x, y: {(0,): 1.0, (1,): 1.0}),
    "mul": (lambda x, y: x * y, [(0.3, -1.2), (0.0, 2.0)],
            lambda x, y: {(0,): y, (1,): x, (0, 1): 1.0}),
    "x*x": (lambda x, y: x * x * y, [(1.5, -0.5)],
            lambda x, y: {(0,): 2 * x * y, (1,): x * x, (0, 0): 2 * y, (0, 1): 2 * x, (0, 0, 1): 2.0}),
    "pow": (lambda x, y: x ** y, [(1.7, 2.5), (0.4, -1.3), (2.0, 3.0)], _pow_d),
    "neuron": (lambda w1, w2, x1, x2, b: ad.neuron([w1, w2], [x1, x2], b),
               [(0.5, -1.5, 2.0, 0.25, 0.1)], _neuron_d),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_derivatives_up_to_third_match_closed_forms(name):
    f, points, closed = UNARY[name]
    for x in points:
        for order, expected in enumerate(closed(x), 1):
            got = derivative(f, [x], (0,) * order)
            assert close(got, expected, 1e-12), (name, x, order, got, expected)


@pytest.mark.parametrize("name", [n for n in UNARY if n not in ("relu", "x**0")])
def test_unary_derivatives_match_central_differences_of_the_lower_order(name):
    f, points, _ = UNARY[name]
    for x in points:
        for order in (1, 2, 3):
            got, numeric = derivative(f, [x], (0,) * order), central(f, [x], (0,) * order)
            assert close(got, numeric, 1e-6, 1e-7), (name, x, order, got, numeric)


def test_relu_second_derivative_is_zero_on_both_sides_and_so_are_the_differences():
    for x in (-0.7, 1.2):
        assert derivative(lambda v: v.relu() * v.relu(), [x], (0, 0)) == (2.0 if x > 0 else 0.0)
        assert derivative(lambda v: v.relu(), [x], (0, 0)) == 0.0 == central(lambda v: v.relu(), [x], (0, 0))


@pytest.mark.parametrize("name", MULTI)
def test_partials_up_to_third_order_match_closed_forms_and_differences(name):
    f, points, closed = MULTI[name]
    for point in points:
        table = closed(*point)
        for order in (1, 2, 3):
            for index in itertools.product(range(len(point)), repeat=order):
                expected = table.get(tuple(sorted(index)), 0.0)
                got = derivative(f, point, index)
                assert close(got, expected, 1e-12), (name, point, index, got, expected)
                if order > 1 or name == "pow":  # every index order: mixed partials are symmetric
                    assert close(got, central(f, point, index), 1e-6, 1e-7), (name, point, index)


def test_a_wrong_closed_form_is_caught():
    """The comparison can fail: d²/dx² tanh taken as +2 tanh (1 - tanh²) (a sign slip) is rejected."""
    wrong = 2 * math.tanh(0.5) * (1 - math.tanh(0.5) ** 2)
    assert not close(derivative(lambda x: x.tanh(), [0.5], (0, 0)), wrong, 1e-6)
    assert not close(central(lambda x: x.tanh(), [0.5], (0, 0)), wrong, 1e-6)


def test_higher_orders_go_on():
    # d^5/dx^5 e^(2x) = 32 e^(2x); d^5 x^5 = 120 and d^6 x^5 = 0; tanh's 4th from differences of its 3rd
    assert close(derivative(lambda x: (2 * x).exp(), [0.3], (0,) * 5), 32 * math.exp(0.6), 1e-12)
    assert derivative(lambda x: x ** 5, [0.7], (0,) * 5) == pytest.approx(120, rel=1e-14)
    assert derivative(lambda x: x ** 5, [0.7], (0,) * 6) == 0.0
    f = lambda x: (x * 1.3).tanh()  # noqa: E731
    assert close(derivative(f, [0.4], (0,) * 4), central(f, [0.4], (0,) * 4), 1e-6, 1e-7)


OPS = ["add", "mul", "div", "tanh", "sigmoid", "exp", "log", "square", "pow", "neuron", "relu"]


def apply_op(m, op, a, b, c, d):
    """One step of a random expression, on Values (m = AD) or on torch tensors (m = a torch backend).
    Operands are kept in the domain of each op (a positive base, a divisor in [0.5, 2.5])."""
    if op == "add":
        return a + b
    if op == "mul":
        return a * b
    if op == "div":
        return a / (1.5 + m.tanh(b))
    if op in ("tanh", "sigmoid", "relu"):
        return getattr(m, op)(a)
    if op == "exp":
        return m.exp(m.tanh(a))
    if op == "log":
        return m.log(1 + a * a)
    if op == "square":
        return a ** 2
    if op == "pow":
        return (1 + a * a) ** m.tanh(b)
    assert op == "neuron"
    return m.neuron([a, b], [c, d], a)


AD = SimpleNamespace(tanh=ad.tanh, sigmoid=ad.sigmoid, exp=ad.exp, log=ad.log, relu=ad.relu, neuron=ad.neuron)


def random_program(rng: random.Random, n: int, length: int = 9, ops=OPS):
    """A random expression of n inputs as a list of (op, operand positions); nodes are reused (diamonds)."""
    return [(rng.choice(ops), [rng.randrange(n + k) for _ in range(4)]) for k in range(length)]


def run_program(program, xs, m=AD):
    v = list(xs)
    for op, (i, j, k, l_) in program:
        v.append(apply_op(m, op, v[i], v[j], v[k], v[l_]))
    return v[-1] + v[-2] * v[-3]


def _random_expression(rng: random.Random, n: int):
    program = random_program(rng, n, ops=[op for op in OPS if op != "relu"])
    return lambda *xs: run_program(program, xs)


def test_hessians_of_random_graphs_are_symmetric_and_match_differences_of_the_gradient():
    rng = random.Random(7)
    for _ in range(25):
        n = rng.randint(1, 4)
        f = _random_expression(rng, n)
        point = [rng.uniform(-1, 1) for _ in range(n)]
        H = hessian(f, point)
        scale = max(1.0, max(abs(h) for row in H for h in row))
        for i, j in itertools.product(range(n), repeat=2):
            assert abs(H[i][j] - H[j][i]) <= 1e-12 * scale, (i, j, H)
            assert abs(H[i][j] - central(f, point, (i, j))) <= 1e-6 * scale, (i, j, H)
        v = [rng.uniform(-1, 1) for _ in range(n)]
        Hv = hvp(f, point, v)
        for i in range(n):
            assert abs(Hv[i] - sum(H[i][j] * v[j] for j in range(n))) <= 1e-12 * scale * n


def test_third_order_mixed_partials_agree_in_every_order():
    rng = random.Random(3)
    for _ in range(5):
        f = _random_expression(rng, 3)
        point = [rng.uniform(-1, 1) for _ in range(3)]
        for index in [(0, 1, 2), (0, 0, 1), (1, 2, 2)]:
            values = [derivative(f, point, p) for p in set(itertools.permutations(index))]
            assert max(values) - min(values) <= 1e-11 * max(1.0, max(map(abs, values))), (index, values)


# ---- semantics of grad -----------------------------------------------------------------------------

def _graph():
    x, y = Value(0.8, "x"), Value(-0.4, "y")
    t = (x * y).tanh()
    return x, y, t, t * x + y.exp()


def test_first_order_grad_equals_backward():
    x, y, t, out = _graph()
    gx, gy, gt = grad(out, [x, y, t])
    out.backward()
    assert (gx, gy, gt) == (x.grad, y.grad, t.grad)
    assert all(type(g) is float for g in (gx, gy, gt))


def test_grad_touches_no_grad_anywhere():
    x, y, t, out = _graph()
    nodes = ad.topological_order(out)
    assert not any(n.has_grad for n in nodes)
    first = grad(out, [x, y], create_graph=True)
    grad(first[0], [x, y], create_graph=True)
    hessian(lambda a, b: (a * b).tanh(), [x, y])
    touched = [n for g in first for n in ad.topological_order(g) if n.has_grad]
    assert touched == [] and not any(n.has_grad for n in nodes)
    out.backward()  # now every node holds a gradient: grad must neither read nor change them
    before = {n: n.grad for n in nodes}
    x.grad = 5.0  # even a leaf with a stale accumulated gradient
    before[x] = 5.0
    assert grad(out, x) == pytest.approx(t.data + x.data * y.data * (1 - t.data ** 2), rel=1e-15)
    grad(grad(out, x, create_graph=True), [x, y])
    assert {n: n.grad for n in nodes} == before


def test_return_types():
    x, y, t, out = _graph()
    assert isinstance(grad(out, x), float)
    assert isinstance(grad(out, (x,)), tuple) and len(grad(out, [x, y, x])) == 3
    g = grad(out, [x, y], create_graph=True)
    assert isinstance(g, tuple) and all(isinstance(v, Value) for v in g)
    assert [v.data for v in g] == list(grad(out, [x, y]))
    assert grad(out, out) == 1.0 and grad(out, out, create_graph=True).data == 1.0
    assert grad(t, t * 2.0) == 0.0  # a node built after t: t does not depend on it


def test_gradient_with_respect_to_an_interior_node():
    x = Value(1.5)
    t = x + 1.0
    y = t * t * t
    assert grad(y, t) == pytest.approx(3 * 2.5 ** 2, rel=1e-15)
    assert grad(grad(y, t, create_graph=True), t) == pytest.approx(6 * 2.5, rel=1e-15)


def test_unused_inputs_give_zero_or_a_clear_error():
    x, z = Value(2.0, "x"), Value(3.0, "z")
    y = x * x
    assert grad(y, [x, z]) == (4.0, 0.0)
    gz = grad(y, [x, z], create_graph=True)[1]
    assert isinstance(gz, Value) and gz.data == 0.0 and gz.is_leaf
    with pytest.raises(ValueError, match=r"does not depend on input 1 \('z'.*allow_unused=True"):
        grad(y, [x, z], allow_unused=False)
    assert grad(y, x, allow_unused=False) == 4.0
    # the derivative of a linear function is a constant: its own derivative is 0 (or, asked strictly,
    # an error: the constant's graph does not reach x, as in PyTorch)
    d = grad(3.0 * x, x, create_graph=True)
    assert d.data == 3.0 and grad(d, x) == 0.0
    with pytest.raises(ValueError, match="does not depend on input 0"):
        grad(d, x, allow_unused=False)


def test_a_zero_gradient_that_flows_is_not_unused():
    x = Value(-1.0)
    y = x.relu()
    assert grad(y, x, allow_unused=False) == 0.0


def test_errors_name_what_went_wrong():
    x = Value(1.0)
    with pytest.raises(TypeError, match="create_graph=True"):
        grad(grad(x * x, x), x)
    with pytest.raises(TypeError, match=r"inputs\[1\] is a float"):
        grad(x * x, [x, 2.0])
    with pytest.raises(TypeError, match="a Value or a list"):
        grad(x * x, {x})
    np = pytest.importorskip("numpy")
    from autodiff.batched import batch, total
    b = batch(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="batch"):
        grad(total(b * x), x)


def test_deep_chains_need_no_recursion():
    x = Value(0.5)
    y = x
    for _ in range(20_000):
        y = y + x
    y = y * y  # (20001 x)^2: second derivative 2 * 20001^2
    assert grad(grad(y, x, create_graph=True), x) == 2 * 20_001 ** 2


# ---- hessian and hvp -------------------------------------------------------------------------------

def test_hessian_and_hvp_of_a_known_function():
    f = lambda x, y: x * x * y + y.exp()  # noqa: E731
    H = hessian(f, [1.0, 2.0])
    assert H == [[4.0, 2.0], [2.0, pytest.approx(math.exp(2.0), rel=1e-15)]]
    assert hvp(f, [1.0, 2.0], [1.0, -1.0]) == [2.0, pytest.approx(2.0 - math.exp(2.0), rel=1e-15)]
    x = Value(1.0, "x")
    assert hessian(f, [x, 2]) == H and not x.has_grad  # Values give their numbers; they are not touched
    assert hessian(lambda x, y: 4.0, [1.0, 2.0]) == [[0.0, 0.0], [0.0, 0.0]]
    assert hvp(lambda x: x * 0.0 + 1.0, [1.0], [2.0]) == [0.0]


def test_hessian_and_hvp_reject_bad_arguments():
    f = lambda x: x * x  # noqa: E731
    with pytest.raises(TypeError, match="list of numbers"):
        hessian(f, 1.0)
    with pytest.raises(ValueError, match="empty"):
        hessian(f, [])
    with pytest.raises(TypeError, match="must return one Value"):
        hessian(lambda x: [x], [1.0])
    with pytest.raises(ValueError, match="one number per input"):
        hvp(f, [1.0], [1.0, 2.0])


# ---- a second opinion: PyTorch in float64 ----------------------------------------------------------

def _torch_backend(torch):
    return SimpleNamespace(tanh=torch.tanh, sigmoid=torch.sigmoid, exp=torch.exp, log=torch.log,
                           relu=torch.relu, neuron=lambda w, x, b: w[0] * x[0] + w[1] * x[1] + b)


def _assert_matches(ours, theirs, what):
    """Entrywise within 1e-10 relative to the largest entry (entries near 0 are sums that cancel)."""
    scale = max(1.0, float(abs(theirs).max()))
    worst = float(abs(theirs - theirs.new_tensor(ours)).max())
    assert worst <= 1e-10 * scale, f"{what}: off by {worst:.3g} (scale {scale:.3g})\n{ours}\n{theirs}"


def _as_functions(program, T):
    """The program as f(*Values) for deltagrad and as f(one tensor of inputs) for PyTorch."""
    return (lambda *xs: run_program(program, xs)), (lambda x: run_program(program, list(x), T))


def test_hessians_of_random_graphs_match_pytorch():
    torch = require_torch()
    T = _torch_backend(torch)
    rng = random.Random(11)
    for case in range(40):
        n = rng.randint(1, 4)
        program = random_program(rng, n, length=rng.randint(3, 10))
        point = [rng.uniform(-1, 1) for _ in range(n)]
        f, ft = _as_functions(program, T)
        H = hessian(f, point)
        x = torch.tensor(point, dtype=torch.float64)
        _assert_matches(H, torch.autograd.functional.hessian(ft, x), f"case {case}: {program}")
        v = [rng.uniform(-1, 1) for _ in range(n)]
        _, Hvt = torch.autograd.functional.hvp(ft, x, torch.tensor(v, dtype=torch.float64))
        _assert_matches(hvp(f, point, v), Hvt, f"hvp, case {case}")


def test_third_derivatives_of_random_graphs_match_pytorch():
    torch = require_torch()
    T = _torch_backend(torch)
    rng = random.Random(5)
    for case in range(10):
        program = random_program(rng, 3, length=7)
        point = [rng.uniform(-1, 1) for _ in range(3)]
        xs = [Value(p) for p in point]
        first = grad(run_program(program, xs), xs, create_graph=True)
        second = [grad(g, xs, create_graph=True) for g in first]
        third = [[list(grad(h, xs)) for h in row] for row in second]
        ft = _as_functions(program, T)[1]
        x = torch.tensor(point, dtype=torch.float64)
        Tt = torch.autograd.functional.jacobian(
            lambda x, ft=ft: torch.autograd.functional.hessian(ft, x, create_graph=True), x)
        _assert_matches(third, Tt, f"case {case}: {program}")


def _mlp_loss(model, X, Y):
    return nn.mean([nn.squared_error(model(x), [y]) for x, y in zip(X, Y, strict=True)])


def _torch_mlp_loss(torch, model, X, Y):
    """The same loss as a function of one flat tensor of the model's parameters, in their order."""
    index = {p: i for i, p in enumerate(model.parameters())}
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": lambda z: z}

    def loss(p):
        total = 0.0
        for x, y in zip(X, Y, strict=True):
            a = [torch.tensor(float(v)) for v in x]
            for layer in model.layers:
                a = [act[n.activation](sum(p[index[w]] * ak for w, ak in zip(n.w, a, strict=True))
                                       + p[index[n.b]]) for n in layer.neurons]
            total = total + 0.5 * (a[0] - y) ** 2
        return total / len(X)
    return loss


@pytest.mark.parametrize("activation, fused", [("tanh", False), ("sigmoid", True), ("relu", True)])
def test_hessian_of_a_small_mlp_loss_matches_pytorch(activation, fused):
    torch = require_torch()
    rng = random.Random(2)
    model = nn.MLP(2, [3, 1], activation=activation, rng=rng, fused=fused)
    X = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(4)]
    Y = [rng.uniform(-1, 1) for _ in X]
    params = model.parameters()
    before = [p.grad for p in params]
    loss = _mlp_loss(model, X, Y)
    H = [list(grad(g, params)) for g in grad(loss, params, create_graph=True)]
    assert [p.grad for p in params] == before and not any(p.has_grad for p in params)
    p0 = torch.tensor([p.data for p in params], dtype=torch.float64)
    Ht = torch.autograd.functional.hessian(_torch_mlp_loss(torch, model, X, Y), p0)
    assert len(H) == 13
    _assert_matches(H, Ht, f"MLP {activation}{' fused' if fused else ''}")


def test_a_rule_that_takes_the_float_out_of_out_is_caught(monkeypatch):
    """The mistake create_graph cannot survive: tanh's rule written with ``out.data`` gives the right
    first derivative but a wrong second one (d/dx of a constant 1 - t² is 0), and the checks see it."""
    tanh = PRIMITIVES["tanh"]
    monkeypatch.setattr(tanh, "vjp", lambda g, out, x: (g * (1 - out * _number(out)),))
    f, x = UNARY["tanh"][0], 0.5
    first = _tanh_d(x)
    assert close(derivative(f, [x], (0,)), first[0], 1e-12)
    assert not close(derivative(f, [x], (0, 0)), first[1], 1e-3)
    assert not close(derivative(f, [x], (0, 0)), central(f, [x], (0, 0)), 1e-3)
