"""``aryz courier pull`` and ``aryz courier push``: the courier's online machine.

Both talk to the courier API (the staff onion, through Tor: ``--proxy
socks5h://127.0.0.1:9050``) with the coalition's courier credential. Errors print a fixed
message and exit 2 (``service.server.cli.main``). Heavy imports happen inside the commands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _cmd_pull(args: argparse.Namespace) -> int:
    from service.common.contract.credential import load_credential
    from service.field.client import make_client
    from service.field.courier import pull

    credential = load_credential(Path(args.credential))
    with make_client(args.server, args.proxy) as client:
        pulled = pull(client, credential, Path(args.out), max_bytes=args.max_bytes)
    if pulled.items == 0:
        _say("nothing new: no file written")
        return 0
    if pulled.resumed_from:
        _say(f"resumed a cut-off download after {pulled.resumed_from} bytes")
    _say(f"{pulled.items} items, {pulled.size} bytes: {args.out}")
    return 0


def _cmd_push(args: argparse.Namespace) -> int:
    from service.common.contract.credential import load_credential
    from service.field.client import make_client
    from service.field.courier import push

    credential = load_credential(Path(args.credential))
    with make_client(args.server, args.proxy) as client:
        result = push(client, credential, Path(args.outbox))
    if result.get("already"):
        _say("already applied: this outbox was delivered before; nothing changed")
    else:
        _say(f"applied: {int(result.get('records', 0))} records")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the courier subcommands to the ``aryz`` parser."""
    courier = sub.add_parser("courier", help="fetch bundles and deliver outboxes (courier)")
    commands = courier.add_subparsers(dest="courier_command", required=True)

    p = commands.add_parser("pull", help="download the coalition's new items as a bundle")
    p.add_argument("--server", required=True, help="the courier API, e.g. http://….onion")
    p.add_argument("--credential", required=True, help="the courier credential file (JSON)")
    p.add_argument("--out", required=True, help="where to write the bundle")
    p.add_argument("--max-bytes", type=int, help="largest bundle file wanted (a USB stick)")
    p.add_argument("--proxy", help="e.g. socks5h://127.0.0.1:9050 for Tor")
    p.set_defaults(func=_cmd_pull)

    p = commands.add_parser("push", help="deliver an outbox from the coalition's desk")
    p.add_argument("--server", required=True)
    p.add_argument("--credential", required=True)
    p.add_argument("outbox", help="the outbox file the desk wrote")
    p.add_argument("--proxy", help="e.g. socks5h://127.0.0.1:9050 for Tor")
    p.set_defaults(func=_cmd_push)
