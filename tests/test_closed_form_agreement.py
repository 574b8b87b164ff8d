# ruff: noqa: E741  (l is the layer index, as in the documents)
"""The engine against each document's closed-form equations (nn.closed_form) on many random networks:
the loss, every forward value, every δ, every gradient and one update step agree to 1e-12 relative.

Batches: one graph over all m examples with the document's averaged loss; each example's δ is
m · z.grad (checked directly in `test_one_examples_z_grad_is_its_delta_over_m`)."""

import numpy as np
import pytest

import nn
from nn.closed_form import DOCUMENTS, mlp_grads
from nn.comparison import compare, compare_document, random_case

# (document, nin, widths, options): several shapes and depths where the document allows them
NETWORKS = [
    ("000", 2, [3, 2], {}), ("000", 4, [6, 3], {"lam": 0.1}),
    ("000", 3, [4, 5, 3], {"lam": 0.2, "regularize_bias": True}),
    ("001", 2, [3, 1], {"output": "sigmoid"}), ("001", 3, [4, 1], {"output": "linear"}),
    ("001", 2, [3, 4, 2, 1], {"output": "linear"}), ("001", 3, [2, 3], {"output": "sigmoid"}),
    ("001", 2, [1], {"output": "sigmoid"}),
    ("002", 3, [4, 1], {}), ("002", 2, [3, 3, 2], {"lam": 0.5}), ("002", 4, [5, 4, 3, 1], {"lam": 1.0}),
    ("003", 2, [3, 2], {}), ("003", 3, [4, 4, 2], {}), ("003", 2, [2, 3, 4, 3], {}),
    ("004", 2, [3, 2], {}), ("004", 3, [4, 1], {}),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("m", [1, 2, 5])
@pytest.mark.parametrize("doc, nin, nouts, options", NETWORKS)
def test_engine_and_closed_form_agree(doc, nin, nouts, options, m, seed):
    output = options.get("output")
    opts = {k: v for k, v in options.items() if k != "output"}
    model, X, Y = random_case(doc, nin, nouts, m, seed, output=output, **opts)
    result = compare(model, X, Y, doc, lr=0.3, **opts)
    assert result.agree, str(result)
    assert result.max_rel <= 1e-12 or result.max_abs <= 1e-15
    n_neurons, n_params = sum(nouts), len(model.parameters())
    assert len(result.deltas) == n_neurons * m and len(result.grads) == n_params
    assert len(result.forward) == 2 * n_neurons * m and len(result.update) == n_params
    # not vacuous: the gradients are not all zero
    assert max(abs(r.engine) for r in result.grads) > 1e-6


@pytest.mark.parametrize("doc", sorted(DOCUMENTS))
def test_one_examples_z_grad_is_its_delta_over_m(doc):
    nin, nouts = (2, [3, 2])
    model, X, Y = random_case(doc, nin, nouts, 4, 7)
    closed = DOCUMENTS[doc].from_mlp(model)
    loss, traces = closed.engine_loss(model, X, Y)
    loss.backward()
    bp = closed.backprop(X, Y)
    for d, t in enumerate(traces):
        for l, zs in enumerate(t.z):
            got = np.array([z.grad for z in zs])
            np.testing.assert_allclose(got, bp.delta[l][d] / 4, rtol=1e-12, atol=1e-16)
    # and the parameter gradient is the mean over the examples of each one's gradient
    singles = []
    for d in range(4):
        model.zero_grad()
        one, _ = closed.engine_loss(model, X[d:d + 1], Y[d:d + 1])
        one.backward()
        singles.append(mlp_grads(model))
    for l, (W, b) in enumerate(bp.grad_layers):
        np.testing.assert_allclose(W, np.mean([s[l][0] for s in singles], axis=0), rtol=1e-12, atol=1e-16)
        np.testing.assert_allclose(b, np.mean([s[l][1] for s in singles], axis=0), rtol=1e-12, atol=1e-16)


def test_update_rule_agrees_after_several_steps():
    model, X, Y = random_case("004", 2, [3, 2], 3, 11)
    closed = DOCUMENTS["004"].from_mlp(model)
    opt = nn.SGD(model.parameters(), lr=0.7)
    for _ in range(5):
        model.zero_grad()
        loss, _ = closed.engine_loss(model, X, Y)
        loss.backward()
        opt.step()
        closed = closed.step(closed.backprop(X, Y).grads, 0.7)
    for (We, be), (Wc, bc) in zip(nn.closed_form.mlp_layers(model), closed.layers(), strict=True):
        np.testing.assert_allclose(We, Wc, rtol=1e-12)
        np.testing.assert_allclose(be, bc, rtol=1e-12)


@pytest.mark.parametrize("doc", sorted(DOCUMENTS))
def test_compare_document_agrees_and_prints_the_table(doc):
    report = nn.compare_document(doc, rng=3)
    assert report.agree and report                  # a report is true when everything agrees
    text = str(report)
    assert text.startswith(f"document {doc}: ") and DOCUMENTS[doc].source in text
    assert "AGREE" in text and "DISAGREE" not in text and "also checked" in text
    first = report.comparisons[0]
    for row in first.deltas + first.grads:
        assert row.name in text and f"{row.engine:+.16e}" in text


def test_compare_document_is_seeded():
    assert str(compare_document("002", rng=5)) == str(compare_document("002", rng=5))
    assert str(compare_document("002", rng=5)) != str(compare_document("002", rng=6))


@pytest.mark.parametrize("where", ["delta", "grad", "loss"])
def test_a_wrong_closed_form_makes_the_comparison_disagree(monkeypatch, where):
    cls = DOCUMENTS["003"]
    right = cls._backprop

    def wrong(self, X, Y, backward):
        bp = right(self, X, Y, backward)
        if where == "loss":
            bp.loss *= 1 + 1e-9
        elif backward and where == "delta":
            bp.delta[0] = bp.delta[0] * (1 + 1e-9)
        elif backward:
            w, b = bp.grads[0]
            bp.grads[0] = (w.copy(), b + 1e-9)
        return bp

    monkeypatch.setattr(cls, "_backprop", wrong)
    report = compare_document("003", rng=0)
    assert not report.agree and not report
    text = str(report)
    assert "DISAGREE" in text and "<-- differs" in text


def test_compare_takes_a_closed_form_network_and_checks_its_arguments():
    model, X, Y = random_case("000", 3, [4, 3], 2, 1)
    closed = DOCUMENTS["000"].from_mlp(model, lam=0.1)
    assert compare(closed, X, Y).agree
    assert nn.compare(model, X, Y, doc="000", lam=0.1).agree      # nn.compare, the function
    with pytest.raises(ValueError, match="which document"):
        compare(model, X, Y)
    with pytest.raises(ValueError, match="either a closed-form network"):
        compare(closed, X, Y, doc="000")
    with pytest.raises(TypeError, match="nn.MLP or a closed-form"):
        compare("model", X, Y, doc="000")
    with pytest.raises(ValueError, match=r"X must have shape \(m, 3\)"):
        compare(model, X[:, :2], Y, doc="000")
    with pytest.raises(ValueError, match="unknown document '007'"):
        compare(model, X, Y, doc="007")
    with pytest.raises(ValueError, match="uses relu hidden layers but the model's are tanh"):
        compare(nn.MLP(3, [4, 3], "tanh", rng=0), X, Y, doc="000")
