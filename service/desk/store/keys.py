"""The desk's keys: made at the key ceremony, unlocked once per command, rotated by epoch.

``keys.json`` (mode 0600) in the desk folder holds, in clear, only public facts: the
coalition id, the Ed25519 signing key, the courier credentials' verify keys and each
epoch's X25519 public key. The secrets — every epoch's X25519 seed, the Ed25519 signing
seed and the random **store key** that encrypts the desk's database — are one JSON object
wrapped under the passphrase (``service.common.crypto.wrap``: Argon2id, by default at libsodium's
"sensitive" limits, then XChaCha20-Poly1305). The public part is the wrap's associated
data, so editing it (say, swapping the signing key) makes the unlock fail; after
unwrapping, every public key is derived again from its secret and compared.

The courier credential is a separate Ed25519 key pair for the online courier machine. Its
seed is written once to ``courier-credential.json`` to be carried to that machine; the desk
keeps only the verify key.

**Named staff** (version 2 key files). Each member opens the same desk with their own
passphrase. The file holds one Argon2id salt and limits for the whole desk and, per
member, a random id, an X25519 public key and a random **desk key** sealed to it
(``crypto_box_seal``); the secrets above are encrypted once under the desk key
(``service.common.crypto.wrap`` value v1), with the public keys, the KDF settings and
every member entry as associated data. Unlocking derives the member's key pair from
Argon2id(passphrase, desk salt) — one derivation, whoever the member — and opens the entry
whose public key it gives. Adding a member needs the desk key (an unlocked desk) and one
derivation for the newcomer; removing one draws a new desk key and seals it to those who
stay, so the removed entry, even copied from an older file, opens nothing here. Names are
not in this file (service/desk/casework/staff.py keeps them in the encrypted store).

``ARYZ_DESK_KDF=minimum`` makes *new* wraps use libsodium's minimum limits, for tests
only: such a desk is unprotected, and :func:`weak_limits` lets the CLI say so loudly.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import service.common.files as files
from service.common.contract.credential import credential_fields, credential_json
from service.common.crypto.hashing import blake2b_256
from service.common.crypto.keys import (
    BoxKeyPair,
    SigningKeyPair,
    box_keypair_from_seed,
    fingerprint,
    generate_signing_keypair,
    open_sealed,
    seal_to,
    sign,
    verify,
)
from service.common.crypto.wrap import (
    KEY_LEN,
    SENSITIVE_LIMITS,
    KdfLimits,
    decrypt_value,
    derive_key,
    encrypt_value,
    limits_named,
    new_key,
    new_salt,
    unwrap_secret,
    wrap_secret,
    wrapped_limits,
)
from service.common.errors import EnvelopeError, EnvelopeFormatError, EnvelopeKeyError
from service.common.passphrase import normalise
from service.desk.errors import (
    DeskDamagedError,
    DeskNotFoundError,
    DeskSetupError,
    KdfSettingError,
    StaffError,
    WrongPassphraseError,
)

KEYS_FILE = "keys.json"
PUBLIC_KEY_FILE = "public-key.toml"
COURIER_FILE = "courier-credential.json"
FORMAT = "aryz-desk-keys"
VERSION = 1
STAFF_VERSION = 2  # a key file with named staff (see "Named staff" above)
_WRAP_CONTEXT = b"aryz-desk-keys-v1\n"
_STAFF_CONTEXT = b"aryz-desk-keys-v2 staff\n"
_STAFF_SEED_DOMAIN = b"aryz-desk staff key v1"
# The registry's rule for coalition ids (service/server/registry/schemas.py).
_COALITION_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
KDF_ENV = "ARYZ_DESK_KDF"

BAD_COALITION_ID = (
    "A coalition id is 1 to 63 lowercase letters, digits and '-' (as in the registry)."
)


@dataclass(frozen=True)
class PublicKeys:
    """What ``keys.json`` says in clear."""

    coalition: str
    signing_key: bytes
    epochs: tuple[tuple[int, bytes], ...]  # (epoch, X25519 public key), oldest first
    courier_keys: tuple[bytes, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "coalition": self.coalition,
            "signing_key": self.signing_key.hex(),
            "epochs": [{"epoch": e, "public_key": k.hex()} for e, k in self.epochs],
            "courier_keys": [k.hex() for k in self.courier_keys],
        }

    @property
    def latest_epoch(self) -> int:
        return self.epochs[-1][0]


@dataclass(frozen=True)
class Keyring:
    """An unlocked desk's keys. Its repr shows no secret."""

    public: PublicKeys
    signing_seed: bytes = field(repr=False)
    box_seeds: tuple[tuple[int, bytes], ...] = field(repr=False)  # (epoch, seed), oldest first
    store_key: bytes = field(repr=False)
    limits: KdfLimits  # what the key file was wrapped with
    # Named staff (version 2 key files): who unlocked, and the desk key that every
    # member's entry opens. Both None on a version 1 desk (one passphrase, no names).
    member: str | None = None
    desk_key: bytes | None = field(default=None, repr=False)

    @property
    def coalition(self) -> str:
        return self.public.coalition

    @cached_property
    def decryption_keys(self) -> list[BoxKeyPair]:
        """Every epoch's key pair: old items stay readable after a rotation."""
        return [box_keypair_from_seed(seed) for _epoch, seed in self.box_seeds]


@dataclass(frozen=True)
class CourierCredential:
    """The online courier machine's Ed25519 credential (the seed leaves the desk)."""

    coalition: str
    pair: SigningKeyPair

    def as_json(self) -> dict[str, str]:
        return credential_fields(self.coalition, self.pair)


def kdf_limits_from_env(env: Mapping[str, str] = os.environ) -> KdfLimits:
    """The limits for new wraps: sensitive, unless ``ARYZ_DESK_KDF=minimum`` (tests)."""
    limits = limits_named(env.get(KDF_ENV, ""))
    if limits is None:
        raise KdfSettingError()
    return limits


def weak_limits(limits: KdfLimits) -> bool:
    """True if ``limits`` are below the sensitive preset (a test-only desk)."""
    return (
        limits.opslimit < SENSITIVE_LIMITS.opslimit or limits.memlimit < SENSITIVE_LIMITS.memlimit
    )


def check_coalition_id(coalition: str) -> None:
    if not _COALITION_ID.fullmatch(coalition):
        raise DeskSetupError(BAD_COALITION_ID)


def create_keys(
    directory: Path, coalition: str, passphrase: str, limits: KdfLimits, *, named: bool = False
) -> tuple[Keyring, CourierCredential]:
    """Make every key of a new desk, write ``keys.json`` and the courier credential.

    ``named``: a version 2 key file whose first staff member holds ``passphrase``
    (the keyring's ``member``); otherwise the version 1 file with one passphrase.
    """
    check_coalition_id(coalition)
    # X25519 pairs are kept as seeds so that unlocking can re-derive and check each public.
    box_seed = new_key()
    signing = generate_signing_keypair()
    courier = CourierCredential(coalition, generate_signing_keypair())
    public = PublicKeys(
        coalition=coalition,
        signing_key=signing.verify,
        epochs=((1, box_keypair_from_seed(box_seed).public),),
        courier_keys=(courier.pair.verify,),
    )
    keyring = Keyring(public, signing.seed, ((1, box_seed),), new_key(), limits)
    if named:
        keyring, staff = first_member(keyring, passphrase, limits)
        write_staff_file(directory, keyring, staff, new=True)
    else:
        files.write_new(directory / KEYS_FILE, _key_file(keyring, passphrase))
    files.write_new(
        directory / COURIER_FILE, credential_json(courier.coalition, courier.pair).encode()
    )
    return keyring, courier


def unlock(directory: Path, passphrase: str) -> Keyring:
    """Unwrap the desk's keys with ``passphrase`` (one Argon2id derivation).

    On a desk with named staff, the one derivation gives the member's key pair; the
    member is the entry with that public key (no name is typed, none is in clear).
    """
    public, blob, staff = _read_key_file(directory)
    if staff is not None:
        return _unlock_staff(public, staff, passphrase)
    try:
        raw = unwrap_secret(blob, _passphrase_bytes(passphrase), context=_context(public))
    except EnvelopeKeyError:
        raise WrongPassphraseError() from None
    except EnvelopeFormatError:
        raise DeskDamagedError() from None
    keyring = _parse_secrets(public, raw, wrapped_limits(blob))
    _check_derivations(keyring)
    return keyring


def rotate(directory: Path, passphrase: str, limits: KdfLimits) -> tuple[Keyring, int]:
    """Add a new X25519 epoch; keep every older one so old items stay readable.

    The key file is re-wrapped (new salt, today's limits) and replaced atomically. On a
    desk with named staff every member's entry stays as it is (the desk key is kept).
    """
    current = unlock(directory, passphrase)
    epoch = current.public.latest_epoch + 1
    seed = new_key()
    public = replace(
        current.public,
        epochs=(*current.public.epochs, (epoch, box_keypair_from_seed(seed).public)),
    )
    keyring = replace(current, public=public, box_seeds=(*current.box_seeds, (epoch, seed)))
    if current.desk_key is not None:
        staff = _read_key_file(directory)[2]
        assert staff is not None  # noqa: S101 - a desk key comes only from a staff file
        files.replace(directory / KEYS_FILE, _staff_file(keyring, staff))
        return keyring, epoch
    keyring = replace(keyring, limits=limits)
    files.replace(directory / KEYS_FILE, _key_file(keyring, passphrase))
    return keyring, epoch


# --- named staff ------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffKey:
    """One member's entry in a version 2 key file (no name: names live in the store)."""

    id: str  # 16 hex digits, random
    public_key: bytes  # X25519, derived from the member's passphrase
    sealed: bytes  # the desk key, sealed to public_key


@dataclass(frozen=True)
class StaffFile:
    salt: bytes
    limits: KdfLimits
    members: tuple[StaffKey, ...]
    secrets: bytes  # the secret half of the keys under the desk key


def staff_ids(directory: Path) -> tuple[str, ...]:
    """The members whose passphrase opens the key file now (empty: a version 1 desk)."""
    staff = _read_key_file(directory)[2]
    return () if staff is None else tuple(m.id for m in staff.members)


def write_staff_file(directory: Path, keyring: Keyring, staff: StaffFile, *, new: bool) -> None:
    data = _staff_file(keyring, staff)
    if new:
        files.write_new(directory / KEYS_FILE, data)
    else:
        files.replace(directory / KEYS_FILE, data)


def first_member(keyring: Keyring, passphrase: str, limits: KdfLimits) -> tuple[Keyring, StaffFile]:
    """A version 2 key file whose only member holds ``passphrase`` (and a new desk key)."""
    salt = new_salt()
    member = _new_member_id()
    desk_key = new_key()
    entry = _member_entry(member, _member_pair(passphrase, salt, limits).public, desk_key)
    keyring = replace(keyring, member=member, desk_key=desk_key, limits=limits)
    return keyring, StaffFile(salt, limits, (entry,), b"")


def add_member(directory: Path, keyring: Keyring, passphrase: str) -> str:
    """Give the holder of ``passphrase`` their own entry; return the new member's id.

    Costs one Argon2id derivation (the new member's key pair, with the desk's salt).
    """
    staff = _staff_of(directory, keyring)
    pair = _member_pair(passphrase, staff.salt, staff.limits)
    if any(m.public_key == pair.public for m in staff.members):
        raise StaffError()  # the same passphrase as a member's: it would be that member
    member = _new_member_id()
    assert keyring.desk_key is not None  # noqa: S101 - checked by _staff_of
    entry = _member_entry(member, pair.public, keyring.desk_key)
    write_staff_file(directory, keyring, replace(staff, members=(*staff.members, entry)), new=False)
    return member


def remove_member(directory: Path, keyring: Keyring, member: str) -> Keyring:
    """Drop ``member``'s entry and change the desk key for everyone who stays.

    The desk key changes so that the removed member's old entry (say, in a copy of the
    key file kept from before) no longer opens *this* key file. Returns the keyring with
    the new desk key.
    """
    staff = _staff_of(directory, keyring)
    staying = tuple(m for m in staff.members if m.id != member)
    if member == keyring.member or len(staying) == len(staff.members) or not staying:
        raise StaffError()
    desk_key = new_key()
    members = tuple(_member_entry(m.id, m.public_key, desk_key) for m in staying)
    keyring = replace(keyring, desk_key=desk_key)
    write_staff_file(directory, keyring, replace(staff, members=members), new=False)
    return keyring


def _staff_of(directory: Path, keyring: Keyring) -> StaffFile:
    """The key file's staff part, if this keyring's desk key still opens it.

    A desk unlocked before another member changed the desk key (a removal) must not
    write: it would seal the secrets under a key nobody else's entry opens.
    """
    public, _blob, staff = _read_key_file(directory)
    if staff is None or keyring.desk_key is None or public != keyring.public:
        raise StaffError()
    try:
        decrypt_value(keyring.desk_key, staff.secrets, _staff_context(public, staff))
    except EnvelopeError:
        raise StaffError() from None
    return staff


def _new_member_id() -> str:
    return new_key()[:8].hex()


def _member_pair(passphrase: str, salt: bytes, limits: KdfLimits) -> BoxKeyPair:
    try:
        kek = derive_key(_passphrase_bytes(passphrase), salt, limits)
    except EnvelopeFormatError:
        raise DeskDamagedError() from None
    return box_keypair_from_seed(blake2b_256(_STAFF_SEED_DOMAIN, key=kek))


def _member_entry(member: str, public_key: bytes, desk_key: bytes) -> StaffKey:
    return StaffKey(member, public_key, seal_to(public_key, desk_key))


def _unlock_staff(public: PublicKeys, staff: StaffFile, passphrase: str) -> Keyring:
    pair = _member_pair(passphrase, staff.salt, staff.limits)
    found = [m for m in staff.members if m.public_key == pair.public]
    if not found:
        raise WrongPassphraseError()
    try:
        desk_key = open_sealed(pair, found[0].sealed)
        raw = decrypt_value(desk_key, staff.secrets, _staff_context(public, staff))
    except (EnvelopeError, ValueError):
        raise DeskDamagedError() from None
    keyring = _parse_secrets(public, raw, staff.limits)
    keyring = replace(keyring, member=found[0].id, desk_key=desk_key)
    _check_derivations(keyring)
    return keyring


def _staff_context(public: PublicKeys, staff: StaffFile) -> bytes:
    # The public keys, the KDF settings and every member entry are bound to the secrets:
    # an entry added, removed or swapped by hand makes the file fail to open.
    listing = {
        "kdf": _kdf_json(staff),
        "staff": [_member_json(m) for m in staff.members],
    }
    canonical = json.dumps(listing, sort_keys=True, separators=(",", ":"))
    return _STAFF_CONTEXT + _context(public) + b"\n" + canonical.encode("utf-8")


def _kdf_json(staff: StaffFile) -> dict[str, Any]:
    return {
        "salt": staff.salt.hex(),
        "opslimit": staff.limits.opslimit,
        "memlimit": staff.limits.memlimit,
    }


def _member_json(member: StaffKey) -> dict[str, str]:
    return {
        "id": member.id,
        "public_key": member.public_key.hex(),
        "sealed": base64.b64encode(member.sealed).decode("ascii"),
    }


def _staff_file(keyring: Keyring, staff: StaffFile) -> bytes:
    assert keyring.desk_key is not None  # noqa: S101 - only staff keyrings come here
    staff = replace(staff, secrets=b"")
    sealed = encrypt_value(
        keyring.desk_key, secrets_bytes(keyring), _staff_context(keyring.public, staff)
    )
    document = {
        "format": FORMAT,
        "version": STAFF_VERSION,
        **keyring.public.as_json(),
        "kdf": _kdf_json(staff),
        "staff": [_member_json(m) for m in staff.members],
        "secrets": base64.b64encode(sealed).decode("ascii"),
    }
    return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()


def read_public(directory: Path) -> PublicKeys:
    """The clear part of ``keys.json`` (unverified until the desk is unlocked)."""
    return _read_key_file(directory)[0]


def public_key_toml(public: PublicKeys, epoch: int | None = None) -> str:
    """The registry snippet: the whole coalition entry, or only ``epoch``'s key block."""
    keys = dict(public.epochs)
    lines: list[str] = []
    if epoch is None:
        lines += [
            "[[coalition]]",
            f"id = {_toml(public.coalition)}",
            'names = { en = "<fill in>" }',
            "countries = []",
            f"signing_key = {_toml(public.signing_key.hex())}",
        ]
    shown = public.epochs[0][0] if epoch is None else epoch
    lines += [
        "[[coalition.keys]]",
        f"epoch = {shown}",
        f"public_key = {_toml(keys[shown].hex())}",
        f"fingerprint = {_toml(fingerprint(keys[shown]))}",
    ]
    if epoch is None:
        for courier in public.courier_keys:
            lines += ["[[coalition.couriers]]", f"verify_key = {_toml(courier.hex())}"]
    return "\n".join(lines) + "\n"


def secrets_bytes(keyring: Keyring) -> bytes:
    """The secret half of the keys as JSON: what ``keys.json`` wraps under the passphrase
    (and a desk backup under the recovery key)."""
    return json.dumps(
        {
            "box_seeds": {str(epoch): seed.hex() for epoch, seed in keyring.box_seeds},
            "signing_seed": keyring.signing_seed.hex(),
            "store_key": keyring.store_key.hex(),
        },
        sort_keys=True,
    ).encode()


def keyring_from_secrets(public: PublicKeys, raw: bytes, limits: KdfLimits) -> Keyring:
    """A keyring from :func:`secrets_bytes`' output, every public key derived and checked."""
    keyring = _parse_secrets(public, raw, limits)
    _check_derivations(keyring)
    return keyring


def public_context(public: PublicKeys) -> bytes:
    """Associated data naming this desk's public keys (binds a wrap to them)."""
    return _context(public)


def replace_key_file(directory: Path, keyring: Keyring, passphrase: str) -> None:
    """Wrap ``keyring`` under ``passphrase`` and replace ``keys.json`` atomically (a
    courier issued or revoked, the signing key rotated: ``service.desk.store.couriers``).

    On a desk with named staff every member's entry stays (the desk key is kept, the
    secrets are encrypted again under it, bound to the new public keys): ``passphrase``
    is then not used, and a keyring whose desk key no longer opens the file is refused.
    """
    _check_derivations(keyring)
    if keyring.desk_key is not None:
        public, _blob, staff = _read_key_file(directory)
        if staff is None:
            raise StaffError()
        try:
            decrypt_value(keyring.desk_key, staff.secrets, _staff_context(public, staff))
        except EnvelopeError:
            raise StaffError() from None
        files.replace(directory / KEYS_FILE, _staff_file(keyring, staff))
        return
    files.replace(directory / KEYS_FILE, _key_file(keyring, passphrase))


def write_key_file(directory: Path, keyring: Keyring, passphrase: str) -> None:
    """Wrap ``keyring`` under ``passphrase`` into a new ``keys.json`` (a restore)."""
    files.write_new(directory / KEYS_FILE, _key_file(keyring, passphrase))


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _passphrase_bytes(passphrase: str) -> bytes:
    return normalise(passphrase).encode("utf-8")


def _context(public: PublicKeys) -> bytes:
    canonical = json.dumps(public.as_json(), sort_keys=True, separators=(",", ":"))
    return _WRAP_CONTEXT + canonical.encode("utf-8")


def _key_file(keyring: Keyring, passphrase: str) -> bytes:
    raw = secrets_bytes(keyring)
    blob = wrap_secret(
        raw, _passphrase_bytes(passphrase), keyring.limits, context=_context(keyring.public)
    )
    document = {
        "format": FORMAT,
        "version": VERSION,
        **keyring.public.as_json(),
        "wrapped": base64.b64encode(blob).decode("ascii"),
    }
    return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()


def _read_key_file(directory: Path) -> tuple[PublicKeys, bytes, StaffFile | None]:
    """The clear part, the version 1 wrap (or b"") and the version 2 staff part (or None)."""
    try:
        text = (directory / KEYS_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeskNotFoundError() from None
    except (OSError, UnicodeDecodeError):
        raise DeskDamagedError() from None
    staff = None
    blob = b""
    try:
        data = json.loads(text)
        if data["format"] != FORMAT or data["version"] not in (VERSION, STAFF_VERSION):
            raise DeskDamagedError()
        public = PublicKeys(
            coalition=str(data["coalition"]),
            signing_key=bytes.fromhex(data["signing_key"]),
            epochs=tuple((int(e["epoch"]), bytes.fromhex(e["public_key"])) for e in data["epochs"]),
            courier_keys=tuple(bytes.fromhex(k) for k in data["courier_keys"]),
        )
        if data["version"] == VERSION:
            blob = base64.b64decode(data["wrapped"], validate=True)
        else:
            kdf = data["kdf"]
            staff = StaffFile(
                salt=bytes.fromhex(kdf["salt"]),
                limits=KdfLimits(opslimit=int(kdf["opslimit"]), memlimit=int(kdf["memlimit"])),
                members=tuple(
                    StaffKey(
                        str(m["id"]),
                        bytes.fromhex(m["public_key"]),
                        base64.b64decode(m["sealed"], validate=True),
                    )
                    for m in data["staff"]
                ),
                secrets=base64.b64decode(data["secrets"], validate=True),
            )
            if not staff.members or any(len(m.public_key) != KEY_LEN for m in staff.members):
                raise DeskDamagedError()
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise DeskDamagedError() from None
    if not public.epochs:
        raise DeskDamagedError()
    return public, blob, staff


def _parse_secrets(public: PublicKeys, raw: bytes, limits: KdfLimits) -> Keyring:
    try:
        data = json.loads(raw)
        seeds = {int(k): bytes.fromhex(v) for k, v in data["box_seeds"].items()}
        return Keyring(
            public=public,
            signing_seed=bytes.fromhex(data["signing_seed"]),
            box_seeds=tuple((epoch, seeds[epoch]) for epoch, _ in public.epochs),
            store_key=bytes.fromhex(data["store_key"]),
            limits=limits,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise DeskDamagedError() from None


def _check_derivations(keyring: Keyring) -> None:
    # Each public key in clear must be what its secret really gives: a key file whose
    # clear part was edited and re-wrapped by someone with the passphrase is still caught
    # here, and so is any mix-up of seeds between epochs.
    published = dict(keyring.public.epochs)
    try:
        verify(keyring.public.signing_key, _PROBE, sign(keyring.signing_seed, _PROBE))
        for (epoch, _seed), pair in zip(keyring.box_seeds, keyring.decryption_keys, strict=True):
            if pair.public != published[epoch]:
                raise DeskDamagedError()
    except (EnvelopeKeyError, ValueError):
        raise DeskDamagedError() from None
    if len(keyring.store_key) != KEY_LEN:
        raise DeskDamagedError()


_PROBE = b"aryz-desk-keys-v1 probe"
