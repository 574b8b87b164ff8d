"""The classic single neuron o = tanh(x1 w1 + x2 w2 + b), its backward pass, and every gradient.

    python examples/neuron.py
Then the same neuron as an `nn.Neuron`, whose parameters get the same gradients.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import nn  # noqa: E402
from autodiff import Value, topological_order  # noqa: E402

B = 6.8813735870195432  # n = atanh(1/√2), so o = 1/√2 and do/dn = 1 - o² = 1/2


def named(v: Value, label: str) -> Value:
    v.label = label
    return v


def main() -> dict[str, Value]:
    """Build the neuron, run backward, print every node's value and gradient; return them by label."""
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(B, "b")
    x1w1 = named(x1 * w1, "x1w1")
    x2w2 = named(x2 * w2, "x2w2")
    n = named(named(x1w1 + x2w2, "x1w1+x2w2") + b, "n")
    o = named(n.tanh(), "o")
    o.backward()

    print("o = tanh(x1*w1 + x2*w2 + b)")
    nodes = {v.label: v for v in reversed(topological_order(o))}
    for label, v in nodes.items():
        print(f"  {label:>10}  data = {v.data: .6f}   grad = {v.grad: .6f}")

    neuron = nn.Neuron(2, "tanh")
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = -3.0, 1.0, B
    neuron([2.0, 0.0]).backward()
    print("nn.Neuron(2, 'tanh') with the same weights:  "
          + "   ".join(f"{name}.grad = {p.grad:.6f}" for name, p in neuron.named_parameters()))
    return nodes


if __name__ == "__main__":
    main()
