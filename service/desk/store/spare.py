"""A spare desk: a second laptop kept in step with the working desk by its backups.

Why a spare and not two working desks: a coalition has one signing key, and every case's
records are numbered by the one desk that writes them. Two desks writing the same case
would use the same numbers, and whichever outbox reaches the server second is refused.
So a coalition has ONE working desk; a second laptop is a **spare**:

- ``aryz desk spare enroll BACKUP --dir NEW`` restores a backup of the working desk and
  marks the folder a spare (the file ``SPARE`` in it); it prints the fingerprints, to be
  read aloud and compared with the working desk's ``aryz desk fingerprints``;
- ``aryz desk spare update BACKUP`` replaces the spare's contents with a NEWER backup of
  the same coalition (each backup carries a number, ``serial``, that only grows); an
  older or the same backup is refused;
- a spare reads (list, show, fingerprints, stats) but refuses everything that writes:
  import, triage, replies, outboxes, receipts, backups, staff, couriers, key changes and
  statements (:func:`refuse_if_spare`), naming ``aryz desk spare promote``;
- ``aryz desk spare promote`` (a typed confirmation that the old desk is gone or will
  never export again) removes the mark. The promoted desk is a restored desk: its next
  ``aryz courier pull --sync`` bundle and receipts renumber any record the old desk may
  have used (service/desk/casework/resync.py), so its outboxes apply.

The mark is a plain file and deliberately so: removing it by hand is no accident, and the
checks run before the passphrase is asked.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import service.common.files as files
from service.desk.errors import DeskError

SPARE_FILE = "SPARE"
CONFIRMATION = "the old desk is gone"
_UPDATING_PREFIX = ".spare-update-"
_OLD_PREFIX = ".spare-old-"


class SpareDeskError(DeskError):
    code = "spare_desk"
    http_status = 409  # the web desk's page for it: templates/error.html
    message = (
        "This is a spare desk: it only reads, so that it never writes an outbox the server "
        "would refuse. Update it with: aryz desk spare update BACKUP. If the working desk "
        "is lost, make this one the working desk with: aryz desk spare promote."
    )


class NotSpareError(DeskError):
    code = "not_spare"
    message = "This desk is not a spare. Nothing was changed."


class OlderBackupError(DeskError):
    code = "spare_older_backup"
    message = (
        "This backup is not newer than the one the spare holds. Nothing was changed. "
        "Write a new backup on the working desk (aryz desk backup) and update from it."
    )


class SpareCoalitionError(DeskError):
    code = "spare_coalition"
    message = "This backup is of another coalition's desk. Nothing was changed."


class SpareInterruptedError(DeskError):
    code = "spare_interrupted"
    message = (
        "An update of this spare was interrupted between two renames: the spare is whole "
        "in the hidden folder .spare-old-… beside it. Rename that folder back to the "
        "spare's name, then update again."
    )


class PromoteNotConfirmedError(DeskError):
    code = "spare_promote_unconfirmed"
    message = "Not confirmed. The spare stays a spare. Nothing was changed."


@dataclass(frozen=True)
class SpareMark:
    coalition: str
    serial: int  # the backup's number (0: a backup written before numbers existed)
    created: str  # the backup's date


def read_mark(directory: Path) -> SpareMark | None:
    """The spare mark in ``directory``, or None for a working desk."""
    path = directory / SPARE_FILE
    if not path.exists() and not path.is_symlink():
        return None
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return SpareMark(str(data["coalition"]), int(data["serial"]), str(data["created"]))
    except (OSError, ValueError, KeyError, TypeError):
        # A mark that cannot be read still marks a spare: refuse rather than guess.
        return SpareMark("", -1, "")


def refuse_if_spare(directory: Path) -> None:
    """Raise :class:`SpareDeskError` when ``directory`` is a spare desk."""
    if read_mark(directory) is not None:
        raise SpareDeskError()


def write_mark(directory: Path, mark: SpareMark) -> None:
    document = {"coalition": mark.coalition, "serial": mark.serial, "created": mark.created}
    files.write_new(directory / SPARE_FILE, (json.dumps(document, indent=1) + "\n").encode())


def enroll(backup: Path, target: Path, opening: Any) -> tuple[Any, SpareMark]:
    """Restore ``backup`` into the new folder ``target`` as a spare."""
    from service.desk.store.backup import restore_backup

    report = restore_backup(backup, target, opening, None)
    mark = SpareMark(report.coalition, report.serial, report.created)
    write_mark(report.directory, mark)
    files.fsync_dir(report.directory)
    return report, mark


def update(backup: Path, directory: Path, opening: Any) -> tuple[Any, SpareMark]:
    """Replace the spare in ``directory`` with the newer ``backup``, whole or not at all."""
    from service.desk.store.backup import (
        RESTORING_PREFIX,
        remove_leftovers,
        remove_tree,
        restore_backup,
    )

    directory = directory.absolute()
    old_prefix = f"{_OLD_PREFIX}{directory.name}-"
    if (
        not directory.exists()
        and directory.parent.is_dir()
        and any(p.name.startswith(old_prefix) for p in directory.parent.iterdir())
    ):
        raise SpareInterruptedError()
    current = read_mark(directory)
    if current is None:
        raise NotSpareError()
    # What a killed update left: unfinished copies, or the old spare already replaced.
    for prefix in (f"{_UPDATING_PREFIX}{directory.name}-", old_prefix):
        remove_leftovers(directory.parent, prefix)
        remove_leftovers(directory.parent, RESTORING_PREFIX + prefix)
    staging = directory.parent / f"{_UPDATING_PREFIX}{directory.name}-{secrets.token_hex(6)}"
    report = restore_backup(backup, staging, opening, None)
    try:
        if report.coalition != current.coalition:
            raise SpareCoalitionError()
        if report.serial <= current.serial:
            raise OlderBackupError()
        mark = SpareMark(report.coalition, report.serial, report.created)
        write_mark(staging, mark)
        files.fsync_dir(staging)
        old = directory.parent / f"{_OLD_PREFIX}{directory.name}-{secrets.token_hex(6)}"
        os.rename(directory, old)
        os.rename(staging, directory)
        files.fsync_dir(directory.parent)
    except BaseException:
        remove_tree(staging)
        raise
    remove_tree(old)
    return report, mark


def promote(directory: Path, typed: str) -> SpareMark:
    """Make the spare in ``directory`` the working desk (``typed`` must confirm)."""
    mark = read_mark(directory)
    if mark is None:
        raise NotSpareError()
    if " ".join(typed.split()).lower() != CONFIRMATION:
        raise PromoteNotConfirmedError()
    (directory / SPARE_FILE).unlink()
    files.fsync_dir(directory)
    return mark
