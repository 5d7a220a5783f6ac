"""``aryz desk spare …``: a second laptop kept in step with the working desk by backups.

Commands::

    spare enroll --from BACKUP --dir NEW   restore a backup as a spare; prints fingerprints
    spare update --dir DIR BACKUP          take a NEWER backup of the working desk
    spare promote --dir DIR                the working desk is gone: this one takes over

Why a spare and not a second working desk: see service/desk/store/spare.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from service.desk.cli.common import dir_option, print_fingerprints, say, warn


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    spare = commands.add_parser(
        "spare", help="a second laptop kept in step by backups (it only reads until promoted)"
    )
    steps = spare.add_subparsers(dest="spare_command", required=True)

    p = steps.add_parser("enroll", help="restore a backup of the working desk as a spare")
    dir_option(p)
    p.add_argument("--from", dest="backup", required=True, type=Path, help="the backup file")
    p.set_defaults(func=_cmd_enroll)

    p = steps.add_parser("update", help="bring the spare up to a newer backup")
    dir_option(p)
    p.add_argument("backup", type=Path)
    p.set_defaults(func=_cmd_update)

    p = steps.add_parser(
        "promote", help="make the spare the working desk (only once the old one is gone)"
    )
    dir_option(p)
    p.set_defaults(func=_cmd_promote)


def _opening() -> object:
    from service.desk.cli.common import read_passphrase
    from service.desk.store.backup import Opening

    return Opening(passphrase=read_passphrase())


def _cmd_enroll(args: argparse.Namespace) -> int:
    from service.desk.store.keys import read_public
    from service.desk.store.spare import enroll

    report, mark = enroll(args.backup, args.dir, _opening())
    say(
        f"Spare desk enrolled in {report.directory}: coalition {report.coalition}, backup "
        f"{mark.serial} of {report.created}, {report.cases} cases, {report.items} items."
    )
    say("Compare these fingerprints aloud with the working desk's")
    say("(aryz desk fingerprints there): every group must be the same.")
    say()
    print_fingerprints(read_public(report.directory))
    say("This spare only reads. It refuses imports, triage, replies and outboxes, so it")
    say("never writes an outbox the server would refuse. Keep it up to date with")
    say(f"  aryz desk spare update --dir {args.dir} BACKUP")
    say("after each backup of the working desk. If the working desk is lost:")
    say(f"  aryz desk spare promote --dir {args.dir}")
    return 0


def _cmd_update(args: argparse.Namespace) -> int:
    from service.desk.store.spare import update

    report, mark = update(args.backup, args.dir, _opening())
    say(
        f"Spare desk updated to backup {mark.serial} of {report.created}: "
        f"{report.cases} cases, {report.items} items. It still only reads."
    )
    return 0


def _cmd_promote(args: argparse.Namespace) -> int:
    from service.desk.store.spare import CONFIRMATION, promote, read_mark

    mark = read_mark(args.dir)
    if mark is None:
        from service.desk.store.spare import NotSpareError

        raise NotSpareError()
    warn(f"This spare holds backup {mark.serial} of {mark.created}.")
    warn("Promote it ONLY if the working desk is lost, seized or wiped, or will never")
    warn("export again: two desks writing outboxes for the same cases get refused.")
    warn(f"To go on, type exactly: {CONFIRMATION}")
    typed = sys.stdin.readline()
    promote(args.dir, typed)
    say("This desk is now the working desk.")
    say("Next steps:")
    say("  1. On the courier machine: aryz courier pull --sync … and import that bundle here:")
    say("     it brings the reports received since the backup, and each case's last applied")
    say("     record number, so this desk continues every case where the server is.")
    say("  2. Import any receipts (aryz desk receipt) the old desk's outboxes left.")
    say("  3. Make a backup, then export and push as usual; import the receipt here.")
    return 0
