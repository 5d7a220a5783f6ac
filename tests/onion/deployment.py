"""``aryz serve`` publishing its two onions into the private Tor network, and the
``aryz`` command run as a family's or courier's machine would, over the network's SOCKS
port. Shared by the end-to-end tests and ``tests/benchmarks/bench_tor.py``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from onion.keys import load_key
from service.common.crypto.token import MIN_LIMITS
from tests.conftest import TEST_PEPPER
from tests.onion.network import Node, PrivateTorNetwork

REACH_TIMEOUT = 150.0
_CODE = re.compile(r"0x([0-9a-f]{2})")


class OnionDeployment:
    def __init__(
        self,
        network: PrivateTorNetwork,
        workdir: Path,
        database_url: str,
        registry: Path,
        client: Node | None = None,
    ) -> None:
        self.network = network
        # The tor this site's users go through (its SOCKS port and control socket).
        self.client = client or network.client
        self.workdir = workdir
        # Unix socket paths must stay short: keep them in the network's /tmp root.
        self.sockets = network.root / f"srv-{os.getpid()}-{len(list(network.root.glob('srv-*')))}"
        self.sockets.mkdir(mode=0o700)
        (workdir / "data").mkdir(exist_ok=True)
        (workdir / "tmp").mkdir(exist_ok=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "TMPDIR": str(workdir / "tmp"),
            "ARYZ_MODE": "test",
            "ARYZ_DATA_DIR": str(workdir / "data"),
            "ARYZ_DATABASE_URL": database_url,
            "ARYZ_REGISTRY_PATH": str(registry),
            "ARYZ_TOKEN_PEPPER": TEST_PEPPER,
            "ARYZ_KDF_OPSLIMIT": str(MIN_LIMITS.opslimit),
            "ARYZ_KDF_MEMLIMIT": str(MIN_LIMITS.memlimit),
            "ARYZ_ONION_KEYS_DIR": str(workdir / "onion-keys"),
            "ARYZ_TOR_CONTROL": f"unix:{network.service.tor.control_socket}",  # type: ignore[union-attr]
        }
        self.stdout = workdir / "serve.stdout"
        self.stderr = workdir / "serve.stderr"
        self.process: subprocess.Popen[bytes] | None = None

    # --- the onions -----------------------------------------------------------------------

    @property
    def intake_host(self) -> str:
        return load_key(Path(self.env["ARYZ_ONION_KEYS_DIR"]) / "intake").hostname

    @property
    def staff_host(self) -> str:
        return load_key(Path(self.env["ARYZ_ONION_KEYS_DIR"]) / "staff").hostname

    def start(self, timeout: float = 60.0, *, announce: bool = True) -> OnionDeployment:
        """Start ``aryz serve``; ``announce=False`` when it publishes no onion itself
        (an Onionbalance backend, whose tor publishes from its torrc)."""
        self.process = self.network.popen(
            [
                sys.executable,
                "-m",
                "service",
                "serve",
                "--uds",
                str(self.sockets / "intake.sock"),
                "--courier-uds",
                str(self.sockets / "courier.sock"),
            ],
            self.env,
            self.stdout,
            self.stderr,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("aryz serve exited: " + self.stderr.read_text()[-2000:])
            announced = not announce or "intake onion:" in self.printed()
            if (self.sockets / "courier.sock").exists() and announced:
                return self
            time.sleep(0.05)  # polling for the sockets; bounded by the deadline
        raise RuntimeError("aryz serve did not start: " + self.stderr.read_text()[-2000:])

    def printed(self) -> str:
        return self.stdout.read_text() if self.stdout.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for sock in ("intake.sock", "courier.sock"):
            (self.sockets / sock).unlink(missing_ok=True)

    # --- clients --------------------------------------------------------------------------

    @property
    def socks_url(self) -> str:
        return f"socks5h://127.0.0.1:{self.client.socks_port}"

    def aryz(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The ``aryz`` command on a machine inside the network (through its tor)."""
        return self.network.run(
            [sys.executable, "-m", "service", *args], {**os.environ, **self.env, **(env or {})}
        )

    def socks_code(self, host: str) -> int:
        result = self.network.run(
            [sys.executable, "-m", "tests.onion.probe", host, str(self.client.socks_port)],
            {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            timeout=90,
        )
        match = _CODE.search(result.stdout)
        return int(match.group(1), 16) if match else 0xFE

    def wait_reachable(self, host: str, want: int = 0x00, timeout: float = REACH_TIMEOUT) -> int:
        """Retry until tor's answer for ``host`` is ``want``; return the last code.

        The first fetch after publication may find no descriptor yet (0xF0): tor uploads
        to several HSDirs one after another. NEWNYM between tries makes the client fetch
        afresh (shared/tor-lab.md).
        """
        deadline = time.monotonic() + timeout
        code = self.socks_code(host)
        while code != want and time.monotonic() < deadline:
            with self.client.control() as control:
                control.new_circuits()
            time.sleep(1.0)  # tor rate-limits NEWNYM; bounded by the deadline
            code = self.socks_code(host)
        return code
