"""A case's legal-path events and statistical facts, read from and written to the store.

Both live encrypted like everything else on the desk: events as ``entries`` rows (kind
``outcome`` / ``outcome_removed``), facts inside the case record. Writes run inside the
caller's ``store.transaction()``. Neither ever goes into an outbox.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import service.desk.casework.cases as cases
import service.desk.stats.facts as facts
import service.desk.stats.outcomes as outcomes
from service.desk.errors import OutcomeNotFoundError
from service.desk.store.database import Store

BodyReader = Callable[[cases.ItemRow], bytes]


def events_of(store: Store, case: cases.CaseRow) -> list[outcomes.OutcomeEvent]:
    return outcomes.from_entries(cases.entries_of(store, case))


def record_event(store: Store, case: cases.CaseRow, event: outcomes.OutcomeEvent) -> None:
    cases.add_entry(store, case, "outcome", **event.record())


def record_removal(store: Store, case: cases.CaseRow, event_id: str) -> None:
    wanted = outcomes.check_id(event_id)
    if all(e.id != wanted for e in events_of(store, case)):
        raise OutcomeNotFoundError()
    cases.add_entry(store, case, "outcome_removed", id=wanted)


def cached_facts(case: cases.CaseRow) -> facts.CaseFacts | None:
    stored = case.record.facts
    if isinstance(stored, dict) and stored.get("v") == facts.FACTS_VERSION:
        try:
            return facts.CaseFacts.from_record(stored)
        except TypeError:
            return None  # a shape this version does not know: derive again
    return None


def derive_facts(store: Store, case: cases.CaseRow, read: BodyReader) -> facts.CaseFacts:
    """The facts from the case's first answers item (the one the desk shows)."""
    body: Any = None
    for item in cases.items_of(store, case):
        if item.record["type"] == "answers":
            body = json.loads(read(item))
            break
    record = case.record
    return facts.derive(body, record.questionnaire, record.country, record.received_week)
