"""What the desk's pages show, worked out from the desk's plain views.

Everything a submitter sent is untrusted. It reaches a page only through
:func:`visible` (control and format characters shown as ``\\u{…}``, so a right-to-left
override cannot make one answer look like another) and Jinja's autoescaping. It never
passes through the templates' ``_()``: Jinja's new-style gettext marks a translation as
safe HTML and formats it with ``%``, so untrusted text there would become markup. Labels
are translated here instead, with :func:`service.common.i18n.translations`, and only for
strings that are our own msgids.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from service.common.contract.sealed_item import REASONS
from service.common.contract.vocabulary import COUNTRIES, PRIORITY_LABELS, STATUS_LABELS, STATUSES
from service.common.i18n import LANGUAGES
from service.common.i18n.markers import N_
from service.common.questionnaire.reading import Text
from service.common.text import is_unsafe
from service.desk.casework.desk import (
    SORTS,
    CaseDetail,
    CaseFilter,
    CaseSummary,
    HistoryEntry,
    ImportReport,
    ItemView,
    QuarantinedItem,
    readable_answers,
)
from service.desk.casework.resync import RecordView
from service.desk.cli.common import safe
from service.desk.web.errors import BundlePathError, FilterError, OutboxTargetError

Gettext = Callable[[str], str]

SORT_LABELS: dict[str, str] = {
    "received": N_("Received (oldest first)"),
    "priority": N_("Priority (urgent first)"),
    "status": N_("Status (workflow order)"),
}
# The short answer to "still detained?" for the case list.
DETAINED_LABELS: dict[str, str] = {
    "yes": N_("Detained"),
    "no": N_("Released"),
    "deceased": N_("Died"),
    "unknown": N_("Unknown"),
}
# The importer's fixed reasons (service/common/contract/sealed_item.py, where they are
# marked for translation); a reason this list lacks is shown in English rather than hidden.
IMPORT_REASONS = tuple(REASONS.values())
_EVENTS: dict[str, str] = {
    "first_imported": N_("First imported on this desk"),
    "status": N_("Status: %(old)s → %(new)s"),
    "priority": N_("Priority: %(old)s → %(new)s"),
    "assignee": N_("Assignee: %(old)s → %(new)s"),
    "country": N_("Country: %(old)s → %(new)s"),
    "tags": N_("Tags added: %(added)s; removed: %(removed)s"),
    "reply": N_("Reply sealed (record %(seq)s)"),
    "acknowledged": N_("Items acknowledged to the server: %(count)s"),
    "exported": N_("Written to an outbox: %(types)s"),
    "quarantined": N_("An item was set aside in quarantine"),
    "transferred": N_("Passed to the coalition %(to)s (sent with the next outbox)"),
    "transfer_cancelled": N_("The transfer to the coalition %(to)s was taken back"),
}
_RECORD_TYPES: dict[str, str] = {
    "status": N_("status change"),
    "reply": N_("reply"),
    "ack": N_("acknowledgement"),
    "quarantine": N_("quarantine notice"),
    "imported": N_("import notice"),
    "transfer": N_("transfer to another coalition"),
}
# The state of an outgoing record (service/desk/casework/resync.py: 0 pending … 3 refused).
_RECORD_STATES: dict[int, str] = {
    0: N_("waiting for the next outbox export"),
    1: N_("sent in an outbox"),
    2: N_("applied on the server"),
    3: N_("refused or lost: goes into the next outbox again"),
}


def record_rows(
    records: list[RecordView], gettext: Callable[[str], str]
) -> list[tuple[int, str, str]]:
    """(number, type, state) of a case's outgoing records, for the case page."""
    return [
        (
            r.seq,
            gettext(_RECORD_TYPES[r.type]) if r.type in _RECORD_TYPES else visible(r.type),
            gettext(_RECORD_STATES.get(r.code, _RECORD_STATES[0])),
        )
        for r in records
    ]


# Values the importer accepts for the filtered fields (service.desk.inbox.importer).
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_WEEK = re.compile(r"^[0-9]{4}-W[0-9]{2}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})?$")
_STRIPPABLE_TYPES = {"image/jpeg", "image/png", "application/pdf"}
_STRIPPABLE_NAMES = (".jpg", ".jpeg", ".png", ".pdf")
EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "pdf": ".pdf"}
MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}
MAX_NAME_CHARS = 120


def visible(text: str | None, *, multiline: bool = False) -> str:
    """Untrusted text, with control and format characters made visible."""
    return "" if text is None else safe(text, multiline=multiline)


# --- the case list --------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    """The case list's GET form, checked: every value is one the list could offer."""

    filters: CaseFilter
    sort: str

    def form(self) -> dict[str, str]:
        """The values to show in the form again."""
        f = self.filters
        return {
            "country": f.country or "",
            "status": f.status or "",
            "week": f.week or "",
            "language": f.language or "",
            "detained": "1" if f.still_detained else "",
            "sort": self.sort,
        }


def list_query(params: Mapping[str, str]) -> ListQuery:
    """Read the list's query string. Anything but an offered value is refused."""

    def pick(name: str, pattern: re.Pattern[str]) -> str | None:
        value = params.get(name, "")
        if value and not pattern.fullmatch(value):
            raise FilterError()
        return value or None

    status = params.get("status", "")
    sort = params.get("sort", "") or SORTS[0]
    detained = params.get("detained", "")
    if (status and status not in STATUSES) or sort not in SORTS or detained not in ("", "1"):
        raise FilterError()
    return ListQuery(
        CaseFilter(
            status=status or None,
            country=pick("country", _COUNTRY),
            still_detained=detained == "1",
            week=pick("week", _WEEK),
            language=pick("language", _LANGUAGE),
        ),
        sort,
    )


@dataclass(frozen=True)
class Option:
    value: str
    label: str


def filter_options(cases: Iterable[CaseSummary], gettext: Gettext) -> dict[str, list[Option]]:
    """Choices for the list's filters: the known countries and what the cases hold."""
    summaries = list(cases)
    countries = dict.fromkeys(COUNTRIES) | dict.fromkeys(
        sorted({s.country for s in summaries if s.country})
    )
    weeks = sorted({s.received_week for s in summaries if s.received_week}, reverse=True)
    languages = sorted({s.language for s in summaries if s.language})
    return {
        "country": [Option(c, country_name(c, gettext)) for c in countries],
        "status": [Option(s, gettext(label)) for s, label in STATUS_LABELS.items()],
        "week": [Option(w, w) for w in weeks],
        "language": [Option(code, language_name(code)) for code in languages],
        "sort": [Option(s, gettext(SORT_LABELS[s])) for s in SORTS],
    }


def country_name(code: str | None, gettext: Gettext) -> str:
    if not code:
        return "—"
    return f"{gettext(COUNTRIES[code])} ({code})" if code in COUNTRIES else code


def language_name(code: str | None) -> str:
    if not code:
        return "—"
    return f"{LANGUAGES[code]} ({code})" if code in LANGUAGES else code


def status_label(status: str, gettext: Gettext) -> str:
    return gettext(STATUS_LABELS[status]) if status in STATUS_LABELS else visible(status)


def priority_label(priority: str, gettext: Gettext) -> str:
    return gettext(PRIORITY_LABELS[priority]) if priority in PRIORITY_LABELS else visible(priority)


def detained_label(detained: str | None, gettext: Gettext) -> str:
    if detained is None:
        return "—"
    return gettext(DETAINED_LABELS[detained]) if detained in DETAINED_LABELS else visible(detained)


# --- one case -------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRow:
    label: str
    value: str
    is_text: bool  # typed by the person: shown as written, line breaks kept


@dataclass(frozen=True)
class AnswerSection:
    title: str
    rows: tuple[AnswerRow, ...]


def answer_sections(detail: CaseDetail, gettext: Gettext) -> tuple[list[AnswerSection], bool]:
    """The answers by section and question, in the staff member's language, read with the
    questionnaire the answer set names (raw keys for one this desk does not know); and
    whether the desk's questionnaire is exactly the one the person answered (else the
    page warns). An entry of a repeatable section (a place, an episode) is its own
    section, numbered."""
    reading = readable_answers(detail)
    sections = []
    for part in reading.sections:
        title = _shown(part.title, gettext)
        if part.number is not None:
            title = f"{title} — {part.number}"
        rows = tuple(
            AnswerRow(
                _shown(row.label, gettext),
                ("\n" if row.typed else "; ").join(
                    _shown(v, gettext, multiline=row.typed) for v in row.values
                ),
                row.typed or not all(v.ours for v in row.values),
            )
            for row in part.rows
        )
        sections.append(AnswerSection(title, rows))
    return sections, reading.exact


def _shown(text: Text, gettext: Gettext, *, multiline: bool = False) -> str:
    # Only our own msgids go through gettext; what the person sent is made visible as is.
    return gettext(text.text) if text.ours else visible(text.text, multiline=multiline)


@dataclass(frozen=True)
class Attachment:
    number: int  # 1, 2, … in the order the case received them
    item: ItemView
    name: str  # visible(), for the page
    may_strip: bool  # the declared type or name says JPEG, PNG or PDF (checked on download)


def attachments(detail: CaseDetail) -> list[Attachment]:
    files = [i for i in detail.items if i.type == "file"]
    return [
        Attachment(n, item, visible(item.name) or "—", _looks_strippable(item))
        for n, item in enumerate(files, start=1)
    ]


def _looks_strippable(item: ItemView) -> bool:
    # Only a hint for which link to offer: the download checks the bytes themselves.
    declared = (item.media_type or "").split(";")[0].strip().lower()
    return declared in _STRIPPABLE_TYPES or (item.name or "").lower().endswith(_STRIPPABLE_NAMES)


def file_item(detail: CaseDetail, item_ref: str) -> tuple[int, ItemView] | None:
    """The case's attachment with this full reference, and its number."""
    for attachment in attachments(detail):
        if attachment.item.ref == item_ref:
            return attachment.number, attachment.item
    return None


def tags_text(tags: Iterable[str]) -> str:
    return ", ".join(tags)


def tag_changes(current: Iterable[str], typed: str) -> tuple[list[str], list[str]]:
    """(tags to add, tags to remove) to turn ``current`` into the comma-separated list."""
    wanted = list(dict.fromkeys(t.strip() for t in typed.split(",") if t.strip()))
    now = list(current)
    return [t for t in wanted if t not in now], [t for t in now if t not in wanted]


@dataclass(frozen=True)
class Event:
    date: str
    text: str
    by: str = ""  # "— Name, 2026-W49" on a desk with named staff, else ""


def history(entries: Iterable[HistoryEntry], gettext: Gettext) -> list[Event]:
    return [Event(e.date, _describe(e, gettext), by_line(e.by, e.week)) for e in entries]


def by_line(name: str | None, week: str | None) -> str:
    """Who wrote an entry and in which ISO week (names are staff-typed, still made visible)."""
    if name is None:
        return ""
    return visible(f"— {name}" + (f", {week}" if week else ""))


def transferred_to(history: Iterable[HistoryEntry]) -> str | None:
    """The coalition this desk passed the case to (its history says so), or None."""
    passed = [e for e in history if e.event in ("transferred", "transfer_cancelled")]
    if not passed or passed[-1].event != "transferred":
        return None
    return visible(str(passed[-1].details.get("to", "")))


def _describe(entry: HistoryEntry, gettext: Gettext) -> str:
    template = _EVENTS.get(entry.event)
    if template is None:
        return visible(entry.event)
    d = entry.details

    def label(value: object) -> str:
        if entry.event == "status":
            return status_label(str(value), gettext)
        if entry.event == "priority":
            return priority_label(str(value), gettext)
        if entry.event == "country":
            return country_name(str(value) if value else None, gettext)
        return visible(str(value)) if value else "—"

    values = {
        "old": label(d.get("old")),
        "new": label(d.get("new")),
        "added": ", ".join(visible(str(t)) for t in d.get("added", [])) or "—",
        "removed": ", ".join(visible(str(t)) for t in d.get("removed", [])) or "—",
        "seq": str(d.get("seq", "")),
        "count": str(d.get("count", "")),
        "to": visible(str(d.get("to", ""))),
        "types": ", ".join(
            gettext(_RECORD_TYPES[t]) if t in _RECORD_TYPES else visible(str(t))
            for t in d.get("types", [])
        ),
    }
    return gettext(template) % values


@dataclass(frozen=True)
class ImportProblem:
    item_prefix: str
    reason: str
    quarantined: bool
    acknowledged: bool = False  # the server is told to drop it (service.desk.inbox.importer)


def import_problems(report: ImportReport, gettext: Gettext) -> list[ImportProblem]:
    return [
        ImportProblem(p.item_prefix, gettext(p.reason), p.quarantined, p.acknowledged)
        for p in report.problems
    ]


@dataclass(frozen=True)
class HeldItem:
    """An item in quarantine, for the import page (service.desk.inbox.importer)."""

    item: str
    reason: str
    date: str
    acknowledged: bool


def held_items(held: Iterable[QuarantinedItem], gettext: Gettext) -> list[HeldItem]:
    return [HeldItem(q.item, gettext(q.reason), q.date, q.acknowledged) for q in held]


# --- files ----------------------------------------------------------------------------


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII name and the exact UTF-8 name (RFC 6266, 5987)."""
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def original_name(name: str | None, number: int) -> str:
    """The submitter's file name made safe to save: no folders, no control, format or
    reserved characters, no leading dots, at most 120 characters."""
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(ch for ch in text if not is_unsafe(ch) and ch not in '<>:"|?*;')
    kept = kept.strip(" .")
    if len(kept) > MAX_NAME_CHARS:
        # Keep a short extension: it tells the laptop which program opens the file.
        _stem, dot, ext = kept.rpartition(".")
        suffix = "." + ext if dot and len(ext) <= 10 else ""
        kept = kept[: MAX_NAME_CHARS - len(suffix)].rstrip(" .") + suffix
    return kept or f"attachment-{number}"


def stripped_name(number: int, kind: str) -> str:
    # A neutral name: the original one may name the person, the place or the phone.
    return f"stripped-copy-{number}{EXTENSIONS[kind]}"


# --- paths typed by staff -------------------------------------------------------------


def _typed_path(text: str, error: type[Exception]) -> Path:
    raw = text.strip()
    # Relative paths would depend on where the app was started: refused, not guessed.
    if not raw or "\x00" in raw or not raw.startswith("/"):
        raise error()
    return Path(raw)


def bundle_path(text: str) -> Path:
    """An absolute path to a regular file (not a folder, a device or a link)."""
    path = _typed_path(text, BundlePathError)
    try:
        mode = os.lstat(path).st_mode
    except (OSError, ValueError):
        raise BundlePathError() from None
    if not stat.S_ISREG(mode):
        raise BundlePathError()
    return path


def outbox_path(text: str) -> Path:
    """An absolute path where no file (or link) is yet, in a folder that exists."""
    path = _typed_path(text, OutboxTargetError)
    if os.path.lexists(path) or not path.parent.is_dir():
        # Never overwrite: an earlier outbox there may not have been delivered yet.
        raise OutboxTargetError()
    return path
