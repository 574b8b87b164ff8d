"""The expression language: graphs built from text match graphs built in Python, gradients match
closed forms and central differences, and everything outside the grammar is refused with its place."""

from __future__ import annotations

import math
import sys

import pytest

from autodiff import ExpressionError, ParsedExpression, Value, numerical_grad, parse_expression
from autodiff.parse import MAX_LENGTH, MAX_OPERATORS

NEURON = dict(x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432)


# ---- valid input ---------------------------------------------------------------------------------

def test_classic_neuron_gradients_match_the_chain_rule():
    root, leaves = parse_expression("tanh(x1*w1 + x2*w2 + b)", **NEURON)
    root.backward()
    o = math.tanh(2.0 * -3.0 + 0.0 * 1.0 + NEURON["b"])
    local = 1 - o * o
    assert root.data == pytest.approx(o, abs=1e-15)
    expected = {"x1": -3.0 * local, "w1": 2.0 * local, "x2": 1.0 * local, "w2": 0.0, "b": local}
    assert list(leaves) == ["x1", "w1", "x2", "w2", "b"]  # order of first use
    for name, g in expected.items():
        assert leaves[name].grad == pytest.approx(g, abs=1e-12), name
        assert leaves[name].label == name and leaves[name].is_leaf


def test_the_same_graph_as_written_in_python():
    parsed = parse_expression("n = x1*w1 + x2*w2 + b; o = tanh(n)", **NEURON)
    x1, x2, w1, w2, b = (Value(NEURON[k], k) for k in ("x1", "x2", "w1", "w2", "b"))
    o = (x1 * w1 + x2 * w2 + b).tanh()
    assert [n.op for n in _order(parsed.root)] == [n.op for n in _order(o)]
    assert parsed.root.label == "o" and parsed.nodes["n"].label == "n" and list(parsed.nodes) == ["n", "o"]
    assert parsed.nodes["n"] in parsed.root.parents


def _order(root):
    from autodiff import topological_order
    return topological_order(root)


def test_logistic_loss_gradient_matches_its_closed_form():
    values = dict(y=-1.0, w=0.7, x=1.3, b=-0.2)
    root, leaves = parse_expression("log(1 + exp(-y * (w*x + b)))", **values)
    root.backward()
    m = values["y"] * (values["w"] * values["x"] + values["b"])
    s = 1 / (1 + math.exp(m))                  # d/dm log(1 + e^-m) = -sigmoid(-m)
    assert root.data == pytest.approx(math.log1p(math.exp(-m)), rel=1e-14)
    assert leaves["w"].grad == pytest.approx(-s * values["y"] * values["x"], rel=1e-12)
    assert leaves["b"].grad == pytest.approx(-s * values["y"], rel=1e-12)
    assert leaves["x"].grad == pytest.approx(-s * values["y"] * values["w"], rel=1e-12)


@pytest.mark.parametrize("text, expected", [
    ("-x**2", -9.0), ("2**3**2", 512.0), ("x - 1 - 1", 1.0), ("x / 2 / 3", 0.5), ("+x", 3.0),
    ("1e-3 * x", 0.003), (".5 * x", 1.5), ("1_000 * x", 3000.0), ("2.5E2", 250.0), ("(x)", 3.0),
    ("sigmoid(0) + relu(-x) + relu(x)", 3.5), ("x ** -1", 1 / 3), ("--x", 3.0),
])
def test_arithmetic_follows_python_precedence(text, expected):
    assert parse_expression(text, x=3.0).root.data == pytest.approx(expected, rel=1e-15)


def test_constants_fold_so_an_exponent_stays_a_constant():
    root = parse_expression("x ** (1/2)", x=4.0).root
    assert root.op == "pow_const" and root.primitive.consts == {"n": 0.5} and root.data == 2.0
    root = parse_expression("x ** y", x=4.0, y=0.5).root
    assert root.op == "pow" and len(root.parents) == 2
    assert parse_expression("2 * 3 + 1").root.data == 7.0  # no names: still a Value
    assert isinstance(parse_expression("exp(0)").root, Value)


def test_reuse_accumulates():
    root, leaves = parse_expression("x * x + x", x=3.0)
    root.backward()
    assert leaves["x"].grad == 7.0
    assert root.parents[0].parents == (leaves["x"], leaves["x"])


def test_statements_on_lines_with_comments_crlf_and_indentation():
    text = "  n = x*w + b   # pre-activation\r\n\to = tanh(n)\n\n"
    parsed = parse_expression(text, x=1.0, w=0.5, b=0.1)
    assert parsed.root.label == "o" and parsed.root.data == pytest.approx(math.tanh(0.6))
    two_lines = parse_expression("y = (x +\n     1)\ny * 2", x=1.0)
    assert two_lines.root.data == 4.0 and two_lines.root.label == ""


def test_a_name_assigned_a_number_is_a_named_leaf():
    parsed = parse_expression("c = 2 * 3; o = c * x", x=0.5)
    parsed.root.backward()
    assert list(parsed.leaves) == ["c", "x"] and parsed.leaves["c"].grad == 0.5
    assert parsed.leaves["c"].label == "c"


def test_gradients_of_a_long_expression_match_central_differences():
    text = "a = sigmoid(x*y - 1); b = exp(-x/4) * relu(y + 2); o = log(a + b**2) / (1 + x**2) + tanh(a*b)"
    point = [0.3, -0.8]
    parsed = parse_expression(text, x=point[0], y=point[1])
    parsed.root.backward()

    def f(x, y):
        return parse_expression(text, x=x.data, y=y.data).root

    numeric = numerical_grad(f, point)
    assert [parsed.leaves["x"].grad, parsed.leaves["y"].grad] == pytest.approx(numeric, rel=1e-6)


def test_values_are_named_with_unicode_normalised_names_and_text_is_positional_only():
    assert parse_expression("text + α", text=1.0, α=2.0).root.data == 3.0
    assert parse_expression("ﬁ * 2", fi=1.5).root.data == 3.0  # Python reads the ligature as "fi"


def test_repr_and_unpacking():
    parsed = parse_expression("n = x*2", x=1.0)
    assert isinstance(parsed, ParsedExpression)
    root, leaves = parsed
    assert root is parsed.root and leaves is parsed.leaves
    assert "nodes=['n']" in repr(parsed)


# ---- invalid input: refused with a place and what to do -------------------------------------------

ALLOWED_HINT = "allowed: numbers"


@pytest.mark.parametrize("text, words, line, column", [
    ("x.real", "attribute access", 1, 1),
    ("x + y[0]", "subscripts", 1, 5),
    ("x * (lambda: 1)", "lambdas", 1, 6),
    ("[a for a in x]", "comprehensions", 1, 1),
    ("exp(x=1)", "exactly one argument", 1, 1),
    ("exp(x, y)", "exactly one argument", 1, 1),
    ("x + 'hi'", "strings", 1, 5),
    ("(x +\n  open(x))", "`open(...)` is not an allowed function", 2, 3),
    ("__import__('os').system('ls')", "not an allowed function", 1, 1),
    ("().__class__.__bases__[0].__subclasses__()", "not an allowed function", 1, 1),
    ("x % 2", "operator", 1, 1),
    ("x // 2", "operator", 1, 1),
    ("x < 2", "comparisons", 1, 1),
    ("not x", "operator", 1, 1),
    ("x if y else 2", "conditional", 1, 1),
    ("import os", "imports", 1, 1),
    ("x += 1", "augmented", 1, 1),
    ("a, b = x, y", "one plain name", 1, 1),
    ("a = b = x", "one plain name", 1, 1),
    ("True * x", "only real numbers", 1, 1),
    ("2j * x", "only real numbers", 1, 1),
    ("x +* y", "invalid syntax", 1, 4),
    ("   x +* y", "invalid syntax", 1, 7),  # indentation is cut before parsing, columns still count it
    ("αβ + (1 +* 2)", "invalid syntax", 1, 10),
    ("exp + 1", "exp is a function", 1, 1),
    ("x * 2\ny", "not used", 1, 1),
    ("y = x; x * 2", "another name", 1, 1),
    ("o = tanh(n); n = x", "used before it is assigned", 1, 10),
    ("x = 2", "given a value and also assigned", 1, 1),
    ("n = x * 2; n = n + 1", "assigned twice", 1, 12),
    ("log(x - 3)", "log needs an input > 0", 1, 1),
    ("y * (x/(x - 3))", "divides by zero", 1, 6),
    ("(-x) ** 0.5", "not a real number", 1, 1),
    ("exp(1000 * x)", "overflows", 1, 1),
    ("x * 1e308 * 10", "overflow", 1, 1),
    ("1e999 * x", "too large", 1, 1),
    ("10 ** 400 + x", "overflows", 1, 1),
    ("while x: x", "loops", 1, 1),
])
def test_refused_with_line_column_and_what_is_wrong(text, words, line, column):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, x=3.0, y=2.0)
    e = info.value
    assert isinstance(e, ValueError)
    assert words in str(e)
    assert (e.line, e.column) == (line, column)
    assert str(e).startswith(f"line {line}, column {column}: ")
    assert "\n" not in str(e)


def test_constructs_outside_the_grammar_say_what_is_allowed():
    for text in ["x.y", "f(x)", "x % 2", "'s'", "x +* y"]:
        with pytest.raises(ExpressionError, match=ALLOWED_HINT):
            parse_expression(text, x=1.0)


def test_missing_values_are_all_named():
    with pytest.raises(ExpressionError, match=r"no value given for w, b; give each a number") as info:
        parse_expression("tanh(x*w + b) * w", x=1.0)
    assert (info.value.line, info.value.column) == (1, 8)


@pytest.mark.parametrize("value", [True, "2", float("nan"), float("inf"), None, 10 ** 400, 1j])
def test_values_must_be_finite_real_numbers(value):
    with pytest.raises(ExpressionError, match="the value of x must be a finite real number"):
        parse_expression("x * 2", x=value)


@pytest.mark.parametrize("text", ["", "   ", "# only a comment", "\n\n"])
def test_empty_text_is_refused(text):
    with pytest.raises(ExpressionError, match="empty"):
        parse_expression(text)


def test_text_must_be_a_string():
    with pytest.raises(TypeError, match="as a str"):
        parse_expression(b"x")


def test_null_bytes_are_refused():
    with pytest.raises(ExpressionError):
        parse_expression("x\x00", x=1.0)


# ---- size and depth: refused cleanly, never a RecursionError ---------------------------------------

DEEP = {
    "long": "x + " * (MAX_LENGTH // 4) + "x",
    "sum chain": "x" + "+x" * (MAX_OPERATORS + 1),
    "unary chain": "-" * 5000 + "x",
    "power tower": "x" + "**x" * 1500,
    "brackets": "(" * 300 + "x" + ")" * 300,
    "calls": "exp(" * 300 + "x" + ")" * 300,
    "huge": "x*" * 200_000 + "x",
}


@pytest.mark.parametrize("name", DEEP)
def test_very_long_or_deep_input_is_refused_cleanly(name):
    with pytest.raises(ExpressionError) as info:
        parse_expression(DEEP[name], x=1.0)
    assert "\n" not in str(info.value)


def _at_depth(depth, f):
    return f() if depth == 0 else _at_depth(depth - 1, f)


def test_at_the_limit_it_works_and_deep_in_a_call_stack_it_still_fails_cleanly():
    chain = "x" + "+x" * (MAX_OPERATORS - 1)
    root = parse_expression(chain, x=1.0).root
    root.backward()
    assert root.data == MAX_OPERATORS
    depth = sys.getrecursionlimit() - 150
    try:
        root = _at_depth(depth, lambda: parse_expression(chain, x=1.0).root)
    except ExpressionError as e:  # Python's own parser ran out of stack: our error, not a RecursionError
        assert "nested too deeply" in str(e)
    else:
        assert root.data == MAX_OPERATORS


def test_two_argument_functions_keep_their_argument_order():
    """maximum/minimum (issue 13) in the language: arguments in order, the arity checked."""
    p = parse_expression("maximum(x, 2*y) - minimum(y, x)", x=3.0, y=1.0)
    p.root.backward()
    x, y = p.leaves["x"], p.leaves["y"]
    assert p.root.data == 3.0 - 1.0 and (x.grad, y.grad) == (1.0, -1.0)   # max picks x, min picks y
    q = parse_expression("maximum(x, 2*y)", x=1.0, y=3.0)
    q.root.backward()
    assert q.root.data == 6.0 and (q.leaves["x"].grad, q.leaves["y"].grad) == (0.0, 2.0)
    for text in ("maximum(x)", "exp(x, y)"):
        with pytest.raises(ExpressionError, match="takes exactly"):
            parse_expression(text, x=1.0, y=2.0)


def test_backward_errors_point_at_the_expression():
    """ParsedExpression.backward: a rule's error and an overflowing gradient both carry a position."""
    with pytest.raises(ExpressionError) as rule:
        parse_expression("y = 2*x; sqrt(y)", x=0.0).backward()
    assert (rule.value.line, rule.value.column) == (1, 10) and "`sqrt(y)`" in str(rule.value)
    with pytest.raises(ExpressionError) as overflow:
        parse_expression("y = sqrt(x); y * 1e308", x=1e-10).backward()
    assert (overflow.value.line, overflow.value.column) == (1, 5)
    assert "not a finite number" in str(overflow.value)
