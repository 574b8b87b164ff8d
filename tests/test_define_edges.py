"""`define` at its edges (QA of issue 12, items 1, 3, 5, 6): a row no trial point can try is refused,
or tried where ``probe_at`` says; every trial point is tried, so a branch on the sign is met; a rule's
own errors name the primitive; n-ary rows in the expression language; numpy's warnings kept in."""

import math
import subprocess
import sys

import numpy as np
import pytest

import autodiff
from autodiff import PRIMITIVES, Value, grad, hessian
from autodiff.parse import ExpressionError
from autodiff.primitives import define


def _far(x):
    return math.sin(x) if x > 1000 else math.log(x - 1000)   # defined only past 1000


# ---- no trial point works ------------------------------------------------------------------------

def test_a_forward_defined_at_no_trial_point_is_refused_saying_so(fresh_primitives):
    # the reported case: accepted, and its hessian at 1001 was [[0.0]] (truth 1: the rule's .data cut)
    with pytest.raises(ValueError, match=r"define\('farcos'\): the row could not be tried at any "
                                         r"point .*forward is defined at none of them.*math domain "
                                         r"error.*probe_at="):
        define("farcos", "farcos", 1, _far, lambda g, o, x: (g * (x.data if isinstance(x, Value) else x),))
    assert "farcos" not in PRIMITIVES


def test_probe_at_tries_the_row_where_it_is_defined(fresh_primitives):
    # there the .data shortcut is met and refused, as math.cos is (the docs' promise)
    with pytest.raises(ValueError, match=r"define\('farcos'\): on Values the rule .* at \[1001\.0\]"):
        define("farcos", "farcos", 1, _far, lambda g, o, x: (g * (x.data if isinstance(x, Value) else x),),
               probe_at=(1001.0,))
    with pytest.raises(TypeError, match=r"define\('f'\): the rule does not run on Values"):
        define("f", "f", 1, lambda x: math.log(x - 1000), lambda g, o, x: (g * math.cos(x),), probe_at=[1001])
    good = define("far", "far", 1, _far, lambda g, o, x: (g * autodiff.cos(x),), probe_at=(1001.0,))
    assert hessian(lambda a: good(a), [1001.0]) == [[-math.sin(1001.0)]]


@pytest.mark.parametrize("rule, error", [(lambda g, o, x: (g / 0,), "ZeroDivisionError"),
                                         (lambda g, o, x: (g * math.log(-1),), "ValueError: math domain")],
                         ids=["g/0", "log(-1)"])
def test_a_rule_failing_at_every_point_is_refused(fresh_primitives, rule, error):
    with pytest.raises(ValueError, match=rf"could not be tried.*the rule failed wherever the forward is "
                                         rf"defined \({error}"):
        define("bad", "bad", 1, math.sin, rule)


@pytest.mark.parametrize("probe_at, error", [((1.0,), ValueError), ((), ValueError), ("ab", TypeError),
                                             ((True, 1.0), ValueError), ((1.0, None), TypeError)])
def test_a_bad_probe_at_is_refused(fresh_primitives, probe_at, error):
    with pytest.raises(error, match=r"define\('two'\): probe_at must be a tuple of"):
        define("two", "two", 2, lambda x, y: x * y, lambda g, o, x, y: (g * y, g * x), probe_at=probe_at)


def test_a_rule_failing_at_probe_at_only_is_still_tried_elsewhere(fresh_primitives):
    f = define("mylog", "mylog", 1, math.log, lambda g, o, x: (g / x,), probe_at=(-1.0,))
    x = Value(2.0)
    f(x).backward()
    assert x.grad == 0.5


# ---- every trial point is tried ------------------------------------------------------------------

def test_a_data_shortcut_on_the_negative_branch_is_refused(fresh_primitives):
    # the reported case: accepted (the probe tried 0.7 only) and hessian at -0.5 gave [[0.0]] (truth 0.479)
    def vjp(g, out, x):
        xd = x.data if isinstance(x, Value) else x
        if xd > 0:
            return (g * autodiff.cos(x),)
        return (g * math.cos(xd),)
    with pytest.raises(ValueError, match=r"define\('bsin'\): on Values the rule .* at \[-0\.6\].*second "
                                         r"derivatives .* would be wrong"):
        define("bsin", "bsin", 1, math.sin, vjp)


def test_a_piecewise_rule_written_right_on_both_branches_is_accepted(fresh_primitives):
    def vjp(g, out, x):
        return (g * (autodiff.cos(x) if (x.data if isinstance(x, Value) else x) > 0 else autodiff.cos(x)),)
    f = define("bsin", "bsin", 1, math.sin, vjp)
    assert hessian(lambda a: f(a), [-0.5]) == [[pytest.approx(-math.sin(-0.5), rel=1e-15)]]


# ---- a rule's own errors at define time name the primitive -----------------------------------------

@pytest.mark.parametrize("rule, raw", [(lambda g, o, x: (g * x.log(),), "AttributeError: 'float' object "
                                        "has no attribute 'log'.*autodiff.log"),
                                       (lambda g, o, x: (g * [1][2],), "IndexError: list index out of range"),
                                       (lambda g, o, x: (g * {}["k"],), "KeyError")],
                         ids=["x.log()", "index", "key"])
def test_a_rule_error_names_the_primitive(fresh_primitives, rule, raw):
    with pytest.raises(TypeError, match=rf"define\('mine'\): the rule failed when called as vjp\(upstream, "
                                        rf"out, \*inputs\) with 1 number\(s\) \[0\.7\] \({raw}"):
        define("mine", "mine", 1, math.sin, rule)


def test_a_forward_that_fails_on_a_branch_after_the_first_point_is_not_refused(fresh_primitives):
    # what the first point cannot say (a forward taking the wrong number of inputs) is refused there;
    # past it, a forward that fails is outside its domain, as before
    f = define("odd", "odd", 1, lambda x: "s" if x > 3 else x, lambda g, o, x: (g,))
    assert f(2.0) == 2.0


# ---- n-ary rows in the expression language --------------------------------------------------------

def test_an_any_arity_primitive_is_called_in_the_expression_language(fresh_primitives):
    define("cubes", "Σx³", -1, lambda *xs: sum(x ** 3 for x in xs),
           lambda g, o, *xs: tuple(g * 3 * x ** 2 for x in xs),
           text="3{x}²", batch_forward=lambda *xs: sum(x ** 3 for x in xs), parse_name="cubes")
    parsed = autodiff.parse_expression("cubes(x, y, z)", x=1, y=2, z=3)
    assert parsed.root.data == 36.0
    one = autodiff.parse_expression("cubes(x) + cubes(x, x)", x=2)
    assert one.root.data == 24.0
    root, leaves = autodiff.parse_expression("cubes(x, y, z)", x=1, y=2, z=3)
    assert grad(root, list(leaves.values())) == (3.0, 12.0, 27.0)
    with pytest.raises(ExpressionError, match=r"cubes takes one or more arguments.*cubes\(x, y, z\)"):
        autodiff.parse_expression("cubes()")
    with pytest.raises(ExpressionError, match=r"tanh takes exactly one argument"):
        autodiff.parse_expression("tanh(x, y)", x=1, y=2)
    with pytest.raises(ExpressionError, match=r"cubes of one or more"):
        autodiff.parse_expression("x[0]", x=1)


# ---- numpy's warnings kept in on one number --------------------------------------------------------

def test_numpy_warnings_of_a_forward_on_one_number_are_kept_in():
    # in a child process: the warning would be printed on stderr (the reported case), once per site
    code = """
import numpy as np
from autodiff import Value
from autodiff.primitives import define
p = define('npl', 'npl', 1, lambda x: float(np.log(x)), lambda g, o, x: (g / x,), batch_forward=np.log)
try:
    p(Value(-1.0))
except ValueError as e:
    print(e)
"""
    run = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.stdout.strip() == ("npl: npl(-1) is not a number (nan): the input is outside where npl is "
                                  "defined")
    assert run.stderr == ""


def test_the_forward_errors_when_numpy_is_set_to_raise(fresh_primitives):
    f = define("npl", "npl", 1, lambda x: float(np.log(x)), lambda g, o, x: (g / x,))
    with np.errstate(all="raise"), pytest.raises(ValueError, match=r"npl\(-1\) is not a number"):
        f(Value(-1.0))


# ---- derivative texts ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [("2{x!r}",), ("{x:.3f}",), ("{o!s}·{x}",), "{x:>4}"])
def test_a_placeholder_with_a_conversion_or_spec_is_refused(fresh_primitives, text):
    # the reported case: accepted, and backward_steps printed "x.grad += 2'x' · …"
    with pytest.raises(ValueError, match=r"define\('t'\): text .* has the placeholder \{[xo][!:].*is bare"):
        define("t", "t", 1, lambda x: 2 * x, lambda g, o, x: (2 * g,), text=text)
