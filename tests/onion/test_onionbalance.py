"""Onionbalance on the private Tor network: one public address, two ``aryz serve`` backends.

What deploy/README.md section 5 tells an operator to run, run here: each backend is its
own tor (``deploy/tor/onionbalance/backend.torrc``: an instance onion with
``HiddenServiceOnionBalanceInstance``) and its own ``aryz serve`` (``ARYZ_ONION_PUBLISH=false``),
both on one PostgreSQL database; the front is a tor with ``frontend.torrc`` that publishes
nothing itself, driven by ``onionbalance --is-testnet`` with the config
``onion.balance.write_balancer_config`` writes. The network's authorities vote every 20 s,
the interval Onionbalance's testnet mode assumes (the runbook says why).

One story, in order (each step needs the one before):
1. a report filed through the public address lands (both backends up);
2. backend 1 dies (SIGKILL of its app and its tor: the machine is gone): the public
   address takes a report again within ``FAILOVER_SECONDS`` (the runbook's figure);
3. backend 1 restarts (same instance key) and backend 2 stops cleanly (tor first, then
   the app): reports go to backend 1 again, so it rejoined;
4. a report whose review page came from backend 2 (step 2, while backend 1 was down) and
   is sent to backend 1 (step 3, while backend 2 is down) is filed whole: the form state
   opens on every instance of the deployment (ARYZ_STATE_SECRET_FILE, SECURITY.md).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from onion.balance import backend_torrc, write_balancer_config, write_ob_config
from onion.keys import create_key
from onion.torrc import Line, parse
from service.common.crypto.formstate import new_state_secret
from tests.conftest import require
from tests.desk.test_desk_round_trip import registry_with_desk
from tests.onion.conftest import tor_installed
from tests.onion.deployment import OnionDeployment
from tests.onion.network import Node, PrivateTorNetwork
from tests.onion.test_private_network import DESK_ENV, MESSAGE, _database
from tests.support import trust_args
from tests.test_round_trip import PASSPHRASE, aryz

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "deploy" / "tor" / "onionbalance"
# The runbook's figures (deploy/README.md, section 5): the first publication of the
# public descriptor (Onionbalance waits 45 s before its first fetch), and how long after a
# backend dies a client reaches the other one.
FIRST_PUBLICATION_SECONDS = 300.0
FAILOVER_SECONDS = 60.0
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
        result = self.network.run(
            [sys.executable, "-m", "tests.onion.formwalk", step, self.front,
             str(self.user.client.socks_port)],
            {**os.environ, "PYTHONPATH": str(ROOT)},
        ) if not given else self._form_with_input(step, given)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def _form_with_input(self, step: str, given: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.network.prefix, sys.executable, "-m", "tests.onion.formwalk", step,
             self.front, str(self.user.client.socks_port)],
            input=given, env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    def logs(self) -> str:
        tails = [
            f"--- backend {b.number} tor\n{b.node.tor.log_tail(6) if b.node.tor else ''}"
            for b in self.backends
        ]
        balancer = self.workdir / "onionbalance.stderr"
        ob = balancer.read_text()[-3000:] if balancer.exists() else ""
        return "\n".join([*tails, "--- onionbalance", ob])


@pytest.fixture(scope="module")
def balanced(
    tmp_path_factory: pytest.TempPathFactory, pg_template: str | None
) -> Iterator[Balanced]:
    require(tor_installed() and shutil.which("tor-gencert") is not None, "tor (Debian package)")
    onionbalance = Path(sys.executable).parent / "onionbalance"
    require(onionbalance.exists(), "onionbalance (pip, dev extra)")
    require(pg_template is not None, "PostgreSQL")
    workdir = tmp_path_factory.mktemp("onionbalance")
    desk_dir = workdir / "desk"
    aryz("desk", "init", "--dir", str(desk_dir), "--coalition", "kz-coalition", env=DESK_ENV)
    registry = registry_with_desk(workdir / "registry", desk_dir, PASSPHRASE) / "registry.toml"
    network = PrivateTorNetwork.start(voting_interval=20)
    processes = []
    backends: list[Backend] = []
    try:
        for url in _database("postgresql", workdir, Path("/nonexistent"), pg_template):
            master_dir = network.root / "master"
            master = create_key(master_dir).hostname
            # One deployment-wide secret every backend reads (SECURITY.md, "Form state").
            secret = workdir / "state-secret"
            secret.write_bytes(new_state_secret())
            secret.chmod(0o600)
            for number in (1, 2):
                site = workdir / f"backend{number}"
                site.mkdir()
                app = OnionDeployment(network, site, url, registry)
                del app.env["ARYZ_TOR_CONTROL"]
                app.env.update(
                    ARYZ_ONION_PUBLISH="false",
                    ARYZ_ALLOWED_HOSTS=master,
                    ARYZ_STATE_SECRET_FILE=str(secret),
                )
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
                backend.start(network)
                backends.append(backend)
            front_node = network.add_node("front", _template("frontend.torrc"))
            config = workdir / "onionbalance.yaml"
            write_balancer_config(config, master_dir, [b.hostname for b in backends])
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
            yield Balanced(network, master, backends, user, workdir)
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
        for backend in backends:
            backend.app.stop()
        network.stop()


def test_reports_through_the_front_while_backends_die_and_return(balanced: Balanced) -> None:
    b = balanced
    first = b.reach(FIRST_PUBLICATION_SECONDS)
    token = b.submit()
    assert "status: received" in b.status(token)

    # 2. Backend 1's machine dies. The public descriptor still lists its introduction
    # points (its last instance descriptor stays on the HSDirs), so the client's tor
    # fails over to backend 2's.
    b.backends[0].kill()
    with b.user.client.control() as control:
        control.new_circuits()
    failover = b.reach(FAILOVER_SECONDS)
    token_on_2 = b.submit()
    review = b.form("review")  # this review page is backend 2's: the only one up
    assert "token=" in review

    # 3. Backend 1 comes back; backend 2 stops cleanly. Only backend 1 can answer now.
    b.backends[0].start(b.network)
    b.backends[1].stop()
    rejoin = b.reach(FIRST_PUBLICATION_SECONDS)
    token_on_1 = b.submit()
    for each in (token, token_on_2, token_on_1):
        assert "status: received" in b.status(each)  # one database behind both

    # 4. The review page backend 2 sealed is sent to backend 1: filed whole.
    sent = b.form("send", review)
    assert "sent 200" in sent, sent
    filed = re.search(r"token=(\d{24})", review)
    assert filed is not None
    assert "status: received" in b.status(filed.group(1))
    sys.stdout.write(
        f"\nonionbalance: first reach {first:.0f} s, failover {failover:.0f} s, "
        f"rejoin {rejoin:.0f} s\n"
    )
    b.backends[1].start(b.network)
