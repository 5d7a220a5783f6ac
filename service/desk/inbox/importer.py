"""Import a bundle: decrypt every new item and store it, encrypted, in the desk store.

Rules, each for a reason:

- A bundle for another coalition is refused before anything is written, and so is a
  manifest that breaks any rule of EXCHANGE-v1.md §2 (numbers out of range included).
- Each item is one transaction: its row, its body and its case's updated counts commit
  together or not at all. An item already on the desk (same reference) is skipped, so
  importing the same bundle twice, or a bundle overlapping an earlier one, is harmless.
- **Quarantine, never stop.** Anything that goes wrong with one item — damage, a key the
  desk lacks, a malformed payload, a limit, a failing store, even a bug of this desk
  (any exception) — sets that one item aside with a fixed reason and the import goes
  on. Only a full disk stops it (:class:`DiskFullError`; the item in progress is rolled
  back, everything before stays, importing again completes it). A set-aside item's
  sealed bytes are kept in ``quarantine/<item ref>.bin`` — ciphertext, never plaintext —
  and a ``quarantined`` history entry on its case records the reason.
- A quarantined item whose bytes arrived exactly as listed and whose fault is its own
  (it is altered, malformed, over a limit, or names another case) is acknowledged to
  the server with a ``quarantine`` record in the next outbox: the server drops it and it
  stops coming back (before, one poison item blocked every later import, F-01).
  Transport damage, a missing key, a failing store and a desk bug are not acknowledged:
  the server keeps the item and the next bundle brings it again.
- Items stream: an item is read, hashed, decrypted and stored in pieces of about 1 MiB,
  so memory does not grow with the size of an attachment.
- An item whose sealed metadata names another reply key than its case is treated as
  damaged: the server cannot read items, but it could move one into another case or
  swap a case's reply key to read the replies. A case's reply key is pinned by the first
  bundle that lists it and counts as confirmed once a sealed item names it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import service.common.files as files
import service.desk.casework.cases as cases
import service.desk.casework.completeness as completeness
import service.desk.casework.resync as resync
from service.common.clock import current_week
from service.common.contract.bundle import BundleItem, Manifest, read_manifest
from service.common.contract.sealed_item import (
    ACKNOWLEDGED_REASONS,
    REASON_CODES,
    STORE_FAILED,
    BodySink,
    open_item,
    read_answers,
)
from service.common.contract.sealed_item import ALTERED as ALTERED
from service.common.contract.sealed_item import (
    CHECKSUM as CHECKSUM,
)
from service.common.contract.sealed_item import (
    DESK_FAULT as DESK_FAULT,
)
from service.common.contract.sealed_item import MALFORMED as MALFORMED
from service.common.contract.sealed_item import (
    MISSING as MISSING,
)
from service.common.contract.sealed_item import NOT_OURS as NOT_OURS
from service.common.contract.sealed_item import (
    REASONS as REASONS,
)
from service.common.contract.sealed_item import TOO_LARGE as TOO_LARGE
from service.common.contract.sealed_item import (
    UNREADABLE as UNREADABLE,
)
from service.common.contract.sealed_item import (
    WRONG_CASE as WRONG_CASE,
)
from service.common.contract.sealed_item import (
    ItemRefused as ItemRefused,
)
from service.common.questionnaire.basic import BASIC
from service.common.questionnaire.istanbul import (
    ISTANBUL,
    ISTANBUL_V2,
    SITUATION_AS_DETAINED,
)
from service.common.questionnaire.known import key_of
from service.desk.errors import DeskStoreError, DiskFullError, ForeignBundleError
from service.desk.store.database import CHUNK_SIZE, Store, context
from service.desk.store.keys import Keyring

QUARANTINE_DIR = "quarantine"
REF_PREFIX = 8
_FEED = 1 << 20
_WEEK = re.compile(r"^[0-9]{4}-W[0-9]{2}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})?$")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ItemProblem:
    """One item that was not imported. ``item_prefix`` is the first 8 hex digits."""

    item_prefix: str
    reason: str
    quarantined: bool
    # A ``quarantine`` record for the server waits in the next outbox.
    acknowledged: bool = False


@dataclass(frozen=True)
class ImportReport:
    listed: int
    imported: int
    skipped: int
    problems: tuple[ItemProblem, ...]
    # Bytes after the last listed item: ignored (nothing unlisted is trusted), reported.
    extra_data: bool = False


_Corrupt = ItemRefused  # the name older code and tests know


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
    held = {q.item: q for q in quarantined_items(store, None)}
    # Items already acknowledged as quarantined: a later bundle may list one again (if the
    # outbox has not reached the server yet); it is skipped.
    acknowledged = {ref for ref, q in held.items() if q.acknowledged}
    total, imported, skipped = len(manifest.items), 0, 0
    problems: list[ItemProblem] = []
    if progress:
        progress(0, total)
    missing = False
    for done, entry in enumerate(manifest.items, start=1):
        if cases.item_known(store, entry.item) or entry.item in acknowledged:
            skipped += 1
        elif missing:
            problems.append(ItemProblem(entry.item[:REF_PREFIX], MISSING, False))
        else:
            refused: str | None = None
            try:
                if entry.case in conflicting:
                    raise ItemRefused(WRONG_CASE)
                source = _Source(bundle, offsets[entry.item], entry.size)
                _import_item(store, keyring, entry, source)
                imported += 1
                _forget_sealed_copy(directory, entry.item)
            except DiskFullError:
                raise
            except ItemRefused as bad:
                refused = bad.reason
                missing = refused == MISSING
            except DeskStoreError:
                refused = STORE_FAILED
            except Exception:  # noqa: BLE001 - quarantine, never stop (F-01)
                # RecursionError and MemoryError included: one item must never end the
                # import, whatever it does to the code that reads it.
                refused = DESK_FAULT
            if refused is not None:
                where = (bundle, offsets[entry.item])
                problems.append(_set_aside(store, directory, where, entry, refused, held))
        if progress:
            progress(done, total)
    end = offsets[manifest.items[-1].item] + manifest.items[-1].size if manifest.items else 0
    extra_data = bool(manifest.items) and not missing and _more_after(bundle, end)
    return ImportReport(total, imported, skipped, tuple(problems), extra_data)


def _more_after(bundle: BinaryIO, end: int) -> bool:
    bundle.seek(end)
    return bool(bundle.read(1))


class _Source:
    """One item's bytes in the bundle, read in pieces; a short read is MISSING."""

    def __init__(self, bundle: BinaryIO, offset: int, size: int) -> None:
        self._bundle, self._offset, self._size = bundle, offset, size

    def pieces(self) -> Iterator[bytes]:
        self._bundle.seek(self._offset)
        left = self._size
        while left:
            piece = self._bundle.read(min(_FEED, left))
            if not piece:
                raise ItemRefused(MISSING)
            left -= len(piece)
            yield piece


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
    with_items = {entry.case for entry in manifest.items}
    with store.transaction():
        for listed in manifest.cases:
            case = cases.case_by_ref(store, listed.case)
            if case is None and listed.case not in with_items:
                continue  # a sync bundle's number for a case this desk never had
            if case is None:
                case = cases.insert_case(store, cases.new_case_record(listed, week))
                cases.add_entry(store, case, "history", event="first_imported")
                continue
            if case.record.reply_public_key != listed.reply_public_key:
                conflicting.add(listed.case)
                continue
            case.record.server_status = listed.status
            case.record.server_seq = listed.status_seq
            # Never go back: our own records may be ahead of what the server applied.
            case.record.last_seq = max(case.record.last_seq, listed.status_seq)
            resync.learn(store, case, listed.status_seq)  # records applied, restored desk
            cases.save_case(store, case)
    return conflicting


def _import_item(store: Store, keyring: Keyring, entry: BundleItem, source: _Source) -> None:
    item_index = store.ref_index("item", entry.item)
    with store.transaction() as db:
        case = cases.case_by_ref(store, entry.case)
        if case is None:  # _record_cases committed it; only a bug gets here
            raise ItemRefused(DESK_FAULT)
        cursor = db.execute(
            "INSERT INTO items (case_id, ref_index, record) VALUES (?, ?, ?)",
            (case.id, item_index, b""),
        )
        item_id = cursor.lastrowid or 0
        body = _BodyWriter(store, item_id, item_index)
        envelope = hashlib.sha256()
        head = bytearray()  # the envelope's header, for the item's seal
        meta = open_item(keyring.decryption_keys, _hashed(source.pieces(), envelope, head), body)
        body.finish()
        if envelope.hexdigest() != entry.sha256:
            # Authentic, yet not the bytes the manifest lists: kept aside, not trusted.
            raise ItemRefused(CHECKSUM)
        kind = str(meta["type"])
        claimed = meta.get("case_public_key")
        if claimed is not None:
            # The pinned key equals this manifest's (cases whose key changed never get
            # here), so this is the manifest check and the pin in one.
            if claimed != case.record.reply_public_key:
                raise ItemRefused(WRONG_CASE)
            case.record.key_confirmed = True
        created = meta.get("created")
        record: dict[str, Any] = {
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
            # Its signed place in the case, checked against the others when shown.
            "seal": completeness.seal_record(meta, bytes(head)),
        }
        if kind == "answers":
            answers = read_answers(bytes(body.kept))
            _note_answers(case.record, answers, meta, record["created"])
        elif case.record.received_week is None:
            case.record.received_week = record["created"]
        case.record.counts[kind] = case.record.counts.get(kind, 0) + 1
        db.execute(
            "UPDATE items SET record = ? WHERE id = ?",
            (store.seal(record, context("items", item_index)), item_id),
        )
        cases.save_case(store, case)


def _hashed(pieces: Iterable[bytes], digest: Any, head: bytearray) -> Iterator[bytes]:
    """The pieces as they come, hashed into ``digest``; their first bytes kept in ``head``."""
    for piece in pieces:
        digest.update(piece)
        if len(head) < completeness.HEADER_PREFIX:
            head.extend(piece[: completeness.HEADER_PREFIX - len(head)])
        yield piece


class _BodyWriter(BodySink):
    """Cut an item's body into stored chunks as it is decrypted; hash it on the way."""

    def __init__(self, store: Store, item_id: int, item_index: bytes) -> None:
        super().__init__()
        self._store, self._item_id, self._index = store, item_id, item_index
        self._buffer = bytearray()
        self.chunks = 0

    def add(self, data: bytes) -> None:
        super().add(data)
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


def _note_answers(
    record: cases.CaseRecord, answers: dict[str, Any], meta: dict[str, Any], week: str | None
) -> None:
    """Copy what the list filters on into the (encrypted) case record, once."""
    if record.questionnaire is not None:
        return  # a second answers item never overrides the first
    country, language = answers.get("country"), answers.get("language")
    record.country = country if isinstance(country, str) and _COUNTRY.match(country) else None
    record.language = language if isinstance(language, str) and _LANGUAGE.match(language) else None
    questionnaire = meta.get("questionnaire")
    record.detained = _detained(answers["answers"], questionnaire)
    record.questionnaire = questionnaire if isinstance(questionnaire, dict) else {}
    record.received_week = week or record.received_week


def _detained_basic(answers: dict[str, Any]) -> str | None:
    detained = answers.get("detained")
    return detained if isinstance(detained, str) else None


def _detained_istanbul(answers: dict[str, Any]) -> str | None:
    situation = answers.get("victim.situation")
    return SITUATION_AS_DETAINED.get(situation, "unknown") if isinstance(situation, str) else None


# "Still detained?" for the case list, for every registered questionnaire version
# (service.common.questionnaire.known.KNOWN): intake-basic asks it as ``detained``,
# istanbul as the person's situation. tests/questionnaire/test_versions.py keeps it complete.
DETAINED: dict[tuple[str, int], Callable[[dict[str, Any]], str | None]] = {
    (BASIC.id, BASIC.version): _detained_basic,
    (ISTANBUL.id, ISTANBUL.version): _detained_istanbul,
    (ISTANBUL_V2.id, ISTANBUL_V2.version): _detained_istanbul,
}


def _detained(answers: dict[str, Any], questionnaire: object) -> str | None:
    key = key_of(questionnaire) if isinstance(questionnaire, dict) else None
    reader = DETAINED.get(key) if key is not None else None
    return reader(answers) if reader is not None else None


# --- quarantine ---------------------------------------------------------------------


@dataclass(frozen=True)
class QuarantinedItem:
    """An item set aside on this desk, as ``aryz desk quarantine`` and the web desk list
    it. ``acknowledged``: a ``quarantine`` record tells (or told) the server to drop it;
    otherwise the server keeps it and a later bundle brings it again. ``kept``: its
    sealed bytes are in the quarantine folder."""

    item: str
    case: str
    reason: str
    acknowledged: bool
    date: str
    kept: bool


def quarantined_items(store: Store, directory: Path | None) -> list[QuarantinedItem]:
    """Every item in quarantine (the latest reason of each), unless it imported later.

    ``directory`` is the desk folder, to say whether the sealed bytes are kept (None:
    not asked, ``kept`` is False)."""
    latest: dict[str, QuarantinedItem] = {}
    for case in cases.all_cases(store):
        for entry in cases.entries_of(store, case):
            if entry.get("kind") != "history" or entry.get("event") != "quarantined":
                continue
            item = str(entry.get("item"))
            latest[item] = QuarantinedItem(
                item=item,
                case=case.ref,
                reason=REASONS.get(str(entry.get("reason")), UNREADABLE),
                acknowledged=bool(entry.get("acknowledged")),
                date=str(entry.get("date")),
                kept=directory is not None
                and (directory / QUARANTINE_DIR / f"{item}.bin").is_file(),
            )
    return [q for q in latest.values() if not cases.item_known(store, q.item)]


def _set_aside(
    store: Store,
    directory: Path,
    where: tuple[BinaryIO, int],
    entry: BundleItem,
    reason: str,
    held: dict[str, QuarantinedItem],
) -> ItemProblem:
    """Keep the item's sealed bytes, record why, and acknowledge it if it is its fault.

    An item set aside again for the reason already recorded (a damaged bundle imported
    twice) adds nothing to its case's history."""
    kept, intact = _keep_sealed(directory, *where, entry)
    if reason in ACKNOWLEDGED_REASONS and not intact:
        # The bytes are not the ones listed: the server's copy may be good.
        reason = CHECKSUM
    acknowledge = reason in ACKNOWLEDGED_REASONS
    before = held.get(entry.item)
    if before is not None and before.reason == reason and not acknowledge:
        return ItemProblem(entry.item[:REF_PREFIX], reason, kept, False)
    try:
        with store.transaction():
            case = cases.case_by_ref(store, entry.case)
            if case is not None:
                cases.add_entry(
                    store,
                    case,
                    "history",
                    event="quarantined",
                    item=entry.item,
                    reason=REASON_CODES[reason],
                    acknowledged=acknowledge,
                )
                if acknowledge:
                    cases.add_outgoing(store, case, {"type": "quarantine", "items": [entry.item]})
            else:
                acknowledge = False
    except DiskFullError:
        raise
    except DeskStoreError:
        acknowledge = False
    return ItemProblem(entry.item[:REF_PREFIX], reason, kept, acknowledge)


def retry_quarantined(store: Store, keyring: Keyring, directory: Path) -> ImportReport:
    """Try every item in quarantine again from its kept sealed bytes.

    For an item set aside while a key was missing (a desk running across a rotation) or
    by a fault of an older desk. What imports now leaves the quarantine (its sealed copy
    is deleted: the item is in the store); the rest stays as it was, with its recorded
    reason — a retry records nothing and acknowledges nothing.
    """
    held = [q for q in quarantined_items(store, directory) if q.kept]
    imported = 0
    problems: list[ItemProblem] = []
    for q in held:
        path = directory / QUARANTINE_DIR / f"{q.item}.bin"
        reason = None
        try:
            with path.open("rb") as sealed_copy:
                digest = hashlib.sha256()
                for piece in iter(lambda: sealed_copy.read(_FEED), b""):  # noqa: B023
                    digest.update(piece)
                size = sealed_copy.tell()
                entry = BundleItem(q.item, q.case, size, digest.hexdigest())
                _import_item(store, keyring, entry, _Source(sealed_copy, 0, size))
        except DiskFullError:
            raise
        except ItemRefused as bad:
            reason = bad.reason
        except (DeskStoreError, OSError):
            reason = STORE_FAILED
        except Exception:  # noqa: BLE001 - one item never stops the others
            reason = DESK_FAULT
        if reason is None:
            imported += 1
            _forget_sealed_copy(directory, q.item)
        else:
            problems.append(ItemProblem(q.item[:REF_PREFIX], reason, True, q.acknowledged))
    return ImportReport(len(held), imported, 0, tuple(problems))


def _forget_sealed_copy(directory: Path, item: str) -> None:
    """The item is in the store now: its quarantined sealed copy is not needed."""
    with contextlib.suppress(OSError):
        (directory / QUARANTINE_DIR / f"{item}.bin").unlink(missing_ok=True)


def _keep_sealed(
    directory: Path, bundle: BinaryIO, offset: int, entry: BundleItem
) -> tuple[bool, bool]:
    """Copy the item's bytes, as they are in the bundle, to ``quarantine/<ref>.bin``.

    Streams in pieces; returns (kept, intact): intact when every listed byte was there
    and their SHA-256 is the manifest's. The file holds ciphertext exactly as it came:
    evidence of what arrived, and something to try again with once a key or a fresh copy
    is found.
    """
    folder = directory / QUARANTINE_DIR
    # entry.item is 32 lowercase hex digits (bundle.parse_manifest checks), so this name
    # cannot leave the folder.
    target = folder / f"{entry.item}.bin"
    temp = folder / f".{entry.item}.{secrets.token_hex(6)}.partial"
    digest, copied = hashlib.sha256(), 0
    try:
        files.make_private_dir(folder)
        out = files.open_private(temp)
        try:
            try:
                bundle.seek(offset)
                while copied < entry.size:
                    piece = bundle.read(min(_FEED, entry.size - copied))
                    if not piece:
                        break
                    digest.update(piece)
                    copied += len(piece)
                    out.write(piece)
                files.sync(out)
            finally:
                out.close()
            if copied:
                os.replace(temp, target)
                files.fsync_dir(folder)
        finally:
            temp.unlink(missing_ok=True)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError() from None
        return False, False
    except DeskStoreError as exc:
        if isinstance(exc, DiskFullError):
            raise
        return False, False
    intact = copied == entry.size and digest.hexdigest() == entry.sha256
    return copied > 0, intact
