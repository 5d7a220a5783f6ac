"""Registry changes: the coalition's own signed word on its couriers and signing key.

A coalition controls two things in the server's registry without asking the operator to
edit it: which courier credentials may pull and push for it (issue 16, audit F-12), and,
after a stolen desk, which Ed25519 key signs for it from now on. The desk writes each
change as a small file, signed with its signing key (the one that signs outboxes, which
never leaves the air-gapped desk); the operator drops it into the server's
``registry-changes/`` folder (``aryz registry apply FILE`` checks it first); the server
applies it on SIGHUP or within seconds of the file appearing, without a restart
(``service.server.registry.changes``).

Change JSON: ``{"body": {...}, "signature": hex[, "new_signature": hex]}``, the signature
over ``b"aryz-registry-change-v1\\n" + canonical JSON(body)`` by the signing key in effect
when the change is made. Body::

    {"format": "aryz-registry-change", "version": 1, "coalition": id, "serial": n,
     "signer": the signing key's verify key hex,
     "couriers_added": [verify key hex, ...], "couriers_revoked": [verify key hex, ...],
     "signing_key": new Ed25519 verify key hex or null}

``serial`` counts the changes signed by one signing key, from 1: the server applies them
in that order and refuses a serial it has seen. A change naming ``signing_key`` rotates
the key: the old key signs it and the new key countersigns it (``new_signature``, the
same message), so nobody can move a coalition to a key they do not hold. After it, only
the new key's changes count, numbered from 1 again; the old key's later ones are refused.

An **acceptance** is the operator's answer when the old key is gone with the desk and no
change signed by it can be made: ``aryz registry accept-signing-key`` shows both
fingerprints, and once the operator confirms the one the coalition read out, writes::

    {"format": "aryz-signing-key-acceptance", "version": 1, "coalition": id,
     "replaces": old key hex, "signing_key": new key hex, "after_serial": n}

It is unsigned: whoever may write the registry folder may already edit the registry.
``after_serial`` is the old key's last change applied when it was accepted; the old key's
changes beyond it are refused (a thief holding the old key cannot add couriers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.common.crypto.keys import sign, signing_keypair_from_seed, verify
from service.common.errors import AryzError, EnvelopeKeyError

FORMAT = "aryz-registry-change"
ACCEPTANCE_FORMAT = "aryz-signing-key-acceptance"
VERSION = 1
DOMAIN = b"aryz-registry-change-v1\n"
MAX_BYTES = 16 * 1024
MAX_COURIERS = 16  # per change: a real change names one or two
_HEX32 = re.compile(r"[0-9a-f]{64}")
_HEX64 = re.compile(r"[0-9a-f]{128}")
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class RegistryChangeError(AryzError):
    code = "registry_change"
    message = "The registry change is not valid."


@dataclass(frozen=True)
class RegistryChange:
    coalition: str
    serial: int
    signer: bytes  # the verify key of the signing key that signs this change
    couriers_added: tuple[bytes, ...] = ()
    couriers_revoked: tuple[bytes, ...] = ()
    signing_key: bytes | None = None  # a new signing key: the change rotates it

    def body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "coalition": self.coalition,
            "serial": self.serial,
            "signer": self.signer.hex(),
            "couriers_added": [k.hex() for k in self.couriers_added],
            "couriers_revoked": [k.hex() for k in self.couriers_revoked],
            "signing_key": None if self.signing_key is None else self.signing_key.hex(),
        }


@dataclass(frozen=True)
class SignedChange:
    """A change as it arrived, with the signatures still to be checked."""

    change: RegistryChange
    signature: bytes
    new_signature: bytes | None

    @property
    def coalition(self) -> str:
        return self.change.coalition

    def signed_by(self, verify_key: bytes) -> bool:
        """True when ``verify_key`` signed it (and, for a rotation, the new key too)."""
        if self.change.signer != verify_key:
            return False
        message = DOMAIN + canonical(self.change.body())
        try:
            verify(verify_key, message, self.signature)
            if self.change.signing_key is not None:
                verify(self.change.signing_key, message, self.new_signature or b"")
        except EnvelopeKeyError:
            return False
        return True


@dataclass(frozen=True)
class Acceptance:
    coalition: str
    replaces: bytes
    signing_key: bytes
    after_serial: int

    def document(self) -> dict[str, Any]:
        return {
            "format": ACCEPTANCE_FORMAT,
            "version": VERSION,
            "coalition": self.coalition,
            "replaces": self.replaces.hex(),
            "signing_key": self.signing_key.hex(),
            "after_serial": self.after_serial,
        }


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _checked(change: RegistryChange) -> RegistryChange:
    keys = [*change.couriers_added, *change.couriers_revoked]
    if (
        not _ID.fullmatch(change.coalition)
        or change.serial < 1
        or len(keys) > MAX_COURIERS
        or any(len(k) != 32 for k in keys)
        or len(set(keys)) != len(keys)  # a key added and revoked at once, or twice
        or len(change.signer) != 32
        or (change.signing_key is not None and len(change.signing_key) != 32)
        or change.signing_key == change.signer
        or (not keys and change.signing_key is None)
    ):
        raise RegistryChangeError()
    return change


def make_change(change: RegistryChange, signing_seed: bytes, new_seed: bytes | None = None) -> str:
    """Sign ``change`` on the desk; ``new_seed`` countersigns a rotation. Returns JSON."""
    body = _checked(change).body()
    if signing_keypair_from_seed(signing_seed).verify != change.signer:
        raise RegistryChangeError()
    message = DOMAIN + canonical(body)
    document: dict[str, Any] = {"body": body, "signature": sign(signing_seed, message).hex()}
    if change.signing_key is not None:
        if new_seed is None:
            raise RegistryChangeError()
        document["new_signature"] = sign(new_seed, message).hex()
    return json.dumps(document, sort_keys=True, indent=1) + "\n"


def make_acceptance(acceptance: Acceptance) -> str:
    return json.dumps(acceptance.document(), sort_keys=True, indent=1) + "\n"


def parse(text: str) -> SignedChange | Acceptance:
    """Read a change or an acceptance; signatures are checked by whoever knows the key."""
    try:
        if len(text) > MAX_BYTES:
            raise RegistryChangeError()
        document = json.loads(text)
        if isinstance(document, dict) and document.get("format") == ACCEPTANCE_FORMAT:
            return _acceptance(document)
        if not isinstance(document, dict) or not {"body", "signature"} <= set(document):
            raise RegistryChangeError()
        if not set(document) <= {"body", "signature", "new_signature"}:
            raise RegistryChangeError()
        body = document["body"]
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise RegistryChangeError()
        if body.get("version") != VERSION:
            raise RegistryChangeError("This registry change's version is not supported.")
        if type(body["serial"]) is not int:
            raise RegistryChangeError()
        signing = body["signing_key"]
        change = RegistryChange(
            coalition=str(body["coalition"]),
            serial=body["serial"],
            signer=_key(body["signer"]),
            couriers_added=tuple(_key(k) for k in body["couriers_added"]),
            couriers_revoked=tuple(_key(k) for k in body["couriers_revoked"]),
            signing_key=None if signing is None else _key(signing),
        )
        if canonical(_checked(change).body()) != canonical(body):
            raise RegistryChangeError()  # extra or reordered fields: refuse, never guess
        new_signature = document.get("new_signature")
        if (new_signature is None) != (change.signing_key is None):
            raise RegistryChangeError()
        return SignedChange(
            change,
            _signature(document["signature"]),
            None if new_signature is None else _signature(new_signature),
        )
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError):
        raise RegistryChangeError() from None


def _acceptance(document: dict[str, Any]) -> Acceptance:
    if document.get("version") != VERSION or type(document.get("after_serial")) is not int:
        raise RegistryChangeError()
    acceptance = Acceptance(
        coalition=str(document["coalition"]),
        replaces=_key(document["replaces"]),
        signing_key=_key(document["signing_key"]),
        after_serial=document["after_serial"],
    )
    if (
        not _ID.fullmatch(acceptance.coalition)
        or acceptance.after_serial < 0
        or acceptance.replaces == acceptance.signing_key
        or canonical(acceptance.document()) != canonical(document)
    ):
        raise RegistryChangeError()
    return acceptance


def _key(value: object) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise ValueError
    return bytes.fromhex(value)


def _signature(value: object) -> bytes:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise ValueError
    return bytes.fromhex(value)


def follow(rotations: Sequence[str], trusted: Sequence[bytes]) -> list[bytes]:
    """The signing keys a chain of rotations vouches for, starting from ``trusted``.

    Forward, a rotation signed by a trusted key makes its new key trusted; backward, a
    trusted key's countersignature on a rotation vouches for the key it replaced (so what
    that key signed before stays the coalition's). Oldest first; empty if none is trusted.
    """
    links = []
    for text in rotations:
        try:
            item = parse(text)
        except RegistryChangeError:
            continue
        if isinstance(item, SignedChange) and item.change.signing_key is not None:
            links.append(item)
    keys = [k for k in trusted]
    grew = True
    while grew:
        grew = False
        for link in links:
            old, new = link.change.signer, link.change.signing_key
            assert new is not None  # noqa: S101 - filtered above
            if link.signed_by(old) and (old in keys) != (new in keys):
                keys.append(new if old in keys else old)
                grew = True
    order = [link.change.signer for link in links] + [
        k for link in links for k in [link.change.signing_key] if k is not None
    ]
    return sorted(keys, key=lambda k: order.index(k) if k in order else len(order))
