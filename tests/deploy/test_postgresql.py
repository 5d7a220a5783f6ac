"""deploy/postgresql: every line is ``key = value``, every key is a real PostgreSQL setting
(asked of the installed server binary), and the durability and no-logging settings the
security brief needs (items 6 and 8) are there; pg_hba allows only local peer logins."""

from __future__ import annotations

import glob
import subprocess
from pathlib import Path

import pytest

from tests.deploy.units import DEPLOY

CONF = DEPLOY / "postgresql" / "aryz.conf"
REQUIRED = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "listen_addresses": "''",
    "log_statement": "'none'",
    "log_min_error_statement": "panic",
    "log_connections": "off",
    "log_disconnections": "off",
    "log_hostname": "off",
    "log_duration": "off",
    "log_min_duration_statement": "-1",
    "log_parameter_max_length": "0",
    "log_parameter_max_length_on_error": "0",
    "log_error_verbosity": "terse",
    "autovacuum": "on",
    # What the WAL keeps, and for how long (F-04; tests/deploy/test_postgresql_wal.py).
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "archive_mode": "off",
    "wal_keep_size": "0",
    "track_commit_timestamp": "off",
    "wal_recycle": "off",
    "wal_init_zero": "on",
}


def settings() -> dict[str, str]:
    parsed: dict[str, str] = {}
    for number, raw in enumerate(CONF.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(" = ")
        assert sep, f"line {number} is not 'key = value'"
        assert key.isidentifier(), f"line {number}"
        assert key not in parsed, f"{key} is set twice"
        parsed[key] = value.split(" #", 1)[0].strip()
    return parsed


def test_privacy_and_durability_settings_are_present() -> None:
    found = settings()
    for key, value in REQUIRED.items():
        assert found.get(key) == value, key
    prefix = found["log_line_prefix"]
    for escape in ("%u", "%d", "%h", "%r", "%a", "%i", "%q"):
        assert escape not in prefix


def test_every_key_is_a_postgresql_setting() -> None:
    servers = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not servers:
        # PostgreSQL is required under CI (tests/conftest.py); this check needs only its
        # binary, which Debian's server package installs there.
        pytest.skip("no PostgreSQL server binary under /usr/lib/postgresql")
    described = subprocess.run(
        [servers[-1], "--describe-config"], capture_output=True, text=True, check=True
    ).stdout
    known = {line.split("\t", 1)[0] for line in described.splitlines()}
    assert set(settings()) - known == set()


def test_pg_hba_allows_only_local_peer_logins() -> None:
    rules = [
        line.split()
        for line in (DEPLOY / "postgresql" / "pg_hba.conf").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert rules
    for rule in rules:
        assert rule[0] == "local"
        assert rule[-1] == "peer"
    assert ["local", "aryz", "aryz", "peer"] in rules


def test_vacuum_script_targets_postgresql_only(tmp_path: Path) -> None:
    script = DEPLOY / "postgresql" / "aryz-vacuum"
    result = subprocess.run(
        [str(script)],
        env={"PATH": "/usr/bin:/bin", "ARYZ_DATABASE_URL": f"sqlite:///{tmp_path}/x"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "nothing to do" in result.stderr
