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

from service.common.errors import AryzError

MAGIC = b"ARYZBNDL"
VERSION = 1
HEAD = struct.Struct(">8sBI")
MAX_MANIFEST = 64 * 1024 * 1024
_HEX = re.compile(r"^[0-9a-f]*$")


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


def parse_manifest(raw: bytes) -> Manifest:
    try:
        data = json.loads(raw.decode("utf-8"))
        if data.get("format") != "aryz-bundle" or data.get("version") != VERSION:
            raise BundleError("This bundle's format version is not supported.")
        cases = tuple(
            BundleCase(
                case=_hex(c["case"], 32),
                reply_public_key=_hex(c["reply_public_key"], 64),
                status=str(c["status"]),
                status_seq=int(c["status_seq"]),
            )
            for c in data["cases"]
        )
        items = tuple(
            BundleItem(
                item=_hex(i["item"], 32),
                case=_hex(i["case"], 32),
                size=int(i["size"]),
                sha256=_hex(i["sha256"], 64),
            )
            for i in data["items"]
        )
        manifest = Manifest(
            coalition=str(data["coalition"]),
            bundle=_hex(data["bundle"], 32),
            created=str(data["created"]),
            cases=cases,
            items=items,
        )
    # AttributeError: JSON that is not an object; OverflowError: int() of an infinity.
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError, OverflowError):
        raise BundleError() from None
    known = {c.case for c in cases}
    if any(i.case not in known or i.size <= 0 for i in items):
        raise BundleError()
    if len({i.item for i in items}) != len(items):
        raise BundleError()
    return manifest


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

    Items are read whole: they are desk-side reads of a local file, and the largest
    (an attachment) is bounded by the server's per-upload cap.
    """
    for entry in manifest.items:
        data = stream.read(entry.size)
        if len(data) != entry.size:
            yield ItemRead(entry, None, "truncated")
            # Everything after a short read is missing too.
            for rest in manifest.items[manifest.items.index(entry) + 1 :]:
                yield ItemRead(rest, None, "truncated")
            return
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            yield ItemRead(entry, None, "checksum")
        else:
            yield ItemRead(entry, data, None)
    if stream.read(1):
        raise BundleError("The bundle has data after its last item.")
