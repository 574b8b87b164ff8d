"""Write the HTML stepper for the classic neuron o = tanh(x1 w1 + x2 w2 + b) and print its steps.

    python examples/step_neuron.py                   # writes step_neuron.html
    python examples/step_neuron.py out.html --predict
Open the file in a browser: ← → step through the forward, then the backward pass.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from autodiff import Value, backward_steps, forward_steps  # noqa: E402
from viz import step_html  # noqa: E402


def neuron() -> Value:
    """x1 = 2, x2 = 0, w1 = -3, w2 = 1 and b chosen so that n = atanh(1/√2): o = 1/√2, do/dn = 1/2."""
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    x1w1 = x1 * w1; x1w1.label = "x1w1"
    x2w2 = x2 * w2; x2w2.label = "x2w2"
    s = x1w1 + x2w2; s.label = "x1w1x2w2"
    n = s + b; n.label = "n"
    o = n.tanh(); o.label = "o"
    return o


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="step_neuron.html", help="where to write the page")
    parser.add_argument("--predict", action="store_true", help="ask for each gradient before showing it")
    args = parser.parse_args(argv)

    shown = neuron()
    for step in forward_steps(shown):
        print(step)
    for step in backward_steps(shown):
        print(step)
    page = step_html(neuron(), args.path, predict=args.predict)
    print(f"wrote {page.path} ({len(page.walkthrough)} frames); open it in a browser")
    return 0


if __name__ == "__main__":
    sys.exit(main())
