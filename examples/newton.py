"""Gradient descent and Newton's method side by side on a two-parameter loss, with the Hessian from
second derivatives (`autodiff.grad(..., create_graph=True)`); a plot of both paths over the loss contours.

    python examples/newton.py                  # prints the steps each method needs, writes newton.png
    python examples/newton.py -o paths.png --lr 0.7 --start 1.5 -3

The loss is a logistic regression of 8 points with two parameters, a weight w and a bias b:

    L(w, b) = (1/N) Σ_i [log(1 + e^(z_i)) − y_i z_i] + λ (w² + b²),   z_i = w x_i + b

A gradient step moves by −lr ∇L. A Newton step solves H d = −∇L with the Hessian H = ∇²L and moves by d:
it is exact for a quadratic and, near the minimum, doubles the number of correct digits each step.
Far from the minimum pure Newton can overshoot (try --start 2 2): the script says so when it does.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from autodiff import Value, exp, grad, log  # noqa: E402
from autodiff.files import write_atomic  # noqa: E402

X = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5]
Y = [0, 0, 1, 0, 1, 0, 1, 1]
LAM = 0.02
NEWTON_MAX_STEPS = 50  # Newton converges in a handful of steps or not at all


def loss(w, b):
    """L(w, b) on Values (a graph to differentiate) or on plain floats (for the contour plot)."""
    total = 0.0
    for x, y in zip(X, Y, strict=True):
        z = w * x + b
        total = total + log(1 + exp(z)) - y * z
    return total * (1 / len(X)) + LAM * (w * w + b * b)


def gradient(w: float, b: float) -> tuple[float, list[float]]:
    """L and ∇L = [∂L/∂w, ∂L/∂b] at (w, b)."""
    W, B = Value(w, "w"), Value(b, "b")
    out = loss(W, B)
    return out.data, list(grad(out, [W, B]))


def gradient_and_hessian(w: float, b: float) -> tuple[float, list[float], list[list[float]]]:
    """L, ∇L and H at (w, b): ∇L built as a graph, then each row of H is the gradient of one entry."""
    W, B = Value(w, "w"), Value(b, "b")
    out = loss(W, B)
    g = grad(out, [W, B], create_graph=True)
    return out.data, [gi.data for gi in g], [list(grad(gi, [W, B])) for gi in g]


def newton_direction(g: list[float], H: list[list[float]]) -> tuple[float, float]:
    """d with H d = −g, by Cramer's rule for a 2 × 2 matrix."""
    (a, c), (c2, d) = H
    det = a * d - c * c2
    if det == 0:
        raise ZeroDivisionError("the Hessian is singular here: no Newton step")
    return (-(d * g[0] - c * g[1]) / det, -(a * g[1] - c2 * g[0]) / det)


@dataclass
class Run:
    """The path of one method: the points visited, the loss and |∇L| at each, and how it ended."""
    name: str
    path: list[tuple[float, float]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    gradient_norms: list[float] = field(default_factory=list)
    status: str = ""

    @property
    def steps(self) -> int:
        return len(self.path) - 1

    @property
    def converged(self) -> bool:
        return self.status == "converged"


def descend(name: str, start: tuple[float, float], tol: float, max_steps: int, newton: bool,
            lr: float = 0.5) -> Run:
    """Step from ``start`` until |∇L| < tol: by −lr ∇L, or by the Newton direction."""
    run = Run(name)
    w, b = start
    for _ in range(max_steps + 1):
        try:
            if newton:
                value, g, H = gradient_and_hessian(w, b)
            else:
                value, g = gradient(w, b)
        except OverflowError as e:
            run.status = f"diverged ({e})"
            return run
        run.path.append((w, b))
        run.losses.append(value)
        run.gradient_norms.append(math.hypot(*g))
        if run.gradient_norms[-1] < tol:
            run.status = "converged"
            return run
        if newton:
            try:
                dw, db = newton_direction(g, H)
            except ZeroDivisionError as e:
                run.status = f"stopped: {e}"
                return run
        else:
            dw, db = -lr * g[0], -lr * g[1]
        w, b = w + dw, b + db
    run.status = f"not converged after {max_steps} steps"
    if newton:
        run.status += " (pure Newton overshoots from this start; start nearer the minimum)"
    return run


def plot(runs: list[Run], path: Path) -> bool:
    """Draw both paths over the contours of L and write the picture; False when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    points = [p for run in runs for p in run.path if max(abs(p[0]), abs(p[1])) < 50]
    ws, bs = [p[0] for p in points], [p[1] for p in points]
    pad_w, pad_b = 0.15 * (max(ws) - min(ws)) + 0.3, 0.15 * (max(bs) - min(bs)) + 0.3
    grid_w = np.linspace(min(ws) - pad_w, max(ws) + pad_w, 90)
    grid_b = np.linspace(min(bs) - pad_b, max(bs) + pad_b, 90)
    Z = np.array([[loss(float(w), float(b)) for w in grid_w] for b in grid_b])
    low = min(Z.min(), *(run.losses[-1] for run in runs))
    levels = low + np.geomspace(1e-3, Z.max() - low, 24)

    fig, ax = plt.subplots(figsize=(7, 5))
    ax.contour(grid_w, grid_b, Z, levels=levels, cmap="viridis", linewidths=0.8)
    styles = {False: dict(marker=".", markersize=3, linewidth=1.0, color="tab:blue"),
              True: dict(marker="o", markersize=6, linewidth=1.8, color="tab:red")}
    for run in runs:
        label = f"{run.name}: {run.steps} steps" + ("" if run.converged else f", {run.status}")
        ax.plot([p[0] for p in run.path], [p[1] for p in run.path], label=label,
                **styles[run.name.startswith("Newton")])
    ax.plot(*runs[0].path[0], "ks", label="start")
    ax.set_xlabel("w (weight)")
    ax.set_ylabel("b (bias)")
    ax.set_title("Gradient descent and Newton's method on a logistic loss")
    ax.legend(loc="best", fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()  # rendered in memory, then written atomically
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    write_atomic(path, buffer.getvalue())
    return True


def main(argv: list[str] | None = None) -> dict[str, Run]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("newton.png"),
                        help="where to write the plot (default: newton.png in the current directory)")
    parser.add_argument("--lr", type=float, default=0.5, help="gradient descent's learning rate")
    parser.add_argument("--start", type=float, nargs=2, default=(-1.0, 2.0), metavar=("W", "B"))
    parser.add_argument("--tol", type=float, default=1e-8, help="stop when |∇L| is below this")
    parser.add_argument("--max-steps", type=int, default=5000)
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    start = tuple(args.start)

    runs = [descend("gradient descent", start, args.tol, args.max_steps, newton=False, lr=args.lr),
            descend("Newton", start, args.tol, min(args.max_steps, NEWTON_MAX_STEPS), newton=True)]
    print(f"L(w, b) = mean logistic loss of {len(X)} points + {LAM} (w² + b²); start (w, b) = {start}; "
          f"stop when |∇L| < {args.tol:g}\n")
    print(f"{'method':<26}{'steps':>7}  {'w':>10}  {'b':>10}  {'loss':>10}  status")
    for run in runs:
        w, b = run.path[-1] if run.path else start
        print(f"{run.name + (f' (lr {args.lr:g})' if run.name == 'gradient descent' else ''):<26}"
              f"{run.steps:>7}  {w:>10.6f}  {b:>10.6f}  {run.losses[-1] if run.losses else math.nan:>10.6f}  "
              f"{run.status}")
    newton = runs[1]
    print("\nNewton, step by step (|∇L| roughly squares each step near the minimum):")
    for k, ((w, b), value, norm) in enumerate(zip(newton.path, newton.losses, newton.gradient_norms,
                                                  strict=True)):
        if k == 10 and newton.steps > 11:
            print(f"  ... {newton.steps - 10} more")
            break
        print(f"  {k:>2}  w = {w:>10.6f}  b = {b:>10.6f}  L = {value:.10f}  |∇L| = {norm:.2e}")
    _, g, H = gradient_and_hessian(*start)
    print(f"\nAt the start: ∇L = [{g[0]:.4f}, {g[1]:.4f}],  H = [[{H[0][0]:.4f}, {H[0][1]:.4f}], "
          f"[{H[1][0]:.4f}, {H[1][1]:.4f}]]")
    if not args.no_plot:
        if plot(runs, args.output):
            print(f"wrote {args.output}")
        else:
            print("matplotlib is not installed: no plot (pip install matplotlib)")
    return {run.name: run for run in runs}


if __name__ == "__main__":
    main()
