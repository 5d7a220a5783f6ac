"""``aryz demo-read``: open a demo instance's items with its demo desk keys.

This is the stand-in for the coalition desk during a demo: it proves that what the site
stored is ciphertext that only the coalition's private key opens, and opens to exactly what
was sent. Files are summarised by name, size and SHA-256, never written out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from service.common.crypto.envelope import Opener
from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.payload import PayloadReader
from service.server.models import COMPLETE, Case, Item
from service.server.storage.db import make_engine, make_sessionmaker
from service.server.storage.items import iter_ciphertext


def demo_keys(data_dir: Path) -> dict[str, BoxKeyPair]:
    keys = {}
    for path in sorted((data_dir / "desk-keys").glob("*.json")):
        data = json.loads(path.read_text())
        keys[data["coalition"]] = BoxKeyPair(
            bytes.fromhex(data["box_public"]), bytes.fromhex(data["box_secret"])
        )
    return keys


def open_item(factory: object, item_id: int, key: BoxKeyPair) -> tuple[dict[str, object], bytes]:
    opener = Opener([key])
    reader = PayloadReader()
    body = bytearray()
    for piece in iter_ciphertext(factory, item_id):  # type: ignore[arg-type]
        body += reader.feed(opener.feed(piece))
    body += reader.feed(opener.close())
    meta = reader.meta or {}
    return dict(meta), bytes(body)


def read_all(data_dir: Path) -> Iterator[str]:
    keys = demo_keys(data_dir)
    engine = make_engine(f"sqlite:///{data_dir / 'aryz.sqlite3'}")
    factory = make_sessionmaker(engine)
    with factory() as session:
        rows = session.execute(
            select(Item.id, Case.id, Case.coalition_id, Case.status)
            .join(Case, Case.id == Item.case_id)
            .where(Item.state == COMPLETE)
            .order_by(Case.id, Item.id)
        ).all()
    for item_id, case_id, coalition_id, status in rows:
        meta, body = open_item(factory, item_id, keys[coalition_id])
        yield f"--- case {case_id} ({coalition_id}, {status}), item {item_id}: {meta.get('type')}"
        if meta.get("type") == "file":
            digest = hashlib.sha256(body).hexdigest()
            yield f"file {meta.get('name')!s}: {len(body)} bytes, sha256 {digest}"
        else:
            yield body.decode("utf-8", errors="replace")
    engine.dispose()
