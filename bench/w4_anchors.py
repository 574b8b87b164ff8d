"""W4, anchors for W1: the same training step (MLP 2-16-16-1 on 100 moons, hinge + 1e-4 L2, SGD) in
PyTorch with one scalar tensor per weight (micrograd's style), PyTorch vectorized (matmuls over the
batch), and the closed-form backward pass in numpy (the documents' δ equations vectorized over the
batch): the practical limit for this computation here. deltagrad batched runs alongside.
"""

from __future__ import annotations

from _common import (
    ALPHA,
    BLOCK_SECONDS,
    LR,
    Table,
    cli,
    closed_form,
    import_micrograd,
    import_torch,
    initial_weights,
    moons,
    ratio,
    time_per_call,
)
from w1_micrograd_demo import deltagrad_step, micrograd_step

SIZES = {"tiny": (6, 1), "quick": (100, 3), "full": (100, 7)}  # points, rounds


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
    n, rounds = SIZES[size]
    block = BLOCK_SECONDS[size]
    contenders = {}
    if import_micrograd() is not None:
        contenders["micrograd 0.1.0"] = micrograd_step(n)
    torch = import_torch()
    if torch is not None:
        torch.set_num_threads(1)
        contenders["PyTorch, a scalar tensor per weight"] = torch_scalar_step(n)
        contenders["PyTorch vectorized (float64, 1 thread)"] = torch_vectorized_step(n)
    contenders["closed-form numpy (float64)"] = closed_form(n)
    contenders["deltagrad batched (fused)"] = deltagrad_step(n, "batched")
    timings = time_per_call(contenders, rounds, block)
    reference = timings["micrograd 0.1.0"].median if "micrograd 0.1.0" in timings else None
    limit = timings["closed-form numpy (float64)"].median
    table = Table(f"W4: anchors for W1 ({n} points; median of {rounds} rounds)",
                  ["contender", "time per step (median, range)", "vs micrograd", "× the closed-form time"])
    for name, timing in timings.items():
        table.rows.append([name, timing.cell(), ratio(reference, timing.median),
                           f"{timing.median / limit:.3g}"])
        table.values[(name, "× the closed-form time")] = timing.median / limit
    if torch is None:
        table.notes.append("PyTorch is not installed (pip install torch==2.13.0): its rows are missing")
    table.notes.append("Every anchor starts from deltagrad's MLP(2, [16, 16, 1], rng=1) weights; the "
                       "closed-form gradients equal deltagrad's (tests/test_bench.py). How this step "
                       "scales with the data set: W8b's column 'batched, W1's shape', against the "
                       "closed form in W8b's rounds.")
    return [table]


if __name__ == "__main__":
    cli(run, __doc__)
