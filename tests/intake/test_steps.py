"""The multi-step questionnaire without JavaScript: earlier steps travel sealed in the
page, back and forward keep every answer, a damaged or stale state loses nothing the
person can still see, and every page stays small."""

from __future__ import annotations

import base64
import json
import re

from fastapi.testclient import TestClient

from service.common.crypto.formstate import FormStateKey
from service.common.questionnaire.istanbul import ISTANBUL
from service.server.deps import Runtime
from service.server.models import Case
from tests.support import (
    TOKEN_FIELD,
    count,
    file_report,
    mark_of,
    opened_items,
    reach_review,
    state_of,
)

MAX_PAGE = 50 * 1024


def _post(client: TestClient, lang: str = "en", **form: str | list[str]) -> str:
    response = client.post(f"/{lang}/report", data=form)
    assert response.status_code == 200, response.text[:400]
    return str(response.text)


def _start(client: TestClient, **first: str) -> str:
    """Post step 1 (country, receiver, who is filing); return the next page."""
    state = state_of(client.get("/en/report").text)
    return _post(
        client, state=state, step="filer", go="next", country="KZ", recipient="national", **first
    )


def test_steps_go_in_order_with_progress_and_back_keeps_answers(client: TestClient) -> None:
    page = _start(client, **{"filer.role": "relative", "filer.relation": "parent"})
    # The details: twelve pages (the account is on the write page), consent the last.
    assert "Step 2 of 12" in page
    assert "<h1>The person this happened to</h1>" in page
    page = _post(
        client,
        state=state_of(page),
        step="victim",
        go="next",
        **{"victim.pseudonym": "Azamat", "victim.situation": "detained"},
    )
    assert "<h1>The arrest</h1>" in page
    # Back from step 3 to step 2, then to step 1, then to the write page: all kept.
    page = _post(client, state=state_of(page), step="arrest", go="back")
    assert 'value="Azamat"' in page
    assert 'value="detained" checked' in page
    # A browser posts the page's fields as they are filled in: the victim page's, here.
    victim = {"victim.pseudonym": "Azamat", "victim.situation": "detained"}
    page = _post(client, state=state_of(page), step="victim", go="back", **victim)
    assert 'value="relative" checked' in page
    assert 'value="parent" checked' in page
    filer = {"filer.role": "relative", "filer.relation": "parent"}
    write = _post(client, state=state_of(page), step="filer", go="back", **filer)
    assert "<h1>What happened?</h1>" in write
    assert 'value="KZ" checked' in write
    assert 'name="details" value="1"' in write  # it knows there are details to keep
    # And forward again: still there.
    first = {"country": "KZ", "recipient": "national", "filer.role": "relative"}
    page = _post(client, state=state_of(page), step="filer", go="next", **first)
    assert 'value="Azamat"' in page


def test_the_page_never_shows_earlier_answers_in_the_clear(client: TestClient) -> None:
    page = _start(client, **{"filer.role": "relative"})
    page = _post(client, state=state_of(page), step="victim", go="next",
                 **{"victim.pseudonym": "CANARY-PSEUDONYM"})  # fmt: skip
    assert "CANARY-PSEUDONYM" not in page  # on the next page, only sealed
    assert b"CANARY-PSEUDONYM" not in base64.urlsafe_b64decode(state_of(page))
    # Every form that carries answers posts them: nothing lands in a URL or the history.
    assert re.findall(r"<form[^>]*>", page) == [
        '<form id="step" method="post" action="/en/report" accept-charset="utf-8">'
    ]


def test_clearing_an_answer_removes_it(client: TestClient) -> None:
    page = _start(client)
    page = _post(client, state=state_of(page), step="victim", go="back",
                 **{"victim.pseudonym": "A", "victim.situation": "released"})  # fmt: skip
    page = _post(client, state=state_of(page), step="filer", go="next", country="KZ",
                 recipient="national")  # fmt: skip
    page = _post(client, state=state_of(page), step="victim", go="review",
                 **{"victim.situation": "released"})  # fmt: skip
    assert "Released" in page
    assert '<dd><span class="answer">A</span></dd>' not in page


def test_a_tampered_state_is_refused_and_this_page_is_kept(
    client: TestClient, runtime: Runtime
) -> None:
    page = _start(client, **{"filer.role": "victim"})
    raw = bytearray(base64.urlsafe_b64decode(state_of(page)))
    raw[-1] ^= 1
    response = client.post(
        "/en/report",
        data={
            "state": base64.urlsafe_b64encode(bytes(raw)).decode(),
            "step": "victim",
            "go": "next",
            "victim.pseudonym": "typed on this page",
        },
    )
    assert response.status_code == 400
    assert "could not be read back" in response.text
    assert 'value="typed on this page"' in response.text  # nothing visible is lost
    assert "<h1>The person this happened to</h1>" in response.text
    # The page carries a fresh state with what it kept, so the person can go on from here.
    page = _post(client, state=state_of(response.text), step="victim", go="back",
                 **{"victim.pseudonym": "typed on this page"})  # fmt: skip
    assert "<h1>About you</h1>" in page
    assert count(runtime, Case) == 0


def test_after_a_restart_the_account_is_kept_and_can_be_sent(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, object]
) -> None:
    page = reach_review(client, narrative="before the restart", filer__role="victim")
    review = page.text
    runtime.form_state = FormStateKey()  # what a restart does: a new in-memory key
    # The review form as a browser posts it: the account in its box, the country carried.
    form = {
        "state": state_of(review),
        "token": TOKEN_FIELD.search(review).group(1),  # type: ignore[union-attr]
        "narrative.text": "before the restart",
        "country": "KZ",
        "recipient": "national",
    }
    response = client.post("/en/report/submit", data=form)
    assert response.status_code == 400
    assert "could not be read back" in response.text
    # Not an error page: the write page, with the account, ready to send again.
    assert "<h1>What happened?</h1>" in response.text
    assert ">before the restart</textarea>" in response.text
    assert 'value="KZ" checked' in response.text
    assert count(runtime, Case) == 0
    sent = client.post(
        "/en/report/send",
        data={"state": state_of(response.text), "token": TOKEN_FIELD.search(response.text).group(1),  # type: ignore[union-attr]
              "token_mark": mark_of(response.text),
              "narrative.text": "before the restart", "country": "KZ", "recipient": "national"},
        files={"file": ("", b"", "application/octet-stream")},
    )  # fmt: skip
    assert sent.status_code == 200, sent.text[:300]
    ((_meta, body),) = opened_items(runtime, desk_keys)  # type: ignore[arg-type]
    assert json.loads(body)["answers"] == {"narrative.text": "before the restart"}


def test_a_restart_between_two_steps_keeps_the_account(
    client: TestClient, runtime: Runtime
) -> None:
    page = reach_review(client, narrative="written before", filer__role="victim").text
    step = _post(client, state=state_of(page), go="victim")
    runtime.form_state = FormStateKey()
    response = client.post(
        "/en/report",
        data={"state": state_of(step), "step": "victim", "go": "review",
              "narrative.text": "written before", "country": "KZ", "recipient": "national",
              "victim.pseudonym": "typed here"},
    )  # fmt: skip
    assert response.status_code == 400  # the other pages' answers are gone, and it says so
    assert 'value="typed here"' in response.text
    assert 'name="narrative.text" value="written before"' in response.text
    review = _post(client, state=state_of(response.text), step="victim", go="review",
                   **{"narrative.text": "written before", "country": "KZ",
                      "victim.pseudonym": "typed here"})  # fmt: skip
    assert "written before</textarea>" in review
    assert "typed here" in review


def test_a_state_for_another_questionnaire_is_refused(client: TestClient, runtime: Runtime) -> None:
    other = runtime.form_state.seal(
        json.dumps({"country": "KZ", "recipient": "national", "answers": {}}).encode(),
        context=f"intake-basic\n1\n{ISTANBUL.digest}".encode(),
    )
    response = client.post("/en/report", data={"state": other, "go": "review"})
    assert response.status_code == 400
    assert "could not be read back" in response.text


def test_places_are_repeatable_and_each_kept(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, object]
) -> None:
    page = reach_review(client, arrest__region="KZ-75").text
    page = _post(client, state=state_of(page), go="detention")
    assert "Place 1" in page
    assert "Place 2" not in page
    assert "Almaty (city)" in page  # the country's regions only
    assert "Bishkek" not in page
    page = _post(client, state=state_of(page), step="detention", go="add",
                 **{"detention.0.type": "ivs"})  # fmt: skip
    assert "Place 2" in page
    page = _post(client, state=state_of(page), step="detention", go="review",
                 **{"detention.0.type": "ivs", "detention.1.type": "sizo",
                    "detention.1.region": "KZ-71", "detention.1.lawyer": "late"})  # fmt: skip
    assert "Place 2" in page
    assert "Yes, but only later" in page
    response = client.post(
        "/en/report/submit",
        data={
            "state": state_of(page),
            "token": TOKEN_FIELD.search(page).group(1),  # type: ignore[union-attr]
            "token_mark": mark_of(page),
        },
    )
    assert response.status_code == 200
    ((_meta, body),) = opened_items(runtime, desk_keys)  # type: ignore[arg-type]
    assert json.loads(body)["answers"]["detention"] == [
        {"type": "ivs"},
        {"type": "sizo", "region": "KZ-71", "lawyer": "late"},
    ]


def test_the_person_consent_question_follows_who_is_filing(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, object]
) -> None:
    page = reach_review(client, filer__role="relative", victim__situation="deceased").text
    page = _post(client, state=state_of(page), go="consent")
    assert "agree to this report" not in page
    page = reach_review(client, filer__role="relative", victim__situation="detained").text
    page = _post(client, state=state_of(page), go="consent")
    assert "agree to this report" in page
    # Answered, then the filer says it happened to them: the answer is not sent.
    file_report(client, filer__role="victim", consent__victim="yes")
    ((_meta, body),) = opened_items(runtime, desk_keys)  # type: ignore[arg-type]
    assert json.loads(body)["answers"] == {"filer.role": "victim"}


def test_language_switch_keeps_the_answers(client: TestClient) -> None:
    page = _start(client, **{"filer.role": "witness"})
    assert 'formaction="/ru/report" name="go" value="victim"' in page
    ru = _post(client, "ru", state=state_of(page), step="victim", go="back")
    assert 'lang="ru"' in ru
    assert 'value="witness" checked' in ru


def test_language_switch_on_the_review_keeps_the_report(client: TestClient) -> None:
    page = reach_review(client, narrative="сохранить").text
    assert 'form="review" formaction="/ru/report" name="go" value="review"' in page
    ru = _post(client, "ru", state=state_of(page), go="review")
    assert "<h1>Проверьте обращение</h1>" in ru
    assert "сохранить" in ru


def test_every_step_and_the_review_stay_under_50_kb(client: TestClient) -> None:
    full = {
        "filer__role": "relative",
        "narrative": "Его избили в ИВС. " * 400,  # about 12 KB of Cyrillic
        "arrest__region": "KZ-75",
        "episodes__0__methods": ["beating", "threats", "water"],
        "episodes__0__details": "Били дубинкой. " * 100,
        "detention__0__type": "ivs",
        "needs__help": ["lawyer", "medical"],
    }
    review = reach_review(client, "ru", **full).text  # type: ignore[arg-type]
    assert len(review.encode()) < MAX_PAGE
    state = state_of(review)
    for section in ISTANBUL.sections:
        page = client.post("/ru/report", data={"state": state, "go": section.id})
        assert page.status_code == 200
        assert len(page.content) < MAX_PAGE, section.id
        assert "<script" not in page.text
    assert len(client.get("/static/aryz.css").content) < 8 * 1024
