"""``aryz desk coalition …`` and ``aryz desk transfer``: passing a case to another coalition
(``service.desk.casework.transfer``, ``service.desk.store.coalitions``).

Commands (each takes ``--dir DIR``, the desk folder)::

    coalition add --registry FILE --fingerprint "…"   learn another coalition's keys
    coalition list                                     the coalitions this desk can pass to
    transfer CASE --to ID [--note …] [--consent-in-message]
    transfer CASE --cancel                             take a queued transfer back

The other coalition's keys come from a file carried on the USB stick (the server's
``registry.toml``, or their ``[[coalition]]`` entry with its ``key_statement`` line) and
are accepted only under the signing fingerprint their staff read out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from service.desk.cli.common import dir_option, open_for, safe, say


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    coalition = commands.add_parser(
        "coalition", help="other coalitions' keys, to pass a case to them"
    )
    steps = coalition.add_subparsers(dest="coalition_command", required=True)
    p = steps.add_parser("add", help="learn another coalition's keys, checked by fingerprint")
    dir_option(p)
    p.add_argument(
        "--registry",
        required=True,
        type=Path,
        help="the server's registry.toml, or the coalition's entry with its key_statement",
    )
    p.add_argument(
        "--fingerprint",
        required=True,
        help="that coalition's SIGNING fingerprint, as its staff read it out",
    )
    p.set_defaults(func=_cmd_add)
    p = steps.add_parser("list", help="the coalitions this desk can pass cases to")
    dir_option(p)
    p.set_defaults(func=_cmd_list)

    p = commands.add_parser(
        "transfer", help="pass a case to another coalition (re-sealed here, sent in the outbox)"
    )
    dir_option(p)
    p.add_argument("case", help="the case reference, or its first 6 or more characters")
    p.add_argument("--to", help="the other coalition's id")
    p.add_argument(
        "--cancel",
        action="store_true",
        help="take back the case's transfer (until exported, or after its outbox was refused)",
    )
    p.add_argument("--note", help="an internal note on why (never sent)")
    p.add_argument(
        "--consent-in-message",
        action="store_true",
        help="the person agreed in a message (their answers do not say yes)",
    )
    p.set_defaults(func=_cmd_transfer)


def _cmd_add(args: argparse.Namespace) -> int:
    with open_for(args) as desk:
        found, added = desk.add_coalition(args.registry, args.fingerprint)
    name = f" ({safe(found.name)})" if found.name else ""
    if added:
        say(f"Added coalition {safe(found.id)}{name}, key statement {found.serial}.")
    else:
        say(f"Coalition {safe(found.id)}{name}: this desk already holds that key statement.")
    say(f"  countries: {', '.join(found.countries) or '-'}")
    say(f"  signing fingerprint: {found.signing_fingerprint}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    with open_for(args) as desk:
        known = desk.known_coalitions()
    if not known:
        say("No other coalition yet: 'aryz desk coalition add' learns one.")
    for c in known:
        name = f" ({safe(c.name)})" if c.name else ""
        say(f"{safe(c.id)}{name}: countries {', '.join(c.countries) or '-'}, statement {c.serial}")
        say(f"  signing fingerprint: {c.signing_fingerprint}")
    return 0


def _cmd_transfer(args: argparse.Namespace) -> int:
    from service.desk.errors import TransferError

    if args.cancel:
        if args.to is not None or args.consent_in_message:
            raise TransferError("--cancel takes back a transfer: give no --to with it.")
        with open_for(args) as desk:
            to = desk.cancel_transfer(args.case)
        say(f"The transfer to {safe(to)} is taken back: the case is this desk's again.")
        return 0
    if args.to is None:
        raise TransferError("Name the coalition to pass the case to with --to.")
    with open_for(args) as desk:
        seq = desk.transfer(
            args.case, args.to, note=args.note, consent_in_message=args.consent_in_message
        )
    say(
        f"Case passed to {safe(args.to)} (record {seq}): its items are re-sealed to that "
        "coalition's keys by the next 'aryz desk export'. This desk sends nothing more for it."
    )
    return 0
