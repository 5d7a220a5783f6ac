"""Questionnaire versions are a registry (``known.KNOWN``) that every consumer handles
explicitly. A version added to the registry without a reader in each consumer fails
here; on the desk, answers naming a version it does not know are counted apart and
shown as a warning, never taken as "no consent"."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from service.common.questionnaire.known import CURRENT, KNOWN, key_of
from service.common.questionnaire.reading import read_answers
from service.desk.inbox import importer
from service.desk.stats import facts
from service.desk.stats.tables import CaseInput, compute

CONSUMERS: dict[str, Mapping[tuple[str, int], object]] = {
    "statistics facts and consent (service.desk.stats.facts.READERS)": facts.READERS,
    "the case list's detained (service.desk.inbox.importer.DETAINED)": importer.DETAINED,
}


@pytest.mark.parametrize("consumer", sorted(CONSUMERS))
def test_every_registered_version_is_handled(consumer: str) -> None:
    assert set(CONSUMERS[consumer]) == set(KNOWN), consumer


def test_the_current_questionnaire_is_registered() -> None:
    assert (CURRENT.id, CURRENT.version) in KNOWN


@pytest.mark.parametrize("key", sorted(KNOWN))
def test_every_registered_version_is_read_with_its_definition(key: tuple[str, int]) -> None:
    questionnaire = KNOWN[key]
    reading = read_answers(questionnaire.reference(), {})
    assert reading.known


def _unknown_reference() -> dict[str, object]:
    return {"id": CURRENT.id, "version": CURRENT.version + 1, "sha256": "0" * 64}


def test_an_unknown_version_is_not_no_consent_but_unreadable() -> None:
    body = {"answers": {"consent.statistics": "yes", "consent_statistics": "yes"}}
    derived = facts.derive(body, _unknown_reference(), "KZ", "2026-W47")
    assert derived.readable is False
    assert derived.consent is False  # nothing of it can be counted …
    known = facts.derive(body, CURRENT.reference(), "KZ", "2026-W47")
    assert known.readable
    assert known.consent
    stats = compute([CaseInput(facts=derived, events=()), CaseInput(facts=known, events=())])
    assert (stats.unreadable, stats.not_counted) == (1, 0)  # … and it is told apart


def test_an_unknown_version_leaves_detained_unknown() -> None:
    reference = _unknown_reference()
    assert key_of(reference) not in KNOWN
    assert importer._detained({"victim.situation": "detained"}, reference) is None
    assert importer._detained({"victim.situation": "detained"}, CURRENT.reference()) == "yes"


def test_the_statistics_read_their_codes_from_the_questionnaire() -> None:
    # One definition: the tables' codes are the question's, in its order.
    victim = CURRENT.section("victim")
    assert victim is not None
    sex = next(q for q in victim.questions if q.id == "sex")
    assert list(facts.SEX) == [c.value for c in sex.choices]
    with pytest.raises(ValueError, match="does not have"):
        facts._coded("victim.sex", {"nonbinary": "Nonbinary"})
