"""nn's losses on batched Values (one number per example): the mean over a batch gives the same loss and
the same parameter gradients as the mean of one graph per example, and bad entries name their example."""

import numpy as np
import pytest

import nn
from autodiff.batched import batch, batch_columns, example
from nn import MLP

RNG = np.random.default_rng(7)
X = RNG.normal(size=(9, 3))


def per_example_and_batched(model, loss_of):
    """(loss, gradients) from one graph per example averaged with nn.mean, then from one batched graph."""
    results = []
    for batched in (False, True):
        model.zero_grad()
        if batched:
            loss = nn.mean(loss_of(model(batch_columns(X)), None))
        else:
            loss = nn.mean([loss_of(model(x), i) for i, x in enumerate(X)])
        loss.backward()
        results.append((loss.data, [p.grad for p in model.parameters()]))
    return results


def close(a, b):
    assert a == pytest.approx(b, rel=1e-12, abs=1e-15)


LABELS = RNG.integers(0, 3, size=len(X))
SIGNS = np.where(RNG.random(len(X)) < 0.5, -1.0, 1.0)
T = RNG.random((len(X), 2))


def pick(column, i):
    """Example i's target from a per-example array, or the whole column as a batched leaf."""
    return batch(column) if i is None else float(column[i])


CASES = {
    "squared_error": (2, "sigmoid", lambda y, i: nn.squared_error(y, [pick(T[:, 0], i), pick(T[:, 1], i)])),
    "binary_cross_entropy": (2, "sigmoid",
                             lambda y, i: nn.binary_cross_entropy(y, [pick(T[:, 0], i), pick(T[:, 1], i)])),
    "hinge": (1, "linear", lambda y, i: nn.hinge(y, [pick(SIGNS, i)])),
    "cross_entropy (class index)": (3, "linear", lambda y, i: nn.cross_entropy(
        y, batch(LABELS) if i is None else int(LABELS[i]))),
    "cross_entropy (one-hot)": (3, "linear", lambda y, i: nn.cross_entropy(
        y, [pick((LABELS == j).astype(float), i) for j in range(3)])),
}


@pytest.mark.parametrize("name", CASES)
def test_batched_loss_equals_the_mean_of_single_examples(name):
    nout, out_act, loss_of = CASES[name]
    model = MLP(3, [4, nout], activation="tanh", output_activation=out_act, rng=3)
    (l1, g1), (l2, g2) = per_example_and_batched(model, loss_of)
    close(l2, l1)
    for a, b in zip(g2, g1, strict=True):
        close(a, b)


def test_softmax_of_batched_logits_matches_each_example():
    logits = batch_columns(X * 400)  # e^z would overflow: the per-example maximum must be subtracted
    probs = nn.softmax(logits)
    for i, x in enumerate(X * 400):
        single = [p.data for p in nn.softmax(list(x))]
        for p, s in zip(probs, single, strict=True):
            close(example(p, i)[0], s)


def test_mean_of_a_batched_loss_is_one_number_and_l2_adds_to_it():
    model = MLP(3, [4, 1], rng=0)
    loss = nn.mean(nn.hinge(model(batch_columns(X)), [batch(SIGNS)])) + nn.l2(model.weights(), 1e-3)
    assert isinstance(loss.data, float)
    loss.backward()
    assert any(p.grad != 0 for p in model.parameters())


def test_a_bad_entry_names_its_example():
    y = batch([0.2, 0.5, 1.0])
    with pytest.raises(ValueError, match=r"probs\[0\] of example 2 = 1.0 is not strictly between 0 and 1"):
        nn.binary_cross_entropy([y], [batch([0.0, 1.0, 1.0])])
    with pytest.raises(ValueError, match=r"labels\[0\] of example 1 = 0.0; labels must be -1 or \+1"):
        nn.hinge([batch([0.3, 0.1, -2.0])], [batch([1.0, 0.0, -1.0])])
    with pytest.raises(ValueError, match=r"class index of example 1 = 3.0 is not one of 0..2"):
        nn.cross_entropy(batch_columns(X[:3]), batch([0, 3, 1]))
    with pytest.raises(ValueError, match=r"one-hot target of example 0 sums to 0.5"):
        nn.cross_entropy([batch([1.0, 2.0])] * 2, [batch([0.5, 1.0]), batch([0.0, 0.0])])
    with pytest.raises(ValueError, match="a list holding batched Values"):
        nn.mean([batch([1.0, 2.0]), batch([3.0, 4.0])])
