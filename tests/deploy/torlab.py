"""Run Debian's tor safely for the deployment and restore-drill tests.

Following shared/tor-lab.md: every tor gets ``--defaults-torrc`` an empty file (never
``/etc/tor/torrc``), every torrc must say ``DisableNetwork 1`` (``check_offline`` refuses
one that does not, before tor starts), tors run in a loopback-only network namespace
when ``unshare`` allows it, carry ``__OwningControllerProcess`` (they die with the test
process), and are stopped by their PID.

Also here: onion key directories in tor's ``HiddenServiceDir`` layout made from a fresh
Ed25519 key, and the v3 address computed offline, so a test can compare what tor writes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from service.crypto.keys import generate_signing_keypair
from tests.conftest import require

TOR = shutil.which("tor")
# Tor's tagged-file headers (29 characters, NUL-padded to 32). Note "v1": tor names the
# key file format, not the onion version (a header saying "ed25519v3" is refused, and tor
# silently makes a new key in its place).
SECRET_HEADER = b"== ed25519v1-secret: type0 ==\x00\x00\x00"
PUBLIC_HEADER = b"== ed25519v1-public: type0 ==\x00\x00\x00"
# Running the tests as root (CI, these machines) makes tor warn once; it is about the
# test process, not about any shipped option, so it is the one warning we tolerate.
ROOT_WARNING = "You are running Tor as root"


def require_tor() -> str:
    require(TOR is not None, "tor (Debian package 'tor')")
    assert TOR is not None
    return TOR


def check_offline(torrc: str) -> None:
    """The hard rule: no tor started by a test may reach the public network."""
    lines = [line.split("#", 1)[0].split() for line in torrc.splitlines()]
    if ["DisableNetwork", "1"] not in lines:
        raise AssertionError("refusing to run a torrc without 'DisableNetwork 1'")


@functools.cache
def _netns_prefix() -> tuple[str, ...]:
    prefix = ("unshare", "--net", "--", "sh", "-c", 'ip link set lo up; exec "$@"', "sh")
    try:
        ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return prefix if ok.returncode == 0 else ()


def verify_config(torrc: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """``tor --verify-config`` on ``torrc`` with an empty defaults file."""
    check_offline(torrc)
    tor = require_tor()
    empty = workdir / "empty-defaults"
    empty.write_text("")
    path = workdir / "rendered.torrc"
    path.write_text(torrc)
    return subprocess.run(
        [*_netns_prefix(), tor, "--defaults-torrc", str(empty), "-f", str(path), "--verify-config"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if "[warn]" in line and ROOT_WARNING not in line]


def tor_hostname(hs_dir: Path, workdir: Path, timeout: float = 60.0) -> str:
    """Start tor (offline) with ``hs_dir`` as HiddenServiceDir; return the hostname it writes.

    The ``hostname`` file is removed first, so what is returned is what tor derived from
    the key files it found.
    """
    tor = require_tor()
    (hs_dir / "hostname").unlink(missing_ok=True)
    data = workdir / "tor-data"
    data.mkdir(mode=0o700)
    torrc = "\n".join(
        [
            "DisableNetwork 1",
            "SocksPort 0",
            "SafeLogging 1",
            "Log notice stdout",
            f"DataDirectory {data}",
            f"__OwningControllerProcess {os.getpid()}",
            f"HiddenServiceDir {hs_dir}",
            "HiddenServicePort 80 unix:" + str(workdir / "unused.sock"),
        ]
    )
    check_offline(torrc)
    empty = workdir / "empty-defaults"
    empty.write_text("")
    path = workdir / "hostname.torrc"
    path.write_text(torrc + "\n")
    log = (workdir / "tor.log").open("wb")
    process = subprocess.Popen(
        [*_netns_prefix(), tor, "--defaults-torrc", str(empty), "-f", str(path)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hostname = hs_dir / "hostname"
            if hostname.is_file() and hostname.read_text().endswith("\n"):
                return hostname.read_text().strip()
            if process.poll() is not None:
                break
            time.sleep(0.05)  # polling for tor's file; bounded by the deadline
        raise AssertionError("tor wrote no hostname: " + (workdir / "tor.log").read_text()[-2000:])
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def onion_address(public_key: bytes) -> str:
    """The v3 address: base32(pubkey | SHA3-256(".onion checksum" | pubkey | 3)[:2] | 3)."""
    version = b"\x03"
    checksum = hashlib.sha3_256(b".onion checksum" + public_key + version).digest()[:2]
    return base64.b32encode(public_key + checksum + version).decode().lower() + ".onion"


def write_onion_keys(directory: Path) -> tuple[bytes, str]:
    """Make ``directory`` a HiddenServiceDir from a fresh key; return (secret file, address).

    Tor keeps the *expanded* Ed25519 key: SHA-512 of the seed, first half clamped.
    """
    pair = generate_signing_keypair()
    expanded = bytearray(hashlib.sha512(pair.seed).digest())
    expanded[0] &= 248
    expanded[31] &= 127
    expanded[31] |= 64
    directory.mkdir(mode=0o700, parents=True)
    secret = SECRET_HEADER + bytes(expanded)
    address = onion_address(pair.verify)
    for name, content in (
        ("hs_ed25519_secret_key", secret),
        ("hs_ed25519_public_key", PUBLIC_HEADER + pair.verify),
        ("hostname", (address + "\n").encode()),
    ):
        fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
    return secret, address
