"""Offline install (issue 16 item 8): ``make desk-bundle`` writes a kit that installs the
desk in a network namespace with no interface but a downed loopback — no network at all.

Slow (a minute: 28 wheels downloaded from the package mirror, then a virtualenv built
with Debian's own python3), so it is marked ``slow``; ``make test`` runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian 12's 3.11, as on the desk laptop (and Tails)


def _offline(*command: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in a new network namespace (as root, or mapped to root)."""
    unshare = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--net", "--map-root-user"]
    return subprocess.run(  # noqa: S603 - fixed arguments
        [*unshare, *command],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
             "ARYZ_DESK_KDF": "minimum", "ARYZ_DESK_PASSPHRASE":
             "orchard lantern walrus pebble violin harbor quilt"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stick") / "desk-bundle"
    subprocess.run(  # noqa: S603 - our Makefile
        ["make", "--no-print-directory", "-C", str(ROOT), "desk-bundle", f"DESK_BUNDLE={out}"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


def test_the_kit_lists_every_file_with_its_checksum(kit: Path) -> None:
    listed = {line.split("  ", 1)[1] for line in (kit / "SHA256SUMS").read_text().splitlines()}
    present = {str(p.relative_to(kit)) for p in kit.rglob("*") if p.is_file()}
    assert listed == present - {"SHA256SUMS"}
    assert {"install.sh", "requirements-desk.lock"} <= listed
    wheels = {p.name.split("-")[0].lower() for p in (kit / "wheels").glob("*.whl")}
    assert {"aryz", "pynacl", "pillow", "pikepdf", "shamir_mnemonic", "fastapi"} <= wheels
    # The desk's dependencies only: nothing that talks to a database server or tor.
    assert not wheels & {"sqlalchemy", "alembic", "psycopg", "psycopg_binary", "stem", "httpx"}


def test_it_installs_and_runs_with_no_network(kit: Path, tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    shutil.copytree(kit, stick)
    target = tmp_path / "aryz-desk"
    probe = _offline("ip", "-o", "link")
    assert probe.returncode == 0, probe.stderr
    assert [line.split(":")[1].strip() for line in probe.stdout.splitlines()] == ["lo"]
    assert "state DOWN" in probe.stdout
    result = _offline("sh", str(stick / "install.sh"), str(target))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Installed." in result.stdout
    aryz = str(target / "bin" / "aryz")
    desk = tmp_path / "desk"
    made = _offline(aryz, "desk", "init", "--dir", str(desk), "--coalition", "kz-coalition",
                    "--name", "Aliya")  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    listed = _offline(aryz, "desk", "list", "--dir", str(desk))
    assert "0 cases" in listed.stdout, listed.stdout + listed.stderr
    server_side = _offline(str(target / "bin" / "python"), "-c", "import sqlalchemy")
    assert server_side.returncode != 0  # the desk install carries no server stack


def test_a_changed_file_stops_the_install(kit: Path, tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    shutil.copytree(kit, stick)
    wheel = next((stick / "wheels").glob("pynacl-*.whl"))
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 1
    wheel.write_bytes(bytes(data))
    result = _offline("sh", str(stick / "install.sh"), str(tmp_path / "aryz-desk"))
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr
    assert not (tmp_path / "aryz-desk").exists()
