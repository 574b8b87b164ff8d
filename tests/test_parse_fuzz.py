"""A bounded fuzz of the expression language (issue 18): thousands of seeded, generated expressions
through `parse_expression` and through `deltagrad grad`, watched by a `sys.addaudithook` hook. Nothing
is executed (no exec of a code object, no compile except to an AST, no process, file, socket or
import), the parser ends in a graph or its own one-line error, and the command exits 0 with finite
numbers only or 2 with one line on stderr."""

from __future__ import annotations

import contextlib
import io
import json
import math
import random
import re
import sys
import unicodedata

import pytest

from autodiff import ExpressionError, ParsedExpression, parse_expression
from deltagrad.cli import main

SEED = 18
PARSER_CASES = 3000
COMMAND_CASES = 600

# ---- the audit hook ---------------------------------------------------------------------------------
# Hooks cannot be removed, so one is added per process and records only while `_watching` is set.

_watching: list[list[tuple[str, str]]] = []
# Events that parsing and printing make and that run nothing: `id()` raises "builtins.id" (ast.parse's
# "compile" is checked in `audited`).
HARMLESS = {"builtins.id", "object.__getattr__", "sys._getframe"}


def _hook(event: str, args: tuple) -> None:
    if _watching and event not in HARMLESS:
        # "compile" carries (source, filename): the filename is what tells ast.parse's call apart
        _watching[-1].append((event, repr(args[1]) if event == "compile" else repr(args)[:200]))


if not getattr(sys, "_deltagrad_fuzz_hook", False):
    sys.addaudithook(_hook)
    sys._deltagrad_fuzz_hook = True


@contextlib.contextmanager
def audited(text: str):
    """Record the audit events inside the block; fail on any but ast.parse's own."""
    events: list[tuple[str, str]] = []
    _watching.append(events)
    try:
        yield events
    finally:
        _watching.pop()
    # ast.parse raises "compile" with the (normalised) text and the filename "<unknown>"; running
    # anything would raise "exec", which is never allowed. On a syntax error CPython looks for the
    # source line in a file of that name (read-only, for the message); nothing else may be opened.
    allowed = {("compile", "'<unknown>'"), ("open", "('<unknown>', 'rb', 0)")}
    unexpected = [e for e in events if e not in allowed]
    assert not unexpected, f"{text!r} caused {unexpected}"


# ---- the generator ------------------------------------------------------------------------------------

NUMBERS = ["0", "1", "2.5", "-3", "1e-3", "1e308", "1e-308", "5e-324", "1e400", "1" * 401, "0.0", "1_000",
           "0x10", "0o7", "1j", "1e", ".5", "5.", "0" * 50 + "1", "9" * 20]
NAMES = ["x", "y", "w", "ｘ", "ｗ", "é", "ſ", "ℌ", "_", "x1", "n", "__class__", "__import__", "os", "open",
         "eval", "exec", "print", "True", "None", "lambda", "import", "self", "sys", "breakpoint"]
FUNCTIONS = ["exp", "log", "tanh", "sigmoid", "relu", "abs", "pow", "eval", "exec", "getattr", "open",
             "__import__", "compile", "globals", "vars", "input"]
OPERATORS = ["+", "-", "*", "/", "**", "//", "%", "@", "<<", "&", "|", "^", "==", "<", "and", "or",
             " if x else "]
ESCAPES = [
    "__import__('os').system('touch /tmp/deltagrad_fuzz_sentinel')",
    "open('/etc/passwd').read()", "().__class__.__bases__[0].__subclasses__()",
    "eval('1')", "exec('x = 1')", "compile('1', 'f', 'eval')", "getattr(x, '__class__')",
    "[c for c in ().__class__.__mro__]", "(lambda: __import__('subprocess'))()", "x.__globals__",
    "breakpoint()", "globals()['__builtins__']", "f'{x}'", "x[0]", "{x: 1}", "(yield x)", "await x",
    "x := 3", "*x", "x, y", "import os", "del x", "x.real", "__builtins__.open",
    "\\N{LATIN SMALL LETTER X}", "# comment", "'\\x00'", "b'x'",
]
JUNK = list("()[]{},.;:=#'\"\\\n\t $!?~`@") + ["\x00", "\u200b", "\ud800", "\u202e", "\ufeff", "𝑥"]


VALID = {"numbers": ["0", "1", "2.5", "1e-3", "0.5", "3", "1e308", "5e-324"], "names": ["x", "y", "w", "ｘ"],
         "functions": ["exp", "log", "tanh", "sigmoid", "relu"], "operators": ["+", "-", "*", "/", "**"]}
HOSTILE = {"numbers": NUMBERS, "names": NAMES, "functions": FUNCTIONS, "operators": OPERATORS}


def expression(r: random.Random, depth: int, words: dict[str, list[str]]) -> str:
    if depth <= 0 or r.random() < 0.25:
        return r.choice(words["numbers"]) if r.random() < 0.4 else r.choice(words["names"])
    kind = r.random()
    if kind < 0.45:
        return (f"{expression(r, depth - 1, words)} {r.choice(words['operators'])} "
                f"{expression(r, depth - 1, words)}")
    if kind < 0.75:
        return f"{r.choice(words['functions'])}({expression(r, depth - 1, words)})"
    if kind < 0.85:
        return f"-({expression(r, depth - 1, words)})"
    if kind < 0.95 or words is VALID:
        return f"({expression(r, depth - 1, words)})"
    return r.choice(ESCAPES)


def program(r: random.Random) -> str:
    """One to three statements from the language's own words or from hostile ones, then (sometimes)
    a mutation: a junk character, deep nesting, great length, an escape attempt."""
    words = VALID if r.random() < 0.5 else HOSTILE
    statements = [expression(r, r.randint(0, 6), words) for _ in range(r.randint(1, 3))]
    if len(statements) > 1 and r.random() < 0.7:
        statements = [f"t{i} = {s}" for i, s in enumerate(statements[:-1])] + statements[-1:]
    text = r.choice(["; ", "\n", ";"]).join(statements)
    mutation = r.random()
    if mutation < 0.1:
        k = r.randrange(len(text) + 1)
        text = text[:k] + r.choice(JUNK) + text[k:]
    elif mutation < 0.14:
        depth = r.choice([50, 500, 5_000, 50_000])
        text = "(" * depth + text + ")" * depth
    elif mutation < 0.16:
        text = " + ".join([text] * r.choice([10, 1_000, 5_000]))
    elif mutation < 0.2:
        text = r.choice(ESCAPES)
    return text


def values(r: random.Random) -> dict[str, float]:
    palette = [0.0, 1.0, -2.5, 0.5, 1e308, -1e308, 5e-324, 1e-300, 710.0, -745.0, 3.0]
    return {name: r.choice(palette) for name in ("x", "y", "w", "n") if r.random() < 0.8}


def cases(count: int, salt: int):
    r = random.Random(SEED * 1_000 + salt)
    return [(program(r), values(r)) for _ in range(count)]


# ---- the properties -------------------------------------------------------------------------------------

def test_the_hook_sees_what_it_must_catch():
    """The audit can fail: code executed, compiled to bytecode, a file opened or a process started
    under it is recorded."""
    for run in (lambda: exec("1 + 1"), lambda: compile("x", "<other>", "eval"),
                lambda: open(__file__).close(), lambda: __import__("subprocess").run(["true"])):
        with pytest.raises(AssertionError, match="caused"), audited("x"):
            run()
    with audited("x + 1"):
        parse_expression("x + 1", x=2.0)


def test_generated_expressions_run_nothing_and_end_in_a_graph_or_our_error():
    parse_expression("x * exp(ｘ)", x=1.0)  # the parser's lazy stdlib imports, made before watching
    outcomes = {"graph": 0, "error": 0}
    for text, given in cases(PARSER_CASES, 1):
        with audited(text):
            try:
                parsed = parse_expression(text, **given)
            except ExpressionError as e:
                message = str(e)
                assert message and "\n" not in message and "Traceback" not in message, (text, message)
                outcomes["error"] += 1
                continue
        assert isinstance(parsed, ParsedExpression) and math.isfinite(parsed.root.data), text
        outcomes["graph"] += 1
    # The generator reaches both sides: valid programs and refused ones, in good numbers.
    assert min(outcomes.values()) > PARSER_CASES // 10, outcomes


def _run_command(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_generated_commands_exit_0_with_finite_numbers_or_2_with_one_line():
    _run_command(["grad", "x * exp(ｘ)", "x=1"])  # warm up: lazy imports before watching
    codes = {0: 0, 2: 0}
    for i, (text, given) in enumerate(cases(COMMAND_CASES, 2)):
        as_json = i % 3 == 0
        # a value for each input name the text uses (an unused one is refused before parsing)
        used = set(re.findall(r"\w+", unicodedata.normalize("NFKC", text)))
        argv = ["grad", *(["--json"] if as_json else []), "--", text,
                *(f"{k}={v!r}" for k, v in given.items() if k in used or i % 10 == 0)]
        with audited(text):
            code, out, err = _run_command(argv)
        assert code in (0, 2), (argv, code, err)
        codes[code] += 1
        if code == 2:
            assert out == "" and err.count("\n") == 1 and err.startswith("deltagrad grad: error: "), \
                (argv, out, err)
        elif as_json:
            def refuse(token, argv=argv):
                raise AssertionError(f"{argv}: {token} in the JSON")
            doc = json.loads(out, parse_constant=refuse)
            assert all(math.isfinite(g) for g in doc["gradients"].values()), argv
        else:
            assert not any(word in out.split() for word in ("nan", "inf", "-inf")), (argv, out)
    assert min(codes.values()) > COMMAND_CASES // 20, codes
