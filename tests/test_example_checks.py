"""Every entry point taking ``example`` refuses one the graph does not hold, or that is not an int or
None, when called and in one set of words starting with its own name (issue 17, a fresh tester's item 1:
forward_steps gave numpy's IndexError when a step was printed, and quietly showed example 9 for -1)."""

import io
import re

import numpy as np
import pytest

import autodiff
import nn
import viz
from autodiff import Value
from autodiff.batched import batch, batch_columns
from autodiff.steps import backward_steps, format_backward_step
from nn.data import make_moons
from viz.examples import walkthrough


def batched_loss():
    X, y = make_moons(10, noise=0.1, rng=1)
    model = nn.MLP(2, [3, 1], rng=1, fused=True)
    return nn.mean(nn.hinge(model(batch_columns(X)), [batch(2 * y - 1)]))


def terminal(root, example):
    from rich.console import Console
    return viz.step_terminal(root, console=Console(file=io.StringIO(), width=80), interactive=False,
                             example=example)


ENTRIES = {   # the name each error starts with: the function the user called
    "forward_steps": lambda root, k: autodiff.forward_steps(root, example=k),
    "Walkthrough": lambda root, k: autodiff.Walkthrough(root, k),
    "walkthrough": lambda root, k: walkthrough(root, k),
    "step_html": lambda root, k: viz.HtmlStepper(root, example=k),
    "step_terminal": terminal,
    "show": lambda root, k: viz.show(root, example=k),
}
NOT_HELD = r"example {k} is not in the graph, which holds examples 0\.\.9; give one of those"
NOT_INT = (r"example must be an int{allowed} \(an integer numpy scalar such as np.int64\(3\) is fine, a "
           r"bool is not\), got ")


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("bad", [10, 11, -1, np.int64(-1), "3", 2.0, np.float64(2), True, np.True_, [1]])
def test_a_batched_graph_refuses_an_example_it_does_not_hold_at_every_entry(entry, bad, tmp_path):
    loss = batched_loss()
    datas = [n.data.copy() if hasattr(n.data, "copy") else n.data for n in autodiff.topological_order(loss)]
    allowed = " or None" if entry in ("forward_steps", "Walkthrough") else ", None or 'all'"
    if isinstance(bad, (int, np.integer)) and not isinstance(bad, (bool, np.bool_)):
        words = NOT_HELD.format(k=re.escape(str(int(bad))))
    else:
        words = NOT_INT.format(allowed=allowed) + re.escape(repr(bad))
    with pytest.raises(ValueError, match=f"^{entry}: {words}"):
        ENTRIES[entry](loss, bad)     # when called: forward_steps no longer waits for a step's print
    for node, data in zip(autodiff.topological_order(loss), datas, strict=True):
        assert np.array_equal(node.data, data)


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_example_a_batched_graph_holds_is_taken_at_every_entry(entry):
    loss = batched_loss()
    for k in (0, 9, np.int64(4)):
        ENTRIES[entry](loss, k)
    first = list(autodiff.forward_steps(loss, example=9))[0]
    assert str(first).endswith("→ " + autodiff.steps.fmt(first.result[9]))


def test_a_plain_graph_holds_one_example():
    y = Value(2.0, "x") * Value(3.0, "w")
    assert len(list(autodiff.forward_steps(y, example=0))) == 1
    for k in (1, -1):
        with pytest.raises(ValueError, match=rf"^forward_steps: example {k} is not in the graph, which holds "
                                             "one example"):
            autodiff.forward_steps(y, example=k)


def test_format_backward_step_checks_the_example_of_a_batched_step():
    steps = list(backward_steps(batched_loss()))
    step = next(s for s in steps if any(getattr(p.data, "ndim", 0) for p in s.parents))
    assert format_backward_step(step, 9).startswith("step ")
    for bad, words in [(10, NOT_HELD.format(k=10)), (-1, NOT_HELD.format(k=-1)),
                       ("3", NOT_INT.format(allowed=" or None") + "'3'"),
                       (True, NOT_INT.format(allowed=" or None") + "True")]:
        with pytest.raises(ValueError, match=f"^format_backward_step: {words}"):
            format_backward_step(step, bad)
    plain = list(backward_steps(Value(2.0) * Value(3.0)))[0]   # plain numbers: every example's
    assert format_backward_step(plain, 5) == format_backward_step(plain)
