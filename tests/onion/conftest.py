"""Light-mode tor for controller tests: one real tor with ``DisableNetwork 1``.

Each test gets its own tor (start to control socket in ~0.1 s), in a short directory under
/tmp because unix socket paths are limited to ~100 bytes. Stopped by its PID.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from onion.control import ControlEndpoint, TorControl, connect
from onion.launch import TorProcess, launch_tor
from onion.torrc import Line
from tests.conftest import require
from tests.onion.network import PrivateTorNetwork

LIGHT: list[Line] = [("DisableNetwork", "1"), ("SocksPort", "0")]


def tor_installed() -> bool:
    return shutil.which("tor") is not None


@pytest.fixture
def short_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="aryz-t-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def start_light_tor(
    directory: Path, extra: list[Line] | None = None, owner_pid: int | None = None
) -> TorProcess:
    require(tor_installed(), "tor (Debian package)")
    return launch_tor(
        [*LIGHT, *(extra or [])], directory / "tor", allow_public=False, owner_pid=owner_pid
    )


@pytest.fixture
def light_tor(short_dir: Path) -> Iterator[TorProcess]:
    tor = start_light_tor(short_dir)
    try:
        yield tor
    finally:
        tor.stop()


@pytest.fixture
def control(light_tor: TorProcess) -> Iterator[TorControl]:
    with connect(ControlEndpoint(socket_path=light_tor.control_socket)) as ctl:
        yield ctl


# --- the private Tor network (full mode) ------------------------------------------------


@pytest.fixture(scope="session")
def tor_network() -> Iterator[PrivateTorNetwork]:
    """One private network per test session (~20 s to bootstrap, ~0.5 GiB of RAM)."""
    require(tor_installed() and shutil.which("tor-gencert") is not None, "tor (Debian package)")
    network = PrivateTorNetwork.start()
    try:
        yield network
    finally:
        network.stop()
