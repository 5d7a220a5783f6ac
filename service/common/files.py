"""The one durable private-file writer: every room writes its files through here.

Every file is created with mode 0600 (the desk's keys, courier credentials, quarantined
items, outboxes, backups; the operator's backups; onion keys); replacing a file goes
through a temporary file in the same folder, ``fsync``, ``rename`` and an ``fsync`` of the
folder, so a crash or a pulled USB stick leaves the old file or the new one, never half
of either. A file written in pieces (a backup, a bundle being downloaded, a quarantined
item) is opened with :func:`open_private` and made durable with :func:`sync`.

No other module calls ``os.fsync`` (tests/test_import_rules.py checks).
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path
from typing import BinaryIO

from service.common.errors import DeskStoreError, DiskFullError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if missing, and make it 0700."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR)


def write_new(path: Path, data: bytes) -> None:
    """Create ``path`` (which must not exist) with ``data``, mode 0600, fsync'd."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except OSError as exc:
        raise _as_desk_error(exc) from None
    try:
        _write_all(fd, data)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    fsync_dir(path.parent)


def replace(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file, fsync, rename, fsync the folder."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.partial")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except OSError as exc:
        raise _as_desk_error(exc) from None
    try:
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def open_private(path: Path, *, exclusive: bool = True) -> BinaryIO:
    """``path`` opened for binary writing, created 0600 and never through a symlink.

    ``exclusive`` (the default): the file must not exist (``FileExistsError``); otherwise
    an existing file is opened as it is, for the caller to seek in (a resumed download).
    OS errors are raised as they are: the caller knows what a failure means for its file.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_EXCL if exclusive else 0)
    return os.fdopen(os.open(path, flags, PRIVATE_FILE), "wb")


def sync(file: BinaryIO | int) -> None:
    """Put what was written to ``file`` (an open file or a descriptor) on stable storage.
    OS errors are raised as they are."""
    if isinstance(file, int):
        os.fsync(file)
        return
    file.flush()
    os.fsync(file.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable.

    Some filesystems a USB stick may carry (FAT) cannot fsync a directory and say so with
    EINVAL; there the file's own fsync is all that can be done.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise _as_desk_error(exc) from None
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise _as_desk_error(exc) from None
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        raise _as_desk_error(exc) from None


def _as_desk_error(exc: OSError) -> DeskStoreError:
    # The path is never part of the message: it may name a case or sit on a USB stick.
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError()
    return DeskStoreError("A desk file could not be written. Nothing was changed.")
