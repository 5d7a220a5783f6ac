"""The questionnaire as a multi-step form without JavaScript.

Each page posts its own fields plus one hidden ``state`` field: the answers of every
other step, sealed with the process's in-memory key (:mod:`service.common.crypto.formstate`).
Nothing of a report in progress is ever written on the server — not to disk, not to the
database, not in a session — and the page itself carries it only sealed, so a copy of
the page (a browser's memory, a screenshot of the source) shows no answer. Every button
(back, next, add another, review, change) posts the current page first, so moving
between steps never loses what was typed on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from service.common.crypto.formstate import FormStateKey
from service.common.errors import FormError, FormStateError, TooLargeError
from service.common.questionnaire import Questionnaire, Section
from service.common.questionnaire.answers import StepAnswers, Value

REVIEW = "review"


@dataclass
class FormState:
    """A report in progress: where it goes, and the answers so far."""

    country: str = ""
    recipient: str = "national"
    answers: dict[str, Any] = field(default_factory=dict)


def _context(questionnaire: Questionnaire) -> bytes:
    # A blob made for another questionnaire, or another definition, is refused.
    return f"{questionnaire.id}\n{questionnaire.version}\n{questionnaire.digest}".encode()


def seal_state(key: FormStateKey, questionnaire: Questionnaire, state: FormState) -> str:
    data = {"country": state.country, "recipient": state.recipient, "answers": state.answers}
    encoded = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return key.seal(encoded, context=_context(questionnaire))


def open_state(key: FormStateKey, questionnaire: Questionnaire, blob: str) -> FormState:
    """The state a page carried; :class:`FormStateError` if it cannot be trusted."""
    data = json.loads(key.open(blob, context=_context(questionnaire)))
    if not isinstance(data, dict) or not isinstance(data.get("answers"), dict):
        raise FormStateError()  # only our own seal makes these, so this is a bug guard
    return FormState(str(data["country"]), str(data["recipient"]), data["answers"])


def check_size(state: FormState, limit: int) -> None:
    """Refuse a report in progress that could no longer be sealed and sent."""
    if len(json.dumps(state.answers, ensure_ascii=False).encode("utf-8")) > limit:
        raise TooLargeError()


def visible_steps(questionnaire: Questionnaire, answers: dict[str, Any]) -> list[Section]:
    """The sections to ask, in order: one whose every question is hidden is skipped."""
    return [s for s in questionnaire.parts if any(q.shown(answers) for q in s.questions)]


def neighbour(
    questionnaire: Questionnaire, answers: dict[str, Any], current: str, offset: int
) -> str:
    """The step before (-1) or after (+1) ``current``; after the last comes the review."""
    ids = [s.id for s in visible_steps(questionnaire, answers)]
    if current not in ids:
        return ids[0]
    index = ids.index(current) + offset
    if index < 0:
        return ids[0]
    return ids[index] if index < len(ids) else REVIEW


def destination(
    questionnaire: Questionnaire, answers: dict[str, Any], current: str, go: str
) -> str:
    """Where the pressed button leads from ``current``: a section id or the review."""
    if go == "next":
        return neighbour(questionnaire, answers, current, +1)
    if go == "back":
        return neighbour(questionnaire, answers, current, -1)
    if go == REVIEW or questionnaire.section(go) is not None:
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
