"""``aryz desk statement``: sign the coalition's key statement for the registry (F-02).

The statement names the decryption keys clients should seal to (by default the newest
epoch) and the countries the coalition serves, signed with the desk's signing key
(``service.common.contract.statement``). The operator pastes the line into the coalition's
registry entry; the server refuses to start if it does not match the entry, and clients
that pinned the signing key seal only to the keys it names.

Each statement gets the next serial number, kept in ``key-statement-serial`` in the desk
folder (a public counter, not a secret), so clients can refuse an older statement a server
replays after a rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import service.common.files as files
import service.desk.store.keys as keys
from service.common.contract.duty_key import load_duty_public
from service.common.contract.statement import KeyStatement, make_statement
from service.desk.errors import DeskError

SERIAL_FILE = "key-statement-serial"
STATEMENT_FILE = "key-statement.toml"


class StatementChoiceError(DeskError):
    code = "desk_statement"
    message = "Name epochs this desk has, and two-letter country codes."


@dataclass(frozen=True)
class Written:
    path: Path
    statement: KeyStatement


def _next_serial(directory: Path) -> int:
    try:
        return int((directory / SERIAL_FILE).read_text(encoding="ascii").strip()) + 1
    except (OSError, ValueError):
        return 1


def write_statement(
    directory: Path,
    passphrase: str,
    countries: list[str],
    fallback: bool,
    epochs: list[int] | None = None,
    duty: list[Path] | None = None,
) -> Written:
    """``duty``: public files of the coalition's duty keys (``aryz duty keygen``), named in
    the statement so clients and the status page can check the duty officer's word."""
    keyring = keys.unlock(directory, passphrase)
    known = dict(keyring.public.epochs)
    chosen = sorted(set(epochs)) if epochs else [keyring.public.latest_epoch]
    if any(e not in known for e in chosen):
        raise StatementChoiceError()
    duty_keys = []
    for path in duty or []:
        coalition, epoch, public, verify_key = load_duty_public(path)
        if coalition != keyring.coalition:
            raise StatementChoiceError("That duty key is another coalition's.")
        duty_keys.append((epoch, public, verify_key))
    if len({e for e, _p, _v in duty_keys}) != len(duty_keys):
        raise StatementChoiceError("Two duty keys of one epoch.")
    statement = KeyStatement(
        coalition=keyring.coalition,
        countries=tuple(sorted({c.strip().upper() for c in countries if c.strip()})),
        fallback=fallback,
        serial=_next_serial(directory),
        keys=tuple((e, known[e]) for e in chosen),
        duty=tuple(sorted(duty_keys)),
    )
    text = make_statement(statement, keyring.signing_seed)
    path = directory / STATEMENT_FILE
    line = (
        f"# Key statement {statement.serial} of coalition {statement.coalition}: paste this\n"
        "# line into its [[coalition]] entry in the server's registry.toml.\n"
        f"key_statement = '{text}'\n"
    )
    files.replace(path, line.encode("utf-8"))
    files.replace(directory / SERIAL_FILE, f"{statement.serial}\n".encode("ascii"))
    return Written(path, statement)
