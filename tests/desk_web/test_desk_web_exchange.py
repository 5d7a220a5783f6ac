"""Import a bundle from a typed path; export the signed outbox to a new file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.common.contract import outbox
from service.desk.casework.desk import Desk
from tests.desk.helpers import (
    COALITION,
    FakeCase,
    answers_plaintext,
    bundle_bytes,
    recipients,
    sealed,
)
from tests.desk_web.seed import Seeded


def refused_import(client: TestClient, path: str) -> str:
    response = client.post("/en/import", data={"path": path})
    assert response.status_code == 400
    text: str = response.text
    return text


def test_import_page(client: TestClient) -> None:
    html = client.get("/ru/import").text
    assert "<h1>Импорт пакета</h1>" in html
    assert 'name="path"' in html


def test_import_a_new_bundle_then_again(
    client: TestClient, desk: Desk, seeded: Seeded, tmp_path: Path
) -> None:
    case = FakeCase()
    item = sealed(case, answers_plaintext(case, {"detained": "yes"}), recipients(desk))
    bundle = tmp_path / "second.aryz"
    bundle.write_bytes(bundle_bytes([item]))

    html = client.post("/en/import", data={"path": f"  {bundle}\n"}).text
    assert "Import finished" in html
    assert "<dt>Imported now</dt><dd><strong>1</strong></dd>" in html
    assert "<dt>Already on this desk (skipped)</dt><dd>0</dd>" in html
    assert "<dt>Kept in quarantine</dt><dd>0</dd>" in html
    assert case.ref in [s.ref for s in desk.list_cases()]

    html = client.post("/en/import", data={"path": str(seeded.bundle)}).text
    assert "<dt>Imported now</dt><dd><strong>0</strong></dd>" in html
    assert "<dt>Already on this desk (skipped)</dt><dd>10</dd>" in html


def test_a_damaged_item_is_quarantined_and_reported_in_russian(
    client: TestClient, desk: Desk, tmp_path: Path
) -> None:
    good, bad = FakeCase(), FakeCase()
    to = recipients(desk)
    items = [sealed(c, answers_plaintext(c, {}), to) for c in (good, bad)]
    data = bytearray(bundle_bytes(items))
    data[-40] ^= 0x01  # inside the last envelope: its checksum no longer matches
    bundle = tmp_path / "damaged.aryz"
    bundle.write_bytes(bytes(data))

    html = client.post("/ru/import", data={"path": str(bundle)}).text
    assert "<dt>Импортировано сейчас</dt><dd><strong>1</strong></dd>" in html
    assert "<dt>Помещено в карантин</dt><dd>1</dd>" in html
    assert "Некоторые материалы НЕ импортированы." in html
    assert "повреждён: данные не совпадают с контрольной суммой в описи" in html
    assert f"{items[1].ref[:8]}…" in html
    assert (desk.quarantine / f"{items[1].ref}.bin").is_file()


@pytest.mark.parametrize("kind", ["relative", "folder", "link", "missing", "device", "empty"])
def test_an_import_path_that_is_not_a_regular_file_is_refused(
    client: TestClient, desk: Desk, seeded: Seeded, tmp_path: Path, kind: str
) -> None:
    link = tmp_path / "link.aryz"
    link.symlink_to(seeded.bundle)
    typed = {
        "relative": os.path.relpath(seeded.bundle),
        "folder": str(tmp_path),
        "link": str(link),
        "missing": str(tmp_path / "nope.aryz"),
        "device": "/dev/null",
        "empty": "",
    }[kind]
    before = len(desk.list_cases())
    html = refused_import(client, typed)
    assert "Nothing was imported. Give the full path of the bundle file" in html
    assert len(desk.list_cases()) == before


def test_a_foreign_or_garbage_bundle_is_refused(
    client: TestClient, desk: Desk, tmp_path: Path
) -> None:
    case = FakeCase()
    foreign = tmp_path / "foreign.aryz"
    item = sealed(case, answers_plaintext(case, {}), recipients(desk))
    foreign.write_bytes(bundle_bytes([item], coalition="kg-coalition"))
    assert "this bundle is for another coalition" in refused_import(client, str(foreign))
    garbage = tmp_path / "garbage.aryz"
    garbage.write_bytes(b"GIF89a not a bundle")
    html = refused_import(client, str(garbage))
    assert "this file is damaged or is not an Aryz bundle" in html
    assert "GIF89a" not in html
    assert case.ref not in [s.ref for s in desk.list_cases()]


def test_export_page_counts_what_waits(client: TestClient, seeded: Seeded) -> None:
    assert "0 status changes or replies are waiting" in client.get("/en/export").text
    client.post(f"/en/case/{seeded.main.ref}/triage", data={"status": "under_review"})
    html = client.get("/en/export").text
    assert "1 status change or reply is waiting to be sent." in html
    assert "/media/usb/outbox-" in html  # an example path


def test_export_writes_a_signed_outbox_once(
    client: TestClient, seeded: Seeded, tmp_path: Path
) -> None:
    client.post(f"/en/case/{seeded.main.ref}/triage", data={"status": "under_review"})
    target = tmp_path / "outbox-1.json"
    html = client.post("/en/export", data={"path": str(target)}).text
    assert "Outbox written" in html
    assert str(target) in html
    # One status record, and one "imported" record per case for its imported items.
    assert "<dt>Signed records</dt><dd>6</dd>" in html
    assert "<dt>Cases</dt><dd>5</dd>" in html
    records = outbox.decode(target.read_bytes(), {COALITION: seeded.signing_key}).records
    assert [(r.case, r.status) for r in records if r.type == "status"] == [
        (seeded.main.ref, "under_review")
    ]
    assert sum(1 for r in records if r.type == "imported") == 5

    again = tmp_path / "outbox-2.json"
    html = client.post("/en/export", data={"path": str(again)}).text
    assert "Nothing to send" in html
    assert not again.exists()


@pytest.mark.parametrize("kind", ["relative", "exists", "no folder", "folder", "empty"])
def test_an_export_path_is_refused_unless_new_and_absolute(
    client: TestClient, tmp_path: Path, kind: str
) -> None:
    existing = tmp_path / "old-outbox.json"
    existing.write_bytes(b"an earlier outbox, not yet delivered")
    typed = {
        "relative": "outbox.json",
        "exists": str(existing),
        "no folder": str(tmp_path / "missing" / "outbox.json"),
        "folder": str(tmp_path),
        "empty": "",
    }[kind]
    response = client.post("/en/export", data={"path": typed})
    assert response.status_code == 400
    assert "Nothing was written. Give the full path of a new file" in response.text
    assert existing.read_bytes() == b"an earlier outbox, not yet delivered"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.aryz", "desk", "old-outbox.json"]
