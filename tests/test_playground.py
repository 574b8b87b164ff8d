"""The playground (issue 19) without a browser: the SVG-renderer hook, the runner in CPython, the
numpy-free import, the served folder, and the same programs run through the wheel in Pyodide under Node,
their gradients compared with CPython's bit for bit."""

from __future__ import annotations

import base64
import json
import math
import random
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.conftest import classic_neuron, require, require_dot

ROOT = Path(__file__).resolve().parent.parent
PLAYGROUND = ROOT / "playground"
VENDOR = PLAYGROUND / "vendor"
sys.path.insert(0, str(PLAYGROUND))

import runner  # noqa: E402

# Programs the Node test runs in both Pythons: the examples, and seeded random chains of every op.
CHAIN = """\
import random
from autodiff import Value
rng = random.Random({seed})
xs = [Value(rng.uniform(-2, 2), f"x{{i}}") for i in range(12)]
acc = xs[0]
for i, x in enumerate(xs[1:]):
    acc = [acc * x, (acc + x).tanh(), (0.5 * acc).exp() + x, (acc ** 2 + 1).log() * x, (acc - x).sigmoid(),
           (acc + x).relu() + acc ** 3, acc / (x * x + 1)][rng.randrange(7)]
acc
"""
ARITHMETIC = """\
import random
from autodiff import Value
rng = random.Random(3)
xs = [Value(rng.uniform(-2, 2), f"x{i}") for i in range(20)]
acc = xs[0]
for x in xs[1:]:
    acc = acc * x + x ** 2 - acc / 3
acc
"""
MLP_2_16_16_1 = """\
import random
import nn
from autodiff import Value
model = nn.MLP(2, [16, 16, 1], rng=random.Random(5))
x = [Value(0.3, "x1"), Value(-0.8, "x2")]
loss = (model(x)[0] - 1.0) ** 2
loss
"""


def _programs() -> dict[str, dict]:
    programs = {name: {"source": src, "mode": mode, "page": False} for name, (_, mode, src)
                in runner.EXAMPLES.items() if name not in ("moons-data", "closed-form")}
    programs |= {f"chain-{seed}": {"source": CHAIN.format(seed=seed), "mode": "python", "page": False}
                 for seed in range(8)}
    programs["arithmetic"] = {"source": ARITHMETIC, "mode": "python", "page": False}
    programs["mlp-2-16-16-1"] = {"source": MLP_2_16_16_1, "mode": "python", "page": False}
    return programs


def _ulps(a: float, b: float) -> int:
    """How many representable doubles apart a and b are (0: the same bits)."""
    if a == b:
        return 0
    return round(abs(a - b) / math.ulp(max(abs(a), abs(b))))


def require_vendor() -> None:
    from deltagrad.playground import vendor_problem

    problem = vendor_problem(PLAYGROUND)
    require(problem is None, "a usable playground/vendor", problem or "")


# ---- the SVG-renderer hook in viz.draw --------------------------------------------------------------

def test_svg_renderer_hook_draws_the_stepper_diagram_with_the_function_given():
    dot = require_dot()
    from viz.draw import draw, svg_renderer
    from viz.step_html import HtmlStepper

    root, _ = classic_neuron()
    sources = []

    def real_dot(source: str) -> str:  # the system dot, called the way the browser calls Graphviz-wasm
        sources.append(source)
        return subprocess.run([dot, "-Tsvg"], input=source, capture_output=True, text=True, check=True).stdout

    # the stepper's drawing leaves room between boxes of a rank for its names and numbers, and a pad
    # around the drawing for the top box's name and the bottom box's numbers (issue 14)
    # (left to right, then top to bottom, which alone fits the page's pane whole)
    expected = [draw(root, show_grad=False, rankdir=rankdir).source.replace("nodesep=0.25",
                                                                            'nodesep=0.5 pad="0.1,0.3"')
                for rankdir in ("LR", "TB")]
    with svg_renderer(real_dot):
        page = HtmlStepper(root)
    assert sources == expected
    assert 'id="n0"' in page.html and 'id="op9"' in page.html
    root.grad = 0.0
    for v in classic_neuron()[1].values():
        v.grad = 0.0
    with svg_renderer(lambda source: '<svg id="made-by-hook"></svg>'):
        assert 'id="made-by-hook"' in HtmlStepper(root).html
    assert 'id="made-by-hook"' not in HtmlStepper(classic_neuron()[0]).html  # the block ended


def test_svg_renderer_refuses_what_is_not_a_function():
    from viz.draw import svg_renderer

    with pytest.raises(TypeError, match="function from DOT text to SVG text"):
        with svg_renderer("dot"):
            pass


# ---- the runner in CPython ------------------------------------------------------------------------

def test_runner_classic_neuron_gives_the_known_gradients():
    require_dot()
    result = runner.run(runner.EXAMPLES["neuron"][2])
    assert result["ok"], result
    grads = {name: grad for name, _, grad in result["nodes"]}
    assert grads["w1"] == pytest.approx(1.0) and grads["x1"] == pytest.approx(-1.5)
    assert grads["n"] == pytest.approx(0.5) and result["value"] == pytest.approx(1 / math.sqrt(2))
    assert result["frames"] == 12 and "dg-data" in result["html"]


def test_runner_reports_one_backward_pass_even_after_the_programs_own():
    source = runner.EXAMPLES["neuron"][2].replace("\no  #", "\no.backward()\no.backward()\no  #")
    assert "o.backward()" in source
    once = runner.run(runner.EXAMPLES["neuron"][2], page=False)["nodes"]
    assert runner.run(source, page=False)["nodes"] == once


def test_runner_expression_mode_matches_python_mode():
    require_dot()
    python = runner.run(runner.EXAMPLES["neuron"][2])
    expression = runner.run(runner.EXAMPLES["neuron-expression"][2], "expression")
    by_name = {name: grad for name, _, grad in expression["nodes"]}
    for name in ("x1", "x2", "w1", "w2", "b", "n", "o"):
        assert by_name[name] == next(g for n, _, g in python["nodes"] if n == name)


@pytest.mark.parametrize("source, mode, kind, words", [
    ("x = (", "python", "syntax", "line 1"),
    ("a = 1\nb = 2\n", "python", "error", "last line must be the Value"),
    ("from autodiff import Value\n[Value(1.0), Value(2.0)]", "python", "error", "not a Value"),
    ("from autodiff import Value\nx = Value(1.0)\ny = x / 0\ny", "python", "error",
     "line 3: ZeroDivisionError"),
    ("x = 2; o = tanh(x) +", "expression", "syntax", "line 1"),
    ("o = log(x)", "expression", "syntax", "x"),
    ("1", "lisp", "error", "mode must be one of"),
])
def test_runner_reports_bad_programs_as_messages(source, mode, kind, words):
    result = runner.run(source, mode)
    assert not result["ok"] and result["kind"] == kind and words in result["error"], result


@pytest.mark.parametrize("source, error", [
    ("import sys\nsys.exit(3)", "line 2: SystemExit: 3"),
    ("x = 1\nraise KeyboardInterrupt", "line 2: KeyboardInterrupt"),
    ("raise BaseException('boom')", "line 1: BaseException: boom"),
    ("x = 1\n\nraise GeneratorExit", "line 3: GeneratorExit"),
    ("x = 1\nx", "the last line gives an int, not a Value"),
])
def test_runner_reports_exits_and_interrupts_like_other_exceptions(source, error):
    result = runner.run(source, page=False)
    assert not result["ok"] and result["kind"] == "error" and error in result["error"], result


def test_runner_refuses_an_expression_too_deep_for_the_browser_in_words():
    """1,000 operators on one line kill Pyodide (WebAssembly's stack) where CPython raises
    RecursionError: the runner refuses the line, naming it, before the parser recurses."""
    deep = "from autodiff import Value\nx = Value(1.0, 'x')\n\ny = x" + "*1.0001" * 1000 + "\ny"
    result = runner.run(deep, page=False)
    assert not result["ok"] and result["kind"] == "syntax", result
    assert result["error"].startswith(f"line 4: more than {runner.MAX_DEPTH} operations") and "loop" in \
        result["error"]
    fits = "from autodiff import Value\nx = Value(1.0, 'x')\nx" + "*1.0001" * runner.MAX_DEPTH
    assert runner.run(fits, page=False)["ok"]


def test_runner_returns_what_the_program_printed():
    result = runner.run("from autodiff import Value\nprint('hello')\nValue(3.0)", page=False)
    assert result["ok"] and result["output"] == "hello\n", result


def test_runner_says_when_a_program_needs_numpy():
    """Under CPython numpy is there; hide it in a subprocess, as Pyodide has none."""
    code = ("import sys, json; sys.modules['numpy'] = None; sys.path.insert(0, sys.argv[1]); import runner;"
            "print(json.dumps([runner.run(runner.EXAMPLES[k][2]) for k in ('moons-data', 'closed-form')]))")
    out = subprocess.run([sys.executable, "-c", code, str(PLAYGROUND)], capture_output=True, text=True,
                         check=True).stdout
    for result in json.loads(out):
        assert result == {"ok": False, "kind": "numpy", "error": runner.NUMPY_MESSAGE, "output": ""}


def test_import_autodiff_nn_viz_and_the_runner_and_optimizer_steps_need_no_numpy():
    code = ("import sys; sys.modules['numpy'] = None; sys.path.insert(0, sys.argv[1])\n"
            "import autodiff, nn, viz, viz.step_html, runner\n"
            "model = nn.MLP(2, [3, 1], rng=0)\n"
            "for opt in (nn.SGD(model.parameters(), lr=0.1, momentum=0.9), nn.Adam(model.parameters())):\n"
            "    opt.zero_grad(); nn.squared_error(model([1.0, 2.0]), [0.5]).backward(); opt.step()\n"
            "assert 'numpy' not in [m for m in sys.modules if sys.modules[m] is not None]\n")
    subprocess.run([sys.executable, "-c", code, str(PLAYGROUND)], check=True)


def test_every_example_runs_in_cpython():
    for name, (_, mode, source) in runner.EXAMPLES.items():
        result = runner.run(source, mode, page=False)
        assert result["ok"], (name, result)


def test_pure_wheel_from_sdist_keeps_python_files_only(tmp_path):
    import tarfile

    from build import pure_wheel_from_sdist

    src = tmp_path / "demo-1.0"
    (src / "src" / "demo").mkdir(parents=True)
    (src / "src" / "demo" / "__init__.py").write_text("X = 1\n")
    (src / "src" / "demo" / "_speedups.c").write_text("int x;\n")
    (src / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    with tarfile.open(tmp_path / "demo-1.0.tar.gz", "w:gz") as tar:
        tar.add(src, "demo-1.0")
    wheel = pure_wheel_from_sdist(tmp_path / "demo-1.0.tar.gz", tmp_path)
    assert wheel.name == "demo-1.0-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    assert names == {"demo/__init__.py", "demo-1.0.dist-info/METADATA", "demo-1.0.dist-info/WHEEL",
                     "demo-1.0.dist-info/RECORD"}


# ---- the server -----------------------------------------------------------------------------------

def test_cli_playground_says_what_to_run_when_vendor_is_missing(tmp_path, capsys):
    from deltagrad.cli import main

    (tmp_path / "index.html").write_text("<!DOCTYPE html>")
    assert main(["playground", "--dir", str(tmp_path), "--no-browser", "--port", "0"]) == 2
    assert "make playground" in capsys.readouterr().err


def test_cli_playground_says_to_rebuild_a_vendor_without_the_snapshot(tmp_path, capsys):
    from deltagrad.cli import main

    (tmp_path / "index.html").write_text("<!DOCTYPE html>")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "manifest.json").write_text("{}")
    assert main(["playground", "--dir", str(tmp_path), "--no-browser", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "snapshot.bin.gz" in err and "make playground" in err


def test_cli_playground_refuses_a_vendor_built_from_other_source(tmp_path):
    """A vendor/ whose manifest's source digest is not the source's now would serve the old runner and
    wheel from its snapshot: the server says to rebuild instead."""
    from deltagrad.cli import CommandError, playground_server

    (tmp_path / "index.html").write_text("<!DOCTYPE html>")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "snapshot.bin.gz").write_bytes(b"")
    for manifest in ({}, {"source": "0" * 64}):
        (tmp_path / "vendor" / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(CommandError, match="make playground"):
            playground_server(tmp_path, port=0).server_close()


def test_source_digest_follows_the_tracked_sources(tmp_path):
    git = shutil.which("git")
    require(git is not None, "git", "apt-get install git")
    from deltagrad.playground import source_digest

    (tmp_path / "viz").mkdir()
    (tmp_path / "playground").mkdir()
    (tmp_path / "viz" / "a.py").write_text("x = 1\n")
    (tmp_path / "playground" / "runner.py").write_text("y = 1\n")
    (tmp_path / "playground" / "app.js").write_text("")
    subprocess.run([git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([git, "add", "."], cwd=tmp_path, check=True)
    first = source_digest(tmp_path)
    (tmp_path / "playground" / "app.js").write_text("// not in the wheel or the snapshot")
    (tmp_path / "viz" / "scratch.py").write_text("untracked = True")
    assert source_digest(tmp_path) == first
    (tmp_path / "playground" / "runner.py").write_text("y = 2\n")
    assert source_digest(tmp_path) != first


def test_the_built_vendor_holds_the_runner_it_was_built_from():
    """boot.mjs reads vendor/runner.py, the copy the snapshot was taken with, never playground/runner.py."""
    require_vendor()
    assert (VENDOR / "runner.py").read_bytes() == (PLAYGROUND / "runner.py").read_bytes()
    assert '"vendor/runner.py"' in (PLAYGROUND / "boot.mjs").read_text(encoding="utf-8")


def test_server_listens_on_loopback_and_serves_wasm_and_modules():
    require_vendor()
    from deltagrad.cli import playground_server

    server = playground_server(port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host, port = server.server_address
        assert host == "127.0.0.1"
        for path, kind in [("vendor/pyodide/pyodide.asm.wasm", "application/wasm"),
                           ("worker.js", "text/javascript"), ("boot.mjs", "text/javascript")]:
            with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/{path}",
                                                               method="HEAD")) as r:
                assert r.headers["Content-Type"].startswith(kind), path
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-file")
    finally:
        server.shutdown()
        server.server_close()


def test_server_keeps_the_connection_and_lets_a_revisit_reuse_the_cache():
    """A revisit asks again (no-cache) and gets 304 without the body, so the browser reuses its copy and
    the WebAssembly it compiled from it; all files come over one HTTP/1.1 connection."""
    require_vendor()
    import http.client

    from deltagrad.cli import playground_server

    server = playground_server(port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        connection = http.client.HTTPConnection(*server.server_address)
        connection.request("GET", "/vendor/pyodide/pyodide.asm.wasm")
        first = connection.getresponse()
        body = first.read()
        assert first.status == 200 and len(body) == int(first.headers["Content-Length"]) > 1_000_000
        assert first.headers["Cache-Control"] == "no-cache" and first.headers["Last-Modified"]
        socket = connection.sock
        assert first.version == 11 and socket is not None  # not closed after the response
        connection.request("GET", "/vendor/pyodide/pyodide.asm.wasm",
                           headers={"If-Modified-Since": first.headers["Last-Modified"]})
        again = connection.getresponse()
        assert again.status == 304 and again.read() == b""
        assert again.headers["Cache-Control"] == "no-cache" and connection.sock is socket
        connection.close()
    finally:
        server.shutdown()
        server.server_close()


# ---- the same programs in Pyodide under Node --------------------------------------------------------

def _node_run(requests: list[dict]) -> dict:
    """Run ``requests`` through the wheel in Pyodide under Node, started as the page starts it."""
    node = shutil.which("node") or shutil.which("nodejs")
    require(node is not None, "Node.js", "apt-get install nodejs")
    require_vendor()
    out = subprocess.run([node, str(PLAYGROUND / "node_run.mjs")], input=json.dumps(requests),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def test_pyodide_under_node_gives_cpythons_gradients():
    programs = _programs()
    run = _node_run(list(programs.values()))
    assert "snapshot" in run["timings"]  # Python restored from the snapshot, as in the page
    pyodide = run["results"]
    differences = []
    for (name, request), theirs in zip(programs.items(), pyodide, strict=True):
        ours = runner.run(request["source"], request["mode"], page=False)
        assert ours["ok"] and theirs["ok"], (name, theirs)
        assert [n for n, _, _ in ours["nodes"]] == [n for n, _, _ in theirs["nodes"]], name
        for (node_name, d1, g1), (_, d2, g2) in zip(ours["nodes"], theirs["nodes"], strict=True):
            for what, a, b in (("data", d1, d2), ("grad", g1, g2)):
                if _ulps(a, b):
                    differences.append((name, node_name, what, a, b, _ulps(a, b)))
    # Arithmetic is IEEE 754 in both: no difference at all. The transcendental functions come from each
    # platform's libm (glibc here, musl in Pyodide): a difference there is reported, and must stay tiny.
    assert not [d for d in differences if d[0] in ("arithmetic",)], differences
    assert all(d[5] <= 4 for d in differences), differences
    if differences:
        print(f"{len(differences)} numbers differ (at most {max(d[5] for d in differences)} ulp):",
              *differences, sep="\n  ")


def test_pyodide_runs_a_chain_of_5000_ops_and_a_program_after_it():
    """Freeing a long chain of Values recursed once per node and overflowed WebAssembly's stack (a fatal
    Pyodide error); the playground frees them one node at a time (`free_iteratively`)."""
    chain = "from autodiff import Value\nx = Value(1.0, 'x')\ny = x\nfor i in range(5000): y = y*1.0001\n"
    run = _node_run([{"source": chain + "y", "mode": "python", "page": False},
                     {"source": chain + "Value(2.0)", "mode": "python", "page": False},
                     {"source": "from autodiff import Value\nValue(3.0)", "mode": "python", "page": False}])
    long, short, after = run["results"]
    assert long["ok"] and len(long["nodes"]) == 10_001 and long["value"] == pytest.approx(1.0001 ** 5000)
    assert short["ok"] and short["value"] == 2.0, short
    assert after["ok"] and after["value"] == 3.0, after


def test_pyodide_runs_programs_that_drop_long_chains_while_they_run():
    """A chain dropped by the program itself (a name bound again; a function's local) was freed
    recursively and killed Pyodide past ~4,000 nodes; `free_iteratively` frees it node by node."""
    rebound = ("from autodiff import Value\nx = Value(1.0, 'x')\ny = x\nfor i in range(20000): "
               "y = y*1.0001\ny = None\nx")
    local = ("from autodiff import Value\ndef f():\n    y = Value(1.0)\n    for i in range(30000):\n"
             "        y = y * 1.0001\n    return y.data\nValue(f())")
    run = _node_run([{"source": rebound, "mode": "python", "page": False},
                     {"source": local, "mode": "python", "page": False},
                     {"source": "from autodiff import Value\nValue(3.0)", "mode": "python", "page": False}])
    first, second, after = run["results"]
    assert first["ok"] and first["value"] == 1.0, first
    assert second["ok"] and second["value"] == pytest.approx(1.0001 ** 30000), second
    assert after["ok"] and after["value"] == 3.0, after


def test_each_start_from_the_snapshot_draws_new_random_numbers():
    """The snapshot holds the random module's state: without a reseed every page would draw the same."""
    source = "import random\nfrom autodiff import Value\nValue(random.random())"
    program = {"source": source, "mode": "python", "page": False}
    values = [_node_run([program])["results"][0]["value"] for _ in range(2)]
    assert values[0] != values[1], values


def test_a_snapshot_taken_after_the_heap_grew_restores(tmp_path):
    """Pyodide 314 restored the snapshot into a heap of its start-up size (~30 MB) without growing it: a
    wheel 200 KB bigger, read while the snapshot was taken, made the saved heap larger and every start
    failed with "RangeError: offset is out of bounds" (boot.mjs grows the memory first)."""
    node = shutil.which("node") or shutil.which("nodejs")
    require(node is not None, "Node.js", "apt-get install nodejs")
    require_vendor()
    for f in ("boot.mjs", "node_run.mjs"):
        shutil.copy2(PLAYGROUND / f, tmp_path / f)
    vendor = tmp_path / "vendor"
    shutil.copytree(VENDOR, vendor, ignore=shutil.ignore_patterns("pyodide", "viz", "snapshot.bin.gz"))
    for folder in ("pyodide", "viz"):
        (vendor / folder).symlink_to(VENDOR / folder, target_is_directory=True)
    # The stepper's script, which the snapshot's warm-up reads, padded with 200 KB of a comment that
    # does not compress, as a bigger deltagrad wheel would be.
    wheel = next(vendor.glob("wheels/deltagrad-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    padding = base64.b64encode(random.Random(0).randbytes(150_000))
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in members:
            if info.filename == "viz/static/stepper.js":
                data += b"\n/* " + padding + b" */\n"
            z.writestr(info, data)
    made = subprocess.run([node, str(tmp_path / "node_run.mjs"), "--snapshot"], capture_output=True,
                          text=True, timeout=600)
    assert made.returncode == 0, made.stderr[-3000:]
    snapshot = json.loads(made.stdout)
    # The fault needs a saved heap past the heap a start gives. Comparing with the unpadded snapshot proved
    # nothing: it may be past it already, and heaps grow in steps (CI once met 37,749,136 bytes twice).
    assert snapshot["bytes"] > snapshot["start_bytes"] > 0, f"heap not past the start-up one: {snapshot}"
    program = {"source": "from autodiff import Value\nValue(2.0) * 3", "mode": "python", "page": False}
    out = subprocess.run([node, str(tmp_path / "node_run.mjs")], input=json.dumps([program]),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    run = json.loads(out.stdout)
    assert "snapshot" in run["timings"] and run["results"][0]["value"] == 6.0, run


def test_nothing_vendored_is_committed():
    """Pyodide, Graphviz and the wheels come from `make playground`, never from the repository."""
    git = shutil.which("git")
    require(git is not None and (ROOT / ".git").exists(), "a git checkout", "run from a clone of the project")
    tracked = subprocess.run([git, "ls-files", "playground"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert tracked and "playground/package-lock.json" in tracked
    assert not [f for f in tracked if f.startswith(("playground/vendor/", "playground/node_modules/"))
                or f.endswith((".wasm", ".whl", ".gz"))], tracked


def test_server_sends_a_content_security_policy_and_lists_no_folder():
    from deltagrad.cli import CONTENT_SECURITY_POLICY, playground_server

    require_vendor()
    server = playground_server(port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        for path in ("", "worker.js"):
            with urllib.request.urlopen(base + path) as r:
                assert r.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "connect-src 'self'" in CONTENT_SECURITY_POLICY
        for folder in ("vendor/", "node_modules/", "vendor/wheels/"):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(base + folder)
            assert e.value.code == 404, folder
    finally:
        server.shutdown()
        server.server_close()
