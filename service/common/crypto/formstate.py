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

Any failure (tampered, truncated, another key, expired) is one
:class:`service.common.errors.FormStateError` with a fixed message.
"""

from __future__ import annotations

import base64
import binascii
import struct
import time
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

    def __repr__(self) -> str:  # never show the key in a traceback or a debugger
        return "FormStateKey(<in memory>)"

    def seal(self, data: bytes, *, context: bytes) -> str:
        """Seal ``data`` for a hidden form field (URL-safe base64, ASCII)."""
        nonce = bytes(random(NONCE_LEN))
        plaintext = _HOUR.pack(self._hour()) + data
        sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
            plaintext, DOMAIN + context, nonce, self._key
        )
        return base64.urlsafe_b64encode(PREFIX + nonce + sealed).decode("ascii")

    def open(self, blob: str, *, context: bytes) -> bytes:
        """The data sealed in ``blob``; :class:`FormStateError` for anything else."""
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
        return bytes(plaintext[_HOUR.size :])

    def _hour(self) -> int:
        return int(self._clock() // 3600)
