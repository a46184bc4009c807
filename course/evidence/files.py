"""The locker's own files, reached so that nothing outside the locker's folder can be touched.

* Every name is *derived* (from an item's id and hash), never read from the database, and is a
  single path component: no ``/``, no ``..``.
* Each folder is opened once with ``O_DIRECTORY | O_NOFOLLOW`` and files are reached relative to
  it (``dir_fd``), so a folder replaced by a link is refused rather than followed.
* Files are opened with ``O_NOFOLLOW`` (a link where a file should be is an error, never a way
  out) and ``O_NONBLOCK`` (a FIFO planted in the locker cannot hang it); anything that is not a
  regular file is refused. New files are created with ``O_EXCL`` and moved into place with a
  rename, which replaces a link instead of writing through it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

FOLDERS = ("evidentiary", "working", "staging")
ITEM_ID = re.compile(r"E[0-9]{4,9}")
SHA256 = re.compile(r"[0-9a-f]{64}")
NOFOLLOW = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class LinkFound(Exception):
    """A link (or another non-file) where the locker expects its own file or folder."""


def _single(name: str) -> str:
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise ValueError(f"{name!r} is not a single file name")
    return name


def describe(mode: int) -> str:
    for test, what in ((stat.S_ISLNK, "a link"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return what
    return "not a regular file"


@contextlib.contextmanager
def folders(root: Path) -> Iterator[dict[str, int]]:
    """The locker's three folders, opened without following links: {name: dir_fd}."""
    fds: dict[str, int] = {}
    try:
        for name in FOLDERS:
            try:
                fds[name] = os.open(root / name, os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise LinkFound(f"{root / name} is not a folder of the locker (a link or a "
                                    "file stands in its place)") from None
                raise
        yield fds
    finally:
        for fd in fds.values():
            os.close(fd)


def kind(dir_fd: int, name: str) -> str | None:
    """'file', 'link' or 'other' for what is at ``name``, or None if nothing is."""
    try:
        mode = os.stat(_single(name), dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None
    return "file" if stat.S_ISREG(mode) else "link" if stat.S_ISLNK(mode) else "other"


def open_stored(dir_fd: int, name: str) -> BinaryIO:
    """Open the locker's own file for reading; LinkFound if a link or non-file is there."""
    try:
        fd = os.open(_single(name), os.O_RDONLY | os.O_NONBLOCK | NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LinkFound(f"{name} is a link; the locker does not follow it") from None
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise LinkFound(f"{name} is {describe(mode)}, not a file")
    return os.fdopen(fd, "rb")


def create_stored(dir_fd: int, name: str, mode: int = 0o600) -> BinaryIO:
    """A new file, created exclusively (never reusing or following anything already there)."""
    fd = os.open(_single(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, mode,
                 dir_fd=dir_fd)
    return os.fdopen(fd, "wb")


def place(src_fd: int, src: str, dst_fd: int, dst: str) -> None:
    """Move a finished file into place by rename (atomic; replaces, never follows, a link)."""
    os.replace(_single(src), _single(dst), src_dir_fd=src_fd, dst_dir_fd=dst_fd)


def remove(dir_fd: int, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_single(name), dir_fd=dir_fd)


def listing(fds: dict[str, int]) -> list[str]:
    """Everything in the three folders, as 'folder/name'."""
    return sorted(f"{folder}/{name}" for folder, fd in fds.items() for name in os.listdir(fd))


class NotAFile(Exception):
    """The path given to add is not a regular file."""


def open_input(path: Path) -> BinaryIO:
    """Open a file the user gives for adding: regular files only, refused at once otherwise
    (a FIFO would block the add, /dev/zero would fill the disk)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        raise NotAFile(describe(mode))
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")
