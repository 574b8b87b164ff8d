"""Edges of the documents' closed forms (nn.closed_form) that the mutation run (`make mutate`,
docs/testing.md) found untested."""

from __future__ import annotations

import numpy as np
import pytest

from nn.closed_form import DOCUMENTS, SoftmaxCrossEntropyNet
from nn.comparison import random_case


@pytest.mark.parametrize("doc", sorted(DOCUMENTS))
def test_inputs_and_targets_with_different_numbers_of_examples_are_refused(doc):
    """Three inputs, two targets: an error, never a loss over the two examples that pair up."""
    model, X, Y = random_case(doc, 2, [3, 2], 3, 0)
    net = DOCUMENTS[doc].from_mlp(model)
    named = r"X holds 3 examples and Y 2: give one row of Y per row of X"
    with pytest.raises(ValueError, match=named):
        net.loss(X, Y[:2])
    with pytest.raises(ValueError, match=named):
        net.backprop(X, Y[:2])
    with pytest.raises(ValueError, match=named):
        net.engine_loss(model, X, Y[:2])


def test_document_000s_softmax_is_stable_for_large_logits():
    """log softmax(Z) is computed as (Z - max Z) - log Σ exp(Z - max Z): logits near ±3000 give a finite
    loss, the one log-sum-exp gives, and finite gradients. Three layers, so the last layer's Z is not
    the first hidden one's (shifting by another layer's maximum overflows exp)."""
    rng = np.random.default_rng(3)
    params = [rng.normal(size=(3, 3)), rng.normal(size=(3, 4)), 1e3 * rng.normal(size=(2, 4))]
    X = rng.normal(size=(4, 2))
    Y = np.eye(2)[[0, 1, 1, 0]]
    bp = SoftmaxCrossEntropyNet(params).backprop(X, Y)
    Z = bp.z[-1]
    assert np.abs(Z).max() > 800  # exp of it overflows a float
    top = Z.max(axis=1, keepdims=True)
    log_h = Z - top - np.log(np.exp(Z - top).sum(axis=1, keepdims=True))
    assert bp.loss == pytest.approx(-(Y * log_h).sum() / len(X), rel=1e-12)
    assert all(np.isfinite(g).all() for g in bp.grads)
