"""The README's Python examples run, in order, in one namespace, and print what the README says: the
output block that follows an example, and the `# ...` comment after a `print(...)` line."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from tests.conftest import require_dot

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)


def blocks() -> list[tuple[str, str, str | None]]:
    """(language, code, the plain output block right after it or None) for each fenced block."""
    text = README.read_text(encoding="utf-8")
    found = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    out = []
    for i, (lang, code, _, end) in enumerate(found):
        if lang != "python":
            continue
        follows = found[i + 1] if i + 1 < len(found) else None
        output = follows[1] if follows and follows[0] == "" and text[end:follows[2]].strip() == "" else None
        out.append((lang, code, output))
    return out


def promised(code: str) -> list[str]:
    """What the ``# comments`` after ``print(`` lines say is printed."""
    return [line.split("# ", 1)[1].split(",")[0].strip() for line in code.splitlines()
            if line.lstrip().startswith("print(") and "# " in line]


def test_readme_examples_print_what_the_readme_shows(tmp_path, monkeypatch):
    require_dot()
    monkeypatch.chdir(tmp_path)  # the diagram example writes files
    namespace: dict = {}
    examples = blocks()
    assert len(examples) >= 5
    for _, code, output in examples:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(code, str(README), "exec"), namespace)
        printed = buffer.getvalue()
        if output is not None:
            assert printed == output, code
        for text in promised(code):
            assert text in printed, (text, printed)
    assert (tmp_path / "neuron.svg").exists()
    # the MLP example draws the very pictures the README shows (the same texts: names, data and grads)
    for picture in ("mlp.svg", "mlp_collapsed.svg"):
        assert svg_texts(tmp_path / picture) == svg_texts(README.parent / "docs" / picture), picture


def svg_texts(path: Path) -> list[str]:
    return sorted(re.findall(r"<text[^>]*>([^<]*)</text>", path.read_text(encoding="utf-8")))
