"""Data-driven questionnaires: questions, choices and conditions, independent of HTML.

A questionnaire is versioned; each answer set records its id, version and a hash of its
definition so the desk can always tell which questions were asked.

Two shapes share these classes:

- a *flat* questionnaire (``intake-basic`` v1) has ``questions``; an answer's key is the
  question id and every value is a string;
- a *sectioned* one (``istanbul`` v1) has ``sections``; an answer's key is
  ``"<section>.<question>"``, a value is a string or a list of choice codes, and a
  repeatable section's key is the section id with a list of entries
  ``{"<question>": value}`` (the shape the desk's statistics read; see :mod:`.istanbul`).

A skipped question is simply absent. Validation lives in :mod:`.answers`, the desk's
reading in :mod:`.reading`, the known questionnaires in :mod:`.known`.

Modules:

- ``answers.py``   Reading answers from a form step, and checking a whole answer set before it
                   is sealed
- ``basic.py``     The first intake questionnaire (``intake-basic`` v1): short, every question
                   skippable
- ``contexts.py``  Choice labels that need their own translation in one question
- ``istanbul.py``  ``istanbul`` v1: the intake questionnaire aligned to the Istanbul Protocol
                   (2022)
- ``known.py``     Every questionnaire this code can read, and the one new reports use
- ``payload.py``   The plaintext of an answers item: one shape, whoever seals it (server form
                   path or an intermediary's client), so the desk reads both the same way
- ``reading.py``   How the desk reads an answer set: by section, with the questionnaire it was
                   given to
- ``regions.py``   First-level subdivisions of the five countries, as ISO 3166-2 codes with
                   English names
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# choice: one code (radio buttons); multi: several codes (checkboxes); region: one ISO
# 3166-2 code of the case's country (a list built from service.common.questionnaire.regions).
Kind = Literal["choice", "multi", "region", "text", "textarea"]
UNKNOWN_CODE = "unknown"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str  # msgid, translated when shown


@dataclass(frozen=True)
class Condition:
    """Ask a question only if an answer given on an *earlier* step allows it.

    ``key`` is that answer's key. The question is shown when the answer is one of
    ``any_of`` (if given) and none of ``none_of``; a skipped answer counts as "".
    """

    key: str
    any_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()

    def holds(self, answers: dict[str, Any]) -> bool:
        value = answers.get(self.key, "")
        given = set(value) if isinstance(value, list) else {value}
        if self.any_of and not given & set(self.any_of):
            return False
        return not given & set(self.none_of)


@dataclass(frozen=True)
class Question:
    id: str
    kind: Kind
    label: str  # msgid
    help: str | None = None  # msgid
    choices: tuple[Choice, ...] = ()
    max_length: int = 2000
    show_if: tuple[Condition, ...] = ()  # all must hold

    def shown(self, earlier: dict[str, Any]) -> bool:
        return all(c.holds(earlier) for c in self.show_if)


@dataclass(frozen=True)
class Section:
    """One step of the form and one heading on the desk."""

    id: str  # "" for the one implicit section of a flat questionnaire
    title: str  # msgid
    questions: tuple[Question, ...]
    intro: str | None = None  # msgid
    repeatable: bool = False  # several entries (places, episodes), each its own object
    max_entries: int = 1
    entry_title: str | None = None  # msgid with %(number)s, for each entry of a repeatable

    def key(self, question: Question) -> str:
        return f"{self.id}.{question.id}" if self.id else question.id


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: int
    questions: tuple[Question, ...] = field(default_factory=tuple)
    sections: tuple[Section, ...] = field(default_factory=tuple)

    @property
    def digest(self) -> str:
        """SHA-256 of the definition, recorded with every answer set.

        Features added after the first questionnaire (``sections``, ``show_if``) enter
        the hashed definition only when used, so a definition hashed before they existed
        keeps its hash and its old answer sets still match exactly on the desk.
        """
        data = _without_unused(asdict(self))
        encoded = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(encoded).hexdigest()

    def reference(self) -> dict[str, object]:
        return {"id": self.id, "version": self.version, "sha256": self.digest}

    @property
    def parts(self) -> tuple[Section, ...]:
        """The sections; a flat questionnaire is one section whose keys are bare ids."""
        if self.sections:
            return self.sections
        return (Section(id="", title="", questions=self.questions),)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.parts if s.id == section_id), None)


def _without_unused(data: dict[str, Any]) -> dict[str, Any]:
    if not data["sections"]:
        del data["sections"]
    for section in [data, *data.get("sections", [])]:
        for question in section["questions"]:
            if not question["show_if"]:
                del question["show_if"]
    return data
