"""Facts for statistics come only from the contract's codes; anything else is unknown."""

from __future__ import annotations

from service.common.questionnaire.basic import BASIC
from service.desk.stats.facts import derive
from service.desk.stats.tables import period_of

ISTANBUL = {"id": "istanbul", "version": 1, "sha256": "x"}


def test_istanbul_answers_become_codes() -> None:
    answers = {
        "consent.statistics": "yes",
        "victim.sex": "female",
        "victim.age_band": "14_17",
        "arrest.region": "KZ-ALA",
        "detention": [{"type": "ivs"}, {"type": "sizo"}, {"type": "ivs"}],
        "episodes": [
            {"methods": ["beating", "threats"]},
            {"methods": ["water"], "forced_confession": "yes"},
        ],
        "perpetrators.agency": ["police"],
        "filer.role": "relative",
    }
    facts = derive({"answers": answers}, ISTANBUL, "KZ", "2025-W10")
    assert facts.consent
    assert (facts.sex, facts.age_band, facts.minor) == ("female", "14_17", "yes")
    assert facts.region == "KZ-ALA"
    assert facts.facilities == ("ivs", "sizo")
    assert facts.methods == ("beating", "threats", "water")
    assert facts.forced_confession == "yes"
    assert facts.agencies == ("police",)
    assert facts.filer == "relative"


def test_free_text_and_foreign_codes_never_reach_a_statistic() -> None:
    answers = {
        "consent.statistics": "yes",
        "victim.sex": "Иванова Мария",
        "arrest.region": "KG-C",  # not a region of the case's country
        "detention": [{"type": "<b>cell 4</b>"}, "police"],
        "episodes": "beating",
        "perpetrators.agency": "police",
    }
    facts = derive({"answers": answers}, ISTANBUL, "KZ", None)
    assert facts.sex == "unknown"
    assert facts.region == "unknown"
    assert facts.facilities == ("unknown",)
    assert facts.methods == ("unknown",)
    assert facts.agencies == ("police",)  # one code is a list of one


def test_consent_must_be_yes_and_the_questionnaire_known() -> None:
    assert not derive({"answers": {"consent.statistics": "no"}}, ISTANBUL, "KZ", None).consent
    assert not derive({"answers": {}}, ISTANBUL, "KZ", None).consent
    other = {"id": "istanbul", "version": 3}  # not known to this desk
    assert not derive({"answers": {"consent.statistics": "yes"}}, other, "KZ", None).consent
    assert not derive(None, ISTANBUL, "KZ", None).consent


def test_intake_basic_gives_consent_facility_and_situation_only() -> None:
    answers = {
        "consent_statistics": "yes",
        "place": "protest",
        "detained": "yes",
        "filer": "victim",
    }
    facts = derive({"answers": answers}, BASIC.reference(), "TJ", "2024-W02")
    assert facts.consent
    assert facts.facilities == ("other",)
    assert facts.situation == "detained"
    assert facts.filer == "unknown"  # the contract: everything else is unknown for v1


def test_periods_are_of_the_week_received() -> None:
    assert period_of("2025-W01", "year") == "2025"
    assert period_of("2024-W01", "month") == "2024-01"
    assert period_of("2020-W53", "quarter") == "2020-Q4"
    assert period_of("2025-W60", "year") == "unknown"
    assert period_of(None, "year") == "unknown"
