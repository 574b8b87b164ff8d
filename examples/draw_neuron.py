"""The classic neuron's diagram after backward: o = tanh(x1 w1 + x2 w2 + b), each value with its data
and grad, each edge with its local derivative. With --mlp, also a small MLP's diagram with a cluster per
neuron (and, with --collapsed, the same MLP drawn one box per neuron).

    python examples/draw_neuron.py                      # writes neuron.svg in the current directory
    python examples/draw_neuron.py neuron.png --mlp mlp.svg --collapsed mlp_collapsed.svg
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from autodiff import Value
from viz import render


def classic_neuron() -> Value:
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")     # chosen so that n = 0.8814 and o = tanh(n) = 1/√2
    x1w1 = x1 * w1; x1w1.label = "x1·w1"
    x2w2 = x2 * w2; x2w2.label = "x2·w2"
    n = x1w1 + x2w2 + b; n.label = "n"
    o = n.tanh(); o.label = "o"
    return o


def small_mlp_loss():
    """MLP(2, [3, 1]) with tanh hidden units, one input, and the squared error against 1."""
    from nn import MLP

    model = MLP(2, [3, 1], activation="tanh", rng=random.Random(0))
    y = model([Value(2.0, "x0"), Value(-1.0, "x1")])[0]
    loss = (y - 1.0) ** 2; loss.label = "loss"
    return model, loss


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default=Path("neuron.svg"), type=Path,
                        help="where to write the neuron (.svg .png .pdf .dot; default neuron.svg here)")
    parser.add_argument("--mlp", type=Path, help="also write a small MLP's diagram here")
    parser.add_argument("--collapsed", type=Path, help="also write the MLP with one box per neuron here")
    args = parser.parse_args(argv)

    o = classic_neuron()
    o.backward()
    print(f"wrote {render(o, args.output, show_local=True)}   (o = {o.data:.4f})")
    if args.mlp or args.collapsed:
        model, loss = small_mlp_loss()
        loss.backward()
        if args.mlp:
            print(f"wrote {render(loss, args.mlp, parameters=model.parameters())}")
        if args.collapsed:
            print(f"wrote {render(loss, args.collapsed, collapse='neuron')}")


if __name__ == "__main__":
    main()
