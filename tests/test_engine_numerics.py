"""Issues 13 and 18, what a new-user test found in the engine: a reported number is finite or an error
names the one that is not (every path), every rule works for every finite input in every mode, rule errors
in words, PyTorch's convention for elu at its kink, bracketed derivative texts, and smaller edges."""

from __future__ import annotations

import math
import warnings

import pytest

import autodiff
from autodiff import PRIMITIVES, Value, backward_steps, grad, hessian, hvp
from autodiff.batched import batch, total
from autodiff.engine import apply
from autodiff.steps import local_derivative_text, node_names

BIG = [1e308, -1e308, 2e154, -2e154, 1e-300, -1e-300, 5e-324, 0.0, 37.5, -37.5, 400.5, -400.5]


# ---- 1. infinite gradients: refused in every path ------------------------------------------------

def test_grad_refuses_an_infinite_gradient_naming_the_node():
    t = Value(1e-10, "t")
    with pytest.raises(FloatingPointError, match="gradient of node t adds up to inf"):
        grad(t * 1e308 + t * 1e308, t)


def test_accumulation_across_backward_calls_that_overflows_is_refused_all_or_nothing():
    t = Value(1e-10, "t")
    y = t * 1e308
    y.backward()
    with pytest.raises(FloatingPointError, match="gradient of leaf t .* would be inf"):
        y.backward()
    assert t.grad == 1e308                       # as it was before the failed call
    w = Value(1.0, "w")
    loss = total(w * batch([1e308, 0.0]))
    loss.backward()
    with pytest.raises(FloatingPointError, match="leaf w"):
        loss.backward()
    assert w.grad == 1e308


def test_steppers_never_show_an_infinite_number():
    t = Value(1e-10, "t")
    shown = []
    with pytest.raises(FloatingPointError, match="overflows a float"):
        for step in backward_steps(t * 1e308 + t * 1e308):
            shown.append(str(step))
    assert shown and not any("inf" in s or "nan" in s for s in shown)


def test_hessian_and_hvp_raise_rather_than_report_inf():
    with pytest.raises(ArithmeticError, match="overflows"):
        hessian(lambda x: x * 1e308 + x * 1e308, [1e-10])
    with pytest.raises(ArithmeticError, match="overflows"):
        hvp(lambda x: x * x * 10.0, [1.0], [1e308])


# ---- 2. every rule at every finite input, in every mode ------------------------------------------

def _unary(name):
    return lambda x: apply(PRIMITIVES[name], x)


TOTAL = ["tanh", "sigmoid", "softplus", "gelu", "normal_cdf", "relu", "abs", "sin", "cos", "elu",
         "leaky_relu"]  # defined, with a finite derivative, at every finite input


@pytest.mark.parametrize("name", TOTAL)
def test_every_total_rule_works_at_every_finite_input_in_every_mode(name):
    f = _unary(name)
    for x in BIG:
        v = Value(x)
        f(v).backward()                                              # eager
        leaf = Value(x)
        first = grad(f(leaf), leaf, create_graph=True)               # a graph of the derivative
        second = grad(first, leaf) if not first.is_leaf else 0.0     # and its derivative
        b = batch([x])                                               # one example: a sum that fits
        with warnings.catch_warnings():
            warnings.simplefilter("error")                           # no numpy RuntimeWarning
            total(f(b)).backward()
        assert math.isfinite(v.grad) and math.isfinite(second), (name, x)
        assert first.data == v.grad, (name, x)                       # one rule, the same number
        assert b.grad.tolist() == [v.grad], (name, x)


def test_tanh_and_gelu_derivatives_at_huge_inputs():
    x = Value(1e308)
    x.tanh().backward()
    assert x.grad == 0.0
    x = Value(2e154)
    x.gelu().backward()
    assert x.grad == 1.0
    x = Value(-2e154)
    x.gelu().backward()
    assert x.grad == 0.0


@pytest.mark.parametrize("x", [-40.0, -745.0, -1e308])
def test_elu_derivative_keeps_its_relative_precision_in_the_left_tail(x):
    v = Value(x)
    v.elu(2.0).backward()
    assert v.grad == 2.0 * math.exp(x)                              # not out + α, which rounds to 0


def test_the_same_overflow_raises_the_same_type_in_eager_and_batched_mode_without_warnings():
    with pytest.raises(FloatingPointError, match="overflows a float") as eager:
        (Value(1e-3) ** -102).backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FloatingPointError, match="not a finite number") as batched:
            total(batch([1e-3, 1.0]) ** -102).backward()
    assert type(eager.value) is type(batched.value)


# ---- 3. rule errors in words ---------------------------------------------------------------------

@pytest.mark.parametrize("run", [
    lambda: (Value(1e-3) ** -102).backward(),
    lambda: (Value(1e-320) ** -0.5).backward(),
    lambda: (Value(1e-320) ** Value(-0.5)).backward(),
    lambda: (lambda x: grad(grad(x.log(), x, create_graph=True), x))(Value(1e-300)),
])
def test_an_overflowing_derivative_is_said_in_words_naming_op_node_and_values(run):
    with pytest.raises(FloatingPointError) as info:
        run()
    text = str(info.value)
    assert "Numerical result out of range" not in text and "(34," not in text
    assert "the rule of pow" in text and "at node v" in text and "inputs " in text
    assert "derivative overflows a float" in text


def test_cli_grad_says_the_overflow_in_words(capsys):
    from deltagrad.cli import main
    assert main(["grad", "x**-102", "x=1e-3"]) == 2
    err = capsys.readouterr().err
    assert "derivative overflows a float" in err and "(34," not in err


# ---- 5. elu at its kink, as PyTorch --------------------------------------------------------------

@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_elu_first_and_second_derivative_at_zero_follow_pytorch(alpha):
    torch = pytest.importorskip("torch")
    x = Value(0.0)
    first = grad(x.elu(alpha), x, create_graph=True)
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.nn.functional.elu(t, alpha), t, create_graph=True)
    (tgg,) = torch.autograd.grad(tg, t)
    assert (first.data, grad(first, x)) == (tg.item(), tgg.item()) == (alpha, 0.0)


# ---- 7, 8, 9 -------------------------------------------------------------------------------------

def test_an_overflowing_sum_over_examples_is_refused_in_words_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(OverflowError, match="examples_sum"):
            total(batch([1e308, 1e308]))


def test_an_int_beyond_the_floats_is_a_value_error_saying_what_was_given():
    with pytest.raises(ValueError, match="float range .* int of about 401 digits"):
        Value(10 ** 400)


def _node_of(prim):
    a, b = Value(0.3, "a"), Value(0.7, "b")
    if prim.arity == 1:
        return apply(prim, a)
    if prim.arity == 2:
        return apply(prim, a, b)
    return autodiff.neuron([a], [b], Value(0.1, "c"))


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_every_multi_term_local_derivative_is_bracketed(name):
    node = _node_of(PRIMITIVES[name])
    names = node_names(autodiff.topological_order(node))
    for i in range(len(node.parents)):
        text = local_derivative_text(node, i, names)
        depth, top_level_sum = 0, False
        for k, c in enumerate(text):
            depth += (c in "([{") - (c in ")]}")
            top_level_sum |= depth == 0 and c in "+−" and text[k - 1:k + 2] in (" + ", " − ")
        assert not top_level_sum, text


def test_gelu_text_reads_as_a_product_in_the_stepper():
    a = Value(0.3, "a")
    (step,) = list(backward_steps(a.gelu()))
    assert "(Φ(a) + a·φ(a)) · " in str(step)


def test_a_non_finite_data_set_by_hand_is_called_not_finite():
    v = Value(1.0)
    v.data = float("nan")
    with pytest.raises(ValueError, match="not a finite number"):
        v * 2


# ---- 4. binary_cross_entropy_with_logits: exact in both tails ------------------------------------

def _softplus_exact(x: float) -> float:
    """log(1 + e^x), from log1p/exp with no cancellation: the reference for both tails."""
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


def _sigmoid_exact(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


CASES = [(20.0, 1.0), (40.0, 1.0), (700.0, 1.0), (-40.0, 0.0), (-700.0, 0.0), (40.0, 0.0),
         (-40.0, 1.0), (0.3, 0.25), (-3.0, 0.9), (0.0, 0.5)]


@pytest.mark.parametrize(("z", "t"), CASES)
def test_bce_with_logits_is_exact_in_both_tails(z, t):
    import nn
    zv = Value(z)
    loss = nn.binary_cross_entropy_with_logits([zv], [t])
    loss.backward()
    want = t * _softplus_exact(-z) + (1 - t) * _softplus_exact(z)   # -log σ(z) = softplus(-z)
    want_grad = (1 - t) * _sigmoid_exact(z) - t * _sigmoid_exact(-z)  # σ(z) - t, no cancellation
    assert loss.data == pytest.approx(want, rel=4e-16, abs=0)
    assert zv.grad == pytest.approx(want_grad, rel=4e-16, abs=0)


def test_bce_with_logits_agrees_with_pytorch_in_both_tails():
    torch = pytest.importorskip("torch")
    import nn
    for z, t in CASES:
        zv = Value(z)
        loss = nn.binary_cross_entropy_with_logits([zv], [t])
        loss.backward()
        zt = torch.tensor([z], dtype=torch.float64, requires_grad=True)
        lt = torch.nn.functional.binary_cross_entropy_with_logits(
            zt, torch.tensor([t], dtype=torch.float64), reduction="sum")
        lt.backward()
        # PyTorch's loss and gradient (σ(z) − t as written) are exact only to ~1e-16 absolute in one
        # tail each (loss 0.0 at z = -40, t = 0); ours to the last bit (the test above)
        assert loss.data == pytest.approx(lt.item(), rel=1e-15, abs=2e-16), (z, t)
        assert zv.grad == pytest.approx(zt.grad.item(), rel=1e-15, abs=2e-16), (z, t)
    loss = nn.binary_cross_entropy_with_logits([Value(40.0)], [1.0])
    assert loss.data == pytest.approx(4.248e-18, rel=1e-3)


def test_batched_forward_overflow_is_refused_in_words_without_numpy_warnings():
    from autodiff.engine import neurons
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for make in (lambda: Value(1e308) * batch([1.0, 10.0]), lambda: batch([1e308]) + batch([1e308]),
                     lambda: autodiff.neuron([Value(1e308)], [batch([1.0, 10.0])], Value(0.0)),
                     lambda: neurons([[Value(1e308)]], [batch([1.0, 10.0])], [Value(0.0)]),
                     lambda: neurons([[Value(1e308)]], [Value(10.0)], [Value(0.0)])):
            with pytest.raises(OverflowError, match="overflows a float"):
                make()


def test_leaves_whose_sums_only_overflow_together_are_fine():
    a, b, c = Value(1.0, "a"), Value(1.0, "b"), Value(1.0, "c")
    y = a * 4e307 + b * 4e307 + c * 4e307
    y.backward()
    y.backward()                                 # the three sums add up past the floats; each is fine
    assert (a.grad, b.grad, c.grad) == (8e307, 8e307, 8e307)


# ---- 6. the documentation's example runs as it stands --------------------------------------------

def test_the_adding_a_primitive_example_runs_copied_as_it_stands(tmp_path):
    import re
    import subprocess
    import sys
    from pathlib import Path
    page = (Path(__file__).resolve().parent.parent / "docs" / "primitives.md").read_text(encoding="utf-8")
    section = page[page.index("## Adding a primitive"):]
    code, shown = re.findall(r"```(?:python)?\n(.*?)```", section, re.S)[:2]
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path)                   # a fresh process: the table has no softsign yet
    assert run.returncode == 0, run.stderr
    assert run.stdout == shown


# ---- 9. smaller edges ----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "words"), [("x.json/", "ends with a slash"), ("", "path is empty")])
def test_save_refuses_a_path_that_names_no_file(tmp_path, monkeypatch, name, words):
    import nn
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=words):
        nn.MLP(2, [2]).save(name)
    assert list(tmp_path.iterdir()) == []            # nothing written, not even x.json


@pytest.mark.parametrize("argv", [["check", "--doc", "000"], ["grad", "x*2", "x=1"]])
def test_a_reader_closing_the_pipe_ends_the_cli_quietly(argv):
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "deltagrad", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()                              # as `| head -0`: the reader is gone before any output
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141             # 128 + SIGPIPE, as a shell reports such a tool
    assert err == b"", err                           # no "Broken pipe", no "Exception ignored"


def test_cli_grad_of_tanh_at_a_huge_input_works(capsys):
    from deltagrad.cli import main
    assert main(["grad", "tanh(x)", "x=1e308"]) == 0
    assert "exp needs a finite number" not in capsys.readouterr().err


def test_a_step_never_shows_an_infinite_local_derivative():
    x = Value(1e-310, "x")
    y = x.log() * 1e-20                          # term 1e-20/x is finite, the local 1/x is not
    y.backward()
    assert math.isfinite(x.grad)
    with pytest.raises(FloatingPointError, match="local derivative of log at node v1 .* overflows"):
        list(backward_steps(y))


@pytest.mark.parametrize(("x", "n", "upstream"), [(1e-310, 1e-10, 1.0), (1e-3, -102.0, 1e-20),
                                                  (-1e-3, -102.0, 1e-20), (-1e-3, -101.0, 1e-20)])
def test_pow_derivative_finite_although_x_to_the_n_minus_1_overflows(x, n, upstream):
    from decimal import Decimal, localcontext
    with localcontext() as ctx:                  # the reference: g n x^(n-1) in 40-digit decimals
        ctx.prec = 40
        want = float(Decimal(upstream) * Decimal(n) * Decimal(x) ** (Decimal(n) - 1))
    v = Value(x)
    (v ** n * upstream).backward()
    assert math.isfinite(want) and v.grad == pytest.approx(want, rel=1e-12)
