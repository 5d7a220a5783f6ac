"""The desk's own store: one SQLite file, every sensitive value encrypted with the store key.

A copied desk folder must be useless without the passphrase, so the database holds no
plaintext about any case. Each value is encrypted on its own (``service.common.crypto.wrap``
value v1: XChaCha20-Poly1305, random nonce, padded) and bound to where it lives — table,
row and, for attachment chunks, position — so a value moved elsewhere fails to decrypt.

**What is in clear, and why** (nothing else is):

- row ids, foreign keys and chunk positions: structure, meaningless on their own;
- ``ref_index``: a keyed BLAKE2b hash of each case and item reference, so an item is
  found (and a re-import skipped) without decrypting everything, while the references
  themselves — which would link this desk's rows to the server's — stay encrypted;
- ``outgoing.seq`` and ``outgoing.exported``, ``items.acked``: how many updates a case
  had and which were sent — the server sees the same sequence numbers;
- how many cases, items and chunks exist, and each value's padded size (Padmé: roughly,
  not exactly) — the server knows counts and sizes anyway.

Deliberately **not** in clear, although a filter would be faster: status, priority,
received week, country, language, the detained flag, tags and assignee. Country and
week together can single out a case (Tajikistan's coalition received 17 complaints in all
of 2024); with the status they tell a seizer which reports the coalition acts on. Filters
run over decrypted summaries instead: a desk holds thousands of cases, not millions, and
each summary decrypts in microseconds.

Tables (schema version 3)::

    schema_version(version)
    cases(id, ref_index UNIQUE, record)                 record: the case (JSON)
    items(id, case_id, ref_index UNIQUE, record, acked, held, released)
                                                        record: ref, meta, size, sha256
    item_chunks(item_id, idx, data)                     the decrypted body, 1 MiB pieces
    entries(id, case_id, record)                        notes, history, replies written
    outgoing(id, case_id, seq, record, exported)        signed-record contents, per case
                                                        seq UNIQUE(case_id, seq)

Version 2 (desk backups, service/desk/store/backup.py) adds ``items.held`` (a desk backup holds
the item), ``items.released`` (an ``ack`` record tells the server it may delete the item;
written only once a backup holds it) and ``meta(name, record)``: small encrypted desk-wide
values (the last backup, the recovery key), and ``outgoing.outbox``: the SHA-256 of the
outbox file a record was last written to, so that the server's receipt for that file can
be matched (``outgoing.exported`` becomes a state: service/desk/casework/resync.py).
``items.acked`` now means that an ``imported`` record was queued. A version 1 desk is
upgraded when it is opened: its acknowledged items count as released.

Version 3 (named staff, service/desk/casework/staff.py) adds ``staff(id, record)``: one
row per member the desk ever had, by the random id of their entry in ``keys.json``;
``record`` (encrypted) holds the name, who added them and the ISO weeks they were added
and removed. Entries (notes, history, replies, outcomes) written from version 3 on carry
``by`` (the member's id) and ``week`` inside their encrypted record. Older desks are
upgraded when opened (one ``CREATE TABLE``; nothing else changes).

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed import survives a power
cut), ``secure_delete`` (freed pages are zeroed) and temporary data in memory.

**The transaction rule.** One user action is one transaction, opened with
:meth:`Store.transaction` by the code that performs the action — a ``Desk`` method
(``service/desk/casework/desk.py``), one imported item (``service/desk/inbox/importer.py``),
one export, one resync, one backup's bookkeeping — and never by the helpers it calls
(``service/desk/casework/cases.py`` and the rest write through the open transaction). So
a case record, its history entries and its queued outgoing records change together or not
at all, and a helper cannot commit half of an action. Reads need no transaction.
"""

from __future__ import annotations

import errno
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import service.common.files as files
from service.common.crypto.hashing import blake2b_256
from service.common.crypto.wrap import decrypt_value, encrypt_value
from service.common.errors import EnvelopeError
from service.desk.errors import DeskDamagedError, DeskStoreError, DiskFullError

DB_FILE = "desk.sqlite3"
SCHEMA_VERSION = 3
# A full chunk plus the one-byte padding marker is exactly 1 MiB, which Padmé leaves as
# it is: every full chunk of every attachment has the same stored size.
CHUNK_SIZE = (1 << 20) - 1
WAL_LIMIT = 16 << 20  # a write-ahead log larger than this is truncated after its commit

_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    ref_index BLOB NOT NULL UNIQUE,
    record BLOB NOT NULL
);
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases (id),
    ref_index BLOB NOT NULL UNIQUE,
    record BLOB NOT NULL,
    acked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX items_case ON items (case_id);
CREATE TABLE item_chunks (
    item_id INTEGER NOT NULL REFERENCES items (id),
    idx INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (item_id, idx)
);
CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases (id),
    record BLOB NOT NULL
);
CREATE INDEX entries_case ON entries (case_id);
CREATE TABLE outgoing (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases (id),
    seq INTEGER NOT NULL,
    record BLOB NOT NULL,
    exported INTEGER NOT NULL DEFAULT 0,
    UNIQUE (case_id, seq)
);
"""
_VERSION_ROW = "INSERT INTO schema_version VALUES (1);"
# Version 1 -> 2 (run inside the caller's transaction): backups and release of items.
_UPGRADE_2 = (
    "ALTER TABLE items ADD COLUMN held INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE items ADD COLUMN released INTEGER NOT NULL DEFAULT 0",
    "UPDATE items SET released = acked",
    "CREATE TABLE meta (name TEXT PRIMARY KEY, record BLOB NOT NULL)",
    "ALTER TABLE outgoing ADD COLUMN outbox BLOB",
    "UPDATE schema_version SET version = 2",
)
# Version 2 -> 3: named staff.
_UPGRADE_3 = (
    "CREATE TABLE staff (id TEXT PRIMARY KEY, record BLOB NOT NULL)",
    "UPDATE schema_version SET version = 3",
)
_UPGRADES = {1: _UPGRADE_2, 2: _UPGRADE_3}


class Store:
    """An open desk database with its store key. Not for use by two threads at once."""

    def __init__(self, connection: sqlite3.Connection, store_key: bytes) -> None:
        """Wrap an open connection; use :meth:`create` or :meth:`open`."""
        self._db = connection
        main = next(
            row[2] for row in connection.execute("PRAGMA database_list") if row[1] == "main"
        )
        self._wal = Path(f"{main}-wal")
        # The staff member whose passphrase opened the desk (their keys.json entry id),
        # written into every entry; None on a desk without named staff.
        self.actor: str | None = None
        # Two independent subkeys: one encrypts values, one hashes references.
        self._value_key = blake2b_256(b"aryz-desk value key v1", key=store_key)
        self._index_key = blake2b_256(b"aryz-desk index key v1", key=store_key)

    @classmethod
    def create(cls, path: Path, store_key: bytes) -> Store:
        """Create a new, empty database at ``path`` (mode 0600; it must not exist)."""
        # Created by us with 0600 first: SQLite gives its -wal and -shm files the same mode.
        files.write_new(path, b"")
        db = _connect(path)
        try:
            # One script, one transaction: a half-made schema is never left behind.
            upgrade = "; ".join((*_UPGRADE_2, *_UPGRADE_3))
            db.executescript(f"BEGIN; {_SCHEMA} {_VERSION_ROW} {upgrade}; COMMIT;")
        except sqlite3.Error as exc:
            db.close()
            raise _storage_error(exc) from None
        return cls(db, store_key)

    @classmethod
    def open(cls, path: Path, store_key: bytes) -> Store:
        """Open an existing database and check its schema version."""
        if not path.is_file():
            raise DeskDamagedError()
        db = _connect(path)
        try:
            row = db.execute("SELECT version FROM schema_version").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise DeskDamagedError() from None
        if row is not None and row[0] in _UPGRADES:
            _upgrade(db)
        elif row is None or row[0] != SCHEMA_VERSION:
            db.close()
            raise DeskDamagedError()
        return cls(db, store_key)

    def close(self) -> None:
        self._db.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for reads; writes go through :meth:`transaction`."""
        return self._db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside is committed together or not at all.

        Storage failures become :class:`DiskFullError` (no space) or
        :class:`DeskStoreError`; any other exception rolls back and passes through.
        """
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _storage_error(exc) from None
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error | OSError):
                raise _storage_error(exc) from None
            raise
        self._shrink_wal()

    def _shrink_wal(self) -> None:
        """A large item is committed whole, so its pages pass through the write-ahead log,
        which SQLite keeps at its largest size: the desk folder would hold the file twice
        (issue 12). After such a commit, move the log into the database and truncate it.
        Only space is at stake: if that fails, the next large commit tries again."""
        try:
            if self._wal.stat().st_size > WAL_LIMIT:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except (OSError, sqlite3.Error):
            return

    def _rollback(self) -> None:
        # SQLite may already have rolled back on its own (SQLITE_FULL does that).
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    # --- encryption of values ---------------------------------------------------------

    def ref_index(self, kind: str, ref: str) -> bytes:
        """The keyed hash under which a case or item reference is looked up."""
        return blake2b_256(f"{kind}\n{ref}".encode(), key=self._index_key)

    def seal(self, value: Any, context: bytes) -> bytes:
        """Encrypt a JSON-able value for the row named by ``context``."""
        raw = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return encrypt_value(self._value_key, raw.encode("utf-8"), context)

    def unseal(self, blob: bytes, context: bytes) -> Any:
        """Decrypt a value from :meth:`seal`; a damaged value is :class:`DeskDamagedError`."""
        return json.loads(self.unseal_bytes(blob, context))

    def seal_bytes(self, data: bytes, context: bytes) -> bytes:
        return encrypt_value(self._value_key, data, context)

    def unseal_bytes(self, blob: bytes, context: bytes) -> bytes:
        try:
            return decrypt_value(self._value_key, blob, context)
        except EnvelopeError:
            raise DeskDamagedError() from None

    # --- item bodies ------------------------------------------------------------------

    def write_chunk(self, item_id: int, item_index: bytes, idx: int, data: bytes) -> None:
        """Store one piece of an item's body. Every body byte is written here."""
        self._db.execute(
            "INSERT INTO item_chunks (item_id, idx, data) VALUES (?, ?, ?)",
            (item_id, idx, self.seal_bytes(data, chunk_context(item_index, idx))),
        )

    def read_chunks(self, item_id: int, item_index: bytes, count: int) -> Iterator[bytes]:
        """Yield an item's body piece by piece; a missing or extra piece is damage."""
        rows = self._db.execute(
            "SELECT idx, data FROM item_chunks WHERE item_id = ? ORDER BY idx", (item_id,)
        )
        seen = 0
        for idx, data in rows:
            if idx != seen:
                raise DeskDamagedError()
            yield self.unseal_bytes(data, chunk_context(item_index, idx))
            seen += 1
        if seen != count:
            raise DeskDamagedError()

    # --- desk-wide values (schema 2) ------------------------------------------------

    def get_meta(self, name: str) -> Any:
        """The value stored under ``name`` (see :meth:`set_meta`), or None."""
        row = self._db.execute("SELECT record FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else self.unseal(row[0], context("meta", name.encode()))

    def set_meta(self, name: str, value: Any) -> None:
        """Store a JSON-able value under ``name``; call inside :meth:`transaction`."""
        self._db.execute(
            "INSERT INTO meta (name, record) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET record = excluded.record",
            (name, self.seal(value, context("meta", name.encode()))),
        )


def _upgrade(db: sqlite3.Connection) -> None:
    """Bring an older store to the current version, all in one transaction."""
    try:
        db.execute("BEGIN IMMEDIATE")
        version = db.execute("SELECT version FROM schema_version").fetchone()
        # Another process may have just done it: read the version again inside.
        while version is not None and version[0] in _UPGRADES:
            for statement in _UPGRADES[version[0]]:
                db.execute(statement)
            version = db.execute("SELECT version FROM schema_version").fetchone()
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()
        raise _storage_error(exc) from None


def context(table: str, index: bytes, *numbers: int) -> bytes:
    """Associated data naming a row: table, the owner's ref index, positions."""
    return table.encode() + b"\n" + index + b"".join(n.to_bytes(8, "big") for n in numbers)


def chunk_context(item_index: bytes, idx: int) -> bytes:
    return context("item_chunks", item_index, idx)


def _connect(path: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA secure_delete = ON")
        db.execute("PRAGMA temp_store = MEMORY")
    except sqlite3.DatabaseError:
        raise DeskDamagedError() from None
    return db


def _storage_error(exc: BaseException) -> DeskStoreError:
    full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
    full = full or getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return DiskFullError() if full else DeskStoreError()
