"""Complete cases: each item a submitter seals carries its place in the case, signed.

The server cannot read items, but it decides which ones exist: it could drop one, store
one twice, change their order or add one of its own (it knows the coalition's keys and
the case's reply key, so it can seal anything). Inside the encryption each item now says::

    position          its place in the case, 1 for the first item (the answers)
    case_signing_key  hex of the case's Ed25519 key, derived from the token
    item_signature    Ed25519 over  "aryz/item/v1" || case_public_key (32)
                                    || position (u64 big-endian) || H(envelope header) (32)

Only a token holder can sign, so an injected item carries no valid signature; the
position shows a gap, a repeat or an order the server changed; the header digest ties the
signature to this one envelope, so it cannot be copied into another. The desk checks all
of it (service/desk/casework/completeness.py). See ENVELOPE-v3.md §3.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.common.crypto.envelope import Sealer
from service.common.crypto.keys import SigningKeyPair, sign, verify
from service.common.errors import EnvelopeKeyError

CONTEXT = b"aryz/item/v1"
MAX_POSITION = 2**53 - 1  # exact in every JSON reader
_HEX32 = re.compile(r"\A[0-9a-f]{64}\Z")
_HEX64 = re.compile(r"\A[0-9a-f]{128}\Z")
SEAL_KEYS = ("position", "case_signing_key", "item_signature")


@dataclass(frozen=True)
class ItemSeal:
    """What an opened item says about its place in its case.

    ``position`` and ``signer`` are None when absent or malformed; ``valid`` is True only
    for a well-formed, correctly signed item.
    """

    position: int | None
    signer: str | None
    valid: bool

    def as_record(self, header_digest: bytes) -> dict[str, Any]:
        """The form the desk stores with the item."""
        return {
            "position": self.position,
            "signer": self.signer,
            "valid": self.valid,
            "digest": header_digest.hex(),
        }


def signed_message(case_public_key: bytes, position: int, header_digest: bytes) -> bytes:
    """The bytes an item signature covers."""
    if len(case_public_key) != 32 or len(header_digest) != 32:
        raise ValueError("a case key and a header digest are 32 bytes")
    if not 1 <= position <= MAX_POSITION:
        raise ValueError("a position is 1 or more")
    return CONTEXT + case_public_key + position.to_bytes(8, "big") + header_digest


def seal_fields(
    signing: SigningKeyPair, case_public_key: bytes, position: int, header_digest: bytes
) -> dict[str, object]:
    """The metadata entries that place an item in its case (add ``case_public_key`` too)."""
    signature = sign(signing.seed, signed_message(case_public_key, position, header_digest))
    return {
        "position": position,
        "case_signing_key": signing.verify.hex(),
        "item_signature": signature.hex(),
    }


def case_item_sealer(
    recipients: Sequence[bytes],
    signing: SigningKeyPair,
    case_public_key: bytes,
    position: int,
) -> tuple[Sealer, dict[str, object]]:
    """A padded (v3) sealer for one item of a case, and the metadata entries that place
    and sign it (with ``case_public_key``): the writer adds them to its own metadata."""
    sealer = Sealer(recipients, padded=True)
    fields = seal_fields(signing, case_public_key, position, sealer.associated_data)
    fields["case_public_key"] = case_public_key.hex()
    return sealer, fields


def seal_case_item(
    recipients: Sequence[bytes],
    signing: SigningKeyPair,
    case_public_key: bytes,
    position: int,
    plaintext: Callable[[Mapping[str, object]], bytes],
) -> bytes:
    """Seal a whole in-memory item; ``plaintext`` builds the payload from the seal's
    metadata entries (they depend on the envelope header, so they come first)."""
    sealer, fields = case_item_sealer(recipients, signing, case_public_key, position)
    return sealer.header + sealer.update(plaintext(fields)) + sealer.finish()


def read_seal(meta: dict[str, Any], header_digest: bytes) -> ItemSeal | None:
    """Check an opened item's seal; None if it carries none (sealed before this existed)."""
    if not any(key in meta for key in SEAL_KEYS):
        return None
    position: Any = meta.get("position")
    signer = meta.get("case_signing_key")
    signature = meta.get("item_signature")
    case_key = meta.get("case_public_key")
    whole = isinstance(position, int) and not isinstance(position, bool)
    good_position = position if whole and 1 <= position <= MAX_POSITION else None
    good_signer = signer if isinstance(signer, str) and _HEX32.match(signer) else None
    if (
        good_position is None
        or good_signer is None
        or not (isinstance(signature, str) and _HEX64.match(signature))
        or not (isinstance(case_key, str) and _HEX32.match(case_key))
    ):
        return ItemSeal(good_position, good_signer, False)
    message = signed_message(bytes.fromhex(case_key), good_position, header_digest)
    try:
        verify(bytes.fromhex(good_signer), message, bytes.fromhex(signature))
    except EnvelopeKeyError:
        return ItemSeal(good_position, good_signer, False)
    return ItemSeal(good_position, good_signer, True)
