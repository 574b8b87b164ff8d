"""An atomic write that fails names the path the user gave, never the temporary file beside it (QA of
issue 12, item 8: `deltagrad draw ... -o /proc/nope.svg` said "cannot write /proc/.nope.svg.5688....
deltagrad-tmp"); the error keeps its type and errno, and nothing is left behind."""

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autodiff.files import TEMP_SUFFIX, write_atomic

needs_proc = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")


@needs_proc
def test_a_folder_that_takes_no_files_names_the_users_path():
    with pytest.raises(FileNotFoundError) as e:
        write_atomic("/proc/nope.svg", "x")
    message = str(e.value)
    assert message.startswith("write '/proc/nope.svg': No such file or directory")
    assert TEMP_SUFFIX not in message and ".nope.svg." not in message
    assert e.value.errno == errno.ENOENT


@needs_proc
def test_the_command_line_names_the_users_path():
    command = [sys.executable, "-m", "deltagrad", "draw", "relu(x)", "x=0", "-o", "/proc/nope.svg"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "write '/proc/nope.svg': No such file or directory" in run.stderr
    assert TEMP_SUFFIX not in run.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE and SIGXFSZ as on Linux")
def test_a_write_cut_short_names_the_users_path_and_leaves_nothing(tmp_path):
    # a real short write: the file-size limit makes write(2) fail with EFBIG midway
    target = tmp_path / "model.json"
    target.write_text("old\n")
    code = textwrap.dedent(f"""
        import resource, signal
        from autodiff.files import write_atomic
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
        try:
            write_atomic({str(target)!r}, "x" * 100_000)
        except OSError as e:
            print(type(e).__name__, e.errno)
            print(e)
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    kind, message = run.stdout.splitlines()
    assert kind == f"OSError {errno.EFBIG}"
    assert message.startswith(f"write {str(target)!r}: File too large") and TEMP_SUFFIX not in message
    assert target.read_text() == "old\n"                     # the old file, whole
    assert os.listdir(tmp_path) == ["model.json"]            # and no temporary file left
