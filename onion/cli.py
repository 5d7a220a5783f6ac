"""``aryz onion …``: the operator's view of the onion services.

* ``keys``: make the intake and staff keys if missing; print both addresses.
* ``status``: is tor reachable, bootstrapped, multi-hop; which of our services has a
  descriptor; how many couriers may reach the staff onion.
* ``client add NAME --out FILE`` / ``client revoke NAME`` / ``client list``: the staff
  onion's client authorisation (then SIGHUP ``aryz serve`` to re-publish).
* ``instance DIR --master HOST``: an Onionbalance backend's instance key (made if missing)
  and its ``ob_config``; prints the instance address.
* ``balance --instance HOST … --out FILE``: Onionbalance's config for the front machine,
  with the intake key as the master key (deploy/README.md, section 5).

Settings come from the same ``ARYZ_*`` variables as ``aryz serve``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from service.common.cli import say


def _cmd_keys(_args: argparse.Namespace) -> int:
    from onion.keys import load_or_create_key
    from onion.settings import TorSettings

    settings = TorSettings()
    for name in ("intake", "staff"):
        key, created = load_or_create_key(settings.onion_keys_dir / name)
        say(f"{name}: {key.hostname}{' (new)' if created else ''}")
    return 0


def _cmd_instance(args: argparse.Namespace) -> int:
    from onion.balance import write_ob_config
    from onion.keys import load_or_create_key

    directory = Path(args.dir)
    key, created = load_or_create_key(directory)
    write_ob_config(directory, args.master)
    say(f"instance: {key.hostname}{' (new)' if created else ''} (for {args.master})")
    return 0


def _cmd_balance(args: argparse.Namespace) -> int:
    from onion.balance import write_balancer_config
    from onion.settings import TorSettings

    master_dir = (
        Path(args.master_dir) if args.master_dir else TorSettings().onion_keys_dir / "intake"
    )
    master = write_balancer_config(Path(args.out), master_dir, args.instance)
    say(f"{args.out}: {master} in front of {len(args.instance)} backends")
    return 0


def _cmd_status(_args: argparse.Namespace) -> int:
    from onion.clients import list_clients
    from onion.control import ControlEndpoint, connect
    from onion.errors import OnionError
    from onion.keys import load_key
    from onion.settings import TorSettings

    settings = TorSettings()
    keys = {}
    for name in ("intake", "staff"):
        try:
            keys[name] = load_key(settings.onion_keys_dir / name)
        except OnionError as exc:
            say(f"{name}: {exc.message}")
    clients = list_clients(settings.onion_keys_dir / "staff")
    say(f"authorised couriers on the staff onion: {len(clients)}")
    password = settings.tor_control_password
    if settings.tor_control is not None:
        endpoint = ControlEndpoint.parse(
            settings.tor_control, password.get_secret_value() if password else None
        )
    elif settings.tor_data_dir is not None:
        endpoint = ControlEndpoint(socket_path=settings.tor_data_dir / "control")
    else:
        say("tor: not configured (ARYZ_TOR_CONTROL or ARYZ_TOR_DATA_DIR)")
        return 1
    with connect(endpoint) as control:
        control.check_multi_hop()
        network = "disabled (DisableNetwork 1)" if control.network_disabled() else "enabled"
        say(
            f"tor {control.version}: bootstrapped {control.bootstrap_progress()}%, "
            f"network {network}, multi-hop only"
        )
        for name, key in keys.items():
            built = control.descriptor_built(key.address)
            state = "descriptor built (published)" if built else "no descriptor yet"
            say(f"{name}: {key.hostname} — {state}")
    return 0


def _staff_dir() -> Path:
    from onion.settings import TorSettings

    return TorSettings().onion_keys_dir / "staff"


def _cmd_client_add(args: argparse.Namespace) -> int:
    from onion.clients import add_client
    from onion.keys import load_or_create_key

    staff_dir = _staff_dir()
    key, _ = load_or_create_key(staff_dir)
    add_client(staff_dir, key.address, args.name, Path(args.out))
    say(
        f"authorised '{args.name}'. Give {args.out} to that courier (its tor's "
        "ClientOnionAuthDir) and delete it here; then reload aryz serve (SIGHUP)."
    )
    return 0


def _cmd_client_revoke(args: argparse.Namespace) -> int:
    from onion.clients import revoke_client

    revoke_client(_staff_dir(), args.name)
    say(f"revoked '{args.name}'; reload aryz serve (SIGHUP) to re-publish without it.")
    return 0


def _cmd_client_list(_args: argparse.Namespace) -> int:
    from onion.clients import list_clients

    for client in list_clients(_staff_dir()):
        say(f"{client.name}  {client.public_b32}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the onion subcommands to the ``aryz`` parser."""
    onion = sub.add_parser("onion", help="onion service keys, status and courier access")
    commands = onion.add_subparsers(dest="onion_command", required=True)
    p = commands.add_parser("keys", help="create the onion keys if missing; print addresses")
    p.set_defaults(func=_cmd_keys)
    p = commands.add_parser("instance", help="an Onionbalance backend's instance key, ob_config")
    p.add_argument("dir", help="its HiddenServiceDir, e.g. /var/lib/tor/aryz-instance")
    p.add_argument("--master", required=True, help="the public intake address (.onion)")
    p.set_defaults(func=_cmd_instance)
    p = commands.add_parser("balance", help="Onionbalance's config.yaml for the front machine")
    p.add_argument("--instance", action="append", required=True, help="a backend's .onion")
    p.add_argument("--out", required=True, help="e.g. /etc/onionbalance/config.yaml")
    p.add_argument("--master-dir", help="the master key directory (default: the intake key)")
    p.set_defaults(func=_cmd_balance)
    p = commands.add_parser("status", help="what tor says about our onion services")
    p.set_defaults(func=_cmd_status)
    client = commands.add_parser("client", help="staff-onion client authorisation")
    client_commands = client.add_subparsers(dest="client_command", required=True)
    p = client_commands.add_parser("add", help="authorise a courier; write its key file")
    p.add_argument("name", help="e.g. kz-courier-1")
    p.add_argument("--out", required=True, help="the courier's .auth_private file")
    p.set_defaults(func=_cmd_client_add)
    p = client_commands.add_parser("revoke", help="remove a courier's authorisation")
    p.add_argument("name")
    p.set_defaults(func=_cmd_client_revoke)
    p = client_commands.add_parser("list", help="authorised couriers")
    p.set_defaults(func=_cmd_client_list)
