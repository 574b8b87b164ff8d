"""`autodiff.compile(root)`: a built graph turned into one straight-line Python program, so that a
training loop builds its graph once and replays it: ``forward()`` recomputes every node from the
leaves' current ``.data``, ``backward()`` leaves in each leaf's ``.grad`` what ``root.backward()`` would.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from operator import add, attrgetter
from typing import Any

from autodiff import vectorized
from autodiff.engine import (
    Value,
    batch_size,
    check_accumulated,
    check_leaves,
    grads_set_by_hand,
    held_grads,
    is_constant_label,
    no_cycle_gc,
    refused_batch,
    release_cycle_gc,
)
from autodiff.graph import NARY, not_a_value, walk, walk_leaves
from autodiff.primitives import (
    ADD,
    MUL,
    NEURON,
    RELU,
    Primitive,
    all_finite,
    as_float_data,
    blas_threads,
    is_array,
    lazy_numpy,
    leaf_number,
    like,
    stacked,
    sum_squares_scale,
)
from autodiff.reference import explained, renamed
from autodiff.steps import local_derivative_text

__all__ = ["compile", "CompiledGraph", "GraphChangedError"]

#: Graphs up to this many nodes get a program a person reads: the nodes' labels as variable names and
#: each local derivative as a comment. Larger ones get short names, which Python parses ~3x faster.
READABLE_NODES = 200


class GraphChangedError(ValueError):
    """`CompiledGraph.check`: a graph built afresh differs from the compiled one (frozen control flow)."""


class CompiledGraph:
    """A graph's forward and backward pass as one straight-line program (see `autodiff.compile`).

    ``forward()``   recomputes every node from the leaves' current ``.data``, sets each node's
                    ``.data``, and returns the root's value (a float).
    ``backward()``  adds d root / d leaf to each leaf's ``.grad`` (leaves accumulate, as with
                    ``root.backward()``: zero them between steps), running ``forward()`` first if it
                    has not run since the last ``backward()``; interior nodes' ``.grad`` are not
                    written (step through the graph, or call ``root.backward()``, to see them).
    ``check(new_root)``  raises `GraphChangedError` naming the first node where a graph built afresh
                    differs from this one: how to catch control flow that was frozen at compile time.
    ``source``      the program's Python source; ``leaves`` the leaves in the order it reads them;
                    ``layers`` whether it runs a batched graph's fused layers as matrix products.

    Raises ArithmeticError/ValueError from the op that left its domain, as the graph's own ops do,
    naming its node (``.node``; then no ``.data`` is changed), and
    FloatingPointError naming the node when a node's value (then no ``.data`` is changed) or a leaf's
    gradient is not finite. Every message begins with the method called: ``compiled forward:``,
    ``compiled backward:`` (also for what the forward pass it runs itself refuses), ``compiled check:``.
    """

    def __init__(self, root: Value, order: list[Value], batched: bool, names: dict[Value, str],
                 source: str, program: Callable, shown: list[Value] | None = None, writes: bool = False,
                 products: tuple[int, int] = (0, 0)):
        self.root, self.source, self.batched = root, source, batched
        self.layers = shown is not None
        self._products = products   # a layer program's largest matrix-matrix and matrix-vector products
        self.leaves = [n for n in order if n._op is None]
        self._interior = shown if shown is not None else [n for n in order if n._op is not None]
        self._floats = [n for n in self.leaves if not is_array(n.data)]   # one number (a float, as a rule)
        self._batches = [n for n in self.leaves if is_array(n.data)]
        self._shapes = [_shape(n.data) for n in self._batches]   # a batched graph is for its batch size
        self._order, self._names, self._program = order, names, program
        self._run: Iterator | None = None
        self._writes = writes   # a large eager graph's program writes each .data itself (`_fast_source`)
        self._held = list(map(_DATA, self.leaves))   # the leaves' values the nodes' .data come from
        # The gradients a pass leaves: floats, and on a batch an array (float64, of its shape). Others,
        # and any after a .grad was set by hand to what is not a float (`grads_set_by_hand()` is not
        # what it was at the last check), are checked as backward() checks them (`held_grads`).
        self._usual = _FLOAT_NONE | {type(n.data) for n in self._batches}
        self._grads_by_hand = -1
        if self._writes:
            self._watched = _watched(self._interior, root)

    def __repr__(self) -> str:
        kind = "batched, " if self.batched else ""
        return (f"CompiledGraph({kind}{len(self.leaves)} leaves, {len(self._interior)} operations, "
                f"root={self._name(self.root)!r})")

    def forward(self) -> float:
        """Recompute every node from the leaves' current ``.data``; return the root's value."""
        return self._forward("compiled forward")

    def _forward(self, where: str) -> float:
        """`forward`, its errors beginning ``where:``, the method the user called (``backward()`` runs
        the forward pass itself when ``forward()`` has not run, or was refused, since the last one)."""
        if self.batched:   # compiled for its batch size (a layer program is always batched)
            batches = list(map(_DATA, self._batches))
            if list(map(_shape, batches)) != self._shapes:
                self._refuse_size(batches, where)
            ndarray = lazy_numpy().ndarray
            for k, (leaf, data) in enumerate(zip(self._batches, batches)):  # noqa: B905 (equal lengths)
                if data.dtype.char != "d" and data.dtype.kind in "iuf":   # ints, float32... set by hand:
                    data = batches[k] = leaf.data = data.astype(float)   # a new float64 array, as backward()
                # set by hand: a masked array (its mask would be lost), bools, strs, NaN
                if data.__class__ is not ndarray or data.dtype.kind != "f" or not all_finite(data):
                    self._refuse_batch(leaf, data, where)
        numbers = [n.data for n in self._floats]
        if set(map(type, numbers)) - _FLOAT:   # in C
            numbers = self._as_floats(where)
        total = sum(numbers)   # every leaf's value finite (a NaN set by hand): one sum in C
        if total - total:
            self._refuse_number(numbers, where)
        try:
            if self.layers:
                np = lazy_numpy()
                run = self._program(numbers, np.fromiter(numbers, float, len(numbers)), batches)
                with np.errstate(all="ignore"), self._blas_threads():   # not finite: refused below
                    values = next(run)
            else:
                run = self._program(self.leaves)
                values = next(run)
        except Exception as e:   # an op out of its domain (log of -1, exp's overflow): name its node
            raise self._named(e, where) from None
        if self._writes:
            values = ()
            total = sum(map(_DATA, self._watched))   # every value finite: one pass in C
            if total - total:
                self._undo_if_not_finite(where)
            self._held = list(map(_DATA, self.leaves))
        elif not self.batched:   # every value finite, as the engine's ops check theirs: one sum
            total = sum(values)
            if total - total:
                self._refuse(values, where)
        for node, x in zip(self._interior, values):  # noqa: B905 (equal lengths; strict costs here)
            node.data = x                             # the graph stays as the program computed it
        out = self.root.data
        if not _finite(out):
            raise FloatingPointError(f"{where}: the root {self._name(self.root)!r} is {out!r}; "
                                     "check the leaves' values (autodiff.detect_anomaly finds the op)")
        self._run = run
        return out

    def _as_floats(self, where: str) -> list[float]:
        """The one-number leaves' values after making a float of each numpy scalar, 0-d array or int
        among them, as the engine's next operation does (`autodiff.primitives.as_float_data`: TypeError
        or ValueError naming the leaf for a bool, a str, NaN, ...); TypeError for a leaf that now
        holds a batch. ``where``: the method called, which the errors begin with."""
        self._check_leaves(where)
        leaf = next((n for n in self._floats if is_array(n.data)), None)
        if leaf is not None:
            now = (f"a batch of {len(leaf.data)} examples" if leaf.data.ndim == 1
                   else f"an array of shape {leaf.data.shape}")
            raise TypeError(f"{where}: {self._leaf_name(leaf)} held one number when the "
                            f"graph was compiled and now holds {now}: the nodes made from its number "
                            "would give wrong gradients; set .data back to one number, or build the "
                            "graph again from the batch and compile it")
        as_float_data(self._floats, where)
        return [n.data for n in self._floats]

    def _check_leaves(self, where: str) -> None:
        """Refuse, in ``root.backward()``'s words, a leaf set by hand to what backward() refuses
        (`autodiff.engine.check_leaves`): called when one of forward()'s own checks failed, before it
        names what backward() takes but a program cannot run on (a batch of another size than it was
        compiled for, a batched leaf now holding one number)."""
        check_leaves(self._order, self.leaves, where)

    def _name(self, node: Value) -> str:
        """A node as messages name it, as backward()'s do (`autodiff.graph.name`): its label, else
        ``v<its place in the graph's topological order>``. A large graph's program uses other names
        (registers), which are not shown to the user."""
        return node.label or f"v{self._order.index(node)}"

    def _leaf_name(self, leaf: Value) -> str:
        """The leaf as a message names it: its label, else ``v<k>`` and its place in ``program.leaves``."""
        if leaf.label:
            return f"the leaf {leaf.label!r}"
        return f"the leaf {self._name(leaf)!r} (program.leaves[{self.leaves.index(leaf)}])"

    def _refuse_number(self, numbers: list[float], where: str) -> None:
        """Raise naming the first one-number leaf that holds NaN or inf (the sum of the leaves' values
        was not finite: if that was an overflow of the sum alone, return)."""
        self._check_leaves(where)
        for leaf, x in zip(self._floats, numbers):  # noqa: B905 (equal lengths)
            if not math.isfinite(x):
                raise ValueError(f"{where}: {self._leaf_name(leaf)} holds {x!r}, not a "
                                 "finite number; a Value holds a finite number: set .data to one")

    def _refuse_batch(self, leaf: Value, data, where: str) -> None:
        """Raise naming a batched leaf whose ``.data`` (set by hand) is not floats or not finite."""
        self._check_leaves(where)
        if data.__class__ is not lazy_numpy().ndarray:
            raise TypeError(f"{where}: {self._leaf_name(leaf)} holds "
                            f"{refused_batch(data, 'set .data to')}")
        if data.dtype.kind != "f":
            raise TypeError(f"{where}: {self._leaf_name(leaf)} holds an array of "
                            f"{data.dtype} ({data.dtype.kind!r} kind); a batch holds floats: set .data "
                            "to a float array (np.asarray(x, dtype=float))")
        bad = ~lazy_numpy().isfinite(data)
        raise ValueError(f"{where}: {self._leaf_name(leaf)} holds "
                         f"{float(data[bad][0])!r} at example {int(bad.argmax())}, not a finite number; a "
                         "batch holds finite numbers: set .data to such an array")

    def _refuse_size(self, batches: list, where: str) -> None:
        """Raise naming the first leaf that no longer holds a batch of the size the graph was built for."""
        self._check_leaves(where)
        for leaf, data, shape in zip(self._batches, batches, self._shapes, strict=True):
            if _shape(data) != shape:
                was = f"a batch of {shape[0]} examples" if shape else "one number"
                now = (f"{data.shape[0]} examples" if is_array(data) and data.ndim == 1
                       else f"an array of shape {data.shape}" if hasattr(data, "shape")
                       else type(data).__name__)
                raise ValueError(
                    f"{where}: {self._leaf_name(leaf)} held {was} when the graph was "
                    f"compiled and now holds {now}: a compiled graph runs on the batch size it was built "
                    f"for (a mean's 1/N is part of it); set every batched leaf to as many examples as it "
                    f"held, or build and compile the graph again for the new size")

    def _blas_threads(self):
        """The BLAS threads the batched executor would let this program's products use
        (`autodiff.primitives.BLAS_THREADS`): limited for the whole pass if its largest product would
        be (a null context for small products, as there)."""
        gemm, gemv = self._products
        limit = blas_threads(gemm, matrix=True)
        return limit if not isinstance(limit, nullcontext) else blas_threads(gemv, matrix=False)

    def _undo_if_not_finite(self, where: str) -> None:
        """The fast program has written every node's ``.data``: if one is not finite, put back what the
        graph held (the program run again on the leaves' values of the last forward pass, which gave
        those values to the bit) and raise naming the node; if only the sum overflowed, return."""
        values = list(map(_DATA, self._interior))
        if all(map(math.isfinite, values)):
            return
        self._put_back()
        self._refuse(values, where)

    def _put_back(self) -> None:
        """Give every node the ``.data`` of the last forward pass again (the fast program run on the
        leaves' values of that pass, which gave those values to the bit), the leaves left as they are."""
        now = list(map(_DATA, self.leaves))
        for leaf, x in zip(self.leaves, self._held):  # noqa: B905 (equal lengths)
            leaf.data = x
        try:
            next(self._program(self.leaves))
        finally:
            for leaf, x in zip(self.leaves, now):  # noqa: B905 (equal lengths)
                leaf.data = x

    def _named(self, error: Exception, where: str) -> Exception:
        """``error``, raised by an op of the program (which has no node to name), as an error of its
        type naming the node: the first one whose primitive raises when the nodes are computed again
        one by one from the leaves' values, parents first. Off the hot path: only once something
        failed. The fast program wrote the nodes' ``.data`` up to there: they are put back first."""
        if self._writes:
            self._put_back()
        values: dict[Value, Any] = {leaf: leaf.data for leaf in self.leaves}
        for node in self._order:
            if node._op is None:
                continue
            try:
                values[node] = node.primitive(*(values[p] for p in node.parents))
            except Exception as again:   # noqa: BLE001 - any op's error is named, then raised
                inputs = ", ".join(f"{self._name(p)!r} = {_shown(values[p])}" for p in node.parents)
                what = "the root" if node is self.root else "node"
                message = (f"{where}: {again} (at {what} {self._name(node)!r}, {node.op} of "
                           f"{inputs}); no .data was changed")
                try:
                    named = type(again)(message)
                except TypeError:   # an error class that takes other arguments
                    named = ValueError(message)
                named.node = node
                return named
        return error

    def _refuse(self, values, where: str) -> None:
        """Raise naming the first node whose value is not finite (the sum of the values was not: if that
        was an overflow of the sum alone, return). No node's ``.data`` has been changed yet."""
        for node, x in zip(self._interior, values):  # noqa: B905 (equal lengths)
            if not math.isfinite(x):
                what = "the root" if node is self.root else "node"
                raise FloatingPointError(
                    f"{where}: {what} {self._name(node)!r} ({node.op}) is {x!r}, not a finite "
                    "number; no .data was changed. Scale the leaves' values down (on the graph built "
                    "afresh, autodiff.detect_anomaly shows where the op was made)")

    def backward(self) -> None:
        """Add d root / d leaf to every leaf's ``.grad`` (accumulating, as ``root.backward()`` does)."""
        release_cycle_gc()   # the collector's threshold back, as root.backward() does
        if self._run is None:   # no forward() since the last backward(), or it was refused
            self._forward("compiled backward")
        run, self._run = self._run, None
        if self.layers:
            import numpy as np
            try:
                with np.errstate(all="ignore"), self._blas_threads():
                    GP, arrays = next(run)
            except Exception as e:   # a failing rule (sqrt at 0): the reference loop names its op and node
                raise explained(e, self.root) from None
            run.close()
            self._accumulate_layers(GP, arrays)
        elif self.batched:   # the batched executor itself, on the order walked once at compile time
            run.close()
            self._batched_backward()
        else:
            try:
                grads = next(run)
            except Exception as e:   # a failing rule: the reference loop names its op and node
                raise explained(e, self.root) from None
            self._accumulate(grads)

    def _accumulate(self, grads: list, leaves: list[Value] | None = None) -> None:
        """Add this pass's gradients to the leaves' ``.grad``, all or none: refused if a sum is not
        finite (this pass's gradient, or what it adds up to with what the leaf held), as backward()."""
        leaves = self.leaves if leaves is None else leaves
        held = list(map(_GRAD, leaves))
        kinds = set(map(type, held))   # in C
        if kinds - _FLOAT_NONE:   # a batch's array, or a .grad set by hand
            hand = grads_set_by_hand()
            if kinds - self._usual or hand != self._grads_by_hand:
                held = held_grads(leaves, self._order, "compiled backward")   # checked as backward() does
                kinds = set(map(type, held))
                self._grads_by_hand = hand
        if _NONE in kinds:    # a gradient never set (`is`: arrays compare elementwise)
            totals = [g if h is None else h + g for h, g in zip(held, grads, strict=True)]
        else:
            totals = list(map(add, held, grads))   # in C (lengths equal: the program yields one a leaf)
        if not self.batched:   # one sum checks them all (an overflow of the sum alone: looked at below)
            total = sum(totals)
            if not total - total:
                for leaf, t in zip(leaves, totals):  # noqa: B905 (equal lengths; strict costs here)
                    leaf._grad = t
                return
        bad = [leaf for leaf, t in zip(leaves, totals, strict=True) if not _finite(t)]
        if bad and all(map(_finite, grads)):   # what a leaf held (NaN, a sum that overflows): as backward()
            check_accumulated(list(zip(leaves, totals, strict=True)), self._order, "compiled backward")
        if bad:
            raise FloatingPointError(f"compiled backward: the gradient of {self._name(bad[0])!r} is not "
                                     f"finite ({len(bad)} leaves); no .grad was changed")
        for leaf, t in zip(leaves, totals, strict=True):
            leaf._grad = t

    def _accumulate_layers(self, GP, arrays: tuple) -> None:
        """`_accumulate` for a layer program: the one-number leaves' sums in one numpy addition, or
        none when they all held 0 (after ``zero_grad()``): 0.0 + t is t, and GP, summed from +0.0,
        never holds -0.0. What they held is read as floats, unless a ``.grad`` was set to what is not
        a float since the last check (`grads_set_by_hand`): then each is checked (`_accumulate`)."""
        np = lazy_numpy()
        floats = self._floats
        held = [n._grad for n in floats]
        totals = None
        hand = grads_set_by_hand()
        if hand == self._grads_by_hand:   # no .grad set to what is not a float since the last check
            try:
                zeros = held.count(0.0) == len(held)
                with np.errstate(all="ignore"):
                    totals = GP if zeros else np.array(held, dtype=float) + GP
            except (TypeError, ValueError):   # a gradient not set yet (None)
                totals = None
        if totals is None or not all_finite(totals):   # checked and refused as backward() does
            self._accumulate([*GP.tolist(), *arrays], [*floats, *self._batches])
            self._grads_by_hand = hand
            return
        self._accumulate(list(arrays), self._batches)   # raises, changing nothing, if one is not finite
        for leaf, t in zip(floats, totals.tolist()):  # noqa: B905 (equal lengths; strict costs here)
            leaf._grad = t

    def _batched_backward(self) -> None:
        """The batched executor on the order walked at compile time. It reads the leaves' ``.data``
        anew, so what ``forward()`` refuses (set by hand since it ran) is refused here too."""
        batches = list(map(_DATA, self._batches))
        if list(map(_shape, batches)) != self._shapes:
            self._refuse_size(batches, "compiled backward")
        if any(d.dtype.char != "d" for d in batches):   # set by hand since forward(): read as it reads
            self._check_leaves("compiled backward")
            for leaf in self._batches:
                if leaf.data.dtype.char != "d":
                    leaf.data = leaf.data.astype(float)   # ints, float32...: a new float64 array
        if set(map(type, map(_DATA, self._floats))) - _FLOAT:
            self._as_floats("compiled backward")
        order = self._order
        before = [leaf._grad for leaf in self.leaves]
        interior = [node._grad for node in self._interior]
        import numpy as np
        try:
            with no_cycle_gc(), np.errstate(all="ignore"):  # what is not finite is refused below, in words
                vectorized.backward(order)
        except Exception as e:   # a failing rule, named by the executor as backward() names it
            raise renamed(e, "compiled backward") from None
        finally:
            grads = [leaf._grad for leaf in self.leaves]
            for node, g in zip(self._interior, interior, strict=True):
                node._grad = g            # as the eager program: interior nodes' .grad untouched
            for leaf, g in zip(self.leaves, before, strict=True):
                leaf._grad = g
        self._accumulate(grads)

    def check(self, new_root: Value) -> None:
        """Raise `GraphChangedError` if ``new_root``'s graph (built afresh by the same code) is not this
        graph's shape: the same ops in the same order, reading the same parents and the same leaves
        (parameters and every leaf you made by identity; a constant, a leaf made from a plain number
        by the engine or by `nn` (no label, or ``x.0``, ``x.1``, ...), by value). Python control flow
        that read values while the graph was built (``if x.data > 0``) is frozen in the compiled
        program; this is how to catch it: the shape is compared before the leaves, so a graph built
        along another path is named as such (not by a constant or a leaf where the paths meet).
        TypeError for a ``new_root`` that is not a Value.
        """
        if new_root.__class__ is not Value:
            raise TypeError(f"check needs a Value, the root of the graph built again, got "
                            f"{type(new_root).__name__} {new_root!r:.60}")
        order, _ = walk(new_root)
        old = self._order
        where = {node: i for i, node in enumerate(order)}
        seen = {node: i for i, node in enumerate(old)}
        # The shape first (the ops, the positions they read, the count), then the leaves: a graph built
        # along another path differs in shape somewhere, and its constants or leaves at a position
        # both graphs have are then no reason to give.
        for i, (a, b) in enumerate(zip(old, order, strict=False)):
            if a._op is not b._op or [seen[p] for p in a.parents] != [where[p] for p in b.parents]:
                if a._op is not None and b._op is not None and a._op.name == b._op.name and \
                        a._op.consts != b._op.consts:   # nn.l2's λ/2, a leaky_relu's slope, x ** n's n
                    raise GraphChangedError(
                        f"compiled check: node {i} ({self._names[a]!r}, op {a.op!r}) has the constant(s) "
                        f"{a._op.consts} and the new graph's {b._op.consts}: a constant changed (or a "
                        "Python branch on a value chose another), and constants are part of the "
                        "program; compile the new graph")
                now = f"a {b.op!r} node" if b._op is not None else f"the leaf {b.label or '(no label)'!r}"
                sources = "reading other nodes" if a._op is b._op else f"now {now}"
                raise _another_path(f"node {i} ({self._names[a]!r}, {_kind(a)}) is {sources}")
        if len(order) != len(old):
            raise _another_path(f"it has {len(old)} nodes and the new graph {len(order)}, alike up to "
                                f"node {min(len(old), len(order)) - 1}")
        for i, (a, b) in enumerate(zip(old, order, strict=True)):
            if a._op is None and a is not b:
                self._same_constant(i, a, b, seen)

    def _same_constant(self, i: int, a: Value, b: Value, seen: dict[Value, int]) -> None:
        """``b``, a leaf other than the compiled graph's leaf ``a`` at position ``i``, is the same constant
        (a number the engine or `nn` wrapped, the same value), or `GraphChangedError` says how they differ
        (``seen``: the compiled graph's nodes, by position)."""
        where = f"compiled check: node {i} ({(a.label or self._names[a])!r})"   # the label, as in the docs
        if not (is_constant_label(a.label) and is_constant_label(b.label)):
            if b in seen:   # a Value of this graph read at another place: the build took another path
                raise _another_path(f"node {i} is the leaf {a.label or '(no label)'!r} and the new graph "
                                    f"reads there {b.label or '(no label)'!r}, the compiled graph's node "
                                    f"{seen[b]}")
            raise GraphChangedError(
                f"{where} is the leaf {a.label or '(no label)'!r} and the new graph reads another Value "
                f"there, labelled {b.label or '(no label)'!r}: a leaf that is not a constant made from a "
                "plain number (a parameter, an input you made) is compared by identity, so the new graph "
                "would train other Values (a model made again, a notebook cell re-run, or a Python branch "
                "on a value that chose another Value); compile the new graph")
        x, y = a.data, b.data
        if is_array(x) or is_array(y):
            import numpy as np
            same = is_array(x) and is_array(y) and x.shape == y.shape and np.array_equal(x, y)
        else:
            same = x == y
        if not same:
            raise GraphChangedError(
                f"{where} is the constant {_shown(x)} and the new graph's constant there is {_shown(y)}: a "
                "constant changed, and constants are part of the program; compile the new graph, or "
                "make the number a leaf you keep and set (x = Value(...); x.data = ...)")


def _kind(node: Value) -> str:
    return f"op {node.op!r}" if node._op is not None else "a leaf"


def _another_path(what: str) -> GraphChangedError:
    """The graph built again differs in shape (``what``: where): its code took another path."""
    return GraphChangedError(
        f"compiled check: {what}: the code that builds the graph took another path than when it was "
        "compiled, as Python control flow on a value does (an `if` on .data or on a comparison of "
        "Values, a loop whose count depends on one); the program replays the path it was compiled "
        "from. Compile the new graph (and call check() now and then), or write the choice with "
        "primitives (relu, maximum, minimum, abs), which are evaluated afresh")


def _shown(d) -> str:
    return f"a batch of {len(d)}" if is_array(d) else repr(d)


def _watched(interior: list[Value], root: Value) -> list[Value]:
    """The nodes whose values show whether all are finite: the root and each input of an op other
    than add, mul and neuron. Those three pass inf and NaN on to their output (inf * 0 and inf - inf
    are NaN), so a value that is not finite reaches the root or one of these inputs."""
    watched = {id(root): root}
    for node in interior:
        if node._op not in _PASSES_ON:
            watched.update((id(p), p) for p in node.parents if p._op is not None)
    return list(watched.values())


_PASSES_ON = (ADD, MUL, NEURON)
_DATA, _GRAD, _NONE, _FLOAT = attrgetter("data"), attrgetter("_grad"), type(None), {float}
_FLOAT_NONE = {float, _NONE}


def _shape(x) -> tuple | None:
    return getattr(x, "shape", None)


def _number(node: Value) -> Any:
    """A node's ``.data`` as the engine computes with it: a leaf's int, numpy scalar or 0-d array set by
    hand read as a float (`autodiff.primitives.leaf_number`, after `check_leaves`), so that compile
    decides what it can do (a layer program, one number or a batch) as for the float; only read."""
    return leaf_number(node.data) if node._op is None else node.data


def _finite(x) -> bool:
    return math.isfinite(x) if x.__class__ is float else all_finite(x)


def compile(root: Value) -> CompiledGraph:  # noqa: A001 - the name users expect, as torch.compile
    """Turn ``root``'s graph into a `CompiledGraph` whose ``forward()``/``backward()`` replay it.

    The graph is frozen as it was built: Python control flow that read values while the graph was
    built (``if x.data > 0: ...``) is not re-taken, so replaying it is only right while that flow
    would go the same way (`CompiledGraph.check` tells); the primitives themselves (relu's kink, every
    rule) are evaluated afresh. Works for eager, fused and batched (`autodiff.batched`) graphs; the
    results are bit-identical to building the graph again and calling ``root.backward()`` (a batched
    graph's layers: see docs/compile.md). TypeError for a non-Value.
    """
    if root.__class__ is not Value:
        raise TypeError(not_a_value(root, f"compile needs a Value, got {type(root).__name__}",
                                    "autodiff.compile(model(x)[0])"))
    order, leaves, batched = walk_leaves(root)
    # What backward() would refuse (a leaf that held one number when the graph was built and now holds
    # a batch, ...): the program is made from the graph as it is, so it is refused here, in its words.
    check_leaves(order, leaves, "compile")
    namespace: dict[str, Any] = {}
    readable = len(order) <= READABLE_NODES
    if batched:
        try:
            made = _layer_program(order, namespace)
        except _NotAStack:
            made = None
        if made is not None:
            source, shown, products = made
            code = builtins.compile(source, "<autodiff.compile, layers>", "exec")
            exec(code, namespace)  # our own generated source, made from the graph's structure only
            names = {n: n.label or f"v{i}" for i, n in enumerate(order)}
            return CompiledGraph(root, order, batched, names, source, namespace["program"], shown,
                                 products=products)
        namespace = {}
    fns = _functions(order, namespace, batched)
    names = _readable_names(order, set(namespace)) if readable else _short_names(order)
    writes = not (readable or batched)
    if writes:
        source = _fast_source(order, namespace, fns)
    else:
        source = _source(order, names, namespace, fns, batched, readable)
    code = builtins.compile(source, f"<autodiff.compile {names[root]}>", "exec")
    exec(code, namespace)  # our own generated source, made from the graph's structure only
    if writes:
        _warm_up(namespace["program"])
    return CompiledGraph(root, order, batched, names, source, namespace["program"], writes=writes)


# CPython 3.11 specializes a code object's instructions (a global's load, a slot's store) only once
# the code has been entered 8 times (QUICKENING_WARMUP_DELAY; a generator's resume counts). A
# straight-line program runs each line once a step, so its first steps ran unspecialized, ~8x slower
# (measured on the README's eager loss). 3.12 specializes from the first call: then this is a no-op.
_WARM_UPS = 8


def _warm_up(program: Callable) -> None:
    """Enter the fast program ``_WARM_UPS`` times, each leaving at once (``warm=True``: it reads no
    leaf and writes no ``.data``), so that its first real pass already runs specialized."""
    for _ in range(_WARM_UPS):
        next(program((), True), None)


def _functions(order: list[Value], namespace: dict, batched: bool) -> dict[Primitive, tuple[str, str]]:
    """A (forward, rule) pair of names per primitive of the graph, bound in ``namespace``: the forward
    on floats, or over a batch the primitive itself (which takes floats and arrays)."""
    fns: dict[Primitive, tuple[str, str]] = {}
    for node in order:
        op = node._op
        if op is not None and op not in fns:
            base = op.name
            if base in namespace or base in _OWN or _OWN_PATTERN.fullmatch(base):  # e.g. a user's "v1"
                base = f"op{len(fns)}_{op.name}"
            fns[op] = (base, base + "_vjp")
            namespace[base], namespace[base + "_vjp"] = (_either(op) if batched else op.forward), op.vjp
    return fns


_OWN_PATTERN = re.compile(r"v\d+|[gt]_\w*")  # v<position>, gradients and terms
def _either(prim: Primitive) -> Callable:
    """The forward as `autodiff.engine.apply` runs it: on floats, or over a batch (arrays)."""
    if prim is NEURON:  # its forward takes both
        return prim.forward
    forward, batch = prim.forward, prim.batch

    def run(*xs):
        return forward(*xs) if all(x.__class__ is float for x in xs) else batch(*xs)
    return run


# The program's own names: a label equal to one of them, or starting like a short name, is not used.
_OWN = {"leaves", "program"}


def _readable_names(order: list[Value], taken: set[str]) -> dict[Value, str]:
    """A Python name per node: its label where that is a free identifier, else ``v<position>``."""
    names: dict[Value, str] = {}
    taken = taken | _OWN
    for i, node in enumerate(order):
        label = node.label.replace(".", "_")
        ok = label.isidentifier() and not keyword.iskeyword(label) and label not in taken
        name = label if ok and not _OWN_PATTERN.fullmatch(label) else f"v{i}"
        names[node] = name
        taken.add(name)
    return names


def _short_names(order: list[Value]) -> dict[Value, str]:
    """``v<position in hex>``: short names, so that a large program parses fast."""
    return {node: f"v{i:x}" for i, node in enumerate(order)}


def _source(order, names, namespace, fns, batched: bool, readable: bool) -> str:
    """The program: forward (yield the interior values), then backward (yield the leaves' gradients)."""
    v = names
    leaves = [n for n in order if n._op is None]
    interior = [n for n in order if n._op is not None]
    ind = "    " if readable else " "
    lines = ["def program(leaves):"]
    if readable:
        lines.append(f"{ind}# forward: every node from its parents, in topological order")
    lines.append(f"{ind}{''.join(v[n] + ', ' for n in leaves)}= [leaf.data for leaf in leaves]")
    for node in interior:
        lines.append(f"{ind}{v[node]} = {_forward_expr(node, v, fns, batched)}")
    lines.append(f"{ind}yield ({''.join(v[n] + ', ' for n in interior)})")
    if batched:  # the backward pass is the batched executor's (`CompiledGraph.backward`)
        return "\n".join(lines) + "\n"
    # from here on the program is readable: a large eager graph gets `_fast_source`
    lines.append(f"{ind}# backward: g_name = d root / d name, each node's terms handed to its parents")
    own = {n: "g_" + v[n] for n in order}   # each node's gradient
    g: dict[Value, str] = {}   # the name holding it so far

    def add(parent: Value, term: str, guard: str | None = None, note: str = "") -> None:
        # A leaf's gradient starts at 0.0 and gets each term added, as in the engine: `0.0 + t` differs
        # from t only for t = -0.0, so a leaf's result is the engine's to the bit. An interior node's
        # first term is taken as it is: that changes at most the sign of a zero gradient, and signed
        # zeros only ever meet a leaf's 0.0 + ..., which makes them +0.0 (or vanish beside a nonzero).
        mine, now = own[parent], g.get(parent)
        zero = "0.0 + " if parent._op is None else ""
        if now is None:
            line = f"{mine} = {zero}{term} if {guard} else 0.0" if guard else f"{mine} = {zero}{term}"
        else:
            line = f"if {guard}: {mine} += {term}" if guard else f"{mine} += {term}"
        g[parent] = mine
        lines.append(ind + (f"{line:<40}  # {note}" if note else line))

    def note(node: Value, k: int) -> str:
        return f"∂{v[node]}/∂{v[node.parents[k]]} = {local_derivative_text(node, k, v)}"

    root = order[-1]
    lines.append(f"{ind}{own[root]} = 1.0")
    g[root] = own[root]
    for i, node in enumerate(reversed(order)):
        if node._op is not None:
            for parent, term, guard, k in _backward_terms(node, g[node], v, fns, lines, ind, f"t_{i}_"):
                add(parent, term, guard, note(node, k))
    for leaf in leaves:
        if leaf not in g:  # a leaf only the root is: its gradient is the seed
            add(leaf, "0.0")
    lines.append(f"{ind}yield ({''.join(g[n] + ', ' for n in leaves)})")
    return "\n".join(lines) + "\n"


class _Registers:
    """Local variables ``r0, r1, ...`` handed out and taken back, so that a program of 66,000 nodes
    runs in a few hundred locals: a frame of one local per node is megabytes, and every read of it
    misses the cache (measured: twice the time per line). A register may hold one gradient for several
    nodes (add passes its upstream on unchanged); it is free again when none holds it."""

    def __init__(self):
        self.free: list[str] = []
        self.count = 0
        self.holders: dict[str, int] = {}

    def take(self) -> str:
        if self.free:
            name = self.free.pop()
        else:
            name, self.count = f"r{self.count}", self.count + 1
        self.holders[name] = 1
        return name

    def held(self, name: str) -> bool:
        return self.holders.get(name, 0) > 0

    def share(self, name: str) -> str:
        self.holders[name] += 1
        return name

    def drop(self, name: str) -> None:
        self.holders[name] -= 1
        if not self.holders[name]:
            self.free.append(name)


def _fast_source(order: list[Value], namespace: dict, fns: dict) -> str:
    """The program of a large eager graph, written for speed rather than reading. The forward pass
    writes each node's ``.data`` itself (the interior nodes are globals ``n<k>``: a store there costs
    less than one into a list, and saves forward() a loop over every node) and keeps a value in a register
    until its last use, or in a local of its own (``c<k>``) if the backward pass reads it; gradients
    live in registers too, but for the leaves', which each have a local (``b<i>``). The same
    operations in the same order as `_source` writes them (and as the engine runs them), so the same
    numbers to the bit."""
    leaves = [n for n in order if n._op is None]
    interior = [n for n in order if n._op is not None]
    slot = {n: k for k, n in enumerate(interior)}
    leaf = {n: f"a{i}" for i, n in enumerate(leaves)}
    last: dict[Value, int] = {}
    for k, node in enumerate(interior):
        for p in node.parents:
            last[p] = k
    own = [f for pair in fns.values() for f in pair]   # the primitives' functions, bound once as locals
    namespace["FNS"], namespace["DATA"] = tuple(namespace[f] for f in own), _DATA
    namespace.update((f"n{k}", node) for k, node in enumerate(interior))   # the nodes, as globals
    lines = ["def program(leaves, warm=False):",
             " if warm: return   # entered and left at once (`_warm_up`)",
             f" {''.join(name + ', ' for name in own)}= FNS" if own else "",
             f" {''.join(leaf[n] + ', ' for n in leaves)}= map(DATA, leaves)"]
    # The values the backward pass reads get a local each: a read of n<k>.data would cost twice as much.
    kept = {f"c{slot[n]}" for node in interior for n in _read_back(node) if n._op is not None}
    regs = _Registers()
    held: dict[Value, str] = {}   # interior values the forward pass reads again: a register, or kept
    names = _Names(lambda n: leaf.get(n) or held[n])
    for k, node in enumerate(interior):
        expr = _forward_expr(node, names, fns, False)
        for p in set(node.parents):
            if p in held and last[p] == k and held[p] in regs.holders:
                regs.drop(held.pop(p))
        if f"c{k}" in kept:
            held[node] = r = f"c{k}"
            lines.append(f" {r} = {expr}; n{k}.data = {r}")
        elif k < last.get(node, -1):
            held[node] = r = regs.take()
            lines.append(f" {r} = {expr}; n{k}.data = {r}")
        else:
            lines.append(f" n{k}.data = {expr}")
    lines.append(" yield")

    regs = _Registers()
    val = _Names(lambda n: leaf.get(n) or f"c{slot[n]}")
    g: dict[Value, str] = {}        # the register holding each interior node's gradient so far
    mine = {n: f"b{i}" for i, n in enumerate(leaves)}
    started: set[Value] = set()

    def add(parent: Value, term: str, guard: str | None = None) -> None:
        if parent._op is None:    # a leaf: its own local, 0.0 plus each term, as the engine adds them
            b = mine[parent]
            if parent not in started:
                started.add(parent)
                lines.append(f" {b} = 0.0 + {term} if {guard} else 0.0" if guard else f" {b} = 0.0 + {term}")
            else:
                lines.append(f" if {guard}: {b} += {term}" if guard else f" {b} += {term}")
            return
        now = g.get(parent)
        if now is None:           # a first term is taken as it is (see `_source`)
            if not guard and regs.held(term):
                g[parent] = regs.share(term)
                return
            g[parent] = r = regs.take()
            lines.append(f" {r} = {term} if {guard} else 0.0" if guard else f" {r} = {term}")
        elif regs.holders[now] == 1:
            lines.append(f" if {guard}: {now} += {term}" if guard else f" {now} += {term}")
        else:                     # a register other nodes hold too: never add into it
            regs.drop(now)
            g[parent] = r = regs.take()
            line = f"{r} = {now} + {term}"
            lines.append(f" {line} if {guard} else {now}" if guard else f" {line}")

    root = order[-1]
    if root._op is not None:
        g[root] = regs.take()
        lines.append(f" {g[root]} = 1.0")
    else:
        started.add(root)
        lines.append(f" {mine[root]} = 1.0")
    for node in reversed(interior):
        up = g.pop(node)          # every node leads to the root, so a gradient reaches each
        for parent, term, guard, _ in _backward_terms(node, up, val, fns, lines, " ", "t"):
            add(parent, term, guard)
        if regs.held(up):
            regs.drop(up)
    lines.append(f" yield ({''.join((mine[n] if n in started else '0.0') + ', ' for n in leaves)})")
    return "\n".join(lines) + "\n"


def _backward_terms(node: Value, up: str, val, fns: dict, lines: list[str], ind: str,
                    t: str) -> Iterator[tuple[Value, str, str | None, int]]:
    """``node``'s step of the backward pass, the engine's: (parent, term, guard, k) per input ``k``,
    the term (an expression in ``up``, the node's gradient, and ``val``'s names of values) added to the
    parent's gradient where ``guard`` holds. add, mul, relu and neuron inlined, as the engine inlines
    them; any other op's rule called on one line appended to ``lines`` (its terms named ``t<k>``)."""
    op, parents = node._op, node.parents
    if op is ADD:
        yield parents[0], up, None, 0
        yield parents[1], up, None, 1
    elif op is MUL:
        a, b = parents
        yield a, f"{up} * {val[b]}", None, 0
        yield b, f"{up} * {val[a]}", None, 1
    elif op is RELU:   # relu(x) > 0 exactly where x > 0 (NaN: neither)
        yield parents[0], up, f"{val[node]} > 0", 0
    elif op is NEURON:
        n = len(parents) >> 1
        for k, (w, x) in enumerate(zip(parents[:n], parents[n:-1], strict=True)):
            yield w, f"{up} * {val[x]}", None, k
            yield x, f"{up} * {val[w]}", None, n + k
        yield parents[-1], up, None, 2 * n
    else:
        terms = [f"{t}{k}" for k in range(len(parents))]
        args = ", ".join([up, val[node], *(val[p] for p in parents)])
        lines.append(f"{ind}{', '.join(terms)}, = {fns[op][1]}({args})")
        yield from ((p, term, None, k) for k, (p, term) in enumerate(zip(parents, terms, strict=True)))


def _read_back(node: Value) -> tuple[Value, ...]:
    """The values ``node``'s step of `_fast_source`'s backward pass reads."""
    op = node._op
    if op is ADD:
        return ()
    if op is RELU:
        return (node,)
    if op is MUL or op is NEURON:
        return node.parents
    return (node, *node.parents)


def _forward_expr(node: Value, v: dict[Value, str], fns: dict, batched: bool) -> str:
    """The expression computing ``node`` from its parents' variables, as `autodiff.engine.apply` does."""
    op, parents = node._op, node.parents
    if op is ADD:
        return f"{v[parents[0]]} + {v[parents[1]]}"
    if op is MUL:
        return f"{v[parents[0]]} * {v[parents[1]]}"
    if op is RELU and not batched:
        x = v[parents[0]]
        return f"{x} if {x} > 0 else 0.0"
    if op is NEURON and not batched and len(parents) <= 1024:  # its float forward, in its order of sums
        n = len(parents) >> 1
        terms = " + ".join(f"{v[w]} * {v[x]}" for w, x in zip(parents[:n], parents[n:-1], strict=True))
        return f"0.0 + {terms} + {v[parents[-1]]}"
    return f"{fns[op][0]}({', '.join(v[p] for p in parents)})"


# ---- batched graphs: a program of matrix products per layer -------------------------------------------

def _trial(order: list[Value]) -> dict[Value, bool] | None:
    """Which nodes' gradients the batched executor makes arrays, from one run of it on the graph as it
    stands (every ``_grad`` put back after); None if it raised (the graph is then replayed node by node)."""
    import numpy as np
    before = [node._grad for node in order]
    try:
        with no_cycle_gc(), np.errstate(all="ignore"):
            vectorized.backward(order)
        return {node: is_array(node._grad) for node in order}
    except (ArithmeticError, ValueError):
        return None
    finally:
        for node, g in zip(order, before, strict=True):
            node._grad = g


class _Layer:
    """Fused neurons reading the same inputs (``xs``), one matrix product forward (``Z = W X + b``)."""

    def __init__(self, k: int, zs: list[Value]):
        self.k, self.zs = k, zs                     # k: its number; zs: in topological order
        n = len(zs[0]._a) >> 1
        self.n, self.xs = n, zs[0]._a[n:-1]
        self.row = {z: r for r, z in enumerate(zs)}
        self.relu: dict[Value, Value] = {}          # z -> its relu, when the layer's activation is a matrix
        self.reads: _Layer | None = None            # the layer whose activation matrix is its input


def _stack_of_layers(order: list[Value], kinds: dict[Value, bool]) -> dict[Value, _Layer] | None:
    """The fused layers of a batched graph (each neuron to its `_Layer`), and which layers pass a relu
    matrix on to the next; None if a layer is not one the executor turns into matrix products."""
    uses: dict[Value, int] = {}
    users: dict[Value, Value] = {}
    for node in order:
        for p in node.parents:
            uses[p] = uses.get(p, 0) + 1
            users[p] = node
    by_xs: dict[tuple, list[Value]] = {}
    keys: dict[tuple, tuple] = {}
    for node in order:
        if node._op is NEURON and is_array(node.data):
            n = len(node._a) >> 1
            xs = node._a[n:-1]
            if not kinds[node] or not all(_number(p).__class__ is float for p in (*node._a[:n], node._a[-1])):
                return None           # a weight holding a batch, or a δ of one number: not a layer
            if keys.setdefault((xs[0], n), xs) != xs:
                return None           # the executor groups by the first input: inputs must match
            by_xs.setdefault(xs, []).append(node)
    layers = [_Layer(k, zs) for k, zs in enumerate(by_xs.values())]
    of = {z: layer for layer in layers for z in layer.zs}
    reading = {layer.xs: layer for layer in layers}
    for layer in layers:   # a relu matrix: each z read once, by its relu; the relus only by the next layer
        relus = [users[z] if uses.get(z) == 1 else None for z in layer.zs]
        if len(layer.zs) < 2 or not all(r is not None and r._op is RELU for r in relus):
            continue
        after = reading.get(tuple(relus))
        if after is not None and all(uses.get(r) == len(after.zs) for r in relus):
            layer.relu = dict(zip(layer.zs, relus, strict=True))
            after.reads = layer
    return of


def _layer_program(order: list[Value], namespace: dict) -> tuple[str, list[Value], tuple[int, int]] | None:
    """The program of a batched graph whose fused layers run as matrix products, mirroring the batched
    executor step by step (`autodiff.vectorized.backward`): the same products on the same matrices, in
    the same order, so the same numbers. Returns its source, the interior nodes in the order its
    first ``yield`` gives their values and the multiply-adds of its largest matrix-matrix and
    matrix-vector products (for `blas_threads`); None when the graph is not one it handles."""
    import numpy as np
    kinds = _trial(order)
    if kinds is None:
        return None
    of = _stack_of_layers(order, kinds)
    if of is None:
        return None
    leaves = [n for n in order if n._op is None]
    floats = [n for n in leaves if not is_array(n.data)]   # as `CompiledGraph._floats`
    slot = {n: i for i, n in enumerate(floats)}
    pos = {n: i for i, n in enumerate(order)}
    index: dict[tuple, str] = {}

    def ix(nodes) -> str:  # an index array into P (the float leaves' values) and GP (their gradients)
        key = tuple(slot[p] for p in nodes)
        if key not in index:
            index[key] = f"I{len(index)}"
            namespace[index[key]] = np.array(key, dtype=np.intp)
        return index[key]

    def activation(node: Value) -> _Layer | None:  # the layer whose relu matrix holds node's value
        layer = of.get(node._a) if node._op is RELU and node._b is None else None
        return layer if layer is not None and node in layer.relu.values() else None

    def val(node: Value) -> str:
        layer = of.get(node)
        if layer is not None and len(layer.zs) > 1:
            return f"Z{layer.k}[{layer.row[node]}]"
        layer = activation(node)
        return f"A{layer.k}[{layer.row[node._a]}]" if layer else f"v{pos[node]}"

    def array(nodes: list[Value], shape: str = "") -> str:  # their numbers as a float64 array
        if all(p in slot for p in nodes):
            return f"P[{ix(nodes)}]" + (f".reshape({shape})" if shape else "")
        return (f"np.array(({''.join(val(p) + ', ' for p in nodes)}), dtype=float)"
                + (f".reshape({shape})" if shape else ""))

    def inputs(layer: _Layer) -> str:  # its input matrix X, as `autodiff.primitives.stacked` makes it
        if layer.reads:
            return f"A{layer.reads.k}"
        return f"stacked((), ({''.join(val(x) + ', ' for x in layer.xs)}))[1]"

    def forward_expr(node: Value) -> str:  # as `autodiff.engine.apply` computes it, on floats or a batch
        op, parents = node._op, node.parents
        layer = of.get(node)
        if layer is not None and _number(parents[layer.n]).__class__ is not float:
            # a neuron alone: its forward over a batch, w @ X + b (on a first input of one number,
            # the engine sums w_k x_k one by one: the primitive's forward below does too)
            return f"{array(list(parents[:layer.n]))} @ {inputs(layer)} + {val(parents[-1])}"
        c = sum_squares_scale(op)
        if c is not None and node._b is NARY and all(p in slot for p in parents):
            # c (((x_1² + x_2²) + x_3²) + ...): accumulate adds in that order, the primitive's own sums
            return f"float(np.add.accumulate(np.square(P[{ix(parents)}]))[-1]) * {c!r}"
        if op in (ADD, MUL):
            return _forward_expr(node, _Names(val), fns, True)
        if _number(node).__class__ is float and all(_number(p).__class__ is float for p in parents):
            return f"{fns[op][0]}({', '.join(val(p) for p in parents)})"
        return f"{fns[op][0]}_batch({', '.join(val(p) for p in parents)})"

    namespace.update(np=np, stacked=stacked, like=like, _acc=_acc, _sum=_sum)
    fns = _functions(order, namespace, False)   # the forward on floats; `name_batch` over a batch
    namespace.update({f"{fns[op][0]}_batch": op.batch for op in fns})
    lines = ["def program(numbers, P, batches):",
             "    # forward: a layer's z's in one product Z = W X + b, as autodiff.engine.neurons does",
             f"    {''.join(f'v{pos[leaf]}, ' for leaf in floats)}= numbers" if floats else "",
             f"    {''.join(f'v{pos[leaf]}, ' for leaf in leaves if leaf not in slot)}= batches"]
    shown: list[Value] = []
    done: set[str] = set()
    for node in order:
        if node._op is None:
            continue
        layer, relu_of = of.get(node), activation(node)
        if layer is not None and len(layer.zs) > 1:
            if f"Z{layer.k}" not in done:
                done.add(f"Z{layer.k}")
                w = array([p for z in layer.zs for p in z._a[:layer.n]], f"{len(layer.zs)}, {layer.n}")
                b = array([z._a[-1] for z in layer.zs])
                lines.append(f"    X{layer.k} = {inputs(layer)}")
                lines.append(f"    Z{layer.k} = {w} @ X{layer.k} + {b}[:, None]")
        elif relu_of is not None:
            if f"A{relu_of.k}" not in done:
                done.add(f"A{relu_of.k}")
                lines.append(f"    A{relu_of.k} = {fns[RELU][0]}_batch(Z{relu_of.k})")
        else:
            lines.append(f"    v{pos[node]} = {forward_expr(node)}")
        shown.append(node)
    lines.append(f"    yield ({''.join(val(n) + ', ' for n in shown)})")

    lines.append("    # backward: the batched executor's steps; GP holds the float leaves' gradients")
    lines.append(f"    GP = np.zeros({len(floats)})")
    grad: dict[Value, str] = {}

    def acc(p: Value, term: str) -> None:
        if p in slot:
            lines.append(f"    GP[{slot[p]}] += _sum({term})")
        elif p in grad:
            lines.append(f"    g{pos[p]} = _acc({grad[p]}, {term}, {_number(p).__class__ is float})")
        else:   # a first term, taken as it is (`_acc` on 0.0), summed for a node holding one number
            lines.append(f"    g{pos[p]} = " + (f"_sum({term})" if _number(p).__class__ is float else term))
        grad[p] = f"g{pos[p]}"

    def add_at(nodes: list[Value], values: str) -> None:
        key = [slot[p] for p in nodes]
        how = "np.add.at(GP, {i}, {t})" if len(set(key)) < len(key) else "GP[{i}] += {t}"
        lines.append("    " + how.format(i=ix(nodes), t=values))

    def flush() -> None:
        for zs in groups.values():
            layer = of[zs[0]]
            n, k = layer.n, len(zs)
            if layer.relu and len(zs) != len(layer.zs):
                raise _NotAStack   # a layer whose relu matrix the executor takes in parts
            if layer.relu:
                lines.append(f"    G = np.ascontiguousarray(dZ{layer.k}[::-1])")
            else:
                lines.append(f"    G = np.array(({''.join(grad.get(z, '0.0') + ', ' for z in zs)}))")
            xs = f"X{layer.k}" if len(layer.zs) > 1 else inputs(layer)
            weights = [p for z in zs for p in z._a[:n]]
            lines.append(f"    W = {array(weights, f'{k}, {n}')}")
            if all(p in slot for p in weights):
                add_at(weights, f"(G @ {xs}.T).ravel()")
            else:
                lines.append(f"    GW = (G @ {xs}.T).ravel().tolist()")
                for j, p in enumerate(weights):
                    acc(p, f"GW[{j}]")
            biases = [z._a[-1] for z in zs]
            if all(p in slot for p in biases):
                add_at(biases, "G.sum(axis=1)")
            else:
                lines.append("    GB = G.sum(axis=1).tolist()")
                for j, p in enumerate(biases):
                    acc(p, f"GB[{j}]")
            if layer.reads:
                lines.append(f"    dA{layer.reads.k} = W.T @ G")
            else:
                lines.append("    dX = W.T @ G")
                for j, x in enumerate(layer.xs):
                    acc(x, f"dX[{j}]")
        groups.clear()
        waiting.clear()

    root = order[-1]
    lines.append(f"    g{pos[root]} = like(1.0, {val(root)})")
    grad[root] = f"g{pos[root]}"
    groups: dict[tuple, list[Value]] = {}
    waiting: set = set()
    for i, node in enumerate(reversed(order)):
        op = node._op
        if op is None:
            continue
        if node in waiting:
            flush()
        a, g = node._a, grad.get(node, "0.0")
        layer, relu_of = of.get(node), activation(node)
        if layer is not None:
            groups.setdefault((a[layer.n], layer.n), []).append(node)
            waiting.update(a)
        elif relu_of is not None:
            if f"dZ{relu_of.k}" not in done:
                done.add(f"dZ{relu_of.k}")
                lines.append(f"    dZ{relu_of.k} = np.where(Z{relu_of.k} > 0, dA{relu_of.k}, 0.0)")
        elif op is RELU and node._b is None and is_array(a.data):
            acc(a, f"np.where({val(a)} > 0, {g}, 0.0)")
        elif op is NEURON and not kinds[node]:     # Σ w·x + b of one-number nodes (an L2 sum, fused)
            n = len(a) >> 1
            if not all(p in slot for p in a):
                return None
            pairs = [p for w, x in zip(a[:n], a[n:-1], strict=True) for p in (w, x)]
            partners = [p for w, x in zip(a[:n], a[n:-1], strict=True) for p in (x, w)]
            lines.append(f"    np.add.at(GP, {ix([*pairs, a[-1]])}, "
                         f"np.append({g} * P[{ix(partners)}], {g}))")
        elif not kinds[node] and (c := sum_squares_scale(op)) is not None:   # upstream times c, then 2 x_k
            xs = node.parents   # one, two (a binary node) or more inputs
            if not all(p in slot for p in xs):
                return None
            add_at(list(xs), f"2 * (({g} * {c!r}) * P[{ix(xs)}])")   # t + t = 2t, exact
        elif op is ADD or op is MUL:   # their rules inlined: (g, g) and (g y, g x)
            x, y = node.parents
            acc(x, g if op is ADD else f"{g} * {val(y)}")
            acc(y, g if op is ADD else f"{g} * {val(x)}")
        else:
            terms = [f"t{i}_{k}" for k in range(len(node.parents))]
            args = ", ".join([g, val(node), *(val(p) for p in node.parents)])
            lines.append(f"    {', '.join(terms)}, = {fns[op][1]}({args})")
            for p, t in zip(node.parents, terms, strict=True):
                acc(p, t)
    if groups:
        flush()
    lines.append(f"    yield GP, ({''.join(grad.get(n, '0.0') + ', ' for n in leaves if n not in slot)})")
    sizes = [(len(layer.zs) > 1, len(layer.zs) * layer.n * batch_size(layer.zs[0])) for layer in of.values()]
    products = (max([m for matrix, m in sizes if matrix], default=0),
                max([m for matrix, m in sizes if not matrix], default=0))
    return "\n".join(lines) + "\n", shown, products


class _NotAStack(Exception):
    """Raised while writing a layer program: the graph is replayed node by node instead."""


class _Names:
    """``names[node]``, each name made by a function (`_forward_expr` reads operands this way)."""

    def __init__(self, name: Callable[[Value], str]):
        self.name = name

    def __getitem__(self, node: Value) -> str:
        return self.name(node)


def _sum(t):
    """A term for a leaf holding one number: summed over the examples if it is a batch (the executor's
    `_accumulate`)."""
    return float(t.sum()) if t.__class__ is not float and is_array(t) else t


def _acc(held, t, one_number: bool):
    """The batched executor's `_accumulate` on values: ``t`` added to the gradient ``held`` (summed over
    the examples for a node holding one number; a first term taken as it is)."""
    if one_number:
        t = _sum(t)
    return t if held.__class__ is float and held == 0.0 else held + t
