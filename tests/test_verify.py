"""`autodiff.testing` and `deltagrad verify`: a hand-derived derivative against the engine, at the given
point and at seeded random points; a wrong derivative is caught and a point where it differs is named."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from autodiff import Value
from autodiff.testing import (
    DerivativeMismatch,
    assert_derivative,
    assert_gradients_close,
    check_derivative,
)
from deltagrad.cli import main

# (f, wrt, right derivative, a typical wrong one): the expression language's whole op set
CASES = [
    ("x * tanh(y)", "y", "x * (1 - tanh(y)**2)", "x * (1 + tanh(y)**2)"),          # sign
    ("exp(x) / y", "y", "-exp(x) / y**2", "exp(x) / y**2"),                          # sign
    ("log(x) * y", "x", "y / x", "x / y"),                                           # swapped
    ("sigmoid(w*x + b)", "w", "x * sigmoid(w*x + b) * (1 - sigmoid(w*x + b))",
     "sigmoid(w*x + b) * (1 - sigmoid(w*x + b))"),                                   # missing inner x
    ("relu(x) * y - x", "x", "y * relu(x) / x - 1", "y - 1"),                        # relu' forgotten
    ("x ** y", "y", "x ** y * log(x)", "y * x ** (y - 1)"),                          # the other rule
    ("(x + 2) ** 3", "x", "3 * (x + 2) ** 2", "3 * (x + 2) ** 3"),
]


@pytest.mark.parametrize("f, wrt, right, wrong", CASES)
def test_the_right_derivative_agrees_and_the_wrong_one_is_caught(f, wrt, right, wrong):
    point = {"x": 0.7, "y": 1.3, "w": -0.4, "b": 0.2}
    point = {k: v for k, v in point.items() if k in f}
    ranges = {"x": (0.1, 3.0)} if ("log" in f or "**" in f) else None
    result = assert_derivative(f, right, point, wrt=wrt, ranges=ranges, points=50)
    assert result.agree and len(result.points) == 51 and result.max_rel < 1e-9
    with pytest.raises(DerivativeMismatch) as e:
        assert_derivative(f, wrong, point, wrt=wrt, ranges=ranges, points=50)
    message = str(e.value)
    assert "DISAGREE" in message and "engine" in message and "given" in message


def test_a_derivative_wrong_only_away_from_the_given_point_is_found_at_a_random_point():
    # d/dx relu(x) written as 1: right at x = 0.5, wrong wherever x < 0
    result = check_derivative("relu(x)", "1", {"x": 0.5}, points=100, rng=3)
    assert not result.agree
    point, engine, given = result.worst
    assert point["x"] < 0 and engine == 0.0 and given == 1.0
    assert f"x={point['x']!r}" in str(result)


def test_the_same_seed_draws_the_same_points_and_another_seed_others():
    a = check_derivative("x*y", "y", {"x": 1.0, "y": 2.0}, wrt="x", points=10, rng=7)
    b = check_derivative("x*y", "y", {"x": 1.0, "y": 2.0}, wrt="x", points=10, rng=7)
    c = check_derivative("x*y", "y", {"x": 1.0, "y": 2.0}, wrt="x", points=10, rng=8)
    assert [p for p, *_ in a.points] == [p for p, *_ in b.points] != [p for p, *_ in c.points]
    assert a.points[0][0] == {"x": 1.0, "y": 2.0}


def test_second_and_mixed_derivatives():
    assert_derivative("tanh(x)", "-2 * tanh(x) * (1 - tanh(x)**2)", {"x": 0.5}, order=2)
    assert_derivative("x**3 * y**2", "6 * x**2 * y", {"x": 0.5, "y": 1.2}, wrt=["x", "y"])
    with pytest.raises(DerivativeMismatch, match="∂²f/∂x∂y"):
        assert_derivative("x**3 * y**2", "6 * x * y", {"x": 0.5, "y": 1.2}, wrt=["x", "y"])
    with pytest.raises(DerivativeMismatch, match="∂²f/∂x²"):
        assert_derivative("tanh(x)", "1 - tanh(x)**2", {"x": 0.5}, order=2)  # the first derivative


def test_functions_instead_of_text():
    assert_derivative(lambda x: x.tanh(), lambda x: -2 * math.tanh(x) / math.cosh(x) ** 2, [0.3], order=2)
    with pytest.raises(DerivativeMismatch, match="x0"):
        assert_derivative(lambda x, y: x * y.exp(), lambda x, y: math.exp(y), [0.3, 0.2], wrt=1)


def test_points_outside_the_domain_are_skipped_not_failed():
    result = assert_derivative("log(x)", "1/x", {"x": 2.0}, points=40)
    assert len(result.points) == 41 and result.skipped > 0
    assert all(p["x"] > 0 for p, *_ in result.points)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="say which with wrt"):
        check_derivative("x*y", "y", {"x": 1.0, "y": 2.0})
    with pytest.raises(ValueError, match="'z' is not one of the inputs"):
        check_derivative("x*y", "y", {"x": 1.0, "y": 2.0}, wrt="z")
    with pytest.raises(ValueError, match="no value given for z"):
        check_derivative("x*y", "z", {"x": 1.0, "y": 2.0}, wrt="x")
    with pytest.raises(ValueError, match="ranges"):
        check_derivative("x", "1", {"x": 1.0}, ranges={"x": (2, 1)})


def test_assert_gradients_close_names_the_input_and_by_how_much():
    x, w = Value(2.0, "x"), Value(-3.0, "w")
    (x * w).backward()
    assert_gradients_close([x, w], [-3.0, 2.0])
    assert_gradients_close({"x": x, "w": w}, {"w": 2.0, "x": -3.0})
    with pytest.raises(AssertionError) as e:
        assert_gradients_close([x, w], [-3.0, -2.0], names=["x", "w"])
    message = str(e.value)
    assert "1 of 2 entries differ" in message
    assert "w: actual 2.0, expected -2.0, |diff| 4, relative 2" in message and "x:" not in message
    with pytest.raises(AssertionError, match=r"\[1\]: actual 2.0, expected 2.001"):
        assert_gradients_close([x, w], [-3.0, 2.001])
    with pytest.raises(AssertionError, match="actual has 2 entries, expected 3"):
        assert_gradients_close([x, w], [1.0, 2.0, 3.0])
    with pytest.raises(AssertionError, match="nan"):
        assert_gradients_close([float("nan")], [1.0])


# ---- the command -------------------------------------------------------------------------------

def test_verify_agrees_exit_0(capsys):
    code = main(["verify", "x * tanh(y)", "--wrt", "y", "--derivative", "x * (1 - tanh(y)**2)",
                 "x=0.5", "y=1.2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "and at 200 random points (seed 0" in out and out.rstrip().endswith("agree")


def test_verify_disagrees_exit_1_with_a_point_and_both_numbers(capsys):
    code = main(["verify", "x * tanh(y)", "--wrt", "y", "--derivative", "x * (1 + tanh(y)**2)",
                 "x=0.5", "y=1.2"])
    out = capsys.readouterr().out
    assert code == 1
    assert "DISAGREE" in out and "first at x=0.5, y=1.2" in out
    assert "engine 0.15250999810370452" in out and "given  0.8474900018962954" in out


def test_verify_order_2_mixed_partials_and_ranges(capsys):
    assert main(["verify", "tanh(x)", "--wrt", "x", "--order", "2",
                 "--derivative=-2*tanh(x)*(1 - tanh(x)**2)", "x=0.5"]) == 0
    assert main(["verify", "log(x) * y**2", "--wrt", "x,y", "--derivative", "2*y/x", "--range", "x=0.1:4",
                 "x=0.5", "y=2"]) == 0
    out = capsys.readouterr().out
    assert "∂²f/∂x²" in out and "∂²f/∂x∂y" in out and "x in [0.1, 4]" in out


@pytest.mark.parametrize("args, message", [
    (["x*y", "--wrt", "z", "--derivative", "y", "x=1", "y=2"], "--wrt z: the expression has no input"),
    (["x*y", "--wrt", "x", "--derivative", "y +", "x=1", "y=2"], "--derivative 'y +'"),
    (["x*y", "--wrt", "x", "--derivative", "q", "x=1", "y=2"], "no value given for q"),
    (["x*y", "--wrt", "x", "--derivative", "y", "x=1", "y=2", "--range", "x=3:1"], "--range 'x=3:1'"),
    (["x*y", "--wrt", "x", "--derivative", "y", "x=1"], "no value given for y"),
    (["x*y", "--wrt", "x", "--derivative", "y", "x=1", "y=2", "--rtol", "-1"], "rtol must be a finite"),
    (["x*y", "--wrt", "x", "--derivative", "y", "x=1", "y=2", "--points", "-1"], "--points must be at"),
])
def test_verify_bad_input_exits_2_naming_it(capsys, args, message):
    assert main(["verify", *args]) == 2
    assert message in capsys.readouterr().err


def test_verify_runs_as_a_command():
    done = subprocess.run([sys.executable, "-m", "deltagrad", "verify", "sigmoid(x)", "--wrt", "x",
                           "--derivative", "sigmoid(x) * (1 - sigmoid(x))", "x=0.3"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "agree" in done.stdout


# ---- found by a new-user test of issue 16 -----------------------------------------------------------

def test_a_failed_check_is_falsy_so_assert_result_fails():
    wrong = check_derivative("x*x", "3*x", {"x": 1.0})
    assert not wrong.agree and not bool(wrong)
    with pytest.raises(AssertionError):
        assert wrong
    assert check_derivative("x*x", "2*x", {"x": 1.0})


def test_no_random_point_in_the_domain_is_not_agreement(capsys):
    result = check_derivative("log(x)", "1/x", {"x": 1.0}, ranges={"x": (-3.0, -1.0)})
    assert result.none_checked and not result.agree and len(result.points) == 1 and result.skipped > 0
    assert "NOT CHECKED" in str(result) and "agree" not in str(result).splitlines()[-1]
    with pytest.raises(DerivativeMismatch, match="NOT CHECKED"):
        assert_derivative("log(x)", "1/x", {"x": 1.0}, ranges={"x": (-3.0, -1.0)})
    assert main(["verify", "log(x)", "--wrt", "x", "--derivative", "1/x", "x=1", "--range", "x=-3:-1"]) == 2
    out = capsys.readouterr().out
    assert "and at 0 random points" in out and "skipped" in out and "NOT CHECKED" in out


def test_skipped_points_are_counted_and_an_overflowing_range_is_refused(capsys):
    result = check_derivative("log(x)", "1/x", {"x": 1.0}, points=50)
    assert result.agree and result.skipped > 0 and len(result.points) == 51
    assert f"{result.skipped} drawn outside the domain" in str(result)
    with pytest.raises(ValueError, match="finite width"):
        check_derivative("log(x)", "1/x", {"x": 1.0}, ranges={"x": (-1e308, 1e308)})
    assert main(["verify", "log(x)", "--wrt", "x", "--derivative", "1/x", "x=1", "--range",
                 "x=-1e308:1e308"]) == 2
    assert "finite width" in capsys.readouterr().err


def test_wrt_may_be_a_comma_separated_string_as_on_the_command_line():
    result = check_derivative("x * y * y", "2 * y", {"x": 0.5, "y": 1.5}, wrt="x,y")
    assert result.agree and result.wrt == ("x", "y")


def test_gradients_close_takes_numpy_arrays_inf_and_nan_like_numpy():
    np = pytest.importorskip("numpy")
    assert_gradients_close(np.array([[1.0, 2.0], [3.0, math.inf]]), np.array([[1.0, 2.0], [3.0, math.inf]]))
    with pytest.raises(AssertionError, match=r"\[1, 0\]: actual 3.0, expected 4.0"):
        assert_gradients_close(np.array([[1.0, 2.0], [3.0, 0.0]]), np.array([[1.0, 2.0], [4.0, 0.0]]))
    assert_gradients_close([math.inf, -1.0], [math.inf, -1.0])
    with pytest.raises(AssertionError):
        assert_gradients_close([math.inf], [-math.inf])
    with pytest.raises(AssertionError, match="nan is not equal.*equal_nan=True"):
        assert_gradients_close([math.nan, 1.0], [math.nan, 1.0])
    assert_gradients_close([math.nan, 1.0], [math.nan, 1.0], equal_nan=True)
    with pytest.raises(AssertionError):
        assert_gradients_close([math.nan], [1.0], equal_nan=True)


@pytest.mark.parametrize("tol", [dict(rtol=-1e-7), dict(atol=-1.0), dict(rtol=math.nan)])
def test_gradients_close_refuses_negative_tolerances(tol):
    with pytest.raises(ValueError, match="must be a finite number >= 0"):
        assert_gradients_close([1.0], [1.0], **tol)


def test_gradients_close_refuses_a_value_no_backward_reached():
    x, y = Value(2.0, "x"), Value(3.0, "y")
    (x * x).backward()
    with pytest.raises(ValueError, match=r"actual\[1\].*has_grad is False.*backward"):
        assert_gradients_close([x, y], [4.0, 0.0])
    assert_gradients_close([x], [4.0])


def test_the_derivative_may_use_the_expressions_named_intermediates(capsys):
    f = "n = x*w + b; o = tanh(n)"
    assert check_derivative(f, "x * (1 - tanh(n)**2)", {"x": 2.0, "w": -3.0, "b": 6.88}, wrt="w")
    assert check_derivative(f, "x * (1 - o**2)", {"x": 2.0, "w": -3.0, "b": 6.88}, wrt="w")
    assert not check_derivative(f, "x * (1 + o**2)", {"x": 2.0, "w": -3.0, "b": 6.88}, wrt="w")
    assert main(["verify", f, "--wrt", "w", "--derivative", "x*(1-tanh(n)**2)", "x=2", "w=-3", "b=6.88"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "agree"
