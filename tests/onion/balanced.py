"""Onionbalance in front of ``aryz serve`` backends, on the private Tor network: the
harness of ``tests/onion/test_onionbalance.py`` and of the surge step of ``make prove``.

What deploy/README.md section 5 tells an operator to run: each backend is its own tor
(``deploy/tor/onionbalance/backend.torrc``: an instance onion with
``HiddenServiceOnionBalanceInstance``) and its own ``aryz serve`` (``ARYZ_ONION_PUBLISH=false``),
all on one PostgreSQL database and one state secret; the front is a tor with
``frontend.torrc`` that publishes nothing itself, driven by ``onionbalance --is-testnet``
with the config ``onion.balance.write_balancer_config`` writes. The network's
authorities vote every 20 s, the interval Onionbalance's testnet mode assumes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from onion.balance import backend_torrc, write_balancer_config, write_ob_config
from onion.keys import create_key
from onion.torrc import Line, parse
from service.common.crypto.formstate import new_state_secret
from tests.desk.test_desk_round_trip import registry_with_desk
from tests.onion.deployment import OnionDeployment
from tests.onion.network import Node, PrivateTorNetwork
from tests.onion.test_private_network import DESK_ENV, MESSAGE, _database
from tests.support import trust_args
from tests.test_round_trip import PASSPHRASE, aryz

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "deploy" / "tor" / "onionbalance"
# Lines the harness's launch_tor writes itself (its own control socket and cookie).
_LAUNCH_OWNS = ("ControlSocket", "Cookie", "SafeLogging")


def _template(name: str) -> list[Line]:
    lines = parse((TEMPLATES / name).read_text())
    return [(k, v) for k, v in lines if not k.startswith(_LAUNCH_OWNS)]


@dataclass
class Backend:
    number: int
    app: OnionDeployment
    node: Node
    torrc: list[Line]
    hostname: str

    def start(self, network: PrivateTorNetwork) -> None:
        self.app.start(announce=False)
        network.launch(self.node, self.torrc)

    def kill(self) -> None:
        """The machine is gone: SIGKILL its app and its tor."""
        assert self.app.process is not None
        assert self.node.tor is not None
        self.app.process.kill()
        self.node.tor.process.kill()
        self.app.process.wait()
        self.node.tor.stop()
        for sock in ("intake.sock", "courier.sock"):
            (self.app.sockets / sock).unlink(missing_ok=True)

    def stop(self) -> None:
        """A clean stop as the runbook says: tor first (no new introductions), then the app."""
        assert self.node.tor is not None
        self.node.tor.stop()
        self.app.stop()


@dataclass
class Balanced:
    network: PrivateTorNetwork
    front: str
    backends: list[Backend]
    user: OnionDeployment  # the `aryz` command through the network's client tor
    workdir: Path

    def submit(self) -> str:
        """File a report with the ``aryz`` command through the public address."""
        message = self.workdir / "message.txt"
        message.write_text(MESSAGE, encoding="utf-8")
        submitted = self.user.aryz(
            "submit",
            "--server",
            f"http://{self.front}",
            "--country",
            "KZ",
            "--message-file",
            str(message),
            "--proxy",
            self.user.socks_url,
            *trust_args(self.user.env["ARYZ_REGISTRY_PATH"]),
        )
        assert submitted.returncode == 0, submitted.stderr[-3000:] + self.logs()
        tokens = re.findall(r"^\d{24}$", submitted.stdout, re.MULTILINE)
        assert tokens, submitted.stdout + submitted.stderr
        return str(tokens[-1])

    def status(self, token: str) -> str:
        result = self.user.aryz(
            "status", "--server", f"http://{self.front}", "--token", token,
            "--proxy", self.user.socks_url,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def reach(self, timeout: float) -> float:
        """Seconds until the public address answers (tor connects to a live backend)."""
        started = time.monotonic()
        code = self.user.wait_reachable(self.front, timeout=timeout)
        assert code == 0x00, f"tor answered {code:#04x}\n" + self.logs()
        return time.monotonic() - started

    def form(self, step: str, given: str = "") -> str:
        """One step of the no-JavaScript form through the public address
        (``tests/onion/formwalk.py``); ``given``: what the step before printed."""
        argv = [*self.network.prefix, sys.executable, "-m", "tests.onion.formwalk", step,
                self.front, str(self.user.client.socks_port)]  # fmt: skip
        result = subprocess.run(
            argv,
            input=given,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def logs(self) -> str:
        tails = [
            f"--- backend {b.number} tor\n{b.node.tor.log_tail(6) if b.node.tor else ''}"
            for b in self.backends
        ]
        # The front's and the user's tors fetch the instances' and the front's descriptors:
        # when Onionbalance calls every instance offline, their logs say why.
        for node in self.network.nodes:
            if node.nick == "front" and node.tor is not None:
                tails.append(f"--- front tor\n{node.tor.log_tail(8)}")
        if self.user.client.tor is not None:
            tails.append(f"--- user tor\n{self.user.client.tor.log_tail(6)}")
        balancer = self.workdir / "onionbalance.stderr"
        ob = balancer.read_text()[-3000:] if balancer.exists() else ""
        return "\n".join([*tails, "--- onionbalance", ob])


ONIONBALANCE = Path(sys.executable).parent / "onionbalance"


def available() -> str:
    """What is missing to run Onionbalance here ("" when nothing is)."""
    if shutil.which("tor") is None or shutil.which("tor-gencert") is None:
        return "tor (Debian package)"
    if not ONIONBALANCE.exists():
        return "onionbalance (pip, dev extra)"
    return ""


@contextmanager
def balanced_deployment(
    workdir: Path,
    pg_template: str,
    *,
    backends: int = 2,
    started: int | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Balanced]:
    """A private network, ``backends`` backends (the first ``started`` of them running,
    ``env`` on top of their settings), the front and Onionbalance; all stopped on exit."""
    onionbalance = ONIONBALANCE
    desk_dir = workdir / "desk"
    aryz("desk", "init", "--dir", str(desk_dir), "--coalition", "kz-coalition", env=DESK_ENV)
    registry = registry_with_desk(workdir / "registry", desk_dir, PASSPHRASE) / "registry.toml"
    network = PrivateTorNetwork.start(voting_interval=20)
    processes = []
    running: list[Backend] = []
    try:
        for url in _database("postgresql", workdir, Path("/nonexistent"), pg_template):
            master_dir = network.root / "master"
            master = create_key(master_dir).hostname
            # One deployment-wide secret every backend reads (SECURITY.md, "Form state").
            secret = workdir / "state-secret"
            secret.write_bytes(new_state_secret())
            secret.chmod(0o600)
            for number in range(1, backends + 1):
                site = workdir / f"backend{number}"
                site.mkdir()
                app = OnionDeployment(network, site, url, registry)
                del app.env["ARYZ_TOR_CONTROL"]
                app.env.update(
                    ARYZ_ONION_PUBLISH="false",
                    ARYZ_ALLOWED_HOSTS=master,
                    ARYZ_STATE_SECRET_FILE=str(secret),
                )
                app.env.update(env or {})
                instance_dir = network.root / f"inst{number}"
                instance = create_key(instance_dir).hostname
                write_ob_config(instance_dir, master)
                torrc = backend_torrc(
                    _template("backend.torrc"), instance_dir, app.sockets / "intake.sock"
                )
                node = Node(f"back{number}", "extra", network.root / f"back{number}")
                node.directory.mkdir(mode=0o700)
                network.nodes.append(node)
                backend = Backend(number, app, node, torrc, instance)
                if started is None or number <= started:
                    backend.start(network)
                running.append(backend)
            front_node = network.add_node("front", _template("frontend.torrc"))
            config = workdir / "onionbalance.yaml"
            write_balancer_config(config, master_dir, [b.hostname for b in running])
            assert front_node.tor is not None
            processes.append(
                network.popen(
                    [
                        str(onionbalance),
                        "--hs-version",
                        "v3",
                        "--is-testnet",
                        "-v",
                        "info",
                        "-s",
                        str(front_node.tor.control_socket),
                        "-c",
                        str(config),
                    ],
                    {**os.environ, "PYTHONUNBUFFERED": "1"},
                    workdir / "onionbalance.stdout",
                    workdir / "onionbalance.stderr",
                )  # fmt: skip
            )
            user_dir = workdir / "user"
            user_dir.mkdir()
            user = OnionDeployment(network, user_dir, url, registry)
            yield Balanced(network, master, running, user, workdir)
    finally:
        for process in processes:
            # Onionbalance's SIGTERM handler may wait on a tor that is gone: it keeps no
            # state, so SIGKILL after a moment.
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for backend in running:
            backend.app.stop()
        network.stop()
