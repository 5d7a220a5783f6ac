"""Write tests/vectors/envelope-v3.json: padded envelopes (v3) and item seals.

Run once, from the repository root:

    PYTHONPATH=. .venv/bin/python tests/vectors/make_vectors_v3.py

As with make_vectors.py, sealing is randomised, so the committed file is the reference
and tests only read it. Spec: service/common/crypto/ENVELOPE-v3.md. Throwaway keys only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from service.common.crypto.envelope import Sealer, seal
from service.common.crypto.itemseal import seal_fields
from service.common.crypto.padding import MARKER, size_class
from service.common.crypto.payload import encode_payload_prefix
from service.common.crypto.token import MIN_LIMITS, PRODUCTION_LIMITS, derive
from tests.vectors.make_vectors import HERE, A, B, Vector, content, flip, frames, vector

TOKENS = ("000000000000000000000000", "314159265358979323846260")


def raw_v3(recipients: Sequence[bytes], plaintext: bytes) -> bytes:
    """A version 3 header over ``plaintext`` exactly as given (no padding added): the
    way to make padding a conforming sealer never writes."""
    sealer = Sealer(recipients, padded=True)
    sealer._padded = False  # noqa: SLF001 - test vectors only
    return sealer.header + sealer.update(plaintext) + sealer.finish()


def padding_vectors() -> list[Vector]:
    out = []
    sizes = {
        "v3-ok-empty": (b"", "empty content: P is 0x80 and 4095 zeros"),
        "v3-ok-one-byte": (content("v3-one", 1), "one byte of content"),
        "v3-ok-4095": (content("v3-4095", 4095), "content + marker exactly fill 4 KiB"),
        "v3-ok-4096": (content("v3-4096", 4096), "one byte over 4 KiB: the 16 KiB class"),
        "v3-ok-65535": (content("v3-65535", 65535), "exactly 64 KiB with the marker: one frame"),
        "v3-ok-65536": (content("v3-65536", 65536), "64 KiB of content: the 96 KiB class"),
        "v3-ok-200000": (content("v3-200000", 200_000), "the 256 KiB class, four frames"),
        "v3-ok-content-ends-like-padding": (
            content("v3-tail", 100) + b"\x80\x00\x00",
            "content ending in 0x80 0x00 0x00: only the last 0x80 starts the padding",
        ),
        "v3-ok-content-all-zeros": (bytes(300), "content of zeros"),
    }
    for name, (plaintext, description) in sizes.items():
        envelope = seal(plaintext, [A.public], padded=True)
        out.append(vector(name, description, envelope, [A], "ok", plaintext))

    def bad(name: str, description: str, envelope: bytes, expect: str) -> None:
        out.append(vector(name, description, envelope, [A], expect))

    bad(
        "v3-format-no-marker",
        "P is 4096 zeros (P1)",
        raw_v3([A.public], bytes(4096)),
        "envelope_format",
    )
    bad(
        "v3-format-last-nonzero-not-marker",
        "content, 0x01, zeros to 4 KiB (P1)",
        raw_v3([A.public], b"abc\x01" + bytes(4092)),
        "envelope_format",
    )
    bad(
        "v3-format-empty-plaintext",
        "a v3 envelope of an empty P (P1)",
        raw_v3([A.public], b""),
        "envelope_format",
    )
    bad(
        "v3-format-class-too-big",
        "3 bytes of content padded to 16 KiB instead of 4 KiB (P2)",
        raw_v3([A.public], b"abc" + bytes([MARKER]) + bytes(16384 - 4)),
        "envelope_format",
    )
    bad(
        "v3-format-not-a-class",
        "P of 5000 bytes, not a size class (P2)",
        raw_v3([A.public], b"abc" + bytes([MARKER]) + bytes(5000 - 4)),
        "envelope_format",
    )
    padded = seal(content("v3-down", 10), [A.public], padded=True)
    bad(
        "v3-corrupt-downgraded-to-v1",
        "the version byte changed from 03 to 01: AD mismatch (B1)",
        padded[:4] + b"\x01" + padded[5:],
        "envelope_corrupt",
    )
    big = seal(content("v3-big", 70_000), [A.public], padded=True)
    head, parts = frames(big)
    bad(
        "v3-truncated-drop-final-frame",
        "the last frame of a padded item removed (B4)",
        head + b"".join(parts[:-1]),
        "envelope_truncated",
    )
    return out


def seal_vectors() -> list[Vector]:
    """Items with seals: every one opens; ``seal`` says what checking it must conclude."""
    token = derive(TOKENS[1], MIN_LIMITS)
    other = derive(TOKENS[0], MIN_LIMITS)
    case_key = token.reply.public
    out: list[Vector] = []

    def item(
        name: str,
        description: str,
        position: int,
        *,
        signing: Any = token.signing,
        signed_case_key: bytes = case_key,
        tamper: Any = None,
        header_of: Sealer | None = None,
    ) -> None:
        sealer = Sealer([A.public, B.public], padded=True)
        digest = (header_of or sealer).associated_data
        fields = seal_fields(signing, signed_case_key, position, digest)
        meta: dict[str, object] = {
            "type": "message",
            "created": "2026-W49",
            "media_type": "text/plain; charset=utf-8",
            "case_public_key": case_key.hex(),
            **fields,
        }
        if tamper is not None:
            tamper(meta)
        plaintext = encode_payload_prefix(meta) + f"message {name}".encode()
        envelope = sealer.header + sealer.update(plaintext) + sealer.finish()
        entry = vector(name, description, envelope, [A], "ok", plaintext)
        valid = name.startswith("seal-ok")
        entry["seal"] = {
            "position": meta["position"],
            "case_signing_key": meta["case_signing_key"],
            "valid": valid,
        }
        out.append(entry)

    item("seal-ok-position-1", "the answers' place: position 1", 1)
    item("seal-ok-position-7", "a later item", 7)
    item("seal-ok-position-max", "the largest position, 2^53 - 1", 2**53 - 1)

    def flipped(meta: dict[str, object]) -> None:
        signature = bytes.fromhex(str(meta["item_signature"]))
        meta["item_signature"] = flip(signature, 10).hex()

    item("seal-bad-signature-bit", "one bit of the signature flipped", 3, tamper=flipped)

    def moved(meta: dict[str, object]) -> None:
        meta["position"] = 4

    item("seal-bad-position-changed", "signed for position 3, says 4", 3, tamper=moved)
    item(
        "seal-bad-other-case",
        "signed for another case's reply key",
        2,
        signed_case_key=other.reply.public,
    )
    item(
        "seal-bad-other-header",
        "the signature of another envelope's header (a copied seal)",
        2,
        header_of=Sealer([A.public], padded=True),
    )

    def foreign_key(meta: dict[str, object]) -> None:
        meta["case_signing_key"] = other.signing.verify.hex()

    item("seal-bad-key-swapped", "signed by the case, names another key", 2, tamper=foreign_key)
    return out


def _master(token: str, limits: Any) -> bytes:
    from nacl.pwhash import argon2id

    from service.common.crypto.hashing import blake2b_256

    salt = blake2b_256(b"aryz/case-token/v1/salt")[: argon2id.SALTBYTES]
    return argon2id.kdf(
        64,
        b"aryz-case-token-v1:" + token.encode("ascii"),
        salt,
        opslimit=limits.opslimit,
        memlimit=limits.memlimit,
    )


def token_entries() -> list[dict[str, Any]]:
    entries = []
    for token in TOKENS:
        entry: dict[str, Any] = {"token": token}
        for label, limits in (("min", MIN_LIMITS), ("production", PRODUCTION_LIMITS)):
            entry[label] = {
                "opslimit": limits.opslimit,
                "memlimit": limits.memlimit,
                # The Argon2id output (v1 §9.3), for readers without crypto_pwhash.
                "master": _master(token, limits).hex(),
                "case_signing_key": derive(token, limits).signing.verify.hex(),
            }
        entries.append(entry)
    return entries


def main() -> None:
    data = {
        "format": "aryz-envelope-v3",
        "spec": "service/common/crypto/ENVELOPE-v3.md",
        "note": (
            "Throwaway test keys. expect is 'ok' or the error code a reader must give; "
            "plaintext_* describe the content, padding removed; seal is what checking "
            "an item's seal (spec section 3) must conclude."
        ),
        "size_classes": [size_class(n) for n in (1, 4097, 16385, 65537, 98305, 131073)],
        "vectors": padding_vectors() + seal_vectors(),
        "tokens": token_entries(),
    }
    path = HERE / "envelope-v3.json"
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="ascii")
    sys.stdout.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
