"""Step through a graph: `forward_steps` replays each computation in topological order, and
`backward_steps` (the reference backward loop, `autodiff.reference`) yields each chain-rule step of one
fresh pass; both read as worked examples. `Walkthrough` records both so a stepper can move back and forth.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Iterator, Mapping
from contextlib import nullcontext

from autodiff.engine import Value, batch_size, check_leaves, release_cycle_gc
from autodiff.graph import RULE_ERRORS, rule_error, walk_leaves
from autodiff.primitives import PRIMITIVES, is_array, leaf_number, like, pow_const
from autodiff.reference import backprop, finite, shown

__all__ = ["ForwardStep", "forward_steps", "backward_steps", "BackwardStep", "SummedStep", "Walkthrough",
           "example_index", "check_example", "node_names", "shown_label", "local_derivatives",
           "op_expression", "LOCAL_DERIVATIVE_TEXT", "local_derivative_text", "fmt", "factor",
           "StaleGraphWarning"]


class _DerivativeTexts(Mapping):
    """Each primitive's ``text`` (its symbolic local derivative) by name, read from the table."""

    def _texts(self) -> dict:
        return {p.name: p.text for p in [*PRIMITIVES.values(), pow_const(2.0)] if p.text is not None}

    def __getitem__(self, name: str):
        return self._texts()[name]

    def __iter__(self):
        return iter(self._texts())

    def __len__(self) -> int:
        return len(self._texts())


#: The symbolic local derivative d out / d input of each primitive (see `Primitive.text`): a view of
#: the table in `autodiff.primitives`, where each primitive's text is written beside its rule.
LOCAL_DERIVATIVE_TEXT: Mapping = _DerivativeTexts()


def fmt(x: float) -> str:
    """A number as a worked example shows it: at most 4 decimals, ``1.0`` not ``1``, tiny or huge
    magnitudes in scientific notation so that nothing non-zero prints as 0."""
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e6):
        return f"{x:.4g}"
    s = f"{x:.4f}".rstrip("0")
    s = s + "0" if s.endswith(".") else s
    return "0.0" if s == "-0.0" else s


def factor(x: float | str) -> str:
    """A number (or its text, as `fmt` writes it) as every step text writes it beside an operator: in
    brackets when negative, so that its sign cannot be read as the operator's, ``1.0 · (-1.4717)``,
    ``0.7 + (-0.35)``, ``(-0.7071)**2`` (not ``-0.7071**2``, which reads as -(0.7071²)). The page's
    typeset formulas write their factors so too (``factor`` in viz/static/stepper.js).

    >>> factor(-1.4717), factor(0.5), factor("-1e-05")
    ('(-1.4717)', '0.5', '(-1e-05)')
    """
    s = x if isinstance(x, str) else fmt(x)
    return f"({s})" if s.startswith("-") else s


def shown_label(label: str) -> str:
    r"""``label`` as every stepper and diagram shows it: its control characters (Unicode category Cc: a
    newline, a tab, ESC, DEL, ...) written out as ``\n``, ``\t``, ``\x1b``, and its invisible format
    characters (category Cf: the bidi controls U+202A-202E and U+2066-2069, U+200E/U+200F, zero-width
    joiners, U+FEFF, ...) as ``\u202e`` (``\U000e0001`` past U+FFFF). So no label can turn the numbers
    written beside it around (a label starting with U+202E made ``9.0 · 9.283e-287`` read
    ``782-e382.9 · 0.9``), hide part of itself, split a step's line in two (a newline made ``x`` read as
    a node of its own), or send the terminal a command (ESC [2J cleared the terminal stepper's screen).
    The label on the Value stays as given; anything else, right-to-left letters too, is shown as it is.

    >>> shown_label("\u202eevil"), shown_label("a\nb"), shown_label("esc\x1b[2J")
    ('\\u202eevil', 'a\\nb', 'esc\\x1b[2J')
    """
    import unicodedata

    if label.isprintable():  # the common case: no Cc or Cf character is printable
        return label
    return "".join(_ESCAPES.get(c) or (f"\\x{ord(c):02x}" if ord(c) <= 0xFF else
                                       f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
                   if unicodedata.category(c) in ("Cc", "Cf") else c for c in label)


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def node_names(order: list[Value]) -> dict[Value, str]:
    """Name each node of a topological order: its label as shown (`shown_label`), else ``v<i>`` from
    its position ``i``. A label shared by several nodes (as shown: ``\\u202e`` typed out and the
    character itself read alike) gets that name appended (``w@v3``) so names stay unique; a ``v<i>``
    that is some node's label gets primes (``v1′``) so that no name means two nodes."""
    labels = {node: shown_label(node.label) for node in order if node.label}
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    names = {}
    for i, node in enumerate(order):
        made = f"v{i}"
        while made in counts:
            made += "′"
        label = labels.get(node, "")
        names[node] = label if counts.get(label) == 1 else f"{label}@{made}" if label else made
    return names


def at_example(x, example: int | None):
    """One example's number of a batched quantity (an array, one number per example); a plain number
    (a parameter, a constant, an unbatched graph) is every example's: a float (`leaf_number`)."""
    return float(x[example or 0]) if getattr(x, "ndim", 0) else leaf_number(x)


def _shown_const(n: float) -> str:
    """An op's constant in its derivative's text: ``2``, ``0.5``, ``(-1)`` (a factor, `factor`)."""
    return factor(str(int(n)) if n == int(n) else fmt(n))


def local_derivative_text(node: Value, index: int, names: dict[Value, str]) -> str:
    """The symbolic local derivative d node / d parents[index], written with the nodes' names.

    >>> x = Value(3.0, "x"); y = x * x; local_derivative_text(y, 0, {x: "x", y: "y"})
    'x'
    """
    parents = node.parents
    forms = node.primitive.text
    if forms is None:  # a primitive added later without a text form still reads correctly
        return f"∂{names[node]}/∂{names[parents[index]]}"
    form = forms if isinstance(forms, str) else forms[index]
    if node.op == "neuron":  # inputs (w_1..w_n, x_1..x_n, b): each weight's partner is its input
        k = len(parents) // 2
        return "1" if index == 2 * k else names[parents[index + k if index < k else index - k]]
    n = node.primitive.consts.get("n")
    x = parents[index] if node.primitive.arity == -1 else parents[0]  # n-ary: {x} is the input at hand
    return _bracketed(form.format(x=names[x], y=names[parents[1]] if len(parents) > 1 else "",
                                  o=names[node], n="" if n is None else _shown_const(n),
                                  n1="" if n is None else _shown_const(n - 1)))


def _bracketed(text: str) -> str:
    """``text`` in brackets if it is a sum or difference (a ``+`` or ``−`` outside any bracket), so that
    ``(Φ(a) + a·φ(a)) · v.grad`` reads as the product it is."""
    depth = 0
    for i, c in enumerate(text):
        depth += (c in "([{") - (c in ")]}")
        if depth == 0 and c in "+−-" and text[i - 1:i] == " " and text[i + 1:i + 2] == " ":
            return f"({text})"
    return text


#: infix symbols before which a negative number reads as it is (``-6.0 + 0.8814``); it is bracketed
#: after them (``7.5 + (-0.35)``), and on either side of a product or a power
_SUMS = frozenset({"+", "-", "−", ">", "<"})


def op_expression(symbol: str, operands: list[str], *, numbers: bool = False) -> str:
    """How an op of symbol ``symbol`` reads applied to ``operands``: ``x1 × w1``, ``tanh(n)``, ``x**2``
    (the steppers' text and the diagrams' folded rows). ``numbers``: the operands are numbers (`fmt`),
    a negative one bracketed where its sign could be read as the operator's (`factor`): any operand of
    a product or a power, ``2.0 × (-3.0)``, ``(-0.7071)**2``; the second of a sum or a comparison,
    ``7.5 + (-0.35)``; never a function's argument, ``tanh(-0.5)``. A negative constant exponent is
    bracketed whatever the operands, ``x**(-1)``, as the derivative's text writes ``x^(-2)``."""
    if symbol.startswith("**") and len(operands) == 1:  # a negative exponent bracketed too: x**(-1)
        return f"{factor(operands[0]) if numbers else operands[0]}**{factor(symbol[2:])}"
    if len(operands) == 2 and not symbol.isalnum():
        a, b = operands
        if numbers:
            a, b = a if symbol in _SUMS else factor(a), factor(b)
        return f"{a} {symbol} {b}"
    return f"{symbol}({', '.join(operands)})"


class ForwardStep:
    """One step of the forward pass: ``node.data = op(*parents' data)``.

    ``values`` are the inputs' numbers in operand order and ``result`` what the primitive's forward
    function returns for them (the number stored in ``node.data``).
    """

    __slots__ = ("index", "total", "node", "op", "parents", "values", "result", "names", "example")

    def __init__(self, index: int, total: int, node: Value, values: tuple[float, ...], result: float,
                 names: dict[Value, str], example: int | None = None):
        self.index, self.total, self.node, self.op = index, total, node, node.op
        self.parents, self.values, self.result, self.names = node.parents, values, result, names
        self.example = example

    def __str__(self) -> str:
        names, e = self.names, self.example
        symbol = self.node.primitive.symbol
        symbolic = op_expression(symbol, [names[p] for p in self.parents])
        numeric = op_expression(symbol, [fmt(at_example(v, e)) for v in self.values], numbers=True)
        held = "" if self.agrees else (f" (the graph holds {fmt(at_example(self.node.data, e))}, computed "
                                       "before a leaf's .data was set)")
        return (f"step {self.index}/{self.total}  {self.op}: {names[self.node]} = {symbolic} = {numeric}"
                f" → {fmt(at_example(self.result, e))}{held}")

    @property
    def agrees(self) -> bool:
        """Whether ``result`` is the number the node holds (its ``.data``): False when a leaf's ``.data``
        was set by hand after the graph was built (``backward()`` uses the values the nodes hold)."""
        return same_numbers(self.result, self.node.data)

    def __repr__(self) -> str:
        return f"ForwardStep({self.index}/{self.total} {self.op}: {self.values!r} -> {self.result!r})"


def forward_steps(root: Value, example: int | None = None) -> Iterator[ForwardStep]:
    """Replay the forward pass of ``root``'s graph: one step per interior node, parents first.

    Each step recomputes the node with its primitive's forward function from its inputs' values, so
    ``step.result`` equals ``step.node.data`` (to rounding: `ForwardStep.agrees`) and shows the engine's
    own arithmetic.  Nothing is modified.  Where a leaf's ``.data`` was set by hand after the graph was
    built, the nodes keep the values they were built with (which ``backward()`` uses): the steps whose
    result differs say so, and one `StaleGraphWarning` names the first.  On a
    batched graph the values hold every example and ``str()`` shows example ``example`` (default 0).
    A leaf whose ``.data`` was set by hand to what the graph cannot run on is refused as ``backward()``
    refuses it (`autodiff.engine.check_leaves`). Raises ValueError, when called, for an ``example``
    that is not an int or None or that the graph does not hold (`check_example`).
    """
    order, leaves, _ = walk_leaves(root)
    check_leaves(order, leaves, "forward_steps")   # a leaf set by hand is refused naming it
    example = check_example(example, max(map(batch_size, order)), "forward_steps")
    return _forward_steps(order, example)


def _forward_steps(order: list[Value], example: int | None) -> Iterator[ForwardStep]:
    names = node_names(order)
    interior = [n for n in order if not n.is_leaf]
    warned = False
    for i, node in enumerate(interior, 1):
        values = tuple(leaf_number(p.data) for p in node.parents)   # .data set by hand is left as it is
        step = ForwardStep(i, len(interior), node, values, node.primitive(*values), names, example)
        if not warned and not step.agrees:
            warned = True
            warnings.warn(StaleGraphWarning(
                f"forward_steps: {names[node]} ({node.op}) holds {fmt(at_example(node.data, example))} but "
                f"its inputs now give {fmt(at_example(step.result, example))}: a leaf's .data was set "
                "after the graph was built, and the nodes keep the values they were built with (which "
                "backward() uses). Build the graph again to step through the new values"), stacklevel=2)
        yield step


class StaleGraphWarning(UserWarning):
    """A built graph's nodes hold values its leaves no longer give (a leaf's ``.data`` set by hand)."""


def same_numbers(a, b) -> bool:
    """Whether ``a`` and ``b`` hold the same numbers to rounding (relative 1e-9, or 1e-12 near 0): two
    floats, or two batches element by element (NaN equal to NaN). Rounding, not bits: a layer made at
    once (`autodiff.engine.neuron_chains`, a fused layer's matrix product) sums in another order than
    the primitive's forward function does for one node."""
    if is_array(a) or is_array(b):
        import numpy as np
        return bool(np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True))
    return abs(a - b) <= 1e-12 + 1e-9 * abs(b) or (a != a and b != b)


class BackwardStep:
    """One step of the backward pass: a node passing its gradient on to its parents.

    ``contributions[i]`` is the term added to ``parents[i]``'s gradient (upstream × local derivative),
    ``held[i]`` that parent's gradient in this pass just before (None when this is the first term it
    receives; 0.0 or a batch of zeros when earlier terms summed to zero) and ``running[i]`` its gradient
    right after the term was added. A reused parent appears once per use.
    ``local[i]`` is d node / d parents[i]; ``names`` maps every node of the graph
    to the name ``str()`` shows (its label, else ``v<topological position>``).
    """

    __slots__ = ("index", "total", "node", "op", "upstream", "parents", "local", "contributions",
                 "running", "names", "held")

    def __init__(self, index, total, node, upstream, parents, local, contributions, running, names, *, held):
        self.index, self.total, self.node, self.op = index, total, node, node.op
        self.upstream, self.parents = upstream, parents
        self.local, self.contributions, self.running = local, contributions, running
        self.names, self.held = names, held

    def __str__(self) -> str:
        """A worked example: ``step 3/9  tanh: n.grad += (1 − o²) · o.grad = 0.5 · 1.0 → 0.5``."""
        return format_backward_step(self)

    def local_text(self, index: int, names: dict[Value, str]) -> str:
        """d node / d parents[index] in symbols (`local_derivative_text`)."""
        return local_derivative_text(self.node, index, names)

    def __repr__(self) -> str:
        return (f"BackwardStep({self.index}/{self.total} {self.op}: upstream={self.upstream!r}, "
                f"local={self.local!r}, contributions={self.contributions!r})")


class SummedStep(BackwardStep):
    """A backward step standing for many steps not shown (the other examples' part of a loss over
    several examples): ``contributions[i]`` is the sum of the terms those steps add to ``parents[i]``,
    ``what`` says whose terms they are ("examples 1–99").

    With ``upstream`` (non-zero: the gradient every one of those examples' loss terms receives, the
    same for all, as a mean's sum gives it) ``node`` stands for their terms' sum S and the step is the
    chain rule, ``p.grad += ∂S/∂p · S.grad``: ``local[i]`` = ∂S/∂p = the sum over those examples of
    ∂(term)/∂p = contributions[i] / upstream (shown, to rounding; ``contributions`` are the exact sums).
    Without it the upstream is 1 and the local derivatives are the sums themselves."""

    __slots__ = ("what", "chain")

    def __init__(self, index, total, node, parents, sums, running, names, what: str,
                 upstream: float | None = None, *, held):
        chain = upstream is not None and upstream != 0
        local = tuple(s / upstream for s in sums) if chain else sums
        super().__init__(index, total, node, upstream if chain else 1.0, parents, local, sums, running, names,
                         held=held)
        self.what, self.chain = what, chain
        self.op = names[node]

    def local_text(self, index: int, names: dict[Value, str]) -> str:
        if self.chain:
            return f"∂{names[self.node]}/∂{names[self.parents[index]]}"
        return f"Σ over {self.what} of their terms"


def backward_steps(root: Value) -> Iterator[BackwardStep]:
    """One fresh backward pass of ``root``'s graph, a `BackwardStep` per interior node.

    The gradients are those `autodiff.grad` returns, from zero whatever ``.grad`` held before, and no
    ``.grad`` is changed: stepping shows the pass without touching the user's gradients. The loop is
    the reference loop (`autodiff.reference.backprop`) that `backward()`'s executors must equal. A
    leaf set by hand is refused as ``backward()`` refuses it (`autodiff.engine.check_leaves`).
    """
    if root.__class__ is not Value:
        raise TypeError(f"backward needs a Value, got {type(root).__name__}")
    release_cycle_gc()   # the graph is built: the collector's threshold back, as backward() does
    order, leaves, _ = walk_leaves(root)
    check_leaves(order, leaves, "backward_steps")   # a leaf set by hand is refused naming it
    names = node_names(order)
    total = sum(1 for n in order if not n.is_leaf)
    grads = {root: like(1.0, root.data)}
    for index, (node, g, terms) in enumerate(backprop(root, grads), 1):
        running, held, after = {}, [], []
        for p, t in zip(node.parents, terms, strict=True):   # the accumulation the loop does next
            before = running[p] if p in running else grads.get(p)
            running[p] = t if before is None else before + t
            held.append(before)
            after.append(running[p])
        yield BackwardStep(index, total, node, g, node.parents, local_derivatives(node, order), terms,
                           tuple(after), names, held=tuple(held))


def local_derivatives(node: Value, order: list[Value]) -> tuple:
    """The local derivatives d node / d parents (the rule with upstream 1), finite or an error in words:
    a step never shows inf, even where the upstream made the term itself small enough. ``order`` (the
    graph's topological order) names the node in an error. Raises FloatingPointError for one that
    overflows, and what the rule raises, naming the op."""
    try:
        with _quiet_numpy(node):
            local = node.primitive.vjp(1.0, node.data, *[p.data for p in node.parents])
    except RULE_ERRORS as e:
        raise rule_error(e, node, order) from None
    if not all(map(finite, local)):
        raise FloatingPointError(
            f"backward: the local derivative of {node.op} at node {node.label or f'v{order.index(node)}'}"
            f" (inputs {', '.join(shown(p.data) for p in node.parents)}) overflows a float (beyond about "
            "1.8e308), so it is not a finite number and cannot be shown; scale the inputs")
    return tuple(local)


def _quiet_numpy(node: Value):
    if is_array(node.data) or any(is_array(p.data) for p in node.parents):
        import numpy as np
        return np.errstate(all="ignore")  # a local derivative that overflows is refused in words
    return nullcontext()


def example_index(example, allowed: str = "an int or None") -> int | None:
    """``example`` as the int it stands for: an int or an integer-like scalar (``np.int64(3)``, what
    ``np.argmax`` gives; anything `operator.index` takes), None as is. Raises ValueError for a bool
    (True is not example 1), a float, a str or anything else, naming the value and ``allowed``."""
    if example is None:
        return None
    if not isinstance(example, bool):
        try:
            return operator.index(example)
        except TypeError:
            pass
    raise ValueError(f"example must be {allowed} (an integer numpy scalar such as np.int64(3) is fine, a "
                     f"bool is not), got {example!r}")


def check_example(example, size: int | None, caller: str, allowed: str = "an int or None") -> int | None:
    """``example`` (`example_index`) checked against a graph of ``size`` examples (1: a plain graph,
    whose one example is 0; None: its type only, the range checked later), as every entry point taking
    ``example`` checks it, before any step.

    Raises ValueError starting ``caller:`` for what is not an int or None, and for an example the graph
    does not hold (-1 included: examples are counted from 0, not from the end)."""
    try:
        k = example_index(example, allowed)
    except ValueError as e:
        raise ValueError(f"{caller}: {e}") from None
    if k is not None and size is not None and not 0 <= k < size:
        held = f"examples 0..{size - 1}" if size > 1 else "one example"
        raise ValueError(f"{caller}: example {k!r} is not in the graph, which holds {held}; give one of "
                         "those (a batched graph comes from autodiff.batched)")
    return k


def format_backward_step(step: BackwardStep, example: int | None = None) -> str:
    """The worked-example text of a backward step, one line per parent (one per use of a reused one):
    ``step 3/9  tanh: n.grad += (1 − o²) · o.grad = 0.5 · 1.0 → 0.5``.  When the parent already
    received a term in this pass (`BackwardStep.held`, even one that left it at 0.0), the line ends with
    the accumulation: ``→ 3.0 + 3.0 = 6.0``, ``→ 0.0 + 0.0 = 0.0``. A negative factor, and a negative
    term after ``+``, is in brackets (`factor`): ``= (-3.0) · 2.0``, ``→ 1.0 + (-0.5) = 0.5``.

    On a batched graph the numbers are example ``example``'s (default 0); a parameter shared by every
    example receives the sum over the examples of its terms, shown as ``Σ_examples``. Raises ValueError
    for an ``example`` that is not an int or None, or that a batched step does not hold (`check_example`;
    a step of plain numbers is every example's).
    """
    names, node = step.names, step.node
    size = max(map(batch_size, (node, *step.parents)))  # 1: plain numbers, every example's
    e = check_example(example, size if size > 1 else None, "format_backward_step")
    head = f"step {step.index}/{step.total}  {step.op}: "
    lines = []
    if isinstance(step, SummedStep):
        return _summed_text(step)
    for i, parent in enumerate(step.parents):
        after, term, held = step.running[i], step.contributions[i], step.held[i]
        local, upstream = step.local[i], step.upstream
        rule = f"{step.local_text(i, names)} · {names[node]}.grad"
        if getattr(term, "ndim", 0) == 0 and (getattr(local, "ndim", 0) or getattr(upstream, "ndim", 0)):
            shown = f"Σ_examples {rule}  (example {e or 0}: {factor(at_example(local, e))} · " \
                    f"{factor(at_example(upstream, e))})"
        else:
            shown = f"{rule} = {factor(at_example(local, e))} · {factor(at_example(upstream, e))}"
        result = _accumulated(held, term, after, e)
        lines.append(f"{names[parent]}.grad += {shown} → {result}")
    return head + ("\n" + " " * len(head)).join(lines)


def _accumulated(held, term, after, example: int | None = None) -> str:
    """What a parent's gradient becomes: ``after`` for its first term in the pass (``held`` None), else
    ``held + term = after``, whatever ``held`` is (0.0, -0.0 and a batch of zeros included): the
    accumulation is shown because the node was reused, not because an earlier term was non-zero."""
    if held is None:
        return fmt(at_example(after, example))
    return f"{fmt(at_example(held, example))} + {factor(at_example(term, example))} = " \
           f"{fmt(at_example(after, example))}"


def _summed_text(step: SummedStep) -> str:
    """``step 748/748  Σ_others …`` then, per parent, ``w.grad += ∂Σ_others/∂w · Σ_others.grad =
    15.32 · 0.01 = 0.1532 → …`` (the chain rule), or ``w.grad += Σ over examples 0, 2 of their terms
    = 0.1532 → …`` when the examples' terms receive different gradients."""
    names, node = step.names, step.node
    if step.chain:
        head = (f"step {step.index}/{step.total}  {names[node]} = the loss terms of {step.what} added up: "
                f"their backward steps in one, ∂{names[node]}/∂p = Σ over {step.what} of ∂(term)/∂p")
    else:
        head = f"step {step.index}/{step.total}  {step.what}, Σ of their terms:"
    lines = [head]
    for i, parent in enumerate(step.parents):
        term = step.contributions[i]
        result = _accumulated(step.held[i], term, step.running[i])
        shown = (f"{step.local_text(i, names)} · {names[node]}.grad = {factor(step.local[i])} · "
                 f"{factor(step.upstream)} = {fmt(term)}" if step.chain else
                 f"{step.local_text(i, names)} = {fmt(term)}")
        lines.append(f"  {names[parent]}.grad += {shown} → {result}")
    return "\n".join(lines)


class Walkthrough:
    """The whole forward and backward pass of ``root``'s graph, recorded as frames to step through.

    Frames, in order: ``start`` (only the leaves are known), one ``forward`` frame per `ForwardStep`,
    ``seed`` (``root.grad = 1``), one ``backward`` frame per `BackwardStep`.  The backward frames are one
    fresh pass (`backward_steps`): the gradients `autodiff.grad` gives, whatever ``.grad`` held
    before, and no node's ``.grad`` is changed by recording or stepping. ``given`` lists the nodes whose
    values the start frame shows (the leaves) and ``parents(node)`` a node's operands as shown, which a
    walkthrough of part of a graph (`viz.examples.ExampleWalkthrough`) narrows.
    """

    def __init__(self, root: Value, example: int | None = None, *, caller: str = "Walkthrough"):
        if not isinstance(root, Value):
            raise TypeError(f"{caller} needs a Value (the output of a computation), got "
                            f"{type(root).__name__}")
        self.root = root
        self.order, leaves, _ = walk_leaves(root)
        check_leaves(self.order, leaves, caller)   # refused in the words of what the user called
        self.batch_size = max(map(batch_size, self.order))  # 1 for a plain graph
        example = check_example(example, self.batch_size, caller)
        #: the example whose numbers a batched graph shows (None for a plain graph)
        self.example = (example or 0) if self.batch_size > 1 else None
        self.names = node_names(self.order)
        self.position = {node: i for i, node in enumerate(self.order)}
        self.prior: dict[Value, float] = {}  # gradients before the pass: none, each pass is fresh
        self.forward = list(_forward_steps(self.order, self.example))
        self.backward = list(backward_steps(root))
        self.kinds = (["start"] + ["forward"] * len(self.forward) + ["seed"]
                      + ["backward"] * len(self.backward))
        self.seed = 1.0
        #: the nodes whose values the start frame gives: the leaves
        self.given = [n for n in self.order if n.is_leaf]

    def __len__(self) -> int:
        return len(self.kinds)

    def __repr__(self) -> str:
        return (f"<Walkthrough of {self.names[self.root]}: {len(self.forward)} forward and "
                f"{len(self.backward)} backward steps>")

    def step(self, frame: int) -> ForwardStep | BackwardStep | None:
        """The step a frame shows (None for ``start`` and ``seed``)."""
        kind = self.kinds[frame]
        if kind == "forward":
            return self.forward[frame - 1]
        if kind == "backward":
            return self.backward[frame - len(self.forward) - 2]
        return None

    def node(self, frame: int) -> Value | None:
        """The node a frame is about: the one computed or passing its gradient on; the root at seed."""
        step = self.step(frame)
        return self.root if self.kinds[frame] == "seed" else None if step is None else step.node

    def text(self, frame: int) -> str:
        kind = self.kinds[frame]
        if kind == "start":
            leaves = ", ".join(f"{self.names[n]} = {fmt(self.at(n.data))}" for n in self.given)
            if self.example is None:
                return f"start: the leaves are {leaves}"
            return (f"start (example {self.example} of {self.batch_size}; a parameter's gradient sums "
                    f"every example's): the leaves are {leaves}")
        if kind == "seed":
            name = self.names[self.root]
            return f"backward begins: {name}.grad = d{name}/d{name} = 1.0"
        step = self.step(frame)
        return str(step) if kind == "forward" else format_backward_step(step, self.example)

    def parents(self, node: Value) -> tuple[Value, ...]:
        """``node``'s operands as this walkthrough shows them (all of them; none for a given node)."""
        return node.parents

    def op(self, node: Value) -> str:
        """What made ``node`` as a stepper names it: its op's name, or "leaf"."""
        return node.op or "leaf"

    def at(self, x):
        """``x`` (a value or gradient) as the walkthrough shows it: the chosen example's number."""
        return at_example(x, self.example)

    def values(self, frame: int) -> dict[Value, float]:
        """The node values known after ``frame``: the leaves, then each node the forward pass computed."""
        known = {n: self.at(n.data) for n in self.given}
        for step in self.forward[:frame]:
            known[step.node] = self.at(step.result)
        return known

    def grads(self, frame: int) -> dict[Value, float]:
        """The running gradients after ``frame``: empty during the forward pass, then the root's seed and
        each parent's gradient as the backward steps add to it."""
        nf = len(self.forward)
        if frame <= nf:
            return {}
        grads = {self.root: self.seed}
        for step in self.backward[:frame - nf - 1]:
            for parent, after in zip(step.parents, step.running, strict=True):
                grads[parent] = self.at(after)
        return grads
