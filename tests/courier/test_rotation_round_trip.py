"""A stolen desk, end to end with real processes: the restored desk replaces its signing
key (``aryz desk rotate --signing``), the operator installs the change and the new key
statement (``aryz registry apply``, SIGHUP — no restart), and the old case is answered
again; the family sees both answers as the coalition's, on the status page and with
``aryz status`` pinned to the fingerprint it had before the theft (issue 16 item 5)."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.desk.test_desk_round_trip import registry_with_desk
from tests.server import ServerProcess
from tests.support import file_report, run_aryz, trust_args

pytestmark = pytest.mark.slow
PASSPHRASE = "correct horse battery staple orbit meadow lantern"  # noqa: S105 - a test desk
DESK_ENV = {"ARYZ_DESK_PASSPHRASE": PASSPHRASE, "ARYZ_DESK_KDF": "minimum"}
BEFORE = "Мы получили ваше обращение."
AFTER = "Юрист свяжется с вами завтра."


def aryz(*args: str, env: dict[str, str] | None = None) -> str:
    result = run_aryz(*args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _answer(desk: Path, case: str, text: str, outbox: Path, reply: Path) -> None:
    reply.write_text(text, encoding="utf-8")
    aryz("desk", "reply", "--dir", str(desk), case, "--message-file", str(reply), env=DESK_ENV)
    aryz("desk", "export", "--dir", str(desk), "--out", str(outbox), env=DESK_ENV)


def test_rotated_desk_answers_old_case(tmp_path: Path, database_url: str) -> None:
    desk = tmp_path / "desk"
    aryz("desk", "init", "--dir", str(desk), "--coalition", "kz-coalition", env=DESK_ENV)
    credential = desk / "courier-credential.json"
    registry = registry_with_desk(tmp_path / "registry", desk, PASSPHRASE) / "registry.toml"
    pins = trust_args(registry)  # the signing fingerprint people hold, before the theft
    usb = tmp_path / "usb"
    usb.mkdir()
    courier = ("--server", "", "--credential", str(credential))

    server = ServerProcess(
        tmp_path, database_url, registry, env={"ARYZ_REGISTRY_POLL_SECONDS": "60"}
    )
    with server:
        link = (courier[0], server.courier_url, *courier[2:])
        with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as web:
            token = file_report(web, narrative="Моего сына избили в ИВС.")
        aryz("courier", "pull", *link, "--out", str(usb / "bundle.aryz"))
        aryz("desk", "import", "--dir", str(desk), str(usb / "bundle.aryz"), env=DESK_ENV)
        case = re.findall(
            r"\b[0-9a-f]{8,32}\b", aryz("desk", "list", "--dir", str(desk), env=DESK_ENV)
        )[0]
        _answer(desk, case, BEFORE, usb / "outbox-1.json", tmp_path / "r1.txt")
        aryz("courier", "push", *link, str(usb / "outbox-1.json"))

        # The desk is stolen; the coalition rotates on its restored desk.
        rotated = aryz("desk", "rotate", "--dir", str(desk), "--signing", env=DESK_ENV)
        assert "New signing key" in rotated
        (change,) = (desk / "registry-changes").glob("*.json")
        _answer(desk, case, AFTER, usb / "outbox-2.json", tmp_path / "r2.txt")
        # Signed with the new key, which the server does not know yet: refused.
        early = run_aryz("courier", "push", *link, str(usb / "outbox-2.json"))
        assert early.returncode != 0
        assert "signature" in early.stderr

        # The operator: the change, the statement signed by the new key, SIGHUP.
        aryz(
            "registry", "apply", "--registry", str(registry), str(change),
            "--statement", str(desk / "key-statement.toml"),
        )  # fmt: skip
        statement = (desk / "key-statement.toml").read_text().splitlines()[-1]
        assert statement in registry.read_text()
        os.kill(server.pid, signal.SIGHUP)
        deadline = time.monotonic() + 30  # well before the 60 s watch
        while True:
            pushed = run_aryz("courier", "push", *link, str(usb / "outbox-2.json"))
            if pushed.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # the signal is handled between requests; bounded above
        assert pushed.returncode == 0, pushed.stderr

        with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as web:
            page = web.post("/ru/status", data={"token": token}).text
        assert BEFORE in page
        assert AFTER in page
        checked = aryz(
            "status", "--server", server.url, "--token", token, *pins,
            env={"ARYZ_TRUST_FILE": str(tmp_path / "trusted.json")},
        )  # fmt: skip
        assert "--- reply 1 (signed by the coalition, verified)" in checked
        assert "--- reply 2 (signed by the coalition, verified)" in checked
        assert AFTER in checked
