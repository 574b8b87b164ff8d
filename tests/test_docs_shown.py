"""docs/verify.md and docs/teaching.md show real output: each ```console block (``$ deltagrad ...`` and what
it prints) and each ```python block followed by a plain output block is run again, in one folder per
document, and must print what the page shows. ``UPDATE_DOCS=1`` rewrites the shown output (and copies
the images the pages name in ``<!-- image: FROM -> TO -->``) from these runs instead of comparing."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from deltagrad.cli import main
from tests.conftest import require_dot

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ("verify.md", "teaching.md", "compile.md")
UPDATE = os.environ.get("UPDATE_DOCS", "") not in ("", "0")
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)
IMAGE = re.compile(r"<!-- image: (\S+) -> (\S+) -->")


def _run_command(line: str) -> str:
    argv = shlex.split(line)
    assert argv[0] == "deltagrad", line
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv[1:])
    text = out.getvalue() + err.getvalue()
    return text + (f"[exit status {code}]\n" if code else "")


def _run(page: str) -> tuple[str, list[tuple[str, str]]]:
    """The page with every shown output as this run prints it, and (shown, printed) pairs."""
    text = (DOCS / page).read_text(encoding="utf-8")
    blocks = list(BLOCK.finditer(text))
    namespace: dict = {"__name__": "docs"}
    pieces, pairs, last = [], [], 0
    skip = set()
    for i, m in enumerate(blocks):
        if i in skip:
            continue
        lang, body = m.group(1), m.group(2)
        if lang == "console":
            first, _, shown = body.partition("\n")
            printed = _run_command(first.removeprefix("$ "))
            pieces += [text[last:m.start(2)], f"{first}\n{printed}"]
            last = m.end(2)
            pairs.append((shown, printed))
        elif lang == "python":
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                exec(compile(body, f"docs/{page}", "exec"), namespace)
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            if nxt is not None and nxt.group(1) == "" and text[m.end():nxt.start()].strip() == "":
                skip.add(i + 1)
                pieces += [text[last:nxt.start(2)], buffer.getvalue()]
                last = nxt.end(2)
                pairs.append((nxt.group(2), buffer.getvalue()))
    pieces.append(text[last:])
    return "".join(pieces), pairs


@pytest.mark.parametrize("page", PAGES)
def test_the_page_shows_what_the_commands_print(page, tmp_path, monkeypatch):
    require_dot()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "110")
    updated, pairs = _run(page)
    assert pairs, f"docs/{page} shows no output"
    if UPDATE:
        (DOCS / page).write_text(updated, encoding="utf-8")
        for source, target in IMAGE.findall(updated):
            shutil.copyfile(tmp_path / source, DOCS / target)
        return
    for shown, printed in pairs:
        assert shown == printed
    for _, target in IMAGE.findall(updated):
        assert (DOCS / target).exists(), target
