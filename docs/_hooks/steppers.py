"""MkDocs hooks: write the stepper pages that docs/steppers.md embeds (viz.step_html, so the site shows
the stepper of this checkout) into site/steppers/pages/, and keep the rendered notebooks offline."""

from __future__ import annotations

import re
from pathlib import Path

# nbconvert adds this loader to a notebook that made a widget (the tour's `viz.explore`); it fetches the
# widget renderer from a CDN. The site shows no live widget (the explorer needs a kernel), so it goes.
_WIDGET_LOADER = re.compile(r"<script>\s*\(function\(\) \{\s*function addWidgetsRenderer\(\).*?</script>",
                            re.S)


def on_post_page(output: str, page, config) -> str:
    return _WIDGET_LOADER.sub("", output)


def _neuron():
    from autodiff import Value

    x1, x2, w1, w2 = Value(2.0, "x1"), Value(0.0, "x2"), Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    n = x1 * w1 + x2 * w2 + b; n.label = "n"  # noqa: E702
    o = n.tanh(); o.label = "o"  # noqa: E702
    return o


def _document_004():
    from nn.closed_form import DOCUMENTS
    from nn.comparison import random_case

    model, X, Y = random_case("004", 2, [3, 2], 1, 0)
    loss, _ = DOCUMENTS["004"].from_mlp(model).engine_loss(model, X, Y)
    loss.label = "L"
    return loss


def _second_derivative():
    from autodiff import Value, grad

    x = Value(0.5, "x")
    dy = grad(x.tanh(), x, create_graph=True); dy.label = "dy/dx"  # noqa: E702
    return dy


def _mlp():
    import nn

    model = nn.MLP(2, [3, 2, 1], activation="tanh", rng=0)
    loss = nn.squared_error(model([1.0, -2.0]), [1.0]); loss.label = "loss"  # noqa: E702
    return loss


PAGES = {  # file: (graph, options of step_html)
    "neuron.html": (_neuron, {}),
    "neuron_predict.html": (_neuron, {"predict": True}),
    "mlp_neuron_level.html": (_mlp, {"level": "neuron"}),
    "document_004.html": (_document_004, {}),
    "second_derivative.html": (_second_derivative, {}),
}


def on_post_build(config, **kwargs) -> None:
    from viz import step_html

    folder = Path(config["site_dir"]) / "steppers" / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    for name, (build, options) in PAGES.items():
        step_html(build(), folder / name, **options)
