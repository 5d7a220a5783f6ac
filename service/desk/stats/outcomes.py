"""The legal path of a case: dated events from complaint to verdict and compensation.

Staff record what happened after a report — a complaint lodged with the prosecutor, an
investigation refused "for lack of evidence", a verdict, a UN communication — as events,
each with the date of the legal act as staff enter it. The dates are what "time between
stages" is computed from; like everything on the desk they are stored encrypted (as
``entries`` rows of kind ``outcome``, see :mod:`service.desk.store.database`) and they are never
put in an outbox: the server and the person who filed never see them.

Events are never edited in place. A mistaken event is *removed* by a second entry
(kind ``outcome_removed``) naming its id, so the desk keeps an honest trail of what was
recorded when.

Vocabularies are controlled (codes, English labels marked for translation) and may
differ per country: a country without a National Preventive Mechanism has no "NPM"
to complain to, and the torture article differs from one criminal code to the next.
They are data, below; correct them as institutions change. This module is pure: no
store, no crypto, so the ``aryz`` parser can offer its choices without loading libsodium.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from service.common.i18n.markers import N_
from service.common.text import has_controls
from service.desk.errors import OutcomeError, OutcomeNotFoundError

MAX_NOTE_CHARS = 2000
MAX_AMOUNT = 10**12
EARLIEST = dt.date(1991, 1, 1)  # the five states' independence: no legal act before it
_ID = re.compile(r"^[0-9a-f]{8}$")
_ARTICLE = re.compile(r"^[0-9]{1,4}(-[0-9]{1,2})?$")

# --- vocabularies ---------------------------------------------------------------------

# Where a complaint can be lodged. "investigative_committee" stands for whichever body
# investigates crimes by officials in that country (a committee, the prosecutor's own
# investigators, the security service).
BODIES: dict[str, str] = {
    "prosecutor": N_("Prosecutor's office"),
    "investigative_committee": N_("Investigative committee or other investigating body"),
    "ombudsperson": N_("Ombudsperson"),
    "npm": N_("National Preventive Mechanism (NPM)"),
    "court": N_("Court"),
    "other": N_("Other body"),
}
# Tajikistan and Turkmenistan are not parties to OPCAT and have no NPM.
_NO_NPM = {"TJ", "TM"}

REASONS: dict[str, str] = {
    "lack_of_evidence": N_("Lack of evidence"),
    "no_crime": N_("No elements of a crime"),
    "requalified": N_("Re-qualified under another article"),
    "statute_of_limitations": N_("Statute of limitations"),
    "amnesty": N_("Amnesty"),
    "reconciliation": N_("Reconciliation of the parties"),
    "other": N_("Other reason"),
}
# Criminal-code articles staff are likely to need, per country; any other article
# number may still be typed (digits, optionally "-1"), e.g. the one a case was
# re-qualified under.
ARTICLES: dict[str, dict[str, str]] = {
    "KZ": {"146": N_("Torture")},
    "KG": {},
    "TJ": {},
    "UZ": {"235": N_("Torture"), "301": N_("Abuse of power"), "302": N_("Negligence")},
    "TM": {"182": N_("Torture (earlier code)"), "201": N_("Torture")},
}
RESULTS: dict[str, str] = {
    "conviction": N_("Conviction"),
    "acquittal": N_("Acquittal"),
    "dismissed": N_("Case dismissed"),
}
SENTENCES: dict[str, str] = {
    "imprisonment": N_("Imprisonment"),
    "suspended": N_("Suspended sentence"),
    "fine": N_("Fine"),
    "ban": N_("Ban from office"),
    "other": N_("Other sentence"),
}
CURRENCIES = ("KZT", "KGS", "TJS", "UZS", "TMT", "USD", "EUR")
UN_BODIES: dict[str, str] = {
    "cat": N_("UN Committee against Torture (CAT)"),
    "hrc": N_("UN Human Rights Committee"),
}
EXAMS: dict[str, str] = {
    "istanbul_protocol": N_("Independent examination (Istanbul Protocol)"),
    "state_forensic": N_("State forensic examination"),
}


@dataclass(frozen=True)
class EventType:
    code: str
    label: str  # msgid
    required: tuple[str, ...] = ()  # fields that must be given
    optional: tuple[str, ...] = ()


EVENT_TYPES: dict[str, EventType] = {
    t.code: t
    for t in (
        EventType("complaint_lodged", N_("Complaint lodged"), ("body",)),
        EventType("investigation_opened", N_("Investigation opened")),
        EventType("investigation_refused", N_("Investigation refused"), ("reason",), ("article",)),
        EventType("investigation_closed", N_("Investigation closed"), ("reason",), ("article",)),
        EventType("indictment", N_("Indictment"), (), ("article",)),
        EventType("trial_started", N_("Trial started")),
        EventType("verdict", N_("Verdict"), ("result",), ("sentence", "article")),
        EventType("compensation_claimed", N_("Compensation claimed")),
        EventType("compensation_awarded", N_("Compensation awarded"), (), ("amount", "currency")),
        EventType("un_communication", N_("UN communication submitted"), ("un_body",)),
        EventType("reprisal_reported", N_("Reprisal reported")),
        EventType("medical_exam", N_("Medical or forensic examination"), ("exam",)),
    )
}
FIELD_LABELS: dict[str, str] = {
    "body": N_("Lodged with"),
    "reason": N_("Reason"),
    "article": N_("Article of the criminal code"),
    "result": N_("Result"),
    "sentence": N_("Sentence"),
    "amount": N_("Amount"),
    "currency": N_("Currency"),
    "un_body": N_("UN body"),
    "exam": N_("Kind of examination"),
}
FIELDS = tuple(FIELD_LABELS)


def bodies_for(country: str | None) -> dict[str, str]:
    """The bodies a complaint can go to in ``country`` (all of them if unknown)."""
    if country in _NO_NPM:
        return {k: v for k, v in BODIES.items() if k != "npm"}
    return dict(BODIES)


def articles_for(country: str | None) -> dict[str, str]:
    return dict(ARTICLES.get(country or "", {}))


def choices_for(name: str, country: str | None) -> dict[str, str] | None:
    """The controlled values of a field (code → msgid), or None for a typed field."""
    table: dict[str, Mapping[str, str]] = {
        "body": bodies_for(country),
        "reason": REASONS,
        "result": RESULTS,
        "sentence": SENTENCES,
        "currency": {c: c for c in CURRENCIES},
        "un_body": UN_BODIES,
        "exam": EXAMS,
    }
    found = table.get(name)
    return None if found is None else dict(found)


# --- events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeEvent:
    """One step of a case's legal path, as stored (decrypted)."""

    id: str  # 8 hex digits, unique within the case
    event: str  # a key of EVENT_TYPES
    on: str  # the date of the legal act, YYYY-MM-DD, as staff entered it
    fields: dict[str, str] = field(default_factory=dict)
    note: str | None = None  # staff's words: never published, never sent
    recorded: str = ""  # the date it was entered on the desk

    @property
    def date(self) -> dt.date:
        return dt.date.fromisoformat(self.on)

    def record(self) -> dict[str, Any]:
        """The entry fields to store (``kind``/``date`` are added by the store)."""
        return {
            "id": self.id,
            "event": self.event,
            "on": self.on,
            "fields": self.fields,
            "note": self.note,
        }


def check_event(
    event: str,
    on: str,
    values: Mapping[str, str],
    note: str | None,
    country: str | None,
    today: dt.date | None = None,
) -> OutcomeEvent:
    """A new event, checked against the vocabularies of ``country``; else OutcomeError.

    Empty values count as not given. A field the event type does not take is refused
    rather than silently dropped: it is probably a mistake in what was chosen.
    """
    kind = EVENT_TYPES.get(event)
    if kind is None:
        raise OutcomeError()
    date = _date(on, today or dt.date.today())
    given = {k: v.strip() for k, v in values.items() if v is not None and v.strip()}
    allowed = set(kind.required) | set(kind.optional)
    if not set(given) <= allowed or not set(kind.required) <= set(given):
        raise OutcomeError()
    for name, value in given.items():
        _check_field(name, value, country)
    if ("amount" in given) != ("currency" in given):
        raise OutcomeError()  # an amount means nothing without its currency
    return OutcomeEvent(
        id=secrets.token_hex(4),
        event=event,
        on=date.isoformat(),
        fields=dict(sorted(given.items())),
        note=_note(note),
    )


def _date(text: str, today: dt.date) -> dt.date:
    try:
        date = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise OutcomeError() from None
    if len(text.strip()) != 10 or not EARLIEST <= date <= today:
        raise OutcomeError()
    return date


def _check_field(name: str, value: str, country: str | None) -> None:
    if name == "amount":
        if not value.isascii() or not value.isdigit() or int(value) > MAX_AMOUNT:
            raise OutcomeError()
    elif name == "article":
        if not _ARTICLE.fullmatch(value):
            raise OutcomeError()
    else:
        choices = choices_for(name, country)
        if choices is None or value not in choices:
            raise OutcomeError()


def _note(note: str | None) -> str | None:
    if note is None:
        return None
    text = unicodedata.normalize("NFC", note).strip()
    if not text:
        return None
    if len(text) > MAX_NOTE_CHARS or has_controls(text):
        raise OutcomeError()
    return text


def check_id(event_id: str) -> str:
    wanted = event_id.strip().lower()
    if not _ID.fullmatch(wanted):
        raise OutcomeNotFoundError()
    return wanted


def from_entries(entries: Iterable[Mapping[str, Any]]) -> list[OutcomeEvent]:
    """A case's current events from its decrypted entries, in the order of their dates.

    Entries of other kinds are ignored; removed events are left out. Entries that do not
    have the stored shape (only a bug or a damaged desk makes them) are skipped rather
    than crash statistics over every other case.
    """
    events: dict[str, OutcomeEvent] = {}
    for entry in entries:
        kind = entry.get("kind")
        if kind == "outcome_removed":
            events.pop(str(entry.get("id")), None)
        elif kind == "outcome":
            parsed = _parse(entry)
            if parsed is not None:
                events[parsed.id] = parsed
    return sorted(events.values(), key=lambda e: (e.on, e.recorded))


def _parse(entry: Mapping[str, Any]) -> OutcomeEvent | None:
    event, on, fields, note = (entry.get(k) for k in ("event", "on", "fields", "note"))
    if event not in EVENT_TYPES or not isinstance(on, str) or not isinstance(fields, dict):
        return None
    try:
        dt.date.fromisoformat(on)
    except ValueError:
        return None
    return OutcomeEvent(
        id=str(entry.get("id")),
        event=str(event),
        on=on,
        fields={str(k): str(v) for k, v in fields.items()},
        note=note if isinstance(note, str) else None,
        recorded=str(entry.get("date", "")),
    )
