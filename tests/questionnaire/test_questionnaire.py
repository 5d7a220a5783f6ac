"""The questionnaires' definitions, the answers contract the desk's statistics rely on,
the strict check before sealing, and the desk's reading of every kind of answer set."""

from __future__ import annotations

import re

import pytest

from service.common.errors import AnswersError
from service.common.questionnaire import UNKNOWN_CODE, Condition
from service.common.questionnaire.answers import applicable, check_answers, read_step
from service.common.questionnaire.basic import BASIC
from service.common.questionnaire.istanbul import ISTANBUL, ISTANBUL_V2
from service.common.questionnaire.known import CURRENT, find
from service.common.questionnaire.reading import read_answers
from service.common.questionnaire.regions import REGIONS, region_name

# What intake-basic v1 answer sets recorded; if this changes they no longer match exactly.
BASIC_V1_SHA256 = "05f3cef730414ff9d634e9ee78751c54daf8d75c68aa77a1dd5a82607caf8897"


def test_basic_v1_keeps_the_hash_its_answer_sets_recorded() -> None:
    assert BASIC.digest == BASIC_V1_SHA256
    assert find(BASIC.reference()) is BASIC


def test_the_form_asks_istanbul_v2() -> None:
    assert CURRENT is ISTANBUL_V2
    assert (ISTANBUL.id, ISTANBUL.version) == ("istanbul", 1)
    assert find({"id": "istanbul", "version": 1}) is ISTANBUL
    assert find({"id": "istanbul", "version": 2}) is ISTANBUL_V2
    assert find({"id": "istanbul", "version": 3}) is None
    assert find({"id": "istanbul", "version": True}) is None
    assert find(None) is None


def test_v2_adds_only_the_consent_to_pass_the_report_on() -> None:
    # v1 answer sets still match v1's hash; v2 differs by exactly one consent question.
    assert ISTANBUL.digest != ISTANBUL_V2.digest
    v1 = [(s.id, q.id) for s in ISTANBUL.sections for q in s.questions]
    v2 = [(s.id, q.id) for s in ISTANBUL_V2.sections for q in s.questions]
    assert [k for k in v2 if k not in v1] == [("consent", "transfer")]
    assert [k for k in v2 if k != ("consent", "transfer")] == v1
    consent = ISTANBUL_V2.section("consent")
    assert consent is not None
    transfer = next(q for q in consent.questions if q.id == "transfer")
    assert [c.value for c in transfer.choices] == ["yes", "ask", "no", "unknown"]


def _question(key: str):  # type: ignore[no-untyped-def]
    section_id, _, question_id = key.partition(".")
    section = ISTANBUL.section(section_id)
    assert section is not None, key
    return next(q for q in section.questions if q.id == question_id)


def _codes(key: str) -> list[str]:
    return [c.value for c in _question(key).choices]


def test_contract_shapes() -> None:
    assert set(_codes("consent.statistics")) >= {"yes", "no"}
    assert _question("arrest.region").kind == "region"
    assert _question("detention.region").kind == "region"
    assert _question("arrest.date").kind == "text"
    assert _question("episodes.methods").kind == "multi"
    assert _question("perpetrators.agency").kind == "multi"
    for repeatable in ("detention", "episodes"):
        section = ISTANBUL.section(repeatable)
        assert section is not None
        assert section.repeatable


def test_every_single_choice_can_be_taken_back_with_unknown() -> None:
    # Without JavaScript a chosen radio button cannot be cleared: "don't know" is the way.
    for section in ISTANBUL.sections:
        for q in section.questions:
            if q.kind == "choice":
                assert q.choices[-1].value == UNKNOWN_CODE, (section.id, q.id)
            assert re.fullmatch(r"[a-z_]+", q.id)
            assert all(re.fullmatch(r"[a-z0-9_]+", c.value) for c in q.choices)


def test_conditions_look_only_at_earlier_steps() -> None:
    # A page cannot hide a question on itself without JavaScript.
    seen: set[str] = set()
    for section in ISTANBUL.sections:
        for q in section.questions:
            for condition in q.show_if:
                assert condition.key in seen, (section.id, q.id)
        seen |= {section.key(q) for q in section.questions}


def test_regions_are_iso_3166_2_codes() -> None:
    assert {c: len(r) for c, r in REGIONS.items()} == {
        "KZ": 20, "KG": 9, "TJ": 5, "UZ": 14, "TM": 6,
    }  # fmt: skip
    for country, regions in REGIONS.items():
        codes = [code for code, _name in regions]
        assert len(set(codes)) == len(codes)
        assert all(re.fullmatch(rf"{country}-[A-Z0-9]{{1,3}}", code) for code in codes)
    for code in ("KZ-75", "KZ-71", "KZ-62", "KG-C", "KG-GB", "TJ-DU", "TJ-GB", "UZ-TK",
                 "UZ-QR", "TM-A", "TM-S"):  # fmt: skip
        assert region_name(code) is not None, code
    assert region_name("KZ-ALA") is None  # the pre-revision code
    assert region_name("XX-1") is None


def test_region_of_another_country_is_refused() -> None:
    arrest = ISTANBUL.section("arrest")
    assert arrest is not None
    good = read_step(ISTANBUL, arrest, {"arrest.region": ["KG-C"]}, country="KG", earlier={})
    assert good.ok
    assert good.values == {"arrest.region": "KG-C"}
    bad = read_step(ISTANBUL, arrest, {"arrest.region": ["KZ-75"]}, country="KG", earlier={})
    assert bad.invalid == ("arrest.region",)


def test_consent_of_the_person_is_asked_only_when_someone_can_give_it() -> None:
    victim_consent = _question("consent.victim")
    assert not victim_consent.shown({"filer.role": "victim"})
    assert not victim_consent.shown({"filer.role": "relative", "victim.situation": "deceased"})
    assert victim_consent.shown({"filer.role": "relative", "victim.situation": "detained"})
    assert victim_consent.shown({})  # nothing said: ask
    assert Condition("a", any_of=("x",)).holds({"a": ["x", "y"]})


def test_answers_to_questions_no_longer_asked_are_dropped() -> None:
    answers = {"filer.role": "victim", "consent.victim": "yes", "narrative.text": "t"}
    assert applicable(ISTANBUL, answers) == {"filer.role": "victim", "narrative.text": "t"}


def test_check_accepts_the_contract_shape() -> None:
    answers = {
        "filer.role": "relative",
        "arrest.region": "KZ-75",
        "detention": [{"type": "ivs", "region": "unknown"}, {"type": "sizo"}],
        "episodes": [{"methods": ["beating", "threats"], "forced_confession": "yes"}],
        "perpetrators.agency": ["police", "unknown"],
        "narrative.text": "текст",
    }
    assert check_answers(ISTANBUL, answers, country="KZ") == answers
    assert check_answers(BASIC, {"narrative": "x", "place": "ivs"}, country=None)


@pytest.mark.parametrize(
    "answers",
    [
        {"nonsense.key": "x"},
        {"filer.role": "king"},
        {"filer.role": ["victim"]},
        {"filer.role": ""},
        {"arrest.region": "KG-C"},  # not in the case's country
        {"episodes.methods": ["beating"]},  # a repeatable's question outside its entry
        {"episodes": [{"methods": "beating"}]},
        {"episodes": [{"methods": ["beating", "beating"]}]},
        {"episodes": [{"colour": "red"}]},
        {"episodes": [{}]},
        {"episodes": []},
        {"detention": [{"type": "ivs"}] * 9},  # more entries than the page allows
        {"narrative.text": "x" * 50_001},
        {"narrative.text": 5},
    ],
)
def test_check_refuses_what_does_not_fit(answers: dict[str, object]) -> None:
    with pytest.raises(AnswersError):
        check_answers(ISTANBUL, answers, country="KZ")


def _flat(reading) -> list[tuple[str, int | None, str, list[str]]]:  # type: ignore[no-untyped-def]
    return [
        (s.title.text, s.number, r.label.text, [v.text for v in r.values])
        for s in reading.sections
        for r in s.rows
    ]


def test_reading_istanbul_by_section_in_questionnaire_order() -> None:
    answers = {
        "detention": [{"region": "KZ-75", "type": "ivs"}, {"type": "unofficial"}],
        "filer.role": "relative",
        "episodes": [{"methods": ["beating", "water"]}],
    }
    reading = read_answers(ISTANBUL.reference(), answers)
    assert reading.known
    assert reading.exact
    assert _flat(reading) == [
        ("About you", None, "Who is filing this report?", ["A relative or friend of the person"]),
        ("Places where the person was held", 1, "What kind of place?",
         ["Temporary detention facility (IVS)"]),
        ("Places where the person was held", 1, "In which region?", ["Almaty (city)"]),
        ("Places where the person was held", 2, "What kind of place?",
         ["An unofficial place (a flat, a basement, a car)"]),
        ("What was done", 1, "What did they do? Tick all that apply.",
         ["Beating, kicking, blows with objects", "Cold water, or no water or food"]),
    ]  # fmt: skip
    assert all(s.title.ours for s in reading.sections)


def test_reading_basic_v1_answers() -> None:
    reading = read_answers(BASIC.reference(), {"detained": "yes", "filer": "victim"})
    assert reading.exact
    assert _flat(reading) == [
        ("Who is filing", None, "Who is filing this report?",
         ["I am the person this happened to"]),
        ("The person now", None, "Is the person still detained?", ["Yes, still detained"]),
    ]  # fmt: skip


def test_reading_hides_nothing_it_does_not_understand() -> None:
    unknown = read_answers({"id": "future", "version": 3}, {"a.b": "x", "c": ["y", "z"]})
    assert not unknown.known
    assert not unknown.exact
    assert _flat(unknown) == [
        ("Other answers", None, "a.b", ["x"]),
        ("Other answers", None, "c", ["y", "z"]),
    ]
    assert not any(
        r.label.ours or any(v.ours for v in r.values) for s in unknown.sections for r in s.rows
    )
    odd = read_answers(
        ISTANBUL.reference(),
        {"filer.role": "king", "victim.sex": ["male"], "detention": "ivs", "new.q": {"k": "v"}},
    )
    rows = {
        (r.label.text, tuple((v.text, v.ours) for v in r.values))
        for s in odd.sections
        for r in s.rows
    }
    assert ("Who is filing this report?", (("king", False),)) in rows  # a code we lack: raw
    assert ("victim.sex", (("male", False),)) in rows  # a shape we do not expect: raw
    assert ("detention", (("ivs", False),)) in rows
    assert ("new.q", (("k: v", False),)) in rows


def test_reading_warns_when_the_definition_differs() -> None:
    changed = {**ISTANBUL.reference(), "sha256": "0" * 64}
    reading = read_answers(changed, {"filer.role": "victim"})
    assert reading.known
    assert not reading.exact


def test_whoever_seals_checks_the_answers_first() -> None:
    # The server cannot look inside what an intermediary's client seals: the shared
    # payload builder refuses answers that do not fit the questionnaire they name.
    from service.common.questionnaire.payload import answers_plaintext

    with pytest.raises(AnswersError):
        answers_plaintext(
            ISTANBUL,
            language="en",
            country="KZ",
            coalition_id="kz-coalition",
            answers={"narrative": "intake-basic key, istanbul questionnaire"},
            case_public_key=bytes(32),
        )
    ok = answers_plaintext(
        BASIC,
        language="en",
        country="KZ",
        coalition_id="kz-coalition",
        answers={"narrative": "fine"},
        case_public_key=bytes(32),
    )
    assert b'"narrative": "fine"' in ok
