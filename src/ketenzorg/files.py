"""Writing files carefully: atomically, never through a symbolic link, never over a file unasked.

A case file is the only copy of a history that people's safety rests on, so a write that fails
half-way must leave the old file as it was. :func:`write_atomically` writes a temporary file
beside the target (readable by its owner only), flushes it to disk, then renames it over the
target in one step (POSIX ``rename``) and flushes the directory.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from ketenzorg.errors import FileWriteError

__all__ = ["write_atomically"]


def _refuse(path: Path, message: str) -> FileWriteError:
    return FileWriteError(str(path), message)


def write_atomically(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = False) -> None:
    """Write ``data`` to ``path`` all or nothing.

    The target must not be a symbolic link or anything but a regular file; an existing file is
    replaced only with ``overwrite=True`` (else :class:`FileWriteError`). The new file is created
    with mode 0600: case data is for its owner. Raises :class:`FileWriteError` on any failure;
    the target is then unchanged and no temporary file is left behind.
    """
    target = Path(path)
    try:
        info: os.stat_result | None = os.lstat(target)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise _refuse(target, f"cannot be written ({error.strerror})") from None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise _refuse(target, "is a symbolic link; it is not written through (give the real path)")
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(target, "exists and is not a regular file")
        if not overwrite:
            raise _refuse(target, "exists; it is replaced only when asked (--force)")
    directory = target.parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise _refuse(target, f"cannot be written ({error.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if overwrite:
            os.replace(temporary, target)  # rename replaces a link itself, never what it points to
        else:
            _link_new(temporary, target)
        _sync_directory(directory)
    except FileExistsError:
        _discard(temporary)
        raise _refuse(target, "exists; it is replaced only when asked (--force)") from None
    except OSError as error:
        _discard(temporary)
        raise _refuse(target, f"cannot be written ({error.strerror})") from None
    except BaseException:
        _discard(temporary)
        raise


def _link_new(temporary: str, target: Path) -> None:
    """Give the written file its name only if no file has that name (even one made meanwhile)."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: check, then rename (a narrow window)
        if os.path.lexists(target):
            raise FileExistsError(str(target)) from None
        os.replace(temporary, target)
        return
    os.unlink(temporary)


def _discard(temporary: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temporary)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX: fsync the directory)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not possible on this platform; the data itself is on disk
    try:
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
