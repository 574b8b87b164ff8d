"""Train MLP(2, [16, 16, 1]) on 100 points of two moons: hinge loss plus L2, full-batch SGD with a
decaying learning rate (as micrograd's demo does), and a progress bar showing loss and accuracy.

    python examples/moons.py                       # 40 steps, well under a second: 100% on seed 1
    python examples/moons.py --steps 100 --seed 4  # some seeds need more steps (micrograd's demo runs 100)
    python examples/moons.py --mode eager          # the graph micrograd builds, one node per operation

Modes (the same numbers; docs/benchmarks.md measures them): "batched" (default) evaluates one graph
over all the points at once with fused neurons; "fused" builds one graph per point with one node per
neuron's Σ w x + b; "eager" builds one node per scalar operation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import nn  # noqa: E402
from autodiff import Value  # noqa: E402
from autodiff.batched import batch, batch_columns  # noqa: E402
from nn.data import make_moons  # noqa: E402

MODES = ("batched", "fused", "eager")


def main(steps: int = 40, seed: int = 1, n: int = 100, lam: float = 1e-4, progress: bool = True,
         mode: str = "batched") -> dict[str, float]:
    """Train and return the final ``{"loss": ..., "accuracy": ..., "steps": ...}``.

    loss = mean_i hinge(model(x_i), y_i) + λ/2 Σ w²;  lr_k = 1 − 0.9 k / steps.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    X, y = make_moons(n, noise=0.1, rng=seed)
    model = nn.MLP(2, [16, 16, 1], rng=seed, fused=mode != "eager")
    opt = nn.SGD(model.parameters(), lr=1.0)
    xs, targets = batch_columns(X), batch(2 * y - 1)  # hinge wants ±1
    rows, labels = X.tolist(), (2 * y - 1).tolist()

    def evaluate() -> tuple[Value, float]:
        if mode == "batched":  # one graph over every point; nn.mean reduces over the examples
            scores = model(xs)[0]
            loss = nn.mean(nn.hinge([scores], [targets]))
            accuracy = float(((scores.data > 0) == (y > 0)).mean())
        else:
            scores = [model(x)[0] for x in rows]
            loss = nn.mean([nn.hinge(s, t) for s, t in zip(scores, labels, strict=True)])
            accuracy = sum((s.data > 0) == (t > 0) for s, t in zip(scores, labels, strict=True)) / len(rows)
        return loss + nn.l2(model.weights(), lam), accuracy

    def train(advance) -> tuple[float, float]:
        for k in range(steps):
            loss, accuracy = evaluate()
            opt.zero_grad()
            loss.backward()
            opt.lr = 1.0 - 0.9 * k / steps
            opt.step()
            advance(loss.data, accuracy)
        loss, accuracy = evaluate()                  # after the last update
        return loss.data, accuracy

    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        columns = [TextColumn("moons"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("loss {task.fields[loss]:.4f}  accuracy {task.fields[accuracy]:.0%}"),
                   TimeElapsedColumn()]
        with Progress(*columns) as bar:
            task = bar.add_task("train", total=steps, loss=float("nan"), accuracy=0.0)
            loss, accuracy = train(lambda lo, acc: bar.update(task, advance=1, loss=lo, accuracy=acc))
        print(f"after {steps} steps: loss {loss:.4f}, accuracy {accuracy:.0%}")
    else:
        loss, accuracy = train(lambda lo, acc: None)
    return {"loss": loss, "accuracy": accuracy, "steps": steps}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mode", choices=MODES, default="batched")
    args = parser.parse_args()
    main(steps=args.steps, seed=args.seed, mode=args.mode)
