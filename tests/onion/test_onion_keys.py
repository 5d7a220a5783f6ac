"""Onion keys on disk: tor's own layout and modes, refusal of anything doubtful, and the
same address whether computed here, by tor from ADD_ONION, or by tor from the directory."""

from __future__ import annotations

import base64
import stat
import time
from pathlib import Path

import pytest

from onion.control import ControlEndpoint, connect
from onion.errors import OnionKeyError
from onion.keys import (
    HOSTNAME_FILE,
    PUBLIC_FILE,
    SECRET_FILE,
    create_key,
    load_key,
    load_or_create_key,
    onion_address,
)
from tests.onion.conftest import start_light_tor
from tests.onion.keyfiles import public_key_of_address


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_created_key_has_tor_layout_and_private_modes(tmp_path: Path) -> None:
    directory = tmp_path / "keys" / "intake"
    key, created = load_or_create_key(directory)
    assert created
    assert _mode(directory) == 0o700
    for name in (SECRET_FILE, PUBLIC_FILE, HOSTNAME_FILE):
        assert _mode(directory / name) == 0o600
    assert (directory / HOSTNAME_FILE).read_text() == key.hostname + "\n"
    assert len(key.address) == 56
    assert key.hostname.endswith(".onion")
    again, created_again = load_or_create_key(directory)
    assert not created_again
    assert again == key
    assert base64.b64encode(key.expanded).decode() not in repr(key)


def test_never_overwrites_an_existing_key(tmp_path: Path) -> None:
    key = create_key(tmp_path / "s")
    with pytest.raises(OnionKeyError, match="already holds"):
        create_key(tmp_path / "s")
    assert load_key(tmp_path / "s") == key


def test_refuses_a_key_readable_by_others(tmp_path: Path) -> None:
    create_key(tmp_path / "s")
    (tmp_path / "s" / SECRET_FILE).chmod(0o640)
    with pytest.raises(OnionKeyError, match="readable by others"):
        load_key(tmp_path / "s")


def test_refuses_a_directory_others_can_enter(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir(mode=0o755)
    (tmp_path / "s").chmod(0o755)
    with pytest.raises(OnionKeyError, match="accessible by others"):
        create_key(tmp_path / "s")


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[:-1],  # truncated
        lambda raw: b"== ed25519v3-secret: type1 ==\x00\x00\x00" + raw[32:],  # wrong header
        lambda raw: raw[:32] + b"\x00" * 64,  # unclamped scalar
    ],
)
def test_refuses_malformed_secret_keys(tmp_path: Path, damage: object) -> None:
    create_key(tmp_path / "s")
    path = tmp_path / "s" / SECRET_FILE
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(OnionKeyError):
        load_key(tmp_path / "s")


def test_refuses_a_hostname_from_another_key(tmp_path: Path) -> None:
    create_key(tmp_path / "a")
    other = create_key(tmp_path / "b")
    (tmp_path / "a" / HOSTNAME_FILE).write_text(other.hostname + "\n")
    with pytest.raises(OnionKeyError, match="hostname"):
        load_key(tmp_path / "a")


def test_missing_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OnionKeyError, match="No readable onion key"):
        load_key(tmp_path / "nothing")


def test_address_round_trip_and_checksum(tmp_path: Path) -> None:
    key = create_key(tmp_path / "s")
    assert public_key_of_address(key.hostname) == key.public
    assert onion_address(key.public) == key.address
    flipped = ("a" if key.address[10] != "a" else "b").join((key.address[:10], key.address[11:]))
    with pytest.raises(OnionKeyError):
        public_key_of_address(flipped)
    with pytest.raises(OnionKeyError):
        public_key_of_address("facebookcorewwwi.onion")  # v2: refused


def test_tor_derives_the_same_address_through_add_onion(short_dir: Path) -> None:
    key = create_key(short_dir / "keys" / "intake")
    tor = start_light_tor(short_dir)
    try:
        with connect(ControlEndpoint(socket_path=tor.control_socket)) as control:
            reply = control._msg(f"ADD_ONION {key.tor_key_blob()} Port=80,127.0.0.1:9")
            assert f"ServiceID={key.address}" in str(reply)
    finally:
        tor.stop()


def test_tor_uses_our_directory_as_a_hidden_service_dir(short_dir: Path) -> None:
    key = create_key(short_dir / "keys" / "intake")
    hs_dir = short_dir / "keys" / "intake"
    (hs_dir / HOSTNAME_FILE).unlink()  # tor must rewrite it from our key
    tor = start_light_tor(
        short_dir, [("HiddenServiceDir", str(hs_dir)), ("HiddenServicePort", "80 127.0.0.1:9")]
    )
    try:
        deadline = time.monotonic() + 10
        while not (hs_dir / HOSTNAME_FILE).exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # tor writes the hostname right after reading the key
        assert (hs_dir / HOSTNAME_FILE).read_text().strip() == key.hostname
        assert load_key(hs_dir) == key
    finally:
        tor.stop()
