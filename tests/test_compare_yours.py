"""`nn.compare(model, X, Y, closed_form=fn, loss=...)`: your own numpy backward pass against the engine.
A wrong sign, a transposed index and a missing activation derivative are each caught, and the table
names the first entry that differs with both numbers and its relative error."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from nn.comparison import compare


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def backprop(layers, X, Y, *, sign=1.0, transpose=False, slope=True):
    """Squared error, sigmoid everywhere; the keyword arguments plant the usual mistakes."""
    (W1, b1), (W2, b2) = layers
    m = len(X)
    h = sigmoid(X @ W1.T + b1)
    y = sigmoid(h @ W2.T + b2)
    d2 = (y - Y) * y * (1 - y)
    d1 = d2 @ (W2.T if transpose else W2)                # Σ_k W2[k, j] δ2_k, or the transposed W2[j, k]
    if slope:
        d1 = d1 * h * (1 - h)
    return {"grads": [(d1.T @ X / m, d1.mean(axis=0)), (sign * d2.T @ h / m, d2.mean(axis=0))],
            "deltas": [d1, d2], "loss": float((0.5 * (y - Y) ** 2).sum() / m)}


@pytest.fixture
def case():
    # 3-2-2: W2 is square, so a transposed index has the right shape and only the numbers show it
    model = nn.MLP(3, [2, 2], "sigmoid", "sigmoid", rng=1)
    gen = np.random.default_rng(0)
    return model, gen.normal(size=(2, 3)), gen.uniform(size=(2, 2))


def test_a_right_closed_form_agrees_entry_by_entry(case):
    model, X, Y = case
    result = compare(model, X, Y, closed_form=backprop, loss="squared_error")
    assert result.agree and result.first_disagreement is None
    assert len(result.deltas) == 2 * 4 and len(result.grads) == 2 * 4 + 2 * 3
    text = str(result)
    assert text.startswith("your closed form backprop against the engine")
    assert "W⁽²⁾[1,2]" in text and "δ⁽¹⁾₂" in text and "AGREE" in text and "<-- differs" not in text
    # the model holds the engine's gradients, and its parameters are untouched
    assert model.layers[1].neurons[0].w[1].grad == result.grads[9].engine


@pytest.mark.parametrize("mistake, first", [
    (dict(sign=-1.0), "layers.1.neurons.0.w.0"),
    (dict(transpose=True), "layers.0.neurons.0.z [0]"),
    (dict(slope=False), "layers.0.neurons.0.z [0]"),
])
def test_each_mistake_is_caught_and_located(case, mistake, first):
    model, X, Y = case
    result = compare(model, X, Y, closed_form=lambda *a: backprop(*a, **mistake), loss="squared_error")
    assert not result.agree and not result  # truthiness follows .agree, so `assert result` fails
    with pytest.raises(AssertionError):
        assert result
    row = result.first_disagreement
    assert row.name == first
    assert row.rel_diff > 1e-3
    line = str(result).splitlines()[-1]
    assert line == (f"first disagreement: {row.name} ({row.symbol}): engine {row.engine:+.16e}, "
                    f"closed form {row.closed:+.16e}, relative error {row.rel_diff:.1e}")


def test_only_gradients_is_enough_and_still_locates(case):
    model, X, Y = case

    def grads_only(layers, X, Y):
        return backprop(layers, X, Y, slope=False)["grads"]

    right = compare(model, X, Y, closed_form=lambda *a: backprop(*a)["grads"], loss="squared_error")
    assert right and right.agree and right.loss is None and right.deltas == []
    lines = str(right).splitlines()  # no empty loss or δ section: straight to the gradients
    assert lines[2] == "" and lines[3].startswith("gradients of the loss") and "δ =" not in str(right)
    wrong = compare(model, X, Y, closed_form=grads_only, loss="squared_error")
    assert wrong.first_disagreement.name == "layers.0.neurons.0.w.0"
    assert all(r.agrees() for r in wrong.grads[8:])        # the output layer is right


def test_cross_entropy_and_a_loss_function():
    model = nn.MLP(2, [3, 3], "relu", "linear", rng=4)
    X = np.array([[0.5, -1.2], [1.5, 0.3]])
    Y = np.eye(3)[[2, 0]]

    def softmax_ce(layers, X, Y):
        (W1, b1), (W2, b2) = layers
        z1 = X @ W1.T + b1
        h = np.maximum(z1, 0)
        z2 = h @ W2.T + b2
        p = np.exp(z2 - z2.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        d2 = p - Y
        d1 = (d2 @ W2) * (z1 > 0)
        m = len(X)
        return {"grads": [(d1.T @ X / m, d1.mean(0)), (d2.T @ h / m, d2.mean(0))], "deltas": [d1, d2]}

    assert compare(model, X, Y, closed_form=softmax_ce, loss="cross_entropy").agree
    assert compare(model, X, Y, closed_form=softmax_ce, loss=nn.cross_entropy).agree
    assert not compare(model, X, Y, closed_form=softmax_ce, loss="squared_error").agree


def test_a_wrong_layout_is_named(case):
    model, X, Y = case

    def transposed_dW(layers, X, Y):
        grads = backprop(layers, X, Y)["grads"]
        return [(grads[0][0].T, grads[0][1]), grads[1]]

    with pytest.raises(ValueError, match=r"grads\[0\]\[0\] of shape \(3, 2\) \(transposed\?\); it must "
                       r"have shape \(2, 3\)"):
        compare(model, X, Y, closed_form=transposed_dW, loss="squared_error")
    with pytest.raises(ValueError, match=r"grads = list of 1: \[\(\(2, 3\), \(2,\)\)\]; it must be a list "
                       r"of 2 pairs \(dW, db\), one per layer, of shapes list of 2: \[\(\(2, 3\), \(2,\)\), "
                       r"\(\(2, 2\), \(2,\)\)\]$"):
        compare(model, X, Y, closed_form=lambda *a: backprop(*a)["grads"][:1], loss="squared_error")
    with pytest.raises(ValueError, match=r"deltas = list of 1: \[\(2, 2\)\]; .* of shapes "
                       r"\(2, 2\), \(2, 2\)$"):
        compare(model, X, Y, closed_form=lambda *a: {"grads": backprop(*a)["grads"],
                                                     "deltas": backprop(*a)["deltas"][:1]},
                loss="squared_error")
    with pytest.raises(ValueError, match=r"deltas\[1\] of shape \(2,\)"):
        compare(model, X, Y, closed_form=lambda *a: {"grads": backprop(*a)["grads"],
                                                     "deltas": [np.zeros((2, 2)), np.zeros(2)]},
                loss="squared_error")
    with pytest.raises(ValueError, match="needs loss="):
        compare(model, X, Y, closed_form=backprop)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        compare(model, X, Y, closed_form=backprop, loss="hinge")
    with pytest.raises(ValueError, match="not both"):
        compare(model, X, Y, "003", closed_form=backprop, loss="squared_error")
    with pytest.raises(ValueError, match="closed_form=fn"):
        compare(model, X, Y, loss="squared_error", doc="003")


def test_a_notebook_shows_your_closed_form_as_it_prints_it(case):
    """`_repr_html_` of a closed_form=fn comparison: your closed form's title and symbol column, no loss
    row or δ section when fn gave none (it read a document's number and the loss row before)."""
    model, X, Y = case
    full = compare(model, X, Y, closed_form=backprop, loss="squared_error")._repr_html_()
    assert "your closed form backprop against the engine" in full and "<th>symbol</th>" in full
    assert "δ = ∂(loss of one example)/∂z" in full and "AGREE" in full
    only = compare(model, X, Y, closed_form=lambda *a: backprop(*a)["grads"], loss="squared_error")
    html = only._repr_html_()
    assert "δ = " not in html and "gradients of the loss" in html
    assert "W⁽²⁾[1,2]" in html
