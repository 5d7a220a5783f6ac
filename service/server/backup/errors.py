"""Every failure ``aryz backup`` reports, one small class each.

Messages are fixed sentences for the operator. They never contain paths, key material,
database names or anything read from a backup: a message may be pasted into a ticket.

Tree (all under :class:`service.common.errors.AryzError`)::

    BackupError
    ├── BackupKeyError            a backup key file is missing, damaged or of the wrong kind
    │   └── BackupPassphraseError the passphrase does not unwrap the private key
    ├── BackupFileError           the backup file cannot be written or read
    │   └── BackupExistsError     the output file already exists
    ├── BackupFormatError         not a backup, damaged, truncated, or not for this key
    │   └── BackupKindError       a database backup where onion keys were expected, or back
    ├── RestoreTargetError        the restore target is not empty
    ├── SchemaError               the backup's schema is unknown to this version
    ├── DatabaseToolError         pg_dump / pg_restore missing or failed
    └── OnionKeysError            the onion key directory cannot be read
"""

from __future__ import annotations

from service.common.errors import AryzError


class BackupError(AryzError):
    code = "backup"
    message = "The backup could not be made or restored."


class BackupKeyError(BackupError):
    code = "backup_key"
    message = "The backup key file is missing, damaged, or not the kind this command needs."


class BackupPassphraseError(BackupKeyError):
    code = "backup_passphrase"
    message = "The passphrase is wrong, or the backup private key file is damaged."


class BackupFileError(BackupError):
    code = "backup_file"
    message = "The backup file could not be written or read. Nothing was changed."


class BackupExistsError(BackupFileError):
    code = "backup_exists"
    message = "The output file already exists. Backups never overwrite a file."


class BackupFormatError(BackupError):
    code = "backup_format"
    message = (
        "The backup failed authentication: it is damaged, truncated, not an Aryz backup, "
        "or not sealed to this backup key. Nothing was restored."
    )


class BackupKindError(BackupFormatError):
    code = "backup_kind"
    message = (
        "This file is the other kind of backup: use 'restore' for a database backup and "
        "'restore-onion-keys' for an onion key archive."
    )


class RestoreTargetError(BackupError):
    code = "restore_target"
    message = (
        "The restore target is not empty. Restore only into a new, empty data directory "
        "(and an empty PostgreSQL database); nothing was overwritten."
    )


class SchemaError(BackupError):
    code = "backup_schema"
    message = (
        "The backup's database schema is unknown to this version of Aryz (it may come from "
        "a newer version). Install that version to restore it."
    )


class DatabaseToolError(BackupError):
    code = "backup_db_tool"
    message = (
        "pg_dump or pg_restore is missing or failed. Install the PostgreSQL client of the "
        "server's major version and check that the database can be reached."
    )


class OnionKeysError(BackupError):
    code = "backup_onion_keys"
    message = (
        "The onion key directory cannot be read, or holds something other than plain "
        "files and directories."
    )
