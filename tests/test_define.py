"""Issue 12: a user's primitive cannot go silently wrong. `define()` checks what it is given and tries
the row once (numbers, Values, arrays); a rule's error or wrong-shaped result is named the same in
every executor; the loop the README shows is the reference loop's own code."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import autodiff
from autodiff import Value, backward_steps, grad, hessian
from autodiff.batched import batch, total
from autodiff.primitives import PRIMITIVES, define

ROOT = Path(__file__).resolve().parents[1]



def ok_rule(g, out, x):
    return (g * 2.0,)


def test_a_rule_written_with_math_is_refused_at_definition_naming_the_fix(fresh_primitives):
    with pytest.raises(TypeError, match=r"define\('mysin'\).*autodiff's functions.*once_differentiable"):
        define("mysin", "mysin", 1, forward=math.sin, vjp=lambda g, o, x: (g * math.cos(x),),
               text=("cos({x})",), batch_forward=np.sin)
    assert "mysin" not in PRIMITIVES


def test_a_rule_that_drops_the_input_from_the_graph_is_refused_by_its_second_derivative(fresh_primitives):
    # no float() call: x.data cuts x out of the gradient's graph all the same; central differences see it
    with pytest.raises(ValueError, match="central differences"):
        define("mysin", "mysin", 1, forward=math.sin, vjp=lambda g, o, x: (g * autodiff.cos(x.data)
                                                                            if isinstance(x, Value)
                                                                            else g * math.cos(x),))


def test_written_with_autodiffs_functions_its_second_derivatives_are_right(fresh_primitives):
    mysin = define("mysin", "mysin", 1, forward=math.sin, vjp=lambda g, o, x: (g * autodiff.cos(x),),
                   text=("cos({x})",), batch_forward=np.sin)
    assert hessian(lambda x: mysin(x), [0.3])[0][0] == pytest.approx(-math.sin(0.3), rel=1e-15)
    x = Value(0.3)
    d = grad(mysin(x) * x, x, create_graph=True)
    assert grad(d, x) == pytest.approx(2 * math.cos(0.3) - 0.3 * math.sin(0.3), rel=1e-14)   # 1.8220


def test_once_differentiable_works_first_order_and_refuses_second_order_naming_it(fresh_primitives):
    mysin = define("mysin", "mysin", 1, forward=math.sin, vjp=lambda g, o, x: (g * np.cos(x),),
                   once_differentiable=True)
    x = Value(0.3)
    mysin(x).backward()
    assert type(x.grad) is float and x.grad == math.cos(0.3)          # a float, though the rule uses numpy
    with pytest.raises(NotImplementedError, match="mysin.*once differentiable"):
        hessian(lambda x: mysin(x), [0.3])


def test_float_of_a_value_is_refused_while_create_graph_rules_run(fresh_primitives):
    # a branch the probe point does not take: caught when the pass meets it
    rule = lambda g, o, x: (g * (autodiff.cos(x) if x < 5 else math.cos(x)),)   # noqa: E731
    mysin = define("mysin", "mysin", 1, forward=math.sin, vjp=rule)
    x = Value(6.0)
    mysin(x).backward()
    assert x.grad == math.cos(6.0)                                     # first order: fine
    with pytest.raises(TypeError, match=r"rule of mysin at node v1 \(inputs 6\).*float\(Value\)"):
        grad(mysin(x), x, create_graph=True)
    assert float(x) == 6.0                                             # and only then


@pytest.mark.parametrize("arity", [0, -2, "1", 1.0, True])
def test_arity_must_be_a_positive_int_or_the_nary_marker(fresh_primitives, arity):
    with pytest.raises(ValueError, match=r"define\('f'\): arity must be a positive int"):
        define("f", "f", arity, forward=lambda x: x, vjp=ok_rule)


@pytest.mark.parametrize("field,value", [("forward", 3), ("vjp", None), ("batch_forward", "x")])
def test_functions_must_be_callable(fresh_primitives, field, value):
    row = {"forward": lambda x: x, "vjp": ok_rule, "batch_forward": None} | {field: value}
    with pytest.raises(TypeError, match=rf"define\('f'\): {field} must be a function"):
        define("f", "f", 1, **row)


@pytest.mark.parametrize("name", ["", 3, "soft sign", "class", "3d", "my-op", "leaf", "pow_const", "tanh"])
def test_names_that_would_break_compile_or_shadow_an_op_are_refused(fresh_primitives, name):
    with pytest.raises(ValueError, match=r"define\(.*name"):
        define(name, "?", 1, forward=lambda x: 2 * x, vjp=ok_rule)


@pytest.mark.parametrize("text,what", [(("a", "b"), "2 entries for 1 inputs"), (("3·{z}",), r"\{z\}"),
                                       (("{3}",), r"\{3\}"), (("{y}",), r"\{y\}")])
def test_text_has_one_entry_per_input_and_placeholders_that_exist(fresh_primitives, text, what):
    with pytest.raises(ValueError, match=what):
        define("f", "f", 1, forward=lambda x: x, vjp=ok_rule, text=text)


@pytest.mark.parametrize("parse_name", ["tanh", "exp", "my fn", "lambda"])
def test_parse_name_taken_or_not_an_identifier_is_refused(fresh_primitives, parse_name):
    with pytest.raises(ValueError, match="parse_name"):
        define("f", "f", 1, forward=lambda x: x, vjp=ok_rule, parse_name=parse_name)


@pytest.mark.parametrize("rule,kind,what", [
    (lambda g, o, x: (g, g), ValueError, "2 term"), (lambda g, o, x: (), ValueError, "0 term"),
    (lambda g, o, x: None, TypeError, "NoneType"), (lambda g, o, x: g * 2.0, TypeError, "float"),
    (lambda g, x: (g,), TypeError, "vjp\\(upstream, out, \\*inputs\\)")])
def test_a_wrong_shaped_rule_is_refused_at_definition(fresh_primitives, rule, kind, what):
    with pytest.raises(kind, match=f"define\\('f'\\).*{what}.*a rule takes \\(upstream, out, \\*inputs\\) "
                                   "and returns one term per input"):
        define("f", "f", 1, forward=lambda x: x * 2, vjp=rule)


def test_arity_is_enforced_on_calls_naming_the_primitive(fresh_primitives):
    with pytest.raises(TypeError, match=r"define\('f'\): forward failed when called with 1"):
        define("f", "f", 1, forward=lambda x, y: x * y, vjp=lambda g, o, x, y: (g * y, g * x))
    two = define("two", "two", 2, forward=lambda x, y: x * y, vjp=lambda g, o, x, y: (g * y, g * x))
    one = define("one", "one", 1, forward=lambda x: 2 * x, vjp=ok_rule)
    with pytest.raises(TypeError, match="two takes 2 inputs, got 1"):
        two(Value(1.0))
    with pytest.raises(TypeError, match="one takes 1 input, got 2"):
        one(Value(1.0), Value(2.0))


def _executors(root, x):
    """Run every executor on root; the error each raised (or None)."""
    errors = []
    for run in (root.backward, lambda: list(backward_steps(root)), lambda: grad(root, x),
                lambda: grad(root, x, create_graph=True), lambda: autodiff.compile(root).backward()):
        try:
            run()
            errors.append(None)
        except Exception as e:  # noqa: BLE001 (the point is what each raised)
            errors.append(e)
    return errors


def test_a_rule_that_fails_is_named_the_same_in_every_executor(fresh_primitives):
    def rule(g, o, x):
        if 0.4 < x < 0.6:
            raise ValueError("my rule is broken")
        return (g * 2.0,)
    f = define("raises", "raises", 1, forward=lambda x: 2 * x, vjp=rule)
    x = Value(0.5, "x")
    for e, where in zip(_executors(f(x) * 3.0, x), ["backward"] * 4 + ["compiled backward"], strict=True):
        assert isinstance(e, ValueError)
        assert str(e) == f"{where}: the rule of raises at node v1 (inputs 0.5) failed: my rule is broken"
    assert x.grad == 0.0                                               # all or nothing


@pytest.mark.parametrize("terms,count", [(2, "2"), (0, "0")])
def test_a_rule_whose_shape_changes_after_the_probe_is_named_in_every_executor(fresh_primitives, terms,
                                                                               count):
    f = define("shaky", "shaky", 1, forward=lambda x: 2 * x,
               vjp=lambda g, o, x: (g * 2.0,) if abs(x) < 5 else (g,) * terms)
    x = Value(6.0, "x")
    errors = _executors(f(x) * 3.0, x)
    assert len(errors) == 5
    for e in errors:   # eager backward() too: it unpacks a one-input rule's terms, it does not take [0]
        assert isinstance(e, ValueError), e
        assert re.search(rf"rule of shaky at node v1 \(inputs 6\) failed: it returned {count} term\(s\) "
                         r"for 1 input\(s\).*a rule takes \(upstream, out, \*inputs\)", str(e)), e
    assert not x.has_grad                                              # all or nothing


def test_nan_from_a_rule_is_not_called_an_overflow(fresh_primitives):
    f = define("nanrule", "n", 1, forward=lambda x: 2 * x,
               vjp=lambda g, o, x: (g * math.nan if x > 5 else g * 2.0,))
    x = Value(6.0)
    for e in _executors(f(x), x)[:3]:
        assert isinstance(e, FloatingPointError) and "nan" in str(e) and "0/0" in str(e)
        assert "overflow" not in str(e) and "Scale the inputs" not in str(e)


def test_forward_errors_name_the_primitive_and_nan_is_refused(fresh_primitives):
    mylog = define("mylog", "mylog", 1, forward=math.log, vjp=lambda g, o, x: (g / x,),
                   batch_forward=np.log)
    with pytest.raises(ValueError, match=r"mylog: math domain error at mylog\(-1\)"):
        mylog(Value(-1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                 # no RuntimeWarning leaks
        with pytest.raises(ValueError, match="mylog: not a number .nan. at example 1"):
            mylog(batch([1.0, -1.0]))
    odd = define("odd", "odd", 1, forward=lambda x: "s" if x > 3 else (math.nan if x < -3 else x),
                 vjp=lambda g, o, x: (g,))
    with pytest.raises(TypeError, match="odd: its forward returned str"):
        odd(Value(5.0))
    with pytest.raises(ValueError, match=r"odd: odd\(-5\) is not a number"):
        odd(-5.0)                                                      # on a plain float too


def test_batched_rule_messages_name_the_fix(fresh_primitives):
    with pytest.raises(TypeError, match=r"np\.where.*autodiff's functions") as e:
        define("r", "r", 1, forward=lambda x: max(x, 0.0), vjp=lambda g, o, x: (g if x > 0 else 0.0,),
               batch_forward=lambda x: np.maximum(x, 0.0))
    assert "a.any()" not in str(e.value)
    f = define("nobatch", "nb", 1, forward=lambda x: x, vjp=lambda g, o, x: (g,))
    with pytest.raises(NotImplementedError, match="pass batch_forward= to define"):
        f(batch([1.0, 2.0]))


def test_batched_nan_from_a_rule_names_the_example(fresh_primitives):
    f = define("nanrule", "n", 1, forward=lambda x: 2 * x,
               vjp=lambda g, o, x: (g * np.where(x > 5, np.nan, 2.0),), batch_forward=lambda x: 2 * x,
               once_differentiable=True)
    w = Value(1.0)
    with pytest.raises(FloatingPointError, match="nan at example 2") as e:
        total(f(w * batch([1.0, 2.0, 6.0]))).backward()
    assert "overflow" not in str(e.value)


def test_parse_name_makes_a_user_primitive_a_function_of_the_expression_language(fresh_primitives):
    define("softsign", "softsign", 1, forward=lambda x: x / (1 + abs(x)),
           vjp=lambda g, out, x: (g / (1 + abs(x)) ** 2,), parse_name="softsign")
    parsed = autodiff.parse_expression("softsign(x*2)", x=0.5)
    parsed.root.backward()
    assert parsed.root.data == 0.5 and parsed.leaves["x"].grad == pytest.approx(0.5, rel=1e-15)


def test_running_the_same_definition_again_replaces_it_and_a_different_one_is_refused(fresh_primitives):
    def cell():
        return define("softsign", "ss", 1, forward=lambda x: x / (1 + abs(x)),
                      vjp=lambda g, out, x: (g / (1 + abs(x)) ** 2,))
    first = cell()
    again = cell()                                                     # a notebook cell run twice
    assert PRIMITIVES["softsign"] is again and again is not first
    with pytest.raises(ValueError, match="already defined differently.*del autodiff.PRIMITIVES"):
        define("softsign", "ss", 1, forward=lambda x: x, vjp=lambda g, o, x: (g,))
    assert repr(again) == "Primitive('softsign', symbol='ss')"
    assert repr(PRIMITIVES["neuron"]) == "Primitive('neuron', symbol='Σwx+b')"


def test_the_readme_loop_is_the_reference_loop_itself():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"The backward pass a student reads is[^\n]*\n\n```py\n(.*?)```", readme, re.S)
    assert block, "the README shows the loop"
    source = (ROOT / "autodiff" / "reference.py").read_text(encoding="utf-8")
    code = block.group(1)
    assert code.startswith("def chain_rule(") and 10 <= len(code.splitlines()) <= 25
    assert code in source, "the README's loop is, line for line, autodiff/reference.py's"


def test_a_rule_that_fails_on_a_batch_is_named_in_batched_mode_and_compiled(fresh_primitives):
    def rule(g, o, x):
        if np.any(np.asarray(x.data if isinstance(x, Value) else x) > 5):
            raise ValueError("my rule is broken")
        return (g * 2.0,)
    f = define("raises", "raises", 1, forward=lambda x: 2 * x, vjp=rule, batch_forward=lambda x: 2 * x)
    w = Value(1.0, "w")
    root = total(f(w * batch([1.0, 6.0])))
    for where, run in [("backward", root.backward),
                       ("compiled backward", lambda: autodiff.compile(root).backward()),
                       ("backward", lambda: list(backward_steps(root)))]:
        with pytest.raises(ValueError, match=rf"^{where}: the rule of raises at node v3 \(inputs a batch "
                                             r"of 2\) failed: my rule is broken$"):
            run()
    assert w.grad == 0.0


@pytest.mark.parametrize("name", ["v1", "g_x", "t_0", "leaves", "program", "float"])
def test_compile_takes_a_primitive_named_like_its_own_variables(fresh_primitives, name):
    f = define(name, "f", 1, forward=lambda x: 2 * x, vjp=lambda g, o, x: (2 * g,))
    x = Value(1.0, "x")
    compiled = autodiff.compile(f(x) * 3.0)
    x.data = 5.0
    assert compiled.forward() == 30.0
    compiled.backward()
    assert x.grad == 6.0


def test_an_nary_primitive_is_probed_and_works(fresh_primitives):
    sq = define("sq", "Σx²", -1, forward=lambda *xs: sum(x * x for x in xs),
                vjp=lambda g, o, *xs: tuple(g * (2 * x) for x in xs), text="2·{x}",
                batch_forward=lambda *xs: sum(x * x for x in xs))
    a, b = Value(1.5), Value(-2.0)
    sq(a, b, a).backward()
    assert (a.grad, b.grad) == (6.0, -4.0)
    assert hessian(lambda x, y: sq(x, y), [1.5, -2.0]) == [[2.0, 0.0], [0.0, 2.0]]


def test_a_rule_that_is_not_array_code_on_a_batch_says_how_to_write_it(fresh_primitives):
    # np.cos at the probe's points, math.cos past 5: only a batch reaching past 5 meets it
    def rule(g, o, x):
        small = np.all(np.asarray(x.data if isinstance(x, Value) else x) < 5)
        return (g * (np.cos(x) if small else math.cos(x)),)
    f = define("mycos", "mycos", 1, forward=math.sin, vjp=rule, batch_forward=np.sin)
    w = Value(1.0)
    with pytest.raises(TypeError, match=r"rule of mycos at node v3 \(inputs a batch of 2\) failed: .*scalar.*"
                                        r"np\.where for a branch\) or autodiff's functions") as e:
        total(f(w * batch([1.0, 6.0]))).backward()
    assert "a.any()" not in str(e.value) and w.grad == 0.0


@pytest.mark.parametrize("kind", [MemoryError, RecursionError])
def test_memory_and_recursion_errors_of_a_rule_pass_through_unchanged(fresh_primitives, kind):
    def rule(g, o, x):
        if x > 5:
            raise kind("the machine, not the rule")
        return (g * 2.0,)
    f = define("heavy", "heavy", 1, forward=lambda x: 2 * x, vjp=rule)
    x = Value(6.0, "x")
    errors = _executors(f(x) * 3.0, x)
    assert [type(e) for e in errors] == [kind] * len(errors)
    assert all(str(e) == "the machine, not the rule" for e in errors)   # not "the rule of heavy failed"


@pytest.mark.parametrize("symbol", ["", "   ", 3, None])
def test_symbol_must_be_a_non_empty_str(fresh_primitives, symbol):
    with pytest.raises(TypeError, match=r"define\('f'\): symbol must be a non-empty str"):
        define("f", symbol, 1, forward=lambda x: x, vjp=ok_rule)


@pytest.mark.parametrize("text", [("{x}", 3), 3, ["{x}", None]])
def test_text_that_is_not_strs_is_refused_naming_text(fresh_primitives, text):
    with pytest.raises(TypeError, match=r"define\('f'\): text must be a str, or a tuple of one str"):
        define("f", "f", 2, forward=lambda x, y: x * y, vjp=lambda g, o, x, y: (g * y, g * x), text=text)


def test_a_primitive_of_two_inputs_may_show_the_second_as_y(fresh_primitives):
    f = define("f", "f", 2, forward=lambda x, y: x * y, vjp=lambda g, o, x, y: (g * y, g * x),
               text=("{y}", "{x}"))
    assert f.text == ("{y}", "{x}")


def test_a_rule_giving_numpy_scalars_keeps_its_graph_for_second_derivatives(fresh_primitives):
    """On numbers the rule's numpy scalars are made floats (`.grad` stays a float); on Values its terms
    stay Values, so the second derivative through it is right: d²/dx² x² = 2, not 0 or an error."""
    square = define("square", "sq", 1, forward=lambda x: x * x,
                    vjp=lambda g, out, x: (g * np.float64(2.0) * x,))
    x = Value(3.0)
    square(x).backward()
    assert x.grad == 6.0 and type(x.grad) is float
    (first,) = grad(square(x), [x], create_graph=True)
    assert isinstance(first, Value) and first.data == 6.0
    (second,) = grad(first, [x])
    assert second == 2.0
