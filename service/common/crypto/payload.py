"""The item payload: what an envelope's plaintext holds.

    u32 big-endian length L | L bytes of UTF-8 JSON metadata (an object) | body bytes

The metadata says what the body is (answers, a file, a message) so that even a filename
is sealed. The body follows unparsed: a file's bytes go straight through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from service.common.crypto import strictjson
from service.common.errors import EnvelopeFormatError

MAX_META_LEN = 65536
# ENVELOPE-v1.md §8.1: the metadata's nesting, width and strings are bounded too.
META_LIMITS = strictjson.Limits(
    max_bytes=MAX_META_LEN, max_depth=16, max_values=4096, max_string=MAX_META_LEN
)
_LEN_BYTES = 4
# "reply": a coalition's answer, sealed on the desk to the case's reply key.
ITEM_TYPES = frozenset({"answers", "file", "message", "reply"})
# Coarse on purpose: a precise time inside the item could be matched against network
# observations of who used Tor when (security brief, invariant 7).
_ISO_WEEK = re.compile(r"\A[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])\Z")

BAD_META = "The sealed item's metadata is not valid."
SHORT_META = "The sealed item ends inside its metadata."


def encode_payload_prefix(meta: Mapping[str, object]) -> bytes:
    """Return ``length || JSON`` for ``meta``; the body bytes follow it unchanged.

    The JSON is compact with sorted keys, so equal metadata gives equal bytes. Raises
    ValueError if it is over 64 KiB, not JSON-able, or if ``type``/``created`` are not
    of the documented form.
    """
    if "type" in meta and meta["type"] not in ITEM_TYPES:
        raise ValueError("unknown item type")
    created = meta.get("created")
    if created is not None and not (isinstance(created, str) and _ISO_WEEK.match(created)):
        raise ValueError("'created' must be an ISO week such as 2026-W47")
    text = json.dumps(
        dict(meta), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    raw = text.encode("utf-8")  # raises ValueError on lone surrogates
    if len(raw) > MAX_META_LEN:
        raise ValueError("metadata larger than 64 KiB")
    strictjson.loads(raw, META_LIMITS)  # never write what a reader must refuse (§8.1)
    return len(raw).to_bytes(_LEN_BYTES, "big") + raw


class PayloadReader:
    """Split plaintext, fed in pieces, into metadata and body.

    ``feed`` returns the body bytes seen so far; ``meta`` is set once the metadata is
    complete. Call ``close`` at the end to refuse a payload that ends inside its metadata.
    """

    def __init__(self) -> None:
        """Start with nothing read."""
        self._prefix = bytearray()
        self._meta: dict[str, object] | None = None

    @property
    def meta(self) -> dict[str, object] | None:
        """The metadata object, or None while it is incomplete."""
        return self._meta

    def feed(self, data: bytes) -> bytes:
        """Take more plaintext; return the body bytes it contains."""
        if self._meta is not None:
            return bytes(data)
        self._prefix += data
        if len(self._prefix) < _LEN_BYTES:
            return b""
        length = int.from_bytes(self._prefix[:_LEN_BYTES], "big")
        if length > MAX_META_LEN:
            # Checked before buffering more, so the reader's memory stays bounded.
            raise EnvelopeFormatError(BAD_META)
        end = _LEN_BYTES + length
        if len(self._prefix) < end:
            return b""
        self._meta = _decode_meta(bytes(self._prefix[_LEN_BYTES:end]))
        body = bytes(self._prefix[end:])
        self._prefix = bytearray()
        return body

    def close(self) -> None:
        """Raise :class:`EnvelopeFormatError` if the metadata never completed."""
        if self._meta is None:
            raise EnvelopeFormatError(SHORT_META)


def split_payload(plaintext: bytes) -> tuple[dict[str, object], bytes]:
    """Split a whole plaintext into its metadata and body."""
    reader = PayloadReader()
    body = reader.feed(plaintext)
    if reader.meta is None:
        raise EnvelopeFormatError(SHORT_META)
    return reader.meta, body


def _decode_meta(raw: bytes) -> dict[str, object]:
    # The JSON rules of ENVELOPE-v1.md §8.1, in one reader shared with the desk.
    try:
        meta = strictjson.loads(raw, META_LIMITS)
    except ValueError:
        # Bad UTF-8, bad JSON, duplicate keys, NaN, lone surrogates, limits. None of it
        # is quoted: the metadata is the submitter's.
        raise EnvelopeFormatError(BAD_META) from None
    if not isinstance(meta, dict):
        raise EnvelopeFormatError(BAD_META)
    return meta
