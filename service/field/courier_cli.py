"""``aryz courier pull`` and ``aryz courier push``: the courier's online machine.

Both talk to the courier API (the staff onion, through Tor: ``--proxy
socks5h://127.0.0.1:9050``) with the coalition's courier credential. Errors print a fixed
message and exit 2 (``service.server.cli.main``). Heavy imports happen inside the commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from service.common.cli import say


def _cmd_pull(args: argparse.Namespace) -> int:
    from service.common.contract.credential import load_credential
    from service.field.client import make_client
    from service.field.courier import pull

    credential = load_credential(Path(args.credential))
    with make_client(args.server, args.proxy) as client:
        pulled = pull(client, credential, Path(args.out), max_bytes=args.max_bytes, sync=args.sync)
    if pulled.size == 0:
        say("nothing new: no file written")
        return 0
    if pulled.resumed_from:
        say(f"resumed a cut-off download after {int(pulled.resumed_from)} bytes")
    from service.common.text import for_terminal

    # Counted from what the server sent: escaped like any server-sent text (F-10).
    say(for_terminal(f"{pulled.items} items, {pulled.size} bytes: {args.out}"))
    return 0


def _cmd_push(args: argparse.Namespace) -> int:
    from service.common.contract.credential import load_credential
    from service.field.client import make_client
    from service.field.courier import CourierClientError, deliver

    credential = load_credential(Path(args.credential))
    outbox = Path(args.outbox)
    receipt = (
        Path(args.receipt) if args.receipt else outbox.with_name(outbox.name + ".receipt.json")
    )
    with make_client(args.server, args.proxy) as client:
        result = deliver(client, credential, outbox, receipt)
    if result.refused is not None:
        say(f"receipt: {result.receipt} (carry it to the desk: 'aryz desk receipt')")
        raise CourierClientError(result.refused)
    if result.already:
        say("already applied: this outbox was delivered before; nothing changed")
    else:
        say(f"applied: {result.records} records")
    say(f"receipt: {result.receipt} (carry it to the desk: 'aryz desk receipt')")
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
    p.add_argument(
        "--sync",
        action="store_true",
        help="after a desk restore: also bring every case's last applied record number",
    )
    p.add_argument("--proxy", help="e.g. socks5h://127.0.0.1:9050 for Tor")
    p.set_defaults(func=_cmd_pull)

    p = commands.add_parser("push", help="deliver an outbox from the coalition's desk")
    p.add_argument("--server", required=True)
    p.add_argument("--credential", required=True)
    p.add_argument("outbox", help="the outbox file the desk wrote")
    p.add_argument("--receipt", help="where to keep the server's answer (OUTBOX.receipt.json)")
    p.add_argument("--proxy", help="e.g. socks5h://127.0.0.1:9050 for Tor")
    p.set_defaults(func=_cmd_push)
