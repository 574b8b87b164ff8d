"""`autodiff.files.write_atomic` (issue 18, item 6): all or nothing, no temporary file left behind on
an error, an interrupt or a kill, names near the file-system limit, links written through, read-only
files refused, and every writer of the project going through it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import nn
from autodiff.files import TEMP_SUFFIX, write_atomic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_writes_text_and_bytes_and_replaces(tmp_path):
    path = tmp_path / "a.txt"
    assert write_atomic(path, "héllo\n") == path
    assert path.read_bytes() == "héllo\n".encode()
    write_atomic(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert os.listdir(tmp_path) == ["a.txt"]


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_an_interrupted_write_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch, error):
    path = tmp_path / "page.html"
    path.write_text("old page " * 1000)

    def fail(fd):  # after every byte went to the temporary file, before the rename
        raise error("interrupted")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(error):
        write_atomic(path, "new page " * 10_000)
    monkeypatch.undo()
    assert path.read_text() == "old page " * 1000
    assert os.listdir(tmp_path) == ["page.html"]


def test_name_at_the_file_system_limit(tmp_path):
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    for name in ["m" * (limit - 5) + ".json", "é" * ((limit - 5) // 2) + ".json"]:
        assert len(name.encode()) <= limit
        write_atomic(tmp_path / name, "{}")
        assert (tmp_path / name).read_text() == "{}"
    assert len(os.listdir(tmp_path)) == 2
    model = nn.MLP(2, [2, 1], rng=0)
    model.save(tmp_path / ("s" * (limit - 5) + ".json"))
    nn.MLP(2, [2, 1], rng=1).load(tmp_path / ("s" * (limit - 5) + ".json"))


def test_a_symbolic_link_is_written_through(tmp_path):
    target = tmp_path / "real" / "model.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new"
    nn.MLP(2, [1], rng=0).save(link)
    assert link.is_symlink() and target.read_text().startswith("{")
    assert sorted(os.listdir(target.parent)) == ["model.json"]


def test_a_read_only_file_is_refused_and_unchanged(tmp_path):
    path = tmp_path / "frozen.json"
    path.write_text("keep me")
    path.chmod(0o444)
    with pytest.raises(PermissionError, match="frozen.json.*read-only"):
        write_atomic(path, "overwritten")
    with pytest.raises(PermissionError, match="read-only"):
        nn.MLP(2, [1], rng=0).save(path)
    assert path.read_text() == "keep me"
    assert os.listdir(tmp_path) == ["frozen.json"]


def test_not_a_regular_file_or_no_folder(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ValueError, match="not a regular file"):
        write_atomic(tmp_path / "pipe", "x")
    with pytest.raises(IsADirectoryError, match="folder"):
        write_atomic(tmp_path, "x")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_atomic(tmp_path / "missing" / "x.txt", "x")
    with pytest.raises(ValueError, match="UTF-8"):
        write_atomic(tmp_path / "s.txt", "lone \udc80 surrogate")
    assert os.listdir(tmp_path) == ["pipe"]


def test_the_mode_is_kept(tmp_path):
    path = tmp_path / "m.txt"
    write_atomic(path, "a")
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o600)
    write_atomic(path, "b")
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_dead_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".model.json.{dead.pid}.abc123{TEMP_SUFFIX}"
    stale.write_text("half a file")
    alive = tmp_path / f".model.json.{os.getppid()}.def456{TEMP_SUFFIX}"  # a running process's: kept
    alive.write_text("being written")
    other = tmp_path / f".other.json.{dead.pid}.abc123{TEMP_SUFFIX}"     # another file's: not ours
    other.write_text("x")
    write_atomic(tmp_path / "model.json", "{}")
    assert sorted(os.listdir(tmp_path)) == sorted(["model.json", alive.name, other.name])


def test_kills_during_save_leave_no_temporary_files(tmp_path):
    """SIGKILL a process that saves a model over and over, many times; one more save then leaves the
    folder holding the model file alone (the issue found 172 MB of temporary files after 60 kills)."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {ROOT!r})
        import nn
        model = nn.MLP(2, [100, 100, 1], rng=0)
        print("ready", flush=True)
        while True:
            model.save({str(tmp_path / 'model.json')!r})
    """)
    for k in range(8):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(0.05 + 0.03 * k)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    nn.MLP(2, [100, 100, 1], rng=1).save(tmp_path / "model.json")
    assert os.listdir(tmp_path) == ["model.json"]
    nn.MLP(2, [100, 100, 1], rng=2).load(tmp_path / "model.json")


# ---- every writer of the project goes through write_atomic ---------------------------------------

def _read_only(path, content: bytes = b"keep me"):
    path.write_bytes(content)
    path.chmod(0o444)
    return path


def test_diagram_and_stepper_page_writes_are_atomic(tmp_path):
    from tests.conftest import classic_neuron, require_dot
    require_dot()
    from viz.draw import render
    from viz.step_html import step_html

    root, _ = classic_neuron()
    for name, write in [("d.svg", lambda p: render(root, p)), ("p.html", lambda p: step_html(root, p))]:
        frozen = _read_only(tmp_path / name)
        with pytest.raises(PermissionError, match="read-only"):
            write(frozen)
        assert frozen.read_bytes() == b"keep me"
        target = tmp_path / f"real-{name}"
        target.write_text("old")
        link = tmp_path / f"link-{name}"
        link.symlink_to(target)
        write(link)
        assert link.is_symlink() and "<svg" in target.read_text()
    assert not [n for n in os.listdir(tmp_path) if n.endswith(TEMP_SUFFIX)]


def test_matplotlib_plots_are_written_atomically(tmp_path, capsys):
    from tests.conftest import require
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        matplotlib = None
    require(matplotlib is not None, "matplotlib", "pip install 'deltagrad[plot]'")
    from deltagrad.cli import main

    frozen = _read_only(tmp_path / "frozen.png")
    argv = ["train", "moons", "--epochs", "1", "--samples", "10", "--hidden", "2", "-q", "-o"]
    assert main([*argv, str(frozen)]) == 2
    assert "read-only" in capsys.readouterr().err
    assert frozen.read_bytes() == b"keep me"
    target = tmp_path / "real.png"
    target.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    assert main([*argv, str(link)]) == 0
    assert link.is_symlink() and target.read_bytes().startswith(b"\x89PNG")

    sys.path.insert(0, os.path.join(ROOT, "examples"))
    try:
        import newton
    finally:
        sys.path.pop(0)
    runs = [newton.descend("gradient descent", (-1.0, 2.0), 1e-8, 5, newton=False)]
    with pytest.raises(PermissionError, match="read-only"):
        newton.plot(runs, frozen)
    assert frozen.read_bytes() == b"keep me"
    assert not [n for n in os.listdir(tmp_path) if n.endswith(TEMP_SUFFIX)]


def test_the_command_line_removes_its_temporary_file_when_terminated(tmp_path):
    """`kill` (SIGTERM) while `deltagrad train -o` writes its plot: the old plot stays, no temporary
    file is left. The child's fsync is made slow, which holds the write open long enough to be hit."""
    plot = tmp_path / "moons.png"
    plot.write_bytes(b"old plot")
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {ROOT!r})
        from deltagrad.cli import main
        os.fsync = lambda fd: time.sleep(60)   # a very slow disk
        sys.exit(main(["train", "moons", "--epochs", "1", "--samples", "10", "--hidden", "2", "-q",
                       "-o", {str(plot)!r}]))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not [n for n in os.listdir(tmp_path) if n.endswith(TEMP_SUFFIX)]:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.terminate()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert b"Traceback" not in err
    assert os.listdir(tmp_path) == ["moons.png"] and plot.read_bytes() == b"old plot"


def test_slide_frames_are_written_atomically(tmp_path):
    from tests.conftest import classic_neuron, require_dot
    require_dot()
    from viz.frames import frames

    root, _ = classic_neuron()
    frozen = _read_only(tmp_path / "frame_000.svg")
    with pytest.raises(PermissionError, match="read-only"):
        frames(root, tmp_path, "svg", gif=False)
    assert frozen.read_bytes() == b"keep me"
    assert not [n for n in os.listdir(tmp_path) if n.endswith(TEMP_SUFFIX)]
