"""A private Tor network on loopback, chutney-style, for end-to-end tests over real Tor.

Three directory authorities, four relays, two clients (each with a SOCKS port: one per
test site, so no client state carries from one site's tests to the next) and one tor for
the onion services — ten tors, all started through ``onion.launch`` and so through
``check_torrc``: every torrc is ``TestingTorNetwork 1`` with loopback-only
``DirAuthority`` lines, ``UseDefaultFallbackDirs 0``, no fallbacks or bridges, and every
listener on 127.0.0.1. Where the machine allows it (root, ``unshare``), the whole network
lives in a loopback-only network namespace of its own, so even a mistake could not reach
another host; processes join it through ``nsenter``. pytest talks to the tors only over
their unix control sockets, which work across namespaces.

Timings measured here (shared/tor-lab.md): ~5 s of keys, 10-30 s to the first onion fetch.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from onion.control import ControlEndpoint, TorControl, connect
from onion.launch import TorProcess, launch_tor
from onion.torrc import Line
from tests.server import free_port

AUTHORITIES = 3
RELAYS = 4
CLIENTS = 2
BOOTSTRAP_TIMEOUT = 180.0


@dataclass
class Namespace:
    """A loopback-only network namespace held open by a sleeping ``unshare`` process."""

    holder: subprocess.Popen[bytes] | None
    prefix: list[str]
    reason: str = ""

    @classmethod
    def create(cls) -> Namespace:
        if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("nsenter")):
            return cls(None, [], "not root or no unshare/nsenter: tors run on host loopback")
        holder = subprocess.Popen(
            ["unshare", "--net", "--fork", "--kill-child", "sleep", "infinity"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        prefix = ["nsenter", f"--net=/proc/{holder.pid}/ns/net", "--"]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            # unshare moves itself into the new namespace before it forks the sleeper.
            if _netns(holder.pid) not in (None, _netns(os.getpid())):
                up = subprocess.run([*prefix, "ip", "link", "set", "lo", "up"], check=False)
                if up.returncode == 0:
                    return cls(holder, prefix)
                break
            time.sleep(0.01)
        holder.kill()
        holder.wait()
        return cls(None, [], "could not create a network namespace: tors run on host loopback")

    def close(self) -> None:
        if self.holder is not None and self.holder.poll() is None:
            self.holder.kill()
            self.holder.wait()


def _netns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


@dataclass
class Node:
    nick: str
    kind: str  # authority, relay, client, service
    directory: Path
    or_port: int = 0
    dir_port: int = 0
    socks_port: int = 0
    fingerprint: str = ""
    v3ident: str = ""
    tor: TorProcess | None = None

    def control(self) -> TorControl:
        assert self.tor is not None
        return connect(ControlEndpoint(socket_path=self.tor.control_socket))


@dataclass
class PrivateTorNetwork:
    root: Path
    namespace: Namespace
    nodes: list[Node] = field(default_factory=list)
    # The authorities' V3AuthVotingInterval. Onionbalance's --is-testnet mode computes time
    # periods and shared-random runs for chutney's 20 s (deploy/README.md, section 5).
    voting_interval: int = 10

    # --- the nodes the tests use ----------------------------------------------------------

    @property
    def clients(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "client"]

    @property
    def client(self) -> Node:
        return self.clients[0]

    @property
    def service(self) -> Node:
        return next(n for n in self.nodes if n.kind == "service")

    @property
    def socks_url(self) -> str:
        return f"socks5h://127.0.0.1:{self.client.socks_port}"

    @property
    def prefix(self) -> list[str]:
        """Run a command inside the network (empty when on host loopback)."""
        return list(self.namespace.prefix)

    # --- life cycle -----------------------------------------------------------------------

    @classmethod
    def start(cls, voting_interval: int = 10) -> PrivateTorNetwork:
        root = Path(tempfile.mkdtemp(prefix="aryz-net-", dir="/tmp"))
        network = cls(root, Namespace.create(), voting_interval=voting_interval)
        try:
            network._make_nodes()
            network._launch()
            network.wait_bootstrapped()
        except BaseException:
            network.stop()
            raise
        return network

    def stop(self) -> None:
        for node in reversed(self.nodes):
            if node.tor is not None:
                node.tor.stop()
        self.namespace.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def _make_nodes(self) -> None:
        kinds = (
            ["authority"] * AUTHORITIES + ["relay"] * RELAYS + ["client"] * CLIENTS + ["service"]
        )
        counters: dict[str, int] = {}
        for kind in kinds:
            number = counters.get(kind, 0)
            counters[kind] = number + 1
            nick = f"{kind[:4]}{number}"
            node = Node(nick, kind, self.root / nick)
            node.directory.mkdir(mode=0o700)
            if kind in ("authority", "relay"):
                node.or_port, node.dir_port = free_port(), free_port()
            if kind == "client":
                node.socks_port = free_port()
            self.nodes.append(node)
        (self.root / "resolv.conf").write_text("nameserver 127.0.0.1\n")
        (self.root / "empty").write_text("")
        for node in self.nodes:
            if node.kind == "authority":
                self._authority_keys(node)
            if node.kind in ("authority", "relay"):
                node.fingerprint = self._fingerprint(node)

    def _authority_keys(self, node: Node) -> None:
        keys = node.directory / "data" / "keys"
        keys.mkdir(parents=True, mode=0o700)
        subprocess.run(
            [
                "tor-gencert",
                "--create-identity-key",
                "-m",
                "12",
                "-a",
                f"127.0.0.1:{node.dir_port}",
                "-i",
                str(keys / "authority_identity_key"),
                "-s",
                str(keys / "authority_signing_key"),
                "-c",
                str(keys / "authority_certificate"),
                "--passphrase-fd",
                "0",
            ],
            input=b"\n",
            check=True,
            capture_output=True,
            timeout=60,
        )
        certificate = (keys / "authority_certificate").read_text()
        match = re.search(r"^fingerprint ([0-9A-F]{40})$", certificate, re.MULTILINE)
        assert match, "tor-gencert wrote no fingerprint"
        node.v3ident = match.group(1)

    def _fingerprint(self, node: Node) -> str:
        # A throw-away DisableNetwork torrc: tor makes the relay keys and prints the id.
        torrc = node.directory / "fingerprint-torrc"
        torrc.write_text(
            f"DisableNetwork 1\nDataDirectory {node.directory / 'data'}\nNickname {node.nick}\n"
            f"ORPort 127.0.0.1:{node.or_port}\nAddress 127.0.0.1\nSocksPort 0\n"
        )
        (node.directory / "data").mkdir(mode=0o700, exist_ok=True)
        result = subprocess.run(
            [
                "tor",
                "--defaults-torrc",
                str(self.root / "empty"),
                "-f",
                str(torrc),
                "--list-fingerprint",
                "--quiet",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        match = re.search(rf"{node.nick} ((?:[0-9A-F]{{4}} ?){{10}})", result.stdout)
        assert match, result.stdout
        return match.group(1).replace(" ", "")

    def _common(self, node: Node) -> list[Line]:
        lines: list[Line] = [
            ("TestingTorNetwork", "1"),
            ("UseDefaultFallbackDirs", "0"),
            ("Nickname", node.nick),
            ("AssumeReachable", "1"),
            ("PathsNeededToBuildCircuits", "0.67"),
            ("TestingDirAuthVoteGuard", "*"),
            ("TestingDirAuthVoteHSDir", "*"),
            ("TestingMinExitFlagThreshold", "0"),
            ("V3AuthNIntervalsValid", "2"),
            ("AddressDisableIPv6", "1"),
        ]
        for auth in (n for n in self.nodes if n.kind == "authority"):
            lines.append(
                (
                    "DirAuthority",
                    f"{auth.nick} orport={auth.or_port} no-v2 v3ident={auth.v3ident} "
                    f"127.0.0.1:{auth.dir_port} {auth.fingerprint}",
                )
            )
        return lines

    def _config(self, node: Node) -> list[Line]:
        lines = self._common(node)
        if node.kind in ("authority", "relay"):
            lines += [
                ("Address", "127.0.0.1"),
                ("ORPort", f"127.0.0.1:{node.or_port}"),
                ("DirPort", f"127.0.0.1:{node.dir_port}"),
                ("SocksPort", "0"),
                ("ExitRelay", "0"),
                ("ExitPolicy", "reject *:*"),
                # Relays must not ask the host's resolver (a private-range address) anything.
                ("ServerDNSResolvConfFile", str(self.root / "resolv.conf")),
                ("ServerDNSDetectHijacking", "0"),
                ("ServerDNSTestAddresses", ""),
            ]
        if node.kind == "authority":
            lines += [
                ("AuthoritativeDirectory", "1"),
                ("V3AuthoritativeDirectory", "1"),
                ("TestingV3AuthInitialVotingInterval", "5"),
                ("TestingV3AuthInitialVoteDelay", "2"),
                ("TestingV3AuthInitialDistDelay", "2"),
                ("V3AuthVotingInterval", str(self.voting_interval)),
                ("V3AuthVoteDelay", "2"),
                ("V3AuthDistDelay", "2"),
            ]
        if node.kind == "client":
            lines.append(("SocksPort", f"127.0.0.1:{node.socks_port} ExtendedErrors"))
            # As a courier's tor keeps the staff onion's key (README, courier setup); a
            # key added over the control port with Flags=Permanent lands here and, unlike
            # an in-memory one, survives NEWNYM (which wait_reachable sends).
            auth_dir = node.directory / "onion-auth"
            auth_dir.mkdir(mode=0o700, exist_ok=True)
            lines.append(("ClientOnionAuthDir", str(auth_dir)))
        if node.kind == "service":
            lines.append(("SocksPort", "0"))
        return lines

    def _launch(self) -> None:
        for node in self.nodes:
            node.tor = launch_tor(
                self._config(node),
                node.directory / "data",
                allow_public=False,
                control_dir=node.directory,
                prefix=self.prefix,
            )

    def add_node(self, nick: str, lines: list[Line]) -> Node:
        """Start one more tor on the network (a client with ``lines`` on top: an onion
        service's, an Onionbalance front's) and wait until it has bootstrapped."""
        node = Node(nick, "extra", self.root / nick)
        node.directory.mkdir(mode=0o700, exist_ok=True)
        self.nodes.append(node)
        self.launch(node, lines)
        return node

    def launch(self, node: Node, lines: list[Line], timeout: float = BOOTSTRAP_TIMEOUT) -> None:
        """(Re)start ``node``'s tor with the network's lines and ``lines``."""
        node.tor = launch_tor(
            [*self._common(node), *lines],
            node.directory / "data",
            allow_public=False,
            control_dir=node.directory,
            prefix=self.prefix,
        )
        deadline = time.monotonic() + timeout
        with node.control() as control:
            while control.bootstrap_progress() < 100:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{node.nick} did not bootstrap: " + node.tor.log_tail())
                time.sleep(0.5)  # tor reports bootstrap progress; bounded by the deadline

    def wait_bootstrapped(self, timeout: float = BOOTSTRAP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        for node in (*self.clients, self.service):
            with node.control() as control:
                while control.bootstrap_progress() < 100:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{node.nick} did not bootstrap: " + self.logs())
                    time.sleep(0.5)  # tor reports bootstrap progress; bounded by the deadline

    def logs(self) -> str:
        return "\n".join(
            f"--- {n.nick}\n{n.tor.log_tail(8)}" for n in self.nodes if n.tor is not None
        )

    def run(
        self, argv: list[str], env: dict[str, str], timeout: float = 180.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the network."""
        return subprocess.run(
            [*self.prefix, *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def popen(
        self, argv: list[str], env: dict[str, str], stdout: Path, stderr: Path
    ) -> subprocess.Popen[bytes]:
        with stdout.open("ab") as out, stderr.open("ab") as err:
            return subprocess.Popen([*self.prefix, *argv], env=env, stdout=out, stderr=err)
