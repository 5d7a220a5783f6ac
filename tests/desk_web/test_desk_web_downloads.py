"""Downloads stream piece by piece with their length announced; a damaged original never
reaches its announced length, so the browser marks the download as failed. (The memory
figures for a 500 MiB attachment are in ``make bench``, section 4.)"""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

import service.desk.casework.cases as cases
from service.desk.casework.desk import Desk
from service.desk.store.database import chunk_context
from tests.desk_web.seed import Seeded


def _original_links(client: TestClient, seeded: Seeded) -> list[str]:
    html = client.get(f"/en/case/{seeded.main.ref}").text
    return [
        part.split('"')[0]
        for part in html.split('href="')
        if part.split('"')[0].endswith("/original")
    ]


def test_an_original_streams_whole_with_its_length(
    client: TestClient, seeded: Seeded, desk: Desk
) -> None:
    links = _original_links(client, seeded)
    assert links
    for link in links:
        item_ref = link.split("/")[-2]
        size, pieces = desk.attachment_pieces(item_ref)
        expected = b"".join(pieces)
        response = client.get(link)
        assert response.status_code == 200
        assert response.headers["content-length"] == str(size)
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-disposition"].startswith("attachment;")
        assert response.content == expected
        stored = cases.item_by_ref(desk._store, item_ref)
        assert stored is not None
        assert hashlib.sha256(response.content).hexdigest() == stored.record["sha256"]


def test_a_damaged_original_is_cut_short(client: TestClient, seeded: Seeded, desk: Desk) -> None:
    link = _original_links(client, seeded)[0]
    item_ref = link.split("/")[-2]
    item = cases.item_by_ref(desk._store, item_ref)
    assert item is not None
    size = int(item.record["size"])
    # A piece that decrypts well but is not what was submitted (its SHA-256 differs).
    forged = desk._store.seal_bytes(b"\x00" * size, chunk_context(item.index, 0))
    with desk._store.transaction() as db:
        db.execute(
            "UPDATE item_chunks SET data = ? WHERE item_id = ? AND idx = 0", (forged, item.id)
        )
    response = client.get(link)
    assert len(response.content) < size
    assert b"\x00" * size not in response.content
