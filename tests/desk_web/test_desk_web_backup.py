"""The web desk's case list reminds staff when an imported report is in no backup yet."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.desk.casework.desk import Desk

REMINDER = "Reports imported since the last backup"


def test_the_case_list_shows_the_backup_reminder_until_a_backup_is_made(
    client: TestClient, desk: Desk, tmp_path: Path
) -> None:
    page = client.get("/en/")
    assert page.status_code == 200
    assert REMINDER in page.text
    assert f"since the last backup: {desk.backup_state().not_held}." in page.text
    assert "Сообщений импортировано после последней резервной копии" in client.get("/ru/").text
    stick = tmp_path / "stick"
    stick.mkdir()
    desk.backup(stick)
    assert REMINDER not in client.get("/en/").text


def test_the_case_page_shows_each_outbox_records_state(
    client: TestClient, desk: Desk, tmp_path: Path
) -> None:
    (case, *_rest) = desk.list_cases()
    desk.set_triage(case.ref, status="need_info")
    page = client.get(f"/en/case/{case.ref}")
    assert "Outbox records" in page.text
    assert "waiting for the next outbox export" in page.text
    desk.export_outbox(tmp_path / "o.json")
    page = client.get(f"/en/case/{case.ref}")
    assert "sent in an outbox" in page.text
    assert "waiting for the next outbox export" not in page.text
    ru = client.get(f"/ru/case/{case.ref}").text
    assert "Записи в исходящих" in ru
