"""The five source documents' backpropagation in closed form (numpy, float64), corrected where a
document is wrong (docs/errata.md): forward values, every layer's δ, every gradient and the update rule.

One class per document, holding the parameters in that document's own layout (augmented matrices, a
bias row or column, row vectors). ``Doc.from_mlp(model)`` / ``doc.to_mlp()`` convert both ways through
the common layout ``layers()`` = [(W, b), ...] with z = W x + b, W of shape (n_out, n_in).

Inputs are arrays X of shape (m, n_in), one example per row; targets Y of shape (m, n_out). Every δ is
per example: ``delta[l][d, j]`` = ∂(loss of example d)/∂z_j, without the 1/m of the averaged loss.
"""

# ruff: noqa: E741  (l is the layer index, as in every document)
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from autodiff import Value
from autodiff.primitives import as_real, quoted
from nn.layers import MLP
from nn.losses import binary_cross_entropy, cross_entropy, l2, mean, squared_error

__all__ = [
    "Backprop", "ClosedForm", "SoftmaxCrossEntropyNet", "SigmoidSquaredErrorNet", "LogisticNet",
    "FourEquationsNet", "TwoLayerSigmoidNet", "DOCUMENTS", "document", "mlp_layers", "mlp_grads",
    "set_mlp_layers", "mlp_from_layers", "sigmoid", "sup", "sub", "epsilon_init", "grad_approx",
]

Layers = list[tuple[np.ndarray, np.ndarray]]


# ---- the pieces every document uses ----------------------------------------------------------------

def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^{−z}), computed without overflow for large |z|; σ'(z) = σ(z)(1 − σ(z))."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _activate(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f(z), f'(z)) for the activations the documents use."""
    if name == "sigmoid":
        s = sigmoid(z)
        return s, s * (1 - s)
    if name == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(float)
    if name == "linear":
        return z, np.ones_like(z)
    if name == "tanh":
        t = np.tanh(z)
        return t, 1 - t * t
    raise ValueError(f"unknown activation {name!r}; the closed forms know sigmoid, relu, linear, tanh")


_SUP = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sup(text: object) -> str:
    """``text`` in superscript digits: sup("(2)") is "⁽²⁾"."""
    return str(text).translate(_SUP)


def sub(text: object) -> str:
    """``text`` in subscript digits: sub(12) is "₁₂"."""
    return str(text).translate(_SUB)


def as_rows(X: object, n: int, what: str) -> np.ndarray:
    """``X`` as a float64 array of shape (m, n): one example per row (a 1-D array is one example)."""
    A = np.asarray(X, dtype=float)
    if A.ndim == 1:
        A = A[None, :]
    if A.ndim != 2 or A.shape[1] != n or A.shape[0] < 1:
        raise ValueError(f"{what} must have shape (m, {n}), one example per row, got shape {A.shape}")
    if not np.isfinite(A).all():
        raise ValueError(f"{what} holds a NaN or infinity; give finite numbers")
    return A


# ---- the common layout and an MLP's parameters --------------------------------------------------------

def mlp_layers(model: MLP) -> Layers:
    """The model's parameters as [(W, b)] per layer, W[j, k] = ``layers.i.neurons.j.w.k``."""
    return [(np.array([[w.data for w in n.w] for n in layer.neurons]),
             np.array([n.b.data for n in layer.neurons])) for layer in model.layers]


def mlp_grads(model: MLP) -> Layers:
    """The parameters' ``.grad`` in the layout of `mlp_layers`."""
    return [(np.array([[w.grad for w in n.w] for n in layer.neurons]),
             np.array([n.b.grad for n in layer.neurons])) for layer in model.layers]


def _shapes(layers: Layers) -> list[tuple[int, int]]:
    return [np.shape(W) for W, _ in layers]


def set_mlp_layers(model: MLP, layers: Layers) -> MLP:
    """Set the model's parameters from [(W, b)] (the shapes must match), in place; returns the model."""
    want = [(len(layer.neurons), layer.nin) for layer in model.layers]
    if _shapes(layers) != want or [np.shape(b) for _, b in layers] != [(n,) for n, _ in want]:
        raise ValueError(f"set_mlp_layers: {model!r} needs weight shapes {want} and biases to match, got "
                         f"{_shapes(layers)}; convert parameters of a network of the same shape")
    for layer, (W, b) in zip(model.layers, layers, strict=True):
        for j, neuron in enumerate(layer.neurons):
            for k, w in enumerate(neuron.w):
                w.data = float(W[j, k])
            neuron.b.data = float(b[j])
    return model


def mlp_from_layers(layers: Layers, activation: str, output_activation: str) -> MLP:
    """A new `MLP` holding exactly these parameters."""
    model = MLP(int(np.shape(layers[0][0])[1]), [int(np.shape(W)[0]) for W, _ in layers], activation,
                output_activation, rng=0)
    return set_mlp_layers(model, layers)


# ---- what a closed form returns -------------------------------------------------------------------------

@dataclass
class Backprop:
    """One closed-form forward and backward pass over m examples.

    ``z[l]``, ``a[l]``, ``delta[l]`` have shape (m, n_l): pre-activations, activations and δ = ∂(loss of
    that example)/∂z of every example; ``grads`` is the gradient of the whole loss (averaged over the
    examples, regularization included) in the document's own layout, ``grad_layers`` the same in the
    common layout [(∂W, ∂b)].
    """

    loss: float
    z: list[np.ndarray]
    a: list[np.ndarray]
    delta: list[np.ndarray]
    grads: object
    grad_layers: Layers = field(default_factory=list, repr=False)  # filled by `ClosedForm.backprop`


class ClosedForm:
    """What every document's class shares: the layout conversions, `loss`, `backprop` and `step`.

    A subclass gives the document's forward pass, loss, backward pass and layout; ``params`` holds the
    parameters in that layout.
    """

    number = ""                 # the document, "000" .. "004"
    source = ""                 # its file in ../shared/seeds/
    title = ""
    loss_text = ""              # the loss, as the document writes it
    hidden = "sigmoid"          # hidden-layer activation
    output_choices = ("sigmoid",)
    target_symbol = "y"         # the document's letter for the target
    targets = "fraction"        # what its loss takes: "one-hot", "binary" (0/1), or "fraction" in (0, 1)
    depths: tuple[int, int | None] = (1, None)   # fewest and most layers of weights the document allows

    def __init__(self, params: object, *, output: str | None = None):
        self.output = output or self.output_choices[0]
        if self.output not in self.output_choices:
            raise ValueError(f"document {self.number}: output activation {self.output!r} is not one it "
                             f"uses; choose one of {', '.join(map(repr, self.output_choices))}")
        self.params = params
        layers = self.layers()
        self._check_depth(len(layers))
        for (W, _), (W2, _) in zip(layers, layers[1:], strict=False):
            if W2.shape[1] != W.shape[0]:
                raise ValueError(f"document {self.number}: a layer of {W.shape[0]} outputs feeds one of "
                                 f"{W2.shape[1]} inputs; the widths must chain")

    # the document's names for engine layer l (0-based), neuron j, input k (None: the bias); L layers
    @classmethod
    def delta_symbol(cls, l: int, j: int, L: int) -> str:
        return f"δ{sup(l + 1)}{sub(j + 1)}"

    @classmethod
    def param_symbol(cls, l: int, j: int, k: int | None, L: int) -> str:
        raise NotImplementedError

    # layout conversion: a subclass writes the two directions
    @classmethod
    def params_from_layers(cls, layers: Layers) -> object:
        raise NotImplementedError

    @classmethod
    def layers_from_params(cls, params: object) -> Layers:
        raise NotImplementedError

    @classmethod
    def _check_depth(cls, n: int) -> None:
        low, high = cls.depths
        if not low <= n <= (high or n):
            raise ValueError(f"document {cls.number} derives networks of {low}"
                             f"{'' if high == low else '..' + str(high or 'any')} layers of weights, got {n}")

    @classmethod
    def from_layers(cls, layers: Layers, **options) -> ClosedForm:
        """This document's network holding the parameters [(W, b)] (z = W x + b) in its layout."""
        cls._check_depth(len(layers))
        return cls(cls.params_from_layers([(np.array(W, float), np.array(b, float)) for W, b in layers]),
                   **options)

    @classmethod
    def from_mlp(cls, model: MLP, **options) -> ClosedForm:
        """The model's parameters in this document's layout. The model's activations must be the
        document's (hidden ``cls.hidden``, output one of ``cls.output_choices``)."""
        if not isinstance(model, MLP):
            raise TypeError(f"from_mlp takes an nn.MLP, got {type(model).__name__}")
        if len(model.layers) > 1 and model.activation != cls.hidden:
            raise ValueError(f"document {cls.number} uses {cls.hidden} hidden layers but the model's are "
                             f"{model.activation}; build MLP(..., activation={cls.hidden!r})")
        options.setdefault("output", model.output_activation)
        return cls.from_layers(mlp_layers(model), **options)

    def layers(self) -> Layers:
        """The parameters in the common layout [(W, b)], z = W x + b."""
        return self.layers_from_params(self.params)

    def to_mlp(self, model: MLP | None = None) -> MLP:
        """An `MLP` with these parameters: ``model`` set in place, or a new one."""
        if model is None:
            return mlp_from_layers(self.layers(), self.hidden, self.output)
        return set_mlp_layers(model, self.layers())

    @property
    def nin(self) -> int:
        return self.layers()[0][0].shape[1]

    @property
    def nouts(self) -> list[int]:
        return [W.shape[0] for W, _ in self.layers()]

    def loss(self, X: object, Y: object) -> float:
        """The document's loss on the m examples (rows) of X with targets Y."""
        X, Y = self._data(X, Y)
        return self._backprop(X, Y, backward=False).loss

    def backprop(self, X: object, Y: object) -> Backprop:
        """Forward values, every δ and every gradient, as the document derives them (corrected)."""
        X, Y = self._data(X, Y)
        result = self._backprop(X, Y, backward=True)
        result.grad_layers = self.layers_from_params(result.grads)
        return result

    def step(self, grads: object, lr: float) -> ClosedForm:
        """The document's update rule θ ← θ − η ∂J/∂θ, applied to every entry of its layout; a new
        object (this one is unchanged)."""
        return type(self)(_tree(lambda p, g: p - lr * g, self.params, grads), **self._options())

    def _options(self) -> dict:
        return {"output": self.output}

    def _data(self, X: object, Y: object) -> tuple[np.ndarray, np.ndarray]:
        X, Y = as_rows(X, self.nin, "X"), as_rows(Y, self.nouts[-1], "Y")
        if len(X) != len(Y):
            raise ValueError(f"X holds {len(X)} examples and Y {len(Y)}: give one row of Y per row of X")
        return X, Y

    def _backprop(self, X: np.ndarray, Y: np.ndarray, backward: bool) -> Backprop:
        raise NotImplementedError

    def engine_loss(self, model: MLP, X: object, Y: object) -> tuple[Value, list]:
        """The same loss built with the engine on ``model``: (loss, one `MLP.trace` per example)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.nin}, {self.nouts}, output={self.output!r})"


def _tree(f, a, b):
    """f applied entry by entry to two parameter structures of the same shape (arrays, lists, tuples)."""
    if isinstance(a, (list, tuple)):
        return type(a)(_tree(f, x, y) for x, y in zip(a, b, strict=True))
    return f(a, b)


def _mean_loss(model: MLP, X: np.ndarray, Y: np.ndarray, loss) -> tuple[Value, list]:
    """(mean over the examples of ``loss(output, target)``, one `MLP.trace` per example)."""
    traces = [model.trace(x) for x in X.tolist()]
    return mean([loss(t.output, y) for t, y in zip(traces, Y.tolist(), strict=True)]), traces


def _check_lam(lam: object) -> float:
    r = as_real(lam) if isinstance(lam, (int, float)) else None   # ±inf for an int beyond the floats
    if r is None or not math.isfinite(r) or r < 0:
        raise ValueError(f"lam must be a finite number >= 0, got {quoted(lam)}")
    return r


# ---- 000: softmax and cross-entropy, bias folded into W̃ = [b W] --------------------------------------

class SoftmaxCrossEntropyNet(ClosedForm):
    """Document 000, "Backpropagation in Neural Networks" (000_ee926518b108f513.txt).

    Layout: ``params[l]`` = W̃⁽ˡ⁺¹⁾ = [b W] of shape (n_out, 1 + n_in), column 0 the bias, so that with
    x̃ = [1; x]:  Z⁽²⁾ = W̃⁽¹⁾ x̃,  A⁽²⁾ = max(0, Z⁽²⁾),  Z⁽³⁾ = W̃⁽²⁾ Ã⁽²⁾,  A⁽³⁾ = Z⁽³⁾ (identity),
    h = softmax(Z⁽³⁾). The document draws D-H-C; deeper ReLU stacks follow the same rules.

        J = −(1/m) Σ_i Σ_k y_k⁽ⁱ⁾ log h_k(x⁽ⁱ⁾) + (λ/2) Σ_l ‖W⁽ˡ⁾‖²
        Δ⁽ᴸ⁾ = h − y                                     (the document prints Z − y: erratum E000-2)
        Δ_j⁽ˡ⁾ = φ'(Z_j⁽ˡ⁾) Σ_k W̃_{k,j}⁽ˡ⁾ Δ_k⁽ˡ⁺¹⁾          (bias column left out; printed W̃_{j,k}: E000-3)
        ∂J/∂W̃_{i,j}⁽ˡ⁾ = (1/m) Σ_examples Δ_i⁽ˡ⁺¹⁾ Ã_j⁽ˡ⁾ + λ W̃_{i,j}⁽ˡ⁾  (printed Δ_j A_i: E000-1)
        W̃ ← W̃ − η ∂J/∂W̃                                (printed W̃ ← −η Δ A: E000-4)

    The regularizer is λ/2 ‖W‖², W without the bias column, as J is printed; ``regularize_bias=True``
    puts the bias column in too (the reading "the weights (which include the bias)").
    """

    number, source = "000", "000_ee926518b108f513.txt"
    title = "Backpropagation in Neural Networks"
    loss_text = "J = -(1/m) Σ_i Σ_k y_k log softmax(Z)_k + λ/2 Σ ||W||²"
    hidden, output_choices, depths = "relu", ("linear",), (1, None)
    targets = "one-hot"

    def __init__(self, params: list[np.ndarray], *, output: str | None = None, lam: float = 0.0,
                 regularize_bias: bool = False):
        self.lam, self.regularize_bias = _check_lam(lam), bool(regularize_bias)
        super().__init__(params, output=output)

    def _options(self) -> dict:
        return {"output": self.output, "lam": self.lam, "regularize_bias": self.regularize_bias}

    @classmethod
    def delta_symbol(cls, l, j, L):
        return f"Δ{sup(f'({l + 2})')}{sub(j + 1)}"

    @classmethod
    def param_symbol(cls, l, j, k, L):
        return f"W̃{sup(f'({l + 1})')}[{j + 1},{1 if k is None else k + 2}]"

    @classmethod
    def params_from_layers(cls, layers: Layers) -> list[np.ndarray]:
        return [np.column_stack([b, W]) for W, b in layers]

    @classmethod
    def layers_from_params(cls, params: list[np.ndarray]) -> Layers:
        return [(Wt[:, 1:], Wt[:, 0]) for Wt in params]

    def _penalized(self, Wt: np.ndarray) -> np.ndarray:
        """The entries of W̃ the regularizer covers (1) and those it leaves out (0)."""
        mask = np.ones_like(Wt)
        if not self.regularize_bias:
            mask[:, 0] = 0.0
        return mask

    def _backprop(self, X, Y, backward):
        m, L = len(X), len(self.params)
        A_tilde, Z, A = [], [], []
        a = X
        for l, Wt in enumerate(self.params):
            at = np.column_stack([np.ones(m), a])            # x̃ = [1; x], Ã = [1; A]
            z = at @ Wt.T                                     # Z = W̃ x̃ for every example (rows)
            a, _ = _activate("relu" if l < L - 1 else "linear", z)
            A_tilde.append(at), Z.append(z), A.append(a)
        shift = Z[-1] - Z[-1].max(axis=1, keepdims=True)     # softmax is unchanged by a shift
        log_h = shift - np.log(np.exp(shift).sum(axis=1, keepdims=True))
        penalty = sum(float(((Wt * self._penalized(Wt)) ** 2).sum()) for Wt in self.params)
        J = -float((Y * log_h).sum()) / m + self.lam / 2 * penalty
        if not backward:
            return Backprop(J, Z, A, [], None)
        Delta = [None] * L
        Delta[-1] = np.exp(log_h) - Y                          # ∂J_i/∂Z⁽ᴸ⁾ = h − y
        for l in range(L - 2, -1, -1):
            _, dphi = _activate("relu", Z[l])
            Delta[l] = dphi * (Delta[l + 1] @ self.params[l + 1][:, 1:])   # Σ_k W̃_{k,j} Δ_k
        grads = [Delta[l].T @ A_tilde[l] / m + self.lam * self._penalized(Wt) * Wt
                 for l, Wt in enumerate(self.params)]
        return Backprop(J, Z, A, Delta, grads)

    def engine_loss(self, model, X, Y):
        data, traces = _mean_loss(model, *self._data(X, Y), cross_entropy)
        penalized = model.parameters() if self.regularize_bias else model.weights()
        return data + l2(penalized, self.lam), traces


# ---- 001: squared error, bias as weight w₀ with o₀ = 1 -----------------------------------------------

class SigmoidSquaredErrorNet(ClosedForm):
    """Document 001, Brilliant's "Backpropagation" (001_fc5afa0f068a4742.txt).

    Layout: ``params[k-1]`` = w^k of shape (1 + r_{k−1}, r_k), w^k[i, j] = w_ij^k from node i of layer
    k−1 to node j of layer k, row 0 the bias (w_0j^k = b_j^k, o_0^{k−1} = 1). Here a is the
    pre-activation and o the output:

        a_j^k = Σ_{i=0}^{r_{k−1}} w_ij^k o_i^{k−1},   o^k = g(a^k) (sigmoid),   ŷ = g_o(a^m)
        E = (1/N) Σ_d ½ Σ_j (ŷ_j − y_j)²       (the document has one output; several add up)
        δ_j^m = (ŷ_j − y_j) g_o'(a_j^m)
        δ_j^k = g'(a_j^k) Σ_{l=1}^{r_{k+1}} w_jl^{k+1} δ_l^{k+1}
        ∂E/∂w_ij^k = (1/N) Σ_d δ_j^k o_i^{k−1},   w ← w − η ∂E/∂w

    ``output`` is g_o: "sigmoid" or "linear" (identity).
    """

    number, source = "001", "001_fc5afa0f068a4742.txt"
    title = "Backpropagation (Brilliant wiki)"
    loss_text = "E = (1/2N) Σ_d (ŷ_d - y_d)²"
    hidden, output_choices, depths = "sigmoid", ("sigmoid", "linear"), (1, None)

    @classmethod
    def param_symbol(cls, l, j, k, L):
        return f"w{sup(l + 1)}[{0 if k is None else k + 1},{j + 1}]"

    @classmethod
    def params_from_layers(cls, layers):
        return [np.vstack([b[None, :], W.T]) for W, b in layers]

    @classmethod
    def layers_from_params(cls, params):
        return [(w[1:, :].T, w[0, :]) for w in params]

    def _backprop(self, X, Y, backward):
        N, m_last = len(X), len(self.params)
        o_prev, O_tilde, a_all, o_all, slopes = X, [], [], [], []
        for k, w in enumerate(self.params, start=1):
            o_tilde = np.column_stack([np.ones(N), o_prev])  # o_0^{k−1} = 1
            a = o_tilde @ w                                    # a_j^k = Σ_i w_ij^k o_i^{k−1}
            o_prev, slope = _activate(self.output if k == m_last else self.hidden, a)
            O_tilde.append(o_tilde), a_all.append(a), o_all.append(o_prev), slopes.append(slope)
        y_hat = o_all[-1]
        E = float((0.5 * (y_hat - Y) ** 2).sum()) / N
        if not backward:
            return Backprop(E, a_all, o_all, [], None)
        delta = [None] * m_last
        delta[-1] = (y_hat - Y) * slopes[-1]
        for k in range(m_last - 2, -1, -1):
            delta[k] = slopes[k] * (delta[k + 1] @ self.params[k + 1][1:, :].T)  # l from 1: no bias node
        grads = [O_tilde[k].T @ delta[k] / N for k in range(m_last)]
        return Backprop(E, a_all, o_all, delta, grads)

    def engine_loss(self, model, X, Y):
        return _mean_loss(model, *self._data(X, Y), squared_error)


# ---- 002: logistic units, binary cross-entropy, Δ accumulation ----------------------------------------

def epsilon_init(l_in: int, l_out: int) -> float:
    """Document 002's initialization bound ε_init = √6 / √(L_in + L_out), L_in = s_l, L_out = s_{l+1}."""
    return math.sqrt(6) / math.sqrt(l_in + l_out)


def grad_approx(J, theta: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Document 002's gradient check, one entry at a time: (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε.

    ``J`` takes an array shaped like ``theta``; the result has the same shape.
    """
    theta = np.array(theta, dtype=float)
    approx = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        plus, minus = theta.copy(), theta.copy()
        plus[i] += eps
        minus[i] -= eps
        approx[i] = (J(plus) - J(minus)) / (2 * eps)
    return approx


class LogisticNet(ClosedForm):
    """Document 002, "Concepts - Backpropagation" (002_f1c3d53a76eecee6.txt).

    Layout: ``params[l-1]`` = Θ⁽ˡ⁾ of shape (s_{l+1}, 1 + s_l), column 0 the bias unit a_0 = 1:
    z⁽ˡ⁺¹⁾ = Θ⁽ˡ⁾ a⁽ˡ⁾, a⁽ˡ⁺¹⁾ = g(z⁽ˡ⁺¹⁾) = σ(z⁽ˡ⁺¹⁾), h_Θ(x) = a⁽ᴸ⁾.

        J = −(1/m) Σ_i Σ_k [y_k log h_k + (1 − y_k) log(1 − h_k)] + λ/(2m) Σ_l Σ_{j≥1} (Θ_{ij}⁽ˡ⁾)²
        δ⁽ᴸ⁾ = a⁽ᴸ⁾ − y
        δ⁽ˡ⁾ = (Θ⁽ˡ⁾_{:,1:})ᵀ δ⁽ˡ⁺¹⁾ .* a⁽ˡ⁾ .* (1 − a⁽ˡ⁾)    (printed a⁽ˡ⁻¹⁾: E002-1; bias row kept: E002-2)
        Δ⁽ˡ⁾ := Δ⁽ˡ⁾ + δ⁽ˡ⁺¹⁾ (a⁽ˡ⁾)ᵀ   over the m examples, a⁽ˡ⁾ with its a_0 = 1
        D⁽ˡ⁾ = Δ⁽ˡ⁾/m + (λ/m) Θ⁽ˡ⁾ (bias column: Δ/m only),   Θ ← Θ − α D
    """

    number, source = "002", "002_f1c3d53a76eecee6.txt"
    title = "Concepts - Backpropagation"
    loss_text = "J = -(1/m) Σ_i Σ_k [y log h + (1-y) log(1-h)] + λ/(2m) Σ Θ²"
    hidden, output_choices, depths = "sigmoid", ("sigmoid",), (1, None)
    targets = "binary"

    def __init__(self, params: list[np.ndarray], *, output: str | None = None, lam: float = 0.0):
        self.lam = _check_lam(lam)
        super().__init__(params, output=output)

    def _options(self) -> dict:
        return {"output": self.output, "lam": self.lam}

    @classmethod
    def delta_symbol(cls, l, j, L):
        return f"δ{sup(f'({l + 2})')}{sub(j + 1)}"

    @classmethod
    def param_symbol(cls, l, j, k, L):
        return f"Θ{sup(f'({l + 1})')}[{j + 1},{0 if k is None else k + 1}]"

    @classmethod
    def params_from_layers(cls, layers):
        return [np.column_stack([b, W]) for W, b in layers]

    @classmethod
    def layers_from_params(cls, params):
        return [(T[:, 1:], T[:, 0]) for T in params]

    @staticmethod
    def random_theta(s_l: int, s_next: int, rng: np.random.Generator) -> np.ndarray:
        """Θ of shape (s_next, 1 + s_l) drawn from U(−ε_init, ε_init) (the document's rule)."""
        e = epsilon_init(s_l, s_next)
        return rng.uniform(-e, e, size=(s_next, 1 + s_l))

    def _forward(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """One example: (a⁽ˡ⁾ with a_0 = 1 for every layer feeding another, z's, a's)."""
        a, A_bias, zs, acts = x, [], [], []
        for T in self.params:
            a1 = np.concatenate([[1.0], a])
            z = T @ a1
            a = sigmoid(z)
            A_bias.append(a1), zs.append(z), acts.append(a)
        return A_bias, zs, acts

    def _backprop(self, X, Y, backward):
        m, L = len(X), len(self.params)
        Delta = [np.zeros_like(T) for T in self.params]
        Z, A, delta_all, cost = [[] for _ in range(L)], [[] for _ in range(L)], [[] for _ in range(L)], 0.0
        for x, y in zip(X, Y, strict=True):                 # one training example at a time
            A_bias, zs, acts = self._forward(x)
            h = acts[-1]
            cost -= float((y * np.log(h) + (1 - y) * np.log(1 - h)).sum())
            delta = [None] * L
            delta[-1] = h - y                                # δ⁽ᴸ⁾ = a⁽ᴸ⁾ − y
            for l in range(L - 2, -1, -1):
                delta[l] = (self.params[l + 1][:, 1:].T @ delta[l + 1]) * acts[l] * (1 - acts[l])
            for l in range(L):
                Delta[l] += np.outer(delta[l], A_bias[l])    # Δ⁽ˡ⁾ := Δ⁽ˡ⁾ + δ⁽ˡ⁺¹⁾ (a⁽ˡ⁾)ᵀ
                Z[l].append(zs[l]), A[l].append(acts[l]), delta_all[l].append(delta[l])
        penalty = sum(float((T[:, 1:] ** 2).sum()) for T in self.params)
        J = cost / m + self.lam / (2 * m) * penalty
        Z, A = [np.array(z) for z in Z], [np.array(a) for a in A]
        if not backward:
            return Backprop(J, Z, A, [], None)
        D = []
        for T, Dl in zip(self.params, Delta, strict=True):
            reg = self.lam / m * T
            reg[:, 0] = 0.0                                  # the bias column is not regularized
            D.append(Dl / m + reg)
        return Backprop(J, Z, A, [np.array(d) for d in delta_all], D)

    def engine_loss(self, model, X, Y):
        data, traces = _mean_loss(model, *self._data(X, Y), binary_cross_entropy)
        return data + l2(model.weights(), self.lam / len(traces)), traces


# ---- 003: the four fundamental equations --------------------------------------------------------------

class FourEquationsNet(ClosedForm):
    """Document 003, "Neural Networks" by A. Mehrotra (003_e16f241704513070.txt).

    Layout: ``params[l-1]`` = (w^l, b^l), w^l of shape (n_l, n_{l−1}), w_jk^l from neuron k of layer l−1
    to neuron j of layer l:  z^l = w^l a^{l−1} + b^l,  a^l = σ(z^l).

        C = (1/2N) Σ_x ‖a^L(x) − y(x)‖²
        BP1  δ^L = ∇_a C ⊙ σ'(z^L) = (a^L − y) ⊙ σ'(z^L)
        BP2  δ^l = ((w^{l+1})ᵀ δ^{l+1}) ⊙ σ'(z^l)
        BP3  ∂C/∂b_j^l = δ_j^l             BP4  ∂C/∂w_jk^l = a_k^{l−1} δ_j^l
    (per example; over N examples the gradient is the mean), w ← w − η ∂C/∂w, b ← b − η ∂C/∂b.
    """

    number, source = "003", "003_e16f241704513070.txt"
    title = "Neural Networks (A. Mehrotra): BP1-BP4"
    loss_text = "C = (1/2N) Σ_x ||a^L(x) - y(x)||²"
    hidden, output_choices, depths = "sigmoid", ("sigmoid",), (1, None)

    @classmethod
    def param_symbol(cls, l, j, k, L):
        return f"b{sup(l + 1)}[{j + 1}]" if k is None else f"w{sup(l + 1)}[{j + 1},{k + 1}]"

    @classmethod
    def params_from_layers(cls, layers):
        return [(W.copy(), b.copy()) for W, b in layers]

    @classmethod
    def layers_from_params(cls, params):
        return [(w, b) for w, b in params]

    def _backprop(self, X, Y, backward):
        N, L = len(X), len(self.params)
        a, acts_in, zs, acts, slopes = X, [], [], [], []
        for w, b in self.params:
            acts_in.append(a)
            z = a @ w.T + b                                    # z^l = w^l a^{l−1} + b^l
            a, slope = _activate("sigmoid", z)
            zs.append(z), acts.append(a), slopes.append(slope)
        C = float((0.5 * (acts[-1] - Y) ** 2).sum()) / N
        if not backward:
            return Backprop(C, zs, acts, [], None)
        delta = [None] * L
        delta[-1] = (acts[-1] - Y) * slopes[-1]                                     # BP1
        for l in range(L - 2, -1, -1):
            delta[l] = (delta[l + 1] @ self.params[l + 1][0]) * slopes[l]           # BP2
        grads = [(delta[l].T @ acts_in[l] / N, delta[l].sum(axis=0) / N) for l in range(L)]  # BP4, BP3
        return Backprop(C, zs, acts, delta, grads)

    def engine_loss(self, model, X, Y):
        return _mean_loss(model, *self._data(X, Y), squared_error)


# ---- 004: the 2-3-2 network, row vectors ----------------------------------------------------------------

class TwoLayerSigmoidNet(ClosedForm):
    """Document 004, "Backpropagation. A Peek into the Mathematics of Optimization"
    (004_d99f93ca97063b21.txt): the 2-3-2 network (any widths here, one hidden layer).

    Layout: ``params`` = (w, b1, u, b2) with row vectors: a⁽¹⁾ = x w + b⁽¹⁾, h = σ(a⁽¹⁾),
    a⁽²⁾ = h u + b⁽²⁾, y = σ(a⁽²⁾); w_ij from input i to hidden j, u_ij from hidden i to output j.

        L = ½ Σ_j (y_j − t_j)²   (one example; over m examples the mean, a choice the document leaves open)
        δ_j = (y_j − t_j) y_j (1 − y_j),          ∂L/∂u_ij = δ_j h_i,   ∂L/∂b_j⁽²⁾ = δ_j
        δ_j^h = h_j (1 − h_j) Σ_k u_jk δ_k,       ∂L/∂w_ij = δ_j^h x_i,  ∂L/∂b_j⁽¹⁾ = δ_j^h
        (the bias gradients are derived here; the document leaves them out: E004-3)
        u ← u − η ∂L/∂u,  w ← w − η ∂L/∂w
    """

    number, source = "004", "004_d99f93ca97063b21.txt"
    title = "Backpropagation. A Peek into the Mathematics of Optimization"
    loss_text = "L = ½ Σ_j (y_j - t_j)²  (mean over the m examples)"
    hidden, output_choices, depths = "sigmoid", ("sigmoid",), (2, 2)
    target_symbol = "t"         # L = ½ Σ (y − t)², y the output

    @classmethod
    def delta_symbol(cls, l, j, L):
        return f"δ{sub(j + 1)} (h{sub(j + 1)})" if l == 0 else f"δ{sub(j + 1)} (y{sub(j + 1)})"

    @classmethod
    def param_symbol(cls, l, j, k, L):
        if k is None:
            return f"b{sup(f'({l + 1})')}[{j + 1}]"
        return f"{'w' if l == 0 else 'u'}[{k + 1},{j + 1}]"

    @classmethod
    def params_from_layers(cls, layers):
        (W1, b1), (W2, b2) = layers
        return (W1.T.copy(), b1.copy(), W2.T.copy(), b2.copy())

    @classmethod
    def layers_from_params(cls, params):
        w, b1, u, b2 = params
        return [(w.T, b1), (u.T, b2)]

    def _backprop(self, X, Y, backward):
        w, b1, u, b2 = self.params
        m = len(X)
        a1 = X @ w + b1
        h = sigmoid(a1)
        a2 = h @ u + b2
        y = sigmoid(a2)
        L = float((0.5 * (y - Y) ** 2).sum()) / m
        if not backward:
            return Backprop(L, [a1, a2], [h, y], [], None)
        delta_out = (y - Y) * y * (1 - y)                    # δ_j = (y_j − t_j) y_j (1 − y_j)
        delta_hidden = (delta_out @ u.T) * h * (1 - h)       # δ_j^h = Σ_k δ_k u_jk h_j (1 − h_j)
        grads = (X.T @ delta_hidden / m, delta_hidden.sum(axis=0) / m,
                 h.T @ delta_out / m, delta_out.sum(axis=0) / m)
        return Backprop(L, [a1, a2], [h, y], [delta_hidden, delta_out], grads)

    def engine_loss(self, model, X, Y):
        return _mean_loss(model, *self._data(X, Y), squared_error)


DOCUMENTS: dict[str, type[ClosedForm]] = {
    cls.number: cls for cls in (SoftmaxCrossEntropyNet, SigmoidSquaredErrorNet, LogisticNet,
                                FourEquationsNet, TwoLayerSigmoidNet)
}


def document(doc: str | type[ClosedForm]) -> type[ClosedForm]:
    """The closed-form class of document ``doc`` ("000" .. "004"), or the class itself."""
    if isinstance(doc, type) and issubclass(doc, ClosedForm):
        return doc
    if isinstance(doc, int) and not isinstance(doc, bool):
        doc = f"{doc:03d}"
    if doc not in DOCUMENTS:
        raise ValueError(f"unknown document {doc!r:.40}; choose one of {', '.join(DOCUMENTS)}")
    return DOCUMENTS[doc]

