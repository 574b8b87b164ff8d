"""Fill playground/vendor/ (what `make playground` runs after `npm ci`): Pyodide and Graphviz-in-WebAssembly
from node_modules (pinned in package-lock.json), the project's own wheel and the pure-Python wheels its code
needs in Pyodide, a manifest, and the snapshot of Python's memory with the runner imported, which the page
restores instead of starting Python.  Nothing here is committed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from deltagrad.playground import source_digest  # noqa: E402

# What `import autodiff, nn, viz` and the stepper page need besides the standard library, pinned.
# graphviz builds the DOT text (viz.draw); jinja2 and markupsafe assemble the stepper page (issue 14).
PURE_WHEELS = {"graphviz": "0.21", "jinja2": "3.1.6"}
# MarkupSafe publishes compiled wheels only; its pure-Python fallback comes from the sdist.
PURE_FROM_SDIST = {"markupsafe": "3.0.3"}

# The files the Node runner needs beside vendor/ to take the snapshot (runner.py is read from vendor/, so
# that the page runs the runner its snapshot holds).
SNAPSHOT_INPUTS = ("boot.mjs", "node_run.mjs")

PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json")


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args, "--quiet", "--disable-pip-version-check"], check=True)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def pure_wheel_from_sdist(sdist: Path, out: Path) -> Path:
    """A py3-none-any wheel of the Python files of ``sdist`` (a src/ layout .tar.gz), without its C
    speedups: the package's own fallback is then what runs."""
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        top = members[0].name.split("/")[0]
        name, version = top.rsplit("-", 1)
        files = {}
        for m in members:
            parts = m.name.split("/")
            if len(parts) > 3 and parts[1] == "src" and parts[-1].endswith((".py", ".typed")):
                files["/".join(parts[2:])] = tar.extractfile(m).read()
        pkg_info = tar.extractfile(f"{top}/PKG-INFO").read()
    dist_info = f"{name}-{version}.dist-info"
    files[f"{dist_info}/METADATA"] = pkg_info
    files[f"{dist_info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: deltagrad playground/build.py\n"
                                   b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = [_record_line(k, v) for k, v in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = out / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in sorted(files.items()):
            z.writestr(k, v)
    return path


def build(vendor: Path, node_modules: Path) -> dict:
    """Write ``vendor`` anew (into a temporary folder, renamed into place at the end) and return its
    manifest."""
    missing = [f for f in PYODIDE_FILES if not (node_modules / "pyodide" / f).is_file()]
    viz_js = node_modules / "@viz-js" / "viz" / "dist" / "viz.js"
    if missing or not viz_js.is_file():
        raise SystemExit(f"build.py: {node_modules} lacks Pyodide or @viz-js/viz; run `npm ci` in "
                         f"{HERE} first (or `make playground`)")
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise SystemExit("build.py: Node.js is missing (apt-get install nodejs): it takes the snapshot the "
                         "page starts from")
    # vendor/ is made inside a scratch copy of the playground (the snapshot is taken there), then renamed
    # into place: a failed build leaves the old vendor/ as it was.
    scratch = Path(tempfile.mkdtemp(prefix=".vendor-", dir=vendor.parent))
    tmp = scratch / "vendor"
    try:
        tmp.mkdir(mode=0o755)
        # Taken before the wheel is built: an edit made during the build then makes vendor/ stale.
        source = source_digest(ROOT)
        shutil.copy2(HERE / "runner.py", tmp / "runner.py")
        (tmp / "pyodide").mkdir()
        for f in PYODIDE_FILES:
            shutil.copy2(node_modules / "pyodide" / f, tmp / "pyodide" / f)
        (tmp / "viz").mkdir()
        shutil.copy2(viz_js, tmp / "viz" / "viz.js")
        wheels = tmp / "wheels"
        wheels.mkdir()
        _pip("wheel", "--no-deps", "--wheel-dir", str(wheels), str(ROOT))
        _pip("download", "--no-deps", "--only-binary", ":all:", "--dest", str(wheels),
             *(f"{k}=={v}" for k, v in PURE_WHEELS.items()))
        with tempfile.TemporaryDirectory() as sdists:
            _pip("download", "--no-deps", "--no-binary", ":all:", "--dest", sdists,
                 *(f"{k}=={v}" for k, v in PURE_FROM_SDIST.items()))
            for sdist in Path(sdists).glob("*.tar.gz"):
                pure_wheel_from_sdist(sdist, wheels)
        versions = {p: json.loads((node_modules / p / "package.json").read_text())["version"]
                    for p in ("pyodide", "@viz-js/viz")}
        sys.path.insert(0, str(HERE))
        from runner import EXAMPLES

        examples = {name: {"title": t, "mode": m, "source": src} for name, (t, m, src) in EXAMPLES.items()}
        (tmp / "examples.json").write_text(json.dumps(examples, indent=1, ensure_ascii=False) + "\n")
        manifest = {"wheels": sorted(p.name for p in wheels.glob("*.whl")), "versions": versions,
                    "source": source}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        take_snapshot(node, scratch)
        if vendor.exists():
            shutil.rmtree(vendor)
        tmp.rename(vendor)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest


def take_snapshot(node: str, scratch: Path) -> None:
    """Start Python cold in Pyodide under Node, import the runner, and write the heap's snapshot to
    ``scratch``/vendor/snapshot.bin.gz: the page restores it instead of starting Python (4 s of CPU here)."""
    for f in SNAPSHOT_INPUTS:
        shutil.copy2(HERE / f, scratch / f)
    out = subprocess.run([node, str(scratch / "node_run.mjs"), "--snapshot"], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"build.py: taking the Pyodide snapshot failed:\n{out.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vendor", type=Path, default=HERE / "vendor")
    parser.add_argument("--node-modules", type=Path, default=HERE / "node_modules")
    args = parser.parse_args()
    manifest = build(args.vendor, args.node_modules)
    size = sum(f.stat().st_size for f in args.vendor.rglob("*") if f.is_file())
    print(f"playground/vendor: {len(manifest['wheels'])} wheels, Pyodide {manifest['versions']['pyodide']}, "
          f"@viz-js/viz {manifest['versions']['@viz-js/viz']}, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
