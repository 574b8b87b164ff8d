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


NUMBER = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:e[+-]?\d+)?", re.I)


def same_output(shown: str, printed: str) -> bool:
    """Whether ``printed`` is what the page shows, but for the last bits of its numbers: the same text
    around the numbers, and each number within 1e-12 relative (1e-15 absolute) of the one shown. The
    closed forms' numpy products add in an order OpenBLAS picks for the CPU, so their 17th digit (and a
    |diff| of 3.5e-18 against 0.0) changes from one machine to another; a change of the page's meaning
    does not hide below that."""
    if NUMBER.sub("#", shown) != NUMBER.sub("#", printed):
        return False
    numbers = zip(NUMBER.findall(shown), NUMBER.findall(printed), strict=True)
    pairs = [(float(a), float(b)) for a, b in numbers]
    return all(abs(a - b) <= 1e-15 + 1e-12 * max(abs(a), abs(b)) for a, b in pairs)


def test_same_output_forgives_the_last_bits_only():
    assert same_output("  +2.7851721819274200e-02    3.5e-18", "  +2.7851721819274203e-02    0.0e+00")
    assert not same_output("agree at 201 points", "agree at 202 points")
    assert not same_output("|diff| 0.695, relative 0.82", "|diff| 0.695, relative 0.83")
    assert not same_output("engine 0.5", "engine -0.5") and not same_output("x=1", "x=1,")


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
        assert shown == printed or same_output(shown, printed), (shown, printed)
    for _, target in IMAGE.findall(updated):
        assert (DOCS / target).exists(), target


def test_stepper_page_gives_the_readme_networks_sizes_as_built():
    """docs/stepper.md gave the README network's one-point loss as "1,596 nodes, 2,508 frames" long after
    the graph had shrunk (issue 14): its figures are now those the tests' graphs have when built."""
    from autodiff import topological_order
    from tests.test_step_html_levels import l2_by_hand, mlp_loss
    from tests.test_stepper_terminal import readme_walks

    text = " ".join((DOCS / "stepper.md").read_text(encoding="utf-8").split())
    walks = readme_walks()
    eager, fused, batched = walks["eager"], walks["fused"], walks["batched"]
    sizes = (f"hinge plus `nn.l2`: {len(eager.order):,} nodes, {len(eager):,} frames; "
             f"fused {len(fused.order):,} nodes, batched {len(batched.order):,})")
    assert sizes in text
    written_out = len(topological_order(mlp_loss(l2=l2_by_hand)[0]))
    assert f"loss with its L2 term written out ({written_out:,} nodes)" in text
