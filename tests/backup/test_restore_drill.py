"""The restore drill, end to end with real processes: what an operator rehearses.

A server takes reports through the form and the API; ``aryz backup create`` seals the
database and registry, ``aryz backup onion-keys`` seals the onion key directory on its own;
both are restored into a fresh instance, a server runs on the restored data, and then:
every item opens with the coalition's key to exactly what was sent, the token still finds
its case, tor derives the same onion addresses from the restored key directory, modes are
0700/0600 — and the database backup holds neither the onion secret key nor any plaintext.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from service.common.crypto.keys import BoxKeyPair
from service.field.client import make_client, submit
from tests.conftest import PG_URL, _pg_exec, require
from tests.deploy.torlab import require_tor, tor_hostname, write_onion_keys
from tests.server import ServerProcess
from tests.support import add_files, demo_trust, file_report, opened_items_at, run_aryz

pytestmark = pytest.mark.slow
PASSPHRASE = "orbit candle meadow pocket silver lantern harbor"  # noqa: S105 - a test key
KEY_ENV = {"ARYZ_BACKUP_PASSPHRASE": PASSPHRASE, "ARYZ_BACKUP_KDF": "minimum"}


def ok(*args: str, env: dict[str, str] | None = None) -> str:
    result = run_aryz(*args, env={**KEY_ENV, **(env or {})})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.fixture
def empty_target(database_url: str) -> Iterator[str | None]:
    """An empty PostgreSQL database for a PostgreSQL drill (None for SQLite)."""
    if not database_url.startswith("postgresql"):
        yield None
        return
    name = f"aryz_restore_{uuid.uuid4().hex[:12]}"
    _pg_exec(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(False)
    finally:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _onion_keys(root: Path) -> dict[str, tuple[bytes, str]]:
    keys = {name: write_onion_keys(root / name) for name in ("intake", "staff")}
    clients = root / "staff" / "authorized_clients"
    clients.mkdir(mode=0o700)
    fd = os.open(clients / "courier.auth", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("descriptor:x25519:" + "A" * 52 + "\n")
    return keys


def _modes(root: Path) -> set[tuple[str, int]]:
    return {
        ("dir" if p.is_dir() else "file", stat.S_IMODE(p.stat().st_mode))
        for p in [root, *root.rglob("*")]
    }


def test_restore_drill(
    tmp_path: Path,
    database_url: str,
    empty_target: str | None,
    registry_dir: Path,
    desk_keys: dict[str, BoxKeyPair],
) -> None:
    require_tor()
    if database_url.startswith("postgresql"):
        require(bool(shutil.which("pg_dump") and shutil.which("pg_restore")), "pg_dump")
    canary = f"CANARY-{secrets.token_hex(8)}"
    evidence = os.urandom(300_000) + canary.encode() + os.urandom(1000)
    api_file = tmp_path / "scan.pdf"
    api_file.write_bytes(b"%PDF-1.4 " + canary.encode() + os.urandom(70_000))

    old = tmp_path / "old"
    old.mkdir()
    with ServerProcess(old, database_url, registry_dir / "registry.toml") as server:
        with httpx.Client(base_url=server.url, timeout=60, trust_env=False) as web:
            token = file_report(web, narrative=f"form {canary}", victim__situation="detained")
            assert add_files(web, token, [(f"{canary}.jpg", evidence)]).status_code == 200
        with make_client(server.url, None) as api:
            submit(
                api,
                country="TJ",
                coalition_id=None,
                message=f"api {canary}",
                files=[api_file],
                trust=demo_trust(registry_dir),
            )
        server_env = server.env
    originals = opened_items_at(old, database_url, registry_dir, desk_keys)
    assert len(originals) == 4  # form answers, its file, the API's message and file

    ok("backup", "keygen", "--out", str(tmp_path / "operator"))
    public = tmp_path / "operator" / "backup-public.key"
    secret = tmp_path / "operator" / "backup-secret.key"
    onion = _onion_keys(tmp_path / "onion")
    backups = tmp_path / "backups"
    backups.mkdir()
    # As the systemd timer runs it: the server's environment, only the public key.
    db_backup = backups / "db.aryzbak"
    ok("backup", "create", "--to", str(public), "--out", str(db_backup), env=server_env)
    ok(
        "backup", "onion-keys", "--to", str(public), "--out", str(backups / "onion.aryzbak"),
        env={**server_env, "ARYZ_ONION_KEYS_DIR": str(tmp_path / "onion")},
    )  # fmt: skip

    sealed = (backups / "db.aryzbak").read_bytes()
    for onion_secret, address in onion.values():
        assert onion_secret[32:] not in sealed  # the expanded key
        assert onion_secret[32:64] not in sealed  # its scalar half alone
        assert address.encode() not in sealed
    for needle in (canary.encode(), canary.encode("utf-16-le"), token.encode(), evidence[:64]):
        assert needle not in sealed
    assert stat.S_IMODE((backups / "db.aryzbak").stat().st_mode) == 0o600

    new = tmp_path / "new"
    ok("backup", "sign", str(backups / "db.aryzbak"), "--key", str(secret))
    ok("backup", "sign", str(backups / "onion.aryzbak"), "--key", str(secret))
    restore = ["backup", "restore", str(backups / "db.aryzbak"), "--key", str(secret)]
    restore += ["--into", str(new / "data")]
    if empty_target is not None:
        restore += ["--database-url", empty_target]
    ok(*restore)
    ok(
        "backup", "restore-onion-keys", str(backups / "onion.aryzbak"), "--key", str(secret),
        "--into", str(new / "onion"),
    )  # fmt: skip
    restored_url = empty_target or f"sqlite:///{new / 'data' / 'aryz.sqlite3'}"
    restored_registry = new / "data" / "registry.toml"
    assert restored_registry.read_bytes() == (registry_dir / "registry.toml").read_bytes()

    restored = ServerProcess(new, restored_url, restored_registry)
    with restored, httpx.Client(base_url=restored.url, timeout=60, trust_env=False) as web:
        # Same pepper, same database: the family's token still finds the case.
        page = web.post("/en/status", data={"token": token})
        assert page.status_code == 200
        assert "holds 2 sealed items." in page.text
    assert opened_items_at(new, restored_url, registry_dir, desk_keys) == originals

    assert _modes(new / "onion") == {("dir", 0o700), ("file", 0o600)}
    for name in ("intake", "staff"):
        restored_dir = new / "onion" / name
        assert (restored_dir / "hs_ed25519_secret_key").read_bytes() == onion[name][0]
        work = tmp_path / f"tor-{name}"
        work.mkdir()
        assert tor_hostname(restored_dir, work) == onion[name][1]
        # Tor used the restored key rather than making a new one.
        assert (restored_dir / "hs_ed25519_secret_key").read_bytes() == onion[name][0]
    assert (new / "onion/staff/authorized_clients/courier.auth").read_text().startswith(
        "descriptor:x25519:"
    )
