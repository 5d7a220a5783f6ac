"""Backup files on disk: created 0600, streamed, fsync'd, then given their name.

A backup is written to a temporary name beside its destination and linked to the final
name only once every byte is on stable storage; ``link`` (unlike ``rename``) fails if the
name exists, so a backup never replaces a file. A crash leaves at most a ``.partial``
file, never a truncated file under the real name. Small files reuse the desk's durable
writer (``service.common.files``), with our own error class.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path
from types import TracebackType

import service.common.files as files
from service.common.errors import DeskStoreError
from service.server.backup.errors import BackupExistsError, BackupFileError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def write_new(path: Path, data: bytes) -> None:
    """Create ``path`` (which must not exist) holding ``data``, 0600, fsync'd."""
    if path.exists():
        raise BackupExistsError()
    try:
        files.write_new(path, data)
    except DeskStoreError:
        raise BackupFileError() from None


def fsync_dir(path: Path) -> None:
    try:
        files.fsync_dir(path)
    except DeskStoreError:
        raise BackupFileError() from None


def make_private_dir(path: Path) -> None:
    """Create ``path`` 0700 (parents as needed) and make sure it is 0700."""
    try:
        files.make_private_dir(path)
    except OSError:
        raise BackupFileError() from None


class NewFile:
    """A file written in pieces that appears under ``path`` only when complete.

    Use as a context manager: leaving the block normally fsyncs and links the file into
    place; an exception removes the temporary file and leaves nothing under ``path``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.partial")
        self._fd = -1

    def __enter__(self) -> NewFile:
        if self.path.exists():
            raise BackupExistsError()
        try:
            self._fd = os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        except OSError:
            raise BackupFileError() from None
        return self

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            raise BackupFileError() from None

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if t is None:
                self._commit()
        finally:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            self._temp.unlink(missing_ok=True)

    def _commit(self) -> None:
        try:
            files.sync(self._fd)
            _link_or_rename(self._temp, self.path)
        except FileExistsError:
            raise BackupExistsError() from None
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise BackupFileError("The disk is full; no backup was written.") from None
            raise BackupFileError() from None
        fsync_dir(self.path.parent)


def _link_or_rename(temp: Path, path: Path) -> None:
    try:
        os.link(temp, path)
    except OSError as exc:
        # FAT and some network filesystems have no hard links: check, then rename. The
        # window between the two is the operator's own doing (two backups to one name).
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        if path.exists():
            raise FileExistsError(errno.EEXIST, "exists") from None
        os.rename(temp, path)
