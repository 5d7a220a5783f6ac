"""Staff-onion client authorisation files: tor's formats, safe names, no silent skips."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from onion.clients import (
    add_client,
    list_clients,
    revoke_client,
)
from onion.errors import ClientAuthError
from onion.keys import create_key
from tests.onion.keyfiles import read_client_private_file


@pytest.fixture
def staff(tmp_path: Path) -> tuple[Path, str]:
    key = create_key(tmp_path / "staff")
    return tmp_path / "staff", key.address


def test_add_list_revoke(staff: tuple[Path, str], tmp_path: Path) -> None:
    directory, address = staff
    out = tmp_path / "kz.auth_private"
    client = add_client(directory, address, "kz-courier-1", out)
    public_file = directory / "authorized_clients" / "kz-courier-1.auth"
    assert public_file.read_text() == f"descriptor:x25519:{client.public_b32}\n"
    assert stat.S_IMODE(public_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    service_id, secret = read_client_private_file(out)
    assert service_id == address
    assert len(secret) == 52
    assert secret != client.public_b32
    assert list_clients(directory) == [client]
    revoke_client(directory, "kz-courier-1")
    assert list_clients(directory) == []
    with pytest.raises(ClientAuthError, match="No client"):
        revoke_client(directory, "kz-courier-1")


def test_private_half_is_never_kept_on_the_server(staff: tuple[Path, str], tmp_path: Path) -> None:
    directory, address = staff
    out = tmp_path / "c.auth_private"
    add_client(directory, address, "c1", out)
    _, secret = read_client_private_file(out)
    for path in directory.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes()


@pytest.mark.parametrize("name", ["../evil", "a/b", "", "UPPER", ".hidden", "x" * 64, "a b"])
def test_unsafe_names_refused(staff: tuple[Path, str], tmp_path: Path, name: str) -> None:
    with pytest.raises(ClientAuthError, match="client name"):
        add_client(staff[0], staff[1], name, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_duplicates_and_existing_output_refused(staff: tuple[Path, str], tmp_path: Path) -> None:
    directory, address = staff
    add_client(directory, address, "c1", tmp_path / "one")
    with pytest.raises(ClientAuthError, match="already authorised"):
        add_client(directory, address, "c1", tmp_path / "two")
    with pytest.raises(ClientAuthError, match="never overwritten"):
        add_client(directory, address, "c2", tmp_path / "one")
    assert [c.name for c in list_clients(directory)] == ["c1"]


def test_a_malformed_client_file_is_an_error_not_skipped(staff: tuple[Path, str]) -> None:
    clients = staff[0] / "authorized_clients"
    clients.mkdir(mode=0o700)
    (clients / "broken.auth").write_text("descriptor:x25519:not-base32\n")
    with pytest.raises(ClientAuthError, match="not a valid"):
        list_clients(staff[0])


@pytest.mark.parametrize(
    "content", ["", "garbage", "abc:descriptor:x25519:" + "A" * 52, "a" * 56 + ":x25519:AAAA"]
)
def test_bad_private_files_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "c.auth_private"
    path.write_text(content)
    with pytest.raises(ClientAuthError):
        read_client_private_file(path)
