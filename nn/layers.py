"""Neurons, layers and multi-layer perceptrons made of `Value`s, and `MLP.trace` for the nodes inside.

    neuron:  z = Σ_k w_k x_k + b,   a = f(z)   with f one of `ACTIVATIONS` (linear: f(z) = z)
    layer:   the neurons side by side on the same input;   MLP: layers in sequence.
"""

from __future__ import annotations

import numbers
import random
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

from autodiff import Value, neuron
from autodiff.engine import input_label, neuron_chain, neuron_chains, neurons, relus
from autodiff.primitives import quoted
from nn._sizes import PARAMETER_BYTES, check_fits
from nn.init import INITIALIZERS, init_bound, make_rng
from nn.module import Module

__all__ = ["ACTIVATIONS", "Neuron", "Layer", "MLP", "Trace", "Location", "locate"]

#: Activation names (any case: "ReLU" works); each but "linear" (f(z) = z) is the Value method of that name.
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "leaky_relu", "elu", "gelu", "softplus", "sin", "abs")

Inputs = Sequence[Value | float] | Value | float


def _check_count(n: object, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{what} must be a positive int, got {quoted(n)}")
    return int(n)


def _check_parameters(who: str, count: int) -> None:
    check_fits(who, count, "parameters", PARAMETER_BYTES,
               "each is a Value of its own (about 200 bytes): choose smaller sizes (nin, widths)")


def _check_choice(x: object, choices: tuple[str, ...], what: str, fold_case: bool = False) -> str:
    if isinstance(x, str) and fold_case:
        x = x.lower()
    if x not in choices:
        raise ValueError(f"unknown {what} {quoted(x)}; choose one of {', '.join(map(repr, choices))}")
    return x


def as_inputs(x: Inputs, n: int, who: str) -> list[Value]:
    """``x`` as a list of ``n`` Values. A single number or Value is a list of one; a list, tuple or 1-D
    numpy array is taken element by element. A plain number k-th in the list becomes one leaf labelled
    ``x.k`` for the whole call, shared by every neuron (as a fused layer does), instead of one constant
    per use."""
    if isinstance(x, Value) or (isinstance(x, numbers.Real) and not isinstance(x, bool)):
        items = [x]
    elif isinstance(x, (list, tuple)):
        items = list(x)
    elif type(x).__module__ == "numpy" and hasattr(x, "ndim"):
        if x.ndim == 0:
            items = [x.item()]
        elif x.ndim == 1:
            items = x.tolist()
        else:
            raise ValueError(f"{who} takes one example (a 1-D array of {n}), got an array of shape "
                             f"{x.shape}; call it once per row")
    else:
        raise TypeError(f"{who} takes numbers, Values, a list, tuple or 1-D numpy array, got "
                        f"{type(x).__name__} {x!r:.60}")
    if len(items) != n:
        raise ValueError(f"{who} expects {n} input{'s' if n != 1 else ''}, got {len(items)}")
    for i, v in enumerate(items):
        if not (isinstance(v, Value) or (isinstance(v, numbers.Real) and not isinstance(v, bool))):
            raise TypeError(f"{who}: input {i} must be a number or a Value, got {type(v).__name__} "
                            f"{v!r:.60}")
    return [v if isinstance(v, Value) else Value(float(v), input_label(k)) for k, v in enumerate(items)]


class Location(NamedTuple):
    """Where a node made by nn sits, read from its label (the naming contract of `Module`):
    ``layer`` and ``neuron`` (0-based; None for a standalone Layer's or Neuron's missing level), ``role``
    one of "weight", "bias", "z" (pre-activation), "a" (activation), and ``index`` k of weight ``w.k``."""

    layer: int | None
    neuron: int | None
    role: str
    index: int | None = None


_ROLE_OF = {"b": "bias", "z": "z", "a": "a"}


def locate(label: str) -> Location | None:
    """The `Location` of the node labelled ``label`` by nn (``layers.1.neurons.3.w.0`` is weight 0 of
    neuron 3 of layer 1; a Layer's ``neurons.3.b``; a Neuron's ``w.0``, ``b``, ``z``, ``a``), or None for
    a label nn does not make. This is how a viewer learns what a node is without parsing names itself.
    """
    parts = label.split(".") if isinstance(label, str) else []
    layer = neuron = None
    if parts[:1] == ["layers"] and len(parts) >= 2 and parts[1].isdecimal():
        layer, parts = int(parts[1]), parts[2:]
    if parts[:1] == ["neurons"] and len(parts) >= 2 and parts[1].isdecimal():
        neuron, parts = int(parts[1]), parts[2:]
    elif layer is not None:
        return None
    if len(parts) == 2 and parts[0] == "w" and parts[1].isdecimal():
        return Location(layer, neuron, "weight", int(parts[1]))
    if len(parts) == 1 and parts[0] in _ROLE_OF:
        return Location(layer, neuron, _ROLE_OF[parts[0]])
    return None


class Neuron(Module):
    """One neuron: ``z = Σ_k w_k x_k + b`` then ``a = f(z)``.

    ``rng`` is an int seed or a `random.Random`. Weights and bias are drawn from U(-r, r): r = 1 for
    ``init="uniform"``, r = √6 / √(n_in + n_out) for ``init="epsilon"``, where n_out is ``fan_out``
    (the width of the layer the neuron sits in; 1 for a neuron on its own).
    """

    def __init__(self, nin: int, activation: str = "relu", *, rng: int | random.Random | None = None,
                 init: str = "uniform", fan_out: int = 1, fused: bool = False):
        self.nin = _check_count(nin, "nin")
        _check_parameters("Neuron", self.nin + 1)
        self.activation = activation
        self.init = _check_choice(init, INITIALIZERS, "init")
        r = init_bound(init, self.nin, _check_count(fan_out, "fan_out"))
        rng = make_rng(rng)
        self.w = [Value(rng.uniform(-r, r)) for _ in range(self.nin)]
        self.b = Value(rng.uniform(-r, r))
        # fused: z is one "neuron" node (same numbers, bit for bit, far fewer nodes: see bench/)
        self.fused = bool(fused)
        self._set_prefix("")

    def _own_parameters(self) -> list[tuple[str, Value]]:
        return [(f"w.{k}", w) for k, w in enumerate(self.w)] + [("b", self.b)]

    @property
    def activation(self) -> str:
        """The name of f, one of `ACTIVATIONS`; may be set, in any case (ValueError for another name)."""
        return self._activation

    @activation.setter
    def activation(self, name: str) -> None:
        self._activation = _check_choice(name, ACTIVATIONS, "activation", fold_case=True)

    @property
    def prefix(self) -> str:
        """This neuron's path in the enclosing model; its z and a are labelled ``<prefix>z/a``."""
        return self._prefix

    @prefix.setter
    def prefix(self, prefix: str) -> None:
        # the labels follow the prefix however it is set, made here once, not at every call
        self._prefix, self._z_label, self._a_label = prefix, prefix + "z", prefix + "a"

    def _collect(self, out: list[Value], biases: bool) -> None:
        cls = type(self)
        if cls._own_parameters is not Neuron._own_parameters or cls._children is not Neuron._children:
            return super()._collect(out, biases)  # a subclass with parameters or children of its own
        out += self.w
        if biases:
            out.append(self.b)

    def preactivation(self, x: Sequence[Value | float]) -> Value:
        """z = Σ_k w_k x_k + b, labelled ``<prefix>z``. ``x`` must already hold ``nin`` items.

        Every forward pass (call, layer, MLP, trace) computes z here, or for a fused layer in
        `Layer.preactivations`, which makes the same nodes a layer at a time.
        """
        if self.fused:
            z = neuron(self.w, x, self.b)
            z.label = self._z_label
            return z
        z = neuron_chain(self.w, x, self.b)  # w_0 x_0 + w_1 x_1 + ... + b, node by node
        z.label = self._z_label
        return z

    def activate(self, z: Value) -> Value:
        """a = f(z), labelled ``<prefix>a``; for "linear" this is z itself (keeping its label ``z``)."""
        if self._activation == "linear":
            return z
        a = getattr(z, self._activation)()
        a.label = self._a_label
        return a

    def forward(self, x: Sequence[Value | float]) -> tuple[Value, Value]:
        """(z, a) for one input list of ``nin`` items (unchecked; `__call__` checks)."""
        z = self.preactivation(x)
        return z, self.activate(z)

    def __call__(self, x: Inputs) -> Value:
        return self.activate(self.preactivation(as_inputs(x, self.nin, "Neuron")))

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs. Calling it always returns a list."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", *,
                 rng: int | random.Random | None = None, init: str = "uniform", fused: bool = False):
        self.nin, self.nout = _check_count(nin, "nin"), _check_count(nout, "nout")
        _check_parameters("Layer", self.nout * (self.nin + 1))
        self.activation = _check_choice(activation, ACTIVATIONS, "activation", fold_case=True)
        rng = make_rng(rng)
        self.neurons = [Neuron(nin, activation, rng=rng, init=init, fan_out=nout, fused=fused)
                        for _ in range(nout)]
        self._set_prefix("")

    def _children(self) -> list[tuple[str, Module]]:
        return [(f"neurons.{j}", n) for j, n in enumerate(self.neurons)]

    def preactivations(self, x: Sequence[Value | float]) -> list[Value]:
        """Every neuron's z for one input list of ``nin`` items (unchecked), made a layer at a time
        (`autodiff.engine.neurons`, `neuron_chains`): fused over a batch, one matrix product for the
        whole layer; unfused, the inputs' numbers read once."""
        fused = [n.fused for n in self.neurons]
        if any(fused) and not all(fused):
            return [n.preactivation(x) for n in self.neurons]
        make = neurons if fused[0] else neuron_chains
        zs = make([n.w for n in self.neurons], x, [n.b for n in self.neurons])
        for n, z in zip(self.neurons, zs, strict=True):
            z.label = n._z_label
        return zs

    def forward(self, x: Sequence[Value | float]) -> tuple[list[Value], list[Value]]:
        """(z's, a's) of every neuron for one input list of ``nin`` items (unchecked)."""
        zs = self.preactivations(x)
        # a layer at a time (`autodiff.engine.relus`) when every neuron is relu, asked at each call so that
        # an activation set on one neuron, or a neuron swapped in, counts (2 µs for 16 neurons)
        if all(n._activation == "relu" for n in self.neurons):
            acts = relus(zs)
            for n, a in zip(self.neurons, acts, strict=True):
                a.label = n._a_label
            return zs, acts
        return zs, [n.activate(z) for n, z in zip(self.neurons, zs, strict=True)]

    def __call__(self, x: Inputs) -> list[Value]:
        return self.forward(as_inputs(x, self.nin, "Layer"))[1]

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class Trace:
    """The nodes of one forward pass: ``z[i][j]`` and ``a[i][j]`` are neuron j of layer i's
    pre-activation and activation; ``output`` is ``a[-1]``. After ``loss.backward()``,
    ``z[i][j].grad`` is that neuron's δ = ∂loss/∂z."""

    __slots__ = ("z", "a", "output")

    def __init__(self, z: list[list[Value]], a: list[list[Value]]):
        self.z, self.a, self.output = z, a, a[-1]

    def __repr__(self) -> str:
        return f"Trace(layers={len(self.z)}, output={self.output!r})"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])`` has layers 2→16→16→1.

    Hidden layers use ``activation``, the last layer ``output_activation``. Calling it on one example
    (numbers, Values, a list, tuple or 1-D numpy array of ``nin``) returns a list of ``nouts[-1]`` Values.
    ``fused=True`` makes each z one "neuron" node (Σ w x + b with its own rule): same numbers, faster.
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu",
                 output_activation: str = "linear", *, rng: int | random.Random | None = None,
                 init: str = "uniform", fused: bool = False):
        self.nin = _check_count(nin, "nin")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"nouts must be a non-empty list of layer widths, e.g. [16, 16, 1], "
                             f"got {quoted(nouts)}")
        self.nouts = [_check_count(n, "each width in nouts") for n in nouts]
        sizes = [self.nin, *self.nouts]
        _check_parameters("MLP", sum(n * (k + 1) for k, n in pairwise(sizes)))
        self.activation = _check_choice(activation, ACTIVATIONS, "activation", fold_case=True)
        self.output_activation = _check_choice(output_activation, ACTIVATIONS, "output_activation",
                                               fold_case=True)
        self.init = _check_choice(init, INITIALIZERS, "init")
        rng = make_rng(rng)
        last = len(self.nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], output_activation if i == last else activation,
                             rng=rng, init=init, fused=fused) for i in range(len(self.nouts))]
        self._set_prefix("")

    def _children(self) -> list[tuple[str, Module]]:
        return [(f"layers.{i}", layer) for i, layer in enumerate(self.layers)]

    def __call__(self, x: Inputs) -> list[Value]:
        x = as_inputs(x, self.nin, "MLP")
        for layer in self.layers:
            x = layer.forward(x)[1]
        return x

    def trace(self, x: Inputs) -> Trace:
        """The same forward pass as calling the model, keeping every layer's z and a nodes."""
        x = as_inputs(x, self.nin, "MLP.trace")
        zs, acts = [], []
        for layer in self.layers:
            z, x = layer.forward(x)
            zs.append(z)
            acts.append(x)
        return Trace(zs, acts)

    def __repr__(self) -> str:
        return (f"MLP({self.nin}, {self.nouts}, activation={self.activation!r}, "
                f"output_activation={self.output_activation!r})")
