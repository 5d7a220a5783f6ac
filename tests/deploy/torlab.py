"""Run Debian's tor safely for the deployment and restore-drill tests.

Following shared/tor-lab.md: every tor gets ``--defaults-torrc`` an empty file (never
``/etc/tor/torrc``), every torrc must say ``DisableNetwork 1`` (``check_offline`` refuses
one that does not, before tor starts), tors run in a loopback-only network namespace
when ``unshare`` allows it, carry ``__OwningControllerProcess`` (they die with the test
process), and are stopped by their PID.

Also here: onion key directories in tor's ``HiddenServiceDir`` layout made with
``onion.keys``, and the v3 address computed offline, so a test can compare what tor writes.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
from pathlib import Path

from onion import keys
from onion.torrc import check_torrc, parse
from tests.conftest import require

TOR = shutil.which("tor")
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
    check_torrc(parse(torrc), allow_public=False)  # and the gate every Aryz tor passes


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
    """The v3 hostname of a public key (``onion.keys``, checked against tor there)."""
    return keys.onion_address(public_key) + ".onion"


def write_onion_keys(directory: Path) -> tuple[bytes, str]:
    """Make ``directory`` a HiddenServiceDir from a fresh key; return (secret file, address)."""
    key = keys.create_key(directory)
    return (directory / keys.SECRET_FILE).read_bytes(), key.hostname
