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
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from autodiff.files import write_atomic  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
BEGIN, END = "<!-- playground: begin (python playground/bench.py) -->", "<!-- playground: end -->"

STEP = """() => {  // the time of each Next press, stepping the whole pass (ms)
    const next = document.getElementById("dg-next"), times = [];
    while (!next.disabled) { const t = performance.now(); next.click(); times.push(performance.now() - t); }
    return times; }"""


def _first_result(page, url: str) -> float:
    page.goto(url)
    page.wait_for_selector("body[data-runs='1']", timeout=300_000)
    timings = page.evaluate("window.playground.timings")
    print(f"first result {timings['firstResult']:.0f} ms; in the worker: {timings['boot']}", file=sys.stderr)
    return timings["firstResult"] / 1000


def measure(loads: int = 3) -> dict:
    from playwright.sync_api import sync_playwright

    from deltagrad.cli import playground_server

    server = playground_server(port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    out: dict = {"cold": [], "warm": [], "load": os.getloadavg()[0]}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for _ in range(loads):
                context = browser.new_context()  # a new context: nothing cached
                page = context.new_page()
                out["cold"].append(_first_result(page, base))
                warm = context.new_page()
                out["warm"].append(_first_result(warm, base))
                context.close()
            context = browser.new_context()
            page = context.new_page()
            _first_result(page, base)
            runs = []
            for name in ("neuron", "mlp-2-3-1", "doc-004"):
                page.select_option("#pg-example", name)
                page.wait_for_selector(f"body[data-runs='{len(runs) + 2}']", timeout=120_000)
                run = page.evaluate("window.playground.timings.runs.at(-1)")
                frame = next(f for f in page.frames if f.parent_frame is not None)
                steps = frame.evaluate(STEP)
                runs.append((name, run["python_ms"], run["total_ms"], len(steps), statistics.median(steps),
                             max(steps)))
            out["runs"] = runs
            out["chromium"] = browser.version
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return out


def section(m: dict) -> str:
    size = sum(f.stat().st_size for f in (HERE / "vendor").rglob("*") if f.is_file())
    cold, warm = statistics.median(m["cold"]), statistics.median(m["warm"])
    worst_step = max(r[5] for r in m["runs"])
    lines = [BEGIN, "### Playground (issue 19): the engine in the browser", "",
             f"Written by `python playground/bench.py` on {time.strftime('%Y-%m-%d')}: headless Chromium "
             f"{m['chromium']}, {platform.machine()} ({_cpus()} CPUs, shared; load average "
             f"{m['load']:.1f} at the start), the folder served on 127.0.0.1 "
             f"by `deltagrad playground`; vendor/ is {size / 1e6:.1f} MB. Times to the first result run from "
             "navigation to the classic neuron's stepper page shown (Pyodide and Graphviz loaded, the "
             f"wheels unpacked, the program run); {len(m['cold'])} loads each, median (min–max).", "",
             "| target | measured | met |", "|---|---|---|",
             f"| first result ≤ 3 s, cold cache | {cold:.1f} s ({min(m['cold']):.1f}–"
             f"{max(m['cold']):.1f} s) | {'yes' if cold <= 3 else 'no'} |",
             f"| a step ≤ 50 ms | worst {worst_step:.1f} ms | {'yes' if worst_step <= 50 else 'no'} |", "",
             f"Warm cache (a second tab): {warm:.1f} s ({min(m['warm']):.1f}–{max(m['warm']):.1f} s).", "",
             "| program | run in the worker | until shown | steps | step (median) | step (worst) |",
             "|---|---|---|---|---|---|"]
    for name, python_ms, total_ms, steps, median, worst in m["runs"]:
        lines.append(f"| {name} | {python_ms:.0f} ms | {total_ms:.0f} ms | {steps} | {median:.2f} ms | "
                     f"{worst:.2f} ms |")
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
