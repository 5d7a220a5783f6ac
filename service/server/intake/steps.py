"""The questionnaire as a multi-step form without JavaScript.

The report starts on one page (the "write" page): what happened in the person's own
words, the country, who receives it, and an optional file. That alone can be sent. The
other sections of the questionnaire are "details", asked one a page in ``DETAIL_ORDER``
for those who can and want to give them.

Each page posts its own fields plus one hidden ``state`` field: the answers of every
other step, sealed with the process's in-memory key (:mod:`service.common.crypto.formstate`).
Nothing of a report in progress is ever written on the server — not to disk, not to the
database, not in a session. Three answers also travel in the clear in every page of the
flow (``CARRIED``): the account, the country and the receiver. The account is what a
person would least bear to lose, and a sealed state cannot be opened after a restart or
after 24 hours; carried in the clear, it survives both (SECURITY.md says what this
changes). Every other answer is in the page only sealed. Every button (back, next, add
another, review, change, a language) posts the current page first, so moving between
steps never loses what was typed on it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from service.common.contract.duty import NEEDS, PLACE_TYPES, TEXT_LIMITS
from service.common.contract.vocabulary import COUNTRIES
from service.common.crypto.formstate import FormStateKey
from service.common.errors import FormError, FormStateError, TooLargeError
from service.common.i18n import translations
from service.common.questionnaire import Questionnaire, Section
from service.common.questionnaire.answers import StepAnswers, Value
from service.common.questionnaire.reading import Text, read_answers
from service.common.text import strip_invisible

_RECEIVER = re.compile(r"[a-z0-9-]{1,63}")  # "national" or a coalition id
_TOKEN = re.compile(r"[0-9]{24}")  # a case token as our pages write it
_REGION = re.compile(r"[A-Z]{2}-[0-9A-Z]{1,3}")

REVIEW = "review"
WRITE = "write"  # the first page: the account, the country, the receiver, a file
NARRATIVE_KEY = "narrative.text"
# Answers every page of the flow carries in the clear as well as sealed (see above).
CARRIED = (NARRATIVE_KEY, "country", "recipient", "follow_up")
# The order the details are asked in after the write page: the account is already
# written there; consent comes last, once the person knows what they have told.
DETAIL_ORDER = (
    "filer",
    "victim",
    "arrest",
    "detention",
    "episodes",
    "perpetrators",
    "witnesses",
    "effects",
    "medical",
    "complaints",
    "needs",
    "consent",
)
# The country a language most likely means, chosen in advance (visibly, and it can be
# changed): Russian and English are spoken in all five, so they imply none.
IMPLIED_COUNTRY = {
    "kk": "KZ",
    "ky": "KG",
    "tg": "TJ",
    "uz": "UZ",
    "uz-cyrl": "UZ",
    "tk": "TM",
    "kaa": "UZ",
}


@dataclass
class FormState:
    """A report in progress: where it goes, and the answers so far."""

    country: str = ""
    recipient: str = "national"
    answers: dict[str, Any] = field(default_factory=dict)
    # Details added to a case already sent: its token (carried like the token page carries
    # it, in the clear, so a restart does not turn the details into a new report).
    follow_up: str = ""
    # The urgent lane (write page): the separate consent and the few answers for the duty
    # officer (service/common/contract/duty.py), kept apart from the questionnaire's.
    urgent: dict[str, Any] = field(default_factory=dict)


# The write page's urgent fields; ``urgent.shown`` says the page had them.
URGENT_SHOWN = "urgent.shown"
URGENT_CONSENT = "urgent.consent"
URGENT_CONTACT_OK = "urgent.contact_ok"
URGENT_TEXT = ("region", "place_type", "place", "since", "contact")


def read_urgent_fields(form: dict[str, list[str]], state: FormState) -> None:
    """Take the urgent consent and answers from the write page, replacing earlier ones
    (an unticked box or emptied field is then absent). Values outside their lists are
    dropped here and again by the contract before anything is sealed."""
    if URGENT_SHOWN not in form:
        return
    urgent: dict[str, Any] = {}
    if form.get(URGENT_CONSENT, [""])[-1] == "yes":
        urgent["consent"] = True
    if form.get(URGENT_CONTACT_OK, [""])[-1] == "yes":
        urgent["contact_ok"] = True
    for name in URGENT_TEXT:
        value = strip_invisible(form.get(f"urgent.{name}", [""])[-1])[0].strip()
        limit = TEXT_LIMITS.get(name, 16)
        if value and value != "unknown":
            urgent[name] = value[:limit]
    if urgent.get("place_type") not in (None, *PLACE_TYPES):
        del urgent["place_type"]
    if not _REGION.fullmatch(str(urgent.get("region", "XX-0"))):
        del urgent["region"]
    needs = [n for n in NEEDS if n in form.get("urgent.needs", [])]
    if needs:
        urgent["needs"] = needs
    state.urgent = urgent


def urgent_unconsented(state: FormState) -> bool:
    """Whether urgent answers were given without the urgent consent. Sending them would
    silently drop what the person meant for the duty officer: the write page asks instead
    (tick the consent, or clear the answers)."""
    return not state.urgent.get("consent") and any(k != "consent" for k in state.urgent)


def urgent_answers(state: FormState) -> dict[str, Any] | None:
    """The answers for the duty officer, or None without the urgent consent. Contact
    details go only when the person also agreed to be contacted."""
    urgent = state.urgent
    if not urgent.get("consent"):
        return None
    answers: dict[str, Any] = {"country": state.country}
    for name in ("region", "place_type", "place", "since"):
        if name in urgent:
            answers[name] = urgent[name]
    if urgent.get("needs"):
        answers["needs"] = list(urgent["needs"])
    if urgent.get("contact_ok") and urgent.get("contact"):
        answers["contact"] = urgent["contact"]
    region = answers.get("region", "")
    if region and not region.startswith(state.country + "-"):
        del answers["region"]  # a region of another country than the one chosen
    return answers


def _context(questionnaire: Questionnaire) -> bytes:
    # A blob made for another questionnaire, or another definition, is refused.
    return f"{questionnaire.id}\n{questionnaire.version}\n{questionnaire.digest}".encode()


def seal_state(
    key: FormStateKey,
    questionnaire: Questionnaire,
    state: FormState,
    *,
    bound_to: bytes | None = None,
) -> str:
    """Seal the state for a page. ``bound_to`` (the review page: the tag of the token it
    carries): the state can then be sent only with that token (audit F-14), on whichever
    instance of the deployment it arrives at."""
    data: dict[str, Any] = {
        "country": state.country,
        "recipient": state.recipient,
        "answers": state.answers,
        "urgent": state.urgent,
    }
    if bound_to is not None:
        data["bound"] = bound_to.hex()
    encoded = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return key.seal(encoded, context=_context(questionnaire))


def open_state(
    key: FormStateKey, questionnaire: Questionnaire, blob: str, *, claim_for: bytes | None = None
) -> FormState:
    """The state a page carried; :class:`FormStateError` if it cannot be trusted.

    ``claim_for`` (sending the report): the state must be bound to that tag (the review
    page's token), and is spent for it in this process, so it is single use
    (``FormStateKey.claim``, audit F-14).
    """
    if claim_for is None:
        raw = key.open(blob, context=_context(questionnaire))
    else:
        tag = claim_for.hex()

        def bound(opened: bytes) -> bool:
            # Only the review page's state is sent, and only with the token it carries;
            # checked before the claim, so a wrong token spends nothing.
            return bool(json.loads(opened).get("bound") == tag)

        raw = key.claim(blob, context=_context(questionnaire), tag=claim_for, accept=bound)
    data = json.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("answers"), dict):
        raise FormStateError()  # only our own seal makes these, so this is a bug guard
    urgent = data.get("urgent", {})
    return FormState(
        str(data["country"]),
        str(data["recipient"]),
        data["answers"],
        urgent=urgent if isinstance(urgent, dict) else {},
    )


def check_size(state: FormState, limit: int) -> None:
    """Refuse a report in progress that could no longer be sealed and sent."""
    if len(json.dumps(state.answers, ensure_ascii=False).encode("utf-8")) > limit:
        raise TooLargeError()


def visible_steps(questionnaire: Questionnaire, answers: dict[str, Any]) -> list[Section]:
    """The detail sections to ask, in ``DETAIL_ORDER``: one whose every question is hidden
    is skipped, and so is the account (it is on the write page)."""
    order = [s for s in DETAIL_ORDER if questionnaire.section(s) is not None]
    order += [s.id for s in questionnaire.parts if s.id not in order and s.id != "narrative"]
    sections = [questionnaire.section(s) for s in order]
    return [s for s in sections if s is not None and any(q.shown(answers) for q in s.questions)]


def has_details(state: FormState) -> bool:
    """Whether the report holds answers beyond what the write page shows."""
    return any(key not in CARRIED for key in state.answers)


def carry(form: dict[str, list[str]], state: FormState) -> None:
    """Take the answers every page carries in the clear (the account, the country, the
    receiver) from the posted form, where the page had them."""
    if NARRATIVE_KEY in form:
        # Cleaned as the write page cleans it (invisible characters out, trimmed); it was
        # shown and checked there, so nothing here needs the person's attention.
        text = strip_invisible(form[NARRATIVE_KEY][-1])[0].strip()
        if text:
            state.answers[NARRATIVE_KEY] = text
        else:
            state.answers.pop(NARRATIVE_KEY, None)
    # Only values a page of ours can hold: these go back into the page, and nothing a
    # forged form sent may be echoed (the routing refuses a receiver it does not know).
    if "country" in form:
        country = form["country"][-1]
        state.country = country if country in COUNTRIES else ""
    if "recipient" in form:
        recipient = form["recipient"][-1]
        state.recipient = recipient if _RECEIVER.fullmatch(recipient) else "national"
    if "follow_up" in form:
        token = form["follow_up"][-1]
        state.follow_up = token if _TOKEN.fullmatch(token) else ""


def neighbour(
    questionnaire: Questionnaire, answers: dict[str, Any], current: str, offset: int
) -> str:
    """The step before (-1) or after (+1) ``current``; after the last comes the review."""
    ids = [s.id for s in visible_steps(questionnaire, answers)]
    if current not in ids:
        return ids[0] if offset > 0 else WRITE
    index = ids.index(current) + offset
    if index < 0:
        return WRITE
    return ids[index] if index < len(ids) else REVIEW


def destination(
    questionnaire: Questionnaire, answers: dict[str, Any], current: str, go: str
) -> str:
    """Where the pressed button leads from ``current``: a section id or the review."""
    if go == "next":
        return neighbour(questionnaire, answers, current, +1)
    if go == "back":
        return neighbour(questionnaire, answers, current, -1)
    if go in (REVIEW, WRITE) or questionnaire.section(go) is not None:
        return go
    raise FormError()  # only a forged form names another place


def merge(section: Section, state: FormState, step: StepAnswers) -> None:
    """Replace ``section``'s answers in ``state`` with what its page just sent.

    Replacing (rather than adding) is what lets a person clear an answer: an emptied
    field or unticked box is then absent, as if never given.
    """
    prefix = f"{section.id}."
    for key in list(state.answers):
        if key == section.id or key.startswith(prefix):
            del state.answers[key]
    state.answers.update(step.values)


def fields_of(section: Section, answers: dict[str, Any]) -> dict[str, Value]:
    """Stored answers as the page's field names, to fill the form in again."""
    if not section.repeatable:
        return {
            section.key(q): answers[section.key(q)]
            for q in section.questions
            if section.key(q) in answers
        }
    fields: dict[str, Value] = {}
    for index, entry in enumerate(answers.get(section.id, [])):
        for qid, value in entry.items():
            fields[f"{section.id}.{index}.{qid}"] = value
    return fields


def entry_count(section: Section, fields: dict[str, Value], *, add: bool) -> int:
    """How many entries a repeatable section's page shows: those given (at least one),
    plus an empty one when the person asked to add another."""
    if not section.repeatable:
        return 1
    prefix = f"{section.id}."
    used = [int(name.split(".")[1]) + 1 for name in fields if name.startswith(prefix)]
    count = max([1, *used]) + (1 if add else 0)
    return min(count, section.max_entries)


def render_details(questionnaire: Questionnaire, answers: dict[str, Any], language: str) -> str:
    """Details added after sending, as the text of a message to the same case: by section,
    in the language the person used, then the answers as data for whoever imports them.

    A message, not a second answer set: the desk shows a case's first answer set, and
    every message in full, so nothing added here goes unseen.
    """
    catalog = translations(language)

    def text(t: Text) -> str:
        if not t.ours:
            return t.text
        if t.context:
            contextual = catalog.pgettext(t.context, t.text)
            if contextual != t.text:
                return contextual
        return catalog.gettext(t.text)

    reading = read_answers(questionnaire.reference(), answers)
    heading = catalog.gettext("Details added after the report was sent")
    lines = [f"{heading} ({questionnaire.id} v{questionnaire.version})"]
    for part in reading.sections:
        number = f" {part.number}" if part.number else ""
        lines += ["", f"== {text(part.title)}{number} =="]
        for row in part.rows:
            values = "; ".join(text(v) for v in row.values)
            lines.append(f"{text(row.label)}: {values}")
    data = json.dumps(answers, ensure_ascii=False, sort_keys=True)
    lines += ["", f"{questionnaire.id} v{questionnaire.version} {questionnaire.digest}", data]
    return "\n".join(lines)
