"""A real ``aryz serve`` process for tests that must see what the server writes and prints,
or kill it mid-request. Bound to 127.0.0.1 on free ports — the intake listener and, in
the same process, the courier listener (``courier_port``); stopped by its PID."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from service.common.crypto.token import MIN_LIMITS
from tests.conftest import TEST_PEPPER


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    def __init__(
        self,
        workdir: Path,
        database_url: str,
        registry: Path,
        *,
        env: dict[str, str] | None = None,
        nofile: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.nofile = nofile
        self.port = free_port()
        self.courier_port = free_port()
        self.data_dir = workdir / "data"
        self.tmp_dir = workdir / "tmp"
        self.stdout = workdir / "server.stdout"
        self.stderr = workdir / "server.stderr"
        self.data_dir.mkdir(exist_ok=True)
        self.tmp_dir.mkdir(exist_ok=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "TMPDIR": str(self.tmp_dir),
            "ARYZ_MODE": "test",
            "ARYZ_DATA_DIR": str(self.data_dir),
            "ARYZ_DATABASE_URL": database_url,
            "ARYZ_REGISTRY_PATH": str(registry),
            "ARYZ_TOKEN_PEPPER": TEST_PEPPER,
            "ARYZ_KDF_OPSLIMIT": str(MIN_LIMITS.opslimit),
            "ARYZ_KDF_MEMLIMIT": str(MIN_LIMITS.memlimit),
            "ARYZ_ALLOWED_HOSTS": f"127.0.0.1:{self.port}",
            "ARYZ_COURIER_ALLOWED_HOSTS": f"127.0.0.1:{self.courier_port}",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def courier_url(self) -> str:
        return f"http://127.0.0.1:{self.courier_port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        with self.stdout.open("ab") as out, self.stderr.open("ab") as err:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "service",
                    "serve",
                    "--port",
                    str(self.port),
                    "--courier-port",
                    str(self.courier_port),
                ],
                env=self.env,
                stdout=out,
                stderr=err,
                cwd=self.workdir,
                preexec_fn=self._limit if self.nofile is not None else None,  # noqa: PLW1509
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited: " + self.stderr.read_text()[-2000:])
            try:
                for port in (self.port, self.courier_port):
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        pass
                return self
            except OSError:
                time.sleep(0.05)  # polling for the ports; bounded by the deadline
        raise RuntimeError("server did not start")

    def _limit(self) -> None:
        # In the child before exec: the server gets exactly this descriptor limit.
        assert self.nofile is not None  # noqa: S101
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    @property
    def pid(self) -> int:
        assert self.process is not None  # noqa: S101
        return self.process.pid

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
