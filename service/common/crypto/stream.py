"""XChaCha20-Poly1305 secretstream for whole files the desk writes (its backups): a
``Pusher`` seals messages one by one, a ``Puller`` opens them in order and says which one
ends the stream. Truncation, reordering, tampering and a wrong key all raise
:class:`StreamError`; callers turn it into their own fixed-message error.

(The envelope, ``envelope.py``, has its own framing around the same primitive; this is
the plain stream for formats that frame their messages themselves.)
"""

from __future__ import annotations

from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_HEADERBYTES,
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
)
from nacl.exceptions import CryptoError

HEADER_BYTES: int = crypto_secretstream_xchacha20poly1305_HEADERBYTES
TAG_MESSAGE: int = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
TAG_FINAL: int = crypto_secretstream_xchacha20poly1305_TAG_FINAL


class StreamError(Exception):
    """A stream's header or message fails authentication (or the key is wrong)."""


class Pusher:
    """Seals messages under ``key``; ``header`` goes first on the wire."""

    def __init__(self, key: bytes) -> None:
        self._state = crypto_secretstream_xchacha20poly1305_state()
        self.header: bytes = crypto_secretstream_xchacha20poly1305_init_push(self._state, key)

    def push(self, data: bytes, ad: bytes, *, final: bool = False) -> bytes:
        tag = TAG_FINAL if final else TAG_MESSAGE
        return bytes(crypto_secretstream_xchacha20poly1305_push(self._state, data, ad, tag))


class Puller:
    """Opens the messages a :class:`Pusher` sealed, in order."""

    def __init__(self, header: bytes, key: bytes) -> None:
        self._state = crypto_secretstream_xchacha20poly1305_state()
        try:
            crypto_secretstream_xchacha20poly1305_init_pull(self._state, header, key)
        except CryptoError:
            raise StreamError() from None

    def pull(self, sealed: bytes, ad: bytes) -> tuple[bytes, bool]:
        """The message and whether it is the stream's last (``FINAL``)."""
        try:
            data, tag = crypto_secretstream_xchacha20poly1305_pull(self._state, sealed, ad)
        except CryptoError:
            raise StreamError() from None
        return bytes(data), tag == TAG_FINAL
