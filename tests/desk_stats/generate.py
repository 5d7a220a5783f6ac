"""A desk with a few hundred generated cases across the five countries, both questionnaire
shapes, and legal paths; plus the truth it was made from, to check the statistics against.

The truth is kept here in plain terms (what each case *is*), independent of how
service.desk.stats.facts reads answers: the tests compare the two.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from service.common.crypto.payload import encode_payload_prefix
from service.common.questionnaire.basic import BASIC
from service.desk.casework.desk import Desk, init_desk, open_desk
from tests.desk.helpers import (
    COALITION,
    PASSPHRASE,
    FakeCase,
    Sealed,
    bundle_bytes,
    recipients,
    sealed,
)

# Counted cases wanted per country; Turkmenistan stays below the threshold on purpose.
SIZES = {"KZ": 110, "KG": 70, "TJ": 24, "UZ": 60, "TM": 4}
NO_CONSENT_EVERY = 9  # every 9th case says no to statistics (and is generated anyway)
ISTANBUL = {"id": "istanbul", "version": 1, "sha256": "0" * 64}
REGIONS = {
    "KZ": ["KZ-ALA", "KZ-AST", "KZ-KAR"],
    "KG": ["KG-C", "KG-B", "KG-O"],
    "TJ": ["TJ-DU", "TJ-GB"],
    "UZ": ["UZ-TK", "UZ-QR"],
    "TM": ["TM-A"],
}
NOTE_CANARY = "CANARY-OUTCOME-NOTE прокурор Ахметов"


@dataclass
class Truth:
    ref: str
    country: str
    week: str
    istanbul: bool
    consent: bool
    sex: str = "unknown"
    age_band: str = "unknown"
    minor: str = "unknown"
    situation: str = "unknown"
    region: str = "unknown"
    facilities: set[str] = field(default_factory=set)
    methods: set[str] = field(default_factory=set)
    agencies: set[str] = field(default_factory=set)
    events: list[tuple[str, dt.date, dict[str, str]]] = field(default_factory=list)

    @property
    def stage(self) -> str:
        kinds = {e for e, _d, _f in self.events}
        convicted = any(
            e == "verdict" and f.get("result") == "conviction" for e, _d, f in self.events
        )
        for stage, needed in (
            ("conviction", None),
            ("trial", {"trial_started", "verdict"}),
            ("indictment", {"indictment"}),
            ("investigation", {"investigation_opened"}),
            ("complaint", {"complaint_lodged"}),
        ):
            if (needed is None and convicted) or (needed and kinds & needed):
                return stage
        return "none"


@dataclass
class Generated:
    folder: Path
    truths: list[Truth]

    def counted(self) -> list[Truth]:
        return [t for t in self.truths if t.consent]


def _answers_istanbul(rng: random.Random, t: Truth) -> dict[str, object]:
    t.sex = rng.choice(["female", "male", "male", "male", "other", "unknown"])
    t.age_band = rng.choice(
        ["under_14", "14_17", "18_29", "30_44", "30_44", "45_59", "60_plus", "unknown"]
    )
    t.minor = "yes" if t.age_band in ("under_14", "14_17") else rng.choice(["no", "unknown"])
    t.situation = rng.choice(["detained", "released", "deceased", "unknown"])
    t.region = rng.choice([*REGIONS[t.country], "unknown"])
    holds = rng.sample(["police", "ivs", "sizo", "prison", "unofficial"], rng.randint(1, 2))
    t.facilities = set(holds)
    methods = rng.sample(
        ["beating", "suffocation", "electric_shock", "threats", "sexual_violence", "humiliation"],
        rng.randint(1, 3),
    )
    t.methods = set(methods)
    t.agencies = set(
        rng.sample(["police", "national_security", "prison_service"], rng.randint(1, 2))
    )
    answers: dict[str, object] = {
        "filer.role": rng.choice(["victim", "relative", "lawyer"]),
        "consent.statistics": "yes" if t.consent else "no",
        "victim.sex": t.sex,
        "victim.age_band": t.age_band,
        "victim.situation": t.situation,
        "arrest.region": t.region,
        "arrest.date": "весной, примерно в апреле",
        "detention": [{"type": h, "region": t.region} for h in holds],
        "episodes": [{"methods": methods, "forced_confession": "yes"}],
        "perpetrators.agency": sorted(t.agencies),
        "narrative.text": "Его били в отделе, требовали признание.",
    }
    if t.minor != "unknown" and rng.random() < 0.5 or t.minor == "no":
        answers["victim.minor"] = t.minor
    return answers


def _answers_basic(rng: random.Random, t: Truth) -> dict[str, object]:
    place = rng.choice(["police", "ivs", "sizo", "prison", "protest", "unknown"])
    t.facilities = {"other" if place == "protest" else place}
    detained = rng.choice(["yes", "no", "deceased", "unknown"])
    t.situation = {"yes": "detained", "no": "released"}.get(detained, detained)
    answers: dict[str, object] = {
        "filer": "relative",
        "place": place,
        "detained": detained,
        "narrative": "Избили в ИВС.",
    }
    if t.consent:
        answers["consent_statistics"] = "yes"
    elif rng.random() < 0.5:
        answers["consent_statistics"] = "no"
    return answers


def _plaintext(case: FakeCase, t: Truth, answers: dict[str, object]) -> bytes:
    meta = {
        "type": "answers",
        "created": t.week,
        "case_public_key": case.public_hex,
        "questionnaire": ISTANBUL if t.istanbul else BASIC.reference(),
    }
    body = {"language": "ru", "country": t.country, "coalition": COALITION, "answers": answers}
    return encode_payload_prefix(meta) + json.dumps(body, ensure_ascii=False).encode("utf-8")


def _legal_path(rng: random.Random, t: Truth) -> None:
    day = dt.date(2024, 1, 10) + dt.timedelta(days=rng.randint(0, 500))

    def add(kind: str, gap: tuple[int, int], **fields: str) -> None:
        nonlocal day
        day = day + dt.timedelta(days=rng.randint(*gap))
        t.events.append((kind, day, fields))

    if rng.random() < 0.35:
        return
    add("complaint_lodged", (0, 30), body=rng.choice(["prosecutor", "ombudsperson", "court"]))
    if rng.random() < 0.4:
        add(
            "investigation_refused",
            (10, 60),
            reason=rng.choice(["lack_of_evidence", "no_crime", "statute_of_limitations"]),
        )
    else:
        add("investigation_opened", (10, 40))
        if rng.random() < 0.5:
            add("investigation_closed", (30, 120), reason="requalified", article="301")
        elif rng.random() < 0.8:
            add("indictment", (30, 90))
            add("trial_started", (20, 60))
            add("verdict", (20, 80), result=rng.choice(["conviction", "conviction", "acquittal"]))
    if rng.random() < 0.3:
        add("medical_exam", (0, 10), exam=rng.choice(["istanbul_protocol", "state_forensic"]))
    if rng.random() < 0.15:
        add("reprisal_reported", (1, 20))


def build(tmp: Path, seed: int = 7) -> Generated:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    folder = tmp / "desk"
    init_desk(folder, COALITION, PASSPHRASE)
    truths: list[Truth] = []
    cases: list[FakeCase] = []
    n = 0
    for country, size in SIZES.items():
        counted = 0
        while counted < size:
            n += 1
            consent = n % NO_CONSENT_EVERY != 0
            counted += consent
            year, week = rng.choice([2024, 2025]), rng.randint(1, 52)
            case = FakeCase()
            t = Truth(
                case.ref, country, f"{year}-W{week:02d}", istanbul=n % 3 != 0, consent=consent
            )
            truths.append(t)
            cases.append(case)
    with open_desk(folder, PASSPHRASE) as desk:
        to = recipients(desk)
        items: list[Sealed] = []
        for case, t in zip(cases, truths, strict=True):
            answers = _answers_istanbul(rng, t) if t.istanbul else _answers_basic(rng, t)
            items.append(sealed(case, _plaintext(case, t, answers), to))
        bundle = tmp / "generated.aryz"
        bundle.write_bytes(bundle_bytes(items))
        report = desk.import_bundle(bundle)
        assert report.problems == ()
        for t in truths:
            _legal_path(rng, t)
            _record(desk, t)
    return Generated(folder, truths)


def _record(desk: Desk, t: Truth) -> None:
    for i, (kind, day, fields) in enumerate(t.events):
        note = NOTE_CANARY if i == 0 and kind == "complaint_lodged" else None
        desk.add_outcome(t.ref, kind, day.isoformat(), fields, note)
