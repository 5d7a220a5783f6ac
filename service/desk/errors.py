"""Every failure the desk reports, one small class each.

Messages are fixed sentences for coalition staff. They never contain plaintext, keys,
passphrases, case or item references, filenames or any other input: a message may end up
in a screenshot, a support request or a shell history.

Tree (all under :class:`service.common.errors.AryzError`; ``DeskError``, ``PassphraseError``,
``WeakPassphraseError``, ``DeskStoreError`` and ``DiskFullError`` are defined in
``service.common.errors``, because the shared private-file writer and passphrase rules
raise them)::

    DeskError
    ├── DeskSetupError              a desk cannot be created or found here
    │   ├── DeskExistsError         the folder already holds files
    │   ├── DeskNotFoundError       no desk in the folder
    │   └── KdfSettingError         ARYZ_DESK_KDF has an unknown value
    ├── PassphraseError             the passphrase is refused
    │   ├── WeakPassphraseError     too short, too few words, too guessable
    │   ├── PassphraseMismatchError the two entries differ
    │   ├── NoPassphraseError       no terminal to ask on and no ARYZ_DESK_PASSPHRASE
    │   └── WrongPassphraseError    it does not unlock this desk
    ├── DeskDamagedError            a desk file fails authentication or its format
    ├── StaffError                  a staff member cannot be added or removed
    ├── SessionError                the unlocked session (aryz desk unlock) is refused
    │   └── SessionOrphanError      this terminal's session has already ended
    ├── DeskStoreError              the desk's database cannot be written
    │   └── DiskFullError           no space left on the device
    ├── ForeignBundleError          the bundle is for another coalition
    ├── CaseRefError                CASE argument: too short, unknown or ambiguous
    │   ├── CaseRefTooShortError
    │   ├── CaseNotFoundError
    │   └── CaseRefAmbiguousError
    ├── ItemNotFoundError           no imported item with that reference
    ├── TriageError                 a status, priority, assignee, tag or note is refused
    ├── ReplyError                  the reply text cannot be sent
    │   └── ReplyKeyUnconfirmedError  no sealed item vouches for the case's reply key
    ├── OutboxPathError             the outbox file already exists or cannot be written
    ├── CoalitionError              another coalition's keys cannot be added or used
    ├── TransferError               a case cannot be passed to another coalition
    │   ├── TransferConsentError    the person did not agree to it
    │   ├── TransferredCaseError    the case was passed on: no more records for it
    │   ├── TransferTooLargeError   its items do not fit in one outbox
    │   └── TransferSentError       the transfer to take back is in an outbox already
    ├── OutcomeError                a legal-path event is refused (type, date, field, note)
    │   └── OutcomeNotFoundError    no such event on this case
    ├── StatsOptionError            a statistics threshold or period is not accepted
    ├── ReportPathError             the report file already exists or cannot be written
    └── StripError                  no metadata-stripped copy could be made
        └── StripUnavailableError   Pillow / pikepdf are not installed
"""

from __future__ import annotations

# Raised by code every machine shares (private files, passphrase rules), so defined in
# service.common.errors and named here for the desk's own code.
from service.common.errors import DeskError as DeskError
from service.common.errors import DeskStoreError as DeskStoreError
from service.common.errors import DiskFullError as DiskFullError
from service.common.errors import PassphraseError as PassphraseError
from service.common.errors import WeakPassphraseError as WeakPassphraseError


class DeskSetupError(DeskError):
    code = "desk_setup"
    message = "The desk folder cannot be used."


class DeskExistsError(DeskSetupError):
    code = "desk_exists"
    message = "That folder already holds files. A desk is only created in a new, empty folder."


class DeskNotFoundError(DeskSetupError):
    code = "desk_not_found"
    message = "No desk was found in that folder. Create one with 'aryz desk init'."


class KdfSettingError(DeskSetupError):
    code = "desk_kdf_setting"
    message = "ARYZ_DESK_KDF must be unset, 'sensitive' or (for tests only) 'minimum'."


class PassphraseMismatchError(PassphraseError):
    code = "passphrase_mismatch"
    message = "The two passphrases you typed differ. Nothing was created."


class NoPassphraseError(PassphraseError):
    code = "passphrase_missing"
    message = (
        "No passphrase: there is no terminal to ask on and ARYZ_DESK_PASSPHRASE is not set. "
        "Run the command in a terminal, or start a session with 'aryz desk unlock' first."
    )


class WrongPassphraseError(PassphraseError):
    code = "passphrase_wrong"
    message = "The passphrase is wrong, or the desk's key file is damaged."


class StaffError(DeskError):
    code = "desk_staff"
    message = (
        "That staff change is not possible: a name is 1 to 60 characters without control "
        "characters and is not taken; you cannot remove yourself or the last member."
    )


class SessionError(DeskError):
    code = "desk_session"
    message = (
        "The unlocked session could not be started or reached. Unlock again with "
        "'aryz desk unlock', or run the command without a session."
    )


class SessionOrphanError(SessionError):
    code = "desk_session_orphan"
    message = (
        "No session was started: this command does not run in a living terminal session "
        "(the shell that led it has ended, as under nohup or a finished job), and the "
        "session would end at once. Run 'aryz desk unlock' in the terminal you work in."
    )


class DeskDamagedError(DeskError):
    code = "desk_damaged"
    message = (
        "A desk file is damaged, was altered, or was made by a newer version of Aryz. "
        "Restore the desk folder from a backup."
    )


class ForeignBundleError(DeskError):
    code = "bundle_foreign"
    message = "This bundle is for another coalition. Nothing was imported."


class CaseRefError(DeskError):
    code = "case_ref"
    message = "That case reference cannot be used."


class CaseRefTooShortError(CaseRefError):
    code = "case_ref_short"
    message = "Give at least 6 hex characters of the case reference."


class CaseNotFoundError(CaseRefError):
    code = "case_not_found"
    message = "No case on this desk starts with that reference."


class CaseRefAmbiguousError(CaseRefError):
    code = "case_ref_ambiguous"
    message = "More than one case starts with that reference. Give more characters."


class ItemNotFoundError(DeskError):
    code = "item_not_found"
    message = "No imported item on this desk has that reference."


class TriageError(DeskError):
    code = "triage"
    message = "That status, priority, assignee, tag or note is not accepted."


class ReplyError(DeskError):
    code = "reply"
    message = "The reply must be UTF-8 text, not empty, and at most about 250 KB."


class ReplyKeyUnconfirmedError(ReplyError):
    code = "reply_key_unconfirmed"
    message = (
        "None of this case's sealed items confirms its reply key, so a reply could be "
        "read by someone else. Import the case's items first; nothing was sealed."
    )


class OutboxPathError(DeskError):
    code = "outbox_path"
    message = "A file already exists at the outbox path, or it cannot be written there."


class StripError(DeskError):
    code = "strip"
    message = (
        "No safe copy could be made of this file: it may be damaged, too large or made "
        "to harm the desk. The original is unchanged."
    )


class StripUnavailableError(StripError):
    code = "strip_unavailable"
    message = (
        "Safe copies need Pillow and pypdfium2 (the desk extra), which are not installed "
        "on this desk. The original is unchanged."
    )


class OutcomeError(DeskError):
    code = "outcome"
    http_status = 400
    message = (
        "That legal-path event is not accepted: check its type, its date (YYYY-MM-DD, not "
        "in the future), the values chosen and the note."
    )


class OutcomeNotFoundError(OutcomeError):
    code = "outcome_not_found"
    http_status = 404
    message = "This case has no legal-path event with that number."


class StatsOptionError(DeskError):
    code = "stats_option"
    http_status = 400
    message = (
        "The threshold must be a whole number from 2 to 100, and the period one of "
        "year, quarter or month."
    )


class ReportPathError(DeskError):
    code = "report_path"
    http_status = 400
    message = "A file already exists at the report path, or it cannot be written there."


class CoalitionError(DeskError):
    code = "coalition"
    message = "That coalition's keys cannot be added."


class TransferError(DeskError):
    code = "transfer"
    message = "The case cannot be passed to that coalition."


class TransferConsentError(TransferError):
    code = "transfer_consent"
    message = (
        "The person did not agree to their report being passed to another coalition. Ask "
        "them in a reply; if they agree in a message, run it again with "
        "--consent-in-message."
    )


class TransferredCaseError(TransferError):
    code = "transferred"
    message = (
        "This case was passed to another coalition: this desk sends nothing more for it. "
        "Notes stay possible."
    )


class TransferSentError(TransferError):
    code = "transfer_sent"
    message = (
        "That transfer is in an outbox already written (and perhaps delivered): it cannot be "
        "taken back here. A transfer can be taken back until it is exported, or after the "
        "server refused its outbox (the receipt says so)."
    )


class TransferTooLargeError(TransferError):
    code = "transfer_too_large"
    message = (
        "The case's files are too large to pass on in one outbox (about 47 MiB at most). "
        "Nothing was queued."
    )
