"""The backup archive: named members in one envelope-v1 item, written and read as streams.

A backup is one sealed item (``service.common.crypto.envelope``, sealed to the operator's backup
public keys), so it inherits everything envelope v1 guarantees: a random item key, 64 KiB
authenticated chunks, a mandatory final tag (truncation is caught), and no way to read a
byte without a backup private key. Inside, the plaintext is::

    "ARYZBAK1"                                  magic, 8 bytes
    u32 BE length | manifest                    JSON object, at most 64 KiB
    for each name in manifest["members"], in order:
        (u32 BE length (1 .. 1 MiB) | bytes)*   the member's content in pieces
        u32 BE 0                                end of this member

Nothing may follow the last member. Member sizes are not known in advance (``pg_dump``
streams), hence the pieces. The manifest says what the archive is (``kind``), which
database backend and schema revision it holds, and the ISO week it was made: a week,
not a timestamp, as everywhere in Aryz.

Reading authenticates as it goes, but a stream is only known to be complete at its final
tag, so restoring first reads the whole archive once (:func:`verify`), then again to
write: a damaged backup restores nothing.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from service.common.crypto.envelope import Sealer, open_stream
from service.common.crypto.keys import BoxKeyPair
from service.common.errors import EnvelopeError
from service.server.backup.errors import BackupFileError, BackupFormatError

MAGIC = b"ARYZBAK1"
FORMAT = "aryz-backup"
VERSION = 1
MAX_MANIFEST = 64 * 1024
PIECE = 1024 * 1024
READ_SIZE = 1024 * 1024
_U32 = struct.Struct(">I")
# Member names are relative paths of plain components: nothing can climb out of the
# restore target, and nothing odd (newlines, control characters) reaches a terminal.
_COMPONENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
MAX_DEPTH = 4

Member = tuple[str, Callable[[], Iterable[bytes]]]


def check_member_name(name: str) -> None:
    parts = name.split("/")
    if not 1 <= len(parts) <= MAX_DEPTH or not all(_COMPONENT.fullmatch(p) for p in parts):
        raise BackupFormatError()


def write(
    sink: Callable[[bytes], None],
    recipients: Sequence[bytes],
    manifest: dict[str, Any],
    members: Sequence[Member],
) -> None:
    """Seal ``manifest`` and each member's content to ``recipients``, into ``sink``.

    A member's content is produced only when its turn comes, so a database snapshot is
    taken while the archive is being written, not before.
    """
    names = [name for name, _content in members]
    for name in names:
        check_member_name(name)
    document = json.dumps({**manifest, "members": names}, sort_keys=True).encode("utf-8")
    if len(document) > MAX_MANIFEST:
        raise ValueError("manifest too large")
    sealer = Sealer(recipients)
    sink(sealer.header)

    def emit(data: bytes) -> None:
        out = sealer.update(data)
        if out:
            sink(out)

    emit(MAGIC + _U32.pack(len(document)) + document)
    for _name, content in members:
        for data in content():
            for start in range(0, len(data), PIECE):
                piece = data[start : start + PIECE]
                emit(_U32.pack(len(piece)) + piece)
        emit(_U32.pack(0))
    sink(sealer.finish())


class Reader:
    """Reads an archive file: ``manifest`` first, then each member's pieces in order."""

    def __init__(self, path: Path, keys: Sequence[BoxKeyPair]) -> None:
        self._plain = open_stream(_file_chunks(path), keys)
        self._buffer = bytearray()
        if self._take(len(MAGIC)) != MAGIC:
            raise BackupFormatError()
        (length,) = _U32.unpack(self._take(_U32.size))
        if length > MAX_MANIFEST:
            raise BackupFormatError()
        try:
            manifest = json.loads(self._take(length))
        except ValueError:
            raise BackupFormatError() from None
        if (
            not isinstance(manifest, dict)
            or manifest.get("format") != FORMAT
            or manifest.get("version") != VERSION
            or not isinstance(manifest.get("members"), list)
        ):
            raise BackupFormatError()
        for name in manifest["members"]:
            if not isinstance(name, str):
                raise BackupFormatError()
            check_member_name(name)
        self.manifest: dict[str, Any] = manifest

    def members(self) -> Iterator[tuple[str, Iterator[bytes]]]:
        """Yield ``(name, pieces)``; each ``pieces`` must be consumed before the next."""
        for name in self.manifest["members"]:
            yield name, self._pieces()
        self._expect_end()

    def _pieces(self) -> Iterator[bytes]:
        while True:
            (length,) = _U32.unpack(self._take(_U32.size))
            if length == 0:
                return
            if length > PIECE:
                raise BackupFormatError()
            yield self._take(length)

    def _take(self, n: int) -> bytes:
        while len(self._buffer) < n:
            more = self._next()
            if more is None:
                raise BackupFormatError()
            self._buffer += more
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def _expect_end(self) -> None:
        # The final tag is checked when the envelope ends: run the stream to its end.
        if self._buffer or self._next() is not None:
            raise BackupFormatError()

    def _next(self) -> bytes | None:
        try:
            return next(self._plain)
        except StopIteration:
            return None
        except EnvelopeError:
            # Wrong key, bit flips, truncation: one message, nothing from the file shown.
            raise BackupFormatError() from None


def verify(path: Path, keys: Sequence[BoxKeyPair]) -> dict[str, Any]:
    """Read the whole archive, authenticating every byte; return its manifest."""
    reader = Reader(path, keys)
    for _name, pieces in reader.members():
        for _piece in pieces:
            pass
    return reader.manifest


def _file_chunks(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(READ_SIZE):
                yield chunk
    except OSError:
        raise BackupFileError() from None
