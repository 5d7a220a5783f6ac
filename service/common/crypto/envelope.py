"""Envelope v1: seal an item to a coalition's keys, and open it on the desk.

An item is encrypted with its own random key in libsodium secretstream chunks of 64 KiB;
the key is sealed (``crypto_box_seal``) to each recipient. See ENVELOPE-v1.md for the
format; :mod:`service.common.crypto.header` parses the header. Both directions stream, so memory
stays bounded by one frame plus whatever the caller passes in at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from nacl.bindings import (
    crypto_box_seal,
    crypto_box_seal_open,
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_KEYBYTES,
    crypto_secretstream_xchacha20poly1305_keygen,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
)
from nacl.exceptions import CryptoError

from service.common.crypto.hashing import blake2b_256
from service.common.crypto.header import (
    CHUNK_OVERHEAD,
    CHUNK_SIZE,
    FRAME_SIZE,
    MAGIC,
    MAX_RECIPIENTS,
    SHORT_HEADER,
    VERSION,
    VERSION_PADDED,
    EnvelopeHeader,
    check_framing,
    header_length,
    parse_header,
    recipient_key_ids,
)
from service.common.crypto.keys import PUBLIC_KEY_LEN, BoxKeyPair, key_id
from service.common.crypto.padding import MARKER, Unpadder, padding_length
from service.common.errors import (
    EnvelopeCorruptError,
    EnvelopeError,
    EnvelopeFormatError,
    EnvelopeKeyError,
    EnvelopeTruncatedError,
)

__all__ = [
    "CHUNK_OVERHEAD",
    "CHUNK_SIZE",
    "FRAME_SIZE",
    "MAGIC",
    "MAX_RECIPIENTS",
    "VERSION",
    "VERSION_PADDED",
    "EnvelopeHeader",
    "Opener",
    "Sealer",
    "check_framing",
    "header_length",
    "open_envelope",
    "open_stream",
    "parse_header",
    "recipient_key_ids",
    "seal",
    "seal_stream",
    "sealed_size",
]

TAG_MESSAGE = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
TAG_FINAL = crypto_secretstream_xchacha20poly1305_TAG_FINAL

NO_MATCHING_KEY = "The sealed item is not addressed to any key held here."
KEY_UNSEALS_NOTHING = "The sealed item's key could not be unsealed with the matching key."
CHUNK_FAILED = "A chunk of the sealed item failed authentication."
BAD_TAG = "A chunk of the sealed item carries a tag that format version 1 does not use."
AFTER_FINAL = "Data follows the final chunk of the sealed item."
NO_FINAL = "The sealed item ends before its final chunk."

_Step = Callable[[bytes], bytes]
_PAD_PIECE = 16 * CHUNK_SIZE


class Sealer:
    """Encrypt one item for 1..8 recipients, as a stream.

    Output is ``header`` followed by everything ``update`` and ``finish`` return. Usage::

        sealer = Sealer([coalition_public_key])
        out.write(sealer.header)
        for piece in upload:
            out.write(sealer.update(piece))
        out.write(sealer.finish())
    """

    def __init__(self, recipients: Sequence[bytes], *, padded: bool = False) -> None:
        """Draw a fresh item key and seal it to every recipient's X25519 public key.

        ``padded`` makes a version 3 envelope: ``finish`` fills the plaintext up to its
        size class (service/common/crypto/padding.py), so the length no longer tells the size.
        Every item a submitter seals is padded; v1 stays for what needs no hiding.
        """
        if isinstance(recipients, bytes | bytearray | str):
            raise TypeError("recipients must be a sequence of public keys")
        keys = list(recipients)
        if not 1 <= len(keys) <= MAX_RECIPIENTS:
            raise ValueError("an item needs 1 to 8 recipients")
        if any(not isinstance(k, bytes) or len(k) != PUBLIC_KEY_LEN for k in keys):
            raise ValueError("a recipient public key is not 32 bytes")
        ids = [key_id(k) for k in keys]
        if len(set(ids)) != len(ids):
            raise ValueError("the same recipient key is listed twice")
        # One key per item, from the OS CSPRNG: a key that leaks exposes only this item.
        item_key = crypto_secretstream_xchacha20poly1305_keygen()
        try:
            entries = [kid + crypto_box_seal(item_key, k) for kid, k in zip(ids, keys, strict=True)]
        except CryptoError:
            raise ValueError("a recipient public key is not a valid X25519 key") from None
        self._state = crypto_secretstream_xchacha20poly1305_state()
        stream_header = crypto_secretstream_xchacha20poly1305_init_push(self._state, item_key)
        # Python cannot wipe bytes; dropping the last reference is the best we can do. The
        # key lives on only inside the secretstream state, which is dropped by finish().
        del item_key
        version = VERSION_PADDED if padded else VERSION
        self._header = MAGIC + bytes([version, len(keys)]) + b"".join(entries) + stream_header
        self._ad = blake2b_256(self._header)
        self._buffer = bytearray()
        self._finished = False
        self._padded = padded
        self._length = 0  # plaintext bytes taken so far, for the size class

    @property
    def header(self) -> bytes:
        """The envelope header; write it before anything ``update`` returns."""
        return self._header

    @property
    def associated_data(self) -> bytes:
        """BLAKE2b-256 of the header: what an item's signature binds it to (v3 §3)."""
        return self._ad

    def update(self, data: bytes) -> bytes:
        """Take more plaintext; return the frames that are complete so far (maybe b"").

        A full chunk is only emitted once more data is known to follow, because the last
        chunk must carry the final tag even when it is exactly 64 KiB.
        """
        self._check_open()
        self._buffer += data
        self._length += len(data)
        frames = []
        start = 0
        while len(self._buffer) - start > CHUNK_SIZE:
            frames.append(self._push(bytes(self._buffer[start : start + CHUNK_SIZE]), TAG_MESSAGE))
            start += CHUNK_SIZE
        # One deletion per call, not per chunk: deleting from the front is O(buffer).
        del self._buffer[:start]
        return b"".join(frames)

    def finish(self) -> bytes:
        """Return the last frames (the padding's, then TAG_FINAL); the item is done.

        For a big padded item this can be many MiB: writers that stream use
        :meth:`finish_pieces` instead.
        """
        return b"".join(self.finish_pieces())

    def finish_pieces(self) -> Iterator[bytes]:
        """Yield the remaining frames in pieces of at most 1 MiB; the item is done after."""
        self._check_open()
        if self._padded:
            pad = padding_length(self._length)
            # Zeros in bounded pieces: the padding of a big file can be ~100 MiB.
            first = bytes([MARKER]) + bytes(min(pad, _PAD_PIECE) - 1)
            out = self.update(first)
            pad -= len(first)
            while True:
                if out:
                    yield out
                if pad == 0:
                    break
                piece = min(pad, _PAD_PIECE)
                out = self.update(bytes(piece))
                pad -= piece
        frame = self._push(bytes(self._buffer), TAG_FINAL)
        self._finished = True
        self._buffer = bytearray()
        del self._state
        yield frame

    def _push(self, chunk: bytes, tag: int) -> bytes:
        return crypto_secretstream_xchacha20poly1305_push(self._state, chunk, self._ad, tag)

    def _check_open(self) -> None:
        if self._finished:
            raise RuntimeError("this item is already sealed")


def sealed_size(plaintext_length: int, recipients: int, *, padded: bool = False) -> int:
    """The envelope length for a plaintext of ``plaintext_length`` bytes (before padding)."""
    p = plaintext_length + (padding_length(plaintext_length) if padded else 0)
    return header_length(recipients) + p + CHUNK_OVERHEAD * max(1, -(-p // CHUNK_SIZE))


def seal(plaintext: bytes, recipients: Sequence[bytes], *, padded: bool = False) -> bytes:
    """Seal a whole in-memory item; return the complete envelope."""
    sealer = Sealer(recipients, padded=padded)
    return sealer.header + sealer.update(plaintext) + sealer.finish()


def seal_stream(chunks: Iterable[bytes], recipients: Sequence[bytes]) -> Iterator[bytes]:
    """Seal an item given as pieces; yield the envelope as pieces (header first)."""
    sealer = Sealer(recipients)
    yield sealer.header
    for chunk in chunks:
        out = sealer.update(chunk)
        if out:
            yield out
    yield sealer.finish()


class Opener:
    """Decrypt one envelope with any of the given key pairs, as a stream.

    ``feed`` accepts the envelope cut at any points and returns the plaintext that is
    authenticated so far; ``close`` must be called at the end of the data and returns
    the rest. Until ``close`` returns, the plaintext may still turn out to be truncated:
    write it somewhere provisional and keep it only if ``close`` succeeds.

    After any error the opener is spent: every later call raises the same error class.
    """

    def __init__(self, keys: Sequence[BoxKeyPair]) -> None:
        """Hold the key pairs to try; they are matched to the header by key id."""
        self._keys = [(key_id(k.public), k) for k in keys]
        if not self._keys:
            raise ValueError("an opener needs at least one key pair")
        self._buffer = bytearray()
        self._header: EnvelopeHeader | None = None
        self._state: crypto_secretstream_xchacha20poly1305_state | None = None
        self._ad = b""
        self._final_seen = False
        self._closed = False
        self._error: EnvelopeError | None = None
        self._unpadder: Unpadder | None = None  # set for a version 3 (padded) envelope

    @property
    def header(self) -> EnvelopeHeader | None:
        """The parsed header, once enough bytes have been fed."""
        return self._header

    @property
    def finished(self) -> bool:
        """True once the final chunk has been authenticated."""
        return self._final_seen

    def feed(self, data: bytes) -> bytes:
        """Take more envelope bytes; return the plaintext of every complete frame.

        For a padded (v3) envelope the padding is removed: what may still be padding is
        held back until the end.
        """
        return self._guard(self._feed_unpadded, data)

    def close(self) -> bytes:
        """Declare the end of the data; return the last plaintext or raise if incomplete."""
        return self._guard(self._close_unpadded, b"")

    def _feed_unpadded(self, data: bytes) -> bytes:
        plaintext = self._feed(data)
        return self._unpadder.feed(plaintext) if self._unpadder is not None else plaintext

    def _close_unpadded(self, data: bytes) -> bytes:
        last = self._close(data)
        if self._unpadder is None:
            return last
        out = self._unpadder.feed(last)
        # Only now, with the whole stream authenticated, is the padding judged.
        self._unpadder.close()
        return out

    def _guard(self, step: _Step, data: bytes) -> bytes:
        if self._closed:
            raise RuntimeError("this opener is closed")
        if self._error is not None:
            raise type(self._error)(self._error.message)
        try:
            return step(data)
        except EnvelopeError as error:
            # Stay failed: a caller that ignores one error must not get plaintext later.
            self._error = error
            self._state = None
            raise

    def _feed(self, data: bytes) -> bytes:
        if self._final_seen:
            if data:
                raise EnvelopeCorruptError(AFTER_FINAL)
            return b""
        self._buffer += data
        if self._state is None and not self._read_header():
            return b""
        plaintext = []
        start = 0
        while not self._final_seen and len(self._buffer) - start >= FRAME_SIZE:
            # Fixed framing: 65553 bytes are always one whole frame, final or not; the
            # tag inside says which.
            plaintext.append(self._pull(bytes(self._buffer[start : start + FRAME_SIZE])))
            start += FRAME_SIZE
        del self._buffer[:start]
        if self._final_seen and self._buffer:
            raise EnvelopeCorruptError(AFTER_FINAL)
        return b"".join(plaintext)

    def _close(self, _data: bytes) -> bytes:
        if self._final_seen:
            self._closed = True
            return b""
        if self._state is None:
            # feed() already refused a malformed prefix, so the header is merely short.
            raise EnvelopeTruncatedError(SHORT_HEADER)
        # Whatever is left is shorter than a frame, so it can only be the last frame.
        if len(self._buffer) < CHUNK_OVERHEAD:
            raise EnvelopeTruncatedError(NO_FINAL)
        last = self._pull(bytes(self._buffer))
        if not self._final_seen:
            raise EnvelopeTruncatedError(NO_FINAL)
        self._buffer = bytearray()
        self._closed = True
        return last

    def _read_header(self) -> bool:
        try:
            header, length = parse_header(bytes(self._buffer[: header_length(MAX_RECIPIENTS)]))
        except EnvelopeTruncatedError:
            return False  # right so far; wait for more bytes (close() reports the end)
        self._state = self._unlock(header)
        self._header = header
        self._ad = header.associated_data
        if header.version == VERSION_PADDED:
            self._unpadder = Unpadder()
        del self._buffer[:length]
        return True

    def _unlock(self, header: EnvelopeHeader) -> crypto_secretstream_xchacha20poly1305_state:
        matched = False
        for kid, sealed_key in header.recipients:
            for our_id, pair in self._keys:
                if kid != our_id:
                    continue
                matched = True
                try:
                    item_key = crypto_box_seal_open(sealed_key, pair.public, pair.secret)
                except CryptoError:
                    continue
                if len(item_key) != crypto_secretstream_xchacha20poly1305_KEYBYTES:
                    continue
                state = crypto_secretstream_xchacha20poly1305_state()
                crypto_secretstream_xchacha20poly1305_init_pull(
                    state, header.stream_header, item_key
                )
                return state
        raise EnvelopeKeyError(KEY_UNSEALS_NOTHING if matched else NO_MATCHING_KEY)

    def _pull(self, frame: bytes) -> bytes:
        if self._state is None:
            raise RuntimeError("no stream state")  # unreachable: the header is read first
        try:
            plaintext, tag = crypto_secretstream_xchacha20poly1305_pull(
                self._state, frame, self._ad
            )
        except CryptoError:
            # Bit flips, reordering, duplication, a changed header (AD) and a frame cut
            # short all end here: authentication cannot tell them apart.
            raise EnvelopeCorruptError(CHUNK_FAILED) from None
        if tag == TAG_FINAL:
            self._final_seen = True
        elif tag != TAG_MESSAGE:
            # PUSH and REKEY are authentic but not v1: a conforming sealer never writes them.
            raise EnvelopeFormatError(BAD_TAG)
        return plaintext


def open_envelope(data: bytes, keys: Sequence[BoxKeyPair]) -> bytes:
    """Open a whole in-memory envelope; return its plaintext."""
    opener = Opener(keys)
    return opener.feed(data) + opener.close()


def open_stream(chunks: Iterable[bytes], keys: Sequence[BoxKeyPair]) -> Iterator[bytes]:
    """Open an envelope given as pieces; yield plaintext pieces.

    The last piece is yielded only after the final chunk is authenticated; an error may
    still be raised after earlier pieces were yielded, so treat them as provisional.
    """
    opener = Opener(keys)
    for chunk in chunks:
        out = opener.feed(chunk)
        if out:
            yield out
    last = opener.close()
    if last:
        yield last
