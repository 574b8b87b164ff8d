"""The command line on hostile input (issue 18, items 2 and 8): no inf or NaN printed with exit 0,
strict JSON only, and each bad argument a one-line error with exit status 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from deltagrad.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIG = "1" * 401


def one_line_error(capsys, argv: list[str], *words: str) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith(f"deltagrad {argv[0]}: error: "), err
    assert "Traceback" not in err and "nan" not in out.lower() and "inf" not in out.lower()
    for word in words:
        assert word in err, err
    return err


# ---- item 2: no silent inf or NaN ------------------------------------------------------------------

@pytest.mark.parametrize("json_flag", [[], ["--json"]])
@pytest.mark.parametrize("expr, values, shown", [
    ("log(x) - log(x)", ["x=5e-324"], "nan"),                       # a NaN gradient
    ("n = x*1; n*1e308 + n*1e308", ["x=1e-300"], "inf"),            # two 1e308 terms into one node
])
def test_grad_refuses_inf_and_nan(capsys, expr, values, shown, json_flag):
    err = one_line_error(capsys, ["grad", expr, *values, *json_flag], "not a finite number")
    assert f" is {shown} " in err or "gradient" in err


def test_grad_json_is_strict(capsys):
    assert main(["grad", "n = x*w; tanh(n)", "x=2", "w=-3", "--json"]) == 0
    out = capsys.readouterr().out

    def refuse(token):
        raise AssertionError(f"{token} in the JSON output")
    doc = json.loads(out, parse_constant=refuse)
    assert doc["gradients"]["w"] == pytest.approx(2 * (1 - __import__("math").tanh(-6) ** 2))


# ---- item 8: arguments --------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["grad", "x*2", "x=1", "--digits", "-1"], ["--digits", "1 to 17"]),
    (["grad", "x*2", "x=1", "--digits", "400"], ["--digits", "1 to 17"]),
    (["check", "--seed", "-1"], ["--seed", ">= 0"]),
    (["train", "moons", "--seed", "-1"], ["--seed", ">= 0"]),
    (["demo", "--seed", "-3"], ["--seed", ">= 0"]),
    (["grad", "x*2", f"x={BIG}"], ["out of the float range", "401 characters"]),
    (["grad", f"{BIG}*x", "x=1"], ["too large for a float"]),
    (["grad", "x*2", "x=nan"], ["finite"]),
    (["grad", "(" * 100_000 + "x" + ")" * 100_000, "x=1"], []),      # deep nesting, refused before ast
    (["grad", "x*2", "x=1", "ｘ=2"], ["x is given twice"]),
])
def test_bad_arguments_are_one_line_errors(capsys, argv, words):
    err = one_line_error(capsys, argv, *words)
    assert len(err) < 400


def test_a_full_width_name_is_the_name_the_parser_reads(capsys):
    for argv in (["grad", "ｘ*2", "ｘ=3"], ["grad", "x*2", "ｘ=3"], ["grad", "ｘ*2", "x=3"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert out.splitlines()[-1].split() == ["x", "3", "2"]


def test_train_under_a_memory_limit_is_a_one_line_error():
    # A child process with its address space capped a little above what it uses after its imports:
    # MLP(2, [5000, 5000, 1]) needs about 25 million parameters.
    script = textwrap.dedent(f"""
        import resource, sys
        sys.path.insert(0, {ROOT!r})
        from deltagrad.cli import main
        import autodiff.batched, nn, nn.data, numpy, rich.progress
        vm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmSize"))
        resource.setrlimit(resource.RLIMIT_AS, (vm * 1024 + 150 * 2**20, resource.RLIM_INFINITY))
        sys.exit(main(["train", "moons", "--hidden", "5000,5000", "--epochs", "1", "-q"]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.count("\n") == 1 and "out of memory" in result.stderr, result.stderr[-2000:]
