"""`make mutate`: mutation testing with cosmic-ray over the engine's table of primitives and its
executors, the checker, gradients of any order and the documents' closed forms, each file against the
tests that check it, one process at a time. Writes the kill rate and every surviving mutant into
docs/testing.md (between its `mutate:` markers).

    python tools/mutate.py              # resume an interrupted run (sessions in .mutate/)
    python tools/mutate.py --fresh      # start every session anew
    python tools/mutate.py --only autodiff/check.py
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = ROOT / ".mutate"
REPORT = ROOT / "docs" / "testing.md"
BEGIN, END = "<!-- mutate:begin -->", "<!-- mutate:end -->"


@dataclass(frozen=True)
class Target:
    """One file to mutate, the tests that must kill its mutants (the ones that exercise it) and, when
    only part of the file matters, the names of the functions to mutate (every def of that name)."""
    module: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()
    without: tuple[str, ...] = ()  # operators of OPERATORS not used on this file
    keyword: str = ""  # pytest -k: leaves out those files' slow tests that cannot kill a mutant here


# Left out of the engine's targets: PyTorch's comparisons (importing torch costs 2 s of CPU per mutant;
# the central differences and the exact kink and tail values check the same rules), the command line
# (subprocesses) and the million-deep chains (recursion, not arithmetic).
FAST = ("not pytorch and not command_line and not cli and not deep_chain and not adding_a_primitive "
        "and not pipe")

# Operators left out on the engine's files, to fit the run to the time (see docs/testing.md): `not` on
# a branch condition swaps a rule's two formulas or skips a whole rule (the first 10 such mutants of
# primitives.py were all killed), and numbers ±1 are mostly arities, cache sizes and message indices.
ENGINE_WITHOUT = ("core/NumberReplacer", "core/AddNot")

# The scope: extend it by adding a Target.
SCOPE = [
    # test_engine.py's checker tests only: the whole file takes ~40 s (million-node chains)
    Target("autodiff/check.py", ("tests/test_gradcheck.py", *(
        f"tests/test_engine.py::test_{name}" for name in [
        "unary_rule_matches_central_difference", "binary_rule_matches_central_difference",
        "gradcheck_catches_a_wrong_rule", "gradcheck_names_only_the_inputs_that_disagree",
        "numerical_grad_is_central", "gradcheck_rejects_a_single_number"]))),
    Target("autodiff/functional.py", ("tests/test_kinks.py", "tests/test_functional_edges.py",
                                      "tests/test_higher_order.py")),
    # The documents' equations: each document's forward and backward pass (its δ's, gradients and
    # regularization: `_backprop`) and which weights its penalty covers. Not the symbols, tables and
    # argument checks around them.
    Target("nn/closed_form.py", ("tests/test_closed_form_agreement.py", "tests/test_closed_form_errata.py",
                                 "tests/test_closed_form_numeric.py", "tests/test_closed_form_edges.py"),
           ("_penalized", "_backprop"),
           # every number ±1 would add 128 mutants here (~30 min at 13 s each on a shared machine):
           # left out to keep the run to a coffee break; drop this line for a longer, fuller run
           without=("core/NumberReplacer",)),
    # The engine's table: every primitive's forward (on a number and on a batch) and derivative rule.
    Target("autodiff/primitives.py", ("tests/test_kinks.py", "tests/test_mutants_engine.py",
                                      "tests/test_primitives.py",
                                      "tests/test_engine_numerics.py", "tests/test_batched.py",
                                      "tests/test_engine_reference.py"),
           # numbers ±1 add 340 mutants here, most of them arities, cache sizes and message indices
           without=ENGINE_WITHOUT, keyword=FAST),
    # The executors, each against the tests that compare it with another one and with the numbers.
    Target("autodiff/reference.py", ("tests/test_kinks.py", "tests/test_mutants_engine.py",
                                     "tests/test_mutants_executors.py",
                                     "tests/test_engine_reference.py",
                                     "tests/test_engine_finite.py", "tests/test_engine_numerics.py"),
           without=ENGINE_WITHOUT, keyword=FAST),
    Target("autodiff/eager.py", ("tests/test_kinks.py", "tests/test_mutants_executors.py",
                                 "tests/test_engine_reference.py",
                                 "tests/test_engine_finite.py"), without=ENGINE_WITHOUT, keyword=FAST),
    Target("autodiff/vectorized.py", ("tests/test_kinks.py", "tests/test_mutants_executors.py",
                                      "tests/test_mutants_engine.py", "tests/test_batched.py",
                                      "tests/test_batched_layers.py", "tests/test_engine_reference.py"),
           without=ENGINE_WITHOUT, keyword=FAST),
    # graph.py: only the walk (the topological order every executor starts from)
    Target("autodiff/graph.py", ("tests/test_engine_reference.py",), ("walk",), without=ENGINE_WITHOUT,
           keyword=FAST),
]

# The operators that make the faults these files can have: a sign or an operation swapped in a
# formula, a boundary moved (< for <=: the kinks, the checker's tolerance), a constant off by one
# (exponents, indices), a condition negated or a loop skipped. Left out: bitwise and shift operators,
# floor division and modulo (none of them appear in the scope, and swapping into them only makes
# TypeErrors), exception and decorator removal, variable replacement (thousands of mutants, mostly
# type errors).
OPERATORS = [
    *(f"core/ReplaceBinaryOperator_{a}_{b}" for a, b in [
        ("Add", "Sub"), ("Sub", "Add"), ("Mul", "Div"), ("Div", "Mul"), ("Pow", "Mul")]),
    *(f"core/ReplaceComparisonOperator_{a}_{b}" for a, b in [
        ("Lt", "LtE"), ("LtE", "Lt"), ("Gt", "GtE"), ("GtE", "Gt"), ("Eq", "NotEq"), ("NotEq", "Eq"),
        ("Is", "IsNot"), ("IsNot", "Is")]),
    "core/ReplaceUnaryOperator_USub_UAdd", "core/NumberReplacer", "core/AddNot",
    "core/ReplaceTrueWithFalse", "core/ReplaceFalseWithTrue", "core/ReplaceAndWithOr",
    "core/ReplaceOrWithAnd", "core/ZeroIterationForLoop",
]


def test_command(target: Target) -> str:
    """The tests of one target, stopping at the first failure (a mutant is killed by one)."""
    tests = " ".join(shlex.quote(t) for t in target.tests)
    keyword = f" -k {shlex.quote(target.keyword)}" if target.keyword else ""
    return f"{shlex.quote(sys.executable)} -m pytest -x -q -p no:cacheprovider {tests}{keyword}"


def config(target: Target) -> str:
    """The cosmic-ray session configuration (TOML) for one target; json.dumps writes TOML strings."""
    keep = "|".join(re.escape(op) for op in OPERATORS if op not in target.without)
    return "\n".join([
        "[cosmic-ray]",
        f"module-path = {json.dumps(target.module)}",
        "timeout = 120.0",
        "excluded-modules = []",
        f"test-command = {json.dumps(test_command(target))}",
        "",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "",
        "[cosmic-ray.filters.operators-filter]",
        f"exclude-operators = [{json.dumps(f'^(?!(?:{keep})$)')}]",
        "",
        "[cosmic-ray.filters.line-filter]",
        f"lines = {{ {json.dumps(target.module)} = {json.dumps(line_ranges(target))} }}",
        "",
    ])


def line_ranges(target: Target) -> list[str]:
    """The lines of the functions to mutate ("start-end"), or the whole file."""
    tree = ast.parse((ROOT / target.module).read_text(encoding="utf-8"))
    if not target.functions:
        return [f"1-{len(tree.body) and tree.body[-1].end_lineno}"]
    found = [node for node in ast.walk(tree)
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in target.functions]
    missing = set(target.functions) - {node.name for node in found}
    if missing:
        raise SystemExit(f"{target.module} has no function {sorted(missing)}; update its Target in SCOPE")
    return [f"{node.lineno}-{node.end_lineno}" for node in sorted(found, key=lambda n: n.lineno)]


def session(target: Target) -> tuple[Path, Path]:
    stem = target.module.replace("/", "_").removesuffix(".py")
    return SESSIONS / f"{stem}.toml", SESSIONS / f"{stem}.sqlite"


def mutate(target: Target, fresh: bool) -> None:
    """Create (or resume) the target's session and run every mutant not run yet."""
    cfg, db = session(target)
    SESSIONS.mkdir(exist_ok=True)
    cfg.write_text(config(target), encoding="utf-8")
    tool = Path(sys.executable).parent
    if fresh or not db.exists():
        db.unlink(missing_ok=True)
        subprocess.run([tool / "cosmic-ray", "init", cfg, db], cwd=ROOT, check=True)
    # Filtered on every run, so that a change of a Target's operators applies to a resumed session.
    subprocess.run([tool / "cr-filter-operators", db, cfg], cwd=ROOT, check=True)
    subprocess.run([tool / "cr-filter-lines", "--config", cfg, db], cwd=ROOT, check=True)
    subprocess.run([tool / "cr-filter-pragma", db], cwd=ROOT, check=True)  # `# pragma: no mutate`
    # The baseline first: if the tests fail unmutated, every mutant would count as killed.
    if subprocess.run(test_command(target), shell=True, cwd=ROOT).returncode != 0:
        raise SystemExit(f"the tests of {target.module} fail without any mutant: fix them first")
    subprocess.run([tool / "cosmic-ray", "exec", cfg, db], cwd=ROOT, check=True)


def retry_survivors(target: Target) -> None:
    """Make the target's surviving mutants pending again (after new tests), so `exec` runs only them."""
    import sqlite3
    _, db = session(target)
    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM work_results WHERE upper(test_outcome) = 'SURVIVED'")


def results(target: Target):
    """(killed, survived, incompetent, survivors) of a finished session; survivors as (line, operator,
    the mutated line)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    _, db = session(target)
    killed = survived = incompetent = 0
    survivors = []
    with use_db(str(db), WorkDB.Mode.open) as work_db:
        for item, result in work_db.completed_work_items:
            if (result.worker_outcome == WorkerOutcome.SKIPPED
                    or item.mutations[0].operator_name in target.without):
                continue  # an operator left out (also one run before it was), or `pragma: no mutate`
            if result.test_outcome == TestOutcome.SURVIVED:
                survived += 1
                spec = item.mutations[0]
                changed = [x[1:].strip() for x in (result.diff or "").splitlines()
                           if x.startswith("+") and not x.startswith("+++")]
                survivors.append((spec.start_pos[0], spec.operator_name.removeprefix("core/"),
                                  changed[0] if changed else ""))
            elif result.test_outcome == TestOutcome.INCOMPETENT:
                incompetent += 1
            else:
                killed += 1
        pending = sum(1 for _ in work_db.pending_work_items)
    return killed, survived, incompetent, pending, sorted(survivors)


def report(targets: list[Target]) -> str:
    lines = ["| file | tests | mutants | killed | survived | kill rate |", "|---|---|---:|---:|---:|---:|"]
    details = []
    total_k = total_s = 0
    for t in targets:
        if not session(t)[1].exists():
            lines.append(f"| `{t.module}` | | not run in this checkout (no session in `.mutate/`) | | | |")
            continue
        k, s, inc, pending, survivors = results(t)
        total_k, total_s = total_k + k, total_s + s
        rate = f"{100 * k / (k + s):.1f}%" if k + s else "-"
        note = f" ({pending} not run)" if pending else ""
        files: dict[str, int] = {}
        for x in t.tests:  # a file, or some of its tests (file::test): shown per file
            name, _, test = x.removeprefix("tests/").partition("::")
            files[name] = files.get(name, 0) + bool(test)
        tests = ", ".join(f"`{f}`" + (f" ({n} tests)" if n else "") for f, n in files.items())
        lines.append(f"| `{t.module}` | {tests} | {k + s}{note} | {k} | {s} | {rate} |")
        details += [f"- `{t.module}:{line}` {op}: `{code}`" for line, op, code in survivors]
    rate = f"{100 * total_k / (total_k + total_s):.1f}%" if total_k + total_s else "-"
    lines.append(f"| **all** | | {total_k + total_s} | {total_k} | {total_s} | **{rate}** |")
    lines += ["", "Surviving mutants (file:line, operator, the mutated line):", ""]
    lines += details or ["- none"]
    return "\n".join(lines)


def write_report(text: str) -> None:
    """Replace the text between the markers of docs/testing.md, atomically."""
    doc = REPORT.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{REPORT}: the markers {BEGIN} and {END} are missing; put them back")
    head, rest = doc.split(BEGIN, 1)
    new = f"{head}{BEGIN}\n{text}\n{END}{rest.split(END, 1)[1]}"
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=REPORT.parent, delete=False) as f:
        f.write(new)
    os.replace(f.name, REPORT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="start every session anew")
    parser.add_argument("--only", action="append", help="mutate only this file (repeatable)")
    parser.add_argument("--retry-survivors", action="store_true",
                        help="run the surviving mutants again (after adding tests), keep the rest")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the report")
    args = parser.parse_args(argv)
    targets = [t for t in SCOPE if not args.only or t.module in args.only]
    unknown = set(args.only or ()) - {t.module for t in SCOPE}
    if unknown:
        raise SystemExit(f"--only {sorted(unknown)}: not in the scope; the scope is "
                         f"{[t.module for t in SCOPE]} (add a Target to SCOPE in {__file__})")
    if not args.report_only:
        for t in targets:
            if args.retry_survivors and session(t)[1].exists():
                retry_survivors(t)
            mutate(t, args.fresh)
    text = report(SCOPE)
    write_report(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
