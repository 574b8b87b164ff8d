"""MkDocs hook: copy the in-browser playground (the page, and the vendor/ that `make playground` fills) into
the built site at playground/app/, beside its guide page, so the site serves it from its own host."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from deltagrad.playground import vendor_problem

PLAYGROUND = Path(__file__).resolve().parent.parent.parent / "playground"
# What the page loads besides vendor/ (build.py, bench.py, node_run.mjs and node_modules stay out).
PAGE_FILES = ("index.html", "app.js", "style.css", "worker.js", "boot.mjs")

log = logging.getLogger("mkdocs.hooks.playground")


def on_post_build(config, **kwargs) -> None:
    out = Path(config["site_dir"]) / "playground" / "app"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in PAGE_FILES:
        shutil.copy2(PLAYGROUND / name, out / name)
    vendor = PLAYGROUND / "vendor"
    problem = vendor_problem(PLAYGROUND)
    if (vendor / "manifest.json").is_file():
        shutil.copytree(vendor, out / "vendor")
        if problem is not None:  # a warning: `mkdocs build --strict` stops on it
            log.warning("the site's playground: %s", problem)
    else:  # the page then says it could not start Python and that `make playground` was not run
        log.info("the site's playground cannot start: %s", problem)
