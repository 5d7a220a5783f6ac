"""Write the committed test vectors: envelope-v1.json and token-v1.json.

Run once, from the repository root:

    .venv/bin/python tests/vectors/make_vectors.py

Sealing is randomised (item keys, ephemeral keys), so each run writes different
envelopes: the committed file is the reference, and tests only ever read it. Re-run only
when the format changes, and commit the result together with that change. The token
vectors are deterministic.

The keys below are throwaway test keys derived from fixed labels; they protect nothing.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from service.common.crypto.envelope import FRAME_SIZE, Sealer, parse_header, seal
from service.common.crypto.hashing import blake2b_256
from service.common.crypto.keys import BoxKeyPair, box_keypair_from_seed
from service.common.crypto.token import (
    MIN_LIMITS,
    PRODUCTION_LIMITS,
    damm_check_digit,
    derive,
    format_token,
    stored_lookup_key,
)

HERE = Path(__file__).resolve().parent
INLINE_PLAINTEXT_MAX = 1024
# Secretstream tag values (libsodium): used only to forge non-conforming envelopes.
TAG_MESSAGE, TAG_PUSH, TAG_REKEY, TAG_FINAL = 0, 1, 2, 3

Vector = dict[str, Any]


def vector_key(label: str) -> BoxKeyPair:
    """A throwaway key pair, the same on every run."""
    return box_keypair_from_seed(blake2b_256(b"aryz test vector key " + label.encode()))


A, B, C = vector_key("A"), vector_key("B"), vector_key("C")
EIGHT = [vector_key(f"R{i}") for i in range(8)]


def content(name: str, length: int) -> bytes:
    """Deterministic pseudo-random plaintext (SHAKE-256 of the vector's name)."""
    return hashlib.shake_256(b"aryz vector " + name.encode()).digest(length)


def frames(envelope: bytes) -> tuple[bytes, list[bytes]]:
    """Split an envelope into its header and its frames."""
    _, length = parse_header(envelope)
    body = envelope[length:]
    return envelope[:length], [body[i : i + FRAME_SIZE] for i in range(0, len(body), FRAME_SIZE)]


def flip(data: bytes, offset: int) -> bytes:
    """Flip the lowest bit of one byte."""
    return data[:offset] + bytes([data[offset] ^ 1]) + data[offset + 1 :]


def vector(
    name: str,
    description: str,
    envelope: bytes,
    keys: Sequence[BoxKeyPair],
    expect: str,
    plaintext: bytes | None = None,
) -> Vector:
    """One entry of envelope-v1.json."""
    entry: Vector = {
        "name": name,
        "description": description,
        "keys": [{"public": k.public.hex(), "secret": k.secret.hex()} for k in keys],
        "envelope": envelope.hex(),
        "expect": expect,
    }
    if plaintext is not None:
        entry["plaintext_length"] = len(plaintext)
        entry["plaintext_sha256"] = hashlib.sha256(plaintext).hexdigest()
        if len(plaintext) <= INLINE_PLAINTEXT_MAX:
            entry["plaintext"] = plaintext.hex()
    return entry


def forged(recipients: Sequence[bytes], build: Callable[[Sealer], bytes]) -> bytes:
    """Seal with a real Sealer but let ``build`` choose the chunks and tags.

    Uses the sealer's private push: the only way to make envelopes a conforming sealer
    refuses to make, which readers must refuse in turn.
    """
    sealer = Sealer(recipients)
    return sealer.header + build(sealer)


def ok_vectors() -> list[Vector]:
    """Envelopes every reader must open."""
    out = []
    sizes = {
        "ok-empty": (0, "empty plaintext: one 17-byte final frame"),
        "ok-one-byte": (1, "one byte"),
        "ok-chunk-minus-one": (65535, "one short final frame"),
        "ok-one-chunk": (65536, "exactly one chunk: one full frame with TAG_FINAL"),
        "ok-chunk-plus-one": (65537, "one full message frame, then an 18-byte final frame"),
        "ok-three-chunks-plus-five": (3 * 65536 + 5, "three full message frames and 5 bytes"),
    }
    for name, (size, description) in sizes.items():
        plaintext = content(name, size)
        out.append(vector(name, description, seal(plaintext, [A.public]), [A], "ok", plaintext))

    plaintext = content("two", 1000)
    both = seal(plaintext, [A.public, B.public])
    out.append(
        vector("ok-two-recipients-first", "opened by recipient 1", both, [A], "ok", plaintext)
    )
    out.append(
        vector("ok-two-recipients-second", "opened by recipient 2", both, [B], "ok", plaintext)
    )
    out.append(
        vector(
            "ok-reader-holds-several-keys",
            "the reader holds an unrelated key and the right one",
            both,
            [C, B],
            "ok",
            plaintext,
        )
    )
    out.append(
        vector(
            "ok-reader-holds-both-recipients",
            "the reader holds the keys of both entries, listed in the other order: entries "
            "are tried in header order (5.2); either opens the same plaintext",
            both,
            [B, A],
            "ok",
            plaintext,
        )
    )
    plaintext = content("eight", 300)
    eight = seal(plaintext, [k.public for k in EIGHT])
    out.append(
        vector(
            "ok-eight-recipients-last",
            "8 recipients, the last opens",
            eight,
            [EIGHT[7]],
            "ok",
            plaintext,
        )
    )

    plaintext = content("empty-final", 65536)
    env = forged([A.public], lambda s: s._push(plaintext, TAG_MESSAGE) + s._push(b"", TAG_FINAL))
    out.append(
        vector(
            "ok-empty-final-after-full-chunk",
            "a full message chunk, then an empty final chunk (unambiguous, so accepted)",
            env,
            [A],
            "ok",
            plaintext,
        )
    )
    return out


def bad_vectors() -> list[Vector]:
    """Envelopes every reader must refuse, with the error code it must give."""
    out = []
    two = seal(content("two-frames", 65537), [A.public])
    head2, (m1, f2) = frames(two)
    three = seal(content("three-frames", 2 * 65536 + 1), [A.public])
    head3, (n1, n2, n3) = frames(three)
    full = seal(content("full-final", 65536), [A.public])
    small = seal(content("small", 100), [A.public])
    shared = seal(content("shared", 100), [A.public, B.public])

    def add(
        name: str, description: str, envelope: bytes, expect: str, keys: Sequence[BoxKeyPair] = (A,)
    ) -> None:
        out.append(vector(name, description, envelope, keys, expect))

    add(
        "truncated-drop-final-frame", "the final frame is missing", head2 + m1, "envelope_truncated"
    )
    add("truncated-header-only", "no body at all", head2, "envelope_truncated")
    add(
        "truncated-inside-header", "the data ends inside the header", two[:50], "envelope_truncated"
    )
    add("truncated-inside-fixed-header", "the data ends before n", two[:5], "envelope_truncated")
    add(
        "truncated-last-frame-under-17",
        "10 bytes of the final frame remain",
        head2 + m1 + f2[:10],
        "envelope_truncated",
    )
    add(
        "corrupt-cut-inside-final-frame",
        "the final frame is cut after 17 bytes",
        head2 + m1 + f2[:17],
        "envelope_corrupt",
    )
    add(
        "corrupt-extra-frame-after-final",
        "a frame follows the final frame",
        head2 + m1 + f2 + m1,
        "envelope_corrupt",
    )
    add(
        "corrupt-bytes-after-full-final-frame",
        "5 bytes follow a full final frame",
        full + b"\x00" * 5,
        "envelope_corrupt",
    )
    add(
        "corrupt-byte-after-short-final-frame",
        "1 byte follows a short final frame",
        small + b"\x00",
        "envelope_corrupt",
    )
    add(
        "corrupt-reordered-frames",
        "the two message frames are swapped",
        head3 + n2 + n1 + n3,
        "envelope_corrupt",
    )
    add(
        "corrupt-duplicated-frame",
        "the first frame appears twice",
        head2 + m1 + m1 + f2,
        "envelope_corrupt",
    )
    add(
        "corrupt-frame-from-other-envelope",
        "the final frame of another envelope",
        head2 + m1 + frames(seal(content("two-frames", 65537), [A.public]))[1][1],
        "envelope_corrupt",
    )
    add(
        "corrupt-bitflip-message-frame",
        "one bit flipped in a message frame",
        head3 + flip(n1 + n2, 70000) + n3,
        "envelope_corrupt",
    )
    add(
        "corrupt-bitflip-final-frame",
        "one bit flipped in the final frame",
        flip(small, len(small) - 1),
        "envelope_corrupt",
    )
    add(
        "corrupt-bitflip-stream-header",
        "one bit flipped in the secretstream header",
        flip(small, len(head2) - 3),
        "envelope_corrupt",
    )
    ad_only = flip(shared, 6 + 88 + 8 + 40)  # inside recipient 2's sealed key
    add(
        "corrupt-header-bitflip-other-recipient",
        "recipient 2's sealed key changed; recipient 1 opens: AD mismatch",
        ad_only,
        "envelope_corrupt",
    )
    add(
        "key-header-bitflip-own-sealed-key",
        "the reader's own sealed key changed",
        flip(shared, 6 + 8 + 40),
        "envelope_key",
    )
    add("key-wrong-key", "sealed to another key", small, "envelope_key", keys=(C,))
    add("format-bad-magic", "magic ARYX", b"ARYX" + small[4:], "envelope_format")
    add("format-bad-magic-short", "2 bytes that cannot start an envelope", b"AX", "envelope_format")
    add("format-version-2", "version byte 2", small[:4] + b"\x02" + small[5:], "envelope_format")
    add("format-version-0", "version byte 0", small[:4] + b"\x00" + small[5:], "envelope_format")
    add("format-zero-recipients", "n = 0", small[:5] + b"\x00" + small[6:], "envelope_format")
    add(
        "format-nine-recipients",
        "n = 9",
        small[:5] + b"\x09" + small[6:] + b"\x00" * 88 * 8,
        "envelope_format",
    )
    entry = small[6 : 6 + 88]
    dup = small[:5] + b"\x02" + entry + entry + small[6 + 88 :]
    add(
        "format-duplicate-key-id",
        "the same recipient entry twice (checked before any key is tried)",
        dup,
        "envelope_format",
    )

    chunk = content("forged", 65536)
    push = forged([A.public], lambda s: s._push(chunk, TAG_PUSH) + s.finish())
    add("format-push-tag", "an authentic chunk with TAG_PUSH", push, "envelope_format")
    rekey = forged([A.public], lambda s: s._push(chunk, TAG_REKEY) + s.finish())
    add("format-rekey-tag", "an authentic chunk with TAG_REKEY", rekey, "envelope_format")
    short_message = forged([A.public], lambda s: s._push(b"abc", TAG_MESSAGE))
    add(
        "truncated-short-last-frame-message-tag",
        "the only frame is short and tagged MESSAGE",
        short_message,
        "envelope_truncated",
    )
    return out


def token_vectors() -> dict[str, Any]:
    """Deterministic case-token vectors: check digits, display form and derivation."""
    pepper = bytes(range(32))
    bodies = [
        "0" * 23,
        "12345678901234567890123",
        "99999999999999999999999",
        "31415926535897932384626",
    ]
    entries = []
    for body in bodies:
        token = body + str(damm_check_digit(body))
        entry: dict[str, Any] = {"token": token, "display": format_token(token)}
        for label, limits in (("min", MIN_LIMITS), ("production", PRODUCTION_LIMITS)):
            secrets_ = derive(token, limits)
            entry[label] = {
                "opslimit": limits.opslimit,
                "memlimit": limits.memlimit,
                "lookup_id": secrets_.lookup_id.hex(),
                "reply_public": secrets_.reply.public.hex(),
                "stored_lookup_key": stored_lookup_key(secrets_.lookup_id, pepper).hex(),
            }
        entries.append(entry)
    return {
        "format": "aryz-case-token-v1",
        "spec": "service/common/crypto/ENVELOPE-v1.md section 9",
        "pepper": pepper.hex(),
        "tokens": entries,
    }


def main() -> None:
    """Write both vector files next to this script."""
    envelope_file = {
        "format": "aryz-envelope-v1",
        "spec": "service/common/crypto/ENVELOPE-v1.md",
        "note": "Throwaway test keys. expect is 'ok' or the error code a reader must give.",
        "vectors": ok_vectors() + bad_vectors(),
    }
    for name, data in (("envelope-v1.json", envelope_file), ("token-v1.json", token_vectors())):
        path = HERE / name
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="ascii")
        sys.stdout.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
