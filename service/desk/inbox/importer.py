"""Import a bundle: decrypt every new item and store it, encrypted, in the desk store.

Rules, each for a reason:

- A bundle for another coalition is refused before anything is written.
- Each item is one transaction: its row, its body and its case's updated counts commit
  together or not at all. An item already on the desk (same reference) is skipped, so
  importing the same bundle twice, or a bundle overlapping an earlier one, is harmless.
- A bad item does not stop the others. It is reported (a prefix of its reference and a
  fixed reason), its sealed bytes are kept in ``quarantine/<item ref>.bin`` — ciphertext,
  never plaintext — and it is not acknowledged, so the server keeps it for a fresh copy.
- An item whose sealed metadata names another reply key than its case is treated as
  damaged: the server cannot read items, but it could move one into another case or
  swap a case's reply key to read the replies. A case's reply key is pinned by the first
  bundle that lists it and counts as confirmed once a sealed item names it.
- Running out of disk stops the import with :class:`DiskFullError`; the item in progress
  is rolled back and everything before it stays. Importing the bundle again completes it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import service.common.files as files
import service.desk.casework.cases as cases
from service.common.clock import current_week
from service.common.contract.bundle import (
    BundleError,
    BundleItem,
    ItemRead,
    Manifest,
    read_items,
    read_manifest,
)
from service.common.crypto.envelope import Opener
from service.common.crypto.payload import PayloadReader
from service.common.errors import EnvelopeError, EnvelopeKeyError
from service.common.questionnaire.istanbul import SITUATION_AS_DETAINED
from service.desk.errors import ForeignBundleError
from service.desk.store.database import CHUNK_SIZE, Store, context
from service.desk.store.keys import Keyring

QUARANTINE_DIR = "quarantine"
REF_PREFIX = 8
_FEED = 1 << 20
_WEEK = re.compile(r"^[0-9]{4}-W[0-9]{2}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})?$")

# Fixed reasons, shown to staff next to the item's reference prefix.
MISSING = "missing: the bundle ends before it"
CHECKSUM = "damaged: its bytes differ from the manifest's checksum"
NOT_OURS = "cannot be opened with this desk's keys"
ALTERED = "fails authentication: altered or damaged"
WRONG_CASE = "its sealed case key differs from its case's: moved or tampered with"
UNREADABLE = "its content is not in a form the desk can read"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ItemProblem:
    """One item that was not imported. ``item_prefix`` is the first 8 hex digits."""

    item_prefix: str
    reason: str
    quarantined: bool


@dataclass(frozen=True)
class ImportReport:
    listed: int
    imported: int
    skipped: int
    problems: tuple[ItemProblem, ...]
    # Bytes after the last listed item: ignored (nothing unlisted is trusted), reported.
    extra_data: bool = False


class _Corrupt(Exception):
    """An item that cannot be imported; ``reason`` is one of the fixed reasons above."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def import_bundle(
    store: Store,
    keyring: Keyring,
    directory: Path,
    bundle: BinaryIO,
    progress: Progress | None = None,
) -> ImportReport:
    """Import every new item of ``bundle`` (an open binary file) into the desk."""
    manifest = read_manifest(bundle)
    if manifest.coalition != keyring.coalition:
        raise ForeignBundleError()
    offsets = _offsets(manifest, bundle.tell())
    conflicting = _record_cases(store, manifest)
    total, imported, skipped = len(manifest.items), 0, 0
    problems: list[ItemProblem] = []
    if progress:
        progress(0, total)
    reads = read_items(bundle, manifest)
    extra_data = False
    for done, read in enumerate(_until_extra(reads), start=1):
        if read is None:
            extra_data = True
            break
        entry = read.entry
        if cases.item_known(store, entry.item):
            skipped += 1
        else:
            try:
                if read.data is None:
                    raise _Corrupt(MISSING if read.problem == "truncated" else CHECKSUM)
                if entry.case in conflicting:
                    raise _Corrupt(WRONG_CASE)
                _import_item(store, keyring, entry, read.data)
                imported += 1
            except _Corrupt as bad:
                raw = read.data if read.data is not None else _raw(bundle, offsets, entry)
                problems.append(_quarantine(directory, entry, raw, bad.reason))
        if progress:
            progress(done, total)
    return ImportReport(total, imported, skipped, tuple(problems), extra_data)


def _until_extra(reads: Iterator[ItemRead]) -> Iterator[ItemRead | None]:
    """The items, then None if read_items found data after the last one."""
    try:
        yield from reads
    except BundleError:
        # read_items raises only this, and only after the last item: the items before
        # are whole, checked and already committed.
        yield None


def _offsets(manifest: Manifest, start: int) -> dict[str, int]:
    offsets, position = {}, start
    for entry in manifest.items:
        offsets[entry.item] = position
        position += entry.size
    return offsets


def _record_cases(store: Store, manifest: Manifest) -> set[str]:
    """Add new cases and update known ones; return the refs whose reply key changed."""
    conflicting = set()
    week = current_week()
    with store.transaction():
        for listed in manifest.cases:
            case = cases.case_by_ref(store, listed.case)
            if case is None:
                case = cases.insert_case(store, cases.new_case_record(listed, week))
                cases.add_entry(store, case, "history", event="first_imported")
                continue
            if case.record["reply_public_key"] != listed.reply_public_key:
                conflicting.add(listed.case)
                continue
            case.record["server_status"] = listed.status
            case.record["server_seq"] = listed.status_seq
            # Never go back: our own records may be ahead of what the server applied.
            case.record["last_seq"] = max(int(case.record["last_seq"]), listed.status_seq)
            cases.save_case(store, case)
    return conflicting


def _import_item(store: Store, keyring: Keyring, entry: BundleItem, data: bytes) -> None:
    item_index = store.ref_index("item", entry.item)
    with store.transaction() as db:
        case = cases.case_by_ref(store, entry.case)
        if case is None:  # _record_cases committed it; only a bug gets here
            raise _Corrupt(UNREADABLE)
        cursor = db.execute(
            "INSERT INTO items (case_id, ref_index, record) VALUES (?, ?, ?)",
            (case.id, item_index, b""),
        )
        item_id = cursor.lastrowid or 0
        body = _BodyWriter(store, item_id, item_index)
        meta = _decrypt_into(keyring, data, body)
        kind = meta.get("type")
        if kind not in cases.ITEM_TYPES:
            raise _Corrupt(UNREADABLE)
        claimed = meta.get("case_public_key")
        if claimed is not None:
            # The pinned key equals this manifest's (cases whose key changed never get
            # here), so this is the manifest check and the pin in one.
            if claimed != case.record["reply_public_key"]:
                raise _Corrupt(WRONG_CASE)
            case.record["key_confirmed"] = True
        created = meta.get("created")
        record = {
            "ref": entry.item,
            "case": entry.case,
            "type": kind,
            "meta": meta,
            "created": created if isinstance(created, str) and _WEEK.match(created) else None,
            "size": body.size,
            "sha256": body.digest.hexdigest(),
            "chunks": body.chunks,
            "envelope_size": entry.size,
            "envelope_sha256": entry.sha256,
            "imported": cases.today(),
        }
        if kind == "answers":
            answers = _read_answers(b"".join(store.read_chunks(item_id, item_index, body.chunks)))
            _note_answers(case.record, answers, meta, record["created"])
        elif case.record["received_week"] is None:
            case.record["received_week"] = record["created"]
        case.record["counts"][kind] = int(case.record["counts"].get(kind, 0)) + 1
        db.execute(
            "UPDATE items SET record = ? WHERE id = ?",
            (store.seal(record, context("items", item_index)), item_id),
        )
        cases.save_case(store, case)


class _BodyWriter:
    """Cut an item's body into stored chunks as it is decrypted; hash it on the way."""

    def __init__(self, store: Store, item_id: int, item_index: bytes) -> None:
        self._store, self._item_id, self._index = store, item_id, item_index
        self._buffer = bytearray()
        self.size = 0
        self.chunks = 0
        self.digest = hashlib.sha256()

    def add(self, data: bytes) -> None:
        self.size += len(data)
        self.digest.update(data)
        self._buffer += data
        while len(self._buffer) >= CHUNK_SIZE:
            self._write(bytes(self._buffer[:CHUNK_SIZE]))
            del self._buffer[:CHUNK_SIZE]

    def finish(self) -> None:
        if self._buffer or self.chunks == 0:
            self._write(bytes(self._buffer))
            self._buffer = bytearray()

    def _write(self, chunk: bytes) -> None:
        self._store.write_chunk(self._item_id, self._index, self.chunks, chunk)
        self.chunks += 1


def _decrypt_into(keyring: Keyring, data: bytes, body: _BodyWriter) -> dict[str, Any]:
    """Open the envelope, split the payload, stream the body into ``body``; return meta.

    What reaches ``body`` before the end is provisional; the caller's transaction rolls
    it back if the envelope turns out to be truncated or altered.
    """
    opener = Opener(keyring.decryption_keys)
    reader = PayloadReader()
    try:
        for piece in _pieces(data):
            body.add(reader.feed(opener.feed(piece)))
        body.add(reader.feed(opener.close()))
        reader.close()
    except EnvelopeKeyError:
        raise _Corrupt(NOT_OURS) from None
    except EnvelopeError:
        raise _Corrupt(ALTERED) from None
    body.finish()
    return reader.meta or {}


def _pieces(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), _FEED):
        yield bytes(view[start : start + _FEED])


def _read_answers(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _Corrupt(UNREADABLE) from None
    if not isinstance(data, dict) or not isinstance(data.get("answers"), dict):
        raise _Corrupt(UNREADABLE)
    if not all(_answer_shape(v) for v in data["answers"].values()):
        raise _Corrupt(UNREADABLE)
    return data


def _answer_shape(value: object) -> bool:
    """A string, a list of strings, or a list of entries ``{str: str | [str]}``: the
    shapes answers have (service.common.questionnaire); anything else is not ours to guess."""
    if isinstance(value, str):
        return True
    if not isinstance(value, list):
        return False
    return all(isinstance(v, str) for v in value) or all(
        isinstance(e, dict)
        and all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
            for v in e.values()
        )
        for e in value
    )


def _note_answers(
    record: dict[str, Any], answers: dict[str, Any], meta: dict[str, Any], week: str | None
) -> None:
    """Copy what the list filters on into the (encrypted) case record, once."""
    if record.get("questionnaire") is not None:
        return  # a second answers item never overrides the first
    country, language = answers.get("country"), answers.get("language")
    record["country"] = country if isinstance(country, str) and _COUNTRY.match(country) else None
    record["language"] = (
        language if isinstance(language, str) and _LANGUAGE.match(language) else None
    )
    record["detained"] = _detained(answers["answers"])
    questionnaire = meta.get("questionnaire")
    record["questionnaire"] = questionnaire if isinstance(questionnaire, dict) else {}
    record["received_week"] = week or record.get("received_week")


def _detained(answers: dict[str, Any]) -> str | None:
    """ "Still detained?" for the case list: intake-basic asks it as ``detained``; istanbul
    as the person's situation, ``victim.situation``."""
    if isinstance(answers.get("detained"), str):
        return str(answers["detained"])
    situation = answers.get("victim.situation")
    if isinstance(situation, str):
        return SITUATION_AS_DETAINED.get(situation, "unknown")
    return None


def _raw(bundle: BinaryIO, offsets: dict[str, int], entry: BundleItem) -> bytes:
    """Re-read an item's bytes from the bundle (read_items drops a damaged item's data)."""
    position = bundle.tell()
    try:
        bundle.seek(offsets[entry.item])
        return bundle.read(entry.size)
    finally:
        bundle.seek(position)


def _quarantine(directory: Path, entry: BundleItem, raw: bytes, reason: str) -> ItemProblem:
    # The file holds the sealed bytes exactly as they came: ciphertext, evidence of what
    # arrived, and something to try again with once a key or a fresh copy is found.
    kept = False
    if raw:
        folder = directory / QUARANTINE_DIR
        files.make_private_dir(folder)
        # entry.item is 32 lowercase hex digits (bundle.parse_manifest checks), so this
        # name cannot leave the folder.
        files.replace(folder / f"{entry.item}.bin", raw)
        kept = True
    return ItemProblem(entry.item[:REF_PREFIX], reason, kept)
