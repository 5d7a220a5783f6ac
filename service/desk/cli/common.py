"""What every ``aryz desk`` command shares: the folder option, output to the terminal
(untrusted text escaped by :func:`safe`), the passphrase prompts and the warning for a
desk wrapped with test limits, and opening the desk. ``main.py``, ``stats.py`` and the
web command (``service/desk/web/cli.py``) use these; none of them imports another."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from service.common.cli import say as say
from service.common.text import for_terminal

if TYPE_CHECKING:
    from service.desk.casework.desk import Desk
    from service.desk.store.keys import PublicKeys

PASSPHRASE_ENV = "ARYZ_DESK_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
NEW_PASSPHRASE_ENV = "ARYZ_DESK_NEW_PASSPHRASE"  # noqa: S105 - the variable's name


def dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", required=True, type=Path, help="the desk folder")


def warn(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def safe(text: str, *, multiline: bool = False) -> str:
    """Make untrusted text harmless on a terminal (service.common.text.for_terminal)."""
    return for_terminal(text, multiline=multiline)


def weak_kdf_warning(what: str) -> None:
    warn(
        "!" * 78 + "\n"
        f"WARNING: {what} with libsodium's MINIMUM Argon2id limits\n"
        "(ARYZ_DESK_KDF=minimum). That is for tests only: the passphrase protects almost\n"
        "nothing. Never keep real cases on such a desk.\n" + "!" * 78
    )


def read_passphrase() -> str:
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        return from_env
    return _ask("Desk passphrase: ")


def _ask(prompt: str) -> str:
    """A passphrase typed at the terminal; a clear error, not a traceback, without one."""
    from service.desk.errors import NoPassphraseError

    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise NoPassphraseError() from None


def new_passphrase(env: str = PASSPHRASE_ENV) -> str:
    from service.common.passphrase import normalise, suggest
    from service.desk.errors import PassphraseMismatchError

    from_env = os.environ.get(env)
    if from_env is not None:
        return from_env
    if sys.stdin.isatty():
        # Shown on the screen only (not when output goes to a file): write it on paper.
        warn("A passphrase of 7 random words was drawn for you; you may use it:")
        warn(f"    {suggest()}")
        warn("Write it on paper now. Without it nothing on this desk can ever be read.\n")
    first = _ask("New desk passphrase: ")
    second = _ask("Type it again: ")
    if normalise(first) != normalise(second):
        raise PassphraseMismatchError()
    return first


def open_for(args: argparse.Namespace) -> Desk:
    from service.desk.casework.cases import check_prefix
    from service.desk.casework.desk import open_desk
    from service.desk.store.keys import weak_limits

    if getattr(args, "case", None) is not None:
        check_prefix(args.case)  # a typo is refused before the slow unlock
    from service.desk.casework.desk import desk_from_keyring
    from service.desk.cli.session import fetch

    keyring = fetch(args.dir)  # this terminal's unlocked session (aryz desk unlock), if any
    if keyring is not None:
        return desk_from_keyring(args.dir, keyring)
    desk = open_desk(args.dir, read_passphrase())
    if weak_limits(desk.limits):
        weak_kdf_warning("this desk's keys are wrapped")
    return desk


def print_fingerprints(public: PublicKeys) -> None:
    """The desk's fingerprints in groups of four, to read aloud (init, fingerprints, spare)."""
    from service.common.crypto.keys import fingerprint_lines

    say("Fingerprints. Read them aloud to a second person, who checks each group:")
    shown = [(f"decryption key, epoch {e}", k) for e, k in public.epochs]
    shown.append(("signing key (signs status changes and replies)", public.signing_key))
    shown += [("courier credential (for the online machine)", k) for k in public.courier_keys]
    for title, key in shown:
        say(f"  {title}:")
        for line in fingerprint_lines(key):
            say(f"      {line}")
    say()
