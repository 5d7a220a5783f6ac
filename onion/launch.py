"""Start a tor process for Aryz, after ``check_torrc`` has passed its configuration.

tor always runs as ``tor --defaults-torrc <empty> -f <our torrc>``: a bare ``tor`` would
also read ``/etc/tor/torrc``, which we have not checked. The process gets a control
socket (cookie authentication) in a private directory, ``__OwningControllerProcess`` so it
exits with its owner, and ``SafeLogging 1`` so its log never holds an address.
``prefix`` runs it through another command (the tests use ``nsenter`` to keep tor inside a
loopback-only network namespace).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onion.errors import TorLaunchError
from onion.keys import ensure_private_dir
from onion.torrc import Line, check_torrc, render

CONTROL_SOCKET = "control"
LOG_FILE = "notice.log"
MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; leave room


@dataclass
class TorProcess:
    """A tor we started: stop it by its PID, nothing else."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    control_socket: Path
    log_path: Path
    torrc_path: Path
    extra: dict[str, str] = field(default_factory=dict)
    # The owning control connection (TAKEOWNERSHIP): tor exits when it closes, so tor
    # never outlives the process that started it, whatever other connections come and go.
    owner: Any = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.owner is not None:
            self.owner.close()
            self.owner = None
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def launch_tor(
    config: Sequence[Line],
    data_dir: Path,
    *,
    allow_public: bool,
    control_dir: Path | None = None,
    prefix: Sequence[str] = (),
    owner_pid: int | None = None,
    tor_binary: str = "tor",
    timeout: float = 30.0,
) -> TorProcess:
    """Start tor with ``config`` plus the lines Aryz always adds; wait for its control socket.

    ``control_dir`` holds the control socket (default: ``data_dir``); keep its path short,
    a unix socket path has a small length limit.
    """
    ensure_private_dir(data_dir)
    control_dir = control_dir or data_dir
    ensure_private_dir(control_dir)
    control_socket = control_dir / CONTROL_SOCKET
    if len(str(control_socket)) > MAX_SOCKET_PATH:
        raise TorLaunchError("The tor control socket path is too long; use a shorter directory.")
    log_path = data_dir / LOG_FILE
    lines: list[Line] = [
        *config,
        ("DataDirectory", str(data_dir)),
        ("ControlSocket", str(control_socket)),
        ("CookieAuthentication", "1"),
        ("SafeLogging", "1"),
        ("Log", f"notice file {log_path}"),
        ("PidFile", str(data_dir / "pid")),
        ("__OwningControllerProcess", str(owner_pid or os.getpid())),
    ]
    check_torrc(lines, allow_public=allow_public)
    torrc_path = data_dir / "torrc"
    torrc_path.write_text(render(lines))
    torrc_path.chmod(0o600)
    defaults = data_dir / "torrc-defaults-empty"
    defaults.write_text("")
    if control_socket.exists():
        control_socket.unlink()  # left by a tor that was killed
    argv = [*prefix, tor_binary, "--defaults-torrc", str(defaults), "-f", str(torrc_path)]
    # Early start-up messages (before the Log line applies) go to a file, never to a pipe
    # nobody drains.
    with (data_dir / "stderr.log").open("wb") as stderr:
        try:
            process = subprocess.Popen(  # noqa: S603 - fixed argv of our own, no shell
                argv, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr
            )
        except OSError:
            raise TorLaunchError("tor could not be started: is it installed?") from None
    tor = TorProcess(process, data_dir, control_socket, log_path, torrc_path)
    _wait_for_control(tor, timeout)
    if (owner_pid or os.getpid()) == os.getpid():
        _take_ownership(tor)
    return tor


def _take_ownership(tor: TorProcess) -> None:
    # stem sends TAKEOWNERSHIP on the first authenticated connection of the owning
    # process (and then stops tor watching our PID). Make that connection ours to keep,
    # not whichever connection happens to come first and later closes.
    from onion.control import ControlEndpoint, connect
    from onion.errors import TorControlError

    deadline = time.monotonic() + 10
    while True:
        try:
            tor.owner = connect(ControlEndpoint(socket_path=tor.control_socket))
            return
        except TorControlError:
            if time.monotonic() > deadline or not tor.running():
                tor.stop()
                raise TorLaunchError("tor's control socket did not accept us.") from None
            time.sleep(0.05)  # the socket file exists a moment before tor accepts on it


def _wait_for_control(tor: TorProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tor.process.poll() is not None:
            early = (tor.data_dir / "stderr.log").read_text(errors="replace")[-2000:]
            raise TorLaunchError(
                "tor exited while starting; its log says:\n" + (tor.log_tail() or early)
            )
        if tor.control_socket.exists():
            return
        time.sleep(0.02)  # bounded by the deadline: tor opens its socket in ~0.1 s
    tor.stop()
    raise TorLaunchError("tor did not open its control socket in time.")
