"""``aryz desk web --dir DIR [--port 8765]``: the desk's pages in a browser on this laptop.

The desk is unlocked once (passphrase from a prompt, or ``ARYZ_DESK_PASSPHRASE``) and
stays unlocked until the command stops (Ctrl-C). It listens on 127.0.0.1 only: there is
no option to listen anywhere else.

This module is loaded whenever the ``aryz`` parser is built, so it imports nothing heavy
at load time; the web stack comes in only when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from service.desk.cli.common import read_passphrase, say, weak_kdf_warning
from service.desk.web.errors import PortError
from service.desk.web.settings import (
    DEFAULT_IDLE_MINUTES,
    DEFAULT_PORT,
    LOOPBACK,
    MAX_IDLE_MINUTES,
    check_port,
)


def _port(text: str) -> int:
    try:
        return check_port(int(text, 10))
    except (ValueError, PortError):
        raise argparse.ArgumentTypeError(PortError.message) from None


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``web`` to the ``aryz desk`` subcommands."""
    p = commands.add_parser("web", help="read and triage cases in a browser on this laptop")
    p.add_argument("--dir", required=True, type=Path, help="the desk folder")
    p.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"on 127.0.0.1 (default {DEFAULT_PORT})"
    )
    p.add_argument(
        "--idle-lock",
        type=_minutes,
        default=DEFAULT_IDLE_MINUTES,
        metavar="MINUTES",
        help=f"lock the desk after this many minutes without use (default {DEFAULT_IDLE_MINUTES})",
    )
    p.set_defaults(func=_cmd_web)


def _minutes(text: str) -> int:
    try:
        minutes = int(text, 10)
    except ValueError:
        minutes = 0
    if not 1 <= minutes <= MAX_IDLE_MINUTES:
        raise argparse.ArgumentTypeError(f"a whole number of minutes from 1 to {MAX_IDLE_MINUTES}")
    return minutes


def _cmd_web(args: argparse.Namespace) -> int:
    from service.desk.casework.desk import open_desk
    from service.desk.store.keys import weak_limits
    from service.desk.web.app import serve
    from service.desk.web.guard import Gate

    desk = open_desk(args.dir, read_passphrase())
    with desk:
        if weak_limits(desk.limits):
            weak_kdf_warning("this desk's keys are wrapped")
        gate = Gate(desk.directory, idle_seconds=args.idle_lock * 60)
        say(f"Desk {desk.coalition} unlocked.")
        say("Open this link in a browser on this laptop (it works until the desk stops):")
        say("")
        say(f"    {gate.login_url(f'{LOOPBACK}:{args.port}')}")
        say("")
        say("Anyone with this link can read the cases: do not copy it anywhere else.")
        say("Use a private window and close it when you are done. Stop with Ctrl-C;")
        say(f"the desk also locks itself after {args.idle_lock} minutes without use.")
        locked = serve(desk, args.port, gate=gate)
    if locked:
        say("The desk locked itself after a time without use; its keys are no longer in memory.")
        say("To go on, run `aryz desk web` again (passphrase, then the new link).")
    return 0
