"""The courier credential file, as the desk's key ceremony writes it.

JSON ``{"coalition": id, "key_id": hex (8 bytes), "verify_key": hex (32 bytes),
"seed": hex (32 bytes)}``: the Ed25519 key the online courier machine signs its requests
with (``service.common.contract.courier_auth``). Its verify key goes into the coalition's
``[[coalition.couriers]]`` in the registry. It is not the coalition's signing key, so a
seized courier machine can fetch ciphertext and deliver outboxes but never forge them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from service.common.crypto.keys import SigningKeyPair, key_id, sign, verify
from service.common.errors import AryzError, EnvelopeKeyError

MAX_FILE = 4096


class CredentialError(AryzError):
    code = "courier_credential"
    message = "The courier credential file cannot be read or is not valid."


@dataclass(frozen=True)
class Credential:
    coalition: str
    key_id: bytes
    verify_key: bytes
    seed: bytes

    def __repr__(self) -> str:
        # The seed authenticates as the courier: keep it out of tracebacks and logs.
        return f"Credential(coalition={self.coalition!r}, key_id={self.key_id.hex()})"


def credential_fields(coalition: str, pair: SigningKeyPair) -> dict[str, str]:
    """The credential file's fields (the one definition of its format)."""
    return {
        "coalition": coalition,
        "key_id": key_id(pair.verify).hex(),
        "verify_key": pair.verify.hex(),
        "seed": pair.seed.hex(),
    }


def credential_json(coalition: str, pair: SigningKeyPair) -> str:
    """Serialise a credential: the desk's key ceremony, the demo and the tests."""
    return json.dumps(credential_fields(coalition, pair), indent=1) + "\n"


def load_credential(path: Path) -> Credential:
    """Read and check a credential file: its key id and seed must match its verify key."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE + 1)
        if len(raw) > MAX_FILE:
            raise ValueError
        data = json.loads(raw.decode("utf-8"))
        credential = Credential(
            coalition=str(data["coalition"]),
            key_id=bytes.fromhex(data["key_id"]),
            verify_key=bytes.fromhex(data["verify_key"]),
            seed=bytes.fromhex(data["seed"]),
        )
        if len(credential.verify_key) != 32 or len(credential.seed) != 32:
            raise ValueError
        if key_id(credential.verify_key) != credential.key_id:
            raise ValueError
        # A seed that does not belong to the verify key would only fail at the server,
        # with an answer that (on purpose) does not say why: catch it here instead.
        probe = b"aryz-courier-credential-check"
        verify(credential.verify_key, probe, sign(credential.seed, probe))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EnvelopeKeyError):
        raise CredentialError() from None
    return credential
