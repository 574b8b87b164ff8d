"""Run every workload (W1..W8) and write docs/benchmarks.md: a table per workload, medians and
ranges, each figure also as a ratio to micrograd measured in the same run, and the targets.

    python bench/run_all.py            # the full suite (several minutes)
    python bench/run_all.py --quick    # smaller sizes
    python bench/run_all.py --tiny --out /tmp/b.md
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import sys
import textwrap
import time
from functools import partial

import w1_micrograd_demo
import w2_deep_chain
import w3_wide
import w4_anchors
import w5_micro_ops
import w6_save_load
import w7_user_shaped
import w8_scaling
from _common import ROOT, Table, fmt_time, import_micrograd, import_torch

WORKLOADS = [w1_micrograd_demo, w2_deep_chain, w3_wide, w4_anchors, w5_micro_ops, w6_save_load,
             w7_user_shaped, w8_scaling]


def _times(cell: str) -> float:
    """Seconds from a table cell such as ``12.3 ms (…)`` or ``1.2 s``."""
    number, unit = re.match(r"([\d.,]+) (s|ms|µs|ns)", cell).groups()
    return float(number.replace(",", "")) * {"s": 1, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}[unit]


def _row(table: Table, prefix: str) -> list[str] | None:
    return next((r for r in table.rows if r[0].startswith(prefix)), None)


def targets(tables: dict[str, list[Table]]) -> Table:
    """The issue's targets against this run's figures."""
    out = Table("Targets (issues 6, 17 and 18), from the tables below", ["target", "measured", "met"])
    w1 = tables["w1"][0]
    mg = _row(w1, "micrograd")
    seconds = {}
    if mg is not None:
        ref = _times(mg[1])
        for label, prefix, goal in [("eager ≥ 15× micrograd on W1", "deltagrad eager", 15),
                                    ("fused ≥ 80× micrograd on W1", "deltagrad fused", 80),
                                    ("batched ≥ 500× micrograd on W1", "deltagrad batched (fused)", 500)]:
            r = _row(w1, prefix + "") if prefix != "deltagrad eager" else next(
                row for row in w1.rows if row[0] == "deltagrad eager")
            x = ref / _times(r[1])
            seconds[prefix] = (_times(r[1]), ref / goal)
            out.rows.append([label, f"{x:,.1f}×", "yes" if x >= goal else f"no ({x / goal:.0%} of it)"])
    else:
        out.notes.append("micrograd is not installed, so the W1 ratios are not measured: "
                         "pip install 'deltagrad[bench]' (make bench does).")
    w4 = tables["w4"][0]  # W4b (tables["w4"][1]) shows the ratio as the data set grows
    cf, bt = _row(w4, "closed-form"), _row(w4, "deltagrad batched")
    x = _times(bt[1]) / _times(cf[1])
    out.rows.append(["batched within 10× of the closed-form numpy pass (W4)", f"{x:.1f}× its time",
                     "yes" if x <= 10 else f"no ({x / 10:.1f}× over)"])
    w3 = _row(tables["w3"][0], "deltagrad eager")
    out.rows.append(["≤ 150 bytes per op node on W3 (eager)", f"{w3[5]} B", "yes" if float(
        w3[5].replace(",", "")) <= 150 else "no"])
    w2 = tables["w2"][0]
    if "N = 1,000,000" in w2.header:
        col = w2.header.index("N = 1,000,000")
        ok = all(not r[col].startswith("Rec") for r in w2.rows if r[0].startswith("deltagrad"))
        out.rows.append(["W2: N = 1,000,000 in every deltagrad mode", ", ".join(
            f"{r[0][10:]} {r[col]}" for r in w2.rows if r[0].startswith("deltagrad")), "yes" if ok else "no"])
    wide = wide_target(tables["w8"][2].rows)   # issue 17, W8c
    if wide is not None:
        out.rows.append(wide[0])
        out.notes += wide[1:]
    for row in tables["w6"][0].rows:  # issue 18: a 200,000-parameter model file
        out.rows.append([f"{row[0]} of a 200,000-parameter model < 5 s (W6)", row[1].split(" (")[0],
                         row[3]])
    missed = {row[0] for row in out.rows if row[2].startswith("no")}
    if "fused ≥ 80× micrograd on W1" in missed:
        took, needed = seconds["deltagrad fused"]
        out.notes.append("Fused misses 80×: one W1 step still walks about 64,000 weight–input edges "
                         "(100 examples × 641) three times in CPython (topological walk, forward, "
                         "backward) at roughly 80 ns each, plus nn's per-call work; the step takes "
                         f"{fmt_time(took)} where 80× needs {fmt_time(needed)}. Batched mode removes the "
                         "per-example loop and is the mode to train with.")
    if "batched within 10× of the closed-form numpy pass (W4)" in missed:
        out.notes.append("Batched misses 10× of the closed-form pass at 100 points: that pass is about "
                         "25 numpy calls per step, while a batched step also does fixed Python work per "
                         "node whatever the batch size: the topological walk over 419 nodes and about "
                         "1,400 edges, one numpy call per activation node, each of the 337 parameters' "
                         "gradient and value read and written. With 1,000 points and more it is well within "
                         "10× (table W4b).")
    return out


def wide_target(widths: list[list[str]]) -> tuple | None:
    """W8c's target (batched ≤ 10× the closed form at 256 hidden units) from its rows: (the targets
    row, and a note from the measured figures if it is missed); None without a 256 row (a quick run)."""
    wide = next((r for r in widths if r[0] == "256"), None)
    if wide is None:
        return None
    x = _ratio(wide[-1])
    row = [f"batched README loop ≤ 10× the closed form at {wide[0]} hidden units (W8c)", wide[-1],
           "yes" if x <= 10 else "no"]
    if x <= 10:
        return (row,)
    narrow = widths[0]
    return row, (f"Batched misses 10× of the closed form at {wide[0]} hidden units: {wide[-1]} ({wide[3]} "
                 f"against {wide[2]} a step, {wide[1]} parameters); at {narrow[0]} hidden units "
                 f"({narrow[1]} parameters) it is {narrow[-1]}: the ratio grows "
                 f"{x / _ratio(narrow[-1]):.1f}× for {_ratio(wide[1]) / _ratio(narrow[1]):.0f}× the "
                 "parameters, the batched executor's work per parameter (W8c).")


def _ratio(cell: str) -> float:
    """A table's number: ``"1,234.5×"`` -> 1234.5."""
    return float(cell.rstrip("×").replace(",", ""))


# The README quotes the figures of docs/benchmarks.md between these markers; `make bench` rewrites them
# from the file it has just written (`readme_block`), and tests/test_bench.py checks that they agree.
README_BEGIN = ("<!-- bench: begin (written by `make bench` from docs/benchmarks.md; edit bench/run_all.py) "
                "-->")
README_END = "<!-- bench: end -->"


def tables_in(markdown: str) -> dict[str, Table]:
    """The tables of a benchmarks file by the first word of their title (``W7:`` gives "W7"; the
    targets tables "Targets", and "Targets 17" for issue 17's, from W7)."""
    found: dict[str, Table] = {}
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("### "):
            continue
        title = line[4:]
        key = "Targets 17" if title.startswith("Targets (issue 17)") else title.split(":")[0].split(" ")[0]
        rows = []
        for row in lines[i + 2:]:
            if not row.startswith("|"):
                if rows:
                    break
                continue
            rows.append([cell.strip() for cell in row.strip().strip("|").split("|")])
        if rows:
            found.setdefault(key, Table(title, rows[0], [r for r in rows[2:]]))
    return found


def readme_block(markdown: str) -> str:
    """The README's paragraphs of figures, from the benchmarks file's text ``markdown``."""
    tables = tables_in(markdown)

    def cell(key: str, first: str, col: int, second: str | None = None) -> str:
        table = tables.get(key)
        row = None if table is None else next(
            (r for r in table.rows if r[0] == first and (second is None or r[1] == second)), None)
        return "n/a" if row is None else row[col].split(" (")[0]

    def target(start: str) -> str:
        row = next((r for r in tables["Targets 17"].rows if r[0].startswith(start)), None) \
            if "Targets 17" in tables else None
        return "n/a" if row is None else row[1]

    def ends(key: str) -> tuple[str, str, str, str]:
        rows = tables[key].rows if key in tables else [["n/a"] * 5]
        return rows[0][0], rows[0][-1], rows[-1][0], rows[-1][-1]

    p0, r0, p1, r1 = ends("W8b")
    h0, s0, h1, s1 = ends("W8c")
    first, second = [
        "Measured in one run on micrograd's own demo (W1 in [docs/benchmarks.md](docs/benchmarks.md)), "
        f"one training step takes {cell('W1', 'micrograd 0.1.0', 1)} in micrograd 0.1.0, "
        f"**{cell('W1', 'deltagrad eager', 2)} less** in deltagrad's eager mode, "
        f"**{cell('W1', 'deltagrad fused', 2)} less** with fused neurons and "
        f"**{cell('W1', 'deltagrad batched (fused)', 2)} less** batched, where a fused layer's forward is "
        "one matrix product over the batch and its backward two; that is "
        f"{cell('W4', 'deltagrad batched (fused)', 3)}× the time of the documents' closed-form equations "
        "written as vectorized numpy (W4), the practical limit for this computation. A node takes "
        f"{cell('W3', 'deltagrad eager', 5)} bytes (micrograd's {cell('W3', 'micrograd 0.1.0', 5)}).",
        "Those W1 figures are for the benchmark's own way of writing the step: GC paused, the L2 term one "
        "fused node. W7 measures the step as users write it, the README's loop above and micrograd's own "
        "loop, with the cyclic GC left on, in a process with and without torch imported, each contender "
        "timed side by side in CPU time. The eager README loop ran "
        f"{cell('W7', 'deltagrad eager, README loop', 3, 'bare')} micrograd (bare) and "
        f"{cell('W7', 'deltagrad eager, README loop', 3, 'torch imported')} (torch imported), against a "
        f"target of 25×. With torch imported, the batched README loop ran "
        f"{target('deltagrad batched, README loop ≥')} micrograd and "
        f"{target('deltagrad batched, README loop ≤')} the closed form, against 2,500× and 5×; compiled "
        f"(below), eager ran {target('compiled eager')} micrograd, against 250×, and batched "
        f"{target('compiled batched')} the closed form, against 2×. W8 shows how the costs scale: "
        f"batched against the closed form goes from {r0} at {p0} points to {r1} at {p1}, and from {s0} "
        f"at {h0} hidden units to {s1} at {h1}.",
    ]
    wrap = partial(textwrap.fill, width=105, break_long_words=False, break_on_hyphens=False)
    return "\n".join([README_BEGIN, wrap(first), "", wrap(second), README_END])


def write_readme(path: str, markdown: str) -> bool:
    """Put `readme_block` of ``markdown`` between the README's markers (atomically); False, changing
    nothing, if the README at ``path`` has no markers."""
    from autodiff.files import write_atomic
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        return False
    write_atomic(path, text[:start] + readme_block(markdown) + text[end + len(README_END):])
    return True


# Sections measured elsewhere and kept when the file is rewritten: the HTML stepper's step times come from
# the browser tests (tests/test_step_html_browser.py with UPDATE_SCREENSHOTS=1).
KEPT = ("## The HTML stepper page",)


def kept_sections(path: str) -> list[str]:
    """The `KEPT` sections of the benchmarks file at ``path`` (to the next ``## `` heading), if any."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    found = []
    for head in KEPT:
        start = text.find(head)
        if start >= 0:
            end = text.find("\n## ", start + 1)
            found += ["", text[start:end if end >= 0 else len(text)].rstrip("\n")]
    return found


def main() -> None:
    from autodiff.files import write_atomic  # importable once _common has put the checkout on sys.path

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--tiny", action="store_true")
    group.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    parser.add_argument("--readme", default=os.path.join(ROOT, "README.md"),
                        help="the README whose quoted figures are rewritten from the new file")
    args = parser.parse_args()
    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    start = time.perf_counter()
    tables: dict[str, list[Table]] = {}
    for module in WORKLOADS:
        key = module.__name__.split("_")[0]
        print(f"running {module.__name__} ({size}) ...", file=sys.stderr, flush=True)
        tables[key] = module.run(size)
    torch = import_torch()
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python bench/run_all.py{'' if size == 'full' else ' --' + size}`) on "
        f"{datetime.date.today().isoformat()}, in {time.perf_counter() - start:.0f} s: Python "
        f"{platform.python_version()}, {platform.machine()} ({os.cpu_count()} CPUs), micrograd "
        f"{'0.1.0' if import_micrograd() else 'missing'}, PyTorch "
        f"{torch.__version__ if torch else 'missing'}. Every ratio is against micrograd measured in "
        "this same run; times are medians with (min–max) ranges.",
        "",
        "Modes: **eager** builds one node per scalar operation, the graph micrograd builds "
        "(`MLP(2, [16, 16, 1])`, a training step wrapped in `autodiff.no_cycle_gc()`); **fused** "
        "makes each neuron's z = Σ w x + b one node (`MLP(..., fused=True)`); **batched** runs the "
        "same model once over the whole data set (`autodiff.batched.batch_columns(X)`, loss reduced "
        "with `batched.mean`), each node holding one number per example.",
        "",
        "W7 comes first: W1 written as users write it (the README's loop, micrograd's loop), with the "
        "cyclic GC on as users leave it, in a process with and without torch imported, and "
        "`autodiff.compile`; its figures are the ones the README quotes; W7's own targets table holds "
        "issue 17's. W8 shows how the costs scale with graph size, data set size and width. W1's rows "
        "are the benchmark's own shape (GC paused, the L2 term one fused node), kept for comparison.",
        "",
        targets(tables).markdown(),
    ]
    for key in ("w7", "w8", "w1", "w2", "w3", "w4", "w5", "w6"):
        lines += [t.markdown() for t in tables[key]]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    lines += kept_sections(args.out)
    text = "\n".join(lines)
    write_atomic(args.out, text)
    print(f"wrote {args.out}", file=sys.stderr)
    if write_readme(args.readme, text):
        print(f"wrote the figures {args.readme} quotes", file=sys.stderr)
    else:
        print(f"note: {args.readme} has no '{README_BEGIN[:18]}' block: its figures not rewritten",
              file=sys.stderr)


if __name__ == "__main__":
    main()
