"""`tools/mutate.py` without a cosmic-ray run: which survivors count as equivalent, the report's stale
and wrong entries and its arithmetic, read from sessions written with cosmic-ray's own classes; which
files `--changed-since` picks (untracked ones too) and `--list` (issue 20)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def mutate(monkeypatch, tmp_path):
    """tools/mutate.py as a module, its sessions and report in a temporary folder."""
    spec = importlib.util.spec_from_file_location("deltagrad_mutate_tool", ROOT / "tools" / "mutate.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)   # dataclasses look their module up there
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "SESSIONS", tmp_path / ".mutate")
    return module


def _diff(original: str, mutated: str, context: str = "") -> str:
    lines = ["--- mutation diff ---", "--- aa.py", "+++ ba.py", "@@ -1,2 +1,2 @@"]
    lines += [f" {context}"] if context else []
    return "\n".join([*lines, f"-{original}", f"+{mutated}", ""])


def _session(mutate, target, mutants):
    """A session of ``target`` holding ``mutants``: (line, operator, original, mutated, outcome, context),
    outcome "survived", "killed", "incompetent", "skipped" or None (not run yet)."""
    try:
        from cosmic_ray.work_db import WorkDB, use_db
        from cosmic_ray.work_item import MutationSpec, WorkItem, WorkResult
    except ImportError:
        require(False, "cosmic-ray", "pip install -e '.[test]' (or '.[mutate]')")
    mutate.SESSIONS.mkdir(exist_ok=True)
    with use_db(str(mutate.session(target)[1]), WorkDB.Mode.create) as db:
        for i, (line, op, original, mutated, outcome, context) in enumerate(mutants):
            job = f"job{i}"
            db.add_work_item(WorkItem.single(job, MutationSpec(target.module, f"core/{op}", 0, (line, 4),
                                                               (line, 9))))
            if outcome == "skipped":
                db.set_result(job, WorkResult(worker_outcome="skipped"))
            elif outcome:
                db.set_result(job, WorkResult(worker_outcome="normal", test_outcome=outcome,
                                              diff=_diff(original, mutated, context)))


def _target(mutate, module="autodiff/f.py", **kwargs):
    return mutate.Target(module, ("tests/test_f.py",), **kwargs)


# ---- which survivors are equivalent -----------------------------------------------------------------

def test_an_entry_matches_by_file_operator_and_code_spaces_aside(mutate):
    e = mutate.Equivalent("autodiff/f.py", "NumberReplacer", "result[0] if single", "result[-1]", "why")
    assert e.matches("autodiff/f.py", "NumberReplacer", "return result[0] if single else r",
                     "return result[ -1] if single else r")                  # cosmic-ray's own spaces
    assert not e.matches("autodiff/g.py", "NumberReplacer", "return result[0] if single else r",
                         "return result[-1] if single else r")              # another file
    assert not e.matches("autodiff/f.py", "ReplaceTrueWithFalse", "return result[0] if single else r",
                         "return result[-1] if single else r")              # another operator
    assert not e.matches("autodiff/f.py", "NumberReplacer", "return result[0] if single else r",
                         "return result[1] if single else r")               # another mutant of the line
    assert not e.matches("autodiff/f.py", "NumberReplacer", "return result[1] if single else r",
                         "return result[-1] if single else r")              # another line


def test_near_tells_apart_two_lines_that_read_alike(mutate):
    e = mutate.Equivalent("autodiff/f.py", "ReplaceFalseWithTrue", "return False", "return True", "why",
                          near="arrays.append(g)")
    assert e.matches("autodiff/f.py", "ReplaceFalseWithTrue", "return False", "return True",
                     "for g in gs: arrays.append(g)")
    assert not e.matches("autodiff/f.py", "ReplaceFalseWithTrue", "return False", "return True",
                         "if not seen: continue")


def test_the_scopes_entries_each_name_a_file_of_the_scope_and_an_operator_it_runs(mutate):
    modules = {t.module: t for t in mutate.SCOPE}
    operators = {op.removeprefix("core/") for op in mutate.OPERATORS}
    for e in mutate.EQUIVALENT:
        assert e.module in modules, e
        assert e.operator in operators and f"core/{e.operator}" not in modules[e.module].without, e
        assert e.reason.strip() and e.line.strip() and e.mutated.strip(), e


# ---- the report --------------------------------------------------------------------------------------

def test_the_report_counts_sets_equivalent_apart_and_names_wrong_and_stale_entries(mutate, monkeypatch):
    target = _target(mutate)
    monkeypatch.setattr(mutate, "EQUIVALENT", [
        mutate.Equivalent("autodiff/f.py", "ReplaceTrueWithFalse", "strict=True", "strict=False", "same"),
        mutate.Equivalent("autodiff/f.py", "ReplaceComparisonOperator_Lt_LtE", "x < 0", "x <= 0", "wrong"),
        mutate.Equivalent("autodiff/f.py", "ReplaceAndWithOr", "a and b", "a or b", "its code is gone"),
        mutate.Equivalent("autodiff/other.py", "ReplaceAndWithOr", "c and d", "c or d", "not run here")])
    _session(mutate, target, [
        (3, "ReplaceTrueWithFalse", "zip(a, b, strict=True)", "zip(a, b, strict=False)", "survived", ""),
        (5, "ReplaceComparisonOperator_Lt_LtE", "if x < 0:", "if x <= 0:", "killed", ""),
        (7, "ReplaceBinaryOperator_Add_Sub", "y = x + 1", "y = x - 1", "survived", ""),
        (8, "ReplaceBinaryOperator_Mul_Div", "y = x * 2", "y = x / 2", "killed", ""),
        (9, "ReplaceBinaryOperator_Mul_Div", "z = x * 3", "z = x / 3", "killed", ""),
        (10, "ReplaceBinaryOperator_Mul_Div", "w = x * 4", "w = x / 4", "incompetent", ""),
        (11, "ReplaceBinaryOperator_Mul_Div", "v = x * 5", "v = x / 5", None, ""),
        (12, "ReplaceBinaryOperator_Mul_Div", "u = x * 6", "u = x / 6", "skipped", "")])
    out = mutate.results(target)
    assert (out.killed, out.survived, out.incompetent, out.pending) == (3, 1, 1, 1)
    assert out.survivors == [(7, "ReplaceBinaryOperator_Add_Sub", "y = x - 1")]
    assert out.equivalent == [(3, "ReplaceTrueWithFalse", "zip(a, b, strict=False)", "same")]
    assert out.wrong == [(5, "ReplaceComparisonOperator_Lt_LtE", "if x <= 0:")]

    text = mutate.report([target, _target(mutate, "autodiff/other.py")])
    rows = text.splitlines()
    # 3 killed, 1 survivor, 1 equivalent: 3 / (3 + 1) over what can change, 3 / 5 counting it
    assert "| `autodiff/f.py` | `test_f.py` | 5 (1 not run) | 1 | 3 | 1 | 75.0% |" in rows
    assert "| `autodiff/other.py` | | not run in this checkout (no session in `.mutate/`) | | | | |" in rows
    assert "| **all** | | 5 | 1 | 3 | 1 | **75.0%** |" in rows
    assert "(the 1 equivalent ones left out): **75.0%**; counting them as survivors: 60.0%." in text
    survivors = text.split("Surviving mutants")[1].split("Equivalent mutants")[0]
    assert "- `autodiff/f.py:7` ReplaceBinaryOperator_Add_Sub: `y = x - 1`" in survivors
    assert "- `autodiff/f.py:3` ReplaceTrueWithFalse: `zip(a, b, strict=False)`: same" in text
    stale = text.split("match no mutant any more")[1].split("Listed as equivalent but killed")[0]
    assert "`autodiff/f.py` ReplaceAndWithOr: `a and b`" in stale
    assert "other.py" not in stale                   # its file has no session: not known to be stale
    wrong = text.split("Listed as equivalent but killed")[1]
    assert "- `autodiff/f.py:5` ReplaceComparisonOperator_Lt_LtE: `if x <= 0:`" in wrong


def test_an_operator_left_out_of_a_target_is_not_counted_though_its_session_ran_it(mutate, monkeypatch):
    monkeypatch.setattr(mutate, "EQUIVALENT", [])
    target = _target(mutate, without=("core/NumberReplacer",))
    _session(mutate, target, [(1, "NumberReplacer", "x = 1", "x = 2", "survived", ""),
                              (2, "ReplaceAndWithOr", "a and b", "a or b", "killed", "")])
    text = mutate.report([target])
    assert "| **all** | | 1 | 0 | 1 | 0 | **100.0%** |" in text
    assert "- none" in text.split("Surviving mutants")[1]


def test_the_rate_rounds_to_a_tenth_and_has_no_figure_without_mutants(mutate):
    assert mutate._rate(687, 42) == "94.2%"
    assert mutate._rate(693, 36) == "95.1%"
    assert mutate._rate(0, 0) == "-"


def test_the_report_replaces_only_the_text_between_its_markers_and_needs_them(mutate, monkeypatch,
                                                                               tmp_path):
    doc = tmp_path / "testing.md"
    monkeypatch.setattr(mutate, "REPORT", doc)
    doc.write_text(f"# Testing\nbefore\n{mutate.BEGIN}\nold figures\n{mutate.END}\nafter\n", encoding="utf-8")
    mutate.write_report("new figures")
    assert doc.read_text(encoding="utf-8") == (f"# Testing\nbefore\n{mutate.BEGIN}\nnew figures\n{mutate.END}"
                                               "\nafter\n")
    doc.write_text("# Testing\nno markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="markers .* are missing"):
        mutate.write_report("new figures")
    assert doc.read_text(encoding="utf-8") == "# Testing\nno markers\n"
    assert [p.name for p in tmp_path.iterdir()] == ["testing.md"]     # no temporary file left


# ---- choosing the files --------------------------------------------------------------------------------

def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(mutate, monkeypatch, tmp_path):
    """A git repository with two library files and their tests, committed; the tool's ROOT."""
    require(subprocess.run(["git", "--version"], capture_output=True).returncode == 0, "git",
            "apt-get install git")
    root = tmp_path / "repo"
    for name in ("autodiff/a.py", "autodiff/b.py", "tests/test_a.py", "tests/test_b.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x = 1\n", encoding="utf-8")
    (root / ".gitignore").write_text("*.log\n", encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "start")
    monkeypatch.setattr(mutate, "ROOT", root)
    monkeypatch.setattr(mutate, "SCOPE", [mutate.Target("autodiff/a.py", ("tests/test_a.py",)),
                                          mutate.Target("autodiff/b.py", ("tests/test_b.py::test_one",))])
    return root


def _listed(mutate, capsys, *args):
    assert mutate.main([*args, "--list"]) == 0
    return capsys.readouterr().out.split()


def test_changed_since_picks_the_files_whose_code_or_tests_changed(mutate, repo, capsys):
    assert _listed(mutate, capsys, "--changed-since", "HEAD") == ["(none)"]
    (repo / "tests/test_b.py").write_text("x = 2\n", encoding="utf-8")          # a test, not committed
    assert _listed(mutate, capsys, "--changed-since", "HEAD") == ["autodiff/b.py"]
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "b's test")
    assert _listed(mutate, capsys, "--changed-since", "HEAD~1") == ["autodiff/b.py"]   # committed
    assert _listed(mutate, capsys, "--changed-since", "HEAD") == ["(none)"]


def test_changed_since_picks_a_file_not_tracked_yet_and_leaves_ignored_ones(mutate, repo, capsys):
    (repo / "autodiff/a.py").unlink()
    _git(repo, "rm", "-q", "--cached", "autodiff/a.py")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a untracked")
    (repo / "autodiff/a.py").write_text("x = 3\n", encoding="utf-8")              # new, never added
    (repo / "autodiff/run.log").write_text("noise\n", encoding="utf-8")            # ignored
    assert mutate.changed_files("HEAD") == {"autodiff/a.py"}
    assert _listed(mutate, capsys, "--changed-since", "HEAD") == ["autodiff/a.py"]


def test_changed_since_a_revision_git_does_not_know_says_so(mutate, repo):
    with pytest.raises(SystemExit, match="--changed-since nosuchrev: git cannot compare with it"):
        mutate.main(["--changed-since", "nosuchrev", "--list"])


def test_list_prints_the_scope_or_the_files_chosen_and_only_refuses_a_file_outside_it(mutate, repo, capsys):
    assert _listed(mutate, capsys) == ["autodiff/a.py", "autodiff/b.py"]
    assert _listed(mutate, capsys, "--only", "autodiff/b.py") == ["autodiff/b.py"]
    with pytest.raises(SystemExit, match=r"--only \['autodiff/c.py'\]: not in the scope"):
        mutate.main(["--only", "autodiff/c.py", "--list"])


def test_a_function_named_in_a_target_must_exist(mutate, repo):
    (repo / "autodiff/a.py").write_text("def f():\n    return 1\n\n\ndef g():\n    return 2\n",
                                        encoding="utf-8")
    assert mutate.line_ranges(mutate.Target("autodiff/a.py", (), ("g", "f"))) == ["1-2", "5-6"]
    assert mutate.line_ranges(mutate.Target("autodiff/a.py", ())) == ["1-6"]
    with pytest.raises(SystemExit, match=r"autodiff/a.py has no function \['h'\]"):
        mutate.line_ranges(mutate.Target("autodiff/a.py", (), ("f", "h")))


def test_a_run_that_lacks_a_files_session_leaves_the_documented_score_as_it_is(mutate, monkeypatch, tmp_path,
                                                                               capsys):
    # a new checkout running one file (`--only`) must not replace the scope's score with that file's
    doc = tmp_path / "testing.md"
    monkeypatch.setattr(mutate, "REPORT", doc)
    doc.write_text(f"{mutate.BEGIN}\nthe scope's figures\n{mutate.END}\n", encoding="utf-8")
    ran, other = _target(mutate, "autodiff/f.py"), _target(mutate, "autodiff/g.py")
    monkeypatch.setattr(mutate, "SCOPE", [ran, other])
    _session(mutate, ran, [(3, "ReplaceTrueWithFalse", "x = True", "x = False", "killed", "")])
    assert mutate.main(["--report-only"]) == 0
    assert "the scope's figures" in doc.read_text(encoding="utf-8")
    assert "no session in .mutate/ for autodiff/g.py" in capsys.readouterr().err
    _session(mutate, other, [(4, "ReplaceTrueWithFalse", "y = True", "y = False", "killed", "")])
    assert mutate.main(["--report-only"]) == 0
    assert "the scope's figures" not in doc.read_text(encoding="utf-8")
