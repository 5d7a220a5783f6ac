"""A connected, authenticated tor controller, and the few things Aryz asks of it.

Aryz publishes its onion services with ``ADD_ONION`` from keys it keeps on disk
(``onion.keys``), *not* detached: a service lives exactly as long as the control
connection of the ``aryz serve`` that answers it, so a crashed server leaves no onion
pointing at nothing, and ``onion.keeper`` re-publishes after tor or the connection comes
back. stem has no arguments for proof-of-work or several v3 client keys, so the command
is built here from validated parts (shared/tor-lab.md).
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import stem
import stem.connection
import stem.control

from onion.errors import (
    OnionCollisionError,
    SingleHopError,
    TorAuthError,
    TorControlError,
)
from onion.keys import OnionKey

_TARGET = re.compile(r"^(?:unix:/[^\s,\"]+|127\.0\.0\.1:\d{1,5})$")
_B32_KEY = re.compile(r"^[A-Z2-7]{52}$")
_SERVICE_ID = re.compile(r"^[a-z2-7]{56}$")


@dataclass(frozen=True)
class PowSettings:
    """Proof-of-work DoS defence (tor >= 0.4.8): clients solve a puzzle under load."""

    queue_rate: int = 250
    queue_burst: int = 2500


@dataclass(frozen=True)
class OnionSpec:
    """One onion service to publish: key, ``(virtual port, target)`` pairs and defences."""

    name: str
    key: OnionKey
    targets: tuple[tuple[int, str], ...]
    client_keys: tuple[str, ...] = ()
    pow: PowSettings | None = None
    max_streams: int | None = None
    # Only the staff onion sets this: refuse to publish it open if its client list is empty.
    require_client_auth: bool = False

    def add_onion_command(self) -> str:
        """The ``ADD_ONION`` line for this service; every part is validated first."""
        if not self.targets:
            raise TorControlError("An onion service needs at least one target.")
        if self.require_client_auth and not self.client_keys:
            raise TorControlError("The staff onion has no authorised clients; not publishing.")
        parts = ["ADD_ONION", self.key.tor_key_blob()]
        flags = []
        if self.client_keys:
            flags.append("V3Auth")
        if self.max_streams is not None:
            flags.append("MaxStreamsCloseCircuit")
        if flags:
            parts.append("Flags=" + ",".join(flags))
        if self.max_streams is not None:
            if not 0 < self.max_streams <= 65535:
                raise TorControlError("MaxStreams must be 1 to 65535.")
            parts.append(f"MaxStreams={self.max_streams}")
        if self.pow is not None:
            parts += [
                "PoWDefensesEnabled=1",
                f"PoWQueueRate={int(self.pow.queue_rate)}",
                f"PoWQueueBurst={int(self.pow.queue_burst)}",
            ]
        for virtual, target in self.targets:
            if not 0 < virtual <= 65535 or not _TARGET.match(target):
                # A target goes into a control command: no spaces, commas or quotes.
                raise TorControlError("An onion target must be 127.0.0.1:PORT or unix:/PATH.")
            parts.append(f"Port={virtual},{target}")
        for client in self.client_keys:
            if not _B32_KEY.match(client):
                raise TorControlError("A client authorisation key is not valid base32.")
            parts.append(f"ClientAuthV3={client}")
        return " ".join(parts)


@dataclass(frozen=True)
class ControlEndpoint:
    """Where tor's control interface is: a unix socket, or a loopback TCP port."""

    socket_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 9051
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, spec: str, password: str | None = None) -> ControlEndpoint:
        """``unix:/run/tor/control``, ``/run/tor/control`` or ``127.0.0.1:9051``."""
        spec = spec.strip()
        if spec.startswith("unix:") or spec.startswith("/"):
            return cls(socket_path=Path(spec.removeprefix("unix:")), password=password)
        host, _, port = spec.rpartition(":")
        if host not in ("127.0.0.1", "localhost", "[::1]") or not port.isdigit():
            # The control port grants full control of tor: never across a network.
            raise TorControlError("The tor control port must be on the loopback address.")
        return cls(
            host="127.0.0.1" if host == "localhost" else host.strip("[]"),
            port=int(port),
            password=password,
        )


class TorControl:
    """An authenticated control connection. Use ``connect()``; close when done."""

    def __init__(self, controller: stem.control.Controller) -> None:
        self._controller = controller

    # --- about tor ------------------------------------------------------------------------

    @property
    def version(self) -> str:
        return str(self._controller.get_version()).split(" ")[0]

    def is_alive(self) -> bool:
        return bool(self._controller.is_alive())

    def bootstrap_progress(self) -> int:
        phase = self._info("status/bootstrap-phase")
        match = re.search(r"PROGRESS=(\d+)", phase)
        return int(match.group(1)) if match else 0

    def network_disabled(self) -> bool:
        return self._conf("DisableNetwork") == "1"

    def check_multi_hop(self) -> None:
        """Refuse a tor set up for single-hop (non-anonymous) onion services."""
        for option in ("HiddenServiceSingleHopMode", "HiddenServiceNonAnonymousMode"):
            if self._conf(option) not in ("0", None):
                raise SingleHopError

    # --- services -------------------------------------------------------------------------

    def publish(self, spec: OnionSpec) -> None:
        reply = self._msg(spec.add_onion_command())
        if not reply.is_ok():
            text = str(reply)
            if "collision" in text.lower():
                raise OnionCollisionError
            raise TorControlError("tor refused to publish the onion service.")

    def remove(self, service_id: str) -> None:
        if not _SERVICE_ID.match(service_id):
            raise TorControlError("That is not a v3 onion service id.")
        self._msg(f"DEL_ONION {service_id}")

    def current(self) -> set[str]:
        """Service ids this connection publishes (tor lists only the caller's own)."""
        return {line for line in self._info("onions/current").split() if line}

    def descriptor_built(self, service_id: str) -> bool:
        """Whether tor has built a descriptor for a service it publishes (any connection)."""
        if not _SERVICE_ID.match(service_id):
            raise TorControlError("That is not a v3 onion service id.")
        reply = self._msg(f"GETINFO hs/service/desc/id/{service_id}")
        return bool(reply.is_ok())

    def add_client_auth(self, service_id: str, secret_b32: str, *, permanent: bool = False) -> None:
        """Client side: let this tor reach a client-authorised onion (stem has no method).

        Without ``permanent`` the key lives only in memory and tor drops it at the next
        ``SIGNAL NEWNYM`` (also one it delayed for its rate limit). ``permanent`` keeps it
        like a file in ``ClientOnionAuthDir`` (tor writes it there; the option must be set).
        """
        if not _SERVICE_ID.match(service_id) or not _B32_KEY.match(secret_b32):
            raise TorControlError("The client authorisation entry is not valid.")
        # The control port wants the key in base64, the auth files in base32.
        blob = base64.b64encode(base64.b32decode(secret_b32 + "====")).decode("ascii")
        flags = " Flags=Permanent" if permanent else ""
        reply = self._msg(f"ONION_CLIENT_AUTH_ADD {service_id} x25519:{blob}{flags}")
        # 251: a key existed and was replaced; 252: registered and a cached descriptor
        # decrypted with it. Any 25x means ours is in.
        if not all(code.startswith("25") for code, _, _ in reply.content()):
            # tor's reply names the problem and never echoes the key.
            raise TorControlError(f"tor refused the client authorisation key: {reply}")

    def new_circuits(self) -> None:
        """``SIGNAL NEWNYM``: fresh circuits (and a fresh descriptor fetch) for new streams."""
        self._msg("SIGNAL NEWNYM")

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from stem's thread) when the control connection closes."""

        def listener(_controller: Any, state: Any, _timestamp: float) -> None:
            if state == stem.control.State.CLOSED:
                callback()

        self._controller.add_status_listener(listener)

    def close(self) -> None:
        self._controller.close()

    def __enter__(self) -> TorControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------------------------

    def _msg(self, command: str) -> Any:
        try:
            return self._controller.msg(command)
        except stem.SocketClosed:
            raise TorControlError("The tor control connection closed.") from None
        except (stem.ControllerError, stem.SocketError):
            raise TorControlError from None

    def _info(self, key: str) -> str:
        try:
            return str(self._controller.get_info(key))
        except (stem.ControllerError, stem.SocketError):
            raise TorControlError from None

    def _conf(self, option: str) -> str | None:
        try:
            value = self._controller.get_conf(option)
        except (stem.ControllerError, stem.SocketError):
            raise TorControlError from None
        return None if value is None else str(value)


def connect(endpoint: ControlEndpoint) -> TorControl:
    """Connect and authenticate (cookie, safecookie or password), or raise ours."""
    try:
        if endpoint.socket_path is not None:
            controller = stem.control.Controller.from_socket_file(str(endpoint.socket_path))
        else:
            controller = stem.control.Controller.from_port(endpoint.host, endpoint.port)
    except stem.SocketError:
        raise TorControlError("tor's control port cannot be reached; is tor running?") from None
    try:
        controller.authenticate(password=endpoint.password)
    except (stem.connection.AuthenticationFailure, stem.SocketError):
        controller.close()
        raise TorAuthError from None
    return TorControl(controller)


def publish_all(control: TorControl, specs: Sequence[OnionSpec]) -> None:
    """Check tor is multi-hop, then publish every service (all or none)."""
    control.check_multi_hop()
    done: list[str] = []
    try:
        for spec in specs:
            control.publish(spec)
            done.append(spec.key.address)
    except BaseException:
        for service_id in done:
            # The connection is going away anyway; its services go with it.
            with contextlib.suppress(TorControlError):
                control.remove(service_id)
        raise
