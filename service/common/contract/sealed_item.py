"""Reading one sealed item, the same way on every machine that may: the desk's import
and the server's ``aryz demo-read`` (a demo's stand-in for the desk).

:func:`open_item` opens an item's envelope and payload from its pieces and streams the
body into a :class:`BodySink`; :func:`check_meta` and :func:`read_answers` apply the rules
of ENVELOPE-v1.md §8.2–8.3. Every refusal is an :class:`ItemRefused` with one of the fixed
reasons below (their stable codes are ``REASONS``), so the desk's quarantine and the
demo show the same words for the same fault (envelope review D1–D4).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from service.common.crypto import strictjson
from service.common.crypto.envelope import Opener
from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.payload import PayloadReader
from service.common.errors import EnvelopeError, EnvelopeKeyError
from service.common.i18n.markers import N_

ITEM_TYPES = ("answers", "file", "message")
_ISO_WEEK = re.compile(r"[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])")
_KEY_HEX = re.compile(r"[0-9a-f]{64}")

# Limits on what a desk reads into memory from one item (ENVELOPE-v1.md §8.3). A file's
# body is never read: it streams into the store whatever its size.
MAX_ANSWERS_BYTES = 4 << 20
ANSWERS_LIMITS = strictjson.Limits(
    max_bytes=MAX_ANSWERS_BYTES, max_depth=8, max_values=100_000, max_string=1 << 20
)
MAX_MESSAGE_BYTES = 1 << 20
MAX_TEXT_META = 1024  # characters of a file's name or media type

# Fixed reasons, shown to staff next to the item's reference prefix (marked for
# translation here: the desk's pages show them in the staff's language).
MISSING = N_("missing: the bundle ends before it")
CHECKSUM = N_("damaged: its bytes differ from the manifest's checksum")
NOT_OURS = N_("cannot be opened with this desk's keys")
ALTERED = N_("fails authentication: altered or damaged")
WRONG_CASE = N_("its sealed case key differs from its case's: moved or tampered with")
UNREADABLE = N_("its content is not in a form the desk can read")
MALFORMED = N_(
    "it opens with this desk's key, but its sender wrote it wrongly: malformed, "
    "not altered on the way"
)
TOO_LARGE = N_(
    "it is over the desk's limits for its kind: size, nesting depth, number of values "
    "or length of a text"
)
STORE_FAILED = N_("the desk could not save it; the server keeps it")
DESK_FAULT = N_("the desk failed while reading it: a fault of the desk; the server keeps it")

# Stable codes, as kept in a case's history (the texts above may be reworded).
REASONS = {
    "missing": MISSING,
    "checksum": CHECKSUM,
    "not_ours": NOT_OURS,
    "altered": ALTERED,
    "wrong_case": WRONG_CASE,
    "unreadable": UNREADABLE,
    "malformed": MALFORMED,
    "too_large": TOO_LARGE,
    "store_failed": STORE_FAILED,
    "desk_fault": DESK_FAULT,
}
REASON_CODES = {text: code for code, text in REASONS.items()}
# The item's own fault, shown by bytes that arrived exactly as listed: acknowledged as
# quarantined, so the server drops it. Everything else stays on the server.
ACKNOWLEDGED_REASONS = frozenset({ALTERED, WRONG_CASE, UNREADABLE, MALFORMED, TOO_LARGE})


class ItemRefused(Exception):
    """An item that cannot be imported; ``reason`` is one of the fixed reasons above."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BodySink:
    """Where :func:`open_item` puts an item's body: ``start`` once the metadata is read
    and checked, then ``add`` for every piece. This base keeps nothing but the size and
    the SHA-256, plus a bounded copy of an answers or message body (``kept``)."""

    def __init__(self) -> None:
        self.size = 0
        self.digest = hashlib.sha256()
        self.kept = bytearray()
        self._keep = 0

    def start(self, meta: dict[str, Any]) -> None:
        kind = meta["type"]
        self._keep = (
            MAX_ANSWERS_BYTES
            if kind == "answers"
            else MAX_MESSAGE_BYTES
            if kind == "message"
            else 0
        )

    def add(self, data: bytes) -> None:
        self.size += len(data)
        self.digest.update(data)
        if self._keep:
            if len(self.kept) + len(data) > self._keep:
                raise ItemRefused(TOO_LARGE)  # stop decrypting: it is refused anyway
            self.kept += data


def open_item(
    keys: Sequence[BoxKeyPair], pieces: Iterable[bytes], sink: BodySink
) -> dict[str, Any]:
    """Open one sealed item from its ``pieces``; stream its body into ``sink``.

    Returns the checked metadata (:func:`check_meta`). Raises :class:`ItemRefused` with
    the reason that fits: an envelope fault (NOT_OURS, ALTERED) is told apart from a
    payload its sender wrote wrongly (MALFORMED), which authenticated (D4). A message
    body must be UTF-8 text. What reaches ``sink`` before the end is provisional.
    """
    opener = Opener(keys)
    reader = PayloadReader()
    started = False

    def take(plain: bytes) -> None:
        nonlocal started
        try:
            data = reader.feed(plain)
        except EnvelopeError:
            raise ItemRefused(MALFORMED) from None
        if reader.meta is not None and not started:
            sink.start(check_meta(reader.meta))
            started = True
        if data:
            sink.add(data)

    try:
        for piece in pieces:
            take(opener.feed(piece))
        take(opener.close())
    except EnvelopeKeyError:
        raise ItemRefused(NOT_OURS) from None
    except EnvelopeError:
        # Only the opener raises these here (take() turns the reader's into MALFORMED).
        raise ItemRefused(ALTERED) from None
    try:
        reader.close()
    except EnvelopeError:
        raise ItemRefused(MALFORMED) from None  # authentic, but ends inside its metadata
    meta = check_meta(reader.meta or {})
    if not started:
        sink.start(meta)
    if meta["type"] == "message":
        try:
            bytes(sink.kept).decode("utf-8")
        except UnicodeDecodeError:
            raise ItemRefused(MALFORMED) from None
    return meta


def check_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The rules of ENVELOPE-v1.md §8.2 for the keys a desk reads.

    ``type`` must be answers, file or message (anything else: UNREADABLE); ``created``
    an ISO week; ``case_public_key`` 64 lowercase hex digits; ``name`` and
    ``media_type`` strings of at most 1024 characters; ``questionnaire`` an object.
    Other keys are kept as they are and never interpreted.
    """
    if meta.get("type") not in ITEM_TYPES:
        raise ItemRefused(UNREADABLE)
    # A key that is present must have its form; null is not an ISO week, a key or a name.
    if "created" in meta and not _matches(meta["created"], _ISO_WEEK):
        raise ItemRefused(MALFORMED)
    if "case_public_key" in meta and not _matches(meta["case_public_key"], _KEY_HEX):
        raise ItemRefused(MALFORMED)
    for name in ("name", "media_type"):
        value = meta.get(name, "")
        if not (isinstance(value, str) and len(value) <= MAX_TEXT_META):
            raise ItemRefused(MALFORMED)
    if "questionnaire" in meta and not isinstance(meta["questionnaire"], dict):
        raise ItemRefused(MALFORMED)
    return meta


def _matches(value: object, pattern: re.Pattern[str]) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def read_answers(raw: bytes) -> dict[str, Any]:
    """An answers body (ENVELOPE-v1.md §8.3): strict JSON within ANSWERS_LIMITS, an
    object whose ``answers`` is an object of answer shapes."""
    try:
        data = strictjson.loads(raw, ANSWERS_LIMITS)
    except strictjson.JsonLimitError:
        raise ItemRefused(TOO_LARGE) from None
    except ValueError:
        raise ItemRefused(UNREADABLE) from None
    if not isinstance(data, dict) or not isinstance(data.get("answers"), dict):
        raise ItemRefused(UNREADABLE)
    if not all(_answer_shape(v) for v in data["answers"].values()):
        raise ItemRefused(UNREADABLE)
    return data


def _answer_shape(value: object) -> bool:
    """A string, a list of strings, or a list of entries ``{str: str | [str]}``: the
    shapes answers have (service.common.questionnaire); anything else is not ours to guess."""
    if isinstance(value, str):
        return True
    if not isinstance(value, list):
        return False
    return all(isinstance(v, str) for v in value) or all(
        isinstance(e, dict)
        and all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
            for v in e.values()
        )
        for e in value
    )
