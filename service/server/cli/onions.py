"""The glue between ``Settings`` and ``onion/``: which onions ``aryz serve`` publishes.

* the **intake** onion (public): the intake listener, proof-of-work defence on, a cap on
  streams per circuit;
* the **staff** onion: the courier listener, published only with v3 client authorisation
  (one key per courier in ``staff/authorized_clients``); with no authorised client it is
  not published at all, since an open staff onion would expose the courier API.

Their hostnames join the allowed ``Host`` values, so the operator need not repeat them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from onion.clients import list_clients
from onion.control import ControlEndpoint, OnionSpec, PowSettings
from onion.keeper import OnionKeeper
from onion.keys import OnionKey, load_or_create_key
from onion.launch import TorProcess, launch_tor
from onion.torrc import Line, parse
from service.common.errors import ConfigError
from service.server.settings import Settings

INTAKE = "intake"
STAFF = "staff"


@dataclass(frozen=True)
class Target:
    """Where tor should connect for one listener: ``unix:/path`` or ``127.0.0.1:port``."""

    value: str

    @classmethod
    def of(cls, host: str, port: int | None, uds: str | None) -> Target:
        if uds is not None:
            return cls("unix:" + str(Path(uds).resolve()))
        if host != "127.0.0.1":
            # An onion's target on a public interface would also serve the app off-Tor.
            raise ConfigError("With onion services, listen on 127.0.0.1 or a unix socket.")
        return cls(f"127.0.0.1:{port}")


@dataclass
class Onions:
    intake: OnionKey
    staff: OnionKey | None
    keeper: OnionKeeper | None = None
    tor: TorProcess | None = None
    notes: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.keeper is not None:
            self.keeper.stop()
        if self.tor is not None:
            self.tor.stop()


def load_keys(settings: Settings, with_staff: bool) -> tuple[OnionKey, OnionKey | None]:
    intake, _ = load_or_create_key(settings.onion_keys_dir / INTAKE)
    staff = load_or_create_key(settings.onion_keys_dir / STAFF)[0] if with_staff else None
    return intake, staff


def with_onion_hosts(settings: Settings, intake: OnionKey, staff: OnionKey | None) -> Settings:
    hosts = [*settings.allowed_hosts, intake.hostname]
    courier = [*settings.courier_allowed_hosts, *([staff.hostname] if staff else [])]
    return settings.model_copy(
        update={
            "allowed_hosts": list(dict.fromkeys(hosts)),
            "courier_allowed_hosts": list(dict.fromkeys(courier)),
        }
    )


def specs(
    settings: Settings, onions: Onions, intake: Target, staff: Target | None
) -> list[OnionSpec]:
    """Built afresh on each (re)publication, so a revoked client drops out at SIGHUP."""
    pow_settings = (
        PowSettings(settings.onion_pow_queue_rate, settings.onion_pow_queue_burst)
        if settings.onion_pow
        else None
    )
    result = [
        OnionSpec(
            name=INTAKE,
            key=onions.intake,
            targets=((80, intake.value),),
            pow=pow_settings,
            max_streams=settings.onion_max_streams,
        )
    ]
    if onions.staff is not None and staff is not None:
        clients = tuple(c.public_b32 for c in list_clients(settings.onion_keys_dir / STAFF))
        if clients:
            result.append(
                OnionSpec(
                    name=STAFF,
                    key=onions.staff,
                    targets=((80, staff.value),),
                    client_keys=clients,
                    max_streams=settings.onion_max_streams,
                    require_client_auth=True,
                )
            )
    return result


def endpoint(settings: Settings, tor: TorProcess | None) -> ControlEndpoint:
    password = (
        settings.tor_control_password.get_secret_value() if settings.tor_control_password else None
    )
    if tor is not None:
        return ControlEndpoint(socket_path=tor.control_socket)
    assert settings.tor_control is not None  # noqa: S101 - guarded by the caller
    return ControlEndpoint.parse(settings.tor_control, password)


def start_tor(settings: Settings) -> TorProcess:
    """aryz's own tor: public networking only in production (never in demo or test)."""
    assert settings.tor_data_dir is not None  # noqa: S101 - guarded by the caller
    extra: list[Line] = []
    if settings.tor_extra_config is not None:
        try:
            extra = parse(settings.tor_extra_config.read_text("utf-8"))
        except (OSError, UnicodeDecodeError):
            raise ConfigError("ARYZ_TOR_EXTRA_CONFIG cannot be read.") from None
    base: list[Line] = [("SocksPort", "0"), ("AvoidDiskWrites", "1")]
    return launch_tor(
        [*base, *extra],
        settings.tor_data_dir,
        allow_public=settings.is_production,
        owner_pid=os.getpid(),
    )


def start_onions(settings: Settings, onions: Onions, intake: Target, staff: Target | None) -> None:
    """Publish (first time synchronously: a refusal stops start-up), then keep them up."""
    staff_key_dir = settings.onion_keys_dir / STAFF
    if staff is not None and onions.staff is not None and not list_clients(staff_key_dir):
        onions.notes.append(
            "staff onion NOT published: no authorised courier "
            "(add one with 'aryz onion client add NAME --out FILE')"
        )
    if settings.tor_control is None:
        onions.tor = start_tor(settings)
    keeper = OnionKeeper(
        endpoint(settings, onions.tor), lambda: specs(settings, onions, intake, staff)
    )
    try:
        keeper.publish_now()
    except BaseException:
        onions.stop()
        raise
    keeper.start()
    onions.keeper = keeper
