"""A streaming multipart/form-data reader that never writes a byte to disk.

Why not ``request.form()``: Starlette's form parser spools uploads over 1 MiB into
plaintext temporary files, which would break the first promise in SECURITY.md
("nothing readable at rest"). This module drives python-multipart's low-level
``MultipartParser`` directly and hands the caller a stream of events, so that a file
can be sealed piece by piece while it arrives::

    async for event in read_multipart(request.stream(), content_type, limits):
        match event:
            case Field(name, value): ...          # a complete small text field
            case FileStart(name, filename, content_type): ...  # open a sealer
            case FileData(data): ...              # seal this piece
            case FileEnd(size): ...               # finish the sealed item

A file is complete only after its ``FileEnd``; the form is complete only when the
iterator finishes without raising. Memory held per request is bounded by one body chunk
(at most ``FEED_BYTES``), one text field (``Limits.max_field_bytes``) and one part's
headers (``Limits.max_header_bytes``).

Every failure is a ``FormError`` or ``TooLargeError`` with a fixed message. Nothing
derived from the input goes into an exception message or its chained context, and
python-multipart's own warnings (which quote input bytes) are silenced.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeAlias, cast
from urllib.parse import unquote_to_bytes

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser

from service.common.errors import FormError, TooLargeError, TooManyFilesError
from service.common.text import visible
from service.common.webkit.forms import clean_field_value

if TYPE_CHECKING:
    # Declared by python-multipart for type checkers only; absent at run time.
    from python_multipart.multipart import MultipartCallbacks

__all__ = [
    "CUT_OFF_MESSAGE",
    "FEED_BYTES",
    "Event",
    "Field",
    "FileData",
    "FileEnd",
    "FileStart",
    "Limits",
    "boundary_from_content_type",
    "read_multipart",
    "sanitize_filename",
]

FEED_BYTES: Final = 64 * 1024
"""Largest piece of body handed to the parser at once.

An ASGI server may deliver a body chunk of any size; slicing it bounds how much file data
one batch of events can hold, whatever the server does.
"""

CUT_OFF_MESSAGE: Final = "The upload was cut off before it finished."

_OCTET_STREAM: Final = "application/octet-stream"
_FALLBACK_FILENAME: Final = "file"
_MAX_FILENAME_BYTES: Final = 255  # the common file-system limit for one name
_MAX_EXTENSION_BYTES: Final = 32
_MAX_HEADERS_PER_PART: Final = 8  # a browser sends two; the rest is someone probing

# RFC 2046 §5.1.1: 1..70 characters from bchars, the last one not a space.
_BOUNDARY_RE: Final = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
# Names our own templates use. Anything else is not from our form, and a narrow alphabet
# keeps names safe to use as keys everywhere downstream.
_FIELD_NAME_RE: Final = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,100}")
# RFC 6838 restricted-name, lowercased. Only ever a hint for the desk, never trusted.
_MEDIA_TYPE_RE: Final = re.compile(
    r"[a-z0-9][a-z0-9!#$&^_.+\-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+\-]{0,126}"
)
# RFC 5987 ext-value after the charset and language: attr-char or %XX.
_EXT_VALUE_CHARS_RE: Final = re.compile(r"(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9!#$&+\-.^_`|~])*")
_PATH_SEPARATOR_RE: Final = re.compile(r"[/\\]")
# RFC 9110 token characters.
_TCHARS: Final = frozenset(
    "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)
# Unicode categories removed from filenames: controls (Cc, including NUL), format
# characters (Cf: bidi overrides such as U+202E that make "gpj.exe" read as "exe.jpg",
# zero-width characters that hide differences) and lone surrogates (Cs), which cannot be
# encoded and only reach us from a caller that built the string itself.

# python-multipart logs malformed input with the offending bytes quoted. Each parser gets
# this disabled logger instead, so no part of a report can reach a log line.
_SILENT_LOGGER: Final = logging.Logger("aryz.multipart.silenced")
_SILENT_LOGGER.disabled = True


@dataclass(frozen=True)
class Limits:
    """Caps for one request. Exceeding a size or count cap raises ``TooLargeError``."""

    max_body_bytes: int
    max_field_bytes: int = 64 * 1024
    max_fields: int = 200
    max_files: int = 20
    max_header_bytes: int = 8 * 1024  # one part's headers together; over it is FormError

    def __post_init__(self) -> None:
        for name in (
            "max_body_bytes",
            "max_field_bytes",
            "max_fields",
            "max_files",
            "max_header_bytes",
        ):
            if getattr(self, name) < 1:
                # A programming or configuration mistake, not bad input.
                raise ValueError(f"Limits.{name} must be at least 1")


@dataclass(frozen=True)
class Field:
    """A complete text field: strict UTF-8, no NUL, ``\\n`` line endings, NFC."""

    name: str
    value: str


@dataclass(frozen=True)
class FileStart:
    """A file part begins. ``filename`` is sanitized; ``content_type`` is only a hint."""

    name: str
    filename: str
    content_type: str


@dataclass(frozen=True)
class FileData:
    """The next piece of the current file; never empty, at most ``FEED_BYTES`` long."""

    data: bytes


@dataclass(frozen=True)
class FileEnd:
    """The current file ended cleanly after ``size`` bytes."""

    size: int


Event: TypeAlias = Field | FileStart | FileData | FileEnd


def boundary_from_content_type(content_type: str | None) -> bytes:
    """Return the boundary of a ``multipart/form-data`` Content-Type header.

    Raises ``FormError`` for any other media type, and for a missing, duplicated or
    invalid boundary (RFC 2046: 1 to 70 characters from a fixed set).
    """
    if content_type is None:
        raise FormError()
    media_type, params = _parse_header_value(content_type)
    if media_type != "multipart/form-data":
        raise FormError()
    boundary = params.get("boundary")
    if boundary is None or _BOUNDARY_RE.fullmatch(boundary) is None:
        raise FormError()
    return boundary.encode("ascii")  # the regex admits ASCII only


def sanitize_filename(raw: str) -> str:
    """Turn a client-supplied filename into one that is safe to show and to save.

    The desk will one day write this name to a disk and show it to a reader, so it must
    not climb directories, hide or reorder characters, or exceed file-system limits:
    the last component after ``/`` or ``\\`` only; no control or format characters
    (bidi overrides, zero-width characters, NUL); NFC; whitespace collapsed; no leading
    or trailing dots or spaces (no hidden files, no ``..``, and no trailing dot that
    Windows would silently drop); at most 255 UTF-8 bytes, keeping the extension where
    possible. An empty result becomes ``"file"``.
    """
    # Remove invisible characters before anything else, so none of them can split a
    # "." from a "." or hide a separator from the checks below. Whitespace controls
    # (tab, newline) become spaces first, so they still separate words.
    text = unicodedata.normalize("NFC", visible(raw, spaces=True))
    text = _PATH_SEPARATOR_RE.split(text)[-1]
    text = " ".join(text.split())
    text = text.strip(" .")
    text = _truncate_filename(text)
    return text or _FALLBACK_FILENAME


async def read_multipart(
    body: AsyncIterator[bytes], content_type: str | None, limits: Limits
) -> AsyncIterator[Event]:
    """Parse a multipart/form-data body as it streams in, yielding events.

    ``body`` is the raw request body, e.g. Starlette's ``request.stream()``. Exceptions
    from it (such as ``ClientDisconnect``) propagate unchanged. Raises ``FormError`` for
    malformed input, including a body that ends before the closing boundary, and
    ``TooLargeError`` as soon as a cap in ``limits`` is exceeded.
    """
    boundary = boundary_from_content_type(content_type)
    reader = _PartReader(limits)
    parser = MultipartParser(
        boundary,
        callbacks=cast("MultipartCallbacks", reader.callbacks()),
        max_header_count=_MAX_HEADERS_PER_PART,
        max_header_size=limits.max_header_bytes,
    )
    parser.logger = _SILENT_LOGGER
    received = 0
    async for chunk in body:
        received += len(chunk)
        # Checked before the parser sees the chunk, so no byte over the cap is processed.
        if received > limits.max_body_bytes:
            raise TooLargeError()
        for start in range(0, len(chunk), FEED_BYTES):
            _feed(parser, chunk[start : start + FEED_BYTES])
            for event in reader.take_events():
                yield event
            if reader.too_many_files:
                # Only now: every file before the cap has been handed over complete, so
                # "the first N were kept" is what the person is told and what is true.
                raise TooManyFilesError()
    if not reader.finished:
        raise FormError(CUT_OFF_MESSAGE)


def _feed(parser: MultipartParser, piece: bytes) -> None:
    """Write one piece to the parser, turning its errors into a fixed ``FormError``."""
    malformed = False
    try:
        parser.write(piece)
    except FormParserError:
        # Raised below, outside this block: the library's message quotes input bytes,
        # and raising here would chain it onto ours as __context__.
        malformed = True
    if malformed:
        raise FormError()


class _PartReader:
    """Receives python-multipart's callbacks and turns them into ``Event`` objects.

    The parser calls these methods synchronously from ``write``; they append to a short
    list that ``read_multipart`` empties after every write. Data callbacks receive a
    slice of the parser's input buffer, which is copied before it is kept.
    """

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._events: list[Event] = []
        self.finished = False
        self.too_many_files = False
        self._field_count = 0
        self._file_count = 0
        # Per part; reset in _on_part_begin.
        self._header_bytes = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._field_name: str | None = None
        self._field_value = bytearray()
        self._pending_file: FileStart | None = None  # announced on its first byte
        self._in_file = False
        self._file_size = 0

    def callbacks(self) -> dict[str, Callable[..., None]]:
        """The callback table in the shape ``MultipartParser`` expects."""
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }

    def take_events(self) -> list[Event]:
        """Hand over the events gathered so far and start a new list."""
        events, self._events = self._events, []
        return events

    def _on_part_begin(self) -> None:
        self._header_bytes = 0
        self._header_name.clear()
        self._header_value.clear()
        self._headers = {}
        self._field_name = None
        self._field_value.clear()
        self._pending_file = None
        self._in_file = False
        self._file_size = 0

    def _count_header_bytes(self, amount: int) -> None:
        # Bounds the memory one part's headers can take, whatever the parser allows.
        self._header_bytes += amount
        if self._header_bytes > self._limits.max_header_bytes:
            raise FormError()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        # The parser admits only RFC 9110 token characters in names, all ASCII.
        name = self._header_name.decode("ascii").lower()
        value = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()
        if name not in ("content-disposition", "content-type"):
            return  # e.g. Content-Transfer-Encoding: deprecated, and we never decode
        if name in self._headers:
            # Two dispositions could name two different fields; whichever one we picked,
            # another parser in the chain might pick the other.
            raise FormError()
        self._headers[name] = value

    def _on_headers_finished(self) -> None:
        if self.too_many_files:
            return  # the rest of the body is read only to reach the end of this batch
        disposition = self._headers.get("content-disposition")
        if disposition is None:
            raise FormError()
        name, filename = _parse_content_disposition(disposition)
        if filename is None:
            self._field_count += 1
            if self._field_count > self._limits.max_fields:
                raise TooLargeError()
            self._field_name = name
            return
        start = FileStart(
            name=name,
            filename=sanitize_filename(filename),
            content_type=_media_type(self._headers.get("content-type")),
        )
        if filename == "":
            # A browser sends filename="" and no data for a file input left empty.
            # Such a part yields nothing at all, unless data does arrive.
            self._pending_file = start
        else:
            self._start_file(start)

    def _start_file(self, start: FileStart) -> None:
        if self.too_many_files:
            return
        self._file_count += 1
        if self._file_count > self._limits.max_files:
            # Not raised here: the events of this batch (the end of the file before,
            # perhaps whole files) would be lost with it (attack F7).
            self.too_many_files = True
            return
        self._events.append(start)
        self._in_file = True

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if end <= start or self.too_many_files:
            return
        if self._pending_file is not None:
            self._start_file(self._pending_file)
            self._pending_file = None
        if self._in_file:
            self._events.append(FileData(bytes(data[start:end])))
            self._file_size += end - start
            return
        if len(self._field_value) + (end - start) > self._limits.max_field_bytes:
            raise TooLargeError()
        self._field_value += data[start:end]

    def _on_part_end(self) -> None:
        if self._in_file:
            self._events.append(FileEnd(self._file_size))
        elif self._field_name is not None:
            self._events.append(Field(self._field_name, _field_text(self._field_value)))
            self._field_value.clear()
        self._in_file = False
        self._pending_file = None
        self._field_name = None

    def _on_end(self) -> None:
        self.finished = True


def _field_text(raw: bytes | bytearray) -> str:
    """Decode a text field's value: strict UTF-8, no NUL, ``\\n`` newlines, NFC."""
    text = _decode_utf8(raw)
    if text is None:
        raise FormError()
    return clean_field_value(text)


def _decode_utf8(raw: bytes | bytearray) -> str | None:
    """Strict UTF-8 (no overlong forms, no surrogates), or ``None``.

    Returns instead of raising so callers raise our error outside the ``except`` block:
    a ``UnicodeDecodeError`` carries the whole input in ``.object``.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _parse_content_disposition(raw: bytes) -> tuple[str, str | None]:
    """Return the field name and the unsanitized filename (``None`` for a text field)."""
    value = _decode_utf8(raw)
    if value is None:
        raise FormError()
    disposition, params = _parse_header_value(value)
    if disposition != "form-data":
        raise FormError()
    name = params.get("name")
    if name is None or _FIELD_NAME_RE.fullmatch(name) is None:
        raise FormError()
    # RFC 6266 §4.3: filename* wins over filename when both are present.
    extended = params.get("filename*")
    if extended is not None:
        return name, _decode_ext_value(extended)
    return name, params.get("filename")


def _decode_ext_value(value: str) -> str:
    """Decode an RFC 5987 ``UTF-8''percent%20encoded`` value; other charsets are refused."""
    parts = value.split("'")
    if len(parts) != 3 or parts[0].lower() != "utf-8":
        raise FormError()
    encoded = parts[2]
    if _EXT_VALUE_CHARS_RE.fullmatch(encoded) is None:
        raise FormError()
    decoded = _decode_utf8(unquote_to_bytes(encoded))
    if decoded is None:
        raise FormError()
    return decoded


def _media_type(raw: bytes | None) -> str:
    """The part's ``type/subtype`` lowercased, or ``application/octet-stream``.

    Never an error: the type is only a hint passed on to the desk, and a strange one
    must not cost the submitter their upload.
    """
    if raw is None:
        return _OCTET_STREAM
    text = _decode_utf8(raw)
    if text is None:
        return _OCTET_STREAM
    media_type = text.split(";", 1)[0].strip(" \t").lower()
    if _MEDIA_TYPE_RE.fullmatch(media_type) is None:
        return _OCTET_STREAM
    return media_type


def _parse_header_value(value: str) -> tuple[str, dict[str, str]]:
    """Split ``main; a=token; b="quoted \\" string"`` into the lowercased main value and
    its parameters (names lowercased, values as sent, quoted strings unescaped).

    Strict, because two parsers reading one header differently is how filters get
    bypassed: an unterminated quote, a parameter without ``=``, junk between parameters
    or a repeated parameter name is a ``FormError``. Whitespace around ``;`` and ``=``
    and one trailing ``;`` are tolerated.
    """
    length = len(value)
    semicolon = value.find(";")
    end = length if semicolon == -1 else semicolon
    main = value[:end].strip(" \t").lower()
    params: dict[str, str] = {}
    i = end
    while i < length:
        i = _skip_whitespace(value, i + 1)  # past the ';'
        if i == length:
            break
        start = i
        while i < length and value[i] in _TCHARS:
            i += 1
        param = value[start:i].lower()
        i = _skip_whitespace(value, i)
        if not param or i == length or value[i] != "=":
            raise FormError()
        i = _skip_whitespace(value, i + 1)
        if i < length and value[i] == '"':
            param_value, i = _read_quoted_string(value, i + 1)
        else:
            start = i
            while i < length and value[i] in _TCHARS:
                i += 1
            param_value = value[start:i]
            if not param_value:
                raise FormError()
        if param in params:
            raise FormError()
        params[param] = param_value
        i = _skip_whitespace(value, i)
        if i < length and value[i] != ";":
            raise FormError()
    return main, params


def _read_quoted_string(value: str, i: int) -> tuple[str, int]:
    """Read a quoted string whose opening quote is just before ``i``.

    Returns the unescaped content and the index after the closing quote.
    """
    chars: list[str] = []
    length = len(value)
    while i < length:
        char = value[i]
        if char == '"':
            return "".join(chars), i + 1
        if char == "\\":
            i += 1
            if i == length:
                break
            char = value[i]
        chars.append(char)
        i += 1
    raise FormError()  # unterminated


def _skip_whitespace(value: str, i: int) -> int:
    while i < len(value) and value[i] in " \t":
        i += 1
    return i


def _truncate_filename(name: str) -> str:
    """Cut ``name`` to 255 UTF-8 bytes on a character boundary, keeping a short
    extension when there is one."""
    if len(name.encode("utf-8")) <= _MAX_FILENAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    suffix = dot + extension
    suffix_bytes = len(suffix.encode("utf-8"))
    if (
        stem
        and extension
        and suffix_bytes <= _MAX_EXTENSION_BYTES
        and not any(char.isspace() for char in extension)
    ):
        return _truncate_utf8(stem, _MAX_FILENAME_BYTES - suffix_bytes).rstrip(" .") + suffix
    return _truncate_utf8(name, _MAX_FILENAME_BYTES).rstrip(" .")


def _truncate_utf8(text: str, limit: int) -> str:
    # Cutting the encoding may split the last character; "ignore" drops only that
    # incomplete tail, because everything before it is valid UTF-8.
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")
