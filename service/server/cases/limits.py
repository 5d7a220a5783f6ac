"""Bounds on what anyone can create without a server-side key derivation (audit F-16).

Cases and uploads through the JSON API cost the server no Argon2id (the client derives),
so nothing but Tor's proof-of-work stopped a flood of cases or of pending uploads that
fill the disk. These bounds are global: they count what exists or what arrived, never
who sent it (the server knows nothing of senders and must not start to).

- **API cases**: a token bucket in this process's memory, ``api_case_burst`` deep and
  refilled at ``api_cases_per_hour``. When empty, new API cases are answered 503 "busy"
  (a retried existing case is not counted). Each server process has its own bucket, so
  the bound for the site is the per-process bound times the number of processes. The
  web form is not counted here: each of its submissions waits for a server-side Argon2id
  derivation in a bounded queue (``kdf_max_waiting``), which is its brake.
- **Pending uploads**: at most ``max_pending_uploads`` unfinished items on the whole
  server and ``max_pending_per_case`` in one case; beyond that a new upload is 503
  until the sweep of stale uploads (``stale_upload_days``) or their completion makes room.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.common.errors import BusyError
from service.server.models import PENDING, Item


class CaseBucket:
    """A token bucket: ``burst`` tokens, refilled at ``per_hour``; thread-safe."""

    def __init__(
        self, burst: int, per_hour: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._burst = float(burst)
        self._rate = per_hour / 3600.0
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> None:
        """Spend one token, or raise :class:`BusyError` (HTTP 503)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens < 1.0:
                raise BusyError()
            self._tokens -= 1.0

    def give_back(self) -> None:
        with self._lock:
            self._tokens = min(self._burst, self._tokens + 1.0)


def check_pending(session: Session, case_id: int, total: int, per_case: int) -> None:
    """Refuse a new pending upload beyond the global or the per-case ceiling."""
    pending = session.scalar(select(func.count()).select_from(Item).where(Item.state == PENDING))
    in_case = session.scalar(
        select(func.count()).select_from(Item).where(Item.state == PENDING, Item.case_id == case_id)
    )
    if int(pending or 0) >= total or int(in_case or 0) >= per_case:
        raise BusyError()
