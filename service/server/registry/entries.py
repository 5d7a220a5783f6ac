"""A coalition as the registry describes it, validated and decoded: its keys, couriers,
duty keys and signing-key history. ``logic.py`` builds these; ``changes.py`` applies the
coalitions' signed changes to them."""

from __future__ import annotations

from dataclasses import dataclass

from service.common.crypto.keys import fingerprint


@dataclass(frozen=True)
class SealingKey:
    epoch: int
    public_key: bytes
    key_id: bytes
    fingerprint: str


@dataclass(frozen=True)
class CourierCredential:
    """A courier's Ed25519 verify key and its key id (what the request header names)."""

    key_id: bytes
    verify_key: bytes
    revoked: bool


@dataclass(frozen=True)
class DutyKeyEntry:
    """A duty key (urgent lane): X25519 to seal urgent records to, Ed25519 to check the
    duty officer's acknowledgements."""

    epoch: int
    public_key: bytes
    verify_key: bytes
    revoked: bool

    @property
    def fingerprint(self) -> str:
        """What the coalition reads out: the fingerprint of the acknowledgement key."""
        return fingerprint(self.verify_key)


@dataclass(frozen=True)
class CoalitionEntry:
    """A validated coalition with decoded keys."""

    id: str
    names: dict[str, str]
    countries: tuple[str, ...]
    fallback: bool
    demo: bool
    signing_key: bytes
    current_keys: tuple[SealingKey, ...]
    all_keys: tuple[SealingKey, ...]
    couriers: tuple[CourierCredential, ...] = ()
    key_statement: str | None = None  # the desk-signed statement, as the registry has it
    # Signing keys the coalition had before ``signing_key``, oldest first (rotated by a
    # registry change after a stolen desk): what they signed before stays verifiable.
    signing_history: tuple[bytes, ...] = ()
    # The signed changes that rotated the signing key, in order: a client that pinned an
    # older key follows them to the current one (service.field.trust).
    rotations: tuple[str, ...] = ()
    # The last registry change applied under the current signing key (0: none).
    change_serial: int = 0

    @property
    def signing_keys(self) -> tuple[bytes, ...]:
        """Every key whose signature on a stored status or reply is the coalition's: the
        current one first. Outboxes are accepted under the current key only."""
        return (self.signing_key, *reversed(self.signing_history))

    duty_keys: tuple[DutyKeyEntry, ...] = ()

    @property
    def duty(self) -> DutyKeyEntry | None:
        """The duty key urgent records are sealed to now, if the coalition has one."""
        live = [d for d in self.duty_keys if not d.revoked]
        return max(live, key=lambda d: d.epoch) if live else None

    def duty_verify_key(self, epoch: int) -> bytes | None:
        """The verify key of an unrevoked duty epoch (a revoked one's word is not shown)."""
        return next(
            (d.verify_key for d in self.duty_keys if d.epoch == epoch and not d.revoked), None
        )

    @property
    def signing_fingerprint(self) -> str:
        """What a person pins: the fingerprint of the coalition's Ed25519 signing key."""
        return fingerprint(self.signing_key)

    def name(self, language: str) -> str:
        """The name in ``language``; missing, the Russian name (which readers in all five
        countries read far more widely than English: intake walk 4.1), then English."""
        fallback = self.names.get("ru") if language != "en" else None
        return self.names.get(language) or fallback or self.names["en"]

    @property
    def recipients(self) -> list[bytes]:
        """The public keys every new item for this coalition is sealed to."""
        return [k.public_key for k in self.current_keys]

    @property
    def courier_keys(self) -> dict[bytes, bytes]:
        """Key id → verify key of every courier credential that is not revoked."""
        return {c.key_id: c.verify_key for c in self.couriers if not c.revoked}
