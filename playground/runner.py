"""The playground's Python side: run a learner's program (Python using `autodiff`, or the expression
language) and build `viz.step_html`'s stepper page for its graph.  The same file runs in Pyodide (the
page's Web Worker, diagrams by Graphviz in WebAssembly) and in CPython (the tests compare the two).
"""

from __future__ import annotations

import ast
import io
import json
import sys
import tokenize
import traceback
from collections.abc import Callable
from contextlib import nullcontext, redirect_stderr, redirect_stdout

from autodiff import ExpressionError, Value, parse_expression, topological_order
from autodiff.engine import free_iteratively
from autodiff.steps import node_names

# Freeing a chain of Values nests one call per node, and WebAssembly's stack holds a few thousand (CPython
# bounds the nesting itself, but measures a stack WebAssembly does not use): in Pyodide, dropped graphs
# are freed one node at a time, in the program or when the run ends.
if sys.platform == "emscripten":
    free_iteratively()

__all__ = ["run", "run_json", "EXAMPLES"]

MODES = ("python", "expression")

NUMPY_MESSAGE = ("This program needs numpy, which the playground does not have (there is no numpy for "
                 "its Pyodide offline). `autodiff`, `viz` and the numpy-free parts of `nn` (Value, MLP, "
                 "Neuron, Layer, the losses and optimizers) work here; run this one on your machine with "
                 "`pip install deltagrad` instead.")

_NEURON = """\
from autodiff import Value

# The classic neuron: o = tanh(x1*w1 + x2*w2 + b); b makes n = atanh(1/√2), so o = 1/√2.
x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
b = Value(6.8813735870195432, "b")
x1w1 = x1 * w1; x1w1.label = "x1w1"
x2w2 = x2 * w2; x2w2.label = "x2w2"
n = x1w1 + x2w2 + b; n.label = "n"
o = n.tanh(); o.label = "o"
o  # the last line's value is the graph the stepper walks through
"""

_EXPRESSION = """\
x1 = 2; x2 = 0; w1 = -3; w2 = 1; b = 6.8813735870195432
n = x1*w1 + x2*w2 + b
o = tanh(n)
"""

_MLP = """\
import random
import nn
from autodiff import Value

# A 2-3-1 MLP (tanh hidden layer, linear output) and its squared error on one example.
model = nn.MLP(2, [3, 1], rng=random.Random(0))
x = [Value(0.5, "x1"), Value(-1.0, "x2")]
y = model(x)[0]
loss = (y - 1.0) ** 2; loss.label = "loss"
loss
"""

_MOONS = """\
import math
import random
import nn
from autodiff import Value

# The moons model: a 2-16-16-1 MLP with micrograd's max-margin (hinge) loss, on one point of the upper
# moon (label +1).  nn.data.make_moons needs numpy, so the point is computed here with math.
model = nn.MLP(2, [16, 16, 1], rng=random.Random(1))
t = 0.7
x = [Value(math.cos(t), "x1"), Value(math.sin(t), "x2")]
loss = nn.hinge(model(x), [1]); loss.label = "loss"
loss
"""

_MOONS_NUMPY = """\
import random
import numpy as np
import nn
from autodiff import Value
from nn.data import make_moons

# The moons data set itself comes from numpy: the playground says so instead of failing.
X, y = make_moons(100, noise=0.1, rng=np.random.default_rng(1))
model = nn.MLP(2, [4, 1], rng=random.Random(1))
x = [Value(float(X[0, 0]), "x1"), Value(float(X[0, 1]), "x2")]
loss = nn.hinge(model(x), [float(y[0])]); loss.label = "loss"
loss
"""

# Each source document's network (docs/errata.md, nn.closed_form), built with nn on one example.
_DOC = """\
import random
import nn
from autodiff import Value

# {what}
model = nn.MLP({nin}, {widths}, activation="{act}", output_activation="{out}", rng=random.Random(0))
x = [Value(v, f"x{{i + 1}}") for i, v in enumerate({x})]
loss = {loss}; loss.label = "loss"
loss
"""


def _doc(what: str, nin: int, widths: list[int], act: str, out: str, x: list[float], loss: str) -> str:
    return _DOC.format(what=what, nin=nin, widths=widths, act=act, out=out, x=x, loss=loss)


_CLOSED_FORM = """\
import random
import nn
from autodiff import Value
from nn.closed_form import TwoLayerSigmoidNet

# Document 004's closed-form equations are written with numpy: the playground says so instead of failing.
model = nn.MLP(2, [3, 2], activation="sigmoid", output_activation="sigmoid", rng=random.Random(0))
net = TwoLayerSigmoidNet.from_mlp(model)
x = [Value(0.1, "x1"), Value(0.7, "x2")]
loss = nn.squared_error(model(x), [0.0, 1.0]); loss.label = "loss"
loss
"""

# name -> (title, mode, source); the page lists them in this order.
EXAMPLES: dict[str, tuple[str, str, str]] = {
    "neuron": ("the classic neuron", "python", _NEURON),
    "neuron-expression": ("the classic neuron, in the expression language", "expression", _EXPRESSION),
    "mlp-2-3-1": ("a 2-3-1 MLP", "python", _MLP),
    "moons": ("the moons model (2-16-16-1, hinge loss)", "python", _MOONS),
    "doc-000": ("document 000: ReLU net, softmax cross-entropy", "python", _doc(
        "Document 000: D-H-C, ReLU hidden layer, identity output, softmax cross-entropy (class 1 of 2).",
        2, [3, 2], "relu", "linear", [0.5, -0.4], "nn.cross_entropy(model(x), 1)")),
    "doc-001": ("document 001: sigmoid net, squared error", "python", _doc(
        "Document 001: sigmoid everywhere, the error E = ½ Σ (o - y)².",
        2, [2, 1], "sigmoid", "sigmoid", [0.05, 0.1], "nn.squared_error(model(x), [0.01])")),
    "doc-002": ("document 002: logistic net, cross-entropy", "python", _doc(
        "Document 002: sigmoid units, the logistic cost -[y log h + (1 - y) log(1 - h)].",
        2, [2, 1], "sigmoid", "sigmoid", [1.0, 0.0], "nn.binary_cross_entropy(model(x), [1.0])")),
    "doc-003": ("document 003: the four equations' net", "python", _doc(
        "Document 003: z = w a + b, a = σ(z), the quadratic cost C = ½ ‖a - y‖².",
        2, [3, 2], "sigmoid", "sigmoid", [0.3, 0.9], "nn.squared_error(model(x), [1.0, 0.0])")),
    "doc-004": ("document 004: the 2-3-2 sigmoid net", "python", _doc(
        "Document 004: the 2-3-2 network, h = σ(x w + b1), y = σ(h u + b2), squared error.",
        2, [3, 2], "sigmoid", "sigmoid", [0.1, 0.7], "nn.squared_error(model(x), [0.0, 1.0])")),
    "moons-data": ("the moons data set (needs numpy)", "python", _MOONS_NUMPY),
    "closed-form": ("the documents' closed forms (need numpy)", "python", _CLOSED_FORM),
}


def _root_of_python(source: str, scope: dict) -> Value:
    """Run ``source`` as a module in ``scope`` and return the value of its last line, which must be a
    Value (or a list holding one Value, as a layer returns)."""
    _check_depth(source)
    tree = ast.parse(source, "<playground>", "exec")
    last = tree.body.pop().value if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<playground>", "exec"), scope)
    if last is None:
        raise ValueError("the last line must be the Value to step through, e.g. `loss` or `o` alone on "
                         "the last line (as in a notebook cell)")
    root = eval(compile(ast.Expression(last), "<playground>", "eval"), scope)
    if isinstance(root, list | tuple) and len(root) == 1:
        root = root[0]
    if not isinstance(root, Value):
        kind = type(root).__name__
        article = "an" if kind[0] in "aeiouAEIOU" else "a"
        raise ValueError(f"the last line gives {article} {kind}, not a Value: end the program with the "
                         "output to step through, e.g. `loss`")
    return root


# Operators and brackets in one logical line: each nests the expression one level deeper, and Python's
# parser and compiler recurse once per level. WebAssembly's stack holds about 500 (1,000 kills Pyodide
# outright, where CPython raises RecursionError), so a deeper line is refused in words first.
MAX_DEPTH = 400
_NESTING = {"+", "-", "*", "/", "//", "%", "**", "@", "<<", ">>", "&", "|", "^", "(", "[", "{", ".",
            "<", ">", "==", "!=", "<=", ">=", "and", "or", "not", "if"}


def _check_depth(source: str) -> None:
    """Refuse a logical line of ``source`` with more than `MAX_DEPTH` operators and brackets, naming it.
    Reads tokens (no recursion); a source that does not tokenize is left to the parser's message."""
    count = start = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                count = 0
            elif tok.string in _NESTING and tok.type in (tokenize.OP, tokenize.NAME):
                count += 1
                start = tok.start[0] if count == 1 else start  # the line the expression starts on
                if count > MAX_DEPTH:
                    raise SyntaxError(f"more than {MAX_DEPTH} operations in one expression: the browser's "
                                      "Python cannot compile it that deep; build a long chain in a loop "
                                      "instead, e.g. `for i in range(1000): y = y * 1.0001`",
                                      ("<playground>", start, 1, None))
    except tokenize.TokenError:
        return


def _error(kind: str, message: str) -> dict:
    return {"ok": False, "kind": kind, "error": message}


def _needs_numpy(e: BaseException) -> bool:
    name = getattr(e, "name", None) or ""
    return isinstance(e, ImportError) and name.split(".")[0] == "numpy"


def run(source: str, mode: str = "python", *, predict: bool = False, page: bool = True,
        svg_renderer: Callable[[str], str] | None = None) -> dict:
    """Run ``source`` and build its stepper page; return a JSON-ready dict.

    On success: ``ok`` True, ``html`` (the `viz.step_html` page), ``value`` (the root's data) and
    ``nodes``: one ``[name, data, grad]`` per node in topological order, after ``zero_grad()`` and
    ``backward()`` on the root (the loop the page steps through).  On failure: ``ok`` False,
    ``kind`` ("numpy", "syntax", "error") and ``error``, a message for the learner (the line of their
    program and the exception).
    ``mode`` is "python" (the last line's value is the root) or "expression" (`parse_expression`).
    ``svg_renderer`` turns DOT into SVG (default: the system `dot`).  ``page=False`` skips the
    page (no ``html``; for graphs compared number by number in the tests).
    """
    if mode not in MODES:
        return _error("error", f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    output = io.StringIO()
    scope = {"__name__": "__playground__"}
    try:
        with redirect_stdout(output), redirect_stderr(output):
            result = _run(source, mode, scope, predict, page, svg_renderer)
        result["output"] = output.getvalue()[-OUTPUT_LIMIT:]
        return result
    finally:
        scope.clear()


# What print() wrote, shown under the program; the end is kept when a program prints more.
OUTPUT_LIMIT = 20_000


def _run(source: str, mode: str, scope: dict, predict: bool, page: bool, svg_renderer) -> dict:
    from viz.draw import svg_renderer as using
    from viz.step_html import HtmlStepper

    try:
        root = _root_of_python(source, scope) if mode == "python" else parse_expression(source).root
        if page:
            with nullcontext() if svg_renderer is None else using(svg_renderer):
                stepper = HtmlStepper(root, predict=predict, title="deltagrad playground")
        root.zero_grad()  # a program that ran backward() itself would otherwise report sums
        root.backward()  # the stepper leaves .grad as it found it; the numbers reported are backward()'s
    except SyntaxError as e:
        return _error("syntax", f"line {e.lineno}: {e.msg}\n{(e.text or '').rstrip()}")
    except ExpressionError as e:
        return _error("syntax", str(e))
    except BaseException as e:  # the learner's program failed, whatever it raised: say where
        if _needs_numpy(e):
            return _error("numpy", NUMPY_MESSAGE)
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == "<playground>"]
        where = f"line {frames[-1].lineno}: " if frames else ""
        return _error("error", f"{where}{type(e).__name__}" + (f": {e}" if str(e) else ""))
    order = topological_order(root)
    names = node_names(order)
    result = {"ok": True, "value": root.data, "nodes": [[names[v], v.data, v.grad] for v in order]}
    if page:
        result |= {"html": stepper.html, "frames": len(stepper.walkthrough.kinds)}
    return result


def run_json(request: str, svg_renderer: Callable[[str], str] | None = None) -> str:
    """`run` for the Web Worker: ``request`` is JSON ``{"source", "mode", "predict", "page"}``; returns
    JSON."""
    args = json.loads(request)
    result = run(args["source"], args.get("mode", "python"), predict=bool(args.get("predict")),
                 page=bool(args.get("page", True)), svg_renderer=svg_renderer)
    return json.dumps(result, allow_nan=False)


if __name__ == "__main__":  # python runner.py FILE [expression]: the result's nodes, for a quick look
    text = open(sys.argv[1], encoding="utf-8").read()
    out = run(text, sys.argv[2] if len(sys.argv) > 2 else "python")
    print(json.dumps({k: v for k, v in out.items() if k != "html"}, indent=1))
