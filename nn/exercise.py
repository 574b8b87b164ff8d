"""Exercises with answer keys: `make_exercise` draws a small network with numbers (seeded; neither trivial
nor saturated) and asks for its forward values, every δ, every gradient and one update step; the key is
the engine's, cross-checked against a document's closed form. `Exercise.write` makes HTML and Markdown."""

# ruff: noqa: E741, E501  (l is the layer index, as in the documents; the templates keep their lines)
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autodiff.files import write_atomic
from autodiff.primitives import quoted
from nn.closed_form import ClosedForm, document, mlp_from_layers, sub, sup
from nn.comparison import Comparison, Row, compare

__all__ = ["Exercise", "make_exercise", "KINDS", "NETWORKS", "FILES"]

# --net ... --activation A --loss L: which document derives that kind of network (its closed form is
# the cross-check of the answer key)
KINDS: dict[tuple[str, str], str] = {
    ("sigmoid", "squared_error"): "003",
    ("sigmoid", "binary_cross_entropy"): "002",
    ("relu", "cross_entropy"): "000",
}
# --doc D alone: the network the document draws (000: D-H-C; 001: one output; 004: 2-3-2)
NETWORKS: dict[str, list[int]] = {"000": [2, 3, 3], "001": [2, 3, 1], "002": [2, 3, 2], "003": [2, 3, 2],
                                  "004": [2, 3, 2]}
FILES = ("sheet.md", "sheet.html", "answers.md", "answers.html", "stepper.html")

# What "neither trivial nor saturated" means: every pre-activation z has 0.1 ≤ |z| ≤ 3 (a sigmoid's
# slope is then between 0.045 and 0.25; a ReLU is 0.1 from its kink), and every δ and gradient has
# |·| ≥ 0.001, so none rounds to 0 at four decimals.
Z_MIN, Z_MAX, SMALLEST = 0.1, 3.0, 1e-3
# The search for such numbers is bounded: each try costs time in proportion to the parameters, so the
# tries allowed shrink as the network grows (a few seconds at most); a deeper network is refused at once.
MAX_LAYERS, TRY_BUDGET, MIN_TRIES = 3, 40_000, 200


@dataclass
class Exercise:
    """One problem and its key: the network (``model``, its ``layers`` [(W, b)]), one example ``x`` with
    target ``y``, the learning rate ``lr``, and ``key``, the engine against document ``doc``'s closed
    form (every z, a, δ, gradient and updated parameter; ``key.agree`` is always True here)."""

    seed: int
    doc: type[ClosedForm]
    layers: list[tuple[np.ndarray, np.ndarray]]
    x: list[float]
    y: list[float]
    lr: float
    key: Comparison
    by_doc: bool  # drawn for --doc (True) or for --net (False)
    stepper_skipped: str | None = None  # set by `write` when the graph is too big for a stepper page

    @property
    def widths(self) -> list[int]:
        return [self.layers[0][0].shape[1], *(W.shape[0] for W, _ in self.layers)]

    @property
    def name(self) -> str:
        net = "-".join(map(str, self.widths))
        return f"document {self.doc.number}, {net}, seed {self.seed}" if self.by_doc else \
            f"{net} {self.doc.hidden}/{self.activation_out}, seed {self.seed}"

    @property
    def activation_out(self) -> str:
        return self.doc.output_choices[0]

    def model(self):
        """A new `nn.MLP` holding the exercise's parameters."""
        return mlp_from_layers(self.layers, self.doc.hidden, self.activation_out)

    def context(self) -> dict:
        """What the templates show: the network, the questions, and the answers (engine and closed form)."""
        L, d = len(self.layers), self.doc

        def answer(row: Row) -> dict:
            symbol = row.symbol
            if symbol in ("z", "a"):  # a forward row: z⁽ˡ⁾ⱼ, a⁽ˡ⁾ⱼ from layers.l.neurons.j.z
                parts = row.name.split(".")
                symbol += sup(f"({int(parts[1]) + 1})") + sub(int(parts[3]) + 1)
            return {"name": row.name, "symbol": symbol, "engine": row.engine, "closed": row.closed}

        neurons = []
        for l, (W, b) in enumerate(self.layers):
            for j in range(W.shape[0]):
                neurons.append({"layer": l + 1, "neuron": j + 1,
                                "weights": [{"symbol": d.param_symbol(l, j, k, L), "value": float(W[j, k])}
                                            for k in range(W.shape[1])],
                                "bias": {"symbol": d.param_symbol(l, j, None, L), "value": float(b[j])}})
        return {
            "title": f"Backpropagation exercise: {self.name}",
            "seed": self.seed, "doc": d, "widths": self.widths, "hidden": d.hidden,
            "output": self.activation_out, "loss_text": d.loss_text, "lr": self.lr,
            "x": self.x, "y": self.y, "neurons": neurons,
            "target": d.target_symbol,
            "loss": answer(self.key.loss),
            "forward": [answer(r) for r in self.key.forward],
            "deltas": [answer(r) for r in self.key.deltas],
            "grads": [answer(r) for r in self.key.grads],
            "update": [answer(r) for r in self.key.update],
            "max_diff": self.key.max_abs,
        }

    def render(self, template: str) -> str:
        """One of `FILES` (but the stepper page) as text."""
        if template not in FILES[:4]:
            raise ValueError(f"render: no template {template!r:.40}; choose one of {', '.join(FILES[:4])}")
        text = _environment().get_template(template).render(answers=template.startswith("answers"),
                                                            **self.context())
        return text.rstrip() + "\n"

    def write(self, folder: str | os.PathLike) -> list[Path]:
        """Write the sheet and the answer key (Markdown and HTML) and the predict-mode stepper page of the
        loss's graph into ``folder`` (created if missing); return the paths. Files are written atomically.
        The stepper needs graphviz (`dot`, or graphviz-pure) for its diagram; a graph too big to draw
        (over 300 nodes) gets no stepper page, and ``stepper_skipped`` says why."""
        from viz.step_html import HtmlStepper

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        pages = {name: self.render(name) for name in FILES[:4]}
        root, _ = self.doc.from_layers(self.layers).engine_loss(self.model(), [self.x], [self.y])
        self.stepper_skipped = None
        try:
            pages["stepper.html"] = HtmlStepper(root, predict=True, title=self.context()["title"]).html
        except ValueError as e:  # the graph is too big to draw: the sheet is still worth having
            self.stepper_skipped = f"no stepper page: {e}"
        paths = []
        for name in pages:
            paths.append(folder / name)
            write_atomic(paths[-1], pages[name])
        return paths


def _draw(gen: random.Random, widths: list[int], cls: type[ClosedForm]):
    """Parameters, input and target with one decimal: weights and biases in ±[0.1, 1.0], inputs in
    ±[0.1, 1.0], targets in [0.1, 0.9] (0/1 for binary cross-entropy, one-hot for cross-entropy)."""
    def tenth(low: int, high: int) -> float:
        return gen.choice([-1, 1]) * gen.randint(low, high) / 10

    layers = [(np.array([[tenth(1, 10) for _ in range(n_in)] for _ in range(n_out)]),
               np.array([tenth(1, 10) for _ in range(n_out)])) for n_in, n_out in zip(widths, widths[1:], strict=False)]
    x = [tenth(1, 10) for _ in range(widths[0])]
    n = widths[-1]
    if cls.targets == "one-hot":
        y = [0.0] * n
        y[gen.randrange(n)] = 1.0
    elif cls.targets == "binary":
        y = [float(gen.randint(0, 1)) for _ in range(n)]
    else:
        y = [gen.randint(1, 9) / 10 for _ in range(n)]
    return layers, x, y


def _usable(key: Comparison) -> bool:
    z = [r.engine for r in key.forward if r.symbol == "z"]
    return (all(Z_MIN <= abs(v) <= Z_MAX for v in z)
            and all(abs(r.engine) >= SMALLEST for r in key.deltas + key.grads))


def make_exercise(*, doc: str | None = None, net: str | list[int] | None = None,
                  activation: str | None = None, loss: str | None = None, seed: int = 0,
                  lr: float = 0.5) -> Exercise:
    """A seeded exercise: the same arguments give the same exercise, to the byte.

    ``doc`` ("000" .. "004") takes that document's kind of network (the one it draws unless ``net``
    says otherwise, e.g. "2-3-2"); without ``doc``, ``net`` with ``activation`` (default "sigmoid") and
    ``loss`` (default "squared_error") picks the document deriving that kind (`KINDS`: sigmoid + squared_error is 003, sigmoid +
    binary_cross_entropy 002, relu + cross_entropy 000). The numbers are redrawn until every z has
    0.1 ≤ |z| ≤ 3 and every δ and gradient |·| ≥ 0.001. The answers are the engine's; they are
    cross-checked against the document's closed form and a disagreement raises RuntimeError.
    Raises ValueError naming a bad argument.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {quoted(seed, 40)}")
    if not (isinstance(lr, (int, float)) and not isinstance(lr, bool) and 0 < lr < 10):
        raise ValueError(f"lr must be a number in (0, 10), got {quoted(lr, 40)}")
    if doc is None:
        if net is None:
            raise ValueError("which network? give doc='004' (a document's), or net='2-3-2' with "
                             "activation= and loss=")
        activation, loss = activation or "sigmoid", loss or "squared_error"
        kind = (activation, loss)
        if kind not in KINDS:
            choices = "; ".join(f"{a} with {lo}" for a, lo in KINDS)
            raise ValueError(f"no document derives a {activation} network with the {loss} loss, so the "
                             f"key could not be cross-checked; choose one of: {choices}")
        cls = document(KINDS[kind])
    else:
        if activation is not None or loss is not None:
            raise ValueError(f"doc={doc!r} fixes the activation and the loss; activation= and loss= go "
                             "with net= alone")
        cls = document(doc)
    widths = _widths(net) if net is not None else NETWORKS[cls.number]
    cls._check_depth(len(widths) - 1)
    if cls.targets == "one-hot" and widths[-1] < 2:
        raise ValueError(f"net {'-'.join(map(str, widths))}: the cross-entropy loss takes a softmax over the "
                         "outputs, and a softmax over one output is always 1 (every gradient 0); give at "
                         "least 2 outputs, e.g. 2-3-2, or use the binary_cross_entropy loss for one output")
    n_params = sum(n_out * (n_in + 1) for n_in, n_out in zip(widths, widths[1:], strict=False))
    tries = max(MIN_TRIES, TRY_BUDGET // n_params)
    gen = random.Random(f"deltagrad exercise {seed}")  # a str seed hashes the same on every run
    for _ in range(tries):
        layers, x, y = _draw(gen, widths, cls)
        closed = cls.from_layers(layers)
        key = compare(closed, [x], [y], lr=lr)
        if _usable(key):
            break
    else:
        raise RuntimeError(f"make_exercise: no draw for net {'-'.join(map(str, widths))} gave answers neither "
                           f"trivial nor saturated in {tries} tries; choose a smaller or narrower network "
                           "(e.g. 2-3-2) or another seed")
    if not key.agree:
        raise RuntimeError(f"the engine and document {cls.number}'s closed form disagree on this exercise; "
                           f"the key is not written:\n{key}")
    return Exercise(seed, cls, layers, x, y, float(lr), key, doc is not None)


def _widths(net: str | list[int]) -> list[int]:
    try:
        widths = [int(w) for w in net.split("-")] if isinstance(net, str) else [int(w) for w in net]
    except (TypeError, ValueError):
        widths = []
    if len(widths) < 2 or any(w < 1 or w > 6 for w in widths):
        raise ValueError(f"net {net!r:.40}: give the layer widths from input to output, each 1 to 6 (an "
                         "exercise is worked by hand), e.g. 2-3-2")
    if len(widths) - 1 > MAX_LAYERS:
        raise ValueError(f"net {net!r:.40}: {len(widths) - 1} layers of weights; an exercise worked by hand "
                         f"has at most {MAX_LAYERS} (e.g. 2-3-3-2)")
    return widths


# ---- the templates -----------------------------------------------------------------------------------

def _number(x: float, digits: int = 4) -> str:
    """A number for a sheet: rounded to ``digits`` decimals, without a trailing zero run; -0 is 0."""
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


_SHEET_MD = """\
# {{ title }}

{% if doc %}The network of document {{ doc.number }}, *{{ doc.title }}*.{% endif %}
Layers {{ widths | join("-") }}: {{ hidden }} hidden units, {{ output }} output.
Loss: {{ loss_text }}; here one example, m = 1. Learning rate η = {{ lr | num }}.

## The network

| neuron | weights | bias |
| --- | --- | --- |
{% for n in neurons -%}
| layer {{ n.layer }}, neuron {{ n.neuron }} | {% for w in n.weights %}{{ w.symbol }} = {{ w.value | num }}{{ ", " if not loop.last }}{% endfor %} | {{ n.bias.symbol }} = {{ n.bias.value | num }} |
{% endfor %}
Input x = ({{ x | map("num") | join(", ") }}), target {{ target }} = ({{ y | map("num") | join(", ") }}).

## Questions{% if answers %} and answers (the engine's; document {{ doc.number }}'s closed form agrees to {{ "%.0e" | format(max_diff) }}){% endif %}

Give every number to 4 decimals.

1. **Forward.** Every neuron's pre-activation z and activation a, then the loss.
{% for r in forward %}   - {{ r.symbol }} (`{{ r.name }}`){% if answers %} = {{ r.engine | num(6) }}{% endif %}
{% endfor %}   - loss L{% if answers %} = {{ loss.engine | num(6) }}{% endif %}
2. **δ.** δ = ∂L/∂z of every neuron.
{% for r in deltas %}   - {{ r.symbol }} (`{{ r.name }}`){% if answers %} = {{ r.engine | num(6) }}{% endif %}
{% endfor %}3. **Gradients.** ∂L/∂ of every weight and bias.
{% for r in grads %}   - ∂L/∂{{ r.symbol }} (`{{ r.name }}`){% if answers %} = {{ r.engine | num(6) }}{% endif %}
{% endfor %}4. **One step.** Every parameter after one step of gradient descent, θ ← θ − η ∂L/∂θ.
{% for r in update %}   - {{ r.symbol }} (`{{ r.name }}`){% if answers %} → {{ r.engine | num(6) }}{% endif %}
{% endfor %}
{% if not answers %}The stepper page (stepper.html) asks for each gradient of the backward pass in turn and
checks your answer.{% endif %}
"""

_SHEET_HTML = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}{% if answers %}: answers{% endif %}</title>
<style>
 body { font: 15px/1.5 system-ui, sans-serif; max-width: 56em; margin: 1.5em auto; padding: 0 1em; color: #222; }
 table { border-collapse: collapse; margin: 0.5em 0 1em; }
 td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
 td.num { text-align: right; font-variant-numeric: tabular-nums; }
 code { font-size: 90%; color: #555; }
 .blank { display: inline-block; min-width: 7em; border-bottom: 1px solid #888; }
</style></head>
<body>
<h1>{{ title }}{% if answers %}: answers{% endif %}</h1>
<p>{% if doc %}The network of document {{ doc.number }}, <em>{{ doc.title }}</em>. {% endif %}Layers
{{ widths | join("-") }}: {{ hidden }} hidden units, {{ output }} output. Loss: {{ loss_text }}; here one example,
m = 1. Learning rate η = {{ lr | num }}.</p>
<h2>The network</h2>
<table><tr><th>neuron</th><th>weights</th><th>bias</th></tr>
{% for n in neurons %}<tr><td>layer {{ n.layer }}, neuron {{ n.neuron }}</td>
<td>{% for w in n.weights %}{{ w.symbol }} = {{ w.value | num }}{{ ", " if not loop.last }}{% endfor %}</td>
<td>{{ n.bias.symbol }} = {{ n.bias.value | num }}</td></tr>
{% endfor %}</table>
<p>Input x = ({{ x | map("num") | join(", ") }}), target {{ target }} = ({{ y | map("num") | join(", ") }}).</p>
<h2>Questions</h2>
{% if answers %}<p>The answers are the engine's; document {{ doc.number }}'s closed form agrees with every one
to {{ "%.0e" | format(max_diff) }}.</p>{% else %}<p>Give every number to 4 decimals.</p>{% endif %}
{% for title, rows, what in [("1. Forward: every z and a, then the loss", forward, "value"),
                             ("2. δ = ∂L/∂z of every neuron", deltas, "δ"),
                             ("3. ∂L/∂ of every weight and bias", grads, "gradient"),
                             ("4. Every parameter after one step, θ ← θ − η ∂L/∂θ", update, "after the step")] %}
<h3>{{ title }}</h3>
<table><tr><th></th><th>node</th><th>{{ what }}</th></tr>
{% for r in rows %}<tr><td>{{ r.symbol }}</td><td><code>{{ r.name }}</code></td>
<td class="num">{% if answers %}{{ r.engine | num(6) }}{% else %}<span class="blank"></span>{% endif %}</td></tr>
{% endfor %}{% if loop.first %}<tr><td>L</td><td><code>loss</code></td>
<td class="num">{% if answers %}{{ loss.engine | num(6) }}{% else %}<span class="blank"></span>{% endif %}</td></tr>
{% endif %}</table>
{% endfor %}
{% if not answers %}<p>The stepper page, <a href="stepper.html">stepper.html</a>, asks for each gradient of the
backward pass in turn and checks your answer.</p>{% endif %}
</body></html>
"""


def _environment():
    """Jinja2, autoescaping the .html templates (a symbol or name can never become markup)."""
    import jinja2

    loader = jinja2.DictLoader({"sheet.md": _SHEET_MD, "answers.md": _SHEET_MD,
                                "sheet.html": _SHEET_HTML, "answers.html": _SHEET_HTML})
    env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["num"] = _number
    return env
