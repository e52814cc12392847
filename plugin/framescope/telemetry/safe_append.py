"""Appending one line to a shared file so that a failure never tears the lines around it.

A full disk or a quota can make ``write`` fail after part of a line reached the file.  Left
there, the partial line glues itself to the next batch and both become unreadable JSON;
worse, readers that stop at the first bad line lose every run after it.  So a failed or
short write is undone by truncating the file back to where the line began, and a line is
never appended to a torn tail a killed writer left behind: a newline goes first.
"""

from __future__ import annotations

import os

__all__ = ["append_line"]

#: The write call, a module attribute so fault-injection tests can replace it (a full disk).
write = os.write


def append_line(fd: int, data: bytes) -> None:
    """Append ``data`` (one ``\\n``-terminated line) to the ``O_APPEND`` file ``fd``, whole or not at all.

    On failure the file is truncated back to its size before the write and the original
    ``OSError`` is raised; the caller counts the lost spans.
    """
    start = os.fstat(fd).st_size
    if start and not _ends_with_newline(fd, start):
        data = b"\n" + data  # a torn line from a killed writer: end it before ours
    written = 0
    try:
        while written < len(data):
            count = write(fd, data[written:] if written else data)
            if count <= 0:
                raise OSError(f"write wrote {count} bytes of {len(data) - written}; the disk may be full")
            written += count
    except BaseException:
        if written:
            _undo(fd, start, start + written)
        raise


def _ends_with_newline(fd: int, size: int) -> bool:
    try:
        return os.pread(fd, 1, size - 1) == b"\n"
    except OSError:  # a descriptor opened write-only: cannot look, assume the tail is whole
        return True


def _undo(fd: int, start: int, end: int) -> None:
    """Cut the partial line off; if another process appended after it, end it with a newline instead."""
    try:
        if os.fstat(fd).st_size == end:
            os.ftruncate(fd, start)
        else:
            os.write(fd, b"\n")  # keep the other writer's lines separate from our fragment
    except OSError:
        pass  # the reader skips a damaged line with a warning; nothing more can be done here
