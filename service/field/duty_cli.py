"""``aryz duty keygen/watch/list/show/ack``: the duty officer on the courier machine.

``watch``, ``ack`` talk to the courier API (the staff onion, through Tor: ``--proxy
socks5h://127.0.0.1:9050``) with the coalition's courier credential, and open or sign
with the duty key (``--key``). Heavy imports happen inside the commands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _folder(args: argparse.Namespace) -> object:
    from service.field.duty import Folder, default_dir

    return Folder(Path(args.dir) if args.dir else default_dir())


def _cmd_keygen(args: argparse.Namespace) -> int:
    from service.common.contract.duty_key import new_duty_key, write_duty_key

    key = new_duty_key(args.coalition, args.epoch)
    out = Path(args.out)
    write_duty_key(out, key)
    public = out.with_name(out.stem + ".public.json")
    public.write_text(key.public_json(), encoding="utf-8")
    _say(f"Duty key, epoch {key.epoch}, for coalition {key.coalition}: {out} (keep it on the")
    _say("courier machine, readable by the duty officer only).")
    _say(f"Fingerprint (read it out to the desk): {key.fingerprint}")
    _say(f"Carry {public} to the desk: 'aryz desk statement --duty {public.name}'.")
    _say("The registry entry of the coalition gets:")
    for line in key.registry_lines():
        _say("  " + line)
    return 0


def _cmd_watch(args: argparse.Namespace) -> int:
    from service.common.contract.credential import load_credential
    from service.common.contract.duty_key import load_duty_key
    from service.field.client import make_client
    from service.field.duty import Folder, watch
    from service.field.polling import MIN_INTERVAL

    if args.interval < MIN_INTERVAL:
        from service.field.duty import DutyError

        raise DutyError(f"--interval is at least {MIN_INTERVAL:g} seconds.")
    credential = load_credential(Path(args.credential))
    key = load_duty_key(Path(args.key))
    folder = _folder(args)
    assert isinstance(folder, Folder)  # noqa: S101 - for the type checker
    _say(f"watching for urgent records of {key.coalition} every {args.interval:g} s")
    with make_client(args.server, args.proxy, timeout=max(30.0, args.interval)) as client:
        watch(
            client,
            credential,
            key,
            folder,
            interval=args.interval,
            on_urgent=args.on_urgent,
            say=_say,
            polls=args.polls,
        )
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from service.common.contract.duty_key import load_duty_key
    from service.field.duty import Folder, summary

    key = load_duty_key(Path(args.key))
    folder = _folder(args)
    assert isinstance(folder, Folder)  # noqa: S101
    refs = folder.refs()
    if not refs:
        _say("no urgent records")
    for ref in refs:
        state = folder.state(ref)
        _say(f"{summary(ref, folder.open(ref, key))} | acknowledged: {state.get('status', 'no')}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from service.common.contract.duty_key import load_duty_key
    from service.field.duty import Folder, describe

    key = load_duty_key(Path(args.key))
    folder = _folder(args)
    assert isinstance(folder, Folder)  # noqa: S101
    ref = folder.find(args.ref)
    _say(describe(ref, folder.open(ref, key), folder.state(ref)))
    return 0


def _cmd_ack(args: argparse.Namespace) -> int:
    from service.common.contract.credential import load_credential
    from service.common.contract.duty_key import load_duty_key
    from service.field.client import make_client
    from service.field.duty import Folder, ack

    credential = load_credential(Path(args.credential))
    key = load_duty_key(Path(args.key))
    folder = _folder(args)
    assert isinstance(folder, Folder)  # noqa: S101
    ref = folder.find(args.ref)
    with make_client(args.server, args.proxy) as client:
        applied = ack(client, credential, key, folder, ref, args.status, args.answer_by)
    _say(
        f"acknowledged {ref[:8]}: {args.status}"
        + ("" if applied else " (already applied before)")
        + "; the family sees it on the status page, and the server deleted the record"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the duty subcommands to the ``aryz`` parser."""
    from service.common.contract.duty import ACK_STATUSES
    from service.field.polling import DEFAULT_INTERVAL

    duty = sub.add_parser(
        "duty", help="the urgent lane: the duty officer's watch (courier machine)"
    )
    commands = duty.add_subparsers(dest="duty_command", required=True)

    def common(p: argparse.ArgumentParser, *, online: bool) -> None:
        p.add_argument("--key", required=True, help="the duty key file (aryz duty keygen)")
        p.add_argument("--dir", help="the duty officer's folder (default ~/.local/share/aryz/duty)")
        if online:
            p.add_argument("--server", required=True, help="the courier API, e.g. http://….onion")
            p.add_argument("--credential", required=True, help="the courier credential file")
            p.add_argument("--proxy", help="e.g. socks5h://127.0.0.1:9050 for Tor")

    p = commands.add_parser("keygen", help="make a duty key (then: registry and desk statement)")
    p.add_argument("--coalition", required=True)
    p.add_argument("--epoch", type=int, default=1)
    p.add_argument("--out", required=True, help="the private key file to write")
    p.set_defaults(func=_cmd_keygen)

    p = commands.add_parser("watch", help="poll for urgent records and raise the alert")
    common(p, online=True)
    p.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        help=f"seconds between polls (default {DEFAULT_INTERVAL:g}: an alert within two "
        "minutes, one small request a minute through Tor)",
    )
    p.add_argument(
        "--on-urgent",
        metavar="CMD",
        help="a command run for each new record, which it reads as JSON on standard input "
        "(never in its arguments or environment)",
    )
    p.add_argument("--polls", type=int, help="stop after this many polls (default: never)")
    p.set_defaults(func=_cmd_watch)

    p = commands.add_parser("list", help="the urgent records kept in the folder")
    common(p, online=False)
    p.set_defaults(func=_cmd_list)

    p = commands.add_parser("show", help="open one urgent record")
    common(p, online=False)
    p.add_argument("ref", help="the record's ref (its first 8 digits are enough)")
    p.set_defaults(func=_cmd_show)

    p = commands.add_parser("ack", help="tell the family, signed: seen, or who has been told")
    common(p, online=True)
    p.add_argument("ref")
    p.add_argument("--status", choices=ACK_STATUSES, default="seen")
    p.add_argument("--answer-by", help="ISO week by which the family can expect an answer")
    p.set_defaults(func=_cmd_ack)
