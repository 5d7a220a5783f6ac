"""Audit F-04 on a real, throw-away PostgreSQL cluster, read with ``pg_waldump``.

PostgreSQL writes a commit time into every WAL commit record; guarantee 7 holds on
PostgreSQL only as SECURITY.md restates it: with deploy/postgresql/aryz.conf, the WAL
holds no copy for replicas or archives, and after aryz-vacuum's hourly rotation
(aryz-wal-rotate.sql, run as the aryz role with its two grants) no segment holding an
earlier commit record is left in ``pg_wal``.

The cluster is made by ``initdb`` in a temporary folder as the ``postgres`` user, listens
on its own port on 127.0.0.1 only, and is removed afterwards; the machine's own cluster
and its configuration are not touched.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.deploy.units import DEPLOY
from tests.server import free_port

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
SEGMENT = re.compile(r"^[0-9A-F]{24}$")


def _as_postgres() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture
def cluster() -> Iterator[tuple[Path, int]]:
    if not BIN or not shutil.which("runuser"):
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl, pg_waldump) here")
    try:
        postgres = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user to run a throw-away cluster as")
    binaries = Path(BIN[-1])
    root = Path(tempfile.mkdtemp(prefix="aryz-wal-"))
    data = root / "data"
    port = free_port()
    try:
        conf = root / "aryz.conf"
        shutil.copyfile(DEPLOY / "postgresql" / "aryz.conf", conf)
        if os.geteuid() == 0:
            os.chown(root, postgres.pw_uid, postgres.pw_gid)
            os.chown(conf, postgres.pw_uid, postgres.pw_gid)
        run = [*_as_postgres(), str(binaries / "initdb")]
        subprocess.run(
            [*run, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True,
            capture_output=True,
        )
        with (data / "postgresql.conf").open("a") as settings:
            # The deployment's settings, then only what a throw-away cluster needs: its
            # own port on loopback and its own socket folder.
            settings.write(f"\ninclude '{conf}'\n")
            settings.write(f"listen_addresses = '127.0.0.1'\nport = {port}\n")
            settings.write(f"unix_socket_directories = '{root}'\n")
        subprocess.run(
            [*_as_postgres(), str(binaries / "pg_ctl"), "-D", str(data), "-w", "-l"]
            + [str(root / "log"), "start"],
            check=True,
            capture_output=True,
        )
        try:
            yield data, port
        finally:
            subprocess.run(
                [*_as_postgres(), str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate"]
                + ["-w", "stop"],
                check=False,
                capture_output=True,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _commit_records(data: Path, xid: int) -> list[str]:
    """Every WAL commit record of transaction ``xid`` still in ``pg_wal``."""
    waldump = str(Path(BIN[-1]) / "pg_waldump")
    found = []
    for segment in sorted(p for p in (data / "pg_wal").iterdir() if SEGMENT.match(p.name)):
        # pg_waldump stops at the end of the valid records with an error; the records
        # before it are what counts.
        out = subprocess.run([waldump, str(segment)], capture_output=True, text=True).stdout
        mine = re.compile(rf"\btx:\s+{xid}, .*desc: COMMIT ")
        found += [line for line in out.splitlines() if mine.search(line)]
    return found


def test_commit_times_leave_the_wal_after_the_hourly_rotation(
    cluster: tuple[Path, int],
) -> None:
    data, port = cluster
    dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        shown = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("wal_level", "max_wal_senders", "archive_mode", "wal_recycle")
        }
        assert shown == {
            "wal_level": "minimal",
            "max_wal_senders": "0",
            "archive_mode": "off",
            "wal_recycle": "off",
        }
        assert conn.execute("SHOW track_commit_timestamp").fetchone() == ("off",)
        conn.execute("CREATE ROLE aryz LOGIN")
        conn.execute("GRANT EXECUTE ON FUNCTION pg_switch_wal() TO aryz")
        conn.execute("GRANT pg_checkpoint TO aryz")
        conn.execute("CREATE TABLE cases (ref text)")
        with conn.transaction():
            conn.execute("INSERT INTO cases VALUES ('7981775afec84cf6')")
            xid = int(conn.execute("SELECT txid_current()").fetchone()[0])  # type: ignore[index]
    # What the audit saw: the commit record, with its time, is in the WAL.
    records = _commit_records(data, xid)
    assert records
    assert re.search(r"COMMIT \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+", records[0])

    rotate = (DEPLOY / "postgresql" / "aryz-wal-rotate.sql").read_text()
    statements = [s.strip() for s in re.sub(r"--[^\n]*", "", rotate).split(";") if s.strip()]
    with psycopg.connect(f"host=127.0.0.1 port={port} user=aryz dbname=postgres") as conn:
        conn.autocommit = True
        for statement in statements:
            conn.execute(statement)  # as the aryz role: the two grants suffice
    assert _commit_records(data, xid) == []
    # Nor any byte of those records: a recycled segment (wal_recycle = on) would keep them.
    for segment in (data / "pg_wal").iterdir():
        if segment.is_file():
            assert b"7981775afec84cf6" not in segment.read_bytes()
    # And the data directory keeps no commit timestamps of its own.
    assert not any((data / "pg_commit_ts").iterdir())
