"""Loss functions built from the engine's primitives, so their gradients need no code of their own.

Per-example losses sum over the output units, as the documents write them; `mean` averages over
examples. Targets may be plain numbers or `Value`s (a `Value` target is part of the graph).

Every loss also takes batched Values (`autodiff.batched`: one number per example) and then gives one
loss per example, still a batched Value; reduce it over the examples explicitly with `mean` (or
`autodiff.batched.total`) before `backward()`:

    xs = batch_columns(X)
    loss = mean(hinge(model(xs), batch(2 * y - 1))) + l2(model.weights(), 1e-4)

    squared_error(y, t)        = ½ Σ_k (y_k − t_k)²
    cross_entropy(z, c)        = −log softmax(z)_c = log Σ_j e^{z_j} − z_c
    binary_cross_entropy(p, t) = −Σ_k [t_k log p_k + (1 − t_k) log(1 − p_k)]
    binary_cross_entropy_with_logits(z, t) = Σ_k [t_k softplus(−z_k) + (1 − t_k) softplus(z_k)]
                                                                               (the same, p_k = σ(z_k))
    hinge(s, y)                = Σ_k max(0, 1 − y_k s_k),  y_k ∈ {−1, +1}
    l2(params, λ)              = λ/2 Σ w²
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

from autodiff import PRIMITIVES, Value
from autodiff.primitives import as_real, quoted, sum_squares_op

__all__ = ["squared_error", "mean", "softmax", "log_softmax", "cross_entropy",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "hinge", "l2"]

Scalar = Value | float
Scalars = Sequence[Scalar] | Scalar


def _is_number(x: object) -> bool:
    return isinstance(x, Value) or (isinstance(x, numbers.Real) and not isinstance(x, bool))


def _is_batched(x: object) -> bool:
    """A Value holding one number per example (see `autodiff.batched`)."""
    return isinstance(x, Value) and getattr(x.data, "ndim", 0) > 0


def _first_failure(holds, where: str) -> tuple[str, float] | None:
    """``holds`` is a check's outcome, a bool or (batched) one bool per example: None when it holds
    everywhere, else (``where``, naming the first failing example, and that example's index)."""
    if getattr(holds, "ndim", 0) == 0:
        return None if holds else (where, -1)
    if holds.all():
        return None
    i = int((~holds).argmax())
    return f"{where} of example {i}", i


def _check(x: Scalar, holds, who: str, where: str, why: str) -> None:
    """Raise ``ValueError`` naming the entry (and example) of ``x`` where ``holds`` fails."""
    failed = _first_failure(holds, where)
    if failed is not None:
        d = _data(x)
        shown = d if failed[1] < 0 else float(d[failed[1]])
        raise ValueError(f"{who}: {failed[0]} = {shown!r}{why}")


def _finite(d) -> object:
    return d - d == 0  # False for inf and NaN; works on floats and arrays alike


def _items(x: object, who: str, what: str) -> list[Scalar]:
    """A single number/Value as a list of one, or a list/tuple/1-D array of numbers and Values."""
    if _is_number(x):
        items = [x]
    elif isinstance(x, (list, tuple)) or (type(x).__module__ == "numpy" and getattr(x, "ndim", 0) == 1):
        items = list(x.tolist() if hasattr(x, "tolist") else x)
    else:
        raise TypeError(f"{who}: {what} must be a number, a Value, or a list of them, got "
                        f"{type(x).__name__} {x!r:.60}")
    if not items:
        raise ValueError(f"{who}: {what} is empty")
    for i, v in enumerate(items):
        if not _is_number(v):
            raise TypeError(f"{who}: {what}[{i}] must be a number or a Value, got {type(v).__name__} "
                            f"{v!r:.60}")
        if v.__class__ is Value and v.data.__class__ is not float:
            _check_kind(v, who, f"{what}[{i}]")
        _check(v, _finite(_data(v)), who, f"{what}[{i}]", "; losses need finite numbers")
    return items


def _check_kind(v: Value, who: str, where: str) -> None:
    """Refuse, naming the Value, a ``.data`` set by hand to what no op takes (a bool, a str, a list, an
    array of bools, strs or objects) before numpy says so in its own words. A number of another type
    and an array of ints pass: the op reading them makes a float of them."""
    d = v.data
    dtype = getattr(d, "dtype", None)
    kind = getattr(dtype, "kind", None) if dtype is not None else None
    if (kind is not None and kind in "iuf" if dtype is not None
            else isinstance(d, numbers.Real) and not isinstance(d, bool)):
        return
    name = f"the Value {v.label!r}" if v.label else "a Value"
    held = (f"an array of {dtype}" if kind is not None and getattr(d, "ndim", 0)
            else f"{type(d).__name__} {d!r:.40}")
    raise TypeError(f"{who}: {where} is {name}, which holds {held}; a Value holds one real number or, "
                    "batched, a 1-D array of floats, one per example: set .data to one "
                    "(np.asarray(x, dtype=float))")


def _pair(pred: object, target: object, who: str, names: tuple[str, str]) -> tuple[list, list]:
    p, t = _items(pred, who, names[0]), _items(target, who, names[1])
    if len(p) != len(t):
        raise ValueError(f"{who}: {names[0]} has {len(p)} entries but {names[1]} has {len(t)}; "
                         "they must have the same length")
    return p, t


def _data(x: Scalar) -> float:
    return x.data if isinstance(x, Value) else float(x)


_LOGSUMEXP = PRIMITIVES["logsumexp"]


def _sum(terms: list[Value]) -> Value:
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def _value(x: Scalar) -> Value:
    return x if isinstance(x, Value) else Value(x)


def squared_error(pred: Scalars, target: Scalars) -> Value:
    """E = ½ Σ_k (pred_k − target_k)², the documents' error for one example.

    ∂E/∂pred_k = pred_k − target_k.
    """
    p, t = _pair(pred, target, "squared_error", ("pred", "target"))
    return _sum([0.5 * (_value(pk) - tk) ** 2 for pk, tk in zip(p, t, strict=True)])


def mean(values: Iterable[Scalar] | Value) -> Value:
    """(1/n) Σ_i values_i: the average of per-example losses, given as a list, or as one batched
    Value holding every example's loss (then it is `autodiff.batched.mean`)."""
    if _is_batched(values):
        from autodiff.batched import mean as mean_over_examples
        _items(values, "mean", "values")
        return mean_over_examples(values)
    v = _items(list(values) if not _is_number(values) else values, "mean", "values")
    if any(_is_batched(x) for x in v):
        raise ValueError("mean: got a list holding batched Values; give one batched Value of per-example "
                         "losses (mean(loss)), or add the list up first")
    return _sum([_value(x) for x in v]) * (1.0 / len(v))


def log_softmax(logits: Scalars) -> list[Value]:
    """log softmax(z)_i = z_i − logsumexp(z), one list entry per logit.

    logsumexp(z) = m + log Σ_j e^{z_j − m} with m = max_j z_j is one node (the primitive
    ``logsumexp``, as ``torch.logsumexp``): every exponent is ≤ 0 (no overflow), and the shift m is
    recomputed from the logits whenever the node is, so a compiled graph (`autodiff.compile`) follows
    the logits' new values. ∂/∂z_j = δ_ij − softmax(z)_j.
    """
    z = [_value(x) for x in _items(logits, "log_softmax", "logits")]
    log_total = _LOGSUMEXP(*z)
    return [x - log_total for x in z]


def softmax(logits: Scalars) -> list[Value]:
    """softmax(z)_i = e^{z_i − logsumexp(z)} (see `log_softmax`: stable for any finite logits)."""
    return [x.exp() for x in log_softmax(logits)]


def cross_entropy(logits: Scalars, target: int | Scalars) -> Value:
    """−Σ_i t_i log softmax(z)_i for one example, via the stable `log_softmax`.

    ``target`` is a class index c (then the loss is −log softmax(z)_c) or a one-hot list (any list of
    probabilities: entries ≥ 0 summing to 1). ∂/∂z_i = softmax(z)_i − t_i. With batched logits, the
    target is a batched Value of class indices (``batch(labels)``) or a list of batched one-hot columns.
    """
    logp = log_softmax(logits)
    if _is_batched(target):
        from autodiff.batched import batch
        c = _data(target)
        _check(target, (c == c.round()) & (c >= 0) & (c < len(logp)), "cross_entropy", "class index",
               f" is not one of 0..{len(logp) - 1} (there are {len(logp)} logits)")
        return -_sum([batch((c == j).astype(float)) * lj for j, lj in enumerate(logp)])
    if _is_number(target):
        c = _data(target)
        if c != int(c) or not 0 <= c < len(logp):
            raise ValueError(f"cross_entropy: class index {c!r} is not one of 0..{len(logp) - 1} "
                             f"(there are {len(logp)} logits)")
        return -logp[int(c)]
    t = _items(target, "cross_entropy", "target")
    if len(t) != len(logp):
        raise ValueError(f"cross_entropy: {len(logp)} logits but a one-hot target of {len(t)}; give a "
                         "class index or a list of the same length")
    data = [_data(x) for x in t]
    total = sum(data)
    for i, (x, d) in enumerate(zip(t, data, strict=True)):
        _check(x, d >= 0, "cross_entropy", f"target[{i}]", "; a one-hot target needs entries >= 0")
    failed = _first_failure(abs(total - 1) <= 1e-9, "the one-hot target")
    if failed is not None:
        shown = [d if failed[1] < 0 else float(d[failed[1]]) for d in data]
        raise ValueError(f"cross_entropy: {failed[0]} sums to {sum(shown)!r}, not 1 ({shown!r:.80}); "
                         "give entries >= 0 summing to 1, or the class index")
    return -_sum([ti * li for ti, li in zip(t, logp, strict=True)])


def binary_cross_entropy(probs: Scalars, targets: Scalars) -> Value:
    """−Σ_k [t_k log p_k + (1 − t_k) log(1 − p_k)], probabilities p_k in (0, 1), targets in [0, 1].

    For probabilities that come from a sigmoid, p_k must not round to exactly 0 or 1.
    """
    p, t = _pair(probs, targets, "binary_cross_entropy", ("probs", "targets"))
    for k, (pk, tk) in enumerate(zip(p, t, strict=True)):
        dp, dt = _data(pk), _data(tk)
        _check(pk, (0 < dp) & (dp < 1), "binary_cross_entropy", f"probs[{k}]", " is not strictly between 0 "
               "and 1 (its log would be infinite); for a sigmoid output use binary_cross_entropy_with_logits "
               "on the logits, which is exact for every finite logit")
        _check(tk, (0 <= dt) & (dt <= 1), "binary_cross_entropy", f"targets[{k}]", " is not in [0, 1]")
    return -_sum([tk * _value(pk).log() + (1 - tk) * (1 - _value(pk)).log()
                  for pk, tk in zip(p, t, strict=True)])


def binary_cross_entropy_with_logits(logits: Scalars, targets: Scalars) -> Value:
    """−Σ_k [t_k log σ(z_k) + (1 − t_k) log(1 − σ(z_k))] for logits z_k and targets t_k in [0, 1]:
    `binary_cross_entropy` of σ(z) without forming σ(z), finite and exact for every finite logit
    (z = 40, t = 0: loss 40, gradient 1; z = 40, t = 1: loss log(1 + e^−40) = 4.25e-18), as PyTorch's
    function of that name. Its gradient is σ(z_k) − t_k.

    Computed as Σ_k [t_k softplus(−z_k) + (1 − t_k) softplus(z_k)], since −log σ(z) = softplus(−z)
    and −log(1 − σ(z)) = softplus(z): each term is a softplus, exact in both tails (the form
    softplus(z) − t z cancels to rounding error when t = 1 and z is large)."""
    z, t = _pair(logits, targets, "binary_cross_entropy_with_logits", ("logits", "targets"))
    for k, tk in enumerate(t):
        dt = _data(tk)
        _check(tk, (0 <= dt) & (dt <= 1), "binary_cross_entropy_with_logits", f"targets[{k}]",
               " is not in [0, 1]")
    return _sum([tk * (-_value(zk)).softplus() + (1 - tk) * _value(zk).softplus()
                 for zk, tk in zip(z, t, strict=True)])


def hinge(scores: Scalars, labels: Scalars) -> Value:
    """Σ_k max(0, 1 − y_k s_k) with labels y_k ∈ {−1, +1}: micrograd's max-margin loss for one example
    (average over examples with `mean`). Its derivative is −y_k where 1 − y_k s_k > 0, else 0 (also at 0)."""
    s, y = _pair(scores, labels, "hinge", ("scores", "labels"))
    for k, yk in enumerate(y):
        d = _data(yk)
        _check(yk, (d == 1) | (d == -1), "hinge", f"labels[{k}]", "; labels must be -1 or +1 (map 0/1 "
               "labels with 2*y - 1)")
    return _sum([(1 - yk * _value(sk)).relu() for sk, yk in zip(s, y, strict=True)])


def l2(params: Iterable[Scalar], lam: float) -> Value:
    """λ/2 Σ w² over ``params`` (usually ``model.weights()``); its gradient is λ w. One node (the
    primitive ``sum_squares`` with scale λ/2, `autodiff.primitives.sum_squares_op`), to the bit the
    graph λ/2 · (w_1*w_1 + w_2*w_2 + ...) in value and gradient (t + t with t = (g·λ/2)·w, subnormals
    too). ValueError for a λ that is not a finite number >= 0 (an int too large for a float too), and
    for no params at all: a sum over nothing would be 0 (PyTorch's), but an empty list here is almost
    always a mistake (a model without weights, a generator already used up), so it is refused.
    TypeError for params that are not an iterable (None), or a param that is not a number or Value."""
    r = as_real(lam)   # ±inf for an int beyond the floats
    if r is None or not math.isfinite(r) or r < 0:
        raise ValueError(f"l2: lam must be a finite number >= 0, got {quoted(lam)}")
    try:
        w = list(params) if not _is_number(params) else [params]
    except TypeError:
        raise TypeError(f"l2: params must be the Values to regularize (an iterable: model.weights()), "
                        f"got {type(params).__name__} {params!r:.60}") from None
    if not w:
        raise ValueError("l2: params is empty, so there is nothing to regularize; pass the Values to "
                         "regularize: model.weights() (model.parameters() to include the biases)")
    if set(map(type, w)) != {Value}:   # model.weights() is all Values (checked in C): nothing to check
        w = [_value(x) for x in _items(w, "l2", "params")]
    return sum_squares_op(float(lam) / 2)(*w)
