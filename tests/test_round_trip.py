"""The whole loop, as a coalition runs it, with real processes and the ``aryz`` command:

a family files a report with a photo through the no-JavaScript form → the courier pulls
the bundle → the desk imports it, sets a status and writes a reply → writes a backup →
exports the signed outbox → the courier pushes it → the status page, given the token,
shows the new status and the decrypted reply, and the server no longer holds the
acknowledged ciphertext.
Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.desk.test_desk_round_trip import registry_with_desk
from tests.server import ServerProcess
from tests.support import add_files, file_report, trust_args

pytestmark = pytest.mark.slow
PASSPHRASE = "correct horse battery staple orbit meadow lantern"  # noqa: S105 - a test desk


def aryz(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "service", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_report_to_reply_through_courier_and_desk(tmp_path: Path, database_url: str) -> None:
    desk_dir = tmp_path / "desk"
    desk_env = {"ARYZ_DESK_PASSPHRASE": PASSPHRASE, "ARYZ_DESK_KDF": "minimum"}
    aryz("desk", "init", "--dir", str(desk_dir), "--coalition", "kz-coalition", env=desk_env)
    credential = desk_dir / "courier-credential.json"
    registry = registry_with_desk(tmp_path / "registry", desk_dir, PASSPHRASE) / "registry.toml"
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4000

    with ServerProcess(tmp_path, database_url, registry) as server:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as web:
            token = file_report(
                web, narrative="Моего сына избили в ИВС.", victim__situation="detained"
            )
            assert add_files(web, token, [("bruises.jpg", photo)]).status_code == 200

        bundle = tmp_path / "usb" / "bundle.aryz"
        bundle.parent.mkdir()
        pulled = aryz(
            "courier",
            "pull",
            "--server",
            server.courier_url,
            "--credential",
            str(credential),
            "--out",
            str(bundle),
        )
        assert bundle.exists(), pulled

        aryz("desk", "import", "--dir", str(desk_dir), str(bundle), env=desk_env)
        listing = aryz("desk", "list", "--dir", str(desk_dir), env=desk_env)
        refs = re.findall(r"\b[0-9a-f]{8,32}\b", listing)
        assert refs, listing
        case = refs[0]
        shown = aryz("desk", "show", "--dir", str(desk_dir), case, env=desk_env)
        assert "Моего сына избили в ИВС." in shown
        assert "bruises.jpg" in shown
        aryz(
            "desk",
            "set",
            "--dir",
            str(desk_dir),
            case,
            "--status",
            "under_review",
            "--priority",
            "urgent",
            env=desk_env,
        )
        reply = tmp_path / "reply.txt"
        reply.write_text("Мы получили ваше обращение. Юрист свяжется с вами.", encoding="utf-8")
        aryz(
            "desk",
            "reply",
            "--dir",
            str(desk_dir),
            case,
            "--message-file",
            str(reply),
            env=desk_env,
        )
        # A backup holds the items, so the outbox lets the server delete them.
        aryz("desk", "backup", "--dir", str(desk_dir), "--out", str(bundle.parent), env=desk_env)
        outbox = tmp_path / "usb" / "outbox.json"
        aryz("desk", "export", "--dir", str(desk_dir), "--out", str(outbox), env=desk_env)

        aryz(
            "courier",
            "push",
            "--server",
            server.courier_url,
            "--credential",
            str(credential),
            str(outbox),
        )

        with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as web:
            status = web.post("/ru/status", data={"token": token})
        assert status.status_code == 200
        assert "Рассматривается" in status.text  # the Russian label of under_review
        assert "Мы получили ваше обращение. Юрист свяжется с вами." in status.text
        checked = aryz(
            "status",
            "--server",
            server.url,
            "--token",
            token,
            *trust_args(registry),
            env={"ARYZ_TRUST_FILE": str(tmp_path / "trusted.json")},
        )
        # The desk's signatures checked end to end against the pinned key (F-08).
        assert "status: under_review (signed by the coalition, verified)" in checked
        assert "--- reply 1 (signed by the coalition, verified)" in checked
        assert "Юрист свяжется с вами." in checked

    # The acknowledged ciphertext is gone from the server; the items are remembered as taken.
    engine = create_engine(database_url)
    with engine.connect() as conn:
        pieces = conn.execute(text("SELECT count(*) FROM item_chunks")).scalar_one()
        states = sorted(r[0] for r in conn.execute(text("SELECT state FROM items")))
    engine.dispose()
    assert pieces == 0
    assert states == ["acknowledged", "acknowledged"]
