"""Room for new uploads: bounds per case, per upload and in total, and a free-space
reserve, none of which identifies anyone (attack review F4, audit F-16).

Anyone who reaches the onion can create cases and uploads without a key derivation, so
without bounds a few dozen Tor circuits could fill the disk, after which every
submission — including the person the service exists for — fails. Checked before a new
upload is taken on, and again before each body of bytes is read:

- **per case** (when an upload is declared or a form's file begins): what the case
  holds and has declared — complete items not yet collected by the coalition, plus each
  unfinished upload's declared size — stays within ``ARYZ_MAX_CASE_BYTES``. Collected
  items are deleted from the server, so the room comes back when the courier has carried
  them to the desk. Only whoever holds the case's token (or a page's grant) can use it;
- **in total:** the bytes stored in all cases plus the request bodies in flight in this
  process stay within ``ARYZ_MAX_TOTAL_BYTES`` (when set);
- **free space:** the file system that holds the data (``ARYZ_STORAGE_DIR``, by default
  the data directory; for PostgreSQL its data directory) keeps ``ARYZ_MIN_FREE_BYTES``
  free after the bodies in flight.

Declared sizes count against their own case only: an upload declared and never sent
holds no room from anyone else (else declaring alone, which costs nothing, could shut
the intake). A body in flight is counted with its ``Content-Length`` (or the cap) while
it runs (``service.common.webkit.security.BodyLimitMiddleware``), so concurrent uploads cannot all
pass the same check.

Past a bound the answer is ``StorageFullError`` (503 with ``Retry-After``, the "busy, try
later" page on the intake); a resumable upload keeps its offset and resumes later.
Nothing already stored is touched: refusing is all it does. No counter is kept per
person, address or token: the bounds are on cases and on the server, which is all the
server knows.

The per-upload bound is ``ARYZ_MAX_SUBMISSION_BYTES`` (declared and counted as bytes
arrive; ``service.common.webkit.security.BodyLimitMiddleware`` and ``service.server.api``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.common.errors import StorageFullError
from service.server.models import COMPLETE, PENDING, Item
from service.server.settings import Settings


@dataclass
class Reservations:
    """Bytes promised to request bodies in flight in this process (form uploads, whose
    size is known only from their Content-Length or the cap)."""

    held: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def hold(self, amount: int) -> Iterator[None]:
        with self._lock:
            self.held += amount
        try:
            yield
        finally:
            with self._lock:
                self.held -= amount


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged process may still write on ``path``'s file system."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


# In its case, a pending item counts with its declared size (API) or what it has stored
# (form path); a complete one with its size. Acknowledged items have no ciphertext left.
_DECLARED = func.coalesce(func.sum(func.coalesce(Item.expected_size, Item.size)), 0)
_STORED = func.coalesce(func.sum(Item.size), 0)


def case_bytes(session: Session, case_id: int) -> int:
    held = session.scalar(
        select(_DECLARED).where(Item.case_id == case_id, Item.state.in_((PENDING, COMPLETE)))
    )
    return int(held or 0)


def check_case(session: Session, settings: Settings, case_id: int, amount: int = 0) -> None:
    """Raise ``StorageFullError`` unless the case has room for ``amount`` more bytes (with
    0: for anything at all, as for each file of a form whose size is not yet known)."""
    if case_bytes(session, case_id) + max(amount, 1) > settings.max_case_bytes:
        raise StorageFullError()


def admit(
    session: Session,
    settings: Settings,
    reservations: Reservations,
    amount: int,
    *,
    case_id: int | None = None,
    reserve: int | None = None,
) -> None:
    """Raise ``StorageFullError`` unless ``amount`` more bytes fit every bound.

    ``reserve`` lowers the free-space floor for small, vital writes (a new case's
    answers), so the last of the reserve stays for them when files are refused.
    """
    if case_id is not None:
        check_case(session, settings, case_id, amount)
    in_flight = reservations.held
    if settings.max_total_bytes is not None:
        stored = session.scalar(select(_STORED).where(Item.state.in_((PENDING, COMPLETE))))
        if int(stored or 0) + in_flight + amount > settings.max_total_bytes:
            raise StorageFullError()
    floor = settings.min_free_bytes if reserve is None else reserve
    if free_bytes(settings.resolved_storage_dir) < in_flight + amount + floor:
        raise StorageFullError()


@dataclass(frozen=True)
class StorageRoom:
    """The storage bounds as the body limit sees them for an upload body (``UploadRoom``)."""

    sessions: sessionmaker[Session]
    settings: Settings
    reservations: Reservations

    def hold(self, amount: int) -> AbstractContextManager[None]:
        return self.reservations.hold(amount)

    def check(self) -> None:
        with self.sessions() as session:
            admit(session, self.settings, self.reservations, 0)
