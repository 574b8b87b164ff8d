"""Measure the playground in headless Chromium and write the "Playground" section of docs/benchmarks.md:
the time to the first result from a cold cache and from a warm one, a program's run, and a stepper step.
    python playground/bench.py            (needs `make playground` and Debian's chromium)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from autodiff.files import write_atomic  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
BEGIN, END = "<!-- playground: begin (python playground/bench.py) -->", "<!-- playground: end -->"

# The time of each Next press until the next frame is painted (script, style, layout, paint), for at
# most `limit` steps of the pass (ms).
STEP = """async (limit) => {
    const next = document.getElementById("dg-next"), times = [];
    const painted = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    while (!next.disabled && times.length < limit) {
        const t = performance.now(); next.click(); await painted(); times.push(performance.now() - t);
    }
    return times; }"""


def _first_result(page, url: str) -> tuple[float, dict]:
    """Open the playground; return the seconds from navigation to the first stepper page shown, and where
    the worker spent its start (ms since boot began; `run` is the first program in Python)."""
    page.goto(url)
    page.wait_for_selector("body[data-runs='1']", timeout=300_000)
    timings = page.evaluate("window.playground.timings")
    boot = timings["boot"] | {"run": timings["runs"][0]["python_ms"]}
    print(f"first result {timings['firstResult']:.0f} ms; in the worker: {boot}", file=sys.stderr)
    return timings["firstResult"] / 1000, boot


def measure(loads: int = 3) -> dict:
    from playwright.sync_api import sync_playwright

    from deltagrad.cli import playground_server

    server = playground_server(port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    out: dict = {"cold": [], "warm": [], "boots": [], "load": os.getloadavg()[0]}
    try:
        with sync_playwright() as p:
            for _ in range(loads):
                # A new browser profile (an empty disk cache, as a first visit), then a revisit in it.
                with tempfile.TemporaryDirectory() as profile:
                    context = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM,
                                                                   args=ARGS)
                    page = context.new_page()
                    seconds, boot = _first_result(page, base)
                    out["cold"].append(seconds)
                    out["boots"].append(boot)
                    page.close()
                    out["warm"].append(_first_result(context.new_page(), base)[0])
                    context.close()
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = browser.new_context()
            page = context.new_page()
            _first_result(page, base)
            runs = []
            for name in ("neuron", "mlp-2-3-1", "doc-004", "moons"):
                page.select_option("#pg-example", name)
                page.wait_for_selector(f"body[data-runs='{len(runs) + 2}']", timeout=120_000)
                run = page.evaluate("window.playground.timings.runs.at(-1)")
                frame = next(f for f in page.frames if f.parent_frame is not None)
                steps = frame.evaluate(STEP, 200)
                total = int(frame.evaluate("() => document.getElementById('dg-counter').textContent"
                                           ".split('/')[1]")) - 1
                runs.append((name, run["python_ms"], run["total_ms"], total, len(steps),
                             statistics.median(steps), max(steps)))
            out["runs"] = runs
            out["boot"] = {k: statistics.median([b[k] for b in out["boots"]]) for k in out["boots"][0]}
            out["chromium"] = browser.version
            out["load_end"] = os.getloadavg()[0]
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return out


def section(m: dict) -> str:
    size = sum(f.stat().st_size for f in (HERE / "vendor").rglob("*") if f.is_file())
    cold, warm = statistics.median(m["cold"]), statistics.median(m["warm"])
    worst_step = max(r[6] for r in m["runs"])
    boot = m["boot"]
    lines = [BEGIN, "### Playground (issue 19): the engine in the browser", "",
             f"Written by `python playground/bench.py` on {time.strftime('%Y-%m-%d')}: headless Chromium "
             f"{m['chromium']}, {platform.machine()} ({_cpus()} CPUs, shared; load average "
             f"{m['load']:.1f} at the start, {m['load_end']:.1f} at the end), the folder served on 127.0.0.1 "
             f"by `deltagrad playground`; vendor/ is {size / 1e6:.1f} MB. Times to the first result run from "
             "navigation to the classic neuron's stepper page shown (Python restored from the snapshot, "
             "Graphviz started, the program run, the page drawn). Cold: a new browser profile, its cache "
             "empty; warm: a revisit in that profile. "
             f"{len(m['cold'])} loads each, median (min–max).", "",
             "| target | measured | met |", "|---|---|---|",
             f"| first result ≤ 3 s, cold cache | {cold:.1f} s ({min(m['cold']):.1f}–"
             f"{max(m['cold']):.1f} s) | {'yes' if cold <= 3 else 'no'} |",
             f"| a step ≤ 50 ms | worst {worst_step:.1f} ms | {'yes' if worst_step <= 50 else 'no'} |", "",
             f"Warm cache: {warm:.1f} s ({min(m['warm']):.1f}–{max(m['warm']):.1f} s).", "",
             "In the worker, a cold start's median, in seconds since the start began (the steps overlap): "
             f"the snapshot downloaded and unzipped at {boot['snapshot'] / 1000:.2f}, Graphviz started "
             f"at {boot['graphviz'] / 1000:.2f}, Python restored at {boot['pyodide'] / 1000:.2f}, the runner "
             f"ready at {boot['total'] / 1000:.2f}; then the first program ran in {boot['run'] / 1000:.2f}.",
             "",
             "A step is timed from the click on Next until the next frame is painted, over the first "
             "200 steps at most (`moons` is the 2-16-16-1 MLP; its page comes at the stepper's default "
             "level of detail).", "",
             "| program | run in the worker | until shown | steps | timed | step (median) | step (worst) |",
             "|---|---|---|---|---|---|---|"]
    for name, python_ms, total_ms, steps, timed, median, worst in m["runs"]:
        lines.append(f"| {name} | {python_ms:.0f} ms | {total_ms:.0f} ms | {steps} | {timed} | "
                     f"{median:.1f} ms | {worst:.1f} ms |")
    lines += ["", END]
    return "\n".join(lines)


def _cpus() -> int:
    return os.cpu_count() or 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    text = section(measure(args.loads))
    print(text)
    old = args.out.read_text(encoding="utf-8") if args.out.exists() else "# Benchmarks\n"
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + text + old[old.index(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    write_atomic(args.out, new)


if __name__ == "__main__":
    main()
