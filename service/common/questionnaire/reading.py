"""How the desk reads an answer set: by section, with the questionnaire it was given to.

Nothing a submitter sent is hidden. An answer set naming a questionnaire this code does
not know, a key its questionnaire lacks, or a value of an unexpected shape or code is
still shown, by key and raw value, under "Other answers". What is ours (question labels,
choice labels, region names) is returned as msgids for the caller to translate; what the
person typed is returned as sent, marked so, for the caller to escape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.common.i18n.markers import N_
from service.common.questionnaire import Question, Questionnaire, Section
from service.common.questionnaire.basic import BASIC
from service.common.questionnaire.basic import READING as BASIC_READING
from service.common.questionnaire.known import find
from service.common.questionnaire.regions import region_name

OTHER_ANSWERS = N_("Other answers")


@dataclass(frozen=True)
class Text:
    text: str
    ours: bool  # one of our msgids: translate it; else as sent: show it as sent
    # A message context for ``text`` (the question's key): where the catalog has an
    # entry in that context, it is the right translation (service/common/questionnaire/contexts.py).
    context: str | None = None


@dataclass(frozen=True)
class Row:
    label: Text
    values: tuple[Text, ...]
    typed: bool  # free text the person wrote: keep its line breaks


@dataclass(frozen=True)
class ReadSection:
    section: str  # the section's id ("" for a flat questionnaire's and for leftovers)
    title: Text
    number: int | None  # the entry's number within a repeatable section (1, 2, …)
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Reading:
    sections: tuple[ReadSection, ...]
    known: bool  # this code has the questionnaire the answers name
    exact: bool  # … and its definition hashes to what the answer set recorded


def read_answers(reference: Mapping[str, Any] | None, answers: Mapping[str, Any]) -> Reading:
    questionnaire = find(reference)
    remaining = dict(answers)
    sections: list[ReadSection] = []
    if questionnaire is not None:
        for section in _display_sections(questionnaire):
            sections += _read_section(section, remaining)
    leftover = _raw_sections(remaining)
    exact = questionnaire is not None and (reference or {}).get("sha256") == questionnaire.digest
    return Reading(tuple(sections + leftover), questionnaire is not None, exact)


def _display_sections(questionnaire: Questionnaire) -> tuple[Section, ...]:
    if questionnaire is BASIC:
        return BASIC_READING
    return questionnaire.parts


def _read_section(section: Section, remaining: dict[str, Any]) -> list[ReadSection]:
    title = Text(section.title, True)
    if not section.repeatable:
        rows = []
        for question in section.questions:
            key = section.key(question)
            if key in remaining:
                row = _row(question, remaining[key], key)
                if row is not None:
                    rows.append(row)
                    del remaining[key]
        return [ReadSection(section.id, title, None, tuple(rows))] if rows else []
    entries = remaining.get(section.id)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return []  # not the shape this section has: shown raw, with the leftovers
    del remaining[section.id]
    result = []
    questions = {q.id: q for q in section.questions}
    for number, entry in enumerate(entries, start=1):
        rows = []
        # In the questionnaire's order (the sealed JSON has its keys sorted), then the rest.
        ordered = [q for q in questions if q in entry] + [k for k in entry if k not in questions]
        for qid in ordered:
            asked = questions.get(qid)
            row = _row(asked, entry[qid], f"{section.id}.{qid}") if asked is not None else None
            rows.append(row or _raw_row(str(qid), entry[qid]))
        result.append(ReadSection(section.id, title, number, tuple(rows)))
    return result


def _row(question: Question, value: Any, context: str | None = None) -> Row | None:
    """The answer with our labels; None if its shape does not fit the question.
    ``context`` is the question's key, the message context of its choice labels."""
    label = Text(question.label, True)
    if question.kind in ("text", "textarea"):
        return Row(label, (Text(value, False),), True) if isinstance(value, str) else None
    codes = value if question.kind == "multi" else [value]
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        return None
    return Row(label, tuple(_choice(question, c, context) for c in codes), False)


def _choice(question: Question, code: str, context: str | None = None) -> Text:
    labels = {c.value: c.label for c in question.choices}
    if question.kind == "region":
        labels["unknown"] = N_("Don't know / prefer not to say")
        name = region_name(code)
        if name is not None:
            return Text(name, True)
    return Text(labels[code], True, context) if code in labels else Text(code, False)


def _raw_sections(remaining: dict[str, Any]) -> list[ReadSection]:
    if not remaining:
        return []
    rows = tuple(_raw_row(key, value) for key, value in remaining.items())
    return [ReadSection("", Text(OTHER_ANSWERS, True), None, rows)]


def _raw_row(key: str, value: Any) -> Row:
    return Row(Text(key, False), tuple(Text(v, False) for v in _flatten(value)), True)


def _flatten(value: Any) -> list[str]:
    """Any JSON value as lines of text, so an unexpected shape is still readable."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [line for v in value for line in _flatten(v)]
    if isinstance(value, dict):
        return [f"{k}: {line}" for k, v in value.items() for line in _flatten(v)]
    return [str(value)]
