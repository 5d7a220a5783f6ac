"""The controller against a real tor (``DisableNetwork 1``): publish with PoW, caps and
client authorisation, collisions, removal, single-hop refusal, ports, auth, tor down."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from onion.clients import add_client, list_clients
from onion.control import ControlEndpoint, OnionSpec, PowSettings, TorControl, connect, publish_all
from onion.errors import (
    OnionCollisionError,
    SingleHopError,
    TorAuthError,
    TorControlError,
)
from onion.keys import create_key
from onion.launch import TorProcess
from tests.onion.conftest import start_light_tor
from tests.server import free_port


def _intake(tmp: Path) -> OnionSpec:
    return OnionSpec(
        name="intake",
        key=create_key(tmp / "intake"),
        targets=((80, "unix:" + str(tmp / "intake.sock")),),
        pow=PowSettings(queue_rate=50, queue_burst=100),
        max_streams=16,
    )


def _warnings(tor: TorProcess) -> list[str]:
    # tor only *warns* about a misspelt or unsupported option: an accepted command with a
    # warning would be a defence silently off. Running as root is the one expected warning.
    lines = tor.log_path.read_text().splitlines()
    return [line for line in lines if "[warn]" in line and "as root" not in line]


def test_publishes_intake_with_pow_and_stream_cap(
    short_dir: Path, control: TorControl, light_tor: TorProcess
) -> None:
    spec = _intake(short_dir)
    command = spec.add_onion_command()
    assert "PoWDefensesEnabled=1" in command
    assert "MaxStreams=16" in command
    assert "Flags=MaxStreamsCloseCircuit" in command
    assert "Detach" not in command
    publish_all(control, [spec])
    assert spec.key.address in control.current()
    assert _warnings(light_tor) == []


def test_staff_onion_with_several_clients(short_dir: Path, control: TorControl) -> None:
    staff = create_key(short_dir / "staff")
    for name in ("kz-courier-1", "kg-courier-1"):
        add_client(short_dir / "staff", staff.address, name, short_dir / f"{name}.auth_private")
    keys = tuple(c.public_b32 for c in list_clients(short_dir / "staff"))
    spec = OnionSpec("staff", staff, ((80, "127.0.0.1:9"),), keys, require_client_auth=True)
    assert spec.add_onion_command().count("ClientAuthV3=") == 2
    assert "Flags=V3Auth" in spec.add_onion_command()
    control.publish(spec)
    assert staff.address in control.current()


def test_staff_onion_is_never_published_open(short_dir: Path) -> None:
    spec = OnionSpec(
        "staff", create_key(short_dir / "s"), ((80, "127.0.0.1:9"),), require_client_auth=True
    )
    with pytest.raises(TorControlError, match="no authorised clients"):
        spec.add_onion_command()


@pytest.mark.parametrize(
    "target", ["0.0.0.0:80", "unix:/tmp/a b", "127.0.0.1:80 Flags=Detach", "unix:/x,y", ""]
)
def test_targets_cannot_smuggle_arguments(short_dir: Path, target: str) -> None:
    spec = OnionSpec("x", create_key(short_dir / "s"), ((80, target),))
    with pytest.raises(TorControlError, match="target"):
        spec.add_onion_command()


def test_second_publication_of_a_live_key_is_a_collision(
    short_dir: Path, light_tor: TorProcess, control: TorControl
) -> None:
    spec = _intake(short_dir)
    control.publish(spec)
    endpoint = ControlEndpoint(socket_path=light_tor.control_socket)
    with connect(endpoint) as other, pytest.raises(OnionCollisionError):
        other.publish(spec)


def test_services_end_with_their_connection(short_dir: Path, light_tor: TorProcess) -> None:
    # Not detached: a crashed aryz leaves no onion behind, and a restart can publish again.
    spec = _intake(short_dir)
    endpoint = ControlEndpoint(socket_path=light_tor.control_socket)
    with connect(endpoint) as first:
        first.publish(spec)
    deadline = time.monotonic() + 5
    while True:
        with connect(endpoint) as second:
            try:
                second.publish(spec)
                assert spec.key.address in second.current()
                return
            except OnionCollisionError:
                if time.monotonic() > deadline:
                    raise
        time.sleep(0.1)  # tor removes the old connection's services as it notices the close


def test_remove(short_dir: Path, control: TorControl) -> None:
    spec = _intake(short_dir)
    control.publish(spec)
    control.remove(spec.key.address)
    assert spec.key.address not in control.current()


def test_single_hop_tor_is_refused(short_dir: Path) -> None:
    # Our launcher refuses such a torrc, so start this one tor by hand, as an operator might.
    from tests.conftest import require
    from tests.onion.conftest import tor_installed

    require(tor_installed(), "tor (Debian package)")
    data = short_dir / "single"
    data.mkdir(mode=0o700)
    (data / "empty").write_text("")
    torrc = data / "torrc"
    torrc.write_text(
        f"DisableNetwork 1\nSocksPort 0\nDataDirectory {data}\nControlSocket {data}/c\n"
        "CookieAuthentication 1\nHiddenServiceSingleHopMode 1\n"
        f"HiddenServiceNonAnonymousMode 1\n__OwningControllerProcess {os.getpid()}\n"
    )
    process = subprocess.Popen(
        ["tor", "--defaults-torrc", str(data / "empty"), "-f", str(torrc)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not (data / "c").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        with connect(ControlEndpoint(socket_path=data / "c")) as control:
            with pytest.raises(SingleHopError):
                publish_all(control, [_intake(short_dir)])
            assert control.current() == set()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_tcp_control_port_with_cookie_auth(short_dir: Path) -> None:
    port = free_port()
    tor = start_light_tor(short_dir, [("ControlPort", f"127.0.0.1:{port}")])
    try:
        with connect(ControlEndpoint.parse(f"127.0.0.1:{port}")) as control:
            assert control.version.startswith("0.4")
            assert control.network_disabled()
    finally:
        tor.stop()


def test_a_wrong_cookie_is_refused(short_dir: Path, light_tor: TorProcess) -> None:
    # Whoever cannot read tor's real cookie cannot control it (and so cannot publish).
    (light_tor.data_dir / "control_auth_cookie").write_bytes(b"\x00" * 32)
    with pytest.raises(TorAuthError):
        connect(ControlEndpoint(socket_path=light_tor.control_socket))


def test_control_port_must_be_loopback() -> None:
    with pytest.raises(TorControlError, match="loopback"):
        ControlEndpoint.parse("10.0.0.5:9051")


def test_tor_down_is_a_clear_error(short_dir: Path) -> None:
    with pytest.raises(TorControlError, match="cannot be reached"):
        connect(ControlEndpoint(socket_path=short_dir / "no-such-socket"))
