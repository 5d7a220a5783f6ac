"""Every torrc in deploy/ passes ``tor --verify-config`` with zero warnings, and says what
the security brief (item 10) requires: v3 only, SafeLogging, no client port, proof of
work and stream limits on the public onion. Tor only *warns* about a misspelled option,
so a warning fails the test just as an error does.

Shipped paths are rewritten into a temp dir, the HiddenServiceDirs are made in tor's
layout from fresh keys (the Onionbalance instance with its ob_config), and
``DisableNetwork 1`` plus a DataDirectory are added: no tor here touches the network.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from service.common.crypto.keys import generate_box_keypair
from tests.deploy.torlab import onion_address, verify_config, warnings, write_onion_keys

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TORRCS = sorted(
    p
    for p in DEPLOY.rglob("*")
    if p.is_file() and (p.name.startswith("torrc") or p.suffix == ".torrc")
)
PRODUCTION_PATHS = ("/var/lib/aryz-onion", "/var/lib/tor", "/run/aryz", "/run/tor")


def options(text: str) -> list[tuple[str, str]]:
    """(option, value) for every non-comment line, as tor reads them."""
    pairs = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            key, _, value = line.partition(" ")
            pairs.append((key, value.strip()))
    return pairs


def onion_blocks(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    for key, value in options(text):
        if key == "HiddenServiceDir":
            blocks.append({})
        if key.startswith("HiddenService") and blocks:
            blocks[-1][key] = value
    return blocks


def render(text: str, root: Path) -> str:
    for production in PRODUCTION_PATHS:
        text = text.replace(production, str(root / production.strip("/").replace("/", "-")))
    for _key, value in options(text):
        if value.startswith(str(root)) and _key in ("ControlSocket", "CookieAuthFile"):
            Path(value.split()[0]).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for block in onion_blocks(text):
        directory = Path(block["HiddenServiceDir"])
        write_onion_keys(directory)
        if block.get("HiddenServiceOnionBalanceInstance") == "1":
            master = onion_address(generate_box_keypair().public)  # any valid v3 address
            (directory / "ob_config").write_text(f"MasterOnionAddress {master}\n")
        clients = directory / "authorized_clients"
        clients.mkdir(mode=0o700)
        key = base64.b32encode(generate_box_keypair().public).decode().rstrip("=")
        (clients / "courier.auth").write_text(f"descriptor:x25519:{key}\n")
    socket_dir = root / "run-aryz"
    socket_dir.mkdir(mode=0o750, exist_ok=True)
    data = root / "data"
    data.mkdir(mode=0o700)
    return f"DisableNetwork 1\nDataDirectory {data}\n{text}"


def test_the_torrcs_are_found() -> None:
    names = {p.relative_to(DEPLOY).as_posix() for p in TORRCS}
    assert names == {
        "tor/torrc",
        "tor/torrc-publish",
        "tor/onionbalance/backend.torrc",
        "tor/onionbalance/frontend.torrc",
    }


@pytest.mark.parametrize("torrc", TORRCS, ids=lambda p: p.name)
def test_tor_verifies_every_shipped_torrc_without_warnings(torrc: Path, tmp_path: Path) -> None:
    result = verify_config(render(torrc.read_text(), tmp_path), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Configuration was valid" in output
    assert warnings(output) == []


@pytest.mark.parametrize("torrc", TORRCS, ids=lambda p: p.name)
def test_every_torrc_is_onion_only_and_quiet(torrc: Path) -> None:
    pairs = options(torrc.read_text())
    assert ("SocksPort", "0") in pairs
    assert ("SafeLogging", "1") in pairs
    # The Onionbalance backend cannot have the sandbox: tor 0.4.9's sandbox refuses its
    # ob_config on every reload (found by tests/onion/test_onionbalance.py).
    sandbox = "0" if torrc.name == "backend.torrc" else "1"
    assert ("Sandbox", sandbox) in pairs
    assert not [k for k, _v in pairs if k in ("ORPort", "DirPort", "ControlPort", "DisableNetwork")]
    for key, value in pairs:
        if key == "ControlSocket":
            assert value.startswith("/run/tor/")  # a unix socket, never a TCP control port
        if key == "HiddenServicePort":
            assert re.fullmatch(r"80 unix:/run/aryz/(intake|courier)\.sock", value)


def test_the_public_onion_has_pow_and_stream_limits() -> None:
    public = [
        block
        for torrc in TORRCS
        for block in onion_blocks(torrc.read_text())
        if block["HiddenServicePort"].endswith("intake.sock")
    ]
    assert len(public) == 2  # the single instance and each Onionbalance backend
    for block in [b for t in TORRCS for b in onion_blocks(t.read_text())]:
        assert block["HiddenServiceVersion"] == "3"
        assert int(block["HiddenServiceMaxStreams"]) > 0
        assert block["HiddenServiceMaxStreamsCloseCircuit"] == "1"
    for block in public:
        assert block["HiddenServicePoWDefensesEnabled"] == "1"
        assert int(block["HiddenServicePoWQueueRate"]) > 0
        assert int(block["HiddenServicePoWQueueBurst"]) >= int(block["HiddenServicePoWQueueRate"])


def test_publish_mode_torrc_has_no_onion_of_its_own() -> None:
    pairs = options((DEPLOY / "tor" / "torrc-publish").read_text())
    assert not [k for k, _v in pairs if k.startswith("HiddenService")]
    assert ("CookieAuthentication", "1") in pairs
    assert ("CookieAuthFileGroupReadable", "1") in pairs


def test_onionbalance_config_lists_the_master_key_and_several_backends() -> None:
    text = (DEPLOY / "tor" / "onionbalance" / "config.yaml").read_text()
    lines = [line.split("#", 1)[0].rstrip() for line in text.splitlines()]
    lines = [line for line in lines if line.strip()]
    assert lines[0] == "services:"
    keys = [line for line in lines if line.strip().startswith("- key:")]
    assert keys == ["  - key: /etc/onionbalance/intake/hs_ed25519_secret_key"]
    addresses = re.findall(r"^\s+- address: (\S+)$", "\n".join(lines), flags=re.M)
    names = re.findall(r"^\s+name: (\S+)$", "\n".join(lines), flags=re.M)
    assert len(addresses) == len(set(addresses)) == len(names) == len(set(names)) >= 2
    assert all(a.endswith(".onion") for a in addresses)
    master = (DEPLOY / "tor" / "onionbalance" / "ob_config.example").read_text().split()
    assert master[0] == "MasterOnionAddress"
    assert master[1].endswith(".onion")
