"""The engine against closed-form equations, a document's or your own: `compare` runs one network both
ways and puts every δ and every gradient side by side; `compare_document` does it on random networks of
a document's kind (what `deltagrad check` prints).

Scaling: the documents average the loss over the m examples, so after ``loss.backward()`` the engine's
``z.grad`` of example d is δ_d / m. The table shows the engine's δ as m · z.grad, the document's δ of
that example (∂ of its own loss over ∂z), one graph over all m examples sharing the parameters.
"""

# ruff: noqa: E741  (l is the layer index, as in the documents)
from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from nn.closed_form import (
    ClosedForm,
    Layers,
    as_rows,
    document,
    mlp_grads,
    mlp_layers,
    set_mlp_layers,
    sub,
    sup,
)
from nn.layers import MLP
from nn.losses import binary_cross_entropy, cross_entropy, mean, squared_error
from nn.optim import SGD

__all__ = ["Row", "Comparison", "DocumentReport", "YourClosedForm", "LOSSES", "compare", "compare_document",
           "random_case", "compare_yours"]

RTOL, ATOL = 1e-12, 1e-15


@dataclass
class Row:
    """One quantity both ways: ``name`` is the engine's node or parameter, ``symbol`` the document's."""

    name: str
    symbol: str
    engine: float
    closed: float

    @property
    def abs_diff(self) -> float:
        return abs(self.engine - self.closed)

    @property
    def rel_diff(self) -> float:
        scale = max(abs(self.engine), abs(self.closed))
        return self.abs_diff / scale if scale > 0 else 0.0

    def agrees(self, rtol: float = RTOL, atol: float = ATOL) -> bool:
        """|engine − closed| ≤ rtol · max(|engine|, |closed|) + atol (atol: rounding near zero)."""
        return self.abs_diff <= rtol * max(abs(self.engine), abs(self.closed)) + atol


LOSSES: dict[str, tuple[Callable, str]] = {
    "squared_error": (squared_error, "L = (1/m) Σ_d ½ Σ_j (a_j - y_j)²"),
    "cross_entropy": (cross_entropy, "L = -(1/m) Σ_d Σ_j y_j log softmax(z)_j"),
    "binary_cross_entropy": (binary_cross_entropy, "L = -(1/m) Σ_d Σ_j [y_j log a_j + (1-y_j) log(1-a_j)]"),
}


@dataclass
class YourClosedForm:
    """What the table says about a closed form you wrote (`compare(..., closed_form=fn)`): its name, the
    loss, and the symbols of the common layout, δ⁽ˡ⁾ⱼ, W⁽ˡ⁾[j,k] and b⁽ˡ⁾[j] (1-based, as on paper)."""

    name: str
    loss_text: str

    @property
    def heading(self) -> str:
        return f"your closed form {self.name} against the engine"

    @staticmethod
    def delta_symbol(l: int, j: int, L: int) -> str:
        return f"δ{sup(f'({l + 1})')}{sub(j + 1)}"

    @staticmethod
    def param_symbol(l: int, j: int, k: int | None, L: int) -> str:
        return f"b{sup(f'({l + 1})')}[{j + 1}]" if k is None else f"W{sup(f'({l + 1})')}[{j + 1},{k + 1}]"


@dataclass
class Comparison:
    """One network, both ways. ``deltas`` has one row per neuron and example, ``grads`` one per parameter;
    ``forward`` and ``update`` hold every z and a value, and every parameter after one step of the
    document's update rule against `nn.SGD`'s (they are summarized, not printed row by row)."""

    doc: type[ClosedForm] | YourClosedForm
    network: str
    m: int
    loss: Row | None
    deltas: list[Row]
    grads: list[Row]
    forward: list[Row] = field(default_factory=list)
    update: list[Row] = field(default_factory=list)
    lr: float | None = None
    rtol: float = RTOL
    atol: float = ATOL

    def rows(self) -> list[Row]:
        return [*([self.loss] if self.loss else []), *self.forward, *self.deltas, *self.grads, *self.update]

    @property
    def max_abs(self) -> float:
        return max(r.abs_diff for r in self.rows())

    @property
    def max_rel(self) -> float:
        return max(r.rel_diff for r in self.rows())

    @property
    def agree(self) -> bool:
        return all(r.agrees(self.rtol, self.atol) for r in self.rows())

    def __bool__(self) -> bool:
        """Truthy only when everything agrees, so ``assert result`` fails on a disagreement."""
        return self.agree

    def disagreements(self) -> list[Row]:
        return [r for r in self.rows() if not r.agrees(self.rtol, self.atol)]

    @property
    def first_disagreement(self) -> Row | None:
        """The first row that disagrees, in table order (loss, forward values, δ's, gradients, update)."""
        bad = self.disagreements()
        return bad[0] if bad else None

    def summary(self) -> str:
        verdict = "agree" if self.agree else f"DISAGREE ({len(self.disagreements())} entries)"
        return (f"{self.network}, m = {self.m}: max |diff| {self.max_abs:.1e}, max relative "
                f"{self.max_rel:.1e}: {verdict}")

    def _heading(self) -> tuple[str, str]:
        """The title line and the name of the symbol column: a document's, or your closed form's."""
        d = self.doc
        if isinstance(d, YourClosedForm):
            return d.heading, "symbol"
        return f"document {d.number}: {d.title} ({d.source})", "document"

    def __str__(self) -> str:
        d = self.doc
        title, kind = self._heading()
        width = max(len(r.name) for r in self.rows()) + 2
        sym = max(len(kind), *(_shown(r.symbol) for r in self.rows())) + 2

        def line(r: Row) -> str:
            mark = "" if r.agrees(self.rtol, self.atol) else "   <-- differs"
            return (f"  {r.name:<{width}}{_pad(r.symbol, sym)}{r.engine:>+24.16e}{r.closed:>+24.16e}"
                    f"{r.abs_diff:>11.1e}{mark}")

        head = f"  {'':<{width}}{kind:<{sym}}{'engine':>24}{'closed form':>24}{'|diff|':>11}"
        out = [title,
               f"network {self.network}; m = {self.m} example{'s' if self.m != 1 else ''}; {d.loss_text}"]
        if self.loss or self.forward:  # no loss section when the closed form gave no loss
            out += ["", head, *([line(self.loss)] if self.loss else [])]
        if self.forward:
            worst = max(self.forward, key=lambda r: r.abs_diff)
            out.append(f"  forward: all {len(self.forward)} z and a values, max |diff| {worst.abs_diff:.1e}")
        if self.deltas:  # a closed form may give only the gradients
            out += ["", "δ = ∂(loss of one example)/∂z per neuron (engine: m · z.grad after backward)", head]
            out += [line(r) for r in self.deltas]
        out += ["", "gradients of the loss (engine: .grad after backward)", head]
        out += [line(r) for r in self.grads]
        if self.update:
            worst = max(self.update, key=lambda r: r.abs_diff)
            out.append(f"\nupdate, lr {self.lr:g}: the document's rule against one nn.SGD step, all "
                       f"{len(self.update)} parameters, max |diff| {worst.abs_diff:.1e}")
        verdict = ("the engine and the closed form AGREE" if self.agree else
                   f"the engine and the closed form DISAGREE on {len(self.disagreements())} entries")
        out.append(f"max |diff| {self.max_abs:.1e}, max relative {self.max_rel:.1e} (tolerance "
                   f"{self.rtol:g} relative + {self.atol:g}): {verdict}")
        first = self.first_disagreement
        if first is not None:
            symbol = f" ({first.symbol})" if first.symbol else ""
            out.append(f"first disagreement: {first.name}{symbol}: engine {first.engine:+.16e}, closed form "
                       f"{first.closed:+.16e}, relative error {first.rel_diff:.1e}")
        return "\n".join(out)


    def _repr_html_(self) -> str:
        # Jupyter: the same comparison as a table that wraps to the output area's width.
        from html import escape

        def row(r: Row) -> str:
            mark = "" if r.agrees(self.rtol, self.atol) else ' style="background:#ffe3e3"'
            cells = [r.name, r.symbol, f"{r.engine:+.16e}", f"{r.closed:+.16e}", f"{r.abs_diff:.1e}"]
            return f"<tr{mark}>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"

        def section(title: str, rows: list[Row]) -> str:
            title = f'<tr><th colspan="5" style="text-align:left">{escape(title)}</th></tr>'
            return title + "".join(map(row, rows))

        title, kind = self._heading()  # a document's, or your closed form's (no loss, no δ's maybe)
        head = "".join(f"<th>{h}</th>" for h in ("", kind, "engine", "closed form", "|diff|"))
        verdict = "AGREE" if self.agree else f"DISAGREE on {len(self.disagreements())} entries"
        deltas = ("δ = ∂(loss of one example)/∂z per neuron (engine: m · z.grad)", self.deltas)
        return (f"<p><b>{escape(title)}</b><br>"
                f"network {escape(self.network)}; m = {self.m}; {escape(self.doc.loss_text)}</p>"
                '<div style="max-width:100%;overflow-x:auto"><table style="font-family:monospace">'
                f"<tr>{head}</tr>{row(self.loss) if self.loss else ''}"
                + (section(*deltas) if self.deltas else "")
                + section("gradients of the loss (engine: .grad after backward)", self.grads)
                + f"</table></div><p>{escape(self.summary())}: the engine and the closed form {verdict}</p>")


def _shown(text: str) -> int:
    """How many columns ``text`` takes: combining marks (the tilde of W̃) take none."""
    return sum(not unicodedata.combining(c) for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _shown(text), 0)


def _parameter_rows(cls: type[ClosedForm] | YourClosedForm, engine: Layers, closed: Layers) -> list[Row]:
    """One row per parameter, in `MLP.named_parameters` order, from two [(W, b)] layouts."""
    L, rows = len(engine), []
    for l, ((We, be), (Wc, bc)) in enumerate(zip(engine, closed, strict=True)):
        for j in range(len(be)):
            for k in range(We.shape[1]):
                rows.append(Row(f"layers.{l}.neurons.{j}.w.{k}", cls.param_symbol(l, j, k, L),
                                float(We[j, k]), float(Wc[j, k])))
            rows.append(Row(f"layers.{l}.neurons.{j}.b", cls.param_symbol(l, j, None, L),
                            float(be[j]), float(bc[j])))
    return rows


def _describe(model: MLP, closed: ClosedForm) -> str:
    widths = "-".join(str(n) for n in [model.nin, *model.nouts])
    extra = "".join(f", {'λ' if k == 'lam' else k} {v:g}" for k, v in closed._options().items()
                    if k != "output" and v and not isinstance(v, bool))
    if getattr(closed, "regularize_bias", False):
        extra += ", bias regularized"
    hidden = f"{closed.hidden} hidden, " if len(model.nouts) > 1 else ""
    return f"{widths} ({hidden}{closed.output} output{extra})"


def compare(network: MLP | ClosedForm, X: object, Y: object, doc: str | type[ClosedForm] | None = None, *,
            closed_form: Callable | None = None, loss: str | Callable | None = None,
            lr: float | None = 0.5, rtol: float = RTOL, atol: float = ATOL, **options) -> Comparison:
    """Run one network through the engine and through document ``doc``'s closed form, side by side
    (or through your own, ``closed_form=fn``: see `compare_yours`).

    ``network`` is an `MLP` (then ``doc`` names the document, "000" .. "004", and ``options`` are its
    options, e.g. ``lam=0.1``) or a closed-form object (``SoftmaxCrossEntropyNet(...)``; the MLP is made
    from it). X has one example per row, Y the targets (one-hot rows for document 000). The engine
    builds the document's loss over all m examples as one graph and calls ``backward()`` once; each
    example's δ is m · z.grad. With ``lr``, both also take one step: the document's update rule against
    `nn.SGD` (the model's parameters are put back afterwards). The model's gradients are zeroed first
    and hold the engine's gradients afterwards.
    """
    if closed_form is not None:
        if doc is not None or options:
            raise ValueError("compare: give either doc=... (a document's closed form) or closed_form=fn "
                             "(your own), not both")
        return compare_yours(network, X, Y, closed_form, loss, rtol=rtol, atol=atol)
    if loss is not None:
        raise ValueError("compare: loss= goes with closed_form=fn; a document's loss is the document's")
    if isinstance(network, ClosedForm):
        if doc is not None or options:
            raise ValueError("compare: give either a closed-form network, or an MLP with doc=... and options")
        closed = network
        model = closed.to_mlp()
    elif isinstance(network, MLP):
        if doc is None:
            raise ValueError("compare: which document? pass doc='000' .. '004' with an MLP, or your own "
                             "closed_form=fn with loss=...")
        model, closed = network, document(doc).from_mlp(network, **options)
    else:
        raise TypeError(f"compare takes an nn.MLP or a closed-form network, got {type(network).__name__}")
    cls = type(closed)
    X, Y = closed._data(X, Y)
    m, L = len(X), len(model.layers)

    model.zero_grad()
    loss, traces = closed.engine_loss(model, X, Y)
    loss.backward()
    bp = closed.backprop(X, Y)

    example = (lambda d: f" [{d}]") if m > 1 else (lambda d: "")
    deltas, forward = [], []
    for l in range(L):
        for j in range(len(model.layers[l].neurons)):
            for d, t in enumerate(traces):
                z, a = (f"layers.{l}.neurons.{j}.{node}{example(d)}" for node in "za")
                deltas.append(Row(z, cls.delta_symbol(l, j, L), m * t.z[l][j].grad, float(bp.delta[l][d, j])))
                forward.append(Row(z, "z", t.z[l][j].data, float(bp.z[l][d, j])))
                forward.append(Row(a, "a", t.a[l][j].data, float(bp.a[l][d, j])))
    grads = _parameter_rows(cls, mlp_grads(model), bp.grad_layers)

    update = []
    if lr is not None:
        before = mlp_layers(model)
        SGD(model.parameters(), lr).step()
        update = _parameter_rows(cls, mlp_layers(model), closed.step(bp.grads, lr).layers())
        set_mlp_layers(model, before)
    return Comparison(cls, _describe(model, closed), m, Row("loss", "", loss.data, bp.loss),
                      deltas, grads, forward, update, lr, rtol, atol)


# ---- your own closed form -----------------------------------------------------------------------

def _shapes(x: object) -> str:
    """What fn returned, described by type, length and shapes, not by its numbers: "list of 1: [((2, 3),
    (2,))]"."""
    def one(v: object) -> str:
        if isinstance(v, (list, tuple)):
            return "(" + ", ".join(one(u) for u in v) + ")"
        shape = np.shape(v) if isinstance(v, (np.ndarray, int, float)) else None
        return str(shape) if shape is not None else type(v).__name__
    if isinstance(x, (list, tuple)):
        return f"{type(x).__name__} of {len(x)}: [{', '.join(one(v) for v in x)}]"
    return one(x)


def _array(x: object, shape: tuple[int, ...], where: str, what: str) -> np.ndarray:
    """``x`` as a float64 array of ``shape``, or a ValueError saying which entry of fn's answer is wrong."""
    try:
        A = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"closed_form returned {where} = {type(x).__name__} {x!r:.60}; it must be an array "
                         f"of shape {shape} ({what})") from None
    if A.shape != shape:
        hint = " (transposed?)" if A.shape == shape[::-1] and len(shape) == 2 else ""
        raise ValueError(f"closed_form returned {where} of shape {A.shape}{hint}; it must have shape "
                         f"{shape} ({what})")
    if not np.isfinite(A).all():
        raise ValueError(f"closed_form returned {where} holding a NaN or infinity")
    return A


def compare_yours(model: MLP, X: object, Y: object, closed_form: Callable, loss: str | Callable | None, *,
                  rtol: float = RTOL, atol: float = ATOL) -> Comparison:
    """Your own backward pass against the engine on ``model``, as `compare(model, X, Y,
    closed_form=fn, loss=...)` calls it.

    ``fn(layers, X, Y)`` gets copies of the parameters in the common layout, ``layers[l] = (W, b)`` with
    z = W a + b, W of shape (n_out, n_in), b of shape (n_out,) (layer 0 first); X of shape (m, n_in),
    one example per row; Y of shape (m, n_out). It returns either the gradients alone,
    ``[(dW, db), ...]`` with the parameters' shapes, or a dict ``{"grads": [(dW, db), ...],
    "deltas": [δ, ...], "loss": L}`` ("deltas" and "loss" optional), where

        L        = (1/m) Σ_d loss(a⁽ᴸ⁾ of example d, y_d)    (the mean loss over the m examples)
        dW, db   = ∂L/∂W, ∂L/∂b                              (gradients of that mean)
        δ[l]     of shape (m, n_l): δ[l][d, j] = ∂ loss(example d) / ∂z_j of layer l (no 1/m)

    ``loss`` is "squared_error" (½ Σ_j (a_j − y_j)²), "cross_entropy" (softmax of the last layer's
    output, Y one-hot rows) or "binary_cross_entropy", or a function ``(outputs, target_row) -> Value``
    built with the engine. The engine builds the mean loss over the examples as one graph and calls
    ``backward()`` once: each δ is m · z.grad. Raises ValueError naming the entry of fn's answer whose
    shape or type is wrong. The model's gradients hold the engine's afterwards.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"compare with closed_form=fn takes an nn.MLP, got {type(model).__name__}")
    if not callable(closed_form):
        raise TypeError(f"closed_form must be a function fn(layers, X, Y), got {type(closed_form).__name__}")
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"compare: unknown loss {loss!r}; choose one of {', '.join(LOSSES)}, or pass "
                             "a function (outputs, target) -> Value")
        loss_fn, loss_text = LOSSES[loss]
    elif callable(loss):
        loss_fn, loss_text = loss, f"L = (1/m) Σ_d {getattr(loss, '__name__', 'loss')}(a, y)"
    else:
        raise ValueError("compare with closed_form=fn needs loss=: 'squared_error', 'cross_entropy', "
                         "'binary_cross_entropy' or a function (outputs, target) -> Value")
    X, Y = as_rows(X, model.nin, "X"), as_rows(Y, model.nouts[-1], "Y")
    m, L = len(X), len(model.layers)
    layers = mlp_layers(model)

    model.zero_grad()
    traces = [model.trace(x) for x in X.tolist()]
    total = mean([loss_fn(t.output, y) for t, y in zip(traces, Y.tolist(), strict=True)])
    total.backward()

    answer = closed_form([(W.copy(), b.copy()) for W, b in layers], X.copy(), Y.copy())
    if isinstance(answer, dict):
        unknown = set(answer) - {"grads", "deltas", "loss"}
        if unknown or "grads" not in answer:
            raise ValueError(f"closed_form returned a dict with keys {sorted(answer)}; it needs 'grads' and "
                             "may have 'deltas' and 'loss'")
        grads, deltas, closed_loss = answer["grads"], answer.get("deltas"), answer.get("loss")
    else:
        grads, deltas, closed_loss = answer, None, None
    if not isinstance(grads, (list, tuple)) or len(grads) != L:
        raise ValueError(f"closed_form returned grads = {_shapes(grads)}; it must be a list of {L} pairs "
                         f"(dW, db), one per layer, of shapes {_shapes([(W, b) for W, b in layers])}")
    closed_grads = []
    for l, ((W, b), pair) in enumerate(zip(layers, grads, strict=True)):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"closed_form returned grads[{l}] = {pair!r:.60}; it must be a pair (dW, db)")
        closed_grads.append((_array(pair[0], W.shape, f"grads[{l}][0]", f"∂L/∂W of layer {l}"),
                             _array(pair[1], b.shape, f"grads[{l}][1]", f"∂L/∂b of layer {l}")))
    yours = YourClosedForm(getattr(closed_form, "__name__", "fn"), loss_text)

    example = (lambda d: f" [{d}]") if m > 1 else (lambda d: "")
    rows = []
    if deltas is not None:
        if not isinstance(deltas, (list, tuple)) or len(deltas) != L:
            raise ValueError(f"closed_form returned deltas = {_shapes(deltas)}; it must be a list of {L} "
                             f"arrays, one per layer, of shapes "
                             f"{', '.join(str((m, W.shape[0])) for W, _ in layers)}")
        for l, (W, _) in enumerate(layers):
            D = _array(deltas[l], (m, W.shape[0]), f"deltas[{l}]", f"δ of layer {l}, one row per example")
            for j in range(W.shape[0]):
                for d, t in enumerate(traces):
                    rows.append(Row(f"layers.{l}.neurons.{j}.z{example(d)}", yours.delta_symbol(l, j, L),
                                    m * t.z[l][j].grad, float(D[d, j])))
    loss_row = None
    if closed_loss is not None:
        loss_row = Row("loss", "L", total.data, float(_array(closed_loss, (), "loss", "the mean loss")))
    return Comparison(yours, _describe_yours(model), m, loss_row, rows,
                      _parameter_rows(yours, mlp_grads(model), closed_grads), rtol=rtol, atol=atol)


def _describe_yours(model: MLP) -> str:
    widths = "-".join(str(n) for n in [model.nin, *model.nouts])
    hidden = f"{model.activation} hidden, " if len(model.nouts) > 1 else ""
    return f"{widths} ({hidden}{model.output_activation} output)"


# ---- random networks of a document's kind -----------------------------------------------------------

def _generator(rng: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be an int seed or a numpy Generator, got {type(rng).__name__} {rng!r:.60}")


def random_case(doc: str | type[ClosedForm], nin: int, nouts: Sequence[int], m: int,
                rng: int | np.random.Generator | None = None, *, output: str | None = None,
                margin: float = 1e-3, **options) -> tuple[MLP, np.ndarray, np.ndarray]:
    """A random `MLP` of document ``doc``'s kind, inputs X (m × nin, N(0, 1)) and targets Y.

    Targets: as the document's loss takes them (``cls.targets``): one-hot rows for 000, 0/1 for 002,
    U(0, 1) otherwise. Document 002's network is drawn with
    its ε_init rule, the others from U(−1, 1). For ReLU networks (000) the draw is repeated until every
    hidden pre-activation is at least ``margin`` away from the kink at 0, where the derivative jumps.
    """
    cls, gen = document(doc), _generator(rng)
    output = output or cls.output_choices[0]
    init = "epsilon" if cls.number == "002" else "uniform"
    for _ in range(1000):
        model = MLP(nin, list(nouts), cls.hidden, output, rng=random.Random(int(gen.integers(2**32))),
                    init=init)
        X = gen.normal(size=(m, nin))
        n_out = nouts[-1]
        if cls.targets == "one-hot":
            Y = np.eye(n_out)[gen.integers(0, n_out, size=m)]
        elif cls.targets == "binary":
            Y = gen.integers(0, 2, size=(m, n_out)).astype(float)
        else:
            Y = gen.uniform(size=(m, n_out))
        if cls.hidden != "relu":
            return model, X, Y
        z = cls.from_mlp(model, **options)._backprop(X, Y, backward=False).z
        if all(np.abs(zl).min() >= margin for zl in z[:-1]):
            return model, X, Y
    raise RuntimeError(f"random_case: no draw kept every pre-activation {margin} away from the ReLU kink "
                       "in 1000 tries; lower margin")


# the networks `compare_document` checks: the first (one example) is printed in full
CASES: dict[str, list[dict]] = {
    "000": [dict(nin=3, nouts=[4, 3], m=1), dict(nin=4, nouts=[5, 3], m=4, lam=0.1),
            dict(nin=2, nouts=[3, 3, 2], m=3, lam=0.05, regularize_bias=True)],
    "001": [dict(nin=3, nouts=[4, 1], m=1, output="sigmoid"),
            dict(nin=2, nouts=[3, 3, 1], m=3, output="linear"),
            dict(nin=3, nouts=[2, 2], m=2, output="sigmoid")],
    "002": [dict(nin=3, nouts=[4, 1], m=1), dict(nin=3, nouts=[4, 4, 2], m=5, lam=0.3)],
    "003": [dict(nin=3, nouts=[4, 2], m=1), dict(nin=2, nouts=[3, 4, 2], m=4)],
    "004": [dict(nin=2, nouts=[3, 2], m=1), dict(nin=2, nouts=[3, 2], m=4)],
}


@dataclass
class DocumentReport:
    """`compare_document`'s result: every comparison made, the first printed in full."""

    doc: str
    seed: object
    comparisons: list[Comparison]

    @property
    def agree(self) -> bool:
        return all(c.agree for c in self.comparisons)

    def __bool__(self) -> bool:
        """Truthy only when everything agrees, so ``assert result`` fails on a disagreement."""
        return self.agree

    def __str__(self) -> str:
        first, rest = self.comparisons[0], self.comparisons[1:]
        out = [str(first)]
        if rest:
            out.append(f"\nalso checked (document {self.doc}, seed {self.seed}):")
            out += [f"  {c.summary()}" for c in rest]
        bad = [c for c in self.comparisons if not c.agree]
        for c in bad[1:] if not first.agree else bad:
            out += ["", str(c)]       # a disagreement is always shown in full
        return "\n".join(out)


    def _repr_html_(self) -> str:
        from html import escape

        rest = "".join(f"<li>{escape(c.summary())}</li>" for c in self.comparisons[1:])
        also = f"<p>also checked (document {self.doc}, seed {self.seed}):</p><ul>{rest}</ul>" if rest else ""
        bad = [c for c in self.comparisons[1:] if not c.agree]   # a disagreement is shown in full
        return self.comparisons[0]._repr_html_() + also + "".join(c._repr_html_() for c in bad)


def compare_document(doc: str, rng: int | np.random.Generator | None = 0) -> DocumentReport:
    """Document ``doc``'s closed form against the engine on a few random networks of its kind (shapes
    and batch sizes in `CASES`), seeded by ``rng``. For 004 the first is the document's own 2-3-2
    network (the document prints no numbers, so they are drawn). ``.agree`` says whether all agree."""
    cls, gen = document(doc), _generator(rng)
    comparisons = []
    for case in CASES[cls.number]:
        case = dict(case)
        nin, nouts, m = case.pop("nin"), case.pop("nouts"), case.pop("m")
        output = case.pop("output", None)
        model, X, Y = random_case(cls, nin, nouts, m, gen, output=output, **case)
        comparisons.append(compare(model, X, Y, cls, **case))
    seed = "given" if isinstance(rng, np.random.Generator) else rng
    return DocumentReport(cls.number, seed, comparisons)
