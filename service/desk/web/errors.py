"""What the desk's web app refuses, one small class each.

Messages are fixed sentences: never a path, a reference or anything typed. The pages
show a translated sentence chosen by ``code`` (``templates/error.html``); the command
line prints ``message``.

Tree (under :class:`service.desk.errors.DeskError`)::

    DeskWebError
    ├── LoopbackOnlyError      asked to listen anywhere but 127.0.0.1
    ├── PortError              the port is not a number from 1024 to 65535
    ├── FilterError            a case-list filter or sort that is not one of the choices
    ├── BundlePathError        import: not an absolute path to a regular file
    ├── OutboxTargetError      export: not absolute, already there, or no such folder
    ├── NoStrippedCopyError    the file is not a JPEG, PNG or PDF: no stripped copy
    └── KeysRotatedError       import: keys.json changed since this web desk started
"""

from __future__ import annotations

from service.desk.errors import DeskError


class DeskWebError(DeskError):
    code = "desk_web"
    message = "The desk's web page could not do that."
    http_status = 400


class LoopbackOnlyError(DeskWebError):
    code = "loopback_only"
    message = (
        "The desk's web app listens on 127.0.0.1 only, so that no other computer can "
        "reach the decrypted cases."
    )


class PortError(DeskWebError):
    code = "port"
    message = "The port must be a number from 1024 to 65535."


class FilterError(DeskWebError):
    code = "filter"
    message = "That filter or sort order is not one of the choices."


class BundlePathError(DeskWebError):
    code = "bundle_path"
    message = (
        "Give the full path of the bundle file, starting with '/'. It must be an ordinary "
        "file, not a folder or a link."
    )


class OutboxTargetError(DeskWebError):
    code = "outbox_target"
    message = (
        "Give the full path of a new file, starting with '/', in a folder that exists. "
        "An existing file is never overwritten."
    )


class NoStrippedCopyError(DeskWebError):
    code = "no_stripped_copy"
    message = "Only JPEG and PNG photos and PDF files have a metadata-stripped copy."
    http_status = 404


class KeysRotatedError(DeskWebError):
    code = "keys_rotated"
    message = (
        "This desk's keys were changed after the web desk started. Stop it and start "
        "aryz desk web again, then import."
    )
