"""`write_atomic`: how every file deltagrad writes is written. A reader sees the old file or the whole
new one, never a part; a failed or interrupted write leaves no temporary file behind.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

__all__ = ["write_atomic", "TEMP_SUFFIX"]

# Temporary files are `.<name>.<pid>.<random>.deltagrad-tmp` in the target's own folder (a rename
# is atomic only within one file system). The pid lets a later write remove what a killed one left.
TEMP_SUFFIX = ".deltagrad-tmp"
_NAME_BYTES = 120  # of the target's name kept in the temporary name: stays well under NAME_MAX (255)


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text is encoded as UTF-8) to ``path`` atomically; return the path written.

    The data goes to a temporary file in the same folder, is flushed to disk (fsync) and renamed over
    ``path`` (POSIX rename(2) replaces atomically). A symbolic link is written through: its target is
    replaced, the link stays. An existing file keeps its permission bits; a new one gets 0644.
    The temporary file is removed on any error or KeyboardInterrupt; those left by a killed process
    (its pid no longer running) are removed by the next write to the same path.

    Raises `FileNotFoundError` (no such folder), `IsADirectoryError`, `PermissionError` (a read-only
    file, checked by its mode bits so that it holds for root too, or an unwritable folder),
    `ValueError` (an empty path or one ending in a slash, the target is not a regular file, or text
    that cannot be encoded); each names the path and what to do. Any other `OSError` (a full disk, a
    folder that takes no new files) keeps its type and errno and names the path given, not the
    temporary file's. Nothing is written then.
    """
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(f"write {os.fspath(path)!r}: the text cannot be written as UTF-8 "
                             f"({e.reason} at character {e.start}); remove that character") from None
    elif not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"write_atomic: data must be str or bytes, got {type(data).__name__}")
    shown = os.fspath(path)
    if not shown or shown.endswith(("/", os.sep)):  # realpath would drop the slash, "" be the cwd
        raise ValueError(f"write {shown!r}: " + ("the path is empty; give a file name" if not shown else
                         "the path ends with a slash, which names a folder; drop the slash to write a "
                         "file"))
    target = Path(os.path.realpath(path))  # through every symbolic link, to the file really written
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"write {os.fspath(path)!r}: the folder {str(folder)!r} does not "
                                "exist; create it first")
    mode = _existing_mode(target, os.fspath(path))
    _remove_stale(folder, target.name)
    fd, tmp = _temp_file(folder, target.name, os.fspath(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as e:  # a full disk, a rename refused, ...: named by the user's path, not the temporary
        raise _named(e, shown, folder) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
    _sync_folder(folder)
    return Path(path)


def _existing_mode(target: Path, shown: str) -> int:
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return 0o644
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"write {shown!r}: that is a folder; give a file name inside it")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"write {shown!r}: that is not a regular file (a pipe, socket or device); "
                         "give the name of a regular file")
    if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise PermissionError(f"write {shown!r}: the file is read-only; make it writable "
                              "(chmod u+w) or choose another name")
    return stat.S_IMODE(st.st_mode)


def _temp_file(folder: Path, name: str, shown: str) -> tuple[int, str]:
    short = name.encode("utf-8", "surrogateescape")[:_NAME_BYTES].decode("utf-8", "ignore")
    try:
        return tempfile.mkstemp(prefix=f".{short}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=folder)
    except PermissionError:
        raise PermissionError(f"write {shown!r}: cannot create a file in {str(folder)!r} (permission "
                              "denied); choose a folder you can write to") from None
    except OSError as e:  # a folder that takes no new files (/proc, a read-only file system, ...)
        raise _named(e, shown, folder) from None


def _named(error: OSError, shown: str, folder: Path) -> OSError:
    """``error`` (same type and errno) saying the path the user gave, not the temporary file's."""
    reason = error.strerror or str(error)
    named = type(error)(f"write {shown!r}: {reason} (deltagrad writes a temporary file in "
                        f"{str(folder)!r} and renames it over the file; that failed, so nothing was "
                        "written); choose another folder or free some space")
    named.errno = error.errno
    return named


def _remove_stale(folder: Path, name: str) -> None:
    """Remove the temporary files of ``name`` that a process which is no longer running left."""
    short = name.encode("utf-8", "surrogateescape")[:_NAME_BYTES].decode("utf-8", "ignore")
    pattern = re.compile(re.escape(f".{short}.") + r"(\d+)\.[^.]+" + re.escape(TEMP_SUFFIX))
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match and not _running(int(match.group(1))):
            try:
                os.unlink(folder / entry)
            except OSError:
                pass


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing it now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process: leave its file alone
    return True


def _sync_folder(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk; not every system allows it.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
