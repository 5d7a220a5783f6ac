"""Reading answers from a form step, and checking a whole answer set before it is sealed.

Form field names are the answer keys (``"victim.sex"``); an entry of a repeatable section
uses ``"<section>.<n>.<question>"`` (``"detention.0.type"``). A step never fails as a
whole: an unacceptable answer is reported by field name so the page can point at it and
show the person what they typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.common.errors import AnswersError
from service.common.questionnaire import UNKNOWN_CODE, Question, Questionnaire, Section
from service.common.questionnaire.regions import REGIONS
from service.common.text import strip_invisible

Value = str | list[str]


@dataclass(frozen=True)
class StepAnswers:
    """One section's answers, read from a posted step."""

    # Stored shape: key → value; a repeatable section → {section id: [entry, ...]}.
    values: dict[str, Any]
    # Field name → what the person sent (after cleaning), to show the page again.
    shown: dict[str, Value]
    # Field names whose text had invisible characters removed (the form says so).
    cleaned: tuple[str, ...] = ()
    # Field names whose answer was not acceptable (unknown choice, too long).
    invalid: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.invalid and not self.cleaned


def region_codes(country: str | None) -> tuple[str, ...]:
    """The region codes of ``country`` (all five countries' if it is not known)."""
    if country in REGIONS:
        return tuple(code for code, _name in REGIONS[country])
    return tuple(code for regions in REGIONS.values() for code, _name in regions)


def allowed_codes(question: Question, country: str | None) -> tuple[str, ...]:
    if question.kind == "region":
        return (*region_codes(country), UNKNOWN_CODE)
    return tuple(c.value for c in question.choices)


def read_step(
    questionnaire: Questionnaire,
    section: Section,
    form: Mapping[str, list[str]],
    *,
    country: str | None,
    earlier: Mapping[str, Any],
) -> StepAnswers:
    """Read ``section``'s fields from a posted form. Hidden questions are not read."""
    questions = [q for q in section.questions if q.shown(dict(earlier))]
    shown: dict[str, Value] = {}
    cleaned: list[str] = []
    invalid: list[str] = []

    def read(name: str, question: Question) -> Value | None:
        raw = form.get(name, [])
        value, ok, was_cleaned = _read_one(question, raw, country)
        if raw:
            shown[name] = (
                value if value is not None else (raw if question.kind == "multi" else raw[-1])
            )
        if not ok:
            invalid.append(name)
        if was_cleaned:
            cleaned.append(name)
        return value

    values: dict[str, Any] = {}
    if section.repeatable:
        entries = []
        for index in range(section.max_entries):
            entry = {}
            for question in questions:
                value = read(f"{section.id}.{index}.{question.id}", question)
                if value is not None:
                    entry[question.id] = value
            if entry:
                entries.append(entry)
        if entries:
            values[section.id] = entries
    else:
        for question in questions:
            value = read(section.key(question), question)
            if value is not None:
                values[section.key(question)] = value
    return StepAnswers(values, shown, tuple(cleaned), tuple(invalid))


def _read_one(
    question: Question, raw: list[str], country: str | None
) -> tuple[Value | None, bool, bool]:
    """(value or None if skipped, acceptable, cleaned)."""
    if question.kind in ("choice", "region"):
        text = raw[-1] if raw else ""
        if text == "":
            return None, True, False
        return (
            (text, True, False)
            if text in allowed_codes(question, country)
            else (None, False, False)
        )
    if question.kind == "multi":
        picked = {r for r in raw if r}
        allowed = allowed_codes(question, country)
        if picked - set(allowed):
            return None, False, False
        codes = [code for code in allowed if code in picked]
        return (codes or None), True, False
    text, removed = strip_invisible(raw[-1] if raw else "")
    text = text.strip()
    if len(text) > question.max_length:
        return text, False, removed
    return (text or None), True, removed


def applicable(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers without those to questions their conditions now hide.

    A person may go back and change who is filing; an answer given to a question that no
    longer applies (the person's own consent, when they now say it happened to them) is
    dropped rather than sent as if it had been asked.
    """
    kept = dict(answers)
    for section in questionnaire.parts:
        for question in section.questions:
            if question.shown(kept):
                continue
            if section.repeatable:
                entries = kept.get(section.id)
                if isinstance(entries, list):
                    kept[section.id] = [
                        {k: v for k, v in e.items() if k != question.id} for e in entries
                    ]
            else:
                kept.pop(section.key(question), None)
    return {k: v for k, v in kept.items() if v not in ([], {})}


def check_answers(
    questionnaire: Questionnaire, answers: Mapping[str, Any], *, country: str | None
) -> dict[str, Any]:
    """Refuse an answer set that does not fit ``questionnaire`` (before anything is sealed).

    Both paths use this: the server before sealing a form's answers, and an
    intermediary's client before sealing its own (the server never sees those).
    """
    checked: dict[str, Any] = {}
    for key, value in answers.items():
        section, question = _locate(questionnaire, key)
        if section is not None and section.repeatable and question is None:
            checked[key] = _check_entries(section, value, country)
        elif question is not None:
            checked[key] = _check_value(question, value, country)
        else:
            raise AnswersError()
    return checked


def _locate(questionnaire: Questionnaire, key: str) -> tuple[Section | None, Question | None]:
    for section in questionnaire.parts:
        if section.repeatable and key == section.id:
            return section, None
        for question in section.questions:
            if not section.repeatable and section.key(question) == key:
                return section, question
    return None, None


def _check_entries(section: Section, value: object, country: str | None) -> list[dict[str, Value]]:
    if not isinstance(value, list) or not 0 < len(value) <= section.max_entries:
        raise AnswersError()
    questions = {q.id: q for q in section.questions}
    entries = []
    for entry in value:
        if not isinstance(entry, dict) or not entry:
            raise AnswersError()
        checked = {}
        for qid, answer in entry.items():
            if qid not in questions:
                raise AnswersError()
            checked[qid] = _check_value(questions[qid], answer, country)
        entries.append(checked)
    return entries


def _check_value(question: Question, value: object, country: str | None) -> Value:
    if question.kind == "multi":
        allowed = allowed_codes(question, country)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v in allowed for v in value)
            or len(set(value)) != len(value)
        ):
            raise AnswersError()
        return list(value)
    if not isinstance(value, str) or not value:
        raise AnswersError()
    if question.kind in ("choice", "region"):
        if value not in allowed_codes(question, country):
            raise AnswersError()
    elif len(value) > question.max_length or "\x00" in value:
        raise AnswersError()
    return value
