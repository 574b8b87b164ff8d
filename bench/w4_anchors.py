"""W4, anchors for W1: the same training step (MLP 2-16-16-1 on 100 moons, hinge + 1e-4 L2, SGD) in
PyTorch with one scalar tensor per weight (micrograd's style), PyTorch vectorized (matmuls over the
batch), and the closed-form backward pass in numpy (the documents' δ equations vectorized over the
batch): the practical limit for this computation here. deltagrad batched runs alongside.
"""

from __future__ import annotations

import numpy as np
from _common import Table, cli, import_micrograd, import_torch, measure, moons, ratio
from w1_micrograd_demo import ALPHA, LR, deltagrad_step, micrograd_step

SIZES = {"tiny": (6, 1, 2), "quick": (100, 2, 5), "full": (100, 5, 20)}  # points, slow repeats, repeats


def initial_weights(sizes=(2, 16, 16, 1)) -> list[tuple[np.ndarray, np.ndarray]]:
    """deltagrad's MLP(2, [16, 16, 1], rng=1) weights as (W of shape (n_in, n_out), b) per layer, so
    every anchor starts from the same point."""
    from nn.layers import MLP
    model = MLP(sizes[0], list(sizes[1:]), rng=1)
    return [(np.array([[n.w[k].data for n in layer.neurons] for k in range(layer.nin)]),
             np.array([n.b.data for n in layer.neurons])) for layer in model.layers]


def closed_form_step(X: np.ndarray, y: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]],
                     lr: float = LR) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
    """One step of the closed-form pass; returns the loss and the gradients (the update is in place).

        Z_l = A_{l-1} W_l + b_l,  A_l = relu(Z_l) (identity for the last layer),  s = Z_L
        loss = (1/N) Σ_i max(0, 1 − y_i s_i) + α Σ W² + α Σ b²
        δ_L = −y [1 − y s > 0] / N;  δ_l = (δ_{l+1} W_{l+1}ᵀ) ⊙ [Z_l > 0]
        ∂loss/∂W_l = A_{l-1}ᵀ δ_l + 2α W_l;  ∂loss/∂b_l = Σ_i δ_l + 2α b_l
    """
    acts, zs = [X], []
    for i, (W, b) in enumerate(layers):
        z = acts[-1] @ W + b
        zs.append(z)
        acts.append(np.maximum(z, 0.0) if i < len(layers) - 1 else z)
    s = acts[-1][:, 0]
    margin = 1.0 - y * s
    loss = np.maximum(margin, 0.0).mean() + ALPHA * sum((W * W).sum() + (b * b).sum() for W, b in layers)
    delta = (-y * (margin > 0) / len(y))[:, None]
    grads = []
    for i in range(len(layers) - 1, -1, -1):
        W, b = layers[i]
        grads.append((acts[i].T @ delta + 2 * ALPHA * W, delta.sum(axis=0) + 2 * ALPHA * b))
        if i:
            delta = (delta @ W.T) * (zs[i - 1] > 0)
    grads.reverse()
    for (W, b), (dW, db) in zip(layers, grads, strict=True):
        W -= lr * dW
        b -= lr * db
    return float(loss), grads


def numpy_step(n: int):
    X, y = moons(n)
    layers = initial_weights()
    return lambda: closed_form_step(X, y, layers)


def torch_vectorized_step(n: int):
    torch = import_torch()
    X, y = moons(n)
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    params = []
    for W, b in initial_weights():
        params += [torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)]

    def step():
        a = Xt
        for i in range(0, len(params), 2):
            a = a @ params[i] + params[i + 1]
            if i < len(params) - 2:
                a = torch.relu(a)
        loss = torch.relu(1 - yt * a[:, 0]).mean() + ALPHA * sum((p * p).sum() for p in params)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
        return loss
    return step


def torch_scalar_step(n: int):
    """micrograd's style in PyTorch: a 0-d tensor per weight, one graph node per scalar op."""
    torch = import_torch()
    X, y = moons(n)
    layers = []
    for W, b in initial_weights():
        layers.append([([torch.tensor(W[k, j], dtype=torch.float64, requires_grad=True)
                         for k in range(W.shape[0])], torch.tensor(b[j], dtype=torch.float64,
                                                                   requires_grad=True))
                       for j in range(W.shape[1])])
    params = [p for layer in layers for w, b in layer for p in (*w, b)]
    rows, labels = X.tolist(), y.tolist()

    def forward(row):
        x = [torch.tensor(v, dtype=torch.float64) for v in row]
        for i, layer in enumerate(layers):
            out = []
            for w, b in layer:
                z = w[0] * x[0]
                for wk, xk in zip(w[1:], x[1:], strict=True):
                    z = z + wk * xk
                z = z + b
                out.append(torch.relu(z) if i < len(layers) - 1 else z)
            x = out
        return x[0]

    def step():
        total = None
        for row, label in zip(rows, labels, strict=True):
            term = torch.relu(1 + -label * forward(row))
            total = term if total is None else total + term
        reg = params[0] * params[0]
        for p in params[1:]:
            reg = reg + p * p
        loss = total * (1.0 / len(rows)) + ALPHA * reg
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
        return loss
    return step


def run(size: str) -> list[Table]:
    n, slow, repeats = SIZES[size]
    rows = []
    if import_micrograd() is not None:
        rows.append(("micrograd 0.1.0", measure(micrograd_step(n), slow)))
    torch = import_torch()
    if torch is not None:
        torch.set_num_threads(1)
        rows.append(("PyTorch, a scalar tensor per weight", measure(torch_scalar_step(n), slow)))
        rows.append(("PyTorch vectorized (float64, 1 thread)", measure(torch_vectorized_step(n), repeats)))
    rows.append(("closed-form numpy (float64)", measure(numpy_step(n), repeats)))
    rows.append(("deltagrad batched (fused)", measure(deltagrad_step(n, "batched"), repeats)))
    reference = rows[0][1].median if rows[0][0].startswith("micrograd") else None
    limit = next(t.median for name, t in rows if name.startswith("closed-form"))
    table = Table(f"W4: anchors for W1 ({n} points; median of {repeats} steps, {slow} for the slow ones)",
                  ["contender", "time per step (median, range)", "vs micrograd", "× the closed-form time"])
    for name, timing in rows:
        table.rows.append([name, timing.cell(), ratio(reference, timing.median),
                           f"{timing.median / limit:.3g}"])
    if torch is None:
        table.notes.append("PyTorch is not installed (pip install torch==2.13.0): its rows are missing")
    table.notes.append("Every anchor starts from deltagrad's MLP(2, [16, 16, 1], rng=1) weights; the "
                       "closed-form gradients equal deltagrad's (tests/test_bench.py).")
    scaling = Table("W4b: batched against the closed-form pass as the data set grows",
                    ["points", "closed-form numpy", "deltagrad batched (fused)", "× the closed-form time"])
    for points in ([6, 20] if size == "tiny" else [100, 1_000, 10_000]):
        limit = measure(numpy_step(points), repeats // 2 or 1)
        ours = measure(deltagrad_step(points, "batched"), repeats // 2 or 1)
        scaling.rows.append([f"{points:,}", limit.cell(), ours.cell(), f"{ours.median / limit.median:.3g}"])
    scaling.notes.append("A fused layer over a batch is one matrix product forward and two backward "
                         "(autodiff.engine.neurons, autodiff.vectorized._flush); what is left is fixed "
                         "Python work per node (the walk, one numpy call per activation, the scalar "
                         "parameter updates), which dominates at 100 points and fades with more.")
    return [table, scaling]


if __name__ == "__main__":
    cli(run, __doc__)
