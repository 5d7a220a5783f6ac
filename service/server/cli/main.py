"""The server's ``aryz`` subcommands: ``serve``, ``demo``, ``demo-read``, ``db``, and the
operator's ``onion`` and ``backup`` tools. ``service/cli.py`` (the ``aryz`` dispatcher)
registers them next to the desk's and the field tools'."""

from __future__ import annotations

import argparse
import errno
from pathlib import Path

from service.common.cli import say


def _cmd_serve(args: argparse.Namespace) -> int:
    from service.server.cli.serve import run
    from service.server.settings import Settings

    run(
        Settings(),
        host=args.host,
        port=args.port,
        uds=args.uds,
        courier_port=args.courier_port,
        courier_uds=args.courier_uds,
        force_host=args.force_host,
    )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from service.server.cli.demo import create_demo
    from service.server.cli.serve import run

    data_dir = Path(args.data_dir).resolve()
    settings = create_demo(data_dir)
    hosts = [f"127.0.0.1:{args.port}", f"localhost:{args.port}"]
    courier_hosts = [f"127.0.0.1:{args.courier_port}"] if args.courier_port else []
    settings = settings.model_copy(
        update={"allowed_hosts": hosts, "courier_allowed_hosts": courier_hosts}
    )
    say(f"Aryz demo: data in {data_dir} (demo keys in {data_dir / 'desk-keys'})")
    say(f"Open http://127.0.0.1:{args.port}/ in a browser (JavaScript may stay off).")
    say(f"Read what was submitted: aryz demo-read --data-dir {data_dir}")
    if args.courier_port:
        say(f"Courier API: http://127.0.0.1:{args.courier_port} ({data_dir / 'couriers'})")
    say("Stop with Ctrl-C.")
    run(settings, host="127.0.0.1", port=args.port, courier_port=args.courier_port)
    return 0


def _cmd_demo_read(args: argparse.Namespace) -> int:
    from service.common.text import for_terminal
    from service.server.cli.demo_read import read_all

    refused = 0
    for line in read_all(Path(args.data_dir).resolve(), raw=args.raw):
        # What submitters sealed is untrusted text (F-10); read_all marks refusals.
        refused += line.startswith("item refused")
        say(for_terminal(line, multiline=True))
    return 1 if refused else 0


def _cmd_db(args: argparse.Namespace) -> int:
    from service.common.contract.vocabulary import kdf_id
    from service.server.settings import Settings
    from service.server.storage import migrate

    url = Settings().resolved_database_url
    if args.action == "upgrade":
        settings = Settings()
        migrate.upgrade(url, existing_kdf=kdf_id(settings.kdf_opslimit, settings.kdf_memlimit))
    elif args.action == "downgrade":
        migrate.downgrade(url, args.revision)
    say(f"schema at {migrate.head_revision(url) if args.action == 'upgrade' else args.revision}")
    return 0


def _cmd_state_secret(args: argparse.Namespace) -> int:
    import service.common.files as files
    from service.common.crypto.formstate import new_state_secret

    # Never replace a deployment's secret by accident (every page in flight would be
    # lost); replacing it is a deliberate rm first (deploy/README.md, section 5).
    if Path(args.out).exists():
        raise FileExistsError(errno.EEXIST, "exists", args.out)
    files.write_new(Path(args.out), new_state_secret())
    say(f"State secret written to {args.out} (0600). Copy the same file to every instance.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the server's subcommands (and the onion and backup tools') to ``aryz``."""

    p = sub.add_parser("serve", help="run the intake server (settings from ARYZ_*)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--uds", help="listen on this unix socket instead")
    p.add_argument(
        "--courier-port",
        type=int,
        help="also serve the courier API on this port (for the client-authorised staff onion)",
    )
    p.add_argument("--courier-uds", help="serve the courier API on this unix socket instead")
    p.add_argument(
        "--force-host",
        action="store_true",
        help="allow a non-loopback --host in production (only behind a firewall)",
    )
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("demo", help="create a demo instance with demo keys and serve it")
    p.add_argument("--data-dir", default="demo-data")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--courier-port", type=int, help="also serve the courier API here")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("demo-read", help="decrypt a demo instance's items with its demo keys")
    p.add_argument("--data-dir", default="demo-data")
    p.add_argument(
        "--raw",
        action="store_true",
        help="print answer sets as the JSON that was sealed, not by section with labels",
    )
    p.set_defaults(func=_cmd_demo_read)

    p = sub.add_parser("db", help="database schema migrations")
    p.add_argument("action", choices=["upgrade", "downgrade"])
    p.add_argument("--revision", default="base")
    p.set_defaults(func=_cmd_db)

    p = sub.add_parser(
        "state-secret", help="make the form-state secret every instance of a deployment shares"
    )
    p.add_argument("--out", required=True, help="e.g. /var/lib/aryz-state/state-secret")
    p.set_defaults(func=_cmd_state_secret)

    from onion.cli import register as register_onion
    from service.server.backup.cli import register as register_backup
    from service.server.cli.registry import register as register_registry

    register_onion(sub)
    register_backup(sub)
    register_registry(sub)
