"""Optimizers that update parameters in place from their gradients. An update changes ``.data`` only:
it never builds graph nodes, so parameters stay leaves. A step computes every parameter at once in
numpy when numpy imports, else one at a time in plain floats (Pyodide): the same float operations,
so the same numbers to the bit.

    weight decay λ (PyTorch's coupled L2):  g ← g + λ w   before either update
    SGD:   v ← μ v + g,   w ← w − η v                         (μ = 0: plain gradient descent)
    Adam:  m ← β₁ m + (1 − β₁) g,  s ← β₂ s + (1 − β₂) g²,
           w ← w − η m̂ / (√ŝ + ε),  m̂ = m / (1 − β₁ᵗ),  ŝ = s / (1 − β₂ᵗ)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from itertools import chain
from operator import attrgetter

from autodiff import Value
from autodiff.engine import stored_grads, zero_grads
from autodiff.primitives import all_finite, as_real, lazy_numpy, quoted

__all__ = ["Optimizer", "SGD", "Adam"]

_GRAD = attrgetter("grad")


def _check(x: object, what: str, low: float, high: float = math.inf, *, low_open: bool = False) -> float:
    r = as_real(x)   # ±inf for an int beyond the floats
    if r is None or not math.isfinite(r) or not (r > low if low_open else r >= low) or not r < high:
        bounds = f"{'>' if low_open else '>='} {low}" + (f" and < {high}" if high != math.inf else "")
        raise ValueError(f"{what} must be a finite number {bounds}, got {quoted(x)}")
    return r


class _State:
    """A per-parameter state vector of an optimizer (SGD's velocity, Adam's m and s), read as a list of
    floats. Kept between steps as the step left it (a numpy array when numpy imports), so a step does
    not convert 337 or 66,817 floats from a list and back; a list assigned to it is taken as it is."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, opt, owner=None) -> list[float]:
        if opt is None:
            return self
        v = getattr(opt, self.slot)
        return v if isinstance(v, list) else v.tolist()

    def __set__(self, opt, value) -> None:
        setattr(opt, self.slot, value)


class Optimizer:
    """The parameters an optimizer updates, and `zero_grad`. ``weight_decay`` λ ≥ 0 adds λ w to each
    gradient before the update, as PyTorch's does (an L2 penalty λ/2 Σ w²; it reaches biases too)."""

    def __init__(self, params: Iterable[Value], lr: float, weight_decay: float = 0.0):
        who = type(self).__name__
        if isinstance(params, (Value, str, bytes)) or not isinstance(params, Iterable):
            hint = ("model.parameters()" if callable(getattr(params, "parameters", None))
                    else "a list of Values, e.g. model.parameters()")
            raise TypeError(f"{who}: params must be an iterable of Values, got {type(params).__name__}; "
                            f"pass {hint}")
        self.params = list(params)
        if not self.params:   # as PyTorch's "optimizer got an empty parameter list"
            raise ValueError(f"{who}: params is empty, so a step would update nothing; pass "
                             "model.parameters()")
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"{type(self).__name__}: params[{i}] is a {type(p).__name__}, not a Value; "
                                "pass model.parameters()")
        self.lr = lr
        self.weight_decay = _check(weight_decay, f"{type(self).__name__}: weight_decay", 0.0)
        self._size = len(self.params)
        self._written = self._written_array = None   # what the last step wrote into .data (`_commit`)

    @property
    def lr(self) -> float:
        """The learning rate η, a finite number > 0; set between steps for a schedule (checked then, as
        the constructor checks it: ValueError naming the value)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _check(value, f"{type(self).__name__}: lr", 0.0, low_open=True)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 before the next backward pass."""
        zero_grads(self.params)

    def _decayed(self, np, data, grads):
        """The gradients with λ w added (PyTorch's ``d_p = d_p.add(p, alpha=weight_decay)``)."""
        wd = self.weight_decay
        if not wd:
            return grads
        if np is None:
            return [g + wd * w for w, g in zip(data, grads, strict=True)]
        return grads + wd * data

    def _vectors(self, np):
        """(values, gradients) of the parameters as float64 arrays, or as lists of floats when ``np``
        (the numpy module) is None. The values this optimizer wrote at its last step are not converted
        again (`_unchanged`); a value edited by hand, or a parameter replaced in ``params``, and they are
        read afresh. ValueError when ``params`` no longer holds as many Values as the optimizer was made
        for (its state is per parameter)."""
        params = self.params
        if len(params) != self._size:
            raise ValueError(f"{type(self).__name__}.step: params holds {len(params)} Values, but the "
                             f"optimizer was made for {self._size} and keeps a state per parameter; "
                             "replace a parameter in place, or make a new optimizer for the new list")
        data = [p.data for p in params]   # a list comprehension: twice as fast here as map(attrgetter)
        if np is None:
            if set(map(type, data)) != {float} or not all(map(math.isfinite, data)):
                self._refuse_values(data)
            return data, list(map(_GRAD, params))
        if self._unchanged(data):
            values = self._written_array
        else:
            if set(map(type, data)) != {float}:
                self._refuse_values(data)   # a value set by hand: a number ("1", True and None are not)
            values = self._array(np, data, data)
            if not all_finite(values):
                self._refuse_values(data)   # NaN or inf set by hand
        grads = self._array(np, stored_grads(params), data)
        if np.isnan(grads).any():  # numpy reads None (no backward pass reached it) as NaN
            grads = self._array(np, map(_GRAD, params), data)
        return values, grads

    def _unchanged(self, data: list) -> bool:
        """Whether every parameter still holds the float the last step wrote (`_commit`): its array is
        then taken as it is, without converting and checking the values again (a third of an SGD step
        on W1's 337 parameters). Compared in C, identity first."""
        try:
            return data == self._written
        except ValueError:   # a batch among the values, compared element-wise: not what was written
            return False

    def _array(self, np, numbers: Iterable, data: list):
        """``numbers`` (one per parameter) as a float64 array. A parameter's value or gradient that
        holds a batch is refused in words, once `_refuse_values` has had its say on the values ``data``."""
        try:
            return np.fromiter(numbers, float, self._size)
        except (TypeError, ValueError, OverflowError):
            self._refuse_values(data)
            i = next((i for i, p in enumerate(self.params)
                      if getattr(p.grad, "ndim", 0) or getattr(p.data, "ndim", 0)), 0)
            raise TypeError(f"{type(self).__name__}.step: {self._name(i)} holds a batch (one number per "
                            "example), not one number; optimize parameters, not batched nodes") from None

    def _name(self, i: int) -> str:
        """How every refusal names parameter ``i``: ``params[3] (layers.0.neurons.1.w.0)``, the label
        given when it has one."""
        label = self.params[i].label
        return f"params[{i}]" + (f" ({label})" if label else "")

    def _refuse_values(self, data: list) -> None:
        """Raise naming the first parameter whose ``.data`` (set by hand) is not a finite number: a bool,
        a str, None, NaN or inf (a batch is refused by the caller); return if there is none."""
        for i, x in enumerate(data):
            if getattr(x, "ndim", 0):   # a batch: the caller's message
                continue
            x = x.item() if getattr(x, "ndim", None) == 0 else x
            name = self._name(i)
            if isinstance(x, bool) or not isinstance(x, numbers.Real):
                raise TypeError(f"{type(self).__name__}.step: parameter {name} holds {x!r:.60} "
                                f"({type(x).__name__}), not a number; nothing was updated. Set its .data "
                                "to a float")
            if not math.isfinite(x):
                raise ValueError(f"{type(self).__name__}.step: parameter {name} holds {x!r}, not a finite "
                                 "number; nothing was updated. Set its .data to a finite float")

    def _commit(self, np, new, grads, state: dict) -> None:
        """Assign ``new`` (an array, or a list when ``np`` is None) to the parameters once it, the
        gradients ``grads`` and each entry of ``state`` (the optimizer's per-parameter state after this
        step) are all finite; otherwise raise `FloatingPointError` naming the parameter concerned and
        what to do (`_refuse`), having changed nothing."""
        if np is None:
            if not all(map(math.isfinite, chain(new, grads, *state.values()))):
                self._refuse(new, state)
        else:
            if not (all_finite(new) and all_finite(grads) and all(map(all_finite, state.values()))):
                self._refuse(new.tolist(), {k: v.tolist() for k, v in state.items()})
            written = new.tolist()
            # Kept for the next step (`_unchanged`) unless a value is 0 or 1, where equality would not
            # tell it from -0.0 (whose update may differ in the sign of a zero), False or True (refused).
            kept = not (np.count_nonzero(new == 0.0) or np.count_nonzero(new == 1.0))
            self._written, self._written_array = (written, new) if kept else (None, None)
            new = written
        for p, x in zip(self.params, new, strict=True):
            p.data = x

    def _refuse(self, new: list[float], state: dict[str, list[float]]) -> None:
        """The error of `_commit`, naming the parameter concerned and what to do about it. A gradient
        that is not finite comes first, whichever parameter holds it: no lr can cause or fix it, and
        it makes the new value and the state not finite too. Then a weight decay term λ·w that
        overflows (the gradient g + λ·w the optimizer uses: lower weight_decay). Otherwise the
        gradients are finite and the step overflowed: the state (Adam's g², a velocity) when the
        gradients are too big, else the new value w − η·(update) when the lr is."""
        who = type(self).__name__
        bad_grad = next((i for i, p in enumerate(self.params) if not math.isfinite(p.grad)), None)
        if bad_grad is not None:
            p = self.params[bad_grad]
            raise FloatingPointError(
                f"{who}.step: parameter {self._name(bad_grad)} has gradient {p.grad!r}, not a finite "
                f"number (value {p.data!r}); nothing was updated. No lr would help: the gradient was "
                f"already {p.grad!r} when the step began. backward() refuses a gradient that is not "
                "finite, so this one was set by hand (.grad = ...) or by other code. Call zero_grad() "
                "and backward() again: if the gradient is not finite there, backward() raises naming the "
                "node where it arises (inside `with autodiff.detect_anomaly():` also the line of your "
                "code that made that op)")
        wd = self.weight_decay
        for i, p in enumerate(self.params):  # the gradient is finite, its weight decay term λ·w is not
            if wd and not math.isfinite(p.grad + wd * p.data):
                raise FloatingPointError(
                    f"{who}.step: parameter {self._name(i)} would get the gradient {p.grad!r} + "
                    f"weight_decay·value = {p.grad + wd * p.data!r} (weight_decay {wd!r}, value {p.data!r}); "
                    "nothing was updated. Lower weight_decay: its term overflows whatever the lr")
        for i, p in enumerate(self.params):
            states = {k: v[i] for k, v in state.items() if not math.isfinite(v[i])}
            if states or not math.isfinite(new[i]):
                bad = ({} if math.isfinite(new[i]) else {"new value": new[i]}) | states
                what = ", ".join(f"{k} {v!r}" for k, v in bad.items())
                advice = ("Clip or rescale the gradients (or scale the loss down): the state overflows "
                          "whatever the lr" if states else
                          "Lower the lr, or clip or rescale the gradients")
                raise FloatingPointError(
                    f"{who}.step: parameter {self._name(i)} would get {what} (value {p.data!r}, gradient "
                    f"{p.grad!r}); nothing was updated. {advice}")
        raise AssertionError("_refuse found nothing to refuse")  # pragma: no cover

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum μ (PyTorch's convention):
    v ← μ v + g, then w ← w − η v. ``lr`` may be changed between steps (a schedule)."""

    velocity = _State()

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.momentum = _check(momentum, "SGD: momentum", 0.0, 1.0)
        self.velocity = [0.0] * len(self.params)

    def step(self) -> None:
        """One update of every parameter, all or nothing (see `Optimizer._commit`)."""
        np, mu, lr = lazy_numpy(), self.momentum, self.lr
        data, grads = self._vectors(np)
        if np is None:
            grads = self._decayed(np, data, grads)
            velocity = [mu * v + g for v, g in zip(self.velocity, grads, strict=True)]
            new = [w - lr * v for w, v in zip(data, velocity, strict=True)]
        else:
            with np.errstate(all="ignore"):  # what overflows is refused by `_commit`, in words
                grads = self._decayed(np, data, grads)
                velocity = mu * np.asarray(self._velocity, dtype=float) + grads
                new = data - lr * velocity
        self._commit(np, new, grads, {"velocity": velocity})
        self._velocity = velocity


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected first and second moment estimates; ``weight_decay``
    as PyTorch's Adam (added to the gradient, not AdamW's decoupled decay)."""

    m, s = _State(), _State()

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {quoted(betas)}")
        self.betas = (_check(betas[0], "Adam: betas[0]", 0.0, 1.0),
                      _check(betas[1], "Adam: betas[1]", 0.0, 1.0))
        self.eps = _check(eps, "Adam: eps", 0.0, low_open=True)
        self.t = 0
        self.m = [0.0] * len(self.params)
        self.s = [0.0] * len(self.params)

    def step(self) -> None:
        """One update of every parameter, all or nothing (see `Optimizer._commit`): a gradient so
        large that its square overflows is refused rather than stored as an infinite second moment."""
        (b1, b2), lr, eps, t = self.betas, self.lr, self.eps, self.t + 1
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        np = lazy_numpy()
        data, g = self._vectors(np)
        if np is None:
            g = self._decayed(np, data, g)
            m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(self.m, g, strict=True)]
            s = [b2 * si + (1 - b2) * gi * gi for si, gi in zip(self.s, g, strict=True)]
            new = [w - lr * (mi / c1) / (math.sqrt(si / c2) + eps)
                   for w, mi, si in zip(data, m, s, strict=True)]
        else:
            with np.errstate(all="ignore"):  # what overflows is refused by `_commit`, in words
                g = self._decayed(np, data, g)
                m = b1 * np.asarray(self._m, dtype=float) + (1 - b1) * g
                s = b2 * np.asarray(self._s, dtype=float) + (1 - b2) * g * g
                new = data - lr * (m / c1) / (np.sqrt(s / c2) + eps)
        self._commit(np, new, g, {"first moment m": m, "second moment s": s})
        self.t, self._m, self._s = t, m, s
