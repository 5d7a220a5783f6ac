"""The plaintext header of an envelope, and the framing rules a server can check.

Version 1, and version 3 (ENVELOPE-v3.md), which has the same layout and pads the plaintext.

Layout (see ENVELOPE-v1.md; all integers big-endian)::

    magic "ARYZ" (4) | version 0x01 (1) | n (1) | n x [key_id (8) | sealed_key (80)]
    | secretstream header (24)

This module parses and measures; it never holds a key. The server uses it on uploads it
cannot decrypt, so every check here must be safe to run on hostile bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from nacl.bindings import (
    crypto_box_SEALBYTES,
    crypto_secretstream_xchacha20poly1305_ABYTES,
    crypto_secretstream_xchacha20poly1305_HEADERBYTES,
    crypto_secretstream_xchacha20poly1305_KEYBYTES,
)

from service.common.crypto.hashing import blake2b_256
from service.common.crypto.keys import KEY_ID_LEN
from service.common.errors import EnvelopeFormatError, EnvelopeTruncatedError

MAGIC = b"ARYZ"
VERSION = 1
# Version 3 (ENVELOPE-v3.md): the same layout, with a padded plaintext. Version 2 is never
# written: the published v1 vectors use it as the example of a version a reader refuses.
VERSION_PADDED = 3
VERSIONS = frozenset({VERSION, VERSION_PADDED})
MAX_RECIPIENTS = 8
CHUNK_SIZE = 65536
CHUNK_OVERHEAD = crypto_secretstream_xchacha20poly1305_ABYTES  # 17: tag byte + Poly1305 MAC
FRAME_SIZE = CHUNK_SIZE + CHUNK_OVERHEAD  # 65553
SEALED_KEY_LEN = crypto_secretstream_xchacha20poly1305_KEYBYTES + crypto_box_SEALBYTES  # 80
RECIPIENT_LEN = KEY_ID_LEN + SEALED_KEY_LEN  # 88
STREAM_HEADER_LEN = crypto_secretstream_xchacha20poly1305_HEADERBYTES  # 24
_FIXED_LEN = len(MAGIC) + 2  # magic, version, n

# Fixed messages: they say what is wrong with the format and never quote the bytes.
BAD_MAGIC = "The data is not an Aryz sealed item."
BAD_VERSION = "The sealed item uses a format version this program cannot read."
BAD_RECIPIENT_COUNT = "The sealed item's header lists an invalid number of recipients."
DUPLICATE_RECIPIENT = "The sealed item's header lists the same key twice."
SHORT_HEADER = "The sealed item ends inside its header."
BAD_FRAMING = "The sealed item's length does not match its framing."


@dataclass(frozen=True)
class EnvelopeHeader:
    """A parsed header. ``raw`` is the exact header bytes, bound to every chunk as AD."""

    version: int
    recipients: tuple[tuple[bytes, bytes], ...]  # (key_id, sealed_key) in header order
    stream_header: bytes
    raw: bytes

    @property
    def associated_data(self) -> bytes:
        """BLAKE2b-256 of the raw header: the AD of every chunk of this envelope."""
        return blake2b_256(self.raw)


def header_length(n: int) -> int:
    """Return the byte length of a header with ``n`` recipients (1..8)."""
    if not 1 <= n <= MAX_RECIPIENTS:
        raise ValueError("recipient count out of range")
    return _FIXED_LEN + RECIPIENT_LEN * n + STREAM_HEADER_LEN


def parse_header(data: bytes) -> tuple[EnvelopeHeader, int]:
    """Parse the header at the start of ``data``; return it and the bytes it spans.

    Checks run in a fixed order so that every reader reports the same error: magic (on
    as many bytes as there are), length of the fixed part, version, recipient count,
    full length, duplicate key ids. Raises :class:`EnvelopeTruncatedError` when the
    bytes are right so far but end too soon, :class:`EnvelopeFormatError` otherwise.
    """
    magic = data[: len(MAGIC)]
    if magic != MAGIC[: len(magic)]:
        raise EnvelopeFormatError(BAD_MAGIC)
    if len(data) < _FIXED_LEN:
        raise EnvelopeTruncatedError(SHORT_HEADER)
    version, n = data[4], data[5]
    if version not in VERSIONS:
        # Refuse rather than guess: a later version may change anything after this byte.
        raise EnvelopeFormatError(BAD_VERSION)
    if not 1 <= n <= MAX_RECIPIENTS:
        raise EnvelopeFormatError(BAD_RECIPIENT_COUNT)
    length = header_length(n)
    if len(data) < length:
        raise EnvelopeTruncatedError(SHORT_HEADER)
    recipients = []
    for i in range(n):
        start = _FIXED_LEN + i * RECIPIENT_LEN
        entry = data[start : start + RECIPIENT_LEN]
        recipients.append((bytes(entry[:KEY_ID_LEN]), bytes(entry[KEY_ID_LEN:])))
    if len({kid for kid, _ in recipients}) != n:
        # One canonical form per recipient set; a repeated id has no honest use.
        raise EnvelopeFormatError(DUPLICATE_RECIPIENT)
    header = EnvelopeHeader(
        version=version,
        recipients=tuple(recipients),
        stream_header=bytes(data[length - STREAM_HEADER_LEN : length]),
        raw=bytes(data[:length]),
    )
    return header, length


def recipient_key_ids(header: EnvelopeHeader) -> list[bytes]:
    """Return the key ids the item is sealed to, in header order."""
    return [kid for kid, _ in header.recipients]


def body_length_is_valid(body_length: int) -> bool:
    """Tell whether ``body_length`` bytes can be a whole v1 body.

    A body is k >= 0 full frames of 65553 bytes and one last frame of 17..65553 bytes.
    """
    if body_length < CHUNK_OVERHEAD:
        return False
    return not 0 < body_length % FRAME_SIZE < CHUNK_OVERHEAD


def check_framing(total_length: int, header_len: int) -> None:
    """Raise :class:`EnvelopeFormatError` unless an upload's length fits the framing.

    The server cannot decrypt, but it can refuse an upload that no honest sealer could
    have produced (for example one cut short inside its last frame) before acknowledging
    it to the submitter.
    """
    if header_len not in _HEADER_LENGTHS or not body_length_is_valid(total_length - header_len):
        raise EnvelopeFormatError(BAD_FRAMING)


_HEADER_LENGTHS = frozenset(header_length(n) for n in range(1, MAX_RECIPIENTS + 1))
