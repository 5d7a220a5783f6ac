"""``aryz serve`` with its own tor (``DisableNetwork 1``): keys made on first run, both
onions published (staff only with client authorisation), addresses printed and allowed
as Host, ``aryz onion status`` and ``client`` commands, tor gone when serve stops, and an
unsafe torrc refused before any tor starts."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from onion.keys import load_key
from tests.conftest import require
from tests.onion.conftest import tor_installed
from tests.server import ServerProcess
from tests.support import run_aryz


@pytest.fixture
def onion_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    require(tor_installed(), "tor (Debian package)")
    short = Path(tempfile.mkdtemp(prefix="aryz-s-", dir="/tmp"))
    extra = tmp_path / "extra-torrc"
    extra.write_text("DisableNetwork 1\n")
    try:
        yield {
            "ARYZ_ONION_KEYS_DIR": str(tmp_path / "onion-keys"),
            "ARYZ_TOR_DATA_DIR": str(short / "tor"),
            "ARYZ_TOR_EXTRA_CONFIG": str(extra),
        }
    finally:
        shutil.rmtree(short, ignore_errors=True)


def _wait_for_line(path: Path, needle: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if needle in text:
            return text
        time.sleep(0.05)  # polling the server's stdout file; bounded by the deadline
    raise AssertionError(f"{needle!r} not printed: {path.read_text()[-2000:]}")


def test_serve_publishes_both_onions_with_its_own_tor(
    tmp_path: Path, database_url: str, registry_dir: Path, onion_env: dict[str, str]
) -> None:
    keys = Path(onion_env["ARYZ_ONION_KEYS_DIR"])
    added = run_aryz(
        "onion",
        "client",
        "add",
        "kz-courier-1",
        "--out",
        str(tmp_path / "kz.auth_private"),
        env=onion_env,
    )
    assert added.returncode == 0, added.stderr
    server = ServerProcess(tmp_path, database_url, registry_dir / "registry.toml")
    server.env.update(onion_env)
    with server:
        out = _wait_for_line(server.stdout, "staff onion:")
        intake, staff = load_key(keys / "intake"), load_key(keys / "staff")
        assert f"intake onion: http://{intake.hostname}/" in out
        assert f"staff onion:  http://{staff.hostname}/" in out
        # The onion's own name is an allowed Host without the operator repeating it.
        page = httpx.get(server.url + "/en/", headers={"Host": intake.hostname})
        assert page.status_code == 200
        courier = httpx.get(server.courier_url + "/", headers={"Host": intake.hostname})
        assert courier.status_code in (400, 421)  # the public name never reaches the courier
        status = run_aryz("onion", "status", env=onion_env)
        assert status.returncode == 0, status.stderr
        assert "network disabled" in status.stdout
        assert "multi-hop only" in status.stdout
        assert intake.hostname in status.stdout
        assert staff.hostname in status.stdout
        assert "authorised couriers on the staff onion: 1" in status.stdout
        tor_pid = int((Path(onion_env["ARYZ_TOR_DATA_DIR"]) / "pid").read_text())
    # Stopping serve stops its tor (it owns tor's control connection).
    deadline = time.monotonic() + 15
    while _alive(tor_pid):
        assert time.monotonic() < deadline, "tor outlived aryz serve"
        time.sleep(0.05)
    assert "Traceback" not in server.stderr.read_text()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        Path(f"/proc/{pid}").exists()
        and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    )


def test_staff_onion_without_couriers_is_not_published(
    tmp_path: Path, database_url: str, registry_dir: Path, onion_env: dict[str, str]
) -> None:
    server = ServerProcess(tmp_path, database_url, registry_dir / "registry.toml")
    server.env.update(onion_env)
    with server:
        out = _wait_for_line(server.stdout, "staff onion NOT published")
        assert "intake onion: http://" in out


def test_unsafe_tor_config_is_refused_before_tor_starts(
    tmp_path: Path, database_url: str, registry_dir: Path, onion_env: dict[str, str]
) -> None:
    # Outside production, aryz never starts a tor that could reach the public network.
    Path(onion_env["ARYZ_TOR_EXTRA_CONFIG"]).write_text("DisableNetwork 0\n")
    server = ServerProcess(tmp_path, database_url, registry_dir / "registry.toml")
    server.env.update(onion_env)
    with pytest.raises(RuntimeError, match="private test network"):
        server.start(timeout=20)
    assert not (Path(onion_env["ARYZ_TOR_DATA_DIR"]) / "pid").exists()


def test_client_commands(tmp_path: Path, onion_env: dict[str, str]) -> None:
    out = tmp_path / "c.auth_private"
    assert (
        run_aryz("onion", "client", "add", "c1", "--out", str(out), env=onion_env).returncode == 0
    )
    listed = run_aryz("onion", "client", "list", env=onion_env)
    assert listed.stdout.startswith("c1  ")
    bad = run_aryz("onion", "client", "add", "../c2", "--out", str(tmp_path / "x"), env=onion_env)
    assert bad.returncode == 2
    assert "client name" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert run_aryz("onion", "client", "revoke", "c1", env=onion_env).returncode == 0
    assert run_aryz("onion", "client", "list", env=onion_env).stdout == ""
    keys = run_aryz("onion", "keys", env=onion_env)
    assert keys.returncode == 0
    assert keys.stdout.count(".onion") == 2
