"""Bundle v1: a manifest and the sealed items it lists, in one file.

Layout::

    b"ARYZBNDL" | version (1 byte, 1) | manifest length (4 bytes, big-endian)
    | manifest (UTF-8 JSON) | item 1 envelope | item 2 envelope | …

The manifest lists every item's size and SHA-256 in order, so a reader checks each item
as it streams and a damaged USB copy is caught item by item. The server cannot sign what
it does not know; the envelopes' own authentication protects content, and the desk
checks that every item's sealed metadata names its case's reply key, so a server that
moved an item into another case would be caught.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import BinaryIO

from service.common.contract.vocabulary import STATUSES
from service.common.crypto import strictjson
from service.common.errors import AryzError

MAGIC = b"ARYZBNDL"
VERSION = 1
HEAD = struct.Struct(">8sBI")
MAX_MANIFEST = 64 * 1024 * 1024
# Every number in a manifest has a range (F-11). Sequence numbers stay exact in any JSON
# reader (2^53 - 1) and far from SQLite's 2^63; an item is at most 64 GiB, far above the
# server's per-upload cap, and is read in pieces whatever its size.
MAX_SEQ = (1 << 53) - 1
MAX_ITEM_SIZE = 64 << 30
MANIFEST_LIMITS = strictjson.Limits(
    max_bytes=MAX_MANIFEST, max_depth=4, max_values=8_000_000, max_string=256
)
_HEX = re.compile(r"^[0-9a-f]*$")
_COALITION = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_WEEK = re.compile(r"[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])")
_TOP_KEYS = frozenset({"format", "version", "coalition", "bundle", "created", "cases", "items"})
_CASE_KEYS = frozenset({"case", "reply_public_key", "status", "status_seq"})
_ITEM_KEYS = frozenset({"item", "case", "size", "sha256"})


class BundleError(AryzError):
    code = "bundle"
    message = "The bundle is damaged or not an Aryz bundle."
    http_status = 400


@dataclass(frozen=True)
class BundleCase:
    case: str  # hex case ref
    reply_public_key: str  # hex
    status: str
    status_seq: int


@dataclass(frozen=True)
class BundleItem:
    item: str  # hex item ref
    case: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    coalition: str
    bundle: str  # hex id
    created: str  # ISO week
    cases: tuple[BundleCase, ...]
    items: tuple[BundleItem, ...]

    def to_json(self) -> bytes:
        data = {"format": "aryz-bundle", "version": VERSION, **asdict(self)}
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()

    @property
    def body_size(self) -> int:
        return sum(i.size for i in self.items)


def head_bytes(manifest: Manifest) -> bytes:
    raw = manifest.to_json()
    return HEAD.pack(MAGIC, VERSION, len(raw)) + raw


def total_size(manifest: Manifest) -> int:
    return len(head_bytes(manifest)) + manifest.body_size


def _hex(value: object, length: int | None = None) -> str:
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise BundleError()
    if length is not None and len(value) != length:
        raise BundleError()
    return value


def _number(value: object, low: int, high: int) -> int:
    """An integer in [low, high]: never a bool, a float or a numeric string (F-11)."""
    if type(value) is not int or not low <= value <= high:
        raise BundleError()
    return value


def _text(value: object, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise BundleError()
    return value


def _object(value: object, keys: frozenset[str]) -> dict[str, object]:
    """A JSON object with exactly ``keys``: unknown or missing fields are refused."""
    if not isinstance(value, dict) or set(value) != keys:
        raise BundleError()
    return value


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise BundleError()
    return value


def parse_manifest(raw: bytes) -> Manifest:
    """Check every field of the manifest (§2 of EXCHANGE-v1.md) and return it.

    A server may be hostile: every number is an integer in its documented range, every
    text field has its documented form, and anything else refuses the whole bundle
    before anything is written (F-11: a negative ``status_seq`` once wedged every later
    export; a huge ``size`` asked for a huge read).
    """
    try:
        data = strictjson.loads(raw, MANIFEST_LIMITS)
    except ValueError:
        raise BundleError() from None
    if not isinstance(data, dict) or data.get("format") != "aryz-bundle":
        raise BundleError()
    if type(data.get("version")) is not int or data.get("version") != VERSION:
        raise BundleError("This bundle's format version is not supported.")
    top = _object(data, _TOP_KEYS)
    cases = tuple(
        BundleCase(
            case=_hex(c["case"], 32),
            reply_public_key=_hex(c["reply_public_key"], 64),
            status=_status(c["status"]),
            status_seq=_number(c["status_seq"], 0, MAX_SEQ),
        )
        for c in (_object(c, _CASE_KEYS) for c in _list(top["cases"]))
    )
    items = tuple(
        BundleItem(
            item=_hex(i["item"], 32),
            case=_hex(i["case"], 32),
            size=_number(i["size"], 1, MAX_ITEM_SIZE),
            sha256=_hex(i["sha256"], 64),
        )
        for i in (_object(i, _ITEM_KEYS) for i in _list(top["items"]))
    )
    manifest = Manifest(
        coalition=_text(top["coalition"], _COALITION),
        bundle=_hex(top["bundle"], 32),
        created=_text(top["created"], _WEEK),
        cases=cases,
        items=items,
    )
    known = {c.case for c in cases}
    if len(known) != len(cases) or any(i.case not in known for i in items):
        raise BundleError()
    if len({i.item for i in items}) != len(items):
        raise BundleError()
    return manifest


def _status(value: object) -> str:
    if not isinstance(value, str) or value not in STATUSES:
        raise BundleError()
    return value


def read_manifest(stream: BinaryIO) -> Manifest:
    head = stream.read(HEAD.size)
    if len(head) != HEAD.size:
        raise BundleError("The bundle is truncated.")
    magic, version, length = HEAD.unpack(head)
    if magic != MAGIC:
        raise BundleError()
    if version != VERSION:
        raise BundleError("This bundle's format version is not supported.")
    if length > MAX_MANIFEST:
        raise BundleError()
    raw = stream.read(length)
    if len(raw) != length:
        raise BundleError("The bundle is truncated.")
    return parse_manifest(raw)


@dataclass(frozen=True)
class ItemRead:
    """One item as read from a bundle: its bytes, or why it is unusable."""

    entry: BundleItem
    data: bytes | None  # None when damaged; the rest of the bundle still reads
    problem: str | None


def read_items(stream: BinaryIO, manifest: Manifest) -> Iterator[ItemRead]:
    """Yield each listed item, checking its SHA-256; a mismatch spoils only that item.

    Each item is returned whole, so this is for small bundles (tests, tools); the desk's
    importer streams items in pieces instead (service.desk.inbox.importer). Reads go in pieces
    too, so a listed size far beyond the file never allocates that much (F-11).
    """
    for index, entry in enumerate(manifest.items):
        data = _read_exactly(stream, entry.size)
        if data is None:
            yield ItemRead(entry, None, "truncated")
            # Everything after a short read is missing too.
            for rest in manifest.items[index + 1 :]:
                yield ItemRead(rest, None, "truncated")
            return
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            yield ItemRead(entry, None, "checksum")
        else:
            yield ItemRead(entry, data, None)
    if stream.read(1):
        raise BundleError("The bundle has data after its last item.")


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        piece = stream.read(min(left, 1 << 20))
        if not piece:
            return None
        parts.append(piece)
        left -= len(piece)
    return b"".join(parts)
