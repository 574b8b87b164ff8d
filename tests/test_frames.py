"""Slides: `viz.frames` writes one diagram per step of the pass and an animated GIF, with the "slide"
preset (16:9, large type); `viz.render(..., preset="slide")`; `deltagrad step --frames` and `deltagrad
draw --preset slide`. Checked by structure (node ids, texts, sizes), and the user's graph is untouched."""

from __future__ import annotations

import html
import re

import pytest

from autodiff import Value, Walkthrough, topological_order
from deltagrad.cli import main
from tests.conftest import IN_CI, diamond, require, require_dot


def require_pillow():
    try:
        from PIL import Image
    except ImportError:
        Image = None
    require(Image is not None, "Pillow", "pip install 'deltagrad[slides]'")
    return Image


def node_text(svg: str, node_id: str) -> str:
    """The visible text of the SVG group with this id."""
    m = re.search(rf'<g id="{node_id}" class="node">(.*?)</g>', svg, re.S)
    assert m, node_id
    return " ".join(html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", m.group(1)))


def test_one_svg_frame_per_step_showing_what_is_known_then(tmp_path):
    require_dot()
    from viz import frames

    d, a, b, c = diamond()
    paths = frames(d, tmp_path, "svg", gif=False)
    n = len(Walkthrough(diamond()[0]))
    assert [p.name for p in paths] == [f"frame_{k:03d}.svg" for k in range(n)]
    order = topological_order(d)
    root_id, leaf_id = f"n{order.index(d)}", f"n{order.index(a)}"
    first, last = paths[0].read_text(), paths[-1].read_text()
    assert "data ?" in node_text(first, root_id) and "data 0.3" in node_text(first, leaf_id)
    assert "grad —" in node_text(first, leaf_id)
    assert "?" not in node_text(last, root_id) and "—" not in node_text(last, leaf_id)
    fresh = diamond()[0]
    fresh.backward()
    assert f"grad {fresh.parents[0].parents[0].grad:.4g}" in node_text(last, leaf_id)
    # each forward frame computes one more value; the step's text is the caption
    pending = [sum(node_text(p.read_text(), f"n{i}").count("data ?") for i in range(len(order)))
               for p in paths]
    interior = sum(not v.is_leaf for v in order)
    assert pending[:interior + 1] == list(range(interior, -1, -1)) and set(pending[interior:]) == {0}
    assert "backward begins" in paths[interior + 1].read_text()


def test_the_current_node_is_outlined(tmp_path):
    require_dot()
    from viz import frames

    d = diamond()[0]
    paths = frames(d, tmp_path, "svg", gif=False, preset=None)
    order = topological_order(d)
    seed = paths[sum(not v.is_leaf for v in order) + 1].read_text()
    group = re.search(rf'<g id="n{order.index(d)}" class="node">(.*?)</g>', seed, re.S).group(1)
    assert "#d62728" in group


def test_the_users_graph_is_left_as_it_was(tmp_path):
    require_dot()
    from viz import frames

    x = Value(0.5, "x")
    y = (x * x).tanh()
    frames(y, tmp_path, "svg", gif=False)
    assert not x.has_grad and not y.has_grad and x.data == 0.5
    y.backward()
    before = (x.grad, y.grad, y.data)
    frames(y, tmp_path, "svg", gif=False)
    assert (x.grad, y.grad, y.data) == before


def test_png_frames_and_the_animated_gif_at_slide_size(tmp_path):
    require_dot()
    Image = require_pillow()
    from viz import frames

    x, w = Value(2.0, "x"), Value(-1.5, "w")
    y = (x * w).sigmoid()
    paths = frames(y, tmp_path, "png")
    n = len(Walkthrough((Value(2.0) * Value(-1.5)).sigmoid()))
    assert len(paths) == n + 1 and paths[-1].name == "pass.gif"
    for p in paths[:-1]:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size == (1920, 1080)
    with Image.open(paths[-1]) as gif:
        assert gif.format == "GIF" and gif.is_animated and gif.n_frames == n
        assert gif.size == (1920, 1080)


def test_render_with_the_slide_preset(tmp_path):
    require_dot()
    Image = require_pillow()
    from viz import render
    from viz.presets import PRESETS

    y = (Value(2.0, "x") * Value(-3.0, "w")).tanh()
    plain = render(y, tmp_path / "plain.png")
    slide = render(y, tmp_path / "slide.png", preset="slide")
    with Image.open(plain) as a, Image.open(slide) as b:
        assert a.height < 400 and b.height == 1080 and abs(b.width / b.height - 16 / 9) < 0.02
    dot = render(y, tmp_path / "slide.dot", preset="slide").read_text()
    assert 'size="16,9!"' in dot and f'fontsize={PRESETS["slide"].node["fontsize"]}' in dot
    with pytest.raises(ValueError, match="unknown diagram preset 'poster'; choose one of slide"):
        render(y, tmp_path / "x.svg", preset="poster")


def test_bad_arguments(tmp_path):
    from viz import frames

    y = Value(1.0) * Value(2.0)
    with pytest.raises(ValueError, match="format must be 'svg' or 'png'"):
        frames(y, tmp_path, "gif")
    (tmp_path / "a file").write_text("")
    with pytest.raises(ValueError, match="is a file; give a folder"):
        frames(y, tmp_path / "a file")
    with pytest.raises(TypeError, match="needs a Value"):
        frames(2.0, tmp_path)


def test_step_frames_and_draw_preset_commands(tmp_path, capsys):
    require_dot()
    if IN_CI:
        require_pillow()
    out = tmp_path / "slides"
    gif = ["--no-gif"] if not _has_pillow() else []
    assert main(["step", "x*w + b", "x=2", "w=-3", "b=1", "--frames", str(out), *gif]) == 0
    assert sorted(p.name for p in out.glob("frame_*.svg")) == [f"frame_{k:03d}.svg" for k in range(6)]
    assert (out / "pass.gif").exists() == (not gif)
    assert "wrote 6 frames" in capsys.readouterr().out
    assert main(["step", "x*w", "x=2", "w=-3", "--frames", str(out), "--html", str(tmp_path / "a.html")]) == 2
    assert "give one" in capsys.readouterr().err
    assert main(["draw", "x*w", "x=2", "w=-3", "--preset", "slide", "-o", str(tmp_path / "s.dot")]) == 0
    assert 'size="16,9!"' in (tmp_path / "s.dot").read_text()   # the slide preset's attributes


def _has_pillow() -> bool:
    try:
        import PIL  # noqa: F401
    except ImportError:
        return False
    return True


def test_every_name_a_caption_uses_is_on_the_diagram(tmp_path):
    require_dot()
    from viz import frames

    x1, w1, x2, w2 = Value(2.0, "x1"), Value(-3.0, "w1"), Value(0.0, "x2"), Value(1.0, "w2")
    y = x1 * w1 + x2 * w2
    walk = Walkthrough(x1 * w1 + x2 * w2)
    paths = frames(y, tmp_path, "svg", gif=False)
    assert y.label == "" or y.label is None  # the user's nodes keep their (absent) labels
    used = set()
    for k, path in enumerate(paths):
        svg = path.read_text()
        names = set(re.findall(r"([A-Za-z_][\w@]*)\.(?:grad|data)\b", walk.text(k)))
        shown = {html.unescape(t) for t in re.findall(r">([^<>]+)</text>", svg)}
        assert names <= shown, (k, names - shown)
        used |= names
    assert {"v2", "v5", "v6"} <= used


def test_a_missing_folder_is_created_as_by_the_command(tmp_path):
    require_dot()
    from viz import frames

    paths = frames(Value(1.0, "a") * Value(2.0, "b"), tmp_path / "new" / "again", gif=False)
    assert paths[0].parent == tmp_path / "new" / "again" and all(p.exists() for p in paths)


def test_empty_folders_and_plain_with_frames_are_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["step", "x*x", "x=3", "--frames", ""]) == 2
    assert "--frames is empty" in capsys.readouterr().err
    assert main(["step", "x*x", "x=3", "--frames", "out", "--plain"]) == 2
    assert "--plain" in capsys.readouterr().err and not (tmp_path / "out").exists()
    assert main(["exercise", "--doc", "004", "-o", ""]) == 2
    assert "-o is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_frames_are_numbered_from_one_as_the_page_and_the_terminal_count(tmp_path):
    # issue 14: `step --frames` captioned "frame 0/11" .. "frame 11/11" while the page counts 1/12 .. 12/12
    require_dot()
    out = tmp_path / "fr"
    assert main(["step", "n = x1*w1 + x2*w2 + b; o = tanh(n)", "x1=2", "x2=0", "w1=-3", "w2=1", "b=6.88",
                 "--frames", str(out), "--no-gif"]) == 0
    paths = sorted(out.glob("frame_*.svg"))
    captions = [re.findall(r"frame (\d+)/(\d+)", html.unescape(p.read_text()))[0] for p in paths]
    assert len(paths) == 12 and captions == [(str(k), "12") for k in range(1, 13)]
