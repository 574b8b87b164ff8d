"""The engine's contract: derivative rules, graph shapes, backward semantics, memory and bad input."""

from __future__ import annotations

import gc
import math
import sys
import weakref

import numpy as np
import pytest

import autodiff
from autodiff import GradcheckError, Value, gradcheck, numerical_grad, topological_order

# ---- every derivative rule against central differences (float64) -------------------------------

UNARY = {
    "exp": (lambda x: x.exp(), [-2.0, 0.3, 4.0]),
    "log": (lambda x: x.log(), [0.1, 1.0, 7.5]),
    "tanh": (lambda x: x.tanh(), [-3.0, -0.2, 0.0, 1.7]),
    "sigmoid": (lambda x: x.sigmoid(), [-6.0, 0.0, 2.5]),
    "relu": (lambda x: x.relu(), [-1.3, 0.4, 2.0]),
    "neg": (lambda x: -x, [-1.0, 2.0]),
    "pow2": (lambda x: x ** 2, [-1.5, 0.7]),
    "pow3": (lambda x: x ** 3, [-1.5, 0.7]),
    "pow-1": (lambda x: x ** -1, [-2.0, 0.5]),
    "pow0.5": (lambda x: x ** 0.5, [0.3, 4.0]),
    "rpow": (lambda x: 2.0 ** x, [-1.0, 1.5]),
    "rsub": (lambda x: 3 - x, [0.5]),
    "rdiv": (lambda x: 3 / x, [0.5, -2.0]),
}

BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "pow": lambda x, y: x ** y,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_rule_matches_central_difference(name):
    f, points = UNARY[name]
    for x in points:
        assert gradcheck(f, [x], atol=1e-8, rtol=1e-7)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_rule_matches_central_difference(name):
    for x, y in [(1.3, 0.7), (2.5, -1.2), (0.4, 3.0)]:
        assert gradcheck(BINARY[name], [x, y], atol=1e-8, rtol=1e-7)


def test_module_functions_take_values_and_numbers():
    for name in ("exp", "log", "tanh", "sigmoid", "relu"):
        fn = getattr(autodiff, name)
        v = fn(Value(0.8))
        assert isinstance(v, Value) and v.op == name
        assert fn(0.8) == pytest.approx(v.data, abs=0) and isinstance(fn(0.8), float)
    assert autodiff.tanh(1) == math.tanh(1)


def test_closed_forms_of_the_rules():
    x = Value(0.6)
    for f, d in [(lambda v: v.tanh(), 1 - math.tanh(0.6) ** 2), (lambda v: v.exp(), math.exp(0.6)),
                 (lambda v: v.log(), 1 / 0.6), (lambda v: v ** 3, 3 * 0.36),
                 (lambda v: v.sigmoid(), (s := 1 / (1 + math.exp(-0.6))) * (1 - s))]:
        x.grad = 0.0
        f(x).backward()
        assert x.grad == pytest.approx(d, rel=1e-15)


def test_relu_derivative_at_zero_is_zero():
    x = Value(0.0)
    x.relu().backward()
    assert x.grad == 0.0


def test_gradcheck_catches_a_wrong_rule(monkeypatch):
    prim = autodiff.PRIMITIVES["tanh"]
    monkeypatch.setattr(prim, "vjp", lambda g, out, x: (g * (1 + out * out),))  # sign flipped
    with pytest.raises(GradcheckError) as err:
        gradcheck(lambda a, b: (a * b).tanh() + b, [Value(0.5, "a"), Value(0.8, "b")])
    message = str(err.value)
    assert "a: engine" in message and "b: engine" in message and "central difference" in message


def test_gradcheck_names_only_the_inputs_that_disagree(monkeypatch):
    prim = autodiff.PRIMITIVES["exp"]
    monkeypatch.setattr(prim, "vjp", lambda g, out, x: (2 * g * out,))
    with pytest.raises(GradcheckError) as err:
        gradcheck(lambda a, b: a.exp() + b * b, [Value(0.5, "a"), Value(0.8, "b")])
    assert "a: engine" in str(err.value) and "b: engine" not in str(err.value)


def test_numerical_grad_is_central():
    assert numerical_grad(lambda x, y: x * x * y, [3.0, 2.0]) == pytest.approx([12.0, 9.0], rel=1e-9)


def test_gradcheck_rejects_a_single_number():
    with pytest.raises(TypeError, match="sequence"):
        gradcheck(lambda x: x, 3.0)


# ---- graph shapes ----------------------------------------------------------------------------

def test_reuse_keeps_duplicate_parents():
    x = Value(3.0)
    y = x * x
    assert y.parents == (x, x)
    y.backward()
    assert x.grad == 6.0


def test_chained_reuse():
    a = Value(2.0)
    b = a + a
    c = b + b
    c.backward()
    assert (a.grad, b.grad, c.grad) == (4.0, 2.0, 1.0)


def test_diamond():
    x = Value(0.5)
    u, v = x.exp(), x * 3
    y = u * v
    y.backward()
    assert x.grad == pytest.approx(math.exp(0.5) * 1.5 + math.exp(0.5) * 3, rel=1e-15)


def test_constant_output_and_leaf_backward():
    c = Value(4.0)
    c.backward()
    assert c.grad == 1.0
    out = Value(2.0) * 3.0
    out.backward()
    assert out.grad == 1.0 and out.parents[0].grad == 3.0


def test_topological_order_puts_parents_first_and_is_deterministic():
    x, w, b = Value(1.0, "x"), Value(2.0, "w"), Value(3.0, "b")
    n = x * w + b
    o = n.tanh() * n
    order = topological_order(o)
    position = {node: i for i, node in enumerate(order)}
    assert len(position) == len(order)
    for node in order:
        for p in node.parents:
            assert position[p] < position[node]
    assert order[-1] is o
    assert order[:2] == [x, w]  # parents visited in operand order
    assert [v.data for v in topological_order(o)] == [v.data for v in order]


def test_parents_and_ops_are_recorded():
    x, y = Value(2.0), Value(5.0)
    assert (x + y).op == "add" and (x * y).op == "mul" and x.op == "" and x.parents == ()
    assert (x ** 2).op == "pow_const" and (x ** y).op == "pow" and (x ** y).parents == (x, y)
    z = x - y
    assert z.op == "add" and z.parents[0] is x and z.parents[1].op == "mul"


# ---- backward semantics ----------------------------------------------------------------------

def test_leaf_gradients_accumulate_and_interior_gradients_restart():
    x = Value(2.0)
    h = x * 3
    y = h * h
    y.backward()
    assert (x.grad, h.grad) == (36.0, 12.0)
    y.backward()
    assert x.grad == 72.0      # leaves accumulate, as in PyTorch
    assert h.grad == 12.0      # interior nodes are recomputed from zero
    y.zero_grad()
    assert x.grad == 0.0 and not x.has_grad
    y.backward()
    assert x.grad == 36.0


def test_grad_is_zero_until_reached():
    x = Value(1.0)
    assert x.grad == 0.0 and not x.has_grad
    (x * 2).backward()
    assert x.has_grad


def test_deep_chain_of_a_million_nodes_works_with_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0
    assert y.data == 1_000_000.5


def test_graph_is_freed_without_the_cyclic_gc():
    gc.disable()
    try:
        gc.collect()
        x = Value(0.3)
        y = x
        for _ in range(1000):
            y = (y * 1.0001 + 0.0001).tanh()
        y.backward()
        probe = weakref.ref(y.parents[0]) if hasattr(y, "__weakref__") else None
        nodes_before = sum(1 for o in gc.get_objects() if type(o) is Value)
        del y
        nodes_after = sum(1 for o in gc.get_objects() if type(o) is Value)
        assert nodes_before - nodes_after >= 4000  # the whole chain went by reference counting
        assert probe is None or probe() is None
    finally:
        gc.enable()


def test_value_has_slots_and_no_dict():
    assert not hasattr(Value(1.0), "__dict__")


def test_values_hash_and_compare_by_identity():
    a, b = Value(1.0), Value(1.0)
    assert a != b and a == a and len({a, b}) == 2
    assert {a: 1}[a] == 1


def test_repr_is_brief():
    assert repr(Value(0.5, "w")) == "Value(data=0.5, grad=0, label='w')"
    assert repr(Value(2)) == "Value(data=2, grad=0)"


# ---- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["1.0", None, 1j, [1.0], np.array([1.0]), True, np.bool_(True), {}])
def test_value_rejects_non_numbers(bad):
    with pytest.raises(TypeError, match="real number"):
        Value(bad)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_value_rejects_non_finite(bad):
    with pytest.raises(ValueError, match="finite"):
        Value(bad)


def test_value_accepts_numpy_scalars_and_stores_floats():
    for x in (np.float32(1.5), np.int64(3), np.float64(2.25), 7):
        v = Value(x)
        assert type(v.data) is float and v.data == float(x)


def test_operators_reject_bad_operands():
    with pytest.raises(TypeError, match="real number"):
        Value(1.0) + "a"
    with pytest.raises(TypeError, match="real number"):
        Value(1.0) ** "a"


def test_domain_errors_name_the_op_and_value():
    with pytest.raises(ValueError, match=r"log: log\(-1.0\)"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match=r"log: log\(0.0\)"):
        autodiff.log(0.0)
    with pytest.raises(ZeroDivisionError, match="divides by zero"):
        Value(1.0) / 0
    with pytest.raises(ZeroDivisionError, match="divides by zero"):
        Value(1.0) / Value(0.0)
    with pytest.raises(ValueError, match="negative base"):
        Value(-2.0) ** 0.5
    with pytest.raises(OverflowError, match=r"exp: exp\(1000.0\)"):
        Value(1000.0).exp()


def test_negative_base_with_integer_exponent_is_fine():
    x = Value(-2.0)
    y = x ** 3
    y.backward()
    assert (y.data, x.grad) == (-8.0, 12.0)


def test_exponent_derivative_of_negative_base_is_an_error_not_nan():
    x, n = Value(-2.0), Value(2.0)
    y = x ** n
    with pytest.raises(ValueError, match="exponent"):
        y.backward()


def test_sigmoid_and_tanh_are_stable_at_extremes():
    assert autodiff.sigmoid(-1000.0) == 0.0
    assert autodiff.sigmoid(1000.0) == 1.0
    assert autodiff.tanh(-1000.0) == -1.0
    x = Value(-1000.0)
    x.sigmoid().backward()
    assert x.grad == 0.0


def test_label_must_be_a_string():
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)


def test_import_autodiff_does_not_import_numpy():
    """numpy is imported when an array is first met (a batch), so `import autodiff` stays instant."""
    import subprocess
    import sys

    code = "import sys, autodiff; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
