"""Every failure Aryz reports, as one small class each.

Messages are fixed strings. They never contain plaintext, keys, tokens, case or item ids,
filenames or any other input: an error page or log line must be safe to show to whoever
seized the server. The web layer maps ``code`` to a translated sentence; the CLI prints
``message``.

Tree::

    AryzError
    ├── ConfigError                  settings or start-up refused
    ├── RegistryError                coalition registry file invalid
    ├── InputError                   bad input from a user or client (HTTP 4xx)
    │   ├── TokenFormatError         not a case token (wrong length or characters)
    │   ├── TokenChecksumError       check digit wrong: a typo
    │   ├── FormError                malformed form / multipart body
    │   ├── FormStateError           earlier steps' sealed answers refused (old, altered,
    │   │                            or from before a restart)
    │   ├── AnswersError             answers that do not fit the named questionnaire
    │   ├── TooLargeError            body, field or file over its cap
    │   │   └── TooManyFilesError        more files in one form than allowed: the
    │   │                                ones before the cap were kept, no others
    │   ├── ClientGoneError          the client went away mid-request (a dropped
    │   │                            circuit): expected, counted, never logged
    │   ├── UnknownCoalitionError    no coalition for that choice
    │   ├── OriginError              cross-origin request or wrong Host
    │   ├── UploadError              resumable upload offset or state wrong
    │   │   └── UploadGrantError     a page's upload grant is old, altered or from before
    │   │                            a restart
    │   └── NotFoundError            no such case / upload (same answer for every reason)
    ├── BusyError                    too many key derivations waiting (HTTP 503)
    ├── StorageFullError             no room for another upload now: a case, total or
    │                                free-space bound (HTTP 503, Retry-After)
    ├── EnvelopeError                a sealed item is refused
    │   ├── EnvelopeFormatError      bad magic, version, header or framing
    │   ├── EnvelopeKeyError         not sealed to any key we hold, or the key is wrong
    │   ├── EnvelopeTruncatedError   stream ends before its final chunk
    │   └── EnvelopeCorruptError     a chunk fails authentication, is reordered,
    │                                duplicated, or data follows the final chunk
    ├── StorageError                 the database or disk failed; nothing acknowledged
    └── DeskError                    the desk (and the backup tool's shared parts); the
        │                            rest of its tree is in service/desk/errors.py
        ├── PassphraseError          the passphrase is refused
        │   └── WeakPassphraseError  too short, too few words, too guessable
        └── DeskStoreError           a private file or the desk's database cannot be written
            └── DiskFullError        no space left on the device
"""

from __future__ import annotations


class AryzError(Exception):
    """Base of every Aryz error. ``code`` is stable and machine-readable."""

    code = "error"
    message = "Something went wrong."
    http_status = 500

    def __init__(self, message: str | None = None) -> None:
        # Subclasses may pass a more specific *fixed* message; never interpolate input.
        super().__init__(message or self.message)
        if message is not None:
            self.message = message


class ConfigError(AryzError):
    code = "config"
    message = "The configuration is not valid."


class RegistryError(AryzError):
    code = "registry"
    message = "The coalition registry is not valid."


class InputError(AryzError):
    code = "input"
    message = "The request was not understood."
    http_status = 400


class TokenFormatError(InputError):
    code = "token_format"
    message = "A case token is 24 digits. Please check what you typed."


class TokenChecksumError(InputError):
    code = "token_checksum"
    message = "The case token has a typo. Please check the digits."


class FormError(InputError):
    code = "form"
    message = "The form could not be read. Please try again."


class FormStateError(InputError):
    code = "form_state"
    message = "The answers from the earlier pages could not be read back. Please enter them again."


class AnswersError(InputError):
    code = "answers"
    message = "The answers do not fit the questionnaire they name."


class TooLargeError(InputError):
    code = "too_large"
    message = "What was sent is larger than allowed."
    http_status = 413


class TooManyFilesError(TooLargeError):
    code = "too_many_files"
    message = "More files were sent at once than allowed; only the first ones were kept."


class ClientGoneError(InputError):
    code = "client_gone"
    message = "The connection closed before the request was complete."


class UnknownCoalitionError(InputError):
    code = "unknown_coalition"
    message = "Please choose a country or an organisation from the list."


class OriginError(InputError):
    code = "origin"
    message = "This request did not come from this site."
    http_status = 403


class UploadError(InputError):
    code = "upload"
    message = "The upload could not continue. Please start it again."
    http_status = 409


class UploadGrantError(UploadError):
    code = "upload_grant"
    message = "This page is too old to send files from. Please open your case again."


class NotFoundError(InputError):
    code = "not_found"
    message = "Nothing was found."
    http_status = 404


class BusyError(AryzError):
    code = "busy"
    message = "The service is busy. Please try again in a minute."
    http_status = 503


class StorageFullError(AryzError):
    code = "storage_full"
    message = "The service cannot take more files right now. Please try again later."
    http_status = 503
    retry_after = 3600  # seconds; room returns when a courier collects, or the operator acts


class EnvelopeError(AryzError):
    code = "envelope"
    message = "The sealed item is not valid."
    http_status = 400


class EnvelopeFormatError(EnvelopeError):
    code = "envelope_format"
    message = "The sealed item is not in a format this version can read."


class EnvelopeKeyError(EnvelopeError):
    code = "envelope_key"
    message = "The sealed item cannot be opened with this key."


class EnvelopeTruncatedError(EnvelopeError):
    code = "envelope_truncated"
    message = "The sealed item is incomplete: it ends before its final chunk."


class EnvelopeCorruptError(EnvelopeError):
    code = "envelope_corrupt"
    message = "The sealed item has been altered or damaged."


class StorageError(AryzError):
    code = "storage"
    message = "The report could not be stored safely. Nothing was saved; please try again."
    http_status = 503


# --- raised by what the desk and the operator's backup tool share (files.py,
# passphrase.py); the desk's other errors are in service/desk/errors.py.


class DeskError(AryzError):
    code = "desk"
    message = "The desk could not do that."


class PassphraseError(DeskError):
    code = "passphrase"
    message = "The passphrase was refused."


class WeakPassphraseError(PassphraseError):
    code = "passphrase_weak"
    message = (
        "That passphrase is too weak. Use at least 5 words and 20 characters that are not "
        "a known phrase; best are 7 random words, as 'aryz desk passphrase' suggests."
    )


class DeskStoreError(DeskError):
    code = "desk_store"
    message = "The desk's database could not be written. The last change was not saved."


class DiskFullError(DeskStoreError):
    code = "desk_disk_full"
    message = (
        "The disk is full. The item or change in progress was not saved; everything "
        "before it was. Free some space and run the command again."
    )
