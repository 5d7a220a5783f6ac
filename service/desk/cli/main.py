"""``aryz-desk …`` (also ``aryz desk …``): the coalition's air-gapped desk on the command line.

Commands (every one but ``passphrase`` takes ``--dir DIR``, the desk folder)::

    init --coalition ID [--name N]  key ceremony: keys, store, registry snippet, courier
                             credential; --name makes N the first named staff member
    staff list|add NAME|remove NAME   who may open the desk (service/desk/casework/staff.py)
    unlock [--idle-minutes M], lock   one unlock for this terminal (service/desk/cli/session.py)
    rotate [--signing]       add the next decryption key epoch, or replace the signing key
    courier list|add|revoke  courier credentials, as signed registry changes (cli/couriers.py)
    coalition add|list, transfer   pass a case to another coalition (cli/transfer.py)
    fingerprints             print the desk's key fingerprints again
    passphrase               suggest a 7-word passphrase
    import BUNDLE            import a bundle from the server (via the courier)
    quarantine [--retry]     the items set aside at import, each with its reason
    list [filters] [--sort]  cases as a table
    show CASE                one case: answers, attachments, messages, notes, history
    set CASE [--status …]    triage: status, priority, assignee, tags, a note
    reply CASE --message-file F   seal a reply to the person who filed
    export --out OUTBOX      write the signed outbox for the courier
    backup --out FOLDER      write an encrypted backup of the whole desk (store/backup.py)
    backup verify FILE       open a backup completely, without restoring it
    restore FILE             rebuild a desk from a backup in a new folder (--dir)
    recovery --threshold M --shares N   draw N recovery shares, any M open the backups
    spare enroll|update|promote   a second laptop kept in step by backups (cli/spare.py)
    outcome add|list|remove  a case's legal path (service/desk/cli/stats.py)
    stats, report            publishable statistics, small counts hidden

The passphrase is asked once per command (twice at ``init``), or read from
``ARYZ_DESK_PASSPHRASE`` for scripts and tests — unless ``aryz desk unlock`` started an
unlocked session for this terminal, which every command then uses. A new member's
passphrase (``staff add``) is asked twice, or read from ``ARYZ_DESK_NEW_PASSPHRASE``.
Errors print a fixed sentence and exit 2; ``import`` exits 1 when some items could not be imported.

Everything a submitter wrote, and everything a server sent, is untrusted: before it
reaches the terminal (``service.common.text.for_terminal``), control and format characters
(escape sequences, bidirectional overrides, zero-width characters) are shown as
``\\u{…}``, so an answer, a filename or a server's status cannot rewrite the screen or
disguise itself.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.common.contract.vocabulary import COUNTRY_CODES, PRIORITIES, STATUSES
from service.desk.cli.common import (
    NEW_PASSPHRASE_ENV,
    dir_option,
    new_passphrase,
    open_for,
    print_fingerprints,
    read_passphrase,
    safe,
    say,
    warn,
    weak_kdf_warning,
)
from service.desk.store.spare import refuse_if_spare

if TYPE_CHECKING:
    from service.desk.casework.desk import Desk


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``desk …`` to the ``aryz`` parser."""
    desk = sub.add_parser("desk", help="the coalition's air-gapped desk: keys, import, triage")
    add_commands(desk.add_subparsers(dest="desk_command", required=True))


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The desk's commands, under ``aryz desk`` or ``aryz-desk``."""

    p = commands.add_parser("init", help="key ceremony: create a desk in a new folder")
    dir_option(p)
    p.add_argument("--coalition", required=True, help="the coalition id, as in the registry")
    p.add_argument("--name", help="your name as staff: written on every note and change")
    p.set_defaults(func=_cmd_init)

    p = commands.add_parser("unlock", help="unlock once for this terminal (a session agent)")
    dir_option(p)
    p.add_argument(
        "--idle-minutes", type=float, default=15.0, help="lock after this long unused (15)"
    )
    p.add_argument("--max-hours", type=float, default=8.0, help="lock after this long in all (8)")
    p.set_defaults(func=_cmd_unlock)

    p = commands.add_parser("lock", help="end this terminal's unlocked session now")
    dir_option(p)
    p.set_defaults(func=_cmd_lock)

    p = commands.add_parser("staff", help="who may open the desk, each with a passphrase")
    staff_commands = p.add_subparsers(dest="staff_command", required=True)
    q = staff_commands.add_parser("list", help="the desk's staff, past and present")
    dir_option(q)
    q.set_defaults(func=_cmd_staff_list)
    q = staff_commands.add_parser("add", help="let someone open the desk with their passphrase")
    dir_option(q)
    q.add_argument("name", help="the new member's name, as it will show on their entries")
    q.add_argument("--me", help="your own name, when the desk has no named staff yet")
    q.set_defaults(func=_cmd_staff_add)
    q = staff_commands.add_parser("remove", help="close the desk to a member")
    dir_option(q)
    q.add_argument("name")
    q.set_defaults(func=_cmd_staff_remove)

    p = commands.add_parser(
        "rotate", help="add a new decryption key (the next epoch), or replace the signing key"
    )
    dir_option(p)
    p.add_argument(
        "--signing",
        action="store_true",
        help="replace the signing key instead (after a stolen desk; a signed registry change)",
    )
    p.add_argument(
        "--serial",
        type=int,
        help="with --signing: number the change N (after a restore: see aryz registry check)",
    )
    p.set_defaults(func=_cmd_rotate)

    p = commands.add_parser("fingerprints", help="print the desk's key fingerprints")
    dir_option(p)
    p.set_defaults(func=_cmd_fingerprints)

    p = commands.add_parser(
        "statement", help="sign the statement of current keys and countries for the registry"
    )
    dir_option(p)
    p.add_argument("--countries", default="", help="comma-separated codes, e.g. KZ")
    p.add_argument("--fallback", action="store_true", help="an international fallback")
    p.add_argument("--epoch", type=int, action="append", help="a key to name (default: newest)")
    p.add_argument(
        "--duty",
        type=Path,
        action="append",
        help="a duty key's public file to name (aryz duty keygen; the urgent lane)",
    )
    p.set_defaults(func=_cmd_statement)

    p = commands.add_parser("passphrase", help="suggest a passphrase of 7 random words")
    p.set_defaults(func=_cmd_passphrase)

    p = commands.add_parser("import", help="import a bundle from the server")
    dir_option(p)
    p.add_argument("bundle", type=Path)
    p.set_defaults(func=_cmd_import)

    p = commands.add_parser("quarantine", help="list the items set aside at import")
    dir_option(p)
    p.add_argument(
        "--retry",
        action="store_true",
        help="first try them again from their sealed copies (after a key rotation)",
    )
    p.set_defaults(func=_cmd_quarantine)

    p = commands.add_parser("list", help="list cases")
    dir_option(p)
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--country", help="two-letter code, e.g. KZ")
    p.add_argument("--still-detained", action="store_true")
    p.add_argument("--week", help="ISO week received, e.g. 2026-W47")
    p.add_argument("--language", help="language of the report, e.g. ru")
    p.add_argument("--sort", choices=("received", "priority", "status"), default="received")
    p.set_defaults(func=_cmd_list)

    p = commands.add_parser("show", help="show one case")
    dir_option(p)
    p.add_argument("case", help="the case reference, or its first 6 or more characters")
    p.set_defaults(func=_cmd_show)

    p = commands.add_parser("set", help="triage a case")
    dir_option(p)
    p.add_argument("case")
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--priority", choices=PRIORITIES)
    p.add_argument("--assignee", help="who handles the case ('' clears)")
    p.add_argument("--tag", action="append", default=[])
    p.add_argument("--untag", action="append", default=[])
    p.add_argument("--note", help="add an internal note (never sent)")
    p.add_argument(
        "--answer-by", help="ISO week the family can expect an answer by (e.g. 2026-W50)"
    )
    p.add_argument(
        "--country",
        choices=COUNTRY_CODES,
        help="correct the case's country (desk only; statistics count it there)",
    )
    p.set_defaults(func=_cmd_set)

    p = commands.add_parser("reply", help="seal a reply for the person who filed the case")
    dir_option(p)
    p.add_argument("case")
    p.add_argument("--message-file", required=True, type=Path, help="UTF-8 text")
    p.set_defaults(func=_cmd_reply)

    p = commands.add_parser("export", help="write the signed outbox for the courier")
    dir_option(p)
    p.add_argument("--out", required=True, type=Path, help="a new file, e.g. on the USB stick")
    p.add_argument(
        "--again",
        action="store_true",
        help="also send again every record of earlier outboxes that has no receipt (one was lost)",
    )
    p.set_defaults(func=_cmd_export)

    p = commands.add_parser("receipt", help="import the receipts 'aryz courier push' wrote")
    dir_option(p)
    p.add_argument("receipts", type=Path, nargs="+")
    p.set_defaults(func=_cmd_receipt)

    p = commands.add_parser("backup", help="write an encrypted backup of the whole desk")
    p.add_argument("--dir", type=Path, help="the desk folder")
    p.add_argument("--out", type=Path, help="an existing folder, e.g. on a USB stick")
    p.set_defaults(func=_cmd_backup)
    verify = p.add_subparsers(dest="backup_command").add_parser(
        "verify", help="open a backup completely without restoring it"
    )
    verify.add_argument("backup", type=Path)
    _shares_option(verify)
    verify.set_defaults(func=_cmd_backup_verify)

    p = commands.add_parser("restore", help="rebuild a desk from a backup in a new folder")
    dir_option(p)
    p.add_argument("backup", type=Path)
    _shares_option(p)
    p.set_defaults(func=_cmd_restore)

    p = commands.add_parser(
        "recovery", help="draw recovery shares: any M of N open the backups without the passphrase"
    )
    dir_option(p)
    p.add_argument("--threshold", type=int, required=True, help="M: how many shares restore")
    p.add_argument("--shares", type=int, required=True, help="N: how many shares to make")
    p.set_defaults(func=_cmd_recovery)

    from service.desk.cli.stats import register as register_stats  # outcome, stats, report

    register_stats(commands)
    from service.desk.cli.couriers import register as register_couriers  # courier add|revoke

    register_couriers(commands)
    from service.desk.cli.transfer import register as register_transfer  # coalition, transfer

    register_transfer(commands)
    from service.desk.cli.spare import register as register_spare  # spare enroll|update|promote

    register_spare(commands)

    from service.desk.web.cli import register as register_web  # ``aryz desk web``

    register_web(commands)


def _shares_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--recovery-shares",
        action="store_true",
        help="open with recovery shares (typed or piped one per line) instead of the passphrase",
    )


# --- key ceremony ---------------------------------------------------------------------


def _cmd_init(args: argparse.Namespace) -> int:
    from service.common.passphrase import check_strength
    from service.desk.casework.desk import init_desk
    from service.desk.store.keys import check_coalition_id, kdf_limits_from_env, weak_limits

    check_coalition_id(args.coalition)
    limits = kdf_limits_from_env()
    if weak_limits(limits):
        weak_kdf_warning("the keys are being wrapped")
    passphrase = new_passphrase()
    check_strength(passphrase)
    warn("Wrapping the keys (Argon2id; this takes a few seconds) …")
    ceremony = init_desk(args.dir, args.coalition, passphrase, limits, name=args.name)
    say(f"Desk created for coalition {ceremony.public.coalition}.")
    if args.name:
        say(f"Staff: {safe(args.name)}. Add colleagues with: aryz desk staff add --dir {args.dir}")
    say()
    print_fingerprints(ceremony.public)
    say("Next steps:")
    say(f"  1. Give {ceremony.public_key_file} to the server operator. They fill in the")
    say("     coalition's name and countries and paste it into the registry. The site then")
    say("     shows the fingerprints on its keys page: compare them with the ones above.")
    say(f"  2. Move {ceremony.courier_file} to the online courier machine,")
    say("     then DELETE it from this desk. The desk does not need it, and a seized desk")
    say("     should not let anyone fetch bundles from the server.")
    say("  3. Keep the passphrase on paper in a safe place. It cannot be recovered.")
    say(f"  4. Draw recovery shares now: aryz desk recovery --dir {args.dir} --threshold 2")
    say("     --shares 3 (any 2 of 3 paper shares restore the desk's backups without the")
    say("     passphrase), and back the desk up after every import: aryz desk backup.")
    return 0


# --- unlock once ----------------------------------------------------------------------


def _cmd_unlock(args: argparse.Namespace) -> int:
    from service.desk.cli.session import start
    from service.desk.store.keys import unlock, weak_limits

    keyring = unlock(args.dir, read_passphrase())
    if weak_limits(keyring.limits):
        weak_kdf_warning("this desk's keys are wrapped")
    pid = start(args.dir, keyring, args.idle_minutes, args.max_hours)
    say(f"Desk unlocked for this terminal (agent process {pid}).")
    say(
        f"It locks after {args.idle_minutes:g} minutes without a command, after "
        f"{args.max_hours:g} hours in all, when this terminal closes, or now with:"
    )
    say(f"  aryz desk lock --dir {args.dir}")
    say("Until then anyone at this terminal can use the desk without the passphrase.")
    return 0


def _cmd_lock(args: argparse.Namespace) -> int:
    from service.desk.cli.session import lock

    if lock(args.dir):
        say("Locked: the session's keys are gone. Commands ask for the passphrase again.")
    else:
        say("No unlocked session for this desk in this terminal.")
    return 0


# --- named staff ----------------------------------------------------------------------


def _cmd_staff_list(args: argparse.Namespace) -> int:
    with open_for(args) as desk:
        members = desk.staff_members()
        me = desk.member
    if not members:
        say("This desk has no named staff: one passphrase opens it and entries carry no")
        say("names. Name yourself and add a colleague: aryz desk staff add NAME --me YOURNAME")
        return 0
    for m in members:
        state = f"removed {m.removed_week}" if m.removed_week else "can open the desk"
        added = f"added {m.added_week}" + (f" by {m.added_by}" if m.added_by else "")
        mark = "*" if m.name == me and m.active else " "
        say(safe(f"{mark} {m.name:<24} {added:<32} {state}"))
    return 0


def _cmd_staff_add(args: argparse.Namespace) -> int:
    with open_for(args) as desk:
        if desk.member is None:
            from service.desk.errors import StaffError

            if not args.me:
                raise StaffError()
            desk.name_first(args.me, read_passphrase())
        warn(f"Now the new member types their own passphrase ({safe(args.name)}).")
        chosen = new_passphrase(NEW_PASSPHRASE_ENV)
        warn("Wrapping the desk key for them (Argon2id; a few seconds) …")
        desk.add_staff(args.name, chosen)
    say(safe(f"{args.name} can now open this desk with their own passphrase."))
    say("Make a new backup (aryz desk backup): older backups do not know them.")
    return 0


def _cmd_staff_remove(args: argparse.Namespace) -> int:
    with open_for(args) as desk:
        desk.remove_staff(args.name)
    say(safe(f"{args.name} can no longer open this desk. Their name stays on their entries."))
    say("Older backups still open with their passphrase: make a new backup and destroy")
    say("the older ones, and see SECURITY.md (named staff) for what removal does not undo.")
    return 0


def _cmd_rotate(args: argparse.Namespace) -> int:
    from service.common.crypto.keys import fingerprint_lines
    from service.desk.casework.desk import rotate_key
    from service.desk.store.keys import kdf_limits_from_env, weak_limits

    refuse_if_spare(args.dir)  # before the passphrase: a spare changes no key
    if args.signing:
        from service.desk.cli.couriers import rotate_signing

        return rotate_signing(args)
    limits = kdf_limits_from_env()
    if weak_limits(limits):
        weak_kdf_warning("the keys are being wrapped")
    rotation = rotate_key(args.dir, read_passphrase(), limits)
    public_key = dict(rotation.public.epochs)[rotation.epoch]
    say(f"New decryption key, epoch {rotation.epoch}. Older keys are kept to read older items.")
    say("Fingerprint (compare aloud with a second person):")
    for line in fingerprint_lines(public_key):
        say(f"    {line}")
    say(f"Give {rotation.public_key_file} to the server operator: they add this block to the")
    say("coalition's entry and mark the older keys 'retired = true' once it is in place.")
    return 0


def _cmd_fingerprints(args: argparse.Namespace) -> int:
    desk = open_for(args)
    with desk:
        print_fingerprints(desk.public)
    return 0


def _cmd_statement(args: argparse.Namespace) -> int:
    from service.common.crypto.keys import fingerprint_lines
    from service.desk.store.statement import write_statement

    refuse_if_spare(args.dir)
    written = write_statement(
        args.dir, read_passphrase(), args.countries.split(","), args.fallback, args.epoch, args.duty
    )
    statement = written.statement
    say(f"Key statement {statement.serial} signed for coalition {statement.coalition}:")
    say(f"  countries: {', '.join(statement.countries) or '(none)'}")
    for epoch, public in statement.keys:
        say(f"  decryption key, epoch {epoch}:")
        for line in fingerprint_lines(public):
            say(f"      {line}")
    for epoch, _public, verify_key in statement.duty:
        say(f"  duty key, epoch {epoch} (urgent lane):")
        for line in fingerprint_lines(verify_key):
            say(f"      {line}")
    say(f"Give {written.path} to the server operator: the line goes into the coalition's")
    say("registry entry. People's clients check it against your signing-key fingerprint.")
    return 0


def _cmd_passphrase(_args: argparse.Namespace) -> int:
    from service.common.passphrase import suggest

    say(suggest())
    return 0


# --- import and export ----------------------------------------------------------------


def _cmd_import(args: argparse.Namespace) -> int:
    desk = open_for(args)
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        # Plain text, one line per step unless on a terminal, so logs stay readable.
        end = "\r" if interactive and done < total else "\n"
        sys.stderr.write(f"importing {done}/{total}{end}")
        sys.stderr.flush()

    with desk:
        report = desk.import_bundle(args.bundle, progress)
        _backup_reminder(desk)
    say(
        f"{report.imported} new items imported, {report.skipped} already on this desk, "
        f"{len(report.problems)} could not be imported."
    )
    if report.extra_data:
        warn("WARNING: the bundle has data after its last listed item; it was ignored.")
    if not report.problems:
        return 1 if report.extra_data else 0
    warn(f"WARNING: {len(report.problems)} items were NOT imported:")
    for problem in report.problems:
        kept = "kept in quarantine" if problem.quarantined else "nothing to keep"
        told = "; the server is told to drop it" if problem.acknowledged else ""
        warn(f"  item {safe(problem.item_prefix)}…: {problem.reason} ({kept}{told})")
    warn(f"Their sealed bytes are in {desk.quarantine}; 'aryz desk quarantine' lists them.")
    if any(not p.acknowledged for p in report.problems):
        warn("Those the server is not told to drop stay on the server: import a fresh copy")
        warn("of the bundle later.")
    if any(p.acknowledged for p in report.problems):
        warn("The others were malformed, altered or over a limit as they arrived: the next")
        warn("'aryz desk export' tells the server to drop them, so they stop coming back.")
    return 1


def _cmd_quarantine(args: argparse.Namespace) -> int:
    with open_for(args) as desk:
        if args.retry:
            retried = desk.retry_quarantine()
            say(f"{retried.imported} of {retried.listed} items in quarantine imported now.")
        held = desk.quarantined()
    for q in held:
        told = "server told to drop it" if q.acknowledged else "kept on the server"
        kept = "sealed bytes kept" if q.kept else "no bytes kept"
        say(f"item {safe(q.item)}  case {safe(q.case[:12])}  {safe(q.date)}")
        say(f"    {q.reason} ({told}; {kept})")
    say(f"{len(held)} items in quarantine" + (f", in {desk.quarantine}" if held else ""))
    return 0


# --- backups --------------------------------------------------------------------------


def _backup_reminder(desk: Desk) -> None:
    """One line when a report was imported after the last backup."""
    state = desk.backup_state()
    if state.reminder:
        last = state.last_date or "never"
        warn(
            f"BACKUP: {state.not_held} imported items are in no backup yet (last backup: "
            f"{last}). Run 'aryz desk backup --dir {desk.directory} --out FOLDER'."
        )


def _cmd_backup(args: argparse.Namespace) -> int:
    if args.dir is None or args.out is None:
        from service.desk.errors import DeskSetupError

        raise DeskSetupError("Give the desk folder (--dir) and the backup folder (--out).")
    with open_for(args) as desk:
        report = desk.backup(args.out)
        state = desk.backup_state()
    say(
        f"Backup written: {report.path} ({report.size} bytes; {report.cases} cases, "
        f"{report.items} items)."
    )
    if report.recovery:
        say("It opens with the passphrase, or with the recovery shares.")
    else:
        say("It opens with the passphrase only (no recovery shares drawn yet:")
        say("see 'aryz desk recovery').")
    if state.not_held == 0:
        say("The next outbox tells the server it may delete the items this backup holds.")
    say("Check it with 'aryz desk backup verify FILE', and keep the stick apart from the desk.")
    return 0


def _opening(args: argparse.Namespace) -> Any:
    from service.desk.store.backup import Opening
    from service.desk.store.recovery import combine

    if args.recovery_shares:
        return Opening(recovery_key=combine(_read_shares()))
    return Opening(passphrase=read_passphrase())


def _read_shares() -> list[str]:
    """Recovery shares, one per line: as many as the first share says are needed."""
    from service.desk.store.recovery import RecoverySharesError, threshold_of

    interactive = sys.stdin.isatty()
    shares: list[str] = []
    needed = 1
    while len(shares) < needed:
        if interactive:
            warn(f"Recovery share {len(shares) + 1} (20 words, then Enter):")
        line = sys.stdin.readline()
        if not line:
            raise RecoverySharesError()
        if not line.strip():
            continue
        shares.append(line)
        if len(shares) == 1:
            needed = threshold_of(line)
    return shares


def _cmd_backup_verify(args: argparse.Namespace) -> int:
    from service.desk.store.backup import verify_backup

    report = verify_backup(args.backup, _opening(args))
    say(
        f"The backup is whole and authentic: coalition {report.coalition}, made "
        f"{report.created}, {report.cases} cases, {report.items} items."
    )
    opens = "the passphrase or the recovery shares" if report.recovery else "the passphrase"
    say(f"It opens with {opens}.")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from service.common.passphrase import check_strength
    from service.desk.store.backup import restore_backup

    def restored_passphrase() -> str:
        warn("The shares fit. Choose a new passphrase for the restored desk.")
        chosen = new_passphrase()
        check_strength(chosen)
        return chosen

    report = restore_backup(args.backup, args.dir, _opening(args), restored_passphrase)
    say(
        f"Desk restored in {report.directory}: coalition {report.coalition}, backup of "
        f"{report.created}, {report.cases} cases, {report.items} items."
    )
    say("This is now a WORKING desk: use it only if the old desk is gone. For a second")
    say("laptop beside a working desk, delete this folder and use aryz desk spare enroll")
    say("(two working desks write outboxes the server refuses; README step 13).")
    say("Next steps:")
    say("  1. On the courier machine: aryz courier pull --sync … and import that bundle here.")
    say("     The server still keeps every report that no backup held, so the reports")
    say("     received since this backup return; --sync brings each case's last applied")
    say("     record number, so this desk continues every case where the server is.")
    say("  2. Make a backup, then export and push as usual; import the receipt here.")
    return 0


def _cmd_recovery(args: argparse.Namespace) -> int:
    from service.desk.store.recovery import check_counts

    check_counts(args.threshold, args.shares)
    with open_for(args) as desk:
        shares = desk.draw_recovery_shares(args.threshold, args.shares)
    say(
        f"{args.shares} recovery shares. Any {args.threshold} of them open this desk's "
        "backups without the passphrase; fewer reveal nothing."
    )
    say("Write each share on paper, give each to a different trusted person, and")
    say("never keep two together. They are shown once and not stored anywhere.")
    for number, share in enumerate(shares, start=1):
        words = share.split()
        say()
        say(f"Share {number} of {args.shares}:")
        for start in range(0, len(words), 5):
            say("    " + " ".join(words[start : start + 5]))
    say()
    say("Backups written from now on open with these shares. Write a backup now.")
    return 0


def _cmd_receipt(args: argparse.Namespace) -> int:
    with open_for(args) as desk:
        for path in args.receipts:
            report = desk.import_receipt(path)
            say(
                f"{path.name}: {report.applied} records applied on the server, "
                f"{report.resend} to send again, {report.renumbered} renumbered."
            )
            if not report.known:
                say("  (an outbox this desk did not write: only the server's numbers were used)")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    desk = open_for(args)
    with desk:
        if args.again:
            say(f"{desk.send_again()} records without a receipt are sent again.")
        report = desk.export_outbox(args.out)
    if report.path is None:
        say("Nothing to send: no status changes, replies or new imports since the last export.")
        return 0
    say(f"Outbox written: {report.records} signed records for {report.cases} cases.")
    say(f"Carry {report.path} to the courier machine.")
    return 0


# --- cases ----------------------------------------------------------------------------


def _cmd_list(args: argparse.Namespace) -> int:
    from service.desk.casework.desk import CaseFilter

    filters = CaseFilter(
        status=args.status,
        country=args.country,
        still_detained=args.still_detained,
        week=args.week,
        language=args.language,
    )
    with open_for(args) as desk:
        summaries = desk.list_cases(filters, args.sort)
        _backup_reminder(desk)
    rows = [("CASE", "RECEIVED", "COUNTRY", "STATUS", "PRIORITY", "ITEMS", "DETAINED")]
    for s in summaries:
        rows.append(
            (
                s.short_ref,
                s.received_week or "-",
                s.country or "-",
                s.status,
                s.priority,
                str(s.item_count),
                "yes" if s.still_detained else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        say(safe("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()))
    say(f"{len(summaries)} cases")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from service.desk.casework.desk import readable_answers

    with open_for(args) as desk:
        detail = desk.get_case(args.case)
        records = desk.records(args.case)
    s = detail.summary
    say(f"Case {safe(s.ref)}")
    # The server's status comes from a bundle manifest: a server may be hostile (F-10).
    say(f"  status      {safe(s.status)}   (server: {safe(str(detail.server_status))})")
    say(f"  priority    {safe(s.priority)}")
    say(f"  assignee    {safe(s.assignee or '-')}")
    say(f"  tags        {safe(', '.join(s.tags) or '-')}")
    say(
        f"  received    {safe(s.received_week or '-')}   country {safe(s.country or '-')}   "
        f"language {safe(s.language or '-')}"
    )
    confirmed = "confirmed by a sealed item" if detail.reply_key_confirmed else "NOT confirmed"
    say(f"  reply key   {confirmed}")
    if detail.completeness is not None:
        from service.desk.casework.completeness import summary_lines

        for number, line in enumerate(summary_lines(detail.completeness)):
            say(f"  {'items' if number == 0 else '':<12}{line}")
    if s.pending:
        say(f"  waiting     {s.pending} records for the next outbox")
    if detail.urgent is not None:
        sent = "sent to the duty officer" if detail.urgent.get("sent") else "no duty key: not sent"
        given = detail.urgent.get("answers")
        shown = ", ".join(f"{k}: {v}" for k, v in given.items()) if isinstance(given, dict) else ""
        say(f"  URGENT      the person gave the urgent consent ({sent})")
        if shown:
            say(f"              {safe(shown)}")
    reading = readable_answers(detail)
    if detail.questionnaire and not reading.exact:
        say()
        say("Note: these answers were given to a questionnaire version this desk does not")
        say("have exactly; the labels below may differ from what the person saw.")
    if not reading.sections:
        _section("Answers", [])
    for part in reading.sections:
        title = part.title.text if part.title.ours else safe(part.title.text)
        _section(
            f"Answers: {title}" + (f" ({part.number})" if part.number else ""),
            [
                (
                    row.label.text if row.label.ours else safe(row.label.text),
                    "\n".join(
                        v.text if v.ours else safe(v.text, multiline=row.typed) for v in row.values
                    ),
                )
                for row in part.rows
            ],
        )
    _section(
        "Attachments",
        [
            (
                safe(i.name or "(no name)"),
                safe(
                    f"{i.size} bytes   sha256 {i.sha256}\n"
                    f"item {i.ref}   sent {i.created or '-'}   imported {i.imported}",
                    multiline=True,
                ),
            )
            for i in detail.items
            if i.type == "file"
        ],
    )
    _section(
        "Messages",
        [(safe(m.created or "-"), safe(m.text, multiline=True)) for m in detail.messages],
    )
    _section(
        "Replies",
        [
            (
                f"{r.date}{_by(r.by)} "
                f"({'sent in an outbox' if r.exported else 'waiting for export'})",
                safe(r.text, multiline=True),
            )
            for r in detail.replies
        ],
    )
    _section("Notes", [(n.date + _by(n.by), safe(n.text, multiline=True)) for n in detail.notes])
    _section("Outbox records", [(f"{r.seq:>4}  {r.type:<9} {r.state}", "") for r in records])
    _section(
        "History",
        [
            (f"{e.date}  {safe(_describe(e.event, e.details))}{_by(e.by, e.week)}", "")
            for e in detail.history
        ],
    )
    return 0


def _by(name: str | None, week: str | None = None) -> str:
    """`` — Name, 2026-W49``: who wrote an entry (staff names are typed by staff, but
    still made harmless for the terminal)."""
    if name is None:
        return ""
    return safe(f"  — {name}" + (f", {week}" if week else ""))


def _section(title: str, blocks: list[tuple[str, str]]) -> None:
    """A titled list: each block a heading line and its text, indented below it."""
    say()
    say(title)
    for heading, body in blocks:
        say(f"  {heading}")
        if body:
            say(_indent(body, "      "))
    if not blocks:
        say("  (none)")


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines() or [""])


def _describe(event: str, details: dict[str, Any]) -> str:
    if event in ("status", "priority", "assignee", "country"):
        return f"{event}: {details.get('old') or '-'} -> {details.get('new') or '-'}"
    if event == "tags":
        added = ", ".join(str(t) for t in details.get("added", []))
        removed = ", ".join(str(t) for t in details.get("removed", []))
        return f"tags: added [{added}], removed [{removed}]"
    if event == "reply":
        return f"reply sealed (record {details.get('seq')})"
    if event == "acknowledged":
        return f"{details.get('count')} items acknowledged to the server"
    if event == "exported":
        return f"outbox written ({', '.join(str(t) for t in details.get('types', []))})"
    if event == "first_imported":
        return "first imported on this desk"
    if event == "transferred":
        how = " (the person agreed in a message)" if details.get("consent_in_message") else ""
        return f"passed to the coalition {details.get('to')}{how}"
    if event == "transfer_cancelled":
        return f"the transfer to the coalition {details.get('to')} was taken back"
    if event == "quarantined":
        told = "acknowledged to the server" if details.get("acknowledged") else "kept on the server"
        return f"item {str(details.get('item'))[:8]}… quarantined ({details.get('reason')}; {told})"
    return event


def _cmd_set(args: argparse.Namespace) -> int:
    from service.desk.errors import TriageError

    changes = (args.status, args.priority, args.assignee, args.note, args.answer_by, args.country)
    if all(c is None for c in changes) and not args.tag and not args.untag:
        raise TriageError(
            "Nothing to change: give --status, --priority, --assignee, --tag, --untag, --note, "
            "--answer-by or --country."
        )
    with open_for(args) as desk:
        summary = desk.set_triage(
            args.case,
            status=args.status,
            priority=args.priority,
            assignee=args.assignee,
            add_tags=args.tag,
            remove_tags=args.untag,
            note=args.note,
            answer_by=args.answer_by,
            country=args.country,
        )
    say(f"Case {summary.short_ref}: {summary.status}, priority {summary.priority}.")
    if summary.pending:
        say(f"{summary.pending} records wait for the next 'aryz desk export'.")
    return 0


def _cmd_reply(args: argparse.Namespace) -> int:
    from service.desk.errors import ReplyError

    try:
        # utf-8-sig: a byte-order mark from a Windows editor is not part of the reply.
        text = args.message_file.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise ReplyError() from None
    with open_for(args) as desk:
        desk.add_reply(args.case, text)
    say("Reply sealed; it goes out with the next 'aryz desk export'.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """``aryz-desk``: the desk's commands on their own (the same as ``aryz desk …``)."""
    parser = argparse.ArgumentParser(prog="aryz-desk", description=__doc__.splitlines()[0])
    add_commands(parser.add_subparsers(dest="desk_command", required=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``aryz-desk …`` (or ``python -m service.desk.cli.main …``)."""
    from service.common.cli import run

    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
