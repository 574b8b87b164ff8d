"""Every erratum of docs/errata.md, demonstrated: on a small network the document's printed formula gives
other numbers than the corrected one, and the engine (after backward) agrees with the corrected one.
Test names carry the erratum's id (E000-1 is test_E000_1_...)."""
# ruff: noqa: E741  (l is the layer index, as in the documents)

import numpy as np
import pytest

import nn
from autodiff import Value
from nn.closed_form import DOCUMENTS, mlp_grads, mlp_layers
from nn.comparison import compare, random_case


def engine(doc, model, X, Y, **options):
    """The engine after backward on the document's loss: (closed form, δ per layer as (m, n) arrays =
    m · z.grad, gradients [(∂W, ∂b)])."""
    closed = DOCUMENTS[doc].from_mlp(model, **options)
    model.zero_grad()
    loss, traces = closed.engine_loss(model, X, Y)
    loss.backward()
    m = len(X)
    deltas = [np.array([[m * z.grad for z in t.z[l]] for t in traces]) for l in range(len(model.layers))]
    return closed, deltas, mlp_grads(model)


def same(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def differs(printed, engine_value):
    """The printed form is off by far more than rounding (at least 1 % of the engine's size somewhere)."""
    printed, engine_value = np.asarray(printed, float), np.asarray(engine_value, float)
    assert printed.shape == engine_value.shape
    assert np.abs(printed - engine_value).max() > 1e-2 * max(np.abs(engine_value).max(), 1e-3)


# ---- 000 ---------------------------------------------------------------------------------------------

def test_E000_1_weight_gradient_indices_are_transposed():
    model, X, Y = random_case("000", 3, [3, 4], 1, 0)          # W̃⁽²⁾ is 4 × (1 + 3): square
    closed, delta, grads = engine("000", model, X, Y)
    A_tilde = np.concatenate([[1.0], closed.backprop(X, Y).a[0][0]])   # Ã⁽²⁾ = [1; A⁽²⁾]
    D3 = delta[1][0]
    printed = np.outer(A_tilde, D3)           # ∂J/∂W̃_{i,j} = Δ_j⁽ˡ⁺¹⁾ A_i⁽ˡ⁾ (A read as Ã to make it fit)
    corrected = np.outer(D3, A_tilde)         # ∂J/∂W̃_{i,j} = Δ_i⁽ˡ⁺¹⁾ Ã_j⁽ˡ⁾
    W, b = grads[1]
    engine_W_tilde = np.column_stack([b, W])
    same(corrected, engine_W_tilde)
    differs(printed, engine_W_tilde)


def test_E000_2_output_error_is_softmax_minus_y_not_z_minus_y():
    model, X, Y = random_case("000", 3, [4, 3], 1, 1)
    closed, delta, _ = engine("000", model, X, Y)
    Z3 = closed.backprop(X, Y).z[1][0]
    printed = Z3 - Y[0]                                          # ∂J/∂Z_j = Z_j − y_j; φ'(Z)(A − y), A = Z
    corrected = np.exp(Z3) / np.exp(Z3).sum() - Y[0]             # h − y
    same(corrected, delta[1][0])
    differs(printed, delta[1][0])


def test_E000_3_hidden_delta_sums_over_the_column_of_W_tilde_not_the_row():
    model, X, Y = random_case("000", 3, [3, 3], 1, 0)           # H = C = 3, W̃⁽²⁾ is 3 × 4
    closed, delta, _ = engine("000", model, X, Y)
    bp = closed.backprop(X, Y)
    Wt2, D3, dphi = closed.params[1], delta[1][0], (bp.z[0][0] > 0).astype(float)
    assert dphi.sum() >= 2                                       # live ReLUs, so the sums matter
    printed = dphi * np.array([sum(D3[k] * Wt2[j, k] for k in range(3)) for j in range(3)])  # W̃_{j,k}
    corrected = dphi * np.array([sum(Wt2[k, j + 1] * D3[k] for k in range(3)) for j in range(3)])
    same(corrected, delta[0][0])
    differs(printed, delta[0][0])


def test_E000_4_update_rule_keeps_the_weight_itself():
    model, X, Y = random_case("000", 3, [4, 3], 2, 3)
    closed, _, _ = engine("000", model, X, Y, lam=0.1)
    grads = closed.backprop(X, Y).grads
    printed = [-0.5 * g for g in grads]                          # W̃ ← −η Δ A
    corrected = [Wt - 0.5 * g for Wt, g in zip(closed.params, grads, strict=True)]
    nn.SGD(model.parameters(), lr=0.5).step()
    stepped = type(closed).from_mlp(model).params
    for p, c, e in zip(printed, corrected, stepped, strict=True):
        same(c, e)
        differs(p, e)


def test_E000_5_loss_needs_the_class_index_on_h():
    model, X, Y = random_case("000", 2, [3, 4], 1, 4)
    closed, _, _ = engine("000", model, X, Y)
    z = closed.backprop(X, Y).z[1][0]
    h = np.exp(z) / np.exp(z).sum()
    c = int(Y[0].argmax())
    printed = -sum((k == c) * np.log(h) for k in range(4))       # Σ_k 1{y = k} log h(x): a vector
    assert np.shape(printed) == (4,)
    corrected = -np.log(h[c])                                    # Σ_k 1{y = k} log h(x)_k
    loss, _ = closed.engine_loss(model, X, Y)
    assert corrected == pytest.approx(loss.data, rel=1e-12)
    assert abs(printed.sum() - loss.data) > 1e-2                 # nor is its sum the loss


def test_E000_6_whether_the_bias_is_regularized_changes_the_bias_gradient():
    model, X, Y = random_case("000", 3, [4, 3], 3, 5, lam=0.3)
    without = compare(model, X, Y, "000", lam=0.3)                      # λ/2 ‖W‖², as J is printed
    with_bias = compare(model, X, Y, "000", lam=0.3, regularize_bias=True)  # W̃ incl. the bias column
    assert without.agree and with_bias.agree
    for r0, r1, (name, p) in zip(without.grads, with_bias.grads, model.named_parameters(), strict=True):
        expected = 0.3 * p.data if name.endswith(".b") else 0.0
        assert r1.closed - r0.closed == pytest.approx(expected, abs=1e-12)
    assert any(abs(p.data) > 0.1 for name, p in model.named_parameters() if name.endswith(".b"))


# ---- 001 ---------------------------------------------------------------------------------------------

def test_E001_1_next_layers_input_includes_the_bias_weight():
    model, X, Y = random_case("001", 2, [3, 2, 1], 1, 0, output="linear")
    closed, delta, _ = engine("001", model, X, Y)
    bp = closed.backprop(X, Y)
    w2, o1 = closed.params[1], bp.a[0][0]
    printed = np.array([sum(w2[j, l] * o1[j - 1] for j in range(1, 4)) for l in range(2)])  # j from 1
    corrected = np.array([sum(w2[j, l] * ([1.0, *o1])[j] for j in range(0, 4)) for l in range(2)])
    _, traces = closed.engine_loss(model, X, Y)
    engine_a2 = np.array([z.data for z in traces[0].z[1]])
    same(corrected, engine_a2)
    differs(printed, engine_a2)
    same(printed + w2[0], engine_a2)                             # off by exactly the bias w_0l
    same(bp.delta[0], delta[0])                                  # the derivative is unaffected


# ---- 002 ---------------------------------------------------------------------------------------------

def _logistic(nin, nouts, m, seed, **options):
    model, X, Y = random_case("002", nin, nouts, m, seed)
    for p in model.parameters():                                 # larger weights: the slopes differ more
        p.data *= 4
    closed, delta, grads = engine("002", model, X, Y, **options)
    return model, X, Y, closed, delta, grads, closed.backprop(X, Y)


def test_E002_1_activation_derivative_is_of_layer_3_not_layer_2():
    _, _, _, closed, delta, _, bp = _logistic(3, [3, 3, 1], 1, 0)   # layers 1..4: 3, 3, 3, 1 units
    a2, a3, d4 = bp.a[0][0], bp.a[1][0], delta[2][0]
    back = closed.params[2][:, 1:].T @ d4
    printed = back * a2 * (1 - a2)                               # g' = a⁽²⁾ .* (1 − a⁽²⁾)
    corrected = back * a3 * (1 - a3)                             # g'(z⁽³⁾) = a⁽³⁾ .* (1 − a⁽³⁾)
    same(corrected, delta[1][0])
    differs(printed, delta[1][0])


def test_E002_2_the_bias_row_of_theta_transposed_is_dropped():
    _, _, _, closed, delta, _, bp = _logistic(3, [3, 3, 1], 1, 1)
    a3, d4 = bp.a[1][0], delta[2][0]
    full = closed.params[2].T @ d4                               # (Θ⁽³⁾)ᵀ δ⁽⁴⁾: s₃ + 1 entries
    assert full.shape == (4,) and delta[1][0].shape == (3,)
    same(full[1:] * a3 * (1 - a3), delta[1][0])                  # drop the bias unit's entry
    differs(full[:-1] * a3 * (1 - a3), delta[1][0])


def test_E002_3_output_error_sign():
    _, _, Y, _, delta, _, bp = _logistic(2, [3, 1], 1, 2)
    printed = Y[0] - bp.a[1][0]                                  # δ₁⁽⁴⁾ = y − a₁⁽⁴⁾
    corrected = bp.a[1][0] - Y[0]                                # δ⁽⁴⁾ = a⁽⁴⁾ − y
    same(corrected, delta[1][0])
    differs(printed, delta[1][0])


def test_E002_4_intuition_deltas_miss_the_activation_derivative():
    _, _, _, closed, delta, _, bp = _logistic(2, [2, 2, 1], 1, 3)  # the intuition net: 2, 2, 2, 1 units
    T2, T3, d4 = closed.params[1], closed.params[2], delta[2][0]
    printed3 = np.array([T3[0, 1] * d4[0], T3[0, 2] * d4[0]])     # δ₁⁽³⁾ = Θ₁₁⁽³⁾ δ₁⁽⁴⁾, δ₂⁽³⁾ = Θ₁₂⁽³⁾ δ₁⁽⁴⁾
    a3, a2 = bp.a[1][0], bp.a[0][0]
    same(printed3 * a3 * (1 - a3), delta[1][0])
    differs(printed3, delta[1][0])
    d3 = delta[1][0]
    printed2 = T2[0, 1] * d3[0] + T2[1, 1] * d3[1]               # δ₁⁽²⁾ = Θ₁₁⁽²⁾ δ₁⁽³⁾ + Θ₂₁⁽²⁾ δ₂⁽³⁾
    same(printed2 * a2[0] * (1 - a2[0]), delta[0][0][0])
    differs(printed2, delta[0][0][0])


def test_E002_5_theta_has_a_row_per_unit_of_the_next_layer():
    _, _, _, closed, delta, _, bp = _logistic(3, [3, 3, 3], 1, 4)  # s_l = s_{l+1}: both layouts fit
    T3 = closed.params[2]                                        # course layout: s₄ × (1 + s₃)
    text_layout = T3[:, 1:].T                                    # rows = s₃, columns = s₄, as the text says
    a3, d4 = bp.a[1][0], delta[2][0]
    same((T3[:, 1:].T @ d4) * a3 * (1 - a3), delta[1][0])
    differs((text_layout.T @ d4) * a3 * (1 - a3), delta[1][0])


@pytest.mark.parametrize("m", [1, 6])
def test_E002_6_Delta_is_shaped_like_theta_and_sums_over_the_examples(m):
    _, _, _, closed, _, grads, bp = _logistic(3, [4, 2], m, 5)
    for T, D, (W, b) in zip(closed.params, bp.grads, grads, strict=True):
        assert D.shape == T.shape and D.shape != (m, T.shape[0])   # not one row per example
        same(D, np.column_stack([b, W]))


def test_E002_7_one_step_with_D_is_not_an_update_after_every_example():
    model, X, Y, closed, _, _, bp = _logistic(3, [4, 1], 3, 6)
    per_example = closed
    for d in range(3):                                           # "update the weights immediately"
        per_example = per_example.step(per_example.backprop(X[d:d + 1], Y[d:d + 1]).grads, 2.0)
    batch = closed.step(bp.grads, 2.0)                           # Θ ← Θ − α D, D from Δ over all m
    nn.SGD(model.parameters(), lr=2.0).step()
    stepped = type(closed).from_mlp(model).params
    for s, b, p in zip(stepped, batch.params, per_example.params, strict=True):
        same(b, s)
        differs(p, s)


def test_E002_8_D_regularizes_all_but_the_bias_column_with_lambda_over_m():
    _, _, _, closed, _, grads, bp = _logistic(3, [4, 2], 5, 7, lam=0.8)
    for T, D, (W, b) in zip(closed.params, bp.grads, grads, strict=True):
        engine_D = np.column_stack([b, W])
        bias, rest = np.arange(T.shape[1]) == 0, np.arange(T.shape[1]) > 0
        same(D, engine_D)
        differs(D + 0.8 / 5 * T * bias, engine_D)                # the bias column regularized too
        differs(D + (0.8 - 0.8 / 5) * T * rest, engine_D)        # λΘ instead of (λ/m)Θ


# ---- 003 ---------------------------------------------------------------------------------------------

def test_E003_1_dz_dw_depends_on_the_neuron_of_layer_l_minus_1_not_l():
    model, X, Y = random_case("003", 3, [4, 2], 1, 0)
    closed, delta, grads = engine("003", model, X, Y)
    W, _ = grads[1]
    ratio = W / delta[1][0][:, None]                             # ∂z_j/∂w_jk = (∂C/∂w_jk) / δ_j
    same(ratio, np.tile(closed.backprop(X, Y).a[0][0], (2, 1)))  # = a_k^{l−1}: the same for every j
    assert np.ptp(ratio, axis=1).min() > 1e-2                    # but it does vary with k (layer l − 1)


def test_E003_2_first_column_of_the_weight_gradient_uses_a_of_layer_l_minus_1():
    model, X, Y = random_case("003", 3, [3, 3], 1, 1)
    closed, delta, grads = engine("003", model, X, Y)
    a1, a2, d2 = closed.backprop(X, Y).a[0][0], closed.backprop(X, Y).a[1][0], delta[1][0]
    printed = np.outer(d2, np.concatenate([[a2[0]], a1[1:]]))    # row vector [a₁ˡ ... a_nˡ⁻¹]
    corrected = np.outer(d2, a1)                                 # δˡ (aˡ⁻¹)ᵀ
    same(corrected, grads[1][0])
    differs(printed, grads[1][0])


def test_E003_3_over_N_examples_the_gradient_is_the_mean_of_the_per_example_equations():
    model, X, Y = random_case("003", 2, [3, 2], 3, 2)
    _, delta, grads = engine("003", model, X, Y)
    b = grads[1][1]
    same(delta[1].mean(axis=0), b)                               # ∂C/∂b = (1/N) Σ_x δ^{L,x}
    differs(delta[1][0], b)                                      # not one example's δ (BP3 read for C over N)
    differs(delta[1].sum(axis=0), b)                             # nor the sum


# ---- 004 ---------------------------------------------------------------------------------------------

def _two_two_two(seed):
    model, X, Y = random_case("004", 2, [2, 2], 1, seed)         # 2-2-2: w_jk and y_j exist for every j
    closed, delta, grads = engine("004", model, X, Y)
    bp = closed.backprop(X, Y)
    return closed, delta, grads, bp


def test_E004_1_generalized_hidden_delta_uses_u_not_w():
    closed, delta, _, bp = _two_two_two(0)
    w, _, u, _ = closed.params
    h, d = bp.a[0][0], delta[1][0]
    printed = np.array([sum(d[k] * w[j, k] for k in range(2)) * h[j] * (1 - h[j]) for j in range(2)])
    corrected = np.array([sum(d[k] * u[j, k] for k in range(2)) * h[j] * (1 - h[j]) for j in range(2)])
    same(corrected, delta[0][0])
    differs(printed, delta[0][0])


def test_E004_2_generalized_hidden_delta_uses_h_not_y():
    closed, delta, _, bp = _two_two_two(1)
    _, _, u, _ = closed.params
    h, y, d = bp.a[0][0], bp.a[1][0], delta[1][0]
    printed = np.array([sum(d[k] * u[j, k] for k in range(2)) * y[j] * (1 - y[j]) for j in range(2)])
    same(np.array([sum(d[k] * u[j, k] for k in range(2)) * h[j] * (1 - h[j]) for j in range(2)]),
         delta[0][0])
    differs(printed, delta[0][0])
    w = closed.params[0]                                          # both symbols as printed: also wrong
    differs(np.array([sum(d[k] * w[j, k] for k in range(2)) * y[j] * (1 - y[j]) for j in range(2)]),
            delta[0][0])


def test_E004_3_the_biases_have_gradients_and_move():
    model, X, Y = random_case("004", 2, [3, 2], 1, 2)
    closed, delta, grads = engine("004", model, X, Y)
    same(grads[0][1], delta[0][0])                               # ∂L/∂b_j⁽¹⁾ = δ_j^h
    same(grads[1][1], delta[1][0])                               # ∂L/∂b_j⁽²⁾ = δ_j
    before = mlp_layers(model)
    nn.SGD(model.parameters(), lr=1.0).step()
    after = mlp_layers(model)
    for (_, b0), (_, b1), (_, gb) in zip(before, after, grads, strict=True):
        same(b1, b0 - gb)                                        # the derived rule b ← b − η δ
        differs(b0, b1)                                          # the printed rules leave b alone


def test_E004_4_the_loss_is_half_the_squared_L2_norm_not_the_norm():
    y, t = [0.3, 0.9], [1.0, 0.0]
    ys = [Value(v) for v in y]
    nn.squared_error(ys, t).backward()
    half_squared = [v.grad for v in ys]
    ys = [Value(v) for v in y]
    (sum((v - tv) ** 2 for v, tv in zip(ys, t, strict=True)) ** 0.5).backward()   # ‖y − t‖
    norm = [v.grad for v in ys]
    same(half_squared, np.subtract(y, t))                        # ∂L/∂y_j = y_j − t_j, as printed
    differs(norm, half_squared)                                  # the L2 norm would give (y − t)/‖y − t‖
