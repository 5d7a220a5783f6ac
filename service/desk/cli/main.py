"""``aryz desk …``: the coalition's air-gapped desk on the command line.

Commands (every one but ``passphrase`` takes ``--dir DIR``, the desk folder)::

    init --coalition ID      key ceremony: keys, store, registry snippet, courier credential
    rotate                   add the next decryption key epoch
    fingerprints             print the desk's key fingerprints again
    passphrase               suggest a 7-word passphrase
    import BUNDLE            import a bundle from the server (via the courier)
    list [filters] [--sort]  cases as a table
    show CASE                one case: answers, attachments, messages, notes, history
    set CASE [--status …]    triage: status, priority, assignee, tags, a note
    reply CASE --message-file F   seal a reply to the person who filed
    export --out OUTBOX      write the signed outbox for the courier
    outcome add|list|remove  a case's legal path (service/desk/cli/stats.py)
    stats, report            publishable statistics, small counts hidden

The passphrase is asked once per command (twice at ``init``), or read from
``ARYZ_DESK_PASSPHRASE`` for scripts and tests. Errors print a fixed sentence and exit 2;
``import`` exits 1 when some items could not be imported.

Everything a submitter wrote is untrusted: before it reaches the terminal, control and
format characters (escape sequences, bidirectional overrides, zero-width characters) are
shown as ``\\u{…}``, so an answer or a filename cannot rewrite the screen or disguise
itself.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.desk.casework.desk import Desk
    from service.desk.store.keys import PublicKeys

PASSPHRASE_ENV = "ARYZ_DESK_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
# Copies of service.common.contract.outbox.STATUSES and
# service.desk.casework.cases.PRIORITIES, so that building the ``aryz`` parser does not
# load libsodium; a test keeps them equal.
STATUSES = ("received", "under_review", "will_contact", "need_info", "referred", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the desk subcommands to the ``aryz`` parser."""
    desk = sub.add_parser("desk", help="the coalition's air-gapped desk: keys, import, triage")
    commands = desk.add_subparsers(dest="desk_command", required=True)

    p = commands.add_parser("init", help="key ceremony: create a desk in a new folder")
    _dir(p)
    p.add_argument("--coalition", required=True, help="the coalition id, as in the registry")
    p.set_defaults(func=_cmd_init)

    p = commands.add_parser("rotate", help="add a new decryption key (the next epoch)")
    _dir(p)
    p.set_defaults(func=_cmd_rotate)

    p = commands.add_parser("fingerprints", help="print the desk's key fingerprints")
    _dir(p)
    p.set_defaults(func=_cmd_fingerprints)

    p = commands.add_parser("passphrase", help="suggest a passphrase of 7 random words")
    p.set_defaults(func=_cmd_passphrase)

    p = commands.add_parser("import", help="import a bundle from the server")
    _dir(p)
    p.add_argument("bundle", type=Path)
    p.set_defaults(func=_cmd_import)

    p = commands.add_parser("list", help="list cases")
    _dir(p)
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--country", help="two-letter code, e.g. KZ")
    p.add_argument("--still-detained", action="store_true")
    p.add_argument("--week", help="ISO week received, e.g. 2026-W47")
    p.add_argument("--language", help="language of the report, e.g. ru")
    p.add_argument("--sort", choices=("received", "priority", "status"), default="received")
    p.set_defaults(func=_cmd_list)

    p = commands.add_parser("show", help="show one case")
    _dir(p)
    p.add_argument("case", help="the case reference, or its first 6 or more characters")
    p.set_defaults(func=_cmd_show)

    p = commands.add_parser("set", help="triage a case")
    _dir(p)
    p.add_argument("case")
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--priority", choices=PRIORITIES)
    p.add_argument("--assignee", help="who handles the case ('' clears)")
    p.add_argument("--tag", action="append", default=[])
    p.add_argument("--untag", action="append", default=[])
    p.add_argument("--note", help="add an internal note (never sent)")
    p.set_defaults(func=_cmd_set)

    p = commands.add_parser("reply", help="seal a reply for the person who filed the case")
    _dir(p)
    p.add_argument("case")
    p.add_argument("--message-file", required=True, type=Path, help="UTF-8 text")
    p.set_defaults(func=_cmd_reply)

    p = commands.add_parser("export", help="write the signed outbox for the courier")
    _dir(p)
    p.add_argument("--out", required=True, type=Path, help="a new file, e.g. on the USB stick")
    p.set_defaults(func=_cmd_export)

    from service.desk.cli.stats import register as register_stats  # outcome, stats, report

    register_stats(commands)

    from service.desk.web.cli import register as register_web  # ``aryz desk web``

    register_web(commands)


def _dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", required=True, type=Path, help="the desk folder")


# --- output ---------------------------------------------------------------------------


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _warn(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def safe(text: str, *, multiline: bool = False) -> str:
    """Make untrusted text harmless on a terminal (see the module docstring)."""
    out = []
    for ch in text:
        shown = ch == "\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp")
        if shown or (multiline and ch == "\n"):
            out.append(ch)
        else:
            out.append(f"\\u{{{ord(ch):04X}}}")
    return "".join(out)


def _weak_kdf_warning(what: str) -> None:
    _warn(
        "!" * 78 + "\n"
        f"WARNING: {what} with libsodium's MINIMUM Argon2id limits\n"
        "(ARYZ_DESK_KDF=minimum). That is for tests only: the passphrase protects almost\n"
        "nothing. Never keep real cases on such a desk.\n" + "!" * 78
    )


# --- passphrase -----------------------------------------------------------------------


def _passphrase() -> str:
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        return from_env
    return getpass.getpass("Desk passphrase: ")


def _new_passphrase() -> str:
    from service.common.passphrase import normalise, suggest
    from service.desk.errors import PassphraseMismatchError

    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        return from_env
    if sys.stdin.isatty():
        # Shown on the screen only (not when output goes to a file): write it on paper.
        _warn("A passphrase of 7 random words was drawn for you; you may use it:")
        _warn(f"    {suggest()}")
        _warn("Write it on paper now. Without it nothing on this desk can ever be read.\n")
    first = getpass.getpass("New desk passphrase: ")
    second = getpass.getpass("Type it again: ")
    if normalise(first) != normalise(second):
        raise PassphraseMismatchError()
    return first


def _open(args: argparse.Namespace) -> Desk:
    from service.desk.casework.cases import check_prefix
    from service.desk.casework.desk import open_desk
    from service.desk.store.keys import weak_limits

    if getattr(args, "case", None) is not None:
        check_prefix(args.case)  # a typo is refused before the slow unlock
    desk = open_desk(args.dir, _passphrase())
    if weak_limits(desk.limits):
        _weak_kdf_warning("this desk's keys are wrapped")
    return desk


# --- key ceremony ---------------------------------------------------------------------


def _cmd_init(args: argparse.Namespace) -> int:
    from service.common.passphrase import check_strength
    from service.desk.casework.desk import init_desk
    from service.desk.store.keys import check_coalition_id, kdf_limits_from_env, weak_limits

    check_coalition_id(args.coalition)
    limits = kdf_limits_from_env()
    if weak_limits(limits):
        _weak_kdf_warning("the keys are being wrapped")
    passphrase = _new_passphrase()
    check_strength(passphrase)
    _warn("Wrapping the keys (Argon2id; this takes a few seconds) …")
    ceremony = init_desk(args.dir, args.coalition, passphrase, limits)
    _say(f"Desk created for coalition {ceremony.public.coalition}.")
    _say()
    _print_fingerprints(ceremony.public)
    _say("Next steps:")
    _say(f"  1. Give {ceremony.public_key_file} to the server operator. They fill in the")
    _say("     coalition's name and countries and paste it into the registry. The site then")
    _say("     shows the fingerprints on its keys page: compare them with the ones above.")
    _say(f"  2. Move {ceremony.courier_file} to the online courier machine,")
    _say("     then DELETE it from this desk. The desk does not need it, and a seized desk")
    _say("     should not let anyone fetch bundles from the server.")
    _say("  3. Keep the passphrase on paper in a safe place. It cannot be recovered.")
    return 0


def _cmd_rotate(args: argparse.Namespace) -> int:
    from service.desk.casework.desk import rotate_key
    from service.desk.store.keys import fingerprint_lines, kdf_limits_from_env, weak_limits

    limits = kdf_limits_from_env()
    if weak_limits(limits):
        _weak_kdf_warning("the keys are being wrapped")
    rotation = rotate_key(args.dir, _passphrase(), limits)
    public_key = dict(rotation.public.epochs)[rotation.epoch]
    _say(f"New decryption key, epoch {rotation.epoch}. Older keys are kept to read older items.")
    _say("Fingerprint (compare aloud with a second person):")
    for line in fingerprint_lines(public_key):
        _say(f"    {line}")
    _say(f"Give {rotation.public_key_file} to the server operator: they add this block to the")
    _say("coalition's entry and mark the older keys 'retired = true' once it is in place.")
    return 0


def _cmd_fingerprints(args: argparse.Namespace) -> int:
    desk = _open(args)
    with desk:
        _print_fingerprints(desk.public)
    return 0


def _print_fingerprints(public: PublicKeys) -> None:
    from service.desk.store.keys import fingerprint_lines

    _say("Fingerprints. Read them aloud to a second person, who checks each group:")
    shown = [(f"decryption key, epoch {e}", k) for e, k in public.epochs]
    shown.append(("signing key (signs status changes and replies)", public.signing_key))
    shown += [("courier credential (for the online machine)", k) for k in public.courier_keys]
    for title, key in shown:
        _say(f"  {title}:")
        for line in fingerprint_lines(key):
            _say(f"      {line}")
    _say()


def _cmd_passphrase(_args: argparse.Namespace) -> int:
    from service.common.passphrase import suggest

    _say(suggest())
    return 0


# --- import and export ----------------------------------------------------------------


def _cmd_import(args: argparse.Namespace) -> int:
    desk = _open(args)
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        # Plain text, one line per step unless on a terminal, so logs stay readable.
        end = "\r" if interactive and done < total else "\n"
        sys.stderr.write(f"importing {done}/{total}{end}")
        sys.stderr.flush()

    with desk:
        report = desk.import_bundle(args.bundle, progress)
    _say(
        f"{report.imported} new items imported, {report.skipped} already on this desk, "
        f"{len(report.problems)} could not be imported."
    )
    if report.extra_data:
        _warn("WARNING: the bundle has data after its last listed item; it was ignored.")
    if not report.problems:
        return 1 if report.extra_data else 0
    _warn(f"WARNING: {len(report.problems)} items were NOT imported:")
    for problem in report.problems:
        kept = "kept in quarantine" if problem.quarantined else "nothing to keep"
        _warn(f"  item {problem.item_prefix}…: {problem.reason} ({kept})")
    _warn(f"Their sealed bytes are in {desk.quarantine}. They were not acknowledged, so the")
    _warn("server keeps them: import a fresh copy of the bundle later.")
    return 1


def _cmd_export(args: argparse.Namespace) -> int:
    desk = _open(args)
    with desk:
        report = desk.export_outbox(args.out)
    if report.path is None:
        _say("Nothing to send: no status changes, replies or new imports since the last export.")
        return 0
    _say(f"Outbox written: {report.records} signed records for {report.cases} cases.")
    _say(f"Carry {report.path} to the courier machine.")
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
    with _open(args) as desk:
        summaries = desk.list_cases(filters, args.sort)
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
        _say("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    _say(f"{len(summaries)} cases")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from service.desk.casework.desk import readable_answers

    with _open(args) as desk:
        detail = desk.get_case(args.case)
    s = detail.summary
    _say(f"Case {s.ref}")
    _say(f"  status      {s.status}   (server: {detail.server_status})")
    _say(f"  priority    {s.priority}")
    _say(f"  assignee    {safe(s.assignee or '-')}")
    _say(f"  tags        {safe(', '.join(s.tags) or '-')}")
    _say(
        f"  received    {s.received_week or '-'}   country {s.country or '-'}   "
        f"language {s.language or '-'}"
    )
    confirmed = "confirmed by a sealed item" if detail.reply_key_confirmed else "NOT confirmed"
    _say(f"  reply key   {confirmed}")
    if s.pending:
        _say(f"  waiting     {s.pending} records for the next outbox")
    reading = readable_answers(detail)
    if detail.questionnaire and not reading.exact:
        _say()
        _say("Note: these answers were given to a questionnaire version this desk does not")
        _say("have exactly; the labels below may differ from what the person saw.")
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
                f"{i.size} bytes   sha256 {i.sha256}\n"
                f"item {i.ref}   sent {i.created or '-'}   imported {i.imported}",
            )
            for i in detail.items
            if i.type == "file"
        ],
    )
    _section(
        "Messages",
        [(m.created or "-", safe(m.text, multiline=True)) for m in detail.messages],
    )
    _section(
        "Replies",
        [
            (
                f"{r.date} ({'sent in an outbox' if r.exported else 'waiting for export'})",
                safe(r.text, multiline=True),
            )
            for r in detail.replies
        ],
    )
    _section("Notes", [(n.date, safe(n.text, multiline=True)) for n in detail.notes])
    _section(
        "History",
        [(f"{e.date}  {safe(_describe(e.event, e.details))}", "") for e in detail.history],
    )
    return 0


def _section(title: str, blocks: list[tuple[str, str]]) -> None:
    """A titled list: each block a heading line and its text, indented below it."""
    _say()
    _say(title)
    for heading, body in blocks:
        _say(f"  {heading}")
        if body:
            _say(_indent(body, "      "))
    if not blocks:
        _say("  (none)")


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines() or [""])


def _describe(event: str, details: dict[str, Any]) -> str:
    if event in ("status", "priority", "assignee"):
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
    return event


def _cmd_set(args: argparse.Namespace) -> int:
    from service.desk.errors import TriageError

    changes = (args.status, args.priority, args.assignee, args.note)
    if all(c is None for c in changes) and not args.tag and not args.untag:
        raise TriageError(
            "Nothing to change: give --status, --priority, --assignee, --tag, --untag or --note."
        )
    with _open(args) as desk:
        summary = desk.set_triage(
            args.case,
            status=args.status,
            priority=args.priority,
            assignee=args.assignee,
            add_tags=args.tag,
            remove_tags=args.untag,
            note=args.note,
        )
    _say(f"Case {summary.short_ref}: {summary.status}, priority {summary.priority}.")
    if summary.pending:
        _say(f"{summary.pending} records wait for the next 'aryz desk export'.")
    return 0


def _cmd_reply(args: argparse.Namespace) -> int:
    from service.desk.errors import ReplyError

    try:
        # utf-8-sig: a byte-order mark from a Windows editor is not part of the reply.
        text = args.message_file.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise ReplyError() from None
    with _open(args) as desk:
        desk.add_reply(args.case, text)
    _say("Reply sealed; it goes out with the next 'aryz desk export'.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m service.desk.cli.main …`` runs the same commands as ``aryz desk …``."""
    from service.server.cli.main import main as aryz

    return aryz(["desk", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
