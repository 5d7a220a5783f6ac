"""The coalition walk's restore and lost-outbox drills, fixed: real processes, only ``aryz``.

(a) backup → one more report arrives and is imported (and its import reported) → the
    laptop dies → restore on a fresh folder → the report is back after the next pull
    (``--sync``), and the restored desk's next outbox is applied;
(b) restore with 2 of 3 recovery shares and no passphrase;
(c) an outbox lost, the next one pushed → refused, its receipt imported → re-export:
    every record applied, the family sees the reply;
(d) a forged or altered backup is refused.

On SQLite and PostgreSQL (the ``database_url`` fixture), like tests/test_round_trip.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.desk.test_desk_round_trip import registry_with_desk
from tests.server import ServerProcess
from tests.support import add_files, file_report, trust_args

pytestmark = pytest.mark.slow
PASSPHRASE = "correct horse battery staple orbit meadow lantern"  # noqa: S105 - a test desk
NEW_PASSPHRASE = "copper meadow falcon lilac tundra basket ember"  # noqa: S105 - a test desk


def aryz(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, code: int = 0
) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "service", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        input=stdin,
        env={**os.environ, "ARYZ_DESK_KDF": "minimum", **(env or {})},
    )
    assert result.returncode == code, result.stdout + result.stderr
    return result.stdout + result.stderr


class Coalition:
    """One desk, its courier and a server, driven through the ``aryz`` command."""

    def __init__(self, tmp_path: Path, server: ServerProcess, desk_dir: Path) -> None:
        self.tmp = tmp_path
        self.server = server
        self.desk_dir = desk_dir
        self.credential = tmp_path / "courier" / "credential.json"
        self.stick = tmp_path / "usb"
        self.env = {"ARYZ_DESK_PASSPHRASE": PASSPHRASE}
        self.count = 0

    def file(self, narrative: str, photo: bytes | None = None) -> str:
        with httpx.Client(base_url=self.server.url, trust_env=False, timeout=60) as web:
            token = file_report(web, narrative=narrative)
            if photo is not None:
                assert add_files(web, token, [("photo.jpg", photo)]).status_code == 200
        return token

    def _next(self, name: str) -> Path:
        self.count += 1
        return self.stick / f"{self.count:02d}-{name}"

    def pull_and_import(self, *extra: str) -> str:
        bundle = self._next("bundle.aryz")
        out = aryz(*self._courier("pull"), "--out", str(bundle), *extra)
        if "nothing new" in out:
            return out
        return aryz("desk", "import", "--dir", str(self.desk_dir), str(bundle), env=self.env)

    def desk(self, *args: str) -> str:
        return aryz("desk", args[0], "--dir", str(self.desk_dir), *args[1:], env=self.env)

    def export(self, *extra: str) -> Path:
        outbox = self._next("outbox.json")
        self.desk("export", "--out", str(outbox), *extra)
        return outbox

    def push(self, outbox: Path, code: int = 0) -> str:
        return aryz(*self._courier("push"), str(outbox), code=code)

    def receipt(self, outbox: Path) -> str:
        return self.desk("receipt", str(outbox.with_name(outbox.name + ".receipt.json")))

    def backup(self) -> Path:
        out = self.desk("backup", "--out", str(self.stick))
        match = re.search(r"Backup written: (\S+) \(", out)
        assert match, out
        return Path(match.group(1))

    def cases(self) -> list[str]:
        return re.findall(r"^([0-9a-f]{12}) ", self.desk("list"), re.MULTILINE)

    def status_page(self, token: str) -> str:
        registry = self.server.env["ARYZ_REGISTRY_PATH"]
        return aryz("status", "--server", self.server.url, "--token", token, *trust_args(registry))

    def _courier(self, command: str) -> list[str]:
        return [
            "courier",
            command,
            "--server",
            self.server.courier_url,
            "--credential",
            str(self.credential),
        ]


@pytest.fixture
def coalition(tmp_path: Path, database_url: str) -> Iterator[Coalition]:
    desk_dir = tmp_path / "laptop" / "desk"
    desk_dir.parent.mkdir()
    env = {"ARYZ_DESK_PASSPHRASE": PASSPHRASE}
    aryz("desk", "init", "--dir", str(desk_dir), "--coalition", "kz-coalition", env=env)
    registry = registry_with_desk(tmp_path / "registry", desk_dir, PASSPHRASE) / "registry.toml"
    (tmp_path / "courier").mkdir()
    shutil.move(desk_dir / "courier-credential.json", tmp_path / "courier" / "credential.json")
    (tmp_path / "usb").mkdir()
    server = ServerProcess(tmp_path, database_url, registry).start()
    try:
        yield Coalition(tmp_path, server, desk_dir)
    finally:
        server.stop()


def test_a_restored_desk_gets_every_report_back_and_its_outboxes_apply(
    coalition: Coalition,
) -> None:
    first_token = coalition.file("First report, before the backup.")
    coalition.pull_and_import()
    (first_case,) = coalition.cases()
    backup = coalition.backup()
    applied = coalition.push(coalition.export())  # imported + released: a backup holds it
    assert "applied: 2 records" in applied

    # One more report arrives and is imported; its import is reported; no backup after.
    second_token = coalition.file("Second report, AFTER the backup.", b"\xff\xd8" + b"p" * 5000)
    coalition.pull_and_import()
    second_case = next(c for c in coalition.cases() if c != first_case)
    coalition.desk("set", second_case, "--status", "under_review")
    assert "BACKUP:" in coalition.desk("list")  # the desk reminds staff
    assert "applied: 2 records" in coalition.push(coalition.export())

    # The laptop dies. A new one gets the backup.
    shutil.rmtree(coalition.desk_dir.parent)
    new_laptop = coalition.tmp / "new-laptop" / "desk"
    new_laptop.parent.mkdir()
    coalition.desk_dir = new_laptop
    out = aryz("desk", "restore", "--dir", str(new_laptop), str(backup), env=coalition.env)
    assert "Desk restored" in out
    assert coalition.cases() == [first_case]

    # The server kept the second report (imported, but in no backup): the next pull has
    # it, and (--sync, as the restore says) every case's last applied record number.
    assert "--sync" in out
    coalition.pull_and_import("--sync")
    assert sorted(coalition.cases()) == sorted([first_case, second_case])
    shown = coalition.desk("show", second_case)
    assert "Second report, AFTER the backup." in shown
    assert "photo.jpg" in shown

    # The restored desk works on both cases, and its next outbox is applied: it continues
    # each case from the server's numbers, not from the backup's.
    reply = coalition.tmp / "reply.txt"
    reply.write_text("Your report is safe with us; a lawyer will call.", encoding="utf-8")
    coalition.desk("set", first_case, "--status", "referred")
    coalition.desk("reply", second_case, "--message-file", str(reply))
    coalition.desk("backup", "--out", str(coalition.stick))
    outbox = coalition.export()
    assert "applied: 6 records" in coalition.push(outbox)
    coalition.receipt(outbox)
    for case in (first_case, second_case):
        records = coalition.desk("show", case).split("Outbox records")[1]
        assert "waiting" not in records
        assert "refused" not in records
    assert "applied on the server" in records

    assert "status: referred" in coalition.status_page(first_token)
    second = coalition.status_page(second_token)
    assert "status: under_review" in second
    assert "a lawyer will call" in second
    # Both reports are now in a backup: nothing is waiting on the server.
    assert "nothing new" in coalition.pull_and_import()


def test_b_recovery_shares_restore_without_the_passphrase(coalition: Coalition) -> None:
    coalition.file("A report the coalition must not lose.")
    coalition.pull_and_import()
    (case,) = coalition.cases()
    out = coalition.desk("recovery", "--threshold", "2", "--shares", "3")
    shares = [
        " ".join(block.split()) for block in re.findall(r"Share \d of 3:\n((?:    .+\n)+)", out)
    ]
    assert len(shares) == 3
    assert all(len(s.split()) == 20 for s in shares)
    backup = coalition.backup()

    # The passphrase is lost with the person who knew it. Two share holders meet.
    target = coalition.tmp / "restored"
    refused = aryz(
        "desk",
        "restore",
        "--dir",
        str(target),
        str(backup),
        "--recovery-shares",
        stdin=shares[0] + "\n",
        env={"ARYZ_DESK_PASSPHRASE": NEW_PASSPHRASE},
        code=2,
    )
    assert "shares were not accepted" in refused
    assert not target.exists()
    verified = aryz(
        "desk",
        "backup",
        "verify",
        str(backup),
        "--recovery-shares",
        stdin=f"{shares[2]}\n{shares[0]}\n",
    )
    assert "whole and authentic" in verified
    out = aryz(
        "desk",
        "restore",
        "--dir",
        str(target),
        str(backup),
        "--recovery-shares",
        stdin=f"{shares[2]}\n\n{shares[1]}\n",
        env={"ARYZ_DESK_PASSPHRASE": NEW_PASSPHRASE},
    )
    assert "Desk restored" in out
    coalition.desk_dir = target
    coalition.env = {"ARYZ_DESK_PASSPHRASE": NEW_PASSPHRASE}
    assert coalition.cases() == [case]
    assert "A report the coalition must not lose." in coalition.desk("show", case)
    old = aryz(
        "desk", "list", "--dir", str(target), env={"ARYZ_DESK_PASSPHRASE": PASSPHRASE}, code=2
    )
    assert "passphrase" in old


def test_c_a_lost_outbox_no_longer_wedges_its_case(coalition: Coalition) -> None:
    token = coalition.file("Please tell me what happens next.")
    coalition.pull_and_import()
    (case,) = coalition.cases()
    coalition.backup()
    assert "applied" in coalition.push(coalition.export())

    coalition.desk("set", case, "--status", "under_review")
    lost = coalition.export()
    lost.unlink()  # the stick was reformatted
    reply = coalition.tmp / "reply.txt"
    reply.write_text("We are working on your case.", encoding="utf-8")
    coalition.desk("reply", case, "--message-file", str(reply))
    later = coalition.export()
    assert "does not continue" in coalition.push(later, code=2)  # a gap: refused
    assert "Nothing to send" not in coalition.desk("receipt", str(later) + ".receipt.json")
    resent = coalition.export()  # the lost status and the reply, with the right numbers
    assert "applied: 2 records" in coalition.push(resent)
    coalition.receipt(resent)
    shown = coalition.desk("show", case)
    records = shown.split("Outbox records")[1]
    assert records.count("applied on the server") == 4  # imported, ack, status, reply
    page = coalition.status_page(token)
    assert "status: under_review" in page
    assert "We are working on your case." in page

    # Pushed twice, or an old copy turning up late: refused, and nothing is wedged.
    coalition.push(later, code=2)
    coalition.desk("set", case, "--status", "referred")
    assert "applied: 1 records" in coalition.push(coalition.export())
    assert "status: referred" in coalition.status_page(token)


def test_c_an_outbox_never_pushed_is_sent_again_on_request(coalition: Coalition) -> None:
    token = coalition.file("Second drill.")
    coalition.pull_and_import()
    (case,) = coalition.cases()
    coalition.desk("set", case, "--status", "need_info")
    coalition.export().unlink()  # lost before anyone pushed it, no receipt at all
    assert "Nothing to send" in coalition.desk("export", "--out", str(coalition.tmp / "x.json"))
    again = coalition.export("--again")
    assert "applied: 2 records" in coalition.push(again)
    assert "status: need_info" in coalition.status_page(token)


def test_d_forged_or_altered_backups_are_refused(coalition: Coalition) -> None:
    coalition.file("Evidence.")
    coalition.pull_and_import()
    backup = coalition.backup()
    data = bytearray(backup.read_bytes())
    altered = coalition.tmp / "altered.aryz-backup"
    data[len(data) // 2] ^= 0x40
    altered.write_bytes(bytes(data))
    out = aryz("desk", "backup", "verify", str(altered), env=coalition.env, code=2)
    assert "damaged, altered" in out
    target = coalition.tmp / "from-altered"
    aryz("desk", "restore", "--dir", str(target), str(altered), env=coalition.env, code=2)
    assert not target.exists()

    # A forger's own desk, passed off as this coalition's backup.
    forger = coalition.tmp / "forger"
    forger_env = {"ARYZ_DESK_PASSPHRASE": NEW_PASSPHRASE}
    aryz("desk", "init", "--dir", str(forger), "--coalition", "kz-coalition", env=forger_env)
    out = aryz("desk", "backup", "--dir", str(forger), "--out", str(coalition.tmp), env=forger_env)
    forged = Path(re.search(r"Backup written: (\S+) \(", out).group(1))  # type: ignore[union-attr]
    aryz("desk", "backup", "verify", str(forged), env=coalition.env, code=2)
    # The real backup is fine and opens only with the passphrase.
    assert "whole and authentic" in aryz("desk", "backup", "verify", str(backup), env=coalition.env)


def test_c_outboxes_pushed_out_of_order_converge(coalition: Coalition) -> None:
    token = coalition.file("Third drill.")
    coalition.pull_and_import()
    (case,) = coalition.cases()
    coalition.desk("set", case, "--status", "under_review")
    first = coalition.export()
    reply = coalition.tmp / "reply.txt"
    reply.write_text("Out of order, but it arrives.", encoding="utf-8")
    coalition.desk("reply", case, "--message-file", str(reply))
    second = coalition.export()
    assert "does not continue" in coalition.push(second, code=2)  # the later one first
    assert "applied: 2 records" in coalition.push(first)
    coalition.receipt(second)  # refused: its record goes into the next export again
    coalition.receipt(first)  # applied
    assert "applied: 1 records" in coalition.push(coalition.export())
    assert "Out of order, but it arrives." in coalition.status_page(token)
    assert "waiting" not in coalition.desk("show", case).split("Outbox records")[1]
