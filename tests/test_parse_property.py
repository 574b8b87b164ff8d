"""Property tests of the expression language: random text never runs anything and always ends in a
graph or the parser's own error; random valid expressions compute what plain float arithmetic does
and build the same graph (same gradients) as writing them with `Value` operators in Python."""

from __future__ import annotations

import ast
import builtins
import math
import warnings
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodiff import ExpressionError, ParsedExpression, Value, parse_expression

VALUES = {"x": 0.7, "y": -1.3, "w": 2.0}
SENTINEL = Path("/tmp/deltagrad_parse_sentinel")

# ---- random text is never executed ---------------------------------------------------------------

ESCAPES = [
    f"__import__('os').system('touch {SENTINEL}')",
    f"open('{SENTINEL}', 'w')",
    "().__class__.__bases__[0].__subclasses__()",
    "eval('1')", "exec('x = 1')", "getattr(x, 'real')", "globals()", "breakpoint()",
    "[c for c in ().__class__.__mro__]", "(lambda: __import__('os'))()",
]
TOKENS = ["x", "y", "w", "n", "1", "2.5", "1e-3", "0", " ", "+", "-", "*", "/", "**", "(", ")", ",", ".",
          "[", "]", "=", ";", "\n", ":", "'", '"', "#", "\\", "%", "@", "{", "}", "<", "exp", "log", "tanh",
          "sigmoid", "relu", "lambda", "import", "os", "for", "in", "if", "else", "not", "and", "yield",
          "__import__", "__class__", "system", "open", "print", "True", "None", "1j"] + ESCAPES

token_soup = st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)
any_text = st.one_of(token_soup, st.text(max_size=60), st.sampled_from(ESCAPES))


# What the standard library imports lazily while parsing: ast.walk takes deque from collections, and
# the parser normalises non-ASCII names with unicodedata.
STDLIB_IMPORTS = {"collections", "unicodedata"}


@contextmanager
def spying_on_builtins():
    """Record every eval/exec/__import__ and every compile that would produce code (not just an AST)."""
    calls: list[str] = []
    real = {name: getattr(builtins, name) for name in ("eval", "exec", "compile", "__import__")}

    def spy(name):
        def f(*args, **kwargs):
            if name == "compile":
                flags = args[3] if len(args) > 3 else kwargs.get("flags", 0)
                if not flags & ast.PyCF_ONLY_AST:
                    calls.append("compile to code")
            elif not (name == "__import__" and args[0] in STDLIB_IMPORTS):
                calls.append(f"{name}{args[:1]!r}")
            return real[name](*args, **kwargs)
        return f

    with mock.patch.multiple(builtins, **{name: spy(name) for name in real}):
        yield calls


@pytest.mark.filterwarnings("error")  # a warning Python's parser lets out fails the property
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text)
def test_random_text_never_runs_anything_and_ends_in_a_value_or_our_error(text):
    SENTINEL.unlink(missing_ok=True)
    with spying_on_builtins() as calls:
        try:
            parsed = parse_expression(text, **VALUES)
        except ExpressionError as e:
            parsed = e
    assert calls == [], f"{text!r} made the parser call {calls}"
    assert not SENTINEL.exists(), f"{text!r} ran a command"
    if isinstance(parsed, ParsedExpression):
        assert isinstance(parsed.root, Value) and math.isfinite(parsed.root.data)
        assert all(leaf.label == name for name, leaf in parsed.leaves.items())
    else:
        assert str(parsed) and "\n" not in str(parsed)


# Text Python's parser warns about, with the category it uses on 3.10 / 3.11 / 3.12+: an invalid escape
# (DeprecationWarning up to 3.11, SyntaxWarning from 3.12) and a number run into a keyword ("invalid
# decimal literal": DeprecationWarning on 3.10, SyntaxWarning from 3.11).
WARNED_TEXT = {
    '"\\d"': "strings are not allowed", "b'\\d' * x": "strings are not allowed",
    "f'\\d'": "strings are not allowed", "x * 1if x else 2": "conditional expressions are not allowed",
    "0x1for x in y": "`and`/`or` are not allowed", "1and x": "`and`/`or` are not allowed",
    "0o1or x": "`and`/`or` are not allowed", "1in x": "comparisons are not allowed",
    "1e5or 2": "`and`/`or` are not allowed",
}


@pytest.mark.parametrize("text", sorted(WARNED_TEXT))
def test_text_the_parser_warns_about_ends_in_our_error_and_no_warning(text):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ast.parse(text)
    assert seen, f"{text!r} no longer makes this Python's parser warn; pick text that does"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaked warning would raise here, not an ExpressionError
        with pytest.raises(ExpressionError) as err:
            parse_expression(text, x=1.0, y=2.0)
    assert WARNED_TEXT[text] in str(err.value)


def test_the_spy_sees_what_it_must_catch():
    """The property above can fail: code compiled or evaluated under the spy is recorded."""
    with spying_on_builtins() as calls:
        builtins.eval("1 + 1")
        ast.parse("x")  # compile with PyCF_ONLY_AST: allowed
        compile("x", "<test>", "eval")
        __import__("os")
    assert calls == ["eval('1 + 1',)", "compile to code", "__import__('os',)"]


# ---- random valid expressions: the number of float arithmetic, the graph of Value operators ----

BINARY = ["+", "-", "*", "/", "**"]
FUNCTIONS = ["exp", "log", "tanh", "sigmoid", "relu"]
constants = st.one_of(st.integers(-4, 4).map(float),
                      st.floats(-3, 3, allow_nan=False, allow_infinity=False, width=32).map(float))


def trees(names: list[str]):
    leaves = st.one_of(st.sampled_from(names).map(lambda n: ("name", n)), constants.map(lambda c: ("num", c)))
    return st.recursive(leaves, lambda sub: st.one_of(
        st.tuples(st.just("bin"), st.sampled_from(BINARY), sub, sub),
        st.tuples(st.just("neg"), sub),
        st.tuples(st.just("call"), st.sampled_from(FUNCTIONS), sub),
    ), max_leaves=12)


def text_of(tree) -> str:
    kind = tree[0]
    if kind == "name":
        return tree[1]
    if kind == "num":  # parenthesised when negative: -1.0 ** x is -(1.0 ** x)
        return f"({tree[1]!r})" if math.copysign(1, tree[1]) < 0 else repr(tree[1])
    if kind == "neg":
        return f"(-{text_of(tree[1])})"
    if kind == "call":
        return f"{tree[1]}({text_of(tree[2])})"
    return f"({text_of(tree[2])} {tree[1]} {text_of(tree[3])})"


class Undefined(Exception):
    """The reference arithmetic left the real numbers or overflowed."""


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


REFERENCE = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "sigmoid": _sigmoid,
             "relu": lambda v: v if v > 0 else 0.0}


def reference(tree, env: dict[str, float]) -> float:
    """Plain float arithmetic (a / b is a · b⁻¹, as the engine defines it); Undefined when any step
    is not a finite real number."""
    kind = tree[0]
    try:
        if kind == "name":
            out = env[tree[1]]
        elif kind == "num":
            out = tree[1]
        elif kind == "neg":
            out = -reference(tree[1], env)
        elif kind == "call":
            arg = reference(tree[2], env)
            if tree[1] == "log" and arg <= 0:
                raise Undefined
            out = REFERENCE[tree[1]](arg)
        else:
            a, b = reference(tree[2], env), reference(tree[3], env)
            op = tree[1]
            out = (a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else
                   a * b ** -1.0 if op == "/" else a ** b)
    except (ZeroDivisionError, OverflowError, ValueError):
        raise Undefined from None
    if isinstance(out, complex) or not math.isfinite(out):
        raise Undefined
    return out


def with_values(tree, env: dict[str, Value]) -> Value | float:
    """The same expression written with Value operators, constants left as plain numbers."""
    kind = tree[0]
    if kind == "name":
        return env[tree[1]]
    if kind == "num":
        return tree[1]
    if kind == "neg":
        return -with_values(tree[1], env)
    if kind == "call":
        arg = with_values(tree[2], env)
        return getattr(arg, tree[1])() if isinstance(arg, Value) else REFERENCE[tree[1]](arg)
    a, b = with_values(tree[2], env), with_values(tree[3], env)
    return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a * b ** -1.0,
            "**": lambda: a ** b}[tree[1]]()


@st.composite
def programs(draw):
    """One to three statements; each may use the inputs and the names assigned before it."""
    names, statements = list(VALUES), []
    count = draw(st.integers(1, 3))
    for i in range(count):
        tree = draw(trees(names))
        if i == count - 1 and draw(st.booleans()):  # the root: a bare expression or an assignment
            statements.append((None, tree))
            break
        if tree[0] == "name":  # `t = x` would only rename x, which the language refuses
            tree = ("bin", "*", tree, ("num", 2.0))
        statements.append((f"t{i}", tree))
        names.append(f"t{i}")
    return statements


@settings(max_examples=400, deadline=None)
@given(programs(), st.sampled_from([";", "\n", "; "]))
def test_random_expressions_match_float_arithmetic_and_value_operators(statements, separator):
    text = separator.join(f"{name} = {text_of(tree)}" if name else text_of(tree) for name, tree in statements)
    floats: dict[str, float] = dict(VALUES)
    try:
        for name, tree in statements:
            result = reference(tree, floats)
            if name:
                floats[name] = result
        expected = result
    except Undefined:
        expected = None

    try:
        parsed = parse_expression(text, **VALUES)
    except ExpressionError as e:
        assert expected is None, f"{text!r} refused ({e}) although it computes to {expected!r}"
        return
    assert expected is not None, f"{text!r} computed {parsed.root.data!r}, float arithmetic fails"
    assert parsed.root.data == expected

    # The same graph from Value operators: the same gradients, exactly.
    values = {k: Value(v, k) for k, v in VALUES.items()}
    for name, tree in statements:
        out = with_values(tree, values)
        if name:
            values[name] = out if isinstance(out, Value) else Value(out, name)
    root = out if isinstance(out, Value) else Value(out)
    try:
        root.backward()
    except (ValueError, ArithmeticError) as e:  # e.g. d/dy x**y at a negative base: same on both
        try:
            parsed.root.backward()
        except type(e):
            return
        raise AssertionError(f"{text!r}: Value operators fail in backward ({e}), the parsed graph not") from e
    parsed.root.backward()
    for k in VALUES:
        mine = parsed.leaves[k].grad if k in parsed.leaves else 0.0
        theirs = values[k].grad
        assert mine == theirs or (math.isnan(mine) and math.isnan(theirs)), (text, k, mine, theirs)
