"""The check `autodiff.primitives.define` runs on a user's primitive: tried once at a few points, on
numbers, on Values (second derivatives) and on arrays, so that a rule that would go silently wrong
(``math.cos`` in it: a wrong Hessian) is refused at definition, naming the primitive.
"""

from __future__ import annotations

import math
import numbers

from autodiff.engine import Value, check_leaves
from autodiff.graph import walk_leaves
from autodiff.primitives import (
    PROBES,
    RULE_SIGNATURE,
    Primitive,
    Rule,
    as_floats,
    as_real,
    is_array,
    quoted,
    rule_result_problem,
)
from autodiff.reference import floats_refused, gradients

__all__ = ["probe"]

_PROBE_POINTS = (0.7, 1.3, 0.3, 2.5, -0.6, -1.7, 4.0)


def probe(prim: Primitive, probe_at: tuple[float, ...] | None = None) -> Rule:
    """Try a user's primitive at every trial point where its forward and rule are defined (``probe_at``
    first, if given, then `_PROBE_POINTS`: both signs, so a branch on the sign is met) and return its
    rule (wrapped to give Python floats if it gives numpy scalars). TypeError or ValueError naming the
    primitive if it is not a rule (see `define`), or if no point could be tried: a forward defined at
    none of them, or a rule failing at every one (then ``probe_at=`` gives a point of its domain)."""
    k = 3 if prim.arity == -1 else prim.arity
    where = f"define({prim.name!r})"
    points = [[start + 0.11 * j for j in range(k)] for start in _PROBE_POINTS]
    if probe_at is not None:
        points.insert(0, _given_point(prim, where, probe_at))
    tried, failures, floats, failed_forward = 0, [], True, ""
    for xs in points:
        try:
            out = prim.forward(*xs)
        except (MemoryError, RecursionError):
            raise
        except Exception as e:
            if tried or not isinstance(e, TypeError):  # once it took its numbers: outside its domain
                failed_forward = failed_forward or f"{type(e).__name__}: {e}"
                continue
            raise TypeError(f"{where}: forward failed when called with {len(xs)} number(s) ({e}); it must "
                            f"take {'any number of' if prim.arity == -1 else '`arity`'} numbers and return "
                            "a number") from None
        terms = _probe_rule(prim, where, 0.9, out, xs, failures)
        if terms is None:
            continue
        tried += 1
        if not prim.once_differentiable:
            _probe_second_order(prim, where, xs, terms)
        if prim.batch_forward is not None:
            _probe_batch(prim, where, xs, out, terms)
        floats = floats and all(t.__class__ is float for t in terms)
    if not tried:
        shown = ", ".join(f"{x:g}" for x in _PROBE_POINTS)
        at = (f"the first input at {shown}" + (", the others 0.11 apart" if k > 1 else "")
              + (f", and probe_at={tuple(probe_at)}" if probe_at is not None else ""))
        why = (f"the rule failed wherever the forward is defined ({failures[0]})" if failures else
               f"the forward is defined at none of them ({failed_forward})")
        raise ValueError(f"{where}: the row could not be tried at any point ({at}): {why}; so its rule is "
                         "unchecked. Pass probe_at=(a point where the forward and the rule are defined, "
                         "one number per input)")
    return prim.vjp if floats else as_floats(prim.vjp)


def _given_point(prim: Primitive, where: str, probe_at) -> list[float]:
    """``probe_at`` as a list of floats, one per input; ValueError/TypeError saying what is wrong."""
    try:
        xs = [float(x) for x in probe_at]
    except OverflowError:   # an int beyond the floats
        big = next(x for x in probe_at if as_real(x) in (math.inf, -math.inf))
        raise ValueError(f"{where}: probe_at must hold finite numbers, got {quoted(big)}") from None
    except (TypeError, ValueError):
        raise TypeError(f"{where}: probe_at must be a tuple of numbers (one per input), got "
                        f"{quoted(probe_at)}") from None
    if any(isinstance(x, bool) for x in probe_at) or not xs or (prim.arity != -1 and len(xs) != prim.arity):
        count = prim.arity if prim.arity != -1 else "one or more"
        raise ValueError(f"{where}: probe_at must be a tuple of {count} number(s), one per input; got "
                         f"{quoted(probe_at)}")
    return xs


def _probe_rule(prim: Primitive, where: str, g, out, xs, failures: list) -> tuple | None:
    """The rule's terms at ``xs`` (None where it is not defined: why is added to ``failures``), or
    TypeError saying what is wrong."""
    try:
        terms = prim.vjp(g, out, *xs)
    except (ArithmeticError, ValueError) as e:
        failures.append(f"{type(e).__name__}: {e} at {xs}")
        return None
    except (MemoryError, RecursionError):
        raise
    except Exception as e:
        hint = (" (on numbers the inputs are floats: write autodiff.log(x), autodiff.cos(x), which take "
                "numbers, Values and arrays, not x.log())" if isinstance(e, AttributeError) else "")
        raise TypeError(f"{where}: the rule failed when called as vjp(upstream, out, *inputs) with "
                        f"{len(xs)} number(s) {xs} ({type(e).__name__}: {e}){hint}; "
                        f"{RULE_SIGNATURE}") from None
    problem = rule_result_problem(terms, len(xs))
    if problem:
        raise problem[0](f"{where}: the rule at inputs {xs}: {problem[1]}; {RULE_SIGNATURE}")
    for t in terms:
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or is_array(t):
            raise TypeError(f"{where}: the rule gave {type(t).__name__} {t!r:.40} as a term for numbers; "
                            "each term must be a number (upstream times the local derivative)")
    return tuple(terms)


def _probe_second_order(prim: Primitive, where: str, xs: list, terms: tuple) -> None:
    """The rule run on Values (a graph, as for second derivatives) must give the same terms, and their
    derivatives must agree with central differences of the rule on numbers."""
    fix = ("write the rule with autodiff's functions (autodiff.cos(x), x.exp(), x ** 2, which work on "
           "numbers, arrays and Values) instead of math or numpy functions, or pass "
           "once_differentiable=True (then no second derivatives through it)")
    leaves = [Value(x) for x in xs]
    node = prim(*leaves)
    try:
        with floats_refused():
            graph = prim.vjp(Value(0.9), node, *leaves)
    except Exception as e:
        raise TypeError(f"{where}: the rule does not run on Values, as grad(create_graph=True) and "
                        f"hessian need ({type(e).__name__}: {e}); {fix}") from None
    for i, (t, want) in enumerate(zip(graph, terms, strict=True)):
        def term(at, i=i):
            return prim.vjp(0.9, prim.forward(*at), *at)[i]
        got = t.data if isinstance(t, Value) else t
        if isinstance(t, Value):   # a Value of the user's the rule reads may have been set by hand
            check_leaves(*walk_leaves(t)[:2], where)   # refused as grad() refuses it, naming it
        grads = gradients(t) if isinstance(t, Value) else {}
        for j, x in enumerate(xs):
            h = 1e-5 * max(1.0, abs(x))
            up, down = list(xs), list(xs)
            up[j] += h
            down[j] -= h
            try:
                slope = (term(up) - term(down)) / (2 * h)
            except (ArithmeticError, ValueError):  # the rule is not defined beside the point
                continue
            d = grads.get(leaves[j], 0.0)
            if abs(got - want) > 1e-9 * (1 + abs(want)) or abs(d - slope) > 1e-4 * (1 + abs(slope)):
                raise ValueError(
                    f"{where}: on Values the rule gives a term whose derivative with respect to input "
                    f"{j + 1} is {d:.6g} at {xs}, but central differences of the rule give {slope:.6g}: "
                    f"its second derivatives (hessian, grad(create_graph=True)) would be wrong; {fix}")


def _probe_batch(prim: Primitive, where: str, xs: list, out: float, terms: tuple) -> None:
    """The batch forward and the rule on arrays (two examples at ``xs``) must agree with the numbers."""
    import warnings

    import numpy as np
    arrays = [np.full(2, x) for x in xs]
    fix = ("on a batch the rule gets arrays (one number per example): write it with array arithmetic "
           "(np.where for a branch) or autodiff's functions (autodiff.cos, autodiff.exp, ...), not the "
           "math module or a Python `if`")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = prim.batch_forward(*arrays)
        if not np.allclose(got, out, rtol=1e-12, atol=1e-300):
            raise ValueError(f"{where}: batch_forward gives {got[0]!r} at {xs} where forward gives "
                             f"{out!r}; they must compute the same function")
        try:
            batch_terms = prim.vjp(np.full(2, 0.9), got, *arrays)
        except Exception as e:
            raise TypeError(f"{where}: the rule fails on a batch ({type(e).__name__}: "
                            f"{str(e).split('. Use a.any()')[0]}); {fix}") from None
    for t, want in zip(batch_terms, terms, strict=False):
        if np.shape(t) != (2,) or not np.allclose(t, want, rtol=1e-9, atol=1e-300):
            raise ValueError(f"{where}: on a batch the rule gives {t!r:.60} where on numbers it gives "
                             f"{want!r}; {fix}")


PROBES.append(probe)
