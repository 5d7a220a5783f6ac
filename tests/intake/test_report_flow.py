"""The no-JavaScript report flow, end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from service.common.crypto.keys import BoxKeyPair
from service.common.crypto.token import format_token
from service.common.questionnaire.known import CURRENT
from service.server.deps import Runtime
from service.server.models import Case, Item
from tests.support import (
    TOKEN_FIELD,
    add_files,
    count,
    file_report,
    mark_of,
    opened_items,
    reach_review,
    state_of,
)


def test_report_is_sealed_and_opens_to_exactly_the_answers(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, BoxKeyPair]
) -> None:
    token = file_report(
        client,
        narrative="Они били меня в ИВС\nвторая строка",
        filer__role="relative",
        victim__situation="detained",
        detention__0__type="ivs",
        detention__0__region="KZ-75",
        episodes__0__methods=["threats", "beating"],
    )
    items = opened_items(runtime, desk_keys)
    assert len(items) == 1
    meta, body = items[0]
    assert meta["type"] == "answers"
    assert meta["questionnaire"] == CURRENT.reference()
    answers = json.loads(body)
    assert answers["country"] == "KZ"
    assert answers["coalition"] == "kz-coalition"
    assert answers["answers"] == {
        "narrative.text": "Они били меня в ИВС\nвторая строка",
        "filer.role": "relative",
        "victim.situation": "detained",
        "detention": [{"type": "ivs", "region": "KZ-75"}],
        # Codes in the questionnaire's order, whatever order the boxes were sent in.
        "episodes": [{"methods": ["beating", "threats"]}],
    }
    assert len(token) == 24


def test_token_page_shows_grouped_token_once(client: TestClient) -> None:
    page = reach_review(client, narrative="x")
    token = TOKEN_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
    form = {"state": state_of(page.text), "token": token, "token_mark": mark_of(page.text)}
    response = client.post("/en/report/submit", data=form)
    assert format_token(token) in response.text
    assert "Write this token down" in response.text


def test_resending_the_same_review_does_not_create_a_second_case(
    client: TestClient, runtime: Runtime
) -> None:
    page = reach_review(client, narrative="x")
    token = TOKEN_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
    form = {"state": state_of(page.text), "token": token, "action": "send"}
    form["token_mark"] = mark_of(page.text)
    assert client.post("/en/report/submit", data=form).status_code == 200
    assert client.post("/en/report/submit", data=form).status_code == 200
    assert count(runtime, Case) == 1
    assert count(runtime, Item) == 1


def test_every_question_but_the_account_may_be_skipped(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, BoxKeyPair]
) -> None:
    file_report(client, narrative="only this")
    ((_meta, body),) = opened_items(runtime, desk_keys)
    assert json.loads(body)["answers"] == {"narrative.text": "only this"}


def test_an_empty_report_is_refused_on_the_review(client: TestClient, runtime: Runtime) -> None:
    page = reach_review(client)
    token = TOKEN_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
    form = {"state": state_of(page.text), "token": token, "narrative.text": "  "}
    response = client.post("/en/report/submit", data={**form, "country": "KZ"})
    assert response.status_code == 422
    assert "please write what happened, or add a file" in response.text
    assert "<h1>Check your report</h1>" in response.text  # the same page, not an error
    assert count(runtime, Case) == 0


def test_fallback_organisation_receives_instead_of_national(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, BoxKeyPair]
) -> None:
    file_report(client, country="TM", recipient="iphr", narrative="to iphr")
    with runtime.sessions() as session:
        case = session.query(Case).one()
        assert case.coalition_id == "iphr"
    ((_meta, body),) = opened_items(runtime, desk_keys)
    assert json.loads(body)["country"] == "TM"


def test_change_returns_to_the_step_with_answers_kept(client: TestClient, runtime: Runtime) -> None:
    page = reach_review(client, narrative="keep me")
    response = client.post("/en/report", data={"state": state_of(page.text), "go": "narrative"})
    assert response.status_code == 200
    assert ">keep me</textarea>" in response.text
    assert count(runtime, Case) == 0


def _first_step(client: TestClient, **fields: str) -> dict[str, str]:
    state = state_of(client.get("/en/report").text)
    return {"state": state, "step": "filer", "go": "next", **fields}


def test_unknown_choice_is_refused_and_answers_kept(client: TestClient) -> None:
    response = client.post(
        "/en/report",
        data=_first_step(client, country="KZ", recipient="national", **{"filer.role": "nobody"}),
    )
    assert response.status_code == 422
    assert "choose one of the options" in response.text
    assert 'name="country" value="KZ"' in response.text  # carried on


def test_bidi_override_is_removed_and_person_asked_to_check(client: TestClient) -> None:
    page = reach_review(client)
    response = client.post(
        "/en/report",
        data={
            "state": state_of(page.text),
            "step": "narrative",
            "go": "next",
            "narrative.text": "abc\u202edef",
        },
    )
    assert response.status_code == 422
    assert "invisible control characters" in response.text
    assert "\u202e" not in response.text
    assert "abcdef" in response.text


def test_country_must_be_chosen_before_the_review(client: TestClient) -> None:
    response = client.post(
        "/en/report",
        data=_first_step(
            client, recipient="national", go="review", **{"narrative.text": "it happened"}
        ),
    )
    assert response.status_code == 422
    assert "choose the country" in response.text
    assert ">it happened</textarea>" in response.text


def test_files_are_sealed_one_item_each_and_counted(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, BoxKeyPair]
) -> None:
    token = file_report(client, narrative="with files")
    photo = bytes(range(256)) * 5000  # 1.28 MB, crosses piece and chunk boundaries
    response = add_files(client, token, [("photo.jpg", photo), ("../../etc/doc.pdf", b"%PDF-1")])
    assert response.status_code == 200
    assert "photo.jpg" in response.text
    assert "holds 3 sealed items" in response.text
    items = opened_items(runtime, desk_keys)
    files = [(m, b) for m, b in items if m["type"] == "file"]
    assert [(m["name"], b) for m, b in files] == [("photo.jpg", photo), ("doc.pdf", b"%PDF-1")]


def test_status_page_shows_received_and_count(client: TestClient) -> None:
    token = file_report(client)
    response = client.post("/en/status", data={"token": format_token(token)})
    assert response.status_code == 200
    assert "Received" in response.text
    assert "holds 1 sealed item." in response.text


def test_follow_up_message_is_sealed_into_the_same_case(
    client: TestClient, runtime: Runtime, desk_keys: dict[str, BoxKeyPair]
) -> None:
    token = file_report(client)
    response = client.post("/en/case/message", data={"token": token, "message": "more news"})
    assert response.status_code == 200
    assert count(runtime, Case) == 1
    items = opened_items(runtime, desk_keys)
    assert items[-1][0]["type"] == "message"
    assert items[-1][1] == b"more news"


def test_russian_pages_are_in_russian(client: TestClient) -> None:
    response = client.get("/ru/")
    assert response.status_code == 200
    assert 'lang="ru"' in response.text
    assert "Check a case" not in response.text


def test_every_page_renders_without_javascript(client: TestClient) -> None:
    for path in [
        "/",
        "/ru/",
        "/en/",
        "/en/safety",
        "/ru/safety",
        "/en/keys",
        "/en/report",
        "/ru/report",
        "/en/status",
        "/ru/status",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "<script" not in response.text.lower(), path
