"""Sealed form state: the answers of earlier questionnaire steps, carried in the page.

Without JavaScript a multi-step form must send earlier answers back to the server with
every step. Storing them on the server between steps would put plaintext (or a
server-readable blob) at rest; instead each page carries them in one hidden field,
sealed with a key that exists only in this process's memory:

    "F1" (2) | nonce (24) | XChaCha20-Poly1305(hour (u32 BE) | data, ad = DOMAIN || context)

- The key is drawn from the OS CSPRNG when the process starts and is never written
  anywhere, so a seized disk, database or backup holds nothing that opens a blob, and a
  restart makes every blob in flight unreadable (the person is asked to start again).
- ``context`` names the questionnaire (id, version, digest): a blob made for another
  questionnaire, or for an older definition, is refused rather than misread.
- ``hour`` is a coarse clock (hours since the epoch) inside the authenticated plaintext:
  a blob older than ``max_age_hours`` is refused, so an old page found later in a
  browser's memory cannot be replayed into a report forever.

Any failure (tampered, truncated, another key, expired, spent) is one
:class:`service.common.errors.FormStateError` with a fixed message.

Single use (audit F-14): sending a report *claims* its state (:meth:`FormStateKey.claim`)
for that report's token. A claimed blob no longer opens (so the review page cannot be
brought back with its answers), and sending it again works only with the same token (a
re-sent page finds the same case; another token is refused, so nobody can file a second
case with someone else's answers). The spent set lives only in this process's memory,
keyed by a hash of the blob's nonce, each entry kept exactly as long as the blob itself
could open (``max_age_hours`` and the hour of slack); nothing about a report in progress
is written anywhere. A restart clears the set, but it also replaces the key, so no blob
from before opens at all; each instance (process) has its own key, so a blob sealed by
one never opens in another and the sets need no sharing. The set is capped at
``MAX_SPENT`` entries; beyond that the oldest entry is dropped (its blob could then be
claimed again for another token by someone who holds it; at that many reports within a
day, the cap is the limit to raise).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
)
from nacl.exceptions import CryptoError
from nacl.utils import random

from service.common.errors import FormStateError

__all__ = ["FormStateKey"]

PREFIX = b"F1"
DOMAIN = b"aryz-form-state-v1\n"
NONCE_LEN = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_HOUR = struct.Struct(">I")
MAX_SPENT = 200_000


class FormStateKey:
    """An in-memory key that seals and opens form state for this process only."""

    def __init__(
        self,
        *,
        max_age_hours: int = 24,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = bytes(random(crypto_aead_xchacha20poly1305_ietf_KEYBYTES))
        self._max_age = max_age_hours
        self._clock = clock
        # hash(nonce) -> (tag it was claimed for, last hour the blob could still open)
        self._spent: OrderedDict[bytes, tuple[bytes, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never show the key in a traceback or a debugger
        return "FormStateKey(<in memory>)"

    def seal(self, data: bytes, *, context: bytes) -> str:
        """Seal ``data`` for a hidden form field (URL-safe base64, ASCII)."""
        if self._spent:
            with self._lock:
                self._forget_expired()  # every page seals: expired entries go soon
        nonce = bytes(random(NONCE_LEN))
        plaintext = _HOUR.pack(self._hour()) + data
        sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
            plaintext, DOMAIN + context, nonce, self._key
        )
        return base64.urlsafe_b64encode(PREFIX + nonce + sealed).decode("ascii")

    def open(self, blob: str, *, context: bytes) -> bytes:
        """The data sealed in ``blob``; :class:`FormStateError` for anything else,
        including a blob already claimed by a sent report."""
        nonce, _hour, data = self._open(blob, context)
        with self._lock:
            self._forget_expired()
            if _spent_key(nonce) in self._spent:
                raise FormStateError()
        return data

    def claim(self, blob: str, *, context: bytes, tag: bytes) -> bytes:
        """Open ``blob`` and spend it for ``tag`` (a hash of the report's token).

        The first claim wins; a later claim with the same tag opens it again (a re-sent
        page), one with another tag is refused, and :meth:`open` refuses it from now on.
        """
        nonce, hour, data = self._open(blob, context)
        key = _spent_key(nonce)
        with self._lock:
            self._forget_expired()
            claimed = self._spent.get(key)
            if claimed is not None and claimed[0] != tag:
                raise FormStateError()
            if claimed is None:
                self._spent[key] = (tag, hour + self._max_age + 1)
                while len(self._spent) > MAX_SPENT:
                    self._spent.popitem(last=False)
        return data

    @property
    def spent_count(self) -> int:
        return len(self._spent)

    def _forget_expired(self) -> None:
        # Entries are added in roughly increasing expiry order, so the old ones are first.
        now = self._hour()
        while self._spent:
            key, (_tag, until) = next(iter(self._spent.items()))
            if until >= now:
                break
            del self._spent[key]

    def _open(self, blob: str, context: bytes) -> tuple[bytes, int, bytes]:
        try:
            raw = base64.urlsafe_b64decode(blob.encode("ascii"))
        except (UnicodeEncodeError, binascii.Error, ValueError):
            raise FormStateError() from None
        if not raw.startswith(PREFIX) or len(raw) < len(PREFIX) + NONCE_LEN + _HOUR.size:
            raise FormStateError()
        nonce = raw[len(PREFIX) : len(PREFIX) + NONCE_LEN]
        try:
            plaintext = crypto_aead_xchacha20poly1305_ietf_decrypt(
                raw[len(PREFIX) + NONCE_LEN :], DOMAIN + context, nonce, self._key
            )
        except CryptoError:
            raise FormStateError() from None
        (hour,) = _HOUR.unpack(plaintext[: _HOUR.size])
        now = self._hour()
        # One hour of slack the other way: the clock may step back (NTP) between pages.
        if not now - self._max_age <= hour <= now + 1:
            raise FormStateError()
        return nonce, hour, bytes(plaintext[_HOUR.size :])

    def _hour(self) -> int:
        return int(self._clock() // 3600)


def _spent_key(nonce: bytes) -> bytes:
    return hashlib.blake2b(nonce, digest_size=16, person=b"aryz-spent-v1").digest()
