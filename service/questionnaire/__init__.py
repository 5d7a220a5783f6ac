"""Data-driven questionnaires: questions, choices and validation, independent of HTML.

A questionnaire is versioned; each answer set records its id, version and a hash of its
definition so the desk can always tell which questions were asked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Literal

from service.web.forms import strip_invisible

Kind = Literal["choice", "text", "textarea"]


@dataclass(frozen=True)
class Choice:
    value: str
    label: str  # msgid, translated when shown


@dataclass(frozen=True)
class Question:
    id: str
    kind: Kind
    label: str  # msgid
    help: str | None = None  # msgid
    choices: tuple[Choice, ...] = ()
    max_length: int = 2000


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: int
    questions: tuple[Question, ...] = field(default_factory=tuple)

    @property
    def digest(self) -> str:
        """SHA-256 of the definition, recorded with every answer set."""
        data = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(data).hexdigest()

    def reference(self) -> dict[str, object]:
        return {"id": self.id, "version": self.version, "sha256": self.digest}


@dataclass(frozen=True)
class Answers:
    """Validated answers: question id → value; skipped questions are absent."""

    values: dict[str, str]
    # Question ids whose text had invisible characters removed (the form says so).
    cleaned: tuple[str, ...] = ()
    # Question ids whose answer was not acceptable (unknown choice, too long).
    invalid: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.invalid and not self.cleaned


def validate(questionnaire: Questionnaire, form: dict[str, list[str]]) -> Answers:
    """Check submitted values against the questionnaire. Every question may be skipped."""
    values: dict[str, str] = {}
    cleaned: list[str] = []
    invalid: list[str] = []
    for q in questionnaire.questions:
        raw = form.get(q.id, [""])[-1]
        if q.kind == "choice":
            if raw == "":
                continue
            if raw not in {c.value for c in q.choices}:
                invalid.append(q.id)
                continue
            values[q.id] = raw
        else:
            text, removed = strip_invisible(raw)
            text = text.strip()
            if removed:
                cleaned.append(q.id)
            if len(text) > q.max_length:
                invalid.append(q.id)
            if text:
                values[q.id] = text
    return Answers(values, tuple(cleaned), tuple(invalid))
