"""What the courier tests share: demo key material, a signing courier, outbox records."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from service.common.clock import current_week
from service.common.contract import courier_auth
from service.common.contract.bundle import Manifest, read_items, read_manifest
from service.common.contract.outbox import Record, encode
from service.common.crypto.envelope import seal
from service.common.crypto.keys import SigningKeyPair, signing_keypair_from_seed
from service.common.crypto.payload import encode_payload_prefix
from service.server.deps import Runtime
from service.server.models import Case, Item
from service.server.registry.logic import parse_registry

PREFIX = "/courier/v1"


@dataclass(frozen=True)
class DeskKeys:
    """A demo coalition's private material from ``desk-keys/<id>.json``, and the key id
    of its courier credential as the registry lists it."""

    coalition: str
    signing_seed: bytes
    courier_seed: bytes
    courier_key_id: bytes

    @property
    def signing_key_pair(self) -> SigningKeyPair:
        return signing_keypair_from_seed(self.signing_seed)


def desk(registry_dir: Path, coalition: str) -> DeskKeys:
    data = json.loads((registry_dir / "desk-keys" / f"{coalition}.json").read_text())
    entry = parse_registry((registry_dir / "registry.toml").read_text()).get(coalition)
    assert entry is not None
    return DeskKeys(
        coalition,
        bytes.fromhex(data["signing_seed"]),
        bytes.fromhex(data["courier_seed"]),
        entry.couriers[0].key_id,
    )


def courier_for(client: httpx.Client, keys: DeskKeys) -> Courier:
    return Courier(client, keys.courier_seed, keys.courier_key_id)


class Courier:
    """Signs requests as one courier credential, through any httpx client."""

    def __init__(self, client: httpx.Client, seed: bytes, key: bytes) -> None:
        self.client = client
        self.seed = seed
        self.key_id = key

    def challenge(self) -> bytes:
        response = self.client.post(f"{PREFIX}/challenge")
        assert response.status_code == 200, response.text
        return bytes.fromhex(response.json()["challenge"])

    def header(self, method: str, path: str, challenge: bytes, body: bytes = b"") -> str:
        return courier_auth.authorization(self.key_id, self.seed, method, path, challenge, body)

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        headers: dict[str, str] | None = None,
        challenge: bytes | None = None,
        signed_body: bytes | None = None,
    ) -> httpx.Response:
        """One signed request; ``signed_body`` signs other bytes than those sent."""
        challenge = challenge if challenge is not None else self.challenge()
        auth = self.header(method, path, challenge, body if signed_body is None else signed_body)
        return self.client.request(
            method, path, content=body, headers={"authorization": auth, **(headers or {})}
        )

    def prepare(self, max_bytes: int | None = None) -> dict[str, Any]:
        body = json.dumps({"max_bytes": max_bytes}).encode() if max_bytes else b""
        response = self.request("POST", f"{PREFIX}/bundles", body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def fetch(self, bundle: str, offset: int | None = None) -> httpx.Response:
        headers = {"range": f"bytes={offset}-"} if offset is not None else {}
        return self.request("GET", f"{PREFIX}/bundles/{bundle}", headers=headers)

    def push(self, outbox: bytes) -> httpx.Response:
        return self.request("POST", f"{PREFIX}/outbox", outbox)


def bundle_items(data: bytes) -> tuple[Manifest, list[tuple[str, bytes]]]:
    """Parse a bundle as the desk would; every item's SHA-256 must check out."""
    stream = io.BytesIO(data)
    manifest = read_manifest(stream)
    items = []
    for read in read_items(stream, manifest):
        assert read.problem is None, read.problem
        assert read.data is not None
        items.append((read.entry.item, read.data))
    return manifest, items


def case_refs(runtime: Runtime, coalition: str | None = None) -> list[str]:
    """Hex refs of the cases (of one coalition), oldest first."""
    with runtime.sessions() as session:
        query = select(Case.ref).order_by(Case.id)
        if coalition is not None:
            query = query.where(Case.coalition_id == coalition)
        return [ref.hex() for ref in session.scalars(query)]


def item_refs(runtime: Runtime, case_ref: str) -> list[str]:
    with runtime.sessions() as session:
        rows = session.scalars(
            select(Item.ref)
            .join(Case, Case.id == Item.case_id)
            .where(Case.ref == bytes.fromhex(case_ref))
            .order_by(Item.id)
        )
        return [ref.hex() for ref in rows]


def reply_public_key(runtime: Runtime, case_ref: str) -> bytes:
    with runtime.sessions() as session:
        key = session.scalar(
            select(Case.reply_public_key).where(Case.ref == bytes.fromhex(case_ref))
        )
    assert key is not None
    return key


def sealed_reply(public_key: bytes, text: str, item_type: str = "reply") -> bytes:
    """A reply as the desk seals it: to the case's reply key, payload type "reply"."""
    meta = {"type": item_type, "created": current_week(), "media_type": "text/plain"}
    return seal(encode_payload_prefix(meta) + text.encode("utf-8"), [public_key])


def status(coalition: str, case: str, seq: int, value: str, key: str | None = None) -> Record:
    """``key``: the case's reply key (hex), as a current desk names it (F-08)."""
    return Record(type="status", coalition=coalition, case=case, seq=seq, status=value, key=key)


def reply(coalition: str, case: str, seq: int, sealed: bytes, key: str | None = None) -> Record:
    return Record(type="reply", coalition=coalition, case=case, seq=seq, reply=sealed, key=key)


def ack(coalition: str, case: str, seq: int, items: list[str]) -> Record:
    return Record(type="ack", coalition=coalition, case=case, seq=seq, items=tuple(items))


def outbox(keys: DeskKeys, records: list[Record], coalition: str | None = None) -> bytes:
    return encode(coalition or keys.coalition, records, keys.signing_seed)
