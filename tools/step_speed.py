"""Side-by-side step times of HTML stepper pages in headless Chromium (issue 14: a step under 50 ms):
``write DIR`` saves the pages below; ``measure A B ...`` times every step of both passes of them, the
folders' pages alternately, and ``trace DIR PAGE`` says what a page's worst steps spend."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# one step, from the click on Next until the next frame is painted (as tests/test_step_html_browser.py),
# then where the page is: [wall ms, its counter, whether Next is disabled, the frame's phase]
ONE_STEP = """(sel) => new Promise((done) => {
  const t0 = performance.now();
  document.querySelector(sel).click();
  requestAnimationFrame(() => setTimeout(() => done([performance.now() - t0,
    document.getElementById("dg-counter").textContent, document.querySelector(sel).disabled,
    document.getElementById("dg-phase").textContent]), 0));
})"""
STEPS = 30   # the steps `trace` records from each pass's start


def _moons():
    from nn.data import make_moons

    return make_moons(100, noise=0.1, rng=1)


def _l2_written_out(fused: bool):
    """The tester's loss (issue 14): hinge on moons point 0 plus 1e-4 Σ w·w written out, a node per
    square and per sum, on MLP(2, [16, 16, 1])."""
    import nn
    from autodiff import Value

    X, y = _moons()
    model = nn.MLP(2, [16, 16, 1], rng=1, fused=fused)
    return nn.hinge(model(X[0]), [2 * y[0] - 1]) + 1e-4 * sum((w * w for w in model.weights()), Value(0.0))


def _readme_point():
    """The README's network on moons point 0 with its loss as the README writes it (nn.l2 one node):
    drawn by graphviz with its neurons collapsed."""
    import nn

    X, y = _moons()
    model = nn.MLP(2, [16, 16, 1], rng=1)
    return nn.hinge(model(X[0]), [2 * y[0] - 1]) + nn.l2(model.weights(), 1e-4)


def _readme_100():
    """The README's own loss over its 100 moons points, eager, as it writes it (65,340 nodes): the page
    steps example 0's part, the other 99 examples' backward steps summed into one step (as
    tests/test_step_examples.py's readme_loss)."""
    import nn

    X, y = _moons()
    model = nn.MLP(2, [16, 16, 1], rng=1)
    scores = [model(x)[0] for x in X]
    return nn.mean([nn.hinge(s, 2 * t - 1) for s, t in zip(scores, y, strict=True)]) \
        + nn.l2(model.weights(), 1e-4)


def _batched():
    """The README's batched loss (fused, 100 points): its page shows example 7."""
    import nn
    from autodiff.batched import batch, batch_columns

    X, y = _moons()
    model = nn.MLP(2, [16, 16, 1], rng=1, fused=True)
    return nn.mean(nn.hinge(model(batch_columns(X)), [batch(2 * y - 1)])) + nn.l2(model.weights(), 1e-4)


def _tanh_sum():
    """The tester's 5,001-node graph (issue 14): 1,000 terms tanh(x_i · 0.5) added up, x_i = (i mod 7) / 7."""
    from autodiff import Value

    total = Value(0.0, "s0")
    for i in range(1000):
        total = total + (Value((i % 7) / 7, f"x{i}") * 0.5).tanh()
    return total


# name -> (the loss, step_html's keywords, the levels measured)
PAGES = {"eager-l2": (lambda: _l2_written_out(False), {"level": "neuron"}, ("neuron", "op")),
         "fused-l2": (lambda: _l2_written_out(True), {"level": "neuron"}, ("neuron",)),
         "readme-collapsed": (_readme_point, {"level": "neuron"}, ("neuron",)),
         "readme-layer": (_readme_point, {"level": "layer"}, ("layer",)),
         "batched-7": (_batched, {"level": "neuron", "example": 7}, ("neuron",)),
         "readme-100": (_readme_100, {"level": "neuron"}, ("neuron", "op")),
         "tanh-sum-5001": (_tanh_sum, {}, ("op",))}


def write(folder: Path, pages: list[str]) -> None:
    """The pages, as step_html writes them with the code on the path (so an older checkout's, put first
    on PYTHONPATH, writes the old pages)."""
    from viz import step_html

    folder.mkdir(parents=True, exist_ok=True)
    for name in pages:
        build, options, _ = PAGES[name]
        t0 = time.perf_counter()
        stepper = step_html(build(), folder / f"{name}.html", **options)
        print(f"{name}: {stepper.drawing}, {stepper.path.stat().st_size / 1e6:.2f} MB, "
              f"{time.perf_counter() - t0:.1f} s", flush=True)


def _choose(page, level: str) -> None:
    """Step ``page`` at ``level`` (a graph that is not a network has only the op level)."""
    if page.eval_on_selector("#dg-level", "s => s.value") != level:
        page.select_option("#dg-level", level)


def passes(page, cdp, levels, most: int | None = None) -> list[tuple[str, list[tuple[float, float, str]]]]:
    """Every step of both passes at each of ``levels`` (the first ``most`` of each when given):
    (pass, [(wall ms, main-thread CPU ms, the counter after the step), ...]); forward from the start
    to the seed, backward from the seed to the last step."""
    def cpu() -> float:
        metrics = cdp.send("Performance.getMetrics")["metrics"]
        return next(m["value"] for m in metrics if m["name"] == "ThreadTime")

    out = []
    for level in levels:
        _choose(page, level)
        for start, ends in (("#dg-start", lambda phase, last: "seed" in phase or last), ("#dg-backward",
                                                                              lambda phase, last: last)):
            page.click(start)
            steps, done = [], False
            while not done:
                t0 = cpu()
                wall, where, last, phase = page.evaluate(ONE_STEP, "#dg-next")
                steps.append((wall, 1000 * (cpu() - t0), where))
                done = ends(phase, last) or len(steps) == most
            out.append((f"{level} {'fwd' if start == '#dg-start' else 'bwd'}", steps))
    return out


def measure(folders: list[Path], rounds: int, pages: list[str], settle: float,
            most: int | None = None) -> None:
    """Each page of each folder, the folders alternately, ``rounds`` times, ``settle`` seconds after the
    page loads; per pass its steps (the first ``most``), the median and the worst over the rounds, wall
    and CPU."""
    from playwright.sync_api import sync_playwright

    runs: dict[tuple[str, str], list] = {}
    loads = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for _ in range(rounds):
            for name in pages:
                for folder in folders:
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    page.goto((folder / f"{name}.html").resolve().as_uri())
                    time.sleep(settle)
                    cdp = page.context.new_cdp_session(page)
                    cdp.send("Performance.enable")
                    runs.setdefault((name, folder.name), []).append(passes(page, cdp, PAGES[name][2], most))
                    cdp.detach()
                    page.close()
                    loads.append(os.getloadavg()[0])
                    print(f"  {name} {folder.name} done, load {loads[-1]:.1f}", flush=True)
        browser.close()
    print(f"load average (1 min) over the run: {min(loads):.1f}–{max(loads):.1f}")
    print("page | pass | steps | " + " | ".join(f"{f.name} wall median/worst, CPU median/worst (ms, at step)"
                                                for f in folders))
    for name in pages:
        for k, (what, _) in enumerate(runs[(name, folders[0].name)][0]):
            cells = []
            for folder in folders:
                steps = [s for run in runs[(name, folder.name)] for s in run[k][1]]
                w, c = max(steps, key=lambda s: s[0]), max(steps, key=lambda s: s[1])
                cells.append(f"{statistics.median(s[0] for s in steps):.0f}/{w[0]:.0f}@{w[2].split()[0]} "
                             f"{statistics.median(s[1] for s in steps):.0f}/{c[1]:.0f}@{c[2].split()[0]}")
            count = len(runs[(name, folders[0].name)][0][k][1])
            print(f"{name} | {what} | {count} | " + " | ".join(cells))


def self_times(events: list[dict]) -> list[tuple[float, dict[str, float]]]:
    """The renderer main thread's complete events split at each step's "dg-step" time stamp: per step,
    its start (µs) and each event name's self time (its duration less its children's), in ms."""
    main = {(e["pid"], e["tid"]) for e in events if e.get("name") == "TimeStamp"}
    marks = sorted(e["ts"] for e in events if e.get("name") == "TimeStamp")
    spans = sorted((e for e in events if (e.get("pid"), e.get("tid")) in main and e.get("ph") == "X"
                    and "dur" in e), key=lambda e: (e["ts"], -e["dur"]))
    steps: list[tuple[float, dict[str, float]]] = [(m, {}) for m in marks]
    stack: list[list] = []  # [end, name, self time left, step]
    def close(upto: float) -> None:
        while stack and stack[-1][0] <= upto:
            end, name, own, k = stack.pop()
            if k >= 0:
                steps[k][1][name] = steps[k][1].get(name, 0) + own / 1000
    for e in spans:
        close(e["ts"])
        if stack:
            stack[-1][2] -= e["dur"]
        k = max((i for i, m in enumerate(marks) if m <= e["ts"]), default=-1)
        stack.append([e["ts"] + e["dur"], e["name"], e["dur"], k])
    close(float("inf"))
    return steps


TILES_READY = """() => { const d = document.getElementById('dg-diagram'), n = d.dataset.tilesReady;
  return !n || +n === document.querySelectorAll('.dg-boxes').length; }"""


def trace(folder: Path, name: str, top: int, settle: bool = False, level: str | None = None,
          at: int | None = None) -> None:
    """Trace each of the page's passes (`STEPS` steps from its start) and print its ``top`` slowest steps
    by main-thread time, with the trace events that took it (self time, ms); with ``settle``, once the
    page has laid out every tile of its drawing. ``level``: that level's passes only; ``at``: the
    `STEPS` steps from frame ``at`` of that level (as the counter numbers it) instead."""
    from playwright.sync_api import sync_playwright

    stamp = ONE_STEP.replace("const t0", "console.timeStamp('dg-step'); const t0")
    levels = PAGES[name][2] if level is None else (level,)
    starts = [f"#at {at}"] if at else ["#dg-start", "#dg-backward"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for level, start in [(lv, s) for lv in levels for s in starts]:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto((folder / f"{name}.html").resolve().as_uri())
            if settle:
                page.wait_for_function(TILES_READY, timeout=120_000)
            _choose(page, level)
            if at:
                page.fill("#dg-goto", str(at))
                page.press("#dg-goto", "Enter")
            else:
                page.click(start)
            time.sleep(0.3)
            browser.start_tracing(page=page, categories=["devtools.timeline", "v8.execute"])
            walls, texts = [], []
            for _ in range(STEPS):
                wall, where, *_ = page.evaluate(stamp, "#dg-next")
                walls.append(wall)
                texts.append(where.split()[0] + " " + page.inner_text("#dg-text").splitlines()[0][:60])
            events = json.loads(browser.stop_tracing())
            events = events["traceEvents"] if isinstance(events, dict) else events
            steps = self_times(events)
            ranked = sorted(range(len(steps)), key=lambda k: -sum(steps[k][1].values()))[:top]
            print(f"\n== {name} {level} {start}: wall median "
                  f"{statistics.median(walls):.0f} ms, worst {max(walls):.0f} ms")
            for k in ranked:
                own = sorted(steps[k][1].items(), key=lambda kv: -kv[1])
                print(f"  step {k + 1}: {walls[k]:.0f} ms wall, {sum(d for _, d in own):.0f} ms main thread"
                      f"  {texts[k]}")
                print("     " + ", ".join(f"{n} {d:.1f}" for n, d in own[:9]))
            page.close()
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("folder", type=Path)
    w.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES))
    m = sub.add_parser("measure")
    m.add_argument("folders", type=Path, nargs="+")
    m.add_argument("--rounds", type=int, default=2)
    m.add_argument("--settle", type=float, default=0, help="seconds to wait after the page loads")
    m.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES))
    m.add_argument("--steps", type=int, help="at most this many steps of each pass (default: every step)")
    t = sub.add_parser("trace")
    t.add_argument("folder", type=Path)
    t.add_argument("page", choices=PAGES)
    t.add_argument("--top", type=int, default=3)
    t.add_argument("--settle", action="store_true", help="trace once every tile is laid out")
    t.add_argument("--level", choices=("layer", "neuron", "op"))
    t.add_argument("--at", type=int, help="trace from this frame (the counter's number) of --level")
    a = ap.parse_args()
    if a.cmd == "write":
        write(a.folder, a.pages)
    elif a.cmd == "measure":
        measure(a.folders, a.rounds, a.pages, a.settle, a.steps)
    else:
        trace(a.folder, a.page, a.top, a.settle, a.level, a.at)


if __name__ == "__main__":
    main()
