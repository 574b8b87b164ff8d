"""Shared test helpers. `require` skips a test whose real component is missing, except under CI
(``CI`` set), where a missing component must fail the run instead of hiding behind a skip. Under CI,
hypothesis is derandomized (profile "ci"); local runs keep exploring new examples."""

from __future__ import annotations

import gc
import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")

# CI runs the same examples every time (derandomize: drawn from a fixed seed per test) and keeps no
# example database, so a run's verdict depends on the commit alone; a failure found while exploring
# locally is what the regression cases (e.g. in test_torch_crosscheck) pin. Loaded here, before the test
# modules are imported, so every @settings(...) inherits it. No deadline and no too_slow health check:
# both depend on the machine's load (2 cores shared by many jobs), not on the code.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
if IN_CI:
    settings.load_profile("ci")


def require(available: bool, what: str, how: str) -> None:
    """Skip (locally) or fail (in CI) when ``what`` is not available; ``how`` says how to get it."""
    if available:
        return
    message = f"{what} is not available: {how}"
    if IN_CI:
        pytest.fail(f"CI is set and {message}", pytrace=False)
    pytest.skip(message)


def require_torch():
    """Import and return torch, or skip/fail as `require` does."""
    try:
        import torch
    except ImportError:
        torch = None
    require(torch is not None, "PyTorch", "pip install torch==2.13.0 (CPU wheel) into .venv")
    torch.set_default_dtype(torch.float64)
    return torch


def require_dot() -> str:
    path = shutil.which("dot")
    require(path is not None, "graphviz `dot`", "apt-get install graphviz")
    return path


def require_chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require(path is not None, "Chromium", "apt-get install chromium chromium-driver")
    return path


# Debian's chromium, headless, with none of its own network traffic (this machine has no network).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    """A real headless Chromium driven by Playwright, one per test module."""
    chromium = require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright is not None, "Playwright for Python", "pip install -e '.[test]'")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


# ---- graphs several test files step through -------------------------------------------------------

B = 6.8813735870195432  # makes the classic neuron's pre-activation n = atanh(1/√2), so o = 1/√2


def classic_neuron():
    """The classic neuron o = tanh(x1 w1 + x2 w2 + b) with x1=2, x2=0, w1=-3, w2=1, every node
    labelled: (o, {label: node})."""
    from autodiff import Value

    x1, x2, w1, w2, b = (Value(v, k) for v, k in
                         [(2.0, "x1"), (0.0, "x2"), (-3.0, "w1"), (1.0, "w2"), (B, "b")])
    x1w1 = x1 * w1; x1w1.label = "x1w1"
    x2w2 = x2 * w2; x2w2.label = "x2w2"
    s = x1w1 + x2w2; s.label = "x1w1x2w2"
    n = s + b; n.label = "n"
    o = n.tanh(); o.label = "o"
    return o, dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, x1w1=x1w1, x2w2=x2w2, s=s, n=n, o=o)


def diamond():
    """a feeds two paths that meet again: d = tanh(a) * exp(a); returns (d, a, b, c)."""
    from autodiff import Value

    a = Value(0.3, "a")
    b = a.tanh(); b.label = "b"
    c = a.exp(); c.label = "c"
    d = b * c; d.label = "d"
    return d, a, b, c


def blas_threads_now() -> list[int]:
    """numpy's BLAS thread counts as threadpoolctl sees them now (skips without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    require(threadpool_info is not None, "threadpoolctl", "pip install -e '.[test]' (or '.[batched]')")
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def watch_blas_threads(monkeypatch, *modules) -> list[tuple[int, list[int]]]:
    """Record (size, BLAS threads inside the block) for every `blas_threads(size)` the given modules
    enter: the real limit, watched from inside it."""
    from contextlib import contextmanager

    from autodiff import primitives
    seen = []
    real = primitives.blas_threads

    @contextmanager
    def watched(size, matrix=True):
        with real(size, matrix):
            seen.append((size, blas_threads_now()))
            yield

    for module in modules:
        monkeypatch.setattr(module, "blas_threads", watched)
    return seen


@pytest.fixture
def fresh_primitives():
    """Primitives a test defines are taken out of the table after it."""
    from autodiff.primitives import PRIMITIVES
    before = set(PRIMITIVES)
    yield
    for name in set(PRIMITIVES) - before:
        del PRIMITIVES[name]


def compiled_grads(root, leaves) -> list:
    """The leaves' gradients from ``autodiff.compile(root)``'s forward() and backward(), starting from
    0 (the leaves' .grad is zeroed first): what root.backward() from zero would give."""
    import autodiff
    for v in leaves:
        v.grad = 0.0
    program = autodiff.compile(root)
    program.forward()
    program.backward()
    return [v.grad for v in leaves]


@pytest.fixture
def gc_as_python_leaves_it():
    """The collector on, at Python's default thresholds, and no hold left over from another test (the
    tests of the graph-building hold: `pytestmark = pytest.mark.usefixtures("gc_as_python_leaves_it")`)."""
    was, thresholds = gc.isenabled(), gc.get_threshold()
    from autodiff import Value
    Value(0.0).backward()   # any backward ends a hold
    gc.enable()
    gc.set_threshold(700, 10, 10)
    # and from an empty young generation: in one full run (4,116 tests) the hold's 26,000-node build
    # set off one collection, seen once and not again alone or with its neighbours; what the tests
    # before left young (up to the threshold) then counts against the hold's bound no more
    gc.collect()
    yield
    Value(0.0).backward()
    gc.set_threshold(*thresholds)
    (gc.enable if was else gc.disable)()


# ---- the layered drawing's static markup (viz.layered.layered_svg) ---------------------------------

def _px(style: str) -> dict[str, float]:
    """A style attribute's lengths in px: "left:12px;top:-3px" -> {"left": 12.0, "top": -3.0}."""
    import re
    return {k: float(v) for k, v in re.findall(r"([a-z-]+)\s*:\s*(-?[\d.]+)px", style)}


def _layered_parse(markup: str) -> tuple[list[tuple[float, float, float, float]], dict[int, tuple]]:
    """The tiles of boxes, (left, top, width, height) in drawing px in page order, and each box's halo
    (its `.node` div) as i -> (x, y, width, tile index), x and y in the drawing's coordinates (the tile's
    left/top plus the node's). A box outside a tile of boxes, or two boxes with one id, is an error."""
    import re
    from html.parser import HTMLParser

    tiles: list[tuple[float, float, float, float]] = []
    boxes: dict[int, tuple[float, float, float, int]] = {}

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.divs: list[bool] = []   # for each open <div>: is it a tile of boxes

        def handle_starttag(self, tag, attrs):
            if tag != "div":
                return
            a = dict(attrs)
            classes = (a.get("class") or "").split()
            tile = "dg-tile" in classes and "dg-boxes" in classes
            if tile:
                s = _px(a.get("style") or "")
                tiles.append((s["left"], s["top"], s["width"], s["height"]))
            elif "node" in classes and re.fullmatch(r"n\d+", a.get("id") or ""):
                i = int(a["id"][1:])
                assert any(self.divs), f"box n{i} is not inside a tile of boxes"
                assert i not in boxes, f"two boxes with id n{i}"
                s, (left, top, _, _) = _px(a.get("style") or ""), tiles[-1]
                boxes[i] = (left + s["left"], top + s["top"], s["width"], len(tiles) - 1)
            self.divs.append(tile)

        def handle_endtag(self, tag):
            if tag == "div":
                self.divs.pop()

    Parser().feed(markup)
    return tiles, boxes


def layered_tiles(markup: str) -> list[tuple[float, float, float, float]]:
    """The layered drawing's tiles of boxes (`<div class="dg-tile dg-boxes">`), each (left, top, width,
    height) in drawing px, in the order of the markup."""
    return _layered_parse(markup)[0]


def layered_boxes(markup: str) -> dict[int, tuple[float, float, float]]:
    """The layered drawing's boxes: node position i (id "n{i}") -> its halo's (x, y, width) in the
    drawing's px (the tile's left/top plus the `.node` div's; the halo is 50 px tall, by the drawing's
    style sheet), for every `.node` div inside a tile of boxes."""
    return {i: (x, y, w) for i, (x, y, w, _) in _layered_parse(markup)[1].items()}


def layered_boxes_by_tile(markup: str) -> list[tuple[tuple[float, float, float, float], dict]]:
    """Each tile of boxes (left, top, width, height) with the boxes inside it, i -> (x, y, width)."""
    tiles, boxes = _layered_parse(markup)
    held: list[dict] = [{} for _ in tiles]
    for i, (x, y, w, t) in boxes.items():
        held[t][i] = (x, y, w)
    return list(zip(tiles, held, strict=True))
