"""Side-by-side step times of HTML stepper pages in headless Chromium (issue 14: a step under 50 ms):
``write DIR`` saves the five pages of docs/benchmarks.md's stepper section; ``measure A B ...`` times
them, the folders' pages alternately, and ``trace DIR PAGE`` says what a page's worst steps spend."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

PAGES = ("eager-l2", "eager-readme", "eager-100", "fused-l2", "fused-readme")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# one step, from the click on Next until the next frame is painted (as tests/test_step_html_browser.py)
ONE_STEP = """(sel) => new Promise((done) => {
  const t0 = performance.now();
  document.querySelector(sel).click();
  requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0));
})"""
STEPS = 30
PASSES = [(level, start) for level in ("neuron", "op") for start in ("#dg-start", "#dg-backward")]


def write(folder: Path) -> None:
    """The five pages (the README's 2-16-16-1 loss, level="neuron") as the browser tests make them."""
    import nn
    from tests.test_step_examples import readme_loss
    from tests.test_step_html_levels import l2_by_hand, mlp_loss
    from viz import step_html

    losses = {"eager-l2": lambda: mlp_loss(False, l2=l2_by_hand)[0],
              "eager-readme": lambda: mlp_loss(False, l2=nn.l2)[0],
              "eager-100": lambda: readme_loss(100)[0],
              "fused-l2": lambda: mlp_loss(True, l2=l2_by_hand)[0],
              "fused-readme": lambda: mlp_loss(True, l2=nn.l2)[0]}
    folder.mkdir(parents=True, exist_ok=True)
    for name in PAGES:
        stepper = step_html(losses[name](), folder / f"{name}.html", level="neuron")
        print(f"{name}: {stepper.drawing}, {stepper.path.stat().st_size / 1e6:.2f} MB")


def passes(page, cdp) -> list[list[tuple[float, float, str]]]:
    """Each pass's steps as (wall ms, main-thread CPU ms, the step's text's first line)."""
    def cpu() -> float:
        metrics = cdp.send("Performance.getMetrics")["metrics"]
        return next(m["value"] for m in metrics if m["name"] == "ThreadTime")

    out = []
    for level, start in PASSES:
        page.select_option("#dg-level", level)
        page.click(start)
        steps = []
        for _ in range(STEPS):
            t0 = cpu()
            wall = page.evaluate(ONE_STEP, "#dg-next")
            steps.append((wall, 1000 * (cpu() - t0), page.inner_text("#dg-counter")))
        out.append(steps)
    return out


def measure(folders: list[Path], rounds: int, pages: list[str], settle: float) -> None:
    """Each page of each folder, the folders alternately, ``rounds`` times, ``settle`` seconds after the
    page loads; per pass the median and the worst of the rounds' worst steps, wall and CPU."""
    from playwright.sync_api import sync_playwright

    runs: dict[tuple[str, str], list] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for r in range(rounds):
            for name in pages:
                for folder in folders:
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    page.goto((folder / f"{name}.html").resolve().as_uri())
                    time.sleep(settle)
                    cdp = page.context.new_cdp_session(page)
                    cdp.send("Performance.enable")
                    runs.setdefault((name, folder.name), []).append(passes(page, cdp))
                    cdp.detach()
                    page.close()
            print(f"round {r + 1} done, load {os.getloadavg()[0]:.1f}", flush=True)
        browser.close()
    print("page | folder | " + " | ".join(f"{lv} {'fwd' if s == '#dg-start' else 'bwd'}" for lv, s in PASSES)
          + "   (wall median/worst, CPU median/worst, ms; worst over rounds, at step)")
    for name in pages:
        for folder in folders:
            cells = []
            for k in range(len(PASSES)):
                steps = [s for run in runs[(name, folder.name)] for s in run[k]]
                w, c = max(steps, key=lambda s: s[0]), max(steps, key=lambda s: s[1])
                cells.append(f"{statistics.median(s[0] for s in steps):.0f}/{w[0]:.0f}@{w[2].split()[0]} "
                             f"{statistics.median(s[1] for s in steps):.0f}/{c[1]:.0f}@{c[2].split()[0]}")
            print(f"{name} | {folder.name} | " + " | ".join(cells))


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
  return !n || +n === document.querySelectorAll('svg.dg-boxes').length; }"""


def trace(folder: Path, name: str, top: int, settle: bool = False) -> None:
    """Trace each of the page's four passes (30 steps from its start) and print its ``top`` slowest steps
    by main-thread time, with the trace events that took it (self time, ms); with ``settle``, once the
    page has laid out every tile of its drawing."""
    from playwright.sync_api import sync_playwright

    stamp = ONE_STEP.replace("const t0", "console.timeStamp('dg-step'); const t0")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for level, start in PASSES:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto((folder / f"{name}.html").resolve().as_uri())
            if settle:
                page.wait_for_function(TILES_READY, timeout=120_000)
            page.select_option("#dg-level", level)
            page.click(start)
            time.sleep(0.3)
            browser.start_tracing(page=page, categories=["devtools.timeline", "v8.execute"])
            walls, texts = [], []
            for _ in range(STEPS):
                walls.append(page.evaluate(stamp, "#dg-next"))
                texts.append(page.inner_text("#dg-text").splitlines()[0][:60])
            events = json.loads(browser.stop_tracing())
            events = events["traceEvents"] if isinstance(events, dict) else events
            steps = self_times(events)
            ranked = sorted(range(len(steps)), key=lambda k: -sum(steps[k][1].values()))[:top]
            print(f"\n== {name} {level} {'forward' if start == '#dg-start' else 'backward'}: wall median "
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
    sub.add_parser("write").add_argument("folder", type=Path)
    m = sub.add_parser("measure")
    m.add_argument("folders", type=Path, nargs="+")
    m.add_argument("--rounds", type=int, default=2)
    m.add_argument("--settle", type=float, default=0, help="seconds to wait after the page loads")
    m.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES))
    t = sub.add_parser("trace")
    t.add_argument("folder", type=Path)
    t.add_argument("page", choices=PAGES)
    t.add_argument("--top", type=int, default=3)
    t.add_argument("--settle", action="store_true", help="trace once every tile is laid out")
    a = ap.parse_args()
    if a.cmd == "write":
        write(a.folder)
    elif a.cmd == "measure":
        measure(a.folders, a.rounds, a.pages, a.settle)
    else:
        trace(a.folder, a.page, a.top, a.settle)


if __name__ == "__main__":
    main()
