"""``aryz desk courier …`` and ``aryz desk rotate --signing``: what the coalition changes in
the server's registry itself (``service.desk.store.couriers``).

Commands (each takes ``--dir DIR``, the desk folder)::

    courier list                         the couriers this desk considers current
    courier add --out FILE               issue a new courier credential into FILE
    courier revoke KEY_ID [--issue-new FILE]   revoke one (and issue the next at once)
    rotate --signing                     replace the signing key after a stolen desk

Each writes a signed registry change into ``DIR/registry-changes/`` and says what to carry
where: the change to the server's operator (who drops it into the server's
``registry-changes/`` folder, or runs ``aryz registry apply FILE``), a new credential to
the courier machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from service.desk.cli.common import dir_option, read_passphrase, say
from service.desk.store.spare import refuse_if_spare


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    courier = commands.add_parser(
        "courier", help="issue and revoke courier credentials (signed registry changes)"
    )
    steps = courier.add_subparsers(dest="courier_command", required=True)

    p = steps.add_parser("list", help="the courier credentials this desk considers current")
    dir_option(p)
    p.set_defaults(func=_cmd_list)

    p = steps.add_parser("add", help="issue a new courier credential")
    dir_option(p)
    p.add_argument("--out", required=True, type=Path, help="where to write the credential")
    serial_option(p)
    p.set_defaults(func=_cmd_add)

    p = steps.add_parser("revoke", help="revoke a courier credential (a lost or seized machine)")
    dir_option(p)
    p.add_argument("key_id", nargs="+", help="the credential's key id (6 or more hex digits)")
    p.add_argument(
        "--issue-new",
        type=Path,
        metavar="FILE",
        help="issue the next credential in the same change",
    )
    serial_option(p)
    p.set_defaults(func=_cmd_revoke)


def serial_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--serial",
        type=int,
        help="number the change N (after a restore: one more than aryz registry check shows)",
    )


def _cmd_list(args: argparse.Namespace) -> int:
    from service.common.crypto.keys import fingerprint_lines, key_id
    from service.desk.store.couriers import courier_keys

    for verify_key in courier_keys(args.dir):
        say(f"courier {key_id(verify_key).hex()}:")
        for line in fingerprint_lines(verify_key):
            say(f"    {line}")
    return 0


def _cmd_add(args: argparse.Namespace) -> int:
    from service.desk.store.couriers import change_couriers

    refuse_if_spare(args.dir)

    done = change_couriers(args.dir, read_passphrase(), issue_to=args.out, serial=_serial(args))
    _report(done)
    return 0


def _cmd_revoke(args: argparse.Namespace) -> int:
    from service.desk.store.couriers import change_couriers

    refuse_if_spare(args.dir)

    done = change_couriers(
        args.dir,
        read_passphrase(),
        revoke=args.key_id,
        issue_to=args.issue_new,
        serial=_serial(args),
    )
    _report(done)
    return 0


def _serial(args: argparse.Namespace) -> int | None:
    from service.desk.store.couriers import CourierChoiceError

    serial: int | None = getattr(args, "serial", None)
    if serial is not None and not 1 <= serial <= 1_000_000:
        raise CourierChoiceError("A change number is a whole number from 1.")
    return serial


def _report(done: object) -> None:
    from service.common.crypto.keys import fingerprint_lines, key_id
    from service.desk.store.couriers import CourierChange

    assert isinstance(done, CourierChange)  # noqa: S101 - what change_couriers returns
    for verify_key in done.revoked:
        say(f"Revoked courier {key_id(verify_key).hex()}.")
    if done.added is not None:
        say(f"New courier {key_id(done.added).hex()}, fingerprint:")
        for line in fingerprint_lines(done.added):
            say(f"    {line}")
        say(f"Its credential is in {done.credential_file}: carry it to the courier machine")
        say("on the USB stick and delete it here once it is there (it is a secret).")
    say(f"Registry change {done.serial}, signed by this desk: {done.change_file}")
    say("Give it to the server's operator. Once it is in the server's registry-changes/")
    say("folder the server applies it within seconds; a revoked courier is then refused.")


def rotate_signing(args: argparse.Namespace) -> int:
    from service.common.crypto.keys import fingerprint_lines
    from service.desk.store.couriers import rotate_signing as rotate

    refuse_if_spare(args.dir)

    done = rotate(args.dir, read_passphrase(), serial=_serial(args))
    say("New signing key. Read both fingerprints aloud to the server's operator:")
    for title, key in (("old (now retired)", done.old_key), ("new", done.new_key)):
        say(f"  {title}:")
        for line in fingerprint_lines(key):
            say(f"      {line}")
    say(f"Registry change (signed by the old key, countersigned by the new): {done.change_file}")
    if done.statement_file is not None:
        say(f"Key statement signed by the new key: {done.statement_file}")
    else:
        say("Then sign a key statement with the new key: aryz desk statement.")
    say("The operator applies the change (and pastes the new statement) BEFORE the next")
    say("outbox arrives: from now on this desk signs with the new key only.")
    return 0
