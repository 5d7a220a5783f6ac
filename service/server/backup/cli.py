"""``aryz backup …``: encrypted backups of the database and, separately, the onion keys.

Commands::

    keygen --out DIR                     the operator's backup key pair (private half
                                         wrapped under a passphrase; keep it offline)
    create --to PUBLIC --out FILE        database snapshot + registry, sealed (server side:
                                         needs only the public key)
    onion-keys --to PUBLIC --out FILE    the onion key directory, sealed, on its own
    verify FILE --key SECRET             authenticate a backup without restoring it
    restore FILE --key SECRET --into DIR [--database-url URL]
    restore-onion-keys FILE --key SECRET --into DIR

``create`` and ``onion-keys`` read the server's settings from ``ARYZ_*`` (the same
environment file as ``aryz serve``). ``--to`` may be given up to 8 times, e.g. for two
operators who each keep a key. The passphrase is asked on the terminal, or read from
``ARYZ_BACKUP_PASSPHRASE`` for scripts and tests. Errors print a fixed sentence, exit 2.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from service.common.cli import say

PASSPHRASE_ENV = "ARYZ_BACKUP_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
ONION_KEYS_ENV = "ARYZ_ONION_KEYS_DIR"  # the setting's variable, named in the help text


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the backup subcommands to the ``aryz`` parser."""
    backup = sub.add_parser("backup", help="encrypted backups and restores")
    commands = backup.add_subparsers(dest="backup_command", required=True)

    p = commands.add_parser("keygen", help="create the operator's backup key pair")
    p.add_argument("--out", required=True, type=Path, help="a new folder, kept offline")
    p.set_defaults(func=_cmd_keygen)

    p = commands.add_parser("create", help="back up the database and the registry")
    _to(p)
    p.add_argument("--out", required=True, type=Path, help="the backup file (must not exist)")
    p.set_defaults(func=_cmd_create)

    p = commands.add_parser("onion-keys", help="back up the onion key directory, separately")
    _to(p)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--from", dest="source", type=Path, help=f"default: ${ONION_KEYS_ENV}")
    p.set_defaults(func=_cmd_onion_keys)

    p = commands.add_parser(
        "sign", help="offline: check a backup as it is copied offsite, and sign it (FILE.sig)"
    )
    p.add_argument("file", type=Path)
    _key(p)
    p.set_defaults(func=_cmd_sign)

    p = commands.add_parser("verify", help="check that a backup opens, restoring nothing")
    p.add_argument("file", type=Path)
    _key(p)
    p.set_defaults(func=_cmd_verify)

    p = commands.add_parser("restore", help="restore a database backup into a new instance")
    p.add_argument("file", type=Path)
    _key(p)
    p.add_argument("--into", required=True, type=Path, help="a new, empty data directory")
    p.add_argument("--database-url", help="an empty PostgreSQL database (PostgreSQL backups)")
    p.add_argument(
        "--registry-reference",
        type=Path,
        help="the registry built from the coalitions' ceremony snippets, to compare keys with",
    )
    p.add_argument(
        "--accept-registry",
        action="store_true",
        help="restore the backup's registry although its coalition keys differ (shown)",
    )
    p.set_defaults(func=_cmd_restore)

    p = commands.add_parser("restore-onion-keys", help="restore an onion key archive")
    p.add_argument("file", type=Path)
    _key(p)
    p.add_argument("--into", required=True, type=Path, help="a new, empty directory")
    p.set_defaults(func=_cmd_restore_onion_keys)


def _to(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--to", required=True, action="append", type=Path, help="a backup-public.key file"
    )


def _key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key", required=True, type=Path, help="the backup-secret.key file")


def _passphrase(confirm: bool = False) -> str:
    from service.server.backup.errors import BackupPassphraseError

    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        return from_env
    first = getpass.getpass("Backup key passphrase: ")
    if confirm and getpass.getpass("Type it again: ") != first:
        raise BackupPassphraseError("The two passphrases you typed differ. Nothing was created.")
    return first


def _recipients(paths: list[Path]) -> list[bytes]:
    from service.server.backup.errors import BackupKeyError
    from service.server.backup.keys import read_public_key

    keys = [read_public_key(p) for p in paths]
    if not 1 <= len(set(keys)) == len(keys) <= 8:
        raise BackupKeyError("Give 1 to 8 different backup public keys.")
    return keys


def _cmd_keygen(args: argparse.Namespace) -> int:
    from service.common.crypto.keys import fingerprint_lines
    from service.common.passphrase import suggest
    from service.server.backup.keys import (
        PUBLIC_FILE,
        SECRET_FILE,
        create_key_pair,
        kdf_limits_from_env,
    )

    limits = kdf_limits_from_env()
    if os.environ.get(PASSPHRASE_ENV) is None and sys.stdin.isatty():
        sys.stderr.write(f"A passphrase of 7 random words you may use:\n    {suggest()}\n")
    public = create_key_pair(args.out, _passphrase(confirm=True), limits)
    say(f"Backup key pair written: {args.out / PUBLIC_FILE} and {args.out / SECRET_FILE}.")
    say("Fingerprint of the public key (check it on the server's copy):")
    for line in fingerprint_lines(public):
        say(f"    {line}")
    say(f"Copy only {PUBLIC_FILE} to the server (/etc/aryz/). Keep {SECRET_FILE} and its")
    say("passphrase offline, apart from the backups: together they open every backup.")
    return 0


def _cmd_create(args: argparse.Namespace) -> int:
    from service.server.backup.logic import create_database_backup
    from service.server.settings import Settings

    settings = Settings()
    manifest = create_database_backup(
        settings.resolved_database_url,
        settings.resolved_registry_path,
        _recipients(args.to),
        args.out,
    )
    say(f"Backup written: {args.out} ({manifest['backend']}, schema {manifest['schema']}).")
    say("It holds no onion keys and no token pepper; back those up separately.")
    return 0


def _cmd_onion_keys(args: argparse.Namespace) -> int:
    from service.server.backup.logic import create_onion_keys_archive
    from service.server.settings import Settings

    source = args.source or Settings().onion_keys_dir
    names = create_onion_keys_archive(source, _recipients(args.to), args.out)
    say(f"Onion key archive written: {args.out} ({len(names)} files).")
    say("Whoever opens it can run the onion addresses: keep it apart from database backups.")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from service.server.backup.keys import unlock_key
    from service.server.backup.logic import verify_backup

    manifest = verify_backup(args.file, unlock_key(args.key, _passphrase()))
    from service.common.text import for_terminal

    # The manifest is read from the backup file, which a seized server could forge (F-10).
    kind, week = for_terminal(manifest["kind"]), for_terminal(manifest["week"])
    say(f"The backup is complete, opens, and is signed by your offline key: {kind}, made {week}.")
    return 0


def _cmd_sign(args: argparse.Namespace) -> int:
    from service.server.backup.keys import unlock_key
    from service.server.backup.logic import sign_verified_backup

    out = sign_verified_backup(args.file, unlock_key(args.key, _passphrase()))
    say(f"The backup opens and is complete; signed: {out}. Keep the .sig next to the file.")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from service.server.backup.keys import unlock_key
    from service.server.backup.logic import restore_database

    reference = None
    if args.registry_reference is not None:
        reference = args.registry_reference.read_text(encoding="utf-8")
    restored = restore_database(
        args.file,
        unlock_key(args.key, _passphrase()),
        args.into,
        args.database_url,
        registry_reference=reference,
        accept_registry=args.accept_registry,
    )
    from service.common.text import for_terminal

    backend, revision = for_terminal(restored.backend), for_terminal(restored.revision)
    say(f"Restored a {backend} database (schema {revision}) and the registry.")
    if not restored.current:
        say("The schema is older than this version: run 'aryz db upgrade' before serving.")
    say("Set ARYZ_TOKEN_PEPPER to the old instance's pepper, or no token finds its case.")
    return 0


def _cmd_restore_onion_keys(args: argparse.Namespace) -> int:
    from service.server.backup.keys import unlock_key
    from service.server.backup.logic import restore_onion_keys

    names = restore_onion_keys(args.file, unlock_key(args.key, _passphrase()), args.into)
    say(f"Restored {len(names)} onion key files into {args.into} (0700 folders, 0600 files).")
    say("Give the folder to tor's user (chown -R debian-tor) if tor reads it directly.")
    return 0
