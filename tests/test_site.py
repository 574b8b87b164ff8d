"""The documentation site: `mkdocs build --strict` (MkDocs, Material, mkdocstrings, mkdocs-jupyter
executing every notebook) succeeds, and in a real headless Chromium the built site, served on 127.0.0.1,
loads nothing from any other host, every internal link resolves, and an embedded stepper steps."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest

from tests.conftest import require, require_dot

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.stem for p in (ROOT / "examples" / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    for module in ("mkdocs", "material", "mkdocstrings_handlers", "mkdocs_jupyter", "nbclient", "ipykernel"):
        require(importlib.util.find_spec(module) is not None, module, "pip install -e '.[docs,test]'")
    require_dot()
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1200,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = re.findall(r"^WARNING +- .*", done.stderr, re.M)     # MkDocs' own (the kernel's aside)
    assert not warnings, warnings
    return out


def test_the_site_builds_with_every_page(site):
    for page in ["index", "steppers/index", "benchmarks/index", "errata/index", "documents/index",
                 "api/autodiff/index", "api/nn/index", "api/viz/index", "api/deltagrad/index"]:
        assert (site / f"{page}.html").exists(), page
    # the notebooks are executed at build and shown with their outputs
    for name in NOTEBOOKS:
        assert (site / "notebooks" / name / "index.html").exists(), name
    doc = (site / "notebooks" / "doc_004" / "index.html").read_text(encoding="utf-8")
    assert re.search(r"E004-1: printed off by \S+; corrected agrees to", doc)
    tour = (site / "notebooks" / "tour" / "index.html").read_text(encoding="utf-8")
    assert "do/dx1 = -1.5000" in tour and "<svg" in tour and "dg-diagram" in tour
    # the API reference comes from the docstrings
    api = (site / "api" / "autodiff" / "index.html").read_text(encoding="utf-8")
    assert "d root / d self" in api and "backward_steps" in api
    assert "<table>" in (site / "benchmarks" / "index.html").read_text(encoding="utf-8")
    for name in ("neuron", "neuron_predict", "mlp_neuron_level", "document_004", "second_derivative"):
        assert (site / "steppers" / "pages" / f"{name}.html").stat().st_size > 1000, name


def test_no_page_loads_anything_from_the_network(site):
    loads = re.compile(r"""<(?:script|img|iframe|link|source)\b[^>]*?\b(?:src|href)=["'](?:https?:)?//""",
                       re.I)
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not loads.search(text), (page, loads.search(text).group(0))
        assert "fonts.googleapis" not in text and "unpkg.com" not in text, page


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass



def test_in_chromium_every_internal_link_resolves_and_no_other_host_is_asked(served, browser):
    origin = urlparse(served).netloc
    elsewhere, failed = [], []
    context = browser.new_context()
    context.route("**/*", lambda route: route.continue_() if urlparse(route.request.url).netloc == origin
                  else (elsewhere.append(route.request.url), route.abort()))
    page = context.new_page()
    page.on("response", lambda r: r.status >= 400 and failed.append((r.status, r.url)))
    # ERR_ABORTED: a request still running when the test moved to the next page (not a broken link)
    page.on("requestfailed", lambda r: urlparse(r.url).netloc == origin and r.failure != "net::ERR_ABORTED"
            and failed.append((r.failure, r.url)))
    seen, queue, pages = set(), [served], 0
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        path = urlparse(url).path
        if path.endswith("/") or path.endswith(".html"):
            response = page.goto(url, wait_until="load")
            assert response is not None and response.status == 200, url
            pages += 1
            hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            for href in hrefs:
                target, _ = urldefrag(href)
                if urlparse(target).netloc == origin and target not in seen:
                    queue.append(target)
        else:  # a file the site links to (a notebook to download, a picture)
            assert context.request.get(url).status == 200, url
    context.close()
    assert pages >= 20
    assert not failed, failed
    assert not elsewhere, elsewhere


def test_in_chromium_an_embedded_stepper_steps_to_the_gradients(served, browser):
    page = browser.new_page()
    page.goto(served + "steppers/", wait_until="load")
    frame = page.frame_locator('iframe[src="pages/neuron.html"]')
    body = frame.locator("body")
    first = body.inner_text()
    body.click()
    texts = []
    for _ in range(40):                                  # through the forward pass, then the backward
        body.press("ArrowRight")
        texts.append(body.inner_text())
        if "-1.5" in texts[-1] and "backward" in texts[-1].lower():
            break
    assert texts[0] != first                              # one key, one step
    assert "-1.5" in texts[-1]                            # x1.grad, reached by stepping
    page.close()


# ---- the playground on the site (issue 19) ---------------------------------------------------------

def test_the_site_carries_the_playground_and_links_it(site):
    from tests.test_playground import require_vendor

    require_vendor()
    app = site / "playground" / "app"
    for name in ("index.html", "app.js", "worker.js", "boot.mjs", "vendor/runner.py", "vendor/manifest.json",
                 "vendor/snapshot.bin.gz", "vendor/pyodide/pyodide.asm.wasm", "vendor/viz/viz.js"):
        assert (app / name).is_file(), name
    assert not (app / "node_modules").exists() and not (app / "build.py").exists()
    assert 'href="app/"' in (site / "playground" / "index.html").read_text(encoding="utf-8")


def test_in_chromium_the_sites_playground_runs_a_typed_program(site, served, browser):
    """Served from the site folder by a plain static server, every other host aborted (and none asked):
    the guide's link opens the playground, which starts, runs a typed neuron and steps to its gradients."""
    from tests.test_playground import require_vendor
    from tests.test_playground_browser import NEURON, _runs, _step_to_end, _stepper, _table, _type_and_run

    require_vendor()
    origin = urlparse(served).netloc
    elsewhere, seen = [], []
    context = browser.new_context()
    context.route("**/*", lambda route: route.continue_() if urlparse(route.request.url).netloc == origin
                  else (elsewhere.append(route.request.url), route.abort()))
    context.on("request", lambda r: seen.append(r.url))
    page = context.new_page()
    page.goto(served + "playground/", wait_until="load")
    page.click('a[href="app/"]')
    assert _runs(page, 1) is None, "the playground did not show its first example"
    assert page.url.startswith(served + "playground/app/")
    assert _type_and_run(page, NEURON, 1) is None
    frame = _stepper(page)
    assert _step_to_end(frame) == 11
    table = _table(frame)
    assert table["x1"] == ("2.0", "-1.5") and table["w1"] == ("-3.0", "1.0") and table["n"][1] == "0.5"
    assert any(u.endswith("/playground/app/vendor/snapshot.bin.gz") for u in seen)
    context.close()
    assert not elsewhere, elsewhere
    assert all(urlparse(u).netloc == origin or u.startswith("data:") for u in seen), seen
