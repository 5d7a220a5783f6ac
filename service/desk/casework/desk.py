"""The desk's Python API: what the ``aryz desk`` commands and the desk web app call.

::

    ceremony = init_desk(folder, "kz-coalition", passphrase)   # key ceremony, once
    with open_desk(folder, passphrase) as desk:                # one Argon2id unlock
        report = desk.import_bundle(bundle_path, progress=print_progress)
        for case in desk.list_cases(CaseFilter(still_detained=True), sort="priority"):
            ...
        detail = desk.get_case("1a2b3c")                        # a unique prefix, >= 6
        desk.set_triage("1a2b3c", status="under_review", priority="urgent")
        desk.add_note("1a2b3c", "Lawyer informed.")
        desk.add_reply("1a2b3c", "We have your report and will contact you.")
        desk.export_outbox(Path("/media/stick/outbox-2026-W48.json"))
        original = desk.attachment_bytes(item_ref)
        copy = desk.stripped_copy(item_ref)                     # None: not JPEG/PNG/PDF

Values returned are plain frozen dataclasses holding *untrusted* text from submitters
(answers, filenames, messages): escape it for whatever displays it (HTML, a terminal).
A :class:`Desk` serialises its own calls with a lock, so one unlocked desk may serve a
local web app's threads.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import service.common.files as files
import service.desk.casework.cases as cases
import service.desk.casework.staff as staff
import service.desk.casework.transfer as transfer
import service.desk.inbox.strip as strip
import service.desk.stats.casework as casework
import service.desk.stats.outcomes as outcomes
import service.desk.stats.tables as stats
import service.desk.store.keys as keys
from service.common.clock import current_week
from service.common.contract.bundle import BundleError
from service.common.contract.outbox import MAX_REPLY_BYTES
from service.common.contract.vocabulary import COUNTRY_CODES, PRIORITIES, STATUSES
from service.common.crypto.envelope import seal
from service.common.crypto.payload import encode_payload_prefix
from service.common.crypto.wrap import KdfLimits
from service.common.passphrase import check_strength
from service.common.text import has_controls, single_line
from service.desk.casework.completeness import Completeness, check_case
from service.desk.casework.export import ExportReport, export_outbox
from service.desk.errors import (
    DeskDamagedError,
    DeskExistsError,
    ItemNotFoundError,
    ReplyError,
    ReplyKeyUnconfirmedError,
    StaffError,
    TriageError,
)
from service.desk.inbox.importer import (
    QUARANTINE_DIR,
    ImportReport,
    Progress,
    QuarantinedItem,
    import_bundle,
    quarantined_items,
    retry_quarantined,
)
from service.desk.store import coalitions
from service.desk.store.coalitions import KnownCoalition
from service.desk.store.database import DB_FILE, Store, chunk_context
from service.desk.store.keys import Keyring, PublicKeys
from service.desk.store.spare import refuse_if_spare

if TYPE_CHECKING:
    from service.common.questionnaire.reading import Reading
    from service.desk.casework.resync import ReceiptReport, RecordView
    from service.desk.store.backup import BackupReport

SORTS = ("received", "priority", "status")
MAX_NOTE_BYTES = 100_000
MAX_LABEL_CHARS = 200

__all__ = [
    "SORTS",
    "BackupState",
    "CaseDetail",
    "CaseFilter",
    "CaseSummary",
    "Ceremony",
    "Desk",
    "ExportReport",
    "HistoryEntry",
    "ImportReport",
    "ItemView",
    "MessageView",
    "QuarantinedItem",
    "NoteView",
    "ReplyView",
    "Rotation",
    "init_desk",
    "open_desk",
    "readable_answers",
    "rotate_key",
]


# --- key ceremony ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ceremony:
    """What ``init_desk`` made: public facts to print and the files to hand on."""

    directory: Path
    public: PublicKeys
    limits: KdfLimits
    public_key_file: Path
    courier_file: Path


@dataclass(frozen=True)
class Rotation:
    epoch: int
    public: PublicKeys
    limits: KdfLimits
    public_key_file: Path


def init_desk(
    directory: Path,
    coalition: str,
    passphrase: str,
    limits: KdfLimits | None = None,
    *,
    name: str | None = None,
) -> Ceremony:
    """Create a desk in a new or empty folder: keys, store, registry snippet, credential.

    ``limits`` defaults to :func:`keys.kdf_limits_from_env` (sensitive unless
    ``ARYZ_DESK_KDF=minimum``). Refuses a weak passphrase before doing anything.
    ``name``: the first staff member's name (named staff); without it the desk has one
    passphrase and writes no names (a member can be named later, ``Desk.name_first``).
    """
    check_strength(passphrase)
    if name is not None:
        name = staff.check_name(name)
    keys.check_coalition_id(coalition)
    limits = limits or keys.kdf_limits_from_env()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise DeskExistsError()
    files.make_private_dir(directory)
    made = [
        keys.KEYS_FILE,
        keys.COURIER_FILE,
        keys.PUBLIC_KEY_FILE,
        DB_FILE,
        DB_FILE + "-wal",
        DB_FILE + "-shm",
    ]
    try:
        keyring, _courier = keys.create_keys(
            directory, coalition, passphrase, limits, named=name is not None
        )
        store = Store.create(directory / DB_FILE, keyring.store_key)
        try:
            if name is not None and keyring.member is not None:
                with store.transaction():
                    staff.record_member(store, keyring.member, name, None)
        finally:
            store.close()
        snippet = keys.public_key_toml(keyring.public)
        files.write_new(directory / keys.PUBLIC_KEY_FILE, snippet.encode("utf-8"))
    except BaseException:
        # Half a desk is worse than none: the next init must find an empty folder.
        for name in made:
            (directory / name).unlink(missing_ok=True)
        raise
    return Ceremony(
        directory,
        keyring.public,
        limits,
        directory / keys.PUBLIC_KEY_FILE,
        directory / keys.COURIER_FILE,
    )


def rotate_key(directory: Path, passphrase: str, limits: KdfLimits | None = None) -> Rotation:
    """Add the next X25519 epoch and write its registry block to ``public-key.toml``."""
    keyring, epoch = keys.rotate(directory, passphrase, limits or keys.kdf_limits_from_env())
    block = keys.public_key_toml(keyring.public, epoch)
    files.replace(directory / keys.PUBLIC_KEY_FILE, block.encode("utf-8"))
    return Rotation(epoch, keyring.public, keyring.limits, directory / keys.PUBLIC_KEY_FILE)


def open_desk(directory: Path, passphrase: str) -> Desk:
    """Unlock the desk in ``directory`` (one Argon2id derivation) and open its store."""
    keyring = keys.unlock(directory, passphrase)
    return desk_from_keyring(directory, keyring)


def desk_from_keyring(directory: Path, keyring: Keyring) -> Desk:
    """Open the store of an already unlocked desk (``open_desk``, or an unlocked session)."""
    store = Store.open(directory / DB_FILE, keyring.store_key)
    store.actor = keyring.member
    return Desk(directory, keyring, store)


# --- views ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilter:
    """Filters for :meth:`Desk.list_cases`; None (or False) means "any"."""

    status: str | None = None
    country: str | None = None
    still_detained: bool = False
    week: str | None = None  # ISO week the case was received, e.g. "2026-W47"
    language: str | None = None


@dataclass(frozen=True)
class CaseSummary:
    ref: str  # 32 hex digits, the server's case reference
    received_week: str | None
    country: str | None
    language: str | None
    status: str
    priority: str
    assignee: str | None
    tags: tuple[str, ...]
    counts: dict[str, int]  # items by type: answers, file, message
    detained: str | None  # the answer to "still detained?": yes, no, deceased, unknown
    pending: int  # records waiting for the next outbox

    @property
    def short_ref(self) -> str:
        return self.ref[:12]

    @property
    def item_count(self) -> int:
        return sum(self.counts.values())

    @property
    def still_detained(self) -> bool:
        return self.detained == "yes"


@dataclass(frozen=True)
class ItemView:
    ref: str
    type: str  # answers, file, message
    created: str | None  # ISO week the submitter sent it
    name: str | None  # a file's name as the submitter's browser gave it (untrusted)
    media_type: str | None  # as declared by the submitter's browser (untrusted)
    size: int  # bytes of the decrypted original
    sha256: str  # of the decrypted original
    envelope_sha256: str  # of the sealed item as it arrived (chain of custody)
    imported: str  # date imported on this desk
    acknowledged: bool  # an ack record names it (the server deletes it on delivery)
    meta: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class MessageView:
    item_ref: str
    created: str | None
    text: str


@dataclass(frozen=True)
class NoteView:
    date: str
    text: str
    by: str | None = None  # the staff member's name (None: a desk without named staff)
    week: str | None = None  # ISO week written (None: written before schema 3)


@dataclass(frozen=True)
class ReplyView:
    date: str
    text: str
    seq: int
    exported: bool
    by: str | None = None
    week: str | None = None


@dataclass(frozen=True)
class HistoryEntry:
    date: str
    event: str  # first_imported, status, priority, assignee, tags, reply, acknowledged, …
    details: dict[str, Any]
    by: str | None = None
    week: str | None = None


@dataclass(frozen=True)
class CaseDetail:
    summary: CaseSummary
    server_status: str
    reply_key_confirmed: bool
    questionnaire: dict[str, Any] | None  # {"id", "version", "sha256"} of the answers
    # answer key → value, as sent: a string, a list of codes, or a repeatable section's
    # entries (service.common.questionnaire); read them with readable_answers()
    answers: dict[str, Any]
    items: tuple[ItemView, ...]
    messages: tuple[MessageView, ...]
    notes: tuple[NoteView, ...]
    replies: tuple[ReplyView, ...]
    history: tuple[HistoryEntry, ...]
    # Whether the server delivered every item, once, in order (casework/completeness.py).
    completeness: Completeness | None = None
    # The urgent lane: the few answers the person also agreed to give the duty officer,
    # and whether a duty key received them ({"answers": {...}, "sent": bool}), or None.
    urgent: dict[str, Any] | None = None


@dataclass(frozen=True)
class BackupState:
    last_date: str | None  # local date of the last backup written (or restored from)
    not_held: int  # imported items that no backup holds yet
    recovery: tuple[int, int] | None  # (threshold, shares) once shares were drawn

    @property
    def reminder(self) -> bool:
        """True when a report was imported after the last backup."""
        return self.not_held > 0


# --- the desk -------------------------------------------------------------------------


class Desk:
    """An unlocked desk. Close it (or use ``with``) when done."""

    def __init__(self, directory: Path, keyring: Keyring, store: Store) -> None:
        """Use :func:`open_desk`."""
        self.directory = directory
        self._keyring = keyring
        self._store = store
        self._lock = threading.RLock()

    def __enter__(self) -> Desk:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._store.close()

    @property
    def coalition(self) -> str:
        return self._keyring.coalition

    @property
    def public(self) -> PublicKeys:
        return self._keyring.public

    @property
    def limits(self) -> KdfLimits:
        """The Argon2id limits the key file is wrapped with."""
        return self._keyring.limits

    @property
    def member(self) -> str | None:
        """The name of the staff member who unlocked the desk (None: no named staff)."""
        if self._keyring.member is None:
            return None
        return staff.names(self._store).get(self._keyring.member)

    # --- named staff ------------------------------------------------------------------

    def staff_members(self) -> list[staff.StaffMember]:
        """Every member the desk ever had (removed ones too: their names stay on entries)."""
        with self._lock:
            return staff.members(self._store)

    def name_first(self, name: str, passphrase: str) -> None:
        """Give a desk without named staff its first member: whoever holds ``passphrase``
        (the one that opened it) becomes ``name``. One Argon2id derivation."""
        name = staff.check_name(name)
        with self._lock:
            refuse_if_spare(self.directory)
            if self._keyring.member is not None:
                raise StaffError()
            keys.unlock(self.directory, passphrase)  # it must be this desk's passphrase
            keyring, staff_file = keys.first_member(self._keyring, passphrase, self.limits)
            with self._store.transaction():
                # A desk restored with recovery shares has a one-passphrase key file again:
                # none of the members the store remembers can open it any more.
                for member in staff.members(self._store):
                    if member.active:
                        staff.mark_removed(self._store, member.id)
                staff.record_member(self._store, str(keyring.member), name, None)
                keys.write_staff_file(self.directory, keyring, staff_file, new=False)
            self._keyring = keyring
            self._store.actor = keyring.member

    def add_staff(self, name: str, passphrase: str) -> None:
        """Let the holder of ``passphrase`` open this desk as ``name``."""
        name = staff.check_name(name)
        check_strength(passphrase)
        with self._lock:
            refuse_if_spare(self.directory)
            if self._keyring.member is None:
                raise StaffError()
            adder = self.member
            with self._store.transaction():
                # The row first: if writing keys.json fails, the transaction rolls back.
                member = keys.add_member(self.directory, self._keyring, passphrase)
                staff.record_member(self._store, member, name, adder)

    def remove_staff(self, name: str) -> None:
        """Close the desk to ``name``: their entry goes, and the desk key changes."""
        with self._lock:
            refuse_if_spare(self.directory)
            member = staff.find(self._store, name)
            with self._store.transaction():
                staff.mark_removed(self._store, member.id)
                self._keyring = keys.remove_member(self.directory, self._keyring, member.id)

    @property
    def quarantine(self) -> Path:
        return self.directory / QUARANTINE_DIR

    # --- bundles and outboxes ---------------------------------------------------------

    def import_bundle(self, path: Path, progress: Progress | None = None) -> ImportReport:
        """Import a bundle file; see :mod:`service.desk.inbox.importer` for the rules."""
        with self._lock:
            refuse_if_spare(self.directory)
            try:
                stream = path.open("rb")
            except OSError:
                raise BundleError("The bundle file cannot be read.") from None
            with stream:
                return import_bundle(self._store, self._keyring, self.directory, stream, progress)

    def quarantined(self) -> list[QuarantinedItem]:
        """Items set aside at import, each with its reason (see service.desk.inbox.importer)."""
        with self._lock:
            return quarantined_items(self._store, self.directory)

    def retry_quarantine(self) -> ImportReport:
        """Try the items in quarantine again (after a key rotation, or a desk update)."""
        with self._lock:
            refuse_if_spare(self.directory)
            return retry_quarantined(self._store, self._keyring, self.directory)

    def export_outbox(self, path: Path) -> ExportReport:
        """Write every pending record to a new, signed outbox file at ``path``."""
        with self._lock:
            refuse_if_spare(self.directory)
            return export_outbox(self._store, self._keyring, path)

    # --- receipts (service/desk/casework/resync.py) ---------------------------------------------

    def import_receipt(self, path: Path) -> ReceiptReport:
        """Learn from a courier's receipt which records the server applied or refused."""
        from service.desk.casework.resync import import_receipt

        with self._lock:
            refuse_if_spare(self.directory)
            return import_receipt(self._store, self._keyring.coalition, path)

    def send_again(self) -> int:
        """Put every record sent without a receipt into the next export (a lost outbox)."""
        from service.desk.casework.resync import send_again

        with self._lock:
            refuse_if_spare(self.directory)
            return send_again(self._store)

    def records(self, ref_prefix: str) -> list[RecordView]:
        """A case's outgoing records with their state: waiting, sent, applied, refused."""
        from service.desk.casework.resync import records_of

        with self._lock:
            return records_of(self._store, cases.resolve(self._store, ref_prefix))

    # --- backups (service/desk/store/backup.py) ---------------------------------------------

    def backup(self, out_dir: Path) -> BackupReport:
        """Write an encrypted, authenticated backup of the whole desk into ``out_dir``."""
        from service.desk.store.backup import write_backup

        with self._lock:
            refuse_if_spare(self.directory)
            return write_backup(self._store, self._keyring, self.directory, out_dir)

    def draw_recovery_shares(self, threshold: int, count: int) -> list[str]:
        """Draw a new recovery secret; return its ``count`` shares (any ``threshold``
        of them open every backup written from now on). The shares are not kept."""
        import service.desk.store.backup as backup
        import service.desk.store.recovery as recovery

        recovery.check_counts(threshold, count)
        with self._lock:
            refuse_if_spare(self.directory)
            key, shares = recovery.split(threshold, count)
            backup.set_recovery(self._store, key, threshold, count)
            return shares

    def backup_state(self) -> BackupState:
        """When the last backup was made and how many imported items no backup holds."""
        from service.desk.store.backup import LAST_BACKUP, RECOVERY

        with self._lock:
            last = self._store.get_meta(LAST_BACKUP)
            (unheld,) = self._store.connection.execute(
                "SELECT count(*) FROM items WHERE held = 0"
            ).fetchone()
            recovery = self._store.get_meta(RECOVERY)
        return BackupState(
            last_date=None if last is None else str(last["date"]),
            not_held=int(unheld),
            recovery=None if recovery is None else (recovery["threshold"], recovery["shares"]),
        )

    # --- reading ----------------------------------------------------------------------

    def list_cases(
        self, filters: CaseFilter | None = None, sort: str = "received"
    ) -> list[CaseSummary]:
        """Case summaries matching ``filters``, sorted by ``sort`` (one of :data:`SORTS`)."""
        if sort not in SORTS:
            raise ValueError("unknown sort")
        wanted = filters or CaseFilter()
        with self._lock:
            pending = self._pending_counts()
            summaries = [
                _summary(case.record, pending.get(case.id, 0))
                for case in cases.all_cases(self._store)
            ]
        summaries = [s for s in summaries if _matches(s, wanted)]
        summaries.sort(key=_SORT_KEYS[sort])
        return summaries

    def get_case(self, ref_prefix: str) -> CaseDetail:
        """Everything the desk holds on one case, decrypted."""
        with self._lock:
            case = cases.resolve(self._store, ref_prefix)
            return self._detail(case)

    def attachment_bytes(self, item_ref: str) -> bytes:
        """The decrypted original of an item, checked against its stored SHA-256."""
        with self._lock:
            item = cases.item_by_ref(self._store, item_ref)
            if item is None:
                raise ItemNotFoundError()
            return self._body(item)

    def attachment_pieces(self, item_ref: str) -> tuple[int, Iterator[bytes]]:
        """The decrypted original of an item as its size and its pieces (1 MiB each).

        Only one piece is in memory at a time. The SHA-256 is checked after the last
        piece: on damage the iterator raises :class:`DeskDamagedError` instead of
        ending, so whoever streams the file must discard what it got (a download is cut
        short of its announced length). Each piece takes the desk's lock on its own.
        """
        with self._lock:
            item = cases.item_by_ref(self._store, item_ref)
            if item is None:
                raise ItemNotFoundError()
        return int(item.record["size"]), self._pieces(item)

    def _pieces(self, item: cases.ItemRow) -> Iterator[bytes]:
        record = item.record
        digest = hashlib.sha256()
        size = 0
        count = int(record["chunks"])
        for idx in range(count):
            with self._lock:
                row = self._store.connection.execute(
                    "SELECT data FROM item_chunks WHERE item_id = ? AND idx = ?", (item.id, idx)
                ).fetchone()
                if row is None:
                    raise DeskDamagedError()
                piece = self._store.unseal_bytes(row[0], chunk_context(item.index, idx))
            digest.update(piece)
            size += len(piece)
            if size > record["size"]:
                raise DeskDamagedError()
            if idx == count - 1:
                _check_whole(record, size, digest)  # before the last piece leaves
            yield piece
        if count == 0:
            _check_whole(record, size, digest)

    def stripped_copy(self, item_ref: str) -> bytes | None:
        """A safe copy of a file item (JPEG, PNG, PDF), or None for another type.

        Made in the cage (:mod:`service.desk.inbox.sandbox`) from the pixels alone: see
        :mod:`service.desk.inbox.strip` for exactly what survives. The original is not
        touched; the copy is returned, never stored. Raises :class:`StripError` when no
        safe copy could be made.
        """
        with self._lock:
            item = cases.item_by_ref(self._store, item_ref)
            if item is None:
                raise ItemNotFoundError()
            if item.record["type"] != "file":
                return None
        return strip.stripped(self._pieces(item), int(item.record["size"]))

    # --- triage -----------------------------------------------------------------------

    def set_triage(
        self,
        ref_prefix: str,
        *,
        status: str | None = None,
        priority: str | None = None,
        assignee: str | None = None,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        note: str | None = None,
        answer_by: str | None = None,
        country: str | None = None,
    ) -> CaseSummary:
        """Change a case's workflow fields; a new status is queued for the next outbox.

        ``country`` corrects the country the person chose (a case filed under the wrong
        country, or passed here from another coalition): desk-only, never in an outbox; the
        statistics count the case under the new country from then on.

        ``answer_by`` (an ISO week, ``2026-W50``) goes out with the status, signed: the
        family's status page says "answer expected by week …" (the peer review's item 2).

        ``assignee=""`` clears the assignee; None leaves it as it is. ``note`` adds an
        internal note in the same transaction: all of it is saved, or none.
        """
        if status is not None and status not in STATUSES:
            raise TriageError()
        if answer_by is not None and not re.fullmatch(
            r"[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])", answer_by
        ):
            raise TriageError("The answer week is an ISO week, e.g. 2026-W50.")
        if priority is not None and priority not in PRIORITIES:
            raise TriageError()
        if country is not None and country not in COUNTRY_CODES:
            raise TriageError("The country is one of " + ", ".join(COUNTRY_CODES) + ".")
        new_assignee = None if assignee is None else _label(assignee, allow_empty=True)
        adding = [_label(t) for t in add_tags]
        removing = [_label(t) for t in remove_tags]
        note_text = None if note is None else _text(note, MAX_NOTE_BYTES, TriageError)
        with self._lock, self._changing(ref_prefix) as case:
            record = case.record
            if (status is not None and status != record.status) or answer_by is not None:
                new_status = status if status is not None else record.status
                body = {"type": "status", "status": new_status}
                if answer_by is not None:
                    body["answer_by"] = answer_by
                cases.add_outgoing(self._store, case, body)
                if new_status != record.status:
                    self._history(case, "status", old=record.status, new=new_status)
                record.status = new_status
            if priority is not None and priority != record.priority:
                self._history(case, "priority", old=record.priority, new=priority)
                record.priority = priority
            if country is not None and country != record.country:
                self._history(case, "country", old=record.country, new=country)
                record.country = country
                record.facts = None  # derived with the old country (a region must be its own)
            if new_assignee is not None and (new_assignee or None) != record.assignee:
                self._history(case, "assignee", old=record.assignee, new=new_assignee or None)
                record.assignee = new_assignee or None
            tags = list(record.tags)
            added = [t for t in dict.fromkeys(adding) if t not in tags]
            removed = [t for t in dict.fromkeys(removing) if t in tags]
            if added or removed:
                record.tags = [t for t in tags if t not in removed] + added
                self._history(case, "tags", added=added, removed=removed)
            if note_text is not None:
                cases.add_entry(self._store, case, "note", text=note_text)
            cases.save_case(self._store, case)
            return _summary(record, self._pending_counts().get(case.id, 0))

    def add_note(self, ref_prefix: str, text: str) -> None:
        """Add an internal note to a case (never sent anywhere)."""
        note = _text(text, MAX_NOTE_BYTES, TriageError)
        with self._lock, self._changing(ref_prefix) as case:
            cases.add_entry(self._store, case, "note", text=note)

    def add_reply(self, ref_prefix: str, text: str) -> int:
        """Seal a reply to the case's reply key and queue it; return its sequence number.

        Only the person holding the case token can read it. Refused unless one of the
        case's sealed items confirmed the reply key (see :mod:`service.desk.inbox.importer`).
        """
        reply = _text(text, MAX_REPLY_BYTES, ReplyError)
        with self._lock, self._changing(ref_prefix) as case:
            if not case.record.key_confirmed:
                raise ReplyKeyUnconfirmedError()
            meta = {"type": "reply", "created": current_week()}
            plaintext = encode_payload_prefix(meta) + reply.encode("utf-8")
            to = [bytes.fromhex(case.record.reply_public_key)]
            # Padded to its size class (ENVELOPE-v3.md) so the server's copy does not tell
            # the reply's length; a reply near the outbox limit stays unpadded (v1) rather
            # than be refused for its padding.
            envelope = seal(plaintext, to, padded=True)
            if len(envelope) > MAX_REPLY_BYTES:
                envelope = seal(plaintext, to)
            if len(envelope) > MAX_REPLY_BYTES:
                raise ReplyError()
            body = {"type": "reply", "reply": base64.b64encode(envelope).decode("ascii")}
            seq = cases.add_outgoing(self._store, case, body)
            cases.add_entry(self._store, case, "reply", text=reply, seq=seq)
            self._history(case, "reply", seq=seq)
            return seq

    # --- legal path and statistics (desk-only: never in an outbox) ---------------------

    def add_outcome(
        self,
        ref_prefix: str,
        event: str,
        on: str,
        values: Mapping[str, str] | None = None,
        note: str | None = None,
    ) -> outcomes.OutcomeEvent:
        """Record one step of a case's legal path; see :mod:`service.desk.stats.outcomes`."""
        with self._lock, self._changing(ref_prefix) as case:
            checked = outcomes.check_event(event, on, values or {}, note, case.record.country)
            casework.record_event(self._store, case, checked)
            return checked

    def outcomes(self, ref_prefix: str) -> list[outcomes.OutcomeEvent]:
        """The case's legal-path events, by date."""
        with self._lock:
            return casework.events_of(self._store, cases.resolve(self._store, ref_prefix))

    def remove_outcome(self, ref_prefix: str, event_id: str) -> None:
        """Withdraw a mistaken event (a removal entry is kept; nothing is erased)."""
        with self._lock, self._changing(ref_prefix) as case:
            casework.record_removal(self._store, case, event_id)

    # --- other coalitions and transfers (service/desk/casework/transfer.py) ---------------

    def add_coalition(self, path: Path, signing_fingerprint: str) -> tuple[KnownCoalition, bool]:
        """Learn another coalition's keys from a registry file, checked against the
        signing fingerprint its people read out; returns it and whether it was new."""
        with self._lock:
            refuse_if_spare(self.directory)
            found = coalitions.read_entry(path, signing_fingerprint, self.coalition)
            with self._store.transaction():
                added = coalitions.add(self._store, found)
            return found, added

    def known_coalitions(self) -> list[KnownCoalition]:
        with self._lock:
            return sorted(coalitions.known(self._store).values(), key=lambda c: c.id)

    def transfer(
        self, ref_prefix: str, to: str, *, note: str | None = None, consent_in_message: bool
    ) -> int:
        """Queue passing the case to coalition ``to``; returns the record's number. The
        items are re-sealed to its keys when the outbox is written."""
        note_text = None if note is None else _text(note, MAX_NOTE_BYTES, TriageError)
        with self._lock, self._changing(ref_prefix) as case:
            seq = transfer.queue(
                self._store, self.coalition, case, to, consent_in_message=consent_in_message
            )
            self._history(case, "transferred", to=to, consent_in_message=consent_in_message)
            if note_text:
                cases.add_entry(self._store, case, "note", text=note_text)
            return seq

    def cancel_transfer(self, ref_prefix: str) -> str:
        """Take back the case's queued transfer (until exported, or after the server refused
        its outbox); returns the coalition it was for. The case is this desk's again."""
        with self._lock, self._changing(ref_prefix) as case:
            to = transfer.cancel(self._store, case)
            self._history(case, "transfer_cancelled", to=to)
            return to

    def statistics(self, options: stats.Options | None = None) -> stats.Statistics:
        """Publishable statistics over every case; see :mod:`service.desk.stats.tables`.

        A case's facts are derived from its answers once and cached, encrypted, in its
        record (cases imported before this version get theirs on the first call).
        """
        with self._lock:
            inputs = []
            missing = []
            passed_on = 0
            for case in cases.all_cases(self._store):
                if case.record.transferred_to is not None:
                    # Counted by the coalition it was passed to, once, not here.
                    passed_on += 1
                    continue
                found = casework.cached_facts(case)
                if found is None:
                    found = casework.derive_facts(self._store, case, self._body)
                    missing.append((case, found))
                events = tuple(casework.events_of(self._store, case))
                inputs.append(stats.CaseInput(found, events))
            if missing:
                with self._store.transaction():
                    for case, found in missing:
                        case.record.facts = found.to_record()
                        cases.save_case(self._store, case)
        return replace(stats.compute(inputs, options), transferred=passed_on)

    # --- internals --------------------------------------------------------------------

    @contextmanager
    def _changing(self, ref_prefix: str) -> Iterator[cases.CaseRow]:
        refuse_if_spare(self.directory)  # a spare only reads (service/desk/store/spare.py)
        with self._store.transaction():
            yield cases.resolve(self._store, ref_prefix)

    def _history(self, case: cases.CaseRow, event: str, **details: Any) -> None:
        cases.add_entry(self._store, case, "history", event=event, **details)

    def _pending_counts(self) -> dict[int, int]:
        rows = self._store.connection.execute(
            "SELECT case_id, count(*) FROM outgoing WHERE exported IN (0, 3) GROUP BY case_id"
        )
        return {case_id: count for case_id, count in rows}

    def _body(self, item: cases.ItemRow) -> bytes:
        record = item.record
        data = b"".join(self._store.read_chunks(item.id, item.index, int(record["chunks"])))
        if len(data) != record["size"] or hashlib.sha256(data).hexdigest() != record["sha256"]:
            raise DeskDamagedError()
        return data

    def _detail(self, case: cases.CaseRow) -> CaseDetail:
        record = case.record
        items = cases.items_of(self._store, case)
        answers: dict[str, Any] = {}
        urgent: dict[str, Any] | None = None
        messages = []
        for item in items:
            kind = item.record["type"]
            if kind == "answers" and not answers:
                body = json.loads(self._body(item))
                answers = dict(body["answers"])
                lane = body.get("urgent")
                urgent = dict(lane) if isinstance(lane, dict) else None
            elif kind == "message":
                text = self._body(item).decode("utf-8", errors="replace")
                messages.append(MessageView(item.ref, item.record["created"], text))
        exported = {seq: done for seq, _body, done in cases.outgoing_of(self._store, case)}
        notes, replies, history = [], [], []
        who = staff.names(self._store)
        for entry in cases.entries_of(self._store, case):
            kind = entry.pop("kind")
            date = entry.pop("date")
            member, week = entry.pop("by", None), entry.pop("week", None)
            by = None if member is None else who.get(member, f"({member[:6]})")
            if kind == "note":
                notes.append(NoteView(date, entry["text"], by, week))
            elif kind == "reply":
                seq = int(entry["seq"])
                replies.append(
                    ReplyView(date, entry["text"], seq, exported.get(seq, False), by, week)
                )
            elif kind in ("outcome", "outcome_removed"):
                continue  # the legal path: Desk.outcomes
            else:
                history.append(HistoryEntry(date, entry.pop("event"), entry, by, week))
        return CaseDetail(
            summary=_summary(record, sum(1 for done in exported.values() if not done)),
            server_status=record.server_status,
            reply_key_confirmed=record.key_confirmed,
            questionnaire=record.questionnaire,
            answers=answers,
            items=tuple(_item_view(i) for i in items),
            messages=tuple(messages),
            notes=tuple(notes),
            replies=tuple(replies),
            history=tuple(history),
            completeness=check_case(
                [(i.ref, i.record.get("seal")) for i in items if "seal" in i.record],
                # Imported before this desk knew seals: the case's older items.
                legacy=sum(1 for i in items if "seal" not in i.record),
            ),
            urgent=urgent,
        )


def readable_answers(detail: CaseDetail) -> Reading:
    """The answers by section, read with the questionnaire they were given to (or by raw
    key if this desk does not know it); see :mod:`service.common.questionnaire.reading`."""
    from service.common.questionnaire.reading import read_answers

    return read_answers(detail.questionnaire, detail.answers)


def _check_whole(record: dict[str, Any], size: int, digest: Any) -> None:
    if size != record["size"] or digest.hexdigest() != record["sha256"]:
        raise DeskDamagedError()


def _summary(record: cases.CaseRecord, pending: int) -> CaseSummary:
    return CaseSummary(
        ref=record.ref,
        received_week=record.received_week,
        country=record.country,
        language=record.language,
        status=record.status,
        priority=record.priority,
        assignee=record.assignee,
        tags=tuple(record.tags),
        counts={k: int(v) for k, v in record.counts.items()},
        detained=record.detained,
        pending=pending,
    )


def _item_view(item: cases.ItemRow) -> ItemView:
    record = item.record
    meta = record["meta"]
    name, media_type = meta.get("name"), meta.get("media_type")
    return ItemView(
        ref=record["ref"],
        type=record["type"],
        created=record["created"],
        name=name if isinstance(name, str) else None,
        media_type=media_type if isinstance(media_type, str) else None,
        size=int(record["size"]),
        sha256=record["sha256"],
        envelope_sha256=record["envelope_sha256"],
        imported=record["imported"],
        acknowledged=item.acked,
        meta=meta,
    )


def _matches(summary: CaseSummary, wanted: CaseFilter) -> bool:
    return (
        (wanted.status is None or summary.status == wanted.status)
        and (wanted.country is None or summary.country == wanted.country.upper())
        and (not wanted.still_detained or summary.still_detained)
        and (wanted.week is None or summary.received_week == wanted.week)
        and (wanted.language is None or summary.language == wanted.language.lower())
    )


_PRIORITY_ORDER = {p: i for i, p in enumerate(reversed(PRIORITIES))}  # urgent first
_STATUS_ORDER = {s: i for i, s in enumerate(STATUSES)}


def _by_received(s: CaseSummary) -> tuple[str, str]:
    # Oldest first: the case that has waited longest comes first; unknown weeks last.
    return (s.received_week or "9999", s.ref)


def _by_priority(s: CaseSummary) -> tuple[int, str, str]:
    return (_PRIORITY_ORDER.get(s.priority, 9), *_by_received(s))


def _by_status(s: CaseSummary) -> tuple[int, str, str]:
    return (_STATUS_ORDER.get(s.status, 9), *_by_received(s))


_SORT_KEYS: dict[str, Callable[[CaseSummary], tuple[Any, ...]]] = {
    "received": _by_received,
    "priority": _by_priority,
    "status": _by_status,
}


def _label(value: str, *, allow_empty: bool = False) -> str:
    """A tag or an assignee: one line, at most 200 characters, no control or format
    characters (a right-to-left override could make one tag look like another)."""
    text = single_line(value)  # the untrusted-text policy: service/common/text.py
    if text is None or (not text and not allow_empty) or len(text) > MAX_LABEL_CHARS:
        raise TriageError()
    return text


def _text(value: str, limit: int, error: type[Exception]) -> str:
    """A note or a reply: not blank, within ``limit``, no control characters but tabs
    and line breaks (a NUL or an escape sequence has no honest place in either)."""
    text = unicodedata.normalize("NFC", value)
    if not text.strip() or len(text.encode("utf-8")) > limit or has_controls(text):
        raise error()
    return text
