"""A live explorer for notebooks: a slider per input of a function of `Value`s; moving one recomputes
the forward and backward pass and redraws the diagram and the gradients (ipywidgets, the `notebook`
extra)."""

from __future__ import annotations

import html
import inspect
import math
from collections.abc import Callable, Mapping

from autodiff import Value
from autodiff.primitives import as_real, quoted
from autodiff.steps import shown_label

__all__ = ["Explorer", "explore"]

_INSTALL = "pip install 'deltagrad[notebook]' (ipywidgets), then restart the kernel"


def _widgets():
    try:
        import ipywidgets
    except ImportError:
        raise ImportError(f"viz.explore needs ipywidgets: {_INSTALL}") from None
    return ipywidgets


def _inputs(f: Callable, given: Mapping[str, float] | None) -> dict[str, float]:
    """The starting value of each input: ``given``, else the defaults in ``f``'s signature."""
    if not callable(f):
        raise TypeError(f"explore takes a function of Values, e.g. explore(lambda x, w: (x * w).tanh(), "
                        f"{{'x': 1.0, 'w': 0.5}}), got {type(f).__name__}")
    try:
        params = inspect.signature(f).parameters
    except (TypeError, ValueError):
        params = {}
    if given is None:
        given = {name: p.default for name, p in params.items() if p.default is not inspect.Parameter.empty}
        missing = [name for name, p in params.items() if p.default is inspect.Parameter.empty
                   and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if missing or not given:
            raise TypeError(f"explore: give each input of {getattr(f, '__name__', 'f')} a starting value, "
                            f"e.g. explore(f, {{{', '.join(repr(n) + ': 1.0' for n in params)}}})")
    values = {}
    for name, v in dict(given).items():
        r = as_real(v) if isinstance(v, (int, float)) else None   # ±inf for an int beyond the floats
        if r is None or not math.isfinite(r):
            raise ValueError(f"explore: input {name!r} must start at a finite number, got {quoted(v)}")
        values[name] = r
    if params:
        try:
            inspect.signature(f).bind(**values)
        except TypeError as e:
            raise TypeError(f"explore: the inputs {', '.join(values)} do not fit "
                            f"{getattr(f, '__name__', 'f')}{inspect.signature(f)}: {e}") from None
    return values


class Explorer:
    """The widgets of `explore`: ``sliders`` (one per input, by name), ``diagram`` and ``table`` (HTML
    widgets), ``root`` (the output `Value` for the sliders' current values; None after an error) and
    ``error`` (the message shown instead of the diagram when the function raised, else "")."""

    def __init__(self, f: Callable[..., Value], inputs: dict[str, float],
                 ranges: Mapping[str, tuple[float, float]], steps: int, draw_options: dict):
        w = _widgets()
        self.f, self.draw_options = f, draw_options
        self.root: Value | None = None
        self.leaves: dict[str, Value] = {}
        self.error = ""
        self.sliders = {}
        for name, v in inputs.items():
            lo, hi = ranges.get(name, (v - max(1.0, 2 * abs(v)), v + max(1.0, 2 * abs(v))))
            if not lo <= v <= hi:
                raise ValueError(f"explore: the range of {name!r}, ({lo}, {hi}), does not hold its start {v}")
            self.sliders[name] = w.FloatSlider(value=v, min=lo, max=hi, step=(hi - lo) / steps,
                                               description=name, continuous_update=False,
                                               readout_format=".4g")
        self.diagram = w.HTML()
        self.table = w.HTML()
        for slider in self.sliders.values():
            slider.observe(lambda change: self.update(), names="value")
        self.widget = w.VBox([*self.sliders.values(), self.table, self.diagram],
                             layout=w.Layout(width="100%"))
        self.update()

    def update(self) -> None:
        """Recompute forward and backward at the sliders' values, then redraw."""
        from viz.draw import Diagram, show

        self.leaves = {name: Value(s.value, name) for name, s in self.sliders.items()}
        try:
            root = self.f(**self.leaves)
            if not isinstance(root, Value):
                raise TypeError(f"the function must return a Value (the output), got {type(root).__name__}")
            root.backward()
            shown = show(root, **self.draw_options)  # a big graph: neurons collapsed, or laid out in layers
            svg = shown._repr_svg_() if isinstance(shown, Diagram) else shown.svg  # one scroll box, below
        except Exception as e:  # shown in the output area instead of a traceback; the sliders stay
            self.root, self.error = None, f"{type(e).__name__}: {e}"
            self.table.value = ""
            self.diagram.value = f'<pre style="color:#c92a2a">{html.escape(self.error)}</pre>'
            return
        self.root, self.error = root, ""
        out = shown_label(root.label) or "output"
        rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{v.data:.6g}</td><td>{v.grad:.6g}</td></tr>"
                       for name, v in self.leaves.items())
        self.table.value = (f"<table><tr><th>input</th><th>value</th><th>∂{html.escape(out)}/∂input</th></tr>"
                            f"{rows}</table><p>{html.escape(out)} = {root.data:.6g}</p>")
        self.diagram.value = f'<div style="max-width:100%;overflow-x:auto">{svg}</div>'

    @property
    def gradients(self) -> dict[str, float]:
        """d output / d input for each input at the current values ({} after an error)."""
        return {} if self.root is None else {name: v.grad for name, v in self.leaves.items()}

    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.widget)


def explore(f: Callable[..., Value], inputs: Mapping[str, float] | None = None, *,
            ranges: Mapping[str, tuple[float, float]] | None = None, steps: int = 200,
            **draw_options) -> Explorer:
    """Sliders for the inputs of ``f``, a function of named `Value`s returning the output `Value`.

    ``viz.explore(lambda x, w, b: (x * w + b).tanh(), {"x": 2.0, "w": -3.0, "b": 1.0})``; without
    ``inputs`` the defaults of ``f``'s parameters are the starting values. Moving a slider calls ``f``
    on fresh Values, runs ``backward()`` and redraws the diagram (``draw_options`` as for `viz.draw`)
    and the table of gradients; your own Values are never touched. Each slider spans ``ranges[name]``
    (default: the start ± max(1, 2·|start|)) in ``steps`` steps. An error raised by ``f`` (say ``log``
    of a negative number) is shown in place of the diagram. Needs ipywidgets (the `notebook` extra):
    ImportError otherwise; TypeError/ValueError for a bad function, input or range.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"explore: steps must be a positive whole number, got {steps!r}")
    from viz.draw import draw
    try:  # a misspelt drawing option fails here, not on every slider move
        inspect.signature(draw).bind(None, **draw_options)
    except TypeError as e:
        raise TypeError(f"explore: {e} (draw_options are viz.draw's keyword arguments)") from None
    values = _inputs(f, inputs)
    ranges = dict(ranges or {})
    unknown = sorted(set(ranges) - set(values))
    if unknown:
        raise ValueError(f"explore: ranges given for {', '.join(unknown)}, which are not inputs "
                         f"({', '.join(values)})")
    return Explorer(f, values, ranges, steps, draw_options)
