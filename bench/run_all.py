"""Run every workload (W1..W8) and write docs/benchmarks.md: a table per workload, medians and
ranges, each figure also as a ratio to micrograd measured in the same run, and the targets.

    python bench/run_all.py            # the full suite (several minutes), as `make bench` runs it
    python bench/run_all.py --quick    # smaller sizes
    python bench/run_all.py --tiny --out /tmp/b.md

Only a full run writing docs/benchmarks.md rewrites the figures the README quotes (or a run given
--readme): a --tiny or --quick run, or one with another --out, leaves the README alone.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
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
from _common import (
    BLOCK_SECONDS,
    ROOT,
    Table,
    fmt_time,
    import_micrograd,
    import_torch,
    limit_blas_threads,
    not_judged,
)

WORKLOADS = [w1_micrograd_demo, w2_deep_chain, w3_wide, w4_anchors, w5_micro_ops, w6_save_load,
             w7_user_shaped, w8_scaling]


def _row(table: Table, prefix: str) -> list[str] | None:
    return next((r for r in table.rows if r[0].startswith(prefix)), None)


def targets(tables: dict[str, list[Table]], size: str = "full") -> Table:
    """Issues 6's and 18's targets against this run's figures (issue 17's are in W7's targets table).
    Each figure is quoted from its table as that table prints it (one source, one rounding) and judged
    unrounded (`Table.values`); a reduced run (``size`` "tiny" or "quick") does not judge them."""
    out = Table("Targets of issue 6 (W1-W4, the benchmark's own shape) and issue 18 (W6), from the "
                "tables below", ["target", "measured", "met"])
    w1 = tables["w1"][0]
    if w1.figure("micrograd 0.1.0", "vs micrograd") is not None:
        for label, name, goal in [("eager ≥ 15× micrograd on W1", "deltagrad eager", 15),
                                  ("fused ≥ 80× micrograd on W1", "deltagrad fused", 80),
                                  ("batched ≥ 500× micrograd on W1", "deltagrad batched (fused)", 500)]:
            cell, x = w1.figure(name, "vs micrograd")
            out.rows.append([label, cell, "yes" if x >= goal else f"no ({x / goal:.0%} of it)"])
    else:
        out.notes.append("micrograd is not installed, so the W1 ratios are not measured: "
                         "pip install 'deltagrad[bench]' (make bench does).")
    cell, x = tables["w4"][0].figure("deltagrad batched (fused)", "× the closed-form time")
    out.rows.append(["batched within 10× of the closed-form numpy pass (W4)", f"{cell}× its time",
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
    for row in tables["w6"][0].rows:  # issue 18: a 200,000-parameter model file
        out.rows.append([f"{row[0]} of a 200,000-parameter model < 5 s (W6)", row[1].split(" (")[0],
                         row[3]])
    if size != "full":
        for row in out.rows:
            row[2] = not_judged(size)
        out.notes.append(f"{not_judged(size).capitalize()}: the targets are set for the full run's sizes "
                         "(`make bench`: W1 and W4 at 100 points, W2 to 1,000,000 nodes, W6 at 200,000 "
                         "parameters); this run's figures show that the suite runs.")
        return out
    missed = {row[0] for row in out.rows if row[2].startswith("no")}
    if "fused ≥ 80× micrograd on W1" in missed:
        took = w1.values[("deltagrad fused", w1.header[1])]
        needed = w1.values[("micrograd 0.1.0", w1.header[1])] / 80
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
                         "10× (W8b, column 'batched, W1's shape').")
    return out


WIDE_HIDDEN, WIDE_GOAL = "256", 10   # issue 17: batched ≤ 10× the closed form at 256 hidden units
WIDE_LABEL = (f"deltagrad batched, README loop ≤ {WIDE_GOAL}× the closed form at {WIDE_HIDDEN} hidden units "
              "(W8c)")


def wide_target(widths: Table, size: str = "full", where: str = "the run's own process") -> tuple | None:
    """W8c's target (batched ≤ 10× the closed form at 256 hidden units) from its table ``widths``: (the
    targets row, and a note from the measured figures if it is missed), judged on the unrounded figure,
    measured in one process (W8's, named by ``where``), where W7's targets have one figure per process;
    None without a 256 row in a full run. A reduced run (``size`` "tiny" or "quick") has the row, not
    judged, with the 256 row's figure if it ran one."""
    column = widths.header[-1]
    wide = next((r for r in widths.rows if r[0] == WIDE_HIDDEN), None)
    if size != "full":
        measured = wide[-1] if wide else (f"not measured (widest {widths.rows[-1][0]} hidden units)"
                                          if widths.rows else "not measured")
        return ([WIDE_LABEL, measured, not_judged(size)],)
    if wide is None:
        return None
    x = widths.values[(WIDE_HIDDEN, column)]
    row = [WIDE_LABEL, f"{wide[-1]} ({where})", "yes" if x <= WIDE_GOAL else "no"]
    if x <= WIDE_GOAL:
        return (row,)
    narrow = widths.rows[0]
    return row, (f"Missed, {row[0]}: {wide[-1]} ({wide[3]} "
                 f"against {wide[2]} a step, {wide[1]} parameters); at {narrow[0]} hidden units "
                 f"({narrow[1]} parameters) it is {narrow[-1]}: the ratio grows "
                 f"{x / widths.values[(narrow[0], column)]:.1f}× for "
                 f"{_ratio(wide[1]) / _ratio(narrow[1]):.0f}× the parameters, the batched executor's work "
                 "per parameter (W8c).")


def same_step_note(w7: Table, w8b: Table) -> str | None:
    """A note for W8b when its row at W7's points times the step W7's batched README loop rows time
    (MLP(2, [16, 16, 1]) against the closed form): the figures, each as its table prints it, and why
    they differ; None when W8b has no row at W7's points."""
    batched = "deltagrad batched, README loop"
    w7_rows = [r for r in w7.rows if r[0] == batched]
    points = w7.title.split("(")[1].split(" points")[0]   # "W7: W1 as users write it (100 points, ..."
    row = next((r for r in w8b.rows if r[0] == points), None)
    if not w7_rows or row is None or "MLP(2, [16, 16, 1])" not in w8b.title:
        return None
    w7_figures = " and ".join(f"{r[4]} " + ("in the bare process" if r[1] == "bare" else f"with {r[1]}")
                              for r in w7_rows)
    return (f"The same step as W7's: this table's {points}-point row ({row[3]}) times the batched README "
            f"loop at {points} points with 16 hidden units against the closed form, as W7's '{batched}' "
            f"rows do ({w7_figures}), in other rounds and processes (W7's in processes of their own, with "
            "and without torch, beside micrograd; this one in the run's own, beside W8's contenders), so "
            "the figures differ by the spread between those. The README quotes W7's figure at "
            f"{points} points, and W8's for how the ratio scales.")


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


def batched_details(cell, both, batched: str) -> str:
    """The README's sentence on micrograd's loop written on a batch (W7) and on the fixed cost of a
    batched step (W7b), or "" for a benchmarks file written before W7 had them."""
    port = "deltagrad batched, micrograd's loop"
    if cell("W7", port, 3, "bare") == "n/a" or cell("W7b", "bare", 3) == "n/a":
        return ""
    return (f"micrograd's own loop written on a batch is {both(port, 3)} faster than micrograd "
            f"(taking {both(port, 4)} the closed form's time); at W7's points {cell('W7b', 'bare', 3)} and "
            f"{cell('W7b', 'torch imported', 3)} of a batched step is fixed Python cost, whatever the "
            "number of points (the step at 1 point over the step at all of them, W7b). ")


def readme_block(markdown: str) -> str:
    """The README's paragraphs of figures, from the benchmarks file's text ``markdown``: the step as
    users write it first (W7, W8), the benchmark's own shapes after it, labelled as such."""
    tables = tables_in(markdown)

    def cell(key: str, first: str, col: int, second: str | None = None) -> str:
        table = tables.get(key)
        row = None if table is None else next(
            (r for r in table.rows if r[0] == first and (second is None or r[1] == second)), None)
        return "n/a" if row is None else row[col].split(" (")[0]

    def both(name: str, col: int) -> str:
        """``14.4× and 18.0×``: W7's figures of ``name``, the bare process's first."""
        return f"{cell('W7', name, col, 'bare')} and {cell('W7', name, col, 'torch imported')}"

    def met(label: str) -> str:
        """The verdict of the targets table's row labelled ``label`` ("met", "missed", "missed in the
        bare process", ...), as run_all judged it from unrounded figures; "n/a" without the row."""
        table = tables.get("Targets 17")
        row = None if table is None else next((r for r in table.rows if r[0].startswith(label)), None)
        if row is None:
            return "n/a"
        if row[2].startswith("not judged"):
            return row[2].removesuffix(")").replace(" (a ", ", a ")
        return {"yes": "met"}.get(row[2], "missed" + row[2].removeprefix("no").removeprefix(" (missed")
                                  .removesuffix(")"))

    def target(name: str, against: str) -> str:
        """``target ≤ 5×: missed``: issue 17's goal for ``name`` (w7_user_shaped.TARGETS), its verdict."""
        goal, at_least = next((g, a) for n, v, g, a, _ in w7_user_shaped.TARGETS if (n, v) == (name, against))
        label = w7_user_shaped.target_label(name, against, goal)
        return f"target {'' if at_least else '≤ '}{goal:,}×: {met(label)}"

    def ends(key: str) -> tuple[str, str, str, str]:
        """The first and last rows' sizes and ratios to the closed form (the column of that name)."""
        if key not in tables or "× the closed-form time" not in tables[key].header:
            return ("n/a",) * 4
        rows, col = tables[key].rows, tables[key].header.index("× the closed-form time")
        return rows[0][0], rows[0][col], rows[-1][0], rows[-1][col]

    p0, r0, p1, r1 = ends("W8b")
    h0, s0, h1, s1 = ends("W8c")
    eager, batched = "deltagrad eager, README loop", "deltagrad batched, README loop"
    # a file written before run_all wrote it in one run says so in its header; the README then says so too
    one_run = "Written by one `make bench` run" in markdown
    when = ("one `make bench` run" if one_run
            else "the separate runs the file dates (not yet one `make bench` run)")
    first, second = [
        f"Measured in {when} ([docs/benchmarks.md](docs/benchmarks.md), W7), one training step of "
        "micrograd's moons demo written as users write it (the README's loop above, the cyclic GC "
        "left on as users leave it) takes "
        f"{cell('W7', 'micrograd 0.1.0 (its demo loop)', 2, 'bare')} in micrograd 0.1.0. deltagrad's "
        f"eager README loop is {cell('W7', eager, 3, 'bare')} faster in a bare process and "
        f"{cell('W7', eager, 3, 'torch imported')} in one that has imported torch "
        f"({target(eager, 'micrograd')}); batched, {both(batched, 3)} faster "
        f"({target(batched, 'micrograd')}), taking {both(batched, 4)} the time of the documents' "
        "closed-form equations written as vectorized numpy, the practical limit for this computation "
        f"({target(batched, 'closed form')}). Compiled (below), eager is "
        f"{both('compiled eager, README loss', 3)} faster than micrograd "
        f"({target('compiled eager, README loss', 'micrograd')}) and batched takes "
        f"{both('compiled batched, README loss', 4)} the closed form's time "
        f"({target('compiled batched, README loss', 'closed form')}). "
        + batched_details(cell, both, batched)
        + "W8 shows how the costs "
        "scale, each figure from its own rounds (its first differs from W7's by the spread between "
        f"rounds): batched against the closed form goes from {r0} at {p0} points to {r1} at {p1}, and "
        f"from {s0} at {h0} hidden units to {s1} at {h1}"
        + (f" (target ≤ {WIDE_GOAL}×: {met(WIDE_LABEL)})." if met(WIDE_LABEL) != "n/a" else "."),
        "Special shapes, the benchmark's own way of writing the step (W1: GC paused, the L2 term one "
        f"fused node), {'in the same run' if one_run else 'from its own run'}: eager "
        f"{cell('W1', 'deltagrad eager', 2)} faster than micrograd, "
        f"fused neurons {cell('W1', 'deltagrad fused', 2)}, batched "
        f"{cell('W1', 'deltagrad batched (fused)', 2)}, taking "
        f"{cell('W4', 'deltagrad batched (fused)', 3)}× the closed form's time (W4). A node takes "
        f"{cell('W3', 'deltagrad eager', 5)} bytes (micrograd's {cell('W3', 'micrograd 0.1.0', 5)}).",
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


def _load() -> str:
    """The 1-minute load average, or "n/a" where the system does not report it."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        return "n/a"


DEFAULT_OUT = os.path.join(ROOT, "docs", "benchmarks.md")
DEFAULT_README = os.path.join(ROOT, "README.md")


def readme_to_write(size: str, out: str, readme: str | None) -> tuple[str | None, str]:
    """The README whose quoted figures a run rewrites, or None, and why in words for the run's output:
    ``readme`` when given (--readme); else the repository's README.md, only when a full run (``size``)
    writes the repository's docs/benchmarks.md (``out``): figures from a --tiny or --quick run, or from a
    file elsewhere, are never quoted there unasked."""
    if readme is not None:
        return readme, "given with --readme"
    if size != "full":
        return None, f"a --{size} run leaves {DEFAULT_README} alone (give --readme PATH to write one)"
    if os.path.realpath(out) != os.path.realpath(DEFAULT_OUT):
        return None, (f"--out is not {DEFAULT_OUT}, so {DEFAULT_README} is left alone (give --readme PATH "
                      "to write one)")
    return DEFAULT_README, f"a full run writing {DEFAULT_OUT}"


def main() -> None:
    from autodiff.files import write_atomic  # importable once _common has put the checkout on sys.path

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--tiny", action="store_true",
                       help="tiny sizes and 2 rounds (W1 and W7 at 10 points; under a minute): checks that "
                            "every workload runs; targets not judged, the README left alone unless --readme")
    group.add_argument("--quick", action="store_true",
                       help="smaller sizes and fewer rounds (W7 at 100 points in 5 rounds, W8c to 64 hidden "
                            "units); targets not judged, the README left alone unless --readme")
    parser.add_argument("--out", default=None,
                        help="the benchmarks file to write (default: docs/benchmarks.md, for a full run; "
                             "a --tiny or --quick run needs it)")
    parser.add_argument("--readme", default=None,
                        help="a README whose quoted figures (between its bench markers) are rewritten "
                             "from the new file (default: the repository's README.md, by a full run "
                             "writing docs/benchmarks.md only)")
    args = parser.parse_args()
    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    if args.out is None and size != "full":  # its figures would replace the full run's the docs quote
        parser.error(f"a --{size} run needs --out PATH (e.g. --out /tmp/b.md): docs/benchmarks.md holds "
                     f"the full run's figures, which the README quotes")
    args.out = args.out or DEFAULT_OUT
    readme, why = readme_to_write(size, args.out, args.readme)
    if readme is not None and not os.path.isfile(readme):
        parser.error(f"--readme {readme}: no such file; give the README whose figures to rewrite")
    limit_blas_threads()
    started, start, load_start = datetime.datetime.now(datetime.timezone.utc), time.perf_counter(), _load()
    tables: dict[str, list[Table]] = {}
    took = {}
    for module in WORKLOADS:
        key = module.__name__.split("_")[0]
        print(f"running {module.__name__} ({size}) ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        tables[key] = module.run(size)
        took[key] = time.perf_counter() - t0
    same = same_step_note(tables["w7"][0], tables["w8"][1])
    if same is not None:
        tables["w8"][1].notes.append(same)
    where = "the run's own process" + (", torch imported" if "torch" in sys.modules else "")
    wide = wide_target(tables["w8"][2], size, where)   # issue 17's width target, with W7's
    if wide is not None:   # W7's targets table, its last
        tables["w7"][-1].rows.append(wide[0])
        tables["w7"][-1].notes += wide[1:]
    torch = import_torch()
    lines = [
        "# Benchmarks",
        "",
        f"Written by one `make bench` run (`python bench/run_all.py{'' if size == 'full' else ' --' + size}`)"
        f" started {started:%Y-%m-%d %H:%M} UTC, in {time.perf_counter() - start:.0f} s ("
        + ", ".join(f"{key.upper()} {sec:.0f} s" for key, sec in took.items())
        + f"); load average {load_start} at the start and {_load()} at the end: Python "
        f"{platform.python_version()}, {platform.machine()} ({os.cpu_count()} CPUs), micrograd "
        f"{'0.1.0' if import_micrograd() else 'missing'}, PyTorch "
        f"{torch.__version__ if torch else 'missing'}. Every figure before the section 'The HTML stepper "
        "page' comes from this run, and every ratio is between contenders measured side by side in it; "
        "that section and the playground's are written by their own tools (the browser tests, "
        "`playground/bench.py`), which say when.",
        "",
        f"How every workload times: in each round each contender runs a block of calls lasting at least "
        f"{BLOCK_SECONDS[size] * 1e3:g} ms of CPU time, the number of calls fixed per contender after a "
        "warm-up (up to 8 untimed calls, stopping once they have taken 10 blocks' time: CPython's "
        "specializing interpreter "
        "adapts a function's code only once it has run a few times); a call's time is the block's "
        "time over its calls; the rounds alternate the "
        "contenders, and a figure is the median over rounds, with the (min–max) range where shown. So a "
        "50 µs step is timed over hundreds of calls in a row, not once right after another contender's "
        "1.5 s step. Times are the process's CPU time (`time.process_time`, the cyclic GC's passes "
        "included): wall-clock time on a shared machine mostly measures the other processes. numpy's "
        "BLAS is limited to one thread for the whole run (threadpoolctl), so CPU time is the step's "
        "own, and PyTorch (W4) runs at one thread (W8c shows numpy's own threads beside it). The cyclic "
        "garbage a block leaves (micrograd's graphs are cycles) is collected between blocks, untimed, and "
        "what collecting it cost is added to that block, never to the next contender's. The closed-form "
        "numpy pass (the documents' δ equations, vectorized) is the same contender in W4, W7 (in each of "
        "its processes) and W8, and W1's batched step is in W1, W4 and W8b: each table times it beside "
        "the contenders it is compared with, in that table's own rounds, so its figures differ between "
        "tables by the spread between rounds and processes (compare ratios within a table); within a "
        "table, and across W8b and W8c, one step is measured once.",
        "",
        "Modes: **eager** builds one node per scalar operation, the graph micrograd builds "
        "(`MLP(2, [16, 16, 1])`); **fused** makes each neuron's z = Σ w x + b one node "
        "(`MLP(..., fused=True)`); **batched** runs the same model once over the whole data set "
        "(`autodiff.batched.batch_columns(X)`), each node holding one number per example; **compiled** "
        "replays a graph built once (`autodiff.compile`).",
        "",
        "## The step as users write it (issue 17)",
        "",
        "W7 is W1 written as users write it (the README's loop, micrograd's own loop), with the cyclic GC "
        "on as users leave it, in a process with and without torch imported, and `autodiff.compile`: its "
        "figures are the ones the README quotes, and its targets table holds issue 17's: W7's, each judged "
        "in both of W7's processes (a target met in one process and missed in the other is stated as "
        "missed there), and the width target, from W8c, which runs in one process, the run's own (" +
        ("where W4 has imported torch" if torch else "torch is not installed") + "). "
        "W8 shows how the costs scale with graph size, data set size and width.",
        "",
    ]
    for key in ("w7", "w8"):
        lines += [t.markdown() for t in tables[key]]
    lines += [
        "## Special shapes and other workloads",
        "",
        "W1 is the benchmark's own way of writing the step (GC paused inside `no_cycle_gc()`, the L2 "
        "term one fused node), kept for comparison with the figures above; W2-W6 measure deep and wide "
        "graphs, anchors, micro-operations and model files.",
        "",
        targets(tables, size).markdown(),
    ]
    for key in ("w1", "w2", "w3", "w4", "w5", "w6"):
        lines += [t.markdown() for t in tables[key]]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    lines += kept_sections(args.out)
    text = "\n".join(lines)
    write_atomic(args.out, text)
    print(f"wrote {args.out}", file=sys.stderr)
    if size != "full" and os.path.realpath(args.out) == os.path.realpath(DEFAULT_OUT):
        print(f"note: {args.out} now holds a --{size} run's figures, not the full run's the README "
              "quotes; `make bench` writes the full run's", file=sys.stderr)
    if readme is None:
        print(f"did not write a README: {why}", file=sys.stderr)
    elif write_readme(readme, text):
        print(f"wrote the figures {readme} quotes ({why})", file=sys.stderr)
    else:
        print(f"did not write {readme}: it has no '{README_BEGIN[:18]}' block", file=sys.stderr)


if __name__ == "__main__":
    main()
