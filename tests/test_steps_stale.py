"""forward_steps on a graph whose leaf was set by hand after it was built: the nodes keep the values
they were built with (backward() uses them), so a step's recomputed result can differ from the number
the next step reads. A fresh tester saw `v2 = 0.3 × 0.7 → 0.21` then `v2 + v3 = -0.36 + 0.5` with no word
said; now such steps say what the graph holds and one StaleGraphWarning names the first."""

import warnings

import numpy as np
import pytest

import nn
from autodiff import Value, forward_steps
from autodiff.steps import StaleGraphWarning


def neuron_graph():
    x, w = Value(0.3, "x"), Value(-1.2, "w")
    return x, w, (x * w + 0.5).tanh() * w


def test_a_leaf_set_after_building_is_said_in_the_steps_and_warned_once():
    x, w, o = neuron_graph()
    w.data = 0.7
    with pytest.warns(StaleGraphWarning) as caught:
        steps = [str(s) for s in forward_steps(o)]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith("forward_steps: v2 (mul) holds -0.36 but its inputs now give 0.21")
    assert "Build the graph again" in message
    assert steps[0] == ("step 1/4  mul: v2 = x × w = 0.3 × 0.7 → 0.21 (the graph holds -0.36, computed "
                        "before a leaf's .data was set)")
    assert steps[1] == "step 2/4  add: v4 = v2 + v3 = -0.36 + 0.5 → 0.14"    # as backward() reads v2
    assert steps[3].endswith("→ 0.0974 (the graph holds -0.1669, computed before a leaf's .data was set)")
    assert w.data == 0.7 and o.data == pytest.approx(-0.1669, abs=1e-4)


def test_a_leaf_set_back_to_its_value_or_a_fresh_graph_says_nothing():
    x, w, o = neuron_graph()
    w.data = np.float32(-1.2)       # not the same float: -1.2000000476837158
    with pytest.warns(StaleGraphWarning):
        list(forward_steps(o))
    w.data = -1.2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(s.agrees and "graph holds" not in str(s) for s in forward_steps(o))


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("batched", [False, True])
def test_the_readme_networks_made_a_layer_at_a_time_agree_to_rounding(fused, batched):
    # a layer made at once sums in another order than one node's forward: no warning for rounding
    from autodiff.batched import batch, batch_columns
    from nn.data import make_moons
    X, y = make_moons(8, noise=0.1, rng=1)
    m = nn.MLP(2, [16, 16, 1], rng=1, fused=fused)
    if batched:
        scores = m(batch_columns(X))
        loss = nn.mean(nn.hinge(scores, [batch(2 * y - 1.0)])) + nn.l2(m.weights(), 1e-4)
    else:
        hinges = [nn.hinge(m(x)[0], 2 * t - 1) for x, t in zip(X, y, strict=True)]
        loss = nn.mean(hinges) + nn.l2(m.weights(), 1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        steps = list(forward_steps(loss))
    assert steps and all(s.agrees for s in steps)
    m.parameters()[0].data += 0.25
    with pytest.warns(StaleGraphWarning, match="^forward_steps: "):
        list(forward_steps(loss))
