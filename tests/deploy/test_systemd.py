"""The systemd units in deploy/systemd: each hardening directive is there (parsed), the
files pass ``systemd-analyze verify`` where it exists, and the server really runs the way
the unit starts it — on unix sockets, under memory-deny-write-execute — sending the
security headers and taking a report with a file."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.deploy.units import DEPLOY, SYSTEMD, last, values
from tests.server import ServerProcess
from tests.support import add_files, file_report

APP_UNITS = [SYSTEMD / "aryz.service", SYSTEMD / "aryz@.service"]
ALL_UNITS = sorted(p for p in SYSTEMD.iterdir() if p.suffix in (".service", ".timer"))
HARDENING = {
    "User": "aryz",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
    "CapabilityBoundingSet": "",
    "UMask": "0077",
    "LimitCORE": "0",
    "RestrictAddressFamilies": "AF_UNIX",
    "PrivateNetwork": "yes",
}


@pytest.mark.parametrize("path", APP_UNITS, ids=lambda p: p.name)
def test_app_units_carry_every_hardening_directive(path: Path) -> None:
    for key, expected in HARDENING.items():
        assert last(path, key) == expected, key
    assert last(path, "RuntimeDirectoryMode") == "0750"
    assert last(path, "RuntimeDirectory") in ("aryz", "aryz/%i")
    assert values(path, "EnvironmentFile")[0] == "/etc/aryz/aryz.env"
    assert "@system-service" in values(path, "SystemCallFilter")
    assert last(path, "TemporaryFileSystem") == "/tmp:mode=1777 /var/tmp:mode=1777"
    # Writable: the data directory and the socket directory, nothing else.
    writable = (last(path, "ReadWritePaths") or "").split()
    assert writable[0] == "/var/lib/aryz"
    assert writable[1].startswith("/run/aryz")
    # Instances behind Onionbalance also step the shared state secret forward daily.
    assert writable[2:] == (["/var/lib/aryz-state"] if path.name == "aryz@.service" else [])
    assert "/var/lib/aryz-onion" not in " ".join(writable)


@pytest.mark.parametrize("path", APP_UNITS, ids=lambda p: p.name)
def test_app_units_leave_room_for_the_connection_bound(path: Path) -> None:
    # Attack F2: with systemd's default 1024, idle connections exhausted the descriptors.
    from service.server.cli.serve import BACKLOG, FD_RESERVE
    from service.server.settings import Settings

    limit = int(last(path, "LimitNOFILE") or 0)
    assert limit >= Settings().max_connections + FD_RESERVE + 2 * BACKLOG


@pytest.mark.parametrize(
    "path", [p for p in ALL_UNITS if p.suffix == ".service"], ids=lambda p: p.name
)
def test_every_service_is_unprivileged_without_core_dumps(path: Path) -> None:
    assert last(path, "User") == "aryz"
    assert last(path, "NoNewPrivileges") == "yes"
    assert last(path, "LimitCORE") == "0"
    assert last(path, "CapabilityBoundingSet") == ""


def test_tor_drop_in_disables_core_dumps() -> None:
    drop_in = SYSTEMD / "tor@default.service.d" / "aryz.conf"
    assert last(drop_in, "LimitCORE") == "0"
    assert last(drop_in, "ReadWritePaths") == "-/var/lib/aryz-onion"


def test_timers_start_their_services() -> None:
    for timer in ("aryz-backup.timer", "aryz-vacuum.timer"):
        assert last(SYSTEMD / timer, "Persistent", "Timer") == "true"
        assert (SYSTEMD / timer.replace(".timer", ".service")).is_file()
    script = DEPLOY / "backup" / "aryz-backup"
    backup = last(SYSTEMD / "aryz-backup.service", "ExecStart")
    assert backup == "/opt/aryz/deploy/backup/aryz-backup"
    assert os.access(script, os.X_OK)


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    # systemd is not one of Aryz's required components (CI need not have it), so a
    # missing systemd-analyze skips here even under CI=true.
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed; the parsed checks above still ran")
    # verify insists that ExecStart programs exist: point them at a stand-in.
    stand_in = tmp_path / "aryz"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    units = []
    for path in ALL_UNITS:
        text = path.read_text()
        for program in ("/opt/aryz/venv/bin/aryz", "/opt/aryz/deploy/backup/aryz-backup",
                        "/opt/aryz/deploy/postgresql/aryz-vacuum"):  # fmt: skip
            text = text.replace(program, str(stand_in))
        (tmp_path / path.name).write_text(text)
        units.append(str(tmp_path / path.name))
    result = subprocess.run(
        [analyze, "verify", "--man=no", *units],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == "", result.stderr


# --- the server as the unit runs it ------------------------------------------------

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
# Run the rest of argv with the kernel refusing writable+executable memory, as systemd's
# MemoryDenyWriteExecute does; the flag survives execve.
MDWE_LAUNCHER = (
    "import ctypes, os, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    f"if libc.prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) != 0:\n"
    "    sys.exit(77)\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n"
)


def _mdwe_supported() -> bool:
    """True when the launcher really makes writable+executable memory fail."""
    probe = "import mmap; mmap.mmap(-1, 4096, prot=7)"  # PROT_READ|PROT_WRITE|PROT_EXEC
    result = subprocess.run(
        [sys.executable, "-c", MDWE_LAUNCHER, sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 1 and "PermissionError" in result.stderr


def _unit_serve_args(socket_dir: Path) -> list[str]:
    exec_start = last(SYSTEMD / "aryz.service", "ExecStart")
    assert exec_start is not None
    program, *args = exec_start.replace("/run/aryz", str(socket_dir)).split()
    assert program == "/opt/aryz/venv/bin/aryz"
    return args


@pytest.mark.slow
def test_server_as_the_unit_runs_it(
    tmp_path: Path, database_url: str, registry_dir: Path
) -> None:
    if not _mdwe_supported():
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3); the unit still sets it")
    socket_dir = tmp_path / "run"
    socket_dir.mkdir(mode=0o750)
    env = ServerProcess(tmp_path, database_url, registry_dir / "registry.toml").env
    env |= {"ARYZ_ALLOWED_HOSTS": "intake.test", "ARYZ_COURIER_ALLOWED_HOSTS": "staff.test"}
    command = [sys.executable, "-c", MDWE_LAUNCHER, sys.executable, "-m", "service"]
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [*command, *_unit_serve_args(socket_dir)], env=env, stdout=log, stderr=log, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 30
        sockets = [socket_dir / "intake.sock", socket_dir / "courier.sock"]
        while not all(s.exists() for s in sockets):
            assert process.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the server made no sockets"
            time.sleep(0.05)  # polling for the sockets; bounded by the deadline
        intake = httpx.HTTPTransport(uds=str(sockets[0]))
        with httpx.Client(transport=intake, base_url="http://intake.test", timeout=60) as web:
            home = web.get("/en/")
            token = file_report(web, narrative="under MemoryDenyWriteExecute")
            files = add_files(web, token, [("photo.jpg", os.urandom(200_000))])
        assert files.status_code == 200
        courier = httpx.HTTPTransport(uds=str(sockets[1]))
        with httpx.Client(transport=courier, base_url="http://staff.test", timeout=60) as staff:
            refused = staff.get("/api/v1/courier/bundle")
        for response in (home, files, refused):
            headers = response.headers
            assert "default-src 'none'" in headers["content-security-policy"]
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["cache-control"] == "no-store"
            assert headers["x-content-type-options"] == "nosniff"
            for absent in ("server", "date", "etag", "set-cookie"):
                assert absent not in headers
        assert home.status_code == 200
        assert refused.status_code >= 400
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
