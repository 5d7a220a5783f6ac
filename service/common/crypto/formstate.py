"""Sealed form state: the answers of earlier questionnaire steps, carried in the page.

Without JavaScript a multi-step form must send earlier answers back to the server with
every step. Storing them on the server between steps would put plaintext (or a
server-readable blob) at rest; instead each page carries them in one hidden field,
sealed with a key of the deployment's :class:`StateSecret`:

    "F2" (2) | day (u32 BE) | nonce (24) | XChaCha20-Poly1305(hour (u32 BE) | data,
                                              ad = DOMAIN || purpose || header || context)

- The key is that of the UTC ``day`` the blob was sealed in (see :class:`StateSecret`):
  a one-way ratchet, one step a day, so whoever takes a server's secret (its disk or its
  memory) can open blobs of the day before and later, never older ones. Either every
  instance of one deployment reads one secret file (``ARYZ_STATE_SECRET_FILE``: a person
  whose next step lands on another backend loses nothing), or — no file — the secret is
  drawn from the OS CSPRNG when the process starts and never written anywhere (a restart
  makes every blob in flight unreadable; each process opens only its own blobs).
- ``purpose`` separates the uses of one secret (form state, upload grants): a blob made
  for one never opens as the other.
- ``context`` names the questionnaire (id, version, digest): a blob made for another
  questionnaire, or for an older definition, is refused rather than misread.
- ``hour`` is a coarse clock (hours since the epoch) inside the authenticated plaintext:
  a blob older than ``max_age_hours`` is refused, so an old page found later in a
  browser's memory cannot be replayed into a report forever.

Any failure (tampered, truncated, another key, expired, spent) is one
:class:`service.common.errors.FormStateError` with a fixed message.

Single use (audit F-14): sending a report *claims* its state (:meth:`FormStateKey.claim`)
for that report's token. The review page binds its state to the token it carries
(``service.server.intake.steps.seal_state``), so on every instance the state can only be
sent with that token, which finds the same case: nobody can file a second case with
someone else's answers. On top of that, the claiming process keeps a spent set, so that
a claimed blob no longer opens there (the review page cannot be brought back with its
answers); the set lives only in that process's memory, keyed by a hash of the blob's
nonce, each entry kept exactly as long as the blob itself could open (``max_age_hours``
and the hour of slack), and is not shared: another instance of the deployment still
opens a claimed blob until it expires (SECURITY.md, "Form state and upload grants").
The set is capped at ``MAX_SPENT`` entries; beyond that the oldest entry is dropped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
)
from nacl.exceptions import CryptoError
from nacl.utils import random

import service.common.files as files
from service.common.errors import ConfigError, DeskStoreError, FormStateError

__all__ = ["FormStateKey", "StateSecret", "new_state_secret"]

PREFIX = b"F2"
DOMAIN = b"aryz-form-state-v2\n"
NONCE_LEN = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_U32 = struct.Struct(">I")
MAX_SPENT = 200_000
DAY = 86_400
SECRET_LEN = 32
FILE_MAGIC = "aryz-state-secret-v1"
FORM_STATE = b"form-state"
_log = logging.getLogger("aryz.formstate")


def _next(seed: bytes) -> bytes:
    # One ratchet step: one-way, so a seed says nothing about the days before it.
    return hashlib.blake2b(seed, digest_size=SECRET_LEN, person=b"aryz-state-next").digest()


def _day(clock: Callable[[], float]) -> int:
    return int(clock() // DAY)


def new_state_secret(clock: Callable[[], float] = time.time) -> bytes:
    """The contents of a new ``ARYZ_STATE_SECRET_FILE`` (copy the same file to every
    instance of one deployment)."""
    return _render(_day(clock) - 1, bytes(random(SECRET_LEN)))


def _render(day: int, seed: bytes) -> bytes:
    return f"{FILE_MAGIC} {day} {seed.hex()}\n".encode("ascii")


def _parse(raw: bytes) -> tuple[int, bytes]:
    try:
        magic, day, seed_hex = raw.decode("ascii").split()
        seed = bytes.fromhex(seed_hex)
        if magic != FILE_MAGIC or len(seed) != SECRET_LEN:
            raise ValueError
        return int(day), seed
    except (UnicodeDecodeError, ValueError):
        raise ConfigError(
            "ARYZ_STATE_SECRET_FILE is not a state secret (aryz state-secret)."
        ) from None


class StateSecret:
    """The deployment's form-state secret: a seed that steps forward once a UTC day.

    The seed of day *d+1* is a one-way hash of day *d*'s; every instance that read the
    same file computes the same seed for the same day without talking to the others. A
    process keeps the seed of yesterday (blobs sealed late yesterday still open today)
    and derives today's and tomorrow's (a clock a little ahead elsewhere) from it. With a
    file, the process writes yesterday's seed back when the day turns (at start, and at
    the first seal or open of a new day: temporary file, fsync, rename), so the disk
    never holds an older seed than the memory does.
    """

    def __init__(self, path: Path | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        if path is None:
            self._day, self._seed = _day(clock) - 1, bytes(random(SECRET_LEN))
        else:
            self._day, self._seed = _parse(_read_private(path))
        self._advance()

    def __repr__(self) -> str:  # never show the seed in a traceback or a debugger
        return "StateSecret(<in memory>)" if self._path is None else f"StateSecret({self._path})"

    @property
    def shared(self) -> bool:
        """Whether the secret came from a file (every instance of the deployment)."""
        return self._path is not None

    def key(self, purpose: bytes, day: int) -> bytes | None:
        """The key for ``purpose`` on ``day``; None for a day this process cannot open
        (before yesterday, or more than a day ahead)."""
        with self._lock:
            self._advance()
            if not self._day <= day <= _day(self._clock) + 1:
                return None
            seed = self._seed
            for _ in range(day - self._day):
                seed = _next(seed)
        return hashlib.blake2b(
            purpose, key=seed, digest_size=crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
            person=b"aryz-state-key",
        ).digest()  # fmt: skip

    def today(self) -> int:
        return _day(self._clock)

    def _advance(self) -> None:
        yesterday = _day(self._clock) - 1
        if self._day >= yesterday:
            return  # a clock that stepped back never winds the ratchet back
        while self._day < yesterday:
            self._seed, self._day = _next(self._seed), self._day + 1
        if self._path is not None:
            try:
                _write_private(self._path, _render(self._day, self._seed))
            except OSError:
                # The pages keep working (memory has stepped forward); the disk still
                # holds an older seed, which the operator must hear about.
                _log.warning("The state secret file could not be stepped forward.")


def _read_private(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        raise ConfigError("ARYZ_STATE_SECRET_FILE cannot be read.") from None
    try:
        if os.fstat(fd).st_mode & 0o077:
            raise ConfigError("ARYZ_STATE_SECRET_FILE is readable by others (want 0600).")
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def _write_private(path: Path, data: bytes) -> None:
    # 0600, fsync'd, renamed into place, folder fsync'd (service.common.files); several
    # processes may do this at once, each through its own temporary name: same bytes.
    try:
        files.replace(path, data)
    except DeskStoreError as exc:
        raise OSError(exc.message) from None


class FormStateKey:
    """Seals and opens form state with the keys of a :class:`StateSecret` (one
    ``purpose`` each); without one, a secret of this process alone."""

    def __init__(
        self,
        *,
        max_age_hours: int = 24,
        clock: Callable[[], float] = time.time,
        secret: StateSecret | None = None,
        purpose: bytes = FORM_STATE,
    ) -> None:
        if max_age_hours > 24:
            raise ValueError("blobs open for at most a day: the ratchet keeps yesterday only")
        self._secret = secret or StateSecret(clock=clock)
        self._purpose = purpose
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
        day = self._secret.today()
        key = self._secret.key(self._purpose, day)
        if key is None:  # today always has a key; a guard, not a path
            raise FormStateError()
        header = PREFIX + _U32.pack(day)
        nonce = bytes(random(NONCE_LEN))
        plaintext = _U32.pack(self._hour()) + data
        sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
            plaintext, self._ad(header, context), nonce, key
        )
        return base64.urlsafe_b64encode(header + nonce + sealed).decode("ascii")

    def open(self, blob: str, *, context: bytes) -> bytes:
        """The data sealed in ``blob``; :class:`FormStateError` for anything else,
        including a blob already claimed by a sent report."""
        nonce, _hour, data = self._open(blob, context)
        with self._lock:
            self._forget_expired()
            if _spent_key(nonce) in self._spent:
                raise FormStateError()
        return data

    def claim(
        self,
        blob: str,
        *,
        context: bytes,
        tag: bytes,
        accept: Callable[[bytes], bool] | None = None,
    ) -> bytes:
        """Open ``blob`` and spend it for ``tag`` (a hash of the report's token).

        The first claim wins; a later claim with the same tag opens it again (a re-sent
        page), one with another tag is refused, and :meth:`open` refuses it from now on.
        ``accept``: a check of the opened data; refused data spends nothing.
        """
        nonce, hour, data = self._open(blob, context)
        if accept is not None and not accept(data):
            raise FormStateError()
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

    def _ad(self, header: bytes, context: bytes) -> bytes:
        return DOMAIN + self._purpose + b"\n" + header + context

    def _open(self, blob: str, context: bytes) -> tuple[bytes, int, bytes]:
        try:
            raw = base64.urlsafe_b64decode(blob.encode("ascii"))
        except (UnicodeEncodeError, binascii.Error, ValueError):
            raise FormStateError() from None
        start = len(PREFIX) + _U32.size
        if not raw.startswith(PREFIX) or len(raw) < start + NONCE_LEN + _U32.size:
            raise FormStateError()
        header, nonce = raw[:start], raw[start : start + NONCE_LEN]
        (day,) = _U32.unpack(header[len(PREFIX) :])
        key = self._secret.key(self._purpose, day)
        if key is None:
            raise FormStateError()
        try:
            plaintext = crypto_aead_xchacha20poly1305_ietf_decrypt(
                raw[start + NONCE_LEN :], self._ad(header, context), nonce, key
            )
        except CryptoError:
            raise FormStateError() from None
        (hour,) = _U32.unpack(plaintext[: _U32.size])
        now = self._hour()
        # One hour of slack the other way: the clock may step back (NTP) between pages.
        if not now - self._max_age <= hour <= now + 1:
            raise FormStateError()
        return nonce, hour, bytes(plaintext[_U32.size :])

    def _hour(self) -> int:
        return int(self._clock() // 3600)


def _spent_key(nonce: bytes) -> bytes:
    return hashlib.blake2b(nonce, digest_size=16, person=b"aryz-spent-v1").digest()
