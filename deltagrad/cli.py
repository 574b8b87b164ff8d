"""The `deltagrad` command: gradients, diagrams, step-through, checks and demos from the shell.

    deltagrad grad "tanh(x1*w1 + x2*w2 + b)" x1=2 x2=0 w1=-3 w2=1 b=6.8813735870195432
    deltagrad draw "n = x*w + b; o = tanh(n)" x=2 w=-3 b=6.88 -o neuron.svg
    deltagrad step "x*x + x" x=3 --plain
    deltagrad step "n = x*w + b; o = tanh(n)" x=2 w=-3 b=6.88 --frames slides --format png
    deltagrad check --doc 004
    deltagrad exercise --doc 004 --seed 7 -o exercise
    deltagrad verify "x * tanh(y)" --wrt y --derivative "x * (1 - tanh(y)**2)" x=0.5 y=1.2
    deltagrad train moons --epochs 40 -o moons.png
    deltagrad demo
    deltagrad playground

Bad input exits with status 2 and one line on stderr; `check` and `verify` exit 1 on a disagreement.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import math
import os
import signal
import sys
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from autodiff import ExpressionError, ParsedExpression, Value, __version__, parse_expression
from autodiff.files import write_atomic

__all__ = ["main", "build_parser", "CommandError", "NEURON"]

PROG = "deltagrad"

# The classic neuron of micrograd's lecture: b is chosen so that n = atanh(1/√2), o = 1/√2, do/dn = 1/2.
NEURON = ("n = x1*w1 + x2*w2 + b; o = tanh(n)",
          {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432})

GRAMMAR = """expressions: numbers (2, 0.5, 1e-3), names, + - * / **, unary minus, parentheses,
exp() log() tanh() sigmoid() relu() sqrt() abs() sin() cos() softplus() leaky_relu() elu() gelu() of one
argument and maximum(a, b) minimum(a, b) of two; several statements separated by ; or new lines,
`name = expression`, name intermediate nodes: "n = x*w + b; o = tanh(n)". Give every input name a value
as name=number. An expression that starts with - needs `--` before it: deltagrad grad -- "-x*y" x=1 y=2"""


class CommandError(Exception):
    """Bad input to a subcommand: printed as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line (``deltagrad grad: error: ... (see --help)``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---- shared helpers -----------------------------------------------------------------------------

def _values(pairs: list[str]) -> dict[str, float]:
    """``["x=2", "w=-3"]`` -> ``{"x": 2.0, "w": -3.0}``, refusing anything that is not name=number."""
    values: dict[str, float] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        # NFKC, as Python's parser reads names in the expression: a full-width ｘ is x.
        name = unicodedata.normalize("NFKC", name.strip())
        if not sep or not name.isidentifier():
            raise CommandError(f"{_short(pair)!r} is not name=value; give each input as name=number, "
                               "e.g. x1=2.0")
        try:
            number = float(text)
        except ValueError:
            raise CommandError(f"{_short(pair)}: {_short(text.strip())!r} is not a number; write "
                               f"name=number, e.g. {name}=0.5") from None
        if math.isinf(number) and "inf" not in text.lower():
            raise CommandError(f"{name}: the number {_short(text.strip())} is out of the float range "
                               "(about ±1.8e308); give a smaller one")
        if not math.isfinite(number):
            raise CommandError(f"{name}: the value must be a finite number, got {_short(text.strip())}")
        if name in values:
            raise CommandError(f"{name} is given twice ({name}={values[name]:g} and {pair}); give it once")
        values[name] = number
    return values


def _short(text: str, width: int = 24) -> str:
    """``text`` cut to ``width`` characters for an error message, saying how long it was."""
    return text if len(text) <= width else f"{text[:width]}… ({len(text)} characters)"


def _parse(expr: str, pairs: list[str]) -> ParsedExpression:
    values = _values(pairs)
    parsed = parse_expression(expr, **values)
    unused = [name for name in values if name not in parsed.leaves]
    if unused:
        used = ", ".join(parsed.leaves) or "no names"
        raise CommandError(f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} given a value but "
                           f"not used (it uses {used}); check the spelling")
    return parsed


def _output(path: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """Check an output path before the work that fills it: a known suffix, an existing writable folder."""
    out = Path(path)
    if out.is_dir():
        raise CommandError(f"{path} is a folder; give a file name inside it")
    if suffixes is not None and out.suffix.lower() not in suffixes:
        raise CommandError(f"{path}: the file name must end in {', '.join(suffixes)} (the suffix picks "
                           "the format)")
    folder = out.parent
    if not folder.is_dir():
        raise CommandError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise CommandError(f"cannot write {path}: permission denied")
    return out


def _seed(text: str) -> int:
    """argparse type of a seed: numpy's generators take integers >= 0."""
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:
        raise argparse.ArgumentTypeError(f"the seed must be a whole number >= 0, got {_short(text)!r}")
    return seed


def _digits(text: str) -> int:
    """argparse type of a number of significant digits: a float64 has at most 17."""
    try:
        digits = int(text)
    except ValueError:
        digits = 0
    if not 1 <= digits <= 17:
        raise argparse.ArgumentTypeError(f"give a number of significant digits from 1 to 17, got "
                                         f"{_short(text)!r}")
    return digits


def _need(module: str, attribute: str, what: str):
    """A piece another part of deltagrad provides, or a clear error when this version lacks it."""
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError):
        raise CommandError(f"{what} ({module}.{attribute}) is not available yet in this version of "
                           "deltagrad") from None
    return found


def _num(x: float, digits: int) -> str:
    return f"{x:.{digits}g}"


def _named(parsed: ParsedExpression) -> list[tuple[str, Value]]:
    return list(parsed.leaves.items()) + list(parsed.nodes.items())


# ---- grad ---------------------------------------------------------------------------------------

def cmd_grad(args: argparse.Namespace) -> int:
    parsed = _parse(args.expr, args.values)
    root = parsed.root
    parsed.backward()  # a rule's error points at the expression's position
    if args.json:
        print(json.dumps({
            "expression": args.expr, "value": root.data,
            "gradients": {k: v.grad for k, v in parsed.leaves.items()},
            "inputs": {k: v.data for k, v in parsed.leaves.items()},
            "nodes": {k: {"value": v.data, "grad": v.grad} for k, v in parsed.nodes.items()},
        }, indent=2, allow_nan=False))  # strict JSON: NaN and Infinity are not JSON
        return 0
    print(grad_report(parsed, args.expr, args.digits))
    return 0


def grad_report(parsed: ParsedExpression, expr: str, digits: int = 6) -> str:
    """The text `deltagrad grad` prints: the value, then each named input's (and node's) value and
    gradient d root / d name."""
    root = parsed.root
    out = root.label or "value"
    lines = [" ".join(expr.split()), f"{out} = {_num(root.data, digits)}"]
    rows = [(k, v) for k, v in _named(parsed) if v is not root or k in parsed.leaves]
    if not rows:
        return "\n".join(lines + ["(no named inputs: the expression is a constant)"])
    width = max(len("name"), *(len(k) for k, _ in rows))
    grad = f"d{out}/dname" if out != "value" else "grad"
    lines += ["", f"{'name':<{width}}  {'value':>12}  {grad:>12}"]
    for k, v in rows:
        kind = "" if k in parsed.leaves else "  (node)"
        lines.append(f"{k:<{width}}  {_num(v.data, digits):>12}  {_num(v.grad, digits):>12}{kind}")
    return "\n".join(lines)


# What the terminal stepper (viz.stepper.KEYS_HELP) takes, kept here so that --help needs no import of viz.
STEP_KEYS = """\
Step through the forward and then the backward pass, one step per key:
  n → ↓ space l   next step             p ← ↑ h   previous step
  Home g          first frame           End G     last frame
  b               start of the backward pass
  ] [             next / previous layer of a network built by nn
  PgDn PgUp       10 steps forward / back
  digits Enter    go to that frame      ?         help
  Esc             cancel the number, close the help
  q Q Ctrl+C Ctrl+D  quit (so does the end of input); no other key quits
Piped output prints every step."""


# ---- draw ---------------------------------------------------------------------------------------

DIAGRAM_SUFFIXES = (".svg", ".png", ".pdf", ".dot")


def _render(render, root: Value, out: Path, **options) -> Path:
    """`viz.render`, with a missing or failing renderer (`RenderError`) as a one-line command error."""
    try:
        return render(root, out, **options)
    except RuntimeError as e:  # viz.draw.RenderError: no `dot`, no graphviz-pure for this format
        raise CommandError(str(e)) from None


def cmd_draw(args: argparse.Namespace) -> int:
    out = _output(args.output, DIAGRAM_SUFFIXES)
    render = _need("viz.draw", "render", "drawing diagrams")
    parsed = _parse(args.expr, args.values)
    if not args.no_backward:
        parsed.backward()
    options = {"rankdir": args.rankdir, "show_grad": not args.no_grad, "show_local": args.show_local,
               "legend": not args.no_legend, "max_nodes": args.max_nodes}
    if args.precision is not None:
        options["precision"] = args.precision
    if args.highlight:
        named = dict(_named(parsed))
        missing = [h for h in args.highlight if h not in named]
        if missing:
            raise CommandError(f"--highlight {', '.join(missing)}: no such name in the expression "
                               f"(names: {', '.join(named) or 'none'})")
        options["highlight"] = {named[h] for h in args.highlight}
    if args.preset:
        options["preset"] = args.preset
    print(f"wrote {_render(render, parsed.root, out, **options)}")
    return 0


# ---- step ---------------------------------------------------------------------------------------

def _folder(path: str, flag: str) -> Path:
    """An output folder, created if missing, checked writable before the work that fills it."""
    if not path.strip():
        raise CommandError(f"{flag} is empty; give the folder to write into, e.g. {flag} out")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise CommandError(f"{flag} {folder}: a file of that name exists; give a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CommandError(f"cannot create the folder {folder}: {e.strerror or e}") from None
    if not os.access(folder, os.W_OK):
        raise CommandError(f"cannot write into {folder}: permission denied")
    return folder


def cmd_step(args: argparse.Namespace) -> int:
    parsed = _parse(args.expr, args.values)
    try:
        return _step(args, parsed)
    except (ValueError, ArithmeticError) as e:  # a derivative rule's error: where in the expression
        raise parsed.error_at(e) from None


def _step(args: argparse.Namespace, parsed: ParsedExpression) -> int:
    if args.frames is not None:
        if args.plain:
            raise CommandError("--plain prints the steps in the terminal; --frames writes slides: give one")
        if args.html or args.predict:
            raise CommandError("--frames writes slides; --html and --predict write the page: give one")
        frames = _need("viz.frames", "frames", "slides of the pass")
        folder = _folder(args.frames, "--frames")
        try:
            paths = frames(parsed.root, folder, args.format, gif=not args.no_gif)
        except RuntimeError as e:  # viz.draw.RenderError, or no Pillow for the GIF
            raise CommandError(str(e)) from None
        shown = [p for p in paths if p.suffix != ".gif"]
        print(f"wrote {len(shown)} frames, {shown[0].name} .. {shown[-1].name}, into {folder}/")
        if len(paths) > len(shown):
            print(f"wrote {paths[-1]} (the whole pass, animated)")
        return 0
    if args.html:
        out = _output(args.html, (".html", ".htm"))
        step_html = _need("viz.step_html", "step_html", "the HTML stepper")
        _need("viz.draw", "draw", "the HTML stepper's diagram")
        try:
            page = step_html(parsed.root, out, predict=args.predict)
        except RuntimeError as e:  # viz.draw.RenderError: the page inlines an SVG diagram
            raise CommandError(str(e)) from None
        print(f"wrote {out} ({len(page.walkthrough)} frames); open it in a browser")
        return 0
    if args.predict:
        raise CommandError("--predict works with --html FILE (the page asks for each gradient)")
    from rich.console import Console

    step_terminal = _need("viz.stepper", "step_terminal", "the terminal stepper")
    step_terminal(parsed.root, console=Console(highlight=False), interactive=False if args.plain else None)
    return 0


# ---- check --------------------------------------------------------------------------------------

DOCUMENTS = ("000", "001", "002", "003", "004")


def cmd_check(args: argparse.Namespace) -> int:
    compare_document = _need("nn", "compare_document", "the closed-form comparison")
    docs = DOCUMENTS if args.doc == "all" else (args.doc,)
    agree = True
    for doc in docs:
        result = compare_document(doc, rng=args.seed)
        print(result)
        print()
        agree = agree and bool(result.agree)
    print("all equations agree with the engine" if agree else "DISAGREEMENT: see the tables above")
    return 0 if agree else 1


# ---- verify -------------------------------------------------------------------------------------

def _ranges(texts: list[str]) -> dict[str, tuple[float, float]]:
    """``["x=0.1:5"]`` -> ``{"x": (0.1, 5.0)}``."""
    ranges: dict[str, tuple[float, float]] = {}
    for text in texts:
        name, _, span = text.partition("=")
        low, colon, high = span.partition(":")
        try:
            lo, hi = float(low), float(high)
        except ValueError:
            lo = hi = math.nan
        if not colon or not name.strip().isidentifier() or not (math.isfinite(lo) and math.isfinite(hi)
                                                               and lo < hi):
            raise CommandError(f"--range {text!r}: write name=low:high with low < high, e.g. x=0.1:5")
        ranges[name.strip()] = (lo, hi)
    return ranges


def cmd_verify(args: argparse.Namespace) -> int:
    from autodiff.testing import check_derivative

    parsed = _parse(args.expr, args.values)
    given = _values(args.values)
    point = {k: v.data for k, v in parsed.leaves.items() if k in given}
    wrt = [w.strip() for w in args.wrt.split(",")]
    for w in wrt:
        if w not in point:
            raise CommandError(f"--wrt {w}: the expression has no input of that name (its inputs: "
                               f"{', '.join(point) or 'none'})")
    try:
        parse_expression(args.derivative, **{k: v.data for k, v in parsed.nodes.items()}, **point)
    except ExpressionError as e:
        raise CommandError(f"--derivative {args.derivative!r}: {e}") from None
    for flag, value in (("--points", args.points), ("--order", args.order or 1)):
        if value < (0 if flag == "--points" else 1):
            raise CommandError(f"{flag} must be at least {0 if flag == '--points' else 1}, got {value}")
    ranges = _ranges(args.range)
    unknown = [k for k in ranges if k not in point]
    if unknown:
        raise CommandError(f"--range {', '.join(unknown)}: not an input of the expression (its inputs: "
                           f"{', '.join(point)})")
    try:
        result = check_derivative(args.expr, args.derivative, point, wrt=wrt, order=args.order,
                                  points=args.points, rng=args.seed, ranges=ranges, rtol=args.rtol,
                                  atol=args.atol)
    except ValueError as e:
        raise CommandError(str(e)) from None
    print(f"f = {' '.join(args.expr.split())}")
    print(f"derivative given: {' '.join(args.derivative.split())}")
    print(result)
    if result.none_checked:
        return 2
    return 0 if result.agree else 1


# ---- exercise -----------------------------------------------------------------------------------

def cmd_exercise(args: argparse.Namespace) -> int:
    make_exercise = _need("nn.exercise", "make_exercise", "exercises")
    if args.doc is None and args.net is None:
        raise CommandError("which network? give --doc 004 (a document's), or --net 2-3-2 with "
                           "--activation and --loss")
    if args.doc is not None and (args.activation or args.loss):
        raise CommandError(f"--doc {args.doc} fixes the activation and the loss; --activation and --loss "
                           "go with --net alone")
    if not (math.isfinite(args.lr) and 0 < args.lr < 10):
        raise CommandError(f"--lr must be a number in (0, 10), got {args.lr}")
    folder = _folder(args.output, "-o")
    try:
        exercise = make_exercise(doc=args.doc, net=args.net, activation=args.activation, loss=args.loss,
                                 seed=args.seed, lr=args.lr)
    except (ValueError, RuntimeError) as e:  # an impossible network, or no usable numbers in the tries
        raise CommandError(f"--net/--doc: {e}") from None
    try:
        paths = exercise.write(folder)
    except RuntimeError as e:  # viz.draw.RenderError: the stepper page inlines an SVG diagram
        raise CommandError(str(e)) from None
    key = exercise.key
    print(f"exercise: {exercise.name}")
    print(f"answer key: {len(key.forward) + 1} forward values, {len(key.deltas)} δ's, {len(key.grads)} "
          f"gradients, {len(key.update)} parameters after one step; document {exercise.doc.number}'s "
          f"closed form agrees (max |diff| {key.max_abs:.1e})")
    for path in paths:
        print(f"wrote {path}")
    if exercise.stepper_skipped:
        print(f"{exercise.stepper_skipped}; choose a smaller --net for a stepper page")
    return 0


# ---- train --------------------------------------------------------------------------------------

def _widths(text: str) -> list[int]:
    try:
        widths = [int(w) for w in text.split(",")]
    except ValueError:
        widths = []
    if not widths or any(w < 1 for w in widths):
        raise CommandError(f"--hidden {text!r}: give the hidden layer widths as positive integers "
                           "separated by commas, e.g. 16,16")
    return widths


def train_moons(*, epochs: int, hidden: list[int], lr: float, seed: int, samples: int, noise: float,
                lam: float, progress=None):
    """Train ``MLP(2, hidden + [1])`` on two moons: mean hinge loss + λ/2 Σ w², full-batch SGD with the
    rate decaying linearly, lr_k = lr (1 − 0.9 k / epochs).  Returns (model, X, y, losses, accuracy);
    ``progress(epoch, loss, accuracy)`` is called after each epoch."""
    import numpy as np

    import nn
    from autodiff.batched import batch, batch_columns
    from nn.data import make_moons

    X, y = make_moons(samples, noise=noise, rng=seed)
    # The fastest mode (docs/benchmarks.md): fused neurons, and one graph over the whole data set.
    model = nn.MLP(2, [*hidden, 1], rng=seed, fused=True)
    opt = nn.SGD(model.parameters(), lr=lr)
    xs, labels = batch_columns(X), batch(2 * y - 1)  # hinge wants ±1

    def evaluate() -> tuple[Value, float]:
        scores = model(xs)
        loss = nn.mean(nn.hinge(scores, [labels])) + nn.l2(model.weights(), lam)
        accuracy = float(np.mean((scores[0].data > 0) == (y > 0)))
        return loss, accuracy

    losses = []
    for k in range(epochs):
        loss, accuracy = evaluate()
        opt.zero_grad()
        loss.backward()
        opt.lr = lr * (1 - 0.9 * k / epochs)
        opt.step()
        losses.append(loss.data)
        if progress is not None:
            progress(k + 1, loss.data, accuracy)
    loss, accuracy = evaluate()
    losses.append(loss.data)
    return model, X, y, losses, accuracy


def model_scores(model, points):
    """The model's first output for many points at once: one batched forward pass (no graph kept)."""
    from autodiff.batched import batch_columns

    return model(batch_columns(points))[0].data


def plot_moons(model, X, y, losses, path: Path) -> None:
    """Decision boundary (left) and loss per epoch (right), as a PNG."""
    try:
        import matplotlib
    except ImportError:
        raise CommandError("the plot needs matplotlib: pip install 'deltagrad[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 150), np.linspace(lo[1], hi[1], 150))
    scores = model_scores(model, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    left.contourf(gx, gy, scores > 0, levels=[-0.5, 0.5, 1.5], colors=["#ffd8a8", "#a5d8ff"], alpha=0.8)
    left.contour(gx, gy, scores, levels=[0.0], colors="k", linewidths=1)
    left.scatter(X[:, 0], X[:, 1], c=np.where(y > 0, "#1864ab", "#d9480f"), s=18, edgecolors="white",
                 linewidths=0.5)
    left.set_title("decision boundary (score = 0)")
    right.plot(range(len(losses)), losses, color="#5f3dc4")
    right.set_xlabel("epoch")
    right.set_ylabel("loss (hinge + L2)")
    right.set_yscale("log" if min(losses) > 0 else "linear")
    right.set_title("training loss")
    fig.tight_layout()
    buffer = io.BytesIO()  # rendered in memory, then written atomically
    try:
        fig.savefig(buffer, format="png", dpi=110)
    finally:
        plt.close(fig)
    write_atomic(path, buffer.getvalue())


def cmd_train(args: argparse.Namespace) -> int:
    hidden = _widths(args.hidden)
    for flag, value, low in (("--epochs", args.epochs, 1), ("--samples", args.samples, 2)):
        if value < low:
            raise CommandError(f"{flag} must be at least {low}, got {value}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise CommandError(f"--lr must be a number > 0, got {args.lr}")
    if not (math.isfinite(args.noise) and args.noise >= 0 and math.isfinite(args.l2) and args.l2 >= 0):
        raise CommandError("--noise and --l2 must be numbers >= 0")
    out = _output(args.output, (".png",)) if args.output else None
    if out is not None:
        try:
            import matplotlib  # noqa: F401  (fail before training, not after)
        except ImportError:
            raise CommandError("-o needs matplotlib for the plot: pip install 'deltagrad[plot]'") from None
    print(f"training MLP(2, {[*hidden, 1]}) on {args.samples} points of two moons for {args.epochs} "
          f"epochs (hinge loss + L2 {args.l2:g}, SGD lr {args.lr:g} decaying, seed {args.seed})")
    model, X, y, losses, accuracy = _train_with_bar(args, hidden)
    print(f"after {args.epochs} epochs: loss {losses[-1]:.4f}, accuracy {accuracy:.1%}")
    if out is not None:
        plot_moons(model, X, y, losses, out)
        print(f"wrote {out}")
    return 0


def _train_with_bar(args: argparse.Namespace, hidden: list[int]):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("epoch"), MofNCompleteColumn(), BarColumn(),
               TextColumn("loss {task.fields[loss]:.4f}  accuracy {task.fields[accuracy]:.0%}"),
               TimeElapsedColumn()]
    console = Console(stderr=True)
    with Progress(*columns, console=console, disable=args.quiet, transient=False) as bar:
        task = bar.add_task("train", total=args.epochs, loss=float("nan"), accuracy=0.0)
        return train_moons(epochs=args.epochs, hidden=hidden, lr=args.lr, seed=args.seed,
                           samples=args.samples, noise=args.noise, lam=args.l2,
                           progress=lambda k, lo, acc: bar.update(task, completed=k, loss=lo, accuracy=acc))


# ---- demo ---------------------------------------------------------------------------------------

def _heading(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


class _Tour:
    """The demo's parts: each is headed, and one whose piece is not installed is skipped with the reason,
    one that fails with a bug is reported and the tour goes on (exit 1 at the end)."""

    def __init__(self) -> None:
        self.missing: list[str] = []
        self.failed: list[str] = []

    @contextlib.contextmanager
    def part(self, title: str):
        _heading(title)
        try:
            yield
        except CommandError as e:
            self.missing.append(str(e))
            print(f"skipped: {e}")
        except Exception as e:  # a bug in another piece: say so, finish the tour, exit 1
            self.failed.append(f"{type(e).__name__}: {e}")
            print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)


def cmd_demo(args: argparse.Namespace) -> int:
    folder = _folder(args.out, "--out")
    expr, values = NEURON
    pairs = [f"{k}={v!r}" for k, v in values.items()]
    tour = _Tour()

    _heading("1. the classic neuron and its gradients")
    print(f"$ deltagrad grad \"{expr}\" {' '.join(pairs)}\n")
    parsed = _parse(expr, pairs)
    parsed.root.backward()
    print(grad_report(parsed, expr))

    with tour.part("2. its diagram"):
        render = _need("viz.draw", "render", "drawing diagrams")
        print(f"wrote {_render(render, parsed.root, folder / 'neuron.svg')}")

    with tour.part("3. the step-through, in a page"):
        step_html = _need("viz.step_html", "step_html", "the HTML stepper")
        _need("viz.draw", "draw", "the HTML stepper's diagram")
        try:
            page = step_html(_parse(expr, pairs).root, folder / "neuron_stepper.html")
        except RuntimeError as e:  # viz.draw.RenderError
            raise CommandError(str(e)) from None
        print(f"wrote {page.path} ({len(page.walkthrough)} frames): open it, then ← → step through")
        from autodiff import backward_steps
        for step in list(backward_steps(_parse(expr, pairs).root))[:2]:
            print(step)
        print("...")

    with tour.part("4. document 004's equations against the engine"):
        compare_document = _need("nn", "compare_document", "the closed-form comparison")
        print(compare_document("004", rng=args.seed))

    _heading("5. a short training on two moons")
    train = argparse.Namespace(epochs=args.epochs, hidden="16,16", lr=1.0, seed=args.seed, samples=100,
                               noise=0.1, l2=1e-4, quiet=args.quiet, output=None)
    try:
        import matplotlib  # noqa: F401
        train.output = str(folder / "moons.png")
    except ImportError:
        print("(no plot: pip install 'deltagrad[plot]' for matplotlib)")
    cmd_train(train)

    print(f"\nthe files are in {folder}/")
    if tour.missing:
        print(f"{len(tour.missing)} part(s) skipped (not available yet in this version)")
    if tour.failed:
        print(f"{len(tour.failed)} part(s) FAILED (see above); please report it", file=sys.stderr)
    return 1 if tour.failed else 0


# ---- playground ---------------------------------------------------------------------------------

PLAYGROUND = Path(__file__).resolve().parent.parent / "playground"

# Sent with every file, the worker's included: a program can reach nothing but this server (connect-src,
# so `js.fetch` from Python is refused by the browser), WebAssembly may compile ('wasm-unsafe-eval'), and
# the stepper page (an iframe's srcdoc, which inherits this policy) may run its inline script and style.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; "
                           "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                           "object-src 'none'; base-uri 'none'; form-action 'none'")


def playground_server(folder: Path = PLAYGROUND, port: int = 8765):
    """An HTTP server for the playground folder on 127.0.0.1 (loopback only; ``port`` 0 picks a free
    port), serving .mjs as JavaScript and .wasm as WebAssembly; call ``serve_forever()`` on it.  Raises
    CommandError when the folder or its vendor/ (made by `make playground`) is missing, or when
    vendor/ is not usable (deltagrad.playground.vendor_problem: no snapshot, or built from other source)."""
    import functools
    import http.server

    from deltagrad.playground import vendor_problem

    folder = Path(folder)
    if not (folder / "index.html").is_file():
        raise CommandError(f"no playground at {folder}: it lives in deltagrad's source checkout "
                           "(the playground/ folder); run this command from one")
    problem = vendor_problem(folder)
    if problem is not None:
        raise CommandError(problem)

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                          ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
                          ".json": "application/json", ".whl": "application/zip"}

        # One connection for all the files (HTTP/1.1 keep-alive: every response has a Content-Length).
        protocol_version = "HTTP/1.1"

        def end_headers(self):
            # A revisit asks again and gets 304 Not Modified (Last-Modified, If-Modified-Since): the
            # browser then reuses what it cached, the compiled WebAssembly too, and a rebuilt vendor/ is
            # never served stale.
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            super().end_headers()

        def list_directory(self, path):  # a folder without index.html is not listed
            self.send_error(404, "Not Found")

        def log_message(self, format, *args):  # quiet: one line per request would drown the URL
            pass

    handler = functools.partial(Handler, directory=str(folder))
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as e:
        raise CommandError(f"cannot listen on 127.0.0.1:{port}: {e.strerror}; pick another --port "
                           "(0 for any free one)") from None


def cmd_playground(args: argparse.Namespace) -> int:
    server = playground_server(Path(args.dir), args.port)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"the playground is at {url}  (Ctrl+C stops it)", flush=True)
    if not args.no_browser:
        import webbrowser
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


# ---- the parser ---------------------------------------------------------------------------------

def _expression_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("expr", metavar="EXPR", help='the expression, quoted: "tanh(x*w + b)"')
    p.add_argument("values", metavar="name=value", nargs="*", default=[],
                   help="a number for each input name, e.g. x1=2 w1=-3")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="deltagrad: gradients, diagrams and step-through of scalar "
                     "expressions from the shell; checks of backpropagation's closed-form equations; "
                     "a demo network.", epilog=GRAMMAR, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    raw = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser("grad", help="the value and every input's gradient", epilog=GRAMMAR,
                       formatter_class=raw, description="Compute the expression and its gradient with "
                       "respect to every named input (and every named intermediate node).")
    _expression_args(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--digits", type=_digits, default=6, help="significant digits shown, 1 to 17 (default 6)")
    p.set_defaults(run=cmd_grad)

    p = sub.add_parser("draw", help="the graph as a diagram (.svg .png .pdf .dot)", epilog=GRAMMAR,
                       formatter_class=raw, description="Draw the expression's graph after the "
                       "backward pass, with values and gradients on its nodes.")
    _expression_args(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write; the suffix "
                   "picks the format: .svg .png .pdf .dot")
    p.add_argument("--rankdir", choices=("LR", "TB"), default="LR", help="left to right (default) or "
                   "top to bottom")
    p.add_argument("--show-local", action="store_true", help="label each edge with its local derivative")
    p.add_argument("--no-grad", action="store_true", help="do not show gradients")
    p.add_argument("--no-backward", action="store_true", help="draw before any backward pass (gradients "
                   "shown as not computed)")
    p.add_argument("--no-legend", action="store_true", help="leave out the legend of node roles")
    p.add_argument("--max-nodes", type=int, default=300, help="refuse bigger graphs (default 300)")
    p.add_argument("--highlight", nargs="+", metavar="NAME", default=[], help="names to emphasise")
    p.add_argument("--precision", type=int, default=None, help="digits shown for numbers")
    p.add_argument("--preset", choices=("slide",), default=None, help="slide: 16:9 and large type, "
                   "for presentations")
    p.set_defaults(run=cmd_draw)

    p = sub.add_parser("step", help="step through the forward and backward pass", epilog=GRAMMAR,
                       formatter_class=raw, description=STEP_KEYS)
    _expression_args(p)
    p.add_argument("--plain", action="store_true", help="print every step instead of stepping")
    p.add_argument("--html", metavar="FILE", help="write the HTML stepper page instead")
    p.add_argument("--predict", action="store_true", help="with --html: ask for each gradient first")
    p.add_argument("--frames", metavar="DIR", help="write one slide (16:9) per step into DIR, and pass.gif "
                   "of the whole pass")
    p.add_argument("--format", choices=("svg", "png"), default="svg", help="with --frames: the slides' "
                   "format (default svg)")
    p.add_argument("--no-gif", action="store_true", help="with --frames: no animated GIF")
    p.set_defaults(run=cmd_step)

    p = sub.add_parser("check", help="the documents' closed-form equations against the engine",
                       description="Run each document's closed-form backpropagation equations and the "
                       "engine on random networks and print them side by side. Exit status 0 when they "
                       "agree, 1 when not.")
    p.add_argument("--doc", choices=(*DOCUMENTS, "all"), default="all", help="which document (default all)")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the random networks (default 0)")
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("verify", help="check a hand-derived derivative against the engine", epilog=GRAMMAR,
                       formatter_class=raw, description="Check a derivative typed as a formula (the same "
                       "expression language) against the engine's, at the given point and at many seeded "
                       "random points. Exit status 0 when they agree, 1 when not (a point where they "
                       "differ is printed with both numbers).")
    _expression_args(p)
    p.add_argument("--wrt", required=True, metavar="NAME", help="the input to differentiate by; x,y for "
                   "the mixed partial d²f/dxdy")
    p.add_argument("--derivative", required=True, metavar="FORMULA", help='your derivative, quoted: '
                   '"1 - tanh(x)**2"; one that starts with - is written --derivative="-sin..."')
    p.add_argument("--order", type=int, default=None, help="differentiate this many times by the one "
                   "--wrt name (2: the second derivative)")
    p.add_argument("--points", type=int, default=200, help="random points besides the given one "
                   "(default 200)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random points (default 0)")
    p.add_argument("--range", action="append", default=[], metavar="NAME=LOW:HIGH", help="where to draw "
                   "an input (default -3:3); points outside the domain are skipped")
    p.add_argument("--rtol", type=float, default=1e-7, help="relative tolerance (default 1e-7)")
    p.add_argument("--atol", type=float, default=1e-9, help="absolute tolerance (default 1e-9)")
    p.set_defaults(run=cmd_verify)

    p = sub.add_parser("exercise", help="a problem sheet with its answer key and a stepper page",
                       description="Write a backpropagation exercise: a small network with numbers, an "
                       "input and a target, and questions (every forward value, δ, gradient, one update "
                       "step) as Markdown and HTML; the answer key, computed by the engine and checked "
                       "against the document's closed form; and the predict-mode stepper page. The same "
                       "seed gives the same sheet.")
    p.add_argument("--doc", choices=DOCUMENTS, default=None, help="a document's network (004: 2-3-2)")
    p.add_argument("--net", metavar="WIDTHS", default=None, help="layer widths, e.g. 2-3-2 (each 1 to 6)")
    p.add_argument("--activation", choices=("sigmoid", "relu"), default=None, help="with --net: hidden "
                   "activation (default sigmoid)")
    p.add_argument("--loss", choices=("squared_error", "binary_cross_entropy", "cross_entropy"),
                   default=None, help="with --net: the loss (default squared_error)")
    p.add_argument("--seed", type=int, default=0, help="seed of the numbers (default 0)")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate of the update step (default 0.5)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the files")
    p.set_defaults(run=cmd_exercise)

    p = sub.add_parser("train", help="train a small network on a toy data set",
                       description="Train MLP(2, [hidden..., 1]) on two moons with the hinge loss, "
                       "printing progress and the accuracy; -o writes a plot (needs matplotlib).")
    p.add_argument("dataset", choices=("moons",), help="the data set (moons)")
    p.add_argument("--epochs", type=int, default=40, help="full-batch steps (default 40)")
    p.add_argument("--hidden", default="16,16", help="hidden layer widths (default 16,16)")
    p.add_argument("--lr", type=float, default=1.0, help="initial learning rate (default 1.0, decays "
                   "linearly to 0.1 of it)")
    p.add_argument("--seed", type=_seed, default=1, help="seed of the data and the weights (default 1)")
    p.add_argument("--samples", type=int, default=100, help="number of points (default 100)")
    p.add_argument("--noise", type=float, default=0.1, help="noise of the moons (default 0.1)")
    p.add_argument("--l2", type=float, default=1e-4, help="L2 regularisation λ (default 1e-4)")
    p.add_argument("-o", "--output", metavar="PLOT.png", help="write the decision boundary and loss curve")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("demo", help="the tour: gradients, diagram, stepper, a check, a training",
                       description="A short tour of deltagrad (what `make demo` runs); files are "
                       "written to a folder.")
    p.add_argument("--out", default="deltagrad-demo", metavar="DIR", help="folder for the files "
                   "(default ./deltagrad-demo)")
    p.add_argument("--epochs", type=int, default=40, help="epochs of the moons training (default 40)")
    p.add_argument("--seed", type=_seed, default=1, help="seed (default 1)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("playground", help="serve the in-browser playground on 127.0.0.1 and open it",
                       description="Serve the playground (the engine in your browser, via Pyodide) on "
                       "127.0.0.1 only, and open it in the browser. Needs `make playground` once.")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--no-browser", action="store_true", help="only print the address")
    p.add_argument("--dir", default=str(PLAYGROUND), help="the playground folder (default: the checkout's)")
    p.set_defaults(run=cmd_playground)
    return parser


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """Turn SIGTERM (a plain `kill`) into SystemExit(143) while a command runs, so that `finally`
    blocks run: a file being written loses its temporary file, not the user's old file."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _silence_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's final flush into the closed pipe does
    not print "Exception ignored ... BrokenPipeError" (Python's documented recipe, docs: signal)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced (a test's capture): nothing to do
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 `check` disagrees, 2 bad input, 141 the
    reader of the output closed the pipe, as a tool stopped by SIGPIPE)."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        # name=value pairs may also follow the options (deltagrad verify EXPR --wrt x ... x=2)
        if extra and hasattr(args, "values") and all("=" in e and not e.startswith("-") for e in extra):
            args.values += extra
        elif extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as e:  # --help (0) or a usage error (2), already printed by argparse
        return e.code if isinstance(e.code, int) else 2
    try:
        with _terminate_cleanly():
            return args.run(args)
    except (CommandError, ValueError, ArithmeticError) as e:  # ExpressionError is a ValueError
        message = str(e)
    except BrokenPipeError:  # the reader left (`| head -1`): stop quietly, as other command-line tools do
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the closed pipe
    except OSError as e:
        message = f"cannot write {e.filename}: {e.strerror}" if e.filename else str(e)
    except MemoryError:
        message = ("out of memory; make the problem smaller (fewer or narrower --hidden layers, fewer "
                   "--samples, a shorter expression)")
    except KeyboardInterrupt:
        return 130
    print(f"{PROG} {args.command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
