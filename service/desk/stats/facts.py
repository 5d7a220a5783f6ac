"""What statistics may know about a case: a few coded facts derived from its answers.

The facts follow the contract shared with the questionnaire (``istanbul`` v1, keys like
``victim.sex``; and the older ``intake-basic`` v1). Only codes from the contract's lists
survive: anything else a submitter's browser sent becomes ``unknown`` (or, in a list, is
dropped), so free text can never reach a statistic. A region counts only if it is an
ISO 3166-2 code of the case's own country.

The facts are cached, encrypted, in the case record (``CaseRecord.facts``) the first time
statistics need them: a case's facts come from its first answers item, which never
changes, so the cache cannot go stale. :data:`FACTS_VERSION` invalidates it when this
module's rules change. Pure module: no store, no crypto.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from service.common.i18n.markers import N_
from service.common.questionnaire.basic import BASIC
from service.common.questionnaire.istanbul import ISTANBUL, ISTANBUL_V2
from service.common.questionnaire.known import key_of
from service.common.questionnaire.regions import REGIONS

FACTS_VERSION = 3  # 2: ``urgent`` (the urgent lane); 3: ``readable``
UNKNOWN = "unknown"
_REGION = re.compile(r"^([A-Z]{2})-[A-Z0-9]{1,3}$")


def _coded(key: str, short: Mapping[str, str]) -> dict[str, str]:
    """The codes of ``istanbul``'s question ``key`` — the one definition of the answer
    codes — in its order, each with the statistics' short label where ``short`` gives one
    and the question's own label otherwise; ``unknown`` last. A label for a code the
    question does not have stops the desk at import: the contract was broken."""
    section_id, _, question_id = key.partition(".")
    section = ISTANBUL.section(section_id)
    question = next(q for q in (section.questions if section else ()) if q.id == question_id)
    codes = {c.value: c.label for c in question.choices}
    if not set(short) <= {*codes, UNKNOWN}:
        raise ValueError(f"a statistics label for a code that {key} does not have")
    table = {code: short.get(code, label) for code, label in codes.items() if code != UNKNOWN}
    return table | {UNKNOWN: short.get(UNKNOWN, N_("Unknown"))}


# Answer codes (from the questionnaire) → the tables' English labels (msgids), in order.
SEX = _coded("victim.sex", {})
AGE_BANDS = _coded(
    "victim.age_band",
    {
        "14_17": N_("14–17"),
        "18_29": N_("18–29"),
        "30_44": N_("30–44"),
        "45_59": N_("45–59"),
        "60_plus": N_("60 and over"),
    },
)
YES_NO = _coded("victim.minor", {})
# Whether the case came through the urgent lane (the answers body's "urgent" part).
URGENT_LANE: dict[str, str] = {"yes": N_("Yes"), "no": N_("No")}
SITUATIONS = _coded("victim.situation", {"deceased": N_("Died")})
FILERS = _coded(
    "filer.role",
    {
        "victim": N_("The person themself"),
        "relative": N_("A relative or friend"),
        "lawyer": N_("A lawyer or defender"),
    },
)
FACILITIES = _coded(
    "detention.type",
    {
        "police": N_("Police station"),
        "ivs": N_("Temporary detention (IVS)"),
        "sizo": N_("Pre-trial detention (SIZO)"),
        "prison": N_("Prison or colony"),
        "military": N_("Military"),
        "psychiatric": N_("Psychiatric institution"),
        "unofficial": N_("Unofficial place"),
        "other": N_("Other place"),
    },
)
AGENCIES = _coded(
    "perpetrators.agency",
    {
        "prison_service": N_("Prison service"),
        "military": N_("Military"),
        "prosecutor": N_("Prosecutor's office"),
        "other": N_("Other agency"),
    },
)
METHODS = _coded(
    "episodes.methods",
    {
        "beating": N_("Beating"),
        "suffocation": N_("Suffocation"),
        "electric_shock": N_("Electric shock"),
        "stress_positions": N_("Stress positions"),
        "sexual_violence": N_("Sexual violence"),
        "threats": N_("Threats"),
        "sleep_deprivation": N_("Sleep deprivation"),
        "water": N_("Water"),
        "humiliation": N_("Humiliation"),
        "denial_of_medical_care": N_("Denial of medical care"),
        "other": N_("Other method"),
    },
)
_PLACE_V1 = {"protest": "other"}  # intake-basic's "during a protest" has no facility type
_DETAINED_V1 = {"yes": "detained", "no": "released", "deceased": "deceased"}


@dataclass(frozen=True)
class CaseFacts:
    """The coded facts of one case; every field is a code from the tables above."""

    consent: bool  # the person said yes to statistical use; nothing else counts
    country: str | None
    week: str | None  # ISO week the desk received the case
    region: str = UNKNOWN
    sex: str = UNKNOWN
    age_band: str = UNKNOWN
    minor: str = UNKNOWN
    situation: str = UNKNOWN
    filer: str = UNKNOWN
    forced_confession: str = UNKNOWN
    facilities: tuple[str, ...] = (UNKNOWN,)  # every type the person was held in
    agencies: tuple[str, ...] = (UNKNOWN,)
    methods: tuple[str, ...] = (UNKNOWN,)
    # "yes": the person gave the urgent-lane consent (the answers body's "urgent" part).
    urgent: str = "no"
    # False: the answers name a questionnaire this desk does not know, so neither consent
    # nor any fact can be read. Counted apart and shown as a warning (never "no consent").
    readable: bool = True

    def to_record(self) -> dict[str, Any]:
        return {"v": FACTS_VERSION, **asdict(self)}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> CaseFacts:
        values = {k: v for k, v in data.items() if k != "v"}
        for name in ("facilities", "agencies", "methods"):
            values[name] = tuple(values.get(name, (UNKNOWN,)))
        return cls(**values)


def derive(
    body: Mapping[str, Any] | None,
    questionnaire: Mapping[str, Any] | None,
    country: str | None,
    week: str | None,
) -> CaseFacts:
    """The facts of a case from its decrypted answers body (``{"answers": {...}, …}``)."""
    answers = body.get("answers") if isinstance(body, Mapping) else None
    if not isinstance(answers, Mapping):
        return CaseFacts(consent=False, country=country, week=week)
    urgent = (
        "yes" if isinstance(body, Mapping) and isinstance(body.get("urgent"), Mapping) else "no"
    )
    key = key_of(questionnaire)
    reader = READERS.get(key) if key is not None else None
    if reader is None:
        # A questionnaire this desk does not know: its consent question cannot be read.
        return CaseFacts(consent=False, readable=False, country=country, week=week, urgent=urgent)
    return replace(reader(answers, country, week), urgent=urgent)


def _basic(answers: Mapping[str, Any], country: str | None, week: str | None) -> CaseFacts:
    place = _code(answers.get("place"), (*FACILITIES, "protest"))
    detained = _code(answers.get("detained"), (*_DETAINED_V1, UNKNOWN))
    return CaseFacts(
        consent=answers.get("consent_statistics") == "yes",
        country=country,
        week=week,
        facilities=(_PLACE_V1.get(place, place),),
        situation=_DETAINED_V1.get(detained, UNKNOWN),
    )


def _istanbul(answers: Mapping[str, Any], country: str | None, week: str | None) -> CaseFacts:
    age_band = _code(answers.get("victim.age_band"), AGE_BANDS)
    minor = _code(answers.get("victim.minor"), YES_NO)
    if minor == UNKNOWN and age_band in ("under_14", "14_17"):
        minor = "yes"  # a stated age under 18 answers "was the person a minor?"
    detention = _objects(answers.get("detention"))
    episodes = _objects(answers.get("episodes"))
    facilities = _codes([d.get("type") for d in detention], FACILITIES)
    methods = _codes([m for e in episodes for m in _list(e.get("methods"))], METHODS)
    confessions = {_code(e.get("forced_confession"), YES_NO) for e in episodes}
    confession = "yes" if "yes" in confessions else "no" if "no" in confessions else UNKNOWN
    return CaseFacts(
        consent=answers.get("consent.statistics") == "yes",
        country=country,
        week=week,
        region=_region(answers.get("arrest.region"), country),
        sex=_code(answers.get("victim.sex"), SEX),
        age_band=age_band,
        minor=minor,
        situation=_code(answers.get("victim.situation"), SITUATIONS),
        filer=_code(answers.get("filer.role"), FILERS),
        forced_confession=confession,
        facilities=facilities,
        agencies=_codes(_list(answers.get("perpetrators.agency")), AGENCIES),
        methods=methods,
    )


def _code(value: Any, allowed: Mapping[str, str] | tuple[str, ...]) -> str:
    return value if isinstance(value, str) and value in allowed else UNKNOWN


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, str) else []


def _objects(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _codes(values: list[Any], allowed: Mapping[str, str]) -> tuple[str, ...]:
    """Known codes, each once, in the table's order; ``(unknown,)`` if none is known."""
    found = {v for v in values if isinstance(v, str) and v in allowed and v != UNKNOWN}
    return tuple(code for code in allowed if code in found) or (UNKNOWN,)


def _region(value: Any, country: str | None) -> str:
    if not isinstance(value, str):
        return UNKNOWN
    match = _REGION.fullmatch(value)
    return value if match is not None and match.group(1) == country else UNKNOWN


def region_label(code: str) -> str:
    """A region's English name from the questionnaire's list; unknown codes stand as is."""
    for pairs in REGIONS.values():
        for known, name in pairs:
            if known == code:
                return str(name)
    return code


Reader = Callable[[Mapping[str, Any], str | None, str | None], CaseFacts]
# Every registered questionnaire version (service.common.questionnaire.known.KNOWN) and how
# its answers give the facts; tests/questionnaire/test_versions.py keeps the two in step.
READERS: dict[tuple[str, int], Reader] = {
    (BASIC.id, BASIC.version): _basic,
    (ISTANBUL.id, ISTANBUL.version): _istanbul,
    # Version 2 only adds the consent to pass the report on: the same facts.
    (ISTANBUL_V2.id, ISTANBUL_V2.version): _istanbul,
}
