"""The whole loop with the real server: file a report, bundle it, import it on the desk,
answer, export, apply the outbox, read the reply on the status page.

The server side is the real one (intake, courier bundles, outbox application) on SQLite
and PostgreSQL; its registry carries the ``public-key.toml`` this desk's ceremony wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.common.contract.duty_key import DutyKey
from service.desk.casework.desk import init_desk, open_desk
from service.desk.store.statement import write_statement
from service.field.client import status as client_status
from service.server.app import build_runtime, create_app
from service.server.cli.demo import write_demo_registry
from service.server.courier.bundles import open_download, prepare, stream
from service.server.courier.outboxes import apply_outbox
from service.server.deps import Runtime
from tests.conftest import make_settings
from tests.desk.helpers import COALITION, PASSPHRASE
from tests.support import add_files, demo_trust, file_report


def registry_with_desk(
    folder: Path, desk_dir: Path, passphrase: str = PASSPHRASE, duty: DutyKey | None = None
) -> Path:
    """A demo registry whose kz-coalition entry is the desk's pasted snippet (with a duty
    key for the urgent lane, named in the desk's statement, when ``duty`` is given)."""
    write_demo_registry(folder)
    path = folder / "registry.toml"
    text = path.read_text()
    snippet = (
        (desk_dir / "public-key.toml")
        .read_text()
        .replace(
            'names = { en = "<fill in>" }\ncountries = []',
            'names = { en = "Coalition against Torture in Kazakhstan" }\n'
            'countries = ["KZ"]\ndemo = true',
        )
    )
    # The desk's signed statement of its keys (F-02), as the operator would paste it.
    duty_files = []
    if duty is not None:
        duty_files.append(folder / "duty.public.json")
        duty_files[0].write_text(duty.public_json(), encoding="utf-8")
        snippet = snippet.rstrip("\n") + "\n" + "\n".join(duty.registry_lines()) + "\n"
    written = write_statement(desk_dir, passphrase, ["KZ"], fallback=False, duty=duty_files)
    snippet = snippet.replace(
        "[[coalition.keys]]", written.path.read_text().splitlines()[-1] + "\n[[coalition.keys]]", 1
    )
    start = text.index(f'[[coalition]]\nid = "{COALITION}"')
    end = text.index("[[coalition]]", start + 1)
    path.write_text(text[:start] + snippet + "\n" + text[end:])
    return folder


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[tuple[Runtime, TestClient, Path]]:
    desk_dir = tmp_path / "desk"
    init_desk(desk_dir, COALITION, PASSPHRASE)
    registry = registry_with_desk(tmp_path / "registry", desk_dir)
    runtime = build_runtime(make_settings(tmp_path, database_url, registry))
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        yield runtime, client, desk_dir
    runtime.engine.dispose()


def test_report_to_reply_through_the_desk(
    server: tuple[Runtime, TestClient, Path], tmp_path: Path
) -> None:
    runtime, client, desk_dir = server
    token = file_report(
        client, narrative="They held him for three days.", victim__situation="detained"
    )
    assert (
        add_files(client, token, [("photo.jpg", b"\xff\xd8\xff" + b"p" * 100_000)]).status_code
        == 200
    )

    prepared = prepare(runtime, COALITION, None)
    assert prepared.ref is not None
    assert prepared.items == 2
    download = open_download(runtime, COALITION, prepared.ref)
    (tmp_path / "bundle.aryz").write_bytes(b"".join(stream(runtime, download, 0)))

    with open_desk(desk_dir, PASSPHRASE) as desk:
        report = desk.import_bundle(tmp_path / "bundle.aryz")
        assert (report.imported, report.problems) == (2, ())
        (case,) = desk.list_cases()
        detail = desk.get_case(case.ref)
        assert detail.answers["narrative.text"] == "They held him for three days."
        assert detail.summary.still_detained
        assert detail.reply_key_confirmed
        desk.set_triage(case.ref, status="will_contact")
        desk.add_reply(case.ref, "Мы получили ваш отчёт и свяжемся с вами.")
        (tmp_path / "stick").mkdir()
        desk.backup(tmp_path / "stick")  # so the outbox lets the server delete its copies
        assert desk.export_outbox(tmp_path / "outbox.json").records == 4

    entry = runtime.registry.get(COALITION)
    assert entry is not None
    applied = apply_outbox(runtime, entry, (tmp_path / "outbox.json").read_bytes())
    assert (applied.applied, applied.records) == (True, 4)

    page = client.post("/ru/status", data={"token": token})
    assert page.status_code == 200
    assert "Мы получили ваш отчёт и свяжемся с вами." in page.text
    # The desk's signatures travel with the status and reply to the family's own client,
    # bound to the case's reply key, and check out against the pinned signing key (F-08).
    seen = client_status(client, token, trust=demo_trust(str(runtime.settings.registry_path)))
    assert seen["status"] == "will_contact"
    assert seen["status_verified"] is True
    assert seen["replies"] == ["Мы получили ваш отчёт и свяжемся с вами."]
    assert seen["replies_verified"] == [True]
    # The acknowledgement deleted the server's copies: nothing is waiting any more.
    assert prepare(runtime, COALITION, None).items == 0
