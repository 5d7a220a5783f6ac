"""The desk renders each answer set by section with the questionnaire it names, in the
staff member's language: istanbul v1 (with repeatable places and episodes), intake-basic
v1 from before it, and, for a questionnaire this desk does not know, the raw keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.common.crypto.payload import encode_payload_prefix
from service.common.i18n import translations
from service.common.questionnaire.basic import BASIC
from service.common.questionnaire.istanbul import ISTANBUL
from service.common.questionnaire.payload import answers_plaintext as real_answers_plaintext
from service.desk.casework.desk import init_desk, open_desk
from service.desk.web.app import create_desk_app
from tests.desk.helpers import COALITION, PASSPHRASE, FakeCase, bundle_bytes, recipients, sealed
from tests.desk_web.conftest import PORT, logged_in

TYPED = "Его держали в подвале.\nПотом перевели в ИВС."
ISTANBUL_ANSWERS = {
    "filer.role": "relative",
    "victim.situation": "detained",
    "consent.statistics": "yes",
    "narrative.text": TYPED,
    "arrest.region": "KZ-75",
    "detention": [{"type": "unofficial"}, {"type": "ivs", "region": "KZ-19", "lawyer": "late"}],
    "episodes": [{"methods": ["beating", "electric_shock"], "forced_confession": "yes"}],
    "perpetrators.agency": ["police", "national_security"],
}


@pytest.fixture(autouse=True)
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARYZ_DESK_KDF", "minimum")
    monkeypatch.delenv("ARYZ_DESK_PASSPHRASE", raising=False)


@pytest.fixture
def cases(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    folder = tmp_path / "desk"
    init_desk(folder, COALITION, PASSPHRASE)
    new, old, future = FakeCase(), FakeCase(), FakeCase()
    with open_desk(folder, PASSPHRASE) as desk:
        to = recipients(desk)
        plaintexts = [
            (new, real_answers_plaintext(
                ISTANBUL, language="ru", country="KZ", coalition_id=COALITION,
                answers=ISTANBUL_ANSWERS, case_public_key=new.reply.public)),
            (old, real_answers_plaintext(
                BASIC, language="ru", country="KZ", coalition_id=COALITION,
                answers={"filer": "victim", "place": "sizo", "detained": "no"},
                case_public_key=old.reply.public)),
            (future, _future(future)),
        ]  # fmt: skip
        bundle = tmp_path / "bundle.aryz"
        bundle.write_bytes(bundle_bytes([sealed(case, text, to) for case, text in plaintexts]))
        assert desk.import_bundle(bundle).problems == ()
        refs = {"new": new.ref, "old": old.ref, "future": future.ref}
        with logged_in(create_desk_app(desk, PORT), follow_redirects=True) as client:
            yield client, refs


def _future(case: FakeCase) -> bytes:
    meta = {
        "type": "answers",
        "created": "2027-W01",
        "questionnaire": {"id": "istanbul", "version": 9, "sha256": "0" * 64},
        "case_public_key": case.public_hex,
    }
    body = {"language": "ru", "country": "KZ", "coalition": COALITION,
            "answers": {"victim.situation": "released", "new.question": ["a", "b"]}}  # fmt: skip
    return encode_payload_prefix(meta) + json.dumps(body, ensure_ascii=False).encode()


def test_istanbul_answers_by_section_in_english(cases: tuple[TestClient, dict[str, str]]) -> None:
    client, refs = cases
    html = client.get(f"/en/case/{refs['new']}").text
    for expected in (
        '<h3 class="section">About you</h3>',
        "<dt>Who is filing this report?</dt>",
        "<dd>A relative or friend of the person</dd>",
        '<h3 class="section">The arrest</h3>',
        "<dd>Almaty (city)</dd>",
        '<h3 class="section">Places where the person was held — 1</h3>',
        "<dd>An unofficial place (a flat, a basement, a car)</dd>",
        '<h3 class="section">Places where the person was held — 2</h3>',
        "<dd>Almaty Region</dd>",
        "<dd>Yes, but only later</dd>",
        '<h3 class="section">What was done — 1</h3>',
        "<dd>Beating, kicking, blows with objects; Electric shocks</dd>",
        "<dd>Police; National security service</dd>",
        f'<dd class="typed">{TYPED}</dd>',
    ):
        assert expected in html, expected
    assert "does not have exactly" not in html
    # Sections in the questionnaire's order: the person's account before the places.
    assert html.index("What happened? Tell it") < html.index("Places where the person")
    # The case list reads "still detained" from the person's situation.
    listing = client.get("/en/?detained=1").text
    assert refs["new"][:12] in listing
    assert refs["old"][:12] not in listing  # intake-basic: "No, released"


def test_istanbul_answers_by_section_in_russian(cases: tuple[TestClient, dict[str, str]]) -> None:
    client, refs = cases
    html = client.get(f"/ru/case/{refs['new']}").text
    ru = translations("ru").gettext
    for msgid in (
        "About you",
        "Who is filing this report?",
        "A relative or friend of the person",
        "Almaty (city)",
        "Electric shocks",
        "Police",
    ):
        assert ru(msgid) != msgid
        assert ru(msgid) in html, msgid
    assert f'<h3 class="section">{ru("Places where the person was held")} — 2</h3>' in html
    assert f'<dd class="typed">{TYPED}</dd>' in html
    assert "About you" not in html


def test_intake_basic_v1_answers_stay_readable(cases: tuple[TestClient, dict[str, str]]) -> None:
    client, refs = cases
    html = client.get(f"/en/case/{refs['old']}").text
    assert '<h3 class="section">Who is filing</h3>' in html
    assert "<dd>I am the person this happened to</dd>" in html
    assert "<dd>Pre-trial detention centre (SIZO)</dd>" in html
    assert "<dd>No, released</dd>" in html
    assert "does not have exactly" not in html
    ru = client.get(f"/ru/case/{refs['old']}").text
    assert translations("ru").gettext("No, released") in ru


def test_unknown_questionnaire_falls_back_to_raw_keys(
    cases: tuple[TestClient, dict[str, str]],
) -> None:
    client, refs = cases
    html = client.get(f"/en/case/{refs['future']}").text
    assert "does not have exactly" in html
    assert '<h3 class="section">Other answers</h3>' in html
    assert "<dt>victim.situation</dt>" in html
    assert "<dt>new.question</dt>" in html
    assert "a\nb" in html
