"""Whether the playground's vendor/ (made by `make playground`) is usable: present, with its snapshot, and
built from the source as it is now.  One check for `deltagrad playground`, the site hook and the tests."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the wheel and the snapshot in vendor/ are made from: an edit to any of these needs a new build.
SOURCES = ("autodiff", "nn", "viz", "playground/runner.py")


def source_digest(root: Path = ROOT) -> str:
    """The sha256 (hex) over the names and contents of the git-tracked files under ``SOURCES`` in
    ``root``, as build.py writes it to vendor/manifest.json["source"]."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--", *SOURCES], cwd=root, capture_output=True,
                                check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file under them
        paths = [p for s in SOURCES for p in ([root / s] if (root / s).is_file() else (root / s).rglob("*"))]
        listed = [str(p.relative_to(root)) for p in paths if "__pycache__" not in p.parts]
    digest = hashlib.sha256()
    for name in sorted(set(n for n in listed if n and (root / n).is_file())):
        data = (root / name).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def vendor_problem(playground: Path) -> str | None:
    """Why ``playground``/vendor cannot serve the page as the source now stands (missing, without its
    snapshot, or built from other source), ending with what to run; None when it is usable."""
    vendor = playground / "vendor"
    if not (vendor / "manifest.json").is_file():
        return (f"{vendor} is missing: run `make playground` in the checkout first (it needs npm: "
                "apt-get install npm) to fetch Pyodide and Graphviz and build the wheels")
    if not (vendor / "snapshot.bin.gz").is_file():
        return (f"{vendor} has no snapshot.bin.gz (the page starts Python from it): it was built by an older "
                "version; run `make playground` again")
    try:
        built_from = json.loads((vendor / "manifest.json").read_text(encoding="utf-8")).get("source")
    except (ValueError, AttributeError):
        built_from = None
    if built_from != source_digest(playground.parent):
        return (f"{vendor} was built from other source than autodiff/, nn/, viz/ and playground/runner.py "
                "are now, so the page would run the old code: run `make playground`")
    return None
